//! Talk-time outliers among a request's own dials: what `metrics` and
//! `report` ask to say, in one line, that `check` would warn about a figure
//! they print.

use polars::prelude::*;

use crate::engine::{derived, scoped_calls, EngineError};
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
    /// Their talk time, in seconds.
    pub seconds: u64,
    /// The longest talk time of them, in seconds (0 without any).
    pub longest_seconds: u64,
    /// Talk time of every dial of the period, in seconds.
    pub period_seconds: u64,
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
/// scoped calls.
pub fn talk_outliers(
    calls: LazyFrame,
    request: &Request,
    max_talk_seconds: i64,
) -> Result<TalkOutliers, EngineError> {
    const CALLS: &str = "calls";
    const SECONDS: &str = "seconds";
    const LONGEST: &str = "longest";
    const PERIOD: &str = "period";
    let duration = || col(column::DURATION);
    let over = || duration().gt(lit(max_talk_seconds));
    let totals = collect_streaming(
        scoped_calls(calls, request)
            .filter(col(derived::IN_CURRENT))
            .select([
                over().cast(DataType::Int64).sum().alias(CALLS),
                duration().filter(over()).sum().alias(SECONDS),
                duration().filter(over()).max().alias(LONGEST),
                duration().sum().alias(PERIOD),
            ]),
    )?;
    let count = |name: &str| first_count(&totals, name);
    Ok(TalkOutliers {
        calls: count(CALLS)?,
        seconds: count(SECONDS)?,
        longest_seconds: count(LONGEST)?,
        period_seconds: count(PERIOD)?,
    })
}
