//! One game's tree search, batch-first.
//!
//! A search hands out leaves with [`Search::gather`] (up to K per call, spread
//! over the tree by virtual loss) into a [`Batch`] that may also hold other
//! games' leaves, and takes their results back with [`Search::absorb`] once the
//! batch is evaluated. Each leaf is requested exactly once: a simulation that
//! reaches a leaf whose evaluation is in flight is a *collision*; it produces
//! no request, keeps its virtual loss until its batch comes back (so the next
//! selections go elsewhere), and is then undone. Terminal leaves and cached
//! positions are resolved at once, without the evaluator.
//!
//! The phases of a simulation: `select_leaf` -> (evaluate) -> `expand` -> `backup`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::cache::EvalCache;
use super::config::{Algorithm, SearchConfig};
use super::gumbel::{self, GumbelRoot};
use super::puct;
use super::tree::{NodeId, NodeStatus, Tree, ROOT};
use crate::error::{Error, Result};
use crate::eval::{Batch, Evaluator, ScoreUtility};
use crate::game::Game;
use crate::minimax::MinimaxSearch;

/// Counters of one search object (cumulative until [`Search::reset_stats`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SearchStats {
    /// Leaves handed to the evaluator.
    pub requests: u64,
    /// Simulations that reached a leaf already in flight.
    pub collisions: u64,
    /// Simulations ended in a terminal position (no evaluation needed).
    pub terminal_hits: u64,
    /// Leaves resolved from the evaluation cache.
    pub cache_hits: u64,
    /// Simulations completed (backed up), root evaluations excluded.
    pub simulations: u64,
    /// Searches that began at a root already expanded by the previous
    /// search's tree (tree reuse): each saved the root's evaluation.
    pub reused_roots: u64,
    /// Whether the node budget stopped a search early.
    pub budget_hit: bool,
    /// Batches this search sent positions in (network calls it waited for).
    pub batches: u64,
}

/// The outcome of a search.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchResult {
    /// The move to play.
    pub action: usize,
    /// `[num_actions]` policy target: visit distribution (PUCT) or improved
    /// policy (Gumbel); 0 on illegal actions, sums to 1.
    pub policy: Vec<f32>,
    /// `[num_actions]` root visit counts (with a reused tree, visits from
    /// earlier searches included).
    pub visits: Vec<u32>,
    /// `[num_actions]` root visits of this search's own simulations.
    pub search_visits: Vec<u32>,
    /// Mean value of the root for its side to move.
    pub value: f32,
    /// Simulations completed in this search.
    pub simulations: u32,
}

/// A leaf handed out, or a collision, waiting for its batch.
#[derive(Clone, Copy, Debug)]
struct Pending {
    node: NodeId,
    batch: u64,
    /// Slot in the batch; `None` for a collision.
    slot: Option<u32>,
    hash: u64,
}

enum Selected<S> {
    Leaf(NodeId, S),
    Terminal(NodeId),
    Collision(NodeId),
}

/// Tree search over one game: MCTS (PUCT, Gumbel) here, the minimax
/// searches in [`crate::minimax`] (every public method hands over to it), so
/// that every player, match and self-play path runs any algorithm.
pub struct Search<G: Game> {
    minimax: Option<Box<MinimaxSearch<G>>>,
    game: G,
    cfg: SearchConfig,
    tree: Tree,
    spare: Tree,
    root_state: G::State,
    rng: ChaCha8Rng,
    pending: Vec<Pending>,
    cache: Option<EvalCache>,
    /// How finished games are valued with a score utility.
    utility: Option<ScoreUtility>,
    gumbel: GumbelRoot,
    stats: SearchStats,
    /// `[num_actions]` root visits when the current search began (a reused tree's).
    base_visits: Vec<u32>,
    /// Simulations to run in the current search, started, and finished.
    target: u32,
    started: u32,
    finished: u32,
    /// The node budget stopped the current search (cleared at `begin`; the
    /// stats' `budget_hit` remembers it).
    out_of_nodes: bool,
    noised: bool,
    // scratch, reused to keep the hot loop free of allocations
    actions: Vec<usize>,
    children: Vec<(u16, f32)>,
    q: Vec<f32>,
}

impl<G: Game> Search<G> {
    /// A search at the game's initial position. Same seed, same searches.
    pub fn new(game: G, cfg: SearchConfig, seed: u64) -> Result<Self> {
        cfg.validate(game.num_actions())?;
        let utility = ScoreUtility::for_board(cfg.score_utility, game.ownership_cells())?;
        let root_state = game.initial();
        let minimax = if cfg.algorithm.is_minimax() {
            Some(Box::new(MinimaxSearch::new(
                game.clone(),
                cfg.clone(),
                seed,
            )?))
        } else {
            None
        };
        Ok(Search {
            minimax,
            tree: Tree::new(cfg.node_budget),
            spare: Tree::new(cfg.node_budget),
            cache: cfg
                .eval_cache
                .then(|| EvalCache::new(cfg.eval_cache_capacity)),
            rng: ChaCha8Rng::seed_from_u64(seed),
            utility,
            root_state,
            pending: Vec::new(),
            gumbel: GumbelRoot::default(),
            stats: SearchStats::default(),
            base_visits: Vec::new(),
            target: 0,
            started: 0,
            finished: 0,
            out_of_nodes: false,
            noised: false,
            actions: Vec::new(),
            children: Vec::new(),
            q: Vec::new(),
            game,
            cfg,
        })
    }

    pub fn game(&self) -> &G {
        &self.game
    }
    pub fn config(&self) -> &SearchConfig {
        if let Some(m) = &self.minimax {
            return m.config();
        }
        &self.cfg
    }
    /// Sets the deepest level the minimax searches look at from the next
    /// search on ([`SearchConfig::max_depth`]; 0: no limit; MCTS ignores it).
    pub fn set_max_depth(&mut self, depth: u32) {
        if let Some(m) = &mut self.minimax {
            m.set_max_depth(depth);
        }
        self.cfg.max_depth = depth;
    }
    pub fn tree(&self) -> &Tree {
        &self.tree
    }
    pub fn root_state(&self) -> &G::State {
        if let Some(m) = &self.minimax {
            return m.root_state();
        }
        &self.root_state
    }
    pub fn stats(&self) -> &SearchStats {
        if let Some(m) = &self.minimax {
            return m.stats();
        }
        &self.stats
    }
    pub fn reset_stats(&mut self) {
        if let Some(m) = &mut self.minimax {
            return m.reset_stats();
        }
        self.stats = SearchStats::default();
    }
    /// Leaves (and collisions) waiting for their batch.
    pub fn pending(&self) -> usize {
        if let Some(m) = &self.minimax {
            return m.pending();
        }
        self.pending.len()
    }

    /// Starts over from `state` with an empty tree and an empty cache (a new game).
    pub fn reset(&mut self, state: G::State) {
        if let Some(m) = &mut self.minimax {
            return m.reset(state);
        }
        self.pending.clear();
        self.tree.reset();
        if let Some(c) = &mut self.cache {
            c.clear();
        }
        self.root_state = state;
        self.new_root();
    }

    fn new_root(&mut self) {
        self.noised = false;
        self.gumbel.ready = false;
        self.target = 0;
        self.started = 0;
        self.finished = 0;
    }

    /// Begins a search of `simulations` new simulations from the current root.
    pub fn begin(&mut self, simulations: u32) -> Result<()> {
        if let Some(m) = &mut self.minimax {
            return m.begin(simulations);
        }
        if self.game.terminal_value(&self.root_state).is_some() {
            return Err(Error::IllegalMove {
                mv: "(search)".into(),
                reason: "the game is over".into(),
            });
        }
        if !self.pending.is_empty() {
            return Err(Error::Evaluator(
                "begin() while leaves are in flight".into(),
            ));
        }
        if !self.tree.has_room(2 * self.game.num_actions()) {
            // A reused tree that fills the budget: start afresh so the search can progress.
            self.tree.reset();
        }
        self.target = simulations;
        self.started = 0;
        self.finished = 0;
        self.out_of_nodes = false;
        self.gumbel.ready = false;
        self.base_visits.clear();
        self.base_visits.resize(self.game.num_actions(), 0);
        if self.tree.status[ROOT as usize] == NodeStatus::Expanded {
            for c in self.tree.children(ROOT) {
                self.base_visits[self.tree.action(c)] = self.tree.visits(c);
            }
        }
        if self.tree.status[ROOT as usize] == NodeStatus::Expanded {
            self.stats.reused_roots += 1;
            self.prepare_root();
        }
        Ok(())
    }

    /// Root noise (PUCT) or Gumbel draws, once the root is expanded.
    fn prepare_root(&mut self) {
        match self.cfg.algorithm {
            Algorithm::Puct => {
                if !self.noised && self.cfg.dirichlet_epsilon > 0.0 {
                    puct::add_dirichlet_noise(
                        &mut self.tree,
                        ROOT,
                        self.cfg.dirichlet_alpha,
                        self.cfg.dirichlet_epsilon,
                        &mut self.rng,
                    );
                }
                self.noised = true;
            }
            Algorithm::Gumbel => {
                self.gumbel
                    .init(&self.tree, self.cfg.gumbel_m, self.target, &mut self.rng);
            }
            Algorithm::Minimax | Algorithm::Descent => {}
        }
    }

    /// Whether the current search has finished: all its simulations backed up
    /// (or the node budget reached) and nothing in flight.
    pub fn is_done(&self) -> bool {
        if let Some(m) = &self.minimax {
            return m.is_done();
        }
        self.pending.is_empty()
            && self.tree.status[ROOT as usize] == NodeStatus::Expanded
            && (self.finished >= self.target || self.out_of_nodes)
    }

    /// Selects up to `max_leaves` leaves and appends them to `batch` (whose `id`
    /// tags them until [`Search::absorb`]). Terminal and cached leaves are
    /// resolved on the spot. Returns the number of leaves appended; 0 when the
    /// search has nothing to hand out until results come back.
    pub fn gather(&mut self, batch: &mut Batch, max_leaves: usize) -> usize {
        if let Some(m) = &mut self.minimax {
            return m.gather(batch, max_leaves);
        }
        let added = self.gather_leaves(batch, max_leaves);
        if added > 0 {
            self.stats.batches += 1;
        }
        added
    }

    fn gather_leaves(&mut self, batch: &mut Batch, max_leaves: usize) -> usize {
        let root_status = self.tree.status[ROOT as usize];
        if root_status == NodeStatus::Pending {
            return 0;
        }
        if root_status == NodeStatus::Unvisited {
            // The root's own evaluation comes first and is not a simulation.
            return match self.select_leaf() {
                Selected::Leaf(node, state) => self.request_or_resolve(node, state, batch) as usize,
                _ => 0,
            };
        }
        let mut added = 0;
        let mut collisions = 0;
        while added < max_leaves
            && self.started < self.target
            && !self.out_of_nodes
            && collisions < max_leaves
        {
            match self.select_leaf() {
                Selected::Leaf(node, state) => {
                    self.started += 1;
                    added += self.request_or_resolve(node, state, batch) as usize;
                }
                Selected::Terminal(node) => {
                    self.started += 1;
                    self.stats.terminal_hits += 1;
                    let v = self.tree.net_value[node as usize];
                    self.backup(node, v);
                }
                Selected::Collision(node) => {
                    collisions += 1;
                    self.stats.collisions += 1;
                    self.pending.push(Pending {
                        node,
                        batch: batch.id,
                        slot: None,
                        hash: 0,
                    });
                }
            }
        }
        added
    }

    /// Resolves `node` from the cache, or appends it to `batch`. Returns true if appended.
    fn request_or_resolve(&mut self, node: NodeId, state: G::State, batch: &mut Batch) -> bool {
        let hash = self.game.hash(&state);
        if let Some(cache) = &self.cache {
            self.game.legal_actions(&state, &mut self.actions);
            if let Some(e) = cache
                .get(hash)
                .filter(|e| e.priors.len() == self.actions.len())
            {
                let value = e.value;
                self.children.clear();
                self.children.extend(
                    self.actions
                        .iter()
                        .zip(e.priors.iter())
                        .map(|(&a, &p)| (a as u16, p)),
                );
                self.stats.cache_hits += 1;
                self.expand(node, value);
                self.backup(node, value);
                return false;
            }
        }
        let slot = batch.push(&self.game, &state) as u32;
        self.tree.status[node as usize] = NodeStatus::Pending;
        self.pending.push(Pending {
            node,
            batch: batch.id,
            slot: Some(slot),
            hash,
        });
        self.stats.requests += 1;
        true
    }

    /// Descends from the root to a leaf, adding virtual loss on the way.
    fn select_leaf(&mut self) -> Selected<G::State> {
        let mut state = self.root_state.clone();
        let mut node = ROOT;
        self.tree.in_flight[ROOT as usize] += 1;
        loop {
            match self.tree.status[node as usize] {
                NodeStatus::Expanded => {
                    node = self.select_child(node);
                    self.tree.in_flight[node as usize] += 1;
                    self.game
                        .apply(&mut state, self.tree.action[node as usize] as usize);
                }
                NodeStatus::Terminal => return Selected::Terminal(node),
                NodeStatus::Pending => return Selected::Collision(node),
                NodeStatus::Unvisited => {
                    if let Some(v) = self.game.terminal_value(&state) {
                        let v = self.terminal_utility(&state, v);
                        self.tree.status[node as usize] = NodeStatus::Terminal;
                        self.tree.net_value[node as usize] = v;
                        return Selected::Terminal(node);
                    }
                    return Selected::Leaf(node, state);
                }
            }
        }
    }

    /// A finished game's value `v` (for the side to move) with the score
    /// utility's term for its counted margin, as the network's values get
    /// it; `v` itself without a score utility.
    fn terminal_utility(&self, state: &G::State, v: f32) -> f32 {
        let Some(u) = self.utility else {
            return v;
        };
        // The side to move's margin: the winner's sign, the count's size.
        let margin = self
            .game
            .score_now(state)
            .map_or(0.0, |m| m.abs() * v.signum());
        u.blend(v, margin / u.cells)
    }

    fn select_child(&mut self, node: NodeId) -> NodeId {
        let c = &self.cfg;
        match c.algorithm {
            Algorithm::Puct if node == ROOT && c.forced_playouts > 0.0 => {
                puct::select_child_forced(
                    &self.tree,
                    node,
                    c.c_puct,
                    c.fpu_reduction,
                    c.forced_playouts,
                )
            }
            Algorithm::Puct | Algorithm::Minimax | Algorithm::Descent => {
                puct::select_child(&self.tree, node, c.c_puct, c.fpu_reduction)
            }
            Algorithm::Gumbel if node == ROOT && self.gumbel.ready => gumbel::select_root(
                &self.tree,
                &self.gumbel,
                self.started,
                c.gumbel_c_visit,
                c.gumbel_c_scale,
                &mut self.q,
            ),
            Algorithm::Gumbel => gumbel::select_interior(
                &self.tree,
                node,
                c.gumbel_c_visit,
                c.gumbel_c_scale,
                &mut self.q,
            ),
        }
    }

    /// Takes back the results of `batch` for this search's leaves (and undoes
    /// its collisions). Leaves of other batches stay pending.
    pub fn absorb(&mut self, batch: &Batch) -> Result<()> {
        if let Some(m) = &mut self.minimax {
            return m.absorb(batch);
        }
        let mut i = 0;
        while i < self.pending.len() {
            let p = self.pending[i];
            if p.batch != batch.id {
                i += 1;
                continue;
            }
            self.pending.remove(i);
            match p.slot {
                None => self.undo_virtual_loss(p.node),
                Some(slot) => self.absorb_leaf(p, slot as usize, batch)?,
            }
        }
        Ok(())
    }

    fn absorb_leaf(&mut self, p: Pending, slot: usize, batch: &Batch) -> Result<()> {
        let (value, policy, legal) = batch.result_row(slot)?;
        let value = value.clamp(-1.0, 1.0);
        self.children.clear();
        for (a, (&legal, &prior)) in legal.iter().zip(policy).enumerate() {
            if legal != 0 {
                self.children.push((a as u16, prior.max(0.0)));
            }
        }
        if let Some(cache) = &mut self.cache {
            self.q.clear();
            self.q.extend(self.children.iter().map(|c| c.1));
            cache.insert(p.hash, value, &self.q);
        }
        self.expand(p.node, value);
        self.backup(p.node, value);
        Ok(())
    }

    /// Creates `node`'s children from `self.children` (priors renormalised over
    /// the legal actions). If they do not fit in the node budget the node stays
    /// a leaf and the search stops early.
    fn expand(&mut self, node: NodeId, value: f32) {
        let total: f32 = self.children.iter().map(|c| c.1).sum();
        let n = self.children.len() as f32;
        for c in &mut self.children {
            c.1 = if total > 0.0 { c.1 / total } else { 1.0 / n };
        }
        let i = node as usize;
        self.tree.net_value[i] = value;
        if self.tree.add_children(node, &self.children) {
            if node == ROOT {
                self.prepare_root();
            }
        } else {
            self.tree.status[i] = NodeStatus::Unvisited;
            self.stats.budget_hit = true;
            self.out_of_nodes = true;
        }
    }

    /// Adds `value` (for the side to move at `node`) along the path to the root,
    /// removing the path's virtual loss.
    fn backup(&mut self, node: NodeId, value: f32) {
        let t = &mut self.tree;
        let mut w = -value; // for the player who moved into `node`
        let mut n = node;
        loop {
            let i = n as usize;
            t.visits[i] += 1;
            t.value_sum[i] += w;
            t.in_flight[i] -= 1;
            if n == ROOT {
                break;
            }
            n = t.parent[i];
            w = -w;
        }
        if node != ROOT {
            self.finished += 1;
            self.stats.simulations += 1;
        }
    }

    fn undo_virtual_loss(&mut self, node: NodeId) {
        let mut n = node;
        loop {
            self.tree.in_flight[n as usize] -= 1;
            if n == ROOT {
                break;
            }
            n = self.tree.parent[n as usize];
        }
    }

    /// The result of the finished search: the move and the policy target.
    pub fn result(&mut self) -> Result<SearchResult> {
        if let Some(m) = &mut self.minimax {
            return m.result();
        }
        if self.tree.status[ROOT as usize] != NodeStatus::Expanded {
            return Err(Error::Evaluator("the root was never evaluated".into()));
        }
        let num_actions = self.game.num_actions();
        let mut visits = vec![0u32; num_actions];
        for c in self.tree.children(ROOT) {
            visits[self.tree.action(c)] = self.tree.visits(c);
        }
        let search_visits: Vec<u32> = (0..num_actions)
            .map(|a| visits[a].saturating_sub(self.base_visits.get(a).copied().unwrap_or(0)))
            .collect();
        let mut policy = vec![0f32; num_actions];
        let action = match self.cfg.algorithm {
            Algorithm::Gumbel => {
                if !self.gumbel.ready {
                    self.prepare_root();
                }
                let c = gumbel::final_choice(
                    &self.tree,
                    &self.gumbel,
                    self.cfg.gumbel_c_visit,
                    self.cfg.gumbel_c_scale,
                    &mut self.q,
                    &mut policy,
                );
                let greedy = self.tree.action(c);
                self.sample_early(policy.iter().copied()).unwrap_or(greedy)
            }
            Algorithm::Puct | Algorithm::Minimax | Algorithm::Descent => {
                self.puct_choice(&visits, &mut policy)
            }
        };
        let value = self.tree.mean_value(ROOT).map_or(0.0, |v| -v);
        Ok(SearchResult {
            action,
            policy,
            visits,
            search_visits,
            value,
            simulations: self.finished,
        })
    }

    fn sample_early(&mut self, weights: impl Iterator<Item = f32> + Clone) -> Option<usize> {
        let moves = self.game.moves_played(&self.root_state) as u32;
        sample_early_move(&mut self.rng, &self.cfg, moves, weights)
    }

    /// Policy = visit distribution; the move is sampled with the temperature
    /// early in the game, else the most visited (ties: higher prior).
    fn puct_choice(&mut self, visits: &[u32], policy: &mut [f32]) -> usize {
        let total: u32 = visits.iter().sum();
        let t = &self.tree;
        if total == 0 {
            // No simulation ran: fall back on the priors.
            for c in t.children(ROOT) {
                policy[t.action(c)] = t.prior(c);
            }
        } else if self.cfg.forced_playouts > 0.0 && self.cfg.algorithm == Algorithm::Puct {
            let pruned = puct::pruned_visits(t, ROOT, self.cfg.c_puct, self.cfg.forced_playouts);
            let kept: f32 = pruned.iter().sum();
            for (c, n) in t.children(ROOT).zip(pruned) {
                policy[t.action(c)] = n / kept.max(1.0);
            }
        } else {
            for (p, &v) in policy.iter_mut().zip(visits) {
                *p = v as f32 / total as f32;
            }
        }
        if let Some(a) = self.sample_early(visits.iter().map(|&v| v as f32)) {
            return a;
        }
        let t = &self.tree;
        t.children(ROOT)
            .max_by(|&a, &b| {
                (t.visits(a), t.prior(a))
                    .partial_cmp(&(t.visits(b), t.prior(b)))
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then(b.cmp(&a))
            })
            .map(|c| t.action(c))
            .expect("root has children")
    }

    /// Plays `action` at the root (checked). With tree reuse the chosen child's
    /// subtree, statistics included, becomes the new tree.
    pub fn advance(&mut self, action: usize) -> Result<()> {
        if let Some(m) = &mut self.minimax {
            return m.advance(action);
        }
        if !self.pending.is_empty() {
            return Err(Error::Evaluator(
                "advance() while leaves are in flight".into(),
            ));
        }
        self.game.play(&mut self.root_state, action)?;
        let child = if self.cfg.reuse_tree {
            self.tree.child_by_action(ROOT, action)
        } else {
            None
        };
        match child {
            Some(c) => self.tree.reroot(c, &mut self.spare),
            None => self.tree.reset(),
        }
        self.new_root();
        Ok(())
    }

    /// Runs a whole search of `simulations` with `eval`, one batch at a time,
    /// `leaves_per_gather` leaves per batch. For many games at once, drive
    /// [`Search::gather`] / [`Search::absorb`] directly instead.
    pub fn run<E: Evaluator + ?Sized>(
        &mut self,
        eval: &mut E,
        simulations: u32,
    ) -> Result<SearchResult> {
        self.begin(simulations)?;
        let mut batch = Batch::new(&self.game, self.cfg.leaves_per_gather);
        while !self.is_done() {
            if self.gather_next(&mut batch, self.cfg.leaves_per_gather)? {
                batch = eval.evaluate(batch)?;
                self.absorb(&batch)?;
            }
        }
        self.result()
    }

    /// One step of a search driven from outside: refills `batch` (cleared,
    /// a new id) with up to `max_leaves` leaves and returns true if it has
    /// any, to be evaluated and handed to [`Search::absorb`]. With none (all
    /// collisions or terminal positions), those are resolved here and it
    /// returns false.
    pub fn gather_next(&mut self, batch: &mut Batch, max_leaves: usize) -> Result<bool> {
        batch.clear();
        batch.id = batch.id.wrapping_add(1);
        self.gather(batch, max_leaves);
        if !batch.is_empty() {
            return Ok(true);
        }
        if self.pending() > 0 {
            self.absorb(batch)?;
        } // else everything was resolved without the evaluator
        Ok(false)
    }

    /// What the search thinks of the root's moves so far (`None` for the
    /// minimax searches, which keep no visit counts).
    pub fn analysis(&self) -> Option<super::Analysis> {
        if self.minimax.is_some() {
            return None;
        }
        Some(super::Analysis::of_tree(
            &self.tree,
            self.game.num_actions(),
        ))
    }

    /// Restarts the search's random generator (e.g. once per game, so that a
    /// game's moves depend only on its own seed).
    pub fn reseed(&mut self, seed: u64) {
        if let Some(m) = &mut self.minimax {
            return m.reseed(seed);
        }
        self.rng = ChaCha8Rng::seed_from_u64(seed);
    }
}

/// In the first `cfg.temperature_moves` moves of a game (`moves` played so
/// far), a move sampled in proportion to `weight^(1 / temperature)`; `None`
/// later, at temperature 0, or when every weight is 0. Self-play uses this
/// for opening diversity: PUCT samples from visit counts, Gumbel and the
/// minimax searches from their improved policy.
pub fn sample_early_move(
    rng: &mut ChaCha8Rng,
    cfg: &SearchConfig,
    moves: u32,
    weights: impl Iterator<Item = f32> + Clone,
) -> Option<usize> {
    if moves >= cfg.temperature_moves || cfg.temperature <= 0.0 {
        return None;
    }
    let inv_t = 1.0 / cfg.temperature as f64;
    let powered = weights.map(|w| if w > 0.0 { (w as f64).powf(inv_t) } else { 0.0 });
    // Hand-rolled rather than rand's WeightedIndex, which panics when the
    // total overflows to infinity (tiny temperatures); here that is None.
    let sum: f64 = powered.clone().sum();
    if !(sum > 0.0 && sum.is_finite()) {
        return None;
    }
    let mut x = rng.random::<f64>() * sum;
    let mut last = None;
    for (a, p) in powered.enumerate() {
        if p > 0.0 {
            if x < p {
                return Some(a);
            }
            x -= p;
            last = Some(a);
        }
    }
    last
}
