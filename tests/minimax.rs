//! The NN-guided minimax searches: network calls per move, the budget,
//! wins in one, exact values, and matches batched across games.

mod common;

use std::collections::VecDeque;

use wgzero::arena::{play_match, Contestant, MatchConfig};
use wgzero::eval::{Batch, Evaluator, Uniform};
use wgzero::game::{Connect4, Game, TicTacToe};
use wgzero::mcts::{Algorithm, Search, SearchConfig};
use wgzero::players::PlayerSpec;
use wgzero::solver::Solver;
use wgzero::Result;

/// Connect Four judged by the solver: uniform priors, value 0.9 / 0 / -0.9
/// for a won / drawn / lost position (the side to move's).
struct SolverEval {
    solver: Solver,
    done: VecDeque<Batch>,
}

impl Evaluator for SolverEval {
    fn submit(&mut self, mut batch: Batch) -> Result<()> {
        batch.prepare_results();
        let game = Connect4;
        for i in 0..batch.len() {
            let s = game.unpack(batch.state(i))?;
            batch.value[i] = 0.9 * self.solver.solve_weak(&s) as f32;
            let mask = batch.legal_mask(i).to_vec();
            let n = mask.iter().filter(|&&m| m != 0).count() as f32;
            let a = batch.actions();
            for (p, m) in batch.policy[i * a..(i + 1) * a].iter_mut().zip(mask) {
                *p = if m != 0 { 1.0 / n } else { 0.0 };
            }
        }
        self.done.push_back(batch);
        Ok(())
    }
    fn collect(&mut self) -> Result<Batch> {
        Ok(self.done.pop_front().expect("a batch in flight"))
    }
    fn in_flight(&self) -> usize {
        self.done.len()
    }
}

fn minimax(widths: &[usize], sims: u32) -> SearchConfig {
    SearchConfig {
        algorithm: Algorithm::Minimax,
        widths: widths.to_vec(),
        simulations: sims,
        ..SearchConfig::default()
    }
}

fn descent(expand_width: usize, sims: u32) -> SearchConfig {
    SearchConfig {
        algorithm: Algorithm::Descent,
        expand_width,
        simulations: sims,
        ..SearchConfig::default()
    }
}

fn c4(moves: &[usize]) -> <Connect4 as Game>::State {
    let game = Connect4;
    let mut s = game.initial();
    for &m in moves {
        game.play(&mut s, m).unwrap();
    }
    s
}

/// Widths 5,3,3: the root, then one request per depth (4 network calls),
/// 1 + 5 + 15 + 45 positions.
#[test]
fn fixed_width_makes_one_network_call_per_depth() {
    let mut eval = common::counting(Uniform::new());
    let mut s = Search::new(Connect4, minimax(&[5, 3, 3], 400), 1).unwrap();
    let r = s.run(&mut eval, 400).unwrap();
    assert_eq!(eval.batches, 4);
    assert_eq!(eval.positions, 1 + 5 + 15 + 45);
    assert_eq!(s.stats().batches, 4);
    assert_eq!(r.simulations, 65);
    assert!((r.policy.iter().sum::<f32>() - 1.0).abs() < 1e-5);
}

/// Without widths the search deepens at full width and keeps the most
/// likely lines of the level that would overrun the budget: exactly the
/// budget is spent.
#[test]
fn automatic_widths_spend_exactly_the_budget() {
    for sims in [6, 64, 256, 1024] {
        let mut eval = common::counting(Uniform::new());
        let mut s = Search::new(Connect4, minimax(&[], sims), 1).unwrap();
        let r = s.run(&mut eval, sims).unwrap();
        assert_eq!(eval.positions, sims as u64 + 1, "{sims}");
        assert_eq!(r.simulations, sims);
    }
}

/// A win in one is taken whatever the width, by both searches (with
/// uniform priors the top-1 move is column 0; the win is column 3).
#[test]
fn every_search_takes_a_win_in_one() {
    let s0 = c4(&[0, 0, 1, 1, 2, 2]);
    for cfg in [minimax(&[1], 10), minimax(&[1, 1, 1], 10), descent(1, 10)] {
        let mut s = Search::new(Connect4, cfg.clone(), 3).unwrap();
        s.reset(s0);
        let r = s.run(&mut Uniform::new(), cfg.simulations).unwrap();
        assert_eq!(r.action, 3, "{:?}", cfg.algorithm);
        assert_eq!(r.value, 1.0, "{:?}", cfg.algorithm);
    }
}

/// Exact values: full width to depth 3 proves the double threat of column
/// 3 (a win whatever the reply).
#[test]
fn fixed_width_proves_a_forced_win() {
    let mut s = Search::new(Connect4, minimax(&[0, 0, 1], 1000), 1).unwrap();
    s.reset(c4(&[1, 1, 2, 2]));
    let r = s.run(&mut Uniform::new(), 1000).unwrap();
    assert_eq!((r.action, r.value), (3, 1.0));
}

/// Best first, guided by the solver's values, on won middle-game
/// positions: it always plays a winning move, and proves most wins (an
/// exact root value of 1), never a wrong one.
#[test]
fn descent_plays_and_proves_wins() {
    let game = Connect4;
    let mut judge = Solver::new();
    let mut eval = SolverEval {
        solver: Solver::new(),
        done: VecDeque::new(),
    };
    let (mut positions, mut proven) = (0, 0);
    let mut seed = 0u64;
    while positions < 12 {
        seed += 1;
        let moves = wgzero::arena::random_opening_moves(&game, 18, seed);
        let s0 = c4(&moves);
        if moves.len() < 18 || judge.solve_weak(&s0) != 1 {
            continue;
        }
        positions += 1;
        let mut s = Search::new(Connect4, descent(0, 300), seed).unwrap();
        s.reset(s0);
        let r = s.run(&mut eval, 300).unwrap();
        let scores = judge.analyze_weak(&s0);
        assert_eq!(scores[r.action], Some(1), "{moves:?}: {}", r.action);
        assert!(r.value > 0.0 && r.value <= 1.0);
        proven += usize::from(r.value == 1.0);
    }
    assert!(proven >= 6, "{proven} of {positions} proven");
}

/// Best first stays within its budget (an expansion that would overrun it
/// is left for the next move) and sends one expansion a call: a leaf's
/// children in one request.
#[test]
fn descent_keeps_to_its_budget_one_expansion_a_call() {
    for (sims, leaves) in [(20, 1), (100, 4), (500, 8)] {
        let mut eval = common::counting(Uniform::new());
        let cfg = SearchConfig {
            leaves_per_gather: leaves,
            ..descent(0, sims)
        };
        let mut s = Search::new(Connect4, cfg, 1).unwrap();
        let r = s.run(&mut eval, sims).unwrap();
        assert!(
            eval.positions <= sims as u64 + 1,
            "{sims}: {}",
            eval.positions
        );
        assert!(
            eval.positions + 7 > sims as u64,
            "{sims}: {}",
            eval.positions
        );
        assert!(r.simulations <= sims);
        // The root, then calls of at most the 7 columns.
        assert!(eval.positions - 1 <= 7 * (eval.batches - 1));
        assert!(eval.batches as f64 >= (sims as f64 / 7.0).floor());
    }
}

/// `max_depth` (a Gomocup manager's) stops both searches at that depth
/// whatever budget is left: full width to depth 2 is 7 + 49 positions.
#[test]
fn the_depth_limit_stops_both_searches() {
    for cfg in [
        minimax(&[], 1000),
        minimax(&[0, 0, 0], 1000),
        descent(0, 1000),
    ] {
        let mut eval = common::counting(Uniform::new());
        let mut s = Search::new(Connect4, cfg.clone(), 1).unwrap();
        s.set_max_depth(2);
        let r = s.run(&mut eval, 1000).unwrap();
        assert_eq!(eval.positions, 1 + 7 + 49, "{:?}", cfg.algorithm);
        assert_eq!(r.simulations, 56);
        // No limit again: deeper.
        let mut eval = common::counting(Uniform::new());
        s.set_max_depth(0);
        s.run(&mut eval, 1000).unwrap();
        assert!(eval.positions > 1 + 7 + 49, "{:?}", cfg.algorithm);
    }
}

/// Both searches play whole matches through the arena, their positions
/// batched across the games in flight.
#[test]
fn minimax_searches_play_matches_batched_across_games() {
    for search in [minimax(&[0, 3], 100), descent(0, 60)] {
        let mut eval = common::counting(Uniform::new());
        let cfg = MatchConfig {
            games: 16,
            opening_moves: 2,
            openings: Vec::new(),
            concurrency: 16,
            seed: 5,
        };
        let algorithm = search.algorithm;
        let a = Contestant::Search {
            name: "uniform".into(),
            search,
            eval: &mut eval,
        };
        let r = play_match(
            &TicTacToe,
            a,
            Contestant::Baseline(PlayerSpec::Random),
            &cfg,
            &mut |_, _| {},
            &|| false,
        )
        .unwrap();
        assert_eq!(r.games, 16);
        assert!(r.score() > 0.6, "{algorithm:?}: {:?} against random", r);
        let mean = eval.positions as f64 / eval.batches as f64;
        assert!(mean > 20.0, "{algorithm:?}: mean batch {mean}");
    }
}
