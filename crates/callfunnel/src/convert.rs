//! The canonical Parquet store (`callfunnel convert`).
//!
//! Calls read once through [`crate::ingest`] (so de-duplication and
//! validation are the same as for `metrics`) are written back as Parquet with
//! the canonical schema and column order, sorted by `date`: each row group
//! then covers a short span of time, and its statistics let a scan for a
//! period skip the others. Reading the store back is the fastest input of
//! every command.
//!
//! ```
//! use callfunnel::convert::write_parquet;
//! use callfunnel::model::{calls_to_frame, Call};
//! use chrono::{TimeZone, Utc};
//! use polars::prelude::IntoLazy;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("calls.parquet");
//! let call = Call::new("cll-1", Utc.with_ymd_and_hms(2024, 3, 4, 9, 30, 0).unwrap());
//! let rows = write_parquet(calls_to_frame([call]).unwrap().lazy(), &path).unwrap();
//! assert_eq!(rows, 1);
//! ```

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use polars::io::parquet::metadata::FileMetadata;
use polars::io::parquet::write::BatchedWriter as ParquetBatchedWriter;
use polars::prelude::*;

mod checksum;
pub mod folder;
mod rules;

pub(crate) use checksum::Mismatch;
pub use checksum::STORE_CHECKSUM_KEY;
use checksum::{Checksum, Summing};

pub(crate) use rules::{any_broken, store_rules, StoreRule};

use crate::duplicates::repeated_ids;
use crate::exprs::{
    dated_within, first_count, fold_batches, scan_parquet_files, temporary_parquet_writer,
};
use crate::model::{canonical_schema, column};
use crate::scratch::{write_replacing, SpillFolder};

/// Rows per row group of the store.
pub const ROW_GROUP_ROWS: usize = 64 * 1024;

/// Key of the Parquet key-value metadata entry that marks a canonical store.
///
/// Only [`write_parquet`] writes it, after checking that every row is
/// canonical (ids present and unique, dates present, enum values in API case,
/// no negative durations or ringing times). Ingest trusts a file that carries
/// it with the canonical schema: it skips the row checks and the duplicate
/// count, so a query reads only the row groups and columns it needs.
pub const STORE_MARKER_KEY: &str = "callfunnel.store";

/// Value of [`STORE_MARKER_KEY`]: the version of the store's layout. A
/// store of this version carries its checksum ([`STORE_CHECKSUM_KEY`]),
/// checked before it is read.
pub const STORE_MARKER_VERSION: &str = "2";

/// The earlier version of [`STORE_MARKER_KEY`], still read: a store without
/// a checksum, whose values are checked as they are read.
pub const STORE_MARKER_VERSION_UNSUMMED: &str = "1";

/// Key of the Parquet key-value metadata entry that names the folder store a
/// month file belongs to (see [`folder`]): every file of one folder store
/// carries the same value, and no call is in two of them, so a reader of
/// the whole folder trusts its ids to be unique.
pub const STORE_FOLDER_KEY: &str = "callfunnel.store.folder";

/// Why the store could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
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
/// that is not canonical is refused with [`ConvertError::NotCanonical`].
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
pub fn write_parquet(frame: LazyFrame, path: &Path) -> Result<u64, ConvertError> {
    let calls = canonical_calls(frame);
    let io_error = |source| ConvertError::Io {
        path: path.to_path_buf(),
        source,
    };
    // The temporary file first: a bad output path fails before the work.
    write_replacing(path, io_error, |out| {
        let spill = Months::create(path).map_err(io_error)?;
        let months = spill_by_month(calls, &spill)?;
        check_distinct_ids(&spill, &months)?;
        write_months_sorted(&spill, &months, out, SORT_ROWS).map_err(|source| {
            ConvertError::Parquet {
                path: path.to_path_buf(),
                source,
            }
        })
    })
}

/// The canonical columns of `frame`, in canonical order and types (a value
/// that does not cast fails the write).
fn canonical_calls(frame: LazyFrame) -> LazyFrame {
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

/// The calls spread by month, in a temporary folder beside the store.
struct Months {
    folder: SpillFolder,
    /// Calls written to one file of a month before the next is started.
    rows_per_part: usize,
}

/// Calls written to one temporary file of a month before the next is
/// started: a Parquet writer holds the metadata of every row group it wrote
/// until it is closed (10M calls spread: 12 MiB of it by the end, growing
/// with the calls).
const ROWS_PER_MONTH_PART: usize = 1 << 20;

impl Months {
    /// A new hidden folder beside `store` (a file or folder).
    fn create(store: &Path) -> std::io::Result<Months> {
        Ok(Months {
            folder: SpillFolder::beside(store, "months")?,
            rows_per_part: ROWS_PER_MONTH_PART,
        })
    }

    /// Where the months' files are.
    fn path(&self) -> &Path {
        self.folder.path()
    }

    /// The files of the month with key `month`, in the order written.
    fn month_files(&self, month: i32) -> std::io::Result<Vec<PathBuf>> {
        let prefix = format!("{month}-");
        let mut files = Vec::new();
        for entry in std::fs::read_dir(self.path())? {
            let path = entry?.path();
            let name = path.file_name().and_then(|name| name.to_str());
            if name.is_some_and(|name| name.starts_with(&prefix)) {
                files.push(path);
            }
        }
        files.sort();
        Ok(files)
    }

    /// The calls of the month with key `month`, in the order they came.
    fn read_month(&self, month: i32) -> PolarsResult<DataFrame> {
        scan_month(&self.month_files(month)?)?.collect()
    }
}

/// One lazy scan of a month's `files`, in the order written.
fn scan_month(files: &[PathBuf]) -> PolarsResult<LazyFrame> {
    if files.is_empty() {
        return Err(PolarsError::ComputeError("a month without calls".into()));
    }
    scan_parquet_files(files.iter().map(PathBuf::as_path))
}

/// The file of part `part` of the month with key `month` (see
/// [`month_key`]) in the spill folder `folder`: the parts of a month sort
/// by name in the order they were written.
fn month_part_file(folder: &Path, month: i32, part: usize) -> PathBuf {
    folder.join(format!("{month}-{part:06}.parquet"))
}

/// Name of the month key column while the calls are spread.
const MONTH: &str = "__month";
/// Name of the column giving the first store rule a row breaks.
const BROKEN_RULE: &str = "__broken_rule";

/// The calendar month (UTC) of each call's date, as `year * 12 + month`.
fn month_key() -> Expr {
    let date = col(column::DATE);
    (date.clone().dt().year() * lit(12i32) + date.dt().month().cast(DataType::Int32)).alias(MONTH)
}

/// One streaming pass over `calls`: each batch is checked against the store
/// rules and its rows appended to their month's file. Returns the months
/// written, in order.
fn spill_by_month(calls: LazyFrame, spill: &Months) -> Result<Vec<i32>, ConvertError> {
    let mut spreader = fold_batches(
        calls.with_columns([month_key(), broken_rule()]),
        true,
        MonthSpreader::new(spill),
        MonthSpreader::take,
    )
    .map_err(ConvertError::Frame)?;
    if let Some(rule) = spreader.broken.take() {
        return Err(ConvertError::NotCanonical(rule));
    }
    spreader.finish().map_err(ConvertError::Frame)
}

/// Calls gathered, whole batches as they came, before they are spread over
/// their months' files in one go: each month's calls of a batch held apart
/// until written left memory growing with the calls spread (100M calls:
/// 0.44 -> 1.13 GiB over the pass), gathered batches do not.
const SPREAD_ROWS: usize = 256 * 1024;

/// Appends batches of calls to the files of their month.
struct MonthSpreader {
    /// Where the months' files are.
    folder: PathBuf,
    /// Calls written to one file of a month before the next is started.
    rows_per_part: usize,
    writers: BTreeMap<i32, MonthWriter>,
    /// Batches taken and not spread yet, in order, and their calls.
    gathered: Vec<DataFrame>,
    gathered_rows: usize,
    /// The first store rule a row broke, if any (the pass stops there).
    broken: Option<String>,
}

impl MonthSpreader {
    /// A spreader of calls to the month files of `spill`.
    fn new(spill: &Months) -> Self {
        MonthSpreader {
            folder: spill.path().to_path_buf(),
            rows_per_part: spill.rows_per_part,
            writers: BTreeMap::new(),
            gathered: Vec::new(),
            gathered_rows: 0,
            broken: None,
        }
    }

    /// Takes one batch; `Ok(true)` stops the pass (a rule is broken).
    fn take(&mut self, batch: DataFrame) -> PolarsResult<bool> {
        if let Some(rule) = first_broken_rule(&batch)? {
            self.broken = Some(rule);
            return Ok(true);
        }
        self.gathered_rows += batch.height();
        self.gathered.push(batch);
        if self.gathered_rows >= SPREAD_ROWS {
            self.spread()?;
        }
        Ok(false)
    }

    /// Writes the gathered calls to their months' files: sorted by month
    /// (ties in the order they came), each month's run in one write.
    fn spread(&mut self) -> PolarsResult<()> {
        let mut batches = std::mem::take(&mut self.gathered).into_iter();
        self.gathered_rows = 0;
        let Some(mut calls) = batches.next() else {
            return Ok(());
        };
        for batch in batches {
            calls.vstack_mut_owned(batch)?;
        }
        let calls = calls.sort(
            [MONTH],
            SortMultipleOptions::default().with_maintain_order(true),
        )?;
        let runs = month_runs(calls.column(MONTH)?.i32()?)?;
        let calls = calls.drop_many([MONTH, BROKEN_RULE]);
        for (month, start, rows) in runs {
            self.write(month, calls.slice(start as i64, rows))?;
        }
        Ok(())
    }

    /// Spreads what is gathered and closes every month file; the months, in
    /// order.
    fn finish(&mut self) -> PolarsResult<Vec<i32>> {
        self.spread()?;
        let mut writers = std::mem::take(&mut self.writers);
        for month in writers.values_mut() {
            month.close()?;
        }
        Ok(writers.into_keys().collect())
    }

    fn write(&mut self, month: i32, mut calls: DataFrame) -> PolarsResult<()> {
        calls.rechunk_mut();
        let writer = self.writers.entry(month).or_default();
        let file = match &mut writer.file {
            Some(file) => file,
            None => {
                let path = month_part_file(&self.folder, month, writer.part);
                writer
                    .file
                    .insert(temporary_parquet_writer(File::create(path)?)?)
            }
        };
        file.write_batch(&calls)?;
        writer.rows += calls.height();
        if writer.rows >= self.rows_per_part {
            writer.close()?;
            writer.part += 1;
            writer.rows = 0;
        }
        Ok(())
    }
}

/// The runs of equal keys in `months` (sorted): each month with its first
/// row and its number of rows.
fn month_runs(months: &Int32Chunked) -> PolarsResult<Vec<(i32, usize, usize)>> {
    let mut runs: Vec<(i32, usize, usize)> = Vec::new();
    for (row, month) in months.iter().enumerate() {
        let month =
            month.ok_or_else(|| PolarsError::ComputeError("a call without a date".into()))?;
        match runs.last_mut() {
            Some((last, _, rows)) if *last == month => *rows += 1,
            _ => runs.push((month, row, 1)),
        }
    }
    Ok(runs)
}

/// The file a month's calls are being written to, if one is open, and
/// which part of the month it is.
#[derive(Default)]
struct MonthWriter {
    file: Option<ParquetBatchedWriter<BufWriter<File>>>,
    part: usize,
    /// Calls written to the open file.
    rows: usize,
}

impl MonthWriter {
    /// Closes the open file, if any.
    fn close(&mut self) -> PolarsResult<()> {
        if let Some(file) = self.file.take() {
            file.finish()?;
        }
        Ok(())
    }
}

/// The index of the first store rule each row breaks (null when none).
fn broken_rule() -> Expr {
    let none = lit(NULL).cast(DataType::Int32);
    store_rules()
        .into_iter()
        .enumerate()
        .rev()
        .fold(none, |later, (index, rule)| {
            when(rule.broken.fill_null(lit(false)))
                .then(lit(index as i32))
                .otherwise(later)
        })
        .alias(BROKEN_RULE)
}

/// The message of the first rule broken in `batch`, by rule order.
fn first_broken_rule(batch: &DataFrame) -> PolarsResult<Option<String>> {
    let Some(index) = batch.column(BROKEN_RULE)?.i32()?.min() else {
        return Ok(None);
    };
    Ok(store_rules().get(index as usize).map(StoreRule::message))
}

/// Refuses calls sharing an id (read from the month files by their hashes,
/// see [`repeated_ids`]).
fn check_distinct_ids(spill: &Months, months: &[i32]) -> Result<(), ConvertError> {
    if months.is_empty() {
        return Ok(());
    }
    let mut files: Vec<PathBuf> = Vec::new();
    for month in months {
        files.extend(
            spill
                .month_files(*month)
                .map_err(|source| ConvertError::Io {
                    path: spill.path().to_path_buf(),
                    source,
                })?,
        );
    }
    let repeated = scan_parquet_files(files.iter().map(PathBuf::as_path))
        .and_then(|calls| repeated_ids(calls, 0))
        .map_err(ConvertError::Frame)?;
    if repeated.duplicates != 0 {
        return Err(ConvertError::NotCanonical(format!(
            "{} duplicate ids",
            repeated.duplicates
        )));
    }
    Ok(())
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
/// a month with more is sorted slice by slice of its time range (at 100M
/// calls over two years, a month holds 4.2M: sorted whole, 4.1 GiB).
const SORT_ROWS: usize = 1 << 20;

/// Appends the calls of `month` to `store` in date order (ties in the order
/// they came): read whole when at most `sort_rows`, else in slices of its
/// time range, halved until each holds at most `sort_rows` calls.
fn write_month_sorted<W: Write>(
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
struct StoreWriter<W: Write> {
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
    fn write_sorted(&mut self, calls: DataFrame) -> PolarsResult<()> {
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
fn write_store_file<W: Write + Seek>(
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

/// What a Parquet file's metadata says of it as a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreMetadata {
    /// Its number of rows.
    pub rows: u64,
    /// Whether it carries the store marker of a version read.
    pub marked: bool,
    /// The checksum it carries (see [`STORE_CHECKSUM_KEY`]): `Some` for
    /// every store of [`STORE_MARKER_VERSION`] (empty when the entry is
    /// missing, which no file passes), `None` for the unsummed version.
    pub checksum: Option<String>,
    /// The folder store it is a month of, if any.
    pub folder: Option<String>,
    /// The latest date of its calls (microseconds since the epoch, UTC),
    /// from its row groups' statistics; `None` when one has none.
    pub latest_date: Option<i64>,
}

/// Reads the metadata of the Parquet file at `path` (its footer only).
pub(crate) fn store_metadata(path: &Path) -> PolarsResult<StoreMetadata> {
    let mut reader = ParquetReader::new(File::open(path)?);
    let metadata = reader.get_metadata()?;
    let value = |key: &str| {
        metadata
            .key_value_metadata()
            .iter()
            .flatten()
            .find(|entry| entry.key == key)
            .and_then(|entry| entry.value.clone())
    };
    let version = value(STORE_MARKER_KEY);
    let summed = version.as_deref() == Some(STORE_MARKER_VERSION);
    let unsummed = version.as_deref() == Some(STORE_MARKER_VERSION_UNSUMMED);
    Ok(StoreMetadata {
        rows: metadata.num_rows as u64,
        marked: summed || unsummed,
        checksum: summed.then(|| value(STORE_CHECKSUM_KEY).unwrap_or_default()),
        folder: value(STORE_FOLDER_KEY),
        latest_date: latest_date(metadata),
    })
}

/// The latest date in a Parquet file of canonical calls, from the maximum
/// its row groups' statistics give (no data is read); `None` when a row
/// group has no statistics for the date.
fn latest_date(metadata: &FileMetadata) -> Option<i64> {
    let mut latest = None;
    for group in &metadata.row_groups {
        let chunk = group.columns_under_root_iter(column::DATE)?.next()?;
        let statistics = chunk.statistics(&metadata.footer_buf)?.ok()?;
        latest = latest.max(Some(statistics.as_int64()?.max_value?));
    }
    latest
}

/// Checks a store file against its checksum: `Ok(Ok(()))` when its bytes
/// are those `convert` wrote (or it carries no checksum).
pub(crate) fn check_store_checksum(
    path: &Path,
    metadata: &StoreMetadata,
) -> std::io::Result<Result<(), Mismatch>> {
    match &metadata.checksum {
        Some(expected) => checksum::check(path, expected),
        None => Ok(Ok(())),
    }
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

    #[test]
    fn batches_are_spread_over_their_months_in_the_order_they_came() {
        // 60 calls over March, April and May, the months interleaved.
        let calls: Vec<Call> = (0..60u32)
            .map(|row| {
                let date = Utc.with_ymd_and_hms(2024, 3 + row % 3, 1 + row % 28, 9, 0, 0);
                Call::new(format!("cll-{row:02}"), date.unwrap())
            })
            .collect();
        let frame = calls_to_frame(calls).unwrap();
        let batches = canonical_calls(frame.clone().lazy())
            .with_columns([month_key(), broken_rule()])
            .collect()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let spill = Months::create(&dir.path().join("calls.parquet")).unwrap();
        let mut spreader = MonthSpreader::new(&spill);
        for start in (0..60).step_by(7) {
            assert!(!spreader.take(batches.slice(start, 7)).unwrap());
        }
        let months = spreader.finish().unwrap();
        let march = 2024 * 12 + 3;
        assert_eq!(months, [march, march + 1, march + 2]);
        for (offset, month) in months.iter().enumerate() {
            let ids: Vec<String> = (0..60)
                .filter(|row| row % 3 == offset)
                .map(|row| format!("cll-{row:02}"))
                .collect();
            let read = spill.read_month(*month).unwrap();
            let read: Vec<Option<&str>> =
                read.column("id").unwrap().str().unwrap().iter().collect();
            let read: Vec<String> = read.into_iter().flatten().map(str::to_string).collect();
            assert_eq!(read, ids);
        }
    }

    #[test]
    fn a_month_is_written_in_parts_and_read_back_in_order() {
        let calls: Vec<Call> = (0..35u32)
            .map(|row| {
                let date = Utc
                    .with_ymd_and_hms(2024, 3, 31 - row / 2, 9, 0, 0)
                    .unwrap();
                Call::new(format!("cll-{row:02}"), date)
            })
            .collect();
        let frame = calls_to_frame(calls).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut spill = Months::create(&dir.path().join("calls.parquet")).unwrap();
        spill.rows_per_part = 10;
        let mut spreader = MonthSpreader::new(&spill);
        let march = 2024 * 12 + 3;
        for start in (0..35).step_by(5) {
            spreader.write(march, frame.slice(start, 5)).unwrap();
        }
        assert_eq!(spreader.finish().unwrap(), [march]);
        // Parts of 10, 10, 10 and 5 calls, read back in the order written.
        let parts = spill.month_files(march).unwrap();
        let names: Vec<&str> = parts
            .iter()
            .filter_map(|path| path.file_name()?.to_str())
            .collect();
        assert_eq!(
            names,
            [
                "24291-000000.parquet",
                "24291-000001.parquet",
                "24291-000002.parquet",
                "24291-000003.parquet"
            ]
        );
        assert!(spill.read_month(march).unwrap().equals_missing(&frame));
        assert!(spill.month_files(march + 1).unwrap().is_empty());
    }
}
