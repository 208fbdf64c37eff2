//! What reading found in the values besides the calls (SPEC §1.2): dates
//! read without an offset, tags cells in another list form. None of it
//! stops a load; standard error tells it when it may change a figure, and
//! `check` lists it, each with its count and where the first rows are.

use std::fmt;

use crate::model::rules::TagsForm;
use crate::reason::{InvalidRow, Reason};

/// Rows named as examples of one fact, at most.
pub const EXAMPLES: usize = 5;

/// Rows skipped for one reason that are kept to be listed, at most: the
/// first ten rows skipped are among them (SPEC §1.2).
pub const SKIPPED_LISTED: usize = 10;

/// Where a row is: its file and 1-based line (for Parquet, its 1-based row
/// number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file (or the name given to [`super::load_str`]).
    pub file: String,
    /// The line where the row starts, or the row's number.
    pub line: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// How many rows showed one fact, and where the first [`EXAMPLES`] are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// The rows.
    pub count: u64,
    /// The first of them, in reading order.
    pub first: Vec<Location>,
}

impl Tally {
    /// Counts one more row, at `location` (made only when kept as an example).
    pub(crate) fn add(&mut self, location: impl FnOnce() -> Location) {
        self.add_many(1, location);
    }

    /// Counts `rows` more rows, the first of them at `location`.
    pub(crate) fn add_many(&mut self, rows: u64, location: impl FnOnce() -> Location) {
        self.count += rows;
        if rows > 0 && self.first.len() < EXAMPLES {
            self.first.push(location());
        }
    }

    /// Where its first rows are, as `file:line, …` for a message.
    pub fn first_locations(&self) -> String {
        let locations: Vec<String> = self.first.iter().map(ToString::to_string).collect();
        locations.join(", ")
    }

    /// Adds the rows of `later`, read after these.
    fn merge(&mut self, later: Tally) {
        self.count += later.count;
        let room = EXAMPLES.saturating_sub(self.first.len());
        self.first.extend(later.first.into_iter().take(room));
    }
}

/// The most rows `--skip-invalid` may skip (`--max-invalid`, SPEC §1.2):
/// past it the load stops ([`super::IngestError::TooManyInvalid`]).
///
/// ```
/// use callfunnel::ingest::SkipCeiling;
///
/// let share: SkipCeiling = "2.5%".parse().unwrap();
/// assert!(share.allows(25, 1000) && !share.allows(26, 1000));
/// let count: SkipCeiling = "3".parse().unwrap();
/// assert!(count.allows(3, 10) && !count.allows(4, 1_000_000));
/// assert_eq!(SkipCeiling::default().to_string(), "1%");
/// assert!("-1".parse::<SkipCeiling>().is_err() && "101%".parse::<SkipCeiling>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SkipCeiling {
    /// At most this many rows.
    Rows(u64),
    /// At most this percentage of the rows read (0 to 100).
    Percent(f64),
}

impl Default for SkipCeiling {
    fn default() -> Self {
        SkipCeiling::Percent(1.0)
    }
}

impl SkipCeiling {
    /// Whether skipping `skipped` of `rows_read` rows stays within it.
    pub fn allows(self, skipped: u64, rows_read: u64) -> bool {
        match self {
            SkipCeiling::Rows(most) => skipped <= most,
            // Exact for any count a file can hold (below 2^53 rows).
            SkipCeiling::Percent(percent) => skipped as f64 * 100.0 <= percent * rows_read as f64,
        }
    }
}

impl std::str::FromStr for SkipCeiling {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let refused = || {
            format!("`{text}` is not a count of rows (`50`) or a share of them (`1%`, 0 to 100 %)")
        };
        match text.strip_suffix('%') {
            Some(percent) => match percent.trim().parse::<f64>() {
                Ok(percent) if (0.0..=100.0).contains(&percent) => {
                    Ok(SkipCeiling::Percent(percent))
                }
                _ => Err(refused()),
            },
            None => text.parse().map(SkipCeiling::Rows).map_err(|_| refused()),
        }
    }
}

impl fmt::Display for SkipCeiling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipCeiling::Rows(rows) => write!(f, "{rows}"),
            SkipCeiling::Percent(percent) => write!(f, "{percent}%"),
        }
    }
}

/// A row skipped with `--skip-invalid`: where it is, why, and what is
/// wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRow {
    /// Where it is.
    pub location: Location,
    /// Why it was skipped.
    pub reason: Reason,
    /// What is wrong with it, as the error that would have stopped the run
    /// says after the position (column, value, reason).
    pub problem: String,
}

impl SkippedRow {
    /// The skipped row `row` refers to.
    pub(crate) fn of(row: &InvalidRow) -> SkippedRow {
        SkippedRow {
            location: Location {
                file: row.file.clone(),
                line: row.line,
            },
            reason: row.reason,
            problem: row.problem(),
        }
    }
}

impl fmt::Display for SkippedRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.problem)
    }
}

/// The first [`SKIPPED_LISTED`] rows skipped for each reason, in reading
/// order: its first ten rows are the first ten skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SkippedRows {
    rows: Vec<SkippedRow>,
    /// Rows kept for each reason, by [`Reason::code`].
    listed: [u8; Reason::ALL.len()],
}

impl SkippedRows {
    /// Notes one more row skipped (made only when kept).
    pub fn add(&mut self, reason: Reason, row: impl FnOnce() -> SkippedRow) {
        let listed = &mut self.listed[usize::from(reason.code())];
        if usize::from(*listed) < SKIPPED_LISTED {
            *listed += 1;
            self.rows.push(row());
        }
    }

    /// Adds the rows of `later`, skipped after these.
    pub fn merge(&mut self, later: SkippedRows) {
        for row in later.rows {
            let reason = row.reason;
            self.add(reason, || row);
        }
    }

    /// The rows kept, in reading order.
    pub fn into_rows(self) -> Vec<SkippedRow> {
        self.rows
    }
}

/// How a row's `date` was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum DateForm {
    /// With an offset (or none was read): an instant.
    #[default]
    WithOffset,
    /// Without an offset: a wall-clock time read in the input time zone.
    WithoutOffset,
    /// Without an offset, a wall-clock time that the zone's clocks go
    /// through twice (a daylight-saving fold): read as the earlier instant.
    InFold,
    /// Without an offset, a wall-clock time that the zone's clocks skip (a
    /// daylight-saving gap): the row cannot be read.
    InGap,
}

impl DateForm {
    /// Every form, in declaration order (`ALL[form as usize]` is `form`).
    pub const ALL: [DateForm; 4] = [
        DateForm::WithOffset,
        DateForm::WithoutOffset,
        DateForm::InFold,
        DateForm::InGap,
    ];
}

/// What reading one row's values found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RowFacts {
    /// How its `date` was written.
    pub date: DateForm,
    /// How its tags cell was written.
    pub tags: TagsForm,
}

/// What reading the rows found in their values (SPEC §1.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadingFacts {
    /// Calls whose `date` had no offset, read in the input time zone.
    pub dates_without_offset: Tally,
    /// Of those, the wall-clock times the zone's clocks go through twice
    /// (a daylight-saving fold), read as the earlier instant.
    pub dates_in_fold: Tally,
    /// Rows whose `date`, without an offset, is a wall-clock time the zone's
    /// clocks skip (a daylight-saving gap): they cannot be read (bad
    /// timestamp).
    pub dates_in_gap: Tally,
    /// Calls whose tags cell separated its keys by `|` or `,`.
    pub tags_other_separators: Tally,
    /// Calls whose tags cell was a JSON array of strings.
    pub tags_json_lists: Tally,
    /// Calls whose tags cell looked like a JSON array but was not one: read
    /// as separated keys (SPEC §1.2 warns of them).
    pub tags_malformed_lists: Tally,
}

impl ReadingFacts {
    /// Notes what reading the row at `location` found: `kept` when it gave a
    /// call (the facts of a row that did not are its date in a gap only).
    pub(crate) fn record(&mut self, facts: RowFacts, kept: bool, location: impl Fn() -> Location) {
        for tally in self.tallies(facts, kept).into_iter().flatten() {
            tally.add(&location);
        }
    }

    /// Notes `rows` rows whose reading found `facts` (see
    /// [`ReadingFacts::record`]), the first of them at `first`.
    pub(crate) fn record_rows(
        &mut self,
        facts: RowFacts,
        kept: bool,
        rows: u64,
        first: &[Location],
    ) {
        for tally in self.tallies(facts, kept).into_iter().flatten() {
            tally.merge(Tally {
                count: rows,
                first: first.to_vec(),
            });
        }
    }

    /// The tallies a row with `facts` counts in.
    fn tallies(&mut self, facts: RowFacts, kept: bool) -> [Option<&mut Tally>; 3] {
        let ReadingFacts {
            dates_without_offset,
            dates_in_fold,
            dates_in_gap,
            tags_other_separators,
            tags_json_lists,
            tags_malformed_lists,
        } = self;
        if !kept {
            return [
                (facts.date == DateForm::InGap).then_some(dates_in_gap),
                None,
                None,
            ];
        }
        let without_offset = matches!(facts.date, DateForm::WithoutOffset | DateForm::InFold);
        let tags = match facts.tags {
            TagsForm::Semicolons => None,
            TagsForm::OtherSeparators => Some(tags_other_separators),
            TagsForm::JsonList => Some(tags_json_lists),
            TagsForm::MalformedList => Some(tags_malformed_lists),
        };
        [
            without_offset.then_some(dates_without_offset),
            (facts.date == DateForm::InFold).then_some(dates_in_fold),
            tags,
        ]
    }

    /// Adds the facts of `later`, read after these.
    pub(crate) fn merge(&mut self, later: ReadingFacts) {
        self.dates_without_offset.merge(later.dates_without_offset);
        self.dates_in_fold.merge(later.dates_in_fold);
        self.dates_in_gap.merge(later.dates_in_gap);
        self.tags_other_separators
            .merge(later.tags_other_separators);
        self.tags_json_lists.merge(later.tags_json_lists);
        self.tags_malformed_lists.merge(later.tags_malformed_lists);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: u64) -> Location {
        Location {
            file: "calls.csv".into(),
            line,
        }
    }

    #[test]
    fn a_tally_keeps_the_first_examples_across_parts() {
        let mut first = Tally::default();
        for line in 2..6 {
            first.add(|| at(line));
        }
        let mut later = Tally::default();
        later.add_many(3, || at(40));
        later.add(|| at(41));
        first.merge(later);
        assert_eq!(first.count, 8);
        assert_eq!(first.first, [at(2), at(3), at(4), at(5), at(40)]);
        assert_eq!(at(7).to_string(), "calls.csv:7");
    }

    #[test]
    fn a_row_not_read_counts_only_its_date_in_a_gap() {
        let mut facts = ReadingFacts::default();
        let fold = RowFacts {
            date: DateForm::InFold,
            tags: TagsForm::JsonList,
        };
        facts.record(fold, true, || at(2));
        facts.record(fold, false, || at(3));
        let gap = RowFacts {
            date: DateForm::InGap,
            tags: TagsForm::MalformedList,
        };
        facts.record(gap, false, || at(4));
        assert_eq!(facts.dates_without_offset.count, 1);
        assert_eq!(facts.dates_in_fold.first, [at(2)]);
        assert_eq!(facts.dates_in_gap.first, [at(4)]);
        assert_eq!(facts.tags_json_lists.count, 1);
        assert_eq!(facts.tags_malformed_lists.count, 0);
    }
}
