//! What a reader hands on for one input file ([`FilePart`]), and the two
//! ways a reader hands a file back instead: a fast reader (a file in
//! canonical form, read column by column) gives up on a file that is not
//! for it ([`FastRead::RuleByRule`]), and a reader keeping a window's calls
//! asks for the file again when a call it left out could have been replaced
//! ([`Windowed::IdsWentBack`]). Neither is an error: an error stops the load.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use polars::prelude::*;

use super::error::IngestError;
use super::facts::{ReadingFacts, SkippedRows};
use crate::duplicates::RepeatedIdHashes;
use crate::scratch::SpillFile;

/// A UTC range of dates: from inclusive, to exclusive.
pub(crate) type Window = (DateTime<Utc>, DateTime<Utc>);

/// The calls of one input file, and what reading it found.
pub(crate) struct FilePart {
    /// The calls, scanned lazily (with a window, those it keeps).
    pub frame: LazyFrame,
    /// Rows or records read, valid or skipped.
    pub rows_read: u64,
    /// Rows skipped, by reason (only with `skip_invalid`).
    pub skipped: BTreeMap<String, u64>,
    /// The first rows skipped for each reason.
    pub skipped_rows: SkippedRows,
    /// What reading the rows found in their values.
    pub facts: ReadingFacts,
    /// What is known of the calls' ids.
    pub ids: Ids,
    /// Temporary files `frame` reads: they must outlive it.
    pub spills: Vec<SpillFile>,
}

impl FilePart {
    /// A part whose `rows` rows are all calls in canonical form (none
    /// skipped, nothing found in their values).
    pub fn all_valid(frame: LazyFrame, rows: u64, ids: Ids, spills: Vec<SpillFile>) -> FilePart {
        FilePart {
            frame,
            rows_read: rows,
            skipped: BTreeMap::new(),
            skipped_rows: SkippedRows::default(),
            facts: ReadingFacts::default(),
            ids,
            spills,
        }
    }
}

/// What is known of the ids of a part: when they are known to be distinct,
/// no duplicate needs looking for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ids {
    /// Nothing: they may repeat.
    Unknown,
    /// Each is distinct within the part.
    Unique,
    /// Each is distinct within the folder store of this name, whose parts
    /// hold no id twice between them.
    UniqueInFolder(String),
}

impl Ids {
    /// [`Ids::Unique`] for ids seen to be distinct (they increase strictly,
    /// or none of their hashes repeats), else [`Ids::Unknown`].
    pub fn distinct(distinct: bool) -> Ids {
        if distinct {
            Ids::Unique
        } else {
            Ids::Unknown
        }
    }
}

/// What a fast reader gives for a file.
pub(crate) enum FastRead {
    /// The file's calls (boxed: the hand-back is one word).
    Calls(Box<FilePart>),
    /// The file is not for this reader (a value off canonical form, a shape
    /// or a value Polars does not read as the reader expects): the
    /// rule-by-rule reader reads it, which accepts every form SPEC §1 allows
    /// and locates a bad row.
    RuleByRule,
}

impl FastRead {
    /// The calls read, else those the rule-by-rule reader `read` gives.
    pub fn or_rule_by_rule(
        self,
        read: impl FnOnce() -> Result<FilePart, IngestError>,
    ) -> Result<FilePart, IngestError> {
        match self {
            FastRead::Calls(part) => Ok(*part),
            FastRead::RuleByRule => read(),
        }
    }
}

/// How a fast reader takes a Polars error: a failure to read or write
/// bytes stops the load (it is no reason to read the file otherwise);
/// any other means a value Polars does not read as the fast reader
/// expects, and `Ok` tells the reader to hand the file back.
pub(crate) fn stop_on_io(file: &str, error: PolarsError) -> Result<(), IngestError> {
    match error {
        PolarsError::IO { .. } => Err(IngestError::Polars {
            context: file.to_string(),
            source: error,
        }),
        _ => Ok(()),
    }
}

/// What a reader keeping the calls of a window gives.
pub(crate) enum Windowed<T> {
    /// What it read.
    Read(T),
    /// It left calls out of the window, then an id did not increase: a
    /// later row could replace a call left out, so the file must be read
    /// again keeping every call.
    IdsWentBack,
    /// It left calls out of the window, and ids repeat (these hashes): the
    /// file must be read again keeping, beside the window's calls, every
    /// call whose id may repeat.
    IdsRepeat(Arc<RepeatedIdHashes>),
}

/// What `read` gives keeping the calls of `window` (see
/// [`super::IngestOptions::keep_window`]), or, should an id go back, what it
/// gives reading the file again keeping every call (which it then gives,
/// leaving nothing out).
pub(crate) fn keeping_window<T>(
    window: Option<Window>,
    mut read: impl FnMut(Option<Window>) -> Result<Windowed<T>, IngestError>,
) -> Result<T, IngestError> {
    let mut window = window;
    loop {
        match read(window)? {
            Windowed::Read(value) => return Ok(value),
            Windowed::IdsWentBack | Windowed::IdsRepeat(_) => window = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_io_error_stops_a_fast_reader() {
        let io = PolarsError::from(std::io::Error::other("disk gone"));
        let stopped = stop_on_io("calls.csv", io).unwrap_err();
        assert!(stopped.to_string().starts_with("calls.csv: "), "{stopped}");
        let parse = PolarsError::ComputeError("not a number".into());
        assert!(stop_on_io("calls.csv", parse).is_ok());
    }
}
