//! Realistic synthetic calls, for benchmarks and demos (`callfunnel generate`).
//!
//! The calls have the canonical shape of [`callfunnel::model`] and look like a
//! sales team's activity:
//! - up to 1,000 reps (one per 40,000 calls, at least 5) in teams in Paris,
//!   New York and Tokyo, some with non-ASCII names, each with a skill that
//!   moves their connect rate, their share of long calls and their
//!   conversions, and an activity level;
//! - calls in the rep's local working hours (peaks mid-morning and
//!   mid-afternoon), on working days (few weekend calls, quieter holidays);
//! - about 30 % `ANSWERED`, 3 % `TRANSFERRED`, 15 % `VOICEMAIL`, then
//!   `NO_ANSWER`, `BUSY`, `FAILED`, `CANCELED` and some unknown results;
//! - talk times mixing short hang-ups, a lump around one minute and a long
//!   tail; no talk time when not connected (a voicemail may have a short one);
//! - ringing times, mostly known, with decimals;
//! - tags (`demo_booked`, `qualified`, `follow_up`, `not_interested`), the
//!   conversions mostly on long connected calls of skilled reps;
//! - about 2 % `INBOUND` calls and 1 % `SMS`; ids `cll-0000000001`, ….
//!
//! Rows are made in chunks of [`CHUNK_ROWS`], each from its own random
//! stream seeded by the seed and the chunk's index: chunks are generated in
//! parallel, and the calls depend on the options only, never on the number
//! of threads.
//!
//! The parts: `zones` (where and when the teams work), `world` (the reps,
//! numbers and calendar the options fix), `calls` (each call's draws, chunk
//! by chunk) and `encoders` (a chunk as a frame, CSV or NDJSON); this file
//! holds the options and writes the output files.
//!
//! ```
//! use callfunnel_cli::generate::{generate_frame, GenerateOptions};
//!
//! let options = GenerateOptions { rows: 1_000, seed: 7, ..GenerateOptions::default() };
//! let calls = generate_frame(&options).unwrap();
//! assert_eq!(calls.height(), 1_000);
//! assert_eq!(calls, generate_frame(&options).unwrap());
//! ```

mod calls;
mod encoders;
mod world;
mod zones;

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use polars::prelude::*;
use rayon::prelude::*;

use callfunnel::model::column;
use callfunnel::scratch::write_replacing;
use callfunnel::store::{write_parquet, WriteError};

use world::World;

/// Calls per chunk: the unit of parallel work, of random streams and of
/// Parquet row groups.
pub const CHUNK_ROWS: u64 = 1 << 18;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateOptions {
    /// Number of calls.
    pub rows: u64,
    /// Seed of the random streams: the same options give the same calls.
    pub seed: u64,
    /// First local calendar day of the calls.
    pub from: NaiveDate,
    /// Last local calendar day of the calls (inclusive).
    pub to: NaiveDate,
}

impl Default for GenerateOptions {
    /// 10,000 calls over 2024, seed 1.
    fn default() -> Self {
        GenerateOptions {
            rows: 10_000,
            seed: 1,
            from: NaiveDate::from_ymd_opt(2024, 1, 1).expect("valid date"),
            to: NaiveDate::from_ymd_opt(2024, 12, 31).expect("valid date"),
        }
    }
}

impl GenerateOptions {
    /// Number of chunks of [`CHUNK_ROWS`] calls (the last one may be shorter).
    pub fn chunk_count(&self) -> u64 {
        self.rows.div_ceil(CHUNK_ROWS)
    }
}

/// The file formats `generate` writes, chosen by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// CSV with the canonical header, tags `;`-joined (`.csv`).
    Csv,
    /// One flat JSON record per line, tags as an array (`.ndjson`, `.jsonl`).
    Ndjson,
    /// Parquet with the canonical schema (`.parquet`).
    Parquet,
}

impl OutputFormat {
    /// The format of `path`, by its extension (case-insensitive), if supported.
    pub fn from_path(path: &Path) -> Option<OutputFormat> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "csv" => Some(OutputFormat::Csv),
            "ndjson" | "jsonl" => Some(OutputFormat::Ndjson),
            "parquet" => Some(OutputFormat::Parquet),
            _ => None,
        }
    }
}

/// Why calls could not be generated or written.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// `from` is after `to`, or a date is too far out to be written.
    #[error("bad date range {from}..{to}: `from` must not be after `to`, both within years 0001 to 9998")]
    DateRange {
        /// First day asked for.
        from: NaiveDate,
        /// Last day asked for.
        to: NaiveDate,
    },
    /// The output's extension names no supported format.
    #[error("cannot tell the format of {}: use .csv, .ndjson, .jsonl or .parquet", path.display())]
    UnknownFormat {
        /// The output path.
        path: PathBuf,
    },
    /// Writing the output failed.
    #[error("writing {}", path.display())]
    Io {
        /// The output path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Encoding the Parquet output failed.
    #[error("writing {}", path.display())]
    Parquet {
        /// The output path.
        path: PathBuf,
        /// The Polars error.
        #[source]
        source: PolarsError,
    },
    /// Writing the Parquet store failed.
    #[error(transparent)]
    Store(#[from] WriteError),
    /// Building a frame in memory failed.
    #[error("building the call frame")]
    Frame(#[source] PolarsError),
}

/// The calls of chunk `chunk_index` (rows `chunk_index * CHUNK_ROWS` onwards)
/// as a canonical frame; empty past the last chunk.
pub fn generate_chunk(
    options: &GenerateOptions,
    chunk_index: u64,
) -> Result<DataFrame, GenerateError> {
    let world = World::new(options)?;
    world
        .frame(&world.chunk(chunk_index))
        .map_err(GenerateError::Frame)
}

/// All the calls as one canonical frame (chunks generated in parallel).
pub fn generate_frame(options: &GenerateOptions) -> Result<DataFrame, GenerateError> {
    let world = World::new(options)?;
    let frames = (0..options.chunk_count())
        .into_par_iter()
        .map(|index| world.frame(&world.chunk(index)))
        .collect::<PolarsResult<Vec<DataFrame>>>()
        .map_err(GenerateError::Frame)?;
    let mut frames = frames.into_iter();
    let Some(mut frame) = frames.next() else {
        return world.frame(&world.chunk(0)).map_err(GenerateError::Frame);
    };
    for more in frames {
        frame.vstack_mut_owned(more).map_err(GenerateError::Frame)?;
    }
    frame.rechunk_mut();
    Ok(frame)
}

/// Writes the calls to `path` in the format of its extension (see
/// [`OutputFormat`]) and returns how many were written.
///
/// Chunks are generated in parallel and written in order, a few at a time,
/// so memory stays bounded; `progress` is called with the number of calls
/// written so far after each chunk. The file appears only when complete: it
/// is written under a temporary name and renamed.
pub fn write_generated(
    options: &GenerateOptions,
    path: &Path,
    progress: &dyn Fn(u64),
) -> Result<u64, GenerateError> {
    let format = OutputFormat::from_path(path).ok_or_else(|| GenerateError::UnknownFormat {
        path: path.to_path_buf(),
    })?;
    let world = World::new(options)?;
    let io_error = |source| GenerateError::Io {
        path: path.to_path_buf(),
        source,
    };
    let chunks = options.chunk_count();
    if format == OutputFormat::Parquet {
        return write_store(&world, chunks, path, progress);
    }
    let mut written = 0u64;
    write_replacing(path, io_error, |out| {
        if format == OutputFormat::Csv {
            out.write_all(column::ALL.join(",").as_bytes())
                .and_then(|()| out.write_all(b"\n"))
                .map_err(io_error)?;
        }
        in_order(
            chunks,
            |index| {
                let chunk = world.chunk(index);
                let text = match format {
                    OutputFormat::Csv => world.csv(&chunk),
                    _ => world.ndjson(&chunk),
                };
                Ok((chunk.rows.len() as u64, text))
            },
            |(rows, text)| {
                out.write_all(&text).map_err(io_error)?;
                written += rows;
                progress(written);
                Ok::<(), GenerateError>(())
            },
        )?;
        Ok(written)
    })
}

/// Generates every chunk (reporting progress) and writes the calls as the
/// canonical store: sorted by date, so a period query skips row groups.
fn write_store(
    world: &World,
    chunks: u64,
    path: &Path,
    progress: &dyn Fn(u64),
) -> Result<u64, GenerateError> {
    let polars_error = |source| GenerateError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let mut calls: Option<DataFrame> = None;
    in_order(
        chunks,
        |index| world.frame(&world.chunk(index)).map_err(polars_error),
        |frame| {
            let written = match calls.as_mut() {
                Some(calls) => calls.vstack_mut_owned(frame).map_err(polars_error)?,
                None => calls.insert(frame),
            };
            progress(written.height() as u64);
            Ok::<(), GenerateError>(())
        },
    )?;
    let calls = match calls {
        Some(calls) => calls,
        None => world.frame(&world.chunk(0)).map_err(polars_error)?,
    };
    write_parquet(calls.lazy(), path).map_err(GenerateError::Store)
}

/// Makes items `0..count` in parallel, a window at a time, and hands them to
/// `consume` in order, on the calling thread, while the next window is made.
fn in_order<T: Send, E: Send>(
    count: u64,
    make: impl Fn(u64) -> Result<T, E> + Sync,
    mut consume: impl FnMut(T) -> Result<(), E>,
) -> Result<(), E> {
    let window = rayon::current_num_threads().max(1) as u64;
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Result<T, E>>(window as usize);
    std::thread::scope(|scope| {
        let make = &make;
        scope.spawn(move || {
            let mut start = 0;
            while start < count {
                let end = (start + window).min(count);
                let items: Vec<Result<T, E>> = (start..end).into_par_iter().map(make).collect();
                for item in items {
                    if sender.send(item).is_err() {
                        // The consumer stopped on an error.
                        return;
                    }
                }
                start = end;
            }
        });
        // Returning early drops the receiver, which stops the producer.
        for item in receiver {
            consume(item?)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use chrono::Duration;

    use super::*;
    use callfunnel::ingest::{load, IngestOptions};
    use callfunnel::model::{canonical_schema, CallResult, CallType, Direction};

    /// `rows` calls over 2024 with `seed`.
    fn options(rows: u64, seed: u64) -> GenerateOptions {
        GenerateOptions {
            rows,
            seed,
            ..GenerateOptions::default()
        }
    }

    /// The calls of `path`, read back through ingest.
    fn reload(path: &Path) -> DataFrame {
        let loaded = load(&[path.to_path_buf()], &IngestOptions::default()).expect("loads");
        assert_eq!(loaded.report.duplicates, 0);
        loaded.frame.collect().expect("collects")
    }

    /// One number computed from the frame.
    fn scalar(frame: &DataFrame, expr: Expr) -> f64 {
        let out = frame.clone().lazy().select([expr]).collect().unwrap();
        let value = out.columns()[0].get(0).unwrap();
        value.extract::<f64>().unwrap_or(f64::NAN)
    }

    /// Share of rows matching `predicate`.
    fn share(frame: &DataFrame, predicate: Expr) -> f64 {
        scalar(frame, predicate.cast(DataType::Float64).mean())
    }

    /// Writes the calls to a file named `name` in a fresh folder and returns
    /// the folder (kept alive) and the path.
    fn written(options: &GenerateOptions, name: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        let rows = write_generated(options, &path, &|_| {}).unwrap();
        assert_eq!(rows, options.rows);
        (dir, path)
    }

    #[test]
    fn the_same_seed_gives_the_same_calls_and_another_seed_others() {
        let first = generate_frame(&options(5_000, 42)).unwrap();
        let again = generate_frame(&options(5_000, 42)).unwrap();
        let other = generate_frame(&options(5_000, 43)).unwrap();
        assert!(first.equals_missing(&again));
        for name in [
            column::DATE,
            column::USER_ID,
            column::RESULT,
            column::DURATION,
        ] {
            assert!(
                !first
                    .column(name)
                    .unwrap()
                    .equals_missing(other.column(name).unwrap()),
                "{name} does not depend on the seed"
            );
        }
    }

    #[test]
    fn row_counts_are_exact_and_chunks_are_independent() {
        let options = options(CHUNK_ROWS + 17, 3);
        assert_eq!(options.chunk_count(), 2);
        let all = generate_frame(&options).unwrap();
        assert_eq!(all.height() as u64, CHUNK_ROWS + 17);
        let second = generate_chunk(&options, 1).unwrap();
        assert_eq!(second.height(), 17);
        assert!(second.equals_missing(&all.slice(CHUNK_ROWS as i64, 17)));
        assert_eq!(generate_chunk(&options, 2).unwrap().height(), 0);
        for rows in [0, 1, 999] {
            assert_eq!(
                generate_frame(&self::options(rows, 1)).unwrap().height() as u64,
                rows
            );
        }
    }

    #[test]
    fn frames_have_the_canonical_schema_and_numbered_ids() {
        for rows in [0, 10] {
            let frame = generate_frame(&options(rows, 1)).unwrap();
            assert_eq!(**frame.schema(), canonical_schema());
        }
        let frame = generate_frame(&options(2_000, 1)).unwrap();
        let ids = frame.column(column::ID).unwrap().str().unwrap().clone();
        assert_eq!(ids.get(0), Some("cll-0000000001"));
        assert_eq!(ids.get(1_999), Some("cll-0000002000"));
        assert_eq!(ids.n_unique().unwrap(), 2_000);
    }

    #[test]
    fn distributions_are_plausible() {
        let options = options(100_000, 11);
        let frame = generate_frame(&options).unwrap();
        let result = || col(column::RESULT);
        let is = |value: CallResult| result().eq(lit(value.as_str()));
        let outbound_calls = callfunnel::stages::is_counted();
        let calls = frame
            .clone()
            .lazy()
            .filter(outbound_calls)
            .collect()
            .unwrap();
        let connected = callfunnel::stages::is_connected;
        let within = |value: f64, low: f64, high: f64, what: &str| {
            assert!((low..=high).contains(&value), "{what}: {value}");
        };

        within(share(&calls, connected()), 0.25, 0.45, "connected");
        within(
            share(&calls, is(CallResult::Answered)),
            0.25,
            0.35,
            "answered",
        );
        within(
            share(&calls, is(CallResult::Transferred)),
            0.015,
            0.045,
            "transferred",
        );
        within(
            share(&calls, is(CallResult::Voicemail)),
            0.11,
            0.19,
            "voicemail",
        );
        within(
            share(&calls, result().is_null()),
            0.01,
            0.06,
            "unknown result",
        );
        for other in [
            CallResult::NoAnswer,
            CallResult::Busy,
            CallResult::Failed,
            CallResult::Canceled,
        ] {
            within(share(&calls, is(other)), 0.02, 0.4, other.as_str());
        }
        let direction = col(column::DIRECTION).eq(lit(Direction::Inbound.as_str()));
        within(share(&frame, direction), 0.01, 0.03, "inbound");
        within(
            share(&frame, col(column::TYPE).eq(lit(CallType::Sms.as_str()))),
            0.005,
            0.015,
            "sms",
        );
        within(
            share(&frame, col(column::USER_ID).is_null()),
            0.0005,
            0.01,
            "no user",
        );

        // Talk time: never negative, none unless connected or voicemail, a
        // lump around a minute, a long tail.
        let duration = || col(column::DURATION);
        assert_eq!(scalar(&frame, duration().min()), 0.0);
        let silent = connected()
            .not()
            .and(is(CallResult::Voicemail).not().or(result().is_null()));
        let talking = frame.clone().lazy().filter(silent).collect().unwrap();
        assert_eq!(scalar(&talking, duration().max()), 0.0);
        let connected_calls = calls.clone().lazy().filter(connected()).collect().unwrap();
        let lump = duration().gt_eq(lit(45)).and(duration().lt_eq(lit(75)));
        within(share(&connected_calls, lump), 0.2, 0.5, "45–75 s");
        within(
            share(&connected_calls, duration().gt(lit(60))),
            0.45,
            0.8,
            "over a minute",
        );
        assert!(scalar(&connected_calls, duration().max()) > 600.0);

        // Ringing: mostly known, never negative, with decimals.
        let ringing = || col(column::RINGING_SECONDS);
        within(
            share(&frame, ringing().is_not_null()),
            0.9,
            0.99,
            "ringing known",
        );
        assert!(scalar(&frame, ringing().min()) >= 0.0);
        let fractional = ringing().neq(ringing().cast(DataType::Int64).cast(DataType::Float64));
        within(share(&frame, fractional), 0.5, 1.0, "ringing with decimals");

        // Conversions go with connected calls.
        let demo = col(column::TAGS).list().contains(lit("demo_booked"), false);
        let converted = share(&connected_calls, demo.clone());
        let others = calls
            .clone()
            .lazy()
            .filter(connected().not())
            .collect()
            .unwrap();
        assert!(
            converted > 0.05 && share(&others, demo) < 0.01,
            "{converted}"
        );

        // Dates: within the days asked for (local days, so UTC ±1 day), few on weekends.
        let day = |date: NaiveDate| {
            date.and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
                .timestamp_micros()
        };
        let first = day(options.from - Duration::days(1));
        let end = day(options.to + Duration::days(2));
        let date = || col(column::DATE).dt().timestamp(TimeUnit::Microseconds);
        assert!(scalar(&frame, date().min()) >= first as f64);
        assert!(scalar(&frame, date().max()) < end as f64);
        let weekend = col(column::DATE)
            .dt()
            .convert_time_zone(TimeZone::from_chrono(&chrono_tz::Europe::Paris))
            .dt()
            .weekday()
            .gt_eq(lit(6));
        within(share(&frame, weekend), 0.0, 0.1, "weekend");
        let months = frame
            .clone()
            .lazy()
            .select([col(column::DATE).dt().month().n_unique()])
            .collect()
            .unwrap();
        assert_eq!(
            months.columns()[0].get(0).unwrap().extract::<u32>(),
            Some(12)
        );

        // Reps: 5 at this size, with different connect rates.
        assert_eq!(
            scalar(&frame, col(column::USER_ID).drop_nulls().n_unique()),
            5.0
        );
        let rates = calls
            .clone()
            .lazy()
            .group_by([col(column::USER_ID)])
            .agg([connected().cast(DataType::Float64).mean().alias("rate")])
            .collect()
            .unwrap();
        let spread = scalar(&rates, col("rate").max() - col("rate").min());
        assert!(spread > 0.02, "connect rates barely vary: {spread}");
    }

    #[test]
    fn csv_reads_back_through_ingest_as_the_same_calls() {
        let options = options(3_000, 5);
        let (_dir, path) = written(&options, "calls.csv");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("id,date,direction,type,user_id,"));
        assert_eq!(text.lines().count(), 3_001);
        assert!(reload(&path).equals_missing(&generate_frame(&options).unwrap()));
    }

    #[test]
    fn ndjson_reads_back_through_ingest_as_the_same_calls() {
        let options = options(3_000, 6);
        let expected = generate_frame(&options).unwrap();
        for name in ["calls.ndjson", "calls.jsonl"] {
            let (_dir, path) = written(&options, name);
            let text = std::fs::read_to_string(&path).unwrap();
            let first: serde_json::Value =
                serde_json::from_str(text.lines().next().unwrap()).unwrap();
            assert_eq!(first["id"], "cll-0000000001");
            assert!(first["tags"].is_array());
            assert!(reload(&path).equals_missing(&expected));
        }
    }

    #[test]
    fn parquet_reads_back_through_ingest_as_the_same_calls() {
        let options = options(3_000, 7);
        let (_dir, path) = written(&options, "calls.parquet");
        let by_date = generate_frame(&options)
            .unwrap()
            .sort(
                [column::DATE],
                SortMultipleOptions::default().with_maintain_order(true),
            )
            .unwrap();
        assert!(reload(&path).equals_missing(&by_date));
    }

    #[test]
    fn output_bytes_do_not_depend_on_threads_or_batching() {
        let options = options(CHUNK_ROWS + 100, 9);
        let dir = tempfile::tempdir().unwrap();
        let mut csv = Vec::new();
        for name in ["calls.csv", "calls.parquet"] {
            // The window of chunks made at once follows the pool's size.
            let bytes = |threads: usize| {
                let path = dir.path().join(format!("{threads}-{name}"));
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| write_generated(&options, &path, &|_| {}))
                    .unwrap();
                std::fs::read(&path).unwrap()
            };
            let one = bytes(1);
            assert!(one == bytes(3), "{name} differs");
            if name.ends_with(".csv") {
                csv = one;
            }
        }
        // The same bytes as the chunks made one after the other.
        let world = World::new(&options).unwrap();
        let mut sequential = format!("{}\n", column::ALL.join(",")).into_bytes();
        for index in 0..options.chunk_count() {
            sequential.extend(world.csv(&world.chunk(index)));
        }
        assert!(csv == sequential);
    }

    #[test]
    fn progress_counts_the_calls_written() {
        let options = options(CHUNK_ROWS + 5, 2);
        let dir = tempfile::tempdir().unwrap();
        let seen = RefCell::new(Vec::new());
        let path = dir.path().join("calls.ndjson");
        write_generated(&options, &path, &|rows| seen.borrow_mut().push(rows)).unwrap();
        assert_eq!(seen.into_inner(), [CHUNK_ROWS, CHUNK_ROWS + 5]);
    }

    #[test]
    fn no_rows_still_make_readable_files() {
        let options = options(0, 1);
        for name in ["calls.csv", "calls.ndjson", "calls.parquet"] {
            let (_dir, path) = written(&options, name);
            assert_eq!(reload(&path).height(), 0, "{name}");
        }
    }

    #[test]
    fn bad_outputs_and_ranges_are_refused_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calls.txt");
        let error = write_generated(&options(10, 1), &path, &|_| {}).unwrap_err();
        assert!(
            matches!(error, GenerateError::UnknownFormat { .. }),
            "{error}"
        );
        let backwards = GenerateOptions {
            from: NaiveDate::from_ymd_opt(2024, 2, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
            ..options(10, 1)
        };
        let csv = dir.path().join("calls.csv");
        let error = write_generated(&backwards, &csv, &|_| {}).unwrap_err();
        assert!(matches!(error, GenerateError::DateRange { .. }), "{error}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_single_day_range_holds_every_call() {
        let day = NaiveDate::from_ymd_opt(2024, 3, 31).unwrap();
        let options = GenerateOptions {
            rows: 500,
            seed: 1,
            from: day,
            to: day,
        };
        let frame = generate_frame(&options).unwrap();
        let dates = frame
            .column(column::DATE)
            .unwrap()
            .datetime()
            .unwrap()
            .clone();
        let start = day.and_hms_opt(0, 0, 0).unwrap().and_utc();
        for micros in dates.phys.into_no_null_iter() {
            let hours = (micros - start.timestamp_micros()) as f64 / 3.6e9;
            assert!((-10.0..34.0).contains(&hours), "{hours}");
        }
    }
}
