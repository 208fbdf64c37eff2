//! Temporary files that hold calls read from a large input, so that a lazy
//! frame can scan them in bounded memory.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A temporary file in the system's temporary folder, removed when dropped.
#[derive(Debug)]
pub struct SpillFile {
    path: PathBuf,
}

impl SpillFile {
    /// A new, empty temporary file, and its handle for writing.
    pub(crate) fn create() -> std::io::Result<(SpillFile, File)> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "callfunnel-{}-{}.parquet",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        let file = File::options().write(true).create_new(true).open(&path)?;
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
    }
}
