//! The same calls written as CSV and as NDJSON (flat records, as DuckDB
//! writes them) in four row orders give the same response, byte for byte,
//! read whole or read for the request (the reader then may leave out the
//! lines outside the request's window), and that response is the naive
//! reference's and the engine's on the calls in memory.
//!
//! The calls get `generate`'s kind of ids, increasing with the date. The
//! four orders: (1) ids increasing and dates ascending, as `generate` writes
//! them (but for one stale repeat, below); (2) ids and dates in random order; (3) dates descending, newest
//! first, as an Allo export is; (4) dates shuffled within each week, so that
//! ids and dates are roughly increasing but never for long. Every file also
//! holds two ids twice, the stale occurrence always read before the one that
//! wins (SPEC §1.2): one on the same instant with another outcome and tag,
//! one dated in the current period while its winner is dated far outside
//! the request's window.

use std::path::PathBuf;

use callfunnel::ingest::{load, IngestOptions};
use callfunnel::model::{calls_to_frame, Call, CallResult, CallType, Direction};
use callfunnel::{compute, Request};
use chrono::{DateTime, Duration, TimeZone, Utc};
use polars::prelude::IntoLazy;

use crate::reference::{assert_json_matches, reference};

/// A 4-week period compared with the 4 weeks before, in a zone whose
/// clocks change within it (2024-03-10), by day, with a conversion tag and
/// a page of the drilldown of `stage`.
fn request(stage: &str, page: u32, size: u32) -> Request {
    Request::from_json_str(&format!(
        r#"{{"date": {{"from": "2024-03-04", "to": "2024-03-31"}},
            "compare_date": {{"from": "2024-02-05", "to": "2024-03-03"}},
            "tags": ["demo_booked"], "granularity": "DAY", "timezone": "America/New_York",
            "extend": "items", "stage": "{stage}", "page": {page}, "size": {size}}}"#
    ))
    .unwrap()
}

/// How many distinct calls the files hold.
const CALLS: usize = 1_500;

/// A small deterministic generator (SplitMix64): the files are the same on
/// every run.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound`.
    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        &from[self.below(from.len())]
    }

    /// Fisher–Yates.
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for last in (1..items.len()).rev() {
            items.swap(last, self.below(last + 1));
        }
    }
}

const USERS: [(&str, &str, &str); 4] = [
    ("usr-1", "Ana Lima", "ana@example.com"),
    ("usr-2", "Bo Chen", "bo@example.com"),
    ("usr-3", "Chloé Martin", "chloe@example.com"),
    ("usr-4", "Dev Patel", "dev@example.com"),
];

const RESULTS: [Option<CallResult>; 7] = [
    Some(CallResult::Answered),
    Some(CallResult::Answered),
    Some(CallResult::Voicemail),
    Some(CallResult::NoAnswer),
    Some(CallResult::Busy),
    Some(CallResult::Transferred),
    None,
];

const TAGS: [&[&str]; 4] = [&[], &[], &["demo_booked"], &["qualified"]];

/// One call dated `date`, its other fields drawn from `dice`.
fn call(id: String, date: DateTime<Utc>, dice: &mut Dice) -> Call {
    let mut call = Call::new(id, date);
    if dice.below(10) == 0 {
        call.direction = Direction::Inbound;
    }
    if dice.below(20) == 0 {
        call.call_type = CallType::Sms;
    }
    if dice.below(12) != 0 {
        let (id, name, email) = *dice.pick(&USERS);
        call.user_id = Some(id.into());
        call.user_name = Some(name.into());
        call.user_email = Some(email.into());
    }
    call.allo_number = Some(dice.pick(&["+33100000001", "+33100000002"]).to_string());
    call.allo_number_label = Some("Sales".into());
    call.contact_number = Some(format!("+336{:08}", dice.below(100_000_000)));
    call.result = *dice.pick(&RESULTS);
    if call.result == Some(CallResult::Answered) || call.result == Some(CallResult::Transferred) {
        call.duration = dice.below(600) as i64;
    }
    if dice.below(3) != 0 {
        call.ringing_seconds = Some(dice.below(40_000) as f64 / 1000.0);
    }
    call.tags = dice.pick(&TAGS).iter().map(|tag| tag.to_string()).collect();
    call
}

/// The distinct calls, by date, their ids increasing with it: from
/// 2024-01-20 to 2024-05-10, whole seconds, many near midnight in New York.
fn distinct_calls(dice: &mut Dice) -> Vec<Call> {
    let start = Utc.with_ymd_and_hms(2024, 1, 20, 0, 0, 0).unwrap();
    let span_seconds = 111 * 24 * 3600;
    let mut dates: Vec<DateTime<Utc>> = (0..CALLS)
        .map(|index| {
            let offset = if index % 5 == 0 {
                // 04:00 or 05:00 UTC, give or take a minute: midnight in New York.
                let day = dice.below(111) as i64;
                day * 24 * 3600 + [4, 5][dice.below(2)] * 3600 + dice.below(120) as i64 - 60
            } else {
                dice.below(span_seconds) as i64
            };
            start + Duration::seconds(offset)
        })
        .collect();
    dates.sort();
    dates
        .into_iter()
        .enumerate()
        .map(|(index, date)| call(format!("cll-{index:06}"), date, dice))
        .collect()
}

/// The stale occurrences: the first on the same instant as the call it
/// repeats, with another outcome and tag; the second dated in the current
/// period while the call it repeats (the latest of all) is outside the
/// window. Each with the index of the call it repeats.
fn stale_repeats(calls: &[Call]) -> Vec<(usize, Call)> {
    let same_instant = CALLS / 2;
    let mut first = calls[same_instant].clone();
    first.result = Some(CallResult::Answered);
    first.duration = 1_234;
    first.tags = vec!["demo_booked".into()];
    let latest = calls.len() - 1;
    assert!(calls[latest].date > Utc.with_ymd_and_hms(2024, 4, 20, 0, 0, 0).unwrap());
    let mut second = calls[latest].clone();
    second.date = Utc.with_ymd_and_hms(2024, 3, 15, 15, 0, 0).unwrap();
    second.result = Some(CallResult::Answered);
    second.duration = 300;
    second.tags = vec!["demo_booked".into()];
    vec![(same_instant, first), (latest, second)]
}

/// `call` as a CSV line of `sample_data/calls.csv`'s columns.
fn csv_line(call: &Call) -> String {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    [
        call.id.clone(),
        call.date.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        call.direction.to_string(),
        call.call_type.to_string(),
        text(&call.user_id),
        text(&call.user_name),
        text(&call.user_email),
        text(&call.allo_number),
        text(&call.allo_number_label),
        text(&call.contact_number),
        call.result
            .map(|result| result.to_string())
            .unwrap_or_default(),
        call.duration.to_string(),
        call.ringing_seconds
            .map(|seconds| seconds.to_string())
            .unwrap_or_default(),
        call.tags.join(";"),
    ]
    .join(",")
}

const HEADER: &str = "id,date,direction,type,user_id,user_name,user_email,allo_number,\
                      allo_number_label,contact_number,result,duration,ringing_seconds,tags";

/// The four orders of the calls' indexes (see the module's documentation).
fn orders(calls: &[Call], dice: &mut Dice) -> [(&'static str, Vec<usize>); 4] {
    let ascending: Vec<usize> = (0..calls.len()).collect();
    let mut random = ascending.clone();
    dice.shuffle(&mut random);
    let descending: Vec<usize> = ascending.iter().rev().copied().collect();
    let mut by_week = ascending.clone();
    let week = |index: &usize| calls[*index].date.timestamp() / (7 * 24 * 3600);
    for chunk in by_week.chunk_by_mut(|one, other| week(one) == week(other)) {
        dice.shuffle(chunk);
    }
    [
        ("ids increasing, dates ascending", ascending),
        ("ids and dates random", random),
        ("dates descending", descending),
        ("dates shuffled within each week", by_week),
    ]
}

/// A call as a flat NDJSON record, as DuckDB writes one: numbers as
/// numbers, absent values `null`, tags joined by `;`.
fn ndjson_line(call: &Call) -> String {
    let text = |value: Option<&str>| serde_json::to_string(&value).unwrap();
    let ringing = call.ringing_seconds.map(|seconds| seconds.to_string());
    let tags = (!call.tags.is_empty()).then(|| call.tags.join(";"));
    let result = call.result.map(|result| result.to_string());
    format!(
        r#"{{"id":{},"date":"{}","direction":"{}","type":"{}","user_id":{},"user_name":{},"user_email":{},"allo_number":{},"allo_number_label":{},"contact_number":{},"result":{},"duration":{},"ringing_seconds":{},"tags":{}}}"#,
        text(Some(&call.id)),
        call.date.format("%Y-%m-%d %H:%M:%S+00"),
        call.direction,
        call.call_type,
        text(call.user_id.as_deref()),
        text(call.user_name.as_deref()),
        text(call.user_email.as_deref()),
        text(call.allo_number.as_deref()),
        text(call.allo_number_label.as_deref()),
        text(call.contact_number.as_deref()),
        text(result.as_deref()),
        call.duration,
        ringing.as_deref().unwrap_or("null"),
        text(tags.as_deref()),
    )
}

/// The text of the calls in `order`, each line written by `line` after
/// `first` (a header), each stale repeat just before the call it repeats
/// (so the files of ids increasing keep them increasing).
fn text(
    calls: &[Call],
    stale: &[(usize, Call)],
    order: &[usize],
    first: Option<&str>,
    line: fn(&Call) -> String,
) -> String {
    let mut lines: Vec<String> = first.map(str::to_string).into_iter().collect();
    for &index in order {
        for (_, repeat) in stale.iter().filter(|(repeated, _)| *repeated == index) {
            lines.push(line(repeat));
        }
        lines.push(line(&calls[index]));
    }
    lines.join("\n") + "\n"
}

/// The response to `request` from `file`, read with `options`.
fn response(file: &PathBuf, request: &Request, options: &IngestOptions) -> String {
    let ingested = load(std::slice::from_ref(file), options).expect("the file loads");
    assert_eq!(ingested.report.duplicates, 2, "{}", file.display());
    compute(ingested.frame, request)
        .expect("the engine computes")
        .to_json_pretty()
}

#[test]
fn the_same_calls_in_four_orders_give_the_same_response() {
    let mut dice = Dice(28);
    let calls = distinct_calls(&mut dice);
    let stale = stale_repeats(&calls);
    let folder = tempfile::tempdir().unwrap();
    let mut files: Vec<(&str, PathBuf)> = Vec::new();
    for (number, (name, order)) in orders(&calls, &mut dice).into_iter().enumerate() {
        let csv = folder.path().join(format!("calls-{number}.csv"));
        let ndjson = folder.path().join(format!("calls-{number}.ndjson"));
        std::fs::write(&csv, text(&calls, &stale, &order, Some(HEADER), csv_line)).unwrap();
        std::fs::write(&ndjson, text(&calls, &stale, &order, None, ndjson_line)).unwrap();
        files.extend([(name, csv), (name, ndjson)]);
    }

    for request in [request("CONNECTED", 2, 25), request("CONVERSION", 1, 100)] {
        let in_memory = compute(calls_to_frame(calls.clone()).unwrap().lazy(), &request)
            .unwrap()
            .to_json_pretty();
        let expected: serde_json::Value = serde_json::from_str(&in_memory).unwrap();
        assert_json_matches(&expected, &reference(&calls, &request, false));
        let items = expected["data"]["items"]["data"].as_array().unwrap();
        assert!(!items.is_empty(), "the drilldown page holds calls");
        for (name, file) in &files {
            for options in [
                IngestOptions::default(),
                IngestOptions::for_request(&request),
            ] {
                let read = response(file, &request, &options);
                assert!(
                    read == in_memory,
                    "{name} ({}), keep_window {:?}: the response differs",
                    file.display(),
                    options.keep_window
                );
            }
        }
    }
}
