//! `callfunnel serve` (SPEC §6): a local replica of Allo's API over
//! HTTP, answering from the loaded calls with the API's bodies, statuses and
//! error envelopes, so that programs written against Allo run unchanged
//! against `http://127.0.0.1:PORT`.
//!
//! The parts: [`routes`] (the endpoints), [`search`] and [`items`] (the
//! conversation items), [`by_date`] (the calls an analytics request reads)
//! and [`cache`] (its answers kept), [`pipeline`] (request id, key check,
//! rate limit, body, envelopes, log line), [`auth`], [`rate_limit`],
//! [`errors`], [`faults`] (`--inject-faults`), [`connections`] and [`wire`]
//! (limits, timeouts, shutdown) and [`state`] (the loaded data and
//! `--watch`). Built on axum over hyper and tokio.

pub mod auth;
pub mod by_date;
pub mod cache;
pub mod connections;
pub mod errors;
pub mod faults;
pub mod items;
pub mod pipeline;
pub mod rate_limit;
pub mod routes;
pub mod search;
pub mod state;
pub mod wire;

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::Router;

use crate::messages::say;
use auth::Access;
use cache::CacheLimits;
use connections::ConnectionLimits;
use faults::{FaultInjector, FaultPlan};
use rate_limit::{Limits, RateLimiter};
use state::{AppState, Source};

/// How to serve.
#[derive(Debug)]
pub struct ServeOptions {
    /// The calls.
    pub source: Source,
    /// `HOST:PORT` to listen on (port 0: any free port).
    pub listen: String,
    /// Who may call.
    pub access: Access,
    /// The rate limits enforced, if any.
    pub limits: Option<Limits>,
    /// Timeouts and the connection limit.
    pub connections: ConnectionLimits,
    /// Reload the inputs when they change, once they were quiet this long.
    pub watch: Option<Duration>,
    /// Faults to inject on the data routes, if any.
    pub faults: Option<FaultPlan>,
    /// How many analytics answers to keep.
    pub cache: CacheLimits,
}

/// Why `serve` stopped, by exit status.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// `--listen` is not an address (exit status 2).
    #[error("{0}")]
    Usage(String),
    /// The inputs could not be read (exit status 3).
    #[error("{0:#}")]
    Input(anyhow::Error),
    /// The address could not be held (exit status 5).
    #[error("{0}")]
    Network(String),
    /// A failure of callfunnel itself (exit status 70).
    #[error("{0}")]
    Internal(String),
}

/// Binds, loads the inputs, prints `callfunnel: listening on http://ADDR` on
/// stderr and serves until SIGINT or SIGTERM (see [`connections`]); then
/// logs how the answer cache did.
pub fn run(options: ServeOptions) -> Result<(), ServeError> {
    let listener = bind(&options.listen)?;
    let address = listener
        .local_addr()
        .map_err(|err| ServeError::Network(format!("reading the bound address: {err}")))?;
    let dataset = options.source.load().map_err(ServeError::Input)?;
    let calls = dataset.items.newest_first.len();
    if let Some(plan) = &options.faults {
        say(format!("injecting faults: {plan}"));
    }
    let state = Arc::new(
        AppState::new(dataset, options.access, RateLimiter::new(options.limits))
            .with_faults(FaultInjector::new(options.faults))
            .with_body_timeout(options.connections.body_timeout)
            .with_cache(options.cache),
    );
    if let Some(quiet) = options.watch {
        state::watch(options.source, Arc::clone(&state), quiet);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| ServeError::Internal(format!("starting the runtime: {err}")))?;
    say(format!("serving {calls} calls"));
    say(format!("listening on http://{address}"));
    let served = runtime.block_on(connections::serve(
        listener,
        router(Arc::clone(&state)),
        options.connections,
    ));
    say(&state.answers);
    // A computation still running (past the shutdown deadline) is not waited for.
    runtime.shutdown_background();
    served
}

/// The application: the routes inside the pipeline, bodies capped at 1 MiB.
pub fn router(state: Arc<AppState>) -> Router {
    with_pipeline(routes::api(), state)
}

/// `api` inside the pipeline.
fn with_pipeline(api: Router<Arc<AppState>>, state: Arc<AppState>) -> Router {
    api.layer(DefaultBodyLimit::max(routes::BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            pipeline::pipeline,
        ))
        .with_state(state)
}

/// Binds `listen`; an address in use (or otherwise refused) is a network failure.
fn bind(listen: &str) -> Result<TcpListener, ServeError> {
    let addresses: Vec<SocketAddr> = listen
        .to_socket_addrs()
        .map_err(|err| ServeError::Usage(format!("--listen {listen}: {err}")))?
        .collect();
    TcpListener::bind(&addresses[..]).map_err(|err| {
        let reason = if err.kind() == std::io::ErrorKind::AddrInUse {
            "the address is already in use".to_string()
        } else {
            err.to_string()
        };
        ServeError::Network(format!("cannot listen on {listen}: {reason}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::io::{Read, Write};

    use axum::routing::get;
    use callfunnel::model::calls_to_frame;

    use state::Dataset;

    async fn boom() -> &'static str {
        panic!("a deliberate test panic")
    }

    /// Sends one raw HTTP/1.1 GET and returns the whole answer.
    fn get_raw(address: SocketAddr, path: &str, key: &str) -> String {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Api-Key {key}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    }

    /// Sends one raw HTTP/1.1 POST and returns every byte read until the
    /// connection closes (or is reset).
    fn post_raw(address: SocketAddr, path: &str, key: &str) -> Vec<u8> {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Api-Key {key}\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{{}}"
        )
        .unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        answer
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_connection_closes_without_a_byte() {
        let dataset = Dataset::new(calls_to_frame(Vec::new()).unwrap()).unwrap();
        let state = AppState::new(
            dataset,
            Access::Keys(HashSet::from(["k".to_string()])),
            RateLimiter::new(None),
        )
        .with_faults(FaultInjector::new(Some("drop=1,limit=1".parse().unwrap())));
        let app = router(Arc::new(state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });

        let path = "/v2/api/conversations/items/search";
        let (dropped, after) = tokio::task::spawn_blocking(move || {
            (post_raw(address, path, "k"), post_raw(address, path, "k"))
        })
        .await
        .unwrap();
        assert_eq!(String::from_utf8_lossy(&dropped), "");
        let after = String::from_utf8_lossy(&after);
        assert!(after.starts_with("HTTP/1.1 200"), "{after}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_in_a_route_is_a_500_envelope_and_the_server_goes_on() {
        let dataset = Dataset::new(calls_to_frame(Vec::new()).unwrap()).unwrap();
        let state = Arc::new(AppState::new(
            dataset,
            Access::Keys(HashSet::from(["k".to_string()])),
            RateLimiter::new(None),
        ));
        let app = with_pipeline(routes::api().route("/boom", get(boom)), state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });

        let (boom, after) = tokio::task::spawn_blocking(move || {
            (
                get_raw(address, "/boom", "k"),
                get_raw(address, "/v2/api/tags", "k"),
            )
        })
        .await
        .unwrap();
        assert!(boom.starts_with("HTTP/1.1 500"), "{boom}");
        assert!(
            boom.contains(r#""type":"server_error","code":"INTERNAL_ERROR""#),
            "{boom}"
        );
        assert!(boom.contains(r#""retryable":true"#), "{boom}");
        assert!(after.starts_with("HTTP/1.1 200"), "{after}");
        assert!(after.ends_with(r#"{"data":[]}"#), "{after}");
    }
}
