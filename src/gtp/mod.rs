//! The Go Text Protocol (GTP version 2), both ways:
//! - [`Engine`]: wgzero as a GTP engine (`wgzero gtp`), so that Go GUIs
//!   (Sabaki, GoGui) and tournament tools can play it;
//! - [`client::GtpClient`] and [`client::GtpPlayer`] (in
//!   [`crate::players::gtp`]: an outside engine is a player): any outside
//!   GTP engine (GNU Go, KataGo, ...) as an opponent and a referee of final
//!   scores.
//!
//! Like the rest of the search side, nothing here knows about networks: the
//! engine asks a [`Player`] for its moves.

/// Outside GTP engines (they are players: [`crate::players::gtp`]).
pub mod client {
    pub use crate::players::gtp::*;
}

use crate::error::{Error, Result};
use crate::game::go::GoState;
use crate::game::{Game, Go};
use crate::players::Player;

/// One command line, preprocessed as the protocol says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    pub id: Option<u32>,
    pub name: String,
    pub args: Vec<String>,
}

/// Reads a command line: control characters other than tab and newline are
/// dropped, tabs become spaces, `#` starts a comment; `None` for a line with
/// no command. A leading number is the command's id.
pub fn parse_command(line: &str) -> Option<Command> {
    let cleaned: String = line
        .split('#')
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control() || *c == '\t')
        .map(|c| if c == '\t' { ' ' } else { c })
        .collect();
    let mut words = cleaned.split_whitespace();
    let first = words.next()?;
    let (id, name) = match first.parse::<u32>() {
        Ok(id) => (Some(id), words.next()?.to_string()),
        Err(_) => (None, first.to_string()),
    };
    Some(Command {
        id,
        name,
        args: words.map(str::to_string).collect(),
    })
}

/// A response: `=id text` or `?id text`, ended by an empty line.
pub fn format_response(id: Option<u32>, result: &std::result::Result<String, String>) -> String {
    let (mark, text) = match result {
        Ok(t) => ('=', t),
        Err(t) => ('?', t),
    };
    let id = id.map(|i| i.to_string()).unwrap_or_default();
    if text.is_empty() {
        format!("{mark}{id}\n\n")
    } else {
        format!("{mark}{id} {text}\n\n")
    }
}

pub use crate::game::go::{parse_score, score_text};

/// `black`/`b` -> 0, `white`/`w` -> 1.
pub fn parse_color(text: &str) -> Option<u8> {
    match text.to_ascii_lowercase().as_str() {
        "b" | "black" => Some(0),
        "w" | "white" => Some(1),
        _ => None,
    }
}

/// The commands [`Engine`] knows, in `list_commands` order.
/// `time_settings` and `time_left` are accepted and ignored: moves take
/// the engine's fixed number of simulations.
pub const COMMANDS: &[&str] = &[
    "protocol_version",
    "name",
    "version",
    "known_command",
    "list_commands",
    "boardsize",
    "clear_board",
    "komi",
    "play",
    "genmove",
    "undo",
    "final_score",
    "showboard",
    "time_settings",
    "time_left",
    "quit",
];

/// Builds the engine's player for a board size and komi; an error means
/// that size cannot be played (e.g. a network trained on another size).
pub type PlayerFactory = Box<dyn FnMut(Go) -> Result<Box<dyn Player<Go>>>>;

/// wgzero as a GTP engine for Go.
pub struct Engine {
    game: Go,
    /// Positions since `clear_board`, the current one last (for `undo`).
    states: Vec<GoState>,
    factory: PlayerFactory,
    player: Box<dyn Player<Go>>,
    quit: bool,
}

impl Engine {
    /// An engine playing `game`, its moves chosen by the factory's player.
    pub fn new(game: Go, mut factory: PlayerFactory) -> Result<Self> {
        let player = factory(game)?;
        Ok(Engine {
            game,
            states: vec![game.initial()],
            factory,
            player,
            quit: false,
        })
    }

    /// Whether `quit` was received.
    pub fn finished(&self) -> bool {
        self.quit
    }

    /// The current position.
    pub fn state(&self) -> &GoState {
        self.states.last().expect("never empty")
    }

    /// Answers one input line: the full response text (ending with an empty
    /// line), or `None` for a line without a command. Never panics on input.
    pub fn handle_line(&mut self, line: &str) -> Option<String> {
        let cmd = parse_command(line)?;
        let result = self.execute(&cmd);
        Some(format_response(cmd.id, &result))
    }

    fn execute(&mut self, cmd: &Command) -> std::result::Result<String, String> {
        let arg = |i: usize| -> std::result::Result<&str, String> {
            cmd.args
                .get(i)
                .map(String::as_str)
                .ok_or_else(|| "syntax error".to_string())
        };
        match cmd.name.as_str() {
            "protocol_version" => Ok("2".into()),
            "name" => Ok("wgzero".into()),
            "version" => Ok(env!("CARGO_PKG_VERSION").into()),
            "known_command" => Ok(COMMANDS.contains(&arg(0)?).to_string()),
            "list_commands" => Ok(COMMANDS.join("\n")),
            "quit" => {
                self.quit = true;
                Ok(String::new())
            }
            "boardsize" => {
                let n: usize = arg(0)?.parse().map_err(|_| "syntax error".to_string())?;
                let game = Go::new(n, self.game.komi()).map_err(|_| "unacceptable size")?;
                self.set_rules(game)
                    .map_err(|_| "unacceptable size".to_string())?;
                self.states = vec![self.game.initial()];
                Ok(String::new())
            }
            "clear_board" => {
                self.states = vec![self.game.initial()];
                Ok(String::new())
            }
            "komi" => {
                let k: f32 = arg(0)?.parse().map_err(|_| "syntax error".to_string())?;
                let game = self.game.with_komi(k).map_err(|e| e.to_string())?;
                self.set_rules(game).map_err(|e| e.to_string())?;
                Ok(String::new())
            }
            "play" => {
                let color = parse_color(arg(0)?).ok_or("syntax error")?;
                let mv = arg(1)?;
                self.check_turn(color)?;
                let a = self
                    .game
                    .parse_move(self.state(), mv)
                    .map_err(|e| match e {
                        Error::IllegalMove { .. } => format!("illegal move ({e})"),
                        _ => "syntax error".to_string(),
                    })?;
                self.play(a);
                Ok(String::new())
            }
            "genmove" => {
                let color = parse_color(arg(0)?).ok_or("syntax error")?;
                self.check_turn(color)?;
                if self.game.terminal_value(self.state()).is_some() {
                    // After two passes the only sensible answer is another pass.
                    return Ok("pass".into());
                }
                let state = self.state().clone();
                let a = self.player.choose(&state).map_err(|e| e.to_string())?;
                self.play(a);
                Ok(self.game.format_move(a))
            }
            "undo" => {
                if self.states.len() < 2 {
                    return Err("cannot undo".into());
                }
                self.states.pop();
                Ok(String::new())
            }
            "final_score" => Ok(score_text(self.game.area_score(self.state()))),
            "showboard" => Ok(format!("\n{}", self.game.render(self.state()).trim_end())),
            "time_settings" | "time_left" => Ok(String::new()),
            _ => Err("unknown command".into()),
        }
    }

    /// Plays `a` (legal) for the side to move and tells the player.
    fn play(&mut self, a: usize) {
        let before = self.state().clone();
        let mut after = before.clone();
        self.game.apply(&mut after, a);
        self.player.observe(&before, a);
        self.states.push(after);
    }

    /// Positions alternate: a move for the side not to move is refused.
    fn check_turn(&self, color: u8) -> std::result::Result<(), String> {
        let to_move = self.game.to_move(self.state());
        if color == to_move {
            Ok(())
        } else {
            Err(format!(
                "{} is not to move (wgzero's positions alternate: play a pass for {} first)",
                if color == 0 { "black" } else { "white" },
                if to_move == 0 { "black" } else { "white" },
            ))
        }
    }

    /// New rules (size or komi): a new player; the moves so far are
    /// replayed under them when the size is unchanged.
    fn set_rules(&mut self, game: Go) -> Result<()> {
        let player = (self.factory)(game)?;
        let moves: Vec<usize> = self
            .states
            .iter()
            .skip(1)
            .filter_map(|s| s.last_action())
            .collect();
        self.player = player;
        let same_size = game.size() == self.game.size();
        self.game = game;
        self.states = vec![game.initial()];
        if same_size {
            for a in moves {
                if game.is_legal(self.state(), a) {
                    self.play(a);
                }
            }
        }
        Ok(())
    }
}
