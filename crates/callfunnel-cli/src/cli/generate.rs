//! `callfunnel generate`: realistic synthetic calls (see `callfunnel_cli::generate`).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::generate::{write_generated, GenerateError, GenerateOptions};
use chrono::NaiveDate;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::Failure;
use crate::messages::say;

/// Options of `generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of calls to write.
    #[arg(long, value_name = "N")]
    rows: u64,
    /// Seed of the random generator: the same arguments write the same bytes.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// First day of the calls (YYYY-MM-DD, in the reps' local time).
    #[arg(long, value_name = "DATE", default_value = "2024-01-01")]
    from: NaiveDate,
    /// Last day of the calls (YYYY-MM-DD, inclusive).
    #[arg(long, value_name = "DATE", default_value = "2024-12-31")]
    to: NaiveDate,
    /// Output file; its extension picks the format: .csv, .ndjson/.jsonl or .parquet.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// No progress bar and no summary line on standard error.
    #[arg(long)]
    quiet: bool,
}

/// Writes the calls; prints a progress bar (on a terminal) and a summary on stderr.
pub fn run(args: GenerateArgs) -> Result<ExitCode, Failure> {
    let options = GenerateOptions {
        rows: args.rows,
        seed: args.seed,
        from: args.from,
        to: args.to,
    };
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(args.rows);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} calls ({eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    });
    let started = Instant::now();
    let written = write_generated(&options, &args.out, &|rows| {
        if let Some(bar) = &bar {
            bar.set_position(rows);
        }
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let rows = written.map_err(|error| match error {
        GenerateError::DateRange { .. } | GenerateError::UnknownFormat { .. } => {
            Failure::usage(error)
        }
        _ => Failure::output(error),
    })?;
    if !args.quiet {
        say(format!(
            "wrote {rows} calls to {} in {:.2} s",
            args.out.display(),
            started.elapsed().as_secs_f64()
        ));
    }
    Ok(ExitCode::SUCCESS)
}
