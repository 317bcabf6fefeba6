//! `wgzero cluster`: a distributed run on this machine, for trying it out:
//! a `nats-server` on loopback (its store in RUN/broker), the trainer
//! (`wgzero train --broker`) and N workers (`wgzero worker`), each its own
//! process. Ctrl-C stops them all cleanly; the same command resumes.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;

use super::{interrupt_flag, GameArgs, GameName};
use wgzero::process::{self, Stop};
use wgzero::transport::run_name_of;
use wgzero::transport::server::NatsServer;

#[derive(Args)]
pub struct ClusterArgs {
    #[command(flatten)]
    pub game: GameArgs,
    /// The run folder (created, or resumed); the broker's store is RUN/broker.
    #[arg(long)]
    run: PathBuf,
    /// Worker processes.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Search threads per worker [default: the cores shared out among the workers].
    #[arg(long)]
    threads: Option<usize>,
    /// Settings file for the trainer (as `train --config`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Stop once the run has this many iterations.
    #[arg(long)]
    iterations: Option<u64>,
    /// Stop after this many minutes.
    #[arg(long)]
    minutes: Option<f64>,
    /// Games per iteration (as `train --games`).
    #[arg(long)]
    games: Option<usize>,
    /// Broker port on 127.0.0.1 [default: a free one].
    #[arg(long)]
    port: Option<u16>,
}

pub fn cluster(args: &ClusterArgs) -> Result<()> {
    if args.workers == 0 || args.workers > 64 {
        bail!("--workers must be 1-64");
    }
    let exe = std::env::current_exe().context("finding the wgzero binary")?;
    std::fs::create_dir_all(&args.run)
        .with_context(|| format!("creating {}", args.run.display()))?;
    let name = run_name_of(&args.run);
    let mut server = NatsServer::start_tied(&args.run.join("broker"), args.port)?;
    let url = server.url();
    eprintln!(
        "nats-server on {url} (store {}), run {name}",
        server.store.display()
    );
    let interrupt = interrupt_flag();
    let mut trainer = spawn(Command::new(&exe).args(trainer_args(args, &url)))?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = args.threads.unwrap_or((cores / args.workers).max(1));
    let mut workers = Vec::new();
    for i in 0..args.workers {
        let spool = args.run.join("spool").join(format!("worker-{i}"));
        let mut cmd = Command::new(&exe);
        cmd.args(["worker", "--broker", &url, "--run", &name, "--drain", "10"])
            .arg("--spool")
            .arg(&spool)
            .arg("--cache")
            .arg(args.run.join("spool").join("networks"))
            .args(["--threads", &threads.to_string()]);
        workers.push(spawn(&mut cmd)?);
    }
    eprintln!(
        "trainer and {} workers ({threads} threads each) started; Ctrl-C stops them",
        args.workers
    );
    // Until the trainer ends (its limits) or Ctrl-C.
    let status = loop {
        if let Some(s) = trainer.try_wait()? {
            break Some(s);
        }
        if interrupt.load(Ordering::SeqCst) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    for w in &mut workers {
        let _ = process::stop(w, Stop::Interrupt);
    }
    let status = match status {
        Some(s) => s,
        None => {
            let _ = process::stop(&mut trainer, Stop::Interrupt);
            trainer.wait()?
        }
    };
    for w in &mut workers {
        let _ = w.wait();
    }
    server.stop();
    if !status.success() && !interrupt.load(Ordering::SeqCst) {
        bail!("the trainer failed ({status})");
    }
    eprintln!("cluster stopped; resume with the same command");
    Ok(())
}

/// `wgzero train ...` for the cluster's trainer.
fn trainer_args(args: &ClusterArgs, url: &str) -> Vec<String> {
    let mut v: Vec<String> = vec!["train".into(), "--run".into()];
    v.push(args.run.display().to_string());
    v.extend(["--broker".into(), url.to_string()]);
    let game = match args.game.game {
        GameName::Connect4 => "connect4",
        GameName::Gomoku => "gomoku",
        GameName::Go => "go",
        GameName::Tictactoe => "tictactoe",
        GameName::Ohhell => "ohhell",
    };
    v.extend(["--game".into(), game.into()]);
    if let Some(s) = args.game.size {
        v.extend(["--size".into(), s.to_string()]);
    }
    v.extend(["--komi".into(), args.game.komi.to_string()]);
    if let Some(c) = &args.config {
        v.extend(["--config".into(), c.display().to_string()]);
    }
    if let Some(n) = args.iterations {
        v.extend(["--iterations".into(), n.to_string()]);
    }
    if let Some(m) = args.minutes {
        v.extend(["--minutes".into(), m.to_string()]);
    }
    if let Some(g) = args.games {
        v.extend(["--games".into(), g.to_string()]);
    }
    v
}

/// Starts a child in a process group of its own (a terminal's Ctrl-C
/// reaches only this process, which then stops each child once); on Linux
/// the child is interrupted if this process dies (even by SIGKILL), so that
/// nothing of a killed cluster runs on.
fn spawn(cmd: &mut Command) -> Result<Child> {
    cmd.stdin(Stdio::null());
    process::own_process_group(cmd);
    process::die_with_parent(cmd, Stop::Interrupt);
    cmd.spawn().context("starting a wgzero process")
}
