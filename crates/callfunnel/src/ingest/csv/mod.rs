//! CSV input: a header row naming the columns, one call per record. A file
//! in canonical form is read column-wise ([`columnar`]); any other, row by
//! row ([`rows`]), which reads every form SPEC §1 allows and locates a bad
//! row by file, line, column and value.

pub(super) mod columnar;
mod rows;
pub(super) mod window_lines;

use std::fs::File;
use std::path::Path;

pub(super) use rows::read_csv;

use super::error::IngestError;
use super::fields::{ColumnNames, ValueReading};
use super::part::{FastRead, FilePart, Window};
use super::sink::read_rows;

/// The calls of the CSV file at `path` (named `file` in messages), its
/// values as `reading` says, the calls of `keep_window` only when its ids
/// allow (see [`super::IngestOptions::keep_window`]). Values read as
/// written may take the column-wise reader of canonical form.
pub(super) fn read(
    path: &Path,
    file: &str,
    names: &ColumnNames,
    reading: &ValueReading,
    skip_invalid: bool,
    keep_window: Option<Window>,
) -> Result<FilePart, IngestError> {
    let fast = if reading.is_as_written() {
        columnar::scan_canonical_csv(path, file, names, keep_window)?
    } else {
        FastRead::RuleByRule
    };
    fast.or_rule_by_rule(|| {
        read_rows(skip_invalid, keep_window, |sink| {
            let input = File::open(path).map_err(|source| IngestError::Unreadable {
                file: file.to_string(),
                source,
            })?;
            read_csv(input, file, names, reading, sink)
        })
    })
}
