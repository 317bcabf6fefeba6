//! The run folder: its state file, checkpoints, game files and metrics, each
//! written atomically, and creating or resuming a run.
//!
//! ```text
//! config.toml            effective settings (written once, checked on resume)
//! state.json             the last complete state: iteration, step, checkpoints
//! checkpoints/iter-N/    config.json + model.bpk (burnpack) + optimizer.bin + meta.json
//! games/iter-N.wgzr      the self-play games of iteration N (the replay buffer)
//! metrics.jsonl          one JSON line per finished iteration
//! plots/*.svg            losses, arena score, strength, throughput
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::metrics::{IterationMetrics, Pending};
use crate::config::{training_defaults, ConfigFile, RunConfig};
use crate::error::{Error, Result};
use crate::files::{read_model_bytes, read_model_text, sync_dir, write_atomic};
use crate::game::Game;
use crate::net::network::{CONFIG_FILE as NET_CONFIG_FILE, WEIGHTS_FILE};
use crate::net::{ModelBytes, ModelSource, NetConfig, Network, Selected};
use crate::selfplay::records::{write_records, GameRecord, RecordsHeader};

pub const STATE_FILE: &str = "state.json";
pub const CONFIG_FILE: &str = "config.toml";
pub const METRICS_FILE: &str = "metrics.jsonl";
pub const OPTIMIZER_FILE: &str = "optimizer.bin";
const META_FILE: &str = "meta.json";

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
    pub pending: Pending,
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

fn model_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Model(format!("{}: {e}", path.display()))
}

/// Whether `dir` holds a run (its state file).
pub fn is_run(dir: &Path) -> bool {
    dir.join(STATE_FILE).exists()
}

/// The run folder's checkpoint of the best network.
pub fn best_checkpoint(run: &Path) -> Result<PathBuf> {
    Ok(run.join(load_state(run)?.best))
}

/// The model a folder names: a run folder's best checkpoint, or the folder
/// itself (a model folder).
pub fn model_folder(path: &Path) -> Result<ModelSource> {
    if is_run(path) {
        Ok(ModelSource::Folder(best_checkpoint(path)?))
    } else {
        Ok(ModelSource::Folder(path.to_path_buf()))
    }
}

pub fn load_state(run: &Path) -> Result<RunState> {
    let path = run.join(STATE_FILE);
    serde_json::from_str(&read_model_text(&path)?)
        .map_err(|e| model_err(&path, format!("not a run state: {e}")))
}

/// `state` (loaded from `run`), checked to be a run of `game`.
pub fn check_game<G: Game>(game: &G, run: &Path, state: RunState) -> Result<RunState> {
    if state.game != game.name() {
        return Err(model_err(
            &run.join(STATE_FILE),
            format!("a run of {}, not {}", state.game, game.name()),
        ));
    }
    Ok(state)
}

pub fn save_state(run: &Path, state: &RunState) -> Result<()> {
    let json = serde_json::to_string_pretty(state).expect("state serialises");
    write_atomic(&run.join(STATE_FILE), json.as_bytes())
}

/// Writes a checkpoint folder atomically: files into a temporary folder, then
/// one rename. Returns its path relative to the run folder.
pub fn save_checkpoint<G: Game>(
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
    write_meta(&tmp, meta)?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&tmp, &dir)?;
    sync_dir(Some(&run.join("checkpoints")));
    Ok(rel)
}

fn write_meta(dir: &Path, meta: &CheckpointMeta) -> Result<()> {
    let json = serde_json::to_string_pretty(meta).expect("meta serialises");
    write_atomic(&dir.join(META_FILE), json.as_bytes())
}

/// A checkpoint's weights, config and metadata, checked against the game.
pub struct Checkpoint {
    pub dir: PathBuf,
    pub config_json: String,
    pub weights: Vec<u8>,
    pub optimizer: Option<Vec<u8>>,
    pub meta: CheckpointMeta,
}

/// Reads the checkpoint `rel` (relative to `run`).
pub fn read_checkpoint<G: Game>(game: &G, run: &Path, rel: &str) -> Result<Checkpoint> {
    let dir = run.join(rel);
    let meta_path = dir.join(META_FILE);
    let meta: CheckpointMeta = serde_json::from_str(&read_model_text(&meta_path)?)
        .map_err(|e| model_err(&meta_path, format!("not checkpoint metadata: {e}")))?;
    if meta.game != game.name() {
        return Err(model_err(
            &dir,
            format!("a checkpoint of {}, not {}", meta.game, game.name()),
        ));
    }
    Ok(Checkpoint {
        config_json: read_model_text(&dir.join(NET_CONFIG_FILE))?,
        weights: read_model_bytes(&dir.join(WEIGHTS_FILE))?,
        optimizer: std::fs::read(dir.join(OPTIMIZER_FILE)).ok(),
        meta,
        dir,
    })
}

impl Checkpoint {
    /// The checkpoint as a model source (errors name its folder).
    pub fn source(&self) -> ModelSource {
        ModelSource::Bytes(self.model_bytes())
    }

    /// The checkpoint's network as bytes (labelled with its folder).
    pub fn model_bytes(&self) -> ModelBytes {
        ModelBytes {
            label: self.dir.display().to_string(),
            config_json: self.config_json.clone(),
            weights: self.weights.clone(),
        }
    }

    /// The network on `selected`'s device (checks config, shapes and weights).
    pub fn network<G: Game>(&self, game: &G, selected: &Selected) -> Result<Network<G>> {
        self.source().open(game.clone(), selected)
    }

    /// Marks the checkpoint promoted (kept by [`cleanup_checkpoints`]).
    pub fn mark_promoted(&mut self) -> Result<()> {
        self.meta.promoted = true;
        write_meta(&self.dir, &self.meta)
    }
}

/// The effective settings of a run: the saved ones when resuming (a
/// different `requested` config is an error), else `requested`.
pub fn settle_config(run: &Path, requested: &ConfigFile, explicit: bool) -> Result<ConfigFile> {
    let path = run.join(CONFIG_FILE);
    if !is_run(run) {
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
pub fn create_run<G: Game>(
    game: &G,
    run: &Path,
    cfg: &ConfigFile,
    selected: &Selected,
    init: Option<&ModelBytes>,
) -> Result<RunState> {
    let source = match init {
        Some(m) => ModelSource::Bytes(m.clone()),
        None => ModelSource::Random {
            config: Some(configured_shape(game, &cfg.run)),
            seed: cfg.run.seed,
        },
    };
    let net = source.open(game.clone(), selected)?;
    if init.is_some() {
        check_init_shape(net.config(), &cfg.run)?;
    }
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
    let rel = save_checkpoint(run, &checkpoint_name(0), &net, None, &meta)?;
    let state = RunState {
        game: game.name(),
        iteration: 0,
        next: Step::SelfPlay,
        best: rel.clone(),
        latest: rel,
        train_steps: 0,
        promotions: 0,
        pending: Pending::default(),
        init_model: init.map(|m| InitFrom {
            label: m.label.clone(),
            model_id: net.id().to_string(),
        }),
    };
    save_state(run, &state)?;
    Ok(state)
}

/// A new random network's shape: the game's default with `[run] net_*`.
fn configured_shape<G: Game>(game: &G, cfg: &RunConfig) -> NetConfig {
    let net_cfg = NetConfig::for_game(game);
    let mut net_cfg = net_cfg.clone().with_size(
        cfg.net_blocks.unwrap_or(net_cfg.blocks),
        cfg.net_channels.unwrap_or(net_cfg.channels),
    );
    net_cfg.value_channels = cfg.net_value_channels.unwrap_or(1);
    net_cfg
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

/// The folder name (in `checkpoints/`) of iteration `iteration`'s checkpoint.
pub fn checkpoint_name(iteration: u64) -> String {
    format!("iter-{iteration:06}")
}

/// The game file of iteration `iteration`.
pub fn games_file(run: &Path, iteration: u64) -> PathBuf {
    run.join(format!("games/iter-{iteration:06}.wgzr"))
}

/// Writes the games of iteration `iteration` (atomically).
pub fn write_games<G: Game>(
    game: &G,
    run: &Path,
    iteration: u64,
    games: &[GameRecord],
) -> Result<()> {
    write_records(&games_file(run, iteration), &RecordsHeader::of(game), games)
}

/// Every line of `metrics.jsonl` (unreadable lines skipped).
pub fn read_metrics(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join(METRICS_FILE))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Adds a finished iteration's line to `metrics` and rewrites the file
/// atomically. A line for the same iteration replaces an older one, left by a
/// run killed between writing the metrics and the state.
pub fn append_metrics(
    run: &Path,
    metrics: &mut Vec<serde_json::Value>,
    line: &IterationMetrics,
) -> Result<()> {
    let it = line.iteration;
    metrics.retain(|m| m.get("iteration").and_then(|v| v.as_u64()) != Some(it));
    metrics.push(line.to_json());
    let lines: Vec<String> = metrics.iter().map(|m| m.to_string()).collect();
    write_atomic(
        &run.join(METRICS_FILE),
        (lines.join("\n") + "\n").as_bytes(),
    )
}

/// Removes checkpoints that are neither best, latest nor promoted.
pub fn cleanup_checkpoints(run: &Path, state: &RunState) {
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
