//! A reader's fixed view of a folder store: its month files as one moment
//! of the store holds them, whatever an append switches in while a query
//! reads them.
//!
//! A query opens the month files as it goes, so a query reading them by
//! name while an append switches months would read some months old and
//! some new (a call moved between them counted twice, or not at all). The
//! reader therefore hard-links the month files, as the journal says they
//! are to be read ([`super::files_to_read`]), into a hidden folder beside
//! the store (`.NAME.PID.snapshotN`, on the store's disk, removed when the
//! load is dropped or the process is interrupted, and by the next writer
//! after a `kill -9`), then resolves the store again: when every file it
//! resolves is the very file linked, the links are one state of the store,
//! and a link keeps its file's bytes when an append renames a new file over
//! its name. Otherwise an append switched months in between, and the
//! snapshot is made again, at most [`MAX_ATTEMPTS`] times.
//!
//! Where a link cannot be made (a store the reader may not write beside, a
//! file system without hard links), the month files are read by name, once
//! the same check found two resolutions naming the same files: the state
//! the query starts from is whole, and a note says that an append switching
//! months during the query is not guarded against.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::files_to_read;
use super::folder::is_month_file_name;
use crate::scratch::SpillFolder;

/// How many times a snapshot is made before a load gives up on a store
/// that an append keeps changing.
pub(crate) const MAX_ATTEMPTS: usize = 5;

/// The hidden folder of links a load reads a folder store through; removed
/// when dropped (keep it while the load's frame is used).
pub(crate) struct Snapshot {
    _links: Option<SpillFolder>,
}

/// The month files to read of the folder store `folder`, whose files (as a
/// folder is listed, before its journal is followed) `list` gives: each as
/// the reader names it (in messages) and the path to read it at. Also the
/// snapshot holding the links, and notes for the load's summary (a snapshot
/// made again, or not made).
pub(crate) struct FolderView {
    /// `(shown, read)` of each file, in order.
    pub files: Vec<(PathBuf, PathBuf)>,
    /// The links read; keep it while they are.
    pub snapshot: Snapshot,
    /// What the summary says of the view.
    pub notes: Vec<String>,
}

/// The view of the folder store `folder` a load reads (see the module).
pub(crate) fn view(
    folder: &Path,
    list: impl Fn() -> io::Result<Vec<PathBuf>>,
) -> io::Result<FolderView> {
    let resolve = || -> io::Result<Vec<PathBuf>> {
        let mut files = list()?;
        files_to_read(folder, &mut files)?;
        Ok(files)
    };
    let listed = list()?;
    let month_file = |file: &PathBuf| {
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        is_month_file_name(&name)
    };
    if !listed.iter().all(month_file) {
        // Not a folder store: no append switches its files.
        let files = resolve()?;
        return Ok(FolderView {
            files: files.into_iter().map(|file| (file.clone(), file)).collect(),
            snapshot: Snapshot { _links: None },
            notes: Vec::new(),
        });
    }
    let mut notes = Vec::new();
    for attempt in 1..=MAX_ATTEMPTS {
        let files = resolve()?;
        let (links, linked) = match link_all(folder, &files) {
            Ok(linked) => (Some(linked.0), linked.1),
            Err(error) => {
                if attempt == 1 {
                    notes.push(format!(
                    "{}: its month files could not be linked for this run ({error}): they are read by name, and an append switching months during the run may change what it reads",
                    folder.display()
                    ));
                }
                (None, files.clone())
            }
        };
        pause_for_tests(attempt);
        let read = identities(&linked)?;
        if resolve().and_then(|again| identities(&again)).ok() == Some(read) {
            return Ok(FolderView {
                files: files.into_iter().zip(linked).collect(),
                snapshot: Snapshot { _links: links },
                notes,
            });
        }
        notes.push(format!(
            "{}: an append switched months in while the store was being opened; opened again",
            folder.display()
        ));
    }
    Err(io::Error::other(format!(
        "an append switched months in each of the {MAX_ATTEMPTS} times the store was opened; try again once it has finished"
    )))
}

/// Links `files` into a new hidden folder beside `folder`; the folder and
/// the links, in order.
fn link_all(folder: &Path, files: &[PathBuf]) -> io::Result<(SpillFolder, Vec<PathBuf>)> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let what = format!("snapshot{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let links = SpillFolder::beside(folder, &what)?;
    let mut linked = Vec::with_capacity(files.len());
    for file in files {
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        let link = links.path().join(name.trim_start_matches('.'));
        std::fs::hard_link(file, &link)?;
        linked.push(link);
    }
    Ok((links, linked))
}

/// What tells a file apart from any other: its device and inode, its size
/// and the time it was last changed.
type Identity = (u64, u64, u64, i64, i64);

/// The identity of each file of `paths`.
fn identities(paths: &[PathBuf]) -> io::Result<Vec<Identity>> {
    paths
        .iter()
        .map(|path| {
            let metadata = std::fs::metadata(path)?;
            Ok((
                metadata.dev(),
                metadata.ino(),
                metadata.size(),
                metadata.mtime(),
                metadata.mtime_nsec(),
            ))
        })
        .collect()
}

/// The test hook of a reader: with `CALLFUNNEL_TEST_PAUSE_SNAPSHOT` set to
/// a path, the first snapshot made, before the store is resolved again,
/// the process creates that file and waits until it is removed, so that a
/// test can switch months in at that moment. Not an interface: a test hook
/// only, inert unless the variable is set.
fn pause_for_tests(attempt: usize) {
    let Some(flag) = std::env::var_os("CALLFUNNEL_TEST_PAUSE_SNAPSHOT").map(PathBuf::from) else {
        return;
    };
    if attempt == 1 && std::fs::write(&flag, b"").is_ok() {
        while flag.exists() {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// The entries of `folder`, sorted.
    fn entries(folder: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// A folder store `calls` in `dir` of two months, holding `january`
    /// and `february`: the folder and its month files.
    fn store_of_two_months(dir: &Path) -> (PathBuf, [PathBuf; 2]) {
        let folder = dir.join("calls");
        std::fs::create_dir(&folder).unwrap();
        let months = [
            folder.join("2024-01.parquet"),
            folder.join("2024-02.parquet"),
        ];
        for (month, text) in months.iter().zip(["january", "february"]) {
            std::fs::write(month, text).unwrap();
        }
        (folder, months)
    }

    #[test]
    fn month_files_are_read_through_links_removed_with_the_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let (folder, months) = store_of_two_months(dir.path());
        let view = view(&folder, || Ok(months.to_vec())).unwrap();
        let links = format!(".calls.{}.snapshot", std::process::id());
        let shown: Vec<&PathBuf> = view.files.iter().map(|(shown, _)| shown).collect();
        assert_eq!(shown, [&months[0], &months[1]]);
        // A new January renamed over the old one: the link keeps the old.
        std::fs::write(folder.join(".new"), "new january").unwrap();
        std::fs::rename(folder.join(".new"), &months[0]).unwrap();
        let read: Vec<String> = view
            .files
            .iter()
            .map(|(_, read)| std::fs::read_to_string(read).unwrap())
            .collect();
        assert_eq!(read, ["january", "february"]);
        assert!(view.notes.is_empty());
        let names = entries(dir.path());
        assert_eq!(names.len(), 2);
        assert!(names[0].starts_with(&links), "{names:?}");
        drop(view.snapshot);
        assert_eq!(entries(dir.path()), ["calls"]);
    }

    #[test]
    fn a_store_changing_at_every_attempt_is_refused_and_no_link_left() {
        let dir = tempfile::tempdir().unwrap();
        let (folder, months) = store_of_two_months(dir.path());
        // Each listing differs from the one before: no two resolutions agree.
        let listed = Cell::new(0usize);
        let list = || {
            listed.set(listed.get() + 1);
            Ok(months[..1 + listed.get() % 2].to_vec())
        };
        let error = view(&folder, list).err().unwrap();
        assert_eq!(
            error.to_string(),
            "an append switched months in each of the 5 times the store was opened; try again once it has finished"
        );
        assert_eq!(listed.get(), 1 + 2 * MAX_ATTEMPTS);
        assert_eq!(entries(dir.path()), ["calls"]);
    }

    #[test]
    fn a_folder_of_other_files_is_read_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("export.csv");
        std::fs::write(&file, "id,date\n").unwrap();
        let view = view(dir.path(), || Ok(vec![file.clone()])).unwrap();
        assert_eq!(view.files, [(file.clone(), file)]);
        assert_eq!(entries(dir.path()), ["export.csv"]);
    }
}
