//! One home for every rule, checked on the sources: each API enum value is
//! spelled as a string literal only in its home module; everywhere else it
//! is named through the library (`CallResult::Answered.as_str()`,
//! `Stage::ALL`, …), so renaming or adding one is one edit (test code may
//! spell them); and only the `messages` module writes on standard error.

use std::path::{Path, PathBuf};

use callfunnel::model::{CallResult, CallType, Direction};
use callfunnel::request::Stage;

use crate::harness::repo_root;

/// The source files of both crates, without test files.
fn sources(folder: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs")
            && path.file_name().is_some_and(|name| name != "tests.rs")
        {
            found.push(path);
        }
    }
}

/// Every source file of both crates but test files: its path below
/// `crates/` and its text.
fn crate_sources() -> Vec<(String, String)> {
    let crates = repo_root().join("crates");
    let mut files = Vec::new();
    for krate in ["callfunnel", "callfunnel-cli"] {
        sources(&crates.join(krate).join("src"), &mut files);
    }
    assert!(files.len() > 30, "{} source files", files.len());
    files
        .iter()
        .map(|file| {
            let name = file.strip_prefix(&crates).unwrap().to_string_lossy();
            (name.into_owned(), std::fs::read_to_string(file).unwrap())
        })
        .collect()
}

/// The lines of `text` before its test module (`#[cfg(test)]`).
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, line)| line.trim() != "#[cfg(test)]")
        .map(|(index, line)| (index + 1, line))
}

#[test]
fn enum_values_are_spelled_only_in_their_home_module() {
    let homes: Vec<(&str, Vec<&str>)> = vec![
        (
            "callfunnel/src/model.rs",
            [
                CallResult::SPELLINGS,
                Direction::SPELLINGS,
                CallType::SPELLINGS,
            ]
            .concat(),
        ),
        (
            "callfunnel/src/request.rs",
            Stage::ALL
                .iter()
                .map(|stage| stage.as_str())
                .chain(["DAY", "WEEK", "MONTH"])
                .collect(),
        ),
    ];
    let mut strays = Vec::new();
    for (name, text) in &crate_sources() {
        for (home, values) in &homes {
            if name == home {
                continue;
            }
            for (number, line) in code_lines(text) {
                for value in values {
                    if line.contains(&format!("\"{value}\"")) {
                        strays.push(format!("{name}:{number}: \"{value}\" (home: {home})"));
                    }
                }
            }
        }
    }
    assert!(
        strays.is_empty(),
        "spelled outside their home:\n{}",
        strays.join("\n")
    );
}

/// Whether a line of code writes on standard error itself: a print macro, or
/// a handle on stderr used for more than asking whether it is a terminal.
fn writes_on_stderr(line: &str) -> bool {
    let code = line.trim_start();
    !code.starts_with("//")
        && (code.contains("eprint!(")
            || code.contains("eprintln!(")
            || code
                .replace("stderr().is_terminal()", "")
                .contains("stderr()"))
}

#[test]
fn standard_error_is_written_only_by_the_messages_module() {
    // The home escapes every line and never panics on a closed stderr; the
    // library writes nothing on stderr at all.
    let home = "callfunnel-cli/src/messages.rs";
    let mut strays = Vec::new();
    for (name, text) in &crate_sources() {
        if name == home {
            continue;
        }
        for (number, line) in code_lines(text) {
            if writes_on_stderr(line) {
                strays.push(format!("{name}:{number}: {}", line.trim()));
            }
        }
    }
    assert!(
        strays.is_empty(),
        "writes on stderr outside {home}:\n{}",
        strays.join("\n")
    );
}
