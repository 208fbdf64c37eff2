//! Talk-time outliers among a request's own dials: what `metrics` and
//! `report` ask to say, in one line, that `check` would warn about a figure
//! they print.

use polars::prelude::*;

use crate::engine::{derived, exact_sum_where, read_split_sum, scoped_calls, EngineError};
use crate::exprs::{collect_streaming, first_count};
use crate::model::column;
use crate::request::Request;

/// Share of the period's talk time over which outliers move its figures
/// enough to be told (10 %).
pub const TOLD_SHARE: f64 = 0.10;

/// The dials of a request's current period with talk time over a bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TalkOutliers {
    /// Dials over the bound.
    pub calls: u64,
    /// Their talk time, in seconds (exact, whatever the values).
    pub seconds: i128,
    /// The longest talk time of them, in seconds (0 without any).
    pub longest_seconds: u64,
    /// Talk time of every dial of the period, in seconds (exact).
    pub period_seconds: i128,
}

impl TalkOutliers {
    /// The share of the period's talk time they carry (0 when it has none).
    pub fn share(&self) -> f64 {
        if self.period_seconds == 0 {
            0.0
        } else {
            self.seconds as f64 / self.period_seconds as f64
        }
    }

    /// Whether they carry more than [`TOLD_SHARE`] of the period's talk time.
    pub fn moves_figures(&self) -> bool {
        self.share() > TOLD_SHARE
    }
}

/// The dials of `request`'s current period (its filters applied) whose
/// talk time is over `max_talk_seconds`, in one streaming pass over its
/// scoped calls. [`crate::engine::compute_asked`] gives the same figures
/// from the calls it already reads for the response.
pub fn talk_outliers(
    calls: LazyFrame,
    request: &Request,
    max_talk_seconds: i64,
) -> Result<TalkOutliers, EngineError> {
    let totals = collect_streaming(outliers_plan(
        scoped_calls(calls, request),
        max_talk_seconds,
    ))?;
    read_outliers(&totals)
}

/// Names of the columns of [`outliers_plan`]'s one row.
const CALLS: &str = "outlier_calls";
const SECONDS: &str = "outlier_seconds";
const LONGEST: &str = "outlier_longest";
const PERIOD: &str = "outlier_period";

/// One row: the dials of the current period among `scoped` (the engine's
/// scoped calls) over `max_talk_seconds`, their talk time and the longest,
/// and the period's talk time.
pub(crate) fn outliers_plan(scoped: LazyFrame, max_talk_seconds: i64) -> LazyFrame {
    let duration = || col(column::DURATION);
    let over = || duration().gt(lit(max_talk_seconds));
    let mut aggregations = vec![
        over().cast(DataType::Int64).sum().alias(CALLS),
        duration().filter(over()).max().alias(LONGEST),
    ];
    aggregations.extend(exact_sum_where(over(), duration(), SECONDS));
    aggregations.extend(exact_sum_where(lit(true), duration(), PERIOD));
    scoped.filter(col(derived::IN_CURRENT)).select(aggregations)
}

/// The outliers of [`outliers_plan`]'s row.
pub(crate) fn read_outliers(totals: &DataFrame) -> Result<TalkOutliers, EngineError> {
    Ok(TalkOutliers {
        calls: first_count(totals, CALLS)?,
        seconds: read_split_sum(totals, SECONDS)?,
        longest_seconds: first_count(totals, LONGEST)?,
        period_seconds: read_split_sum(totals, PERIOD)?,
    })
}
