//! Uncertainty (SPEC §8.4 `intervals`): the 95 % Wilson score interval of
//! every rate `x / n` of `data` and of the other analysis figures, under
//! `analysis.intervals` at the rate's own path.
//!
//! Every rate is a count over a count that the response already holds
//! (the funnel's counts, each bucket's and cell's dials and connected
//! calls, each row's figures), so the intervals need no plan of their own.

use serde::Serialize;

use super::breakdown::{Breakdown, GroupFigures, GroupKey};
use super::connect_rules::{ConnectRuleFigures, ConnectRules};
use super::reach::Reach;
use super::Analysis;
use crate::response::{FunnelStage, ResponseData};
use crate::rounding::{Rounding, RATE_DECIMALS};

/// The normal quantile of a two-sided 95 % interval, as SPEC §8.4 fixes it.
pub const Z_95: f64 = 1.959964;

/// Below this many trials a rate is flagged `small_sample`.
pub const SMALL_SAMPLE: u64 = 30;

/// A rate's 95 % Wilson score interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// The trials: the rate's denominator.
    pub n: u64,
    /// Lower bound, rounded as a rate; `null` when `n` is 0.
    pub low: Option<f64>,
    /// Upper bound, rounded as a rate; `null` when `n` is 0.
    pub high: Option<f64>,
    /// `n < 30`: too few trials to read the rate as a signal.
    pub small_sample: bool,
}

/// The 95 % Wilson score interval of `successes` out of `n`:
/// `(p + z²/2n ∓ z·√(p(1−p)/n + z²/4n²)) ÷ (1 + z²/n)` with `z` =
/// [`Z_95`], bounds kept within [0, 1] and rounded as rates.
pub fn wilson(successes: u64, n: u64, rounding: Rounding) -> Interval {
    let small_sample = n < SMALL_SAMPLE;
    if n == 0 {
        return Interval {
            n,
            low: None,
            high: None,
            small_sample,
        };
    }
    let trials = n as f64;
    let p = successes as f64 / trials;
    let z2 = Z_95 * Z_95;
    let centre = p + z2 / (2.0 * trials);
    let margin = Z_95 * (p * (1.0 - p) / trials + z2 / (4.0 * trials * trials)).sqrt();
    let scale = 1.0 + z2 / trials;
    // At p = 0 the low bound is 0 exactly, at p = 1 the high bound 1, which
    // floating point may miss by an ulp.
    let (low, high) = match successes {
        0 => (0.0, (centre + margin) / scale),
        _ if successes == n => ((centre - margin) / scale, 1.0),
        _ => ((centre - margin) / scale, (centre + margin) / scale),
    };
    let bound = |value: f64| rounding.round_f64(value.clamp(0.0, 1.0), RATE_DECIMALS);
    Interval {
        n,
        low: Some(bound(low)),
        high: Some(bound(high)),
        small_sample,
    }
}

/// `analysis.intervals`: the intervals of `data`'s rates always, and of the
/// analysis figures that were asked for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Intervals {
    /// `data.funnel.*.rate`.
    pub funnel: FunnelIntervals,
    /// `data.time_series.connection_rate`.
    pub time_series: SeriesIntervals,
    /// `data.heatmap.connection_rate`.
    pub heatmap: HeatmapIntervals,
    /// `analysis.breakdown.rows[i]`'s rates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<BreakdownIntervals>,
    /// `analysis.connect_rules`' rates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_rules: Option<ConnectRulesIntervals>,
    /// `analysis.reach.reach_rate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reach: Option<ReachIntervals>,
}

/// The interval of a funnel stage's `rate`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StageInterval {
    /// Of the stage count over dials.
    pub rate: Interval,
}

/// The funnel's rates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FunnelIntervals {
    /// `dials.rate` (always 1 when there are dials).
    pub dials: StageInterval,
    /// `connected.rate`.
    pub connected: StageInterval,
    /// `conversations.rate`.
    pub conversations: StageInterval,
    /// `conversions.rate`.
    pub conversions: StageInterval,
}

/// The interval of one time-series point's rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointInterval {
    /// The bucket's first day, as in the series.
    pub date: String,
    /// Of connected over dials in the bucket.
    #[serde(flatten)]
    pub interval: Interval,
}

/// The series' rates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesIntervals {
    /// One per bucket, as `data.time_series.connection_rate`.
    pub connection_rate: Vec<PointInterval>,
}

/// The interval of one heatmap cell's rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellInterval {
    /// `MONDAY` … `SUNDAY`.
    pub day: &'static str,
    /// Wall-clock hour, 0..=23.
    pub hour: u32,
    /// Of connected over dials in the cell.
    #[serde(flatten)]
    pub interval: Interval,
}

/// The heatmap's rates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeatmapIntervals {
    /// The 168 cells, as `data.heatmap.connection_rate`.
    pub connection_rate: Vec<CellInterval>,
}

/// A breakdown row's rates over one period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GroupRateIntervals {
    /// Of connected over dials.
    pub connect_rate: Interval,
    /// Of conversations over dials.
    pub conversation_rate: Interval,
    /// Of conversions over dials.
    pub conversion_rate: Interval,
    /// Of voicemails over dials.
    pub voicemail_rate: Interval,
    /// Of connected over dials without voicemail.
    pub connect_rate_excl_voicemail: Interval,
}

/// A breakdown row's intervals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowIntervals {
    /// The row's key, as in the breakdown.
    pub key: Option<GroupKey>,
    /// The current period's rates.
    #[serde(flatten)]
    pub current: GroupRateIntervals,
    /// The comparison period's; `null` without a comparison.
    pub previous: Option<GroupRateIntervals>,
}

/// The breakdown's rates, row by row as in the page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakdownIntervals {
    /// One per row of `analysis.breakdown.rows`, in order.
    pub rows: Vec<RowIntervals>,
}

/// The connect rules' rates over one period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ConnectRateIntervals {
    /// Of connected over dials.
    pub connect_rate: Interval,
    /// Of connected and voicemails over dials.
    pub connect_rate_with_voicemail: Interval,
    /// Of connected over dials without voicemail.
    pub connect_rate_excl_voicemail: Interval,
    /// Of voicemails over dials.
    pub voicemail_inflation: Interval,
}

/// The connect rules' intervals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ConnectRulesIntervals {
    /// The current period.
    pub current: ConnectRateIntervals,
    /// The comparison period; `null` without a comparison.
    pub previous: Option<ConnectRateIntervals>,
}

/// The reach's rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReachIntervals {
    /// Of contacts reached over contacts dialled.
    pub reach_rate: Interval,
}

/// Every interval of `data` and of `analysis`' figures.
pub(super) fn intervals(data: &ResponseData, analysis: &Analysis, rounding: Rounding) -> Intervals {
    let interval = |successes: u64, n: u64| wilson(successes, n, rounding);
    let funnel = &data.funnel;
    let dials = funnel.dials.count.value;
    let stage = |stage: &FunnelStage| StageInterval {
        rate: interval(stage.count.value, dials),
    };
    let series = &data.time_series;
    let heatmap = &data.heatmap;
    Intervals {
        funnel: FunnelIntervals {
            dials: stage(&funnel.dials),
            connected: stage(&funnel.connected),
            conversations: stage(&funnel.conversations),
            conversions: stage(&funnel.conversions),
        },
        time_series: SeriesIntervals {
            connection_rate: series
                .dials
                .iter()
                .zip(&series.connected)
                .map(|(dials, connected)| PointInterval {
                    date: dials.date.clone(),
                    interval: interval(connected.value, dials.value),
                })
                .collect(),
        },
        heatmap: HeatmapIntervals {
            connection_rate: heatmap
                .dials
                .iter()
                .zip(&heatmap.connected)
                .map(|(dials, connected)| CellInterval {
                    day: dials.day,
                    hour: dials.hour,
                    interval: interval(connected.value, dials.value),
                })
                .collect(),
        },
        breakdown: analysis
            .breakdown
            .as_ref()
            .map(|breakdown| breakdown_intervals(breakdown, rounding)),
        connect_rules: analysis
            .connect_rules
            .as_ref()
            .map(|rules| connect_rules_intervals(rules, rounding)),
        reach: analysis.reach.as_ref().map(|reach: &Reach| ReachIntervals {
            reach_rate: interval(reach.contacts_reached, reach.contacts_dialled),
        }),
    }
}

/// The intervals of each row of the breakdown's page.
fn breakdown_intervals(breakdown: &Breakdown, rounding: Rounding) -> BreakdownIntervals {
    let rates = |figures: &GroupFigures| {
        let over_dials = |count: u64| wilson(count, figures.dials, rounding);
        GroupRateIntervals {
            connect_rate: over_dials(figures.connected),
            conversation_rate: over_dials(figures.conversations),
            conversion_rate: over_dials(figures.conversions),
            voicemail_rate: over_dials(figures.voicemails),
            connect_rate_excl_voicemail: wilson(
                figures.connected,
                figures.dials - figures.voicemails,
                rounding,
            ),
        }
    };
    BreakdownIntervals {
        rows: breakdown
            .rows
            .iter()
            .map(|row| RowIntervals {
                key: row.key.clone(),
                current: rates(&row.current),
                previous: row.previous.as_ref().map(rates),
            })
            .collect(),
    }
}

/// The intervals of the connect rules of both periods.
fn connect_rules_intervals(rules: &ConnectRules, rounding: Rounding) -> ConnectRulesIntervals {
    let rates = |figures: &ConnectRuleFigures| {
        let over_dials = |count: u64| wilson(count, figures.dials, rounding);
        ConnectRateIntervals {
            connect_rate: over_dials(figures.connected),
            connect_rate_with_voicemail: over_dials(figures.connected + figures.voicemails),
            connect_rate_excl_voicemail: wilson(
                figures.connected,
                figures.dials - figures.voicemails,
                rounding,
            ),
            voicemail_inflation: over_dials(figures.voicemails),
        }
    };
    ConnectRulesIntervals {
        current: rates(&rules.current),
        previous: rules.previous.as_ref().map(rates),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_trials_give_no_bounds_and_small_samples_are_flagged() {
        let none = wilson(0, 0, Rounding::Api);
        assert_eq!((none.low, none.high, none.small_sample), (None, None, true));
        assert!(wilson(3, 29, Rounding::Api).small_sample);
        assert!(!wilson(3, 30, Rounding::Api).small_sample);
    }

    #[test]
    fn bounds_stay_within_zero_and_one() {
        for n in 1..200 {
            for successes in [0, n / 3, n] {
                let exact = wilson(successes, n, Rounding::Exact);
                let (low, high) = (exact.low.unwrap(), exact.high.unwrap());
                assert!((0.0..=1.0).contains(&low) && (0.0..=1.0).contains(&high));
                assert!(low <= high);
                assert!(low.is_sign_positive());
            }
            assert_eq!(wilson(0, n, Rounding::Exact).low, Some(0.0));
            assert_eq!(wilson(n, n, Rounding::Exact).high, Some(1.0));
        }
    }
}
