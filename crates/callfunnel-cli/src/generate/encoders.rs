//! The generated calls written out: a chunk as a canonical Polars frame (the
//! Parquet output and [`super::generate_frame`]), as CSV records and as NDJSON
//! lines. The text is written byte by byte (ids, timestamps, numbers), the
//! same bytes chrono and a JSON writer would give, for speed.

use callfunnel::model::{column, CallResult, CallType, Direction, DATE_UNIT};
use polars::prelude::*;

use super::calls::{Chunk, Row, TAG_SETS};
use super::world::World;
use super::zones::ZONES;

/// A string as a JSON string literal.
pub(super) fn json_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// A string as a CSV cell, quoted when needed.
pub(super) fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

impl World {
    /// The canonical frame of a chunk.
    pub(super) fn frame(&self, chunk: &Chunk) -> PolarsResult<DataFrame> {
        use column::*;
        let rows = &chunk.rows;
        let height = rows.len();
        let mut ids = StringChunkedBuilder::new(ID.into(), height);
        let mut contacts = StringChunkedBuilder::new(CONTACT_NUMBER.into(), height);
        let mut tags = ListStringChunkedBuilder::new(TAGS.into(), height, height);
        let mut text = Vec::with_capacity(32);
        for (offset, row) in rows.iter().enumerate() {
            text.clear();
            push_id(&mut text, chunk.first + offset as u64);
            ids.append_value(std::str::from_utf8(&text).expect("ASCII id"));
            text.clear();
            self.push_contact(&mut text, row);
            contacts.append_value(std::str::from_utf8(&text).expect("ASCII number"));
            tags.append_values_iter(TAG_SETS[usize::from(row.tags)].iter().copied());
        }
        let strings = |name: &str, values: &mut dyn Iterator<Item = Option<&str>>| {
            StringChunked::from_iter_options(name.into(), values).into_column()
        };
        let rep = |row: &Row| row.user.map(|user| &self.reps[user as usize]);
        let number = |row: &Row| &self.numbers[usize::from(row.number)];
        let dates = Int64Chunked::from_vec(
            DATE.into(),
            rows.iter().map(|row| row.date * 1_000_000).collect(),
        )
        .into_datetime(DATE_UNIT, Some(TimeZone::UTC))
        .into_column();
        let columns = vec![
            ids.finish().into_column(),
            dates,
            strings(DIRECTION, &mut rows.iter().map(|row| Some(direction(row)))),
            strings(TYPE, &mut rows.iter().map(|row| Some(call_type(row)))),
            strings(
                USER_ID,
                &mut rows.iter().map(|row| rep(row).map(|rep| rep.id.as_str())),
            ),
            strings(
                USER_NAME,
                &mut rows.iter().map(|row| rep(row).map(|rep| rep.name.as_str())),
            ),
            strings(
                USER_EMAIL,
                &mut rows
                    .iter()
                    .map(|row| rep(row).map(|rep| rep.email.as_str())),
            ),
            strings(
                ALLO_NUMBER,
                &mut rows.iter().map(|row| Some(number(row).e164)),
            ),
            strings(
                ALLO_NUMBER_LABEL,
                &mut rows.iter().map(|row| Some(number(row).label)),
            ),
            contacts.finish().into_column(),
            strings(
                RESULT,
                &mut rows.iter().map(|row| row.result.map(CallResult::as_str)),
            ),
            Int64Chunked::from_iter_values(
                DURATION.into(),
                rows.iter().map(|row| i64::from(row.duration)),
            )
            .into_column(),
            Float64Chunked::from_iter_options(
                RINGING_SECONDS.into(),
                rows.iter().map(|row| row.ringing),
            )
            .into_column(),
            tags.finish().into_column(),
        ];
        DataFrame::new(height, columns)
    }

    /// A chunk as CSV records (canonical column order, no header).
    pub(super) fn csv(&self, chunk: &Chunk) -> Vec<u8> {
        let mut out = Vec::with_capacity(chunk.rows.len() * 200);
        let mut integers = itoa::Buffer::new();
        let mut floats = ryu::Buffer::new();
        for (offset, row) in chunk.rows.iter().enumerate() {
            push_id(&mut out, chunk.first + offset as u64);
            out.push(b',');
            push_timestamp(&mut out, row.date);
            out.push(b',');
            out.extend_from_slice(direction(row).as_bytes());
            out.push(b',');
            out.extend_from_slice(call_type(row).as_bytes());
            out.push(b',');
            match row.user {
                Some(user) => out.extend_from_slice(self.reps[user as usize].csv.as_bytes()),
                None => out.extend_from_slice(b",,"),
            }
            out.push(b',');
            out.extend_from_slice(self.numbers[usize::from(row.number)].csv.as_bytes());
            out.push(b',');
            self.push_contact(&mut out, row);
            out.push(b',');
            if let Some(result) = row.result {
                out.extend_from_slice(result.as_str().as_bytes());
            }
            out.push(b',');
            out.extend_from_slice(integers.format(row.duration).as_bytes());
            out.push(b',');
            if let Some(ringing) = row.ringing {
                out.extend_from_slice(floats.format(ringing).as_bytes());
            }
            out.push(b',');
            for (index, tag) in TAG_SETS[usize::from(row.tags)].iter().enumerate() {
                if index > 0 {
                    out.push(b';');
                }
                out.extend_from_slice(tag.as_bytes());
            }
            out.push(b'\n');
        }
        out
    }

    /// A chunk as NDJSON: one flat record per line, canonical key order.
    pub(super) fn ndjson(&self, chunk: &Chunk) -> Vec<u8> {
        let mut out = Vec::with_capacity(chunk.rows.len() * 400);
        let mut integers = itoa::Buffer::new();
        let mut floats = ryu::Buffer::new();
        for (offset, row) in chunk.rows.iter().enumerate() {
            out.extend_from_slice(b"{\"id\":\"");
            push_id(&mut out, chunk.first + offset as u64);
            out.extend_from_slice(b"\",\"date\":\"");
            push_timestamp(&mut out, row.date);
            out.extend_from_slice(b"\",\"direction\":\"");
            out.extend_from_slice(direction(row).as_bytes());
            out.extend_from_slice(b"\",\"type\":\"");
            out.extend_from_slice(call_type(row).as_bytes());
            out.extend_from_slice(b"\",");
            match row.user {
                Some(user) => out.extend_from_slice(self.reps[user as usize].json.as_bytes()),
                None => out
                    .extend_from_slice(b"\"user_id\":null,\"user_name\":null,\"user_email\":null"),
            }
            out.push(b',');
            out.extend_from_slice(self.numbers[usize::from(row.number)].json.as_bytes());
            out.extend_from_slice(b",\"contact_number\":\"");
            self.push_contact(&mut out, row);
            out.extend_from_slice(b"\",\"result\":");
            match row.result {
                Some(result) => {
                    out.push(b'"');
                    out.extend_from_slice(result.as_str().as_bytes());
                    out.push(b'"');
                }
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"duration\":");
            out.extend_from_slice(integers.format(row.duration).as_bytes());
            out.extend_from_slice(b",\"ringing_seconds\":");
            match row.ringing {
                Some(ringing) => out.extend_from_slice(floats.format(ringing).as_bytes()),
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"tags\":[");
            for (index, tag) in TAG_SETS[usize::from(row.tags)].iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                out.push(b'"');
                out.extend_from_slice(tag.as_bytes());
                out.push(b'"');
            }
            out.extend_from_slice(b"]}\n");
        }
        out
    }

    /// Appends the number called, E.164.
    fn push_contact(&self, out: &mut Vec<u8>, row: &Row) {
        let (prefix, digits, _) =
            ZONES[usize::from(row.contact_zone)].contacts[usize::from(row.contact_plan)];
        out.extend_from_slice(prefix.as_bytes());
        push_padded(out, u64::from(row.contact_digits), digits as usize);
    }
}

/// The `direction` of a row.
fn direction(row: &Row) -> &'static str {
    if row.inbound {
        Direction::Inbound.as_str()
    } else {
        Direction::Outbound.as_str()
    }
}

/// The `type` of a row.
fn call_type(row: &Row) -> &'static str {
    if row.sms {
        CallType::Sms.as_str()
    } else {
        CallType::Call.as_str()
    }
}

/// Appends `value` in decimal, zero-padded to `width` digits.
fn push_padded(out: &mut Vec<u8>, mut value: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut start = digits.len();
    while value > 0 {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
    }
    out.extend_from_slice(&digits[start.min(digits.len().saturating_sub(width))..]);
}

/// Appends the id of call number `number`: `cll-0000000042`.
fn push_id(out: &mut Vec<u8>, number: u64) {
    out.extend_from_slice(b"cll-");
    push_padded(out, number, 10);
}

/// Appends an instant as `YYYY-MM-DDTHH:MM:SSZ` (years 0 to 9999).
fn push_timestamp(out: &mut Vec<u8>, seconds: i64) {
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let second_of_day = seconds.rem_euclid(86_400) as u64;
    push_padded(out, year.max(0) as u64, 4);
    out.push(b'-');
    push_padded(out, u64::from(month), 2);
    out.push(b'-');
    push_padded(out, u64::from(day), 2);
    out.push(b'T');
    push_padded(out, second_of_day / 3_600, 2);
    out.push(b':');
    push_padded(out, second_of_day / 60 % 60, 2);
    out.push(b':');
    push_padded(out, second_of_day % 60, 2);
    out.push(b'Z');
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;

    #[test]
    fn timestamps_and_padding_are_written_like_chrono() {
        for seconds in [
            0,
            -1,
            59,
            951_782_400,
            1_709_164_799,
            1_709_251_199,
            1_735_689_599,
            4_102_444_800,
            253_402_300_799,
            -62_135_596_800,
        ] {
            let mut out = Vec::new();
            push_timestamp(&mut out, seconds);
            let expected = DateTime::from_timestamp(seconds, 0)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
        let mut out = Vec::new();
        push_padded(&mut out, 0, 3);
        push_padded(&mut out, 42, 1);
        push_padded(&mut out, 7, 4);
        assert_eq!(out, b"000420007");
    }
}
