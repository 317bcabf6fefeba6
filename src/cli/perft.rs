//! `wgzero perft`: move sequences of each length (checks move generation).

use std::time::Instant;

use anyhow::Result;
use clap::Args;

use super::GameArgs;
use wgzero::game::{perft as count, Game};

#[derive(Args)]
pub struct PerftArgs {
    #[command(flatten)]
    pub game: GameArgs,
    /// Number of plies.
    #[arg(long, default_value_t = 6)]
    depth: u32,
}

pub fn perft<G: Game>(game: G, args: &PerftArgs) -> Result<()> {
    let s = game.initial();
    for d in 1..=args.depth {
        let t = Instant::now();
        let n = count(&game, &s, d);
        println!(
            "{} depth {d}: {n} ({:.3} s)",
            game.name(),
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
