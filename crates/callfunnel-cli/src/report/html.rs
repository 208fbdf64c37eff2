//! The HTML page: sections in reading order, every user string escaped.

use std::fmt::Write;

use super::escape::escape;
use super::glossary::glossary;
use super::{bucket_name, charts, Chart, ReportInput};
use crate::display::{self, Trend};
use callfunnel::definitions::DEFINITIONS_VERSION;
use callfunnel::response::MetricValue;
use callfunnel::Rounding;

/// The page's style sheet, inline.
const STYLE: &str = "
body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; color: #1e293b; background: #f8fafc; margin: 0; }
header, main, footer { max-width: 1180px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 0 0 12px; }
.period, .scope { font-size: 16px; margin: 0 0 6px; }
h3 { font-size: 15px; margin: 16px 0 8px; }
.meta, footer, .note { color: #64748b; font-size: 13px; }
section { background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
.row { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.row > section { flex: 1 1 420px; margin: 0; }
.pair { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 16px; align-items: start; }
.pair svg { width: 100%; }
.flow { display: flex; flex-wrap: wrap; gap: 16px 32px; align-items: flex-start; }
.scroll { overflow-x: auto; }
svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 14px; }
th, td { padding: 5px 12px; border-bottom: 1px solid #e2e8f0; text-align: left; white-space: nowrap; }
th { color: #475569; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.better { color: #15803d; }
.worse { color: #b91c1c; }
.bar { background: #2563eb; height: 10px; border-radius: 2px; min-width: 1px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; font-size: 14px; }
dt { font-weight: 600; }
dd { margin: 0; }
ul.files { margin: 0; padding-left: 18px; }
footer { padding-bottom: 24px; }
.warnings { background: #fffbeb; border: 1px solid #f59e0b; border-radius: 8px; padding: 12px 20px; margin: 16px 0; }
.warnings h2 { color: #b45309; margin: 0 0 6px; }
.warnings ul { margin: 0; padding-left: 18px; }
";

/// The report as one self-contained HTML page.
pub fn render_html(input: &ReportInput) -> String {
    let charts = charts(input);
    let chart = |name: &str| -> &str {
        charts
            .iter()
            .find(|chart: &&Chart| chart.name == name)
            .map_or("", |chart| chart.svg.as_str())
    };
    let title = input
        .title
        .map_or_else(|| default_title(input), str::to_string);
    let mut page = format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{} · callfunnel</title>
<style>{STYLE}</style>
</head>
<body>
"#,
        escape(&title)
    );
    header(&mut page, input, &title);
    page.push_str("<main>\n");
    warnings_box(&mut page, input.warnings);
    let _ = write!(
        page,
        "<section id=\"funnel\">\n<h2>Funnel</h2>\n<div class=\"flow\">{}\n{}</div>\n</section>\n",
        funnel_table(input),
        chart("funnel")
    );
    let _ = write!(
        page,
        "<section id=\"time-series\">\n<h2>Over time, by {}</h2>\n<p class=\"note\">{} Hover a point for its figure. The connection rate breaks where there were no dials.</p>\n<div class=\"pair\">\n{}\n{}\n{}\n{}\n</div>\n</section>\n",
        bucket_name(input.request.granularity),
        if input.previous.is_some() {
            "Solid: the current period; dashed: the previous one, bucket by bucket."
        } else {
            "The current period, bucket by bucket (no comparison)."
        },
        chart("dials"),
        chart("connected"),
        chart("connection_rate"),
        chart("conversions")
    );
    let _ = write!(
        page,
        "<section id=\"heatmap\">\n<h2>When calls are made</h2>\n<p class=\"note\">Dials of the current period by weekday and hour, in {}. Hover a cell for its counts.</p>\n{}\n</section>\n",
        escape(input.request.timezone.name()),
        chart("heatmap")
    );
    let _ = write!(
        page,
        "<section id=\"when-to-call\">\n<h2>When to call</h2>\n<p class=\"note\">The connect rate of the current period by weekday and hour, in {}: the darker, the more dials connected. A pale cell holds fewer than {} dials (written in it): too few to read. Hover a cell for its rate and 95 % interval.</p>\n{}\n</section>\n",
        escape(input.request.timezone.name()),
        callfunnel::analysis::SMALL_SAMPLE,
        chart("when_to_call")
    );
    super::analysis::sections(&mut page, input);
    let _ = write!(
        page,
        "<div class=\"row\">\n{}{}</div>\n",
        leaderboard(input),
        time_spent(input)
    );
    input_summary(&mut page, input);
    how_to_read(&mut page, input);
    let _ = write!(
        page,
        "</main>\n<footer>Made by callfunnel {} from the figures of <code>callfunnel metrics</code>.</footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    page
}

/// `Outbound calls 2024-03-04 – 2024-03-17`, naming the rep or number
/// when the request keeps only one.
fn default_title(input: &ReportInput) -> String {
    let date = input.response.data.date;
    match (input.filter_names, input.request.user_ids.is_empty()) {
        ([one], true) => format!(
            "Outbound calls from {}, {} – {}",
            named(one),
            date.from,
            date.to
        ),
        ([one], false) => format!(
            "Outbound calls of {}, {} – {}",
            named(one),
            date.from,
            date.to
        ),
        _ => format!("Outbound calls {} – {}", date.from, date.to),
    }
}

/// A filtered rep or number as people know it: `Zoë Müller (usr-7b1x3d)`,
/// or the key alone when no call names it.
fn named((key, name): &(String, Option<String>)) -> String {
    match name {
        Some(name) => format!("{name} ({key})"),
        None => key.clone(),
    }
}

/// `Rep: …`, `Allo numbers: …`: whose calls the report holds, when the
/// request keeps only some.
fn scope_line(input: &ReportInput) -> String {
    let names: Vec<String> = input.filter_names.iter().map(named).collect();
    let what = match (input.request.user_ids.is_empty(), names.len()) {
        (_, 0) => return String::new(),
        (false, 1) => "Rep",
        (false, _) => "Reps",
        (true, 1) => "Allo number",
        (true, _) => "Allo numbers",
    };
    format!(
        "<p class=\"scope\">{what}: {}</p>\n",
        escape(&names.join(", "))
    )
}

/// The title, the periods and what the figures are computed with.
fn header(page: &mut String, input: &ReportInput, title: &str) {
    let data = &input.response.data;
    let request = input.request;
    let tags = if request.tags.is_empty() {
        "none (any tagged call converts)".to_string()
    } else {
        request.tags.join(", ")
    };
    let _ = write!(
        page,
        "<header>\n<h1>{}</h1>\n{}<p class=\"period\">{} – {}, {}</p>\n<p class=\"meta\">Time zone {} · conversion tags: {} · a conversation is a connected call longer than {} s · definitions version {DEFINITIONS_VERSION} · last call loaded {}</p>\n</header>\n",
        escape(title),
        scope_line(input),
        data.date.from,
        data.date.to,
        display::comparison(data.compare_date, " – "),
        escape(request.timezone.name()),
        escape(&tags),
        request.conversation_threshold_seconds,
        escape(data.last_updated.as_deref().unwrap_or(display::NOT_AVAILABLE)),
    );
}

/// The box of what `check` would warn about, when there is anything.
fn warnings_box(page: &mut String, warnings: &[String]) {
    if warnings.is_empty() {
        return;
    }
    page.push_str("<aside class=\"warnings\" id=\"check-warnings\" role=\"alert\">\n<h2>Check the data behind these figures</h2>\n<ul>\n");
    for warning in warnings {
        let _ = writeln!(page, "<li>{}</li>", escape(warning));
    }
    page.push_str("</ul>\n</aside>\n");
}

/// A table with a header row; `numeric` marks the right-aligned columns.
pub(super) fn table(header: &[&str], numeric: &[usize], rows: &[Vec<String>]) -> String {
    let class = |index: usize| {
        if numeric.contains(&index) {
            " class=\"num\""
        } else {
            ""
        }
    };
    let mut html = String::from("<table>\n<thead><tr>");
    for (index, title) in header.iter().enumerate() {
        let _ = write!(html, "<th{}>{}</th>", class(index), escape(title));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        html.push_str("<tr>");
        for (index, cell) in row.iter().enumerate() {
            let _ = write!(html, "<td{}>{cell}</td>", class(index));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n");
    html
}

/// A table of the columns shown by [`display::Columns`]; every column but
/// the first holds figures.
fn comparing_table(columns: &[(&str, bool)], compared: bool, rows: &[Vec<String>]) -> String {
    let columns = display::Columns::new(columns, compared);
    let header = columns.header();
    let rows: Vec<Vec<String>> = rows.iter().map(|row| columns.keep(row.clone())).collect();
    let numeric: Vec<usize> = (1..header.len()).collect();
    table(&header, &numeric, &rows)
}

/// A change, with its arrow, coloured by whether it is good news, at the
/// precision `rounding` leaves it.
fn change_html(change: Option<f64>, rounding: Rounding, higher_is_better: bool) -> String {
    let class = match Trend::of(change, higher_is_better) {
        Trend::Better => "better",
        Trend::Worse => "worse",
        Trend::Flat => "flat",
    };
    format!(
        "<span class=\"{class}\">{} {}</span>",
        display::arrow(change),
        display::change(change, rounding)
    )
}

fn funnel_table(input: &ReportInput) -> String {
    let funnel = &input.response.data.funnel;
    let rows: Vec<Vec<String>> = display::funnel_stages(funnel)
        .iter()
        .map(|(name, stage)| {
            let previous_rate = stage.previous_rate(funnel.dials.count.previous, input.rounding);
            vec![
                name.to_string(),
                display::count(stage.count.value),
                display::compared(stage.count.previous, display::count),
                change_html(stage.count.change, input.rounding, true),
                display::percent(stage.rate),
                display::percent(previous_rate),
                display::points(stage.rate, previous_rate),
            ]
        })
        .collect();
    comparing_table(
        &[
            ("Stage", false),
            ("Current", false),
            ("Previous", true),
            ("Change", true),
            ("Rate of dials", false),
            ("Previous rate", true),
            ("Rate change", true),
        ],
        input.response.data.compare_date.is_some(),
        &rows,
    )
}

fn leaderboard(input: &ReportInput) -> String {
    let entries = &input.response.data.leaderboard;
    let best = entries
        .iter()
        .map(|entry| entry.connected)
        .max()
        .unwrap_or(0)
        .max(1);
    // No email column when no rep has one (an export without emails).
    let emails = entries.iter().any(|entry| {
        entry
            .user
            .email
            .as_deref()
            .is_some_and(|email| !email.trim().is_empty())
    });
    let rows: Vec<Vec<String>> = entries
        .iter()
        .enumerate()
        .map(|(rank, entry)| {
            let mut row = vec![
                (rank + 1).to_string(),
                escape(display::user_name(&entry.user)),
            ];
            if emails {
                row.push(escape(entry.user.email.as_deref().unwrap_or_default()));
            }
            row.extend([
                display::count(entry.connected),
                format!(
                    "<div class=\"bar\" style=\"width: {:.0}px\"></div>",
                    160.0 * entry.connected as f64 / best as f64
                ),
            ]);
            row
        })
        .collect();
    let body = match (rows.is_empty(), emails) {
        (true, _) => "<p class=\"note\">No rep made a call in the period.</p>\n".to_string(),
        (false, true) => table(&["#", "Rep", "Email", "Connected", ""], &[0, 3], &rows),
        (false, false) => table(&["#", "Rep", "Connected", ""], &[0, 2], &rows),
    };
    format!(
        "<section id=\"leaderboard\">\n<h2>Leaderboard: connected calls</h2>\n{body}</section>\n"
    )
}

fn time_spent(input: &ReportInput) -> String {
    let spent = &input.response.data.time_spent;
    let average = |name: &str, metric: &MetricValue<Option<f64>>, higher_is_better: bool| {
        vec![
            name.to_string(),
            display::seconds(metric.value),
            display::compared(metric.previous, display::seconds),
            change_html(metric.change, input.rounding, higher_is_better),
        ]
    };
    let total = &spent.total_conversation_time_seconds;
    let rows = vec![
        average(
            "Average ringing time",
            &spent.avg_ringing_time_seconds,
            false,
        ),
        average(
            "Average conversation time",
            &spent.avg_conversation_time_seconds,
            true,
        ),
        vec![
            "Total conversation time".to_string(),
            display::duration(total.value),
            display::compared(total.previous, display::duration),
            change_html(total.change, input.rounding, true),
        ],
    ];
    format!(
        "<section id=\"time-spent\">\n<h2>Time spent</h2>\n{}</section>\n",
        comparing_table(
            &[
                ("", false),
                ("Current", false),
                ("Previous", true),
                ("Change", true)
            ],
            input.response.data.compare_date.is_some(),
            &rows
        )
    )
}

/// What was read: files, rows, skipped rows by reason, duplicates; then how
/// the calls kept come down to the period's dials (each step exact: the
/// census counts them), and the filters.
fn input_summary(page: &mut String, input: &ReportInput) {
    let report = input.ingest;
    let request = input.request;
    let census = &input.census;
    let mut files = String::from("<ul class=\"files\">");
    for file in &report.files {
        let _ = write!(files, "<li>{}</li>", escape(&file.display().to_string()));
    }
    files.push_str("</ul>");
    let skipped: u64 = report.skipped.values().sum();
    let skipped = if skipped == 0 {
        "0".to_string()
    } else {
        let reasons: Vec<String> = report
            .skipped
            .iter()
            .map(|(reason, count)| format!("{}: {}", escape(reason), display::count(*count)))
            .collect();
        format!("{} ({})", display::count(skipped), reasons.join(", "))
    };
    let filter = |values: &[String]| {
        if values.is_empty() {
            "all".to_string()
        } else {
            escape(&values.join(", "))
        }
    };
    let zone = escape(request.timezone.name());
    let date = request.date;
    // Each step: its sign, name, count and what it is.
    let mut steps = vec![
        (
            "",
            "Calls kept",
            report.calls,
            "the rows read, less those skipped and the duplicates".to_string(),
        ),
        (
            "− ",
            "Outside the period",
            report.calls.saturating_sub(census.in_period),
            format!(
                "placed before {} or after {} in {zone}{}",
                date.from,
                date.to,
                if request.compare_date.is_some() {
                    " (the previous period's calls among them)"
                } else {
                    ""
                }
            ),
        ),
        (
            "− ",
            "Inbound or SMS",
            census.inbound_or_sms,
            "in the period, but not outbound calls".to_string(),
        ),
    ];
    if !request.user_ids.is_empty() || !request.allo_numbers.is_empty() {
        steps.push((
            "− ",
            "Other reps or numbers",
            census.filtered_out,
            "outbound calls of the period that the filter leaves out".to_string(),
        ));
    }
    steps.push((
        "= ",
        "Dials",
        census.dials,
        "the funnel's dials".to_string(),
    ));
    let rows: Vec<Vec<String>> = steps
        .into_iter()
        .map(|(sign, name, count, why)| {
            vec![
                name.to_string(),
                format!("{sign}{}", display::count(count)),
                why,
            ]
        })
        .collect();
    let _ = write!(
        page,
        "<section id=\"input\">\n<h2>Input</h2>\n<dl>\n<dt>Files</dt><dd>{files}</dd>\n<dt>Rows read</dt><dd>{}</dd>\n<dt>Rows skipped</dt><dd>{skipped}</dd>\n<dt>Duplicate ids collapsed</dt><dd>{}</dd>\n<dt>Users</dt><dd>{}</dd>\n<dt>Allo numbers</dt><dd>{}</dd>\n</dl>\n<h3>From the calls kept to the dials</h3>\n{}</section>\n",
        display::count(report.rows_read),
        display::count(report.duplicates),
        filter(&request.user_ids),
        filter(&request.allo_numbers),
        table(&["", "Calls", ""], &[1], &rows),
    );
}

/// How to read the figures, in plain words, for this request.
fn how_to_read(page: &mut String, input: &ReportInput) {
    page.push_str("<section id=\"definitions\">\n<h2>How to read these figures</h2>\n<dl>\n");
    for entry in glossary(input.request, input.rounding) {
        let _ = writeln!(
            page,
            "<dt>{}</dt><dd>{}</dd>",
            escape(entry.term),
            escape(&entry.meaning)
        );
    }
    let _ = write!(
        page,
        "</dl>\n<p class=\"note\">The figures follow Allo's definitions as callfunnel reads them (version {DEFINITIONS_VERSION}); <code>callfunnel definitions</code> prints them in full.</p>\n</section>\n"
    );
}
