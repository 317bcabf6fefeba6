//! Matches between two contestants (network searches or baseline players),
//! many games at once with the searches' leaves batched per evaluator, and
//! many searches of independent positions at once (move-quality tests).
//!
//! Like self-play, this module knows nothing of networks: a searching
//! contestant brings any [`Evaluator`].

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::eval::{Batch, Evaluator};
use crate::game::{mix64, Game};
use crate::mcts::{Algorithm, Search, SearchConfig, SearchResult};
use crate::players::{guarded_action, Heuristic, Player, PlayerSpec, ScoreChecks};

/// One side of a match.
pub enum Contestant<'a> {
    /// Tree search whose leaves `eval` evaluates (a network), batched over games.
    Search {
        name: String,
        search: SearchConfig,
        eval: &'a mut dyn Evaluator,
    },
    /// A baseline player (random, rollout MCTS, minimax), one per game.
    Baseline(PlayerSpec),
}

impl Contestant<'_> {
    pub fn name(&self) -> String {
        match self {
            Contestant::Search { name, search, .. } => match search.algorithm {
                Algorithm::Minimax if !search.widths.is_empty() => format!(
                    "{name} (minimax, widths {}, at most {} evaluations)",
                    search
                        .widths
                        .iter()
                        .map(|w| w.to_string())
                        .collect::<Vec<_>>()
                        .join(","),
                    search.simulations
                ),
                Algorithm::Minimax | Algorithm::Descent => format!(
                    "{name} ({}, {} evaluations)",
                    if search.algorithm == Algorithm::Minimax {
                        "minimax"
                    } else {
                        "descent"
                    },
                    search.simulations
                ),
                _ => format!("{name} ({} simulations)", search.simulations),
            },
            Contestant::Baseline(spec) => spec.to_string(),
        }
    }
}

/// Match settings.
#[derive(Clone, Debug, Serialize)]
pub struct MatchConfig {
    /// Games in all; contestant A moves first in the even-numbered ones. Each
    /// pair of games starts from the same opening, once with each colour.
    pub games: usize,
    /// Random moves that open each pair of games (so that deterministic
    /// players do not repeat one game), where `openings` is empty.
    pub opening_moves: usize,
    /// Given openings (moves from the initial position), taken in turn by the
    /// pairs of games: pair `k` plays `openings[k % len]`. Default: none.
    pub openings: Vec<Vec<usize>>,
    /// Games played at once.
    pub concurrency: usize,
    pub seed: u64,
}

/// Result of a match, from contestant A's point of view.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct MatchResult {
    pub games: usize,
    pub wins: usize,
    pub draws: usize,
    pub losses: usize,
    /// A's wins / draws / losses when A moved first.
    pub first: [usize; 3],
    /// ... and when A moved second.
    pub second: [usize; 3],
    /// Final scores checked by an outside GTP engine (B), if B is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score_checks: Option<ScoreChecks>,
    /// Every game's moves, in the order the games finished.
    #[serde(skip)]
    pub records: Vec<MatchGame>,
}

/// One finished game of a match.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MatchGame {
    /// Its number in the match (pairs share an opening).
    pub game: usize,
    /// Whether contestant A moved first.
    pub a_first: bool,
    /// Every move from the initial position, the opening's included.
    pub moves: Vec<usize>,
    /// How many of `moves` are the opening (played for both, chosen by neither).
    pub opening_moves: usize,
    /// A's result: 1 win, 0 draw, -1 loss.
    pub result: f32,
    /// Whether the loser resigned (the board was not played out).
    pub resigned: bool,
}

impl MatchResult {
    fn add(&mut self, a_first: bool, score: f32) {
        self.games += 1;
        let k = if score > 0.0 {
            self.wins += 1;
            0
        } else if score < 0.0 {
            self.losses += 1;
            2
        } else {
            self.draws += 1;
            1
        };
        if a_first {
            self.first[k] += 1;
        } else {
            self.second[k] += 1;
        }
    }

    /// (wins + draws / 2) / games.
    pub fn score(&self) -> f64 {
        if self.games == 0 {
            return 0.0;
        }
        (self.wins as f64 + 0.5 * self.draws as f64) / self.games as f64
    }

    /// Elo difference of A over B and its 95% confidence interval: the
    /// Wilson score interval on the score (draws count half), mapped to Elo,
    /// so that a perfect score still has a finite lower bound.
    pub fn elo(&self) -> Elo {
        let s = self.score();
        let (low, high) = wilson_interval(s, self.games);
        Elo {
            elo: elo_of(s),
            low: elo_of(low),
            high: elo_of(high),
        }
    }
}

/// The Wilson score 95% interval of a proportion `p` observed over `n` trials
/// (finite and inside [0, 1] even when `p` is 0 or 1).
pub fn wilson_interval(p: f64, n: usize) -> (f64, f64) {
    let n = n.max(1) as f64;
    let z = 1.96f64;
    let d = 1.0 + z * z / n;
    let center = (p + z * z / (2.0 * n)) / d;
    let half = z / d * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    ((center - half).max(0.0), (center + half).min(1.0))
}

/// An Elo difference with its 95% interval (the point estimate is infinite
/// where the score is 0 or 1).
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct Elo {
    pub elo: f64,
    pub low: f64,
    pub high: f64,
}

fn elo_of(score: f64) -> f64 {
    if score >= 1.0 {
        f64::INFINITY
    } else if score <= 0.0 {
        f64::NEG_INFINITY
    } else {
        -400.0 * (1.0 / score - 1.0).log10()
    }
}

impl std::fmt::Display for Elo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = |x: f64| {
            if x.is_finite() {
                format!("{x:+.0}")
            } else if x > 0.0 {
                "+inf".into()
            } else {
                "-inf".into()
            }
        };
        write!(
            f,
            "{} Elo (95% CI {} to {})",
            v(self.elo),
            v(self.low),
            v(self.high)
        )
    }
}

/// A contestant's side within one game.
enum Agent<G: Game> {
    Search { search: Box<Search<G>>, begun: bool },
    Player(Box<dyn Player<G>>),
}

/// One game of a match.
struct Table<G: Game> {
    game: G,
    state: G::State,
    /// `agents[0]` is contestant A's.
    agents: [Agent<G>; 2],
    a_first: bool,
    /// Leaves gathered for the evaluator of the side to move.
    local: Batch,
    /// Which contestant `local` belongs to.
    waiting: Option<usize>,
    result: Option<f32>,
    /// Whether the game ended by a resignation.
    resigned: bool,
    simulations: [u32; 2],
    /// Its number in the match, every move so far, and how many of them
    /// are the opening.
    index: usize,
    moves: Vec<usize>,
    opening_moves: usize,
}

impl<G: Game> Table<G> {
    /// The contestant to move.
    fn side(&self) -> usize {
        let first_to_move = self.game.to_move(&self.state) == 0;
        if first_to_move == self.a_first {
            0
        } else {
            1
        }
    }

    fn play(&mut self, action: usize) -> Result<()> {
        let before = self.state.clone();
        self.game.play(&mut self.state, action)?;
        self.moves.push(action);
        for agent in self.agents.iter_mut() {
            match agent {
                Agent::Search { search, begun } => {
                    *begun = false;
                    if search.advance(action).is_err() {
                        search.reset(self.state.clone());
                    }
                }
                Agent::Player(p) => p.observe(&before, action),
            }
        }
        if let Some(v) = self.game.terminal_value(&self.state) {
            // v is for the side to move; A's result:
            let a_to_move = self.side() == 0;
            self.result = Some(if a_to_move { v } else { -v });
        }
        Ok(())
    }

    /// Plays until a search needs evaluations (leaves in `local`) or the game ends.
    fn advance(&mut self, leaves: [usize; 2]) -> Result<()> {
        self.waiting = None;
        while self.result.is_none() {
            let side = self.side();
            let leaves = leaves[side];
            let sims = self.simulations[side];
            let action = match &mut self.agents[side] {
                Agent::Player(p) => match p.choose(&self.state) {
                    Err(Error::Resigned) => {
                        // A's result: a loss if A resigned, else a win.
                        self.result = Some(if side == 0 { -1.0 } else { 1.0 });
                        self.resigned = true;
                        return Ok(());
                    }
                    chosen => chosen?,
                },
                Agent::Search { search, begun } => {
                    if !*begun {
                        search.begin(sims)?;
                        *begun = true;
                    }
                    if search.is_done() {
                        let r = search.result()?;
                        guarded_action(&self.game, &self.state, r.action, &r.visits)
                    } else {
                        self.local.clear();
                        if search.gather(&mut self.local, leaves) > 0 {
                            self.waiting = Some(side);
                            return Ok(());
                        }
                        continue;
                    }
                }
            };
            self.play(action)?;
        }
        Ok(())
    }

    fn absorb(&mut self, batch: &Batch, offset: usize) -> Result<()> {
        let Some(side) = self.waiting else {
            return Ok(());
        };
        self.local.copy_results_from(batch, offset);
        if let Agent::Search { search, .. } = &mut self.agents[side] {
            search.absorb(&self.local)?;
        }
        Ok(())
    }
}

/// A random opening of `moves` moves (fewer if the game would end; no pass
/// where there is another move), seeded.
pub fn random_opening<G: Game>(game: &G, moves: usize, seed: u64) -> G::State {
    let mut s = game.initial();
    for a in random_opening_moves(game, moves, seed) {
        game.apply(&mut s, a);
    }
    s
}

/// The moves of [`random_opening`].
pub fn random_opening_moves<G: Game>(game: &G, moves: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut s = game.initial();
    let mut actions = Vec::new();
    let mut played = Vec::new();
    for _ in 0..moves {
        game.legal_actions(&s, &mut actions);
        // An opening never passes (in Go a pass there ends nothing but
        // hands a game to whoever may pass back first).
        if actions.len() > 1 {
            actions.retain(|&a| Some(a) != game.pass_action());
        }
        let a = actions[rng.random_range(0..actions.len())];
        let mut t = s.clone();
        game.apply(&mut t, a);
        if game.terminal_value(&t).is_some() {
            break;
        }
        s = t;
        played.push(a);
    }
    played
}

/// Reads an openings file: one opening a line, its moves from the initial
/// position in the game's notation (as `play` and `--positions` take them);
/// blank lines and lines starting with `#` are skipped. Every move is checked,
/// and an opening may not end the game.
pub fn read_openings<G: Game>(game: &G, text: &str) -> Result<Vec<Vec<usize>>> {
    let mut openings = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |reason: String| Error::Parse {
            what: "opening",
            input: line.to_string(),
            reason: format!("line {}: {reason}", n + 1),
        };
        let (moves, s) = game.parse_moves(line).map_err(|e| bad(e.to_string()))?;
        if game.terminal_value(&s).is_some() {
            return Err(bad("the opening ends the game".into()));
        }
        openings.push(moves);
    }
    if openings.is_empty() {
        return Err(Error::Parse {
            what: "openings file",
            input: String::new(),
            reason: "it holds no opening".into(),
        });
    }
    Ok(openings)
}

/// What a contestant's per-game agent is built from: a search, or a baseline player.
type Recipe = std::result::Result<SearchConfig, PlayerSpec>;

/// The settings every table of a match shares.
struct TableRecipe<'a, G: Game> {
    game: &'a G,
    cfg: &'a MatchConfig,
    recipes: [Recipe; 2],
    leaves: [usize; 2],
    sims: [u32; 2],
}

impl<'a, G: Game + Heuristic> TableRecipe<'a, G> {
    fn new(game: &'a G, cfg: &'a MatchConfig, a: &Contestant<'_>, b: &Contestant<'_>) -> Self {
        let recipe = |c: &Contestant<'_>| match c {
            Contestant::Search { search, .. } => Ok(search.clone()),
            Contestant::Baseline(spec) => Err(spec.clone()),
        };
        let recipes: [Recipe; 2] = [recipe(a), recipe(b)];
        let leaves = recipes
            .clone()
            .map(|r| r.map_or(1, |s| s.leaves_per_gather.max(1)));
        let sims = recipes.clone().map(|r| r.map_or(0, |s| s.simulations));
        TableRecipe {
            game,
            cfg,
            recipes,
            leaves,
            sims,
        }
    }

    /// Game `i` of the match: its opening (shared by each pair of games)
    /// and both agents, A moving first in even games.
    fn table(&self, i: usize) -> Result<Table<G>> {
        let (game, cfg) = (self.game, self.cfg);
        let seed = mix64(cfg.seed ^ mix64(i as u64 + 1));
        let opening_moves = if cfg.openings.is_empty() {
            random_opening_moves(game, cfg.opening_moves, mix64(cfg.seed ^ (i / 2) as u64))
        } else {
            cfg.openings[(i / 2) % cfg.openings.len()].clone()
        };
        let mut opening = game.initial();
        let mut positions = Vec::with_capacity(opening_moves.len());
        for &a in &opening_moves {
            positions.push(opening.clone());
            game.apply(&mut opening, a);
        }
        let agent = |c: &Recipe, k: u64| -> Result<Agent<G>> {
            Ok(match c {
                Ok(search) => {
                    let mut s = Search::new(game.clone(), search.clone(), seed ^ k)?;
                    s.reset(opening.clone());
                    Agent::Search {
                        search: Box::new(s),
                        begun: false,
                    }
                }
                Err(spec) => {
                    let mut p = spec.build(game.clone(), seed ^ k)?;
                    for (before, &a) in positions.iter().zip(&opening_moves) {
                        p.observe(before, a);
                    }
                    Agent::Player(p)
                }
            })
        };
        Ok(Table {
            game: game.clone(),
            state: opening.clone(),
            agents: [agent(&self.recipes[0], 1)?, agent(&self.recipes[1], 2)?],
            a_first: i.is_multiple_of(2),
            local: Batch::new(game, self.leaves[0].max(self.leaves[1])),
            waiting: None,
            result: None,
            resigned: false,
            simulations: self.sims,
            index: i,
            opening_moves: opening_moves.len(),
            moves: opening_moves,
        })
    }
}

/// Plays `cfg.games` games between `a` and `b` and returns A's results.
/// `progress` is called with (games finished, games in all).
pub fn play_match<'e, G: Game + Heuristic>(
    game: &G,
    mut a: Contestant<'e>,
    mut b: Contestant<'e>,
    cfg: &MatchConfig,
    progress: &mut dyn FnMut(usize, usize),
    stop: &dyn Fn() -> bool,
) -> Result<MatchResult> {
    let recipe = TableRecipe::new(game, cfg, &a, &b);
    let mut result = MatchResult::default();
    let mut next = 0usize;
    let mut tables: Vec<Table<G>> = Vec::new();
    let mut batches = [Batch::new(game, 0), Batch::new(game, 0)];
    while result.games < cfg.games {
        if stop() {
            return Err(Error::Interrupted);
        }
        while tables.len() < cfg.concurrency.max(1) && next < cfg.games {
            tables.push(recipe.table(next)?);
            next += 1;
        }
        tables
            .par_iter_mut()
            .try_for_each(|t| t.advance(recipe.leaves))?;
        remove_finished(&mut tables, &mut result, &mut |done| {
            progress(done, cfg.games)
        });
        let offsets = evaluate_round(game, [&mut a, &mut b], &tables, &mut batches)?;
        tables
            .par_iter_mut()
            .zip(&offsets)
            .try_for_each(|(t, &off)| match t.waiting {
                Some(side) => t.absorb(&batches[side], off),
                None => Ok(()),
            })?;
    }
    Ok(result)
}

/// Counts the finished games into `result` and drops their tables.
fn remove_finished<G: Game>(
    tables: &mut Vec<Table<G>>,
    result: &mut MatchResult,
    progress: &mut dyn FnMut(usize),
) {
    let mut i = 0;
    while i < tables.len() {
        if let Some(r) = tables[i].result {
            result.add(tables[i].a_first, r);
            result.records.push(MatchGame {
                game: tables[i].index,
                a_first: tables[i].a_first,
                moves: std::mem::take(&mut tables[i].moves),
                opening_moves: tables[i].opening_moves,
                result: r,
                resigned: tables[i].resigned,
            });
            for agent in &tables[i].agents {
                if let Agent::Player(p) = agent {
                    if let Some(checks) = p.score_checks() {
                        result
                            .score_checks
                            .get_or_insert_with(ScoreChecks::default)
                            .merge(&checks);
                    }
                }
            }
            tables.swap_remove(i);
            progress(result.games);
        } else {
            i += 1;
        }
    }
}

/// One batch per searching contestant, both in flight at once: the tables'
/// waiting leaves go out and the evaluated batches come back into
/// `batches`. Returns each table's offset in its side's batch.
fn evaluate_round<G: Game>(
    game: &G,
    contestants: [&mut Contestant<'_>; 2],
    tables: &[Table<G>],
    batches: &mut [Batch; 2],
) -> Result<Vec<usize>> {
    let mut offsets = vec![0usize; tables.len()];
    for (side, batch) in batches.iter_mut().enumerate() {
        batch.clear();
        for (t, off) in tables.iter().zip(offsets.iter_mut()) {
            if t.waiting == Some(side) {
                *off = batch.append(&t.local);
            }
        }
    }
    let mut submitted = [false; 2];
    let mut evals: Vec<(usize, &mut dyn Evaluator)> = Vec::new();
    for (side, c) in contestants.into_iter().enumerate() {
        if let Contestant::Search { eval, .. } = c {
            evals.push((side, &mut **eval));
        }
    }
    for (side, eval) in evals.iter_mut() {
        if !batches[*side].is_empty() {
            eval.submit(std::mem::replace(&mut batches[*side], Batch::new(game, 0)))?;
            submitted[*side] = true;
        }
    }
    for (side, eval) in evals.iter_mut() {
        if submitted[*side] {
            batches[*side] = eval.collect()?;
        }
    }
    Ok(offsets)
}

/// Searches every position of `states` (none terminal) with `cfg`, all at
/// once with their leaves batched, and returns each search's result.
/// `on_round` is told, after each batch, how many searches have finished.
pub fn search_many<G: Game>(
    game: &G,
    states: &[G::State],
    cfg: &SearchConfig,
    eval: &mut dyn Evaluator,
    seed: u64,
    on_round: &mut dyn FnMut(usize),
) -> Result<Vec<SearchResult>> {
    let mut searches = states
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut search = Search::new(game.clone(), cfg.clone(), mix64(seed ^ i as u64))?;
            search.reset(s.clone());
            search.begin(cfg.simulations)?;
            Ok((search, Batch::new(game, cfg.leaves_per_gather), 0usize))
        })
        .collect::<Result<Vec<_>>>()?;
    loop {
        searches.par_iter_mut().for_each(|(s, local, _)| {
            local.clear();
            while !s.is_done() && s.gather(local, cfg.leaves_per_gather) == 0 {}
        });
        let mut batch = Batch::new(game, 0);
        for (_, local, off) in searches.iter_mut() {
            *off = batch.append(local);
        }
        if batch.is_empty() {
            break;
        }
        let batch = eval.evaluate(batch)?;
        searches
            .par_iter_mut()
            .try_for_each(|(s, local, off)| -> Result<()> {
                if local.is_empty() {
                    return Ok(());
                }
                local.copy_results_from(&batch, *off);
                s.absorb(local)
            })?;
        on_round(searches.iter().filter(|(s, _, _)| s.is_done()).count());
    }
    searches.iter_mut().map(|(s, _, _)| s.result()).collect()
}
