//! This process's temporary files and folders: calls spilled from memory
//! ([`SpillFile`]), a folder of them beside a store being written
//! (`SpillFolder`), a file being written under a hidden name until it is
//! complete ([`write_replacing`]). Each is tracked from its creation until
//! it is removed or put in place, so that a run stopped by a signal (Ctrl-C,
//! a `kill`) can remove them all ([`remove_all`]) instead of leaving
//! gigabytes of spilled calls behind. A store being replaced is never among
//! them: only what no reader may take for a store.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// The paths made and not yet removed or put in place.
static LIVE: Registry = Registry::new();

/// Marks `path` as temporary: [`remove_all`] removes it until [`forget`].
pub(crate) fn track(path: &Path) {
    LIVE.track(path);
}

/// `path` is no longer temporary (removed, or renamed into place).
pub(crate) fn forget(path: &Path) {
    LIVE.forget(path);
}

/// Removes every temporary file and folder of this process still there and
/// returns how many were removed. For a handler of an interrupt, just
/// before the process exits; whatever was being written is then lost, and
/// no store is left half written (see [`write_replacing`]).
pub fn remove_all() -> usize {
    LIVE.remove_all()
}

/// A temporary file in the system's temporary folder, removed when dropped.
#[derive(Debug)]
pub struct SpillFile {
    path: PathBuf,
}

impl SpillFile {
    /// A new, empty temporary file named with `extension`, and its handle
    /// for writing.
    pub(crate) fn create(extension: &str) -> std::io::Result<(SpillFile, File)> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "callfunnel-{}-{}.{extension}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        let file = File::options().write(true).create_new(true).open(&path)?;
        track(&path);
        Ok((SpillFile { path }, file))
    }

    /// Where the file is.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SpillFile {
    fn drop(&mut self) {
        // Best effort: the folder is the system's temporary one.
        let _ = std::fs::remove_file(&self.path);
        forget(&self.path);
    }
}

/// A hidden temporary folder beside a file or folder (on its disk, where a
/// store is written), removed when dropped.
pub(crate) struct SpillFolder {
    path: PathBuf,
}

impl SpillFolder {
    /// A new hidden folder beside `path`, its name ending in `what`.
    pub(crate) fn beside(path: &Path, what: &str) -> std::io::Result<SpillFolder> {
        let path = hidden_sibling(path, what);
        std::fs::create_dir(&path)?;
        track(&path);
        Ok(SpillFolder { path })
    }

    /// Where the folder is.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SpillFolder {
    fn drop(&mut self) {
        // Best effort: a failure leaves a hidden folder behind, never a store.
        let _ = std::fs::remove_dir_all(&self.path);
        forget(&self.path);
    }
}

/// Writes `path` through `write`, under a temporary name in the same folder
/// renamed to `path` once complete (and flushed); on failure the temporary
/// file is removed and `path` is left as it was. A reader never sees a
/// partial file.
pub fn write_replacing<T, E>(
    path: &Path,
    io_error: impl Fn(std::io::Error) -> E,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<T, E>,
) -> Result<T, E> {
    let temporary = hidden_sibling(path, "partial");
    track(&temporary);
    let outcome = File::create(&temporary)
        .map_err(&io_error)
        .and_then(|file| {
            let mut out = BufWriter::with_capacity(1 << 20, file);
            let value = write(&mut out)?;
            out.flush().map_err(&io_error)?;
            Ok(value)
        })
        .and_then(|value| {
            std::fs::rename(&temporary, path).map_err(&io_error)?;
            Ok(value)
        });
    if outcome.is_err() {
        // Best effort: the temporary file may not exist.
        let _ = std::fs::remove_file(&temporary);
    }
    forget(&temporary);
    outcome
}

/// A hidden name beside `path` for this process's temporary file or
/// folder: `.NAME.PID.what`.
pub(crate) fn hidden_sibling(path: &Path, what: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.{what}", std::process::id()))
}

/// A set of temporary paths.
struct Registry(Mutex<BTreeSet<PathBuf>>);

impl Registry {
    const fn new() -> Self {
        Registry(Mutex::new(BTreeSet::new()))
    }

    /// The paths (a panic elsewhere does not lose them).
    fn paths(&self) -> MutexGuard<'_, BTreeSet<PathBuf>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn track(&self, path: &Path) {
        self.paths().insert(path.to_path_buf());
    }

    fn forget(&self, path: &Path) {
        self.paths().remove(path);
    }

    fn remove_all(&self) -> usize {
        let paths = std::mem::take(&mut *self.paths());
        paths.iter().filter(|path| remove(path)).count()
    }
}

/// Removes the file or folder at `path`; whether it was there.
fn remove(path: &Path) -> bool {
    if path.is_dir() {
        std::fs::remove_dir_all(path).is_ok()
    } else {
        std::fs::remove_file(path).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracked_paths_are_removed_and_forgotten_ones_kept() {
        // A registry of its own: the process's one belongs to the other tests.
        let registry = Registry::new();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("spill.parquet");
        let folder = dir.path().join("months");
        let kept = dir.path().join("store.parquet");
        std::fs::write(&file, b"calls").unwrap();
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("24291-000000.parquet"), b"calls").unwrap();
        std::fs::write(&kept, b"store").unwrap();
        for path in [&file, &folder, &kept] {
            registry.track(path);
        }
        registry.forget(&kept);
        assert_eq!(registry.remove_all(), 2);
        assert!(!file.exists() && !folder.exists());
        assert!(kept.exists());
        // Nothing is tracked any more.
        assert_eq!(registry.remove_all(), 0);
    }
}
