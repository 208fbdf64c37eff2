//! Criterion benchmarks of the engine on one million generated calls held in
//! memory: the whole response (with comparison period and drilldown) and
//! each section alone. Run with `cargo bench --bench engine`; figures are in
//! BENCHMARKS.md.

// criterion_group! defines an undocumented public function.
#![allow(missing_docs)]

use callfunnel::engine::{compute, compute_section, Section};
use callfunnel::Request;
use callfunnel_cli::generate::{generate_frame, GenerateOptions};
use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, Criterion};
use polars::prelude::{DataFrame, IntoLazy};

/// Calls in the benchmark frame.
const ROWS: u64 = 1_000_000;

/// One million calls over 2024, generated once.
fn calls() -> DataFrame {
    generate_frame(&GenerateOptions {
        rows: ROWS,
        seed: 7,
        from: NaiveDate::from_ymd_opt(2024, 1, 1).expect("valid date"),
        to: NaiveDate::from_ymd_opt(2024, 12, 31).expect("valid date"),
    })
    .expect("calls generate")
}

/// A quarter in Paris by week, the previous quarter as comparison, and the
/// first page of conversations.
fn request() -> Request {
    Request::from_json_str(
        r#"{"date":{"from":"2024-04-01","to":"2024-06-30"},"timezone":"Europe/Paris",
            "granularity":"WEEK","extend":"items","stage":"CONVERSATION","page":1,"size":50}"#,
    )
    .expect("valid request")
}

fn whole_response(c: &mut Criterion) {
    let calls = calls();
    let request = request();
    let mut group = c.benchmark_group("engine_1m");
    group.sample_size(10);
    group.bench_function("whole_response", |b| {
        b.iter(|| compute(calls.clone().lazy(), &request).expect("computes"))
    });
    for section in Section::ALL {
        group.bench_function(section.name(), |b| {
            b.iter(|| compute_section(calls.clone().lazy(), &request, section).expect("computes"))
        });
    }
    group.finish();
}

criterion_group!(benches, whole_response);
criterion_main!(benches);
