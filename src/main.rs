//! The `wgzero` command line.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use wgzero::game::{perft, Connect4, Game, Gomoku, TicTacToe};
use wgzero::mcts::Algorithm;
use wgzero::net::{self, BackendChoice, NetConfig, NetEvaluator, Network, Precision};
use wgzero::players::{Heuristic, PlayerSpec};
use wgzero::selfplay::records::{write_records, GameRecord, RecordsHeader};
use wgzero::selfplay::{self as sp, SelfPlayConfig};
use wgzero::solver::Solver;

/// AlphaZero-style self-play engine for any vendor's GPU (wgpu) or a plain CPU.
#[derive(Parser)]
#[command(name = "wgzero", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Play a game against the engine in the terminal.
    ///
    /// Type moves in the game's notation: a column 1-7 for Connect Four, a cell
    /// such as h8 for Gomoku, a cell 1-9 for tic-tac-toe. `help` lists the
    /// commands, `quit` ends the game.
    Play(PlayArgs),
    /// Solve a Connect Four position exactly and print the score of every move.
    ///
    /// Scores: 0 draw; positive, the side to move wins and will have
    /// 22 - score stones on the board when it wins; negative, the opponent does.
    Solve(SolveArgs),
    /// Count the move sequences of a given length (checks move generation).
    Perft(PerftArgs),
    /// Self-play with the network: many games at once, leaves batched across
    /// games, two batches in flight; writes game records to --out.
    Selfplay(SelfplayArgs),
    /// Show every GPU adapter wgpu sees, the device wgzero would use and why.
    Info(InfoArgs),
    /// Write a randomly initialised model folder (config.json + model.bpk).
    NewModel(NewModelArgs),
}

#[derive(Args)]
struct NewModelArgs {
    #[command(flatten)]
    game: GameArgs,
    /// Folder to write.
    #[arg(long)]
    out: PathBuf,
    /// Residual blocks (default: the game's default network).
    #[arg(long)]
    blocks: Option<usize>,
    /// Channels (default: the game's default network).
    #[arg(long)]
    channels: Option<usize>,
    /// Seed of the weights.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(Args)]
struct SelfplayArgs {
    #[command(flatten)]
    game: GameArgs,
    /// Games to play.
    #[arg(long, default_value_t = 256)]
    games: usize,
    /// Simulations per move.
    #[arg(long, default_value_t = 64)]
    sims: u32,
    /// Folder for game records (created if needed).
    #[arg(long)]
    out: PathBuf,
    /// Leaves one game adds to a batch at most.
    #[arg(long, default_value_t = 8)]
    leaves_per_game: usize,
    /// Target positions per network batch.
    #[arg(long, default_value_t = 256)]
    batch: usize,
    /// Threads for the tree search (0: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Where the network runs.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendChoice,
    /// Model folder (config.json + model.bpk); random weights if absent.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Root search.
    #[arg(long, value_enum, default_value = "puct")]
    algorithm: AlgorithmArg,
    /// Inference precision: auto is f16 on a real GPU that supports it.
    #[arg(long, value_enum, default_value = "auto")]
    precision: Precision,
    /// Seed of the games (and of random weights).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Also write the final report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// After self-play, measure the network alone at the steady-state batch
    /// size and report the pipeline efficiency (self-play evaluations/s over
    /// pure network evaluations/s).
    #[arg(long)]
    efficiency: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum AlgorithmArg {
    Puct,
    Gumbel,
}

#[derive(Args)]
struct InfoArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// The device choice to explain.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendChoice,
}

#[derive(Clone, Copy, ValueEnum)]
enum GameName {
    Connect4,
    Gomoku,
    Tictactoe,
}

#[derive(Args)]
struct GameArgs {
    /// The game.
    #[arg(long, value_enum, default_value = "connect4")]
    game: GameName,
    /// Board size for Gomoku (5-19).
    #[arg(long, default_value_t = 15)]
    size: usize,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Side {
    First,
    Second,
}

#[derive(Args)]
struct PlayArgs {
    #[command(flatten)]
    game: GameArgs,
    /// The engine: `random`, `mcts:N` (rollout MCTS with N simulations per
    /// move) or `minimax:D` (alpha-beta to depth D).
    #[arg(long, default_value = "mcts:2000")]
    opponent: PlayerSpec,
    /// Whether you move first or second.
    #[arg(long, value_enum, default_value = "first")]
    human: Side,
    /// Start from this position (a move list in the game's notation, e.g. 4453).
    #[arg(long)]
    position: Option<String>,
    /// Seed of the engine's random choices.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(Args)]
struct SolveArgs {
    /// The position: 1-based column digits, e.g. 4453 (empty for the start).
    position: String,
    /// Only tell win / draw / loss (faster).
    #[arg(long)]
    weak: bool,
}

#[derive(Args)]
struct PerftArgs {
    #[command(flatten)]
    game: GameArgs,
    /// Number of plies.
    #[arg(long, default_value_t = 6)]
    depth: u32,
}

/// Calls the generic `$run(game, args...)` with the game `$g` (a [`GameArgs`]) names.
macro_rules! with_game {
    ($g:expr, $run:ident($($arg:expr),*)) => {
        match $g.game {
            GameName::Connect4 => $run(Connect4, $($arg),*),
            GameName::Gomoku => Gomoku::new($g.size).map_err(Into::into).and_then(|g| $run(g, $($arg),*)),
            GameName::Tictactoe => $run(TicTacToe, $($arg),*),
        }
    };
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Play(a) => with_game!(a.game, play(&a)),
        Command::Solve(a) => solve(&a),
        Command::Selfplay(a) => with_game!(a.game, selfplay(&a)),
        Command::Info(a) => info(&a),
        Command::NewModel(a) => with_game!(a.game, new_model(&a)),
        Command::Perft(a) => with_game!(a.game, run_perft(a.depth)),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn play<G: Game + Heuristic>(game: G, args: &PlayArgs) -> Result<()> {
    let mut engine = args.opponent.build(game.clone(), args.seed)?;
    let mut state = match &args.position {
        Some(p) => game.parse_position(p).context("--position")?,
        None => game.initial(),
    };
    let human_side: u8 = if args.human == Side::First { 0 } else { 1 };
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    println!(
        "{} against {}. You play {}. Type `help` for commands.\n",
        game.name(),
        engine.name(),
        if human_side == 0 {
            "X (first)"
        } else {
            "O (second)"
        }
    );
    loop {
        println!("{}", game.render(&state));
        if let Some(v) = game.terminal_value(&state) {
            let winner = 1 - game.to_move(&state);
            match (v == 0.0, winner == human_side) {
                (true, _) => println!("Draw."),
                (false, true) => println!("You win."),
                (false, false) => println!("{} wins.", engine.name()),
            }
            return Ok(());
        }
        let action = if game.to_move(&state) == human_side {
            match read_human_move(&game, &state, &mut lines)? {
                Some(a) => a,
                None => {
                    println!("Bye.");
                    return Ok(());
                }
            }
        } else {
            let t = Instant::now();
            let a = engine.choose(&state)?;
            println!(
                "{} plays {} ({:.2} s)\n",
                engine.name(),
                game.format_move(a),
                t.elapsed().as_secs_f64()
            );
            a
        };
        let before = state.clone();
        game.play(&mut state, action)?;
        engine.observe(&before, action);
    }
}

/// Prompts until the user types a legal move (`Some`) or quits / closes input (`None`).
fn read_human_move<G: Game>(
    game: &G,
    state: &G::State,
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
) -> Result<Option<usize>> {
    loop {
        print!("Your move: ");
        std::io::stdout().flush()?;
        let Some(line) = lines.next() else {
            println!();
            return Ok(None);
        };
        let line = line.context("reading standard input")?;
        let text = line.trim();
        match text {
            "" => continue,
            "quit" | "exit" | "q" => return Ok(None),
            "help" | "?" => {
                let mut legal = Vec::new();
                game.legal_actions(state, &mut legal);
                let moves: Vec<String> = legal.iter().map(|&a| game.format_move(a)).collect();
                println!("Legal moves: {}\nCommands: help, quit", moves.join(" "));
            }
            _ => match game.parse_move(state, text) {
                Ok(a) => return Ok(Some(a)),
                Err(e) => println!("{e}"),
            },
        }
    }
}

fn solve(args: &SolveArgs) -> Result<()> {
    let game = Connect4;
    let state = game.parse_position(&args.position)?;
    if game.terminal_value(&state).is_some() {
        bail!("the game is already over in position {:?}", args.position);
    }
    print!("{}", game.render(&state));
    let mut solver = Solver::new();
    let t = Instant::now();
    let scores = if args.weak {
        solver.analyze_weak(&state)
    } else {
        solver.analyze(&state)
    };
    let best = scores.iter().flatten().max().copied().unwrap_or(0);
    let describe = |s: i32| match (args.weak, s.signum()) {
        (true, 1) => "win".to_string(),
        (true, -1) => "loss".to_string(),
        (_, 0) => "draw".to_string(),
        _ => s.to_string(),
    };
    println!("position score: {}", describe(best));
    for (col, s) in scores.iter().enumerate() {
        match s {
            Some(s) => println!("  column {}: {}", col + 1, describe(*s)),
            None => println!("  column {}: full", col + 1),
        }
    }
    println!(
        "({} nodes, {:.3} s)",
        solver.nodes(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

fn run_perft<G: Game>(game: G, depth: u32) -> Result<()> {
    let s = game.initial();
    for d in 1..=depth {
        let t = Instant::now();
        let n = perft(&game, &s, d);
        println!(
            "{} depth {d}: {n} ({:.3} s)",
            game.name(),
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Opens the network of `--model` (or random weights) on the chosen device.
fn open_network<G: Game>(
    game: G,
    backend: BackendChoice,
    precision: Precision,
    model: Option<PathBuf>,
    seed: u64,
) -> Result<(NetEvaluator, net::DeviceReport, String)> {
    let selected = net::select(backend)?;
    let mut report = selected.report.clone();
    let (device, gpu) = (selected.device.clone(), selected.is_wgpu);
    let real_gpu = gpu && !report.chosen.contains("Cpu,");
    let (id_tx, id_rx) = std::sync::mpsc::channel();
    let eval = NetEvaluator::spawn(move || {
        let network = match &model {
            Some(dir) => Network::load(game, dir, device, gpu)?,
            None => {
                let cfg = NetConfig::for_game(&game);
                Network::random(game, cfg, device, gpu, seed)?
            }
        };
        let network = network.with_precision(precision, real_gpu)?;
        let _ = id_tx.send((network.id().to_string(), network.is_f16()));
        Ok(network)
    })?;
    let (id, f16) = id_rx.recv().unwrap_or_default();
    report.chosen = format!("{} [{}]", report.chosen, if f16 { "f16" } else { "f32" });
    Ok((eval, report, id))
}

fn selfplay<G: Game>(game: G, args: &SelfplayArgs) -> Result<()> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let (mut eval, device, model_id) = open_network(
        game.clone(),
        args.backend,
        args.precision,
        args.model.clone(),
        args.seed,
    )?;
    eprintln!("device: {} ({})", device.chosen, device.reason);
    let mut search = wgzero::mcts::SearchConfig::selfplay();
    search.algorithm = match args.algorithm {
        AlgorithmArg::Puct => Algorithm::Puct,
        AlgorithmArg::Gumbel => Algorithm::Gumbel,
    };
    let cfg = SelfPlayConfig {
        games: args.games,
        simulations: args.sims,
        leaves_per_game: args.leaves_per_game,
        batch: args.batch,
        threads: args.threads,
        seed: args.seed,
        search,
    };
    let header = RecordsHeader {
        game: game.name(),
        words: game.packed_words(),
        actions: game.num_actions(),
    };
    // Records go out in chunks of 64 games, each file written atomically.
    let first_chunk = next_chunk_index(&args.out)?;
    let mut chunk: Vec<GameRecord> = Vec::new();
    let mut chunks_written = 0usize;
    let out = args.out.clone();
    let flush = |chunk: &mut Vec<GameRecord>, n: &mut usize| -> wgzero::Result<()> {
        if !chunk.is_empty() {
            let path = out.join(format!("games-{:06}.wgzr", first_chunk + *n));
            write_records(&path, &header, chunk)?;
            chunk.clear();
            *n += 1;
        }
        Ok(())
    };
    let bar = indicatif::ProgressBar::new(args.games as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} games {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let report = sp::run(
        &game,
        &mut eval,
        &model_id,
        &cfg,
        &mut |record| {
            chunk.push(record);
            if chunk.len() >= 64 {
                flush(&mut chunk, &mut chunks_written)?;
            }
            Ok(())
        },
        &mut |p| {
            bar.set_position(p.games_done as u64);
            bar.set_message(format!(
                "{:.1} games/s, {:.0} evals/s, avg batch {:.1}",
                p.games_done as f64 / p.elapsed.max(1e-9),
                p.evaluations as f64 / p.elapsed.max(1e-9),
                p.evaluations as f64 / p.batches.max(1) as f64
            ));
        },
    )?;
    flush(&mut chunk, &mut chunks_written)?;
    bar.finish_and_clear();
    let (packed, planes) = net::encode::upload_bytes(&game);
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
        "  {:.2} games/s, {:.0} evaluations/s, {:.0} simulations/s, {:.1} s wall",
        report.games_per_second,
        report.evaluations_per_second,
        report.simulations_per_second,
        report.wall_seconds
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
    println!(
        "  upload per position: {packed} bytes packed{}, vs {planes} bytes of f32 planes",
        if device.chosen.starts_with("wgpu") {
            " (encoded on the GPU)"
        } else {
            " (CPU backend: planes built on the CPU)"
        }
    );
    println!(
        "  records: {} file(s) in {}",
        chunks_written,
        args.out.display()
    );
    let mut efficiency = serde_json::Value::Null;
    if args.efficiency {
        let n = report.batch_mean_steady.round().max(1.0) as usize;
        let rate = sp::forward_rate(&game, &mut eval, n, 5.0, args.seed)?;
        // Steady state against the same batch size; the whole run (ramp-up
        // and tail included) is reported beside it.
        let ratio = report.steady_evaluations_per_second / rate;
        println!(
            "  pipeline efficiency: {:.3} = {:.0} steady-state self-play evaluations/s / {:.0} network evaluations/s at batch {n} (whole run: {:.3})",
            ratio,
            report.steady_evaluations_per_second,
            rate,
            report.evaluations_per_second / rate
        );
        efficiency = serde_json::json!({ "batch": n, "network_evaluations_per_second": rate, "efficiency": ratio,
            "efficiency_whole_run": report.evaluations_per_second / rate });
    }
    if let Some(path) = &args.json {
        let json = serde_json::json!({ "report": report, "device": device, "config": cfg, "pipeline": efficiency });
        std::fs::write(path, serde_json::to_string_pretty(&json)?)?;
    }
    Ok(())
}

/// The index after the highest `games-NNNNNN.wgzr` in `dir`.
fn next_chunk_index(dir: &std::path::Path) -> Result<usize> {
    let mut next = 0;
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some(n) = name
            .strip_prefix("games-")
            .and_then(|r| r.strip_suffix(".wgzr"))
        {
            if let Ok(n) = n.parse::<usize>() {
                next = next.max(n + 1);
            }
        }
    }
    Ok(next)
}

fn info(args: &InfoArgs) -> Result<()> {
    let selected = net::select(args.backend)?;
    let r = &selected.report;
    let adapters = if args.backend == BackendChoice::Cpu {
        net::device::list_adapters()
    } else {
        r.adapters.clone()
    };
    if args.json {
        let json = serde_json::json!({ "adapters": adapters, "chosen": r.chosen, "reason": r.reason, "f16": r.f16, "cpu_backend": r.cpu_backend });
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    println!("wgpu adapters:");
    if adapters.is_empty() {
        println!("  (none)");
    }
    for a in &adapters {
        println!(
            "  {} | vendor {} | {} | {} | driver {} {} | f16 {}",
            a.name,
            a.vendor,
            a.device_type,
            a.graphics_api,
            a.driver,
            a.driver_info,
            if a.f16 { "yes" } else { "no" }
        );
    }
    println!("chosen: {}", r.chosen);
    println!("why: {}", r.reason);
    println!(
        "f16 on the chosen device: {}",
        if r.f16 { "yes" } else { "no" }
    );
    println!("CPU backend: {}", r.cpu_backend);
    Ok(())
}

fn new_model<G: Game>(game: G, args: &NewModelArgs) -> Result<()> {
    let mut cfg = NetConfig::for_game(&game);
    cfg = cfg.clone().with_size(
        args.blocks.unwrap_or(cfg.blocks),
        args.channels.unwrap_or(cfg.channels),
    );
    let params = cfg.num_params();
    let net = Network::random(game, cfg, burn::tensor::Device::flex(), false, args.seed)?;
    net.save(&args.out)?;
    println!("wrote {} ({} parameters)", args.out.display(), params);
    Ok(())
}
