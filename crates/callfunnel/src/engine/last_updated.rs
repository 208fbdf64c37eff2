//! `last_updated` (SPEC §4): the latest call date among all loaded calls,
//! before any filter, in UTC.

use chrono::{DateTime, Utc};
use polars::prelude::*;

use super::derived;
use crate::model::column;

/// The latest date among all loaded calls, before any filter.
pub(super) fn last_updated_plan(calls: LazyFrame) -> LazyFrame {
    calls.select([col(column::DATE)
        .max()
        .cast(DataType::Int64)
        .alias(derived::DATE_MICROS)])
}

/// The latest date as the response writes it; `None` when no call was loaded.
pub(super) fn read_last_updated(frame: &DataFrame) -> PolarsResult<Option<String>> {
    let micros = frame.column(derived::DATE_MICROS)?.i64()?.get(0);
    Ok(micros.map(format_utc))
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a UTC instant in microseconds.
pub(crate) fn format_utc(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .map(|instant| instant.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}
