//! The connections: accepted up to a limit (the rest answered 503), each
//! served by hyper's HTTP/1 with the head bounded and the idle and header
//! timeouts watched, and stopped on SIGINT or SIGTERM: new connections are
//! refused, the answers in flight finish within the shutdown deadline, and a
//! second signal stops the server at once.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use super::errors::{raw_answer, ApiFailure};
use super::pipeline::{log_unrouted, new_request_id};
use super::wire::{Clock, Expiry, Wire};
use super::ServeError;
use crate::messages::say;

/// The largest request line and headers accepted (431 beyond).
pub const MAX_HEAD_BYTES: usize = 64 << 10;

// hyper answers a URI over 65,534 bytes with a bare 414, which `wire` does not
// rewrite: the head limit must refuse such a URI first (431, rewritten). The
// shortest head holding one is `M URI HTTP/1.1\r\n\r\n`.
const _: () = assert!(MAX_HEAD_BYTES < 65_535 + "M  HTTP/1.1\r\n\r\n".len());

/// The most headers a request may carry (431 beyond).
pub const MAX_HEADERS: usize = 100;

/// How long connections may take, and how many there may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A request's head must arrive whole within this of its first byte.
    pub header_timeout: Duration,
    /// A request's body must arrive whole within this of its head (408).
    pub body_timeout: Duration,
    /// A connection waiting for a request (opened, or its last answer sent)
    /// is closed when no byte came for this long.
    pub idle_timeout: Duration,
    /// Connections served at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// After SIGINT or SIGTERM, the answers in flight get this long.
    pub shutdown_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 256,
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

/// Serves `app` on `listener` until a stop signal, then stops as the module
/// docs say.
pub async fn serve(
    listener: std::net::TcpListener,
    app: Router,
    limits: ConnectionLimits,
) -> Result<(), ServeError> {
    let listener = listener
        .set_nonblocking(true)
        .and_then(|()| TcpListener::from_std(listener))
        .map_err(|err| ServeError::Network(format!("listening: {err}")))?;
    let mut signals = StopSignals::new()
        .map_err(|err| ServeError::Internal(format!("catching signals: {err}")))?;
    let (stop, stopping) = watch::channel(());
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let signal = tokio::select! {
        never = accept_for_ever(&listener, &app, limits, &slots, &stopping) => match never {},
        signal = signals.next() => signal,
    };
    drop(listener);
    say(format_args!(
        "shutting down (signal {signal}): new connections refused, answers in flight get {} s; a second signal stops at once",
        limits.shutdown_timeout.as_secs_f64()
    ));
    drop(stopping);
    stop.send_replace(());
    let everyone = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    tokio::select! {
        _ = slots.acquire_many(everyone) => say("stopped"),
        () = tokio::time::sleep(limits.shutdown_timeout) => say(format_args!(
            "stopped: {} connections still open after {} s were closed",
            limits.max_connections - slots.available_permits(),
            limits.shutdown_timeout.as_secs_f64()
        )),
        signal = signals.next() => {
            say(format_args!("signal {signal} again: stopped at once"));
            std::process::exit(128 + signal);
        }
    }
    Ok(())
}

/// Accepts connections for ever, each served on a task of its own.
async fn accept_for_ever(
    listener: &TcpListener,
    app: &Router,
    limits: ConnectionLimits,
    slots: &Arc<Semaphore>,
    stopping: &watch::Receiver<()>,
) -> Infallible {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors, most likely: the connections
                // open will close, by their timeouts at the latest.
                say(format_args!("accepting a connection failed: {err}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        match Arc::clone(slots).try_acquire_owned() {
            Ok(slot) => {
                let connection =
                    serve_connection(stream, peer, app.clone(), limits, stopping.clone());
                tokio::spawn(hold_slot(slot, connection));
            }
            Err(_) => {
                tokio::spawn(refuse_busy(stream, limits.max_connections));
            }
        }
    }
}

/// Runs `connection`, its slot held meanwhile.
async fn hold_slot(slot: OwnedSemaphorePermit, connection: impl Future<Output = ()>) {
    connection.await;
    drop(slot);
}

/// Serves one connection until it ends, expires, or is shut down.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: ConnectionLimits,
    mut stopping: watch::Receiver<()>,
) {
    let clock = Clock::opened();
    let io = TokioIo::new(Wire::new(stream, clock.clone(), MAX_HEAD_BYTES));
    let routes = TowerToHyperService::new(app);
    let service_clock = clock.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        service_clock.request_began();
        let answer = hyper::service::Service::call(&routes, request.map(Body::new));
        let clock = service_clock.clone();
        async move {
            let answer = answer.await;
            clock.answer_ready();
            answer
        }
    });
    let connection = http1::Builder::new()
        .max_header_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS)
        // The read buffer holds a head at most (and body chunks).
        .max_buf_size(MAX_HEAD_BYTES + 8192)
        // The clock times heads: hyper's own timer would also close a
        // connection idle for as long.
        .header_read_timeout(None)
        .serve_connection(io, service);
    tokio::pin!(connection);
    let mut shutting_down = false;
    loop {
        let deadline = clock.deadline(limits.idle_timeout, limits.header_timeout);
        let expiry = async {
            match deadline {
                Some((at, why)) => {
                    tokio::time::sleep_until(at.into()).await;
                    why
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = connection.as_mut() => return,
            () = clock.changed() => {}
            why = expiry => {
                // The deadline may have moved while it slept.
                if clock.deadline(limits.idle_timeout, limits.header_timeout) == deadline {
                    if why == Expiry::Header {
                        say(format_args!(
                            "closed the connection of {peer}: its request head did not arrive within {} s",
                            limits.header_timeout.as_secs_f64()
                        ));
                    }
                    return;
                }
            }
            _ = stopping.changed(), if !shutting_down => {
                shutting_down = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Answers a connection beyond the limit 503 `TOO_MANY_CONNECTIONS` and
/// closes it, reading what the client sent meanwhile (briefly) so that it
/// gets the answer rather than a reset.
async fn refuse_busy(mut stream: TcpStream, limit: usize) {
    let request_id = new_request_id();
    let failure = ApiFailure::too_many_connections(limit);
    log_unrouted(failure.status, &request_id, "refused: too many connections");
    let answer = raw_answer(&failure, &request_id);
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(&answer).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<(), std::io::Error>(())
    })
    .await;
}

/// SIGINT (Ctrl-C) and SIGTERM, as many times as they come.
struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn new() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(StopSignals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignals {})
    }

    /// The next signal's number (2 for SIGINT, 15 for SIGTERM).
    async fn next(&mut self) -> i32 {
        #[cfg(unix)]
        {
            tokio::select! {
                Some(()) = self.interrupt.recv() => 2,
                Some(()) = self.terminate.recv() => 15,
                else => std::future::pending().await,
            }
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            2
        }
    }
}
