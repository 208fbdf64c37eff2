//! The calls of a store being written, spread over temporary files by
//! calendar month (UTC) in one streaming pass, checked against the store's
//! rules on the way, so that each month can then be sorted on its own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::rules::{store_rules, StoreRule};
use super::WriteError;
use crate::duplicates::repeated_ids;
use crate::exprs::{
    fold_batches, scan_parquet_files, temporary_parquet_writer, TemporaryParquetWriter,
};
use crate::model::column;
use crate::scratch::{SpillFolder, TemporaryWriter};

/// The calls spread by month, in a temporary folder beside the store.
pub(super) struct Months {
    folder: SpillFolder,
    /// Calls written to one file of a month before the next is started.
    rows_per_part: usize,
}

/// Calls written to one temporary file of a month before the next is
/// started: a Parquet writer holds the metadata of every row group it wrote
/// until it is closed, memory that would grow with the calls.
const ROWS_PER_MONTH_PART: usize = 1 << 20;

impl Months {
    /// A new hidden folder beside `store` (a file or folder).
    pub(super) fn create(store: &Path) -> std::io::Result<Months> {
        Ok(Months {
            folder: SpillFolder::beside(store, "months")?,
            rows_per_part: ROWS_PER_MONTH_PART,
        })
    }

    /// Where the months' files are.
    pub(super) fn path(&self) -> &Path {
        self.folder.path()
    }

    /// The files of the month with key `month`, in the order written.
    pub(super) fn month_files(&self, month: i32) -> std::io::Result<Vec<PathBuf>> {
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
    pub(super) fn read_month(&self, month: i32) -> PolarsResult<DataFrame> {
        scan_month(&self.month_files(month)?)?.collect()
    }
}

/// One lazy scan of a month's `files`, in the order written.
pub(super) fn scan_month(files: &[PathBuf]) -> PolarsResult<LazyFrame> {
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
pub(super) fn spill_by_month(calls: LazyFrame, spill: &Months) -> Result<Vec<i32>, WriteError> {
    let mut spreader = fold_batches(
        calls.with_columns([month_key(), broken_rule()]),
        true,
        MonthSpreader::new(spill),
        MonthSpreader::take,
    )
    .map_err(WriteError::Frame)?;
    if let Some(rule) = spreader.broken.take() {
        return Err(WriteError::NotCanonical(rule));
    }
    spreader.finish().map_err(WriteError::Frame)
}

/// Calls gathered, whole batches as they came, before they are spread over
/// their months' files in one go (sorted by month, each month's run written
/// at once): memory holds at most this many calls, however many months they
/// fall in.
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
                    .insert(temporary_parquet_writer(TemporaryWriter::create(&path)?)?)
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
    file: Option<TemporaryParquetWriter>,
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
pub(super) fn check_distinct_ids(spill: &Months, months: &[i32]) -> Result<(), WriteError> {
    if months.is_empty() {
        return Ok(());
    }
    let mut files: Vec<PathBuf> = Vec::new();
    for month in months {
        files.extend(spill.month_files(*month).map_err(|source| WriteError::Io {
            path: spill.path().to_path_buf(),
            source,
        })?);
    }
    let repeated = scan_parquet_files(files.iter().map(PathBuf::as_path))
        .and_then(|calls| repeated_ids(calls, 0))
        .map_err(WriteError::Frame)?;
    if repeated.duplicates != 0 {
        return Err(WriteError::NotCanonical(format!(
            "{} duplicate ids",
            repeated.duplicates
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{calls_to_frame, Call};
    use crate::store::write::canonical_calls;
    use chrono::{TimeZone, Utc};

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
