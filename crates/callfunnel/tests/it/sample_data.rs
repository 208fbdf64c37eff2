//! The files of `sample_data/` and the comparison of an answer with an
//! expected one, shared by the library's tests and the command's tests (the
//! command's test binary includes this file by its path).

use std::path::{Path, PathBuf};

use callfunnel::ingest::{load, IngestOptions, IngestReport};
use polars::prelude::LazyFrame;
use serde_json::Value;

/// The repository's root, where `sample_data/` and the README live (both
/// crates sit two folders below it).
pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Numbers compare equal within this (the expected files are exact to print precision).
pub(crate) const TOLERANCE: f64 = 1e-9;

/// A file of `sample_data/`.
pub(crate) fn sample_path(name: &str) -> PathBuf {
    repo_root().join("sample_data").join(name)
}

/// A JSON file of `sample_data/`, parsed.
pub(crate) fn sample_json(name: &str) -> Value {
    let path = sample_path(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("parsing {}: {err}", path.display()))
}

/// Asserts two JSON values are equal, numbers within [`TOLERANCE`]; on failure
/// names the JSON pointer of every difference (up to 20).
pub(crate) fn assert_json_close(actual: &Value, expected: &Value, what: &str) {
    let mut differences = Vec::new();
    collect_differences(actual, expected, String::new(), &mut differences);
    if !differences.is_empty() {
        let count = differences.len();
        differences.truncate(20);
        panic!(
            "{what}: {count} difference(s) from the expected response:\n  {}",
            differences.join("\n  ")
        );
    }
}

fn collect_differences(actual: &Value, expected: &Value, at: String, out: &mut Vec<String>) {
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) => {
            let (a, e) = (
                a.as_f64().unwrap_or(f64::NAN),
                e.as_f64().unwrap_or(f64::NAN),
            );
            if (a - e).abs() > TOLERANCE || a.is_nan() || e.is_nan() {
                out.push(format!("{at}: got {a}, expected {e}"));
            }
        }
        (Value::Object(a), Value::Object(e)) => {
            for key in e.keys().filter(|key| !a.contains_key(*key)) {
                out.push(format!("{at}/{key}: missing"));
            }
            for key in a.keys().filter(|key| !e.contains_key(*key)) {
                out.push(format!("{at}/{key}: unexpected key"));
            }
            for (key, value) in e {
                if let Some(actual) = a.get(key) {
                    collect_differences(actual, value, format!("{at}/{key}"), out);
                }
            }
        }
        (Value::Array(a), Value::Array(e)) => {
            if a.len() != e.len() {
                out.push(format!("{at}: {} elements, expected {}", a.len(), e.len()));
            }
            for (index, (actual, value)) in a.iter().zip(e).enumerate() {
                collect_differences(actual, value, format!("{at}/{index}"), out);
            }
        }
        _ if actual == expected => {}
        _ => out.push(format!("{at}: got {actual}, expected {expected}")),
    }
}

/// Loads `sample_data/calls.csv` with the default options.
pub(crate) fn load_sample() -> (LazyFrame, IngestReport) {
    let loaded = load(&[sample_path("calls.csv")], &IngestOptions::default())
        .unwrap_or_else(|err| panic!("loading the sample: {err}"));
    (loaded.frame, loaded.report)
}
