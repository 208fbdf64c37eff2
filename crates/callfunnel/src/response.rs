//! The response of SPEC §4: same keys, nesting and types as the API's, and
//! the analysis of SPEC §8 beside it when asked for.
//!
//! Fields are declared in the order the API prints them; `serde_json` keeps
//! that order, so the same input always gives the same bytes.

use serde::Serialize;

use crate::analysis::Analysis;
pub use crate::pagination::Pagination;
use crate::request::{DateRange, Stage};
use crate::rounding::{Rounding, RATE_DECIMALS};

/// `{"data": {...}}`, and `"analysis"` when the request asks for any of
/// SPEC §8.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Response {
    /// The metrics, as the API answers them.
    pub data: ResponseData,
    /// Beyond the API (SPEC §8): absent unless asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analysis: Option<Analysis>,
}

/// Every section of the response, in the API's order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponseData {
    /// The current period.
    pub date: DateRange,
    /// The comparison period; `null` with `compare: none` (SPEC §8.5).
    pub compare_date: Option<DateRange>,
    /// Dials → connected → conversations → conversions.
    pub funnel: Funnel,
    /// One point per bucket of the current period.
    pub time_series: TimeSeries,
    /// Weekday × hour cells of the current period.
    pub heatmap: Heatmap,
    /// Connected calls per rep, best first.
    pub leaderboard: Vec<LeaderboardEntry>,
    /// Ringing and talk time.
    pub time_spent: TimeSpent,
    /// Latest call date among all loaded calls, UTC.
    pub last_updated: Option<String>,
    /// The drilldown, only with `extend=items`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Items>,
}

/// A value for the current period, the comparison period, and the change.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MetricValue<T> {
    /// Current period.
    pub value: T,
    /// Comparison period; `None` (`null`) only without a comparison
    /// (`compare: none`, SPEC §8.5), so an average over a comparison period
    /// without calls is `Some(None)`, also `null`.
    pub previous: Option<T>,
    /// `(value − previous) ÷ previous`; `null` when `previous` is 0 or null.
    pub change: Option<f64>,
}

/// One funnel stage: its count and its rate against dials.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FunnelStage {
    /// How many calls reached the stage.
    pub count: MetricValue<u64>,
    /// Stage count ÷ current dials; `null` when there are no dials.
    pub rate: Option<f64>,
}

impl FunnelStage {
    /// The stage's rate in the comparison period, which the API does not
    /// give: its previous count ÷ the previous period's dials, rounded as
    /// `rounding` rounds rates; `None` without previous dials or without a
    /// comparison period.
    pub fn previous_rate(&self, previous_dials: Option<u64>, rounding: Rounding) -> Option<f64> {
        rounding.ratio(
            self.count.previous?.into(),
            previous_dials?.into(),
            RATE_DECIMALS,
        )
    }
}

/// The four stages.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Funnel {
    /// All outbound dials.
    pub dials: FunnelStage,
    /// Picked up by the recipient.
    pub connected: FunnelStage,
    /// Connected and longer than the threshold.
    pub conversations: FunnelStage,
    /// Tagged with one of the request's tags.
    pub conversions: FunnelStage,
}

/// One time-series point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeSeriesPoint<T> {
    /// First day of the bucket, `YYYY-MM-DD`.
    pub date: String,
    /// The bucket's value.
    pub value: T,
}

/// The four series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeSeries {
    /// Dials per bucket.
    pub dials: Vec<TimeSeriesPoint<u64>>,
    /// Connected calls per bucket.
    pub connected: Vec<TimeSeriesPoint<u64>>,
    /// Connected ÷ dials per bucket, 0 when empty.
    pub connection_rate: Vec<TimeSeriesPoint<f64>>,
    /// Conversions per bucket.
    pub conversions: Vec<TimeSeriesPoint<u64>>,
}

/// One heatmap cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeatmapCell<T> {
    /// `MONDAY` … `SUNDAY`.
    pub day: &'static str,
    /// Wall-clock hour, 0..=23.
    pub hour: u32,
    /// The cell's value.
    pub value: T,
}

/// The three heatmaps, 168 cells each.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Heatmap {
    /// Dials per cell.
    pub dials: Vec<HeatmapCell<u64>>,
    /// Connected calls per cell.
    pub connected: Vec<HeatmapCell<u64>>,
    /// Connected ÷ dials per cell, 0 when empty.
    pub connection_rate: Vec<HeatmapCell<f64>>,
}

/// A rep (`UserRef`); missing fields are `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRef {
    /// User id.
    pub id: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Email.
    pub email: Option<String>,
}

/// One leaderboard row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaderboardEntry {
    /// The rep.
    pub user: UserRef,
    /// Connected calls in the current period.
    pub connected: u64,
}

/// Ringing and talk time, each over both periods.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TimeSpent {
    /// Mean ringing time over dials whose ringing time is known.
    pub avg_ringing_time_seconds: MetricValue<Option<f64>>,
    /// Mean duration over connected calls.
    pub avg_conversation_time_seconds: MetricValue<Option<f64>>,
    /// Total duration of connected calls.
    pub total_conversation_time_seconds: MetricValue<u64>,
}

/// One drilldown row (`OutboundDrilldownItem`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrilldownItem {
    /// Call id.
    pub id: String,
    /// The rep, or `null` when the call has no user field at all.
    pub user: Option<UserRef>,
    /// Allo number used.
    pub allo_number: Option<String>,
    /// Its label.
    pub allo_number_label: Option<String>,
    /// Number dialled.
    pub contact_number: Option<String>,
    /// Furthest stage the call reached.
    pub stage: Stage,
    /// Whether the call went to voicemail.
    pub voicemail: bool,
    /// Talk time in seconds.
    pub duration: i64,
    /// Dial instant, UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub date: String,
}

/// The drilldown list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Items {
    /// One page of calls, newest first.
    pub data: Vec<DrilldownItem>,
    /// Where the page sits among the stage's calls.
    pub pagination: Pagination,
}

impl Response {
    /// The response as JSON text, with a trailing newline.
    pub fn to_json_pretty(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("responses serialize");
        text.push('\n');
        text
    }
}
