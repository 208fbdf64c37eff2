//! Another dialer's export (`sample_data/other_dialer.csv`) loaded with
//! `--map`, `--map-value` and `--duration-unit min`, against the reference
//! implementation given the calls read by hand from the same file.

use callfunnel::ingest::{load, IngestOptions};
use callfunnel::model::rules::{DurationUnit, ValueMapping};
use callfunnel::model::{Call, CallResult};
use callfunnel::{compute_with, Request, Rounding};
use chrono::DateTime;

use crate::reference::{assert_json_matches, reference};
use crate::sample_data::sample_path;

/// Decimal minutes as written (`4.11`, `0`) to whole seconds, half away
/// from zero, in hundredths of a minute: the file writes at most two
/// decimals.
fn seconds_of_minutes(text: &str) -> i64 {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    let hundredths: i64 =
        whole.parse::<i64>().unwrap() * 100 + format!("{fraction:0<2}").parse::<i64>().unwrap();
    // seconds = hundredths × 60 / 100, rounded half up (never negative here).
    (hundredths * 60 * 2 + 100) / 200
}

/// The calls of the file, read by hand: the outcome and tag words as the
/// test's own table says.
fn calls_by_hand() -> Vec<Call> {
    let text = std::fs::read_to_string(sample_path("other_dialer.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            let date = DateTime::parse_from_rfc3339(cells[1]).unwrap().to_utc();
            let mut call = Call::new(cells[0], date);
            call.user_id = Some(cells[2].to_string());
            call.user_name = Some(cells[3].to_string());
            call.result = Some(match cells[4] {
                "Connected" => CallResult::Answered,
                "No answer" => CallResult::NoAnswer,
                "Voicemail" => CallResult::Voicemail,
                _ => CallResult::Busy,
            });
            call.duration = seconds_of_minutes(cells[5]);
            call.tags = match cells[6] {
                "Meeting booked" => vec!["meeting_booked".to_string()],
                "" => Vec::new(),
                other => vec![other.to_string()],
            };
            call
        })
        .collect()
}

#[test]
fn another_dialers_export_gives_the_references_figures() {
    let map = |field: &str, column: &str| (field.to_string(), column.to_string());
    let value = |text: &str| text.parse::<ValueMapping>().unwrap();
    let options = IngestOptions {
        column_map: vec![
            map("id", "call_id"),
            map("date", "started_at"),
            map("user_id", "agent_email"),
            map("user_name", "agent_name"),
            map("result", "outcome"),
            map("duration", "talk_time_min"),
            map("tags", "tag"),
        ],
        value_map: vec![
            value("result:connected=ANSWERED"),
            value("result:NO ANSWER=NO_ANSWER"),
            value("result:Voicemail=VOICEMAIL"),
            value("result:Busy=BUSY"),
            value("tags:meeting BOOKED=meeting_booked"),
        ],
        duration_unit: DurationUnit::Minutes,
        ..IngestOptions::default()
    };
    let loaded = load(&[sample_path("other_dialer.csv")], &options).unwrap();
    let request = Request::from_json_str(
        r#"{"date":{"from":"2024-03-04","to":"2024-03-10"},"tags":["meeting_booked"],
            "granularity":"DAY","timezone":"Europe/Paris","extend":"items","stage":"CONNECTED",
            "page":1,"size":50}"#,
    )
    .unwrap();
    let response = compute_with(loaded.frame, &request, Rounding::Api).unwrap();
    let calls = calls_by_hand();
    assert_eq!(calls.iter().map(|call| call.duration).sum::<i64>(), 3408);
    assert_json_matches(
        &serde_json::to_value(&response).unwrap(),
        &reference(&calls, &request, false),
    );
}
