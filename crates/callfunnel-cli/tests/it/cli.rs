//! The `callfunnel` command line (SPEC §2.1, §6) on the sample data.
//!
//! Expected responses come from `sample_data/expected.py` (see `sample.rs`).

use std::path::PathBuf;
use std::process::Output;

use chrono::DateTime;
use predicates::prelude::*;
use serde_json::{json, Value};

use crate::harness::{
    assert_json_close, assert_status, callfunnel, command, json_of, path_arg, repo_root, run,
    sample_json, sample_path, stderr_of, stdout_of, temporary_folder, write_file,
};

/// Runs `metrics` and returns stdout parsed, asserting success.
fn metrics_json(args: &[&str], stdin: Option<&str>) -> (Value, Output) {
    let mut full = vec!["metrics"];
    full.extend_from_slice(args);
    let output = run(&full, stdin);
    (json_of(&output), output)
}

fn calls() -> PathBuf {
    sample_path("calls.csv")
}

fn read_sample(name: &str) -> String {
    std::fs::read_to_string(sample_path(name)).expect("reading a sample file")
}

// ---------------------------------------------------------------------------
// metrics on the sample
// ---------------------------------------------------------------------------

#[test]
fn metrics_on_the_sample_equals_the_expected_responses() {
    let calls = calls();
    for (request, expected) in [
        ("request.json", "expected_response.json"),
        ("request_weekly.json", "expected_response_weekly.json"),
        ("request_drilldown.json", "expected_response_drilldown.json"),
        ("request_no_tags.json", "expected_response_no_tags.json"),
    ] {
        let request_path = sample_path(request);
        let (actual, output) = metrics_json(
            &[
                "--input",
                path_arg(&calls),
                "--request",
                path_arg(&request_path),
            ],
            None,
        );
        assert_json_close(&actual, &sample_json(expected), request);
        let stderr = stderr_of(&output);
        assert!(
            stderr.contains("collapsed 3 duplicate ids"),
            "stderr: {stderr}"
        );
        // Pretty by default.
        assert!(stdout_of(&output).lines().count() > 100);
    }
}

#[test]
fn request_from_standard_input() {
    let calls = calls();
    let (actual, _) = metrics_json(
        &["--input", path_arg(&calls), "--request", "-"],
        Some(&read_sample("request_drilldown.json")),
    );
    assert_json_close(
        &actual,
        &sample_json("expected_response_drilldown.json"),
        "--request -",
    );
}

/// Runs `metrics` on the sample with the request file `request`, and with
/// the request built from `flags`; both stdouts must be the same bytes.
fn assert_flags_equal_file(request: &str, flags: &[&str]) {
    let calls = calls();
    let request_path = sample_path(request);
    let from_file = run(
        &[
            "metrics",
            "--input",
            path_arg(&calls),
            "--request",
            path_arg(&request_path),
        ],
        None,
    );
    assert_status(&from_file, 0);
    let mut args = vec!["metrics", "--input", path_arg(&calls)];
    args.extend_from_slice(flags);
    let from_flags = run(&args, None);
    assert_status(&from_flags, 0);
    assert_eq!(
        stdout_of(&from_flags),
        stdout_of(&from_file),
        "flags {flags:?} vs {request}"
    );
}

#[test]
fn request_built_from_flags_equals_the_file() {
    let day = [
        "--from",
        "2024-03-04",
        "--to",
        "2024-03-17",
        "--tags",
        "demo_booked",
        "--granularity",
        "DAY",
        "--timezone",
        "Europe/Paris",
    ];
    assert_flags_equal_file("request.json", &day);
    let mut drilldown = day.to_vec();
    drilldown.extend_from_slice(&[
        "--extend",
        "items",
        "--stage",
        "CONVERSATION",
        "--page",
        "1",
        "--size",
        "10",
    ]);
    assert_flags_equal_file("request_drilldown.json", &drilldown);
    assert_flags_equal_file(
        "request_weekly.json",
        &[
            "--from",
            "2024-03-06",
            "--to",
            "2024-03-24",
            "--compare-from",
            "2024-02-19",
            "--compare-to",
            "2024-03-05",
            "--user-ids",
            "usr-7b1x3d,usr-2c5v7n",
            "--tags",
            "qualified,Follow_Up",
            "--granularity",
            "WEEK",
        ],
    );
}

#[test]
fn allo_number_and_threshold_flags() {
    let calls = calls();
    let base = [
        "--input",
        path_arg(&calls),
        "--from",
        "2024-03-04",
        "--to",
        "2024-03-17",
        "--tags",
        "demo_booked",
        "--timezone",
        "Europe/Paris",
    ];
    let mut support = base.to_vec();
    support.extend_from_slice(&["--allo-numbers", "+33187659900"]);
    let (v, _) = metrics_json(&support, None);
    assert_json_close(
        &v["data"]["funnel"]["dials"]["count"],
        &json!({"value": 179, "previous": 150, "change": 0.19}),
        "--allo-numbers dials",
    );
    assert_eq!(v["data"]["funnel"]["connected"]["count"]["value"], 78);
    assert_eq!(v["data"]["funnel"]["conversations"]["count"]["value"], 44);
    assert_eq!(v["data"]["funnel"]["conversions"]["count"]["value"], 14);
    assert_eq!(v["data"]["leaderboard"][0]["user"]["id"], "usr-6h3j8p");
    assert_eq!(v["data"]["leaderboard"].as_array().map(Vec::len), Some(6));

    // 13 connected calls of exactly 60 s: strictly greater than 60 keeps them out.
    let mut lower = base.to_vec();
    lower.extend_from_slice(&["--conversation-threshold-seconds", "59"]);
    let (v, _) = metrics_json(&lower, None);
    assert_json_close(
        &v["data"]["funnel"]["conversations"]["count"],
        &json!({"value": 206, "previous": 214, "change": -0.04}),
        "threshold 59",
    );
    assert_eq!(v["data"]["funnel"]["conversations"]["rate"], 0.222);
    let mut zero = base.to_vec();
    zero.extend_from_slice(&["--conversation-threshold-seconds", "0"]);
    let (v, _) = metrics_json(&zero, None);
    assert_eq!(v["data"]["funnel"]["conversations"]["count"]["value"], 350);
}

#[test]
fn compact_is_one_line() {
    let calls = calls();
    let request = sample_path("request.json");
    let (actual, output) = metrics_json(
        &[
            "--input",
            path_arg(&calls),
            "--request",
            path_arg(&request),
            "--compact",
        ],
        None,
    );
    let stdout = stdout_of(&output);
    assert_eq!(stdout.lines().count(), 1, "one line");
    assert!(stdout.ends_with('\n'));
    assert_json_close(&actual, &sample_json("expected_response.json"), "--compact");
}

#[test]
fn same_input_same_bytes() {
    let calls = calls();
    let request = sample_path("request_drilldown.json");
    let args = [
        "metrics",
        "--input",
        path_arg(&calls),
        "--request",
        path_arg(&request),
    ];
    let first = run(&args, None);
    let second = run(&args, None);
    assert_status(&first, 0);
    assert_status(&second, 0);
    assert_eq!(first.stdout, second.stdout);
}

#[test]
fn exact_gives_unrounded_numbers() {
    let calls = calls();
    let request = sample_path("request.json");
    let (actual, _) = metrics_json(
        &[
            "--input",
            path_arg(&calls),
            "--request",
            path_arg(&request),
            "--exact",
        ],
        None,
    );
    assert_json_close(
        &actual,
        &sample_json("expected_response_exact.json"),
        "--exact",
    );
    let rate = actual["data"]["funnel"]["connected"]["rate"]
        .as_f64()
        .expect("a rate");
    assert!((rate - 350.0 / 930.0).abs() < 1e-12, "rate {rate}");
    assert_ne!(rate, 0.376);
}

#[test]
fn several_inputs_are_concatenated() {
    let text = read_sample("calls.csv");
    let mut lines = text.lines();
    let header = lines.next().expect("a header");
    let rows: Vec<&str> = lines.collect();
    let (first, second) = rows.split_at(1500);
    let dir = temporary_folder();
    let a = write_file(
        dir.path(),
        "a.csv",
        &format!("{header}\n{}\n", first.join("\n")),
    );
    // The corrected duplicates are the last rows: in the file read last.
    let (middle, last) = second.split_at(1000);
    let b = write_file(
        dir.path(),
        "b.csv",
        &format!("{header}\n{}\n", middle.join("\n")),
    );
    let c = write_file(
        dir.path(),
        "c.csv",
        &format!("{header}\n{}\n", last.join("\n")),
    );
    let request = sample_path("request_drilldown.json");
    let expected = sample_json("expected_response_drilldown.json");
    // Repeated --input, and one --input with several files.
    let (actual, output) = metrics_json(
        &[
            "--input",
            path_arg(&a),
            "--input",
            path_arg(&b),
            path_arg(&c),
            "--request",
            path_arg(&request),
        ],
        None,
    );
    assert_json_close(&actual, &expected, "three inputs");
    assert!(stderr_of(&output).contains("collapsed 3 duplicate ids"));
    // A folder reads every supported file in it (sorted: a, b, c).
    let (actual, _) = metrics_json(
        &[
            "--input",
            path_arg(dir.path()),
            "--request",
            path_arg(&request),
        ],
        None,
    );
    assert_json_close(&actual, &expected, "a folder");
}

#[test]
fn a_call_replaced_by_a_later_file_leaves_the_period() {
    // Two files in canonical form, their ids increasing: `cll-1`, in the
    // period in `first.csv`, is read last from `later.csv`, dated before it.
    let header = "id,date,result,duration";
    let dir = temporary_folder();
    let first = write_file(
        dir.path(),
        "first.csv",
        &format!("{header}\ncll-1,2024-10-08T12:00:00Z,ANSWERED,100\ncll-2,2024-10-09T12:00:00Z,ANSWERED,100\n"),
    );
    let later = write_file(
        dir.path(),
        "later.ndjson",
        concat!(
            r#"{"id":"cll-1","date":"2023-01-01T12:00:00Z","result":"ANSWERED","duration":100}"#,
            "\n",
            r#"{"id":"cll-3","date":"2024-01-01T12:00:00Z","result":"ANSWERED","duration":100}"#,
            "\n"
        ),
    );
    let later_csv = write_file(dir.path(), "later.csv", &format!("{header}\ncll-1,2023-01-01T12:00:00Z,ANSWERED,100\ncll-3,2024-01-01T12:00:00Z,ANSWERED,100\n"));
    for later in [&later, &later_csv] {
        let (actual, output) = metrics_json(
            &[
                "--input",
                path_arg(&first),
                path_arg(later),
                "--from",
                "2024-10-07",
                "--to",
                "2024-11-03",
            ],
            None,
        );
        assert_eq!(actual["data"]["funnel"]["dials"]["count"]["value"], 1);
        assert!(stderr_of(&output).contains("collapsed 1 duplicate id"));
    }
}

#[test]
fn map_reads_renamed_columns() {
    let renames = [
        ("id", "Call ID"),
        ("date", "Started At"),
        ("user_id", "Agent"),
        ("result", "Outcome"),
        ("duration", "Talk Time (s)"),
        ("ringing_seconds", "ring_time"),
        ("tags", "Labels"),
    ];
    let text = read_sample("calls.csv");
    let (header, body) = text.split_once('\n').expect("a header");
    let renamed: Vec<&str> = header
        .split(',')
        .map(|column| {
            renames
                .iter()
                .find(|(field, _)| *field == column)
                .map_or(column, |(_, name)| *name)
        })
        .collect();
    let dir = temporary_folder();
    let file = write_file(
        dir.path(),
        "export.csv",
        &format!("{}\n{body}", renamed.join(",")),
    );
    let request = sample_path("request.json");
    let mut args = vec![
        "--input".to_string(),
        path_arg(&file).to_string(),
        "--request".to_string(),
        path_arg(&request).to_string(),
    ];
    for (field, column) in renames {
        args.push("--map".to_string());
        args.push(format!("{field}={column}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (actual, _) = metrics_json(&args, None);
    assert_json_close(&actual, &sample_json("expected_response.json"), "--map");

    // Without the mappings the `id` column is missing: unreadable input.
    let output = run(&["metrics", args[0], args[1], args[2], args[3]], None);
    assert_status(&output, 3);
    assert!(output.stdout.is_empty());
}

#[test]
fn input_tz_reads_timestamps_without_offset() {
    // The sample with every date rewritten as Paris wall-clock time, no offset.
    let text = read_sample("calls.csv");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let dir = temporary_folder();
    let file = dir.path().join("naive.csv");
    let mut writer = csv::Writer::from_path(&file).expect("creating");
    let headers = reader.headers().expect("a header").clone();
    writer.write_record(&headers).expect("writing");
    let date_index = headers
        .iter()
        .position(|name| name == "date")
        .expect("a date column");
    for record in reader.records() {
        let record = record.expect("a record");
        let instant = DateTime::parse_from_rfc3339(&record[date_index]).expect("a timestamp");
        let local = instant
            .with_timezone(&chrono_tz::Europe::Paris)
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string();
        let fields: Vec<&str> = record
            .iter()
            .enumerate()
            .map(|(i, field)| {
                if i == date_index {
                    local.as_str()
                } else {
                    field
                }
            })
            .collect();
        writer.write_record(&fields).expect("writing");
    }
    writer.flush().expect("writing");
    drop(writer);
    let request = sample_path("request.json");
    let (actual, _) = metrics_json(
        &[
            "--input",
            path_arg(&file),
            "--input-tz",
            "Europe/Paris",
            "--request",
            path_arg(&request),
        ],
        None,
    );
    assert_json_close(
        &actual,
        &sample_json("expected_response.json"),
        "--input-tz Europe/Paris",
    );
}

// ---------------------------------------------------------------------------
// Invalid requests (SPEC §2.1): envelope on stdout, one line on stderr, exit 2
// ---------------------------------------------------------------------------

/// Asserts an invalid-request outcome: exit 2, stdout exactly one line
/// holding the envelope with `code` and `param`, one human line on stderr.
fn assert_rejected(output: &Output, code: &str, param: Option<&str>, case: &str) {
    assert_status(output, 2);
    let stdout = stdout_of(output);
    assert_eq!(
        stdout.trim_end_matches('\n').lines().count(),
        1,
        "{case}: one line: {stdout}"
    );
    let envelope: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|err| panic!("{case}: stdout is not JSON ({err}): {stdout}"));
    let error = &envelope["error"];
    assert_eq!(
        envelope.as_object().map(|o| o.len()),
        Some(1),
        "{case}: {envelope}"
    );
    assert_eq!(
        error.as_object().map(|o| {
            let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
            keys.sort_unstable();
            keys
        }),
        Some(vec!["code", "message", "param", "retryable", "type"]),
        "{case}: {envelope}"
    );
    assert_eq!(error["type"], "validation_error", "{case}");
    assert_eq!(error["code"], code, "{case}: {envelope}");
    assert_eq!(error["param"], json!(param), "{case}: {envelope}");
    assert_eq!(error["retryable"], false, "{case}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{case}: {envelope}"
    );
    let stderr = stderr_of(output);
    assert_eq!(
        stderr.trim_end_matches('\n').lines().count(),
        1,
        "{case}: one human line on stderr: {stderr}"
    );
}

#[test]
fn invalid_request_bodies_give_the_api_error() {
    let period = r#""date":{"from":"2024-03-04","to":"2024-03-17"}"#;
    let cases: Vec<(String, &str, Option<&str>)> = vec![
        (
            r#"{"tags":["demo_booked"]}"#.into(),
            "MISSING_PARAMETER",
            Some("date"),
        ),
        (
            r#"{"date":{"from":"2024-03-32","to":"2024-04-01"}}"#.into(),
            "INVALID_DATE_RANGE",
            Some("date"),
        ),
        (
            r#"{"date":{"from":"4 March 2024","to":"2024-03-17"}}"#.into(),
            "INVALID_DATE_RANGE",
            Some("date"),
        ),
        (
            r#"{"date":{"from":"2024-03-17","to":"2024-03-04"}}"#.into(),
            "INVALID_DATE_RANGE",
            Some("date"),
        ),
        (
            format!(r#"{{{period},"compare_date":{{"from":"2024-03-03","to":"2024-02-19"}}}}"#),
            "INVALID_DATE_RANGE",
            Some("compare_date"),
        ),
        (
            format!(r#"{{{period},"granularity":"HOUR"}}"#),
            "INVALID_GRANULARITY",
            Some("granularity"),
        ),
        (
            format!(r#"{{{period},"extend":"foo","stage":"DIAL"}}"#),
            "UNSUPPORTED_EXTEND_VALUE",
            Some("extend"),
        ),
        (
            format!(r#"{{{period},"extend":"items"}}"#),
            "MISSING_PARAMETER",
            Some("stage"),
        ),
        (
            format!(r#"{{{period},"extend":"items","stage":"CONVERSION"}}"#),
            "TAGS_REQUIRED",
            Some("tags"),
        ),
        (
            format!(r#"{{{period},"extend":"items","stage":"CONVERSION","tags":[]}}"#),
            "TAGS_REQUIRED",
            Some("tags"),
        ),
        (
            format!(r#"{{{period},"extend":"items","stage":"DIAL","size":0}}"#),
            "INVALID_PAGE_SIZE",
            Some("size"),
        ),
        (
            format!(r#"{{{period},"extend":"items","stage":"DIAL","size":101}}"#),
            "INVALID_PAGE_SIZE",
            Some("size"),
        ),
        (
            format!(r#"{{{period},"extend":"items","stage":"DIAL","page":0}}"#),
            "INVALID_REQUEST_BODY",
            Some("page"),
        ),
        (
            // Definitions 2: the code the real API answers (v1: INVALID_REQUEST_BODY).
            format!(r#"{{{period},"user_ids":["usr-4k2m9q"],"allo_numbers":["+14155550142"]}}"#),
            "FILTER_CONFLICT",
            Some("allo_numbers"),
        ),
        (
            format!(r#"{{{period},"timezone":"Mars/Olympus_Mons"}}"#),
            "INVALID_REQUEST_BODY",
            Some("timezone"),
        ),
        (
            format!(r#"{{{period},"tags":"demo_booked"}}"#),
            "INVALID_REQUEST_BODY",
            Some("tags"),
        ),
        (
            format!(r#"{{{period},"extend":"items","stage":"WON"}}"#),
            "INVALID_REQUEST_BODY",
            Some("stage"),
        ),
        // Not JSON: there is no field to name.
        (
            r#"{"date": {"from": "2024-03-04""#.into(),
            "INVALID_REQUEST_BODY",
            None,
        ),
    ];
    let calls = calls();
    for (body, code, param) in cases {
        let output = run(
            &["metrics", "--input", path_arg(&calls), "--request", "-"],
            Some(&body),
        );
        assert_rejected(&output, code, param, &body);
    }
}

#[test]
fn invalid_request_files_and_flags_give_the_api_error() {
    let calls = calls();
    let dir = temporary_folder();
    let file = write_file(dir.path(), "request.json", "not json at all");
    let output = run(
        &[
            "metrics",
            "--input",
            path_arg(&calls),
            "--request",
            path_arg(&file),
        ],
        None,
    );
    assert_rejected(&output, "INVALID_REQUEST_BODY", None, "request file");

    let period = ["--from", "2024-03-04", "--to", "2024-03-17"];
    let cases: Vec<(Vec<&str>, &str, Option<&str>)> = vec![
        (
            vec!["--tags", "demo_booked"],
            "MISSING_PARAMETER",
            Some("date"),
        ),
        (
            [&period[..], &["--granularity", "YEAR"]].concat(),
            "INVALID_GRANULARITY",
            Some("granularity"),
        ),
        (
            [&period[..], &["--extend", "foo", "--stage", "DIAL"]].concat(),
            "UNSUPPORTED_EXTEND_VALUE",
            Some("extend"),
        ),
        (
            [&period[..], &["--extend", "items"]].concat(),
            "MISSING_PARAMETER",
            Some("stage"),
        ),
        (
            [
                &period[..],
                &["--extend", "items", "--stage", "DIAL", "--size", "101"],
            ]
            .concat(),
            "INVALID_PAGE_SIZE",
            Some("size"),
        ),
        (
            [
                &period[..],
                &["--extend", "items", "--stage", "DIAL", "--page", "0"],
            ]
            .concat(),
            "INVALID_REQUEST_BODY",
            Some("page"),
        ),
        (
            [&period[..], &["--timezone", "Europe/Pariss"]].concat(),
            "INVALID_REQUEST_BODY",
            Some("timezone"),
        ),
        (
            vec!["--from", "2024-03-17", "--to", "2024-03-04"],
            "INVALID_DATE_RANGE",
            Some("date"),
        ),
    ];
    for (flags, code, param) in cases {
        let mut args = vec!["metrics", "--input", path_arg(&calls)];
        args.extend_from_slice(&flags);
        let output = run(&args, None);
        assert_rejected(&output, code, param, &flags.join(" "));
    }
}

#[test]
fn usage_errors_exit_2() {
    let calls = calls();
    let request = sample_path("request.json");
    callfunnel()
        .args([
            "metrics",
            "--input",
            path_arg(&calls),
            "--request",
            path_arg(&request),
            "--frobnicate",
        ])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty());
    callfunnel()
        .args(["metrics", "--request", path_arg(&request)])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("--input"));
    callfunnel().arg("frobnicate").assert().code(2);
}

// ---------------------------------------------------------------------------
// Unreadable input (SPEC §1.2): exit 3
// ---------------------------------------------------------------------------

#[test]
fn a_bad_row_stops_the_run_naming_file_line_column_and_value() {
    let bad = sample_path("bad_rows.csv");
    let request = sample_path("request.json");
    callfunnel()
        .args([
            "metrics",
            "--input",
            path_arg(&bad),
            "--request",
            path_arg(&request),
        ])
        .assert()
        .code(3)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(format!(
            "{}:3: column `date`: invalid value `2024-03-32T09:15:00Z`: bad timestamp",
            bad.display()
        )));
}

#[test]
fn each_kind_of_bad_row_is_named() {
    let text = read_sample("bad_rows.csv");
    let lines: Vec<&str> = text.lines().collect();
    let dir = temporary_folder();
    let request = sample_path("request.json");
    // (line of bad_rows.csv, column, value, reason)
    let cases = [
        (5, "duration", "-12", "negative duration"),
        (6, "result", "PICKED_UP", "unknown result"),
    ];
    for (line, column, value, reason) in cases {
        // The header, one good row, then the bad row: line 3 of the new file.
        let file = write_file(
            dir.path(),
            &format!("bad_{column}.csv"),
            &format!("{}\n{}\n{}\n", lines[0], lines[1], lines[line - 1]),
        );
        callfunnel()
            .args([
                "metrics",
                "--input",
                path_arg(&file),
                "--request",
                path_arg(&request),
            ])
            .assert()
            .code(3)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(format!(
                "{}:3: column `{column}`: invalid value `{value}`: {reason}",
                file.display()
            )));
    }
}

#[test]
fn skip_invalid_skips_and_counts_bad_rows() {
    let bad = sample_path("bad_rows.csv");
    let (v, output) = metrics_json(
        &[
            "--input",
            path_arg(&bad),
            "--skip-invalid",
            "--from",
            "2024-03-05",
            "--to",
            "2024-03-05",
            "--tags",
            "demo_booked",
        ],
        None,
    );
    let stderr = stderr_of(&output);
    for text in [
        "skipped 3 invalid rows",
        "bad timestamp",
        "negative duration",
        "unknown result",
    ] {
        assert!(stderr.contains(text), "`{text}` in stderr: {stderr}");
    }
    // Rows 2, 4 and 7 remain (ANSWERED 75 s, VOICEMAIL, TRANSFERRED 64 s).
    let funnel = &v["data"]["funnel"];
    assert_json_close(
        &funnel["dials"],
        &json!({"count": {"value": 3, "previous": 0, "change": null}, "rate": 1.0}),
        "dials",
    );
    assert_eq!(funnel["connected"]["count"]["value"], 2);
    assert_eq!(funnel["conversations"]["count"]["value"], 2);
    assert_eq!(funnel["conversions"]["count"]["value"], 1);
    assert_eq!(funnel["connected"]["rate"], 0.667);
    assert_eq!(funnel["conversions"]["rate"], 0.333);
    let spent = &v["data"]["time_spent"];
    assert_eq!(
        spent["avg_ringing_time_seconds"],
        json!({"value": 11.4, "previous": null, "change": null})
    );
    assert_eq!(
        spent["avg_conversation_time_seconds"],
        json!({"value": 69.5, "previous": null, "change": null})
    );
    assert_eq!(
        spent["total_conversation_time_seconds"],
        json!({"value": 139, "previous": 0, "change": null})
    );
    assert_eq!(v["data"]["last_updated"], "2024-03-05T10:02:00Z");
    assert_eq!(
        v["data"]["leaderboard"],
        json!([
            {"user": {"id": "usr-4k2m9q", "name": "Alice Martin", "email": "alice.martin@example.com"}, "connected": 1},
            {"user": {"id": "usr-9f8e2a", "name": "Łukasz Nowak", "email": "lukasz.nowak@example.com"}, "connected": 1},
            {"user": {"id": "usr-7b1x3d", "name": "Zoë Müller", "email": "zoe.mueller@example.com"}, "connected": 0},
        ])
    );
}

#[test]
fn a_missing_input_file_exits_3() {
    let dir = temporary_folder();
    let missing = dir.path().join("no_such_calls.csv");
    let request = sample_path("request.json");
    callfunnel()
        .args([
            "metrics",
            "--input",
            path_arg(&missing),
            "--request",
            path_arg(&request),
        ])
        .assert()
        .code(3)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("no_such_calls.csv"));
}

#[test]
fn definitions_2_result_values_and_v1_pages_load() {
    // Each of these rows stopped a run under definitions 1 ("unknown result").
    let folder = temporary_folder();
    let csv = write_file(
        folder.path(),
        "v1_results.csv",
        "id,date,result,duration,tags\n\
         a,2024-03-04T09:00:00Z,TRANSFERRED_AI,75,\n\
         b,2024-03-04T09:10:00Z,transferred_external,30,won\n\
         c,2024-03-04T09:20:00Z,MISSED,0,\n\
         d,2024-03-04T09:30:00Z,FAILED_EXTERNAL,0,\n\
         e,2024-03-04T09:40:00Z,BLOCKED,0,\n\
         f,2024-03-04T09:50:00Z,CLOSED,0,\n\
         g,2024-03-04T10:00:00Z,RECEIVED,0,lost\n",
    );
    // A saved v1 call page: naive start_date (UTC by default), minutes, one tag.
    let page = write_file(
        folder.path(),
        "v1_page.json",
        r#"{"data": {"results": [{"id": "h", "start_date": "2024-03-04T10:10:00", "type": "OUTBOUND",
            "from_number": "+33100", "to_number": "+33600", "length_in_minutes": 1.25,
            "result": "ANSWERED", "tag": "Won"}], "metadata": {"total_pages": 1}}}"#,
    );
    let request = r#"{"date": {"from": "2024-03-04", "to": "2024-03-04"}}"#;
    let (v, output) = metrics_json(
        &[
            "--input",
            path_arg(&csv),
            "--input",
            path_arg(&page),
            "--request",
            "-",
        ],
        Some(request),
    );
    assert!(stderr_of(&output).contains("read 8 rows from 2 files"));
    let funnel = &v["data"]["funnel"];
    assert_eq!(funnel["dials"]["count"]["value"], json!(8));
    // a, b (TRANSFERRED_*) and h (ANSWERED) are connected.
    assert_eq!(funnel["connected"]["count"]["value"], json!(3));
    // a (75 s) and h (75 s) are conversations.
    assert_eq!(funnel["conversations"]["count"]["value"], json!(2));
    // No request tags: b, g and h carry a tag.
    assert_eq!(funnel["conversions"]["count"]["value"], json!(3));
    assert_eq!(
        v["data"]["time_spent"]["total_conversation_time_seconds"]["value"],
        json!(75 + 30 + 75)
    );
}

// ---------------------------------------------------------------------------
// definitions
// ---------------------------------------------------------------------------

#[test]
fn definitions_prints_the_rules_with_their_version() {
    callfunnel()
        .arg("definitions")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "callfunnel definitions, version 2.1\n",
        ))
        .stdout(predicate::str::contains("changed in version 2.1:"))
        .stdout(predicate::str::contains("changed in version 2:"))
        .stdout(predicate::str::contains("a call carrying any tag converts"))
        .stdout(
            predicate::str::contains("CONVERSATION").or(predicate::str::contains("conversation")),
        );
}

// ---------------------------------------------------------------------------
// verify (the audit of a saved API answer).
// ---------------------------------------------------------------------------

fn verify_args<'a>(input: &'a str, response: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "verify",
        "--input",
        input,
        "--request",
        "sample_data/api/request.json",
        "--response",
        response,
    ];
    args.extend_from_slice(extra);
    args
}

/// Runs `callfunnel ARGS…` from the repository's root, stdin closed.
fn run_in_crate(args: &[&str]) -> Output {
    command(args)
        .current_dir(repo_root())
        .output()
        .expect("running callfunnel")
}

#[test]
fn verify_agrees_with_the_saved_answer_from_the_export_and_from_the_pages() {
    let output = run_in_crate(&verify_args(
        "sample_data/calls.csv",
        "sample_data/api/response.json",
        &[],
    ));
    assert_status(&output, 0);
    assert_eq!(stdout_of(&output), "all 595 figures agree\n");

    // From the saved drilldown pages of both periods, ringing time cannot be checked.
    let output = run_in_crate(&verify_args(
        "sample_data/api/pages/*.json",
        "sample_data/api/response.json",
        &[],
    ));
    assert_status(&output, 0);
    let stdout = stdout_of(&output);
    assert!(stdout.contains("not checkable"), "{stdout}");
    assert!(stdout.ends_with("all 592 figures agree\n"), "{stdout}");
    assert!(stderr_of(&output).contains("read 1788 rows from 19 files"));
}

#[test]
fn verify_lists_differences_and_their_likely_reason() {
    let output = run_in_crate(&verify_args(
        "sample_data/calls.csv",
        "sample_data/api/response_disputed.json",
        &[],
    ));
    assert_status(&output, 1);
    let stdout = stdout_of(&output);
    assert!(
        stdout.contains("data.funnel.connected.count.value                            495         350  voicemail_connected"),
        "{stdout}"
    );
    assert!(stdout.contains("most likely reason: voicemail_connected"));
    assert!(stdout.ends_with("143 of 595 figures differ\n"), "{stdout}");

    let output = run_in_crate(&verify_args(
        "sample_data/calls.csv",
        "sample_data/api/response_disputed.json",
        &["--format", "json"],
    ));
    assert_status(&output, 1);
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    let first = &report["differences"][0];
    assert_eq!(first["path"], json!("data.funnel.connected.count.value"));
    assert_eq!(first["api"], json!(495));
    assert_eq!(first["recomputed"], json!(350));
}

#[test]
fn verify_catches_a_tampered_answer() {
    let mut answer: Value =
        serde_json::from_str(&read_sample("api/response.json")).expect("the saved answer");
    answer["data"]["heatmap"]["dials"][9]["value"] = json!(
        answer["data"]["heatmap"]["dials"][9]["value"]
            .as_u64()
            .unwrap()
            + 1
    );
    let dir = temporary_folder();
    let tampered = write_file(dir.path(), "tampered.json", &answer.to_string());
    let output = run_in_crate(&verify_args(
        "sample_data/calls.csv",
        path_arg(&tampered),
        &[],
    ));
    assert_status(&output, 1);
    let stdout = stdout_of(&output);
    assert!(
        stdout.contains("data.heatmap.dials[day=MONDAY,hour=9].value"),
        "{stdout}"
    );
    assert!(stdout.ends_with("1 of 595 figures differ\n"), "{stdout}");
}

#[test]
fn verify_rejects_an_unreadable_answer_and_a_bad_request() {
    let output = run_in_crate(&verify_args(
        "sample_data/calls.csv",
        "sample_data/calls.csv",
        &[],
    ));
    assert_status(&output, 3);
    assert!(stdout_of(&output).is_empty());
    assert!(stderr_of(&output).contains("not JSON"));

    let mut command = callfunnel();
    command.current_dir(repo_root()).args([
        "verify",
        "--input",
        "sample_data/calls.csv",
        "--request",
        "-",
        "--response",
        "sample_data/api/response.json",
    ]);
    command.write_stdin(r#"{"date": {"from": "2024-03-17", "to": "2024-03-04"}}"#);
    let output = command.output().unwrap();
    assert_rejected(&output, "INVALID_DATE_RANGE", Some("date"), "verify");
}
