//! Parquet input (SPEC §1.1), scanned lazily: a store file as it is (see
//! [`crate::store`]), a file of text columns in canonical form column-wise
//! ([`text`]), any other field by field ([`typed`]).

mod batches;
pub(super) mod text;
mod typed;

use std::path::Path;

use polars::prelude::*;

use self::batches::file_batches;
use super::error::IngestError;
use super::fields::{ColumnNames, ValueReading};
use super::part::{FilePart, Ids, Window};
use super::IngestOptions;
use crate::model::canonical_schema;
use crate::store::scan_store;

/// The calls of the Parquet file at `path` (named `file` in messages), its
/// values as `reading` says; with a `keep_window` (one file read, see
/// [`IngestOptions::keep_window`]), only the calls of that window may be
/// kept. Values read as written may take
/// the store's or the text columns' column-wise reader.
pub(super) fn read(
    path: &Path,
    file: &str,
    names: &ColumnNames,
    reading: &ValueReading,
    options: &IngestOptions,
    keep_window: Option<Window>,
) -> Result<FilePart, IngestError> {
    let polars_error = |source: PolarsError| IngestError::Polars {
        context: file.to_string(),
        source,
    };
    let source = PlRefPath::try_from_path(path).map_err(polars_error)?;
    let args = ScanArgsParquet {
        glob: false,
        ..Default::default()
    };
    // The footer is read here: a file cut short or damaged there fails.
    let unreadable = |source: PolarsError| IngestError::Polars {
        context: format!("{file}: not a readable Parquet file (damaged or cut short?)"),
        source,
    };
    let mut scan = LazyFrame::scan_parquet(source, args).map_err(unreadable)?;
    let schema = scan.collect_schema().map_err(unreadable)?;
    let typed = |scan, batches: &[(i64, IdxSize)]| {
        let file = typed::TypedFile {
            name: file,
            scan,
            schema: &schema,
            batches,
        };
        typed::read(file, names, reading, options.skip_invalid, keep_window)
    };
    if !reading.is_as_written() {
        return typed(scan, &file_batches(path, file)?);
    }
    if !names.is_any_mapped() && *schema == canonical_schema() {
        let store = scan_store(path, file, scan.clone(), options.keep_window, keep_window)
            .map_err(|error| IngestError::from_store(file, error))?;
        if let Some(store) = store {
            let ids = match store.folder {
                Some(folder) => Ids::UniqueInFolder(folder),
                None => Ids::Unique,
            };
            return Ok(FilePart::all_valid(
                store.frame,
                store.rows,
                ids,
                Vec::new(),
            ));
        }
    }
    let batches = file_batches(path, file)?;
    text::read(file, &scan, &schema, names, &batches, keep_window)?
        .or_rule_by_rule(|| typed(scan, &batches))
}
