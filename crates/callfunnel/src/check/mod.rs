//! The data-quality report of SPEC §8.6 (`callfunnel check`): what in the
//! calls read is unreadable, likely wrong or worth knowing, each finding
//! with its count, severity and first examples.
//!
//! Pure: [`check`] takes the loaded calls, the ingest report and the moment
//! of the check, and returns [`Findings`]; it prints nothing. The calls are
//! read in one streaming pass ([`scan`]), in memory bounded by the distinct
//! results and tags, whatever the number of calls. [`talk_outliers`] is the
//! cheap part of it that `metrics` and `report` ask on the request's own
//! calls, to say in one line when `check` would warn about a figure they
//! print.
//!
//! ```
//! use callfunnel::check::{check, CheckOptions, Severity};
//! use callfunnel::ingest::{load_str, Format, IngestOptions};
//! use chrono::{TimeZone, Utc};
//!
//! let csv = "id,date,result,duration\ncll-1,2024-03-04T09:30:00Z,ANSWERED,0\n";
//! let ingested = load_str(csv, Format::Csv, "calls.csv", &IngestOptions::default()).unwrap();
//! let options = CheckOptions::at(Utc.with_ymd_and_hms(2024, 4, 1, 0, 0, 0).unwrap());
//! let findings = check(ingested.frame, &ingested.report, &options).unwrap();
//! let silent = findings.get("connected_without_talk").unwrap();
//! assert_eq!((silent.count, silent.severity), (1, Severity::Warning));
//! assert_eq!(silent.examples, ["cll-1"]);
//! ```

mod findings;
pub(crate) mod outliers;
mod scan;
mod typos;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use polars::prelude::*;

pub use findings::{Finding, Findings, Severity, ValueCount, EXAMPLES};
pub use outliers::{talk_outliers, TalkOutliers};
pub use typos::edit_distance;

use crate::ingest::IngestReport;

/// Talk time over which a call is likely wrong, by default (`--max-talk`): 4 hours.
pub const DEFAULT_MAX_TALK_SECONDS: i64 = 4 * 3600;

/// Ringing time over which a call is reported (10 minutes).
pub const LONG_RINGING_SECONDS: f64 = 600.0;

/// Days after every other call beyond which a call's date is a "lone
/// far-off date".
pub const LONE_DATE_DAYS: i64 = 30;

/// What [`check`] needs besides the calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckOptions {
    /// Talk time, in seconds, over which a call is reported (`--max-talk`).
    pub max_talk_seconds: i64,
    /// The moment of the check: calls dated after it are reported. Given by
    /// the caller, so that a check is reproducible.
    pub now: DateTime<Utc>,
    /// The zone timestamps without an offset were read in (the input time
    /// zone the calls were loaded with): the finding about them names it.
    pub input_tz: Tz,
}

impl CheckOptions {
    /// The default options for a check made at `now` of calls read with
    /// the default input time zone (UTC).
    pub fn at(now: DateTime<Utc>) -> Self {
        CheckOptions {
            max_talk_seconds: DEFAULT_MAX_TALK_SECONDS,
            now,
            input_tz: Tz::UTC,
        }
    }
}

/// The findings of SPEC §8.6 over `calls` (canonical frame, de-duplicated
/// as loaded) and what loading them found (`report`), in one streaming pass.
pub fn check(
    calls: LazyFrame,
    report: &IngestReport,
    options: &CheckOptions,
) -> PolarsResult<Findings> {
    let scanned = scan::scan(calls, options)?;
    Ok(findings::from_scan(report, &scanned, options))
}
