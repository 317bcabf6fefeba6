//! `wgzero pbrain`: wgzero as a Gomoku brain speaking the Gomocup protocol
//! on standard input and output, for Gomoku managers and GUIs (piskvork,
//! c-gomoku-cli, Gomocalc).

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc;

use anyhow::{Context, Result};
use clap::Args;

use super::{averaged_evaluator, AlgorithmArg, AveragingArgs, DeviceArgs, MinimaxArgs};
use wgzero::eval::Rollout;
use wgzero::game::{Game, Gomoku};
use wgzero::mcts::SearchConfig;
use wgzero::net::ModelSource;
use wgzero::pbrain::{Brain, Engine, SearchBrain, Step};

#[derive(Args)]
pub struct PbrainArgs {
    /// The game (only Gomoku speaks the Gomocup protocol).
    #[arg(long, default_value = "gomoku", value_parser = ["gomoku"])]
    game: String,
    /// A model or run folder. Without one the brain plays the shipped
    /// network of the board size, or rollout MCTS where there is none.
    #[arg(long)]
    model: Option<PathBuf>,
    /// The search (with a network; rollout MCTS without one).
    #[arg(long, value_enum, default_value = "minimax")]
    algorithm: AlgorithmArg,
    #[command(flatten)]
    minimax: MinimaxArgs,
    /// Network evaluations (simulations) a move at most; the manager's
    /// time limits (INFO timeout_turn, time_left) and max_node can stop a
    /// search sooner.
    #[arg(long, default_value_t = 1000)]
    sims: u32,
    #[command(flatten)]
    averaging: AveragingArgs,
    #[command(flatten)]
    device: DeviceArgs,
    /// Seed of the brain's random choices.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// The brain's search: `--algorithm` (minimax: every move at the root, the
/// best reply of each and any reply that wins at once, so an open four is
/// always answered, unless --widths says otherwise).
fn search_config(args: &PbrainArgs) -> Result<SearchConfig> {
    let mut cfg = SearchConfig {
        algorithm: args.algorithm.into(),
        simulations: args.sims,
        ..SearchConfig::default()
    };
    if cfg.algorithm == wgzero::mcts::Algorithm::Minimax {
        cfg.widths = vec![0, 1];
    }
    args.minimax.apply(&mut cfg)?;
    Ok(cfg)
}

pub fn pbrain(args: &PbrainArgs) -> Result<()> {
    if args.sims == 0 {
        anyhow::bail!("--sims must be at least 1");
    }
    let cfg = search_config(args)?;
    let model = match &args.model {
        Some(p) => Some(ModelSource::at(p)?),
        None => None,
    };
    let device = args.device.clone();
    device.adapter()?;
    let (seed, symmetries) = (args.seed, args.averaging.symmetries);
    let factory = Box::new(move |game: Gomoku| -> wgzero::Result<Box<dyn Brain>> {
        let source = match &model {
            Some(s) => Some(s.clone()),
            None => wgzero::models::shipped(&game.name()).map(|_| ModelSource::Shipped),
        };
        let Some(source) = source else {
            let rollout = SearchConfig {
                simulations: cfg.simulations,
                leaves_per_gather: 1,
                ..SearchConfig::default()
            }
            .for_rollouts();
            let name = format!("wgzero rollout MCTS ({} simulations)", cfg.simulations);
            let eval = Rollout::new(game, 1, seed ^ 0x5eed);
            return Ok(Box::new(SearchBrain::new(game, rollout, eval, name, seed)?));
        };
        let selected = device
            .select()
            .map_err(|e| wgzero::Error::Device(format!("{e:#}")))?;
        let eval = averaged_evaluator(&game, &source, &selected, symmetries)
            .map_err(|e| wgzero::Error::Model(format!("{e:#}")))?;
        let name = format!("wgzero {} ({:?})", source.label(), cfg.algorithm).to_lowercase();
        Ok(Box::new(SearchBrain::new(
            game,
            cfg.clone(),
            eval,
            name,
            seed,
        )?))
    });
    let about = format!(
        "name=\"wgzero\", version=\"{}\", author=\"wgzero developers\", country=\"\", www=\"https://github.com/wgzero\"",
        env!("CARGO_PKG_VERSION")
    );
    let mut engine = Engine::new(factory, about);
    // A reader thread, so that a search can be stopped (STOP, YXSTOP, END)
    // while it thinks; other lines that arrive meanwhile wait their turn.
    let (tx, rx) = mpsc::channel::<Option<String>>();
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        loop {
            match wgzero::files::next_line(&mut input) {
                Ok(Some(Ok(line))) => {
                    if tx.send(Some(line)).is_err() {
                        return;
                    }
                }
                Ok(Some(Err(why))) => {
                    if tx.send(Some(format!("\u{1}{why}"))).is_err() {
                        return;
                    }
                }
                Ok(None) | Err(_) => {
                    let _ = tx.send(None);
                    return;
                }
            }
        }
    });
    let mut queue: VecDeque<Option<String>> = VecDeque::new();
    let mut out = std::io::stdout().lock();
    let mut end = false;
    while !end {
        let next = match queue.pop_front() {
            Some(l) => l,
            None => rx.recv().unwrap_or(None),
        };
        let Some(line) = next else { break };
        if let Some(why) = line.strip_prefix('\u{1}') {
            writeln!(out, "ERROR {why}")?;
            out.flush()?;
            continue;
        }
        let mut stop = || {
            while let Ok(l) = rx.try_recv() {
                let word = l
                    .as_deref()
                    .and_then(|l| l.split_whitespace().next())
                    .map(str::to_ascii_uppercase);
                match word.as_deref() {
                    Some("STOP") | Some("YXSTOP") => return true,
                    // END (or the end of the input) stops the search when it
                    // is the next command; behind other commands (a scripted
                    // session piped in at once) it waits its turn.
                    Some("END") | None if queue.is_empty() => {
                        end = true;
                        queue.push_back(l);
                        return true;
                    }
                    _ => queue.push_back(l),
                }
            }
            end
        };
        match engine.handle_line(&line, &mut stop) {
            Step::End => break,
            Step::Reply(lines) => {
                for l in lines {
                    writeln!(out, "{l}").context("writing standard output")?;
                }
                out.flush()?;
            }
        }
    }
    Ok(())
}
