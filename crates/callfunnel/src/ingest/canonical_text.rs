//! The shared step of the column-wise readers: text columns in canonical
//! form (a CSV file's chunk, a Parquet file of text columns) into calls.
//!
//! Most inputs are exports in canonical form (what `callfunnel generate`
//! writes): upper-case enums, UTC timestamps ending in `Z`, whole-second
//! durations. Their text columns are converted here with vectorised
//! expressions that give, on canonical values, exactly what the
//! rule-by-rule readers of [`super::fields`] give, and each row is checked:
//! as soon as one value is off canonical form (a lower-case result, a
//! timestamp with an offset, a missing id, a negative duration, a value
//! with surrounding whitespace, an empty quoted value…), the reader hands
//! the file to the rule-by-rule reader, which accepts every form SPEC §1
//! allows and locates a bad row. Both give the same calls (tests in
//! `ingest::tests`).

use polars::prelude::*;

use super::fields::{push_tag, ColumnNames};
use crate::model::rules::{self, absent_value, with_default, without_negative_zero};
use crate::model::{date_dtype, Field, DATE_UNIT};

/// The canonical values of the fields of `text` (text columns named as in
/// `header`, `present` saying which holds each field), and the columns the
/// checks of canonical form read ([`any_off_form`], [`off_form_flags`]).
pub(super) fn canonical_frame(
    text: LazyFrame,
    header: &[String],
    present: &[(Field, Option<usize>)],
) -> LazyFrame {
    canonical_values(text.select(renamed_columns(header, present)), present)
}

/// `frame` (with the column of [`any_off_form`] or [`off_form_flags`])
/// without that column, or `None` when a row is off canonical form.
pub(super) fn without_off_form(frame: DataFrame) -> Option<DataFrame> {
    let off_form = frame
        .column(OFF_FORM)
        .ok()
        .and_then(|flags| Some(flags.bool().ok()?.any()));
    if off_form != Some(false) {
        return None;
    }
    frame.drop(OFF_FORM).ok()
}

/// Whether some row of a [`canonical_frame`] is off canonical form (one
/// value for the whole frame).
pub(super) fn any_off_form() -> Expr {
    off_form_rows().any(true).alias(OFF_FORM)
}

/// Whether each row of a [`canonical_frame`] is off canonical form.
pub(super) fn off_form_flags() -> Expr {
    off_form_rows().alias(OFF_FORM)
}

/// The one timestamp form read here: `2024-03-04T09:30:00Z` (20 bytes).
const CANONICAL_TIMESTAMP: &str = "%Y-%m-%dT%H:%M:%SZ";
const CANONICAL_TIMESTAMP_BYTES: u32 = 20;

/// Each field with the index of its column in `header` (`None` when the
/// file lacks it), the column named as `names` say.
pub(super) fn field_positions(
    header: &[String],
    names: &ColumnNames,
) -> Vec<(Field, Option<usize>)> {
    Field::ALL
        .into_iter()
        .map(|field| {
            (
                field,
                header.iter().position(|name| name == names.get(field)),
            )
        })
        .collect()
}

/// The canonical columns, from the columns of [`canonical_values`] (tags
/// split into lists).
pub(super) fn call_columns(present: &[(Field, Option<usize>)]) -> Vec<Expr> {
    let tags_present = present
        .iter()
        .any(|(field, index)| *field == Field::Tags && index.is_some());
    Field::ALL
        .into_iter()
        .map(|field| match field {
            Field::Tags if tags_present => col(field.name()).map(
                |column| Ok(tag_lists(column.str()?).into_column()),
                |_, input| {
                    Ok(polars::prelude::Field::new(
                        input.name().clone(),
                        DataType::List(Box::new(DataType::String)),
                    ))
                },
            ),
            _ => col(field.name()),
        })
        .collect()
}

/// The canonical values of the fields (each column under its field's name),
/// and the columns [`off_form_rows`] reads besides: the date's text, whether
/// a row needs trimming and whether it holds a number that is not one.
fn canonical_values(text: LazyFrame, present: &[(Field, Option<usize>)]) -> LazyFrame {
    let is_present = |field: Field| {
        present
            .iter()
            .any(|(candidate, index)| *candidate == field && index.is_some())
    };
    let untrimmed = Field::ALL
        .into_iter()
        .filter(|field| is_present(*field))
        .map(needs_trimming)
        .reduce(Expr::or)
        .unwrap_or_else(|| lit(false))
        .alias(UNTRIMMED);
    let values: Vec<Expr> = Field::ALL
        .into_iter()
        .map(|field| value(field, is_present(field)).alias(field.name()))
        .chain([
            col(Field::Date.name()).alias(DATE_TEXT),
            untrimmed,
            col(UNPARSED),
        ])
        .collect();
    text.select(values)
}

/// Whether each row of the columns of [`canonical_values`] is off canonical
/// form (true or false, never null).
fn off_form_rows() -> Expr {
    Field::ALL
        .into_iter()
        .map(|field| off_form(field).fill_null(lit(false)))
        .fold(col(UNTRIMMED).or(col(UNPARSED)), Expr::or)
        .fill_null(lit(true))
}

/// The canonical value of `field`, from its trimmed column (of the field's
/// name) when `present`.
fn value(field: Field, present: bool) -> Expr {
    if !present {
        return absent_value(field);
    }
    let text = col(field.name());
    match field {
        Field::Date => text
            .str()
            .to_datetime(
                Some(DATE_UNIT),
                Some(TimeZone::UTC),
                StrptimeOptions {
                    format: Some(CANONICAL_TIMESTAMP.into()),
                    strict: false,
                    exact: true,
                    cache: false,
                },
                lit("raise"),
            )
            .cast(date_dtype()),
        Field::Direction | Field::Type | Field::Duration => with_default(field, text),
        Field::RingingSeconds => without_negative_zero(text),
        _ => text,
    }
}

/// True on the rows whose value of `field` (the column of the field's name,
/// after [`value`]) is off canonical form: a SPEC §1 rule refuses it, or the
/// row reader would read it otherwise (a date not written as
/// [`CANONICAL_TIMESTAMP`]). Null where the value is absent and allowed to be.
fn off_form(field: Field) -> Expr {
    let refused = rules::refusals(field, col(field.name()))
        .into_iter()
        .map(|(_, rows)| rows)
        .reduce(Expr::or)
        .unwrap_or_else(|| lit(false));
    match field {
        Field::Date => refused.or(col(DATE_TEXT)
            .str()
            .len_bytes()
            .neq(lit(CANONICAL_TIMESTAMP_BYTES))),
        _ => refused,
    }
}

/// True on the rows where a text field needs the row reader's trimming or
/// emptiness rule: an empty value (a quoted `""`) or a space at either end.
fn needs_trimming(field: Field) -> Expr {
    if matches!(field, Field::Duration | Field::RingingSeconds) {
        return lit(false);
    }
    // One pass over the values, not three comparison kernels.
    col(field.name()).map(
        |column| {
            let untrimmed =
                |text: &str| text.is_empty() || text.starts_with(' ') || text.ends_with(' ');
            let flags = column
                .str()?
                .iter()
                .map(|value| value.is_some_and(untrimmed));
            Ok(BooleanChunked::from_iter_values(column.name().clone(), flags).into_column())
        },
        |_, input| {
            Ok(polars::prelude::Field::new(
                input.name().clone(),
                DataType::Boolean,
            ))
        },
    )
}

/// The columns that hold a field, under their field's name.
/// Numbers held as text (a Parquet file of text columns) are cast here; a
/// text that is not a number marks its row as [`UNPARSED`].
fn renamed_columns(header: &[String], present: &[(Field, Option<usize>)]) -> Vec<Expr> {
    let mut unparsed = lit(false);
    let mut columns: Vec<Expr> = present
        .iter()
        .filter_map(|(field, index)| {
            let source = col(header[(*index)?].as_str());
            let value = match field {
                Field::Duration => source.clone().cast(DataType::Int64),
                Field::RingingSeconds => source.clone().cast(DataType::Float64),
                _ => return Some(source.alias(field.name())),
            };
            let lost = source.is_not_null().and(value.clone().is_null());
            unparsed = unparsed.clone().or(lost);
            Some(value.alias(field.name()))
        })
        .collect();
    columns.push(unparsed.alias(UNPARSED));
    columns
}

/// Tag lists from `;`-separated text, each tag trimmed and lower-cased, empty
/// ones dropped (the same function as the row reader's).
fn tag_lists(text: &StringChunked) -> ListChunked {
    let mut builder =
        ListStringChunkedBuilder::new(Field::Tags.name().into(), text.len(), text.len());
    let mut tags = Vec::new();
    for value in text.iter() {
        tags.clear();
        for piece in value.unwrap_or_default().split(';') {
            push_tag(&mut tags, piece);
        }
        builder.append_values_iter(tags.iter().map(String::as_str));
    }
    builder.finish()
}

/// Name of the flag column that marks a file off canonical form.
const OFF_FORM: &str = "__off_canonical_form";
/// Name of the column that keeps the date's text, to check its form.
const DATE_TEXT: &str = "__date_text";
/// Name of the flag column of rows that need trimming.
const UNTRIMMED: &str = "__untrimmed";

/// Name of the flag column of rows with a number that is not one.
const UNPARSED: &str = "__unparsed";
