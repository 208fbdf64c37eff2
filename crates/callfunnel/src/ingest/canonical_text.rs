//! The shared step of the column-wise readers: text columns in canonical
//! form (a CSV file's chunk, a Parquet file of text columns) into calls.
//!
//! Most inputs are exports in canonical form (what `callfunnel generate`
//! writes, or another tool's export of it): upper-case enums, timestamps
//! with an offset (`2024-03-04T09:30:00Z`, `2024-03-04 09:30:00+00`…),
//! whole-second durations. Their text columns are converted here with vectorised
//! expressions that give, on canonical values, exactly what the
//! rule-by-rule readers of [`super::fields`] give, and each row is checked:
//! as soon as one value is off canonical form (a lower-case result, a
//! timestamp without an offset, a missing id, a negative duration, a value
//! with surrounding whitespace, an empty quoted value, a tags cell that may
//! be in another list form than `;`-separated keys…), the reader hands
//! the file to the rule-by-rule reader, which accepts every form SPEC §1
//! allows and locates a bad row. Both give the same calls (tests in
//! `ingest::tests`).

use polars::prelude::*;

use super::fields::{instant_with_offset_micros, push_tag, ColumnNames};
use crate::model::rules::{
    self, absent_value, may_be_another_tags_form, tag_keys, with_default, without_negative_zero,
};
use crate::model::{date_dtype, Field};

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
/// and the columns [`off_form_rows`] reads besides: whether a row needs
/// trimming and whether it holds a number that is not one.
fn canonical_values(text: LazyFrame, present: &[(Field, Option<usize>)]) -> LazyFrame {
    let is_present = |field: Field| {
        present
            .iter()
            .any(|(candidate, index)| *candidate == field && index.is_some())
    };
    let untrimmed = Field::ALL
        .into_iter()
        .filter(|field| is_present(*field))
        .map(needs_row_rules)
        .reduce(Expr::or)
        .unwrap_or_else(|| lit(false))
        .alias(UNTRIMMED);
    let values: Vec<Expr> = Field::ALL
        .into_iter()
        .map(|field| value(field, is_present(field)).alias(field.name()))
        .chain([untrimmed, col(UNPARSED)])
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
        Field::Date => instants_with_offset(text).cast(date_dtype()),
        Field::Direction | Field::Type | Field::Duration => with_default(field, text),
        Field::RingingSeconds => without_negative_zero(text),
        _ => text,
    }
}

/// True on the rows whose value of `field` (the column of the field's name,
/// after [`value`]) is off canonical form: a SPEC §1 rule refuses it (a date
/// without an offset, or that does not parse, is missing here). Null where
/// the value is absent and allowed to be.
fn off_form(field: Field) -> Expr {
    rules::refusals(field, col(field.name()))
        .into_iter()
        .map(|(_, rows)| rows)
        .reduce(Expr::or)
        .unwrap_or_else(|| lit(false))
}

/// The instants (microseconds since the epoch) of a text column of dates
/// written with an offset, read by the row reader's own parser; null where
/// a text is absent, has no offset or does not parse.
fn instants_with_offset(text: Expr) -> Expr {
    text.map(
        |column| {
            let text = column.str()?;
            let micros = text
                .iter()
                .map(|value| value.and_then(instant_with_offset_micros));
            Ok(Int64Chunked::from_iter_options(text.name().clone(), micros).into_column())
        },
        |_, input| {
            Ok(polars::prelude::Field::new(
                input.name().clone(),
                DataType::Int64,
            ))
        },
    )
}

/// True on the rows where a text field needs the row reader's trimming or
/// emptiness rule (an empty value, a quoted `""`, or a space at either end),
/// or, for tags, its reading of other list forms (a `[`, `|` or `,`).
fn needs_row_rules(field: Field) -> Expr {
    if matches!(field, Field::Duration | Field::RingingSeconds) {
        return lit(false);
    }
    let tags = field == Field::Tags;
    // One pass over the values, not several comparison kernels.
    col(field.name()).map(
        move |column| {
            let untrimmed =
                |text: &str| text.is_empty() || text.starts_with(' ') || text.ends_with(' ');
            let off_form =
                |text: &str| untrimmed(text) || (tags && may_be_another_tags_form(text.as_bytes()));
            let flags = column
                .str()?
                .iter()
                .map(|value| value.is_some_and(off_form));
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

/// Tag lists from `;`-separated text (the form [`needs_row_rules`] leaves
/// here), each tag trimmed and lower-cased, empty ones dropped (the same
/// functions as the row reader's).
fn tag_lists(text: &StringChunked) -> ListChunked {
    let mut builder =
        ListStringChunkedBuilder::new(Field::Tags.name().into(), text.len(), text.len());
    let mut tags = Vec::new();
    for value in text.iter() {
        tags.clear();
        tag_keys(value.unwrap_or_default(), |key| push_tag(&mut tags, key));
        builder.append_values_iter(tags.iter().map(String::as_str));
    }
    builder.finish()
}

/// Name of the flag column that marks a file off canonical form.
const OFF_FORM: &str = "__off_canonical_form";
/// Name of the flag column of rows that need trimming.
const UNTRIMMED: &str = "__untrimmed";

/// Name of the flag column of rows with a number that is not one.
const UNPARSED: &str = "__unparsed";
