//! The comparison itself: the API's answer (untyped JSON, as received) walked
//! side by side with the recomputed [`Response`] (typed, so a renamed field
//! of the response fails to compile here), figure by figure.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{json, Number, Value};

use super::{DifferenceKind, VerifyError};
use crate::engine::WEEKDAYS;
use crate::request::{DateRange, Stage};
use crate::response::{
    DrilldownItem, FunnelStage, HeatmapCell, Items, LeaderboardEntry, MetricValue, Response,
    TimeSeriesPoint,
};
use crate::rounding::{AVERAGE_DECIMALS, CHANGE_DECIMALS, RATE_DECIMALS};

/// The `data` object of an API answer.
pub(super) fn response_data(api_response: &Value) -> Result<&Value, VerifyError> {
    if let Some(error) = api_response.get("error") {
        let message = error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("no message");
        return Err(VerifyError::NotAResponse(format!(
            "the API answered with an error: {message}"
        )));
    }
    let Some(data @ Value::Object(fields)) = api_response.get("data") else {
        return Err(VerifyError::NotAResponse(
            "expected an object {\"data\": {...}}".into(),
        ));
    };
    let missing: Vec<&str> = SECTIONS
        .into_iter()
        .filter(|section| !fields.contains_key(*section))
        .collect();
    if !missing.is_empty() {
        return Err(VerifyError::NotAResponse(format!(
            "`data` lacks `{}`",
            missing.join("`, `")
        )));
    }
    Ok(data)
}

/// The sections every outbound answer holds (SPEC §4; `items` only with `extend`).
const SECTIONS: [&str; 5] = [
    "funnel",
    "time_series",
    "heatmap",
    "leaderboard",
    "time_spent",
];

/// The calls behind a figure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Scope {
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
pub(super) struct Figure {
    pub(super) path: String,
    /// `None` when the API's figure agrees.
    pub(super) kind: Option<DifferenceKind>,
    pub(super) api: Value,
    pub(super) recomputed: Value,
    pub(super) scope: Scope,
}

/// Every figure of one comparison.
#[derive(Default)]
pub(super) struct Comparison {
    pub(super) figures: Vec<Figure>,
    pub(super) not_checkable: Vec<String>,
}

/// The decimals SPEC §4 rounds a kind of figure to, and so the fewest an
/// API figure of that kind is read with (see the module docs of `verify`).
#[derive(Debug, Clone, Copy)]
enum Decimals {
    /// Counts, totals, durations, dates, labels: whole.
    Whole,
    /// Rates: 3.
    Rate,
    /// Changes: 2.
    Change,
    /// Averages of seconds: 1.
    Average,
}

impl Decimals {
    fn get(self) -> i32 {
        let decimals = match self {
            Decimals::Whole => 0,
            Decimals::Rate => RATE_DECIMALS,
            Decimals::Change => CHANGE_DECIMALS,
            Decimals::Average => AVERAGE_DECIMALS,
        };
        decimals as i32
    }
}

/// A recomputed figure as JSON, to compare with the API's.
fn json_of(value: impl Serialize) -> Value {
    serde_json::to_value(value).expect("response figures serialize")
}

/// The child `key` of an API value, if the value is an object holding it.
fn child<'v>(value: Option<&'v Value>, key: &str) -> Option<&'v Value> {
    value?.get(key)
}

/// The API's names of the funnel stages with the recomputed stages.
fn funnel_stages(response: &Response) -> [(&'static str, Stage, &FunnelStage); 4] {
    let funnel = &response.data.funnel;
    [
        ("dials", Stage::Dial, &funnel.dials),
        ("connected", Stage::Connected, &funnel.connected),
        ("conversations", Stage::Conversation, &funnel.conversations),
        ("conversions", Stage::Conversion, &funnel.conversions),
    ]
}

/// Compares the API's `data` with a recomputed response.
pub(super) fn compare(api: &Value, recomputed: &Response, ringing_checkable: bool) -> Comparison {
    let data = &recomputed.data;
    let api = Some(api);
    let mut comparison = Comparison::default();
    comparison.periods(
        api,
        [
            ("date", Some(&data.date)),
            ("compare_date", data.compare_date.as_ref()),
        ],
    );
    comparison.funnel(child(api, "funnel"), recomputed);
    comparison.time_series(child(api, "time_series"), recomputed);
    comparison.heatmap(child(api, "heatmap"), recomputed);
    comparison.leaderboard(child(api, "leaderboard"), &data.leaderboard);
    comparison.time_spent(child(api, "time_spent"), recomputed, ringing_checkable);
    comparison.items(child(api, "items"), data.items.as_ref());
    comparison
}

/// How the entries of a list are matched and compared: by a key read from
/// the API's entry and from the recomputed one.
struct KeyedList<'s, K, E> {
    /// The API entry's key; `None` when the entry is malformed.
    api_key: fn(&Value) -> Option<K>,
    /// The recomputed entry's key.
    our_key: fn(&E) -> K,
    /// The recomputed entry's compared figure.
    our_value: fn(&E) -> Value,
    /// The key as shown in a path, e.g. `date=2024-03-04`.
    label: fn(&K) -> String,
    /// The compared field of each entry.
    field: &'static str,
    /// How the field is rounded.
    decimals: Decimals,
    /// Whether an entry absent from the API's list reads as 0.
    absent_is_zero: bool,
    /// The calls behind an entry.
    scope: &'s dyn Fn(&K) -> Scope,
}

impl Comparison {
    /// `date` and `compare_date`: the echoed periods (`null` for no
    /// comparison, SPEC §8.5).
    fn periods(&mut self, api: Option<&Value>, periods: [(&str, Option<&DateRange>); 2]) {
        for (name, range) in periods {
            let api_range = child(api, name);
            let Some(range) = range else {
                self.leaf(
                    format!("data.{name}"),
                    api_range,
                    Value::Null,
                    Decimals::Whole,
                    Scope::None,
                );
                continue;
            };
            for (end, day) in [("from", range.from), ("to", range.to)] {
                self.leaf(
                    format!("data.{name}.{end}"),
                    child(api_range, end),
                    json_of(day),
                    Decimals::Whole,
                    Scope::None,
                );
            }
        }
    }

    /// Each stage's count (value, previous, change) and rate.
    fn funnel(&mut self, api: Option<&Value>, recomputed: &Response) {
        for (name, stage, ours) in funnel_stages(recomputed) {
            let api_stage = child(api, name);
            self.metric(
                &format!("data.funnel.{name}.count"),
                child(api_stage, "count"),
                &ours.count,
                Decimals::Whole,
                Some(stage),
            );
            self.leaf(
                format!("data.funnel.{name}.rate"),
                child(api_stage, "rate"),
                json_of(ours.rate),
                Decimals::Rate,
                Scope::Stage {
                    stage,
                    previous: false,
                },
            );
        }
    }

    /// A `MetricValue`: `value` and `previous` (the calls of `stage` in each
    /// period, when given) and `change`.
    fn metric<T: Serialize>(
        &mut self,
        path: &str,
        api: Option<&Value>,
        ours: &MetricValue<T>,
        decimals: Decimals,
        stage: Option<Stage>,
    ) {
        let scope = |previous| match stage {
            Some(stage) => Scope::Stage { stage, previous },
            None => Scope::None,
        };
        self.leaf(
            format!("{path}.value"),
            child(api, "value"),
            json_of(&ours.value),
            decimals,
            scope(false),
        );
        self.leaf(
            format!("{path}.previous"),
            child(api, "previous"),
            json_of(&ours.previous),
            decimals,
            scope(true),
        );
        self.leaf(
            format!("{path}.change"),
            child(api, "change"),
            json_of(ours.change),
            Decimals::Change,
            Scope::None,
        );
    }

    /// Every point of the four series, matched by its `date`.
    fn time_series(&mut self, api: Option<&Value>, recomputed: &Response) {
        let series = &recomputed.data.time_series;
        self.points("dials", api, &series.dials, Stage::Dial, Decimals::Whole);
        self.points(
            "connected",
            api,
            &series.connected,
            Stage::Connected,
            Decimals::Whole,
        );
        self.points(
            "connection_rate",
            api,
            &series.connection_rate,
            Stage::Dial,
            Decimals::Rate,
        );
        self.points(
            "conversions",
            api,
            &series.conversions,
            Stage::Conversion,
            Decimals::Whole,
        );
    }

    /// One time series.
    fn points<T: Serialize>(
        &mut self,
        name: &str,
        api: Option<&Value>,
        ours: &[TimeSeriesPoint<T>],
        stage: Stage,
        decimals: Decimals,
    ) {
        let scope = move |date: &String| match NaiveDate::parse_from_str(date, "%Y-%m-%d") {
            Ok(start) => Scope::Bucket { start, stage },
            Err(_) => Scope::None,
        };
        self.keyed_list(
            &format!("data.time_series.{name}"),
            child(api, name),
            ours,
            KeyedList {
                api_key: |point| point.get("date")?.as_str().map(str::to_string),
                our_key: |point| point.date.clone(),
                our_value: |point| json_of(&point.value),
                label: |date| format!("date={date}"),
                field: "value",
                decimals,
                absent_is_zero: false,
                scope: &scope,
            },
        );
    }

    /// Every cell of the three heatmaps, matched by `day` and `hour`.
    fn heatmap(&mut self, api: Option<&Value>, recomputed: &Response) {
        let heatmap = &recomputed.data.heatmap;
        self.cells("dials", api, &heatmap.dials, Stage::Dial, Decimals::Whole);
        self.cells(
            "connected",
            api,
            &heatmap.connected,
            Stage::Connected,
            Decimals::Whole,
        );
        self.cells(
            "connection_rate",
            api,
            &heatmap.connection_rate,
            Stage::Dial,
            Decimals::Rate,
        );
    }

    /// One heatmap; a cell absent from the API's list reads as 0.
    fn cells<T: Serialize>(
        &mut self,
        name: &str,
        api: Option<&Value>,
        ours: &[HeatmapCell<T>],
        stage: Stage,
        decimals: Decimals,
    ) {
        let scope =
            move |(day, hour): &(String, u64)| match WEEKDAYS.iter().position(|name| name == day) {
                Some(index) if *hour < 24 => Scope::Cell {
                    weekday: index as u32 + 1,
                    hour: *hour as u32,
                    stage,
                },
                _ => Scope::None,
            };
        self.keyed_list(
            &format!("data.heatmap.{name}"),
            child(api, name),
            ours,
            KeyedList {
                api_key: |cell| {
                    let day = cell.get("day")?.as_str()?.to_string();
                    Some((day, cell.get("hour")?.as_u64()?))
                },
                our_key: |cell| (cell.day.to_string(), u64::from(cell.hour)),
                our_value: |cell| json_of(&cell.value),
                label: |(day, hour)| format!("day={day},hour={hour}"),
                field: "value",
                decimals,
                absent_is_zero: true,
                scope: &scope,
            },
        );
    }

    /// Each user's `connected`, matched by `user.id`.
    fn leaderboard(&mut self, api: Option<&Value>, ours: &[LeaderboardEntry]) {
        self.keyed_list(
            "data.leaderboard",
            api,
            ours,
            KeyedList {
                api_key: |entry| entry.get("user")?.get("id")?.as_str().map(str::to_string),
                our_key: |entry| entry.user.id.clone().unwrap_or_default(),
                our_value: |entry| json_of(entry.connected),
                label: |id| format!("user.id={id}"),
                field: "connected",
                decimals: Decimals::Whole,
                absent_is_zero: false,
                scope: &|id: &String| Scope::User(id.clone()),
            },
        );
    }

    /// The three time figures; ringing time only when some input call knows it.
    fn time_spent(&mut self, api: Option<&Value>, recomputed: &Response, ringing_checkable: bool) {
        let spent = &recomputed.data.time_spent;
        let ringing = "avg_ringing_time_seconds";
        if ringing_checkable {
            self.metric(
                &format!("data.time_spent.{ringing}"),
                child(api, ringing),
                &spent.avg_ringing_time_seconds,
                Decimals::Average,
                Some(Stage::Dial),
            );
        } else {
            for field in ["value", "previous", "change"] {
                self.not_checkable
                    .push(format!("data.time_spent.{ringing}.{field}"));
            }
        }
        let average = "avg_conversation_time_seconds";
        self.metric(
            &format!("data.time_spent.{average}"),
            child(api, average),
            &spent.avg_conversation_time_seconds,
            Decimals::Average,
            Some(Stage::Connected),
        );
        let total = "total_conversation_time_seconds";
        self.metric(
            &format!("data.time_spent.{total}"),
            child(api, total),
            &spent.total_conversation_time_seconds,
            Decimals::Whole,
            Some(Stage::Connected),
        );
    }

    /// Compares the API's figure (`None`: the key is absent) with ours.
    fn leaf(
        &mut self,
        path: String,
        api: Option<&Value>,
        ours: Value,
        decimals: Decimals,
        scope: Scope,
    ) {
        let (kind, api) = match api {
            None => (Some(DifferenceKind::Missing), Value::Null),
            Some(api) => (
                (!values_agree(api, &ours, decimals.get())).then_some(DifferenceKind::Value),
                api.clone(),
            ),
        };
        self.push(path, kind, api, ours, scope);
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
    fn keyed_list<K: Ord, E>(
        &mut self,
        path: &str,
        api: Option<&Value>,
        ours: &[E],
        list: KeyedList<K, E>,
    ) {
        let api_entries = api.and_then(Value::as_array);
        let mut by_key = BTreeMap::new();
        for (index, entry) in api_entries.into_iter().flatten().enumerate() {
            match (list.api_key)(entry) {
                Some(key) if !by_key.contains_key(&key) => {
                    by_key.insert(key, entry);
                }
                _ => self.extra(format!("{path}[{index}]"), entry, Scope::None),
            }
        }
        for entry in ours {
            let key = (list.our_key)(entry);
            let entry_path = format!("{path}[{}].{}", (list.label)(&key), list.field);
            let value = (list.our_value)(entry);
            let scope = (list.scope)(&key);
            match by_key.remove(&key) {
                Some(api_entry) => self.leaf(
                    entry_path,
                    api_entry.get(list.field),
                    value,
                    list.decimals,
                    scope,
                ),
                None if api_entries.is_some() && list.absent_is_zero => {
                    let zero = json!(0);
                    let kind = (!values_agree(&zero, &value, list.decimals.get()))
                        .then_some(DifferenceKind::AbsentCell);
                    self.push(entry_path, kind, zero, value, scope);
                }
                None => self.leaf(entry_path, None, value, list.decimals, scope),
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
    fn items(&mut self, api: Option<&Value>, ours: Option<&Items>) {
        let Some(ours) = ours else {
            if let Some(api) = api.filter(|items| !items.is_null()) {
                self.extra("data.items".into(), api, Scope::None);
            }
            return;
        };
        let api_pagination = child(api, "pagination");
        let pagination = &ours.pagination;
        for (name, value) in [
            ("page", json_of(pagination.page)),
            ("size", json_of(pagination.size)),
            ("total_count", json_of(pagination.total_count)),
            ("total_pages", json_of(pagination.total_pages)),
            ("has_more", json_of(pagination.has_more)),
        ] {
            self.leaf(
                format!("data.items.pagination.{name}"),
                child(api_pagination, name),
                value,
                Decimals::Whole,
                Scope::None,
            );
        }
        let api_items = child(api, "data").and_then(Value::as_array);
        for (index, item) in ours.data.iter().enumerate() {
            let api_item = api_items.and_then(|items| items.get(index));
            for (name, value) in item_fields(item) {
                self.leaf(
                    format!("data.items.data[{index}].{name}"),
                    child(api_item, name),
                    value,
                    Decimals::Whole,
                    Scope::None,
                );
            }
        }
        for (index, item) in api_items
            .into_iter()
            .flatten()
            .enumerate()
            .skip(ours.data.len())
        {
            self.extra(format!("data.items.data[{index}]"), item, Scope::None);
        }
    }
}

/// The fields of a drilldown item (`OutboundDrilldownItem`), in the API's
/// order, with their recomputed values.
fn item_fields(item: &DrilldownItem) -> [(&'static str, Value); 9] {
    [
        ("id", json_of(&item.id)),
        ("user", json_of(&item.user)),
        ("allo_number", json_of(&item.allo_number)),
        ("allo_number_label", json_of(&item.allo_number_label)),
        ("contact_number", json_of(&item.contact_number)),
        ("stage", json_of(item.stage)),
        ("voicemail", json_of(item.voicemail)),
        ("duration", json_of(item.duration)),
        ("date", json_of(&item.date)),
    ]
}

/// Whether the API's value agrees with the recomputed one (see the module
/// docs of `verify`); numbers are read with at least `min_decimals` decimals.
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
