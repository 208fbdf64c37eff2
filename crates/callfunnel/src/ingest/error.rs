//! Errors of the ingest step (SPEC §1.2's reasons, and a bad row's place,
//! are in [`crate::reason`]).

use std::path::PathBuf;

use polars::prelude::PolarsError;

pub(crate) use crate::reason::truncate_value;
pub use crate::reason::{InvalidRow, Reason};
use crate::store::ReadError;

/// Why inputs could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// `load` was called without any input.
    #[error("no input given")]
    NoInput,
    /// An input path that does not exist.
    #[error("{}: no such file or folder", path.display())]
    NotFound {
        /// The path as given.
        path: PathBuf,
    },
    /// An input that is neither a regular file, a pipe nor a folder (a
    /// socket, a device): it might never end.
    #[error("{}: not a regular file, a pipe or a folder (a device or socket cannot be read; save it to a file first)", path.display())]
    NotRegularFile {
        /// The path as given.
        path: PathBuf,
    },
    /// Standard input given as an input without its format.
    #[error("standard input: its format is not known; name it (csv, json, ndjson or parquet)")]
    StdinFormat,
    /// A glob pattern that is not valid, or whose walk went beyond its bound.
    #[error("{pattern}: invalid pattern: {message}")]
    BadPattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        message: String,
    },
    /// A glob pattern that matches nothing.
    #[error("{pattern}: no file matches")]
    NoMatch {
        /// The pattern as given.
        pattern: String,
    },
    /// A folder without any supported file in it.
    #[error("{}: folder holds no .csv, .json, .ndjson, .jsonl or .parquet file", path.display())]
    EmptyFolder {
        /// The folder.
        path: PathBuf,
    },
    /// A file whose extension is not a supported format.
    #[error("{file}: unknown format (expected .csv, .json, .ndjson, .jsonl or .parquet)")]
    UnknownFormat {
        /// The file.
        file: String,
    },
    /// Parquet given as text to [`super::load_str`]; it is read from files only.
    #[error("{file}: Parquet cannot be read from text, only from a file")]
    ParquetText {
        /// The name given for the text.
        file: String,
    },
    /// A `--map FIELD=COLUMN` whose field is not a call field.
    #[error("--map {field}={column}: unknown field `{field}` (expected one of {})", crate::model::column::ALL.join(", "))]
    UnknownField {
        /// The field as given.
        field: String,
        /// The column it was mapped to.
        column: String,
    },
    /// A file that could not be read.
    #[error("{file}: {source}")]
    Unreadable {
        /// The file.
        file: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A store file changed since `convert` wrote it: its checksum (see
    /// [`crate::store::STORE_CHECKSUM_KEY`]) does not match its bytes.
    #[error("{file}: damaged store: its bytes are not those `convert` wrote (checksum {found}, expected {expected}); convert the calls again")]
    DamagedStore {
        /// The file.
        file: String,
        /// The checksum the file carries.
        expected: String,
        /// The checksum of the file as it is.
        found: String,
    },
    /// A file that is not well-formed CSV or JSON.
    #[error("{file}:{line}: {message}")]
    Malformed {
        /// The file.
        file: String,
        /// 1-based line of the problem.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A CSV header or Parquet schema without a column that is needed.
    #[error(
        "{file}: missing column `{column}` ({})",
        missing_column_hint(field, column)
    )]
    MissingColumn {
        /// The file.
        file: String,
        /// The call field (SPEC §1) that is read from the column.
        field: String,
        /// The column looked for (the field name, or its `--map` column).
        column: String,
    },
    /// A Parquet column whose type cannot hold the field.
    #[error("{file}: column `{column}` has type {dtype}, expected {expected}")]
    BadColumnType {
        /// The file.
        file: String,
        /// The column.
        column: String,
        /// Its type in the file.
        dtype: String,
        /// What it should be.
        expected: &'static str,
    },
    /// A CSV or JSON row that cannot be read (SPEC §1.2).
    #[error("{0}")]
    InvalidRow(Box<InvalidRow>),
    /// A Parquet row that cannot be read; its `line` is the 1-based row number.
    #[error("{}: row {}: {}", .0.file, .0.line, .0.problem())]
    InvalidParquetRow(Box<InvalidRow>),
    /// An error from Polars while reading or assembling the frame.
    #[error("{context}: {source}")]
    Polars {
        /// The file, or what was being done.
        context: String,
        /// The underlying error.
        source: PolarsError,
    },
}

impl IngestError {
    /// The error of a store file (named `file`) that is not read.
    pub(crate) fn from_store(file: &str, error: ReadError) -> IngestError {
        let file = file.to_string();
        match error {
            ReadError::Unreadable(source) => IngestError::Unreadable { file, source },
            ReadError::Polars(source) => IngestError::Polars {
                context: file,
                source,
            },
            ReadError::Damaged { expected, found } => IngestError::DamagedStore {
                file,
                expected,
                found,
            },
            ReadError::BadRow(row) => IngestError::InvalidParquetRow(Box::new(row)),
        }
    }
}

/// The hint after a missing column: how to map one, or which mapping failed.
fn missing_column_hint(field: &str, column: &str) -> String {
    if field == column {
        format!("map one with --map {field}=COLUMN")
    } else {
        format!("mapped to field `{field}` with --map {field}={column}")
    }
}

/// A rejected value before its file and line are known.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RowError {
    /// The column or key as named in the file.
    pub column: String,
    /// The offending value as it appears.
    pub value: String,
    /// Why it was rejected.
    pub reason: Reason,
    /// More about the reason.
    pub detail: Option<String>,
}

impl RowError {
    /// Places the rejected value at `file:line`.
    pub fn locate(self, file: &str, line: u64) -> InvalidRow {
        InvalidRow {
            file: file.to_string(),
            line,
            column: self.column,
            value: truncate_value(&self.value),
            reason: self.reason,
            detail: self.detail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Reason;

    #[test]
    fn every_reason_is_listed_at_its_code() {
        for (index, reason) in Reason::ALL.iter().enumerate() {
            assert_eq!(usize::from(reason.code()), index, "{reason:?}");
        }
        // The last declared reason closes the list: none is left out.
        assert_eq!(Reason::ALL.len(), Reason::InvalidJson as usize + 1);
    }
}
