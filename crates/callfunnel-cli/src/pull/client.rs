//! A well-behaved client of Allo's API: `Authorization: Api-Key …`, paced
//! under the documented rate limit, waiting as a 429 says, retrying 5xx
//! answers, answers that are not JSON and network errors with a bounded
//! exponential backoff. An answer is read up to [`MAX_ANSWER_BYTES`], never
//! further; a redirect is followed only when it keeps the POST a POST on the
//! same origin (307, 308).

use std::thread::sleep;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::Client;
use reqwest::StatusCode;
use serde_json::Value;

/// Allo's documented limit for POSTs, per key and per second.
pub const DEFAULT_POSTS_PER_SECOND: f64 = 5.0;

/// Allo's API.
pub const DEFAULT_BASE_URL: &str = "https://api.withallo.com";

/// How long one HTTP exchange may take before it counts as a network error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The longest wait between two tries, whatever the backoff or the server says.
const MAX_WAIT: Duration = Duration::from_secs(120);

/// How many 429 answers in a row one call accepts before giving up.
const MAX_THROTTLED: u32 = 50;

/// The largest answer read (a search page of 100 calls is about 60 KiB, an
/// analytics answer of the most buckets about 3 MiB): 64 MiB.
pub const MAX_ANSWER_BYTES: usize = 64 << 20;

/// The most redirects followed for one request.
const MAX_REDIRECTS: usize = 5;

/// Why a call to the API failed for good.
#[derive(Debug, thiserror::Error)]
pub enum ApiCallError {
    /// The API answered with a client error (bad key, bad request): retrying
    /// the same call cannot help.
    #[error("the API refused {path} with HTTP {status}: {message}")]
    Refused {
        /// The route called.
        path: String,
        /// The HTTP status.
        status: u16,
        /// The envelope's `code: message`, or the body's text.
        message: String,
    },
    /// Every try failed with a server error or a network error.
    #[error("the API could not be reached at {path} after {tries} tries: {last}")]
    Unreachable {
        /// The route called.
        path: String,
        /// How many times it was tried.
        tries: u32,
        /// The last failure.
        last: String,
    },
    /// Every try was answered, with a body that is not JSON: a fault of the
    /// API's (or of what stands between).
    #[error("the API answered {path} {tries} times with a body that is not JSON (the API is at fault): {last}")]
    NotJson {
        /// The route called.
        path: String,
        /// How many times it was tried.
        tries: u32,
        /// What the last body was.
        last: String,
    },
    /// The answer was larger than [`MAX_ANSWER_BYTES`]; reading stopped there.
    #[error("the API's answer to {path} is larger than {} MiB: reading stopped there", MAX_ANSWER_BYTES >> 20)]
    TooLarge {
        /// The route called.
        path: String,
    },
    /// The API redirected the request where it cannot follow.
    #[error("the API redirected {path}: {reason}")]
    Redirected {
        /// The route called.
        path: String,
        /// Where to, and why it was not followed.
        reason: String,
    },
}

/// What a client sends and how patient it is.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The API's address, e.g. `https://api.withallo.com` or `http://127.0.0.1:8080`.
    pub base_url: String,
    /// The API key, sent as `Authorization: Api-Key KEY`.
    pub api_key: String,
    /// At most this many POSTs a second.
    pub posts_per_second: f64,
    /// Tries after the first one, for server and network errors.
    pub max_retries: u32,
    /// The first backoff; each retry doubles it.
    pub first_backoff: Duration,
}

/// What the client met and tried again, for the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retries {
    /// 429 answers, each waited for as it said.
    pub throttled: u32,
    /// 5xx answers.
    pub server_errors: u32,
    /// Network errors: no answer (refused, dropped, timed out, cut short).
    pub network_errors: u32,
    /// Successful statuses whose body is not JSON.
    pub not_json: u32,
    /// Time spent waiting before the tries again (pacing aside).
    pub waited: Duration,
}

impl Retries {
    /// Every failed try.
    pub fn total(&self) -> u32 {
        self.throttled + self.server_errors + self.network_errors + self.not_json
    }
}

/// The client: one connection pool, one pace.
pub struct ApiClient {
    http: Client,
    runtime: tokio::runtime::Runtime,
    options: ClientOptions,
    last_post: Option<Instant>,
    /// HTTP requests sent, retries included.
    pub requests_sent: u64,
    /// The tries that failed and were made again.
    pub retries: Retries,
}

impl ApiClient {
    /// A client for `options.base_url`.
    pub fn new(options: ClientOptions) -> Result<ApiClient, std::io::Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let http = Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .redirect(redirect_policy())
            .user_agent(concat!("callfunnel/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(ApiClient {
            http,
            runtime,
            options,
            last_post: None,
            requests_sent: 0,
            retries: Retries::default(),
        })
    }

    /// The API's address, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        self.options.base_url.trim_end_matches('/')
    }

    /// The hash of the key, as a pages folder records it.
    pub fn key_hash(&self) -> String {
        super::key_hash(&self.options.api_key)
    }

    /// POSTs `body` as JSON to `path` and returns the JSON answer, pacing,
    /// waiting and retrying as the module docs say.
    pub fn post(&mut self, path: &str, body: &Value) -> Result<Value, ApiCallError> {
        let url = format!("{}{path}", self.base_url());
        let (mut failures, mut throttled) = (0, 0);
        loop {
            self.pace();
            self.requests_sent += 1;
            let request = self
                .http
                .post(&url)
                .header("Authorization", format!("Api-Key {}", self.options.api_key))
                .json(body);
            let outcome = self.runtime.block_on(exchange(request));
            let (wait, last) = match outcome {
                Err(Failed::TooLarge) => {
                    return Err(ApiCallError::TooLarge {
                        path: path.to_string(),
                    })
                }
                Err(Failed::Network(error)) if error.is_redirect() => {
                    return Err(ApiCallError::Redirected {
                        path: path.to_string(),
                        reason: redirect_reason(&error),
                    })
                }
                Ok(answer) if answer.status.is_success() => {
                    match serde_json::from_slice(&answer.body) {
                        Ok(value) => return Ok(value),
                        Err(error) => {
                            self.retries.not_json += 1;
                            (
                                None,
                                Retryable::NotJson(format!(
                                    "HTTP {}: {error}",
                                    answer.status.as_u16()
                                )),
                            )
                        }
                    }
                }
                Ok(answer) => {
                    let status = answer.status;
                    let retry_after = answer.retry_after;
                    let text = String::from_utf8_lossy(&answer.body).into_owned();
                    let envelope: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    let message = envelope_message(&envelope).unwrap_or(text);
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        self.retries.throttled += 1;
                        if throttled < MAX_THROTTLED {
                            // The server said how long to wait: not a failure.
                            throttled += 1;
                            let asked = retry_after.or_else(|| retry_after_in_body(&envelope));
                            self.wait(asked.unwrap_or(self.backoff(1)));
                            continue;
                        }
                    } else if status.is_server_error() {
                        self.retries.server_errors += 1;
                    } else {
                        return Err(ApiCallError::Refused {
                            path: path.to_string(),
                            status: status.as_u16(),
                            message,
                        });
                    }
                    (
                        retry_after,
                        Retryable::Unreachable(format!("HTTP {}: {message}", status.as_u16())),
                    )
                }
                Err(Failed::Network(error)) => {
                    self.retries.network_errors += 1;
                    (None, Retryable::Unreachable(error_chain(&error)))
                }
            };
            failures += 1;
            if failures > self.options.max_retries {
                return Err(last.into_error(path, failures));
            }
            self.wait(wait.unwrap_or(self.backoff(failures)));
        }
    }

    /// Sleeps `wait` (at most [`MAX_WAIT`]) before a try again, and counts it.
    fn wait(&mut self, wait: Duration) {
        let wait = wait.min(MAX_WAIT);
        self.retries.waited += wait;
        sleep(wait);
    }

    /// Sleeps until the next POST keeps within the pace.
    fn pace(&mut self) {
        let interval = Duration::from_secs_f64(1.0 / self.options.posts_per_second);
        if let Some(last) = self.last_post {
            let next = last + interval;
            let now = Instant::now();
            if next > now {
                sleep(next - now);
            }
        }
        self.last_post = Some(Instant::now());
    }

    /// The wait before try `failures + 1`: the first backoff doubled each time.
    fn backoff(&self, failures: u32) -> Duration {
        self.options
            .first_backoff
            .saturating_mul(1 << failures.saturating_sub(1).min(16))
    }
}

/// A failed try that may be tried again, by kind.
enum Retryable {
    /// A 5xx answer or a network error.
    Unreachable(String),
    /// A successful status with a body that is not JSON.
    NotJson(String),
}

impl Retryable {
    /// The error once the tries are exhausted.
    fn into_error(self, path: &str, tries: u32) -> ApiCallError {
        let path = path.to_string();
        match self {
            Retryable::Unreachable(last) => ApiCallError::Unreachable { path, tries, last },
            Retryable::NotJson(last) => ApiCallError::NotJson { path, tries, last },
        }
    }
}

/// One HTTP exchange, its body read whole.
struct Answer {
    status: StatusCode,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

/// Why an exchange brought no answer.
enum Failed {
    /// No answer: refused, dropped, timed out, cut short, or a redirect refused.
    Network(reqwest::Error),
    /// An answer beyond [`MAX_ANSWER_BYTES`].
    TooLarge,
}

/// Sends `request` and reads the answer, at most [`MAX_ANSWER_BYTES`] of it.
async fn exchange(request: reqwest::RequestBuilder) -> Result<Answer, Failed> {
    let mut response = request.send().await.map_err(Failed::Network)?;
    let status = response.status();
    let retry_after = retry_after_header(response.headers());
    let announced = response.content_length().unwrap_or(0);
    if announced > MAX_ANSWER_BYTES as u64 {
        return Err(Failed::TooLarge);
    }
    let mut body = Vec::with_capacity(announced as usize);
    while let Some(chunk) = response.chunk().await.map_err(Failed::Network)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(Failed::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        retry_after,
        body,
    })
}

/// Redirects kept only when they cannot change the request: 307 or 308
/// (a POST stays a POST with its body) to the same origin (the key goes
/// nowhere else), at most [`MAX_REDIRECTS`] of them.
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let status = attempt.status().as_u16();
        let to = attempt.url().clone();
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == to.origin());
        if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else if !matches!(status, 307 | 308) {
            attempt.error(format!(
                "{status} to {to}, which would turn the POST into a GET: give --base-url the address it points to"
            ))
        } else if !same_origin {
            attempt.error(format!(
                "{status} to another origin, {}: not followed (the key stays with the address given); give --base-url {} to use it",
                to.origin().ascii_serialization(),
                to.origin().ascii_serialization()
            ))
        } else {
            attempt.follow()
        }
    })
}

/// The reason a redirect policy gave, without reqwest's wrapping.
fn redirect_reason(error: &reqwest::Error) -> String {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if cause.source().is_none() {
            return cause.to_string();
        }
        source = cause.source();
    }
    error.to_string()
}

/// An error with its causes (`error sending request: connection closed
/// before message completed`), as reqwest's own text names only the first.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `Retry-After` in seconds, when the header holds a number.
fn retry_after_header(headers: &HeaderMap) -> Option<Duration> {
    let seconds: f64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    seconds_to_wait(seconds)
}

/// The envelope's `error.retry_after_seconds`.
fn retry_after_in_body(envelope: &Value) -> Option<Duration> {
    seconds_to_wait(envelope.pointer("/error/retry_after_seconds")?.as_f64()?)
}

/// A non-negative, finite number of seconds as a wait.
fn seconds_to_wait(seconds: f64) -> Option<Duration> {
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(1e6)))
}

/// `CODE: message` of an API error envelope.
fn envelope_message(envelope: &Value) -> Option<String> {
    let error = envelope.get("error")?;
    let message = error.get("message")?.as_str()?;
    Some(match error.get("code").and_then(Value::as_str) {
        Some(code) => format!("{code}: {message}"),
        None => message.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn waits_come_from_the_header_or_the_envelope() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "2".parse().expect("a header value"));
        assert_eq!(retry_after_header(&headers), Some(Duration::from_secs(2)));
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015".parse().expect("a header value"),
        );
        assert_eq!(retry_after_header(&headers), None);
        let envelope = json!({"error": {"code": "RATE_LIMIT_EXCEEDED", "message": "slow down", "retry_after_seconds": 0.5}});
        assert_eq!(
            retry_after_in_body(&envelope),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            envelope_message(&envelope).as_deref(),
            Some("RATE_LIMIT_EXCEEDED: slow down")
        );
        assert_eq!(seconds_to_wait(-1.0), None);
        assert_eq!(seconds_to_wait(f64::NAN), None);
    }

    #[test]
    fn the_backoff_doubles_from_the_first() {
        let client = ApiClient::new(ClientOptions {
            base_url: "http://127.0.0.1:9".into(),
            api_key: "k".into(),
            posts_per_second: 5.0,
            max_retries: 3,
            first_backoff: Duration::from_millis(100),
        })
        .expect("a client");
        let waits: Vec<u128> = (1..=4).map(|n| client.backoff(n).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800]);
    }

    #[test]
    fn an_unreachable_api_fails_after_the_retries() {
        // Port 9 (discard) on loopback: nothing listens, the connection is refused.
        let mut client = ApiClient::new(ClientOptions {
            base_url: "http://127.0.0.1:9".into(),
            api_key: "k".into(),
            posts_per_second: 1000.0,
            max_retries: 2,
            first_backoff: Duration::from_millis(1),
        })
        .expect("a client");
        let error = client
            .post("/v2/api/conversations/items/search", &json!({}))
            .expect_err("nothing listens");
        assert!(
            matches!(error, ApiCallError::Unreachable { tries: 3, .. }),
            "{error}"
        );
        assert_eq!(client.requests_sent, 3);
    }
}
