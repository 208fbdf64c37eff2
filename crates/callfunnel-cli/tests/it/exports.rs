//! Real exports read right or loudly (SPEC 2.1 §1.2): the messy export of
//! `sample_data/messy_export.csv` and another dialer's
//! `sample_data/other_dialer.csv`, through the command: figures, the
//! warnings on standard error (text asserted; with `check`'s warning of a
//! long call's share of the talk time) and the skip ceiling.

use serde_json::{json, Value};

use crate::harness::{assert_status, json_of, repo_root, run, sample_path, stderr_of};

/// `callfunnel metrics` on the messy export for March 2024 in Paris,
/// converting on `meeting_booked`, with `more` arguments.
fn messy(more: &[&str]) -> std::process::Output {
    let file = sample_path("messy_export.csv");
    let mut args = vec![
        "metrics",
        "--input",
        file.to_str().unwrap(),
        "--month",
        "2024-03",
        "--timezone",
        "Europe/Paris",
        "--tags",
        "meeting_booked",
    ];
    args.extend_from_slice(more);
    run(&args, None)
}

/// The stderr lines, without the `callfunnel: ` prefix.
fn lines(output: &std::process::Output) -> Vec<String> {
    stderr_of(output)
        .lines()
        .map(|line| line.trim_start_matches("callfunnel: ").to_string())
        .collect()
}

/// `count` of a funnel stage of a response.
fn stage(response: &Value, name: &str) -> Value {
    response["data"]["funnel"][name]["count"]["value"].clone()
}

/// The messy export's rows `lines` as the warnings name them.
fn at(lines: &[u32]) -> String {
    let locations: Vec<String> = lines
        .iter()
        .map(|line| format!("{}:{line}", sample_path("messy_export.csv").display()))
        .collect();
    locations.join(", ")
}

#[test]
fn the_messy_export_gives_the_right_meetings_on_the_first_run_and_says_what_it_read() {
    let output = messy(&["--skip-invalid"]);
    let response = json_of(&output);
    // Counted independently when the file was made: 97 outbound calls of
    // March (the last copy of each id, the -5 s row skipped), 51 of them
    // carrying `meeting_booked` in one of its three list forms.
    assert_eq!(stage(&response, "dials"), json!(97));
    assert_eq!(stage(&response, "conversions"), json!(51));
    assert_eq!(
        lines(&output),
        [
            "read 123 rows from 1 file".to_string(),
            "skipped 1 invalid row (negative duration: 1)".to_string(),
            format!("first skipped: {} (negative duration)", at(&[52])),
            "collapsed 3 duplicate ids (last occurrence kept)".to_string(),
            format!(
                "warning: 122 timestamps without an offset read as UTC time (first: {}); \
                 --input-tz was left at UTC while the request's timezone is Europe/Paris: \
                 if the export was written in Europe/Paris time, add --input-tz Europe/Paris",
                at(&[2, 3, 4, 5, 6])
            ),
            format!(
                "warning: 1 tags cell looked like a JSON list but did not parse as one: \
                 read as keys separated by ; | or , (first: {})",
                at(&[5])
            ),
            // m-060's 50,400 s of the 59,846 s talked by March's dials.
            "warning: 1 call of 14 h carries 84 % of March 2024's talk time; run `callfunnel check`"
                .to_string(),
        ]
    );

    // Read in Paris time: the same funnel, no word of UTC.
    let output = messy(&["--skip-invalid", "--input-tz", "Europe/Paris"]);
    assert_eq!(stage(&json_of(&output), "conversions"), json!(51));
    assert_eq!(
        lines(&output)[4],
        format!(
            "warning: 122 timestamps without an offset read as Europe/Paris time (first: {})",
            at(&[2, 3, 4, 5, 6])
        )
    );
}

#[test]
fn a_filter_or_tag_that_matches_no_call_is_named() {
    let output = messy(&[
        "--skip-invalid",
        "--input-tz",
        "Europe/Paris",
        "--user-ids",
        "Manon Bonnet",
    ]);
    assert_eq!(stage(&json_of(&output), "dials"), json!(0));
    assert_eq!(
        lines(&output).last().unwrap(),
        "warning: user_ids: `Manon Bonnet` matches no call's user_id in the request's periods \
         but is the user_name of usr-01: filter by the id (--user-ids usr-01)"
    );
    let file = sample_path("messy_export.csv");
    let output = run(
        &[
            "metrics",
            "--input",
            file.to_str().unwrap(),
            "--month",
            "2024-03",
            "--tags",
            "meeting_bookd",
            "--allo-numbers",
            "+33100000000",
            "--skip-invalid",
        ],
        None,
    );
    assert_status(&output, 0);
    let warnings = lines(&output);
    assert_eq!(
        warnings[warnings.len() - 2..],
        [
            "warning: allo_numbers: `+33100000000` matches no call of the request's periods, \
             so every figure it filters is 0",
            "warning: tags: `meeting_bookd` matches no call of the request's periods, so every \
             figure it filters is 0",
        ]
    );
}

#[test]
fn past_the_skip_ceiling_the_run_stops_naming_reasons_and_lines() {
    let output = messy(&["--skip-invalid", "--max-invalid", "0"]);
    assert_status(&output, 3);
    assert_eq!(
        lines(&output),
        [format!(
            "1 of 123 rows could not be read, more than --max-invalid 0 allows: \
             negative duration: 1; first skipped: {} (negative duration)",
            at(&[52])
        )]
    );
    // The default ceiling is 1 % of the rows read: 3 rows of 6 go past it.
    let bad = sample_path("bad_rows.csv");
    let args = [
        "metrics",
        "--input",
        bad.to_str().unwrap(),
        "--from",
        "2024-03-05",
        "--to",
        "2024-03-05",
        "--skip-invalid",
    ];
    let output = run(&args, None);
    assert_status(&output, 3);
    let bad_at = |line: u32, reason: &str| format!("{}:{line} ({reason})", bad.display());
    assert_eq!(
        lines(&output),
        [format!(
            "3 of 6 rows could not be read, more than --max-invalid 1% allows: \
             bad timestamp: 1, negative duration: 1, unknown result: 1; first skipped: {}, {}, {}",
            bad_at(3, "bad timestamp"),
            bad_at(5, "negative duration"),
            bad_at(6, "unknown result"),
        )]
    );
    let output = run(&[&args[..], &["--max-invalid", "50%"]].concat(), None);
    assert_status(&output, 0);
}

/// The arguments that load `sample_data/other_dialer.csv` as SPEC §1 calls.
const OTHER_DIALER: [&str; 26] = [
    "--map",
    "id=call_id",
    "--map",
    "date=started_at",
    "--map",
    "user_id=agent_email",
    "--map",
    "user_name=agent_name",
    "--map",
    "result=outcome",
    "--map",
    "duration=talk_time_min",
    "--map",
    "tags=tag",
    "--map-value",
    "result:Connected=ANSWERED",
    "--map-value",
    "result:No answer=NO_ANSWER",
    "--map-value",
    "result:Voicemail=VOICEMAIL",
    "--map-value",
    "result:Busy=BUSY",
    "--map-value",
    "tags:Meeting booked=meeting_booked",
    "--duration-unit",
    "min",
];

#[test]
fn another_dialers_export_loads_to_exact_figures() {
    let file = sample_path("other_dialer.csv");
    let period = [
        "--from",
        "2024-03-04",
        "--to",
        "2024-03-10",
        "--timezone",
        "Europe/Paris",
        "--tags",
        "meeting_booked",
    ];
    let metrics = |reading: &[&str]| {
        let args = [
            &["metrics", "--input", file.to_str().unwrap()],
            reading,
            &period,
        ]
        .concat();
        run(&args, None)
    };
    let output = metrics(&OTHER_DIALER);
    let response = json_of(&output);
    // Counted independently when the file was made (talk time: decimal
    // minutes × 60, half away from zero, summed: 3,408 s over 12 calls).
    for (name, count) in [
        ("dials", 24),
        ("connected", 12),
        ("conversations", 11),
        ("conversions", 5),
    ] {
        assert_eq!(stage(&response, name), json!(count), "{name}");
    }
    let time_spent = &response["data"]["time_spent"];
    assert_eq!(
        time_spent["total_conversation_time_seconds"]["value"],
        json!(3408)
    );
    assert_eq!(
        time_spent["avg_conversation_time_seconds"]["value"],
        json!(284.0)
    );
    assert_eq!(lines(&output), ["read 24 rows from 1 file"]);

    // The README shows this funnel.
    let table = metrics(&[&OTHER_DIALER[..], &["--format", "csv", "--table", "funnel"]].concat());
    assert_status(&table, 0);
    let funnel = String::from_utf8(table.stdout).unwrap();
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("```\n{funnel}```")),
        "README.md's other dialer funnel differs from the command's output:\n{funnel}"
    );

    // With the columns mapped but not the values, `Connected` is no result
    // SPEC knows.
    let output = metrics(&OTHER_DIALER[..14]);
    assert_status(&output, 3);
    assert_eq!(
        lines(&output),
        [format!(
            "{}:2: column `outcome`: invalid value `Connected`: unknown result (expected one of \
             ANSWERED, VOICEMAIL, TRANSFERRED, TRANSFERRED_AI, TRANSFERRED_EXTERNAL, MISSED, \
             NO_ANSWER, BUSY, FAILED, FAILED_EXTERNAL, BLOCKED, CANCELED, CLOSED, RECEIVED)",
            file.display()
        )]
    );
}
