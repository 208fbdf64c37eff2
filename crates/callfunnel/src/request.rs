//! The request body of SPEC §2 and its validation (SPEC §2.1).
//!
//! A request is always read from JSON (a file, standard input, or a body the
//! CLI builds from its flags), so every path goes through the same checks and
//! produces the same error envelope as the API.

use std::fmt;

use chrono::{Datelike, Days, NaiveDate};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::analysis::{comparison_period, AnalysisRequest};
use crate::pagination::{page_number, page_size};
pub use crate::pagination::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// Default conversation threshold in seconds (SPEC §3).
pub const DEFAULT_CONVERSATION_THRESHOLD_SECONDS: i64 = 60;
/// The most time-series buckets a period (`date`, or a given
/// `compare_date`) may span: 27 years of days, 191 of weeks, 833 of months.
/// A bucket is a point in each of the four series, so this bounds the
/// answer's size and the work and memory of one request, whatever its dates.
pub const MAX_BUCKETS: u64 = 10_000;

/// An inclusive range of calendar days, `from` to `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct DateRange {
    /// First day, inclusive.
    #[serde(serialize_with = "serialize_day")]
    pub from: NaiveDate,
    /// Last day, inclusive.
    #[serde(serialize_with = "serialize_day")]
    pub to: NaiveDate,
}

fn serialize_day<S: serde::Serializer>(day: &NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&day.format("%Y-%m-%d"))
}

impl DateRange {
    /// Number of days in the range (at least 1).
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// Whether `day` lies in the range.
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }

    /// How many time-series buckets of `granularity` the range spans (the
    /// first may start before `from`, SPEC §4).
    pub fn buckets(&self, granularity: Granularity) -> u64 {
        let spanned = match granularity {
            Granularity::Day => self.days(),
            Granularity::Week => (week_start(self.to) - week_start(self.from)).num_days() / 7 + 1,
            Granularity::Month => {
                months_since_year_zero(self.to) - months_since_year_zero(self.from) + 1
            }
        };
        spanned.unsigned_abs()
    }

    /// The equally long range that ends the day before this one starts
    /// (the default `compare_date`, SPEC §2).
    pub fn preceding(&self) -> DateRange {
        let to = self.from - Days::new(1);
        let from = to - Days::new(self.days() as u64 - 1);
        DateRange { from, to }
    }
}

/// The Monday of `day`'s ISO week.
fn week_start(day: NaiveDate) -> NaiveDate {
    day - Days::new(u64::from(day.weekday().num_days_from_monday()))
}

/// Calendar months from January of year 0 to `day`'s month.
fn months_since_year_zero(day: NaiveDate) -> i64 {
    i64::from(day.year()) * 12 + i64::from(day.month0())
}

/// Time-series bucket size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Granularity {
    /// One bucket per calendar day.
    Day,
    /// One bucket per ISO week (Monday first).
    Week,
    /// One bucket per calendar month.
    Month,
}

/// A funnel stage, in funnel order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Stage {
    /// Every outbound dial.
    Dial,
    /// The recipient picked up.
    Connected,
    /// Connected and longer than the threshold.
    Conversation,
    /// Tagged with one of the request's tags.
    Conversion,
}

impl Stage {
    /// Every stage, in funnel order.
    pub const ALL: [Stage; 4] = [
        Stage::Dial,
        Stage::Connected,
        Stage::Conversation,
        Stage::Conversion,
    ];

    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Dial => "DIAL",
            Stage::Connected => "CONNECTED",
            Stage::Conversation => "CONVERSATION",
            Stage::Conversion => "CONVERSION",
        }
    }

    fn parse(text: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|stage| stage.as_str() == text)
    }
}

/// The drilldown part of a request (`extend=items`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemsRequest {
    /// Which stage's calls to list.
    pub stage: Stage,
    /// 1-based page number.
    pub page: u32,
    /// Page size, 1..=100.
    pub size: u32,
}

/// A validated request (SPEC §2), with every default resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The current period.
    pub date: DateRange,
    /// The comparison period: given, set by a `compare` preset, or the
    /// default preceding period; `None` with `compare: none` (SPEC §8.5).
    pub compare_date: Option<DateRange>,
    /// Keep only calls of these users (empty: no filter).
    pub user_ids: Vec<String>,
    /// Keep only calls from these Allo numbers (empty: no filter).
    pub allo_numbers: Vec<String>,
    /// Tag keys that define a conversion: trimmed, lower case, each once,
    /// no empty one (as calls hold them, see [`crate::model::normalize_tags`]).
    pub tags: Vec<String>,
    /// Time-series bucket size.
    pub granularity: Granularity,
    /// The drilldown, when `extend=items`.
    pub items: Option<ItemsRequest>,
    /// Zone in which days, buckets, weekdays and hours are read.
    pub timezone: Tz,
    /// A connected call is a conversation when its duration exceeds this.
    pub conversation_threshold_seconds: i64,
    /// What of SPEC §8 (beyond the API) is asked for; nothing by default.
    pub analysis: AnalysisRequest,
}

/// The API's error codes (SPEC §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// Not JSON, a wrong type or an unknown enum value.
    InvalidRequestBody,
    /// A required parameter is absent.
    MissingParameter,
    /// A date does not parse, or `from` is after `to`.
    InvalidDateRange,
    /// `granularity` is not DAY, WEEK or MONTH.
    InvalidGranularity,
    /// `extend` is not `items`.
    UnsupportedExtendValue,
    /// `stage=CONVERSION` drilldown without `tags`.
    TagsRequired,
    /// `size` outside 1..=100.
    InvalidPageSize,
    /// Both `user_ids` and `allo_numbers` given (since definitions 2: the
    /// code the real API answers).
    FilterConflict,
    /// `group_by` is not one of SPEC §8.1's keys (an extension: the API has
    /// no `group_by`).
    InvalidGroupBy,
    /// `compare: previous_month` while `date` is not one whole calendar
    /// month (SPEC §8.5, an extension).
    InvalidCompare,
}

/// The API's error envelope content: `{"error": {...}}` when serialized via
/// [`ApiError::envelope`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message} ({code:?}, param {param:?})")]
pub struct ApiError {
    /// Always `validation_error` for request validation.
    #[serde(rename = "type")]
    pub error_type: &'static str,
    /// Machine-readable code.
    pub code: ErrorCode,
    /// Human-readable message.
    pub message: String,
    /// Whether retrying the same request could succeed (never, here).
    pub retryable: bool,
    /// The offending field, when there is one.
    pub param: Option<String>,
}

impl ApiError {
    pub(crate) fn new(code: ErrorCode, param: Option<&str>, message: impl Into<String>) -> Self {
        ApiError {
            error_type: "validation_error",
            code,
            message: message.into(),
            retryable: false,
            param: param.map(str::to_string),
        }
    }

    /// The envelope `{"error": {...}}` as the API returns it.
    pub fn envelope(&self) -> Value {
        serde_json::json!({ "error": self })
    }

    /// The envelope as JSON text on one line, its fields in the API's order
    /// (`type`, `code`, `message`, `retryable`, `param`).
    pub fn envelope_json(&self) -> String {
        #[derive(Serialize)]
        struct Envelope<'a> {
            error: &'a ApiError,
        }
        serde_json::to_string(&Envelope { error: self }).expect("error envelopes serialize")
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_value(self).expect("error codes serialize");
        f.write_str(text.as_str().unwrap_or_default())
    }
}

pub(crate) fn body_error(param: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequestBody, Some(param), message)
}

impl Request {
    /// Parses and validates a request body given as JSON text.
    pub fn from_json_str(text: &str) -> Result<Request, ApiError> {
        let body: Value = serde_json::from_str(text).map_err(|err| {
            ApiError::new(
                ErrorCode::InvalidRequestBody,
                None,
                format!("request body is not valid JSON: {err}"),
            )
        })?;
        Request::from_json(&body)
    }

    /// Validates a request body already parsed as JSON (SPEC §2.1).
    ///
    /// `null` fields count as absent.
    pub fn from_json(body: &Value) -> Result<Request, ApiError> {
        let Value::Object(body) = body else {
            return Err(ApiError::new(
                ErrorCode::InvalidRequestBody,
                None,
                "request body must be a JSON object",
            ));
        };
        let fields = Fields(body);

        let user_ids = fields.string_list("user_ids")?;
        let allo_numbers = fields.string_list("allo_numbers")?;
        let tags =
            crate::model::normalize_tags(fields.string_list("tags")?.iter().map(String::as_str));
        let granularity_text = fields.string("granularity")?;
        let extend = fields.string("extend")?;
        let stage_text = fields.string("stage")?;
        let page = fields.integer("page")?;
        let size = fields.integer("size")?;
        let timezone_text = fields.string("timezone")?;
        let threshold = fields.integer("conversation_threshold_seconds")?;

        let date = match fields.get("date") {
            None => {
                return Err(ApiError::new(
                    ErrorCode::MissingParameter,
                    Some("date"),
                    "date is required",
                ))
            }
            Some(value) => parse_range(value, "date")?,
        };
        let given_compare_date = fields
            .get("compare_date")
            .map(|value| parse_range(value, "compare_date"))
            .transpose()?;

        let granularity = match granularity_text.as_deref() {
            None | Some("DAY") => Granularity::Day,
            Some("WEEK") => Granularity::Week,
            Some("MONTH") => Granularity::Month,
            Some(other) => {
                return Err(ApiError::new(
                    ErrorCode::InvalidGranularity,
                    Some("granularity"),
                    format!("granularity must be DAY, WEEK or MONTH, not `{other}`"),
                ))
            }
        };

        check_buckets(&date, granularity, "date")?;
        if let Some(range) = &given_compare_date {
            check_buckets(range, granularity, "compare_date")?;
        }

        let stage = match stage_text.as_deref() {
            None => None,
            Some(text) => Some(Stage::parse(text).ok_or_else(|| {
                body_error(
                    "stage",
                    format!(
                        "stage must be DIAL, CONNECTED, CONVERSATION or CONVERSION, not `{text}`"
                    ),
                )
            })?),
        };

        let wants_items = match extend.as_deref() {
            None => false,
            Some("items") => true,
            Some(other) => {
                return Err(ApiError::new(
                    ErrorCode::UnsupportedExtendValue,
                    Some("extend"),
                    format!("extend must be `items`, not `{other}`"),
                ))
            }
        };
        if wants_items && stage.is_none() {
            return Err(ApiError::new(
                ErrorCode::MissingParameter,
                Some("stage"),
                "extend=items requires stage",
            ));
        }
        if wants_items && stage == Some(Stage::Conversion) && tags.is_empty() {
            return Err(ApiError::new(
                ErrorCode::TagsRequired,
                Some("tags"),
                "stage=CONVERSION requires tags",
            ));
        }

        let size = page_size(size).map_err(|error| {
            ApiError::new(ErrorCode::InvalidPageSize, Some("size"), error.to_string())
        })?;
        let page = page_number(page).map_err(|error| body_error("page", error.to_string()))?;

        if !user_ids.is_empty() && !allo_numbers.is_empty() {
            return Err(ApiError::new(
                ErrorCode::FilterConflict,
                Some("allo_numbers"),
                "allo_numbers cannot be combined with user_ids",
            ));
        }

        let timezone = match timezone_text.as_deref() {
            None => Tz::UTC,
            Some(name) => name
                .parse::<Tz>()
                .map_err(|_| body_error("timezone", format!("unknown time zone `{name}`")))?,
        };

        let conversation_threshold_seconds = match threshold {
            None => DEFAULT_CONVERSATION_THRESHOLD_SECONDS,
            Some(seconds) => i64::try_from(seconds)
                .ok()
                .filter(|seconds| *seconds >= 0)
                .ok_or_else(|| {
                    body_error(
                        "conversation_threshold_seconds",
                        format!(
                            "conversation_threshold_seconds must be from 0 to {}, not {seconds}",
                            i64::MAX
                        ),
                    )
                })?,
        };

        // A preset's period is as long as `date`, so it spans at most one bucket more.
        let compare_date = comparison_period(&fields, &date, given_compare_date)?;
        let analysis = AnalysisRequest::from_fields(&fields)?;

        Ok(Request {
            date,
            compare_date,
            user_ids,
            allo_numbers,
            tags,
            granularity,
            items: match (wants_items, stage) {
                (true, Some(stage)) => Some(ItemsRequest { stage, page, size }),
                _ => None,
            },
            timezone,
            conversation_threshold_seconds,
            analysis,
        })
    }
}

/// Typed access to the body's fields; `null` reads as absent.
pub(crate) struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|value| !value.is_null())
    }

    pub(crate) fn string(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(other) => Err(body_error(
                name,
                format!("{name} must be a string, not {other}"),
            )),
        }
    }

    pub(crate) fn boolean(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(false),
            Some(Value::Bool(flag)) => Ok(*flag),
            Some(other) => Err(body_error(
                name,
                format!("{name} must be true or false, not {other}"),
            )),
        }
    }

    /// An integer, exactly as given (beyond 64 bits signed too, so that a
    /// range check names the value sent, never a clamped one).
    pub(crate) fn integer(&self, name: &str) -> Result<Option<i128>, ApiError> {
        let exact = |number: &serde_json::Number| {
            number
                .as_i64()
                .map(i128::from)
                .or_else(|| number.as_u64().map(i128::from))
        };
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(number)) if exact(number).is_some() => Ok(exact(number)),
            Some(other) => Err(body_error(
                name,
                format!("{name} must be an integer, not {other}"),
            )),
        }
    }

    fn string_list(&self, name: &str) -> Result<Vec<String>, ApiError> {
        let wrong = || body_error(name, format!("{name} must be an array of strings"));
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(values)) => values
                .iter()
                .map(|value| value.as_str().map(str::to_string).ok_or_else(wrong))
                .collect(),
            Some(_) => Err(wrong()),
        }
    }
}

/// Refuses a period of more than [`MAX_BUCKETS`] buckets (`INVALID_DATE_RANGE`).
fn check_buckets(range: &DateRange, granularity: Granularity, param: &str) -> Result<(), ApiError> {
    let buckets = range.buckets(granularity);
    if buckets <= MAX_BUCKETS {
        return Ok(());
    }
    let (name, longest) = match granularity {
        Granularity::Day => ("DAY", "27 years"),
        Granularity::Week => ("WEEK", "191 years"),
        Granularity::Month => ("MONTH", "833 years"),
    };
    Err(ApiError::new(
        ErrorCode::InvalidDateRange,
        Some(param),
        format!(
            "{param} ({} to {}) spans {buckets} {name} buckets; a period may span at most {MAX_BUCKETS} (about {longest} with {name})",
            range.from, range.to
        ),
    ))
}

/// Parses `{from, to}`; anything malformed inside it is `INVALID_DATE_RANGE`.
fn parse_range(value: &Value, param: &str) -> Result<DateRange, ApiError> {
    let invalid =
        |message: String| ApiError::new(ErrorCode::InvalidDateRange, Some(param), message);
    let Value::Object(range) = value else {
        return Err(invalid(format!(
            "{param} must be an object {{\"from\": \"YYYY-MM-DD\", \"to\": \"YYYY-MM-DD\"}}"
        )));
    };
    let day = |end: &str| -> Result<NaiveDate, ApiError> {
        match range.get(end) {
            Some(Value::String(text)) => parse_day(text)
                .ok_or_else(|| invalid(format!("{param}.{end} `{text}` is not a YYYY-MM-DD date"))),
            Some(other) => Err(invalid(format!(
                "{param}.{end} must be a YYYY-MM-DD date, not {other}"
            ))),
            None => Err(invalid(format!("{param}.{end} is required"))),
        }
    };
    let (from, to) = (day("from")?, day("to")?);
    if from > to {
        return Err(invalid(format!(
            "{param}.from ({from}) is after {param}.to ({to})"
        )));
    }
    Ok(DateRange { from, to })
}

/// Parses a strict `YYYY-MM-DD` calendar date.
pub fn parse_day(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shape_ok {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn range(from: &str, to: &str) -> DateRange {
        DateRange {
            from: parse_day(from).unwrap(),
            to: parse_day(to).unwrap(),
        }
    }

    #[test]
    fn buckets_count_days_iso_weeks_and_months() {
        // 2024-03-03 is a Sunday: its week starts on Monday 2024-02-26.
        let period = range("2024-03-03", "2024-04-01");
        assert_eq!(period.buckets(Granularity::Day), 30);
        assert_eq!(period.buckets(Granularity::Week), 6);
        assert_eq!(period.buckets(Granularity::Month), 2);
        let day = range("2024-03-03", "2024-03-03");
        for granularity in [Granularity::Day, Granularity::Week, Granularity::Month] {
            assert_eq!(day.buckets(granularity), 1);
        }
    }

    #[test]
    fn a_period_of_more_than_the_most_buckets_is_refused() {
        let body = |granularity: &str, from: &str, to: &str| json!({"date": {"from": from, "to": to}, "granularity": granularity});
        // 10,000 days from 2000-01-01 end on 2027-05-18.
        assert!(Request::from_json(&body("DAY", "2000-01-01", "2027-05-18")).is_ok());
        let error = Request::from_json(&body("DAY", "2000-01-01", "2027-05-19")).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidDateRange);
        assert_eq!(error.param.as_deref(), Some("date"));
        assert_eq!(
            error.message,
            "date (2000-01-01 to 2027-05-19) spans 10001 DAY buckets; a period may span at most 10000 (about 27 years with DAY)"
        );
        let whole = body("WEEK", "0000-01-01", "9999-12-31");
        let error = Request::from_json(&whole).unwrap_err();
        assert!(
            error.message.contains("spans 521776 WEEK buckets"),
            "{error}"
        );
        assert!(Request::from_json(&body("MONTH", "1500-01-01", "2299-12-31")).is_ok());

        let compare = json!({
            "date": {"from": "2024-03-04", "to": "2024-03-10"},
            "compare_date": {"from": "0000-01-01", "to": "2024-03-03"},
        });
        let error = Request::from_json(&compare).unwrap_err();
        assert_eq!(
            (error.code, error.param.as_deref()),
            (ErrorCode::InvalidDateRange, Some("compare_date"))
        );
    }

    #[test]
    fn integers_beyond_their_range_are_refused_with_the_value_sent() {
        let body = |field: &str, value: Value| {
            let mut body = json!({"date": {"from": "2024-03-04", "to": "2024-03-10"}, "extend": "items", "stage": "DIAL"});
            body[field] = value;
            body
        };
        let error = Request::from_json(&body("page", json!(4_294_967_296u64))).unwrap_err();
        assert_eq!(error.param.as_deref(), Some("page"));
        assert_eq!(
            error.message,
            "page must be at most 4294967295, not 4294967296"
        );
        let page = Request::from_json(&body("page", json!(4_294_967_295u64))).unwrap();
        assert_eq!(page.items.unwrap().page, u32::MAX);

        let error = Request::from_json(&body("size", json!(u64::MAX))).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidPageSize);
        assert_eq!(
            error.message,
            "size must be between 1 and 100, not 18446744073709551615"
        );
        let error = Request::from_json(&body(
            "conversation_threshold_seconds",
            json!(9_223_372_036_854_775_808u64),
        ))
        .unwrap_err();
        assert_eq!(
            error.message,
            "conversation_threshold_seconds must be from 0 to 9223372036854775807, not 9223372036854775808"
        );
    }
}
