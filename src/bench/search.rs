//! Step 3: search overhead with the uniform evaluator on 1..=N threads,
//! beside the machine's own ceiling for parallel work.

use std::time::Instant;

use super::SearchPoint;
use crate::error::{Error, Result};
use crate::eval::Uniform;
use crate::game::Game;
use crate::mcts::{Search, SearchConfig};

/// Rounds of [`search_scaling`]: every thread count is measured once per
/// round, so a burst of load from elsewhere hits all of them alike.
const SCALING_ROUNDS: usize = 5;

/// Step 3: search overhead (uniform evaluator) on 1..=N threads, about `secs`
/// seconds per thread count in all.
///
/// The thread counts are measured in [`SCALING_ROUNDS`] interleaved rounds and
/// each keeps its best round: on a shared machine, load from other processes
/// only ever slows a round down, so the best round is the closest to what the
/// hardware can do. Beside each count the same rounds measure a pure-compute
/// loop (no memory traffic, no synchronisation) as the machine's own ceiling:
/// vCPUs that are hyperthread siblings or oversubscribed cap both.
pub fn search_scaling<G: Game>(game: &G, secs: f64) -> Result<Vec<SearchPoint>> {
    const SIMS: u32 = 800;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let round_secs = secs / SCALING_ROUNDS as f64;
    let mut lanes = (1..=cores)
        .map(|threads| ScalingLane::new(game, threads))
        .collect::<Result<Vec<_>>>()?;
    for _ in 0..SCALING_ROUNDS {
        for lane in &mut lanes {
            lane.measure_search(game, SIMS, round_secs)?;
            lane.measure_ceiling(round_secs / 4.0)?;
        }
    }
    let (base, base_ceiling) = (lanes[0].best_rate, lanes[0].best_ceiling);
    Ok(lanes
        .iter()
        .map(|l| SearchPoint {
            threads: l.threads,
            simulations_per_second: l.best_rate,
            speedup: l.best_rate / base,
            ceiling_speedup: l.best_ceiling / base_ceiling,
        })
        .collect())
}

/// One thread count of [`search_scaling`]: its searches (16 per thread) and
/// its best round so far.
struct ScalingLane<G: Game> {
    threads: usize,
    searches: Vec<(Search<G>, Uniform)>,
    best_rate: f64,
    best_ceiling: f64,
}

impl<G: Game> ScalingLane<G> {
    fn new(game: &G, threads: usize) -> Result<Self> {
        let searches = (0..16 * threads)
            .map(|i| {
                Ok((
                    Search::new(game.clone(), SearchConfig::default(), i as u64)?,
                    Uniform::new(),
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ScalingLane {
            threads,
            searches,
            best_rate: 0.0,
            best_ceiling: 0.0,
        })
    }

    /// One round: each thread owns an equal share of the searches and runs
    /// them one after another, with no barrier between threads, until about
    /// `secs` have passed (as self-play's games run side by side). Each search
    /// is checked to have run all its simulations.
    fn measure_search(&mut self, game: &G, sims: u32, secs: f64) -> Result<()> {
        let start = Instant::now();
        let per_thread = self.searches.len().div_ceil(self.threads);
        let done = on_threads(self.searches.chunks_mut(per_thread), |share| {
            let mut done = 0u64;
            for i in (0..share.len()).cycle() {
                if done > 0 && start.elapsed().as_secs_f64() >= secs {
                    break;
                }
                let (s, e) = &mut share[i];
                s.reset(game.initial());
                let r = s.run(e, sims)?;
                if r.simulations != sims {
                    return Err(Error::Config(format!(
                        "search ran {} of {sims} simulations",
                        r.simulations
                    )));
                }
                done += sims as u64;
            }
            Ok(done)
        })?;
        let rate = done as f64 / start.elapsed().as_secs_f64();
        self.best_rate = self.best_rate.max(rate);
        Ok(())
    }

    /// One round of the pure-compute ceiling, the same way: each thread spins
    /// through chunks of work until about `secs` have passed.
    fn measure_ceiling(&mut self, secs: f64) -> Result<()> {
        const CHUNK: u64 = 1 << 22;
        let start = Instant::now();
        let chunks = on_threads(0..self.threads as u64, |i| {
            let mut chunks = 0u64;
            while chunks == 0 || start.elapsed().as_secs_f64() < secs {
                std::hint::black_box(spin(std::hint::black_box(CHUNK + i)));
                chunks += 1;
            }
            Ok(chunks)
        })?;
        let rate = chunks as f64 / start.elapsed().as_secs_f64();
        self.best_ceiling = self.best_ceiling.max(rate);
        Ok(())
    }
}

/// Runs `work` on every share at once, each on its own thread, and sums what
/// they count.
fn on_threads<T: Send>(
    shares: impl Iterator<Item = T>,
    work: impl Fn(T) -> Result<u64> + Sync,
) -> Result<u64> {
    std::thread::scope(|scope| {
        let work = &work;
        let workers: Vec<_> = shares
            .map(|share| scope.spawn(move || work(share)))
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .map_err(|_| Error::Config("a benchmark thread panicked".into()))?
            })
            .sum()
    })
}

/// A dependent chain of integer multiply-adds: pure core work.
fn spin(n: u64) -> u64 {
    let mut x = 1u64;
    for i in 0..n {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
    }
    x
}
