//! Players: anything that picks a move in a position. Baselines (random,
//! rollout MCTS, alpha-beta minimax) and, later, the network player.

pub mod gtp;
mod heuristic;
mod minimax;
pub mod pbrain;

pub use heuristic::Heuristic;
pub use minimax::Minimax;

use std::str::FromStr;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use crate::eval::{Evaluator, FinalView, Rollout};
use crate::game::Game;
use crate::mcts::{Analysis, Search, SearchConfig};
pub use gtp::{GtpClient, GtpPlayer, ScoreChecks};

/// Picks moves.
pub trait Player<G: Game>: Send {
    /// Short description, e.g. `mcts:2000`.
    fn name(&self) -> String;
    /// A legal move for the side to move in `state` (which is not terminal).
    fn choose(&mut self, state: &G::State) -> Result<usize>;
    /// Told after every move of the game (either side's), with the position
    /// before it; lets a search keep its tree.
    fn observe(&mut self, _before: &G::State, _action: usize) {}
    /// Searches `simulations` more from `state` (keeping what was searched
    /// from it before) and returns what the search thinks of its moves;
    /// `None` for a player without such a search. Analysis output and
    /// time-limited play call this repeatedly, then play the best move.
    fn analyze(&mut self, _state: &G::State, _simulations: u32) -> Result<Option<Analysis>> {
        Ok(None)
    }
    /// What the player's network expects of each of `states`' end
    /// (networks with auxiliary heads: Go's ownership and score); `None`
    /// for a player without such a network.
    fn final_views(&mut self, _states: &[G::State]) -> Result<Option<Vec<FinalView>>> {
        Ok(None)
    }
    /// For a player that referees final scores (an outside GTP engine): its
    /// tally so far.
    fn score_checks(&self) -> Option<ScoreChecks> {
        None
    }
}

/// Plays a uniformly random legal move.
pub struct RandomPlayer<G: Game> {
    game: G,
    rng: ChaCha8Rng,
    actions: Vec<usize>,
}

impl<G: Game> RandomPlayer<G> {
    pub fn new(game: G, seed: u64) -> Self {
        RandomPlayer {
            game,
            rng: ChaCha8Rng::seed_from_u64(seed),
            actions: Vec::new(),
        }
    }
}

impl<G: Game> Player<G> for RandomPlayer<G> {
    fn name(&self) -> String {
        "random".into()
    }
    fn choose(&mut self, state: &G::State) -> Result<usize> {
        self.game.legal_actions(state, &mut self.actions);
        if self.actions.is_empty() {
            return Err(game_over());
        }
        Ok(self.actions[self.rng.random_range(0..self.actions.len())])
    }
}

fn game_over() -> Error {
    Error::IllegalMove {
        mv: "(none)".into(),
        reason: "the game is over".into(),
    }
}

/// Classic MCTS: PUCT with uniform priors and random-playout values, a fixed
/// number of simulations per move, tree kept between moves.
pub struct MctsPlayer<G: Game> {
    search: Search<G>,
    eval: Rollout<G>,
    simulations: u32,
}

impl<G: Game> MctsPlayer<G> {
    /// Rollout MCTS with `simulations` per move.
    pub fn new(game: G, simulations: u32, seed: u64) -> Result<Self> {
        let cfg = SearchConfig {
            simulations,
            leaves_per_gather: 1,
            ..SearchConfig::default()
        }
        .for_rollouts();
        Ok(MctsPlayer {
            search: Search::new(game.clone(), cfg, seed)?,
            eval: Rollout::new(game, 1, seed ^ 0x5eed),
            simulations,
        })
    }
}

impl<G: Game> Player<G> for MctsPlayer<G> {
    fn name(&self) -> String {
        format!("mcts:{}", self.simulations)
    }
    fn choose(&mut self, state: &G::State) -> Result<usize> {
        if self.search.root_state() != state {
            self.search.reset(state.clone());
        }
        Ok(self.search.run(&mut self.eval, self.simulations)?.action)
    }
    fn analyze(&mut self, state: &G::State, simulations: u32) -> Result<Option<Analysis>> {
        if self.search.root_state() != state {
            self.search.reset(state.clone());
        }
        self.search.run(&mut self.eval, simulations)?;
        Ok(self.search.analysis())
    }
    fn observe(&mut self, before: &G::State, action: usize) {
        if self.search.root_state() == before && self.search.advance(action).is_err() {
            self.search.reset(self.search.game().initial());
        }
    }
}

/// Reads [`FinalView`]s of positions (a network's auxiliary heads).
pub type FinalViewProbe<G> = Box<dyn FnMut(&[<G as Game>::State]) -> Result<Vec<FinalView>> + Send>;

/// Tree search guided by an evaluator (a network), tree kept between moves.
pub struct SearchPlayer<G: Game, E: Evaluator> {
    search: Search<G>,
    eval: E,
    name: String,
    probe: Option<FinalViewProbe<G>>,
}

impl<G: Game, E: Evaluator> SearchPlayer<G, E> {
    /// A player searching with `cfg` (its `simulations` per move) and `eval`.
    pub fn new(game: G, cfg: SearchConfig, eval: E, name: String, seed: u64) -> Result<Self> {
        Ok(SearchPlayer {
            search: Search::new(game, cfg, seed)?,
            eval,
            name,
            probe: None,
        })
    }

    /// The player with the auxiliary heads of its network
    /// ([`Player::final_views`]).
    pub fn with_final_views(mut self, probe: FinalViewProbe<G>) -> Self {
        self.probe = Some(probe);
        self
    }
}

impl<G: Game, E: Evaluator> Player<G> for SearchPlayer<G, E> {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn choose(&mut self, state: &G::State) -> Result<usize> {
        if self.search.root_state() != state {
            self.search.reset(state.clone());
        }
        let sims = self.search.config().simulations;
        let r = self.search.run(&mut self.eval, sims)?;
        Ok(guarded_action(
            self.search.game(),
            state,
            r.action,
            &r.visits,
        ))
    }
    fn analyze(&mut self, state: &G::State, simulations: u32) -> Result<Option<Analysis>> {
        if self.search.root_state() != state {
            self.search.reset(state.clone());
        }
        self.search.run(&mut self.eval, simulations)?;
        Ok(self.search.analysis())
    }
    fn observe(&mut self, before: &G::State, action: usize) {
        if self.search.root_state() == before && self.search.advance(action).is_err() {
            self.search.reset(self.search.game().initial());
        }
    }
    fn final_views(&mut self, states: &[G::State]) -> Result<Option<Vec<FinalView>>> {
        match &mut self.probe {
            Some(probe) if !states.is_empty() => probe(states).map(Some),
            Some(_) => Ok(Some(Vec::new())),
            None => Ok(None),
        }
    }
}

/// The move a playing (not self-play) search makes, with the pass safeguard
/// of engines for counting games (Leela Zero's default, KataGo's
/// conservative pass): in a game with a pass ([`Game::pass_action`]),
/// - when the opponent has just passed and the board as it stands wins for
///   the side to move, it passes (that ends and wins the game);
/// - it never passes while the board as it stands loses for it (a pass
///   invites the opponent to end the game): it plays its most-visited other
///   move instead, when it has one.
///
/// Otherwise, and in other games, the search's own choice.
pub fn guarded_action<G: Game>(game: &G, s: &G::State, searched: usize, visits: &[u32]) -> usize {
    let (Some(pass), Some(black)) = (game.pass_action(), game.score_now(s)) else {
        return searched;
    };
    let mine = if game.to_move(s) == 0 { black } else { -black };
    if mine > 0.0 && game.is_legal(s, pass) {
        let mut after_pass = s.clone();
        game.apply(&mut after_pass, pass);
        if game.terminal_value(&after_pass).is_some() {
            return pass;
        }
    }
    if searched != pass || mine > 0.0 {
        return searched;
    }
    let mut legal = Vec::new();
    game.legal_actions(s, &mut legal);
    legal
        .into_iter()
        .filter(|&a| a != pass)
        .max_by_key(|&a| visits.get(a).copied().unwrap_or(0))
        .unwrap_or(searched)
}

/// A baseline opponent, as written on the command line:
/// `random`, `mcts:N` (N simulations), `minimax:D` (depth D),
/// `gtp:COMMAND LINE` (an outside GTP engine, Go only) or
/// `pbrain:COMMAND LINE` (an outside Gomocup brain, Gomoku only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlayerSpec {
    Random,
    Mcts(u32),
    Minimax(u32),
    Gtp(String),
    /// A Gomocup brain's command line and its time a move (ms).
    Pbrain(String, u64),
}

/// A Gomocup brain's time a move unless told otherwise (ms).
pub const PBRAIN_TURN_MS: u64 = 1000;

impl FromStr for PlayerSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let err = |why: &str| Error::parse("a player", s, why.to_string());
        if let Some(command) = s.strip_prefix("gtp:") {
            if command.trim().is_empty() {
                return Err(err(
                    "gtp: needs an engine command line, e.g. gtp:gnugo --mode gtp",
                ));
            }
            return Ok(PlayerSpec::Gtp(command.trim().to_string()));
        }
        if let Some(command) = s.strip_prefix("pbrain:") {
            if command.trim().is_empty() {
                return Err(err(
                    "pbrain: needs a Gomocup brain's command line, e.g. pbrain:pbrain-figrid",
                ));
            }
            return Ok(PlayerSpec::Pbrain(
                command.trim().to_string(),
                PBRAIN_TURN_MS,
            ));
        }
        let (kind, arg) = match s.split_once(':') {
            Some((k, a)) => (k, Some(a)),
            None => (s, None),
        };
        let number = |what: &str, lo: u32, hi: u32| -> Result<u32> {
            let a = arg
                .ok_or_else(|| err(&format!("{kind} needs a {what}, e.g. {kind}:{}", lo.max(5))))?;
            match a.parse::<u32>() {
                Ok(n) if (lo..=hi).contains(&n) => Ok(n),
                _ => Err(err(&format!(
                    "the {what} must be a whole number from {lo} to {hi}"
                ))),
            }
        };
        match kind {
            "random" if arg.is_none() => Ok(PlayerSpec::Random),
            "mcts" => Ok(PlayerSpec::Mcts(number("simulation count", 1, 10_000_000)?)),
            "minimax" => Ok(PlayerSpec::Minimax(number("depth", 1, 12)?)),
            _ => Err(err(
                "expected random, mcts:N, minimax:D, gtp:COMMAND or pbrain:COMMAND",
            )),
        }
    }
}

impl std::fmt::Display for PlayerSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlayerSpec::Random => write!(f, "random"),
            PlayerSpec::Mcts(n) => write!(f, "mcts:{n}"),
            PlayerSpec::Minimax(d) => write!(f, "minimax:{d}"),
            PlayerSpec::Gtp(c) => write!(f, "gtp:{c}"),
            PlayerSpec::Pbrain(c, _) => write!(f, "pbrain:{c}"),
        }
    }
}

impl PlayerSpec {
    /// Builds the player for `game`.
    pub fn build<G: Game + Heuristic>(&self, game: G, seed: u64) -> Result<Box<dyn Player<G>>> {
        Ok(match *self {
            PlayerSpec::Random => Box::new(RandomPlayer::new(game, seed)),
            PlayerSpec::Mcts(n) => Box::new(MctsPlayer::new(game, n, seed)?),
            PlayerSpec::Minimax(d) => Box::new(Minimax::new(game, d, seed)),
            PlayerSpec::Gtp(ref command) => Box::new(GtpPlayer::new(game, command)?),
            PlayerSpec::Pbrain(ref command, ms) => {
                Box::new(pbrain::PbrainPlayer::new(game, command, ms)?)
            }
        })
    }
}

/// Plays one game between two players (`players[0]` moves first) and returns
/// the moves and the result for the first player (1 win, 0 draw, -1 loss).
pub fn play_game<G: Game>(
    game: &G,
    players: &mut [&mut dyn Player<G>; 2],
) -> Result<(Vec<usize>, f32)> {
    let mut s = game.initial();
    let mut moves = Vec::new();
    loop {
        if let Some(v) = game.terminal_value(&s) {
            let first_to_move = game.to_move(&s) == 0;
            return Ok((moves, if first_to_move { v } else { -v }));
        }
        let side = game.to_move(&s) as usize;
        let a = match players[side].choose(&s) {
            // A resignation loses for the side that resigned.
            Err(Error::Resigned) => return Ok((moves, if side == 0 { -1.0 } else { 1.0 })),
            chosen => chosen?,
        };
        let before = s.clone();
        game.play(&mut s, a)?;
        for p in players.iter_mut() {
            p.observe(&before, a);
        }
        moves.push(a);
    }
}
