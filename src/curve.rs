//! The learning-curve benchmark (`wgzero curve`): how strong a training run
//! gets for the compute it spends. Strength is the share of wrong moves on a
//! fixed file of solver-judged Connect Four positions (a validation file,
//! kept apart from the test files in `models/connect4/tests/`); compute is
//! the run's cumulative self-play network evaluations and the wall time of
//! its loop phases (self-play, training, arena and baseline games; the
//! measuring itself is not counted).
//!
//! A run keeps every promoted checkpoint, and an ungated run promotes every
//! one, so a curve is measured after (or while) a run trains: up to
//! `points` checkpoints spread evenly over the run's evaluations, each
//! searched at the play budget. Each measurement is saved in the run folder
//! (`validation/iter-NNNNNN.json`, keyed by the file's digest and the
//! budget), so measuring a longer run again only measures what is new, and a
//! measured point stays on the curve after its checkpoint is deleted (a run
//! folder copied or committed without its old checkpoints).

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::arena::{play_match, search_many, Contestant, MatchConfig};
use crate::error::{Error, Result};
use crate::eval::SymmetryAverage;
use crate::files::write_atomic;
use crate::game::{Connect4, Game};
use crate::mcts::SearchConfig;
use crate::net::{ModelSource, Precision, Selected};
use crate::players::{Heuristic, PlayerSpec};
use crate::positions::{parse_judged_positions, read_judged_positions, ErrorRate, JudgedPosition};

/// The Connect Four validation file, built into the binary.
pub const BUILTIN_VALIDATION: &str = "models/connect4/validation/moves-08-14.txt";
const BUILTIN_TEXT: &str = include_str!("../models/connect4/validation/moves-08-14.txt");
use crate::train::store;

/// A validation file's positions (its first `limit`, when given).
pub struct ValidationSet {
    pub path: PathBuf,
    pub positions: Vec<JudgedPosition>,
    /// Digest of the positions measured (their lines), so saved
    /// measurements are reused only for the same positions.
    pub digest: String,
}

impl ValidationSet {
    /// Reads a positions file written by `wgzero gen-positions`.
    /// `None`: the built-in validation file ([`BUILTIN_VALIDATION`]).
    pub fn load(path: Option<&Path>, limit: Option<usize>) -> Result<Self> {
        let mut positions = match path {
            Some(p) => read_judged_positions(p).map_err(|e| e.in_model(p.display()))?,
            None => parse_judged_positions(BUILTIN_TEXT, BUILTIN_VALIDATION)?,
        };
        let path = path.unwrap_or(Path::new(BUILTIN_VALIDATION));
        if let Some(n) = limit {
            if n == 0 {
                return Err(Error::Config(
                    "the validation limit must be at least 1".into(),
                ));
            }
            positions.truncate(n);
        }
        let text: String = positions
            .iter()
            .map(|p| format!("{} {:?}\n", p.moves, p.good))
            .collect();
        let digest = format!(
            "{:016x}",
            crate::game::mix64(crate::files::fnv1a(text.as_bytes()))
        );
        Ok(ValidationSet {
            path: path.to_path_buf(),
            positions,
            digest,
        })
    }
}

/// How a network is searched on each position: the play budget.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// PUCT simulations per position. Default: 400 (as `wgzero eval`).
    pub simulations: u32,
    /// Board symmetries the network's outputs are averaged over. Default: 2
    /// (the position and its mirror image).
    pub symmetries: usize,
    /// Leaves per gather. Default: 8.
    pub leaves: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            simulations: 400,
            symmetries: 2,
            leaves: 8,
        }
    }
}

/// The error rate of one network on a validation set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    /// Wrong moves of the positions, with the 95% Wilson interval.
    #[serde(flatten)]
    pub rate: ErrorRate,
    pub budget: Budget,
    /// The validation set's digest.
    pub digest: String,
    /// Seconds of searching.
    pub seconds: f64,
    /// Indices (in the set) of the positions answered wrongly, for paired
    /// comparisons of two networks on the same positions.
    #[serde(default)]
    pub wrong_at: Vec<usize>,
}

/// Searches every position with the network of `source` and counts the
/// moves that lose the position's best outcome.
pub fn validate(
    source: &ModelSource,
    set: &ValidationSet,
    budget: &Budget,
    selected: &Selected,
    progress: &mut dyn FnMut(usize),
) -> Result<Validation> {
    let t = Instant::now();
    let opened = source.evaluator(&Connect4, selected, Precision::F32)?;
    let mut eval = SymmetryAverage::new(Connect4, opened.eval, budget.symmetries)?;
    let search = SearchConfig {
        simulations: budget.simulations,
        leaves_per_gather: budget.leaves,
        ..SearchConfig::default()
    };
    let states: Vec<_> = set.positions.iter().map(|p| p.state).collect();
    let results = search_many(&Connect4, &states, &search, &mut eval, 0, progress)?;
    let wrong_at: Vec<usize> = results
        .iter()
        .zip(&set.positions)
        .enumerate()
        .filter(|(_, (r, p))| !p.good.contains(&r.action))
        .map(|(i, _)| i)
        .collect();
    Ok(Validation {
        rate: ErrorRate::new(wrong_at.len(), set.positions.len()),
        budget: budget.clone(),
        digest: set.digest.clone(),
        seconds: t.elapsed().as_secs_f64(),
        wrong_at,
    })
}

/// One point of a curve: a checkpoint, the compute spent to reach it, and
/// its error rate.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CurvePoint {
    pub iteration: u64,
    pub checkpoint: String,
    /// Self-play network evaluations of iterations 1..=iteration.
    pub evaluations: u64,
    /// Seconds of the loop's phases in iterations 1..=iteration.
    pub wall_seconds: f64,
    pub validation: Validation,
}

/// A run's learning curve.
#[derive(Clone, Debug, Serialize)]
pub struct Curve {
    pub label: String,
    pub run: PathBuf,
    pub points: Vec<CurvePoint>,
}

/// Compute spent by iteration: `(iteration, evaluations, wall seconds)`,
/// cumulative, from a run's metrics lines.
pub fn run_compute(metrics: &[serde_json::Value]) -> Vec<(u64, u64, f64)> {
    let secs = |m: &serde_json::Value, path: &[&str]| {
        path.iter()
            .try_fold(m, |v, k| v.get(*k))
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0)
    };
    let (mut evals, mut wall) = (0u64, 0f64);
    metrics
        .iter()
        .filter_map(|m| {
            let it = m.get("iteration")?.as_u64()?;
            evals += crate::train::run::network_evaluations(m);
            wall += secs(m, &["selfplay", "seconds"])
                + secs(m, &["train", "seconds"])
                + secs(m, &["arena", "seconds"])
                + secs(m, &["baseline_seconds"]);
            Some((it, evals, wall))
        })
        .collect()
}

/// The checkpoints to measure: of the completed iterations in `measurable`
/// ([`measurable_iterations`]), the first at or past each of `points` evenly
/// spaced shares of the run's evaluations (the last one always among them).
pub fn pick_checkpoints(
    compute: &[(u64, u64, f64)],
    measurable: &[u64],
    points: usize,
) -> Vec<usize> {
    let candidates: Vec<usize> = (0..compute.len())
        .filter(|&i| measurable.contains(&compute[i].0))
        .collect();
    let Some(&last) = candidates.last() else {
        return Vec::new();
    };
    let total = compute[last].1 as f64;
    let mut picked: Vec<usize> = (1..=points.max(1))
        .filter_map(|k| {
            let target = total * k as f64 / points.max(1) as f64;
            candidates
                .iter()
                .copied()
                .find(|&i| compute[i].1 as f64 >= target * (1.0 - 1e-9))
        })
        .collect();
    picked.dedup();
    picked
}

/// The iterations named `iter-N` (a file's extension ignored) in `dir`.
fn iterations_in(dir: &Path) -> Vec<u64> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".json").unwrap_or(&name);
            stem.strip_prefix("iter-")?.parse().ok()
        })
        .collect()
}

/// The iterations a curve can show: those whose checkpoint the run keeps,
/// and those measured before on this set and budget (a saved measurement
/// outlives a checkpoint that was pruned or not copied with the run).
pub fn measurable_iterations(run: &Path, set: &ValidationSet, budget: &Budget) -> Vec<u64> {
    measurable(run, VALIDATION_DIR, |it| {
        saved_measurement(run, &checkpoint_path(it), set, budget)
            .1
            .is_some()
    })
}

/// The iterations whose checkpoint the run keeps, and those with a saved
/// measurement in `run/<folder>` that `saved_for` accepts.
fn measurable(run: &Path, folder: &str, saved_for: impl Fn(u64) -> bool) -> Vec<u64> {
    let mut its = iterations_in(&run.join("checkpoints"));
    its.extend(
        iterations_in(&run.join(folder))
            .into_iter()
            .filter(|&it| saved_for(it)),
    );
    its.sort_unstable();
    its.dedup();
    its
}

/// Where measurements of the Connect Four curve are saved in a run.
const VALIDATION_DIR: &str = "validation";
/// Where the matches of the Go curve are saved in a run.
const STRENGTH_DIR: &str = "strength";

/// A run's compute by iteration: `(iteration, evaluations, wall seconds)`.
type Compute = Vec<(u64, u64, f64)>;

/// The compute of the run in `run` by iteration ([`run_compute`]) and the
/// indices of the up to `points` iterations of `measurable` to measure
/// ([`pick_checkpoints`]).
fn planned_points(run: &Path, measurable: &[u64], points: usize) -> Result<(Compute, Vec<usize>)> {
    if !store::is_run(run) {
        return Err(Error::Config(format!("{} holds no run", run.display())));
    }
    let compute = run_compute(&store::read_metrics(run));
    let picked = pick_checkpoints(&compute, measurable, points);
    Ok((compute, picked))
}

/// A checkpoint's file of saved measurements in `run/<folder>`.
fn saved_file(run: &Path, folder: &str, checkpoint: &str) -> PathBuf {
    let name = checkpoint.trim_start_matches("checkpoints/");
    run.join(folder).join(format!("{name}.json"))
}

/// The measurements saved in `file`, and the first one `wanted` accepts.
fn read_saved<T: serde::de::DeserializeOwned + Clone>(
    file: &Path,
    wanted: impl Fn(&T) -> bool,
) -> (Vec<T>, Option<T>) {
    let saved: Vec<T> = std::fs::read_to_string(file)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let found = saved.iter().find(|m| wanted(m)).cloned();
    (saved, found)
}

/// The saved measurement in `file` that `wanted` accepts, or a new one from
/// `measure`, saved beside the others.
fn saved_or_measured<T: Serialize + serde::de::DeserializeOwned + Clone>(
    file: &Path,
    wanted: impl Fn(&T) -> bool,
    measure: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let (mut all, found) = read_saved(file, wanted);
    if let Some(m) = found {
        return Ok(m);
    }
    let m = measure()?;
    all.push(m.clone());
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_string_pretty(&all).map_err(|e| Error::Config(e.to_string()))?;
    write_atomic(file, text.as_bytes())?;
    Ok(m)
}

/// A checkpoint's path in its run folder.
fn checkpoint_path(iteration: u64) -> String {
    format!("checkpoints/{}", store::checkpoint_name(iteration))
}

/// Measures (or reads the saved measurement of) up to `points` checkpoints
/// of the run in `run`; `progress` hears the positions searched so far of
/// the checkpoint being measured, `log` one line per point.
#[allow(clippy::too_many_arguments)]
pub fn measure_run(
    run: &Path,
    label: &str,
    set: &ValidationSet,
    budget: &Budget,
    points: usize,
    selected: &Selected,
    progress: &mut dyn FnMut(usize),
    log: &mut dyn FnMut(&str),
) -> Result<Curve> {
    let (compute, picked) = planned_points(run, &measurable_iterations(run, set, budget), points)?;
    let mut out = Vec::new();
    for i in picked {
        let (iteration, evaluations, wall_seconds) = compute[i];
        let checkpoint = checkpoint_path(iteration);
        let validation = measured(run, &checkpoint, set, budget, selected, progress)?;
        log(&format!(
            "{label}: iteration {iteration}, {:.2} M evaluations, {:.1} min: {} wrong of {} ({:.1}%)",
            evaluations as f64 / 1e6,
            wall_seconds / 60.0,
            validation.rate.wrong,
            validation.rate.positions,
            100.0 * validation.rate.error_rate
        ));
        out.push(CurvePoint {
            iteration,
            checkpoint,
            evaluations,
            wall_seconds,
            validation,
        });
    }
    Ok(Curve {
        label: label.to_string(),
        run: run.to_path_buf(),
        points: out,
    })
}

/// The saved measurement of a checkpoint on this set and budget, or a new one (saved).
fn measured(
    run: &Path,
    checkpoint: &str,
    set: &ValidationSet,
    budget: &Budget,
    selected: &Selected,
    progress: &mut dyn FnMut(usize),
) -> Result<Validation> {
    saved_or_measured(
        &measurement_file(run, checkpoint),
        |v| is_measurement_of(v, set, budget),
        || {
            let source = ModelSource::Folder(run.join(checkpoint));
            validate(&source, set, budget, selected, progress)
        },
    )
}

/// Where a checkpoint's measurements are saved.
fn measurement_file(run: &Path, checkpoint: &str) -> PathBuf {
    saved_file(run, VALIDATION_DIR, checkpoint)
}

/// Whether `v` measured this set at this budget (with its wrong positions).
fn is_measurement_of(v: &Validation, set: &ValidationSet, budget: &Budget) -> bool {
    v.digest == set.digest && &v.budget == budget && v.wrong_at.len() == v.rate.wrong
}

/// A checkpoint's saved measurements, and the one on this set and budget.
fn saved_measurement(
    run: &Path,
    checkpoint: &str,
    set: &ValidationSet,
    budget: &Budget,
) -> (Vec<Validation>, Option<Validation>) {
    read_saved(&measurement_file(run, checkpoint), |v| {
        is_measurement_of(v, set, budget)
    })
}

/// A network measured outside a run, placed on the chart at the compute it
/// cost (e.g. an earlier run's checkpoint).
#[derive(Clone, Debug, Serialize)]
pub struct Reference {
    pub label: String,
    pub evaluations: u64,
    pub wall_seconds: f64,
    pub model: PathBuf,
    pub validation: Validation,
}

/// The report: every curve and reference on one validation set.
#[derive(Clone, Debug, Serialize)]
pub struct CurveReport {
    pub schema: u32,
    pub validation_file: PathBuf,
    pub validation_digest: String,
    pub positions: usize,
    pub budget: Budget,
    pub curves: Vec<Curve>,
    pub references: Vec<Reference>,
}

/// A chart's x coordinate from a point's evaluations and wall seconds.
type Axis = fn(u64, f64) -> f64;

/// Writes `report` as `curve.json` and its two charts, `curve-evaluations.svg`
/// (against millions of self-play evaluations) and `curve-time.svg`
/// (against hours of the loop's wall time), into `dir`; `series` gives the
/// lines for an x axis.
fn write_curve_files(
    dir: &Path,
    report: &impl Serialize,
    title: &str,
    y_label: &str,
    y_range: Option<(f64, f64)>,
    series: impl Fn(Axis) -> Vec<(String, Vec<(f64, f64)>)>,
) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_string_pretty(report).map_err(|e| Error::Config(e.to_string()))?;
    write_atomic(&dir.join("curve.json"), json.as_bytes())?;
    let axes: [(&str, &str, Axis); 2] = [
        (
            "curve-evaluations.svg",
            "self-play evaluations (millions)",
            |e, _| e as f64 / 1e6,
        ),
        ("curve-time.svg", "wall time of the loop (hours)", |_, s| {
            s / 3600.0
        }),
    ];
    for (file, x_label, x) in axes {
        crate::train::plot::chart(&dir.join(file), title, x_label, y_label, series(x), y_range)?;
    }
    Ok(())
}

/// Writes `curve.json`, `curve-evaluations.svg` (error rate against
/// millions of self-play evaluations) and `curve-time.svg` (against hours
/// of wall time) into `dir`.
pub fn write_report(dir: &Path, report: &CurveReport) -> Result<()> {
    let title = format!(
        "Move errors on {} validation positions ({} simulations)",
        report.positions, report.budget.simulations
    );
    write_curve_files(dir, report, &title, "wrong moves (%)", None, |x| {
        let mut series: Vec<(String, Vec<(f64, f64)>)> = report
            .curves
            .iter()
            .map(|c| {
                let pts = c
                    .points
                    .iter()
                    .map(|p| {
                        (
                            x(p.evaluations, p.wall_seconds),
                            100.0 * p.validation.rate.error_rate,
                        )
                    })
                    .collect();
                (c.label.clone(), pts)
            })
            .collect();
        series.extend(report.references.iter().map(|r| {
            (
                r.label.clone(),
                vec![(
                    x(r.evaluations, r.wall_seconds),
                    100.0 * r.validation.rate.error_rate,
                )],
            )
        }));
        series
    })
}

/// How a checkpoint is measured by games (Go, any board game): a match
/// against a fixed opponent at the play budget.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MatchBudget {
    /// The opponent, as `wgzero eval --against` reads it (e.g.
    /// `gtp:gnugo --mode gtp --level 1 --chinese-rules --capture-all-dead`).
    pub against: String,
    /// Games per checkpoint, half with each colour.
    pub games: usize,
    /// PUCT simulations per move.
    pub simulations: u32,
    /// Board symmetries the network's outputs are averaged over.
    pub symmetries: usize,
    /// Random moves opening each pair of games.
    pub opening_moves: usize,
    /// Seed of the openings: the same games are asked of every checkpoint.
    pub seed: u64,
}

/// A checkpoint's match against the curve's opponent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MatchMeasurement {
    pub budget: MatchBudget,
    pub wins: usize,
    pub draws: usize,
    pub losses: usize,
    /// (wins + draws / 2) / games.
    pub score: f64,
    /// The score's 95% Wilson interval.
    pub score_low: f64,
    pub score_high: f64,
    /// Elo over the opponent and its 95% interval.
    pub elo: f64,
    pub elo_low: f64,
    pub elo_high: f64,
    /// Seconds of playing.
    pub seconds: f64,
}

/// Plays `budget.games` games between the network of `source` and the
/// opponent; `progress` hears the games finished.
pub fn play_checkpoint<G: Game + Heuristic>(
    game: &G,
    source: &ModelSource,
    budget: &MatchBudget,
    selected: &Selected,
    progress: &mut dyn FnMut(usize),
) -> Result<MatchMeasurement> {
    let t = Instant::now();
    let spec: PlayerSpec = budget.against.parse()?;
    let opened = source.evaluator(game, selected, Precision::F32)?;
    let mut eval = SymmetryAverage::new(game.clone(), opened.eval, budget.symmetries)?;
    let a = Contestant::Search {
        name: source.label(),
        search: SearchConfig {
            simulations: budget.simulations,
            ..SearchConfig::default()
        },
        eval: &mut eval,
    };
    let outside = matches!(spec, PlayerSpec::Gtp(_) | PlayerSpec::Pbrain(..));
    let cfg = MatchConfig {
        games: budget.games,
        opening_moves: budget.opening_moves,
        openings: Vec::new(),
        concurrency: if outside { 8 } else { 256 }.min(budget.games.max(1)),
        seed: budget.seed,
    };
    let r = play_match(
        game,
        a,
        Contestant::Baseline(spec),
        &cfg,
        &mut |done, _| progress(done),
        &|| false,
    )?;
    let score = r.score();
    let (score_low, score_high) = crate::arena::wilson_interval(score, r.games);
    let elo = r.elo();
    Ok(MatchMeasurement {
        budget: budget.clone(),
        wins: r.wins,
        draws: r.draws,
        losses: r.losses,
        score,
        score_low,
        score_high,
        elo: elo.elo,
        elo_low: elo.low,
        elo_high: elo.high,
        seconds: t.elapsed().as_secs_f64(),
    })
}

/// One point of a strength curve.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MatchPoint {
    pub iteration: u64,
    pub checkpoint: String,
    pub evaluations: u64,
    pub wall_seconds: f64,
    #[serde(rename = "match")]
    pub result: MatchMeasurement,
}

/// A run's strength curve.
#[derive(Clone, Debug, Serialize)]
pub struct MatchCurve {
    pub label: String,
    pub run: PathBuf,
    pub points: Vec<MatchPoint>,
}

/// Where a checkpoint's matches are saved (`strength/iter-N.json`).
fn match_file(run: &Path, checkpoint: &str) -> PathBuf {
    saved_file(run, STRENGTH_DIR, checkpoint)
}

/// Measures (or reads the saved match of) up to `points` checkpoints of
/// the run in `run`, spread over its evaluations as [`measure_run`] does;
/// each match is saved in the run folder (`strength/iter-N.json`), so a
/// point outlives its checkpoint and is not played twice.
#[allow(clippy::too_many_arguments)]
pub fn measure_run_by_games<G: Game + Heuristic>(
    game: &G,
    run: &Path,
    label: &str,
    budget: &MatchBudget,
    points: usize,
    selected: &Selected,
    progress: &mut dyn FnMut(usize),
    log: &mut dyn FnMut(&str),
) -> Result<MatchCurve> {
    let at_budget = |m: &MatchMeasurement| &m.budget == budget;
    let measurable = measurable(run, STRENGTH_DIR, |it| {
        read_saved(&match_file(run, &checkpoint_path(it)), at_budget)
            .1
            .is_some()
    });
    let (compute, picked) = planned_points(run, &measurable, points)?;
    let mut out = Vec::new();
    for i in picked {
        let (iteration, evaluations, wall_seconds) = compute[i];
        let checkpoint = checkpoint_path(iteration);
        let result = saved_or_measured(&match_file(run, &checkpoint), at_budget, || {
            let source = ModelSource::Folder(run.join(&checkpoint));
            play_checkpoint(game, &source, budget, selected, &mut *progress)
        })?;
        log(&format!(
            "{label}: iteration {iteration}, {:.2} M evaluations, {:.1} min: {}-{}-{} against {} (score {:.3}, Elo {:+.0}, {:+.0} to {:+.0})",
            evaluations as f64 / 1e6,
            wall_seconds / 60.0,
            result.wins,
            result.draws,
            result.losses,
            budget.against,
            result.score,
            result.elo,
            result.elo_low,
            result.elo_high
        ));
        out.push(MatchPoint {
            iteration,
            checkpoint,
            evaluations,
            wall_seconds,
            result,
        });
    }
    Ok(MatchCurve {
        label: label.to_string(),
        run: run.to_path_buf(),
        points: out,
    })
}

/// The strength report: every run's curve against one opponent.
#[derive(Clone, Debug, Serialize)]
pub struct MatchCurveReport {
    pub schema: u32,
    pub game: String,
    pub budget: MatchBudget,
    pub curves: Vec<MatchCurve>,
}

/// Writes `curve.json`, `curve-evaluations.svg` (score against the
/// opponent, in %, against millions of self-play evaluations) and
/// `curve-time.svg` (against hours of the loop's wall time) into `dir`.
pub fn write_match_report(dir: &Path, report: &MatchCurveReport) -> Result<()> {
    let title = format!(
        "{}: score against {} ({} games a point, {} simulations)",
        report.game, report.budget.against, report.budget.games, report.budget.simulations
    );
    write_curve_files(dir, report, &title, "score (%)", Some((0.0, 100.0)), |x| {
        report
            .curves
            .iter()
            .map(|c| {
                let pts = c
                    .points
                    .iter()
                    .map(|p| (x(p.evaluations, p.wall_seconds), 100.0 * p.result.score))
                    .collect();
                (c.label.clone(), pts)
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compute_accumulates_over_iterations() {
        let lines = vec![
            json!({"iteration": 1, "selfplay": {"evaluations": 100, "seconds": 2.0, "games": 4, "bootstrap_games": 0},
                   "train": {"seconds": 1.0}, "baseline_seconds": 0.5}),
            json!({"iteration": 2, "selfplay": {"evaluations": 50, "seconds": 1.0},
                   "train": {"seconds": 1.0}, "arena": {"seconds": 3.0}, "baseline_seconds": 0.0}),
        ];
        assert_eq!(run_compute(&lines), vec![(1, 100, 3.5), (2, 150, 8.5)]);
        // Rollout bootstrap games are not network evaluations.
        let boot = vec![
            json!({"iteration": 1, "selfplay": {"evaluations": 900, "seconds": 1.0,
                                "games": 4, "bootstrap_games": 3}}),
        ];
        assert_eq!(run_compute(&boot), vec![(1, 225, 1.0)]);
    }

    #[test]
    fn checkpoints_are_spread_over_the_evaluations() {
        let compute: Vec<(u64, u64, f64)> = (1..=10).map(|i| (i, i * 100, 0.0)).collect();
        let all: Vec<u64> = (0..=10).collect();
        // 4 points: the first iterations at or past 250, 500, 750 and 1000.
        assert_eq!(pick_checkpoints(&compute, &all, 4), vec![2, 4, 7, 9]);
        // Only some kept: the next kept one; the last always included.
        assert_eq!(pick_checkpoints(&compute, &[3, 8, 10], 4), vec![2, 7, 9]);
        // More points than iterations: each at most once.
        assert_eq!(pick_checkpoints(&compute, &all, 50).len(), 10);
        assert!(pick_checkpoints(&compute, &[], 4).is_empty());
    }

    #[test]
    fn saved_measurements_outlive_their_checkpoints() {
        let run = std::env::temp_dir().join(format!("wgzero-curve-kept-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&run);
        std::fs::create_dir_all(run.join("checkpoints/iter-000003")).unwrap();
        std::fs::create_dir_all(run.join("validation")).unwrap();
        let set = ValidationSet {
            path: PathBuf::from("v.txt"),
            positions: Vec::new(),
            digest: "d1".into(),
        };
        let budget = Budget::default();
        let measurement = |digest: &str| Validation {
            rate: ErrorRate::new(1, 10),
            budget: budget.clone(),
            digest: digest.into(),
            seconds: 1.0,
            wrong_at: vec![4],
        };
        let save = |it: u64, v: Validation| {
            let text = serde_json::to_string(&vec![v]).unwrap();
            std::fs::write(run.join(format!("validation/iter-{it:06}.json")), text).unwrap();
        };
        save(1, measurement("d1"));
        save(2, measurement("another set"));
        save(3, measurement("d1"));
        // 1: measured on this set, checkpoint gone; 2: another set's, and
        // no checkpoint to measure; 3: both.
        assert_eq!(measurable_iterations(&run, &set, &budget), vec![1, 3]);
        let other = Budget {
            simulations: 50,
            ..Budget::default()
        };
        assert_eq!(measurable_iterations(&run, &set, &other), vec![3]);
        let _ = std::fs::remove_dir_all(&run);
    }
}
