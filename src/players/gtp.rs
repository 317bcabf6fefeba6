//! An outside GTP engine, run as a child process: [`GtpClient`] speaks the
//! protocol, [`GtpPlayer`] plays it in matches and checks its final scores
//! against wgzero's.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::game::go::{parse_score, score_text};
use crate::game::Game;
use crate::players::Player;

/// How long an engine may take to answer one command before it counts as
/// hung. Default: 120 s (a `genmove` of a strong engine at a long time
/// setting stays well inside it).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Lines of the engine's standard error kept for error messages.
const STDERR_LINES: usize = 20;

/// A GTP engine process. Its output is read by a thread of its own, so a
/// hung engine is an error after the timeout, not a hang; the last lines of
/// its standard error go into every error message.
pub struct GtpClient {
    command: String,
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    timeout: Duration,
}

pub(crate) fn gtp_error(command: &str, why: impl std::fmt::Display) -> Error {
    Error::Gtp(format!("{command}: {why}"))
}

/// Forwards `reader`'s lines (invalid UTF-8 replaced) until it ends.
fn forward_lines(reader: impl std::io::Read, tx: mpsc::Sender<String>) {
    let mut reader = BufReader::new(reader);
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        match reader.read_until(b'\n', &mut bytes) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let line = String::from_utf8_lossy(&bytes);
                if tx
                    .send(line.trim_end_matches(['\n', '\r']).to_string())
                    .is_err()
                {
                    return;
                }
            }
        }
    }
}

/// An engine process started from `command_line` (a program and its
/// arguments, shell-quoted), its standard error as `stderr` says: the
/// child, its standard input, and its output lines (read by a thread of
/// their own). Errors name the command line.
pub(crate) fn spawn_engine(
    command_line: &str,
    stderr: Stdio,
) -> Result<(Child, ChildStdin, mpsc::Receiver<String>)> {
    let words = shlex::split(command_line)
        .filter(|w| !w.is_empty())
        .ok_or_else(|| gtp_error(command_line, "cannot split the command line"))?;
    let mut child = Command::new(&words[0])
        .args(&words[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .map_err(|e| gtp_error(command_line, format!("cannot start it: {e}")))?;
    let stdin = child.stdin.take().expect("piped");
    let stdout = child.stdout.take().expect("piped");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || forward_lines(stdout, tx));
    Ok((child, stdin, lines))
}

impl GtpClient {
    /// Starts `command_line` (a program and its arguments, shell-quoted).
    pub fn spawn(command_line: &str) -> Result<Self> {
        let (mut child, stdin, lines) = spawn_engine(command_line, Stdio::piped())?;
        let err = child.stderr.take().expect("piped");
        let stderr: Arc<Mutex<VecDeque<String>>> = Arc::default();
        let kept = stderr.clone();
        let (etx, erx) = mpsc::channel::<String>();
        std::thread::spawn(move || forward_lines(err, etx));
        std::thread::spawn(move || {
            for line in erx {
                let mut k = kept.lock().unwrap_or_else(|p| p.into_inner());
                if k.len() == STDERR_LINES {
                    k.pop_front();
                }
                k.push_back(line);
            }
        });
        Ok(GtpClient {
            command: command_line.to_string(),
            child,
            stdin,
            lines,
            stderr,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The command line it was started with.
    pub fn command_line(&self) -> &str {
        &self.command
    }

    /// How long one command may wait for its answer ([`DEFAULT_TIMEOUT`]).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// `why`, with the last lines the engine wrote to its standard error.
    fn failure(&self, why: String) -> Error {
        // Give the stderr thread a moment to catch what a dying engine said.
        std::thread::sleep(Duration::from_millis(50));
        let said = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        if said.is_empty() {
            gtp_error(&self.command, why)
        } else {
            let said: Vec<&str> = said.iter().map(String::as_str).collect();
            gtp_error(
                &self.command,
                format!("{why}; its standard error ends: {}", said.join(" | ")),
            )
        }
    }

    /// The next output line, within what is left of the command's time.
    fn next_line(&self, command: &str, until: Instant) -> Result<String> {
        let left = until.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(line) => Ok(line),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(self.failure(format!(
                "no answer to {command:?} within {:.0} s (hung?)",
                self.timeout.as_secs_f64()
            ))),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(self.failure(format!("the engine closed its output after {command:?}")))
            }
        }
    }

    /// Sends one command and returns the engine's answer: `Ok(text)` for
    /// `=`, `Err(text)` for `?`; a dead or hung engine or a malformed
    /// answer is an [`Error::Gtp`].
    pub fn send(&mut self, command: &str) -> Result<std::result::Result<String, String>> {
        if let Err(e) = writeln!(self.stdin, "{command}").and_then(|_| self.stdin.flush()) {
            return Err(self.failure(format!("write failed ({e})")));
        }
        let until = Instant::now() + self.timeout;
        let this = &*self;
        read_answer(command, &mut || this.next_line(command, until)).map_err(|e| match e {
            Error::Parse { reason, .. } => this.failure(reason),
            other => other,
        })
    }

    /// Sends a command that must succeed.
    pub fn expect(&mut self, command: &str) -> Result<String> {
        self.send(command)?
            .map_err(|why| gtp_error(&self.command, format!("{command:?} refused: {why}")))
    }
}

impl Drop for GtpClient {
    fn drop(&mut self) {
        // Ask it to quit, give it a moment, then make sure.
        let _ = writeln!(self.stdin, "quit").and_then(|_| self.stdin.flush());
        let _ = self.lines.recv_timeout(Duration::from_secs(2));
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(1) {
            if self.child.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Reads one GTP answer to `command` from `next_line` (lines without their
/// endings): `Ok(text)` for `=`, `Err(text)` for `?`, the id dropped and
/// continuation lines joined by newlines, up to the empty line that ends
/// it. Leading empty lines are skipped; anything else first is malformed.
pub fn read_answer(
    command: &str,
    next_line: &mut dyn FnMut() -> Result<String>,
) -> Result<std::result::Result<String, String>> {
    let mut text = String::new();
    let mut first = true;
    let mut ok = true;
    loop {
        let line = next_line()?;
        if first {
            if line.is_empty() {
                continue;
            }
            let rest = match line.strip_prefix('=') {
                Some(r) => r,
                None => match line.strip_prefix('?') {
                    Some(r) => {
                        ok = false;
                        r
                    }
                    None => {
                        return Err(Error::parse(
                            "a GTP answer",
                            &line,
                            format!("malformed answer {line:?} to {command:?}"),
                        ))
                    }
                },
            };
            text.push_str(rest.trim_start_matches(|c: char| c.is_ascii_digit()).trim());
            first = false;
        } else if line.is_empty() {
            break;
        } else {
            text.push('\n');
            text.push_str(&line);
        }
    }
    Ok(if ok { Ok(text) } else { Err(text) })
}

/// Final scores compared with an outside engine's `final_score`, in games
/// that ended with both sides passing.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct ScoreChecks {
    pub agreed: usize,
    pub disagreed: usize,
    /// The first few disagreements: `ours vs theirs after MOVES`.
    pub examples: Vec<String>,
}

impl ScoreChecks {
    /// Adds another tally.
    pub fn merge(&mut self, other: &ScoreChecks) {
        self.agreed += other.agreed;
        self.disagreed += other.disagreed;
        for e in &other.examples {
            if self.examples.len() < 5 {
                self.examples.push(e.clone());
            }
        }
    }
}

/// An outside GTP engine as a player: it is told every move, asked with
/// `genmove`, and at the end of a game that both sides finished by passing
/// its `final_score` is compared with the rules' own.
pub struct GtpPlayer<G: Game> {
    game: G,
    client: GtpClient,
    /// The position the engine holds.
    mirror: G::State,
    /// The move it generated last, not yet observed.
    own: Option<usize>,
    checks: ScoreChecks,
    /// An error met in `observe` (which cannot return one), reported by the next `choose`.
    failed: Option<String>,
    moves: Vec<usize>,
}

impl<G: Game> GtpPlayer<G> {
    /// Starts the engine and sets it up for `game` (board size, komi).
    pub fn new(game: G, command_line: &str) -> Result<Self> {
        let setup = game.gtp_setup().ok_or_else(|| {
            Error::config(format!(
                "{} cannot be played over GTP (a Go protocol)",
                game.name()
            ))
        })?;
        let mut client = GtpClient::spawn(command_line)?;
        client.expect("protocol_version")?;
        for cmd in setup {
            client.expect(&cmd)?;
        }
        client.expect("clear_board")?;
        Ok(GtpPlayer {
            mirror: game.initial(),
            game,
            client,
            own: None,
            checks: ScoreChecks::default(),
            failed: None,
            moves: Vec::new(),
        })
    }

    fn color(&self, s: &G::State) -> &'static str {
        if self.game.to_move(s) == 0 {
            "black"
        } else {
            "white"
        }
    }

    /// Brings the engine to `state` when it is the start of a new game.
    fn sync(&mut self, state: &G::State) -> Result<()> {
        if &self.mirror == state {
            return Ok(());
        }
        if *state == self.game.initial() {
            self.client.expect("clear_board")?;
            self.mirror = state.clone();
            self.moves.clear();
            self.own = None;
            return Ok(());
        }
        Err(gtp_error(
            self.client.command_line(),
            "lost track of the position (it was not told every move)",
        ))
    }

    /// Our score of the game if it has just ended with both sides passing.
    fn score_after_two_passes(&self) -> Option<f32> {
        let pass = self.game.pass_action()?;
        let ended =
            self.game.terminal_value(&self.mirror).is_some() && self.moves.ends_with(&[pass, pass]);
        if ended {
            self.game.score_now(&self.mirror)
        } else {
            None
        }
    }

    fn observe_checked(&mut self, before: &G::State, action: usize) -> Result<()> {
        self.sync(before)?;
        if self.own.take() != Some(action) {
            let cmd = format!(
                "play {} {}",
                self.color(before),
                self.game.format_move(action)
            );
            if let Err(why) = self.client.send(&cmd)? {
                return Err(gtp_error(
                    self.client.command_line(),
                    format!(
                        "refused {cmd:?} ({why}) after {}",
                        self.game.format_moves(&self.moves)
                    ),
                ));
            }
        }
        self.game.apply(&mut self.mirror, action);
        self.moves.push(action);
        if let Some(ours) = self.score_after_two_passes() {
            let answer = self.client.expect("final_score")?;
            let theirs = parse_score(&answer);
            if theirs == Some(ours) {
                self.checks.agreed += 1;
            } else {
                self.checks.disagreed += 1;
                if self.checks.examples.len() < 5 {
                    self.checks.examples.push(format!(
                        "{} vs {answer} after {}",
                        score_text(ours),
                        self.game.format_moves(&self.moves)
                    ));
                }
            }
        }
        Ok(())
    }
}

impl<G: Game> Player<G> for GtpPlayer<G> {
    fn name(&self) -> String {
        format!("gtp:{}", self.client.command_line())
    }
    fn choose(&mut self, state: &G::State) -> Result<usize> {
        if let Some(why) = self.failed.take() {
            return Err(Error::Gtp(why));
        }
        self.sync(state)?;
        let answer = self
            .client
            .expect(&format!("genmove {}", self.color(state)))?;
        if answer.eq_ignore_ascii_case("resign") {
            // The arena scores the game as lost for this player.
            return Err(Error::Resigned);
        }
        let a = {
            self.game.parse_move(state, &answer).map_err(|e| {
                gtp_error(
                    self.client.command_line(),
                    format!(
                        "its move {answer:?} is not legal here ({e}) after {}",
                        self.game.format_moves(&self.moves)
                    ),
                )
            })?
        };
        self.own = Some(a);
        Ok(a)
    }
    fn observe(&mut self, before: &G::State, action: usize) {
        if self.failed.is_none() {
            if let Err(e) = self.observe_checked(before, action) {
                self.failed = Some(e.to_string());
            }
        }
    }
    fn score_checks(&self) -> Option<ScoreChecks> {
        Some(self.checks.clone())
    }
}
