//! The temporary files and folders this process made and has not yet
//! removed or put in place, so that a run stopped by a signal (Ctrl-C, a
//! `kill`) can remove them ([`remove_all`]) instead of leaving gigabytes of
//! spilled calls behind. A store being replaced is never among them: only
//! what no reader may take for a store.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
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
/// no store is left half written (see [`crate::convert::write_replacing`]).
pub fn remove_all() -> usize {
    LIVE.remove_all()
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
