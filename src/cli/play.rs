//! `wgzero play`: a game against the engine in the terminal.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};

use super::{network_player, AveragingArgs, DeviceArgs, GameArgs, UtilityArgs};
use wgzero::files::next_line;
use wgzero::game::{outcome, Game, Outcome};
use wgzero::net::ModelSource;
use wgzero::players::{Heuristic, Player, PlayerSpec};

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Side {
    First,
    Second,
}

#[derive(Args)]
pub struct PlayArgs {
    #[command(flatten)]
    pub game: GameArgs,
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
    #[command(flatten)]
    utility: UtilityArgs,
    #[command(flatten)]
    device: DeviceArgs,
    /// Whether you move first or second.
    #[arg(long, value_enum, default_value = "first")]
    human: Side,
    /// Start from this position (a move list in the game's notation, e.g. 4453).
    #[arg(long)]
    position: Option<String>,
    /// Seed of the engine's random choices.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Oh Hell: your seat (0 is dealt the first card).
    #[arg(long, default_value_t = 0)]
    seat: usize,
}

/// `--game ohhell`: you play one seat, the engine the others.
pub fn play_cards(args: &PlayArgs) -> Result<()> {
    let default_rules = wgzero::cards::OhHellConfig::parse(&args.game.rules).context("--rules")?
        == wgzero::cards::OhHellConfig::default();
    let opponent = match args.opponent.as_str() {
        "model" if default_rules && wgzero::models::shipped("ohhell").is_some() => "model:shipped",
        "model" => {
            eprintln!("no Oh Hell network is shipped for these rules: the engine searches with random rollouts (--opponent model:PATH for a trained one)");
            "rollout"
        }
        o => o,
    };
    let selected = match opponent.starts_with("model:") {
        true => args.device.select()?,
        false => wgzero::net::select(wgzero::net::BackendChoice::Cpu)?,
    };
    let sims = (args.sims != 400).then_some(args.sims);
    super::cards::play(&args.game, opponent, sims, args.seat, args.seed, &selected)
}

pub fn play<G: Game + Heuristic>(game: G, args: &PlayArgs) -> Result<()> {
    let mut engine = build_opponent(&game, args)?;
    let mut state = match &args.position {
        Some(p) => game.parse_position(p).context("--position")?,
        None => game.initial(),
    };
    let human_side: u8 = if args.human == Side::First { 0 } else { 1 };
    let stdin = std::io::stdin();
    let mut lines = stdin.lock();
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
        if let Some(o) = outcome(&game, &state) {
            announce_result(o, human_side, &engine.name());
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
            match engine_move(&game, &state, engine.as_mut()) {
                Err(e)
                    if matches!(
                        e.downcast_ref::<wgzero::Error>(),
                        Some(wgzero::Error::Resigned)
                    ) =>
                {
                    println!("{} resigns. You win.", engine.name());
                    return Ok(());
                }
                other => other?,
            }
        };
        let before = state.clone();
        game.play(&mut state, action)?;
        engine.observe(&before, action);
    }
}

/// The engine `play` faces.
fn build_opponent<G: Game + Heuristic>(game: &G, args: &PlayArgs) -> Result<Box<dyn Player<G>>> {
    let source = match args.opponent.as_str() {
        "model" => ModelSource::Shipped,
        o => match o.strip_prefix("model:") {
            Some(path) => ModelSource::at(&PathBuf::from(path))?,
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
    if matches!(source, ModelSource::Shipped) && wgzero::models::shipped(&game.name()).is_none() {
        bail!(
            "there is no shipped model for {}: use --opponent mcts:2000, minimax:5 or model:PATH",
            game.name()
        );
    }
    let selected = args.device.select()?;
    network_player(
        game,
        &source,
        &selected,
        args.sims,
        args.averaging.symmetries,
        args.utility.score_utility,
        args.seed,
    )
}

/// The engine's move, announced with the time it took.
fn engine_move<G: Game>(game: &G, state: &G::State, engine: &mut dyn Player<G>) -> Result<usize> {
    let t = Instant::now();
    let a = engine.choose(state)?;
    println!(
        "{} plays {} ({:.2} s)\n",
        engine.name(),
        game.format_move(a),
        t.elapsed().as_secs_f64()
    );
    Ok(a)
}

fn announce_result(o: Outcome, human_side: u8, engine: &str) {
    match o {
        Outcome::Draw => println!("Draw."),
        Outcome::Win(p) if p == human_side => println!("You win."),
        Outcome::Win(_) => println!("{engine} wins."),
    }
}

/// Prompts until the user types a legal move (`Some`) or quits / closes input (`None`).
fn read_human_move<G: Game>(
    game: &G,
    state: &G::State,
    lines: &mut impl BufRead,
) -> Result<Option<usize>> {
    loop {
        print!("Your move: ");
        std::io::stdout().flush()?;
        let Some(line) = next_line(lines).context("reading standard input")? else {
            println!();
            return Ok(None);
        };
        let line = match line {
            Ok(l) => l,
            Err(why) => {
                println!("{why}; type a move, help or quit");
                continue;
            }
        };
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
