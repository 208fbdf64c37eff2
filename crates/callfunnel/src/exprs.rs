//! Small Polars helpers shared by the readers, the store and verify.

use std::io::BufWriter;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use polars::io::parquet::write::BatchedWriter;
use polars::prelude::*;

use crate::model::date_dtype;
use crate::scratch::{FirstFailure, TemporaryWriter};

/// The value of column `name` in the first row of `frame`, as a count
/// (0 when null).
pub(crate) fn first_count(frame: &DataFrame, name: &str) -> PolarsResult<u64> {
    Ok(frame.column(name)?.get(0)?.extract::<u64>().unwrap_or(0))
}

/// Collects `plan` with Polars' streaming engine: a file it scans is read in
/// memory that does not grow with the file.
pub(crate) fn collect_streaming(plan: LazyFrame) -> PolarsResult<DataFrame> {
    Ok(plan.collect_with_engine(Engine::Streaming)?.unwrap_single())
}

/// Streams `plan` batch by batch through `take`, which keeps what it needs
/// in `state` and returns `true` to stop the pass; the state at the end.
pub(crate) fn fold_batches<S: Send + 'static>(
    plan: LazyFrame,
    maintain_order: bool,
    state: S,
    take: impl Fn(&mut S, DataFrame) -> PolarsResult<bool> + Send + Sync + 'static,
) -> PolarsResult<S> {
    let poisoned = || PolarsError::ComputeError("a batch thread failed".into());
    let shared = Arc::new(Mutex::new(Some(state)));
    let callback = {
        let shared = Arc::clone(&shared);
        PlanCallback::new(move |batch: DataFrame| {
            let mut state = shared.lock().map_err(|_| poisoned())?;
            take(state.as_mut().ok_or_else(poisoned)?, batch)
        })
    };
    collect_streaming(plan.sink_batches(callback, maintain_order, None)?)?;
    let state = shared.lock().map_err(|_| poisoned())?.take();
    state.ok_or_else(poisoned)
}

/// A writer of canonical calls to a temporary Parquet file on `file`: fast
/// compression, no statistics (read back whole, never pruned).
pub(crate) fn temporary_parquet_writer(
    file: TemporaryWriter,
) -> PolarsResult<TemporaryParquetWriter> {
    let failures = file.failures();
    let writer = ParquetWriter::new(BufWriter::with_capacity(1 << 20, file))
        .with_compression(ParquetCompression::Lz4Raw)
        .with_statistics(StatisticsOptions::empty())
        .batched(&crate::model::canonical_schema());
    Ok(TemporaryParquetWriter {
        writer: failures.explain(writer)?,
        failures,
    })
}

/// Canonical calls written to a temporary Parquet file: a write the disk
/// refuses fails as the [`crate::scratch::TemporaryWriteError`] it is (the
/// Parquet writer alone would report it as text).
pub(crate) struct TemporaryParquetWriter {
    writer: BatchedWriter<BufWriter<TemporaryWriter>>,
    failures: FirstFailure,
}

impl TemporaryParquetWriter {
    /// Appends `calls` as one or more row groups.
    pub(crate) fn write_batch(&mut self, calls: &DataFrame) -> PolarsResult<()> {
        self.failures.explain(self.writer.write_batch(calls))
    }

    /// Writes the footer.
    pub(crate) fn finish(&self) -> PolarsResult<()> {
        self.failures.explain(self.writer.finish().map(drop))
    }
}

/// One lazy scan of the Parquet `files`, in order. Polars reads a few of
/// them at a time; a union of one scan per file would start every file's
/// read-ahead at once, memory growing with the number of files.
pub(crate) fn scan_parquet_files<'a>(
    files: impl IntoIterator<Item = &'a std::path::Path>,
) -> PolarsResult<LazyFrame> {
    let paths = files
        .into_iter()
        .map(PlRefPath::try_from_path)
        .collect::<PolarsResult<Vec<_>>>()?;
    LazyFrame::scan_parquet_files(paths.into_iter().collect(), ScanArgsParquet::default())
}

/// Whether a call's `date` lies in `window` (from inclusive, to exclusive).
pub(crate) fn dated_within((from, to): (DateTime<Utc>, DateTime<Utc>)) -> Expr {
    let micros = |instant: DateTime<Utc>| lit(instant.timestamp_micros()).cast(date_dtype());
    let date = col(crate::model::column::DATE);
    date.clone().gt_eq(micros(from)).and(date.lt(micros(to)))
}

/// The calls a reader keeps for a request's `window` (see
/// [`crate::ingest::IngestOptions::keep_window`]): those dated in it, and
/// those dated `latest` (the latest date of all), so that `last_updated`
/// stays.
pub(crate) fn kept_for_window(window: (DateTime<Utc>, DateTime<Utc>), latest: Expr) -> Expr {
    dated_within(window).or(col(crate::model::column::DATE).eq(latest))
}

/// `frame` with its text columns (and tag lists) copied out of the buffers
/// they share with the rows filtered away (a filter keeps the whole buffers
/// of the text it took its rows from), so that memory holds only the rows
/// kept.
pub(crate) fn with_own_strings(frame: DataFrame) -> PolarsResult<DataFrame> {
    let columns = frame
        .columns()
        .iter()
        .map(|column| match column.dtype() {
            DataType::String => Ok(own_strings(column.str()?).into_column()),
            DataType::List(inner) if inner.as_ref() == &DataType::String => {
                let lists = column
                    .list()?
                    .apply_to_inner(&|tags| Ok(own_strings(tags.str()?).into_series()))?;
                Ok(lists.into_column())
            }
            _ => Ok(column.clone()),
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new(frame.height(), columns)
}

/// `text` with buffers of its own, holding only its values.
fn own_strings(text: &StringChunked) -> StringChunked {
    StringChunked::from_chunk_iter(
        text.name().clone(),
        text.downcast_iter().map(|array| array.clone().gc()),
    )
}
