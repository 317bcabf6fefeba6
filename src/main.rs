//! The `wgzero` command line.

use std::io::{BufRead, Write};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use wgzero::game::{perft, Connect4, Game, Gomoku, TicTacToe};
use wgzero::players::{Heuristic, PlayerSpec};
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

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Play(a) => match a.game.game {
            GameName::Connect4 => play(Connect4, &a),
            GameName::Gomoku => Gomoku::new(a.game.size)
                .map_err(Into::into)
                .and_then(|g| play(g, &a)),
            GameName::Tictactoe => play(TicTacToe, &a),
        },
        Command::Solve(a) => solve(&a),
        Command::Perft(a) => match a.game.game {
            GameName::Connect4 => run_perft(Connect4, a.depth),
            GameName::Gomoku => Gomoku::new(a.game.size)
                .map_err(Into::into)
                .and_then(|g| run_perft(g, a.depth)),
            GameName::Tictactoe => run_perft(TicTacToe, a.depth),
        },
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
