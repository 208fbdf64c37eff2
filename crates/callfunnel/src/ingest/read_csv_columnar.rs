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

/// A CSV file in canonical form, scanned lazily (see [`scan_canonical_csv`]).
pub(crate) struct CanonicalCsv {
    /// The canonical calls, read from the file each time the frame is collected.
    pub frame: LazyFrame,
    /// Data rows in the file.
    pub rows: u64,
    /// Whether every `id` is distinct (the ids increase strictly, row by row).
    pub unique_ids: bool,
}

/// The calls of the CSV file at `path` as a lazy canonical frame, or `None`
/// when the file must be read row by row (see the module docs).
///
/// Memory stays flat whatever the file's size: one pass over its bytes checks
/// its shape (and whether the ids increase), one streaming pass of Polars'
/// reader checks that every value is in canonical form; the frame returned
/// reads the file again, streaming, when it is collected.
pub(crate) fn scan_canonical_csv(path: &Path, names: &ColumnNames) -> Option<CanonicalCsv> {
    let header = plain_header(path)?;
    let distinct: std::collections::HashSet<&String> = header.iter().collect();
    if distinct.len() != header.len() {
        return None;
    }
    let mut present = Vec::with_capacity(Field::ALL.len());
    for field in Field::ALL {
        let name = names.get(field);
        match header.iter().position(|column| column == name) {
            Some(index) => present.push((field, Some(index))),
            None if field.is_required() || names.is_mapped(field) => return None,
            None => present.push((field, None)),
        }
    }
    let id_column = present
        .iter()
        .find_map(|(field, index)| (*field == Field::Id).then_some(*index).flatten())?;
    let shape = file_shape(path, id_column).ok()?;
    // A file without rows is read row by row as fast.
    if !shape.columnar || shape.records == 0 {
        return None;
    }
    let converted = canonical_values(text_scan(path, &header, &present).ok()?, &present);
    if !in_canonical_form(&converted)? {
        return None;
    }
    let tags_present = present
        .iter()
        .any(|(field, index)| *field == Field::Tags && index.is_some());
    let calls: Vec<Expr> = Field::ALL
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
        .collect();
    Some(CanonicalCsv {
        frame: converted.select(calls),
        rows: shape.records,
        unique_ids: shape.ids_increasing,
    })
}

/// The canonical values of the fields (each column under its field's name),
/// and the columns [`in_canonical_form`] reads: the date's text and whether
/// a row needs trimming.
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
        .chain([col(Field::Date.name()).alias(DATE_TEXT), untrimmed])
        .collect();
    text.select(values)
}

/// Whether every value of `converted` is in canonical form, as one streaming
/// pass finds; `None` when Polars cannot read the file.
fn in_canonical_form(converted: &LazyFrame) -> Option<bool> {
    let any_off_form = Field::ALL
        .into_iter()
        .map(|field| off_form(field).fill_null(lit(false)))
        .fold(col(UNTRIMMED), Expr::or)
        .any(true)
        .alias(OFF_FORM);
    let checked = converted
        .clone()
        .select([any_off_form])
        .collect_with_engine(Engine::Streaming)
        .ok()?
        .unwrap_single();
    let off_form = checked.column(OFF_FORM).ok()?.bool().ok()?.get(0)?;
    Some(!off_form)
}

/// What one pass over a CSV file's bytes finds (see [`file_shape`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileShape {
    /// Whether Polars' reader may read the file (else it is read row by row).
    columnar: bool,
    /// Data records (lines but the header and blank ones).
    records: u64,
    /// Whether the id column's values increase strictly, record by record
    /// (so every id is distinct and no hash table is needed to tell).
    ids_increasing: bool,
}

/// One pass over the file's bytes, read in blocks so memory stays flat. The
/// file must be read row by row when it holds whitespace that a row-wise
/// trim could remove but [`needs_trimming`] does not see (any ASCII
/// whitespace but space and line feed: tabs, carriage returns…; any
/// non-ASCII whitespace character), or a record longer than
/// [`MAX_COLUMNAR_RECORD_BYTES`], or one whose number of fields differs from
/// the header's, or a quote that does not open or close a field (Polars
/// would read such rows without a word: missing fields as nulls, extra ones
/// dropped). `id_column` is the index of the id's column.
fn file_shape(path: &Path, id_column: usize) -> std::io::Result<FileShape> {
    const BLOCK: usize = 1 << 22;
    // Longest UTF-8 whitespace encoding minus one, carried to the next block.
    const CARRY: usize = 2;
    let mut file = std::fs::File::open(path)?;
    let mut buffer = vec![0u8; BLOCK + CARRY];
    let mut carried = 0;
    let mut shape = FieldCounter::new(id_column);
    let row_reader = FileShape {
        columnar: false,
        records: 0,
        ids_increasing: false,
    };
    loop {
        let read = file.read(&mut buffer[carried..])?;
        if read == 0 {
            if !shape.finish() {
                return Ok(row_reader);
            }
            return Ok(FileShape {
                columnar: true,
                records: shape.records,
                ids_increasing: shape.ids_increasing,
            });
        }
        let filled = carried + read;
        let block = &buffer[..filled];
        if memchr::memchr3(b'\t', b'\r', 0x0b, block).is_some()
            || memchr::memchr(0x0c, block).is_some()
            || has_unicode_whitespace(block)
            || !shape.feed(&buffer[carried..filled])
        {
            return Ok(row_reader);
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
/// skipped, as both readers skip them. On the way it counts the records and
/// follows whether the id column's values increase strictly.
#[derive(Debug, Default)]
struct FieldCounter {
    /// Index of the id's column.
    id_column: usize,
    /// The current record's id, as written (unquoted).
    id: Vec<u8>,
    /// The previous record's id (empty before the first record).
    previous_id: Vec<u8>,
    /// Whether every id so far was greater than the one before (a quoted id
    /// is not compared: it ends the claim).
    ids_increasing: bool,
    /// Data records so far.
    records: u64,
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
    fn new(id_column: usize) -> Self {
        FieldCounter {
            id_column,
            ids_increasing: true,
            ..FieldCounter::default()
        }
    }

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
                if self.fields == self.id_column {
                    self.ids_increasing = false;
                }
                true
            }
            _ => {
                self.field_started = true;
                self.line_bytes += 1;
                if self.fields == self.id_column {
                    self.id.push(byte);
                }
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
            self.id.clear();
            return true;
        }
        match self.expected {
            None => {
                self.expected = Some(fields);
                self.id.clear();
                true
            }
            Some(expected) => {
                self.records += 1;
                // An empty id is off canonical form: the file is read row by row.
                if self.id <= self.previous_id {
                    self.ids_increasing = false;
                }
                std::mem::swap(&mut self.id, &mut self.previous_id);
                self.id.clear();
                fields == expected
            }
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

/// The file scanned lazily by Polars, the columns that hold a field under
/// their field's name: numbers as numbers (a value that does not parse
/// fails the scan), the rest as text.
fn text_scan(
    path: &Path,
    header: &[String],
    present: &[(Field, Option<usize>)],
) -> PolarsResult<LazyFrame> {
    let dtype = |index: usize| {
        let field = present
            .iter()
            .find_map(|(field, at)| (*at == Some(index)).then_some(*field));
        match field {
            Some(Field::Duration) => DataType::Int64,
            Some(Field::RingingSeconds) => DataType::Float64,
            _ => DataType::String,
        }
    };
    let schema = Schema::from_iter(
        header
            .iter()
            .enumerate()
            .map(|(index, name)| polars::prelude::Field::new(name.as_str().into(), dtype(index))),
    );
    let renamed: Vec<Expr> = present
        .iter()
        .filter_map(|(field, index)| Some(col(header[(*index)?].as_str()).alias(field.name())))
        .collect();
    let scan = LazyCsvReader::new(PlRefPath::try_from_path(path)?)
        .with_has_header(true)
        .with_schema(Some(Arc::new(schema)))
        .with_glob(false)
        .finish()?;
    Ok(scan.select(renamed))
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
