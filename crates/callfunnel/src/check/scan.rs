//! The one streaming pass of `check` over the calls: the Polars engine
//! computes each finding's condition as a boolean column, batch by batch;
//! each batch then adds to counts, keeps the first examples, and counts
//! results and tags.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use polars::prelude::*;

use super::findings::EXAMPLES;
use super::{CheckOptions, LONG_RINGING_SECONDS};
use crate::exprs::fold_batches;
use crate::model::column;
use crate::model::{CallResult, CallType, Direction};
use crate::stages;

/// A condition of a call that `check` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Condition {
    /// Talk time over `--max-talk`.
    TalkOverMax,
    /// A connected result with 0 s talk.
    ConnectedWithoutTalk,
    /// Talk time on a call that is not connected, nor a voicemail (whose
    /// talk time is the message left).
    TalkNotConnected,
    /// Ringing over [`LONG_RINGING_SECONDS`].
    LongRinging,
    /// Dated after the moment of the check.
    Future,
    /// No `user_id`.
    NoUser,
    /// No `contact_number`.
    NoContact,
    /// An inbound call.
    Inbound,
    /// An SMS.
    Sms,
}

impl Condition {
    /// Every condition, in the order the findings list them.
    pub(crate) const ALL: [Condition; 9] = [
        Condition::TalkOverMax,
        Condition::ConnectedWithoutTalk,
        Condition::TalkNotConnected,
        Condition::LongRinging,
        Condition::Future,
        Condition::NoUser,
        Condition::NoContact,
        Condition::Inbound,
        Condition::Sms,
    ];

    /// The name of its boolean column in the pass.
    fn column(self) -> &'static str {
        match self {
            Condition::TalkOverMax => "__talk_over_max",
            Condition::ConnectedWithoutTalk => "__connected_without_talk",
            Condition::TalkNotConnected => "__talk_not_connected",
            Condition::LongRinging => "__long_ringing",
            Condition::Future => "__future",
            Condition::NoUser => "__no_user",
            Condition::NoContact => "__no_contact",
            Condition::Inbound => "__inbound",
            Condition::Sms => "__sms",
        }
    }

    /// Whether a call meets it, as a Polars expression.
    fn holds(self, options: &CheckOptions) -> Expr {
        let duration = || col(column::DURATION);
        let holds = match self {
            Condition::TalkOverMax => duration().gt(lit(options.max_talk_seconds)),
            Condition::ConnectedWithoutTalk => stages::is_connected().and(duration().eq(lit(0))),
            Condition::TalkNotConnected => stages::is_connected()
                .not()
                .and(is_voicemail().not())
                .and(duration().gt(lit(0))),
            Condition::LongRinging => col(column::RINGING_SECONDS).gt(lit(LONG_RINGING_SECONDS)),
            Condition::Future => col(DATE_MICROS).gt(lit(options.now.timestamp_micros())),
            Condition::NoUser => col(column::USER_ID).is_null(),
            Condition::NoContact => col(column::CONTACT_NUMBER).is_null(),
            Condition::Inbound => col(column::DIRECTION).eq(lit(Direction::Inbound.as_str())),
            Condition::Sms => col(column::TYPE).eq(lit(CallType::Sms.as_str())),
        };
        holds.fill_null(lit(false)).alias(self.column())
    }

    /// How an example of it is shown: the call's id, with the value that
    /// meets the condition when there is one.
    fn example(self, row: &Row<'_>) -> String {
        match self {
            Condition::TalkOverMax | Condition::TalkNotConnected => {
                format!("{} ({})", row.id, talk_time(row.duration))
            }
            Condition::LongRinging => format!("{} ({} s ringing)", row.id, row.ringing),
            Condition::Future => format!("{} ({})", row.id, date_text(row.date_micros)),
            _ => row.id.to_string(),
        }
    }
}

/// Whether a call's result is `VOICEMAIL` (false when it has none).
fn is_voicemail() -> Expr {
    col(column::RESULT)
        .eq(lit(CallResult::Voicemail.as_str()))
        .fill_null(lit(false))
}

/// The column of each call's date in microseconds since the epoch.
const DATE_MICROS: &str = "__date_micros";

/// Calls that meet a condition: how many, and the first few.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Counted {
    /// Calls that meet it.
    pub count: u64,
    /// The first [`EXAMPLES`], as [`Condition::example`] shows them.
    pub examples: Vec<String>,
}

/// What the pass found.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Scanned {
    /// Calls read.
    pub calls: u64,
    /// The calls meeting each condition.
    pub conditions: HashMap<Condition, Counted>,
    /// Talk time of every call, in seconds (exact, whatever the values).
    pub talk_seconds: i128,
    /// Talk time of the calls over `--max-talk`, in seconds.
    pub talk_over_max_seconds: i128,
    /// The longest talk time, in seconds.
    pub longest_talk_seconds: i64,
    /// The latest call (date in microseconds, id) and the date of the one
    /// before it (another call, possibly at the same instant).
    pub latest: Option<(i64, String)>,
    /// The date of the latest call but one.
    pub second_latest: Option<i64>,
    /// Calls by result.
    pub results: HashMap<String, u64>,
    /// Calls without a result.
    pub without_result: u64,
    /// Calls carrying each tag.
    pub tags: HashMap<String, u64>,
}

/// The values of one call that examples show.
struct Row<'a> {
    id: &'a str,
    date_micros: i64,
    duration: i64,
    ringing: f64,
}

/// Scans `calls` once, in order (so the examples are the first in the input).
pub(crate) fn scan(calls: LazyFrame, options: &CheckOptions) -> PolarsResult<Scanned> {
    let mut columns = vec![
        col(column::ID),
        col(column::DURATION),
        col(column::RINGING_SECONDS),
        col(column::RESULT),
        col(column::TAGS),
        col(DATE_MICROS),
    ];
    columns.extend(Condition::ALL.map(|condition| condition.holds(options)));
    let plan = calls
        .with_column(col(column::DATE).cast(DataType::Int64).alias(DATE_MICROS))
        .select(columns);
    fold_batches(plan, true, Scanned::default(), |scanned, batch| {
        scanned.take(&batch)?;
        Ok(false)
    })
}

impl Scanned {
    /// Adds one batch of the pass.
    fn take(&mut self, batch: &DataFrame) -> PolarsResult<()> {
        let ids = batch.column(column::ID)?.str()?;
        let dates = batch.column(DATE_MICROS)?.i64()?;
        let durations = batch.column(column::DURATION)?.i64()?;
        let ringing = batch.column(column::RINGING_SECONDS)?.f64()?;
        let row = |index: usize| Row {
            id: ids.get(index).unwrap_or_default(),
            date_micros: dates.get(index).unwrap_or_default(),
            duration: durations.get(index).unwrap_or_default(),
            ringing: ringing.get(index).unwrap_or_default(),
        };
        self.calls += batch.height() as u64;
        for condition in Condition::ALL {
            let holds = batch.column(condition.column())?.bool()?;
            let counted = self.conditions.entry(condition).or_default();
            let count = holds.sum().unwrap_or(0) as u64;
            if count > 0 && counted.examples.len() < EXAMPLES {
                let rows = holds.iter().enumerate();
                let examples = rows
                    .filter(|(_, holds)| *holds == Some(true))
                    .map(|(index, _)| index);
                let wanted = EXAMPLES - counted.examples.len();
                for index in examples.take(wanted) {
                    counted.examples.push(condition.example(&row(index)));
                }
            }
            counted.count += count;
        }
        let over_max = batch.column(Condition::TalkOverMax.column())?.bool()?;
        self.take_talk(durations, over_max);
        self.take_dates(ids, dates);
        self.take_results(batch.column(column::RESULT)?.str()?);
        self.take_tags(batch.column(column::TAGS)?.list()?)
    }

    /// Adds the batch's talk times (in 128 bits: no sum wraps).
    fn take_talk(&mut self, durations: &Int64Chunked, over_max: &BooleanChunked) {
        for (duration, over_max) in durations.iter().zip(over_max.iter()) {
            let duration = duration.unwrap_or(0);
            self.talk_seconds += i128::from(duration);
            if over_max == Some(true) {
                self.talk_over_max_seconds += i128::from(duration);
            }
            self.longest_talk_seconds = self.longest_talk_seconds.max(duration);
        }
    }

    /// Keeps the two latest dates (the id of the latest).
    fn take_dates(&mut self, ids: &StringChunked, dates: &Int64Chunked) {
        for (index, date) in dates.iter().enumerate() {
            let Some(date) = date else { continue };
            match &self.latest {
                Some((latest, _)) if date <= *latest => {
                    self.second_latest = self.second_latest.max(Some(date));
                }
                _ => {
                    self.second_latest = self.latest.as_ref().map(|(latest, _)| *latest);
                    let id = ids.get(index).unwrap_or_default().to_string();
                    self.latest = Some((date, id));
                }
            }
        }
    }

    /// Counts the batch's results.
    fn take_results(&mut self, results: &StringChunked) {
        for result in results.iter() {
            let Some(result) = result else {
                self.without_result += 1;
                continue;
            };
            count_one(&mut self.results, result);
        }
    }

    /// Counts the calls carrying each tag (a tag written twice on a call counts once).
    fn take_tags(&mut self, tags: &ListChunked) -> PolarsResult<()> {
        for call_tags in tags.amortized_iter().flatten() {
            let call_tags = call_tags.as_ref().str()?;
            for (index, tag) in call_tags.iter().enumerate() {
                let Some(tag) = tag else { continue };
                let seen_before = call_tags.iter().take(index).any(|other| other == Some(tag));
                if !seen_before {
                    count_one(&mut self.tags, tag);
                }
            }
        }
        Ok(())
    }
}

/// Adds one to the count of `key` (allocating only for a key not seen yet).
fn count_one(counts: &mut HashMap<String, u64>, key: &str) {
    match counts.get_mut(key) {
        Some(count) => *count += 1,
        None => {
            counts.insert(key.to_string(), 1);
        }
    }
}

/// A talk time as people read it: `14 h 0 min`, `3 min 5 s`, `42 s`.
pub(crate) fn talk_time(seconds: i64) -> String {
    let (hours, minutes, rest) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    match (hours, minutes) {
        (0, 0) => format!("{rest} s"),
        (0, _) => format!("{minutes} min {rest} s"),
        _ => format!("{hours} h {minutes} min"),
    }
}

/// A date in microseconds since the epoch, as RFC 3339 in UTC (seconds).
pub(crate) fn date_text(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .map(|date| date.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| micros.to_string())
}
