//! Hostile and extreme inputs, run through the binary: every input bounded,
//! every number exact, nothing lost.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{
    assert_status, assert_stderr_contains, command, json_of, path_arg, run, sample_path,
    send_signal, stderr_of, stdout_of, temporary_folder, write_file,
};

const HEADER: &str = "id,date,result,duration,ringing_seconds,tags\n";

/// `metrics` over `calls` for the first week of March 2024.
fn metrics_of(calls: &Path, more: &[&str]) -> Output {
    let mut args = vec![
        "metrics",
        "--input",
        path_arg(calls),
        "--from",
        "2024-03-04",
        "--to",
        "2024-03-10",
    ];
    args.extend_from_slice(more);
    run(&args, None)
}

fn conversions(response: &Value) -> &Value {
    &response["data"]["funnel"]["conversions"]["count"]["value"]
}

// ---------------------------------------------------------------------------
// 1: thousands of request tags cost time and memory linear in their number.
// ---------------------------------------------------------------------------

#[test]
fn ten_thousand_request_tags_are_linear() {
    let dir = temporary_folder();
    let calls = sample_path("calls.csv");
    let mut tags: Vec<String> = (0..10_000).map(|i| format!("t{i}")).collect();
    tags.push("demo_booked".into());
    let request = serde_json::json!({
        "date": {"from": "2024-03-04", "to": "2024-03-17"},
        "tags": tags,
        "timezone": "Europe/Paris",
    });
    let request = write_file(dir.path(), "request.json", &request.to_string());
    let started = Instant::now();
    let many = json_of(&run(
        &[
            "metrics",
            "--input",
            path_arg(&calls),
            "--request",
            path_arg(&request),
        ],
        None,
    ));
    let elapsed = started.elapsed();
    let one = json_of(&run(
        &[
            "metrics",
            "--input",
            path_arg(&calls),
            "--request",
            path_arg(&sample_path("request.json")),
        ],
        None,
    ));
    assert_eq!(many["data"]["funnel"], one["data"]["funnel"]);
    // Before the fix: 3,000 tags took 10 s, 10,000 took 8 minutes.
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");

    let flags = tags[..3000].join(",") + ",demo_booked";
    let started = Instant::now();
    let from_flags = json_of(&run(
        &[
            "metrics",
            "--input",
            path_arg(&calls),
            "--from",
            "2024-03-04",
            "--to",
            "2024-03-17",
            "--timezone",
            "Europe/Paris",
            "--tags",
            &flags,
        ],
        None,
    ));
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(from_flags["data"]["funnel"], one["data"]["funnel"]);
}

// ---------------------------------------------------------------------------
// 2, 3: sums never wrap; a mean is exact, or the row is refused.
// ---------------------------------------------------------------------------

#[test]
fn huge_ringing_times_average_exactly() {
    let dir = temporary_folder();
    let calls = write_file(
        dir.path(),
        "calls.csv",
        &format!(
            "{HEADER}a,2024-03-04T09:00:00Z,ANSWERED,10,5e15,\n\
             b,2024-03-05T09:00:00Z,BUSY,0,5000000000000000,\n"
        ),
    );
    let response = json_of(&metrics_of(&calls, &[]));
    let ringing = &response["data"]["time_spent"]["avg_ringing_time_seconds"];
    // Their milliseconds sum to 10¹⁹, beyond 64 bits: it used to wrap negative.
    assert_eq!(ringing["value"].as_f64(), Some(5e15));

    let too_large = write_file(
        dir.path(),
        "large.csv",
        &format!("{HEADER}a,2024-03-04T09:00:00Z,ANSWERED,10,1e16,\n"),
    );
    let output = metrics_of(&too_large, &[]);
    assert_status(&output, 3);
    assert!(
        stderr_of(&output).contains(&format!(
            "{}:2: column `ringing_seconds`: invalid value `1e16`: ringing_seconds too large (at most 9e15)",
            too_large.display()
        )),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn huge_durations_average_exactly() {
    let dir = temporary_folder();
    let calls = write_file(
        dir.path(),
        "calls.csv",
        &format!(
            "{HEADER}a,2024-03-04T09:00:00Z,ANSWERED,4611686018427387904,,\n\
             b,2024-03-05T09:00:00Z,ANSWERED,4611686018427387904,,\n"
        ),
    );
    let response = json_of(&metrics_of(&calls, &[]));
    let time_spent = &response["data"]["time_spent"];
    // 2 × 2⁶² = 2⁶³: one more than the largest signed 64-bit integer.
    assert_eq!(
        time_spent["avg_conversation_time_seconds"]["value"].as_f64(),
        Some(4611686018427387904.0)
    );
    assert_eq!(
        time_spent["total_conversation_time_seconds"]["value"].as_u64(),
        Some(9223372036854775808)
    );
}

// ---------------------------------------------------------------------------
// 13: request tags are normalised as data tags are.
// ---------------------------------------------------------------------------

#[test]
fn request_tags_are_trimmed_and_lower_cased_like_data_tags() {
    let dir = temporary_folder();
    let calls = write_file(
        dir.path(),
        "calls.csv",
        &format!(
            "{HEADER}a,2024-03-04T09:00:00Z,ANSWERED,10,,Demo_Booked\n\
             b,2024-03-05T09:00:00Z,BUSY,0,, qualified ;x\n\
             c,2024-03-05T10:00:00Z,BUSY,0,,other\n"
        ),
    );
    let flags = json_of(&metrics_of(&calls, &["--tags", "demo_booked, QUALIFIED "]));
    assert_eq!(conversions(&flags), 2);

    let request = write_file(
        dir.path(),
        "request.json",
        r#"{"date":{"from":"2024-03-04","to":"2024-03-10"},"tags":[" demo_booked","Qualified\t"]}"#,
    );
    let body = json_of(&run(
        &[
            "metrics",
            "--input",
            path_arg(&calls),
            "--request",
            path_arg(&request),
        ],
        None,
    ));
    assert_eq!(conversions(&body), 2);
}

// ---------------------------------------------------------------------------
// 9: a failing stderr never loses stdout, never panics.
// ---------------------------------------------------------------------------

#[test]
fn a_full_stderr_loses_nothing_on_stdout() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let output = command(&[
        "metrics",
        "--input",
        path_arg(&sample_path("calls.csv")),
        "--request",
        path_arg(&sample_path("request.json")),
    ])
    .stderr(full)
    .output()
    .expect("running callfunnel");
    let response = json_of(&output);
    assert_eq!(response["data"]["funnel"]["dials"]["count"]["value"], 930);
}

// ---------------------------------------------------------------------------
// 14: the request body is bounded.
// ---------------------------------------------------------------------------

#[test]
fn an_endless_request_is_refused_at_its_cap() {
    let started = Instant::now();
    let output = run(
        &[
            "metrics",
            "--input",
            path_arg(&sample_path("calls.csv")),
            "--request",
            "/dev/zero",
        ],
        None,
    );
    assert_status(&output, 2);
    assert_stderr_contains(&output, "the request is larger than 1024 KiB");
    assert!(started.elapsed() < Duration::from_secs(20));
}

// ---------------------------------------------------------------------------
// 15: a report never overwrites its inputs, and is written atomically.
// ---------------------------------------------------------------------------

#[test]
fn report_refuses_to_overwrite_an_input() {
    let dir = temporary_folder();
    let original = std::fs::read_to_string(sample_path("calls.csv")).unwrap();
    let calls = write_file(dir.path(), "calls.csv", &original);
    let request = write_file(
        dir.path(),
        "request.json",
        &std::fs::read_to_string(sample_path("request.json")).unwrap(),
    );
    for out in [&calls, &request] {
        let output = run(
            &[
                "report",
                "--input",
                path_arg(dir.path()),
                "--request",
                path_arg(&request),
                "--out",
                path_arg(out),
            ],
            None,
        );
        assert_status(&output, 2);
        assert_stderr_contains(&output, "refusing to overwrite it");
    }
    assert_eq!(std::fs::read_to_string(&calls).unwrap(), original);

    let out = dir.path().join("report.html");
    let output = run(
        &[
            "report",
            "--input",
            path_arg(&calls),
            "--request",
            path_arg(&request),
            "--out",
            path_arg(&out),
        ],
        None,
    );
    assert_status(&output, 0);
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .starts_with("<!DOCTYPE html>"));
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // No temporary file left behind.
    assert_eq!(names, ["calls.csv", "report.html", "request.json"]);
}

// ---------------------------------------------------------------------------
// 11, 12: inputs that could hang the run are refused or bounded.
// ---------------------------------------------------------------------------

#[test]
fn a_device_input_is_refused_at_once() {
    let device = Path::new("/dev/zero");
    let output = metrics_of(device, &[]);
    assert_status(&output, 3);
    assert_stderr_contains(&output, "/dev/zero: not a regular file, a pipe or a folder");
}

#[test]
fn a_symlink_loop_under_a_double_star_pattern_ends() {
    let dir = temporary_folder();
    let root = dir.path().join("d");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    let row = "a,2024-03-04T09:00:00Z,ANSWERED,90,,\n";
    write_file(&root, "a.csv", &format!("{HEADER}{row}"));
    write_file(
        &root.join("sub"),
        "b.csv",
        &format!("{HEADER}{}", row.replace("a,", "b,")),
    );
    std::os::unix::fs::symlink(&root, root.join("sub").join("loop")).unwrap();
    let pattern = format!("{}/**/*.csv", root.display());
    let output = run(
        &[
            "metrics",
            "--input",
            &pattern,
            "--from",
            "2024-03-04",
            "--to",
            "2024-03-10",
        ],
        None,
    );
    let response = json_of(&output);
    assert_eq!(response["data"]["funnel"]["dials"]["count"]["value"], 2);
    assert_stderr_contains(&output, "read 2 rows from 2 files");
}

// ---------------------------------------------------------------------------
// The table output shows no control character of an input.
// ---------------------------------------------------------------------------

#[test]
fn table_output_escapes_control_characters() {
    let dir = temporary_folder();
    let calls = write_file(
        dir.path(),
        "calls.csv",
        "id,date,result,user_id,user_name\n\
         a,2024-03-04T09:00:00Z,ANSWERED,u1,\"Eve\u{1b}[2J\u{7}\"\n",
    );
    let output = metrics_of(&calls, &["--format", "table"]);
    assert_status(&output, 0);
    let shown = stdout_of(&output);
    assert!(shown.contains("Eve\\x1b[2J\\x07"), "{shown}");
    assert!(!shown.contains('\u{1b}'));
}

// ---------------------------------------------------------------------------
// 5: a store changed on disk is refused, wherever the change falls.
// ---------------------------------------------------------------------------

#[test]
fn a_store_with_any_eight_bytes_overwritten_is_refused() {
    let dir = temporary_folder();
    let store = dir.path().join("calls.parquet");
    let request = sample_path("request.json");
    let converted = run(
        &[
            "convert",
            "--input",
            path_arg(&sample_path("calls.csv")),
            "--out",
            path_arg(&store),
        ],
        None,
    );
    assert_status(&converted, 0);
    let answer = |input: &Path| {
        run(
            &[
                "metrics",
                "--input",
                path_arg(input),
                "--request",
                path_arg(&request),
            ],
            None,
        )
    };
    let from_csv = json_of(&answer(&sample_path("calls.csv")));
    assert_eq!(json_of(&answer(&store)), from_csv);

    let bytes = std::fs::read(&store).unwrap();
    let length = bytes.len();
    // Data pages (start, middle, end) and the footer (schema, statistics,
    // the checksum's own digits just before the end).
    let footer_length = u32::from_le_bytes(bytes[length - 8..length - 4].try_into().unwrap());
    let footer_start = length - 8 - footer_length as usize;
    for offset in [
        8,
        length / 4,
        length / 2,
        footer_start - 16,
        footer_start + 40,
        length - 60,
    ] {
        let damaged_path = dir.path().join(format!("changed-{offset}.parquet"));
        let mut damaged = bytes.clone();
        damaged[offset..offset + 8].copy_from_slice(b"\x00\xffDAMAGE");
        std::fs::write(&damaged_path, &damaged).unwrap();
        let output = answer(&damaged_path);
        assert_status(&output, 3);
        assert!(output.stdout.is_empty(), "offset {offset}");
        // A data page or the checksum: the checksum; the footer's schema
        // or statistics: the footer no longer parses.
        let message = stderr_of(&output);
        let said = [
            "damaged store: its bytes are not those `convert` wrote",
            "not a readable Parquet file (damaged or cut short?)",
        ];
        assert!(
            message.starts_with(&format!("callfunnel: {}: ", path_arg(&damaged_path)))
                && said.iter().any(|words| message.contains(words)),
            "offset {offset}: {message}"
        );
    }
}

/// The entries of `folder` whose name starts with `prefix`.
fn entries_starting_with(folder: &Path, prefix: &str) -> Vec<String> {
    std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .filter_map(|entry| Some(entry.ok()?.file_name().to_string_lossy().into_owned()))
                .filter(|name| name.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn convert_stopped_by_ctrl_c_removes_its_temporary_files_and_leaves_no_store() {
    let dir = temporary_folder();
    let input = dir.path().join("calls.csv");
    let made = run(
        &[
            "generate",
            "--rows",
            "300000",
            "--seed",
            "3",
            "--out",
            input.to_str().unwrap(),
        ],
        None,
    );
    assert_status(&made, 0);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let temp = dir.path().join("tmp");
    std::fs::create_dir(&temp).unwrap();
    let store = out.join("calls.parquet");
    let mut child = command(&[
        "convert",
        "--input",
        input.to_str().unwrap(),
        "--out",
        store.to_str().unwrap(),
    ])
    .env("TMPDIR", &temp)
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    // Interrupted once it writes: its hidden month folder or partial store
    // beside the output.
    let start = Instant::now();
    while entries_starting_with(&out, ".").is_empty() {
        assert!(child.try_wait().unwrap().is_none(), "convert ended first");
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no temporary file"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    send_signal("INT", child.id());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert_eq!(entries_starting_with(&out, ""), Vec::<String>::new());
    assert_eq!(entries_starting_with(&temp, ""), Vec::<String>::new());
}
