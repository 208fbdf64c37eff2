//! `callfunnel serve`: the arguments, mapped onto [`crate::serve`].

use std::collections::HashSet;
use std::process::ExitCode;

use callfunnel::ingest::IngestOptions;
use clap::Args;

use super::{Failure, InputArgs, EXIT_INTERNAL, EXIT_NETWORK};
use crate::serve::auth::Access;
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
    /// Enforce Allo's rate limits: 20 reads (GET) and 5 writes (POST) per second and per key.
    #[arg(long)]
    rate_limit: bool,
    /// Reload the inputs when a file changes (a failed reload keeps the previous calls).
    #[arg(long)]
    watch: bool,
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
}

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
        watch: args.watch,
        faults: args.inject_faults,
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
