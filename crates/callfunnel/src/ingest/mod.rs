//! Reading call logs into the canonical call frame (SPEC §1).
//!
//! Inputs are CSV, JSON (an array, NDJSON, or a saved API page, told apart
//! by shape) and Parquet (typed or text columns), chosen by extension. Several inputs are read in
//! order and concatenated; calls sharing an `id` collapse to the occurrence
//! read last (SPEC §1.2). Bad rows stop the load with an error naming file,
//! line, column and value, or are skipped and counted with
//! [`IngestOptions::skip_invalid`].
//!
//! ```
//! use callfunnel::ingest::{load_str, Format, IngestOptions};
//!
//! let csv = "id,date,result,duration\ncll-1,2024-03-04T09:30:00Z,answered,95\n";
//! let ingested = load_str(csv, Format::Csv, "calls.csv", &IngestOptions::default()).unwrap();
//! assert_eq!(ingested.report.calls, 1);
//! ```

mod error;
mod fields;
mod line_pieces;
mod read_csv;
mod read_csv_columnar;
mod read_json;
mod read_parquet;
mod sink;
mod spill;
#[cfg(test)]
mod tests;
mod window_lines;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use polars::prelude::*;

use crate::duplicates::{keep_last_occurrences, repeated_ids};
use crate::scratch::SpillFile;
pub use error::{IngestError, InvalidRow, Reason};

use fields::ColumnNames;
use read_json::JsonContext;
use sink::Sink;

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
    /// request. A reader may then leave out the other calls (keeping the
    /// latest call of all, so `last_updated` is unchanged) when no later row
    /// can replace a kept one (one input file, its ids increasing): a large
    /// CSV or NDJSON file then keeps the window's calls only. `None` keeps
    /// every call. Either way a file is read in batches, in memory that does
    /// not grow with its size.
    pub keep_window: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            input_tz: chrono_tz::Tz::UTC,
            column_map: Vec::new(),
            skip_invalid: false,
            request_tags: Vec::new(),
            keep_window: None,
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
    /// Calls kept after de-duplication.
    pub calls: u64,
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
            let reasons: Vec<String> = self
                .skipped
                .iter()
                .map(|(reason, count)| format!("{reason}: {count}"))
                .collect();
            lines.push(format!(
                "skipped {} ({})",
                plural(skipped, "invalid row", "invalid rows"),
                reasons.join(", ")
            ));
        }
        if self.duplicates > 0 {
            lines.push(format!(
                "collapsed {} (last occurrence kept)",
                plural(self.duplicates, "duplicate id", "duplicate ids")
            ));
        }
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

/// Whether `path` names a file of a supported format.
fn is_supported(path: &Path) -> bool {
    Format::from_path(path).is_ok()
}

/// The files named by `inputs`, in order: a file is itself; a folder gives
/// every supported file in it, sorted by name (not recursive); a pattern
/// holding `*`, `?` or `[` gives its matches, sorted (folders among them
/// expand like folders; `**` walks at most [`MAX_WALK_ENTRIES`] entries and
/// enters each folder once, so a symbolic-link loop ends). A missing path,
/// an empty folder, a pattern that matches nothing, or a path that is not a
/// regular file (a FIFO, a device) is an error.
pub fn expand_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, IngestError> {
    let mut files = Vec::new();
    for input in inputs {
        if input.exists() {
            expand_path(input, &mut files)?;
            continue;
        }
        let pattern = input.to_string_lossy();
        if !pattern.contains(['*', '?', '[']) {
            return Err(IngestError::NotFound {
                path: input.clone(),
            });
        }
        let mut matches = glob_matches(&pattern)?;
        if matches.is_empty() {
            return Err(IngestError::NoMatch {
                pattern: pattern.to_string(),
            });
        }
        matches.sort();
        for path in &matches {
            expand_path(path, &mut files)?;
        }
    }
    Ok(files)
}

/// Most entries a pattern with `**` may walk through (files and folders).
pub const MAX_WALK_ENTRIES: usize = 1_000_000;

/// The paths `pattern` matches. A pattern with `**` is walked here, each
/// folder entered once (a symbolic link back to a folder already entered,
/// a loop, is not followed again) and at most [`MAX_WALK_ENTRIES`] entries
/// in all; others are expanded by `glob`, whose depth the pattern bounds.
fn glob_matches(pattern: &str) -> Result<Vec<PathBuf>, IngestError> {
    let bad_pattern = |message: String| IngestError::BadPattern {
        pattern: pattern.to_string(),
        message,
    };
    if !pattern.contains("**") {
        return glob::glob(pattern)
            .map_err(|err| bad_pattern(err.to_string()))?
            .collect::<Result<Vec<PathBuf>, _>>()
            .map_err(|err| bad_pattern(err.to_string()));
    }
    let compiled = glob::Pattern::new(pattern).map_err(|err| bad_pattern(err.to_string()))?;
    let options = glob::MatchOptions {
        require_literal_separator: true,
        ..glob::MatchOptions::new()
    };
    // The folder before the first component with a wildcard.
    let first_wildcard = pattern.find(['*', '?', '[']).unwrap_or(pattern.len());
    let base = match pattern[..first_wildcard].rfind('/') {
        Some(0) => "/",
        Some(slash) => &pattern[..slash],
        None => "",
    };
    let mut entered = std::collections::HashSet::new();
    let mut pending = vec![PathBuf::from(base)];
    let mut matches = Vec::new();
    let mut walked = 0usize;
    while let Some(folder) = pending.pop() {
        let shown = if folder.as_os_str().is_empty() {
            Path::new(".")
        } else {
            folder.as_path()
        };
        let Ok(identity) = std::fs::canonicalize(shown) else {
            continue;
        };
        if !entered.insert(identity) {
            continue;
        }
        let unreadable = |source| IngestError::Unreadable {
            file: shown.display().to_string(),
            source,
        };
        for entry in std::fs::read_dir(shown).map_err(unreadable)? {
            walked += 1;
            if walked > MAX_WALK_ENTRIES {
                return Err(bad_pattern(format!(
                    "walked more than {MAX_WALK_ENTRIES} files and folders; give a narrower pattern"
                )));
            }
            let path = folder.join(entry.map_err(unreadable)?.file_name());
            if compiled.matches_path_with(&path, options) {
                matches.push(path.clone());
            }
            if path.is_dir() {
                pending.push(path);
            }
        }
    }
    Ok(matches)
}

/// Adds an existing file, or the supported files of a folder, to `files`.
/// Only regular files are read: a FIFO, socket or device is refused, as it
/// could not be read more than once (or ever end).
fn expand_path(path: &Path, files: &mut Vec<PathBuf>) -> Result<(), IngestError> {
    if !path.is_dir() {
        if !path.is_file() {
            return Err(IngestError::NotRegularFile {
                path: path.to_path_buf(),
            });
        }
        files.push(path.to_path_buf());
        return Ok(());
    }
    let unreadable = |source| IngestError::Unreadable {
        file: path.display().to_string(),
        source,
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(path).map_err(unreadable)? {
        let entry_path = entry.map_err(unreadable)?.path();
        if entry_path.is_file() && is_supported(&entry_path) {
            found.push(entry_path);
        }
    }
    if found.is_empty() {
        return Err(IngestError::EmptyFolder {
            path: path.to_path_buf(),
        });
    }
    found.sort();
    files.extend(found);
    Ok(())
}

/// Reads `inputs` (see [`expand_inputs`]) in order into one canonical frame,
/// de-duplicated by `id` (the occurrence read last wins, at its position).
///
/// Without [`IngestOptions::skip_invalid`], the first bad row stops the load
/// with [`IngestError::InvalidRow`].
pub fn load(inputs: &[PathBuf], options: &IngestOptions) -> Result<Ingested, IngestError> {
    let names = ColumnNames::new(&options.column_map)?;
    let files = expand_inputs(inputs)?;
    if files.is_empty() {
        return Err(IngestError::NoInput);
    }
    // Every format first, so a bad extension fails before anything is read.
    let formats = files
        .iter()
        .map(|file| Format::from_path(file))
        .collect::<Result<Vec<_>, _>>()?;
    let conversion_tags = item_conversion_tags(options);
    // A call left out of one file could be the last occurrence of an id
    // that another file holds inside the window: calls are left out only
    // when a single file is read.
    let keep_window = options.keep_window.filter(|_| files.len() == 1);

    let mut loader = Loader::new(options);
    for (path, format) in files.iter().zip(formats) {
        let file = path.display().to_string();
        let unreadable = |source| IngestError::Unreadable {
            file: file.clone(),
            source,
        };
        let context = JsonContext {
            file: &file,
            names: &names,
            tz: options.input_tz,
            conversion_tags: &conversion_tags,
        };
        match format {
            Format::Csv => match read_csv_columnar::scan_canonical_csv(path, &names, keep_window) {
                Some(csv) => {
                    loader.spills.extend(csv.spill);
                    loader.add_scan(csv.frame, csv.rows, Ids::known(csv.unique_ids));
                }
                None => loader.read_rows(keep_window, |sink| {
                    let input = File::open(path).map_err(unreadable)?;
                    read_csv::read_csv(input, &file, &names, options.input_tz, sink)
                })?,
            },
            Format::Json if read_json::is_ndjson_file(path).map_err(unreadable)? => loader
                .read_rows(keep_window, |sink| {
                    let input = std::io::BufReader::new(File::open(path).map_err(unreadable)?);
                    read_json::read_ndjson(input, &context, sink)
                })?,
            Format::Json => {
                let bytes = std::fs::read(path).map_err(unreadable)?;
                let text = utf8_text(bytes, &file)?;
                loader.read_rows(keep_window, |sink| {
                    read_json::read_json(&text, &context, sink)
                })?
            }
            Format::Parquet => {
                let part = read_parquet::scan_parquet(path, &file, &names, options, keep_window)?;
                loader.add_parquet(part);
            }
        }
    }
    loader.finish(files)
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
    let mut loader = Loader::new(options);
    match format {
        Format::Csv => loader.read_rows(None, |sink| {
            read_csv::read_csv(text.as_bytes(), name, &names, options.input_tz, sink)
        })?,
        Format::Json => {
            let conversion_tags = item_conversion_tags(options);
            let context = JsonContext {
                file: name,
                names: &names,
                tz: options.input_tz,
                conversion_tags: &conversion_tags,
            };
            loader.read_rows(None, |sink| read_json::read_json(text, &context, sink))?;
        }
        Format::Parquet => {
            return Err(IngestError::ParquetText {
                file: name.to_string(),
            })
        }
    }
    loader.finish(Vec::new())
}

/// The tags given to `CONVERSION` items of saved drilldown pages (SPEC §1.1):
/// the request's, as the canonical frame holds tags (see
/// [`crate::model::normalize_tags`]), or the tag that converts without
/// request tags.
fn item_conversion_tags(options: &IngestOptions) -> Vec<String> {
    let tags = crate::model::normalize_tags(options.request_tags.iter().map(String::as_str));
    crate::stages::conversion_tags(&tags)
}

/// A file's bytes as text; invalid UTF-8 is malformed input at its line.
fn utf8_text(bytes: Vec<u8>, file: &str) -> Result<String, IngestError> {
    String::from_utf8(bytes).map_err(|err| {
        let valid = err.utf8_error().valid_up_to();
        let line = err.as_bytes()[..valid]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64
            + 1;
        IngestError::Malformed {
            file: file.to_string(),
            line,
            message: "invalid UTF-8".into(),
        }
    })
}

/// Gathers the parts read from each file, in order.
struct Loader {
    /// Finished parts, in input order.
    parts: Vec<Part>,
    report: IngestReport,
    skip_invalid: bool,
    /// Temporary files the parts read.
    spills: Vec<SpillFile>,
}

/// The calls of one input file, scanned lazily, and what is known of its ids.
struct Part {
    frame: LazyFrame,
    ids: Ids,
}

/// What is known of the ids of a part.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ids {
    /// Nothing: they may repeat.
    Unknown,
    /// Each is distinct within the part.
    Unique,
    /// Each is distinct within the folder store of this name, whose parts
    /// hold no id twice between them.
    UniqueInFolder(String),
}

impl Ids {
    fn known(unique: bool) -> Ids {
        if unique {
            Ids::Unique
        } else {
            Ids::Unknown
        }
    }
}

impl Loader {
    fn new(options: &IngestOptions) -> Self {
        Loader {
            parts: Vec::new(),
            report: IngestReport::default(),
            skip_invalid: options.skip_invalid,
            spills: Vec::new(),
        }
    }

    /// Reads one file with a row reader: `read` puts its rows into a sink,
    /// keeping the calls of `window` (see [`Sink`]); when the sink asks for
    /// it, the file is read again, keeping every call.
    fn read_rows(
        &mut self,
        window: Option<(DateTime<Utc>, DateTime<Utc>)>,
        mut read: impl FnMut(&mut Sink) -> Result<(), IngestError>,
    ) -> Result<(), IngestError> {
        let mut window = window;
        let part = loop {
            let mut sink = Sink::new(self.skip_invalid, window);
            read(&mut sink)?;
            match sink.finish()? {
                Some(part) => break part,
                None => window = None,
            }
        };
        merge_counts(&mut self.report.skipped, part.skipped);
        self.spills.extend(part.spills);
        self.add_scan(part.frame, part.rows_read, Ids::known(part.unique_ids));
        Ok(())
    }

    /// Adds a scanned file (every row valid) after what was read before it:
    /// its `rows`, and what is known of its ids.
    fn add_scan(&mut self, frame: LazyFrame, rows: u64, ids: Ids) {
        self.report.rows_read += rows;
        self.parts.push(Part { frame, ids });
    }

    /// Adds a scanned Parquet file after what was read before it.
    fn add_parquet(&mut self, part: read_parquet::ParquetPart) {
        merge_counts(&mut self.report.skipped, part.skipped);
        self.spills.extend(part.spills);
        let ids = match part.store_folder {
            Some(folder) if part.unique_ids => Ids::UniqueInFolder(folder),
            _ => Ids::known(part.unique_ids),
        };
        self.add_scan(part.frame, part.rows_read, ids)
    }
}

/// Whether `parts` are the month files of one folder store.
fn one_folder_store(parts: &[Part]) -> bool {
    let mut folders = parts.iter().map(|part| match &part.ids {
        Ids::UniqueInFolder(folder) => Some(folder),
        _ => None,
    });
    let first = folders.next().flatten();
    first.is_some() && folders.all(|folder| folder == first)
}

impl Loader {
    /// Concatenates the parts and collapses duplicate ids.
    fn finish(self, files: Vec<PathBuf>) -> Result<Ingested, IngestError> {
        let polars_error = |source| IngestError::Polars {
            context: "de-duplicating calls".into(),
            source,
        };
        let mut report = self.report;
        report.files = files;
        let distinct_parts = self.parts.len() == 1
            && matches!(self.parts[0].ids, Ids::Unique | Ids::UniqueInFolder(_));
        let distinct = distinct_parts || one_folder_store(&self.parts);
        let mut frames: Vec<LazyFrame> = self.parts.into_iter().map(|part| part.frame).collect();
        let frame = match frames.len() {
            0 => crate::model::CallColumns::default()
                .into_frame()
                .map_err(polars_error)?
                .lazy(),
            1 => frames.pop().unwrap_or_default(),
            _ => concat(frames, UnionArgs::default()).map_err(polars_error)?,
        };
        let frame = if distinct {
            report.calls = report.rows_read - report.skipped.values().sum::<u64>();
            frame
        } else {
            let repeated = repeated_ids(frame.clone(), report.rows_read).map_err(polars_error)?;
            report.duplicates = repeated.duplicates;
            report.calls = repeated.rows - repeated.duplicates;
            keep_last_occurrences(frame, repeated)
        };
        Ok(Ingested {
            frame,
            report,
            spills: self.spills,
        })
    }
}

/// Adds the counts of `more` to `counts`.
fn merge_counts(counts: &mut BTreeMap<String, u64>, more: BTreeMap<String, u64>) {
    for (reason, count) in more {
        *counts.entry(reason).or_insert(0) += count;
    }
}
