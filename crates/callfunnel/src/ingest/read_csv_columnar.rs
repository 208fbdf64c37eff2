//! CSV in canonical form, read column-wise by Polars' parallel reader.
//!
//! Most CSV inputs are exports in canonical form (what `callfunnel generate`
//! writes): upper-case enums, UTC timestamps ending in `Z`, whole-second
//! durations. Such a file is read here by Polars (all columns as text, on
//! every core) and converted with vectorized expressions that give, on
//! canonical values, exactly what the row-by-row readers of [`super::fields`]
//! give. As soon as one value is not in canonical form (a lower-case result,
//! a timestamp with an offset, a missing id, a negative duration, a value
//! with surrounding whitespace, a quoted empty value, a tab or carriage
//! return anywhere in the file…) or Polars cannot read the file,
//! [`read_canonical_csv`] returns `None` and the file is read row by row,
//! which accepts every form SPEC §1 allows and reports a bad row by file,
//! line, column and value. Nothing is dropped either way, and both readers
//! give the same calls (tests in `ingest::tests`).

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use polars::prelude::*;

use super::column_exprs::{absent_value, api_spellings, default_enum, is_one_of};
use super::fields::{push_tag, ColumnNames, Field};
use crate::engine::MAX_RINGING_SECONDS;
use crate::model::{date_dtype, DATE_UNIT};

/// The one timestamp form read here: `2024-03-04T09:30:00Z` (20 bytes).
const CANONICAL_TIMESTAMP: &str = "%Y-%m-%dT%H:%M:%SZ";
const CANONICAL_TIMESTAMP_BYTES: u32 = 20;

/// The calls of the CSV file at `path` as a canonical frame, or `None` when
/// the file must be read row by row (see the module docs).
pub(crate) fn read_canonical_csv(path: &Path, names: &ColumnNames) -> Option<DataFrame> {
    let header = plain_header(path)?;
    let mut present = Vec::with_capacity(Field::ALL.len());
    for field in Field::ALL {
        let name = names.get(field);
        match header.iter().position(|column| column == name) {
            Some(index) => present.push((field, Some(index))),
            None if field.is_required() || names.is_mapped(field) => return None,
            None => present.push((field, None)),
        }
    }
    if needs_row_reader(path).unwrap_or(true) {
        return None;
    }
    let text = read_text_columns(path, &header, &present)?;

    // Each column under its field's name; then the values, and one flag
    // telling whether any row is off canonical form.
    let is_present = |field: Field| {
        present
            .iter()
            .any(|(candidate, index)| *candidate == field && index.is_some())
    };
    let renamed: Vec<Expr> = present
        .iter()
        .filter_map(|(field, index)| Some(col(header[(*index)?].as_str()).alias(field.name())))
        .collect();
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
        .chain([col(Field::Date.name()).alias(DATE_TEXT), untrimmed])
        .collect();
    let any_off_form = Field::ALL
        .into_iter()
        .map(|field| off_form(field).fill_null(lit(false)))
        .fold(col(UNTRIMMED), Expr::or)
        .any(true)
        .alias(OFF_FORM);
    let converted = text
        .lazy()
        .select(renamed)
        .select(values)
        .with_column(any_off_form)
        .collect()
        .ok()?;
    // `any` over the rows, broadcast: true when some value is off canonical form.
    let off_form = converted.column(OFF_FORM).ok()?.bool().ok()?;
    if off_form.is_empty() || off_form.get(0) != Some(false) {
        return None;
    }
    let mut converted = converted.drop_many([OFF_FORM, DATE_TEXT, UNTRIMMED]);
    if is_present(Field::Tags) {
        let tags = tag_lists(converted.column(Field::Tags.name()).ok()?.str().ok()?);
        converted.with_column(tags.into_column()).ok()?;
    }
    Some(converted)
}

/// Whether the file must be read row by row, as one pass over its bytes
/// finds: it holds whitespace that a row-wise trim could remove but
/// [`needs_trimming`] does not see (any ASCII whitespace but space and line
/// feed: tabs, carriage returns…; any non-ASCII whitespace character), or a
/// record longer than [`MAX_COLUMNAR_RECORD_BYTES`], or one whose number of
/// fields differs from the header's, or a quote that
/// does not open or close a field (Polars would read such rows without a
/// word: missing fields as nulls, extra ones dropped). Read in blocks, so
/// memory stays flat.
fn needs_row_reader(path: &Path) -> std::io::Result<bool> {
    const BLOCK: usize = 1 << 22;
    // Longest UTF-8 whitespace encoding minus one, carried to the next block.
    const CARRY: usize = 2;
    let mut file = std::fs::File::open(path)?;
    let mut buffer = vec![0u8; BLOCK + CARRY];
    let mut carried = 0;
    let mut shape = FieldCounter::default();
    loop {
        let read = file.read(&mut buffer[carried..])?;
        if read == 0 {
            return Ok(!shape.finish());
        }
        let filled = carried + read;
        let block = &buffer[..filled];
        if memchr::memchr3(b'\t', b'\r', 0x0b, block).is_some()
            || memchr::memchr(0x0c, block).is_some()
            || has_unicode_whitespace(block)
            || !shape.feed(&buffer[carried..filled])
        {
            return Ok(true);
        }
        carried = CARRY.min(filled);
        buffer.copy_within(filled - carried..filled, 0);
    }
}

/// Counts the fields of each line of a CSV file without carriage returns,
/// fed block by block: every record must have as many fields as the header
/// (the first line), none may be longer than [`MAX_COLUMNAR_RECORD_BYTES`],
/// and a quote may only open a field or close it (a
/// doubled quote inside a quoted field stands for one). Blank lines are
/// skipped, as both readers skip them.
#[derive(Debug, Default)]
struct FieldCounter {
    /// Fields of the header; `None` while reading it.
    expected: Option<usize>,
    /// Fields seen so far on the current line (separators + 1).
    fields: usize,
    /// Bytes seen so far on the current line.
    line_bytes: usize,
    /// Whether the current field started with a quote and is not closed.
    in_quotes: bool,
    /// Whether the previous byte was a quote inside a quoted field: it
    /// closes the field, unless this byte is a second quote.
    quote_pending: bool,
    /// Whether the current field has a byte yet.
    field_started: bool,
    /// Whether the current field was quoted and is closed.
    closed: bool,
    /// Bytes of the current record, line breaks inside quotes included.
    record_bytes: usize,
}

/// Longest record the column-wise reader is given (1 MiB): Polars' reader
/// takes time quadratic in the length of a record, the row reader linear.
const MAX_COLUMNAR_RECORD_BYTES: usize = 1 << 20;

impl FieldCounter {
    /// Takes the next bytes; `false` as soon as the file breaks the rules.
    fn feed(&mut self, bytes: &[u8]) -> bool {
        bytes.iter().all(|&byte| self.byte(byte))
    }

    fn byte(&mut self, byte: u8) -> bool {
        self.record_bytes += 1;
        if self.record_bytes > MAX_COLUMNAR_RECORD_BYTES {
            return false;
        }
        if self.quote_pending {
            self.quote_pending = false;
            if byte == b'"' {
                return true;
            }
            self.in_quotes = false;
            self.closed = true;
        }
        if self.in_quotes {
            self.quote_pending = byte == b'"';
            return true;
        }
        match byte {
            b',' => {
                self.fields += 1;
                self.line_bytes += 1;
                self.field_started = false;
                self.closed = false;
                true
            }
            b'\n' => self.end_line(),
            _ if self.closed => false,
            b'"' if self.field_started => false,
            b'"' => {
                self.in_quotes = true;
                self.field_started = true;
                self.line_bytes += 1;
                true
            }
            _ => {
                self.field_started = true;
                self.line_bytes += 1;
                true
            }
        }
    }

    /// Ends a line: a blank one is skipped, the first gives the expected count.
    fn end_line(&mut self) -> bool {
        let fields = self.fields + 1;
        let blank = self.line_bytes == 0;
        self.record_bytes = 0;
        self.fields = 0;
        self.line_bytes = 0;
        self.field_started = false;
        self.closed = false;
        if blank {
            return true;
        }
        match self.expected {
            None => {
                self.expected = Some(fields);
                true
            }
            Some(expected) => fields == expected,
        }
    }

    /// Ends the file: `true` when every record had the header's field count
    /// and no quoted field is left open.
    fn finish(&mut self) -> bool {
        if self.quote_pending {
            self.quote_pending = false;
            self.in_quotes = false;
        }
        !self.in_quotes && self.end_line()
    }
}

/// Whether `bytes` hold a non-ASCII `char::is_whitespace` character (U+0085,
/// U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000).
fn has_unicode_whitespace(bytes: &[u8]) -> bool {
    let starts =
        memchr::memchr3_iter(0xC2, 0xE1, 0xE2, bytes).chain(memchr::memchr_iter(0xE3, bytes));
    starts.into_iter().any(|at| {
        let next = |offset: usize| bytes.get(at + offset).copied();
        match bytes[at] {
            0xC2 => matches!(next(1), Some(0x85 | 0xA0)),
            0xE1 => next(1) == Some(0x9A) && next(2) == Some(0x80),
            0xE2 => match next(1) {
                Some(0x80) => matches!(next(2), Some(0x80..=0x8A | 0xA8 | 0xA9 | 0xAF)),
                Some(0x81) => next(2) == Some(0x9F),
                _ => false,
            },
            _ => next(1) == Some(0x80) && next(2) == Some(0x80),
        }
    })
}

/// True on the rows where a text field needs the row reader's trimming or
/// emptiness rule: an empty value (a quoted `""`) or a space at either end.
fn needs_trimming(field: Field) -> Expr {
    if matches!(field, Field::Duration | Field::RingingSeconds) {
        return lit(false);
    }
    let text = col(field.name());
    text.clone()
        .eq(lit(""))
        .or(text.clone().str().starts_with(lit(" ")))
        .or(text.str().ends_with(lit(" ")))
        .fill_null(lit(false))
}

/// The file's columns that hold a field, read by Polars: numbers as numbers
/// (a value that does not parse fails the read), the rest as text. `None`
/// when Polars cannot read the file or it has no rows.
fn read_text_columns(
    path: &Path,
    header: &[String],
    present: &[(Field, Option<usize>)],
) -> Option<DataFrame> {
    let mut projection: Vec<usize> = present.iter().filter_map(|(_, index)| *index).collect();
    projection.sort_unstable();
    projection.dedup();
    let numbers = present.iter().filter_map(|(field, index)| {
        let dtype = match field {
            Field::Duration => DataType::Int64,
            Field::RingingSeconds => DataType::Float64,
            _ => return None,
        };
        Some(polars::prelude::Field::new(
            header[(*index)?].as_str().into(),
            dtype,
        ))
    });
    CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .with_schema_overwrite(Some(Arc::new(Schema::from_iter(numbers))))
        .with_projection(Some(Arc::new(projection)))
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .and_then(|reader| reader.finish())
        .ok()
        .filter(|text| text.height() > 0)
}

/// Name of the flag column that marks a file off canonical form.
const OFF_FORM: &str = "__off_canonical_form";
/// Name of the column that keeps the date's text, to check its form.
const DATE_TEXT: &str = "__date_text";
/// Name of the flag column of rows that need trimming.
const UNTRIMMED: &str = "__untrimmed";

/// The header's column names, or `None` when the file cannot be opened or a
/// name has a byte-order mark or surrounding spaces (which the row reader
/// trims).
fn plain_header(path: &Path) -> Option<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .ok()?;
    let header = reader.headers().ok()?;
    let names: Vec<String> = header.iter().map(str::to_string).collect();
    let plain = names
        .iter()
        .all(|name| !name.starts_with('\u{feff}') && name.trim() == name);
    (plain && !names.is_empty()).then_some(names)
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
        Field::Direction | Field::Type => default_enum(field, text),
        Field::Duration => text.fill_null(lit(0i64)),
        // Adding +0.0 turns a -0.0 into 0.0, as `abs` does in the row reader.
        Field::RingingSeconds => text + lit(0.0),
        _ => text,
    }
}

/// True on the rows whose value of `field` (the column of the field's name,
/// after [`value`]) is off canonical form: the row reader would refuse it
/// or read it otherwise. Null where the value is absent and allowed to be.
fn off_form(field: Field) -> Expr {
    let value = col(field.name());
    match field {
        Field::Id => value.is_null(),
        Field::Date => value.is_null().or(col(DATE_TEXT)
            .str()
            .len_bytes()
            .neq(lit(CANONICAL_TIMESTAMP_BYTES))),
        Field::Direction | Field::Type | Field::Result => {
            is_one_of(value, api_spellings(field)).not()
        }
        Field::Duration => value.lt(lit(0i64)),
        Field::RingingSeconds => value
            .clone()
            .is_nan()
            .or(value.clone().gt(lit(MAX_RINGING_SECONDS)))
            .or(value.lt(lit(0.0))),
        _ => lit(false),
    }
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
