//! NDJSON: one JSON record per line (SPEC §1.1), read as it comes, a block
//! of lines at a time, each block's lines read into columns side by side on
//! every core; a bad line is a bad row of that line.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use polars::prelude::*;
use serde::de::IgnoredAny;
use serde_json::Value;

use super::error::{IngestError, Reason, RowError};
use super::facts::RowFacts;
use super::flat_json::{call_in_place, FlatColumns};
use super::json::{json_error_message, record_call, JsonContext, Shape};
use super::line_pieces::on_every_core;
use super::sink::{frame_error, Sink};
use crate::model::CallColumns;

/// The byte-order mark a text may start with.
const BOM: &[u8] = "\u{feff}".as_bytes();

/// A line without the whitespace around it (spaces, tabs, line ends).
fn trimmed(line: &[u8]) -> &[u8] {
    let blank = |byte: &u8| matches!(byte, b' ' | b'\t' | b'\r' | b'\n');
    let start = line
        .iter()
        .position(|byte| !blank(byte))
        .unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|byte| !blank(byte))
        .map_or(start, |last| last + 1);
    &line[start..end]
}

/// Bytes of whole lines read at a time from an NDJSON input, their records
/// read side by side on every core.
const BLOCK_BYTES: usize = 4 << 20;

/// What one NDJSON line holds; a valid record's call is in the columns of
/// its piece ([`PieceRecords`]).
enum LineRecord {
    /// Nothing but whitespace.
    Blank,
    /// Bytes that are not UTF-8.
    NotUtf8,
    /// Text that is not one JSON value, and why.
    NotJson(String),
    /// A record giving a call, and how its values were written.
    Call(RowFacts),
    /// A record giving no call: why, and how its values were written.
    Invalid(Box<RowError>, RowFacts),
}

/// The records of a piece of a block (whole lines), read on one thread.
struct PieceRecords {
    /// The calls of its valid records, in line order.
    calls: PolarsResult<DataFrame>,
    /// What each of its lines holds, in order.
    lines: Vec<LineRecord>,
}

/// Reads one record per line (NDJSON) from `input`, a block of lines at a
/// time (a byte-order mark at its start skipped): a thread reads each
/// block's records into columns side by side on every core while this one
/// takes the block before into `sink`, in line order. Blank lines are
/// skipped. A line that is not exactly one JSON value is a bad row of that
/// line: it stops the load, or is counted and skipped with
/// `--skip-invalid`. A line that is not UTF-8 stops the load.
pub(crate) fn read_ndjson(
    mut input: impl BufRead + Send,
    context: &JsonContext<'_>,
    sink: &mut Sink,
) -> Result<(), IngestError> {
    let unreadable = |source| IngestError::Unreadable {
        file: context.file.to_string(),
        source,
    };
    if input.fill_buf().map_err(unreadable)?.starts_with(BOM) {
        input.consume(BOM.len());
    }
    let (blocks, records) = std::sync::mpsc::sync_channel(1);
    std::thread::scope(|scope| {
        scope.spawn(move || read_blocks(input, context, blocks));
        let mut line = 1u64;
        // Ends when the reading thread is done; a `?` below drops the
        // receiver, which stops that thread at its next block.
        for block in records {
            let block: std::io::Result<Vec<PieceRecords>> = block;
            for piece in block.map_err(unreadable)? {
                take_piece(piece, &mut line, context.file, sink)?;
            }
        }
        Ok(())
    })
}

/// Reads `input` block by block (see [`read_block`]) and sends the records
/// of each block's pieces, until the input ends, fails (its error sent) or
/// no one receives them any more.
fn read_blocks(
    mut input: impl BufRead,
    context: &JsonContext<'_>,
    blocks: std::sync::mpsc::SyncSender<std::io::Result<Vec<PieceRecords>>>,
) {
    let mut block = Vec::new();
    loop {
        if let Err(error) = read_block(&mut input, &mut block) {
            let _ = blocks.send(Err(error));
            return;
        }
        if block.is_empty() {
            return;
        }
        let pieces = on_every_core(&block, |piece, _| piece_records(piece, context))
            .expect("a thread reading NDJSON lines panicked");
        if blocks.send(Ok(pieces)).is_err() {
            return;
        }
    }
}

/// Reads whole lines from `input` into `block` (emptied first): about
/// [`BLOCK_BYTES`], then the rest of the last line; empty at the end of the
/// input. (Read straight into `block`, past the input's own buffer.)
fn read_block(input: &mut impl BufRead, block: &mut Vec<u8>) -> std::io::Result<()> {
    block.clear();
    input.take(BLOCK_BYTES as u64).read_to_end(block)?;
    if block.len() == BLOCK_BYTES && block.last() != Some(&b'\n') {
        input.read_until(b'\n', block)?;
    }
    Ok(())
}

/// The records of the lines of `piece` (whole lines), their calls in
/// columns.
fn piece_records(piece: &[u8], context: &JsonContext<'_>) -> PieceRecords {
    let line_count = memchr::memchr_iter(b'\n', piece).count() + 1;
    let mut calls = CallColumns::with_capacity(line_count);
    let mut lines = Vec::with_capacity(line_count);
    let columns = FlatColumns::new(context.names);
    let mut start = 0;
    while start < piece.len() {
        let end = memchr::memchr(b'\n', &piece[start..]).map_or(piece.len(), |at| start + at + 1);
        lines.push(line_record(
            &piece[start..end],
            context,
            &columns,
            &mut calls,
        ));
        start = end;
    }
    PieceRecords {
        calls: calls.into_frame(),
        lines,
    }
}

/// What the bytes of one line hold, its call pushed to `calls`: a flat
/// record read in place (see [`call_in_place`]), any other read as a JSON
/// value.
fn line_record(
    bytes: &[u8],
    context: &JsonContext<'_>,
    columns: &FlatColumns<'_>,
    calls: &mut CallColumns,
) -> LineRecord {
    let bytes = trimmed(bytes);
    if bytes.is_empty() {
        return LineRecord::Blank;
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return LineRecord::NotUtf8;
    };
    let mut facts = RowFacts::default();
    let row = match call_in_place(text, columns, context.reading, &mut facts) {
        Some(row) => row,
        None => match serde_json::from_str::<Value>(text) {
            Ok(value) => record_call(&value, Shape::Calls, context, &mut facts),
            Err(err) => return LineRecord::NotJson(json_error_message(&err)),
        },
    };
    match row {
        Ok(call) => {
            calls.push(call);
            LineRecord::Call(facts)
        }
        Err(error) => LineRecord::Invalid(Box::new(error), facts),
    }
}

/// Takes the records of `piece` into `sink`, its first line `line` of
/// `file` (`line` moves past its lines), its calls after its rows counted.
fn take_piece(
    piece: PieceRecords,
    line: &mut u64,
    file: &str,
    sink: &mut Sink,
) -> Result<(), IngestError> {
    for record in piece.lines {
        take_line(record, *line, file, sink)?;
        *line += 1;
    }
    sink.keep_counted(piece.calls.map_err(frame_error)?)
}

/// Counts the record of `line` of `file` in `sink` (its call, if any, is
/// taken with its piece's).
fn take_line(
    record: LineRecord,
    line: u64,
    file: &str,
    sink: &mut Sink,
) -> Result<(), IngestError> {
    match record {
        LineRecord::Blank => Ok(()),
        LineRecord::NotUtf8 => Err(IngestError::Malformed {
            file: file.to_string(),
            line,
            message: "invalid UTF-8".into(),
        }),
        LineRecord::NotJson(message) => sink.reject_line(Reason::InvalidJson, file, line, message),
        LineRecord::Call(facts) => sink.count(file, line, Ok(()), facts).map(drop),
        LineRecord::Invalid(error, facts) => {
            sink.count::<()>(file, line, Err(*error), facts).map(drop)
        }
    }
}

/// Whether the JSON file at `path` is NDJSON that [`read_ndjson`] can read
/// as it comes: its first non-blank line is one whole JSON value, not an
/// array, and text follows that line. Such a file is never one JSON value,
/// so [`super::json::read_json`] would read it line by line too.
pub(super) fn is_ndjson_file(path: &Path) -> std::io::Result<bool> {
    let mut input = BufReader::new(File::open(path)?);
    let mut bytes = Vec::new();
    let mut first_line_read = false;
    loop {
        bytes.clear();
        if input.read_until(b'\n', &mut bytes)? == 0 {
            return Ok(false);
        }
        let line = match first_line_read {
            false => bytes.strip_prefix(BOM).unwrap_or(&bytes),
            true => &bytes,
        };
        let line = trimmed(line);
        if line.is_empty() {
            continue;
        }
        if first_line_read {
            return Ok(true);
        }
        if line.first() == Some(&b'[') || serde_json::from_slice::<IgnoredAny>(line).is_err() {
            return Ok(false);
        }
        first_line_read = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::fields::{ColumnNames, ValueReading};
    use crate::ingest::part::Windowed;
    use crate::ingest::tests::{strings, tags};
    use crate::model::Call;

    /// The call (or error) and facts of the record `line` read as a JSON
    /// value, the reading every record can take.
    fn value_reading(line: &str, context: &JsonContext<'_>) -> (Result<Call, RowError>, RowFacts) {
        let value: Value = serde_json::from_str(line).unwrap();
        let mut facts = RowFacts::default();
        let row = record_call(&value, Shape::Calls, context, &mut facts);
        (row, facts)
    }

    /// The call (or error) and facts of the flat record `line` read in place.
    fn flat_reading(
        line: &str,
        context: &JsonContext<'_>,
    ) -> Option<(Result<Call, RowError>, RowFacts)> {
        let mut facts = RowFacts::default();
        let columns = FlatColumns::new(context.names);
        let row = call_in_place(line, &columns, context.reading, &mut facts)?;
        Some((row, facts))
    }

    fn context<'a>(names: &'a ColumnNames, reading: &'a ValueReading) -> JsonContext<'a> {
        JsonContext {
            file: "calls.ndjson",
            names,
            reading,
            conversion_tags: &[],
        }
    }

    #[test]
    fn a_flat_record_read_in_place_gives_what_its_json_value_gives() {
        let names = ColumnNames::new(&[]).unwrap();
        let reading = ValueReading::in_zone(chrono_tz::Europe::Paris);
        let context = context(&names, &reading);
        let lines = [
            // As DuckDB writes a record.
            r#"{"id":"cll-6077","date":"2025-01-01 01:39:39+00","direction":"OUTBOUND","type":"CALL","user_id":"usr-0022","user_name":"Mateo Rodríguez","user_email":"m@acme.com","allo_number":"+12125550101","allo_number_label":"Sales US","contact_number":"+19179226980","result":"VOICEMAIL","duration":19,"ringing_seconds":25.75,"tags":null}"#,
            // Escapes, a date without offset, tags in a list form, numbers
            // as text, a boolean, keys of no field (one an object), a key
            // given twice (the later counts, even `null`).
            r#"{"id":"cll-\u0031","date":"2024-10-27 02:30:00","tags":"[\"Demo_Booked\", \"x\"]","duration":"95","ringing_seconds":"4.5","result":"answered","extra":{"a":[1,2]},"user_name":"A \"quoted\" name","user_id":"u1","user_id":null,"contact_number":true}"#,
            r#"{"id":7,"date":"2024-03-04T09:30:00Z","duration":1.5e2,"ringing_seconds":-0.0,"tags":"a;b;;c"}"#,
            // Bad values: each the same error.
            r#"{"id":"cll-1","date":"2024-03-31 02:30:00"}"#,
            r#"{"id":"cll-1","date":"yesterday"}"#,
            r#"{"id":"cll-1","date":5}"#,
            r#"{"id":"","date":"2024-03-04T09:30:00Z"}"#,
            r#"{"id":"cll-1","date":"2024-03-04T09:30:00Z","duration":true}"#,
            r#"{"id":"cll-1","date":"2024-03-04T09:30:00Z","result":"maybe"}"#,
            r#"{"id":"cll-1","date":"2024-03-04T09:30:00Z","ringing_seconds":1e300}"#,
            r#"{"id":"cll-1","date":"2024-03-04T09:30:00Z","tags":"[\"a\""}"#,
            r#"{}"#,
        ];
        for line in lines {
            assert_eq!(
                flat_reading(line, &context),
                Some(value_reading(line, &context)),
                "{line}"
            );
        }
    }

    #[test]
    fn mapped_columns_are_read_in_place_as_in_a_json_value() {
        let map = [
            ("date".to_string(), "started_at".to_string()),
            ("user_id".to_string(), "agent".to_string()),
            ("user_name".to_string(), "agent".to_string()),
        ];
        let names = ColumnNames::new(&map).unwrap();
        let reading = ValueReading::in_zone(chrono_tz::UTC);
        let context = context(&names, &reading);
        let line = r#"{"id":"cll-1","started_at":"2024-03-04T09:30:00Z","date":"x","agent":"Ann"}"#;
        let (row, _) = flat_reading(line, &context).unwrap();
        let call = row.unwrap();
        assert_eq!(call.user_id.as_deref(), Some("Ann"));
        assert_eq!(call.user_name.as_deref(), Some("Ann"));
        assert_eq!(
            Some((Ok(call), RowFacts::default())),
            Some(value_reading(line, &context))
        );
    }

    #[test]
    fn a_record_not_flat_is_left_to_the_json_value_reading() {
        let names = ColumnNames::new(&[]).unwrap();
        let reading = ValueReading::in_zone(chrono_tz::UTC);
        let context = context(&names, &reading);
        for line in [
            r#"{"id":"cll-1","date":"2024-03-04T09:30:00Z","user":{"id":"usr-1"}}"#,
            r#"{"id":"cll-1","date":"2024-03-04T09:30:00Z","user":null}"#,
            r#"{"id":"cll-1","date":"2024-03-04T09:30:00Z","tags":["a","B"]}"#,
            r#"{"id":"cll-1","date":{"at":"2024-03-04T09:30:00Z"}}"#,
            r#"["cll-1"]"#,
            r#""cll-1""#,
            r#"{"id":"cll-1"} {"id":"cll-2"}"#,
            r#"{"id":"cll-1","#,
            r#"{"id":"cll-1","date":"2024-03-04T09:30:00Z","duration":1e999}"#,
        ] {
            assert!(flat_reading(line, &context).is_none(), "{line}");
        }
        // Through a file: each line as its JSON value reads it.
        let text = concat!(
            r#"{"id":"cll-1","date":"2024-03-04T09:30:00Z","user":{"id":"usr-1"},"tags":["A"]}"#,
            "\n",
            r#"{"id":"cll-2","date":"2024-03-04T09:31:00Z","user_id":"usr-2","tags":"b"}"#,
            "\n",
        );
        let mut sink = Sink::new(false, None);
        read_ndjson(text.as_bytes(), &context, &mut sink).unwrap();
        let Ok(Windowed::Read(part)) = sink.finish() else {
            panic!("read");
        };
        let frame = part.frame.collect().unwrap();
        let users = strings(&frame, "user_id");
        assert_eq!(users, [Some("usr-1".into()), Some("usr-2".into())]);
        assert_eq!(tags(&frame), [["a"], ["b"]]);
    }

    #[test]
    fn bad_lines_read_in_place_or_not_are_skipped_at_their_lines() {
        let names = ColumnNames::new(&[]).unwrap();
        let reading = ValueReading::in_zone(chrono_tz::UTC);
        let context = context(&names, &reading);
        let text = concat!(
            r#"{"id":"cll-1","date":"2024-03-04T09:30:00Z"}"#,
            "\n\n",
            r#"{"id":"cll-2","date":"soon"}"#,
            "\n",
            r#"{"id":"cll-3","date":"2024-03-04T09:30:00Z","user":"usr-3"}"#,
            "\n",
            r#"{"id":"cll-4","#,
            "\n",
            r#"{"id":"cll-5","date":"2024-03-04T09:30:00Z","tags":[1]}"#,
            "\n",
            r#"{"id":"cll-6","date":"2024-03-04T09:30:00Z","tags":["x"]}"#,
            "\n",
        );
        let mut sink = Sink::new(true, None);
        read_ndjson(text.as_bytes(), &context, &mut sink).unwrap();
        let Ok(Windowed::Read(part)) = sink.finish() else {
            panic!("read");
        };
        assert_eq!(part.rows_read, 6);
        let skipped: Vec<String> = part
            .skipped_rows
            .into_rows()
            .iter()
            .map(ToString::to_string)
            .collect();
        let lines: Vec<&str> = skipped
            .iter()
            .map(|row| row.split(": ").next().unwrap())
            .collect();
        assert_eq!(
            lines,
            [
                "calls.ndjson:3",
                "calls.ndjson:4",
                "calls.ndjson:5",
                "calls.ndjson:6"
            ],
            "{skipped:?}"
        );
        assert_eq!(part.frame.collect().unwrap().height(), 2);
    }
}
