//! A Parquet file read field by field, by the rules of SPEC §1 (§1.1 for
//! Parquet): a typed column (a timestamp of any unit, with or without a
//! zone; any integer, float or decimal; a list of strings) by Polars
//! expressions; a text column by the CSV rules themselves
//! ([`crate::ingest::fields::read_field`]), applied to each value, so that a
//! value is accepted, normalised or refused exactly as in a CSV file (a
//! `date` as RFC 3339 text, `tags` as `;`-joined text, numbers as text,
//! enums in any case).
//!
//! Each field gives its canonical value and, per row, the reason its value is
//! refused (null when it is not). A row's reason is that of its first refused
//! field, in field order, as the row reader stops at the first bad field. One
//! aggregate query counts the rows and the bad rows per reason; the frame
//! handed on stays a lazy scan.

use std::collections::BTreeMap;

use chrono::DateTime;
use chrono_tz::Tz;
use polars::prelude::*;

use crate::exprs::{collect_streaming, first_count};
use crate::ingest::error::{truncate_value, IngestError, InvalidRow, Reason};
use crate::ingest::fields::{localize, push_tag, read_field, ColumnNames, FieldValue, Raw};
use crate::ingest::part::{FilePart, Ids};
use crate::ingest::IngestOptions;
use crate::model::rules::{
    self, absent_value, duration_from_integer, duration_from_number, ringing_from_number,
    text_value, with_default,
};
use crate::model::{date_dtype, Field};

/// The calls of a Parquet file (named `file` in messages; `scan` its lazy
/// scan, of `schema`), each field read by its plan; a bad row stops the
/// read, or is skipped and counted with `skip_invalid`.
pub(super) fn read(
    file: &str,
    mut scan: LazyFrame,
    schema: &Schema,
    names: &ColumnNames,
    options: &IngestOptions,
) -> Result<FilePart, IngestError> {
    let (tz, skip_invalid) = (options.input_tz, options.skip_invalid);
    let polars_error = |source: PolarsError| IngestError::Polars {
        context: file.to_string(),
        source,
    };
    let mut plans: Vec<FieldPlan> = Vec::with_capacity(Field::ALL.len());
    for field in Field::ALL {
        let column = names.get(field);
        let plan = match schema.get(column) {
            Some(dtype) => plan_field(field, column, dtype, tz).map_err(|expected| {
                IngestError::BadColumnType {
                    file: file.to_string(),
                    column: column.to_string(),
                    dtype: dtype.to_string(),
                    expected,
                }
            })?,
            None if field.is_required() || names.is_mapped(field) => {
                return Err(IngestError::MissingColumn {
                    file: file.to_string(),
                    field: field.name().to_string(),
                    column: column.to_string(),
                });
            }
            None => FieldPlan {
                field,
                column: None,
                value: absent_value(field),
                problem: None,
            },
        };
        plans.push(plan);
    }

    let problems: Vec<Expr> = plans
        .iter()
        .filter_map(|plan| plan.problem.clone())
        .collect();
    let row_problem = (!problems.is_empty()).then(|| coalesce(&problems));
    let (rows_read, skipped) = count_rows(&scan, row_problem.as_ref()).map_err(polars_error)?;
    if let (false, Some(row_problem)) = (skipped.is_empty(), row_problem) {
        if !skip_invalid {
            let error = first_bad_row(scan, file, &plans, row_problem, tz).map_err(polars_error)?;
            return Err(error);
        }
        scan = scan.filter(row_problem.is_null());
    }

    let columns: Vec<Expr> = plans
        .into_iter()
        .map(|plan| plan.value.alias(plan.field.name()))
        .collect();
    Ok(FilePart {
        frame: scan.select(columns),
        rows_read,
        skipped,
        ids: Ids::Unknown,
        spills: Vec::new(),
    })
}

/// How a field is read from the file.
struct FieldPlan {
    field: Field,
    /// The column in the file, when present.
    column: Option<String>,
    /// The canonical value.
    value: Expr,
    /// Per row, the [`Reason::code`] of the reason the value is refused;
    /// null when it is not. `None` when no value can be refused.
    problem: Option<Expr>,
}

/// Name of the column of row numbers used to locate a bad row.
const ROW_NUMBER: &str = "__row";
/// Name of the column of each row's first problem, while counting them.
const ROW_PROBLEM: &str = "__problem";

/// One pass over the file: its rows, and the bad rows by reason.
fn count_rows(
    scan: &LazyFrame,
    row_problem: Option<&Expr>,
) -> PolarsResult<(u64, BTreeMap<String, u64>)> {
    let mut summary = vec![len().alias("rows")];
    let mut scan = scan.clone();
    if let Some(problem) = row_problem {
        // Computed once per row, then counted for each reason.
        scan = scan.with_column(problem.clone().alias(ROW_PROBLEM));
        summary.extend(Reason::ALL.iter().map(|reason| {
            col(ROW_PROBLEM)
                .eq(code_literal(*reason))
                .sum()
                .alias(reason_count_name(*reason))
        }));
    }
    let counts = collect_streaming(scan.select(summary))?;
    let mut skipped = BTreeMap::new();
    if row_problem.is_some() {
        for reason in Reason::ALL {
            let bad = first_count(&counts, &reason_count_name(reason))?;
            if bad > 0 {
                skipped.insert(reason.as_str().to_string(), bad);
            }
        }
    }
    Ok((first_count(&counts, "rows")?, skipped))
}

/// Name of the summary column counting the rows bad for `reason`.
fn reason_count_name(reason: Reason) -> String {
    format!("reason{}", reason.code())
}

/// A reason's code as a literal of the problem columns' type.
fn code_literal(reason: Reason) -> Expr {
    lit(i32::from(reason.code()))
}

/// The error for the first bad row of the file: its 1-based number, and the
/// first refused field's column, value, reason and (as the CSV rules give
/// it) detail.
fn first_bad_row(
    scan: LazyFrame,
    file: &str,
    plans: &[FieldPlan],
    row_problem: Expr,
    tz: Tz,
) -> PolarsResult<IngestError> {
    let mut select = vec![col(ROW_NUMBER)];
    for (index, plan) in plans.iter().enumerate() {
        if let (Some(problem), Some(column)) = (&plan.problem, &plan.column) {
            select.push(problem.clone().alias(format!("problem{index}")));
            select.push(
                col(column.as_str())
                    .cast(DataType::String)
                    .alias(format!("shown{index}")),
            );
        }
    }
    let row = scan
        .with_row_index(ROW_NUMBER, None)
        .filter(row_problem.is_not_null())
        .select(select)
        .limit(1);
    let row = collect_streaming(row)?;
    let number = row
        .column(ROW_NUMBER)?
        .get(0)?
        .extract::<u64>()
        .unwrap_or(0)
        + 1;
    for (index, plan) in plans.iter().enumerate() {
        let (Some(_), Some(column)) = (&plan.problem, &plan.column) else {
            continue;
        };
        let code = row.column(&format!("problem{index}"))?.get(0)?;
        let Some(reason) = code.extract::<u8>().and_then(Reason::from_code) else {
            continue;
        };
        let shown = row.column(&format!("shown{index}"))?.get(0)?;
        let value = shown.get_str().map(str::to_string);
        // The CSV rules, given the value as text, explain the refusal.
        let cell = value
            .as_deref()
            .map(|text| (Raw::Bytes(text.as_bytes()), column.as_str()));
        let detail = match read_field(plan.field, cell, column, tz) {
            Err(error) if error.reason == reason => error.detail,
            _ => None,
        };
        return Ok(IngestError::InvalidParquetRow(Box::new(InvalidRow {
            file: file.to_string(),
            line: number,
            column: column.clone(),
            value: truncate_value(value.as_deref().unwrap_or_default()),
            reason,
            detail,
        })));
    }
    Err(PolarsError::ComputeError("no bad row found".into()))
}

/// Whether a column of type `dtype` holds text.
fn is_textual(dtype: &DataType) -> bool {
    dtype.is_string() || dtype.is_categorical() || dtype.is_enum()
}

/// Whether a column of type `dtype` holds numbers (integers, floats, decimals).
fn is_numeric(dtype: &DataType) -> bool {
    dtype.is_primitive_numeric() || dtype.is_decimal()
}

/// How to read `field` from `column` of type `dtype`; the error names the
/// types that can hold the field.
fn plan_field(
    field: Field,
    column: &str,
    dtype: &DataType,
    tz: Tz,
) -> Result<FieldPlan, &'static str> {
    let raw = col(column);
    let (value, problem) = if dtype.is_null() {
        // A column of nulls only: the field is absent on every row.
        let value = absent_value(field);
        let problem = field
            .is_required()
            .then(|| first_problem(vec![rules::missing(field, value.clone())]))
            .flatten();
        (value, problem)
    } else {
        match field {
            Field::Id if dtype.is_integer() => {
                let value = raw.cast(DataType::String);
                let problem = first_problem(vec![rules::missing(field, value.clone())]);
                (value, problem)
            }
            Field::Id => text_field(field, column, dtype, "text or an integer")?,
            Field::Date => match dtype {
                DataType::Datetime(_, zone) => typed_date(raw, zone.is_some(), tz),
                _ if is_textual(dtype) => by_csv_rules(field, column, tz),
                _ => return Err("a timestamp or text"),
            },
            Field::Direction | Field::Type | Field::Result if is_textual(dtype) => {
                let (value, problem) = by_csv_rules(field, column, tz);
                (with_default(field, value), problem)
            }
            Field::Direction | Field::Type | Field::Result => return Err("text"),
            Field::Duration if is_numeric(dtype) => typed_duration(raw, dtype),
            Field::RingingSeconds if is_numeric(dtype) => typed_ringing(raw),
            Field::Duration | Field::RingingSeconds if is_textual(dtype) => {
                by_csv_rules(field, column, tz)
            }
            Field::Duration | Field::RingingSeconds => return Err("a number or text"),
            Field::Tags => match dtype {
                DataType::List(inner) if is_textual(inner) || inner.is_null() => {
                    (normalized_tag_lists(raw), None)
                }
                _ if is_textual(dtype) => by_csv_rules(field, column, tz),
                _ => return Err("a list of strings or text"),
            },
            _ => text_field(field, column, dtype, "text or a number")?,
        }
    };
    Ok(FieldPlan {
        field,
        column: Some(column.to_string()),
        value,
        problem,
    })
}

/// A text field (id, user, numbers, label) from a text column by the CSV
/// rule ([`text_value`]: trimmed, empty is absent; an id is required), or
/// from a number column as its text.
fn text_field(
    field: Field,
    column: &str,
    dtype: &DataType,
    expected: &'static str,
) -> Result<(Expr, Option<Expr>), &'static str> {
    if is_textual(dtype) {
        let value = col(column).cast(DataType::String).map(
            |column| {
                let texts = column.str()?.iter().map(|text| text.and_then(text_value));
                Ok(StringChunked::from_iter_options(column.name().clone(), texts).into_column())
            },
            |_, field| Ok(field.clone()),
        );
        let problem = (field == Field::Id)
            .then(|| first_problem(vec![rules::missing(field, value.clone())]))
            .flatten();
        Ok((value, problem))
    } else if is_numeric(dtype) && field != Field::Id {
        Ok((col(column).cast(DataType::String), None))
    } else {
        Err(expected)
    }
}

/// The first of `checks` that holds, as a [`Reason::code`]; null when none
/// does. `None` without checks.
fn first_problem(checks: Vec<(Reason, Expr)>) -> Option<Expr> {
    let none = lit(NULL).cast(DataType::Int32);
    let mut checks = checks.into_iter().rev().peekable();
    checks.peek()?;
    Some(checks.fold(none, |later, (reason, check)| {
        when(check.fill_null(lit(false)))
            .then(code_literal(reason))
            .otherwise(later)
    }))
}

/// A typed `date`: an instant (with a zone) as it is; a wall-clock time
/// (without one) read in `tz` by the rule of CSV's timestamps without offset
/// ([`localize`]).
fn typed_date(raw: Expr, zoned: bool, tz: Tz) -> (Expr, Option<Expr>) {
    let missing = rules::missing(Field::Date, raw.clone());
    if zoned {
        let value = raw.dt().convert_time_zone(TimeZone::UTC).cast(date_dtype());
        return (value, first_problem(vec![missing]));
    }
    let wall_clock = raw
        .cast(DataType::Datetime(TimeUnit::Microseconds, None))
        .cast(DataType::Int64);
    let read = move |micros: i64| {
        let local = DateTime::from_timestamp_micros(micros).ok_or(Reason::BadTimestamp)?;
        let instant = localize(local.naive_utc(), tz).map_err(|_| Reason::BadTimestamp)?;
        Ok(instant.timestamp_micros())
    };
    let (value, refused) = by_rule::<Int64Type, Int64Type>(wall_clock, read);
    (
        value.cast(date_dtype()),
        first_problem_or(vec![missing], refused),
    )
}

/// A typed `duration` by the rule of CSV's durations: whole seconds, at
/// least 0 ([`duration_from_integer`], [`duration_from_number`]); absent is 0.
fn typed_duration(raw: Expr, dtype: &DataType) -> (Expr, Option<Expr>) {
    let (value, problem) = if dtype.is_integer() {
        let whole = raw.clone().cast(DataType::Int64);
        // An unsigned integer beyond `i64` does not fit the canonical integer.
        let too_large = (
            Reason::NonNumericDuration,
            raw.is_not_null().and(whole.clone().is_null()),
        );
        let (value, refused) = by_rule::<Int64Type, Int64Type>(whole, duration_from_integer);
        (value, first_problem_or(vec![too_large], refused))
    } else {
        let number = raw.cast(DataType::Float64);
        let (value, refused) = by_rule::<Float64Type, Int64Type>(number, duration_from_number);
        (value, Some(refused))
    };
    (with_default(Field::Duration, value), problem)
}

/// A typed `ringing_seconds` by the rule of CSV's
/// ([`ringing_from_number`]); absent stays unknown.
fn typed_ringing(raw: Expr) -> (Expr, Option<Expr>) {
    let number = raw.cast(DataType::Float64);
    let (value, refused) = by_rule::<Float64Type, Float64Type>(number, ringing_from_number);
    (value, Some(refused))
}

/// `input` read value by value by a SPEC §1 `rule` of [`super::fields`]:
/// the values (null where refused or absent) and, per row, the
/// [`Reason::code`] of a refusal (null when there is none).
fn by_rule<I, O>(
    input: Expr,
    rule: impl Fn(I::Native) -> Result<O::Native, Reason> + Clone + Send + Sync + 'static,
) -> (Expr, Expr)
where
    I: PolarsNumericType,
    O: PolarsNumericType,
{
    let values = {
        let rule = rule.clone();
        move |column: Column| -> PolarsResult<Column> {
            let input = column.as_materialized_series().unpack::<I>()?;
            let values = input
                .iter()
                .map(|value| value.and_then(|value| rule(value).ok()));
            Ok(ChunkedArray::<O>::from_iter_options(column.name().clone(), values).into_column())
        }
    };
    let codes = move |column: Column| -> PolarsResult<Column> {
        let input = column.as_materialized_series().unpack::<I>()?;
        let codes = input.iter().map(|value| {
            let refusal = value.and_then(|value| rule(value).err());
            refusal.map(|reason| i32::from(reason.code()))
        });
        Ok(Int32Chunked::from_iter_options(column.name().clone(), codes).into_column())
    };
    let typed = |dtype: DataType| {
        move |_: &Schema, field: &polars::prelude::Field| {
            Ok(polars::prelude::Field::new(
                field.name().clone(),
                dtype.clone(),
            ))
        }
    };
    (
        input.clone().map(values, typed(O::get_static_dtype())),
        input.map(codes, typed(DataType::Int32)),
    )
}

/// The first of `checks` that holds, else the reason code `otherwise`.
fn first_problem_or(checks: Vec<(Reason, Expr)>, otherwise: Expr) -> Option<Expr> {
    let checked = first_problem(checks)?;
    Some(coalesce(&[checked, otherwise]))
}

/// Tag lists normalised as every reader does (`fields::push_tag`: trimmed,
/// lower case, empty and null tags dropped); a null list is empty.
fn normalized_tag_lists(raw: Expr) -> Expr {
    let lists = raw.cast(DataType::List(Box::new(DataType::String))).map(
        |column| {
            let lists = column.list()?.rechunk();
            let mut builder =
                ListStringChunkedBuilder::new(column.name().clone(), lists.len(), lists.len());
            let mut tags = Vec::new();
            for list in lists.amortized_iter() {
                tags.clear();
                if let Some(list) = list {
                    for tag in list.as_ref().str()?.iter().flatten() {
                        push_tag(&mut tags, tag);
                    }
                }
                builder.append_values_iter(tags.iter().map(String::as_str));
            }
            Ok(builder.finish().into_column())
        },
        |_, field| Ok(field.clone()),
    );
    with_default(Field::Tags, lists)
}

/// The canonical type a text column of `field` is read into by the CSV rules
/// (`date` as microseconds, cast afterwards).
fn read_dtype(field: Field) -> DataType {
    match field {
        Field::Date | Field::Duration => DataType::Int64,
        Field::RingingSeconds => DataType::Float64,
        Field::Tags => DataType::List(Box::new(DataType::String)),
        _ => DataType::String,
    }
}

/// A text column read value by value by the CSV rules of `field`
/// ([`read_field`]): the canonical value (null where refused) and the reason
/// of each refusal.
fn by_csv_rules(field: Field, column: &str, tz: Tz) -> (Expr, Option<Expr>) {
    let text = col(column).cast(DataType::String);
    let name = column.to_string();
    let read_values = move |input: Column| -> PolarsResult<Column> {
        let texts = input.str()?;
        let values = texts.iter().map(|text| {
            let cell = text.map(|text| (Raw::Bytes(text.as_bytes()), name.as_str()));
            read_field(field, cell, &name, tz).ok()
        });
        Ok(canonical_column(field, input.name().clone(), values))
    };
    let output = read_dtype(field);
    let value = text.clone().map(read_values, move |_, input| {
        Ok(polars::prelude::Field::new(
            input.name().clone(),
            output.clone(),
        ))
    });
    let value = match field {
        Field::Date => value.cast(date_dtype()),
        _ => value,
    };

    let name = column.to_string();
    let read_problems = move |input: Column| -> PolarsResult<Column> {
        let texts = input.str()?;
        let codes = texts.iter().map(|text| {
            let cell = text.map(|text| (Raw::Bytes(text.as_bytes()), name.as_str()));
            read_field(field, cell, &name, tz)
                .err()
                .map(|error| i32::from(error.reason.code()))
        });
        Ok(Int32Chunked::from_iter_options(input.name().clone(), codes).into_column())
    };
    let problem = text.map(read_problems, |_, input| {
        Ok(polars::prelude::Field::new(
            input.name().clone(),
            DataType::Int32,
        ))
    });
    (value, Some(problem))
}

/// A column of [`read_dtype`] from the values read (`None` where refused).
fn canonical_column(
    field: Field,
    name: PlSmallStr,
    values: impl Iterator<Item = Option<FieldValue>>,
) -> Column {
    match field {
        Field::Date | Field::Duration => {
            let numbers = values.map(|value| match value? {
                FieldValue::Date(date) => Some(date.timestamp_micros()),
                FieldValue::Duration(seconds) => Some(seconds),
                _ => None,
            });
            Int64Chunked::from_iter_options(name, numbers).into_column()
        }
        Field::RingingSeconds => {
            let numbers = values.map(|value| match value? {
                FieldValue::Ringing(seconds) => seconds,
                _ => None,
            });
            Float64Chunked::from_iter_options(name, numbers).into_column()
        }
        Field::Tags => {
            let values: Vec<Option<FieldValue>> = values.collect();
            let mut builder = ListStringChunkedBuilder::new(name, values.len(), values.len());
            for value in &values {
                match value {
                    Some(FieldValue::Tags(tags)) => {
                        builder.append_values_iter(tags.iter().map(String::as_str));
                    }
                    _ => builder.append_values_iter(std::iter::empty()),
                }
            }
            builder.finish().into_column()
        }
        _ => {
            let texts: Vec<Option<FieldValue>> = values.collect();
            StringChunked::from_iter_options(
                name,
                texts
                    .iter()
                    .map(|value| value.as_ref().and_then(FieldValue::as_text)),
            )
            .into_column()
        }
    }
}
