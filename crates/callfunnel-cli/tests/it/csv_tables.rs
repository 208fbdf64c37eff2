//! `metrics --format csv --table NAME` and `--all-pages`: every table for
//! spreadsheets, the drilldown with each call's result and tags.
//!
//! The snapshots hold the sample's tables for `request_drilldown.json`
//! (Europe/Paris, page 1 of the conversations); accept a deliberate change
//! with `INSTA_UPDATE=always cargo test --test it csv_tables` and review
//! `git diff` on `tests/it/snapshots/`.

use std::collections::HashMap;

use serde_json::Value;

use crate::harness::{
    assert_status, assert_stderr_contains, json_of, path_arg, repo_root, run, sample_path,
    stderr_of, stdout_of, temporary_folder, write_file,
};

/// `metrics` on the sample with `request` and `extra` flags: stdout,
/// asserting success.
fn metrics(request: &str, extra: &[&str]) -> String {
    let calls = sample_path("calls.csv");
    let request = sample_path(request);
    let mut args = vec![
        "metrics",
        "--input",
        path_arg(&calls),
        "--request",
        path_arg(&request),
    ];
    args.extend_from_slice(extra);
    let output = run(&args, None);
    assert_status(&output, 0);
    stdout_of(&output)
}

/// The table `name` of the sample's drilldown request, as CSV.
fn table(name: &str) -> String {
    metrics(
        "request_drilldown.json",
        &["--format", "csv", "--table", name],
    )
}

/// CSV text as records (the header first), parsed by the `csv` crate.
fn records(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|record| {
            record
                .expect("a CSV record")
                .iter()
                .map(str::to_string)
                .collect()
        })
        .collect()
}

#[test]
fn every_table_as_csv() {
    for name in [
        "funnel",
        "time_spent",
        "series",
        "heatmap",
        "leaderboard",
        "items",
    ] {
        insta::assert_snapshot!(format!("{name}_csv"), table(name));
    }
}

#[test]
fn the_csv_tables_hold_the_response_figures() {
    let response = json_of(&run(
        &[
            "metrics",
            "--input",
            path_arg(&sample_path("calls.csv")),
            "--request",
            path_arg(&sample_path("request_drilldown.json")),
        ],
        None,
    ));
    let data = &response["data"];
    let funnel = records(&table("funnel"));
    assert_eq!(
        funnel[0],
        [
            "Stage",
            "Current",
            "Previous",
            "Change",
            "Rate",
            "Previous rate",
            "Rate difference"
        ]
    );
    // Connected: 350 of 930 dials (0.376) against 350 of 858 (0.408).
    assert_eq!(
        funnel[2],
        [
            "Connected",
            "350",
            "350",
            "0.0000",
            "0.3760",
            "0.4080",
            "-0.0320"
        ]
    );
    assert_eq!(funnel[1][3], "0.0800", "the API's change of the dials");

    let series = records(&table("series"));
    assert_eq!(series[0][0], "Day (Europe/Paris)");
    assert_eq!(
        series.len() - 1,
        data["time_series"]["dials"].as_array().unwrap().len()
    );
    for (row, point) in series[1..]
        .iter()
        .zip(data["time_series"]["dials"].as_array().unwrap())
    {
        assert_eq!(row[0], point["date"].as_str().unwrap());
        assert_eq!(row[1], point["value"].to_string());
    }

    let heatmap = records(&table("heatmap"));
    assert_eq!(heatmap[0][..2], ["Weekday", "Hour (Europe/Paris)"]);
    assert_eq!(heatmap.len(), 1 + 168);
    // An hour without dials has no rate: an empty cell, not the JSON's 0.
    let empty = heatmap
        .iter()
        .find(|row| row[2] == "0")
        .expect("an empty hour");
    assert_eq!(empty[4], "");
    assert!(heatmap.contains(&vec![
        "Friday".to_string(),
        "16".into(),
        "36".into(),
        "20".into(),
        "0.5560".into()
    ]));
}

/// The sample's calls by id: result and tags as the file holds them.
fn sample_calls() -> HashMap<String, (String, String)> {
    let text = std::fs::read_to_string(sample_path("calls.csv")).expect("the sample");
    let rows = records(&text);
    let column = |name: &str| rows[0].iter().position(|title| title == name).unwrap();
    let (id, result, tags) = (column("id"), column("result"), column("tags"));
    rows[1..]
        .iter()
        .map(|row| (row[id].clone(), (row[result].clone(), row[tags].clone())))
        .collect()
}

#[test]
fn the_items_csv_carries_each_calls_result_and_tags_in_the_requests_zone() {
    let items = records(&table("items"));
    assert_eq!(
        items[0],
        [
            "Date (Europe/Paris)",
            "Call",
            "Stage",
            "Result",
            "Duration (s)",
            "Rep",
            "User id",
            "Email",
            "Allo number",
            "Number label",
            "Contact",
            "Tags"
        ]
    );
    assert_eq!(items.len(), 1 + 10, "page 1, 10 a page");
    // 2024-03-17T22:45:00Z is 23:45 in Paris.
    assert_eq!(
        items[1],
        [
            "2024-03-17 23:45:00",
            "cll-zl7tz2yf4w",
            "CONVERSION",
            "ANSWERED",
            "95",
            "Alice Martin",
            "usr-4k2m9q",
            "alice.martin@example.com",
            "+14155550142",
            "Sales US",
            "+13125557093",
            "demo_booked"
        ]
    );
    // Each call's result and tags are the file's (in the API's case; tags
    // lower case, `;` between them, whatever the file's separator).
    let keys = |tags: &str| -> Vec<String> {
        tags.split([';', '|', ','])
            .map(|tag| tag.trim().to_lowercase())
            .filter(|tag| !tag.is_empty())
            .collect()
    };
    let calls = sample_calls();
    for row in &items[1..] {
        let (result, tags) = &calls[&row[1]];
        assert_eq!(row[3], result.trim().to_uppercase(), "{}", row[1]);
        assert_eq!(keys(&row[11]), keys(tags), "{}", row[1]);
        assert!(!row[11].contains(['|', ',']), "{}", row[11]);
    }
}

/// The items of every page of the sample's drilldown, fetched page by page.
fn items_page_by_page() -> Vec<Value> {
    let mut items = Vec::new();
    for page in 1.. {
        let output = run(
            &[
                "metrics",
                "--input",
                path_arg(&sample_path("calls.csv")),
                "--from",
                "2024-03-04",
                "--to",
                "2024-03-17",
                "--tags",
                "demo_booked",
                "--timezone",
                "Europe/Paris",
                "--extend",
                "items",
                "--stage",
                "CONVERSATION",
                "--size",
                "100",
                "--page",
                &page.to_string(),
            ],
            None,
        );
        let response = json_of(&output);
        let data = &response["data"]["items"];
        items.extend(data["data"].as_array().unwrap().iter().cloned());
        if !data["pagination"]["has_more"].as_bool().unwrap() {
            break;
        }
    }
    items
}

#[test]
fn all_pages_is_every_page_in_order_in_one_pass() {
    let by_page = items_page_by_page();
    assert_eq!(by_page.len(), 193, "the funnel's conversations");
    let lines: Vec<Value> = metrics("request_drilldown.json", &["--all-pages"])
        .lines()
        .map(|line| serde_json::from_str(line).expect("one item per line"))
        .collect();
    assert_eq!(lines, by_page);

    let csv = records(&metrics(
        "request_drilldown.json",
        &["--all-pages", "--format", "csv", "--table", "items"],
    ));
    assert_eq!(csv.len(), 1 + 193);
    let ids: Vec<&str> = csv[1..].iter().map(|row| row[1].as_str()).collect();
    let expected: Vec<&str> = by_page
        .iter()
        .map(|item| item["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, expected);

    let table = metrics(
        "request_drilldown.json",
        &["--all-pages", "--format", "table"],
    );
    assert!(table.contains("Calls: all 193 of the stage\n"), "{table}");
    assert_eq!(table.matches("┆ cll-").count(), 193);
}

#[test]
fn csv_quotes_what_needs_quoting() {
    let folder = temporary_folder();
    let calls = write_file(
        folder.path(),
        "calls.csv",
        "id,date,user_id,user_name,result,duration,tags\n\
         cll-1,2024-03-04T09:30:00Z,usr-1,\"Doe, \"\"JD\"\"\",ANSWERED,95,\"a;b\"\n",
    );
    let output = run(
        &[
            "metrics",
            "--input",
            path_arg(&calls),
            "--from",
            "2024-03-04",
            "--to",
            "2024-03-04",
            "--extend",
            "items",
            "--stage",
            "dial",
            "--format",
            "csv",
            "--table",
            "items",
        ],
        None,
    );
    assert_status(&output, 0);
    let text = stdout_of(&output);
    assert!(text.contains(r#","Doe, ""JD""","#), "{text}");
    let rows = records(&text);
    assert_eq!(rows[1][5], r#"Doe, "JD""#);
    assert_eq!(rows[1][11], "a;b");
    assert_eq!(rows[1][0], "2024-03-04 09:30:00", "UTC without a zone");
    assert!(
        stderr_of(&output).contains("read 1 row"),
        "messages on stderr only"
    );

    let leaderboard = run(
        &[
            "metrics",
            "--input",
            path_arg(&calls),
            "--from",
            "2024-03-04",
            "--to",
            "2024-03-04",
            "--format",
            "csv",
            "--table",
            "leaderboard",
        ],
        None,
    );
    assert_eq!(
        stdout_of(&leaderboard),
        "Rank,Rep,User id,Email,Connected\n1,\"Doe, \"\"JD\"\"\",usr-1,,1\n"
    );
}

#[test]
fn flags_that_do_not_go_together_are_usage_errors() {
    let calls = sample_path("calls.csv");
    let request = sample_path("request.json");
    let drilldown = sample_path("request_drilldown.json");
    for (request, flags, message) in [
        (&request, &["--format", "csv"][..], "--format csv writes one table: add --table NAME (funnel, time_spent, series, heatmap, leaderboard, items, breakdown, connect_rules, reach)"),
        (&request, &["--table", "funnel"], "--table funnel goes with --format csv"),
        (&request, &["--format", "csv", "--table", "items"], "--table items lists the drilldown's calls: the request needs extend=items"),
        (&request, &["--all-pages"], "--all-pages lists the drilldown's calls: the request needs extend=items"),
        (&drilldown, &["--all-pages", "--format", "csv", "--table", "series"], "it goes with --table items, not --table series"),
    ] {
        let mut args = vec!["metrics", "--input", path_arg(&calls), "--request", path_arg(request)];
        args.extend_from_slice(flags);
        let output = run(&args, None);
        assert_status(&output, 2);
        assert!(output.stdout.is_empty(), "{flags:?}");
        assert!(stderr_of(&output).contains(message), "{flags:?}: {}", stderr_of(&output));
    }
}

#[test]
fn the_readme_shows_the_current_funnel_csv() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("the README");
    let funnel = metrics("request.json", &["--format", "csv", "--table", "funnel"]);
    assert!(
        readme.contains(&format!("```\n{funnel}```")),
        "README.md's CSV example differs from the command's output:\n{funnel}"
    );
}

/// A table of the analysis (SPEC §8) of the sample's two weeks, asked by
/// `flags`, as CSV.
fn analysis_table(name: &str, flags: &[&str]) -> String {
    let mut extra = flags.to_vec();
    extra.extend(["--format", "csv", "--table", name]);
    metrics("request.json", &extra)
}

#[test]
fn the_analysis_tables_as_csv() {
    insta::assert_snapshot!(
        "breakdown_csv",
        analysis_table("breakdown", &["--by", "user", "--intervals"])
    );
    insta::assert_snapshot!(
        "connect_rules_csv",
        analysis_table("connect_rules", &["--connect-rules"])
    );
    insta::assert_snapshot!("reach_csv", analysis_table("reach", &["--reach"]));
}

#[test]
fn the_analysis_tables_hold_the_json_figures() {
    let flags = ["--by", "hour", "--group-sort", "key", "--connect-rules"];
    let response: Value = serde_json::from_str(&metrics("request.json", &flags)).unwrap();
    let analysis = &response["analysis"];
    let breakdown = records(&analysis_table("breakdown", &flags));
    assert_eq!(breakdown[0][0], "Hour (Europe/Paris)");
    assert_eq!(breakdown[0][1], "Dials", "no label for hours");
    let rows = analysis["breakdown"]["rows"].as_array().unwrap();
    assert_eq!(breakdown.len(), 1 + rows.len());
    for (record, row) in breakdown[1..].iter().zip(rows) {
        assert_eq!(record[0], row["key"].to_string());
        assert_eq!(record[1], row["dials"].to_string());
        assert_eq!(
            record[6].parse::<f64>().unwrap(),
            row["connect_rate"].as_f64().unwrap()
        );
    }
    let rules = records(&analysis_table("connect_rules", &flags));
    assert_eq!(rules[0], ["Measure", "Current", "Previous"]);
    let current = &analysis["connect_rules"]["current"];
    let previous = &analysis["connect_rules"]["previous"];
    assert_eq!(
        rules[1],
        [
            "Dials".to_string(),
            current["dials"].to_string(),
            previous["dials"].to_string()
        ]
    );
    assert_eq!(
        rules[6][1].parse::<f64>().unwrap(),
        current["connect_rate_excl_voicemail"].as_f64().unwrap()
    );
}

#[test]
fn without_a_comparison_the_csv_tables_have_no_previous_column() {
    let flags = ["--compare", "none", "--by", "user", "--connect-rules"];
    let first_line = |name: &str| {
        analysis_table(name, &flags)
            .lines()
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(first_line("funnel"), "Stage,Current,Rate");
    assert_eq!(first_line("time_spent"), "Measure,Current");
    assert_eq!(first_line("connect_rules"), "Measure,Current");
    assert_eq!(
        first_line("breakdown"),
        "USER,Label,Dials,Connected,Conversations,Conversions,Voicemails,Connect rate,Conversation rate,Conversion rate,Voicemail rate,Connect rate excluding voicemail,Average conversation time (s),Total conversation time (s)"
    );
    assert!(analysis_table("funnel", &flags).contains("\nConnected,350,0.3760\n"));
}

#[test]
fn an_analysis_table_the_request_does_not_ask_for_is_a_usage_error() {
    let output = run(
        &[
            "metrics",
            "--input",
            path_arg(&sample_path("calls.csv")),
            "--request",
            path_arg(&sample_path("request.json")),
            "--format",
            "csv",
            "--table",
            "breakdown",
        ],
        None,
    );
    assert_status(&output, 2);
    assert_stderr_contains(&output, "the breakdown table needs --by KEY");
}

#[test]
fn report_csv_refuses_to_overwrite_an_input() {
    let folder = temporary_folder();
    let original = std::fs::read_to_string(sample_path("calls.csv")).unwrap();
    // The calls are read from the folder the tables would be written to,
    // under the name of one of them.
    let calls = write_file(folder.path(), "funnel.csv", &original);
    let output = run(
        &[
            "report",
            "--input",
            path_arg(&calls),
            "--request",
            path_arg(&sample_path("request.json")),
            "--out",
            path_arg(&folder.path().join("report.html")),
            "--csv",
            path_arg(folder.path()),
        ],
        None,
    );
    assert_status(&output, 2);
    assert!(
        stderr_of(&output).contains("is the input")
            && stderr_of(&output).contains("refusing to overwrite it"),
        "{}",
        stderr_of(&output)
    );
    assert_eq!(std::fs::read_to_string(&calls).unwrap(), original);
    assert!(!folder.path().join("report.html").exists());
}

#[test]
fn report_csv_writes_the_analysis_tables_the_request_asks_for() {
    let folder = temporary_folder();
    let tables = folder.path().join("tables");
    let flags = ["--by", "user", "--connect-rules", "--reach"];
    let (calls, request) = (sample_path("calls.csv"), sample_path("request.json"));
    let mut args = vec![
        "report",
        "--input",
        path_arg(&calls),
        "--request",
        path_arg(&request),
        "--out",
    ];
    let page = folder.path().join("report.html");
    args.extend([path_arg(&page), "--csv", path_arg(&tables)]);
    args.extend(flags);
    let output = run(&args, None);
    assert_status(&output, 0);
    assert!(stderr_of(&output).contains("wrote 8 tables as CSV to"));
    for name in ["breakdown", "connect_rules", "reach"] {
        let file = std::fs::read_to_string(tables.join(format!("{name}.csv"))).expect(name);
        assert_eq!(file, analysis_table(name, &flags), "{name}");
    }
}
