//! The time series (SPEC §4 `time_series`): counts per DAY, WEEK or MONTH
//! bucket in the request's zone, every bucket of the period present.

use chrono::{Datelike, Days, Months, NaiveDate};
use polars::prelude::*;

use super::scope::epoch_days;
use super::{count_where, derived, keyed_counts};
use crate::request::{DateRange, Granularity};
use crate::response::{TimeSeries, TimeSeriesPoint};
use crate::rounding::{Rounding, RATE_DECIMALS};

/// Dials, connected calls and conversions per bucket of one period (its
/// flag column: `IN_CURRENT` or `IN_PREVIOUS`).
pub(super) fn series_plan(scoped: LazyFrame, granularity: Granularity, period: &str) -> LazyFrame {
    scoped
        .filter(col(period))
        .group_by([bucket_key(granularity).alias(derived::BUCKET)])
        .agg([
            len().cast(DataType::Int64).alias(derived::DIALS),
            count_where(col(derived::CONNECTED)).alias(derived::CONNECTED),
            count_where(col(derived::CONVERSION)).alias(derived::CONVERSION),
        ])
}

/// The bucket of a call as an integer: epoch day of the bucket's first day
/// for DAY and WEEK, `year × 12 + month − 1` for MONTH.
fn bucket_key(granularity: Granularity) -> Expr {
    let day = col(derived::DAY).cast(DataType::Int64);
    let local = || col(derived::LOCAL).dt();
    match granularity {
        Granularity::Day => day,
        Granularity::Week => day - (local().weekday().cast(DataType::Int64) - lit(1i64)),
        Granularity::Month => {
            local().year().cast(DataType::Int64) * lit(12i64)
                + local().month().cast(DataType::Int64)
                - lit(1i64)
        }
    }
}

/// The first day of the bucket holding `day`.
pub(crate) fn bucket_start(day: NaiveDate, granularity: Granularity) -> NaiveDate {
    match granularity {
        Granularity::Day => day,
        Granularity::Week => day - Days::new(u64::from(day.weekday().num_days_from_monday())),
        Granularity::Month => day.with_day(1).expect("day 1 exists"),
    }
}

/// The first day of each bucket of `range`, ascending, with its key.
fn buckets(range: &DateRange, granularity: Granularity) -> Vec<(i64, NaiveDate)> {
    let mut days = Vec::new();
    let mut start = bucket_start(range.from, granularity);
    while start <= range.to {
        let key = match granularity {
            Granularity::Month => i64::from(start.year()) * 12 + i64::from(start.month0()),
            _ => i64::from(epoch_days(start)),
        };
        days.push((key, start));
        start = match granularity {
            Granularity::Day => start + Days::new(1),
            Granularity::Week => start + Days::new(7),
            Granularity::Month => start + Months::new(1),
        };
    }
    days
}

/// The series of `range`, every bucket present, from [`series_plan`]'s counts.
pub(super) fn read_series(
    frame: &DataFrame,
    range: &DateRange,
    granularity: Granularity,
    rounding: Rounding,
) -> PolarsResult<TimeSeries> {
    let counts = keyed_counts(
        frame,
        &[derived::BUCKET],
        [derived::DIALS, derived::CONNECTED, derived::CONVERSION],
    )?;
    let mut series = TimeSeries {
        dials: Vec::new(),
        connected: Vec::new(),
        connection_rate: Vec::new(),
        conversions: Vec::new(),
    };
    for (key, first_day) in buckets(range, granularity) {
        let [dials, connected, conversions] = counts.get(&vec![key]).copied().unwrap_or_default();
        let date = first_day.format("%Y-%m-%d").to_string();
        let point = |value| TimeSeriesPoint {
            date: date.clone(),
            value,
        };
        series.dials.push(point(dials as u64));
        series.connected.push(point(connected as u64));
        series.conversions.push(point(conversions as u64));
        series.connection_rate.push(TimeSeriesPoint {
            date: date.clone(),
            value: rounding
                .ratio(connected.into(), dials.into(), RATE_DECIMALS)
                .unwrap_or(0.0),
        });
    }
    Ok(series)
}
