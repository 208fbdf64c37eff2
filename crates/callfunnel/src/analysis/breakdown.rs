//! Breakdowns (SPEC §8.1 `group_by`): every group's funnel, voicemails and
//! talk time in both periods, with changes, from one group-by pass over the
//! scoped calls; sorted by `group_sort` and paginated.
//!
//! A `USER` row holds what `metrics` gives with `user_ids=[key]`, an
//! `ALLO_NUMBER` row what it gives with `allo_numbers=[key]`: the scoped
//! calls already passed the request's own filters, and the figures use the
//! rounding rules of the funnel and time spent.

use polars::prelude::*;
use serde::Serialize;

use super::latest_call_order;
use crate::engine::{
    count_where, derived, exact_sum_where, join_split_sum, total_seconds, EngineError, WEEKDAYS,
};
use crate::model::column;
use crate::model::rules::match_spelling;
use crate::pagination::{items_before, Pagination};
use crate::rounding::{Rounding, AVERAGE_DECIMALS, RATE_DECIMALS};
use crate::stages;

/// Rows per page when the request names no `group_size`.
pub const DEFAULT_GROUP_SIZE: u32 = 100;
/// Largest `group_size`.
pub const MAX_GROUP_SIZE: u32 = 1000;

/// What the calls are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GroupBy {
    /// The rep (`user_id`); the label is the rep's latest name.
    User,
    /// The Allo number used; the label is the number's latest label.
    AlloNumber,
    /// Each tag a call carries (a call with two tags is in two rows, an
    /// untagged call in the `null` row).
    Tag,
    /// The number dialled.
    ContactNumber,
    /// The telephony result (`null`: unknown).
    Result,
    /// The weekday in the request's zone, `MONDAY` … `SUNDAY`.
    Weekday,
    /// The wall-clock hour in the request's zone, 0–23.
    Hour,
}

impl GroupBy {
    /// Every grouping, in SPEC order.
    pub const ALL: [GroupBy; 7] = [
        GroupBy::User,
        GroupBy::AlloNumber,
        GroupBy::Tag,
        GroupBy::ContactNumber,
        GroupBy::Result,
        GroupBy::Weekday,
        GroupBy::Hour,
    ];

    /// The request's spelling, e.g. `ALLO_NUMBER`.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::User => "USER",
            GroupBy::AlloNumber => "ALLO_NUMBER",
            GroupBy::Tag => "TAG",
            GroupBy::ContactNumber => "CONTACT_NUMBER",
            GroupBy::Result => "RESULT",
            GroupBy::Weekday => "WEEKDAY",
            GroupBy::Hour => "HOUR",
        }
    }

    /// The grouping spelled `text`, in any case, spaces around ignored.
    pub fn parse(text: &str) -> Option<GroupBy> {
        match_spelling(&GroupBy::ALL.map(GroupBy::as_str), text).map(|index| GroupBy::ALL[index])
    }

    /// The canonical columns the grouping reads beyond the sections' own.
    pub(super) fn columns(self) -> Vec<&'static str> {
        match self {
            GroupBy::AlloNumber => vec![column::ALLO_NUMBER, column::ALLO_NUMBER_LABEL],
            GroupBy::Tag => vec![column::TAGS],
            GroupBy::ContactNumber => vec![column::CONTACT_NUMBER],
            GroupBy::User | GroupBy::Result | GroupBy::Weekday | GroupBy::Hour => Vec::new(),
        }
    }

    /// The group's key of a scoped call (after the tags are exploded, for
    /// `TAG`).
    fn key(self) -> Expr {
        match self {
            GroupBy::User => col(column::USER_ID),
            GroupBy::AlloNumber => col(column::ALLO_NUMBER),
            GroupBy::Tag => col(column::TAGS),
            GroupBy::ContactNumber => col(column::CONTACT_NUMBER),
            GroupBy::Result => col(column::RESULT),
            GroupBy::Weekday => col(derived::LOCAL).dt().weekday().cast(DataType::Int64),
            GroupBy::Hour => col(derived::LOCAL).dt().hour().cast(DataType::Int64),
        }
    }

    /// The column a row's label is read from (that of the group's latest
    /// call), if the grouping has labels.
    fn label(self) -> Option<&'static str> {
        match self {
            GroupBy::User => Some(column::USER_NAME),
            GroupBy::AlloNumber => Some(column::ALLO_NUMBER_LABEL),
            _ => None,
        }
    }
}

/// The order of the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupSort {
    /// Most dials first (the default).
    Dials,
    /// Most connected calls first.
    Connected,
    /// Most conversations first.
    Conversations,
    /// Most conversions first.
    Conversions,
    /// Highest connect rate first (rows without current dials last).
    ConnectRate,
    /// Highest conversion rate first (rows without current dials last).
    ConversionRate,
    /// By key, ascending: weekdays Monday→Sunday, hours 0→23, other keys by
    /// their text; the `null` key last.
    Key,
}

impl GroupSort {
    /// Every order, default first.
    pub const ALL: [GroupSort; 7] = [
        GroupSort::Dials,
        GroupSort::Connected,
        GroupSort::Conversations,
        GroupSort::Conversions,
        GroupSort::ConnectRate,
        GroupSort::ConversionRate,
        GroupSort::Key,
    ];

    /// The request's spelling, e.g. `connect_rate`.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupSort::Dials => "dials",
            GroupSort::Connected => "connected",
            GroupSort::Conversations => "conversations",
            GroupSort::Conversions => "conversions",
            GroupSort::ConnectRate => "connect_rate",
            GroupSort::ConversionRate => "conversion_rate",
            GroupSort::Key => "key",
        }
    }

    /// The order spelled `text`, in any case, spaces around ignored.
    pub fn parse(text: &str) -> Option<GroupSort> {
        match_spelling(&GroupSort::ALL.map(GroupSort::as_str), text)
            .map(|index| GroupSort::ALL[index])
    }

    /// The current-period figure sorted on, descending (`None`: the key).
    /// Rates are sorted on their exact quotient in floating point, which
    /// tells distinct rates apart while groups have fewer than 2²⁶ dials.
    fn metric(self) -> Option<Expr> {
        let count = |name: &str| col(current(name));
        let rate = |name: &str| {
            (count(name).cast(DataType::Float64) / count(DIALS).cast(DataType::Float64))
                .fill_nan(lit(NULL))
        };
        Some(match self {
            GroupSort::Dials => count(DIALS),
            GroupSort::Connected => count(CONNECTED),
            GroupSort::Conversations => count(CONVERSATIONS),
            GroupSort::Conversions => count(CONVERSIONS),
            GroupSort::ConnectRate => rate(CONNECTED),
            GroupSort::ConversionRate => rate(CONVERSIONS),
            GroupSort::Key => return None,
        })
    }
}

/// The breakdown part of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakdownRequest {
    /// What the calls are grouped by.
    pub group_by: GroupBy,
    /// The order of the rows (`group_sort`, default `dials`).
    pub sort: GroupSort,
    /// 1-based page of rows (`group_page`).
    pub page: u32,
    /// Rows per page (`group_size`), 1..=[`MAX_GROUP_SIZE`].
    pub size: u32,
}

/// `analysis.breakdown`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breakdown {
    /// What the rows are grouped by.
    pub group_by: GroupBy,
    /// One page of rows, in `group_sort` order.
    pub rows: Vec<BreakdownRow>,
    /// Where the page sits among all rows.
    pub pagination: Pagination,
}

/// A row's key: text, or an hour for `HOUR`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum GroupKey {
    /// A user id, number, tag, result or weekday name.
    Text(String),
    /// A wall-clock hour, 0–23 (an integer, as the heatmap's `hour`).
    Hour(u32),
}

/// One group: a key with at least one dial in either period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakdownRow {
    /// The group's key; `null` for the calls without one.
    pub key: Option<GroupKey>,
    /// The rep's name (`USER`) or the number's label (`ALLO_NUMBER`) on the
    /// group's latest call, preferring the current period (ties: the
    /// greatest id); `null` for other groupings.
    pub label: Option<String>,
    /// The current period's figures.
    #[serde(flatten)]
    pub current: GroupFigures,
    /// The comparison period's figures; `null` without a comparison.
    pub previous: Option<GroupFigures>,
    /// The changes from `previous`; `null` without a comparison.
    pub change: Option<GroupChanges>,
}

/// A group's figures over one period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GroupFigures {
    /// Dials.
    pub dials: u64,
    /// Connected calls (SPEC §3).
    pub connected: u64,
    /// Conversations.
    pub conversations: u64,
    /// Conversions.
    pub conversions: u64,
    /// Dials with result `VOICEMAIL`.
    pub voicemails: u64,
    /// Connected ÷ dials; `null` without dials.
    pub connect_rate: Option<f64>,
    /// Conversations ÷ dials.
    pub conversation_rate: Option<f64>,
    /// Conversions ÷ dials.
    pub conversion_rate: Option<f64>,
    /// Voicemails ÷ dials.
    pub voicemail_rate: Option<f64>,
    /// Connected ÷ (dials − voicemails) (SPEC §8.2); `null` when every dial
    /// went to voicemail.
    pub connect_rate_excl_voicemail: Option<f64>,
    /// Mean talk time of connected calls; `null` without one.
    pub avg_conversation_time_seconds: Option<f64>,
    /// Total talk time of connected calls.
    pub total_conversation_time_seconds: u64,
}

/// A group's changes from the comparison period: counts, totals and the
/// average as SPEC §4 computes changes (`null` when the previous figure is
/// 0 or null), rates in percentage points as fractions (`current −
/// previous`, `null` when either is).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GroupChanges {
    /// Of dials.
    pub dials: Option<f64>,
    /// Of connected calls.
    pub connected: Option<f64>,
    /// Of conversations.
    pub conversations: Option<f64>,
    /// Of conversions.
    pub conversions: Option<f64>,
    /// Of voicemails.
    pub voicemails: Option<f64>,
    /// Of the connect rate, in points.
    pub connect_rate: Option<f64>,
    /// Of the conversation rate, in points.
    pub conversation_rate: Option<f64>,
    /// Of the conversion rate, in points.
    pub conversion_rate: Option<f64>,
    /// Of the voicemail rate, in points.
    pub voicemail_rate: Option<f64>,
    /// Of the connect rate without voicemail, in points.
    pub connect_rate_excl_voicemail: Option<f64>,
    /// Of the mean talk time.
    pub avg_conversation_time_seconds: Option<f64>,
    /// Of the total talk time.
    pub total_conversation_time_seconds: Option<f64>,
}

/// Names of the aggregated columns.
const KEY: &str = "key";
/// The number of groups, beside the page.
const TOTAL: &str = "groups";
const LABEL: &str = "label";
const DIALS: &str = "dials";
const CONNECTED: &str = "connected";
const CONVERSATIONS: &str = "conversations";
const CONVERSIONS: &str = "conversions";
const VOICEMAILS: &str = "voicemails";
const TALK: &str = "talk";

/// The current period's column `name`.
fn current(name: &str) -> String {
    format!("current_{name}")
}

/// The per-period prefixes and the flag of each period.
const PERIODS: [(&str, &str); 2] = [
    ("current", derived::IN_CURRENT),
    ("previous", derived::IN_PREVIOUS),
];

/// The aggregations of [`PeriodCounts`] for both periods, over whatever
/// calls are grouped (a group, or all the scoped calls).
pub(super) fn period_aggregations() -> Vec<Expr> {
    let mut aggregations = Vec::new();
    for (prefix, in_period) in PERIODS {
        let in_period = col(in_period);
        let count = |flag: Expr, name: &str| {
            count_where(in_period.clone().and(flag)).alias(format!("{prefix}_{name}"))
        };
        aggregations.extend([
            count(lit(true), DIALS),
            count(col(derived::CONNECTED), CONNECTED),
            count(col(derived::CONVERSATION), CONVERSATIONS),
            count(col(derived::CONVERSION), CONVERSIONS),
            count(stages::is_voicemail(), VOICEMAILS),
        ]);
        aggregations.extend(exact_sum_where(
            in_period.and(col(derived::CONNECTED)),
            col(column::DURATION).cast(DataType::Int64),
            &format!("{prefix}_{TALK}"),
        ));
    }
    aggregations
}

/// The page of groups the request asks for, each with its counts in both
/// periods, sorted as the request asks (ties: key ascending, the `null` key
/// last), and beside it, in its first row, the number of groups ([`TOTAL`]).
/// A page past the last is one row of nulls beside the total.
///
/// The groups are aggregated once (the page and the total share them) and
/// only the page is sorted out of them: memory holds the groups, not a
/// sorted copy.
pub(super) fn breakdown_plan(
    scoped: LazyFrame,
    request: &BreakdownRequest,
) -> PolarsResult<LazyFrame> {
    let group_by = request.group_by;
    let calls = match group_by {
        GroupBy::Tag => scoped.explode(
            cols([column::TAGS]),
            ExplodeOptions {
                empty_as_null: true,
                keep_nulls: true,
            },
        ),
        _ => scoped,
    };
    let mut aggregations = period_aggregations();
    if let Some(label) = group_by.label() {
        aggregations.push(col(label).max_by(latest_call_order()).alias(LABEL));
    }
    let (by, descending): (Vec<Expr>, Vec<bool>) = match request.sort.metric() {
        Some(metric) => (vec![metric, col(KEY)], vec![true, false]),
        None => (vec![col(KEY)], vec![false]),
    };
    let groups = calls
        .group_by([group_by.key().alias(KEY)])
        .agg(aggregations);
    let offset = i64::try_from(items_before(request.page, request.size)).unwrap_or(i64::MAX);
    let page = groups
        .clone()
        .sort_by_exprs(
            by,
            SortMultipleOptions::default()
                .with_order_descending_multi(descending)
                .with_nulls_last(true),
        )
        .slice(offset, request.size);
    let total = groups.select([len().cast(DataType::Int64).alias(TOTAL)]);
    concat_lf_horizontal(
        [page, total],
        HConcatOptions {
            parallel: true,
            strict: false,
            broadcast_unit_length: false,
        },
    )
}

/// One period's counts and exact talk time, as aggregated.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct PeriodCounts {
    pub(super) dials: i64,
    pub(super) connected: i64,
    pub(super) conversations: i64,
    pub(super) conversions: i64,
    pub(super) voicemails: i64,
    pub(super) talk: i128,
}

/// The columns of one period's [`period_aggregations`], read once.
pub(super) struct PeriodColumns {
    counts: [Int64Chunked; 5],
    talk_high: Int64Chunked,
    talk_low: UInt64Chunked,
}

impl PeriodColumns {
    /// The columns of period `prefix` (`current` or `previous`) in `frame`.
    pub(super) fn new(frame: &DataFrame, prefix: &str) -> PolarsResult<PeriodColumns> {
        let column =
            |name: &str, dtype: &DataType| frame.column(&format!("{prefix}_{name}"))?.cast(dtype);
        let int = |name: &str| -> PolarsResult<Int64Chunked> {
            Ok(column(name, &DataType::Int64)?.i64()?.clone())
        };
        Ok(PeriodColumns {
            counts: [
                int(DIALS)?,
                int(CONNECTED)?,
                int(CONVERSATIONS)?,
                int(CONVERSIONS)?,
                int(VOICEMAILS)?,
            ],
            talk_high: int(&format!("{TALK}_high"))?,
            talk_low: column(&format!("{TALK}_low"), &DataType::UInt64)?
                .u64()?
                .clone(),
        })
    }

    /// Whether row `row` holds a group's counts (not padding).
    fn is_group(&self, row: usize) -> bool {
        self.counts[0].get(row).is_some()
    }

    /// The counts of row `row`.
    pub(super) fn at(&self, row: usize) -> PeriodCounts {
        let [dials, connected, conversations, conversions, voicemails] = self
            .counts
            .each_ref()
            .map(|counts| counts.get(row).unwrap_or(0));
        PeriodCounts {
            dials,
            connected,
            conversations,
            conversions,
            voicemails,
            talk: join_split_sum(
                self.talk_high.get(row).unwrap_or(0),
                self.talk_low.get(row).unwrap_or(0),
            ),
        }
    }
}

impl PeriodCounts {
    /// `(count, dials)` of a rate over dials.
    fn over_dials(&self, count: i64) -> (i128, i128) {
        (count.into(), self.dials.into())
    }

    /// `(connected, dials − voicemails)`: the connect rate without voicemail.
    pub(super) fn excluding_voicemail(&self) -> (i128, i128) {
        (
            self.connected.into(),
            i128::from(self.dials - self.voicemails),
        )
    }

    /// The figures, rounded as `rounding` says.
    fn figures(&self, rounding: Rounding) -> Result<GroupFigures, EngineError> {
        let rate = |(count, over): (i128, i128)| rounding.ratio(count, over, RATE_DECIMALS);
        Ok(GroupFigures {
            dials: self.dials as u64,
            connected: self.connected as u64,
            conversations: self.conversations as u64,
            conversions: self.conversions as u64,
            voicemails: self.voicemails as u64,
            connect_rate: rate(self.over_dials(self.connected)),
            conversation_rate: rate(self.over_dials(self.conversations)),
            conversion_rate: rate(self.over_dials(self.conversions)),
            voicemail_rate: rate(self.over_dials(self.voicemails)),
            connect_rate_excl_voicemail: rate(self.excluding_voicemail()),
            avg_conversation_time_seconds: rounding.ratio(
                self.talk,
                self.connected.into(),
                AVERAGE_DECIMALS,
            ),
            total_conversation_time_seconds: total_seconds(self.talk)?,
        })
    }

    /// The changes from `previous`.
    fn changes(&self, previous: &PeriodCounts, rounding: Rounding) -> GroupChanges {
        let count = |now: i64, before: i64| rounding.change(now.into(), before.into());
        let points = |now: i64, before: i64| {
            rounding.rate_difference(self.over_dials(now), previous.over_dials(before))
        };
        GroupChanges {
            dials: count(self.dials, previous.dials),
            connected: count(self.connected, previous.connected),
            conversations: count(self.conversations, previous.conversations),
            conversions: count(self.conversions, previous.conversions),
            voicemails: count(self.voicemails, previous.voicemails),
            connect_rate: points(self.connected, previous.connected),
            conversation_rate: points(self.conversations, previous.conversations),
            conversion_rate: points(self.conversions, previous.conversions),
            voicemail_rate: points(self.voicemails, previous.voicemails),
            connect_rate_excl_voicemail: rounding
                .rate_difference(self.excluding_voicemail(), previous.excluding_voicemail()),
            avg_conversation_time_seconds: rounding.mean_change(
                (self.talk, self.connected.into()),
                (previous.talk, previous.connected.into()),
            ),
            total_conversation_time_seconds: rounding.change(self.talk, previous.talk),
        }
    }
}

/// The page of rows from [`breakdown_plan`]'s frame; `previous` and
/// `change` only when `compared`.
pub(super) fn read_breakdown(
    frame: &DataFrame,
    request: &BreakdownRequest,
    compared: bool,
    rounding: Rounding,
) -> Result<Breakdown, EngineError> {
    let total = frame.column(TOTAL)?.i64()?.get(0).unwrap_or(0);
    let keys = frame.column(KEY)?;
    let labels = match request.group_by.label() {
        Some(_) => Some(frame.column(LABEL)?.str()?.clone()),
        None => None,
    };
    let (current, previous) = (
        PeriodColumns::new(frame, "current")?,
        PeriodColumns::new(frame, "previous")?,
    );
    // Rows past the page's (the total's padding) have no counts.
    let rows = (0..frame.height()).filter(|&row| current.is_group(row));
    let rows = rows
        .map(|row| {
            let (current, previous) = (current.at(row), previous.at(row));
            Ok(BreakdownRow {
                key: read_key(keys, request.group_by, row)?,
                label: labels
                    .as_ref()
                    .and_then(|labels| labels.get(row).map(str::to_string)),
                current: current.figures(rounding)?,
                previous: compared.then(|| previous.figures(rounding)).transpose()?,
                change: compared.then(|| current.changes(&previous, rounding)),
            })
        })
        .collect::<Result<Vec<_>, EngineError>>()?;
    Ok(Breakdown {
        group_by: request.group_by,
        rows,
        pagination: Pagination::new(request.page, request.size, total.max(0) as u64),
    })
}

/// The key of row `row`: text, a weekday name or an hour.
fn read_key(keys: &Column, group_by: GroupBy, row: usize) -> PolarsResult<Option<GroupKey>> {
    Ok(match group_by {
        GroupBy::Weekday | GroupBy::Hour => {
            let Some(number) = keys.i64()?.get(row) else {
                return Ok(None);
            };
            Some(match group_by {
                GroupBy::Weekday => GroupKey::Text(WEEKDAYS[(number - 1) as usize].to_string()),
                _ => GroupKey::Hour(number as u32),
            })
        }
        _ => keys
            .str()?
            .get(row)
            .map(|text| GroupKey::Text(text.to_string())),
    })
}
