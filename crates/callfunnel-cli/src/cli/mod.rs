//! The command line (SPEC §6): argument parsing and the subcommands.
//!
//! stdout carries data only; every message goes to stderr, through
//! [`crate::messages`]. Exit statuses:
//! 0 success, 1 verification differences, 2 invalid request or usage,
//! 3 unreadable input, 4 output could not be written, 5 network failure,
//! 70 internal failure.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use callfunnel::definitions;
use callfunnel::ingest::{self, IngestOptions};
use callfunnel::request::DateRange;
use callfunnel::scratch::TemporaryWriteError;
use callfunnel::{ApiError, Request};
use chrono_tz::Tz;
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use crate::csv_tables::TableError;
use crate::messages::say;

mod check;
mod completions;
mod convert;
mod generate;
mod metrics;
mod period;
mod pull;
mod report;
mod serve;
mod verify;
use serde_json::{json, Map, Value};

/// Exit status for an invalid request or a usage error.
pub const EXIT_USAGE: u8 = 2;
/// Exit status for unreadable input.
pub const EXIT_INPUT: u8 = 3;
/// Exit status for an output that could not be written (stdout, a report, a
/// store, generated calls).
pub const EXIT_OUTPUT: u8 = 4;
/// Exit status when the network cannot be reached or held: the API after
/// retries (`pull`, `verify --live`), the address in use (`serve`).
pub const EXIT_NETWORK: u8 = 5;
/// Exit status for a failure of the computation itself on input that was
/// read (a defect of callfunnel: please report it), as sysexits' `EX_SOFTWARE`.
pub const EXIT_INTERNAL: u8 = 70;

/// Examples shown at the end of `callfunnel --help`.
const EXAMPLES: &str = "Examples:
  callfunnel metrics --input sample_data/calls.csv --request sample_data/request.json
  callfunnel metrics --input sample_data/calls.csv --request sample_data/request.json --format table
  callfunnel report --input sample_data/calls.csv --request sample_data/request.json --out report.html
  callfunnel completions bash > ~/.local/share/bash-completion/completions/callfunnel

Exit statuses: 0 success, 1 verification differences, 2 invalid request or usage,
3 unreadable input, 4 output could not be written (stdout, a report, a store),
5 the network could not be reached or held (pull and verify --live: the API after
retries, or answers it cannot use: not JSON, too large, redirected away, paging
that does not end or is incomplete; serve: the address is in use),
70 internal failure (a defect: please report it).

Run `callfunnel help COMMAND` for a command's options and its example.";

/// Recompute Allo's outbound-call analytics offline, from exported call logs.
#[derive(Debug, Parser)]
#[command(name = "callfunnel", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Compute the outbound metrics response (`POST /v2/api/analytics/outbound`) from call logs.
    ///
    /// Example: callfunnel metrics --input sample_data/calls.csv --request sample_data/request.json
    ///
    /// Example: callfunnel metrics --input sample_data/calls.csv --request sample_data/request.json --format table
    ///
    /// Example: callfunnel metrics --input sample_data/calls.csv --month 2024-03 --format csv --table series
    Metrics(Box<metrics::MetricsArgs>),
    /// Write the metrics as one self-contained HTML page: funnel, charts, heatmap, leaderboard, input summary.
    ///
    /// Example: callfunnel report --input sample_data/calls.csv --request sample_data/request.json --out report.html --png charts/ --csv tables/
    Report(Box<report::ReportArgs>),
    /// Recompute an API answer from the calls behind it and list every difference.
    ///
    /// Exit 0 when every figure agrees, 1 otherwise.
    ///
    /// Example: callfunnel verify --input sample_data/calls.csv --request sample_data/api/request.json --response sample_data/api/response.json
    Verify(Box<verify::VerifyArgs>),
    /// Report what in the inputs is unreadable, likely wrong or worth knowing, with examples.
    ///
    /// Unreadable rows by reason, duplicate ids, talk time over --max-talk and its share,
    /// connected calls without talk, talk on unconnected calls, long ringing, future and
    /// lone far-off dates, calls without user or contact, inbound calls and SMS, results
    /// and tags by count with likely typos. Exit 0 with findings; with --strict, 1 when
    /// any is an error or a warning.
    ///
    /// Example: callfunnel check --input sample_data/check_example.csv
    ///
    /// Example: callfunnel check --input exports/ --format json --strict
    Check(Box<check::CheckArgs>),
    /// Print the metric definitions (SPEC §3–§4), their version and what changed since the last.
    ///
    /// Example: callfunnel definitions --format json
    Definitions(DefinitionsArgs),
    /// Write realistic synthetic calls (CSV, NDJSON or Parquet, by extension).
    ///
    /// Example: callfunnel generate --rows 1000000 --seed 1 --out calls.parquet
    Generate(generate::GenerateArgs),
    /// Read calls and write them as the canonical Parquet store, sorted by date.
    ///
    /// Example: callfunnel convert --input exports/*.csv --out calls.parquet
    Convert(convert::ConvertArgs),
    /// Copy the calls of a period from Allo's API into a store (the key from $ALLO_API_KEY).
    ///
    /// Pages are saved as they arrive, so an interrupted pull resumes (from the same
    /// server, with the same key: the pages folder records which); the count is
    /// checked against the API's total. Only the period's calls are kept. Ringing time
    /// is not in the API's call items, so `verify` lists it as not checkable on a
    /// pulled store.
    ///
    /// Exit status 5, the pages kept for a resume, when the API cannot be reached
    /// after retries or answers what cannot be used: a body that is not JSON (tried
    /// again first), larger than 64 MiB (never read further), a redirect that would
    /// turn the POST into a GET or lead to another origin, a page that repeats the
    /// previous one, pages that go on past the total announced, or an empty page that
    /// says more follow.
    ///
    /// Example: callfunnel pull --from 2026-01-01 --to 2026-03-31 --out calls.parquet
    Pull(pull::PullArgs),
    /// Print a shell completion script.
    ///
    /// Example: callfunnel completions bash > /etc/bash_completion.d/callfunnel
    Completions(completions::CompletionsArgs),
    /// Answer Allo's API routes over HTTP from the loaded calls, as a local Allo.
    ///
    /// Limits: bodies of 1 MiB (413), a request line and headers of 64 KiB and 100
    /// headers (431), a period of 10,000 time-series buckets (400
    /// INVALID_DATE_RANGE), 1,000 values a search filter and 20 search keywords
    /// (400), and the timeouts and connections below. SIGINT or SIGTERM stops it
    /// once the answers in flight are sent (within --shutdown-timeout); a second
    /// signal stops it at once.
    ///
    /// Example: callfunnel serve --input calls.parquet --api-key dev-key --listen 127.0.0.1:8080
    Serve(Box<serve::ServeArgs>),
}

/// Where the calls come from and how to read them.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// Call log files (CSV, JSON, NDJSON, saved API pages, Parquet), folders, globs or pipes,
    /// or `-` for standard input (with --input-format); repeatable.
    #[arg(long, required = true, num_args = 1.., value_name = "FILE")]
    pub input: Vec<PathBuf>,
    /// Time zone of timestamps that carry no offset.
    #[arg(long, default_value = "UTC", value_name = "ZONE", value_parser = parse_zone)]
    pub input_tz: Tz,
    /// Read a field from a differently named column, e.g. `--map date=started_at`; repeatable.
    #[arg(long = "map", value_name = "FIELD=COLUMN", value_parser = parse_mapping)]
    pub map: Vec<(String, String)>,
    /// Skip unreadable rows (counted by reason on stderr) instead of stopping.
    #[arg(long)]
    pub skip_invalid: bool,
    /// No progress spinner on stderr (it shows only on a terminal anyway).
    #[arg(long)]
    pub quiet: bool,
    /// Format of standard input (`--input -`, where it is required) and of a pipe such as
    /// `<(zcat calls.csv.gz)` (whose format is otherwise told from its first bytes).
    #[arg(long, value_enum, ignore_case = true, value_name = "FORMAT")]
    pub input_format: Option<InputFormat>,
}

/// The format of standard input or of a pipe (`--input-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// CSV with a header row.
    Csv,
    /// A JSON array, a saved API page or one record per line.
    Json,
    /// One JSON record per line.
    Ndjson,
    /// Parquet.
    Parquet,
}

impl InputFormat {
    /// The reader's format (NDJSON is read as JSON, told apart by shape).
    fn format(self) -> ingest::Format {
        match self {
            InputFormat::Csv => ingest::Format::Csv,
            InputFormat::Json | InputFormat::Ndjson => ingest::Format::Json,
            InputFormat::Parquet => ingest::Format::Parquet,
        }
    }
}

impl InputArgs {
    /// How the inputs are read: `base` with this zone, `--map` and
    /// `--skip-invalid`.
    pub fn options(&self, base: IngestOptions) -> IngestOptions {
        IngestOptions {
            input_tz: self.input_tz,
            column_map: self.map.clone(),
            skip_invalid: self.skip_invalid,
            input_format: self.input_format.map(InputFormat::format),
            ..base
        }
    }

    /// Refuses standard input as an input when `other` (the request, a
    /// saved answer) is read from it too: it can be read once.
    pub fn refuse_stdin_shared(&self, other: Option<&str>) -> Result<(), Failure> {
        let input_reads_stdin = self
            .input
            .iter()
            .any(|input| input.as_os_str() == ingest::STDIN);
        if input_reads_stdin && other == Some("-") {
            return Err(Failure::usage(anyhow::anyhow!(
                "--input -: standard input can be read once only, and the request is read from it"
            )));
        }
        Ok(())
    }

    /// Refuses standard input given without its format, or more than once.
    fn check_stdin(&self) -> Result<(), Failure> {
        let stdin = self
            .input
            .iter()
            .filter(|input| input.as_os_str() == ingest::STDIN);
        match stdin.count() {
            0 => Ok(()),
            1 if self.input_format.is_some() => Ok(()),
            1 => Err(Failure::usage(anyhow::anyhow!(
                "--input -: standard input needs --input-format csv|json|ndjson|parquet"
            ))),
            _ => Err(Failure::usage(anyhow::anyhow!(
                "--input -: standard input can be read once only"
            ))),
        }
    }

    /// Reads every input (exit status 3 on failure) and prints the ingest summary on stderr.
    pub fn load(&self) -> Result<ingest::Ingested, Failure> {
        self.load_with(self.options(IngestOptions::default()))
    }

    /// Like [`InputArgs::load`], for one request only (see
    /// [`IngestOptions::for_request`]): the calls it cannot count may be left out.
    pub fn load_for(&self, request: &Request) -> Result<ingest::Ingested, Failure> {
        self.load_with(self.options(IngestOptions::for_request(request)))
    }

    /// Like [`InputArgs::load`], with `options` as given.
    pub fn load_with(&self, options: IngestOptions) -> Result<ingest::Ingested, Failure> {
        self.check_stdin()?;
        let spinner = self.spinner("reading the calls");
        let loaded = ingest::load(&self.input, &options).map_err(Failure::input);
        if let Some(spinner) = spinner {
            spinner.finish_and_clear();
        }
        let loaded = loaded?;
        for line in loaded.report.summary_lines() {
            say(line);
        }
        Ok(loaded)
    }

    /// A spinner with `message` and the time elapsed, on stderr when it is a
    /// terminal and `--quiet` is off.
    pub fn spinner(&self, message: &'static str) -> Option<ProgressBar> {
        (!self.quiet && std::io::stderr().is_terminal()).then(|| {
            let spinner = ProgressBar::new_spinner().with_message(message);
            spinner.set_style(
                ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            spinner.enable_steady_tick(std::time::Duration::from_millis(120));
            spinner
        })
    }
}

/// The request: a JSON file, `-` for stdin, or flags.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("period").args(["month", "week", "quarter"])
    .conflicts_with_all(["from", "to"])))]
struct RequestArgs {
    /// Request body as JSON (`-` reads standard input); conflicts with the request flags.
    #[arg(long, value_name = "REQUEST.json", conflicts_with_all = [
        "from", "to", "month", "week", "quarter", "compare_from", "compare_to", "tags",
        "granularity", "user_ids", "allo_numbers", "extend", "stage", "page", "size",
        "timezone", "conversation_threshold_seconds",
    ])]
    request: Option<String>,
    /// First day of the period (YYYY-MM-DD, inclusive).
    #[arg(long, value_name = "DATE")]
    from: Option<String>,
    /// Last day of the period (YYYY-MM-DD, inclusive).
    #[arg(long, value_name = "DATE")]
    to: Option<String>,
    /// The period is this calendar month, e.g. `--month 2026-03`.
    #[arg(long, value_name = "YYYY-MM", value_parser = period::parse_month)]
    month: Option<DateRange>,
    /// The period is this ISO week, Monday to Sunday, e.g. `--week 2026-W10`.
    #[arg(long, value_name = "YYYY-Www", value_parser = period::parse_week)]
    week: Option<DateRange>,
    /// The period is this calendar quarter, e.g. `--quarter 2026-Q1`.
    #[arg(long, value_name = "YYYY-Qn", value_parser = period::parse_quarter)]
    quarter: Option<DateRange>,
    /// First day of the comparison period.
    #[arg(long, value_name = "DATE")]
    compare_from: Option<String>,
    /// Last day of the comparison period.
    #[arg(long, value_name = "DATE")]
    compare_to: Option<String>,
    /// Tags that define a conversion, comma separated.
    #[arg(long, value_delimiter = ',', value_name = "TAG,…")]
    tags: Vec<String>,
    /// Time-series buckets: DAY, WEEK or MONTH (any case).
    #[arg(long, value_name = "DAY|WEEK|MONTH")]
    granularity: Option<String>,
    /// Keep only these users' calls, comma separated.
    #[arg(long, value_delimiter = ',', value_name = "ID,…")]
    user_ids: Vec<String>,
    /// Keep only calls from these Allo numbers, comma separated.
    #[arg(long, value_delimiter = ',', value_name = "NUMBER,…")]
    allo_numbers: Vec<String>,
    /// `items` adds the drilldown list (needs --stage).
    #[arg(long, value_name = "items")]
    extend: Option<String>,
    /// Drilldown stage: DIAL, CONNECTED, CONVERSATION or CONVERSION (any case).
    #[arg(long, value_name = "STAGE")]
    stage: Option<String>,
    /// Drilldown page (from 1).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    page: Option<i64>,
    /// Drilldown page size (1 to 100).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    size: Option<i64>,
    /// IANA zone in which days, buckets, weekdays and hours are read (default UTC).
    #[arg(long, value_name = "ZONE")]
    timezone: Option<String>,
    /// A connected call longer than this many seconds is a conversation (default 60).
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    conversation_threshold_seconds: Option<i64>,
    #[command(flatten)]
    analysis: AnalysisArgs,
}

/// The request fields beyond the API (SPEC §8); they may also be added to a
/// `--request` file's body.
#[derive(Debug, Args)]
#[command(next_help_heading = "Beyond the API (SPEC §8)")]
struct AnalysisArgs {
    /// Break the metrics down by USER, ALLO_NUMBER, TAG, CONTACT_NUMBER, RESULT, WEEKDAY or HOUR (`analysis.breakdown`).
    #[arg(long, value_name = "KEY")]
    by: Option<String>,
    /// Order of the breakdown's rows: dials (default), connected, conversations, conversions, connect_rate, conversion_rate or key.
    #[arg(long, value_name = "ORDER")]
    group_sort: Option<String>,
    /// Page of the breakdown's rows (from 1).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    group_page: Option<i64>,
    /// Rows per breakdown page (1 to 1000, default 100).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    group_size: Option<i64>,
    /// The connect rate with voicemail counted and with voicemail left out (`analysis.connect_rules`).
    #[arg(long)]
    connect_rules: bool,
    /// Contacts dialled and reached, dials to first connect, the most-dialled contacts (`analysis.reach`).
    #[arg(long)]
    reach: bool,
    /// A 95 % Wilson interval and its n for every rate (`analysis.intervals`).
    #[arg(long)]
    intervals: bool,
    /// Compare with previous_period (default), none, previous_month or same_weekdays_last_year.
    #[arg(long, value_name = "PRESET")]
    compare: Option<String>,
}

impl AnalysisArgs {
    /// Adds the fields these flags give to a request body (replacing the
    /// body's own).
    fn insert_into(&self, body: &mut Map<String, Value>) {
        let texts = [
            ("group_by", &self.by),
            ("group_sort", &self.group_sort),
            ("compare", &self.compare),
        ];
        for (name, value) in texts {
            if let Some(value) = value {
                body.insert(name.into(), json!(value));
            }
        }
        for (name, value) in [
            ("group_page", self.group_page),
            ("group_size", self.group_size),
        ] {
            if let Some(value) = value {
                body.insert(name.into(), json!(value));
            }
        }
        let flags = [
            ("connect_rules", self.connect_rules),
            ("reach", self.reach),
            ("intervals", self.intervals),
        ];
        for (name, set) in flags {
            if set {
                body.insert(name.into(), json!(true));
            }
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DefinitionsFormat {
    /// The rules in words.
    Text,
    /// `{"version", "changes": [{"version", "changes"}…], "definitions": [{"name", "rule"}…]}`.
    Json,
}

#[derive(Debug, Args)]
struct DefinitionsArgs {
    /// Output format.
    #[arg(long, value_enum, ignore_case = true, default_value = "text")]
    format: DefinitionsFormat,
}

fn parse_zone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>()
        .map_err(|_| format!("unknown time zone `{name}` (an IANA name such as Europe/Paris)"))
}

fn parse_mapping(text: &str) -> Result<(String, String), String> {
    let (field, column) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not FIELD=COLUMN"))?;
    let field = field.trim();
    if !callfunnel::model::column::ALL.contains(&field) {
        return Err(format!(
            "unknown field `{field}` (one of {})",
            callfunnel::model::column::ALL.join(", ")
        ));
    }
    Ok((field.to_string(), column.trim().to_string()))
}

/// Runs the parsed command line and returns the process exit status.
pub fn run(cli: Cli) -> ExitCode {
    if !matches!(cli.command, Command::Serve(_)) {
        // `serve` stops on these signals itself, letting answers finish.
        remove_temporary_files_on_interrupt();
    }
    let outcome = match cli.command {
        Command::Metrics(args) => metrics::run(*args),
        Command::Report(args) => report::run(*args),
        Command::Verify(args) => verify::run(*args),
        Command::Check(args) => check::run(*args),
        Command::Definitions(args) => print_definitions(args),
        Command::Generate(args) => generate::run(args),
        Command::Convert(args) => convert::run(args),
        Command::Pull(args) => pull::run(args),
        Command::Completions(args) => completions::run(args),
        Command::Serve(args) => serve::run(*args),
    };
    match outcome {
        Ok(code) => code,
        Err(failure) => {
            say(full_message(&failure.error));
            ExitCode::from(failure.status)
        }
    }
}

/// On SIGINT (Ctrl-C), SIGTERM or SIGHUP, removes the run's temporary files
/// (spilled calls, a store being written; never a store in place) and
/// exits with 128 + the signal's number, as a shell reports a process it
/// stopped. Without the handler the files would stay behind, gigabytes at
/// 100M calls.
fn remove_temporary_files_on_interrupt() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            callfunnel::scratch::remove_all();
            std::process::exit(128 + signal);
        }
    });
}

/// An error and its causes on one line, each cause once: one that the
/// message already quotes (as `file: {source}` does) is not repeated.
fn full_message(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}

/// An error with the exit status it maps to.
pub struct Failure {
    /// The process exit status (SPEC §6).
    pub status: u8,
    /// What went wrong, with its context chain.
    pub error: anyhow::Error,
}

impl Failure {
    /// Input that could not be read (exit status 3); a temporary file that
    /// could not be written on the way (a full disk) is an output that
    /// could not be written (exit status 4), whatever was being read.
    pub fn input(error: impl Into<anyhow::Error>) -> Self {
        let error = error.into();
        let write_failed = TemporaryWriteError::find(error.as_ref()).is_some();
        Failure {
            status: if write_failed {
                EXIT_OUTPUT
            } else {
                EXIT_INPUT
            },
            error,
        }
    }

    /// An invalid request or command line (exit status 2).
    pub fn usage(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            status: EXIT_USAGE,
            error: error.into(),
        }
    }

    /// An output that could not be written (exit status 4).
    pub fn output(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            status: EXIT_OUTPUT,
            error: error.into(),
        }
    }

    /// The computation failed on input that was read (exit status 70).
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            status: EXIT_INTERNAL,
            error: error.into(),
        }
    }
}

/// Reads the request body (file, stdin or flags, the §8 flags added to a
/// file's body) and validates it; an I/O failure is a usage error, an
/// invalid body is the API's error.
fn read_request(args: &RequestArgs) -> Result<Result<Request, ApiError>, Failure> {
    let Some(path) = args.request.as_deref() else {
        return Ok(Request::from_json(&request_from_flags(args)));
    };
    let text = read_request_text(path)?;
    Ok(match serde_json::from_str(&text) {
        Ok(Value::Object(mut body)) => {
            args.analysis.insert_into(&mut body);
            Request::from_json(&Value::Object(body))
        }
        // Not an object: the API's own error.
        _ => Request::from_json_str(&text),
    })
}

/// Largest request body read, in bytes (1 MiB; a request is a few hundred
/// bytes, and 1 MiB holds tens of thousands of tags or user ids).
pub const MAX_REQUEST_BYTES: u64 = 1 << 20;

/// The request body from a file, or from standard input for `-`; a failure
/// to read it, or a body larger than [`MAX_REQUEST_BYTES`], is a usage error.
fn read_request_text(path: &str) -> Result<String, Failure> {
    if path == "-" {
        read_bounded(std::io::stdin().lock(), "the request", MAX_REQUEST_BYTES)
            .context("reading the request from standard input")
            .map_err(Failure::usage)
    } else {
        std::fs::File::open(path)
            .map_err(anyhow::Error::new)
            .and_then(|file| read_bounded(file, "the request", MAX_REQUEST_BYTES))
            .with_context(|| format!("reading the request {path}"))
            .map_err(Failure::usage)
    }
}

/// Reads UTF-8 text of at most `limit` bytes; `what` names it in the error
/// when there is more (the rest is never read: `/dev/zero` ends at once).
pub(crate) fn read_bounded(input: impl Read, what: &str, limit: u64) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    input.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        anyhow::bail!("{what} is larger than {} KiB", limit / 1024);
    }
    String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{what} is not UTF-8 text"))
}

/// The request body the flags describe.
fn request_from_flags(args: &RequestArgs) -> Value {
    let mut body = Map::new();
    let range = |from: &Option<String>, to: &Option<String>| {
        let mut range = Map::new();
        if let Some(from) = from {
            range.insert("from".into(), json!(from));
        }
        if let Some(to) = to {
            range.insert("to".into(), json!(to));
        }
        Value::Object(range)
    };
    if let Some(period) = args.month.or(args.week).or(args.quarter) {
        body.insert("date".into(), json!(period));
    } else if args.from.is_some() || args.to.is_some() {
        body.insert("date".into(), range(&args.from, &args.to));
    }
    if args.compare_from.is_some() || args.compare_to.is_some() {
        body.insert(
            "compare_date".into(),
            range(&args.compare_from, &args.compare_to),
        );
    }
    let lists = [
        ("tags", &args.tags),
        ("user_ids", &args.user_ids),
        ("allo_numbers", &args.allo_numbers),
    ];
    for (name, values) in lists {
        if !values.is_empty() {
            body.insert(name.into(), json!(values));
        }
    }
    // The enums in the API's case, whatever case they were typed in.
    let upper = |value: &Option<String>| value.as_deref().map(str::to_ascii_uppercase);
    let texts = [
        ("granularity", upper(&args.granularity)),
        (
            "extend",
            args.extend.as_deref().map(str::to_ascii_lowercase),
        ),
        ("stage", upper(&args.stage)),
        ("timezone", args.timezone.clone()),
    ];
    for (name, value) in texts {
        if let Some(value) = value {
            body.insert(name.into(), json!(value));
        }
    }
    let numbers = [
        ("page", args.page),
        ("size", args.size),
        (
            "conversation_threshold_seconds",
            args.conversation_threshold_seconds,
        ),
    ];
    for (name, value) in numbers {
        if let Some(value) = value {
            body.insert(name.into(), json!(value));
        }
    }
    args.analysis.insert_into(&mut body);
    Value::Object(body)
}

/// Prints the API's error envelope on stdout and a human line on stderr.
fn reject_request(error: &ApiError) -> ExitCode {
    say(format!(
        "invalid request: {} ({}{})",
        error.message,
        error.code,
        error
            .param
            .as_deref()
            .map(|param| format!(", param `{param}`"))
            .unwrap_or_default()
    ));
    match write_stdout(&format!("{}\n", error.envelope_json())) {
        Ok(_) => ExitCode::from(EXIT_USAGE),
        Err(failure) => ExitCode::from(failure.status),
    }
}

fn print_definitions(args: DefinitionsArgs) -> Result<ExitCode, Failure> {
    let text = match args.format {
        DefinitionsFormat::Text => definitions::render_text(),
        DefinitionsFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&definitions::render_json())
                .expect("definitions serialize")
        ),
    };
    write_stdout(&text)
}

/// Whether to colour stdout: a terminal, and `NO_COLOR` unset.
fn stdout_wants_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Refuses an output path (given as `flag`) that names one of the
/// command's own inputs (a call file, expanded as `--input` is, or the
/// request file): writing it would destroy that input. A usage error (exit
/// status 2).
pub(crate) fn refuse_overwriting_inputs(
    flag: &str,
    out: &Path,
    inputs: &[PathBuf],
    request: Option<&str>,
) -> Result<(), Failure> {
    let files = ingest::expand_inputs(inputs).unwrap_or_default();
    let named = files
        .iter()
        .map(PathBuf::as_path)
        .chain(request.map(Path::new))
        .find(|input| same_file(out, input));
    match named {
        Some(input) => Err(Failure::usage(anyhow::anyhow!(
            "{flag} {} is the input {}: refusing to overwrite it",
            out.display(),
            input.display()
        ))),
        None => Ok(()),
    }
}

/// Whether both paths name the same existing file (through links too).
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

/// Writes data to stdout; a closed pipe (e.g. `| head`) ends quietly.
pub fn write_stdout(text: &str) -> Result<ExitCode, Failure> {
    stream_stdout(|out| out.write_all(text.as_bytes()))
}

/// Writes data to stdout with `write`, through a buffer; a closed pipe
/// (e.g. `| head`) ends quietly, another failure is an output error.
pub(crate) fn stream_stdout(
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<ExitCode, Failure> {
    let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match write(&mut stdout).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(err) => Err(Failure::output(
            anyhow::Error::new(err).context("writing to stdout"),
        )),
    }
}

/// The failure of a CSV table that could not be made: the computation's
/// (exit status 70), the output's (4), or a table the request cannot give (2).
fn table_failure(error: TableError) -> Failure {
    match error {
        TableError::Write(_) => Failure::output(error),
        TableError::Engine(_) => Failure::internal(error),
        TableError::NoDrilldown | TableError::NotAsked { .. } => Failure::usage(error),
    }
}
