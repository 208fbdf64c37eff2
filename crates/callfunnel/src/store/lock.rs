//! The lock of a store being written: one writer at a time, and the next
//! one puts right what a killed writer left.
//!
//! The lock is a file beside the store, `.NAME.lock`, created with
//! `create_new` (so two writers never both hold it) and holding its
//! holder's process id, host, process start and the time it was taken. A
//! second writer is refused while the holder runs; a lock whose holder is
//! no longer running on this host (no such process, or another process
//! reusing its id) is stale: it is taken over. Holding the lock, a writer
//! then completes an append interrupted while its month files were being
//! switched in (see [`super::journal`]), puts back a folder store that an
//! interrupted replacement had moved aside, and removes the temporary files
//! and folders of writers no longer running — only those of this store.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::journal;
use super::WriteError;
use crate::scratch::{self, hidden_sibling};

/// Who holds a store's lock, as its lock file says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    /// The holder's process id.
    pub pid: u32,
    /// The host it runs on.
    pub host: String,
    /// When its process started, in clock ticks since the host booted (as
    /// `/proc/PID/stat` gives it): tells a process id reused apart. `None`
    /// where unknown.
    pub process_start: Option<u64>,
    /// When the lock was taken (RFC 3339, UTC).
    pub since: String,
}

impl LockHolder {
    /// This process.
    fn this_process() -> LockHolder {
        let pid = std::process::id();
        LockHolder {
            pid,
            host: this_host(),
            process_start: process_start(pid),
            since: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }

    /// Whether the holder may still be running: on another host, or where
    /// processes cannot be looked up, it is taken to be.
    fn may_be_running(&self) -> bool {
        self.host != this_host() || pid_may_be_running(self.pid, self.process_start)
    }

    /// The holder in words: `process PID` (`on HOST` when not this host).
    fn describe(&self) -> String {
        if self.host == this_host() {
            format!("process {}", self.pid)
        } else {
            format!("process {} on {}", self.pid, self.host)
        }
    }
}

/// What taking a store's lock found left by a writer no longer running,
/// and put right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    /// Its lock, taken over.
    StaleLock(LockHolder),
    /// An append interrupted while its month files were switched in,
    /// completed: that many month files switched.
    SwitchCompleted(usize),
    /// A folder store that an interrupted replacement had moved aside (to
    /// this path) and not put back: it is the store again.
    PreviousRestored(PathBuf),
    /// A temporary file or folder of the writer, removed.
    TemporaryRemoved(PathBuf),
}

impl std::fmt::Display for Recovery {
    fn fmt(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Recovery::StaleLock(holder) => write!(
                out,
                "took over the lock of {} (taken {}), which is no longer running",
                holder.describe(),
                holder.since
            ),
            Recovery::SwitchCompleted(months) => write!(
                out,
                "completed an append that was interrupted while switching its month files in ({months} switched)"
            ),
            Recovery::PreviousRestored(path) => write!(
                out,
                "put back the store that an interrupted convert had moved aside to {}",
                path.display()
            ),
            Recovery::TemporaryRemoved(path) => write!(
                out,
                "removed {}, left by a writer no longer running",
                path.display()
            ),
        }
    }
}

/// The lock on a store, held until dropped (its file is then removed).
#[derive(Debug)]
pub struct StoreLock {
    store: PathBuf,
    lock: PathBuf,
    recovered: Vec<Recovery>,
}

/// Attempts at taking a lock that another writer keeps taking over first.
const ATTEMPTS: usize = 3;

impl StoreLock {
    /// Takes the lock on the store at `store` (a file or a folder, which
    /// need not exist yet), taking over a stale one, then puts right what a
    /// killed writer left (see [`StoreLock::recovered`]). Refused with
    /// [`WriteError::Locked`] while another writer holds it.
    pub fn acquire(store: &Path) -> Result<StoreLock, WriteError> {
        let lock = lock_path(store);
        let io_error = |source| WriteError::Io {
            path: lock.clone(),
            source,
        };
        let mut recovered = Vec::new();
        for _ in 0..ATTEMPTS {
            // Removed by a signal's clean-up too, which waits for it to be
            // tracked once made.
            let created =
                scratch::uninterrupted(|| create_lock(&lock).inspect(|()| scratch::track(&lock)));
            match created {
                Ok(()) => {
                    let mut held = StoreLock {
                        store: store.to_path_buf(),
                        lock,
                        recovered,
                    };
                    held.recover()?;
                    return Ok(held);
                }
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                    match read_holder(&lock) {
                        Ok(Some(holder)) if !holder.may_be_running() => {
                            if take_over(&lock, &holder).map_err(io_error)? {
                                recovered.push(Recovery::StaleLock(holder));
                            }
                        }
                        Ok(holder) => {
                            return Err(WriteError::Locked {
                                store: store.to_path_buf(),
                                lock,
                                holder: holder.map(|holder| holder.describe()),
                            })
                        }
                        // Released meanwhile: the next attempt takes it.
                        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                        Err(error) => return Err(io_error(error)),
                    }
                }
                Err(error) => return Err(io_error(error)),
            }
        }
        Err(WriteError::Locked {
            store: store.to_path_buf(),
            holder: read_holder(&lock)
                .ok()
                .flatten()
                .map(|holder| holder.describe()),
            lock,
        })
    }

    /// The store locked.
    pub fn store(&self) -> &Path {
        &self.store
    }

    /// What a writer no longer running had left, put right when the lock
    /// was taken, for the caller to report.
    pub fn recovered(&self) -> &[Recovery] {
        &self.recovered
    }

    /// Completes an interrupted switch, puts back a store moved aside, and
    /// removes the temporaries of writers no longer running.
    fn recover(&mut self) -> Result<(), WriteError> {
        if self.store.is_dir() {
            if let Some(months) = journal::complete(&self.store)? {
                self.recovered.push(Recovery::SwitchCompleted(months));
            }
        }
        let beside = self
            .store
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty());
        let beside = beside.unwrap_or(Path::new("."));
        let name = file_name(&self.store);
        for (path, what) in stale_temporaries(beside, |entry| temporary_of(entry, &name))? {
            if what == PREVIOUS && !self.store.exists() {
                self.rename_back(&path)?;
            } else {
                self.remove(path)?;
            }
        }
        if self.store.is_dir() {
            let inside = stale_temporaries(&self.store, |entry| {
                owner_inside_folder(entry).and_then(|owner| temporary_of(entry, owner))
            })?;
            for (path, _) in inside {
                self.remove(path)?;
            }
        }
        Ok(())
    }

    /// Puts the folder store moved aside to `previous` back in place.
    fn rename_back(&mut self, previous: &Path) -> Result<(), WriteError> {
        std::fs::rename(previous, &self.store).map_err(|source| WriteError::Io {
            path: previous.to_path_buf(),
            source,
        })?;
        self.recovered
            .push(Recovery::PreviousRestored(previous.to_path_buf()));
        Ok(())
    }

    /// Removes the temporary file or folder at `path`.
    fn remove(&mut self, path: PathBuf) -> Result<(), WriteError> {
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match removed {
            Ok(()) => self.recovered.push(Recovery::TemporaryRemoved(path)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(WriteError::Io { path, source }),
        }
        Ok(())
    }
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        // Best effort: a lock left behind is stale once this process ends.
        let _ = std::fs::remove_file(&self.lock);
        scratch::forget(&self.lock);
    }
}

/// The lock file of the store at `store`: `.NAME.lock` beside it.
fn lock_path(store: &Path) -> PathBuf {
    store.with_file_name(format!(".{}.lock", file_name(store)))
}

/// The last component of `path`, as text.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Creates the lock file at `lock` for this process; `AlreadyExists` when
/// another holds it.
fn create_lock(lock: &Path) -> std::io::Result<()> {
    let mut file = std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(lock)?;
    let holder = serde_json::to_vec(&LockHolder::this_process())?;
    let written = file.write_all(&holder).and_then(|()| file.sync_all());
    if written.is_err() {
        let _ = std::fs::remove_file(lock);
    }
    written
}

/// The holder the lock file at `lock` names; `None` when it names none (a
/// file being written, or not a lock).
fn read_holder(lock: &Path) -> std::io::Result<Option<LockHolder>> {
    Ok(serde_json::from_slice(&std::fs::read(lock)?).ok())
}

/// Removes the stale lock of `holder` at `lock`: moved aside first, then
/// removed once it is seen to be that holder's (another writer may have
/// taken it over and locked the store meanwhile: its lock is put back).
/// Whether a stale lock was removed.
fn take_over(lock: &Path, holder: &LockHolder) -> std::io::Result<bool> {
    let aside = hidden_sibling(lock, "stale");
    match std::fs::rename(lock, &aside) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(error),
    }
    if read_holder(&aside)?.as_ref() == Some(holder) {
        std::fs::remove_file(&aside)?;
        return Ok(true);
    }
    std::fs::rename(&aside, lock)?;
    Ok(false)
}

/// This host's name (empty when unknown).
fn this_host() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .map(|name| name.trim().to_string())
        .unwrap_or_default()
}

/// The start of process `pid` in clock ticks since boot, from
/// `/proc/PID/stat`; `None` when unknown.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name, in parentheses (which may hold anything):
    // the state (field 3), …, the start time (field 22).
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    fields.get(19)?.parse().ok()
}

/// Whether process `pid` of this host may still be running: `false` only
/// when `/proc` shows it is not (no such process, a process that has
/// exited and not yet been reaped, or another process since given the id,
/// told apart by its `start`).
fn pid_may_be_running(pid: u32, start: Option<u64>) -> bool {
    if !Path::new("/proc/self/stat").exists() {
        return true;
    }
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let exited = stat
        .rfind(')')
        .and_then(|end| stat.get(end + 1..))
        .and_then(|rest| rest.split_whitespace().next())
        .is_some_and(|state| state == "Z" || state == "X");
    let reused = matches!((start, process_start(pid)), (Some(was), Some(is)) if was != is);
    !exited && !reused
}

/// What a temporary moved aside by a folder store's replacement ends in.
pub(super) const PREVIOUS: &str = "previous";

/// The entries of `folder` that are temporaries of a writer no longer
/// running: those whose name `parse` reads as `(pid, what)`, with what
/// they are (the end of their name).
fn stale_temporaries(
    folder: &Path,
    parse: impl Fn(&str) -> Option<(u32, String)>,
) -> Result<Vec<(PathBuf, String)>, WriteError> {
    let io_error = |source| WriteError::Io {
        path: folder.to_path_buf(),
        source,
    };
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(io_error(error)),
    };
    let mut stale = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_error)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some((pid, what)) = parse(&name) {
            if pid != std::process::id() && !pid_may_be_running(pid, None) {
                stale.push((entry.path(), what));
            }
        }
    }
    stale.sort();
    Ok(stale)
}

/// The process id and the end of `entry`, a hidden temporary named
/// `.OWNER.PID.WHAT` (see [`hidden_sibling`]) of `owner`.
fn temporary_of(entry: &str, owner: &str) -> Option<(u32, String)> {
    let rest = entry
        .strip_prefix('.')?
        .strip_prefix(owner)?
        .strip_prefix('.')?;
    let (pid, what) = rest.split_once('.')?;
    if what.is_empty() || !pid.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    Some((pid.parse().ok()?, what.to_string()))
}

/// The owner of a hidden temporary inside a folder store: the spill of an
/// append (`append`) or a month file (`YYYY-MM.parquet`).
fn owner_inside_folder(entry: &str) -> Option<&str> {
    let name = entry.strip_prefix('.')?;
    if name.starts_with("append.") {
        return Some("append");
    }
    let month = name.get(..MONTH_FILE_NAME_LENGTH)?;
    super::folder::is_month_file_name(month).then_some(month)
}

/// The length of a month file's name, `YYYY-MM.parquet`.
const MONTH_FILE_NAME_LENGTH: usize = "YYYY-MM.parquet".len();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporaries_are_told_by_owner_and_pid() {
        assert_eq!(
            temporary_of(".calls.parquet.42.partial", "calls.parquet"),
            Some((42, "partial".into()))
        );
        assert_eq!(
            temporary_of(".calls.42.months", "calls"),
            Some((42, "months".into()))
        );
        for other in [
            ".calls.parquet.42.partial",
            ".calls.lock",
            ".calls.x42.months",
            ".calls.42.",
            "calls.42.months",
        ] {
            assert_eq!(temporary_of(other, "calls"), None, "{other}");
        }
        assert_eq!(owner_inside_folder(".append.7.months"), Some("append"));
        assert_eq!(
            owner_inside_folder(".2024-03.parquet.7.new.parquet"),
            Some("2024-03.parquet")
        );
        assert_eq!(owner_inside_folder(".switch.json"), None);
    }

    #[test]
    fn this_process_is_running_and_a_pid_beyond_the_kernels_largest_is_not() {
        let me = LockHolder::this_process();
        assert!(me.may_be_running());
        assert!(!pid_may_be_running(4_194_305, None));
        let reused = LockHolder {
            process_start: me.process_start.map(|start| start + 1),
            ..me
        };
        assert!(!reused.may_be_running());
    }
}
