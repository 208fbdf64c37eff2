//! `callfunnel verify`: recompute an API answer from the calls and list every difference.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use callfunnel::verify::{verify, VerifyError};
use callfunnel::Request;
use clap::{Args, ValueEnum};
use serde_json::Value;

use super::pull::{api_failure, ApiArgs};
use super::{
    read_bounded, read_request_text, refuse_overwriting_inputs, reject_request, write_stdout,
    Failure, InputArgs,
};
use crate::messages::say;

/// Largest saved API response read, in bytes (64 MiB; a response with a
/// drilldown page of 100 items is about 100 KiB).
const MAX_RESPONSE_BYTES: u64 = 64 << 20;

/// Exit status when some figure differs.
const EXIT_DIFFERENCES: u8 = 1;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum VerifyFormat {
    /// A readable table of every difference and a summary line.
    Table,
    /// The report as JSON.
    Json,
}

/// Arguments of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    input: InputArgs,
    /// The request the API answered, as JSON (`-` reads standard input).
    #[arg(long, value_name = "REQUEST.json")]
    request: String,
    /// The API's answer, as saved JSON (`{"data": {...}}`).
    #[arg(
        long,
        value_name = "API_RESPONSE.json",
        required_unless_present = "live"
    )]
    response: Option<PathBuf>,
    /// Ask the API itself (`POST /v2/api/analytics/outbound`, the key from
    /// $ALLO_API_KEY) for its answer to the request, save it, and verify it.
    #[arg(long, conflicts_with = "response")]
    live: bool,
    /// With --live: where to save the API's answer, for the record
    /// (default: beside the request, `REQUEST.answer.json`).
    #[arg(long, value_name = "FILE", requires = "live")]
    save_answer: Option<PathBuf>,
    #[command(flatten)]
    api: ApiArgs,
    /// Output format.
    #[arg(long, value_enum, ignore_case = true, default_value = "table")]
    format: VerifyFormat,
}

/// Runs `verify`: exit 0 when every figure agrees, 1 otherwise.
pub fn run(args: VerifyArgs) -> Result<ExitCode, Failure> {
    args.input.refuse_stdin_shared(Some(&args.request))?;
    let request_text = read_request_text(&args.request)?;
    let request = match Request::from_json_str(&request_text) {
        Ok(request) => request,
        Err(api_error) => return Ok(reject_request(&api_error)),
    };
    let (answer, answer_path) = match &args.response {
        Some(path) => (read_answer(path)?, path.clone()),
        None => fetch_answer(&args, &request_text)?,
    };
    // Every reading recomputes the request's own periods (UTC days
    // included): the calls outside its window need not be kept.
    let loaded = args.input.load_for(&request)?;
    let report = verify(loaded.frame, &request, &answer).map_err(|error| {
        let failure = match error {
            VerifyError::NotAResponse(_) => Failure::input,
            VerifyError::Engine(_) | VerifyError::Polars(_) => Failure::internal,
        };
        failure(anyhow::Error::new(error).context(answer_path.display().to_string()))
    })?;
    let text = match args.format {
        VerifyFormat::Table => crate::display::printable_lines(&report.render_table()),
        VerifyFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&report.to_json()).expect("reports serialize")
        ),
    };
    say(report.summary());
    write_stdout(&text)?;
    Ok(if report.agrees() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_DIFFERENCES)
    })
}

/// The saved answer of the API (at most [`MAX_RESPONSE_BYTES`]).
fn read_answer(path: &Path) -> Result<Value, Failure> {
    std::fs::File::open(path)
        .map_err(anyhow::Error::new)
        .and_then(|file| read_bounded(file, "the API response", MAX_RESPONSE_BYTES))
        .with_context(|| format!("reading the API response {}", path.display()))
        .and_then(|text| {
            serde_json::from_str(&text)
                .with_context(|| format!("{}: the API response is not JSON", path.display()))
        })
        .map_err(Failure::input)
}

/// The API's own answer to the request, saved (atomically) for the record;
/// a save path that names an input is refused before the API is asked.
fn fetch_answer(args: &VerifyArgs, request_text: &str) -> Result<(Value, PathBuf), Failure> {
    let body: Value = serde_json::from_str(request_text)
        .context("the request is not JSON")
        .map_err(Failure::usage)?;
    let path = args.save_answer.clone().unwrap_or_else(|| {
        let request = Path::new(if args.request == "-" {
            "request.json"
        } else {
            &args.request
        });
        request.with_extension("answer.json")
    });
    let request_file = (args.request != "-").then_some(args.request.as_str());
    refuse_overwriting_inputs("--save-answer", &path, &args.input.input, request_file)?;
    let mut client = args.api.client()?;
    let answer = client.post(OUTBOUND_PATH, &body).map_err(api_failure)?;
    let text = format!(
        "{}\n",
        serde_json::to_string_pretty(&answer).unwrap_or_default()
    );
    callfunnel::scratch::write_replacing(
        &path,
        |error| anyhow::Error::new(error).context(format!("writing {}", path.display())),
        |writer| {
            writer
                .write_all(text.as_bytes())
                .map_err(anyhow::Error::new)
        },
    )
    .map_err(Failure::output)?;
    say(format!("saved the API's answer to {}", path.display()));
    Ok((answer, path))
}

/// The outbound metrics route.
const OUTBOUND_PATH: &str = "/v2/api/analytics/outbound";
