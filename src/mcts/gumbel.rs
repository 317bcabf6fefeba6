//! Gumbel MuZero search rules (Danihelka et al., "Policy improvement by
//! planning with Gumbel", ICLR 2022), following DeepMind's mctx:
//! - root: sequential halving over the top-m actions by `gumbel + logit`,
//!   scheduled by a table of "considered visit" counts;
//! - interior: the deterministic choice `argmax(pi'(a) - N(a) / (1 + sum N))`
//!   with `pi' = softmax(logits + sigma(completed Q))`;
//! - policy target: `softmax(logits + sigma(completed Q))` at the root.
//!
//! Visit counts include simulations in flight, and in-flight simulations count
//! as losses in Q, so several leaves can be selected before results return.

use rand::Rng;

use super::puct::child_q;
use super::tree::{NodeId, Tree};

/// Log of a prior, floored so that zero priors stay finite.
#[inline]
fn logit(p: f32) -> f32 {
    p.max(f32::MIN_POSITIVE).ln()
}

/// Per-search root state: Gumbel noise per root child, the schedule, and
/// the root children's visits when the search began.
///
/// With tree reuse the root's children arrive with visits from earlier
/// searches. Sequential halving and the final choice count only this
/// search's own visits (`visits - base`), so a reused tree searches the same
/// schedule as a fresh one; the reused visits still inform the Q values and
/// everything below the root.
#[derive(Default, Clone, Debug)]
pub(crate) struct GumbelRoot {
    /// `[children of the root]` Gumbel(0, 1) samples.
    pub gumbel: Vec<f32>,
    /// `[children of the root]` visits each child had before this search.
    base: Vec<u32>,
    /// Visit count the chosen root action must have, by simulation index.
    table: Vec<u32>,
    pub ready: bool,
}

impl GumbelRoot {
    /// Draws the noise for the root's children, records their visits so far
    /// and builds the schedule for `m` considered actions (capped by the
    /// number of children) and `sims` simulations.
    pub fn init<R: Rng>(&mut self, t: &Tree, m: usize, sims: u32, rng: &mut R) {
        let children = t.children(super::tree::ROOT);
        let k = children.len();
        self.gumbel.clear();
        self.gumbel.extend((0..k).map(|_| {
            let u: f32 = rng.random_range(f32::MIN_POSITIVE..1.0);
            -(-u.ln()).ln()
        }));
        self.base.clear();
        self.base.extend(children.map(|c| t.visits[c as usize]));
        self.table = considered_visits(m.min(k).max(1), sims);
        self.ready = true;
    }

    /// Visits (finished and in flight) of root child number `k` (its index
    /// among the root's children) from this search alone.
    fn own_visits(&self, t: &Tree, c: NodeId, k: usize) -> u32 {
        let i = c as usize;
        (t.visits[i] + t.in_flight[i]).saturating_sub(self.base.get(k).copied().unwrap_or(0))
    }

    fn considered_visit(&self, sim_index: u32) -> u32 {
        match self.table.len() {
            0 => 0,
            n => self.table[(sim_index as usize).min(n - 1)],
        }
    }
}

/// The sequence of visit counts that sequential halving gives to the chosen
/// root action at each simulation (mctx's `get_sequence_of_considered_visits`)
/// for `m` considered actions and `sims` simulations.
pub fn considered_visits(m: usize, sims: u32) -> Vec<u32> {
    let n = sims as usize;
    if m <= 1 {
        return (0..sims).collect();
    }
    let log2m = (m as f64).log2().ceil() as usize;
    let mut seq = Vec::with_capacity(n);
    let mut visits = vec![0u32; m];
    let mut considered = m;
    while seq.len() < n {
        let extra = (n / (log2m * considered)).max(1);
        for _ in 0..extra {
            seq.extend_from_slice(&visits[..considered]);
            for v in &mut visits[..considered] {
                *v += 1;
            }
        }
        considered = (considered / 2).max(2);
    }
    seq.truncate(n);
    seq
}

/// Writes `sigma(completed Q)` of `node`'s children into `out`:
/// unvisited children take the mixed value estimate, all are rescaled to
/// [0, 1] by their min and max, then scaled by `(c_visit + max N) * c_scale`.
pub(crate) fn transformed_q(
    t: &Tree,
    node: NodeId,
    c_visit: f32,
    c_scale: f32,
    out: &mut Vec<f32>,
) {
    out.clear();
    let children = t.children(node);
    let (mut sum_n, mut max_n, mut sum_p, mut sum_pq) = (0u32, 0u32, 0f32, 0f32);
    for c in children.clone() {
        let k = c as usize;
        let n = t.visits[k] + t.in_flight[k];
        sum_n += n;
        max_n = max_n.max(n);
        if let Some(q) = child_q(t, k) {
            let p = t.prior[k].max(f32::MIN_POSITIVE);
            sum_p += p;
            sum_pq += p * q;
        }
    }
    let raw = t.net_value[node as usize];
    let weighted_q = if sum_p > 0.0 { sum_pq / sum_p } else { 0.0 };
    let mixed = (raw + sum_n as f32 * weighted_q) / (1.0 + sum_n as f32);
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for c in children {
        let q = child_q(t, c as usize).unwrap_or(mixed);
        lo = lo.min(q);
        hi = hi.max(q);
        out.push(q);
    }
    let range = (hi - lo).max(1e-8);
    let scale = (c_visit + max_n as f32) * c_scale;
    for q in out.iter_mut() {
        *q = scale * (*q - lo) / range;
    }
}

/// Root choice: among actions whose visit count in this search equals the
/// schedule's considered count, the best `gumbel + logit + sigma(Q)`. When
/// in-flight simulations leave no action at that count, the best among the
/// actions with the fewest visits in this search.
pub(crate) fn select_root(
    t: &Tree,
    root: &GumbelRoot,
    sim_index: u32,
    c_visit: f32,
    c_scale: f32,
    q: &mut Vec<f32>,
) -> NodeId {
    transformed_q(t, super::tree::ROOT, c_visit, c_scale, q);
    let target = root.considered_visit(sim_index);
    let children = t.children(super::tree::ROOT);
    let first = children.start;
    let eff = |c: NodeId| root.own_visits(t, c, (c - first) as usize);
    let score = |c: NodeId| {
        let k = (c - first) as usize;
        root.gumbel[k] + logit(t.prior[c as usize]) + q[k]
    };
    let pick = |filter: &dyn Fn(NodeId) -> bool| {
        children
            .clone()
            .filter(|&c| filter(c))
            .max_by(|&a, &b| score(a).total_cmp(&score(b)))
    };
    pick(&|c| eff(c) == target).unwrap_or_else(|| {
        let fewest = children.clone().map(eff).min().unwrap_or(0);
        pick(&|c| eff(c) == fewest).expect("root has children")
    })
}

/// Interior choice: `argmax(pi'(a) - N(a) / (1 + sum N))`.
pub(crate) fn select_interior(
    t: &Tree,
    node: NodeId,
    c_visit: f32,
    c_scale: f32,
    q: &mut Vec<f32>,
) -> NodeId {
    transformed_q(t, node, c_visit, c_scale, q);
    let children = t.children(node);
    let first = children.start;
    // softmax(logit + sigma(q)), computed in place in `q`
    let mut max_l = f32::NEG_INFINITY;
    for (k, c) in children.clone().enumerate() {
        q[k] += logit(t.prior[c as usize]);
        max_l = max_l.max(q[k]);
    }
    let mut total = 0.0;
    for x in q.iter_mut() {
        *x = (*x - max_l).exp();
        total += *x;
    }
    let sum_n: u32 = children
        .clone()
        .map(|c| t.visits[c as usize] + t.in_flight[c as usize])
        .sum();
    let mut best = first;
    let mut best_score = f32::NEG_INFINITY;
    for (k, c) in children.enumerate() {
        let n = (t.visits[c as usize] + t.in_flight[c as usize]) as f32;
        let s = q[k] / total - n / (1.0 + sum_n as f32);
        if s > best_score {
            best_score = s;
            best = c;
        }
    }
    best
}

/// The action to play (the best `gumbel + logit + sigma(Q)` among the root
/// actions this search visited most: sequential halving's winner) and the
/// improved policy `softmax(logit + sigma(Q))`, written into `policy`
/// (indexed by action, 0 for illegal actions).
pub(crate) fn final_choice(
    t: &Tree,
    root: &GumbelRoot,
    c_visit: f32,
    c_scale: f32,
    q: &mut Vec<f32>,
    policy: &mut [f32],
) -> NodeId {
    let r = super::tree::ROOT;
    transformed_q(t, r, c_visit, c_scale, q);
    let children = t.children(r);
    let first = children.start;
    let own = |c: NodeId| root.own_visits(t, c, (c - first) as usize);
    let max_n = children.clone().map(own).max().unwrap_or(0);
    let noise = |k: usize| root.gumbel.get(k).copied().unwrap_or(0.0);
    let best = children
        .clone()
        .filter(|&c| own(c) == max_n)
        .max_by(|&a, &b| {
            let s = |c: NodeId| {
                let k = (c - first) as usize;
                noise(k) + logit(t.prior[c as usize]) + q[k]
            };
            s(a).total_cmp(&s(b))
        })
        .expect("root has children");
    let logits: Vec<f32> = children
        .clone()
        .enumerate()
        .map(|(k, c)| logit(t.prior[c as usize]) + q[k])
        .collect();
    let max_l = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let total: f32 = logits.iter().map(|l| (l - max_l).exp()).sum();
    policy.fill(0.0);
    for (c, l) in children.zip(&logits) {
        policy[t.action[c as usize] as usize] = (l - max_l).exp() / total;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::considered_visits;

    #[test]
    fn schedule_matches_mctx() {
        // mctx: get_sequence_of_considered_visits(4, 16) — 2 phases of 8 visits:
        // first every action twice (n / (log2m * m) = 2), then the top 2 four times.
        assert_eq!(
            considered_visits(4, 16),
            vec![0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
        );
        assert_eq!(considered_visits(1, 3), vec![0, 1, 2]);
        assert_eq!(considered_visits(16, 4), vec![0, 0, 0, 0]);
    }
}
