//! What a search thinks of its root's moves, for analysis output (GTP's
//! `lz-analyze` / `kata-analyze`) and for time-limited play: every visited
//! move with its visits, value, prior, a lower confidence bound and its
//! principal variation.

use super::tree::{NodeId, Tree, ROOT};

/// One candidate move at the root.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub action: usize,
    pub visits: u32,
    /// Mean value for the side to move at the root, in [-1, 1].
    pub value: f32,
    /// The network's prior (or the uniform prior of rollouts).
    pub prior: f32,
    /// A lower confidence bound of the winning probability (`winrate`
    /// minus 1.96 standard errors of a Bernoulli mean, 0 when unvisited).
    pub lcb: f32,
    /// The moves the search expects from here, this move first (each next
    /// one the most visited child), at most [`Analysis::PV_LEN`].
    pub pv: Vec<usize>,
}

impl Candidate {
    /// The winning probability for the side to move, in [0, 1].
    pub fn winrate(&self) -> f32 {
        (self.value + 1.0) / 2.0
    }
}

/// The root's candidates, best first (visits, then prior).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Analysis {
    pub candidates: Vec<Candidate>,
    /// Visits of the root (all simulations through it, reused ones included).
    pub root_visits: u32,
    /// Visits per action (the length of the action space), for
    /// [`crate::players::guarded_action`].
    pub visits: Vec<u32>,
}

impl Analysis {
    /// Longest principal variation reported.
    pub const PV_LEN: usize = 15;

    /// The analysis of `tree`'s root (`num_actions`: the game's action
    /// space). Unvisited moves are left out.
    pub fn of_tree(tree: &Tree, num_actions: usize) -> Analysis {
        let mut visits = vec![0u32; num_actions];
        let mut candidates = Vec::new();
        if !tree.is_empty() && tree.num_children[ROOT as usize] > 0 {
            for c in tree.children(ROOT) {
                let n = tree.visits(c);
                visits[tree.action(c)] = n;
                let Some(value) = tree.mean_value(c) else {
                    continue;
                };
                let w = ((value + 1.0) / 2.0).clamp(0.0, 1.0);
                let lcb = (w - 1.96 * (w * (1.0 - w) / n as f32).sqrt()).max(0.0);
                candidates.push(Candidate {
                    action: tree.action(c),
                    visits: n,
                    value,
                    prior: tree.prior(c),
                    lcb,
                    pv: principal_variation(tree, c),
                });
            }
        }
        candidates.sort_by(|a, b| {
            b.visits
                .cmp(&a.visits)
                .then(b.prior.total_cmp(&a.prior))
                .then(a.action.cmp(&b.action))
        });
        Analysis {
            candidates,
            root_visits: tree.visits(ROOT),
            visits,
        }
    }

    /// The most visited move (ties: the higher prior), if any was visited.
    pub fn best(&self) -> Option<&Candidate> {
        self.candidates.first()
    }
}

/// `node`'s action, then the most visited child's, and so on.
fn principal_variation(tree: &Tree, node: NodeId) -> Vec<usize> {
    let mut pv = vec![tree.action(node)];
    let mut n = node;
    while pv.len() < Analysis::PV_LEN && tree.num_children[n as usize] > 0 {
        let Some(next) = tree
            .children(n)
            .filter(|&c| tree.visits(c) > 0)
            .max_by(|&a, &b| {
                tree.visits(a)
                    .cmp(&tree.visits(b))
                    .then(tree.prior(a).total_cmp(&tree.prior(b)))
            })
        else {
            break;
        };
        pv.push(tree.action(next));
        n = next;
    }
    pv
}
