//! Tests of the ingest module.

use std::fs::File;
use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use polars::prelude::TimeZone as PolarsZone;
use polars::prelude::*;

use super::*;
use crate::model::{calls_to_frame, canonical_schema, Call, CallResult, CallType, Direction};

/// Default options.
fn defaults() -> IngestOptions {
    IngestOptions::default()
}

/// Loads CSV text, expecting success, and collects the frame.
fn csv_ok(text: &str, options: &IngestOptions) -> (DataFrame, IngestReport) {
    collect(load_str(text, Format::Csv, "calls.csv", options).expect("CSV loads"))
}

/// Loads JSON text, expecting success, and collects the frame.
fn json_ok(text: &str, options: &IngestOptions) -> (DataFrame, IngestReport) {
    collect(load_str(text, Format::Json, "calls.json", options).expect("JSON loads"))
}

/// The error message of loading `text`.
fn error(text: &str, format: Format, options: &IngestOptions) -> String {
    let name = match format {
        Format::Csv => "calls.csv",
        _ => "calls.json",
    };
    match load_str(text, format, name, options) {
        Ok(_) => panic!("expected an error for {text:?}"),
        Err(err) => err.to_string(),
    }
}

/// Collects an ingested frame, checking it has the canonical schema.
fn collect(ingested: Ingested) -> (DataFrame, IngestReport) {
    let frame = ingested.frame.collect().expect("frame collects");
    assert_eq!(**frame.schema(), canonical_schema());
    (frame, ingested.report)
}

/// Column names reading `date` from `started_at` and both `user_id` and
/// `user_name` from `agent` (`--map`), the rest by their own names.
pub(super) fn started_at_and_agent() -> ColumnNames {
    let map = [
        ("date".to_string(), "started_at".to_string()),
        ("user_id".to_string(), "agent".to_string()),
        ("user_name".to_string(), "agent".to_string()),
    ];
    ColumnNames::new(&map).unwrap()
}

/// A string column as options.
pub(super) fn strings(frame: &DataFrame, name: &str) -> Vec<Option<String>> {
    frame
        .column(name)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|value| value.map(str::to_string))
        .collect()
}

/// A string column without nulls.
fn texts(frame: &DataFrame, name: &str) -> Vec<String> {
    strings(frame, name)
        .into_iter()
        .map(Option::unwrap)
        .collect()
}

/// The `date` column as RFC 3339 UTC text.
fn dates(frame: &DataFrame) -> Vec<String> {
    let micros = frame
        .column("date")
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap();
    micros
        .i64()
        .unwrap()
        .iter()
        .map(|value| {
            Utc.timestamp_micros(value.unwrap())
                .unwrap()
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        })
        .collect()
}

/// The `duration` column.
pub(super) fn durations(frame: &DataFrame) -> Vec<i64> {
    frame
        .column("duration")
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .map(Option::unwrap)
        .collect()
}

/// The `ringing_seconds` column.
fn ringing(frame: &DataFrame) -> Vec<Option<f64>> {
    frame
        .column("ringing_seconds")
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .collect()
}

/// The `tags` column.
pub(super) fn tags(frame: &DataFrame) -> Vec<Vec<String>> {
    let lists = frame.column("tags").unwrap().list().unwrap().clone();
    (0..lists.len())
        .map(|index| {
            let tags = lists.get_as_series(index).expect("tags are never null");
            tags.str()
                .unwrap()
                .iter()
                .map(|tag| tag.unwrap().to_string())
                .collect()
        })
        .collect()
}

/// Options reading naive timestamps in Paris.
fn paris() -> IngestOptions {
    IngestOptions {
        input_tz: chrono_tz::Europe::Paris,
        ..defaults()
    }
}

// ---------------------------------------------------------------- CSV

#[test]
fn csv_columns_in_any_order_with_extra_columns() {
    let text = "note,result,date,id,duration,tags,user_id,ringing_seconds,allo_number,direction,type\n\
                hello,ANSWERED,2024-03-04T09:30:00Z,cll-1,95,demo,usr-1,4.5,+15550001,INBOUND,CALL\n\
                ,,2024-03-05T10:00:00Z,cll-2,,,,,,,\n";
    let (frame, report) = csv_ok(text, &defaults());
    assert_eq!(texts(&frame, "id"), ["cll-1", "cll-2"]);
    assert_eq!(
        dates(&frame),
        ["2024-03-04T09:30:00Z", "2024-03-05T10:00:00Z"]
    );
    assert_eq!(strings(&frame, "result"), [Some("ANSWERED".into()), None]);
    assert_eq!(texts(&frame, "direction"), ["INBOUND", "OUTBOUND"]);
    assert_eq!(texts(&frame, "type"), ["CALL", "CALL"]);
    assert_eq!(strings(&frame, "user_id"), [Some("usr-1".into()), None]);
    assert_eq!(strings(&frame, "user_name"), [None, None]);
    assert_eq!(
        strings(&frame, "allo_number"),
        [Some("+15550001".into()), None]
    );
    assert_eq!(durations(&frame), [95, 0]);
    assert_eq!(ringing(&frame), [Some(4.5), None]);
    assert_eq!(tags(&frame), [vec!["demo".to_string()], vec![]]);
    assert_eq!(report.rows_read, 2);
    assert_eq!(report.calls, 2);
    assert_eq!(report.duplicates, 0);
    assert!(report.skipped.is_empty());
}

#[test]
fn csv_map_reads_fields_from_other_columns() {
    let options = IngestOptions {
        column_map: vec![
            ("date".into(), "call_started_at".into()),
            ("id".into(), "call_id".into()),
            ("user_name".into(), "rep".into()),
        ],
        ..defaults()
    };
    let text = "call_id,call_started_at,rep,date\ncll-9,2024-03-04 09:30:00,Ada,not a date\n";
    let (frame, _) = csv_ok(text, &options);
    assert_eq!(texts(&frame, "id"), ["cll-9"]);
    assert_eq!(dates(&frame), ["2024-03-04T09:30:00Z"]);
    assert_eq!(texts(&frame, "user_name"), ["Ada"]);

    // An error names the column as in the file.
    let bad = "call_id,call_started_at,rep\ncll-9,yesterday,Ada\n";
    assert_eq!(
        error(bad, Format::Csv, &options),
        "calls.csv:2: column `call_started_at`: invalid value `yesterday`: bad timestamp \
         (expected an RFC 3339 timestamp like 2024-03-04T09:30:00Z)"
    );
}

#[test]
fn csv_missing_columns_are_reported() {
    assert_eq!(
        error("id,result\ncll-1,ANSWERED\n", Format::Csv, &defaults()),
        "calls.csv: missing column `date` (map one with --map date=COLUMN)"
    );
    assert_eq!(
        error("date\n2024-03-04T09:30:00Z\n", Format::Csv, &defaults()),
        "calls.csv: missing column `id` (map one with --map id=COLUMN)"
    );
    let options = IngestOptions {
        column_map: vec![("date".into(), "started".into())],
        ..defaults()
    };
    assert_eq!(
        error(
            "id,date\ncll-1,2024-03-04T09:30:00Z\n",
            Format::Csv,
            &options
        ),
        "calls.csv: missing column `started` (mapped to field `date` with --map date=started)"
    );
}

#[test]
fn unknown_map_field_is_an_error() {
    let options = IngestOptions {
        column_map: vec![("when".into(), "started".into())],
        ..defaults()
    };
    let message = error("id,date\n", Format::Csv, &options);
    assert!(
        message.starts_with(
            "--map when=started: unknown field `when` (expected one of id, date, direction"
        ),
        "{message}"
    );
}

#[test]
fn csv_header_with_bom_and_spaces() {
    let text = "\u{feff}id , date ,result\ncll-1,2024-03-04T09:30:00Z,VOICEMAIL\n";
    let (frame, _) = csv_ok(text, &defaults());
    assert_eq!(texts(&frame, "id"), ["cll-1"]);
    assert_eq!(texts(&frame, "result"), ["VOICEMAIL"]);
}

#[test]
fn csv_quoted_newlines_keep_line_numbers() {
    let text = "id,date,user_name,duration\n\
                cll-1,2024-03-04T09:30:00Z,\"Ada\nLovelace\",10\n\
                cll-2,2024-03-04T09:31:00Z,Bob,20\n\
                cll-3,2024-03-04T09:32:00Z,\"Multi\n\nline\",x\n";
    assert_eq!(
        error(text, Format::Csv, &defaults()),
        "calls.csv:5: column `duration`: invalid value `x`: non-numeric duration"
    );
    let ok = "id,date,user_name\ncll-1,2024-03-04T09:30:00Z,\"Ada\nLovelace\"\n";
    let (frame, _) = csv_ok(ok, &defaults());
    assert_eq!(texts(&frame, "user_name"), ["Ada\nLovelace"]);
}

#[test]
fn csv_tags_are_split_trimmed_and_lower_cased() {
    let text = "id,date,tags\ncll-1,2024-03-04T09:30:00Z, Demo ; ;QUALIFIED;\ncll-2,2024-03-04T09:30:00Z,\"\"\n";
    let (frame, _) = csv_ok(text, &defaults());
    assert_eq!(
        tags(&frame),
        [vec!["demo".to_string(), "qualified".to_string()], vec![]]
    );
}

#[test]
fn enums_are_case_insensitive_and_normalised() {
    let text = "id,date,direction,type,result\n\
                cll-1,2024-03-04T09:30:00Z,outbound,call,answered\n\
                cll-2,2024-03-04T09:30:00Z,Inbound,Sms, no_answer \n";
    let (frame, _) = csv_ok(text, &defaults());
    assert_eq!(texts(&frame, "direction"), ["OUTBOUND", "INBOUND"]);
    assert_eq!(texts(&frame, "type"), ["CALL", "SMS"]);
    assert_eq!(texts(&frame, "result"), ["ANSWERED", "NO_ANSWER"]);
}

// ---------------------------------------------------------------- timestamps

#[test]
fn timestamps_with_offsets_and_fractions() {
    let text = "id,date\n\
                a,2024-03-04T09:30:00Z\n\
                b,2024-03-04T09:30:00.250+02:00\n\
                c,2024-03-04 09:30:00-05:30\n\
                d,2024-03-04t09:30:00.123456789z\n\
                e,2024-03-04 09:30\n\
                f,2024-03-04 09:30:00 +0100\n\
                g,2024-03-04 09:30:00 UTC\n";
    let (frame, _) = csv_ok(text, &defaults());
    assert_eq!(
        dates(&frame),
        [
            "2024-03-04T09:30:00Z",
            "2024-03-04T07:30:00.250Z",
            "2024-03-04T15:00:00Z",
            "2024-03-04T09:30:00.123456Z",
            "2024-03-04T09:30:00Z",
            "2024-03-04T08:30:00Z",
            "2024-03-04T09:30:00Z",
        ]
    );
}

#[test]
fn naive_timestamps_are_read_in_the_input_zone() {
    let text = "id,date\n\
                winter,2024-03-04 09:30:00\n\
                summer,2024-07-01T10:00:00\n\
                ambiguous,2024-10-27 02:30:00\n\
                offset,2024-07-01T10:00:00Z\n";
    let (frame, _) = csv_ok(text, &paris());
    assert_eq!(
        dates(&frame),
        [
            "2024-03-04T08:30:00Z",
            "2024-07-01T08:00:00Z",
            // 02:30 happens twice; the earlier is still summer time (+02:00).
            "2024-10-27T00:30:00Z",
            "2024-07-01T10:00:00Z",
        ]
    );
}

#[test]
fn nonexistent_local_time_is_an_error() {
    let text = "id,date\ncll-1,2024-03-31 02:30:00\n";
    assert_eq!(
        error(text, Format::Csv, &paris()),
        "calls.csv:2: column `date`: invalid value `2024-03-31 02:30:00`: bad timestamp \
         (this local time does not exist in Europe/Paris: clocks skip it for daylight saving time)"
    );
    // The same text is fine in UTC.
    let (frame, _) = csv_ok(text, &defaults());
    assert_eq!(dates(&frame), ["2024-03-31T02:30:00Z"]);
}

#[test]
fn date_only_and_malformed_timestamps_are_errors() {
    let cases = [
        ("2024-03-04", "a date without a time of day"),
        ("2024-02-30T10:00:00Z", "no such calendar date"),
        ("2024-03-04T25:00:00Z", "no such time of day"),
        ("2024-03-04T10:00:00 CET", "unexpected `CET` after the time"),
        (
            "04/03/2024 10:00",
            "expected an RFC 3339 timestamp like 2024-03-04T09:30:00Z",
        ),
    ];
    for (value, detail) in cases {
        let text = format!("id,date\ncll-1,{value}\n");
        assert_eq!(
            error(&text, Format::Csv, &defaults()),
            format!(
                "calls.csv:2: column `date`: invalid value `{value}`: bad timestamp ({detail})"
            )
        );
    }
}

// ---------------------------------------------------------------- bad rows

#[test]
fn every_bad_row_reason_names_file_line_column_and_value() {
    let header = "id,date,direction,type,result,duration,ringing_seconds";
    let cases = [
        (",2024-03-04T09:30:00Z,,,,,", "column `id`: invalid value ``: missing id"),
        ("cll-1,,,,,,", "column `date`: invalid value ``: missing date"),
        (
            "cll-1,2024-13-01T00:00:00Z,,,,,",
            "column `date`: invalid value `2024-13-01T00:00:00Z`: bad timestamp (no such calendar date)",
        ),
        ("cll-1,2024-03-04T09:30:00Z,,,,-5,", "column `duration`: invalid value `-5`: negative duration"),
        ("cll-1,2024-03-04T09:30:00Z,,,,12s,", "column `duration`: invalid value `12s`: non-numeric duration"),
        ("cll-1,2024-03-04T09:30:00Z,,,,12.5,", "column `duration`: invalid value `12.5`: non-integer duration"),
        (
            "cll-1,2024-03-04T09:30:00Z,,,,,-1.5",
            "column `ringing_seconds`: invalid value `-1.5`: negative ringing_seconds",
        ),
        (
            "cll-1,2024-03-04T09:30:00Z,,,,,NaN",
            "column `ringing_seconds`: invalid value `NaN`: non-numeric ringing_seconds",
        ),
        (
            "cll-1,2024-03-04T09:30:00Z,,,HUNG_UP,,",
            "column `result`: invalid value `HUNG_UP`: unknown result \
             (expected one of ANSWERED, VOICEMAIL, TRANSFERRED, TRANSFERRED_AI, \
             TRANSFERRED_EXTERNAL, MISSED, NO_ANSWER, BUSY, FAILED, FAILED_EXTERNAL, BLOCKED, \
             CANCELED, CLOSED, RECEIVED)",
        ),
        (
            "cll-1,2024-03-04T09:30:00Z,SIDEWAYS,,,,",
            "column `direction`: invalid value `SIDEWAYS`: unknown direction (expected one of OUTBOUND, INBOUND)",
        ),
        (
            "cll-1,2024-03-04T09:30:00Z,,FAX,,,",
            "column `type`: invalid value `FAX`: unknown type (expected one of CALL, SMS)",
        ),
    ];
    for (row, problem) in cases {
        let text = format!("{header}\ncll-0,2024-03-04T09:30:00Z,,,,,\n{row}\n");
        assert_eq!(
            error(&text, Format::Csv, &defaults()),
            format!("calls.csv:3: {problem}"),
            "row {row}"
        );
    }
}

#[test]
fn bad_row_error_carries_its_fields() {
    let text = "id,date,duration\ncll-1,2024-03-04T09:30:00Z,-3\n";
    let Err(IngestError::InvalidRow(row)) = load_str(text, Format::Csv, "x.csv", &defaults())
    else {
        panic!("expected an invalid row");
    };
    assert_eq!(row.file, "x.csv");
    assert_eq!(row.line, 2);
    assert_eq!(row.column, "duration");
    assert_eq!(row.value, "-3");
    assert_eq!(row.reason, Reason::NegativeDuration);
}

#[test]
fn long_values_are_truncated_in_messages() {
    let long = "x".repeat(200);
    let text = format!("id,date\ncll-1,{long}\n");
    let message = error(&text, Format::Csv, &defaults());
    assert!(
        message.contains(&format!("invalid value `{}…`", "x".repeat(80))),
        "{message}"
    );
}

#[test]
fn skip_invalid_counts_rows_by_reason() {
    let options = IngestOptions {
        skip_invalid: true,
        // Every row may be skipped: these tests look at the rows skipped.
        max_invalid: SkipCeiling::Rows(u64::MAX),
        ..defaults()
    };
    let text = "id,date,result,duration\n\
                cll-1,2024-03-04T09:30:00Z,ANSWERED,10\n\
                cll-2,yesterday,ANSWERED,10\n\
                cll-3,2024-03-04T09:30:00Z,HUNG_UP,10\n\
                ,2024-03-04T09:30:00Z,,\n\
                cll-5,2024-03-04T09:30:00Z,,-1\n\
                cll-6,2024-03-04T09:30:00Z,,-2\n\
                cll-7,2024-03-04T09:30:00Z,,\n";
    let (frame, report) = csv_ok(text, &options);
    assert_eq!(texts(&frame, "id"), ["cll-1", "cll-7"]);
    assert_eq!(report.rows_read, 7);
    assert_eq!(report.calls, 2);
    let expected: BTreeMap<String, u64> = [
        ("bad timestamp".to_string(), 1),
        ("missing id".to_string(), 1),
        ("negative duration".to_string(), 2),
        ("unknown result".to_string(), 1),
    ]
    .into();
    assert_eq!(report.skipped, expected);
    assert_eq!(
        report.summary_lines(),
        [
            "read 7 rows from 0 files",
            "skipped 5 invalid rows (bad timestamp: 1, missing id: 1, negative duration: 2, unknown result: 1)",
            "first skipped: calls.csv:3 (bad timestamp), calls.csv:4 (unknown result), \
             calls.csv:5 (missing id), calls.csv:6 (negative duration), calls.csv:7 (negative duration)",
        ]
    );
}

#[test]
fn duplicate_ids_keep_the_last_occurrence() {
    let text = "id,date,duration\n\
                a,2024-03-04T09:30:00Z,1\n\
                b,2024-03-04T09:30:00Z,2\n\
                a,2024-03-04T09:30:00Z,3\n\
                c,2024-03-04T09:30:00Z,4\n\
                a,2024-03-04T09:30:00Z,5\n";
    let (frame, report) = csv_ok(text, &defaults());
    assert_eq!(texts(&frame, "id"), ["b", "c", "a"]);
    assert_eq!(durations(&frame), [2, 4, 5]);
    assert_eq!(report.rows_read, 5);
    assert_eq!(report.duplicates, 2);
    assert_eq!(report.calls, 3);
    assert_eq!(
        report.summary_lines(),
        [
            "read 5 rows from 0 files",
            "collapsed 2 duplicate ids (last occurrence kept)",
        ]
    );
}

#[test]
fn empty_inputs_give_an_empty_frame() {
    let (frame, report) = csv_ok("", &defaults());
    assert_eq!(frame.height(), 0);
    assert_eq!(report.calls, 0);
    let (frame, _) = csv_ok("id,date\n", &defaults());
    assert_eq!(frame.height(), 0);
    let (frame, _) = json_ok("[]", &defaults());
    assert_eq!(frame.height(), 0);
    let (frame, _) = json_ok("  \n", &defaults());
    assert_eq!(frame.height(), 0);
}

// ---------------------------------------------------------------- JSON

#[test]
fn json_array_of_flat_and_nested_records() {
    let text = r#"[
  {"id": "cll-1", "date": "2024-03-04T09:30:00Z", "result": "answered", "duration": 95,
   "ringing_seconds": "3.5", "tags": ["Demo", " qualified "], "user_id": "usr-1", "extra": {"x": 1}},
  {"id": "cll-2", "date": "2024-03-04T10:00:00+01:00", "duration": "12", "tags": "A; b",
   "user": {"id": "usr-2", "name": "Bob", "email": "bob@example.com"}, "direction": null},
  {"id": "cll-3", "date": "2024-03-04T11:00:00Z", "duration": 12.0, "user": null, "type": "sms"}
]"#;
    let (frame, report) = json_ok(text, &defaults());
    assert_eq!(texts(&frame, "id"), ["cll-1", "cll-2", "cll-3"]);
    assert_eq!(
        dates(&frame),
        [
            "2024-03-04T09:30:00Z",
            "2024-03-04T09:00:00Z",
            "2024-03-04T11:00:00Z"
        ]
    );
    assert_eq!(
        strings(&frame, "result"),
        [Some("ANSWERED".into()), None, None]
    );
    assert_eq!(durations(&frame), [95, 12, 12]);
    assert_eq!(ringing(&frame), [Some(3.5), None, None]);
    assert_eq!(
        tags(&frame),
        [
            vec!["demo".to_string(), "qualified".to_string()],
            vec!["a".to_string(), "b".to_string()],
            vec![]
        ]
    );
    assert_eq!(
        strings(&frame, "user_id"),
        [Some("usr-1".into()), Some("usr-2".into()), None]
    );
    assert_eq!(
        strings(&frame, "user_name"),
        [None, Some("Bob".into()), None]
    );
    assert_eq!(
        strings(&frame, "user_email"),
        [None, Some("bob@example.com".into()), None]
    );
    assert_eq!(
        texts(&frame, "direction"),
        ["OUTBOUND", "OUTBOUND", "OUTBOUND"]
    );
    assert_eq!(texts(&frame, "type"), ["CALL", "CALL", "SMS"]);
    assert_eq!(report.rows_read, 3);
}

#[test]
fn json_array_errors_name_the_line_where_the_record_starts() {
    let text = "[\n  {\"id\": \"a\", \"date\": \"2024-03-04T09:30:00Z\"},\n  {\n    \"id\": \"b\",\n    \"date\": \"2024-03-04T09:30:00Z\",\n    \"duration\": 12.5\n  }\n]";
    assert_eq!(
        error(text, Format::Json, &defaults()),
        "calls.json:3: column `duration`: invalid value `12.5`: non-integer duration"
    );
    let user = r#"[{"id": "a", "date": "2024-03-04T09:30:00Z", "user": {"id": ["x"]}}]"#;
    assert_eq!(
        error(user, Format::Json, &defaults()),
        "calls.json:1: column `user.id`: invalid value `[\"x\"]`: invalid text (expected a string)"
    );
    let not_object = r#"[{"id": "a", "date": "2024-03-04T09:30:00Z"}, 42]"#;
    assert_eq!(
        error(not_object, Format::Json, &defaults()),
        "calls.json:1: column `record`: invalid value `42`: not an object"
    );
    let bad_user = r#"{"id": "a", "date": "2024-03-04T09:30:00Z", "user": "usr-1"}"#;
    assert_eq!(
        error(bad_user, Format::Json, &defaults()),
        "calls.json:1: column `user`: invalid value `\"usr-1\"`: invalid user (expected an object or null)"
    );
}

#[test]
fn malformed_json_names_its_line() {
    let text = "[\n  {\"id\": \"a\", \"date\": \"2024-03-04T09:30:00Z\"},\n  {\"id\": \"b\" \"date\": 1}\n]";
    let message = error(text, Format::Json, &defaults());
    assert!(
        message.starts_with("calls.json:3: invalid JSON: expected `,` or `}`"),
        "{message}"
    );
    let message = error(
        "[{\"id\": \"a\", \"date\": \"2024-03-04T09:30:00Z\"}] x",
        Format::Json,
        &defaults(),
    );
    assert_eq!(
        message,
        "calls.json:1: invalid JSON: unexpected text after the array"
    );
    let message = error("not json", Format::Json, &defaults());
    assert!(
        message.starts_with("calls.json:1: invalid JSON: expected"),
        "{message}"
    );
}

#[test]
fn ndjson_records_blank_lines_and_lines_in_errors() {
    let text = "{\"id\": \"a\", \"date\": \"2024-03-04T09:30:00Z\", \"result\": \"BUSY\"}\n\n\
                {\"id\": \"b\", \"date\": \"2024-03-04T09:31:00Z\", \"duration\": \"7\"}\n";
    let (frame, report) = json_ok(text, &defaults());
    assert_eq!(texts(&frame, "id"), ["a", "b"]);
    assert_eq!(strings(&frame, "result"), [Some("BUSY".into()), None]);
    assert_eq!(durations(&frame), [0, 7]);
    assert_eq!(report.rows_read, 2);

    let bad = "{\"id\": \"a\", \"date\": \"2024-03-04T09:30:00Z\"}\n\n{\"id\": \"b\", \"date\": \"2024-03-04T09:31:00Z\", \"ringing_seconds\": \"soon\"}\n";
    assert_eq!(
        error(bad, Format::Json, &defaults()),
        "calls.json:3: column `ringing_seconds`: invalid value `soon`: non-numeric ringing_seconds"
    );
    let broken =
        "{\"id\": \"a\", \"date\": \"2024-03-04T09:30:00Z\"}\n{\"id\": \"b\", \"date\": }\n";
    let message = error(broken, Format::Json, &defaults());
    assert!(
        message.starts_with("calls.json:2: invalid JSON: expected value"),
        "{message}"
    );
}

#[test]
fn a_single_object_is_one_record() {
    let text = "{\n  \"id\": \"solo\",\n  \"date\": \"2024-03-04T09:30:00Z\"\n}\n";
    let (frame, _) = json_ok(text, &defaults());
    assert_eq!(texts(&frame, "id"), ["solo"]);
}

#[test]
fn json_keys_follow_the_column_map() {
    let options = IngestOptions {
        column_map: vec![
            ("date".into(), "started_at".into()),
            ("duration".into(), "talk".into()),
        ],
        ..defaults()
    };
    let text =
        r#"[{"id": "a", "started_at": "2024-03-04T09:30:00Z", "talk": 30, "date": "ignored"}]"#;
    let (frame, _) = json_ok(text, &options);
    assert_eq!(dates(&frame), ["2024-03-04T09:30:00Z"]);
    assert_eq!(durations(&frame), [30]);
    let bad = r#"[{"id": "a", "started_at": "2024-03-04T09:30:00Z", "talk": -30}]"#;
    assert_eq!(
        error(bad, Format::Json, &options),
        "calls.json:1: column `talk`: invalid value `-30`: negative duration"
    );
}

#[test]
fn conversations_search_page() {
    let text = r#"{
  "pagination": {"page": 1, "size": 2, "total_count": 2, "total_pages": 1, "has_more": false},
  "data": [
    {"id": "cll-1", "date": "2024-03-04T09:30:00Z", "direction": "OUTBOUND", "type": "CALL",
     "user": {"id": "usr-1", "name": "Ada", "email": "ada@example.com"},
     "allo_number": "+15550001", "allo_number_label": "Sales US", "contact_number": "+15559999",
     "result": "TRANSFERRED", "duration": 120, "tags": ["Won"]},
    {"id": "cll-2", "date": "2024-03-04T09:45:00Z", "direction": "INBOUND", "type": "SMS", "user": null}
  ]
}"#;
    let (frame, report) = json_ok(text, &defaults());
    assert_eq!(texts(&frame, "id"), ["cll-1", "cll-2"]);
    assert_eq!(texts(&frame, "direction"), ["OUTBOUND", "INBOUND"]);
    assert_eq!(texts(&frame, "type"), ["CALL", "SMS"]);
    assert_eq!(
        strings(&frame, "user_email"),
        [Some("ada@example.com".into()), None]
    );
    assert_eq!(
        strings(&frame, "allo_number_label"),
        [Some("Sales US".into()), None]
    );
    assert_eq!(
        strings(&frame, "contact_number"),
        [Some("+15559999".into()), None]
    );
    assert_eq!(
        strings(&frame, "result"),
        [Some("TRANSFERRED".into()), None]
    );
    assert_eq!(tags(&frame), [vec!["won".to_string()], vec![]]);
    assert_eq!(report.rows_read, 2);

    let bad =
        "{\"data\": [\n{\"id\": \"a\", \"date\": \"2024-03-04T09:30:00Z\"},\n{\"id\": \"b\"}\n]}";
    assert_eq!(
        error(bad, Format::Json, &defaults()),
        "calls.json:3: column `date`: invalid value ``: missing date"
    );
}

#[test]
fn outbound_drilldown_page() {
    let text = r#"{"data": {
  "date": {"from": "2024-03-04", "to": "2024-03-10"},
  "funnel": {},
  "items": {
    "pagination": {"page": 1, "size": 20, "total_count": 6, "total_pages": 1, "has_more": false},
    "data": [
      {"id": "d-1", "user": {"id": "usr-1", "name": "Ada", "email": null}, "allo_number": "+1555",
       "allo_number_label": "Sales", "contact_number": "+1666", "stage": "DIAL", "voicemail": true,
       "duration": 0, "date": "2024-03-04T09:30:00Z"},
      {"id": "d-2", "user": null, "stage": "CONNECTED", "voicemail": false, "duration": 30,
       "date": "2024-03-04T09:31:00Z"},
      {"id": "d-3", "stage": "conversation", "voicemail": false, "duration": 90, "date": "2024-03-04T09:32:00Z"},
      {"id": "d-4", "stage": "CONVERSION", "voicemail": false, "duration": 45, "date": "2024-03-04T09:33:00Z"},
      {"id": "d-5", "stage": "CONVERSION", "voicemail": false, "duration": 0, "date": "2024-03-04T09:34:00Z"},
      {"id": "d-6", "stage": "DIAL", "voicemail": false, "duration": 0, "date": "2024-03-04T09:35:00Z"}
    ]
  }
}}"#;
    let options = IngestOptions {
        request_tags: vec!["Demo".into(), "won".into()],
        ..defaults()
    };
    let (frame, report) = json_ok(text, &options);
    assert_eq!(
        texts(&frame, "id"),
        ["d-1", "d-2", "d-3", "d-4", "d-5", "d-6"]
    );
    assert_eq!(
        strings(&frame, "result"),
        [
            Some("VOICEMAIL".into()),
            Some("ANSWERED".into()),
            Some("ANSWERED".into()),
            Some("ANSWERED".into()),
            None,
            None
        ]
    );
    let conversion = vec!["demo".to_string(), "won".to_string()];
    assert_eq!(
        tags(&frame),
        [
            vec![],
            vec![],
            vec![],
            conversion.clone(),
            conversion,
            vec![]
        ]
    );
    assert_eq!(durations(&frame), [0, 30, 90, 45, 0, 0]);
    assert_eq!(ringing(&frame), [None; 6]);
    assert_eq!(strings(&frame, "user_id")[0], Some("usr-1".into()));
    assert_eq!(strings(&frame, "user_name")[0], Some("Ada".into()));
    assert_eq!(strings(&frame, "user_email")[0], None);
    assert_eq!(
        strings(&frame, "allo_number_label")[0],
        Some("Sales".into())
    );
    assert_eq!(strings(&frame, "contact_number")[0], Some("+1666".into()));
    assert!(texts(&frame, "direction").iter().all(|d| d == "OUTBOUND"));
    assert!(texts(&frame, "type").iter().all(|t| t == "CALL"));
    assert_eq!(report.rows_read, 6);

    let bad = "{\"data\": {\"items\": {\"data\": [\n  {\"id\": \"d-1\", \"stage\": \"RINGING\", \"date\": \"2024-03-04T09:30:00Z\"}\n]}}}";
    assert_eq!(
        error(bad, Format::Json, &defaults()),
        "calls.json:2: column `stage`: invalid value `RINGING`: unknown stage \
         (expected one of DIAL, CONNECTED, CONVERSATION, CONVERSION)"
    );
    let no_items = r#"{"data": {"funnel": {}}}"#;
    assert_eq!(
        error(no_items, Format::Json, &defaults()),
        "calls.json:1: invalid JSON: `data` holds neither a list of calls, nor drilldown `items`, \
         nor v1 call `results` (an outbound response needs extend=items)"
    );
}

#[test]
fn definitions_2_result_values_load_from_every_reader() {
    // Refused as bad rows under definitions 1; read under definitions 2.
    let values = [
        "transferred_ai",
        "TRANSFERRED_EXTERNAL",
        "Missed",
        "FAILED_EXTERNAL",
        "blocked",
        "CLOSED",
        "received",
    ];
    let expected = [
        "TRANSFERRED_AI",
        "TRANSFERRED_EXTERNAL",
        "MISSED",
        "FAILED_EXTERNAL",
        "BLOCKED",
        "CLOSED",
        "RECEIVED",
    ];
    let mut csv = String::from("id,date,result\n");
    let mut json = Vec::new();
    for (index, value) in values.iter().enumerate() {
        csv.push_str(&format!("cll-{index},2024-03-04T09:3{index}:00Z,{value}\n"));
        json.push(format!(
            r#"{{"id": "cll-{index}", "date": "2024-03-04T09:3{index}:00Z", "result": "{value}"}}"#
        ));
    }
    let (frame, _) = csv_ok(&csv, &defaults());
    assert_eq!(texts(&frame, "result"), expected);
    let (frame, _) = json_ok(&format!("[{}]", json.join(",")), &defaults());
    assert_eq!(texts(&frame, "result"), expected);
    // In API case, a CSV file is read column-wise, with the same values.
    let mut canonical_csv = String::from("id,date,result\n");
    for (index, value) in expected.iter().enumerate() {
        canonical_csv.push_str(&format!("cll-{index},2024-03-04T09:3{index}:00Z,{value}\n"));
    }
    assert!(same_both_ways(&canonical_csv));
    assert!(!same_both_ways(&csv), "lower case is read row by row");
}

#[test]
fn v1_call_page() {
    let text = r#"{"data": {"results": [
    {"id": "v1-1", "start_date": "2024-03-04T09:30:00", "type": "OUTBOUND",
     "from_number": "+33100", "to_number": "+33600", "length_in_minutes": 1.5,
     "result": "ANSWERED", "tag": "Demo_Booked"},
    {"id": "v1-2", "start_date": "2024-03-04T10:00:00Z", "type": "inbound",
     "from_number": "+33601", "to_number": "+33100", "length_in_minutes": 0.175,
     "result": "transferred_external", "tag": null},
    {"id": "v1-3", "start_date": "2024-03-04 11:00:00+02:00", "from_number": "+33100",
     "length_in_minutes": "2", "result": "MISSED"},
    {"id": "v1-4", "start_date": "2024-03-04T12:00:00", "length_in_minutes": 0.0125,
     "result": "BLOCKED"},
    {"id": "v1-5", "start_date": "2024-03-04T12:30:00", "length_in_minutes": 1.25e1}
  ],
  "metadata": {"total_pages": 1, "current_page": 1, "page_size": 5}}}"#;
    let (frame, report) = json_ok(text, &paris());
    assert_eq!(report.rows_read, 5);
    assert_eq!(
        texts(&frame, "id"),
        ["v1-1", "v1-2", "v1-3", "v1-4", "v1-5"]
    );
    // No offset: read in the input time zone (Paris, UTC+1).
    assert_eq!(
        dates(&frame),
        [
            "2024-03-04T08:30:00Z",
            "2024-03-04T10:00:00Z",
            "2024-03-04T09:00:00Z",
            "2024-03-04T11:00:00Z",
            "2024-03-04T11:30:00Z"
        ]
    );
    assert_eq!(
        texts(&frame, "direction"),
        ["OUTBOUND", "INBOUND", "OUTBOUND", "OUTBOUND", "OUTBOUND"]
    );
    assert!(texts(&frame, "type").iter().all(|t| t == "CALL"));
    // Minutes × 60, half away from zero: 0.175 min = 10.5 s → 11; 0.0125 min = 0.75 s → 1.
    assert_eq!(durations(&frame), [90, 11, 120, 1, 750]);
    // The Allo number is `from` when outbound, `to` when inbound.
    assert_eq!(
        strings(&frame, "allo_number"),
        [
            Some("+33100".into()),
            Some("+33100".into()),
            Some("+33100".into()),
            None,
            None
        ]
    );
    assert_eq!(
        strings(&frame, "contact_number"),
        [
            Some("+33600".into()),
            Some("+33601".into()),
            None,
            None,
            None
        ]
    );
    assert_eq!(
        strings(&frame, "result"),
        [
            Some("ANSWERED".into()),
            Some("TRANSFERRED_EXTERNAL".into()),
            Some("MISSED".into()),
            Some("BLOCKED".into()),
            None
        ]
    );
    assert_eq!(
        tags(&frame),
        [
            vec!["demo_booked".to_string()],
            vec![],
            vec![],
            vec![],
            vec![]
        ]
    );

    let bad = |record: &str| {
        error(
            &format!("{{\"data\": {{\"results\": [\n{record}\n]}}}}"),
            Format::Json,
            &defaults(),
        )
    };
    assert_eq!(
        bad(r#"{"id": "v1-1", "start_date": "2024-03-04T09:30:00Z", "length_in_minutes": -2}"#),
        "calls.json:2: column `length_in_minutes`: invalid value `-2`: negative duration"
    );
    assert_eq!(
        bad(
            r#"{"id": "v1-1", "start_date": "2024-03-04T09:30:00Z", "length_in_minutes": "2 min"}"#
        ),
        "calls.json:2: column `length_in_minutes`: invalid value `2 min`: non-numeric duration"
    );
    assert_eq!(
        bad(r#"{"id": "v1-1", "date": "2024-03-04T09:30:00Z"}"#),
        "calls.json:2: column `start_date`: invalid value ``: missing date"
    );
    assert_eq!(
        bad(r#"{"id": "v1-1", "start_date": "2024-03-04T09:30:00Z", "result": "PICKED_UP"}"#)
            .split(" (expected")
            .next()
            .unwrap(),
        "calls.json:2: column `result`: invalid value `PICKED_UP`: unknown result"
    );
}

#[test]
fn minutes_are_converted_exactly() {
    let cases = [
        ("0", 0),
        ("1", 60),
        ("-0", 0),
        ("0.5", 30),
        ("0.0083", 0),  // 0.498 s
        ("0.00834", 1), // 0.5004 s
        ("0.025", 2),   // 1.5 s: the half goes away from zero
        ("0.175", 11),  // 10.5 s, which binary floating point puts below the half
        ("1E2", 6000),
        ("2.5e-1", 15),
        ("+3", 180),
        ("1e-40", 0),
    ];
    for (text, seconds) in cases {
        assert_eq!(
            crate::model::rules::decimal_to_seconds(text, DurationUnit::Minutes),
            Ok(seconds),
            "{text}"
        );
    }
    for text in ["", "-", ".", "1e", "1.2.3", "abc", "1e400", "1e30"] {
        assert_eq!(
            crate::model::rules::decimal_to_seconds(text, DurationUnit::Minutes),
            Err(Reason::NonNumericDuration),
            "{text}"
        );
    }
    assert_eq!(
        crate::model::rules::decimal_to_seconds("-0.5", DurationUnit::Minutes),
        Err(Reason::NegativeDuration)
    );
}

#[test]
fn drilldown_conversion_items_without_request_tags_get_the_tag_converted() {
    let text = r#"{"data": {"items": {"data": [
      {"id": "d-1", "stage": "CONVERSION", "voicemail": false, "duration": 0, "date": "2024-03-04T09:33:00Z"},
      {"id": "d-2", "stage": "CONNECTED", "voicemail": false, "duration": 5, "date": "2024-03-04T09:34:00Z"}
    ]}}}"#;
    let (frame, _) = json_ok(text, &defaults());
    assert_eq!(tags(&frame), [vec!["converted".to_string()], vec![]]);
    // With request tags, those (normalised as tags are).
    let options = IngestOptions {
        request_tags: vec![" Won ".into(), "".into()],
        ..defaults()
    };
    let (frame, _) = json_ok(text, &options);
    assert_eq!(tags(&frame), [vec!["won".to_string()], vec![]]);
}

#[test]
fn garbage_never_panics() {
    let samples = [
        "\u{feff}",
        "[",
        "]",
        "{",
        "}",
        "[{]",
        "{\"data\":",
        "{\"data\": {\"items\": 3}}",
        "[1,2,",
        "\"x\"",
        "{\"id\": 1, \"date\": 2}",
        "\u{0}\u{1}",
        "id,date\n\"unterminated",
        "[{\"id\":\"a\",\"date\":\"2024-03-04T09:30:00+99:00\"}]",
        "[{\"id\":\"a\",\"date\":\"2024-03-04T09:30:00.\"}]",
        "[{\"id\":\"a\",\"date\":\"2024-03-04T09:30:60Z\",\"duration\":1e300}]",
        "[{\"id\":\"a\",\"date\":\"2024-03-04T09:30:00Z\",\"duration\":18446744073709551615}]",
    ];
    for sample in samples {
        for format in [Format::Csv, Format::Json] {
            for skip_invalid in [false, true] {
                let options = IngestOptions {
                    skip_invalid,
                    max_invalid: SkipCeiling::Rows(u64::MAX),
                    ..defaults()
                };
                if let Ok(ingested) = load_str(sample, format, "x", &options) {
                    ingested.frame.collect().expect("a loaded frame collects");
                }
            }
        }
    }
}

// ---------------------------------------------------------------- files

/// Writes `text` to `dir/name` and returns the path.
pub(super) fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_folders_hidden_files_are_left_out_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "a.csv", "id,date\na,2024-03-04T09:30:00Z\n");
    let hidden = write(root, ".b.csv", "id,date\nb,2024-03-04T09:31:00Z\n");
    write(root, ".c.json", "[]");
    write(root, ".notes.txt", "not a supported format");
    // A new month file of an append in a folder store is not the user's.
    write(root, ".2024-03.parquet.7.new.parquet", "");

    let loaded = load(&[root.to_path_buf()], &IngestOptions::default()).unwrap();
    assert_eq!(loaded.report.calls, 1);
    assert_eq!(
        loaded.report.notes,
        [format!(
            "left out 2 hidden files of {} (a name starting with a dot): {} and 1 more",
            root.display(),
            hidden.display()
        )]
    );
    assert!(loaded
        .report
        .summary_lines()
        .contains(&loaded.report.notes[0]));
    assert!(crate::store::is_append_file(".switch.json"));
    assert!(!crate::store::is_append_file(".b.csv"));
}

#[test]
fn folders_globs_and_missing_paths() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let b = write(root, "b.csv", "id,date\nb,2024-03-04T09:30:00Z\n");
    let a = write(root, "a.json", "[]");
    write(root, "notes.txt", "ignored in a folder");
    std::fs::create_dir(root.join("nested")).unwrap();
    write(&root.join("nested"), "c.csv", "id,date\n");

    assert_eq!(
        expand_inputs(&[root.to_path_buf()]).unwrap(),
        [a.clone(), b.clone()]
    );
    assert_eq!(
        expand_inputs(&[root.join("*.csv")]).unwrap(),
        std::slice::from_ref(&b)
    );
    assert_eq!(
        expand_inputs(&[root.join("?.*"), b.clone()]).unwrap(),
        [a.clone(), b.clone(), b.clone()]
    );

    let missing = root.join("missing.csv");
    assert_eq!(
        expand_inputs(std::slice::from_ref(&missing))
            .unwrap_err()
            .to_string(),
        format!("{}: no such file or folder", missing.display())
    );
    let pattern = root.join("*.parquet");
    assert_eq!(
        expand_inputs(std::slice::from_ref(&pattern))
            .unwrap_err()
            .to_string(),
        format!("{}: no file matches", pattern.display())
    );
    let empty = root.join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(matches!(
        expand_inputs(&[empty]).unwrap_err(),
        IngestError::EmptyFolder { .. }
    ));
    let notes = root.join("notes.txt");
    assert_eq!(
        load(std::slice::from_ref(&notes), &defaults())
            .err()
            .unwrap()
            .to_string(),
        format!(
            "{}: unknown format (expected .csv, .json, .ndjson, .jsonl or .parquet)",
            notes.display()
        )
    );
    assert!(matches!(load(&[], &defaults()), Err(IngestError::NoInput)));
}

#[test]
fn several_files_are_concatenated_and_deduplicated_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "calls.csv",
        "id,date,duration\na,2024-03-04T09:30:00Z,1\nb,2024-03-04T09:30:00Z,2\n",
    );
    let ndjson = write(
        dir.path(),
        "more.ndjson",
        "{\"id\": \"a\", \"date\": \"2024-03-04T09:30:00Z\", \"duration\": 10}\n{\"id\": \"c\", \"date\": \"2024-03-04T09:30:00Z\"}\n",
    );
    let (frame, report) = collect(load(&[csv.clone(), ndjson.clone()], &defaults()).unwrap());
    assert_eq!(texts(&frame, "id"), ["b", "a", "c"]);
    assert_eq!(durations(&frame), [2, 10, 0]);
    assert_eq!(report.files, [csv.clone(), ndjson.clone()]);
    assert_eq!(report.rows_read, 4);
    assert_eq!(report.duplicates, 1);
    assert_eq!(report.calls, 3);
    assert_eq!(
        report.summary_lines(),
        [
            "read 4 rows from 2 files",
            "collapsed 1 duplicate id (last occurrence kept)",
        ]
    );

    let bad = write(
        dir.path(),
        "bad.jsonl",
        "\n{\"id\": \"z\", \"date\": \"2024-03-04\"}\n",
    );
    let message = load(&[csv, bad.clone()], &defaults())
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        message,
        format!(
            "{}:2: column `date`: invalid value `2024-03-04`: bad timestamp (a date without a time of day)",
            bad.display()
        )
    );
}

#[test]
fn a_window_keeps_a_call_whose_last_occurrence_is_in_another_file() {
    let dir = tempfile::tempdir().unwrap();
    let header = "id,date,result,duration\n";
    // Both files in canonical form, their ids increasing: `cll-1` is read
    // last from `later.csv`, dated before the window.
    let first = write(
        dir.path(),
        "first.csv",
        &format!("{header}cll-1,2024-10-08T12:00:00Z,ANSWERED,100\ncll-2,2024-10-09T12:00:00Z,ANSWERED,100\n"),
    );
    let later = write(
        dir.path(),
        "later.csv",
        &format!("{header}cll-1,2023-01-01T12:00:00Z,ANSWERED,100\ncll-3,2024-01-01T12:00:00Z,ANSWERED,100\n"),
    );
    let options = IngestOptions {
        keep_window: Some((
            Utc.with_ymd_and_hms(2024, 10, 7, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2024, 11, 4, 0, 0, 0).unwrap(),
        )),
        ..IngestOptions::default()
    };
    let (frame, report) = collect(load(&[first, later], &options).unwrap());
    assert_eq!(report.duplicates, 1);
    assert_eq!(report.calls, 3);
    assert_eq!(texts(&frame, "id"), ["cll-2", "cll-1", "cll-3"]);
    assert_eq!(
        dates(&frame),
        [
            "2024-10-09T12:00:00Z",
            "2023-01-01T12:00:00Z",
            "2024-01-01T12:00:00Z"
        ]
    );
}

#[test]
fn a_window_leaves_no_row_of_a_canonical_csv_unchecked() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("id,date,result,duration\n");
    for day in 1..=28 {
        text.push_str(&format!(
            "cll-{day:02},2024-02-{day:02}T12:00:00Z,ANSWERED,10\n"
        ));
    }
    let window = (
        Utc.with_ymd_and_hms(2024, 2, 10, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2024, 2, 17, 0, 0, 0).unwrap(),
    );
    let options = IngestOptions {
        keep_window: Some(window),
        ..IngestOptions::default()
    };
    // A bad date far from the window, on line 30, is still named.
    let bad = write(
        dir.path(),
        "bad.csv",
        &format!("{text}cll-90,2024-13-45T25:00:00Z,ANSWERED,10\n"),
    );
    let error = load(&[bad], &options).err().unwrap().to_string();
    assert!(
        error.contains("bad.csv:30") && error.contains("2024-13-45T25:00:00Z"),
        "{error}"
    );
    // Values off canonical form outside the window are read by the rules:
    // the latest call of all, in lower case, still gives its date.
    let odd = write(
        dir.path(),
        "odd.csv",
        &format!("{text}cll-91, 2024-03-01T09:00:00+01:00 ,answered,7\n"),
    );
    let (frame, report) = collect(load(&[odd], &options).unwrap());
    assert_eq!(report.calls, 29);
    let ids = texts(&frame, "id");
    assert!(ids.iter().any(|id| id == "cll-10"), "{ids:?}");
    assert_eq!(ids.last().map(String::as_str), Some("cll-91"));
    assert_eq!(
        dates(&frame).last().map(String::as_str),
        Some("2024-03-01T08:00:00Z")
    );
}

// ---------------------------------------------------------------- Parquet

/// Writes `frame` as Parquet to `dir/name`.
pub(super) fn write_parquet(dir: &Path, name: &str, mut frame: DataFrame) -> PathBuf {
    let path = dir.join(name);
    let file = File::create(&path).unwrap();
    ParquetWriter::new(file).finish(&mut frame).unwrap();
    path
}

/// A few calls covering every field.
fn sample_calls() -> Vec<Call> {
    let at = |minute| Utc.with_ymd_and_hms(2024, 3, 4, 9, minute, 0).unwrap();
    let mut first = Call::new("cll-1", at(0));
    first.result = Some(CallResult::Answered);
    first.duration = 95;
    first.ringing_seconds = Some(4.25);
    first.user_id = Some("usr-1".into());
    first.user_name = Some("Ada".into());
    first.user_email = Some("ada@example.com".into());
    first.allo_number = Some("+15550001".into());
    first.allo_number_label = Some("Sales US".into());
    first.contact_number = Some("+15559999".into());
    first.tags = vec!["demo".into(), "won".into()];
    let mut second = Call::new("cll-2", at(1));
    second.direction = Direction::Inbound;
    second.call_type = CallType::Sms;
    let third = Call::new("cll-3", at(2));
    vec![first, second, third]
}

#[test]
fn parquet_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let expected = calls_to_frame(sample_calls()).unwrap();
    let path = write_parquet(dir.path(), "calls.parquet", expected.clone());
    let (frame, report) = collect(load(std::slice::from_ref(&path), &defaults()).unwrap());
    assert!(frame.equals_missing(&expected), "{frame}\n{expected}");
    assert_eq!(report.files, [path]);
    assert_eq!(report.rows_read, 3);
    assert_eq!(report.calls, 3);
    assert_eq!(report.duplicates, 0);
}

#[test]
fn parquet_duplicates_across_files_keep_the_last() {
    let dir = tempfile::tempdir().unwrap();
    let parquet = write_parquet(
        dir.path(),
        "calls.parquet",
        calls_to_frame(sample_calls()).unwrap(),
    );
    let csv = write(
        dir.path(),
        "update.csv",
        "id,date,duration\ncll-1,2024-03-04T09:00:00Z,7\n",
    );
    let (frame, report) = collect(load(&[parquet.clone(), csv.clone()], &defaults()).unwrap());
    assert_eq!(texts(&frame, "id"), ["cll-2", "cll-3", "cll-1"]);
    assert_eq!(durations(&frame), [0, 0, 7]);
    assert_eq!(report.rows_read, 4);
    assert_eq!(report.duplicates, 1);
    assert_eq!(report.calls, 3);

    let (frame, report) = collect(load(&[csv, parquet.clone(), parquet], &defaults()).unwrap());
    assert_eq!(texts(&frame, "id"), ["cll-1", "cll-2", "cll-3"]);
    assert_eq!(durations(&frame), [95, 0, 0]);
    assert_eq!(report.rows_read, 7);
    assert_eq!(report.duplicates, 4);
}

#[test]
fn parquet_with_few_columns_other_types_and_lower_case() {
    let dir = tempfile::tempdir().unwrap();
    let started =
        Int64Chunked::from_vec("started".into(), vec![1_709_544_600_000, 1_709_544_660_000])
            .into_datetime(TimeUnit::Milliseconds, None)
            .into_column();
    let frame = DataFrame::new(
        2,
        vec![
            Column::new("id".into(), ["p-1", "p-2"]),
            started,
            Column::new("result".into(), [Some("answered"), None]),
            Column::new("duration".into(), [Some(12i32), None]),
        ],
    )
    .unwrap();
    let path = write_parquet(dir.path(), "few.parquet", frame);
    let options = IngestOptions {
        column_map: vec![("date".into(), "started".into())],
        input_tz: chrono_tz::Europe::Paris,
        ..defaults()
    };
    let (frame, _) = collect(load(std::slice::from_ref(&path), &options).unwrap());
    assert_eq!(texts(&frame, "id"), ["p-1", "p-2"]);
    // 2024-03-04 09:30 wall clock in Paris.
    assert_eq!(
        dates(&frame),
        ["2024-03-04T08:30:00Z", "2024-03-04T08:31:00Z"]
    );
    assert_eq!(strings(&frame, "result"), [Some("ANSWERED".into()), None]);
    assert_eq!(texts(&frame, "direction"), ["OUTBOUND", "OUTBOUND"]);
    assert_eq!(durations(&frame), [12, 0]);
    assert_eq!(tags(&frame), [Vec::<String>::new(), vec![]]);
    assert_eq!(
        load(std::slice::from_ref(&path), &defaults())
            .err()
            .unwrap()
            .to_string(),
        format!(
            "{}: missing column `date` (map one with --map date=COLUMN)",
            path.display()
        )
    );
}

#[test]
fn parquet_bad_rows_fail_or_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let mut calls = sample_calls();
    calls[1].duration = -4;
    let path = write_parquet(dir.path(), "bad.parquet", calls_to_frame(calls).unwrap());
    assert_eq!(
        load(std::slice::from_ref(&path), &defaults())
            .err()
            .unwrap()
            .to_string(),
        format!(
            "{}: row 2: column `duration`: invalid value `-4`: negative duration",
            path.display()
        )
    );
    let options = IngestOptions {
        skip_invalid: true,
        // Every row may be skipped: these tests look at the rows skipped.
        max_invalid: SkipCeiling::Rows(u64::MAX),
        ..defaults()
    };
    let (frame, report) = collect(load(&[path], &options).unwrap());
    assert_eq!(texts(&frame, "id"), ["cll-1", "cll-3"]);
    assert_eq!(report.rows_read, 3);
    assert_eq!(report.calls, 2);
    assert_eq!(
        report.skipped,
        [("negative duration".to_string(), 1)].into()
    );
}

#[test]
fn load_str_rejects_parquet() {
    assert!(matches!(
        load_str("", Format::Parquet, "x.parquet", &defaults()),
        Err(IngestError::ParquetText { .. })
    ));
}

// ---------------------------------------------------------------------------
// CSV read column-wise (canonical form) against the row-by-row reader.
// ---------------------------------------------------------------------------

/// Loads `text` from a file (the column-wise reader may take it) and from
/// memory (always row by row); both must give the same calls and report.
/// Returns whether the column-wise reader took the file.
fn same_both_ways(text: &str) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calls.csv");
    std::fs::write(&path, text).unwrap();
    let names = ColumnNames::new(&[]).unwrap();
    let columnar = matches!(
        csv::columnar::scan_canonical_csv(&path, "calls.csv", &names, None).unwrap(),
        part::FastRead::Calls(_)
    );
    let (from_file, file_report) = collect(load(&[path], &defaults()).expect("file loads"));
    let (from_text, text_report) = csv_ok(text, &defaults());
    assert!(
        from_file.equals_missing(&from_text),
        "{text}\n{from_file}\n{from_text}"
    );
    assert_eq!(file_report.rows_read, text_report.rows_read);
    assert_eq!(file_report.duplicates, text_report.duplicates);
    assert_eq!(file_report.calls, text_report.calls);
    columnar
}

#[test]
fn canonical_csv_is_read_column_wise_with_the_same_calls() {
    let text = "id,date,direction,type,user_id,user_name,user_email,allo_number,allo_number_label,contact_number,result,duration,ringing_seconds,tags\n\
        cll-1,2024-03-04T09:30:00Z,OUTBOUND,CALL,usr-1,Léa Østergaard,lea@acme.fr,+33100,\"Sales, FR\",+33600,ANSWERED,75,12.25,demo_booked;Qualified\n\
        cll-2,2024-03-04T10:00:00Z,INBOUND,CALL,usr-2,\"Zoë \"\"Z\"\" Li\",,+33100,,+33601,NO_ANSWER,0,-0.0,\n\
        cll-3,2024-03-05T23:59:59Z,,,,,,,,,,,,;;A;\n\
        cll-1,2024-03-06T08:00:00Z,OUTBOUND,SMS,usr-1,Léa,lea@acme.fr,+33100,\"multi\nline\",+33600,VOICEMAIL,0,3,\n";
    assert!(same_both_ways(text));
}

#[test]
fn columns_in_any_order_extra_or_missing_are_read_column_wise() {
    let text = "extra,result,date,id\n\
        x,ANSWERED,2024-03-04T09:30:00Z,cll-1\n\
        y,,2024-02-29T12:00:00Z,cll-2\n";
    assert!(same_both_ways(text));
    assert!(
        !same_both_ways("id,date\n"),
        "no rows: the row reader is as fast"
    );
}

#[test]
fn timestamps_with_any_offset_are_read_column_wise_with_the_same_calls() {
    let dates = [
        "2024-03-04T09:30:00+01:00",
        "2024-03-04 09:30:00+00",
        "2024-03-04T09:30:00.123456789Z",
        "2024-03-04 09:30:00-0530",
        "2024-03-04 09:30 UTC",
        "2024-12-31T23:59:60Z",
        "2024-03-04t09:30:00z",
    ];
    for date in dates {
        let text = format!("id,date,result,duration\ncll-1,{date},ANSWERED,10\n");
        assert!(same_both_ways(&text), "{date}");
    }
}

#[test]
fn csv_off_canonical_form_is_read_row_by_row() {
    let rows = [
        "cll-1,2024-03-04 09:30:00,ANSWERED,10",
        "cll-1,2024-03-04T09:30,ANSWERED,10",
        "cll-1,2024-03-04T09:30:00Z,answered,10",
        "cll-1,2024-03-04T09:30:00Z,ANSWERED,10.0",
    ];
    let whitespace = [
        "cll-1,2024-03-04T09:30:00Z,ANSWERED,10,Léa\t",
        "cll-1,2024-03-04T09:30:00Z,ANSWERED,10,Léa\u{a0}",
        "cll-1,2024-03-04T09:30:00Z,ANSWERED,10,\u{3000}Léa",
        "cll-1,2024-03-04T09:30:00Z,ANSWERED,10, Léa",
        "cll-1,2024-03-04T09:30:00Z,ANSWERED,10,\"\"",
        "cll-1,2024-03-04T09:30:00Z,ANSWERED,10,Léa\r",
    ];
    for row in rows {
        let text = format!("id,date,result,duration\n{row}\n");
        assert!(!same_both_ways(&text), "{row}");
    }
    for row in whitespace {
        let text = format!("id,date,result,duration,user_name\n{row}\n");
        assert!(!same_both_ways(&text), "{row:?}");
    }
    // Inner spaces and other non-ASCII text stay column-wise.
    let text = "id,date,user_name,allo_number_label\ncll-1,2024-03-04T09:30:00Z,Léa  Ø,営業 東京\n";
    assert!(same_both_ways(text));
    // Bad rows still get the row reader's message, with the line.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(
        &path,
        "id,date,result,duration\ncll-1,2024-03-04T09:30:00Z,ANSWERED,10\ncll-2,2024-03-04T09:30:00Z,ANSWERED,-4\n",
    )
    .unwrap();
    let message = match load(&[path], &defaults()) {
        Ok(_) => panic!("a negative duration loads"),
        Err(error) => error.to_string(),
    };
    assert!(message.contains("bad.csv:3"), "{message}");
    assert!(message.contains("-4"), "{message}");
}

/// A canonical CSV of `rows` varied calls, as `callfunnel generate` writes
/// them: every result, empty and quoted fields, unicode names, repeated ids.
fn varied_canonical_csv(rows: usize) -> String {
    let results: Vec<&str> = CallResult::SPELLINGS.iter().copied().chain([""]).collect();
    const NAMES: [&str; 4] = ["Zoë Müller", "Łukasz Nowak", "\"Sam, \"\"Jr\"\"\"", ""];
    let mut text = String::from("id,date,direction,type,user_id,user_name,user_email,allo_number,allo_number_label,contact_number,result,duration,ringing_seconds,tags\n");
    for row in 0..rows {
        let id = if row % 97 == 0 { row / 2 } else { row };
        let (day, second) = (1 + row % 28, (row * 7_919) % 86_400);
        let date = format!(
            "2024-03-{day:02}T{:02}:{:02}:{:02}Z",
            second / 3_600,
            second / 60 % 60,
            second % 60
        );
        let direction = if row % 11 == 0 { "INBOUND" } else { "OUTBOUND" };
        let result = results[row % results.len()];
        let ringing = match row % 5 {
            0 => String::new(),
            step => format!("{}.{}", row % 40, step * 25),
        };
        let tags = ["", "demo_booked", "qualified;demo_booked"][row % 3];
        text.push_str(&format!(
            "cll-{id},{date},{direction},CALL,usr-{},{},u{}@acme.test,+3310{},Sales FR,+3360{row},{result},{},{ringing},{tags}\n",
            row % 6,
            NAMES[row % NAMES.len()],
            row % 6,
            row % 3,
            (row * 37) % 900,
        ));
    }
    text
}

#[test]
fn generated_csv_is_read_column_wise_with_the_same_calls() {
    assert!(same_both_ways(&varied_canonical_csv(3_000)));
}

#[test]
fn sorted_ids_skip_the_distinct_count_but_still_catch_a_repeat() {
    let sorted = "id,date\ncll-1,2024-03-04T09:30:00Z\ncll-2,2024-03-04T09:31:00Z\ncll-3,2024-03-04T09:32:00Z\n";
    let (frame, report) = csv_ok(sorted, &defaults());
    assert_eq!((frame.height(), report.duplicates), (3, 0));
    let repeated = "id,date\ncll-1,2024-03-04T09:30:00Z\ncll-2,2024-03-04T09:31:00Z\ncll-2,2024-03-04T09:35:00Z\ncll-3,2024-03-04T09:32:00Z\n";
    let (frame, report) = csv_ok(repeated, &defaults());
    assert_eq!((frame.height(), report.duplicates), (3, 1));
    assert_eq!(
        strings(&frame, "id"),
        [
            Some("cll-1".into()),
            Some("cll-2".into()),
            Some("cll-3".into())
        ]
    );
}

// ---------------------------------------------------------------------------
// Every row located at its physical line, every field read in linear time.
// ---------------------------------------------------------------------------

/// Options that skip and count bad rows.
fn skipping() -> IngestOptions {
    IngestOptions {
        skip_invalid: true,
        // Every row may be skipped: these tests look at the rows skipped.
        max_invalid: SkipCeiling::Rows(u64::MAX),
        ..defaults()
    }
}

#[test]
fn csv_records_with_the_wrong_number_of_fields_are_bad_rows() {
    let header = "id,date,direction,type,user_id,user_name,user_email,allo_number,\
                  allo_number_label,contact_number,result,duration,ringing_seconds,tags\n";
    let good = "a,2024-03-04T09:30:00Z,OUTBOUND,CALL,u,Ann,a@x,+1,L,+2,ANSWERED,5,1,t\n";
    let short = "b,2024-03-04T09:31:00Z,OUTBOUND\n";
    let long = "c,2024-03-04T09:32:00Z,OUTBOUND,CALL,u,Lee, Ann,a@x,+1,L,+2,BUSY,0,1,t\n";
    assert_eq!(
        error(&format!("{header}{good}{short}"), Format::Csv, &defaults()),
        "calls.csv:3: malformed CSV: 3 fields where the header has 14"
    );
    assert_eq!(
        error(&format!("{header}{good}{long}"), Format::Csv, &defaults()),
        "calls.csv:3: malformed CSV: 15 fields where the header has 14"
    );
    let (frame, report) = csv_ok(&format!("{header}{short}{good}{long}"), &skipping());
    assert_eq!(texts(&frame, "id"), ["a"]);
    assert_eq!(report.rows_read, 3);
    assert_eq!(report.skipped.get("wrong number of fields"), Some(&2));

    // Files in canonical form, which the column-wise reader takes, too.
    let dir = tempfile::tempdir().unwrap();
    for (name, row, count) in [("short.csv", short, 3), ("long.csv", long, 15)] {
        let path = write(dir.path(), name, &format!("{header}{good}{row}"));
        let message = match load(std::slice::from_ref(&path), &defaults()) {
            Ok(_) => panic!("{name} loads"),
            Err(err) => err.to_string(),
        };
        assert_eq!(
            message,
            format!(
                "{}:3: malformed CSV: {count} fields where the header has 14",
                path.display()
            )
        );
    }
    let quoted =
        "d,2024-03-04T09:33:00Z,OUTBOUND,CALL,u,\"Lee, \"\"Ann\"\"\",a@x,+1,L,+2,BUSY,0,1,t\n";
    let path = write(
        dir.path(),
        "quoted.csv",
        &format!("{header}{good}\n{quoted}"),
    );
    let (frame, _) = collect(load(&[path], &defaults()).unwrap());
    assert_eq!(
        strings(&frame, "user_name"),
        [Some("Ann".into()), Some("Lee, \"Ann\"".into())]
    );
}

#[test]
fn csv_errors_name_the_physical_line() {
    // Blank lines, CRLF line ends and a line break inside a quoted field all
    // count: the bad row starts on line 8.
    let text = "id,date,duration\r\n\r\na,2024-03-04T09:30:00Z,1\r\n\n\n\
                b,2024-03-04T09:31:00Z,\"2\n\"\nc,2024-03-04T09:32:00Z,-3\n";
    let message = error(text, Format::Csv, &defaults());
    assert!(
        message.starts_with("calls.csv:8: column `duration`"),
        "{message}"
    );
    let text = "id,date,duration\n\n\na,2024-03-04T09:30:00Z,1\n\n\nb,yesterday,2\n";
    let message = error(text, Format::Csv, &defaults());
    assert!(
        message.starts_with("calls.csv:7: column `date`"),
        "{message}"
    );
}

#[test]
fn one_huge_csv_field_is_read_in_linear_time() {
    let name = "x".repeat(20 << 20);
    let text = format!("id,date,user_name\na,2024-03-04T09:30:00Z,\"{name}\"\n");
    let started = std::time::Instant::now();
    let (frame, _) = csv_ok(&text, &defaults());
    // Quadratic reading took minutes for a field this size.
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(
        strings(&frame, "user_name")[0].as_deref().map(str::len),
        Some(20 << 20)
    );
    // From a file in canonical form: the row reader takes it, not Polars'
    // column-wise reader (quadratic in the length of a record).
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "calls.csv", &text);
    let started = std::time::Instant::now();
    let (frame, _) = collect(load(&[path], &defaults()).unwrap());
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(
        strings(&frame, "user_name")[0].as_deref().map(str::len),
        Some(20 << 20)
    );
}

#[test]
fn ndjson_reads_one_record_per_line() {
    let line = |id: &str| format!("{{\"id\": \"{id}\", \"date\": \"2024-03-04T09:30:00Z\"}}\n");
    let truncated = format!(
        "{}{}{}{{\"id\": \"d\", \"date\": \"2024-03-0\n{}",
        line("a"),
        line("b"),
        line("c"),
        line("e")
    );
    let message = error(&truncated, Format::Json, &defaults());
    assert!(
        message.starts_with("calls.json:4: invalid JSON: EOF while parsing a string"),
        "{message}"
    );
    let (frame, report) = json_ok(&truncated, &skipping());
    assert_eq!(texts(&frame, "id"), ["a", "b", "c", "e"]);
    assert_eq!(report.skipped.get("invalid JSON"), Some(&1));

    // A record split over two lines is two bad lines.
    let split = format!(
        "{}{{\"id\": \"b\",\n\"date\": \"2024-03-04T09:31:00Z\"}}\n",
        line("a")
    );
    let message = error(&split, Format::Json, &defaults());
    assert!(
        message.starts_with("calls.json:2: invalid JSON"),
        "{message}"
    );
    let (frame, report) = json_ok(&split, &skipping());
    assert_eq!(texts(&frame, "id"), ["a"]);
    assert_eq!(report.skipped.get("invalid JSON"), Some(&2));
}

#[test]
fn ringing_times_beyond_the_bound_are_bad_rows() {
    let text =
        "id,date,ringing_seconds\na,2024-03-04T09:30:00Z,9e15\nb,2024-03-04T09:31:00Z,1e16\n";
    assert_eq!(
        error(text, Format::Csv, &defaults()),
        "calls.csv:3: column `ringing_seconds`: invalid value `1e16`: ringing_seconds too large (at most 9e15)"
    );
    let json = r#"[{"id": "a", "date": "2024-03-04T09:30:00Z", "ringing_seconds": 1e300}]"#;
    assert!(error(json, Format::Json, &defaults())
        .ends_with("ringing_seconds too large (at most 9e15)"));
}

#[test]
fn request_tags_are_normalised_as_data_tags() {
    let options = IngestOptions {
        request_tags: vec![" Demo_Booked ".into(), "".into(), "demo_booked".into()],
        ..defaults()
    };
    let page = r#"{"data": {"items": {"data": [
        {"id": "a", "date": "2024-03-04T09:30:00Z", "stage": "CONVERSION", "duration": 0}
    ]}}}"#;
    let (frame, _) = json_ok(page, &options);
    let tags = frame
        .column("tags")
        .unwrap()
        .list()
        .unwrap()
        .get_as_series(0)
        .unwrap();
    // Trimmed, lower case, the empty one dropped, the repeated one kept once.
    assert_eq!(tags.str().unwrap().get(0), Some("demo_booked"));
    assert_eq!(tags.len(), 1);
}

/// Writes `frame` as a store of the earlier, unsummed version (no checksum:
/// its values are checked as it is read), as a store damaged on disk would
/// decode.
fn write_unsummed_store(path: &Path, mut frame: DataFrame) {
    use crate::store::{STORE_MARKER_KEY, STORE_MARKER_VERSION_UNSUMMED};
    ParquetWriter::new(File::create(path).unwrap())
        .with_key_value_metadata(Some(KeyValueMetadata::from_static(vec![(
            STORE_MARKER_KEY.to_string(),
            STORE_MARKER_VERSION_UNSUMMED.to_string(),
        )])))
        .finish(&mut frame)
        .unwrap();
}

#[test]
fn a_store_with_a_date_beyond_year_9999_is_a_located_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calls.parquet");
    let good = Call::new("a", Utc.with_ymd_and_hms(2024, 3, 4, 9, 30, 0).unwrap());
    let damaged = Call::new("b", Utc.with_ymd_and_hms(245_685, 4, 9, 0, 0, 0).unwrap());
    let frame = calls_to_frame([good, damaged]).unwrap();
    // convert refuses to write it …
    let refused = crate::store::write_parquet(frame.clone().lazy(), &path).unwrap_err();
    assert!(
        refused
            .to_string()
            .ends_with("column `date`: bad timestamp"),
        "{refused}"
    );
    assert!(!path.exists());
    // … and a store without a checksum holding it names it.
    write_unsummed_store(&path, frame);
    let message = match load(std::slice::from_ref(&path), &defaults()) {
        Ok(_) => panic!("a damaged store loads"),
        Err(err) => err.to_string(),
    };
    assert!(
        message.starts_with(&format!(
            "{}: row 2: column `date`: invalid value `",
            path.display()
        )) && message.ends_with("bad timestamp (outside years 0000–9999: is the store damaged?)"),
        "{message}"
    );
}

#[test]
fn a_store_changed_after_convert_is_refused_by_its_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calls.parquet");
    let calls = (0..2_000).map(|index| {
        let date =
            Utc.with_ymd_and_hms(2024, 3, 4, 9, 30, 0).unwrap() + chrono::Duration::minutes(index);
        Call::new(format!("cll-{index}"), date)
    });
    crate::store::write_parquet(calls_to_frame(calls).unwrap().lazy(), &path).unwrap();
    assert_eq!(
        load(std::slice::from_ref(&path), &defaults())
            .unwrap()
            .report
            .calls,
        2_000
    );
    // One bit of a data page flipped: the values may still decode.
    let mut bytes = std::fs::read(&path).unwrap();
    let third = bytes.len() / 3;
    bytes[third] ^= 0x10;
    std::fs::write(&path, &bytes).unwrap();
    let error = load(std::slice::from_ref(&path), &defaults())
        .err()
        .unwrap();
    assert!(matches!(error, IngestError::DamagedStore { .. }), "{error}");
    assert!(
        error.to_string().starts_with(&format!(
            "{}: damaged store: its bytes are not those `convert` wrote (checksum ",
            path.display()
        )),
        "{error}"
    );
}

#[test]
fn devices_are_refused_and_double_star_walks_end() {
    let dir = tempfile::tempdir().unwrap();
    let device = PathBuf::from("/dev/null");
    let message = match load(std::slice::from_ref(&device), &defaults()) {
        Ok(_) => panic!("a device loads"),
        Err(err) => err.to_string(),
    };
    assert!(message.starts_with("/dev/null: not a regular file, a pipe or a folder"));
    let root = dir.path().join("d");
    std::fs::create_dir_all(root.join("e")).unwrap();
    write(&root, "a.csv", "id,date\n");
    write(&root.join("e"), "b.csv", "id,date\n");
    std::os::unix::fs::symlink(&root, root.join("e").join("up")).unwrap();
    let pattern = PathBuf::from(format!("{}/**/*.csv", root.display()));
    assert_eq!(
        expand_inputs(&[pattern]).unwrap(),
        [root.join("a.csv"), root.join("e").join("b.csv")]
    );
}

// ---------------------------------------------------------------------------
// Parquet typed or as text (SPEC §1.1, since definitions 2).
// ---------------------------------------------------------------------------

/// The header and rows (`None`: null) as a Parquet file of text columns, as
/// DuckDB or pandas write a CSV file out.
fn text_parquet(dir: &Path, header: &[&str], rows: &[Vec<Option<&str>>]) -> PathBuf {
    let columns = header
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let values: Vec<Option<&str>> = rows.iter().map(|row| row[index]).collect();
            Column::new((*name).into(), values)
        })
        .collect();
    write_parquet(
        dir,
        "text.parquet",
        DataFrame::new(rows.len(), columns).unwrap(),
    )
}

#[test]
fn canonical_text_parquet_with_distinct_or_repeated_ids() {
    let dir = tempfile::tempdir().unwrap();
    let header = ["id", "date", "result", "duration"];
    let row = |id, date| vec![Some(id), Some(date), Some("ANSWERED"), Some("30")];
    let distinct = [
        row("cll-2", "2024-03-04T09:30:00Z"),
        row("cll-1", "2024-03-05T09:30:00Z"),
    ];
    let path = text_parquet(dir.path(), &header, &distinct);
    let (frame, report) = collect(load(&[path], &defaults()).unwrap());
    assert_eq!(
        (report.rows_read, report.duplicates, report.calls),
        (2, 0, 2)
    );
    assert_eq!(texts(&frame, "id"), ["cll-2", "cll-1"]);

    // `cll-2` again, last: it wins, at its place.
    let mut repeated = distinct.to_vec();
    repeated.push(row("cll-2", "2024-03-06T09:30:00Z"));
    let path = text_parquet(dir.path(), &header, &repeated);
    let (frame, report) = collect(load(&[path], &defaults()).unwrap());
    assert_eq!(
        (report.rows_read, report.duplicates, report.calls),
        (3, 1, 2)
    );
    assert_eq!(texts(&frame, "id"), ["cll-1", "cll-2"]);
    assert_eq!(
        dates(&frame),
        ["2024-03-05T09:30:00Z", "2024-03-06T09:30:00Z"]
    );
}

#[test]
fn canonical_text_parquet_keeps_a_window_in_one_pass_when_its_ids_increase() {
    let request = Request::from_json_str(
        r#"{"date":{"from":"2024-03-04","to":"2024-03-17"},"granularity":"DAY",
            "extend":"items","stage":"CONNECTED","page":1,"size":5}"#,
    )
    .unwrap();
    let header = ["id", "date", "result", "duration"];
    let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let table: Vec<(String, String)> = (0..400)
        .map(|row| {
            let date = start + chrono::Duration::minutes(600 * row);
            (
                format!("cll-{row:04}"),
                date.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            )
        })
        .collect();
    let rows = |table: &[(String, String)]| -> Vec<Vec<Option<String>>> {
        table
            .iter()
            .enumerate()
            .map(|(index, (id, date))| {
                let result = if index % 3 == 0 {
                    "ANSWERED"
                } else {
                    "NO_ANSWER"
                };
                vec![
                    Some(id.clone()),
                    Some(date.clone()),
                    Some(result.into()),
                    Some("40".into()),
                ]
            })
            .collect()
    };
    fn borrowed(rows: &[Vec<Option<String>>]) -> Vec<Vec<Option<&str>>> {
        rows.iter()
            .map(|row| row.iter().map(Option::as_deref).collect())
            .collect()
    }
    let windowed = |table: &[(String, String)]| {
        let dir = tempfile::tempdir().unwrap();
        let owned = rows(table);
        let path = text_parquet(dir.path(), &header, &borrowed(&owned));
        rows_kept_for_window(&path, &request)
    };
    // Ids increasing: only the window's calls (and the latest) are kept.
    let kept = windowed(&table);
    assert!(kept < 100, "{kept} of 400 calls kept");
    // An id that goes back: every call is read, the repeat collapsed.
    let mut repeated = table.clone();
    repeated.push((table[0].0.clone(), "2024-03-05T10:00:00Z".into()));
    assert_eq!(windowed(&repeated), 400);
}

/// The same header and rows as CSV text, every value quoted (null: empty).
fn as_csv(header: &[&str], rows: &[Vec<Option<&str>>]) -> String {
    let mut text = header.join(",");
    text.push('\n');
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .map(|cell| match cell {
                Some(value) => format!("\"{}\"", value.replace('"', "\"\"")),
                None => String::new(),
            })
            .collect();
        text.push_str(&cells.join(","));
        text.push('\n');
    }
    text
}

#[test]
fn canonical_text_parquet_window_in_batches_keeps_what_one_batch_keeps() {
    use super::canonical_text::field_positions;
    use super::parquet::text::canonical_text_calls;
    use super::part::{FastRead, Windowed};
    /// Why the reader gave the file back.
    #[derive(Debug, PartialEq)]
    enum GaveUp {
        OffForm,
        IdsDoNotIncrease,
    }
    let header = ["id", "date", "result"];
    let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let table = |ids: &dyn Fn(i64) -> String, result_of_last: &str| -> Vec<Vec<String>> {
        (0..400)
            .map(|row| {
                let date = start + chrono::Duration::hours(6 * row);
                let result = if row == 399 {
                    result_of_last
                } else {
                    "ANSWERED"
                };
                vec![
                    ids(row),
                    date.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    result.into(),
                ]
            })
            .collect()
    };
    let dir = tempfile::tempdir().unwrap();
    let window = (
        Utc.with_ymd_and_hms(2024, 2, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2024, 2, 8, 0, 0, 0).unwrap(),
    );
    let read = |rows: Vec<Vec<String>>,
                window: Option<(DateTime<Utc>, DateTime<Utc>)>,
                batches: &[(i64, IdxSize)]| {
        let rows: Vec<Vec<Option<&str>>> = rows
            .iter()
            .map(|row| row.iter().map(|value| Some(value.as_str())).collect())
            .collect();
        let path = text_parquet(dir.path(), &header, &rows);
        let scan = LazyFrame::scan_parquet(
            PlRefPath::try_from_path(&path).unwrap(),
            ScanArgsParquet::default(),
        )
        .unwrap();
        let names: Vec<String> = header.iter().map(|name| name.to_string()).collect();
        let present = field_positions(&names, &ColumnNames::new(&[]).unwrap());
        match canonical_text_calls("calls.parquet", scan, &names, &present, window, batches) {
            Ok(Windowed::Read(FastRead::Calls(part))) => {
                Ok((part.frame.collect().unwrap(), part.ids == Ids::Unique))
            }
            Ok(Windowed::Read(FastRead::RuleByRule)) => Err(GaveUp::OffForm),
            Ok(Windowed::IdsWentBack | Windowed::IdsRepeat(_)) => Err(GaveUp::IdsDoNotIncrease),
            Err(error) => panic!("{error}"),
        }
    };
    let increasing = |row: i64| format!("cll-{row:04}");
    let in_four: Vec<(i64, IdxSize)> = (0..4).map(|batch| (batch * 100, 100)).collect();
    let (whole, distinct) =
        read(table(&increasing, "ANSWERED"), Some(window), &[(0, 400)]).unwrap();
    let (batched, _) = read(table(&increasing, "ANSWERED"), Some(window), &in_four).unwrap();
    assert!(distinct);
    // February's first week holds 28 calls; each batch adds its latest.
    assert_eq!(whole.height(), 28 + 1);
    assert!(batched.height() == 28 + 4, "{}", batched.height());
    let in_window = |frame: &DataFrame| {
        let window_only = frame
            .clone()
            .lazy()
            .filter(crate::exprs::dated_within(window));
        window_only.collect().unwrap()
    };
    assert_eq!(in_window(&whole), in_window(&batched));
    // Without a window every call is kept, in order.
    let (every, distinct) = read(table(&increasing, "ANSWERED"), None, &in_four).unwrap();
    assert!(distinct);
    assert_eq!(every.height(), 400);
    // An id that goes back in the third batch: a window cannot be kept (the
    // file is read again keeping every call, its ids then not distinct).
    let back_in_third = |row: i64| format!("cll-{:04}", if row == 250 { 1 } else { row });
    let windowed = read(table(&back_in_third, "ANSWERED"), Some(window), &in_four);
    assert_eq!(windowed.err(), Some(GaveUp::IdsDoNotIncrease));
    let (every, distinct) = read(table(&back_in_third, "ANSWERED"), None, &in_four).unwrap();
    assert!(!distinct);
    assert_eq!(every.height(), 400);
    // A value off canonical form in the last batch: read by the rules.
    let off_form = read(table(&increasing, "answered"), None, &in_four);
    assert_eq!(off_form.err(), Some(GaveUp::OffForm));
}

#[test]
fn parquet_text_columns_read_as_csv() {
    let header = [
        "id",
        "date",
        "direction",
        "type",
        "user_name",
        "result",
        "duration",
        "ringing_seconds",
        "tags",
    ];
    let rows = vec![
        vec![
            Some("cll-1"),
            Some("2024-03-04T10:30:00+01:00"),
            Some("outbound"),
            Some(""),
            Some(" Ada "),
            Some("transferred_ai"),
            Some("90"),
            Some("4.25"),
            Some("Demo_Booked; qualified"),
        ],
        vec![
            Some(" cll-2 "),
            Some("2024-03-04 09:31"),
            None,
            Some("Sms"),
            Some(""),
            Some(""),
            Some(""),
            None,
            Some(""),
        ],
        vec![
            Some("cll-3"),
            Some("2024-03-04T09:32:00.5Z"),
            Some("INBOUND"),
            Some("CALL"),
            None,
            Some("MISSED"),
            Some("12.0"),
            Some("-0.0"),
            Some(";;A;"),
        ],
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = text_parquet(dir.path(), &header, &rows);
    let (from_parquet, report) = collect(load(&[path], &paris()).unwrap());
    let (from_csv, _) = csv_ok(&as_csv(&header, &rows), &paris());
    assert!(
        from_parquet.equals_missing(&from_csv),
        "{from_parquet}\n{from_csv}"
    );
    assert_eq!(report.rows_read, 3);
    // And the values themselves.
    assert_eq!(texts(&from_parquet, "id"), ["cll-1", "cll-2", "cll-3"]);
    assert_eq!(
        dates(&from_parquet),
        [
            "2024-03-04T09:30:00Z",
            "2024-03-04T08:31:00Z",
            "2024-03-04T09:32:00.500Z"
        ]
    );
    assert_eq!(
        strings(&from_parquet, "result"),
        [Some("TRANSFERRED_AI".into()), None, Some("MISSED".into())]
    );
    assert_eq!(durations(&from_parquet), [90, 0, 12]);
    assert_eq!(ringing(&from_parquet), [Some(4.25), None, Some(0.0)]);
    assert_eq!(
        tags(&from_parquet),
        [
            vec!["demo_booked".to_string(), "qualified".to_string()],
            vec![],
            vec!["a".to_string()]
        ]
    );
}

#[test]
fn parquet_text_bad_rows_are_located_as_in_csv() {
    let header = [
        "id",
        "date",
        "direction",
        "type",
        "result",
        "duration",
        "ringing_seconds",
    ];
    let rows = [
        ",2024-03-04T09:30:00Z,,,,,",
        "cll-1,,,,,,",
        "cll-1,2024-13-01T00:00:00Z,,,,,",
        "cll-1,2024-03-04,,,,,",
        "cll-1,2024-03-04T09:30:00Z,,,,-5,",
        "cll-1,2024-03-04T09:30:00Z,,,,12s,",
        "cll-1,2024-03-04T09:30:00Z,,,,12.5,",
        "cll-1,2024-03-04T09:30:00Z,,,,,-1.5",
        "cll-1,2024-03-04T09:30:00Z,,,,,NaN",
        "cll-1,2024-03-04T09:30:00Z,,,HUNG_UP,,",
        "cll-1,2024-03-04T09:30:00Z,SIDEWAYS,,,,",
        "cll-1,2024-03-04T09:30:00Z,,FAX,,,",
        "cll-1,2024-03-31T02:30:00,,,,,",
    ];
    let dir = tempfile::tempdir().unwrap();
    for row in rows {
        let good: Vec<Option<&str>> = "cll-0,2024-03-04T09:30:00Z,,,,,"
            .split(',')
            .map(Some)
            .collect();
        let bad: Vec<Option<&str>> = row.split(',').map(Some).collect();
        let table = vec![good, bad];
        let path = text_parquet(dir.path(), &header, &table);
        let parquet_error = load(std::slice::from_ref(&path), &paris())
            .err()
            .unwrap()
            .to_string();
        let csv_error = error(&as_csv(&header, &table), Format::Csv, &paris());
        assert_eq!(
            parquet_error.replacen(&format!("{}: row 2", path.display()), "", 1),
            csv_error.replacen("calls.csv:3", "", 1),
            "{row}"
        );
        assert!(
            parquet_error.contains(": row 2: column `"),
            "{parquet_error}"
        );
    }
    // Skipped and counted by reason, as in CSV.
    let table: Vec<Vec<Option<&str>>> = rows
        .iter()
        .map(|row| row.split(',').map(Some).collect())
        .collect();
    let path = text_parquet(dir.path(), &header, &table);
    let options = IngestOptions {
        skip_invalid: true,
        // Every row may be skipped: these tests look at the rows skipped.
        max_invalid: SkipCeiling::Rows(u64::MAX),
        ..paris()
    };
    let (frame, report) = collect(load(&[path], &options).unwrap());
    let (_, csv_report) =
        collect(load_str(&as_csv(&header, &table), Format::Csv, "calls.csv", &options).unwrap());
    assert_eq!(frame.height(), 0);
    assert_eq!(report.skipped, csv_report.skipped);
    assert_eq!(report.skipped.values().sum::<u64>(), 13);
}

/// Microseconds of a UTC instant.
fn micros(text: &str) -> i64 {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .timestamp_micros()
}

/// A `date` column of `unit`, with `zone` or without, holding these instants
/// (written as the wall-clock time of `wall` when without a zone).
fn date_column(unit: TimeUnit, zone: Option<&PolarsZone>, instants: &[i64]) -> Column {
    let per_micro = match unit {
        TimeUnit::Nanoseconds => 1000,
        TimeUnit::Microseconds => 1,
        TimeUnit::Milliseconds => 0,
    };
    let values: Vec<i64> = instants
        .iter()
        .map(|micros| {
            if per_micro == 0 {
                micros / 1000
            } else {
                micros * per_micro
            }
        })
        .collect();
    Int64Chunked::from_vec("date".into(), values)
        .into_datetime(unit, zone.cloned())
        .into_column()
}

#[test]
fn parquet_typed_columns_of_any_unit_zone_and_number_type() {
    let dir = tempfile::tempdir().unwrap();
    let paris_zone = PolarsZone::from_chrono(&chrono_tz::Europe::Paris);
    let utc = [
        micros("2024-03-04T08:30:00Z"),
        micros("2024-03-04T08:31:00Z"),
    ];
    // The same instants as Paris wall-clock time written as if UTC.
    let wall = [
        micros("2024-03-04T09:30:00Z"),
        micros("2024-03-04T09:31:00Z"),
    ];
    let mut tag_lists = ListStringChunkedBuilder::new("tags".into(), 2, 2);
    tag_lists
        .append_series(&Series::new(
            "".into(),
            [Some(" DEMO_BOOKED "), None, Some("")],
        ))
        .unwrap();
    tag_lists.append_null();
    let numbers = vec![
        Column::new("id".into(), [1i64, 2]),
        Column::new("duration".into(), [Some(90i32), None]),
        Column::new("ringing_seconds".into(), [Some(4.25f32), None]),
        Column::new("allo_number".into(), [Some(33_100i64), None]),
        tag_lists.finish().into_column(),
    ];
    for unit in [
        TimeUnit::Nanoseconds,
        TimeUnit::Microseconds,
        TimeUnit::Milliseconds,
    ] {
        for zone in [None, Some(&paris_zone), Some(&PolarsZone::UTC)] {
            let instants = if zone.is_none() { wall } else { utc };
            let mut columns = numbers.clone();
            columns.insert(1, date_column(unit, zone, &instants));
            let path = write_parquet(
                dir.path(),
                "typed.parquet",
                DataFrame::new(2, columns).unwrap(),
            );
            let (frame, _) = collect(load(&[path], &paris()).unwrap());
            assert_eq!(
                dates(&frame),
                ["2024-03-04T08:30:00Z", "2024-03-04T08:31:00Z"],
                "{unit:?} {zone:?}"
            );
            assert_eq!(texts(&frame, "id"), ["1", "2"]);
            assert_eq!(durations(&frame), [90, 0]);
            assert_eq!(ringing(&frame), [Some(4.25), None]);
            assert_eq!(strings(&frame, "allo_number"), [Some("33100".into()), None]);
            // Tags normalised as in CSV: trimmed, lower case, empty and null ones dropped.
            assert_eq!(tags(&frame), [vec!["demo_booked".to_string()], vec![]]);
        }
    }
}

/// The error of loading `path` with the default options, after its path.
fn load_error_after_path(path: &Path) -> String {
    let message = load(&[path.to_path_buf()], &defaults())
        .err()
        .unwrap()
        .to_string();
    message.replacen(&path.display().to_string(), "", 1)
}

/// A Parquet file `name` of `n` calls `c-0`… dated 2024-03-04T09:30:00Z (as
/// text), with `more` columns.
fn numbered_calls_parquet(dir: &Path, name: &str, n: usize, more: Vec<Column>) -> PathBuf {
    let ids = (0..n).map(|i| format!("c-{i}")).collect::<Vec<_>>();
    let mut columns = vec![
        Column::new("id".into(), ids),
        Column::new("date".into(), vec!["2024-03-04T09:30:00Z"; n]),
    ];
    columns.extend(more);
    write_parquet(dir, name, DataFrame::new(n, columns).unwrap())
}

#[test]
fn parquet_whole_floats_are_durations_and_other_numbers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = |durations: Vec<Option<f64>>| {
        let n = durations.len();
        numbered_calls_parquet(
            dir.path(),
            "floats.parquet",
            n,
            vec![Column::new("duration".into(), durations)],
        )
    };
    let (frame, _) =
        collect(load(&[file(vec![Some(90.0), None, Some(-0.0)])], &defaults()).unwrap());
    assert_eq!(durations(&frame), [90, 0, 0]);
    let refused = |value: f64| {
        let path = file(vec![Some(1.0), Some(value)]);
        load_error_after_path(&path)
    };
    assert_eq!(
        refused(1.5),
        ": row 2: column `duration`: invalid value `1.5`: non-integer duration"
    );
    assert_eq!(
        refused(-3.0),
        ": row 2: column `duration`: invalid value `-3.0`: negative duration"
    );
    assert!(refused(f64::NAN).ends_with("non-numeric duration"));
    assert!(refused(f64::INFINITY).ends_with("non-numeric duration"));
    assert!(refused(1e19).ends_with("non-numeric duration"));
}

#[test]
fn parquet_naive_time_skipped_by_dst_is_a_located_bad_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let wall = [
        micros("2024-03-31T01:30:00Z"),
        micros("2024-03-31T02:30:00Z"),
        micros("2024-10-27T02:30:00Z"),
    ];
    let columns = vec![
        Column::new("id".into(), ["a", "b", "c"]),
        date_column(TimeUnit::Microseconds, None, &wall),
    ];
    let path = write_parquet(
        dir.path(),
        "dst.parquet",
        DataFrame::new(3, columns).unwrap(),
    );
    let message = load(std::slice::from_ref(&path), &paris())
        .err()
        .unwrap()
        .to_string();
    assert!(
        message.starts_with(&format!(
            "{}: row 2: column `date`: invalid value `2024-03-31 02:30:00",
            path.display()
        )),
        "{message}"
    );
    assert!(
        message.ends_with(
            "bad timestamp (this local time does not exist in Europe/Paris: clocks skip it for daylight saving time)"
        ),
        "{message}"
    );
    let options = IngestOptions {
        skip_invalid: true,
        // Every row may be skipped: these tests look at the rows skipped.
        max_invalid: SkipCeiling::Rows(u64::MAX),
        ..paris()
    };
    let (frame, report) = collect(load(&[path], &options).unwrap());
    // A repeated time (end of DST) reads as the earlier instant, as in CSV.
    assert_eq!(
        dates(&frame),
        ["2024-03-31T00:30:00Z", "2024-10-27T00:30:00Z"]
    );
    assert_eq!(report.skipped, [("bad timestamp".to_string(), 1)].into());
}

#[test]
fn parquet_tags_in_any_case_convert_like_csv_tags() {
    // A pyarrow file with tags ['DEMO_BOOKED'] and a request for demo_booked.
    let dir = tempfile::tempdir().unwrap();
    let mut tag_lists = ListStringChunkedBuilder::new("tags".into(), 2, 2);
    tag_lists.append_values_iter(["DEMO_BOOKED"].into_iter());
    tag_lists.append_values_iter(["Qualified"].into_iter());
    let columns = vec![
        Column::new("id".into(), ["a", "b"]),
        Column::new(
            "date".into(),
            ["2024-03-04T09:30:00Z", "2024-03-04T09:31:00Z"],
        ),
        Column::new("result".into(), ["ANSWERED", "NO_ANSWER"]),
        tag_lists.finish().into_column(),
    ];
    let path = write_parquet(
        dir.path(),
        "pyarrow.parquet",
        DataFrame::new(2, columns).unwrap(),
    );
    let calls = load(&[path], &defaults()).unwrap().frame;
    let request = Request::from_json_str(
        r#"{"date": {"from": "2024-03-04", "to": "2024-03-04"}, "tags": ["demo_booked"]}"#,
    )
    .unwrap();
    let response = crate::compute(calls.clone(), &request).unwrap();
    assert_eq!(response.data.funnel.conversions.count.value, 1);
    // Without request tags, both carry a tag: both convert.
    let request =
        Request::from_json_str(r#"{"date": {"from": "2024-03-04", "to": "2024-03-04"}}"#).unwrap();
    let response = crate::compute(calls, &request).unwrap();
    assert_eq!(response.data.funnel.conversions.count.value, 2);
}

#[test]
fn parquet_decimal_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let decimal = |name: &str, values: Vec<Option<f64>>| {
        Column::new(name.into(), values)
            .cast(&DataType::Decimal(10, 2))
            .unwrap()
    };
    let file = |durations: Vec<Option<f64>>| {
        let n = durations.len();
        numbered_calls_parquet(
            dir.path(),
            "decimal.parquet",
            n,
            vec![
                decimal("duration", durations),
                decimal(
                    "ringing_seconds",
                    (0..n).map(|i| Some(4.25 * i as f64)).collect(),
                ),
            ],
        )
    };
    let (frame, _) = collect(load(&[file(vec![Some(90.0), None])], &defaults()).unwrap());
    assert_eq!(durations(&frame), [90, 0]);
    assert_eq!(ringing(&frame), [Some(0.0), Some(4.25)]);
    let path = file(vec![Some(90.0), Some(12.5)]);
    let message = load(std::slice::from_ref(&path), &defaults())
        .err()
        .unwrap()
        .to_string();
    assert!(
        message.starts_with(&format!(
            "{}: row 2: column `duration`: invalid value `12.5",
            path.display()
        )),
        "{message}"
    );
    assert!(message.ends_with("non-integer duration"), "{message}");
}

#[test]
fn parquet_typed_numbers_follow_the_csv_rules_of_their_field() {
    // The typed columns of a Parquet file are read by the same rules as a CSV
    // cell: a ringing time beyond 9e15 s is refused (at read, not by the
    // engine), a -0.0 reads as 0.0, a whole unsigned duration beyond i64 is
    // non-numeric.
    let dir = tempfile::tempdir().unwrap();
    let file = |ringing: Vec<Option<f64>>, durations: Vec<Option<u64>>| {
        let n = ringing.len();
        numbered_calls_parquet(
            dir.path(),
            "typed-numbers.parquet",
            n,
            vec![
                Column::new("ringing_seconds".into(), ringing),
                Column::new("duration".into(), durations),
            ],
        )
    };
    let (frame, _) = collect(
        load(
            &[file(
                vec![Some(-0.0), None, Some(9e15)],
                vec![Some(7), None, Some(0)],
            )],
            &defaults(),
        )
        .unwrap(),
    );
    assert_eq!(ringing(&frame), [Some(0.0), None, Some(9e15)]);
    assert!(ringing(&frame)[0].unwrap().is_sign_positive());
    assert_eq!(durations(&frame), [7, 0, 0]);
    let refusal = |ringing: f64, duration: u64| {
        let path = file(
            vec![Some(1.0), Some(ringing)],
            vec![Some(1), Some(duration)],
        );
        load_error_after_path(&path)
    };
    assert_eq!(
        refusal(1e16, 5),
        ": row 2: column `ringing_seconds`: invalid value `1e+16`: ringing_seconds too large (at most 9e15)"
    );
    assert!(refusal(f64::NAN, 5).ends_with("non-numeric ringing_seconds"));
    assert!(refusal(-1.0, 5).ends_with("negative ringing_seconds"));
    assert_eq!(
        refusal(2.0, u64::MAX),
        ": row 2: column `duration`: invalid value `18446744073709551615`: non-numeric duration"
    );
    let options = IngestOptions {
        skip_invalid: true,
        // Every row may be skipped: these tests look at the rows skipped.
        max_invalid: SkipCeiling::Rows(u64::MAX),
        ..defaults()
    };
    let path = file(vec![Some(1e16), Some(3.5)], vec![Some(1), Some(2)]);
    let (frame, report) = collect(load(&[path], &options).unwrap());
    assert_eq!(ringing(&frame), [Some(3.5)]);
    assert_eq!(report.skipped.values().sum::<u64>(), 1);
}

#[test]
fn a_store_read_for_a_window_checks_the_calls_of_that_window() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calls.parquet");
    let march = Call::new("cll-1", Utc.with_ymd_and_hms(2024, 3, 4, 9, 30, 0).unwrap());
    let june = Call::new("cll-2", Utc.with_ymd_and_hms(2024, 6, 3, 9, 30, 0).unwrap());
    let mut frame = calls_to_frame([march, june]).unwrap();
    // A store damaged on disk: March's duration reads back negative.
    frame
        .with_column(Column::new("duration".into(), [-5i64, 30]))
        .unwrap();
    write_unsummed_store(&path, frame);
    let window = |from: (i32, u32, u32), to: (i32, u32, u32)| IngestOptions {
        keep_window: Some((
            Utc.with_ymd_and_hms(from.0, from.1, from.2, 0, 0, 0)
                .unwrap(),
            Utc.with_ymd_and_hms(to.0, to.1, to.2, 0, 0, 0).unwrap(),
        )),
        ..IngestOptions::default()
    };
    // June's calls are intact: a query of June reads them.
    let june_only = load(
        std::slice::from_ref(&path),
        &window((2024, 6, 1), (2024, 7, 1)),
    );
    assert_eq!(june_only.unwrap().report.calls, 2);
    // A query of March, or a load of every call, meets the damaged row, named.
    for options in [window((2024, 3, 1), (2024, 4, 1)), IngestOptions::default()] {
        let error = load(std::slice::from_ref(&path), &options).err().unwrap();
        let message = error.to_string();
        assert!(
            message.contains("line 1") || message.contains("row 1"),
            "{message}"
        );
        assert!(
            message.contains("duration") && message.contains("-5"),
            "{message}"
        );
    }
}

#[test]
fn a_store_read_for_a_window_keeps_its_calls_and_the_latest_with_the_same_answer() {
    use crate::engine::{compute, window};
    let request = Request::from_json_str(
        r#"{"date":{"from":"2024-03-04","to":"2024-03-17"},"granularity":"DAY",
            "extend":"items","stage":"CONNECTED","page":1,"size":5}"#,
    )
    .unwrap();
    let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    // 400 calls every 10 hours, given out of order; the two latest share a date.
    let mut calls: Vec<Call> = (0..400)
        .map(|row| {
            let mut call = Call::new(
                format!("cll-{row:04}"),
                start + chrono::Duration::minutes(600 * row),
            );
            call.result = Some(CallResult::Answered);
            call.duration = 40 + row;
            call
        })
        .collect();
    calls[398].date = calls[399].date;
    calls.reverse();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.parquet");
    crate::store::write_parquet(calls_to_frame(calls).unwrap().lazy(), &path).unwrap();
    let every = load(std::slice::from_ref(&path), &defaults()).unwrap();
    let options = IngestOptions {
        keep_window: Some(window(&request)),
        ..defaults()
    };
    let kept = load(std::slice::from_ref(&path), &options).unwrap();
    let (kept_frame, kept_report) = collect(kept);
    assert_eq!(kept_report, every.report);
    // The calls of the window (by date), then the two latest (ties keep
    // the order they came in: reversed).
    let (from, to) = window(&request);
    let in_window: Vec<String> = (0..398)
        .filter(|row| {
            let date = start + chrono::Duration::minutes(600 * row);
            date >= from && date < to
        })
        .map(|row| format!("cll-{row:04}"))
        .collect();
    let mut ids = texts(&kept_frame, "id");
    let latest = ids.split_off(ids.len() - 2);
    assert_eq!(latest, ["cll-0399", "cll-0398"]);
    assert_eq!(ids, in_window);
    assert!(ids.len() < 100, "{} of 400 calls kept", ids.len());
    assert_eq!(
        compute(kept_frame.lazy(), &request).unwrap(),
        compute(every.frame, &request).unwrap()
    );
}

#[test]
fn a_window_over_a_csv_whose_ids_are_in_any_order_gives_the_answer_of_every_call() {
    let request = Request::from_json_str(
        r#"{"date":{"from":"2024-03-01","to":"2024-03-31"},"granularity":"DAY",
            "extend":"items","stage":"DIAL","size":100}"#,
    )
    .unwrap();
    // 300 calls over 2024, their ids in no order.
    let line = |id: &str, day: u32, result: &str| {
        let date =
            Utc.with_ymd_and_hms(2024, 1, 1, 10, 0, 0).unwrap() + chrono::Days::new(day.into());
        format!("{id},{},{result},10\n", date.format("%Y-%m-%dT%H:%M:%SZ"))
    };
    let mut calls = String::new();
    for row in 0..300u32 {
        calls.push_str(&line(
            &format!("cll-{:04}", row * 7919 % 1000),
            row * 360 / 300,
            "ANSWERED",
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let windowed = |name: &str, extra: &str| {
        let text = format!("id,date,result,duration\n{calls}{extra}");
        rows_kept_for_window(&write(dir.path(), name, &text), &request)
    };
    // No id repeats: only the window's calls (and each chunk's latest) are parsed.
    let kept = windowed("distinct.csv", "");
    assert!(kept < 70, "{kept} of 300 calls kept");
    // The first call (1 January) gets a copy in March, a call of March (6
    // March, row 54) a copy in April, the latest call of all (row 299) a copy
    // in January: a call more, a call less, `last_updated` moves.
    let (first, march, last) = ("cll-0000", "cll-0626", "cll-0781");
    let copies = [
        line(first, 65, "VOICEMAIL"),
        line(march, 100, "NO_ANSWER"),
        line(last, 5, "BUSY"),
    ]
    .concat();
    let kept = windowed("repeated.csv", &copies);
    assert!(kept < 75, "{kept} of 303 calls kept");
    // An id quoted somewhere: not every id is hashed, every call is parsed.
    let quoted = format!("\"{first}\",2024-02-01T10:00:00Z,ANSWERED,10\n");
    assert_eq!(windowed("quoted.csv", &quoted), 300);
}

/// Loads the file at `path` with and without `request`'s window, asserts
/// both give the same report and the same answer, and gives the rows the
/// window kept.
fn rows_kept_for_window(path: &Path, request: &Request) -> usize {
    use crate::engine::{compute, window};
    let paths = [path.to_path_buf()];
    let every = load(&paths, &defaults()).unwrap();
    let expected = compute(every.frame.clone(), request).unwrap();
    let options = IngestOptions {
        keep_window: Some(window(request)),
        ..defaults()
    };
    let kept = load(&paths, &options).unwrap();
    assert_eq!(kept.report, every.report, "{}", path.display());
    let answer = compute(kept.frame.clone(), request).unwrap();
    assert_eq!(answer, expected, "{}", path.display());
    kept.frame.collect().unwrap().height()
}

#[test]
fn parquet_typed_text_columns_are_trimmed_only_where_they_need_it() {
    let dir = tempfile::tempdir().unwrap();
    let instants = [
        micros("2024-03-04T08:30:00Z"),
        micros("2024-03-04T08:31:00Z"),
        micros("2024-03-04T08:32:00Z"),
    ];
    let columns = vec![
        Column::new("id".into(), ["c-1", "c-2", "c-3"]),
        date_column(TimeUnit::Microseconds, Some(&PolarsZone::UTC), &instants),
        Column::new("user_id".into(), [Some(" usr-1 "), Some(""), None]),
        Column::new("user_name".into(), [Some("Léa"), Some("Zoë Li"), None]),
    ];
    let path = write_parquet(
        dir.path(),
        "typed.parquet",
        DataFrame::new(3, columns).unwrap(),
    );
    let (frame, _) = collect(load(&[path], &defaults()).unwrap());
    assert_eq!(
        strings(&frame, "user_id"),
        [Some("usr-1".into()), None, None]
    );
    assert_eq!(
        strings(&frame, "user_name"),
        [Some("Léa".into()), Some("Zoë Li".into()), None]
    );
}

#[test]
fn parquet_typed_enum_columns_in_api_case_or_not_read_by_the_csv_rules() {
    let dir = tempfile::tempdir().unwrap();
    let instants = [
        micros("2024-03-04T08:30:00Z"),
        micros("2024-03-04T08:31:00Z"),
        micros("2024-03-04T08:32:00Z"),
    ];
    let file = |results: [Option<&str>; 3]| {
        let columns = vec![
            Column::new("id".into(), ["c-1", "c-2", "c-3"]),
            date_column(TimeUnit::Microseconds, Some(&PolarsZone::UTC), &instants),
            Column::new("result".into(), results),
            Column::new(
                "direction".into(),
                [Some("OUTBOUND"), None, Some("INBOUND")],
            ),
        ];
        let frame = DataFrame::new(3, columns).unwrap();
        write_parquet(dir.path(), "typed.parquet", frame)
    };
    for results in [
        [Some("ANSWERED"), Some("VOICEMAIL"), None],
        [Some("answered"), Some(" Voicemail "), None],
    ] {
        let (frame, _) = collect(load(&[file(results)], &defaults()).unwrap());
        assert_eq!(
            strings(&frame, "result"),
            [Some("ANSWERED".into()), Some("VOICEMAIL".into()), None]
        );
        assert_eq!(
            strings(&frame, "direction"),
            [
                Some("OUTBOUND".into()),
                Some("OUTBOUND".into()),
                Some("INBOUND".into())
            ]
        );
    }
    let path = file([Some("ANSWERED"), Some("PICKED_UP"), None]);
    let message = load_error_after_path(&path);
    assert!(message.contains("PICKED_UP"), "{message}");
}
