//! `wgzero curve`: the learning-curve benchmark. Trains runs from scratch
//! for a fixed budget (one per settings file) and/or takes existing runs,
//! measures checkpoints spread over each run's compute (Connect Four: move
//! errors on a validation file; Go: the score of a match against a fixed
//! opponent such as GNU Go), and writes JSON and SVG charts.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use anyhow::{bail, Context, Result};
use clap::Args;

use super::train::parse_count;
use super::{interrupt_flag, AveragingArgs, DeviceArgs};
use wgzero::config::{training_defaults_for, ConfigFile};
use wgzero::curve::{
    measure_run, measure_run_by_games, validate, write_match_report, write_report, Budget, Curve,
    CurveReport, MatchBudget, MatchCurveReport, Reference, ValidationSet,
};
use wgzero::game::{Connect4, Game, Go};
use wgzero::net::{ModelSource, Precision, Selected};
use wgzero::positions::ErrorRate;
use wgzero::train::run::{self as train_run, RunOptions};

/// The game a curve is measured on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CurveGame {
    /// Move errors on solver-judged positions.
    Connect4,
    /// The score of a match against `--against` (e.g. GNU Go).
    Go,
}

#[derive(Args)]
pub struct CurveArgs {
    /// connect4 (move errors on the validation file) or go (the score of a
    /// match against --against at every point).
    #[arg(long, value_enum, default_value = "connect4")]
    game: CurveGame,
    /// Go: board size.
    #[arg(long, default_value_t = 9)]
    size: usize,
    /// Go: komi.
    #[arg(long, default_value_t = 7.5, allow_negative_numbers = true)]
    komi: f32,
    /// Go: the fixed opponent of every point, as `eval --against` reads it,
    /// e.g. "gtp:gnugo --mode gtp --level 1 --chinese-rules --capture-all-dead".
    #[arg(long)]
    against: Option<String>,
    /// Go: games a point, half with each colour.
    #[arg(long, default_value_t = 40)]
    games: usize,
    /// Go: random moves opening each pair of games.
    #[arg(long, default_value_t = 2)]
    opening_moves: usize,
    /// Go: seed of the openings (the same games at every point).
    #[arg(long, default_value_t = 7)]
    openings_seed: u64,
    /// Folder for the report (curve.json, curve-evaluations.svg,
    /// curve-time.svg) and the runs trained here (OUT/runs/NAME).
    #[arg(long)]
    out: PathBuf,
    /// Train a run from scratch with this settings file (over `wgzero
    /// train`'s defaults for the game); repeat to compare settings side by
    /// side.
    /// Each run is named after its file and resumes when the command is run
    /// again.
    #[arg(long)]
    config: Vec<PathBuf>,
    /// Also measure an existing run folder (repeatable).
    #[arg(long)]
    run: Vec<PathBuf>,
    /// Budget of each trained run: self-play network evaluations (e.g. 5e6).
    #[arg(long, value_parser = parse_count)]
    evaluations: Option<u64>,
    /// Budget of each trained run: minutes of this command.
    #[arg(long)]
    minutes: Option<f64>,
    /// Seed of the trained runs (their weights and games), over the files' `run.seed`.
    #[arg(long)]
    seed: Option<u64>,
    /// Solver-judged positions (`wgzero gen-positions`) [default:
    /// models/connect4/validation/moves-08-14.txt, built into the binary];
    /// keep the test files for a final measurement.
    #[arg(long)]
    validation: Option<PathBuf>,
    /// Positions of the validation file measured (its first N).
    #[arg(long, default_value_t = 500)]
    positions: usize,
    /// Simulations per position (PUCT, as `wgzero eval`).
    #[arg(long, default_value_t = 400)]
    sims: u32,
    #[command(flatten)]
    averaging: AveragingArgs,
    /// Checkpoints measured per run, evenly spread over its evaluations.
    #[arg(long, default_value_t = 8)]
    points: usize,
    /// A network shown as a point at the compute it cost:
    /// `LABEL=EVALUATIONS,HOURS,MODEL` (MODEL: a model or run folder), e.g.
    /// an earlier run's checkpoint.
    #[arg(long)]
    reference: Vec<String>,
    #[command(flatten)]
    device: DeviceArgs,
}

impl CurveArgs {
    fn check(&self) -> Result<()> {
        if self.config.is_empty() && self.run.is_empty() && self.reference.is_empty() {
            bail!("give --config FILE (train a run), --run DIR (measure one) or --reference");
        }
        if !self.config.is_empty() && self.evaluations.is_none() && self.minutes.is_none() {
            bail!("--config needs a budget: --evaluations N or --minutes M");
        }
        if let Some(m) = self.minutes {
            if !(m.is_finite() && m > 0.0) {
                bail!("--minutes must be a positive number");
            }
        }
        if self.sims == 0 || self.points == 0 {
            bail!("--sims and --points must be at least 1");
        }
        match (self.game, &self.against) {
            (CurveGame::Go, None) => bail!(
                "--game go measures matches: give --against OPPONENT, e.g. \
                 \"gtp:gnugo --mode gtp --level 1 --chinese-rules --capture-all-dead\""
            ),
            (CurveGame::Go, Some(_)) if !self.reference.is_empty() => {
                bail!("--reference is for Connect Four curves; measure Go runs with --run")
            }
            (CurveGame::Go, Some(_)) if self.games == 0 => bail!("--games must be at least 1"),
            (CurveGame::Connect4, Some(_)) => {
                bail!("--against is for --game go (Connect Four curves count move errors)")
            }
            _ => {}
        }
        Ok(())
    }

    fn budget(&self) -> Budget {
        Budget {
            simulations: self.sims,
            symmetries: self.averaging.symmetries,
            ..Budget::default()
        }
    }
}

pub fn curve(args: &CurveArgs) -> Result<()> {
    args.check()?;
    if args.game == CurveGame::Go {
        return curve_go(args);
    }
    let set = ValidationSet::load(args.validation.as_deref(), Some(args.positions))
        .context("reading the validation positions")?;
    let references = args
        .reference
        .iter()
        .map(|r| parse_reference(r))
        .collect::<Result<Vec<_>>>()?;
    let selected = args.device.select()?;
    eprintln!(
        "device: {} ({}); {} validation positions from {}, {} simulations",
        selected.report.chosen,
        selected.report.reason,
        set.positions.len(),
        set.path.display(),
        args.sims
    );
    let budget = args.budget();
    let mut curves = Vec::new();
    for config in &args.config {
        let (name, run) = train_config(&Connect4, args, config, &selected)?;
        curves.push(measure(args, &run, &name, &set, &budget, &selected)?);
    }
    for run in &args.run {
        let name = run
            .file_name()
            .map_or("run".into(), |n| n.to_string_lossy().into_owned());
        curves.push(measure(args, run, &name, &set, &budget, &selected)?);
    }
    let mut measured = Vec::new();
    for (label, evaluations, hours, model) in references {
        let source = ModelSource::at(&model)?;
        let bar = super::counting_bar(set.positions.len(), "positions searched");
        let v = validate(&source, &set, &budget, &selected, &mut |n| {
            bar.set_position(n as u64)
        })?;
        bar.finish_and_clear();
        eprintln!(
            "{label}: {} wrong of {} ({:.1}%)",
            v.rate.wrong,
            v.rate.positions,
            100.0 * v.rate.error_rate
        );
        measured.push(Reference {
            label,
            evaluations,
            wall_seconds: hours * 3600.0,
            model,
            validation: v,
        });
    }
    let report = CurveReport {
        schema: 1,
        validation_file: set.path.clone(),
        validation_digest: set.digest.clone(),
        positions: set.positions.len(),
        budget,
        curves,
        references: measured,
    };
    write_report(&args.out, &report)?;
    print_report(&report);
    println!(
        "wrote {}/curve.json, curve-evaluations.svg and curve-time.svg",
        args.out.display()
    );
    Ok(())
}

/// The Go curve: each run's checkpoints play a match against the fixed
/// opponent.
fn curve_go(args: &CurveArgs) -> Result<()> {
    let game = Go::new(args.size, args.komi).context("--size / --komi")?;
    let budget = MatchBudget {
        against: args.against.clone().expect("checked"),
        games: args.games,
        simulations: args.sims,
        symmetries: args.averaging.symmetries,
        opening_moves: args.opening_moves,
        seed: args.openings_seed,
    };
    budget
        .against
        .parse::<wgzero::players::PlayerSpec>()
        .context("--against")?;
    let selected = args.device.select()?;
    eprintln!(
        "device: {} ({}); {} games a point against {}, {} simulations",
        selected.report.chosen,
        selected.report.reason,
        budget.games,
        budget.against,
        budget.simulations
    );
    let mut runs = Vec::new();
    for config in &args.config {
        runs.push(train_config(&game, args, config, &selected)?);
    }
    for run in &args.run {
        let name = run
            .file_name()
            .map_or("run".into(), |n| n.to_string_lossy().into_owned());
        runs.push((name, run.clone()));
    }
    let mut curves = Vec::new();
    for (name, run) in &runs {
        let bar = super::counting_bar(budget.games, "games played");
        let curve = measure_run_by_games(
            &game,
            run,
            name,
            &budget,
            args.points,
            &selected,
            &mut |n| bar.set_position(n as u64),
            &mut |line| bar.suspend(|| eprintln!("{line}")),
        )
        .with_context(|| format!("measuring {}", run.display()))?;
        bar.finish_and_clear();
        curves.push(curve);
    }
    let report = MatchCurveReport {
        schema: 1,
        game: game.name(),
        budget,
        curves,
    };
    write_match_report(&args.out, &report)?;
    for c in &report.curves {
        println!("{}:", c.label);
        for p in &c.points {
            let m = &p.result;
            println!(
                "  iteration {:>4}  {:>7.2} M evaluations  {:>6.1} min  {}-{}-{}  score {:.3} ({:.3}-{:.3})  Elo {:+.0} ({:+.0} to {:+.0})",
                p.iteration,
                p.evaluations as f64 / 1e6,
                p.wall_seconds / 60.0,
                m.wins,
                m.draws,
                m.losses,
                m.score,
                m.score_low,
                m.score_high,
                m.elo,
                m.elo_low,
                m.elo_high
            );
        }
    }
    println!(
        "wrote {}/curve.json, curve-evaluations.svg and curve-time.svg",
        args.out.display()
    );
    Ok(())
}

/// Trains (or resumes) the run of one settings file up to the budget.
fn train_config<G: Game + wgzero::players::Heuristic>(
    game: &G,
    args: &CurveArgs,
    config: &Path,
    selected: &Selected,
) -> Result<(String, PathBuf)> {
    let name = config
        .file_stem()
        .map_or("run".into(), |n| n.to_string_lossy().into_owned());
    let run = args.out.join("runs").join(&name);
    let mut cfg = ConfigFile::load_over(config, &training_defaults_for(&game.name()))?;
    if let Some(seed) = args.seed {
        cfg.run.seed = seed;
    }
    std::fs::create_dir_all(args.out.join("runs"))?;
    let interrupt = interrupt_flag();
    let opts = RunOptions {
        init: None,
        broker: None,
        iterations: None,
        evaluations: args.evaluations,
        minutes: args.minutes,
        interrupt,
        device: selected.clone(),
        precision: Precision::Auto,
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    eprintln!("{name}: training in {}", run.display());
    let summary = train_run::train(game, &run, &cfg, true, &opts, &mut |line| {
        eprintln!("{name}: {line}")
    })?;
    if interrupt.load(Ordering::SeqCst) {
        bail!(
            "stopped during {name} at iteration {}; run the same command to resume",
            summary.iteration
        );
    }
    Ok((name, run))
}

fn measure(
    args: &CurveArgs,
    run: &Path,
    name: &str,
    set: &ValidationSet,
    budget: &Budget,
    selected: &Selected,
) -> Result<Curve> {
    let bar = super::counting_bar(set.positions.len(), "positions searched");
    let curve = measure_run(
        run,
        name,
        set,
        budget,
        args.points,
        selected,
        &mut |n| bar.set_position(n as u64),
        &mut |line| bar.suspend(|| eprintln!("{line}")),
    )
    .with_context(|| format!("measuring {}", run.display()))?;
    bar.finish_and_clear();
    Ok(curve)
}

/// `LABEL=EVALUATIONS,HOURS,MODEL`.
fn parse_reference(text: &str) -> Result<(String, u64, f64, PathBuf)> {
    let usage = || format!("--reference {text:?}: expected LABEL=EVALUATIONS,HOURS,MODEL");
    let (label, rest) = text.split_once('=').with_context(usage)?;
    let mut parts = rest.splitn(3, ',');
    let (Some(e), Some(h), Some(m)) = (parts.next(), parts.next(), parts.next()) else {
        bail!(usage());
    };
    let evaluations = parse_count(e)
        .map_err(anyhow::Error::msg)
        .with_context(usage)?;
    let hours: f64 = h
        .trim()
        .parse()
        .ok()
        .filter(|h: &f64| h.is_finite() && *h >= 0.0)
        .with_context(usage)?;
    Ok((
        label.trim().to_string(),
        evaluations,
        hours,
        PathBuf::from(m.trim()),
    ))
}

fn print_report(report: &CurveReport) {
    for c in &report.curves {
        println!("{}:", c.label);
        for p in &c.points {
            println!(
                "  iteration {:>4}  {:>7.2} M evaluations  {:>6.1} min  {}",
                p.iteration,
                p.evaluations as f64 / 1e6,
                p.wall_seconds / 60.0,
                rate_text(&p.validation.rate)
            );
        }
    }
    for r in &report.references {
        println!(
            "{}: {:.2} M evaluations, {:.1} h: {}",
            r.label,
            r.evaluations as f64 / 1e6,
            r.wall_seconds / 3600.0,
            rate_text(&r.validation.rate)
        );
    }
}

/// `12.3% wrong (10.0-15.1%)`: the error rate and its 95% interval.
fn rate_text(r: &ErrorRate) -> String {
    format!(
        "{:>5.1}% wrong ({:.1}-{:.1}%)",
        100.0 * r.error_rate,
        100.0 * r.error_rate_low,
        100.0 * r.error_rate_high
    )
}
