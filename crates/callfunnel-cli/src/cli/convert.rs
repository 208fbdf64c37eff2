//! `callfunnel convert`: calls read through ingest, written as the canonical
//! Parquet store (see `callfunnel::convert`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::anyhow;
use callfunnel::convert::{write_parquet, ConvertError};
use callfunnel::ingest::Format;
use clap::Args;

use super::{Failure, InputArgs};

/// Options of `convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    #[command(flatten)]
    input: InputArgs,
    /// The Parquet file to write (replaced when complete, if it exists).
    #[arg(long, value_name = "FILE.parquet")]
    out: PathBuf,
}

/// Reads the inputs and writes the store; prints a summary on stderr.
pub fn run(args: ConvertArgs) -> Result<ExitCode, Failure> {
    if !matches!(Format::from_path(&args.out), Ok(Format::Parquet)) {
        return Err(Failure::usage(anyhow!(
            "--out {}: the canonical store is Parquet; give a path ending in .parquet",
            args.out.display()
        )));
    }
    let started = Instant::now();
    let loaded = args.input.load(&[])?;
    let spinner = args.input.spinner("writing the store");
    let rows = write_parquet(loaded.frame, &args.out).map_err(store_failure);
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let rows = rows?;
    if !args.input.quiet {
        super::say(format!(
            "wrote {rows} calls to {} in {:.2} s",
            args.out.display(),
            started.elapsed().as_secs_f64()
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// The exit status of a failed store write: the calls could not be prepared
/// (status 3, they come from the input) or the file could not be written (4).
fn store_failure(error: ConvertError) -> Failure {
    match error {
        ConvertError::Frame(_) | ConvertError::NotCanonical(_) => Failure::input(error),
        ConvertError::Parquet { .. } | ConvertError::Io { .. } => Failure::output(error),
    }
}
