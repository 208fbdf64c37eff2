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
use super::line_pieces::in_pieces_on_every_core;
use super::picking::{LatestLeftOut, PickingPays};
use super::sink::{frame_error, IdsInOrder, LinesIds, Sink};
use super::window_records::{Picked, WindowRecords};
use crate::duplicates::id_hash;
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

/// Pieces of a block read a core: lines in the window cost more than the
/// others, and they come together in a file sorted by date.
const PIECES_PER_CORE: usize = 4;

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
    /// The calls of its valid records, in line order (but the latest call
    /// of those the picker would leave out, last).
    calls: PolarsResult<DataFrame>,
    /// What its lines parsed hold (not the blank ones), in order, each
    /// with the line's index in the piece.
    records: Vec<(usize, LineRecord)>,
    /// How many lines it has.
    line_count: usize,
    /// How many of its lines were parsed by the reader (not read by the
    /// picker, nor left out).
    parsed: usize,
    /// The ids of its calls, those left out included.
    ids: LinesIds,
}

/// Reads one record per line (NDJSON) from `input`, a block of lines at a
/// time (a byte-order mark at its start skipped): a thread reads each
/// block's records into columns side by side on every core while this one
/// takes the block before into `sink`, in line order. Blank lines are
/// skipped. A line that is not exactly one JSON value is a bad row of that
/// line: it stops the load, or is counted and skipped with
/// `--skip-invalid`. A line that is not UTF-8 stops the load. When `sink`
/// keeps a window's calls only, lines surely holding a call outside it are
/// left out unparsed ([`WindowRecords`]), but counted.
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
    let picker = sink.window_to_pick().and_then(|(window, repeated)| {
        let columns = FlatColumns::new(context.names);
        WindowRecords::new(columns, context.reading, window, repeated)
    });
    let (blocks, records) = std::sync::mpsc::sync_channel(1);
    std::thread::scope(|scope| {
        let picker = picker.as_ref();
        scope.spawn(move || read_blocks(input, context, picker, BLOCK_BYTES, blocks));
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

/// Reads `input` block by block (of about `block_bytes`, see
/// [`read_block`]) and sends the records of each block's pieces (the lines
/// `picker` leaves out unparsed, while that pays: [`PickingPays`]), until
/// the input ends, fails (its error sent after the records of the blocks
/// before) or no one receives them any more. The next block is read while
/// the pieces of one are.
fn read_blocks(
    mut input: impl BufRead + Send,
    context: &JsonContext<'_>,
    picker: Option<&WindowRecords<'_>>,
    block_bytes: usize,
    blocks: std::sync::mpsc::SyncSender<std::io::Result<Vec<PieceRecords>>>,
) {
    let (mut block, mut next) = (Vec::new(), Vec::new());
    let mut picking = PickingPays::default();
    let mut read = read_block(&mut input, block_bytes, &mut block);
    while read.is_ok() && !block.is_empty() {
        let picker = picker.filter(|_| picking.next_chunk());
        let pieces = std::thread::scope(|scope| {
            let reading = scope.spawn(|| read_block(&mut input, block_bytes, &mut next));
            let pieces = in_pieces_on_every_core(&block, PIECES_PER_CORE, |piece, _| {
                piece_records(piece, context, picker)
            });
            read = reading
                .join()
                .expect("a thread reading NDJSON lines panicked");
            pieces.expect("a thread reading NDJSON lines panicked")
        });
        if picker.is_some() {
            let lines = pieces.iter().map(|piece| piece.line_count).sum();
            let parsed = pieces.iter().map(|piece| piece.parsed).sum();
            picking.record(lines, parsed);
        }
        if blocks.send(Ok(pieces)).is_err() {
            return;
        }
        std::mem::swap(&mut block, &mut next);
    }
    if let Err(error) = read {
        let _ = blocks.send(Err(error));
    }
}

/// Reads whole lines from `input` into `block` (emptied first): `bytes`,
/// then the rest of the last line; empty at the end of the input. (Read
/// straight into `block`, past the input's own buffer.)
fn read_block(input: &mut impl BufRead, bytes: usize, block: &mut Vec<u8>) -> std::io::Result<()> {
    block.clear();
    input.take(bytes as u64).read_to_end(block)?;
    if block.len() == bytes && block.last() != Some(&b'\n') {
        input.read_until(b'\n', block)?;
    }
    Ok(())
}

/// The records of the lines of `piece` (whole lines), their calls in
/// columns: `picker` reads the canonical ones itself (see
/// [`WindowRecords`]); those it leaves out are not read, but the first with
/// the latest date, so that the latest call of all (and with it
/// `last_updated`) stays.
fn piece_records(
    piece: &[u8],
    context: &JsonContext<'_>,
    picker: Option<&WindowRecords<'_>>,
) -> PieceRecords {
    let mut calls = CallColumns::default();
    let mut records = Vec::new();
    let mut ids = LinesIds::default();
    let columns = FlatColumns::new(context.names);
    // The call left out that the piece still parses, with its line's index.
    let mut latest = LatestLeftOut::default();
    let (mut line_count, mut parsed) = (0, 0);
    for (index, line) in piece_lines(piece).enumerate() {
        line_count += 1;
        let picked = picker.map_or(Picked::ToParse, |picker| picker.pick(trimmed(line)));
        let record = match picked {
            Picked::LeftOut(call) => {
                ids.in_order.push(call.id);
                let earlier = latest.offer(call.date, (call, index, line));
                ids.left_out_hashes
                    .extend(earlier.map(|(call, ..)| id_hash(call.id)));
                continue;
            }
            Picked::Read(call) => {
                ids.in_order.push(call.id.as_bytes());
                calls.push(*call);
                LineRecord::Call(RowFacts::default())
            }
            Picked::ToParse => {
                parsed += 1;
                line_record(line, context, &columns, &mut calls, &mut ids.in_order)
            }
        };
        if !matches!(record, LineRecord::Blank) {
            records.push((index, record));
        }
    }
    if let Some((_, (_, index, line))) = latest.into_latest() {
        // Its id is among the ids in order already.
        let record = line_record(
            line,
            context,
            &columns,
            &mut calls,
            &mut IdsInOrder::default(),
        );
        let at = records.partition_point(|(other, _)| *other < index);
        records.insert(at, (index, record));
    }
    PieceRecords {
        calls: calls.into_frame(),
        records,
        line_count,
        parsed,
        ids,
    }
}

/// The lines of `piece`, each with its line feed.
fn piece_lines(piece: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start == piece.len() {
            return None;
        }
        let end = memchr::memchr(b'\n', &piece[start..]).map_or(piece.len(), |at| start + at + 1);
        let line = &piece[start..end];
        start = end;
        Some(line)
    })
}

/// What the bytes of one line hold, its call pushed to `calls` (its id to
/// `ids`): a flat record read in place (see [`call_in_place`]), any other
/// read as a JSON value.
fn line_record(
    bytes: &[u8],
    context: &JsonContext<'_>,
    columns: &FlatColumns<'_>,
    calls: &mut CallColumns,
    ids: &mut IdsInOrder,
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
            ids.push(call.id.as_bytes());
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
    for (index, record) in piece.records {
        take_line(record, *line + index as u64, file, sink)?;
    }
    *line += piece.line_count as u64;
    sink.keep_counted(piece.calls.map_err(frame_error)?, piece.ids)
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
    use crate::ingest::tests::{started_at_and_agent, strings, tags};
    use crate::model::Call;
    use std::sync::Arc;

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
        let names = started_at_and_agent();
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

    /// A picker keeping March 2024 (no repeated id), values read as
    /// `reading` says.
    fn march<'n>(names: &'n ColumnNames, reading: &'n ValueReading) -> WindowRecords<'n> {
        let window = (
            "2024-03-01T00:00:00Z".parse().unwrap(),
            "2024-04-01T00:00:00Z".parse().unwrap(),
        );
        WindowRecords::new(FlatColumns::new(names), reading, window, Arc::default()).unwrap()
    }

    #[test]
    fn lines_outside_the_window_are_left_out_unparsed_but_the_latest() {
        let names = ColumnNames::new(&[]).unwrap();
        let reading = ValueReading::in_zone(chrono_tz::UTC);
        let context = context(&names, &reading);
        let picker = march(&names, &reading);
        let piece = concat!(
            r#"{"id":"a","date":"2024-02-01T10:00:00Z","result":"ANSWERED"}"#,
            "\n",
            r#"{"id":"b","date":"2024-03-02T10:00:00Z","result":"ANSWERED"}"#,
            "\n",
            r#"{"id":"c","date":"2024-02-20T10:00:00Z","result":"ANSWERED"}"#,
            "\n\n",
            r#"{"id":"d","date":"2024-01-05T10:00:00Z","result":"NO_ANSWER"}"#,
            "\n",
            r#"{"id":"e","date":"2024-02-01T10:00:00Z","result":"ANSWERED","user":{"id":"u"}}"#,
            "\n",
            r#"{"id":"f","date":"2024-02-30T10:00:00Z","result":"ANSWERED"}"#,
            "\n",
        );
        let records = piece_records(piece.as_bytes(), &context, Some(&picker));
        let kinds: Vec<(usize, &str)> = records
            .records
            .iter()
            .map(|(index, line)| {
                let kind = match line {
                    LineRecord::Call(_) => "call",
                    LineRecord::Invalid(..) => "invalid",
                    _ => "other",
                };
                (*index, kind)
            })
            .collect();
        // `a` and `d` are left out; `c`, the latest of the lines left out,
        // is parsed; `e` is not flat, `f` not a date; line 3 is blank.
        assert_eq!(
            kinds,
            [(1, "call"), (2, "call"), (5, "call"), (6, "invalid")]
        );
        assert_eq!(records.line_count, 7);
        // The latest call left out comes last.
        let ids = strings(&records.calls.unwrap(), "id");
        assert_eq!(ids, [Some("b".into()), Some("e".into()), Some("c".into())]);
        let hashes = [id_hash(b"a"), id_hash(b"d")];
        assert_eq!(records.ids.left_out_hashes, hashes);
        // The ids of the piece's calls, those left out among them, increase.
        let mut last_id = None;
        assert!(records.ids.in_order.follow(&mut last_id));
        assert_eq!(last_id.as_deref(), Some("e"));
    }

    #[test]
    fn blocks_are_not_picked_from_while_picking_does_not_pay() {
        let names = ColumnNames::new(&[]).unwrap();
        let reading = ValueReading::in_zone(chrono_tz::UTC);
        let context = context(&names, &reading);
        let picker = march(&names, &reading);
        // 64 lines a block, all outside the window: the first block's
        // dated without an offset (the reader parses them), the rest
        // canonical.
        let line = |id: usize, offset: &str| {
            format!(
                r#"{{"id":"c{id:04}","date":"2024-01-05T10:00:00{offset}","result":"ANSWERED"}}"#
            )
        };
        let lines: Vec<String> = (0..64 * 7)
            .map(|id| line(id, if id < 64 { " " } else { "Z" }))
            .collect();
        let text = lines.join("\n") + "\n";
        let block_bytes = text.len() / 7 - 1;
        let (blocks, records) = std::sync::mpsc::sync_channel(16);
        read_blocks(
            text.as_bytes(),
            &context,
            Some(&picker),
            block_bytes,
            blocks,
        );
        // Each block's lines left out, and its pieces.
        let blocks: Vec<(usize, usize)> = records
            .into_iter()
            .map(|block| {
                let pieces = block.unwrap();
                let left_out = pieces.iter().map(|piece| piece.ids.left_out_hashes.len());
                (left_out.sum(), pieces.len())
            })
            .collect();
        // The picker reads none of the first block's lines: the next two
        // are parsed whole, then picking pays again, leaving out every line
        // but the latest of each piece.
        let left_out: Vec<bool> = blocks.iter().map(|(left_out, _)| *left_out > 0).collect();
        assert_eq!(left_out, [false, false, false, true, true, true, true]);
        for (left_out, pieces) in &blocks[3..] {
            assert_eq!(*left_out, 64 - pieces);
        }
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
