//! Small Polars helpers shared by the readers, the store and verify.

use polars::prelude::*;

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
