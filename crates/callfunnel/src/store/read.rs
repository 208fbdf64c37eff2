//! Reading a store file back. A file carrying the store marker is trusted
//! without the row checks and the duplicate count of other inputs, so that a
//! query reads only the row groups and columns it needs, once it is known
//! to be intact: by its checksum, or, for the version without one, by the
//! store's rules over the values the query reads.

use std::path::Path;

use chrono::{DateTime, Utc};
use polars::prelude::*;

use super::format::{check_checksum, store_metadata};
use super::rules::{any_broken, store_rules, StoreRule, CHECKED};
use crate::exprs::{collect_streaming, dated_within, first_count, kept_for_window};
use crate::model::{date_dtype, Field};
use crate::reason::{truncate_value, InvalidRow, Reason};

/// A store file, checked and scanned lazily.
pub(crate) struct StoreScan {
    /// Its calls (with a window to keep, those of the window and the latest).
    pub frame: LazyFrame,
    /// Its number of calls.
    pub rows: u64,
    /// The folder store it is a month of (see [`super::STORE_FOLDER_KEY`]),
    /// if any.
    pub folder: Option<String>,
}

/// Why a store file is not read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The file could not be read.
    Unreadable(std::io::Error),
    /// Polars could not read its metadata or its values.
    Polars(PolarsError),
    /// Its bytes are not those its writer wrote: the checksum it carries
    /// (`expected`) is not that of its bytes (`found`).
    Damaged { expected: String, found: String },
    /// A value breaks a store rule (a store without a checksum).
    BadRow(InvalidRow),
}

/// The store file at `path` (named `file` in messages; `scan` its lazy
/// scan), checked; `None` when its metadata does not carry the store marker.
/// A store is refused when damaged: one with a checksum when its bytes
/// differ from those its writer wrote (read once, before anything is
/// scanned), one without a checksum when a value breaks a store rule (among
/// the calls of `check_window`, the window of the one request the calls are
/// read for, or among all of them). With a `keep_window`, only the calls of
/// the window and the latest calls are kept, the latest date read from the
/// row groups' statistics: a query reads the window's row groups and the
/// last one, not every date of the store.
pub(crate) fn scan_store(
    path: &Path,
    file: &str,
    scan: LazyFrame,
    check_window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    keep_window: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Result<Option<StoreScan>, ReadError> {
    let metadata = store_metadata(path).map_err(ReadError::Polars)?;
    if !metadata.marked {
        return Ok(None);
    }
    check_checksum(path, &metadata)
        .map_err(ReadError::Unreadable)?
        .map_err(|mismatch| ReadError::Damaged {
            expected: mismatch.expected,
            found: mismatch.found,
        })?;
    if metadata.checksum.is_none() {
        let intact = match check_window {
            Some(window) => window_is_intact(&scan, window).map_err(ReadError::Polars)?,
            None => false,
        };
        if !intact {
            if let Some(row) = check_store(&scan, file).map_err(ReadError::Polars)? {
                return Err(ReadError::BadRow(row));
            }
        }
    }
    let frame = match (keep_window, metadata.latest_date) {
        (Some(window), Some(latest)) => {
            scan.filter(kept_for_window(window, lit(latest).cast(date_dtype())))
        }
        _ => scan,
    };
    Ok(Some(StoreScan {
        frame,
        rows: metadata.rows,
        folder: metadata.folder,
    }))
}

/// Whether the store's calls in `window` keep every store rule and every
/// date of the store lies in years 0000–9999 (the latest date is read from
/// all of them): the calls a query of that window reads. Only the row groups
/// of the window are decoded, so a period query on a large store stays fast;
/// `false` sends the load to [`check_store`], which locates the bad row.
fn window_is_intact(
    scan: &LazyFrame,
    window: (DateTime<Utc>, DateTime<Utc>),
) -> PolarsResult<bool> {
    let rules = store_rules();
    let of_dates = rules
        .iter()
        .filter(|rule| rule.column == Field::Date.name());
    let count = |rows: LazyFrame| -> PolarsResult<u64> {
        let counted = collect_streaming(rows.select([len().alias("rows")]))?;
        first_count(&counted, "rows")
    };
    let broken_in_window = scan
        .clone()
        .filter(dated_within(window).and(any_broken(rules.iter())));
    let broken_dates = scan.clone().filter(any_broken(of_dates));
    Ok(count(broken_in_window)? == 0 && count(broken_dates)? == 0)
}

/// Checks the values of a store (one pass over the few columns the rules
/// read); the first row that breaks a rule, if any. A store damaged on disk
/// then stops the load instead of giving wrong figures.
fn check_store(scan: &LazyFrame, file: &str) -> PolarsResult<Option<InvalidRow>> {
    let rules = store_rules();
    let broken = any_broken(rules.iter());
    let flagged = scan
        .clone()
        .with_row_index("__row", None)
        .filter(broken)
        .limit(1)
        .select(
            [col("__row")]
                .into_iter()
                .chain(rules.iter().enumerate().map(|(index, rule)| {
                    rule.broken
                        .clone()
                        .fill_null(lit(false))
                        .alias(format!("rule{index}"))
                }))
                .chain(CHECKED.map(|field| {
                    col(field.name())
                        .cast(DataType::String)
                        .alias(format!("shown_{}", field.name()))
                }))
                .collect::<Vec<_>>(),
        );
    let flagged = collect_streaming(flagged)?;
    if flagged.height() == 0 {
        return Ok(None);
    }
    let row = flagged
        .column("__row")?
        .get(0)?
        .extract::<u64>()
        .unwrap_or(0)
        + 1;
    for (index, StoreRule { reason, column, .. }) in rules.iter().enumerate() {
        if flagged.column(&format!("rule{index}"))?.get(0)? != AnyValue::Boolean(true) {
            continue;
        }
        let shown = flagged.column(&format!("shown_{column}"))?.get(0)?;
        let detail = match reason {
            Reason::BadTimestamp => Some("outside years 0000–9999: is the store damaged?".into()),
            _ => Some("is the store damaged?".into()),
        };
        return Ok(Some(InvalidRow {
            file: file.to_string(),
            line: row,
            column: (*column).to_string(),
            value: truncate_value(shown.get_str().unwrap_or_default()),
            reason: *reason,
            detail,
        }));
    }
    Ok(None)
}
