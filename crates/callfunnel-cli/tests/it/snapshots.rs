//! The command line's outputs pinned as snapshots, in the style of
//! datafusion-cli: each case runs the real binary from the repository root
//! and records its exit status, standard output and standard error.
//!
//! A deliberate change of output is accepted with
//! `INSTA_UPDATE=always cargo test -p callfunnel-cli --test it snapshots`
//! and reviewed with `git diff` on `tests/it/snapshots/`; CI (`CI=true`)
//! never writes them.

use std::fs::File;
use std::process::Stdio;

use crate::harness::{command, repo_root};

/// The exit status, stdout and stderr of `callfunnel ARGS`, run from the
/// repository root with colours off; stdout goes to `stdout` when given.
fn transcript_to(args: &[&str], stdout: Option<Stdio>) -> String {
    let mut invocation = command(args);
    invocation
        .current_dir(repo_root())
        .env("NO_COLOR", "1")
        .env_remove("CALLFUNNEL_TIMINGS");
    if let Some(stdout) = stdout {
        invocation.stdout(stdout);
    }
    let output = invocation.output().expect("running callfunnel");
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        output
            .status
            .code()
            .map_or("signal".to_string(), |code| code.to_string()),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// [`transcript_to`] with stdout captured.
pub(crate) fn transcript(args: &[&str]) -> String {
    transcript_to(args, None)
}

const CALLS: &str = "sample_data/calls.csv";

#[test]
fn metrics_json() {
    insta::assert_snapshot!(transcript(&[
        "metrics",
        "--input",
        CALLS,
        "--request",
        "sample_data/request.json"
    ]));
}

#[test]
fn metrics_drilldown_compact() {
    insta::assert_snapshot!(transcript(&[
        "metrics",
        "--input",
        CALLS,
        "--request",
        "sample_data/request_drilldown.json",
        "--compact"
    ]));
}

#[test]
fn metrics_table() {
    insta::assert_snapshot!(transcript(&[
        "metrics",
        "--input",
        CALLS,
        "--request",
        "sample_data/request_weekly.json",
        "--format",
        "table"
    ]));
}

#[test]
fn metrics_drilldown_table_in_the_requests_zone() {
    insta::assert_snapshot!(transcript(&[
        "metrics",
        "--input",
        CALLS,
        "--request",
        "sample_data/request_drilldown.json",
        "--format",
        "table"
    ]));
}

#[test]
fn invalid_request_prints_the_api_envelope() {
    insta::assert_snapshot!(transcript(&[
        "metrics",
        "--input",
        CALLS,
        "--from",
        "2024-03-10",
        "--to",
        "2024-03-01"
    ]));
}

#[test]
fn drilldown_without_stage_is_a_missing_parameter() {
    insta::assert_snapshot!(transcript(&[
        "metrics",
        "--input",
        CALLS,
        "--from",
        "2024-03-04",
        "--to",
        "2024-03-10",
        "--extend",
        "items"
    ]));
}

#[test]
fn a_bad_row_is_located() {
    insta::assert_snapshot!(transcript(&[
        "metrics",
        "--input",
        "sample_data/bad_rows.csv",
        "--request",
        "sample_data/request.json"
    ]));
}

#[test]
fn bad_rows_skipped_and_counted() {
    insta::assert_snapshot!(transcript(&[
        "metrics",
        "--input",
        "sample_data/bad_rows.csv",
        "--request",
        "sample_data/request.json",
        "--skip-invalid",
        "--compact"
    ]));
}

#[test]
fn a_missing_input_is_unreadable() {
    insta::assert_snapshot!(transcript(&[
        "metrics",
        "--input",
        "sample_data/no_such_file.csv",
        "--request",
        "sample_data/request.json"
    ]));
}

#[test]
fn an_unwritable_stdout_is_an_output_failure() {
    let full = File::create("/dev/full").expect("/dev/full exists");
    insta::assert_snapshot!(transcript_to(
        &[
            "metrics",
            "--input",
            CALLS,
            "--request",
            "sample_data/request.json"
        ],
        Some(Stdio::from(full))
    ));
}

#[test]
fn verify_agrees() {
    insta::assert_snapshot!(transcript(&[
        "verify",
        "--input",
        CALLS,
        "--request",
        "sample_data/api/request.json",
        "--response",
        "sample_data/api/response.json"
    ]));
}

#[test]
fn verify_lists_every_difference() {
    insta::assert_snapshot!(transcript(&[
        "verify",
        "--input",
        CALLS,
        "--request",
        "sample_data/api/request.json",
        "--response",
        "sample_data/api/response_disputed.json"
    ]));
}

#[test]
fn definitions() {
    insta::assert_snapshot!(transcript(&["definitions"]));
}

#[test]
fn help() {
    insta::assert_snapshot!(transcript(&["--help"]));
}

#[test]
fn an_unknown_command_is_a_usage_error() {
    insta::assert_snapshot!(transcript(&["frobnicate"]));
}
