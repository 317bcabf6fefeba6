//! The closed training loop behind `wgzero train`: self-play with the best
//! network -> replay buffer -> training on the same device -> arena (the
//! candidate against the best, promoted above a threshold) -> repeat.
//!
//! A run folder holds everything, and every write is atomic (temporary file,
//! fsync, rename), so a process killed at any moment leaves the last complete
//! state, which the next run of the same command resumes:
//!
//! ```text
//! config.toml            effective settings (written once, checked on resume)
//! state.json             the last complete state: iteration, step, checkpoints
//! checkpoints/iter-N/    config.json + model.bpk (burnpack) + optimizer.bin + meta.json
//! games/iter-N.wgzr      the self-play games of iteration N (the replay buffer)
//! metrics.jsonl          one JSON line per finished iteration
//! plots/*.svg            losses, arena score, strength, throughput
//! ```
//!
//! Each iteration has three steps (self-play, training, arena); `state.json`
//! moves on after each, so an interruption loses at most the unfinished step.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{plot, ReplayBuffer};
use crate::arena::{play_match, Contestant, MatchConfig, MatchResult};
use crate::config::ConfigFile;
use crate::error::{Error, Result};
use crate::eval::Rollout;
use crate::game::{mix64, Game};
use crate::mcts::{Algorithm, SearchConfig};
use crate::net::network::write_atomic;
use crate::net::trainer::{StepStats, Trainer};
use crate::net::{NetConfig, NetEvaluator, Network, Precision, Selected};
use crate::players::{Heuristic, PlayerSpec};
use crate::selfplay::records::{read_records, write_records, GameRecord, RecordsHeader};
use crate::selfplay::{self as sp, SelfPlayReport};

/// Settings of the loop itself (self-play and optimiser settings live in
/// [`crate::selfplay::SelfPlayConfig`] and [`crate::net::trainer::TrainConfig`]; in a run,
/// `selfplay.games` is the number of games per iteration).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// Share of the first iteration's games played by rollout MCTS instead of
    /// the random network (their targets are better); none in a run started
    /// from a trained model (`--init-model`). Default: 1.0.
    pub bootstrap_share: f64,
    /// Simulations per move of the bootstrap games. Default: 200.
    pub bootstrap_simulations: u32,
    /// Replay window: the most recent positions trained on. Default: 60,000.
    pub replay_window: usize,
    /// Training steps per iteration: new positions x this / batch size.
    /// Default: 6.0.
    pub samples_per_position: f64,
    /// Bounds on the training steps of one iteration. Defaults: 10 and 400.
    pub min_steps: usize,
    pub max_steps: usize,
    /// Random board symmetries on training positions. Default: true.
    pub augment: bool,
    /// Learning rate by training step: `[[step, rate], ...]`, each rate used
    /// from its step on. Default: `[[0, 0.002], [4000, 0.001], [12000, 0.0003]]`.
    pub lr_schedule: Vec<(u64, f64)>,
    /// Value target = (1 - w) x the game's result + w x the search's root
    /// value, both for the side to move: the root value is a lower-variance
    /// target where the game's later moves were exploratory or weak. 0
    /// trains on game results alone (AlphaZero). Held-out value MSE is always
    /// against game results. Default: 0.
    pub value_search_weight: f64,
    /// Share of games held out of training, for held-out loss. Default: 0.05.
    pub held_out_share: f64,
    /// Held-out positions kept (most recent). Default: 4,096.
    pub held_out_positions: usize,
    /// Arena games, candidate against best, half with each colour. Default: 32.
    pub arena_games: usize,
    /// Simulations per move in the arena and against baselines (PUCT, no
    /// noise). Default: 32.
    pub arena_simulations: u32,
    /// Random moves opening each pair of arena games. Default: 2.
    pub arena_opening_moves: usize,
    /// The candidate is promoted when it scores above this. Default: 0.55.
    pub promote_threshold: f64,
    /// Baselines the best network plays after each iteration (strength curve).
    /// Default: `["random", "minimax:4"]`.
    pub baselines: Vec<String>,
    /// Games against each baseline. Default: 20.
    pub baseline_games: usize,
    /// Play the baselines every this many iterations (0: never). Default: 2.
    pub baseline_every: usize,
    /// Network shape; `None`: the game's default.
    pub net_blocks: Option<usize>,
    pub net_channels: Option<usize>,
    /// Value-head channels of a new network ([`NetConfig::value_channels`]);
    /// `None`: 1. `wgzero grow --value-channels` widens an existing run's.
    pub net_value_channels: Option<usize>,
    /// Seed of the initial weights and of the games. Default: 0.
    pub seed: u64,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            bootstrap_share: 1.0,
            bootstrap_simulations: 200,
            replay_window: 60_000,
            samples_per_position: 6.0,
            min_steps: 10,
            max_steps: 400,
            augment: true,
            lr_schedule: vec![(0, 0.002), (4000, 0.001), (12000, 0.0003)],
            value_search_weight: 0.0,
            held_out_share: 0.05,
            held_out_positions: 4096,
            arena_games: 32,
            arena_simulations: 32,
            arena_opening_moves: 2,
            promote_threshold: 0.55,
            baselines: vec!["random".into(), "minimax:4".into()],
            baseline_games: 20,
            baseline_every: 2,
            net_blocks: None,
            net_channels: None,
            net_value_channels: None,
            seed: 0,
        }
    }
}

impl RunConfig {
    /// The learning rate at training step `step`.
    pub fn learning_rate(&self, step: u64) -> f64 {
        self.lr_schedule
            .iter()
            .take_while(|(s, _)| *s <= step)
            .last()
            .or(self.lr_schedule.first())
            .map_or(1e-3, |&(_, lr)| lr)
    }

    fn validate(&self) -> Result<()> {
        let fail = |m: &str| Err(Error::Config(m.to_string()));
        if !(0.0..=1.0).contains(&self.bootstrap_share) {
            return fail("run.bootstrap_share must be in [0, 1]");
        }
        if !(0.0..=1.0).contains(&self.value_search_weight) {
            return fail("run.value_search_weight must be in [0, 1]");
        }
        if !(0.0..1.0).contains(&self.held_out_share) {
            return fail("run.held_out_share must be in [0, 1)");
        }
        if self.replay_window == 0 || self.min_steps > self.max_steps || self.max_steps == 0 {
            return fail(
                "run.replay_window and run.max_steps must be positive, min_steps <= max_steps",
            );
        }
        if self.lr_schedule.is_empty()
            || self
                .lr_schedule
                .iter()
                .any(|&(_, lr)| !(lr.is_finite() && lr > 0.0))
        {
            return fail("run.lr_schedule needs at least one [step, rate] with a positive rate");
        }
        if self.arena_games == 0 || self.arena_simulations == 0 {
            return fail("run.arena_games and run.arena_simulations must be at least 1");
        }
        if !(0.0..=1.0).contains(&self.promote_threshold) {
            return fail("run.promote_threshold must be in [0, 1]");
        }
        for b in &self.baselines {
            b.parse::<PlayerSpec>()?;
        }
        Ok(())
    }
}

/// The settings `wgzero train` starts from: Gumbel self-play with
/// playout-cap randomisation, 128 games per iteration.
pub fn training_defaults() -> ConfigFile {
    let mut cfg = ConfigFile::default();
    cfg.selfplay.games = 128;
    cfg.selfplay.simulations = 64;
    cfg.selfplay.full_search_prob = 0.4;
    cfg.selfplay.fast_simulations = 16;
    cfg.selfplay.batch = 128;
    cfg.selfplay.search.algorithm = Algorithm::Gumbel;
    cfg
}

/// Which step of an iteration comes next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    SelfPlay,
    Train,
    Arena,
}

/// `state.json`: the last complete state of a run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunState {
    pub game: String,
    /// Iterations fully done.
    pub iteration: u64,
    /// The next step of iteration `iteration + 1`.
    pub next: Step,
    /// Checkpoint folders, relative to the run folder.
    pub best: String,
    pub latest: String,
    pub train_steps: u64,
    pub promotions: u64,
    /// Metrics of the unfinished iteration's completed steps.
    #[serde(default)]
    pub pending: serde_json::Map<String, serde_json::Value>,
    /// The model the run started from (`wgzero train --init-model`); absent
    /// for a run that started from random weights. Such a run has no
    /// rollout bootstrap: its first games are the model's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_model: Option<InitFrom>,
}

/// Where a run started from `--init-model` came from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InitFrom {
    /// The model as given (folder, or the shipped model).
    pub label: String,
    /// Its [`crate::net::network::model_id`].
    pub model_id: String,
}

/// `meta.json` of a checkpoint.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckpointMeta {
    pub game: String,
    pub iteration: u64,
    pub train_steps: u64,
    pub promoted: bool,
    pub model_id: String,
}

pub const STATE_FILE: &str = "state.json";
pub const CONFIG_FILE: &str = "config.toml";
pub const METRICS_FILE: &str = "metrics.jsonl";
const OPTIMIZER_FILE: &str = "optimizer.bin";
const META_FILE: &str = "meta.json";

/// How to run: stop conditions and the device.
pub struct RunOptions<'a> {
    /// Stop once the run has this many iterations.
    pub iterations: Option<u64>,
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
    pub init: Option<InitModel>,
}

/// A trained network to start a new run from: its `config.json` and
/// `model.bpk`, and a label for logs and `state.json`.
#[derive(Clone, Debug)]
pub struct InitModel {
    pub label: String,
    pub config_json: String,
    pub weights: Vec<u8>,
}

impl InitModel {
    /// The id of its weights, as in checkpoint metadata.
    pub fn model_id(&self) -> String {
        crate::net::network::model_id(&self.weights)
    }
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

fn model_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Model(format!("{}: {e}", path.display()))
}

/// The run folder's checkpoint of the best network.
pub fn best_checkpoint(run: &Path) -> Result<PathBuf> {
    Ok(run.join(load_state(run)?.best))
}

fn load_state(run: &Path) -> Result<RunState> {
    let path = run.join(STATE_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| model_err(&path, e))?;
    serde_json::from_str(&text).map_err(|e| model_err(&path, format!("not a run state: {e}")))
}

fn save_state(run: &Path, state: &RunState) -> Result<()> {
    let json = serde_json::to_string_pretty(state).expect("state serialises");
    write_atomic(&run.join(STATE_FILE), json.as_bytes())
}

/// Writes a checkpoint folder atomically: files into a temporary folder, then
/// one rename.
fn save_checkpoint<G: Game>(
    run: &Path,
    name: &str,
    net: &Network<G>,
    optimizer: Option<&[u8]>,
    meta: &CheckpointMeta,
) -> Result<String> {
    let rel = format!("checkpoints/{name}");
    let dir = run.join(&rel);
    let tmp = run.join(format!("checkpoints/.{name}.tmp"));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    net.save(&tmp)?;
    if let Some(bytes) = optimizer {
        write_atomic(&tmp.join(OPTIMIZER_FILE), bytes)?;
    }
    let json = serde_json::to_string_pretty(meta).expect("meta serialises");
    write_atomic(&tmp.join(META_FILE), json.as_bytes())?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&tmp, &dir)?;
    if let Ok(d) = std::fs::File::open(run.join("checkpoints")) {
        let _ = d.sync_all();
    }
    Ok(rel)
}

/// A checkpoint's weights, config and metadata, checked against the game.
struct Checkpoint {
    config_json: String,
    weights: Vec<u8>,
    optimizer: Option<Vec<u8>>,
    meta: CheckpointMeta,
}

fn read_checkpoint<G: Game>(game: &G, dir: &Path) -> Result<Checkpoint> {
    let meta_path = dir.join(META_FILE);
    let meta: CheckpointMeta = serde_json::from_str(
        &std::fs::read_to_string(&meta_path).map_err(|e| model_err(&meta_path, e))?,
    )
    .map_err(|e| model_err(&meta_path, format!("not checkpoint metadata: {e}")))?;
    if meta.game != game.name() {
        return Err(model_err(
            dir,
            format!("a checkpoint of {}, not {}", meta.game, game.name()),
        ));
    }
    let cfg_path = dir.join(crate::net::network::CONFIG_FILE);
    let w_path = dir.join(crate::net::network::WEIGHTS_FILE);
    let opt_path = dir.join(OPTIMIZER_FILE);
    Ok(Checkpoint {
        config_json: std::fs::read_to_string(&cfg_path).map_err(|e| model_err(&cfg_path, e))?,
        weights: std::fs::read(&w_path).map_err(|e| model_err(&w_path, e))?,
        optimizer: std::fs::read(&opt_path).ok(),
        meta,
    })
}

impl Checkpoint {
    /// The network on `device` (checks config, shapes and weights).
    fn network<G: Game>(&self, game: &G, dir: &Path, selected: &Selected) -> Result<Network<G>> {
        Network::from_parts(
            game.clone(),
            &self.config_json,
            self.weights.clone(),
            selected.device.clone(),
            selected.is_wgpu,
        )
        .map_err(|e| e.in_model(dir.display()))
    }

    /// An evaluator running this checkpoint on a worker thread.
    fn evaluator<G: Game>(
        &self,
        game: &G,
        selected: &Selected,
        precision: Precision,
    ) -> Result<NetEvaluator> {
        let (game, json, weights) = (game.clone(), self.config_json.clone(), self.weights.clone());
        let (device, gpu, real) = (selected.device.clone(), selected.is_wgpu, selected.real_gpu);
        NetEvaluator::spawn(move || {
            Network::from_parts(game, &json, weights, device, gpu)?.with_precision(precision, real)
        })
    }
}

/// The effective settings of a run: the saved ones when resuming (a
/// different `requested` config is an error), else `requested`.
fn settle_config(run: &Path, requested: &ConfigFile, explicit: bool) -> Result<ConfigFile> {
    let path = run.join(CONFIG_FILE);
    if !run.join(STATE_FILE).exists() {
        return Ok(requested.clone());
    }
    let saved = ConfigFile::load_over(&path, &training_defaults())?;
    if explicit && saved.to_toml() != requested.to_toml() {
        return Err(Error::Config(format!(
            "{} holds different settings from the ones given; resume without --config and \
             settings flags, or start a new --run folder",
            path.display()
        )));
    }
    Ok(saved)
}

/// Creates a fresh run: settings, the initial network (random, or `init`),
/// state. The network is checked before anything is written, so a bad
/// `init` leaves no half-made run behind.
fn create_run<G: Game>(
    game: &G,
    run: &Path,
    cfg: &ConfigFile,
    selected: &Selected,
    init: Option<&InitModel>,
) -> Result<RunState> {
    let net = match init {
        Some(m) => {
            let net = Network::from_parts(
                game.clone(),
                &m.config_json,
                m.weights.clone(),
                selected.device.clone(),
                selected.is_wgpu,
            )
            .map_err(|e| e.in_model(&m.label))?;
            check_init_shape(net.config(), &cfg.run)?;
            net
        }
        None => {
            let mut net_cfg = NetConfig::for_game(game);
            net_cfg = net_cfg.clone().with_size(
                cfg.run.net_blocks.unwrap_or(net_cfg.blocks),
                cfg.run.net_channels.unwrap_or(net_cfg.channels),
            );
            net_cfg.value_channels = cfg.run.net_value_channels.unwrap_or(1);
            Network::random(
                game.clone(),
                net_cfg,
                selected.device.clone(),
                selected.is_wgpu,
                cfg.run.seed,
            )?
        }
    };
    std::fs::create_dir_all(run.join("checkpoints"))?;
    std::fs::create_dir_all(run.join("games"))?;
    write_atomic(&run.join(CONFIG_FILE), cfg.to_toml().as_bytes())?;
    let meta = CheckpointMeta {
        game: game.name(),
        iteration: 0,
        train_steps: 0,
        promoted: true,
        model_id: net.id().to_string(),
    };
    let rel = save_checkpoint(run, "iter-000000", &net, None, &meta)?;
    let state = RunState {
        game: game.name(),
        iteration: 0,
        next: Step::SelfPlay,
        best: rel.clone(),
        latest: rel,
        train_steps: 0,
        promotions: 0,
        pending: Default::default(),
        init_model: init.map(|m| InitFrom {
            label: m.label.clone(),
            model_id: net.id().to_string(),
        }),
    };
    save_state(run, &state)?;
    Ok(state)
}

/// With `--init-model` the model gives the network's shape: `[run] net_*`
/// settings may restate it but not contradict it.
fn check_init_shape(net: &NetConfig, cfg: &RunConfig) -> Result<()> {
    let given = [
        ("net_blocks", cfg.net_blocks, net.blocks),
        ("net_channels", cfg.net_channels, net.channels),
        (
            "net_value_channels",
            cfg.net_value_channels,
            net.value_channels,
        ),
    ];
    for (name, want, has) in given {
        if let Some(want) = want {
            if want != has {
                return Err(Error::Config(format!(
                    "run.{name} = {want}, but the --init-model network has {has}; leave \
                     run.{name} out (the model gives the shape)"
                )));
            }
        }
    }
    Ok(())
}

fn games_file(run: &Path, iteration: u64) -> PathBuf {
    run.join(format!("games/iter-{iteration:06}.wgzr"))
}

/// The replay buffer and held-out positions from the newest game files: files
/// are read newest first until both buffers are full, counting only the
/// positions they keep (full searches, split by game as in [`push_game`]), so
/// a resumed run has the same buffer as one that never stopped.
fn load_buffers<G: Game>(
    game: &G,
    run: &Path,
    cfg: &RunConfig,
    upto: u64,
) -> Result<(ReplayBuffer<G>, ReplayBuffer<G>)> {
    let mut train = ReplayBuffer::new(game.clone(), cfg.replay_window)
        .with_value_search_weight(cfg.value_search_weight as f32);
    let mut held = ReplayBuffer::new(game.clone(), cfg.held_out_positions);
    let mut files = Vec::new();
    let (mut train_kept, mut held_kept) = (0usize, 0usize);
    for it in (1..=upto).rev() {
        let path = games_file(run, it);
        if !path.exists() {
            continue;
        }
        let (header, games) = read_records(&path)?;
        check_header(game, &header, &path)?;
        for g in &games {
            if is_held_out(g.game_id, cfg) {
                held_kept += g.full_searches();
            } else {
                train_kept += g.full_searches();
            }
        }
        files.push(games);
        // The held-out set may fill slowly (a small share of games); stop
        // waiting for it once twice the window has been read.
        let train_full = train_kept >= cfg.replay_window;
        if train_full
            && (held_kept >= cfg.held_out_positions || train_kept >= 2 * cfg.replay_window)
        {
            break;
        }
    }
    for games in files.into_iter().rev() {
        for g in &games {
            push_game(&mut train, &mut held, g, cfg)?;
        }
    }
    Ok((train, held))
}

fn check_header<G: Game>(game: &G, h: &RecordsHeader, path: &Path) -> Result<()> {
    if h.game != game.name() || h.words != game.packed_words() || h.actions != game.num_actions() {
        return Err(Error::Parse {
            what: "game records",
            input: path.display().to_string(),
            reason: format!("records of {}, not {}", h.game, game.name()),
        });
    }
    Ok(())
}

fn is_held_out(game_id: u64, cfg: &RunConfig) -> bool {
    let u = (mix64(game_id ^ 0x4e1d) >> 11) as f64 / (1u64 << 53) as f64;
    u < cfg.held_out_share
}

fn push_game<G: Game>(
    train: &mut ReplayBuffer<G>,
    held: &mut ReplayBuffer<G>,
    g: &GameRecord,
    cfg: &RunConfig,
) -> Result<()> {
    if is_held_out(g.game_id, cfg) {
        held.push_game(g)
    } else {
        train.push_game(g)
    }
}

/// Peak and current resident memory in MB (Linux; 0 elsewhere).
pub fn memory_mb() -> (f64, f64) {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn bar(show: bool, len: u64, what: &str) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let b = indicatif::ProgressBar::new(len);
    b.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{prefix}} {{bar:30}} {{pos}}/{{len}} {what} {{msg}}"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    b
}

/// Share of positions whose hash was already seen among `games`' positions.
fn duplicate_share<G: Game>(game: &G, games: &[GameRecord]) -> f64 {
    let mut seen = std::collections::HashSet::new();
    let (mut total, mut dups) = (0usize, 0usize);
    for g in games {
        for p in &g.positions {
            if let Ok(s) = game.unpack(&p.packed) {
                total += 1;
                if !seen.insert(game.hash(&s)) {
                    dups += 1;
                }
            }
        }
    }
    if total == 0 {
        0.0
    } else {
        dups as f64 / total as f64
    }
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
    let cfg = settle_config(run, requested, explicit)?;
    cfg.run.validate()?;
    let started = Instant::now();
    let deadline = opts.minutes.map(|m| m * 60.0);
    let stop = || {
        opts.interrupt.load(Ordering::SeqCst)
            || deadline.is_some_and(|d| started.elapsed().as_secs_f64() >= d)
    };
    let mut state = if run.join(STATE_FILE).exists() {
        let s = load_state(run)?;
        // The command that started a run resumes it; another model is an error.
        if let Some(m) = &opts.init {
            if s.init_model.as_ref().map(|f| &f.model_id) != Some(&m.model_id()) {
                return Err(Error::Config(format!(
                    "{} already holds a run that did not start from {}; --init-model only \
                     starts a new run (resume without it, or give a new --run folder)",
                    run.display(),
                    m.label
                )));
            }
        }
        if s.game != game.name() {
            return Err(model_err(
                &run.join(STATE_FILE),
                format!("a run of {}, not {}", s.game, game.name()),
            ));
        }
        log(&format!(
            "resuming {} at iteration {} ({:?} next)",
            run.display(),
            s.iteration + 1,
            s.next
        ));
        s
    } else {
        let s = create_run(game, run, &cfg, &opts.device, opts.init.as_ref())?;
        match &opts.init {
            Some(m) => log(&format!("new run in {} from {}", run.display(), m.label)),
            None => log(&format!("new run in {}", run.display())),
        }
        s
    };
    let first_iteration = state.iteration;
    let mut metrics = read_metrics(run);
    let (mut buffer, mut held) = load_buffers(game, run, &cfg.run, state.iteration + 1)?;
    // The trainer continues from the latest checkpoint (weights + optimiser).
    let latest_dir = run.join(&state.latest);
    let latest = read_checkpoint(game, &latest_dir)?;
    let mut trainer = Trainer::new(
        &latest.network(game, &latest_dir, &opts.device)?,
        cfg.train.clone(),
    );
    if let Some(bytes) = latest.optimizer.clone() {
        trainer
            .load_optimizer(bytes)
            .map_err(|e| e.in_model(latest_dir.join(OPTIMIZER_FILE).display()))?;
    }
    trainer.set_steps(state.train_steps);
    let mut rng = ChaCha8Rng::seed_from_u64(mix64(cfg.run.seed ^ state.train_steps));
    let mut interrupted = false;
    loop {
        if opts.iterations.is_some_and(|n| state.iteration >= n) {
            break;
        }
        if stop() {
            interrupted = true;
            break;
        }
        let it = state.iteration + 1;
        let result = match state.next {
            Step::SelfPlay => self_play_step(game, run, &cfg, opts, &mut state, &stop, log)
                .and_then(|games| {
                    for g in &games {
                        push_game(&mut buffer, &mut held, g, &cfg.run)?;
                    }
                    Ok(())
                }),
            Step::Train => train_step(
                game,
                run,
                &cfg,
                opts,
                &mut state,
                &mut trainer,
                &buffer,
                &held,
                &mut rng,
                &stop,
                log,
            ),
            Step::Arena => arena_step(game, run, &cfg, opts, &mut state, &mut metrics, &stop, log),
        };
        match result {
            Ok(()) => {}
            Err(Error::Interrupted) => {
                interrupted = true;
                log(&format!(
                    "stopped during iteration {it} ({:?}); the last complete state is kept",
                    state.next
                ));
                break;
            }
            Err(e) => return Err(e),
        }
        if state.next == Step::SelfPlay {
            // An iteration finished: plots.
            if let Err(e) = plot::write_plots(&run.join("plots"), &metrics) {
                log(&format!("warning: plots not written: {e}"));
            }
            cleanup_checkpoints(run, &state);
        }
    }
    Ok(RunSummary {
        iteration: state.iteration,
        completed: state.iteration - first_iteration,
        interrupted,
        best: run.join(&state.best),
    })
}

/// The shape [`grow_run`] grows a run's network to; `None` keeps that part.
#[derive(Clone, Copy, Debug, Default)]
pub struct GrowTo {
    /// Residual blocks (more than it has).
    pub blocks: Option<usize>,
    /// Value-head channels (more than it has).
    pub value_channels: Option<usize>,
}

/// What [`grow_run`] did.
#[derive(Debug)]
pub struct Grown {
    /// Residual blocks before and after.
    pub from_blocks: usize,
    pub to_blocks: usize,
    /// Value-head channels before and after.
    pub from_value_channels: usize,
    pub to_value_channels: usize,
    /// The new checkpoints (relative to the run folder) of the best and the
    /// latest network (one when they are the same).
    pub checkpoints: Vec<String>,
}

/// Grows a run's network, keeping what it has learnt: the best and the
/// latest checkpoint each get identity-initialised residual blocks appended
/// ([`Network::deepened`]) and/or a wider value head
/// ([`Network::value_widened`]), both with the same outputs, and are saved
/// as new checkpoints (`<name>-b<blocks>`, `-v<channels>` added for a value
/// head wider than 1; no optimiser state, so the optimiser restarts), then
/// `state.json` points to them. Games, replay buffer, metrics and settings
/// are kept; the next `wgzero train` on the run resumes with the grown
/// network. Written like every other step: new folders first, then the
/// state file atomically, so an interruption leaves the run as it was.
pub fn grow_run<G: Game>(game: &G, run: &Path, to: GrowTo, selected: &Selected) -> Result<Grown> {
    if to.blocks.is_none() && to.value_channels.is_none() {
        return Err(Error::Config(
            "nothing to grow: give more residual blocks, value channels, or both".into(),
        ));
    }
    let mut state = load_state(run)?;
    if state.game != game.name() {
        return Err(model_err(
            &run.join(STATE_FILE),
            format!("a run of {}, not {}", state.game, game.name()),
        ));
    }
    let mut renamed: Vec<(String, String)> = Vec::new();
    let (mut from_blocks, mut from_value_channels) = (0, 0);
    let (mut to_blocks, mut to_value_channels) = (0, 0);
    for rel in [state.best.clone(), state.latest.clone()] {
        if renamed.iter().any(|(old, _)| *old == rel) {
            continue;
        }
        let dir = run.join(&rel);
        let ck = read_checkpoint(game, &dir)?;
        let mut net = ck.network(game, &dir, selected)?;
        let (blocks, channels) = (net.config().blocks, net.config().value_channels);
        from_blocks = from_blocks.max(blocks);
        from_value_channels = from_value_channels.max(channels);
        if let Some(want) = to.blocks {
            if want <= blocks {
                return Err(Error::Config(format!(
                    "{}: the network already has {blocks} residual blocks; --blocks must be more",
                    dir.display()
                )));
            }
            net = net.deepened(want - blocks)?;
        }
        if let Some(want) = to.value_channels {
            net = net
                .value_widened(want)
                .map_err(|e| Error::Config(format!("{}: {e}", dir.display())))?;
        }
        to_blocks = net.config().blocks;
        to_value_channels = net.config().value_channels;
        let meta = CheckpointMeta {
            model_id: net.id().to_string(),
            ..ck.meta
        };
        let name = rel.rsplit('/').next().unwrap_or(&rel);
        let base = name.split("-b").next().unwrap_or(name);
        let name = if to_value_channels > 1 {
            format!("{base}-b{to_blocks}-v{to_value_channels}")
        } else {
            format!("{base}-b{to_blocks}")
        };
        renamed.push((rel, save_checkpoint(run, &name, &net, None, &meta)?));
    }
    let lookup = |rel: &String| {
        renamed
            .iter()
            .find(|(old, _)| old == rel)
            .map(|(_, new)| new.clone())
            .unwrap_or_else(|| rel.clone())
    };
    state.best = lookup(&state.best);
    state.latest = lookup(&state.latest);
    save_state(run, &state)?;
    Ok(Grown {
        from_blocks,
        to_blocks,
        from_value_channels,
        to_value_channels,
        checkpoints: renamed.into_iter().map(|(_, new)| new).collect(),
    })
}

fn read_metrics(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join(METRICS_FILE))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Removes checkpoints that are neither best, latest nor promoted.
fn cleanup_checkpoints(run: &Path, state: &RunState) {
    let Ok(entries) = std::fs::read_dir(run.join("checkpoints")) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let rel = format!("checkpoints/{name}");
        if rel == state.best || rel == state.latest {
            continue;
        }
        let promoted = read_meta(&e.path()).is_some_and(|m| m.promoted);
        if !promoted || name.starts_with('.') {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn read_meta(dir: &Path) -> Option<CheckpointMeta> {
    serde_json::from_str(&std::fs::read_to_string(dir.join(META_FILE)).ok()?).ok()
}

fn self_play_step<G: Game + Heuristic>(
    game: &G,
    run: &Path,
    cfg: &ConfigFile,
    opts: &RunOptions<'_>,
    state: &mut RunState,
    stop: &dyn Fn() -> bool,
    log: &mut dyn FnMut(&str),
) -> Result<Vec<GameRecord>> {
    let it = state.iteration + 1;
    let t = Instant::now();
    let mut sp_cfg = cfg.selfplay.clone();
    sp_cfg.seed = mix64(cfg.run.seed ^ it);
    let total = sp_cfg.games;
    // Rollout games bootstrap a random network's first iteration only; a
    // run started from a trained model plays its own games from the start.
    let bootstrap = if it == 1 && state.init_model.is_none() {
        (total as f64 * cfg.run.bootstrap_share).round() as usize
    } else {
        0
    };
    let mut games: Vec<GameRecord> = Vec::new();
    let pb = bar(opts.progress, total as u64, "games");
    pb.set_prefix(format!("iter {it} self-play"));
    let mut reports: Vec<SelfPlayReport> = Vec::new();
    if bootstrap > 0 {
        // Rollout MCTS (uniform priors, random playout values).
        let mut rollout_cfg = sp_cfg.clone();
        rollout_cfg.games = bootstrap;
        rollout_cfg.simulations = cfg.run.bootstrap_simulations;
        rollout_cfg.full_search_prob = 1.0;
        rollout_cfg.leaves_per_game = 1;
        rollout_cfg.batch = 64;
        rollout_cfg.search = SearchConfig::selfplay().for_rollouts();
        let mut eval = Rollout::new(game.clone(), 1, sp_cfg.seed);
        let r = sp::run_until(
            game,
            &mut eval,
            "rollout",
            &rollout_cfg,
            &mut |mut g| {
                g.game_id |= (it << 24) | (1 << 23);
                games.push(g);
                Ok(())
            },
            &mut |p| pb.set_position(p.games_done as u64),
            stop,
        )?;
        reports.push(r);
    }
    if total > bootstrap {
        let best_dir = run.join(&state.best);
        let best = read_checkpoint(game, &best_dir)?;
        let mut eval = best.evaluator(game, &opts.device, opts.precision)?;
        let mut net_cfg = sp_cfg.clone();
        net_cfg.games = total - bootstrap;
        let r = sp::run_until(
            game,
            &mut eval,
            &best.meta.model_id,
            &net_cfg,
            &mut |mut g| {
                g.game_id |= it << 24;
                games.push(g);
                Ok(())
            },
            &mut |p| {
                pb.set_position((bootstrap + p.games_done) as u64);
                pb.set_message(format!(
                    "{:.0} evals/s",
                    p.evaluations as f64 / p.elapsed.max(1e-9)
                ));
            },
            stop,
        )?;
        reports.push(r);
    }
    pb.finish_and_clear();
    let header = RecordsHeader {
        game: game.name(),
        words: game.packed_words(),
        actions: game.num_actions(),
    };
    write_records(&games_file(run, it), &header, &games)?;
    let secs = t.elapsed().as_secs_f64();
    let positions: usize = games.iter().map(|g| g.positions.len()).sum();
    let full: usize = games.iter().map(GameRecord::full_searches).sum();
    let evaluations: u64 = reports.iter().map(|r| r.evaluations).sum();
    let batches: u64 = reports.iter().map(|r| r.batches).sum();
    let dup = duplicate_share(game, &games);
    if dup > 0.10 {
        log(&format!(
            "warning: {:.1}% of iteration {it}'s positions are duplicates (by hash): self-play explores too little",
            100.0 * dup
        ));
    }
    let wins = games.iter().filter(|g| g.outcome > 0).count();
    let draws = games.iter().filter(|g| g.outcome == 0).count();
    state.pending.insert(
        "selfplay".into(),
        serde_json::json!({
            "games": games.len(), "bootstrap_games": bootstrap, "positions": positions,
            "full_search_positions": full, "evaluations": evaluations,
            "games_per_second": games.len() as f64 / secs,
            "evaluations_per_second": evaluations as f64 / secs,
            "average_batch": evaluations as f64 / batches.max(1) as f64,
            "duplicate_share": dup, "first_player_wins": wins, "draws": draws,
            "seconds": secs,
        }),
    );
    state.next = Step::Train;
    save_state(run, state)?;
    log(&format!(
        "iter {it} self-play: {} games, {positions} positions ({full} full searches), {:.0} evals/s, {:.0} s",
        games.len(),
        evaluations as f64 / secs,
        secs
    ));
    Ok(games)
}

#[allow(clippy::too_many_arguments)]
fn train_step<G: Game>(
    game: &G,
    run: &Path,
    cfg: &ConfigFile,
    opts: &RunOptions<'_>,
    state: &mut RunState,
    trainer: &mut Trainer<G>,
    buffer: &ReplayBuffer<G>,
    held: &ReplayBuffer<G>,
    rng: &mut ChaCha8Rng,
    stop: &dyn Fn() -> bool,
    log: &mut dyn FnMut(&str),
) -> Result<()> {
    let it = state.iteration + 1;
    let t = Instant::now();
    let new_positions = state
        .pending
        .get("selfplay")
        .and_then(|s| s.get("full_search_positions"))
        .and_then(|v| v.as_u64())
        .unwrap_or(0) as f64;
    let batch = cfg.train.batch_size;
    let steps = ((new_positions * cfg.run.samples_per_position / batch as f64).ceil() as usize)
        .clamp(cfg.run.min_steps, cfg.run.max_steps);
    if buffer.is_empty() {
        return Err(Error::Config(
            "the replay buffer is empty: self-play produced no full-search positions".into(),
        ));
    }
    let pb = bar(opts.progress, steps as u64, "steps");
    pb.set_prefix(format!("iter {it} training"));
    let mut sum = StepStats::default();
    for _ in 0..steps {
        if stop() {
            pb.finish_and_clear();
            return Err(Error::Interrupted);
        }
        let lr = cfg.run.learning_rate(trainer.steps());
        trainer.set_learning_rate(lr);
        let s = trainer.step(&buffer.sample(batch, cfg.run.augment, rng)?)?;
        if !(s.policy_loss.is_finite() && s.value_loss.is_finite()) {
            return Err(Error::Model(format!(
                "training diverged at step {} (loss not finite); lower the learning rate",
                trainer.steps()
            )));
        }
        sum.policy_loss += s.policy_loss / steps as f32;
        sum.value_loss += s.value_loss / steps as f32;
        sum.policy_accuracy += s.policy_accuracy / steps as f32;
        pb.inc(1);
        pb.set_message(format!(
            "policy {:.3} value {:.3}",
            s.policy_loss, s.value_loss
        ));
    }
    pb.finish_and_clear();
    let train_secs = t.elapsed().as_secs_f64();
    let held_stats = if held.is_empty() {
        None
    } else {
        let mut hrng = ChaCha8Rng::seed_from_u64(7);
        let n = held.len().min(1024);
        Some(trainer.evaluate(&held.sample(n, false, &mut hrng)?)?)
    };
    // Checkpoint: the trained weights and the optimiser state.
    let mut net = read_checkpoint(game, &run.join(&state.latest))?.network(
        game,
        &run.join(&state.latest),
        &opts.device,
    )?;
    net.set_model(trainer.model(), format!("iter-{it}"));
    let id = crate::net::network::model_id(&net.weights_bytes()?);
    let meta = CheckpointMeta {
        game: game.name(),
        iteration: it,
        train_steps: trainer.steps(),
        promoted: false,
        model_id: id,
    };
    let opt = trainer.optimizer_bytes()?;
    state.latest = save_checkpoint(run, &format!("iter-{it:06}"), &net, Some(&opt), &meta)?;
    state.train_steps = trainer.steps();
    state.pending.insert(
        "train".into(),
        serde_json::json!({
            "steps": steps, "total_steps": trainer.steps(), "learning_rate": cfg.run.learning_rate(trainer.steps()),
            "policy_loss": sum.policy_loss, "value_loss": sum.value_loss, "policy_accuracy": sum.policy_accuracy,
            "buffer_positions": buffer.len(),
            "samples_per_second": (steps * batch) as f64 / train_secs, "seconds": t.elapsed().as_secs_f64(),
        }),
    );
    if let Some(h) = held_stats {
        state.pending.insert(
            "held_out".into(),
            serde_json::json!({ "positions": held.len().min(1024), "policy_loss": h.policy_loss,
                "policy_accuracy": h.policy_accuracy, "value_mse": h.value_loss }),
        );
    }
    state.next = Step::Arena;
    save_state(run, state)?;
    log(&format!(
        "iter {it} training: {steps} steps, policy loss {:.3}, value loss {:.3}, accuracy {:.2}{}, {:.0} s",
        sum.policy_loss,
        sum.value_loss,
        sum.policy_accuracy,
        held_stats.map_or(String::new(), |h| format!(
            " (held out: accuracy {:.2}, value MSE {:.3})",
            h.policy_accuracy, h.value_loss
        )),
        t.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// The search the arena and the baseline games use: PUCT, no noise.
pub fn arena_search(cfg: &RunConfig, leaves: usize) -> SearchConfig {
    SearchConfig {
        simulations: cfg.arena_simulations,
        leaves_per_gather: leaves,
        ..SearchConfig::default()
    }
}

#[allow(clippy::too_many_arguments)]
fn arena_step<G: Game + Heuristic>(
    game: &G,
    run: &Path,
    cfg: &ConfigFile,
    opts: &RunOptions<'_>,
    state: &mut RunState,
    metrics: &mut Vec<serde_json::Value>,
    stop: &dyn Fn() -> bool,
    log: &mut dyn FnMut(&str),
) -> Result<()> {
    let it = state.iteration + 1;
    let t = Instant::now();
    let (best_dir, cand_dir) = (run.join(&state.best), run.join(&state.latest));
    let best = read_checkpoint(game, &best_dir)?;
    let cand = read_checkpoint(game, &cand_dir)?;
    let mut best_eval = best.evaluator(game, &opts.device, opts.precision)?;
    let mut cand_eval = cand.evaluator(game, &opts.device, opts.precision)?;
    let search = arena_search(&cfg.run, 4);
    let mcfg = MatchConfig {
        games: cfg.run.arena_games,
        opening_moves: cfg.run.arena_opening_moves,
        concurrency: cfg.run.arena_games,
        seed: mix64(cfg.run.seed ^ it ^ 0xa7e4a),
    };
    let pb = bar(opts.progress, mcfg.games as u64, "games");
    pb.set_prefix(format!("iter {it} arena"));
    let result = play_match(
        game,
        Contestant::Search {
            name: "candidate".into(),
            search: search.clone(),
            eval: &mut cand_eval,
        },
        Contestant::Search {
            name: "best".into(),
            search: search.clone(),
            eval: &mut best_eval,
        },
        &mcfg,
        &mut |done, _| pb.set_position(done as u64),
        stop,
    )?;
    pb.finish_and_clear();
    drop(cand_eval);
    let arena_secs = t.elapsed().as_secs_f64();
    let promoted = result.score() > cfg.run.promote_threshold;
    if promoted {
        let mut meta = cand.meta.clone();
        meta.promoted = true;
        let json = serde_json::to_string_pretty(&meta).expect("meta serialises");
        write_atomic(&cand_dir.join(META_FILE), json.as_bytes())?;
        state.best = state.latest.clone();
        state.promotions += 1;
        // The evaluator of the new best plays the baselines.
        best_eval = cand.evaluator(game, &opts.device, opts.precision)?;
    }
    log(&format!(
        "iter {it} arena: candidate {}-{}-{} against best, score {:.3} -> {}",
        result.wins,
        result.draws,
        result.losses,
        result.score(),
        if promoted {
            "promoted"
        } else {
            "kept the best"
        }
    ));
    // Strength against baselines (of the best network).
    let tb = Instant::now();
    let mut baselines = serde_json::Map::new();
    if cfg.run.baseline_every > 0 && it.is_multiple_of(cfg.run.baseline_every as u64) {
        for (k, b) in cfg.run.baselines.iter().enumerate() {
            let spec: PlayerSpec = b.parse()?;
            let bcfg = MatchConfig {
                games: cfg.run.baseline_games,
                opening_moves: 0,
                concurrency: cfg.run.baseline_games,
                seed: mix64(cfg.run.seed ^ it ^ (k as u64 + 1) << 40),
            };
            let pb = bar(opts.progress, bcfg.games as u64, "games");
            pb.set_prefix(format!("iter {it} vs {b}"));
            let r: MatchResult = play_match(
                game,
                Contestant::Search {
                    name: "best".into(),
                    search: search.clone(),
                    eval: &mut best_eval,
                },
                Contestant::Baseline(spec),
                &bcfg,
                &mut |done, _| pb.set_position(done as u64),
                stop,
            )?;
            pb.finish_and_clear();
            log(&format!(
                "iter {it} best vs {b}: {}-{}-{}, score {:.3}",
                r.wins,
                r.draws,
                r.losses,
                r.score()
            ));
            baselines.insert(
                b.clone(),
                serde_json::json!({ "score": r.score(), "result": r }),
            );
        }
    }
    let (peak, rss) = memory_mb();
    let mut line = serde_json::Map::new();
    line.insert("iteration".into(), it.into());
    line.extend(std::mem::take(&mut state.pending));
    line.insert(
        "arena".into(),
        serde_json::json!({ "score": result.score(), "result": result, "promoted": promoted,
            "elo": result.elo().elo.clamp(-2000.0, 2000.0), "seconds": arena_secs }),
    );
    line.insert("baselines".into(), baselines.into());
    line.insert("baseline_seconds".into(), tb.elapsed().as_secs_f64().into());
    line.insert("best".into(), state.best.clone().into());
    line.insert("promotions".into(), state.promotions.into());
    line.insert("peak_rss_mb".into(), peak.into());
    line.insert("rss_mb".into(), rss.into());
    // Metrics first (a line for this iteration replaces an older one, left
    // by a run killed between the two writes), then the state.
    metrics.retain(|m| m.get("iteration").and_then(|v| v.as_u64()) != Some(it));
    metrics.push(serde_json::Value::Object(line));
    let lines: Vec<String> = metrics.iter().map(|m| m.to_string()).collect();
    write_atomic(
        &run.join(METRICS_FILE),
        (lines.join("\n") + "\n").as_bytes(),
    )?;
    state.iteration = it;
    state.next = Step::SelfPlay;
    save_state(run, state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::Connect4;
    use crate::selfplay::records::PositionRecord;

    /// A game of `n` positions, every other one a fast search (no target).
    fn record(game_id: u64, n: usize) -> GameRecord {
        let game = Connect4;
        let mut s = game.initial();
        let positions = (0..n)
            .map(|i| {
                let mut packed = vec![0; game.packed_words()];
                game.pack(&s, &mut packed);
                let action = i % 7;
                game.apply(&mut s, action);
                PositionRecord {
                    packed,
                    to_move: (i % 2) as u8,
                    action: action as u16,
                    value: 0.0,
                    policy: vec![1.0 / 7.0; 7],
                    full_search: i % 2 == 0,
                }
            })
            .collect();
        GameRecord {
            game_id,
            model_id: "test".into(),
            outcome: 0,
            positions,
        }
    }

    /// Resuming fills the buffer to the window even when most positions are
    /// fast searches, which the buffer skips (it used to count them and load
    /// too few files).
    #[test]
    fn resumed_buffer_counts_only_kept_positions() {
        let run = std::env::temp_dir().join(format!("wgzero-buffers-{}", std::process::id()));
        std::fs::create_dir_all(run.join("games")).unwrap();
        let game = Connect4;
        let header = RecordsHeader {
            game: game.name(),
            words: game.packed_words(),
            actions: game.num_actions(),
        };
        // 10 iterations of 20 games x 6 positions (3 full searches each).
        for it in 1..=10u64 {
            let games: Vec<_> = (0..20).map(|g| record(it * 100 + g, 6)).collect();
            write_records(&games_file(&run, it), &header, &games).unwrap();
        }
        let cfg = RunConfig {
            replay_window: 200,
            held_out_share: 0.1,
            held_out_positions: 10,
            ..RunConfig::default()
        };
        let (train, held) = load_buffers(&game, &run, &cfg, 10).unwrap();
        std::fs::remove_dir_all(&run).unwrap();
        assert_eq!(train.len(), 200, "the window is full after resuming");
        assert_eq!(held.len(), 10);
    }
}
