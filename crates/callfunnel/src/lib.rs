//! # callfunnel
//!
//! Recomputes Allo's outbound-call analytics (`POST /v2/api/analytics/outbound`)
//! offline, from exported call logs, following the contract in `SPEC.md`.
//!
//! The pieces, one module per concern:
//! - [`model`]: the call record and its canonical Polars frame;
//! - [`ingest`]: CSV, JSON, NDJSON, saved API pages and Parquet into that frame;
//! - [`request`]: the API's request body and its validation;
//! - [`stages`]: the stage rules of SPEC §3 (counted, connected,
//!   conversation, conversion), in one place;
//! - [`engine`]: the pure computation, on Polars lazy frames;
//! - [`analysis`]: beyond the API (SPEC §8): breakdowns, connect rules,
//!   contact reach, Wilson intervals and comparison presets, computed with
//!   the engine's sections;
//! - [`response`]: the API-shaped response;
//! - [`pagination`]: the page-number and page-size rules and the
//!   `pagination` of a page;
//! - [`definitions`]: the rules, printable, with their version;
//! - [`verify`]: an API answer compared with the recomputation;
//! - [`store`]: the canonical Parquet store, written and read;
//! - [`check`]: the data-quality findings of `callfunnel check`;
//! - [`scratch`]: temporary files, removed on a signal.
//!
//! The command line, the text tables, the HTML/PNG report and the generator of
//! synthetic calls live in the `callfunnel-cli` package, so this crate depends
//! on the data stack only (Polars, serde, csv, chrono, chrono-tz, thiserror).
//!
//! ```
//! use callfunnel::model::{calls_to_frame, Call, CallResult};
//! use callfunnel::{compute, Request};
//! use chrono::{TimeZone, Utc};
//! use polars::prelude::IntoLazy;
//!
//! let mut call = Call::new("cll-1", Utc.with_ymd_and_hms(2024, 3, 4, 9, 30, 0).unwrap());
//! call.result = Some(CallResult::Answered);
//! call.duration = 95;
//! let calls = calls_to_frame([call]).unwrap().lazy();
//!
//! let request = Request::from_json_str(r#"{"date": {"from": "2024-03-04", "to": "2024-03-10"}}"#).unwrap();
//! let response = compute(calls, &request).unwrap();
//! assert_eq!(response.data.funnel.conversations.count.value, 1);
//! assert_eq!(response.data.funnel.connected.rate, Some(1.0));
//! ```

pub mod analysis;
pub mod check;
pub mod definitions;
mod duplicates;
pub mod engine;
mod exprs;
pub mod ingest;
pub mod model;
pub mod pagination;
pub mod reason;
pub mod request;
pub mod response;
pub mod rounding;
pub mod scratch;
pub mod stages;
pub mod store;
pub mod verify;

pub use engine::{compute, compute_with, compute_with_previous_series, EngineError};
pub use request::{ApiError, Request};
pub use response::Response;
pub use rounding::Rounding;
