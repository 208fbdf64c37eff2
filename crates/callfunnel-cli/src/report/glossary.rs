//! How to read the report, for a manager: each figure in plain words, with
//! the request's own period, zone, tags and threshold. The rules themselves
//! live in the library (`callfunnel::stages`, `callfunnel definitions`
//! prints them for analysts); what can change with them (which results are
//! connected) is read from there, not restated.

use super::bucket_name;
use callfunnel::stages::CONNECTED_RESULTS;
use callfunnel::{Request, Rounding};

/// One entry: what it explains, and how (plain text, escaped when written).
pub struct Entry {
    /// The figure, as the page names it.
    pub term: &'static str,
    /// What it means.
    pub meaning: String,
}

/// The entries for `request`, in page order.
pub fn glossary(request: &Request, rounding: Rounding) -> Vec<Entry> {
    let zone = request.timezone.name();
    let entry = |term, meaning: String| Entry { term, meaning };
    vec![
        entry(
            "Period",
            format!(
                "A call belongs to the period when it was placed on one of its days, {} to {} (both included), by the clock in {zone}. {}",
                request.date.from,
                request.date.to,
                match request.compare_date {
                    Some(previous) => format!(
                        "The previous period, {} to {}, is the one every figure is compared with.",
                        previous.from, previous.to
                    ),
                    None => "No figure is compared with another period (compare: none).".to_string(),
                }
            ),
        ),
        entry(
            "Dials",
            format!(
                "Every outbound call placed in the period{}. Inbound calls and text messages are never dials.",
                filter_clause(request)
            ),
        ),
        entry(
            "Connected",
            format!(
                "A call counts as connected when the person called picked up: its result is {}. A voicemail is a machine answering, so it is not connected; nor is any other result, or an unknown one.",
                connected_results()
            ),
        ),
        entry(
            "Conversations",
            format!(
                "Connected calls that lasted more than {} seconds of talk, from pickup to hang-up.",
                request.conversation_threshold_seconds
            ),
        ),
        entry("Conversions", conversions(request)),
        entry("Rates", rates(request)),
        entry("Change", change(request, rounding)),
        entry(
            "Time spent",
            "Average ringing time: from dialling to pickup or give-up, over the calls whose ringing time was recorded. Average and total conversation time: talk time of the connected calls.".into(),
        ),
        entry(
            "Over time",
            format!(
                "One point per {}, by the clock in {zone}. A point without dials has no connection rate: the line breaks there rather than falling to 0 %.",
                bucket_name(request.granularity),
            ),
        ),
        entry(
            "When calls are made",
            format!("Dials by weekday and hour of the day, by the clock in {zone}."),
        ),
        entry(
            "Leaderboard",
            "Connected calls of each rep who dialled in the period, most first. Calls without a rep are left out of it, but counted in every other figure.".into(),
        ),
    ]
}

/// ` by …` naming the request's filter, or nothing.
fn filter_clause(request: &Request) -> String {
    let list = |values: &[String]| values.join(", ");
    match (request.user_ids.as_slice(), request.allo_numbers.as_slice()) {
        ([], []) => String::new(),
        ([user], _) => format!(" by the rep {user}"),
        (users @ [_, ..], _) => format!(" by the reps {}", list(users)),
        (_, [number]) => format!(" from the Allo number {number}"),
        (_, numbers) => format!(" from the Allo numbers {}", list(numbers)),
    }
}

/// The connected results in words, e.g. `answered, transferred or …`.
fn connected_results() -> String {
    let words: Vec<String> = CONNECTED_RESULTS
        .iter()
        .map(|result| result.as_str().to_lowercase().replace('_', " "))
        .collect();
    match words.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, others)) => format!("{} or {last}", others.join(", ")),
        None => String::new(),
    }
}

fn conversions(request: &Request) -> String {
    if request.tags.is_empty() {
        "Calls that carry any tag, whether or not they connected (the report was asked for no conversion tag).".into()
    } else {
        format!(
            "Calls tagged {}, whether or not they connected.",
            request.tags.join(" or ")
        )
    }
}

fn rates(request: &Request) -> String {
    let rate = "A stage's calls divided by the period's dials: the connection rate is connected calls ÷ dials.";
    match request.compare_date {
        Some(_) => format!("{rate} The previous rate is the same division over the previous period; the difference between the two is in percentage points (pp)."),
        None => rate.to_string(),
    }
}

fn change(request: &Request, rounding: Rounding) -> String {
    if request.compare_date.is_none() {
        return "None: the report compares with no other period.".into();
    }
    let precision = match rounding {
        Rounding::Api => "It is rounded to a whole percent, as Allo's API rounds it.",
        Rounding::Exact => "It is exact, to a tenth of a percent.",
    };
    format!("How far a figure moved from the previous period, as a share of the previous figure: from 50 to 60 is +20 %. {precision} There is none when the previous figure is 0.")
}
