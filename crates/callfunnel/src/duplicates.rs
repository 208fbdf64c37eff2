//! Duplicate ids (SPEC §1.2): calls sharing an `id` are one call, the
//! occurrence read last wins, at its place.
//!
//! Finding them holds 8 bytes per call at most, not the ids: a first
//! streaming pass hashes every id (XXH3-64) into one array, sorted
//! afterwards so that equal hashes sit side by side; beyond
//! [`HASHES_IN_MEMORY`] calls the hashes go to [`HASH_BUCKETS`] temporary
//! files by their first bits (equal hashes share a file), each then sorted
//! on its own, so memory does not grow with the input. Only the ids whose
//! hash repeats (the repeated ids, as a rule few, plus any hash collision)
//! are then looked up by their text in a second pass, which gives each
//! repeated id its occurrences, the row of its last one and whether its
//! copies differ (a hash of each copy's values); a third keeps
//! every call but the earlier occurrences, in order: dropped by their row
//! numbers when few (a join on the repeated ids, which the streaming engine
//! buffers, only beyond).

use std::collections::{HashMap, HashSet};
use std::io::{BufWriter, Write};

use polars::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use crate::exprs::fold_batches;
use crate::model::column::ID;
use crate::scratch::{SpillFile, TemporaryWriter};

/// Name of the column of each row's position, while de-duplicating.
const ROW: &str = "__row";
/// Name of the column of the position of an id's last occurrence.
const LAST_ROW: &str = "__last_row";
/// Name of the column of each id's hash.
const ID_HASH: &str = "__id_hash";

/// The ids of a frame that occur more than once.
#[derive(Debug, Clone)]
pub(crate) struct RepeatedIds {
    /// Rows that are an earlier occurrence of a repeated id.
    pub duplicates: u64,
    /// The repeated ids: how many, how many differ between copies, and the
    /// first few.
    pub ids: DuplicateIds,
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

/// The ids that occur more than once (SPEC §8.6: duplicate ids, and how
/// many of them differ between copies).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DuplicateIds {
    /// Ids that occur more than once.
    pub repeated: u64,
    /// Of those, the ids whose copies do not all hold the same values.
    pub differing: u64,
    /// The first [`DUPLICATE_EXAMPLES`] repeated ids, in the order of their
    /// first occurrence, each with its number of copies and whether they differ.
    pub first: Vec<DuplicateId>,
}

/// One repeated id, as [`DuplicateIds::first`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateId {
    /// The id.
    pub id: String,
    /// How many rows carry it.
    pub copies: u64,
    /// Whether its copies do not all hold the same values.
    pub differ: bool,
}

/// Repeated ids listed in [`DuplicateIds::first`].
pub const DUPLICATE_EXAMPLES: usize = 5;

/// Earlier occurrences dropped by their row numbers (a filter); beyond, by
/// a join on the repeated ids.
const FEW_ROWS: usize = 64;

/// The repeated ids of `calls` (of at most `rows_hint` rows, used to size
/// the array of hashes; 0 when unknown).
pub(crate) fn repeated_ids(calls: LazyFrame, rows_hint: u64) -> PolarsResult<RepeatedIds> {
    repeated_ids_within(calls, rows_hint, HASHES_IN_MEMORY)
}

/// [`repeated_ids`], holding at most `hashes_in_memory` hashes at once
/// while reading.
fn repeated_ids_within(
    calls: LazyFrame,
    rows_hint: u64,
    hashes_in_memory: usize,
) -> PolarsResult<RepeatedIds> {
    let hashes = id_hashes(calls.clone(), rows_hint, hashes_in_memory)?;
    let repeated_hashes = hashes.repeated()?;
    let occurrences = if repeated_hashes.is_empty() {
        HashMap::new()
    } else {
        occurrences_of(calls, repeated_hashes)?
    };
    let mut repeated: Vec<(&String, &Occurrences)> = occurrences
        .iter()
        .filter(|(_, seen)| seen.rows.len() > 1)
        .collect();
    repeated.sort_unstable_by_key(|(_, seen)| seen.first_row());
    let ids = duplicate_ids(&repeated);
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
        duplicates,
        ids,
        earlier,
    })
}

/// What [`DuplicateIds`] says of `repeated` (in the order of their first
/// occurrence).
fn duplicate_ids(repeated: &[(&String, &Occurrences)]) -> DuplicateIds {
    DuplicateIds {
        repeated: repeated.len() as u64,
        differing: repeated.iter().filter(|(_, seen)| seen.differ()).count() as u64,
        first: repeated
            .iter()
            .take(DUPLICATE_EXAMPLES)
            .map(|(id, seen)| DuplicateId {
                id: id.to_string(),
                copies: seen.rows.len() as u64,
                differ: seen.differ(),
            })
            .collect(),
    }
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

/// The hash of every id of `calls` (one streaming pass; the hashes are
/// computed on the engine's threads).
fn id_hashes(calls: LazyFrame, rows_hint: u64, hashes_in_memory: usize) -> PolarsResult<IdHashes> {
    let capacity =
        usize::try_from(rows_hint).map_or(hashes_in_memory, |rows| rows.min(hashes_in_memory));
    let hashed = calls.select([hash_of_id()]);
    fold_batches(
        hashed,
        false,
        IdHashes::new(capacity, hashes_in_memory),
        |hashes: &mut IdHashes, batch| {
            for chunk in batch.column(ID_HASH)?.u64()?.downcast_iter() {
                hashes.extend(chunk.values())?;
            }
            Ok(false)
        },
    )
}

/// Hashes held in memory (64 MiB); beyond, in [`HASH_BUCKETS`] files.
const HASHES_IN_MEMORY: usize = 1 << 23;

/// Temporary files the hashes are spread over beyond [`HASHES_IN_MEMORY`],
/// by their first 8 bits: each holds a 256th of the hashes, sorted one file
/// at a time.
const HASH_BUCKETS: usize = 256;

/// Bytes buffered for each bucket file before it is written to.
const BUCKET_BUFFER_BYTES: usize = 64 * 1024;

/// The hashes of the ids read so far, in no particular order: in memory
/// up to a bound, beyond spread over bucket files.
struct IdHashes {
    in_memory: Vec<u64>,
    in_memory_bound: usize,
    buckets: Vec<(SpillFile, BufWriter<TemporaryWriter>)>,
    /// Hashes taken in all.
    rows: u64,
}

impl IdHashes {
    /// No hashes yet, room for `capacity`, at most `in_memory_bound` kept
    /// in memory.
    fn new(capacity: usize, in_memory_bound: usize) -> Self {
        IdHashes {
            in_memory: Vec::with_capacity(capacity),
            in_memory_bound,
            buckets: Vec::new(),
            rows: 0,
        }
    }

    /// Takes `hashes`.
    fn extend(&mut self, hashes: &[u64]) -> std::io::Result<()> {
        self.rows += hashes.len() as u64;
        if self.buckets.is_empty() {
            if self.in_memory.len() + hashes.len() <= self.in_memory_bound {
                self.in_memory.extend_from_slice(hashes);
                return Ok(());
            }
            self.open_buckets()?;
            let held = std::mem::take(&mut self.in_memory);
            self.write_to_buckets(&held)?;
        }
        self.write_to_buckets(hashes)
    }

    /// Creates the bucket files.
    fn open_buckets(&mut self) -> std::io::Result<()> {
        self.buckets = (0..HASH_BUCKETS)
            .map(|_| {
                let (file, handle) = SpillFile::create("hashes")?;
                Ok((file, BufWriter::with_capacity(BUCKET_BUFFER_BYTES, handle)))
            })
            .collect::<std::io::Result<_>>()?;
        Ok(())
    }

    /// Appends each of `hashes` to its bucket's file.
    fn write_to_buckets(&mut self, hashes: &[u64]) -> std::io::Result<()> {
        for hash in hashes {
            let (_, writer) = &mut self.buckets[bucket_of(*hash)];
            writer.write_all(&hash.to_le_bytes())?;
        }
        Ok(())
    }

    /// The hashes taken more than once.
    fn repeated(self) -> std::io::Result<HashSet<u64>> {
        if self.buckets.is_empty() {
            return Ok(repeated_in(self.in_memory));
        }
        let mut repeated = HashSet::new();
        for (file, writer) in self.buckets {
            drop(writer.into_inner().map_err(|error| error.into_error())?);
            let bytes = std::fs::read(file.path())?;
            let hashes = bytes
                .chunks_exact(8)
                .map(|hash| u64::from_le_bytes(hash.try_into().expect("8 bytes")))
                .collect();
            drop(bytes);
            repeated.extend(repeated_in(hashes));
        }
        Ok(repeated)
    }
}

/// The bucket of `hash`: its first 8 bits.
fn bucket_of(hash: u64) -> usize {
    (hash >> 56) as usize
}

/// The values found more than once in `hashes`.
fn repeated_in(mut hashes: Vec<u64>) -> HashSet<u64> {
    hashes.sort_unstable();
    hashes
        .windows(2)
        .filter(|pair| pair[0] == pair[1])
        .map(|pair| pair[0])
        .collect()
}

/// The rows where one id occurs (in no particular order), and a hash of
/// each copy's values.
#[derive(Debug, Clone, Default)]
struct Occurrences {
    rows: Vec<IdxSize>,
    contents: Vec<u64>,
}

impl Occurrences {
    /// The row of the first occurrence.
    fn first_row(&self) -> IdxSize {
        self.rows.iter().copied().min().unwrap_or_default()
    }

    /// The row of the last occurrence.
    fn last_row(&self) -> IdxSize {
        self.rows.iter().copied().max().unwrap_or_default()
    }

    /// The rows of every occurrence but the last.
    fn earlier_rows(&self) -> impl Iterator<Item = IdxSize> + '_ {
        let last = self.last_row();
        self.rows.iter().copied().filter(move |row| *row != last)
    }

    /// Whether the copies do not all hold the same values.
    fn differ(&self) -> bool {
        self.contents.windows(2).any(|pair| pair[0] != pair[1])
    }
}

/// The occurrences of every id of `calls` whose hash is one of `hashes`
/// (every column is read, to compare the copies; the pass runs only when
/// some id hash repeats).
fn occurrences_of(
    calls: LazyFrame,
    hashes: HashSet<u64>,
) -> PolarsResult<HashMap<String, Occurrences>> {
    let hashed = calls.with_row_index(ROW, None).with_column(hash_of_id());
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
                let seen = seen.entry(id.to_string()).or_default();
                seen.rows.push(row);
                seen.contents.push(hash_of_values(&batch, index)?);
            }
            Ok(false)
        },
    )
}

/// The XXH3-64 hash of the values of row `index` of `batch` (the columns
/// added while de-duplicating aside).
fn hash_of_values(batch: &DataFrame, index: usize) -> PolarsResult<u64> {
    let mut values = String::new();
    for column in batch.columns() {
        if [ROW, ID_HASH].contains(&column.name().as_str()) {
            continue;
        }
        values.push_str(&format!("{:?}\u{1f}", column.get(index)?));
    }
    Ok(xxh3_64(values.as_bytes()))
}

/// The hash of an id's text (XXH3-64), by which duplicates are looked for.
pub(crate) fn id_hash(id: &[u8]) -> u64 {
    xxh3_64(id)
}

/// The most ids whose hashes a reader holds to find the repeated ones (8
/// bytes each, 128 MiB): beyond, a file whose ids do not increase is read
/// whole for a window.
const MOST_IDS_HASHED: usize = 1 << 24;

/// The hashes of every id of an input, gathered as it is read, so that the
/// repeated ones can be found at its end; given up beyond
/// [`MOST_IDS_HASHED`] ids (or when the reader cannot hash one as the
/// duplicate finder will see it).
#[derive(Debug)]
pub(crate) struct EveryIdHash(Option<Vec<u64>>);

impl Default for EveryIdHash {
    fn default() -> Self {
        EveryIdHash(Some(Vec::new()))
    }
}

impl EveryIdHash {
    /// Whether every id read so far was hashed.
    pub fn is_whole(&self) -> bool {
        self.0.is_some()
    }

    /// Adds the hashes of the next ids read.
    pub fn add(&mut self, hashes: &[u64]) {
        if let Some(all) = &mut self.0 {
            if all.len() + hashes.len() > MOST_IDS_HASHED {
                self.0 = None;
            } else {
                all.extend_from_slice(hashes);
            }
        }
    }

    /// Gives up: not every id will be hashed.
    pub fn give_up(&mut self) {
        self.0 = None;
    }

    /// The hashes that repeat, when every id was hashed.
    pub fn repeated(self) -> Option<RepeatedIdHashes> {
        self.0.map(RepeatedIdHashes::among)
    }
}

/// The hashes of ids ([`id_hash`]) that occur more than once in an input:
/// every id that repeats has its hash here (with, rarely, an id whose hash
/// another id shares). A reader that leaves calls out before de-duplicating
/// keeps every call whose id's hash is here, so that each occurrence of a
/// repeated id reaches the duplicate finder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RepeatedIdHashes(HashSet<u64>);

impl RepeatedIdHashes {
    /// The hashes that occur more than once among `hashes` (the hashes of
    /// every id of an input), found by sorting them, half on each of two
    /// threads.
    pub fn among(mut hashes: Vec<u64>) -> Self {
        let half = hashes.len() / 2;
        let (first, second) = hashes.split_at_mut(half);
        std::thread::scope(|scope| {
            scope.spawn(|| first.sort_unstable());
            second.sort_unstable();
        });
        let (first, second) = hashes.split_at(half);
        let mut repeated = HashSet::new();
        let mut previous = None;
        let (mut a, mut b) = (first.iter().peekable(), second.iter().peekable());
        // The two sorted halves merged: a hash equal to the one before repeats.
        while let Some(hash) = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x <= y => a.next(),
            (Some(_), Some(_)) | (None, Some(_)) => b.next(),
            (Some(_), None) => a.next(),
            (None, None) => None,
        } {
            if previous == Some(hash) {
                repeated.insert(*hash);
            }
            previous = Some(hash);
        }
        RepeatedIdHashes(repeated)
    }

    /// Whether no id repeats.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the id `id` may repeat (its hash is one of these).
    pub fn may_repeat(&self, id: &[u8]) -> bool {
        !self.0.is_empty() && self.0.contains(&id_hash(id))
    }
}

/// The [`id_hash`] of each of `ids` (a null id hashes as empty text).
pub(crate) fn id_hashes_of(ids: &StringChunked) -> impl Iterator<Item = u64> + '_ {
    ids.iter()
        .map(|id| id_hash(id.unwrap_or_default().as_bytes()))
}

/// The XXH3-64 hash of each id's text (a null id hashes as empty text).
fn hash_of_id() -> Expr {
    col(ID)
        .map(
            |column| {
                let hashes: UInt64Chunked = id_hashes_of(column.str()?).collect_ca(ID_HASH.into());
                Ok(hashes.into_column())
            },
            |_, _| Ok(Field::new(ID_HASH.into(), DataType::UInt64)),
        )
        .alias(ID_HASH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_id_hashes_are_those_met_more_than_once() {
        let ids = ["c", "a", "b", "a", "d", "c", "c", "e"];
        let hashes = ids.iter().map(|id| id_hash(id.as_bytes())).collect();
        let repeated = RepeatedIdHashes::among(hashes);
        let may_repeat: Vec<&str> = ["a", "b", "c", "d", "e", "f"]
            .into_iter()
            .filter(|id| repeated.may_repeat(id.as_bytes()))
            .collect();
        assert_eq!(may_repeat, ["a", "c"]);
        assert!(RepeatedIdHashes::among(vec![7, 3, 5]).is_empty());
        assert!(RepeatedIdHashes::among(Vec::new()).is_empty());
        // Equal hashes in the same half and across the halves.
        assert!(!RepeatedIdHashes::among(vec![1, 1, 2, 3]).is_empty());
        assert!(!RepeatedIdHashes::among(vec![1, 2, 3, 1]).is_empty());
    }

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
        assert_eq!(repeated.duplicates, 3);
        let kept = keep_last_occurrences(frame, repeated).collect().unwrap();
        assert_eq!(order(&kept), vec![3, 4, 5, 6]);
        let ids: Vec<Option<&str>> = kept.column(ID).unwrap().str().unwrap().iter().collect();
        assert_eq!(ids, vec![Some("c"), Some("b"), Some("a"), Some("d")]);
    }

    #[test]
    fn distinct_ids_give_no_duplicates_and_the_frame_unchanged() {
        let frame = calls(&["x", "y", "z"]);
        let repeated = repeated_ids(frame.clone(), 3).unwrap();
        assert_eq!(repeated.duplicates, 0);
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
        assert_eq!(repeated.duplicates, 50_000);
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
    fn hashes_beyond_the_memory_bound_find_the_same_repeats_from_bucket_files() {
        let ids: Vec<String> = (0..200_000)
            .map(|row| format!("id-{}", (row * 13) % 150_000))
            .collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let frame = calls(&ids);
        let in_memory = repeated_ids(frame.clone(), 0).unwrap();
        let bucketed = repeated_ids_within(frame.clone(), 0, 1_000).unwrap();
        assert_eq!(bucketed.duplicates, 50_000);
        assert_eq!(in_memory.duplicates, 50_000);
        let kept = keep_last_occurrences(frame.clone(), bucketed)
            .collect()
            .unwrap();
        let expected = keep_last_occurrences(frame, in_memory).collect().unwrap();
        assert_eq!(order(&kept), order(&expected));
    }

    #[test]
    fn bucket_files_are_removed_once_read() {
        let mut hashes = IdHashes::new(0, 2);
        hashes.extend(&[1, 2]).unwrap();
        hashes.extend(&[u64::MAX, 2, 7 << 56]).unwrap();
        let paths: Vec<std::path::PathBuf> = hashes
            .buckets
            .iter()
            .map(|(file, _)| file.path().to_path_buf())
            .collect();
        assert_eq!(paths.len(), HASH_BUCKETS);
        assert_eq!(hashes.rows, 5);
        assert_eq!(hashes.repeated().unwrap(), HashSet::from([2]));
        assert!(paths.iter().all(|path| !path.exists()));
    }

    #[test]
    fn repeated_ids_say_how_many_copies_differ_in_the_order_first_seen() {
        let frame = df!(
            ID => ["b", "a", "b", "c", "a", "b"],
            "value" => [1, 2, 1, 3, 5, 1],
        )
        .unwrap()
        .lazy();
        let repeated = repeated_ids(frame, 0).unwrap();
        assert_eq!(repeated.duplicates, 3);
        let copies = |id: &str, copies, differ| DuplicateId {
            id: id.into(),
            copies,
            differ,
        };
        assert_eq!(
            repeated.ids,
            DuplicateIds {
                repeated: 2,
                differing: 1,
                first: vec![copies("b", 3, false), copies("a", 2, true)],
            }
        );
    }

    #[test]
    fn an_empty_frame_has_no_rows() {
        let repeated = repeated_ids(calls(&[]), 0).unwrap();
        assert_eq!(repeated.duplicates, 0);
    }
}
