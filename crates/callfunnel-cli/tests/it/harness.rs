//! What every test of the command shares: the `callfunnel` binary, run and
//! read (its exit status and streams), signalled, temporary files, and the
//! files of `sample_data/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use tempfile::TempDir;

/// The library's test helpers for `sample_data/`, one file for both test
/// binaries.
#[path = "../../../callfunnel/tests/it/sample_data.rs"]
mod sample_data;

pub(crate) use sample_data::{assert_json_close, load_sample, repo_root, sample_json, sample_path};

/// The `callfunnel` binary cargo built for these tests.
fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_callfunnel"))
}

/// `callfunnel ARGS…` with standard input closed, not yet run: for a run that
/// needs its folder, environment or streams set, or runs in the background.
pub(crate) fn command(args: &[&str]) -> Command {
    let mut command = Command::new(binary());
    command.args(args).stdin(Stdio::null());
    command
}

/// `callfunnel` as an `assert_cmd` command, for a run checked with `.assert()`
/// or fed on standard input.
pub(crate) fn callfunnel() -> assert_cmd::Command {
    assert_cmd::Command::new(binary())
}

/// Runs `callfunnel ARGS…` to its end, with `stdin` on standard input (closed
/// when `None`).
pub(crate) fn run(args: &[&str], stdin: Option<&str>) -> Output {
    match stdin {
        Some(text) => callfunnel().args(args).write_stdin(text).output(),
        None => command(args).output(),
    }
    .expect("running callfunnel")
}

/// Sends the signal `name` (`TERM`, `INT`, …) to the process `pid`.
pub(crate) fn send_signal(name: &str, pid: u32) {
    let sent = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("running kill");
    assert!(sent.success(), "kill -{name} {pid}");
}

/// Standard output, which must be UTF-8.
pub(crate) fn stdout_of(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

/// Standard error, which must be UTF-8.
pub(crate) fn stderr_of(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

/// Asserts that standard error says `text`, showing it when it does not.
pub(crate) fn assert_stderr_contains(output: &Output, text: &str) {
    let stderr = stderr_of(output);
    assert!(
        stderr.contains(text),
        "stderr should say {text:?}:\n{stderr}"
    );
}

/// Asserts the exit status, showing both streams when it differs.
pub(crate) fn assert_status(output: &Output, expected: i32) {
    assert_eq!(
        output.status.code(),
        Some(expected),
        "exit status\n--- stdout:\n{}\n--- stderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The JSON printed by a successful run.
pub(crate) fn json_of(output: &Output) -> Value {
    assert_status(output, 0);
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "stdout is not JSON ({err}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// A path as a command-line argument.
pub(crate) fn path_arg(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// A new temporary folder, removed when dropped.
pub(crate) fn temporary_folder() -> TempDir {
    tempfile::tempdir().expect("a temporary folder")
}

/// Writes `contents` to `name` in `folder`; returns the file's path.
pub(crate) fn write_file(folder: &Path, name: &str, contents: &str) -> PathBuf {
    let path = folder.join(name);
    std::fs::write(&path, contents).expect("writing a test file");
    path
}
