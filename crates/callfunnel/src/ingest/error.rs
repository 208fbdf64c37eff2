//! Errors of the ingest step and the reasons a row can be rejected (SPEC §1.2).

use std::fmt;
use std::path::PathBuf;

use polars::prelude::PolarsError;

/// Longest offending value quoted in a message, in characters.
const MAX_VALUE_CHARS: usize = 80;

/// Why a row could not be read (SPEC §1.2).
///
/// Its text ([`Reason::as_str`]) ends every [`InvalidRow`] message and is the
/// key under which `--skip-invalid` counts skipped rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// No `id`, or an empty one.
    MissingId,
    /// No `date`, or an empty one.
    MissingDate,
    /// A `date` that is not a timestamp, or a local time that does not exist.
    BadTimestamp,
    /// A `duration` below zero.
    NegativeDuration,
    /// A `duration` that is not a number.
    NonNumericDuration,
    /// A `duration` with a fractional part.
    NonIntegerDuration,
    /// A `ringing_seconds` below zero.
    NegativeRingingSeconds,
    /// A `ringing_seconds` that is not a finite number.
    NonNumericRingingSeconds,
    /// A `ringing_seconds` beyond [`crate::engine::MAX_RINGING_SECONDS`]
    /// (its milliseconds would not fit 64 bits).
    RingingSecondsTooLarge,
    /// A `result` that is not one of the API's.
    UnknownResult,
    /// A `direction` other than `OUTBOUND` or `INBOUND`.
    UnknownDirection,
    /// A `type` other than `CALL` or `SMS`.
    UnknownType,
    /// A drilldown item `stage` other than the four funnel stages.
    UnknownStage,
    /// A drilldown item `voicemail` that is not a boolean.
    InvalidVoicemail,
    /// A text field holding invalid UTF-8, or a JSON array or object.
    InvalidText,
    /// `tags` that are neither a string nor an array of strings.
    InvalidTags,
    /// A JSON `user` that is neither an object nor `null`.
    InvalidUser,
    /// A JSON record that is not an object.
    NotAnObject,
    /// A CSV record whose number of fields differs from the header's.
    WrongFieldCount,
    /// An NDJSON line that is not exactly one JSON value.
    InvalidJson,
}

impl Reason {
    /// Every reason, in declaration order (so that `ALL[reason.code()]` is `reason`).
    pub(crate) const ALL: [Reason; 20] = [
        Reason::MissingId,
        Reason::MissingDate,
        Reason::BadTimestamp,
        Reason::NegativeDuration,
        Reason::NonNumericDuration,
        Reason::NonIntegerDuration,
        Reason::NegativeRingingSeconds,
        Reason::NonNumericRingingSeconds,
        Reason::RingingSecondsTooLarge,
        Reason::UnknownResult,
        Reason::UnknownDirection,
        Reason::UnknownType,
        Reason::UnknownStage,
        Reason::InvalidVoicemail,
        Reason::InvalidText,
        Reason::InvalidTags,
        Reason::InvalidUser,
        Reason::NotAnObject,
        Reason::WrongFieldCount,
        Reason::InvalidJson,
    ];

    /// A small number standing for the reason in a column of reasons.
    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    /// The reason of a [`Reason::code`].
    pub(crate) fn from_code(code: u8) -> Option<Reason> {
        Reason::ALL.get(usize::from(code)).copied()
    }

    /// The reason as printed, e.g. `bad timestamp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::MissingId => "missing id",
            Reason::MissingDate => "missing date",
            Reason::BadTimestamp => "bad timestamp",
            Reason::NegativeDuration => "negative duration",
            Reason::NonNumericDuration => "non-numeric duration",
            Reason::NonIntegerDuration => "non-integer duration",
            Reason::NegativeRingingSeconds => "negative ringing_seconds",
            Reason::NonNumericRingingSeconds => "non-numeric ringing_seconds",
            Reason::RingingSecondsTooLarge => "ringing_seconds too large",
            Reason::UnknownResult => "unknown result",
            Reason::UnknownDirection => "unknown direction",
            Reason::UnknownType => "unknown type",
            Reason::UnknownStage => "unknown stage",
            Reason::InvalidVoicemail => "invalid voicemail",
            Reason::InvalidText => "invalid text",
            Reason::InvalidTags => "invalid tags",
            Reason::InvalidUser => "invalid user",
            Reason::NotAnObject => "not an object",
            Reason::WrongFieldCount => "wrong number of fields",
            Reason::InvalidJson => "invalid JSON",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A row that could not be read, with where it is and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRow {
    /// The file (or the name given to [`super::load_str`]).
    pub file: String,
    /// 1-based physical line where the row starts (the CSV header is line 1);
    /// for Parquet, the 1-based row number.
    pub line: u64,
    /// The column (CSV) or key (JSON) as named in the file.
    pub column: String,
    /// The offending value as it appears, cut to about 80 characters.
    pub value: String,
    /// Why the row was rejected.
    pub reason: Reason,
    /// More about the reason, e.g. the accepted values.
    pub detail: Option<String>,
}

impl InvalidRow {
    /// Everything after the position: column, value, reason and detail.
    fn problem(&self) -> String {
        let detail = match &self.detail {
            Some(detail) => format!(" ({detail})"),
            None => String::new(),
        };
        format!(
            "column `{}`: invalid value `{}`: {}{detail}",
            self.column, self.value, self.reason
        )
    }
}

impl fmt::Display for InvalidRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.problem())
    }
}

/// Cuts `value` to about [`MAX_VALUE_CHARS`] characters for a message.
pub(crate) fn truncate_value(value: &str) -> String {
    match value.char_indices().nth(MAX_VALUE_CHARS) {
        Some((end, _)) => format!("{}…", &value[..end]),
        None => value.to_string(),
    }
}

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
    /// An input that is neither a regular file nor a folder (a FIFO, a
    /// socket, a device): it could not be read more than once, or might
    /// never end.
    #[error("{}: not a regular file (a pipe or device cannot be read; save it to a file first)", path.display())]
    NotRegularFile {
        /// The path as given.
        path: PathBuf,
    },
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
