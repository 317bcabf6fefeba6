//! Symmetry averaging: evaluate each position in several symmetric images and
//! average the results (test-time augmentation).
//!
//! A network is not exactly equivariant: it can judge a position and its mirror
//! image differently, and where one of the two judgements is wrong the average
//! is usually less wrong. [`SymmetryAverage`] wraps any evaluator; for each
//! position of a batch it evaluates the images under the game's first `k`
//! symmetries in one larger batch and hands back the mean value and the mean
//! policy (each image's policy mapped back to the position's own actions). The
//! result is exactly equivariant under those symmetries when they form a group
//! (as identity + mirror does for Connect Four).

use std::collections::VecDeque;

use super::{Batch, EvalStats, Evaluator};
use crate::error::{Error, Result};
use crate::game::Game;

/// An evaluator that averages `inner`'s results over the first `k` symmetries
/// of the game. `k = 1` passes batches straight through.
pub struct SymmetryAverage<G: Game, E: Evaluator> {
    game: G,
    inner: E,
    k: usize,
    /// Batches submitted by the caller, waiting for their expanded images.
    pending: VecDeque<Batch>,
    /// Expanded batches handed back by `inner`, kept for reuse.
    spare: Vec<Batch>,
    next_id: u64,
}

impl<G: Game, E: Evaluator> SymmetryAverage<G, E> {
    /// Averages over the first `k` of the game's symmetries (`1..=num_symmetries()`).
    pub fn new(game: G, inner: E, k: usize) -> Result<Self> {
        let n = game.num_symmetries();
        if k == 0 || k > n {
            return Err(Error::Config(format!(
                "symmetries to average: {k}, but {} has 1..={n}",
                game.name()
            )));
        }
        Ok(SymmetryAverage {
            game,
            inner,
            k,
            pending: VecDeque::new(),
            spare: Vec::new(),
            next_id: 0,
        })
    }

    /// Symmetries averaged over.
    pub fn symmetries(&self) -> usize {
        self.k
    }

    /// Writes the images of `batch`'s positions into a batch of `k * len`
    /// positions: image `sym` of position `i` at slot `i * k + sym`.
    fn expand(&mut self, batch: &Batch) -> Result<Batch> {
        let mut out = self.spare.pop().unwrap_or_else(|| {
            Batch::with_shape(batch.words(), batch.actions(), batch.len() * self.k)
        });
        out.clear();
        out.id = self.next_id;
        self.next_id += 1;
        for i in 0..batch.len() {
            let s = self.game.unpack(batch.state(i))?;
            for sym in 0..self.k {
                let image = if sym == 0 {
                    s.clone()
                } else {
                    self.game.symmetry_state(sym, &s)
                };
                out.push(&self.game, &image);
            }
        }
        Ok(out)
    }

    /// Fills `batch`'s results with the means over the images in `expanded`.
    fn average(&self, batch: &mut Batch, expanded: &Batch) {
        let (k, a) = (self.k, batch.actions());
        batch.prepare_results();
        let scale = 1.0 / k as f32;
        for i in 0..batch.len() {
            let mut v = 0.0;
            for sym in 0..k {
                let slot = i * k + sym;
                v += expanded.value[slot];
                let row = expanded.policy_row(slot);
                let out = &mut batch.policy[i * a..(i + 1) * a];
                for (action, p) in out.iter_mut().enumerate() {
                    *p += row[self.game.symmetry_action(sym, action)] * scale;
                }
            }
            batch.value[i] = v * scale;
        }
    }
}

impl<G: Game, E: Evaluator> Evaluator for SymmetryAverage<G, E> {
    fn submit(&mut self, batch: Batch) -> Result<()> {
        if self.k == 1 {
            return self.inner.submit(batch);
        }
        let expanded = self.expand(&batch)?;
        self.inner.submit(expanded)?;
        self.pending.push_back(batch);
        Ok(())
    }

    fn collect(&mut self) -> Result<Batch> {
        if self.k == 1 {
            return self.inner.collect();
        }
        let expanded = self.inner.collect()?;
        let mut batch = self
            .pending
            .pop_front()
            .ok_or_else(|| Error::Evaluator("collect() with nothing in flight".into()))?;
        self.average(&mut batch, &expanded);
        self.spare.push(expanded);
        batch.check_results()?;
        Ok(batch)
    }

    fn in_flight(&self) -> usize {
        self.inner.in_flight()
    }

    fn max_in_flight(&self) -> usize {
        self.inner.max_in_flight()
    }

    /// The inner evaluator's counters: positions count every image.
    fn stats(&self) -> EvalStats {
        self.inner.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::{Connect4, Gomoku};

    /// A deliberately non-equivariant evaluator: value and policy depend on
    /// where the stones are, not only on their pattern.
    struct Lopsided;

    impl Lopsided {
        fn fill(batch: &mut Batch) {
            batch.prepare_results();
            let a = batch.actions();
            for i in 0..batch.len() {
                let words = batch.state(i).to_vec();
                let h = words.iter().enumerate().fold(0u64, |h, (j, &w)| {
                    h ^ crate::game::mix64(w as u64 + j as u64 * 977)
                });
                batch.value[i] = (h % 1000) as f32 / 500.0 - 1.0;
                let legal = batch.legal_mask(i).to_vec();
                let row = &mut batch.policy[i * a..(i + 1) * a];
                let mut sum = 0.0;
                for (j, p) in row.iter_mut().enumerate() {
                    if legal[j] != 0 {
                        *p = 1.0 + ((h >> (j % 60)) & 7) as f32 + j as f32;
                        sum += *p;
                    }
                }
                row.iter_mut().for_each(|p| *p /= sum);
            }
        }
    }

    /// The test evaluator: `Lopsided` behind the submit / collect queue.
    #[derive(Default)]
    struct Queued(VecDeque<Batch>);

    impl Evaluator for Queued {
        fn submit(&mut self, mut batch: Batch) -> Result<()> {
            Lopsided::fill(&mut batch);
            self.0.push_back(batch);
            Ok(())
        }
        fn collect(&mut self) -> Result<Batch> {
            self.0
                .pop_front()
                .ok_or_else(|| Error::Evaluator("nothing in flight".into()))
        }
        fn in_flight(&self) -> usize {
            self.0.len()
        }
    }

    fn positions<G: Game>(game: &G, lines: &[&str]) -> Vec<G::State> {
        lines
            .iter()
            .map(|l| game.parse_position(l).expect("position"))
            .collect()
    }

    /// Averaging over the whole symmetry group makes the evaluator equivariant:
    /// the mirror image of a position gets the same value and the mirrored policy.
    #[test]
    fn averaged_results_are_equivariant() {
        let game = Connect4;
        let states = positions(&game, &["", "1", "4453", "1122335", "7766553"]);
        let mut eval = SymmetryAverage::new(game, Queued::default(), 2).unwrap();
        let mut raw = Queued::default();
        for s in &states {
            let mirror = game.symmetry_state(1, s);
            let (mut b, mut m) = (Batch::new(&game, 1), Batch::new(&game, 1));
            b.push(&game, s);
            m.push(&game, &mirror);
            let b = eval.evaluate(b).unwrap();
            let m = eval.evaluate(m).unwrap();
            assert!((b.value[0] - m.value[0]).abs() < 1e-6);
            for a in 0..game.num_actions() {
                let mirrored = m.policy_row(0)[game.symmetry_action(1, a)];
                assert!((b.policy_row(0)[a] - mirrored).abs() < 1e-6);
            }
            assert!((b.policy_row(0).iter().sum::<f32>() - 1.0).abs() < 1e-5);
            // The raw evaluator is not equivariant, so the test has teeth.
            let (mut rb, mut rm) = (Batch::new(&game, 1), Batch::new(&game, 1));
            rb.push(&game, s);
            rm.push(&game, &mirror);
            let (rb, rm) = (raw.evaluate(rb).unwrap(), raw.evaluate(rm).unwrap());
            if game.moves_played(s) > 0 {
                assert!((rb.value[0] - rm.value[0]).abs() > 1e-6);
            }
        }
    }

    /// The averaged value and policy are the plain means of the images'.
    #[test]
    fn results_are_means_of_the_images() {
        let game = Connect4;
        let states = positions(&game, &["2", "4453", "113"]);
        let mut batch = Batch::new(&game, states.len());
        states.iter().for_each(|s| {
            batch.push(&game, s);
        });
        let mut eval = SymmetryAverage::new(game, Queued::default(), 2).unwrap();
        // Drive the two halves by hand.
        let expanded = Queued::default()
            .evaluate(eval.expand(&batch).unwrap())
            .unwrap();
        eval.average(&mut batch, &expanded);
        for (i, s) in states.iter().enumerate() {
            let mut one = Batch::new(&game, 2);
            one.push(&game, s);
            one.push(&game, &game.symmetry_state(1, s));
            let one = Queued::default().evaluate(one).unwrap();
            let v = (one.value[0] + one.value[1]) / 2.0;
            assert!((batch.value[i] - v).abs() < 1e-6);
            for a in 0..game.num_actions() {
                let p =
                    (one.policy_row(0)[a] + one.policy_row(1)[game.symmetry_action(1, a)]) / 2.0;
                assert!((batch.policy_row(i)[a] - p).abs() < 1e-6);
            }
        }
    }

    /// Two batches in flight come back in order, each with its own results.
    #[test]
    fn keeps_fifo_order_with_two_in_flight() {
        let game = Connect4;
        let states = positions(&game, &["1", "77"]);
        let mut eval = SymmetryAverage::new(game, Queued::default(), 2).unwrap();
        for (id, s) in states.iter().enumerate() {
            let mut b = Batch::new(&game, 1);
            b.id = id as u64;
            b.push(&game, s);
            eval.submit(b).unwrap();
        }
        assert_eq!(eval.in_flight(), 2);
        for (id, s) in states.iter().enumerate() {
            let b = eval.collect().unwrap();
            assert_eq!(b.id, id as u64);
            let mut single = Batch::new(&game, 1);
            single.push(&game, s);
            let mut fresh = SymmetryAverage::new(game, Queued::default(), 2).unwrap();
            let single = fresh.evaluate(single).unwrap();
            assert_eq!(b.value, single.value);
            assert_eq!(b.policy, single.policy);
        }
        assert!(eval.collect().is_err());
    }

    /// Gomoku's rotations are not their own inverses, so this checks that
    /// each image's policy is mapped back in the right direction.
    #[test]
    fn averaging_over_all_eight_gomoku_symmetries_is_equivariant() {
        let game = Gomoku::new(7).unwrap();
        let mut s = game.initial();
        for a in [0, 9, 15, 30] {
            game.apply(&mut s, a);
        }
        let mut eval = SymmetryAverage::new(game, Queued::default(), 8).unwrap();
        let mut b = Batch::new(&game, 1);
        b.push(&game, &s);
        let b = eval.evaluate(b).unwrap();
        for sym in 1..8 {
            let mut m = Batch::new(&game, 1);
            m.push(&game, &game.symmetry_state(sym, &s));
            let m = eval.evaluate(m).unwrap();
            assert!((b.value[0] - m.value[0]).abs() < 1e-6, "symmetry {sym}");
            for a in 0..game.num_actions() {
                let mapped = m.policy_row(0)[game.symmetry_action(sym, a)];
                assert!(
                    (b.policy_row(0)[a] - mapped).abs() < 1e-6,
                    "symmetry {sym} action {a}"
                );
            }
        }
    }

    #[test]
    fn k_must_be_within_the_games_symmetries() {
        assert!(SymmetryAverage::new(Connect4, Queued::default(), 0).is_err());
        assert!(SymmetryAverage::new(Connect4, Queued::default(), 3).is_err());
        let eval = SymmetryAverage::new(Gomoku::new(9).unwrap(), Queued::default(), 8).unwrap();
        assert_eq!(eval.symmetries(), 8);
    }
}
