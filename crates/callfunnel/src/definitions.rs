//! The rules of SPEC §3–§4 in words, with their version (SPEC §7), and the
//! analysis extensions of SPEC §8 with the decisions taken where it is
//! silent (each marked `(decision)`).
//!
//! `callfunnel definitions` prints them, and every human-readable report names
//! [`DEFINITIONS_VERSION`].

use std::borrow::Cow;

use serde::Serialize;

use crate::analysis::{GroupBy, GroupSort, DEFAULT_GROUP_SIZE, MAX_GROUP_SIZE};
use crate::model::CallResult;
use crate::stages::{CONNECTED_RESULTS, CONVERTED_TAG};

/// Version of the definitions (SPEC §7): the major number is bumped when a
/// rule of SPEC §3–§4 changes, the minor one when rules are added that
/// leave the API-shaped `data` as it was.
pub const DEFINITIONS_VERSION: &str = "2.1";

/// What each version changed (SPEC §7), newest first: the version and its
/// changes, one line each.
pub const CHANGES: &[(&str, &[&str])] = &[("2.1", CHANGES_IN_2_1), ("2", CHANGES_IN_2)];

/// What version 2.1 added; the rules of SPEC §3–§4 are version 2's.
const CHANGES_IN_2_1: &[&str] = &[
    "input: tags cells in other list forms (a JSON array, or keys separated by ;, | or ,)",
    "input: a ceiling on skipped rows, a warning for anything that changes a figure, value maps and duration units",
    "commands: check, period presets, CSV tables, standard input",
    "analysis: breakdowns, connect rules, contact reach, confidence intervals and comparison presets (beyond the API, under `analysis`; `data` stays the API's)",
];

/// What version 2 changed from version 1.
const CHANGES_IN_2: &[&str] = &[
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

/// Every rule, in the order of SPEC §3–§4, then §8.
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
            "CSV, JSON or NDJSON records, saved API pages (conversations search, outbound drilldown, v1 calls) and Parquet with typed or text columns are read by the same rules. Timestamps without an offset are read in --input-tz (default UTC). Calls sharing an id are one call: the occurrence read last wins. Enum values and tags are matched case-insensitively. A row that cannot be read stops the run, or is skipped and counted with --skip-invalid. Since version 2.1: --skip-invalid skips at most --max-invalid rows (a count, or a share of the rows read; default 1%), past which the run stops; a tags cell is a JSON array of strings or keys separated by ;, | or , (keys trimmed, empty keys dropped); --map-value FIELD:FROM=TO reads another export's value FROM (in any case) as TO; --duration-unit s|ms|min|h reads duration in that unit, converted to whole seconds half away from zero (ringing_seconds stays in seconds).",
        ),
        Definition::new(
            "analysis",
            "Beyond the API (since version 2.1): request fields the API does not have add a key under a top-level `analysis` object beside `data` (absent unless asked for); `data` stays the API's, but for compare=none. Every figure below follows the rounding rule: rates and their changes in points to 3 decimals, count changes to 2, averages to 1; --exact leaves them unrounded.",
        ),
        Definition::new("group_by", group_by_rule()),
        Definition::new(
            "connect_rules",
            "connect_rules=true adds, for the current and the comparison period: dials, voicemails (dials with result VOICEMAIL), connected, connect_rate (connected / dials), connect_rate_with_voicemail ((connected + voicemails) / dials), connect_rate_excl_voicemail (connected / (dials - voicemails), null when every dial went to voicemail) and voicemail_inflation (with voicemail - connect_rate, that is voicemails / dials, rounded once).",
        ),
        Definition::new(
            "reach",
            "reach=true adds, over the current period's dials with a contact_number (the others counted in dials_without_contact): contacts_dialled (distinct numbers), contacts_reached (at least one connected call), contacts_converted, reach_rate (reached / dialled), dials_per_contact, dials_to_first_connect (for each reached contact, its dials up to and including the first connected one, ordered by date then id: mean and median, the median of an even count being the mean of the two middle values; both rounded as averages (decision)), unreached_after_5_dials (at least 5 dials, none connected) and most_dialled (the 10 contacts with the most dials, ties by number ascending: contact_number, dials, connected, last_dialled in UTC YYYY-MM-DDTHH:MM:SSZ as drilldown dates (decision)).",
        ),
        Definition::new(
            "intervals",
            "intervals=true adds, under analysis.intervals at the same path as each rate x/n of data (funnel rates, time_series.connection_rate with its date, heatmap.connection_rate with its day and hour) and of analysis (every rate of the breakdown's rows, current and previous; the connect rules; reach_rate) (decision: every rate field, both periods), its 95 % Wilson score interval {n, low, high, small_sample}: z = 1.959964, low/high = (p + z²/2n ∓ z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n), rounded as rates; n = 0 gives null bounds; small_sample is n < 30.",
        ),
        Definition::new(
            "compare",
            "compare: previous_period (default: the period of the same length just before), none (no comparison: data.compare_date, every previous and every change are null), previous_month (only when date is one whole calendar month: the month before; otherwise INVALID_COMPARE), same_weekdays_last_year (both bounds 364 days earlier, so each day keeps its weekday). compare with an explicit compare_date is INVALID_REQUEST_BODY (param compare); an unknown preset is INVALID_REQUEST_BODY (param compare).",
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

/// The breakdown rule (SPEC §8.1), with the decisions the SPEC leaves open.
fn group_by_rule() -> String {
    let keys: Vec<&str> = GroupBy::ALL.iter().map(|key| key.as_str()).collect();
    let sorts: Vec<&str> = GroupSort::ALL.iter().map(|sort| sort.as_str()).collect();
    format!(
        "group_by ({}, in any case; another value is INVALID_GROUP_BY, param group_by) adds analysis.breakdown {{group_by, rows, pagination}}: one row per key with at least one dial in the current or the comparison period (decision), each with key, label, and for the current period and under previous: dials, connected, conversations, conversions, voicemails, their rates over dials, connect_rate_excl_voicemail, avg_conversation_time_seconds and total_conversation_time_seconds; change holds the change of each count, total and average as for data, and of each rate in points (current - previous). A USER row equals the metrics with user_ids=[key], an ALLO_NUMBER row those with allo_numbers=[key]; a TAG row holds the calls carrying the tag (a call with two tags is in two rows, untagged calls in the null row); WEEKDAY and HOUR are read in the request's timezone. key is text, but an integer 0-23 for HOUR (decision), and null for the calls without one; label is the rep's name (USER) or the number's label (ALLO_NUMBER) on the group's latest call, of the current period when it has one (ties: the greatest id) (decision), null otherwise. Rows are sorted by group_sort ({}; default dials; a metric descending, key ascending) on the exact values, ties by key ascending (decision); keys sort WEEKDAY Monday to Sunday, HOUR 0 to 23, others by their text, the null key last; a rate of a row without current dials sorts last (decision). Paged by group_page (from 1) and group_size (1 to {MAX_GROUP_SIZE}, default {DEFAULT_GROUP_SIZE}; else INVALID_PAGE_SIZE, param group_size).",
        keys.join(", "),
        sorts.join(", "),
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
    for (version, changes) in CHANGES {
        text.push_str(&format!("changed in version {version}:\n"));
        for change in *changes {
            text.push_str(&format!("  - {change}\n"));
        }
        text.push('\n');
    }
    for definition in definitions() {
        text.push_str(&format!("{}\n    {}\n\n", definition.name, definition.rule));
    }
    text
}

/// The rules as JSON:
/// `{"version": "2.1", "changes": [{"version", "changes": ["…"]}, …],
/// "definitions": [{"name", "rule"}, …]}`.
pub fn render_json() -> serde_json::Value {
    let changes: Vec<serde_json::Value> = CHANGES
        .iter()
        .map(|(version, changes)| serde_json::json!({"version": version, "changes": changes}))
        .collect();
    serde_json::json!({
        "version": DEFINITIONS_VERSION,
        "changes": changes,
        "definitions": definitions(),
    })
}
