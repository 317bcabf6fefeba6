//! AlphaZero PUCT child selection and root Dirichlet noise.

use rand::Rng;
use rand_distr::{Distribution, Gamma};

use super::tree::{NodeId, Tree};

/// Mean value of child `c` counting each simulation in flight through it as a
/// loss (virtual loss); `None` when it has neither visits nor simulations in flight.
#[inline]
pub(crate) fn child_q(t: &Tree, c: usize) -> Option<f32> {
    let n = t.visits[c] + t.in_flight[c];
    (n > 0).then(|| (t.value_sum[c] - t.in_flight[c] as f32) / n as f32)
}

/// The child of `node` maximising `Q + c_puct * P * sqrt(N) / (1 + n)`, where
/// counts include simulations in flight and unvisited children take the
/// parent's mean value minus `fpu_reduction`.
pub(crate) fn select_child(t: &Tree, node: NodeId, c_puct: f32, fpu_reduction: f32) -> NodeId {
    select_child_forced(t, node, c_puct, fpu_reduction, 0.0)
}

/// The visits KataGo's forced playouts give a root child of prior `prior`
/// when the root has `total` visits: `sqrt(k prior total)`.
#[inline]
pub(crate) fn forced_visits(k: f32, prior: f32, total: f32) -> f32 {
    (k * prior * total).sqrt()
}

/// [`select_child`] with forced playouts (`k > 0`, at the root): a child
/// with fewer than [`forced_visits`] visits (in flight included) is taken
/// first, the one with the highest prior among several.
pub(crate) fn select_child_forced(
    t: &Tree,
    node: NodeId,
    c_puct: f32,
    fpu_reduction: f32,
    forced: f32,
) -> NodeId {
    let i = node as usize;
    let sqrt_n = ((t.visits[i] + t.in_flight[i]) as f32).sqrt();
    // The parent's value_sum is from its parent's side: negate for its children's movers.
    let parent_q = if t.visits[i] > 0 {
        -t.value_sum[i] / t.visits[i] as f32
    } else {
        0.0
    };
    let fpu = parent_q - fpu_reduction;
    let children = t.children(node);
    let mut best = children.start;
    let mut best_score = f32::NEG_INFINITY;
    for c in children {
        let k = c as usize;
        let n = (t.visits[k] + t.in_flight[k]) as f32;
        let q = child_q(t, k).unwrap_or(fpu);
        let mut score = q + c_puct * t.prior[k] * sqrt_n / (1.0 + n);
        if forced > 0.0 && n < forced_visits(forced, t.prior[k], sqrt_n * sqrt_n) {
            score = 1e9 + t.prior[k];
        }
        if score > best_score {
            best_score = score;
            best = c;
        }
    }
    best
}

/// KataGo's policy target pruning for a root searched with forced
/// playouts (`k`): `visits[c]` of every root child (by child order) less
/// the forced visits it can lose while its PUCT score stays below the most
/// visited child's; children left with one visit or fewer get none. The
/// most visited child keeps its visits.
pub(crate) fn pruned_visits(t: &Tree, node: NodeId, c_puct: f32, k: f32) -> Vec<f32> {
    let children = t.children(node);
    let visits: Vec<f32> = children
        .clone()
        .map(|c| t.visits[c as usize] as f32)
        .collect();
    let total: f32 = visits.iter().sum();
    let Some(best) = (0..visits.len()).max_by(|&a, &b| visits[a].total_cmp(&visits[b])) else {
        return visits;
    };
    let sqrt_n = total.sqrt();
    let score = |c: usize, n: f32| {
        let id = children.start as usize + c;
        child_q(t, id).unwrap_or(0.0) + c_puct * t.prior[id] * sqrt_n / (1.0 + n)
    };
    let best_score = score(best, visits[best]);
    visits
        .iter()
        .enumerate()
        .map(|(c, &n)| {
            if c == best || n == 0.0 {
                return n;
            }
            let id = children.start as usize + c;
            let q = child_q(t, id).unwrap_or(0.0);
            let floor = n - forced_visits(k, t.prior[id], total);
            // The fewest visits at which the score stays below the best's:
            // q + c P sqrt(N) / (1 + n') < best  <=>  n' > c P sqrt(N) / (best - q) - 1.
            let gap = best_score - q;
            let keep = if gap <= 0.0 {
                n
            } else {
                let needed = c_puct * t.prior[id] * sqrt_n / gap - 1.0;
                needed.max(floor).clamp(0.0, n)
            };
            if keep <= 1.0 {
                0.0
            } else {
                keep
            }
        })
        .collect()
}

/// Mixes `Dirichlet(alpha)` noise into the priors of `node`'s children:
/// `P = (1 - epsilon) P + epsilon * noise`.
pub(crate) fn add_dirichlet_noise<R: Rng>(
    t: &mut Tree,
    node: NodeId,
    alpha: f32,
    epsilon: f32,
    rng: &mut R,
) {
    let children = t.children(node);
    if children.len() < 2 || epsilon <= 0.0 {
        return;
    }
    let gamma = Gamma::new(alpha, 1.0).expect("alpha validated positive");
    let noise: Vec<f32> = children.clone().map(|_| gamma.sample(rng)).collect();
    let total: f32 = noise.iter().sum();
    if total <= 0.0 || !total.is_finite() {
        return;
    }
    for (c, x) in children.zip(noise) {
        let p = &mut t.prior[c as usize];
        *p = (1.0 - epsilon) * *p + epsilon * x / total;
    }
}
