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
//! trainer.lock           held (locked) by the one process writing the run
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

/// A run's state file (named where `--model` also reads it: [`crate::net::source`]).
pub const STATE_FILE: &str = crate::net::source::RUN_STATE_FILE;
pub const CONFIG_FILE: &str = "config.toml";
pub const METRICS_FILE: &str = "metrics.jsonl";
pub const OPTIMIZER_FILE: &str = "optimizer.bin";
const META_FILE: &str = "meta.json";
pub const LOCK_FILE: &str = "trainer.lock";

/// The run folder held by this process: one writer at a time. The
/// operating system's file lock (`flock`, `LockFileEx`) is released when
/// the process ends however it ends, so a killed trainer never leaves a
/// stale lock; the file's text names the holder for the error message.
#[derive(Debug)]
pub struct RunLock {
    file: Option<std::fs::File>,
    /// The run folder, if taking the lock created it: removed again on
    /// release when nothing but the lock file is in it (a run that failed
    /// to start leaves no folder behind).
    created: Option<PathBuf>,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        drop(self.file.take());
        if let Some(dir) = &self.created {
            let only_lock = std::fs::read_dir(dir).is_ok_and(|entries| {
                entries
                    .flatten()
                    .all(|e| e.file_name() == std::ffi::OsStr::new(LOCK_FILE))
            });
            if only_lock {
                let _ = std::fs::remove_file(dir.join(LOCK_FILE));
                let _ = std::fs::remove_dir(dir);
            }
        }
    }
}

/// Takes the run folder `run` (created if missing) for this process, or
/// refuses with an error naming the process that holds it.
pub fn lock_run(run: &Path) -> Result<RunLock> {
    use std::io::{Read, Seek, Write};
    let created = (!run.exists()).then(|| run.to_path_buf());
    std::fs::create_dir_all(run)?;
    let path = run.join(LOCK_FILE);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(Error::Config(format!(
                "{} is in use by another trainer ({}); stop it first, or use another --run folder",
                run.display(),
                if holder.is_empty() {
                    "a process that is starting"
                } else {
                    holder
                }
            )));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
    }
    let holder = format!(
        "wgzero pid {} on {}, since {} s after the Unix epoch",
        std::process::id(),
        crate::process::host_name(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    );
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(holder.as_bytes())?;
    file.flush()?;
    Ok(RunLock {
        file: Some(file),
        created,
    })
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
    pub pending: Pending,
    /// The model the run started from (`wgzero train --init-model`); absent
    /// for a run that started from random weights. Such a run has no
    /// rollout bootstrap: its first games are the model's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_model: Option<InitFrom>,
    /// The rule settings beyond the game's name that its positions depend
    /// on ([`Game::variant`], Go: `komi 7.5`), checked on resume. Absent in
    /// runs written before it was recorded (not checked there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
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
    if let Some(v) = &state.variant {
        if Some(v) != game.variant().as_ref() {
            return Err(Error::Config(format!(
                "{} is a run of {} with {v}, not {}: resume it with --{v}, or give a new --run folder",
                run.display(),
                state.game,
                game.variant().unwrap_or_else(|| "no such setting".into())
            )));
        }
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
        variant: game.variant(),
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
    net_cfg.aux_heads = cfg.net_aux_heads.unwrap_or(game.ownership_cells() > 0);
    if cfg.net_global_pooling {
        net_cfg = net_cfg.with_global_pooling();
    }
    // A value-channels setting wins over the default (1; pooling's 16).
    if let Some(vc) = cfg.net_value_channels {
        net_cfg.value_channels = vc;
    }
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
    if let Some(want) = cfg.net_aux_heads.filter(|&w| w != net.aux_heads) {
        return Err(Error::Config(format!(
            "run.net_aux_heads = {want}, but the --init-model network {} them; leave \
             run.net_aux_heads out (the model gives the shape)",
            if net.aux_heads { "has" } else { "lacks" }
        )));
    }
    if cfg.net_global_pooling && !net.global_pooling {
        return Err(Error::Config(
            "run.net_global_pooling = true, but the --init-model network has no global pooling; \
             leave it out (the model gives the shape)"
                .into(),
        ));
    }
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
    // A run folder copied without its game files (a kept checkpoint) has
    // no `games/` any more.
    std::fs::create_dir_all(run.join("games"))?;
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

/// Applies the run's retention settings to its checkpoints: the best and
/// the latest stay; of the promoted ones, the `keep_checkpoints` most recent
/// and every `keep_checkpoints_every`-th iteration's stay; everything else
/// goes, and every checkpoint but the latest loses its optimiser state.
pub fn cleanup_checkpoints(run: &Path, state: &RunState, cfg: &RunConfig) {
    let Ok(entries) = std::fs::read_dir(run.join("checkpoints")) else {
        return;
    };
    let mut promoted: Vec<(u64, PathBuf)> = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let rel = format!("checkpoints/{name}");
        if rel == state.latest {
            continue;
        }
        // Only resuming reads an optimiser state, and it resumes from latest.
        let _ = crate::files::remove_if_present(&e.path().join(OPTIMIZER_FILE));
        if rel == state.best {
            continue;
        }
        match read_meta(&e.path()) {
            Some(m) if m.promoted && !name.starts_with('.') => {
                promoted.push((m.iteration, e.path()))
            }
            _ => {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    promoted.sort();
    let recent = if cfg.keep_checkpoints == 0 {
        0
    } else {
        promoted.len().saturating_sub(cfg.keep_checkpoints)
    };
    for (i, (iteration, dir)) in promoted.iter().enumerate() {
        let every = cfg.keep_checkpoints_every;
        let milestone = every > 0 && iteration % every == 0;
        if i < recent && !milestone {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Game files to spare beyond what a resume reads.
const SPARE_GAME_FILES: u64 = 5;

/// The oldest iteration whose game file a resumed run may still read, from
/// the metrics lines (`None`: keep every file; a line without self-play
/// figures stops the count there).
pub fn oldest_needed_games(metrics: &[serde_json::Value], cfg: &RunConfig) -> Option<u64> {
    // load_buffers reads back until it holds twice its wanted training
    // positions (wanted: twice the window with merged duplicates).
    let train_share = 1.0 - cfg.held_out_share;
    let need = 4.0 * cfg.replay_window as f64;
    let mut have = 0.0;
    for line in metrics.iter().rev() {
        let it = line["iteration"].as_u64()?;
        let full = line["selfplay"]["full_search_positions"].as_u64()?;
        have += full as f64 * train_share;
        if have >= need {
            return Some(it.saturating_sub(SPARE_GAME_FILES).max(1));
        }
    }
    None
}

/// Deletes the game files of iterations before `oldest` (those still there).
pub fn prune_games(run: &Path, oldest: u64) {
    let Ok(entries) = std::fs::read_dir(run.join("games")) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let iteration = name
            .strip_prefix("iter-")
            .and_then(|n| n.strip_suffix(".wgzr"))
            .and_then(|n| n.parse::<u64>().ok());
        if iteration.is_some_and(|it| it < oldest) {
            let _ = crate::files::remove_if_present(&e.path());
        }
    }
}

fn read_meta(dir: &Path) -> Option<CheckpointMeta> {
    serde_json::from_str(&std::fs::read_to_string(dir.join(META_FILE)).ok()?).ok()
}

#[cfg(test)]
mod retention_tests {
    use super::*;

    fn line(iteration: u64, full: u64) -> serde_json::Value {
        serde_json::json!({"iteration": iteration, "selfplay": {"full_search_positions": full}})
    }

    #[test]
    fn game_files_are_kept_while_a_resume_can_read_them() {
        let cfg = RunConfig {
            replay_window: 1000,
            held_out_share: 0.0,
            ..RunConfig::default()
        };
        // 500 positions per iteration: the newest 8 hold 4 windows.
        let metrics: Vec<_> = (1..=20).map(|i| line(i, 500)).collect();
        assert_eq!(
            oldest_needed_games(&metrics, &cfg),
            Some(13 - SPARE_GAME_FILES)
        );
        // Not enough games yet, or a line without figures: keep everything.
        assert_eq!(oldest_needed_games(&metrics[..7], &cfg), None);
        let mut gap = metrics.clone();
        gap[17] = serde_json::json!({"iteration": 18});
        assert_eq!(oldest_needed_games(&gap, &cfg), None);
    }
}
