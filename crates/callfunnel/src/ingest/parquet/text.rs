//! A Parquet file whose fields are all text columns in canonical form (a
//! CSV export written to Parquet by another tool), read column-wise as a
//! canonical CSV file is: in batches of row groups, each converted and
//! checked by the shared canonical text step ([`crate::ingest::canonical_text`]).
//! A value off canonical form hands the file to the rule-by-rule reader
//! ([`super::typed`]).

use std::path::Path;

use polars::prelude::*;

use crate::ingest::call_buffer::{ids_increase, CallBuffer};
use crate::ingest::canonical_text::{
    call_columns, canonical_frame, field_positions, off_form_flags, without_off_form,
};
use crate::ingest::error::IngestError;
use crate::ingest::fields::ColumnNames;
use crate::ingest::part::{keeping_window, stop_on_io, FastRead, FilePart, Ids, Window, Windowed};
use crate::model::Field;

/// The calls of the file at `path` (named `file` in messages; `scan` its
/// lazy scan, of `schema`) when every field is a text column (a missing
/// one allowed to be), read in batches of row groups: with a `keep_window`
/// and increasing ids, only the window's calls (read again keeping every
/// call should an id not increase). [`FastRead::RuleByRule`] when a field
/// is not text or a value is off canonical form.
pub(super) fn read(
    path: &Path,
    file: &str,
    scan: &LazyFrame,
    schema: &Schema,
    names: &ColumnNames,
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
    let input = std::fs::File::open(path).map_err(|source| IngestError::Unreadable {
        file: file.to_string(),
        source,
    })?;
    let metadata = ParquetReader::new(input)
        .get_metadata()
        .map_err(|source| IngestError::Polars {
            context: file.to_string(),
            source,
        })?
        .clone();
    let batches = row_group_batches(metadata.row_groups.iter().map(|group| group.num_rows()));
    keeping_window(keep_window, |window| {
        canonical_text_calls(file, scan.clone(), &header, &present, window, &batches)
    })
}

/// Rows gathered into one batch when a file of text columns is read: small
/// row groups are read together until they hold this many.
const BATCH_ROWS: usize = 100_000;
/// The largest row group read whole; a larger one is read in slices of
/// [`SLICE_ROWS`].
const WHOLE_GROUP_ROWS: usize = 1_000_000;
/// Rows of a slice of a row group larger than [`WHOLE_GROUP_ROWS`].
const SLICE_ROWS: usize = 250_000;

/// The batches (first row, rows) that read a file whose row groups hold
/// `row_group_rows`: whole row groups (decoding a whole row group is
/// fastest), consecutive small ones gathered until they hold
/// [`BATCH_ROWS`], a very large one cut into slices, so that memory holds at
/// most a few batches, whatever the file's row groups.
fn row_group_batches(row_group_rows: impl Iterator<Item = usize>) -> Vec<(i64, IdxSize)> {
    let mut batches = Vec::new();
    let mut push = |start: usize, rows: usize| {
        let rows = IdxSize::try_from(rows).unwrap_or(IdxSize::MAX);
        batches.push((start as i64, rows));
    };
    let (mut start, mut pending) = (0usize, 0usize);
    for rows in row_group_rows {
        if rows > WHOLE_GROUP_ROWS {
            if pending > 0 {
                push(start, pending);
            }
            let group_start = start + pending;
            for slice_start in (0..rows).step_by(SLICE_ROWS) {
                push(
                    group_start + slice_start,
                    SLICE_ROWS.min(rows - slice_start),
                );
            }
            (start, pending) = (group_start + rows, 0);
            continue;
        }
        pending += rows;
        if pending >= BATCH_ROWS {
            push(start, pending);
            (start, pending) = (start + pending, 0);
        }
    }
    if pending > 0 {
        push(start, pending);
    }
    batches
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
    std::thread::scope(|scope| {
        // Batches are read on threads of their own, a few ahead, while this
        // one checks and keeps them in file order.
        let (sender, receiver) = std::sync::mpsc::sync_channel(READ_AHEAD);
        scope.spawn(move || {
            for (offset, rows) in batches {
                let batch = calls.clone().slice(*offset, *rows);
                if sender.send(scope.spawn(move || batch.collect())).is_err() {
                    break;
                }
            }
        });
        for reading in receiver {
            let batch = reading
                .join()
                .unwrap_or_else(|_| Err(PolarsError::ComputeError("a batch thread failed".into())));
            let batch = match batch {
                Ok(batch) => batch,
                Err(error) => return rule_by_rule(file, error),
            };
            let Some(batch) = without_off_form(batch) else {
                return Ok(Windowed::Read(FastRead::RuleByRule));
            };
            if increasing && !ids_increase(&batch, &mut last_id).unwrap_or(false) {
                if window.is_some() {
                    return Ok(Windowed::IdsWentBack);
                }
                increasing = false;
            }
            if let Err(error) = buffer.push(batch.lazy()) {
                return rule_by_rule(file, error);
            }
        }
        match buffer.finish() {
            Ok((frame, spills)) => {
                let part = FilePart::all_valid(frame, rows, Ids::distinct(increasing), spills);
                Ok(Windowed::Read(FastRead::Calls(Box::new(part))))
            }
            Err(error) => rule_by_rule(file, error),
        }
    })
}

/// A file handed to the rule-by-rule reader because of `error`, unless it
/// is an I/O error (see [`stop_on_io`]).
fn rule_by_rule(file: &str, error: PolarsError) -> Result<Windowed<FastRead>, IngestError> {
    stop_on_io(file, error)?;
    Ok(Windowed::Read(FastRead::RuleByRule))
}

/// Batches read ahead of the one being kept by [`canonical_text_calls`].
const READ_AHEAD: usize = 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_groups_are_gathered_into_batches_and_large_ones_cut() {
        // DuckDB's row groups of 122,880 rows: one per batch.
        assert_eq!(
            row_group_batches([122_880; 3].into_iter()),
            [(0, 122_880), (122_880, 122_880), (245_760, 122_880)]
        );
        // Small groups gather until the batch is full.
        let batches = row_group_batches([40_000, 40_000, 30_000, 10].into_iter());
        assert_eq!(batches, [(0, 110_000), (110_000, 10)]);
        // A row group of 1.2M rows is cut into slices, after the pending
        // small group and before the next; one of 1M rows is read whole.
        let batches = row_group_batches([1_000, 1_200_000, 1_000_000, 5].into_iter());
        assert_eq!(
            batches,
            [
                (0, 1_000),
                (1_000, 250_000),
                (251_000, 250_000),
                (501_000, 250_000),
                (751_000, 250_000),
                (1_001_000, 200_000),
                (1_201_000, 1_000_000),
                (2_201_000, 5)
            ]
        );
        // Every row is in exactly one batch, in order.
        let groups = [7, 1_600_000, 3, 250_000, 99_999, 1];
        let mut next = 0i64;
        for (start, rows) in row_group_batches(groups.into_iter()) {
            assert_eq!(start, next);
            next += i64::from(rows);
        }
        assert_eq!(next, groups.iter().sum::<usize>() as i64);
        assert!(row_group_batches(std::iter::empty()).is_empty());
    }
}
