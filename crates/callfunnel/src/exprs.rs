//! Small Polars helpers shared by the readers, the store and verify.

use chrono::{DateTime, Utc};
use polars::prelude::*;

use crate::model::date_dtype;

/// Whether `value` is one of `allowed` (null for a null value).
pub(crate) fn is_one_of(value: Expr, allowed: &[&'static str]) -> Expr {
    allowed
        .iter()
        .map(|text| value.clone().eq(lit(*text)))
        .reduce(Expr::or)
        .unwrap_or_else(|| lit(false))
}

/// An empty tag list, as a literal.
pub(crate) fn empty_tags() -> Expr {
    let empty = Series::new_empty(PlSmallStr::EMPTY, &DataType::String);
    lit(Scalar::new(
        DataType::List(Box::new(DataType::String)),
        AnyValue::List(empty),
    ))
}

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

/// The rows of `calls` and their distinct ids (one streaming pass).
pub(crate) fn rows_and_distinct_ids(calls: LazyFrame) -> PolarsResult<(u64, u64)> {
    let id = col(crate::model::column::ID);
    let counts =
        collect_streaming(calls.select([len().alias("rows"), id.n_unique().alias("unique")]))?;
    Ok((
        first_count(&counts, "rows")?,
        first_count(&counts, "unique")?,
    ))
}

/// Whether a call's `date` lies in `window` (from inclusive, to exclusive).
pub(crate) fn dated_within((from, to): (DateTime<Utc>, DateTime<Utc>)) -> Expr {
    let micros = |instant: DateTime<Utc>| lit(instant.timestamp_micros()).cast(date_dtype());
    let date = col(crate::model::column::DATE);
    date.clone().gt_eq(micros(from)).and(date.lt(micros(to)))
}

/// `frame` with its text columns copied out of the buffers they share with
/// the rows filtered away (a filter keeps the whole buffers of the text it
/// took its rows from), so that memory holds only the rows kept.
pub(crate) fn with_own_strings(frame: DataFrame) -> PolarsResult<DataFrame> {
    let columns = frame
        .columns()
        .iter()
        .map(|column| match column.dtype() {
            DataType::String => {
                let text = column.str()?;
                let own = StringChunked::from_chunk_iter(
                    text.name().clone(),
                    text.downcast_iter().map(|array| array.clone().gc()),
                );
                Ok(own.into_column())
            }
            _ => Ok(column.clone()),
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new(frame.height(), columns)
}
