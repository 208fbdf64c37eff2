//! What every request goes through, around the routes: a request id, the key
//! check and then the rate limit (a refused key is never counted, so that
//! what is counted per client stays as few as the keys), the body read
//! within `--body-timeout`, a guard that turns a panic into a 500, the error
//! envelope written with the request id, the `X-RateLimit-*` and
//! `X-Request-Id` headers, and one log line on stderr (with `fault=NAME` when
//! `--inject-faults` answered in the route's place, and a line of its own
//! when the client hangs up before its answer).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::errors::ApiFailure;
use super::faults::{dropped_connection, Fault};
use super::rate_limit::{Class, Quota};
use super::routes::BODY_LIMIT;
use super::state::AppState;
use crate::messages::say;

/// The header carrying the request id, both ways.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The longest request id accepted from a client.
const MAX_CLIENT_REQUEST_ID: usize = 128;

/// The middleware: see the module's documentation.
pub async fn pipeline(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let request_id = request_id(request.headers());
    let mut line = LogLine::new(request.method().clone(), request.uri().path(), &request_id);
    let class = if line.method == Method::GET || line.method == Method::HEAD {
        Class::Read
    } else {
        Class::Write
    };
    let (response, quota) = match state.access.admit(request.headers()) {
        None => (ApiFailure::api_key_invalid().into_response(), None),
        Some(client) => {
            let quota = state.limiter.take(client, class);
            let response = if quota.allowed {
                answer_admitted(&state, request, next, &mut line).await
            } else {
                ApiFailure::rate_limited(quota.limit, 1).into_response()
            };
            (response, Some(quota))
        }
    };
    let response = finish(response, &request_id, &line.method, &line.path, quota);
    line.write(response.status());
    response
}

/// The answer to an admitted request within its rate limit: its body read,
/// then the route's answer, or the fault injected in its place (noted on
/// the log line).
async fn answer_admitted(
    state: &AppState,
    request: Request,
    next: Next,
    line: &mut LogLine,
) -> Response {
    line.fault = is_data_route(&line.method, &line.path)
        .then(|| state.faults.next())
        .flatten();
    match read_body(request, state).await {
        Ok(request) => answer_with(line.fault, next, request, &line.request_id).await,
        Err(failure) => failure.into_response(),
    }
}

/// The request with its body read whole: at most [`BODY_LIMIT`] bytes
/// (413), within the body timeout (408, and the connection is closed).
async fn read_body(request: Request, state: &AppState) -> Result<Request, ApiFailure> {
    let (parts, body) = request.into_parts();
    let limited = Limited::new(body, BODY_LIMIT).collect();
    match tokio::time::timeout(state.body_timeout, limited).await {
        Err(_) => Err(ApiFailure::body_timeout(state.body_timeout)),
        Ok(Err(error)) if error.is::<LengthLimitError>() => {
            Err(ApiFailure::payload_too_large(BODY_LIMIT))
        }
        Ok(Err(error)) => Err(ApiFailure::validation(
            "INVALID_REQUEST_BODY",
            "body",
            format!("The body could not be read: {error}"),
        )),
        Ok(Ok(collected)) => Ok(Request::from_parts(parts, Body::from(collected.to_bytes()))),
    }
}

/// The log line of one request: written once its answer is ready, or, when
/// the client hangs up first (hyper then drops the request's future, and
/// with it this line), as `499` with `client closed the connection`.
struct LogLine {
    started: Instant,
    method: Method,
    path: String,
    request_id: String,
    fault: Option<Fault>,
    written: bool,
}

impl LogLine {
    fn new(method: Method, path: &str, request_id: &str) -> Self {
        LogLine {
            started: Instant::now(),
            method,
            path: path.to_string(),
            request_id: request_id.to_string(),
            fault: None,
            written: false,
        }
    }

    /// `METHOD PATH STATUS MS ms REQUEST_ID[ fault=NAME]`; status 000 for a
    /// connection dropped by `--inject-faults`.
    fn write(&mut self, status: StatusCode) {
        self.written = true;
        let status = match self.fault {
            Some(Fault::Dropped) => 0,
            _ => status.as_u16(),
        };
        say(format_args!(
            "{} {} {status:03} {:.1} ms {}{}",
            self.method,
            self.path,
            self.started.elapsed().as_secs_f64() * 1000.0,
            self.request_id,
            self.fault
                .map_or(String::new(), |fault| format!(" fault={}", fault.name()))
        ));
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        if !self.written {
            say(format_args!(
                "{} {} 499 {:.1} ms {} client closed the connection; its work was stopped",
                self.method,
                self.path,
                self.started.elapsed().as_secs_f64() * 1000.0,
                self.request_id,
            ));
        }
    }
}

/// The log line of an answer written outside the routes (a connection
/// refused, or a request head hyper could not read): no method or path.
pub(super) fn log_unrouted(status: StatusCode, request_id: &str, why: &str) {
    say(format_args!(
        "- - {:03} 0.0 ms {request_id} {why}",
        status.as_u16()
    ));
}

/// Whether faults may be injected on this route: the ones that read the calls.
fn is_data_route(method: &Method, path: &str) -> bool {
    match *method {
        Method::POST => matches!(
            path,
            "/v2/api/analytics/outbound"
                | "/v2/api/conversations/items/search"
                | "/v2/api/conversations/items/batch"
        ),
        Method::GET => path.starts_with("/v2/api/conversations/items/"),
        _ => false,
    }
}

/// The route's answer, or the injected fault in its place (a slow answer is
/// the route's, held back).
async fn answer_with(
    fault: Option<Fault>,
    next: Next,
    request: Request,
    request_id: &str,
) -> Response {
    match fault {
        None => run_guarded(next, request, request_id).await,
        Some(Fault::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            run_guarded(next, request, request_id).await
        }
        Some(Fault::RateLimited {
            retry_after_seconds,
        }) => ApiFailure::injected_rate_limit(retry_after_seconds).into_response(),
        Some(Fault::ServerError) => ApiFailure::injected_server_error().into_response(),
        Some(Fault::Dropped) => dropped_connection(),
    }
}

/// Runs the route on a task of its own, so that a panic in it ends that task
/// only and becomes a 500 answer (the panic message is on stderr already).
/// The task is aborted when the client hangs up (this future is dropped).
async fn run_guarded(next: Next, request: Request, request_id: &str) -> Response {
    let mut task = AbortOnDrop(tokio::spawn(next.run(request)));
    match (&mut task.0).await {
        Ok(response) => response,
        Err(err) => {
            say(format_args!("request {request_id} failed: {err}"));
            ApiFailure::internal("The request failed inside callfunnel; the failure is logged.")
                .into_response()
        }
    }
}

/// A task aborted when its handle is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Writes the envelope of a failure and adds the headers every answer
/// carries (the `X-RateLimit-*` ones when the key was admitted and counted).
fn finish(
    mut response: Response,
    request_id: &str,
    method: &Method,
    path: &str,
    quota: Option<Quota>,
) -> Response {
    let failure = response
        .extensions_mut()
        .remove::<ApiFailure>()
        .or_else(|| failure_of_bare_status(response.status(), method, path));
    if let Some(failure) = failure {
        *response.status_mut() = failure.status;
        *response.body_mut() = Body::from(failure.envelope(request_id));
        let headers = response.headers_mut();
        headers.remove(header::CONTENT_LENGTH);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(seconds) = failure.retry_after_seconds {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if failure.status == StatusCode::REQUEST_TIMEOUT {
            // The rest of a body that came too slowly is not waited for.
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
    }
    let headers = response.headers_mut();
    insert_text(headers, REQUEST_ID, request_id);
    if let Some(quota) = quota {
        headers.insert("x-ratelimit-limit", HeaderValue::from(quota.limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(quota.remaining));
        headers.insert("x-ratelimit-reset", HeaderValue::from(quota.reset));
    }
    response
}

fn insert_text(headers: &mut HeaderMap, name: HeaderName, text: &str) {
    if let Ok(value) = HeaderValue::from_str(text) {
        headers.insert(name, value);
    }
}

/// The envelope for an error answer that the router made without one
/// (a method the route does not take, a body it refused).
fn failure_of_bare_status(status: StatusCode, method: &Method, path: &str) -> Option<ApiFailure> {
    match status {
        StatusCode::NOT_FOUND => Some(ApiFailure::endpoint_not_found(method.as_str(), path)),
        StatusCode::METHOD_NOT_ALLOWED => {
            Some(ApiFailure::method_not_allowed(method.as_str(), path))
        }
        StatusCode::PAYLOAD_TOO_LARGE => Some(ApiFailure::payload_too_large(BODY_LIMIT)),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Some(ApiFailure::unsupported_media_type(None)),
        status if status.is_client_error() => Some(ApiFailure::validation(
            "INVALID_REQUEST_BODY",
            "body",
            format!("The request was refused ({status})."),
        )),
        status if status.is_server_error() => Some(ApiFailure::internal(format!(
            "The request failed ({status})."
        ))),
        _ => None,
    }
}

/// The client's `X-Request-Id` when it is usable (visible ASCII, at most 128
/// characters), else a new `req_` + 12 alphanumeric characters.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|id| {
            !id.is_empty()
                && id.len() <= MAX_CLIENT_REQUEST_ID
                && id.bytes().all(|byte| byte.is_ascii_graphic())
        })
        .map_or_else(new_request_id, str::to_string)
}

/// `req_` + 12 alphanumeric characters, distinct for every request of a run.
pub(super) fn new_request_id() -> String {
    static SEED: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos() as u64);
        nanos ^ u64::from(std::process::id()).rotate_left(32)
    });
    let mut bits = mix(seed.wrapping_add(COUNTER.fetch_add(1, Ordering::Relaxed)));
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut id = String::with_capacity(16);
    id.push_str("req_");
    for _ in 0..12 {
        id.push(ALPHABET[(bits % 62) as usize] as char);
        bits /= 62;
    }
    id
}

/// SplitMix64's finalizer: a bijection of `u64` that scatters neighbours.
pub(super) fn mix(mut bits: u64) -> u64 {
    bits = (bits ^ (bits >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    bits = (bits ^ (bits >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    bits ^ (bits >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn new_request_ids_are_req_and_twelve_alphanumerics_and_distinct() {
        let ids: HashSet<String> = (0..10_000).map(|_| new_request_id()).collect();
        assert_eq!(ids.len(), 10_000);
        for id in &ids {
            let suffix = id.strip_prefix("req_").expect("the req_ prefix");
            assert_eq!(suffix.len(), 12);
            assert!(suffix.bytes().all(|byte| byte.is_ascii_alphanumeric()));
        }
    }

    #[test]
    fn a_usable_client_request_id_is_kept() {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID, HeaderValue::from_static("trace-42"));
        assert_eq!(request_id(&headers), "trace-42");
        headers.insert(REQUEST_ID, HeaderValue::from_static("has space"));
        assert!(request_id(&headers).starts_with("req_"));
    }
}
