//! `wgzero train`: the training loop in a run folder (created or resumed).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;

use super::{interrupt_flag, AlgorithmArg, DeviceArgs, GameArgs, PrecisionArg};
use wgzero::config::{training_defaults_for, ConfigFile};
use wgzero::game::go::is_go_name;
use wgzero::game::Game;
use wgzero::net::{ModelBytes, ModelSource};
use wgzero::players::Heuristic;
use wgzero::train::run::{self as train_run, Broker, RunOptions, RunSummary};
use wgzero::transport::run_name_of;

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub game: GameArgs,
    /// The run folder (created, or resumed when it holds a run).
    #[arg(long)]
    run: PathBuf,
    /// Settings file (TOML: [selfplay], [train], [run]); the effective
    /// settings are saved in the run folder as config.toml.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Start a new run from a trained network instead of random weights: a
    /// model folder, a run folder (its best network), or `shipped` (the
    /// game's shipped model). The first games are its own (no rollout
    /// bootstrap) and the optimiser starts fresh.
    #[arg(long, value_name = "MODEL")]
    init_model: Option<String>,
    /// Stop once the run has this many iterations.
    #[arg(long)]
    iterations: Option<u64>,
    /// Stop after this many minutes (the unfinished step is abandoned).
    #[arg(long)]
    minutes: Option<f64>,
    /// Stop once the run's self-play has made this many network evaluations
    /// in all (e.g. 5e6; checked between iterations).
    #[arg(long, value_parser = parse_count)]
    evaluations: Option<u64>,
    /// Self-play games per iteration [default: 128].
    #[arg(long)]
    games: Option<usize>,
    /// Simulations of a full self-play search [default: 200].
    #[arg(long)]
    sims: Option<u32>,
    /// Self-play root search [default: gumbel].
    #[arg(long, value_enum)]
    algorithm: Option<AlgorithmArg>,
    #[command(flatten)]
    device: DeviceArgs,
    /// Inference precision in self-play and arena games.
    #[arg(long, value_enum, default_value = "auto")]
    precision: PrecisionArg,
    /// Take self-play games from workers (`wgzero worker`) through this
    /// broker instead of playing them: nats://HOST:PORT (NATS JetStream) or
    /// dir:PATH (a shared folder). The run's name there is the run folder's
    /// name.
    #[arg(long)]
    broker: Option<String>,
    /// Replicas of the run's stream and buckets on a JetStream cluster
    /// (with --broker nats://; 3 on a 3-node cluster).
    #[arg(long, default_value_t = 1)]
    replicas: usize,
}

impl TrainArgs {
    /// The training defaults, the settings file over them, the flags over that.
    fn settings(&self, game: &str) -> Result<ConfigFile> {
        let base = training_defaults_for(game);
        let mut cfg = match &self.config {
            Some(path) => ConfigFile::load_over(path, &base)?,
            None => base,
        };
        cfg.selfplay.games = self.games.unwrap_or(cfg.selfplay.games);
        cfg.selfplay.simulations = self.sims.unwrap_or(cfg.selfplay.simulations);
        if let Some(a) = self.algorithm {
            cfg.selfplay.search.algorithm = a.into();
        }
        Ok(cfg)
    }

    /// Whether the user gave any settings (they must match a resumed run's).
    fn explicit(&self) -> bool {
        self.config.is_some()
            || self.games.is_some()
            || self.sims.is_some()
            || self.algorithm.is_some()
    }
}

pub fn train<G: Game + Heuristic>(game: G, args: &TrainArgs) -> Result<()> {
    if args.broker.is_some() && args.evaluations.is_some() {
        bail!("--evaluations counts this process's self-play; with --broker the workers play: use --iterations or --minutes");
    }
    let cfg = args.settings(&game.name())?;
    if let Some(m) = args.minutes {
        if !(m.is_finite() && m > 0.0) {
            bail!("--minutes must be a positive number");
        }
    }
    let selected = args.device.select_announced()?;
    let init = match &args.init_model {
        Some(m) => Some(init_model(&game, m)?),
        None => None,
    };
    let broker = match &args.broker {
        Some(url) => Some(connect_broker(&game, args, url)?),
        None => None,
    };
    let opts = RunOptions {
        init,
        broker,
        iterations: args.iterations,
        evaluations: args.evaluations,
        minutes: args.minutes,
        interrupt: interrupt_flag(),
        device: selected,
        precision: args.precision.into(),
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let t = Instant::now();
    let summary = train_run::train(
        &game,
        &args.run,
        &cfg,
        args.explicit(),
        &opts,
        &mut |line| eprintln!("{line}"),
    )?;
    print_summary(&summary, t.elapsed().as_secs_f64() / 60.0);
    Ok(())
}

fn print_summary(summary: &RunSummary, minutes: f64) {
    println!(
        "{} at iteration {} ({} completed by this command) in {:.1} min; best network: {}",
        if summary.interrupted {
            "stopped"
        } else {
            "done"
        },
        summary.iteration,
        summary.completed,
        minutes,
        summary.best.display()
    );
    if summary.interrupted {
        println!("resume with the same command");
    }
}

/// The trainer's link to the broker (creating the run's stream and buckets).
fn connect_broker<G: Game>(
    game: &G,
    args: &TrainArgs,
    url: &str,
) -> Result<std::cell::RefCell<Broker>> {
    let name = run_name_of(&args.run);
    if !(1..=5).contains(&args.replicas) {
        bail!("--replicas must be 1-5");
    }
    let opts = wgzero::transport::NatsOptions {
        create: true,
        replicas: args.replicas,
        ..Default::default()
    };
    let transport = wgzero::transport::connect_with(url, &name, &opts).context("--broker")?;
    eprintln!(
        "broker run {name}: start workers with `wgzero worker --broker {} --run {name}`",
        wgzero::transport::redact(url)
    );
    let komi = is_go_name(&game.name()).then_some(args.game.komi);
    Ok(std::cell::RefCell::new(Broker { transport, komi }))
}

/// A count given as an integer or in exponent form (`5000000`, `5e6`).
pub fn parse_count(text: &str) -> std::result::Result<u64, String> {
    let v: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if !(1.0..=1e15).contains(&v) {
        return Err(format!("{text:?} must be between 1 and 1e15"));
    }
    Ok(v.round() as u64)
}

/// The network `train --init-model` starts from: a model folder, a run
/// folder's best checkpoint, or `shipped`.
fn init_model<G: Game>(game: &G, model: &str) -> Result<ModelBytes> {
    let source = if model == "shipped" {
        if wgzero::models::shipped(&game.name()).is_none() {
            bail!(
                "--init-model shipped: there is no shipped model for {}",
                game.name()
            );
        }
        ModelSource::Shipped
    } else {
        let path = Path::new(model);
        if !path.is_dir() {
            bail!("--init-model {model}: not a folder (give a model or run folder, or `shipped`)");
        }
        ModelSource::at(path)?
    };
    let mut bytes = source
        .read(game)
        .context("--init-model")?
        .context("--init-model: no weights")?;
    if matches!(source, ModelSource::Shipped) {
        bytes.label = format!("the shipped {} model", game.name());
    }
    Ok(bytes)
}

/// `--game ohhell`: the card game's training loop.
pub fn train_cards(args: &TrainArgs) -> Result<()> {
    if args.broker.is_some()
        || args.init_model.is_some()
        || args.config.is_some()
        || args.evaluations.is_some()
    {
        bail!("--broker, --init-model, --config and --evaluations are for board games");
    }
    if let Some(m) = args.minutes {
        if !(m.is_finite() && m > 0.0) {
            bail!("--minutes must be a positive number");
        }
    }
    let selected = args.device.select_announced()?;
    super::cards::train(
        &args.game,
        &args.run,
        args.iterations,
        args.games,
        args.sims,
        args.minutes,
        &selected,
    )
}
