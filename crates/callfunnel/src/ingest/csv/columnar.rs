//! CSV in canonical form, read column-wise by Polars' parallel reader.
//!
//! A CSV file in canonical form (see [`super::super::canonical_text`]) is
//! read here by Polars (all columns as text, on every core), a chunk of
//! whole records at a time, and converted by the shared canonical text
//! step. As soon as one value is off canonical form, or the file holds what
//! Polars would read otherwise than the row reader (a tab or carriage
//! return anywhere, a record with a field too many…), the file is handed to
//! the row reader ([`FastRead::RuleByRule`]). Nothing is dropped either
//! way, and both readers give the same calls (tests in `ingest::tests`).

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use polars::prelude::*;

use super::window_lines::WindowLines;
use crate::duplicates::{id_hash, EveryIdHash, RepeatedIdHashes};
use crate::ingest::call_buffer::CallBuffer;
use crate::ingest::canonical_text::{
    any_off_form, call_columns, canonical_frame, field_positions, without_off_form,
};
use crate::ingest::error::IngestError;
use crate::ingest::fields::ColumnNames;
use crate::ingest::line_pieces::on_every_core;
use crate::ingest::part::{stop_on_io, FastRead, FilePart, Ids, Window};
use crate::ingest::picking::PickingPays;
use crate::model::Field;

/// The calls of the CSV file at `path` (named `file` in messages), read
/// column-wise, or [`FastRead::RuleByRule`] when the file must be read row
/// by row (see the module docs). A file that cannot be read fails.
///
/// Memory stays flat whatever the file's size: one pass over its bytes checks
/// its shape (record count, whether the ids increase, where chunks of whole
/// records start), then each chunk is parsed, checked and converted. With a
/// `keep_window` and increasing ids, only the calls in the window are kept;
/// they are held in a [`CallBuffer`] (in memory, or in temporary Parquet
/// files when many).
pub(crate) fn scan_canonical_csv(
    path: &Path,
    file: &str,
    names: &ColumnNames,
    keep_window: Option<Window>,
) -> Result<FastRead, IngestError> {
    let Some(header) = plain_header(path, file)? else {
        return Ok(FastRead::RuleByRule);
    };
    let distinct: std::collections::HashSet<&String> = header.iter().collect();
    if distinct.len() != header.len() {
        return Ok(FastRead::RuleByRule);
    }
    let present = field_positions(&header, names);
    let lacking = |(field, index): &(Field, Option<usize>)| {
        index.is_none() && (field.is_required() || names.is_mapped(*field))
    };
    let id_column = present
        .iter()
        .find_map(|(field, index)| (*field == Field::Id).then_some(*index).flatten());
    let Some(id_column) = id_column.filter(|_| !present.iter().any(lacking)) else {
        return Ok(FastRead::RuleByRule);
    };
    let shape =
        file_shape(path, id_column, CHUNK_BYTES).map_err(|source| IngestError::Unreadable {
            file: file.to_string(),
            source,
        })?;
    // A file without rows is read row by row as fast.
    if !shape.columnar || shape.records == 0 {
        return Ok(FastRead::RuleByRule);
    }
    // A window needs every repeated id known: none left out could replace a call.
    let window = keep_window.filter(|_| shape.repeated_ids.is_some());
    read_buffered(path, file, &header, &present, &shape, window)
}

/// The header's column names, or `None` when the header is not plain CSV
/// text or a name has a byte-order mark or surrounding spaces (which the
/// row reader trims). A file that cannot be read fails.
fn plain_header(path: &Path, file: &str) -> Result<Option<Vec<String>>, IngestError> {
    let not_plain = |error: csv::Error| match error.into_kind() {
        csv::ErrorKind::Io(source) => Err(IngestError::Unreadable {
            file: file.to_string(),
            source,
        }),
        _ => Ok(None),
    };
    let mut reader = match csv::ReaderBuilder::new().has_headers(true).from_path(path) {
        Ok(reader) => reader,
        Err(error) => return not_plain(error),
    };
    let names: Vec<String> = match reader.headers() {
        Ok(header) => header.iter().map(str::to_string).collect(),
        Err(error) => return not_plain(error),
    };
    let plain = names
        .iter()
        .all(|name| !name.starts_with('\u{feff}') && name.trim() == name);
    Ok((plain && !names.is_empty()).then_some(names))
}

/// The calls of the file, read by [`read_chunks`] into a [`CallBuffer`]:
/// with a `window`, only those dated in it (and each chunk's latest calls).
fn read_buffered(
    path: &Path,
    file: &str,
    header: &[String],
    present: &[(Field, Option<usize>)],
    shape: &FileShape,
    window: Option<Window>,
) -> Result<FastRead, IngestError> {
    let repeated = Arc::new(shape.repeated_ids.clone().unwrap_or_default());
    let mut buffer = CallBuffer::new(window).keeping_ids(repeated.clone());
    let take = |calls| buffer.push(calls).map(drop);
    let window = window.map(|window| (window, repeated));
    if !read_chunks(path, file, header, present, &shape.chunks, window, take)? {
        return Ok(FastRead::RuleByRule);
    }
    match buffer.finish() {
        Ok((frame, spills)) => {
            let distinct = shape
                .repeated_ids
                .as_ref()
                .is_some_and(RepeatedIdHashes::is_empty);
            let ids = Ids::distinct(distinct);
            let part = FilePart::all_valid(frame, shape.records, ids, spills);
            Ok(FastRead::Calls(Box::new(part)))
        }
        Err(error) => {
            stop_on_io(file, error)?;
            Ok(FastRead::RuleByRule)
        }
    }
}

/// Reads the file chunk by chunk, each parsed by Polars on every core,
/// checked for canonical form and given to `take` as canonical calls (in
/// file order); `false` as soon as a chunk is off canonical form, or
/// Polars cannot read it, or `take` fails but for an I/O error (which
/// fails, as one reading the file does). With a `window` (and the hashes of
/// the file's repeated ids), the lines of a chunk that surely hold a
/// canonical call dated outside it, whose id does not repeat, are left out
/// before parsing (see [`WindowLines`]), and the lines kept from several
/// chunks are parsed together, about a chunk's worth at a time. Memory
/// holds one chunk, the lines kept and not yet parsed (at most about a
/// chunk's worth), and what `take` keeps.
fn read_chunks(
    path: &Path,
    file: &str,
    header: &[String],
    present: &[(Field, Option<usize>)],
    chunks: &[std::ops::Range<u64>],
    window: Option<(Window, Arc<RepeatedIdHashes>)>,
    mut take: impl FnMut(LazyFrame) -> PolarsResult<()>,
) -> Result<bool, IngestError> {
    let unreadable = |source| IngestError::Unreadable {
        file: file.to_string(),
        source,
    };
    let mut reader = ChunkReader {
        schema: Arc::new(text_schema(header, present)),
        header,
        present,
        header_read: false,
    };
    let lines = window
        .and_then(|(window, repeated)| WindowLines::new(header.len(), present, window, repeated));
    let mut picking = PickingPays::default();
    let mut input = std::fs::File::open(path).map_err(unreadable)?;
    let (mut bytes, mut kept) = (Vec::new(), Vec::new());
    for (index, range) in chunks.iter().enumerate() {
        read_range(&mut input, range, &mut bytes).map_err(unreadable)?;
        let text = match &lines {
            None => &bytes,
            Some(lines) => {
                if picking.next_chunk() {
                    let before = kept.len();
                    lines.select(&bytes, index == 0, &mut kept);
                    picking.record(bytes.len(), kept.len() - before);
                } else {
                    kept.extend_from_slice(&bytes);
                }
                if (kept.len() as u64) < CHUNK_BYTES && index + 1 < chunks.len() {
                    continue;
                }
                &kept
            }
        };
        let Some(calls) = reader.calls(text) else {
            return Ok(false);
        };
        if let Err(error) = take(calls) {
            stop_on_io(file, error)?;
            return Ok(false);
        }
        kept.clear();
    }
    Ok(true)
}

/// Parses whole records of a CSV file in canonical form into calls.
struct ChunkReader<'a> {
    /// Every column of the file, as Polars reads it ([`text_schema`]).
    schema: SchemaRef,
    header: &'a [String],
    present: &'a [(Field, Option<usize>)],
    /// Whether the header line was read (it starts the first text).
    header_read: bool,
}

impl ChunkReader<'_> {
    /// The canonical calls of `text` (the header first, the first time);
    /// `None` when a value is off canonical form or Polars cannot read it.
    fn calls(&mut self, text: &[u8]) -> Option<LazyFrame> {
        let with_header = !std::mem::replace(&mut self.header_read, true);
        let text = CsvReadOptions::default()
            .with_has_header(with_header)
            .with_schema(Some(self.schema.clone()))
            .into_reader_with_file_handle(std::io::Cursor::new(text))
            .finish()
            .ok()?;
        let converted = canonical_frame(text.lazy(), self.header, self.present)
            .with_column(any_off_form())
            .collect()
            .ok()?;
        let converted = without_off_form(converted)?;
        Some(converted.lazy().select(call_columns(self.present)))
    }
}

/// Reads the bytes of `range` of `file` into `bytes`.
fn read_range(
    file: &mut std::fs::File,
    range: &std::ops::Range<u64>,
    bytes: &mut Vec<u8>,
) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom};
    bytes.clear();
    file.seek(SeekFrom::Start(range.start))?;
    file.take(range.end - range.start).read_to_end(bytes)?;
    Ok(())
}

/// The file's columns as Polars reads them: numbers as numbers (a value
/// that does not parse fails the read), the rest as text.
fn text_schema(header: &[String], present: &[(Field, Option<usize>)]) -> Schema {
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
    Schema::from_iter(
        header
            .iter()
            .enumerate()
            .map(|(index, name)| polars::prelude::Field::new(name.as_str().into(), dtype(index))),
    )
}

/// What one pass over a CSV file's bytes finds (see [`file_shape`]).
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileShape {
    /// Whether Polars' reader may read the file (else it is read row by row).
    columnar: bool,
    /// Data records (lines but the header and blank ones).
    records: u64,
    /// Whether the id column's values increase strictly, record by record
    /// (so every id is distinct and no hash table is needed to tell).
    ids_increasing: bool,
    /// The hashes of the ids that repeat (none when they increase); `None`
    /// when not every id was hashed (a quoted id, or more than
    /// [`EveryIdHash`]'s bound).
    repeated_ids: Option<RepeatedIdHashes>,
    /// Byte ranges of whole records, the first holding the header.
    chunks: Vec<std::ops::Range<u64>>,
}

/// One pass over the file's bytes, read in blocks so memory stays flat. The
/// file must be read row by row when it holds whitespace that a row-wise
/// trim could remove but the canonical text step does not see (any ASCII
/// whitespace but space and line feed: tabs, carriage returns…; any
/// non-ASCII whitespace character), or a record longer than
/// [`MAX_COLUMNAR_RECORD_BYTES`], or one whose number of fields differs from
/// the header's, or a quote that does not open or close a field (Polars
/// would read such rows without a word: missing fields as nulls, extra ones
/// dropped). `id_column` is the index of the id's column.
fn file_shape(path: &Path, id_column: usize, chunk_bytes: u64) -> std::io::Result<FileShape> {
    const BLOCK: usize = 1 << 22;
    // Longest UTF-8 whitespace encoding minus one, carried to the next block.
    const CARRY: usize = 2;
    let mut file = std::fs::File::open(path)?;
    let mut buffer = vec![0u8; BLOCK + CARRY];
    let mut carried = 0;
    let mut shape = FieldCounter::new(id_column, chunk_bytes);
    let row_reader = FileShape {
        columnar: false,
        records: 0,
        ids_increasing: false,
        repeated_ids: None,
        chunks: Vec::new(),
    };
    loop {
        let read = file.read(&mut buffer[carried..])?;
        if read == 0 {
            if !shape.finish() {
                return Ok(row_reader);
            }
            let ends = shape.chunk_starts.iter().skip(1).copied();
            let chunks = shape
                .chunk_starts
                .iter()
                .zip(ends.chain([shape.position]))
                .map(|(start, end)| *start..end)
                .filter(|range| !range.is_empty())
                .collect();
            let repeated_ids = match shape.ids_increasing {
                true => Some(RepeatedIdHashes::default()),
                false => std::mem::take(&mut shape.id_hashes).repeated(),
            };
            return Ok(FileShape {
                columnar: true,
                records: shape.records,
                ids_increasing: shape.ids_increasing,
                repeated_ids,
                chunks,
            });
        }
        let filled = carried + read;
        let block = &buffer[..filled];
        let odd_whitespace = on_every_core(block, |piece, _| has_odd_whitespace(piece))
            .map_or(true, |found| found.contains(&true));
        if odd_whitespace || !shape.feed(&buffer[carried..filled]) {
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
    /// The hash of every id so far ([`id_hash`] of its text), while every
    /// id is hashed (see [`FileShape::repeated_ids`]).
    id_hashes: EveryIdHash,
    /// Data records so far.
    records: u64,
    /// Bytes taken so far.
    position: u64,
    /// Offsets where a record starts, about [`CHUNK_BYTES`] apart (the
    /// first chunk, from 0, holds the header).
    chunk_starts: Vec<u64>,
    /// Bytes of a chunk (at least).
    chunk_bytes: u64,
    /// Offset from which the next record start begins a chunk.
    next_chunk_at: u64,
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

/// Bytes of a chunk of the file read at once (whole records).
const CHUNK_BYTES: u64 = 16 << 20;

/// Longest record the column-wise reader is given (1 MiB): Polars' reader
/// takes time quadratic in the length of a record, the row reader linear.
const MAX_COLUMNAR_RECORD_BYTES: usize = 1 << 20;

impl FieldCounter {
    /// A counter for a file whose ids are in column `id_column`, cut in
    /// chunks of about `chunk_bytes`.
    fn new(id_column: usize, chunk_bytes: u64) -> Self {
        FieldCounter {
            id_column,
            ids_increasing: true,
            id_hashes: EveryIdHash::default(),
            chunk_starts: vec![0],
            chunk_bytes,
            next_chunk_at: chunk_bytes,
            ..FieldCounter::default()
        }
    }

    /// Takes the next bytes; `false` as soon as the file breaks the rules.
    /// When `bytes` hold no quote, their whole lines are taken at once, on
    /// every core ([`Self::plain_lines`]); otherwise a whole line without
    /// quotes, met at the start of a record, is taken at once (its fields
    /// counted with a vectorised search). Other bytes are taken one by one.
    fn feed(&mut self, bytes: &[u8]) -> bool {
        let quoted = memchr::memchr(b'"', bytes).is_some();
        let mut rest = bytes;
        while !rest.is_empty() {
            let at_record_start = self.record_bytes == 0 && !self.in_quotes && !self.quote_pending;
            if at_record_start && !quoted {
                match self.plain_lines(rest) {
                    None => return false,
                    Some(0) => {}
                    Some(taken) => {
                        rest = &rest[taken..];
                        continue;
                    }
                }
            }
            if at_record_start {
                if let Some(end) = memchr::memchr(b'\n', rest) {
                    let line = &rest[..end];
                    if memchr::memchr(b'"', line).is_none() {
                        if !self.plain_line(line) {
                            return false;
                        }
                        rest = &rest[end + 1..];
                        continue;
                    }
                }
            }
            // Byte by byte up to the end of this line (or of the block).
            let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |at| at + 1);
            if !rest[..end].iter().all(|&byte| self.byte(byte)) {
                return false;
            }
            rest = &rest[end..];
        }
        true
    }

    /// A whole line without quotes (its line feed excluded).
    fn plain_line(&mut self, line: &[u8]) -> bool {
        if line.len() >= MAX_COLUMNAR_RECORD_BYTES {
            return false;
        }
        let (separators, id) = separators_and_value(line, self.id_column);
        self.id.extend_from_slice(id);
        self.fields = separators;
        self.line_bytes = line.len();
        self.position += line.len() as u64 + 1;
        self.end_line()
    }

    /// Takes at once the whole lines at the start of `bytes` (which hold no
    /// quote), after the header, looked at on every core: how many bytes
    /// were taken (none before the header), `None` when a line breaks the
    /// rules.
    fn plain_lines(&mut self, bytes: &[u8]) -> Option<usize> {
        let Some(expected) = self.expected else {
            return Some(0);
        };
        let Some(last) = memchr::memrchr(b'\n', bytes) else {
            return Some(0);
        };
        let lines = &bytes[..=last];
        let id_column = self.id_column;
        let hashing = self.id_hashes.is_whole();
        let pieces = on_every_core(lines, |piece, _| {
            PlainLines::of(piece, id_column, expected, hashing)
        })?;
        for piece in pieces {
            let piece = piece?;
            self.records += piece.records;
            self.id_hashes.add(&piece.id_hashes);
            if let (Some(first), Some(last)) = (piece.first_id, piece.last_id) {
                if !piece.ids_increasing || first <= self.previous_id.as_slice() {
                    self.ids_increasing = false;
                }
                self.previous_id.clear();
                self.previous_id.extend_from_slice(last);
            }
        }
        self.note_chunk_starts(lines);
        self.position += lines.len() as u64;
        Some(lines.len())
    }

    /// Notes the chunks that start in `lines` (whole lines from
    /// [`Self::position`] on): where a line ends at or past the next chunk's
    /// offset, as [`Self::end_line`] does line by line.
    fn note_chunk_starts(&mut self, lines: &[u8]) {
        loop {
            // The line feed that ends a line exactly at the offset, or the first after.
            let from = self.next_chunk_at.saturating_sub(self.position + 1) as usize;
            let Some(at) = lines
                .get(from..)
                .and_then(|rest| memchr::memchr(b'\n', rest))
            else {
                return;
            };
            let start = self.position + (from + at + 1) as u64;
            self.chunk_starts.push(start);
            self.next_chunk_at = start + self.chunk_bytes;
        }
    }

    fn byte(&mut self, byte: u8) -> bool {
        self.position += 1;
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
                    self.id_hashes.give_up();
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
        if self.position >= self.next_chunk_at {
            self.chunk_starts.push(self.position);
            self.next_chunk_at = self.position + self.chunk_bytes;
        }
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
                if self.id_hashes.is_whole() {
                    self.id_hashes.add(&[id_hash(&self.id)]);
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

/// What [`FieldCounter::plain_lines`] finds in a piece of whole lines
/// without quotes.
struct PlainLines<'a> {
    /// Data records (blank lines skipped).
    records: u64,
    /// The first and last record's id.
    first_id: Option<&'a [u8]>,
    last_id: Option<&'a [u8]>,
    /// Whether each id is greater than the one before, within the piece.
    ids_increasing: bool,
    /// The hash of each record's id, when asked.
    id_hashes: Vec<u64>,
}

impl<'a> PlainLines<'a> {
    /// The records of `piece`, their ids in column `id_column` (hashed when
    /// `hashing`); `None` when a line has other than `expected` fields or is
    /// too long.
    fn of(piece: &'a [u8], id_column: usize, expected: usize, hashing: bool) -> Option<Self> {
        let mut found = PlainLines {
            records: 0,
            first_id: None,
            last_id: None,
            ids_increasing: true,
            id_hashes: Vec::new(),
        };
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', piece) {
            let line = &piece[start..end];
            start = end + 1;
            if line.is_empty() {
                continue;
            }
            let (separators, id) = separators_and_value(line, id_column);
            if line.len() >= MAX_COLUMNAR_RECORD_BYTES || separators + 1 != expected {
                return None;
            }
            found.records += 1;
            if hashing {
                found.id_hashes.push(id_hash(id));
            }
            match found.last_id {
                Some(previous) => found.ids_increasing &= id > previous,
                None => found.first_id = Some(id),
            }
            found.last_id = Some(id);
        }
        Some(found)
    }
}

/// The number of commas of `line` (no quotes) and its value in `column`
/// (empty when it has no such column).
fn separators_and_value(line: &[u8], column: usize) -> (usize, &[u8]) {
    let start = match column {
        0 => Some(0),
        column => memchr::memchr_iter(b',', line)
            .nth(column - 1)
            .map(|at| at + 1),
    };
    let value = start.map_or(&[][..], |start| {
        let end = memchr::memchr(b',', &line[start..]).map_or(line.len(), |at| start + at);
        &line[start..end]
    });
    (memchr::memchr_iter(b',', line).count(), value)
}

/// Whether `bytes` hold whitespace that the canonical text step does not see:
/// a tab, carriage return, vertical tab, form feed, or a non-ASCII
/// whitespace character.
fn has_odd_whitespace(bytes: &[u8]) -> bool {
    memchr::memchr3(b'\t', b'\r', 0x0b, bytes).is_some()
        || memchr::memchr(0x0c, bytes).is_some()
        || has_unicode_whitespace(bytes)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{compute, window};
    use crate::ingest::{load, IngestOptions};
    use crate::request::Request;
    use chrono::DateTime;

    /// A canonical CSV file: `rows` calls with increasing ids over 2024, one
    /// every 1,000 minutes, some with a quoted label holding a comma and a
    /// line break.
    fn canonical_file(rows: usize) -> (tempfile::TempDir, std::path::PathBuf) {
        let mut text = String::from("id,date,result,duration,allo_number_label,tags\n");
        let start = DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z").unwrap();
        for row in 0..rows {
            let date = start + chrono::Duration::minutes(1_000 * row as i64);
            let label = if row % 7 == 0 {
                "\"Sales, FR\nParis\""
            } else {
                "Sales"
            };
            let result = ["ANSWERED", "NO_ANSWER", "VOICEMAIL"][row % 3];
            let tags = if row % 5 == 0 { "demo_booked" } else { "" };
            text.push_str(&format!(
                "cll-{row:06},{},{result},{},{label},{tags}\n",
                date.format("%Y-%m-%dT%H:%M:%SZ"),
                row % 400
            ));
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calls.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn a_file_that_cannot_be_read_fails_instead_of_going_row_by_row() {
        // A folder opens, and fails when read (EISDIR).
        let dir = tempfile::tempdir().unwrap();
        let names = ColumnNames::new(&[]).unwrap();
        let read = scan_canonical_csv(dir.path(), "calls.csv", &names, None);
        assert!(
            matches!(read, Err(IngestError::Unreadable { ref file, .. }) if file == "calls.csv"),
            "{:?}",
            read.err()
        );
    }

    #[test]
    fn chunks_cover_the_file_and_start_at_records() {
        let (_dir, path) = canonical_file(500);
        let bytes = std::fs::read(&path).unwrap();
        let shape = file_shape(&path, 0, 1_000).unwrap();
        assert!(shape.columnar && shape.ids_increasing);
        assert_eq!(shape.records, 500);
        assert!(shape.chunks.len() > 20, "{}", shape.chunks.len());
        assert_eq!(shape.chunks[0].start, 0);
        assert_eq!(shape.chunks.last().unwrap().end, bytes.len() as u64);
        for pair in shape.chunks.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
            let start = pair[1].start as usize;
            assert_eq!(bytes[start - 1], b'\n');
            assert!(bytes[start..].starts_with(b"cll-"), "chunk at {start}");
        }
    }

    #[test]
    fn a_file_without_quotes_is_measured_as_line_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calls.csv");
        let mut text = String::from("date,id,result\n");
        for row in 0..2_000 {
            let blank = if row % 300 == 0 { "\n" } else { "" };
            text.push_str(&format!(
                "2024-01-01T00:00:00Z,cll-{row:05},ANSWERED\n{blank}"
            ));
        }
        std::fs::write(&path, &text).unwrap();
        let shape = file_shape(&path, 1, 5_000).unwrap();
        assert!(shape.columnar && shape.ids_increasing);
        assert_eq!(shape.records, 2_000);
        // Each chunk starts at the first line that starts 5,000 bytes or
        // more after the start of the one before.
        let line_starts: Vec<u64> = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(at, _)| at as u64 + 1))
            .collect();
        let mut expected = vec![0];
        for start in line_starts {
            if start >= expected.last().unwrap() + 5_000 && start < text.len() as u64 {
                expected.push(start);
            }
        }
        let starts: Vec<u64> = shape.chunks.iter().map(|chunk| chunk.start).collect();
        assert_eq!(starts, expected);
        assert_eq!(shape.chunks.last().unwrap().end, text.len() as u64);

        // An id that goes back, a record with a field too many.
        let back = text.replace("cll-01234", "cll-01232");
        std::fs::write(&path, back).unwrap();
        let shape = file_shape(&path, 1, 5_000).unwrap();
        assert!(shape.columnar && !shape.ids_increasing);
        let extra = text.replace("cll-01234,", "cll-01234,,");
        std::fs::write(&path, extra).unwrap();
        assert!(!file_shape(&path, 1, 5_000).unwrap().columnar);
    }

    #[test]
    fn ids_out_of_order_are_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calls.csv");
        let text = "date,id\n2024-01-01T00:00:00Z,cll-2\n2024-01-01T00:00:00Z,cll-1\n";
        std::fs::write(&path, text).unwrap();
        let shape = file_shape(&path, 1, CHUNK_BYTES).unwrap();
        assert!(shape.columnar && !shape.ids_increasing);
        std::fs::write(&path, text.replace("cll-1", "cll-3")).unwrap();
        assert!(file_shape(&path, 1, CHUNK_BYTES).unwrap().ids_increasing);
    }

    #[test]
    fn calls_read_in_chunks_for_a_window_give_the_same_response() {
        let (_dir, path) = canonical_file(600);
        let request = Request::from_json_str(
            r#"{"date":{"from":"2024-03-04","to":"2024-03-17"},"tags":["demo_booked"],
                "granularity":"DAY","timezone":"America/New_York",
                "extend":"items","stage":"DIAL","page":2,"size":5}"#,
        )
        .unwrap();
        let everything = load(std::slice::from_ref(&path), &IngestOptions::default()).unwrap();
        let rows = everything.frame.clone().collect().unwrap().height();
        let expected = compute(everything.frame, &request).unwrap();

        // Through `load`, one chunk.
        let options = IngestOptions {
            keep_window: Some(window(&request)),
            ..IngestOptions::default()
        };
        let windowed = load(std::slice::from_ref(&path), &options).unwrap();
        assert_eq!(windowed.report, everything.report);
        let kept = windowed.frame.clone().collect().unwrap().height();
        assert!(kept < rows / 4, "{kept} of {rows}");
        assert_eq!(compute(windowed.frame, &request).unwrap(), expected);

        // In many small chunks: each chunk's latest call is kept too, so the
        // latest call of all gives `last_updated`.
        let names = ColumnNames::new(&[]).unwrap();
        let header = plain_header(&path, "calls.csv").unwrap().unwrap();
        let present = field_positions(&header, &names);
        let shape = file_shape(&path, 0, 700).unwrap();
        // Lines left out before parsing (`window_lines`) or not.
        let read = |rows_in_memory, left_out: bool| {
            let mut buffer =
                CallBuffer::new(Some(window(&request))).with_rows_in_memory(rows_in_memory);
            let in_form = read_chunks(
                &path,
                "calls.csv",
                &header,
                &present,
                &shape.chunks,
                left_out.then(|| (window(&request), Arc::default())),
                |calls| buffer.push(calls).map(drop),
            )
            .unwrap();
            assert!(in_form);
            buffer.finish().unwrap()
        };
        let (chunked, spill) = read(usize::MAX, true);
        assert!(spill.is_empty());
        let chunked_rows = chunked.clone().collect().unwrap().height();
        assert!(chunked_rows >= kept && chunked_rows < kept + shape.chunks.len());
        assert_eq!(compute(chunked, &request).unwrap(), expected);

        // Beyond 20 calls in memory, the window goes to a temporary file.
        // (A new file every 20 rows too, at the end of a batch: a batch a
        // chunk when every line is parsed, more than one file here.)
        let (spilled, spill) = read(20, false);
        assert!(spill.len() > 1, "{} spill files", spill.len());
        assert!(spill.iter().all(|file| file.path().exists()));
        let spilled_rows = spilled.clone().collect().unwrap().height();
        assert!(spilled_rows >= kept && spilled_rows < kept + shape.chunks.len());
        assert_eq!(compute(spilled, &request).unwrap(), expected);
    }
}
