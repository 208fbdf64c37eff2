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
//!
//! One file per section, each a plan over the scoped calls and a reader of
//! its aggregated frame: `scope` (the calls that count, §2–§3), `totals`
//! (funnel and time spent), `series`, `heatmap`, `leaderboard`, `drilldown`
//! and `last_updated` (§4). This file runs them together.

mod drilldown;
mod heatmap;
mod last_updated;
mod leaderboard;
mod scope;
mod series;
mod totals;
mod wall_clock;

use polars::prelude::*;

use crate::check::outliers::{outliers_plan, read_outliers};
use crate::check::TalkOutliers;
use crate::exprs::collect_streaming;
use crate::request::{ItemsRequest, Request, Stage};
use crate::response::{Response, ResponseData, TimeSeries};
use crate::rounding::Rounding;

use drilldown::{drilldown_page, read_items};
pub use drilldown::{drilldown_rows, DrilldownRow, DrilldownRows, Pages};
pub use heatmap::WEEKDAYS;
use heatmap::{heatmap_plan, read_heatmap};
pub(crate) use last_updated::format_utc;
use last_updated::{last_updated_plan, read_last_updated};
use leaderboard::{leaderboard_plan, read_leaderboard};
pub(crate) use scope::scoped_calls;
use scope::section_columns;
pub use scope::{filter_names, period_census, window, PeriodCensus};
pub(crate) use series::bucket_start;
use series::{read_series, series_plan};
pub(crate) use totals::{exact_sum_where, join_split_sum, read_split_sum, total_seconds};
use totals::{totals_plan, Totals};

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
    let asked = Asked::default();
    Ok(compute_asked(calls, request, rounding, asked)?.response)
}

/// Like [`compute_with`], and also the time series of the comparison period
/// (`compare_date`, bucketed as the current one; `None` without a
/// comparison), which a report charts against the current series. Both come
/// from one pass over the calls.
pub fn compute_with_previous_series(
    calls: LazyFrame,
    request: &Request,
    rounding: Rounding,
) -> Result<(Response, Option<TimeSeries>), EngineError> {
    let asked = Asked {
        previous_series: true,
        ..Asked::default()
    };
    let computed = compute_asked(calls, request, rounding, asked)?;
    Ok((computed.response, computed.previous_series))
}

/// What a caller asks beside the response, computed from the calls the
/// response reads (no other pass over the input when they are few enough
/// to be held).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Asked {
    /// The time series of the comparison period.
    pub previous_series: bool,
    /// The current period's dials with talk time over this many seconds
    /// (see [`crate::check::talk_outliers`]).
    pub talk_outliers_over: Option<i64>,
}

/// The response and what was [`Asked`] beside it.
#[derive(Debug, Clone)]
pub struct Computed {
    /// The response.
    pub response: Response,
    /// The comparison period's time series, when asked and the request has
    /// a comparison period.
    pub previous_series: Option<TimeSeries>,
    /// The talk-time outliers, when asked.
    pub talk_outliers: Option<TalkOutliers>,
}

/// Like [`compute_with`], and also what `asked` names.
pub fn compute_asked(
    calls: LazyFrame,
    request: &Request,
    rounding: Rounding,
    asked: Asked,
) -> Result<Computed, EngineError> {
    compute_parts(calls, request, rounding, asked, SCOPED_ROWS_IN_MEMORY)
}

/// The response and what `asked` names beside it; the scoped calls are
/// held in memory when at most `rows_in_memory`.
fn compute_parts(
    calls: LazyFrame,
    request: &Request,
    rounding: Rounding,
    asked: Asked,
    rows_in_memory: usize,
) -> Result<Computed, EngineError> {
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
    let previous_range = request.compare_date.filter(|_| asked.previous_series);
    if previous_range.is_some() {
        plans.push(series_plan(
            frame.clone(),
            request.granularity,
            derived::IN_PREVIOUS,
        ));
    }
    if let Some(max_talk_seconds) = asked.talk_outliers_over {
        plans.push(outliers_plan(frame.clone(), max_talk_seconds));
    }
    let sections = plans.len();
    plans.extend(crate::analysis::plans(&frame, request)?);
    let drilldown = match &request.items {
        Some(items) => Some(drilldown_page(frame.clone(), items)?),
        None => None,
    };
    let frames = scoped.collect_sections(plans)?;
    let (frames, analysis) = frames.split_at(sections);
    let [totals, series, heatmap, leaderboard, asked_frames @ ..] = frames else {
        unreachable!("one frame per plan");
    };
    let mut asked_frames = asked_frames.iter();
    let previous_series = match &previous_range {
        Some(range) => {
            let frame = asked_frames.next().expect("one frame per plan");
            Some(read_series(frame, range, request.granularity, rounding)?)
        }
        None => None,
    };
    let talk_outliers = match asked.talk_outliers_over {
        Some(_) => Some(read_outliers(
            asked_frames.next().expect("one frame per plan"),
        )?),
        None => None,
    };

    let totals = Totals::read(totals, request.compare_date.is_some())?;
    let items = match (&request.items, &drilldown) {
        (Some(items), Some(frame)) => {
            Some(read_items(frame, items, totals.stage_count(items.stage))?)
        }
        _ => None,
    };
    let data = ResponseData {
        date: request.date,
        compare_date: request.compare_date,
        funnel: totals.funnel(rounding),
        time_series: read_series(series, &request.date, request.granularity, rounding)?,
        heatmap: read_heatmap(heatmap, rounding)?,
        leaderboard: read_leaderboard(leaderboard)?,
        time_spent: totals.time_spent(rounding)?,
        last_updated: read_last_updated(&last_updated)?,
        items,
    };
    let analysis = crate::analysis::read(analysis, request, &data, rounding)?;
    Ok(Computed {
        response: Response { data, analysis },
        previous_series,
        talk_outliers,
    })
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

/// Counts the rows where `condition` holds, as Int64.
pub(crate) fn count_where(condition: Expr) -> Expr {
    condition.cast(DataType::Int64).sum()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::talk_outliers;
    use crate::ingest::{load, IngestOptions};

    /// Talk time over which the sample calls have outliers, in seconds.
    const OUTLIER_SECONDS: i64 = 300;

    /// Every sample request gives the same response, and the same talk-time
    /// outliers as [`talk_outliers`] alone, whether the scoped calls are held
    /// in memory or streamed section by section.
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
        // The analysis of SPEC §8 too, with a page past the last for TAG.
        let analysis = [
            r#""group_by": "USER", "connect_rules": true, "reach": true, "intervals": true"#,
            r#""group_by": "TAG", "group_sort": "key", "group_size": 2, "group_page": 4"#,
            r#""group_by": "contact_number", "group_sort": "connect_rate", "group_size": 7"#,
        ];
        let texts = requests
            .iter()
            .map(|name| std::fs::read_to_string(samples.join(name)).unwrap())
            .chain(analysis.iter().map(|fields| {
                format!(r#"{{"date": {{"from": "2024-03-04", "to": "2024-03-17"}}, {fields}}}"#)
            }));
        for (text, name) in texts.zip(requests.iter().chain(&analysis)) {
            let mut request = Request::from_json_str(&text).unwrap();
            for page in [1, 2, 40] {
                if let Some(items) = &mut request.items {
                    items.page = page;
                }
                let asked = Asked {
                    previous_series: true,
                    talk_outliers_over: Some(OUTLIER_SECONDS),
                };
                let compute = |rows_in_memory| {
                    compute_parts(
                        calls.clone(),
                        &request,
                        Rounding::Api,
                        asked,
                        rows_in_memory,
                    )
                    .unwrap()
                };
                let (in_memory, streamed) = (compute(usize::MAX - 1), compute(0));
                assert_eq!(streamed.response, in_memory.response, "{name}, page {page}");
                assert_eq!(
                    streamed.previous_series, in_memory.previous_series,
                    "{name}, page {page}"
                );
                let alone = talk_outliers(calls.clone(), &request, OUTLIER_SECONDS).unwrap();
                assert!(alone.calls > 0, "{name}");
                assert_eq!(in_memory.talk_outliers, Some(alone), "{name}, page {page}");
                assert_eq!(streamed.talk_outliers, Some(alone), "{name}, page {page}");
                assert!(
                    in_memory.response.data.funnel.dials.count.value > 0,
                    "{name}"
                );
            }
        }
    }
}
