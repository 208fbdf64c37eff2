//! The computation core (SPEC §3–§4) on Polars lazy frames.
//!
//! Pure: it takes a lazy frame of canonical calls (see [`crate::model`]) and a
//! validated [`Request`], and returns a [`Response`]; it opens no file and
//! prints nothing.
//!
//! One plan: the calls of both periods are selected (a coarse UTC window
//! first, so a Parquet scan can push it down, then the exact local-day test)
//! and their derived columns added; every section aggregates that plan. When
//! the scoped calls are few (up to 2M) they are collected once and every
//! section reads them; beyond, each section streams over the plan in turn
//! with aggregations Polars' streaming engine runs in bounded memory (the
//! drilldown through a top-k of our own), so memory does not grow with a
//! dense period. [`compute_section`] runs one section alone, to measure what
//! each costs.

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use polars::prelude::*;

use crate::exprs::{collect_streaming, dated_within, fold_batches, with_own_strings};
use crate::model::rules::MAX_RINGING_SECONDS;
use crate::model::{column, CallResult};
use crate::request::{DateRange, Granularity, ItemsRequest, Request, Stage};
use crate::response::{
    DrilldownItem, Funnel, FunnelStage, Heatmap, HeatmapCell, Items, LeaderboardEntry, MetricValue,
    Pagination, Response, ResponseData, TimeSeries, TimeSeriesPoint, TimeSpent, UserRef,
};
use crate::rounding::{Rounding, AVERAGE_DECIMALS, CHANGE_DECIMALS, RATE_DECIMALS};
use crate::stages;

/// Failure inside the engine (the query itself failed).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Polars could not run the query (e.g. the frame lacks a canonical column).
    #[error("computation failed: {0}")]
    Polars(#[from] PolarsError),
    /// A value beyond what the computation holds exactly (readers refuse such
    /// rows with a located error; a frame built by hand may still hold one).
    #[error("value out of range: {0}")]
    OutOfRange(String),
}

/// Weekday names in heatmap order.
pub const WEEKDAYS: [&str; 7] = [
    "MONDAY",
    "TUESDAY",
    "WEDNESDAY",
    "THURSDAY",
    "FRIDAY",
    "SATURDAY",
    "SUNDAY",
];

/// Names of the derived columns added to the scoped calls.
pub(crate) mod derived {
    /// The call's wall-clock time in the request's zone (no zone attached).
    pub const LOCAL: &str = "local_date_time";
    pub const DAY: &str = "local_day";
    pub const IN_CURRENT: &str = "in_current";
    pub const IN_PREVIOUS: &str = "in_previous";
    pub const CONNECTED: &str = "is_connected";
    pub const CONVERSATION: &str = "is_conversation";
    pub const CONVERSION: &str = "is_conversion";
    pub const BUCKET: &str = "bucket";
    pub const WEEKDAY: &str = "weekday";
    pub const HOUR: &str = "hour";
    pub const DIALS: &str = "dials";
    pub const DATE_MICROS: &str = "date_micros";
}

/// Computes the response for `request` from a canonical call frame, rounded as the API rounds.
pub fn compute(calls: LazyFrame, request: &Request) -> Result<Response, EngineError> {
    compute_with(calls, request, Rounding::Api)
}

/// Like [`compute`], with a choice of rounding (`Rounding::Exact` for `--exact`).
pub fn compute_with(
    calls: LazyFrame,
    request: &Request,
    rounding: Rounding,
) -> Result<Response, EngineError> {
    Ok(compute_parts(calls, request, rounding, false, SCOPED_ROWS_IN_MEMORY)?.0)
}

/// Like [`compute_with`], and also the time series of the comparison period
/// (`compare_date`, bucketed as the current one), which a report charts
/// against the current series. Both come from one pass over the calls.
pub fn compute_with_previous_series(
    calls: LazyFrame,
    request: &Request,
    rounding: Rounding,
) -> Result<(Response, TimeSeries), EngineError> {
    let (response, previous) =
        compute_parts(calls, request, rounding, true, SCOPED_ROWS_IN_MEMORY)?;
    Ok((
        response,
        previous.expect("the previous series was asked for"),
    ))
}

/// The response, and the comparison period's time series when asked for;
/// the scoped calls are held in memory when at most `rows_in_memory`.
fn compute_parts(
    calls: LazyFrame,
    request: &Request,
    rounding: Rounding,
    previous_series: bool,
    rows_in_memory: usize,
) -> Result<(Response, Option<TimeSeries>), EngineError> {
    // The latest date reads every call: it is collected on its own, or the
    // common-subplan pass would merge its scan with the scoped one and read
    // every row group of a Parquet input for the scoped sections too.
    let last_updated = collect_streaming(last_updated_plan(calls.clone()))?;
    let plan = scoped_calls(calls, request).select(section_columns(request));
    let scoped = hold_if_few(plan, rows_in_memory)?;
    let frame = scoped.frame.clone();
    let mut plans = vec![
        totals_plan(frame.clone()),
        series_plan(frame.clone(), request.granularity, derived::IN_CURRENT),
        heatmap_plan(frame.clone()),
        leaderboard_plan(frame.clone()),
    ];
    if previous_series {
        plans.push(series_plan(
            frame.clone(),
            request.granularity,
            derived::IN_PREVIOUS,
        ));
    }
    let drilldown = match &request.items {
        Some(items) => Some(drilldown_page(frame.clone(), items)?),
        None => None,
    };
    let frames = scoped.collect_sections(plans)?;
    let [totals, series, heatmap, leaderboard, rest @ ..] = frames.as_slice() else {
        unreachable!("one frame per plan");
    };
    let previous = match rest {
        [previous] => Some(read_series(
            previous,
            &request.compare_date,
            request.granularity,
            rounding,
        )?),
        _ => None,
    };

    let totals = Totals::read(totals)?;
    let items = match (&request.items, &drilldown) {
        (Some(items), Some(frame)) => {
            Some(read_items(frame, items, totals.stage_count(items.stage))?)
        }
        _ => None,
    };
    let response = Response {
        data: ResponseData {
            date: request.date,
            compare_date: request.compare_date,
            funnel: totals.funnel(rounding),
            time_series: read_series(series, &request.date, request.granularity, rounding)?,
            heatmap: read_heatmap(heatmap, rounding)?,
            leaderboard: read_leaderboard(leaderboard)?,
            time_spent: totals.time_spent(rounding)?,
            last_updated: read_last_updated(&last_updated)?,
            items,
        },
    };
    Ok((response, previous))
}

/// Scoped calls held in memory at most; beyond, every section streams over
/// the input on its own.
const SCOPED_ROWS_IN_MEMORY: usize = 2 << 20;

/// The scoped calls, as the sections read them.
struct Scoped {
    /// The calls collected once (few enough: every section reads them) or
    /// the plan (too many to hold: each section streams over it in turn, in
    /// memory that grows with its groups and the drilldown page).
    frame: LazyFrame,
    /// Whether `frame` is the collected calls.
    held: bool,
}

impl Scoped {
    /// Collects the section `plans`, on the streaming engine (its grouped
    /// `max_by` is the one that handles zero groups): together over held
    /// calls, else one after the other (together, each would hold its own
    /// view of a scanned file at once).
    fn collect_sections(&self, plans: Vec<LazyFrame>) -> PolarsResult<Vec<DataFrame>> {
        if self.held {
            collect_all(plans, Engine::Streaming)
        } else {
            plans.into_iter().map(collect_streaming).collect()
        }
    }
}

/// The scoped calls of `plan`: collected when there are at most
/// `rows_in_memory` (reading no more than one beyond), else the plan.
fn hold_if_few(plan: LazyFrame, rows_in_memory: usize) -> PolarsResult<Scoped> {
    let limit = IdxSize::try_from(rows_in_memory + 1).unwrap_or(IdxSize::MAX);
    let first = collect_streaming(plan.clone().limit(limit))?;
    Ok(if first.height() <= rows_in_memory {
        Scoped {
            frame: first.lazy(),
            held: true,
        }
    } else {
        Scoped {
            frame: plan,
            held: false,
        }
    })
}

/// A part of the computation, for [`compute_section`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The calls of both periods that pass the filters, with derived columns.
    Scope,
    /// Funnel counts and time spent, both periods.
    Totals,
    /// The time series.
    TimeSeries,
    /// The weekday × hour heatmap.
    Heatmap,
    /// The leaderboard.
    Leaderboard,
    /// The drilldown page (the request's, or the first ten dials).
    Drilldown,
    /// The latest call date.
    LastUpdated,
}

impl Section {
    /// Every section, in response order.
    pub const ALL: [Section; 7] = [
        Section::Scope,
        Section::Totals,
        Section::TimeSeries,
        Section::Heatmap,
        Section::Leaderboard,
        Section::Drilldown,
        Section::LastUpdated,
    ];

    /// A short name, e.g. for benchmark labels.
    pub fn name(self) -> &'static str {
        match self {
            Section::Scope => "scope",
            Section::Totals => "totals",
            Section::TimeSeries => "time_series",
            Section::Heatmap => "heatmap",
            Section::Leaderboard => "leaderboard",
            Section::Drilldown => "drilldown",
            Section::LastUpdated => "last_updated",
        }
    }
}

/// Runs one section of the computation alone, from the calls to its
/// aggregated frame (the frame [`compute`] reads that section from).
/// [`compute`] shares the scoped calls between sections, so the sum of the
/// sections' times exceeds its time by about `Scope` per extra section.
pub fn compute_section(
    calls: LazyFrame,
    request: &Request,
    section: Section,
) -> Result<DataFrame, EngineError> {
    let first_dials = ItemsRequest {
        stage: Stage::Dial,
        page: 1,
        size: 10,
    };
    let scoped = || scoped_calls(calls.clone(), request);
    let plan = match section {
        Section::Scope => scoped(),
        Section::Totals => totals_plan(scoped()),
        Section::TimeSeries => series_plan(scoped(), request.granularity, derived::IN_CURRENT),
        Section::Heatmap => heatmap_plan(scoped()),
        Section::Leaderboard => leaderboard_plan(scoped()),
        Section::Drilldown => {
            let items = request.items.as_ref().unwrap_or(&first_dials);
            return Ok(drilldown_page(scoped(), items)?);
        }
        Section::LastUpdated => last_updated_plan(calls.clone()),
    };
    Ok(collect_streaming(plan)?)
}

/// Collects `plans` together with `engine`.
fn collect_all(plans: Vec<LazyFrame>, engine: Engine) -> PolarsResult<Vec<DataFrame>> {
    let Some(opt_state) = plans.first().map(LazyFrame::get_current_optimizations) else {
        return Ok(Vec::new());
    };
    LazyFrame::collect_all_with_engine(
        plans.into_iter().map(|plan| plan.logical_plan).collect(),
        engine,
        opt_state,
    )
}

// ---------------------------------------------------------------------------
// The scoped calls: both periods, filtered, with derived columns.
// ---------------------------------------------------------------------------

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
            day_in(&request.compare_date).alias(derived::IN_PREVIOUS),
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
/// then decodes only these (the drilldown's numbers only when asked for).
fn section_columns(request: &Request) -> Vec<Expr> {
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
    let first = request.date.from.min(request.compare_date.from) - Days::new(2);
    let last = request.date.to.max(request.compare_date.to) + Days::new(3);
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
fn epoch_days(day: NaiveDate) -> i32 {
    (day - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

/// Whether the call's local day lies in `range`.
fn day_in(range: &DateRange) -> Expr {
    col(derived::DAY)
        .gt_eq(lit(epoch_days(range.from)))
        .and(col(derived::DAY).lt_eq(lit(epoch_days(range.to))))
}

/// Counts the rows where `condition` holds, as Int64.
fn count_where(condition: Expr) -> Expr {
    condition.cast(DataType::Int64).sum()
}

/// Sums `value` over the rows where `condition` holds.
fn sum_where(condition: Expr, value: Expr) -> Expr {
    when(condition).then(value).otherwise(lit(NULL)).sum()
}

// ---------------------------------------------------------------------------
// Funnel and time spent.
// ---------------------------------------------------------------------------

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
fn exact_sum_where(condition: Expr, value: Expr, name: &str) -> [Expr; 2] {
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
fn totals_plan(scoped: LazyFrame) -> LazyFrame {
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

/// Totals of the current and the comparison period.
#[derive(Debug, Clone, Copy)]
struct Totals {
    current: PeriodTotals,
    previous: PeriodTotals,
}

/// Reads the two parts of an [`exact_sum_where`] back into one number.
fn read_split_sum(frame: &DataFrame, name: &str) -> PolarsResult<i128> {
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
    Ok((i128::from(high) << LOW_BITS) + i128::from(low))
}

impl Totals {
    fn read(frame: &DataFrame) -> Result<Totals, EngineError> {
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
            previous: period("previous")?,
        })
    }

    fn stage_count(&self, stage: Stage) -> i64 {
        match stage {
            Stage::Dial => self.current.dials,
            Stage::Connected => self.current.connected,
            Stage::Conversation => self.current.conversations,
            Stage::Conversion => self.current.conversions,
        }
    }

    fn funnel(&self, rounding: Rounding) -> Funnel {
        let stage = |count: fn(&PeriodTotals) -> i64| {
            let (value, previous) = (count(&self.current), count(&self.previous));
            FunnelStage {
                count: count_metric(value.into(), previous.into(), rounding),
                rate: rounding.ratio(value.into(), self.current.dials.into(), RATE_DECIMALS),
            }
        };
        Funnel {
            dials: stage(|t| t.dials),
            connected: stage(|t| t.connected),
            conversations: stage(|t| t.conversations),
            conversions: stage(|t| t.conversions),
        }
    }

    fn time_spent(&self, rounding: Rounding) -> Result<TimeSpent, EngineError> {
        let (current, previous) = (&self.current, &self.previous);
        let total = |sum: i128| {
            u64::try_from(sum).map_err(|_| {
                EngineError::OutOfRange(format!(
                    "the total conversation time {sum} s does not fit 64 bits"
                ))
            })
        };
        Ok(TimeSpent {
            avg_ringing_time_seconds: mean_metric(
                (current.ringing_millis, current.ringing_known.into()),
                (previous.ringing_millis, previous.ringing_known.into()),
                MILLIS_PER_SECOND,
                rounding,
            ),
            avg_conversation_time_seconds: mean_metric(
                (current.talk_sum, current.connected.into()),
                (previous.talk_sum, previous.connected.into()),
                1,
                rounding,
            ),
            total_conversation_time_seconds: count_metric(
                total(current.talk_sum)?.into(),
                total(previous.talk_sum)?.into(),
                rounding,
            ),
        })
    }
}

/// A count with its previous value and the exact change (both counts fit 64
/// bits unsigned).
fn count_metric(value: i128, previous: i128, rounding: Rounding) -> MetricValue<u64> {
    MetricValue {
        value: value as u64,
        previous: previous as u64,
        change: rounding.ratio(value - previous, previous, CHANGE_DECIMALS),
    }
}

/// Milliseconds in a second: the unit of the ringing sums.
const MILLIS_PER_SECOND: i128 = 1000;

/// A mean `sum ÷ (count × unit)` for both periods, with the change computed
/// on the exact fractions: `(s1/c1 − s0/c0) ÷ (s0/c0) = (s1·c0 − s0·c1) ÷ (s0·c1)`.
/// Sums stay below 2⁹⁵ and counts below 2³², so these products fit an `i128`;
/// should they not, the change is the quotient of the two rounded means.
fn mean_metric(
    current: (i128, i128),
    previous: (i128, i128),
    unit: i128,
    rounding: Rounding,
) -> MetricValue<Option<f64>> {
    let mean = |(sum, count): (i128, i128)| rounding.ratio(sum, count * unit, AVERAGE_DECIMALS);
    let ((s1, c1), (s0, c0)) = (current, previous);
    let change = if c1 > 0 && c0 > 0 {
        let exact = s1
            .checked_mul(c0)
            .zip(s0.checked_mul(c1))
            .and_then(|(a, b)| Some((a.checked_sub(b)?, b)));
        match exact {
            Some((numerator, denominator)) => {
                rounding.ratio(numerator, denominator, CHANGE_DECIMALS)
            }
            None => {
                let approximate = |(sum, count): (i128, i128)| sum as f64 / count as f64;
                let (m1, m0) = (approximate(current), approximate(previous));
                (m0 != 0.0).then(|| rounding.round_f64((m1 - m0) / m0, CHANGE_DECIMALS))
            }
        }
    } else {
        None
    };
    MetricValue {
        value: mean(current),
        previous: mean(previous),
        change,
    }
}

// ---------------------------------------------------------------------------
// Time series.
// ---------------------------------------------------------------------------

/// Dials, connected calls and conversions per bucket of one period (its
/// flag column: `IN_CURRENT` or `IN_PREVIOUS`).
fn series_plan(scoped: LazyFrame, granularity: Granularity, period: &str) -> LazyFrame {
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

/// Reads `key → (a, b, …)` integer columns of an aggregated frame.
fn keyed_counts<const N: usize>(
    frame: &DataFrame,
    keys: &[&str],
    values: [&str; N],
) -> PolarsResult<std::collections::HashMap<Vec<i64>, [i64; N]>> {
    let key_columns = keys
        .iter()
        .map(|name| frame.column(name)?.cast(&DataType::Int64))
        .collect::<PolarsResult<Vec<_>>>()?;
    let value_columns = values
        .iter()
        .map(|name| frame.column(name)?.cast(&DataType::Int64))
        .collect::<PolarsResult<Vec<_>>>()?;
    let mut map = std::collections::HashMap::with_capacity(frame.height());
    for row in 0..frame.height() {
        let key = key_columns
            .iter()
            .map(|c| Ok(c.i64()?.get(row).unwrap_or(0)))
            .collect::<PolarsResult<Vec<_>>>()?;
        let mut counts = [0i64; N];
        for (slot, c) in counts.iter_mut().zip(&value_columns) {
            *slot = c.i64()?.get(row).unwrap_or(0);
        }
        map.insert(key, counts);
    }
    Ok(map)
}

/// The series of `range`, every bucket present, from [`series_plan`]'s counts.
fn read_series(
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

// ---------------------------------------------------------------------------
// Heatmap.
// ---------------------------------------------------------------------------

/// Dials and connected calls per local weekday and hour of the current period.
fn heatmap_plan(scoped: LazyFrame) -> LazyFrame {
    scoped
        .filter(col(derived::IN_CURRENT))
        .group_by([
            col(derived::LOCAL).dt().weekday().alias(derived::WEEKDAY),
            col(derived::LOCAL).dt().hour().alias(derived::HOUR),
        ])
        .agg([
            len().cast(DataType::Int64).alias(derived::DIALS),
            count_where(col(derived::CONNECTED)).alias(derived::CONNECTED),
        ])
}

fn read_heatmap(frame: &DataFrame, rounding: Rounding) -> PolarsResult<Heatmap> {
    let counts = keyed_counts(
        frame,
        &[derived::WEEKDAY, derived::HOUR],
        [derived::DIALS, derived::CONNECTED],
    )?;
    let mut heatmap = Heatmap {
        dials: Vec::with_capacity(168),
        connected: Vec::with_capacity(168),
        connection_rate: Vec::with_capacity(168),
    };
    for (weekday, day) in (1i64..).zip(WEEKDAYS) {
        for hour in 0..24u32 {
            let [dials, connected] = counts
                .get(&vec![weekday, i64::from(hour)])
                .copied()
                .unwrap_or_default();
            let cell = |value| HeatmapCell { day, hour, value };
            heatmap.dials.push(cell(dials as u64));
            heatmap.connected.push(cell(connected as u64));
            heatmap.connection_rate.push(HeatmapCell {
                day,
                hour,
                value: rounding
                    .ratio(connected.into(), dials.into(), RATE_DECIMALS)
                    .unwrap_or(0.0),
            });
        }
    }
    Ok(heatmap)
}

// ---------------------------------------------------------------------------
// Leaderboard.
// ---------------------------------------------------------------------------

/// Connected calls per user with a dial in the current period; name and email
/// of the user's latest call (ties: greatest id).
fn leaderboard_plan(scoped: LazyFrame) -> LazyFrame {
    // Streaming aggregations only (memory grows with the users, not the
    // calls): the counts and each user's latest date, then the name and email
    // of the call with the greatest id among the calls of that date.
    let current = scoped.filter(col(derived::IN_CURRENT).and(col(column::USER_ID).is_not_null()));
    let counts = current.clone().group_by([col(column::USER_ID)]).agg([
        count_where(col(derived::CONNECTED)).alias(derived::CONNECTED),
        col(column::DATE).max().alias(LATEST_DATE),
    ]);
    let latest = |name: &str| col(name).max_by(col(column::ID));
    let latest_calls = current
        .join(
            counts
                .clone()
                .select([col(column::USER_ID), col(LATEST_DATE)]),
            [col(column::USER_ID), col(column::DATE)],
            [col(column::USER_ID), col(LATEST_DATE)],
            JoinArgs::new(JoinType::Inner),
        )
        .group_by([col(column::USER_ID)])
        .agg([latest(column::USER_NAME), latest(column::USER_EMAIL)]);
    counts
        .join(
            latest_calls,
            [col(column::USER_ID)],
            [col(column::USER_ID)],
            JoinArgs::new(JoinType::Left),
        )
        .select([
            col(column::USER_ID),
            col(derived::CONNECTED),
            col(column::USER_NAME),
            col(column::USER_EMAIL),
        ])
        .sort_by_exprs(
            [col(derived::CONNECTED), col(column::USER_ID)],
            SortMultipleOptions::default().with_order_descending_multi([true, false]),
        )
}

/// Name of each user's latest call date while the leaderboard is computed.
const LATEST_DATE: &str = "__latest_date";

fn read_leaderboard(frame: &DataFrame) -> PolarsResult<Vec<LeaderboardEntry>> {
    let ids = frame.column(column::USER_ID)?.str()?;
    let names = frame.column(column::USER_NAME)?.str()?;
    let emails = frame.column(column::USER_EMAIL)?.str()?;
    let connected = frame.column(derived::CONNECTED)?.cast(&DataType::Int64)?;
    let connected = connected.i64()?;
    Ok((0..frame.height())
        .map(|row| LeaderboardEntry {
            user: UserRef {
                id: ids.get(row).map(str::to_string),
                name: names.get(row).map(str::to_string),
                email: emails.get(row).map(str::to_string),
            },
            connected: connected.get(row).unwrap_or(0) as u64,
        })
        .collect())
}

// ---------------------------------------------------------------------------
// Last updated.
// ---------------------------------------------------------------------------

/// The latest date among all loaded calls, before any filter.
fn last_updated_plan(calls: LazyFrame) -> LazyFrame {
    calls.select([col(column::DATE)
        .max()
        .cast(DataType::Int64)
        .alias(derived::DATE_MICROS)])
}

fn read_last_updated(frame: &DataFrame) -> PolarsResult<Option<String>> {
    let micros = frame.column(derived::DATE_MICROS)?.i64()?.get(0);
    Ok(micros.map(format_utc))
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a UTC instant in microseconds.
fn format_utc(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .map(|instant| instant.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Drilldown.
// ---------------------------------------------------------------------------

/// Whether a call is in `stage` (SPEC §3).
fn in_stage(stage: Stage) -> Expr {
    match stage {
        Stage::Dial => lit(true),
        Stage::Connected => col(derived::CONNECTED),
        Stage::Conversation => col(derived::CONVERSATION),
        Stage::Conversion => col(derived::CONVERSION),
    }
}

/// One page of the stage's current-period calls, newest first (ties: id
/// ascending).
///
/// The calls stream through a top-k of our own that keeps only the calls up
/// to the page's end, batch by batch: memory grows with the page number, not
/// with the calls. (Polars 0.55's streaming top-k keeps every batch whose rows
/// come in ascending date order, as a store's and an export's do.)
fn drilldown_page(scoped: LazyFrame, items: &ItemsRequest) -> PolarsResult<DataFrame> {
    let offset = u64::from(items.page - 1) * u64::from(items.size);
    let keep = usize::try_from(offset + u64::from(items.size)).unwrap_or(usize::MAX);
    let mut candidates = scoped
        .filter(col(derived::IN_CURRENT).and(in_stage(items.stage)))
        .select(drilldown_columns());
    let schema = candidates.collect_schema()?;
    let kept = fold_batches(
        candidates,
        false,
        None,
        move |best: &mut Option<DataFrame>, batch| {
            let merged = match best.take() {
                Some(mut kept) => {
                    kept.vstack_mut(&batch)?;
                    kept
                }
                None => batch,
            };
            // Copied out: a slice would hold every batch's text buffers.
            *best = Some(with_own_strings(latest_first(&merged)?.slice(0, keep))?);
            Ok(false)
        },
    )?;
    let sorted = match kept {
        Some(kept) => latest_first(&kept)?,
        None => DataFrame::empty_with_schema(&schema),
    };
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    Ok(sorted.slice(offset, items.size as usize))
}

/// The columns a drilldown item is read from.
fn drilldown_columns() -> [Expr; 13] {
    [
        col(column::ID),
        col(column::USER_ID),
        col(column::USER_NAME),
        col(column::USER_EMAIL),
        col(column::ALLO_NUMBER),
        col(column::ALLO_NUMBER_LABEL),
        col(column::CONTACT_NUMBER),
        col(column::RESULT),
        col(column::DURATION).cast(DataType::Int64),
        col(column::DATE)
            .cast(DataType::Int64)
            .alias(derived::DATE_MICROS),
        col(derived::CONNECTED),
        col(derived::CONVERSATION),
        col(derived::CONVERSION),
    ]
}

/// `calls` newest first (ties: id ascending).
fn latest_first(calls: &DataFrame) -> PolarsResult<DataFrame> {
    calls.sort(
        [derived::DATE_MICROS, column::ID],
        SortMultipleOptions::default().with_order_descending_multi([true, false]),
    )
}

fn read_items(frame: &DataFrame, request: &ItemsRequest, total: i64) -> PolarsResult<Items> {
    let text = |name: &str| frame.column(name).and_then(|c| c.str().cloned());
    let flag = |name: &str| frame.column(name).and_then(|c| c.bool().cloned());
    let (ids, user_ids, names, emails) = (
        text(column::ID)?,
        text(column::USER_ID)?,
        text(column::USER_NAME)?,
        text(column::USER_EMAIL)?,
    );
    let (numbers, labels, contacts, results) = (
        text(column::ALLO_NUMBER)?,
        text(column::ALLO_NUMBER_LABEL)?,
        text(column::CONTACT_NUMBER)?,
        text(column::RESULT)?,
    );
    let (connected, conversation, conversion) = (
        flag(derived::CONNECTED)?,
        flag(derived::CONVERSATION)?,
        flag(derived::CONVERSION)?,
    );
    let durations = frame.column(column::DURATION)?.i64()?.clone();
    let dates = frame.column(derived::DATE_MICROS)?.i64()?.clone();
    let owned = |value: Option<&str>| value.map(str::to_string);

    let data = (0..frame.height())
        .map(|row| {
            let user = UserRef {
                id: owned(user_ids.get(row)),
                name: owned(names.get(row)),
                email: owned(emails.get(row)),
            };
            let has_user = user.id.is_some() || user.name.is_some() || user.email.is_some();
            let reached = |flags: &BooleanChunked| flags.get(row).unwrap_or(false);
            let stage = if reached(&conversion) {
                Stage::Conversion
            } else if reached(&conversation) {
                Stage::Conversation
            } else if reached(&connected) {
                Stage::Connected
            } else {
                Stage::Dial
            };
            DrilldownItem {
                id: ids.get(row).unwrap_or_default().to_string(),
                user: has_user.then_some(user),
                allo_number: owned(numbers.get(row)),
                allo_number_label: owned(labels.get(row)),
                contact_number: owned(contacts.get(row)),
                stage,
                voicemail: results.get(row) == Some(CallResult::Voicemail.as_str()),
                duration: durations.get(row).unwrap_or(0),
                date: dates.get(row).map(format_utc).unwrap_or_default(),
            }
        })
        .collect();

    let total_count = total.max(0) as u64;
    let total_pages = total_count.div_ceil(u64::from(request.size));
    Ok(Items {
        data,
        pagination: Pagination {
            page: request.page,
            size: request.size,
            total_count,
            total_pages,
            has_more: u64::from(request.page) < total_pages,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{load, IngestOptions};

    /// Every sample request gives the same response whether the scoped calls
    /// are held in memory or streamed section by section.
    #[test]
    fn streamed_sections_equal_sections_in_memory() {
        let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sample_data");
        let calls = load(&[samples.join("calls.csv")], &IngestOptions::default())
            .unwrap()
            .frame;
        let requests = [
            "request.json",
            "request_drilldown.json",
            "request_weekly.json",
            "request_no_tags.json",
        ];
        for name in requests {
            let text = std::fs::read_to_string(samples.join(name)).unwrap();
            let mut request = Request::from_json_str(&text).unwrap();
            for page in [1, 2, 40] {
                if let Some(items) = &mut request.items {
                    items.page = page;
                }
                let compute = |rows_in_memory| {
                    compute_parts(calls.clone(), &request, Rounding::Api, true, rows_in_memory)
                        .unwrap()
                };
                let (in_memory, previous) = compute(usize::MAX - 1);
                let (streamed, streamed_previous) = compute(0);
                assert_eq!(streamed, in_memory, "{name}, page {page}");
                assert_eq!(streamed_previous, previous, "{name}, page {page}");
                assert!(in_memory.data.funnel.dials.count.value > 0, "{name}");
            }
        }
    }
}
