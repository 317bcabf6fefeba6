//! The three steps of an iteration of the training loop. Each step reads
//! what it needs from the run folder, does its work, writes its results
//! (game file, checkpoint, metrics) and then moves `state.json` on, so an
//! interruption loses at most the unfinished step. Each returns a typed
//! outcome.

mod arena;
mod collect;
mod selfplay;
mod train;

use std::path::Path;

pub use arena::{arena_search, arena_step, ArenaOutcome};
pub(crate) use collect::clear_incoming;
pub use collect::{clear_stale, collect_step, Ingest};
pub use selfplay::{self_play_step, SelfPlayOutcome};
pub use train::{train_step, TrainOutcome};

use crate::config::ConfigFile;
use crate::game::Game;
use crate::net::{Precision, Selected};

/// What every step works with: the game, the run folder and its settings,
/// the device, and when to stop.
pub struct StepContext<'a, G: Game> {
    pub game: &'a G,
    pub run: &'a Path,
    pub cfg: &'a ConfigFile,
    pub device: &'a Selected,
    /// Inference precision in self-play and arena games.
    pub precision: Precision,
    /// Show progress bars.
    pub progress: bool,
    /// Abandon the step (with [`crate::Error::Interrupted`]) once this says so.
    pub stop: &'a dyn Fn() -> bool,
}

impl<G: Game> StepContext<'_, G> {
    /// A progress bar over `len` items, prefixed with `prefix` (hidden
    /// without `progress`).
    fn bar(&self, len: usize, what: &str, prefix: String) -> indicatif::ProgressBar {
        if !self.progress {
            return indicatif::ProgressBar::hidden();
        }
        let b = indicatif::ProgressBar::new(len as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(&format!(
                "{{prefix}} {{bar:30}} {{pos}}/{{len}} {what} {{msg}}"
            ))
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b.set_prefix(prefix);
        b
    }
}
