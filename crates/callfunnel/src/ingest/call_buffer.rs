//! Calls read from an input, gathered batch by batch in bounded memory: in
//! memory while few, then in temporary Parquet files that a lazy frame scans.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use polars::prelude::*;

use crate::duplicates::RepeatedIdHashes;
use crate::exprs::{
    kept_for_window, scan_parquet_files, temporary_parquet_writer, with_own_strings,
    TemporaryParquetWriter,
};
use crate::scratch::SpillFile;

/// Rows written to one temporary file before the next is started (at the
/// end of a batch): a Parquet writer holds memory for every row group it
/// wrote until it is closed, and Polars' streaming scan reads ahead within
/// a file, so both grow with a file's rows.
const ROWS_PER_SPILL_FILE: usize = 128 * 1024;

/// Rows of a row group of a temporary file: Polars' streaming scan holds
/// some dozens of decoded row groups in flight when what reads them back is
/// slower than the scan, so small row groups keep that memory small.
const SPILL_ROW_GROUP_ROWS: usize = 16 * 1024;

/// Canonical calls written to temporary Parquet files (fast compression, no
/// statistics), batch by batch, a new file every `rows_per_file` rows
/// ([`ROWS_PER_SPILL_FILE`]).
struct SpillWriter {
    closed: Vec<SpillFile>,
    file: SpillFile,
    writer: TemporaryParquetWriter,
    /// Rows written to `file` so far.
    rows: usize,
    rows_per_file: usize,
}

impl SpillWriter {
    /// A writer of its first temporary file.
    fn create(rows_per_file: usize) -> PolarsResult<SpillWriter> {
        let (file, writer) = Self::open()?;
        Ok(SpillWriter {
            closed: Vec::new(),
            file,
            writer,
            rows: 0,
            rows_per_file,
        })
    }

    /// A new temporary file and its writer.
    fn open() -> PolarsResult<(SpillFile, TemporaryParquetWriter)> {
        let (file, handle) = SpillFile::create("parquet")?;
        Ok((file, temporary_parquet_writer(handle)?))
    }

    /// Appends `calls`, to a new file once `rows_per_file` rows were written,
    /// in row groups of at most [`SPILL_ROW_GROUP_ROWS`].
    fn write(&mut self, mut calls: DataFrame) -> PolarsResult<()> {
        if self.rows >= self.rows_per_file {
            let (file, writer) = Self::open()?;
            std::mem::replace(&mut self.writer, writer).finish()?;
            self.closed.push(std::mem::replace(&mut self.file, file));
            self.rows = 0;
        }
        self.rows += calls.height();
        calls.rechunk_mut();
        for start in (0..calls.height()).step_by(SPILL_ROW_GROUP_ROWS) {
            let group = calls.slice(start as i64, SPILL_ROW_GROUP_ROWS);
            self.writer.write_batch(&group)?;
        }
        Ok(())
    }

    /// Closes the last file: a lazy scan of them all, in order, and the
    /// files it reads.
    fn finish(mut self) -> PolarsResult<(LazyFrame, Vec<SpillFile>)> {
        self.writer.finish()?;
        drop(self.writer);
        self.closed.push(self.file);
        let frame = scan_parquet_files(self.closed.iter().map(SpillFile::path))?;
        Ok((frame, self.closed))
    }
}

/// Calls held in memory; beyond, a [`CallBuffer`] moves to temporary files.
const ROWS_IN_MEMORY: usize = 1 << 20;

/// Canonical calls gathered batch by batch, in input order: in memory up to
/// [`ROWS_IN_MEMORY`] calls, beyond in temporary Parquet files, so memory does
/// not grow with the input. With a window, a batch keeps only its calls
/// dated in it and its latest calls (so the latest call of all stays, and
/// with it `last_updated`), and the calls whose id may repeat (so that
/// every occurrence of a repeated id reaches the duplicate finder).
pub(crate) struct CallBuffer {
    window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    repeated: Arc<RepeatedIdHashes>,
    kept: Option<DataFrame>,
    spilled: Option<SpillWriter>,
    rows_in_memory: usize,
    rows_per_spill_file: usize,
}

impl CallBuffer {
    /// An empty buffer, keeping the calls of `window` (`None`: every call).
    pub fn new(window: Option<(DateTime<Utc>, DateTime<Utc>)>) -> Self {
        CallBuffer {
            window,
            repeated: Arc::default(),
            kept: None,
            spilled: None,
            rows_in_memory: ROWS_IN_MEMORY,
            rows_per_spill_file: ROWS_PER_SPILL_FILE,
        }
    }

    /// Keeps, with a window, the calls whose id's hash is in `repeated` too.
    pub fn keeping_ids(mut self, repeated: Arc<RepeatedIdHashes>) -> Self {
        self.repeated = repeated;
        self
    }

    /// The window whose calls it keeps; `None` when it keeps every call.
    pub fn window(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.window
    }

    /// Keeps every call of the batches still to come.
    pub fn keep_every_call(&mut self) {
        self.window = None;
    }

    /// Adds a batch of canonical calls; returns how many it kept.
    pub fn push(&mut self, calls: LazyFrame) -> PolarsResult<usize> {
        let batch = match self.window {
            Some(window) => {
                let date = col(crate::model::column::DATE);
                let kept = if self.repeated.is_empty() {
                    kept_for_window(window, date.max())
                } else {
                    // The latest of the calls whose id does not repeat: a
                    // repeated id's latest copy may yet be replaced.
                    let repeats = id_may_repeat(self.repeated.clone());
                    let latest = date.filter(repeats.clone().not()).max();
                    kept_for_window(window, latest).or(repeats)
                };
                let rows = calls.clone().select([len()]).collect()?;
                let rows = rows.column("len")?.idx()?.get(0).unwrap_or_default() as usize;
                let batch = calls.filter(kept).collect()?;
                // Rows dropped hold on to their text's buffers: copied away
                // from them when most were dropped.
                if batch.height() * 2 < rows {
                    with_own_strings(batch)?
                } else {
                    batch
                }
            }
            None => calls.collect()?,
        };
        let rows = batch.height();
        if let Some(spill) = &mut self.spilled {
            spill.write(batch)?;
            return Ok(rows);
        }
        match &mut self.kept {
            Some(kept) => {
                kept.vstack_mut(&batch)?;
                // Many small batches cost more than their rows (each array
                // has its own buffers): joined now and then.
                if kept.first_col_n_chunks() > 64 {
                    kept.rechunk_mut();
                }
            }
            None => self.kept = Some(batch),
        }
        if self.kept.as_ref().map_or(0, DataFrame::height) > self.rows_in_memory {
            let mut spill = SpillWriter::create(self.rows_per_spill_file)?;
            spill.write(self.kept.take().expect("kept above"))?;
            self.spilled = Some(spill);
        }
        Ok(rows)
    }

    /// The calls gathered, as a lazy frame, and the temporary files it reads
    /// (they must outlive the frame).
    pub fn finish(self) -> PolarsResult<(LazyFrame, Vec<SpillFile>)> {
        if let Some(spill) = self.spilled {
            return spill.finish();
        }
        let mut kept = match self.kept {
            Some(kept) => kept,
            None => crate::model::CallColumns::default().into_frame()?,
        };
        kept.rechunk_mut();
        Ok((kept.lazy(), Vec::new()))
    }
}

/// Whether each call's id may repeat (its hash is in `repeated`).
fn id_may_repeat(repeated: Arc<RepeatedIdHashes>) -> Expr {
    col(crate::model::column::ID).map(
        move |column| {
            let ids = column.str()?;
            let flags = ids
                .iter()
                .map(|id| id.is_some_and(|id| repeated.may_repeat(id.as_bytes())));
            Ok(BooleanChunked::from_iter_values(ids.name().clone(), flags).into_column())
        },
        |_, input| Ok(Field::new(input.name().clone(), DataType::Boolean)),
    )
}

/// Whether the ids of `batch` increase strictly, from `last_id` (the last id
/// of the batches before) on; `last_id` becomes the batch's last.
pub(crate) fn ids_increase(batch: &DataFrame, last_id: &mut Option<String>) -> PolarsResult<bool> {
    let ids = batch.column(crate::model::column::ID)?.str()?;
    let mut previous = last_id.as_deref();
    for id in ids.iter() {
        let Some(id) = id else { return Ok(false) };
        if previous.is_some_and(|previous| id <= previous) {
            return Ok(false);
        }
        previous = Some(id);
    }
    let last = previous.map(str::to_string);
    *last_id = last;
    Ok(true)
}

#[cfg(test)]
impl CallBuffer {
    /// The buffer with a smaller bound in memory, and as many rows a
    /// temporary file, to test its move to files.
    pub fn with_rows_in_memory(mut self, rows: usize) -> Self {
        self.rows_in_memory = rows;
        self.rows_per_spill_file = rows;
        self
    }
}
