//! Reading one call from the fields of a record, whatever the source format.
//!
//! CSV cells and JSON values both reach the same readers as a [`Cell`]: the
//! raw value plus the column (or key) it came from, so that a rejected value
//! is reported as it appears in the file.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{
    DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
};
use chrono_tz::Tz;
use serde_json::Value;

use super::error::{IngestError, Reason, RowError};
use crate::engine::MAX_RINGING_SECONDS;
use crate::model::{column, Call, CallColumns, CallResult, CallType, Direction, UnknownValue};

/// A call field of SPEC §1, in canonical column order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Id,
    Date,
    Direction,
    Type,
    UserId,
    UserName,
    UserEmail,
    AlloNumber,
    AlloNumberLabel,
    ContactNumber,
    Result,
    Duration,
    RingingSeconds,
    Tags,
}

impl Field {
    /// Every field, in canonical order (the order of [`column::ALL`]).
    pub const ALL: [Field; 14] = [
        Field::Id,
        Field::Date,
        Field::Direction,
        Field::Type,
        Field::UserId,
        Field::UserName,
        Field::UserEmail,
        Field::AlloNumber,
        Field::AlloNumberLabel,
        Field::ContactNumber,
        Field::Result,
        Field::Duration,
        Field::RingingSeconds,
        Field::Tags,
    ];

    /// The SPEC §1 name, which is also the canonical column name.
    pub fn name(self) -> &'static str {
        column::ALL[self as usize]
    }

    /// Whether a CSV or Parquet input must have this column.
    pub fn is_required(self) -> bool {
        matches!(self, Field::Id | Field::Date)
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
    /// A CSV cell, not yet checked for UTF-8.
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
        let trimmed = match &text {
            Cow::Borrowed(text) => Cow::Borrowed(text.trim()),
            Cow::Owned(text) => Cow::Owned(text.trim().to_string()),
        };
        Ok((!trimmed.is_empty()).then_some(trimmed))
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
    let Some(cell) = cell else { return Ok(None) };
    match cell.0.text() {
        Ok(text) => Ok(text.map(Cow::into_owned)),
        Err((reason, detail)) => Err(reject(cell, reason, detail)),
    }
}

/// The call id; `column` names where it was looked for.
pub(crate) fn read_id(cell: Cell<'_>, column: &str) -> Result<String, RowError> {
    read_text(cell)?.ok_or_else(|| absent(column, Reason::MissingId))
}

/// The dial instant; a timestamp without offset is read in `tz`.
pub(crate) fn read_date(cell: Cell<'_>, column: &str, tz: Tz) -> Result<DateTime<Utc>, RowError> {
    let Some(cell) = cell else {
        return Err(absent(column, Reason::MissingDate));
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
    match text.as_deref() {
        None | Some("") => Err(absent(cell.1, Reason::MissingDate)),
        Some(text) => parse_timestamp(text, tz)
            .map_err(|detail| reject(cell, Reason::BadTimestamp, Some(detail))),
    }
}

/// An enum field (case-insensitive); `None` when absent or empty.
pub(crate) fn read_enum<T: FromStr<Err = UnknownValue>>(
    cell: Cell<'_>,
    reason: Reason,
) -> Result<Option<T>, RowError> {
    let Some(present) = cell else { return Ok(None) };
    let Some(text) = read_text(cell)? else {
        return Ok(None);
    };
    text.parse::<T>().map(Some).map_err(|err| {
        let detail = format!(
            "expected one of {}",
            err.expected.trim_end().replace(' ', ", ")
        );
        reject(present, reason, Some(detail))
    })
}

/// The talk time in whole seconds; 0 when absent or empty.
pub(crate) fn read_duration(cell: Cell<'_>) -> Result<i64, RowError> {
    let Some(cell) = cell else { return Ok(0) };
    let number = match cell.0 {
        Raw::Json(Value::Number(number)) => match number.as_i64() {
            Some(whole) => Ok(whole),
            None => whole_seconds(number.as_f64().unwrap_or(f64::NAN)),
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
            Some(text) => match text.parse::<i64>() {
                Ok(whole) => Ok(whole),
                Err(_) => match text.parse::<f64>() {
                    Ok(number) => whole_seconds(number),
                    Err(_) => Err(Reason::NonNumericDuration),
                },
            },
        },
    };
    match number {
        Ok(seconds) if seconds < 0 => Err(reject(cell, Reason::NegativeDuration, None)),
        Ok(seconds) => Ok(seconds),
        Err(reason) => Err(reject(cell, reason, None)),
    }
}

/// A floating-point duration that must be a whole number of seconds.
fn whole_seconds(number: f64) -> Result<i64, Reason> {
    if !number.is_finite() || number.abs() >= 9.0e18 {
        Err(Reason::NonNumericDuration)
    } else if number < 0.0 {
        Err(Reason::NegativeDuration)
    } else if number.fract() != 0.0 {
        Err(Reason::NonIntegerDuration)
    } else {
        Ok(number as i64)
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
    match number {
        Some(seconds) if !seconds.is_finite() => {
            Err(reject(cell, Reason::NonNumericRingingSeconds, None))
        }
        Some(seconds) if seconds < 0.0 => Err(reject(cell, Reason::NegativeRingingSeconds, None)),
        Some(seconds) if seconds > MAX_RINGING_SECONDS => Err(reject(
            cell,
            Reason::RingingSecondsTooLarge,
            Some(format!("at most {MAX_RINGING_SECONDS:e}")),
        )),
        // `abs` turns a -0.0 into 0.0.
        Some(seconds) => Ok(Some(seconds.abs())),
        None => Err(reject(cell, Reason::NonNumericRingingSeconds, None)),
    }
}

/// Tag keys: a `;`-separated string or a JSON array of strings; each trimmed,
/// lower-cased, empty ones dropped.
pub(crate) fn read_tags(cell: Cell<'_>) -> Result<Vec<String>, RowError> {
    let Some(cell) = cell else {
        return Ok(Vec::new());
    };
    match cell.0 {
        Raw::Json(Value::Array(items)) => {
            let mut tags = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(tag) => push_tag(&mut tags, tag),
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
            for piece in text.as_deref().unwrap_or_default().split(';') {
                push_tag(&mut tags, piece);
            }
            Ok(tags)
        }
    }
}

/// Appends one tag, trimmed and lower-cased, unless it is empty.
pub(crate) fn push_tag(tags: &mut Vec<String>, tag: &str) {
    tags.extend(crate::model::normalize_tag(tag));
}

/// Reads a whole call from a flat record (CSV names, after `--map`).
///
/// `cell` gives the value of a field, already looked up in the record.
pub(crate) fn build_call<'a>(
    cell: impl Fn(Field) -> Cell<'a>,
    names: &ColumnNames,
    tz: Tz,
) -> Result<Call, RowError> {
    let id = read_id(cell(Field::Id), names.get(Field::Id))?;
    let date = read_date(cell(Field::Date), names.get(Field::Date), tz)?;
    let mut call = Call::new(id, date);
    if let Some(direction) =
        read_enum::<Direction>(cell(Field::Direction), Reason::UnknownDirection)?
    {
        call.direction = direction;
    }
    if let Some(call_type) = read_enum::<CallType>(cell(Field::Type), Reason::UnknownType)? {
        call.call_type = call_type;
    }
    call.user_id = read_text(cell(Field::UserId))?;
    call.user_name = read_text(cell(Field::UserName))?;
    call.user_email = read_text(cell(Field::UserEmail))?;
    call.allo_number = read_text(cell(Field::AlloNumber))?;
    call.allo_number_label = read_text(cell(Field::AlloNumberLabel))?;
    call.contact_number = read_text(cell(Field::ContactNumber))?;
    call.result = read_enum::<CallResult>(cell(Field::Result), Reason::UnknownResult)?;
    call.duration = read_duration(cell(Field::Duration))?;
    call.ringing_seconds = read_ringing(cell(Field::RingingSeconds))?;
    call.tags = read_tags(cell(Field::Tags))?;
    Ok(call)
}

/// Parses a timestamp: RFC 3339 (`T` or a space between date and time,
/// optional fractional seconds, `Z` or a `±HH:MM` offset), or the same
/// without offset, read in `tz`. Also accepted: no seconds (`09:30`), a
/// `±HHMM` or `±HH` offset, a space before the offset, and `UTC` for `Z`.
///
/// The error is a short explanation for the message.
pub(crate) fn parse_timestamp(text: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
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
    match text[pos..].trim_start() {
        "" => localize(local, tz),
        "Z" | "z" | "UTC" => Ok(local.and_utc()),
        offset => {
            let seconds = parse_offset(offset)
                .ok_or_else(|| format!("unexpected `{offset}` after the time"))?;
            let offset = FixedOffset::east_opt(seconds).ok_or("offset out of range")?;
            match offset.from_local_datetime(&local) {
                LocalResult::Single(instant) => Ok(instant.with_timezone(&Utc)),
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

/// Reads a wall-clock time in `tz`: a time skipped by a DST change is an
/// error, a repeated one takes the earlier instant.
fn localize(local: NaiveDateTime, tz: Tz) -> Result<DateTime<Utc>, String> {
    if tz == Tz::UTC {
        return Ok(local.and_utc());
    }
    match tz.from_local_datetime(&local) {
        LocalResult::Single(instant) => Ok(instant.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, second) => {
            Ok(first.with_timezone(&Utc).min(second.with_timezone(&Utc)))
        }
        LocalResult::None => Err(format!(
            "this local time does not exist in {tz}: clocks skip it for daylight saving time"
        )),
    }
}

/// Collects the calls of consecutive CSV and JSON files, and what was skipped.
pub(crate) struct Sink {
    /// The calls read so far.
    pub columns: CallColumns,
    /// Rows read, valid or not.
    pub rows_read: u64,
    /// Rows skipped, by reason (only with `skip_invalid`).
    pub skipped: BTreeMap<String, u64>,
    /// Skip bad rows instead of failing.
    skip_invalid: bool,
}

impl Sink {
    /// An empty sink.
    pub fn new(skip_invalid: bool) -> Self {
        Sink {
            columns: CallColumns::default(),
            rows_read: 0,
            skipped: BTreeMap::new(),
            skip_invalid,
        }
    }

    /// Takes one line of `file` that holds no readable record (a CSV record
    /// with the wrong number of fields, an NDJSON line that is not one JSON
    /// value): counts it as skipped under `reason`, or stops with a
    /// malformed-input error at that line.
    pub fn reject_line(
        &mut self,
        reason: Reason,
        file: &str,
        line: u64,
        message: String,
    ) -> Result<(), IngestError> {
        self.rows_read += 1;
        if !self.skip_invalid {
            return Err(IngestError::Malformed {
                file: file.to_string(),
                line,
                message,
            });
        }
        *self.skipped.entry(reason.as_str().to_string()).or_default() += 1;
        Ok(())
    }

    /// Takes one row read from `file` at `line`: keeps it, counts it as
    /// skipped, or stops with its error.
    pub fn accept(
        &mut self,
        file: &str,
        line: u64,
        row: Result<Call, RowError>,
    ) -> Result<(), IngestError> {
        self.rows_read += 1;
        match row {
            Ok(call) => {
                self.columns.push(call);
                Ok(())
            }
            Err(error) if self.skip_invalid => {
                *self
                    .skipped
                    .entry(error.reason.as_str().to_string())
                    .or_default() += 1;
                Ok(())
            }
            Err(error) => Err(IngestError::InvalidRow(Box::new(error.locate(file, line)))),
        }
    }
}
