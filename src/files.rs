//! File helpers shared by every layer that writes to disk: atomic writes
//! (a temporary file beside the target, fsync, rename), so that a process
//! killed at any moment leaves either the old file or the new one.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Writes `bytes` to `path` atomically: a temporary file beside it, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut tmp = PathBuf::from(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    tmp.set_file_name(format!(".{name}.{}.tmp", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    sync_dir(path.parent());
    Ok(())
}

/// Flushes a folder's entries (new names, renames) to disk, best effort.
pub fn sync_dir(dir: Option<&Path>) {
    if let Some(dir) = dir {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

/// A file's text; a missing or unreadable file is an [`Error::Model`] naming it.
pub fn read_model_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::Model(format!("{}: {e}", path.display())))
}

/// A file's bytes; a missing or unreadable file is an [`Error::Model`] naming it.
pub fn read_model_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::Model(format!("{}: {e}", path.display())))
}

/// The number after the highest `PREFIX` + number + `SUFFIX` file name in
/// `dir` (0 when there is none), e.g. the next `games-NNNNNN.wgzr` chunk.
pub fn next_numbered(dir: &Path, prefix: &str, suffix: &str) -> Result<usize> {
    let mut next = 0;
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        let number = name
            .strip_prefix(prefix)
            .and_then(|r| r.strip_suffix(suffix))
            .and_then(|n| n.parse::<usize>().ok());
        if let Some(n) = number {
            next = next.max(n + 1);
        }
    }
    Ok(next)
}

/// 64-bit FNV-1a of `bytes`: a fast content fingerprint (not cryptographic)
/// for model ids and file digests.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// The files of `dir` whose names end in `suffix`, oldest first (by
/// modification time, then name); hidden names (`.x`: temporary files of
/// [`write_atomic`]) are left out. A missing folder has none.
pub fn files_oldest_first(dir: &Path, suffix: &str) -> std::io::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !name.ends_with(suffix) || name.len() == suffix.len() {
            continue;
        }
        let t = e
            .metadata()
            .and_then(|m| m.modified())
            .unwrap_or(std::time::UNIX_EPOCH);
        files.push((t, e.path()));
    }
    files.sort();
    Ok(files.into_iter().map(|(_, p)| p).collect())
}

/// Removes a file; one already gone is fine.
pub fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// One line of a text stream read as bytes: `Ok(text)` without its line
/// ending, or `Err(reason)` for a line that is not UTF-8 (the reader goes
/// on with the next line: an interactive protocol answers an error instead
/// of ending). `None` at the end of the stream.
pub fn next_line(
    reader: &mut impl std::io::BufRead,
) -> std::io::Result<Option<std::result::Result<String, String>>> {
    let mut bytes = Vec::new();
    if reader.read_until(b'\n', &mut bytes)? == 0 {
        return Ok(None);
    }
    while matches!(bytes.last(), Some(b'\n' | b'\r')) {
        bytes.pop();
    }
    Ok(Some(String::from_utf8(bytes).map_err(|e| {
        format!(
            "the line is not valid UTF-8 (byte {} of the line)",
            e.utf8_error().valid_up_to() + 1
        )
    })))
}
