//! Issue 24, "Hardening, second round": `serve` under hostile clients. Each
//! test is one reproduction of the issue against the real binary on a free
//! port, spoken to over raw sockets where a polite client would not do.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{assert_status, path_arg, run, sample_path, send_signal, temporary_folder};
use crate::serve::{assert_envelope, is_generated_request_id, json_of, wait_until, Server, KEY};

const OUTBOUND: &str = "/v2/api/analytics/outbound";
const SEARCH: &str = "/v2/api/conversations/items/search";

/// A raw connection to `server`, reads giving up after 8 seconds.
fn connect(server: &Server) -> TcpStream {
    let stream = TcpStream::connect(server.address()).expect("connecting to serve");
    stream
        .set_read_timeout(Some(Duration::from_secs(8)))
        .expect("a read timeout");
    stream
}

/// What the server sends until it closes the connection, and whether it
/// closed it (rather than the read timing out).
fn read_until_closed(stream: &mut TcpStream) -> (String, bool) {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return (String::from_utf8_lossy(&received).into_owned(), true),
            Ok(count) => received.extend_from_slice(&buffer[..count]),
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => {
                return (String::from_utf8_lossy(&received).into_owned(), true)
            }
            Err(_) => return (String::from_utf8_lossy(&received).into_owned(), false),
        }
    }
}

/// The JSON body of a raw HTTP answer.
fn body_of(answer: &str) -> Value {
    let (_, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    serde_json::from_str(body).unwrap_or_else(|err| panic!("not JSON ({err}): {answer}"))
}

/// The value of header `name` in a raw HTTP answer.
fn header_of<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    let (head, _) = answer.split_once("\r\n\r\n")?;
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// Asserts a raw answer is `status` with the envelope `code` and the same
/// request id in the header and the body.
fn assert_raw_envelope(answer: &str, status: u16, code: &str) -> Value {
    assert!(
        answer.starts_with(&format!("HTTP/1.1 {status} ")),
        "{answer}"
    );
    let envelope = body_of(answer);
    assert_eq!(envelope["error"]["code"], json!(code), "{answer}");
    let id = header_of(answer, "x-request-id").expect("an X-Request-Id header");
    assert!(is_generated_request_id(id), "{id}");
    assert_eq!(envelope["error"]["request_id"], json!(id));
    envelope
}

/// The server's resident memory, in KiB.
fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line")
}

// ---------------------------------------------------------------------------
// 1: one request cannot take the server down; a period's buckets are bounded.
// ---------------------------------------------------------------------------

#[test]
fn a_period_of_too_many_buckets_is_a_400_and_the_server_goes_on() {
    let server = Server::start(&[]);
    for granularity in ["DAY", "WEEK"] {
        let body =
            json!({"date": {"from": "0000-01-01", "to": "9999-12-31"}, "granularity": granularity});
        let started = Instant::now();
        let error = assert_envelope(
            server.post(OUTBOUND, &body),
            400,
            "validation_error",
            "INVALID_DATE_RANGE",
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(error["param"], json!("date"));
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains(&format!(
                "{granularity} buckets; a period may span at most 10000"
            )),
            "{message}"
        );
    }
    // The most a period may span: 10,000 days.
    let widest = json!({"date": {"from": "2000-01-01", "to": "2027-05-18"}});
    let answer = json_of(server.post(OUTBOUND, &widest), 200);
    assert_eq!(
        answer["data"]["time_series"]["dials"]
            .as_array()
            .map(Vec::len),
        Some(10_000)
    );
    // `metrics` refuses the same request with the same envelope.
    let calls = sample_path("calls.csv");
    let output = run(
        &[
            "metrics",
            "--input",
            path_arg(&calls),
            "--from",
            "0000-01-01",
            "--to",
            "9999-12-31",
        ],
        None,
    );
    assert_status(&output, 2);
    let envelope: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(envelope["error"]["code"], json!("INVALID_DATE_RANGE"));
}

// ---------------------------------------------------------------------------
// 2: a key is checked before it is counted; nothing grows per wrong key.
// ---------------------------------------------------------------------------

#[test]
fn wrong_keys_are_refused_before_the_rate_limit_and_cost_no_memory() {
    let server = Server::start(&["--rate-limit"]);
    let wrong = |key: &str| {
        server
            .client
            .post(server.url(SEARCH))
            .header("Authorization", format!("Api-Key {key}"))
            .json(&json!({"size": 1}))
            .send()
            .expect("an answer")
    };
    // More than the 5 writes a second, all with one wrong key: each is a 401.
    for _ in 0..8 {
        let answer = wrong("not-the-key");
        assert!(answer.headers().get("x-ratelimit-limit").is_none());
        assert_envelope(answer, 401, "authentication_error", "API_KEY_INVALID");
    }
    // The admitted key's budget is untouched by them.
    let admitted = server.post(SEARCH, &json!({"size": 1}));
    assert_eq!(admitted.status().as_u16(), 200);
    assert_eq!(admitted.headers()["x-ratelimit-remaining"], "4");

    // 600 distinct wrong keys of 60 KB: before, each was kept (36 MB).
    let before = resident_kib(server.pid());
    for index in 0..600 {
        let key = format!("{index:06}{}", "k".repeat(60_000));
        assert_eq!(wrong(&key).status().as_u16(), 401);
    }
    let grown = resident_kib(server.pid()).saturating_sub(before);
    assert!(grown < 16 * 1024, "grew by {grown} KiB");
}

// ---------------------------------------------------------------------------
// 3: --watch serves the old calls or the new ones, never a half-written file.
// ---------------------------------------------------------------------------

#[test]
fn watch_serves_a_rewritten_input_whole_or_keeps_the_old_calls() {
    let folder = temporary_folder();
    let file = folder.path().join("calls.csv");
    let sample = std::fs::read_to_string(sample_path("calls.csv")).unwrap();
    let lines: Vec<&str> = sample.lines().collect();
    let first: String = lines[..10].iter().map(|line| format!("{line}\n")).collect();
    std::fs::write(&file, &first).unwrap();
    let server = Server::start_with_env(
        &[
            "--input",
            path_arg(&file),
            "--api-key",
            KEY,
            "--watch",
            "--watch-quiet",
            "1.5",
        ],
        &[],
    );
    let total = || {
        json_of(server.post(SEARCH, &json!({})), 200)["pagination"]["total_count"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(total(), 9);
    let rewritten = &lines[..2001];
    let calls = rewritten[1..]
        .iter()
        .map(|line| line.split(',').next().unwrap())
        .collect::<std::collections::BTreeSet<_>>()
        .len() as u64;

    // Rewritten in place in five chunks, 0.6 s apart (each seen by a poll).
    let chunks: Vec<String> = rewritten
        .chunks(500)
        .map(|chunk| chunk.iter().map(|line| format!("{line}\n")).collect())
        .collect();
    let watcher = std::thread::scope(|scope| {
        let counts = scope.spawn(|| {
            let mut seen = std::collections::BTreeSet::new();
            let deadline = Instant::now() + Duration::from_secs(8);
            while Instant::now() < deadline && !seen.contains(&calls) {
                seen.insert(total());
                std::thread::sleep(Duration::from_millis(50));
            }
            seen
        });
        let mut writer = std::fs::File::create(&file).unwrap();
        for chunk in &chunks {
            writer.write_all(chunk.as_bytes()).unwrap();
            writer.flush().unwrap();
            std::thread::sleep(Duration::from_millis(600));
        }
        counts.join().unwrap()
    });
    assert_eq!(
        watcher.into_iter().collect::<Vec<_>>(),
        [9, calls],
        "only the old and the new calls are served"
    );

    // Cut to nothing: refused, the calls kept.
    std::fs::write(&file, "").unwrap();
    let log = server.stderr_with("is empty");
    assert!(
        log.contains(&format!(
            "reload failed, still serving the previous calls: {} is empty",
            file.display()
        )),
        "{log}"
    );
    assert_eq!(total(), calls);
    // Its header lost: refused, the calls kept.
    std::fs::write(&file, lines[1..50].join("\n") + "\n").unwrap();
    wait_until(
        || server.stderr().matches("reload failed").count() == 2,
        "the second refusal",
    );
    assert_eq!(total(), calls);
}

// ---------------------------------------------------------------------------
// 8: heads, bodies and idle connections are timed; connections are counted.
// ---------------------------------------------------------------------------

#[test]
fn slow_heads_slow_bodies_and_idle_connections_are_closed() {
    let server = Server::start(&[
        "--header-timeout",
        "1",
        "--body-timeout",
        "1",
        "--idle-timeout",
        "1.5",
    ]);
    let started = Instant::now();
    let mut slow_head = connect(&server);
    slow_head
        .write_all(b"GET /v2/api/me HTTP/1.1\r\nHost: test\r\n")
        .unwrap();
    let mut slow_body = connect(&server);
    write!(
        slow_body,
        "POST {SEARCH} HTTP/1.1\r\nHost: test\r\nAuthorization: {KEY}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"size\""
    )
    .unwrap();
    let mut idle = connect(&server);

    let (answer, closed) = read_until_closed(&mut slow_head);
    assert!(closed && answer.is_empty(), "{answer}");
    let (answer, closed) = read_until_closed(&mut slow_body);
    assert!(closed);
    let envelope = assert_raw_envelope(&answer, 408, "REQUEST_TIMEOUT");
    assert_eq!(envelope["error"]["param"], json!("body"));
    let (answer, closed) = read_until_closed(&mut idle);
    assert!(closed && answer.is_empty(), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // A kept-alive connection is closed once idle after its answer.
    let mut kept = connect(&server);
    write!(
        kept,
        "GET /v2/api/tags HTTP/1.1\r\nHost: test\r\nAuthorization: {KEY}\r\n\r\n"
    )
    .unwrap();
    let answered = Instant::now();
    let (answer, closed) = read_until_closed(&mut kept);
    assert!(closed && answer.starts_with("HTTP/1.1 200 "), "{answer}");
    let idle_for = answered.elapsed();
    assert!(
        idle_for >= Duration::from_millis(1400) && idle_for < Duration::from_secs(4),
        "{idle_for:?}"
    );
    let log = server.stderr_with("did not arrive within 1 s");
    assert!(
        log.contains("its request head did not arrive within 1 s"),
        "{log}"
    );
}

#[test]
fn connections_beyond_the_limit_are_answered_503_until_slots_free() {
    let server = Server::start(&["--max-connections", "3", "--header-timeout", "2"]);
    let mut held: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut stream = connect(&server);
            stream.write_all(b"G").unwrap();
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut refused = connect(&server);
    write!(
        refused,
        "GET /v2/api/me HTTP/1.1\r\nHost: test\r\nAuthorization: {KEY}\r\n\r\n"
    )
    .unwrap();
    let (answer, closed) = read_until_closed(&mut refused);
    assert!(closed);
    let envelope = assert_raw_envelope(&answer, 503, "TOO_MANY_CONNECTIONS");
    assert_eq!(envelope["error"]["retryable"], json!(true));
    assert_eq!(header_of(&answer, "retry-after"), Some("1"));

    // The held connections are closed by the header timeout; slots free.
    for stream in &mut held {
        assert!(read_until_closed(stream).1);
    }
    wait_until(
        || server.get("/v2/api/me").status().as_u16() == 200,
        "a free slot",
    );
}

// ---------------------------------------------------------------------------
// Low: hyper's own rejections of unreadable heads carry the envelope.
// ---------------------------------------------------------------------------

#[test]
fn unreadable_request_heads_are_answered_with_the_envelope() {
    let server = Server::start(&[]);
    let raw = |request: Vec<u8>| {
        let mut stream = connect(&server);
        stream.write_all(&request).unwrap();
        read_until_closed(&mut stream).0
    };
    let malformed = raw(b"NOT HTTP AT ALL\r\n\r\n".to_vec());
    assert_raw_envelope(&malformed, 400, "MALFORMED_REQUEST");
    let mut large = b"GET /v2/api/me HTTP/1.1\r\nHost: test\r\nX-Padding: ".to_vec();
    large.extend(std::iter::repeat(b'a').take(70_000));
    large.extend_from_slice(b"\r\n\r\n");
    let envelope = assert_raw_envelope(&raw(large), 431, "HEADERS_TOO_LARGE");
    assert_eq!(envelope["error"]["type"], json!("validation_error"));
    let long_uri = format!(
        "GET /v2/api/{} HTTP/1.1\r\nHost: test\r\n\r\n",
        "u".repeat(70_000)
    );
    assert_raw_envelope(&raw(long_uri.into_bytes()), 431, "HEADERS_TOO_LARGE");
    let mut many = b"GET /v2/api/me HTTP/1.1\r\nHost: test\r\n".to_vec();
    for index in 0..101 {
        many.extend_from_slice(format!("X-H{index}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    assert_raw_envelope(&raw(many), 431, "HEADERS_TOO_LARGE");
    let log = server.stderr_with("- - 431 ");
    assert!(log.contains("- - 400 "), "{log}");
    assert_eq!(server.get("/v2/api/me").status().as_u16(), 200);
}

// ---------------------------------------------------------------------------
// 9: a shutdown has a deadline; a second signal stops at once.
// ---------------------------------------------------------------------------

/// A connection holding a request half sent.
fn half_sent_request(server: &Server) -> TcpStream {
    let mut stream = connect(server);
    stream
        .write_all(b"POST /v2/api/conversations/items/search HTTP/1.1\r\nHost: te")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    stream
}

#[test]
fn sigterm_stops_within_the_shutdown_deadline_despite_a_half_sent_request() {
    let mut server = Server::start(&["--shutdown-timeout", "1"]);
    let _held = half_sent_request(&server);
    let started = Instant::now();
    send_signal("TERM", server.pid());
    let status = server.exit_within(Duration::from_secs(5));
    let log = server.stderr_with("stopped");
    assert_eq!(status.and_then(|status| status.code()), Some(0), "{log}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        log.contains("stopped: 1 connections still open after 1 s were closed"),
        "{log}"
    );
}

#[test]
fn a_second_signal_stops_the_server_at_once() {
    let mut server = Server::start(&[]);
    let _held = half_sent_request(&server);
    send_signal("TERM", server.pid());
    server.stderr_with("shutting down");
    let started = Instant::now();
    send_signal("INT", server.pid());
    let status = server.exit_within(Duration::from_secs(3));
    assert_eq!(status.and_then(|status| status.code()), Some(130));
    assert!(started.elapsed() < Duration::from_secs(2));
    let log = server.stderr_with("again");
    assert!(log.contains("signal 2 again: stopped at once"), "{log}");
}

// ---------------------------------------------------------------------------
// 10: searches are bounded, and a client that hangs up stops its work.
// ---------------------------------------------------------------------------

#[test]
fn search_keywords_and_filter_values_are_distinct_and_capped() {
    let server = Server::start(&[]);
    let one = json_of(
        server.post(SEARCH, &json!({"search": "priya", "size": 100})),
        200,
    );
    let started = Instant::now();
    let repeated = json_of(
        server.post(
            SEARCH,
            &json!({"search": "priya ".repeat(100_000), "size": 100}),
        ),
        200,
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(repeated, one);

    let keywords: Vec<String> = (0..21).map(|i| format!("k{i}")).collect();
    let error = assert_envelope(
        server.post(SEARCH, &json!({"search": keywords.join(" ")})),
        400,
        "validation_error",
        "INVALID_REQUEST_BODY",
    );
    assert_eq!(error["param"], json!("search"));
    let users: Vec<String> = (0..1001).map(|i| format!("usr-{i}")).collect();
    let error = assert_envelope(
        server.post(SEARCH, &json!({ "user_id": users })),
        400,
        "validation_error",
        "INVALID_REQUEST_BODY",
    );
    assert_eq!(error["param"], json!("user_id"));
}

#[test]
fn a_client_that_hangs_up_is_logged_and_its_request_dropped() {
    let server = Server::start(&["--inject-faults", "slow=1,delay-ms=3000"]);
    let mut stream = connect(&server);
    write!(
        stream,
        "POST {SEARCH} HTTP/1.1\r\nHost: test\r\nAuthorization: {KEY}\r\nContent-Type: application/json\r\nX-Request-Id: gone-1\r\nContent-Length: 2\r\n\r\n{{}}"
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let closed = Instant::now();
    drop(stream);
    let log = server.stderr_with("gone-1");
    assert!(closed.elapsed() < Duration::from_secs(2), "{log}");
    let line = log
        .lines()
        .find(|line| line.contains("gone-1"))
        .expect("a log line");
    assert!(
        line.starts_with(&format!("callfunnel: POST {SEARCH} 499 "))
            && line.ends_with("gone-1 client closed the connection; its work was stopped"),
        "{line}"
    );
}
