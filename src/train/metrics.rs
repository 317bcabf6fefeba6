//! What each step of an iteration measured, as typed records.
//!
//! A step's record waits in `state.json` (`pending`) until the iteration
//! ends; then one line of `metrics.jsonl` holds them all. Fields are declared
//! in alphabetical order and lines are written through a JSON map, so the
//! files are byte-for-byte what earlier versions wrote.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::arena::MatchResult;
use crate::game::Game;
use crate::selfplay::records::GameRecord;

/// The self-play step of one iteration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SelfPlayMetrics {
    pub average_batch: f64,
    /// Games played by rollout MCTS (the first iteration of a random network).
    pub bootstrap_games: usize,
    pub draws: usize,
    /// Share of positions whose hash was already seen in this iteration.
    pub duplicate_share: f64,
    pub evaluations: u64,
    pub evaluations_per_second: f64,
    pub first_player_wins: usize,
    /// Positions with a full search: the ones the replay buffer keeps.
    pub full_search_positions: usize,
    pub games: usize,
    pub games_per_second: f64,
    pub positions: usize,
    pub seconds: f64,
    /// Resignation (`[selfplay] resign_below`): games resigned, and the
    /// played-through games' false resignations.
    pub resign: crate::selfplay::ResignStats,
}

/// The training step of one iteration (losses averaged over its steps).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainMetrics {
    pub buffer_positions: usize,
    pub learning_rate: f64,
    pub policy_accuracy: f64,
    pub policy_loss: f64,
    pub samples_per_second: f64,
    pub seconds: f64,
    pub steps: usize,
    pub total_steps: u64,
    pub value_loss: f64,
    /// With auxiliary heads: the mean ownership, score and reply losses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aux: Option<AuxMetrics>,
}

/// The auxiliary heads' training losses (see [`crate::net::trainer::StepStats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuxMetrics {
    pub ownership_loss: f64,
    pub score_loss: f64,
    pub reply_loss: f64,
}

/// The trained network on held-out positions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HeldOutMetrics {
    pub policy_accuracy: f64,
    pub policy_loss: f64,
    pub positions: usize,
    /// Against game results.
    pub value_mse: f64,
    /// Spread of the predicted values; near 0: a dead value head.
    #[serde(default)]
    pub value_std: f64,
}

/// The metrics of an unfinished iteration's completed steps (`state.json`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Pending {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_out: Option<HeldOutMetrics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selfplay: Option<SelfPlayMetrics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train: Option<TrainMetrics>,
}

/// The arena: the candidate against the best network.
#[derive(Clone, Debug, Serialize)]
pub struct ArenaMetrics {
    /// Clamped to +-2000.
    pub elo: f64,
    pub promoted: bool,
    pub result: MatchResult,
    pub score: f64,
    pub seconds: f64,
}

/// The best network against one baseline player.
#[derive(Clone, Debug, Serialize)]
pub struct BaselineMetrics {
    pub result: MatchResult,
    pub score: f64,
}

/// One line of `metrics.jsonl`: a finished iteration.
#[derive(Clone, Debug, Serialize)]
pub struct IterationMetrics {
    /// The candidate against the best; `None` when no arena games are played.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arena: Option<ArenaMetrics>,
    pub baseline_seconds: f64,
    pub baselines: BTreeMap<String, BaselineMetrics>,
    /// The best network's checkpoint after the iteration.
    pub best: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_out: Option<HeldOutMetrics>,
    pub iteration: u64,
    pub peak_rss_mb: f64,
    pub promotions: u64,
    pub rss_mb: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selfplay: Option<SelfPlayMetrics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train: Option<TrainMetrics>,
}

impl IterationMetrics {
    /// The line as JSON (keys sorted, as `metrics.jsonl` has always had them).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("metrics serialise")
    }
}

/// Peak and current resident memory in MB (Linux, macOS, Windows).
pub use crate::process::memory_mb;

/// Share of positions whose hash was already seen among `games`' positions.
pub fn duplicate_share<G: Game>(game: &G, games: &[GameRecord]) -> f64 {
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
