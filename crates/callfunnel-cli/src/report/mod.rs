//! The report for people: one self-contained HTML page (`callfunnel report`).
//!
//! Pure functions from a [`Response`], the [`Request`] it answers, the time
//! series of the comparison period, the [`IngestReport`] and the
//! [`PeriodCensus`] to text: the page ([`render_html`]) and its charts as
//! standalone SVG ([`charts`]), which [`png`] renders to PNG. The page needs
//! no network and runs no script: its charts are inline SVG, its hover texts
//! SVG `<title>`s, and its content security policy forbids loading anything.
//!
//! The response holds the time series of the current period only (SPEC §4);
//! the comparison period's series comes from the same pass of the engine
//! ([`callfunnel::engine::compute_with_previous_series`]).

mod analysis;
mod escape;
mod glossary;
mod html;
pub mod png;
pub mod svg;

pub use escape::escape;
pub use html::render_html;

use callfunnel::engine::PeriodCensus;
use callfunnel::ingest::IngestReport;
use callfunnel::request::{Granularity, Request};
use callfunnel::response::{Response, TimeSeries, TimeSeriesPoint};
use callfunnel::Rounding;
use svg::{LineChart, Scale, Series};

/// Everything the report shows.
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    /// The request the response answers.
    pub request: &'a Request,
    /// The metrics.
    pub response: &'a Response,
    /// How the response was rounded: changes print at the precision they hold.
    pub rounding: Rounding,
    /// The time series of the comparison period (`compare_date`, bucketed
    /// as the current one), charted against the current one; `None` charts
    /// the current period alone.
    pub previous: Option<&'a TimeSeries>,
    /// What was read to compute them.
    pub ingest: &'a IngestReport,
    /// How the calls dated in the period come down to its dials.
    pub census: PeriodCensus,
    /// The reps or numbers the request keeps, each with its name or label
    /// when a call gives one (see [`callfunnel::engine::filter_names`]).
    pub filter_names: &'a [(String, Option<String>)],
    /// The page's heading, instead of the one made from the period.
    pub title: Option<&'a str>,
    /// What `check` would warn about among the figures shown, one line
    /// each: a box at the top of the page.
    pub warnings: &'a [String],
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
/// series, the heatmap of dials and that of the connect rate.
pub fn charts(input: &ReportInput) -> Vec<Chart> {
    let data = &input.response.data;
    let previous = input.previous;
    let counts = |series: &'static str,
                  title: &'static str,
                  pick: fn(&TimeSeries) -> &Vec<TimeSeriesPoint<u64>>| {
        let values = |of: &TimeSeries| -> Vec<Option<f64>> {
            pick(of)
                .iter()
                .map(|point| Some(point.value as f64))
                .collect()
        };
        Chart {
            name: series,
            svg: svg::line_chart(&LineChart {
                title,
                scale: Scale::Count,
                current: series_of(input, false, &data.time_series, values(&data.time_series)),
                previous: previous.map(|series| series_of(input, true, series, values(series))),
            }),
        }
    };
    vec![
        Chart {
            name: "funnel",
            svg: svg::funnel(&data.funnel, input.rounding),
        },
        counts("dials", "Dials", |series| &series.dials),
        counts("connected", "Connected", |series| &series.connected),
        Chart {
            name: "connection_rate",
            svg: svg::line_chart(&LineChart {
                title: "Connection rate",
                scale: Scale::Rate,
                current: series_of(
                    input,
                    false,
                    &data.time_series,
                    bucket_rates(&data.time_series),
                ),
                previous: previous
                    .map(|series| series_of(input, true, series, bucket_rates(series))),
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
        Chart {
            name: "when_to_call",
            svg: svg::connect_rate_heatmap(
                &data.heatmap.dials,
                &data.heatmap.connected,
                input.rounding,
            ),
        },
    ]
}

/// The connection rate of each bucket of `series`, `None` for a bucket
/// without dials: a gap in the chart, where the API's 0 would draw a fall to
/// 0 % (every weekend, for a team that does not call then).
fn bucket_rates(series: &TimeSeries) -> Vec<Option<f64>> {
    series
        .connection_rate
        .iter()
        .zip(&series.dials)
        .map(|(rate, dials)| (dials.value > 0).then_some(rate.value))
        .collect()
}

/// A chart series: the buckets of `series` (its dates) with `values`, its
/// legend naming its period.
fn series_of<'a>(
    input: &ReportInput,
    previous: bool,
    series: &'a TimeSeries,
    values: Vec<Option<f64>>,
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
        points: series
            .dials
            .iter()
            .map(|point| point.date.as_str())
            .zip(values)
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
