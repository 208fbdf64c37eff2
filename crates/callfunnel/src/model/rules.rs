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

use std::str::FromStr;

use polars::prelude::*;

use super::{column, CallResult, CallType, Direction, Field};
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

/// Whether an instant (microseconds since the epoch) lies within years
/// 0000–9999, as a stored date does.
pub(crate) fn is_within_years(micros: i64) -> bool {
    (FIRST_MICROS..END_MICROS).contains(&micros)
}

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
// Other exports' values.
// ---------------------------------------------------------------------------

/// The fields whose values `--map-value` may map: the enums and the tag keys.
pub const MAPPABLE_FIELDS: [&str; 4] = [
    column::DIRECTION,
    column::TYPE,
    column::RESULT,
    column::TAGS,
];

/// One `--map-value FIELD:FROM=TO` (SPEC §1.2): a value `FROM` of `FIELD`
/// (trimmed, in any case) is read as `TO`, before the field's rule; for
/// tags, key by key.
///
/// ```
/// use callfunnel::model::rules::ValueMapping;
///
/// let mapping: ValueMapping = "result:Connected=ANSWERED".parse().unwrap();
/// assert_eq!((mapping.field.as_str(), mapping.from.as_str()), ("result", "Connected"));
/// assert!("duration:x=1".parse::<ValueMapping>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueMapping {
    /// The field, one of [`MAPPABLE_FIELDS`].
    pub field: String,
    /// The value as the input writes it (matched whatever its case).
    pub from: String,
    /// The value it stands for (empty: no value).
    pub to: String,
}

impl FromStr for ValueMapping {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let shape = || format!("`{text}` is not FIELD:FROM=TO");
        let (field, rest) = text.split_once(':').ok_or_else(shape)?;
        let (from, to) = rest.split_once('=').ok_or_else(shape)?;
        let field = field.trim();
        if mappable_field(field).is_none() {
            return Err(format!(
                "`{field}` has no values to map (one of {})",
                MAPPABLE_FIELDS.join(", ")
            ));
        }
        if from.trim().is_empty() {
            return Err(format!("`{text}` maps no value: FROM is empty"));
        }
        Ok(ValueMapping {
            field: field.to_string(),
            from: from.trim().to_string(),
            to: to.trim().to_string(),
        })
    }
}

/// The field of a name of [`MAPPABLE_FIELDS`].
fn mappable_field(name: &str) -> Option<Field> {
    Field::ALL
        .into_iter()
        .find(|field| field.name() == name && MAPPABLE_FIELDS.contains(&name))
}

/// The [`ValueMapping`]s of a load, by field, ready to apply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ValueMap {
    entries: Vec<(Field, String, String)>,
}

impl ValueMap {
    /// The map of `mappings` (a later mapping of the same value wins); the
    /// error names the field of a mapping that cannot map.
    pub fn new(mappings: &[ValueMapping]) -> Result<ValueMap, String> {
        let entries = mappings
            .iter()
            .rev()
            .map(|mapping| match mappable_field(mapping.field.trim()) {
                Some(field) => Ok((field, mapping.from.trim().into(), mapping.to.trim().into())),
                None => Err(mapping.field.clone()),
            })
            .collect::<Result<_, _>>()?;
        Ok(ValueMap { entries })
    }

    /// Whether it maps nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value `value` (trimmed) of `field` stands for.
    pub fn apply<'a>(&'a self, field: Field, value: &'a str) -> &'a str {
        self.entries
            .iter()
            .find(|(mapped, from, _)| *mapped == field && same_ignoring_case(from, value))
            .map_or(value, |(_, _, to)| to.as_str())
    }
}

/// Whether two texts are equal whatever their case.
fn same_ignoring_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
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

/// The unit an input writes talk time in (`--duration-unit`, SPEC §1.2):
/// a `duration` is held in whole seconds, whatever the unit it was read in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum DurationUnit {
    /// Seconds (`s`), the API's unit: a value must be whole.
    #[default]
    Seconds,
    /// Milliseconds (`ms`).
    Milliseconds,
    /// Minutes (`min`), e.g. v1's `length_in_minutes`.
    Minutes,
    /// Hours (`h`).
    Hours,
}

impl DurationUnit {
    /// Every unit, seconds first.
    pub const ALL: [DurationUnit; 4] = [
        DurationUnit::Seconds,
        DurationUnit::Milliseconds,
        DurationUnit::Minutes,
        DurationUnit::Hours,
    ];

    /// Its name on the command line: `s`, `ms`, `min` or `h`.
    pub fn name(self) -> &'static str {
        match self {
            DurationUnit::Seconds => "s",
            DurationUnit::Milliseconds => "ms",
            DurationUnit::Minutes => "min",
            DurationUnit::Hours => "h",
        }
    }

    /// The unit named `name` ([`DurationUnit::name`]), if any.
    pub fn from_name(name: &str) -> Option<DurationUnit> {
        DurationUnit::ALL
            .into_iter()
            .find(|unit| unit.name() == name.trim())
    }

    /// Seconds in one unit, as a fraction (numerator, denominator).
    fn seconds_per_unit(self) -> (i128, i128) {
        match self {
            DurationUnit::Seconds => (1, 1),
            DurationUnit::Milliseconds => (1, 1000),
            DurationUnit::Minutes => (60, 1),
            DurationUnit::Hours => (3600, 1),
        }
    }
}

/// A `duration` from `text`, a number of `unit`s: in seconds, a whole
/// number (`12`, `1e3`, `12.0`), as [`duration_from_number`] reads one; in
/// another unit, any decimal number (`1.25`, `-0`, `2.5e-1`), converted to
/// seconds on the decimal as written (a binary float would round `0.025`
/// minutes down) and rounded half away from zero.
pub(crate) fn duration_from_text(text: &str, unit: DurationUnit) -> Result<i64, Reason> {
    match unit {
        DurationUnit::Seconds => match text.parse::<i64>() {
            Ok(whole) => duration_from_integer(whole),
            Err(_) => match text.parse::<f64>() {
                Ok(number) => duration_from_number(number),
                Err(_) => Err(Reason::NonNumericDuration),
            },
        },
        _ => decimal_to_seconds(text, unit),
    }
}

/// A `duration` from a binary float number of `unit`s (a typed column's):
/// in seconds, as [`duration_from_number`] reads it; in another unit, the
/// shortest decimal that reads back as the float, converted as
/// [`duration_from_text`] converts its text.
pub(crate) fn duration_from_float(units: f64, unit: DurationUnit) -> Result<i64, Reason> {
    match unit {
        DurationUnit::Seconds => duration_from_number(units),
        _ if !units.is_finite() => Err(Reason::NonNumericDuration),
        _ => decimal_to_seconds(&units.to_string(), unit),
    }
}

/// A `duration` from a whole number of `unit`s, converted exactly as
/// [`duration_from_text`] converts its text.
pub(crate) fn duration_from_units(units: i64, unit: DurationUnit) -> Result<i64, Reason> {
    match unit {
        DurationUnit::Seconds => duration_from_integer(units),
        _ => decimal_to_seconds(&units.to_string(), unit),
    }
}

/// Most significant digits of a decimal number read exactly.
const MAX_DECIMAL_DIGITS: usize = 30;
/// Most decimals divided out exactly: a number of fewer than
/// [`MAX_DECIMAL_DIGITS`] significant digits and more decimals is below
/// 10^(30 − 34) hours, far below half a second; `2 · 10^33 · 1000` stays
/// within `i128`.
const MAX_SCALE: u32 = 33;

/// `text`, a decimal number of `unit`s (`12`, `-0.5`, `1.25e1`), as whole
/// seconds: × the unit's seconds, rounded half away from zero, computed on
/// the decimal as written.
pub(crate) fn decimal_to_seconds(text: &str, unit: DurationUnit) -> Result<i64, Reason> {
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
    if significant.len() > MAX_DECIMAL_DIGITS {
        return Err(Reason::NonNumericDuration);
    }
    let units: i128 = significant
        .parse()
        .map_err(|_| Reason::NonNumericDuration)?;
    // value = units ÷ 10^scale; seconds = value · per_unit ÷ unit_divisor.
    let (per_unit, unit_divisor) = unit.seconds_per_unit();
    let scale = i64::try_from(fraction.len()).unwrap_or(i64::MAX) - i64::from(exponent);
    let numerator = per_unit * units;
    let seconds = if scale <= 0 {
        u32::try_from(-scale)
            .ok()
            .and_then(|power| 10i128.checked_pow(power))
            .and_then(|factor| numerator.checked_mul(factor))
            .and_then(|numerator| round_half_up(numerator, unit_divisor))
    } else {
        match u32::try_from(scale)
            .ok()
            .filter(|power| *power <= MAX_SCALE)
        {
            Some(power) => round_half_up(numerator, 10i128.pow(power) * unit_divisor),
            None => Some(0),
        }
    };
    seconds
        .and_then(|seconds| i64::try_from(seconds).ok())
        .ok_or(Reason::NonNumericDuration)
}

/// `numerator ÷ denominator` rounded half up (both ≥ 0, the denominator
/// > 0): floor(n ÷ d + 1/2) = floor((2n + d) ÷ 2d); `None` beyond `i128`.
fn round_half_up(numerator: i128, denominator: i128) -> Option<i128> {
    let twice = numerator.checked_mul(2)?.checked_add(denominator)?;
    Some(twice / denominator.checked_mul(2)?)
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
// Tags.
// ---------------------------------------------------------------------------

/// How a tags cell (a CSV cell, a text column's value, a JSON string) writes
/// its keys (SPEC §1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum TagsForm {
    /// Keys separated by `;`, or one key, or none: the canonical form.
    #[default]
    Semicolons,
    /// Keys separated by `|` or `,` (and maybe `;`).
    OtherSeparators,
    /// A JSON array of strings, e.g. `["a","b"]`.
    JsonList,
    /// A cell that looks like a JSON array (it starts with `[`) but is not
    /// one of strings: read as keys separated by `;`, `|` or `,`, its
    /// brackets and quotes stripped, and worth a warning (SPEC §1.2).
    MalformedList,
}

impl TagsForm {
    /// Every form, in declaration order (`ALL[form as usize]` is `form`).
    pub const ALL: [TagsForm; 4] = [
        TagsForm::Semicolons,
        TagsForm::OtherSeparators,
        TagsForm::JsonList,
        TagsForm::MalformedList,
    ];
}

/// What separates the keys of a tags cell that is not a JSON array.
const TAG_SEPARATORS: [char; 3] = [';', '|', ','];

/// The separators but the canonical `;`: a cell holding one is
/// [`TagsForm::OtherSeparators`].
const OTHER_TAG_SEPARATORS: [char; 2] = ['|', ','];

/// Reads the tags cell `text`: gives each key to `key` as written (not yet
/// trimmed, lower-cased or known to be non-empty: the caller normalises it,
/// see [`crate::model::normalize_tag`]) and returns the cell's form. A cell
/// starting with `[` is a JSON array of strings (null items are no key);
/// any other is keys separated by `;`, `|` or `,`.
///
/// ```
/// use callfunnel::model::rules::{tag_keys, TagsForm};
///
/// let keys = |text| {
///     let mut keys = Vec::new();
///     let form = tag_keys(text, |key| keys.push(key.trim().to_string()));
///     (keys, form)
/// };
/// assert_eq!(keys("a; b"), (vec!["a".into(), "b".into()], TagsForm::Semicolons));
/// assert_eq!(keys("a|b,c").1, TagsForm::OtherSeparators);
/// assert_eq!(keys(r#"["a","b"]"#), (vec!["a".into(), "b".into()], TagsForm::JsonList));
/// assert_eq!(keys(r#"["a","b""#), (vec!["a".into(), "b".into()], TagsForm::MalformedList));
/// ```
pub fn tag_keys(text: &str, mut key: impl FnMut(&str)) -> TagsForm {
    if !may_be_another_tags_form(text.as_bytes()) {
        text.split(';').for_each(key);
        return TagsForm::Semicolons;
    }
    let trimmed = text.trim_start();
    if !trimmed.starts_with('[') {
        text.split(TAG_SEPARATORS).for_each(key);
        return if text.contains(OTHER_TAG_SEPARATORS) {
            TagsForm::OtherSeparators
        } else {
            TagsForm::Semicolons
        };
    }
    if let Ok(items) = serde_json::from_str::<Vec<Option<String>>>(trimmed) {
        items.iter().flatten().for_each(|item| key(item));
        return TagsForm::JsonList;
    }
    let inner = trimmed
        .trim_end()
        .trim_start_matches('[')
        .trim_end_matches(']');
    for piece in inner.split(TAG_SEPARATORS) {
        key(piece.trim().trim_matches(['"', '\'']));
    }
    TagsForm::MalformedList
}

/// Whether a tags cell may be in another form than [`TagsForm::Semicolons`]:
/// it holds a `[`, `|` or `,` (one `memchr3` pass). A cell without them is
/// keys separated by `;`, read as before.
pub(crate) fn may_be_another_tags_form(text: &[u8]) -> bool {
    memchr::memchr3(b'[', b'|', b',', text).is_some()
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
