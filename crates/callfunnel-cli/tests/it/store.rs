//! The canonical Parquet store (`callfunnel::store`) written from
//! generated calls and read back through ingest.

use std::fs::File;
use std::path::Path;

use callfunnel::ingest::{load, load_str, Format, IngestOptions};
use callfunnel::model::{canonical_schema, column};
use callfunnel::store::folder;
use callfunnel::store::*;
use callfunnel_cli::generate::{generate_frame, GenerateOptions};
use polars::prelude::*;

use crate::harness::{callfunnel, sample_path, temporary_folder};

/// Some generated calls.
fn calls(rows: u64) -> DataFrame {
    generate_frame(&GenerateOptions {
        rows,
        seed: 4,
        ..GenerateOptions::default()
    })
    .unwrap()
}

/// The calls of a Parquet file, read back through ingest.
fn reload(path: &Path) -> DataFrame {
    let loaded = load(&[path.to_path_buf()], &IngestOptions::default()).unwrap();
    loaded.frame.collect().unwrap()
}

/// `frame` sorted by date, ties in their order.
fn by_date(frame: DataFrame) -> DataFrame {
    frame
        .lazy()
        .sort(
            [column::DATE],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .collect()
        .unwrap()
}

#[test]
fn the_store_holds_the_same_calls_sorted_by_date() {
    let dir = temporary_folder();
    let path = dir.path().join("calls.parquet");
    let expected = calls(5_000);
    assert_eq!(
        write_parquet(expected.clone().lazy(), &path).unwrap(),
        5_000
    );
    let stored = reload(&path);
    assert_eq!(**stored.schema(), canonical_schema());
    assert!(stored.equals_missing(&by_date(expected)));
    let dates = stored.column(column::DATE).unwrap().datetime().unwrap();
    let dates: Vec<i64> = dates.phys.into_no_null_iter().collect();
    assert!(dates.windows(2).all(|pair| pair[0] <= pair[1]));
    // The calls span several months (each spilled to its own temporary
    // file while writing); nothing but the store is left in the folder.
    let first_month = dates[0] / 1_000_000 / 86_400 / 31;
    let last_month = dates[dates.len() - 1] / 1_000_000 / 86_400 / 31;
    assert!(last_month > first_month + 1, "{first_month}..{last_month}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(left, ["calls.parquet"]);
}

#[test]
fn columns_come_out_in_canonical_order_whatever_the_input_order() {
    let dir = temporary_folder();
    let path = dir.path().join("calls.parquet");
    let expected = calls(100);
    let reversed: Vec<Expr> = column::ALL.iter().rev().map(|name| col(*name)).collect();
    write_parquet(expected.clone().lazy().select(reversed), &path).unwrap();
    let file = File::open(&path).unwrap();
    let raw = ParquetReader::new(file).finish().unwrap();
    let names: Vec<&str> = raw
        .get_column_names()
        .iter()
        .map(|name| name.as_str())
        .collect();
    assert_eq!(names, column::ALL);
    assert_eq!(**raw.schema(), canonical_schema());
}

#[test]
fn ingested_duplicates_are_collapsed_before_writing() {
    let dir = temporary_folder();
    let path = dir.path().join("calls.parquet");
    let csv = "id,date,result,duration,tags\n\
               cll-2,2024-03-05T10:00:00Z,answered,80,Demo_Booked\n\
               cll-1,2024-03-04T09:00:00Z,busy,0,\n\
               cll-2,2024-03-05T11:00:00Z,answered,95,\n";
    let ingested = load_str(csv, Format::Csv, "calls.csv", &IngestOptions::default()).unwrap();
    assert_eq!(write_parquet(ingested.frame, &path).unwrap(), 2);
    let stored = reload(&path);
    let ids: Vec<_> = stored
        .column(column::ID)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(ids, [Some("cll-1"), Some("cll-2")]);
    let durations = stored.column(column::DURATION).unwrap().i64().unwrap();
    assert_eq!(durations.get(1), Some(95));
}

#[test]
fn a_store_can_be_rewritten_from_itself() {
    let dir = temporary_folder();
    let path = dir.path().join("calls.parquet");
    let expected = by_date(calls(2_000));
    write_parquet(expected.clone().lazy(), &path).unwrap();
    let loaded = load(std::slice::from_ref(&path), &IngestOptions::default()).unwrap();
    assert_eq!(write_parquet(loaded.frame, &path).unwrap(), 2_000);
    assert!(reload(&path).equals_missing(&expected));
    let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, 1, "temporary files were left behind");
}

#[test]
fn a_marked_store_reads_back_like_the_same_file_checked_row_by_row() {
    let dir = temporary_folder();
    let store = dir.path().join("store.parquet");
    let plain = dir.path().join("plain.parquet");
    let expected = by_date(calls(3_000));
    write_parquet(expected.clone().lazy(), &store).unwrap();
    let mut unmarked = expected.clone();
    ParquetWriter::new(File::create(&plain).unwrap())
        .finish(&mut unmarked)
        .unwrap();
    let metadata = |path: &Path| {
        let mut reader = ParquetReader::new(File::open(path).unwrap());
        reader.get_metadata().unwrap().key_value_metadata().clone()
    };
    let marker = metadata(&store).unwrap_or_default();
    assert!(marker.iter().any(|entry| entry.key == STORE_MARKER_KEY
        && entry.value.as_deref() == Some(STORE_MARKER_VERSION)));
    assert!(metadata(&plain)
        .unwrap_or_default()
        .iter()
        .all(|entry| entry.key != STORE_MARKER_KEY));
    let loaded = load(&[store, plain.clone()], &IngestOptions::default()).unwrap();
    assert_eq!(loaded.report.rows_read, 6_000);
    assert_eq!(loaded.report.duplicates, 3_000);
    assert!(reload(&plain).equals_missing(&expected));
    let store_only = load(
        &[dir.path().join("store.parquet")],
        &IngestOptions::default(),
    )
    .unwrap();
    assert_eq!(store_only.report.calls, 3_000);
    assert!(store_only
        .frame
        .collect()
        .unwrap()
        .equals_missing(&expected));
}

#[test]
fn calls_that_are_not_canonical_get_no_store() {
    let dir = temporary_folder();
    let path = dir.path().join("calls.parquet");
    let canonical = calls(50);
    let twice = concat(
        [canonical.clone().lazy(), canonical.clone().lazy()],
        UnionArgs::default(),
    )
    .unwrap();
    let lower_case = canonical
        .clone()
        .lazy()
        .with_column(col(column::RESULT).str().to_lowercase());
    let negative = canonical
        .lazy()
        .with_column(lit(-1i64).alias(column::DURATION));
    for (frame, expected) in [
        (twice, "50 duplicate ids"),
        (lower_case, "column `result`: unknown result"),
        (negative, "column `duration`: negative duration"),
    ] {
        let error = write_parquet(frame, &path).unwrap_err();
        assert!(matches!(error, WriteError::NotCanonical(_)), "{error}");
        assert!(error.to_string().ends_with(expected), "{error}");
        assert!(!path.exists());
    }
}

#[test]
fn a_failed_write_leaves_nothing_behind() {
    let dir = temporary_folder();
    let path = dir.path().join("missing").join("calls.parquet");
    let error = write_parquet(calls(10).lazy(), &path).unwrap_err();
    assert!(matches!(error, WriteError::Io { .. }), "{error}");
    assert!(error.to_string().contains("calls.parquet"));
    assert!(std::error::Error::source(&error).is_some());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_frame_that_is_not_canonical_is_refused() {
    let dir = temporary_folder();
    let path = dir.path().join("calls.parquet");
    let frame = df!("id" => ["cll-1"]).unwrap().lazy();
    let error = write_parquet(frame, &path).unwrap_err();
    assert!(matches!(error, WriteError::Frame(_)), "{error}");
    assert!(!path.exists());
}

/// The month files of a folder store, by name.
fn month_files(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_folder_store_holds_one_file_per_month_and_reads_back_as_one_store() {
    let dir = temporary_folder();
    let folder = dir.path().join("store");
    let expected = by_date(calls(5_000));
    assert_eq!(
        folder::write_folder(
            expected.clone().lazy(),
            &StoreLock::acquire(&folder).unwrap()
        )
        .unwrap(),
        5_000
    );
    let expected_months: Vec<String> = (1..=12).map(|m| format!("2024-{m:02}.parquet")).collect();
    assert_eq!(month_files(&folder), expected_months);
    {
        // The load's links to the months are removed at the end of the block.
        let loaded = load(std::slice::from_ref(&folder), &IngestOptions::default()).unwrap();
        assert_eq!(
            (
                loaded.report.files.len(),
                loaded.report.calls,
                loaded.report.duplicates
            ),
            (12, 5_000, 0)
        );
        assert!(loaded.frame.collect().unwrap().equals_missing(&expected));
    }
    // Written again, the folder is replaced whole; nothing is left beside it.
    folder::write_folder(
        by_date(calls(100)).lazy(),
        &StoreLock::acquire(&folder).unwrap(),
    )
    .unwrap();
    assert_eq!(reload(&folder).height(), 100);
    assert_eq!(month_files(dir.path()), ["store"]);
}

#[test]
fn append_adds_new_calls_replaces_same_ids_and_rewrites_only_changed_months() {
    let dir = temporary_folder();
    let folder = dir.path().join("store");
    let all = by_date(calls(4_000));
    let (first, later) = (all.slice(0, 3_000), all.slice(3_000, 1_000));
    folder::write_folder(first.clone().lazy(), &StoreLock::acquire(&folder).unwrap()).unwrap();
    let before: Vec<_> = month_files(&folder)
        .iter()
        .map(|name| {
            std::fs::metadata(folder.join(name))
                .unwrap()
                .modified()
                .unwrap()
        })
        .collect();

    // The export: the 1,000 later calls, and the first stored call again with
    // a new duration (it replaces the stored one, in January).
    let mut again = first.slice(0, 1);
    again
        .with_column(Column::new(column::DURATION.into(), [4_242i64]))
        .unwrap();
    let export = concat(
        [later.clone().lazy(), again.clone().lazy()],
        UnionArgs::default(),
    )
    .unwrap();
    let appended = folder::append(export, &StoreLock::acquire(&folder).unwrap()).unwrap();
    assert_eq!(
        (appended.added, appended.replaced, appended.calls),
        (1_000, 1, 4_000)
    );

    // Months the export does not touch keep their files as they were.
    let last_first_month = first
        .column(column::DATE)
        .unwrap()
        .datetime()
        .unwrap()
        .phys
        .get(2_999)
        .unwrap();
    let first_later_month = later
        .column(column::DATE)
        .unwrap()
        .datetime()
        .unwrap()
        .phys
        .get(0)
        .unwrap();
    assert!(last_first_month <= first_later_month);
    let untouched = month_files(&folder)
        .iter()
        .zip(&before)
        .skip(1)
        .filter(|(name, modified)| {
            std::fs::metadata(folder.join(name))
                .unwrap()
                .modified()
                .unwrap()
                == **modified
        })
        .count();
    assert_eq!(
        appended.months_written,
        month_files(&folder).len() - untouched
    );
    assert!(untouched >= 1, "some months were left as they were");

    // The store holds what one store of every call, the export last, holds.
    let expected = load(std::slice::from_ref(&folder), &IngestOptions::default()).unwrap();
    assert_eq!(expected.report.calls, 4_000);
    let stored = expected.frame.collect().unwrap();
    let mut wanted = all.clone();
    wanted
        .with_column(Column::new(
            column::DURATION.into(),
            all.column(column::DURATION)
                .unwrap()
                .i64()
                .unwrap()
                .iter()
                .enumerate()
                .map(|(row, duration)| if row == 0 { Some(4_242) } else { duration })
                .collect::<Int64Chunked>()
                .into_series(),
        ))
        .unwrap();
    assert!(by_date(stored).equals_missing(&by_date(wanted)));
}

#[test]
fn append_refuses_to_rewrite_a_damaged_month() {
    let dir = temporary_folder();
    let folder = dir.path().join("store");
    let all = by_date(calls(2_000));
    folder::write_folder(all.clone().lazy(), &StoreLock::acquire(&folder).unwrap()).unwrap();
    // The first month's file changed on disk (one bit of a data page).
    let first_month = folder.join(&month_files(&folder)[0]);
    let mut bytes = std::fs::read(&first_month).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x04;
    std::fs::write(&first_month, &bytes).unwrap();
    // An export replacing a call of that month would rewrite it, sealing the
    // damage under a new checksum: refused, the file left as it is.
    let mut again = all.slice(0, 1);
    again
        .with_column(Column::new(column::DURATION.into(), [7i64]))
        .unwrap();
    let error = folder::append(again.lazy(), &StoreLock::acquire(&folder).unwrap()).unwrap_err();
    assert!(matches!(error, WriteError::Damaged { .. }), "{error}");
    assert!(
        error.to_string().starts_with(&format!(
            "{}: damaged store: its bytes are not those `convert` wrote",
            first_month.display()
        )),
        "{error}"
    );
    assert_eq!(std::fs::read(&first_month).unwrap(), bytes);
}

#[test]
fn convert_cli_writes_a_folder_store_and_appends_to_it() {
    let dir = temporary_folder();
    let folder = dir.path().join("store");
    let sample = sample_path("calls.csv");
    let run = |extra: &[&str]| {
        callfunnel()
            .args(["convert", "--input"])
            .arg(&sample)
            .arg("--out")
            .arg(&folder)
            .args(extra)
            .assert()
            .success()
    };
    run(&[]);
    let once = reload(&folder);
    let appended = run(&["--append"]);
    let stderr = String::from_utf8_lossy(&appended.get_output().stderr).into_owned();
    assert!(
        stderr.contains(&format!("added 0 calls and replaced {}", once.height())),
        "{stderr}"
    );
    assert!(reload(&folder).equals_missing(&once));
}
