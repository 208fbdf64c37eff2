//! `callfunnel convert`: calls read through ingest, written as the canonical
//! Parquet store (see `callfunnel::store`): one file, or a folder of month
//! files that `--append` adds new exports to.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::anyhow;
use callfunnel::ingest::Format;
use callfunnel::store::{folder, write_parquet, StoreLock, WriteError};
use clap::Args;

use super::{Failure, InputArgs};
use crate::messages::say;

/// Options of `convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    #[command(flatten)]
    input: InputArgs,
    /// The store to write: a file ending in `.parquet` (replaced when
    /// complete), or a folder, which gets one `YYYY-MM.parquet` file per month.
    #[arg(long, value_name = "FILE.parquet|FOLDER")]
    out: PathBuf,
    /// Add the inputs' calls to the store at `--out` instead of replacing it:
    /// a call whose id the store holds replaces it. A folder store rewrites
    /// only the months that change; a one-file store is rewritten whole.
    #[arg(long)]
    append: bool,
}

/// Reads the inputs and writes the store; prints a summary on stderr.
pub fn run(args: ConvertArgs) -> Result<ExitCode, Failure> {
    let started = Instant::now();
    let is_file = has_parquet_extension(&args.out);
    if !is_file && args.out.is_file() {
        return Err(Failure::usage(anyhow!(
            "--out {}: a store is a file ending in .parquet or a folder",
            args.out.display()
        )));
    }
    let lock = lock_store(&args.out)?;
    let summary = match (is_file, args.append) {
        (true, false) => write_file(&args, &args.input)?,
        (true, true) => append_to_file(&args)?,
        (false, false) => {
            let loaded = args.input.load()?;
            let rows = with_spinner(&args, || folder::write_folder(loaded.frame, &lock))?;
            format!("wrote {rows} calls to {}", args.out.display())
        }
        (false, true) => {
            let loaded = args.input.load()?;
            let added = with_spinner(&args, || folder::append(loaded.frame, &lock))?;
            format!(
                "added {} calls and replaced {} in {} ({} month files written, {} calls in all)",
                added.added,
                added.replaced,
                args.out.display(),
                added.months_written,
                added.calls
            )
        }
    };
    if !args.input.quiet {
        say(format!(
            "{summary} in {:.2} s",
            started.elapsed().as_secs_f64()
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// Takes the lock on the store at `store` for the whole run (an append
/// reads the store it rewrites), saying on stderr what a writer no longer
/// running had left and was put right. `pull` takes it too.
pub(super) fn lock_store(store: &Path) -> Result<StoreLock, Failure> {
    let lock = StoreLock::acquire(store).map_err(store_failure)?;
    for recovery in lock.recovered() {
        say(format!("{}: {recovery}", store.display()));
    }
    Ok(lock)
}

/// Whether `path` names a Parquet file.
fn has_parquet_extension(path: &Path) -> bool {
    matches!(Format::from_path(path), Ok(Format::Parquet))
}

/// Writes the calls of `input` to the one-file store at `--out`.
fn write_file(args: &ConvertArgs, input: &InputArgs) -> Result<String, Failure> {
    let loaded = input.load()?;
    let rows = with_spinner(args, || write_parquet(loaded.frame, &args.out))?;
    Ok(format!("wrote {rows} calls to {}", args.out.display()))
}

/// Rewrites the one-file store at `--out` with the inputs' calls added: the
/// store is read as the first input, so a later call of the same id wins.
fn append_to_file(args: &ConvertArgs) -> Result<String, Failure> {
    if !args.out.is_file() {
        return write_file(args, &args.input);
    }
    let mut input = args.input.clone();
    input.input.insert(0, args.out.clone());
    write_file(args, &input)
}

/// Runs `write` under the `writing the store` spinner.
fn with_spinner<T>(
    args: &ConvertArgs,
    write: impl FnOnce() -> Result<T, WriteError>,
) -> Result<T, Failure> {
    let spinner = args.input.spinner("writing the store");
    let written = write().map_err(store_failure);
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    written
}

/// The exit status of a failed store write: the calls could not be prepared
/// or a store appended to is damaged (status 3, they are read) or the store
/// could not be written (4).
fn store_failure(error: WriteError) -> Failure {
    match error {
        WriteError::Frame(_) | WriteError::NotCanonical(_) | WriteError::Damaged { .. } => {
            Failure::input(error)
        }
        WriteError::NotAStore { .. }
        | WriteError::Locked { .. }
        | WriteError::Parquet { .. }
        | WriteError::Io { .. } => Failure::output(error),
    }
}
