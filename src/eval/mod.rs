//! The evaluator interface: how a search asks for policy/value evaluations.
//!
//! Batch-first: a [`Batch`] holds the leaf positions of any number of searches
//! (and games) in packed form, an [`Evaluator`] evaluates whole batches, and the
//! submit / collect split lets a caller keep two batches in flight: fill one
//! while the other is being evaluated (double buffering). Batches are passed by
//! value, so the two buffers simply circulate between the caller and the
//! evaluator and no memory is allocated in steady state.

mod rollout;
mod symmetry;
mod uniform;

pub use rollout::Rollout;
pub use symmetry::SymmetryAverage;
pub use uniform::Uniform;

/// What a network with auxiliary heads expects of a position's end (Go):
/// every cell's final owner for the side to move, in [-1, 1] (+1 theirs),
/// row by row from the top left, and the side to move's final margin in
/// points.
#[derive(Clone, Debug, PartialEq)]
pub struct FinalView {
    pub ownership: Vec<f32>,
    pub score: f32,
}

use crate::error::{Error, Result};
use crate::game::Game;

/// KataGo's score utility (Wu 2019, section 4.2) with a fixed centre: a
/// network value becomes `(v + factor * 2/pi * atan(score / scale)) /
/// (1 + factor)`, where `v` is the value head's win/loss view and `score`
/// the score head's expected final margin for the side to move, in points.
/// The search then prefers, among moves that win (or lose) alike, those
/// that win by more (lose by less). The division keeps values in `[-1, 1]`,
/// the range the searches' constants are tuned for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreUtility {
    /// Weight of the score term (0 = off).
    pub factor: f32,
    /// Points at which the score term reaches half its weight.
    pub scale: f32,
    /// Cells of the board (the score head predicts the margin per cell).
    pub cells: f32,
}

impl ScoreUtility {
    /// The utility for a board of `cells` points with KataGo's scale: 20
    /// points on 19x19, proportional to the board's side (9.5 on 9x9).
    /// `None` for factor 0; an error for a negative or non-finite one, and
    /// for a game without a board to count (`cells` 0).
    pub fn for_board(factor: f32, cells: usize) -> Result<Option<Self>> {
        if !factor.is_finite() || factor < 0.0 {
            return Err(Error::Config(format!(
                "the score utility's factor must be 0 or more, not {factor}"
            )));
        }
        if factor == 0.0 {
            return Ok(None);
        }
        if cells == 0 {
            return Err(Error::Config(
                "a score utility needs a game scored by counting (Go)".into(),
            ));
        }
        let cells = cells as f32;
        Ok(Some(ScoreUtility {
            factor,
            scale: 20.0 * cells.sqrt() / 19.0,
            cells,
        }))
    }

    /// The utility of a position whose value head says `value` and whose
    /// score head says `score_per_cell` (the margin divided by the cells).
    pub fn blend(&self, value: f32, score_per_cell: f32) -> f32 {
        let points = score_per_cell * self.cells;
        let score = std::f32::consts::FRAC_2_PI * (points / self.scale).atan();
        (value + self.factor * score) / (1.0 + self.factor)
    }
}

/// A batch of leaf positions and, once evaluated, their results.
///
/// Shapes (`N = len()`, `W = words()`, `A = actions()`):
/// - `states`: `[N, W]` packed states ([`Game::pack`]);
/// - `legal`: `[N, A]` 1 for a legal action, else 0;
/// - `policy`: `[N, A]` prior probabilities, 0 on illegal actions, each row summing to 1;
/// - `value`: `[N, V]` values, `V = values()`: for two-player games `V = 1`,
///   the value for the side to move at the leaf; for many-player games one
///   value per seat counted from the player to move (seat 0). In `[-1, 1]`.
#[derive(Clone, Debug)]
pub struct Batch {
    /// Identifies the batch while it is in flight; set by the caller.
    pub id: u64,
    words: usize,
    actions: usize,
    values: usize,
    /// `[N, W]` packed states.
    pub states: Vec<u32>,
    /// `[N, A]` legal-action masks.
    pub legal: Vec<u8>,
    /// `[N, A]` policies, filled by the evaluator.
    pub policy: Vec<f32>,
    /// `[N, V]` values, filled by the evaluator.
    pub value: Vec<f32>,
}

impl Default for Batch {
    fn default() -> Self {
        Batch::with_shape(0, 0, 0)
    }
}

impl Batch {
    /// An empty batch for positions of `game`, with room for `capacity` positions.
    pub fn new<G: Game>(game: &G, capacity: usize) -> Self {
        Self::with_shape(game.packed_words(), game.num_actions(), capacity)
    }

    /// An empty batch with `words` packed words and `actions` actions per position.
    pub fn with_shape(words: usize, actions: usize, capacity: usize) -> Self {
        Self::with_values(words, actions, 1, capacity)
    }

    /// An empty batch with `values` values per position (the players of a
    /// many-player game).
    pub fn with_values(words: usize, actions: usize, values: usize, capacity: usize) -> Self {
        Batch {
            id: 0,
            words,
            actions,
            values,
            states: Vec::with_capacity(capacity * words),
            legal: Vec::with_capacity(capacity * actions),
            policy: Vec::with_capacity(capacity * actions),
            value: Vec::with_capacity(capacity * values),
        }
    }

    /// Number of positions.
    pub fn len(&self) -> usize {
        self.states.len() / self.words.max(1)
    }
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }
    /// Packed words per position.
    pub fn words(&self) -> usize {
        self.words
    }
    /// Actions per position.
    pub fn actions(&self) -> usize {
        self.actions
    }
    /// Values per position.
    pub fn values(&self) -> usize {
        self.values
    }
    /// Values of slot `i` (after evaluation).
    pub fn value_row(&self, i: usize) -> &[f32] {
        &self.value[i * self.values..(i + 1) * self.values]
    }

    /// Appends a position given by its packed words and legal mask, written
    /// by `fill` into the new slot; returns the slot index.
    pub fn push_with(&mut self, fill: impl FnOnce(&mut [u32], &mut [u8])) -> usize {
        let slot = self.len();
        let (w, a) = (self.states.len(), self.legal.len());
        self.states.resize(w + self.words, 0);
        self.legal.resize(a + self.actions, 0);
        fill(&mut self.states[w..], &mut self.legal[a..]);
        slot
    }

    /// Empties the batch, keeping its memory.
    pub fn clear(&mut self) {
        self.states.clear();
        self.legal.clear();
        self.policy.clear();
        self.value.clear();
    }

    /// Appends a position; returns its slot index.
    pub fn push<G: Game>(&mut self, game: &G, s: &G::State) -> usize {
        debug_assert_eq!(game.packed_words(), self.words);
        let slot = self.len();
        let at = self.states.len();
        self.states.resize(at + self.words, 0);
        game.pack(s, &mut self.states[at..]);
        let at = self.legal.len();
        self.legal.resize(at + self.actions, 0);
        game.legal_mask(s, &mut self.legal[at..]);
        slot
    }

    /// Appends `local`'s positions (a share of a batch gathered by one
    /// search); returns the slot index of the first, for
    /// [`Batch::copy_results_from`].
    pub fn append(&mut self, local: &Batch) -> usize {
        let offset = self.len();
        self.states.extend_from_slice(&local.states);
        self.legal.extend_from_slice(&local.legal);
        offset
    }

    /// Fills this batch's results from slots `offset..offset + self.len()`
    /// of the evaluated `batch` it was appended to.
    pub fn copy_results_from(&mut self, batch: &Batch, offset: usize) {
        let (n, a) = (self.len(), self.actions);
        self.policy.clear();
        self.policy
            .extend_from_slice(&batch.policy[offset * a..(offset + n) * a]);
        let v = self.values;
        self.value.clear();
        self.value
            .extend_from_slice(&batch.value[offset * v..(offset + n) * v]);
    }

    /// Packed state of slot `i`.
    pub fn state(&self, i: usize) -> &[u32] {
        &self.states[i * self.words..(i + 1) * self.words]
    }
    /// Legal mask of slot `i`.
    pub fn legal_mask(&self, i: usize) -> &[u8] {
        &self.legal[i * self.actions..(i + 1) * self.actions]
    }
    /// Policy of slot `i` (after evaluation).
    pub fn policy_row(&self, i: usize) -> &[f32] {
        &self.policy[i * self.actions..(i + 1) * self.actions]
    }

    /// The results of slot `i`: its value (the first of its values), its
    /// policy and its legal mask; an error where the evaluator left no
    /// result there (a search checks what comes back before using it).
    pub fn result_row(&self, i: usize) -> Result<(f32, &[f32], &[u8])> {
        let n = self.len();
        if i >= n || self.value.len() != n * self.values || self.policy.len() != n * self.actions {
            return Err(Error::Evaluator(format!(
                "batch {} has no result for slot {i}",
                self.id
            )));
        }
        Ok((
            self.value[i * self.values],
            self.policy_row(i),
            self.legal_mask(i),
        ))
    }

    /// Sizes the result arrays for the current positions (evaluators call this).
    pub fn prepare_results(&mut self) {
        let n = self.len();
        self.policy.clear();
        self.policy.resize(n * self.actions, 0.0);
        self.value.clear();
        self.value.resize(n * self.values, 0.0);
    }

    /// Checks that the results have the documented shapes and are finite
    /// (evaluators call this before handing a batch back).
    pub fn check_results(&self) -> Result<()> {
        let n = self.len();
        if self.policy.len() != n * self.actions || self.value.len() != n * self.values {
            return Err(Error::Evaluator(format!(
                "result shapes policy {} / value {} for {n} positions of {} actions",
                self.policy.len(),
                self.value.len(),
                self.actions
            )));
        }
        if self
            .policy
            .iter()
            .chain(&self.value)
            .any(|x| !x.is_finite())
        {
            return Err(Error::Evaluator("non-finite policy or value".into()));
        }
        Ok(())
    }
}

/// Evaluates batches of leaf positions: a policy over the action space and a
/// value for each.
///
/// Batches are evaluated in FIFO order: [`Evaluator::submit`] starts work on a
/// batch (an asynchronous evaluator returns at once), [`Evaluator::collect`]
/// waits for the oldest submitted batch and hands it back with `policy` and
/// `value` filled. Up to [`Evaluator::max_in_flight`] batches may be submitted
/// before one is collected.
pub trait Evaluator: Send {
    /// Starts evaluating `batch`.
    fn submit(&mut self, batch: Batch) -> Result<()>;

    /// Returns the oldest submitted batch, evaluated.
    fn collect(&mut self) -> Result<Batch>;

    /// Batches submitted and not yet collected.
    fn in_flight(&self) -> usize;

    /// How many batches may be in flight at once.
    fn max_in_flight(&self) -> usize {
        2
    }

    /// What the evaluator measured so far (network evaluators fill it in).
    fn stats(&self) -> EvalStats {
        EvalStats::default()
    }

    /// Submits `batch` and waits for it. Only valid with nothing else in flight.
    fn evaluate(&mut self, batch: Batch) -> Result<Batch> {
        if self.in_flight() != 0 {
            return Err(Error::Evaluator(
                "evaluate() called with other batches in flight".into(),
            ));
        }
        self.submit(batch)?;
        self.collect()
    }
}

/// Counters of an evaluator.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct EvalStats {
    /// Batches evaluated.
    pub batches: u64,
    /// Positions evaluated.
    pub positions: u64,
    /// Seconds the device had a batch to work on (encode, forward, readback).
    pub busy_seconds: f64,
}

/// Writes the uniform distribution over the legal actions of `mask` into `out`.
pub(crate) fn uniform_policy(mask: &[u8], out: &mut [f32]) {
    let n = mask.iter().filter(|&&m| m != 0).count().max(1) as f32;
    for (p, &m) in out.iter_mut().zip(mask) {
        *p = if m != 0 { 1.0 / n } else { 0.0 };
    }
}

/// A batch of `n` random non-terminal positions of `game` (up to 19 random
/// moves from the start), seeded: benchmark and parity-test input (the
/// native benchmark and the browser's use the same positions).
pub fn random_batch<G: Game>(game: &G, n: usize, seed: u64) -> Batch {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut batch = Batch::new(game, n);
    let mut actions = Vec::new();
    while batch.len() < n {
        let mut s = game.initial();
        for _ in 0..rng.random_range(0..game.num_actions().min(20)) {
            game.legal_actions(&s, &mut actions);
            if actions.is_empty() {
                break;
            }
            game.apply(&mut s, actions[rng.random_range(0..actions.len())]);
        }
        if game.terminal_value(&s).is_none() {
            batch.push(game, &s);
        }
    }
    batch
}
