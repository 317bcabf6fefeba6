//! Connect Four test positions: generating them (random play, kept where a
//! mistake is possible, judged by the solver), reading a positions file, and
//! judging an engine's moves with the solver (`wgzero gen-positions`,
//! `wgzero eval --positions`).

use std::collections::HashSet;
use std::path::Path;

use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::Serialize;

use crate::arena::wilson_interval;
use crate::error::{Error, Result};
use crate::game::connect4::C4State;
use crate::game::{Connect4, Game};
use crate::solver::Solver;

/// How many moves are played before a generated position: `N` or `LOW-HIGH`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MoveRange {
    pub low: usize,
    pub high: usize,
}

impl std::str::FromStr for MoveRange {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        let number = |t: &str| {
            t.trim()
                .parse::<usize>()
                .map_err(|e| Error::parse("move range", text, e.to_string()))
        };
        let (low, high) = match text.split_once('-') {
            Some((a, b)) => (number(a)?, number(b)?),
            None => (number(text)?, number(text)?),
        };
        if low > high || high > 40 {
            return Err(Error::parse(
                "move range",
                text,
                "expected N or LOW-HIGH with LOW <= HIGH <= 40",
            ));
        }
        Ok(MoveRange { low, high })
    }
}

/// A generated test position: the moves leading to it, the outcome with
/// best play for the side to move, and the columns (0-based) that keep it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestPosition {
    pub moves: Vec<usize>,
    pub best: i32,
    pub good: Vec<usize>,
}

/// "win", "draw" or "loss" for a solver score.
pub fn outcome_name(score: i32) -> &'static str {
    match score.signum() {
        1 => "win",
        0 => "draw",
        _ => "loss",
    }
}

/// `count` distinct positions after `moves` random moves where some legal
/// move changes the outcome; `progress` hears the count written so far.
pub fn generate(
    count: usize,
    moves: MoveRange,
    seed: u64,
    progress: &mut dyn FnMut(usize),
) -> Vec<TestPosition> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut solver = Solver::new();
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let n = rng.random_range(moves.low..=moves.high);
        let Some((state, played)) = random_game(&mut rng, n) else {
            continue;
        };
        if !seen.insert(Connect4.hash(&state)) {
            continue;
        }
        if let Some(p) = judge_position(&mut solver, &state, played) {
            out.push(p);
            progress(out.len());
        }
    }
    out
}

/// `n` random moves from the start; `None` if the game ended on the way.
fn random_game(rng: &mut impl Rng, n: usize) -> Option<(C4State, Vec<usize>)> {
    let mut s = Connect4.initial();
    let mut moves = Vec::with_capacity(n);
    let mut legal = Vec::new();
    for _ in 0..n {
        if Connect4.terminal_value(&s).is_some() {
            return None;
        }
        Connect4.legal_actions(&s, &mut legal);
        let a = legal[rng.random_range(0..legal.len())];
        Connect4.apply(&mut s, a);
        moves.push(a);
    }
    Connect4.terminal_value(&s).is_none().then_some((s, moves))
}

/// The position as a test, or `None` when every move keeps the outcome.
fn judge_position(solver: &mut Solver, s: &C4State, moves: Vec<usize>) -> Option<TestPosition> {
    let scores = solver.analyze_weak(s);
    let best = scores.iter().flatten().max().copied().unwrap_or(0);
    let good: Vec<usize> = scores
        .iter()
        .enumerate()
        .filter(|(_, v)| v.map(i32::signum) == Some(best.signum()))
        .map(|(c, _)| c)
        .collect();
    (good.len() != scores.iter().flatten().count()).then_some(TestPosition { moves, best, good })
}

/// The text of a positions file (a comment header, then one line each:
/// moves as 1-based columns, the outcome, the columns that keep it).
pub fn positions_file_text(positions: &[TestPosition], moves: MoveRange, seed: u64) -> String {
    let mut out = format!(
        "# Connect Four test positions: {}-{} moves played, random play, seed {}.\n\
         # Only positions where some legal move changes the outcome (a mistake is possible).\n\
         # Each line: moves (1-based columns), outcome with best play for the side to move,\n\
         # and the columns that keep that outcome (judged by wgzero's solver).\n",
        moves.low, moves.high, seed
    );
    for p in positions {
        let good: Vec<String> = p.good.iter().map(|c| (c + 1).to_string()).collect();
        out.push_str(&format!(
            "{} {} {}\n",
            Connect4.format_moves(&p.moves),
            outcome_name(p.best),
            good.join(",")
        ));
    }
    out
}

/// The positions of a positions file (first word of each line; `#` lines
/// and blank lines skipped), with their text. Errors name the line.
pub fn read_positions(path: &Path) -> Result<Vec<(String, C4State)>> {
    parse_positions(&std::fs::read_to_string(path)?, &path.display().to_string())
}

/// [`read_positions`] on a file's text; `name` names it in errors.
pub fn parse_positions(text: &str, name: &str) -> Result<Vec<(String, C4State)>> {
    let at = |i: usize| format!("{name} line {}", i + 1);
    let mut out = Vec::new();
    for (i, line) in position_lines(text) {
        let pos = line.split_whitespace().next().expect("not blank");
        let s = Connect4
            .parse_position(pos)
            .map_err(|e| Error::parse("test position", &at(i), e.to_string()))?;
        if Connect4.terminal_value(&s).is_some() {
            return Err(Error::parse(
                "test position",
                &at(i),
                format!("the game is already over in {pos}"),
            ));
        }
        out.push((pos.to_string(), s));
    }
    if out.is_empty() {
        return Err(Error::parse("test positions", name, "no positions"));
    }
    Ok(out)
}

/// The lines of a positions file that hold a position, with their indices:
/// not blank, not `#` comments.
fn position_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter(|(_, l)| {
        l.split_whitespace()
            .next()
            .is_some_and(|w| !w.starts_with('#'))
    })
}

/// A position of a positions file with the columns (0-based) its line says
/// keep the best outcome (as the solver judged them when the file was written).
#[derive(Clone, Debug)]
pub struct JudgedPosition {
    /// The moves leading to it (1-based columns), as in the file.
    pub moves: String,
    pub state: C4State,
    pub good: Vec<usize>,
    /// The best outcome for the side to move as the file says it (1 win,
    /// 0 draw, -1 loss), when it says it.
    pub outcome: Option<i32>,
}

/// The positions of a positions file written by `gen-positions`, with the
/// good columns of each line (its third word). Errors name the line.
pub fn read_judged_positions(path: &Path) -> Result<Vec<JudgedPosition>> {
    parse_judged_positions(&std::fs::read_to_string(path)?, &path.display().to_string())
}

/// [`read_judged_positions`] on a file's text; `name` names it in errors.
pub fn parse_judged_positions(text: &str, name: &str) -> Result<Vec<JudgedPosition>> {
    parse_positions(text, name)?
        .into_iter()
        .zip(position_lines(text))
        .map(|((moves, state), (i, line))| {
            let bad =
                |why: &str| Error::parse("judged position", &format!("{name} line {}", i + 1), why);
            let field = line
                .split_whitespace()
                .nth(2)
                .ok_or_else(|| bad("no good columns (expected: moves outcome columns)"))?;
            let good = field
                .split(',')
                .map(|c| match c.parse::<usize>() {
                    Ok(c) if (1..=7).contains(&c) && Connect4.is_legal(&state, c - 1) => Ok(c - 1),
                    _ => Err(bad(&format!("{c:?} is not a legal column"))),
                })
                .collect::<Result<Vec<_>>>()?;
            let outcome = match line.split_whitespace().nth(1) {
                Some("win") => Some(1),
                Some("draw") => Some(0),
                Some("loss") => Some(-1),
                _ => None,
            };
            Ok(JudgedPosition {
                moves,
                state,
                good,
                outcome,
            })
        })
        .collect()
}

/// The solver's verdict on one move: the best outcome for the side to move
/// and the outcome the move keeps (solver scores).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub best: i32,
    pub after: i32,
}

impl Verdict {
    /// The move keeps the best outcome.
    pub fn correct(&self) -> bool {
        self.after.signum() == self.best.signum()
    }
}

/// Solves each position and the position after its move, in parallel (one
/// solver per thread, at most 4: each has a 64 MB table); `judged` is
/// called after each.
pub fn judge_moves(
    states: &[C4State],
    moves: &[usize],
    judged: &(dyn Fn() + Sync),
) -> Result<Vec<Verdict>> {
    let chunk = states
        .len()
        .div_ceil(rayon::current_num_threads().clamp(1, 4))
        .max(1);
    let verdicts = states
        .par_chunks(chunk)
        .zip(moves.par_chunks(chunk))
        .map(|(states, moves)| -> Result<Vec<Verdict>> {
            let mut solver = Solver::new();
            let mut out = Vec::with_capacity(states.len());
            for (s, &action) in states.iter().zip(moves) {
                out.push(judge_move(&mut solver, s, action)?);
                judged();
            }
            Ok(out)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(verdicts.into_iter().flatten().collect())
}

/// [`judge_moves`] for positions whose good columns the file gives (as
/// `gen-positions` writes them): a move among them keeps the best outcome,
/// the file's; only the other moves are solved (for the outcome they keep).
pub fn judge_known_moves(
    positions: &[JudgedPosition],
    moves: &[usize],
    judged: &(dyn Fn() + Sync),
) -> Result<Vec<Verdict>> {
    let wrong: Vec<usize> = (0..positions.len())
        .filter(|&i| !positions[i].good.contains(&moves[i]))
        .collect();
    let states: Vec<C4State> = wrong.iter().map(|&i| positions[i].state).collect();
    let picked: Vec<usize> = wrong.iter().map(|&i| moves[i]).collect();
    let solved = judge_moves(&states, &picked, judged)?;
    let mut out = positions
        .iter()
        .map(|p| {
            let best = p.outcome.ok_or_else(|| {
                Error::parse(
                    "judged position",
                    &p.moves,
                    "no outcome (win, draw or loss)",
                )
            })?;
            Ok(Verdict { best, after: best })
        })
        .collect::<Result<Vec<_>>>()?;
    for _ in 0..positions.len() - wrong.len() {
        judged();
    }
    for (&i, v) in wrong.iter().zip(solved) {
        out[i] = v;
    }
    Ok(out)
}

fn judge_move(solver: &mut Solver, s: &C4State, action: usize) -> Result<Verdict> {
    let best = solver.solve_weak(s);
    let mut after = *s;
    Connect4.play(&mut after, action)?;
    let after = match Connect4.terminal_value(&after) {
        Some(v) => -(v as i32),
        None => -solver.solve_weak(&after),
    };
    Ok(Verdict { best, after })
}

/// One judged position of `eval --positions`.
#[derive(Clone, Debug, Serialize)]
pub struct PositionResult {
    pub position: String,
    /// The engine's move, 1-based.
    #[serde(rename = "move")]
    pub mv: usize,
    pub best: &'static str,
    pub after_move: &'static str,
    pub correct: bool,
}

/// The share of wrong moves over judged positions, with its 95% interval.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct ErrorRate {
    pub positions: usize,
    pub wrong: usize,
    pub error_rate: f64,
    pub error_rate_low: f64,
    pub error_rate_high: f64,
}

impl ErrorRate {
    /// `wrong` of `positions`, with the Wilson interval.
    pub fn new(wrong: usize, positions: usize) -> Self {
        let rate = wrong as f64 / positions.max(1) as f64;
        let (low, high) = wilson_interval(rate, positions);
        ErrorRate {
            positions,
            wrong,
            error_rate: rate,
            error_rate_low: low,
            error_rate_high: high,
        }
    }
}

/// Per-position results and the error rate of `moves` on `positions`.
pub fn score_moves(
    positions: &[String],
    moves: &[usize],
    verdicts: &[Verdict],
) -> (Vec<PositionResult>, ErrorRate) {
    let rows: Vec<PositionResult> = positions
        .iter()
        .zip(moves)
        .zip(verdicts)
        .map(|((pos, &action), v)| PositionResult {
            position: pos.clone(),
            mv: action + 1,
            best: outcome_name(v.best),
            after_move: outcome_name(v.after),
            correct: v.correct(),
        })
        .collect();
    let wrong = rows.iter().filter(|r| !r.correct).count();
    let summary = ErrorRate::new(wrong, rows.len());
    (rows, summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The file's good columns give the solver's verdict on every move of
    /// the first positions of the shipped validation file.
    #[test]
    fn known_good_columns_judge_as_the_solver_does() {
        let text = include_str!("../models/connect4/validation/moves-08-14.txt");
        let judged: Vec<JudgedPosition> = parse_judged_positions(text, "validation")
            .unwrap()
            .into_iter()
            .take(12)
            .collect();
        for column in 0..7 {
            let (positions, moves): (Vec<JudgedPosition>, Vec<usize>) = judged
                .iter()
                .filter(|p| Connect4.is_legal(&p.state, column))
                .map(|p| (p.clone(), column))
                .unzip();
            let states: Vec<C4State> = positions.iter().map(|p| p.state).collect();
            let known = judge_known_moves(&positions, &moves, &|| {}).unwrap();
            let solved = judge_moves(&states, &moves, &|| {}).unwrap();
            for (k, s) in known.iter().zip(&solved) {
                assert_eq!(k.correct(), s.correct());
                assert_eq!(k.best.signum(), s.best.signum());
                assert_eq!(k.after.signum(), s.after.signum());
            }
        }
    }
}
