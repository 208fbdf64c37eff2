//! The NDJSON lines worth parsing when only a window's calls are kept: the
//! counterpart, for flat JSON records, of the CSV lines picked by
//! [`super::csv::window_lines`].
//!
//! Most calls of a long export fall outside a request's window, and parsing
//! them is most of the cost of reading it. A line is left out before parsing
//! when its bytes show, by rules stricter than the JSON reader's, that it
//! holds one flat record whose call that reader would accept, with nothing
//! to note of how its values were written, dated outside the window, and
//! whose id does not repeat: the reader would have accepted it, then the
//! window would have dropped it. Every other line (in the window, with an
//! escape, a nested value, an exponent, a key given twice, a value off
//! canonical form…) is parsed as before, so leaving lines out changes
//! neither the calls kept nor which lines are refused.

use std::sync::Arc;

use crate::duplicates::RepeatedIdHashes;
use crate::ingest::csv::window_lines::{
    all_digits, instant_with_offset, is_plain_decimal, surely_canonical,
};
use crate::ingest::flat_json::{same_bytes, FlatColumns};
use crate::ingest::part::Window;
use crate::model::Field;

/// Picks the NDJSON lines to parse for a window.
pub(super) struct WindowRecords<'n> {
    /// The window's bounds in microseconds since the epoch (from inclusive,
    /// to exclusive), as [`crate::exprs::dated_within`] compares them.
    from: i64,
    to: i64,
    /// The keys of the fields (after `--map`).
    columns: FlatColumns<'n>,
    /// The hashes of the ids known to repeat: a line whose id may repeat is
    /// parsed (its call may replace another, or be replaced).
    repeated: Arc<RepeatedIdHashes>,
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
    /// A picker for records whose fields have the keys `columns`, keeping
    /// the calls of `window` and those whose id's hash is in `repeated`.
    pub fn new(columns: FlatColumns<'n>, window: Window, repeated: Arc<RepeatedIdHashes>) -> Self {
        WindowRecords {
            from: window.0.timestamp_micros(),
            to: window.1.timestamp_micros(),
            columns,
            repeated,
        }
    }

    /// The call on `line` (without the blanks around it) when it may be
    /// left out; `None` when the line must be parsed.
    pub fn left_out<'l>(&self, line: &'l [u8]) -> Option<LeftOut<'l>> {
        let (date, id) = self.date_and_id_outside(line)?;
        (!self.repeated.may_repeat(id)).then_some(LeftOut { date, id })
    }

    /// The date and id of the record on `line` when it is dated outside the
    /// window (a date inside ends the look) and is one flat JSON object
    /// whose every field's value is surely read as written, with an id, a
    /// date with an offset and a result.
    fn date_and_id_outside<'l>(&self, line: &'l [u8]) -> Option<(i64, &'l [u8])> {
        let mut cursor = Cursor::new(line)?;
        cursor.expect(b'{')?;
        // The columns given, a bit each.
        let mut given = 0u64;
        let (mut date, mut id, mut result) = (None, None, false);
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
                    match (field, value) {
                        (Field::Date, Scalar::Text(text)) => {
                            let instant = instant_with_offset(text)?;
                            if (self.from..self.to).contains(&instant) {
                                return None;
                            }
                            date = Some(instant);
                        }
                        (Field::Id, Scalar::Text(text)) if surely_canonical(*field, text) => {
                            id = Some(text);
                        }
                        (Field::Result, Scalar::Text(text)) if surely_canonical(*field, text) => {
                            result = true;
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
        result.then_some(())?;
        Some((date?, id?))
    }
}

/// Whether the JSON reader surely takes `value` of `field` (not the id,
/// date or result) as it is written: `null`, a string the column-wise CSV
/// reader takes as canonical, or a number of seconds written plainly (as
/// that reader requires of a CSV value).
fn surely_read(field: Field, value: Scalar<'_>) -> bool {
    match (field, value) {
        (Field::Id | Field::Date | Field::Result, _) => false,
        (_, Scalar::Null) => true,
        (_, Scalar::Text(text)) => surely_canonical(field, text),
        (Field::Duration, Scalar::Number(number)) => number.len() <= 18 && all_digits(number),
        (Field::RingingSeconds, Scalar::Number(number)) => is_plain_decimal(number),
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

/// A scalar JSON value as a line's bytes hold it.
#[derive(Debug, Clone, Copy)]
enum Scalar<'l> {
    /// A string without escapes: its bytes between the quotes.
    Text(&'l [u8]),
    /// A number without exponent, of few enough digits to be read exactly.
    Number(&'l [u8]),
    /// `null`.
    Null,
    /// `true` or `false`.
    Boolean,
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
        let (literal, scalar): (&[u8], _) = match self.line.get(self.at)? {
            b'"' => return self.text().map(Scalar::Text),
            b'n' => (b"null", Scalar::Null),
            b't' => (b"true", Scalar::Boolean),
            b'f' => (b"false", Scalar::Boolean),
            _ => return self.number().map(Scalar::Number),
        };
        self.line[self.at..].starts_with(literal).then_some(())?;
        self.at += literal.len();
        Some(scalar)
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
    use crate::ingest::fields::ColumnNames;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn march(names: &ColumnNames) -> WindowRecords<'_> {
        let window = (utc("2024-03-01T00:00:00Z"), utc("2024-04-01T00:00:00Z"));
        WindowRecords::new(FlatColumns::new(names), window, Arc::default())
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
        let picker = march(&names);
        let left_out = |line: &str| {
            let call = picker.left_out(line.as_bytes());
            call.map(|call| (call.date, call.id.to_vec()))
        };
        let february = duckdb_record("2024-02-29 23:59:59+00");
        assert_eq!(
            left_out(&february),
            Some((
                utc("2024-02-29T23:59:59Z").timestamp_micros(),
                b"cll-6077".to_vec()
            ))
        );
        assert_eq!(left_out(&duckdb_record("2024-03-01 00:00:00+00")), None);
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
        let picker = march(&names);
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
            r#"{"id":"a","date":"2024-01-01T00:00:00Z","result":null}"#.to_string(),
            // A required field absent.
            r#"{"id":"a","date":"2024-01-01T00:00:00Z"}"#.to_string(),
            r#"{"date":"2024-01-01T00:00:00Z","result":"ANSWERED"}"#.to_string(),
            "{}".to_string(),
        ];
        assert!(picker.left_out(format!("{{{base}}}").as_bytes()).is_some());
        for line in doubtful {
            assert_eq!(picker.left_out(line.as_bytes()), None, "{line}");
        }
        // Bytes that are not UTF-8: the reader refuses the line.
        let mut line = format!("{{{base},\"note\":\"é\"}}").into_bytes();
        assert!(picker.left_out(&line).is_some());
        let accent = line.len() - 3;
        line[accent] = 0xff;
        assert_eq!(picker.left_out(&line), None);
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
        let map = [
            ("date".to_string(), "started_at".to_string()),
            ("user_id".to_string(), "agent".to_string()),
            ("user_name".to_string(), "agent".to_string()),
        ];
        let names = ColumnNames::new(&map).unwrap();
        let picker = march(&names);
        let line = r#"{"id":"a","started_at":"2024-01-01T00:00:00Z","date":"x","agent":"Ann","result":"ANSWERED"}"#;
        assert!(picker.left_out(line.as_bytes()).is_some());
        let line =
            r#"{"id":"a","started_at":"2024-01-01T00:00:00Z","agent":"Ann ","result":"ANSWERED"}"#;
        assert_eq!(picker.left_out(line.as_bytes()), None);
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
            fn a_line_left_out_is_one_the_reader_accepts_as_written(line in record()) {
                let names = ColumnNames::new(&[]).unwrap();
                let picker = march(&names);
                if let Some((date, id)) = picker.date_and_id_outside(line.as_bytes()) {
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
                    prop_assert_eq!(micros.i64().unwrap().get(0), Some(date), "{}", line);
                    let ids = frame.column("id").unwrap().str().unwrap().get(0).map(str::to_string);
                    prop_assert_eq!(ids.as_deref().map(str::as_bytes), Some(id), "{}", line);
                }
            }
        }
    }
}
