//! `wgzero bench`: the portable benchmark of this machine.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::{DeviceArgs, GameArgs};
use wgzero::bench::{BenchOptions, BenchReport};
use wgzero::game::Game;

#[derive(Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub game: GameArgs,
    /// The short suite (under 2 minutes on a 2-core CPU; the full one under 15).
    #[arg(long)]
    quick: bool,
    /// Also write every figure as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    #[command(flatten)]
    device: DeviceArgs,
    /// Where to write the tuned settings (TOML).
    #[arg(long, default_value = "wgzero-tuned.toml")]
    tune_out: PathBuf,
    /// Seed of the random weights and games.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Benchmark the broker instead (`docs/distributed.md`): games/s, MB/s
    /// and publish-to-ack latency through a local nats-server from 1, 2, 4
    /// and 8 publishing processes to one consumer, with Connect Four and
    /// Gomoku games; a 10,000-game spool drained after a broker restart;
    /// beside this machine's self-play games/s.
    #[arg(long)]
    broker: bool,
}

pub fn bench<G: Game>(game: G, args: &BenchArgs) -> Result<()> {
    if args.broker {
        return bench_broker(args);
    }
    let opts = BenchOptions {
        quick: args.quick,
        backend: args.device.backend.into(),
        adapter: args.device.adapter()?,
        tune_out: args.tune_out.clone(),
        seed: args.seed,
        command_line: std::env::args().collect::<Vec<_>>().join(" "),
    };
    let r = wgzero::bench::run(&game, &opts, &mut |line| eprintln!("{line}"))?;
    print_network_steps(&r);
    print_loop_steps(&r);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&r)?)?;
        println!("report: {}", path.display());
    }
    Ok(())
}

/// Steps 1-3: the network, the encoding and the search.
fn print_network_steps(r: &BenchReport) {
    println!(
        "\nwgzero bench{} — {} — {}",
        if r.quick { " --quick" } else { "" },
        r.game,
        r.device.chosen
    );
    println!(
        "host: {}, {} logical cores, SIMD {}",
        r.host.cpu_model,
        r.host.logical_cores,
        r.host.simd.join(" ")
    );
    println!("CPU inference: {}", r.device.cpu_backend);
    println!(
        "network: {} blocks x {} channels, {} parameters",
        r.network.blocks,
        r.network.channels,
        r.network.num_params()
    );
    for p in &r.peak {
        println!(
            "peak f32: {:.0} GFLOP/s with {} on {} threads (independent FMA chains)",
            p.gflops, p.simd, p.threads
        );
    }
    println!(
        "\n1. network forward (two batches in flight; median of {} interleaved rounds, spread = (max-min)/median)",
        r.forward.first().map_or(0, |p| p.rounds)
    );
    println!(
        "   {:>9} {:>9} {:>6} {:>12} {:>7} {:>10} {:>8} {:>6}",
        "precision", "path", "batch", "evals/s", "spread", "ms/batch", "GFLOP/s", "peak"
    );
    for p in &r.forward {
        println!(
            "   {:>9} {:>9} {:>6} {:>12.0} {:>6.1}% {:>10.2} {:>8.1} {:>5.0}%",
            p.precision,
            p.path,
            p.batch,
            p.evaluations_per_second,
            100.0 * p.spread,
            p.ms_per_batch,
            p.gflops,
            100.0 * p.peak_share
        );
    }
    let e = &r.encoding;
    println!("\n2. input encoding ({} positions)", e.positions);
    match e.kernel_positions_per_second {
        Some(k) => println!(
            "   WGSL kernel:        {k:>12.0} positions/s, {} bytes uploaded per position",
            e.kernel_bytes_per_position
        ),
        None => println!("   WGSL kernel:        not run ({})", e.note),
    }
    println!(
        "   CPU + f32 upload:   {:>12.0} positions/s, {} bytes uploaded per position",
        e.cpu_positions_per_second, e.cpu_bytes_per_position
    );
    println!("\n3. search overhead (uniform evaluator; best of interleaved rounds)");
    for p in &r.search {
        println!(
            "   {} thread(s): {:>12.0} simulations/s  ({:.2}x; this machine's ceiling {:.2}x)",
            p.threads, p.simulations_per_second, p.speedup, p.ceiling_speedup
        );
    }
}

/// Steps 4-6: self-play, training and the tuned settings.
fn print_loop_steps(r: &BenchReport) {
    let s = &r.selfplay;
    println!(
        "\n4. self-play ({} simulations, batch {}, {} leaves per game, {} games in flight; {} rounds of {:.1} s steady state, each after a forward window)",
        s.config.simulations,
        s.config.batch,
        s.config.leaves_per_game,
        2 * s.config.games_per_group(),
        s.rounds.len(),
        s.config.max_seconds.unwrap_or(0.0)
    );
    println!(
        "   steady state: {:.1} moves/s (spread {:.1}%), {:.0} evaluations/s, {:.2} cores busy",
        s.steady_moves_per_second,
        100.0 * s.moves_spread,
        s.steady_evaluations_per_second,
        s.cpu_cores
    );
    println!(
        "   pipeline efficiency {:.3} (spread {:.1}%): median of each round's self-play over the fastest forward window of all rounds ({:.0} evaluations/s at batch {}); network busy {:.1}% of self-play's wall time",
        s.pipeline_efficiency,
        100.0 * s.efficiency_spread,
        s.forward_evaluations_per_second,
        s.config.batch,
        100.0 * s.network_busy
    );
    let st = &s.steady;
    println!(
        "   per move: {:.2} evaluations; saved {:.2} by the evaluation cache, {:.2} by terminal positions, {:.2} by tree reuse",
        st.evaluations_per_move,
        st.cache_hits_per_move,
        st.terminal_hits_per_move,
        st.reused_roots_per_move
    );
    let w = &s.whole_games;
    println!(
        "   whole games ({} from the start): {:.1} moves/s, {:.2} games/s, {:.0} evaluations/s, batch mean {:.1}, {:.2} cores busy",
        w.games,
        w.moves_per_second,
        w.games_per_second,
        w.evaluations_per_second,
        w.batch_mean,
        w.cpu_cores
    );
    let t = &r.training;
    println!(
        "\n5. training: {:.0} samples/s ({:.1} ms per step of {})",
        t.samples_per_second, t.ms_per_step, t.batch_size
    );
    println!(
        "\n6. auto-tune: best batch {}, {} leaves per game, concurrency {:.1} -> {}",
        r.tuned.batch,
        r.tuned.leaves_per_game,
        r.tuned.concurrency,
        r.tuned_file.display()
    );
    println!("\ntotal {:.0} s", r.seconds);
}

/// `wgzero bench --broker`.
fn bench_broker(args: &BenchArgs) -> Result<()> {
    use wgzero::bench::broker::{self, BrokerBenchOptions};
    let sp = selfplay_games_per_second(args)?;
    eprintln!(
        "self-play on this machine: {sp:.2} games/s (Connect Four, default network and settings)"
    );
    let opts = BrokerBenchOptions {
        exe: std::env::current_exe()?,
        dir: std::env::temp_dir().join(format!("wgzero-bench-broker-{}", std::process::id())),
        publishers: if args.quick {
            vec![1, 2]
        } else {
            vec![1, 2, 4, 8]
        },
        games: if args.quick { 500 } else { 2000 },
        spool_games: if args.quick { 2000 } else { 10_000 },
        selfplay_games_per_second: sp,
    };
    let r = broker::run(&opts, &mut |line| eprintln!("{line}"))?;
    let _ = std::fs::remove_dir_all(&opts.dir);
    println!("\nwgzero bench --broker — {}", r.nats_server);
    println!(
        "{:>9} {:>8} {:>10} {:>7} {:>10} {:>8} {:>9} {:>9}",
        "payload", "B/game", "publishers", "games", "games/s", "MB/s", "ack p50", "ack p99"
    );
    for row in &r.rows {
        println!(
            "{:>9} {:>8} {:>10} {:>7} {:>10.0} {:>8.1} {:>7.2}ms {:>7.2}ms",
            row.payload,
            row.bytes_per_game,
            row.publishers,
            row.games,
            row.games_per_second,
            row.mb_per_second,
            row.ack_p50_ms,
            row.ack_p99_ms
        );
    }
    println!(
        "spool of {} games drained in {:.2} s after a broker restart ({:.0} games/s)",
        r.drain.games, r.drain.seconds, r.drain.games_per_second
    );
    println!(
        "self-play here: {:.2} games/s; the slowest row carries {:.0}x that",
        r.selfplay_games_per_second, r.headroom
    );
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&r)?)?;
        println!("report: {}", path.display());
    }
    Ok(())
}

/// Connect Four self-play games/s on this machine: the training defaults'
/// self-play settings, the default network (random weights), the CPU.
fn selfplay_games_per_second(args: &BenchArgs) -> Result<f64> {
    use wgzero::game::Connect4;
    use wgzero::net::{ModelSource, Precision};
    let selected = args.device.select()?;
    let mut cfg = wgzero::config::training_defaults_for("connect4").selfplay;
    cfg.games = if args.quick { 32 } else { 128 };
    let source = ModelSource::Random {
        config: None,
        seed: args.seed,
    };
    let mut opened = source.evaluator(&Connect4, &selected, Precision::Auto)?;
    let t = std::time::Instant::now();
    let r = wgzero::selfplay::run(
        &Connect4,
        &mut opened.eval,
        "bench",
        &cfg,
        &mut |_| Ok(()),
        &mut |_| {},
    )?;
    Ok(r.games as f64 / t.elapsed().as_secs_f64())
}
