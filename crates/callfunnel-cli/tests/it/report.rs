//! `callfunnel report`: the self-contained HTML page and its PNG charts.
//!
//! Figures come from `sample_data/expected_response.json` (computed by
//! `sample_data/expected.py`): dials 930 against 858, connected 350,
//! conversations 193, conversions 58.

use std::path::{Path, PathBuf};
use std::process::Output;

use callfunnel::engine::{compute_with_previous_series, period_census};
use callfunnel::ingest::IngestReport;
use callfunnel::model::{calls_to_frame, Call, CallResult};
use callfunnel::{compute, Request, Rounding};
use callfunnel_cli::report::{charts, render_html, Chart, ReportInput};
use chrono::{TimeZone, Utc};
use polars::prelude::IntoLazy;

use crate::harness::{
    assert_status, callfunnel, command, load_sample, sample_path, temporary_folder,
};

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

/// Runs `callfunnel report` on the sample with the request built from
/// `flags`, writing into `folder`; returns the page's path, asserting success.
pub(crate) fn report_from_flags(folder: &Path, flags: &[&str]) -> PathBuf {
    let page = folder.join("report.html");
    let output = command(&["report", "--input"])
        .arg(sample_path("calls.csv"))
        .args(flags)
        .arg("--out")
        .arg(&page)
        .output()
        .expect("running callfunnel");
    assert_status(&output, 0);
    page
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
pub(crate) fn section<'a>(html: &'a str, id: &str) -> &'a str {
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
        r#"<tr><td>Dials</td><td class="num">930</td><td class="num">858</td><td class="num"><span class="better">▲ +8%</span></td><td class="num">100.0%</td><td class="num">100.0%</td><td class="num">0.0 pp</td></tr>"#,
        r#"<tr><td>Connected</td><td class="num">350</td><td class="num">350</td><td class="num"><span class="flat">= 0%</span></td><td class="num">37.6%</td><td class="num">40.8%</td><td class="num">-3.2 pp</td></tr>"#,
        r#"<tr><td>Conversations</td><td class="num">193</td><td class="num">200</td><td class="num"><span class="worse">▼ -4%</span></td><td class="num">20.8%</td><td class="num">23.3%</td><td class="num">-2.5 pp</td></tr>"#,
        r#"<tr><td>Conversions</td><td class="num">58</td><td class="num">58</td><td class="num"><span class="flat">= 0%</span></td><td class="num">6.2%</td><td class="num">6.8%</td><td class="num">-0.6 pp</td></tr>"#,
    ] {
        assert!(funnel.contains(row), "{row} in {funnel}");
    }
    assert!(funnel.contains("<svg"), "the funnel chart");

    // Four time-series charts, each with the current and the previous period.
    let series = section(&html, "time-series");
    assert_eq!(series.matches("<svg").count(), 4);
    // A line (a path) per period; the sample has dials every day, so no gap.
    assert_eq!(series.matches("<path d=\"M").count(), 8);
    assert_eq!(series.matches(" M").count(), 0);
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
        "+16%",
    ] {
        assert!(spent.contains(text), "{text} in {spent}");
    }

    let input = section(&html, "input");
    assert!(input.contains("calls.csv</li>"));
    assert!(input.contains("<dt>Duplicate ids collapsed</dt><dd>3</dd>"));
    assert!(input.contains("<dt>Rows skipped</dt><dd>0</dd>"));

    // From the calls kept to the dials, each step counted: 3,060 calls
    // kept = 2,033 outside the period + 97 inbound or SMS + 930 dials.
    for row in [
        r#"<tr><td>Calls kept</td><td class="num">3,060</td>"#,
        r#"<tr><td>Outside the period</td><td class="num">− 2,033</td><td>placed before 2024-03-04 or after 2024-03-17 in Europe/Paris"#,
        r#"<tr><td>Inbound or SMS</td><td class="num">− 97</td>"#,
        r#"<tr><td>Dials</td><td class="num">= 930</td>"#,
    ] {
        assert!(input.contains(row), "{row} in {input}");
    }
    assert!(!input.contains("Other reps or numbers"), "no filter");

    // The rules in a manager's words, for this request: no error code, no
    // version history.
    let definitions = section(&html, "definitions");
    assert!(definitions.contains("<h2>How to read these figures</h2>"));
    assert!(definitions.contains(
        "<dt>Connected</dt><dd>A call counts as connected when the person called picked up: its result is answered, transferred, transferred ai or transferred external. A voicemail is a machine answering, so it is not connected"
    ));
    assert!(definitions.contains(
        "<dt>Conversations</dt><dd>Connected calls that lasted more than 60 seconds of talk"
    ));
    assert!(definitions.contains(
        "<dt>Conversions</dt><dd>Calls tagged demo_booked, whether or not they connected.</dd>"
    ));
    assert!(definitions.contains("by the clock in Europe/Paris"));
    for jargon in [
        "INVALID_",
        "FILTER_CONFLICT",
        "version 1",
        "ANSWERED",
        "Changed since",
    ] {
        assert!(!definitions.contains(jargon), "`{jargon}` in {definitions}");
    }
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

/// The report of `calls` for `request` (rounded as the API rounds, no
/// filter, no title), from the library: the page and its charts; with the
/// comparison period's series when `previous`.
fn report_of(
    calls: polars::prelude::LazyFrame,
    request: &Request,
    ingest: &IngestReport,
    previous: bool,
) -> (String, Vec<Chart>) {
    let (response, previous_series) =
        compute_with_previous_series(calls.clone(), request, Rounding::Api).expect("computing");
    let input = ReportInput {
        request,
        response: &response,
        rounding: Rounding::Api,
        previous: previous_series.as_ref().filter(|_| previous),
        ingest,
        census: period_census(calls, request).expect("counting"),
        filter_names: &[],
        title: None,
        warnings: &[],
    };
    (render_html(&input), charts(&input))
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
    let ingest = IngestReport {
        files: vec![PathBuf::from("exports/<calls> & \"more\".csv")],
        rows_read: 1,
        calls: 1,
        ..IngestReport::default()
    };
    report_of(frame, &request, &ingest, true).0
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
    let (_, charts) = report_of(frame, &request, &IngestReport::default(), false);
    let names: Vec<&str> = charts.iter().map(|chart| chart.name).collect();
    assert_eq!(
        names,
        [
            "funnel",
            "dials",
            "connected",
            "connection_rate",
            "conversions",
            "heatmap",
            "when_to_call"
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
    // Without the previous period, one line per time-series chart; no
    // dials at all: no connection rate to draw.
    assert_eq!(charts[1].svg.matches("<path").count(), 1);
    assert_eq!(charts[3].svg.matches("<path").count(), 0);
}

/// Calls at 10:00 UTC on the weekdays of 2024-03-04 to 2024-03-15, none on
/// the weekend between them: every other one connected.
fn weekday_calls() -> polars::prelude::LazyFrame {
    let calls = [4, 5, 6, 7, 8, 11, 12, 13, 14, 15].map(|day| {
        let mut call = Call::new(
            format!("cll-{day}"),
            Utc.with_ymd_and_hms(2024, 3, day, 10, 0, 0).unwrap(),
        );
        call.result = (day % 2 == 0).then_some(CallResult::Answered);
        call.user_id = Some("usr-1".into());
        call.user_name = Some("Ann Lee".into());
        call
    });
    calls_to_frame(calls).expect("a frame").lazy()
}

/// The request of the weekday calls: 2024-03-04 to 2024-03-17, UTC.
fn two_weeks() -> Request {
    Request::from_json_str(r#"{"date": {"from": "2024-03-04", "to": "2024-03-17"}}"#)
        .expect("a request")
}

#[test]
fn a_weekend_without_dials_is_a_gap_in_the_connection_rate() {
    // The JSON keeps the API's 0 for the weekend's rate.
    let response = compute(weekday_calls(), &two_weeks()).expect("computing");
    let saturday = &response.data.time_series.connection_rate[5];
    assert_eq!(
        (saturday.date.as_str(), saturday.value),
        ("2024-03-09", 0.0)
    );
    let (_, charts) = report_of(
        weekday_calls(),
        &two_weeks(),
        &IngestReport::default(),
        true,
    );
    let rate = &charts
        .iter()
        .find(|chart| chart.name == "connection_rate")
        .expect("the rate chart")
        .svg;
    // One path (the previous period has no calls: no rate at all), in two
    // pieces: Monday to Friday, then Monday to Friday again.
    assert_eq!(rate.matches("<path").count(), 1, "{rate}");
    let start = rate.find("<path d=\"").expect("a path") + "<path d=\"".len();
    let path = &rate[start..start + rate[start..].find('"').expect("its end")];
    let pieces: Vec<&str> = path.split('M').filter(|piece| !piece.is_empty()).collect();
    assert_eq!(pieces.len(), 2, "{path}");
    for piece in pieces {
        assert_eq!(piece.matches('L').count(), 4, "five weekdays: {piece}");
    }
    // A point (with its hover text) for each weekday only; none at 0 %.
    assert_eq!(rate.matches("<circle").count(), 10);
    assert!(!rate.contains("2024-03-09: "), "no point on Saturday");
    assert!(rate.contains("<title>2024-03-08: 100.0%</title>"));
    assert!(
        rate.contains("<title>2024-03-11: 0.0%</title>"),
        "a real 0 % is drawn"
    );
    // The dials have a value every day, weekends too: unbroken lines (the
    // current period's and the previous one's, at 0).
    let dials = &charts[1].svg;
    assert_eq!(dials.matches("<path d=\"M").count(), 2);
    assert_eq!(dials.matches(" M").count(), 0);
    assert!(dials.contains("<title>2024-03-09: 0</title>"));
}

#[test]
fn the_leaderboard_has_no_email_column_when_no_call_has_one() {
    let (html, _) = report_of(
        weekday_calls(),
        &two_weeks(),
        &IngestReport::default(),
        true,
    );
    let leaderboard = section(&html, "leaderboard");
    assert!(leaderboard.contains(
        r#"<tr><th class="num">#</th><th>Rep</th><th class="num">Connected</th><th></th></tr>"#
    ));
    assert!(
        leaderboard.contains(r#"<tr><td class="num">1</td><td>Ann Lee</td><td class="num">5</td>"#)
    );
    assert!(!leaderboard.contains("Email"));
}

#[test]
fn report_exact_prints_changes_to_a_tenth_of_a_percent() {
    let folder = temporary_folder();
    let (output, page) = run_report(folder.path(), &["--exact"]);
    assert_status(&output, 0);
    let html = std::fs::read_to_string(page).expect("the page");
    let funnel = section(&html, "funnel");
    // 930 dials against 858: +8.39 %; 193 conversations against 200: -3.5 %.
    assert!(
        funnel.contains(r#"<span class="better">▲ +8.4%</span>"#),
        "{funnel}"
    );
    assert!(
        funnel.contains(r#"<span class="worse">▼ -3.5%</span>"#),
        "{funnel}"
    );
    assert!(funnel.contains("930 (100.0%) · was 858, +8.4%"));
    assert!(section(&html, "definitions").contains("It is exact, to a tenth of a percent."));
}

#[test]
fn report_headings_name_the_filter_or_the_title() {
    let folder = temporary_folder();
    let number = report_from_flags(
        folder.path(),
        &[
            "--from",
            "2024-03-04",
            "--to",
            "2024-03-17",
            "--allo-numbers",
            "+14155550142",
        ],
    );
    let html = std::fs::read_to_string(number).expect("the page");
    assert!(html
        .contains("<h1>Outbound calls from Sales US (+14155550142), 2024-03-04 – 2024-03-17</h1>"));
    assert!(html.contains(r#"<p class="scope">Allo number: Sales US (+14155550142)</p>"#));
    assert!(html.contains("from the Allo number +14155550142."));

    let reps = report_from_flags(
        folder.path(),
        &[
            "--from",
            "2024-03-04",
            "--to",
            "2024-03-17",
            "--user-ids",
            "usr-7b1x3d,usr-none",
            "--title",
            "Two <reps>",
        ],
    );
    let html = std::fs::read_to_string(reps).expect("the page");
    assert!(html.contains("<h1>Two &lt;reps&gt;</h1>"));
    assert!(html.contains("<title>Two &lt;reps&gt; · callfunnel</title>"));
    assert!(html.contains(r#"<p class="scope">Reps: Zoë Müller (usr-7b1x3d), usr-none</p>"#));
}

#[test]
fn report_csv_writes_every_table_as_metrics_prints_it() {
    let folder = temporary_folder();
    let tables = folder.path().join("tables");
    let (output, _) = run_report(
        folder.path(),
        &["--csv", tables.to_str().expect("a UTF-8 path")],
    );
    assert_status(&output, 0);
    assert!(String::from_utf8_lossy(&output.stderr).contains("wrote 5 tables as CSV to"));
    let mut written: Vec<String> = std::fs::read_dir(&tables)
        .expect("the folder")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    written.sort();
    // No items table without a drilldown; no temporary file left behind.
    assert_eq!(
        written,
        [
            "funnel.csv",
            "heatmap.csv",
            "leaderboard.csv",
            "series.csv",
            "time_spent.csv"
        ]
    );
    for name in ["funnel", "time_spent", "series", "heatmap", "leaderboard"] {
        let printed = command(&["metrics", "--input"])
            .arg(sample_path("calls.csv"))
            .arg("--request")
            .arg(sample_path("request.json"))
            .args(["--format", "csv", "--table", name])
            .output()
            .expect("running callfunnel");
        assert_status(&printed, 0);
        let file = std::fs::read(tables.join(format!("{name}.csv"))).expect("the table");
        assert_eq!(file, printed.stdout, "{name}");
    }
}

#[test]
fn report_csv_writes_the_drilldown_page_when_the_request_has_one() {
    let folder = temporary_folder();
    let tables = folder.path().join("tables");
    let output = command(&["report", "--input"])
        .arg(sample_path("calls.csv"))
        .arg("--request")
        .arg(sample_path("request_drilldown.json"))
        .arg("--out")
        .arg(folder.path().join("report.html"))
        .arg("--csv")
        .arg(&tables)
        .output()
        .expect("running callfunnel");
    assert_status(&output, 0);
    let items = std::fs::read_to_string(tables.join("items.csv")).expect("the items");
    assert_eq!(items.lines().count(), 1 + 10, "page 1 of 10 calls");
    assert!(items.starts_with("Date (Europe/Paris),Call,Stage,Result,"));
    assert!(items.contains("\n2024-03-17 23:45:00,cll-zl7tz2yf4w,CONVERSION,ANSWERED,95,"));
}

#[test]
fn calls_kept_come_down_to_the_dials_however_the_input_was_read() {
    // The sample read twice: every call is a duplicate of itself, and with
    // two files no call is left out early; the steps are the same.
    let folder = temporary_folder();
    let page = folder.path().join("report.html");
    let output = command(&["report", "--input"])
        .arg(sample_path("calls.csv"))
        .arg("--input")
        .arg(sample_path("calls.csv"))
        .arg("--request")
        .arg(sample_path("request.json"))
        .arg("--out")
        .arg(&page)
        .output()
        .expect("running callfunnel");
    assert_status(&output, 0);
    let html = std::fs::read_to_string(page).expect("the page");
    let input = section(&html, "input");
    for row in [
        "<dt>Rows read</dt><dd>6,126</dd>",
        "<dt>Duplicate ids collapsed</dt><dd>3,066</dd>",
        r#"<tr><td>Calls kept</td><td class="num">3,060</td>"#,
        r#"<tr><td>Outside the period</td><td class="num">− 2,033</td>"#,
        r#"<tr><td>Inbound or SMS</td><td class="num">− 97</td>"#,
        r#"<tr><td>Dials</td><td class="num">= 930</td>"#,
    ] {
        assert!(input.contains(row), "{row} in {input}");
    }
}
