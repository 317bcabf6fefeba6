//! The settings file (`--config FILE`, TOML) shared by `selfplay`, `train`
//! and the tuned settings that `wgzero bench` writes.
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
use crate::net::trainer::TrainConfig;
use crate::selfplay::SelfPlayConfig;
use crate::train::run::RunConfig;

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
