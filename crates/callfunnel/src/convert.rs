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

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::ingest::is_one_of;
use crate::model::{canonical_schema, column, CallResult, CallType, Direction};

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

/// Value of [`STORE_MARKER_KEY`]: the version of the store's layout.
pub const STORE_MARKER_VERSION: &str = "1";

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
/// The calls are checked first (see [`STORE_MARKER_KEY`]); a frame that is
/// not canonical is refused with [`ConvertError::NotCanonical`].
///
/// The file is written under a temporary name and renamed once complete,
/// so `path` may also be one of the inputs, and a failed write leaves any
/// previous file in place.
pub fn write_parquet(frame: LazyFrame, path: &Path) -> Result<u64, ConvertError> {
    let schema = canonical_schema();
    let columns: Vec<Expr> = column::ALL
        .iter()
        .map(|name| {
            let dtype = schema.get(name).cloned().unwrap_or(DataType::Null);
            col(*name).strict_cast(dtype)
        })
        .collect();
    let calls = frame.select(columns);
    let io_error = |source| ConvertError::Io {
        path: path.to_path_buf(),
        source,
    };
    // The temporary file first: a bad output path fails before the work.
    write_replacing(path, io_error, |out| {
        // Checked before sorting: ids that come in increasing order (as
        // `generate` writes them) need no distinct count.
        let calls = calls.collect().map_err(ConvertError::Frame)?;
        check_canonical(&calls)?;
        let mut calls = calls
            .sort(
                [column::DATE],
                SortMultipleOptions::default().with_maintain_order(true),
            )
            .map_err(ConvertError::Frame)?;
        ParquetWriter::new(out)
            .with_compression(ParquetCompression::Zstd(None))
            .with_row_group_size(Some(ROW_GROUP_ROWS))
            .with_key_value_metadata(Some(KeyValueMetadata::from_static(vec![(
                STORE_MARKER_KEY.to_string(),
                STORE_MARKER_VERSION.to_string(),
            )])))
            .finish(&mut calls)
            .map_err(|source| ConvertError::Parquet {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(calls.height() as u64)
    })
}

/// Refuses calls that break a rule of the store (see [`STORE_MARKER_KEY`]).
fn check_canonical(calls: &DataFrame) -> Result<(), ConvertError> {
    let rules: [(&str, Expr); 8] = [
        (
            "an id is missing",
            col(column::ID).is_null().or(col(column::ID).eq(lit(""))),
        ),
        ("a date is missing", col(column::DATE).is_null()),
        (
            "a direction is not in API case",
            is_one_of(col(column::DIRECTION), Direction::SPELLINGS).not(),
        ),
        (
            "a type is not in API case",
            is_one_of(col(column::TYPE), CallType::SPELLINGS).not(),
        ),
        (
            "a result is not in API case",
            is_one_of(col(column::RESULT), CallResult::SPELLINGS).not(),
        ),
        ("a duration is missing", col(column::DURATION).is_null()),
        ("a duration is negative", col(column::DURATION).lt(lit(0))),
        (
            "a ringing time is negative or not a number",
            col(column::RINGING_SECONDS)
                .lt(lit(0.0))
                .or(col(column::RINGING_SECONDS).is_nan()),
        ),
    ];
    let checks: Vec<Expr> = rules
        .iter()
        .enumerate()
        .map(|(index, (_, broken))| {
            broken
                .clone()
                .fill_null(lit(false))
                .any(true)
                .alias(format!("rule{index}"))
        })
        .collect();

    let found = calls
        .clone()
        .lazy()
        .select(checks)
        .collect()
        .map_err(ConvertError::Frame)?;
    let flag = |name: &str| -> Result<AnyValue<'_>, ConvertError> {
        found
            .column(name)
            .and_then(|column| column.get(0))
            .map_err(ConvertError::Frame)
    };
    for (index, (rule, _)) in rules.iter().enumerate() {
        if flag(&format!("rule{index}"))? == AnyValue::Boolean(true) {
            return Err(ConvertError::NotCanonical((*rule).to_string()));
        }
    }
    let unique = crate::ingest::distinct_ids(calls).map_err(ConvertError::Frame)?;
    if unique != calls.height() {
        return Err(ConvertError::NotCanonical(format!(
            "{} duplicate ids",
            calls.height() - unique
        )));
    }
    Ok(())
}

/// Writes `path` through `write`, under a temporary name in the same folder
/// renamed to `path` once complete (and flushed); on failure the temporary
/// file is removed and `path` is left as it was. A reader never sees a
/// partial file.
pub fn write_replacing<T, E>(
    path: &Path,
    io_error: impl Fn(std::io::Error) -> E,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<T, E>,
) -> Result<T, E> {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
    let outcome = File::create(&temporary)
        .map_err(&io_error)
        .and_then(|file| {
            let mut out = BufWriter::with_capacity(1 << 20, file);
            let value = write(&mut out)?;
            out.flush().map_err(&io_error)?;
            Ok(value)
        })
        .and_then(|value| {
            std::fs::rename(&temporary, path).map_err(&io_error)?;
            Ok(value)
        });
    if outcome.is_err() {
        // Best effort: the temporary file may not exist.
        let _ = std::fs::remove_file(&temporary);
    }
    outcome
}
