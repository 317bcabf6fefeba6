//! Step 1: the network alone, over a sweep of batch sizes; and the pure
//! network rate that self-play's pipeline efficiency is measured against.

use std::time::Instant;

use super::ForwardPoint;
use crate::error::Result;
pub use crate::eval::random_batch;
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

/// The median of `rates` and their spread, `(max - min) / median`.
pub fn median_spread(rates: &[f64]) -> (f64, f64) {
    if rates.is_empty() {
        return (0.0, 0.0);
    }
    let mut v = rates.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    let median = if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    };
    let spread = if median > 0.0 {
        (v[v.len() - 1] - v[0]) / median
    } else {
        0.0
    };
    (median, spread)
}

/// How one network path is described in the sweep.
pub struct PathInfo {
    /// `f32` or `f16`.
    pub precision: &'static str,
    /// `winograd`, `im2col` (the CPU path's 3x3 convolutions), `flex`, `wgpu`.
    pub path: String,
    /// Multiply-adds per position, for GFLOP/s.
    pub macs_per_position: usize,
    /// The machine's peak GFLOP/s for this path (0: not a CPU path).
    pub peak_gflops: f64,
}

/// One path's forward sweep, measured a round at a time (the rounds are
/// interleaved with self-play's by the caller, so that a burst of load from
/// elsewhere hits one round of each figure rather than all rounds of one):
/// evaluations/s at each batch size, reported as the median round with the
/// rounds' spread.
pub struct Sweep {
    pub info: PathInfo,
    pub sizes: Vec<usize>,
    rates: Vec<Vec<f64>>,
}

impl Sweep {
    pub fn new(info: PathInfo, sizes: Vec<usize>) -> Self {
        let rates = vec![Vec::new(); sizes.len()];
        Sweep { info, sizes, rates }
    }

    /// One round: every size for about `secs`.
    pub fn round<G: Game, E: Evaluator>(
        &mut self,
        game: &G,
        eval: &mut E,
        secs: f64,
        seed: u64,
    ) -> Result<()> {
        for (r, &batch) in self.rates.iter_mut().zip(&self.sizes) {
            r.push(forward_rate(game, eval, batch, secs, seed)?);
        }
        Ok(())
    }

    pub fn points(&self) -> Vec<ForwardPoint> {
        self.sizes
            .iter()
            .zip(&self.rates)
            .map(|(&batch, r)| forward_point(&self.info, batch, r))
            .collect()
    }
}

/// One point of the sweep from its rounds' rates.
pub fn forward_point(info: &PathInfo, batch: usize, rates: &[f64]) -> ForwardPoint {
    let (rate, spread) = median_spread(rates);
    let gflops = rate * 2.0 * info.macs_per_position as f64 / 1e9;
    ForwardPoint {
        precision: info.precision,
        path: info.path.clone(),
        batch,
        evaluations_per_second: rate,
        spread,
        rounds: rates.len(),
        round_rates: rates.to_vec(),
        ms_per_batch: if rate > 0.0 {
            1e3 * batch as f64 / rate
        } else {
            0.0
        },
        gflops,
        peak_share: if info.peak_gflops > 0.0 {
            gflops / info.peak_gflops
        } else {
            0.0
        },
    }
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
    batch_rate(eval, random_batch(game, n.max(1), seed), seconds)
}

/// Positions per second `eval` evaluates with `batch` in flight twice (one
/// evaluated while the other is handed back), after a warm-up: the network
/// alone, the pipeline's ceiling.
pub fn batch_rate<E: Evaluator>(eval: &mut E, mut batch: Batch, seconds: f64) -> Result<f64> {
    let n = batch.len();
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
