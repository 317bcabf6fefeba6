//! The settings file (`--config FILE`, TOML) shared by `selfplay`, `train`
//! and the tuned settings that `wgzero bench` writes, the training loop's own
//! settings ([`RunConfig`]) and the defaults `wgzero train` starts from
//! ([`training_defaults`]).
//!
//! ```toml
//! [selfplay]
//! batch = 256
//! leaves_per_game = 8
//! concurrency = 2.0
//!
//! [train]
//! batch_size = 256
//!
//! [run]
//! arena_games = 32
//! ```
//! Every field is optional (missing ones take their documented defaults);
//! unknown fields are errors.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::mcts::Algorithm;
use crate::net::trainer::TrainConfig;
use crate::players::PlayerSpec;
use crate::selfplay::SelfPlayConfig;

/// Everything a settings file can hold.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConfigFile {
    pub selfplay: SelfPlayConfig,
    pub train: TrainConfig,
    /// The training loop (`wgzero train`).
    pub run: RunConfig,
}

impl ConfigFile {
    /// Reads a TOML settings file; errors name the file and the field.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    /// Reads a TOML settings file over `base`: fields the file does not set
    /// keep `base`'s values (e.g. the training defaults of `wgzero train`).
    pub fn load_over(path: &Path, base: &ConfigFile) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        Self::parse_over(&text, base).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    /// [`ConfigFile::load_over`] on TOML text.
    pub fn parse_over(text: &str, base: &ConfigFile) -> std::result::Result<Self, String> {
        let over: toml::Value = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut merged = toml::Value::try_from(base).map_err(|e| e.to_string())?;
        merge(&mut merged, over);
        let merged = toml::to_string(&merged).map_err(|e| e.to_string())?;
        toml::from_str(&merged).map_err(|e| e.to_string())
    }

    /// The settings as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("settings serialise")
    }
}

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
    /// Merge a position seen again into its entry in the replay window
    /// (targets averaged, sampled with weight `1 + log2(sightings)`) instead
    /// of storing it twice ([`crate::train::ReplayBuffer::with_merging`]).
    /// Default: true.
    pub merge_duplicates: bool,
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
    /// Arena games, candidate against best, half with each colour; 0 plays
    /// none (an ungated run needs none). Default: 0.
    pub arena_games: usize,
    /// Simulations per move in the arena and against baselines (PUCT, no
    /// noise). Default: 32.
    pub arena_simulations: u32,
    /// Random moves opening each pair of arena games. Default: 2.
    pub arena_opening_moves: usize,
    /// The gate: the candidate is promoted when its arena score is above
    /// this. `None` (the default): ungated, every trained network becomes
    /// the best and plays the next self-play games, as in AlphaZero and
    /// KataGo. A threshold needs arena games, and a small match is a weak
    /// test: at 32 games and 0.55, an equal network passes about 30% of the
    /// time (docs/training.md, "The gate").
    pub promote_threshold: Option<f64>,
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
    /// Value-head channels of a new network ([`crate::net::NetConfig::value_channels`]);
    /// `None`: 1. `wgzero grow --value-channels` widens an existing run's.
    pub net_value_channels: Option<usize>,
    /// Auxiliary heads for a new network ([`crate::net::NetConfig::aux_heads`]:
    /// final ownership, score and the opponent's reply, weighted by
    /// `[train] ownership_weight`, `score_weight`, `reply_weight`); only for
    /// games with those targets (Go). `None`: on for games with the targets
    /// (Go: they won 178 of 300 games against the same loop without them at
    /// 5.5 M self-play evaluations each, docs/go.md), off for the others.
    pub net_aux_heads: Option<bool>,
    /// KataGo's global pooling for a new network
    /// ([`crate::net::NetConfig::global_pooling`]: Go only; the network then
    /// plays every board size, and `--init-model` can start a run of
    /// another size from it). Default: false.
    pub net_global_pooling: bool,
    /// Seed of the initial weights and of the games. Default: 0.
    pub seed: u64,
    /// Checkpoints kept besides the best and the latest: the most recent
    /// promoted ones (0: every promoted one). Default: 20.
    pub keep_checkpoints: usize,
    /// Also keep the checkpoint of every this many iterations, for
    /// learning curves (`wgzero curve`; 0: none). Default: 25. Only the
    /// latest checkpoint keeps its optimiser state (what resuming needs);
    /// the others keep their network, which is all that playing,
    /// measuring and `--init-model` read.
    pub keep_checkpoints_every: u64,
    /// Delete game files no resume can read any more: those older than
    /// the newest files holding four replay windows of full-search
    /// positions (the most a resumed run's buffer reads back), counted
    /// from `metrics.jsonl`, plus 5 iterations to spare. Default: true.
    pub prune_games: bool,
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
            merge_duplicates: true,
            lr_schedule: vec![(0, 0.002), (4000, 0.001), (12000, 0.0003)],
            value_search_weight: 0.0,
            held_out_share: 0.05,
            held_out_positions: 4096,
            arena_games: 0,
            arena_simulations: 32,
            arena_opening_moves: 2,
            promote_threshold: None,
            baselines: vec!["random".into(), "minimax:4".into()],
            baseline_games: 20,
            baseline_every: 2,
            net_blocks: None,
            net_channels: None,
            net_value_channels: None,
            net_aux_heads: None,
            net_global_pooling: false,
            seed: 0,
            keep_checkpoints: 20,
            keep_checkpoints_every: 25,
            prune_games: true,
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

    /// Checks every value against its documented range.
    pub fn validate(&self) -> Result<()> {
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
        if self.arena_simulations == 0 {
            return fail("run.arena_simulations must be at least 1");
        }
        if let Some(t) = self.promote_threshold {
            if !(0.0..=1.0).contains(&t) {
                return fail("run.promote_threshold must be in [0, 1]");
            }
            if self.arena_games == 0 {
                return fail("run.promote_threshold needs run.arena_games of at least 1");
            }
        }
        for b in &self.baselines {
            b.parse::<PlayerSpec>()?;
        }
        Ok(())
    }
}

/// The settings `wgzero train` starts from (docs/training.md explains each
/// choice):
/// - Gumbel self-play (the root bug with reused trees fixed) with
///   playout-cap randomisation: a quarter of the moves get a full search of
///   200 simulations and a policy target, the rest a fast search of 32;
///   most games open with a few random moves;
/// - few trained samples per self-play evaluation (about 0.03, as in
///   AlphaZero.jl): 8 samples per full-search position;
/// - duplicate positions merged, targets half game result, half search value;
/// - AdamW weight decay at a scale that acts (0.05, `TrainConfig`);
/// - no gate: every trained network plays the next games.
pub fn training_defaults() -> ConfigFile {
    let mut cfg = ConfigFile::default();
    let sp = &mut cfg.selfplay;
    sp.games = 128;
    sp.simulations = 200;
    sp.full_search_prob = 0.25;
    sp.fast_simulations = 32;
    sp.batch = 128;
    sp.random_opening_share = 0.8;
    sp.random_opening_moves = 14;
    sp.search.algorithm = Algorithm::Gumbel;
    let run = &mut cfg.run;
    run.samples_per_position = 8.0;
    run.replay_window = 50_000;
    run.value_search_weight = 0.5;
    run.lr_schedule = vec![(0, 0.002), (2000, 0.001), (5000, 0.0005), (10000, 0.00025)];
    run.baseline_every = 5;
    cfg
}

/// The settings `wgzero train` starts from for the game named `game`:
/// [`training_defaults`], and for Go (`go9`, ...) what a CPU can afford on a
/// game of 100-240 moves with 82+ actions:
/// - 32 games per iteration, full searches of 64 simulations on a quarter
///   of the moves, fast searches of 16, half the games opened with 1-6
///   random moves;
/// - 6 trained samples per full-search position (about 0.05 per self-play
///   evaluation);
/// - no rollout bootstrap (random playouts of a Go game are long and say
///   little); baselines `random` and rollout `mcts:100`, 10 games every 5
///   iterations (minimax cannot search 82 moves deep enough to mean
///   anything).
pub fn training_defaults_for(game: &str) -> ConfigFile {
    let mut cfg = training_defaults();
    if crate::game::go::is_go_name(game) {
        let sp = &mut cfg.selfplay;
        sp.games = 32;
        sp.simulations = 64;
        sp.fast_simulations = 16;
        sp.full_search_prob = 0.25;
        sp.batch = 64;
        sp.random_opening_share = 0.5;
        sp.random_opening_moves = 6;
        let run = &mut cfg.run;
        run.samples_per_position = 6.0;
        run.bootstrap_share = 0.0;
        run.baselines = vec!["random".into(), "mcts:100".into()];
        run.baseline_games = 10;
        run.baseline_every = 5;
    }
    cfg
}

/// Recursively overlays `over` onto `base` (tables merge, other values replace).
fn merge(base: &mut toml::Value, over: toml::Value) {
    match (base, over) {
        (toml::Value::Table(b), toml::Value::Table(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}
