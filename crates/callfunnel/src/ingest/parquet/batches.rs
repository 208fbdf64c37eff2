//! A Parquet file read in batches of row groups, each collected on a thread
//! of its own a little ahead of the one taking them, in file order: memory
//! holds a few batches whatever the file's size, and reading overlaps with
//! what is done with the batch before.

use std::ops::ControlFlow;
use std::path::Path;

use polars::prelude::*;

use crate::ingest::error::IngestError;

/// The batches (first row, rows) that read the Parquet file at `path`
/// (named `file` in messages), from its row groups (see
/// [`row_group_batches`]).
pub(super) fn file_batches(path: &Path, file: &str) -> Result<Vec<(i64, IdxSize)>, IngestError> {
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
    Ok(row_group_batches(
        metadata.row_groups.iter().map(|group| group.num_rows()),
    ))
}

/// Rows gathered into one batch: small row groups are read together until they hold this many.
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

/// `frame` collected batch by batch (`batches`: first row, rows), each on a
/// thread of its own, [`READ_AHEAD`] ahead of `take`, which gets each
/// batch's first row and the batch, in order; what `take` breaks with, if
/// it does.
pub(crate) fn read_in_batches<T>(
    frame: LazyFrame,
    batches: &[(i64, IdxSize)],
    mut take: impl FnMut(i64, PolarsResult<DataFrame>) -> ControlFlow<T>,
) -> Option<T> {
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel(READ_AHEAD);
        scope.spawn(move || {
            for (offset, rows) in batches {
                let batch = frame.clone().slice(*offset, *rows);
                let reading = scope.spawn(move || batch.collect());
                if sender.send((*offset, reading)).is_err() {
                    break;
                }
            }
        });
        for (offset, reading) in receiver {
            let batch = reading
                .join()
                .unwrap_or_else(|_| Err(PolarsError::ComputeError("a batch thread failed".into())));
            if let ControlFlow::Break(value) = take(offset, batch) {
                return Some(value);
            }
        }
        None
    })
}

/// Batches read ahead of the one being taken by [`read_in_batches`].
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
