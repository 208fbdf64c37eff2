//! The scoped calls (SPEC §2 filters and time zone, §3 which calls count):
//! the counted calls of either period that pass the request's filters, with
//! the derived columns every section reads (local time and day, the period
//! flags, the stage flags).

use chrono::{DateTime, Days, NaiveDate, Utc};
use polars::prelude::*;

use super::derived;
use crate::exprs::dated_within;
use crate::model::column;
use crate::request::{DateRange, Request};
use crate::stages;

/// Outbound calls of either period that pass the filters, with the columns
/// every section needs.
pub(crate) fn scoped_calls(calls: LazyFrame, request: &Request) -> LazyFrame {
    let zone = polars_zone(request);
    calls
        .filter(utc_window(request).and(counted_calls(request)))
        // The local wall-clock time, without a zone: converted once per
        // call, so that its day, weekday and hour are plain arithmetic.
        .with_column(
            col(column::DATE)
                .dt()
                .convert_time_zone(zone)
                .dt()
                .replace_time_zone(None, lit("raise"), NonExistent::Raise)
                .alias(derived::LOCAL),
        )
        .with_column(
            col(derived::LOCAL)
                .dt()
                .date()
                .cast(DataType::Int32)
                .alias(derived::DAY),
        )
        .with_columns([
            day_in(&request.date).alias(derived::IN_CURRENT),
            match &request.compare_date {
                Some(range) => day_in(range),
                None => lit(false),
            }
            .alias(derived::IN_PREVIOUS),
        ])
        .filter(col(derived::IN_CURRENT).or(col(derived::IN_PREVIOUS)))
        .with_column(stages::is_connected().alias(derived::CONNECTED))
        .with_columns([
            stages::is_conversation(
                col(derived::CONNECTED),
                request.conversation_threshold_seconds,
            )
            .alias(derived::CONVERSATION),
            stages::is_conversion(&request.tags).alias(derived::CONVERSION),
        ])
}

/// The columns of the scoped calls that some section reads: a Parquet scan
/// then decodes only these (the drilldown's numbers, and what the analysis
/// reads, only when asked for).
pub(super) fn section_columns(request: &Request) -> Vec<Expr> {
    let mut names = vec![
        column::ID,
        column::DATE,
        column::USER_ID,
        column::USER_NAME,
        column::USER_EMAIL,
        column::RESULT,
        column::DURATION,
        column::RINGING_SECONDS,
        derived::LOCAL,
        derived::DAY,
        derived::IN_CURRENT,
        derived::IN_PREVIOUS,
        derived::CONNECTED,
        derived::CONVERSATION,
        derived::CONVERSION,
    ];
    if request.items.is_some() {
        names.extend([
            column::ALLO_NUMBER,
            column::ALLO_NUMBER_LABEL,
            column::CONTACT_NUMBER,
        ]);
    }
    for name in crate::analysis::extra_columns(&request.analysis) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names.into_iter().map(col).collect()
}

/// The request's zone as Polars names it (the name was validated by chrono-tz).
fn polars_zone(request: &Request) -> TimeZone {
    TimeZone::from_chrono(&request.timezone)
}

/// A UTC window that surely holds both periods in any zone (offsets stay
/// within ±26 h), so the scan can skip what is far outside.
fn utc_window(request: &Request) -> Expr {
    dated_within(window(request))
}

/// The UTC range (from inclusive, to exclusive) holding every call `request`
/// can count, in either period, whatever its time zone: the periods' days
/// widened by two days before and after. Calls outside it do not change the
/// response but for `last_updated` (see [`crate::ingest::IngestOptions::keep_window`]).
pub fn window(request: &Request) -> (DateTime<Utc>, DateTime<Utc>) {
    let periods = || std::iter::once(&request.date).chain(&request.compare_date);
    let first = periods().map(|range| range.from).min().expect("a period") - Days::new(2);
    let last = periods().map(|range| range.to).max().expect("a period") + Days::new(3);
    let midnight = |day: NaiveDate| day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
    (midnight(first), midnight(last))
}

/// Counted calls (SPEC §3) that pass the user or number filter.
fn counted_calls(request: &Request) -> Expr {
    let outbound = stages::is_counted();
    let filter = if !request.user_ids.is_empty() {
        Some(matches_any(column::USER_ID, &request.user_ids))
    } else if !request.allo_numbers.is_empty() {
        Some(matches_any(column::ALLO_NUMBER, &request.allo_numbers))
    } else {
        None
    };
    match filter {
        Some(filter) => outbound.and(filter),
        None => outbound,
    }
}

/// Whether column `name` holds one of `values` (false for a null).
fn matches_any(name: &str, values: &[String]) -> Expr {
    let values = Series::new("values".into(), values);
    col(name)
        .is_in(lit(values).implode(false), false)
        .fill_null(lit(false))
}

/// Days since the epoch, as the local-day column holds them.
pub(super) fn epoch_days(day: NaiveDate) -> i32 {
    (day - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

/// Whether the call's local day lies in `range`.
fn day_in(range: &DateRange) -> Expr {
    col(derived::DAY)
        .gt_eq(lit(epoch_days(range.from)))
        .and(col(derived::DAY).lt_eq(lit(epoch_days(range.to))))
}
