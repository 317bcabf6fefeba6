//! `wgzero gtp`: wgzero as a Go engine speaking GTP on standard input and
//! output, for Go GUIs and tournament tools.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use super::{network_player, AveragingArgs, DeviceArgs};
use wgzero::files::next_line;
use wgzero::game::{Game, Go};
use wgzero::gtp::Engine;
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
    device: DeviceArgs,
    /// Seed of the engine's random choices.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn gtp(args: &GtpArgs) -> Result<()> {
    if args.sims == 0 {
        anyhow::bail!("--sims must be at least 1");
    }
    let game = Go::new(args.size, args.komi).context("--size / --komi")?;
    let model = match &args.model {
        Some(p) => Some(ModelSource::at(p)?),
        None => None,
    };
    let device = args.device.clone();
    device.adapter()?;
    let (sims, seed, symmetries) = (args.sims, args.seed, args.averaging.symmetries);
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
        network_player(&game, &source, &selected, sims, symmetries, seed)
            .map_err(|e| wgzero::Error::Model(format!("{e:#}")))
    });
    let mut engine = Engine::new(game, factory).context("starting the engine")?;
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut out = std::io::stdout().lock();
    while let Some(line) = next_line(&mut input).context("reading standard input")? {
        let response = match line {
            Ok(line) => engine.handle_line(&line),
            Err(why) => Some(wgzero::gtp::format_response(None, &Err(why))),
        };
        if let Some(response) = response {
            out.write_all(response.as_bytes())?;
            out.flush()?;
        }
        if engine.finished() {
            break;
        }
    }
    Ok(())
}
