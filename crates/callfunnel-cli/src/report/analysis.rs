//! The analysis of SPEC §8 in the report: the breakdown's page of groups,
//! the connect rate under each rule side by side, and contact reach; each
//! rate with its 95 % interval when the response has them, marked when
//! fewer than 30 calls are behind it.

use std::fmt::Write;

use callfunnel::analysis::{
    Analysis, Breakdown, ConnectRateIntervals, ConnectRuleFigures, GroupBy, Interval, Reach,
};

use super::escape::escape;
use super::html::table;
use super::ReportInput;
use crate::display::{self, SMALL_SAMPLE_MARK};

/// Writes the sections of the response's analysis (none without one).
pub(super) fn sections(page: &mut String, input: &ReportInput) {
    let Some(analysis) = &input.response.analysis else {
        return;
    };
    let compared = input.response.data.compare_date.is_some();
    if let Some(breakdown) = &analysis.breakdown {
        page.push_str(&breakdown_section(breakdown, analysis, compared));
    }
    if let Some(rules) = &analysis.connect_rules {
        let rates = analysis
            .intervals
            .as_ref()
            .and_then(|intervals| intervals.connect_rules.as_ref());
        let periods = [Some(&rules.current), rules.previous.as_ref()];
        let rates = [
            rates.map(|rates| &rates.current),
            rates.and_then(|rates| rates.previous.as_ref()),
        ];
        page.push_str(&connect_rules_section(periods, rates, compared));
    }
    if let Some(reach) = &analysis.reach {
        let rate = analysis
            .intervals
            .as_ref()
            .and_then(|intervals| intervals.reach.as_ref())
            .map(|reach| &reach.reach_rate);
        page.push_str(&reach_section(reach, rate));
    }
}

/// The note under a table whose rates may be marked as small samples.
fn small_sample_note(html: &str) -> &'static str {
    if html.contains(SMALL_SAMPLE_MARK) {
        "<p class=\"note\">* fewer than 30 calls behind the rate: too few to read as a signal. In brackets: the 95 % interval.</p>\n"
    } else {
        ""
    }
}

/// The breakdown's page: one row per group, its dials (n), connected calls,
/// rates and, with a comparison, the change of its connect rate in points.
fn breakdown_section(breakdown: &Breakdown, analysis: &Analysis, compared: bool) -> String {
    let rates = analysis
        .intervals
        .as_ref()
        .and_then(|intervals| intervals.breakdown.as_ref());
    let columns = display::Columns::new(
        &[
            (group_name(breakdown.group_by), false),
            ("n (dials)", false),
            ("Connected", false),
            ("Connect rate", false),
            ("Voicemails", false),
            ("Excl. voicemail", false),
            ("Conversions", false),
            ("Conversion rate", false),
            ("Connect rate change", true),
        ],
        compared,
    );
    let rows: Vec<Vec<String>> = breakdown
        .rows
        .iter()
        .enumerate()
        .map(|(index, row)| {
            let figures = &row.current;
            let rates = rates
                .and_then(|rates| rates.rows.get(index))
                .map(|rates| &rates.current);
            let key = display::group_key(row.key.as_ref(), breakdown.group_by);
            let name = match &row.label {
                Some(label) if !label.is_empty() => format!("{label} ({key})"),
                _ => key,
            };
            columns.keep([
                escape(&name),
                display::count(figures.dials),
                display::count(figures.connected),
                display::rate_within(figures.connect_rate, rates.map(|r| &r.connect_rate)),
                display::count(figures.voicemails),
                display::rate_within(
                    figures.connect_rate_excl_voicemail,
                    rates.map(|r| &r.connect_rate_excl_voicemail),
                ),
                display::count(figures.conversions),
                display::rate_within(figures.conversion_rate, rates.map(|r| &r.conversion_rate)),
                display::point_difference(
                    row.change.as_ref().and_then(|change| change.connect_rate),
                ),
            ])
        })
        .collect();
    let header = columns.header();
    let numeric: Vec<usize> = (1..header.len()).collect();
    let body = table(&header, &numeric, &rows);
    let pagination = &breakdown.pagination;
    let shown = if pagination.total_pages > 1 {
        format!(
            " (page {} of {}, {} in all)",
            pagination.page,
            pagination.total_pages,
            display::count(pagination.total_count)
        )
    } else {
        String::new()
    };
    format!(
        "<section id=\"breakdown\">\n<h2>By {}{shown}</h2>\n<div class=\"scroll\">{body}</div>\n{}</section>\n",
        group_title(breakdown.group_by),
        small_sample_note(&body)
    )
}

/// The key column's title.
fn group_name(group_by: GroupBy) -> &'static str {
    match group_by {
        GroupBy::User => "Rep",
        GroupBy::AlloNumber => "Allo number",
        GroupBy::Tag => "Tag",
        GroupBy::ContactNumber => "Contact",
        GroupBy::Result => "Result",
        GroupBy::Weekday => "Weekday",
        GroupBy::Hour => "Hour",
    }
}

/// The section's title: `rep`, `Allo number`, ….
fn group_title(group_by: GroupBy) -> String {
    match group_by {
        GroupBy::AlloNumber => "Allo number".into(),
        other => group_name(other).to_lowercase(),
    }
}

/// The connect rate under each rule, the current period and (with a
/// comparison) the previous one side by side.
fn connect_rules_section(
    periods: [Option<&ConnectRuleFigures>; 2],
    rates: [Option<&ConnectRateIntervals>; 2],
    compared: bool,
) -> String {
    let columns = display::Columns::new(
        &[("", false), ("Current", false), ("Previous", true)],
        compared,
    );
    let lines = display::connect_rule_lines(periods, rates);
    let rows: Vec<Vec<String>> = lines
        .into_iter()
        .map(|(name, [current, previous])| columns.keep([name.to_string(), current, previous]))
        .collect();
    let header = columns.header();
    let numeric: Vec<usize> = (1..header.len()).collect();
    let body = table(&header, &numeric, &rows);
    format!(
        "<section id=\"connect-rules\">\n<h2>Connect rate, three ways</h2>\n<p class=\"note\">The same calls under three rules: voicemail is not a connection (the figures above), voicemail counted as one, and voicemail left out of the dials; the inflation is what counting voicemail adds.</p>\n{body}{}</section>\n",
        small_sample_note(&body)
    )
}

/// Contact reach and the most-dialled contacts.
fn reach_section(reach: &Reach, rate: Option<&Interval>) -> String {
    let rows: Vec<Vec<String>> = display::reach_lines(reach, rate)
        .into_iter()
        .map(|(name, value)| vec![name.to_string(), value])
        .collect();
    let figures = table(&["", "Current"], &[1], &rows);
    let most: Vec<Vec<String>> = reach
        .most_dialled
        .iter()
        .map(|contact| {
            vec![
                escape(&contact.contact_number),
                display::count(contact.dials),
                display::count(contact.connected),
                escape(&contact.last_dialled),
            ]
        })
        .collect();
    let mut html = format!(
        "<section id=\"reach\">\n<h2>Contact reach</h2>\n<div class=\"row\">\n<div>{figures}{}</div>\n",
        small_sample_note(&figures)
    );
    if !most.is_empty() {
        let _ = write!(
            html,
            "<div><h3>Most-dialled contacts</h3>\n{}</div>\n",
            table(
                &["Contact", "Dials", "Connected", "Last dialled (UTC)"],
                &[1, 2],
                &most
            )
        );
    }
    html.push_str("</div>\n</section>\n");
    html
}
