//! The stage rules of SPEC §3, each in one place: which calls count, which
//! results are connected, what a conversation is and what converts.
//!
//! The engine builds its columns from these expressions, ingest gives
//! drilldown items the tags of [`conversion_tags`], and `verify` reads its
//! alternative readings against them; no other module spells a rule out.
//!
//! ```
//! use callfunnel::model::CallResult;
//! use callfunnel::stages::conversion_tags;
//!
//! assert!(CallResult::TransferredAi.is_connected());
//! assert!(!CallResult::Voicemail.is_connected());
//! assert_eq!(conversion_tags(&[]), ["converted"]);
//! ```

use polars::prelude::*;

use crate::model::rules::is_one_of;
use crate::model::{column, CallResult, CallType, Direction};

/// The results where the recipient picked up: a call with one of them is
/// connected. `VOICEMAIL` is a machine, not the recipient; every other result,
/// and an unknown one, is not connected.
pub const CONNECTED_RESULTS: [CallResult; 4] = [
    CallResult::Answered,
    CallResult::Transferred,
    CallResult::TransferredAi,
    CallResult::TransferredExternal,
];

/// The tag a saved drilldown `CONVERSION` item is given when the request has
/// no tags (SPEC §1.1), so that it converts under [`is_conversion`].
pub const CONVERTED_TAG: &str = "converted";

/// The tags that make a call convert for a request with `request_tags`
/// (lower case): those tags, or [`CONVERTED_TAG`] when there are none.
pub fn conversion_tags(request_tags: &[String]) -> Vec<String> {
    if request_tags.is_empty() {
        vec![CONVERTED_TAG.to_string()]
    } else {
        request_tags.to_vec()
    }
}

impl CallResult {
    /// Whether the recipient picked up: the result is one of
    /// [`CONNECTED_RESULTS`].
    pub fn is_connected(self) -> bool {
        CONNECTED_RESULTS.contains(&self)
    }
}

/// Whether a call enters the metrics at all: an `OUTBOUND` `CALL` (the
/// request's filters aside).
pub fn is_counted() -> Expr {
    col(column::DIRECTION)
        .eq(lit(Direction::Outbound.as_str()))
        .and(col(column::TYPE).eq(lit(CallType::Call.as_str())))
}

/// Whether a call is connected: its `result` is one of [`CONNECTED_RESULTS`]
/// (a few equality tests: an `is_in` would buffer the other columns in
/// Polars' streaming engine).
pub fn is_connected() -> Expr {
    is_one_of(
        col(column::RESULT),
        &CONNECTED_RESULTS.map(CallResult::as_str),
    )
    .fill_null(lit(false))
}

/// Whether a call went to voicemail: its `result` is `VOICEMAIL` (a machine
/// answered; not connected). SPEC §8 counts these calls beside the funnel.
pub fn is_voicemail() -> Expr {
    col(column::RESULT)
        .eq(lit(CallResult::Voicemail.as_str()))
        .fill_null(lit(false))
}

/// Whether a call is a conversation: `connected` (the value of
/// [`is_connected`]) and a `duration` strictly greater than the threshold.
pub fn is_conversation(connected: Expr, threshold_seconds: i64) -> Expr {
    connected.and(col(column::DURATION).gt(lit(threshold_seconds)))
}

/// Whether a call converts for a request with `request_tags` (lower case,
/// as the call's tags are): it carries one of them; with no request tags, it
/// carries any tag (since definitions 2). It need not be connected.
///
/// One membership test of each call tag in the list of request tags: time
/// and memory stay linear in the number of tags (an `or` of one test per
/// request tag grows the query plan with every tag).
pub fn is_conversion(request_tags: &[String]) -> Expr {
    let tags = col(column::TAGS);
    let converts = if request_tags.is_empty() {
        tags.list().len().gt(lit(0))
    } else {
        let wanted = Series::new("tags".into(), request_tags);
        tags.list()
            .agg(element().is_in(lit(wanted).implode(false), false).any(true))
    };
    converts.fill_null(lit(false))
}
