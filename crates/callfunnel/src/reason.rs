//! Why a row is refused (SPEC §1.2): one list for every reader, the store
//! rules and `--skip-invalid`'s counts; and a refused row with its place.

use std::fmt;

/// Why a row could not be read (SPEC §1.2).
///
/// Its text ([`Reason::as_str`]) ends every
/// [`InvalidRow`] message and is the key under
/// which `--skip-invalid` counts skipped rows.
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
    /// A `ringing_seconds` beyond [`crate::model::rules::MAX_RINGING_SECONDS`]
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

/// Longest offending value quoted in a message, in characters.
const MAX_VALUE_CHARS: usize = 80;

/// A row that could not be read, with where it is and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRow {
    /// The file (or the name given to [`crate::ingest::load_str`]).
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
    pub(crate) fn problem(&self) -> String {
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
