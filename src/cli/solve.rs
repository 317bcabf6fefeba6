//! `wgzero solve`: the exact score of every move of a Connect Four position.

use std::time::Instant;

use anyhow::{bail, Result};
use clap::Args;

use wgzero::game::{Connect4, Game};
use wgzero::solver::Solver;

#[derive(Args)]
pub struct SolveArgs {
    /// The position: 1-based column digits, e.g. 4453 (empty for the start).
    position: String,
    /// Only tell win / draw / loss (faster).
    #[arg(long)]
    weak: bool,
}

pub fn solve(args: &SolveArgs) -> Result<()> {
    let game = Connect4;
    let state = game.parse_position(&args.position)?;
    if game.terminal_value(&state).is_some() {
        bail!("the game is already over in position {:?}", args.position);
    }
    print!("{}", game.render(&state));
    let mut solver = Solver::new();
    let t = Instant::now();
    let scores = if args.weak {
        solver.analyze_weak(&state)
    } else {
        solver.analyze(&state)
    };
    let best = scores.iter().flatten().max().copied().unwrap_or(0);
    let describe = |s: i32| match (args.weak, s.signum()) {
        (true, 1) => "win".to_string(),
        (true, -1) => "loss".to_string(),
        (_, 0) => "draw".to_string(),
        _ => s.to_string(),
    };
    println!("position score: {}", describe(best));
    for (col, s) in scores.iter().enumerate() {
        match s {
            Some(s) => println!("  column {}: {}", col + 1, describe(*s)),
            None => println!("  column {}: full", col + 1),
        }
    }
    println!(
        "({} nodes, {:.3} s)",
        solver.nodes(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
