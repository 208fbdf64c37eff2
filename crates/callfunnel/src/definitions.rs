//! The rules of SPEC §3–§4 in words, with their version (SPEC §7).
//!
//! `callfunnel definitions` prints them, and every human-readable report names
//! [`DEFINITIONS_VERSION`].

use std::borrow::Cow;

use serde::Serialize;

use crate::model::CallResult;
use crate::stages::{CONNECTED_RESULTS, CONVERTED_TAG};

/// Version of the definitions; bumped when a rule of SPEC §3–§4 changes.
pub const DEFINITIONS_VERSION: u32 = 2;

/// What changed from the previous version (SPEC §7), one line each.
pub const CHANGES: &[&str] = &[
    "conversions: with no request tags, a call carrying any tag converts (version 1: none converts)",
    "connected: TRANSFERRED_AI and TRANSFERRED_EXTERNAL are connected; MISSED, FAILED_EXTERNAL, BLOCKED, CLOSED and RECEIVED are read and are not connected (version 1: a bad row)",
    "request: user_ids with allo_numbers is FILTER_CONFLICT (version 1: INVALID_REQUEST_BODY)",
    "input: saved v1 call pages, and Parquet with typed or text columns, are read",
    "round trip: a converted, connected call of zero duration read back from drilldown pages is not connected, the one figure the item format cannot carry",
];

/// One named rule.
#[derive(Debug, Clone, Serialize)]
pub struct Definition {
    /// What the rule defines, e.g. `connected`.
    pub name: &'static str,
    /// The rule, in words.
    pub rule: Cow<'static, str>,
}

impl Definition {
    fn new(name: &'static str, rule: impl Into<Cow<'static, str>>) -> Definition {
        Definition {
            name,
            rule: rule.into(),
        }
    }
}

/// Every rule, in the order of SPEC §3–§4.
pub fn definitions() -> Vec<Definition> {
    vec![
        Definition::new(
            "period",
            "A call is in a period when its date, read in the request's timezone (default UTC), falls on a calendar day from `from` to `to`, both inclusive. Only OUTBOUND calls of type CALL that pass the user_ids or allo_numbers filter count; filters apply to both periods.",
        ),
        Definition::new(
            "compare_date",
            "The comparison period defaults to the equally long period that ends the day before date.from.",
        ),
        Definition::new(
            "dials",
            "Every counted call.",
        ),
        Definition::new("connected", connected_rule()),
        Definition::new(
            "conversations",
            "Connected calls whose duration is strictly greater than the threshold (conversation_threshold_seconds, default 60 s).",
        ),
        Definition::new("conversions", conversions_rule()),
        Definition::new(
            "rate",
            "Stage count divided by the current period's dials, a fraction in [0, 1] rounded to 3 decimals; null when there are no dials.",
        ),
        Definition::new(
            "change",
            "(value - previous) / previous, rounded to 2 decimals; null when previous is 0 or null.",
        ),
        Definition::new(
            "rounding",
            "Rates to 3 decimals, changes to 2, averages of seconds to 1; half away from zero, applied once to the exact value. Counts and totals are integers. --exact skips rounding.",
        ),
        Definition::new(
            "time_series",
            "One point per bucket of the current period, ascending, every bucket present (empty ones hold 0). DAY: a calendar day; WEEK: an ISO week starting Monday; MONTH: a calendar month; all in the request's timezone. A point's date is the bucket's first day, so the first week may start before date.from; only calls inside the period are counted. connection_rate = connected / dials of the bucket, 0 when empty.",
        ),
        Definition::new(
            "heatmap",
            "All 168 cells, Monday to Sunday then hour 0 to 23, by the call's wall-clock weekday and hour in the request's timezone. connection_rate is a rate, 0 for an empty cell.",
        ),
        Definition::new(
            "leaderboard",
            "One entry per user with at least one dial in the current period, with their connected calls, sorted by connected descending then user id ascending. Calls without a user_id are left out. A user's name and email are those of that user's latest call in the period (ties: the greatest id).",
        ),
        Definition::new(
            "time_spent",
            "avg_ringing_time_seconds: mean ringing time over dials whose ringing time is known (null when none); ringing times are read to the millisecond, so a mean of decimal inputs is exact. avg_conversation_time_seconds: mean duration over connected calls (null when none). total_conversation_time_seconds: sum of duration over connected calls. Each for both periods, with change.",
        ),
        Definition::new(
            "last_updated",
            "The latest date among all loaded calls (all directions, before filters), in UTC; null when nothing was loaded.",
        ),
        Definition::new(
            "items",
            "With extend=items: the requested stage's calls of the current period, newest first (ties: id ascending), page `page` of size `size`. Each item's stage is the furthest reached in DIAL < CONNECTED < CONVERSATION < CONVERSION; voicemail is result == VOICEMAIL. total_pages = ceil(total_count / size); has_more = page < total_pages.",
        ),
        Definition::new(
            "input",
            "CSV, JSON or NDJSON records, saved API pages (conversations search, outbound drilldown, v1 calls) and Parquet with typed or text columns are read by the same rules. Timestamps without an offset are read in --input-tz (default UTC). Calls sharing an id are one call: the occurrence read last wins. Enum values and tags are matched case-insensitively. A row that cannot be read stops the run, or is skipped and counted with --skip-invalid.",
        ),
    ]
}

/// The connected rule, naming [`CONNECTED_RESULTS`].
fn connected_rule() -> String {
    let names: Vec<&str> = CONNECTED_RESULTS.iter().map(|r| r.as_str()).collect();
    let (last, others) = names.split_last().expect("some results are connected");
    format!(
        "result is {} or {last}: the recipient picked up. {} is a machine, not the recipient, and is not connected; any other result, and an empty one, is not connected.",
        others.join(", "),
        CallResult::Voicemail.as_str(),
    )
}

/// The conversion rule, with the tag of drilldown items read without request tags.
fn conversions_rule() -> String {
    format!(
        "Calls carrying at least one of the request's tags (case-insensitive); they need not be connected. With no request tags, a call carrying any tag converts (a saved drilldown CONVERSION item read for such a request is given the tag `{CONVERTED_TAG}`)."
    )
}

/// The rules as text, headed by their version and what changed since the
/// previous one.
pub fn render_text() -> String {
    let mut text = format!("callfunnel definitions, version {DEFINITIONS_VERSION}\n\n");
    text.push_str(&format!(
        "changed since version {}:\n",
        DEFINITIONS_VERSION - 1
    ));
    for change in CHANGES {
        text.push_str(&format!("  - {change}\n"));
    }
    text.push('\n');
    for definition in definitions() {
        text.push_str(&format!("{}\n    {}\n\n", definition.name, definition.rule));
    }
    text
}

/// The rules as JSON:
/// `{"version": 2, "changes": ["…"], "definitions": [{"name", "rule"}, …]}`.
pub fn render_json() -> serde_json::Value {
    serde_json::json!({
        "version": DEFINITIONS_VERSION,
        "changes": CHANGES,
        "definitions": definitions(),
    })
}
