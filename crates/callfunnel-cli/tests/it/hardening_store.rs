//! The store under hostile conditions, run through the binary: two appends
//! at once, a pull into a locked store, an append killed between month
//! renames, queries and `serve --watch` overlapping an append's switch, a
//! disk that refuses a write, temporaries left by a killed run.

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use callfunnel::ingest::{load, IngestOptions};
use callfunnel::model::column;
use polars::prelude::*;
use serde_json::json;

use crate::harness::{
    assert_status, assert_stderr_contains, command, json_of, path_arg, run, send_signal, stderr_of,
    temporary_folder, write_file,
};
use crate::serve::{json_of as served_json, wait_until, Server, KEY};

/// The test hook of the store's switch (see `callfunnel::store::folder`):
/// the first month switched in, the append creates this file and waits
/// until it is removed.
const PAUSE: &str = "CALLFUNNEL_TEST_PAUSE_SWITCH";

/// `open(2)`'s flag for a FIFO opened without waiting for its other end.
const O_NONBLOCK: i32 = 0o4000;

/// A pid above the kernel's largest (`PID_MAX_LIMIT`): no process has it.
const DEAD_PID: u32 = 4_194_305;

/// `count` calls of `month` 2024 with ids `{prefix}-00000`…, an hour apart
/// from the 2nd at 08:00, as CSV text.
fn month_of_calls(prefix: &str, month: u32, count: u32) -> String {
    (0..count)
        .map(|index| {
            let (day, hour) = (2 + index / 10, 8 + index % 10);
            format!(
                "{prefix}-{index:05},2024-{month:02}-{day:02}T{hour:02}:00:00Z,ANSWERED,60,5,\n"
            )
        })
        .collect()
}

/// A CSV of calls named `name` in `folder`.
fn calls_csv(folder: &Path, name: &str, rows: &[String]) -> PathBuf {
    write_file(folder, name, &calls_text(rows))
}

/// CSV text of `rows` (see [`month_of_calls`]) under the header.
fn calls_text(rows: &[String]) -> String {
    "id,date,result,duration,ringing_seconds,tags\n".to_string() + &rows.concat()
}

/// `convert --input INPUT --out STORE [--append]`, not yet run.
fn convert(input: &Path, store: &Path, append: bool) -> Command {
    command(&convert_args(input, store, append))
}

/// The arguments of `convert --input INPUT --out STORE [--append]`.
fn convert_args<'a>(input: &'a Path, store: &'a Path, append: bool) -> Vec<&'a str> {
    let mut args = vec![
        "convert",
        "--input",
        path_arg(input),
        "--out",
        path_arg(store),
    ];
    if append {
        args.push("--append");
    }
    args
}

/// The calls of the store at `store`, read as every command reads them,
/// and how many the load counted.
fn stored_calls(store: &Path) -> (u64, DataFrame) {
    let loaded = load(&[store.to_path_buf()], &IngestOptions::default()).unwrap();
    (loaded.report.calls, loaded.frame.collect().unwrap())
}

/// The ids of `calls`, sorted.
fn ids_of(calls: &DataFrame) -> Vec<String> {
    let mut ids: Vec<String> = calls
        .column(column::ID)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .map(str::to_string)
        .collect();
    ids.sort();
    ids
}

/// The names in `folder` starting with a dot, sorted.
fn hidden_entries(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    names.sort();
    names
}

/// What a writer refused because process `pid` holds the lock `lock` of
/// `store` says.
fn refusal(store: &Path, pid: u32, lock: &Path) -> String {
    format!(
        "callfunnel: {}: another callfunnel (process {pid}) is writing this store; try again once it has finished (its lock is {})\n",
        store.display(),
        lock.display()
    )
}

/// Starts an append of `input` to `store` that pauses at its first month
/// switched in; returns once it is paused there (the file `flag` exists).
fn paused_append(input: &Path, store: &Path, flag: &Path) -> Child {
    let child = convert(input, store, true)
        .env(PAUSE, flag)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    once_paused(child, flag)
}

/// `child` once it has made the file `flag` (paused at a test hook, or
/// holding a lock); fails when it ends first or takes over 20 s.
fn once_paused(mut child: Child, flag: &Path) -> Child {
    let start = Instant::now();
    while !flag.exists() {
        assert!(child.try_wait().unwrap().is_none(), "it ended first");
        assert!(start.elapsed() < Duration::from_secs(20), "never paused");
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

// ---------------------------------------------------------------------------
// 6: two appends at once into one folder store lose no call.
// ---------------------------------------------------------------------------

#[test]
fn a_second_append_while_one_runs_is_refused_and_no_call_is_lost() {
    let dir = temporary_folder();
    let store = dir.path().join("calls");
    let base = calls_csv(
        dir.path(),
        "base.csv",
        &[
            month_of_calls("base-jan", 1, 50),
            month_of_calls("base-feb", 2, 50),
        ],
    );
    assert_status(&convert(&base, &store, false).output().unwrap(), 0);
    // Two exports adding calls to the same two months.
    let first = calls_csv(
        dir.path(),
        "first.csv",
        &[
            month_of_calls("a-jan", 1, 40),
            month_of_calls("a-feb", 2, 40),
        ],
    );
    let second = calls_csv(
        dir.path(),
        "second.csv",
        &[
            month_of_calls("b-jan", 1, 30),
            month_of_calls("b-feb", 2, 30),
        ],
    );

    let flag = dir.path().join("paused");
    let mut running = paused_append(&first, &store, &flag);
    let refused = convert(&second, &store, true).output().unwrap();
    assert_status(&refused, 4);
    let lock = dir.path().join(".calls.lock");
    assert_eq!(stderr_of(&refused), refusal(&store, running.id(), &lock));
    std::fs::remove_file(&flag).unwrap();
    assert!(running.wait().unwrap().success());
    assert!(!lock.exists(), "the lock is removed with its holder");

    assert_status(&convert(&second, &store, true).output().unwrap(), 0);
    let (counted, calls) = stored_calls(&store);
    assert_eq!((counted, calls.height()), (240, 240));
    let mut expected: Vec<String> = ["base-jan", "base-feb", "a-jan", "a-feb", "b-jan", "b-feb"]
        .iter()
        .zip([50, 50, 40, 40, 30, 30])
        .flat_map(|(prefix, count)| (0..count).map(move |index| format!("{prefix}-{index:05}")))
        .collect();
    expected.sort();
    assert_eq!(ids_of(&calls), expected);
}

#[test]
fn two_appends_run_at_once_both_land_or_one_is_refused_and_no_call_is_lost() {
    let dir = temporary_folder();
    let store = dir.path().join("calls");
    let base = calls_csv(dir.path(), "base.csv", &[month_of_calls("base", 1, 50)]);
    assert_status(&convert(&base, &store, false).output().unwrap(), 0);
    let exports: Vec<PathBuf> = ["a", "b"]
        .iter()
        .map(|prefix| {
            let rows = [
                month_of_calls(&format!("{prefix}-jan"), 1, 60),
                month_of_calls(&format!("{prefix}-feb"), 2, 60),
            ];
            calls_csv(dir.path(), &format!("{prefix}.csv"), &rows)
        })
        .collect();
    let running: Vec<Child> = exports
        .iter()
        .map(|export| {
            convert(export, &store, true)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<std::process::Output> = running
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect();
    let landed = outputs
        .iter()
        .filter(|output| output.status.success())
        .count() as u64;
    for output in outputs.iter().filter(|output| !output.status.success()) {
        assert_status(output, 4);
        assert!(
            stderr_of(output).contains("is writing this store"),
            "{}",
            stderr_of(output)
        );
    }
    assert!(landed >= 1);
    let (counted, calls) = stored_calls(&store);
    assert_eq!(
        (counted, calls.height() as u64),
        (50 + 120 * landed, 50 + 120 * landed)
    );
}

// ---------------------------------------------------------------------------
// 7: an append killed between month renames: read once, then completed.
// ---------------------------------------------------------------------------

#[test]
fn an_append_killed_between_month_renames_counts_every_call_once_and_is_completed() {
    let dir = temporary_folder();
    let (store, base, export) = store_and_moving_export(dir.path());

    let flag = dir.path().join("paused");
    let mut killed = paused_append(&export, &store, &flag);
    send_signal("KILL", killed.id());
    killed.wait().unwrap();
    std::fs::remove_file(&flag).unwrap();

    // Half switched in: a reader sees the append whole, each call once.
    let moved_call = |calls: &DataFrame| {
        let ids = calls.column(column::ID).unwrap().str().unwrap();
        let rows: Vec<usize> = ids
            .iter()
            .enumerate()
            .filter(|(_, id)| *id == Some("feb-00000"))
            .map(|(row, _)| row)
            .collect();
        assert_eq!(rows.len(), 1, "feb-00000 once");
        calls
            .column(column::DURATION)
            .unwrap()
            .i64()
            .unwrap()
            .get(rows[0])
    };
    let (counted, calls) = stored_calls(&store);
    assert_eq!((counted, calls.height()), (110, 110));
    assert_eq!(moved_call(&calls), Some(777));
    // `metrics` gives the figures of the store with the append applied.
    let applied = dir.path().join("applied");
    assert_status(&convert(&base, &applied, false).output().unwrap(), 0);
    assert_status(&convert(&export, &applied, true).output().unwrap(), 0);
    let metrics = |store: &Path| json_of(&run(&first_quarter_metrics(store), None));
    let figures = metrics(&store);
    assert_eq!(figures["data"]["funnel"]["dials"]["count"]["value"], 110);
    assert_eq!(figures, metrics(&applied));
    let summary = run(
        &[
            "convert",
            "--input",
            path_arg(&store),
            "--out",
            path_arg(&dir.path().join("copy.parquet")),
        ],
        None,
    );
    assert_status(&summary, 0);
    assert!(
        stderr_of(&summary).contains("read 110 rows from 3 files\ncallfunnel: wrote 110 calls to "),
        "{}",
        stderr_of(&summary)
    );

    // The next append completes the switch, takes the dead process's lock
    // over and removes its temporaries.
    assert!(!hidden_entries(&store).is_empty());
    let april = calls_csv(dir.path(), "april.csv", &[month_of_calls("apr", 4, 1)]);
    let next = convert(&april, &store, true).output().unwrap();
    assert_status(&next, 0);
    let said = stderr_of(&next);
    let prefix = format!("{}: ", store.display());
    assert!(
        said.contains(&format!("{prefix}took over the lock of process {}", killed.id()))
            && said.contains(&format!("{prefix}completed an append that was interrupted while switching its month files in (3 switched)"))
            && said.contains(&format!("{prefix}removed {}", store.join(format!(".append.{}.months", killed.id())).display())),
        "{said}"
    );
    assert_eq!(hidden_entries(&store), Vec::<String>::new());
    assert_eq!(hidden_entries(dir.path()), Vec::<String>::new());
    let (counted, calls) = stored_calls(&store);
    assert_eq!((counted, calls.height()), (111, 111));
    assert_eq!(moved_call(&calls), Some(777));
    let months: Vec<String> = std::fs::read_dir(&store)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        months,
        [
            "2024-01.parquet",
            "2024-02.parquet",
            "2024-03.parquet",
            "2024-04.parquet"
        ]
    );
}

// ---------------------------------------------------------------------------
// Low: temporaries of a killed run are removed at the next run on the store.
// ---------------------------------------------------------------------------

#[test]
fn temporaries_of_a_dead_process_are_removed_at_the_next_run_and_a_live_ones_kept() {
    let dir = temporary_folder();
    let input = calls_csv(dir.path(), "calls.csv", &[month_of_calls("jan", 1, 20)]);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let store = out.join("calls.parquet");
    let live = std::process::id();
    for pid in [DEAD_PID, live] {
        let months = out.join(format!(".calls.parquet.{pid}.months"));
        std::fs::create_dir(&months).unwrap();
        write_file(&months, "24289-000000.parquet", "spilled calls");
        write_file(
            &out,
            &format!(".calls.parquet.{pid}.partial"),
            "half a store",
        );
    }
    // Not a temporary of this store: left alone.
    write_file(
        &out,
        &format!(".other.parquet.{DEAD_PID}.partial"),
        "another store's",
    );
    assert_status(&convert(&input, &store, false).output().unwrap(), 0);
    assert_eq!(
        hidden_entries(&out),
        [
            format!(".calls.parquet.{live}.months"),
            format!(".calls.parquet.{live}.partial"),
            format!(".other.parquet.{DEAD_PID}.partial"),
        ]
    );

    // In and beside a folder store too.
    let folder = dir.path().join("calls");
    assert_status(&convert(&input, &folder, false).output().unwrap(), 0);
    std::fs::create_dir(folder.join(format!(".append.{DEAD_PID}.months"))).unwrap();
    std::fs::create_dir(dir.path().join(format!(".calls.{DEAD_PID}.partial"))).unwrap();
    assert_status(&convert(&input, &folder, true).output().unwrap(), 0);
    assert_eq!(hidden_entries(&folder), Vec::<String>::new());
    assert_eq!(hidden_entries(dir.path()), Vec::<String>::new());
}

// ---------------------------------------------------------------------------
// 15: a write that fails while calls are spread is an output failure.
// ---------------------------------------------------------------------------

/// `convert` of `input` to `store` (`--append` when `append`) with files of
/// at most 1 KiB, a write past it failing (SIGXFSZ ignored): a limit even
/// root meets, standing for a full disk.
fn convert_with_tiny_files(input: &Path, store: &Path, append: bool) -> std::process::Output {
    let mut args = vec![
        "-c",
        "ulimit -f 2; trap '' XFSZ; exec \"$0\" \"$@\"",
        env!("CARGO_BIN_EXE_callfunnel"),
    ];
    args.extend(convert_args(input, store, append));
    Command::new("sh")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn a_write_refused_while_spreading_calls_is_exit_4_for_every_kind_of_store() {
    let dir = temporary_folder();
    let small = calls_csv(dir.path(), "small.csv", &[month_of_calls("old", 1, 2)]);
    let input = calls_csv(dir.path(), "calls.csv", &[month_of_calls("jan", 1, 280)]);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let appended = out.join("appended");
    assert_status(&convert(&small, &appended, false).output().unwrap(), 0);
    let before = std::fs::read(appended.join("2024-01.parquet")).unwrap();
    for (store, append) in [
        (out.join("calls.parquet"), false),
        (out.join("calls"), false),
        (appended.clone(), true),
    ] {
        let output = convert_with_tiny_files(&input, &store, append);
        assert_status(&output, 4);
        let message = stderr_of(&output);
        assert!(
            message.contains("writing the temporary file ") && message.contains("File too large"),
            "{message}"
        );
    }
    // Nothing left behind, and the store appended to is as it was.
    let mut left: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["appended"]);
    assert_eq!(
        std::fs::read(appended.join("2024-01.parquet")).unwrap(),
        before
    );
    assert_eq!(std::fs::read_dir(&appended).unwrap().count(), 1);
}

// ---------------------------------------------------------------------------
// Standard input and pipes: read once into a temporary file, then as a file.
// ---------------------------------------------------------------------------

/// The arguments of `metrics` over March to April 2024 on `input`, and `more`.
fn metrics_args<'a>(input: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "metrics",
        "--input",
        input,
        "--from",
        "2024-03-01",
        "--to",
        "2024-04-30",
    ];
    args.extend_from_slice(more);
    args
}

/// The same calls as CSV and as NDJSON: March and April 2024, every result.
fn calls_as_csv_and_ndjson() -> (String, String) {
    let results = ["ANSWERED", "NO_ANSWER", "VOICEMAIL", "BUSY"];
    let mut csv = String::from("id,date,result,duration,ringing_seconds,tags\n");
    let mut ndjson = String::new();
    for index in 0..200u32 {
        let (month, day, hour) = (3 + index % 2, 1 + index % 28, 8 + index % 10);
        let date = format!("2024-{month:02}-{day:02}T{hour:02}:{:02}:00Z", index % 60);
        let result = results[index as usize % results.len()];
        let duration = if result == "ANSWERED" { index % 300 } else { 0 };
        let tags = if index % 7 == 0 { "won" } else { "" };
        csv.push_str(&format!(
            "c-{index:04},{date},{result},{duration},5,{tags}\n"
        ));
        ndjson.push_str(&format!(
            "{{\"id\":\"c-{index:04}\",\"date\":\"{date}\",\"result\":\"{result}\",\"duration\":{duration},\"ringing_seconds\":5,\"tags\":\"{tags}\"}}\n"
        ));
    }
    (csv, ndjson)
}

#[test]
fn standard_input_reads_csv_and_ndjson_as_the_same_file_read_normally() {
    let dir = temporary_folder();
    let (csv, ndjson) = calls_as_csv_and_ndjson();
    let file = write_file(dir.path(), "calls.csv", &csv);
    let expected = json_of(&run(
        &metrics_args(path_arg(&file), &["--tags", "won"]),
        None,
    ));
    assert_eq!(expected["data"]["funnel"]["dials"]["count"]["value"], 200);
    for (text, format) in [(&csv, "csv"), (&ndjson, "ndjson"), (&ndjson, "json")] {
        let output = run(
            &metrics_args("-", &["--tags", "won", "--input-format", format]),
            Some(text),
        );
        assert_eq!(json_of(&output), expected, "{format}");
        assert_stderr_contains(&output, "read 200 rows from 1 file");
    }
    // A bad row is located in standard input.
    let bad = csv.replace("c-0003,", "c-0003,not-a-date-");
    let args = metrics_args("-", &["--input-format", "csv"]);
    assert_fails(&args, &bad, 3, "standard input");
}

/// Runs `callfunnel ARGS…` on `stdin` and asserts it exits with `status`,
/// saying `said` on stderr.
fn assert_fails(args: &[&str], stdin: &str, status: i32, said: &str) {
    let output = run(args, Some(stdin));
    assert_status(&output, status);
    assert!(stderr_of(&output).contains(said), "{}", stderr_of(&output));
}

#[test]
fn standard_input_without_its_format_or_twice_is_a_usage_error() {
    let (csv, _) = calls_as_csv_and_ndjson();
    let output = run(&metrics_args("-", &[]), Some(&csv));
    assert_status(&output, 2);
    assert_eq!(
        stderr_of(&output),
        "callfunnel: --input -: standard input needs --input-format csv|json|ndjson|parquet\n"
    );
    let twice = metrics_args("-", &["--input", "-", "--input-format", "csv"]);
    assert_fails(&twice, &csv, 2, "standard input can be read once only");
    let with_request = [
        "metrics",
        "--input",
        "-",
        "--input-format",
        "csv",
        "--request",
        "-",
    ];
    assert_fails(&with_request, &csv, 2, "and the request is read from it");
}

#[test]
fn a_fifo_and_a_process_substitution_are_read_once_like_the_file() {
    let dir = temporary_folder();
    let (csv, ndjson) = calls_as_csv_and_ndjson();
    let file = write_file(dir.path(), "calls.csv", &csv);
    let expected = json_of(&run(&metrics_args(path_arg(&file), &[]), None));
    // A FIFO without an extension: its format told from its first bytes.
    for text in [&csv, &ndjson] {
        let fifo = dir.path().join("calls-pipe");
        let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        let child = command(&metrics_args(path_arg(&fifo), &[]))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let writer = {
            let (fifo, text) = (fifo.clone(), text.clone());
            std::thread::spawn(move || std::fs::write(fifo, text))
        };
        let output = child.wait_with_output().unwrap();
        // A writer still waiting for a reader (the run never opened the
        // FIFO) gets one, and fails, instead of hanging the test.
        let _reader = std::fs::File::options()
            .read(true)
            .custom_flags(O_NONBLOCK)
            .open(&fifo);
        let written = writer.join().unwrap();
        assert_eq!(json_of(&output), expected);
        written.unwrap();
        // Its temporary copy is gone with the process.
        let left = std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(&format!("callfunnel-{pid}-")))
            .count();
        assert_eq!(left, 0);
        std::fs::remove_file(&fifo).unwrap();
    }
    // `--input <(…)` in a shell.
    let gzipped = dir.path().join("calls.csv.gz");
    let zipped = Command::new("sh")
        .args([
            "-c",
            "gzip -c \"$0\" > \"$1\"",
            path_arg(&file),
            path_arg(&gzipped),
        ])
        .status()
        .unwrap();
    assert!(zipped.success());
    let output = Command::new("bash")
        .args([
            "-c",
            "exec \"$0\" metrics --input <(gzip -dc \"$1\") --from 2024-03-01 --to 2024-04-30",
            env!("CARGO_BIN_EXE_callfunnel"),
            path_arg(&gzipped),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(json_of(&output), expected);
}

// ---------------------------------------------------------------------------
// 6: `pull --out STORE` takes the store's lock like `convert`.
// ---------------------------------------------------------------------------

#[test]
fn a_pull_into_a_store_another_writer_holds_is_refused_and_the_store_kept() {
    let dir = temporary_folder();
    let store = dir.path().join("calls.parquet");
    let base = calls_csv(dir.path(), "base.csv", &[month_of_calls("base", 1, 20)]);
    assert_status(&convert(&base, &store, false).output().unwrap(), 0);
    // A real writer holding the lock: a `convert` of the store waiting for
    // its input, a FIFO nobody writes yet.
    let fifo = dir.path().join("more.csv");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let holder = convert(&fifo, &store, true)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lock = dir.path().join(".calls.parquet.lock");
    let holder = once_paused(holder, &lock);
    // Refused before any request: the address has no server.
    let refused = command(&[
        "pull",
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-31",
        "--out",
        path_arg(&store),
        "--base-url",
        "http://127.0.0.1:9",
        "--quiet",
        "--since-last",
    ])
    .env("ALLO_API_KEY", "key")
    .output()
    .unwrap();
    assert_status(&refused, 4);
    assert_eq!(stderr_of(&refused), refusal(&store, holder.id(), &lock));
    // The holder goes on, and the store has its calls and the new one.
    std::fs::write(&fifo, calls_text(&[month_of_calls("more", 1, 1)])).unwrap();
    let output = holder.wait_with_output().unwrap();
    assert_status(&output, 0);
    assert!(!lock.exists(), "the lock is removed with its holder");
    let (counted, calls) = stored_calls(&store);
    assert_eq!((counted, calls.height()), (21, 21));
}

// ---------------------------------------------------------------------------
// 7: a query overlapping an append's switch never counts a call twice.
// ---------------------------------------------------------------------------

/// The test hook of a reader (see `callfunnel::store::view`): its first
/// snapshot of a folder store made, the reader creates this file and waits
/// until it is removed.
const PAUSE_READER: &str = "CALLFUNNEL_TEST_PAUSE_SNAPSHOT";

/// A folder store `calls` of January and February (50 calls each) and an
/// export moving `feb-00000` to January (it leaves February, joins January:
/// two months switched in) and adding ten calls of March: the store, the
/// export it was converted from, the export to append.
fn store_and_moving_export(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let store = dir.join("calls");
    let base = calls_csv(
        dir,
        "base.csv",
        &[month_of_calls("jan", 1, 50), month_of_calls("feb", 2, 50)],
    );
    assert_status(&convert(&base, &store, false).output().unwrap(), 0);
    let moved = "feb-00000,2024-01-15T12:00:00Z,ANSWERED,777,5,\n".to_string();
    let export = calls_csv(dir, "export.csv", &[moved, month_of_calls("mar", 3, 10)]);
    (store, base, export)
}

/// The arguments of `metrics` of the first quarter of 2024 on `store`.
fn first_quarter_metrics(store: &Path) -> [&str; 7] {
    [
        "metrics",
        "--input",
        path_arg(store),
        "--from",
        "2024-01-01",
        "--to",
        "2024-03-31",
    ]
}

/// Starts `metrics` of the first quarter on `store`, paused at its first
/// snapshot; returns once it is paused there (the file `flag` exists).
fn paused_metrics(store: &Path, flag: &Path) -> Child {
    let child = command(&first_quarter_metrics(store))
        .env(PAUSE_READER, flag)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    once_paused(child, flag)
}

/// The dials `metrics` counted (its standard output), and its standard error.
fn dials_of(metrics: Child) -> (serde_json::Value, String) {
    let output = metrics.wait_with_output().unwrap();
    assert_status(&output, 0);
    let dials = json_of(&output)["data"]["funnel"]["dials"]["count"]["value"].clone();
    (dials, stderr_of(&output))
}

#[test]
fn a_query_whose_snapshot_an_append_overtook_opens_the_store_again_and_counts_each_call_once() {
    let dir = temporary_folder();
    let (store, _, export) = store_and_moving_export(dir.path());
    let flag = dir.path().join("reader-paused");
    let reader = paused_metrics(&store, &flag);
    // The whole append lands while the reader holds links to the old months.
    assert_status(&convert(&export, &store, true).output().unwrap(), 0);
    std::fs::remove_file(&flag).unwrap();
    let (dials, said) = dials_of(reader);
    assert_eq!(dials, 110, "the appended store, each call once");
    assert!(
        said.contains(&format!(
            "{}: an append switched months in while the store was being opened; opened again",
            store.display()
        )),
        "{said}"
    );
    // Its links are gone with it.
    assert!(hidden_entries(dir.path()).is_empty());
}

#[test]
fn a_query_opened_half_way_through_a_switch_reads_the_append_whole_while_it_completes() {
    let dir = temporary_folder();
    let (store, _, export) = store_and_moving_export(dir.path());
    let writer_flag = dir.path().join("writer-paused");
    let writer = paused_append(&export, &store, &writer_flag);
    // The reader links the months as the journal says, half renamed.
    let reader_flag = dir.path().join("reader-paused");
    let reader = paused_metrics(&store, &reader_flag);
    std::fs::remove_file(&writer_flag).unwrap();
    assert!(writer.wait_with_output().unwrap().status.success());
    std::fs::remove_file(&reader_flag).unwrap();
    let (dials, said) = dials_of(reader);
    assert_eq!(dials, 110, "the appended store, each call once");
    assert!(!said.contains("opened again"), "{said}");
}

#[test]
fn serve_watching_a_folder_store_serves_it_before_or_after_an_append_never_mixed() {
    let dir = temporary_folder();
    let (store, _, export) = store_and_moving_export(dir.path());
    let server = Server::start_with_env(
        &[
            "--input",
            path_arg(&store),
            "--api-key",
            KEY,
            "--watch",
            "--watch-quiet",
            "0.3",
        ],
        &[],
    );
    let total = || {
        served_json(
            server.post("/v2/api/conversations/items/search", &json!({})),
            200,
        )["pagination"]["total_count"]
            .as_u64()
            .unwrap()
    };
    let mut served = std::collections::BTreeSet::from([total()]);
    // An append paused half way through its switch is read whole.
    let flag = dir.path().join("paused");
    let writer = paused_append(&export, &store, &flag);
    wait_until(
        || {
            served.insert(total());
            served.contains(&110)
        },
        "the reload half way through the switch",
    );
    std::fs::remove_file(&flag).unwrap();
    assert!(writer.wait_with_output().unwrap().status.success());
    // Completed, the switch is read again: the same calls.
    wait_until(
        || {
            served.insert(total());
            server
                .stderr()
                .matches("reloaded, serving 110 calls")
                .count()
                == 2
        },
        "the reload after the switch",
    );
    served.insert(total());
    assert_eq!(
        served.into_iter().collect::<Vec<_>>(),
        [100, 110],
        "the old calls or the appended ones, each call once"
    );
}
