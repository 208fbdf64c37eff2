//! Why a row is refused (SPEC §1.2): one list for every reader, the store
//! rules and `--skip-invalid`'s counts.

use std::fmt;

/// Why a row could not be read (SPEC §1.2).
///
/// Its text ([`Reason::as_str`]) ends every
/// [`InvalidRow`](crate::ingest::InvalidRow) message and is the key under
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
