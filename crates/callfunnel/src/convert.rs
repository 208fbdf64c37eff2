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
/// file is removed and `path` is left as it was.
pub(crate) fn write_replacing<T, E>(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{generate_frame, GenerateOptions};
    use crate::ingest::{load, load_str, Format, IngestOptions};

    /// Some generated calls.
    fn calls(rows: u64) -> DataFrame {
        generate_frame(&GenerateOptions {
            rows,
            seed: 4,
            ..GenerateOptions::default()
        })
        .unwrap()
    }

    /// The calls of a Parquet file, read back through ingest.
    fn reload(path: &Path) -> DataFrame {
        let loaded = load(&[path.to_path_buf()], &IngestOptions::default()).unwrap();
        loaded.frame.collect().unwrap()
    }

    /// `frame` sorted by date, ties in their order.
    fn by_date(frame: DataFrame) -> DataFrame {
        frame
            .lazy()
            .sort(
                [column::DATE],
                SortMultipleOptions::default().with_maintain_order(true),
            )
            .collect()
            .unwrap()
    }

    #[test]
    fn the_store_holds_the_same_calls_sorted_by_date() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calls.parquet");
        let expected = calls(5_000);
        assert_eq!(
            write_parquet(expected.clone().lazy(), &path).unwrap(),
            5_000
        );
        let stored = reload(&path);
        assert_eq!(**stored.schema(), canonical_schema());
        assert!(stored.equals_missing(&by_date(expected)));
        let dates = stored.column(column::DATE).unwrap().datetime().unwrap();
        let dates: Vec<i64> = dates.phys.into_no_null_iter().collect();
        assert!(dates.windows(2).all(|pair| pair[0] <= pair[1]));
    }

    #[test]
    fn columns_come_out_in_canonical_order_whatever_the_input_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calls.parquet");
        let expected = calls(100);
        let reversed: Vec<Expr> = column::ALL.iter().rev().map(|name| col(*name)).collect();
        write_parquet(expected.clone().lazy().select(reversed), &path).unwrap();
        let file = File::open(&path).unwrap();
        let raw = ParquetReader::new(file).finish().unwrap();
        let names: Vec<&str> = raw
            .get_column_names()
            .iter()
            .map(|name| name.as_str())
            .collect();
        assert_eq!(names, column::ALL);
        assert_eq!(**raw.schema(), canonical_schema());
    }

    #[test]
    fn ingested_duplicates_are_collapsed_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calls.parquet");
        let csv = "id,date,result,duration,tags\n\
                   cll-2,2024-03-05T10:00:00Z,answered,80,Demo_Booked\n\
                   cll-1,2024-03-04T09:00:00Z,busy,0,\n\
                   cll-2,2024-03-05T11:00:00Z,answered,95,\n";
        let ingested = load_str(csv, Format::Csv, "calls.csv", &IngestOptions::default()).unwrap();
        assert_eq!(write_parquet(ingested.frame, &path).unwrap(), 2);
        let stored = reload(&path);
        let ids: Vec<_> = stored
            .column(column::ID)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(ids, [Some("cll-1"), Some("cll-2")]);
        let durations = stored.column(column::DURATION).unwrap().i64().unwrap();
        assert_eq!(durations.get(1), Some(95));
    }

    #[test]
    fn a_store_can_be_rewritten_from_itself() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calls.parquet");
        let expected = by_date(calls(2_000));
        write_parquet(expected.clone().lazy(), &path).unwrap();
        let loaded = load(std::slice::from_ref(&path), &IngestOptions::default()).unwrap();
        assert_eq!(write_parquet(loaded.frame, &path).unwrap(), 2_000);
        assert!(reload(&path).equals_missing(&expected));
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "temporary files were left behind");
    }

    #[test]
    fn a_marked_store_reads_back_like_the_same_file_checked_row_by_row() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store.parquet");
        let plain = dir.path().join("plain.parquet");
        let expected = by_date(calls(3_000));
        write_parquet(expected.clone().lazy(), &store).unwrap();
        let mut unmarked = expected.clone();
        ParquetWriter::new(File::create(&plain).unwrap())
            .finish(&mut unmarked)
            .unwrap();
        let metadata = |path: &Path| {
            let mut reader = ParquetReader::new(File::open(path).unwrap());
            reader.get_metadata().unwrap().key_value_metadata().clone()
        };
        let marker = metadata(&store).unwrap_or_default();
        assert!(marker.iter().any(|entry| entry.key == STORE_MARKER_KEY
            && entry.value.as_deref() == Some(STORE_MARKER_VERSION)));
        assert!(metadata(&plain)
            .unwrap_or_default()
            .iter()
            .all(|entry| entry.key != STORE_MARKER_KEY));
        let loaded = load(&[store, plain.clone()], &IngestOptions::default()).unwrap();
        assert_eq!(loaded.report.rows_read, 6_000);
        assert_eq!(loaded.report.duplicates, 3_000);
        assert!(reload(&plain).equals_missing(&expected));
        let store_only = load(
            &[dir.path().join("store.parquet")],
            &IngestOptions::default(),
        )
        .unwrap();
        assert_eq!(store_only.report.calls, 3_000);
        assert!(store_only
            .frame
            .collect()
            .unwrap()
            .equals_missing(&expected));
    }

    #[test]
    fn calls_that_are_not_canonical_get_no_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calls.parquet");
        let canonical = calls(50);
        let twice = concat(
            [canonical.clone().lazy(), canonical.clone().lazy()],
            UnionArgs::default(),
        )
        .unwrap();
        let lower_case = canonical
            .clone()
            .lazy()
            .with_column(col(column::RESULT).str().to_lowercase());
        let negative = canonical
            .lazy()
            .with_column(lit(-1i64).alias(column::DURATION));
        for (frame, expected) in [
            (twice, "50 duplicate ids"),
            (lower_case, "a result is not in API case"),
            (negative, "a duration is negative"),
        ] {
            let error = write_parquet(frame, &path).unwrap_err();
            assert!(matches!(error, ConvertError::NotCanonical(_)), "{error}");
            assert!(error.to_string().ends_with(expected), "{error}");
            assert!(!path.exists());
        }
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("calls.parquet");
        let error = write_parquet(calls(10).lazy(), &path).unwrap_err();
        assert!(matches!(error, ConvertError::Io { .. }), "{error}");
        assert!(error.to_string().contains("calls.parquet"));
        assert!(std::error::Error::source(&error).is_some());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_frame_that_is_not_canonical_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calls.parquet");
        let frame = df!("id" => ["cll-1"]).unwrap().lazy();
        let error = write_parquet(frame, &path).unwrap_err();
        assert!(matches!(error, ConvertError::Frame(_)), "{error}");
        assert!(!path.exists());
    }
}
