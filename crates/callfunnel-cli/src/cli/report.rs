//! `callfunnel report`: the metrics as one self-contained HTML page, and
//! optionally its charts as PNG files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::report::png::PngRenderer;
use crate::report::{charts, render_html, Chart, ReportInput};
use anyhow::Context;
use callfunnel::convert::write_replacing;
use callfunnel::engine::compute_with_previous_series;
use callfunnel::Rounding;
use clap::Args;
use std::io::Write;

use super::{
    read_request, refuse_overwriting_inputs, reject_request, Failure, InputArgs, RequestArgs,
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
}

/// Computes the metrics of both periods and writes the page (and the PNGs).
pub fn run(args: ReportArgs) -> Result<ExitCode, Failure> {
    let request = match read_request(&args.request)? {
        Ok(request) => request,
        Err(api_error) => return Ok(reject_request(&api_error)),
    };
    let request_file = args.request.request.as_deref().filter(|path| *path != "-");
    refuse_overwriting_inputs(&args.out, &args.input.input, request_file)?;
    let loaded = args.input.load_for(&request)?;
    let (response, previous) = compute_with_previous_series(loaded.frame, &request, Rounding::Api)
        .map_err(Failure::internal)?;
    let input = ReportInput {
        request: &request,
        response: &response,
        previous: previous.as_ref(),
        ingest: &loaded.report,
    };
    write(&args.out, render_html(&input).as_bytes())?;
    say(format!("wrote {}", args.out.display()));
    if let Some(folder) = &args.png {
        write_pngs(folder, &charts(&input))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes every chart as `FOLDER/NAME.png`.
fn write_pngs(folder: &Path, charts: &[Chart]) -> Result<(), Failure> {
    std::fs::create_dir_all(folder)
        .with_context(|| format!("creating {}", folder.display()))
        .map_err(Failure::output)?;
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
