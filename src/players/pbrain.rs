//! An outside Gomocup brain (`pbrain-*`), run as a child process and played
//! in matches: `eval --game gomoku --against "pbrain:COMMAND"`.

use std::io::Write;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::game::Game;
use crate::pbrain::{format_point, parse_point};
use crate::players::gtp::{gtp_error, spawn_engine};
use crate::players::Player;

/// How long a brain may take over a move beyond its turn time before it
/// counts as hung.
const GRACE: Duration = Duration::from_secs(30);

/// An outside Gomocup brain playing one game: it is told the board at its
/// first move (`BEGIN` on an empty board, else `BOARD`) and the opponent's
/// moves after that (`TURN`).
pub struct PbrainPlayer<G: Game> {
    game: G,
    command: String,
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    size: usize,
    turn_ms: u64,
    /// Every move of the game so far, and how many the brain knows.
    moves: Vec<usize>,
    told: usize,
    started: bool,
    /// Lines the brain wrote as `MESSAGE`, `DEBUG` or `ERROR` (the last few).
    pub messages: Vec<String>,
}

impl<G: Game> PbrainPlayer<G> {
    /// Starts `command_line` for `game` (square boards: Gomoku), `turn_ms`
    /// milliseconds a move.
    pub fn new(game: G, command_line: &str, turn_ms: u64) -> Result<Self> {
        let size = (game.num_actions() as f64).sqrt() as usize;
        if !game.name().starts_with("gomoku") || size * size != game.num_actions() {
            return Err(gtp_error(
                command_line,
                format!("pbrain: engines play Gomoku, not {}", game.name()),
            ));
        }
        let (child, stdin, lines) = spawn_engine(command_line, Stdio::null())?;
        Ok(PbrainPlayer {
            game,
            command: command_line.to_string(),
            child,
            stdin,
            lines,
            size,
            turn_ms,
            moves: Vec::new(),
            told: 0,
            started: false,
            messages: Vec::new(),
        })
    }

    fn send(&mut self, line: &str) -> Result<()> {
        writeln!(self.stdin, "{line}")
            .and_then(|()| self.stdin.flush())
            .map_err(|e| gtp_error(&self.command, format!("cannot write {line:?}: {e}")))
    }

    /// The brain's next answer line (messages kept aside), within `limit`.
    fn answer(&mut self, command: &str, limit: Duration) -> Result<String> {
        let until = Instant::now() + limit;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(l) => l,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(gtp_error(
                        &self.command,
                        format!(
                            "no answer to {command:?} within {:.0} s",
                            limit.as_secs_f64()
                        ),
                    ))
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(gtp_error(
                        &self.command,
                        format!("the brain closed its output after {command:?}"),
                    ))
                }
            };
            let line = line.trim().to_string();
            let word = line
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            match word.as_str() {
                "" => continue,
                "MESSAGE" | "DEBUG" | "SUGGEST" => {
                    if self.messages.len() == 20 {
                        self.messages.remove(0);
                    }
                    self.messages.push(line);
                }
                "ERROR" | "UNKNOWN" => {
                    return Err(gtp_error(
                        &self.command,
                        format!("answered {command:?} with {line:?}"),
                    ))
                }
                _ => return Ok(line),
            }
        }
    }

    fn start(&mut self) -> Result<()> {
        self.send(&format!("START {}", self.size))?;
        let ok = self.answer("START", GRACE)?;
        if !ok.eq_ignore_ascii_case("ok") {
            return Err(gtp_error(
                &self.command,
                format!("answered START with {ok:?}"),
            ));
        }
        for info in [
            format!("INFO timeout_turn {}", self.turn_ms),
            "INFO timeout_match 0".to_string(),
            "INFO rule 0".to_string(),
            "INFO game_type 1".to_string(),
        ] {
            self.send(&info)?;
        }
        self.started = true;
        Ok(())
    }

    /// Tells the brain the moves it does not know and returns its move.
    fn ask(&mut self) -> Result<usize> {
        if !self.started {
            self.start()?;
        }
        let command = if self.moves.is_empty() {
            self.send("BEGIN")?;
            "BEGIN".to_string()
        } else if self.told + 1 == self.moves.len() && self.told > 0 {
            let last = format_point(self.moves[self.told], self.size);
            self.send(&format!("TURN {last}"))?;
            format!("TURN {last}")
        } else {
            // The brain's stones are those of the side to move now.
            self.send("BOARD")?;
            let parity = self.moves.len() % 2;
            for (i, &a) in self.moves.clone().iter().enumerate() {
                let field = if i % 2 == parity { 1 } else { 2 };
                self.send(&format!("{},{field}", format_point(a, self.size)))?;
            }
            self.send("DONE")?;
            "BOARD".to_string()
        };
        let limit = Duration::from_millis(self.turn_ms) + GRACE;
        let line = self.answer(&command, limit)?;
        let a = parse_point(&line, self.size).map_err(|e| {
            gtp_error(
                &self.command,
                format!("answered {command:?} with {line:?}: {e}"),
            )
        })?;
        self.told = self.moves.len() + 1;
        Ok(a)
    }
}

impl<G: Game> Player<G> for PbrainPlayer<G> {
    fn name(&self) -> String {
        format!("pbrain:{}", self.command)
    }
    fn choose(&mut self, state: &G::State) -> Result<usize> {
        let a = self.ask()?;
        if !self.game.is_legal(state, a) {
            return Err(Error::IllegalMove {
                mv: format_point(a, self.size),
                reason: format!("{} played an illegal move", self.command),
            });
        }
        Ok(a)
    }
    fn observe(&mut self, _before: &G::State, action: usize) {
        self.moves.push(action);
    }
}

impl<G: Game> Drop for PbrainPlayer<G> {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "END").and_then(|()| self.stdin.flush());
        let t = Instant::now();
        while t.elapsed() < Duration::from_millis(500) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
