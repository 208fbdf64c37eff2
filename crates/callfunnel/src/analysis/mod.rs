//! Beyond the API (SPEC §8): breakdowns, connect rules, contact reach,
//! uncertainty and comparison presets.
//!
//! Each is asked for by a request field the API does not have and answers
//! under the response's top-level `analysis` object, so `data` stays the
//! API's (`compare: none` aside, which nulls `data`'s comparison).
//!
//! Like the engine's sections, each figure is a plan over the engine's own
//! scoped calls (the calls of both periods that pass the filters, with their
//! stage flags), collected with the sections: no second reading of the
//! input, the same rules, and memory bounded the same way when the scoped
//! calls are streamed. One file per extension:
//! - `breakdown` (§8.1): every group's funnel in one group-by pass;
//! - `connect_rules` (§8.2): the connect rate with and without voicemail;
//! - `reach` (§8.3): contacts dialled and reached, dials to first connect;
//! - `intervals` (§8.4): Wilson intervals of every rate, from the counts
//!   the other figures already hold;
//! - `compare` (§8.5): the comparison period of a preset;
//! - `request`: the §8 request fields and their validation.

mod breakdown;
mod compare;
mod connect_rules;
mod intervals;
mod reach;
mod request;

use polars::prelude::*;
use serde::Serialize;

pub use breakdown::{
    Breakdown, BreakdownRequest, BreakdownRow, GroupBy, GroupChanges, GroupFigures, GroupKey,
    GroupSort, DEFAULT_GROUP_SIZE, MAX_GROUP_SIZE,
};
pub(crate) use compare::comparison_period;
pub use compare::{Compare, NotOneMonth};
pub use connect_rules::{ConnectRuleFigures, ConnectRules};
pub use intervals::{
    wilson, BreakdownIntervals, CellInterval, ConnectRateIntervals, ConnectRulesIntervals,
    FunnelIntervals, GroupRateIntervals, HeatmapIntervals, Interval, Intervals, PointInterval,
    ReachIntervals, RowIntervals, SeriesIntervals, StageInterval, SMALL_SAMPLE, Z_95,
};
pub use reach::{DialsToFirstConnect, MostDialled, Reach, MOST_DIALLED, UNREACHED_AFTER_DIALS};
pub use request::AnalysisRequest;

use crate::engine::{derived, EngineError};
use crate::model::column;
use crate::request::Request;
use crate::response::ResponseData;
use crate::rounding::Rounding;

/// The response's `analysis` object (SPEC §8): only the parts asked for.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Analysis {
    /// §8.1, with `group_by`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<Breakdown>,
    /// §8.2, with `connect_rules: true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_rules: Option<ConnectRules>,
    /// §8.3, with `reach: true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reach: Option<Reach>,
    /// §8.4, with `intervals: true`: an interval for every rate of `data`
    /// and of the parts above, at the same path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intervals: Option<Intervals>,
}

/// The columns of the scoped calls that the request's analysis reads beyond
/// what the engine's sections read.
pub(crate) fn extra_columns(request: &AnalysisRequest) -> Vec<&'static str> {
    let mut names = Vec::new();
    if let Some(breakdown) = &request.breakdown {
        names.extend(breakdown.group_by.columns());
    }
    if request.reach {
        names.push(column::CONTACT_NUMBER);
    }
    names
}

/// The plans of the analysis `request` asks for, over the scoped calls, in
/// the order [`read`] takes their frames.
pub(crate) fn plans(scoped: &LazyFrame, request: &Request) -> PolarsResult<Vec<LazyFrame>> {
    let analysis = &request.analysis;
    let mut plans = Vec::new();
    if let Some(breakdown) = &analysis.breakdown {
        plans.push(breakdown::breakdown_plan(scoped.clone(), breakdown)?);
    }
    if analysis.connect_rules {
        plans.push(connect_rules::connect_rules_plan(scoped.clone()));
    }
    if analysis.reach {
        plans.push(reach::reach_plan(scoped.clone()));
    }
    Ok(plans)
}

/// The `analysis` object from the frames of [`plans`] (in order) and the
/// response's `data`; `None` when the request asks for nothing of SPEC §8.
pub(crate) fn read(
    frames: &[DataFrame],
    request: &Request,
    data: &ResponseData,
    rounding: Rounding,
) -> Result<Option<Analysis>, EngineError> {
    let asked = &request.analysis;
    if asked.is_empty() {
        return Ok(None);
    }
    let compared = request.compare_date.is_some();
    let mut frames = frames.iter();
    let mut next = || frames.next().expect("one frame per analysis plan");
    let mut analysis = Analysis::default();
    if let Some(breakdown) = &asked.breakdown {
        analysis.breakdown = Some(breakdown::read_breakdown(
            next(),
            breakdown,
            compared,
            rounding,
        )?);
    }
    if asked.connect_rules {
        analysis.connect_rules = Some(connect_rules::read_connect_rules(
            next(),
            compared,
            rounding,
        )?);
    }
    if asked.reach {
        analysis.reach = Some(reach::read_reach(next(), rounding)?);
    }
    if asked.intervals {
        analysis.intervals = Some(intervals::intervals(data, &analysis, rounding));
    }
    Ok(Some(analysis))
}

/// Text that sorts as the call's `(date, id)`: the date's microseconds
/// written as two fixed-width numbers (the multiple of 2³², shifted to be
/// positive, then the rest), then the id. Strings compare byte by byte, so
/// the greatest text is the latest call, ties going to the greatest id, and
/// a grouped `max_by`/`min` finds it in one streaming pass.
fn date_id_order() -> Expr {
    const LOW: i64 = 1 << 32;
    const WIDTH: i64 = 10_000_000_000;
    let micros = col(column::DATE).cast(DataType::Int64);
    // As in the engine's exact sums: the low 32 bits in [0, 2³²) whatever
    // the sign, the rest an exact multiple of 2³², divided exactly.
    let low = micros.clone().and(lit(LOW - 1));
    let high = ((micros - low.clone()) / lit(LOW)).cast(DataType::Int64) + lit(LOW / 2);
    // Both parts lie in [0, 2³²): plus 10¹⁰, each is written in 11 digits.
    let digits = |part: Expr| (part + lit(WIDTH)).cast(DataType::String);
    digits(high) + digits(low) + col(column::ID)
}

/// Text that sorts the current period's calls after the comparison
/// period's, then as [`date_id_order`]: the latest call of a group, taken
/// from the current period when it has one there.
fn latest_call_order() -> Expr {
    when(col(derived::IN_CURRENT))
        .then(lit("1"))
        .otherwise(lit("0"))
        + date_id_order()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{calls_to_frame, Call};
    use chrono::{TimeZone, Utc};

    /// The order text sorts as `(date, id)`, before the epoch too.
    #[test]
    fn order_text_sorts_as_date_then_id() {
        let at = |seconds: i64, micros: u32| Utc.timestamp_opt(seconds, micros * 1000).unwrap();
        let calls = [
            Call::new("b", at(-1, 999_999)),
            Call::new("a", at(0, 0)),
            Call::new("c", at(0, 0)),
            Call::new("a", at(-86_400 * 365 * 200, 1)),
            Call::new("z", at(4_102_444_800, 0)),
            Call::new("a", at(1_700_000_000, 5)),
        ];
        let frame = calls_to_frame(calls).unwrap();
        let texts = frame
            .lazy()
            .select([date_id_order().alias("order")])
            .collect()
            .unwrap();
        let texts: Vec<&str> = texts
            .column("order")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(Option::unwrap)
            .collect();
        let mut sorted = texts.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            [texts[3], texts[0], texts[1], texts[2], texts[5], texts[4]]
        );
        assert!(texts.iter().all(|text| text.len() == 23));
    }
}
