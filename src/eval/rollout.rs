//! The rollout evaluator: classic Monte Carlo evaluation by random playouts.

use std::collections::VecDeque;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{uniform_policy, Batch, Evaluator};
use crate::error::{Error, Result};
use crate::game::Game;

/// Uniform prior, and as value the mean result of random playouts to the end
/// of the game (from the side to move at the leaf).
pub struct Rollout<G: Game> {
    game: G,
    rng: ChaCha8Rng,
    playouts: u32,
    done: VecDeque<Batch>,
    actions: Vec<usize>,
}

impl<G: Game> Rollout<G> {
    /// `playouts` random games per position (at least 1), seeded.
    pub fn new(game: G, playouts: u32, seed: u64) -> Self {
        Rollout {
            game,
            rng: ChaCha8Rng::seed_from_u64(seed),
            playouts: playouts.max(1),
            done: VecDeque::new(),
            actions: Vec::new(),
        }
    }

    /// Result of one random game from `s`, for the side to move at `s`.
    fn playout(&mut self, s: &G::State) -> f32 {
        let mut s = s.clone();
        let mut sign = 1.0;
        loop {
            if let Some(v) = self.game.terminal_value(&s) {
                return sign * v;
            }
            self.game.legal_actions(&s, &mut self.actions);
            let a = self.actions[self.rng.random_range(0..self.actions.len())];
            self.game.apply(&mut s, a);
            sign = -sign;
        }
    }
}

impl<G: Game> Evaluator for Rollout<G> {
    fn submit(&mut self, mut batch: Batch) -> Result<()> {
        batch.prepare_results();
        let actions = batch.actions();
        for i in 0..batch.len() {
            let s = self.game.unpack(batch.state(i))?;
            let total: f32 = (0..self.playouts).map(|_| self.playout(&s)).sum();
            batch.value[i] = total / self.playouts as f32;
            let (legal, policy) = (&batch.legal, &mut batch.policy);
            uniform_policy(
                &legal[i * actions..(i + 1) * actions],
                &mut policy[i * actions..(i + 1) * actions],
            );
        }
        self.done.push_back(batch);
        Ok(())
    }
    fn collect(&mut self) -> Result<Batch> {
        self.done
            .pop_front()
            .ok_or_else(|| Error::Evaluator("collect() with no batch in flight".into()))
    }
    fn in_flight(&self) -> usize {
        self.done.len()
    }
}
