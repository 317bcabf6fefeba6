//! Step 1: the network alone, over a sweep of batch sizes; and the pure
//! network rate that self-play's pipeline efficiency is measured against.

use std::time::Instant;

use super::ForwardPoint;
use crate::error::Result;
use crate::eval::{Batch, Evaluator};
use crate::game::Game;
use crate::net::{ModelSource, NetEvaluator, Precision, Selected};

/// A network of the game's default shape with random weights (seeded) on
/// `device`, inferring in `precision`.
pub fn random_network<G: Game>(
    game: &G,
    device: &Selected,
    precision: Precision,
    seed: u64,
) -> Result<NetEvaluator> {
    let source = ModelSource::Random { config: None, seed };
    Ok(source.evaluator(game, device, precision)?.eval)
}

/// Rounds of the forward sweep; see [`forward_sweep`].
const FORWARD_ROUNDS: usize = 3;

/// Step 1: evaluations/s and latency over a sweep of batch sizes, about
/// `secs` per size in all. The sizes are measured in [`FORWARD_ROUNDS`]
/// interleaved rounds and each keeps its best round, so that a burst of load
/// from elsewhere does not single out one size; the best round is also the
/// strict yardstick for the pipeline efficiency (self-play's one run against
/// the network's best).
pub fn forward_sweep<G: Game, E: Evaluator>(
    game: &G,
    eval: &mut E,
    label: &'static str,
    sizes: &[usize],
    secs: f64,
    seed: u64,
) -> Result<Vec<ForwardPoint>> {
    let mut best = vec![0f64; sizes.len()];
    for _ in 0..FORWARD_ROUNDS {
        for (b, &batch) in best.iter_mut().zip(sizes) {
            let rate = forward_rate(game, eval, batch, secs / FORWARD_ROUNDS as f64, seed)?;
            *b = b.max(rate);
        }
    }
    Ok(sizes
        .iter()
        .zip(best)
        .map(|(&batch, rate)| ForwardPoint {
            precision: label,
            batch,
            evaluations_per_second: rate,
            ms_per_batch: 1e3 * batch as f64 / rate,
        })
        .collect())
}

/// Evaluations per second of `eval` on batches of exactly `n` random
/// positions of `game`, with two batches kept in flight (so the device never
/// waits for the host), for at least `seconds` and 4 batches: the pure
/// network rate that self-play is compared with.
pub fn forward_rate<G: Game, E: Evaluator>(
    game: &G,
    eval: &mut E,
    n: usize,
    seconds: f64,
    seed: u64,
) -> Result<f64> {
    let mut batch = random_batch(game, n.max(1), seed);
    // Warm-up (kernel compilation, autotune, allocator and thread-pool
    // start-up): at least 2 batches and a quarter of the measuring time.
    let warm = Instant::now();
    for k in 0.. {
        if k >= 2 && warm.elapsed().as_secs_f64() >= seconds / 4.0 {
            break;
        }
        batch = eval.evaluate(batch)?;
    }
    let mut spare = batch.clone();
    let start = Instant::now();
    let mut batches = 0u64;
    eval.submit(batch)?;
    while batches < 4 || start.elapsed().as_secs_f64() < seconds {
        eval.submit(spare)?;
        spare = eval.collect()?;
        spare.check_results()?;
        batches += 1;
    }
    let done = eval.collect()?;
    done.check_results()?;
    batches += 1;
    Ok((batches * n as u64) as f64 / start.elapsed().as_secs_f64())
}

/// A batch of `n` random non-terminal positions of `game` (up to 19 random
/// moves from the start), seeded: benchmark input.
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
