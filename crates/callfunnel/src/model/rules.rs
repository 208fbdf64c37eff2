//! SPEC §1's value rules, each written once: which fields a call needs, what
//! an absent value becomes, which values are refused and why.
//!
//! A rule is here in both forms the readers need, side by side: a check of
//! one value, for the readers that go value by value (CSV rows, JSON, the
//! text and number columns of Parquet), and a Polars expression, for those
//! that go column by column (CSV and Parquet in canonical form, the store's
//! checks). Every reader takes its rules from here, so a value is accepted,
//! normalised or refused alike whatever the input.
//!
//! ```
//! use callfunnel::model::rules::{match_spelling, MAX_RINGING_SECONDS};
//! use callfunnel::model::CallResult;
//!
//! assert_eq!(match_spelling(CallResult::SPELLINGS, " no_answer "), Some(6));
//! assert!(MAX_RINGING_SECONDS * 1000.0 < i64::MAX as f64);
//! ```

use polars::prelude::*;

use super::{CallResult, CallType, Direction, Field};
use crate::reason::Reason;

// ---------------------------------------------------------------------------
// Required fields and text.
// ---------------------------------------------------------------------------

impl Field {
    /// Whether a call cannot go without this field: its `id` (what makes
    /// two rows one call) and its `date` (what puts it in a period). A CSV
    /// or Parquet input must have their columns.
    pub fn is_required(self) -> bool {
        matches!(self, Field::Id | Field::Date)
    }
}

/// The reason a call lacking required `field` is refused.
fn missing_reason(field: Field) -> Reason {
    match field {
        Field::Id => Reason::MissingId,
        _ => Reason::MissingDate,
    }
}

/// The value of required `field`; a call without one is refused.
pub(crate) fn required<T>(field: Field, value: Option<T>) -> Result<T, Reason> {
    value.ok_or(missing_reason(field))
}

/// The rows lacking required `field` (its canonical column): a null, or for
/// the id an empty text (an empty text is no value, see [`text_value`]).
pub(crate) fn missing(field: Field, value: Expr) -> (Reason, Expr) {
    let lacking = match field {
        Field::Id => value.clone().is_null().or(value.eq(lit(""))),
        _ => value.is_null(),
    };
    (missing_reason(field), lacking)
}

/// A text value: trimmed, and absent when nothing is left, so that `" x "`
/// and `"x"` are one rep and an empty cell is no value.
pub(crate) fn text_value(text: &str) -> Option<&str> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then_some(trimmed)
}

// ---------------------------------------------------------------------------
// Dates.
// ---------------------------------------------------------------------------

/// First instant of year 0000 and first instant of year 10000, in
/// microseconds since the epoch: a stored date lies between, as every date
/// a timestamp's four-digit year can write does.
const FIRST_MICROS: i64 = -62_167_219_200_000_000;
const END_MICROS: i64 = 253_402_300_800_000_000;

/// The rows whose `date` (the canonical column) lies outside years
/// 0000–9999.
fn outside_years(date: Expr) -> Expr {
    let micros = date.cast(DataType::Int64);
    micros
        .clone()
        .lt(lit(FIRST_MICROS))
        .or(micros.gt_eq(lit(END_MICROS)))
}

// ---------------------------------------------------------------------------
// Enums: the API's spellings, read whatever their case; defaults.
// ---------------------------------------------------------------------------

/// The `direction` of a call that gives none: exports of outbound calls
/// often leave the column out.
pub const DEFAULT_DIRECTION: Direction = Direction::Outbound;

/// The `type` of a call that gives none: call logs hold calls.
pub const DEFAULT_TYPE: CallType = CallType::Call;

/// The position in `spellings` of the value `text` spells: the API's enum
/// values are read whatever their case and with spaces around trimmed, as
/// exports and hand-written files vary. `None` when it spells none.
pub fn match_spelling(spellings: &[&str], text: &str) -> Option<usize> {
    let text = text.trim();
    spellings
        .iter()
        .position(|spelling| spelling.eq_ignore_ascii_case(text))
}

/// The API's spellings of the values of enum `field` (`direction`, `type`
/// or `result`).
fn api_spellings(field: Field) -> &'static [&'static str] {
    match field {
        Field::Direction => Direction::SPELLINGS,
        Field::Type => CallType::SPELLINGS,
        _ => CallResult::SPELLINGS,
    }
}

/// The reason a value of enum `field` that is not one of the API's is
/// refused.
pub(crate) fn unknown_value(field: Field) -> Reason {
    match field {
        Field::Direction => Reason::UnknownDirection,
        Field::Type => Reason::UnknownType,
        _ => Reason::UnknownResult,
    }
}

/// Whether a value of enum `field` is written as the API writes it (upper
/// case, no spaces): what the canonical frame holds. Null for a null value.
pub(crate) fn in_api_case(field: Field, value: Expr) -> Expr {
    is_one_of(value, api_spellings(field))
}

/// [`in_api_case`] for one value's bytes.
pub(crate) fn is_in_api_case(field: Field, value: &[u8]) -> bool {
    api_spellings(field)
        .iter()
        .any(|spelling| spelling.as_bytes() == value)
}

/// Whether `value` is one of `allowed` (null for a null value).
///
/// A few equality tests, not `is_in`: Polars' streaming engine runs an
/// `is_in` as a separate node fed by a multiplexer, which buffers the other
/// columns while it waits (memory that grows with the calls).
pub(crate) fn is_one_of(value: Expr, allowed: &[&'static str]) -> Expr {
    allowed
        .iter()
        .map(|text| value.clone().eq(lit(*text)))
        .reduce(Expr::or)
        .unwrap_or_else(|| lit(false))
}

// ---------------------------------------------------------------------------
// Absent values.
// ---------------------------------------------------------------------------

/// The canonical value of `field` where `value` (its canonical column) is
/// null: the default `direction` and `type`, a `duration` of 0 (no talk
/// time), no tags; other fields stay unknown.
pub(crate) fn with_default(field: Field, value: Expr) -> Expr {
    match field {
        Field::Direction => value.fill_null(lit(DEFAULT_DIRECTION.as_str())),
        Field::Type => value.fill_null(lit(DEFAULT_TYPE.as_str())),
        Field::Duration => value.fill_null(lit(0i64)),
        Field::Tags => value.fill_null(empty_tags()),
        _ => value,
    }
}

/// The canonical value of a field the input does not have at all (as
/// [`with_default`] gives for a null).
pub(crate) fn absent_value(field: Field) -> Expr {
    match field {
        Field::Direction | Field::Type => with_default(field, lit(NULL).cast(DataType::String)),
        Field::Duration => lit(0i64).cast(DataType::Int64),
        Field::RingingSeconds => lit(NULL).cast(DataType::Float64),
        Field::Tags => empty_tags(),
        _ => lit(NULL).cast(DataType::String),
    }
}

/// An empty tag list, as a literal.
pub(crate) fn empty_tags() -> Expr {
    let empty = Series::new_empty(PlSmallStr::EMPTY, &DataType::String);
    lit(Scalar::new(
        DataType::List(Box::new(DataType::String)),
        AnyValue::List(empty),
    ))
}

// ---------------------------------------------------------------------------
// Durations.
// ---------------------------------------------------------------------------

/// A `duration` from a whole number of seconds: talk time cannot be
/// negative.
pub(crate) fn duration_from_integer(seconds: i64) -> Result<i64, Reason> {
    if seconds < 0 {
        Err(Reason::NegativeDuration)
    } else {
        Ok(seconds)
    }
}

/// Durations of ±9e18 s and beyond do not fit the canonical integer.
const LARGEST_DURATION: f64 = 9.0e18;

/// A `duration` from any number: a finite, whole number of seconds (the
/// API counts whole seconds), at least 0, that fits the canonical integer.
pub(crate) fn duration_from_number(number: f64) -> Result<i64, Reason> {
    if !number.is_finite() || number.abs() >= LARGEST_DURATION {
        Err(Reason::NonNumericDuration)
    } else if number < 0.0 {
        Err(Reason::NegativeDuration)
    } else if number.fract() != 0.0 {
        Err(Reason::NonIntegerDuration)
    } else {
        Ok(number as i64)
    }
}

/// Most significant digits of a number of minutes read exactly.
const MAX_MINUTE_DIGITS: usize = 30;
/// Most decimals of a number of minutes divided out exactly (`2 · 10^36`
/// stays within `i128`).
const MAX_SCALE: u32 = 36;

/// A talk time given in minutes (v1's `length_in_minutes`, SPEC §1.1) as a
/// `duration`: `text`, a decimal number of minutes (`12`, `-0.5`,
/// `1.25e1`), × 60, rounded half away from zero, computed on the decimal as
/// written (a binary float would round `0.025` minutes down).
pub(crate) fn minutes_to_seconds(text: &str) -> Result<i64, Reason> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (
            mantissa,
            exponent
                .parse::<i32>()
                .map_err(|_| Reason::NonNumericDuration)?,
        ),
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Reason::NonNumericDuration);
    }
    let significant = digits.trim_start_matches('0');
    if significant.is_empty() {
        return Ok(0);
    }
    if negative {
        return Err(Reason::NegativeDuration);
    }
    if significant.len() > MAX_MINUTE_DIGITS {
        return Err(Reason::NonNumericDuration);
    }
    let units: i128 = significant
        .parse()
        .map_err(|_| Reason::NonNumericDuration)?;
    // minutes = units ÷ 10^scale; seconds = 60 · units ÷ 10^scale.
    let scale = i64::try_from(fraction.len()).unwrap_or(i64::MAX) - i64::from(exponent);
    let numerator = 60 * units;
    let seconds = if scale <= 0 {
        u32::try_from(-scale)
            .ok()
            .and_then(|power| 10i128.checked_pow(power))
            .and_then(|factor| numerator.checked_mul(factor))
    } else {
        match u32::try_from(scale)
            .ok()
            .filter(|power| *power <= MAX_SCALE)
        {
            // floor(n ÷ d + 1/2) = floor((2n + d) ÷ 2d), n ≥ 0.
            Some(power) => {
                let denominator = 10i128.pow(power);
                Some((2 * numerator + denominator) / (2 * denominator))
            }
            // The value is below 10^(30 − 36) minutes: far below half a second.
            None => Some(0),
        }
    };
    seconds
        .and_then(|seconds| i64::try_from(seconds).ok())
        .ok_or(Reason::NonNumericDuration)
}

// ---------------------------------------------------------------------------
// Ringing times.
// ---------------------------------------------------------------------------

/// Largest `ringing_seconds`: the computation holds ringing times in whole
/// milliseconds, and those of a larger value would not fit a signed 64-bit
/// integer. A larger value is refused as a bad row.
pub const MAX_RINGING_SECONDS: f64 = 9.0e15;

/// Whole digits of a ringing time that surely keep it within
/// [`MAX_RINGING_SECONDS`].
pub(crate) const MAX_RINGING_WHOLE_DIGITS: u32 = 15;
const _: () = assert!(10u64.pow(MAX_RINGING_WHOLE_DIGITS) as f64 <= MAX_RINGING_SECONDS);

/// A `ringing_seconds` from a number: finite, at least 0 and at most
/// [`MAX_RINGING_SECONDS`]; a -0.0 is read as 0.0, so that no answer prints
/// a negative zero.
pub(crate) fn ringing_from_number(seconds: f64) -> Result<f64, Reason> {
    if !seconds.is_finite() {
        Err(Reason::NonNumericRingingSeconds)
    } else if seconds < 0.0 {
        Err(Reason::NegativeRingingSeconds)
    } else if seconds > MAX_RINGING_SECONDS {
        Err(Reason::RingingSecondsTooLarge)
    } else {
        // `abs` turns a -0.0 into 0.0.
        Ok(seconds.abs())
    }
}

/// [`MAX_RINGING_SECONDS`] as a refusal explains it: `at most 9e15`.
pub(crate) fn ringing_bound() -> String {
    format!("at most {MAX_RINGING_SECONDS:e}")
}

/// `ringing` (a `Float64` expression) with a -0.0 read as 0.0, as
/// [`ringing_from_number`] reads it.
pub(crate) fn without_negative_zero(ringing: Expr) -> Expr {
    ringing + lit(0.0)
}

// ---------------------------------------------------------------------------
// Every refusal of a canonical value.
// ---------------------------------------------------------------------------

/// The refusals of a value of `field` held as the canonical frame holds it
/// (`value`, of the canonical column's type), in the order a reader checks
/// them: each reason with the rows it refuses (a null counts as kept where
/// the field may be absent). Fields without a rule have none.
pub(crate) fn refusals(field: Field, value: Expr) -> Vec<(Reason, Expr)> {
    match field {
        Field::Id => vec![missing(field, value)],
        Field::Date => vec![
            missing(field, value.clone()),
            (Reason::BadTimestamp, outside_years(value)),
        ],
        Field::Direction | Field::Type | Field::Result => {
            vec![(unknown_value(field), in_api_case(field, value).not())]
        }
        Field::Duration => vec![
            (Reason::NonNumericDuration, value.clone().is_null()),
            (Reason::NegativeDuration, value.lt(lit(0i64))),
        ],
        Field::RingingSeconds => vec![
            (Reason::NonNumericRingingSeconds, value.clone().is_nan()),
            (Reason::NegativeRingingSeconds, value.clone().lt(lit(0.0))),
            (
                Reason::RingingSecondsTooLarge,
                value.gt(lit(MAX_RINGING_SECONDS)),
            ),
        ],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_values_match_whatever_their_case() {
        assert_eq!(match_spelling(Direction::SPELLINGS, "inbound"), Some(1));
        assert_eq!(match_spelling(Direction::SPELLINGS, " Outbound\t"), Some(0));
        assert_eq!(match_spelling(Direction::SPELLINGS, "OUT"), None);
        assert!(is_in_api_case(Field::Result, b"NO_ANSWER"));
        assert!(!is_in_api_case(Field::Result, b"no_answer"));
    }

    #[test]
    fn ringing_times_keep_to_their_bound_and_lose_a_negative_zero() {
        assert_eq!(ringing_from_number(-0.0).map(f64::to_bits), Ok(0));
        assert_eq!(ringing_from_number(9e15), Ok(9e15));
        assert_eq!(
            ringing_from_number(9.000_000_000_000_002e15),
            Err(Reason::RingingSecondsTooLarge)
        );
        assert_eq!(
            ringing_from_number(-1.0),
            Err(Reason::NegativeRingingSeconds)
        );
        assert_eq!(
            ringing_from_number(f64::NAN),
            Err(Reason::NonNumericRingingSeconds)
        );
        assert_eq!(ringing_bound(), "at most 9e15");
    }

    #[test]
    fn each_refusal_of_a_canonical_frame_names_its_rows() {
        let frame = df!(
            "ringing_seconds" => [Some(1.0), Some(-0.5), Some(f64::NAN), Some(1e16), None],
            "id" => [Some("a"), Some(""), None, Some(" "), Some("b")],
        )
        .unwrap();
        let flags = |field: Field| -> Vec<(Reason, Vec<Option<bool>>)> {
            refusals(field, col(field.name()))
                .into_iter()
                .map(|(reason, rows)| {
                    let rows = frame.clone().lazy().select([rows]).collect().unwrap();
                    let rows = rows.columns()[0].bool().unwrap().iter().collect();
                    (reason, rows)
                })
                .collect()
        };
        let (no, yes) = (Some(false), Some(true));
        assert_eq!(
            flags(Field::RingingSeconds),
            [
                (
                    Reason::NonNumericRingingSeconds,
                    vec![no, no, yes, no, None]
                ),
                (Reason::NegativeRingingSeconds, vec![no, yes, no, no, None]),
                // Polars orders a NaN above every number: the first refusal
                // a reader reports for it is the one above.
                (Reason::RingingSecondsTooLarge, vec![no, no, yes, yes, None]),
            ]
        );
        assert_eq!(
            flags(Field::Id),
            [(Reason::MissingId, vec![no, yes, yes, no, no])]
        );
    }
}
