//! The HTML page: sections in reading order, every user string escaped.

use std::fmt::Write;

use super::escape::escape;
use super::{bucket_name, charts, Chart, ReportInput};
use crate::display::{self, Trend};
use callfunnel::definitions::{definitions as rules, CHANGES, DEFINITIONS_VERSION};
use callfunnel::response::{FunnelStage, MetricValue};

/// The page's style sheet, inline.
const STYLE: &str = "
body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; color: #1e293b; background: #f8fafc; margin: 0; }
header, main, footer { max-width: 1180px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 0 0 12px; }
.period { font-size: 16px; margin: 0 0 6px; }
.meta, footer, .note { color: #64748b; font-size: 13px; }
section { background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
.row { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.row > section { flex: 1 1 420px; margin: 0; }
.pair { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 16px; align-items: start; }
.pair svg { width: 100%; }
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
";

/// The report as one self-contained HTML page.
pub fn render_html(input: &ReportInput) -> String {
    let data = &input.response.data;
    let charts = charts(input);
    let chart = |name: &str| -> &str {
        charts
            .iter()
            .find(|chart: &&Chart| chart.name == name)
            .map_or("", |chart| chart.svg.as_str())
    };
    let title = format!("Outbound calls {} – {}", data.date.from, data.date.to);
    let mut page = format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · callfunnel</title>
<style>{STYLE}</style>
</head>
<body>
"#
    );
    header(&mut page, input, &title);
    page.push_str("<main>\n");
    let _ = write!(
        page,
        "<section id=\"funnel\">\n<h2>Funnel</h2>\n<div class=\"pair\">{}\n{}</div>\n</section>\n",
        funnel_table(input),
        chart("funnel")
    );
    let _ = write!(
        page,
        "<section id=\"time-series\">\n<h2>Over time, by {}</h2>\n<p class=\"note\">Solid: the current period; dashed: the previous one, bucket by bucket. Hover a point for its figure.</p>\n<div class=\"pair\">\n{}\n{}\n{}\n{}\n</div>\n</section>\n",
        bucket_name(input.request.granularity),
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
        "<div class=\"row\">\n{}{}</div>\n",
        leaderboard(input),
        time_spent(input)
    );
    input_summary(&mut page, input);
    definitions(&mut page);
    let _ = write!(
        page,
        "</main>\n<footer>Made by callfunnel {} from the figures of <code>callfunnel metrics</code>.</footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    page
}

/// The title, the periods and what the figures are computed with.
fn header(page: &mut String, input: &ReportInput, title: &str) {
    let data = &input.response.data;
    let request = input.request;
    let tags = if request.tags.is_empty() {
        "none (no call converts)".to_string()
    } else {
        request.tags.join(", ")
    };
    let _ = write!(
        page,
        "<header>\n<h1>{}</h1>\n<p class=\"period\">{} – {}, {}</p>\n<p class=\"meta\">Time zone {} · conversion tags: {} · a conversation is a connected call longer than {} s · definitions version {DEFINITIONS_VERSION} · last call loaded {}</p>\n</header>\n",
        escape(title),
        data.date.from,
        data.date.to,
        display::comparison(data.compare_date, " – "),
        escape(request.timezone.name()),
        escape(&tags),
        request.conversation_threshold_seconds,
        escape(data.last_updated.as_deref().unwrap_or(display::NOT_AVAILABLE)),
    );
}

/// A table with a header row; `numeric` marks the right-aligned columns.
fn table(header: &[&str], numeric: &[usize], rows: &[Vec<String>]) -> String {
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

/// A change, with its arrow, coloured by whether it is good news.
fn change_html(change: Option<f64>, higher_is_better: bool) -> String {
    let class = match Trend::of(change, higher_is_better) {
        Trend::Better => "better",
        Trend::Worse => "worse",
        Trend::Flat => "flat",
    };
    format!(
        "<span class=\"{class}\">{} {}</span>",
        display::arrow(change),
        display::change(change)
    )
}

fn funnel_table(input: &ReportInput) -> String {
    let funnel = &input.response.data.funnel;
    let stages: [(&str, &FunnelStage); 4] = [
        ("Dials", &funnel.dials),
        ("Connected", &funnel.connected),
        ("Conversations", &funnel.conversations),
        ("Conversions", &funnel.conversions),
    ];
    let rows: Vec<Vec<String>> = stages
        .iter()
        .map(|(name, stage)| {
            vec![
                name.to_string(),
                display::count(stage.count.value),
                display::compared(stage.count.previous, display::count),
                change_html(stage.count.change, true),
                display::percent(stage.rate),
            ]
        })
        .collect();
    table(
        &["Stage", "Current", "Previous", "Change", "Rate of dials"],
        &[1, 2, 3, 4],
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
    let rows: Vec<Vec<String>> = entries
        .iter()
        .enumerate()
        .map(|(rank, entry)| {
            vec![
                (rank + 1).to_string(),
                escape(display::user_name(&entry.user)),
                escape(entry.user.email.as_deref().unwrap_or_default()),
                display::count(entry.connected),
                format!(
                    "<div class=\"bar\" style=\"width: {:.0}px\"></div>",
                    160.0 * entry.connected as f64 / best as f64
                ),
            ]
        })
        .collect();
    let body = if rows.is_empty() {
        "<p class=\"note\">No rep made a call in the period.</p>\n".to_string()
    } else {
        table(&["#", "Rep", "Email", "Connected", ""], &[0, 3], &rows)
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
            change_html(metric.change, higher_is_better),
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
            change_html(total.change, true),
        ],
    ];
    format!(
        "<section id=\"time-spent\">\n<h2>Time spent</h2>\n{}</section>\n",
        table(&["", "Current", "Previous", "Change"], &[1, 2, 3], &rows)
    )
}

/// What was read: files, rows, skipped rows by reason, duplicates; and the filters.
fn input_summary(page: &mut String, input: &ReportInput) {
    let report = input.ingest;
    let request = input.request;
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
    let _ = write!(
        page,
        "<section id=\"input\">\n<h2>Input</h2>\n<dl>\n<dt>Files</dt><dd>{files}</dd>\n<dt>Rows read</dt><dd>{}</dd>\n<dt>Rows skipped</dt><dd>{skipped}</dd>\n<dt>Duplicate ids collapsed</dt><dd>{}</dd>\n<dt>Calls kept</dt><dd>{}</dd>\n<dt>Users</dt><dd>{}</dd>\n<dt>Allo numbers</dt><dd>{}</dd>\n</dl>\n</section>\n",
        display::count(report.rows_read),
        display::count(report.duplicates),
        display::count(report.calls),
        filter(&request.user_ids),
        filter(&request.allo_numbers),
    );
}

/// The rules the figures follow, with their version.
fn definitions(page: &mut String) {
    let _ = write!(
        page,
        "<section id=\"definitions\">\n<h2>Definitions, version {DEFINITIONS_VERSION}</h2>\n<dl>\n"
    );
    for definition in rules() {
        let _ = writeln!(
            page,
            "<dt>{}</dt><dd>{}</dd>",
            escape(definition.name),
            escape(&definition.rule)
        );
    }
    let _ = writeln!(
        page,
        "</dl>\n<p>Changed since version {}:</p>\n<ul>",
        DEFINITIONS_VERSION - 1
    );
    for change in CHANGES {
        let _ = writeln!(page, "<li>{}</li>", escape(change));
    }
    page.push_str("</ul>\n</section>\n");
}
