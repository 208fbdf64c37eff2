//! Funnel and time spent (SPEC §4 `funnel`, `time_spent`): per-period counts
//! and exact sums, and the metric values read from them.

use polars::prelude::*;

use super::{count_where, derived, EngineError};
use crate::model::column;
use crate::model::rules::MAX_RINGING_SECONDS;
use crate::request::Stage;
use crate::response::{Funnel, FunnelStage, MetricValue, TimeSpent};
use crate::rounding::{Rounding, AVERAGE_DECIMALS, RATE_DECIMALS};

/// Sums `value` over the rows where `condition` holds.
fn sum_where(condition: Expr, value: Expr) -> Expr {
    when(condition).then(value).otherwise(lit(NULL)).sum()
}

/// Ringing time in whole milliseconds (half up), so that its mean is an exact
/// fraction: decimal inputs such as `12.65` are not binary floats. Null when
/// the milliseconds do not fit 64 bits (see [`EngineError::OutOfRange`]).
fn ringing_millis() -> Expr {
    (col(column::RINGING_SECONDS) * lit(1000.0) + lit(0.5)).cast(DataType::Int64)
}

/// The low part of a split sum holds this many bits.
const LOW_BITS: u32 = 32;

// A collected frame holds fewer than 2³² rows (Polars' 32-bit row index), so
// the parts of a split sum cannot wrap (see `exact_sum_where`).
const _: () = assert!(IdxSize::MAX as u64 <= u32::MAX as u64);

/// The exact sum of the Int64 `value` over the rows where `condition` holds,
/// as two columns `{name}_high` and `{name}_low` that [`read_split_sum`]
/// joins into an `i128`: each value is `high · 2³² + low` with `low` in
/// `[0, 2³²)`, so `|high| ≤ 2³¹`; over fewer than 2³² rows, the sum of the
/// highs fits an `i64` and the sum of the lows a `u64`. No sum can wrap,
/// whatever the values.
pub(crate) fn exact_sum_where(condition: Expr, value: Expr, name: &str) -> [Expr; 2] {
    // Bitwise `and` keeps the low bits (two's complement: in [0, 2³²) for
    // any sign); the rest is an exact multiple of 2³², divided exactly.
    let low = value.clone().and(lit((1i64 << LOW_BITS) - 1));
    let high = ((value - low.clone()) / lit(1i64 << LOW_BITS)).cast(DataType::Int64);
    let low = low.cast(DataType::UInt64);
    [
        sum_where(condition.clone(), high).alias(format!("{name}_high")),
        sum_where(condition, low).alias(format!("{name}_low")),
    ]
}

/// Per-period totals, in the order of [`Totals::read`].
pub(super) fn totals_plan(scoped: LazyFrame) -> LazyFrame {
    let mut aggregations = Vec::new();
    for (prefix, in_period) in [
        ("current", derived::IN_CURRENT),
        ("previous", derived::IN_PREVIOUS),
    ] {
        let in_period = col(in_period);
        let connected = in_period.clone().and(col(derived::CONNECTED));
        let ringing_known = in_period
            .clone()
            .and(col(column::RINGING_SECONDS).is_not_null());
        aggregations.extend([
            count_where(in_period.clone()).alias(format!("{prefix}_dials")),
            count_where(connected.clone()).alias(format!("{prefix}_connected")),
            count_where(in_period.clone().and(col(derived::CONVERSATION)))
                .alias(format!("{prefix}_conversations")),
            count_where(in_period.clone().and(col(derived::CONVERSION)))
                .alias(format!("{prefix}_conversions")),
            count_where(ringing_known.clone()).alias(format!("{prefix}_ringing_known")),
            count_where(ringing_known.and(ringing_millis().is_null()))
                .alias(format!("{prefix}_ringing_out_of_range")),
        ]);
        aggregations.extend(exact_sum_where(
            in_period,
            ringing_millis(),
            &format!("{prefix}_ringing_millis"),
        ));
        aggregations.extend(exact_sum_where(
            connected,
            col(column::DURATION).cast(DataType::Int64),
            &format!("{prefix}_talk_sum"),
        ));
    }
    scoped.select(aggregations)
}

/// The totals of one period; sums are exact.
#[derive(Debug, Clone, Copy, Default)]
struct PeriodTotals {
    dials: i64,
    connected: i64,
    conversations: i64,
    conversions: i64,
    ringing_known: i64,
    ringing_millis: i128,
    talk_sum: i128,
}

/// Totals of the current and the comparison period (`None` without a
/// comparison, SPEC §8.5).
#[derive(Debug, Clone, Copy)]
pub(super) struct Totals {
    current: PeriodTotals,
    previous: Option<PeriodTotals>,
}

/// Reads the two parts of an [`exact_sum_where`] back into one number.
pub(crate) fn read_split_sum(frame: &DataFrame, name: &str) -> PolarsResult<i128> {
    let high = frame
        .column(&format!("{name}_high"))?
        .cast(&DataType::Int64)?
        .i64()?
        .get(0)
        .unwrap_or(0);
    let low = frame
        .column(&format!("{name}_low"))?
        .cast(&DataType::UInt64)?
        .u64()?
        .get(0)
        .unwrap_or(0);
    Ok(join_split_sum(high, low))
}

/// One sum from the two parts of an [`exact_sum_where`] (columns
/// `{name}_high` and `{name}_low`).
pub(crate) fn join_split_sum(high: i64, low: u64) -> i128 {
    (i128::from(high) << LOW_BITS) + i128::from(low)
}

impl Totals {
    /// Reads [`totals_plan`]'s frame, the comparison period's totals only
    /// when `compared`; a ringing time too large to sum exactly is an
    /// [`EngineError::OutOfRange`].
    pub(super) fn read(frame: &DataFrame, compared: bool) -> Result<Totals, EngineError> {
        let period = |prefix: &str| -> Result<PeriodTotals, EngineError> {
            let int = |name: &str| -> PolarsResult<i64> {
                Ok(frame
                    .column(&format!("{prefix}_{name}"))?
                    .cast(&DataType::Int64)?
                    .i64()?
                    .get(0)
                    .unwrap_or(0))
            };
            let out_of_range = int("ringing_out_of_range")?;
            if out_of_range > 0 {
                return Err(EngineError::OutOfRange(format!(
                    "{out_of_range} calls have a ringing_seconds beyond {MAX_RINGING_SECONDS:e}"
                )));
            }
            Ok(PeriodTotals {
                dials: int("dials")?,
                connected: int("connected")?,
                conversations: int("conversations")?,
                conversions: int("conversions")?,
                ringing_known: int("ringing_known")?,
                ringing_millis: read_split_sum(frame, &format!("{prefix}_ringing_millis"))?,
                talk_sum: read_split_sum(frame, &format!("{prefix}_talk_sum"))?,
            })
        };
        Ok(Totals {
            current: period("current")?,
            previous: compared.then(|| period("previous")).transpose()?,
        })
    }

    /// The current period's count of `stage`.
    pub(super) fn stage_count(&self, stage: Stage) -> i64 {
        match stage {
            Stage::Dial => self.current.dials,
            Stage::Connected => self.current.connected,
            Stage::Conversation => self.current.conversations,
            Stage::Conversion => self.current.conversions,
        }
    }

    /// The funnel: each stage's counts and its rate over current dials.
    pub(super) fn funnel(&self, rounding: Rounding) -> Funnel {
        let stage = |count: fn(&PeriodTotals) -> i64| FunnelStage {
            count: count_metric(
                count(&self.current).into(),
                self.previous
                    .as_ref()
                    .map(|previous| count(previous).into()),
                rounding,
            ),
            rate: rounding.ratio(
                count(&self.current).into(),
                self.current.dials.into(),
                RATE_DECIMALS,
            ),
        };
        Funnel {
            dials: stage(|t| t.dials),
            connected: stage(|t| t.connected),
            conversations: stage(|t| t.conversations),
            conversions: stage(|t| t.conversions),
        }
    }

    /// Mean ringing time, mean and total talk time of both periods.
    pub(super) fn time_spent(&self, rounding: Rounding) -> Result<TimeSpent, EngineError> {
        let previous = self.previous.as_ref();
        let total = |totals: &PeriodTotals| total_seconds(totals.talk_sum);
        Ok(TimeSpent {
            avg_ringing_time_seconds: mean_metric(
                ringing_mean(&self.current),
                previous.map(ringing_mean),
                MILLIS_PER_SECOND,
                rounding,
            ),
            avg_conversation_time_seconds: mean_metric(
                talk_mean(&self.current),
                previous.map(talk_mean),
                1,
                rounding,
            ),
            total_conversation_time_seconds: count_metric(
                total(&self.current)?.into(),
                previous.map(total).transpose()?.map(i128::from),
                rounding,
            ),
        })
    }
}

/// A total of talk seconds as the response holds it; beyond 64 bits, an
/// [`EngineError::OutOfRange`].
pub(crate) fn total_seconds(sum: i128) -> Result<u64, EngineError> {
    u64::try_from(sum).map_err(|_| {
        EngineError::OutOfRange(format!(
            "the total conversation time {sum} s does not fit 64 bits"
        ))
    })
}

/// Milliseconds in a second: the unit of the ringing sums.
const MILLIS_PER_SECOND: i128 = 1000;

/// Ringing time as `(sum of milliseconds, count)`.
fn ringing_mean(totals: &PeriodTotals) -> (i128, i128) {
    (totals.ringing_millis, totals.ringing_known.into())
}

/// Talk time of connected calls as `(sum of seconds, count)`.
fn talk_mean(totals: &PeriodTotals) -> (i128, i128) {
    (totals.talk_sum, totals.connected.into())
}

/// A count with its previous value (none without a comparison) and the
/// exact change (both counts fit 64 bits unsigned).
fn count_metric(value: i128, previous: Option<i128>, rounding: Rounding) -> MetricValue<u64> {
    MetricValue {
        value: value as u64,
        previous: previous.map(|previous| previous as u64),
        change: previous.and_then(|previous| rounding.change(value, previous)),
    }
}

/// A mean `sum ÷ (count × unit)` (each `(sum, count)`) for both periods,
/// with the change computed on the exact fractions
/// ([`Rounding::mean_change`]; the unit cancels out).
fn mean_metric(
    current: (i128, i128),
    previous: Option<(i128, i128)>,
    unit: i128,
    rounding: Rounding,
) -> MetricValue<Option<f64>> {
    let mean = |(sum, count): (i128, i128)| rounding.ratio(sum, count * unit, AVERAGE_DECIMALS);
    MetricValue {
        value: mean(current),
        previous: previous.map(mean),
        change: previous.and_then(|previous| rounding.mean_change(current, previous)),
    }
}
