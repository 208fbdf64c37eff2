//! A bounded load test of `callfunnel serve` on 127.0.0.1: CLIENTS concurrent
//! clients (default 64) for SECONDS (default 20) over mixed routes, against a
//! store given in CALLFUNNEL_LOAD_INPUT (e.g. 1M calls written by `generate`):
//!
//! ```sh
//! callfunnel generate --rows 1000000 --seed 1 --out /tmp/calls.parquet
//! CALLFUNNEL_LOAD_INPUT=/tmp/calls.parquet cargo bench --bench serve_load
//! ```
//!
//! Prints requests per second, p50/p99 latency per route, the errors (any
//! answer other than 200), and the server's resident memory at the start of
//! the run and at its end (growth would show a leak).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use serde_json::{json, Value};

/// The routes exercised, in turn, by every client.
const ROUTES: [&str; 4] = ["outbound", "search", "item", "users"];

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Starts the server; returns it and its base URL.
fn start(input: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_callfunnel"))
        .args([
            "serve",
            "--input",
            input,
            "--no-auth",
            "--listen",
            "127.0.0.1:0",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting callfunnel serve");
    let stderr = child.stderr.take().expect("piped stderr");
    let mut lines = BufReader::new(stderr).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("serve ended before listening")
            .expect("reading stderr");
        if let Some(address) = line.strip_prefix("callfunnel: listening on ") {
            break address.to_string();
        }
    };
    // Keep draining the per-request log lines so that the server never blocks on stderr.
    std::thread::spawn(move || lines.for_each(drop));
    (child, base)
}

/// Resident memory of `pid` in KiB (Linux), 0 elsewhere.
fn resident_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Some ids to ask for, from the first search page.
fn some_ids(client: &Client, base: &str) -> Vec<String> {
    let page: Value = client
        .post(format!("{base}/v2/api/conversations/items/search"))
        .json(&json!({"size": 100}))
        .send()
        .and_then(|answer| answer.json())
        .expect("a first search page");
    page["data"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// One client's loop: latencies per route, and the count of non-200 answers.
fn client_loop(
    base: String,
    ids: Arc<Vec<String>>,
    stop: Arc<AtomicBool>,
    seed: usize,
) -> (Vec<Vec<Duration>>, u64) {
    let client = Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("a client");
    let mut latencies = vec![Vec::new(); ROUTES.len()];
    let mut errors = 0;
    let mut turn = seed;
    while !stop.load(Ordering::Relaxed) {
        let route = turn % ROUTES.len();
        let request = match ROUTES[route] {
            "outbound" => client
                .post(format!("{base}/v2/api/analytics/outbound"))
                .json(&json!({"date": {"from": "2024-03-04", "to": "2024-03-31"}, "granularity": "WEEK"})),
            "search" => client
                .post(format!("{base}/v2/api/conversations/items/search"))
                .json(&json!({"direction": "OUTBOUND", "page": 1 + turn % 5, "size": 50})),
            "item" => client.get(format!(
                "{base}/v2/api/conversations/items/{}",
                ids.get(turn % ids.len().max(1)).map_or("none", String::as_str)
            )),
            _ => client.get(format!("{base}/v2/api/users")),
        };
        let started = Instant::now();
        match request
            .send()
            .and_then(|answer| answer.error_for_status())
            .and_then(|answer| answer.bytes())
        {
            Ok(_) => latencies[route].push(started.elapsed()),
            Err(_) => errors += 1,
        }
        turn += 1;
    }
    (latencies, errors)
}

fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

fn main() {
    let Ok(input) = std::env::var("CALLFUNNEL_LOAD_INPUT") else {
        println!("serve_load: set CALLFUNNEL_LOAD_INPUT to a call store (see the file's header); skipped");
        return;
    };
    let clients = setting("CLIENTS", 64) as usize;
    let seconds = setting("SECONDS", 20);
    let (mut server, base) = start(&input);
    let client = Client::new();
    let ids = Arc::new(some_ids(&client, &base));
    let rss_start = resident_kib(server.id());

    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|seed| {
            let (base, ids, stop) = (base.clone(), Arc::clone(&ids), Arc::clone(&stop));
            std::thread::spawn(move || client_loop(base, ids, stop, seed))
        })
        .collect();
    let mut rss_peak = rss_start;
    while started.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(Duration::from_millis(500));
        rss_peak = rss_peak.max(resident_kib(server.id()));
    }
    stop.store(true, Ordering::Relaxed);
    let mut by_route = vec![Vec::new(); ROUTES.len()];
    let mut errors = 0;
    for worker in workers {
        let (latencies, worker_errors) = worker.join().expect("a client thread");
        errors += worker_errors;
        for (all, mine) in by_route.iter_mut().zip(latencies) {
            all.extend(mine);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rss_end = resident_kib(server.id());
    let _ = server.kill();
    let _ = server.wait();

    let total: usize = by_route.iter().map(Vec::len).sum();
    println!("serve_load: {clients} clients, {elapsed:.1} s, {total} answers, {errors} errors, {:.0} requests/s", total as f64 / elapsed);
    let mut all: Vec<Duration> = by_route.iter().flatten().copied().collect();
    all.sort();
    println!(
        "  all routes: p50 {:.2} ms, p99 {:.2} ms",
        percentile(&all, 0.50),
        percentile(&all, 0.99)
    );
    for (route, latencies) in ROUTES.iter().zip(by_route.iter_mut()) {
        latencies.sort();
        println!(
            "  {route:>8}: {:>7} answers, p50 {:.2} ms, p99 {:.2} ms",
            latencies.len(),
            percentile(latencies, 0.50),
            percentile(latencies, 0.99)
        );
    }
    println!("  server memory: {rss_start} KiB at the start, {rss_peak} KiB peak, {rss_end} KiB at the end");
}
