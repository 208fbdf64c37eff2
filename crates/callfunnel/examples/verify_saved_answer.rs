//! Checks a saved answer of the API against the calls behind it: every figure
//! is recomputed and compared, and each difference names the calls and the
//! readings of the rules that would explain it.
//!
//! ```sh
//! cargo run -p callfunnel --example verify_saved_answer -- \
//!     sample_data/calls.csv sample_data/api/request.json sample_data/api/response_disputed.json
//! ```

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;

use callfunnel::ingest::{load, IngestOptions};
use callfunnel::verify::verify;
use callfunnel::Request;

fn main() -> Result<ExitCode, Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [calls, request, answer] = args.as_slice() else {
        return Err("usage: verify_saved_answer CALLS REQUEST.json ANSWER.json".into());
    };
    let request = Request::from_json_str(&std::fs::read_to_string(request)?)?;
    let answer: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(answer)?)?;
    let options = IngestOptions::for_request(&request);
    let loaded = load(&[PathBuf::from(calls)], &options)?;
    let report = verify(loaded.frame, &request, &answer)?;
    println!("{}", report.render_table());
    Ok(if report.agrees() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
