//! Determinized search (Perfect Information Monte Carlo, PIMC) for one
//! decision, batch-first.
//!
//! The player to move cannot see the other hands, so the search draws `D`
//! deals consistent with what they know ([`ImperfectGame::determinize`]) and
//! grows one perfect-information tree per deal, **all D trees at once**: a
//! call to [`PimcSearch::gather`] hands out leaves from every tree (spread by
//! virtual loss), into a [`Batch`] that may also hold other hands' leaves;
//! [`PimcSearch::absorb`] takes the results back. The decision sums each
//! action's root visits over the trees.
//!
//! Values are vectors, one per player: a leaf's evaluation (the network's
//! value head, seats counted from the leaf's player to move, or a random
//! rollout's scores) is backed up so that each edge adds the value of the
//! player who chose it (or, with [`PimcConfig::margin`], that value minus
//! the mean of the others').
//!
//! Leaves are evaluated either by the batch's evaluator (a network over the
//! leaf player's information state and the tree's deal, so that every
//! player's value is that of the deal searched, not of what the leaf's
//! player can see) or, with [`LeafEval::Rollout`], on the spot by random
//! play to the end (no network; the baseline search). Each tree's root is
//! evaluated in its own deal: the first of the tree's simulations.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{Actor, ImperfectGame};
use crate::error::{Error, Result};
use crate::eval::Batch;

/// How leaves are valued.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeafEval {
    /// By the evaluator of the batch (a network): priors and values.
    Network,
    /// By one random playout to the end, on the spot; uniform priors.
    Rollout,
}

/// Settings of the determinized search, with their defaults (the search
/// with a network; [`PimcConfig::rollouts`] without one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PimcConfig {
    /// Deals searched per decision (default 8).
    pub determinizations: usize,
    /// Simulations per decision, over all deals (default 200), rounded down
    /// to a multiple of the deals. With a network each is one evaluation at
    /// most (terminal leaves need none; each tree's first one evaluates its
    /// root): at most this many evaluations a decision.
    pub simulations: u32,
    /// How leaves are valued (default network).
    pub leaf: LeafEval,
    /// Exploration constant: PUCT's with a network, UCT's with rollouts
    /// (default 1.0; values are scores / the game's value scale).
    pub c_explore: f32,
    /// First-play urgency: an unvisited child counts as the parent's value
    /// minus this (PUCT; default 0.2).
    pub fpu_reduction: f32,
    /// The value a leaf in flight counts as, per visit in flight, while its
    /// evaluation is pending (virtual loss; default 0).
    pub virtual_loss_value: f32,
    /// Share of Dirichlet noise mixed into the root's priors (self-play
    /// exploration; default 0: off).
    pub dirichlet_epsilon: f32,
    /// The noise's concentration (default 1.0).
    pub dirichlet_alpha: f32,
    /// Policy-based inference (default 0: off; network leaves only): draw
    /// this many candidate deals, weigh each by the probability the
    /// network's policy gives every opponent's past decisions in it
    /// ([`ImperfectGame::weighed_decisions`]: Oh Hell's bids), and search
    /// `determinizations` of them drawn by weight without replacement.
    /// Those evaluations count against `simulations`; where they would
    /// leave the trees less than two simulations each, the deals are drawn
    /// uniformly instead.
    pub infer_deals: usize,
    /// The competitive objective (default false): each player maximises
    /// their score minus the mean of the other players' scores, rather than
    /// their own score alone (a table is won by the lead, and a match
    /// against other engines is scored by it). The values the network or
    /// a playout gives (every player's score) are unchanged; only what the
    /// search backs up for each player.
    pub margin: bool,
    /// Gumbel's completed-Q policy improvement (default 0: off). With a
    /// scale `c > 0` the decision's policy is
    /// `softmax(ln prior + (50 + max visits) * c * q)` instead of the
    /// normalised visits: `prior` is the root's policy (before any noise)
    /// averaged over the deals, `q` each root action's mean backed-up value
    /// over the deals (values in units of the value scale), and an action
    /// no simulation tried gets the mix of the root's value and the tried
    /// actions' values that Gumbel MuZero uses. The action is that policy's
    /// most likely one; self-play trains on that policy.
    pub completed_q: f32,
    /// Research only (default false): every tree searches the state the
    /// search is given, hidden cards included, instead of deals drawn from
    /// what the player knows: the search as it would play seeing every
    /// hand, an upper bound on what inferring the hidden cards could give
    /// (`agent --sees-all`; the harness must then send the hidden cards).
    pub oracle: bool,
    /// Information-set MCTS with one tree (default false): instead of a
    /// tree per deal, one tree over the action sequences from the decision,
    /// each simulation in the next of the `determinizations` deals (drawn
    /// as usual), choosing only among the actions legal in its deal. All
    /// `simulations` go to that tree.
    pub single_tree: bool,
}

impl Default for PimcConfig {
    fn default() -> Self {
        PimcConfig {
            determinizations: 8,
            simulations: 200,
            leaf: LeafEval::Network,
            c_explore: 1.0,
            fpu_reduction: 0.2,
            virtual_loss_value: 0.0,
            dirichlet_epsilon: 0.0,
            dirichlet_alpha: 1.0,
            infer_deals: 0,
            margin: false,
            completed_q: 0.0,
            oracle: false,
            single_tree: false,
        }
    }
}

impl PimcConfig {
    /// Trees searched: one per deal, or one.
    fn trees(&self) -> usize {
        if self.single_tree {
            1
        } else {
            self.determinizations
        }
    }

    /// The search without a network: 8 deals, 1,000 simulations a decision,
    /// each leaf valued by a random playout, UCT with c = 0.7.
    pub fn rollouts() -> Self {
        PimcConfig {
            determinizations: 8,
            simulations: 1000,
            leaf: LeafEval::Rollout,
            c_explore: 0.7,
            ..PimcConfig::default()
        }
    }

    /// The defaults for `leaf` with `determinizations` deals, and
    /// `simulations` and `c_explore` replaced where given.
    pub fn with(
        leaf: LeafEval,
        determinizations: usize,
        simulations: Option<u32>,
        c_explore: Option<f32>,
    ) -> Result<Self> {
        let base = match leaf {
            LeafEval::Network => PimcConfig::default(),
            LeafEval::Rollout => PimcConfig::rollouts(),
        };
        let cfg = PimcConfig {
            determinizations,
            simulations: simulations.unwrap_or(base.simulations),
            c_explore: c_explore.unwrap_or(base.c_explore),
            ..base
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks the ranges.
    pub fn validate(&self) -> Result<()> {
        if !(1..=256).contains(&self.determinizations) {
            return Err(Error::config("determinizations must be in 1..=256"));
        }
        if self.simulations < self.determinizations as u32 {
            return Err(Error::config(
                "simulations must be at least the number of determinizations",
            ));
        }
        if !((0.0..=1.0).contains(&self.dirichlet_epsilon) && self.dirichlet_alpha > 0.0) {
            return Err(Error::config(
                "dirichlet_epsilon must be in [0, 1] and dirichlet_alpha > 0",
            ));
        }
        if self.infer_deals > 0
            && (self.leaf != LeafEval::Network
                || !(self.determinizations..=4096).contains(&self.infer_deals))
        {
            return Err(Error::config(
                "infer_deals needs network leaves and must be in determinizations..=4096",
            ));
        }
        if !(self.completed_q.is_finite() && self.completed_q >= 0.0) {
            return Err(Error::config("completed_q must be >= 0"));
        }
        let finite = self.fpu_reduction.is_finite() && self.virtual_loss_value.is_finite();
        if !(self.c_explore.is_finite() && self.c_explore >= 0.0 && finite) {
            return Err(Error::config(
                "c_explore must be >= 0 and fpu_reduction, virtual_loss_value finite",
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Unvisited,
    Pending,
    Expanded,
    Terminal,
}

/// One deal's tree, structure of arrays; node 0 is the root.
#[derive(Debug, Default)]
struct Tree {
    parent: Vec<u32>,
    first: Vec<u32>,
    count: Vec<u16>,
    action: Vec<u16>,
    /// The player who chose the edge into the node.
    mover: Vec<u8>,
    /// The player to move at the node.
    to_move: Vec<u8>,
    prior: Vec<f32>,
    visits: Vec<u32>,
    /// Sum of backed-up values for `mover`.
    value: Vec<f32>,
    /// Sum of backed-up values for `to_move` (first-play urgency).
    own: Vec<f32>,
    in_flight: Vec<u32>,
    status: Vec<Status>,
}

impl Tree {
    fn reset(&mut self, root_player: u8) {
        self.parent.clear();
        self.first.clear();
        self.count.clear();
        self.action.clear();
        self.mover.clear();
        self.to_move.clear();
        self.prior.clear();
        self.visits.clear();
        self.value.clear();
        self.own.clear();
        self.in_flight.clear();
        self.status.clear();
        self.add(0, 0, root_player, 1.0);
        self.to_move[0] = root_player;
    }

    fn add(&mut self, parent: u32, action: u16, mover: u8, prior: f32) -> u32 {
        self.parent.push(parent);
        self.first.push(0);
        self.count.push(0);
        self.action.push(action);
        self.mover.push(mover);
        self.to_move.push(0);
        self.prior.push(prior);
        self.visits.push(0);
        self.value.push(0.0);
        self.own.push(0.0);
        self.in_flight.push(0);
        self.status.push(Status::Unvisited);
        (self.first.len() - 1) as u32
    }

    fn children(&self, n: u32) -> std::ops::Range<u32> {
        let f = self.first[n as usize];
        f..f + self.count[n as usize] as u32
    }
}

/// Each player's lead (the competitive objective): their value minus the
/// mean of the others', written to `out`.
pub(super) fn leads(values: &[f32], out: &mut Vec<f32>) {
    let n = values.len();
    let total: f32 = values.iter().sum();
    out.clear();
    out.extend(values.iter().map(|&v| {
        if n < 2 {
            v
        } else {
            v - (total - v) / (n - 1) as f32
        }
    }));
}

/// `Pending::tree` of an inference request (`node`: its index).
const INFER: u32 = u32::MAX;

/// One opponent decision to evaluate in one candidate deal.
#[derive(Debug)]
struct Inference<S> {
    candidate: u32,
    state: S,
    player: u8,
    action: usize,
}

/// A leaf handed out (or a collision) waiting for its batch.
#[derive(Clone, Copy, Debug)]
struct Pending {
    tree: u32,
    node: u32,
    batch: u64,
    /// Slot in the batch; None for a collision.
    slot: Option<u32>,
    /// The leaf's player to move (values come counted from that seat).
    player: u8,
}

/// What one simulation did with its leaf.
enum Leaf {
    Requested,
    Resolved,
    Collision,
}

/// The decision a search reached.
#[derive(Clone, Debug, PartialEq)]
pub struct PimcResult {
    /// The action with the most visits over all deals.
    pub action: usize,
    /// `[num_actions]` visits over all deals, normalised: the policy target.
    pub policy: Vec<f32>,
    /// `[num_actions]` root visits summed over the deals.
    pub visits: Vec<u32>,
    /// The mover's mean backed-up value (in units of the value scale).
    pub value: f32,
    /// Simulations completed.
    pub simulations: u32,
}

/// Counters of a search object (cumulative).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PimcStats {
    /// Leaves handed to the evaluator.
    pub requests: u64,
    /// Simulations that reached a leaf already in flight.
    pub collisions: u64,
    /// Simulations ended in a terminal state.
    pub terminal_hits: u64,
    /// Random playouts run.
    pub rollouts: u64,
    /// Simulations completed.
    pub simulations: u64,
    /// Evaluations of opponents' past decisions (policy-based inference).
    pub inference_requests: u64,
}

/// Determinized search for one decision at a time.
pub struct PimcSearch<G: ImperfectGame> {
    game: G,
    cfg: PimcConfig,
    rng: ChaCha8Rng,
    me: u8,
    worlds: Vec<G::State>,
    trees: Vec<Tree>,
    pending: Vec<Pending>,
    started: Vec<u32>,
    finished: Vec<u32>,
    per_tree: u32,
    next_tree: usize,
    /// Single tree: the deal of the next simulation.
    next_world: usize,
    /// Single tree: the actions legal in the current simulation's deal.
    legal: u128,
    stats: PimcStats,
    /// Policy-based inference: the candidate deals, their log weights, the
    /// decisions to evaluate, how many were sent and how many answered.
    candidates: Vec<G::State>,
    log_weights: Vec<f64>,
    inferences: Vec<Inference<G::State>>,
    infer_sent: usize,
    infer_done: usize,
    // scratch
    actions: Vec<usize>,
    values: Vec<f32>,
    /// What is backed up with the competitive objective.
    leads: Vec<f32>,
    path: Vec<u32>,
    /// Each tree's root: its priors before noise (`[num_actions]`, summed
    /// over the trees), and the network's value of it for the player to
    /// move (summed) and how many trees gave one (completed Q).
    root_prior: Vec<f32>,
    root_value: f32,
    root_evals: u32,
    /// Whether the next decision searches the given state (the oracle,
    /// when configured, and not turned off for the decision).
    peek: bool,
}

impl<G: ImperfectGame> PimcSearch<G> {
    /// A search object (call [`PimcSearch::begin`] for each decision).
    pub fn new(game: G, cfg: PimcConfig, seed: u64) -> Result<Self> {
        cfg.validate()?;
        if cfg.single_tree && game.num_actions() > 128 {
            return Err(Error::config("single_tree needs at most 128 actions"));
        }
        let players = game.num_players();
        Ok(PimcSearch {
            rng: ChaCha8Rng::seed_from_u64(seed),
            me: 0,
            worlds: Vec::new(),
            trees: (0..cfg.trees()).map(|_| Tree::default()).collect(),
            pending: Vec::new(),
            started: vec![0; cfg.trees()],
            finished: vec![0; cfg.trees()],
            next_world: 0,
            legal: 0,
            per_tree: 0,
            next_tree: 0,
            stats: PimcStats::default(),
            candidates: Vec::new(),
            log_weights: Vec::new(),
            inferences: Vec::new(),
            infer_sent: 0,
            infer_done: 0,
            actions: Vec::new(),
            values: vec![0.0; players],
            leads: Vec::with_capacity(players),
            path: Vec::new(),
            root_prior: vec![0.0; game.num_actions()],
            root_value: 0.0,
            root_evals: 0,
            peek: cfg.oracle,
            game,
            cfg,
        })
    }

    pub fn config(&self) -> &PimcConfig {
        &self.cfg
    }
    pub fn stats(&self) -> &PimcStats {
        &self.stats
    }
    /// With [`PimcConfig::oracle`], whether the next decisions search the
    /// state as given (`true`, the default) or deals drawn from what the
    /// player knows (`false`: the caller was not shown the hidden cards).
    /// Without the oracle it changes nothing.
    pub fn peek(&mut self, on: bool) {
        self.peek = on && self.cfg.oracle;
    }

    /// Leaves (and collisions) waiting for their batch.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Starts a decision for the player to move in `s` (the true state; the
    /// search only uses what that player knows of it).
    pub fn begin(&mut self, s: &G::State) -> Result<()> {
        let Actor::Player(me) = self.game.actor(s) else {
            return Err(Error::IllegalMove {
                mv: "(search)".into(),
                reason: "no player is to move".into(),
            });
        };
        if !self.pending.is_empty() {
            return Err(Error::Evaluator(
                "begin() while leaves are in flight".into(),
            ));
        }
        self.me = me;
        self.inferences.clear();
        self.infer_sent = 0;
        self.infer_done = 0;
        if self.peek {
            self.start_trees(vec![s.clone(); self.cfg.determinizations], 0);
            return Ok(());
        }
        if self.cfg.infer_deals > 0 && self.plan_inference(s, me) {
            return Ok(());
        }
        let worlds = self
            .game
            .determinize_many(s, me, self.cfg.determinizations, &mut self.rng);
        self.start_trees(worlds, 0);
        Ok(())
    }

    /// Draws the candidate deals and lists the opponents' decisions to
    /// evaluate in each; false (nothing to weigh, or no budget left for the
    /// trees) leaves the search to plain determinization.
    fn plan_inference(&mut self, s: &G::State, me: u8) -> bool {
        let d = self.cfg.determinizations;
        let m = self.cfg.infer_deals;
        let players = self.game.num_players() as u8;
        let weighed: usize = (0..players)
            .filter(|&p| p != me)
            .map(|p| self.game.weighed_decisions(s, p).len())
            .sum();
        let budget = self.cfg.simulations as usize;
        // Every tree keeps at least two simulations: its root and a child.
        if m == d || weighed == 0 || weighed * m + 2 * d > budget {
            return false;
        }
        self.candidates = self.game.determinize_many(s, me, m, &mut self.rng);
        self.log_weights = vec![0.0; m];
        for (c, world) in self.candidates.iter().enumerate() {
            for p in (0..players).filter(|&p| p != me) {
                for (state, action) in self.game.weighed_decisions(world, p) {
                    self.inferences.push(Inference {
                        candidate: c as u32,
                        state,
                        player: p,
                        action,
                    });
                }
            }
        }
        true
    }

    /// Whether the search is still weighing its candidate deals.
    fn inferring(&self) -> bool {
        !self.inferences.is_empty() && self.infer_done < self.inferences.len()
    }

    /// Resets the trees for `worlds`; `used` evaluations of the budget are
    /// spent already (inference).
    fn start_trees(&mut self, worlds: Vec<G::State>, used: u32) {
        self.worlds = worlds;
        for t in &mut self.trees {
            t.reset(self.me);
        }
        let d = self.cfg.trees() as u32;
        self.per_tree = (self.cfg.simulations.saturating_sub(used) / d).max(1);
        self.next_world = 0;
        self.started.iter_mut().for_each(|x| *x = 0);
        self.finished.iter_mut().for_each(|x| *x = 0);
        self.next_tree = 0;
        self.root_prior.iter_mut().for_each(|x| *x = 0.0);
        self.root_value = 0.0;
        self.root_evals = 0;
        if self.cfg.leaf == LeafEval::Rollout {
            self.game.legal_actions(&self.worlds[0], &mut self.actions);
            let n = self.actions.len();
            let uniform: Vec<(usize, f32)> =
                self.actions.iter().map(|&a| (a, 1.0 / n as f32)).collect();
            for k in 0..self.trees.len() {
                self.expand(k, 0, &uniform);
            }
        }
    }

    /// The deals to search once every candidate is weighed: D of them drawn
    /// in proportion to their weights without replacement (the Gumbel top-k
    /// trick).
    fn choose_worlds(&mut self) {
        let mut keyed: Vec<(f64, usize)> = self
            .log_weights
            .iter()
            .enumerate()
            .map(|(c, &lw)| {
                let u: f64 = self.rng.random::<f64>().max(f64::MIN_POSITIVE);
                (lw - (-u.ln()).ln(), c)
            })
            .collect();
        keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
        let worlds = keyed
            .iter()
            .take(self.cfg.determinizations)
            .map(|&(_, c)| self.candidates[c].clone())
            .collect();
        self.candidates.clear();
        let used = self.inferences.len() as u32;
        self.inferences.clear();
        self.start_trees(worlds, used);
    }

    /// Whether the decision is ready: every tree's simulations backed up.
    pub fn is_done(&self) -> bool {
        !self.inferring()
            && self.pending.is_empty()
            && self.finished.iter().all(|&f| f >= self.per_tree)
    }

    /// Selects up to `max_leaves` leaves over the trees in turn and appends
    /// those needing the evaluator to `batch` (tagged by `batch.id`).
    /// Terminal leaves and rollouts are resolved on the spot. Returns the
    /// number of leaves appended.
    pub fn gather(&mut self, batch: &mut Batch, max_leaves: usize) -> usize {
        if self.inferring() {
            return self.gather_inference(batch, max_leaves);
        }
        let d = self.trees.len();
        let (mut added, mut idle, mut collisions) = (0, 0, 0);
        while added < max_leaves && idle < d && collisions < max_leaves {
            let k = self.next_tree;
            self.next_tree = (k + 1) % d;
            if self.started[k] >= self.per_tree {
                idle += 1;
                continue;
            }
            idle = 0;
            self.started[k] += 1;
            match self.simulate(k, batch) {
                Leaf::Requested => added += 1,
                Leaf::Resolved => {}
                Leaf::Collision => collisions += 1,
            }
        }
        added
    }

    /// Hands out up to `max_leaves` of the opponents' decisions not yet sent.
    fn gather_inference(&mut self, batch: &mut Batch, max_leaves: usize) -> usize {
        let mut added = 0;
        while added < max_leaves && self.infer_sent < self.inferences.len() {
            let i = self.infer_sent;
            let q = &self.inferences[i];
            let slot = self.push_leaf(batch, &q.state, q.player);
            self.pending.push(Pending {
                tree: INFER,
                node: i as u32,
                batch: batch.id,
                slot: Some(slot),
                player: q.player,
            });
            self.infer_sent += 1;
            self.stats.inference_requests += 1;
            added += 1;
        }
        added
    }

    /// One simulation in tree `k`: select, then resolve or request the leaf.
    fn simulate(&mut self, k: usize, batch: &mut Batch) -> Leaf {
        let w = if self.cfg.single_tree {
            self.next_world = (self.next_world + 1) % self.worlds.len();
            self.next_world
        } else {
            k
        };
        let mut s = self.worlds[w].clone();
        let mut node = 0u32;
        self.path.clear();
        self.path.push(0);
        self.trees[k].in_flight[0] += 1;
        loop {
            match self.trees[k].status[node as usize] {
                Status::Expanded => {
                    if self.cfg.single_tree {
                        self.note_legal(&s);
                    }
                    node = self.select_child(k, node);
                    self.trees[k].in_flight[node as usize] += 1;
                    self.path.push(node);
                    let a = self.trees[k].action[node as usize] as usize;
                    self.game.apply(&mut s, a);
                    self.game.resolve_chance(&mut s, &mut self.rng);
                }
                Status::Pending => {
                    self.stats.collisions += 1;
                    self.pending.push(Pending {
                        tree: k as u32,
                        node,
                        batch: batch.id,
                        slot: None,
                        player: 0,
                    });
                    // Finished now for the count: the collision is undone
                    // when its batch returns; a new simulation replaces it.
                    self.started[k] -= 1;
                    return Leaf::Collision;
                }
                Status::Terminal | Status::Unvisited => break,
            }
        }
        let mut values = std::mem::take(&mut self.values);
        if self.game.returns(&s, &mut values) {
            self.stats.terminal_hits += 1;
            self.trees[k].status[node as usize] = Status::Terminal;
            let scale = self.game.value_scale();
            values.iter_mut().for_each(|v| *v /= scale);
            self.backup(k, &values);
            self.values = values;
            return Leaf::Resolved;
        }
        let Actor::Player(player) = self.game.actor(&s) else {
            unreachable!("a non-terminal leaf after chance is resolved has a player to move")
        };
        if self.cfg.leaf == LeafEval::Rollout {
            self.game.legal_actions(&s, &mut self.actions);
            let n = self.actions.len() as f32;
            let children: Vec<(usize, f32)> = if self.cfg.single_tree {
                // Every action: other deals allow others.
                (0..self.game.num_actions()).map(|a| (a, 1.0 / n)).collect()
            } else {
                self.actions.iter().map(|&a| (a, 1.0 / n)).collect()
            };
            self.trees[k].to_move[node as usize] = player;
            self.expand(k, node, &children);
            self.rollout(s, &mut values);
            self.stats.rollouts += 1;
            self.backup(k, &values);
            self.values = values;
            return Leaf::Resolved;
        }
        self.values = values;
        self.trees[k].to_move[node as usize] = player;
        self.trees[k].status[node as usize] = Status::Pending;
        let slot = self.push_leaf(batch, &s, player);
        self.pending.push(Pending {
            tree: k as u32,
            node,
            batch: batch.id,
            slot: Some(slot),
            player,
        });
        self.stats.requests += 1;
        Leaf::Requested
    }

    fn push_leaf(&self, batch: &mut Batch, s: &G::State, player: u8) -> u32 {
        let game = &self.game;
        let mut legal = Vec::new();
        game.legal_actions(s, &mut legal);
        batch.push_with(|words, mask| {
            game.pack_info(s, player, words);
            for &a in &legal {
                mask[a] = 1;
            }
        }) as u32
    }

    /// Random play to the end; the scaled returns in `out`.
    fn rollout(&mut self, mut s: G::State, out: &mut [f32]) {
        loop {
            match self.game.actor(&s) {
                Actor::Terminal => break,
                Actor::Chance => self.game.resolve_chance(&mut s, &mut self.rng),
                Actor::Player(_) => {
                    self.game.legal_actions(&s, &mut self.actions);
                    let a = self.actions[self.rng.random_range(0..self.actions.len())];
                    self.game.apply(&mut s, a);
                }
            }
        }
        self.game.returns(&s, out);
        let scale = self.game.value_scale();
        out.iter_mut().for_each(|v| *v /= scale);
    }

    /// Single tree: records the actions legal in `s` for the selection.
    fn note_legal(&mut self, s: &G::State) {
        self.game.legal_actions(s, &mut self.actions);
        self.legal = self.actions.iter().fold(0u128, |m, &a| m | 1u128 << a);
    }

    /// PUCT (network) or UCT (rollouts) with virtual loss.
    fn select_child(&self, k: usize, node: u32) -> u32 {
        let t = &self.trees[k];
        let n = node as usize;
        let parent_visits = (t.visits[n] + t.in_flight[n]).max(1) as f32;
        let fpu = if t.visits[n] > 0 {
            t.own[n] / t.visits[n] as f32 - self.cfg.fpu_reduction
        } else {
            0.0
        };
        let vl = self.cfg.virtual_loss_value;
        let c = self.cfg.c_explore;
        let rollout = self.cfg.leaf == LeafEval::Rollout;
        let ln_parent = parent_visits.ln();
        let single = self.cfg.single_tree;
        // Single tree: actions the network gave no prior (illegal in the
        // deal it was evaluated in) count as uniform over the legal ones.
        let floor = 1.0 / self.legal.count_ones().max(1) as f32;
        let mut best = (f32::NEG_INFINITY, t.first[n]);
        for ch in t.children(node) {
            let i = ch as usize;
            if single && self.legal >> t.action[i] & 1 == 0 {
                continue;
            }
            let prior = if single && t.prior[i] <= 0.0 {
                floor
            } else {
                t.prior[i]
            };
            let visits = t.visits[i] + t.in_flight[i];
            let score = if rollout {
                if visits == 0 {
                    // Unvisited first, in order of the prior-free draw.
                    f32::MAX - i as f32
                } else {
                    let q = (t.value[i] + vl * t.in_flight[i] as f32) / visits as f32;
                    q + c * (ln_parent / visits as f32).sqrt()
                }
            } else {
                let q = if visits == 0 {
                    fpu
                } else {
                    (t.value[i] + vl * t.in_flight[i] as f32) / visits as f32
                };
                q + c * prior * parent_visits.sqrt() / (1.0 + visits as f32)
            };
            if score > best.0 {
                best = (score, ch);
            }
        }
        best.1
    }

    /// Gives `node` of tree `k` its children (action, prior).
    fn expand(&mut self, k: usize, node: u32, children: &[(usize, f32)]) {
        let t = &mut self.trees[k];
        let mover = t.to_move[node as usize];
        let first = t.first.len() as u32;
        for &(a, p) in children {
            t.add(node, a as u16, mover, p);
        }
        t.first[node as usize] = first;
        t.count[node as usize] = children.len() as u16;
        t.status[node as usize] = Status::Expanded;
    }

    /// Adds `values` (absolute seats, scaled) along the current path.
    fn backup(&mut self, k: usize, values: &[f32]) {
        let values = if self.cfg.margin {
            leads(values, &mut self.leads);
            &self.leads[..]
        } else {
            values
        };
        let t = &mut self.trees[k];
        for &n in &self.path {
            let i = n as usize;
            t.in_flight[i] -= 1;
            t.visits[i] += 1;
            t.value[i] += values[t.mover[i] as usize];
            t.own[i] += values[t.to_move[i] as usize];
        }
        self.finished[k] += 1;
        self.stats.simulations += 1;
    }

    /// Takes back the results of `batch` for this search's leaves.
    pub fn absorb(&mut self, batch: &Batch) -> Result<()> {
        let players = self.game.num_players();
        let mut i = 0;
        while i < self.pending.len() {
            let p = self.pending[i];
            if p.batch != batch.id {
                i += 1;
                continue;
            }
            self.pending.swap_remove(i);
            let Some(slot) = p.slot else {
                self.undo_collision(p);
                continue;
            };
            let slot = slot as usize;
            if p.tree == INFER {
                self.absorb_inference(batch, p.node as usize, slot)?;
                continue;
            }
            if slot >= batch.len()
                || batch.values() != players
                || batch.value.len() < (slot + 1) * players
            {
                return Err(Error::Evaluator(format!(
                    "batch {} has no {players}-player result for slot {slot}",
                    batch.id
                )));
            }
            // Seats counted from the leaf's player back to absolute seats.
            let row = batch.value_row(slot);
            let mut values = std::mem::take(&mut self.values);
            for (seat, &v) in row.iter().enumerate() {
                values[(p.player as usize + seat) % players] = v.clamp(-1.0, 1.0);
            }
            // Single tree: below the root (whose legal actions every deal
            // shares) every action, those illegal in this deal at prior 0.
            let every = self.cfg.single_tree && p.node != 0;
            let mut children: Vec<(usize, f32)> = batch
                .legal_mask(slot)
                .iter()
                .zip(batch.policy_row(slot))
                .enumerate()
                .filter(|(_, (&m, _))| m != 0 || every)
                .map(|(a, (&m, &pr))| (a, if m != 0 { pr.max(0.0) } else { 0.0 }))
                .collect();
            if p.node == 0 {
                if self.cfg.completed_q > 0.0 {
                    self.note_root(&values, &children);
                }
                self.root_noise(&mut children);
            }
            self.retrace(p.tree as usize, p.node);
            self.expand(p.tree as usize, p.node, &children);
            self.backup(p.tree as usize, &values);
            self.values = values;
        }
        if !self.inferences.is_empty() && self.infer_done == self.inferences.len() {
            self.choose_worlds();
        }
        Ok(())
    }

    /// Multiplies a candidate's weight by the probability the policy gives
    /// the opponent's decision in it (at least 1e-4: a network sure of the
    /// opposite does not rule a deal out).
    fn absorb_inference(&mut self, batch: &Batch, i: usize, slot: usize) -> Result<()> {
        let (_, policy, _) = batch.result_row(slot)?;
        let q = &self.inferences[i];
        let p = policy.get(q.action).copied().unwrap_or(0.0);
        self.log_weights[q.candidate as usize] += f64::from(p.max(1e-4)).ln();
        self.infer_done += 1;
        Ok(())
    }

    /// Adds a tree root's evaluation to the completed-Q statistics.
    fn note_root(&mut self, values: &[f32], children: &[(usize, f32)]) {
        let total: f32 = children.iter().map(|c| c.1).sum();
        for &(a, p) in children {
            self.root_prior[a] += if total > 0.0 {
                p / total
            } else {
                1.0 / children.len() as f32
            };
        }
        let v = if self.cfg.margin {
            leads(values, &mut self.leads);
            self.leads[self.me as usize]
        } else {
            values[self.me as usize]
        };
        self.root_value += v;
        self.root_evals += 1;
    }

    /// Mixes Dirichlet noise into a root's priors (drawn for each tree).
    fn root_noise(&mut self, children: &mut [(usize, f32)]) {
        let eps = self.cfg.dirichlet_epsilon;
        if eps <= 0.0 || children.len() < 2 {
            return;
        }
        let Ok(gamma) = rand_distr::Gamma::new(self.cfg.dirichlet_alpha, 1.0) else {
            return;
        };
        let noise: Vec<f32> = children
            .iter()
            .map(|_| rand_distr::Distribution::sample(&gamma, &mut self.rng))
            .collect();
        let total: f32 = noise.iter().sum();
        if !(total > 0.0 && total.is_finite()) {
            return;
        }
        for (c, x) in children.iter_mut().zip(noise) {
            c.1 = (1.0 - eps) * c.1 + eps * x / total;
        }
    }

    /// Rebuilds the path from the root to `node` of tree `k`.
    fn retrace(&mut self, k: usize, node: u32) {
        let t = &self.trees[k];
        self.path.clear();
        let mut n = node;
        self.path.push(n);
        while n != 0 {
            n = t.parent[n as usize];
            self.path.push(n);
        }
        self.path.reverse();
    }

    fn undo_collision(&mut self, p: Pending) {
        self.retrace(p.tree as usize, p.node);
        let t = &mut self.trees[p.tree as usize];
        for &n in &self.path {
            t.in_flight[n as usize] -= 1;
        }
    }

    /// The decision: visits summed over the deals.
    pub fn result(&self) -> PimcResult {
        let n = self.game.num_actions();
        // Each root action's visits and summed values over the deals.
        let (mut visits, mut value_sum) = (vec![0u32; n], vec![0.0f32; n]);
        for t in &self.trees {
            for ch in t.children(0) {
                let a = t.action[ch as usize] as usize;
                visits[a] += t.visits[ch as usize];
                value_sum[a] += t.value[ch as usize];
            }
        }
        let total: u32 = visits.iter().sum();
        let value: f32 = value_sum.iter().sum();
        let (action, policy) = match self.improved_policy(&visits, &value_sum) {
            Some(improved) => improved,
            None if total == 0 => self.prior_decision(),
            None => {
                let policy = visits
                    .iter()
                    .map(|&v| v as f32 / total.max(1) as f32)
                    .collect();
                // Ties go to the lowest action id: same inputs, same move.
                let action = (0..visits.len())
                    .max_by_key(|&a| (visits[a], std::cmp::Reverse(a)))
                    .unwrap_or(0);
                (action, policy)
            }
        };
        PimcResult {
            action,
            policy,
            visits,
            value: if total > 0 { value / total as f32 } else { 0.0 },
            simulations: self.finished.iter().sum(),
        }
    }

    /// The decision when no simulation went below a root (one simulation a
    /// tree: the root's evaluation only): the roots' priors summed over the
    /// deals, the most likely action; a legal action in any case.
    fn prior_decision(&self) -> (usize, Vec<f32>) {
        let mut prior = vec![0.0f32; self.game.num_actions()];
        for t in &self.trees {
            for ch in t.children(0) {
                prior[t.action[ch as usize] as usize] += t.prior[ch as usize].max(0.0);
            }
        }
        let total: f32 = prior.iter().sum();
        if total <= 0.0 || !total.is_finite() {
            let mut legal = Vec::new();
            if let Some(w) = self.worlds.first() {
                self.game.legal_actions(w, &mut legal);
            }
            let n = legal.len().max(1) as f32;
            legal.iter().for_each(|&a| prior[a] = 1.0 / n);
            return (legal.first().copied().unwrap_or(0), prior);
        }
        prior.iter_mut().for_each(|p| *p /= total);
        let action = (0..prior.len())
            .max_by(|&a, &b| prior[a].total_cmp(&prior[b]).then(b.cmp(&a)))
            .unwrap_or(0);
        (action, prior)
    }

    /// Gumbel's completed-Q improvement of the root policy
    /// ([`PimcConfig::completed_q`]): the most likely action and the policy,
    /// or None when off (or no root was evaluated by a network).
    /// `visits` and `value_sum`: each root action's over the deals.
    fn improved_policy(&self, visits: &[u32], value_sum: &[f32]) -> Option<(usize, Vec<f32>)> {
        let scale = self.cfg.completed_q;
        if scale <= 0.0 || self.root_evals == 0 {
            return None;
        }
        let n = visits.len();
        let prior: Vec<f32> = self
            .root_prior
            .iter()
            .map(|&p| p / self.root_evals as f32)
            .collect();
        let q: Vec<Option<f32>> = (0..n)
            .map(|a| (visits[a] > 0).then(|| value_sum[a] / visits[a] as f32))
            .collect();
        let v_mix = completed_value(
            self.root_value / self.root_evals as f32,
            &prior,
            &q,
            visits.iter().sum(),
        );
        let max_visits = visits.iter().copied().max().unwrap_or(0) as f32;
        let sigma = (50.0 + max_visits) * scale;
        let logits: Vec<f32> = (0..n)
            .map(|a| {
                if prior[a] > 0.0 {
                    prior[a].ln() + sigma * q[a].unwrap_or(v_mix)
                } else {
                    f32::NEG_INFINITY
                }
            })
            .collect();
        let top = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        if !top.is_finite() {
            return None;
        }
        let mut policy: Vec<f32> = logits.iter().map(|&l| (l - top).exp()).collect();
        let total: f32 = policy.iter().sum();
        policy.iter_mut().for_each(|p| *p /= total);
        // Ties go to the lowest action id: same inputs, same move.
        let action = (0..n)
            .max_by(|&a, &b| logits[a].total_cmp(&logits[b]).then(b.cmp(&a)))
            .unwrap_or(0);
        Some((action, policy))
    }
}

/// The value an untried root action counts as in completed Q (Gumbel
/// MuZero's `v_mix`): the root's own value and the prior-weighted mean of
/// the tried actions' values, weighted 1 and `total_visits`.
fn completed_value(root_value: f32, prior: &[f32], q: &[Option<f32>], total_visits: u32) -> f32 {
    let (mut weighted, mut mass) = (0.0, 0.0);
    for (p, q) in prior.iter().zip(q) {
        if let Some(q) = q {
            weighted += p * q;
            mass += p;
        }
    }
    if mass <= 0.0 {
        return root_value;
    }
    let n = total_visits as f32;
    (root_value + n * weighted / mass) / (1.0 + n)
}
