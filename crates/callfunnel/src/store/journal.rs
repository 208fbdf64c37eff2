//! How an append switches its month files into a folder store all at once.
//!
//! Every new month file is first written whole under a hidden name in the
//! folder (`.YYYY-MM.parquet.PID.new.parquet`, which no reader lists). The
//! journal, `.switch.json` in the folder, then names each switch (a month
//! file replaced by its new file, or removed); it is written atomically
//! before the first rename and removed after the last. An append stopped
//! in between leaves the journal: a reader reads the folder as the journal
//! says it will be (the new file of a month not yet renamed instead of the
//! old one, a month to remove left out), so it sees the append whole and
//! every call once; the next writer, holding the store's lock, completes
//! the switch ([`complete`]). An append stopped before the journal was
//! written left the store as it was (its hidden files are removed by the
//! next writer).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::WriteError;
use crate::scratch::{self, write_replacing};

/// The journal's name in the folder store.
const JOURNAL: &str = ".switch.json";

/// What the new month files of an append end in (after `.YYYY-MM.parquet.PID.`).
pub(super) const NEW_MONTH: &str = "new.parquet";

/// Whether `name` is one of an append's own files in a folder store: its
/// journal or a new month file waiting to be switched in.
pub(crate) fn is_append_file(name: &str) -> bool {
    name == JOURNAL || (name.starts_with('.') && name.ends_with(&format!(".{NEW_MONTH}")))
}

/// The switches of one append, as its journal holds them.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Journal {
    switches: Vec<Switch>,
}

/// One month file switched: replaced by `new`, or removed (no `new`).
#[derive(Debug, Serialize, Deserialize)]
struct Switch {
    /// The month file's name, `YYYY-MM.parquet`.
    month: String,
    /// The name of its new file in the folder, hidden; none when the month
    /// is removed (all its calls replaced by calls of other months).
    new: Option<String>,
}

impl Journal {
    /// Adds the switch of the month file `month` to the file `new` (both in
    /// the folder).
    pub(super) fn replace(&mut self, month: &Path, new: &Path) {
        self.switches.push(Switch {
            month: name_of(month),
            new: Some(name_of(new)),
        });
    }

    /// Adds the removal of the month file `month`.
    pub(super) fn remove(&mut self, month: &Path) {
        self.switches.push(Switch {
            month: name_of(month),
            new: None,
        });
    }

    /// The new files written for the switch, in `folder`.
    fn new_files(&self, folder: &Path) -> Vec<PathBuf> {
        let new = self
            .switches
            .iter()
            .filter_map(|switch| switch.new.as_ref());
        new.map(|name| folder.join(name)).collect()
    }

    /// The journal of `folder`, if an append's switch is under way or was
    /// interrupted there. A journal naming anything but a month file and a
    /// hidden file of the folder is refused as damaged.
    fn read(folder: &Path) -> std::io::Result<Option<Journal>> {
        let bytes = match std::fs::read(folder.join(JOURNAL)) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        let damaged = |what: String| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {what}", folder.join(JOURNAL).display()),
            )
        };
        let journal: Journal = serde_json::from_slice(&bytes)
            .map_err(|error| damaged(format!("not a switch journal ({error})")))?;
        for switch in &journal.switches {
            let plain = |name: &str| !name.contains(['/', '\\']) && name != ".." && name != ".";
            let month_ok = super::folder::is_month_file_name(&switch.month);
            let new_ok = match switch.new.as_deref() {
                Some(new) => new.starts_with('.') && plain(new),
                None => true,
            };
            if !month_ok || !new_ok {
                return Err(damaged(format!("names a file it may not: {switch:?}")));
            }
        }
        Ok(Some(journal))
    }

    /// Writes the journal into `folder`, atomically and flushed to disk.
    fn write(&self, folder: &Path) -> std::io::Result<()> {
        let path = folder.join(JOURNAL);
        write_replacing(
            &path,
            |error| error,
            |out| {
                serde_json::to_writer(&mut *out, self)?;
                out.flush()?;
                out.get_ref().sync_all()
            },
        )
    }

    /// Makes each switch in `folder` that is not yet made (a rename whose
    /// new file is still there, a month file still there to remove), then
    /// removes the journal; `pause` runs after the first rename. The number
    /// of switches.
    fn roll_forward(&self, folder: &Path, mut pause: impl FnMut()) -> std::io::Result<usize> {
        for switch in &self.switches {
            let month = folder.join(&switch.month);
            let outcome = match &switch.new {
                Some(new) => std::fs::rename(folder.join(new), &month),
                None => std::fs::remove_file(&month),
            };
            match outcome {
                Ok(()) => pause(),
                // Made before the switch was interrupted.
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        }
        std::fs::remove_file(folder.join(JOURNAL))?;
        Ok(self.switches.len())
    }
}

/// Switches the files of `journal` into the folder store `folder` (whose
/// lock the caller holds): the journal written, then each rename, then the
/// journal removed, never interrupted half way by a signal's clean-up
/// ([`scratch::uninterrupted`]). Until the journal is written, a failure
/// leaves the store as it was (the new files are removed); after, the new
/// files are the store's (the next writer completes the switch).
pub(super) fn switch_in(folder: &Path, journal: &Journal) -> Result<(), WriteError> {
    let new_files = journal.new_files(folder);
    let io_error = |source| WriteError::Io {
        path: folder.to_path_buf(),
        source,
    };
    scratch::uninterrupted(|| {
        if let Err(error) = journal.write(folder) {
            remove_new_files(&new_files);
            return Err(io_error(error));
        }
        for file in &new_files {
            scratch::forget(file);
        }
        journal
            .roll_forward(folder, pause_for_tests())
            .map(drop)
            .map_err(io_error)
    })
}

/// Removes the new files of a switch that did not start.
pub(super) fn remove_new_files(files: &[PathBuf]) {
    for file in files {
        // Best effort: a file left is hidden, removed by the next writer.
        let _ = std::fs::remove_file(file);
        scratch::forget(file);
    }
}

/// Completes the switch of an append interrupted in the folder store
/// `folder` (whose lock the caller holds); the number of month files
/// switched, if there was one.
pub(super) fn complete(folder: &Path) -> Result<Option<usize>, WriteError> {
    let io_error = |source| WriteError::Io {
        path: folder.to_path_buf(),
        source,
    };
    match Journal::read(folder).map_err(io_error)? {
        Some(journal) => journal
            .roll_forward(folder, || {})
            .map(Some)
            .map_err(io_error),
        None => Ok(None),
    }
}

/// The month files of the folder store `folder`, `files` (as listed), as a
/// reader is to read them: when an append's switch is under way or was
/// interrupted, as its journal says they will be.
pub(crate) fn files_to_read(folder: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let Some(journal) = Journal::read(folder)? else {
        return Ok(());
    };
    for switch in &journal.switches {
        let month = folder.join(&switch.month);
        files.retain(|file| *file != month);
        match &switch.new {
            Some(new) if folder.join(new).is_file() => files.push(folder.join(new)),
            // Renamed already.
            Some(_) => files.push(month),
            None => {}
        }
    }
    files.sort_by_key(|file| name_of(file).trim_start_matches('.').to_string());
    Ok(())
}

/// The file name of `path`.
fn name_of(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The test hook of the switch: with `CALLFUNNEL_TEST_PAUSE_SWITCH` set to
/// a path, the first month file switched in, the process creates that file
/// and waits until it is removed, so that a test can stop the process (or
/// start another writer) half way through a switch. Not an interface: a
/// test hook only, inert unless the variable is set.
fn pause_for_tests() -> impl FnMut() {
    let flag = std::env::var_os("CALLFUNNEL_TEST_PAUSE_SWITCH").map(PathBuf::from);
    let mut paused = false;
    move || {
        let Some(flag) = flag.as_deref().filter(|_| !paused) else {
            return;
        };
        paused = true;
        if std::fs::write(flag, b"").is_ok() {
            while flag.exists() {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_follows_the_journal_and_a_journal_naming_other_files_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path();
        for name in [
            "2024-01.parquet",
            "2024-02.parquet",
            ".2024-01.parquet.7.new.parquet",
        ] {
            std::fs::write(folder.join(name), b"calls").unwrap();
        }
        let listed = || {
            vec![
                folder.join("2024-01.parquet"),
                folder.join("2024-02.parquet"),
            ]
        };
        let mut journal = Journal::default();
        journal.replace(
            &folder.join("2024-01.parquet"),
            &folder.join(".2024-01.parquet.7.new.parquet"),
        );
        journal.replace(
            &folder.join("2024-03.parquet"),
            &folder.join(".2024-03.parquet.7.new.parquet"),
        );
        journal.remove(&folder.join("2024-02.parquet"));
        journal.write(folder).unwrap();
        // January not yet renamed, March renamed already, February removed.
        std::fs::write(folder.join("2024-03.parquet"), b"calls").unwrap();
        let mut files = listed();
        files_to_read(folder, &mut files).unwrap();
        assert_eq!(
            files,
            [
                folder.join(".2024-01.parquet.7.new.parquet"),
                folder.join("2024-03.parquet")
            ]
        );
        assert_eq!(complete(folder).unwrap(), Some(3));
        let mut left: Vec<String> = std::fs::read_dir(folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["2024-01.parquet", "2024-03.parquet"]);
        assert_eq!(complete(folder).unwrap(), None);

        for bad in [
            r#"{"switches":[{"month":"../2024-01.parquet","new":null}]}"#,
            r#"{"switches":[{"month":"2024-01.parquet","new":"../../etc/passwd"}]}"#,
            r#"{"switches":[{"month":"2024-01.parquet","new":"visible.parquet"}]}"#,
            "not json",
        ] {
            std::fs::write(folder.join(JOURNAL), bad).unwrap();
            let error = files_to_read(folder, &mut listed()).unwrap_err();
            assert_eq!(error.kind(), std::io::ErrorKind::InvalidData, "{bad}");
        }
    }
}
