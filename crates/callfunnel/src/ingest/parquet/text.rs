//! A Parquet file whose fields are all text columns in canonical form (a
//! CSV export written to Parquet by another tool), read column-wise as a
//! canonical CSV file is: in batches of row groups, each converted and
//! checked by the shared canonical text step ([`crate::ingest::canonical_text`]).
//! A value off canonical form hands the file to the rule-by-rule reader
//! ([`super::typed`]).

use std::ops::ControlFlow;

use polars::prelude::*;

use super::batches::read_in_batches;
use crate::ingest::call_buffer::{ids_increase, CallBuffer};
use crate::ingest::canonical_text::{
    call_columns, canonical_frame, field_positions, off_form_flags, without_off_form,
};
use crate::ingest::error::IngestError;
use crate::ingest::fields::ColumnNames;
use crate::ingest::part::{keeping_window, stop_on_io, FastRead, FilePart, Ids, Window, Windowed};
use crate::model::Field;

/// The calls of the file named `file` in messages (`scan` its lazy scan, of
/// `schema`) when every field is a text column (a missing one allowed to
/// be), read in `batches` of row groups: with a `keep_window`
/// and increasing ids, only the window's calls (read again keeping every
/// call should an id not increase). [`FastRead::RuleByRule`] when a field
/// is not text or a value is off canonical form.
pub(super) fn read(
    file: &str,
    scan: &LazyFrame,
    schema: &Schema,
    names: &ColumnNames,
    batches: &[(i64, IdxSize)],
    keep_window: Option<Window>,
) -> Result<FastRead, IngestError> {
    let header: Vec<String> = schema.iter_names().map(|name| name.to_string()).collect();
    let present = field_positions(&header, names);
    let usable = present.iter().all(|(field, index)| match index {
        Some(index) => schema
            .get_at_index(*index)
            .is_some_and(|(_, dtype)| dtype.is_string()),
        None => !field.is_required() && !names.is_mapped(*field),
    });
    if !usable {
        return Ok(FastRead::RuleByRule);
    }
    keeping_window(keep_window, |window| {
        canonical_text_calls(file, scan.clone(), &header, &present, window, batches)
    })
}

/// The calls of a Parquet file of text columns (`header` its column names,
/// `present` where each field is; `file` its name in messages), read in one
/// pass over its `batches` (first row, rows) into a [`CallBuffer`], as a
/// canonical CSV file's chunks are: each batch is read on every core (while
/// the batch before is kept) and checked for canonical form. With a
/// `window`, only its calls (and each batch's latest) are kept while the
/// ids increase. Memory holds a few batches and what the buffer keeps in
/// memory.
pub(crate) fn canonical_text_calls(
    file: &str,
    scan: LazyFrame,
    header: &[String],
    present: &[(Field, Option<usize>)],
    window: Option<Window>,
    batches: &[(i64, IdxSize)],
) -> Result<Windowed<FastRead>, IngestError> {
    let mut columns = call_columns(present);
    columns.push(off_form_flags());
    let calls = canonical_frame(scan, header, present).select(columns);
    let rows = batches.iter().map(|(_, rows)| u64::from(*rows)).sum();
    let mut buffer = CallBuffer::new(window);
    let mut last_id = None;
    let mut increasing = true;
    let stopped = read_in_batches(calls, batches, |_, batch| {
        let batch = match batch {
            Ok(batch) => batch,
            Err(error) => return ControlFlow::Break(rule_by_rule(file, error)),
        };
        let Some(batch) = without_off_form(batch) else {
            return ControlFlow::Break(Ok(Windowed::Read(FastRead::RuleByRule)));
        };
        if increasing && !ids_increase(&batch, &mut last_id).unwrap_or(false) {
            if window.is_some() {
                return ControlFlow::Break(Ok(Windowed::IdsWentBack));
            }
            increasing = false;
        }
        match buffer.push(batch.lazy()) {
            Ok(_) => ControlFlow::Continue(()),
            Err(error) => ControlFlow::Break(rule_by_rule(file, error)),
        }
    });
    if let Some(stopped) = stopped {
        return stopped;
    }
    match buffer.finish() {
        Ok((frame, spills)) => {
            let part = FilePart::all_valid(frame, rows, Ids::distinct(increasing), spills);
            Ok(Windowed::Read(FastRead::Calls(Box::new(part))))
        }
        Err(error) => rule_by_rule(file, error),
    }
}

/// A file handed to the rule-by-rule reader because of `error`, unless it
/// is an I/O error (see [`stop_on_io`]).
fn rule_by_rule(file: &str, error: PolarsError) -> Result<Windowed<FastRead>, IngestError> {
    stop_on_io(file, error)?;
    Ok(Windowed::Read(FastRead::RuleByRule))
}
