//! Duplicate ids (SPEC §1.2): calls sharing an `id` are one call, the
//! occurrence read last wins, at its place.
//!
//! Finding them holds 8 bytes per call, not the ids: a first streaming pass
//! hashes every id (XXH3-64) into one array, sorted afterwards so that equal
//! hashes sit side by side. Only the ids whose hash repeats (the repeated
//! ids, as a rule few, plus any hash collision) are then looked up by their
//! text in a second pass, which gives each repeated id its occurrences and
//! the row of its last one; a third keeps every call but the earlier
//! occurrences, in order: dropped by their row numbers when few (a join on
//! the repeated ids, which the streaming engine buffers, only beyond).

use std::collections::{HashMap, HashSet};

use polars::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use crate::exprs::fold_batches;
use crate::model::column::ID;

/// Name of the column of each row's position, while de-duplicating.
const ROW: &str = "__row";
/// Name of the column of the position of an id's last occurrence.
const LAST_ROW: &str = "__last_row";
/// Name of the column of each id's hash.
const ID_HASH: &str = "__id_hash";

/// The ids of a frame that occur more than once.
#[derive(Debug, Clone)]
pub(crate) struct RepeatedIds {
    /// Rows of the frame.
    pub rows: u64,
    /// Rows that are an earlier occurrence of a repeated id.
    pub duplicates: u64,
    /// How the earlier occurrences are told apart.
    earlier: Earlier,
}

/// The earlier occurrences of the repeated ids.
#[derive(Debug, Clone)]
enum Earlier {
    /// Their rows, when at most [`FEW_ROWS`].
    Rows(Vec<IdxSize>),
    /// Each repeated id with the row of its last occurrence.
    LastRows(DataFrame),
}

/// Earlier occurrences dropped by their row numbers (a filter); beyond, by
/// a join on the repeated ids.
const FEW_ROWS: usize = 64;

/// The repeated ids of `calls` (of at most `rows_hint` rows, used to size
/// the array of hashes; 0 when unknown).
pub(crate) fn repeated_ids(calls: LazyFrame, rows_hint: u64) -> PolarsResult<RepeatedIds> {
    let mut hashes = id_hashes(calls.clone(), rows_hint)?;
    let rows = hashes.len() as u64;
    hashes.sort_unstable();
    let repeated_hashes: HashSet<u64> = hashes
        .windows(2)
        .filter(|pair| pair[0] == pair[1])
        .map(|pair| pair[0])
        .collect();
    drop(hashes);
    let occurrences = if repeated_hashes.is_empty() {
        HashMap::new()
    } else {
        occurrences_of(calls, repeated_hashes)?
    };
    let repeated: Vec<(&String, &Occurrences)> = occurrences
        .iter()
        .filter(|(_, seen)| seen.rows.len() > 1)
        .collect();
    let earlier: Vec<IdxSize> = repeated
        .iter()
        .flat_map(|(_, seen)| seen.earlier_rows())
        .collect();
    let duplicates = earlier.len() as u64;
    let earlier = if earlier.len() <= FEW_ROWS {
        Earlier::Rows(earlier)
    } else {
        Earlier::LastRows(df!(
            ID => repeated.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(),
            LAST_ROW => repeated.iter().map(|(_, seen)| seen.last_row()).collect::<Vec<IdxSize>>(),
        )?)
    };
    Ok(RepeatedIds {
        rows,
        duplicates,
        earlier,
    })
}

/// `calls` with only the last occurrence of each of its `repeated` ids, at
/// its place; every other call passes as it is.
pub(crate) fn keep_last_occurrences(calls: LazyFrame, repeated: RepeatedIds) -> LazyFrame {
    if repeated.duplicates == 0 {
        return calls;
    }
    match repeated.earlier {
        Earlier::Rows(rows) => without_rows(calls, &rows),
        Earlier::LastRows(last_rows) => only_last_rows(calls, last_rows),
    }
}

/// `calls` without the rows numbered `rows`, order kept.
fn without_rows(calls: LazyFrame, rows: &[IdxSize]) -> LazyFrame {
    let kept = rows
        .iter()
        .map(|row| col(ROW).neq(lit(*row)))
        .reduce(Expr::and)
        .unwrap_or_else(|| lit(true));
    calls
        .with_row_index(ROW, None)
        .filter(kept)
        .drop(cols([ROW]))
}

/// `calls` whose id is not in `last_rows`, or at the row given there for
/// it, order kept.
fn only_last_rows(calls: LazyFrame, last_rows: DataFrame) -> LazyFrame {
    let in_order = JoinArgs {
        maintain_order: MaintainOrderJoin::Left,
        ..JoinArgs::new(JoinType::Left)
    };
    calls
        .with_row_index(ROW, None)
        .join(last_rows.lazy(), [col(ID)], [col(ID)], in_order)
        .filter(col(LAST_ROW).is_null().or(col(ROW).eq(col(LAST_ROW))))
        .drop(cols([ROW, LAST_ROW]))
}

/// The hash of every id of `calls`, in no particular order (one streaming
/// pass; the hashes are computed on the engine's threads).
fn id_hashes(calls: LazyFrame, rows_hint: u64) -> PolarsResult<Vec<u64>> {
    let capacity = usize::try_from(rows_hint).unwrap_or(0);
    let hashed = calls.select([hash_of_id()]);
    fold_batches(
        hashed,
        false,
        Vec::with_capacity(capacity),
        |hashes: &mut Vec<u64>, batch| {
            for chunk in batch.column(ID_HASH)?.u64()?.downcast_iter() {
                hashes.extend_from_slice(chunk.values());
            }
            Ok(false)
        },
    )
}

/// The rows where one id occurs.
#[derive(Debug, Clone, Default)]
struct Occurrences {
    rows: Vec<IdxSize>,
}

impl Occurrences {
    /// The row of the last occurrence.
    fn last_row(&self) -> IdxSize {
        self.rows.iter().copied().max().unwrap_or_default()
    }

    /// The rows of every occurrence but the last.
    fn earlier_rows(&self) -> impl Iterator<Item = IdxSize> + '_ {
        let last = self.last_row();
        self.rows.iter().copied().filter(move |row| *row != last)
    }
}

/// The occurrences of every id of `calls` whose hash is one of `hashes`.
fn occurrences_of(
    calls: LazyFrame,
    hashes: HashSet<u64>,
) -> PolarsResult<HashMap<String, Occurrences>> {
    let hashed = calls
        .with_row_index(ROW, None)
        .select([col(ROW), col(ID), hash_of_id()]);
    fold_batches(
        hashed,
        false,
        HashMap::new(),
        move |seen: &mut HashMap<String, Occurrences>, batch| {
            let rows = batch.column(ROW)?.idx()?;
            let ids = batch.column(ID)?.str()?;
            let id_hashes = batch.column(ID_HASH)?.u64()?;
            for (index, hash) in id_hashes.into_no_null_iter().enumerate() {
                if !hashes.contains(&hash) {
                    continue;
                }
                let (Some(id), Some(row)) = (ids.get(index), rows.get(index)) else {
                    continue;
                };
                seen.entry(id.to_string()).or_default().rows.push(row);
            }
            Ok(false)
        },
    )
}

/// The XXH3-64 hash of each id's text (a null id hashes as empty text).
fn hash_of_id() -> Expr {
    col(ID)
        .map(
            |column| {
                let ids = column.str()?;
                let hashes: UInt64Chunked = ids
                    .iter()
                    .map(|id| xxh3_64(id.unwrap_or_default().as_bytes()))
                    .collect_ca(ID_HASH.into());
                Ok(hashes.into_column())
            },
            |_, _| Ok(Field::new(ID_HASH.into(), DataType::UInt64)),
        )
        .alias(ID_HASH)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `order` column: where each kept row was.
    fn order(frame: &DataFrame) -> Vec<u32> {
        let order = frame.column("order").unwrap().u32().unwrap();
        order.into_no_null_iter().collect()
    }

    fn calls(ids: &[&str]) -> LazyFrame {
        let order: Vec<u32> = (0..ids.len() as u32).collect();
        df!(ID => ids, "order" => order).unwrap().lazy()
    }

    #[test]
    fn the_last_occurrence_of_each_id_stays_at_its_place() {
        let frame = calls(&["a", "b", "a", "c", "b", "a", "d"]);
        let repeated = repeated_ids(frame.clone(), 0).unwrap();
        assert_eq!((repeated.rows, repeated.duplicates), (7, 3));
        let kept = keep_last_occurrences(frame, repeated).collect().unwrap();
        assert_eq!(order(&kept), vec![3, 4, 5, 6]);
        let ids: Vec<Option<&str>> = kept.column(ID).unwrap().str().unwrap().iter().collect();
        assert_eq!(ids, vec![Some("c"), Some("b"), Some("a"), Some("d")]);
    }

    #[test]
    fn distinct_ids_give_no_duplicates_and_the_frame_unchanged() {
        let frame = calls(&["x", "y", "z"]);
        let repeated = repeated_ids(frame.clone(), 3).unwrap();
        assert_eq!((repeated.rows, repeated.duplicates), (3, 0));
        let kept = keep_last_occurrences(frame, repeated).collect().unwrap();
        assert_eq!(kept.height(), 3);
    }

    #[test]
    fn many_batches_agree_with_counting_by_hand() {
        let ids: Vec<String> = (0..300_000)
            .map(|row| format!("id-{}", (row * 7) % 250_000))
            .collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let frame = calls(&ids);
        let repeated = repeated_ids(frame.clone(), 0).unwrap();
        assert_eq!((repeated.rows, repeated.duplicates), (300_000, 50_000));
        let kept = keep_last_occurrences(frame, repeated).collect().unwrap();
        let mut last = HashMap::new();
        for (row, id) in ids.iter().enumerate() {
            last.insert(*id, row as u32);
        }
        let mut expected: Vec<u32> = last.into_values().collect();
        expected.sort_unstable();
        assert_eq!(order(&kept), expected);
    }

    #[test]
    fn an_empty_frame_has_no_rows() {
        let repeated = repeated_ids(calls(&[]), 0).unwrap();
        assert_eq!((repeated.rows, repeated.duplicates), (0, 0));
    }
}
