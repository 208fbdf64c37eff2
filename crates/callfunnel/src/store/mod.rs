//! The canonical Parquet store, its format end to end: the metadata its
//! files carry (the marker, the folder, the checksum), the rules its calls
//! keep, the lock a writer holds ([`StoreLock`]), the writer (`callfunnel convert`: one file, or a folder of month
//! files, see [`folder`]) and the checks of a store read back.
//!
//! Calls read once through [`crate::ingest`] (so de-duplication and
//! validation are the same as for `metrics`) are written back as Parquet with
//! the canonical schema and column order, sorted by `date`: each row group
//! then covers a short span of time, and its statistics let a scan for a
//! period skip the others. Reading the store back is the fastest input of
//! every command.
//!
//! ```
//! use callfunnel::model::{calls_to_frame, Call};
//! use callfunnel::store::write_parquet;
//! use chrono::{TimeZone, Utc};
//! use polars::prelude::IntoLazy;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("calls.parquet");
//! let call = Call::new("cll-1", Utc.with_ymd_and_hms(2024, 3, 4, 9, 30, 0).unwrap());
//! let rows = write_parquet(calls_to_frame([call]).unwrap().lazy(), &path).unwrap();
//! assert_eq!(rows, 1);
//! ```

mod checksum;
pub mod folder;
mod format;
mod journal;
mod lock;
mod months;
mod read;
mod rules;
mod snapshot;
mod write;

pub use checksum::STORE_CHECKSUM_KEY;
pub use format::{
    ROW_GROUP_ROWS, STORE_FOLDER_KEY, STORE_MARKER_KEY, STORE_MARKER_VERSION,
    STORE_MARKER_VERSION_UNSUMMED,
};
pub(crate) use journal::{files_to_read, is_append_file};
pub use lock::{LockHolder, Recovery, StoreLock};
pub(crate) use read::{scan_store, ReadError};
pub(crate) use snapshot::{view, Snapshot};
pub use write::{write_parquet, WriteError};
