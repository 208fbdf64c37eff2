//! The store as a folder: one store file per calendar month (UTC), named
//! `YYYY-MM.parquet`, read as one input (a folder input reads every file in
//! it). A new export is added with [`append`], which rewrites only the
//! months its calls fall in (and any month holding a call it replaces) and
//! switches them in all at once (see [`super::journal`]). A writer holds
//! the store's lock ([`StoreLock`]).
//!
//! ```
//! use callfunnel::store::folder::{append, write_folder};
//! use callfunnel::store::StoreLock;
//! use callfunnel::model::{calls_to_frame, Call};
//! use chrono::{TimeZone, Utc};
//! use polars::prelude::IntoLazy;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = dir.path().join("calls");
//! let lock = StoreLock::acquire(&store).unwrap();
//! let march = Call::new("cll-1", Utc.with_ymd_and_hms(2024, 3, 4, 9, 30, 0).unwrap());
//! assert_eq!(write_folder(calls_to_frame([march]).unwrap().lazy(), &lock).unwrap(), 1);
//! let april = Call::new("cll-2", Utc.with_ymd_and_hms(2024, 4, 1, 8, 0, 0).unwrap());
//! let added = append(calls_to_frame([april]).unwrap().lazy(), &lock).unwrap();
//! assert_eq!((added.added, added.replaced, added.months_written), (1, 0, 1));
//! assert!(store.join("2024-04.parquet").exists());
//! ```

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::format::{check_checksum, store_metadata, StoreMetadata};
use super::journal::{self, Journal, NEW_MONTH};
use super::lock::{StoreLock, PREVIOUS};
use super::months::{check_distinct_ids, spill_by_month, Months};
use super::write::{canonical_calls, write_month_sorted, write_store_file, StoreWriter, SORT_ROWS};
use super::WriteError;
use crate::model::column;
use crate::scratch::{self, hidden_sibling, write_aside, write_replacing};

/// What [`append`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Calls of the export whose id the store did not hold.
    pub added: u64,
    /// Calls of the store replaced by the export's call of the same id.
    pub replaced: u64,
    /// Month files written (the others were left as they were).
    pub months_written: usize,
    /// Calls in the store afterwards.
    pub calls: u64,
}

/// Writes `frame` (canonical calls) as a folder store at `folder`, one file
/// per month, in bounded memory (as [`super::write_parquet`]). The folder is
/// built beside `folder` under a temporary name and put in its place once
/// complete; an existing folder store at `folder` is replaced. `lock` is
/// the lock on `folder`. Returns the number of calls written.
pub fn write_folder(frame: LazyFrame, lock: &StoreLock) -> Result<u64, WriteError> {
    let folder = lock.store();
    let io_error = |source| WriteError::Io {
        path: folder.to_path_buf(),
        source,
    };
    if folder.exists() && !is_folder_store(folder)? {
        return Err(WriteError::NotAStore {
            path: folder.to_path_buf(),
        });
    }
    let building = hidden_sibling(folder, "partial");
    std::fs::create_dir(&building).map_err(io_error)?;
    scratch::track(&building);
    let built = fill_new_folder(frame, &building);
    // From here the folder is put in place, or removed below.
    scratch::forget(&building);
    let outcome = built.and_then(|rows| {
        swap_in(&building, folder).map_err(io_error)?;
        Ok(rows)
    });
    if outcome.is_err() {
        let _ = std::fs::remove_dir_all(&building);
    }
    outcome
}

/// Writes the month files of a new folder store into the empty `building`.
fn fill_new_folder(frame: LazyFrame, building: &Path) -> Result<u64, WriteError> {
    let spill = Months::create(&building.join("calls")).map_err(|source| WriteError::Io {
        path: building.to_path_buf(),
        source,
    })?;
    let months = spill_by_month(canonical_calls(frame), &spill)?;
    check_distinct_ids(&spill, &months)?;
    let id = new_folder_id();
    let mut rows = 0;
    for month in months {
        let path = building.join(month_file_name(month));
        rows += write_month(&path, &id, |store| {
            write_month_sorted(&spill, month, store, SORT_ROWS)
        })?;
    }
    Ok(rows)
}

/// Adds the calls of `frame` to the folder store at `folder` (created when
/// missing): a call whose id the store holds replaces it (wherever its
/// month), the others are added. Only the months that gain or lose a call
/// are rewritten, and switched in all at once (see [`super::journal`]):
/// an append stopped at any point leaves the store as it was or, once its
/// switch has begun, as it will be. `lock` is the lock on `folder`. Memory
/// grows with the export and the largest month, not with the store.
pub fn append(frame: LazyFrame, lock: &StoreLock) -> Result<Appended, WriteError> {
    let folder = lock.store();
    let io_error = |source| WriteError::Io {
        path: folder.to_path_buf(),
        source,
    };
    if !folder.exists() {
        std::fs::create_dir(folder).map_err(io_error)?;
    }
    let existing = month_files(folder)?;
    let id = match existing.values().next() {
        Some(path) => folder_id_of(path)?.ok_or_else(|| WriteError::NotAStore {
            path: folder.to_path_buf(),
        })?,
        None => new_folder_id(),
    };
    let spill = Months::create(&folder.join("append")).map_err(io_error)?;
    let months = spill_by_month(canonical_calls(frame), &spill)?;
    check_distinct_ids(&spill, &months)?;
    let new_ids = export_ids(&spill, &months)?;

    let mut outcome = Appended {
        added: new_ids.len() as u64,
        replaced: 0,
        months_written: 0,
        calls: 0,
    };
    let mut switches = Journal::default();
    let mut new_files = Vec::new();
    let written = write_new_months(
        (folder, &id),
        (&spill, &months, &new_ids),
        &existing,
        &mut outcome,
        (&mut switches, &mut new_files),
    );
    if let Err(error) = written {
        journal::remove_new_files(&new_files);
        return Err(error);
    }
    journal::switch_in(folder, &switches)?;
    outcome.added -= outcome.replaced;
    Ok(outcome)
}

/// Writes the new file of every month of the folder store `folder` (of id
/// `id`) that gains a call of the export (spilled by month in `spill`,
/// `months`; ids `new_ids`) or loses one it replaces, beside the month's
/// file, each noted in `switches` (a month left without calls is to be
/// removed) and `new_files`; counts what it does in `outcome`.
fn write_new_months(
    (folder, id): (&Path, &str),
    (spill, months, new_ids): (&Months, &[i32], &Series),
    existing: &BTreeMap<i32, PathBuf>,
    outcome: &mut Appended,
    (switches, new_files): (&mut Journal, &mut Vec<PathBuf>),
) -> Result<(), WriteError> {
    for (month, path) in existing {
        let stored = store_file_rows(path)?;
        let kept = without_ids(path, new_ids)?;
        let replaced = stored - count(kept.clone())?;
        outcome.replaced += replaced;
        let gains = months.contains(month);
        if replaced == 0 && !gains {
            outcome.calls += stored;
            continue;
        }
        check_month_file(path)?;
        let mut calls = kept.collect().map_err(WriteError::Frame)?;
        if gains {
            calls
                .vstack_mut(&spill.read_month(*month).map_err(WriteError::Frame)?)
                .map_err(WriteError::Frame)?;
        }
        outcome.months_written += 1;
        if calls.height() == 0 {
            switches.remove(path);
            continue;
        }
        let (new, rows) = write_month_aside(path, id, |store| store.write_sorted(calls))?;
        outcome.calls += rows;
        switches.replace(path, &new);
        new_files.push(new);
    }
    for month in months.iter().filter(|month| !existing.contains_key(month)) {
        let calls = spill.read_month(*month).map_err(WriteError::Frame)?;
        let path = folder.join(month_file_name(*month));
        let (new, rows) = write_month_aside(&path, id, |store| store.write_sorted(calls))?;
        outcome.calls += rows;
        outcome.months_written += 1;
        switches.replace(&path, &new);
        new_files.push(new);
    }
    Ok(())
}

/// The calls of the store file at `path` whose id is not one of `ids`.
fn without_ids(path: &Path, ids: &Series) -> Result<LazyFrame, WriteError> {
    let is_replaced = col(column::ID).is_in(lit(ids.clone()).implode(false), false);
    let scan = PlRefPath::try_from_path(path)
        .and_then(|source| LazyFrame::scan_parquet(source, ScanArgsParquet::default()))
        .map_err(WriteError::Frame)?;
    Ok(scan.filter(is_replaced.not()))
}

/// The number of rows of `frame` (reading only what counting needs).
fn count(frame: LazyFrame) -> Result<u64, WriteError> {
    let counted = frame
        .select([len().alias("rows")])
        .collect()
        .map_err(WriteError::Frame)?;
    crate::exprs::first_count(&counted, "rows").map_err(WriteError::Frame)
}

/// Writes one month file, atomically, with the calls `fill` gives the store
/// writer (sorted by date); its number of calls.
fn write_month(
    path: &Path,
    folder_id: &str,
    fill: impl FnOnce(&mut StoreWriter<&mut BufWriter<File>>) -> PolarsResult<()>,
) -> Result<u64, WriteError> {
    write_replacing(
        path,
        month_io_error(path),
        month_writer(path, folder_id, fill),
    )
}

/// Writes the new file of the month file at `path`, beside it under a
/// hidden name (see [`journal`]), with the calls `fill` gives the store
/// writer; its path and its number of calls.
fn write_month_aside(
    path: &Path,
    folder_id: &str,
    fill: impl FnOnce(&mut StoreWriter<&mut BufWriter<File>>) -> PolarsResult<()>,
) -> Result<(PathBuf, u64), WriteError> {
    write_aside(
        path,
        NEW_MONTH,
        month_io_error(path),
        month_writer(path, folder_id, fill),
    )
}

/// The error of a failed write of the month file at `path`.
fn month_io_error(path: &Path) -> impl Fn(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes a month file of folder store `folder_id`, at `path`, with the
/// calls `fill` gives the store writer, on the output it is given.
fn month_writer<'a>(
    path: &'a Path,
    folder_id: &'a str,
    fill: impl FnOnce(&mut StoreWriter<&mut BufWriter<File>>) -> PolarsResult<()> + 'a,
) -> impl FnOnce(&mut BufWriter<File>) -> Result<u64, WriteError> + 'a {
    move |out| {
        write_store_file(out, Some(folder_id), fill).map_err(|source| WriteError::Parquet {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// The ids of the export's calls (memory grows with the export only).
fn export_ids(spill: &Months, months: &[i32]) -> Result<Series, WriteError> {
    let mut ids = Series::new_empty(column::ID.into(), &DataType::String);
    for month in months {
        let calls = spill.read_month(*month).map_err(WriteError::Frame)?;
        let month_ids = calls.column(column::ID).map_err(WriteError::Frame)?;
        ids.append(month_ids.as_materialized_series())
            .map_err(WriteError::Frame)?;
    }
    Ok(ids)
}

/// The month files of `folder`, by month key.
fn month_files(folder: &Path) -> Result<BTreeMap<i32, PathBuf>, WriteError> {
    let io_error = |source| WriteError::Io {
        path: folder.to_path_buf(),
        source,
    };
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(folder).map_err(io_error)? {
        let path = entry.map_err(io_error)?.path();
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("");
        if name.starts_with('.') {
            // A hidden temporary (see [`super::lock`]), or the journal.
            continue;
        }
        if let Some(month) = month_of_file_name(name) {
            files.insert(month, path);
        } else if name.ends_with(".parquet") {
            return Err(WriteError::NotAStore {
                path: folder.to_path_buf(),
            });
        }
    }
    Ok(files)
}

/// Whether `folder` is a folder holding only month files of one folder store
/// (or nothing at all).
fn is_folder_store(folder: &Path) -> Result<bool, WriteError> {
    if !folder.is_dir() {
        return Ok(false);
    }
    let files = month_files(folder)?;
    let mut ids = files
        .values()
        .map(|path| folder_id_of(path))
        .collect::<Result<Vec<_>, _>>()?;
    ids.dedup();
    Ok(ids.len() <= 1 && ids.iter().all(Option::is_some))
}

/// The file name of the month with key `month` (`year * 12 + month`).
fn month_file_name(month: i32) -> String {
    let (year, month) = ((month - 1).div_euclid(12), (month - 1).rem_euclid(12) + 1);
    format!("{year:04}-{month:02}.parquet")
}

/// Whether `name` is the name of a month file, `YYYY-MM.parquet`.
pub(super) fn is_month_file_name(name: &str) -> bool {
    month_of_file_name(name).is_some()
}

/// The month key of a month file's name, if it is one.
fn month_of_file_name(name: &str) -> Option<i32> {
    let stem = name.strip_suffix(".parquet")?;
    let (year, month) = stem.split_once('-')?;
    if year.len() != 4 || month.len() != 2 {
        return None;
    }
    let (year, month): (i32, i32) = (year.parse().ok()?, month.parse().ok()?);
    (1..=12).contains(&month).then_some(year * 12 + month)
}

/// The folder store entry of a store file's metadata.
fn folder_id_of(path: &Path) -> Result<Option<String>, WriteError> {
    Ok(metadata_of(path)?.folder)
}

/// The rows of a store file, from its metadata.
fn store_file_rows(path: &Path) -> Result<u64, WriteError> {
    Ok(metadata_of(path)?.rows)
}

/// A month file's metadata; a file that cannot be read is a failure of the
/// output (the store), not of the calls.
fn metadata_of(path: &Path) -> Result<StoreMetadata, WriteError> {
    store_metadata(path).map_err(|error| match error {
        PolarsError::IO { error, .. } => WriteError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(error.kind(), error.to_string()),
        },
        other => WriteError::Frame(other),
    })
}

/// Refuses a month file changed since it was written (it would be
/// rewritten with a new checksum over damaged calls).
fn check_month_file(path: &Path) -> Result<(), WriteError> {
    let metadata = metadata_of(path)?;
    let io_error = |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    check_checksum(path, &metadata)
        .map_err(io_error)?
        .map_err(|mismatch| WriteError::Damaged {
            path: path.to_path_buf(),
            expected: mismatch.expected,
            found: mismatch.found,
        })
}

/// A name for a new folder store: the time and the process, in hex.
fn new_folder_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    format!("{nanos:x}-{:x}", std::process::id())
}

/// Puts the folder `built` at `folder`, the previous folder (if any) moved
/// aside first and removed after.
fn swap_in(built: &Path, folder: &Path) -> std::io::Result<()> {
    if !folder.exists() {
        return std::fs::rename(built, folder);
    }
    let previous = hidden_sibling(folder, PREVIOUS);
    std::fs::rename(folder, &previous)?;
    std::fs::rename(built, folder)?;
    std::fs::remove_dir_all(previous)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_file_names_round_trip() {
        for (key, name) in [
            (2024 * 12 + 1, "2024-01.parquet"),
            (2024 * 12 + 12, "2024-12.parquet"),
            (12, "0000-12.parquet"),
            (9999 * 12 + 12, "9999-12.parquet"),
        ] {
            assert_eq!(month_file_name(key), name);
            assert_eq!(month_of_file_name(name), Some(key));
        }
        for other in [
            "2024-13.parquet",
            "2024-1.parquet",
            "calls.parquet",
            "2024-01.csv",
        ] {
            assert_eq!(month_of_file_name(other), None, "{other}");
        }
    }
}
