//! Where the row readers (CSV read row by row, JSON) put the calls they
//! read: batch by batch into a [`CallBuffer`], so that memory does not grow
//! with the file, with what was skipped counted.

use std::collections::BTreeMap;
use std::sync::Arc;

use polars::prelude::*;

use super::call_buffer::{ids_increase, CallBuffer};
use super::error::{IngestError, Reason, RowError};
use super::facts::{Location, ReadingFacts, RowFacts, SkippedRow, SkippedRows};
use super::part::{FilePart, Ids, Window, Windowed};
use crate::duplicates::{id_hashes_of, EveryIdHash, RepeatedIdHashes};
use crate::model::{Call, CallColumns};

/// Calls gathered in columns before they go to the buffer as one batch.
const BATCH_ROWS: usize = 1 << 16;

/// Collects the calls of one input file, and what was skipped.
///
/// With a window, a batch keeps only the calls the window needs (see
/// [`CallBuffer`]). While the ids read increase strictly, no later row can
/// replace a call left out. Once they do not, every id is hashed: when the
/// batch where they stopped increasing already repeats an id, every call is
/// kept from then on (nothing was left out yet); otherwise the window is
/// kept, and [`Sink::finish`] looks for repeated ids among the hashes of
/// every id read: none, and the calls kept are the answer; some, after
/// calls were left out, and it asks for the file to be read again keeping
/// the calls whose id may repeat too (every call when there were too many
/// ids to hash).
pub(crate) struct Sink {
    /// The calls of the batch being gathered.
    columns: CallColumns,
    /// Batches checked but not yet in the buffer: small ones (a part of an
    /// NDJSON block keeps few calls) go to it together, as one.
    pending: Vec<DataFrame>,
    /// The calls of `pending`.
    pending_rows: usize,
    /// The batches gathered.
    buffer: CallBuffer,
    /// Rows read, valid or not.
    rows_read: u64,
    /// Rows skipped, by reason (only with `skip_invalid`).
    skipped: BTreeMap<String, u64>,
    /// The first rows skipped for each reason.
    skipped_rows: SkippedRows,
    /// What reading the rows found in their values.
    facts: ReadingFacts,
    /// Skip bad rows instead of failing.
    skip_invalid: bool,
    /// The last id of the batches gathered, while they increase.
    last_id: Option<String>,
    /// Whether every id read increased on the one before.
    ids_increasing: bool,
    /// Whether a batch left calls out.
    left_out: bool,
    /// The hash of every id read.
    id_hashes: EveryIdHash,
    /// The hashes of the repeated ids, when known from a first read.
    repeated: Option<Arc<RepeatedIdHashes>>,
    /// Calls per batch.
    batch_rows: usize,
}

/// Reads one file with a row reader: `read` puts its rows into a sink,
/// keeping the calls of `window` (see [`Sink`]); when the sink asks for it,
/// the file is read again, keeping every call.
pub(crate) fn read_rows(
    skip_invalid: bool,
    window: Option<Window>,
    mut read: impl FnMut(&mut Sink) -> Result<(), IngestError>,
) -> Result<FilePart, IngestError> {
    let mut repeated = None;
    let mut window = window;
    loop {
        let mut sink = Sink::new(skip_invalid, window);
        if let Some(repeated) = &repeated {
            sink = sink.keeping_ids(Arc::clone(repeated));
        }
        read(&mut sink)?;
        match sink.finish()? {
            Windowed::Read(part) => return Ok(part),
            Windowed::IdsWentBack => window = None,
            Windowed::IdsRepeat(hashes) => repeated = Some(hashes),
        }
    }
}

impl Sink {
    /// An empty sink; with a `window`, the calls it needs (see [`Sink`]).
    pub fn new(skip_invalid: bool, window: Option<Window>) -> Self {
        Sink {
            columns: CallColumns::default(),
            pending: Vec::new(),
            pending_rows: 0,
            buffer: CallBuffer::new(window),
            rows_read: 0,
            skipped: BTreeMap::new(),
            skipped_rows: SkippedRows::default(),
            facts: ReadingFacts::default(),
            skip_invalid,
            last_id: None,
            ids_increasing: true,
            left_out: false,
            id_hashes: EveryIdHash::default(),
            repeated: None,
            batch_rows: BATCH_ROWS,
        }
    }

    /// Takes one line of `file` that holds no readable record (a CSV record
    /// with the wrong number of fields, an NDJSON line that is not one JSON
    /// value): counts it as skipped under `reason`, or stops with a
    /// malformed-input error at that line.
    pub fn reject_line(
        &mut self,
        reason: Reason,
        file: &str,
        line: u64,
        message: String,
    ) -> Result<(), IngestError> {
        self.rows_read += 1;
        if !self.skip_invalid {
            return Err(IngestError::Malformed {
                file: file.to_string(),
                line,
                message,
            });
        }
        *self.skipped.entry(reason.as_str().to_string()).or_default() += 1;
        self.skipped_rows.add(reason, || SkippedRow {
            location: Location {
                file: file.to_string(),
                line,
            },
            reason,
            problem: message,
        });
        Ok(())
    }

    /// Takes one row read from `file` at `line` (`facts`: what reading its
    /// values found): keeps it, counts it as skipped, or stops with its
    /// error.
    pub fn accept(
        &mut self,
        file: &str,
        line: u64,
        row: Result<Call, RowError>,
        facts: RowFacts,
    ) -> Result<(), IngestError> {
        match self.count(file, line, row, facts)? {
            Some(call) => self.keep(call),
            None => Ok(()),
        }
    }

    /// Counts one row read from `file` at `line` (`facts`: what reading its
    /// values found): gives back what a valid row holds, counts a bad one
    /// as skipped, or stops with its error. A reader that gathers its calls
    /// itself gives them with [`Sink::keep_counted`].
    pub fn count<T>(
        &mut self,
        file: &str,
        line: u64,
        row: Result<T, RowError>,
        facts: RowFacts,
    ) -> Result<Option<T>, IngestError> {
        self.rows_read += 1;
        let location = || Location {
            file: file.to_string(),
            line,
        };
        self.facts.record(facts, row.is_ok(), location);
        match row {
            Ok(value) => Ok(Some(value)),
            Err(error) if self.skip_invalid => {
                let reason = error.reason;
                *self.skipped.entry(reason.as_str().to_string()).or_default() += 1;
                self.skipped_rows
                    .add(reason, || SkippedRow::of(&error.locate(file, line)));
                Ok(None)
            }
            Err(error) => Err(IngestError::InvalidRow(Box::new(error.locate(file, line)))),
        }
    }

    /// Takes a batch of calls (canonical frame) read from lines whose rows
    /// were counted with [`Sink::count`], after the calls taken before;
    /// `ids` are those of the lines' calls, the ones left out unparsed
    /// included.
    pub fn keep_counted(&mut self, calls: DataFrame, ids: LinesIds) -> Result<(), IngestError> {
        self.flush()?;
        if !ids.left_out_hashes.is_empty() {
            // Valid calls, with nothing to note of how they were written.
            self.rows_read += ids.left_out_hashes.len() as u64;
            self.left_out = true;
            self.id_hashes.add(&ids.left_out_hashes);
        }
        self.push_batch(calls, Some(ids.in_order))
    }

    /// What a reader may leave out unparsed: the calls outside the returned
    /// window, but those whose id's hash is in the returned set (known to
    /// repeat); `None` when every call is kept.
    pub fn window_to_pick(&self) -> Option<(Window, Arc<RepeatedIdHashes>)> {
        let window = self.buffer.window()?;
        Some((window, self.repeated.clone().unwrap_or_default()))
    }

    /// Adds a valid call to the batch, and the batch to the buffer when full.
    fn keep(&mut self, call: Call) -> Result<(), IngestError> {
        self.columns.push(call);
        if self.columns.len() >= self.batch_rows {
            self.flush()?;
        }
        Ok(())
    }

    /// Moves the batch gathered to the buffer.
    fn flush(&mut self) -> Result<(), IngestError> {
        if self.columns.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.columns)
            .into_frame()
            .map_err(frame_error)?;
        self.push_batch(batch, None)
    }

    /// Checks a batch of calls and adds it to those pending for the buffer
    /// (moved there once they are many enough); `in_order`: the ids of the
    /// lines it was read from, when the reader followed them (else the
    /// batch's own are).
    fn push_batch(
        &mut self,
        batch: DataFrame,
        in_order: Option<IdsInOrder>,
    ) -> Result<(), IngestError> {
        let hashes = self.hash_ids(&batch).map_err(frame_error)?;
        let increasing = |last_id: &mut Option<String>| match in_order {
            Some(ids) => Ok(ids.follow(last_id)),
            None => ids_increase(&batch, last_id).map_err(frame_error),
        };
        // Checked before the batch goes in: ids that stop increasing in a
        // batch that repeats one keep every call.
        if self.ids_increasing && !increasing(&mut self.last_id)? {
            self.ids_increasing = false;
            let repeats_now =
                hashes.map_or(true, |hashes| !RepeatedIdHashes::among(hashes).is_empty());
            if self.repeated.is_none() && !self.left_out && repeats_now {
                self.buffer.keep_every_call();
            }
        }
        if batch.height() == 0 {
            return Ok(());
        }
        self.pending_rows += batch.height();
        self.pending.push(batch);
        if self.pending_rows >= self.batch_rows {
            self.push_pending()?;
        }
        Ok(())
    }

    /// Moves the batches pending to the buffer, as one.
    fn push_pending(&mut self) -> Result<(), IngestError> {
        let mut batches = std::mem::take(&mut self.pending).into_iter();
        let Some(mut calls) = batches.next() else {
            return Ok(());
        };
        for batch in batches {
            calls.vstack_mut(&batch).map_err(frame_error)?;
        }
        let rows = std::mem::take(&mut self.pending_rows);
        let kept = self.buffer.push(calls.lazy()).map_err(frame_error)?;
        self.left_out |= kept < rows;
        Ok(())
    }

    /// Keeps, beside the window's calls, those whose id's hash is in
    /// `repeated` (the repeated ids of the file, found by a first read).
    pub fn keeping_ids(mut self, repeated: Arc<RepeatedIdHashes>) -> Self {
        self.buffer = self.buffer.keeping_ids(Arc::clone(&repeated));
        self.repeated = Some(repeated);
        self.id_hashes.give_up();
        self
    }

    /// Adds the hashes of the ids of `batch` to those of every id read,
    /// while they are hashed; the batch's hashes.
    fn hash_ids(&mut self, batch: &DataFrame) -> PolarsResult<Option<Vec<u64>>> {
        if !self.id_hashes.is_whole() {
            return Ok(None);
        }
        let ids = batch.column(crate::model::column::ID)?.str()?;
        let hashes: Vec<u64> = id_hashes_of(ids).collect();
        self.id_hashes.add(&hashes);
        Ok(Some(hashes))
    }

    /// The calls read, or a second read asked for (see [`Sink`]).
    pub fn finish(mut self) -> Result<Windowed<FilePart>, IngestError> {
        self.flush()?;
        self.push_pending()?;
        // Whether ids repeat (`None`: unknown, not every id was hashed).
        let repeats = if self.ids_increasing {
            Some(false)
        } else if let Some(known) = &self.repeated {
            Some(!known.is_empty())
        } else if let Some(repeated) = std::mem::take(&mut self.id_hashes).repeated() {
            if self.left_out && !repeated.is_empty() {
                return Ok(Windowed::IdsRepeat(Arc::new(repeated)));
            }
            Some(!repeated.is_empty())
        } else {
            None
        };
        if self.left_out && repeats.is_none() {
            return Ok(Windowed::IdsWentBack);
        }
        let (frame, spills) = self.buffer.finish().map_err(frame_error)?;
        Ok(Windowed::Read(FilePart {
            frame,
            rows_read: self.rows_read,
            skipped: self.skipped,
            skipped_rows: self.skipped_rows,
            facts: self.facts,
            ids: Ids::distinct(repeats == Some(false)),
            spills,
        }))
    }
}

/// The ids of the calls of a run of lines, in line order, for
/// [`Sink::keep_counted`]: those of the calls left out unparsed count too.
#[derive(Debug, Default)]
pub(crate) struct LinesIds {
    /// Whether they increase, and their ends.
    pub in_order: IdsInOrder,
    /// The hashes ([`crate::duplicates::id_hash`]) of the ids of the calls
    /// left out.
    pub left_out_hashes: Vec<u64>,
}

/// Whether a run of ids increases strictly, with its first and last id.
#[derive(Debug)]
pub(crate) struct IdsInOrder {
    increasing: bool,
    first: Option<Vec<u8>>,
    last: Vec<u8>,
}

impl Default for IdsInOrder {
    fn default() -> Self {
        IdsInOrder {
            increasing: true,
            first: None,
            last: Vec::new(),
        }
    }
}

impl IdsInOrder {
    /// Takes the next id of the run.
    pub fn push(&mut self, id: &[u8]) {
        if !self.increasing {
            return;
        }
        if self.first.is_none() {
            self.first = Some(id.to_vec());
        } else if id <= self.last.as_slice() {
            self.increasing = false;
            return;
        }
        self.last.clear();
        self.last.extend_from_slice(id);
    }

    /// Whether the run increases strictly from `last_id` (the last id of
    /// the runs before) on, as [`ids_increase`] tells of a batch; `last_id`
    /// becomes the run's last when it does.
    pub(super) fn follow(self, last_id: &mut Option<String>) -> bool {
        let Some(first) = self.first else {
            return true;
        };
        let follows = last_id
            .as_ref()
            .map_or(true, |previous| first.as_slice() > previous.as_bytes());
        if !(self.increasing && follows) {
            return false;
        }
        match String::from_utf8(self.last) {
            Ok(last) => {
                *last_id = Some(last);
                true
            }
            Err(_) => false,
        }
    }
}

/// A Polars error building the frame of the calls read.
pub(crate) fn frame_error(source: PolarsError) -> IngestError {
    IngestError::Polars {
        context: "building the call frame".into(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::engine::{compute, window};
    use crate::ingest::fields::{ColumnNames, ValueReading};
    use crate::ingest::json::JsonContext;
    use crate::ingest::ndjson::read_ndjson;
    use crate::request::Request;

    /// How the records of a test's NDJSON are written.
    #[derive(Debug, Clone, Copy)]
    enum Form {
        /// A nested `user`, tags as an array: every line is parsed.
        Nested,
        /// Flat, as DuckDB writes them: lines outside the window are left
        /// out unparsed.
        Flat,
    }

    const FORMS: [Form; 2] = [Form::Nested, Form::Flat];

    /// NDJSON with a call of each id, one every 1,000 minutes from 2024-01-01.
    fn ndjson(ids: impl IntoIterator<Item = usize>) -> String {
        written(Form::Nested, ids)
    }

    /// NDJSON in `form` with a call of each id, one every 1,000 minutes
    /// from 2024-01-01.
    fn written(form: Form, ids: impl IntoIterator<Item = usize>) -> String {
        let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let mut text = String::new();
        for id in ids {
            let date = (start + chrono::Duration::minutes(1_000 * id as i64)).to_rfc3339();
            let (result, tags, flat_tags) = match id % 5 {
                0 => ("ANSWERED", r#"["demo_booked"]"#, r#""demo_booked""#),
                1 | 2 => ("ANSWERED", "[]", "null"),
                _ => ("NO_ANSWER", "[]", "\"\""),
            };
            let (duration, user) = (id % 300, id % 4);
            text.push_str(&match form {
                Form::Nested => format!(
                    r#"{{"id":"cll-{id:05}","date":"{date}","result":"{result}","duration":{duration},"tags":{tags},"user":{{"id":"usr-{user}"}}}}"#
                ),
                Form::Flat => format!(
                    r#"{{"id":"cll-{id:05}","date":"{date}","result":"{result}","duration":{duration},"tags":{flat_tags},"user_id":"usr-{user}"}}"#
                ),
            });
            text.push('\n');
        }
        text
    }

    fn request() -> Request {
        Request::from_json_str(
            r#"{"date":{"from":"2024-03-04","to":"2024-03-17"},"tags":["demo_booked"],
                "granularity":"DAY","timezone":"America/New_York",
                "extend":"items","stage":"CONNECTED","page":2,"size":5}"#,
        )
        .unwrap()
    }

    /// Reads the NDJSON `text` (file `calls.ndjson`, no `--map`) into `sink`.
    fn read_into(text: &str, sink: &mut Sink) -> Result<(), IngestError> {
        let names = ColumnNames::new(&[]).unwrap();
        let context = JsonContext {
            file: "calls.ndjson",
            names: &names,
            reading: &ValueReading::in_zone(chrono_tz::UTC),
            conversion_tags: &[],
        };
        read_ndjson(text.as_bytes(), &context, sink)
    }

    /// Reads `text` through a sink with batches of 50 calls and at most
    /// `rows_in_memory` calls in memory.
    fn read(text: &str, keep_window: bool, rows_in_memory: usize) -> Option<FilePart> {
        let window = keep_window.then(|| window(&request()));
        let mut sink = Sink::new(false, window);
        sink.batch_rows = 50;
        sink.buffer = CallBuffer::new(window).with_rows_in_memory(rows_in_memory);
        read_into(text, &mut sink).unwrap();
        match sink.finish().unwrap() {
            Windowed::Read(part) => Some(part),
            Windowed::IdsWentBack | Windowed::IdsRepeat(_) => None,
        }
    }

    fn rows(part: &FilePart) -> usize {
        part.frame.clone().collect().unwrap().height()
    }

    #[test]
    fn a_window_keeps_few_calls_and_gives_the_same_response() {
        for form in FORMS {
            a_window_keeps_few_calls_of(&written(form, 0..600));
        }
    }

    fn a_window_keeps_few_calls_of(text: &str) {
        let every = read(text, false, usize::MAX).unwrap();
        let expected = compute(every.frame.clone(), &request()).unwrap();
        assert_eq!((every.rows_read, rows(&every)), (600, 600));
        assert!(every.ids == Ids::Unique && every.spills.is_empty());

        let windowed = read(text, true, usize::MAX).unwrap();
        assert_eq!(windowed.rows_read, 600);
        assert!(windowed.ids == Ids::Unique);
        let kept = rows(&windowed);
        assert!(kept < 100, "{kept} of 600 calls kept");
        assert_eq!(compute(windowed.frame, &request()).unwrap(), expected);

        // Beyond 20 calls in memory, they go to temporary files.
        let spilled = read(text, true, 20).unwrap();
        assert!(!spilled.spills.is_empty());
        assert_eq!(rows(&spilled), kept);
        assert_eq!(compute(spilled.frame, &request()).unwrap(), expected);
        let spilled_every = read(text, false, 20).unwrap();
        assert_eq!(rows(&spilled_every), 600);
    }

    #[test]
    fn an_id_going_back_after_calls_were_left_out_asks_for_a_second_read() {
        for form in FORMS {
            // `cll-00003` (January, left out) comes again last, dated in March.
            let mut text = written(form, 0..600);
            text.push_str(&written(form, [3]).replace("2024-01-03", "2024-03-05"));
            assert!(read(&text, true, usize::MAX).is_none(), "{form:?}");
            let every = read(&text, false, usize::MAX).unwrap();
            assert_eq!((every.rows_read, rows(&every)), (601, 601));
            assert!(every.ids != Ids::Unique);
            let expected = compute(every.frame.clone(), &request()).unwrap();
            let part = read_twice_if_asked(&text);
            assert_eq!(part.rows_read, 601);
            assert_eq!(compute(part.frame, &request()).unwrap(), expected);
        }
    }

    /// The error of reading `text` through a sink that keeps every call.
    fn read_error(text: &str) -> String {
        let mut sink = Sink::new(false, None);
        read_into(text, &mut sink).err().unwrap().to_string()
    }

    #[test]
    fn ndjson_lines_are_numbered_and_the_first_bad_one_named_across_blocks() {
        // Over 4 MiB: several blocks, each read on both cores.
        let mut lines: Vec<String> = ndjson(0..60_000).lines().map(String::from).collect();
        assert!(lines.iter().map(String::len).sum::<usize>() > 5 << 20);
        lines[38_999] = "{not json".into();
        let text = |lines: &[String]| lines.join("\n") + "\n";
        let message = read_error(&text(&lines));
        assert!(
            message.starts_with("calls.ndjson:39000: invalid JSON"),
            "{message}"
        );
        lines[29_999] = lines[29_999].replace(r#""date":""#, r#""date":"x"#);
        let message = read_error(&text(&lines));
        assert!(
            message.starts_with("calls.ndjson:30000: column `date`"),
            "{message}"
        );
        // Blank lines count, as lines of the file.
        lines.insert(0, String::new());
        let message = read_error(&text(&lines));
        assert!(message.starts_with("calls.ndjson:30001:"), "{message}");
    }

    #[test]
    fn a_byte_order_mark_before_the_first_line_is_skipped() {
        let part = read(&format!("\u{feff}{}", ndjson(0..3)), false, usize::MAX).unwrap();
        assert_eq!((part.rows_read, rows(&part)), (3, 3));
    }

    #[test]
    fn ids_out_of_order_that_never_repeat_keep_the_window_in_one_read() {
        for form in FORMS {
            ids_out_of_order_keep_the_window_of(&written(form, [1, 0].into_iter().chain(2..600)));
        }
    }

    fn ids_out_of_order_keep_the_window_of(text: &str) {
        let every = read(text, false, usize::MAX).unwrap();
        let expected = compute(every.frame.clone(), &request()).unwrap();
        let part = read(text, true, usize::MAX).unwrap();
        // No id repeats (every id hashed): distinct, no duplicate pass.
        assert!(part.ids == Ids::Unique && every.ids == Ids::Unique);
        let kept = rows(&part);
        assert!(kept < 100, "{kept} of 600 calls kept");
        assert_eq!(compute(part.frame, &request()).unwrap(), expected);
    }

    #[test]
    fn ids_repeated_where_they_stop_increasing_keep_every_call_in_one_read() {
        // The first batch (50 calls) goes back and repeats `cll-00001`.
        let text = ndjson([1, 0, 1].into_iter().chain(2..600));
        let part = read(&text, true, usize::MAX).unwrap();
        assert!(part.ids != Ids::Unique);
        assert_eq!(rows(&part), 601);
        // Flat lines of January were left out unparsed before the batch
        // that repeats: read again, keeping the copies.
        let text = written(Form::Flat, [1, 0, 1].into_iter().chain(2..600));
        assert!(read(&text, true, usize::MAX).is_none());
        let every = read(&text, false, usize::MAX).unwrap();
        let expected = compute(every.frame.clone(), &request()).unwrap();
        let part = read_twice_if_asked(&text);
        assert_eq!(part.rows_read, 601);
        assert!(rows(&part) < 110, "{} of 601 calls kept", rows(&part));
        assert_eq!(compute(part.frame, &request()).unwrap(), expected);
    }

    /// Reads `text` as `read_rows` does for a window: a second read when asked.
    fn read_twice_if_asked(text: &str) -> FilePart {
        read_rows(false, Some(window(&request())), |sink| {
            sink.batch_rows = 50;
            read_into(text, sink)
        })
        .unwrap()
    }

    #[test]
    fn ids_repeated_after_calls_were_left_out_are_read_again_with_their_copies() {
        for form in FORMS {
            ids_repeated_after_calls_were_left_out_in(form);
        }
    }

    fn ids_repeated_after_calls_were_left_out_in(form: Form) {
        // Out of order from the first batch, no repeat there; `cll-00003`
        // (January, left out) and `cll-00450` (June, left out) come again
        // last, the first dated in the window, the second not.
        let mut text = written(form, [1, 0].into_iter().chain(2..600));
        text.push_str(&written(form, [3]).replace("2024-01-03", "2024-03-05"));
        text.push_str(&written(form, [450]));
        assert!(read(&text, true, usize::MAX).is_none(), "a second read");
        let every = read(&text, false, usize::MAX).unwrap();
        let expected = compute(every.frame.clone(), &request()).unwrap();
        let part = read_twice_if_asked(&text);
        assert_eq!(part.rows_read, 602);
        assert!(part.ids != Ids::Unique);
        // The window's calls, each chunk's latest and the four copies.
        let kept = rows(&part);
        assert!(kept < 110, "{kept} of 602 calls kept");
        assert_eq!(compute(part.frame, &request()).unwrap(), expected);
    }
}
