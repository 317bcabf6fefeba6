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
    decode_network, encode_network, from_json, to_json, Incoming, NetworkInfo, Published,
    RunSettings, Transport,
};
use crate::error::{Error, Result};
use crate::files::write_atomic;
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
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
        for e in std::fs::read_dir(self.root.join("games"))?.flatten() {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !name.ends_with(".wgzr") || self.handed.contains(&path) {
                continue;
            }
            let t = e
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            files.push((t, path));
        }
        files.sort();
        Ok(files.into_iter().map(|(_, p)| p).collect())
    }
}

impl Transport for FolderTransport {
    fn publish_games(&mut self, games: &[(String, Vec<u8>)]) -> Vec<Result<Published>> {
        games
            .iter()
            .map(|(id, payload)| {
                if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(Error::Transport(format!("bad game id {id:?}")));
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
        let n = std::fs::read_dir(self.root.join("games"))?
            .flatten()
            .filter(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                !n.starts_with('.') && n.ends_with(".wgzr")
            })
            .count();
        Ok(n as u64)
    }

    fn ack_game(&mut self, game: &Incoming) -> Result<()> {
        let Some(path) = self.pending.remove(&game.token) else {
            return Err(Error::Transport(
                "acknowledging a game not handed out".into(),
            ));
        };
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        crate::files::sync_dir(path.parent());
        self.handed.remove(&path);
        Ok(())
    }

    fn put_best(&mut self, info: &NetworkInfo, model: &ModelBytes) -> Result<()> {
        let path = self
            .root
            .join("networks")
            .join(format!("{}.wgzn", info.object_name()));
        write_atomic(&path, &encode_network(model))?;
        write_atomic(&self.root.join("best.json"), &to_json(info))
    }

    fn best(&mut self) -> Result<Option<NetworkInfo>> {
        match std::fs::read(self.root.join("best.json")) {
            Ok(bytes) => Ok(Some(from_json("best.json", &bytes)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn poll_best(&mut self) -> Result<Option<NetworkInfo>> {
        let now = self.best()?;
        if now.is_some() && now != self.last_best {
            self.last_best = now.clone();
            return Ok(now);
        }
        Ok(None)
    }

    fn get_network(&mut self, info: &NetworkInfo) -> Result<ModelBytes> {
        let path = self
            .root
            .join("networks")
            .join(format!("{}.wgzn", info.object_name()));
        let bytes = std::fs::read(&path)
            .map_err(|e| Error::Transport(format!("{}: {e}", path.display())))?;
        decode_network(&bytes, info)
    }

    fn put_settings(&mut self, settings: &RunSettings) -> Result<()> {
        write_atomic(&self.root.join("settings.json"), &to_json(settings))
    }

    fn settings(&mut self) -> Result<Option<RunSettings>> {
        match std::fs::read(self.root.join("settings.json")) {
            Ok(bytes) => Ok(Some(from_json("settings.json", &bytes)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn describe(&self) -> String {
        format!("folder {}", self.root.display())
    }
}
