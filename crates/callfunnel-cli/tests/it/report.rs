//! `callfunnel report`: the self-contained HTML page and its PNG charts.
//!
//! Figures come from `sample_data/expected_response.json` (computed by
//! `sample_data/expected.py`): dials 930 against 858, connected 350,
//! conversations 193, conversions 58.

use std::path::{Path, PathBuf};
use std::process::Output;

use callfunnel::engine::compute_with_previous_series;
use callfunnel::ingest::IngestReport;
use callfunnel::model::{calls_to_frame, Call, CallResult};
use callfunnel::{compute, Request, Rounding};
use callfunnel_cli::report::{charts, render_html, ReportInput};
use chrono::{TimeZone, Utc};
use polars::prelude::IntoLazy;

use crate::harness::{callfunnel, command, load_sample, sample_path, temporary_folder};

/// Runs `callfunnel report` on the sample with `request.json` and `extra`
/// arguments, writing into `folder`; returns the output and the page's path.
pub(crate) fn run_report(folder: &Path, extra: &[&str]) -> (Output, PathBuf) {
    let page = folder.join("report.html");
    let output = command(&["report", "--input"])
        .arg(sample_path("calls.csv"))
        .arg("--request")
        .arg(sample_path("request.json"))
        .arg("--out")
        .arg(&page)
        .args(extra)
        .output()
        .expect("running callfunnel");
    (output, page)
}

/// The sample's report page, written by the command.
pub(crate) fn sample_report(folder: &Path) -> (String, PathBuf) {
    let (output, page) = run_report(folder, &[]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "report failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stdout.is_empty(), "stdout carries no message");
    let html = std::fs::read_to_string(&page).expect("the page");
    (html, page)
}

/// The `<section id="{id}">` of the page, up to its end; panics when absent.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<section id=\"{id}\">"))
        .unwrap_or_else(|| panic!("section {id}"));
    let end = html[start..].find("</section>").expect("the section's end") + start;
    &html[start..end]
}

#[test]
fn report_shows_every_part_with_the_sample_figures() {
    let folder = temporary_folder();
    let (html, _) = sample_report(folder.path());
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<h1>Outbound calls 2024-03-04 – 2024-03-17</h1>"));
    assert!(html.contains("2024-03-04 – 2024-03-17, compared with 2024-02-19 – 2024-03-03"));

    let funnel = section(&html, "funnel");
    for row in [
        r#"<tr><td>Dials</td><td class="num">930</td><td class="num">858</td><td class="num"><span class="better">▲ +8.0%</span></td><td class="num">100.0%</td></tr>"#,
        r#"<tr><td>Connected</td><td class="num">350</td><td class="num">350</td><td class="num"><span class="flat">= 0.0%</span></td><td class="num">37.6%</td></tr>"#,
        r#"<tr><td>Conversations</td><td class="num">193</td><td class="num">200</td><td class="num"><span class="worse">▼ -4.0%</span></td><td class="num">20.8%</td></tr>"#,
        r#"<tr><td>Conversions</td><td class="num">58</td><td class="num">58</td><td class="num"><span class="flat">= 0.0%</span></td><td class="num">6.2%</td></tr>"#,
    ] {
        assert!(funnel.contains(row), "{row} in {funnel}");
    }
    assert!(funnel.contains("<svg"), "the funnel chart");

    // Four time-series charts, each with the current and the previous period.
    let series = section(&html, "time-series");
    assert_eq!(series.matches("<svg").count(), 4);
    assert_eq!(series.matches("<polyline").count(), 8);
    assert_eq!(series.matches("Current 2024-03-04 – 2024-03-17").count(), 4);
    assert_eq!(
        series.matches("Previous 2024-02-19 – 2024-03-03").count(),
        4
    );
    // 14 days per period, per chart: a hover text per point.
    assert_eq!(series.matches("<circle").count(), 4 * 2 * 14);
    assert!(series.contains("<title>2024-02-19: "), "previous points");

    // The heatmap: 168 cells with their hover text.
    let heatmap = section(&html, "heatmap");
    assert_eq!(heatmap.matches(" connected (").count(), 168);
    assert!(heatmap.contains("<title>Friday 16:00–16:59: 36 dials, 20 connected (55.6%)</title>"));
    assert!(heatmap.contains("in Europe/Paris"));
    assert!(heatmap.contains("36 dials in the busiest hour"));

    let leaderboard = section(&html, "leaderboard");
    assert!(leaderboard.contains(
        r#"<tr><td class="num">1</td><td>Zoë Müller</td><td>zoe.mueller@example.com</td><td class="num">75</td>"#
    ));
    assert_eq!(leaderboard.matches("<tr><td").count(), 6);

    let spent = section(&html, "time-spent");
    for text in [
        "20.0 s",
        "20.1 s",
        "204.0 s",
        "176.5 s",
        "19h 50m 08s",
        "+16.0%",
    ] {
        assert!(spent.contains(text), "{text} in {spent}");
    }

    let input = section(&html, "input");
    assert!(input.contains("calls.csv</li>"));
    assert!(input.contains("<dt>Duplicate ids collapsed</dt><dd>3</dd>"));
    assert!(input.contains("<dt>Rows skipped</dt><dd>0</dd>"));

    let definitions = section(&html, "definitions");
    assert!(definitions.contains("<h2>Definitions, version 2</h2>"));
    assert!(definitions.contains("<dt>connected</dt>"));
    assert!(definitions.contains(
        "<dd>result is ANSWERED, TRANSFERRED, TRANSFERRED_AI or TRANSFERRED_EXTERNAL: the recipient picked up."
    ));
    assert!(definitions.contains("<p>Changed since version 1:</p>"));
    assert!(definitions
        .contains("<li>conversions: with no request tags, a call carrying any tag converts"));
}

#[test]
fn report_is_self_contained() {
    let folder = temporary_folder();
    let (html, _) = sample_report(folder.path());
    for forbidden in [
        "<script", "<link", "<img", "<iframe", "src=", "href=", "url(", "@import",
    ] {
        assert!(!html.contains(forbidden), "`{forbidden}` in the page");
    }
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    // The only address in the page is the SVG namespace, which is never fetched.
    let addresses = html.matches("http").count();
    assert_eq!(
        addresses,
        html.matches("http://www.w3.org/2000/svg").count() + html.matches("http-equiv").count()
    );
}

#[test]
fn report_writes_the_same_bytes_each_time() {
    let folder = temporary_folder();
    let (first, _) = sample_report(folder.path());
    let (second, _) = sample_report(folder.path());
    assert_eq!(first, second);
}

#[test]
fn report_png_writes_every_chart() {
    let folder = temporary_folder();
    let pngs = folder.path().join("charts");
    let (output, _) = run_report(
        folder.path(),
        &["--png", pngs.to_str().expect("a UTF-8 path")],
    );
    assert_eq!(output.status.code(), Some(0));
    for (name, width) in [
        ("funnel", 600),
        ("dials", 560),
        ("connected", 560),
        ("connection_rate", 560),
        ("conversions", 560),
        ("heatmap", 680),
    ] {
        let bytes = std::fs::read(pngs.join(format!("{name}.png"))).expect("a PNG");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{name} is a PNG");
        // IHDR: width at bytes 16..20, drawn at twice the SVG size.
        let drawn = u32::from_be_bytes(bytes[16..20].try_into().expect("4 bytes"));
        assert_eq!(drawn, 2 * width, "{name} width");
        assert!(
            bytes.len() > 5_000,
            "{name} has content: {} bytes",
            bytes.len()
        );
        assert_drawn(name, &bytes);
    }
}

/// Decodes a chart's PNG and checks that it shows a drawing: at least 2 % of
/// its pixels differ from the background (the top-left corner) and it uses at
/// least 4 colours (background, axes or text, and the series).
fn assert_drawn(name: &str, png: &[u8]) {
    let pixmap = resvg::tiny_skia::Pixmap::decode_png(png).expect("the PNG decodes");
    let pixels = pixmap.pixels();
    assert_eq!(
        pixels.len(),
        (pixmap.width() * pixmap.height()) as usize,
        "{name}"
    );
    let background = pixels[0];
    let drawn = pixels.iter().filter(|pixel| **pixel != background).count();
    assert!(
        drawn * 50 >= pixels.len(),
        "{name}: only {drawn} of {} pixels drawn",
        pixels.len()
    );
    let colours: std::collections::HashSet<(u8, u8, u8, u8)> = pixels
        .iter()
        .map(|pixel| (pixel.red(), pixel.green(), pixel.blue(), pixel.alpha()))
        .collect();
    assert!(colours.len() >= 4, "{name}: {} colours", colours.len());
}

#[test]
fn report_rejects_an_invalid_request_and_writes_nothing() {
    let folder = temporary_folder();
    let page = folder.path().join("report.html");
    let output = command(&["report", "--input"])
        .arg(sample_path("calls.csv"))
        .args(["--from", "2024-03-17", "--to", "2024-03-04", "--out"])
        .arg(&page)
        .output()
        .expect("running callfunnel");
    assert_eq!(output.status.code(), Some(2));
    let envelope: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("the error envelope");
    assert_eq!(envelope["error"]["code"], "INVALID_DATE_RANGE");
    assert!(!page.exists());

    // Without --out: a usage error.
    callfunnel()
        .arg("report")
        .arg("--input")
        .arg(sample_path("calls.csv"))
        .arg("--request")
        .arg(sample_path("request.json"))
        .assert()
        .code(2)
        .stdout("");
}

/// A report on one call whose rep and file name hold HTML.
fn hostile_report() -> String {
    let mut call = Call::new(
        "cll-<1>",
        Utc.with_ymd_and_hms(2024, 3, 4, 9, 30, 0).unwrap(),
    );
    call.result = Some(CallResult::Answered);
    call.duration = 95;
    call.user_id = Some("usr-\"1\"".into());
    call.user_name = Some("<script>alert('x')</script> & Søn".into());
    call.user_email = Some("a&b@example.com".into());
    let frame = calls_to_frame([call]).expect("a frame").lazy();
    let request = Request::from_json_str(
        r#"{"date": {"from": "2024-03-04", "to": "2024-03-10"}, "tags": ["<b>won</b>"]}"#,
    )
    .expect("a request");
    let (response, previous) =
        compute_with_previous_series(frame, &request, Rounding::Api).expect("computing");
    let ingest = IngestReport {
        files: vec![PathBuf::from("exports/<calls> & \"more\".csv")],
        rows_read: 1,
        calls: 1,
        ..IngestReport::default()
    };
    render_html(&ReportInput {
        request: &request,
        response: &response,
        previous: previous.as_ref(),
        ingest: &ingest,
    })
}

/// The request whose response's time series is the comparison period's: the
/// same request with `date` set to `compare_date`, and no drilldown.
fn previous_period_request(request: &Request) -> Request {
    Request {
        date: request.compare_date.expect("a comparison period"),
        items: None,
        ..request.clone()
    }
}

#[test]
fn the_previous_series_is_the_series_of_the_comparison_period_computed_alone() {
    let (calls, _) = load_sample();
    for body in [
        r#"{"date": {"from": "2024-03-04", "to": "2024-03-17"}, "tags": ["demo_booked"]}"#,
        r#"{"date": {"from": "2024-03-01", "to": "2024-03-31"}, "granularity": "WEEK", "timezone": "America/New_York"}"#,
        r#"{"date": {"from": "2024-03-01", "to": "2024-03-31"}, "compare_date": {"from": "2024-01-01", "to": "2024-02-29"}, "granularity": "MONTH", "extend": "items", "stage": "DIAL"}"#,
    ] {
        let request = Request::from_json_str(body).expect("a request");
        let (response, previous) =
            compute_with_previous_series(calls.clone(), &request, Rounding::Api)
                .expect("computing");
        let alone = compute(calls.clone(), &previous_period_request(&request)).expect("computing");
        let previous = previous.expect("a comparison period");
        assert_eq!(previous, alone.data.time_series, "{body}");
        assert_eq!(
            response,
            compute(calls.clone(), &request).expect("computing"),
            "{body}"
        );
        assert!(previous.dials.iter().any(|point| point.value > 0), "{body}");
    }
}

#[test]
fn report_escapes_every_user_string() {
    let html = hostile_report();
    assert!(!html.contains("<script"), "no live script");
    assert!(!html.contains("<b>"), "no live tag");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Søn"));
    assert!(html.contains("a&amp;b@example.com"));
    assert!(html.contains("exports/&lt;calls&gt; &amp; &quot;more&quot;.csv"));
    assert!(html.contains("&lt;b&gt;won&lt;/b&gt;"));
}

#[test]
fn charts_are_well_formed_svg_documents() {
    let html = hostile_report();
    assert!(html.contains("<svg"));
    let request = Request::from_json_str(r#"{"date": {"from": "2024-03-04", "to": "2024-03-10"}}"#)
        .expect("a request");
    assert_eq!(
        previous_period_request(&request).date.from.to_string(),
        "2024-02-26"
    );
    let frame = calls_to_frame(Vec::<Call>::new()).expect("a frame").lazy();
    let response = compute(frame, &request).expect("computing");
    let ingest = IngestReport::default();
    let input = ReportInput {
        request: &request,
        response: &response,
        previous: None,
        ingest: &ingest,
    };
    let charts = charts(&input);
    let names: Vec<&str> = charts.iter().map(|chart| chart.name).collect();
    assert_eq!(
        names,
        [
            "funnel",
            "dials",
            "connected",
            "connection_rate",
            "conversions",
            "heatmap"
        ]
    );
    let renderer = callfunnel_cli::report::png::PngRenderer::with_fonts(Default::default());
    for chart in &charts {
        assert!(chart
            .svg
            .starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(chart.svg.ends_with("</svg>"));
        // No data: no NaN or infinite coordinate anywhere.
        assert!(
            !chart.svg.contains("NaN") && !chart.svg.contains("inf"),
            "{}",
            chart.svg
        );
        renderer.render(&chart.svg).expect("the chart renders");
    }
    // Without the previous period, one line per time-series chart.
    assert_eq!(charts[1].svg.matches("<polyline").count(), 1);
}
