//! `wgzero grow`: more residual blocks or a wider value head for a run's network.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use super::GameArgs;
use wgzero::game::Game;
use wgzero::net::{self, BackendChoice};
use wgzero::train::grow::{grow_run, GrowTo, Grown};

#[derive(Args)]
pub struct GrowArgs {
    #[command(flatten)]
    pub game: GameArgs,
    /// The run folder (made by `wgzero train`).
    #[arg(long)]
    run: PathBuf,
    /// Residual blocks of the grown network (more than it has).
    #[arg(long, required_unless_present = "value_channels")]
    blocks: Option<usize>,
    /// Channels of the grown network's value head (more than it has; a new
    /// network has 1): more features per cell for the value to judge from.
    #[arg(long)]
    value_channels: Option<usize>,
}

pub fn grow<G: Game>(game: G, args: &GrowArgs) -> Result<()> {
    let selected = net::select(BackendChoice::Cpu)?;
    let to = GrowTo {
        blocks: args.blocks,
        value_channels: args.value_channels,
    };
    let g = grow_run(&game, &args.run, to, &selected)
        .with_context(|| format!("cannot grow the run in {}", args.run.display()))?;
    println!(
        "grew {} {}: {} (the optimiser restarts; resume with wgzero train)",
        args.run.display(),
        describe(&g),
        g.checkpoints.join(", ")
    );
    Ok(())
}

/// "from 1 to 3 residual blocks, value head from 1 to 4 channels".
fn describe(g: &Grown) -> String {
    let mut changes = Vec::new();
    if g.to_blocks != g.from_blocks {
        changes.push(format!(
            "from {} to {} residual blocks",
            g.from_blocks, g.to_blocks
        ));
    }
    if g.to_value_channels != g.from_value_channels {
        changes.push(format!(
            "value head from {} to {} channels",
            g.from_value_channels, g.to_value_channels
        ));
    }
    changes.join(", ")
}
