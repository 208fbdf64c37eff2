//! The analysis extensions (SPEC §8) on the command line: the flags build
//! the same body as a request file, `data` stays the API's byte for byte,
//! invalid fields give the API's envelope, the table shows the breakdown
//! with intervals, `serve` answers them, and `verify` ignores them.

use std::process::Output;

use serde_json::{json, Value};

use crate::harness::{assert_status, command, repo_root, sample_path, stdout_of};

/// Runs `callfunnel ARGS…` in the repository's root (for `sample_data/`).
fn run(args: &[&str]) -> Output {
    command(args)
        .current_dir(repo_root())
        .output()
        .expect("running callfunnel")
}

/// `metrics` on the sample with `args`, its stdout (exit 0 asserted).
fn metrics(args: &[&str]) -> String {
    let mut all = vec!["metrics", "--input", "sample_data/calls.csv"];
    all.extend_from_slice(args);
    let output = run(&all);
    assert_status(&output, 0);
    stdout_of(&output)
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON")
}

/// The sample's two weeks, as flags.
const PERIOD: [&str; 4] = ["--from", "2024-03-04", "--to", "2024-03-17"];

/// A request file holding `body`, removed with the returned guard.
fn request_file(body: &Value) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(file.path(), body.to_string()).expect("writing the request");
    file
}

#[test]
fn flags_build_the_body_and_add_to_a_request_file() {
    let mut flags = PERIOD.to_vec();
    flags.extend([
        "--by",
        "user",
        "--group-sort",
        "connect_rate",
        "--group-page",
        "2",
        "--group-size",
        "3",
        "--connect-rules",
        "--reach",
        "--intervals",
        "--compare",
        "same_weekdays_last_year",
    ]);
    let from_flags = metrics(&flags);
    let body = json!({
        "date": {"from": "2024-03-04", "to": "2024-03-17"},
        "group_by": "USER", "group_sort": "connect_rate", "group_page": 2, "group_size": 3,
        "connect_rules": true, "reach": true, "intervals": true,
        "compare": "same_weekdays_last_year",
    });
    let file = request_file(&body);
    let path = file.path().to_str().expect("a UTF-8 path");
    assert_eq!(from_flags, metrics(&["--request", path]));
    // The same flags on top of a file without them.
    let plain = request_file(&json!({"date": {"from": "2024-03-04", "to": "2024-03-17"}}));
    let mut on_file = vec!["--request", plain.path().to_str().unwrap()];
    on_file.extend(&flags[4..]);
    assert_eq!(from_flags, metrics(&on_file));

    let response = parse(&from_flags);
    let breakdown = &response["analysis"]["breakdown"];
    assert_eq!(breakdown["group_by"], "USER");
    assert_eq!(
        breakdown["pagination"],
        json!({"page": 2, "size": 3, "total_count": 7, "total_pages": 3, "has_more": true})
    );
    assert_eq!(
        response["data"]["compare_date"],
        json!({"from": "2023-03-06", "to": "2023-03-19"})
    );
}

#[test]
fn data_stays_the_apis_byte_for_byte() {
    let plain = metrics(&["--request", "sample_data/request.json"]);
    assert!(!parse(&plain).as_object().unwrap().contains_key("analysis"));
    let extended = metrics(&[
        "--request",
        "sample_data/request.json",
        "--by",
        "tag",
        "--connect-rules",
        "--reach",
        "--intervals",
    ]);
    // `data` first, then `analysis`: the text up to it is the plain answer's.
    let (data, analysis) = extended
        .split_once(",\n  \"analysis\": {")
        .expect("an analysis");
    assert_eq!(format!("{data}\n}}\n"), plain);
    let at = |key: &str| analysis.find(&format!("\n    \"{key}\": ")).expect(key);
    assert!(at("breakdown") < at("connect_rules") && at("connect_rules") < at("reach"));
    assert!(at("reach") < at("intervals"));
    let plain = parse(&plain);
    // compare: none nulls the comparison of data, and only that.
    let none = parse(&metrics(&[
        "--request",
        "sample_data/request.json",
        "--compare",
        "none",
    ]));
    assert!(none["data"]["compare_date"].is_null());
    assert_eq!(
        none["data"]["funnel"]["dials"]["count"],
        json!({"value": 930, "previous": null, "change": null})
    );
    assert_eq!(none["data"]["leaderboard"], plain["data"]["leaderboard"]);
    assert!(none.get("analysis").is_none());
}

#[test]
fn invalid_fields_give_the_api_envelope() {
    let cases: [(&[&str], &str, &str); 5] = [
        (&["--by", "team"], "INVALID_GROUP_BY", "group_by"),
        (
            &["--group-sort", "name"],
            "INVALID_REQUEST_BODY",
            "group_sort",
        ),
        (&["--group-size", "1001"], "INVALID_PAGE_SIZE", "group_size"),
        (
            &["--compare", "previous_month"],
            "INVALID_COMPARE",
            "compare",
        ),
        (
            &[
                "--compare",
                "none",
                "--compare-from",
                "2024-02-01",
                "--compare-to",
                "2024-02-14",
            ],
            "INVALID_REQUEST_BODY",
            "compare",
        ),
    ];
    for (extra, code, param) in cases {
        let mut args = vec!["metrics", "--input", "sample_data/calls.csv"];
        args.extend(PERIOD);
        args.extend(extra);
        let output = run(&args);
        assert_eq!(output.status.code(), Some(2), "{extra:?}");
        let envelope = parse(&String::from_utf8_lossy(&output.stdout));
        assert_eq!(envelope["error"]["code"], code, "{extra:?}");
        assert_eq!(envelope["error"]["param"], param, "{extra:?}");
    }
}

/// The breakdown of the sample's reps by connect rate, as `--format table`
/// prints it with intervals (the README shows it).
pub(crate) const BREAKDOWN_TABLE: &str = "Breakdown by user: rows 1–7 of 7 (page 1 of 1), n = dials
╭────────────┬───────────────┬─────┬───────────┬─────────────────────┬───────────────┬─────────────┬───────────────────┬────────────┬─────────────────────┬────────────────╮
│ USER       ┆ Label         ┆   n ┆ Connected ┆        Connect rate ┆ Conversations ┆ Conversions ┆   Conversion rate ┆ Voicemails ┆     Excl. voicemail ┆ Δ connect rate │
╞════════════╪═══════════════╪═════╪═══════════╪═════════════════════╪═══════════════╪═════════════╪═══════════════════╪════════════╪═════════════════════╪════════════════╡
│ usr-6h3j8p ┆ Priya Shah    ┆ 132 ┆        59 ┆   44.7% (36.5–53.2) ┆            34 ┆           8 ┆   6.1% (3.1–11.5) ┆         20 ┆   52.7% (43.5–61.7) ┆        +1.3 pp │
│ usr-7b1x3d ┆ Zoë Müller    ┆ 176 ┆        75 ┆   42.6% (35.5–50.0) ┆            44 ┆          16 ┆   9.1% (5.7–14.3) ┆         26 ┆   50.0% (42.1–57.9) ┆        -2.7 pp │
│ usr-4k2m9q ┆ Alice Martin  ┆ 177 ┆        66 ┆   37.3% (30.5–44.6) ┆            41 ┆          15 ┆   8.5% (5.2–13.5) ┆         23 ┆   42.9% (35.3–50.8) ┆        -4.3 pp │
│ usr-2c5v7n ┆ Samuel Carter ┆ 178 ┆        64 ┆   36.0% (29.3–43.2) ┆            33 ┆          10 ┆   5.6% (3.1–10.0) ┆         30 ┆   43.2% (35.5–51.3) ┆        -6.8 pp │
│ usr-1a9z4w ┆ Mathéo Girard ┆ 103 ┆        37 ┆   35.9% (27.3–45.5) ┆            14 ┆           2 ┆    1.9% (0.5–6.8) ┆         16 ┆   42.5% (32.7–53.0) ┆        +9.2 pp │
│ usr-9f8e2a ┆ Łukasz Nowak  ┆ 150 ┆        45 ┆   30.0% (23.2–37.8) ┆            24 ┆           6 ┆    4.0% (1.8–8.5) ┆         29 ┆   37.2% (29.1–46.1) ┆       -10.4 pp │
│ (none)     ┆               ┆  14 ┆         4 ┆ 28.6% (11.7–54.6) * ┆             3 ┆           1 ┆ 7.1% (1.3–31.5) * ┆          1 ┆ 30.8% (12.7–57.6) * ┆       -11.4 pp │
╰────────────┴───────────────┴─────┴───────────┴─────────────────────┴───────────────┴─────────────┴───────────────────┴────────────┴─────────────────────┴────────────────╯";

#[test]
fn the_table_shows_the_breakdown_with_n_and_intervals() {
    let text = metrics(&[
        "--request",
        "sample_data/request.json",
        "--by",
        "user",
        "--group-sort",
        "connect_rate",
        "--intervals",
        "--format",
        "table",
    ]);
    assert!(text.contains(BREAKDOWN_TABLE), "{text}");
    // The funnel's rates carry their intervals too; a small sample is explained.
    assert!(
        text.contains("│ Connected     ┆     350 ┆      350 ┆     0% ┆   37.6% (34.6–40.8) ┆         40.8% ┆     -3.2 pp │"),
        "{text}"
    );
    assert!(
        text.ends_with("* fewer than 30 calls behind the rate: too few to read as a signal\n"),
        "{text}"
    );
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("the README");
    assert!(
        readme.contains(BREAKDOWN_TABLE),
        "README.md's breakdown table differs from the command's"
    );
}

#[test]
fn the_table_shows_connect_rules_and_reach() {
    let text = metrics(&[
        "--request",
        "sample_data/request.json",
        "--connect-rules",
        "--reach",
        "--compare",
        "none",
        "--format",
        "table",
    ]);
    assert!(
        text.starts_with("Outbound calls 2024-03-04 to 2024-03-17, no comparison\n"),
        "{text}"
    );
    assert!(
        text.contains("│ Connect rate, voicemail left out of the dials ┆   44.6% │"),
        "{text}"
    );
    assert!(
        text.contains("│ Contacts dialled               ┆     930 │"),
        "{text}"
    );
    assert!(text.contains("Most-dialled contacts, top 10\n"), "{text}");
}

#[test]
fn verify_ignores_the_analysis() {
    // A request with §8 fields and an answer carrying an `analysis` object
    // (as `serve` answers): the figures of `data` are compared, nothing else.
    let mut request: Value =
        parse(&std::fs::read_to_string(sample_path("api/request.json")).unwrap());
    for (name, value) in [
        ("group_by", json!("user")),
        ("reach", json!(true)),
        ("intervals", json!(true)),
    ] {
        request[name] = value;
    }
    let mut answer: Value =
        parse(&std::fs::read_to_string(sample_path("api/response.json")).unwrap());
    answer["analysis"] = json!({"breakdown": {"rows": [{"key": "nobody", "dials": -1}]}});
    let (request, answer) = (request_file(&request), request_file(&answer));
    let output = run(&[
        "verify",
        "--input",
        "sample_data/calls.csv",
        "--request",
        request.path().to_str().unwrap(),
        "--response",
        answer.path().to_str().unwrap(),
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "all 595 figures agree\n"
    );
}

#[test]
fn serve_answers_the_analysis_as_metrics_does() {
    let server = crate::serve::Server::start(&[]);
    let body = json!({
        "date": {"from": "2024-03-04", "to": "2024-03-17"}, "tags": ["demo_booked"],
        "group_by": "ALLO_NUMBER", "connect_rules": true, "reach": true, "intervals": true,
        "compare": "none",
    });
    let answer = reqwest::blocking::Client::new()
        .post(format!("{}/v2/api/analytics/outbound", server.base))
        .header("Authorization", format!("Api-Key {}", crate::serve::KEY))
        .json(&body)
        .send()
        .expect("an answer");
    assert_eq!(answer.status().as_u16(), 200);
    let file = request_file(&body);
    let expected = metrics(&["--request", file.path().to_str().unwrap()]);
    assert_eq!(answer.text().expect("a body"), expected);
    // An invalid field: the API's 400 envelope.
    let refused = reqwest::blocking::Client::new()
        .post(format!("{}/v2/api/analytics/outbound", server.base))
        .header("Authorization", format!("Api-Key {}", crate::serve::KEY))
        .json(&json!({"date": {"from": "2024-03-04", "to": "2024-03-17"}, "group_by": "TEAM"}))
        .send()
        .expect("an answer");
    assert_eq!(refused.status().as_u16(), 400);
    let envelope: Value = refused.json().expect("JSON");
    assert_eq!(envelope["error"]["code"], "INVALID_GROUP_BY");
    assert_eq!(envelope["error"]["param"], "group_by");
}

#[test]
fn without_a_comparison_the_table_and_the_report_show_no_previous_figure() {
    let text = metrics(&[
        "--request",
        "sample_data/request.json",
        "--compare",
        "none",
        "--by",
        "user",
        "--connect-rules",
        "--format",
        "table",
    ]);
    assert!(
        text.starts_with("Outbound calls 2024-03-04 to 2024-03-17, no comparison\n"),
        "{text}"
    );
    assert!(
        text.contains("│ Stage         ┆ Current ┆   Rate │\n"),
        "{text}"
    );
    assert!(
        text.contains("│ Connected     ┆     350 ┆  37.6% │\n"),
        "{text}"
    );
    assert!(
        text.contains("│ Time                      ┆     Current │\n"),
        "{text}"
    );
    for comparing in ["Previous", "Change", "change", "Δ", " pp", "n/a"] {
        assert!(!text.contains(comparing), "{comparing} in {text}");
    }

    let folder = crate::harness::temporary_folder();
    let page = folder.path().join("report.html");
    let output = run(&[
        "report",
        "--input",
        "sample_data/calls.csv",
        "--request",
        "sample_data/request.json",
        "--compare",
        "none",
        "--out",
        crate::harness::path_arg(&page),
    ]);
    assert_status(&output, 0);
    let html = std::fs::read_to_string(&page).expect("the report");
    assert!(html.contains("2024-03-04 – 2024-03-17, no comparison</p>"));
    assert!(html.contains(
        "<thead><tr><th>Stage</th><th class=\"num\">Current</th><th class=\"num\">Rate of dials</th></tr></thead>"
    ));
    assert!(
        html.contains("<td>Connected</td><td class=\"num\">350</td><td class=\"num\">37.6%</td>")
    );
    assert!(
        html.contains("<dt>Change</dt><dd>None: the report compares with no other period.</dd>")
    );
    for comparing in [
        " · was ",
        "previous",
        "<th class=\"num\">Previous",
        "<th class=\"num\">Change",
        "dashed",
        "n/a",
    ] {
        assert!(!html.contains(comparing), "{comparing} in the report");
    }
}

/// The report of the sample's two weeks with `flags`: its page.
fn report_page(flags: &[&str]) -> String {
    let folder = crate::harness::temporary_folder();
    let page = folder.path().join("report.html");
    let mut args = vec![
        "report",
        "--input",
        "sample_data/calls.csv",
        "--request",
        "sample_data/request.json",
        "--out",
        crate::harness::path_arg(&page),
    ];
    args.extend_from_slice(flags);
    let output = run(&args);
    assert_status(&output, 0);
    std::fs::read_to_string(&page).expect("the report")
}

#[test]
fn the_report_shows_the_analysis_per_rep_by_default() {
    let html = report_page(&[]);
    let breakdown = crate::report::section(&html, "breakdown");
    assert!(breakdown.contains("<h2>By rep</h2>"), "{breakdown}");
    assert!(breakdown.contains(
        "<tr><td>Priya Shah (usr-6h3j8p)</td><td class=\"num\">132</td><td class=\"num\">59</td><td class=\"num\">44.7% (36.5–53.2)</td><td class=\"num\">20</td><td class=\"num\">52.7% (43.5–61.7)</td><td class=\"num\">8</td><td class=\"num\">6.1% (3.1–11.5)</td><td class=\"num\">+1.3 pp</td></tr>"
    ), "{breakdown}");
    // The calls without a rep: 14 dials, too few to read.
    assert!(breakdown.contains("<tr><td>(none)</td><td class=\"num\">14</td><td class=\"num\">4</td><td class=\"num\">28.6% (11.7–54.6) *</td>"));
    assert!(breakdown.contains("* fewer than 30 calls behind the rate"));
    let rules = crate::report::section(&html, "connect-rules");
    assert!(
        rules.contains(
            "<tr><td>Connect rate, voicemail left out of the dials</td><td class=\"num\">44.6%"
        ),
        "{rules}"
    );
    assert!(rules.contains(
        "<tr><td>Voicemails</td><td class=\"num\">145</td><td class=\"num\">125</td></tr>"
    ));
    let reach = crate::report::section(&html, "reach");
    assert!(reach.contains("<tr><td>Contacts dialled</td><td class=\"num\">930</td></tr>"));
    assert!(reach.contains("<tr><td>Reach rate</td><td class=\"num\">37.6% (34.6–40.8)</td></tr>"));
    let when = crate::report::section(&html, "when-to-call");
    assert!(
        when.contains("<title>Friday 16:00–16:59: 55.6% ("),
        "{when}"
    );
    assert!(when.contains(" connected of 36 dials</title>"));
    // Each cell with dials but fewer than 30 is pale, its dials written in it.
    let response = parse(&metrics(&["--request", "sample_data/request.json"]));
    let few: Vec<u64> = response["data"]["heatmap"]["dials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cell| cell["value"].as_u64().unwrap())
        .filter(|dials| (1..30).contains(dials))
        .collect();
    assert!(!few.is_empty());
    assert_eq!(when.matches("fill-opacity=\"0.3\"").count(), few.len());
    assert!(when.contains(&format!(">{}</text>", few[0])));
}

#[test]
fn the_report_breaks_down_as_asked_and_not_per_rep_when_reps_are_kept() {
    let by_hour = report_page(&["--by", "hour"]);
    assert!(crate::report::section(&by_hour, "breakdown").contains("<h2>By hour</h2>"));
    let folder = crate::harness::temporary_folder();
    let page = folder.path().join("report.html");
    let mut args = vec!["report", "--input", "sample_data/calls.csv"];
    args.extend(PERIOD);
    args.extend([
        "--user-ids",
        "usr-6h3j8p",
        "--out",
        crate::harness::path_arg(&page),
    ]);
    assert_status(&run(&args), 0);
    let one_rep = std::fs::read_to_string(&page).expect("the report");
    assert!(!one_rep.contains("<section id=\"breakdown\">"));
    assert!(one_rep.contains("<section id=\"connect-rules\">"));
}
