//! `callfunnel metrics`: the response as JSON (the API's), as text tables,
//! or one of its tables as CSV; with `--all-pages`, every call of the
//! drilldown's stage.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use callfunnel::engine::{compute_asked, drilldown_rows, DrilldownRows, Pages};
use callfunnel::request::Stage;
use callfunnel::response::{Response, TimeSeries};
use callfunnel::{Request, Rounding};
use clap::{Args, ValueEnum};
use polars::prelude::LazyFrame;

use super::{
    read_request, reject_request, stdout_wants_color, stream_stdout, table_failure, write_stdout,
    Failure, InputArgs, RequestArgs,
};
use crate::csv_tables::{write_items, TableName, Tables};
use crate::messages::{say, warn};
use crate::table::TableInput;

/// Arguments of `metrics`.
#[derive(Debug, Args)]
pub struct MetricsArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    request: RequestArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Output options of `metrics`.
#[derive(Debug, Args)]
struct OutputArgs {
    /// Print the exact values, without the API's rounding.
    #[arg(long)]
    exact: bool,
    /// Print the JSON on one line.
    #[arg(long)]
    compact: bool,
    /// Output format, e.g. `--format table`, or `--format csv --table funnel`.
    #[arg(long, value_enum, ignore_case = true, default_value = "json")]
    format: MetricsFormat,
    /// The table `--format csv` writes (items: the drilldown, with each call's result and tags).
    #[arg(long, value_enum, ignore_case = true, value_name = "NAME")]
    table: Option<TableName>,
    /// Every call of the drilldown's stage instead of one page, in one pass: JSON
    /// prints one item per line (NDJSON, each an `items.data` element), the table
    /// and `--table items` list them all.
    #[arg(long, conflicts_with = "page")]
    all_pages: bool,
}

/// What `metrics` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MetricsFormat {
    /// The API's response, as JSON.
    Json,
    /// Text tables for people; arrows and colours when stdout is a terminal (unless NO_COLOR is set).
    Table,
    /// One table as CSV, named by --table; dates in the request's zone, fractions with four decimals.
    Csv,
}

/// What to print, once the flags are checked against the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    /// The response as JSON.
    Json { compact: bool },
    /// Every call of the stage as JSON, one item per line.
    AllItemsJson(Stage),
    /// Text tables, with every call of the stage when given.
    Table { all_calls: Option<Stage> },
    /// The drilldown as CSV: one page, or every call of the stage.
    ItemsCsv(Pages),
    /// Another table of the response as CSV.
    Csv(TableName),
}

impl OutputArgs {
    fn rounding(&self) -> Rounding {
        if self.exact {
            Rounding::Exact
        } else {
            Rounding::Api
        }
    }

    /// What to print for `request`; flags that do not go together are a
    /// usage error (exit status 2).
    fn output(&self, request: &Request) -> Result<Output, Failure> {
        let usage = |message: String| Err(Failure::usage(anyhow::anyhow!(message)));
        let tables = || TableName::ALL.map(TableName::name).join(", ");
        let drilldown = |what: &str| {
            request.items.ok_or_else(|| {
                Failure::usage(anyhow::anyhow!(
                    "{what} lists the drilldown's calls: the request needs extend=items and a stage (--extend items --stage STAGE)"
                ))
            })
        };
        let all_of = |what: &str| -> Result<Option<Stage>, Failure> {
            if self.all_pages {
                Ok(Some(drilldown(what)?.stage))
            } else {
                Ok(None)
            }
        };
        match (self.format, self.table) {
            (MetricsFormat::Csv, None) => usage(format!(
                "--format csv writes one table: add --table NAME ({})",
                tables()
            )),
            (MetricsFormat::Json | MetricsFormat::Table, Some(name)) => usage(format!(
                "--table {} goes with --format csv",
                name.name()
            )),
            (MetricsFormat::Json, None) => Ok(match all_of("--all-pages")? {
                Some(stage) => Output::AllItemsJson(stage),
                None => Output::Json {
                    compact: self.compact,
                },
            }),
            (MetricsFormat::Table, None) => Ok(Output::Table {
                all_calls: all_of("--all-pages")?,
            }),
            (MetricsFormat::Csv, Some(TableName::Items)) => {
                let items = drilldown("--table items")?;
                Ok(Output::ItemsCsv(if self.all_pages {
                    Pages::All(items.stage)
                } else {
                    Pages::One(items)
                }))
            }
            (MetricsFormat::Csv, Some(name)) if self.all_pages => usage(format!(
                "--all-pages lists the drilldown's calls: it goes with --table items, not --table {}",
                name.name()
            )),
            (MetricsFormat::Csv, Some(name)) => Ok(Output::Csv(name)),
        }
    }
}

/// Computes what the flags ask for and prints it on stdout.
pub fn run(args: MetricsArgs) -> Result<ExitCode, Failure> {
    args.input
        .refuse_stdin_shared(args.request.request.as_deref())?;
    let request = match read_request(&args.request)? {
        Ok(request) => request,
        Err(api_error) => return Ok(reject_request(&api_error)),
    };
    let output = args.output.output(&request)?;
    let started = Instant::now();
    let loaded = args.input.load_for(&request)?;
    let loaded_at = started.elapsed();
    let computed = compute(output, loaded.frame, &request, args.output.rounding())?;
    let computed_at = started.elapsed();
    let code = computed.print(&request);
    if std::env::var_os(TIMINGS_VARIABLE).is_some() {
        say(format!(
            "timings: ingest {:.3} s, engine {:.3} s, output {:.3} s",
            loaded_at.as_secs_f64(),
            (computed_at - loaded_at).as_secs_f64(),
            (started.elapsed() - computed_at).as_secs_f64()
        ));
    }
    code
}

/// Says on stderr, one line each, what `check` would warn about among the
/// figures of `request` (e.g. talk-time outliers carrying over 10 % of the
/// period's talk time), in a pass of their own: for the outputs that
/// compute no response, which computes them beside it.
fn warn_of_moved_figures(calls: LazyFrame, request: &Request) -> Result<(), Failure> {
    let warnings =
        crate::check_table::figure_warnings(calls, request).map_err(Failure::internal)?;
    warnings.into_iter().for_each(warn);
    Ok(())
}

/// The response, and the comparison period's time series when
/// `previous_series`; says on stderr, as [`warn_of_moved_figures`], what
/// `check` would warn about among its figures, computed in the same pass.
fn respond(
    calls: LazyFrame,
    request: &Request,
    rounding: Rounding,
    previous_series: bool,
) -> Result<(Response, Option<TimeSeries>), Failure> {
    let asked = crate::check_table::asked_with_outliers(previous_series);
    let computed = compute_asked(calls, request, rounding, asked).map_err(Failure::internal)?;
    if let Some(outliers) = &computed.talk_outliers {
        crate::check_table::outliers_warnings(outliers, request)
            .into_iter()
            .for_each(warn);
    }
    Ok((computed.response, computed.previous_series))
}

/// Set (to anything) to print how long each phase of `metrics` took.
const TIMINGS_VARIABLE: &str = "CALLFUNNEL_TIMINGS";

/// What `metrics` prints, computed.
enum Computed {
    /// Text, whole.
    Text(String),
    /// Drilldown calls as JSON, one item per line, written as they are read.
    ItemsJson(DrilldownRows),
    /// Drilldown calls as CSV, written as they are read.
    ItemsCsv(DrilldownRows),
}

/// Computes `output` from the calls.
fn compute(
    output: Output,
    calls: LazyFrame,
    request: &Request,
    rounding: Rounding,
) -> Result<Computed, Failure> {
    let rows = |pages| drilldown_rows(calls.clone(), request, pages).map_err(Failure::internal);
    let response = || Ok(respond(calls.clone(), request, rounding, false)?.0);
    let rows_alone = |pages| {
        warn_of_moved_figures(calls.clone(), request)?;
        rows(pages)
    };
    Ok(match output {
        Output::Json { compact: true } => Computed::Text(
            serde_json::to_string(&response()?)
                .context("serializing the response")
                .map_err(Failure::internal)?
                + "\n",
        ),
        Output::Json { compact: false } => Computed::Text(response()?.to_json_pretty()),
        Output::AllItemsJson(stage) => Computed::ItemsJson(rows_alone(Pages::All(stage))?),
        Output::Table { all_calls } => {
            let all_calls = match all_calls {
                Some(stage) => Some(
                    rows(Pages::All(stage))?
                        .iter()
                        .map_err(Failure::internal)?
                        .map(|row| row.item)
                        .collect::<Vec<_>>(),
                ),
                None => None,
            };
            let response = response()?;
            let input = TableInput {
                response: &response,
                request,
                rounding,
                all_calls: all_calls.as_deref(),
            };
            Computed::Text(crate::table::render(&input, stdout_wants_color()))
        }
        Output::ItemsCsv(pages) => Computed::ItemsCsv(rows_alone(pages)?),
        Output::Csv(name) => {
            let (response, previous) = respond(calls.clone(), request, rounding, true)?;
            let tables = Tables {
                response: &response,
                request,
                rounding,
                previous: previous.as_ref(),
                calls: None,
            };
            let mut bytes = Vec::new();
            tables.write(name, &mut bytes).map_err(table_failure)?;
            Computed::Text(
                String::from_utf8(bytes)
                    .context("a CSV table")
                    .map_err(Failure::internal)?,
            )
        }
    })
}

impl Computed {
    /// Writes it on stdout.
    fn print(self, request: &Request) -> Result<ExitCode, Failure> {
        match self {
            Computed::Text(text) => write_stdout(&text),
            Computed::ItemsJson(calls) => write_ndjson(&calls),
            Computed::ItemsCsv(calls) => {
                let rows = calls.iter().map_err(Failure::internal)?;
                stream_stdout(|out| Ok(write_items(rows, request, out)?))
            }
        }
    }
}

/// Every call of `calls` as its drilldown item, one JSON object per line.
fn write_ndjson(calls: &DrilldownRows) -> Result<ExitCode, Failure> {
    let rows = calls.iter().map_err(Failure::internal)?;
    stream_stdout(|out| {
        for row in rows {
            serde_json::to_writer(&mut *out, &row.item)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    })
}
