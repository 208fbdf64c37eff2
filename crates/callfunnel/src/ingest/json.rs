//! JSON input, recognised by its shape (SPEC §1.1):
//! - an array of records;
//! - one record per line (NDJSON): each line one record, a bad line a bad
//!   row of that line;
//! - a single record;
//! - a saved conversations search page `{"data": [ConversationItem…], …}`;
//! - a saved outbound drilldown page `{"data": {…, "items": {"data": [OutboundDrilldownItem…]}}}`;
//! - a saved v1 call page `{"data": {"results": [CallApiResponse…], "metadata": …}}`.
//!
//! Records are read one at a time from their position in the text, so every
//! message names the line where its record starts. An NDJSON file is read
//! line by line ([`read_ndjson`]), never whole; the other shapes are one
//! JSON value, read from the file's whole text.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::{Map, Value};

use super::error::{IngestError, Reason, RowError};
use super::facts::RowFacts;
use super::fields::{
    build_call, push_mapped_tag, read_date, read_duration, read_enum, read_id, read_minutes,
    read_text, reject, Cell, ColumnNames, Raw, ValueReading,
};
use super::ndjson::{is_ndjson_file, read_ndjson};
use super::part::{FilePart, Window};
use super::sink::{read_rows, Sink};
use crate::model::rules::match_spelling;
use crate::model::{Call, CallResult, Direction, Field};
use crate::request::Stage;

/// How the records of a file are shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// Flat records or `ConversationItem`s.
    Calls,
    /// `OutboundDrilldownItem`s.
    Drilldown,
    /// v1 call records (`CallApiResponse` of `GET /v1/api/calls`).
    V1Calls,
}

/// What the JSON reader needs besides the text.
pub(crate) struct JsonContext<'a> {
    /// The input's name in messages.
    pub file: &'a str,
    /// Columns (keys) of flat records, after `--map`.
    pub names: &'a ColumnNames,
    /// How values are read (zone, value maps, duration unit).
    pub reading: &'a ValueReading,
    /// Tags given to `CONVERSION` drilldown items, lower case (see
    /// [`crate::stages::conversion_tags`]).
    pub conversion_tags: &'a [String],
}

/// The calls of the JSON file at `path` (`context` names it): NDJSON read
/// line by line as it comes, any other shape from the file's whole text;
/// the calls of `keep_window` only when its ids allow (see
/// [`super::IngestOptions::keep_window`]).
pub(super) fn read(
    path: &Path,
    context: &JsonContext<'_>,
    skip_invalid: bool,
    keep_window: Option<Window>,
) -> Result<FilePart, IngestError> {
    let unreadable = |source| IngestError::Unreadable {
        file: context.file.to_string(),
        source,
    };
    if is_ndjson_file(path).map_err(unreadable)? {
        return read_rows(skip_invalid, keep_window, |sink| {
            let input = BufReader::new(File::open(path).map_err(unreadable)?);
            read_ndjson(input, context, sink)
        });
    }
    let bytes = std::fs::read(path).map_err(unreadable)?;
    let text = utf8_text(bytes, context.file)?;
    read_rows(skip_invalid, keep_window, |sink| {
        read_json(&text, context, sink)
    })
}

/// A file's bytes as text; invalid UTF-8 is malformed input at its line.
fn utf8_text(bytes: Vec<u8>, file: &str) -> Result<String, IngestError> {
    String::from_utf8(bytes).map_err(|err| {
        let valid = err.utf8_error().valid_up_to();
        let line = err.as_bytes()[..valid]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64
            + 1;
        IngestError::Malformed {
            file: file.to_string(),
            line,
            message: "invalid UTF-8".into(),
        }
    })
}

/// Reads every record of a JSON text into `sink`.
pub(crate) fn read_json(
    text: &str,
    context: &JsonContext<'_>,
    sink: &mut Sink,
) -> Result<(), IngestError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = JsonReader {
        text,
        context,
        sink,
        line_pos: 0,
        line: 1,
    };
    let start = reader.skip_ws(0);
    match text.as_bytes().get(start) {
        None => Ok(()),
        Some(b'[') => {
            let end = reader.read_array(start, Shape::Calls)?;
            let rest = reader.skip_ws(end);
            if rest < text.len() {
                return Err(reader.malformed(rest, "unexpected text after the array".into()));
            }
            Ok(())
        }
        Some(b'{') if reader.is_single_value(start) => match reader.locate_page(start)? {
            Some((array, shape)) => reader.read_array(array, shape).map(drop),
            None => reader.read_single(start),
        },
        Some(_) => reader.read_lines(),
    }
}

/// A position-aware walk over a JSON text.
struct JsonReader<'t, 'c, 's> {
    text: &'t str,
    context: &'c JsonContext<'c>,
    sink: &'s mut Sink,
    /// Byte offset up to which lines were counted.
    line_pos: usize,
    /// 1-based line at `line_pos`.
    line: u64,
}

impl JsonReader<'_, '_, '_> {
    /// The 1-based line of byte `offset`.
    fn line_at(&mut self, offset: usize) -> u64 {
        if offset < self.line_pos {
            self.line_pos = 0;
            self.line = 1;
        }
        let newlines = self.text.as_bytes()[self.line_pos..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.line += newlines as u64;
        self.line_pos = offset;
        self.line
    }

    /// The offset of the first non-whitespace byte at or after `pos`.
    fn skip_ws(&self, mut pos: usize) -> usize {
        let bytes = self.text.as_bytes();
        while bytes
            .get(pos)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        {
            pos += 1;
        }
        pos
    }

    /// A malformed-JSON error at byte `offset`.
    fn malformed(&mut self, offset: usize, message: String) -> IngestError {
        IngestError::Malformed {
            file: self.context.file.to_string(),
            line: self.line_at(offset),
            message: format!("invalid JSON: {message}"),
        }
    }

    /// Parses one JSON value starting at `pos`; returns it and the offset after it.
    fn value<T: DeserializeOwned>(&mut self, pos: usize) -> Result<(T, usize), IngestError> {
        let mut stream = serde_json::Deserializer::from_str(&self.text[pos..]).into_iter::<T>();
        match stream.next() {
            Some(Ok(value)) => Ok((value, pos + stream.byte_offset())),
            Some(Err(err)) => {
                let line = self.line_at(pos) + (err.line() as u64).saturating_sub(1);
                Err(IngestError::Malformed {
                    file: self.context.file.to_string(),
                    line,
                    message: json_error_message(&err),
                })
            }
            None => Err(self.malformed(pos, "unexpected end of input".into())),
        }
    }

    /// Whether the text from `start` is one JSON value and nothing else.
    fn is_single_value(&mut self, start: usize) -> bool {
        match self.value::<IgnoredAny>(start) {
            Ok((_, end)) => self.skip_ws(end) == self.text.len(),
            Err(_) => false,
        }
    }

    /// Expects `byte` at `pos` (after whitespace); returns the offset after it.
    fn expect(&mut self, pos: usize, byte: u8, what: &str) -> Result<usize, IngestError> {
        let pos = self.skip_ws(pos);
        if self.text.as_bytes().get(pos) == Some(&byte) {
            Ok(pos + 1)
        } else {
            Err(self.malformed(pos, format!("expected {what}")))
        }
    }

    /// In the object at `pos`, the offset of the value of `key`, if present.
    fn find_key(&mut self, pos: usize, key: &str) -> Result<Option<usize>, IngestError> {
        let mut pos = self.expect(pos, b'{', "`{`")?;
        loop {
            pos = self.skip_ws(pos);
            if self.text.as_bytes().get(pos) == Some(&b'}') {
                return Ok(None);
            }
            let (name, end) = self.value::<String>(pos)?;
            let after_colon = self.expect(end, b':', "`:`")?;
            pos = self.skip_ws(after_colon);
            if name == key {
                return Ok(Some(pos));
            }
            let (_, end) = self.value::<IgnoredAny>(pos)?;
            pos = self.skip_ws(end);
            match self.text.as_bytes().get(pos) {
                Some(b',') => pos += 1,
                Some(b'}') => return Ok(None),
                _ => return Err(self.malformed(pos, "expected `,` or `}`".into())),
            }
        }
    }

    /// For a single object at `start`: the array of records of a saved API
    /// page, or `None` when the object is itself a record.
    fn locate_page(&mut self, start: usize) -> Result<Option<(usize, Shape)>, IngestError> {
        let Some(data) = self.find_key(start, "data")? else {
            return Ok(None);
        };
        match self.text.as_bytes().get(data) {
            Some(b'[') => return Ok(Some((data, Shape::Calls))),
            Some(b'{') => {
                if let Some(items) = self.find_key(data, "items")? {
                    if self.text.as_bytes().get(items) == Some(&b'{') {
                        if let Some(list) = self.find_key(items, "data")? {
                            if self.text.as_bytes().get(list) == Some(&b'[') {
                                return Ok(Some((list, Shape::Drilldown)));
                            }
                        }
                    }
                }
                if let Some(results) = self.find_key(data, "results")? {
                    if self.text.as_bytes().get(results) == Some(&b'[') {
                        return Ok(Some((results, Shape::V1Calls)));
                    }
                }
            }
            _ => {}
        }
        Err(self.malformed(
            data,
            "`data` holds neither a list of calls, nor drilldown `items`, nor v1 call `results` (an outbound response needs extend=items)"
                .into(),
        ))
    }

    /// Reads the records of the array at `pos`; returns the offset after it.
    fn read_array(&mut self, pos: usize, shape: Shape) -> Result<usize, IngestError> {
        let after_bracket = self.expect(pos, b'[', "`[`")?;
        let mut pos = self.skip_ws(after_bracket);
        if self.text.as_bytes().get(pos) == Some(&b']') {
            return Ok(pos + 1);
        }
        loop {
            let line = self.line_at(pos);
            let (record, end) = self.value::<Value>(pos)?;
            self.record(record, line, shape)?;
            pos = self.skip_ws(end);
            match self.text.as_bytes().get(pos) {
                Some(b',') => pos = self.skip_ws(pos + 1),
                Some(b']') => return Ok(pos + 1),
                _ => return Err(self.malformed(pos, "expected `,` or `]` after a record".into())),
            }
        }
    }

    /// Reads the one record that the text holds, at `pos`.
    fn read_single(&mut self, pos: usize) -> Result<(), IngestError> {
        let line = self.line_at(pos);
        let (record, _) = self.value::<Value>(pos)?;
        self.record(record, line, Shape::Calls)
    }

    /// Reads one record per line (NDJSON), see [`read_ndjson`].
    fn read_lines(&mut self) -> Result<(), IngestError> {
        read_ndjson(self.text.as_bytes(), self.context, self.sink)
    }

    /// Reads one record that starts at `line`.
    fn record(&mut self, record: Value, line: u64, shape: Shape) -> Result<(), IngestError> {
        let mut facts = RowFacts::default();
        let row = record_call(&record, shape, self.context, &mut facts);
        self.sink.accept(self.context.file, line, row, facts)
    }
}

/// The call a JSON record gives, or why it gives none; `facts` notes how
/// its values were written.
pub(super) fn record_call(
    record: &Value,
    shape: Shape,
    context: &JsonContext<'_>,
    facts: &mut RowFacts,
) -> Result<Call, RowError> {
    match record {
        Value::Object(fields) => match shape {
            Shape::Calls => flat_call(fields, context, facts),
            Shape::Drilldown => drilldown_call(fields, context, facts),
            Shape::V1Calls => v1_call(fields, context, facts),
        },
        other => Err(RowError {
            column: "record".into(),
            value: other.to_string(),
            reason: Reason::NotAnObject,
            detail: None,
        }),
    }
}

/// A JSON syntax error's message, without serde_json's position (the
/// message names the line itself).
pub(super) fn json_error_message(err: &serde_json::Error) -> String {
    let message = err.to_string();
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(text, _)| text);
    format!("invalid JSON: {message}")
}

/// The nested `user` object of an API record (`null` or absent: none).
fn nested_user(fields: &Map<String, Value>) -> Result<Option<&Map<String, Value>>, RowError> {
    match fields.get("user") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(user)) => Ok(Some(user)),
        Some(other) => Err(RowError {
            column: "user".into(),
            value: other.to_string(),
            reason: Reason::InvalidUser,
            detail: Some("expected an object or null".into()),
        }),
    }
}

/// The value of `key`, unless absent or `null`.
fn present<'a>(fields: &'a Map<String, Value>, key: &'a str) -> Cell<'a> {
    fields
        .get(key)
        .filter(|value| !value.is_null())
        .map(|value| (Raw::Json(value), key))
}

/// The `user.*` field for a user field of the call, with its dotted name.
fn user_cell<'a>(user: Option<&'a Map<String, Value>>, field: Field) -> Cell<'a> {
    let (key, column) = match field {
        Field::UserId => ("id", "user.id"),
        Field::UserName => ("name", "user.name"),
        Field::UserEmail => ("email", "user.email"),
        _ => return None,
    };
    user?
        .get(key)
        .filter(|value| !value.is_null())
        .map(|value| (Raw::Json(value), column))
}

/// A flat record or a `ConversationItem`: flat keys (after `--map`) first,
/// then the nested `user` for the user fields.
fn flat_call(
    fields: &Map<String, Value>,
    context: &JsonContext<'_>,
    facts: &mut RowFacts,
) -> Result<Call, RowError> {
    let user = nested_user(fields)?;
    let names = context.names;
    let cell = |field: Field| present(fields, names.get(field)).or_else(|| user_cell(user, field));
    build_call(cell, names, context.reading, facts)
}

/// An `OutboundDrilldownItem` as a call (SPEC §1.1).
fn drilldown_call(
    fields: &Map<String, Value>,
    context: &JsonContext<'_>,
    facts: &mut RowFacts,
) -> Result<Call, RowError> {
    let user = nested_user(fields)?;
    let id = read_id(present(fields, "id"), "id")?;
    let date = read_date(present(fields, "date"), "date", context.reading.tz, facts)?;
    let mut call = Call::new(id, date);
    call.user_id = read_text(user_cell(user, Field::UserId))?;
    call.user_name = read_text(user_cell(user, Field::UserName))?;
    call.user_email = read_text(user_cell(user, Field::UserEmail))?;
    call.allo_number = read_text(present(fields, "allo_number"))?;
    call.allo_number_label = read_text(present(fields, "allo_number_label"))?;
    call.contact_number = read_text(present(fields, "contact_number"))?;
    let stage = read_stage(present(fields, "stage"))?;
    let voicemail = read_voicemail(present(fields, "voicemail"))?;
    call.duration = read_duration(present(fields, "duration"), context.reading.duration_unit)?;
    call.result = if voicemail {
        Some(CallResult::Voicemail)
    } else {
        match stage {
            Some(Stage::Connected | Stage::Conversation) => Some(CallResult::Answered),
            Some(Stage::Conversion) if call.duration > 0 => Some(CallResult::Answered),
            _ => None,
        }
    };
    if stage == Some(Stage::Conversion) {
        call.tags = context.conversion_tags.to_vec();
    }
    Ok(call)
}

/// A v1 call record (`CallApiResponse`) as a call (SPEC §1.1): `start_date`
/// is the date, `type` the direction, `length_in_minutes` the talk time,
/// `from_number` and `to_number` the Allo and contact numbers as the
/// direction says, `tag` the one tag, `result` as is (the values as
/// `--map-value` maps them).
fn v1_call(
    fields: &Map<String, Value>,
    context: &JsonContext<'_>,
    facts: &mut RowFacts,
) -> Result<Call, RowError> {
    let values = &context.reading.values;
    let id = read_id(present(fields, "id"), "id")?;
    let date = read_date(
        present(fields, "start_date"),
        "start_date",
        context.reading.tz,
        facts,
    )?;
    let mut call = Call::new(id, date);
    let direction = read_enum::<Direction>(present(fields, "type"), Field::Direction, values)?;
    if let Some(direction) = direction {
        call.direction = direction;
    }
    let from = read_text(present(fields, "from_number"))?;
    let to = read_text(present(fields, "to_number"))?;
    (call.allo_number, call.contact_number) = match call.direction {
        Direction::Outbound => (from, to),
        Direction::Inbound => (to, from),
    };
    call.result = read_enum::<CallResult>(present(fields, "result"), Field::Result, values)?;
    call.duration = read_minutes(present(fields, "length_in_minutes"))?;
    if let Some(tag) = read_text(present(fields, "tag"))? {
        push_mapped_tag(&mut call.tags, &tag, values);
    }
    Ok(call)
}

/// A drilldown `stage`, read as [`match_spelling`] reads the API's values;
/// `None` when absent.
fn read_stage(cell: Cell<'_>) -> Result<Option<Stage>, RowError> {
    let Some((raw, column)) = cell else {
        return Ok(None);
    };
    let Some(text) = read_text(cell)? else {
        return Ok(None);
    };
    match match_spelling(&Stage::ALL.map(Stage::as_str), &text) {
        Some(index) => Ok(Some(Stage::ALL[index])),
        None => Err(reject(
            (raw, column),
            Reason::UnknownStage,
            Some("expected one of DIAL, CONNECTED, CONVERSATION, CONVERSION".into()),
        )),
    }
}

/// A drilldown `voicemail` flag: a boolean (or `"true"`/`"false"`, read as
/// [`match_spelling`] reads the API's values); absent is false.
fn read_voicemail(cell: Cell<'_>) -> Result<bool, RowError> {
    let Some((raw, column)) = cell else {
        return Ok(false);
    };
    let flag = match raw {
        Raw::Json(Value::Bool(flag)) => Some(*flag),
        Raw::Json(Value::String(text)) => {
            match_spelling(&["false", "true"], text).map(|index| [false, true][index])
        }
        _ => None,
    };
    flag.ok_or_else(|| {
        reject(
            (raw, column),
            Reason::InvalidVoicemail,
            Some("expected true or false".into()),
        )
    })
}
