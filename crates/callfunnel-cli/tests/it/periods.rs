//! Periods as people say them (`--month`, `--week`, `--quarter`) and enum
//! flags in any case (SPEC §6).

use serde_json::{json, Value};

use crate::harness::{assert_status, json_of, run, sample_path, stderr_of, stdout_of};

/// `metrics --compact` on the sample with `flags`.
fn metrics(flags: &[&str]) -> std::process::Output {
    let calls = sample_path("calls.csv");
    let mut args = vec![
        "metrics",
        "--input",
        calls.to_str().expect("UTF-8"),
        "--compact",
    ];
    args.extend_from_slice(flags);
    run(&args, None)
}

/// The `date` of the response to `flags`.
fn period_of(flags: &[&str]) -> Value {
    json_of(&metrics(flags))["data"]["date"].clone()
}

#[test]
fn a_month_a_week_and_a_quarter_set_the_period() {
    assert_eq!(
        period_of(&["--month", "2024-02"]),
        json!({"from": "2024-02-01", "to": "2024-02-29"})
    );
    assert_eq!(
        period_of(&["--week", "2024-W10"]),
        json!({"from": "2024-03-04", "to": "2024-03-10"})
    );
    assert_eq!(
        period_of(&["--quarter", "2024-q1"]),
        json!({"from": "2024-01-01", "to": "2024-03-31"})
    );
    // ISO weeks across the turn of a year: 2020 has 53 of them (so has
    // 2026; 2027 has 52, see below).
    assert_eq!(
        period_of(&["--week", "2020-W53"]),
        json!({"from": "2020-12-28", "to": "2021-01-03"})
    );
    assert_eq!(
        period_of(&["--week", "2026-W01"]),
        json!({"from": "2025-12-29", "to": "2026-01-04"})
    );
}

#[test]
fn a_month_gives_the_same_bytes_as_its_days() {
    let month = metrics(&["--month", "2024-03", "--tags", "demo_booked"]);
    let days = metrics(&[
        "--from",
        "2024-03-01",
        "--to",
        "2024-03-31",
        "--tags",
        "demo_booked",
    ]);
    assert_status(&month, 0);
    assert_eq!(stdout_of(&month), stdout_of(&days));
}

#[test]
fn a_period_that_does_not_exist_is_a_usage_error() {
    for (flags, message) in [
        (
            &["--week", "2027-W53"][..],
            "`2027-W53` is not a week: 2027 has ISO weeks 01 to 52",
        ),
        (&["--month", "2026-13"], "`2026-13` is not a month"),
        (&["--quarter", "2026-Q5"], "`2026-Q5` is not a quarter"),
    ] {
        let output = metrics(flags);
        assert_status(&output, 2);
        assert!(output.stdout.is_empty(), "{flags:?}");
        assert!(
            stderr_of(&output).contains(message),
            "{flags:?}: {}",
            stderr_of(&output)
        );
    }
}

#[test]
fn a_period_conflicts_with_other_periods_and_with_a_request_file() {
    let request = sample_path("request.json");
    for flags in [
        &["--month", "2024-03", "--from", "2024-03-01"][..],
        &["--month", "2024-03", "--to", "2024-03-31"],
        &["--month", "2024-03", "--week", "2024-W10"],
        &["--week", "2024-W10", "--quarter", "2024-Q1"],
        &[
            "--quarter",
            "2024-Q1",
            "--request",
            request.to_str().expect("UTF-8"),
        ],
    ] {
        let output = metrics(flags);
        assert_status(&output, 2);
        assert!(
            stderr_of(&output).contains("cannot be used with"),
            "{flags:?}: {}",
            stderr_of(&output)
        );
    }
}

#[test]
fn enum_flags_are_read_in_any_case() {
    let typed = |granularity: &str, extend: &str, stage: &str, format: &str| {
        let output = metrics(&[
            "--week",
            "2024-W10",
            "--granularity",
            granularity,
            "--extend",
            extend,
            "--stage",
            stage,
            "--format",
            format,
        ]);
        assert_status(&output, 0);
        stdout_of(&output)
    };
    let canonical = typed("WEEK", "items", "CONNECTED", "json");
    assert_eq!(typed("week", "ITEMS", "connected", "JSON"), canonical);
    assert_eq!(typed("Week", "Items", "Connected", "Json"), canonical);
    let response: Value = serde_json::from_str(&canonical).expect("JSON");
    assert_eq!(
        response["data"]["time_series"]["dials"][0]["date"],
        "2024-03-04"
    );
    assert_eq!(
        response["data"]["items"]["pagination"]["total_count"],
        response["data"]["funnel"]["connected"]["count"]["value"]
    );
}
