//! `wgzero eval`: a model against a baseline or another model, or its
//! solver-judged wrong moves on Connect Four test positions.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;

use super::{
    averaged_opened, counting_bar, interrupt_flag, AlgorithmArg, AveragingArgs, DeviceArgs,
    GameArgs, MinimaxArgs, UtilityArgs,
};
use wgzero::arena::{play_match, read_openings, search_many, Contestant, MatchConfig, MatchResult};
use wgzero::eval::{Evaluator, SymmetryAverage};
use wgzero::game::{Connect4, Game};
use wgzero::mcts::SearchConfig;
use wgzero::net::{ModelSource, NetEvaluator, Selected};
use wgzero::players::{Heuristic, PlayerSpec};
use wgzero::positions::{
    judge_known_moves, judge_moves, read_judged_positions, read_positions, score_moves, ErrorRate,
    PositionResult,
};

#[derive(Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub game: GameArgs,
    /// The model folder (config.json + model.bpk) or a run folder (its best
    /// checkpoint); default: the shipped model of the game.
    #[arg(long)]
    model: Option<PathBuf>,
    /// The opponent: random, mcts:N, minimax:D, a model / run folder,
    /// (Go) `gtp:COMMAND` — any GTP engine's command line, e.g.
    /// "gtp:gnugo --mode gtp --level 1"; its `final_score` is compared with
    /// ours in games that end with two passes — or (Gomoku)
    /// `pbrain:COMMAND`, any Gomocup brain's command line, e.g.
    /// "pbrain:pbrain-figrid" (--turn-ms a move).
    #[arg(long)]
    against: Option<String>,
    /// Games (half with each colour).
    #[arg(long, default_value_t = 100)]
    games: usize,
    /// Connect Four test positions (one per line: column digits, then
    /// anything); each move is judged by the solver.
    #[arg(long, conflicts_with = "against")]
    positions: Option<PathBuf>,
    /// Simulations per move of the model's search (minimax searches: network
    /// evaluations a move at most) [default: 400; Oh Hell: 200 network
    /// evaluations a decision].
    #[arg(long)]
    sims: Option<u32>,
    /// Leaves one search hands out at a time (virtual loss between them);
    /// fewer plays stronger per simulation, more fills a batch from fewer
    /// games.
    #[arg(long, default_value_t = 8)]
    leaves: usize,
    /// The model's search.
    #[arg(long, value_enum, default_value = "puct")]
    algorithm: AlgorithmArg,
    /// The search of a model given as --against [default: --algorithm],
    /// e.g. to match minimax against PUCT with one network.
    #[arg(long, value_enum)]
    against_algorithm: Option<AlgorithmArg>,
    #[command(flatten)]
    minimax: MinimaxArgs,
    /// PUCT's exploration constant.
    #[arg(long, default_value_t = 1.5)]
    c_puct: f32,
    #[command(flatten)]
    averaging: AveragingArgs,
    #[command(flatten)]
    utility: UtilityArgs,
    /// Time a move of an outside Gomocup brain (`--against pbrain:...`), in
    /// milliseconds.
    #[arg(long, default_value_t = wgzero::players::PBRAIN_TURN_MS)]
    turn_ms: u64,
    /// Random moves opening each pair of games.
    #[arg(long, default_value_t = 0)]
    opening_moves: usize,
    /// Openings file: one opening a line (moves in the game's notation, e.g.
    /// `h8 h9 i10` for Gomoku), taken in turn by each pair of games, once
    /// with each colour; e.g. models/gomoku15/openings.txt.
    #[arg(long, conflicts_with = "opening_moves")]
    openings: Option<PathBuf>,
    /// Games played at once [default: 8 against an outside engine (a
    /// process each; 1 gives a timed engine the whole machine), else 256].
    #[arg(long)]
    concurrency: Option<usize>,
    #[command(flatten)]
    device: DeviceArgs,
    /// Write every game of the match to this file, one JSON line each
    /// (game, a_first, moves as action ids from the initial position,
    /// opening_moves: how many of them the opening played, result for the
    /// model: 1, 0 or -1), e.g. for a referee to replay.
    #[arg(long)]
    record: Option<PathBuf>,
    /// Go: also write every game of the match to this file as one SGF
    /// collection (players, komi, result by area score), for any viewer.
    #[arg(long)]
    sgf: Option<PathBuf>,
    /// Print JSON (per-position results with --positions).
    #[arg(long)]
    json: bool,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

impl EvalArgs {
    /// The model's search.
    fn search(&self) -> Result<SearchConfig> {
        let sims = self.sims.unwrap_or(400);
        if sims == 0 {
            bail!("--sims must be at least 1");
        }
        if self.leaves == 0 {
            bail!("--leaves must be at least 1");
        }
        let mut cfg = SearchConfig {
            simulations: sims,
            leaves_per_gather: self.leaves,
            algorithm: self.algorithm.into(),
            c_puct: self.c_puct,
            score_utility: self.utility.score_utility,
            ..SearchConfig::default()
        };
        self.minimax.apply(&mut cfg)?;
        Ok(cfg)
    }
}

/// A model's evaluator with symmetry averaging, and its name.
type Averaged<G> = (SymmetryAverage<G, NetEvaluator>, String);

/// An evaluator for `model` (a model or run folder), or the game's shipped
/// model, with a score utility of weight `score_utility`.
fn model_evaluator<G: Game>(
    game: &G,
    model: Option<&Path>,
    selected: &Selected,
    symmetries: usize,
    score_utility: f32,
) -> Result<Averaged<G>> {
    let source = match model {
        Some(p) => ModelSource::at(p)?,
        None if wgzero::models::shipped(&game.name()).is_some() => ModelSource::Shipped,
        None => bail!(
            "there is no shipped model for {}: give --model",
            game.name()
        ),
    };
    let eval = averaged_opened(game, &source, selected, symmetries, score_utility)?.0;
    Ok((eval, source.label()))
}

/// `wgzero eval --game ohhell`: the model's search against the rollout
/// search, or two models against it on the same deals.
pub fn eval_cards(args: &EvalArgs) -> Result<()> {
    if args.positions.is_some() || args.record.is_some() || args.sgf.is_some() {
        bail!("--positions, --record and --sgf are for board games");
    }
    let selected = args.device.select_announced()?;
    super::cards::eval(
        &args.game,
        args.model.as_deref(),
        args.against.as_deref(),
        args.games,
        args.sims,
        args.seed,
        &selected,
        args.json,
    )
}

pub fn eval<G: Game + Heuristic>(game: G, args: &EvalArgs) -> Result<()> {
    let search = args.search()?;
    let selected = args.device.select()?;
    let symmetries = args.averaging.symmetries;
    let (mut model, name) = model_evaluator(
        &game,
        args.model.as_deref(),
        &selected,
        symmetries,
        args.utility.score_utility,
    )?;
    search.validate(game.num_actions())?;
    if let Some(file) = &args.positions {
        return eval_positions(&game, file, &search, &mut model, &name, args);
    }
    let Some(against) = &args.against else {
        bail!("give --against OPPONENT (random, mcts:N, minimax:D, gtp:COMMAND or a model folder) or --positions FILE");
    };
    if args.games == 0 {
        bail!("--games must be at least 1");
    }
    let sgf_rules = match &args.sgf {
        Some(_) if args.game.game != super::GameName::Go => {
            bail!("--sgf writes Go games: use it with --game go")
        }
        Some(_) => Some(wgzero::game::Go::new(
            args.game.size.unwrap_or(9),
            args.game.komi,
        )?),
        None => None,
    };
    let mut other;
    let b = match against.parse::<PlayerSpec>() {
        Ok(PlayerSpec::Pbrain(command, _)) => {
            Contestant::Baseline(PlayerSpec::Pbrain(command, args.turn_ms))
        }
        Ok(spec) => Contestant::Baseline(spec),
        Err(spec_err) => {
            let path = Path::new(against);
            if !path.exists() {
                bail!("--against {against:?}: neither a player ({spec_err}) nor a model folder");
            }
            let (e, name) = model_evaluator(&game, Some(path), &selected, symmetries, 0.0)?;
            other = e;
            let mut theirs = search.clone();
            theirs.score_utility = 0.0;
            if let Some(a) = args.against_algorithm {
                theirs.algorithm = a.into();
                if theirs.algorithm != search.algorithm {
                    theirs.widths.clear();
                    theirs.expand_width = 0;
                }
            }
            Contestant::Search {
                name,
                search: theirs,
                eval: &mut other,
            }
        }
    };
    let a = Contestant::Search {
        name,
        search,
        eval: &mut model,
    };
    run_match(&game, a, b, args, sgf_rules)
}

/// Plays the match and prints the result (text or JSON).
fn run_match<'e, G: Game + Heuristic>(
    game: &G,
    a: Contestant<'e>,
    b: Contestant<'e>,
    args: &EvalArgs,
    sgf_rules: Option<wgzero::game::Go>,
) -> Result<()> {
    let (a_name, b_name) = (a.name(), b.name());
    let openings = match &args.openings {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading --openings {}", path.display()))?;
            read_openings(game, &text).with_context(|| format!("--openings {}", path.display()))?
        }
        None => Vec::new(),
    };
    let cfg = MatchConfig {
        games: args.games,
        opening_moves: args.opening_moves,
        openings,
        // An outside engine is a process per game: a few at a time.
        concurrency: match args.concurrency {
            Some(n) => n.clamp(1, args.games),
            None if matches!(
                b,
                Contestant::Baseline(PlayerSpec::Gtp(_) | PlayerSpec::Pbrain(..))
            ) =>
            {
                args.games.min(8)
            }
            None => args.games.min(256),
        },
        seed: args.seed,
    };
    let bar = indicatif::ProgressBar::new(args.games as u64);
    let t = Instant::now();
    let interrupt = interrupt_flag();
    let r = play_match(
        game,
        a,
        b,
        &cfg,
        &mut |done, _| bar.set_position(done as u64),
        &|| interrupt.load(Ordering::SeqCst),
    )?;
    bar.finish_and_clear();
    let secs = t.elapsed().as_secs_f64();
    if let Some(path) = &args.record {
        let mut records = r.records.clone();
        records.sort_by_key(|g| g.game);
        let text: String = records
            .iter()
            .map(|g| serde_json::to_string(g).map(|l| l + "\n"))
            .collect::<std::result::Result<_, _>>()?;
        wgzero::files::write_atomic(path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let (Some(path), Some(go)) = (&args.sgf, sgf_rules) {
        write_match_sgf(path, &go, &r.records, &a_name, &b_name)?;
    }
    if args.json {
        let elo = r.elo();
        let json = serde_json::json!({ "model": a_name, "against": b_name, "symmetries": args.averaging.symmetries, "result": r, "score": r.score(),
            "elo": elo.elo, "elo_low": elo.low, "elo_high": elo.high, "seconds": secs });
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print_match(&a_name, &b_name, &r, secs);
    }
    Ok(())
}

/// The match's games as one SGF collection, in game order.
fn write_match_sgf(
    path: &std::path::Path,
    go: &wgzero::game::Go,
    records: &[wgzero::arena::MatchGame],
    a_name: &str,
    b_name: &str,
) -> Result<()> {
    use wgzero::game::sgf::{result_text, write_collection, SgfInfo};
    let mut records = records.to_vec();
    records.sort_by_key(|g| g.game);
    let games: Vec<_> = records
        .iter()
        .map(|g| {
            let (black, white) = if g.a_first {
                (a_name, b_name)
            } else {
                (b_name, a_name)
            };
            let mut s = go.initial();
            for &m in &g.moves {
                go.apply(&mut s, m);
            }
            let info = SgfInfo {
                black: Some(black.to_string()),
                white: Some(white.to_string()),
                // By resignation: the winner (A won if its result is positive).
                result: Some(result_text(
                    go,
                    &s,
                    g.resigned.then(|| u8::from((g.result > 0.0) != g.a_first)),
                )),
                comment: Some(format!(
                    "wgzero eval, game {} ({} opening moves)",
                    g.game, g.opening_moves
                )),
            };
            (*go, g.moves.clone(), info)
        })
        .collect();
    wgzero::files::write_atomic(path, write_collection(&games).as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn print_match(a_name: &str, b_name: &str, r: &MatchResult, secs: f64) {
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
    println!("  {}", r.elo());
    if let Some(c) = &r.score_checks {
        println!(
            "  final scores (games ended by two passes) checked by {b_name}: {} agree, {} disagree",
            c.agreed, c.disagreed
        );
        for e in &c.examples {
            println!("    ours vs theirs: {e}");
        }
    }
    println!("  ({secs:.1} s)");
}

/// Searches every position of `file`, has the solver judge each move, and
/// prints the error rate (text or JSON).
fn eval_positions<G: Game>(
    game: &G,
    file: &Path,
    search: &SearchConfig,
    eval: &mut dyn Evaluator,
    name: &str,
    args: &EvalArgs,
) -> Result<()> {
    if game.name() != Connect4.name() {
        bail!("--positions needs --game connect4 (the solver judges the moves)");
    }
    let positions = read_positions(file).with_context(|| format!("reading {}", file.display()))?;
    let (lines, states): (Vec<String>, Vec<_>) = positions.into_iter().unzip();
    let t = Instant::now();
    let bar = counting_bar(states.len(), "positions searched");
    let moves: Vec<usize> =
        search_many(&Connect4, &states, search, eval, args.seed, &mut |done| {
            bar.set_position(done as u64)
        })?
        .into_iter()
        .map(|r| r.action)
        .collect();
    bar.finish_and_clear();
    let search_secs = t.elapsed().as_secs_f64();
    let bar = counting_bar(states.len(), "moves judged by the solver");
    // A file with every line's good columns and outcome (as gen-positions
    // writes them) needs the solver only for the moves outside them.
    let verdicts = match read_judged_positions(file)
        .ok()
        .filter(|j| j.iter().all(|p| p.outcome.is_some()))
    {
        Some(judged) => judge_known_moves(&judged, &moves, &|| bar.inc(1))?,
        None => judge_moves(&states, &moves, &|| bar.inc(1))?,
    };
    bar.finish_and_clear();
    let (rows, rate) = score_moves(&lines, &moves, &verdicts);
    if args.json {
        let json = serde_json::json!({ "model": name, "simulations": search.simulations, "symmetries": args.averaging.symmetries, "positions": rate.positions,
            "wrong": rate.wrong, "error_rate": rate.error_rate, "error_rate_low": rate.error_rate_low, "error_rate_high": rate.error_rate_high,
            "search_seconds": search_secs, "results": rows });
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print_positions(&rows, &rate, name, search.simulations, args, search_secs);
    }
    Ok(())
}

fn print_positions(
    rows: &[PositionResult],
    rate: &ErrorRate,
    name: &str,
    simulations: u32,
    args: &EvalArgs,
    search_secs: f64,
) {
    for r in rows {
        println!(
            "{:<16} move {}  best {:<4} after move {:<4} {}",
            r.position,
            r.mv,
            r.best,
            r.after_move,
            if r.correct { "ok" } else { "WRONG" }
        );
    }
    println!(
        "{name}, {simulations} simulations, {} symmetries averaged: {} wrong of {} positions, \
         error rate {:.1}% (95% CI {:.1}% to {:.1}%; {:.1} s of search)",
        args.averaging.symmetries,
        rate.wrong,
        rate.positions,
        100.0 * rate.error_rate,
        100.0 * rate.error_rate_low,
        100.0 * rate.error_rate_high,
        search_secs
    );
}
