//! `callfunnel check`: the data-quality findings of the inputs (SPEC §8.6),
//! as text tables or JSON; exit 0 with findings, 1 with `--strict` when
//! any is an error or a warning.

use std::process::ExitCode;

use anyhow::Context;
use callfunnel::check::{check, CheckOptions, DEFAULT_MAX_TALK_SECONDS};
use callfunnel::ingest::{IngestOptions, SkipCeiling};
use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};

use super::{stdout_wants_color, write_stdout, Failure, InputArgs};

/// Arguments of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Talk time over which a call is likely wrong: seconds, or a number with
    /// `s`, `min` or `h`, e.g. `--max-talk 2h` (default 4 h).
    #[arg(long, value_name = "DURATION", value_parser = parse_talk_time)]
    max_talk: Option<i64>,
    /// Output format.
    #[arg(long, value_enum, ignore_case = true, default_value = "table")]
    format: CheckFormat,
    /// Exit 1 when any finding is an error or a warning (for pipelines that guard their exports).
    #[arg(long)]
    strict: bool,
    /// The moment of the check, RFC 3339 (default: now): calls dated after it are reported.
    #[arg(long, value_name = "INSTANT", value_parser = parse_instant)]
    now: Option<DateTime<Utc>>,
}

/// What `check` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CheckFormat {
    /// Text tables for people.
    Table,
    /// `{"rows_read", "calls", "findings": [{"code", "severity", "count", "examples", "explanation"}…], "results", "tags"}`.
    Json,
}

/// Reads the inputs (every unreadable row skipped and counted, however
/// many: listing them is the check's job), checks them and prints the
/// findings.
pub fn run(args: CheckArgs) -> Result<ExitCode, Failure> {
    let options = IngestOptions {
        skip_invalid: true,
        max_invalid: SkipCeiling::Rows(u64::MAX),
        ..args.input.options(IngestOptions::default())
    };
    let loaded = args.input.load_with(options)?;
    let check_options = CheckOptions {
        max_talk_seconds: args.max_talk.unwrap_or(DEFAULT_MAX_TALK_SECONDS),
        now: args.now.unwrap_or_else(Utc::now),
        input_tz: args.input.input_tz,
    };
    let findings =
        check(loaded.frame, &loaded.report, &check_options).map_err(Failure::internal)?;
    let text = match args.format {
        CheckFormat::Table => crate::check_table::render(&findings, stdout_wants_color()),
        CheckFormat::Json => {
            serde_json::to_string_pretty(&findings)
                .context("serializing the findings")
                .map_err(Failure::internal)?
                + "\n"
        }
    };
    let written = write_stdout(&text)?;
    if args.strict && findings.has_error_or_warning() {
        return Ok(ExitCode::FAILURE);
    }
    Ok(written)
}

/// A talk time in whole seconds: a number of seconds, or a number with
/// `s`, `min` or `h`.
fn parse_talk_time(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let split = text
        .find(|character: char| !character.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let seconds_per_unit = match unit.trim() {
        "" | "s" => 1,
        "min" => 60,
        "h" => 3600,
        _ => {
            return Err(format!(
                "`{text}` is not a talk time (e.g. 14400, 90min or 4h)"
            ))
        }
    };
    number
        .parse::<i64>()
        .ok()
        .and_then(|number| number.checked_mul(seconds_per_unit))
        .ok_or_else(|| format!("`{text}` is not a talk time (e.g. 14400, 90min or 4h)"))
}

/// An RFC 3339 instant.
fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|instant| instant.with_timezone(&Utc))
        .map_err(|_| format!("`{text}` is not an RFC 3339 instant (e.g. 2026-03-31T12:00:00Z)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn talk_times_in_seconds_minutes_or_hours() {
        assert_eq!(parse_talk_time("14400"), Ok(14_400));
        assert_eq!(parse_talk_time("90min"), Ok(5_400));
        assert_eq!(parse_talk_time("4h"), Ok(14_400));
        assert_eq!(parse_talk_time("30 s"), Ok(30));
        assert!(parse_talk_time("4 days").is_err());
        assert!(parse_talk_time("h").is_err());
        assert!(parse_talk_time("-5").is_err());
    }
}
