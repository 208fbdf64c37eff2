//! The store writer: calls spread by month ([`super::months`]), checked,
//! then each month sorted by date and written as row groups, hashing what
//! is written (see [`super::checksum`]); the file is put in place once
//! complete.

use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use polars::io::parquet::write::BatchedWriter as ParquetBatchedWriter;
use polars::prelude::*;

use super::checksum::{self, Checksum, Summing};
use super::format::{ROW_GROUP_ROWS, STORE_FOLDER_KEY, STORE_MARKER_KEY, STORE_MARKER_VERSION};
use super::months::{check_distinct_ids, scan_month, spill_by_month, Months};
use crate::exprs::{dated_within, first_count};
use crate::model::{canonical_schema, column};
use crate::scratch::write_replacing;

/// Why the store could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Reading or preparing the calls failed.
    #[error("preparing the calls")]
    Frame(#[source] PolarsError),
    /// The calls are not canonical (what [`crate::ingest`] produces).
    #[error("the calls are not canonical: {0}")]
    NotCanonical(String),
    /// Encoding the Parquet file failed.
    #[error("writing {}", path.display())]
    Parquet {
        /// The output path.
        path: PathBuf,
        /// The Polars error.
        #[source]
        source: PolarsError,
    },
    /// The output exists and is not a store of the kind asked for (a folder
    /// store holds only month files of one store).
    #[error("{} is not a callfunnel folder store (a folder of YYYY-MM.parquet files written by `convert`)", path.display())]
    NotAStore {
        /// The output path.
        path: PathBuf,
    },
    /// A file of the store was changed since `convert` wrote it (its
    /// checksum does not match): it is not appended to.
    #[error("{}: damaged store: its bytes are not those `convert` wrote (checksum {found}, expected {expected}); convert the calls again", path.display())]
    Damaged {
        /// The damaged file.
        path: PathBuf,
        /// The checksum the file carries.
        expected: String,
        /// The checksum of the file as it is.
        found: String,
    },
    /// Another writer holds the store's lock (see [`super::StoreLock`]).
    #[error("{}: another callfunnel ({}) is writing this store; try again once it has finished (its lock is {}{})",
        store.display(),
        holder.as_deref().unwrap_or("a process its lock does not name"),
        lock.display(),
        if holder.is_some() { "" } else { ": remove it if no callfunnel is writing the store" })]
    Locked {
        /// The store.
        store: PathBuf,
        /// Its lock file.
        lock: PathBuf,
        /// The holder, as the lock names it (`process PID`, with its host
        /// when not this one), if it does.
        holder: Option<String>,
    },
    /// Writing the file failed.
    #[error("writing {}", path.display())]
    Io {
        /// The output path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Writes `frame` (canonical calls, e.g. [`crate::ingest::Ingested::frame`])
/// to `path` as the canonical store: canonical schema and column order,
/// sorted by `date` (ties keep their order), row groups of
/// [`ROW_GROUP_ROWS`], zstd compression, min/max statistics, and the
/// [`STORE_MARKER_KEY`] entry. Returns the number of calls written.
///
/// The calls are checked as they pass (see [`STORE_MARKER_KEY`]); a frame
/// that is not canonical is refused with [`WriteError::NotCanonical`].
///
/// One streaming pass spreads the calls over temporary files by calendar
/// month (UTC; a new file every 1M calls of a month), the ids are checked
/// for repeats, then each month is sorted and appended to the
/// store in turn; a month of more than 1M calls is sorted slice
/// by slice of its time range, so the sort's memory does not grow with a
/// month's calls. The store is written under a temporary name and renamed
/// once complete, so `path` may also be one of the inputs, and a failed or
/// interrupted write leaves any previous file in place (and no file that
/// reads as a store).
pub fn write_parquet(frame: LazyFrame, path: &Path) -> Result<u64, WriteError> {
    let calls = canonical_calls(frame);
    let io_error = |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    // The temporary file first: a bad output path fails before the work.
    write_replacing(path, io_error, |out| {
        let spill = Months::create(path).map_err(io_error)?;
        let months = spill_by_month(calls, &spill)?;
        check_distinct_ids(&spill, &months)?;
        write_months_sorted(&spill, &months, out, SORT_ROWS).map_err(|source| WriteError::Parquet {
            path: path.to_path_buf(),
            source,
        })
    })
}

/// The canonical columns of `frame`, in canonical order and types (a value
/// that does not cast fails the write).
pub(super) fn canonical_calls(frame: LazyFrame) -> LazyFrame {
    let schema = canonical_schema();
    let columns: Vec<Expr> = column::ALL
        .iter()
        .map(|name| {
            let dtype = schema.get(name).cloned().unwrap_or(DataType::Null);
            col(*name).strict_cast(dtype)
        })
        .collect();
    frame.select(columns)
}

/// Writes the store: each month's calls read back, sorted by date (ties in
/// the order they came; at most `sort_rows` at a time, see
/// [`write_month_sorted`]) and written as row groups of [`ROW_GROUP_ROWS`].
/// Returns the number of calls written.
fn write_months_sorted(
    spill: &Months,
    months: &[i32],
    out: &mut BufWriter<File>,
    sort_rows: usize,
) -> PolarsResult<u64> {
    write_store_file(out, None, |store| {
        months
            .iter()
            .try_for_each(|month| write_month_sorted(spill, *month, store, sort_rows))
    })
}

/// Calls sorted in memory at once (`sort_rows` of [`write_months_sorted`]):
/// a month with more is sorted slice by slice of its time range, so that
/// the sort's memory does not grow with a month's calls.
pub(super) const SORT_ROWS: usize = 1 << 20;

/// Appends the calls of `month` to `store` in date order (ties in the order
/// they came): read whole when at most `sort_rows`, else in slices of its
/// time range, halved until each holds at most `sort_rows` calls.
pub(super) fn write_month_sorted<W: Write>(
    spill: &Months,
    month: i32,
    store: &mut StoreWriter<W>,
    sort_rows: usize,
) -> PolarsResult<()> {
    let files = spill.month_files(month)?;
    let mut rows = 0;
    for path in &files {
        rows += ParquetReader::new(File::open(path)?).num_rows()?;
    }
    let calls = scan_month(&files)?;
    if rows <= sort_rows {
        return store.write_sorted(calls.collect()?);
    }
    let micros = col(column::DATE).cast(DataType::Int64);
    let bounds = calls
        .clone()
        .select([
            micros.clone().min().alias("first"),
            micros.max().alias("last"),
        ])
        .collect()?;
    let bound = |name: &str| -> PolarsResult<DateTime<Utc>> {
        let micros = bounds.column(name)?.i64()?.get(0);
        micros
            .and_then(DateTime::from_timestamp_micros)
            .ok_or_else(|| PolarsError::ComputeError("a month of calls without dates".into()))
    };
    let window = (bound("first")?, bound("last")? + TimeDelta::microseconds(1));
    write_slice_sorted(&calls, window, store, sort_rows)
}

/// Appends the calls of `calls` dated in `window` (from inclusive, to
/// exclusive) to `store` in date order, halving the window while it holds
/// more than `sort_rows` calls.
fn write_slice_sorted<W: Write>(
    calls: &LazyFrame,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    store: &mut StoreWriter<W>,
    sort_rows: usize,
) -> PolarsResult<()> {
    let slice = calls.clone().filter(dated_within((from, to)));
    let rows = first_count(
        &slice.clone().select([len().alias("rows")]).collect()?,
        "rows",
    )?;
    if rows as usize <= sort_rows || to - from <= TimeDelta::microseconds(1) {
        return store.write_sorted(slice.collect()?);
    }
    let middle = from + (to - from) / 2;
    write_slice_sorted(calls, (from, middle), store, sort_rows)?;
    write_slice_sorted(calls, (middle, to), store, sort_rows)
}

/// Writes calls to a store file, row group by row group, hashing what it
/// writes (see [`checksum`]).
pub(super) struct StoreWriter<W: Write> {
    writer: ParquetBatchedWriter<Summing<W>>,
    checksum: Checksum,
    rows: u64,
}

impl<W: Write> StoreWriter<W> {
    /// A store file on `out`: zstd, statistics, the store marker, the
    /// pending checksum, and the folder entry when the file is a month of
    /// folder store `folder`.
    fn new(out: W, folder: Option<&str>) -> PolarsResult<Self> {
        let mut metadata = vec![
            (
                STORE_MARKER_KEY.to_string(),
                STORE_MARKER_VERSION.to_string(),
            ),
            checksum::pending_entry(),
        ];
        if let Some(folder) = folder {
            metadata.push((STORE_FOLDER_KEY.to_string(), folder.to_string()));
        }
        let (out, checksum) = checksum::summing(out);
        let writer = ParquetWriter::new(out)
            .with_compression(ParquetCompression::Zstd(None))
            .with_key_value_metadata(Some(KeyValueMetadata::from_static(metadata)))
            .batched(&canonical_schema())?;
        Ok(StoreWriter {
            writer,
            checksum,
            rows: 0,
        })
    }

    /// Appends `calls`, sorted by date here (ties keep their order), after
    /// the calls written before (which must not be later).
    pub(super) fn write_sorted(&mut self, calls: DataFrame) -> PolarsResult<()> {
        let calls = calls.sort(
            [column::DATE],
            SortMultipleOptions::default().with_maintain_order(true),
        )?;
        for offset in (0..calls.height()).step_by(ROW_GROUP_ROWS) {
            let mut group = calls.slice(offset as i64, ROW_GROUP_ROWS);
            self.writer.write_batch(group.rechunk_mut())?;
        }
        self.rows += calls.height() as u64;
        Ok(())
    }

    /// Writes the footer; the number of calls written and the checksum to
    /// [`Checksum::seal`] on the writer given to [`StoreWriter::new`].
    fn finish(self) -> PolarsResult<(u64, Checksum)> {
        self.checksum.footer_follows();
        self.writer.finish()?;
        Ok((self.rows, self.checksum))
    }
}

/// Writes a store file on `out`: `fill` hands the calls to the writer, then
/// the footer and the checksum are written. Returns the number of calls.
pub(super) fn write_store_file<W: Write + Seek>(
    out: &mut W,
    folder: Option<&str>,
    fill: impl FnOnce(&mut StoreWriter<&mut W>) -> PolarsResult<()>,
) -> PolarsResult<u64> {
    let mut store = StoreWriter::new(&mut *out, folder)?;
    fill(&mut store)?;
    let (rows, checksum) = store.finish()?;
    checksum.seal(out)?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{calls_to_frame, Call};
    use chrono::{TimeZone, Utc};

    #[test]
    fn a_month_beyond_the_sort_bound_is_sorted_in_slices() {
        // 500 calls of March 2024 in shuffled order, dated by the half
        // minute (ties two by two).
        let calls: Vec<Call> = (0..500u32)
            .map(|row| {
                let minute = (row * 7_919) % 500;
                let date = Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap()
                    + chrono::Duration::seconds(i64::from(minute / 2) * 30 * 60);
                Call::new(format!("cll-{row:03}"), date)
            })
            .collect();
        let frame = calls_to_frame(calls).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("calls.parquet");
        let spill = Months::create(&store).unwrap();
        let months = spill_by_month(canonical_calls(frame.clone().lazy()), &spill).unwrap();
        let mut out = BufWriter::new(File::create(&store).unwrap());
        assert_eq!(
            write_months_sorted(&spill, &months, &mut out, 7).unwrap(),
            500
        );
        drop(out);

        let written = ParquetReader::new(File::open(&store).unwrap())
            .finish()
            .unwrap();
        let expected = frame
            .sort(
                [column::DATE],
                SortMultipleOptions::default().with_maintain_order(true),
            )
            .unwrap();
        assert!(written.equals_missing(&expected));
        // Slices of at most 7 calls: a row group each, at least 500 / 7.
        let groups = ParquetReader::new(File::open(&store).unwrap())
            .get_metadata()
            .unwrap()
            .row_groups
            .len();
        assert!(groups >= 72, "{groups} row groups");
    }
}
