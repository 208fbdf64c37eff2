//! Checks an API answer against the calls behind it (`callfunnel verify`, SPEC §6).
//!
//! [`verify`] recomputes the response for the request from the calls, with
//! [`Rounding::Exact`], and compares every figure of the API's answer with it:
//!
//! - `date` and `compare_date` (the echoed periods; a mismatch means the wrong
//!   request was given);
//! - the funnel: each stage's `value`, `previous`, `change` and `rate`;
//! - every time-series point, matched by its `date`;
//! - every heatmap cell, matched by `day` and `hour`; a cell absent from the
//!   API's list counts as 0;
//! - the leaderboard's `connected`, matched by `user.id`; a user on one side
//!   only is a difference;
//! - `time_spent`;
//! - with `extend=items`, the pagination and every field of every drilldown
//!   item, by position.
//!
//! `last_updated` is not a figure of the metrics (it dates the data) and
//! leaderboard names and emails are labels; neither is compared.
//!
//! **Tolerance.** A number agrees when it lies within half a unit of the last
//! decimal the API printed: a change of `0.15` allows ±0.005, a count of `12`
//! ±0.5. The decimals are those of the number's shortest decimal form, and
//! never fewer than SPEC §4 rounds that kind of figure to (rates 3, changes 2,
//! averages 1): a JSON writer drops trailing zeros, so a rate printed `0.15`
//! or `1.0` stands for `0.150` or `1.000`, and a tampered `0.2` cannot pass
//! for `0.155`. `null` agrees only
//! with `null`; other values agree when equal (objects key by key, an absent
//! key reading as `null`).
//!
//! **Not checkable.** When no input call has a known ringing time (calls read
//! from API pages), the ringing figures are listed as not checkable instead of
//! being compared.
//!
//! **Explanations.** When figures differ, the computation is repeated under
//! each [`Reading`] the public documentation leaves open (and under version 1
//! of the definitions, for an answer computed by its rules), and each difference
//! names the readings under which the API's figure is reproduced; the reading
//! that explains the most differences is the likely reason.
//!
//! Pure: no file is read and nothing is printed; [`VerifyReport::render_table`]
//! and [`VerifyReport::to_json`] give the text and JSON the CLI prints.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use chrono_tz::Tz;
use polars::prelude::*;
use serde_json::{json, Number, Value};

use crate::engine::{bucket_start, compute_with, derived, scoped_calls, EngineError, WEEKDAYS};
use crate::ingest::empty_tags;
use crate::model::{column, CallResult};
use crate::request::{Request, Stage};
use crate::response::Response;
use crate::rounding::{Rounding, AVERAGE_DECIMALS, CHANGE_DECIMALS, RATE_DECIMALS};

/// How many call ids a difference lists (the rest are counted).
pub const MAX_LISTED_CALLS: usize = 10;

/// A reading of the metrics that the public documentation leaves open, or
/// that an earlier version of the definitions took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reading {
    /// A call whose result is `VOICEMAIL` counts as connected.
    VoicemailConnected,
    /// A conversation is a connected call of *at least* the threshold
    /// (durations are whole seconds, so: more than threshold − 1).
    ConversationAtThreshold,
    /// Funnel rates against the previous stage instead of dials:
    /// connected ÷ dials, conversations ÷ connected, conversions ÷ conversations.
    RatesAgainstPreviousStage,
    /// Days, buckets, weekdays and hours read in UTC instead of the request's zone.
    DaysInUtc,
    /// Definitions version 1: with no request tags, no call converts
    /// (version 2: a call carrying any tag converts).
    NoTagsNoneConverts,
}

impl Reading {
    /// Every reading, in the order ties are broken.
    pub const ALL: [Reading; 5] = [
        Reading::VoicemailConnected,
        Reading::ConversationAtThreshold,
        Reading::RatesAgainstPreviousStage,
        Reading::DaysInUtc,
        Reading::NoTagsNoneConverts,
    ];

    /// A stable machine name, e.g. `voicemail_connected`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reading::VoicemailConnected => "voicemail_connected",
            Reading::ConversationAtThreshold => "conversation_at_threshold",
            Reading::RatesAgainstPreviousStage => "rates_against_previous_stage",
            Reading::DaysInUtc => "days_in_utc",
            Reading::NoTagsNoneConverts => "no_tags_none_converts",
        }
    }

    /// What the reading assumes, in a few words.
    pub fn description(self) -> &'static str {
        match self {
            Reading::VoicemailConnected => "voicemail counted as connected",
            Reading::ConversationAtThreshold => {
                "conversation at duration >= threshold instead of > threshold"
            }
            Reading::RatesAgainstPreviousStage => concat!(
                "funnel rates against the previous stage (conversations / connected, ",
                "conversions / conversations) instead of dials"
            ),
            Reading::DaysInUtc => {
                "days, buckets, weekdays and hours in UTC instead of the request's time zone"
            }
            Reading::NoTagsNoneConverts => "no tags: none converts (definitions 1)",
        }
    }
}

impl fmt::Display for Reading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a figure differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DifferenceKind {
    /// Both sides have the figure; the values disagree (including `null` against a number).
    Value,
    /// The API's answer lacks the key (or the list entry).
    Missing,
    /// A heatmap cell absent from the API's list, read as 0, where the recomputed value is not 0.
    AbsentCell,
    /// The API's answer has an entry the recomputation does not (e.g. a leaderboard user).
    Extra,
}

impl DifferenceKind {
    /// A stable machine name: `value`, `missing`, `absent` or `extra`.
    pub fn as_str(self) -> &'static str {
        match self {
            DifferenceKind::Value => "value",
            DifferenceKind::Missing => "missing",
            DifferenceKind::AbsentCell => "absent",
            DifferenceKind::Extra => "extra",
        }
    }
}

/// One figure on which the API's answer and the recomputation disagree.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// Where the figure sits, e.g. `data.funnel.connected.count.value` or
    /// `data.heatmap.dials[day=MONDAY,hour=9].value`.
    pub path: String,
    /// How it differs.
    pub kind: DifferenceKind,
    /// The API's figure (`null` when [`DifferenceKind::Missing`], `0` when
    /// [`DifferenceKind::AbsentCell`]).
    pub api: Value,
    /// The recomputed figure, exact (`null` when [`DifferenceKind::Extra`]).
    pub recomputed: Value,
    /// Ids of the calls behind the recomputed figure, newest first, at most
    /// [`MAX_LISTED_CALLS`] (empty when the figure has no calls of its own,
    /// e.g. a change or pagination).
    pub calls: Vec<String>,
    /// How many calls are behind the recomputed figure (`calls` lists the first ones).
    pub calls_total: usize,
    /// The readings under which the API's figure is reproduced.
    pub explained_by: Vec<Reading>,
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyReport {
    /// How many figures were compared (extra entries of the API's answer included).
    pub figures_checked: usize,
    /// Every figure that disagrees, in response order.
    pub differences: Vec<Difference>,
    /// Paths of figures the inputs cannot support (ringing time from API pages).
    pub not_checkable: Vec<String>,
    /// The reading that explains the most differences (ties: first in
    /// [`Reading::ALL`]), if any explains one.
    pub likely_reason: Option<Reading>,
}

/// Why [`verify`] could not compare.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The recomputation failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Listing the calls behind a difference failed.
    #[error("listing the calls behind a difference failed: {0}")]
    Polars(#[from] PolarsError),
    /// The given answer is not an outbound metrics response.
    #[error("not an outbound metrics response: {0}")]
    NotAResponse(String),
}

/// Recomputes the response to `request` from `calls` (the canonical frame)
/// and compares every figure of `api_response` (`{"data": {...}}`) with it.
///
/// When a figure differs, the response is also recomputed under each
/// [`Reading`] (up to four more runs of the engine) and the calls of both
/// periods are listed once, to name the calls behind each difference.
pub fn verify(
    calls: LazyFrame,
    request: &Request,
    api_response: &Value,
) -> Result<VerifyReport, VerifyError> {
    let api = response_data(api_response)?;
    let ringing_checkable = any_ringing_known(calls.clone())?;
    let baseline = compute_with(calls.clone(), request, Rounding::Exact)?;
    let comparison = compare(api, &baseline, ringing_checkable);

    let differing: Vec<&Figure> = comparison
        .figures
        .iter()
        .filter(|figure| figure.kind.is_some())
        .collect();
    let mut explanations: Vec<(Reading, BTreeMap<String, bool>)> = Vec::new();
    if !differing.is_empty() {
        for reading in Reading::ALL {
            if let Some(alternative) = alternative(reading, &calls, request, &baseline)? {
                let agreeing = compare(api, &alternative, ringing_checkable)
                    .figures
                    .into_iter()
                    .map(|figure| (figure.path, figure.kind.is_none()))
                    .collect();
                explanations.push((reading, agreeing));
            }
        }
    }
    let rows = if differing.iter().any(|figure| figure.scope != Scope::None) {
        scoped_rows(calls, request)?
    } else {
        Vec::new()
    };

    let differences: Vec<Difference> = differing
        .into_iter()
        .map(|figure| {
            let (calls, calls_total) = involved(&rows, &figure.scope);
            Difference {
                path: figure.path.clone(),
                kind: figure.kind.unwrap_or(DifferenceKind::Value),
                api: figure.api.clone(),
                recomputed: figure.recomputed.clone(),
                calls,
                calls_total,
                explained_by: explanations
                    .iter()
                    .filter(|(_, agreeing)| agreeing.get(&figure.path) == Some(&true))
                    .map(|(reading, _)| *reading)
                    .collect(),
            }
        })
        .collect();
    let mut likely_reason = None;
    let mut most = 0;
    for reading in Reading::ALL {
        let count = explained_count(&differences, reading);
        if count > most {
            (likely_reason, most) = (Some(reading), count);
        }
    }
    Ok(VerifyReport {
        figures_checked: comparison.figures.len(),
        differences,
        not_checkable: comparison.not_checkable,
        likely_reason,
    })
}

/// How many differences `reading` explains.
fn explained_count(differences: &[Difference], reading: Reading) -> usize {
    differences
        .iter()
        .filter(|difference| difference.explained_by.contains(&reading))
        .count()
}

impl VerifyReport {
    /// Whether every checked figure agrees (exit status 0).
    pub fn agrees(&self) -> bool {
        self.differences.is_empty()
    }

    /// `all N figures agree` or `K of N figures differ`.
    pub fn summary(&self) -> String {
        if self.agrees() {
            format!("all {} figures agree", self.figures_checked)
        } else {
            format!(
                "{} of {} figures differ",
                self.differences.len(),
                self.figures_checked
            )
        }
    }

    /// The human-readable report: a table of every difference (path, API
    /// value, recomputed value, readings that explain it) with the calls
    /// involved under each row, the figures not checkable, the likely reason,
    /// and the summary as the last line. Ends with a newline.
    pub fn render_table(&self) -> String {
        let mut out = String::new();
        if !self.differences.is_empty() {
            let rows: Vec<[String; 4]> = self
                .differences
                .iter()
                .map(|difference| {
                    let explained = if difference.explained_by.is_empty() {
                        "-".to_string()
                    } else {
                        let names: Vec<&str> =
                            difference.explained_by.iter().map(|r| r.as_str()).collect();
                        names.join(", ")
                    };
                    [
                        difference.path.clone(),
                        shortened(api_text(difference)),
                        shortened(recomputed_text(difference)),
                        explained,
                    ]
                })
                .collect();
            let header = ["PATH", "API", "RECOMPUTED", "EXPLAINED BY"].map(String::from);
            let mut widths = header.clone().map(|cell| cell.chars().count());
            for row in &rows {
                for (width, cell) in widths.iter_mut().zip(row) {
                    *width = (*width).max(cell.chars().count());
                }
            }
            let line = |cells: &[String; 4]| {
                let text = format!(
                    "{:<w0$}  {:>w1$}  {:>w2$}  {}",
                    cells[0],
                    cells[1],
                    cells[2],
                    cells[3],
                    w0 = widths[0],
                    w1 = widths[1],
                    w2 = widths[2],
                );
                format!("{}\n", text.trim_end())
            };
            out.push_str(&line(&header));
            for (row, difference) in rows.iter().zip(&self.differences) {
                out.push_str(&line(row));
                if difference.calls_total > 0 {
                    let mut listed = difference.calls.join(", ");
                    let more = difference
                        .calls_total
                        .saturating_sub(difference.calls.len());
                    if more > 0 {
                        listed.push_str(&format!(" +{more} more"));
                    }
                    out.push_str(&format!("    calls: {listed}\n"));
                }
            }
            out.push('\n');
        }
        if !self.not_checkable.is_empty() {
            out.push_str(&format!(
                "not checkable (no input call has a known ringing time): {}\n",
                self.not_checkable.join(", ")
            ));
        }
        if !self.differences.is_empty() {
            match self.likely_reason {
                Some(reading) => out.push_str(&format!(
                    "most likely reason: {} ({}; explains {} of {} differences)\n",
                    reading.as_str(),
                    reading.description(),
                    explained_count(&self.differences, reading),
                    self.differences.len()
                )),
                None => out.push_str(
                    "most likely reason: none of the documented readings explains a difference\n",
                ),
            }
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    /// The report for machines:
    /// `{"agrees", "summary", "figures_checked", "differing", "differences":
    /// [{"path", "kind", "api", "recomputed", "calls", "calls_total",
    /// "explained_by"}], "not_checkable", "readings": [{"reading",
    /// "description", "explains"}], "likely_reason"}`.
    pub fn to_json(&self) -> Value {
        let differences: Vec<Value> = self
            .differences
            .iter()
            .map(|difference| {
                json!({
                    "path": difference.path,
                    "kind": difference.kind.as_str(),
                    "api": difference.api,
                    "recomputed": difference.recomputed,
                    "calls": difference.calls,
                    "calls_total": difference.calls_total,
                    "explained_by": difference
                        .explained_by
                        .iter()
                        .map(|reading| reading.as_str())
                        .collect::<Vec<_>>(),
                })
            })
            .collect();
        let readings: Vec<Value> = Reading::ALL
            .into_iter()
            .map(|reading| {
                json!({
                    "reading": reading.as_str(),
                    "description": reading.description(),
                    "explains": explained_count(&self.differences, reading),
                })
            })
            .collect();
        json!({
            "agrees": self.agrees(),
            "summary": self.summary(),
            "figures_checked": self.figures_checked,
            "differing": self.differences.len(),
            "differences": differences,
            "not_checkable": self.not_checkable,
            "readings": readings,
            "likely_reason": self.likely_reason.map(|reading| json!({
                "reading": reading.as_str(),
                "description": reading.description(),
                "explains": explained_count(&self.differences, reading),
            })),
        })
    }
}

/// Widest value shown in the table (longer ones, e.g. a drilldown `user`, are cut).
const MAX_VALUE_WIDTH: usize = 40;

/// `text`, cut to [`MAX_VALUE_WIDTH`] characters with a trailing `…`.
fn shortened(text: String) -> String {
    if text.chars().count() <= MAX_VALUE_WIDTH {
        return text;
    }
    let mut cut: String = text.chars().take(MAX_VALUE_WIDTH - 1).collect();
    cut.push('…');
    cut
}

/// The API's figure as printed in the table.
fn api_text(difference: &Difference) -> String {
    match difference.kind {
        DifferenceKind::Missing => "(missing)".into(),
        DifferenceKind::AbsentCell => "(absent) 0".into(),
        DifferenceKind::Value | DifferenceKind::Extra => difference.api.to_string(),
    }
}

/// The recomputed figure as printed in the table: at most 6 decimals.
fn recomputed_text(difference: &Difference) -> String {
    match (&difference.kind, &difference.recomputed) {
        (DifferenceKind::Extra, _) => "(none)".into(),
        (_, Value::Number(number)) if number.is_f64() => {
            let text = format!("{:.6}", number.as_f64().unwrap_or_default());
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        }
        (_, value) => value.to_string(),
    }
}

// ---------------------------------------------------------------------------
// Comparison.
// ---------------------------------------------------------------------------

/// The `data` object of an API answer.
fn response_data(api_response: &Value) -> Result<&Value, VerifyError> {
    if let Some(error) = api_response.get("error") {
        let message = error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("no message");
        return Err(VerifyError::NotAResponse(format!(
            "the API answered with an error: {message}"
        )));
    }
    match api_response.get("data") {
        Some(data @ Value::Object(_)) => Ok(data),
        _ => Err(VerifyError::NotAResponse(
            "expected an object {\"data\": {...}}".into(),
        )),
    }
}

/// The calls behind a figure.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    /// None of its own (a change, a date, pagination, a drilldown field).
    None,
    /// The stage's calls of one period.
    Stage { stage: Stage, previous: bool },
    /// The stage's current calls in the time-series bucket starting on `start`.
    Bucket { start: NaiveDate, stage: Stage },
    /// The stage's current calls in the heatmap cell (weekday 1 = Monday).
    Cell {
        weekday: u32,
        hour: u32,
        stage: Stage,
    },
    /// The user's current connected calls.
    User(String),
}

/// One compared figure.
struct Figure {
    path: String,
    /// `None` when the API's figure agrees.
    kind: Option<DifferenceKind>,
    api: Value,
    recomputed: Value,
    scope: Scope,
}

/// Every figure of one comparison.
#[derive(Default)]
struct Comparison {
    figures: Vec<Figure>,
    not_checkable: Vec<String>,
}

/// The child `key` of an API value, if the value is an object holding it.
fn child<'v>(value: Option<&'v Value>, key: &str) -> Option<&'v Value> {
    value?.get(key)
}

/// Compares the API's `data` with a recomputed response.
fn compare(api: &Value, recomputed: &Response, ringing_checkable: bool) -> Comparison {
    let ours = serde_json::to_value(&recomputed.data).expect("responses serialize");
    let api = Some(api);
    let mut comparison = Comparison::default();

    for range in ["date", "compare_date"] {
        for end in ["from", "to"] {
            comparison.leaf(
                format!("data.{range}.{end}"),
                child(child(api, range), end),
                &ours[range][end],
                Scope::None,
            );
        }
    }

    let funnel = child(api, "funnel");
    for (name, stage) in [
        ("dials", Stage::Dial),
        ("connected", Stage::Connected),
        ("conversations", Stage::Conversation),
        ("conversions", Stage::Conversion),
    ] {
        let api_stage = child(funnel, name);
        for field in ["value", "previous", "change"] {
            let scope = match field {
                "value" => Scope::Stage {
                    stage,
                    previous: false,
                },
                "previous" => Scope::Stage {
                    stage,
                    previous: true,
                },
                _ => Scope::None,
            };
            comparison.leaf(
                format!("data.funnel.{name}.count.{field}"),
                child(child(api_stage, "count"), field),
                &ours["funnel"][name]["count"][field],
                scope,
            );
        }
        comparison.leaf(
            format!("data.funnel.{name}.rate"),
            child(api_stage, "rate"),
            &ours["funnel"][name]["rate"],
            Scope::Stage {
                stage,
                previous: false,
            },
        );
    }

    for (name, stage) in [
        ("dials", Stage::Dial),
        ("connected", Stage::Connected),
        ("connection_rate", Stage::Dial),
        ("conversions", Stage::Conversion),
    ] {
        comparison.keyed_list(
            &format!("data.time_series.{name}"),
            child(child(api, "time_series"), name),
            &ours["time_series"][name],
            KeyedList {
                key: |point| point.get("date")?.as_str().map(str::to_string),
                label: |date| format!("date={date}"),
                field: "value",
                absent_is_zero: false,
                scope: |date| match NaiveDate::parse_from_str(date, "%Y-%m-%d") {
                    Ok(start) => Scope::Bucket { start, stage },
                    Err(_) => Scope::None,
                },
            },
        );
    }

    for (name, stage) in [
        ("dials", Stage::Dial),
        ("connected", Stage::Connected),
        ("connection_rate", Stage::Dial),
    ] {
        comparison.keyed_list(
            &format!("data.heatmap.{name}"),
            child(child(api, "heatmap"), name),
            &ours["heatmap"][name],
            KeyedList {
                key: |cell| {
                    let day = cell.get("day")?.as_str()?.to_string();
                    Some((day, cell.get("hour")?.as_u64()?))
                },
                label: |(day, hour)| format!("day={day},hour={hour}"),
                field: "value",
                absent_is_zero: true,
                scope: |(day, hour)| match WEEKDAYS.iter().position(|name| name == day) {
                    Some(index) if *hour < 24 => Scope::Cell {
                        weekday: index as u32 + 1,
                        hour: *hour as u32,
                        stage,
                    },
                    _ => Scope::None,
                },
            },
        );
    }

    comparison.keyed_list(
        "data.leaderboard",
        child(api, "leaderboard"),
        &ours["leaderboard"],
        KeyedList {
            key: |entry| entry.get("user")?.get("id")?.as_str().map(str::to_string),
            label: |id| format!("user.id={id}"),
            field: "connected",
            absent_is_zero: false,
            scope: |id| Scope::User(id.clone()),
        },
    );

    let time_spent = child(api, "time_spent");
    for (name, stage) in [
        ("avg_ringing_time_seconds", Stage::Dial),
        ("avg_conversation_time_seconds", Stage::Connected),
        ("total_conversation_time_seconds", Stage::Connected),
    ] {
        for field in ["value", "previous", "change"] {
            let path = format!("data.time_spent.{name}.{field}");
            if stage == Stage::Dial && !ringing_checkable {
                comparison.not_checkable.push(path);
                continue;
            }
            let scope = match field {
                "change" => Scope::None,
                _ => Scope::Stage {
                    stage,
                    previous: field == "previous",
                },
            };
            comparison.leaf(
                path,
                child(child(time_spent, name), field),
                &ours["time_spent"][name][field],
                scope,
            );
        }
    }

    comparison.items(child(api, "items"), ours.get("items"));
    comparison
}

/// The fields of `items.pagination`, in the API's order.
const PAGINATION_FIELDS: [&str; 5] = ["page", "size", "total_count", "total_pages", "has_more"];

/// The fields of a drilldown item (`OutboundDrilldownItem`), in the API's order.
const ITEM_FIELDS: [&str; 9] = [
    "id",
    "user",
    "allo_number",
    "allo_number_label",
    "contact_number",
    "stage",
    "voicemail",
    "duration",
    "date",
];

/// How the entries of a list are matched and compared.
struct KeyedList<K, Key, Label, ScopeOf>
where
    Key: Fn(&Value) -> Option<K>,
    Label: Fn(&K) -> String,
    ScopeOf: Fn(&K) -> Scope,
{
    /// The entry's key; `None` when the entry is malformed.
    key: Key,
    /// The key as shown in a path, e.g. `date=2024-03-04`.
    label: Label,
    /// The compared field of each entry.
    field: &'static str,
    /// Whether an entry absent from the API's list reads as 0.
    absent_is_zero: bool,
    /// The calls behind an entry.
    scope: ScopeOf,
}

impl Comparison {
    /// Compares the API's figure (`None`: the key is absent) with ours.
    fn leaf(&mut self, path: String, api: Option<&Value>, ours: &Value, scope: Scope) {
        let (kind, api) = match api {
            None => (Some(DifferenceKind::Missing), Value::Null),
            Some(api) => (
                (!values_agree(api, ours, rounded_decimals(&path)))
                    .then_some(DifferenceKind::Value),
                api.clone(),
            ),
        };
        self.push(path, kind, api, ours.clone(), scope);
    }

    /// An entry of the API's answer with no recomputed counterpart.
    fn extra(&mut self, path: String, api: &Value, scope: Scope) {
        self.push(
            path,
            Some(DifferenceKind::Extra),
            api.clone(),
            Value::Null,
            scope,
        );
    }

    fn push(
        &mut self,
        path: String,
        kind: Option<DifferenceKind>,
        api: Value,
        recomputed: Value,
        scope: Scope,
    ) {
        self.figures.push(Figure {
            path,
            kind,
            api,
            recomputed,
            scope,
        });
    }

    /// Compares a list whose entries are matched by key.
    fn keyed_list<K, Key, Label, ScopeOf>(
        &mut self,
        path: &str,
        api: Option<&Value>,
        ours: &Value,
        list: KeyedList<K, Key, Label, ScopeOf>,
    ) where
        K: Ord,
        Key: Fn(&Value) -> Option<K>,
        Label: Fn(&K) -> String,
        ScopeOf: Fn(&K) -> Scope,
    {
        let api_entries = api.and_then(Value::as_array);
        let mut by_key = BTreeMap::new();
        for (index, entry) in api_entries.into_iter().flatten().enumerate() {
            match (list.key)(entry) {
                Some(key) if !by_key.contains_key(&key) => {
                    by_key.insert(key, entry);
                }
                _ => self.extra(format!("{path}[{index}]"), entry, Scope::None),
            }
        }
        for entry in ours.as_array().into_iter().flatten() {
            let Some(key) = (list.key)(entry) else {
                continue;
            };
            let entry_path = format!("{path}[{}].{}", (list.label)(&key), list.field);
            let value = &entry[list.field];
            let scope = (list.scope)(&key);
            match by_key.remove(&key) {
                Some(api_entry) => self.leaf(entry_path, api_entry.get(list.field), value, scope),
                None if api_entries.is_some() && list.absent_is_zero => {
                    let zero = json!(0);
                    let kind = (!values_agree(&zero, value, rounded_decimals(&entry_path)))
                        .then_some(DifferenceKind::AbsentCell);
                    self.push(entry_path, kind, zero, value.clone(), scope);
                }
                None => self.leaf(entry_path, None, value, scope),
            }
        }
        for (key, api_entry) in by_key {
            self.extra(
                format!("{path}[{}].{}", (list.label)(&key), list.field),
                api_entry.get(list.field).unwrap_or(api_entry),
                (list.scope)(&key),
            );
        }
    }

    /// Compares the drilldown: pagination, then every item field by position.
    fn items(&mut self, api: Option<&Value>, ours: Option<&Value>) {
        let Some(ours) = ours else {
            if let Some(api) = api.filter(|items| !items.is_null()) {
                self.extra("data.items".into(), api, Scope::None);
            }
            return;
        };
        let pagination = child(api, "pagination");
        for name in PAGINATION_FIELDS {
            self.leaf(
                format!("data.items.pagination.{name}"),
                child(pagination, name),
                &ours["pagination"][name],
                Scope::None,
            );
        }
        let api_items = child(api, "data").and_then(Value::as_array);
        let our_items = ours["data"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (index, item) in our_items.iter().enumerate() {
            let api_item = api_items.and_then(|items| items.get(index));
            for name in ITEM_FIELDS {
                self.leaf(
                    format!("data.items.data[{index}].{name}"),
                    child(api_item, name),
                    &item[name],
                    Scope::None,
                );
            }
        }
        for (index, item) in api_items
            .into_iter()
            .flatten()
            .enumerate()
            .skip(our_items.len())
        {
            self.extra(format!("data.items.data[{index}]"), item, Scope::None);
        }
    }
}

/// The decimals SPEC §4 rounds the figure at `path` to: rates 3, changes 2,
/// averages 1, everything else (counts, totals, durations) 0.
fn rounded_decimals(path: &str) -> i32 {
    let field = path.rsplit('.').next().unwrap_or(path);
    if field == "rate" || path.contains("connection_rate") {
        RATE_DECIMALS as i32
    } else if field == "change" {
        CHANGE_DECIMALS as i32
    } else if path.contains(".avg_") {
        AVERAGE_DECIMALS as i32
    } else {
        0
    }
}

/// Whether the API's value agrees with the recomputed one (see the module
/// docs); numbers are read with at least `min_decimals` decimals.
fn values_agree(api: &Value, ours: &Value, min_decimals: i32) -> bool {
    match (api, ours) {
        (Value::Number(api), Value::Number(ours)) => {
            number_agrees(api, ours.as_f64().unwrap_or(f64::NAN), min_decimals)
        }
        (Value::Object(api), Value::Object(ours)) => {
            let null = Value::Null;
            api.keys().chain(ours.keys()).all(|key| {
                values_agree(
                    api.get(key).unwrap_or(&null),
                    ours.get(key).unwrap_or(&null),
                    min_decimals,
                )
            })
        }
        _ => api == ours,
    }
}

/// Whether `ours` lies within half a unit of the last decimal of `api`,
/// reading `api` with at least `min_decimals` decimals.
fn number_agrees(api: &Number, ours: f64, min_decimals: i32) -> bool {
    let Some(printed) = api.as_f64() else {
        return false;
    };
    let half_unit = 0.5 * 10f64.powi(-printed_decimals(api).max(min_decimals));
    let noise = 4.0 * f64::EPSILON * printed.abs().max(ours.abs());
    (printed - ours).abs() <= half_unit * (1.0 + 1e-9) + noise
}

/// Decimals of a number's shortest decimal form: `0.15` → 2, `1.0` → 0,
/// `12` → 0, `1.5e-7` → 8.
fn printed_decimals(number: &Number) -> i32 {
    if number.is_i64() || number.is_u64() {
        return 0;
    }
    let text = number.to_string();
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, exponent.parse::<i32>().unwrap_or(0)),
        None => (text.as_str(), 0),
    };
    let fraction = mantissa
        .split_once('.')
        .map(|(_, fraction)| fraction.trim_end_matches('0').len())
        .unwrap_or(0);
    (fraction as i32 - exponent).max(0)
}

// ---------------------------------------------------------------------------
// Readings.
// ---------------------------------------------------------------------------

/// The response recomputed under `reading`, exact; `None` when the reading
/// cannot differ from the request's own (days in UTC for a UTC request,
/// version 1's conversions for a request with tags).
fn alternative(
    reading: Reading,
    calls: &LazyFrame,
    request: &Request,
    baseline: &Response,
) -> Result<Option<Response>, EngineError> {
    let response = match reading {
        Reading::VoicemailConnected => {
            let result = col(column::RESULT);
            let calls = calls.clone().with_column(
                when(result.clone().eq(lit(CallResult::Voicemail.as_str())))
                    .then(lit(CallResult::Answered.as_str()))
                    .otherwise(result)
                    .alias(column::RESULT),
            );
            compute_with(calls, request, Rounding::Exact)?
        }
        Reading::ConversationAtThreshold => {
            let mut at_threshold = request.clone();
            at_threshold.conversation_threshold_seconds -= 1;
            compute_with(calls.clone(), &at_threshold, Rounding::Exact)?
        }
        Reading::RatesAgainstPreviousStage => {
            let mut response = baseline.clone();
            let funnel = &mut response.data.funnel;
            let ratio = |numerator: u64, denominator: u64| {
                Rounding::Exact.ratio(numerator.into(), denominator.into(), RATE_DECIMALS)
            };
            funnel.conversions.rate = ratio(
                funnel.conversions.count.value,
                funnel.conversations.count.value,
            );
            funnel.conversations.rate = ratio(
                funnel.conversations.count.value,
                funnel.connected.count.value,
            );
            response
        }
        Reading::DaysInUtc => {
            if request.timezone == Tz::UTC {
                return Ok(None);
            }
            let mut in_utc = request.clone();
            in_utc.timezone = Tz::UTC;
            compute_with(calls.clone(), &in_utc, Rounding::Exact)?
        }
        Reading::NoTagsNoneConverts => {
            if !request.tags.is_empty() {
                return Ok(None);
            }
            // Without tags on any call, none converts under version 2 either.
            let untagged = calls.clone().with_column(empty_tags().alias(column::TAGS));
            compute_with(untagged, request, Rounding::Exact)?
        }
    };
    Ok(Some(response))
}

/// Whether any loaded call has a known ringing time.
fn any_ringing_known(calls: LazyFrame) -> PolarsResult<bool> {
    let frame = calls
        .select([col(column::RINGING_SECONDS)
            .count()
            .cast(DataType::Int64)
            .alias("known")])
        .collect()?;
    Ok(frame.column("known")?.i64()?.get(0).unwrap_or(0) > 0)
}

// ---------------------------------------------------------------------------
// The calls behind a figure, with the stages the engine derived.
// ---------------------------------------------------------------------------

/// One call of either period, as the figures see it.
struct ScopedCall {
    id: String,
    current: bool,
    previous: bool,
    connected: bool,
    conversation: bool,
    conversion: bool,
    weekday: u32,
    hour: u32,
    bucket: NaiveDate,
    user_id: Option<String>,
}

impl ScopedCall {
    fn reached(&self, stage: Stage) -> bool {
        match stage {
            Stage::Dial => true,
            Stage::Connected => self.connected,
            Stage::Conversation => self.conversation,
            Stage::Conversion => self.conversion,
        }
    }

    fn within(&self, scope: &Scope) -> bool {
        match scope {
            Scope::None => false,
            Scope::Stage { stage, previous } => {
                (if *previous {
                    self.previous
                } else {
                    self.current
                }) && self.reached(*stage)
            }
            Scope::Bucket { start, stage } => {
                self.current && self.bucket == *start && self.reached(*stage)
            }
            Scope::Cell {
                weekday,
                hour,
                stage,
            } => {
                self.current
                    && self.weekday == *weekday
                    && self.hour == *hour
                    && self.reached(*stage)
            }
            Scope::User(id) => {
                self.current && self.connected && self.user_id.as_deref() == Some(id.as_str())
            }
        }
    }
}

/// The first ids (newest first) and the number of calls behind a figure.
fn involved(rows: &[ScopedCall], scope: &Scope) -> (Vec<String>, usize) {
    let mut listed = Vec::new();
    let mut total = 0;
    for row in rows.iter().filter(|row| row.within(scope)) {
        if listed.len() < MAX_LISTED_CALLS {
            listed.push(row.id.clone());
        }
        total += 1;
    }
    (listed, total)
}

/// The counted calls of both periods, newest first (ties: id ascending).
fn scoped_rows(calls: LazyFrame, request: &Request) -> PolarsResult<Vec<ScopedCall>> {
    let local = || col(derived::LOCAL).dt();
    let frame = scoped_calls(calls, request)
        .sort_by_exprs(
            [col(column::DATE), col(column::ID)],
            SortMultipleOptions::default().with_order_descending_multi([true, false]),
        )
        .select([
            col(column::ID),
            col(column::USER_ID),
            col(derived::DAY),
            local()
                .weekday()
                .cast(DataType::Int32)
                .alias(derived::WEEKDAY),
            local().hour().cast(DataType::Int32).alias(derived::HOUR),
            col(derived::IN_CURRENT),
            col(derived::IN_PREVIOUS),
            col(derived::CONNECTED),
            col(derived::CONVERSATION),
            col(derived::CONVERSION),
        ])
        .collect()?;

    let text = |name: &str| frame.column(name).and_then(|c| c.str().cloned());
    let flag = |name: &str| frame.column(name).and_then(|c| c.bool().cloned());
    let int = |name: &str| frame.column(name).and_then(|c| c.i32().cloned());
    let (ids, users) = (text(column::ID)?, text(column::USER_ID)?);
    let (days, weekdays, hours) = (
        int(derived::DAY)?,
        int(derived::WEEKDAY)?,
        int(derived::HOUR)?,
    );
    let (current, previous) = (flag(derived::IN_CURRENT)?, flag(derived::IN_PREVIOUS)?);
    let (connected, conversation, conversion) = (
        flag(derived::CONNECTED)?,
        flag(derived::CONVERSATION)?,
        flag(derived::CONVERSION)?,
    );
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    Ok((0..frame.height())
        .map(|row| {
            let day = epoch + chrono::Duration::days(i64::from(days.get(row).unwrap_or(0)));
            ScopedCall {
                id: ids.get(row).unwrap_or_default().to_string(),
                current: current.get(row).unwrap_or(false),
                previous: previous.get(row).unwrap_or(false),
                connected: connected.get(row).unwrap_or(false),
                conversation: conversation.get(row).unwrap_or(false),
                conversion: conversion.get(row).unwrap_or(false),
                weekday: weekdays.get(row).unwrap_or(0) as u32,
                hour: hours.get(row).unwrap_or(0) as u32,
                bucket: bucket_start(day, request.granularity),
                user_id: users.get(row).map(str::to_string),
            }
        })
        .collect())
}
