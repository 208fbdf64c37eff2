//! The NDJSON lines worth parsing when only a window's calls are kept: the
//! counterpart, for flat JSON records, of the CSV lines picked by
//! [`super::csv::window_lines`].
//!
//! Most calls of a long export fall outside a request's window, and parsing
//! them is most of the cost of reading it. A line's bytes are looked at
//! first: when they show, by rules stricter than the JSON reader's, that it
//! holds one flat record whose call that reader would accept, with nothing
//! to note of how its values were written, the line is left out if the call
//! is dated outside the window and its id does not repeat (the reader would
//! have accepted it, then the window would have dropped it), and otherwise
//! its call is built from the values already found, by the reader's own
//! rules. Every other line (with an escape, a nested value, an exponent, a
//! key given twice, a value off canonical form…) is parsed as before, so
//! looking first changes neither the calls kept nor which lines are
//! refused.

use std::sync::Arc;

use crate::duplicates::RepeatedIdHashes;
use crate::ingest::csv::window_lines::{
    all_digits, instant_with_offset, is_plain_decimal, surely_canonical,
};
use crate::ingest::facts::RowFacts;
use crate::ingest::fields::{build_call, Raw, ValueReading};
use crate::ingest::flat_json::{same_bytes, FlatColumns};
use crate::ingest::part::Window;
use crate::ingest::picking::OutsideWindow;
use crate::model::{Call, Field};

/// Picks the NDJSON lines to parse for a window.
pub(super) struct WindowRecords<'n> {
    /// The calls it may leave out (the ids known to repeat as repeating).
    outside: OutsideWindow,
    /// The keys of the fields (after `--map`).
    columns: FlatColumns<'n>,
    /// How values are read (as written: a picker is made for no other).
    reading: &'n ValueReading,
}

/// What the picker makes of a line.
#[derive(Debug, PartialEq)]
pub(super) enum Picked<'l> {
    /// A call to leave out.
    LeftOut(LeftOut<'l>),
    /// A call to keep, built from the line's values as the reader builds
    /// it, with nothing to note of how they were written.
    Read(Box<Call>),
    /// A line for the reader to parse.
    ToParse,
}

/// The call of a line that may be left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct LeftOut<'l> {
    /// Its date, in microseconds since the epoch.
    pub date: i64,
    /// Its id, as the line writes it (and the reader reads it).
    pub id: &'l [u8],
}

impl<'n> WindowRecords<'n> {
    /// A picker for records whose fields have the keys `columns`, their
    /// values read as `reading` says (as written), keeping the calls of
    /// `window` and those whose id's hash is in `repeated`; `None` when
    /// values are not read as written.
    pub fn new(
        columns: FlatColumns<'n>,
        reading: &'n ValueReading,
        window: Window,
        repeated: Arc<RepeatedIdHashes>,
    ) -> Option<Self> {
        reading.is_as_written().then(|| WindowRecords {
            outside: OutsideWindow::new(window, repeated),
            columns,
            reading,
        })
    }

    /// What to do with `line` (without the blanks around it).
    pub fn pick<'l>(&self, line: &'l [u8]) -> Picked<'l> {
        let Some(record) = self.canonical_record(line) else {
            return Picked::ToParse;
        };
        if self.outside.leaves_out(record.date, record.id) {
            let (date, id) = (record.date, record.id);
            return Picked::LeftOut(LeftOut { date, id });
        }
        match self.call_of(&record.values) {
            Some(call) => Picked::Read(Box::new(call)),
            None => Picked::ToParse,
        }
    }

    /// The call the reader builds from `values`, when it notes nothing of
    /// how they were written.
    fn call_of(&self, values: &FieldValues<'_>) -> Option<Call> {
        let names = self.columns.names();
        let cell = |field: Field| {
            let raw = values[field as usize].and_then(Scalar::raw)?;
            Some((raw, names.get(field)))
        };
        let mut facts = RowFacts::default();
        let call = build_call(cell, names, self.reading, &mut facts).ok()?;
        (facts == RowFacts::default()).then_some(call)
    }

    /// The record on `line` when it is one flat JSON object whose every
    /// field's value is surely read as written, with an id and a date with
    /// an offset.
    fn canonical_record<'l>(&self, line: &'l [u8]) -> Option<CanonicalRecord<'l>> {
        let mut cursor = Cursor::new(line)?;
        cursor.expect(b'{')?;
        // The columns given, a bit each.
        let mut given = 0u64;
        let mut values: FieldValues<'l> = [None; Field::ALL.len()];
        let (mut date, mut id) = (None, None);
        let mut next = 0;
        loop {
            let (key, index) = cursor.key(&self.columns, next)?;
            cursor.expect(b':')?;
            let value = cursor.scalar()?;
            // A nested `user` may give the user fields: for the reader.
            if key == b"user" {
                return None;
            }
            if let Some(index) = index {
                // A key given twice: for the reader.
                let bit = 1u64.checked_shl(index as u32)?;
                if given & bit != 0 {
                    return None;
                }
                given |= bit;
                next = index + 1;
                for field in self.columns.fields(index) {
                    values[*field as usize] = Some(value);
                    match (field, value) {
                        (Field::Date, Scalar::Text(text)) => {
                            date = Some(instant_with_offset(text)?)
                        }
                        (Field::Id, Scalar::Text(text)) if surely_canonical(*field, text) => {
                            id = Some(text);
                        }
                        _ if surely_read(*field, value) => {}
                        _ => return None,
                    }
                }
            }
            match cursor.next_byte()? {
                b',' => continue,
                b'}' => break,
                _ => return None,
            }
        }
        cursor.at_end()?;
        Some(CanonicalRecord {
            date: date?,
            id: id?,
            values,
        })
    }
}

/// The values of a record's fields (`None` when absent), by [`Field`] index.
type FieldValues<'l> = [Option<Scalar<'l>>; Field::ALL.len()];

/// A record whose every value is surely read as written.
struct CanonicalRecord<'l> {
    /// Its call's date, in microseconds since the epoch.
    date: i64,
    /// Its call's id.
    id: &'l [u8],
    /// Its fields' values.
    values: FieldValues<'l>,
}

/// Whether the JSON reader surely takes `value` of `field` (not the id or
/// date) as it is written: `null`, a string the column-wise CSV reader
/// takes as canonical (a result in API case), or a number of seconds
/// written plainly, as that reader requires of a CSV value (for ringing, of
/// at most [`EXACT_DIGITS`] digits).
fn surely_read(field: Field, value: Scalar<'_>) -> bool {
    match (field, value) {
        (Field::Id | Field::Date, _) => false,
        (_, Scalar::Null) => true,
        (_, Scalar::Text(text)) => surely_canonical(field, text),
        (Field::Duration, Scalar::Number(number)) => number.len() <= 18 && all_digits(number),
        (Field::RingingSeconds, Scalar::Number(number)) => {
            is_plain_decimal(number) && significant_digits(number) <= EXACT_DIGITS
        }
        _ => false,
    }
}

/// The position of the first `"` in `bytes`, looked for eight bytes at a
/// time: a line's strings are short, too short for `memchr` to pay.
fn first_quote(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const QUOTES: u64 = u64::from_ne_bytes([b'"'; 8]);
    let mut words = bytes.chunks_exact(8);
    for (index, word) in words.by_ref().enumerate() {
        let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        // A byte of `zeros` is 0 where `word` holds a quote; the lowest
        // flag of `found` is set at the first of them.
        let zeros = word ^ QUOTES;
        let found = zeros.wrapping_sub(ONES) & !zeros & HIGHS;
        if found != 0 {
            return Some(index * 8 + found.trailing_zeros() as usize / 8);
        }
    }
    let tail = words.remainder();
    let at = bytes.len() - tail.len();
    tail.iter()
        .position(|byte| *byte == b'"')
        .map(|end| at + end)
}

/// Most significant digits of a JSON number of seconds read here as its
/// text: up to 15, the JSON reader's float is the correctly rounded one
/// that reading its text gives (beyond, its last bit may differ).
const EXACT_DIGITS: usize = 15;

/// The digits of `number` after its leading zeros (its point skipped).
fn significant_digits(number: &[u8]) -> usize {
    let digits = number.iter().filter(|byte| byte.is_ascii_digit());
    digits.skip_while(|digit| **digit == b'0').count()
}

/// A scalar JSON value as a line's bytes hold it.
#[derive(Debug, Clone, Copy)]
enum Scalar<'l> {
    /// A string without escapes: its bytes between the quotes.
    Text(&'l [u8]),
    /// A number without exponent, of few enough digits to be read exactly.
    Number(&'l [u8]),
    /// `null`.
    Null,
    /// `true` or `false`, as written.
    Boolean(&'l [u8]),
}

impl<'l> Scalar<'l> {
    /// The value as the field readers take it (`None` for `null`): a
    /// string or a number as the text of a cell, which they read as they
    /// read a JSON string or number of that text.
    fn raw(self) -> Option<Raw<'l>> {
        match self {
            Scalar::Text(bytes) | Scalar::Number(bytes) | Scalar::Boolean(bytes) => {
                Some(Raw::Bytes(bytes))
            }
            Scalar::Null => None,
        }
    }
}

/// Reads the tokens of one line of JSON, strictly: anything this cursor is
/// not sure every JSON reader takes alike gives `None`.
struct Cursor<'l> {
    line: &'l [u8],
    at: usize,
}

/// Most digits before or after a number's point that a line left out may
/// hold: any such number is finite and read alike by every parser.
const MOST_NUMBER_DIGITS: usize = 18;

impl<'l> Cursor<'l> {
    /// A cursor at the start of `line`; `None` when it holds an escape or
    /// a control character (a tab included), which the reader is left to
    /// read.
    fn new(line: &'l [u8]) -> Option<Self> {
        // Every byte looked at, without stopping early: the compiler makes
        // it a few wide comparisons.
        let (odd, wide) = line.iter().fold((false, false), |(odd, wide), byte| {
            (
                odd | (*byte == b'\\') | (*byte < 0x20),
                wide | (*byte >= 0x80),
            )
        });
        // Bytes beyond ASCII must be UTF-8, as the reader requires.
        let valid = !odd && (!wide || std::str::from_utf8(line).is_ok());
        valid.then_some(Cursor { line, at: 0 })
    }

    /// Skips spaces.
    fn skip_spaces(&mut self) {
        while self.line.get(self.at) == Some(&b' ') {
            self.at += 1;
        }
    }

    /// The next byte after spaces, consumed.
    fn next_byte(&mut self) -> Option<u8> {
        self.skip_spaces();
        let byte = *self.line.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    /// Consumes `byte` after spaces.
    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.next_byte()? == byte).then_some(())
    }

    /// Whether only spaces are left.
    fn at_end(&mut self) -> Option<()> {
        self.skip_spaces();
        (self.at == self.line.len()).then_some(())
    }

    /// A key, after spaces, and the index of its column among `columns`
    /// (`None`: no field's): the column at `guess` is tried first, against
    /// the line's bytes.
    fn key(
        &mut self,
        columns: &FlatColumns<'_>,
        guess: usize,
    ) -> Option<(&'l [u8], Option<usize>)> {
        self.expect(b'"')?;
        let rest = &self.line[self.at..];
        if let Some(name) = columns.name(guess).map(str::as_bytes) {
            let guessed =
                rest.get(name.len()) == Some(&b'"') && same_bytes(&rest[..name.len()], name);
            if guessed {
                self.at += name.len() + 1;
                return Some((&rest[..name.len()], Some(guess)));
            }
        }
        let end = first_quote(rest)?;
        self.at += end + 1;
        let key = &rest[..end];
        Some((key, columns.find_bytes(key, guess)))
    }

    /// A string, after spaces: its bytes between the quotes (the line
    /// holds no escape).
    fn text(&mut self) -> Option<&'l [u8]> {
        self.expect(b'"')?;
        let rest = &self.line[self.at..];
        let end = first_quote(rest)?;
        self.at += end + 1;
        Some(&rest[..end])
    }

    /// A scalar value, after spaces.
    fn scalar(&mut self) -> Option<Scalar<'l>> {
        self.skip_spaces();
        let literal: &'static [u8] = match self.line.get(self.at)? {
            b'"' => return self.text().map(Scalar::Text),
            b'n' => b"null",
            b't' => b"true",
            b'f' => b"false",
            _ => return self.number().map(Scalar::Number),
        };
        self.line[self.at..].starts_with(literal).then_some(())?;
        self.at += literal.len();
        Some(match literal {
            b"null" => Scalar::Null,
            _ => Scalar::Boolean(literal),
        })
    }

    /// A number `-?(0|[1-9][0-9]*)(.[0-9]+)?` of at most
    /// [`MOST_NUMBER_DIGITS`] digits on each side of the point.
    fn number(&mut self) -> Option<&'l [u8]> {
        let start = self.at;
        if self.line.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        let whole = self.digits();
        let leading_zero = whole > 1 && self.line[self.at - whole] == b'0';
        if whole == 0 || whole > MOST_NUMBER_DIGITS || leading_zero {
            return None;
        }
        if self.line.get(self.at) == Some(&b'.') {
            self.at += 1;
            let fraction = self.digits();
            if fraction == 0 || fraction > MOST_NUMBER_DIGITS {
                return None;
            }
        }
        Some(&self.line[start..self.at])
    }

    /// Consumes digits: how many.
    fn digits(&mut self) -> usize {
        let count = self.line[self.at..]
            .iter()
            .take_while(|byte| byte.is_ascii_digit())
            .count();
        self.at += count;
        count
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::ingest::fields::{ColumnNames, ValueReading};
    use crate::ingest::tests::started_at_and_agent;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    /// A picker keeping March 2024 (no repeated id), values read as
    /// `reading` says.
    fn march<'n>(names: &'n ColumnNames, reading: &'n ValueReading) -> WindowRecords<'n> {
        let window = (utc("2024-03-01T00:00:00Z"), utc("2024-04-01T00:00:00Z"));
        WindowRecords::new(FlatColumns::new(names), reading, window, Arc::default()).unwrap()
    }

    /// The date and id of the call of `line` that `picker` leaves out.
    fn left_out(picker: &WindowRecords<'_>, line: &[u8]) -> Option<(i64, Vec<u8>)> {
        match picker.pick(line) {
            Picked::LeftOut(call) => Some((call.date, call.id.to_vec())),
            _ => None,
        }
    }

    /// A record as DuckDB writes it, dated `date`.
    fn duckdb_record(date: &str) -> String {
        format!(
            r#"{{"id":"cll-6077","date":"{date}","direction":"OUTBOUND","type":"CALL","user_id":"usr-0022","user_name":"Mateo Rodríguez","user_email":"m@acme.com","allo_number":"+12125550101","allo_number_label":"Sales US","contact_number":"+19179226980","result":"VOICEMAIL","duration":19,"ringing_seconds":25.75,"tags":null}}"#
        )
    }

    #[test]
    fn canonical_records_outside_the_window_are_left_out_with_their_date_and_id() {
        let names = ColumnNames::new(&[]).unwrap();
        let reading = ValueReading::in_zone(chrono_tz::UTC);
        let picker = march(&names, &reading);
        let left_out = |line: &str| left_out(&picker, line.as_bytes());
        let february = duckdb_record("2024-02-29 23:59:59+00");
        assert_eq!(
            left_out(&february),
            Some((
                utc("2024-02-29T23:59:59Z").timestamp_micros(),
                b"cll-6077".to_vec()
            ))
        );
        // In the window: read by the picker, as the reader reads it.
        let march = duckdb_record("2024-03-01 00:00:00+00");
        let Picked::Read(call) = picker.pick(march.as_bytes()) else {
            panic!("read");
        };
        assert_eq!(call.id, "cll-6077");
        assert_eq!(call.date, utc("2024-03-01T00:00:00Z"));
        assert_eq!(call.user_name.as_deref(), Some("Mateo Rodríguez"));
        assert_eq!((call.duration, call.ringing_seconds), (19, Some(25.75)));
        assert!(call.tags.is_empty());
        assert_eq!(
            left_out(&duckdb_record("2024-03-31 23:30:00-01:00")),
            Some((
                utc("2024-04-01T00:30:00Z").timestamp_micros(),
                b"cll-6077".to_vec()
            ))
        );
        // Spaces between tokens, keys in another order, unknown keys of any
        // scalar, absent fields.
        let spaced = r#"{ "result": "ANSWERED", "note": -0.5, "flag": true, "id": "a", "date": "2024-01-01T00:00:00Z", "tags": "demo;x", "duration": "12", "ringing_seconds": 0.25 }"#;
        assert_eq!(left_out(spaced).map(|(_, id)| id), Some(b"a".to_vec()));
    }

    #[test]
    fn records_these_rules_are_not_sure_of_are_left_to_the_reader() {
        let names = ColumnNames::new(&[]).unwrap();
        let reading = ValueReading::in_zone(chrono_tz::UTC);
        let picker = march(&names, &reading);
        let base = r#""id":"a","date":"2024-01-01T00:00:00Z","result":"ANSWERED""#;
        let doubtful = [
            // Not one flat object.
            format!("[{{{base}}}]"),
            format!("{{{base}}} {{}}"),
            format!("{{{base},}}"),
            format!("{{{base}"),
            format!("{{{base},\"user\":{{\"id\":\"u\"}}}}"),
            format!("{{{base},\"user\":\"u\"}}"),
            format!("{{{base},\"tags\":[\"a\"]}}"),
            format!("{{{base},\"note\":{{}}}}"),
            // Escapes, control characters.
            r#"{"id":"\u0061","date":"2024-01-01T00:00:00Z","result":"ANSWERED"}"#.to_string(),
            format!("{{{base},\"note\":\"a\\\"b\"}}"),
            format!("{{{base},\"note\":\"a\tb\"}}"),
            // A field given twice.
            format!("{{{base},\"id\":\"b\"}}"),
            // Numbers JSON or a reader may take otherwise.
            format!("{{{base},\"duration\":1e3}}"),
            format!("{{{base},\"duration\":012}}"),
            format!("{{{base},\"duration\":-1}}"),
            format!("{{{base},\"duration\":1.5}}"),
            format!("{{{base},\"duration\":1234567890123456789}}"),
            format!("{{{base},\"ringing_seconds\":1E2}}"),
            format!("{{{base},\"ringing_seconds\":-0.0}}"),
            // More digits than the JSON reader's float surely keeps.
            format!("{{{base},\"ringing_seconds\":23058430102314.33790}}"),
            format!("{{{base},\"note\":1e999}}"),
            format!("{{{base},\"note\":NaN}}"),
            // Values off canonical form, or of another type.
            format!("{{{base},\"duration\":true}}"),
            format!("{{{base},\"user_name\":5}}"),
            format!("{{{base},\"user_name\":\" a\"}}"),
            format!("{{{base},\"direction\":\"outbound\"}}"),
            format!("{{{base},\"tags\":\"a|b\"}}"),
            format!("{{{base},\"tags\":\"[\\\"a\\\"]\"}}"),
            r#"{"id":7,"date":"2024-01-01T00:00:00Z","result":"ANSWERED"}"#.to_string(),
            r#"{"id":"a","date":"2024-01-01T00:00:00","result":"ANSWERED"}"#.to_string(),
            r#"{"id":"a","date":"2024-02-30T00:00:00Z","result":"ANSWERED"}"#.to_string(),
            r#"{"id":"a","date":"2024-01-01T00:00:00Z","result":"answered"}"#.to_string(),
            // A required field absent.
            r#"{"date":"2024-01-01T00:00:00Z","result":"ANSWERED"}"#.to_string(),
            "{}".to_string(),
        ];
        assert!(left_out(&picker, format!("{{{base}}}").as_bytes()).is_some());
        for line in doubtful {
            assert_eq!(picker.pick(line.as_bytes()), Picked::ToParse, "{line}");
        }
        // Bytes that are not UTF-8: the reader refuses the line.
        let mut line = format!("{{{base},\"note\":\"é\"}}").into_bytes();
        assert!(left_out(&picker, &line).is_some());
        let accent = line.len() - 3;
        line[accent] = 0xff;
        assert_eq!(picker.pick(&line), Picked::ToParse);
    }

    #[test]
    fn the_first_quote_is_found_in_any_word_and_the_tail() {
        for text in [
            "\"",
            "abcdefg\"",
            "abcdefgh\"",
            "abcdefghijklmnop\"q\"",
            "a\"\"",
            "é\u{2022}\"x",
            "abcdefghij",
            "",
        ] {
            assert_eq!(first_quote(text.as_bytes()), text.find('"'), "{text}");
        }
        // Bytes just below and above the quote's.
        let bytes = [b'!', b'#', 0xa2, 0x22 + 0x80, b'"'];
        assert_eq!(first_quote(&bytes), Some(4));
    }

    #[test]
    fn mapped_keys_are_picked_by_every_field_they_give() {
        let names = started_at_and_agent();
        let reading = ValueReading::in_zone(chrono_tz::UTC);
        let picker = march(&names, &reading);
        let line = r#"{"id":"a","started_at":"2024-01-01T00:00:00Z","date":"x","agent":"Ann","result":"ANSWERED"}"#;
        assert!(left_out(&picker, line.as_bytes()).is_some());
        let line =
            r#"{"id":"a","started_at":"2024-01-01T00:00:00Z","agent":"Ann ","result":"ANSWERED"}"#;
        assert_eq!(picker.pick(line.as_bytes()), Picked::ToParse);
    }

    /// Records of values of every kind, some canonical, some off form or
    /// not JSON at all, and the proof that the picker leaves out only lines
    /// the NDJSON reader accepts as written, with the date and id it gives.
    mod against_the_reader {
        use polars::prelude::DataType;
        use proptest::prelude::*;

        use super::*;
        use crate::ingest::csv::window_lines::tests::against_the_column_wise_reader::{
            date, number, one_of,
        };
        use crate::ingest::facts::ReadingFacts;
        use crate::ingest::fields::ValueReading;
        use crate::ingest::json::JsonContext;
        use crate::ingest::ndjson::read_ndjson;
        use crate::ingest::part::Windowed;
        use crate::ingest::sink::Sink;
        use crate::model::calls_to_frame;

        /// Nine times in ten a value of `usual`, else one of `odd`: odd values
        /// are tried, yet most lines are made of usual ones.
        fn seldom_odd(
            usual: impl Strategy<Value = String> + 'static,
            odd: impl Strategy<Value = String> + 'static,
        ) -> BoxedStrategy<String> {
            prop_oneof![9 => usual, 1 => odd].boxed()
        }

        /// A string value: mostly as written, else with an escape.
        fn string(text: impl Strategy<Value = String> + 'static) -> BoxedStrategy<String> {
            let quoted = |text: String| format!("\"{text}\"");
            seldom_odd(
                text.prop_map(quoted),
                one_of(&[r#""a\"b""#, r#""\u0041""#, "\"a\tb\""]),
            )
        }

        /// A value of any JSON type, or not JSON.
        fn other() -> BoxedStrategy<String> {
            one_of(&[
                "null", "true", "false", "0", "-0", "1.5", "1e3", "012", "{}", "[]", "[\"a\"]",
                "NaN", "", "nul",
            ])
            .boxed()
        }

        /// A number as a JSON token (maybe not JSON), or in a string.
        fn seconds() -> BoxedStrategy<String> {
            prop_oneof![
                3 => number(),
                1 => number().prop_map(|number| format!("\"{number}\"")),
                1 => other(),
            ]
            .boxed()
        }

        fn date_value() -> BoxedStrategy<String> {
            let duckdb = (0i64..3 * 365 * 86_400).prop_map(|seconds| {
                DateTime::from_timestamp(1_672_531_200 + seconds, 0)
                    .unwrap()
                    .format("%Y-%m-%d %H:%M:%S+00")
                    .to_string()
            });
            seldom_odd(string(prop_oneof![date(), duckdb]), other())
        }

        fn text_value() -> BoxedStrategy<String> {
            let text = seldom_odd(
                one_of(&["", "x", "é", "a b", "伊藤 さくら"]),
                one_of(&[" x", "x "]),
            );
            prop_oneof![4 => string(text), 1 => other()].boxed()
        }

        /// The keys of a record, in the order of [`record`]'s values.
        const KEYS: [&str; 9] = [
            "id",
            "date",
            "direction",
            "result",
            "duration",
            "ringing_seconds",
            "tags",
            "user_name",
            "note",
        ];

        fn record() -> impl Strategy<Value = String> {
            let fields = (
                seldom_odd(
                    string(seldom_odd(one_of(&["cll-1", "Z"]), one_of(&["", " cll-1"]))),
                    other(),
                ),
                date_value(),
                seldom_odd(
                    string(one_of(&["", "OUTBOUND", "INBOUND"])),
                    prop_oneof![string(one_of(&["outbound", "OUT"])), other()],
                ),
                seldom_odd(
                    string(one_of(&["ANSWERED", "VOICEMAIL", "NO_ANSWER"])),
                    prop_oneof![string(one_of(&["", "answered", "MAYBE"])), other()],
                ),
                seconds(),
                seconds(),
                seldom_odd(
                    prop_oneof![
                        string(one_of(&["", "demo_booked", "a;b", ";", "Demo;X"])),
                        Just("null".to_string())
                    ],
                    prop_oneof![string(one_of(&[" demo", "a|b", "[\\\"a\\\"]"])), other()],
                ),
                text_value(),
                text_value(),
            );
            let layout = (
                prop::sample::subsequence(&KEYS[..], 6..=KEYS.len()),
                one_of(&[",", ", "]),
                one_of(&[":", ": "]),
                seldom_odd(one_of(&["}"]), one_of(&[",}", "} {}", "", "}}"])),
            );
            (fields, layout).prop_map(|(values, (keys, comma, colon, end))| {
                let (id, date, direction, result, duration, ringing, tags, name, note) = values;
                let values = [
                    id, date, direction, result, duration, ringing, tags, name, note,
                ];
                let pairs: Vec<String> = keys
                    .iter()
                    .map(|key| {
                        let value = &values[KEYS.iter().position(|name| name == key).unwrap()];
                        format!("\"{key}\"{colon}{value}")
                    })
                    .collect();
                format!("{{{}{end}", pairs.join(&comma))
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4_000))]

            #[test]
            fn a_line_picked_is_one_the_reader_accepts_as_written(line in record()) {
                let names = ColumnNames::new(&[]).unwrap();
                let reading = ValueReading::in_zone(chrono_tz::UTC);
        let picker = march(&names, &reading);
                if let Some(record) = picker.canonical_record(line.as_bytes()) {
                    let reading = ValueReading::in_zone(chrono_tz::Europe::Paris);
                    let context = JsonContext {
                        file: "calls.ndjson",
                        names: &names,
                        reading: &reading,
                        conversion_tags: &[],
                    };
                    let mut sink = Sink::new(false, None);
                    let read = read_ndjson(format!("{line}\n").as_bytes(), &context, &mut sink);
                    prop_assert!(read.is_ok(), "the reader refused {line}: {read:?}");
                    let Ok(Windowed::Read(part)) = sink.finish() else {
                        panic!("read");
                    };
                    prop_assert_eq!(&part.facts, &ReadingFacts::default(), "{}", line);
                    let frame = part.frame.collect().unwrap();
                    prop_assert_eq!(frame.height(), 1);
                    let micros = frame.column("date").unwrap().cast(&DataType::Int64).unwrap();
                    prop_assert_eq!(micros.i64().unwrap().get(0), Some(record.date), "{}", line);
                    let ids = frame.column("id").unwrap().str().unwrap().get(0).map(str::to_string);
                    prop_assert_eq!(ids.as_deref().map(str::as_bytes), Some(record.id), "{}", line);
                    // The call the picker builds is the reader's.
                    let call = picker.call_of(&record.values);
                    prop_assert!(call.is_some(), "{}", line);
                    let built = calls_to_frame(vec![call.unwrap()]).unwrap();
                    prop_assert!(built.equals_missing(&frame), "{}: {} against {}", line, built, frame);
                }
            }
        }
    }
}
