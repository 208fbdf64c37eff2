//! The store under hostile conditions, run through the binary: a disk that
//! refuses a write.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::harness::{assert_status, command, path_arg, stderr_of, temporary_folder, write_file};

/// `count` calls of `month` 2024 with ids `{prefix}-00000`…, an hour apart
/// from the 2nd at 08:00, as CSV text.
fn month_of_calls(prefix: &str, month: u32, count: u32) -> String {
    (0..count)
        .map(|index| {
            let (day, hour) = (2 + index / 10, 8 + index % 10);
            format!("{prefix}-{index:05},2024-{month:02}-{day:02}T{hour:02}:00:00Z,ANSWERED,60,5,\n")
        })
        .collect()
}

/// A CSV of calls named `name` in `folder`.
fn calls_csv(folder: &Path, name: &str, rows: &[String]) -> PathBuf {
    let header = "id,date,result,duration,ringing_seconds,tags\n".to_string();
    write_file(folder, name, &(header + &rows.concat()))
}

/// `convert --input INPUT --out STORE [--append]`, not yet run.
fn convert(input: &Path, store: &Path, append: bool) -> Command {
    let mut args = vec!["convert", "--input", path_arg(input), "--out", path_arg(store)];
    if append {
        args.push("--append");
    }
    command(&args)
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
        "convert",
        "--input",
        path_arg(input),
        "--out",
        path_arg(store),
    ];
    if append {
        args.push("--append");
    }
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
    assert_eq!(std::fs::read(appended.join("2024-01.parquet")).unwrap(), before);
    assert_eq!(std::fs::read_dir(&appended).unwrap().count(), 1);
}
