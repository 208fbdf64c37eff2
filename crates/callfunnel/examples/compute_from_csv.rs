//! Computes the outbound metrics of a CSV call log for a request, as the API
//! would answer them.
//!
//! ```sh
//! cargo run -p callfunnel --example compute_from_csv -- sample_data/calls.csv sample_data/request.json
//! ```

use std::error::Error;
use std::path::PathBuf;

use callfunnel::ingest::{load, IngestOptions};
use callfunnel::{compute, Request};

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(calls), Some(request)) = (args.next(), args.next()) else {
        return Err("usage: compute_from_csv CALLS.csv REQUEST.json".into());
    };
    let request = Request::from_json_str(&std::fs::read_to_string(request)?)?;
    let options = IngestOptions::for_request(&request);
    let loaded = load(&[PathBuf::from(calls)], &options)?;
    eprintln!("{} calls loaded", loaded.report.calls);
    let response = compute(loaded.frame, &request)?;
    println!("{}", response.to_json_pretty());
    Ok(())
}
