//! The findings of a check: each with a code, a severity, a count, the
//! first examples and a one-line explanation.

use std::fmt::Display;

use serde::Serialize;

use super::scan::{date_text, talk_time, Condition, Counted, Scanned};
use super::typos::{likely_typos, COMMON_TAG_FACTOR, RARE_TAG_CALLS, TYPO_EDITS};
use super::{CheckOptions, LONE_DATE_DAYS, LONG_RINGING_SECONDS};
use crate::ingest::{IngestReport, ReadingFacts, Tally};

/// Examples a finding shows, at most.
pub const EXAMPLES: usize = 5;

/// How much a finding matters (SPEC §8.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Rows that cannot be read.
    Error,
    /// Rows read but likely wrong, that move a figure.
    Warning,
    /// Worth knowing; no figure is wrong for it.
    Note,
}

impl Severity {
    /// Its name, as the JSON writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// A stable name, e.g. `talk_over_max`.
    pub code: &'static str,
    /// How much it matters.
    pub severity: Severity,
    /// Rows, calls or tags concerned (the explanation says which).
    pub count: u64,
    /// The first few (at most [`EXAMPLES`]): `file:line`, or a call id with
    /// the value at fault.
    pub examples: Vec<String>,
    /// What it is, in one line.
    pub explanation: String,
}

impl Finding {
    /// A finding of `count` with `examples` (the first [`EXAMPLES`] kept):
    /// one tally of the readers (count and first locations, shown as
    /// `file:line`) becomes one finding this way.
    pub fn counted<T: Display>(
        code: &'static str,
        severity: Severity,
        count: u64,
        examples: impl IntoIterator<Item = T>,
        explanation: impl Into<String>,
    ) -> Self {
        Finding {
            code,
            severity,
            count,
            examples: examples
                .into_iter()
                .take(EXAMPLES)
                .map(|example| example.to_string())
                .collect(),
            explanation: explanation.into(),
        }
    }
}

/// A value and the calls that have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValueCount {
    /// The value (a result or a tag); `None` for calls without a result.
    pub value: Option<String>,
    /// Calls with it.
    pub calls: u64,
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Findings {
    /// Rows read, valid or not, before de-duplication.
    pub rows_read: u64,
    /// Calls checked (after de-duplication).
    pub calls: u64,
    /// The findings with a count, errors first, then warnings, then notes.
    pub findings: Vec<Finding>,
    /// Calls by result, most first (ties by value).
    pub results: Vec<ValueCount>,
    /// Calls by tag, most first (ties by tag).
    pub tags: Vec<ValueCount>,
}

impl Findings {
    /// The finding with this code, if found.
    pub fn get(&self, code: &str) -> Option<&Finding> {
        self.findings.iter().find(|finding| finding.code == code)
    }

    /// Whether any finding is an error or a warning (`--strict` fails then).
    pub fn has_error_or_warning(&self) -> bool {
        self.findings
            .iter()
            .any(|finding| finding.severity != Severity::Note)
    }
}

/// The findings from what loading found and what the pass found.
pub(crate) fn from_scan(
    report: &IngestReport,
    scanned: &Scanned,
    options: &CheckOptions,
) -> Findings {
    let mut findings = unreadable(report);
    findings.extend(duplicates(report));
    findings.extend(reading(&report.facts, options));
    findings.extend(Condition::ALL.into_iter().map(|condition| {
        of_condition(condition, &scanned.conditions[&condition], scanned, options)
    }));
    findings.extend(lone_far_off_date(scanned));
    findings.extend(tag_typos(scanned));
    findings.retain(|finding| finding.count > 0);
    findings.sort_by_key(|finding| finding.severity);
    Findings {
        rows_read: report.rows_read,
        calls: scanned.calls,
        findings,
        results: by_count(
            scanned
                .results
                .iter()
                .map(|(result, calls)| (Some(result.clone()), *calls))
                .chain([(None, scanned.without_result)]),
        ),
        tags: by_count(
            scanned
                .tags
                .iter()
                .map(|(tag, calls)| (Some(tag.clone()), *calls)),
        ),
    }
}

/// Values with their calls, most first, ties by value; values with no call left out.
fn by_count(counts: impl Iterator<Item = (Option<String>, u64)>) -> Vec<ValueCount> {
    let mut counts: Vec<ValueCount> = counts
        .filter(|(_, calls)| *calls > 0)
        .map(|(value, calls)| ValueCount { value, calls })
        .collect();
    counts.sort_by(|a, b| b.calls.cmp(&a.calls).then(a.value.cmp(&b.value)));
    counts
}

/// One error finding per reason rows were skipped for, the first rows
/// skipped for it as examples.
fn unreadable(report: &IngestReport) -> Vec<Finding> {
    report
        .skipped
        .iter()
        .map(|(reason, rows)| {
            let skipped_for_it = report
                .skipped_rows
                .iter()
                .filter(|row| row.reason.as_str() == reason.as_str())
                .map(|row| &row.location);
            Finding::counted(
                "unreadable",
                Severity::Error,
                *rows,
                skipped_for_it,
                format!("rows that cannot be read ({reason}): skipped, in no figure"),
            )
        })
        .collect()
}

/// The rows dropped as earlier copies of an id: a warning when copies
/// differ (the figures depend on which copy is kept), else a note.
fn duplicates(report: &IngestReport) -> Option<Finding> {
    let ids = &report.duplicate_ids;
    let severity = if ids.differing > 0 {
        Severity::Warning
    } else {
        Severity::Note
    };
    let examples = ids.first.iter().map(|id| {
        let differ = if id.differ { "differ" } else { "identical" };
        format!("{} ({} copies, {differ})", id.id, id.copies)
    });
    Some(Finding::counted(
        "duplicate_ids",
        severity,
        report.duplicates,
        examples,
        format!(
            "rows dropped as earlier copies of {} repeated ids ({} of them differ between copies); the copy read last is kept",
            ids.repeated, ids.differing
        ),
    ))
}

/// The findings of what reading the values found (SPEC §1.2): timestamps
/// without an offset, tags cells in another list form and tags cells that
/// look like a JSON list but are not one.
fn reading(facts: &ReadingFacts, options: &CheckOptions) -> [Finding; 4] {
    [
        dates_without_offset(facts, options),
        of_tally(
            "tags_other_separators",
            Severity::Note,
            &facts.tags_other_separators,
            "calls whose tags cell separates its keys by `|` or `,` rather than `;`: read as those keys",
        ),
        of_tally(
            "tags_json_list",
            Severity::Note,
            &facts.tags_json_lists,
            "calls whose tags cell is a JSON list of strings: read as its keys",
        ),
        of_tally(
            "tags_malformed_list",
            Severity::Warning,
            &facts.tags_malformed_lists,
            "calls whose tags cell looks like a JSON list but does not parse as one: read as keys separated by `;`, `|` or `,`, brackets and quotes stripped",
        ),
    ]
}

/// The finding of one tally of the readers: its count and first rows.
fn of_tally(code: &'static str, severity: Severity, tally: &Tally, explanation: &str) -> Finding {
    Finding::counted(code, severity, tally.count, &tally.first, explanation)
}

/// The calls dated without an offset: read in the input time zone, which
/// the explanation names with the daylight-saving folds and gaps met.
fn dates_without_offset(facts: &ReadingFacts, options: &CheckOptions) -> Finding {
    let mut explanation = format!(
        "calls whose date has no offset: read as {} time (--input-tz)",
        options.input_tz
    );
    let fold = &facts.dates_in_fold;
    if fold.count > 0 {
        explanation.push_str(&format!(
            "; {} in a daylight-saving fold, read as the earlier instant (first: {})",
            fold.count,
            fold.first_locations()
        ));
    }
    let gap = &facts.dates_in_gap;
    if gap.count > 0 {
        let rows = if gap.count == 1 { "row" } else { "rows" };
        explanation.push_str(&format!(
            "; and {} {rows} at a time the clocks skip there (a daylight-saving gap): unreadable (first: {})",
            gap.count,
            gap.first_locations()
        ));
    }
    of_tally(
        "date_without_offset",
        Severity::Warning,
        &facts.dates_without_offset,
        &explanation,
    )
}

/// The first rows of a tally, `file:line, …`.
/// The finding of one condition of the pass.
fn of_condition(
    condition: Condition,
    counted: &Counted,
    scanned: &Scanned,
    options: &CheckOptions,
) -> Finding {
    let (code, severity, explanation) = match condition {
        Condition::TalkOverMax => (
            "talk_over_max",
            Severity::Warning,
            format!(
                "calls with talk time over {} (--max-talk): they carry {} of all talk time, the longest {}",
                talk_time(options.max_talk_seconds),
                percent(scanned.talk_over_max_seconds, scanned.talk_seconds),
                talk_time(scanned.longest_talk_seconds)
            ),
        ),
        Condition::ConnectedWithoutTalk => (
            "connected_without_talk",
            Severity::Warning,
            "connected calls (ANSWERED, TRANSFERRED…) with 0 s talk time: connected, never a conversation".to_string(),
        ),
        Condition::TalkNotConnected => (
            "talk_not_connected",
            Severity::Warning,
            "calls with talk time whose result is not connected (or unknown), voicemail aside: never a conversation".to_string(),
        ),
        Condition::LongRinging => (
            "long_ringing",
            Severity::Note,
            format!("calls ringing over {LONG_RINGING_SECONDS} s (10 min)"),
        ),
        Condition::Future => (
            "future_date",
            Severity::Warning,
            format!(
                "calls dated after the moment of the check ({})",
                date_text(options.now.timestamp_micros())
            ),
        ),
        Condition::NoUser => (
            "no_user",
            Severity::Note,
            "calls without user_id: counted, in no leaderboard row".to_string(),
        ),
        Condition::NoContact => (
            "no_contact",
            Severity::Note,
            "calls without contact_number".to_string(),
        ),
        Condition::Inbound => (
            "inbound",
            Severity::Note,
            "inbound calls: read, not in the metrics".to_string(),
        ),
        Condition::Sms => (
            "sms",
            Severity::Note,
            "SMS: read, not in the metrics".to_string(),
        ),
    };
    Finding::counted(
        code,
        severity,
        counted.count,
        &counted.examples,
        explanation,
    )
}

/// `part` as a percentage of `whole`, one decimal (`0 %` of nothing).
fn percent(part: i128, whole: i128) -> String {
    if whole == 0 {
        return "0 %".to_string();
    }
    format!("{:.1} %", part as f64 * 100.0 / whole as f64)
}

/// The latest call, when it is dated more than [`LONE_DATE_DAYS`] after
/// every other call.
fn lone_far_off_date(scanned: &Scanned) -> Option<Finding> {
    let (latest, id) = scanned.latest.as_ref()?;
    let second = scanned.second_latest?;
    let gap_days = (i128::from(*latest) - i128::from(second)) / (86_400 * 1_000_000);
    (gap_days > i128::from(LONE_DATE_DAYS)).then(|| {
        Finding::counted(
            "lone_far_off_date",
            Severity::Warning,
            1,
            [format!("{id} ({})", date_text(*latest))],
            format!(
                "a call dated {gap_days} days after every other call (over {LONE_DATE_DAYS}): it stretches the input's last date"
            ),
        )
    })
}

/// The tags likely mistyped.
fn tag_typos(scanned: &Scanned) -> Option<Finding> {
    let typos = likely_typos(&scanned.tags);
    let examples = typos.iter().map(|typo| {
        let edits = if typo.edits == 1 { "edit" } else { "edits" };
        format!(
            "{} ×{} ~ {} ×{} ({} {edits})",
            typo.tag, typo.calls, typo.meant, typo.meant_calls, typo.edits
        )
    });
    Some(Finding::counted(
        "tag_typo",
        Severity::Warning,
        typos.len() as u64,
        examples,
        format!(
            "tags seen at most {RARE_TAG_CALLS}× within {TYPO_EDITS} edits (Damerau-Levenshtein) of a tag seen {COMMON_TAG_FACTOR}× more: likely typos, they convert for no request of the meant tag"
        ),
    ))
}
