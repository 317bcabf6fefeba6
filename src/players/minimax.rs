//! Alpha-beta minimax to a fixed depth with a static heuristic.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{game_over, Heuristic, Player};
use crate::error::Result;

/// Scores are f64: terminal scores near 1e7 must still resolve 1e-3 differences.
const WIN: f64 = 1e7;

/// Negamax with alpha-beta pruning to `depth` plies. Terminal positions score
/// `±(WIN - ply)` (faster wins are preferred); equally good root moves are
/// chosen at random with the player's seed, so games vary.
pub struct Minimax<G: Heuristic> {
    game: G,
    depth: u32,
    rng: ChaCha8Rng,
    /// Positions visited in the last search.
    pub nodes: u64,
}

impl<G: Heuristic> Minimax<G> {
    pub fn new(game: G, depth: u32, seed: u64) -> Self {
        Minimax {
            game,
            depth: depth.max(1),
            rng: ChaCha8Rng::seed_from_u64(seed),
            nodes: 0,
        }
    }

    /// Score and best moves of `s` at the configured depth.
    pub fn analyse(&mut self, s: &G::State) -> (f64, Vec<usize>) {
        let mut moves = Vec::new();
        self.game.candidates(s, &mut moves);
        let mut best = f64::NEG_INFINITY;
        let mut best_moves = Vec::new();
        for &a in &moves {
            let mut child = s.clone();
            self.game.apply(&mut child, a);
            // A window just below the best keeps ties exact.
            let score = -self.negamax(&child, self.depth - 1, -WIN * 2.0, -(best - 1e-3), 1);
            if score > best + 1e-3 {
                best = score;
                best_moves.clear();
            }
            if score > best - 1e-3 {
                best_moves.push(a);
            }
        }
        (best, best_moves)
    }

    fn negamax(&mut self, s: &G::State, depth: u32, mut alpha: f64, beta: f64, ply: u32) -> f64 {
        self.nodes += 1;
        if let Some(v) = self.game.terminal_value(s) {
            return v as f64 * (WIN - ply as f64);
        }
        if depth == 0 {
            return self.game.heuristic(s) as f64;
        }
        let mut moves = Vec::new();
        self.game.candidates(s, &mut moves);
        let mut best = f64::NEG_INFINITY;
        for a in moves {
            let mut child = s.clone();
            self.game.apply(&mut child, a);
            let score = -self.negamax(&child, depth - 1, -beta, -alpha, ply + 1);
            best = best.max(score);
            alpha = alpha.max(score);
            if alpha >= beta {
                break;
            }
        }
        best
    }
}

impl<G: Heuristic> Player<G> for Minimax<G> {
    fn name(&self) -> String {
        format!("minimax:{}", self.depth)
    }
    fn choose(&mut self, state: &G::State) -> Result<usize> {
        self.nodes = 0;
        let (_, best) = self.analyse(state);
        if best.is_empty() {
            return Err(game_over());
        }
        Ok(best[self.rng.random_range(0..best.len())])
    }
}
