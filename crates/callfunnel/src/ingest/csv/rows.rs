//! CSV input: a header row naming the columns, one call per record.
//!
//! Records are cut by `csv-core` from a fixed-size input buffer into a record
//! buffer that doubles when a field outgrows it, so time and memory stay
//! linear in the size of the file, however long a field is. Lines are
//! counted here, on the bytes the parser consumes: a record is located at
//! the physical line where it starts (blank lines and line breaks inside
//! quoted fields counted), and a record whose number of fields differs from
//! the header's is a bad row of that line.

use std::io::Read;

use chrono_tz::Tz;
use csv_core::ReadRecordResult;

use crate::ingest::error::{IngestError, Reason};
use crate::ingest::fields::{build_call, Cell, ColumnNames, Raw};
use crate::ingest::sink::Sink;
use crate::model::Field;

/// Bytes read from the input at a time.
const INPUT_BUFFER_BYTES: usize = 1 << 20;

/// Reads every record of a CSV stream into `sink`.
///
/// Columns are found by name once, from the header; `file` names the input in
/// messages.
pub(crate) fn read_csv<R: Read>(
    input: R,
    file: &str,
    names: &ColumnNames,
    tz: Tz,
    sink: &mut Sink,
) -> Result<(), IngestError> {
    let mut records = Records::new(input);
    let unreadable = |source| IngestError::Unreadable {
        file: file.to_string(),
        source,
    };
    if records.next_record().map_err(unreadable)?.is_none() {
        // An empty file: no header, no rows.
        return Ok(());
    }
    let header: Vec<String> = (0..records.field_count())
        .map(|index| {
            String::from_utf8_lossy(records.field(index))
                .trim_start_matches('\u{feff}')
                .trim()
                .to_string()
        })
        .collect();
    if header.iter().all(String::is_empty) {
        return Ok(());
    }

    let mut positions = [None; Field::ALL.len()];
    for field in Field::ALL {
        let column = names.get(field);
        positions[field as usize] = header.iter().position(|name| name == column);
        if positions[field as usize].is_none() && (field.is_required() || names.is_mapped(field)) {
            return Err(IngestError::MissingColumn {
                file: file.to_string(),
                field: field.name().to_string(),
                column: column.to_string(),
            });
        }
    }

    while let Some(line) = records.next_record().map_err(unreadable)? {
        let fields = records.field_count();
        if fields != header.len() {
            let message = format!(
                "malformed CSV: {fields} {} where the header has {}",
                if fields == 1 { "field" } else { "fields" },
                header.len()
            );
            sink.reject_line(Reason::WrongFieldCount, file, line, message)?;
            continue;
        }
        let cell = |field: Field| -> Cell<'_> {
            let index = positions[field as usize]?;
            Some((Raw::Bytes(records.field(index)), header[index].as_str()))
        };
        let row = build_call(cell, names, tz);
        sink.accept(file, line, row)?;
    }
    Ok(())
}

/// The records of a CSV stream, one at a time, each with the physical line
/// where it starts.
struct Records<R> {
    input: R,
    parser: csv_core::Reader,
    /// Bytes read and not yet parsed: `buffer[start..end]`.
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    /// Whether the input is exhausted.
    at_end: bool,
    /// The current record's field bytes, back to back, and where each ends.
    fields: Vec<u8>,
    ends: Vec<usize>,
    /// How many fields the current record has.
    count: usize,
    /// The 1-based line of the next byte to parse.
    line: u64,
    /// Whether the current record's first byte is still to come (line
    /// breaks before it are blank lines, or the end of the previous record).
    awaiting_start: bool,
    /// The line where the current record starts.
    record_line: u64,
}

impl<R: Read> Records<R> {
    fn new(input: R) -> Self {
        Records {
            input,
            parser: csv_core::Reader::new(),
            buffer: vec![0; INPUT_BUFFER_BYTES],
            start: 0,
            end: 0,
            at_end: false,
            fields: vec![0; 1024],
            ends: vec![0; 32],
            count: 0,
            line: 1,
            awaiting_start: true,
            record_line: 1,
        }
    }

    /// Parses the next record; returns the line where it starts, or `None`
    /// at the end of the input.
    fn next_record(&mut self) -> std::io::Result<Option<u64>> {
        let (mut written, mut ended) = (0, 0);
        self.awaiting_start = true;
        loop {
            if self.start == self.end && !self.at_end {
                self.fill()?;
            }
            let (result, read, wrote, ends) = self.parser.read_record(
                &self.buffer[self.start..self.end],
                &mut self.fields[written..],
                &mut self.ends[ended..],
            );
            self.note_consumed(self.start, self.start + read);
            self.start += read;
            written += wrote;
            ended += ends;
            match result {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    let doubled = self.fields.len() * 2;
                    self.fields.resize(doubled, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let doubled = self.ends.len() * 2;
                    self.ends.resize(doubled, 0);
                }
                ReadRecordResult::Record => {
                    self.count = ended;
                    return Ok(Some(self.record_line));
                }
                ReadRecordResult::End => return Ok(None),
            }
        }
    }

    /// Reads the next block of input (retrying an interrupted read).
    fn fill(&mut self) -> std::io::Result<()> {
        loop {
            match self.input.read(&mut self.buffer) {
                Ok(read) => {
                    self.start = 0;
                    self.end = read;
                    self.at_end = read == 0;
                    return Ok(());
                }
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
    }

    /// Counts the lines of `buffer[from..to]`, just parsed, and notes where
    /// the current record starts: at its first byte that is not a line break.
    fn note_consumed(&mut self, from: usize, to: usize) {
        let mut bytes = &self.buffer[from..to];
        if self.awaiting_start {
            let breaks = bytes
                .iter()
                .take_while(|&&byte| byte == b'\n' || byte == b'\r')
                .count();
            self.line += bytes[..breaks]
                .iter()
                .filter(|&&byte| byte == b'\n')
                .count() as u64;
            bytes = &bytes[breaks..];
            if !bytes.is_empty() {
                self.awaiting_start = false;
                self.record_line = self.line;
            }
        }
        self.line += memchr::memchr_iter(b'\n', bytes).count() as u64;
    }

    /// How many fields the current record has.
    fn field_count(&self) -> usize {
        self.count
    }

    /// The bytes of field `index` of the current record (`index` below
    /// [`Records::field_count`]).
    fn field(&self, index: usize) -> &[u8] {
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        &self.fields[start..self.ends[index]]
    }
}
