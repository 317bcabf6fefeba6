//! Times the Connect Four solver on random positions with N moves played
//! (no immediate win for the side to move):
//! `cargo run --release --example solver_timing -- [moves] [positions] [seed]`.

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wgzero::game::{Connect4, Game};
use wgzero::solver::Solver;

fn main() {
    let arg = |i: usize, default: u64| {
        std::env::args()
            .nth(i)
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let (moves, count, seed) = (arg(1, 8) as usize, arg(2, 10) as usize, arg(3, 7));
    let g = Connect4;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut solver = Solver::new();
    let (mut worst_solve, mut worst_analyze, mut total_solve, mut total_analyze) =
        (0f64, 0f64, 0f64, 0f64);
    let mut done = 0;
    while done < count {
        let (mut s, mut line) = (g.initial(), String::new());
        let mut legal = Vec::new();
        for _ in 0..moves {
            g.legal_actions(&s, &mut legal);
            if legal.is_empty() {
                break;
            }
            let a = legal[rng.random_range(0..legal.len())];
            g.apply(&mut s, a);
            line.push_str(&g.format_move(a));
        }
        if g.moves_played(&s) != moves
            || g.terminal_value(&s).is_some()
            || (0..7).any(|c| s.can_play(c) && s.is_winning_move(c))
        {
            continue;
        }
        solver.reset();
        let t = Instant::now();
        let score = solver.solve(&s);
        let ts = t.elapsed().as_secs_f64();
        solver.reset();
        let t = Instant::now();
        let scores = solver.analyze(&s);
        let ta = t.elapsed().as_secs_f64();
        assert_eq!(scores.iter().flatten().max(), Some(&score));
        println!("{line}  score {score:>3}  solve {ts:.3} s  all moves {ta:.3} s  {scores:?}");
        worst_solve = worst_solve.max(ts);
        worst_analyze = worst_analyze.max(ta);
        total_solve += ts;
        total_analyze += ta;
        done += 1;
    }
    println!(
        "{count} positions, {moves} moves played: solve mean {:.3} s max {worst_solve:.3} s; all moves mean {:.3} s max {worst_analyze:.3} s",
        total_solve / count as f64,
        total_analyze / count as f64
    );
}
