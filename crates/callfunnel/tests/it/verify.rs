//! `callfunnel::verify`: a clean answer verifies, every kind of tampered
//! figure is caught at its path, the documented readings explain the
//! differences they cause, the tolerance follows the API's printed decimals,
//! ringing time is not checkable from API pages, and (property) the drilldown
//! pages of a response, saved and ingested again, give back its figures.

use std::path::{Path, PathBuf};

use callfunnel::ingest::{self, IngestOptions};
use callfunnel::model::{calls_to_frame, Call, CallResult, CallType, Direction};
use callfunnel::request::{ItemsRequest, Request, Stage};
use callfunnel::verify::{verify, DifferenceKind, Reading, VerifyReport};
use callfunnel::{compute_with, Rounding};
use chrono::{DateTime, Days, NaiveDate, Utc};
use polars::prelude::{IntoLazy, LazyFrame};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// A week of calls in Paris (UTC+1 in March 2024, before the DST change).
// ---------------------------------------------------------------------------

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

struct Spec {
    id: &'static str,
    date: &'static str,
    user: Option<&'static str>,
    result: Option<CallResult>,
    duration: i64,
    ringing: Option<f64>,
    tags: &'static [&'static str],
}

const fn spec(
    id: &'static str,
    date: &'static str,
    user: Option<&'static str>,
    result: Option<CallResult>,
    duration: i64,
    ringing: Option<f64>,
    tags: &'static [&'static str],
) -> Spec {
    Spec {
        id,
        date,
        user,
        result,
        duration,
        ringing,
        tags,
    }
}

use CallResult::{Answered, Busy, NoAnswer, Transferred, Voicemail};

/// Current period 2024-03-04 (Mon) .. 2024-03-10 in Paris; previous 02-26 .. 03-03.
#[rustfmt::skip]
const WEEK: [Spec; 16] = [
    // Monday 09:15 and 09:40 local.
    spec("c01", "2024-03-04T08:15:00Z", Some("u1"), Some(Answered), 120, Some(5.0), &["won"]),
    spec("c02", "2024-03-04T08:40:00Z", Some("u1"), Some(Voicemail), 30, Some(20.0), &[]),
    // Tuesday: a call of exactly the threshold.
    spec("c03", "2024-03-05T13:05:00Z", Some("u2"), Some(Answered), 60, Some(4.0), &[]),
    spec("c04", "2024-03-05T13:30:00Z", Some("u2"), Some(NoAnswer), 0, Some(25.0), &[]),
    // Wednesday 23:30 UTC is Thursday 00:30 in Paris.
    spec("c05", "2024-03-06T23:30:00Z", Some("u3"), Some(Answered), 300, Some(3.0), &["won"]),
    // Sunday 23:20 UTC is Monday 03-11 in Paris: outside the period there only.
    spec("c06", "2024-03-10T23:20:00Z", Some("u1"), Some(Answered), 45, Some(6.0), &[]),
    // Sunday 03-03 23:10 UTC is Monday 03-04 in Paris: current there, previous in UTC.
    spec("c07", "2024-03-03T23:10:00Z", Some("u2"), Some(Transferred), 45, None, &[]),
    spec("c08", "2024-03-08T10:00:00Z", None, Some(Busy), 0, Some(30.0), &[]),
    spec("c09", "2024-03-07T15:00:00Z", Some("u3"), Some(Voicemail), 50, Some(18.0), &[]),
    spec("c10", "2024-03-09T09:00:00Z", Some("u1"), Some(Answered), 61, Some(7.0), &["won"]),
    // Not counted: inbound (c11), SMS (c12).
    spec("c11", "2024-03-05T10:00:00Z", Some("u1"), Some(Answered), 100, None, &[]),
    spec("c12", "2024-03-05T11:00:00Z", Some("u1"), None, 0, None, &[]),
    // The previous week.
    spec("p01", "2024-02-27T09:00:00Z", Some("u1"), Some(Answered), 200, Some(8.0), &[]),
    spec("p02", "2024-02-28T10:00:00Z", Some("u2"), Some(NoAnswer), 0, Some(22.0), &[]),
    spec("p03", "2024-03-01T11:00:00Z", Some("u3"), Some(Answered), 40, Some(9.0), &["won"]),
    spec("p04", "2024-03-02T12:00:00Z", Some("u1"), Some(Voicemail), 20, Some(15.0), &[]),
];

fn week() -> Vec<Call> {
    WEEK.iter()
        .map(|spec| {
            let mut call = Call::new(spec.id, at(spec.date));
            if let Some(user) = spec.user {
                call.user_id = Some(user.into());
                call.user_name = Some(format!("Rep {user}"));
                call.user_email = Some(format!("{user}@example.com"));
            }
            call.allo_number = Some("+33100000000".into());
            call.allo_number_label = Some("Sales FR".into());
            call.contact_number = Some(format!("+336000000{}", &spec.id[1..]));
            call.result = spec.result;
            call.duration = spec.duration;
            call.ringing_seconds = spec.ringing;
            call.tags = spec.tags.iter().map(|tag| tag.to_string()).collect();
            match spec.id {
                "c11" => call.direction = Direction::Inbound,
                "c12" => call.call_type = CallType::Sms,
                _ => {}
            }
            call
        })
        .collect()
}

fn week_body() -> Value {
    json!({
        "date": {"from": "2024-03-04", "to": "2024-03-10"},
        "tags": ["won"],
        "timezone": "Europe/Paris",
        "extend": "items",
        "stage": "DIAL",
        "size": 5,
    })
}

fn request(body: &Value) -> Request {
    Request::from_json(body).expect("a valid request")
}

fn frame(calls: &[Call]) -> LazyFrame {
    calls_to_frame(calls.to_vec()).unwrap().lazy()
}

/// The API's answer as the engine gives it (rounded).
fn api_answer(calls: &[Call], request: &Request) -> Value {
    let response = compute_with(frame(calls), request, Rounding::Api).unwrap();
    serde_json::to_value(response).unwrap()
}

fn check(calls: &[Call], body: &Value, api: &Value) -> VerifyReport {
    verify(frame(calls), &request(body), api).expect("verify runs")
}

/// Figures compared for the week request: 4 period ends, 16 funnel figures,
/// 4 series × 7 days, 3 heatmaps × 168 cells, 3 leaderboard users, 9
/// time-spent figures, 5 items × 9 fields and 5 pagination fields.
const WEEK_FIGURES: usize = 4 + 16 + 4 * 7 + 3 * 168 + 3 + 9 + 5 * 9 + 5;

fn paths(report: &VerifyReport) -> Vec<&str> {
    report
        .differences
        .iter()
        .map(|difference| difference.path.as_str())
        .collect()
}

// ---------------------------------------------------------------------------
// A clean answer, and tampered ones.
// ---------------------------------------------------------------------------

#[test]
fn the_engines_answer_verifies_clean() {
    let calls = week();
    let api = api_answer(&calls, &request(&week_body()));
    let report = check(&calls, &week_body(), &api);
    assert!(report.agrees(), "{}", report.render_table());
    assert_eq!(report.figures_checked, WEEK_FIGURES);
    assert_eq!(report.figures_checked, 614);
    assert!(report.not_checkable.is_empty());
    assert_eq!(report.likely_reason, None);
    assert_eq!(report.summary(), "all 614 figures agree");
    assert_eq!(report.render_table(), "all 614 figures agree\n");
    let json = report.to_json();
    assert_eq!(json["agrees"], json!(true));
    assert_eq!(json["figures_checked"], json!(614));
    assert_eq!(json["differences"], json!([]));
    assert_eq!(json["likely_reason"], Value::Null);
}

/// Applies `tamper` to the clean answer and returns the report.
fn tampered(tamper: impl FnOnce(&mut Value)) -> VerifyReport {
    let calls = week();
    let mut api = api_answer(&calls, &request(&week_body()));
    tamper(&mut api["data"]);
    check(&calls, &week_body(), &api)
}

/// The index of a heatmap cell in the API's list.
fn cell(day: usize, hour: usize) -> usize {
    day * 24 + hour
}

#[test]
fn each_kind_of_tampered_figure_is_caught_at_its_path() {
    type Tamper = fn(&mut Value);
    let cases: [(&str, Tamper, &str, Value, Value); 12] = [
        (
            "funnel count",
            |data| data["funnel"]["connected"]["count"]["value"] = json!(6),
            "data.funnel.connected.count.value",
            json!(6),
            json!(5),
        ),
        (
            "change",
            |data| data["funnel"]["dials"]["count"]["change"] = json!(1.26),
            "data.funnel.dials.count.change",
            json!(1.26),
            json!(1.25),
        ),
        (
            "rate by 0.01",
            |data| data["funnel"]["connected"]["rate"] = json!(0.566),
            "data.funnel.connected.rate",
            json!(0.566),
            json!(5.0 / 9.0),
        ),
        (
            "heatmap cell",
            |data| data["heatmap"]["dials"][cell(0, 9)]["value"] = json!(3),
            "data.heatmap.dials[day=MONDAY,hour=9].value",
            json!(3),
            json!(2),
        ),
        (
            "time-series point",
            |data| data["time_series"]["dials"][1]["value"] = json!(1),
            "data.time_series.dials[date=2024-03-05].value",
            json!(1),
            json!(2),
        ),
        (
            "time-series rate",
            |data| data["time_series"]["connection_rate"][1]["value"] = json!(0.4),
            "data.time_series.connection_rate[date=2024-03-05].value",
            json!(0.4),
            json!(0.5),
        ),
        (
            "leaderboard count",
            |data| data["leaderboard"][1]["connected"] = json!(3),
            "data.leaderboard[user.id=u2].connected",
            json!(3),
            json!(2),
        ),
        (
            "time spent",
            |data| data["time_spent"]["total_conversation_time_seconds"]["value"] = json!(585),
            "data.time_spent.total_conversation_time_seconds.value",
            json!(585),
            json!(586),
        ),
        (
            "drilldown item id",
            |data| data["items"]["data"][0]["id"] = json!("c99"),
            "data.items.data[0].id",
            json!("c99"),
            json!("c10"),
        ),
        (
            "drilldown item stage",
            |data| data["items"]["data"][2]["stage"] = json!("CONNECTED"),
            "data.items.data[2].stage",
            json!("CONNECTED"),
            json!("DIAL"),
        ),
        (
            "pagination",
            |data| data["items"]["pagination"]["total_count"] = json!(10),
            "data.items.pagination.total_count",
            json!(10),
            json!(9),
        ),
        (
            "null against a number",
            |data| data["funnel"]["dials"]["count"]["change"] = Value::Null,
            "data.funnel.dials.count.change",
            Value::Null,
            json!(1.25),
        ),
    ];
    for (what, tamper, path, api, recomputed) in cases {
        let report = tampered(tamper);
        assert_eq!(paths(&report), [path], "{what}:\n{}", report.render_table());
        let difference = &report.differences[0];
        assert_eq!(difference.kind, DifferenceKind::Value, "{what}");
        assert_eq!(difference.api, api, "{what}");
        assert_eq!(difference.recomputed, recomputed, "{what}");
        assert!(!report.agrees());
        assert_eq!(report.figures_checked, WEEK_FIGURES, "{what}");
        assert_eq!(
            report.summary(),
            format!("1 of {WEEK_FIGURES} figures differ"),
            "{what}"
        );
        assert!(report.render_table().contains(path), "{what}");
    }
}

#[test]
fn calls_behind_a_difference_are_listed_newest_first() {
    let report = tampered(|data| data["heatmap"]["dials"][cell(0, 9)]["value"] = json!(3));
    assert_eq!(report.differences[0].calls, ["c02", "c01"]);
    assert_eq!(report.differences[0].calls_total, 2);

    let report = tampered(|data| data["leaderboard"][1]["connected"] = json!(3));
    assert_eq!(report.differences[0].calls, ["c03", "c07"]);

    let report = tampered(|data| data["time_series"]["dials"][1]["value"] = json!(1));
    assert_eq!(report.differences[0].calls, ["c04", "c03"]);

    // All nine dials of the week, ten at most listed.
    let report = tampered(|data| data["funnel"]["dials"]["count"]["value"] = json!(8));
    let difference = &report.differences[0];
    assert_eq!(difference.calls_total, 9);
    assert_eq!(difference.calls[..3], ["c10", "c08", "c09"]);
    // The previous week's dials for `previous`.
    let report = tampered(|data| data["funnel"]["dials"]["count"]["previous"] = json!(5));
    assert_eq!(
        report.differences[0].calls,
        ["p04", "p03", "p02", "p01"],
        "{}",
        report.render_table()
    );
    // A change has no calls of its own.
    let report = tampered(|data| data["funnel"]["dials"]["count"]["change"] = json!(2));
    assert!(report.differences[0].calls.is_empty());

    let table = tampered(|data| data["funnel"]["dials"]["rate"] = json!(0.9)).render_table();
    assert!(
        table.contains("    calls: c10, c08, c09, c05, c04, c03, c02, c01, c07\n"),
        "{table}"
    );
}

#[test]
fn more_than_ten_calls_are_counted_not_listed() {
    let calls: Vec<Call> = (0..13)
        .map(|i| Call::new(format!("x{i:02}"), at("2024-03-05T10:00:00Z")))
        .collect();
    let body = json!({"date": {"from": "2024-03-05", "to": "2024-03-05"}});
    let mut api = api_answer(&calls, &request(&body));
    api["data"]["funnel"]["dials"]["count"]["value"] = json!(12);
    let report = check(&calls, &body, &api);
    let difference = &report.differences[0];
    assert_eq!(difference.calls_total, 13);
    assert_eq!(difference.calls.len(), 10);
    assert_eq!(difference.calls[0], "x00");
    assert!(report.render_table().contains(", x09 +3 more\n"));
}

#[test]
fn absent_heatmap_cells_read_as_zero() {
    // MONDAY 9 holds c01 (connected): absent, it differs.
    let report = tampered(|data| {
        data["heatmap"]["connected"]
            .as_array_mut()
            .unwrap()
            .remove(cell(0, 9));
    });
    assert_eq!(
        paths(&report),
        ["data.heatmap.connected[day=MONDAY,hour=9].value"]
    );
    assert_eq!(report.differences[0].kind, DifferenceKind::AbsentCell);
    assert_eq!(report.differences[0].api, json!(0));
    assert_eq!(report.differences[0].recomputed, json!(1));
    assert_eq!(report.differences[0].calls, ["c01"]);
    assert!(report.render_table().contains("(absent) 0"));

    // Every empty cell may be left out: they all agree.
    let report = tampered(|data| {
        for name in ["dials", "connected", "connection_rate"] {
            data["heatmap"][name]
                .as_array_mut()
                .unwrap()
                .retain(|cell| cell["value"] != json!(0) && cell["value"] != json!(0.0));
        }
    });
    assert!(report.agrees(), "{}", report.render_table());
    assert_eq!(report.figures_checked, WEEK_FIGURES);
}

#[test]
fn missing_keys_and_extra_entries_are_differences() {
    let report = tampered(|data| {
        data["funnel"]["dials"]
            .as_object_mut()
            .unwrap()
            .remove("rate");
    });
    assert_eq!(paths(&report), ["data.funnel.dials.rate"]);
    assert_eq!(report.differences[0].kind, DifferenceKind::Missing);
    assert!(report.render_table().contains("(missing)"));

    // A leaderboard user on one side only, either side.
    let report = tampered(|data| {
        let board = data["leaderboard"].as_array_mut().unwrap();
        board.retain(|entry| entry["user"]["id"] != json!("u3"));
        board.push(json!({"user": {"id": "u9", "name": null, "email": null}, "connected": 0}));
    });
    assert_eq!(
        paths(&report),
        [
            "data.leaderboard[user.id=u3].connected",
            "data.leaderboard[user.id=u9].connected"
        ]
    );
    assert_eq!(report.differences[0].kind, DifferenceKind::Missing);
    assert_eq!(report.differences[0].calls, ["c05"]);
    assert_eq!(report.differences[1].kind, DifferenceKind::Extra);
    assert_eq!(report.differences[1].recomputed, Value::Null);
    assert_eq!(report.figures_checked, WEEK_FIGURES + 1);

    // A missing time-series point is missing, not zero.
    let report = tampered(|data| {
        data["time_series"]["conversions"]
            .as_array_mut()
            .unwrap()
            .remove(6);
    });
    assert_eq!(
        paths(&report),
        ["data.time_series.conversions[date=2024-03-10].value"]
    );
    assert_eq!(report.differences[0].kind, DifferenceKind::Missing);

    // A drilldown item too many.
    let report = tampered(|data| {
        let items = data["items"]["data"].as_array_mut().unwrap();
        items.push(items[0].clone());
    });
    assert_eq!(paths(&report), ["data.items.data[5]"]);
    assert_eq!(report.differences[0].kind, DifferenceKind::Extra);
}

#[test]
fn a_drilldown_on_one_side_only_is_a_difference() {
    let calls = week();
    let with_items = api_answer(&calls, &request(&week_body()));
    let mut no_items_body = week_body();
    no_items_body
        .as_object_mut()
        .unwrap()
        .retain(|key, _| !["extend", "stage", "size"].contains(&key.as_str()));

    // The API listed items the request did not ask for.
    let report = check(&calls, &no_items_body, &with_items);
    assert_eq!(paths(&report), ["data.items"]);
    assert_eq!(report.differences[0].kind, DifferenceKind::Extra);

    // The request asked for items the API did not list.
    let mut without = with_items.clone();
    without["data"].as_object_mut().unwrap().remove("items");
    let report = check(&calls, &week_body(), &without);
    assert_eq!(report.differences.len(), 5 + 5 * 9);
    assert!(report
        .differences
        .iter()
        .all(|difference| difference.kind == DifferenceKind::Missing));
    assert_eq!(report.differences[0].path, "data.items.pagination.page");
}

#[test]
fn the_json_report_carries_every_difference() {
    let report = tampered(|data| data["heatmap"]["dials"][cell(0, 9)]["value"] = json!(3));
    let json = report.to_json();
    assert_eq!(json["agrees"], json!(false));
    assert_eq!(json["differing"], json!(1));
    assert_eq!(
        json["summary"],
        json!(format!("1 of {WEEK_FIGURES} figures differ"))
    );
    assert_eq!(
        json["differences"][0],
        json!({
            "path": "data.heatmap.dials[day=MONDAY,hour=9].value",
            "kind": "value",
            "api": 3,
            "recomputed": 2,
            "calls": ["c02", "c01"],
            "calls_total": 2,
            "explained_by": [],
        })
    );
    // Four readings the documentation leaves open, and definitions 1's conversions.
    assert_eq!(json["readings"].as_array().unwrap().len(), 5);
    assert_eq!(json["likely_reason"], Value::Null);
}

#[test]
fn an_answer_that_is_not_a_response_is_an_error() {
    let calls = week();
    let request = request(&week_body());
    let envelope = json!({"error": {"type": "validation_error", "message": "date is required"}});
    let error = verify(frame(&calls), &request, &envelope).unwrap_err();
    assert!(error.to_string().contains("date is required"), "{error}");
    assert!(verify(frame(&calls), &request, &json!([1, 2])).is_err());
}

#[test]
fn an_answer_without_the_outbound_sections_is_not_a_response() {
    let calls = week();
    let request = request(&week_body());
    let error = verify(frame(&calls), &request, &json!({"data": {}})).unwrap_err();
    assert_eq!(
        error.to_string(),
        "not an outbound metrics response: `data` lacks `funnel`, `time_series`, `heatmap`, `leaderboard`, `time_spent`"
    );
    let mut partial = api_answer(&calls, &request);
    partial["data"].as_object_mut().unwrap().remove("heatmap");
    let error = verify(frame(&calls), &request, &partial).unwrap_err();
    assert_eq!(
        error.to_string(),
        "not an outbound metrics response: `data` lacks `heatmap`"
    );
}

// ---------------------------------------------------------------------------
// Explaining differences.
// ---------------------------------------------------------------------------

/// Asserts every difference is explained by `reading`, which is the likely reason.
fn assert_explained(report: &VerifyReport, reading: Reading) {
    assert!(!report.agrees());
    for difference in &report.differences {
        assert!(
            difference.explained_by.contains(&reading),
            "{} is not explained by {reading}:\n{}",
            difference.path,
            report.render_table()
        );
    }
    assert_eq!(
        report.likely_reason,
        Some(reading),
        "{}",
        report.render_table()
    );
    assert!(report.render_table().contains(&format!(
        "most likely reason: {} ({}; explains {n} of {n} differences)",
        reading.as_str(),
        reading.description(),
        n = report.differences.len()
    )));
    assert_eq!(
        report.to_json()["likely_reason"]["reading"],
        json!(reading.as_str())
    );
}

#[test]
fn voicemail_counted_as_connected_is_explained() {
    let calls = week();
    let as_connected: Vec<Call> = calls
        .iter()
        .cloned()
        .map(|mut call| {
            if call.result == Some(Voicemail) {
                call.result = Some(Answered);
            }
            call
        })
        .collect();
    let api = api_answer(&as_connected, &request(&week_body()));
    let report = check(&calls, &week_body(), &api);
    assert_explained(&report, Reading::VoicemailConnected);
    let paths = paths(&report);
    for path in [
        "data.funnel.connected.count.value",
        "data.funnel.connected.count.previous",
        "data.funnel.connected.rate",
        "data.heatmap.connected[day=MONDAY,hour=9].value",
        "data.leaderboard[user.id=u3].connected",
        "data.items.data[2].stage",
    ] {
        assert!(paths.contains(&path), "{path} not in {paths:?}");
    }
}

#[test]
fn conversation_at_the_threshold_is_explained() {
    let calls = week();
    let mut at_threshold = week_body();
    at_threshold["conversation_threshold_seconds"] = json!(59);
    let api = api_answer(&calls, &request(&at_threshold));
    let report = check(&calls, &week_body(), &api);
    assert_explained(&report, Reading::ConversationAtThreshold);
    assert_eq!(
        paths(&report),
        [
            "data.funnel.conversations.count.value",
            "data.funnel.conversations.count.change",
            "data.funnel.conversations.rate",
        ]
    );
    for difference in &report.differences {
        assert_eq!(difference.explained_by, [Reading::ConversationAtThreshold]);
    }
    // c03 (60 s) is not a conversation here: the recomputed stage lists the others.
    assert_eq!(report.differences[0].calls, ["c10", "c05", "c01"]);
}

#[test]
fn rates_against_the_previous_stage_are_explained() {
    let calls = week();
    let mut api = api_answer(&calls, &request(&week_body()));
    // 3 conversations of 5 connected; 3 conversions of 3 conversations.
    api["data"]["funnel"]["conversations"]["rate"] = json!(0.6);
    api["data"]["funnel"]["conversions"]["rate"] = json!(1.0);
    let report = check(&calls, &week_body(), &api);
    assert_explained(&report, Reading::RatesAgainstPreviousStage);
    assert_eq!(
        paths(&report),
        [
            "data.funnel.conversations.rate",
            "data.funnel.conversions.rate"
        ]
    );
}

#[test]
fn days_in_utc_are_explained() {
    let calls = week();
    let mut in_utc = week_body();
    in_utc["timezone"] = json!("UTC");
    let api = api_answer(&calls, &request(&in_utc));
    let report = check(&calls, &week_body(), &api);
    assert_explained(&report, Reading::DaysInUtc);
    let paths = paths(&report);
    for path in [
        "data.heatmap.dials[day=MONDAY,hour=8].value",
        "data.heatmap.dials[day=MONDAY,hour=9].value",
        "data.time_series.dials[date=2024-03-07].value",
        "data.leaderboard[user.id=u1].connected",
        "data.items.data[0].id",
    ] {
        assert!(paths.contains(&path), "{path} not in {paths:?}");
    }
}

#[test]
fn definitions_1_without_tags_is_explained() {
    let calls = week();
    let mut body = week_body();
    body.as_object_mut().unwrap().remove("tags");
    // An answer computed under definitions 1: with no request tags, nothing converts.
    let untagged: Vec<Call> = calls
        .iter()
        .cloned()
        .map(|mut call| {
            call.tags.clear();
            call
        })
        .collect();
    let api = api_answer(&untagged, &request(&body));
    let report = check(&calls, &body, &api);
    assert_explained(&report, Reading::NoTagsNoneConverts);
    let conversions = &report.differences[0];
    assert_eq!(conversions.path, "data.funnel.conversions.count.value");
    // c01, c05 and c10 carry a tag: under definitions 2 they convert.
    assert_eq!(
        (&conversions.api, &conversions.recomputed),
        (&json!(0), &json!(3))
    );
    assert_eq!(conversions.calls, ["c10", "c05", "c01"]);
    let paths = paths(&report);
    for path in [
        "data.funnel.conversions.count.previous",
        "data.funnel.conversions.rate",
        "data.time_series.conversions[date=2024-03-04].value",
        "data.items.data[0].stage",
    ] {
        assert!(paths.contains(&path), "{path} not in {paths:?}");
    }
    assert!(report
        .render_table()
        .contains("no_tags_none_converts (no tags: none converts (definitions 1);"));
    // With request tags, version 1 and 2 agree: the reading is not tried.
    let tampered = tampered(|data| data["funnel"]["conversions"]["count"]["value"] = json!(0));
    assert!(tampered.differences[0].explained_by.is_empty());
}

#[test]
fn unexplained_differences_have_no_likely_reason() {
    let report = tampered(|data| data["funnel"]["dials"]["count"]["value"] = json!(8));
    assert!(report.differences[0].explained_by.is_empty());
    assert_eq!(report.likely_reason, None);
    assert!(report
        .render_table()
        .contains("most likely reason: none of the documented readings explains a difference"));
}

// ---------------------------------------------------------------------------
// Tolerance: half a unit of the last decimal the API printed.
// ---------------------------------------------------------------------------

#[test]
fn tolerance_follows_the_printed_decimals() {
    // 11 connected of 71 dials: the exact rate is 0.154929…
    let calls: Vec<Call> = (0..71)
        .map(|i| {
            let mut call = Call::new(format!("r{i:02}"), at("2024-03-05T10:00:00Z"));
            if i < 11 {
                call.result = Some(Answered);
            }
            call
        })
        .collect();
    let body = json!({"date": {"from": "2024-03-05", "to": "2024-03-05"}});
    let clean = api_answer(&calls, &request(&body));
    assert_eq!(clean["data"]["funnel"]["connected"]["rate"], json!(0.155));
    let with_rate = |rate: Value| {
        let mut api = clean.clone();
        api["data"]["funnel"]["connected"]["rate"] = rate;
        check(&calls, &body, &api)
    };
    // A rate is rounded to 3 decimals, so `0.15` stands for 0.150 and `0.2` for 0.200.
    for agreeing in [json!(0.155), json!(0.1549), json!(0.15493)] {
        assert!(
            with_rate(agreeing.clone()).agrees(),
            "{agreeing} should agree"
        );
    }
    for differing in [
        json!(0.156),
        json!(0.154),
        json!(0.15),
        json!(0.2),
        json!(0.16),
        json!(0.1548),
        json!(0.14),
    ] {
        let report = with_rate(differing.clone());
        assert_eq!(
            paths(&report),
            ["data.funnel.connected.rate"],
            "{differing}"
        );
    }
    // Counts are integers: 71 agrees with 71 and 71.0, not with 71.4 (one decimal printed).
    let with_dials = |dials: Value| {
        let mut api = clean.clone();
        api["data"]["funnel"]["dials"]["count"]["value"] = dials;
        check(&calls, &body, &api)
    };
    assert!(with_dials(json!(71.0)).agrees());
    assert!(!with_dials(json!(71.4)).agrees());
    assert!(!with_dials(json!(72)).agrees());
}

// ---------------------------------------------------------------------------
// Calls read from API pages.
// ---------------------------------------------------------------------------

/// Writes every page of `stage`'s drilldown as a saved page file in `dir`.
fn save_pages(calls: &[Call], request: &Request, stage: Stage, size: u32, dir: &Path) -> usize {
    std::fs::create_dir_all(dir).unwrap();
    let mut page = 1;
    let mut items = 0;
    loop {
        let mut paged = request.clone();
        paged.items = Some(ItemsRequest { stage, page, size });
        let response = api_answer(calls, &paged);
        let path = dir.join(format!("{}-{page:04}.json", stage.as_str()));
        std::fs::write(&path, serde_json::to_string_pretty(&response).unwrap()).unwrap();
        items += response["data"]["items"]["data"].as_array().unwrap().len();
        if page as u64
            >= response["data"]["items"]["pagination"]["total_pages"]
                .as_u64()
                .unwrap()
        {
            return items;
        }
        page += 1;
    }
}

fn load_pages(dirs: &[PathBuf], request: &Request) -> LazyFrame {
    let options = IngestOptions {
        request_tags: request.tags.clone(),
        ..IngestOptions::default()
    };
    ingest::load(dirs, &options)
        .expect("saved pages load")
        .frame
}

const RINGING: [&str; 3] = [
    "data.time_spent.avg_ringing_time_seconds.value",
    "data.time_spent.avg_ringing_time_seconds.previous",
    "data.time_spent.avg_ringing_time_seconds.change",
];

#[test]
fn ringing_time_is_not_checkable_from_pages() {
    let calls = week();
    let mut body = week_body();
    body.as_object_mut()
        .unwrap()
        .retain(|key, _| !["extend", "stage", "size"].contains(&key.as_str()));
    let request = request(&body);
    let api = api_answer(&calls, &request);
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(save_pages(&calls, &request, Stage::Dial, 4, dir.path()), 9);

    let report = verify(
        load_pages(&[dir.path().to_path_buf()], &request),
        &request,
        &api,
    )
    .unwrap();
    assert_eq!(report.not_checkable, RINGING);
    // 4 + 16 + 28 + 504 + 3 + 6: ringing is not counted.
    assert_eq!(report.figures_checked, 561);
    assert!(report.render_table().contains("not checkable"));
    // The pages hold only the current week: what differs is the previous week.
    assert!(!report.agrees());
    for difference in &report.differences {
        assert!(
            difference.path.ends_with(".previous") || difference.path.ends_with(".change"),
            "{}",
            report.render_table()
        );
    }
}

// ---------------------------------------------------------------------------
// Property: the drilldown pages of a response give back its figures.
// ---------------------------------------------------------------------------

const ZONES: [&str; 3] = ["UTC", "Europe/Paris", "America/New_York"];
const USERS: [(Option<&str>, Option<&str>, Option<&str>); 4] = [
    (Some("u1"), Some("Ada"), Some("ada@example.com")),
    (Some("u2"), Some("Bo"), None),
    (None, Some("Nameless"), None),
    (None, None, None),
];
const RESULTS: [Option<CallResult>; 11] = [
    None,
    Some(Answered),
    Some(Answered),
    Some(Voicemail),
    Some(Transferred),
    Some(CallResult::TransferredAi),
    Some(CallResult::TransferredExternal),
    Some(NoAnswer),
    Some(CallResult::Missed),
    Some(Busy),
    Some(CallResult::Canceled),
];

/// One generated call: day offset, second of day, user, result, duration,
/// tags (won, lost), counted (outbound call) or not.
type CallSeed = (u64, u32, usize, usize, i64, (bool, bool), bool);

fn call_seed() -> impl Strategy<Value = CallSeed> {
    (
        0u64..30,
        0u32..86_400,
        0..USERS.len(),
        0..RESULTS.len(),
        prop_oneof![
            Just(0i64),
            Just(30),
            Just(59),
            Just(60),
            Just(61),
            1i64..400
        ],
        (any::<bool>(), any::<bool>()),
        prop::bool::weighted(0.9),
    )
}

/// A generated case. The period is the 14 days from 2024-03-25 (across
/// Paris's DST change on 03-31); calls fall from 03-20 to 04-18, so some are
/// in the comparison fortnight and some after the period.
#[derive(Debug, Clone)]
struct RoundTrip {
    zone: &'static str,
    granularity: &'static str,
    tags: bool,
    size: u32,
    seeds: Vec<CallSeed>,
}

fn round_trip() -> impl Strategy<Value = RoundTrip> {
    (
        prop::sample::select(ZONES.to_vec()),
        prop::sample::select(vec!["DAY", "WEEK", "MONTH"]),
        prop::bool::weighted(0.8),
        1u32..=12,
        prop::collection::vec(call_seed(), 0..40),
    )
        .prop_map(|(zone, granularity, tags, size, seeds)| RoundTrip {
            zone,
            granularity,
            tags,
            size,
            seeds,
        })
}

impl RoundTrip {
    fn request(&self) -> Request {
        let tags: &[&str] = if self.tags { &["won"] } else { &[] };
        request(&json!({
            "date": {"from": "2024-03-25", "to": "2024-04-07"},
            "timezone": self.zone,
            "granularity": self.granularity,
            "tags": tags,
        }))
    }

    /// The calls, made describable by drilldown items (SPEC §1.1): a call
    /// not picked up (by the recipient or a voicemail) has no talk time.
    /// Converted, connected calls of zero duration are kept: they are read
    /// back as not connected, SPEC §5's one exception.
    fn calls(&self) -> Vec<Call> {
        let start = NaiveDate::from_ymd_opt(2024, 3, 20).unwrap();
        self.seeds
            .iter()
            .enumerate()
            .map(
                |(i, &(day, second, user, result, duration, (won, lost), counted))| {
                    let midnight = (start + Days::new(day))
                        .and_hms_opt(0, 0, 0)
                        .unwrap()
                        .and_utc();
                    let mut call = Call::new(
                        format!("cll-{i:03}"),
                        midnight + chrono::Duration::seconds(i64::from(second)),
                    );
                    let (id, name, email) = USERS[user];
                    call.user_id = id.map(str::to_string);
                    call.user_name = name.map(str::to_string);
                    call.user_email = email.map(str::to_string);
                    call.result = RESULTS[result];
                    call.duration = duration;
                    call.ringing_seconds = Some(f64::from(second % 40));
                    if won {
                        call.tags.push("won".into());
                    }
                    if lost {
                        call.tags.push("lost".into());
                    }
                    if !counted {
                        call.direction = if i % 2 == 0 {
                            Direction::Inbound
                        } else {
                            Direction::Outbound
                        };
                        call.call_type = if i % 2 == 0 {
                            CallType::Call
                        } else {
                            CallType::Sms
                        };
                    }
                    let connected = call.result.is_some_and(CallResult::is_connected);
                    if !connected && call.result != Some(Voicemail) {
                        call.duration = 0;
                    }
                    call
                },
            )
            .collect()
    }
}

fn recompute(frame: LazyFrame, request: &Request) -> Value {
    serde_json::to_value(compute_with(frame, request, Rounding::Api).unwrap()).unwrap()
}

fn cases() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(32);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(cases())]

    /// SPEC §5: every DIAL page of a response, saved and ingested, gives back
    /// its current funnel, series, heatmap and leaderboard (and `verify`
    /// finds only previous-period figures differing, ringing not checkable);
    /// each other stage's pages give back that stage's count, and all pages
    /// together give back the same as the DIAL pages.
    #[test]
    fn saved_drilldown_pages_round_trip(case in round_trip()) {
        let request = case.request();
        let calls = case.calls();
        let original = api_answer(&calls, &request);
        // What the pages can give back (SPEC §5's one exception applied).
        let expected = api_answer(&crate::properties::as_read_back(&calls, &request), &request);
        let count = |response: &Value, stage: &str| {
            response["data"]["funnel"][stage]["count"]["value"].as_u64().unwrap()
        };
        let folder = tempfile::tempdir().unwrap();

        let dial = folder.path().join("dial");
        let listed = save_pages(&calls, &request, Stage::Dial, case.size, &dial);
        prop_assert_eq!(listed as u64, count(&original, "dials"));
        let rebuilt = recompute(load_pages(std::slice::from_ref(&dial), &request), &request);
        prop_assert_eq!(crate::properties::round_trip_view(&rebuilt), crate::properties::round_trip_view(&expected));

        let from_pages = load_pages(std::slice::from_ref(&dial), &request);
        let report = verify(from_pages, &request, &expected).unwrap();
        prop_assert_eq!(&report.not_checkable, &RINGING);
        for difference in &report.differences {
            prop_assert!(
                difference.path.ends_with(".previous") || difference.path.ends_with(".change"),
                "{}", report.render_table()
            );
        }

        let mut every_stage = vec![dial];
        for (stage, name) in [
            (Stage::Connected, "connected"),
            (Stage::Conversation, "conversations"),
            (Stage::Conversion, "conversions"),
        ] {
            if stage == Stage::Conversion && request.tags.is_empty() {
                continue;
            }
            let dir = folder.path().join(stage.as_str());
            let listed = save_pages(&calls, &request, stage, case.size, &dir);
            prop_assert_eq!(listed as u64, count(&original, name));
            let alone = recompute(load_pages(std::slice::from_ref(&dir), &request), &request);
            prop_assert_eq!(count(&alone, name), count(&expected, name));
            prop_assert_eq!(count(&alone, "dials"), count(&original, name));
            every_stage.push(dir);
        }
        let together = recompute(load_pages(&every_stage, &request), &request);
        prop_assert_eq!(crate::properties::round_trip_view(&together), crate::properties::round_trip_view(&expected));
    }
}
