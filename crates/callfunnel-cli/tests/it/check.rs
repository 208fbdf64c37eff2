//! `callfunnel check` on real files (SPEC §8.6): the table and the JSON
//! pinned as snapshots, the exit statuses with and without `--strict`, and
//! the line `metrics` and `report` print when `check` would warn about a
//! figure they show.

use crate::harness::{repo_root, run, stdout_of};
use crate::snapshots::transcript;

/// The messy sample export (`sample_data/check_example.csv`).
const MESSY: &str = "sample_data/check_example.csv";

/// [`MESSY`] from any folder.
fn messy() -> String {
    repo_root().join(MESSY).display().to_string()
}

/// The moment of every check below.
const NOW: &str = "2026-04-01T00:00:00Z";

#[test]
fn check_table() {
    insta::assert_snapshot!(transcript(&["check", "--input", MESSY, "--now", NOW]));
}

#[test]
fn check_json() {
    insta::assert_snapshot!(transcript(&[
        "check", "--input", MESSY, "--now", NOW, "--format", "json"
    ]));
}

#[test]
fn strict_fails_on_a_warning_and_passes_on_notes_only() {
    let messy = transcript(&["check", "--input", MESSY, "--now", NOW, "--strict"]);
    assert!(messy.starts_with("exit: 1\n"), "{messy}");
    let dir = tempfile::tempdir().unwrap();
    let notes_only = dir.path().join("notes.csv");
    std::fs::write(
        &notes_only,
        "id,date,direction,type,user_id,contact_number,result,duration\n\
         a,2026-03-02T10:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,90\n\
         b,2026-03-02T11:00:00Z,INBOUND,CALL,u1,+331,ANSWERED,90\n",
    )
    .unwrap();
    let path = notes_only.to_str().unwrap();
    let output = run(
        &[
            "check", "--input", path, "--now", NOW, "--strict", "--format", "json",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_str(&stdout_of(&output)).unwrap();
    let codes: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| finding["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["inbound"]);
}

#[test]
fn max_talk_sets_the_bound_of_talk_time() {
    let output = run(
        &[
            "check",
            "--input",
            &messy(),
            "--now",
            NOW,
            "--format",
            "json",
            "--max-talk",
            "5min",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_str(&stdout_of(&output)).unwrap();
    let talk = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|finding| finding["code"] == "talk_over_max")
        .unwrap();
    assert_eq!(talk["count"], 4);
    assert_eq!(
        talk["examples"],
        serde_json::json!([
            "cll-1001 (5 min 12 s)",
            "cll-1009 (6 min 42 s)",
            "cll-1014 (14 h 0 min)",
            "cll-1020 (5 min 56 s)"
        ])
    );
}

/// The stderr of `callfunnel ARGS`, which must succeed.
fn stderr_of_success(args: &[&str]) -> String {
    let output = run(args, None);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    String::from_utf8(output.stderr).unwrap()
}

/// The warning about the messy export's 14-hour call in March 2026.
const LONG_CALL: &str =
    "1 call of 14 h carries 95 % of March 2026's talk time; run `callfunnel check`";

/// The standard error of `command` on the messy export's March 2026 (its
/// bad rows skipped), with `more` arguments; it must succeed.
fn stderr_on_messy_march(command: &str, more: &[&str]) -> String {
    let input = messy();
    let mut args = vec![
        command,
        "--input",
        &input,
        "--month",
        "2026-03",
        "--skip-invalid",
        "--max-invalid",
        "10%",
    ];
    args.extend(more);
    stderr_of_success(&args)
}

#[test]
fn metrics_says_when_long_calls_carry_much_of_the_talk_time() {
    let stderr = stderr_on_messy_march("metrics", &[]);
    // cll-1014's 50,400 s of the 52,786 s talked by March's dials: 95.5 %.
    assert!(
        stderr.contains(&format!("callfunnel: warning: {LONG_CALL}\n")),
        "{stderr}"
    );
    let clean = stderr_of_success(&[
        "metrics",
        "--input",
        &repo_root()
            .join("sample_data/calls.csv")
            .display()
            .to_string(),
        "--from",
        "2024-03-01",
        "--to",
        "2024-03-31",
    ]);
    assert!(!clean.contains("warning"), "{clean}");
}

#[test]
fn metrics_says_it_whatever_it_prints() {
    let line = format!("callfunnel: warning: {LONG_CALL}\n");
    let outputs: [&[&str]; 4] = [
        &["--format", "table"],
        &["--format", "csv", "--table", "funnel"],
        &[
            "--format", "csv", "--table", "items", "--extend", "items", "--stage", "DIAL",
        ],
        &["--extend", "items", "--stage", "DIAL", "--all-pages"],
    ];
    for output in outputs {
        let stderr = stderr_on_messy_march("metrics", output);
        assert_eq!(stderr.matches(&line).count(), 1, "{output:?}: {stderr}");
    }
}

#[test]
fn report_shows_the_warning_in_a_box_at_the_top() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.html");
    let stderr = stderr_on_messy_march("report", &["--out", out.to_str().unwrap()]);
    assert!(
        stderr.contains(&format!("callfunnel: warning: {LONG_CALL}\n")),
        "{stderr}"
    );
    let html = std::fs::read_to_string(&out).unwrap();
    let boxed = format!(
        "<main>\n<aside class=\"warnings\" id=\"check-warnings\" role=\"alert\">\n<h2>Check the data behind these figures</h2>\n<ul>\n<li>{}</li>\n</ul>\n</aside>\n",
        LONG_CALL.replace('\'', "&#39;")
    );
    assert!(html.contains(&boxed), "{html}");
}
