//! The routes: the engine, the conversation items and the reference data.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use callfunnel::{compute, EngineError, Request};
use polars::prelude::IntoLazy;
use serde::Serialize;
use serde_json::{json, Value};

use super::cache::AnswerKey;
use super::errors::ApiFailure;
use super::items::{ConversationItem, Shared};
use super::search::SearchQuery;
use super::state::{AppState, Dataset};
use crate::messages::say;

/// Largest request body accepted: 1 MiB.
pub const BODY_LIMIT: usize = 1 << 20;

/// Most ids a batch may ask for.
pub const MAX_BATCH_IDS: usize = 100;

/// A route served, as `GET /v2/api/me` lists it.
pub struct Endpoint {
    /// HTTP method.
    pub method: &'static str,
    /// Path (`{id}` for a path parameter).
    pub path: &'static str,
    /// What it answers.
    pub description: &'static str,
    /// The scope a real key needs for it.
    pub scope: &'static str,
}

/// Every route served.
pub const ENDPOINTS: [Endpoint; 8] = [
    Endpoint {
        method: "POST",
        path: "/v2/api/analytics/outbound",
        description: "Outbound call metrics: funnel, time series, heatmap, leaderboard",
        scope: "CONVERSATIONS_READ",
    },
    Endpoint {
        method: "POST",
        path: "/v2/api/conversations/items/search",
        description: "Search calls with filters",
        scope: "CONVERSATIONS_READ",
    },
    Endpoint {
        method: "GET",
        path: "/v2/api/conversations/items/{id}",
        description: "One call by id",
        scope: "CONVERSATIONS_READ",
    },
    Endpoint {
        method: "POST",
        path: "/v2/api/conversations/items/batch",
        description: "Up to 100 calls by id",
        scope: "CONVERSATIONS_READ",
    },
    Endpoint {
        method: "GET",
        path: "/v2/api/users",
        description: "The users seen in the calls",
        scope: "USERS_READ",
    },
    Endpoint {
        method: "GET",
        path: "/v2/api/numbers",
        description: "The Allo numbers seen in the calls",
        scope: "PHONE_NUMBERS_READ",
    },
    Endpoint {
        method: "GET",
        path: "/v2/api/tags",
        description: "The tags seen in the calls",
        scope: "TAGS_READ",
    },
    Endpoint {
        method: "GET",
        path: "/v2/api/me",
        description: "This key's scopes, endpoints and rate limits",
        scope: "",
    },
];

/// The routes, without the pipeline (see `super::pipeline`).
pub fn api() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v2/api/analytics/outbound", post(outbound))
        .route("/v2/api/conversations/items/search", post(search))
        .route("/v2/api/conversations/items/batch", post(batch))
        .route("/v2/api/conversations/items/{id}", get(item))
        .route("/v2/api/users", get(users))
        .route("/v2/api/numbers", get(numbers))
        .route("/v2/api/tags", get(tags))
        .route("/v2/api/me", get(me))
        .fallback(not_found)
}

/// `{"data": …}`, the API's wrapper of every answer.
#[derive(Serialize)]
struct Data<T: Serialize> {
    data: T,
}

/// An Allo number and its label (`GET /v2/api/numbers`).
#[derive(Serialize)]
struct NumberEntry {
    number: Shared,
    label: Option<Shared>,
}

/// A tag (`GET /v2/api/tags`): its key, its name (the key) and how many calls carry it.
#[derive(Serialize)]
struct TagEntry<'a> {
    key: &'a str,
    name: &'a str,
    count: u64,
}

/// A 200 answer with a JSON body.
pub fn json_response(text: impl Into<Body>) -> Response {
    let mut response = Response::new(text.into());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Serializes a body for a 200 answer.
fn json_answer(value: &impl Serialize) -> Result<Response, ApiFailure> {
    serde_json::to_string(value)
        .map(json_response)
        .map_err(|err| ApiFailure::internal(format!("serializing the answer: {err}")))
}

/// Whether a `Content-Type` names JSON (`application/json`, `…+json`, any parameters).
fn is_json(content_type: &str) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// The body as text, once it is known to be JSON of at most [`BODY_LIMIT`] bytes.
fn json_text(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<String, ApiFailure> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|value| value.to_str().unwrap_or("(not text)"));
    if !content_type.is_some_and(is_json) {
        return Err(ApiFailure::unsupported_media_type(content_type));
    }
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiFailure::payload_too_large(BODY_LIMIT)
        } else {
            ApiFailure::validation(
                "INVALID_REQUEST_BODY",
                "body",
                format!("The body could not be read: {rejection}"),
            )
        }
    })?;
    String::from_utf8(bytes.to_vec()).map_err(|_| {
        ApiFailure::validation("INVALID_REQUEST_BODY", "body", "The body is not UTF-8.")
    })
}

/// The body as a JSON value; an empty body is `null`.
fn json_value(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Value, ApiFailure> {
    let text = json_text(headers, body)?;
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&text).map_err(|err| {
        ApiFailure::validation(
            "INVALID_REQUEST_BODY",
            "body",
            format!("The body is not valid JSON: {err}"),
        )
    })
}

/// Runs blocking work (the engine, a scan of every item) off the async
/// workers, one piece per core at a time (see [`ComputeSlots`]). When the
/// client hangs up (this future is dropped), work still waiting for a core
/// is skipped and work under way is told so through its [`Cancellation`].
async fn blocking<T: Send + 'static>(
    work: impl FnOnce(&Cancellation) -> Result<T, ApiFailure> + Send + 'static,
) -> Result<T, ApiFailure> {
    let cancellation = Cancellation::default();
    let _cancel_on_drop = CancelOnDrop(cancellation.clone());
    tokio::task::spawn_blocking(move || {
        ComputeSlots::global().run(|| {
            if cancellation.is_cancelled() {
                return Err(Cancellation::failure());
            }
            work(&cancellation)
        })
    })
    .await
    .unwrap_or_else(|err| {
        Err(ApiFailure::internal(format!(
            "the computation failed: {err}"
        )))
    })
}

/// Whether the request that started a piece of work is gone (its client
/// hung up), so that the work may stop.
#[derive(Debug, Clone, Default)]
pub struct Cancellation(Arc<AtomicBool>);

impl Cancellation {
    /// Whether the work may stop.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Tells the work to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// The result of work stopped: nobody reads it, the client is gone.
    pub fn failure() -> ApiFailure {
        ApiFailure::internal("The work stopped: the client closed the connection.")
    }
}

/// Cancels its work when dropped (with the request's future).
struct CancelOnDrop(Cancellation);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// How many computations run at once: one per core. More would only share
/// the cores, and each would hold its scoped calls in memory meanwhile, so
/// memory would grow with the number of clients; the others wait their turn.
struct ComputeSlots {
    busy: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
    limit: usize,
}

impl ComputeSlots {
    fn global() -> &'static ComputeSlots {
        static SLOTS: std::sync::OnceLock<ComputeSlots> = std::sync::OnceLock::new();
        SLOTS.get_or_init(|| ComputeSlots {
            busy: std::sync::Mutex::new(0),
            freed: std::sync::Condvar::new(),
            limit: std::thread::available_parallelism().map_or(2, usize::from),
        })
    }

    /// Runs `work` once a slot is free (waiting on this blocking thread).
    fn run<T>(&self, work: impl FnOnce() -> T) -> T {
        let mut busy = self
            .busy
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        while *busy >= self.limit {
            busy = self
                .freed
                .wait(busy)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        *busy += 1;
        drop(busy);
        let _slot = SlotGuard(self);
        work()
    }
}

/// Frees its slot when dropped, also when the work panics.
struct SlotGuard<'a>(&'a ComputeSlots);

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        let mut busy = self
            .0
            .busy
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *busy -= 1;
        self.0.freed.notify_one();
    }
}

/// `POST /v2/api/analytics/outbound`: the engine, the same bytes as
/// `metrics`, from the answer cache when the same request was answered on
/// the same data (see [`super::cache`]).
async fn outbound(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiFailure> {
    let text = json_text(&headers, body)?;
    let request =
        Request::from_json_str(&text).map_err(|err| ApiFailure::from_request_error(&err))?;
    let (version, dataset) = state.versioned();
    let key = AnswerKey::new(version, &request);
    let answer = state
        .answers
        .answer(key, move || {
            blocking(move |_| {
                analytics_answer(&dataset, &request).map_err(|err| {
                    say(format!("the engine failed: {err}"));
                    ApiFailure::internal(format!("The computation failed: {err}"))
                })
            })
        })
        .await?;
    Ok(json_response(answer))
}

/// The engine's answer to `request`, from the calls it can count.
fn analytics_answer(dataset: &Dataset, request: &Request) -> Result<Bytes, EngineError> {
    let calls = dataset.calls.for_request(request)?;
    Ok(Bytes::from(
        compute(calls.lazy(), request)?.to_json_pretty(),
    ))
}

/// `POST /v2/api/conversations/items/search`.
async fn search(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiFailure> {
    let query = SearchQuery::from_body(&json_value(&headers, body)?)?;
    let dataset = state.dataset();
    blocking(move |cancellation| {
        let page = query
            .run(&dataset.items, cancellation)
            .ok_or_else(Cancellation::failure)?;
        json_answer(&page)
    })
    .await
}

/// `GET /v2/api/conversations/items/{id}`: `{"data": ConversationItem}`.
async fn item(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiFailure> {
    let dataset = state.dataset();
    let item = dataset
        .items
        .get(&id)
        .ok_or_else(|| ApiFailure::item_not_found(&id))?;
    json_answer(&Data { data: item })
}

/// `POST /v2/api/conversations/items/batch`: `{"ids": [...]}` (at most 100) →
/// `{"data": [ConversationItem…]}` in the order asked, unknown ids left out.
async fn batch(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiFailure> {
    let ids = batch_ids(&json_value(&headers, body)?)?;
    let dataset = state.dataset();
    let items: Vec<&ConversationItem> = ids.iter().filter_map(|id| dataset.items.get(id)).collect();
    json_answer(&Data { data: items })
}

/// The `ids` of a batch body.
fn batch_ids(body: &Value) -> Result<Vec<String>, ApiFailure> {
    let wrong = || {
        ApiFailure::validation(
            "INVALID_REQUEST_BODY",
            "ids",
            "`ids` must be a list of strings.",
        )
    };
    let ids = match body.get("ids") {
        None | Some(Value::Null) => {
            return Err(ApiFailure::validation(
                "MISSING_PARAMETER",
                "ids",
                "`ids` is required.",
            ))
        }
        Some(Value::Array(ids)) => ids,
        Some(_) => return Err(wrong()),
    };
    if ids.len() > MAX_BATCH_IDS {
        return Err(ApiFailure::validation(
            "BATCH_TOO_LARGE",
            "ids",
            format!(
                "A batch holds at most {MAX_BATCH_IDS} ids, not {}.",
                ids.len()
            ),
        ));
    }
    ids.iter()
        .map(|id| id.as_str().map(str::to_string).ok_or_else(wrong))
        .collect()
}

/// `GET /v2/api/users`: `{"data": [{"id", "name", "email"}…]}`, by id.
async fn users(State(state): State<Arc<AppState>>) -> Result<Response, ApiFailure> {
    json_answer(&Data {
        data: state.dataset().items.users(),
    })
}

/// `GET /v2/api/numbers`: `{"data": [{"number", "label"}…]}`, by number.
async fn numbers(State(state): State<Arc<AppState>>) -> Result<Response, ApiFailure> {
    let dataset = state.dataset();
    let numbers: Vec<NumberEntry> = dataset
        .items
        .numbers()
        .iter()
        .map(|(number, label)| NumberEntry {
            number: number.clone(),
            label: label.clone(),
        })
        .collect();
    json_answer(&Data { data: numbers })
}

/// `GET /v2/api/tags`: `{"data": [{"key", "name", "count"}…]}`, by key.
async fn tags(State(state): State<Arc<AppState>>) -> Result<Response, ApiFailure> {
    let dataset = state.dataset();
    let tags: Vec<TagEntry> = dataset
        .items
        .tags()
        .iter()
        .map(|(key, count)| TagEntry {
            key,
            name: key,
            count: *count,
        })
        .collect();
    json_answer(&Data { data: tags })
}

/// `GET /v2/api/me`: what this server answers, and its rate limits (`null`
/// when not enforced).
async fn me(State(state): State<Arc<AppState>>) -> Result<Response, ApiFailure> {
    let endpoints: Vec<Value> = ENDPOINTS
        .iter()
        .map(|endpoint| {
            json!({
                "method": endpoint.method,
                "path": endpoint.path,
                "description": endpoint.description,
                "scope": endpoint.scope,
            })
        })
        .collect();
    let limits = state.limiter.limits();
    json_answer(&json!({
        "data": {
            "api_key_id": "api-local",
            "scopes": ["CONVERSATIONS_READ", "PHONE_NUMBERS_READ", "TAGS_READ", "USERS_READ"],
            "endpoints": endpoints,
            "team": {"id": "team-local", "name": "callfunnel serve"},
            "rate_limits": {
                "read_per_second": limits.map(|l| l.read_per_second),
                "write_per_second": limits.map(|l| l.write_per_second),
            },
        }
    }))
}

/// Any other path: 404 `ENDPOINT_NOT_FOUND`.
async fn not_found(method: Method, uri: Uri) -> ApiFailure {
    ApiFailure::endpoint_not_found(method.as_str(), uri.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types_are_recognised() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/vnd.api+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
    }

    #[test]
    fn batches_hold_at_most_a_hundred_ids() {
        let ids: Vec<String> = (0..101).map(|i| format!("cll-{i}")).collect();
        let failure = batch_ids(&json!({ "ids": ids })).unwrap_err();
        assert_eq!(
            (failure.code.as_str(), failure.param.as_deref()),
            ("BATCH_TOO_LARGE", Some("ids"))
        );
        assert_eq!(batch_ids(&json!({ "ids": ids[..100] })).unwrap().len(), 100);
        assert_eq!(batch_ids(&json!({})).unwrap_err().code, "MISSING_PARAMETER");
        assert_eq!(
            batch_ids(&json!({ "ids": [1] })).unwrap_err().code,
            "INVALID_REQUEST_BODY"
        );
    }
}
