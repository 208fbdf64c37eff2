//! A naive, row-by-row reference implementation of SPEC §3–§4.
//!
//! Written from the SPEC text alone, independently of `src/engine.rs` and
//! `src/rounding.rs`: plain loops over the calls, chrono-tz for local days and
//! hours, `BTreeMap`s for grouping, and integer arithmetic for every rounding
//! of a ratio of integers (so halves such as 0.145 are never pushed the wrong
//! way by binary floating point). The property tests compare the engine with it.
//!
//! De-duplication (SPEC §1.2) is not its job: the calls it is given are unique
//! by id.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use callfunnel::model::{Call, CallResult, CallType, Direction};
use callfunnel::request::{DateRange, Granularity, Request, Stage};
use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Timelike, Utc};
use serde_json::{json, Map, Value};

/// Decimals of a rate, a change and an average (SPEC §4).
const RATE: u32 = 3;
const CHANGE: u32 = 2;
const AVERAGE: u32 = 1;

/// Heatmap weekday names, Monday first.
const WEEKDAYS: [&str; 7] = [
    "MONDAY",
    "TUESDAY",
    "WEDNESDAY",
    "THURSDAY",
    "FRIDAY",
    "SATURDAY",
    "SUNDAY",
];

/// One counted call with what every section needs, derived once.
struct Row<'a> {
    call: &'a Call,
    day: NaiveDate,
    weekday: usize,
    hour: usize,
    connected: bool,
    conversation: bool,
    conversion: bool,
}

impl Row<'_> {
    fn in_stage(&self, stage: Stage) -> bool {
        match stage {
            Stage::Dial => true,
            Stage::Connected => self.connected,
            Stage::Conversation => self.conversation,
            Stage::Conversion => self.conversion,
        }
    }

    /// The furthest stage reached, DIAL < CONNECTED < CONVERSATION < CONVERSION.
    fn furthest_stage(&self) -> Stage {
        if self.conversion {
            Stage::Conversion
        } else if self.conversation {
            Stage::Conversation
        } else if self.connected {
            Stage::Connected
        } else {
            Stage::Dial
        }
    }
}

/// Per-period totals.
#[derive(Default)]
struct Totals {
    dials: i128,
    connected: i128,
    conversations: i128,
    conversions: i128,
    /// Known ringing times in whole milliseconds (SPEC §4 reads them to the
    /// millisecond, so a mean of decimal inputs is an exact fraction).
    ringing_millis: i128,
    ringing_known: i128,
    connected_duration: i128,
}

impl Totals {
    fn of(rows: &[&Row]) -> Totals {
        let mut totals = Totals::default();
        for row in rows {
            totals.dials += 1;
            if row.connected {
                totals.connected += 1;
                totals.connected_duration += i128::from(row.call.duration);
            }
            if row.conversation {
                totals.conversations += 1;
            }
            if row.conversion {
                totals.conversions += 1;
            }
            if let Some(ringing) = row.call.ringing_seconds {
                totals.ringing_millis += (ringing * 1000.0).round() as i128;
                totals.ringing_known += 1;
            }
        }
        totals
    }

    fn stage(&self, stage: Stage) -> i128 {
        match stage {
            Stage::Dial => self.dials,
            Stage::Connected => self.connected,
            Stage::Conversation => self.conversations,
            Stage::Conversion => self.conversions,
        }
    }
}

/// `n ÷ d` rounded half away from zero to `decimals`, with integer arithmetic
/// (`exact`: no rounding). `d` must not be 0.
pub fn round_ratio(n: i128, d: i128, decimals: u32, exact: bool) -> f64 {
    assert_ne!(d, 0, "ratio with a zero denominator");
    if exact {
        return n as f64 / d as f64;
    }
    let negative = (n < 0) != (d < 0);
    let (n, d) = (n.abs(), d.abs());
    let scale = 10i128.pow(decimals);
    // floor((n·scale)/d + 1/2) = floor((2·n·scale + d) / (2·d)).
    let units = (2 * n * scale + d) / (2 * d);
    let magnitude = units as f64 / scale as f64;
    if negative && units != 0 {
        -magnitude
    } else {
        magnitude
    }
}

fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

fn utc_text(instant: DateTime<Utc>) -> String {
    instant.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn range_json(range: &DateRange) -> Value {
    json!({ "from": day_text(range.from), "to": day_text(range.to) })
}

/// `{value, previous, change}` of two counts.
fn count_metric(value: i128, previous: i128, exact: bool) -> Value {
    let change = (previous != 0).then(|| round_ratio(value - previous, previous, CHANGE, exact));
    json!({ "value": value as u64, "previous": previous as u64, "change": change })
}

/// First day of the bucket holding `day`.
fn bucket_start(day: NaiveDate, granularity: Granularity) -> NaiveDate {
    match granularity {
        Granularity::Day => day,
        Granularity::Week => day - Days::new(u64::from(day.weekday().num_days_from_monday())),
        Granularity::Month => NaiveDate::from_ymd_opt(day.year(), day.month(), 1).unwrap(),
    }
}

/// The first day of every bucket of `range`, ascending.
pub fn bucket_starts(range: &DateRange, granularity: Granularity) -> Vec<NaiveDate> {
    let mut starts = Vec::new();
    let mut start = bucket_start(range.from, granularity);
    while start <= range.to {
        starts.push(start);
        start = match granularity {
            Granularity::Day => start + Days::new(1),
            Granularity::Week => start + Days::new(7),
            Granularity::Month => start + Months::new(1),
        };
    }
    starts
}

/// The response JSON (`{"data": {...}}`) that SPEC §3–§4 prescribe for
/// `calls` and `request`; `exact` skips rounding (the CLI's `--exact`).
pub fn reference(calls: &[Call], request: &Request, exact: bool) -> Value {
    let tz = request.timezone;
    let threshold = request.conversation_threshold_seconds;

    // Every outbound CALL that passes the filters, with its local reading.
    let mut rows = Vec::new();
    for call in calls {
        if call.direction != Direction::Outbound || call.call_type != CallType::Call {
            continue;
        }
        if !request.user_ids.is_empty()
            && !call
                .user_id
                .as_ref()
                .is_some_and(|id| request.user_ids.contains(id))
        {
            continue;
        }
        if !request.allo_numbers.is_empty()
            && !call
                .allo_number
                .as_ref()
                .is_some_and(|number| request.allo_numbers.contains(number))
        {
            continue;
        }
        let local = call.date.with_timezone(&tz);
        // SPEC §3: the recipient picked up.
        let connected = matches!(
            call.result,
            Some(
                CallResult::Answered
                    | CallResult::Transferred
                    | CallResult::TransferredAi
                    | CallResult::TransferredExternal
            )
        );
        // SPEC §3: one of the request's tags; with none, any tag.
        let conversion = if request.tags.is_empty() {
            !call.tags.is_empty()
        } else {
            call.tags.iter().any(|tag| request.tags.contains(tag))
        };
        rows.push(Row {
            call,
            day: local.date_naive(),
            weekday: local.weekday().num_days_from_monday() as usize,
            hour: local.hour() as usize,
            connected,
            conversation: connected && call.duration > threshold,
            conversion,
        });
    }
    let current: Vec<&Row> = rows
        .iter()
        .filter(|row| request.date.contains(row.day))
        .collect();
    let previous: Vec<&Row> = rows
        .iter()
        .filter(|row| request.compare_date.contains(row.day))
        .collect();
    let now = Totals::of(&current);
    let before = Totals::of(&previous);

    // Funnel.
    let stage_json = |stage: Stage| {
        let (value, prior) = (now.stage(stage), before.stage(stage));
        let rate = (now.dials > 0).then(|| round_ratio(value, now.dials, RATE, exact));
        json!({ "count": count_metric(value, prior, exact), "rate": rate })
    };
    let funnel = json!({
        "dials": stage_json(Stage::Dial),
        "connected": stage_json(Stage::Connected),
        "conversations": stage_json(Stage::Conversation),
        "conversions": stage_json(Stage::Conversion),
    });

    // Time series: every bucket of the current period.
    let mut buckets: BTreeMap<NaiveDate, (i128, i128, i128)> =
        bucket_starts(&request.date, request.granularity)
            .into_iter()
            .map(|start| (start, (0, 0, 0)))
            .collect();
    for row in &current {
        let slot = buckets
            .get_mut(&bucket_start(row.day, request.granularity))
            .expect("a current-period call falls in a bucket of the period");
        slot.0 += 1;
        slot.1 += i128::from(row.connected);
        slot.2 += i128::from(row.conversion);
    }
    let point = |date: &NaiveDate, value: Value| json!({ "date": day_text(*date), "value": value });
    let rate_or_zero = |connected: i128, dials: i128| {
        if dials == 0 {
            json!(0.0)
        } else {
            json!(round_ratio(connected, dials, RATE, exact))
        }
    };
    let time_series = json!({
        "dials": buckets.iter().map(|(d, c)| point(d, json!(c.0 as u64))).collect::<Vec<_>>(),
        "connected": buckets.iter().map(|(d, c)| point(d, json!(c.1 as u64))).collect::<Vec<_>>(),
        "connection_rate": buckets
            .iter()
            .map(|(d, c)| point(d, rate_or_zero(c.1, c.0)))
            .collect::<Vec<_>>(),
        "conversions": buckets.iter().map(|(d, c)| point(d, json!(c.2 as u64))).collect::<Vec<_>>(),
    });

    // Heatmap: 7 × 24 cells of (dials, connected).
    let mut cells = [[(0i128, 0i128); 24]; 7];
    for row in &current {
        let cell = &mut cells[row.weekday][row.hour];
        cell.0 += 1;
        cell.1 += i128::from(row.connected);
    }
    let mut heat_dials = Vec::new();
    let mut heat_connected = Vec::new();
    let mut heat_rate = Vec::new();
    for (name, hours) in WEEKDAYS.iter().zip(&cells) {
        for (hour, &(dials, connected)) in hours.iter().enumerate() {
            let cell = |value: Value| json!({ "day": name, "hour": hour, "value": value });
            heat_dials.push(cell(json!(dials as u64)));
            heat_connected.push(cell(json!(connected as u64)));
            heat_rate.push(cell(rate_or_zero(connected, dials)));
        }
    }
    let heatmap = json!({
        "dials": heat_dials,
        "connected": heat_connected,
        "connection_rate": heat_rate,
    });

    // Leaderboard: per user id, connected count and the latest call (date, id).
    let mut users: BTreeMap<&str, (u64, &Call)> = BTreeMap::new();
    for row in &current {
        let Some(user_id) = row.call.user_id.as_deref() else {
            continue;
        };
        let entry = users.entry(user_id).or_insert((0, row.call));
        entry.0 += u64::from(row.connected);
        if (row.call.date, &row.call.id) > (entry.1.date, &entry.1.id) {
            entry.1 = row.call;
        }
    }
    let mut board: Vec<(&str, u64, &Call)> = users
        .into_iter()
        .map(|(id, (connected, latest))| (id, connected, latest))
        .collect();
    board.sort_by(|a, b| (Reverse(a.1), a.0).cmp(&(Reverse(b.1), b.0)));
    let leaderboard: Vec<Value> = board
        .into_iter()
        .map(|(id, connected, latest)| {
            json!({
                "user": { "id": id, "name": latest.user_name, "email": latest.user_email },
                "connected": connected,
            })
        })
        .collect();

    // Time spent.
    let avg_ringing = {
        // value = a / (b·1000), previous = c / (d·1000); change = (a·d − c·b) / (c·b).
        let (a, b) = (now.ringing_millis, now.ringing_known);
        let (c, d) = (before.ringing_millis, before.ringing_known);
        let value = (b > 0).then(|| round_ratio(a, b * 1000, AVERAGE, exact));
        let prior = (d > 0).then(|| round_ratio(c, d * 1000, AVERAGE, exact));
        let change =
            (b > 0 && d > 0 && c != 0).then(|| round_ratio(a * d - c * b, c * b, CHANGE, exact));
        json!({ "value": value, "previous": prior, "change": change })
    };
    let avg_conversation = {
        // value = a / b, previous = c / d; change = (a·d − c·b) / (c·b).
        let (a, b) = (now.connected_duration, now.connected);
        let (c, d) = (before.connected_duration, before.connected);
        let value = (b > 0).then(|| round_ratio(a, b, AVERAGE, exact));
        let prior = (d > 0).then(|| round_ratio(c, d, AVERAGE, exact));
        let change =
            (b > 0 && d > 0 && c != 0).then(|| round_ratio(a * d - c * b, c * b, CHANGE, exact));
        json!({ "value": value, "previous": prior, "change": change })
    };
    let time_spent = json!({
        "avg_ringing_time_seconds": avg_ringing,
        "avg_conversation_time_seconds": avg_conversation,
        "total_conversation_time_seconds":
            count_metric(now.connected_duration, before.connected_duration, exact),
    });

    let last_updated = calls.iter().map(|call| call.date).max().map(utc_text);

    let mut data = Map::new();
    data.insert("date".into(), range_json(&request.date));
    data.insert("compare_date".into(), range_json(&request.compare_date));
    data.insert("funnel".into(), funnel);
    data.insert("time_series".into(), time_series);
    data.insert("heatmap".into(), heatmap);
    data.insert("leaderboard".into(), Value::Array(leaderboard));
    data.insert("time_spent".into(), time_spent);
    data.insert("last_updated".into(), json!(last_updated));

    if let Some(items) = &request.items {
        let mut listed: Vec<&Row> = current
            .iter()
            .copied()
            .filter(|row| row.in_stage(items.stage))
            .collect();
        listed.sort_by(|a, b| {
            (Reverse(a.call.date), &a.call.id).cmp(&(Reverse(b.call.date), &b.call.id))
        });
        let total = listed.len() as u64;
        let size = u64::from(items.size);
        let offset = (u64::from(items.page) - 1) * size;
        let page: Vec<Value> = listed
            .iter()
            .skip(offset as usize)
            .take(size as usize)
            .map(|row| {
                let call = row.call;
                let user = if call.user_id.is_none()
                    && call.user_name.is_none()
                    && call.user_email.is_none()
                {
                    Value::Null
                } else {
                    json!({ "id": call.user_id, "name": call.user_name, "email": call.user_email })
                };
                json!({
                    "id": call.id,
                    "user": user,
                    "allo_number": call.allo_number,
                    "allo_number_label": call.allo_number_label,
                    "contact_number": call.contact_number,
                    "stage": row.furthest_stage().as_str(),
                    "voicemail": call.result == Some(CallResult::Voicemail),
                    "duration": call.duration,
                    "date": utc_text(call.date),
                })
            })
            .collect();
        let total_pages = total.div_ceil(size);
        data.insert(
            "items".into(),
            json!({
                "data": page,
                "pagination": {
                    "page": items.page,
                    "size": items.size,
                    "total_count": total,
                    "total_pages": total_pages,
                    "has_more": u64::from(items.page) < total_pages,
                },
            }),
        );
    }

    json!({ "data": Value::Object(data) })
}

/// Compares two JSON values recursively: same keys, same array lengths,
/// strings/booleans/nulls equal, integers exactly equal (an expected integer
/// must be an integer), other numbers within 1e-9. Panics listing every
/// difference (up to 30) with its JSON path.
pub fn assert_json_matches(actual: &Value, expected: &Value) {
    let differences = json_differences(actual, expected);
    if !differences.is_empty() {
        let shown: Vec<&String> = differences.iter().take(30).collect();
        panic!(
            "{} JSON difference(s) (actual vs expected):\n  {}",
            differences.len(),
            shown
                .iter()
                .map(|d| d.as_str())
                .collect::<Vec<_>>()
                .join("\n  ")
        );
    }
}

/// The differences [`assert_json_matches`] reports, one line each (empty: a match).
pub fn json_differences(actual: &Value, expected: &Value) -> Vec<String> {
    let mut differences = Vec::new();
    compare(actual, expected, "$", &mut differences);
    differences
}

fn compare(actual: &Value, expected: &Value, path: &str, out: &mut Vec<String>) {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            for key in e.keys() {
                if !a.contains_key(key) {
                    out.push(format!("{path}.{key}: missing (expected {})", e[key]));
                }
            }
            for key in a.keys() {
                if !e.contains_key(key) {
                    out.push(format!("{path}.{key}: unexpected key (value {})", a[key]));
                }
            }
            for (key, e_value) in e {
                if let Some(a_value) = a.get(key) {
                    compare(a_value, e_value, &format!("{path}.{key}"), out);
                }
            }
        }
        (Value::Array(a), Value::Array(e)) => {
            if a.len() != e.len() {
                out.push(format!(
                    "{path}: array length {} vs expected {}",
                    a.len(),
                    e.len()
                ));
            }
            for (index, (a_item, e_item)) in a.iter().zip(e).enumerate() {
                compare(a_item, e_item, &format!("{path}[{index}]"), out);
            }
        }
        (Value::Number(a), Value::Number(e)) => {
            let integer = |n: &serde_json::Number| n.is_i64() || n.is_u64();
            if integer(e) {
                let same = integer(a) && a.as_i64() == e.as_i64() && a.as_u64() == e.as_u64();
                if !same {
                    out.push(format!("{path}: {a} vs expected integer {e}"));
                }
            } else {
                let (x, y) = (a.as_f64().unwrap(), e.as_f64().unwrap());
                if (x - y).abs() > 1e-9 {
                    out.push(format!("{path}: {a} vs expected {e}"));
                }
            }
        }
        _ => {
            if actual != expected {
                out.push(format!("{path}: {actual} vs expected {expected}"));
            }
        }
    }
}
