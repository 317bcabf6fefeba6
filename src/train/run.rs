//! The closed training loop behind `wgzero train`: self-play with the best
//! network -> replay buffer -> training on the same device -> arena (the
//! candidate against the best, promoted above a threshold) -> repeat.
//!
//! A run folder ([`super::store`]) holds everything, and every write is
//! atomic, so a process killed at any moment leaves the last complete state,
//! which the next run of the same command resumes. Each iteration has three
//! steps ([`super::steps`]); `state.json` moves on after each, so an
//! interruption loses at most the unfinished step.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::buffers::{load_buffers, Buffers};
use super::plot;
use super::steps::{
    arena_step, clear_incoming, clear_stale, collect_step, self_play_step, train_step, Ingest,
    StepContext,
};
use super::store::{self, RunState, Step, OPTIMIZER_FILE};
use crate::config::ConfigFile;
use crate::error::{Error, Result};
use crate::game::{mix64, Game};
use crate::net::trainer::Trainer;
use crate::net::{ModelBytes, Precision, Selected};
use crate::players::Heuristic;
use crate::transport::{NetworkInfo, RunSettings, Transport};

/// How to run: stop conditions and the device.
pub struct RunOptions<'a> {
    /// Stop once the run has this many iterations.
    pub iterations: Option<u64>,
    /// Stop once the run's self-play has made this many network
    /// evaluations in all (checked between iterations).
    pub evaluations: Option<u64>,
    /// Stop (abandoning the current step) after this many minutes.
    pub minutes: Option<f64>,
    /// Set by Ctrl-C: abandon the current step and stop.
    pub interrupt: &'a AtomicBool,
    pub device: Selected,
    pub precision: Precision,
    /// Show progress bars.
    pub progress: bool,
    /// Start a new run from this network instead of random weights. On an
    /// existing run it must be the network that run started from (the same
    /// command resumes); any other is an error.
    pub init: Option<ModelBytes>,
    /// Take self-play games from workers through this transport instead of
    /// playing them, and publish promoted networks to it.
    pub broker: Option<RefCell<Broker>>,
}

/// The trainer's side of a distributed run.
pub struct Broker {
    pub transport: Box<dyn Transport>,
    /// Komi (Go), told to workers with the run's settings.
    pub komi: Option<f32>,
}

/// What a call to [`train`] did.
#[derive(Debug)]
pub struct RunSummary {
    /// The run's last complete iteration.
    pub iteration: u64,
    /// Iterations completed by this call (a resumed run started later).
    pub completed: u64,
    pub interrupted: bool,
    pub best: PathBuf,
}

/// Runs (or resumes) the training loop in the run folder `run`.
/// `requested` holds the settings; `explicit` says whether the user gave
/// any (they must then match a resumed run's).
pub fn train<G: Game + Heuristic>(
    game: &G,
    run: &Path,
    requested: &ConfigFile,
    explicit: bool,
    opts: &RunOptions<'_>,
    log: &mut dyn FnMut(&str),
) -> Result<RunSummary> {
    requested.run.validate()?;
    let _lock = store::lock_run(run)?;
    let cfg = store::settle_config(run, requested, explicit)?;
    cfg.run.validate()?;
    let started = Instant::now();
    let deadline = opts.minutes.map(|m| m * 60.0);
    let stop = || {
        opts.interrupt.load(Ordering::SeqCst)
            || deadline.is_some_and(|d| started.elapsed().as_secs_f64() >= d)
    };
    let ctx = StepContext {
        game,
        run,
        cfg: &cfg,
        device: &opts.device,
        precision: opts.precision,
        progress: opts.progress,
        stop: &stop,
    };
    let mut state = open_run(&ctx, opts.init.as_ref(), log)?;
    let first_iteration = state.iteration;
    let limits = Limits {
        iterations: opts.iterations,
        evaluations: opts.evaluations,
    };
    if let Some(b) = &opts.broker {
        announce(&ctx, &state, &mut b.borrow_mut(), log)?;
    }
    let interrupted = iterate(&ctx, &mut state, limits, opts.broker.as_ref(), log)?;
    Ok(RunSummary {
        iteration: state.iteration,
        completed: state.iteration - first_iteration,
        interrupted,
        best: run.join(&state.best),
    })
}

/// Resumes the run in the folder, or creates it (from `init` or random
/// weights). A resumed run must be of the game and, given `init`, have
/// started from that model.
pub fn open_run<G: Game>(
    ctx: &StepContext<'_, G>,
    init: Option<&ModelBytes>,
    log: &mut dyn FnMut(&str),
) -> Result<RunState> {
    let run = ctx.run;
    if !store::is_run(run) {
        let s = store::create_run(ctx.game, run, ctx.cfg, ctx.device, init)?;
        match init {
            Some(m) => log(&format!("new run in {} from {}", run.display(), m.label)),
            None => log(&format!("new run in {}", run.display())),
        }
        return Ok(s);
    }
    let s = store::load_state(run)?;
    // The command that started a run resumes it; another model is an error.
    if let Some(m) = init {
        if s.init_model.as_ref().map(|f| &f.model_id) != Some(&m.model_id()) {
            return Err(Error::Config(format!(
                "{} already holds a run that did not start from {}; --init-model only \
                 starts a new run (resume without it, or give a new --run folder)",
                run.display(),
                m.label
            )));
        }
    }
    let s = store::check_game(ctx.game, run, s)?;
    log(&format!(
        "resuming {} at iteration {} ({:?} next)",
        run.display(),
        s.iteration + 1,
        s.next
    ));
    Ok(s)
}

/// The trainer at the run's latest checkpoint: its weights, optimiser state
/// and step count.
pub fn open_trainer<G: Game>(ctx: &StepContext<'_, G>, state: &RunState) -> Result<Trainer<G>> {
    let latest = store::read_checkpoint(ctx.game, ctx.run, &state.latest)?;
    let mut trainer = Trainer::new(
        &latest.network(ctx.game, ctx.device)?,
        ctx.cfg.train.clone(),
    );
    if let Some(bytes) = latest.optimizer.clone() {
        trainer
            .load_optimizer(bytes)
            .map_err(|e| e.in_model(latest.dir.join(OPTIMIZER_FILE).display()))?;
    }
    trainer.set_steps(state.train_steps);
    Ok(trainer)
}

/// Where [`iterate`] stops on its own.
#[derive(Clone, Copy)]
struct Limits {
    iterations: Option<u64>,
    evaluations: Option<u64>,
}

impl Limits {
    /// Whether the run is at a limit (between iterations).
    fn reached(&self, state: &RunState, metrics: &[serde_json::Value]) -> bool {
        let next_iteration = state.next == Step::SelfPlay;
        self.iterations.is_some_and(|n| state.iteration >= n)
            || (next_iteration
                && self
                    .evaluations
                    .is_some_and(|n| total_evaluations(metrics) >= n))
    }
}

/// The self-play network evaluations of a run's completed iterations, from
/// its `metrics.jsonl` lines.
pub fn total_evaluations(metrics: &[serde_json::Value]) -> u64 {
    metrics.iter().map(network_evaluations).sum()
}

/// The network evaluations of one iteration's self-play (a metrics line):
/// the evaluations of rollout-bootstrap games (the first iteration of a
/// random network) are rollouts, not network evaluations, and do not count.
pub fn network_evaluations(line: &serde_json::Value) -> u64 {
    let Some(sp) = line.get("selfplay") else {
        return 0;
    };
    let field = |k: &str| sp.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
    let (evals, games, bootstrap) = (
        field("evaluations"),
        field("games"),
        field("bootstrap_games"),
    );
    if bootstrap == 0 || games == 0 {
        evals
    } else {
        evals * games.saturating_sub(bootstrap) / games
    }
}

/// A trainer with a broker, at start: puts the run's settings and its best
/// network (workers wait for both), and starts consuming games.
fn announce<G: Game>(
    ctx: &StepContext<'_, G>,
    state: &RunState,
    broker: &mut Broker,
    log: &mut dyn FnMut(&str),
) -> Result<()> {
    clear_stale(ctx.run, state);
    let t = broker.transport.as_mut();
    t.put_settings(&RunSettings {
        game: ctx.game.name(),
        komi: broker.komi,
        config_toml: ctx.cfg.to_toml(),
    })?;
    publish_best(ctx, state, t)?;
    t.open_games()?;
    log(&format!("taking games from {}", t.describe()));
    Ok(())
}

/// Puts the run's best network on the transport unless `best` already names it.
fn publish_best<G: Game>(
    ctx: &StepContext<'_, G>,
    state: &RunState,
    t: &mut dyn Transport,
) -> Result<()> {
    let best = store::read_checkpoint(ctx.game, ctx.run, &state.best)?;
    let model = best.model_bytes();
    // The id of the weights themselves (a random first network's
    // checkpoint names its seed instead).
    let info = NetworkInfo {
        model_id: model.model_id(),
        iteration: best.meta.iteration,
    };
    if t.best()?.as_ref() != Some(&info) {
        t.put_best(&info, &model)?;
    }
    Ok(())
}

/// [`publish_best`], retried while the broker is away (a promotion made
/// while it was down reaches the workers once it is back).
fn publish_until_done<G: Game>(
    ctx: &StepContext<'_, G>,
    state: &RunState,
    t: &mut dyn Transport,
    log: &mut dyn FnMut(&str),
) -> Result<()> {
    let mut warned = false;
    loop {
        match publish_best(ctx, state, t) {
            Ok(()) => return Ok(()),
            Err(Error::Transport(e)) => {
                if !warned {
                    log(&format!(
                        "warning: cannot publish the best network ({e}); retrying"
                    ));
                    warned = true;
                }
                if (ctx.stop)() {
                    return Err(Error::Interrupted);
                }
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Runs steps until the run reaches a limit or `ctx.stop` says so; whether
/// it was stopped.
fn iterate<G: Game + Heuristic>(
    ctx: &StepContext<'_, G>,
    state: &mut RunState,
    limits: Limits,
    broker: Option<&RefCell<Broker>>,
    log: &mut dyn FnMut(&str),
) -> Result<bool> {
    let mut ingest = match broker {
        Some(_) => Some(Ingest::load(ctx.game, ctx.run)?),
        None => None,
    };
    let mut metrics = store::read_metrics(ctx.run);
    let mut buffers = load_buffers(ctx.game, ctx.run, &ctx.cfg.run, state.iteration + 1)?;
    let mut trainer = open_trainer(ctx, state)?;
    let mut rng = ChaCha8Rng::seed_from_u64(mix64(ctx.cfg.run.seed ^ state.train_steps));
    loop {
        if limits.reached(state, &metrics) {
            return Ok(false);
        }
        if (ctx.stop)() {
            return Ok(true);
        }
        let it = state.iteration + 1;
        let result = match state.next {
            Step::SelfPlay => match (broker, ingest.as_mut()) {
                (Some(b), Some(ingest)) => {
                    let t = &mut b.borrow_mut().transport;
                    let need_training = buffers.train.is_empty();
                    publish_until_done(ctx, state, t.as_mut(), log).and_then(|()| {
                        collect_step(ctx, state, t.as_mut(), ingest, need_training, log)
                    })
                }
                // Games played here: anything a broker left half collected
                // for this iteration is superseded.
                _ => self_play_step(ctx, state, log).inspect(|_| clear_incoming(ctx.run)),
            }
            .and_then(|out| add_games(&mut buffers, &out.games, ctx)),
            Step::Train => train_step(ctx, state, &mut trainer, &buffers, &mut rng, log).map(drop),
            Step::Arena => arena_step(ctx, state, &mut metrics, log).map(drop),
        };
        match result {
            Ok(()) => {}
            Err(Error::Interrupted) => {
                log(&format!(
                    "stopped during iteration {it} ({:?}); the last complete state is kept",
                    state.next
                ));
                return Ok(true);
            }
            Err(e) => return Err(e),
        }
        if state.next == Step::SelfPlay {
            end_iteration(ctx, state, &metrics, log);
        }
    }
}

fn add_games<G: Game>(
    buffers: &mut Buffers<G>,
    games: &[crate::selfplay::records::GameRecord],
    ctx: &StepContext<'_, G>,
) -> Result<()> {
    games
        .iter()
        .try_for_each(|g| buffers.push_game(g, &ctx.cfg.run))
}

/// After an iteration: plots, and checkpoints and game files no longer
/// needed removed (as the run's retention settings say).
fn end_iteration<G: Game>(
    ctx: &StepContext<'_, G>,
    state: &RunState,
    metrics: &[serde_json::Value],
    log: &mut dyn FnMut(&str),
) {
    if let Err(e) = plot::write_plots(&ctx.run.join("plots"), metrics) {
        log(&format!("warning: plots not written: {e}"));
    }
    store::cleanup_checkpoints(ctx.run, state, &ctx.cfg.run);
    if ctx.cfg.run.prune_games {
        if let Some(oldest) = store::oldest_needed_games(metrics, &ctx.cfg.run) {
            store::prune_games(ctx.run, oldest);
        }
    }
}
