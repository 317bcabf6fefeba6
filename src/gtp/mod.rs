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

pub mod time;

/// Outside GTP engines (they are players: [`crate::players::gtp`]).
pub mod client {
    pub use crate::players::gtp::*;
}

use std::io::Write;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::game::go::GoState;
use crate::game::{Game, Go};
use crate::mcts::Analysis;
use crate::players::{guarded_action, Player};
use time::{Clock, TimeSystem};

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
    "kgs-time_settings",
    "lz-analyze",
    "kata-analyze",
    "lz-genmove_analyze",
    "kata-genmove_analyze",
    "genmove_analyze",
    "printsgf",
    "loadsgf",
    "fixed_handicap",
    "place_free_handicap",
    "set_free_handicap",
    "final_status_list",
    "kgs-genmove_cleanup",
    "quit",
];

/// The engine's settings beyond its player's own.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineOptions {
    /// Simulations of a move without a time limit (`genmove_analyze`;
    /// `genmove` leaves them to the player). Default 400.
    pub simulations: u32,
    /// Seconds kept back from each move's time for the controller and the
    /// network's start (default 0.5).
    pub lag: f64,
    /// Simulations between two looks at the clock and the input (default 16).
    pub step: u32,
    /// An analysis stops searching at this many root visits and waits for
    /// the next command (default 100,000: the tree's memory stays bounded).
    pub max_analysis_visits: u32,
    /// Resign when the best move's winning probability is below this
    /// (default 0: never), once the search has at least 100 visits and the
    /// game has at least `size` moves.
    pub resign_below: f32,
    /// After its own move, search the opponent's position until the next
    /// command arrives (the tree is kept for the reply): default false.
    pub ponder: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            simulations: 400,
            lag: 0.5,
            step: 16,
            max_analysis_visits: 100_000,
            resign_below: 0.0,
            ponder: false,
        }
    }
}

/// How analysis lines are written: Leela Zero's (`lz-analyze`: winrate and
/// prior in 1/10,000) or KataGo's (`kata-analyze`: floats in [0, 1]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnalysisFormat {
    Lz,
    Kata,
}

/// An analysis request's settings (`[color] [interval] [key value ...]`).
#[derive(Clone, Debug, PartialEq)]
pub struct AnalyzeArgs {
    pub color: Option<u8>,
    /// Between two info lines (GTP gives centiseconds).
    pub interval: Duration,
    /// At most this many moves a line (0: all visited).
    pub max_moves: usize,
    /// `kata-analyze ... ownership true`: each line ends with the
    /// network's ownership of every point (networks with auxiliary heads).
    pub ownership: bool,
}

impl AnalyzeArgs {
    /// Reads the arguments of `lz-analyze`, `kata-analyze` and the
    /// `genmove_analyze` commands. Keys: `interval`, `maxmoves`,
    /// `minmoves`, `ownership` (written by networks with auxiliary heads),
    /// and `ownershipStdev`, `pvVisits`, `rootInfo`, `movesOwnership`
    /// (accepted, not written).
    pub fn parse(args: &[String]) -> std::result::Result<AnalyzeArgs, String> {
        let mut out = AnalyzeArgs {
            color: None,
            interval: Duration::from_secs(1),
            max_moves: 0,
            ownership: false,
        };
        let mut i = 0;
        if let Some(c) = args.first().and_then(|a| parse_color(a)) {
            out.color = Some(c);
            i = 1;
        }
        let centis = |t: &str| -> std::result::Result<Duration, String> {
            let c: f64 = t
                .parse()
                .map_err(|_| format!("syntax error (interval {t:?})"))?;
            if !(c.is_finite() && c >= 0.0) {
                return Err(format!("syntax error (interval {t:?})"));
            }
            Ok(Duration::from_secs_f64(c / 100.0))
        };
        if let Some(t) = args.get(i).filter(|t| t.parse::<f64>().is_ok()) {
            out.interval = centis(t)?;
            i += 1;
        }
        while i < args.len() {
            let key = args[i].as_str();
            let value = args
                .get(i + 1)
                .ok_or_else(|| format!("syntax error ({key} without a value)"))?;
            match key {
                "interval" => out.interval = centis(value)?,
                "maxmoves" => {
                    out.max_moves = value
                        .parse()
                        .map_err(|_| format!("syntax error (maxmoves {value:?})"))?
                }
                "minmoves" => {
                    value
                        .parse::<usize>()
                        .map_err(|_| format!("syntax error (minmoves {value:?})"))?;
                }
                "ownership" | "ownershipStdev" | "pvVisits" | "rootInfo" | "movesOwnership" => {
                    if value != "true" && value != "false" {
                        return Err(format!("syntax error ({key} {value:?})"));
                    }
                    if key == "ownership" {
                        out.ownership = value == "true";
                    }
                }
                "avoid" | "allow" => return Err(format!("{key} is not supported")),
                _ => return Err(format!("syntax error (unknown key {key:?})")),
            }
            i += 2;
        }
        Ok(out)
    }
}

/// What a network with auxiliary heads adds to `kata-analyze` lines.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AnalysisViews {
    /// Each written candidate's `scoreLead`, in order: the points the side
    /// to move leads by after the move, by the network's score head on the
    /// position after it (not searched).
    pub leads: Vec<f32>,
    /// The root's ownership from the side to move's view, row by row from
    /// the top left (`ownership true`).
    pub ownership: Option<Vec<f32>>,
}

/// The candidates an info line shows (`max_moves`, 0: all).
fn shown(a: &Analysis, max_moves: usize) -> usize {
    if max_moves == 0 {
        a.candidates.len()
    } else {
        max_moves.min(a.candidates.len())
    }
}

/// One info line: every candidate as `info move ... pv ...`, on one line;
/// in KataGo's form with `scoreLead` / `scoreMean` and a closing
/// `ownership ...` where `views` has them.
pub fn format_info(
    game: &Go,
    a: &Analysis,
    format: AnalysisFormat,
    max_moves: usize,
    views: Option<&AnalysisViews>,
) -> String {
    let take = shown(a, max_moves);
    let mut parts = Vec::new();
    for (order, c) in a.candidates.iter().take(take).enumerate() {
        let score = match views.and_then(|v| v.leads.get(order)) {
            Some(lead) => format!(" scoreMean {lead:.3} scoreLead {lead:.3}"),
            None => String::new(),
        };
        let pv: Vec<String> = c.pv.iter().map(|&m| game.format_move(m)).collect();
        let mv = game.format_move(c.action);
        parts.push(match format {
            AnalysisFormat::Lz => format!(
                "info move {mv} visits {} winrate {} prior {} lcb {} order {order} pv {}",
                c.visits,
                (c.winrate() * 10_000.0).round() as i64,
                (c.prior * 10_000.0).round() as i64,
                (c.lcb * 10_000.0).round() as i64,
                pv.join(" ")
            ),
            AnalysisFormat::Kata => format!(
                "info move {mv} visits {} edgeVisits {} utility {:.6} winrate {:.6}{score} prior {:.6} lcb {:.6} order {order} pv {}",
                c.visits,
                c.visits,
                c.value,
                c.winrate(),
                c.prior,
                c.lcb,
                pv.join(" ")
            ),
        });
    }
    if let Some(own) = views.and_then(|v| v.ownership.as_ref()) {
        let values: Vec<String> = own.iter().map(|o| format!("{o:.6}")).collect();
        parts.push(format!("ownership {}", values.join(" ")));
    }
    parts.join(" ")
}

/// Writes an analysis' info lines: when forced, or once `interval` has
/// passed since the last one (or since it was made).
struct InfoLines {
    game: Go,
    format: AnalysisFormat,
    max_moves: usize,
    ownership: bool,
    interval: Duration,
    last: Instant,
}

impl InfoLines {
    fn new(game: Go, format: AnalysisFormat, args: &AnalyzeArgs) -> Self {
        InfoLines {
            game,
            format,
            max_moves: args.max_moves,
            ownership: args.ownership,
            interval: args.interval,
            last: Instant::now(),
        }
    }

    fn write(
        &mut self,
        out: &mut dyn Write,
        a: &Analysis,
        force: bool,
        player: &mut dyn Player<Go>,
        state: &GoState,
    ) -> std::io::Result<()> {
        if force || self.last.elapsed() >= self.interval {
            let views = self.views(a, player, state);
            writeln!(
                out,
                "{}",
                format_info(&self.game, a, self.format, self.max_moves, views.as_ref())
            )?;
            out.flush()?;
            self.last = Instant::now();
        }
        Ok(())
    }
}

impl InfoLines {
    /// KataGo's form with a network that has auxiliary heads: the
    /// network's view of the root (its ownership) and of the position after
    /// each shown candidate (its score lead); `None` otherwise or when the
    /// network fails (the line is written without them).
    fn views(
        &self,
        a: &Analysis,
        player: &mut dyn Player<Go>,
        state: &GoState,
    ) -> Option<AnalysisViews> {
        if self.format != AnalysisFormat::Kata {
            return None;
        }
        let mut states = vec![state.clone()];
        for c in a.candidates.iter().take(shown(a, self.max_moves)) {
            let mut s = state.clone();
            self.game.apply(&mut s, c.action);
            states.push(s);
        }
        let views = player.final_views(&states).ok().flatten()?;
        if views.len() != states.len() {
            return None;
        }
        Some(AnalysisViews {
            // The position after the move has the opponent to move.
            leads: views[1..].iter().map(|v| -v.score).collect(),
            ownership: self.ownership.then(|| views[0].ownership.clone()),
        })
    }
}

/// Told each step's analysis of a move's search (and whether it is the
/// last), with the player for the network's views.
type MoveReport<'a> = dyn FnMut(&Analysis, bool, &mut dyn Player<Go>) -> std::io::Result<()> + 'a;

/// How long a move may search.
#[derive(Clone, Copy, Debug)]
enum Budget {
    Simulations(u32),
    Seconds(f64),
}

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
    options: EngineOptions,
    /// Black's and White's clocks.
    clocks: [Clock; 2],
}

impl Engine {
    /// An engine playing `game`, its moves chosen by the factory's player.
    pub fn new(game: Go, factory: PlayerFactory) -> Result<Self> {
        Engine::with_options(game, factory, EngineOptions::default())
    }

    /// An engine with `options`.
    pub fn with_options(
        game: Go,
        mut factory: PlayerFactory,
        options: EngineOptions,
    ) -> Result<Self> {
        if options.step == 0 || options.simulations == 0 {
            return Err(Error::config("simulations and step must be at least 1"));
        }
        let player = factory(game)?;
        let clock = Clock::new(TimeSystem::None);
        Ok(Engine {
            game,
            states: vec![game.initial()],
            factory,
            player,
            quit: false,
            options,
            clocks: [clock, clock],
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
        let mut out = Vec::new();
        // An analysis answered here stops after its first step.
        self.run_command(&cmd, &mut out, &mut || true)
            .expect("writing to memory");
        Some(String::from_utf8_lossy(&out).into_owned())
    }

    /// Answers one input line on `out`. The analysis commands stream info
    /// lines until `input_waiting` says a new command has come (checked
    /// between search steps); every other response is written at once.
    pub fn handle_line_to(
        &mut self,
        line: &str,
        out: &mut dyn Write,
        input_waiting: &mut dyn FnMut() -> bool,
    ) -> std::io::Result<()> {
        match parse_command(line) {
            Some(cmd) => self.run_command(&cmd, out, input_waiting),
            None => Ok(()),
        }
    }

    fn run_command(
        &mut self,
        cmd: &Command,
        out: &mut dyn Write,
        input_waiting: &mut dyn FnMut() -> bool,
    ) -> std::io::Result<()> {
        let format = if cmd.name.starts_with("kata-") {
            AnalysisFormat::Kata
        } else {
            AnalysisFormat::Lz
        };
        let result = match cmd.name.as_str() {
            "lz-analyze" | "kata-analyze" => self.analyze(cmd, format, out, input_waiting),
            "lz-genmove_analyze" | "kata-genmove_analyze" | "genmove_analyze" => {
                self.genmove_analyze(cmd, format, out)
            }
            _ => {
                let r = self.execute(cmd);
                out.write_all(format_response(cmd.id, &r).as_bytes())?;
                Ok(())
            }
        };
        let moved = matches!(
            cmd.name.as_str(),
            "genmove"
                | "kgs-genmove_cleanup"
                | "lz-genmove_analyze"
                | "kata-genmove_analyze"
                | "genmove_analyze"
        );
        match result {
            Ok(()) if moved && self.options.ponder => {
                out.flush()?;
                self.ponder(input_waiting);
            }
            Ok(()) => {}
            // Refused before anything was written.
            Err(Refused(why)) => out.write_all(format_response(cmd.id, &Err(why)).as_bytes())?,
            Err(Io(e)) => return Err(e),
        }
        out.flush()
    }

    /// `lz-analyze` / `kata-analyze`: info lines every interval until the
    /// next command (or `max_analysis_visits`), then an empty line.
    fn analyze(
        &mut self,
        cmd: &Command,
        format: AnalysisFormat,
        out: &mut dyn Write,
        input_waiting: &mut dyn FnMut() -> bool,
    ) -> std::result::Result<(), Stream> {
        let args = AnalyzeArgs::parse(&cmd.args).map_err(Refused)?;
        let state = self.state().clone();
        if let Some(c) = args.color {
            if c != self.game.to_move(&state) {
                return Err(Refused("wgzero analyses for the side to move only".into()));
            }
        }
        if self.game.terminal_value(&state).is_some() {
            return Err(Refused("the game is over".into()));
        }
        let analysis = self.step(&state, self.options.step)?;
        let id = cmd.id.map(|i| i.to_string()).unwrap_or_default();
        writeln!(out, "={id}")?;
        let mut lines = InfoLines::new(self.game, format, &args);
        lines.write(out, &analysis, true, self.player.as_mut(), &state)?;
        self.search_until_input(&state, analysis, input_waiting, &mut |a, player| {
            lines.write(out, a, false, player, &state)
        })?;
        writeln!(out)?;
        Ok(())
    }

    /// Searches `state` in steps (from what `analysis` says of it) until
    /// `input_waiting` says a command has come, calling `report` after
    /// each step; at `max_analysis_visits` root visits it stops searching
    /// and only waits.
    fn search_until_input(
        &mut self,
        state: &GoState,
        mut analysis: Analysis,
        input_waiting: &mut dyn FnMut() -> bool,
        report: &mut dyn FnMut(&Analysis, &mut dyn Player<Go>) -> std::io::Result<()>,
    ) -> std::result::Result<(), Stream> {
        while !input_waiting() {
            if analysis.root_visits < self.options.max_analysis_visits {
                analysis = self.step(state, self.options.step)?;
            } else {
                std::thread::sleep(Duration::from_millis(10));
            }
            report(&analysis, self.player.as_mut())?;
        }
        Ok(())
    }

    /// `genmove_analyze` and its `lz-` / `kata-` forms: the move's search
    /// with info lines every interval, then `play MOVE` and an empty line.
    fn genmove_analyze(
        &mut self,
        cmd: &Command,
        format: AnalysisFormat,
        out: &mut dyn Write,
    ) -> std::result::Result<(), Stream> {
        let args = AnalyzeArgs::parse(&cmd.args).map_err(Refused)?;
        let color = args
            .color
            .ok_or_else(|| Refused("syntax error (a color first)".into()))?;
        self.check_turn(color).map_err(Refused)?;
        let id = cmd.id.map(|i| i.to_string()).unwrap_or_default();
        let state = self.state().clone();
        if self.game.terminal_value(&state).is_some() {
            writeln!(out, "={id}\nplay pass\n")?;
            return Ok(());
        }
        let mut lines = InfoLines::new(self.game, format, &args);
        let mut begun = false;
        // The response begins with the first step's report: a player that
        // cannot analyse is refused with a `?` response instead.
        let mut report =
            |a: &Analysis, last_one: bool, player: &mut dyn Player<Go>| -> std::io::Result<()> {
                if !begun {
                    writeln!(out, "={id}")?;
                    begun = true;
                }
                lines.write(out, a, last_one, player, &state)
            };
        let chosen = self.search_move(&state, &mut report)?;
        let mv = self.finish_move(chosen);
        writeln!(out, "play {mv}\n")?;
        Ok(())
    }

    /// Searches the current position (the opponent's move) until input
    /// arrives or the analysis cap is reached; quietly stops on any error.
    fn ponder(&mut self, input_waiting: &mut dyn FnMut() -> bool) {
        let state = self.state().clone();
        if self.game.terminal_value(&state).is_some() {
            return;
        }
        let _ = self.search_until_input(&state, Analysis::default(), input_waiting, &mut |_, _| {
            Ok(())
        });
    }

    /// One analysis step of `sims` simulations from `state`.
    fn step(&mut self, state: &GoState, sims: u32) -> std::result::Result<Analysis, Stream> {
        match self.player.analyze(state, sims) {
            Ok(Some(a)) => Ok(a),
            Ok(None) => Err(Refused(format!("{} cannot analyse", self.player.name()))),
            Err(e) => Err(Refused(e.to_string())),
        }
    }

    /// The budget of the side to move's next move.
    fn budget(&self, state: &GoState) -> Budget {
        let clock = &self.clocks[self.game.to_move(state) as usize];
        let left = time::moves_left(self.game.size(), self.game.moves_played(state));
        match clock.budget(left, self.options.lag) {
            Some(t) => Budget::Seconds(t),
            None => Budget::Simulations(self.options.simulations),
        }
    }

    /// Searches the move of the side to move within its budget, calling
    /// `report` after each step (and once more at the end); the move
    /// chosen (with the pass safeguard), or `None` to resign.
    fn search_move(
        &mut self,
        state: &GoState,
        report: &mut MoveReport<'_>,
    ) -> std::result::Result<Option<usize>, Stream> {
        let start = Instant::now();
        let budget = self.budget(state);
        let mut done = 0u32;
        let mut analysis;
        loop {
            let sims = match budget {
                Budget::Simulations(n) => self.options.step.min(n - done),
                Budget::Seconds(_) => self.options.step,
            };
            analysis = self.step(state, sims)?;
            done += sims;
            let enough = match budget {
                Budget::Simulations(n) => done >= n,
                Budget::Seconds(t) => {
                    let spent = start.elapsed().as_secs_f64();
                    // Stop when another step would likely overrun.
                    spent + spent / f64::from(done.max(1)) * f64::from(self.options.step) > t
                        || analysis.root_visits >= self.options.max_analysis_visits
                }
            };
            if enough {
                break;
            }
            report(&analysis, false, self.player.as_mut())?;
        }
        report(&analysis, true, self.player.as_mut())?;
        self.clocks[self.game.to_move(state) as usize].spend(start.elapsed().as_secs_f64());
        let Some(best) = analysis.best() else {
            return Err(Refused("the search visited no move".into()));
        };
        let resign = self.options.resign_below > 0.0
            && best.winrate() < self.options.resign_below
            && analysis.root_visits >= 100
            && self.game.moves_played(state) >= self.game.size();
        if resign {
            return Ok(None);
        }
        Ok(Some(guarded_action(
            &self.game,
            state,
            best.action,
            &analysis.visits,
        )))
    }

    /// Plays the chosen move (or resigns: nothing is played); its text.
    fn finish_move(&mut self, chosen: Option<usize>) -> String {
        match chosen {
            Some(a) => {
                self.play(a);
                self.game.format_move(a)
            }
            None => "resign".into(),
        }
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
            "genmove" | "kgs-genmove_cleanup" => {
                let color = parse_color(arg(0)?).ok_or("syntax error")?;
                self.check_turn(color)?;
                if self.game.terminal_value(self.state()).is_some() {
                    // After two passes the only sensible answer is another pass.
                    return Ok("pass".into());
                }
                let state = self.state().clone();
                let timed = matches!(self.budget(&state), Budget::Seconds(_));
                if timed || self.options.resign_below > 0.0 {
                    match self.search_move(&state, &mut |_, _, _| Ok(())) {
                        Ok(chosen) => return Ok(self.finish_move(chosen)),
                        Err(Io(e)) => return Err(e.to_string()),
                        // A player without analysis: its own fixed search, below.
                        Err(Refused(_)) => {}
                    }
                }
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
            "fixed_handicap" | "place_free_handicap" => {
                let n: usize = arg(0)?.parse().map_err(|_| "syntax error".to_string())?;
                let mut points = fixed_handicap(self.game.size(), n)
                    .ok_or_else(|| format!("invalid handicap {n} on {0}x{0}", self.game.size()))?;
                if cmd.name == "place_free_handicap" {
                    points.truncate(n);
                }
                self.place_handicap(&points)?;
                Ok(points
                    .iter()
                    .map(|&p| self.game.format_move(p))
                    .collect::<Vec<_>>()
                    .join(" "))
            }
            "set_free_handicap" => {
                let empty = self.game.initial();
                let mut points = Vec::new();
                for v in &cmd.args {
                    let p = self
                        .game
                        .parse_move(&empty, v)
                        .map_err(|_| "syntax error".to_string())?;
                    if p == self.game.pass() || points.contains(&p) {
                        return Err(format!("bad vertex list ({v})"));
                    }
                    points.push(p);
                }
                if points.len() < 2 || points.len() >= self.game.points() {
                    return Err("bad vertex list (2 stones at least)".into());
                }
                self.place_handicap(&points)?;
                Ok(String::new())
            }
            "final_status_list" => match arg(0)? {
                // Tromp-Taylor: every stone on the board counts.
                "alive" => Ok((0..self.game.points())
                    .filter(|&p| self.state().stone(p).is_some())
                    .map(|p| self.game.format_move(p))
                    .collect::<Vec<_>>()
                    .join(" ")),
                "dead" | "seki" => Ok(String::new()),
                _ => Err("syntax error".into()),
            },
            "printsgf" => {
                let text = self.sgf();
                match cmd.args.first() {
                    None => Ok(text),
                    Some(path) => {
                        crate::files::write_atomic(std::path::Path::new(path), text.as_bytes())
                            .map_err(|e| format!("cannot write {path}: {e}"))?;
                        Ok(String::new())
                    }
                }
            }
            "loadsgf" => {
                let path = arg(0)?;
                let upto = match cmd.args.get(1) {
                    None => None,
                    Some(t) => Some(
                        t.parse::<usize>()
                            .ok()
                            .filter(|&n| n >= 1)
                            .ok_or("syntax error")?,
                    ),
                };
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot load file ({path}: {e})"))?;
                let record = crate::game::sgf::read_sgf(&text).map_err(|e| e.to_string())?;
                self.load(&record, upto).map_err(|e| e.to_string())?;
                Ok(String::new())
            }
            "time_settings" => {
                let num = |i: usize| -> std::result::Result<f64, String> {
                    arg(i)?
                        .parse::<f64>()
                        .ok()
                        .filter(|x| x.is_finite() && *x >= 0.0)
                        .ok_or_else(|| "syntax error".to_string())
                };
                let stones: u32 = arg(2)?.parse().map_err(|_| "syntax error".to_string())?;
                let system = TimeSystem::from_gtp(num(0)?, num(1)?, stones);
                self.clocks = [Clock::new(system), Clock::new(system)];
                Ok(String::new())
            }
            "kgs-time_settings" => {
                let system = TimeSystem::from_kgs(&cmd.args)?;
                self.clocks = [Clock::new(system), Clock::new(system)];
                Ok(String::new())
            }
            "time_left" => {
                let color = parse_color(arg(0)?).ok_or("syntax error")?;
                let t: f64 = arg(1)?
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or("syntax error")?;
                let stones: u32 = arg(2)?.parse().map_err(|_| "syntax error".to_string())?;
                self.clocks[color as usize].set_left(t.max(0.0), stones);
                Ok(String::new())
            }
            _ => Err("unknown command".into()),
        }
    }

    /// Handicap stones on the empty board: each Black stone but the last
    /// followed by a White pass (wgzero's positions alternate), so that
    /// White moves next.
    fn place_handicap(&mut self, points: &[usize]) -> std::result::Result<(), String> {
        if self.states.len() > 1 {
            return Err("board not empty".into());
        }
        for (i, &p) in points.iter().enumerate() {
            if i > 0 {
                self.play(self.game.pass());
            }
            if !self.game.is_legal(self.state(), p) {
                self.states.truncate(1);
                return Err(format!("bad vertex list ({})", self.game.format_move(p)));
            }
            self.play(p);
        }
        Ok(())
    }

    /// The moves since `clear_board`.
    fn moves(&self) -> Vec<usize> {
        self.states
            .iter()
            .skip(1)
            .filter_map(|s| s.last_action())
            .collect()
    }

    /// The game so far as SGF.
    pub fn sgf(&self) -> String {
        let moves = self.moves();
        let info = crate::game::sgf::SgfInfo {
            comment: Some(format!(
                "wgzero {} ({})",
                env!("CARGO_PKG_VERSION"),
                self.player.name()
            )),
            ..Default::default()
        };
        crate::game::sgf::write_sgf(&self.game, &moves, &info)
    }

    /// Sets up a read game: its size and komi, and its moves up to (not
    /// including) move number `upto` (GTP's `loadsgf` numbering: 1 is the
    /// first move), all of them without it.
    fn load(&mut self, record: &crate::game::sgf::SgfGame, upto: Option<usize>) -> Result<()> {
        if record.game != self.game {
            self.set_rules(record.game)?;
        }
        self.states = vec![self.game.initial()];
        let n = upto.map_or(record.moves.len(), |u| (u - 1).min(record.moves.len()));
        for &a in &record.moves[..n] {
            self.play(a);
        }
        Ok(())
    }

    /// The clock of `color` (0 black, 1 white).
    pub fn clock(&self, color: u8) -> &Clock {
        &self.clocks[color as usize & 1]
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
        let moves = self.moves();
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

/// GTP's fixed handicap placement (section 4.1.1 of the GTP 2 draft): the
/// stones on the 4-4 points (3-3 below 13x13), then the sides' middles and
/// the centre in the protocol's order; `None` where `n` is not allowed on
/// this size (2 to 9; 4 at most on 7x7 and on even sizes; none below 7).
pub fn fixed_handicap(size: usize, n: usize) -> Option<Vec<usize>> {
    let max = if size < 7 {
        0
    } else if size == 7 || size.is_multiple_of(2) {
        4
    } else {
        9
    };
    if !(2..=max).contains(&n) {
        return None;
    }
    let edge = if size >= 13 { 3 } else { 2 };
    let (lo, hi, mid) = (edge, size - 1 - edge, size / 2);
    // (column, row from the bottom), then a point id.
    let point = |col: usize, row: usize| (size - 1 - row) * size + col;
    let (ll, ur, ul, lr) = (point(lo, lo), point(hi, hi), point(lo, hi), point(hi, lo));
    let (ml, mr, lm, um, c) = (
        point(lo, mid),
        point(hi, mid),
        point(mid, lo),
        point(mid, hi),
        point(mid, mid),
    );
    let mut v = vec![ll, ur];
    match n {
        2 => {}
        3 => v.push(ul),
        4 => v.extend([ul, lr]),
        5 => v.extend([ul, lr, c]),
        6 => v.extend([ul, lr, ml, mr]),
        7 => v.extend([ul, lr, ml, mr, c]),
        8 => v.extend([ul, lr, ml, mr, lm, um]),
        _ => v.extend([ul, lr, ml, mr, lm, um, c]),
    }
    Some(v)
}

/// Why a streamed command stopped: refused before its response began (a
/// `?` response follows), or output failed.
enum Stream {
    Refused(String),
    Io(std::io::Error),
}
use Stream::{Io, Refused};

impl From<std::io::Error> for Stream {
    fn from(e: std::io::Error) -> Self {
        Io(e)
    }
}
