//! `callfunnel serve`: the real binary on a free port, spoken to
//! over HTTP by a real client (reqwest), and by Python `requests` and Node
//! `fetch` scripts as third-party programs would.
//!
//! Expected values come from `sample_data/calls.csv`, read here with plain
//! string splitting (independent of `ingest`), and from `callfunnel metrics`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::DateTime;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::CONTENT_TYPE;
use serde_json::{json, Value};

use crate::harness::{
    command, path_arg, run, sample_path, send_signal, stderr_of, temporary_folder,
};

/// The key the test servers accept.
pub(crate) const KEY: &str = "test-key";

/// A running `callfunnel serve`, stopped (killed) when dropped.
pub(crate) struct Server {
    child: Child,
    /// `http://ADDR` of the server.
    pub(crate) base: String,
    log: Arc<Mutex<Vec<String>>>,
    pub(crate) client: Client,
}

/// How long a server may take to load the sample and bind.
const START_TIMEOUT: Duration = Duration::from_secs(120);

impl Server {
    /// Starts `callfunnel serve --listen 127.0.0.1:0 ARGS…` with the
    /// environment `env`, and waits for its `listening on` line.
    pub(crate) fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Server {
        Server::launch("127.0.0.1:0", args, env)
    }

    /// Starts a server on the sample calls, with the key [`KEY`], listening
    /// on `address` (`HOST:PORT`).
    pub(crate) fn start_on(address: &str, args: &[&str]) -> Server {
        let calls = sample_path("calls.csv");
        let mut all = vec!["--input", path_arg(&calls), "--api-key", KEY];
        all.extend_from_slice(args);
        Server::launch(address, &all, &[])
    }

    /// Starts `callfunnel serve --listen LISTEN ARGS…` with the environment
    /// `env`, and waits for its `listening on` line.
    fn launch(listen: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = command(&["serve", "--listen", listen])
            .args(args)
            .env_remove("CALLFUNNEL_API_KEYS")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting callfunnel serve");
        let (log, lines) = collect_stderr(&mut child);
        let base = wait_for_address(&mut child, &lines, &log);
        Server {
            child,
            base,
            log,
            client: Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .expect("an HTTP client"),
        }
    }

    /// Starts a server on the sample calls, with the key [`KEY`].
    pub(crate) fn start(args: &[&str]) -> Server {
        Server::start_on("127.0.0.1:0", args)
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `HOST:PORT` of the server.
    pub(crate) fn address(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status, once the server exits within `within`.
    pub(crate) fn exit_within(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("waiting for serve") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub(crate) fn get(&self, path: &str) -> Response {
        self.authorized(self.client.get(self.url(path)))
    }

    pub(crate) fn post(&self, path: &str, body: &Value) -> Response {
        self.authorized(self.client.post(self.url(path)).json(body))
    }

    pub(crate) fn authorized(&self, request: RequestBuilder) -> Response {
        request
            .header("Authorization", format!("Api-Key {KEY}"))
            .send()
            .expect("an answer")
    }

    /// Everything the server wrote on stderr so far.
    pub(crate) fn stderr(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// What the server wrote to standard error, once it holds `needle` (a log
    /// line is written as its answer leaves, so it may trail the answer) or
    /// after 5 seconds.
    pub(crate) fn stderr_with(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.stderr().contains(needle) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stderr()
    }

    /// Sends SIGTERM and waits for the exit.
    fn terminate(mut self) -> (ExitStatus, String) {
        send_signal("TERM", self.child.id());
        let exit = self.child.wait().expect("waiting for serve");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.stderr().contains("stopped") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        (exit, self.stderr())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Copies the child's stderr lines into a shared log and a channel.
fn collect_stderr(child: &mut Child) -> (Arc<Mutex<Vec<String>>>, Receiver<String>) {
    let stderr = child.stderr.take().expect("piped stderr");
    let log = Arc::new(Mutex::new(Vec::new()));
    let (sender, receiver) = channel();
    let shared = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            shared.lock().unwrap().push(line.clone());
            let _ = sender.send(line);
        }
    });
    (log, receiver)
}

/// Waits for `callfunnel: listening on http://ADDR`; returns `http://ADDR`.
fn wait_for_address(
    child: &mut Child,
    lines: &Receiver<String>,
    log: &Arc<Mutex<Vec<String>>>,
) -> String {
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        match lines.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => {
                if let Some(address) = line.strip_prefix("callfunnel: listening on ") {
                    return address.to_string();
                }
            }
            Err(_) => {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "serve exited with {status} before listening:\n{}",
                        log.lock().unwrap().join("\n")
                    );
                }
            }
        }
    }
    panic!("serve did not listen within {START_TIMEOUT:?}");
}

/// The body as JSON, asserting the status first.
pub(crate) fn json_of(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let text = response.text().expect("a body");
    assert_eq!(actual, status, "status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
}

/// Asserts an error envelope: status, type, code, param, and a request id.
pub(crate) fn assert_envelope(
    response: Response,
    status: u16,
    error_type: &str,
    code: &str,
) -> Value {
    let header_id = response
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
        .expect("an X-Request-Id header");
    let envelope = json_of(response, status);
    let error = &envelope["error"];
    assert_eq!(error["type"], json!(error_type), "{envelope}");
    assert_eq!(error["code"], json!(code), "{envelope}");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(error["retryable"].is_boolean(), "{envelope}");
    assert_eq!(error["request_id"], json!(header_id), "{envelope}");
    error.clone()
}

/// Whether `id` is `req_` followed by 12 ASCII letters or digits.
pub(crate) fn is_generated_request_id(id: &str) -> bool {
    id.strip_prefix("req_")
        .is_some_and(|rest| rest.len() == 12 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Runs `callfunnel metrics ARGS…` with `stdin`; returns (status, stdout).
fn metrics(args: &[&str], stdin: &str) -> (i32, Vec<u8>) {
    let mut full = vec!["metrics"];
    full.extend_from_slice(args);
    let output = run(&full, Some(stdin));
    (output.status.code().unwrap_or(-1), output.stdout)
}

/// `callfunnel metrics`' answer to a request file of `sample_data/` on the
/// sample calls.
fn sample_metrics(request_file: &str) -> Vec<u8> {
    let calls = sample_path("calls.csv");
    let request = sample_path(request_file);
    let (status, answer) = metrics(
        &["--input", path_arg(&calls), "--request", path_arg(&request)],
        "",
    );
    assert_eq!(status, 0, "{request_file}");
    answer
}

// ---------------------------------------------------------------------------
// The sample, read independently of `ingest`.

/// One row of `sample_data/calls.csv`, normalised as SPEC §1.2 says.
#[derive(Debug, Clone)]
struct SampleCall {
    id: String,
    micros: i64,
    direction: String,
    item_type: String,
    user_id: Option<String>,
    user_name: Option<String>,
    user_email: Option<String>,
    allo_number: Option<String>,
    allo_number_label: Option<String>,
    contact_number: Option<String>,
    result: Option<String>,
    tags: Vec<String>,
}

/// The sample's calls, duplicates collapsed to the last occurrence.
fn sample_calls() -> Vec<SampleCall> {
    let text = std::fs::read_to_string(sample_path("calls.csv")).expect("the sample");
    let mut calls: BTreeMap<String, SampleCall> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let optional =
            |index: usize| Some(cells[index].to_string()).filter(|cell| !cell.is_empty());
        let call = SampleCall {
            id: cells[0].to_string(),
            micros: DateTime::parse_from_rfc3339(cells[1])
                .expect("sample dates carry an offset")
                .timestamp_micros(),
            direction: cells[2].to_uppercase(),
            item_type: cells[3].to_uppercase(),
            user_id: optional(4),
            user_name: optional(5),
            user_email: optional(6),
            allo_number: optional(7),
            allo_number_label: optional(8),
            contact_number: optional(9),
            result: optional(10).map(|result| result.to_uppercase()),
            tags: cells[13]
                .split(';')
                .map(|tag| tag.trim().to_lowercase())
                .filter(|tag| !tag.is_empty())
                .collect(),
        };
        calls.insert(call.id.clone(), call);
    }
    calls.into_values().collect()
}

/// Ids newest first, ties by id ascending (the search's default order).
fn newest_first(calls: &[&SampleCall]) -> Vec<String> {
    let mut sorted = calls.to_vec();
    sorted.sort_by(|a, b| b.micros.cmp(&a.micros).then_with(|| a.id.cmp(&b.id)));
    sorted.into_iter().map(|call| call.id.clone()).collect()
}

fn micros_of(text: &str) -> i64 {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .timestamp_micros()
}

/// Every page of a search, `size` items a page: the ids and the pages' bodies.
fn all_pages(server: &Server, body: &Value, size: u64) -> (Vec<String>, Vec<String>) {
    let mut ids = Vec::new();
    let mut pages = Vec::new();
    for page in 1.. {
        let mut request = body.clone();
        request["page"] = json!(page);
        request["size"] = json!(size);
        let response = server.post("/v2/api/conversations/items/search", &request);
        assert_eq!(response.status().as_u16(), 200);
        let text = response.text().unwrap();
        let answer: Value = serde_json::from_str(&text).unwrap();
        let data = answer["data"].as_array().unwrap();
        ids.extend(
            data.iter()
                .map(|item| item["id"].as_str().unwrap().to_string()),
        );
        let pagination = &answer["pagination"];
        assert_eq!(pagination["page"], json!(page));
        assert_eq!(pagination["size"], json!(size));
        pages.push(text);
        if !pagination["has_more"].as_bool().unwrap() {
            let total = pagination["total_count"].as_u64().unwrap();
            assert_eq!(pagination["total_pages"], json!(total.div_ceil(size)));
            assert_eq!(ids.len() as u64, total);
            break;
        }
        assert_eq!(data.len() as u64, size);
    }
    (ids, pages)
}

// ---------------------------------------------------------------------------
// The engine.

#[test]
fn outbound_over_http_equals_metrics_byte_for_byte() {
    let server = Server::start(&[]);
    for request_file in [
        "request.json",
        "request_weekly.json",
        "request_drilldown.json",
    ] {
        let expected = sample_metrics(request_file);
        let body = std::fs::read_to_string(sample_path(request_file)).unwrap();
        let response = server
            .client
            .post(server.url("/v2/api/analytics/outbound"))
            .header("Authorization", format!("Api-Key {KEY}"))
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(
            response.headers()[CONTENT_TYPE].to_str().unwrap(),
            "application/json"
        );
        let request_id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(is_generated_request_id(&request_id), "{request_id}");
        let actual = response.bytes().unwrap();
        assert!(
            actual[..] == expected[..],
            "{request_file}: the HTTP answer differs from `metrics`"
        );
    }
    // The log line is written as the answer leaves: give the last one a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server
        .stderr()
        .matches("POST /v2/api/analytics/outbound 200 ")
        .count()
        < 3
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = server.stderr();
    assert_eq!(
        log.matches("POST /v2/api/analytics/outbound 200 ").count(),
        3,
        "one log line per request:\n{log}"
    );
}

#[test]
fn a_repeated_request_is_answered_from_the_cache_with_headers_of_its_own() {
    let server = Server::start(&["--rate-limit"]);
    let expected = sample_metrics("request_drilldown.json");
    let as_given = std::fs::read_to_string(sample_path("request_drilldown.json")).unwrap();
    // The same request: fields in another order, over several lines, the
    // defaults spelled out, the tag in another case and repeated.
    let spelled_out = r#"{
        "size": 10, "page": 1, "stage": "CONVERSATION", "extend": "items",
        "timezone": "Europe/Paris", "granularity": "DAY",
        "tags": [" Demo_Booked ", "demo_booked"],
        "conversation_threshold_seconds": 60,
        "compare_date": {"to": "2024-03-03", "from": "2024-02-19"},
        "date": {"to": "2024-03-17", "from": "2024-03-04"}
    }"#;
    let mut request_ids = BTreeSet::new();
    for body in [as_given.as_str(), spelled_out, as_given.as_str()] {
        let response = server.authorized(
            server
                .client
                .post(server.url("/v2/api/analytics/outbound"))
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string()),
        );
        assert_eq!(response.status().as_u16(), 200);
        for header in [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
        ] {
            assert!(response.headers().contains_key(header), "{header}");
        }
        request_ids.insert(
            response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_string(),
        );
        let actual = response.bytes().unwrap();
        assert!(
            actual[..] == expected[..],
            "the answer differs from `metrics`:\n{body}"
        );
    }
    assert_eq!(request_ids.len(), 3, "one request id per request");
    let (status, log) = server.terminate();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(
        log.contains("answer cache: 3 analytics answers, 2 from the cache (66.7 %)"),
        "{log}"
    );
}

#[test]
fn invalid_outbound_requests_get_the_cli_envelope_with_a_request_id() {
    let server = Server::start(&[]);
    let calls = sample_path("calls.csv");
    let bodies = [
        "{}",
        "not json",
        r#"{"date":{"from":"2024-03-10","to":"2024-03-04"}}"#,
        r#"{"date":{"from":"2024-03-04","to":"2024-03-10"},"extend":"items"}"#,
        r#"{"date":{"from":"2024-03-04","to":"2024-03-10"},"size":0,"extend":"items","stage":"DIAL"}"#,
        r#"{"date":{"from":"2024-03-04","to":"2024-03-10"},"user_ids":["u"],"allo_numbers":["n"]}"#,
    ];
    for body in bodies {
        let (status, stdout) = metrics(&["--input", path_arg(&calls), "--request", "-"], body);
        assert_eq!(status, 2, "{body}");
        let cli: Value = serde_json::from_slice(&stdout).unwrap();
        let response = server
            .client
            .post(server.url("/v2/api/analytics/outbound"))
            .header("Authorization", KEY)
            .header(CONTENT_TYPE, "application/json")
            .header("X-Request-Id", "trace-7")
            .body(body)
            .send()
            .unwrap();
        let code = cli["error"]["code"].as_str().unwrap();
        let mut error = assert_envelope(response, 400, "validation_error", code);
        assert_eq!(error["request_id"], json!("trace-7"));
        error.as_object_mut().unwrap().remove("request_id");
        assert_eq!(error, cli["error"], "{body}");
    }
}

// ---------------------------------------------------------------------------
// Keys, errors, operations.

#[test]
fn keys_are_read_as_allo_reads_them() {
    let calls = sample_path("calls.csv");
    let server = Server::start_with_env(
        &[
            "--input",
            path_arg(&calls),
            "--api-key",
            "k1",
            "--api-key",
            "k2",
        ],
        &[("CALLFUNNEL_API_KEYS", "k3, k4")],
    );
    let me = |authorization: Option<&str>| {
        let mut request = server.client.get(server.url("/v2/api/me"));
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        request.send().unwrap()
    };
    for accepted in ["Api-Key k1", "k2", "Api-Key k3", "k4", "api-key k2"] {
        assert_eq!(me(Some(accepted)).status().as_u16(), 200, "{accepted}");
    }
    for refused in [Some("Bearer k1"), None, Some("Api-Key nope"), Some("")] {
        let error = assert_envelope(me(refused), 401, "authentication_error", "API_KEY_INVALID");
        assert_eq!(error["retryable"], json!(false));
        assert!(is_generated_request_id(
            error["request_id"].as_str().unwrap()
        ));
    }
}

#[test]
fn serve_refuses_to_start_without_a_key_unless_told() {
    let calls = sample_path("calls.csv");
    let output = command(&[
        "serve",
        "--input",
        path_arg(&calls),
        "--listen",
        "127.0.0.1:0",
    ])
    .env_remove("CALLFUNNEL_API_KEYS")
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("no API key"), "{stderr}");

    let open = Server::start_with_env(&["--input", path_arg(&calls), "--no-auth"], &[]);
    let me = open.client.get(open.url("/v2/api/me")).send().unwrap();
    assert_eq!(me.status().as_u16(), 200);
}

#[test]
fn errors_carry_the_envelope_and_the_request_id() {
    let server = Server::start(&[]);
    let error = assert_envelope(
        server.get("/v2/api/nothing/here"),
        404,
        "not_found_error",
        "ENDPOINT_NOT_FOUND",
    );
    assert!(is_generated_request_id(
        error["request_id"].as_str().unwrap()
    ));
    assert_envelope(
        server.get("/v2/api/analytics/outbound"),
        405,
        "validation_error",
        "METHOD_NOT_ALLOWED",
    );
    let post_raw = |content_type: &str, body: Vec<u8>| {
        server.authorized(
            server
                .client
                .post(server.url("/v2/api/conversations/items/search"))
                .header(CONTENT_TYPE, content_type)
                .body(body),
        )
    };
    let mut exactly_the_limit = b"{}".to_vec();
    exactly_the_limit.resize(1 << 20, b' ');
    assert_eq!(
        post_raw("application/json", exactly_the_limit)
            .status()
            .as_u16(),
        200
    );
    let mut over_the_limit = b"{}".to_vec();
    over_the_limit.resize((1 << 20) + 1, b' ');
    assert_envelope(
        post_raw("application/json", over_the_limit),
        413,
        "validation_error",
        "PAYLOAD_TOO_LARGE",
    );
    assert_envelope(
        post_raw("text/plain", b"{}".to_vec()),
        415,
        "validation_error",
        "UNSUPPORTED_MEDIA_TYPE",
    );
    assert_envelope(
        post_raw("application/json", b"{not json".to_vec()),
        400,
        "validation_error",
        "INVALID_REQUEST_BODY",
    );
    let error = assert_envelope(
        server.get("/v2/api/conversations/items/cll-missing"),
        404,
        "not_found_error",
        "CONVERSATION_ITEM_NOT_FOUND",
    );
    assert_eq!(error["param"], json!("id"));
    let echoed = server.authorized(
        server
            .client
            .get(server.url("/v2/api/nowhere"))
            .header("X-Request-Id", "my-trace-1"),
    );
    assert_eq!(echoed.headers()["x-request-id"], "my-trace-1");
    let log = server.stderr_with("my-trace-1");
    assert!(log.contains("GET /v2/api/nothing/here 404 "), "{log}");
    assert!(log.contains("my-trace-1"), "{log}");
}

#[test]
fn sigterm_stops_cleanly_and_a_busy_address_is_exit_status_5() {
    let server = Server::start(&[]);
    let address = server.base.trim_start_matches("http://").to_string();
    let calls = sample_path("calls.csv");
    let busy = command(&["serve", "--input", path_arg(&calls), "--api-key", KEY])
        .args(["--listen", &address])
        .output()
        .unwrap();
    assert_eq!(busy.status.code(), Some(5));
    let stderr = stderr_of(&busy);
    assert!(stderr.contains("already in use"), "{stderr}");

    assert_eq!(server.get("/v2/api/me").status().as_u16(), 200);
    let (status, log) = server.terminate();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("callfunnel: shutting down"), "{log}");
}

// ---------------------------------------------------------------------------
// Conversation items.

#[test]
fn search_pages_to_the_end_newest_first_or_oldest_first() {
    let server = Server::start(&[]);
    let calls = sample_calls();
    assert_eq!(calls.len(), 3060);
    let all: Vec<&SampleCall> = calls.iter().collect();
    let expected = newest_first(&all);

    let (ids, pages) = all_pages(&server, &json!({}), 100);
    assert_eq!(pages.len(), 31);
    assert_eq!(ids, expected);
    let fallback = json_of(
        server.post(
            "/v2/api/conversations/items/search",
            &json!({"sort": "RELEVANCE", "unknown_field": [1, 2]}),
        ),
        200,
    );
    let first_twenty: Vec<&str> = fallback["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap())
        .collect();
    assert_eq!(first_twenty, expected[..20]);
    assert_eq!(
        fallback["pagination"],
        json!({"page": 1, "size": 20, "total_count": 3060, "total_pages": 153, "has_more": true})
    );

    let (ascending, _) = all_pages(&server, &json!({"sort": "DATE_ASC"}), 97);
    let mut oldest_first = all.clone();
    oldest_first.sort_by(|a, b| a.micros.cmp(&b.micros).then_with(|| a.id.cmp(&b.id)));
    let oldest_first: Vec<String> = oldest_first.iter().map(|call| call.id.clone()).collect();
    assert_eq!(ascending, oldest_first);

    let beyond = json_of(
        server.post(
            "/v2/api/conversations/items/search",
            &json!({"page": 40, "size": 100}),
        ),
        200,
    );
    assert_eq!(beyond["data"], json!([]));
    assert_eq!(beyond["pagination"]["has_more"], json!(false));
}

#[test]
fn search_filters_match_the_sample() {
    let server = Server::start(&[]);
    let calls = sample_calls();
    let week_from = micros_of("2024-03-04T00:00:00Z");
    let week_to = micros_of("2024-03-10T23:59:59.999999Z");
    let since = micros_of("2024-03-10T12:00:00Z");
    type Filter = Box<dyn Fn(&SampleCall) -> bool>;
    let cases: Vec<(Value, Filter)> = vec![
        (
            json!({"direction": "INBOUND", "type": "CALL"}),
            Box::new(|c: &SampleCall| c.direction == "INBOUND" && c.item_type == "CALL"),
        ),
        (
            json!({"type": "SMS"}),
            Box::new(|c: &SampleCall| c.item_type == "SMS"),
        ),
        (
            json!({"user_id": "usr-1a9z4w", "result": "answered",
                   "date": {"from": "2024-03-04", "to": "2024-03-10"}}),
            Box::new(move |c: &SampleCall| {
                c.user_id.as_deref() == Some("usr-1a9z4w")
                    && c.result.as_deref() == Some("ANSWERED")
                    && (week_from..=week_to).contains(&c.micros)
            }),
        ),
        (
            json!({"tags": ["DEMO_BOOKED", "qualified"]}),
            Box::new(|c: &SampleCall| {
                c.tags
                    .iter()
                    .any(|t| t == "demo_booked" || t == "qualified")
            }),
        ),
        (
            json!({"date": {"from": "2024-03-10T12:00:00Z"}}),
            Box::new(move |c: &SampleCall| c.micros >= since),
        ),
        (
            json!({"allo_number": ["+33187651234"], "result": ["VOICEMAIL", "NO_ANSWER"]}),
            Box::new(|c: &SampleCall| {
                c.allo_number.as_deref() == Some("+33187651234")
                    && matches!(c.result.as_deref(), Some("VOICEMAIL" | "NO_ANSWER"))
            }),
        ),
    ];
    for (body, filter) in cases {
        let matching: Vec<&SampleCall> = calls.iter().filter(|call| filter(call)).collect();
        assert!(!matching.is_empty(), "{body}");
        let (ids, _) = all_pages(&server, &body, 100);
        assert_eq!(ids, newest_first(&matching), "{body}");
    }
    let invalid = [
        (json!({"page": 0}), "INVALID_REQUEST_BODY", "page"),
        (json!({"size": 101}), "INVALID_PAGE_SIZE", "size"),
        (json!({"size": 0}), "INVALID_PAGE_SIZE", "size"),
        (
            json!({"date": {"from": "2024-03-10", "to": "2024-03-04"}}),
            "INVALID_DATE_RANGE",
            "date",
        ),
        (
            json!({"date": {"from": "last week"}}),
            "INVALID_DATE_RANGE",
            "date",
        ),
        (
            json!({"direction": "UPWARD"}),
            "INVALID_REQUEST_BODY",
            "direction",
        ),
        (json!([1, 2]), "INVALID_REQUEST_BODY", "body"),
    ];
    for (body, code, param) in invalid {
        let error = assert_envelope(
            server.post("/v2/api/conversations/items/search", &body),
            400,
            "validation_error",
            code,
        );
        assert_eq!(error["param"], json!(param), "{body}");
    }
}

/// Whether every keyword of `search` is inside (case-insensitively) the
/// call's contact number, Allo number, user name, user email or a tag.
fn keywords_match(search: &str, call: &SampleCall) -> bool {
    let texts: Vec<String> = [
        &call.contact_number,
        &call.allo_number,
        &call.user_name,
        &call.user_email,
    ]
    .into_iter()
    .flatten()
    .chain(&call.tags)
    .map(|text| text.to_lowercase())
    .collect();
    search
        .split_whitespace()
        .map(str::to_lowercase)
        .all(|keyword| texts.iter().any(|text| text.contains(&keyword)))
}

#[test]
fn search_keywords_filter_like_allo() {
    let server = Server::start(&[]);
    let calls = sample_calls();
    for (body, search) in [
        (json!({"search": "priya"}), "priya"),
        (json!({"search": "MATHÉO follow_"}), "mathéo follow_"),
        (json!({"search": "+3365"}), "+3365"),
        (
            json!({"search": "@EXAMPLE.com demo", "direction": "OUTBOUND"}),
            "@example.com demo",
        ),
    ] {
        let matching: Vec<&SampleCall> = calls
            .iter()
            .filter(|call| keywords_match(search, call))
            .filter(|call| body.get("direction").is_none() || call.direction == "OUTBOUND")
            .collect();
        assert!(
            !matching.is_empty() && matching.len() < calls.len(),
            "{body}: {} of {}",
            matching.len(),
            calls.len()
        );
        let (ids, _) = all_pages(&server, &body, 100);
        assert_eq!(ids, newest_first(&matching), "{body}");
    }
    let everything: Vec<&SampleCall> = calls.iter().collect();
    let (blank, _) = all_pages(&server, &json!({"search": "  "}), 100);
    assert_eq!(blank, newest_first(&everything));
    let none = json_of(
        server.post(
            "/v2/api/conversations/items/search",
            &json!({"search": "priya nobody-at-all"}),
        ),
        200,
    );
    assert_eq!(none["pagination"]["total_count"], json!(0));
    let error = assert_envelope(
        server.post("/v2/api/conversations/items/search", &json!({"search": 5})),
        400,
        "validation_error",
        "INVALID_REQUEST_BODY",
    );
    assert_eq!(error["param"], json!("search"));
}

#[test]
fn items_by_id_and_in_batches() {
    let server = Server::start(&[]);
    let item = json_of(
        server.get("/v2/api/conversations/items/cll-zbq6o7qenm"),
        200,
    );
    assert_eq!(
        item,
        json!({"data": {
            "id": "cll-zbq6o7qenm", "date": "2024-02-18T23:30:00Z",
            "direction": "OUTBOUND", "type": "CALL",
            "user": {"id": "usr-6h3j8p", "name": "Priya Shah", "email": "priya.shah@example.com"},
            "allo_number": "+33187659900", "allo_number_label": "Support",
            "contact_number": "+33657604379", "result": "TRANSFERRED", "duration": 240,
            "ringing_seconds": 9.5, "tags": ["follow_up"]
        }})
    );
    // The second row is dated with an offset: it is answered in UTC.
    let inbound = json_of(
        server.get("/v2/api/conversations/items/cll-mt16vlym3j"),
        200,
    );
    assert_eq!(inbound["data"]["date"], json!("2024-02-19T07:20:48Z"));
    assert_eq!(inbound["data"]["tags"], json!([]));

    let batch = json_of(
        server.post(
            "/v2/api/conversations/items/batch",
            &json!({"ids": ["cll-mt16vlym3j", "cll-unknown", "cll-zbq6o7qenm"]}),
        ),
        200,
    );
    let ids: Vec<&str> = batch["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["cll-mt16vlym3j", "cll-zbq6o7qenm"]);
    assert_eq!(batch["data"][1], item["data"]);

    let too_many: Vec<String> = (0..101).map(|i| format!("cll-{i}")).collect();
    let error = assert_envelope(
        server.post(
            "/v2/api/conversations/items/batch",
            &json!({ "ids": too_many }),
        ),
        400,
        "validation_error",
        "BATCH_TOO_LARGE",
    );
    assert_eq!(error["param"], json!("ids"));
}

#[test]
fn saved_search_pages_read_back_as_the_same_calls() {
    let server = Server::start(&[]);
    let (ids, pages) = all_pages(&server, &json!({"sort": "DATE_ASC"}), 100);
    assert_eq!(ids.len(), 3060);
    let folder = temporary_folder();
    for (index, page) in pages.iter().enumerate() {
        std::fs::write(folder.path().join(format!("page-{index:03}.json")), page).unwrap();
    }
    let calls = sample_path("calls.csv");
    for request_file in ["request.json", "request_drilldown.json"] {
        let request = sample_path(request_file);
        let (status, from_csv) = metrics(
            &["--input", path_arg(&calls), "--request", path_arg(&request)],
            "",
        );
        assert_eq!(status, 0);
        let (status, from_pages) = metrics(
            &[
                "--input",
                path_arg(folder.path()),
                "--request",
                path_arg(&request),
            ],
            "",
        );
        assert_eq!(status, 0);
        assert!(
            from_csv == from_pages,
            "{request_file}: the saved pages compute differently"
        );
    }
    let replica =
        Server::start_with_env(&["--input", path_arg(folder.path()), "--api-key", KEY], &[]);
    let (replica_ids, replica_pages) = all_pages(&replica, &json!({"sort": "DATE_ASC"}), 100);
    assert_eq!(replica_ids, ids);
    assert!(
        replica_pages == pages,
        "serving the saved pages answers other bytes"
    );
}

// ---------------------------------------------------------------------------
// Reference data and rate limits.

#[test]
fn reference_data_lists_what_the_calls_hold() {
    let server = Server::start(&[]);
    let calls = sample_calls();

    let mut latest: BTreeMap<&str, &SampleCall> = BTreeMap::new();
    for call in &calls {
        if let Some(user) = call.user_id.as_deref() {
            let entry = latest.entry(user).or_insert(call);
            if (call.micros, &call.id) > (entry.micros, &entry.id) {
                *entry = call;
            }
        }
    }
    let users = json_of(server.get("/v2/api/users"), 200);
    let listed: Vec<(&str, &str)> = users["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| (user["id"].as_str().unwrap(), user["name"].as_str().unwrap()))
        .collect();
    let expected: Vec<(&str, &str)> = latest
        .iter()
        .map(|(id, call)| (*id, call.user_name.as_deref().unwrap()))
        .collect();
    assert_eq!(listed.len(), 6);
    assert_eq!(listed, expected);

    let numbers = json_of(server.get("/v2/api/numbers"), 200);
    let listed: BTreeSet<&str> = numbers["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|number| number["number"].as_str().unwrap())
        .collect();
    let expected: BTreeSet<&str> = calls
        .iter()
        .filter_map(|c| c.allo_number.as_deref())
        .collect();
    assert_eq!(listed, expected);
    let labelled = numbers["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|number| number["number"] == json!("+33187659900"))
        .unwrap();
    let label = calls
        .iter()
        .filter(|c| c.allo_number.as_deref() == Some("+33187659900"))
        .max_by_key(|c| (c.micros, c.id.clone()))
        .and_then(|c| c.allo_number_label.clone());
    assert_eq!(labelled["label"], json!(label));

    let tags = json_of(server.get("/v2/api/tags"), 200);
    let mut expected: BTreeMap<&str, u64> = BTreeMap::new();
    for tag in calls.iter().flat_map(|call| &call.tags) {
        *expected.entry(tag).or_default() += 1;
    }
    let listed: BTreeMap<&str, u64> = tags["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tag| (tag["key"].as_str().unwrap(), tag["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(listed, expected);
    // Counted by hand (Python's csv module, duplicates collapsed, case folded).
    assert_eq!(
        expected,
        BTreeMap::from([
            ("demo_booked", 180),
            ("follow_up", 292),
            ("not_interested", 114),
            ("qualified", 324)
        ])
    );

    let me = json_of(server.get("/v2/api/me"), 200);
    let paths: Vec<&str> = me["data"]["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|endpoint| endpoint["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"/v2/api/analytics/outbound"));
    assert!(paths.contains(&"/v2/api/conversations/items/search"));
    assert_eq!(paths.len(), 8);
    assert_eq!(
        me["data"]["rate_limits"],
        json!({"read_per_second": null, "write_per_second": null})
    );
}

#[test]
fn rate_limits_answer_429_with_retry_after() {
    let server = Server::start(&["--rate-limit"]);
    let me = json_of(server.get("/v2/api/me"), 200);
    assert_eq!(
        me["data"]["rate_limits"],
        json!({"read_per_second": 20, "write_per_second": 5})
    );
    let read = server.get("/v2/api/tags");
    assert_eq!(read.headers()["x-ratelimit-limit"], "20");
    let reset: u64 = read.headers()["x-ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(reset > 1_700_000_000);

    let answers: Vec<Response> = (0..11)
        .map(|_| server.post("/v2/api/conversations/items/search", &json!({"size": 1})))
        .collect();
    let limited: Vec<Response> = answers
        .into_iter()
        .filter(|answer| {
            assert_eq!(answer.headers()["x-ratelimit-limit"], "5");
            answer.status().as_u16() == 429
        })
        .collect();
    assert!(
        !limited.is_empty(),
        "11 writes in about a second, none refused"
    );
    let first = limited.into_iter().next().unwrap();
    assert_eq!(first.headers()["retry-after"], "1");
    assert_eq!(first.headers()["x-ratelimit-remaining"], "0");
    let error = assert_envelope(first, 429, "rate_limit_error", "RATE_LIMIT_EXCEEDED");
    assert_eq!(error["retryable"], json!(true));
    assert_eq!(error["retry_after_seconds"], json!(1));
}

#[test]
fn injected_faults_answer_as_a_struggling_api_and_are_logged() {
    let server = Server::start(&[
        "--inject-faults",
        "429=0.25,500=0.25,drop=0.25,slow=0.25,delay-ms=200,retry-after=3,seed=5",
    ]);
    assert!(
        server.stderr().contains("injecting faults: 429 25%, 500 25%, drop 25%, slow 25% (200 ms); Retry-After 3 s; seed 5"),
        "{}",
        server.stderr()
    );
    let mut seen = Vec::new();
    for _ in 0..24 {
        let started = Instant::now();
        let sent = server
            .client
            .post(server.url("/v2/api/conversations/items/search"))
            .header("Authorization", format!("Api-Key {KEY}"))
            .json(&json!({"size": 1}))
            .send();
        let answer = match sent {
            Err(error) => {
                assert!(!error.is_status() && error.status().is_none(), "{error}");
                seen.push("drop");
                continue;
            }
            Ok(answer) => answer,
        };
        match answer.status().as_u16() {
            429 => {
                assert_eq!(answer.headers()["retry-after"], "3");
                let error = assert_envelope(answer, 429, "rate_limit_error", "RATE_LIMIT_EXCEEDED");
                assert_eq!(error["retryable"], json!(true));
                assert_eq!(error["retry_after_seconds"], json!(3));
                seen.push("429");
            }
            500 => {
                let error = assert_envelope(answer, 500, "server_error", "INTERNAL_ERROR");
                assert_eq!(error["retryable"], json!(true));
                seen.push("500");
            }
            _ => {
                let page = json_of(answer, 200);
                assert_eq!(page["data"].as_array().map(Vec::len), Some(1));
                let slow = started.elapsed() >= Duration::from_millis(200);
                seen.push(if slow { "slow" } else { "none" });
            }
        }
        // Reference routes are never faulted.
        json_of(server.get("/v2/api/tags"), 200);
    }
    for fault in ["429", "500", "drop", "slow"] {
        assert!(seen.contains(&fault), "{fault} never seen in {seen:?}");
    }
    wait_until(
        || {
            server
                .stderr()
                .matches("POST /v2/api/conversations/items/search")
                .count()
                == 24
        },
        "24 search lines",
    );
    let log = server.stderr();
    let logged: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("POST /v2/api/conversations/items/search"))
        .map(|line| {
            line.rsplit_once(" fault=")
                .map_or("none", |(_, fault)| fault)
        })
        .collect();
    assert_eq!(logged, seen);
    assert!(log.contains("POST /v2/api/conversations/items/search 000 "));
    assert!(log
        .lines()
        .filter(|line| line.contains("GET /v2/api/tags"))
        .all(|line| line.contains(" 200 ") && !line.contains("fault=")));
}

#[test]
fn watch_reloads_changed_inputs_and_keeps_the_old_calls_when_a_reload_fails() {
    let folder = temporary_folder();
    let file = folder.path().join("calls.csv");
    let sample = std::fs::read_to_string(sample_path("calls.csv")).unwrap();
    let first_rows: String = sample
        .lines()
        .take(10)
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(&file, &first_rows).unwrap();
    let server = Server::start_with_env(
        &["--input", path_arg(&file), "--api-key", KEY, "--watch"],
        &[],
    );
    let total = || {
        json_of(
            server.post("/v2/api/conversations/items/search", &json!({})),
            200,
        )["pagination"]["total_count"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(total(), 9);
    let dials_on_march_5 = || {
        let answer = json_of(
            server.post(
                "/v2/api/analytics/outbound",
                &json!({"date": {"from": "2024-03-05", "to": "2024-03-05"}}),
            ),
            200,
        );
        answer["data"]["funnel"]["dials"]["count"]["value"]
            .as_u64()
            .unwrap()
    };
    // Asked twice: the second answer is the cache's.
    assert_eq!(dials_on_march_5(), 0);
    assert_eq!(dials_on_march_5(), 0);

    let added = "cll-added0001,2024-03-05T10:00:00Z,OUTBOUND,CALL,,,,,,,ANSWERED,61,,\n";
    std::fs::write(&file, format!("{first_rows}{added}")).unwrap();
    wait_until(|| total() == 10, "the reload");
    // The reloaded data answers, not the answer kept from the old.
    assert_eq!(dials_on_march_5(), 1);
    let item = json_of(server.get("/v2/api/conversations/items/cll-added0001"), 200);
    assert_eq!(item["data"]["user"], Value::Null);
    assert_eq!(item["data"]["duration"], json!(61));

    std::fs::write(&file, "id,date\ncll-bad,not a date\n").unwrap();
    wait_until(
        || server.stderr().contains("reload failed"),
        "the failed reload",
    );
    assert_eq!(total(), 10);
    assert_eq!(dials_on_march_5(), 1);
    let log = server.stderr();
    assert!(log.contains("not a date"), "the log says why:\n{log}");
}

pub(crate) fn wait_until(mut condition: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---------------------------------------------------------------------------
// Third-party clients.

/// Runs `program script BASE_URL KEY` from `tests/clients/`; its stdout parsed.
fn run_client(program: &str, script: &str, server: &Server) -> Value {
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients");
    let output = Command::new(program)
        .arg(scripts.join(script))
        .arg(&server.base)
        .arg(KEY)
        .output()
        .unwrap_or_else(|err| panic!("running {program}: {err}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{script} failed\n--- stdout:\n{stdout}\n--- stderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|err| panic!("{script}: {err}: {stdout}"))
}

/// Whether `program ARGS…` runs and succeeds.
fn available(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// What a client script must find on the sample.
fn expected_client_summary() -> Value {
    let calls = sample_path("calls.csv");
    let request = sample_path("request.json");
    let (_, stdout) = metrics(
        &["--input", path_arg(&calls), "--request", path_arg(&request)],
        "",
    );
    let response: Value = serde_json::from_slice(&stdout).unwrap();
    json!({
        "dials": response["data"]["funnel"]["dials"]["count"]["value"],
        "items": 3060,
        "bearer_code": "API_KEY_INVALID",
        "missing_code": "CONVERSATION_ITEM_NOT_FOUND",
    })
}

#[test]
fn python_requests_client_works_unchanged() {
    if !available("python3", &["-c", "import requests"]) {
        println!(
            "skipping: python3 with the `requests` package is not installed (pip install requests)"
        );
        return;
    }
    let server = Server::start(&[]);
    let summary = run_client("python3", "allo_client.py", &server);
    assert_eq!(summary, expected_client_summary());
}

#[test]
fn node_fetch_client_works_unchanged() {
    if !available(
        "node",
        &["-e", "if (typeof fetch !== 'function') process.exit(1)"],
    ) {
        println!("skipping: node 18 or later (with fetch) is not installed");
        return;
    }
    let server = Server::start(&[]);
    let summary = run_client("node", "allo_client.mjs", &server);
    assert_eq!(summary, expected_client_summary());
}
