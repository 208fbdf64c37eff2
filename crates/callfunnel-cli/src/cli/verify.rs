//! `callfunnel verify`: recompute an API answer from the calls and list every difference.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use callfunnel::verify::{verify, VerifyError};
use callfunnel::Request;
use clap::{Args, ValueEnum};

use super::{read_bounded, read_request_text, reject_request, write_stdout, Failure, InputArgs};

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
    #[arg(long, value_name = "API_RESPONSE.json")]
    response: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: VerifyFormat,
}

/// Runs `verify`: exit 0 when every figure agrees, 1 otherwise.
pub fn run(args: VerifyArgs) -> Result<ExitCode, Failure> {
    let request = match Request::from_json_str(&read_request_text(&args.request)?) {
        Ok(request) => request,
        Err(api_error) => return Ok(reject_request(&api_error)),
    };
    let answer: serde_json::Value = std::fs::File::open(&args.response)
        .map_err(anyhow::Error::new)
        .and_then(|file| read_bounded(file, "the API response", MAX_RESPONSE_BYTES))
        .with_context(|| format!("reading the API response {}", args.response.display()))
        .and_then(|text| {
            serde_json::from_str(&text).with_context(|| {
                format!("{}: the API response is not JSON", args.response.display())
            })
        })
        .map_err(Failure::input)?;
    let loaded = args.input.load(&request.tags)?;
    let report = verify(loaded.frame, &request, &answer).map_err(|error| {
        let failure = match error {
            VerifyError::NotAResponse(_) => Failure::input,
            VerifyError::Engine(_) | VerifyError::Polars(_) => Failure::internal,
        };
        failure(anyhow::Error::new(error).context(args.response.display().to_string()))
    })?;
    let text = match args.format {
        VerifyFormat::Table => crate::display::printable_lines(&report.render_table()),
        VerifyFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&report.to_json()).expect("reports serialize")
        ),
    };
    super::say(report.summary());
    write_stdout(&text)?;
    Ok(if report.agrees() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_DIFFERENCES)
    })
}
