//! `wgzero worker`: self-play for a trainer elsewhere, through a broker.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;

use super::{interrupt_flag, DeviceArgs, GameArgs, GameName, PrecisionArg};
use wgzero::config::{training_defaults_for, ConfigFile};
use wgzero::game::Game;
use wgzero::transport::{self, RunSettings, Transport};
use wgzero::worker::{run_worker, WorkerOptions};

#[derive(Args)]
pub struct WorkerArgs {
    /// The broker: nats://HOST:PORT (NATS JetStream), or dir:PATH (a shared folder).
    #[arg(long)]
    broker: String,
    /// The run's name on the broker (the trainer prints it: its run folder's name).
    #[arg(long)]
    run: String,
    /// Where finished games wait for the broker's acknowledgement
    /// [default: ~/.cache/wgzero/spool/RUN]. Games found here are sent first.
    #[arg(long)]
    spool: Option<PathBuf>,
    /// Where networks are cached [default: ~/.cache/wgzero/networks].
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Search threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Games per self-play batch, between looks at the best network
    /// [default: the run's selfplay.games].
    #[arg(long, default_value_t = 0)]
    chunk: usize,
    /// Stop after this many games (default: until Ctrl-C).
    #[arg(long)]
    games: Option<u64>,
    /// Pause while the trainer has this many games waiting
    /// [default: two iterations' games]; 0: never pause.
    #[arg(long)]
    max_backlog: Option<u64>,
    /// Seconds to keep sending the spool after stopping.
    #[arg(long, default_value_t = 30.0)]
    drain: f64,
    #[command(flatten)]
    device: DeviceArgs,
    /// Inference precision.
    #[arg(long, value_enum, default_value = "auto")]
    precision: PrecisionArg,
    /// Log every game spooled and published, by id.
    #[arg(long, short)]
    verbose: bool,
}

/// `~/.cache/wgzero` (or `$XDG_CACHE_HOME/wgzero`).
fn cache_root() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("wgzero")
}

pub fn worker(args: &WorkerArgs) -> Result<()> {
    transport::check_run_name(&args.run)?;
    if !(args.drain.is_finite() && args.drain >= 0.0) {
        bail!("--drain must be a number of seconds >= 0");
    }
    let settings = wait_for_settings(&args.broker, &args.run)?;
    let Some(settings) = settings else {
        return Ok(()); // interrupted while waiting
    };
    let game_args = game_of(&settings)?;
    with_game_named(&game_args, args, &settings)
}

/// The run's settings, waiting (and saying so) until its trainer puts them.
fn wait_for_settings(url: &str, run: &str) -> Result<Option<RunSettings>> {
    let mut t = transport::connect(url, run, false)?;
    let mut said = false;
    loop {
        if let Some(s) = t.settings()? {
            return Ok(Some(s));
        }
        if !said {
            eprintln!(
                "waiting for run {run}'s trainer on {} (wgzero train --run DIR --broker {})",
                t.describe(),
                transport::redact(url)
            );
            said = true;
        }
        if interrupt_flag().load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The game a run's settings name, as game arguments.
fn game_of(s: &RunSettings) -> Result<GameArgs> {
    let name = s.game.as_str();
    let sized = |prefix: &str| -> Option<usize> { name.strip_prefix(prefix)?.parse().ok() };
    let (game, size) = match name {
        "connect4" => (GameName::Connect4, None),
        "tictactoe" => (GameName::Tictactoe, None),
        _ if name.starts_with("gomoku") && sized("gomoku").is_some() => {
            (GameName::Gomoku, sized("gomoku"))
        }
        _ if name.starts_with("go") && sized("go").is_some() => (GameName::Go, sized("go")),
        _ => bail!("the run plays {name:?}, a game this build does not know"),
    };
    Ok(GameArgs {
        game,
        size,
        komi: s.komi.unwrap_or(7.5),
        rules: String::new(),
        determinizations: 8,
    })
}

fn with_game_named(g: &GameArgs, args: &WorkerArgs, settings: &RunSettings) -> Result<()> {
    with_game!(g, run(args, settings))
}

fn run<G: Game>(game: G, args: &WorkerArgs, settings: &RunSettings) -> Result<()> {
    let cfg = ConfigFile::parse_over(&settings.config_toml, &training_defaults_for(&game.name()))
        .map_err(|e| anyhow::anyhow!("the run's settings: {e}"))?;
    let selected = args.device.select()?;
    eprintln!(
        "run {} ({}) on {}; device: {}",
        args.run,
        game.name(),
        transport::redact(&args.broker),
        selected.report.chosen
    );
    let root = cache_root();
    let opts = WorkerOptions {
        spool: args
            .spool
            .clone()
            .unwrap_or_else(|| root.join("spool").join(&args.run)),
        cache: args.cache.clone().unwrap_or_else(|| root.join("networks")),
        device: selected,
        precision: args.precision.into(),
        threads: args.threads,
        chunk: args.chunk,
        max_games: args.games,
        max_backlog: args.max_backlog.unwrap_or(2 * cfg.selfplay.games as u64),
        interrupt: interrupt_flag(),
        drain: Duration::from_secs_f64(args.drain),
        verbose: args.verbose,
    };
    let (url, run_name) = (args.broker.clone(), args.run.clone());
    let connect = move || -> wgzero::Result<Box<dyn Transport>> {
        transport::connect(&url, &run_name, false)
    };
    let summary = run_worker(
        &game,
        &cfg,
        &connect,
        &opts,
        Arc::new(|line: &str| eprintln!("{line}")),
    )
    .context("worker")?;
    println!(
        "worker {:016x}: {} games played, {} published, {} left in the spool; networks used: {}",
        summary.worker_id,
        summary.games,
        summary.published,
        summary.left_in_spool,
        summary.networks.len()
    );
    Ok(())
}
