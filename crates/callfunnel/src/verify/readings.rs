//! The readings of the rules that the public documentation leaves open, or
//! that an earlier version of the definitions took: when a figure differs,
//! the response is recomputed under each, and a reading that reproduces the
//! API's figure explains the difference.

use std::fmt;

use chrono_tz::Tz;
use polars::prelude::*;

use crate::engine::{compute_with, EngineError};
use crate::model::rules::empty_tags;
use crate::model::{column, CallResult};
use crate::request::Request;
use crate::response::Response;
use crate::rounding::{Rounding, RATE_DECIMALS};

/// A reading of the metrics that the public documentation leaves open, or
/// that an earlier version of the definitions took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reading {
    /// A call whose result is `VOICEMAIL` counts as connected.
    VoicemailConnected,
    /// A conversation is a connected call of *at least* the threshold
    /// (durations are whole seconds, so: more than threshold − 1).
    ConversationAtThreshold,
    /// Funnel rates against the previous stage instead of dials:
    /// connected ÷ dials, conversations ÷ connected, conversions ÷ conversations.
    RatesAgainstPreviousStage,
    /// Days, buckets, weekdays and hours read in UTC instead of the request's zone.
    DaysInUtc,
    /// Definitions version 1: with no request tags, no call converts
    /// (version 2: a call carrying any tag converts).
    NoTagsNoneConverts,
}

impl Reading {
    /// Every reading, in the order ties are broken.
    pub const ALL: [Reading; 5] = [
        Reading::VoicemailConnected,
        Reading::ConversationAtThreshold,
        Reading::RatesAgainstPreviousStage,
        Reading::DaysInUtc,
        Reading::NoTagsNoneConverts,
    ];

    /// A stable machine name, e.g. `voicemail_connected`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reading::VoicemailConnected => "voicemail_connected",
            Reading::ConversationAtThreshold => "conversation_at_threshold",
            Reading::RatesAgainstPreviousStage => "rates_against_previous_stage",
            Reading::DaysInUtc => "days_in_utc",
            Reading::NoTagsNoneConverts => "no_tags_none_converts",
        }
    }

    /// What the reading assumes, in a few words.
    pub fn description(self) -> &'static str {
        match self {
            Reading::VoicemailConnected => "voicemail counted as connected",
            Reading::ConversationAtThreshold => {
                "conversation at duration >= threshold instead of > threshold"
            }
            Reading::RatesAgainstPreviousStage => concat!(
                "funnel rates against the previous stage (conversations / connected, ",
                "conversions / conversations) instead of dials"
            ),
            Reading::DaysInUtc => {
                "days, buckets, weekdays and hours in UTC instead of the request's time zone"
            }
            Reading::NoTagsNoneConverts => "no tags: none converts (definitions 1)",
        }
    }
}

impl fmt::Display for Reading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The response recomputed under `reading`, exact; `None` when the reading
/// cannot differ from the request's own (days in UTC for a UTC request,
/// version 1's conversions for a request with tags).
pub(super) fn alternative(
    reading: Reading,
    calls: &LazyFrame,
    request: &Request,
    baseline: &Response,
) -> Result<Option<Response>, EngineError> {
    let response = match reading {
        Reading::VoicemailConnected => {
            let result = col(column::RESULT);
            let calls = calls.clone().with_column(
                when(result.clone().eq(lit(CallResult::Voicemail.as_str())))
                    .then(lit(CallResult::Answered.as_str()))
                    .otherwise(result)
                    .alias(column::RESULT),
            );
            compute_with(calls, request, Rounding::Exact)?
        }
        Reading::ConversationAtThreshold => {
            let mut at_threshold = request.clone();
            at_threshold.conversation_threshold_seconds -= 1;
            compute_with(calls.clone(), &at_threshold, Rounding::Exact)?
        }
        Reading::RatesAgainstPreviousStage => {
            let mut response = baseline.clone();
            let funnel = &mut response.data.funnel;
            let ratio = |numerator: u64, denominator: u64| {
                Rounding::Exact.ratio(numerator.into(), denominator.into(), RATE_DECIMALS)
            };
            funnel.conversions.rate = ratio(
                funnel.conversions.count.value,
                funnel.conversations.count.value,
            );
            funnel.conversations.rate = ratio(
                funnel.conversations.count.value,
                funnel.connected.count.value,
            );
            response
        }
        Reading::DaysInUtc => {
            if request.timezone == Tz::UTC {
                return Ok(None);
            }
            let mut in_utc = request.clone();
            in_utc.timezone = Tz::UTC;
            compute_with(calls.clone(), &in_utc, Rounding::Exact)?
        }
        Reading::NoTagsNoneConverts => {
            if !request.tags.is_empty() {
                return Ok(None);
            }
            // Without tags on any call, none converts under version 2 either.
            let untagged = calls.clone().with_column(empty_tags().alias(column::TAGS));
            compute_with(untagged, request, Rounding::Exact)?
        }
    };
    Ok(Some(response))
}

/// Whether any loaded call has a known ringing time.
pub(super) fn any_ringing_known(calls: LazyFrame) -> PolarsResult<bool> {
    let frame = calls
        .select([col(column::RINGING_SECONDS)
            .count()
            .cast(DataType::Int64)
            .alias("known")])
        .collect()?;
    Ok(frame.column("known")?.i64()?.get(0).unwrap_or(0) > 0)
}
