//! A naive, row-by-row reference implementation of SPEC §3–§4 and of the
//! analysis extensions of §8 (breakdowns, connect rules, reach, Wilson
//! intervals, `compare: none`).
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

use callfunnel::analysis::{BreakdownRequest, GroupBy, GroupSort};
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

/// `{value, previous, change}` of two counts (without a comparison, both
/// are nulled afterwards).
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
        .filter(|row| in_previous(request, row))
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
    data.insert(
        "compare_date".into(),
        request
            .compare_date
            .as_ref()
            .map_or(Value::Null, range_json),
    );
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

    let mut data = Value::Object(data);
    if request.compare_date.is_none() {
        // SPEC §8.5: no comparison, so every `previous` and `change` is null.
        null_comparisons(&mut data);
    }
    let mut response = json!({ "data": data });
    if let Some(analysis) = analysis(&rows, request, exact, &response["data"]) {
        response["analysis"] = analysis;
    }
    response
}

/// Whether the row falls in the comparison period (never without one).
fn in_previous(request: &Request, row: &Row) -> bool {
    request
        .compare_date
        .is_some_and(|range| range.contains(row.day))
}

/// Sets every `previous` and `change` key below `value` to null.
fn null_comparisons(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "previous" || key == "change" {
                    *child = Value::Null;
                } else {
                    null_comparisons(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(null_comparisons),
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// SPEC §8: the analysis extensions.
// ---------------------------------------------------------------------------

/// `n ÷ d` rounded as a rate, `null` when `d` is 0.
fn rate_or_null(n: i128, d: i128, exact: bool) -> Value {
    json!((d != 0).then(|| round_ratio(n, d, RATE, exact)))
}

/// The `analysis` object SPEC §8 prescribes; `None` when nothing of §8 is asked.
fn analysis(rows: &[Row], request: &Request, exact: bool, data: &Value) -> Option<Value> {
    let asked = &request.analysis;
    if asked.is_empty() {
        return None;
    }
    let mut analysis = Map::new();
    if let Some(breakdown) = &asked.breakdown {
        analysis.insert(
            "breakdown".into(),
            breakdown_json(rows, request, breakdown, exact),
        );
    }
    if asked.connect_rules {
        let rules = |rows: Vec<&Row>| {
            let counts = GroupCounts::of(&rows);
            let (d, v, c) = (counts.dials, counts.voicemails, counts.connected);
            json!({
                "dials": d as u64,
                "voicemails": v as u64,
                "connected": c as u64,
                "connect_rate": rate_or_null(c, d, exact),
                "connect_rate_with_voicemail": rate_or_null(c + v, d, exact),
                "connect_rate_excl_voicemail": rate_or_null(c, d - v, exact),
                // with voicemail − without = v ÷ d exactly, rounded once.
                "voicemail_inflation": rate_or_null(v, d, exact),
            })
        };
        let current = rows
            .iter()
            .filter(|row| request.date.contains(row.day))
            .collect();
        let previous = request.compare_date.map(|_| {
            rows.iter()
                .filter(|row| in_previous(request, row))
                .collect::<Vec<_>>()
        });
        analysis.insert(
            "connect_rules".into(),
            json!({ "current": rules(current), "previous": previous.map(rules) }),
        );
    }
    if asked.reach {
        analysis.insert("reach".into(), reach_json(rows, request, exact));
    }
    if asked.intervals {
        let intervals = intervals_json(data, &Value::Object(analysis.clone()), exact);
        analysis.insert("intervals".into(), intervals);
    }
    Some(Value::Object(analysis))
}

/// A group's counts over one period.
#[derive(Default, Clone, Copy)]
struct GroupCounts {
    dials: i128,
    connected: i128,
    conversations: i128,
    conversions: i128,
    voicemails: i128,
    talk: i128,
}

impl GroupCounts {
    fn of(rows: &[&Row]) -> GroupCounts {
        let mut counts = GroupCounts::default();
        for row in rows {
            counts.add(row);
        }
        counts
    }

    fn add(&mut self, row: &Row) {
        self.dials += 1;
        self.connected += i128::from(row.connected);
        self.conversations += i128::from(row.conversation);
        self.conversions += i128::from(row.conversion);
        self.voicemails += i128::from(row.call.result == Some(CallResult::Voicemail));
        if row.connected {
            self.talk += i128::from(row.call.duration);
        }
    }

    /// The figures of a breakdown row (SPEC §8.1).
    fn figures(&self, exact: bool) -> Map<String, Value> {
        let d = self.dials;
        let mut map = Map::new();
        for (name, value) in [
            ("dials", d),
            ("connected", self.connected),
            ("conversations", self.conversations),
            ("conversions", self.conversions),
            ("voicemails", self.voicemails),
        ] {
            map.insert(name.into(), json!(value as u64));
        }
        map.insert(
            "connect_rate".into(),
            rate_or_null(self.connected, d, exact),
        );
        map.insert(
            "conversation_rate".into(),
            rate_or_null(self.conversations, d, exact),
        );
        map.insert(
            "conversion_rate".into(),
            rate_or_null(self.conversions, d, exact),
        );
        map.insert(
            "voicemail_rate".into(),
            rate_or_null(self.voicemails, d, exact),
        );
        map.insert(
            "connect_rate_excl_voicemail".into(),
            rate_or_null(self.connected, d - self.voicemails, exact),
        );
        map.insert(
            "avg_conversation_time_seconds".into(),
            json!((self.connected > 0).then(|| round_ratio(
                self.talk,
                self.connected,
                AVERAGE,
                exact
            ))),
        );
        map.insert(
            "total_conversation_time_seconds".into(),
            json!(self.talk as u64),
        );
        map
    }

    /// The changes of a breakdown row: counts as SPEC §4 changes, rates in
    /// points (current − previous), rounded as rates.
    fn changes(&self, before: &GroupCounts, exact: bool) -> Value {
        let count = |now: i128, prior: i128| {
            json!((prior != 0).then(|| round_ratio(now - prior, prior, CHANGE, exact)))
        };
        // x1/n1 − x0/n0 = (x1·n0 − x0·n1) / (n1·n0).
        let points = |(x1, n1): (i128, i128), (x0, n0): (i128, i128)| {
            json!((n1 != 0 && n0 != 0).then(|| round_ratio(
                x1 * n0 - x0 * n1,
                n1 * n0,
                RATE,
                exact
            )))
        };
        let over_dials =
            |counts: &GroupCounts, x: fn(&GroupCounts) -> i128| (x(counts), counts.dials);
        let rate = |x: fn(&GroupCounts) -> i128| points(over_dials(self, x), over_dials(before, x));
        // (a/b − c/d) ÷ (c/d) = (a·d − c·b) / (c·b).
        let (a, b, c, d) = (self.talk, self.connected, before.talk, before.connected);
        let average =
            (b > 0 && d > 0 && c != 0).then(|| round_ratio(a * d - c * b, c * b, CHANGE, exact));
        json!({
            "dials": count(self.dials, before.dials),
            "connected": count(self.connected, before.connected),
            "conversations": count(self.conversations, before.conversations),
            "conversions": count(self.conversions, before.conversions),
            "voicemails": count(self.voicemails, before.voicemails),
            "connect_rate": rate(|g| g.connected),
            "conversation_rate": rate(|g| g.conversations),
            "conversion_rate": rate(|g| g.conversions),
            "voicemail_rate": rate(|g| g.voicemails),
            "connect_rate_excl_voicemail": points(
                (self.connected, self.dials - self.voicemails),
                (before.connected, before.dials - before.voicemails),
            ),
            "avg_conversation_time_seconds": average,
            "total_conversation_time_seconds": count(self.talk, before.talk),
        })
    }
}

/// A breakdown key as it sorts: `(is null, number, text)`, so that
/// weekdays and hours sort by their number, other keys by their text (byte
/// order), and the null key comes last.
type SortKey = (bool, i64, String);

/// The keys a row is counted under for `group_by` (SPEC §8.1).
fn group_keys(row: &Row, group_by: GroupBy) -> Vec<SortKey> {
    let text = |value: &Option<String>| match value {
        Some(text) => (false, 0, text.clone()),
        None => (true, 0, String::new()),
    };
    match group_by {
        GroupBy::User => vec![text(&row.call.user_id)],
        GroupBy::AlloNumber => vec![text(&row.call.allo_number)],
        GroupBy::ContactNumber => vec![text(&row.call.contact_number)],
        GroupBy::Result => vec![text(&row.call.result.map(|r| r.as_str().to_string()))],
        GroupBy::Tag if row.call.tags.is_empty() => vec![(true, 0, String::new())],
        GroupBy::Tag => row
            .call
            .tags
            .iter()
            .map(|tag| (false, 0, tag.clone()))
            .collect(),
        // Monday is 1, as the key sorts; the JSON key is its name.
        GroupBy::Weekday => vec![(false, row.weekday as i64 + 1, String::new())],
        GroupBy::Hour => vec![(false, row.hour as i64, String::new())],
    }
}

/// The JSON of a sort key.
fn key_json(key: &SortKey, group_by: GroupBy) -> Value {
    match (key, group_by) {
        ((true, _, _), _) => Value::Null,
        ((false, day, _), GroupBy::Weekday) => json!(WEEKDAYS[*day as usize - 1]),
        ((false, hour, _), GroupBy::Hour) => json!(hour),
        ((false, _, text), _) => json!(text),
    }
}

/// One group of the breakdown.
#[derive(Default)]
struct Group<'a> {
    current: GroupCounts,
    previous: GroupCounts,
    /// The call the label is read from: the latest, preferring the current
    /// period: the greatest `(in current period, date, id)`.
    latest: Option<(bool, DateTime<Utc>, &'a str, &'a Call)>,
}

/// `analysis.breakdown` (SPEC §8.1).
fn breakdown_json(
    rows: &[Row],
    request: &Request,
    breakdown: &BreakdownRequest,
    exact: bool,
) -> Value {
    let group_by = breakdown.group_by;
    let mut groups: BTreeMap<SortKey, Group> = BTreeMap::new();
    for row in rows {
        let current = request.date.contains(row.day);
        let previous = in_previous(request, row);
        if !current && !previous {
            continue;
        }
        for key in group_keys(row, group_by) {
            let group = groups.entry(key).or_default();
            if current {
                group.current.add(row);
            }
            if previous {
                group.previous.add(row);
            }
            let candidate = (current, row.call.date, row.call.id.as_str(), row.call);
            let later = match group.latest {
                None => true,
                Some((c, date, id, _)) => (candidate.0, candidate.1, candidate.2) > (c, date, id),
            };
            if later {
                group.latest = Some(candidate);
            }
        }
    }
    // Key ascending first; a stable sort by the figure keeps it for ties.
    let mut ordered: Vec<(SortKey, Group)> = groups.into_iter().collect();
    let count = |g: &Group| match breakdown.sort {
        GroupSort::Dials => g.current.dials,
        GroupSort::Connected => g.current.connected,
        GroupSort::Conversations => g.current.conversations,
        GroupSort::Conversions => g.current.conversions,
        _ => 0,
    };
    match breakdown.sort {
        GroupSort::Key => {}
        GroupSort::ConnectRate | GroupSort::ConversionRate => {
            let fraction = |g: &Group| {
                let x = if breakdown.sort == GroupSort::ConnectRate {
                    g.current.connected
                } else {
                    g.current.conversions
                };
                (g.current.dials > 0).then_some((x, g.current.dials))
            };
            // Descending by the exact fraction, rows without dials last.
            ordered.sort_by(|(_, a), (_, b)| match (fraction(a), fraction(b)) {
                (Some((xa, na)), Some((xb, nb))) => (xb * na).cmp(&(xa * nb)),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            });
        }
        _ => ordered.sort_by_key(|(_, g)| Reverse(count(g))),
    }
    let total = ordered.len() as u64;
    let size = u64::from(breakdown.size);
    let offset = (u64::from(breakdown.page) - 1) * size;
    let compared = request.compare_date.is_some();
    let page: Vec<Value> = ordered
        .iter()
        .skip(offset as usize)
        .take(size as usize)
        .map(|(key, group)| {
            let label = group.latest.and_then(|(_, _, _, call)| match group_by {
                GroupBy::User => call.user_name.clone(),
                GroupBy::AlloNumber => call.allo_number_label.clone(),
                _ => None,
            });
            let mut row = Map::new();
            row.insert("key".into(), key_json(key, group_by));
            row.insert("label".into(), json!(label));
            row.extend(group.current.figures(exact));
            row.insert(
                "previous".into(),
                if compared {
                    Value::Object(group.previous.figures(exact))
                } else {
                    Value::Null
                },
            );
            row.insert(
                "change".into(),
                if compared {
                    group.current.changes(&group.previous, exact)
                } else {
                    Value::Null
                },
            );
            Value::Object(row)
        })
        .collect();
    let total_pages = total.div_ceil(size);
    json!({
        "group_by": group_by.as_str(),
        "rows": page,
        "pagination": {
            "page": breakdown.page,
            "size": breakdown.size,
            "total_count": total,
            "total_pages": total_pages,
            "has_more": u64::from(breakdown.page) < total_pages,
        },
    })
}

/// `analysis.reach` (SPEC §8.3), over the current period's dials.
fn reach_json(rows: &[Row], request: &Request, exact: bool) -> Value {
    let mut without_contact = 0u64;
    let mut contacts: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for row in rows.iter().filter(|row| request.date.contains(row.day)) {
        match row.call.contact_number.as_deref() {
            Some(number) => contacts.entry(number).or_default().push(row),
            None => without_contact += 1,
        }
    }
    let dialled = contacts.len() as i128;
    let mut reached = 0i128;
    let mut converted = 0u64;
    let mut unreached_after_5 = 0u64;
    let mut to_first_connect: Vec<i128> = Vec::new();
    let mut dials_with_contact = 0i128;
    let mut most: Vec<(Reverse<usize>, &str, u64, DateTime<Utc>)> = Vec::new();
    for (number, calls) in &mut contacts {
        calls.sort_by(|a, b| (a.call.date, &a.call.id).cmp(&(b.call.date, &b.call.id)));
        dials_with_contact += calls.len() as i128;
        let connected = calls.iter().filter(|row| row.connected).count();
        if let Some(first) = calls.iter().position(|row| row.connected) {
            reached += 1;
            to_first_connect.push(first as i128 + 1);
        } else if calls.len() >= 5 {
            unreached_after_5 += 1;
        }
        if calls.iter().any(|row| row.conversion) {
            converted += 1;
        }
        let last = calls.iter().map(|row| row.call.date).max().unwrap();
        most.push((Reverse(calls.len()), number, connected as u64, last));
    }
    most.sort();
    let most_dialled: Vec<Value> = most
        .iter()
        .take(10)
        .map(|(Reverse(dials), number, connected, last)| {
            json!({
                "contact_number": number,
                "dials": dials,
                "connected": connected,
                "last_dialled": utc_text(*last),
            })
        })
        .collect();
    to_first_connect.sort();
    let n = to_first_connect.len();
    let mean =
        (n > 0).then(|| round_ratio(to_first_connect.iter().sum(), n as i128, AVERAGE, exact));
    let median = (n > 0).then(|| {
        let twice = if n % 2 == 1 {
            2 * to_first_connect[n / 2]
        } else {
            to_first_connect[n / 2 - 1] + to_first_connect[n / 2]
        };
        round_ratio(twice, 2, AVERAGE, exact)
    });
    json!({
        "dials_without_contact": without_contact,
        "contacts_dialled": dialled as u64,
        "contacts_reached": reached as u64,
        "contacts_converted": converted,
        "reach_rate": rate_or_null(reached, dialled, exact),
        "dials_per_contact": json!((dialled > 0).then(|| round_ratio(dials_with_contact, dialled, AVERAGE, exact))),
        "dials_to_first_connect": { "mean": mean, "median": median },
        "unreached_after_5_dials": unreached_after_5,
        "most_dialled": most_dialled,
    })
}

/// The 95 % Wilson interval of `x` successes in `n` trials (SPEC §8.4),
/// written in the form `(2x + z² ∓ z·√(z² + 4x(n − x)/n)) ÷ (2(n + z²))`,
/// which is the SPEC's formula multiplied out.
pub fn wilson_json(x: u64, n: u64, exact: bool) -> Value {
    const Z: f64 = 1.959964;
    if n == 0 {
        return json!({ "n": 0, "low": null, "high": null, "small_sample": true });
    }
    let (x, trials) = (x as f64, n as f64);
    let root = Z * (Z * Z + 4.0 * x * (trials - x) / trials).sqrt();
    let denominator = 2.0 * (trials + Z * Z);
    let round = |value: f64| {
        let value = value.clamp(0.0, 1.0);
        if exact {
            value
        } else {
            (value * 1000.0).round() / 1000.0
        }
    };
    let low = if x == 0.0 {
        0.0
    } else {
        (2.0 * x + Z * Z - root) / denominator
    };
    let high = if x == trials {
        1.0
    } else {
        (2.0 * x + Z * Z + root) / denominator
    };
    json!({ "n": n, "low": round(low), "high": round(high), "small_sample": n < 30 })
}

/// `analysis.intervals` (SPEC §8.4), from the counts of `data` and of the
/// other analysis figures.
fn intervals_json(data: &Value, analysis: &Value, exact: bool) -> Value {
    let int = |value: &Value| value.as_u64().expect("a count");
    let interval = |x: &Value, n: &Value| wilson_json(int(x), int(n), exact);
    let funnel = &data["funnel"];
    let dials = &funnel["dials"]["count"]["value"];
    let mut intervals = Map::new();
    let stages = ["dials", "connected", "conversations", "conversions"];
    intervals.insert(
        "funnel".into(),
        Value::Object(
            stages
                .iter()
                .map(|stage| {
                    (
                        stage.to_string(),
                        json!({ "rate": interval(&funnel[stage]["count"]["value"], dials) }),
                    )
                })
                .collect(),
        ),
    );
    // A point's or a cell's interval: its other fields, then the interval's.
    let beside = |point: &Value, connected: &Value| {
        let mut entry = point.as_object().unwrap().clone();
        entry.remove("value");
        entry.extend(
            interval(&connected["value"], &point["value"])
                .as_object()
                .unwrap()
                .clone(),
        );
        Value::Object(entry)
    };
    for section in ["time_series", "heatmap"] {
        let cells: Vec<Value> = data[section]["dials"]
            .as_array()
            .unwrap()
            .iter()
            .zip(data[section]["connected"].as_array().unwrap())
            .map(|(dials, connected)| beside(dials, connected))
            .collect();
        intervals.insert(section.into(), json!({ "connection_rate": cells }));
    }
    if let Some(breakdown) = analysis.get("breakdown") {
        let rates = |figures: &Value| {
            if figures.is_null() {
                return Value::Null;
            }
            let n = &figures["dials"];
            let without_voicemail = json!(int(n) - int(&figures["voicemails"]));
            json!({
                "connect_rate": interval(&figures["connected"], n),
                "conversation_rate": interval(&figures["conversations"], n),
                "conversion_rate": interval(&figures["conversions"], n),
                "voicemail_rate": interval(&figures["voicemails"], n),
                "connect_rate_excl_voicemail": interval(&figures["connected"], &without_voicemail),
            })
        };
        let rows: Vec<Value> = breakdown["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                let mut entry = Map::new();
                entry.insert("key".into(), row["key"].clone());
                entry.extend(rates(row).as_object().unwrap().clone());
                entry.insert("previous".into(), rates(&row["previous"]));
                Value::Object(entry)
            })
            .collect();
        intervals.insert("breakdown".into(), json!({ "rows": rows }));
    }
    if let Some(rules) = analysis.get("connect_rules") {
        let rates = |figures: &Value| {
            if figures.is_null() {
                return Value::Null;
            }
            let n = &figures["dials"];
            let (connected, voicemails) = (int(&figures["connected"]), int(&figures["voicemails"]));
            json!({
                "connect_rate": interval(&figures["connected"], n),
                "connect_rate_with_voicemail": interval(&json!(connected + voicemails), n),
                "connect_rate_excl_voicemail": interval(&figures["connected"], &json!(int(n) - voicemails)),
                "voicemail_inflation": interval(&figures["voicemails"], n),
            })
        };
        intervals.insert(
            "connect_rules".into(),
            json!({ "current": rates(&rules["current"]), "previous": rates(&rules["previous"]) }),
        );
    }
    if let Some(reach) = analysis.get("reach") {
        intervals.insert(
            "reach".into(),
            json!({ "reach_rate": interval(&reach["contacts_reached"], &reach["contacts_dialled"]) }),
        );
    }
    Value::Object(intervals)
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
