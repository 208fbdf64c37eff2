//! Reading call logs into the canonical call frame (SPEC §1).
//!
//! Inputs are CSV, JSON (an array, NDJSON, or a saved API page, told apart
//! by shape) and Parquet (a store, typed or text columns), chosen by
//! extension. Several inputs are read in order and concatenated; calls
//! sharing an `id` collapse to the occurrence read last (SPEC §1.2). Bad
//! rows stop the load with an error naming file, line, column and value, or
//! are skipped and counted with [`IngestOptions::skip_invalid`].
//!
//! Each format has its reader (`csv`, `json`, `parquet`), each value is read
//! by SPEC §1's rules ([`crate::model::rules`]; `fields` for a cell or JSON
//! value), and a file in canonical form is read column-wise by the step the
//! CSV and Parquet readers share (`canonical_text`). Every reader hands on
//! the same thing for a file: its calls as a lazy frame, the rows read and
//! skipped (the first of them located), what reading found in the values
//! (`facts`: dates without offset, tags cells in other list forms), and what
//! is known of its ids. Other exports' values and units (`--map-value`,
//! `--duration-unit`) are read by every reader from the same rules; the
//! column-wise readers take values read as written only. A load stops when
//! more rows were skipped than [`IngestOptions::max_invalid`] allows.
//!
//! ```
//! use callfunnel::ingest::{load_str, Format, IngestOptions};
//!
//! let csv = "id,date,result,duration\ncll-1,2024-03-04T09:30:00Z,answered,95\n";
//! let ingested = load_str(csv, Format::Csv, "calls.csv", &IngestOptions::default()).unwrap();
//! assert_eq!(ingested.report.calls, 1);
//! ```

mod call_buffer;
mod canonical_text;
mod csv;
mod error;
#[cfg(test)]
mod export_tests;
mod facts;
mod fields;
mod flat_json;
mod json;
mod line_pieces;
mod ndjson;
mod parquet;
mod part;
mod paths;
mod picking;
mod sink;
mod stream;
#[cfg(test)]
mod tests;
mod unmatched;
mod window_records;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use polars::prelude::*;

use crate::duplicates::{keep_last_occurrences, repeated_ids};
pub use crate::duplicates::{DuplicateId, DuplicateIds, DUPLICATE_EXAMPLES};
use crate::request::Request;
use crate::scratch::SpillFile;
use crate::store::Snapshot;
pub use error::{IngestError, InvalidRow, Reason};
pub use facts::{Location, ReadingFacts, SkipCeiling, SkippedRow, Tally, EXAMPLES, SKIPPED_LISTED};
pub use paths::{expand_inputs, MAX_WALK_ENTRIES};
pub use stream::STDIN;
pub use unmatched::{unmatched_filters, Unmatched};

use crate::model::rules::{DurationUnit, ValueMapping};
use facts::SkippedRows;
use fields::{ColumnNames, ValueReading};
use json::JsonContext;
use part::{FilePart, Ids};
use sink::read_rows;

/// How inputs are read.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestOptions {
    /// Zone of timestamps written without offset (`--input-tz`).
    pub input_tz: chrono_tz::Tz,
    /// `--map FIELD=COLUMN` pairs: read the SPEC §1 field `FIELD` from the
    /// CSV column (or flat JSON key, or Parquet column) `COLUMN`.
    pub column_map: Vec<(String, String)>,
    /// Skip and count bad rows instead of failing (`--skip-invalid`).
    pub skip_invalid: bool,
    /// The request's tags, given to `CONVERSION` items of saved drilldown
    /// pages (SPEC §1.1; with none, such an item gets the tag `converted`).
    pub request_tags: Vec<String>,
    /// The calls the caller will use: those dated in this UTC range (from
    /// inclusive, to exclusive), e.g. [`crate::engine::window`] of its one
    /// request (see [`IngestOptions::for_request`]). A reader may then leave
    /// out the other calls (keeping the latest call of all, so
    /// `last_updated` is unchanged) when no later row can replace a kept one
    /// (one input file, its ids increasing, or every id hashed and every
    /// copy of a repeated id kept): a large CSV or NDJSON file then keeps
    /// the window's calls only. `None` keeps every call. Either way a
    /// file is read in batches, in memory that does not grow with its size.
    pub keep_window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// `--map-value FIELD:FROM=TO` mappings: an export's own values read as
    /// SPEC §1's (a later mapping of the same value wins).
    pub value_map: Vec<ValueMapping>,
    /// The unit talk time is written in (`--duration-unit`); `ringing_seconds`
    /// keeps seconds.
    pub duration_unit: DurationUnit,
    /// The most rows `skip_invalid` may skip (`--max-invalid`): past it the
    /// load stops with [`IngestError::TooManyInvalid`].
    pub max_invalid: SkipCeiling,
    /// The format of standard input (the input [`STDIN`], which needs it)
    /// and of a pipe (a FIFO, a process substitution), whose name may not
    /// tell it: a pipe without it is read by its extension, else by its
    /// first bytes. Either is copied once into a temporary file, then read
    /// as a file.
    pub input_format: Option<Format>,
}

impl IngestOptions {
    /// The options for loading the calls of one request: its tags (given to
    /// saved drilldown `CONVERSION` items) and its window (the calls it can
    /// count, [`crate::engine::window`]: the others may be left out); the
    /// other options are the defaults.
    ///
    /// ```
    /// use callfunnel::ingest::IngestOptions;
    /// use callfunnel::Request;
    ///
    /// let request = Request::from_json_str(
    ///     r#"{"date": {"from": "2024-03-04", "to": "2024-03-10"}, "tags": ["Won"]}"#,
    /// )
    /// .unwrap();
    /// let options = IngestOptions::for_request(&request);
    /// assert_eq!(options.request_tags, ["won"]);
    /// assert_eq!(options.keep_window, Some(callfunnel::engine::window(&request)));
    /// ```
    pub fn for_request(request: &Request) -> Self {
        IngestOptions {
            request_tags: request.tags.clone(),
            keep_window: Some(crate::engine::window(request)),
            ..IngestOptions::default()
        }
    }
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            input_tz: chrono_tz::Tz::UTC,
            column_map: Vec::new(),
            skip_invalid: false,
            request_tags: Vec::new(),
            keep_window: None,
            value_map: Vec::new(),
            duration_unit: DurationUnit::Seconds,
            max_invalid: SkipCeiling::default(),
            input_format: None,
        }
    }
}

/// What was read, for the lines printed to standard error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// The files read, in order.
    pub files: Vec<PathBuf>,
    /// Data rows or records read, valid or skipped, before de-duplication.
    pub rows_read: u64,
    /// Rows skipped, by reason (only with `skip_invalid`).
    pub skipped: BTreeMap<String, u64>,
    /// Rows dropped because a later row had the same `id`.
    pub duplicates: u64,
    /// The ids those rows repeat, and whether their copies differ.
    pub duplicate_ids: DuplicateIds,
    /// Calls kept after de-duplication.
    pub calls: u64,
    /// The first rows skipped for each reason, in reading order (only with
    /// `skip_invalid`): the first [`SKIPPED_LISTED`] rows skipped are the
    /// first of them.
    pub skipped_rows: Vec<SkippedRow>,
    /// What reading the rows found in their values besides the calls
    /// (dates without offset, tags cells in other list forms).
    pub facts: ReadingFacts,
    /// What else the summary says: a folder store opened again because an
    /// append switched months in meanwhile, or read without a snapshot.
    pub notes: Vec<String>,
}

impl IngestReport {
    /// Human-readable lines for standard error: what was read, then what was
    /// skipped and collapsed (those only when something was).
    pub fn summary_lines(&self) -> Vec<String> {
        let plural = |count: u64, one: &str, many: &str| {
            format!("{count} {}", if count == 1 { one } else { many })
        };
        let mut lines = vec![format!(
            "read {} from {}",
            plural(self.rows_read, "row", "rows"),
            plural(self.files.len() as u64, "file", "files")
        )];
        let skipped: u64 = self.skipped.values().sum();
        if skipped > 0 {
            lines.push(format!(
                "skipped {} ({})",
                plural(skipped, "invalid row", "invalid rows"),
                error::reason_counts(&self.skipped)
            ));
            lines.push(format!(
                "first skipped: {}",
                error::first_lines(&self.skipped_rows)
            ));
        }
        if self.duplicates > 0 {
            lines.push(format!(
                "collapsed {} (last occurrence kept)",
                plural(self.duplicates, "duplicate id", "duplicate ids")
            ));
        }
        lines.extend(self.notes.iter().cloned());
        lines
    }
}

/// Loaded calls: the canonical frame (see [`crate::model::canonical_schema`])
/// and what loading them found.
pub struct Ingested {
    /// One row per call, de-duplicated by `id`.
    pub frame: LazyFrame,
    /// Counts for the standard-error summary.
    pub report: IngestReport,
    /// Temporary files `frame` reads (a large input's calls): keep them
    /// as long as the frame is used; they are removed when dropped.
    pub spills: Vec<SpillFile>,
    /// The links to a folder store's month files `frame` reads (see
    /// [`crate::store::view`]), removed when dropped: a query reads the
    /// store as it was when loaded, whatever an append switches in since.
    _snapshots: Vec<Snapshot>,
}

/// An input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// CSV with a header row (`.csv`).
    Csv,
    /// A JSON array, NDJSON or a saved API page (`.json`, `.ndjson`, `.jsonl`).
    Json,
    /// Parquet with the canonical columns (`.parquet`).
    Parquet,
}

impl Format {
    /// The format of a file with this extension (case-insensitive), if supported.
    pub fn from_extension(extension: &str) -> Option<Format> {
        match extension.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "json" | "ndjson" | "jsonl" => Some(Format::Json),
            "parquet" => Some(Format::Parquet),
            _ => None,
        }
    }

    /// The format of `path`, chosen by its extension.
    pub fn from_path(path: &Path) -> Result<Format, IngestError> {
        path.extension()
            .and_then(|extension| extension.to_str())
            .and_then(Format::from_extension)
            .ok_or_else(|| IngestError::UnknownFormat {
                file: path.display().to_string(),
            })
    }
}

/// Reads `inputs` (see [`expand_inputs`]) in order into one canonical frame,
/// de-duplicated by `id` (the occurrence read last wins, at its position).
///
/// Without [`IngestOptions::skip_invalid`], the first bad row stops the load
/// with [`IngestError::InvalidRow`].
pub fn load(inputs: &[PathBuf], options: &IngestOptions) -> Result<Ingested, IngestError> {
    let names = ColumnNames::new(&options.column_map)?;
    let reading = ValueReading::new(options)?;
    let to_read = paths::inputs_to_read(inputs)?;
    let (files, read_at): (Vec<PathBuf>, Vec<PathBuf>) = to_read.files.into_iter().unzip();
    if files.is_empty() {
        return Err(IngestError::NoInput);
    }
    // Every format first, so a bad extension fails before anything is read
    // (a stream's is known once it is buffered).
    let formats = files
        .iter()
        .map(|file| match stream::is_stream(file) {
            true => Ok(None),
            false => Format::from_path(file).map(Some),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let conversion_tags = item_conversion_tags(options);
    // A call left out of one file could be the last occurrence of an id
    // that another file holds inside the window: calls are left out only
    // when a single file is read.
    let keep_window = options.keep_window.filter(|_| files.len() == 1);

    let mut loader = Loader {
        snapshots: to_read.snapshots,
        ..Loader::default()
    };
    loader.report.notes = to_read.notes;
    for ((given, read_at), format) in files.iter().zip(&read_at).zip(formats) {
        let file = match given.as_os_str() == STDIN {
            true => stream::STDIN_NAME.to_string(),
            false => given.display().to_string(),
        };
        let (path, format) = match format {
            Some(format) => (read_at.as_path(), format),
            None => {
                let (spill, format) = stream::buffer(given, &file, options.input_format)?;
                loader.spills.push(spill);
                let path = loader.spills.last().map(SpillFile::path).unwrap_or(given);
                (path, format)
            }
        };
        let part = match format {
            Format::Csv => csv::read(
                path,
                &file,
                &names,
                &reading,
                options.skip_invalid,
                keep_window,
            )?,
            Format::Json => {
                let context = JsonContext {
                    file: &file,
                    names: &names,
                    reading: &reading,
                    conversion_tags: &conversion_tags,
                };
                json::read(path, &context, options.skip_invalid, keep_window)?
            }
            Format::Parquet => parquet::read(path, &file, &names, &reading, options, keep_window)?,
        };
        loader.add(part);
    }
    loader.finish(files, options.max_invalid)
}

/// Reads calls held in memory, as [`load`] reads one file; `name` stands for
/// the file in messages. Parquet, being binary, is refused with
/// [`IngestError::ParquetText`].
pub fn load_str(
    text: &str,
    format: Format,
    name: &str,
    options: &IngestOptions,
) -> Result<Ingested, IngestError> {
    let names = ColumnNames::new(&options.column_map)?;
    let reading = ValueReading::new(options)?;
    let part = match format {
        Format::Csv => read_rows(options.skip_invalid, None, |sink| {
            csv::read_csv(text.as_bytes(), name, &names, &reading, sink)
        })?,
        Format::Json => {
            let conversion_tags = item_conversion_tags(options);
            let context = JsonContext {
                file: name,
                names: &names,
                reading: &reading,
                conversion_tags: &conversion_tags,
            };
            read_rows(options.skip_invalid, None, |sink| {
                json::read_json(text, &context, sink)
            })?
        }
        Format::Parquet => {
            return Err(IngestError::ParquetText {
                file: name.to_string(),
            })
        }
    };
    let mut loader = Loader::default();
    loader.add(part);
    loader.finish(Vec::new(), options.max_invalid)
}

/// The tags given to `CONVERSION` items of saved drilldown pages (SPEC §1.1):
/// the request's, as the canonical frame holds tags (see
/// [`crate::model::normalize_tags`]), or the tag that converts without
/// request tags.
fn item_conversion_tags(options: &IngestOptions) -> Vec<String> {
    let tags = crate::model::normalize_tags(options.request_tags.iter().map(String::as_str));
    crate::stages::conversion_tags(&tags)
}

/// Gathers the parts read from each file, in order.
#[derive(Default)]
struct Loader {
    /// Each part's calls and what is known of their ids, in input order.
    parts: Vec<(LazyFrame, Ids)>,
    report: IngestReport,
    /// The first rows skipped for each reason.
    skipped_rows: SkippedRows,
    /// Temporary files the parts read.
    spills: Vec<SpillFile>,
    /// The folder stores' snapshots the parts read.
    snapshots: Vec<Snapshot>,
}

impl Loader {
    /// Adds the part read from the next file.
    fn add(&mut self, part: FilePart) {
        self.report.rows_read += part.rows_read;
        merge_counts(&mut self.report.skipped, part.skipped);
        self.skipped_rows.merge(part.skipped_rows);
        self.report.facts.merge(part.facts);
        self.spills.extend(part.spills);
        self.parts.push((part.frame, part.ids));
    }

    /// Concatenates the parts and collapses duplicate ids; stops when more
    /// rows were skipped than `max_invalid` allows.
    fn finish(
        self,
        files: Vec<PathBuf>,
        max_invalid: SkipCeiling,
    ) -> Result<Ingested, IngestError> {
        let skipped: u64 = self.report.skipped.values().sum();
        if !max_invalid.allows(skipped, self.report.rows_read) {
            return Err(IngestError::TooManyInvalid {
                skipped,
                rows_read: self.report.rows_read,
                ceiling: max_invalid,
                reasons: self.report.skipped,
                first: self.skipped_rows.into_rows(),
            });
        }
        let polars_error = |source| IngestError::Polars {
            context: "de-duplicating calls".into(),
            source,
        };
        let mut report = self.report;
        report.files = files;
        report.skipped_rows = self.skipped_rows.into_rows();
        let distinct_parts = self.parts.len() == 1
            && matches!(self.parts[0].1, Ids::Unique | Ids::UniqueInFolder(_));
        let distinct = distinct_parts || one_folder_store(&self.parts);
        let mut frames: Vec<LazyFrame> = self.parts.into_iter().map(|(frame, _)| frame).collect();
        let frame = match frames.len() {
            0 => crate::model::CallColumns::default()
                .into_frame()
                .map_err(polars_error)?
                .lazy(),
            1 => frames.pop().unwrap_or_default(),
            _ => concat(frames, UnionArgs::default()).map_err(polars_error)?,
        };
        // Calls read: a reader keeping a window's calls holds fewer rows.
        let read = report.rows_read - report.skipped.values().sum::<u64>();
        let frame = if distinct {
            report.calls = read;
            frame
        } else {
            let repeated = repeated_ids(frame.clone(), report.rows_read).map_err(polars_error)?;
            report.duplicates = repeated.duplicates;
            report.duplicate_ids = repeated.ids.clone();
            report.calls = read - repeated.duplicates;
            keep_last_occurrences(frame, repeated)
        };
        Ok(Ingested {
            frame,
            report,
            spills: self.spills,
            _snapshots: self.snapshots,
        })
    }
}

/// Whether `parts` are the month files of one folder store.
fn one_folder_store(parts: &[(LazyFrame, Ids)]) -> bool {
    let mut folders = parts.iter().map(|(_, ids)| match ids {
        Ids::UniqueInFolder(folder) => Some(folder),
        _ => None,
    });
    let first = folders.next().flatten();
    first.is_some() && folders.all(|folder| folder == first)
}

/// Adds the counts of `more` to `counts`.
fn merge_counts(counts: &mut BTreeMap<String, u64>, more: BTreeMap<String, u64>) {
    for (reason, count) in more {
        *counts.entry(reason).or_insert(0) += count;
    }
}
