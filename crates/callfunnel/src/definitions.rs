//! The rules of SPEC §3–§4 in words, with their version (SPEC §7).
//!
//! `callfunnel definitions` prints them, and every human-readable report names
//! [`DEFINITIONS_VERSION`].

use serde::Serialize;

/// Version of the definitions; bumped when a rule of SPEC §3–§4 changes.
pub const DEFINITIONS_VERSION: u32 = 1;

/// One named rule.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Definition {
    /// What the rule defines, e.g. `connected`.
    pub name: &'static str,
    /// The rule, in words.
    pub rule: &'static str,
}

/// Every rule, in the order of SPEC §3–§4.
pub const DEFINITIONS: &[Definition] = &[
    Definition {
        name: "period",
        rule: "A call is in a period when its date, read in the request's timezone (default UTC), falls on a calendar day from `from` to `to`, both inclusive. Only OUTBOUND calls of type CALL that pass the user_ids or allo_numbers filter count; filters apply to both periods.",
    },
    Definition {
        name: "compare_date",
        rule: "The comparison period defaults to the equally long period that ends the day before date.from.",
    },
    Definition {
        name: "dials",
        rule: "Every counted call.",
    },
    Definition {
        name: "connected",
        rule: "result is ANSWERED or TRANSFERRED: the recipient picked up. VOICEMAIL is a machine, not the recipient, and is not connected; an empty result is not connected.",
    },
    Definition {
        name: "conversations",
        rule: "Connected calls whose duration is strictly greater than the threshold (conversation_threshold_seconds, default 60 s).",
    },
    Definition {
        name: "conversions",
        rule: "Calls carrying at least one of the request's tags (case-insensitive); they need not be connected. With no request tags, no call converts.",
    },
    Definition {
        name: "rate",
        rule: "Stage count divided by the current period's dials, a fraction in [0, 1] rounded to 3 decimals; null when there are no dials.",
    },
    Definition {
        name: "change",
        rule: "(value - previous) / previous, rounded to 2 decimals; null when previous is 0 or null.",
    },
    Definition {
        name: "rounding",
        rule: "Rates to 3 decimals, changes to 2, averages of seconds to 1; half away from zero, applied once to the exact value. Counts and totals are integers. --exact skips rounding.",
    },
    Definition {
        name: "time_series",
        rule: "One point per bucket of the current period, ascending, every bucket present (empty ones hold 0). DAY: a calendar day; WEEK: an ISO week starting Monday; MONTH: a calendar month; all in the request's timezone. A point's date is the bucket's first day, so the first week may start before date.from; only calls inside the period are counted. connection_rate = connected / dials of the bucket, 0 when empty.",
    },
    Definition {
        name: "heatmap",
        rule: "All 168 cells, Monday to Sunday then hour 0 to 23, by the call's wall-clock weekday and hour in the request's timezone. connection_rate is a rate, 0 for an empty cell.",
    },
    Definition {
        name: "leaderboard",
        rule: "One entry per user with at least one dial in the current period, with their connected calls, sorted by connected descending then user id ascending. Calls without a user_id are left out. A user's name and email are those of that user's latest call in the period (ties: the greatest id).",
    },
    Definition {
        name: "time_spent",
        rule: "avg_ringing_time_seconds: mean ringing time over dials whose ringing time is known (null when none); ringing times are read to the millisecond, so a mean of decimal inputs is exact. avg_conversation_time_seconds: mean duration over connected calls (null when none). total_conversation_time_seconds: sum of duration over connected calls. Each for both periods, with change.",
    },
    Definition {
        name: "last_updated",
        rule: "The latest date among all loaded calls (all directions, before filters), in UTC; null when nothing was loaded.",
    },
    Definition {
        name: "items",
        rule: "With extend=items: the requested stage's calls of the current period, newest first (ties: id ascending), page `page` of size `size`. Each item's stage is the furthest reached in DIAL < CONNECTED < CONVERSATION < CONVERSION; voicemail is result == VOICEMAIL. total_pages = ceil(total_count / size); has_more = page < total_pages.",
    },
    Definition {
        name: "input",
        rule: "Timestamps without an offset are read in --input-tz (default UTC). Calls sharing an id are one call: the occurrence read last wins. Enum values and tags are matched case-insensitively. A row that cannot be read stops the run, or is skipped and counted with --skip-invalid.",
    },
];

/// The rules as text, headed by their version.
pub fn render_text() -> String {
    let mut text = format!("callfunnel definitions, version {DEFINITIONS_VERSION}\n\n");
    for definition in DEFINITIONS {
        text.push_str(&format!("{}\n    {}\n\n", definition.name, definition.rule));
    }
    text
}

/// The rules as JSON: `{"version": 1, "definitions": [{"name", "rule"}, …]}`.
pub fn render_json() -> serde_json::Value {
    serde_json::json!({ "version": DEFINITIONS_VERSION, "definitions": DEFINITIONS })
}
