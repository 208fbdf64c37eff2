//! The call record of SPEC §1, its canonical columnar form, and the rules of
//! its values ([`rules`]).
//!
//! Every ingest path ends in the same Polars frame: one row per call, with the
//! columns named in [`column`](mod@column) and the types given by [`canonical_schema`]. The
//! engine reads nothing else, so a Parquet file written in this shape can be
//! scanned lazily and keep its predicate pushdown.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use polars::prelude::*;

pub mod rules;

/// Column names of the canonical call frame (SPEC §1 field names).
pub mod column {
    /// Call id (`String`, unique after de-duplication).
    pub const ID: &str = "id";
    /// Dial instant (`Datetime[µs, UTC]`).
    pub const DATE: &str = "date";
    /// `OUTBOUND` or `INBOUND` (`String`).
    pub const DIRECTION: &str = "direction";
    /// `CALL` or `SMS` (`String`).
    pub const TYPE: &str = "type";
    /// Rep id (`String`, nullable).
    pub const USER_ID: &str = "user_id";
    /// Rep name (`String`, nullable).
    pub const USER_NAME: &str = "user_name";
    /// Rep email (`String`, nullable).
    pub const USER_EMAIL: &str = "user_email";
    /// Allo number used, E.164 (`String`, nullable).
    pub const ALLO_NUMBER: &str = "allo_number";
    /// Label of the Allo number (`String`, nullable).
    pub const ALLO_NUMBER_LABEL: &str = "allo_number_label";
    /// Number dialled, E.164 (`String`, nullable).
    pub const CONTACT_NUMBER: &str = "contact_number";
    /// Telephony outcome in API case (`String`, null when unknown).
    pub const RESULT: &str = "result";
    /// Talk time in whole seconds (`Int64`, ≥ 0).
    pub const DURATION: &str = "duration";
    /// Ringing time in seconds (`Float64`, null when unknown).
    pub const RINGING_SECONDS: &str = "ringing_seconds";
    /// Lower-cased tag keys (`List[String]`).
    pub const TAGS: &str = "tags";

    /// Every canonical column, in canonical order.
    pub const ALL: [&str; 14] = [
        ID,
        DATE,
        DIRECTION,
        TYPE,
        USER_ID,
        USER_NAME,
        USER_EMAIL,
        ALLO_NUMBER,
        ALLO_NUMBER_LABEL,
        CONTACT_NUMBER,
        RESULT,
        DURATION,
        RINGING_SECONDS,
        TAGS,
    ];
}

/// A call field of SPEC §1, in canonical column order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Id,
    Date,
    Direction,
    Type,
    UserId,
    UserName,
    UserEmail,
    AlloNumber,
    AlloNumberLabel,
    ContactNumber,
    Result,
    Duration,
    RingingSeconds,
    Tags,
}

impl Field {
    /// Every field, in canonical order (the order of [`column::ALL`]).
    pub const ALL: [Field; 14] = [
        Field::Id,
        Field::Date,
        Field::Direction,
        Field::Type,
        Field::UserId,
        Field::UserName,
        Field::UserEmail,
        Field::AlloNumber,
        Field::AlloNumberLabel,
        Field::ContactNumber,
        Field::Result,
        Field::Duration,
        Field::RingingSeconds,
        Field::Tags,
    ];

    /// The SPEC §1 name, which is also the canonical column name.
    pub fn name(self) -> &'static str {
        column::ALL[self as usize]
    }
}

/// The time unit of the canonical `date` column.
pub const DATE_UNIT: TimeUnit = TimeUnit::Microseconds;

/// The Polars type of the canonical `date` column: microseconds, UTC.
pub fn date_dtype() -> DataType {
    DataType::Datetime(DATE_UNIT, Some(TimeZone::UTC))
}

/// The schema every ingest path produces and the engine expects.
pub fn canonical_schema() -> Schema {
    use column::*;
    let string = || DataType::String;
    let field = |name: &str, dtype| polars::prelude::Field::new(name.into(), dtype);
    Schema::from_iter([
        field(ID, string()),
        field(DATE, date_dtype()),
        field(DIRECTION, string()),
        field(TYPE, string()),
        field(USER_ID, string()),
        field(USER_NAME, string()),
        field(USER_EMAIL, string()),
        field(ALLO_NUMBER, string()),
        field(ALLO_NUMBER_LABEL, string()),
        field(CONTACT_NUMBER, string()),
        field(RESULT, string()),
        field(DURATION, DataType::Int64),
        field(RINGING_SECONDS, DataType::Float64),
        field(TAGS, DataType::List(Box::new(string()))),
    ])
}

/// Error for an enum value that is not one of the API's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}` (expected one of {expected})")]
pub struct UnknownValue {
    /// What was being parsed, e.g. `result`.
    pub kind: &'static str,
    /// The offending text.
    pub value: String,
    /// The accepted values, comma separated.
    pub expected: &'static str,
}

/// Declares a string enum that parses as [`rules::match_spelling`] reads the
/// API's values and prints in API case.
macro_rules! api_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $(
                #[doc = concat!("`", $text, "`")]
                $variant
            ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The API's spelling of every value, in declaration order.
            pub const SPELLINGS: &'static [&'static str] = &[$($text),+];

            /// The API's spelling (upper case).
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match rules::match_spelling(Self::SPELLINGS, text) {
                    Some(index) => Ok(Self::ALL[index]),
                    None => Err(UnknownValue {
                        kind: $kind,
                        value: text.to_string(),
                        expected: concat!($($text, " "),+),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

api_enum!(
    /// Direction of a call; only `OUTBOUND` enters the metrics.
    Direction, "direction" { Outbound => "OUTBOUND", Inbound => "INBOUND" }
);

api_enum!(
    /// Kind of conversation item; only `CALL` enters the metrics.
    CallType, "type" { Call => "CALL", Sms => "SMS" }
);

api_enum!(
    /// Telephony outcome of a call (SPEC §1). Which outcomes are connected is
    /// a stage rule (SPEC §3, `crate::stages`).
    CallResult, "result" {
        Answered => "ANSWERED",
        Voicemail => "VOICEMAIL",
        Transferred => "TRANSFERRED",
        TransferredAi => "TRANSFERRED_AI",
        TransferredExternal => "TRANSFERRED_EXTERNAL",
        Missed => "MISSED",
        NoAnswer => "NO_ANSWER",
        Busy => "BUSY",
        Failed => "FAILED",
        FailedExternal => "FAILED_EXTERNAL",
        Blocked => "BLOCKED",
        Canceled => "CANCELED",
        Closed => "CLOSED",
        Received => "RECEIVED",
    }
);

/// A tag key as calls and requests hold it (SPEC §1.2): trimmed and lower
/// case; `None` when nothing is left. Data and request tags go through this
/// one function, so they always compare alike.
pub fn normalize_tag(tag: &str) -> Option<String> {
    let tag = tag.trim();
    (!tag.is_empty()).then(|| tag.to_lowercase())
}

/// Tag keys as a request holds them: each normalized ([`normalize_tag`]),
/// empty ones dropped, each kept once, in their first order.
pub fn normalize_tags<'a>(tags: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    tags.into_iter()
        .filter_map(normalize_tag)
        .filter(|tag| seen.insert(tag.clone()))
        .collect()
}

/// One call, as read from any input (SPEC §1).
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Unique call id.
    pub id: String,
    /// Dial instant.
    pub date: DateTime<Utc>,
    /// Direction (default [`rules::DEFAULT_DIRECTION`]).
    pub direction: Direction,
    /// Item type (default [`rules::DEFAULT_TYPE`]).
    pub call_type: CallType,
    /// Rep id.
    pub user_id: Option<String>,
    /// Rep name.
    pub user_name: Option<String>,
    /// Rep email.
    pub user_email: Option<String>,
    /// Allo number used.
    pub allo_number: Option<String>,
    /// Label of the Allo number.
    pub allo_number_label: Option<String>,
    /// Number dialled.
    pub contact_number: Option<String>,
    /// Telephony outcome; `None` is unknown (not connected).
    pub result: Option<CallResult>,
    /// Talk time in seconds.
    pub duration: i64,
    /// Ringing time in seconds, when known.
    pub ringing_seconds: Option<f64>,
    /// Tag keys, lower case.
    pub tags: Vec<String>,
}

impl Call {
    /// A call with only the required fields set and every default applied.
    pub fn new(id: impl Into<String>, date: DateTime<Utc>) -> Self {
        Call {
            id: id.into(),
            date,
            direction: rules::DEFAULT_DIRECTION,
            call_type: rules::DEFAULT_TYPE,
            user_id: None,
            user_name: None,
            user_email: None,
            allo_number: None,
            allo_number_label: None,
            contact_number: None,
            result: None,
            duration: 0,
            ringing_seconds: None,
            tags: Vec::new(),
        }
    }
}

/// Column-wise builder of the canonical frame.
#[derive(Debug, Default)]
pub struct CallColumns {
    id: Vec<String>,
    date: Vec<i64>,
    direction: Vec<&'static str>,
    call_type: Vec<&'static str>,
    user_id: Vec<Option<String>>,
    user_name: Vec<Option<String>>,
    user_email: Vec<Option<String>>,
    allo_number: Vec<Option<String>>,
    allo_number_label: Vec<Option<String>>,
    contact_number: Vec<Option<String>>,
    result: Vec<Option<&'static str>>,
    duration: Vec<i64>,
    ringing_seconds: Vec<Option<f64>>,
    tags: Vec<Vec<String>>,
}

impl CallColumns {
    /// An empty builder with room for `capacity` calls.
    pub fn with_capacity(capacity: usize) -> Self {
        CallColumns {
            id: Vec::with_capacity(capacity),
            date: Vec::with_capacity(capacity),
            direction: Vec::with_capacity(capacity),
            call_type: Vec::with_capacity(capacity),
            user_id: Vec::with_capacity(capacity),
            user_name: Vec::with_capacity(capacity),
            user_email: Vec::with_capacity(capacity),
            allo_number: Vec::with_capacity(capacity),
            allo_number_label: Vec::with_capacity(capacity),
            contact_number: Vec::with_capacity(capacity),
            result: Vec::with_capacity(capacity),
            duration: Vec::with_capacity(capacity),
            ringing_seconds: Vec::with_capacity(capacity),
            tags: Vec::with_capacity(capacity),
        }
    }

    /// Number of calls pushed so far.
    pub fn len(&self) -> usize {
        self.id.len()
    }

    /// Whether no call was pushed.
    pub fn is_empty(&self) -> bool {
        self.id.is_empty()
    }

    /// Appends one call.
    pub fn push(&mut self, call: Call) {
        self.id.push(call.id);
        self.date.push(call.date.timestamp_micros());
        self.direction.push(call.direction.as_str());
        self.call_type.push(call.call_type.as_str());
        self.user_id.push(call.user_id);
        self.user_name.push(call.user_name);
        self.user_email.push(call.user_email);
        self.allo_number.push(call.allo_number);
        self.allo_number_label.push(call.allo_number_label);
        self.contact_number.push(call.contact_number);
        self.result.push(call.result.map(CallResult::as_str));
        self.duration.push(call.duration);
        self.ringing_seconds.push(call.ringing_seconds);
        self.tags.push(call.tags);
    }

    /// Builds the canonical frame (see [`canonical_schema`]).
    pub fn into_frame(self) -> PolarsResult<DataFrame> {
        use column::*;
        let height = self.id.len();
        let date = Int64Chunked::from_vec(DATE.into(), self.date)
            .into_datetime(DATE_UNIT, Some(TimeZone::UTC))
            .into_column();
        let mut tags = ListStringChunkedBuilder::new(TAGS.into(), height, height);
        for call_tags in &self.tags {
            tags.append_values_iter(call_tags.iter().map(String::as_str));
        }
        let columns = vec![
            Column::new(ID.into(), self.id),
            date,
            Column::new(DIRECTION.into(), self.direction),
            Column::new(TYPE.into(), self.call_type),
            Column::new(USER_ID.into(), self.user_id),
            Column::new(USER_NAME.into(), self.user_name),
            Column::new(USER_EMAIL.into(), self.user_email),
            Column::new(ALLO_NUMBER.into(), self.allo_number),
            Column::new(ALLO_NUMBER_LABEL.into(), self.allo_number_label),
            Column::new(CONTACT_NUMBER.into(), self.contact_number),
            Column::new(RESULT.into(), self.result),
            Column::new(DURATION.into(), self.duration),
            Column::new(RINGING_SECONDS.into(), self.ringing_seconds),
            tags.finish().into_column(),
        ];
        DataFrame::new(height, columns)
    }
}

/// Builds the canonical frame from calls held in memory.
pub fn calls_to_frame(calls: impl IntoIterator<Item = Call>) -> PolarsResult<DataFrame> {
    let iter = calls.into_iter();
    let mut columns = CallColumns::with_capacity(iter.size_hint().0);
    for call in iter {
        columns.push(call);
    }
    columns.into_frame()
}
