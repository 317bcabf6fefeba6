//! Search settings: a plain struct with documented defaults, serialised as JSON
//! beside checkpoints and read from config files.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How the root chooses where to spend simulations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// AlphaZero PUCT everywhere, Dirichlet noise at the root, move chosen from
    /// visit counts with a temperature schedule.
    Puct,
    /// Gumbel MuZero (Danihelka et al., ICLR 2022): sequential halving with
    /// Gumbel noise over the top-m root actions, deterministic improved-policy
    /// selection below the root, completed Q-values for the policy target.
    Gumbel,
    /// Fixed-width minimax over the network's top-k moves per depth
    /// (`widths`), expanded level by level: one request per depth
    /// ([`crate::minimax`]).
    Minimax,
    /// Best-first (unbounded) minimax in the Descent style: each expansion
    /// evaluates a leaf's children in one request; exact values propagated
    /// ([`crate::minimax`]).
    Descent,
}

impl Algorithm {
    /// Whether the search is one of [`crate::minimax`]'s.
    pub fn is_minimax(self) -> bool {
        matches!(self, Algorithm::Minimax | Algorithm::Descent)
    }
}

/// Every search parameter. `Default` gives settings for playing (no noise,
/// strongest move); [`SearchConfig::selfplay`] adds exploration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchConfig {
    /// Root algorithm. Default: `puct`.
    pub algorithm: Algorithm,
    /// Simulations per move (not counting the root's own evaluation); for
    /// the minimax searches, the budget of network evaluations. Default: 400.
    pub simulations: u32,
    /// Minimax: moves looked at per depth, from the root down (e.g.
    /// `[5, 3, 3]`: 1 + 5 + 15 + 45 evaluations); 0 = every legal move.
    /// Empty: every legal move at every depth, deepening until the budget
    /// is spent. Default: empty.
    pub widths: Vec<usize>,
    /// Descent: children evaluated per expansion, the most likely first;
    /// 0 = every legal move. Default: 0.
    pub expand_width: usize,
    /// Minimax and Descent: weight of a node's own network value in its
    /// backed-up value, `(1 - w) x best child + w x own` (exact values are
    /// never mixed): damps the errors of deep network values. Default: 0.
    pub value_blend: f32,
    /// Minimax and Descent: the deepest level searched, in moves below the
    /// root (a Gomocup manager's `max_depth`); 0: no limit. MCTS ignores
    /// it. Default: 0.
    pub max_depth: u32,
    /// Most leaves one search hands out per batch; virtual loss spreads them
    /// over the tree. Default: 8.
    pub leaves_per_gather: usize,
    /// PUCT exploration constant. Default: 1.5.
    pub c_puct: f32,
    /// First-play urgency: unvisited children are valued at the parent's mean
    /// value minus this. Default: 0.25.
    pub fpu_reduction: f32,
    /// Dirichlet noise concentration at the root (PUCT only). Default: 0.3.
    pub dirichlet_alpha: f32,
    /// Share of Dirichlet noise mixed into the root priors; 0 disables. Default: 0.
    pub dirichlet_epsilon: f32,
    /// Moves played in the game below which the move is sampled with
    /// `temperature`: from visit counts (PUCT) or from the improved policy
    /// (Gumbel); after that the search's own choice is played (PUCT: most
    /// visited; Gumbel: sequential halving's winner). Default: 0 (never sample).
    pub temperature_moves: u32,
    /// Sampling temperature for the first `temperature_moves` moves. Default: 1.0.
    pub temperature: f32,
    /// Gumbel: number of root actions considered (capped by the legal actions). Default: 16.
    pub gumbel_m: usize,
    /// Gumbel: `c_visit` of the Q transform sigma. Default: 50.
    pub gumbel_c_visit: f32,
    /// Gumbel: `c_scale` of the Q transform sigma. Default: 0.1.
    pub gumbel_c_scale: f32,
    /// Keep the chosen child's subtree after a move. Default: true.
    pub reuse_tree: bool,
    /// Most nodes in the tree. When a new leaf's children do not fit, the leaf's
    /// value is still backed up and the search stops early
    /// ([`super::SearchStats::budget_hit`]). Default: 1,000,000.
    pub node_budget: usize,
    /// Cache evaluations by position hash within a game, so transpositions are
    /// not evaluated twice. Default: false.
    pub eval_cache: bool,
    /// Most cached positions; the cache is emptied when full. Default: 100,000.
    pub eval_cache_capacity: usize,
    /// PUCT only, for self-play: KataGo's forced playouts and policy target
    /// pruning with this `k` (KataGo: 2; 0: off). Each root child `c` gets
    /// at least `sqrt(k P(c) N)` visits (`N` the root's), so moves that the
    /// noise makes likely are tried; the policy target then takes back the
    /// visits a child got only by being forced (as many as keep its PUCT
    /// score below the most visited child's) and drops children left with
    /// one visit. The move played is still the most visited. Default: 0.
    pub forced_playouts: f32,
    /// KataGo's score utility ([`crate::eval::ScoreUtility`]): the weight
    /// of the final margin in the values the search backs up (Go; PUCT and
    /// Gumbel). Finished games are valued the same way from their counted
    /// margin; the network's values must be blended by the same weight
    /// (the commands that open a network for a search do it). Default: 0.
    pub score_utility: f32,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            algorithm: Algorithm::Puct,
            simulations: 400,
            widths: Vec::new(),
            expand_width: 0,
            value_blend: 0.0,
            max_depth: 0,
            leaves_per_gather: 8,
            c_puct: 1.5,
            fpu_reduction: 0.25,
            dirichlet_alpha: 0.3,
            dirichlet_epsilon: 0.0,
            temperature_moves: 0,
            temperature: 1.0,
            gumbel_m: 16,
            gumbel_c_visit: 50.0,
            gumbel_c_scale: 0.1,
            reuse_tree: true,
            node_budget: 1_000_000,
            eval_cache: false,
            eval_cache_capacity: 100_000,
            forced_playouts: 0.0,
            score_utility: 0.0,
        }
    }
}

impl SearchConfig {
    /// Self-play defaults: Dirichlet noise (epsilon 0.25) and temperature 1 for the first 8 moves.
    pub fn selfplay() -> Self {
        SearchConfig {
            dirichlet_epsilon: 0.25,
            temperature_moves: 8,
            ..Self::default()
        }
    }

    /// The same settings tuned for rollout evaluation (uniform priors):
    /// uniform priors spread exploration thinly over many children, so a
    /// larger `c_puct` (3) than for a trained network and no first-play
    /// reduction keep the search UCT-like.
    pub fn for_rollouts(self) -> Self {
        SearchConfig {
            c_puct: 3.0,
            fpu_reduction: 0.0,
            ..self
        }
    }

    /// Checks every field's range; `num_actions` is the game's action count.
    pub fn validate(&self, num_actions: usize) -> Result<()> {
        let fail = |msg: String| Err(Error::Config(msg));
        if self.leaves_per_gather == 0 {
            return fail("leaves_per_gather must be at least 1".into());
        }
        if !(self.c_puct.is_finite() && self.c_puct > 0.0) {
            return fail(format!("c_puct is {} (must be positive)", self.c_puct));
        }
        if !self.fpu_reduction.is_finite() {
            return fail("fpu_reduction must be finite".into());
        }
        if !(self.dirichlet_alpha > 0.0 && self.dirichlet_alpha.is_finite()) {
            return fail(format!(
                "dirichlet_alpha is {} (must be positive)",
                self.dirichlet_alpha
            ));
        }
        if !(0.0..=1.0).contains(&self.dirichlet_epsilon) {
            return fail(format!(
                "dirichlet_epsilon is {} (must be in [0, 1])",
                self.dirichlet_epsilon
            ));
        }
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return fail(format!(
                "temperature is {} (must be >= 0)",
                self.temperature
            ));
        }
        if !(0.0..=1.0).contains(&self.value_blend) {
            return fail(format!(
                "value_blend is {} (must be in [0, 1])",
                self.value_blend
            ));
        }
        if self.gumbel_m == 0 {
            return fail("gumbel_m must be at least 1".into());
        }
        if !(self.forced_playouts.is_finite() && self.forced_playouts >= 0.0) {
            return fail(format!(
                "forced_playouts is {} (must be >= 0)",
                self.forced_playouts
            ));
        }
        if !(self.score_utility.is_finite() && self.score_utility >= 0.0) {
            return fail(format!(
                "score_utility is {} (must be >= 0)",
                self.score_utility
            ));
        }
        if self.score_utility > 0.0 && self.algorithm.is_minimax() {
            return fail("score_utility applies to the puct and gumbel searches only".into());
        }
        if !(self.gumbel_c_visit >= 0.0 && self.gumbel_c_scale > 0.0) {
            return fail("gumbel_c_visit must be >= 0 and gumbel_c_scale > 0".into());
        }
        if self.node_budget < 2 * num_actions + 1 {
            return fail(format!(
                "node_budget {} is too small: the game has {num_actions} actions, so at least {} nodes are needed",
                self.node_budget,
                2 * num_actions + 1
            ));
        }
        Ok(())
    }
}
