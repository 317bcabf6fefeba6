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
        let score = q + c_puct * t.prior[k] * sqrt_n / (1.0 + n);
        if score > best_score {
            best_score = score;
            best = c;
        }
    }
    best
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
