//! `wgzero bench`: a portable benchmark suite that measures this machine and
//! picks self-play settings for it (as KataGo's `benchmark` and lc0's
//! `backendbench` do).
//!
//! Every timing waits for the device (results are read back before the clock
//! stops) and every step checks its own results. One file per step:
//! [`forward`], [`encoding`], [`search`], [`selfplay`], [`training`], [`tune`].

pub mod broker;
pub mod encoding;
pub mod forward;
pub mod peak;
pub mod search;
pub mod selfplay;
pub mod training;
pub mod tune;

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use crate::error::Result;
use crate::game::Game;
use crate::net::cpu::{ConvAlgo, CpuPrecision};
use crate::net::{self, BackendChoice, DeviceReport, NetConfig, Precision};
use crate::selfplay::SelfPlayConfig;

pub use peak::PeakPoint;
pub use search::search_scaling;
pub use selfplay::{EfficiencyRound, SelfPlayBench};

/// Version of the JSON report's layout.
pub const BENCH_SCHEMA_VERSION: u32 = 4;

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// The short suite (under 2 minutes on a 2-core CPU).
    pub quick: bool,
    pub backend: BackendChoice,
    /// The adapter named with `--adapter` (default: the best one).
    pub adapter: Option<crate::net::AdapterChoice>,
    /// Where to write the tuned settings (TOML).
    pub tune_out: PathBuf,
    pub seed: u64,
    /// The command line, recorded in the report.
    pub command_line: String,
}

/// Network forward at one batch size: the median of interleaved rounds.
#[derive(Clone, Debug, Serialize)]
pub struct ForwardPoint {
    pub precision: &'static str,
    /// How the network runs: `winograd` or `im2col` (wgzero's CPU path and
    /// how it computes 3x3 convolutions), `flex` (burn on the CPU), `wgpu`.
    pub path: String,
    pub batch: usize,
    /// Median over the rounds.
    pub evaluations_per_second: f64,
    /// `(max - min) / median` over the rounds.
    pub spread: f64,
    pub rounds: usize,
    /// Every round's evaluations/s, in order.
    pub round_rates: Vec<f64>,
    pub ms_per_batch: f64,
    /// FLOPs of the network counted as direct convolutions (2 per
    /// multiply-add), per second.
    pub gflops: f64,
    /// `gflops` over the machine's measured f32 peak at the SIMD width the
    /// path's kernels use (0 on a GPU).
    pub peak_share: f64,
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

/// The machine the report is about.
#[derive(Clone, Debug, Serialize)]
pub struct HostReport {
    /// `model name` of `/proc/cpuinfo` (Linux), else the architecture.
    pub cpu_model: String,
    pub logical_cores: usize,
    /// The SIMD features the CPU has (run-time detection).
    pub simd: Vec<&'static str>,
}

impl HostReport {
    pub fn detect() -> Self {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|m| m.trim().to_string())
            })
            .unwrap_or_else(|| std::env::consts::ARCH.to_string());
        HostReport {
            cpu_model,
            logical_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            simd: simd_features(),
        }
    }
}

fn simd_features() -> Vec<&'static str> {
    #[cfg(target_arch = "x86_64")]
    {
        let mut f = Vec::new();
        macro_rules! probe {
            ($($name:tt),*) => {$(
                if std::arch::is_x86_feature_detected!($name) {
                    f.push($name);
                }
            )*};
        }
        probe!(
            "sse4.2",
            "avx",
            "avx2",
            "fma",
            "f16c",
            "avxvnni",
            "avx512f",
            "avx512bw",
            "avx512vl",
            "avx512vnni",
            "avx512bf16",
            "avx512fp16"
        );
        f
    }
    #[cfg(target_arch = "aarch64")]
    {
        vec!["neon"]
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        Vec::new()
    }
}

/// The whole report (`--json`).
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub schema_version: u32,
    pub command_line: String,
    pub host: HostReport,
    pub quick: bool,
    pub game: String,
    pub device: DeviceReport,
    pub network: NetConfig,
    /// The machine's f32 peak per SIMD width (all cores).
    pub peak: Vec<PeakPoint>,
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

/// How long each step runs: the quick suite or the full one.
struct Plan {
    quick: bool,
    /// Self-play's batch (also in the forward sweep).
    selfplay_batch: usize,
    forward_sizes: Vec<usize>,
    /// Interleaved rounds of the forward sweep and of self-play.
    rounds: usize,
    /// Seconds per point per round of step 1.
    secs: f64,
    /// Seconds of each window of step 4's rounds.
    selfplay_secs: f64,
    warm_up_secs: f64,
    encode_positions: usize,
    scaling_secs: f64,
    train_steps: u64,
}

impl Plan {
    fn new(quick: bool) -> Self {
        let selfplay_batch = if quick { 64 } else { 128 };
        let mut forward_sizes: Vec<usize> = if quick {
            vec![1, 16, 64, 128, 256]
        } else {
            (0..=10).map(|k| 1 << k).collect()
        };
        if !forward_sizes.contains(&selfplay_batch) {
            forward_sizes.push(selfplay_batch);
            forward_sizes.sort();
        }
        Plan {
            quick,
            selfplay_batch,
            forward_sizes,
            rounds: if quick { 5 } else { 7 },
            secs: if quick { 0.3 } else { 0.6 },
            selfplay_secs: if quick { 2.5 } else { 5.0 },
            warm_up_secs: if quick { 3.0 } else { 10.0 },
            encode_positions: if quick { 1024 } else { 4096 },
            scaling_secs: if quick { 2.0 } else { 5.0 },
            train_steps: if quick { 3 } else { 10 },
        }
    }
}

/// Runs the suite for `game`.
pub fn run<G: Game>(
    game: &G,
    opts: &BenchOptions,
    log: &mut dyn FnMut(&str),
) -> Result<BenchReport> {
    let start = Instant::now();
    let plan = Plan::new(opts.quick);
    let sel = net::select_on(opts.backend, opts.adapter.as_ref())?;
    log(&format!(
        "device: {} ({})",
        sel.report.chosen, sel.report.reason
    ));
    log("0/6 peak FLOP/s");
    let peak = peak::peak_gflops(if plan.quick { 0.5 } else { 1.0 });
    log("1/6 + 4/6 network forward and self-play, in interleaved rounds");
    let mut f32_eval = forward::random_network(game, &sel, Precision::F32, opts.seed)?;
    let (forward, selfplay, records) =
        forward_and_selfplay(game, &sel, &mut f32_eval, &plan, &peak, opts.seed, log)?;
    log("2/6 input encoding");
    let encoding = encoding::encoding(game, &sel, plan.encode_positions, plan.secs)?;
    log("3/6 search overhead");
    let search = search_scaling(game, plan.scaling_secs)?;
    log("5/6 training step");
    let training = training::training(game, &sel, &records, plan.train_steps, opts.seed)?;
    log("6/6 auto-tune");
    let (tune, tuned) = tune::tune(game, &mut f32_eval, plan.quick, opts.seed, log)?;
    tune::write_tuned(&opts.tune_out, game, &sel.report.chosen, &tuned)?;
    Ok(BenchReport {
        schema_version: BENCH_SCHEMA_VERSION,
        command_line: opts.command_line.clone(),
        host: HostReport::detect(),
        quick: plan.quick,
        game: game.name(),
        network: NetConfig::for_game(game),
        device: sel.report,
        peak,
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

/// Steps 1 and 4 in `plan.rounds` interleaved rounds, each a round of every
/// forward sweep and a round of self-play (so that a burst of load from
/// elsewhere, which only ever slows a measurement down, hits one round of
/// every figure and the medians shrug it off), after a warm-up (flex on a
/// CPU gets about 15% faster over its first seconds). The sweeps: the
/// default path at every size; on the CPU backend the other 3x3
/// convolution path too (at the self-play batch in the quick suite), and
/// f16 where the device has it.
#[allow(clippy::type_complexity)]
fn forward_and_selfplay<G: Game>(
    game: &G,
    sel: &net::Selected,
    f32_eval: &mut net::NetEvaluator,
    plan: &Plan,
    peak: &[PeakPoint],
    seed: u64,
    log: &mut dyn FnMut(&str),
) -> Result<(
    Vec<ForwardPoint>,
    SelfPlayBench,
    Vec<crate::selfplay::records::GameRecord>,
)> {
    forward::forward_rate(game, f32_eval, plan.selfplay_batch, plan.warm_up_secs, seed)?;
    let sizes = &plan.forward_sizes;
    let macs = NetConfig::for_game(game).macs_per_position();
    // The peak at the SIMD width of the CPU path's kernels (the widest the
    // CPU has, unless `WGZERO_SIMD` caps it).
    let simd = net::kernels::Simd::detect().name();
    let cpu_peak = peak
        .iter()
        .find(|p| p.simd == simd)
        .or(peak.first())
        .map_or(0.0, |p| p.gflops);
    let cpu_gemm = !sel.is_wgpu && net::network::CpuPath::from_env() == net::network::CpuPath::Gemm;
    let info = |precision, path: &str| forward::PathInfo {
        precision,
        path: path.to_string(),
        macs_per_position: macs,
        peak_gflops: if sel.is_wgpu { 0.0 } else { cpu_peak },
    };
    let default_path = match (sel.is_wgpu, cpu_gemm) {
        (true, _) => "wgpu".to_string(),
        (false, true) => match ConvAlgo::from_env() {
            ConvAlgo::Winograd if CpuPrecision::from_env().in_use(net::kernels::Simd::detect()) => {
                "winograd-bf16".to_string()
            }
            algo => algo.name().to_string(),
        },
        (false, false) => "flex".to_string(),
    };
    let label = if default_path.ends_with("bf16") {
        "bf16"
    } else {
        "f32"
    };
    let mut main = forward::Sweep::new(info(label, &default_path), sizes.clone());
    // The other sweeps, each with its own network.
    let mut others: Vec<(forward::Sweep, net::NetEvaluator)> = Vec::new();
    let other_sizes = if plan.quick {
        vec![plan.selfplay_batch]
    } else {
        sizes.clone()
    };
    if cpu_gemm {
        // The other CPU paths: the other 3x3 algorithm, and bf16 products
        // where the CPU has them (every path but the default).
        let mut paths = vec![
            (ConvAlgo::Winograd, CpuPrecision::F32, "winograd"),
            (ConvAlgo::Im2col, CpuPrecision::F32, "im2col"),
        ];
        if CpuPrecision::Bf16.in_use(net::kernels::Simd::detect()) {
            paths.push((ConvAlgo::Winograd, CpuPrecision::Bf16, "winograd-bf16"));
        }
        for (algo, precision, name) in paths {
            if name == default_path {
                continue;
            }
            let source = net::ModelSource::Random { config: None, seed };
            let mut eval = source
                .evaluator_with(game, sel, Precision::F32, (algo, precision), 0.0)?
                .eval;
            forward::forward_rate(game, &mut eval, plan.selfplay_batch, 1.0, seed)?;
            let label = match precision {
                CpuPrecision::Bf16 => "bf16",
                CpuPrecision::F32 => "f32",
            };
            others.push((
                forward::Sweep::new(info(label, name), other_sizes.clone()),
                eval,
            ));
        }
    }
    if sel.report.f16 {
        let mut eval = forward::random_network(game, sel, Precision::F16, seed)?;
        forward::forward_rate(game, &mut eval, plan.selfplay_batch, 1.0, seed)?;
        others.push((
            forward::Sweep::new(info("f16", "wgpu"), sizes.clone()),
            eval,
        ));
    }
    let mut rounds = selfplay::Rounds::new(selfplay::SelfPlayPlan {
        batch: plan.selfplay_batch,
        simulations: if plan.quick { 16 } else { 32 },
        secs: plan.selfplay_secs,
        whole_games: if plan.quick { 96 } else { 384 },
        seed,
    });
    for r in 0..plan.rounds {
        log(&format!("  round {} of {}", r + 1, plan.rounds));
        main.round(game, f32_eval, plan.secs, seed)?;
        for (sweep, eval) in &mut others {
            sweep.round(game, eval, plan.secs, seed)?;
        }
        rounds.round(game, f32_eval)?;
    }
    // Every sweep's points, the default path first.
    let mut points = main.points();
    for (sweep, _) in &others {
        points.extend(sweep.points());
    }
    drop(others);
    let (selfplay, records) = rounds.finish(game, f32_eval)?;
    Ok((points, selfplay, records))
}
