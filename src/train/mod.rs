//! Training: the replay buffer of self-play positions and their targets, and
//! the closed loop. The optimisation step itself lives with the network, in
//! [`crate::net::trainer`], the only place that sees burn; the loop drives it
//! through the `net` module's types.
//!
//! - [`run`]: the loop (a few lines per iteration), create or resume;
//! - [`steps`]: self-play, training and arena steps with typed outcomes;
//! - [`store`]: the run folder (state, checkpoints, game files, metrics);
//! - [`buffers`]: the replay buffer and held-out positions from game files;
//! - [`metrics`]: what each step measured;
//! - [`grow`]: more capacity for a run's network (`wgzero grow`);
//! - [`plot`]: SVG plots of the metrics.

pub mod buffers;
pub mod cards;
pub mod grow;
pub mod metrics;
pub mod plot;
pub mod run;
pub mod steps;
pub mod store;

use std::collections::{HashMap, VecDeque};

use rand::Rng;

use crate::error::{Error, Result};
use crate::game::Game;
use crate::selfplay::records::GameRecord;

pub use crate::net::trainer::TrainBatch;

/// One training position.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Packed position ([`Game::pack`]).
    pub packed: Vec<u32>,
    /// `[num_actions]` search policy target.
    pub policy: Vec<f32>,
    /// Game result for the side to move.
    pub value: f32,
    /// Auxiliary targets ([`Game::ownership_cells`] games whose record ends
    /// in a final position): every cell's final owner for the side to move,
    /// and its final margin over the cells. `None` otherwise.
    pub ownership: Option<(Vec<f32>, f32)>,
    /// The opponent's reply: the game's next move, if there was one.
    pub reply: Option<u16>,
}

/// The final ownership and margin ([`Game::final_ownership`]) of the
/// position a record ends in, from the first player's view; `None` when the
/// game has no such targets or the record stops before the end (a
/// resignation).
pub fn final_targets<G: Game>(game: &G, record: &GameRecord) -> Option<(Vec<f32>, f32)> {
    if game.ownership_cells() == 0 {
        return None;
    }
    let last = record.positions.last()?;
    let mut s = game.unpack(&last.packed).ok()?;
    let a = last.action as usize;
    if a >= game.num_actions() || !game.is_legal(&s, a) {
        return None;
    }
    game.apply(&mut s, a);
    game.terminal_value(&s)?;
    game.final_ownership(&s)
}

/// `targets` from the side to move's view (`to_move` 1 negates them).
fn targets_for(targets: &Option<(Vec<f32>, f32)>, to_move: u8) -> Option<(Vec<f32>, f32)> {
    targets.as_ref().map(|(own, score)| {
        if to_move == 0 {
            (own.clone(), *score)
        } else {
            (own.iter().map(|o| -o).collect(), -score)
        }
    })
}

/// Appends a sample's auxiliary targets to a batch, cells and the reply
/// mapped by `map` (the batch's board symmetry); zeros with a zero mask
/// where the sample has none.
fn push_aux(
    out: &mut TrainBatch,
    s: &Sample,
    cells: usize,
    actions: usize,
    map: impl Fn(usize) -> usize,
) {
    let at = out.ownership.len();
    out.ownership.resize(at + cells, 0.0);
    match &s.ownership {
        Some((own, score)) => {
            for (cell, &o) in own.iter().enumerate() {
                out.ownership[at + map(cell)] = o;
            }
            out.score.push(*score);
            out.ownership_mask.push(1.0);
        }
        None => {
            out.score.push(0.0);
            out.ownership_mask.push(0.0);
        }
    }
    let at = out.reply.len();
    out.reply.resize(at + actions, 0.0);
    match s.reply {
        Some(r) if (r as usize) < actions => {
            out.reply[at + map(r as usize)] = 1.0;
            out.reply_mask.push(1.0);
        }
        _ => out.reply_mask.push(0.0),
    }
}

/// The most recent `capacity` positions of self-play.
///
/// With [`ReplayBuffer::with_merging`] a position seen again while its first
/// sighting is in the buffer is merged into it instead of stored twice: the
/// targets become the mean over its sightings, and sampling draws it with
/// weight `1 + log2(sightings)` (AlphaZero.jl's position averaging), so
/// frequent positions (openings) get lower-variance targets without crowding
/// the window or the batches.
pub struct ReplayBuffer<G: Game> {
    game: G,
    capacity: usize,
    /// Weight of the search's root value in the value target.
    search_weight: f32,
    samples: VecDeque<Entry>,
    /// With merging: packed position -> sequence number of its entry.
    index: Option<HashMap<Vec<u32>, u64>>,
    /// Sequence number of `samples[0]`.
    first_seq: u64,
    /// Most sightings merged into one entry so far (for sampling weights).
    max_count: u32,
    /// Positions merged into an earlier entry so far.
    merged: u64,
}

/// A stored position and how many sightings its targets average.
struct Entry {
    sample: Sample,
    count: u32,
}

/// Sampling weight of an entry averaging `count` sightings.
fn merge_weight(count: u32) -> f64 {
    1.0 + (count.max(1) as f64).log2()
}

impl<G: Game> ReplayBuffer<G> {
    /// An empty buffer keeping at most `capacity` positions (at least 1).
    pub fn new(game: G, capacity: usize) -> Self {
        ReplayBuffer {
            game,
            capacity: capacity.max(1),
            search_weight: 0.0,
            samples: VecDeque::new(),
            index: None,
            first_seq: 0,
            max_count: 1,
            merged: 0,
        }
    }

    /// Merge repeated positions (see the type's documentation).
    pub fn with_merging(mut self, merge: bool) -> Self {
        self.index = merge.then(HashMap::new);
        self
    }

    /// Positions merged into an earlier sighting so far.
    pub fn merged(&self) -> u64 {
        self.merged
    }

    /// Value targets mix in the search's root value with weight `w` (clamped
    /// to [0, 1]): `(1 - w) x result + w x root value`. Default 0: results only.
    pub fn with_value_search_weight(mut self, w: f32) -> Self {
        self.search_weight = w.clamp(0.0, 1.0);
        self
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Adds every full-search position of a finished game (value target: the
    /// game's result for the side to move, mixed with the search's root value
    /// when [`ReplayBuffer::with_value_search_weight`] is set), dropping the oldest beyond
    /// capacity. Fast-search positions (playout-cap randomisation) are skipped.
    pub fn push_game(&mut self, record: &GameRecord) -> Result<()> {
        let finals = final_targets(&self.game, record);
        for (i, p) in record.positions.iter().enumerate() {
            if !p.full_search {
                continue;
            }
            if p.packed.len() != self.game.packed_words()
                || p.policy.len() != self.game.num_actions()
            {
                return Err(Error::Parse {
                    what: "game records",
                    input: format!("game {}", record.game_id),
                    reason: format!("positions are not {} positions", self.game.name()),
                });
            }
            let value = (1.0 - self.search_weight) * record.value_target(i)
                + self.search_weight * p.value.clamp(-1.0, 1.0);
            let sample = Sample {
                packed: p.packed.clone(),
                policy: p.policy.clone(),
                value,
                ownership: targets_for(&finals, p.to_move),
                reply: record.positions.get(i + 1).map(|next| next.action),
            };
            self.add(sample);
        }
        self.evict();
        Ok(())
    }

    /// Stores a position's targets, or merges them into its earlier entry
    /// (policy, value and ownership averaged; the first sighting's reply
    /// kept).
    fn add(&mut self, sample: Sample) {
        let seq = self.first_seq + self.samples.len() as u64;
        if let Some(index) = &mut self.index {
            if let Some(&at) = index.get(&sample.packed) {
                let e = &mut self.samples[(at - self.first_seq) as usize];
                let n = e.count as f32;
                for (t, &p) in e.sample.policy.iter_mut().zip(&sample.policy) {
                    *t = (*t * n + p) / (n + 1.0);
                }
                e.sample.value = (e.sample.value * n + sample.value) / (n + 1.0);
                match (&mut e.sample.ownership, sample.ownership) {
                    (Some((own, score)), Some((new_own, new_score))) => {
                        for (t, p) in own.iter_mut().zip(new_own) {
                            *t = (*t * n + p) / (n + 1.0);
                        }
                        *score = (*score * n + new_score) / (n + 1.0);
                    }
                    (slot @ None, new) => *slot = new,
                    (Some(_), None) => {}
                }
                e.count += 1;
                self.max_count = self.max_count.max(e.count);
                self.merged += 1;
                return;
            }
            index.insert(sample.packed.clone(), seq);
        }
        self.samples.push_back(Entry { sample, count: 1 });
    }

    /// Drops the oldest entries beyond capacity.
    fn evict(&mut self) {
        while self.samples.len() > self.capacity {
            let e = self.samples.pop_front().expect("over capacity");
            if let Some(index) = &mut self.index {
                if index.get(&e.sample.packed) == Some(&self.first_seq) {
                    index.remove(&e.sample.packed);
                }
            }
            self.first_seq += 1;
        }
    }

    /// An entry index drawn with probability proportional to its weight
    /// (uniform without merging), by rejection against the largest weight.
    fn draw<R: Rng>(&self, rng: &mut R) -> usize {
        let top = merge_weight(self.max_count);
        loop {
            let i = rng.random_range(0..self.samples.len());
            if self.index.is_none() || self.max_count == 1 {
                return i;
            }
            if rng.random::<f64>() * top < merge_weight(self.samples[i].count) {
                return i;
            }
        }
    }

    /// `n` positions drawn uniformly (with replacement), each under a random
    /// board symmetry when `augment` is set.
    pub fn sample<R: Rng>(&self, n: usize, augment: bool, rng: &mut R) -> Result<TrainBatch> {
        if self.samples.is_empty() {
            return Err(Error::Config("the replay buffer is empty".into()));
        }
        let (w, a) = (self.game.packed_words(), self.game.num_actions());
        let cells = self.game.ownership_cells();
        let mut out = TrainBatch {
            packed: Vec::with_capacity(n * w),
            policy: Vec::with_capacity(n * a),
            value: Vec::with_capacity(n),
            ..TrainBatch::default()
        };
        let mut words = vec![0u32; w];
        for _ in 0..n {
            let s = &self.samples[self.draw(rng)].sample;
            let sym = if augment {
                rng.random_range(0..self.game.num_symmetries())
            } else {
                0
            };
            if sym == 0 {
                out.packed.extend_from_slice(&s.packed);
                out.policy.extend_from_slice(&s.policy);
            } else {
                let state = self.game.unpack(&s.packed)?;
                self.game
                    .pack(&self.game.symmetry_state(sym, &state), &mut words);
                out.packed.extend_from_slice(&words);
                let at = out.policy.len();
                out.policy.resize(at + a, 0.0);
                for (action, &p) in s.policy.iter().enumerate() {
                    out.policy[at + self.game.symmetry_action(sym, action)] = p;
                }
            }
            out.value.push(s.value);
            if cells > 0 {
                push_aux(&mut out, s, cells, a, |x| self.game.symmetry_action(sym, x));
            }
        }
        Ok(out)
    }
}
