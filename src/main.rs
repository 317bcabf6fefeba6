//! The `wgzero` command line.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Instant;

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use rand::{Rng, SeedableRng};

use wgzero::arena::{play_match, Contestant, MatchConfig};
use wgzero::config::ConfigFile;
use wgzero::eval::{Evaluator, SymmetryAverage};
use wgzero::game::{perft, Connect4, Game, Gomoku, TicTacToe};
use wgzero::mcts::{Algorithm, SearchConfig};
use wgzero::net::{self, BackendChoice, NetConfig, NetEvaluator, Network, Precision};
use wgzero::players::{Heuristic, PlayerSpec};
use wgzero::selfplay::records::{write_records, GameRecord, RecordsHeader};
use wgzero::selfplay::{self as sp, SelfPlayConfig};
use wgzero::solver::Solver;
use wgzero::train::run as train_run;

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
    /// Benchmark this machine (network forward, encoding, search, self-play,
    /// training) and write tuned self-play settings for `--config`.
    Bench(BenchArgs),
    /// Train a network: self-play -> replay buffer -> training -> arena, in
    /// iterations, in a run folder. Run the same command again to resume.
    Train(TrainArgs),
    /// Grow a run's network: append residual blocks that start as the
    /// identity and/or widen its value head, in its best and latest
    /// checkpoints (same play, more capacity), keeping its games; `wgzero
    /// train` on the run then resumes with it.
    Grow(GrowArgs),
    /// Measure a model: a match against a baseline or another model, or
    /// (Connect Four) the share of solver-judged wrong moves on test positions.
    Eval(EvalArgs),
    /// Write Connect Four test positions for `eval --positions`, judged by the solver.
    GenPositions(GenPositionsArgs),
}

#[derive(Args)]
struct TrainArgs {
    #[command(flatten)]
    game: GameArgs,
    /// The run folder (created, or resumed when it holds a run).
    #[arg(long)]
    run: PathBuf,
    /// Settings file (TOML: [selfplay], [train], [run]); the effective
    /// settings are saved in the run folder as config.toml.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Start a new run from a trained network instead of random weights: a
    /// model folder, a run folder (its best network), or `shipped` (the
    /// game's shipped model). The first games are its own (no rollout
    /// bootstrap) and the optimiser starts fresh.
    #[arg(long, value_name = "MODEL")]
    init_model: Option<String>,
    /// Stop once the run has this many iterations.
    #[arg(long)]
    iterations: Option<u64>,
    /// Stop after this many minutes (the unfinished step is abandoned).
    #[arg(long)]
    minutes: Option<f64>,
    /// Self-play games per iteration [default: 128].
    #[arg(long)]
    games: Option<usize>,
    /// Simulations of a full self-play search [default: 64].
    #[arg(long)]
    sims: Option<u32>,
    /// Self-play root search [default: gumbel].
    #[arg(long, value_enum)]
    algorithm: Option<AlgorithmArg>,
    /// Where the network runs.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendChoice,
    /// Inference precision in self-play and arena games.
    #[arg(long, value_enum, default_value = "auto")]
    precision: Precision,
}

#[derive(Args)]
struct GrowArgs {
    #[command(flatten)]
    game: GameArgs,
    /// The run folder (made by `wgzero train`).
    #[arg(long)]
    run: PathBuf,
    /// Residual blocks of the grown network (more than it has).
    #[arg(long, required_unless_present = "value_channels")]
    blocks: Option<usize>,
    /// Channels of the grown network's value head (more than it has; a new
    /// network has 1): more features per cell for the value to judge from.
    #[arg(long)]
    value_channels: Option<usize>,
}

#[derive(Args)]
struct EvalArgs {
    #[command(flatten)]
    game: GameArgs,
    /// The model folder (config.json + model.bpk) or a run folder (its best
    /// checkpoint); default: the shipped model of the game.
    #[arg(long)]
    model: Option<PathBuf>,
    /// The opponent: random, mcts:N, minimax:D, or a model / run folder.
    #[arg(long)]
    against: Option<String>,
    /// Games (half with each colour).
    #[arg(long, default_value_t = 100)]
    games: usize,
    /// Connect Four test positions (one per line: column digits, then
    /// anything); each move is judged by the solver.
    #[arg(long, conflicts_with = "against")]
    positions: Option<PathBuf>,
    /// Simulations per move of the model's search.
    #[arg(long, default_value_t = 400)]
    sims: u32,
    /// Leaves one search hands out at a time (virtual loss between them);
    /// fewer plays stronger per simulation, more fills a batch from fewer
    /// games.
    #[arg(long, default_value_t = 8)]
    leaves: usize,
    /// The model's root search.
    #[arg(long, value_enum, default_value = "puct")]
    algorithm: AlgorithmArg,
    /// PUCT's exploration constant.
    #[arg(long, default_value_t = 1.5)]
    c_puct: f32,
    #[command(flatten)]
    averaging: AveragingArgs,
    /// Random moves opening each pair of games.
    #[arg(long, default_value_t = 0)]
    opening_moves: usize,
    /// Where the network runs.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendChoice,
    /// Print JSON (per-position results with --positions).
    #[arg(long)]
    json: bool,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(Args)]
struct GenPositionsArgs {
    /// Output file.
    #[arg(long)]
    out: PathBuf,
    /// Positions to write.
    #[arg(long, default_value_t = 100)]
    count: usize,
    /// Moves played before each position: N or LOW-HIGH.
    #[arg(long, default_value = "8-14")]
    moves: String,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(Args)]
struct BenchArgs {
    #[command(flatten)]
    game: GameArgs,
    /// The short suite (under 2 minutes on a 2-core CPU; the full one under 15).
    #[arg(long)]
    quick: bool,
    /// Also write every figure as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Where the network runs.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendChoice,
    /// Where to write the tuned settings (TOML).
    #[arg(long, default_value = "wgzero-tuned.toml")]
    tune_out: PathBuf,
    /// Seed of the random weights and games.
    #[arg(long, default_value_t = 0)]
    seed: u64,
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
    /// Folder for game records (created if needed).
    #[arg(long)]
    out: PathBuf,
    /// Settings file (TOML, e.g. written by `wgzero bench`); flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Games to play [default: 256].
    #[arg(long)]
    games: Option<usize>,
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
    /// Root search [default: puct].
    #[arg(long, value_enum)]
    algorithm: Option<AlgorithmArg>,
    /// Seed of the games (and of random weights) [default: 0].
    #[arg(long)]
    seed: Option<u64>,
    /// Where the network runs.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendChoice,
    /// Inference precision: auto is f16 on a real GPU that supports it.
    #[arg(long, value_enum, default_value = "auto")]
    precision: Precision,
    /// Model folder (config.json + model.bpk); random weights if absent.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Also write the final report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// After self-play, measure the network alone at the steady-state batch
    /// size and report the pipeline efficiency (self-play evaluations/s over
    /// pure network evaluations/s).
    #[arg(long)]
    efficiency: bool,
}

impl SelfplayArgs {
    /// The settings file (or defaults) with the flags given applied.
    fn selfplay_config(&self) -> Result<SelfPlayConfig> {
        let mut cfg = match &self.config {
            Some(path) => ConfigFile::load(path)?.selfplay,
            None => SelfPlayConfig::default(),
        };
        cfg.games = self.games.unwrap_or(cfg.games);
        cfg.simulations = self.sims.unwrap_or(cfg.simulations);
        cfg.leaves_per_game = self.leaves_per_game.unwrap_or(cfg.leaves_per_game);
        cfg.batch = self.batch.unwrap_or(cfg.batch);
        cfg.concurrency = self.concurrency.unwrap_or(cfg.concurrency);
        cfg.threads = self.threads.unwrap_or(cfg.threads);
        cfg.seed = self.seed.unwrap_or(cfg.seed);
        if let Some(a) = self.algorithm {
            cfg.search.algorithm = a.into();
        }
        Ok(cfg)
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum AlgorithmArg {
    Puct,
    Gumbel,
}

impl From<AlgorithmArg> for Algorithm {
    fn from(a: AlgorithmArg) -> Self {
        match a {
            AlgorithmArg::Puct => Algorithm::Puct,
            AlgorithmArg::Gumbel => Algorithm::Gumbel,
        }
    }
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

/// How a network's outputs are averaged over board symmetries (`play`, `eval`).
#[derive(Args)]
struct AveragingArgs {
    /// Evaluate each position in its first K symmetric images and average
    /// the network's outputs (1 = off; Connect Four has 2: the position and
    /// its mirror image; Gomoku and tic-tac-toe 8).
    #[arg(long, default_value_t = 2)]
    symmetries: usize,
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
    /// The engine: `model` (the shipped network of the game, searching
    /// --sims simulations per move), `model:PATH` (a model or run folder),
    /// `random`, `mcts:N` (rollout MCTS with N simulations per move) or
    /// `minimax:D` (alpha-beta to depth D).
    #[arg(long, default_value = "model")]
    opponent: String,
    /// Simulations per move of a network opponent.
    #[arg(long, default_value_t = 400)]
    sims: u32,
    #[command(flatten)]
    averaging: AveragingArgs,
    /// Where a network opponent runs.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendChoice,
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
        Command::Bench(a) => with_game!(a.game, bench(&a)),
        Command::Perft(a) => with_game!(a.game, run_perft(a.depth)),
        Command::Train(a) => with_game!(a.game, train(&a)),
        Command::Grow(a) => with_game!(a.game, grow(&a)),
        Command::Eval(a) => with_game!(a.game, eval(&a)),
        Command::GenPositions(a) => gen_positions(&a),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// The engine `play` faces.
fn build_opponent<G: Game + Heuristic>(
    game: &G,
    args: &PlayArgs,
) -> Result<Box<dyn wgzero::players::Player<G>>> {
    let model = match args.opponent.as_str() {
        "model" => None,
        o => match o.strip_prefix("model:") {
            Some(path) => Some(PathBuf::from(path)),
            None => {
                let spec: PlayerSpec = o.parse().context(
                    "--opponent: expected model, model:PATH, random, mcts:N or minimax:D",
                )?;
                return Ok(spec.build(game.clone(), args.seed)?);
            }
        },
    };
    if args.sims == 0 {
        bail!("--sims must be at least 1");
    }
    if model.is_none() && wgzero::models::shipped(&game.name()).is_none() {
        bail!(
            "there is no shipped model for {}: use --opponent mcts:2000, minimax:5 or model:PATH",
            game.name()
        );
    }
    let selected = net::select(args.backend)?;
    let (eval, name) =
        model_evaluator(game, model.as_deref(), &selected, args.averaging.symmetries)?;
    let cfg = SearchConfig {
        simulations: args.sims,
        ..SearchConfig::default()
    };
    Ok(Box::new(wgzero::players::SearchPlayer::new(
        game.clone(),
        cfg,
        eval,
        format!("{name} ({} simulations)", args.sims),
        args.seed,
    )?))
}

fn play<G: Game + Heuristic>(game: G, args: &PlayArgs) -> Result<()> {
    let mut engine = build_opponent(&game, args)?;
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
    let (device, gpu, real_gpu) = (selected.device.clone(), selected.is_wgpu, selected.real_gpu);
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
    let cfg = args.selfplay_config()?;
    let (mut eval, device, model_id) = open_network(
        game.clone(),
        args.backend,
        args.precision,
        args.model.clone(),
        cfg.seed,
    )?;
    eprintln!("device: {} ({})", device.chosen, device.reason);
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
    let bar = counting_bar(cfg.games, "games");
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
        let rate = sp::forward_rate(&game, &mut eval, n, 5.0, cfg.seed)?;
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

fn grow<G: Game>(game: G, args: &GrowArgs) -> Result<()> {
    let selected = net::select(BackendChoice::Cpu)?;
    let to = train_run::GrowTo {
        blocks: args.blocks,
        value_channels: args.value_channels,
    };
    let g = train_run::grow_run(&game, &args.run, to, &selected)
        .with_context(|| format!("cannot grow the run in {}", args.run.display()))?;
    let mut changes = Vec::new();
    if g.to_blocks != g.from_blocks {
        changes.push(format!(
            "from {} to {} residual blocks",
            g.from_blocks, g.to_blocks
        ));
    }
    if g.to_value_channels != g.from_value_channels {
        changes.push(format!(
            "value head from {} to {} channels",
            g.from_value_channels, g.to_value_channels
        ));
    }
    println!(
        "grew {} {}: {} (the optimiser restarts; resume with wgzero train)",
        args.run.display(),
        changes.join(", "),
        g.checkpoints.join(", ")
    );
    Ok(())
}

fn bench<G: Game>(game: G, args: &BenchArgs) -> Result<()> {
    let opts = wgzero::bench::BenchOptions {
        quick: args.quick,
        backend: args.backend,
        tune_out: args.tune_out.clone(),
        seed: args.seed,
        command_line: std::env::args().collect::<Vec<_>>().join(" "),
    };
    let r = wgzero::bench::run(&game, &opts, &mut |line| eprintln!("{line}"))?;
    println!(
        "\nwgzero bench{} — {} — {}",
        if r.quick { " --quick" } else { "" },
        r.game,
        r.device.chosen
    );
    println!(
        "network: {} blocks x {} channels, {} parameters",
        r.network.blocks,
        r.network.channels,
        r.network.num_params()
    );
    println!("\n1. network forward (two batches in flight; best of interleaved rounds)");
    println!(
        "   {:>9} {:>6} {:>14} {:>12}",
        "precision", "batch", "evals/s", "ms/batch"
    );
    for p in &r.forward {
        println!(
            "   {:>9} {:>6} {:>14.0} {:>12.2}",
            p.precision, p.batch, p.evaluations_per_second, p.ms_per_batch
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
    let s = &r.selfplay;
    println!(
        "\n4. self-play ({} games, {} simulations, batch {}, {} leaves per game)",
        s.config.games, s.config.simulations, s.config.batch, s.config.leaves_per_game
    );
    println!(
        "   {:.2} games/s, {:.0} evaluations/s ({:.0} steady), {:.0} simulations/s",
        s.report.games_per_second,
        s.report.evaluations_per_second,
        s.report.steady_evaluations_per_second,
        s.report.simulations_per_second
    );
    println!(
        "   batch mean {:.1} (steady {:.1}), device busy {:.0}%, network {:.1} ms/batch",
        s.report.batch_mean,
        s.report.batch_mean_steady,
        100.0 * s.report.device_busy_fraction,
        s.report.network_ms_per_batch
    );
    println!(
        "   pipeline efficiency {:.3} (steady self-play {:.0} / forward {:.0} evaluations/s at batch {})",
        s.pipeline_efficiency, s.report.steady_evaluations_per_second, s.forward_evaluations_per_second, s.config.batch
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
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&r)?)?;
        println!("report: {}", path.display());
    }
    Ok(())
}

/// The interrupt flag set by Ctrl-C (a second Ctrl-C exits at once).
fn interrupt_flag() -> &'static AtomicBool {
    static FLAG: AtomicBool = AtomicBool::new(false);
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            if FLAG.swap(true, Ordering::SeqCst) {
                eprintln!("\ninterrupted again: exiting now");
                std::process::exit(130);
            }
            eprintln!("\ninterrupted: abandoning the current step (Ctrl-C again to exit now)");
        });
    });
    &FLAG
}

fn train<G: Game + Heuristic>(game: G, args: &TrainArgs) -> Result<()> {
    let base = train_run::training_defaults();
    let mut cfg = match &args.config {
        Some(path) => ConfigFile::load_over(path, &base)?,
        None => base,
    };
    let explicit = args.config.is_some()
        || args.games.is_some()
        || args.sims.is_some()
        || args.algorithm.is_some();
    cfg.selfplay.games = args.games.unwrap_or(cfg.selfplay.games);
    cfg.selfplay.simulations = args.sims.unwrap_or(cfg.selfplay.simulations);
    if let Some(a) = args.algorithm {
        cfg.selfplay.search.algorithm = a.into();
    }
    if let Some(m) = args.minutes {
        if !(m.is_finite() && m > 0.0) {
            bail!("--minutes must be a positive number");
        }
    }
    let selected = net::select(args.backend)?;
    eprintln!(
        "device: {} ({})",
        selected.report.chosen, selected.report.reason
    );
    let init = match &args.init_model {
        Some(m) => Some(init_model(&game, m)?),
        None => None,
    };
    let opts = train_run::RunOptions {
        init,
        iterations: args.iterations,
        minutes: args.minutes,
        interrupt: interrupt_flag(),
        device: selected,
        precision: args.precision,
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let t = Instant::now();
    let summary = train_run::train(&game, &args.run, &cfg, explicit, &opts, &mut |line| {
        eprintln!("{line}")
    })?;
    println!(
        "{} at iteration {} ({} completed by this command) in {:.1} min; best network: {}",
        if summary.interrupted {
            "stopped"
        } else {
            "done"
        },
        summary.iteration,
        summary.completed,
        t.elapsed().as_secs_f64() / 60.0,
        summary.best.display()
    );
    if summary.interrupted {
        println!("resume with the same command");
    }
    Ok(())
}

/// The network `train --init-model` starts from: a model folder, a run
/// folder's best checkpoint, or `shipped`.
fn init_model<G: Game>(game: &G, model: &str) -> Result<train_run::InitModel> {
    if model == "shipped" {
        let Some((json, weights)) = wgzero::models::shipped(&game.name()) else {
            bail!(
                "--init-model shipped: there is no shipped model for {}",
                game.name()
            );
        };
        return Ok(train_run::InitModel {
            label: format!("the shipped {} model", game.name()),
            config_json: json.to_string(),
            weights: weights.to_vec(),
        });
    }
    let path = std::path::Path::new(model);
    if !path.is_dir() {
        bail!("--init-model {model}: not a folder (give a model or run folder, or `shipped`)");
    }
    let dir = model_dir(path)?;
    let (config_json, weights) = read_model_folder(&dir).context("--init-model")?;
    Ok(train_run::InitModel {
        label: dir.display().to_string(),
        config_json,
        weights,
    })
}

/// A model folder's `config.json` text and `model.bpk` bytes.
fn read_model_folder(dir: &std::path::Path) -> Result<(String, Vec<u8>)> {
    let cfg_path = dir.join(net::network::CONFIG_FILE);
    let w_path = dir.join(net::network::WEIGHTS_FILE);
    Ok((
        std::fs::read_to_string(&cfg_path)
            .with_context(|| format!("reading {}", cfg_path.display()))?,
        std::fs::read(&w_path).with_context(|| format!("reading {}", w_path.display()))?,
    ))
}

/// A model folder: `path` itself, or a run folder's best checkpoint.
fn model_dir(path: &std::path::Path) -> Result<PathBuf> {
    if path.join(train_run::STATE_FILE).exists() {
        Ok(train_run::best_checkpoint(path)?)
    } else {
        Ok(path.to_path_buf())
    }
}

/// An evaluator for `model` (a folder), or the game's shipped model.
fn model_evaluator<G: Game>(
    game: &G,
    model: Option<&std::path::Path>,
    selected: &net::Selected,
    symmetries: usize,
) -> Result<(SymmetryAverage<G, NetEvaluator>, String)> {
    let (json, weights, name) = match model {
        Some(p) => {
            let dir = model_dir(p)?;
            let (json, weights) = read_model_folder(&dir)?;
            (json, weights, dir.display().to_string())
        }
        None => match wgzero::models::shipped(&game.name()) {
            Some((json, weights)) => (json.to_string(), weights.to_vec(), "shipped model".into()),
            None => bail!(
                "there is no shipped model for {}: give --model",
                game.name()
            ),
        },
    };
    let (g, device, gpu, real) = (
        game.clone(),
        selected.device.clone(),
        selected.is_wgpu,
        selected.real_gpu,
    );
    let label = name.clone();
    let eval = NetEvaluator::spawn(move || {
        Network::from_parts(g, &json, weights, device, gpu)
            .map_err(|e| e.in_model(&label))?
            .with_precision(Precision::Auto, real)
    })?;
    let eval = SymmetryAverage::new(game.clone(), eval, symmetries).context("--symmetries")?;
    Ok((eval, name))
}

fn eval<G: Game + Heuristic>(game: G, args: &EvalArgs) -> Result<()> {
    if args.sims == 0 {
        bail!("--sims must be at least 1");
    }
    let selected = net::select(args.backend)?;
    let (mut eval_a, name_a) = model_evaluator(
        &game,
        args.model.as_deref(),
        &selected,
        args.averaging.symmetries,
    )?;
    if args.leaves == 0 {
        bail!("--leaves must be at least 1");
    }
    let search = SearchConfig {
        simulations: args.sims,
        leaves_per_gather: args.leaves,
        algorithm: args.algorithm.into(),
        c_puct: args.c_puct,
        ..SearchConfig::default()
    };
    search.validate(game.num_actions())?;
    if let Some(file) = &args.positions {
        return eval_positions(&game, file, &search, &mut eval_a, &name_a, args);
    }
    let Some(against) = &args.against else {
        bail!("give --against OPPONENT (random, mcts:N, minimax:D or a model folder) or --positions FILE");
    };
    if args.games == 0 {
        bail!("--games must be at least 1");
    }
    let mut eval_b;
    let b = match against.parse::<PlayerSpec>() {
        Ok(spec) => Contestant::Baseline(spec),
        Err(spec_err) => {
            let path = std::path::Path::new(against);
            if !path.exists() {
                bail!("--against {against:?}: neither a player ({spec_err}) nor a model folder");
            }
            let (e, name) =
                model_evaluator(&game, Some(path), &selected, args.averaging.symmetries)?;
            eval_b = e;
            Contestant::Search {
                name,
                search: search.clone(),
                eval: &mut eval_b,
            }
        }
    };
    let b_name = b.name();
    let a = Contestant::Search {
        name: name_a,
        search: search.clone(),
        eval: &mut eval_a,
    };
    let a_name = a.name();
    let cfg = MatchConfig {
        games: args.games,
        opening_moves: args.opening_moves,
        concurrency: args.games.min(256),
        seed: args.seed,
    };
    let bar = indicatif::ProgressBar::new(args.games as u64);
    let t = Instant::now();
    let interrupt = interrupt_flag();
    let r = play_match(
        &game,
        a,
        b,
        &cfg,
        &mut |done, _| bar.set_position(done as u64),
        &|| interrupt.load(Ordering::SeqCst),
    )?;
    bar.finish_and_clear();
    let elo = r.elo();
    if args.json {
        let json = serde_json::json!({ "model": a_name, "against": b_name, "symmetries": args.averaging.symmetries, "result": r, "score": r.score(),
            "elo": elo.elo, "elo_low": elo.low, "elo_high": elo.high, "seconds": t.elapsed().as_secs_f64() });
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    println!("{a_name} against {b_name}: {} games", r.games);
    println!(
        "  wins {} draws {} losses {}, score {:.3}",
        r.wins,
        r.draws,
        r.losses,
        r.score()
    );
    println!(
        "  moving first: {}-{}-{}; moving second: {}-{}-{}",
        r.first[0], r.first[1], r.first[2], r.second[0], r.second[1], r.second[2]
    );
    println!("  {elo}");
    println!("  ({:.1} s)", t.elapsed().as_secs_f64());
    Ok(())
}

fn eval_positions<G: Game>(
    game: &G,
    file: &std::path::Path,
    search: &SearchConfig,
    eval: &mut dyn Evaluator,
    name: &str,
    args: &EvalArgs,
) -> Result<()> {
    if game.name() != Connect4.name() {
        bail!("--positions needs --game connect4 (the solver judges the moves)");
    }
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut states = Vec::new();
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(pos) = line.split_whitespace().next() else {
            continue;
        };
        if pos.starts_with('#') {
            continue;
        }
        let s = Connect4
            .parse_position(pos)
            .with_context(|| format!("{} line {}", file.display(), i + 1))?;
        if Connect4.terminal_value(&s).is_some() {
            bail!(
                "{} line {}: the game is already over in {pos}",
                file.display(),
                i + 1
            );
        }
        states.push(s);
        lines.push(pos.to_string());
    }
    if states.is_empty() {
        bail!("{} holds no positions", file.display());
    }
    let t = Instant::now();
    let bar = counting_bar(states.len(), "positions searched");
    let results: Vec<usize> =
        wgzero::arena::search_many(&Connect4, &states, search, eval, args.seed, &mut |done| {
            bar.set_position(done as u64)
        })?
        .into_iter()
        .map(|r| r.action)
        .collect();
    bar.finish_and_clear();
    let search_secs = t.elapsed().as_secs_f64();
    let verdicts = judge_moves(&states, &results)?;
    let mut wrong = 0usize;
    let mut rows = Vec::new();
    for ((pos, &action), &(best, got)) in lines.iter().zip(&results).zip(&verdicts) {
        let ok = got.signum() == best.signum();
        if !ok {
            wrong += 1;
        }
        rows.push(serde_json::json!({ "position": pos, "move": action + 1,
            "best": outcome_name(best), "after_move": outcome_name(got), "correct": ok }));
    }
    let rate = wrong as f64 / rows.len() as f64;
    let (low, high) = wgzero::arena::wilson_interval(rate, rows.len());
    if args.json {
        let json = serde_json::json!({ "model": name, "simulations": search.simulations, "symmetries": args.averaging.symmetries, "positions": rows.len(),
            "wrong": wrong, "error_rate": rate, "error_rate_low": low, "error_rate_high": high,
            "search_seconds": search_secs, "results": rows });
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        for r in &rows {
            println!(
                "{:<16} move {}  best {:<4} after move {:<4} {}",
                r["position"].as_str().unwrap_or(""),
                r["move"],
                r["best"].as_str().unwrap_or(""),
                r["after_move"].as_str().unwrap_or(""),
                if r["correct"].as_bool() == Some(true) {
                    "ok"
                } else {
                    "WRONG"
                }
            );
        }
        println!(
            "{name}, {} simulations, {} symmetries averaged: {wrong} wrong of {} positions, \
             error rate {:.1}% (95% CI {:.1}% to {:.1}%; {:.1} s of search)",
            search.simulations,
            args.averaging.symmetries,
            rows.len(),
            100.0 * rate,
            100.0 * low,
            100.0 * high,
            search_secs
        );
    }
    Ok(())
}

/// A progress bar over `len` items on stderr (drawn only on a terminal),
/// followed by the bar's message.
fn counting_bar(len: usize, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{bar:30}} {{pos}}/{{len}} {what} {{msg}}"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// Solves each position and the position after the engine's move (in
/// parallel, one solver per thread, at most 4 of them: each has a 64 MB
/// table): the best outcome for the side to move, and the outcome its move keeps.
fn judge_moves(states: &[<Connect4 as Game>::State], moves: &[usize]) -> Result<Vec<(i32, i32)>> {
    use rayon::prelude::*;
    let bar = counting_bar(states.len(), "moves judged by the solver");
    let chunk = states
        .len()
        .div_ceil(rayon::current_num_threads().clamp(1, 4));
    let judged = states
        .par_chunks(chunk)
        .zip(moves.par_chunks(chunk))
        .map(|(states, moves)| -> Result<Vec<(i32, i32)>> {
            let mut solver = Solver::new();
            let mut out = Vec::with_capacity(states.len());
            for (s, &action) in states.iter().zip(moves) {
                let best = solver.solve_weak(s);
                let mut after = *s;
                Connect4.play(&mut after, action)?;
                let got = match Connect4.terminal_value(&after) {
                    Some(v) => -(v as i32),
                    None => -solver.solve_weak(&after),
                };
                out.push((best, got));
                bar.inc(1);
            }
            Ok(out)
        })
        .collect::<Result<Vec<_>>>()?;
    bar.finish_and_clear();
    Ok(judged.into_iter().flatten().collect())
}

fn outcome_name(score: i32) -> &'static str {
    match score.signum() {
        1 => "win",
        0 => "draw",
        _ => "loss",
    }
}

fn gen_positions(args: &GenPositionsArgs) -> Result<()> {
    let (lo, hi) = match args.moves.split_once('-') {
        Some((a, b)) => (a.trim().parse::<usize>()?, b.trim().parse::<usize>()?),
        None => {
            let n = args.moves.trim().parse::<usize>()?;
            (n, n)
        }
    };
    if lo > hi || hi > 40 {
        bail!("--moves: expected N or LOW-HIGH with LOW <= HIGH <= 40");
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(args.seed);
    let mut solver = Solver::new();
    let mut out = format!(
        "# Connect Four test positions: {}-{} moves played, random play, seed {}.\n\
         # Only positions where some legal move changes the outcome (a mistake is possible).\n\
         # Each line: moves (1-based columns), outcome with best play for the side to move,\n\
         # and the columns that keep that outcome (judged by wgzero's solver).\n",
        lo, hi, args.seed
    );
    let bar = indicatif::ProgressBar::new(args.count as u64);
    let mut written = 0;
    let mut seen = std::collections::HashSet::new();
    while written < args.count {
        let n = rng.random_range(lo..=hi);
        let mut s = Connect4.initial();
        let mut moves = Vec::new();
        let mut legal = Vec::new();
        for _ in 0..n {
            Connect4.legal_actions(&s, &mut legal);
            let a = legal[rng.random_range(0..legal.len())];
            Connect4.apply(&mut s, a);
            moves.push(a);
            if Connect4.terminal_value(&s).is_some() {
                break;
            }
        }
        if moves.len() != n
            || Connect4.terminal_value(&s).is_some()
            || !seen.insert(Connect4.hash(&s))
        {
            continue;
        }
        let scores = solver.analyze_weak(&s);
        let best = scores.iter().flatten().max().copied().unwrap_or(0);
        let good: Vec<String> = scores
            .iter()
            .enumerate()
            .filter(|(_, v)| v.map(i32::signum) == Some(best.signum()))
            .map(|(c, _)| (c + 1).to_string())
            .collect();
        let legal_count = scores.iter().flatten().count();
        if good.len() == legal_count {
            continue; // every move keeps the outcome: nothing to test
        }
        out.push_str(&format!(
            "{} {} {}\n",
            Connect4.format_moves(&moves),
            outcome_name(best),
            good.join(",")
        ));
        written += 1;
        bar.set_position(written as u64);
    }
    bar.finish_and_clear();
    std::fs::write(&args.out, out).with_context(|| format!("writing {}", args.out.display()))?;
    println!("wrote {} positions to {}", written, args.out.display());
    Ok(())
}
