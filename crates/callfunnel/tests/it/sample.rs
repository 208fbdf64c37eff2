//! The library on the sample data, against figures computed independently.
//!
//! `sample_data/calls.csv` is written by `sample_data/generate_sample.py`; the
//! expected responses `sample_data/expected_response*.json` and every figure
//! hard-coded below come from `sample_data/expected.py`, a separate Python
//! implementation of SPEC §3–§4 (exact fractions, rounding half away from
//! zero). If the sample is regenerated, rerun `expected.py` (its docstring has
//! the commands) and update the figures here.

use callfunnel::{compute, compute_with, Request, Rounding};
use serde_json::{json, Value};

use crate::sample_data::{assert_json_close, load_sample, sample_json, sample_path, TOLERANCE};

/// The value at a JSON pointer, or a panic naming it.
fn at<'a>(value: &'a Value, pointer: &str) -> &'a Value {
    value
        .pointer(pointer)
        .unwrap_or_else(|| panic!("no value at {pointer}"))
}

/// Asserts the value at `pointer` is the JSON integer `expected`.
fn assert_int(value: &Value, pointer: &str, expected: u64) {
    let found = at(value, pointer);
    assert_eq!(found.as_u64(), Some(expected), "{pointer}: got {found}");
}

/// Asserts the value at `pointer` is a number within [`TOLERANCE`] of
/// `expected`, or `null` when `expected` is `None`.
fn assert_num(value: &Value, pointer: &str, expected: Option<f64>) {
    let found = at(value, pointer);
    match expected {
        None => assert!(found.is_null(), "{pointer}: got {found}, expected null"),
        Some(expected) => {
            let number = found
                .as_f64()
                .unwrap_or_else(|| panic!("{pointer}: got {found}, expected {expected}"));
            assert!(
                (number - expected).abs() <= TOLERANCE,
                "{pointer}: got {number}, expected {expected}"
            );
        }
    }
}

fn request_from(text: &str) -> Request {
    Request::from_json_str(text).unwrap_or_else(|err| panic!("request {text}: {err}"))
}

fn sample_request(name: &str) -> Request {
    let path = sample_path(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
    request_from(&text)
}

/// The library's response to `request` on the sample, as JSON.
fn respond(request: &Request, rounding: Rounding) -> Value {
    let (frame, _) = load_sample();
    let response = compute_with(frame, request, rounding).expect("computing the sample");
    serde_json::to_value(&response).expect("responses serialize")
}

fn respond_to(name: &str) -> Value {
    respond(&sample_request(name), Rounding::Api)
}

/// The drilldown request of the sample with other stage, page and size.
fn drilldown_request(stage: &str, page: u32, size: u32) -> Request {
    request_from(&format!(
        r#"{{"date":{{"from":"2024-03-04","to":"2024-03-17"}},"tags":["demo_booked"],
            "granularity":"DAY","timezone":"Europe/Paris","extend":"items",
            "stage":"{stage}","page":{page},"size":{size}}}"#
    ))
}

// ---------------------------------------------------------------------------
// Ingest
// ---------------------------------------------------------------------------

#[test]
fn ingest_report_counts_rows_and_collapses_three_duplicates() {
    let (_, report) = load_sample();
    assert_eq!(report.files, vec![sample_path("calls.csv")]);
    assert_eq!(report.rows_read, 3063);
    assert_eq!(report.duplicates, 3);
    assert_eq!(report.calls, 3060);
    assert!(report.skipped.is_empty(), "skipped: {:?}", report.skipped);
}

// ---------------------------------------------------------------------------
// request.json: 2024-03-04..2024-03-17, Europe/Paris, tags [demo_booked], DAY
// ---------------------------------------------------------------------------

#[test]
fn request_equals_the_expected_response() {
    let actual = respond_to("request.json");
    assert_json_close(
        &actual,
        &sample_json("expected_response.json"),
        "request.json",
    );
}

#[test]
fn request_funnel() {
    let v = respond_to("request.json");
    assert_eq!(
        at(&v, "/data/date"),
        &json!({"from": "2024-03-04", "to": "2024-03-17"})
    );
    // The default comparison period: the 14 days before.
    assert_eq!(
        at(&v, "/data/compare_date"),
        &json!({"from": "2024-02-19", "to": "2024-03-03"})
    );
    let stages = [
        // stage, value, previous, change, rate
        ("dials", 930, 858, Some(0.08), Some(1.0)),
        ("connected", 350, 350, Some(0.0), Some(0.376)),
        // -7/200 = -0.035 exactly: half away from zero gives -0.04.
        ("conversations", 193, 200, Some(-0.04), Some(0.208)),
        ("conversions", 58, 58, Some(0.0), Some(0.062)),
    ];
    for (stage, value, previous, change, rate) in stages {
        let base = format!("/data/funnel/{stage}");
        assert_int(&v, &format!("{base}/count/value"), value);
        assert_int(&v, &format!("{base}/count/previous"), previous);
        assert_num(&v, &format!("{base}/count/change"), change);
        assert_num(&v, &format!("{base}/rate"), rate);
    }
}

#[test]
fn request_time_series() {
    let v = respond_to("request.json");
    for series in ["dials", "connected", "connection_rate", "conversions"] {
        let points = at(&v, &format!("/data/time_series/{series}"))
            .as_array()
            .expect("a list");
        assert_eq!(points.len(), 14, "{series}: one point per day");
        assert_eq!(points[0]["date"], "2024-03-04");
        assert_eq!(points[13]["date"], "2024-03-17");
    }
    // 2024-03-04 holds the two calls dialled just after local midnight
    // (2024-03-03T23:15:00Z and 2024-03-04T00:30:00+01:00).
    assert_eq!(
        at(&v, "/data/time_series/dials/0"),
        &json!({"date": "2024-03-04", "value": 101})
    );
    assert_int(&v, "/data/time_series/dials/5/value", 3);
    assert_int(&v, "/data/time_series/dials/6/value", 1);
    assert_int(&v, "/data/time_series/dials/13/value", 6);
    assert_int(&v, "/data/time_series/connected/0/value", 39);
    assert_int(&v, "/data/time_series/connected/6/value", 0);
    assert_int(&v, "/data/time_series/connected/11/value", 44);
    assert_int(&v, "/data/time_series/conversions/3/value", 10);
    assert_int(&v, "/data/time_series/conversions/13/value", 2);
    assert_num(&v, "/data/time_series/connection_rate/0/value", Some(0.386));
    assert_num(&v, "/data/time_series/connection_rate/5/value", Some(1.0));
    // 1 dial, 0 connected: 0, not null.
    assert_num(&v, "/data/time_series/connection_rate/6/value", Some(0.0));
    assert_num(
        &v,
        "/data/time_series/connection_rate/10/value",
        Some(0.272),
    );
    assert_num(
        &v,
        "/data/time_series/connection_rate/13/value",
        Some(0.167),
    );
}

/// Index of a heatmap cell in the Monday→Sunday, hour 0→23 order.
fn cell(day: usize, hour: usize) -> usize {
    day * 24 + hour
}

const MONDAY: usize = 0;
const WEDNESDAY: usize = 2;
const FRIDAY: usize = 4;
const SATURDAY: usize = 5;
const SUNDAY: usize = 6;

#[test]
fn request_heatmap() {
    let v = respond_to("request.json");
    let days = [
        "MONDAY",
        "TUESDAY",
        "WEDNESDAY",
        "THURSDAY",
        "FRIDAY",
        "SATURDAY",
        "SUNDAY",
    ];
    for map in ["dials", "connected", "connection_rate"] {
        let cells = at(&v, &format!("/data/heatmap/{map}"))
            .as_array()
            .expect("a list");
        assert_eq!(cells.len(), 168, "{map}: all 168 cells");
        for (index, cell) in cells.iter().enumerate() {
            assert_eq!(cell["day"], days[index / 24], "{map}/{index}");
            assert_eq!(cell["hour"], json!(index % 24), "{map}/{index}");
        }
    }
    let dials = |day, hour| format!("/data/heatmap/dials/{}/value", cell(day, hour));
    let connected = |day, hour| format!("/data/heatmap/connected/{}/value", cell(day, hour));
    let rate = |day, hour| format!("/data/heatmap/connection_rate/{}/value", cell(day, hour));
    // Local midnight calls of Monday 2024-03-04, read in Europe/Paris.
    assert_int(&v, &dials(MONDAY, 0), 2);
    assert_int(&v, &connected(MONDAY, 0), 2);
    assert_num(&v, &rate(MONDAY, 0), Some(1.0));
    // 2024-03-17T22:45:00Z is Sunday 23:45 in Paris.
    assert_int(&v, &dials(SUNDAY, 23), 1);
    assert_int(&v, &dials(SUNDAY, 22), 0);
    assert_num(&v, &rate(SUNDAY, 22), Some(0.0));
    assert_int(&v, &dials(FRIDAY, 16), 36);
    assert_int(&v, &connected(FRIDAY, 16), 20);
    assert_num(&v, &rate(FRIDAY, 16), Some(0.556));
    // 5/16 = 0.3125 exactly: half away from zero gives 0.313.
    assert_int(&v, &dials(MONDAY, 10), 16);
    assert_int(&v, &connected(MONDAY, 10), 5);
    assert_num(&v, &rate(MONDAY, 10), Some(0.313));
    assert_num(&v, &rate(FRIDAY, 9), Some(0.313));
    assert_int(&v, &dials(WEDNESDAY, 16), 30);
    assert_num(&v, &rate(WEDNESDAY, 16), Some(0.233));
    assert_int(&v, &dials(SATURDAY, 13), 3);
    assert_num(&v, &rate(SATURDAY, 13), Some(0.667));
    // Nobody dials at 03:00.
    assert_int(&v, &dials(WEDNESDAY, 3), 0);
}

#[test]
fn request_leaderboard() {
    let v = respond_to("request.json");
    let expected = json!([
        {"user": {"id": "usr-7b1x3d", "name": "Zoë Müller", "email": "zoe.mueller@example.com"}, "connected": 75},
        {"user": {"id": "usr-4k2m9q", "name": "Alice Martin", "email": "alice.martin@example.com"}, "connected": 66},
        // Renamed on 2024-03-11: the latest call's name and email.
        {"user": {"id": "usr-2c5v7n", "name": "Samuel Carter", "email": "samuel.carter@example.com"}, "connected": 64},
        {"user": {"id": "usr-6h3j8p", "name": "Priya Shah", "email": "priya.shah@example.com"}, "connected": 59},
        {"user": {"id": "usr-9f8e2a", "name": "Łukasz Nowak", "email": "lukasz.nowak@example.com"}, "connected": 45},
        {"user": {"id": "usr-1a9z4w", "name": "Mathéo Girard", "email": "matheo.girard@example.com"}, "connected": 37},
    ]);
    assert_eq!(at(&v, "/data/leaderboard"), &expected);
}

#[test]
fn request_time_spent_and_last_updated() {
    let v = respond_to("request.json");
    let base = "/data/time_spent";
    assert_num(
        &v,
        &format!("{base}/avg_ringing_time_seconds/value"),
        Some(20.0),
    );
    assert_num(
        &v,
        &format!("{base}/avg_ringing_time_seconds/previous"),
        Some(20.1),
    );
    assert_num(
        &v,
        &format!("{base}/avg_ringing_time_seconds/change"),
        Some(-0.01),
    );
    assert_num(
        &v,
        &format!("{base}/avg_conversation_time_seconds/value"),
        Some(204.0),
    );
    assert_num(
        &v,
        &format!("{base}/avg_conversation_time_seconds/previous"),
        Some(176.5),
    );
    assert_num(
        &v,
        &format!("{base}/avg_conversation_time_seconds/change"),
        Some(0.16),
    );
    assert_int(
        &v,
        &format!("{base}/total_conversation_time_seconds/value"),
        71408,
    );
    assert_int(
        &v,
        &format!("{base}/total_conversation_time_seconds/previous"),
        61779,
    );
    assert_num(
        &v,
        &format!("{base}/total_conversation_time_seconds/change"),
        Some(0.16),
    );
    // The latest row of all is an inbound SMS at 2024-03-31T23:42:17+02:00:
    // last_updated is taken before any filter.
    assert_eq!(at(&v, "/data/last_updated"), "2024-03-31T21:42:17Z");
    // Without extend, no items key.
    assert!(v["data"].get("items").is_none());
}

#[test]
fn request_unrounded_equals_the_exact_expected_response() {
    let actual = respond(&sample_request("request.json"), Rounding::Exact);
    assert_json_close(
        &actual,
        &sample_json("expected_response_exact.json"),
        "request.json, exact",
    );
    assert_num(&actual, "/data/funnel/connected/rate", Some(350.0 / 930.0));
    assert_num(
        &actual,
        "/data/funnel/conversations/count/change",
        Some(-0.035),
    );
    assert_num(
        &actual,
        "/data/time_spent/avg_conversation_time_seconds/value",
        Some(71408.0 / 350.0),
    );
}

#[test]
fn response_keys_are_in_the_api_order() {
    let (frame, _) = load_sample();
    let response = compute(frame, &sample_request("request_drilldown.json")).expect("computing");
    let text = serde_json::to_string(&response).expect("responses serialize");
    let in_order = |keys: &[&str]| {
        let positions: Vec<usize> = keys
            .iter()
            .map(|key| {
                text.find(&format!("\"{key}\":"))
                    .unwrap_or_else(|| panic!("no key {key}"))
            })
            .collect();
        assert!(
            positions.windows(2).all(|pair| pair[0] < pair[1]),
            "keys {keys:?} at {positions:?}"
        );
    };
    in_order(&[
        "data",
        "date",
        "compare_date",
        "funnel",
        "time_series",
        "heatmap",
        "leaderboard",
        "time_spent",
        "last_updated",
        "items",
    ]);
    in_order(&["dials", "connected", "conversations", "conversions"]);
    in_order(&[
        "avg_ringing_time_seconds",
        "avg_conversation_time_seconds",
        "total_conversation_time_seconds",
    ]);
    in_order(&[
        "allo_number",
        "allo_number_label",
        "contact_number",
        "stage",
        "voicemail",
        "page",
        "size",
        "total_count",
        "total_pages",
        "has_more",
    ]);
}

#[test]
fn same_input_same_bytes() {
    let request = sample_request("request_drilldown.json");
    let once = {
        let (frame, _) = load_sample();
        compute(frame, &request)
            .expect("computing")
            .to_json_pretty()
    };
    let twice = {
        let (frame, _) = load_sample();
        compute(frame, &request)
            .expect("computing")
            .to_json_pretty()
    };
    assert_eq!(once, twice);
}

// ---------------------------------------------------------------------------
// request_weekly.json: 2024-03-06..2024-03-24, UTC, WEEK, explicit
// compare_date 2024-02-19..2024-03-05, user_ids Zoë and Sam, tags
// [qualified, Follow_Up]
// ---------------------------------------------------------------------------

#[test]
fn weekly_equals_the_expected_response() {
    let actual = respond_to("request_weekly.json");
    assert_json_close(
        &actual,
        &sample_json("expected_response_weekly.json"),
        "request_weekly.json",
    );
}

#[test]
fn weekly_figures() {
    let v = respond_to("request_weekly.json");
    assert_eq!(
        at(&v, "/data/compare_date"),
        &json!({"from": "2024-02-19", "to": "2024-03-05"})
    );
    let stages = [
        ("dials", 467, 405, Some(0.15), Some(1.0)),
        ("connected", 187, 171, Some(0.09), Some(0.4)),
        ("conversations", 111, 95, Some(0.17), Some(0.238)),
        ("conversions", 79, 90, Some(-0.12), Some(0.169)),
    ];
    for (stage, value, previous, change, rate) in stages {
        let base = format!("/data/funnel/{stage}");
        assert_int(&v, &format!("{base}/count/value"), value);
        assert_int(&v, &format!("{base}/count/previous"), previous);
        assert_num(&v, &format!("{base}/count/change"), change);
        assert_num(&v, &format!("{base}/rate"), rate);
    }
    // ISO weeks; the first starts on Monday 2024-03-04, before date.from, and
    // counts only 2024-03-06..2024-03-10.
    assert_eq!(
        at(&v, "/data/time_series/dials"),
        &json!([
            {"date": "2024-03-04", "value": 100},
            {"date": "2024-03-11", "value": 181},
            {"date": "2024-03-18", "value": 186},
        ])
    );
    assert_eq!(
        at(&v, "/data/time_series/connected"),
        &json!([
            {"date": "2024-03-04", "value": 52},
            {"date": "2024-03-11", "value": 62},
            {"date": "2024-03-18", "value": 73},
        ])
    );
    assert_num(&v, "/data/time_series/connection_rate/0/value", Some(0.52));
    assert_num(&v, "/data/time_series/connection_rate/1/value", Some(0.343));
    assert_num(&v, "/data/time_series/connection_rate/2/value", Some(0.392));
    assert_eq!(
        at(&v, "/data/time_series/conversions"),
        &json!([
            {"date": "2024-03-04", "value": 17},
            {"date": "2024-03-11", "value": 34},
            {"date": "2024-03-18", "value": 28},
        ])
    );
    assert_eq!(
        at(&v, "/data/leaderboard"),
        &json!([
            {"user": {"id": "usr-7b1x3d", "name": "Zoë Müller", "email": "zoe.mueller@example.com"}, "connected": 95},
            {"user": {"id": "usr-2c5v7n", "name": "Samuel Carter", "email": "samuel.carter@example.com"}, "connected": 92},
        ])
    );
    let base = "/data/time_spent";
    assert_num(
        &v,
        &format!("{base}/avg_ringing_time_seconds/value"),
        Some(19.9),
    );
    assert_num(
        &v,
        &format!("{base}/avg_ringing_time_seconds/previous"),
        Some(20.3),
    );
    assert_num(
        &v,
        &format!("{base}/avg_ringing_time_seconds/change"),
        Some(-0.02),
    );
    assert_num(
        &v,
        &format!("{base}/avg_conversation_time_seconds/value"),
        Some(199.8),
    );
    assert_num(
        &v,
        &format!("{base}/avg_conversation_time_seconds/previous"),
        Some(179.6),
    );
    assert_num(
        &v,
        &format!("{base}/avg_conversation_time_seconds/change"),
        Some(0.11),
    );
    assert_int(
        &v,
        &format!("{base}/total_conversation_time_seconds/value"),
        37358,
    );
    assert_int(
        &v,
        &format!("{base}/total_conversation_time_seconds/previous"),
        30706,
    );
    assert_num(
        &v,
        &format!("{base}/total_conversation_time_seconds/change"),
        Some(0.22),
    );
    assert_eq!(at(&v, "/data/last_updated"), "2024-03-31T21:42:17Z");
}

// ---------------------------------------------------------------------------
// request_drilldown.json: request.json + extend=items, CONVERSATION, page 1 of 10
// ---------------------------------------------------------------------------

#[test]
fn drilldown_equals_the_expected_response() {
    let actual = respond_to("request_drilldown.json");
    assert_json_close(
        &actual,
        &sample_json("expected_response_drilldown.json"),
        "request_drilldown.json",
    );
}

fn item_ids(v: &Value) -> Vec<&str> {
    at(v, "/data/items/data")
        .as_array()
        .expect("a list")
        .iter()
        .map(|item| item["id"].as_str().expect("an id"))
        .collect()
}

#[test]
fn drilldown_first_page() {
    let v = respond_to("request_drilldown.json");
    assert_eq!(
        item_ids(&v),
        [
            "cll-zl7tz2yf4w",
            "cll-7703zv72h6",
            // Same instant (2024-03-15T17:30:00Z): id ascending, whatever the file order.
            "cll-aa3tiebrk1",
            "cll-zz7tiebrk2",
            "cll-6b1wrk97oi",
            "cll-cfmv2uhe3k",
            "cll-zu7y7iu14y",
            "cll-ics9chrkjd",
            "cll-yo6q78bayn",
            "cll-o725tvzhy8",
        ]
    );
    assert_eq!(
        at(&v, "/data/items/pagination"),
        &json!({"page": 1, "size": 10, "total_count": 193, "total_pages": 20, "has_more": true})
    );
    // The newest: Sunday 23:45 in Paris, printed in UTC; tagged, so CONVERSION.
    assert_eq!(
        at(&v, "/data/items/data/0"),
        &json!({
            "id": "cll-zl7tz2yf4w",
            "user": {"id": "usr-4k2m9q", "name": "Alice Martin", "email": "alice.martin@example.com"},
            "allo_number": "+14155550142",
            "allo_number_label": "Sales US",
            "contact_number": "+13125557093",
            "stage": "CONVERSION",
            "voicemail": false,
            "duration": 95,
            "date": "2024-03-17T22:45:00Z",
        })
    );
    // Written with a +01:00 offset in the file, printed in UTC.
    assert_eq!(at(&v, "/data/items/data/2/date"), "2024-03-15T17:30:00Z");
    assert_eq!(at(&v, "/data/items/data/2/stage"), "CONVERSATION");
    assert_eq!(at(&v, "/data/items/data/3/stage"), "CONVERSION");
    // A call with no user field at all.
    assert_eq!(
        at(&v, "/data/items/data/8"),
        &json!({
            "id": "cll-yo6q78bayn",
            "user": null,
            "allo_number": "+33187659900",
            "allo_number_label": "Support",
            "contact_number": "+33101179793",
            "stage": "CONVERSION",
            "voicemail": false,
            "duration": 310,
            "date": "2024-03-15T16:40:00Z",
        })
    );
}

#[test]
fn drilldown_last_and_past_last_page() {
    let last = respond(&drilldown_request("CONVERSATION", 20, 10), Rounding::Api);
    assert_eq!(
        item_ids(&last),
        ["cll-a3e43j0pcz", "cll-b1wsv9kgc5", "cll-xcqq3s9ygn"]
    );
    // The oldest: 2024-03-03T23:15:00Z is already 2024-03-04 in Paris; 61 s > 60.
    assert_eq!(at(&last, "/data/items/data/2/date"), "2024-03-03T23:15:00Z");
    assert_int(&last, "/data/items/data/2/duration", 61);
    assert_eq!(
        at(&last, "/data/items/pagination"),
        &json!({"page": 20, "size": 10, "total_count": 193, "total_pages": 20, "has_more": false})
    );
    let past = respond(&drilldown_request("CONVERSATION", 21, 10), Rounding::Api);
    assert_eq!(at(&past, "/data/items/data"), &json!([]));
    assert_eq!(
        at(&past, "/data/items/pagination"),
        &json!({"page": 21, "size": 10, "total_count": 193, "total_pages": 20, "has_more": false})
    );
}

#[test]
fn drilldown_dial_stage_shows_furthest_stage_and_voicemail() {
    let v = respond(&drilldown_request("DIAL", 1, 5), Rounding::Api);
    assert_eq!(
        item_ids(&v),
        [
            "cll-zl7tz2yf4w",
            "cll-w77xqtizi9",
            "cll-quc4fq79yg",
            "cll-fd0kpwea0i",
            "cll-8eevl7e4xv",
        ]
    );
    let stages: Vec<&Value> = (0..5)
        .map(|i| at(&v, &format!("/data/items/data/{i}/stage")))
        .collect();
    // A tagged call that was never picked up still reached CONVERSION.
    assert_eq!(stages, ["CONVERSION", "CONVERSION", "DIAL", "DIAL", "DIAL"]);
    assert_int(&v, "/data/items/data/1/duration", 0);
    assert_eq!(at(&v, "/data/items/data/4/voicemail"), &json!(true));
    assert_eq!(at(&v, "/data/items/data/3/voicemail"), &json!(false));
    assert_eq!(
        at(&v, "/data/items/pagination"),
        &json!({"page": 1, "size": 5, "total_count": 930, "total_pages": 186, "has_more": true})
    );
}

#[test]
fn drilldown_conversion_stage_sees_corrected_duplicates() {
    let v = respond(&drilldown_request("CONVERSION", 1, 100), Rounding::Api);
    assert_int(&v, "/data/items/pagination/total_count", 58);
    let items = at(&v, "/data/items/data").as_array().expect("a list");
    assert_eq!(items.len(), 58);
    let find = |id: &str| {
        items
            .iter()
            .find(|item| item["id"] == id)
            .unwrap_or_else(|| panic!("{id} is not a conversion"))
    };
    // First read as NO_ANSWER, 0 s, untagged; corrected by a later row.
    let corrected = find("cll-ocwcyvs2ii");
    assert_eq!(corrected["duration"], 143);
    assert_eq!(corrected["stage"], "CONVERSION");
    // First read untagged; the later row adds `Qualified;Demo_Booked`.
    find("cll-cnxkvb3tjw");
    // Tags in mixed case in the file: `DEMO_BOOKED`.
    find("cll-zz7tiebrk2");
}

// ---------------------------------------------------------------------------
// request_no_tags.json: 2024-03-04..2024-03-17, Europe/Paris, WEEK, no tags
// (definitions 2: a call carrying any tag converts; definitions 1 gave 0).
// ---------------------------------------------------------------------------

#[test]
fn no_tags_equals_the_expected_response() {
    let actual = respond_to("request_no_tags.json");
    assert_json_close(
        &actual,
        &sample_json("expected_response_no_tags.json"),
        "request_no_tags.json",
    );
}

#[test]
fn no_tags_converts_every_tagged_call() {
    let v = respond_to("request_no_tags.json");
    // The other stages are those of request.json (same period and zone).
    assert_int(&v, "/data/funnel/dials/count/value", 930);
    assert_int(&v, "/data/funnel/connected/count/value", 350);
    // 256 of the 930 dials carry a tag (239 of 858 before): 0.275, +7 %.
    assert_int(&v, "/data/funnel/conversions/count/value", 256);
    assert_int(&v, "/data/funnel/conversions/count/previous", 239);
    assert_num(&v, "/data/funnel/conversions/count/change", Some(0.07));
    assert_num(&v, "/data/funnel/conversions/rate", Some(0.275));
    assert_eq!(
        at(&v, "/data/time_series/conversions"),
        &json!([{"date": "2024-03-04", "value": 132}, {"date": "2024-03-11", "value": 124}])
    );
}

// ---------------------------------------------------------------------------
// SPEC §5 invariants on every sample response
// ---------------------------------------------------------------------------

#[test]
fn sample_responses_hold_the_invariants() {
    for name in [
        "request.json",
        "request_weekly.json",
        "request_drilldown.json",
        "request_no_tags.json",
    ] {
        let v = respond_to(name);
        let count = |stage: &str| {
            at(&v, &format!("/data/funnel/{stage}/count/value"))
                .as_u64()
                .expect("a count")
        };
        let sum = |pointer: &str| -> u64 {
            at(&v, pointer)
                .as_array()
                .expect("a list")
                .iter()
                .map(|point| point["value"].as_u64().expect("a count"))
                .sum()
        };
        assert!(count("dials") >= count("connected"), "{name}");
        assert!(count("connected") >= count("conversations"), "{name}");
        assert!(count("conversions") <= count("dials"), "{name}");
        for stage in ["dials", "connected", "conversions"] {
            assert_eq!(
                sum(&format!("/data/time_series/{stage}")),
                count(stage),
                "{name}: time series {stage}"
            );
        }
        assert_eq!(
            sum("/data/heatmap/dials"),
            count("dials"),
            "{name}: heatmap"
        );
        assert_eq!(
            sum("/data/heatmap/connected"),
            count("connected"),
            "{name}: heatmap"
        );
        if let Some(items) = v["data"].get("items") {
            assert_eq!(
                items["pagination"]["total_count"].as_u64(),
                Some(count("conversations")),
                "{name}: drilldown total"
            );
        }
    }
}

#[test]
fn each_section_alone_matches_the_whole_response() {
    use callfunnel::engine::{compute_section, Section};
    let (calls, _) = load_sample();
    let request = sample_request("request_drilldown.json");
    let response = respond(&request, Rounding::Api);
    let rows = |section| {
        compute_section(calls.clone(), &request, section)
            .expect("section computes")
            .height()
    };
    let dials = at(&response, "/data/funnel/dials/count/value")
        .as_u64()
        .unwrap()
        + at(&response, "/data/funnel/dials/count/previous")
            .as_u64()
            .unwrap();
    assert_eq!(rows(Section::Scope) as u64, dials);
    assert_eq!(rows(Section::Totals), 1);
    assert_eq!(rows(Section::LastUpdated), 1);
    let leaders = at(&response, "/data/leaderboard").as_array().unwrap().len();
    assert_eq!(rows(Section::Leaderboard), leaders);
    let items = at(&response, "/data/items/data").as_array().unwrap().len();
    assert_eq!(rows(Section::Drilldown), items);
    assert!(rows(Section::Heatmap) <= 168);
    assert!(rows(Section::TimeSeries) <= 14);
}
