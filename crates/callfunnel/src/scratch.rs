//! This process's temporary files and folders: calls spilled from memory
//! ([`SpillFile`]), a folder of them beside a store being written
//! (`SpillFolder`), a file being written under a hidden name until it is
//! complete ([`write_replacing`]). Each is tracked from its creation until
//! it is removed or put in place, so that a run stopped by a signal (Ctrl-C,
//! a `kill`) can remove them all ([`remove_all`]) instead of leaving
//! gigabytes of spilled calls behind. A store being replaced is never among
//! them: only what no reader may take for a store.
//!
//! A write to a temporary file that fails (a full disk, a file size limit)
//! is a [`TemporaryWriteError`], whatever the run was reading at the time:
//! the run could not write, its input is not at fault.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// The paths made and not yet removed or put in place.
static LIVE: Registry = Registry::new();

/// Held while new files are switched into a store ([`uninterrupted`]).
static SWITCHING: Mutex<()> = Mutex::new(());

/// What a file or folder being written under a hidden name (see
/// [`hidden_sibling`]) is called until it is complete: `.NAME.PID.partial`.
pub(crate) const PARTIAL: &str = "partial";

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
/// no store is left half written (see [`write_replacing`]). It waits for a
/// switch of new files into a store under way to end ([`uninterrupted`]),
/// and no switch starts after it: the process is about to exit.
pub fn remove_all() -> usize {
    let switching = SWITCHING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    std::mem::forget(switching);
    LIVE.remove_all()
}

/// Runs `switch` (a few renames putting a store's new files in place, or
/// a file made and tracked) without [`remove_all`] running in the middle:
/// a signal then stops the run before the switch or after it, never half
/// way.
pub(crate) fn uninterrupted<T>(switch: impl FnOnce() -> T) -> T {
    let _switching = SWITCHING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    switch()
}

/// A write to a temporary file that failed: the run could not write (a
/// full disk, a file size limit), whatever it was reading at the time.
#[derive(Debug, thiserror::Error)]
#[error("writing the temporary file {}: {source}", path.display())]
pub struct TemporaryWriteError {
    /// The temporary file.
    pub path: PathBuf,
    /// Why the write failed.
    pub source: io::Error,
}

impl TemporaryWriteError {
    /// The failed write of a temporary file behind `error`, if any: `error`
    /// itself or one of its sources, or the error an I/O error among them
    /// carries (as Polars passes one on).
    pub fn find<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Self> {
        let mut next = Some(error);
        while let Some(error) = next {
            let carried = error
                .downcast_ref::<io::Error>()
                .and_then(io::Error::get_ref)
                .and_then(|inner| inner.downcast_ref::<Self>());
            if let Some(found) = error.downcast_ref::<Self>().or(carried) {
                return Some(found);
            }
            next = error.source();
        }
        None
    }

    /// The same failure again, as an I/O error of its kind carrying it.
    fn to_io_error(&self) -> io::Error {
        let again = TemporaryWriteError {
            path: self.path.clone(),
            source: io::Error::new(self.source.kind(), self.source.to_string()),
        };
        io::Error::new(self.source.kind(), again)
    }
}

/// A temporary file open for writing: a failed write is an I/O error
/// carrying a [`TemporaryWriteError`], and the first one is kept
/// ([`TemporaryWriter::failures`]) for a writer above it that reports the
/// errors of its output as text only (Parquet's does).
#[derive(Debug)]
pub(crate) struct TemporaryWriter {
    file: File,
    path: PathBuf,
    failures: FirstFailure,
}

/// The first failed write of a [`TemporaryWriter`], shared with what writes
/// through it.
#[derive(Debug, Clone, Default)]
pub(crate) struct FirstFailure(Arc<Mutex<Option<TemporaryWriteError>>>);

impl FirstFailure {
    /// `outcome`, its error replaced by the failed write behind it, if any.
    pub(crate) fn explain<T>(
        &self,
        outcome: polars::prelude::PolarsResult<T>,
    ) -> polars::prelude::PolarsResult<T> {
        outcome.map_err(|error| {
            let first = self
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            match first.as_ref() {
                Some(failure) => failure.to_io_error().into(),
                None => error,
            }
        })
    }
}

impl TemporaryWriter {
    /// Creates (or truncates) the temporary file at `path`.
    pub(crate) fn create(path: &Path) -> io::Result<TemporaryWriter> {
        Ok(TemporaryWriter::new(File::create(path)?, path))
    }

    /// Writes to `file`, the temporary file at `path`.
    fn new(file: File, path: &Path) -> TemporaryWriter {
        TemporaryWriter {
            file,
            path: path.to_path_buf(),
            failures: FirstFailure::default(),
        }
    }

    /// The first failed write, shared.
    pub(crate) fn failures(&self) -> FirstFailure {
        self.failures.clone()
    }

    /// `source`, a failed write, kept when first and carried as a
    /// [`TemporaryWriteError`].
    fn failed(&self, source: io::Error) -> io::Error {
        let failure = TemporaryWriteError {
            path: self.path.clone(),
            source,
        };
        let carried = failure.to_io_error();
        let mut first = self
            .failures
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        first.get_or_insert(failure);
        carried
    }
}

impl Write for TemporaryWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.file.write(bytes).map_err(|error| self.failed(error))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush().map_err(|error| self.failed(error))
    }
}

/// A temporary file in the system's temporary folder, removed when dropped.
#[derive(Debug)]
pub struct SpillFile {
    path: PathBuf,
}

impl SpillFile {
    /// A new, empty temporary file named with `extension`, and its handle
    /// for writing.
    pub(crate) fn create(extension: &str) -> io::Result<(SpillFile, TemporaryWriter)> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "callfunnel-{}-{}.{extension}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        let file = File::options().write(true).create_new(true).open(&path)?;
        track(&path);
        let writer = TemporaryWriter::new(file, &path);
        Ok((SpillFile { path }, writer))
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
    pub(crate) fn beside(path: &Path, what: &str) -> io::Result<SpillFolder> {
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
    io_error: impl Fn(io::Error) -> E,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<T, E>,
) -> Result<T, E> {
    let (temporary, value) = write_aside(path, PARTIAL, &io_error, write)?;
    let renamed = std::fs::rename(&temporary, path).map_err(&io_error);
    if renamed.is_err() {
        // Best effort: the temporary file may not exist.
        let _ = std::fs::remove_file(&temporary);
    }
    forget(&temporary);
    renamed.map(|()| value)
}

/// Writes a new file for `path` through `write`, complete and flushed,
/// under a hidden name beside it ending in `what` (see [`hidden_sibling`]),
/// left there for the caller to put in place; until then it is a tracked
/// temporary (see [`forget`]). On failure it is removed. Returns its path
/// and what `write` returned.
pub(crate) fn write_aside<T, E>(
    path: &Path,
    what: &str,
    io_error: impl Fn(io::Error) -> E,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<T, E>,
) -> Result<(PathBuf, T), E> {
    let temporary = hidden_sibling(path, what);
    track(&temporary);
    let outcome = File::create(&temporary)
        .map_err(&io_error)
        .and_then(|file| {
            let mut out = BufWriter::with_capacity(1 << 20, file);
            let value = write(&mut out)?;
            out.flush().map_err(&io_error)?;
            Ok(value)
        });
    match outcome {
        Ok(value) => Ok((temporary, value)),
        Err(error) => {
            // Best effort: the temporary file may not exist.
            let _ = std::fs::remove_file(&temporary);
            forget(&temporary);
            Err(error)
        }
    }
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
