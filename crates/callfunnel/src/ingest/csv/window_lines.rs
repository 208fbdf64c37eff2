//! The lines of a canonical CSV chunk worth parsing when only a window's
//! calls are kept.
//!
//! Most calls of a long export fall outside a request's window, and parsing
//! them is most of the cost of reading it. A line is left out before parsing
//! when its bytes show, by rules stricter than the column-wise reader's
//! checks of canonical form ([`super::columnar`]), that it holds a call in
//! canonical form dated outside the window: that reader would have accepted
//! it, then dropped it for its date. Every other line — in the window,
//! quoted, or with any value these rules are not sure of — is kept, and
//! parsed and checked as before, so leaving lines out changes neither the
//! calls kept nor which files are refused. Of the lines left out of a chunk,
//! one with the latest date is kept, so the latest call of all (and with it
//! `last_updated`) stays.

use std::ops::Range;
use std::sync::Arc;

use crate::duplicates::RepeatedIdHashes;
use crate::ingest::fields::instant_with_offset_micros;
use crate::ingest::line_pieces::on_every_core;
use crate::ingest::part::Window;
use crate::ingest::picking::{LatestLeftOut, OutsideWindow};
use crate::model::rules::{
    self, is_in_api_case, may_be_another_tags_form, MAX_RINGING_WHOLE_DIGITS,
};
use crate::model::Field;

/// Picks the lines of canonical CSV chunks to parse for a window.
#[derive(Debug, Clone)]
pub(super) struct WindowLines {
    /// The calls it may leave out.
    outside: OutsideWindow,
    /// The field each column of the file holds (`None`: no field).
    columns: Vec<Option<Field>>,
}

impl WindowLines {
    /// A picker for a file of `columns` columns, `present` saying which holds
    /// each field, whose repeated ids have the hashes `repeated`; `None`
    /// when a column holds two fields.
    pub fn new(
        columns: usize,
        present: &[(Field, Option<usize>)],
        window: Window,
        repeated: Arc<RepeatedIdHashes>,
    ) -> Option<Self> {
        let mut fields = vec![None; columns];
        for (field, index) in present {
            if let Some(index) = index {
                if fields.get_mut(*index)?.replace(*field).is_some() {
                    return None;
                }
            }
        }
        Some(WindowLines {
            outside: OutsideWindow::new(window, repeated),
            columns: fields,
        })
    }

    /// Appends to `kept` the lines of `chunk` (whole records, the header
    /// first when `with_header`) that must be parsed, in their order: all
    /// but those surely holding a canonical call dated outside the window,
    /// one of which with the latest date is kept too. A chunk that is not
    /// valid UTF-8 is kept whole (the reader then refuses it). A chunk
    /// without quotes is looked at in pieces, one a core.
    pub fn select(&self, chunk: &[u8], with_header: bool, kept: &mut Vec<u8>) {
        let picks: Option<Vec<Picked>> = if memchr::memchr(b'"', chunk).is_some() {
            self.pick(chunk, 0, with_header).map(|picked| vec![picked])
        } else {
            on_every_core(chunk, |piece, offset| {
                self.pick(piece, offset, with_header && offset == 0)
            })
            .and_then(|picks| picks.into_iter().collect())
        };
        let Some(picks) = picks else {
            kept.extend_from_slice(chunk);
            return;
        };
        // The pieces' latest lines offered in order: the chunk's first with
        // the latest date stays.
        let mut latest = LatestLeftOut::default();
        let mut ranges: Vec<Range<usize>> = Vec::new();
        for picked in picks {
            ranges.extend(picked.kept);
            if let Some((date, line)) = picked.latest_left_out.into_latest() {
                latest.offer(date, line);
            }
        }
        if let Some((_, line)) = latest.into_latest() {
            let at = ranges.partition_point(|range| range.start < line.start);
            ranges.insert(at, line);
        }
        for range in ranges {
            kept.extend_from_slice(&chunk[range]);
        }
    }

    /// The lines of `piece` (whole records at offset `offset` of its chunk,
    /// its first line the header when `with_header`) to keep, and the
    /// latest of those left out; `None` when it is not valid UTF-8.
    fn pick(&self, piece: &[u8], offset: usize, with_header: bool) -> Option<Picked> {
        std::str::from_utf8(piece).ok()?;
        let mut picked = Picked::default();
        let mut in_quotes = false;
        let mut next_quote = memchr::memchr(b'"', piece).unwrap_or(piece.len());
        let mut start = 0;
        while start < piece.len() {
            let end =
                memchr::memchr(b'\n', &piece[start..]).map_or(piece.len(), |at| start + at + 1);
            let line = &piece[start..end];
            let has_quotes = next_quote < end;
            let is_header = with_header && start == 0;
            let date = (!(in_quotes || has_quotes || is_header))
                .then(|| self.left_out_date(line.strip_suffix(b"\n").unwrap_or(line)))
                .flatten();
            if has_quotes {
                in_quotes ^= memchr::memchr_iter(b'"', line).count() % 2 == 1;
                next_quote = memchr::memchr(b'"', &piece[end..]).map_or(piece.len(), |at| end + at);
            }
            let range = offset + start..offset + end;
            match date {
                Some(date) => picked.leave_out(date, range),
                None => picked.keep(range),
            }
            start = end;
        }
        Some(picked)
    }

    /// The date of the call on `line` (without its line feed, no quotes)
    /// when it may be left out: every value is surely in canonical form,
    /// the date is outside the window and the id does not repeat; `None`
    /// otherwise.
    fn left_out_date(&self, line: &[u8]) -> Option<i64> {
        let (date, id) = self.canonical_date_and_id(line)?;
        self.outside.leaves_out(date, id).then_some(date)
    }

    /// The date and id of the call on `line` (without its line feed, no
    /// quotes) when every value is surely in canonical form.
    fn canonical_date_and_id<'l>(&self, line: &'l [u8]) -> Option<(i64, &'l [u8])> {
        let (mut date, mut id) = (None, None);
        let mut commas = memchr::memchr_iter(b',', line);
        let mut start = 0;
        let last = self.columns.len().checked_sub(1)?;
        for (index, field) in self.columns.iter().enumerate() {
            // The value up to the next comma; the last one up to the end.
            let end = match (index == last, commas.next()) {
                (false, Some(comma)) => comma,
                (true, None) => line.len(),
                _ => return None,
            };
            let value = &line[start..end];
            start = end + 1;
            match field {
                None => {}
                Some(Field::Date) => date = Some(instant_with_offset(value)?),
                Some(Field::Id) if surely_canonical(Field::Id, value) => id = Some(value),
                Some(field) if surely_canonical(*field, value) => {}
                Some(_) => return None,
            }
        }
        Some((date?, id?))
    }
}

/// What [`WindowLines::pick`] found in a piece of a chunk.
#[derive(Debug, Default)]
struct Picked {
    /// The byte ranges of the lines to keep, in order (touching ones joined).
    kept: Vec<Range<usize>>,
    /// The range of the latest line left out.
    latest_left_out: LatestLeftOut<Range<usize>>,
}

impl Picked {
    fn keep(&mut self, line: Range<usize>) {
        match self.kept.last_mut() {
            Some(last) if last.end == line.start => last.end = line.end,
            _ => self.kept.push(line),
        }
    }

    fn leave_out(&mut self, date: i64, line: Range<usize>) {
        self.latest_left_out.offer(date, line);
    }
}

/// Whether the column-wise reader surely takes `value` (unquoted) of
/// `field` as canonical; the date is read by [`instant_with_offset`].
pub(in crate::ingest) fn surely_canonical(field: Field, value: &[u8]) -> bool {
    match field {
        Field::Id => !value.is_empty() && without_edge_spaces(value),
        Field::Direction | Field::Type => value.is_empty() || is_in_api_case(field, value),
        Field::Result => is_in_api_case(field, value),
        Field::Duration => value.is_empty() || (value.len() <= 18 && all_digits(value)),
        Field::RingingSeconds => value.is_empty() || is_plain_decimal(value),
        Field::Tags => without_edge_spaces(value) && !may_be_another_tags_form(value),
        _ => without_edge_spaces(value),
    }
}

fn without_edge_spaces(value: &[u8]) -> bool {
    value.first() != Some(&b' ') && value.last() != Some(&b' ')
}

pub(in crate::ingest) fn all_digits(value: &[u8]) -> bool {
    value.iter().all(u8::is_ascii_digit)
}

/// `1` to [`MAX_RINGING_WHOLE_DIGITS`] digits, then maybe a point and `1` to
/// `9` digits: a number of seconds within the ringing bound, that every
/// float parser reads alike.
pub(in crate::ingest) fn is_plain_decimal(value: &[u8]) -> bool {
    let (whole, fraction) = match memchr::memchr(b'.', value) {
        Some(at) => (&value[..at], Some(&value[at + 1..])),
        None => (value, None),
    };
    let digits = |part: &[u8], most: usize| (1..=most).contains(&part.len()) && all_digits(part);
    digits(whole, MAX_RINGING_WHOLE_DIGITS as usize)
        && fraction.map_or(true, |fraction| digits(fraction, 9))
}

/// The instant of a timestamp written with an offset, in microseconds, as
/// the column-wise reader reads it (the row reader's parser), when it lies
/// within the years a stored date may have; `None` otherwise.
pub(in crate::ingest) fn instant_with_offset(text: &[u8]) -> Option<i64> {
    let micros = instant_with_offset_micros(std::str::from_utf8(text).ok()?)?;
    rules::is_within_years(micros).then_some(micros)
}

#[cfg(test)]
pub(in crate::ingest) mod tests {
    use chrono::{DateTime, Utc};

    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    /// A picker for `id,date,result,duration,ringing_seconds,note,tags`
    /// (`note` no field) and March 2024.
    fn march() -> WindowLines {
        march_keeping(Arc::default())
    }

    /// [`march`], the ids of hashes `repeated` repeating.
    fn march_keeping(repeated: Arc<RepeatedIdHashes>) -> WindowLines {
        let present = [
            (Field::Id, Some(0)),
            (Field::Date, Some(1)),
            (Field::Result, Some(2)),
            (Field::Duration, Some(3)),
            (Field::RingingSeconds, Some(4)),
            (Field::Tags, Some(6)),
            (Field::Direction, None),
        ];
        let window = (utc("2024-03-01T00:00:00Z"), utc("2024-04-01T00:00:00Z"));
        WindowLines::new(7, &present, window, repeated).unwrap()
    }

    fn select(lines: &WindowLines, chunk: &str, with_header: bool) -> String {
        let mut kept = Vec::new();
        lines.select(chunk.as_bytes(), with_header, &mut kept);
        String::from_utf8(kept).unwrap()
    }

    #[test]
    fn canonical_lines_outside_the_window_are_left_out_but_the_latest() {
        let chunk = "id,date,result,duration,ringing_seconds,note,tags\n\
                     a,2024-02-01T10:00:00Z,ANSWERED,10,1.5,x,demo\n\
                     b,2024-03-01T00:00:00Z,ANSWERED,10,,,\n\
                     c,2024-05-01T10:00:00Z,NO_ANSWER,,2,,\n\
                     d,2024-04-01T00:00:00Z,VOICEMAIL,0,,\"any, thing\",\n\
                     e,2024-03-31T23:59:59Z,ANSWERED,3,,,\n\
                     f,2024-04-02T00:00:00Z,ANSWERED,3,,,";
        assert_eq!(
            select(&march(), chunk, true),
            "id,date,result,duration,ringing_seconds,note,tags\n\
             b,2024-03-01T00:00:00Z,ANSWERED,10,,,\n\
             c,2024-05-01T10:00:00Z,NO_ANSWER,,2,,\n\
             d,2024-04-01T00:00:00Z,VOICEMAIL,0,,\"any, thing\",\n\
             e,2024-03-31T23:59:59Z,ANSWERED,3,,,\n"
        );
    }

    #[test]
    fn lines_dated_with_any_offset_are_left_out_by_their_instant() {
        let chunk = "a,2024-02-01 10:00:00+00,ANSWERED,10,1.5,x,demo\n\
                     b,2024-03-01 00:30:00+01:00,ANSWERED,10,,,\n\
                     c,2024-03-31 23:30:00-01:00,ANSWERED,10,,,\n\
                     d,2024-03-01 00:00:00.5+00,ANSWERED,3,,,\n";
        // b is 2024-02-29T23:30Z, c 2024-04-01T00:30Z (the latest left out,
        // kept), d in March.
        assert_eq!(
            select(&march(), chunk, false),
            "c,2024-03-31 23:30:00-01:00,ANSWERED,10,,,\n\
             d,2024-03-01 00:00:00.5+00,ANSWERED,3,,,\n"
        );
    }

    #[test]
    fn lines_whose_id_may_repeat_are_kept() {
        let hashes = ["a", "b", "a", "c"]
            .iter()
            .map(|id| crate::duplicates::id_hash(id.as_bytes()))
            .collect();
        let picker = march_keeping(Arc::new(RepeatedIdHashes::among(hashes)));
        let chunk = "a,2024-02-01T10:00:00Z,ANSWERED,10,,,\n\
                     b,2024-02-01T11:00:00Z,ANSWERED,10,,,\n\
                     a,2024-01-01T10:00:00Z,ANSWERED,10,,,\n\
                     c,2024-03-02T10:00:00Z,ANSWERED,10,,,\n";
        // Both a kept (the later replaces the earlier), b the latest left out.
        assert_eq!(select(&picker, chunk, false), chunk);
        let chunk = "d,2024-01-01T10:00:00Z,ANSWERED,10,,,\n\
                     a,2024-01-01T10:00:00Z,ANSWERED,10,,,\n\
                     e,2024-01-01T09:00:00Z,ANSWERED,10,,,\n";
        assert_eq!(
            select(&picker, chunk, false),
            "d,2024-01-01T10:00:00Z,ANSWERED,10,,,\n\
             a,2024-01-01T10:00:00Z,ANSWERED,10,,,\n"
        );
    }

    #[test]
    fn lines_these_rules_are_not_sure_of_are_kept() {
        let doubtful = [
            " a,2024-02-01T10:00:00Z,ANSWERED,10,,,",
            ",2024-02-01T10:00:00Z,ANSWERED,10,,,",
            "a,2024-02-30T10:00:00Z,ANSWERED,10,,,",
            "a,2024-02-01T10:00:00,ANSWERED,10,,,",
            "a,2024-02-01 10:00,ANSWERED,10,,,",
            "a,2024-02-01T10:00:00+25:00,ANSWERED,10,,,",
            "a,2024-02-01T10:00:00Z,answered,10,,,",
            "a,2024-02-01T10:00:00Z,,10,,,",
            "a,2024-02-01T10:00:00Z,ANSWERED,-10,,,",
            "a,2024-02-01T10:00:00Z,ANSWERED,1.0,,,",
            "a,2024-02-01T10:00:00Z,ANSWERED,1234567890123456789,,,",
            "a,2024-02-01T10:00:00Z,ANSWERED,1,1e3,,",
            "a,2024-02-01T10:00:00Z,ANSWERED,1,.5,,",
            "a,2024-02-01T10:00:00Z,ANSWERED,1,NaN,,",
            "a,2024-02-01T10:00:00Z,ANSWERED,1,,,demo ",
            "a,2024-02-01T10:00:00Z,ANSWERED,1,,,,",
            "a,2024-02-01T10:00:00Z,ANSWERED,1,,",
        ];
        for line in doubtful {
            let chunk = format!("{line}\nz,2024-01-01T00:00:00Z,ANSWERED,1,,,\n");
            // The line and the latest line left out (here the only one).
            assert_eq!(select(&march(), &chunk, false), chunk, "{line}");
        }
    }

    #[test]
    fn a_quoted_record_over_several_lines_is_kept_whole() {
        let chunk = "a,2024-02-01T10:00:00Z,ANSWERED,1,,\"one\n\
                     b,2024-02-01T10:00:00Z,ANSWERED,1,,two\n\
                     three\",\n\
                     c,2024-02-01T11:00:00Z,ANSWERED,1,,,\n\
                     d,2024-02-01T09:00:00Z,ANSWERED,1,,,\n";
        assert_eq!(
            select(&march(), chunk, false),
            "a,2024-02-01T10:00:00Z,ANSWERED,1,,\"one\n\
             b,2024-02-01T10:00:00Z,ANSWERED,1,,two\n\
             three\",\n\
             c,2024-02-01T11:00:00Z,ANSWERED,1,,,\n"
        );
    }

    #[test]
    fn a_column_holding_two_fields_is_not_picked_from() {
        let present = [(Field::Id, Some(0)), (Field::UserId, Some(0))];
        let window = (utc("2024-03-01T00:00:00Z"), utc("2024-04-01T00:00:00Z"));
        assert!(WindowLines::new(2, &present, window, Arc::default()).is_none());
    }

    #[test]
    fn a_chunk_looked_at_in_pieces_keeps_the_lines_it_would_keep_whole() {
        let mut chunk = String::from("id,date,result,duration,ringing_seconds,note,tags\n");
        for day in 1..=90 {
            let date = chrono::NaiveDate::from_yo_opt(2024, day).unwrap();
            let result = if day % 11 == 0 { "maybe" } else { "ANSWERED" };
            chunk.push_str(&format!("c{day:03},{date}T08:00:00Z,{result},1,,,\n"));
        }
        let lines = march();
        let whole = lines.pick(chunk.as_bytes(), 0, true).unwrap();
        let mut expected = whole.kept.clone();
        let latest = whole.latest_left_out.into_latest().unwrap().1;
        expected.insert(
            expected.partition_point(|range| range.start < latest.start),
            latest,
        );
        let expected: String = expected.into_iter().map(|range| &chunk[range]).collect();
        assert_eq!(select(&lines, &chunk, true), expected);
        // Days 61 to 90 (1 to 30 March), the header, the doubtful days 11,
        // 22, 33, 44 and 55, and 29 February, the latest left out.
        assert_eq!(expected.lines().count(), 30 + 1 + 5 + 1, "{expected}");
    }

    #[test]
    fn timestamps_with_an_offset_are_read_to_the_microsecond() {
        let instant = |text: &str| instant_with_offset(text.as_bytes());
        let micros = |text: &str| Some(utc(text).timestamp_micros());
        assert_eq!(
            instant("2024-02-29T23:59:59Z"),
            micros("2024-02-29T23:59:59Z")
        );
        assert_eq!(
            instant("2024-02-29 23:59:59+00"),
            micros("2024-02-29T23:59:59Z")
        );
        assert_eq!(
            instant("2024-02-29 23:59:59.123456+01:00"),
            micros("2024-02-29T22:59:59.123456Z")
        );
        assert_eq!(instant("2023-02-29T00:00:00Z"), None);
        assert_eq!(instant("2024-02-29T24:00:00Z"), None);
        // Without an offset: read in the input time zone, by the row reader.
        assert_eq!(instant("2024-02-29T23:59:59"), None);
        // Outside the years a stored date may have.
        assert_eq!(instant("0000-01-01T00:30:00+01:00"), None);
    }

    /// Lines from values of every kind, some canonical, some off form, and
    /// the proof that the picker leaves out only what the column-wise
    /// reader accepts, with the date it gives.
    pub(in crate::ingest) mod against_the_column_wise_reader {
        use super::*;
        use crate::ingest::canonical_text::field_positions;
        use crate::ingest::csv::columnar::scan_canonical_csv;
        use crate::ingest::fields::ColumnNames;
        use crate::ingest::part::FastRead;
        use polars::prelude::DataType;
        use proptest::prelude::*;

        const HEADER: &str =
            "id,date,direction,type,user_name,result,duration,ringing_seconds,tags,note";

        pub(in crate::ingest) fn one_of(
            choices: &'static [&'static str],
        ) -> impl Strategy<Value = String> {
            prop::sample::select(choices).prop_map(str::to_string)
        }

        /// Mostly (four times in five) a canonical value, else an odd one.
        pub(in crate::ingest) fn mostly(
            canonical: impl Strategy<Value = String> + 'static,
            odd: impl Strategy<Value = String> + 'static,
        ) -> BoxedStrategy<String> {
            prop_oneof![4 => canonical, 1 => odd].boxed()
        }

        pub(in crate::ingest) fn date() -> BoxedStrategy<String> {
            let first = 1_672_531_200i64; // 2023-01-01T00:00:00Z
            let real = (0i64..3 * 365 * 86_400).prop_map(move |seconds| {
                DateTime::from_timestamp(first + seconds, 0)
                    .unwrap()
                    .format("%Y-%m-%dT%H:%M:%SZ")
                    .to_string()
            });
            let odd = prop_oneof![
                one_of(&[
                    "2024-02-29T23:59:59Z",
                    "2023-02-29T00:00:00Z",
                    "2024-02-01T10:00:60Z",
                    "2024-02-01T24:00:00Z",
                    "0999-01-01T00:00:00Z",
                    "2024-02-01 10:00:00Z",
                    "2024-02-01T10:00:00+01:00",
                    "2024-2-01T10:00:00Z",
                    " 2024-02-01T10:00:00Z",
                    "2024-02-01T10:00:00z",
                    "2024-02-01T10:00:00.5Z",
                ]),
                // Any two digits in each place of the canonical form.
                (
                    0u32..10_000,
                    0u32..100,
                    0u32..100,
                    0u32..100,
                    0u32..100,
                    0u32..100
                )
                    .prop_map(|(year, month, day, hour, minute, second)| format!(
                        "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z"
                    )),
            ];
            mostly(real, odd)
        }

        pub(in crate::ingest) fn number() -> BoxedStrategy<String> {
            let plain = prop_oneof![
                one_of(&["", "0", "007"]),
                "[0-9]{1,18}",
                "[0-9]{1,15}\\.[0-9]{1,9}",
            ];
            let odd = prop_oneof![
                one_of(&["-1", "15.", ".5", "1e3", "NaN", "inf", "-0", " 1", "+1", "0x10"]),
                "[0-9]{19,20}",
                "[0-9]{16,17}\\.[0-9]{10,11}",
            ];
            mostly(plain, odd)
        }

        fn line() -> impl Strategy<Value = String> {
            let text = || {
                mostly(
                    one_of(&["", "x", "é", "a b", "伊藤 さくら"]),
                    one_of(&[" x", "x "]),
                )
            };
            (
                mostly(one_of(&["cll-1", "Z"]), one_of(&["", " cll-1", "cll-1 "])),
                date(),
                mostly(
                    one_of(&["", "OUTBOUND", "INBOUND"]),
                    one_of(&["outbound", "OUT"]),
                ),
                mostly(one_of(&["", "CALL", "SMS"]), one_of(&["call", "FAX"])),
                text(),
                mostly(
                    one_of(&["ANSWERED", "VOICEMAIL", "NO_ANSWER"]),
                    one_of(&["", "answered", "MAYBE"]),
                ),
                number(),
                number(),
                mostly(
                    one_of(&["", "demo_booked", "a;b", ";", "Demo;X"]),
                    one_of(&[" demo", "x "]),
                ),
                text(),
            )
                .prop_map(|values| {
                    let (id, date, direction, kind, name, result, duration, ringing, tags, note) =
                        values;
                    [
                        id, date, direction, kind, name, result, duration, ringing, tags, note,
                    ]
                    .join(",")
                })
        }

        proptest! {
            // About one line in ten is left out (each value canonical four
            // times in five): some 100 lines read by the reader.
            #![proptest_config(ProptestConfig::with_cases(1_000))]

            #[test]
            fn a_line_left_out_is_one_the_reader_accepts_with_that_date(line in line()) {
                let header: Vec<String> = HEADER.split(',').map(str::to_string).collect();
                let names = ColumnNames::new(&[]).unwrap();
                let present = field_positions(&header, &names);
                let window = (
                    DateTime::parse_from_rfc3339("2024-03-01T00:00:00Z").unwrap().to_utc(),
                    DateTime::parse_from_rfc3339("2024-04-01T00:00:00Z").unwrap().to_utc(),
                );
                let picker = WindowLines::new(header.len(), &present, window, Arc::default()).unwrap();
                if let Some((date, _)) = picker.canonical_date_and_id(line.as_bytes()) {
                    let dir = tempfile::tempdir().unwrap();
                    let path = dir.path().join("calls.csv");
                    std::fs::write(&path, format!("{HEADER}\n{line}\n")).unwrap();
                    let read = match scan_canonical_csv(&path, "calls.csv", &names, None).unwrap() {
                        FastRead::Calls(part) => Some(part),
                        FastRead::RuleByRule => None,
                    };
                    prop_assert!(read.is_some(), "the reader refused {line:?}");
                    let frame = read.unwrap().frame.collect().unwrap();
                    let micros = frame.column("date").unwrap().cast(&DataType::Int64).unwrap();
                    prop_assert_eq!(frame.height(), 1);
                    prop_assert_eq!(micros.i64().unwrap().get(0), Some(date), "{}", line);
                }
            }
        }
    }
}
