//! The Gomocup protocol (piskvork's "pbrain" brain protocol), both ways:
//! - [`Engine`]: wgzero as a Gomoku brain (`wgzero pbrain`), so that
//!   Gomoku managers and GUIs (piskvork, c-gomoku-cli, Gomocalc) can run it;
//! - [`crate::players::pbrain`]: any outside Gomocup brain as an opponent
//!   (`eval --against pbrain:COMMAND`).
//!
//! The protocol: one command a line. `START n` (answer `OK` or `ERROR`),
//! `RESTART` (`OK`), `BEGIN` (the brain opens: answer `x,y`), `TURN x,y`
//! (the opponent's move: answer the brain's), `BOARD` then `x,y,field`
//! lines (1 the brain's stone, 2 the opponent's) then `DONE` (answer a
//! move), `TAKEBACK x,y` (`OK`), `INFO key value` (no answer), `ABOUT`,
//! `END`. Coordinates are `x,y` = column,row from the top left, from 0. The
//! brain may also write `MESSAGE`, `DEBUG`, `ERROR` and `UNKNOWN` lines.
//! Unknown commands get `UNKNOWN`, malformed ones `ERROR`; the engine keeps
//! running. `STOP` (or `YXSTOP`) while thinking stops the search and plays
//! its best move so far.
//!
//! Like the rest of the search side, nothing here knows about networks: a
//! [`Brain`] searches with any [`Evaluator`].

use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::eval::{Batch, Evaluator};
use crate::game::gomoku::GomokuState;
use crate::game::{Game, Gomoku};
use crate::mcts::{Search, SearchConfig};

/// `x,y` (column, row from the top left) of action `a` on an `n x n` board.
pub fn format_point(a: usize, n: usize) -> String {
    format!("{},{}", a % n, a / n)
}

/// The action of `x,y` on an `n x n` board (checked to be on it).
pub fn parse_point(text: &str, n: usize) -> Result<usize> {
    let bad = |why: String| Error::parse("a point x,y", text.trim(), why);
    let parts: Vec<&str> = text.trim().split(',').map(str::trim).collect();
    if parts.len() != 2 {
        return Err(bad("expected two numbers separated by a comma".into()));
    }
    let coord = |t: &str| match t.parse::<usize>() {
        Ok(v) if v < n => Ok(v),
        _ => Err(bad(format!(
            "coordinates are whole numbers from 0 to {}",
            n - 1
        ))),
    };
    let (x, y) = (coord(parts[0])?, coord(parts[1])?);
    Ok(y * n + x)
}

/// The limits a manager sets with `INFO` (times in milliseconds).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Limits {
    /// Most time for one move (0: move at once).
    pub timeout_turn: Option<u64>,
    /// Time for the whole match (0: no limit).
    pub timeout_match: Option<u64>,
    /// Time left in the match.
    pub time_left: Option<u64>,
    /// Most search nodes a move (`max_node`): caps the evaluations.
    pub max_nodes: Option<u64>,
    /// Most depth (`max_depth`): the deepest level the minimax searches
    /// look at, in moves below the root (MCTS ignores it).
    pub max_depth: Option<usize>,
}

impl Limits {
    /// Time this move may take: the turn limit, and at most a fifteenth of
    /// the match time left, less a safety margin (5%, at least 30 ms);
    /// `None` without limits.
    pub fn move_time(&self) -> Option<Duration> {
        let mut ms: Option<u64> = self.timeout_turn;
        if let Some(left) = self.time_left.filter(|_| self.timeout_match != Some(0)) {
            let share = left / 15;
            ms = Some(ms.map_or(share, |m| m.min(share)));
        }
        ms.map(|m| Duration::from_millis(m.saturating_sub((m / 20).max(30))))
    }

    /// Applies `INFO key value`; unknown keys are ignored (the protocol
    /// allows managers their own), malformed values are an error.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let number = || {
            value.trim().parse::<i64>().map_err(|_| {
                Error::parse(
                    "an INFO value",
                    &format!("{key} {value}"),
                    "expected a whole number",
                )
            })
        };
        let ms = |v: i64| (v >= 0).then_some(v as u64);
        match key.to_ascii_lowercase().as_str() {
            "timeout_turn" => self.timeout_turn = ms(number()?),
            "timeout_match" => self.timeout_match = ms(number()?),
            "time_left" => self.time_left = ms(number()?),
            "max_node" => self.max_nodes = ms(number()?).filter(|&v| v > 0),
            "max_depth" => self.max_depth = ms(number()?).filter(|&v| v > 0).map(|v| v as usize),
            "rule" => {
                let rule = number()?;
                if rule & !2 != 0 {
                    return Err(Error::config(format!(
                        "rule {rule}: this brain plays freestyle Gomoku only (five or more wins)"
                    )));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Picks a brain's moves.
pub trait Brain: Send {
    /// A short description (for `ABOUT` and messages).
    fn name(&self) -> String;
    /// The move to play in `state` within `limits`; `stop` says when to
    /// stop thinking and play the best move so far. Also returns a line for
    /// the manager's log.
    fn think(
        &mut self,
        state: &GomokuState,
        limits: &Limits,
        stop: &mut dyn FnMut() -> bool,
    ) -> Result<(usize, String)>;
}

/// A brain that searches (any algorithm of [`SearchConfig`]) with an
/// evaluator, for at most `cfg.simulations` evaluations a move, less when
/// the manager's limits say so.
pub struct SearchBrain<E: Evaluator> {
    search: Search<Gomoku>,
    eval: E,
    name: String,
}

impl<E: Evaluator> SearchBrain<E> {
    pub fn new(game: Gomoku, cfg: SearchConfig, eval: E, name: String, seed: u64) -> Result<Self> {
        Ok(SearchBrain {
            search: Search::new(game, cfg, seed)?,
            eval,
            name,
        })
    }
}

impl<E: Evaluator> Brain for SearchBrain<E> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn think(
        &mut self,
        state: &GomokuState,
        limits: &Limits,
        stop: &mut dyn FnMut() -> bool,
    ) -> Result<(usize, String)> {
        let t = Instant::now();
        let deadline = limits.move_time();
        let mut budget = self.search.config().simulations;
        if let Some(n) = limits.max_nodes {
            budget = budget.min(n.min(u32::MAX as u64) as u32);
        }
        let game = *self.search.game();
        let depth = limits
            .max_depth
            .map_or(0, |d| d.min(u32::MAX as usize) as u32);
        self.search.set_max_depth(depth);
        self.search.reset(state.clone());
        self.search.begin(budget)?;
        let leaves = self.search.config().leaves_per_gather;
        let mut batch = Batch::new(&game, leaves);
        let mut evaluated = false;
        let mut stopped = false;
        // The longest batch so far: a batch that would end past the
        // deadline is not started.
        let mut longest = Duration::ZERO;
        while !self.search.is_done() {
            let late = deadline.is_some_and(|d| t.elapsed() + longest >= d);
            if evaluated && (late || stop()) {
                stopped = true;
                break;
            }
            if !self.search.gather_next(&mut batch, leaves)? {
                continue;
            }
            let b = Instant::now();
            batch = self.eval.evaluate(batch)?;
            self.search.absorb(&batch)?;
            longest = longest.max(b.elapsed());
            evaluated = true;
        }
        let r = self.search.result()?;
        let note = format!(
            "{}: value {:+.2}, {} evaluations, {} ms{}",
            self.name,
            r.value,
            r.simulations,
            t.elapsed().as_millis(),
            if stopped { " (stopped)" } else { "" }
        );
        Ok((r.action, note))
    }
}

/// Makes the brain for a board (at `START`; an error refuses the size).
pub type BrainFactory = Box<dyn FnMut(Gomoku) -> Result<Box<dyn Brain>>>;

/// What the engine does after a command.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Lines to write (maybe none).
    Reply(Vec<String>),
    /// `END`: exit.
    End,
}

/// wgzero as a Gomocup brain: the game, the board, the limits.
pub struct Engine {
    factory: BrainFactory,
    brain: Option<Box<dyn Brain>>,
    game: Gomoku,
    state: GomokuState,
    /// Moves in order (for `TAKEBACK`).
    history: Vec<usize>,
    /// `BOARD` lines collected until `DONE`.
    board: Option<Vec<(usize, u8)>>,
    limits: Limits,
    about: String,
}

impl Engine {
    /// An engine that makes its brain with `factory` at `START`.
    pub fn new(factory: BrainFactory, about: String) -> Self {
        let game = Gomoku::default();
        Engine {
            factory,
            brain: None,
            state: game.initial(),
            game,
            history: Vec::new(),
            board: None,
            limits: Limits::default(),
            about,
        }
    }

    /// The limits set so far.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Handles one line from the manager; `stop` is polled while thinking.
    pub fn handle_line(&mut self, line: &str, stop: &mut dyn FnMut() -> bool) -> Step {
        let line = line.trim();
        if line.is_empty() {
            return Step::Reply(Vec::new());
        }
        if self.board.is_some() {
            return Step::Reply(self.board_line(line, stop));
        }
        let (command, rest) = match line.split_once(char::is_whitespace) {
            Some((c, r)) => (c, r.trim()),
            None => (line, ""),
        };
        let command = command.to_ascii_uppercase();
        let reply = match command.as_str() {
            "END" => return Step::End,
            "START" => self.start(rest),
            "RECTSTART" => self.rectstart(rest),
            "RESTART" => self.restart(),
            "INFO" => self.info(rest),
            "ABOUT" => vec![self.about.clone()],
            "BEGIN" => self.begin(stop),
            "TURN" => self.turn(rest, stop),
            "BOARD" => self.open_board(),
            "TAKEBACK" => self.takeback(rest),
            "STOP" | "YXSTOP" => Vec::new(),
            _ => vec![format!("UNKNOWN command {command}")],
        };
        Step::Reply(reply)
    }

    fn error(e: impl std::fmt::Display) -> Vec<String> {
        vec![format!("ERROR {e}").replace('\n', " ")]
    }

    fn start(&mut self, rest: &str) -> Vec<String> {
        let size = match rest.parse::<usize>() {
            Ok(n) => n,
            Err(_) => return Self::error(format!("START needs a board size, got {rest:?}")),
        };
        let game = match Gomoku::new(size) {
            Ok(g) => g,
            Err(e) => return Self::error(e),
        };
        match (self.factory)(game) {
            Ok(brain) => {
                self.brain = Some(brain);
                self.game = game;
                self.restart()
            }
            Err(e) => Self::error(format!("board size {size}: {e}")),
        }
    }

    fn rectstart(&mut self, rest: &str) -> Vec<String> {
        match rest.split_once(',') {
            Some((w, h)) if w.trim() == h.trim() => self.start(w.trim()),
            _ => Self::error(format!(
                "RECTSTART {rest}: only square boards (RECTSTART n,n)"
            )),
        }
    }

    fn restart(&mut self) -> Vec<String> {
        if self.brain.is_none() {
            return Self::error("no board: send START first");
        }
        self.state = self.game.initial();
        self.history.clear();
        self.board = None;
        vec!["OK".into()]
    }

    fn info(&mut self, rest: &str) -> Vec<String> {
        let (key, value) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        match self.limits.set(key, value) {
            Ok(()) => Vec::new(),
            Err(e) => Self::error(e),
        }
    }

    fn begin(&mut self, stop: &mut dyn FnMut() -> bool) -> Vec<String> {
        if self.brain.is_none() {
            return Self::error("no board: send START first");
        }
        if !self.history.is_empty() {
            return Self::error("BEGIN on a board with stones: send RESTART first");
        }
        self.respond(stop)
    }

    fn turn(&mut self, rest: &str, stop: &mut dyn FnMut() -> bool) -> Vec<String> {
        if self.brain.is_none() {
            return Self::error("no board: send START first");
        }
        let a = match parse_point(rest, self.game.size()) {
            Ok(a) => a,
            Err(e) => return Self::error(e),
        };
        if let Err(e) = self.play(a) {
            return Self::error(e);
        }
        self.respond(stop)
    }

    fn play(&mut self, a: usize) -> Result<()> {
        self.game.play(&mut self.state, a)?;
        self.history.push(a);
        Ok(())
    }

    /// The brain's move in the current position, played.
    fn respond(&mut self, stop: &mut dyn FnMut() -> bool) -> Vec<String> {
        if self.game.terminal_value(&self.state).is_some() {
            return Self::error("the game is over");
        }
        let Some(brain) = self.brain.as_mut() else {
            return Self::error("no board: send START first");
        };
        match brain.think(&self.state, &self.limits, stop) {
            Ok((a, note)) => match self.play(a) {
                Ok(()) => vec![format!("MESSAGE {note}"), format_point(a, self.game.size())],
                Err(e) => Self::error(e),
            },
            Err(e) => Self::error(e),
        }
    }

    fn open_board(&mut self) -> Vec<String> {
        if self.brain.is_none() {
            return Self::error("no board: send START first");
        }
        self.board = Some(Vec::new());
        Vec::new()
    }

    /// A line inside `BOARD`: `x,y,field`, or `DONE`.
    fn board_line(&mut self, line: &str, stop: &mut dyn FnMut() -> bool) -> Vec<String> {
        if line.eq_ignore_ascii_case("done") {
            let stones = self.board.take().unwrap_or_default();
            return match self.set_board(&stones) {
                Ok(()) => self.respond(stop),
                Err(e) => Self::error(e),
            };
        }
        let n = self.game.size();
        let parsed = line.rsplit_once(',').and_then(|(point, field)| {
            let a = parse_point(point, n).ok()?;
            match field.trim() {
                "1" => Some((a, 1u8)),
                "2" => Some((a, 2u8)),
                _ => None,
            }
        });
        match parsed {
            Some(stone) => {
                self.board.get_or_insert_with(Vec::new).push(stone);
                Vec::new()
            }
            None => {
                // A bad line spoils the whole position: refuse it at DONE.
                self.board = None;
                self.state = self.game.initial();
                self.history.clear();
                Self::error(format!(
                    "BOARD line {line:?}: expected x,y,1 (own stone) or x,y,2 (opponent's); the BOARD is dropped"
                ))
            }
        }
    }

    /// Sets up the position of a `BOARD`: the stones are replayed in the
    /// order given, each colour's in turn (the brain is to move next, so it
    /// moved first if both have as many stones).
    fn set_board(&mut self, stones: &[(usize, u8)]) -> Result<()> {
        let own: Vec<usize> = stones.iter().filter(|s| s.1 == 1).map(|s| s.0).collect();
        let theirs: Vec<usize> = stones.iter().filter(|s| s.1 == 2).map(|s| s.0).collect();
        let (first, second) = if own.len() == theirs.len() {
            (&own, &theirs)
        } else if theirs.len() == own.len() + 1 {
            (&theirs, &own)
        } else {
            return Err(Error::config(format!(
                "BOARD with {} own and {} opponent's stones: the brain to move needs as many or one fewer",
                own.len(),
                theirs.len()
            )));
        };
        self.state = self.game.initial();
        self.history.clear();
        for i in 0..first.len() {
            for a in [first.get(i), second.get(i)].into_iter().flatten() {
                if self.game.terminal_value(&self.state).is_some() {
                    return Err(Error::config(
                        "BOARD: the position already has five in a row",
                    ));
                }
                self.play(*a)?;
            }
        }
        Ok(())
    }

    fn takeback(&mut self, rest: &str) -> Vec<String> {
        if self.brain.is_none() {
            return Self::error("no board: send START first");
        }
        let a = match parse_point(rest, self.game.size()) {
            Ok(a) => a,
            Err(e) => return Self::error(e),
        };
        if self.history.last() != Some(&a) {
            return Self::error(format!("TAKEBACK {rest}: not the last move"));
        }
        self.history.pop();
        let moves = std::mem::take(&mut self.history);
        self.state = self.game.initial();
        for m in moves {
            if let Err(e) = self.play(m) {
                return Self::error(e);
            }
        }
        vec!["OK".into()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_column_then_row_from_the_top_left() {
        assert_eq!(format_point(0, 15), "0,0");
        assert_eq!(format_point(15 * 7 + 3, 15), "3,7");
        assert_eq!(parse_point(" 3, 7 ", 15).unwrap(), 15 * 7 + 3);
        for bad in ["", "3", "3,", "3,7,1", "-1,2", "15,0", "a,b", "1.5,2"] {
            assert!(parse_point(bad, 15).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_move_time_keeps_a_margin_and_a_share_of_the_match() {
        let mut l = Limits::default();
        assert_eq!(l.move_time(), None);
        l.set("timeout_turn", "1000").unwrap();
        assert_eq!(l.move_time(), Some(Duration::from_millis(950)));
        l.set("time_left", "3000").unwrap();
        assert_eq!(l.move_time(), Some(Duration::from_millis(170)));
        l.set("timeout_turn", "0").unwrap();
        assert_eq!(l.move_time(), Some(Duration::ZERO));
        assert!(l.set("timeout_turn", "x").is_err());
        assert!(l.set("rule", "1").is_err(), "exactly five is not freestyle");
        assert!(l.set("rule", "0").is_ok());
        assert!(l.set("whatever", "x").is_ok(), "unknown keys are ignored");
    }
}
