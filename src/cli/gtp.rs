//! `wgzero gtp`: wgzero as a Go engine speaking GTP on standard input and
//! output, for Go GUIs and tournament tools.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use super::{network_player, AveragingArgs, DeviceArgs, UtilityArgs};
use std::sync::mpsc::{self, TryRecvError};

use wgzero::files::next_line;
use wgzero::game::{Game, Go};
use wgzero::gtp::{Engine, EngineOptions};
use wgzero::net::ModelSource;
use wgzero::players::{MctsPlayer, Player};

#[derive(Args)]
pub struct GtpArgs {
    /// The game (only Go speaks GTP).
    #[arg(long, default_value = "go", value_parser = ["go"])]
    game: String,
    /// Board size at start (5-19); `boardsize` changes it.
    #[arg(long, default_value_t = 9)]
    size: usize,
    /// Komi at start; `komi` changes it.
    #[arg(long, default_value_t = 7.5, allow_negative_numbers = true)]
    komi: f32,
    /// A model or run folder. Without one the engine plays the shipped
    /// network of the board size, or rollout MCTS where there is none.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Simulations per move (of the network's search, or of rollout MCTS).
    #[arg(long, default_value_t = 400)]
    sims: u32,
    #[command(flatten)]
    averaging: AveragingArgs,
    #[command(flatten)]
    utility: UtilityArgs,
    #[command(flatten)]
    device: DeviceArgs,
    /// Seed of the engine's random choices.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Seconds kept back from each move's time under time controls
    /// (`time_settings`, `kgs-time_settings`) for the controller's lag.
    #[arg(long, default_value_t = 0.5)]
    lag: f64,
    /// Resign when the best move's winning probability falls below this
    /// (0: never).
    #[arg(long, default_value_t = 0.0)]
    resign_below: f32,
    /// Keep searching after each of its moves, on the opponent's turn,
    /// until the next command arrives (pondering).
    #[arg(long)]
    ponder: bool,
}

pub fn gtp(args: &GtpArgs) -> Result<()> {
    if args.sims == 0 {
        anyhow::bail!("--sims must be at least 1");
    }
    if !(args.lag.is_finite() && args.lag >= 0.0) {
        anyhow::bail!("--lag must be a number of seconds >= 0");
    }
    if !(0.0..1.0).contains(&args.resign_below) {
        anyhow::bail!("--resign-below must be in [0, 1)");
    }
    let game = Go::new(args.size, args.komi).context("--size / --komi")?;
    let model = match &args.model {
        Some(p) => Some(ModelSource::at(p)?),
        None => None,
    };
    let device = args.device.clone();
    device.adapter()?;
    let (sims, seed, symmetries) = (args.sims, args.seed, args.averaging.symmetries);
    let score_utility = args.utility.score_utility;
    let factory = Box::new(move |game: Go| -> wgzero::Result<Box<dyn Player<Go>>> {
        let source = match &model {
            Some(s) => Some(s.clone()),
            None => wgzero::models::shipped(&game.name()).map(|_| ModelSource::Shipped),
        };
        let Some(source) = source else {
            return Ok(Box::new(MctsPlayer::new(game, sims, seed)?));
        };
        let selected = device
            .select()
            .map_err(|e| wgzero::Error::Device(format!("{e:#}")))?;
        network_player(
            &game,
            &source,
            &selected,
            sims,
            symmetries,
            score_utility,
            seed,
        )
        .map_err(|e| wgzero::Error::Model(format!("{e:#}")))
    });
    let options = EngineOptions {
        simulations: args.sims,
        lag: args.lag,
        resign_below: args.resign_below,
        ponder: args.ponder,
        ..EngineOptions::default()
    };
    let mut engine = Engine::with_options(game, factory, options).context("starting the engine")?;
    // Lines are read on their own thread so that an analysis can see the
    // next command arrive while it searches.
    let (tx, rx) = mpsc::channel::<std::io::Result<std::result::Result<String, String>>>();
    std::thread::Builder::new()
        .name("wgzero-gtp-input".into())
        .spawn(move || {
            let mut input = std::io::stdin().lock();
            loop {
                match next_line(&mut input) {
                    Ok(Some(line)) => {
                        if tx.send(Ok(line)).is_err() {
                            return;
                        }
                    }
                    Ok(None) => return,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
        })
        .context("starting the input thread")?;
    let mut out = std::io::stdout().lock();
    let mut next = None;
    loop {
        let item = match next.take() {
            Some(item) => item,
            None => match rx.recv() {
                Ok(item) => item,
                Err(_) => break, // end of input
            },
        };
        match item.context("reading standard input")? {
            Ok(line) => {
                let mut waiting = || {
                    if next.is_none() {
                        match rx.try_recv() {
                            Ok(item) => next = Some(item),
                            Err(TryRecvError::Disconnected) => return true,
                            Err(TryRecvError::Empty) => {}
                        }
                    }
                    next.is_some()
                };
                engine.handle_line_to(&line, &mut out, &mut waiting)?;
            }
            Err(why) => {
                out.write_all(wgzero::gtp::format_response(None, &Err(why)).as_bytes())?;
                out.flush()?;
            }
        }
        if engine.finished() {
            break;
        }
    }
    Ok(())
}
