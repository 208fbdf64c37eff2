//! Polars expressions for canonical columns, shared by the column-wise
//! readers (Parquet, CSV in canonical form).

use polars::prelude::*;

use super::fields::Field;
use crate::exprs::empty_tags;
use crate::model::{CallResult, CallType, Direction};

/// The API spelling of every value of an enum field.
pub(crate) fn api_spellings(field: Field) -> &'static [&'static str] {
    match field {
        Field::Direction => Direction::SPELLINGS,
        Field::Type => CallType::SPELLINGS,
        _ => CallResult::SPELLINGS,
    }
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
