//! The rules every call of a store keeps: checked by `convert` before a call
//! is written, and by ingest when a store without a checksum is read (a
//! damaged file may decode to any value). One table for both.

use polars::prelude::*;

use crate::exprs::is_one_of;
use crate::model::{column, CallResult, CallType, Direction};
use crate::reason::Reason;

/// First instant of year 0000 and first instant of year 10000, in
/// microseconds since the epoch: a date outside is refused, as in CSV.
const FIRST_MICROS: i64 = -62_167_219_200_000_000;
const END_MICROS: i64 = 253_402_300_800_000_000;

/// A store rule: the reason a row breaks it, the column it reads, and per
/// row whether it is broken (null counts as kept).
pub(crate) struct StoreRule {
    /// Why a row breaking the rule is refused.
    pub reason: Reason,
    /// The column the rule reads.
    pub column: &'static str,
    /// True for a row that breaks the rule.
    pub broken: Expr,
}

impl StoreRule {
    /// What a break says, e.g. ``column `duration`: negative duration``.
    pub fn message(&self) -> String {
        format!("column `{}`: {}", self.column, self.reason)
    }
}

/// Every store rule, in the order breaks are reported.
pub(crate) fn store_rules() -> [StoreRule; 11] {
    let rule = |reason, column, broken| StoreRule {
        reason,
        column,
        broken,
    };
    let not_in_api_case =
        |name: &str, spellings: &[&'static str]| is_one_of(col(name), spellings).not();
    let micros = col(column::DATE).cast(DataType::Int64);
    let ringing = col(column::RINGING_SECONDS);
    [
        rule(
            Reason::UnknownDirection,
            column::DIRECTION,
            not_in_api_case(column::DIRECTION, Direction::SPELLINGS),
        ),
        rule(
            Reason::UnknownType,
            column::TYPE,
            not_in_api_case(column::TYPE, CallType::SPELLINGS),
        ),
        rule(
            Reason::UnknownResult,
            column::RESULT,
            not_in_api_case(column::RESULT, CallResult::SPELLINGS),
        ),
        rule(
            Reason::MissingId,
            column::ID,
            col(column::ID).is_null().or(col(column::ID).eq(lit(""))),
        ),
        rule(Reason::MissingDate, column::DATE, micros.clone().is_null()),
        rule(
            Reason::BadTimestamp,
            column::DATE,
            micros
                .clone()
                .lt(lit(FIRST_MICROS))
                .or(micros.gt_eq(lit(END_MICROS))),
        ),
        rule(
            Reason::NonNumericDuration,
            column::DURATION,
            col(column::DURATION).is_null(),
        ),
        rule(
            Reason::NegativeDuration,
            column::DURATION,
            col(column::DURATION).lt(lit(0i64)),
        ),
        rule(
            Reason::NonNumericRingingSeconds,
            column::RINGING_SECONDS,
            ringing.clone().is_nan(),
        ),
        rule(
            Reason::NegativeRingingSeconds,
            column::RINGING_SECONDS,
            ringing.clone().lt(lit(0.0)),
        ),
        rule(
            Reason::RingingSecondsTooLarge,
            column::RINGING_SECONDS,
            ringing.gt(lit(crate::engine::MAX_RINGING_SECONDS)),
        ),
    ]
}

/// Whether a row breaks one of `rules`.
pub(crate) fn any_broken<'a>(rules: impl IntoIterator<Item = &'a StoreRule>) -> Expr {
    rules
        .into_iter()
        .map(|rule| rule.broken.clone().fill_null(lit(false)))
        .reduce(Expr::or)
        .unwrap_or_else(|| lit(false))
}
