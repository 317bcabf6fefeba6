//! `wgzero gen-positions`: Connect Four test positions judged by the solver.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use wgzero::positions::{generate, positions_file_text, MoveRange};

#[derive(Args)]
pub struct GenPositionsArgs {
    /// Output file.
    #[arg(long)]
    out: PathBuf,
    /// Positions to write.
    #[arg(long, default_value_t = 100)]
    count: usize,
    /// Moves played before each position: N or LOW-HIGH.
    #[arg(long, default_value = "8-14")]
    moves: String,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn gen_positions(args: &GenPositionsArgs) -> Result<()> {
    let range: MoveRange = args.moves.parse().context("--moves")?;
    let bar = indicatif::ProgressBar::new(args.count as u64);
    let positions = generate(args.count, range, args.seed, &mut |n| {
        bar.set_position(n as u64)
    });
    bar.finish_and_clear();
    let text = positions_file_text(&positions, range, args.seed);
    std::fs::write(&args.out, text).with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "wrote {} positions to {}",
        positions.len(),
        args.out.display()
    );
    Ok(())
}
