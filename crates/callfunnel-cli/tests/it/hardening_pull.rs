//! Issue 24, "Hardening, second round": `pull` and `verify --live` against an
//! API that misbehaves. The API is a fake written here: a thread on a free
//! port answering each request (one per connection) as a test says.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{
    assert_status, assert_stderr_contains, path_arg, run, sample_path, stderr_of, temporary_folder,
    write_file,
};
use crate::pull::{pull_period_command, saved_pages, verify_live_command};

/// One request the fake API received.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    authorization: Option<String>,
    body: Value,
}

/// How the fake API answers a request.
enum Reply {
    /// A status and a JSON body.
    Json(u16, Value),
    /// A 200 whose body is this text, as `application/json`.
    Text(String),
    /// A redirect: the status and the `Location`.
    Redirect(u16, String),
    /// A 200 whose body never ends.
    Endless,
    /// A 200 announcing a body of this many bytes.
    Announced(u64),
}

/// A fake API on a free port; each request answered by its handler, which
/// sees the request and how many came before it.
struct FakeApi {
    base: String,
    received: Arc<Mutex<Vec<Received>>>,
}

type Handler = dyn Fn(&Received, usize) -> Reply + Send + Sync;

impl FakeApi {
    fn start(handler: impl Fn(&Received, usize) -> Reply + Send + Sync + 'static) -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        let handler: Arc<Handler> = Arc::new(handler);
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let (log, handler) = (Arc::clone(&log), Arc::clone(&handler));
                std::thread::spawn(move || answer(stream, &log, &*handler));
            }
        });
        FakeApi { base, received }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// Reads one request from `stream`, records it and writes the reply.
fn answer(stream: TcpStream, log: &Mutex<Vec<Received>>, handler: &Handler) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut words = line.split_whitespace();
    let (method, path) = (
        words.next().unwrap_or_default().to_string(),
        words.next().unwrap_or_default().to_string(),
    );
    let (mut length, mut authorization) = (0usize, None);
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).unwrap_or(0);
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap_or((header, ""));
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap_or(0),
            "authorization" => authorization = Some(value.trim().to_string()),
            _ => {}
        }
    }
    let mut body = vec![0u8; length];
    let _ = reader.read_exact(&mut body);
    let request = Received {
        method,
        path,
        authorization,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let index = {
        let mut log = log.lock().unwrap();
        log.push(request.clone());
        log.len() - 1
    };
    let mut stream = reader.into_inner();
    let head = |status: u16, extra: &str| {
        format!(
            "HTTP/1.1 {status} X\r\nConnection: close\r\nContent-Type: application/json\r\n{extra}"
        )
    };
    let _ = match handler(&request, index) {
        Reply::Json(status, value) => {
            let text = value.to_string();
            let head = head(status, &format!("Content-Length: {}\r\n\r\n", text.len()));
            stream.write_all((head + &text).as_bytes())
        }
        Reply::Text(text) => {
            let head = head(200, &format!("Content-Length: {}\r\n\r\n", text.len()));
            stream.write_all((head + &text).as_bytes())
        }
        Reply::Redirect(status, location) => stream.write_all(
            head(
                status,
                &format!("Location: {location}\r\nContent-Length: 0\r\n\r\n"),
            )
            .as_bytes(),
        ),
        Reply::Endless => {
            let _ = stream.write_all(head(200, "\r\n").as_bytes());
            let chunk = vec![b' '; 64 << 10];
            while stream.write_all(&chunk).is_ok() {}
            Ok(())
        }
        Reply::Announced(length) => stream.write_all(
            head(200, &format!("Content-Length: {length}\r\n\r\n{{\"data\":")).as_bytes(),
        ),
    };
}

/// One search item of `day` (2024-03-DD), with the fields a call needs.
fn item(id: &str, date: &str) -> Value {
    json!({"id": id, "date": date, "direction": "OUTBOUND", "type": "CALL", "result": "ANSWERED", "duration": 70, "tags": []})
}

/// A search page holding `items`.
fn page(items: Vec<Value>, page: u64, has_more: bool, total_count: u64) -> Value {
    json!({
        "data": items,
        "pagination": {"page": page, "size": 100, "total_count": total_count,
                       "total_pages": total_count.div_ceil(100), "has_more": has_more},
    })
}

/// Items `first..first + count` of a day of March 2024.
fn items(first: usize, count: usize) -> Vec<Value> {
    (first..first + count)
        .map(|index| item(&format!("cll-{index:05}"), "2024-03-04T10:00:00Z"))
        .collect()
}

/// The page number a search asked for.
fn page_asked(request: &Received) -> u64 {
    request.body["page"].as_u64().unwrap_or(1)
}

const KEY: &str = "fake-key";

/// `callfunnel pull` of March 2024 from `base` into `out`, with `extra`.
fn pull(base: &str, out: &Path, extra: &[&str]) -> Output {
    pull_with_key(base, out, KEY, extra)
}

/// [`pull`] with the API key `key`.
fn pull_with_key(base: &str, out: &Path, key: &str, extra: &[&str]) -> Output {
    pull_period_command(base, ("2024-03-01", "2024-03-31"), out, &["--rate", "1000"])
        .args(extra)
        .env("ALLO_API_KEY", key)
        .output()
        .expect("running pull")
}

/// `verify --live` of `input` against `base`, saving its answer to `answer`.
fn verify_live(input: &Path, base: &str, answer: &Path) -> Output {
    verify_live_command(input, &sample_path("api/request.json"), base)
        .arg(answer)
        .env("ALLO_API_KEY", KEY)
        .output()
        .expect("running verify")
}

/// Asserts the exit status and that stderr holds `needle`.
fn assert_exits_saying(output: &Output, status: i32, needle: &str) {
    assert_status(output, status);
    let text = stderr_of(output);
    assert!(text.contains(needle), "expected `{needle}` in:\n{text}");
}

// ---------------------------------------------------------------------------
// 4: every answer is read up to a cap, never further.
// ---------------------------------------------------------------------------

#[test]
fn an_endless_answer_stops_pull_and_verify_live_at_the_cap() {
    let api = FakeApi::start(|request, _| match request.path.as_str() {
        "/v2/api/analytics/outbound" => Reply::Announced(1 << 30),
        _ => Reply::Endless,
    });
    let folder = temporary_folder();
    let started = Instant::now();
    let output = pull(&api.base, &folder.path().join("calls.parquet"), &[]);
    assert_exits_saying(
        &output,
        5,
        "the API's answer to /v2/api/conversations/items/search is larger than 64 MiB: reading stopped there",
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(api.received().len(), 1, "not tried again");

    let answer = folder.path().join("answer.json");
    let output = verify_live(&sample_path("calls.csv"), &api.base, &answer);
    assert_exits_saying(
        &output,
        5,
        "the API's answer to /v2/api/analytics/outbound is larger than 64 MiB",
    );
    assert!(!answer.exists());
}

// ---------------------------------------------------------------------------
// 5: paging that does not end is stopped.
// ---------------------------------------------------------------------------

#[test]
fn a_page_repeated_for_ever_stops_the_pull() {
    let api = FakeApi::start(|_, _| Reply::Json(200, page(items(0, 100), 1, true, 250)));
    let folder = temporary_folder();
    let pages = folder.path().join("pages");
    let output = pull(
        &api.base,
        &folder.path().join("calls.parquet"),
        &["--pages", path_arg(&pages)],
    );
    assert_exits_saying(
        &output,
        5,
        "page 2: the page holds the same 100 calls as page 1: the API's paging does not move on; the 1 pages before it are kept in",
    );
    assert_eq!(api.received().len(), 2);
    assert_eq!(saved_pages(&pages), 1);
}

#[test]
fn new_calls_for_ever_past_the_announced_total_stop_the_pull() {
    let api = FakeApi::start(|request, _| {
        let number = page_asked(request);
        Reply::Json(
            200,
            page(items(number as usize * 100, 100), number, true, 250),
        )
    });
    let folder = temporary_folder();
    let output = pull(&api.base, &folder.path().join("calls.parquet"), &[]);
    assert_exits_saying(
        &output,
        5,
        "page 6: the API announced 3 pages (250 calls) and page 6 still says more follow: its paging does not end",
    );
    assert_eq!(api.received().len(), 6);
    assert!(!folder.path().join("calls.parquet").exists());
}

#[test]
fn redirects_that_change_the_method_or_the_origin_are_refused() {
    let elsewhere = FakeApi::start(|_, _| Reply::Json(200, page(items(0, 3), 1, false, 3)));
    let target = format!("{}/v2/api/conversations/items/search", elsewhere.base);
    let moved = FakeApi::start(move |_, _| Reply::Redirect(302, target.clone()));
    let folder = temporary_folder();
    let output = pull(&moved.base, &folder.path().join("moved.parquet"), &[]);
    assert_exits_saying(
        &output,
        5,
        "the API redirected /v2/api/conversations/items/search: 302 to http://",
    );
    assert!(stderr_of(&output).contains("which would turn the POST into a GET"));

    let target = format!("{}/v2/api/conversations/items/search", elsewhere.base);
    let other_origin = FakeApi::start(move |_, _| Reply::Redirect(308, target.clone()));
    let output = pull(
        &other_origin.base,
        &folder.path().join("other.parquet"),
        &[],
    );
    assert_exits_saying(
        &output,
        5,
        &format!("308 to another origin, {}: not followed", elsewhere.base),
    );
    assert!(elsewhere.received().is_empty(), "the key went elsewhere");
    assert_eq!(moved.received().len() + other_origin.received().len(), 2);

    // 307 on the same origin keeps the POST, its body and its key.
    let same = FakeApi::start(|request, _| match request.path.as_str() {
        "/v2/api/conversations/items/search" => {
            Reply::Redirect(307, "/v2/moved/search".to_string())
        }
        _ => Reply::Json(200, page(items(0, 3), 1, false, 3)),
    });
    let output = pull(&same.base, &folder.path().join("same.parquet"), &[]);
    assert_status(&output, 0);
    let received = same.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].method, "POST");
    assert_eq!(received[1].body, received[0].body);
    assert_eq!(
        received[1].authorization.as_deref(),
        Some("Api-Key fake-key")
    );
}

// ---------------------------------------------------------------------------
// 11, 12: a pull that is incomplete fails and keeps its pages; a resume is
// of the same server and key.
// ---------------------------------------------------------------------------

#[test]
fn an_empty_page_that_says_more_follow_fails_the_pull_keeping_its_pages() {
    let api = FakeApi::start(|request, _| match page_asked(request) {
        1 => Reply::Json(200, page(items(0, 100), 1, true, 250)),
        number => Reply::Json(200, page(Vec::new(), number, true, 250)),
    });
    let folder = temporary_folder();
    let store = folder.path().join("calls.parquet");
    let output = pull(&api.base, &store, &[]);
    assert_exits_saying(
        &output,
        5,
        "page 2: the page is empty but says more follow: the API stopped before the end, so the pull is incomplete",
    );
    assert!(!store.exists());
    assert_eq!(saved_pages(&folder.path().join("calls.pages")), 1);
}

#[test]
fn a_resume_from_another_server_or_with_another_key_is_refused() {
    let failing = FakeApi::start(|request, _| match page_asked(request) {
        1 => Reply::Json(200, page(items(0, 100), 1, true, 250)),
        _ => Reply::Json(
            500,
            json!({"error": {"code": "INTERNAL_ERROR", "message": "down"}}),
        ),
    });
    let folder = temporary_folder();
    let store = folder.path().join("calls.parquet");
    let pages = folder.path().join("pages");
    let pages_arg = ["--pages", path_arg(&pages), "--max-retries", "0"];
    assert_exits_saying(&pull(&failing.base, &store, &pages_arg), 5, "after 1 tries");
    assert_eq!(saved_pages(&pages), 1);

    let other = FakeApi::start(|request, _| {
        Reply::Json(200, page(items(0, 100), page_asked(request), false, 100))
    });
    assert_exits_saying(
        &pull(&other.base, &store, &pages_arg),
        2,
        &format!(
            "holds the pages of another pull (from the server {}); give another --pages folder or empty it",
            failing.base
        ),
    );
    assert_exits_saying(
        &pull_with_key(&failing.base, &store, "another-key", &pages_arg),
        2,
        "holds the pages of another pull (with another API key)",
    );
    assert!(other.received().is_empty());
    let manifest = std::fs::read_to_string(pages.join("pull.json")).unwrap();
    assert!(!manifest.contains(KEY), "{manifest}");
}

// ---------------------------------------------------------------------------
// 13: only the period's calls are kept; --since-last never goes backwards.
// ---------------------------------------------------------------------------

#[test]
fn calls_outside_the_period_are_left_out_and_since_last_never_goes_backwards() {
    let api = FakeApi::start(|request, _| {
        let date = &request.body["date"];
        if date["from"].as_str() > date["to"].as_str() {
            return Reply::Json(
                400,
                json!({"error": {"code": "INVALID_DATE_RANGE", "message": "from is after to"}}),
            );
        }
        Reply::Json(
            200,
            page(
                vec![
                    item("cll-in", "2024-03-04T10:00:00Z"),
                    item("cll-late", "2024-06-30T10:00:00Z"),
                    item("cll-early", "2024-02-29T23:59:59Z"),
                ],
                1,
                false,
                3,
            ),
        )
    });
    let folder = temporary_folder();
    let store = folder.path().join("calls.parquet");
    let output = pull(&api.base, &store, &[]);
    assert_exits_saying(
        &output,
        0,
        "warning: the API answered 2 calls dated outside 2024-03-01 to 2024-03-31; they were left out",
    );
    let ids = |store: &Path| -> Vec<String> {
        let loaded = callfunnel::ingest::load(&[store.to_path_buf()], &Default::default()).unwrap();
        let frame = loaded.frame.collect().unwrap();
        let column = frame.column("id").unwrap().str().unwrap();
        (0..column.len())
            .filter_map(|index| column.get(index))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(ids(&store), ["cll-in"]);

    // A store whose last call is after --to: nothing to pull, no request.
    let late = write_file(
        folder.path(),
        "late.csv",
        "id,date\ncll-june,2024-06-30T10:00:00Z\n",
    );
    let late_store = folder.path().join("late.parquet");
    let converted = run(
        &[
            "convert",
            "--input",
            path_arg(&late),
            "--out",
            path_arg(&late_store),
        ],
        None,
    );
    assert_status(&converted, 0);
    let before = api.received().len();
    let output = pull(&api.base, &late_store, &["--since-last"]);
    assert_exits_saying(
        &output,
        0,
        "the store's last call is on 2024-06-30, after --to 2024-03-31: nothing to pull",
    );
    assert_eq!(api.received().len(), before);
    assert_eq!(ids(&late_store), ["cll-june"]);
}

// ---------------------------------------------------------------------------
// 14: an answer that is not JSON is the API's fault: retried, then exit 5.
// ---------------------------------------------------------------------------

#[test]
fn answers_that_are_not_json_are_retried_then_exit_5() {
    let broken = FakeApi::start(|_, _| Reply::Text("<html>Bad gateway</html>".into()));
    let folder = temporary_folder();
    let store = folder.path().join("calls.parquet");
    let output = pull(&broken.base, &store, &["--max-retries", "2"]);
    assert_exits_saying(
        &output,
        5,
        "the API answered /v2/api/conversations/items/search 3 times with a body that is not JSON (the API is at fault): HTTP 200: expected value at line 1 column 1",
    );
    assert_stderr_contains(&output, "retried 3 requests: 0 rate limited (429), 0 server errors (5xx), 0 network errors, 3 answers not JSON; waited 1.5 s");
    assert_eq!(broken.received().len(), 3);

    // Once garbled, then whole: the pull succeeds.
    let flaky = FakeApi::start(|_, index| match index {
        0 => Reply::Text("{\"data\": [".into()),
        _ => Reply::Json(200, page(items(0, 3), 1, false, 3)),
    });
    let output = pull(&flaky.base, &folder.path().join("flaky.parquet"), &[]);
    assert_exits_saying(&output, 0, "1 answers not JSON");
}

// ---------------------------------------------------------------------------
// 16: verify --live never saves its answer over an input.
// ---------------------------------------------------------------------------

#[test]
fn verify_live_refuses_to_save_the_answer_over_an_input() {
    let api = FakeApi::start(|_, _| Reply::Json(200, json!({"data": {}})));
    let folder = temporary_folder();
    let calls = folder.path().join("calls.csv");
    std::fs::copy(sample_path("calls.csv"), &calls).unwrap();
    let request = folder.path().join("request.json");
    std::fs::copy(sample_path("api/request.json"), &request).unwrap();
    for target in [&calls, &request] {
        let output = verify_live_command(folder.path(), &request, &api.base)
            .arg(target)
            .env("ALLO_API_KEY", KEY)
            .output()
            .expect("running verify");
        assert_exits_saying(
            &output,
            2,
            &format!(
                "--save-answer {} is the input {}: refusing to overwrite it",
                target.display(),
                target.display()
            ),
        );
    }
    assert!(api.received().is_empty());
    assert_eq!(
        std::fs::read(&calls).unwrap(),
        std::fs::read(sample_path("calls.csv")).unwrap()
    );
}
