//! `callfunnel pull` and `verify --live` against `callfunnel serve`
//! (the local replica of the API): the pulled store holds exactly the served
//! calls, the API's own answer verifies against it, an interrupted pull
//! resumes to the same store, and the pace holds.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use callfunnel::ingest::{load, IngestOptions};
use callfunnel::model::column;
use polars::prelude::*;

use crate::harness::{
    assert_status, command, path_arg, sample_path, stderr_of, stdout_of, temporary_folder,
};
use crate::serve::{Server, KEY};

/// `callfunnel pull` of 2024 from `base` into `out`, with `extra` flags.
fn pull_command(base: &str, out: &Path, extra: &[&str]) -> Command {
    pull_period_command(base, ("2024-01-01", "2024-12-31"), out, extra)
}

/// `callfunnel pull` of the days `period` from `base` into `out`, with `extra` flags.
pub(crate) fn pull_period_command(
    base: &str,
    period: (&str, &str),
    out: &Path,
    extra: &[&str],
) -> Command {
    let mut pull = command(&["pull", "--from", period.0, "--to", period.1, "--out"]);
    pull.arg(out)
        .args(["--base-url", base, "--quiet"])
        .args(extra)
        .env("ALLO_API_KEY", KEY);
    pull
}

/// `callfunnel verify --input INPUT --request REQUEST --live` against `base`,
/// ending in `--save-answer` (its path to follow).
pub(crate) fn verify_live_command(input: &Path, request: &Path, base: &str) -> Command {
    let mut verify = command(&["verify", "--input"]);
    verify
        .arg(input)
        .arg("--request")
        .arg(request)
        .args(["--live", "--base-url", base, "--save-answer"])
        .env("ALLO_API_KEY", KEY);
    verify
}

/// Runs a prepared command to its end, asserting it succeeded.
fn succeed(mut prepared: Command) -> Output {
    let output = prepared.output().expect("running callfunnel");
    assert_status(&output, 0);
    output
}

/// The calls of a file, by id, in the columns an API item carries.
fn calls_of(path: &Path) -> DataFrame {
    load(&[path.to_path_buf()], &IngestOptions::default())
        .expect("the calls load")
        .frame
        .filter(col(column::TYPE).eq(lit("CALL")))
        .select([
            col(column::ID),
            col(column::DATE),
            col(column::DIRECTION),
            col(column::USER_ID),
            col(column::USER_NAME),
            col(column::USER_EMAIL),
            col(column::ALLO_NUMBER),
            col(column::ALLO_NUMBER_LABEL),
            col(column::CONTACT_NUMBER),
            col(column::RESULT),
            col(column::DURATION),
            col(column::TAGS),
        ])
        .sort([column::ID], SortMultipleOptions::default())
        .collect()
        .expect("the calls collect")
}

#[test]
fn pull_then_verify_live_reproduces_the_served_calls() {
    let server = Server::start(&[]);
    let folder = temporary_folder();
    let store = folder.path().join("calls.parquet");
    let output = succeed(pull_command(&server.base, &store, &["--rate", "200"]));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("the count agrees with the API's total_count"),
        "{stderr}"
    );
    let pulled = calls_of(&store);
    let served = calls_of(&sample_path("calls.csv"));
    assert_eq!(pulled.height(), served.height());
    assert!(pulled.equals_missing(&served), "{pulled}\n{served}");
    assert!(
        !folder.path().join("calls.pages").exists(),
        "the default pages folder is removed"
    );

    let answer = folder.path().join("answer.json");
    let verified = verify_live_command(&store, &sample_path("api/request.json"), &server.base)
        .arg(&answer)
        .output()
        .expect("running verify");
    let stdout = stdout_of(&verified);
    assert_eq!(verified.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("figures agree"), "{stdout}");
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&answer).expect("the answer is saved"))
            .expect("JSON");
    assert!(saved["data"]["funnel"]["dials"]["count"]["value"].as_u64() > Some(0));
}

#[test]
fn an_interrupted_pull_resumes_to_the_same_store() {
    let server = Server::start(&[]);
    let folder = temporary_folder();
    let whole = folder.path().join("whole.parquet");
    succeed(pull_command(&server.base, &whole, &["--rate", "200"]));

    let store = folder.path().join("resumed.parquet");
    let pages = folder.path().join("pages");
    let pages_arg = path_arg(&pages);
    let mut slow = pull_command(&server.base, &store, &["--rate", "4", "--pages", pages_arg])
        .spawn()
        .expect("starting pull");
    let deadline = Instant::now() + Duration::from_secs(60);
    while saved_pages(&pages) < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    slow.kill().expect("stopping pull");
    slow.wait().expect("pull stops");
    let saved = saved_pages(&pages);
    assert!(saved >= 3, "{saved} pages saved before the stop");
    assert!(!store.exists(), "no store from an interrupted pull");

    let output = succeed(pull_command(
        &server.base,
        &store,
        &["--rate", "200", "--pages", pages_arg],
    ));
    let stderr = stderr_of(&output);
    let total = saved_pages(&pages);
    assert!(
        stderr.contains(&format!("({} fetched now", total - saved)),
        "{saved} of {total} pages were saved: {stderr}"
    );
    assert!(calls_of(&store).equals_missing(&calls_of(&whole)));
}

#[test]
fn the_pull_keeps_its_pace() {
    let server = Server::start(&[]);
    let folder = temporary_folder();
    let store = folder.path().join("calls.parquet");
    let started = Instant::now();
    let output = succeed(pull_command(&server.base, &store, &["--rate", "20"]));
    let elapsed = started.elapsed().as_secs_f64();
    let stderr = stderr_of(&output);
    let requests: f64 = stderr
        .split(" requests)")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no request count in {stderr}"));
    assert!(requests >= 10.0, "{stderr}");
    // n requests at 20 a second take at least (n - 1) / 20 seconds.
    assert!(
        elapsed >= (requests - 1.0) / 20.0,
        "{requests} requests in {elapsed:.2} s"
    );
}

#[test]
fn a_wrong_key_is_refused_and_an_absent_server_is_a_network_failure() {
    let server = Server::start(&[]);
    let folder = temporary_folder();
    let store = folder.path().join("calls.parquet");
    let mut wrong = pull_command(&server.base, &store, &[]);
    wrong.env("ALLO_API_KEY", "not-the-key");
    let output = wrong.output().expect("running pull");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_of(&output).contains("API_KEY_INVALID"));

    let mut absent = pull_command("http://127.0.0.1:9", &store, &["--max-retries", "1"]);
    absent.env("ALLO_API_KEY", KEY);
    let output = absent.output().expect("running pull");
    assert_eq!(output.status.code(), Some(5));
    assert!(!store.exists());
}

/// The search requests in a server's log: (status, fault) of each.
fn searches_logged(server: &Server) -> Vec<(String, Option<String>)> {
    server
        .stderr()
        .lines()
        .filter_map(|line| {
            line.strip_prefix("callfunnel: POST /v2/api/conversations/items/search ")
        })
        .map(|rest| {
            let status = rest.split(' ').next().unwrap_or_default().to_string();
            let fault = rest
                .split(' ')
                .find_map(|word| word.strip_prefix("fault="))
                .map(str::to_string);
            (status, fault)
        })
        .collect()
}

/// The search requests in the server's log, once it logged `expected` of
/// them (its log is read on another thread), or after 10 seconds.
fn searches_once_logged(server: &Server, expected: usize) -> Vec<(String, Option<String>)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let logged = searches_logged(server);
        if logged.len() >= expected || Instant::now() > deadline {
            return logged;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The number before `label` in `text` (`… 30 requests)` → 30 for ` requests)`).
fn number_before(text: &str, label: &str) -> u64 {
    text.split(label)
        .next()
        .and_then(|head| head.rsplit([' ', '(']).next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no number before '{label}' in {text}"))
}

#[test]
fn a_pull_through_injected_faults_holds_exactly_the_served_calls_at_its_pace() {
    let server = Server::start(&[
        "--inject-faults",
        "429=0.07,500=0.07,drop=0.07,slow=0.07,delay-ms=300,retry-after=1,seed=4",
    ]);
    let folder = temporary_folder();
    let store = folder.path().join("calls.parquet");
    let rate = 20.0;
    let started = Instant::now();
    let output = succeed(pull_command(&server.base, &store, &["--rate", "20"]));
    let elapsed = started.elapsed().as_secs_f64();
    let stderr = stderr_of(&output);

    // Exactly the served calls, and the count agrees with the API's.
    assert!(
        stderr.contains("the count agrees with the API's total_count"),
        "{stderr}"
    );
    assert!(calls_of(&store).equals_missing(&calls_of(&sample_path("calls.csv"))));

    // The server saw every request pull sent, each fault among them.
    let requests = number_before(&stderr, " requests)");
    let logged = searches_once_logged(&server, requests as usize);
    assert_eq!(logged.len() as u64, requests, "{}", server.stderr());
    let faults = |name: &str| {
        logged
            .iter()
            .filter(|(_, fault)| fault.as_deref() == Some(name))
            .count() as u64
    };
    let (throttled, failed, dropped, slow) =
        (faults("429"), faults("500"), faults("drop"), faults("slow"));
    assert!(
        throttled > 0 && failed > 0 && dropped > 0 && slow > 0,
        "{logged:?}"
    );
    for (status, fault) in &logged {
        let expected = match fault.as_deref() {
            Some("429") => "429",
            Some("500") => "500",
            Some("drop") => "000",
            _ => "200",
        };
        assert_eq!(status, expected, "{logged:?}");
    }

    // Pull reports what it retried: the faults the server injected.
    assert!(
        stderr.contains(&format!(
            "retried {} requests: {throttled} rate limited (429), {failed} server errors (5xx), {dropped} network errors",
            throttled + failed + dropped
        )),
        "{stderr}"
    );
    // 30 pages, each fetched once, plus one request per failed try.
    let pages = number_before(&stderr, " pages (");
    assert_eq!(requests, pages + throttled + failed + dropped, "{stderr}");

    // The pace: n requests at 20 a second take at least (n - 1) / 20 seconds,
    // and each 429 was waited for its Retry-After of 1 second.
    assert!(
        requests as f64 <= rate * elapsed + 1.0,
        "{requests} requests in {elapsed:.2} s"
    );
    assert!(
        elapsed >= throttled as f64 * 1.0 + slow as f64 * 0.3,
        "{throttled} waits of 1 s and {slow} slow pages in {elapsed:.2} s"
    );
}

#[test]
fn a_429_is_waited_for_as_its_retry_after_says() {
    let server = Server::start(&["--inject-faults", "429=1,limit=1,retry-after=2"]);
    let folder = temporary_folder();
    let store = folder.path().join("day.parquet");
    let started = Instant::now();
    let output = succeed(pull_period_command(
        &server.base,
        ("2024-03-04", "2024-03-04"),
        &store,
        &["--rate", "200"],
    ));
    let elapsed = started.elapsed();
    let stderr = stderr_of(&output);
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    assert!(
        stderr.contains("retried 1 requests: 1 rate limited (429), 0 server errors (5xx), 0 network errors; waited 2.0 s"),
        "{stderr}"
    );
    // The first request refused, then every page answered once.
    let requests = number_before(&stderr, " requests)");
    let pages = number_before(&stderr, " pages (");
    assert_eq!(requests, pages + 1, "{stderr}");
    let logged = searches_once_logged(&server, requests as usize);
    assert_eq!(logged.len() as u64, requests, "{logged:?}");
    assert_eq!(logged[0], ("429".to_string(), Some("429".to_string())));
    assert!(logged[1..]
        .iter()
        .all(|(status, fault)| status == "200" && fault.is_none()));
}

#[test]
fn retries_exhausted_stop_with_status_5_keeping_the_pages_and_a_rerun_resumes() {
    let failing = Server::start(&["--inject-faults", "drop=1,after=3"]);
    let folder = temporary_folder();
    let store = folder.path().join("calls.parquet");
    let pages = folder.path().join("pages");
    let pages_arg = path_arg(&pages);
    let output = pull_command(
        &failing.base,
        &store,
        &["--rate", "200", "--max-retries", "2", "--pages", pages_arg],
    )
    .output()
    .expect("running pull");
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("after 3 tries"), "{stderr}");
    assert!(
        stderr.contains("retried 3 requests: 0 rate limited (429), 0 server errors (5xx), 3 network errors; waited 1.5 s"),
        "{stderr}"
    );
    assert_eq!(saved_pages(&pages), 3);
    assert!(!store.exists());
    let logged = searches_once_logged(&failing, 6);
    assert_eq!(logged.len(), 6, "3 pages, then 3 tries of page 4");
    assert!(logged[3..]
        .iter()
        .all(|(status, fault)| status == "000" && fault.as_deref() == Some("drop")));

    // The same address (a resume is of the same server), now healthy.
    let address = failing.address().to_string();
    drop(failing);
    let healthy = Server::start_on(&address, &[]);
    let output = succeed(pull_command(
        &healthy.base,
        &store,
        &["--rate", "200", "--pages", pages_arg],
    ));
    let stderr = stderr_of(&output);
    let total = saved_pages(&pages);
    assert!(
        stderr.contains(&format!("({} fetched now", total - 3)),
        "{stderr}"
    );
    assert!(calls_of(&store).equals_missing(&calls_of(&sample_path("calls.csv"))));
}

/// Page files saved in `folder`.
pub(crate) fn saved_pages(folder: &Path) -> usize {
    std::fs::read_dir(folder).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|entry| entry.file_name().to_string_lossy().starts_with("page-"))
            .count()
    })
}
