//! One home for every rule, checked on the sources, so that changing one is
//! one edit: each API enum value is spelled as a string literal only in its
//! home module (everywhere else it is named through the library:
//! `CallResult::Answered.as_str()`, `Stage::ALL`, …); each SPEC §1 value rule
//! is written only in `model::rules`; and only the `messages` module writes
//! on standard error. Test code may spell and restate them.

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

/// The home of SPEC §1's value rules.
const RULES_HOME: &str = "callfunnel/src/model/rules.rs";

/// A way of writing a SPEC §1 value rule out, which only [`RULES_HOME`]
/// may do: what it restates, and whether a code line does.
struct Restatement {
    rule: &'static str,
    restates: fn(&str) -> bool,
    /// Lines elsewhere that look alike for another purpose: the file, a
    /// piece of the line, and what it is.
    elsewhere: &'static [(&'static str, &'static str, &'static str)],
}

fn any_of(line: &str, pieces: &[&str]) -> bool {
    pieces.iter().any(|piece| line.contains(piece))
}

/// A line naming a call's talk or ringing time (a field, a column, a
/// reason, seconds; not `std::time::Duration`).
fn names_a_time(line: &str) -> bool {
    let line = line.replace("Duration::", "");
    any_of(
        &line,
        &[
            "duration", "Duration", "DURATION", "ringing", "Ringing", "RINGING", "seconds",
        ],
    )
}

fn restatements() -> Vec<Restatement> {
    vec![
        Restatement {
            rule: "the ringing bound's value",
            restates: |line| {
                any_of(
                    line,
                    &[
                        "9e15",
                        "9.0e15",
                        "9_000_000_000_000_000",
                        "9000000000000000",
                    ],
                )
            },
            elsewhere: &[],
        },
        Restatement {
            rule: "a comparison with the ringing bound",
            restates: |line| {
                line.contains("MAX_RINGING_SECONDS")
                    && any_of(
                        line,
                        &[" < ", " > ", " <= ", " >= ", ".lt(", ".gt(", "const "],
                    )
            },
            elsewhere: &[],
        },
        Restatement {
            rule: "a duration or ringing time checked against zero",
            restates: |line| {
                names_a_time(line)
                    && any_of(
                        line,
                        &[
                            "< 0",
                            "<= 0",
                            ">= 0",
                            "lt(lit(0",
                            "lt_eq(lit(0",
                            "gt_eq(lit(0",
                            "is_sign_negative",
                        ],
                    )
            },
            elsewhere: &[
                (
                    "callfunnel/src/request.rs",
                    "seconds >= 0",
                    "the request's conversation threshold",
                ),
                (
                    "callfunnel-cli/src/pull/client.rs",
                    "seconds >= 0.0",
                    "a Retry-After header",
                ),
            ],
        },
        Restatement {
            rule: "a -0.0 ringing time read as 0.0",
            restates: |line| {
                line.contains("lit(0.0)")
                    || (line.contains(".abs()") && any_of(line, &["seconds", "ringing"]))
            },
            elsewhere: &[],
        },
        Restatement {
            rule: "a required id or date",
            restates: |line| {
                any_of(
                    line,
                    &["Reason::MissingId", "Reason::MissingDate", "eq(lit(\"\"))"],
                )
            },
            elsewhere: &[(
                "callfunnel/src/reason.rs",
                "Reason::Missing",
                "the reasons' own list and names",
            )],
        },
        Restatement {
            rule: "an enum value matched whatever its case",
            restates: |line| any_of(line, &["eq_ignore_ascii_case", "to_ascii_uppercase"]),
            elsewhere: &[
                (
                    "callfunnel-cli/src/serve/auth.rs",
                    "\"Api-Key\"",
                    "the HTTP authorization scheme",
                ),
                (
                    "callfunnel-cli/src/cli/period.rs",
                    "text.to_ascii_uppercase()",
                    "the W or Q of a week or quarter flag, not an API value",
                ),
                (
                    "callfunnel-cli/src/cli/mod.rs",
                    "map(str::to_ascii_uppercase)",
                    "request flags typed in any case, sent to the request's own validation",
                ),
            ],
        },
        Restatement {
            rule: "an enum value compared with the API's spellings",
            restates: |line| {
                line.to_lowercase().contains("spelling")
                    && any_of(
                        line,
                        &["is_one_of(", "==", ".eq(", ".contains(", "as_bytes"],
                    )
            },
            elsewhere: &[],
        },
        Restatement {
            rule: "a default for an absent value",
            restates: |line| {
                let defaulting = any_of(
                    line,
                    &["fill_null(", "unwrap_or", "direction: ", "call_type: "],
                );
                defaulting
                    && any_of(
                        line,
                        &["Direction::", "CallType::", "lit(0i64)", "empty_tags()"],
                    )
            },
            elsewhere: &[],
        },
    ]
}

#[test]
fn value_rules_are_written_only_in_their_home() {
    let restatements = restatements();
    let mut found_at_home = vec![false; restatements.len()];
    let mut strays = Vec::new();
    for (name, text) in &crate_sources() {
        let code = code_lines(text).filter(|(_, line)| !line.trim_start().starts_with("//"));
        for (number, line) in code {
            for (index, restatement) in restatements.iter().enumerate() {
                if !(restatement.restates)(line) {
                    continue;
                }
                if name == RULES_HOME {
                    found_at_home[index] = true;
                } else if !restatement
                    .elsewhere
                    .iter()
                    .any(|(file, piece, _)| name == *file && line.contains(piece))
                {
                    strays.push(format!(
                        "{name}:{number}: {} ({})",
                        restatement.rule,
                        line.trim()
                    ));
                }
            }
        }
    }
    // Each check finds its rule at home: none of them looks for nothing.
    for (restatement, found) in restatements.iter().zip(found_at_home) {
        assert!(found, "{RULES_HOME} does not write {}", restatement.rule);
    }
    assert!(
        strays.is_empty(),
        "SPEC §1 value rules written outside {RULES_HOME}:\n{}",
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
