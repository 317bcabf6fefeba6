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
//! ```
//! Every field is optional (missing ones take their documented defaults);
//! unknown fields are errors.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::net::trainer::TrainConfig;
use crate::selfplay::SelfPlayConfig;

/// Everything a settings file can hold.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConfigFile {
    pub selfplay: SelfPlayConfig,
    pub train: TrainConfig,
}

impl ConfigFile {
    /// Reads a TOML settings file; errors name the file and the field.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    /// The settings as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("settings serialise")
    }
}
