//! What makes a Parquet file a store file: the key-value metadata entries
//! its writer sets (the marker and its version, the folder store it is a
//! month of, the checksum), its row groups, and reading them back.

use std::fs::File;
use std::path::Path;

use polars::io::parquet::metadata::FileMetadata;
use polars::prelude::*;

use super::checksum::{self, Mismatch};
use super::STORE_CHECKSUM_KEY;
use crate::model::column;

/// Rows per row group of the store.
pub const ROW_GROUP_ROWS: usize = 64 * 1024;

/// Key of the Parquet key-value metadata entry that marks a canonical store.
///
/// Only [`super::write_parquet`] writes it, after checking that every row is
/// canonical (ids present and unique, dates present, enum values in API case,
/// no negative durations or ringing times). Ingest trusts a file that carries
/// it with the canonical schema: it skips the row checks and the duplicate
/// count, so a query reads only the row groups and columns it needs.
pub const STORE_MARKER_KEY: &str = "callfunnel.store";

/// Value of [`STORE_MARKER_KEY`]: the version of the store's layout. A
/// store of this version carries its checksum ([`STORE_CHECKSUM_KEY`]),
/// checked before it is read.
pub const STORE_MARKER_VERSION: &str = "2";

/// The earlier version of [`STORE_MARKER_KEY`], still read: a store without
/// a checksum, whose values are checked as they are read.
pub const STORE_MARKER_VERSION_UNSUMMED: &str = "1";

/// Key of the Parquet key-value metadata entry that names the folder store a
/// month file belongs to (see [`super::folder`]): every file of one folder store
/// carries the same value, and no call is in two of them, so a reader of
/// the whole folder trusts its ids to be unique.
pub const STORE_FOLDER_KEY: &str = "callfunnel.store.folder";

/// What a Parquet file's metadata says of it as a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreMetadata {
    /// Its number of rows.
    pub rows: u64,
    /// Whether it carries the store marker of a version read.
    pub marked: bool,
    /// The checksum it carries (see [`STORE_CHECKSUM_KEY`]): `Some` for
    /// every store of [`STORE_MARKER_VERSION`] (empty when the entry is
    /// missing, which no file passes), `None` for the unsummed version.
    pub checksum: Option<String>,
    /// The folder store it is a month of, if any.
    pub folder: Option<String>,
    /// The latest date of its calls (microseconds since the epoch, UTC),
    /// from its row groups' statistics; `None` when one has none.
    pub latest_date: Option<i64>,
}

/// Reads the metadata of the Parquet file at `path` (its footer only).
pub(crate) fn store_metadata(path: &Path) -> PolarsResult<StoreMetadata> {
    let mut reader = ParquetReader::new(File::open(path)?);
    let metadata = reader.get_metadata()?;
    let value = |key: &str| {
        metadata
            .key_value_metadata()
            .iter()
            .flatten()
            .find(|entry| entry.key == key)
            .and_then(|entry| entry.value.clone())
    };
    let version = value(STORE_MARKER_KEY);
    let summed = version.as_deref() == Some(STORE_MARKER_VERSION);
    let unsummed = version.as_deref() == Some(STORE_MARKER_VERSION_UNSUMMED);
    Ok(StoreMetadata {
        rows: metadata.num_rows as u64,
        marked: summed || unsummed,
        checksum: summed.then(|| value(STORE_CHECKSUM_KEY).unwrap_or_default()),
        folder: value(STORE_FOLDER_KEY),
        latest_date: latest_date(metadata),
    })
}

/// The latest date in a Parquet file of canonical calls, from the maximum
/// its row groups' statistics give (no data is read); `None` when a row
/// group has no statistics for the date.
fn latest_date(metadata: &FileMetadata) -> Option<i64> {
    let mut latest = None;
    for group in &metadata.row_groups {
        let chunk = group.columns_under_root_iter(column::DATE)?.next()?;
        let statistics = chunk.statistics(&metadata.footer_buf)?.ok()?;
        latest = latest.max(Some(statistics.as_int64()?.max_value?));
    }
    latest
}

/// Checks a store file against its checksum: `Ok(Ok(()))` when its bytes
/// are those `convert` wrote (or it carries no checksum).
pub(crate) fn check_checksum(
    path: &Path,
    metadata: &StoreMetadata,
) -> std::io::Result<Result<(), Mismatch>> {
    match &metadata.checksum {
        Some(expected) => checksum::check(path, expected),
        None => Ok(Ok(())),
    }
}
