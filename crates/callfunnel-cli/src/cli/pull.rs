//! `callfunnel pull`: the calls of a period from Allo's API into a store, and
//! the API arguments that `verify --live` shares.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::anyhow;
use callfunnel::ingest::{self, Format, IngestOptions};
use callfunnel::model::column;
use callfunnel::store::write_parquet;
use chrono::{DateTime, NaiveDate};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use polars::prelude::*;

use super::{Failure, EXIT_NETWORK, EXIT_OUTPUT, EXIT_USAGE};
use crate::messages::{say, warn};
use crate::pull::client::{
    ApiCallError, ApiClient, ClientOptions, Retries, DEFAULT_BASE_URL, DEFAULT_POSTS_PER_SECOND,
};
use crate::pull::{pull_pages, Period, PullError, PullIdentity, Pulled};

/// How to reach the API.
#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    /// The API's address (another one for a replica, e.g. `callfunnel serve`).
    #[arg(long, default_value = DEFAULT_BASE_URL, value_name = "URL")]
    pub base_url: String,
    /// The environment variable holding the API key (a key is never an argument,
    /// which would land in the shell's history).
    #[arg(long, default_value = "ALLO_API_KEY", value_name = "NAME")]
    pub api_key_env: String,
    /// At most this many POSTs a second (Allo allows 5 per key).
    #[arg(long, default_value_t = DEFAULT_POSTS_PER_SECOND, value_name = "N")]
    pub rate: f64,
    /// Retries of a call after a server or network error or an answer that
    /// is not JSON, each after a doubled wait (from 0.5 s); then the run
    /// stops with exit status 5.
    #[arg(long, default_value_t = 6, value_name = "N")]
    pub max_retries: u32,
}

impl ApiArgs {
    /// A client with the key from the environment (usage error when unset).
    pub fn client(&self) -> Result<ApiClient, Failure> {
        let api_key = std::env::var(&self.api_key_env)
            .ok()
            .filter(|key| !key.trim().is_empty())
            .ok_or_else(|| {
                Failure::usage(anyhow!(
                    "set {} to your Allo API key (or name another variable with --api-key-env)",
                    self.api_key_env
                ))
            })?;
        if !(MIN_RATE..=MAX_RATE).contains(&self.rate) {
            return Err(Failure::usage(anyhow!(
                "--rate {}: give a number of POSTs a second from {MIN_RATE} to {MAX_RATE}",
                self.rate
            )));
        }
        ApiClient::new(ClientOptions {
            base_url: self.base_url.clone(),
            api_key: api_key.trim().to_string(),
            posts_per_second: self.rate,
            max_retries: self.max_retries,
            first_backoff: Duration::from_millis(500),
        })
        .map_err(|error| Failure::usage(anyhow!("setting up the HTTP client: {error}")))
    }
}

/// The slowest pace `--rate` takes: a POST every 1,000 seconds.
const MIN_RATE: f64 = 0.001;
/// The fastest pace `--rate` takes (a pace, not a limit of the API's).
const MAX_RATE: f64 = 1e6;

/// A failed API call as a failure: refused is a usage problem (key,
/// request); unreachable, or answering what cannot be used (not JSON, too
/// large, redirected away), is the network's (exit status 5).
pub fn api_failure(error: ApiCallError) -> Failure {
    let status = match error {
        ApiCallError::Refused { .. } => EXIT_USAGE,
        ApiCallError::Unreachable { .. }
        | ApiCallError::NotJson { .. }
        | ApiCallError::TooLarge { .. }
        | ApiCallError::Redirected { .. } => EXIT_NETWORK,
    };
    Failure {
        status,
        error: error.into(),
    }
}

/// Arguments of `pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// First day of the period (YYYY-MM-DD, inclusive).
    #[arg(long, value_name = "DATE")]
    from: NaiveDate,
    /// Last day of the period (YYYY-MM-DD, inclusive).
    #[arg(long, value_name = "DATE")]
    to: NaiveDate,
    /// The store to write (`.parquet`), atomically.
    #[arg(long, value_name = "STORE.parquet")]
    out: PathBuf,
    /// Keep the pages in this folder as they arrive; a pull interrupted and
    /// run again resumes after the last saved page (refused when the folder
    /// holds the pages of another period, server or key). Default:
    /// `OUT.pages/`, removed once the store is written.
    #[arg(long, value_name = "DIR")]
    pages: Option<PathBuf>,
    /// Pull only from the day of the store's last call on, and add the new
    /// calls to the store (a call pulled again replaces its old copy); when
    /// that day is after --to, there is nothing to pull.
    #[arg(long)]
    since_last: bool,
    #[command(flatten)]
    api: ApiArgs,
    /// No progress bar on stderr (it shows only on a terminal anyway).
    #[arg(long)]
    quiet: bool,
}

/// Pulls the pages, writes the store and reports the count against the API's.
pub fn run(args: PullArgs) -> Result<ExitCode, Failure> {
    if args.from > args.to {
        return Err(Failure::usage(anyhow!(
            "--from {} is after --to {}",
            args.from,
            args.to
        )));
    }
    if !matches!(Format::from_path(&args.out), Ok(Format::Parquet)) {
        return Err(Failure::usage(anyhow!(
            "--out {}: the store is Parquet; give a path ending in .parquet",
            args.out.display()
        )));
    }
    let mut client = args.api.client()?;
    // Held until the store is written: no other writer changes it between
    // the read of its last call and the write (exit 4 while one holds it).
    let _lock = super::convert::lock_store(&args.out)?;
    let existing = (args.since_last && args.out.exists()).then(|| args.out.clone());
    let from = match &existing {
        Some(store) => {
            let last = last_call_day(store)?;
            if last > args.to {
                say(format_args!(
                    "the store's last call is on {last}, after --to {}: nothing to pull",
                    args.to
                ));
                return Ok(ExitCode::SUCCESS);
            }
            args.from.max(last)
        }
        None => args.from,
    };
    let period = Period { from, to: args.to };
    let pull = PullIdentity {
        period,
        base_url: client.base_url().to_string(),
        key_hash: client.key_hash(),
    };
    let folder = args
        .pages
        .clone()
        .unwrap_or_else(|| args.out.with_extension("pages"));

    let bar = progress_bar(args.quiet);
    let pulled = pull_pages(&mut client, &pull, &folder, &|page, items| {
        if let Some(bar) = &bar {
            bar.set_message(format!("page {page}, {items} calls"));
        }
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let pulled = pulled.map_err(|error| {
        report_retries(client.retries);
        pull_failure(error)
    })?;

    // With a store to add to, the pages' own calls are counted apart; without
    // one, the load of the pages counts them.
    let pages_alone = match &existing {
        Some(_) => Some(distinct_calls(&pulled.pages)?),
        None => None,
    };
    let mut inputs: Vec<PathBuf> = existing.into_iter().collect();
    inputs.extend(pulled.pages.iter().cloned());
    let loaded = ingest::load(&inputs, &IngestOptions::default()).map_err(Failure::input)?;
    let pulled_calls = pages_alone.unwrap_or(loaded.report.calls);
    let rows = write_parquet(loaded.frame, &args.out).map_err(|error| Failure {
        status: EXIT_OUTPUT,
        error: error.into(),
    })?;
    report(&pulled, pulled_calls, client.requests_sent, period);
    report_retries(client.retries);
    say(format!("wrote {rows} calls to {}", args.out.display()));
    if args.pages.is_none() {
        // The default folder only served to resume; the store now holds it all.
        let _ = std::fs::remove_dir_all(&folder);
    }
    Ok(ExitCode::SUCCESS)
}

/// The day (UTC) of the store's latest call.
fn last_call_day(store: &Path) -> Result<NaiveDate, Failure> {
    let loaded =
        ingest::load(&[store.to_path_buf()], &IngestOptions::default()).map_err(Failure::input)?;
    let latest = loaded
        .frame
        .select([col(column::DATE)
            .max()
            .dt()
            .timestamp(TimeUnit::Microseconds)])
        .collect()
        .and_then(|frame| Ok(frame.column(column::DATE)?.i64()?.get(0)))
        .map_err(|error| Failure::input(anyhow!("{}: {error}", store.display())))?;
    let day = latest
        .and_then(DateTime::from_timestamp_micros)
        .map(|instant| instant.date_naive());
    day.ok_or_else(|| {
        Failure::input(anyhow!(
            "{}: the store holds no call to start from",
            store.display()
        ))
    })
}

/// Distinct calls in the pulled pages.
fn distinct_calls(pages: &[PathBuf]) -> Result<u64, Failure> {
    let loaded = ingest::load(pages, &IngestOptions::default()).map_err(Failure::input)?;
    Ok(loaded.report.calls)
}

/// What was pulled, on stderr, with the count checked against the API's.
fn report(pulled: &Pulled, calls: u64, requests: u64, period: Period) {
    say(format!(
        "pulled {} pages ({} fetched now, {requests} requests) of calls from {} to {}: {} items, {calls} distinct calls",
        pulled.pages.len(),
        pulled.fetched,
        period.from,
        period.to,
        pulled.items,
    ));
    if pulled.outside > 0 {
        warn(format_args!(
            "the API answered {} calls dated outside {} to {}; they were left out",
            pulled.outside, period.from, period.to
        ));
    }
    match pulled.announced {
        Some(announced) if announced != calls => warn(format!(
            "the API announced {announced} calls and {calls} were pulled: {} while paging",
            if announced > calls {
                format!("{} removed (or not reached)", announced - calls)
            } else {
                format!("{} added", calls - announced)
            }
        )),
        Some(_) => say("the count agrees with the API's total_count"),
        None => warn("the API announced no total_count"),
    }
}

/// The failed tries that were made again, on stderr (nothing when none).
fn report_retries(retries: Retries) {
    if retries.total() == 0 {
        return;
    }
    let not_json = match retries.not_json {
        0 => String::new(),
        count => format!(", {count} answers not JSON"),
    };
    say(format_args!(
        "retried {} requests: {} rate limited (429), {} server errors (5xx), {} network errors{not_json}; waited {:.1} s",
        retries.total(),
        retries.throttled,
        retries.server_errors,
        retries.network_errors,
        retries.waited.as_secs_f64(),
    ));
}

/// The status of a stopped pull.
fn pull_failure(error: PullError) -> Failure {
    match error {
        PullError::Api(error) => api_failure(error),
        PullError::NotAPage { .. } | PullError::Paging { .. } => Failure {
            status: EXIT_NETWORK,
            error: error.into(),
        },
        PullError::OtherPull { .. } => Failure::usage(error),
        PullError::Io { .. } => Failure::output(error),
    }
}

/// A spinner with the page and calls so far, on a terminal.
fn progress_bar(quiet: bool) -> Option<ProgressBar> {
    (!quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new_spinner().with_message("page 1");
        bar.set_style(
            ProgressStyle::with_template("{spinner} pulling: {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    })
}
