//! The worker's spool: each finished game is written here (atomically, one
//! file per game, named by its id) before it is published, and deleted only
//! once the broker has acknowledged it. A worker that starts resends what
//! it finds, so a game that reached the spool is never lost; the broker and
//! the trainer drop the copies of a game sent twice.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::files::{files_oldest_first, remove_if_present, write_atomic};

/// The spool's folder of games the broker refused for good.
pub const REJECTED: &str = "rejected";

pub struct Spool {
    dir: PathBuf,
}

/// A spooled game: its id (32 hex digits) and file.
#[derive(Clone, Debug)]
pub struct Spooled {
    pub id: String,
    pub path: PathBuf,
}

impl Spool {
    /// The spool in `dir` (created if needed).
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Transport(format!("spool {}: {e}", dir.display())))?;
        Ok(Spool {
            dir: dir.to_path_buf(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes a game (fsync, rename, fsync of the folder).
    pub fn put(&self, id: &str, payload: &[u8]) -> Result<Spooled> {
        let path = self.dir.join(format!("{id}.wgzr"));
        write_atomic(&path, payload)?;
        Ok(Spooled {
            id: id.to_string(),
            path,
        })
    }

    /// The games in the spool, oldest first.
    pub fn list(&self) -> Result<Vec<Spooled>> {
        Ok(files_oldest_first(&self.dir, ".wgzr")?
            .into_iter()
            .map(|path| Spooled {
                id: stem(&path),
                path,
            })
            .collect())
    }

    /// Moves a game the broker refused for good to `rejected/` (beside a
    /// `.why.txt` with the reason), out of the publishing queue but kept
    /// for a person to look at. Returns its new path.
    pub fn reject(&self, s: &Spooled, why: &str) -> Result<PathBuf> {
        let dir = self.dir.join(REJECTED);
        std::fs::create_dir_all(&dir)?;
        let to = dir.join(format!("{}.wgzr", s.id));
        write_atomic(&dir.join(format!("{}.why.txt", s.id)), why.as_bytes())?;
        std::fs::rename(&s.path, &to)?;
        crate::files::sync_dir(Some(&self.dir));
        Ok(to)
    }

    /// Removes an acknowledged game (already gone is fine: another worker
    /// sharing the spool sent it).
    pub fn remove(&self, s: &Spooled) -> Result<()> {
        Ok(remove_if_present(&s.path)?)
    }
}

/// A game file's id: its name without `.wgzr`.
fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}
