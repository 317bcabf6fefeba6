//! `wgzero selfplay`: self-play with a network, game records to a folder.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use super::{counting_bar, AlgorithmArg, DeviceArgs, GameArgs, MinimaxArgs, PrecisionArg};
use wgzero::bench::forward::forward_rate;
use wgzero::config::ConfigFile;
use wgzero::game::Game;
use wgzero::net::{self, DeviceReport, ModelSource, NetEvaluator};
use wgzero::selfplay::records::RecordChunks;
use wgzero::selfplay::{self as sp, SelfPlayConfig, SelfPlayReport};

#[derive(Args)]
pub struct SelfplayArgs {
    #[command(flatten)]
    pub game: GameArgs,
    /// Folder for game records (created if needed).
    #[arg(long)]
    out: PathBuf,
    /// Settings file (TOML, e.g. written by `wgzero bench`); flags override
    /// it. Card games: JSON, a `CardSelfPlayConfig` or a training run's
    /// `settings.json` (its search replaces --determinizations).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Games to play [default: 256].
    #[arg(long)]
    games: Option<usize>,
    /// Steady state instead of whole games: play until this many moves
    /// have been played in all, finished games restarting at once so that
    /// every batch stays full (as JAX/mctx self-play runs); the games still
    /// running at the end are dropped. Reports moves/s over the steady
    /// window beside the whole run's.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    moves: Option<u64>,
    /// Simulations per move [default: 64].
    #[arg(long)]
    sims: Option<u32>,
    /// Leaves one game adds to a batch at most [default: 8].
    #[arg(long)]
    leaves_per_game: Option<usize>,
    /// Positions per network batch at most [default: 256].
    #[arg(long)]
    batch: Option<usize>,
    /// Games per group as a multiple of batch / leaves-per-game [default: 2].
    #[arg(long)]
    concurrency: Option<f64>,
    /// Threads for the tree search, 0 for all cores [default: 0].
    #[arg(long)]
    threads: Option<usize>,
    /// Search [default: puct].
    #[arg(long, value_enum)]
    algorithm: Option<AlgorithmArg>,
    #[command(flatten)]
    minimax: MinimaxArgs,
    /// Seed of the games (and of random weights) [default: 0].
    #[arg(long)]
    seed: Option<u64>,
    #[command(flatten)]
    device: DeviceArgs,
    /// Inference precision: auto is f16 on a real GPU that supports it.
    #[arg(long, value_enum, default_value = "auto")]
    precision: PrecisionArg,
    /// A model folder (config.json + model.bpk) or a run folder (its best
    /// network), as `eval`, `play` and `gtp` take; random weights if absent.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Resign when the side to move's winning probability is below this
    /// (the game is recorded as its loss) [default: 0, never].
    #[arg(long)]
    resign_below: Option<f32>,
    /// Share of games that never resign, to measure false resignations
    /// [default: 0.1].
    #[arg(long)]
    resign_playthrough: Option<f64>,
    /// Go: also write every game as one SGF collection to this file (the
    /// result by area score, or `B+R` / `W+R` for a resignation).
    #[arg(long)]
    sgf: Option<PathBuf>,
    /// Also write the final report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// After self-play, measure the network alone at the steady-state batch
    /// size and report the pipeline efficiency (self-play evaluations/s over
    /// pure network evaluations/s).
    #[arg(long)]
    efficiency: bool,
    /// Card games: share of the hands played as a league, one seat (drawn
    /// at random) by the searched network and the others by the rollout
    /// search; reports that seat's lead over them [default: 0].
    #[arg(long)]
    league: Option<f64>,
}

impl SelfplayArgs {
    /// The settings file (or defaults) with the flags given applied.
    fn selfplay_config(&self) -> Result<SelfPlayConfig> {
        let mut cfg = match &self.config {
            Some(path) => ConfigFile::load(path)?.selfplay,
            None => SelfPlayConfig::default(),
        };
        cfg.games = match (self.games, self.moves) {
            (Some(g), _) => g,
            // Steady state: a supply of games that never runs out first.
            (None, Some(_)) => usize::MAX / 2,
            (None, None) => cfg.games,
        };
        cfg.max_moves = self.moves.or(cfg.max_moves);
        cfg.simulations = self.sims.unwrap_or(cfg.simulations);
        cfg.leaves_per_game = self.leaves_per_game.unwrap_or(cfg.leaves_per_game);
        cfg.batch = self.batch.unwrap_or(cfg.batch);
        cfg.concurrency = self.concurrency.unwrap_or(cfg.concurrency);
        cfg.threads = self.threads.unwrap_or(cfg.threads);
        cfg.seed = self.seed.unwrap_or(cfg.seed);
        cfg.resign_below = self.resign_below.unwrap_or(cfg.resign_below);
        cfg.resign_playthrough = self.resign_playthrough.unwrap_or(cfg.resign_playthrough);
        if let Some(a) = self.algorithm {
            cfg.search.algorithm = a.into();
        }
        self.minimax.apply(&mut cfg.search)?;
        Ok(cfg)
    }

    /// `--model`, or random weights seeded by the games' seed.
    fn source(&self, seed: u64) -> Result<ModelSource> {
        Ok(match &self.model {
            Some(dir) => ModelSource::at(dir)?,
            None => ModelSource::Random { config: None, seed },
        })
    }
}

pub fn selfplay<G: Game>(game: G, args: &SelfplayArgs) -> Result<()> {
    if args.league.is_some() {
        anyhow::bail!("--league is for card games (--game ohhell)");
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let cfg = args.selfplay_config()?;
    let selected = args.device.select()?;
    let mut opened = args.source(cfg.seed)?.evaluator_scored(
        &game,
        &selected,
        args.precision.into(),
        cfg.search.score_utility,
    )?;
    let mut device = selected.report.clone();
    device.chosen = format!(
        "{} [{}]",
        device.chosen,
        if opened.f16 { "f16" } else { "f32" }
    );
    eprintln!("device: {} ({})", device.chosen, device.reason);
    let sgf_rules = match &args.sgf {
        Some(_) if args.game.game != super::GameName::Go => {
            anyhow::bail!("--sgf writes Go games: use it with --game go")
        }
        Some(_) => Some(wgzero::game::Go::new(
            args.game.size.unwrap_or(9),
            args.game.komi,
        )?),
        None => None,
    };
    let mut sgf_games: Vec<(u128, Vec<usize>, i8)> = Vec::new();
    let mut chunks = RecordChunks::new(&game, &args.out)?;
    let bar = match cfg.max_moves {
        Some(m) => counting_bar(m as usize, "moves"),
        None => counting_bar(cfg.games, "games"),
    };
    let report = sp::run(
        &game,
        &mut opened.eval,
        &opened.model_id,
        &cfg,
        &mut |record| {
            if sgf_rules.is_some() {
                let moves = record.positions.iter().map(|p| p.action as usize).collect();
                sgf_games.push((record.game_id, moves, record.outcome));
            }
            chunks.push(record)
        },
        &mut |p| {
            bar.set_position(match cfg.max_moves {
                Some(_) => p.moves,
                None => p.games_done as u64,
            });
            bar.set_message(format!(
                "{:.1} moves/s, {:.0} evals/s, avg batch {:.1}",
                p.moves as f64 / p.elapsed.max(1e-9),
                p.evaluations as f64 / p.elapsed.max(1e-9),
                p.evaluations as f64 / p.batches.max(1) as f64
            ));
        },
    )?;
    chunks.flush()?;
    bar.finish_and_clear();
    print_report(&game, &report, &device);
    println!(
        "  records: {} file(s) in {}",
        chunks.files_written(),
        args.out.display()
    );
    if let (Some(path), Some(go)) = (&args.sgf, sgf_rules) {
        write_selfplay_sgf(path, &go, &mut sgf_games, &opened.model_id)?;
        println!("  SGF: {} games in {}", sgf_games.len(), path.display());
    }
    let efficiency = match args.efficiency {
        true => pipeline_efficiency(&game, &mut opened.eval, &report, cfg.seed)?,
        false => serde_json::Value::Null,
    };
    if let Some(path) = &args.json {
        let json = serde_json::json!({ "report": report, "device": device, "config": cfg, "pipeline": efficiency });
        std::fs::write(path, serde_json::to_string_pretty(&json)?)?;
    }
    Ok(())
}

/// Self-play games as one SGF collection, by game id.
fn write_selfplay_sgf(
    path: &std::path::Path,
    go: &wgzero::game::Go,
    games: &mut [(u128, Vec<usize>, i8)],
    model_id: &str,
) -> Result<()> {
    use wgzero::game::sgf::{result_text, write_collection, SgfInfo};
    games.sort_by_key(|g| g.0);
    let name = format!("wgzero {model_id}");
    let trees: Vec<_> = games
        .iter()
        .map(|(id, moves, outcome)| {
            let mut s = go.initial();
            for &m in moves {
                go.apply(&mut s, m);
            }
            // A game that stops before its end was resigned.
            let resigned_winner = go
                .terminal_value(&s)
                .is_none()
                .then(|| u8::from(*outcome <= 0));
            let result = result_text(go, &s, resigned_winner);
            let info = SgfInfo {
                black: Some(name.clone()),
                white: Some(name.clone()),
                result: Some(result),
                comment: Some(format!("wgzero self-play, game {id:x}")),
            };
            (*go, moves.clone(), info)
        })
        .collect();
    std::fs::write(path, write_collection(&trees))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn print_report<G: Game>(game: &G, report: &SelfPlayReport, device: &DeviceReport) {
    let (packed, planes) = net::encode::upload_bytes(game);
    println!(
        "self-play: {} games, {} positions on {}",
        report.games, report.positions, device.chosen
    );
    println!(
        "  batch: mean {:.1}, steady state {:.1} over {} batches, min {} max {} target {}",
        report.batch_mean,
        report.batch_mean_steady,
        report.steady_batches,
        report.batch_min,
        report.batch_max,
        report.batch_target
    );
    println!(
        "  {:.1} moves/s ({} moves), {:.2} games/s, {:.0} evaluations/s, {:.0} simulations/s, {:.1} s wall",
        report.moves_per_second,
        report.moves,
        report.games_per_second,
        report.evaluations_per_second,
        report.simulations_per_second,
        report.wall_seconds
    );
    println!(
        "  steady state: {:.1} moves/s, {:.0} evaluations/s over {:.1} s (full batches after one move per game in flight)",
        report.steady_moves_per_second,
        report.steady_evaluations_per_second,
        report.steady_seconds
    );
    println!(
        "  per move: {:.2} evaluations in {:.2} network calls; saved: {:.2} by the evaluation cache, {:.2} by terminal positions, {:.2} by tree reuse (root already expanded)",
        report.evaluations_per_move,
        report.network_calls_per_move,
        report.cache_hits_per_move,
        report.terminal_hits_per_move,
        report.reused_roots_per_move
    );
    println!(
        "  CPU: {:.2} cores busy (user+system over wall), peak RSS {:.0} MB",
        report.cpu_cores,
        wgzero::process::peak_rss_mb()
    );
    println!(
        "  network {:.1} ms/batch, device busy {:.0}% of wall time",
        report.network_ms_per_batch,
        100.0 * report.device_busy_fraction
    );
    println!(
        "  search CPU: select {:.2} s, absorb {:.2} s; each leaf evaluated once: {}",
        report.cpu_select_seconds, report.cpu_absorb_seconds, report.evaluated_exactly_once
    );
    let r = &report.resign;
    if r.resigned + r.would_have_resigned > 0 {
        println!(
            "  resignation: {} games resigned; {} played through past a resignation point, {} of them not lost ({:.1}% false resignations); about {:.0} moves saved ({:.1}% of the moves played)",
            r.resigned,
            r.would_have_resigned,
            r.false_resignations,
            100.0 * r.false_rate(),
            r.moves_saved_estimate(),
            100.0 * r.moves_saved_estimate() / (report.moves as f64 + r.moves_saved_estimate()).max(1.0)
        );
    }
    println!(
        "  upload per position: {packed} bytes packed{}, vs {planes} bytes of f32 planes",
        if device.chosen.starts_with("wgpu") {
            " (encoded on the GPU)"
        } else {
            " (CPU backend: planes built on the CPU)"
        }
    );
}

/// Measures the network alone at the steady-state batch size and prints the
/// pipeline efficiency: steady-state self-play against the same batch size
/// (the whole run, ramp-up and tail included, beside it).
fn pipeline_efficiency<G: Game>(
    game: &G,
    eval: &mut NetEvaluator,
    report: &SelfPlayReport,
    seed: u64,
) -> Result<serde_json::Value> {
    let n = report.batch_mean_steady.round().max(1.0) as usize;
    let rate = forward_rate(game, eval, n, 5.0, seed)?;
    let ratio = report.steady_evaluations_per_second / rate;
    println!(
        "  pipeline efficiency: {:.3} = {:.0} steady-state self-play evaluations/s / {:.0} network evaluations/s at batch {n} (whole run: {:.3})",
        ratio,
        report.steady_evaluations_per_second,
        rate,
        report.evaluations_per_second / rate
    );
    Ok(
        serde_json::json!({ "batch": n, "network_evaluations_per_second": rate, "efficiency": ratio,
        "efficiency_whole_run": report.evaluations_per_second / rate }),
    )
}

/// `--game ohhell`: card self-play (hands, determinized search).
pub fn selfplay_cards(args: &SelfplayArgs) -> Result<()> {
    if args.moves.is_some() {
        anyhow::bail!("--moves is for board games");
    }
    let selected = args.device.select_announced()?;
    super::cards::selfplay(
        &args.game,
        &args.out,
        args.games,
        args.sims,
        args.batch,
        args.leaves_per_game,
        args.seed,
        args.model.as_deref(),
        false,
        &selected,
        args.json.as_deref(),
        args.efficiency,
        args.league,
        args.config.as_deref(),
    )
}
