//! One connection's bytes: what moved last, for the idle and header
//! timeouts ([`Clock`]), and hyper's own bare answers to request heads it
//! cannot read (400, 431) rewritten as the API's envelope with a
//! request id ([`Wire`]).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;

use super::errors::{raw_answer, ApiFailure};
use super::pipeline::{log_unrouted, new_request_id};

/// Where a connection stands, for its timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a request: no byte of one yet since the connection opened
    /// or since the last byte of its previous answer went out.
    Waiting { since: Instant },
    /// A request head is arriving, since its first byte.
    Head { since: Instant },
    /// The request is being read or answered: the server is at work, the
    /// body has its own timeout.
    Busy,
}

/// Why a connection is closed by its [`Clock`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// No request began within the idle timeout.
    Idle,
    /// A request head did not arrive whole within the header timeout.
    Header,
}

/// The phase of one connection, shared by its [`Wire`] (bytes moved) and
/// its service (a request begun, an answer ready).
#[derive(Debug, Clone)]
pub struct Clock(Arc<ClockState>);

#[derive(Debug)]
struct ClockState {
    phase: Mutex<Phase>,
    /// Woken when the phase changes, so that a new deadline is taken.
    changed: Notify,
}

impl Clock {
    /// A clock for a connection that just opened.
    pub fn opened() -> Self {
        Clock(Arc::new(ClockState {
            phase: Mutex::new(Phase::Waiting {
                since: Instant::now(),
            }),
            changed: Notify::new(),
        }))
    }

    /// Applies `change`; a new phase (not a later `since`) is announced.
    fn update(&self, change: impl FnOnce(Phase) -> Phase) {
        let mut phase = self
            .0
            .phase
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let before = std::mem::discriminant(&*phase);
        *phase = change(*phase);
        if std::mem::discriminant(&*phase) != before {
            self.0.changed.notify_one();
        }
    }

    fn phase(&self) -> Phase {
        *self
            .0
            .phase
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Resolves once the phase changed (since the last call).
    pub async fn changed(&self) {
        self.0.changed.notified().await;
    }

    /// Bytes arrived: the first byte of a request starts its head.
    fn received(&self) {
        self.update(|phase| match phase {
            Phase::Waiting { .. } => Phase::Head {
                since: Instant::now(),
            },
            other => other,
        });
    }

    /// Bytes of an answer went out: the wait for the next request restarts.
    fn sent(&self) {
        self.update(|phase| match phase {
            Phase::Waiting { .. } => Phase::Waiting {
                since: Instant::now(),
            },
            other => other,
        });
    }

    /// The request's head was read: the route runs.
    pub fn request_began(&self) {
        self.update(|_| Phase::Busy);
    }

    /// The answer is ready to be sent.
    pub fn answer_ready(&self) {
        self.update(|_| Phase::Waiting {
            since: Instant::now(),
        });
    }

    /// When the connection expires if nothing moves, and why (`None` while busy).
    pub fn deadline(&self, idle: Duration, header: Duration) -> Option<(Instant, Expiry)> {
        match self.phase() {
            Phase::Waiting { since } => Some((since + idle, Expiry::Idle)),
            Phase::Head { since } => Some((since + header, Expiry::Header)),
            Phase::Busy => None,
        }
    }
}

/// A connection's stream, telling its [`Clock`] what moves and rewriting
/// hyper's bare rejections of unreadable request heads.
pub struct Wire {
    stream: TcpStream,
    clock: Clock,
    max_head_bytes: usize,
    /// The envelope answer being written in place of hyper's bare one: its
    /// bytes, how many are written, and the length of hyper's answer.
    rewrite: Option<(Vec<u8>, usize, usize)>,
}

impl Wire {
    /// Wraps `stream`, refusing heads over `max_head_bytes` as hyper does.
    pub fn new(stream: TcpStream, clock: Clock, max_head_bytes: usize) -> Self {
        Wire {
            stream,
            clock,
            max_head_bytes,
            rewrite: None,
        }
    }

    /// Writes the rest of the rewritten answer; done, it reports hyper's
    /// whole answer written.
    fn poll_rewrite(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        while let Some((bytes, written, replaced)) = &mut self.rewrite {
            if *written == bytes.len() {
                let replaced = *replaced;
                self.rewrite = None;
                return Poll::Ready(Ok(replaced));
            }
            let count = ready!(Pin::new(&mut self.stream).poll_write(cx, &bytes[*written..]))?;
            if count == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += count;
        }
        Poll::Ready(Ok(0))
    }
}

/// The status of `bytes` when they are exactly one of hyper's own answers to
/// a request head it cannot read: a complete head without a body, status 400
/// or 431 (hyper's 414 cannot come: a URI it finds too long is beyond the
/// head limit first), and no `X-Request-Id` (which every answer of the
/// routes carries, see `super::pipeline`).
fn hyper_rejection(bytes: &[u8]) -> Option<StatusCode> {
    let head = std::str::from_utf8(bytes).ok()?;
    let status = head.strip_prefix("HTTP/1.1 ")?.get(..3)?;
    let whole_head = head.find("\r\n\r\n").map(|end| end + 4) == Some(head.len());
    let ours = head.to_ascii_lowercase().contains("\r\nx-request-id:");
    match status {
        "400" | "431" if whole_head && !ours => StatusCode::from_bytes(status.as_bytes()).ok(),
        _ => None,
    }
}

impl AsyncRead for Wire {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.stream).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            this.clock.received();
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Wire {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.rewrite.is_none() {
            if let Some(status) = hyper_rejection(buf) {
                let request_id = new_request_id();
                let failure = ApiFailure::unreadable_head(status, this.max_head_bytes);
                log_unrouted(status, &request_id, "the request head was refused");
                this.rewrite = Some((raw_answer(&failure, &request_id), 0, buf.len()));
            }
        }
        if this.rewrite.is_some() {
            return this.poll_rewrite(cx);
        }
        let count = ready!(Pin::new(&mut this.stream).poll_write(cx, buf))?;
        if count > 0 {
            this.clock.sent();
        }
        Poll::Ready(Ok(count))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hyper_s_own_bare_rejections_are_recognised() {
        let bare = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Thu, 01 Jan 2026 00:00:00 GMT\r\n\r\n";
        assert_eq!(
            hyper_rejection(bare),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
        assert_eq!(
            hyper_rejection(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"),
            Some(StatusCode::BAD_REQUEST)
        );
        // An answer of the routes: it has a request id, and a body.
        let routed =
            b"HTTP/1.1 400 Bad Request\r\nx-request-id: req_1\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(hyper_rejection(routed), None);
        assert_eq!(hyper_rejection(&routed[..routed.len() - 2]), None);
        assert_eq!(
            hyper_rejection(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"),
            None
        );
        assert_eq!(hyper_rejection(b"{\"data\":[]}"), None);
    }

    #[test]
    fn the_clock_counts_idle_from_the_last_answer_and_the_head_from_its_first_byte() {
        let clock = Clock::opened();
        let (idle, header) = (Duration::from_secs(30), Duration::from_secs(10));
        let (_, why) = clock.deadline(idle, header).unwrap();
        assert_eq!(why, Expiry::Idle);
        clock.received();
        let (first_byte, why) = clock.deadline(idle, header).unwrap();
        assert_eq!(why, Expiry::Header);
        clock.received();
        assert_eq!(clock.deadline(idle, header).unwrap().0, first_byte);
        clock.request_began();
        clock.sent();
        assert_eq!(clock.deadline(idle, header), None);
        clock.answer_ready();
        assert_eq!(clock.deadline(idle, header).unwrap().1, Expiry::Idle);
    }
}
