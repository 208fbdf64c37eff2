//! Reading one call from the fields of a record, whatever the source format,
//! by the value rules of [`crate::model::rules`].
//!
//! CSV cells and JSON values both reach the same readers as a [`Cell`]: the
//! raw value plus the column (or key) it came from, so that a rejected value
//! is reported as it appears in the file.

use std::borrow::Cow;
use std::str::FromStr;

use chrono::{
    DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
};
use chrono_tz::Tz;
use serde_json::Value;

use super::error::{IngestError, Reason, RowError};
use super::facts::{DateForm, RowFacts};
use super::IngestOptions;
use crate::model::rules::{
    self, decimal_to_seconds, duration_from_text, duration_from_units, ringing_from_number,
    tag_keys, text_value, DurationUnit, ValueMap,
};
use crate::model::{column, Call, CallResult, CallType, Direction, Field, UnknownValue};

/// How values are read beyond SPEC §1's fixed rules: what varies from one
/// export to another (the zone of its timestamps without offset, its own
/// values and its unit of talk time).
#[derive(Debug, Clone)]
pub(crate) struct ValueReading {
    /// Zone of timestamps without offset (`--input-tz`).
    pub tz: Tz,
    /// Values read as others (`--map-value`).
    pub values: ValueMap,
    /// Unit of `duration` (`--duration-unit`).
    pub duration_unit: DurationUnit,
}

impl ValueReading {
    /// The reading `options` ask for.
    pub fn new(options: &IngestOptions) -> Result<ValueReading, IngestError> {
        let values = ValueMap::new(&options.value_map)
            .map_err(|field| IngestError::UnmappableField { field })?;
        Ok(ValueReading {
            tz: options.input_tz,
            values,
            duration_unit: options.duration_unit,
        })
    }

    /// A reading in zone `tz`, every value as written, durations in seconds.
    #[cfg(test)]
    pub fn in_zone(tz: Tz) -> ValueReading {
        ValueReading {
            tz,
            values: ValueMap::default(),
            duration_unit: DurationUnit::Seconds,
        }
    }

    /// Whether values are read as SPEC §1 writes them (no value mapped,
    /// durations in seconds): what the column-wise readers of canonical
    /// form and the store take.
    pub fn is_as_written(&self) -> bool {
        self.values.is_empty() && self.duration_unit == DurationUnit::Seconds
    }
}

/// The column (or JSON key) each field is read from, after `--map`.
#[derive(Debug, Clone)]
pub(crate) struct ColumnNames {
    names: Vec<String>,
    mapped: Vec<bool>,
}

impl ColumnNames {
    /// Applies `--map FIELD=COLUMN` pairs (a later pair for the same field wins).
    pub fn new(map: &[(String, String)]) -> Result<Self, IngestError> {
        let mut names: Vec<String> = Field::ALL.iter().map(|f| f.name().to_string()).collect();
        let mut mapped = vec![false; names.len()];
        for (field, column) in map {
            let index = column::ALL
                .iter()
                .position(|name| *name == field.trim())
                .ok_or_else(|| IngestError::UnknownField {
                    field: field.clone(),
                    column: column.clone(),
                })?;
            names[index] = column.trim().to_string();
            mapped[index] = true;
        }
        Ok(ColumnNames { names, mapped })
    }

    /// The column `field` is read from.
    pub fn get(&self, field: Field) -> &str {
        &self.names[field as usize]
    }

    /// Whether `field` was given a column with `--map`.
    pub fn is_mapped(&self, field: Field) -> bool {
        self.mapped[field as usize]
    }

    /// Whether some field is read from a column not of its own name.
    pub fn is_any_mapped(&self) -> bool {
        Field::ALL
            .into_iter()
            .any(|field| self.get(field) != field.name())
    }
}

/// A raw value: a CSV cell or a JSON value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Raw<'a> {
    /// A CSV cell, not yet checked for UTF-8, or a JSON string read in
    /// place (read as [`Raw::Json`] reads a string).
    Bytes(&'a [u8]),
    /// A JSON value.
    Json(&'a Value),
}

/// A present value and the column (or key) it came from.
pub(crate) type Cell<'a> = Option<(Raw<'a>, &'a str)>;

impl<'a> Raw<'a> {
    /// The value as it appears in the file, for messages.
    fn shown(self) -> String {
        match self {
            Raw::Bytes(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            Raw::Json(Value::String(text)) => text.clone(),
            Raw::Json(value) => value.to_string(),
        }
    }

    /// The trimmed text of a scalar value; `None` when empty or `null`.
    ///
    /// JSON numbers and booleans read as their JSON text.
    fn text(self) -> Result<Option<Cow<'a, str>>, (Reason, Option<String>)> {
        let text: Cow<'a, str> = match self {
            Raw::Bytes(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => Cow::Borrowed(text),
                Err(_) => return Err((Reason::InvalidText, Some("not valid UTF-8".into()))),
            },
            Raw::Json(Value::Null) => return Ok(None),
            Raw::Json(Value::String(text)) => Cow::Borrowed(text.as_str()),
            Raw::Json(value @ (Value::Number(_) | Value::Bool(_))) => Cow::Owned(value.to_string()),
            Raw::Json(_) => {
                return Err((Reason::InvalidText, Some("expected a string".into())));
            }
        };
        Ok(match text {
            Cow::Borrowed(text) => text_value(text).map(Cow::Borrowed),
            Cow::Owned(text) => text_value(&text).map(|value| Cow::Owned(value.to_string())),
        })
    }
}

/// A rejected cell.
pub(crate) fn reject(
    (raw, column): (Raw<'_>, &str),
    reason: Reason,
    detail: Option<String>,
) -> RowError {
    RowError {
        column: column.to_string(),
        value: raw.shown(),
        reason,
        detail,
    }
}

/// A required field that is absent; `column` is where it was looked for.
fn absent(column: &str, reason: Reason) -> RowError {
    RowError {
        column: column.to_string(),
        value: String::new(),
        reason,
        detail: None,
    }
}

/// The trimmed text of a cell, `None` when absent or empty.
pub(crate) fn read_text(cell: Cell<'_>) -> Result<Option<String>, RowError> {
    Ok(cell_text(cell)?.map(Cow::into_owned))
}

/// [`read_text`] borrowing the cell's text where it can.
fn cell_text(cell: Cell<'_>) -> Result<Option<Cow<'_, str>>, RowError> {
    let Some(cell) = cell else { return Ok(None) };
    cell.0
        .text()
        .map_err(|(reason, detail)| reject(cell, reason, detail))
}

/// The call id; `column` names where it was looked for.
pub(crate) fn read_id(cell: Cell<'_>, column: &str) -> Result<String, RowError> {
    rules::required(Field::Id, read_text(cell)?).map_err(|reason| absent(column, reason))
}

/// The dial instant; a timestamp without offset is read in `tz` (how it
/// was written is noted in `facts`).
pub(crate) fn read_date(
    cell: Cell<'_>,
    column: &str,
    tz: Tz,
    facts: &mut RowFacts,
) -> Result<DateTime<Utc>, RowError> {
    let Some(cell) = cell else {
        return rules::required(Field::Date, None).map_err(|reason| absent(column, reason));
    };
    let text = match cell.0 {
        Raw::Json(Value::Null) => None,
        Raw::Json(Value::String(text)) => Some(Cow::Borrowed(text.trim())),
        Raw::Json(_) => {
            return Err(reject(
                cell,
                Reason::BadTimestamp,
                Some("expected a string".into()),
            ));
        }
        Raw::Bytes(_) => cell
            .0
            .text()
            .map_err(|(reason, detail)| reject(cell, reason, detail))?,
    };
    match text.as_deref().and_then(text_value) {
        None => rules::required(Field::Date, None).map_err(|reason| absent(cell.1, reason)),
        Some(text) => match parse_timestamp(text, tz) {
            Ok((instant, form)) => {
                facts.date = form;
                Ok(instant)
            }
            Err(error) => {
                facts.date = error.form;
                Err(reject(cell, Reason::BadTimestamp, Some(error.detail)))
            }
        },
    }
}

/// A value of enum `field` (mapped by `values`, then read as
/// [`rules::match_spelling`] reads the API's values); `None` when absent or
/// empty.
pub(crate) fn read_enum<T: FromStr<Err = UnknownValue>>(
    cell: Cell<'_>,
    field: Field,
    values: &ValueMap,
) -> Result<Option<T>, RowError> {
    let Some(present) = cell else { return Ok(None) };
    let Some(text) = cell_text(cell)? else {
        return Ok(None);
    };
    let Some(text) = text_value(values.apply(field, &text)) else {
        return Ok(None);
    };
    text.parse::<T>().map(Some).map_err(|err| {
        let detail = format!(
            "expected one of {}",
            err.expected.trim_end().replace(' ', ", ")
        );
        reject(present, rules::unknown_value(field), Some(detail))
    })
}

/// The talk time in whole seconds, from a number of `unit`s (a JSON number
/// read as its text); 0 when absent or empty.
pub(crate) fn read_duration(cell: Cell<'_>, unit: DurationUnit) -> Result<i64, RowError> {
    let Some(cell) = cell else { return Ok(0) };
    let seconds = match cell.0 {
        Raw::Json(Value::Number(number)) => match number.as_i64() {
            Some(whole) => duration_from_units(whole, unit),
            None => duration_from_text(&number.to_string(), unit),
        },
        Raw::Json(Value::Bool(_) | Value::Array(_) | Value::Object(_)) => {
            Err(Reason::NonNumericDuration)
        }
        _ => match cell
            .0
            .text()
            .map_err(|(reason, detail)| reject(cell, reason, detail))?
        {
            None => return Ok(0),
            Some(text) => duration_from_text(&text, unit),
        },
    };
    seconds.map_err(|reason| reject(cell, reason, None))
}

/// A talk time given in minutes (v1's `length_in_minutes`), as whole seconds:
/// × 60, rounded half away from zero, on the decimal as written (SPEC §1.1);
/// 0 when absent or empty.
pub(crate) fn read_minutes(cell: Cell<'_>) -> Result<i64, RowError> {
    let Some(cell) = cell else { return Ok(0) };
    let text = match cell.0 {
        Raw::Json(Value::Bool(_) | Value::Array(_) | Value::Object(_)) => {
            return Err(reject(cell, Reason::NonNumericDuration, None));
        }
        raw => raw
            .text()
            .map_err(|(reason, detail)| reject(cell, reason, detail))?,
    };
    match text {
        None => Ok(0),
        Some(text) => decimal_to_seconds(&text, DurationUnit::Minutes)
            .map_err(|reason| reject(cell, reason, None)),
    }
}

/// The ringing time in seconds; `None` when absent or empty.
pub(crate) fn read_ringing(cell: Cell<'_>) -> Result<Option<f64>, RowError> {
    let Some(cell) = cell else { return Ok(None) };
    let number = match cell.0 {
        Raw::Json(Value::Number(number)) => number.as_f64(),
        Raw::Json(Value::Bool(_) | Value::Array(_) | Value::Object(_)) => None,
        _ => match cell
            .0
            .text()
            .map_err(|(reason, detail)| reject(cell, reason, detail))?
        {
            None => return Ok(None),
            Some(text) => text.parse::<f64>().ok(),
        },
    };
    let seconds = number.map_or(Err(Reason::NonNumericRingingSeconds), ringing_from_number);
    seconds.map(Some).map_err(|reason| {
        let detail = (reason == Reason::RingingSecondsTooLarge).then(rules::ringing_bound);
        reject(cell, reason, detail)
    })
}

/// Tag keys: a text in one of the forms of [`tag_keys`] (its form noted in
/// `facts`) or a JSON array of strings; each mapped by `values`, then
/// trimmed and lower-cased, empty ones dropped.
pub(crate) fn read_tags(
    cell: Cell<'_>,
    values: &ValueMap,
    facts: &mut RowFacts,
) -> Result<Vec<String>, RowError> {
    let Some(cell) = cell else {
        return Ok(Vec::new());
    };
    match cell.0 {
        Raw::Json(Value::Array(items)) => {
            let mut tags = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(tag) => push_mapped_tag(&mut tags, tag, values),
                    Value::Null => {}
                    _ => {
                        return Err(reject(
                            cell,
                            Reason::InvalidTags,
                            Some("expected strings".into()),
                        ))
                    }
                }
            }
            Ok(tags)
        }
        Raw::Json(Value::Null) => Ok(Vec::new()),
        Raw::Json(Value::Number(_) | Value::Bool(_) | Value::Object(_)) => Err(reject(
            cell,
            Reason::InvalidTags,
            Some("expected a string or an array of strings".into()),
        )),
        _ => {
            let text = cell
                .0
                .text()
                .map_err(|(reason, detail)| reject(cell, reason, detail))?;
            let mut tags = Vec::new();
            facts.tags = tag_keys(text.as_deref().unwrap_or_default(), |key| {
                push_mapped_tag(&mut tags, key, values)
            });
            Ok(tags)
        }
    }
}

/// Appends one tag, trimmed and lower-cased, unless it is empty.
pub(crate) fn push_tag(tags: &mut Vec<String>, tag: &str) {
    tags.extend(crate::model::normalize_tag(tag));
}

/// Appends one tag key as `values` maps it, trimmed and lower-cased, unless
/// it is empty.
pub(crate) fn push_mapped_tag(tags: &mut Vec<String>, key: &str, values: &ValueMap) {
    push_tag(tags, values.apply(Field::Tags, key.trim()));
}

/// The value of one field, as read from a cell.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldValue {
    /// `id`.
    Id(String),
    /// `date`.
    Date(DateTime<Utc>),
    /// `direction`, when given.
    Direction(Option<Direction>),
    /// `type`, when given.
    Type(Option<CallType>),
    /// `result`, when given.
    Result(Option<CallResult>),
    /// A text field (user, numbers, label), when given.
    Text(Option<String>),
    /// `duration` in seconds.
    Duration(i64),
    /// `ringing_seconds`, when known.
    Ringing(Option<f64>),
    /// `tags`, lower case.
    Tags(Vec<String>),
}

impl FieldValue {
    /// The value as canonical text (enums in API case), for the text fields.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            FieldValue::Id(id) => Some(id),
            FieldValue::Direction(direction) => direction.map(Direction::as_str),
            FieldValue::Type(call_type) => call_type.map(CallType::as_str),
            FieldValue::Result(result) => result.map(CallResult::as_str),
            FieldValue::Text(text) => text.as_deref(),
            _ => None,
        }
    }
}

/// Reads `field` from `cell` by the rules of SPEC §1 and §1.2 as `reading`
/// says, the same for every input, noting in `facts` how it was written;
/// `column` names where a required field was looked for.
pub(crate) fn read_field(
    field: Field,
    cell: Cell<'_>,
    column: &str,
    reading: &ValueReading,
    facts: &mut RowFacts,
) -> Result<FieldValue, RowError> {
    let values = &reading.values;
    Ok(match field {
        Field::Id => FieldValue::Id(read_id(cell, column)?),
        Field::Date => FieldValue::Date(read_date(cell, column, reading.tz, facts)?),
        Field::Direction => FieldValue::Direction(read_enum(cell, field, values)?),
        Field::Type => FieldValue::Type(read_enum(cell, field, values)?),
        Field::Result => FieldValue::Result(read_enum(cell, field, values)?),
        Field::UserId
        | Field::UserName
        | Field::UserEmail
        | Field::AlloNumber
        | Field::AlloNumberLabel
        | Field::ContactNumber => FieldValue::Text(read_text(cell)?),
        Field::Duration => FieldValue::Duration(read_duration(cell, reading.duration_unit)?),
        Field::RingingSeconds => FieldValue::Ringing(read_ringing(cell)?),
        Field::Tags => FieldValue::Tags(read_tags(cell, values, facts)?),
    })
}

/// Reads a whole call from a flat record (CSV names, after `--map`), as
/// `reading` says, noting in `facts` how its values were written.
///
/// `cell` gives the value of a field, already looked up in the record.
pub(crate) fn build_call<'a>(
    cell: impl Fn(Field) -> Cell<'a>,
    names: &ColumnNames,
    reading: &ValueReading,
    facts: &mut RowFacts,
) -> Result<Call, RowError> {
    let id = read_id(cell(Field::Id), names.get(Field::Id))?;
    let date = read_date(cell(Field::Date), names.get(Field::Date), reading.tz, facts)?;
    let mut call = Call::new(id, date);
    for field in &Field::ALL[2..] {
        let value = read_field(*field, cell(*field), names.get(*field), reading, facts)?;
        set_field(&mut call, *field, value);
    }
    Ok(call)
}

/// Stores a field's value in `call` (an absent enum keeps its default).
fn set_field(call: &mut Call, field: Field, value: FieldValue) {
    match value {
        FieldValue::Id(id) => call.id = id,
        FieldValue::Date(date) => call.date = date,
        FieldValue::Direction(direction) => call.direction = direction.unwrap_or(call.direction),
        FieldValue::Type(call_type) => call.call_type = call_type.unwrap_or(call.call_type),
        FieldValue::Result(result) => call.result = result,
        FieldValue::Text(text) => match field {
            Field::UserId => call.user_id = text,
            Field::UserName => call.user_name = text,
            Field::UserEmail => call.user_email = text,
            Field::AlloNumber => call.allo_number = text,
            Field::AlloNumberLabel => call.allo_number_label = text,
            _ => call.contact_number = text,
        },
        FieldValue::Duration(duration) => call.duration = duration,
        FieldValue::Ringing(ringing) => call.ringing_seconds = ringing,
        FieldValue::Tags(tags) => call.tags = tags,
    }
}

/// Parses a timestamp: RFC 3339 (`T` or a space between date and time,
/// optional fractional seconds, `Z` or a `±HH:MM` offset), or the same
/// without offset, read in `tz`. Also accepted: no seconds (`09:30`), a
/// `±HHMM` or `±HH` offset, a space before the offset, and `UTC` for `Z`.
///
/// Gives the instant and how it was written; the error is a short
/// explanation for the message.
pub(crate) fn parse_timestamp(
    text: &str,
    tz: Tz,
) -> Result<(DateTime<Utc>, DateForm), TimestampError> {
    parse_written_timestamp(text, tz).map_err(|detail| TimestampError {
        detail,
        form: DateForm::WithOffset,
    })?
}

/// The instant of a timestamp written with an offset (or `Z`), in
/// microseconds since the epoch as the call frame holds it: exactly what
/// [`parse_timestamp`] reads from such a text, whatever the input time
/// zone. `None` for any other text, a timestamp without an offset included
/// (its instant depends on the zone, and reading it is a fact to report).
pub(crate) fn instant_with_offset_micros(text: &str) -> Option<i64> {
    match parse_written_timestamp(text, Tz::UTC) {
        Ok(Ok((instant, DateForm::WithOffset))) => Some(instant.timestamp_micros()),
        _ => None,
    }
}

/// A timestamp that cannot be read: why, and how it was written (a
/// wall-clock time in a daylight-saving gap, or not).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TimestampError {
    /// A short explanation for the message.
    pub detail: String,
    /// How it was written.
    pub form: DateForm,
}

/// [`parse_timestamp`]: the timestamp's form checked (outer error), then its
/// instant found (inner result).
fn parse_written_timestamp(
    text: &str,
    tz: Tz,
) -> Result<Result<(DateTime<Utc>, DateForm), TimestampError>, String> {
    const EXPECTED: &str = "expected an RFC 3339 timestamp like 2024-03-04T09:30:00Z";
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let slice = bytes.get(range)?;
        slice.iter().try_fold(0u32, |acc, b| {
            b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
        })
    };
    let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return Err(EXPECTED.into());
    };
    if bytes[4] != b'-' || bytes[7] != b'-' {
        return Err(EXPECTED.into());
    }
    let Some(date) = NaiveDate::from_ymd_opt(year as i32, month, day) else {
        return Err("no such calendar date".into());
    };
    if bytes.len() == 10 {
        return Err("a date without a time of day".into());
    }
    if !matches!(bytes[10], b'T' | b't' | b' ') {
        return Err(EXPECTED.into());
    }
    let (Some(hour), Some(minute)) = (digits(11..13), digits(14..16)) else {
        return Err(EXPECTED.into());
    };
    if bytes[13] != b':' {
        return Err(EXPECTED.into());
    }
    let mut pos = 16;
    let mut second = 0;
    let mut nano = 0;
    if bytes.get(pos) == Some(&b':') {
        second = digits(17..19).ok_or(EXPECTED)?;
        pos = 19;
        if matches!(bytes.get(pos), Some(b'.' | b',')) {
            pos += 1;
            let start = pos;
            while bytes.get(pos).is_some_and(u8::is_ascii_digit) {
                if pos - start < 9 {
                    nano = nano * 10 + u32::from(bytes[pos] - b'0');
                }
                pos += 1;
            }
            if pos == start {
                return Err(EXPECTED.into());
            }
            nano *= 10u32.pow(9u32.saturating_sub((pos - start) as u32));
        }
    }
    if second == 60 {
        // A leap second, as chrono represents it.
        second = 59;
        nano += 1_000_000_000;
    }
    let Some(time) = NaiveTime::from_hms_nano_opt(hour, minute, second, nano) else {
        return Err("no such time of day".into());
    };
    let local = NaiveDateTime::new(date, time);
    let with_offset = |instant: DateTime<Utc>| Ok(Ok((instant, DateForm::WithOffset)));
    match text[pos..].trim_start() {
        "" => Ok(localize(local, tz)),
        "Z" | "z" | "UTC" => with_offset(local.and_utc()),
        offset => {
            let seconds = parse_offset(offset)
                .ok_or_else(|| format!("unexpected `{offset}` after the time"))?;
            let offset = FixedOffset::east_opt(seconds).ok_or("offset out of range")?;
            match offset.from_local_datetime(&local) {
                LocalResult::Single(instant) => with_offset(instant.with_timezone(&Utc)),
                _ => Err("out of range".into()),
            }
        }
    }
}

/// `+HH:MM`, `+HHMM` or `+HH` (or `-`) as seconds east of UTC.
fn parse_offset(text: &str) -> Option<i32> {
    let bytes = text.as_bytes();
    let sign = match bytes.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let two = |at: usize| -> Option<i32> {
        let (a, b) = (*bytes.get(at)?, *bytes.get(at + 1)?);
        (a.is_ascii_digit() && b.is_ascii_digit())
            .then(|| i32::from(a - b'0') * 10 + i32::from(b - b'0'))
    };
    let hours = two(1)?;
    let minutes = match bytes.len() {
        3 => 0,
        5 => two(3)?,
        6 if bytes[3] == b':' => two(4)?,
        _ => return None,
    };
    (hours < 24 && minutes < 60).then_some(sign * (hours * 3600 + minutes * 60))
}

/// Reads a wall-clock time in `tz` (SPEC §1.1, a `date` without offset): a
/// time skipped by a DST change is an error, a repeated one takes the
/// earlier instant (its form [`DateForm::InFold`]).
pub(crate) fn localize(
    local: NaiveDateTime,
    tz: Tz,
) -> Result<(DateTime<Utc>, DateForm), TimestampError> {
    if tz == Tz::UTC {
        return Ok((local.and_utc(), DateForm::WithoutOffset));
    }
    match tz.from_local_datetime(&local) {
        LocalResult::Single(instant) => Ok((instant.with_timezone(&Utc), DateForm::WithoutOffset)),
        LocalResult::Ambiguous(first, second) => Ok((
            first.with_timezone(&Utc).min(second.with_timezone(&Utc)),
            DateForm::InFold,
        )),
        LocalResult::None => Err(TimestampError {
            detail: format!(
                "this local time does not exist in {tz}: clocks skip it for daylight saving time"
            ),
            form: DateForm::InGap,
        }),
    }
}
