//! `callfunnel serve`: the arguments, mapped onto [`crate::serve`].

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::Duration;

use callfunnel::ingest::IngestOptions;
use clap::Args;

use super::{Failure, InputArgs, EXIT_INTERNAL, EXIT_NETWORK};
use crate::serve::auth::Access;
use crate::serve::cache::CacheLimits;
use crate::serve::connections::ConnectionLimits;
use crate::serve::faults::FaultPlan;
use crate::serve::rate_limit::ALLO_PRESET;
use crate::serve::state::Source;
use crate::serve::{ServeError, ServeOptions};

/// The variable holding accepted API keys, comma separated.
pub const API_KEYS_VARIABLE: &str = "CALLFUNNEL_API_KEYS";

/// Arguments of `callfunnel serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Address to listen on, HOST:PORT (port 0 takes any free port).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    listen: String,
    /// An accepted API key (`Authorization: Api-Key KEY` or the bare key); repeatable.
    /// Keys are also read, comma separated, from CALLFUNNEL_API_KEYS.
    #[arg(long = "api-key", value_name = "KEY")]
    api_keys: Vec<String>,
    /// Accept every request, with or without a key.
    #[arg(long, conflicts_with = "api_keys")]
    no_auth: bool,
    /// Enforce Allo's rate limits: 20 reads (GET) and 5 writes (POST) per second and per key
    /// (a refused key is answered 401 and never counted; with --no-auth every client
    /// shares one budget).
    #[arg(long)]
    rate_limit: bool,
    /// Reload the inputs when a file changes, once every input has been
    /// unchanged for --watch-quiet; a reload that fails, or finds an input
    /// empty or changing while read, keeps the previous calls and logs why.
    #[arg(long)]
    watch: bool,
    /// With --watch: how long the inputs must stay unchanged before a reload.
    /// A file rewritten in place with longer pauses can be read half way:
    /// write it beside and rename it over instead.
    #[arg(long, value_name = "SECONDS", default_value = "2", value_parser = parse_seconds, requires = "watch")]
    watch_quiet: Duration,
    /// A request's line and headers must arrive whole within this of their
    /// first byte; else the connection is closed.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
    header_timeout: Duration,
    /// A request's body must arrive whole within this (else 408 REQUEST_TIMEOUT).
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = parse_seconds)]
    body_timeout: Duration,
    /// A connection waiting for a request (new, or kept alive after an
    /// answer) is closed after this long without a byte.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_seconds)]
    idle_timeout: Duration,
    /// Connections served at once; one more is answered 503 TOO_MANY_CONNECTIONS.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    max_connections: u32,
    /// On SIGINT or SIGTERM, the answers in flight get this long before the
    /// server stops anyway (a second signal stops it at once).
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
    shutdown_timeout: Duration,
    /// Inject faults on the data routes (search, batch, item, analytics), for
    /// testing clients: comma-separated KEY=VALUE, 429=SHARE (429
    /// RATE_LIMIT_EXCEEDED with Retry-After), 500=SHARE (500, retryable),
    /// drop=SHARE (the connection closed without an answer), slow=SHARE (the
    /// answer held back delay-ms), shares from 0 to 1; retry-after=SECONDS
    /// (default 1), delay-ms=MS (default 1000), seed=N (default 0: the same
    /// seed gives the same faults), after=N (the first N data requests spared).
    /// Each fault is logged on its request's line (fault=NAME; status 000 for a
    /// dropped connection). Example: --inject-faults 429=0.1,500=0.1,drop=0.05,slow=0.05,delay-ms=300
    #[arg(long, value_name = "SPEC")]
    inject_faults: Option<FaultPlan>,
    /// Analytics answers kept in memory, by request and data version (the
    /// least recently used dropped first; a --watch reload drops them all);
    /// 0 turns the cache off.
    #[arg(long, value_name = "ANSWERS", default_value_t = CacheLimits::DEFAULT_ENTRIES)]
    cache_size: usize,
    /// The most memory the kept analytics answers may take, in MiB (an
    /// answer larger than this is never kept).
    #[arg(long, value_name = "MIB", default_value_t = CacheLimits::DEFAULT_MIB, value_parser = clap::value_parser!(u64).range(..=MAX_CACHE_MIB))]
    cache_memory: u64,
}

/// The largest `--cache-memory`: 64 GiB.
const MAX_CACHE_MIB: u64 = 64 << 10;

/// Runs the server until SIGINT or SIGTERM.
pub fn run(args: ServeArgs) -> Result<ExitCode, Failure> {
    let access = access(&args)?;
    let options = ServeOptions {
        source: Source {
            inputs: args.input.input.clone(),
            options: args.input.options(IngestOptions::default()),
        },
        listen: args.listen,
        access,
        limits: args.rate_limit.then_some(ALLO_PRESET),
        connections: ConnectionLimits {
            header_timeout: args.header_timeout,
            body_timeout: args.body_timeout,
            idle_timeout: args.idle_timeout,
            max_connections: args.max_connections as usize,
            shutdown_timeout: args.shutdown_timeout,
        },
        watch: args.watch.then_some(args.watch_quiet),
        faults: args.inject_faults,
        cache: CacheLimits::new(args.cache_size, args.cache_memory),
    };
    crate::serve::run(options).map_err(|err| {
        let status = match &err {
            ServeError::Usage(_) => super::EXIT_USAGE,
            ServeError::Input(_) => super::EXIT_INPUT,
            ServeError::Network(_) => EXIT_NETWORK,
            ServeError::Internal(_) => EXIT_INTERNAL,
        };
        Failure {
            status,
            error: err.into(),
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The accepted keys (flags and the variable), or open access with `--no-auth`;
/// no key at all is a usage error.
fn access(args: &ServeArgs) -> Result<Access, Failure> {
    if args.no_auth {
        return Ok(Access::Open);
    }
    let from_variable = std::env::var(API_KEYS_VARIABLE).unwrap_or_default();
    let keys: HashSet<String> = args
        .api_keys
        .iter()
        .map(String::as_str)
        .chain(from_variable.split(','))
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .map(str::to_string)
        .collect();
    if keys.is_empty() {
        return Err(Failure::usage(anyhow::anyhow!(
            "no API key: give --api-key KEY (repeatable), set {API_KEYS_VARIABLE}=KEY1,KEY2, or pass --no-auth"
        )));
    }
    Ok(Access::Keys(keys))
}

/// A positive number of seconds, fractions allowed (`0.5`); a value out of
/// range is refused, never clamped.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|seconds| *seconds > 0.0)
        .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
        .filter(|duration| *duration <= Duration::from_secs(MAX_SECONDS))
        .ok_or_else(|| {
            format!("`{text}` is not a number of seconds above 0 and at most {MAX_SECONDS}")
        })
}

/// The longest timeout taken: a day.
const MAX_SECONDS: u64 = 86_400;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_positive_and_at_most_a_day() {
        assert_eq!(parse_seconds("0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_seconds("10"), Ok(Duration::from_secs(10)));
        for refused in ["0", "-1", "NaN", "inf", "1e300", "86401", "ten"] {
            assert!(parse_seconds(refused).is_err(), "{refused}");
        }
    }
}
