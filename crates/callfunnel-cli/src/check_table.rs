//! The findings of `callfunnel check` as text tables, for people: the
//! findings (errors, then warnings, then notes) with their examples, then
//! the calls by result and by tag. And the lines `metrics` and `report`
//! show when `check` would warn about a figure they print
//! ([`figure_warnings`]).

use callfunnel::check::{
    talk_outliers, Findings, Severity, TalkOutliers, ValueCount, DEFAULT_MAX_TALK_SECONDS,
};
use callfunnel::definitions::DEFINITIONS_VERSION;
use callfunnel::engine::{Asked, EngineError};
use callfunnel::request::DateRange;
use callfunnel::Request;
use chrono::Datelike;
use comfy_table::{Cell, Color, ContentArrangement};
use polars::prelude::LazyFrame;

use crate::display;
use crate::table::{align_right, new_table, text_cell};

/// Width of the findings table, in characters: its explanations wrap.
pub const TABLE_WIDTH: u16 = 120;

/// Tags listed, at most (the most frequent).
pub const TAG_ROWS: usize = 20;

/// The findings as text tables, ending with a newline; coloured by
/// severity when `color`.
pub fn render(findings: &Findings, color: bool) -> String {
    let mut sections = vec![format!(
        "Data quality: {} rows read, {} calls checked · definitions version {DEFINITIONS_VERSION}",
        display::count(findings.rows_read),
        display::count(findings.calls),
    )];
    sections.push(findings_section(findings, color));
    sections.push(format!(
        "Calls by result\n{}",
        counts_table("Result", &findings.results, "(none)")
    ));
    sections.push(tags_section(&findings.tags));
    sections.join("\n\n") + "\n"
}

/// The findings, or a line saying there are none.
fn findings_section(findings: &Findings, color: bool) -> String {
    if findings.findings.is_empty() {
        return "No finding: nothing unreadable, likely wrong or worth a note.".to_string();
    }
    let count = |severity, one: &str, many: &str| {
        let found = findings.findings.iter();
        let count = found.filter(|finding| finding.severity == severity).count();
        format!("{count} {}", if count == 1 { one } else { many })
    };
    let mut table = new_table(&["Severity", "Finding", "Count", "What", "Examples"], color);
    for finding in &findings.findings {
        table.add_row(vec![
            severity_cell(finding.severity, color),
            Cell::new(finding.code),
            Cell::new(display::count(finding.count)),
            text_cell(&finding.explanation),
            Cell::new(examples_text(&finding.examples)),
        ]);
    }
    table
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(TABLE_WIDTH);
    align_right(&mut table, &[2]);
    format!(
        "Findings: {}, {}, {}\n{table}",
        count(Severity::Error, "error", "errors"),
        count(Severity::Warning, "warning", "warnings"),
        count(Severity::Note, "note", "notes")
    )
}

/// The examples, one a line, the control characters of each escaped.
fn examples_text(examples: &[String]) -> String {
    let shown: Vec<_> = examples
        .iter()
        .map(|example| display::printable(example))
        .collect();
    shown.join("\n")
}

/// A severity, red for an error and yellow for a warning when `color`.
fn severity_cell(severity: Severity, color: bool) -> Cell {
    let cell = Cell::new(severity.as_str());
    match (color, severity) {
        (true, Severity::Error) => cell.fg(Color::Red),
        (true, Severity::Warning) => cell.fg(Color::Yellow),
        _ => cell,
    }
}

/// The most frequent tags, and how many more there are.
fn tags_section(tags: &[ValueCount]) -> String {
    if tags.is_empty() {
        return "Calls by tag: no call carries a tag".to_string();
    }
    let shown = &tags[..tags.len().min(TAG_ROWS)];
    let mut section = format!(
        "Calls by tag: the {} most frequent of {} tags\n{}",
        shown.len(),
        tags.len(),
        counts_table("Tag", shown, "")
    );
    if tags.len() > shown.len() {
        section.push_str(&format!("\n… and {} more tags", tags.len() - shown.len()));
    }
    section
}

/// Values with their calls, `none` standing for a missing value.
fn counts_table(what: &str, counts: &[ValueCount], none: &str) -> comfy_table::Table {
    let mut table = new_table(&[what, "Calls"], false);
    for count in counts {
        table.add_row(vec![
            text_cell(count.value.as_deref().unwrap_or(none)),
            Cell::new(display::count(count.calls)),
        ]);
    }
    align_right(&mut table, &[1]);
    table
}

/// What `check` would warn about among the figures of `request` on
/// `calls`, one line each (none when nothing moves them), in a pass of its
/// own: see [`outliers_warnings`].
pub fn figure_warnings(calls: LazyFrame, request: &Request) -> Result<Vec<String>, EngineError> {
    let outliers = talk_outliers(calls, request, DEFAULT_MAX_TALK_SECONDS)?;
    Ok(outliers_warnings(&outliers, request))
}

/// What the engine computes beside a response for [`outliers_warnings`]
/// (and the comparison period's time series when `previous_series`).
pub fn asked_with_outliers(previous_series: bool) -> Asked {
    Asked {
        previous_series,
        talk_outliers_over: Some(DEFAULT_MAX_TALK_SECONDS),
    }
}

/// What `check` would warn about among the figures of `request`, given its
/// talk-time outliers over [`DEFAULT_MAX_TALK_SECONDS`]: one line when they
/// carry over 10 % of the period's talk time, else none.
pub fn outliers_warnings(outliers: &TalkOutliers, request: &Request) -> Vec<String> {
    outliers
        .moves_figures()
        .then(|| outliers_line(outliers, &request.date))
        .into_iter()
        .collect()
}

/// `1 call of 14 h carries 18 % of March 2026's talk time; run `callfunnel check``.
fn outliers_line(outliers: &TalkOutliers, period: &DateRange) -> String {
    let hours = |seconds: u64| format!("{} h", (seconds as f64 / 3600.0).round());
    let calls = if outliers.calls == 1 {
        format!("1 call of {} carries", hours(outliers.longest_seconds))
    } else {
        format!(
            "{} calls over {} (the longest {}) carry",
            display::count(outliers.calls),
            hours(DEFAULT_MAX_TALK_SECONDS.unsigned_abs()),
            hours(outliers.longest_seconds)
        )
    };
    format!(
        "{calls} {:.0} % of {} talk time; run `callfunnel check`",
        outliers.share() * 100.0,
        period_name(period)
    )
}

/// `March 2026's` for a whole calendar month, else `2026-03-02 to 2026-03-08's`.
fn period_name(period: &DateRange) -> String {
    let whole_month = period.from.day() == 1
        && period.to.month() == period.from.month()
        && period.to.year() == period.from.year()
        && period.to.succ_opt().is_some_and(|next| next.day() == 1);
    if whole_month {
        format!("{}'s", period.from.format("%B %Y"))
    } else {
        format!("{} to {}'s", period.from, period.to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn range(from: &str, to: &str) -> DateRange {
        DateRange {
            from: NaiveDate::parse_from_str(from, "%Y-%m-%d").unwrap(),
            to: NaiveDate::parse_from_str(to, "%Y-%m-%d").unwrap(),
        }
    }

    #[test]
    fn outliers_are_told_with_their_share_of_the_period() {
        let one = TalkOutliers {
            calls: 1,
            seconds: 50_400,
            longest_seconds: 50_400,
            period_seconds: 280_000,
        };
        assert_eq!(
            outliers_line(&one, &range("2026-03-01", "2026-03-31")),
            "1 call of 14 h carries 18 % of March 2026's talk time; run `callfunnel check`"
        );
        let three = TalkOutliers {
            calls: 3,
            seconds: 90_000,
            longest_seconds: 50_400,
            period_seconds: 300_000,
        };
        assert_eq!(
            outliers_line(&three, &range("2026-03-02", "2026-03-08")),
            "3 calls over 4 h (the longest 14 h) carry 30 % of 2026-03-02 to 2026-03-08's talk time; run `callfunnel check`"
        );
    }
}
