//! The report for people: one self-contained HTML page (`callfunnel report`).
//!
//! Pure functions from a [`Response`], the [`Request`] it answers, the time
//! series of the comparison period and the [`IngestReport`] to text: the page
//! ([`render_html`]) and its charts as standalone SVG ([`charts`]), which
//! [`png`] renders to PNG. The page needs no network and runs no script: its
//! charts are inline SVG, its hover texts SVG `<title>`s, and its content
//! security policy forbids loading anything.
//!
//! The response holds the time series of the current period only (SPEC §4);
//! the comparison period's series comes from the same pass of the engine
//! ([`callfunnel::engine::compute_with_previous_series`]).

mod escape;
mod html;
pub mod png;
pub mod svg;

pub use escape::escape;
pub use html::render_html;

use callfunnel::ingest::IngestReport;
use callfunnel::request::{Granularity, Request};
use callfunnel::response::{Response, TimeSeries, TimeSeriesPoint};
use svg::{LineChart, Scale, Series};

/// Everything the report shows.
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    /// The request the response answers.
    pub request: &'a Request,
    /// The metrics.
    pub response: &'a Response,
    /// The time series of the comparison period (`compare_date`, bucketed
    /// as the current one), charted against the current one; `None` charts
    /// the current period alone.
    pub previous: Option<&'a TimeSeries>,
    /// What was read to compute them.
    pub ingest: &'a IngestReport,
}

/// A chart of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    /// A file name stem, e.g. `heatmap`.
    pub name: &'static str,
    /// The chart as a standalone SVG document.
    pub svg: String,
}

/// Every chart of the report, in page order: the funnel, the four time
/// series, the heatmap.
pub fn charts(input: &ReportInput) -> Vec<Chart> {
    let data = &input.response.data;
    let previous = input.previous;
    let counts = |series: &'static str,
                  title: &'static str,
                  pick: fn(&TimeSeries) -> &Vec<TimeSeriesPoint<u64>>| {
        Chart {
            name: series,
            svg: svg::line_chart(&LineChart {
                title,
                scale: Scale::Count,
                current: series_of(input, false, pick(&data.time_series), |v| *v as f64),
                previous: previous
                    .map(|series| series_of(input, true, pick(series), |v| *v as f64)),
            }),
        }
    };
    vec![
        Chart {
            name: "funnel",
            svg: svg::funnel(&data.funnel),
        },
        counts("dials", "Dials", |series| &series.dials),
        counts("connected", "Connected", |series| &series.connected),
        Chart {
            name: "connection_rate",
            svg: svg::line_chart(&LineChart {
                title: "Connection rate",
                scale: Scale::Rate,
                current: series_of(input, false, &data.time_series.connection_rate, |v| *v),
                previous: previous
                    .map(|series| series_of(input, true, &series.connection_rate, |v| *v)),
            }),
        },
        counts("conversions", "Conversions", |series| &series.conversions),
        Chart {
            name: "heatmap",
            svg: svg::heatmap(
                &data.heatmap.dials,
                &data.heatmap.connected,
                &data.heatmap.connection_rate,
            ),
        },
    ]
}

/// A chart series from time-series points, its legend naming its period.
fn series_of<'a, T>(
    input: &ReportInput,
    previous: bool,
    points: &'a [TimeSeriesPoint<T>],
    value: fn(&T) -> f64,
) -> Series<'a> {
    let data = &input.response.data;
    let (name, range) = if previous {
        ("Previous", data.compare_date)
    } else {
        ("Current", Some(data.date))
    };
    let dates = range.map_or_else(String::new, |range| {
        format!(" {} – {}", range.from, range.to)
    });
    Series {
        legend: format!("{name}{dates}"),
        points: points
            .iter()
            .map(|point| (point.date.as_str(), value(&point.value)))
            .collect(),
    }
}

/// How buckets are named in the page, e.g. `day`.
fn bucket_name(granularity: Granularity) -> &'static str {
    match granularity {
        Granularity::Day => "day",
        Granularity::Week => "week (from its Monday)",
        Granularity::Month => "month",
    }
}
