//! `callfunnel report`: the metrics as one self-contained HTML page, and
//! optionally its charts as PNG files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::csv_tables::{TableName, Tables};
use crate::report::png::PngRenderer;
use crate::report::{charts, render_html, Chart, ReportInput};
use anyhow::Context;
use callfunnel::analysis::{BreakdownRequest, GroupBy, GroupSort, DEFAULT_GROUP_SIZE};
use callfunnel::engine::{compute_asked, drilldown_rows, filter_names, period_census, Pages};
use callfunnel::scratch::write_replacing;
use callfunnel::{Request, Rounding};
use clap::Args;
use std::io::Write;

use super::{
    read_request, refuse_overwriting_inputs, reject_request, table_failure, Failure, InputArgs,
    RequestArgs,
};
use crate::messages::{say, warn};

/// Arguments of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    request: RequestArgs,
    /// The HTML file to write (self-contained: no network, no script).
    #[arg(long, value_name = "FILE.html")]
    out: PathBuf,
    /// Also write each chart as a PNG file into this folder (created when missing).
    #[arg(long, value_name = "DIR")]
    png: Option<PathBuf>,
    /// Also write every table as a CSV file into this folder (created when missing):
    /// funnel.csv, time_spent.csv, series.csv, heatmap.csv, leaderboard.csv, items.csv
    /// when the request has a drilldown, and breakdown.csv, connect_rules.csv and
    /// reach.csv when it asks for them.
    #[arg(long, value_name = "DIR")]
    csv: Option<PathBuf>,
    /// The page's heading (default: the period, and the rep or number the request keeps).
    #[arg(long, value_name = "TEXT")]
    title: Option<String>,
    /// Show the exact values, without the API's rounding (changes to a tenth of a percent).
    #[arg(long)]
    exact: bool,
}

/// Computes the metrics of both periods and writes the page (and the PNGs).
pub fn run(args: ReportArgs) -> Result<ExitCode, Failure> {
    args.input
        .refuse_stdin_shared(args.request.request.as_deref())?;
    let request = match read_request(&args.request)? {
        Ok(request) => request,
        Err(api_error) => return Ok(reject_request(&api_error)),
    };
    let request_file = args.request.request.as_deref().filter(|path| *path != "-");
    refuse_overwriting_inputs("--out", &args.out, &args.input.input, request_file)?;
    if let Some(folder) = &args.csv {
        for name in TableName::of(&request) {
            let file = csv_file(folder, name);
            refuse_overwriting_inputs("--csv", &file, &args.input.input, request_file)?;
        }
    }
    let asked = request;
    let request = with_report_analysis(&asked);
    let loaded = args.input.load_for(&request)?;
    let rounding = if args.exact {
        Rounding::Exact
    } else {
        Rounding::Api
    };
    let calls = loaded.frame;
    let with_outliers = crate::check_table::asked_with_outliers(true);
    let computed = compute_asked(calls.clone(), &request, rounding, with_outliers)
        .map_err(Failure::internal)?;
    let (response, previous) = (computed.response, computed.previous_series);
    let census = period_census(calls.clone(), &request).map_err(Failure::internal)?;
    if census.in_period > loaded.report.calls
        || census.dials != response.data.funnel.dials.count.value
    {
        return Err(Failure::internal(anyhow::anyhow!(
            "the period's census ({census:?}) disagrees with the {} calls kept or the {} dials",
            loaded.report.calls,
            response.data.funnel.dials.count.value
        )));
    }
    let names = filter_names(calls.clone(), &request).map_err(Failure::internal)?;
    let warnings = computed
        .talk_outliers
        .map(|outliers| crate::check_table::outliers_warnings(&outliers, &request))
        .unwrap_or_default();
    for warning in &warnings {
        warn(warning);
    }
    let input = ReportInput {
        request: &request,
        response: &response,
        rounding,
        previous: previous.as_ref(),
        ingest: &loaded.report,
        census,
        filter_names: &names,
        title: args.title.as_deref(),
        warnings: &warnings,
    };
    write(&args.out, render_html(&input).as_bytes())?;
    say(format!("wrote {}", args.out.display()));
    if let Some(folder) = &args.png {
        write_pngs(folder, &charts(&input))?;
    }
    if let Some(folder) = &args.csv {
        let calls = match request.items {
            Some(items) => Some(
                drilldown_rows(calls, &request, Pages::One(items)).map_err(Failure::internal)?,
            ),
            None => None,
        };
        let tables = Tables {
            response: &response,
            request: &asked,
            rounding,
            previous: previous.as_ref(),
            calls: calls.as_ref(),
        };
        write_csvs(folder, &tables)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes every table of the request (see [`TableName::of`]) as
/// `FOLDER/NAME.csv`.
fn write_csvs(folder: &Path, tables: &Tables) -> Result<(), Failure> {
    create_folder(folder)?;
    let names = TableName::of(tables.request);
    for name in &names {
        let mut bytes = Vec::new();
        tables.write(*name, &mut bytes).map_err(table_failure)?;
        write(&csv_file(folder, *name), &bytes)?;
    }
    say(format!(
        "wrote {} tables as CSV to {}",
        names.len(),
        folder.display()
    ));
    Ok(())
}

/// The request the report computes: the one given, with the analysis a
/// manager reads in the page (SPEC §8): the breakdown per rep unless the
/// request asks for another or keeps some reps, the connect rules, contact
/// reach and the intervals of the rates. (Its CSV tables are the given
/// request's.)
fn with_report_analysis(asked: &Request) -> Request {
    let mut request = asked.clone();
    let analysis = &mut request.analysis;
    if analysis.breakdown.is_none() && asked.user_ids.is_empty() {
        analysis.breakdown = Some(BreakdownRequest {
            group_by: GroupBy::User,
            sort: GroupSort::Dials,
            page: 1,
            size: DEFAULT_GROUP_SIZE,
        });
    }
    analysis.connect_rules = true;
    analysis.reach = true;
    analysis.intervals = true;
    request
}

/// The file of table `name` in `folder`: `FOLDER/NAME.csv`.
fn csv_file(folder: &Path, name: TableName) -> PathBuf {
    folder.join(format!("{}.csv", name.name()))
}

/// Creates `folder` when missing; a failure is an output error.
fn create_folder(folder: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(folder)
        .with_context(|| format!("creating {}", folder.display()))
        .map_err(Failure::output)
}

/// Writes every chart as `FOLDER/NAME.png`.
fn write_pngs(folder: &Path, charts: &[Chart]) -> Result<(), Failure> {
    create_folder(folder)?;
    let renderer = PngRenderer::with_system_fonts();
    if !renderer.has_fonts() {
        warn("no font found; the PNG charts will have no text (install fonts-dejavu-core)");
    }
    for chart in charts {
        let path = folder.join(format!("{}.png", chart.name));
        let png = renderer
            .render(&chart.svg)
            .with_context(|| format!("rendering {}", path.display()))
            .map_err(Failure::internal)?;
        write(&path, &png)?;
    }
    say(format!(
        "wrote {} charts as PNG to {}",
        charts.len(),
        folder.display()
    ));
    Ok(())
}

/// Writes a file atomically (a temporary file in the same folder, renamed
/// once complete); a failure is an output error (exit status 4).
fn write(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let failed = |error: std::io::Error| {
        Failure::output(anyhow::Error::new(error).context(format!("writing {}", path.display())))
    };
    write_replacing(path, failed, |out| out.write_all(bytes).map_err(failed))
}
