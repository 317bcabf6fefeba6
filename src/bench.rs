//! `wgzero bench`: a portable benchmark suite that measures this machine and
//! picks self-play settings for it (as KataGo's `benchmark` and lc0's
//! `backendbench` do).
//!
//! Every timing waits for the device (results are read back before the clock
//! stops) and every step checks its own results.

use std::path::PathBuf;
use std::time::Instant;

use rand::SeedableRng;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::eval::Uniform;
use crate::game::Game;
use crate::mcts::{Search, SearchConfig};
use crate::net::trainer::{TrainConfig, Trainer};
use crate::net::{
    self, encode, BackendChoice, DeviceReport, NetConfig, NetEvaluator, Network, Precision,
};
use crate::selfplay::{self, SelfPlayConfig, SelfPlayReport};
use crate::train::ReplayBuffer;

/// Version of the JSON report's layout.
pub const BENCH_SCHEMA_VERSION: u32 = 2;

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// The short suite (under 2 minutes on a 2-core CPU).
    pub quick: bool,
    pub backend: BackendChoice,
    /// Where to write the tuned settings (TOML).
    pub tune_out: PathBuf,
    pub seed: u64,
    /// The command line, recorded in the report.
    pub command_line: String,
}

/// Network forward at one batch size.
#[derive(Clone, Debug, Serialize)]
pub struct ForwardPoint {
    pub precision: &'static str,
    pub batch: usize,
    pub evaluations_per_second: f64,
    pub ms_per_batch: f64,
}

/// Input encoding, GPU kernel against CPU encoding + upload.
#[derive(Clone, Debug, Serialize)]
pub struct EncodingReport {
    pub positions: usize,
    /// Positions/s with the WGSL kernel (packed upload); `None` without wgpu.
    pub kernel_positions_per_second: Option<f64>,
    pub kernel_bytes_per_position: usize,
    /// Positions/s encoding on the CPU and uploading f32 planes.
    pub cpu_positions_per_second: f64,
    pub cpu_bytes_per_position: usize,
    pub note: String,
}

/// Search overhead with `threads` threads (best of interleaved rounds).
#[derive(Clone, Debug, Serialize)]
pub struct SearchPoint {
    pub threads: usize,
    pub simulations_per_second: f64,
    /// Over the 1-thread rate.
    pub speedup: f64,
    /// The machine's ceiling: a pure-compute loop's speedup over 1 thread,
    /// measured in the same rounds.
    pub ceiling_speedup: f64,
}

/// Self-play and its efficiency against the network alone.
#[derive(Clone, Debug, Serialize)]
pub struct SelfPlayBench {
    pub config: SelfPlayConfig,
    pub report: SelfPlayReport,
    /// Forward evaluations/s at `config.batch` from the forward sweep.
    pub forward_evaluations_per_second: f64,
    /// Steady-state self-play evaluations/s over that.
    pub pipeline_efficiency: f64,
}

/// One training step at the default batch size.
#[derive(Clone, Debug, Serialize)]
pub struct TrainingBench {
    pub batch_size: usize,
    pub steps: u64,
    pub samples_per_second: f64,
    pub ms_per_step: f64,
}

/// One auto-tune point.
#[derive(Clone, Debug, Serialize)]
pub struct TunePoint {
    pub batch: usize,
    pub leaves_per_game: usize,
    pub concurrency: f64,
    pub games_in_flight: usize,
    pub evaluations_per_second: f64,
    pub batch_mean: f64,
}

/// The whole report (`--json`).
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub schema_version: u32,
    pub command_line: String,
    pub quick: bool,
    pub game: String,
    pub device: DeviceReport,
    pub network: NetConfig,
    pub forward: Vec<ForwardPoint>,
    pub encoding: EncodingReport,
    pub search: Vec<SearchPoint>,
    pub selfplay: SelfPlayBench,
    pub training: TrainingBench,
    pub tune: Vec<TunePoint>,
    pub tuned: SelfPlayConfig,
    pub tuned_file: PathBuf,
    pub seconds: f64,
}

fn evaluator<G: Game>(
    game: &G,
    device: &net::Selected,
    precision: Precision,
    seed: u64,
) -> Result<NetEvaluator> {
    let (g, d, gpu, real_gpu) = (
        game.clone(),
        device.device.clone(),
        device.is_wgpu,
        device.real_gpu,
    );
    NetEvaluator::spawn(move || {
        let cfg = NetConfig::for_game(&g);
        Network::random(g, cfg, d, gpu, seed)?.with_precision(precision, real_gpu)
    })
}

/// Self-play runs in step 4 (the same games each time); the best is kept.
const SELFPLAY_ROUNDS: usize = 2;

/// Rounds of the forward sweep; see [`forward_sweep`].
const FORWARD_ROUNDS: usize = 3;

/// Step 1: evaluations/s and latency over a sweep of batch sizes, about
/// `secs` per size in all. The sizes are measured in [`FORWARD_ROUNDS`]
/// interleaved rounds and each keeps its best round, so that a burst of load
/// from elsewhere does not single out one size; the best round is also the
/// strict yardstick for the pipeline efficiency (self-play's one run against
/// the network's best).
fn forward_sweep<G: Game>(
    game: &G,
    eval: &mut NetEvaluator,
    label: &'static str,
    sizes: &[usize],
    secs: f64,
    seed: u64,
) -> Result<Vec<ForwardPoint>> {
    let mut best = vec![0f64; sizes.len()];
    for _ in 0..FORWARD_ROUNDS {
        for (b, &batch) in best.iter_mut().zip(sizes) {
            let rate =
                selfplay::forward_rate(game, eval, batch, secs / FORWARD_ROUNDS as f64, seed)?;
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

/// Step 2: the WGSL kernel against CPU encoding + f32 upload.
fn encoding<G: Game>(game: &G, sel: &net::Selected, n: usize, secs: f64) -> Result<EncodingReport> {
    use burn::tensor::Tensor;
    let states = selfplay::random_batch(game, n, 3).states;
    let expected: f32 = {
        let planes = encode::encode_cpu(game, &states, &burn::tensor::Device::flex());
        planes.sum().into_scalar()
    };
    // Each timed call reads a sum back, so the device has finished.
    let time = |f: &dyn Fn() -> Result<Tensor<4>>| -> Result<f64> {
        let check = |t: Tensor<4>| -> Result<()> {
            let got: f32 = t.sum().into_scalar();
            if got != expected {
                return Err(Error::Device(format!(
                    "encoding check failed: {got} stones, expected {expected}"
                )));
            }
            Ok(())
        };
        check(f()?)?; // warm-up
        let start = Instant::now();
        let mut calls = 0;
        while calls < 3 || start.elapsed().as_secs_f64() < secs {
            check(f()?)?;
            calls += 1;
        }
        Ok((calls * n) as f64 / start.elapsed().as_secs_f64())
    };
    let (packed, planes) = encode::upload_bytes(game);
    let cpu = time(&|| Ok(encode::encode_cpu(game, &states, &sel.device)))?;
    let (kernel, note) = if sel.is_wgpu {
        (
            Some(time(&|| encode::encode_wgpu(game, &states, &sel.device))?),
            "both on the chosen wgpu device".to_string(),
        )
    } else {
        (
            None,
            "no wgpu device in use: the CPU backend encodes on the CPU, the WGSL kernel is not run"
                .to_string(),
        )
    };
    Ok(EncodingReport {
        positions: n,
        kernel_positions_per_second: kernel,
        kernel_bytes_per_position: packed,
        cpu_positions_per_second: cpu,
        cpu_bytes_per_position: planes,
        note,
    })
}

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

/// Runs the suite for `game`.
pub fn run<G: Game>(
    game: &G,
    opts: &BenchOptions,
    log: &mut dyn FnMut(&str),
) -> Result<BenchReport> {
    let start = Instant::now();
    let q = opts.quick;
    let sel = net::select(opts.backend)?;
    log(&format!(
        "device: {} ({})",
        sel.report.chosen, sel.report.reason
    ));
    let sp_batch = if q { 64 } else { 128 };

    // 1. forward
    let mut sizes: Vec<usize> = if q {
        vec![1, 16, 64, 128]
    } else {
        (0..=10).map(|k| 1 << k).collect()
    };
    if !sizes.contains(&sp_batch) {
        sizes.push(sp_batch);
        sizes.sort();
    }
    let secs = if q { 0.8 } else { 2.0 };
    log("1/6 network forward");
    let mut f32_eval = evaluator(game, &sel, Precision::F32, opts.seed)?;
    // The device's first seconds are not representative (flex on a CPU gets
    // about 15% faster over its first seconds): warm it up first.
    selfplay::forward_rate(
        game,
        &mut f32_eval,
        sp_batch,
        if q { 5.0 } else { 10.0 },
        opts.seed,
    )?;
    let mut forward = forward_sweep(game, &mut f32_eval, "f32", &sizes, secs, opts.seed)?;
    if sel.report.f16 {
        let mut f16_eval = evaluator(game, &sel, Precision::F16, opts.seed)?;
        forward.extend(forward_sweep(
            game,
            &mut f16_eval,
            "f16",
            &sizes,
            secs,
            opts.seed,
        )?);
    }

    // 2. encoding
    log("2/6 input encoding");
    let encoding = encoding(game, &sel, if q { 1024 } else { 4096 }, secs)?;

    // 3. search overhead
    log("3/6 search overhead");
    let search = search_scaling(game, if q { 2.0 } else { 5.0 })?;

    // 4. self-play
    log("4/6 self-play");
    let sp_cfg = SelfPlayConfig {
        games: if q { 96 } else { 384 },
        simulations: if q { 16 } else { 32 },
        batch: sp_batch,
        seed: opts.seed,
        ..SelfPlayConfig::default()
    };
    // The same games (same seed) in two rounds; the better round is kept,
    // as the forward sweep keeps its best round.
    let mut records = Vec::new();
    let mut best: Option<SelfPlayReport> = None;
    for round in 0..SELFPLAY_ROUNDS {
        let report = selfplay::run(
            game,
            &mut f32_eval,
            "bench",
            &sp_cfg,
            &mut |r| {
                if round == 0 {
                    records.push(r);
                }
                Ok(())
            },
            &mut |_| {},
        )?;
        if !report.evaluated_exactly_once {
            return Err(Error::Evaluator(
                "self-play evaluated some leaf twice or not at all".into(),
            ));
        }
        if best
            .as_ref()
            .is_none_or(|b| report.steady_evaluations_per_second > b.steady_evaluations_per_second)
        {
            best = Some(report);
        }
    }
    let report = best.expect("at least one round");
    let fwd = forward
        .iter()
        .find(|p| p.precision == "f32" && p.batch == sp_batch)
        .map_or(0.0, |p| p.evaluations_per_second);
    let selfplay = SelfPlayBench {
        pipeline_efficiency: report.steady_evaluations_per_second / fwd,
        forward_evaluations_per_second: fwd,
        config: sp_cfg,
        report,
    };

    // 5. training
    log("5/6 training step");
    let training = training(game, &sel, &records, if q { 3 } else { 10 }, opts.seed)?;

    // 6. auto-tune
    log("6/6 auto-tune");
    let (tune, tuned) = tune(game, &mut f32_eval, q, opts.seed, log)?;
    // Only the tuned keys, so that the file overlays any other settings
    // (`selfplay --config`, `train --config`).
    let file = format!(
        "[selfplay]\nbatch = {}\nleaves_per_game = {}\nconcurrency = {:?}\n",
        tuned.batch, tuned.leaves_per_game, tuned.concurrency
    );
    let header = format!(
        "# Self-play settings tuned by `wgzero bench` for {} on {}.\n# Use with: wgzero selfplay --config FILE or wgzero train --config FILE (flags override).\n",
        game.name(),
        sel.report.chosen
    );
    crate::net::network::write_atomic(&opts.tune_out, format!("{header}{file}").as_bytes())?;

    Ok(BenchReport {
        schema_version: BENCH_SCHEMA_VERSION,
        command_line: opts.command_line.clone(),
        quick: q,
        game: game.name(),
        network: NetConfig::for_game(game),
        device: sel.report,
        forward,
        encoding,
        search,
        selfplay,
        training,
        tune,
        tuned,
        tuned_file: opts.tune_out.clone(),
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Step 5: samples/s of training steps at the default batch size, on the
/// self-play positions of step 4.
fn training<G: Game>(
    game: &G,
    sel: &net::Selected,
    records: &[crate::selfplay::records::GameRecord],
    steps: u64,
    seed: u64,
) -> Result<TrainingBench> {
    let mut buffer = ReplayBuffer::new(game.clone(), 1 << 20);
    for r in records {
        buffer.push_game(r)?;
    }
    let cfg = TrainConfig::default();
    let network = Network::random(
        game.clone(),
        NetConfig::for_game(game),
        sel.device.clone(),
        false,
        seed,
    )?;
    let mut trainer = Trainer::new(&network, cfg.clone());
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let batch = buffer.sample(cfg.batch_size, true, &mut rng)?;
    let check = |s: crate::net::trainer::StepStats| -> Result<()> {
        if s.policy_loss.is_finite() && s.value_loss.is_finite() {
            Ok(())
        } else {
            Err(Error::Device("training produced a non-finite loss".into()))
        }
    };
    check(trainer.step(&batch)?)?; // warm-up; reading the losses waits for the device
    let start = Instant::now();
    for _ in 0..steps {
        check(trainer.step(&batch)?)?;
    }
    let t = start.elapsed().as_secs_f64();
    Ok(TrainingBench {
        batch_size: cfg.batch_size,
        steps,
        samples_per_second: (steps as usize * cfg.batch_size) as f64 / t,
        ms_per_step: 1e3 * t / steps as f64,
    })
}

/// Step 6: self-play evaluations/s over batch size x leaves per game x
/// concurrency, a few seconds per point; the best settings.
fn tune<G: Game>(
    game: &G,
    eval: &mut NetEvaluator,
    quick: bool,
    seed: u64,
    log: &mut dyn FnMut(&str),
) -> Result<(Vec<TunePoint>, SelfPlayConfig)> {
    let (batches, leaves, concurrency, secs): (&[usize], &[usize], &[f64], f64) = if quick {
        (&[64, 128], &[4, 8], &[2.0], 4.0)
    } else {
        (&[64, 128, 256, 512], &[4, 8, 16], &[1.5, 2.0, 3.0], 6.0)
    };
    let mut points = Vec::new();
    let mut best: Option<(f64, SelfPlayConfig)> = None;
    for &batch in batches {
        for &k in leaves {
            for &c in concurrency {
                let cfg = SelfPlayConfig {
                    games: 100_000,
                    simulations: 32,
                    batch,
                    leaves_per_game: k,
                    concurrency: c,
                    max_seconds: Some(secs),
                    seed,
                    ..SelfPlayConfig::default()
                };
                let r = selfplay::run(game, eval, "tune", &cfg, &mut |_| Ok(()), &mut |_| {})?;
                let rate = if r.steady_evaluations_per_second > 0.0 {
                    r.steady_evaluations_per_second
                } else {
                    r.evaluations_per_second
                };
                log(&format!("  batch {batch:>4} leaves {k:>2} concurrency {c:.1}: {rate:.0} evals/s (mean batch {:.1})", r.batch_mean));
                points.push(TunePoint {
                    batch,
                    leaves_per_game: k,
                    concurrency: c,
                    games_in_flight: 2 * cfg.games_per_group(),
                    evaluations_per_second: rate,
                    batch_mean: r.batch_mean,
                });
                if best.as_ref().is_none_or(|(b, _)| rate > *b) {
                    best = Some((
                        rate,
                        SelfPlayConfig {
                            max_seconds: None,
                            games: SelfPlayConfig::default().games,
                            ..cfg
                        },
                    ));
                }
            }
        }
    }
    Ok((points, best.expect("at least one point").1))
}
