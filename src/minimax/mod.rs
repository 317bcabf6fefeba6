//! NN-guided minimax, batch-first: the network's policy chooses which moves
//! to look at, its value judges the leaves, and minimax backs the values up.
//!
//! Two searches, chosen by [`crate::mcts::Algorithm`]:
//! - **fixed-width minimax** (`minimax`): the root, then the top-k moves of
//!   every node of a depth (`widths`, e.g. 5,3,3), expanded *level by
//!   level*: each depth is one request (one batch slot range) for the whole
//!   frontier, so a move costs at most depth + 1 network calls. Empty
//!   `widths` deepens at full width until the evaluation budget is spent.
//!   A level that would overrun the budget keeps its most likely lines (the
//!   product of the priors along the path).
//! - **best-first minimax** (`descent`, after Cohen-Solal's Descent /
//!   unbounded best-first minimax): from the root follow the best child
//!   (minimax value) to a leaf, evaluate *all its children in one request*
//!   (or the `expand_width` most likely), back the values up, repeat until
//!   the budget of evaluations is spent. One leaf a call: a batch fills
//!   from the other games in flight (expansions in flight keep their paths
//!   busy, the minimax form of virtual loss).
//!
//! Both track exact values (completion): a terminal position's result is
//! exact; a node with a child that wins is an exact win; a node whose every
//! legal move is looked at and exact is exact. A found win is never lost to
//! a network value, and best-first search stops descending into solved
//! subtrees. Every expanded node also looks at each move that wins at once,
//! whatever its prior, so no search misses a win in one.
//!
//! Like [`crate::mcts`] this module never sees a network: leaves go out in
//! a [`Batch`] and results come back through [`MinimaxSearch::absorb`];
//! [`crate::mcts::Search`] hands its calls here for these algorithms, so
//! every player, match, self-play and GTP path can use them.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use crate::eval::Batch;
use crate::game::Game;
use crate::mcts::{sample_early_move, Algorithm, SearchConfig, SearchResult, SearchStats};

type NodeId = u32;
const ROOT: NodeId = 0;
const NONE: NodeId = u32::MAX;
/// Network values are kept inside this bound, so that an exact win (1)
/// always ranks above any network's opinion.
const NET_BOUND: f32 = 0.999;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    /// Created, not yet sent to the evaluator.
    Unevaluated,
    /// In a batch, waiting for its result.
    Pending,
    /// Has a network value and policy.
    Evaluated,
    /// The game is over here (exact value).
    Terminal,
    /// Left out of a level that would overrun the budget; never sent.
    Dropped,
}

struct Node<S> {
    state: S,
    parent: NodeId,
    action: u16,
    /// The parent's prior for the move into this node.
    prior: f32,
    /// Product of the priors along the path from the root.
    path_prior: f32,
    /// Moves from the root.
    depth: u32,
    status: Status,
    /// The network's value, for the side to move here.
    net_value: f32,
    /// Legal moves and their priors (after evaluation).
    policy: Vec<(u16, f32)>,
    /// Children: `first_child..first_child + child_count`.
    first_child: NodeId,
    child_count: u32,
    /// Every legal move has a child (a loss can be proven here).
    all_children: bool,
    /// Backed-up value for the side to move here, and whether it is exact.
    value: f32,
    exact: bool,
    /// Best-first: nothing left to expand below (exact, or every child is
    /// closed: with `expand_width` a node's children may all be solved while
    /// the node is not).
    closed: bool,
    /// Best-first: children of this node still waiting for the evaluator.
    waiting: u32,
    /// Best-first: expansions in flight in this subtree.
    busy: u32,
}

impl<S> Node<S> {
    fn new(
        state: S,
        parent: NodeId,
        action: usize,
        prior: f32,
        path_prior: f32,
        depth: u32,
    ) -> Self {
        Node {
            state,
            parent,
            action: action as u16,
            prior,
            path_prior,
            depth,
            status: Status::Unevaluated,
            net_value: 0.0,
            policy: Vec::new(),
            first_child: NONE,
            child_count: 0,
            all_children: false,
            value: 0.0,
            exact: false,
            closed: false,
            waiting: 0,
            busy: 0,
        }
    }

    fn children(&self) -> std::ops::Range<NodeId> {
        if self.first_child == NONE {
            0..0
        } else {
            self.first_child..self.first_child + self.child_count
        }
    }

    fn has_value(&self) -> bool {
        matches!(self.status, Status::Evaluated | Status::Terminal)
    }
}

/// A position sent to the evaluator: its node and batch slot.
#[derive(Clone, Copy, Debug)]
struct Pending {
    node: NodeId,
    batch: u64,
    slot: u32,
}

/// One game's NN-guided minimax search (see the module documentation).
pub struct MinimaxSearch<G: Game> {
    game: G,
    cfg: SearchConfig,
    nodes: Vec<Node<G::State>>,
    root_state: G::State,
    pending: Vec<Pending>,
    stats: SearchStats,
    rng: ChaCha8Rng,
    /// Evaluations this search may request (root included) and has requested.
    budget: u32,
    requested: u32,
    /// Fixed width: the depth of the frontier, the frontier, and whether it
    /// has been sent.
    level: usize,
    frontier: Vec<NodeId>,
    frontier_sent: bool,
    /// A level was cut to fit the budget: it is the last.
    budget_spent: bool,
    /// No more requests: the budget is spent, the widths are done, or the
    /// root is solved.
    finished: bool,
    begun: bool,
}

impl<G: Game> MinimaxSearch<G> {
    /// A search at the game's initial position; `cfg.algorithm` must be
    /// minimax or descent.
    pub fn new(game: G, cfg: SearchConfig, seed: u64) -> Result<Self> {
        if !cfg.algorithm.is_minimax() {
            return Err(Error::Config(format!(
                "{:?} is not a minimax algorithm",
                cfg.algorithm
            )));
        }
        Ok(MinimaxSearch {
            root_state: game.initial(),
            nodes: Vec::new(),
            pending: Vec::new(),
            stats: SearchStats::default(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            budget: 0,
            requested: 0,
            level: 0,
            frontier: Vec::new(),
            frontier_sent: false,
            budget_spent: false,
            finished: false,
            begun: false,
            game,
            cfg,
        })
    }

    pub fn game(&self) -> &G {
        &self.game
    }
    pub fn config(&self) -> &SearchConfig {
        &self.cfg
    }
    /// See [`crate::mcts::Search::set_max_depth`].
    pub fn set_max_depth(&mut self, depth: u32) {
        self.cfg.max_depth = depth;
    }
    pub fn root_state(&self) -> &G::State {
        &self.root_state
    }
    pub fn stats(&self) -> &SearchStats {
        &self.stats
    }
    pub fn reset_stats(&mut self) {
        self.stats = SearchStats::default();
    }
    /// Positions waiting for their batch.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
    /// Nodes in the current tree.
    pub fn nodes(&self) -> usize {
        self.nodes.len()
    }
    pub fn reseed(&mut self, seed: u64) {
        self.rng = ChaCha8Rng::seed_from_u64(seed);
    }

    /// Starts over from `state`.
    pub fn reset(&mut self, state: G::State) {
        self.pending.clear();
        self.nodes.clear();
        self.root_state = state;
        self.begun = false;
    }

    /// Plays `action` at the root (checked). The tree is not kept: minimax
    /// values depend on the depth searched, so each move searches afresh.
    pub fn advance(&mut self, action: usize) -> Result<()> {
        if !self.pending.is_empty() {
            return Err(Error::Evaluator(
                "advance() while positions are in flight".into(),
            ));
        }
        self.game.play(&mut self.root_state, action)?;
        self.nodes.clear();
        self.begun = false;
        Ok(())
    }

    /// Begins a search of at most `evaluations` network evaluations below
    /// the root (the root's own comes on top, as for MCTS).
    pub fn begin(&mut self, evaluations: u32) -> Result<()> {
        if self.game.terminal_value(&self.root_state).is_some() {
            return Err(Error::IllegalMove {
                mv: "(search)".into(),
                reason: "the game is over".into(),
            });
        }
        if !self.pending.is_empty() {
            return Err(Error::Evaluator(
                "begin() while positions are in flight".into(),
            ));
        }
        self.nodes.clear();
        self.nodes
            .push(Node::new(self.root_state.clone(), NONE, 0, 1.0, 1.0, 0));
        self.budget = evaluations.saturating_add(1);
        self.requested = 0;
        self.level = 0;
        self.frontier.clear();
        self.frontier.push(ROOT);
        self.frontier_sent = false;
        self.budget_spent = false;
        self.finished = false;
        self.begun = true;
        Ok(())
    }

    /// Whether the search has finished (nothing more to request, nothing in
    /// flight).
    pub fn is_done(&self) -> bool {
        self.begun && self.finished && self.pending.is_empty()
    }

    /// Appends the positions this search needs next to `batch`: the whole
    /// next level (fixed width), or the children of one leaf (best first):
    /// the leaf limit does not split either. Returns how many; 0 while
    /// waiting for results.
    pub fn gather(&mut self, batch: &mut Batch, _max_leaves: usize) -> usize {
        if !self.begun || self.finished {
            return 0;
        }
        let added = match self.cfg.algorithm {
            Algorithm::Descent => self.gather_best_first(batch),
            _ => self.gather_level(batch),
        };
        if added > 0 {
            self.stats.batches += 1;
        }
        added
    }

    /// Takes back this search's results from `batch`.
    pub fn absorb(&mut self, batch: &Batch) -> Result<()> {
        let mut i = 0;
        let mut touched = false;
        while i < self.pending.len() {
            let p = self.pending[i];
            if p.batch != batch.id {
                i += 1;
                continue;
            }
            self.pending.swap_remove(i);
            self.absorb_position(p, batch)?;
            touched = true;
        }
        if !touched {
            return Ok(());
        }
        match self.cfg.algorithm {
            Algorithm::Descent => {}
            _ => {
                if self.pending.is_empty() {
                    self.finish_level();
                }
            }
        }
        Ok(())
    }

    fn absorb_position(&mut self, p: Pending, batch: &Batch) -> Result<()> {
        let (value, priors, legal) = batch.result_row(p.slot as usize)?;
        let value = value.clamp(-NET_BOUND, NET_BOUND);
        let mut policy = Vec::new();
        for (a, (&legal, &prior)) in legal.iter().zip(priors).enumerate() {
            if legal != 0 {
                policy.push((a as u16, prior.max(0.0)));
            }
        }
        normalise(&mut policy);
        let capped = self.at_depth_limit(p.node);
        let n = &mut self.nodes[p.node as usize];
        n.status = Status::Evaluated;
        // Best first: a leaf at the depth limit is never expanded.
        n.closed = capped;
        n.net_value = value;
        n.value = value;
        n.policy = policy;
        self.stats.simulations += u64::from(p.node != ROOT);
        if self.cfg.algorithm == Algorithm::Descent && p.node != ROOT {
            let parent = self.nodes[p.node as usize].parent;
            self.child_back(parent);
        }
        Ok(())
    }

    /// Best first: a child of `parent` came back; when the last one has,
    /// the expansion is complete and its values go up the tree.
    fn child_back(&mut self, parent: NodeId) {
        let p = &mut self.nodes[parent as usize];
        p.waiting -= 1;
        if p.waiting > 0 {
            return;
        }
        let mut n = parent;
        while n != NONE {
            self.nodes[n as usize].busy -= 1;
            n = self.nodes[n as usize].parent;
        }
        self.backup_path(parent);
    }

    fn request(&mut self, node: NodeId, batch: &mut Batch) {
        let slot = batch.push(&self.game, &self.nodes[node as usize].state) as u32;
        self.nodes[node as usize].status = Status::Pending;
        self.pending.push(Pending {
            node,
            batch: batch.id,
            slot,
        });
        self.requested += 1;
        self.stats.requests += 1;
    }

    /// Creates the children of `node`: every move that ends the game at
    /// once in a win for the mover (whatever its prior), then the `width`
    /// most likely other moves (all with `width` 0). Terminal children get
    /// their exact value. Returns the new children's range.
    fn add_children(&mut self, node: NodeId, width: usize) -> std::ops::Range<NodeId> {
        let first = self.nodes.len() as NodeId;
        let parent = &self.nodes[node as usize];
        let mut ranked = parent.policy.clone();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let (path_prior, depth) = (parent.path_prior, parent.depth + 1);
        let width = if width == 0 { ranked.len() } else { width };
        let mut taken = 0usize;
        let mut all = true;
        for &(a, prior) in &ranked {
            let mut s = self.nodes[node as usize].state.clone();
            self.game.apply(&mut s, a as usize);
            let terminal = self.game.terminal_value(&s);
            let wins = terminal.is_some_and(|v| v < 0.0);
            if taken >= width && !wins {
                all = false;
                continue;
            }
            if taken < width {
                taken += 1;
            }
            let mut child = Node::new(s, node, a as usize, prior, path_prior * prior, depth);
            if let Some(v) = terminal {
                child.status = Status::Terminal;
                child.value = v;
                child.net_value = v;
                child.exact = true;
                self.stats.terminal_hits += 1;
            }
            self.nodes.push(child);
        }
        let end = self.nodes.len() as NodeId;
        let n = &mut self.nodes[node as usize];
        n.first_child = first;
        n.child_count = end - first;
        n.all_children = all;
        first..end
    }

    /// Recomputes `node`'s value from its children (negamax, with exact
    /// values): an exact win if a child is an exact loss for its side to
    /// move; exact if every legal move has an exact child; otherwise the
    /// best child's value. A node without valued children keeps its
    /// network value.
    fn recompute(&mut self, node: NodeId) {
        let n = &self.nodes[node as usize];
        if n.status == Status::Terminal {
            return;
        }
        let mut best: Option<(f32, bool)> = None;
        let mut all_exact = n.all_children;
        let mut all_closed = n.first_child != NONE;
        for c in n.children() {
            let c = &self.nodes[c as usize];
            if !c.has_value() {
                all_exact = false;
                all_closed &= c.status == Status::Dropped;
                continue;
            }
            all_exact &= c.exact;
            all_closed &= c.exact || c.closed;
            let v = -c.value;
            if best.is_none_or(|(b, be)| v > b || (v == b && c.exact && !be)) {
                best = Some((v, c.exact));
            }
        }
        // At the depth limit a leaf has nothing left to expand.
        let capped = n.first_child == NONE && self.at_depth_limit(node);
        let n = &mut self.nodes[node as usize];
        match best {
            None => {
                n.value = n.net_value;
                n.exact = false;
            }
            Some((v, exact)) => {
                n.exact = (exact && v >= 1.0) || all_exact;
                let w = self.cfg.value_blend;
                n.value = if n.exact || w == 0.0 {
                    v
                } else {
                    (1.0 - w) * v + w * n.net_value
                };
            }
        }
        n.closed = n.exact || all_closed || capped;
    }

    /// Whether `node` is at `max_depth` (never expanded below).
    fn at_depth_limit(&self, node: NodeId) -> bool {
        let max = self.cfg.max_depth;
        max > 0 && self.nodes[node as usize].depth >= max
    }

    /// Recomputes the values from `node` up to the root.
    fn backup_path(&mut self, node: NodeId) {
        let mut n = node;
        while n != NONE {
            self.recompute(n);
            n = self.nodes[n as usize].parent;
        }
        if self.nodes[ROOT as usize].exact {
            self.finished = true;
        }
    }

    // ---- fixed width, level by level ----

    fn gather_level(&mut self, batch: &mut Batch) -> usize {
        loop {
            if self.finished || !self.pending.is_empty() {
                return 0;
            }
            if !self.frontier_sent {
                self.frontier_sent = true;
                let mut added = 0;
                for i in 0..self.frontier.len() {
                    let n = self.frontier[i];
                    if self.nodes[n as usize].status == Status::Unevaluated {
                        self.request(n, batch);
                        added += 1;
                    }
                }
                if added > 0 {
                    return added;
                }
            }
            // Everything on the frontier was terminal: next level now.
            self.finish_level();
        }
    }

    /// The frontier's results are all back: values up the tree, then the
    /// next level's frontier (or the end of the search).
    fn finish_level(&mut self) {
        for n in (0..self.nodes.len() as NodeId).rev() {
            self.recompute(n);
        }
        let widths = &self.cfg.widths;
        let auto = widths.is_empty();
        let max_depth = self.cfg.max_depth as usize;
        if self.nodes[ROOT as usize].exact
            || self.budget_spent
            || (!auto && self.level >= widths.len())
            || (max_depth > 0 && self.level >= max_depth)
        {
            self.finished = true;
            return;
        }
        let width = widths.get(self.level).copied().unwrap_or(0);
        let frontier = std::mem::take(&mut self.frontier);
        let mut next = Vec::new();
        for &n in &frontier {
            let node = &self.nodes[n as usize];
            if node.status != Status::Evaluated || node.exact {
                continue;
            }
            next.extend(self.add_children(n, width));
        }
        let left = self.budget.saturating_sub(self.requested) as usize;
        let wanted: Vec<NodeId> = next
            .iter()
            .copied()
            .filter(|&c| self.nodes[c as usize].status == Status::Unevaluated)
            .collect();
        if wanted.len() > left {
            self.trim_level(&wanted, left);
        }
        // Terminal children count at once.
        for &c in &next {
            if self.nodes[c as usize].status == Status::Terminal {
                let p = self.nodes[c as usize].parent;
                self.backup_path(p);
            }
        }
        self.frontier = next
            .into_iter()
            .filter(|&c| self.nodes[c as usize].status == Status::Unevaluated)
            .collect();
        self.level += 1;
        self.frontier_sent = false;
        if self.frontier.is_empty() || self.nodes[ROOT as usize].exact {
            self.finished = true;
        }
    }

    /// Keeps the `keep` most likely of the level's new positions (path
    /// prior) and drops the others from their parents (the parents are no
    /// longer fully expanded).
    fn trim_level(&mut self, wanted: &[NodeId], keep: usize) {
        let mut ranked = wanted.to_vec();
        ranked.sort_by(|&a, &b| {
            let (pa, pb) = (
                self.nodes[a as usize].path_prior,
                self.nodes[b as usize].path_prior,
            );
            pb.total_cmp(&pa).then(a.cmp(&b))
        });
        for &c in &ranked[keep..] {
            let parent = self.nodes[c as usize].parent;
            self.nodes[parent as usize].all_children = false;
            self.nodes[c as usize].status = Status::Dropped;
        }
        self.budget_spent = true;
    }

    // ---- best first (Descent) ----

    fn gather_best_first(&mut self, batch: &mut Batch) -> usize {
        let root = &self.nodes[ROOT as usize];
        match root.status {
            Status::Unevaluated => {
                self.request(ROOT, batch);
                return 1;
            }
            Status::Pending => return 0,
            _ => {}
        }
        // One expansion a call: expanding several leaves of one tree at once
        // (each keeping the others' paths busy) made it weaker on Connect
        // Four (121 against 107 wrong of 1,000 at 256 evaluations); a batch
        // fills from the other games in flight instead.
        let mut added = 0;
        loop {
            if self.requested >= self.budget || self.budget_spent || self.nodes[ROOT as usize].exact
            {
                break;
            }
            let Some(leaf) = self.select_leaf() else {
                break;
            };
            // An expansion that would overrun the budget waits for the next
            // search (the root's own always goes).
            let legal = self.nodes[leaf as usize].policy.len();
            let cost = match self.cfg.expand_width {
                0 => legal,
                w => w.min(legal),
            } as u32;
            if leaf != ROOT && self.requested + cost > self.budget {
                self.budget_spent = true;
                break;
            }
            added += self.expand_leaf(leaf, batch);
            if added > 0 {
                break;
            }
        }
        if self.pending.is_empty()
            && (self.requested >= self.budget
                || self.budget_spent
                || self.nodes[ROOT as usize].exact
                || self.select_leaf().is_none())
        {
            self.finished = true;
        }
        added
    }

    /// Follows the best unsolved, idle child from the root to an evaluated
    /// leaf; `None` when every line is solved or busy.
    fn select_leaf(&self) -> Option<NodeId> {
        let mut n = ROOT;
        loop {
            let node = &self.nodes[n as usize];
            if node.exact || node.closed {
                return None;
            }
            if node.first_child == NONE {
                return (node.status == Status::Evaluated).then_some(n);
            }
            let mut best: Option<(f32, f32, NodeId)> = None;
            for c in node.children() {
                let child = &self.nodes[c as usize];
                if child.exact || child.closed || child.busy > 0 || !child.has_value() {
                    continue;
                }
                let key = (-child.value, child.prior);
                if best.is_none_or(|(v, p, _)| key.0 > v || (key.0 == v && key.1 > p)) {
                    best = Some((key.0, key.1, c));
                }
            }
            n = best?.2;
        }
    }

    /// Creates `leaf`'s children and requests those that need the network;
    /// returns how many were requested.
    fn expand_leaf(&mut self, leaf: NodeId, batch: &mut Batch) -> usize {
        let children = self.add_children(leaf, self.cfg.expand_width);
        let mut added = 0;
        for c in children {
            if self.nodes[c as usize].status == Status::Unevaluated {
                self.request(c, batch);
                added += 1;
            }
        }
        if added == 0 {
            self.backup_path(leaf);
            return 0;
        }
        self.nodes[leaf as usize].waiting = added as u32;
        let mut n = leaf;
        while n != NONE {
            self.nodes[n as usize].busy += 1;
            n = self.nodes[n as usize].parent;
        }
        added
    }

    // ---- result ----

    /// The finished search's move, policy target and value. The move is the
    /// root child with the best minimax value (exact first on ties, then the
    /// prior); the policy target is the network's prior improved by the
    /// children's values (Gumbel's completed-Q form: softmax of log prior +
    /// sigma(q), q the child's minimax value where it has one, the root's
    /// value elsewhere); early in a self-play game the move is sampled from
    /// it with the temperature.
    pub fn result(&mut self) -> Result<SearchResult> {
        let root = self.nodes.first().filter(|r| r.has_value());
        let Some(root) = root else {
            return Err(Error::Evaluator("the root was never evaluated".into()));
        };
        let num_actions = self.game.num_actions();
        let mut visits = vec![0u32; num_actions];
        let sizes = self.subtree_sizes();
        let mut best: Option<(f32, bool, f32, usize)> = None;
        let mut q = vec![f32::NAN; num_actions];
        for c in root.children() {
            let child = &self.nodes[c as usize];
            if !child.has_value() {
                continue;
            }
            let a = child.action as usize;
            visits[a] = sizes[c as usize];
            q[a] = -child.value;
            let key = (-child.value, child.exact, child.prior, a);
            let better = match best {
                None => true,
                Some(b) => {
                    key.0 > b.0
                        || (key.0 == b.0 && key.1 && !b.1)
                        || (key.0 == b.0 && key.1 == b.1 && key.2 > b.2)
                }
            };
            if better {
                best = Some(key);
            }
        }
        let root_value = root.value;
        let greedy = match best {
            Some(b) => b.3,
            None => root
                .policy
                .iter()
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|p| p.0 as usize)
                .ok_or_else(|| Error::Evaluator("the root has no legal move".into()))?,
        };
        let mut policy = vec![0f32; num_actions];
        let sigma = (self.cfg.gumbel_c_visit + 1.0) * self.cfg.gumbel_c_scale;
        let mut max_logit = f32::NEG_INFINITY;
        for &(a, p) in &root.policy {
            let qa = if q[a as usize].is_nan() {
                root.net_value
            } else {
                q[a as usize]
            };
            let logit = p.max(1e-8).ln() + sigma * qa;
            policy[a as usize] = logit;
            max_logit = max_logit.max(logit);
        }
        let mut total = 0.0;
        for &(a, _) in &root.policy {
            let e = (policy[a as usize] - max_logit).exp();
            policy[a as usize] = e;
            total += e;
        }
        for p in &mut policy {
            *p /= total.max(f32::MIN_POSITIVE);
        }
        let moves = self.game.moves_played(&self.root_state) as u32;
        let action = sample_early_move(&mut self.rng, &self.cfg, moves, policy.iter().copied())
            .unwrap_or(greedy);
        Ok(SearchResult {
            action,
            policy,
            search_visits: visits.clone(),
            visits,
            value: root_value,
            simulations: self.requested.saturating_sub(1),
        })
    }

    /// Evaluated positions in each node's subtree (itself included).
    fn subtree_sizes(&self) -> Vec<u32> {
        let mut sizes: Vec<u32> = self
            .nodes
            .iter()
            .map(|n| u32::from(n.has_value()))
            .collect();
        for i in (1..self.nodes.len()).rev() {
            let p = self.nodes[i].parent;
            if p != NONE {
                sizes[p as usize] += sizes[i];
            }
        }
        sizes
    }

    /// The principal variation: the best child from the root down, as far
    /// as the tree goes.
    pub fn principal_variation(&self) -> Vec<usize> {
        let mut pv = Vec::new();
        let mut n = ROOT;
        while let Some(node) = self.nodes.get(n as usize) {
            let best = node
                .children()
                .filter(|&c| self.nodes[c as usize].has_value())
                .max_by(|&a, &b| {
                    let (x, y) = (&self.nodes[a as usize], &self.nodes[b as usize]);
                    (-x.value)
                        .total_cmp(&-y.value)
                        .then(x.prior.total_cmp(&y.prior))
                });
            let Some(c) = best else { break };
            pv.push(self.nodes[c as usize].action as usize);
            n = c;
        }
        pv
    }

    /// The root's value for its side to move and whether it is proven.
    pub fn root_value(&self) -> Option<(f32, bool)> {
        self.nodes
            .first()
            .filter(|r| r.has_value())
            .map(|r| (r.value, r.exact))
    }
}

/// Scales priors to sum to 1 (uniform when they are all 0).
fn normalise(policy: &mut [(u16, f32)]) {
    let total: f32 = policy.iter().map(|p| p.1).sum();
    let n = policy.len().max(1) as f32;
    for p in policy.iter_mut() {
        p.1 = if total > 0.0 { p.1 / total } else { 1.0 / n };
    }
}
