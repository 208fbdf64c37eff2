//! Polars expressions for canonical columns, shared by the column-wise
//! readers (Parquet, CSV in canonical form) and the store writer's check.

use polars::prelude::*;

use super::fields::Field;
use crate::model::{CallResult, CallType, Direction};

/// The API spelling of every value of an enum field.
pub(crate) fn api_spellings(field: Field) -> &'static [&'static str] {
    match field {
        Field::Direction => Direction::SPELLINGS,
        Field::Type => CallType::SPELLINGS,
        _ => CallResult::SPELLINGS,
    }
}

/// Whether `value` is one of `allowed` (null for a null value).
pub(crate) fn is_one_of(value: Expr, allowed: &[&'static str]) -> Expr {
    allowed
        .iter()
        .map(|text| value.clone().eq(lit(*text)))
        .reduce(Expr::or)
        .unwrap_or_else(|| lit(false))
}

/// An enum value with its default (`OUTBOUND`, `CALL`; none for `result`).
pub(crate) fn default_enum(field: Field, value: Expr) -> Expr {
    match field {
        Field::Direction => value.fill_null(lit(Direction::Outbound.as_str())),
        Field::Type => value.fill_null(lit(CallType::Call.as_str())),
        _ => value,
    }
}

/// The value of a field the input does not have (as the row reader fills it).
pub(crate) fn absent_value(field: Field) -> Expr {
    match field {
        Field::Direction | Field::Type => default_enum(field, lit(NULL).cast(DataType::String)),
        Field::Duration => lit(0i64).cast(DataType::Int64),
        Field::RingingSeconds => lit(NULL).cast(DataType::Float64),
        Field::Tags => empty_tags(),
        _ => lit(NULL).cast(DataType::String),
    }
}

/// An empty tag list, as a literal.
pub(crate) fn empty_tags() -> Expr {
    let empty = Series::new_empty(PlSmallStr::EMPTY, &DataType::String);
    lit(Scalar::new(
        DataType::List(Box::new(DataType::String)),
        AnyValue::List(empty),
    ))
}
