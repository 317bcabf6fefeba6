//! [`super::Transport`] over a shared folder (`--broker dir:PATH`):
//!
//! ```text
//! PATH/RUN/games/<id>.wgzr   a published game (written atomically; the same
//!                            id twice is one file); deleted when acknowledged
//! PATH/RUN/networks/net-<model id>.wgzn
//! PATH/RUN/best.json         the best network (written after its file)
//! PATH/RUN/settings.json     the run's settings
//! ```
//!
//! Delivery order is the order files appeared (modification time, then
//! name). For one machine, or machines sharing a file system that renames
//! atomically.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{
    decode_network, encode_network, from_json, newer_best, to_json, Incoming, NetworkInfo,
    Published, RunSettings, Transport,
};
use crate::error::{Error, Result};
use crate::files::{files_oldest_first, remove_if_present, sync_dir, write_atomic};
use crate::net::ModelBytes;

pub struct FolderTransport {
    root: PathBuf,
    /// Files handed out and not yet acknowledged, by token.
    pending: HashMap<u64, PathBuf>,
    handed: HashSet<PathBuf>,
    next_token: u64,
    last_best: Option<NetworkInfo>,
}

impl FolderTransport {
    /// The run `run` in the folder `dir` (created if needed).
    pub fn open(dir: &Path, run: &str) -> Result<Self> {
        let root = dir.join(run);
        for sub in ["games", "networks"] {
            std::fs::create_dir_all(root.join(sub))
                .map_err(|e| Error::Transport(format!("{}: {e}", root.join(sub).display())))?;
        }
        Ok(FolderTransport {
            root,
            pending: HashMap::new(),
            handed: HashSet::new(),
            next_token: 1,
            last_best: None,
        })
    }

    /// Published games not yet handed out, oldest first.
    fn waiting(&self) -> Result<Vec<PathBuf>> {
        let mut files = files_oldest_first(&self.root.join("games"), ".wgzr")?;
        files.retain(|p| !self.handed.contains(p));
        Ok(files)
    }

    /// Where the network `info` is stored.
    fn network_path(&self, info: &NetworkInfo) -> PathBuf {
        self.root
            .join("networks")
            .join(format!("{}.wgzn", info.object_name()))
    }

    /// The JSON file `name` of the run folder, if it exists.
    fn read_json<T: for<'de> serde::Deserialize<'de>>(&self, name: &str) -> Result<Option<T>> {
        match std::fs::read(self.root.join(name)) {
            Ok(bytes) => Ok(Some(from_json(name, &bytes)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

impl Transport for FolderTransport {
    fn publish_games(&mut self, games: &[(String, Vec<u8>)]) -> Vec<Result<Published>> {
        games
            .iter()
            .map(|(id, payload)| {
                if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(Error::Rejected(format!("bad game id {id:?}")));
                }
                let path = self.root.join("games").join(format!("{id}.wgzr"));
                // A game still waiting under this id: keep it (and its
                // place in the order), as the broker's deduplication does.
                if path.exists() {
                    return Ok(Published { duplicate: true });
                }
                write_atomic(&path, payload)?;
                Ok(Published { duplicate: false })
            })
            .collect()
    }

    fn open_games(&mut self) -> Result<()> {
        self.pending.clear();
        self.handed.clear();
        Ok(())
    }

    fn fetch_games(&mut self, max: usize, wait: Duration) -> Result<Vec<Incoming>> {
        let until = Instant::now() + wait;
        loop {
            let files = self.waiting()?;
            if !files.is_empty() || Instant::now() >= until {
                let mut out = Vec::new();
                for path in files.into_iter().take(max) {
                    let Ok(payload) = std::fs::read(&path) else {
                        continue; // acknowledged meanwhile by another consumer
                    };
                    let token = self.next_token;
                    self.next_token += 1;
                    let id = path.file_stem().map(|s| s.to_string_lossy().into_owned());
                    self.handed.insert(path.clone());
                    self.pending.insert(token, path);
                    out.push(Incoming {
                        payload,
                        id,
                        sequence: 0,
                        deliveries: 1,
                        token,
                    });
                }
                return Ok(out);
            }
            std::thread::sleep(Duration::from_millis(20).min(until - Instant::now()));
        }
    }

    fn backlog(&mut self) -> Result<u64> {
        Ok(files_oldest_first(&self.root.join("games"), ".wgzr")?.len() as u64)
    }

    fn ack_game(&mut self, game: &Incoming) -> Result<()> {
        let Some(path) = self.pending.remove(&game.token) else {
            return Err(Error::Transport(
                "acknowledging a game not handed out".into(),
            ));
        };
        remove_if_present(&path)?;
        sync_dir(path.parent());
        self.handed.remove(&path);
        Ok(())
    }

    fn put_best(&mut self, info: &NetworkInfo, model: &ModelBytes) -> Result<()> {
        write_atomic(&self.network_path(info), &encode_network(model))?;
        write_atomic(&self.root.join("best.json"), &to_json(info))
    }

    fn best(&mut self) -> Result<Option<NetworkInfo>> {
        self.read_json("best.json")
    }

    fn poll_best(&mut self) -> Result<Option<NetworkInfo>> {
        let now = self.best()?;
        Ok(newer_best(&mut self.last_best, now))
    }

    fn get_network(&mut self, info: &NetworkInfo) -> Result<ModelBytes> {
        let path = self.network_path(info);
        let bytes = std::fs::read(&path)
            .map_err(|e| Error::Transport(format!("{}: {e}", path.display())))?;
        decode_network(&bytes, info)
    }

    fn put_settings(&mut self, settings: &RunSettings) -> Result<()> {
        write_atomic(&self.root.join("settings.json"), &to_json(settings))
    }

    fn settings(&mut self) -> Result<Option<RunSettings>> {
        self.read_json("settings.json")
    }

    fn describe(&self) -> String {
        format!("folder {}", self.root.display())
    }
}
