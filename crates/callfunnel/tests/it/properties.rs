//! Property tests of the engine (SPEC §3–§5) against the naive reference in
//! `reference.rs`, plus hand-computed cases for the corners of the calendar,
//! rounding and ordering.
//!
//! Case counts: 64 per property by default (set `PROPTEST_CASES` for more;
//! `ProptestConfig::with_cases` would ignore that variable, so it is read
//! here). Failures are not persisted to a regressions file: proptest prints
//! the minimal input, which is what a report needs.

use std::collections::BTreeSet;

use callfunnel::analysis::GroupBy;
use callfunnel::model::{calls_to_frame, Call, CallResult, CallType, Direction};
use callfunnel::request::{Granularity, ItemsRequest, Request, Stage};
use callfunnel::{compute_with, Rounding};
use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use polars::prelude::IntoLazy;
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{json, Value};

use crate::reference::{assert_json_matches, bucket_starts, json_differences, reference};

// ---------------------------------------------------------------------------
// Running the engine.
// ---------------------------------------------------------------------------

/// The engine's response as JSON.
fn engine(calls: &[Call], request: &Request, rounding: Rounding) -> Value {
    let frame = calls_to_frame(calls.to_vec()).expect("calls build a frame");
    let response = compute_with(frame.lazy(), request, rounding).expect("the engine computes");
    serde_json::to_value(&response).expect("responses serialize")
}

fn config(default_cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(default_cases);
    Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------
// Generators.
// ---------------------------------------------------------------------------

const ZONES: [&str; 8] = [
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "America/Sao_Paulo",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Pacific/Apia",
    "Asia/Tokyo",
];

/// Tag keys of the calls (lower case, as ingest stores them).
const TAGS: [&str; 5] = ["demo", "won", "lost", "follow-up", "démo"];

/// The user pool: ids chosen so that byte order differs from "natural" order.
const USERS: [(&str, &str, &str); 7] = [
    ("u-1", "Zoë Ångström", "zoe@example.com"),
    ("u-10", "李雷", "li.lei@example.cn"),
    ("u-9", "José Ñúñez", "jose@example.es"),
    ("U-2", "Ørjan 🚀", "orjan@example.no"),
    ("ü-3", "Ελένη", "eleni@example.gr"),
    ("u-a", "Mika", "mika@example.fi"),
    ("usr-😀", "Zeynep Çelik", "zeynep@example.tr"),
];

/// Allo numbers and their labels.
const NUMBERS: [(&str, Option<&str>); 3] = [
    ("+33612345678", Some("Sales FR")),
    ("+14155550100", Some("Sales US — West")),
    ("+5511987654321", None),
];

/// Period starts chosen for their calendar corners, used with an offset.
fn interesting_starts() -> Vec<NaiveDate> {
    [
        (2011, 12, 20), // Pacific/Apia skipped 2011-12-30
        (2018, 10, 28), // America/Sao_Paulo DST began at midnight 2018-11-04
        (2020, 12, 21), // year boundary inside an ISO week
        (2024, 2, 20),  // leap day
        (2024, 3, 24),  // EU DST start 2024-03-31, US 2024-03-10
        (2024, 4, 1),   // Lord Howe (30 min) DST end 2024-04-07
        (2024, 10, 20), // EU DST end 2024-10-27, US 2024-11-03
        (2023, 12, 25), // year boundary
        (2025, 6, 2),   // nothing special
        (1969, 12, 20), // negative timestamps around the Unix epoch
    ]
    .into_iter()
    .map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap())
    .collect()
}

#[derive(Debug, Clone)]
enum Filter {
    None,
    /// Bit mask over the user pool, plus an id that no call has.
    Users(u8, bool),
    /// Bit mask over the number pool.
    Numbers(u8),
}

/// Everything a request is built from, plus the sizes of the pools the calls draw from.
#[derive(Debug, Clone)]
struct Scenario {
    zone: Option<&'static str>,
    from: NaiveDate,
    to: NaiveDate,
    compare: Option<(NaiveDate, NaiveDate)>,
    granularity: Option<&'static str>,
    users: usize,
    numbers: usize,
    /// As written in the body (mixed case; validation lower-cases them).
    tags: Vec<String>,
    threshold: Option<i64>,
    filter: Filter,
    items: Option<(&'static str, u32, u32)>,
    /// The analysis fields of SPEC §8 (and `compare`).
    extensions: Extensions,
}

/// The SPEC §8 fields of a generated request, as written in the body.
#[derive(Debug, Clone, Default)]
struct Extensions {
    /// `group_by`, in the case written.
    group_by: Option<&'static str>,
    group_sort: Option<&'static str>,
    /// `group_page` and `group_size`.
    group_page: Option<(u32, u32)>,
    connect_rules: bool,
    reach: bool,
    intervals: bool,
    /// A `compare` preset (only when the scenario gives no `compare_date`).
    compare: Option<&'static str>,
}

impl Extensions {
    fn insert_into(&self, fields: &mut serde_json::Map<String, Value>) {
        let texts = [
            ("group_by", self.group_by),
            ("group_sort", self.group_sort),
            ("compare", self.compare),
        ];
        for (name, value) in texts {
            if let Some(value) = value {
                fields.insert(name.into(), json!(value));
            }
        }
        if let Some((page, size)) = self.group_page {
            fields.insert("group_page".into(), json!(page));
            fields.insert("group_size".into(), json!(size));
        }
        let flags = [
            ("connect_rules", self.connect_rules),
            ("reach", self.reach),
            ("intervals", self.intervals),
        ];
        for (name, value) in flags {
            if value {
                fields.insert(name.into(), json!(true));
            }
        }
    }
}

/// The SPEC §8 fields, often absent; presets valid for the period (from
/// `from`, `days` long, `compare_date` given or not).
fn extensions(from: NaiveDate, days: u32, compare_date: bool) -> impl Strategy<Value = Extensions> {
    let group_by = prop_oneof![
        2 => Just(None),
        1 => proptest::sample::select(vec![
            "USER", "user", "ALLO_NUMBER", "Tag", "CONTACT_NUMBER", "RESULT", "weekday", "HOUR",
        ])
        .prop_map(Some),
    ];
    let group_sort = proptest::sample::select(vec![
        None,
        Some("dials"),
        Some("CONNECTED"),
        Some("conversations"),
        Some("conversions"),
        Some("connect_rate"),
        Some("Conversion_Rate"),
        Some("key"),
    ]);
    let group_page = prop_oneof![
        2 => Just(None),
        1 => (1u32..=4, 1u32..=4).prop_map(Some),
        1 => Just(Some((1, 1000))),
    ];
    let whole_month = from.day() == 1
        && from.checked_add_months(Months::new(1)) == Some(from + Days::new(u64::from(days)));
    let mut presets = vec![None];
    if !compare_date {
        presets.extend([
            Some("none"),
            Some("PREVIOUS_PERIOD"),
            Some("same_weekdays_last_year"),
        ]);
        if whole_month {
            presets.push(Some("previous_month"));
        }
    }
    let compare = proptest::sample::select(presets);
    (
        group_by,
        group_sort,
        group_page,
        proptest::bool::weighted(0.3),
        proptest::bool::weighted(0.3),
        proptest::bool::weighted(0.3),
        compare,
    )
        .prop_map(
            |(group_by, group_sort, group_page, connect_rules, reach, intervals, compare)| {
                Extensions {
                    group_by,
                    group_sort,
                    group_page,
                    connect_rules,
                    reach,
                    intervals,
                    compare,
                }
            },
        )
}

impl Scenario {
    fn body(&self) -> Value {
        let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
        let mut body = json!({ "date": { "from": day(self.from), "to": day(self.to) } });
        let fields = body.as_object_mut().unwrap();
        if let Some((from, to)) = self.compare {
            fields.insert(
                "compare_date".into(),
                json!({ "from": day(from), "to": day(to) }),
            );
        }
        if let Some(zone) = self.zone {
            fields.insert("timezone".into(), json!(zone));
        }
        if let Some(granularity) = self.granularity {
            fields.insert("granularity".into(), json!(granularity));
        }
        if !self.tags.is_empty() {
            fields.insert("tags".into(), json!(self.tags));
        }
        if let Some(threshold) = self.threshold {
            fields.insert("conversation_threshold_seconds".into(), json!(threshold));
        }
        match self.filter {
            Filter::None => {}
            Filter::Users(mask, ghost) => {
                let mut ids: Vec<&str> = (0..self.users)
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| USERS[i].0)
                    .collect();
                if ghost {
                    ids.push("u-ghost");
                }
                fields.insert("user_ids".into(), json!(ids));
            }
            Filter::Numbers(mask) => {
                let numbers: Vec<&str> = (0..self.numbers)
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| NUMBERS[i].0)
                    .collect();
                fields.insert("allo_numbers".into(), json!(numbers));
            }
        }
        if let Some((stage, page, size)) = self.items {
            fields.insert("extend".into(), json!("items"));
            fields.insert("stage".into(), json!(stage));
            fields.insert("page".into(), json!(page));
            fields.insert("size".into(), json!(size));
        }
        self.extensions.insert_into(fields);
        body
    }

    fn request(&self) -> Request {
        let body = self.body();
        Request::from_json(&body).unwrap_or_else(|err| panic!("invalid generated {body}: {err}"))
    }
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let starts = interesting_starts();
    let period = prop_oneof![
        // The pinned corners of the brief.
        1 => Just((NaiveDate::from_ymd_opt(2020, 12, 28).unwrap(), 14u32)),
        1 => Just((NaiveDate::from_ymd_opt(2020, 12, 31).unwrap(), 10u32)),
        1 => Just((NaiveDate::from_ymd_opt(2024, 2, 26).unwrap(), 7u32)),
        1 => Just((NaiveDate::from_ymd_opt(2024, 3, 31).unwrap(), 1u32)),
        // Whole months, for `compare: previous_month`.
        1 => Just((NaiveDate::from_ymd_opt(2024, 2, 1).unwrap(), 29u32)),
        1 => Just((NaiveDate::from_ymd_opt(2021, 1, 1).unwrap(), 31u32)),
        6 => (0..starts.len(), 0u64..21, prop_oneof![9 => 1u32..=60, 1 => 61u32..=400])
            .prop_map(move |(i, offset, days)| (starts[i] + Days::new(offset), days)),
    ];
    let compare = prop_oneof![
        2 => Just(None),
        // From `offset` days relative to date.from: overlapping when > −len.
        1 => (-70i64..=10, 1u32..=60).prop_map(Some),
    ];
    let zone =
        prop_oneof![1 => Just(None), 6 => proptest::sample::select(ZONES.to_vec()).prop_map(Some)];
    let granularity =
        proptest::sample::select(vec![None, Some("DAY"), Some("WEEK"), Some("MONTH")]);
    let tags = proptest::collection::vec(
        proptest::sample::select(vec!["demo", "Won", "LOST", "démo", "unused"]),
        0..3,
    );
    let threshold = proptest::sample::select(vec![None, None, Some(60), Some(0), Some(30)]);
    let filter = prop_oneof![
        3 => Just(Filter::None),
        1 => (any::<u8>(), any::<bool>()).prop_map(|(m, g)| Filter::Users(m, g)),
        1 => any::<u8>().prop_map(Filter::Numbers),
    ];
    let items = prop_oneof![
        1 => Just(None),
        2 => (
            proptest::sample::select(vec!["DIAL", "CONNECTED", "CONVERSATION", "CONVERSION"]),
            prop_oneof![3 => Just(1u32), 1 => 1u32..=5],
            prop_oneof![Just(1u32), Just(2), Just(3), 1u32..=100],
        )
            .prop_map(Some),
    ];
    (
        period,
        compare,
        zone,
        granularity,
        0usize..=6,
        0usize..=3,
        tags,
        threshold,
        filter,
        items,
    )
        .prop_map(
            |(
                (from, days),
                compare,
                zone,
                granularity,
                users,
                numbers,
                tags,
                threshold,
                filter,
                items,
            )| {
                let to = from + Days::new(u64::from(days) - 1);
                let compare = compare.map(|(offset, len): (i64, u32)| {
                    let start = if offset < 0 {
                        from - Days::new(offset.unsigned_abs())
                    } else {
                        from + Days::new(offset as u64)
                    };
                    (start, start + Days::new(u64::from(len) - 1))
                });
                let tags: Vec<String> = tags.into_iter().map(str::to_string).collect();
                // CONVERSION drilldowns require tags (SPEC §2.1).
                let items = items.map(|(stage, page, size)| {
                    if stage == "CONVERSION" && tags.is_empty() {
                        ("CONNECTED", page, size)
                    } else {
                        (stage, page, size)
                    }
                });
                Scenario {
                    zone,
                    from,
                    to,
                    compare,
                    granularity,
                    users,
                    numbers,
                    tags,
                    threshold,
                    filter,
                    items,
                    extensions: Extensions::default(),
                }
            },
        )
        .prop_flat_map(|scenario| {
            let days = (scenario.to - scenario.from).num_days() as u32 + 1;
            extensions(scenario.from, days, scenario.compare.is_some()).prop_map(
                move |extensions| Scenario {
                    extensions,
                    ..scenario.clone()
                },
            )
        })
}

/// Instants worth hitting in `[start, end)`: every local midnight (and one
/// second either side) and every UTC-offset transition (and one second either side).
fn special_instants(tz: Tz, start: i64, end: i64) -> Vec<i64> {
    let offset = |t: i64| {
        tz.offset_from_utc_datetime(&DateTime::from_timestamp(t, 0).unwrap().naive_utc())
            .fix()
            .local_minus_utc()
    };
    let mut instants = BTreeSet::new();
    let mut t = start;
    while t < end {
        if offset(t) != offset(t + 3600) {
            // First second with the new offset.
            let (mut lo, mut hi) = (t, t + 3600);
            while hi - lo > 1 {
                let mid = (lo + hi) / 2;
                if offset(mid) == offset(t) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            instants.extend([hi - 1, hi, hi + 1]);
        }
        t += 3600;
    }
    let first = DateTime::from_timestamp(start, 0).unwrap().date_naive() - Days::new(1);
    let last = DateTime::from_timestamp(end, 0).unwrap().date_naive() + Days::new(1);
    let mut day = first;
    while day <= last {
        if let Some(midnight) = tz
            .from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap())
            .earliest()
        {
            let m = midnight.timestamp();
            instants.extend([m - 1, m, m + 1]);
        }
        day = day + Days::new(1);
    }
    instants
        .into_iter()
        .filter(|t| (start..end).contains(t))
        .collect()
}

/// One generated call, before it gets its id.
#[derive(Debug, Clone)]
struct CallSpec {
    /// Seconds since the epoch.
    seconds: i64,
    /// Sub-second part, microseconds.
    micros: u32,
    outbound: bool,
    call: bool,
    /// User pool index, field mode (see [`CallSpec::into_call`]), renamed or not.
    user: (usize, u8, bool),
    number: Option<usize>,
    contact: Option<u16>,
    result: Option<CallResult>,
    duration: i64,
    /// Ringing in tenths of a second: decimal values whose binary mean can
    /// fall on the other side of a rounding half than their decimal mean
    /// (36 values with decimal mean 12.65 have a binary mean of 12.65 − 1.9e-16);
    /// SPEC §4's "exact value" is read to the millisecond by both sides.
    ringing_tenths: Option<u32>,
    tags: u8,
}

impl CallSpec {
    fn into_call(self, id: String, users: usize, numbers: usize) -> Call {
        let date = DateTime::from_timestamp(self.seconds, self.micros * 1000).unwrap();
        let mut call = Call::new(id, date);
        call.direction = if self.outbound {
            Direction::Outbound
        } else {
            Direction::Inbound
        };
        call.call_type = if self.call {
            CallType::Call
        } else {
            CallType::Sms
        };
        if users > 0 {
            let (index, mode, renamed) = self.user;
            let (id, name, email) = USERS[index % users];
            let name = if renamed {
                format!("{name} (ancien)")
            } else {
                name.to_string()
            };
            // 0–5 full, 6 no user at all, 7 id only, 8 id and name,
            // 9 name and email, 10 name only, 11 email only.
            let (has_id, has_name, has_email) = match mode {
                0..=5 => (true, true, true),
                6 => (false, false, false),
                7 => (true, false, false),
                8 => (true, true, false),
                9 => (false, true, true),
                10 => (false, true, false),
                _ => (false, false, true),
            };
            call.user_id = has_id.then(|| id.to_string());
            call.user_name = has_name.then_some(name);
            call.user_email = has_email.then(|| email.to_string());
        }
        if numbers > 0 {
            if let Some(index) = self.number {
                let (number, label) = NUMBERS[index % numbers];
                call.allo_number = Some(number.to_string());
                call.allo_number_label = label.map(str::to_string);
            }
        }
        call.contact_number = self.contact.map(|n| format!("+4420794600{n:02}"));
        call.result = self.result;
        call.duration = self.duration;
        call.ringing_seconds = self.ringing_tenths.map(|tenths| f64::from(tenths) / 10.0);
        call.tags = TAGS
            .iter()
            .enumerate()
            .filter(|(i, _)| self.tags & (1 << i) != 0)
            .map(|(_, tag)| tag.to_string())
            .collect();
        call
    }
}

fn call_spec(start: i64, end: i64, specials: Vec<i64>) -> impl Strategy<Value = CallSpec> {
    let seconds = if specials.is_empty() {
        (start..end).boxed()
    } else {
        let ties: Vec<i64> = (0..6)
            .map(|k| start + 86_400 * 3 + k * 7_919 * 60)
            .collect();
        // Far from the periods: only `last_updated` may see these.
        let far = vec![start - 400 * 86_400, end + 3 * 365 * 86_400];
        prop_oneof![
            40 => start..end,
            30 => proptest::sample::select(specials),
            10 => proptest::sample::select(ties),
            1 => proptest::sample::select(far),
        ]
        .boxed()
    };
    let micros = prop_oneof![9 => Just(0u32), 1 => 0u32..1_000_000];
    let result = prop_oneof![
        4 => Just(None),
        10 => Just(Some(CallResult::Answered)),
        2 => Just(Some(CallResult::Transferred)),
        1 => Just(Some(CallResult::TransferredAi)),
        1 => Just(Some(CallResult::TransferredExternal)),
        4 => Just(Some(CallResult::Voicemail)),
        1 => Just(Some(CallResult::Missed)),
        4 => Just(Some(CallResult::NoAnswer)),
        2 => Just(Some(CallResult::Busy)),
        2 => Just(Some(CallResult::Failed)),
        1 => Just(Some(CallResult::FailedExternal)),
        1 => Just(Some(CallResult::Blocked)),
        2 => Just(Some(CallResult::Canceled)),
        1 => Just(Some(CallResult::Closed)),
        1 => Just(Some(CallResult::Received)),
    ];
    let duration = prop_oneof![
        3 => Just(0i64),
        2 => Just(59i64),
        2 => Just(60i64),
        2 => Just(61i64),
        1 => Just(29i64),
        1 => Just(30i64),
        1 => Just(31i64),
        1 => Just(1i64),
        4 => 0i64..900,
    ];
    let ringing = prop_oneof![1 => Just(None), 2 => (0u32..600).prop_map(Some)];
    let tags = prop_oneof![2 => Just(0u8), 1 => 0u8..32];
    (
        (seconds, micros),
        proptest::bool::weighted(0.9),
        proptest::bool::weighted(0.9),
        (0usize..7, 0u8..12, proptest::bool::weighted(0.2)),
        proptest::option::weighted(0.8, 0usize..3),
        proptest::option::weighted(0.9, 0u16..40),
        result,
        duration,
        ringing,
        tags,
    )
        .prop_map(
            |(
                (seconds, micros),
                outbound,
                call,
                user,
                number,
                contact,
                result,
                duration,
                ringing_tenths,
                tags,
            )| CallSpec {
                seconds,
                micros,
                outbound,
                call,
                user,
                number,
                contact,
                result,
                duration,
                ringing_tenths,
                tags,
            },
        )
}

/// A scenario and a call log spread over both of its periods (and a little around).
fn case() -> impl Strategy<Value = (Scenario, Vec<Call>)> {
    scenario().prop_flat_map(|scenario| {
        let request = scenario.request();
        let (start, end) = callfunnel::engine::window(&request);
        let (start, end) = (start.timestamp(), end.timestamp());
        let specials = special_instants(request.timezone, start, end);
        let (users, numbers) = (scenario.users, scenario.numbers);
        let calls = proptest::collection::vec(call_spec(start, end, specials), 0..300).prop_map(
            move |specs| {
                specs
                    .into_iter()
                    .enumerate()
                    .map(|(n, spec)| spec.into_call(format!("cll-{n}"), users, numbers))
                    .collect::<Vec<_>>()
            },
        );
        (Just(scenario), calls)
    })
}

/// One day's calls and its comparison day's, with counts chosen so that
/// rates and changes often fall exactly on a half that binary floating point
/// misplaces (3 ÷ 40 = 0.075 is 0.07499999… and 201 ÷ 400 = 0.5025 gives
/// 502.49999… when scaled), and averages often on a half too.
fn halves_case() -> impl Strategy<Value = Vec<Call>> {
    let count = || {
        prop_oneof![
            Just(8usize),
            Just(16),
            Just(20),
            Just(40),
            Just(80),
            Just(200),
            Just(400),
            // (229 − 200) ÷ 200 = 0.145 and (63 − 40) ÷ 40 = 0.575: binary misplaces both.
            Just(229),
            Just(63),
            1usize..260
        ]
    };
    let side = || {
        (
            count(),
            any::<proptest::sample::Index>(),
            proptest::collection::vec(0i64..5, 1..=41),
            any::<proptest::sample::Index>(),
        )
    };
    // The first `connected` calls are answered (durations cycled from the
    // list), the first `conversions` calls carry the request's tag.
    let day = |(dials, connected, durations, conversions): (
        usize,
        proptest::sample::Index,
        Vec<i64>,
        proptest::sample::Index,
    ),
               day: &str| {
        let connected = connected.index(dials + 1);
        let conversions = conversions.index(dials + 1);
        (0..dials)
            .map(|i| {
                let mut c = Call::new(format!("{day}-{i}"), at(&format!("{day}T12:00:00Z")));
                if i < connected {
                    c.result = Some(CallResult::Answered);
                    c.duration = durations[i % durations.len()];
                } else {
                    c.result = Some(CallResult::NoAnswer);
                }
                if i < conversions {
                    c.tags = vec!["won".into()];
                }
                c.ringing_seconds = Some(f64::from(i as u32 % 7) / 4.0);
                c
            })
            .collect::<Vec<_>>()
    };
    (side(), side()).prop_map(move |(current, previous)| {
        let mut calls = day(current, "2024-06-03");
        calls.extend(day(previous, "2024-06-02"));
        calls
    })
}

// ---------------------------------------------------------------------------
// Helpers on responses.
// ---------------------------------------------------------------------------

fn int(value: &Value) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("expected a non-negative integer, got {value}"))
}

fn series_sum(data: &Value, name: &str, field: &str) -> u64 {
    data[name][field]
        .as_array()
        .unwrap()
        .iter()
        .map(|point| int(&point["value"]))
        .sum()
}

/// The current-period calls that count (outbound CALLs passing the filters).
fn current_calls<'a>(calls: &'a [Call], request: &Request) -> Vec<&'a Call> {
    calls
        .iter()
        .filter(|c| c.direction == Direction::Outbound && c.call_type == CallType::Call)
        .filter(|c| {
            request.user_ids.is_empty()
                || c.user_id
                    .as_ref()
                    .is_some_and(|id| request.user_ids.contains(id))
        })
        .filter(|c| {
            request.allo_numbers.is_empty()
                || c.allo_number
                    .as_ref()
                    .is_some_and(|n| request.allo_numbers.contains(n))
        })
        .filter(|c| {
            request
                .date
                .contains(c.date.with_timezone(&request.timezone).date_naive())
        })
        .collect()
}

/// SPEC §5 invariants, on the engine's JSON.
fn check_invariants(calls: &[Call], request: &Request, response: &Value) {
    let data = &response["data"];
    let funnel = &data["funnel"];
    let count = |stage: &str| int(&funnel[stage]["count"]["value"]);
    let previous = |stage: &str| int(&funnel[stage]["count"]["previous"]);
    let (dials, connected, conversations, conversions) = (
        count("dials"),
        count("connected"),
        count("conversations"),
        count("conversions"),
    );
    assert!(dials >= connected && connected >= conversations && conversions <= dials);
    if request.compare_date.is_some() {
        assert!(
            previous("dials") >= previous("connected")
                && previous("connected") >= previous("conversations")
                && previous("conversions") <= previous("dials")
        );
    } else {
        // SPEC §8.5: `compare: none` nulls every comparison of `data`.
        assert!(data["compare_date"].is_null());
        for stage in ["dials", "connected", "conversations", "conversions"] {
            assert!(funnel[stage]["count"]["previous"].is_null(), "{stage}");
            assert!(funnel[stage]["count"]["change"].is_null(), "{stage}");
        }
        for metric in data["time_spent"].as_object().unwrap().values() {
            assert!(metric["previous"].is_null() && metric["change"].is_null());
        }
    }
    check_analysis(calls, request, response);

    assert_eq!(series_sum(data, "time_series", "dials"), dials);
    assert_eq!(series_sum(data, "time_series", "connected"), connected);
    assert_eq!(series_sum(data, "time_series", "conversions"), conversions);
    assert_eq!(series_sum(data, "heatmap", "dials"), dials);
    assert_eq!(series_sum(data, "heatmap", "connected"), connected);

    let with_user = current_calls(calls, request)
        .into_iter()
        .filter(|c| c.user_id.is_some() && picked_up(c))
        .count() as u64;
    let board: u64 = data["leaderboard"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| int(&entry["connected"]))
        .sum();
    assert_eq!(board, with_user, "Σ leaderboard connected");

    if let Some(items) = &request.items {
        let stage = match items.stage {
            Stage::Dial => "dials",
            Stage::Connected => "connected",
            Stage::Conversation => "conversations",
            Stage::Conversion => "conversions",
        };
        let pagination = &data["items"]["pagination"];
        assert_eq!(int(&pagination["total_count"]), count(stage));
        assert_eq!(
            int(&pagination["total_pages"]),
            count(stage).div_ceil(u64::from(items.size))
        );
        let shown = data["items"]["data"].as_array().unwrap().len() as u64;
        let offset = u64::from(items.page - 1) * u64::from(items.size);
        assert_eq!(
            shown,
            count(stage)
                .saturating_sub(offset)
                .min(u64::from(items.size))
        );
    } else {
        assert!(data.get("items").is_none(), "items without extend");
    }

    // 168 cells, Monday→Sunday then hour 0→23.
    const DAYS: [&str; 7] = [
        "MONDAY",
        "TUESDAY",
        "WEDNESDAY",
        "THURSDAY",
        "FRIDAY",
        "SATURDAY",
        "SUNDAY",
    ];
    for map in ["dials", "connected", "connection_rate"] {
        let cells = data["heatmap"][map].as_array().unwrap();
        assert_eq!(cells.len(), 168);
        for (i, cell) in cells.iter().enumerate() {
            assert_eq!(cell["day"], DAYS[i / 24]);
            assert_eq!(int(&cell["hour"]), (i % 24) as u64);
        }
    }

    // Series: ascending, gap-free, first bucket holds date.from, last one date.to.
    for name in ["dials", "connected", "connection_rate", "conversions"] {
        let dates: Vec<NaiveDate> = data["time_series"][name]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| NaiveDate::parse_from_str(p["date"].as_str().unwrap(), "%Y-%m-%d").unwrap())
            .collect();
        assert!(!dates.is_empty());
        let next = |d: NaiveDate| match request.granularity {
            Granularity::Day => d + Days::new(1),
            Granularity::Week => d + Days::new(7),
            Granularity::Month => d + Months::new(1),
        };
        for pair in dates.windows(2) {
            assert_eq!(next(pair[0]), pair[1], "series {name} has a gap");
        }
        for d in &dates {
            match request.granularity {
                Granularity::Day => {}
                Granularity::Week => assert_eq!(d.weekday(), chrono::Weekday::Mon),
                Granularity::Month => assert_eq!(d.day(), 1),
            }
        }
        assert!(dates[0] <= request.date.from && request.date.from < next(dates[0]));
        let last = *dates.last().unwrap();
        assert!(last <= request.date.to && request.date.to < next(last));
    }
}

/// SPEC §8 invariants on a response's `analysis`: the breakdown's rows add
/// up to the funnel (every grouping but `TAG`, whose rows hold each tag's
/// calls), the page is the one asked for, the connect rules agree with the
/// funnel, and `analysis` is there exactly when something of §8 was asked.
fn check_analysis(calls: &[Call], request: &Request, response: &Value) {
    let data = &response["data"];
    let Some(analysis) = response.get("analysis") else {
        assert!(request.analysis.is_empty(), "analysis missing");
        return;
    };
    assert!(!request.analysis.is_empty(), "analysis not asked for");
    let funnel = &data["funnel"];
    if let Some(breakdown) = &request.analysis.breakdown {
        let rows = analysis["breakdown"]["rows"].as_array().unwrap();
        let pagination = &analysis["breakdown"]["pagination"];
        let total = int(&pagination["total_count"]);
        let offset = u64::from(breakdown.page - 1) * u64::from(breakdown.size);
        assert_eq!(
            rows.len() as u64,
            total.saturating_sub(offset).min(u64::from(breakdown.size))
        );
        // `period`: "" for the current figures, "/previous" for the others.
        let sum = |period: &str, name: &str| -> u64 {
            rows.iter()
                .map(|row| int(row.pointer(&format!("{period}/{name}")).unwrap()))
                .sum()
        };
        let all_rows = rows.len() as u64 == total;
        if breakdown.group_by == GroupBy::Tag {
            let tagged = current_calls(calls, request);
            for row in rows {
                let carrying = tagged
                    .iter()
                    .filter(|call| match row["key"].as_str() {
                        Some(tag) => call.tags.iter().any(|t| t == tag),
                        None => call.tags.is_empty(),
                    })
                    .count() as u64;
                assert_eq!(int(&row["dials"]), carrying, "tag {}", row["key"]);
            }
            if all_rows {
                let expected: usize = tagged.iter().map(|call| call.tags.len().max(1)).sum();
                assert_eq!(sum("", "dials"), expected as u64);
            }
        } else if all_rows {
            for (stage, name) in [
                ("dials", "dials"),
                ("connected", "connected"),
                ("conversations", "conversations"),
                ("conversions", "conversions"),
            ] {
                assert_eq!(
                    sum("", name),
                    int(&funnel[stage]["count"]["value"]),
                    "{name}"
                );
                if request.compare_date.is_some() {
                    assert_eq!(
                        sum("/previous", name),
                        int(&funnel[stage]["count"]["previous"]),
                        "previous {name}"
                    );
                }
            }
            let total_talk = &data["time_spent"]["total_conversation_time_seconds"];
            assert_eq!(
                sum("", "total_conversation_time_seconds"),
                int(&total_talk["value"])
            );
        }
        for row in rows {
            assert!(int(&row["dials"]) > 0 || row["previous"]["dials"].as_u64().unwrap_or(0) > 0);
            assert_eq!(row["previous"].is_null(), request.compare_date.is_none());
        }
    }
    if request.analysis.connect_rules {
        let rules = &analysis["connect_rules"];
        for (period, value) in [("current", "value"), ("previous", "previous")] {
            if period == "previous" && request.compare_date.is_none() {
                assert!(rules["previous"].is_null());
                continue;
            }
            assert_eq!(rules[period]["dials"], funnel["dials"]["count"][value]);
            assert_eq!(
                rules[period]["connected"],
                funnel["connected"]["count"][value]
            );
        }
        assert_eq!(
            rules["current"]["connect_rate"],
            funnel["connected"]["rate"]
        );
    }
}

// ---------------------------------------------------------------------------
// Round trip through the drilldown pages.
// ---------------------------------------------------------------------------

/// A drilldown item back into a call, per SPEC §1.1.
fn item_to_call(item: &Value, request: &Request) -> Call {
    let date = DateTime::parse_from_rfc3339(item["date"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc);
    let mut call = Call::new(item["id"].as_str().unwrap(), date);
    let text = |v: &Value| v.as_str().map(str::to_string);
    if !item["user"].is_null() {
        call.user_id = text(&item["user"]["id"]);
        call.user_name = text(&item["user"]["name"]);
        call.user_email = text(&item["user"]["email"]);
    }
    call.allo_number = text(&item["allo_number"]);
    call.allo_number_label = text(&item["allo_number_label"]);
    call.contact_number = text(&item["contact_number"]);
    call.duration = item["duration"].as_i64().unwrap();
    let stage = item["stage"].as_str().unwrap();
    call.result = if item["voicemail"].as_bool().unwrap() {
        Some(CallResult::Voicemail)
    } else if stage == "CONNECTED"
        || stage == "CONVERSATION"
        || (stage == "CONVERSION" && call.duration > 0)
    {
        Some(CallResult::Answered)
    } else {
        None
    };
    if stage == "CONVERSION" {
        // The request's tags; without any, the tag `converted`.
        call.tags = if request.tags.is_empty() {
            vec!["converted".to_string()]
        } else {
            request.tags.clone()
        };
    }
    call
}

/// Whether `call` converts for `request` (SPEC §3, read independently of the engine).
fn converts(call: &Call, request: &Request) -> bool {
    if request.tags.is_empty() {
        !call.tags.is_empty()
    } else {
        call.tags.iter().any(|tag| request.tags.contains(tag))
    }
}

/// Whether `call` is connected (SPEC §3, read independently of the engine).
fn picked_up(call: &Call) -> bool {
    matches!(
        call.result,
        Some(
            CallResult::Answered
                | CallResult::Transferred
                | CallResult::TransferredAi
                | CallResult::TransferredExternal
        )
    )
}

/// Makes a call log one whose drilldown pages can describe it: item dates
/// have whole seconds (a finer instant could reorder a user's calls within
/// one second and change the leaderboard's name), and a call that was not
/// picked up (by the recipient or a voicemail) has no talk time (SPEC §1:
/// talk time runs from pickup to hang-up; a converted one with talk time
/// would be read back as connected). Converted, connected calls of zero
/// duration are kept: they are SPEC §5's one exception.
fn describable(mut calls: Vec<Call>) -> Vec<Call> {
    for call in &mut calls {
        call.date = DateTime::from_timestamp(call.date.timestamp(), 0).unwrap();
        if !picked_up(call) && call.result != Some(CallResult::Voicemail) {
            call.duration = 0;
        }
    }
    calls
}

/// The calls as their drilldown items give them back (SPEC §5): the same,
/// except the one forced exception: a converted, connected call of zero
/// duration comes back as not connected (its item says CONVERSION, 0 s).
pub(crate) fn as_read_back(calls: &[Call], request: &Request) -> Vec<Call> {
    calls
        .iter()
        .cloned()
        .map(|mut call| {
            if converts(&call, request) && picked_up(&call) && call.duration == 0 {
                call.result = None;
            }
            call
        })
        .collect()
}

/// The sections SPEC §5 says survive the round trip (current values only:
/// the pages hold only current-period calls; ringing aside). Shared with the
/// verify tests' round trips.
pub(crate) fn round_trip_view(response: &Value) -> Value {
    let data = &response["data"];
    let stage = |name: &str| {
        json!({
            "value": data["funnel"][name]["count"]["value"],
            "rate": data["funnel"][name]["rate"],
        })
    };
    json!({
        "funnel": {
            "dials": stage("dials"),
            "connected": stage("connected"),
            "conversations": stage("conversations"),
            "conversions": stage("conversions"),
        },
        "time_series": data["time_series"],
        "heatmap": data["heatmap"],
        "leaderboard": data["leaderboard"],
        "avg_conversation_time_seconds": data["time_spent"]["avg_conversation_time_seconds"]["value"],
        "total_conversation_time_seconds": data["time_spent"]["total_conversation_time_seconds"]["value"],
    })
}

// ---------------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(64))]

    /// Property 1: the engine equals the reference, rounded and exact.
    #[test]
    fn engine_matches_reference((scenario, calls) in case()) {
        let request = scenario.request();
        let expected = reference(&calls, &request, false);
        assert_json_matches(&engine(&calls, &request, Rounding::Api), &expected);
        let exact = reference(&calls, &request, true);
        assert_json_matches(&engine(&calls, &request, Rounding::Exact), &exact);
    }

    /// Property 2: SPEC §5 invariants on the engine's output.
    #[test]
    fn engine_holds_invariants((scenario, calls) in case()) {
        let request = scenario.request();
        check_invariants(&calls, &request, &engine(&calls, &request, Rounding::Api));
        check_invariants(&calls, &request, &engine(&calls, &request, Rounding::Exact));
    }

    /// Property 2 bis: the reference holds them too (checks the checker).
    #[test]
    fn reference_holds_invariants((scenario, calls) in case()) {
        let request = scenario.request();
        check_invariants(&calls, &request, &reference(&calls, &request, false));
    }

    /// Property 3: same input and request → the same bytes.
    #[test]
    fn engine_is_deterministic((scenario, calls) in case()) {
        let request = scenario.request();
        let run = || {
            let frame = calls_to_frame(calls.clone()).unwrap();
            serde_json::to_string(&compute_with(frame.lazy(), &request, Rounding::Api).unwrap())
                .unwrap()
        };
        prop_assert_eq!(run(), run());
    }

    /// Property 4 (SPEC §5): recomputing from every DIAL drilldown page gives
    /// back the same funnel counts, series, heatmap and leaderboard, but for
    /// the one forced exception (see [`as_read_back`]).
    #[test]
    fn drilldown_pages_round_trip((scenario, calls) in case()) {
        let mut request = scenario.request();
        request.items = None;
        let calls = describable(calls);
        let original = engine(&calls, &request, Rounding::Api);
        let expected = engine(&as_read_back(&calls, &request), &request, Rounding::Api);

        let mut rebuilt = Vec::new();
        let mut page = 1;
        loop {
            let mut paged = request.clone();
            paged.items = Some(ItemsRequest { stage: Stage::Dial, page, size: 100 });
            let response = engine(&calls, &paged, Rounding::Api);
            let items = &response["data"]["items"];
            rebuilt.extend(
                items["data"].as_array().unwrap().iter().map(|item| item_to_call(item, &request)),
            );
            if page as u64 >= int(&items["pagination"]["total_pages"]) {
                break;
            }
            page += 1;
        }
        prop_assert_eq!(
            rebuilt.len() as u64,
            int(&original["data"]["funnel"]["dials"]["count"]["value"])
        );
        let recomputed = engine(&rebuilt, &request, Rounding::Api);
        assert_json_matches(&round_trip_view(&recomputed), &round_trip_view(&expected));
    }
}

/// Each row of a `USER` (or `ALLO_NUMBER`) breakdown against `metrics`
/// with `user_ids=[key]` (or `allo_numbers=[key]`) on the same calls: the
/// same funnel counts, rates, time spent, previous values and changes, and
/// the label is the leaderboard's name (SPEC §8.1).
fn check_rows_equal_filtered_runs(calls: &[Call], scenario: &Scenario, by_user: bool) {
    let mut scenario = scenario.clone();
    // The request's own filter first, when of the grouping's kind.
    scenario.filter = match (&scenario.filter, by_user) {
        (Filter::Users(..), true) | (Filter::Numbers(_), false) => scenario.filter.clone(),
        _ => Filter::None,
    };
    scenario.items = None;
    scenario.extensions = Extensions {
        group_by: Some(if by_user { "USER" } else { "ALLO_NUMBER" }),
        group_page: Some((1, 1000)),
        compare: scenario.extensions.compare,
        ..Extensions::default()
    };
    let request = scenario.request();
    let response = engine(calls, &request, Rounding::Api);
    let rows = response["analysis"]["breakdown"]["rows"]
        .as_array()
        .unwrap();
    for row in rows.iter().filter(|row| !row["key"].is_null()) {
        let key = row["key"].as_str().unwrap().to_string();
        let mut alone = request.clone();
        alone.analysis = Default::default();
        if by_user {
            alone.user_ids = vec![key.clone()];
        } else {
            alone.allo_numbers = vec![key.clone()];
        }
        let data = &engine(calls, &alone, Rounding::Api)["data"];
        let funnel = &data["funnel"];
        for (stage, count, rate) in [
            ("dials", "dials", None),
            ("connected", "connected", Some("connect_rate")),
            ("conversations", "conversations", Some("conversation_rate")),
            ("conversions", "conversions", Some("conversion_rate")),
        ] {
            let metric = &funnel[stage]["count"];
            assert_eq!(row[count], metric["value"], "{key} {count}");
            assert_eq!(
                row["previous"][count], metric["previous"],
                "{key} previous {count}"
            );
            assert_eq!(
                row["change"][count], metric["change"],
                "{key} change {count}"
            );
            if let Some(rate) = rate {
                assert_eq!(row[rate], funnel[stage]["rate"], "{key} {rate}");
            }
        }
        for name in [
            "avg_conversation_time_seconds",
            "total_conversation_time_seconds",
        ] {
            let metric = &data["time_spent"][name];
            assert_eq!(row[name], metric["value"], "{key} {name}");
            assert_eq!(
                row["previous"][name], metric["previous"],
                "{key} previous {name}"
            );
            assert_eq!(row["change"][name], metric["change"], "{key} change {name}");
        }
        if by_user && int(&row["dials"]) > 0 {
            assert_eq!(
                row["label"], data["leaderboard"][0]["user"]["name"],
                "{key} label"
            );
        }
    }
}

proptest! {
    #![proptest_config(config(32))]

    /// Property 5 (SPEC §8.1): a USER row equals the run filtered to its
    /// user, an ALLO_NUMBER row the run filtered to its number.
    #[test]
    fn breakdown_rows_equal_filtered_runs((scenario, calls) in case(), by_user in any::<bool>()) {
        check_rows_equal_filtered_runs(&calls, &scenario, by_user);
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Property 1 bis: rounding on exact halves, engine against reference.
    /// Cheap (two days of calls), so it runs 4× the cases of the others.
    #[test]
    fn engine_rounds_halves_like_reference(calls in halves_case()) {
        let request = Request::from_json(
            &json!({"date": {"from": "2024-06-03", "to": "2024-06-03"}, "tags": ["won"]}),
        )
        .unwrap();
        assert_json_matches(&engine(&calls, &request, Rounding::Api), &reference(&calls, &request, false));
        assert_json_matches(&engine(&calls, &request, Rounding::Exact), &reference(&calls, &request, true));
    }
}

// ---------------------------------------------------------------------------
// Hand-computed cases. Each checks the stated values on the reference AND on
// the engine, then the engine against the reference in full.
// ---------------------------------------------------------------------------

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn call(id: &str, date: &str) -> Call {
    Call::new(id, at(date))
}

fn answered(id: &str, date: &str, duration: i64) -> Call {
    let mut c = call(id, date);
    c.result = Some(CallResult::Answered);
    c.duration = duration;
    c
}

fn with_user(mut c: Call, id: &str, name: Option<&str>, email: Option<&str>) -> Call {
    c.user_id = Some(id.to_string());
    c.user_name = name.map(str::to_string);
    c.user_email = email.map(str::to_string);
    c
}

/// Computes `[reference, engine]` (rounded, or exact) and checks the engine
/// against the reference in full.
fn outputs(calls: &[Call], body: Value, exact: bool) -> [Value; 2] {
    let request = Request::from_json(&body).expect("valid request");
    let expected = reference(calls, &request, exact);
    let rounding = if exact {
        Rounding::Exact
    } else {
        Rounding::Api
    };
    let actual = engine(calls, &request, rounding);
    [expected, actual]
}

/// Asserts the value at a JSON pointer (under `/data`) on both outputs,
/// then the engine against the reference in full.
fn expect(outputs: &[Value; 2], checks: &[(&str, Value)]) {
    expect_under(outputs, "/data", checks);
}

/// Like [`expect`], for values under `root` (e.g. `/analysis`).
fn expect_under(outputs: &[Value; 2], root: &str, checks: &[(&str, Value)]) {
    for (which, output) in ["reference", "engine"].iter().zip(outputs) {
        for (pointer, expected) in checks {
            let pointer = format!("{root}{pointer}");
            let actual = output
                .pointer(&pointer)
                .unwrap_or_else(|| panic!("{which}: no {pointer}"));
            let differences = json_differences(actual, expected);
            assert!(
                differences.is_empty(),
                "{which} at {pointer}: {actual}\n  vs expected {expected}\n  {}",
                differences.join("\n  ")
            );
        }
    }
    assert_json_matches(&outputs[1], &outputs[0]);
}

/// Index of a heatmap cell: Monday = 0, hour 0..23.
fn cell(weekday: usize, hour: usize) -> usize {
    weekday * 24 + hour
}

#[test]
fn dst_day_in_paris_uses_wall_clock_hours() {
    // 2024-03-31, Europe/Paris: 02:00 CET jumps to 03:00 CEST at 01:00 UTC.
    let calls = vec![
        call("a", "2024-03-30T23:30:00Z"), // 00:30 CET, Sunday 31st, hour 0
        call("b", "2024-03-31T00:59:59Z"), // 01:59:59 CET, hour 1
        call("c", "2024-03-31T01:00:00Z"), // 03:00:00 CEST, hour 3 (no hour 2)
        answered("d", "2024-03-31T01:30:00Z", 90), // 03:30 CEST, hour 3
        call("e", "2024-03-31T21:59:59Z"), // 23:59:59 CEST, hour 23
        call("f", "2024-03-31T22:00:00Z"), // 2024-04-01 00:00 CEST: outside
        call("g", "2024-03-30T22:59:59Z"), // 2024-03-30 23:59:59 CET: compare period
    ];
    let body =
        json!({"date": {"from": "2024-03-31", "to": "2024-03-31"}, "timezone": "Europe/Paris"});
    let out = outputs(&calls, body, false);
    let sunday = |hour| format!("/heatmap/dials/{}/value", cell(6, hour));
    expect(
        &out,
        &[
            (
                "/compare_date",
                json!({"from": "2024-03-30", "to": "2024-03-30"}),
            ),
            (
                "/funnel/dials/count",
                json!({"value": 5, "previous": 1, "change": 4.0}),
            ),
            ("/funnel/connected/rate", json!(0.2)),
            (&sunday(0), json!(1)),
            (&sunday(1), json!(1)),
            (&sunday(2), json!(0)),
            (&sunday(3), json!(2)),
            (&sunday(23), json!(1)),
            (
                &format!("/heatmap/connection_rate/{}/value", cell(6, 3)),
                json!(0.5),
            ),
            (
                "/time_series/dials",
                json!([{"date": "2024-03-31", "value": 5}]),
            ),
            ("/last_updated", json!("2024-03-31T22:00:00Z")),
        ],
    );
}

#[test]
fn iso_week_across_the_year_boundary() {
    let calls = vec![
        call("a", "2020-12-30T12:00:00Z"), // Wednesday, week of 2020-12-28
        answered("b", "2021-01-01T10:00:00Z", 5), // Friday, week of 2020-12-28
        call("c", "2021-01-03T23:59:59Z"), // Sunday, week of 2020-12-28
        call("d", "2021-01-04T00:00:00Z"), // Monday, week of 2021-01-04
        call("e", "2021-01-10T23:59:59Z"), // Sunday, week of 2021-01-04
        call("f", "2021-01-11T00:00:00Z"), // outside
    ];
    // Period starting on the Friday: the first bucket starts before it, and
    // the Wednesday call (outside the period) is not counted in it.
    let body = json!({"date": {"from": "2021-01-01", "to": "2021-01-10"}, "granularity": "WEEK"});
    expect(
        &outputs(&calls, body, false),
        &[
            (
                "/time_series/dials",
                json!([{"date": "2020-12-28", "value": 2}, {"date": "2021-01-04", "value": 2}]),
            ),
            (
                "/time_series/connection_rate",
                json!([{"date": "2020-12-28", "value": 0.5}, {"date": "2021-01-04", "value": 0.0}]),
            ),
            // compare_date defaults to 2020-12-22..2020-12-31: call a.
            (
                "/funnel/dials/count",
                json!({"value": 4, "previous": 1, "change": 3.0}),
            ),
        ],
    );
    let body = json!({"date": {"from": "2020-12-28", "to": "2021-01-10"}, "granularity": "WEEK"});
    expect(
        &outputs(&calls, body, false),
        &[(
            "/time_series/dials",
            json!([{"date": "2020-12-28", "value": 3}, {"date": "2021-01-04", "value": 2}]),
        )],
    );
}

#[test]
fn leap_day_buckets() {
    let calls = vec![answered("a", "2024-02-29T23:30:00Z", 61)];
    // UTC: Feb 29th, February bucket.
    let body = json!({"date": {"from": "2024-02-01", "to": "2024-03-31"}, "granularity": "MONTH"});
    expect(
        &outputs(&calls, body, false),
        &[(
            "/time_series/dials",
            json!([{"date": "2024-02-01", "value": 1}, {"date": "2024-03-01", "value": 0}]),
        )],
    );
    // Tokyo (+09:00): 2024-03-01 08:30, March bucket, Friday hour 8.
    let body = json!({"date": {"from": "2024-02-01", "to": "2024-03-31"}, "granularity": "MONTH", "timezone": "Asia/Tokyo"});
    expect(
        &outputs(&calls, body, false),
        &[
            (
                "/time_series/dials",
                json!([{"date": "2024-02-01", "value": 0}, {"date": "2024-03-01", "value": 1}]),
            ),
            (&format!("/heatmap/dials/{}/value", cell(4, 8)), json!(1)),
        ],
    );
    // DAY buckets over the leap day: three points, the call on the 29th (Thursday 23h).
    let body = json!({"date": {"from": "2024-02-28", "to": "2024-03-01"}});
    expect(
        &outputs(&calls, body, false),
        &[
            (
                "/time_series/conversions",
                json!([
                    {"date": "2024-02-28", "value": 0},
                    {"date": "2024-02-29", "value": 0},
                    {"date": "2024-03-01", "value": 0},
                ]),
            ),
            (
                "/time_series/dials/1",
                json!({"date": "2024-02-29", "value": 1}),
            ),
            (&format!("/heatmap/dials/{}/value", cell(3, 23)), json!(1)),
            (
                "/compare_date",
                json!({"from": "2024-02-25", "to": "2024-02-27"}),
            ),
        ],
    );
}

#[test]
fn change_is_null_when_previous_is_zero_or_null() {
    let mut previous = call("p", "2024-05-05T12:00:00Z"); // compare period (2024-05-05)
    previous.result = Some(CallResult::NoAnswer);
    previous.ringing_seconds = Some(0.0);
    let mut first = answered("c1", "2024-05-06T09:00:00Z", 30);
    first.ringing_seconds = Some(10.5);
    let second = answered("c2", "2024-05-06T10:00:00Z", 91);
    let calls = vec![previous, first, second];
    let body = json!({"date": {"from": "2024-05-06", "to": "2024-05-06"}});
    expect(
        &outputs(&calls, body, false),
        &[
            (
                "/funnel/dials",
                json!({"count": {"value": 2, "previous": 1, "change": 1.0}, "rate": 1.0}),
            ),
            (
                "/funnel/connected",
                json!({"count": {"value": 2, "previous": 0, "change": null}, "rate": 1.0}),
            ),
            (
                "/funnel/conversations",
                json!({"count": {"value": 1, "previous": 0, "change": null}, "rate": 0.5}),
            ),
            // No request tags and no tagged call: nothing converts, rate 0
            // (not null: there are dials).
            (
                "/funnel/conversions",
                json!({"count": {"value": 0, "previous": 0, "change": null}, "rate": 0.0}),
            ),
            // Ringing known for one dial now (10.5), previous mean 0.0 → change null.
            (
                "/time_spent/avg_ringing_time_seconds",
                json!({"value": 10.5, "previous": 0.0, "change": null}),
            ),
            // (30 + 91) / 2 = 60.5; no previous connected call → null.
            (
                "/time_spent/avg_conversation_time_seconds",
                json!({"value": 60.5, "previous": null, "change": null}),
            ),
            (
                "/time_spent/total_conversation_time_seconds",
                json!({"value": 121, "previous": 0, "change": null}),
            ),
        ],
    );
    // No dial at all in the current period: every rate is null, averages null.
    let body = json!({"date": {"from": "2024-05-07", "to": "2024-05-07"}});
    expect(
        &outputs(&calls, body, false),
        &[
            (
                "/funnel/dials",
                json!({"count": {"value": 0, "previous": 2, "change": -1.0}, "rate": null}),
            ),
            ("/funnel/connected/rate", Value::Null),
            (
                "/time_spent/avg_ringing_time_seconds",
                json!({"value": null, "previous": 10.5, "change": null}),
            ),
            (
                "/time_series/connection_rate",
                json!([{"date": "2024-05-07", "value": 0.0}]),
            ),
        ],
    );
}

/// `n` NO_ANSWER calls on `day` at noon, ids `{prefix}-{i}`.
fn dials(prefix: &str, day: &str, n: usize) -> Vec<Call> {
    (0..n)
        .map(|i| {
            let mut c = call(&format!("{prefix}-{i}"), &format!("{day}T12:00:00Z"));
            c.result = Some(CallResult::NoAnswer);
            c
        })
        .collect()
}

#[test]
fn halves_round_away_from_zero() {
    let body = || json!({"date": {"from": "2024-06-03", "to": "2024-06-03"}});
    // Change (229 − 200) ÷ 200 = 0.145 exactly → 0.15 (in binary, 0.145 is
    // 0.14499999…, which a naive float rounding sends to 0.14).
    let mut calls = dials("p", "2024-06-02", 200);
    calls.extend(dials("c", "2024-06-03", 229));
    expect(
        &outputs(&calls, body(), false),
        &[("/funnel/dials/count/change", json!(0.15))],
    );
    expect(
        &outputs(&calls, body(), true),
        &[("/funnel/dials/count/change", json!(0.145))],
    );
    // (171 − 200) ÷ 200 = −0.145 → −0.15.
    let mut calls = dials("p", "2024-06-02", 200);
    calls.extend(dials("c", "2024-06-03", 171));
    expect(
        &outputs(&calls, body(), false),
        &[("/funnel/dials/count/change", json!(-0.15))],
    );

    // Rate 1 ÷ 16 = 0.0625 → 0.063; change (9 − 8) ÷ 8 = 0.125 → 0.13.
    let mut calls = dials("p", "2024-06-02", 8);
    calls.extend(dials("c", "2024-06-03", 15));
    calls.push(answered("x", "2024-06-03T13:00:00Z", 10));
    let mut calls_9 = dials("p", "2024-06-02", 8);
    calls_9.extend(dials("c", "2024-06-03", 9));
    expect(
        &outputs(&calls, body(), false),
        &[("/funnel/connected/rate", json!(0.063))],
    );
    expect(
        &outputs(&calls, body(), true),
        &[("/funnel/connected/rate", json!(0.0625))],
    );
    expect(
        &outputs(&calls_9, body(), false),
        &[("/funnel/dials/count/change", json!(0.13))],
    );

    // Average conversation time 23 s ÷ 20 calls = 1.15 → 1.2 (1.15 in binary
    // is 1.149999…, which `format!("{:.1}")` would print as 1.1).
    let mut calls: Vec<Call> = (0..20)
        .map(|i| answered(&format!("c-{i}"), "2024-06-03T12:00:00Z", 1))
        .collect();
    calls[0].duration = 4;
    expect(
        &outputs(&calls, body(), false),
        &[
            (
                "/time_spent/avg_conversation_time_seconds/value",
                json!(1.2),
            ),
            (
                "/time_spent/total_conversation_time_seconds/value",
                json!(23),
            ),
        ],
    );
}

#[test]
fn leaderboard_ties_and_latest_names() {
    let day = "2024-07-01";
    let t = |time: &str| format!("{day}T{time}Z");
    let calls = vec![
        with_user(
            answered("cll-1", &t("09:00:00"), 70),
            "u-b",
            Some("Bea"),
            Some("b@x.io"),
        ),
        with_user(
            answered("cll-2", &t("09:00:00"), 70),
            "u-a",
            Some("Ann"),
            Some("a@x.io"),
        ),
        with_user(
            answered("cll-3", &t("09:00:00"), 70),
            "u-10",
            Some("Ten"),
            Some("t@x.io"),
        ),
        with_user(
            answered("cll-4", &t("08:00:00"), 70),
            "u-9",
            Some("Nine older"),
            Some("n@x.io"),
        ),
        with_user(
            answered("cll-5", &t("08:30:00"), 0),
            "u-9",
            Some("Nine x"),
            Some("n@x.io"),
        ),
        // Latest u-9 calls share an instant: the greatest id, "cll-9" > "cll-10", wins.
        with_user(
            call("cll-10", &t("10:00:00")),
            "u-9",
            Some("Nine old"),
            Some("n@x.io"),
        ),
        with_user(call("cll-9", &t("10:00:00")), "u-9", Some("Nine new"), None),
        // A user with dials but no connected call is listed with 0.
        with_user(call("cll-6", &t("11:00:00")), "u-c", Some("Cy"), None),
        // No user id: left out.
        {
            let mut c = answered("cll-7", &t("11:00:00"), 70);
            c.user_name = Some("Ghost".into());
            c
        },
        // Only in the compare period: left out.
        with_user(
            answered("cll-8", "2024-06-30T11:00:00Z", 70),
            "u-d",
            Some("Dee"),
            None,
        ),
    ];
    let body = json!({"date": {"from": day, "to": day}});
    let entry = |id: &str, name: &str, email: Option<&str>, connected: u64| json!({"user": {"id": id, "name": name, "email": email}, "connected": connected});
    expect(
        &outputs(&calls, body, false),
        &[(
            "/leaderboard",
            json!([
                entry("u-9", "Nine new", None, 2),
                entry("u-10", "Ten", Some("t@x.io"), 1),
                entry("u-a", "Ann", Some("a@x.io"), 1),
                entry("u-b", "Bea", Some("b@x.io"), 1),
                entry("u-c", "Cy", None, 0),
            ]),
        )],
    );
}

#[test]
fn drilldown_orders_ties_by_id_and_pages() {
    let mut partial = call("cll-10", "2024-08-05T10:00:00Z");
    partial.user_name = Some("Ana".into()); // a user with only a name
    partial.result = Some(CallResult::Voicemail);
    partial.duration = 12;
    let mut inbound = call("in-1", "2024-08-09T10:00:00Z"); // latest of all, not counted
    inbound.direction = Direction::Inbound;
    inbound.call_type = CallType::Sms;
    let calls = vec![
        call("cll-2", "2024-08-05T10:00:00Z"),
        partial,
        with_user(
            answered("cll-1", "2024-08-05T10:00:00Z", 61),
            "u-1",
            None,
            None,
        ),
        call("cll-0", "2024-08-05T11:00:00Z"),
        call("cll-3", "2024-08-05T09:00:00Z"),
        inbound,
    ];
    let body = |page: u32| json!({"date": {"from": "2024-08-05", "to": "2024-08-05"}, "extend": "items", "stage": "DIAL", "page": page, "size": 2});
    let item = |id: &str, user: Value, stage: &str, voicemail: bool, duration: i64, date: &str| {
        json!({
            "id": id, "user": user, "allo_number": null, "allo_number_label": null,
            "contact_number": null, "stage": stage, "voicemail": voicemail,
            "duration": duration, "date": date,
        })
    };
    let ten = "2024-08-05T10:00:00Z";
    // Newest first: cll-0 (11:00), then the 10:00 tie by id: cll-1 < cll-10 < cll-2, then cll-3.
    expect(
        &outputs(&calls, body(1), false),
        &[
            (
                "/items/data",
                json!([
                    item(
                        "cll-0",
                        Value::Null,
                        "DIAL",
                        false,
                        0,
                        "2024-08-05T11:00:00Z"
                    ),
                    item(
                        "cll-1",
                        json!({"id": "u-1", "name": null, "email": null}),
                        "CONVERSATION",
                        false,
                        61,
                        ten
                    ),
                ]),
            ),
            (
                "/items/pagination",
                json!({"page": 1, "size": 2, "total_count": 5, "total_pages": 3, "has_more": true}),
            ),
            ("/last_updated", json!("2024-08-09T10:00:00Z")),
        ],
    );
    expect(
        &outputs(&calls, body(2), false),
        &[(
            "/items/data",
            json!([
                item(
                    "cll-10",
                    json!({"id": null, "name": "Ana", "email": null}),
                    "DIAL",
                    true,
                    12,
                    ten
                ),
                item("cll-2", Value::Null, "DIAL", false, 0, ten),
            ]),
        )],
    );
    expect(
        &outputs(&calls, body(3), false),
        &[
            ("/items/data/0/id", json!("cll-3")),
            (
                "/items/pagination",
                json!({"page": 3, "size": 2, "total_count": 5, "total_pages": 3, "has_more": false}),
            ),
        ],
    );
    // Past the last page: empty data, same total.
    expect(
        &outputs(&calls, body(4), false),
        &[
            ("/items/data", json!([])),
            ("/items/pagination/has_more", json!(false)),
        ],
    );
}

#[test]
fn nothing_loaded() {
    let body = json!({"date": {"from": "2024-01-01", "to": "2024-01-02"}, "granularity": "MONTH", "extend": "items", "stage": "DIAL"});
    expect(
        &outputs(&[], body, false),
        &[
            ("/last_updated", Value::Null),
            ("/leaderboard", json!([])),
            (
                "/time_series/dials",
                json!([{"date": "2024-01-01", "value": 0}]),
            ),
            (
                "/items/pagination",
                json!({"page": 1, "size": 20, "total_count": 0, "total_pages": 0, "has_more": false}),
            ),
        ],
    );
}

/// The bucket helper of the reference, on its own.
#[test]
fn reference_buckets() {
    let range = |from: &str, to: &str| callfunnel::request::DateRange {
        from: NaiveDate::parse_from_str(from, "%Y-%m-%d").unwrap(),
        to: NaiveDate::parse_from_str(to, "%Y-%m-%d").unwrap(),
    };
    let days = |v: Vec<NaiveDate>| v.iter().map(|d| d.to_string()).collect::<Vec<_>>();
    assert_eq!(
        days(bucket_starts(
            &range("2021-01-01", "2021-01-10"),
            Granularity::Week
        )),
        ["2020-12-28", "2021-01-04"]
    );
    assert_eq!(
        days(bucket_starts(
            &range("2024-01-31", "2024-03-01"),
            Granularity::Month
        )),
        ["2024-01-01", "2024-02-01", "2024-03-01"]
    );
    assert_eq!(
        bucket_starts(&range("2024-02-28", "2024-03-01"), Granularity::Day).len(),
        3
    );
}

#[test]
fn sub_second_before_the_epoch() {
    // −0.5 s since the epoch: 1969-12-31 23:59:59.5 UTC, a Wednesday, hour 23
    // (a truncating division of the microseconds would say 1970-01-01 00:00).
    let calls = vec![answered("a", "1969-12-31T23:59:59.500Z", 61)];
    let body = json!({"date": {"from": "1969-12-31", "to": "1970-01-01"}, "extend": "items", "stage": "CONVERSATION"});
    expect(
        &outputs(&calls, body, false),
        &[
            (
                "/time_series/dials",
                json!([{"date": "1969-12-31", "value": 1}, {"date": "1970-01-01", "value": 0}]),
            ),
            (&format!("/heatmap/dials/{}/value", cell(2, 23)), json!(1)),
            ("/items/data/0/date", json!("1969-12-31T23:59:59Z")),
            ("/last_updated", json!("1969-12-31T23:59:59Z")),
        ],
    );
    // Tokyo (+09:00): 1970-01-01 08:59:59.5, a Thursday, hour 8.
    let body =
        json!({"date": {"from": "1969-12-31", "to": "1970-01-01"}, "timezone": "Asia/Tokyo"});
    expect(
        &outputs(&calls, body, false),
        &[
            (
                "/time_series/dials/1",
                json!({"date": "1970-01-01", "value": 1}),
            ),
            (&format!("/heatmap/dials/{}/value", cell(3, 8)), json!(1)),
        ],
    );
}

#[test]
fn without_request_tags_any_tag_converts() {
    let mut demo = answered("a", "2024-05-06T09:00:00Z", 0);
    demo.tags = vec!["demo".into()];
    let mut missed = call("b", "2024-05-06T09:10:00Z");
    missed.result = Some(CallResult::Missed);
    missed.tags = vec!["lost".into()];
    let plain = answered("c", "2024-05-06T09:20:00Z", 90);
    let mut ai = call("d", "2024-05-06T09:30:00Z");
    ai.result = Some(CallResult::TransferredAi);
    ai.duration = 61;
    let mut external = call("e", "2024-05-06T09:40:00Z");
    external.result = Some(CallResult::TransferredExternal);
    external.duration = 5;
    let mut blocked = call("f", "2024-05-06T09:50:00Z");
    blocked.result = Some(CallResult::Blocked);
    blocked.duration = 0;
    let calls = vec![demo, missed, plain, ai, external, blocked];
    // Connected: a, c, d, e (TRANSFERRED_AI and _EXTERNAL are connected;
    // MISSED and BLOCKED are not); conversations: c (90 s), d (61 s).
    let no_tags = json!({"date": {"from": "2024-05-06", "to": "2024-05-06"}});
    expect(
        &outputs(&calls, no_tags, false),
        &[
            ("/funnel/connected/rate", json!(0.667)),
            ("/funnel/conversations/count/value", json!(2)),
            // a and b carry a tag: 2 of 6 convert (definitions 1: none).
            (
                "/funnel/conversions",
                json!({"count": {"value": 2, "previous": 0, "change": null}, "rate": 0.333}),
            ),
            (
                "/time_series/conversions",
                json!([{"date": "2024-05-06", "value": 2}]),
            ),
        ],
    );
    let demo_only = json!({"date": {"from": "2024-05-06", "to": "2024-05-06"}, "tags": ["DEMO"]});
    expect(
        &outputs(&calls, demo_only, false),
        &[("/funnel/conversions/count/value", json!(1))],
    );
}

#[test]
fn a_converted_connected_call_of_zero_duration_reads_back_as_not_connected() {
    let mut silent = answered("a", "2024-05-06T09:00:00Z", 0);
    silent.tags = vec!["won".into()];
    let mut talked = answered("b", "2024-05-06T10:00:00Z", 70);
    talked.tags = vec!["won".into()];
    let mut other = call("c", "2024-05-06T11:00:00Z");
    other.result = Some(CallResult::NoAnswer);
    let calls = vec![silent, talked, other];
    for tags in [json!(["won"]), json!([])] {
        let body = json!({"date": {"from": "2024-05-06", "to": "2024-05-06"}, "tags": tags,
            "extend": "items", "stage": "DIAL", "size": 100});
        let request = Request::from_json(&body).unwrap();
        let page = engine(&calls, &request, Rounding::Api);
        let items = page["data"]["items"]["data"].as_array().unwrap();
        assert_eq!(items[2]["stage"], "CONVERSION", "{tags}");
        assert_eq!(items[2]["duration"], 0, "{tags}");
        let rebuilt: Vec<Call> = items
            .iter()
            .map(|item| item_to_call(item, &request))
            .collect();
        let mut plain = request.clone();
        plain.items = None;
        let recomputed = engine(&rebuilt, &plain, Rounding::Api);
        let original = engine(&calls, &plain, Rounding::Api);
        // Connected 2 → 1; the conversions stay.
        assert_eq!(original["data"]["funnel"]["connected"]["count"]["value"], 2);
        assert_eq!(
            recomputed["data"]["funnel"]["connected"]["count"]["value"],
            1
        );
        assert_eq!(
            recomputed["data"]["funnel"]["conversions"]["count"]["value"],
            2
        );
        // Exactly what `as_read_back` states, and nothing else.
        let expected = engine(&as_read_back(&calls, &plain), &plain, Rounding::Api);
        assert_json_matches(&round_trip_view(&recomputed), &round_trip_view(&expected));
    }
}

// ---------------------------------------------------------------------------
// SPEC §8 by hand.
// ---------------------------------------------------------------------------

/// A call to `contact` with `result`.
fn dialled(id: &str, date: &str, contact: &str, result: Option<CallResult>) -> Call {
    let mut c = call(id, date);
    c.contact_number = Some(contact.to_string());
    c.result = result;
    c
}

/// 95 % Wilson bounds of 0/10, 1/10, 5/10, 10/10 and 81/263 (the example
/// of Wikipedia's "Binomial proportion confidence interval" page; statsmodels'
/// `proportion_confint(81, 263, method="wilson")` gives 0.2553, 0.3662),
/// here computed independently with z = 1.959964 in 60-digit decimal
/// arithmetic (Python's `decimal`):
/// `(p + z²/2n ∓ z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n)`.
const PUBLISHED_WILSON: [(u64, u64, f64, f64); 5] = [
    (0, 10, 0.0, 0.277532803026058),
    (1, 10, 0.017876212896074, 0.404150029524772),
    (5, 10, 0.236593089011479, 0.763406910988521),
    (10, 10, 0.722467196973942, 1.0),
    (81, 263, 0.255288519489016, 0.366209577458019),
];

#[test]
fn wilson_bounds_match_published_values() {
    let round = |value: f64| (value * 1000.0).round() / 1000.0;
    for (successes, n, low, high) in PUBLISHED_WILSON {
        let exact = callfunnel::analysis::wilson(successes, n, Rounding::Exact);
        assert!(
            (exact.low.unwrap() - low).abs() < 1e-12,
            "{successes}/{n}: {exact:?}"
        );
        assert!(
            (exact.high.unwrap() - high).abs() < 1e-12,
            "{successes}/{n}: {exact:?}"
        );
        let rounded = callfunnel::analysis::wilson(successes, n, Rounding::Api);
        assert_eq!(
            (rounded.low, rounded.high, rounded.n, rounded.small_sample),
            (Some(round(low)), Some(round(high)), n, n < 30)
        );
        let reference = crate::reference::wilson_json(successes, n, true);
        assert!((reference["low"].as_f64().unwrap() - low).abs() < 1e-12);
        assert!((reference["high"].as_f64().unwrap() - high).abs() < 1e-12);
    }
    // The published figures to 4 decimals, for the record.
    let rounded = callfunnel::analysis::wilson(81, 263, Rounding::Exact);
    assert_eq!(
        (
            (rounded.low.unwrap() * 1e4).round(),
            (rounded.high.unwrap() * 1e4).round()
        ),
        (2553.0, 3662.0)
    );
}

#[test]
fn reach_counts_dials_to_first_connect_by_date_then_id() {
    use CallResult::{Answered, NoAnswer, Voicemail};
    let day = "2024-05-06";
    let at = |time: &str| format!("{day}T{time}Z");
    let mut calls = vec![
        // A: two no-answers, then a tie at 10:00 where id `a2` < `a3`: the
        // connected `a3` is the third dial.
        dialled("a1", &at("09:00:00"), "+33100000001", Some(NoAnswer)),
        dialled("a3", &at("10:00:00"), "+33100000001", Some(Answered)),
        dialled("a2", &at("10:00:00"), "+33100000001", Some(NoAnswer)),
        dialled("a4", &at("11:00:00"), "+33100000001", Some(Answered)),
        // B: a tie where byte order decides: `b-10` < `b-2`, so the
        // connected `b-2` is the second dial.
        dialled("b-2", &at("09:30:00"), "+33100000002", Some(Answered)),
        dialled("b-10", &at("09:30:00"), "+33100000002", Some(NoAnswer)),
        // C: connected at once.
        dialled("c1", &at("12:00:00"), "+33100000003", Some(Answered)),
        // F: connected at the fourth dial, a voicemail before.
        dialled("f1", &at("08:00:00"), "+33100000006", Some(NoAnswer)),
        dialled("f2", &at("08:10:00"), "+33100000006", Some(Voicemail)),
        dialled("f3", &at("08:20:00"), "+33100000006", None),
        dialled("f4", &at("08:30:00"), "+33100000006", Some(Answered)),
    ];
    // D: five dials, never reached; E: four, never reached.
    for i in 0..5 {
        calls.push(dialled(
            &format!("d{i}"),
            &at(&format!("13:0{i}:00")),
            "+33100000004",
            Some(NoAnswer),
        ));
    }
    for i in 0..4 {
        calls.push(dialled(
            &format!("e{i}"),
            &at(&format!("14:0{i}:00")),
            "+33100000005",
            Some(Voicemail),
        ));
    }
    let mut unknown = call("x", &at("15:00:00"));
    unknown.result = Some(Answered);
    calls.push(unknown);
    calls[6].tags = vec!["won".into()];

    let body = json!({"date": {"from": day, "to": day}, "tags": ["won"], "reach": true});
    let outputs = outputs(&calls, body, false);
    expect_under(
        &outputs,
        "/analysis/reach",
        &[
            ("/dials_without_contact", json!(1)),
            ("/contacts_dialled", json!(6)),
            // A, B, C and F.
            ("/contacts_reached", json!(4)),
            ("/contacts_converted", json!(1)),
            ("/reach_rate", json!(0.667)),
            // 20 dials with a contact over 6 contacts.
            ("/dials_per_contact", json!(3.3)),
            // 3, 2, 1 and 4 dials: mean 2.5, median (2 + 3) / 2.
            (
                "/dials_to_first_connect",
                json!({"mean": 2.5, "median": 2.5}),
            ),
            ("/unreached_after_5_dials", json!(1)),
            (
                "/most_dialled/0",
                json!({"contact_number": "+33100000004", "dials": 5, "connected": 0, "last_dialled": "2024-05-06T13:04:00Z"}),
            ),
            // Four dials each: A, E, F by number.
            ("/most_dialled/1/contact_number", json!("+33100000001")),
            ("/most_dialled/1/connected", json!(2)),
            ("/most_dialled/2/contact_number", json!("+33100000005")),
            ("/most_dialled/3/contact_number", json!("+33100000006")),
            ("/most_dialled/4/contact_number", json!("+33100000002")),
            ("/most_dialled/5/contact_number", json!("+33100000003")),
        ],
    );
    assert_eq!(
        outputs[1]["analysis"]["reach"]["most_dialled"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
}

#[test]
fn connect_rules_by_hand() {
    use CallResult::{Answered, NoAnswer, Voicemail};
    // 10 dials: 4 connected, 3 voicemails, 3 not answered; before: 2 dials,
    // both voicemail.
    let results = [
        Answered, Answered, Answered, Answered, Voicemail, Voicemail, Voicemail, NoAnswer,
        NoAnswer, NoAnswer,
    ];
    let mut calls: Vec<Call> = results
        .iter()
        .enumerate()
        .map(|(i, &result)| {
            dialled(
                &format!("c{i}"),
                "2024-05-07T10:00:00Z",
                "+331",
                Some(result),
            )
        })
        .collect();
    calls.push(dialled(
        "p1",
        "2024-05-06T10:00:00Z",
        "+331",
        Some(Voicemail),
    ));
    calls.push(dialled(
        "p2",
        "2024-05-06T11:00:00Z",
        "+331",
        Some(Voicemail),
    ));
    let body = json!({"date": {"from": "2024-05-07", "to": "2024-05-07"}, "connect_rules": true, "intervals": true});
    let outputs = outputs(&calls, body, false);
    expect_under(
        &outputs,
        "/analysis/connect_rules",
        &[
            (
                "/current",
                json!({
                    "dials": 10, "voicemails": 3, "connected": 4,
                    "connect_rate": 0.4, "connect_rate_with_voicemail": 0.7,
                    // 4 / (10 − 3).
                    "connect_rate_excl_voicemail": 0.571,
                    "voicemail_inflation": 0.3,
                }),
            ),
            (
                "/previous",
                json!({
                    "dials": 2, "voicemails": 2, "connected": 0,
                    "connect_rate": 0.0, "connect_rate_with_voicemail": 1.0,
                    "connect_rate_excl_voicemail": null,
                    "voicemail_inflation": 1.0,
                }),
            ),
        ],
    );
    expect_under(
        &outputs,
        "/analysis/intervals/connect_rules",
        &[
            ("/current/connect_rate_excl_voicemail/n", json!(7)),
            (
                "/current/connect_rate_excl_voicemail/small_sample",
                json!(true),
            ),
            (
                "/previous/connect_rate_excl_voicemail",
                json!({"n": 0, "low": null, "high": null, "small_sample": true}),
            ),
            // 4/10: its interval as the funnel's connected rate has it.
            (
                "/current/connect_rate",
                outputs[1]["analysis"]["intervals"]["funnel"]["connected"]["rate"].clone(),
            ),
        ],
    );
}

#[test]
fn breakdown_keys_sort_naturally_and_ties_go_by_key() {
    use CallResult::{Answered, NoAnswer};
    // Europe/Paris, 2024-05-06 (a Monday) and -07: UTC+2.
    let mut calls = vec![
        dialled("m9", "2024-05-06T07:15:00Z", "+331", Some(Answered)), // Monday 9h
        dialled("m10", "2024-05-06T08:15:00Z", "+331", Some(NoAnswer)), // Monday 10h
        dialled("t9", "2024-05-07T07:45:00Z", "+331", Some(NoAnswer)), // Tuesday 9h
        dialled("t23", "2024-05-07T21:30:00Z", "+331", None),          // Tuesday 23h
    ];
    calls[0].tags = vec!["demo".into(), "won".into()];
    calls[1].tags = vec!["won".into()];
    let body = |group_by: &str, sort: &str| {
        json!({"date": {"from": "2024-05-06", "to": "2024-05-07"}, "timezone": "Europe/Paris",
               "group_by": group_by, "group_sort": sort, "compare": "none"})
    };
    let keys = |outputs: &[Value; 2]| -> Vec<Value> {
        outputs[1]["analysis"]["breakdown"]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["key"].clone())
            .collect()
    };
    // Hours are integers, 9 before 10 before 23; ties (one dial each at
    // 10 and 23) by key.
    let by_hour = outputs(&calls, body("hour", "dials"), false);
    assert_eq!(keys(&by_hour), [json!(9), json!(10), json!(23)]);
    expect_under(
        &by_hour,
        "/analysis/breakdown/rows/0",
        &[
            ("/dials", json!(2)),
            ("/connect_rate", json!(0.5)),
            ("/previous", json!(null)),
            ("/change", json!(null)),
        ],
    );
    // Tuesday has more dials, but the key order is Monday first.
    let by_weekday = outputs(&calls, body("WEEKDAY", "key"), false);
    assert_eq!(keys(&by_weekday), [json!("MONDAY"), json!("TUESDAY")]);
    // A call with two tags is in both rows; untagged calls in the null row,
    // last in key order.
    let by_tag = outputs(&calls, body("tag", "key"), false);
    assert_eq!(keys(&by_tag), [json!("demo"), json!("won"), json!(null)]);
    expect_under(
        &by_tag,
        "/analysis/breakdown/rows",
        &[
            ("/1/dials", json!(2)),
            ("/1/connected", json!(1)),
            ("/2/dials", json!(2)),
        ],
    );
    // Connect rate: ANSWERED (1/1) first; NO_ANSWER (0/2) and the null
    // result (0/1) tie at 0, by key with null last.
    let by_result = outputs(&calls, body("RESULT", "connect_rate"), false);
    assert_eq!(
        keys(&by_result),
        [json!("ANSWERED"), json!("NO_ANSWER"), json!(null)]
    );
    // Page 2 of size 2 holds the last row; the pagination counts them all.
    let mut paged = body("RESULT", "connect_rate");
    paged["group_page"] = json!(2);
    paged["group_size"] = json!(2);
    let paged = outputs(&calls, paged, false);
    assert_eq!(keys(&paged), [json!(null)]);
    expect_under(
        &paged,
        "/analysis/breakdown/pagination",
        &[(
            "",
            json!({"page": 2, "size": 2, "total_count": 3, "total_pages": 2, "has_more": false}),
        )],
    );
}

#[test]
fn compare_presets_by_hand() {
    let calls = vec![
        call("mar", "2024-03-15T12:00:00Z"),
        call("feb", "2024-02-29T12:00:00Z"),
        call("jan", "2024-01-31T12:00:00Z"),
        // 364 days before 2024-03-15 is 2023-03-17, also a Friday.
        call("last-year", "2023-03-17T12:00:00Z"),
    ];
    let body = |compare: &str| json!({"date": {"from": "2024-03-01", "to": "2024-03-31"}, "compare": compare});
    let month = outputs(&calls, body("previous_month"), false);
    expect(
        &month,
        &[
            (
                "/compare_date",
                json!({"from": "2024-02-01", "to": "2024-02-29"}),
            ),
            (
                "/funnel/dials/count",
                json!({"value": 1, "previous": 1, "change": 0.0}),
            ),
        ],
    );
    let year = outputs(&calls, body("same_weekdays_last_year"), false);
    expect(
        &year,
        &[
            (
                "/compare_date",
                json!({"from": "2023-03-03", "to": "2023-04-02"}),
            ),
            ("/funnel/dials/count/previous", json!(1)),
        ],
    );
    let none = outputs(&calls, body("none"), false);
    expect(
        &none,
        &[
            ("/compare_date", json!(null)),
            (
                "/funnel/dials/count",
                json!({"value": 1, "previous": null, "change": null}),
            ),
            (
                "/time_spent/avg_ringing_time_seconds",
                json!({"value": null, "previous": null, "change": null}),
            ),
        ],
    );
    // Nothing of §8 but compare: no `analysis` key.
    assert!(none[1].get("analysis").is_none());
}
