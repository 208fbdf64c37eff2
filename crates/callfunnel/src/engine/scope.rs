//! The scoped calls (SPEC §2 filters and time zone, §3 which calls count):
//! the counted calls of either period that pass the request's filters, with
//! the derived columns every section reads (local time and day, the period
//! flags, the stage flags).

use chrono::{DateTime, Days, NaiveDate, Utc};
use polars::prelude::*;

use super::wall_clock::wall_clock;
use super::{count_where, derived, EngineError};
use crate::exprs::{collect_streaming, dated_within, first_count};
use crate::model::column;
use crate::request::{DateRange, Request};
use crate::stages;

/// Outbound calls of either period that pass the filters, with the columns
/// every section needs.
pub(crate) fn scoped_calls(calls: LazyFrame, request: &Request) -> LazyFrame {
    with_local_day(
        calls.filter(utc_window(request).and(counted_calls(request))),
        request,
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

/// `calls` with their wall-clock time in the request's zone (without a
/// zone: converted once per call, so that its day, weekday and hour are
/// plain arithmetic) and their local day.
fn with_local_day(calls: LazyFrame, request: &Request) -> LazyFrame {
    calls
        .with_column(wall_clock(col(column::DATE), request.timezone).alias(derived::LOCAL))
        .with_column(
            col(derived::LOCAL)
                .dt()
                .date()
                .cast(DataType::Int32)
                .alias(derived::DAY),
        )
}

/// How the calls dated in the current period come down to its dials: each
/// such call is a dial, or inbound or an SMS, or another rep's or number's
/// than the request's filter keeps. (A caller that knows how many calls it
/// read gets those outside the period as the difference.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodCensus {
    /// Calls whose date, in the request's zone, falls on a day of the
    /// current period: every direction and type, before the filter.
    pub in_period: u64,
    /// Of those, inbound calls and SMS (never counted, SPEC §3).
    pub inbound_or_sms: u64,
    /// Of those, outbound calls left out by `user_ids` or `allo_numbers`.
    pub filtered_out: u64,
    /// Of those, the dials: the funnel's current dials.
    pub dials: u64,
}

/// The [`PeriodCensus`] of `request`'s current period among `calls`, in
/// one pass over the calls of its UTC window (so a reader may have left
/// out the calls outside [`window`]).
pub fn period_census(calls: LazyFrame, request: &Request) -> Result<PeriodCensus, EngineError> {
    const IN_PERIOD: &str = "in_period";
    const COUNTED: &str = "counted";
    let totals = collect_streaming(
        with_local_day(calls.filter(utc_window(request)), request)
            .filter(day_in(&request.date))
            .select([
                len().cast(DataType::Int64).alias(IN_PERIOD),
                count_where(stages::is_counted()).alias(COUNTED),
                count_where(counted_calls(request)).alias(derived::DIALS),
            ]),
    )?;
    let count = |name: &str| first_count(&totals, name);
    let (in_period, counted, dials) = (count(IN_PERIOD)?, count(COUNTED)?, count(derived::DIALS)?);
    Ok(PeriodCensus {
        in_period,
        inbound_or_sms: in_period - counted,
        filtered_out: counted - dials,
        dials,
    })
}

/// Each key of the request's filter with its name: each rep of `user_ids`
/// with the name of their latest call, or each number of `allo_numbers`
/// with the label of its latest call, among the calls of either period that
/// carry one (ties: the greatest id); `None` when none does. Empty without
/// a filter.
pub fn filter_names(
    calls: LazyFrame,
    request: &Request,
) -> Result<Vec<(String, Option<String>)>, EngineError> {
    let (keys, key, name) = if request.user_ids.is_empty() {
        (
            &request.allo_numbers,
            column::ALLO_NUMBER,
            column::ALLO_NUMBER_LABEL,
        )
    } else {
        (&request.user_ids, column::USER_ID, column::USER_NAME)
    };
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let latest = collect_streaming(
        scoped_calls(calls, request)
            .filter(col(name).is_not_null())
            .group_by([col(key)])
            .agg([col(name)
                .sort_by(
                    [col(column::DATE), col(column::ID)],
                    SortMultipleOptions::default(),
                )
                .last()]),
    )?;
    let (found_keys, found_names) = (latest.column(key)?.str()?, latest.column(name)?.str()?);
    let found: std::collections::HashMap<&str, &str> = (0..latest.height())
        .filter_map(|row| Some((found_keys.get(row)?, found_names.get(row)?)))
        .collect();
    Ok(keys
        .iter()
        .map(|key| {
            (
                key.clone(),
                found.get(key.as_str()).map(|name| name.to_string()),
            )
        })
        .collect())
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

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::engine::compute;
    use crate::model::{calls_to_frame, Call, CallType, Direction};

    /// Calls around a period of one day in Paris (2024-03-04): two dials of
    /// usr-1 (one late on the 4th in Paris, the 4th still in UTC), one of
    /// usr-2, an inbound call and an SMS that day, and calls the day before
    /// and after in Paris.
    fn calls() -> LazyFrame {
        let at = |day, hour, minute| Utc.with_ymd_and_hms(2024, 3, day, hour, minute, 0).unwrap();
        let call = |id: &str, date, user: &str, name: Option<&str>| {
            let mut call = Call::new(id, date);
            call.user_id = Some(user.into());
            call.user_name = name.map(str::to_string);
            call.allo_number = Some("+33100000000".into());
            call.allo_number_label = name.map(|name| format!("{name}'s line"));
            call
        };
        let mut inbound = call("cll-4", at(4, 10, 0), "usr-1", None);
        inbound.direction = Direction::Inbound;
        let mut sms = call("cll-5", at(4, 10, 5), "usr-1", None);
        sms.call_type = CallType::Sms;
        let frame = calls_to_frame([
            call("cll-1", at(4, 9, 0), "usr-1", Some("Ann")),
            call("cll-2", at(4, 22, 30), "usr-1", Some("Ann Lee")),
            call("cll-3", at(4, 12, 0), "usr-2", Some("Bob")),
            inbound,
            sms,
            // 2024-03-03 23:30 UTC is the 4th in Paris; 23:30 on the 4th is the 5th.
            call("cll-6", at(3, 23, 30), "usr-2", None),
            call("cll-7", at(4, 23, 30), "usr-1", Some("Ann L.")),
            call("cll-8", at(1, 9, 0), "usr-1", Some("Old name")),
        ])
        .unwrap();
        frame.lazy()
    }

    fn request(filter: &str) -> Request {
        Request::from_json_str(&format!(
            r#"{{"date": {{"from": "2024-03-04", "to": "2024-03-04"}}, "timezone": "Europe/Paris"{filter}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn the_census_parts_add_up_to_the_calls_of_the_period() {
        let census = period_census(calls(), &request("")).unwrap();
        assert_eq!(
            census,
            PeriodCensus {
                in_period: 6,
                inbound_or_sms: 2,
                filtered_out: 0,
                dials: 4,
            }
        );
        let filtered = request(r#", "user_ids": ["usr-1"]"#);
        let census = period_census(calls(), &filtered).unwrap();
        assert_eq!(
            census,
            PeriodCensus {
                in_period: 6,
                inbound_or_sms: 2,
                filtered_out: 2,
                dials: 2,
            }
        );
        let response = compute(calls(), &filtered).unwrap();
        assert_eq!(census.dials, response.data.funnel.dials.count.value);
    }

    #[test]
    fn filter_names_come_from_the_latest_call_that_has_one() {
        assert_eq!(filter_names(calls(), &request("")).unwrap(), []);
        // usr-1's latest call of either period (the 4th, or the 3rd before
        // it) is cll-2; cll-7 falls on the 5th in Paris.
        let users = request(r#", "user_ids": ["usr-1", "usr-2", "usr-9"]"#);
        assert_eq!(
            filter_names(calls(), &users).unwrap(),
            [
                ("usr-1".to_string(), Some("Ann Lee".to_string())),
                ("usr-2".to_string(), Some("Bob".to_string())),
                ("usr-9".to_string(), None),
            ]
        );
        let numbers = request(r#", "allo_numbers": ["+33100000000"]"#);
        assert_eq!(
            filter_names(calls(), &numbers).unwrap(),
            [(
                "+33100000000".to_string(),
                Some("Ann Lee's line".to_string())
            )]
        );
    }
}
