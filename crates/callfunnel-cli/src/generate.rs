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
//! ```
//! use callfunnel_cli::generate::{generate_frame, GenerateOptions};
//!
//! let options = GenerateOptions { rows: 1_000, seed: 7, ..GenerateOptions::default() };
//! let calls = generate_frame(&options).unwrap();
//! assert_eq!(calls.height(), 1_000);
//! assert_eq!(calls, generate_frame(&options).unwrap());
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate, Offset, TimeZone as _, Weekday};
use chrono_tz::Tz;
use polars::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use rand_pcg::Pcg64Mcg;
use rayon::prelude::*;

use callfunnel::model::{column, CallResult, CallType, Direction, DATE_UNIT};
use callfunnel::scratch::write_replacing;
use callfunnel::store::{write_parquet, WriteError};

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

/// The zones reps work in.
const ZONES: [ZoneSpec; 3] = [PARIS, NEW_YORK, TOKYO];

/// A team's zone: where its reps work and whom they call.
struct ZoneSpec {
    tz: Tz,
    /// Share of the reps.
    share: f64,
    /// E-mail domain.
    domain: &'static str,
    /// Given names: as shown, and in ASCII for e-mails.
    given: &'static [(&'static str, &'static str)],
    /// Family names: as shown, and in ASCII for e-mails.
    family: &'static [(&'static str, &'static str)],
    /// Share of reps whose names are shown family name first, in the local
    /// script (the others: ASCII, given name first).
    local_script: f64,
    /// The team's Allo numbers: E.164, label, share of calls.
    numbers: &'static [(&'static str, &'static str, f64)],
    /// Numbers called: E.164 prefix, digits after it, share of calls.
    contacts: &'static [(&'static str, u32, f64)],
    /// Activity factor of a day (holidays), besides weekends.
    holiday: fn(NaiveDate) -> f64,
}

const PARIS: ZoneSpec = ZoneSpec {
    tz: chrono_tz::Europe::Paris,
    share: 0.45,
    domain: "acme.fr",
    given: &[
        ("Camille", "camille"),
        ("Léa", "lea"),
        ("Chloé", "chloe"),
        ("Hugo", "hugo"),
        ("Théo", "theo"),
        ("Noémie", "noemie"),
        ("Zoé", "zoe"),
        ("Jérôme", "jerome"),
        ("François", "francois"),
        ("Amélie", "amelie"),
        ("Maël", "mael"),
        ("Inès", "ines"),
        ("Lucas", "lucas"),
        ("Manon", "manon"),
        ("Gaël", "gael"),
        ("Clément", "clement"),
        ("Sophie", "sophie"),
        ("Antoine", "antoine"),
    ],
    family: &[
        ("Martin", "martin"),
        ("Dubois", "dubois"),
        ("Lefèvre", "lefevre"),
        ("Müller", "muller"),
        ("Garnier", "garnier"),
        ("Roussel", "roussel"),
        ("Chevalier", "chevalier"),
        ("Bérard", "berard"),
        ("Nguyễn", "nguyen"),
        ("Østergaard", "ostergaard"),
        ("Moreau", "moreau"),
        ("Fournier", "fournier"),
        ("Da Costa", "dacosta"),
        ("Benali", "benali"),
    ],
    local_script: 0.0,
    numbers: &[
        ("+33184881001", "Sales FR", 0.5),
        ("+33184881002", "SDR Paris", 0.3),
        ("+33184881003", "Partenariats", 0.2),
    ],
    contacts: &[
        ("+336", 8, 0.55),
        ("+337", 8, 0.15),
        ("+331", 8, 0.15),
        ("+334", 8, 0.05),
        ("+447", 9, 0.04),
        ("+4915", 9, 0.03),
        ("+3247", 7, 0.03),
    ],
    holiday: paris_holiday,
};

const NEW_YORK: ZoneSpec = ZoneSpec {
    tz: chrono_tz::America::New_York,
    share: 0.35,
    domain: "acme.com",
    given: &[
        ("James", "james"),
        ("Olivia", "olivia"),
        ("Sofía", "sofia"),
        ("Liam", "liam"),
        ("Ava", "ava"),
        ("Mateo", "mateo"),
        ("Chloe", "chloe"),
        ("Ethan", "ethan"),
        ("Zoë", "zoe"),
        ("Noah", "noah"),
        ("Isabella", "isabella"),
        ("Aiden", "aiden"),
        ("Björn", "bjorn"),
        ("Priya", "priya"),
        ("Marcus", "marcus"),
        ("Hannah", "hannah"),
    ],
    family: &[
        ("Smith", "smith"),
        ("Johnson", "johnson"),
        ("García", "garcia"),
        ("O'Brien", "obrien"),
        ("Nguyen", "nguyen"),
        ("Kowalski", "kowalski"),
        ("Rodríguez", "rodriguez"),
        ("Williams", "williams"),
        ("Brown", "brown"),
        ("Davis", "davis"),
        ("Łukasiewicz", "lukasiewicz"),
        ("Patel", "patel"),
        ("Cohen", "cohen"),
        ("Kim", "kim"),
    ],
    local_script: 0.0,
    numbers: &[
        ("+12125550101", "Sales US", 0.5),
        ("+16465550102", "SDR US East", 0.3),
        ("+13125550103", "Sales US Central", 0.2),
    ],
    contacts: &[
        ("+1212", 7, 0.2),
        ("+1646", 7, 0.15),
        ("+1718", 7, 0.1),
        ("+1917", 7, 0.15),
        ("+1415", 7, 0.1),
        ("+1312", 7, 0.1),
        ("+1617", 7, 0.08),
        ("+1305", 7, 0.07),
        ("+1416", 7, 0.05),
    ],
    holiday: new_york_holiday,
};

const TOKYO: ZoneSpec = ZoneSpec {
    tz: chrono_tz::Asia::Tokyo,
    share: 0.2,
    domain: "acme.co.jp",
    given: &[
        ("健", "ken"),
        ("花子", "hanako"),
        ("蓮", "ren"),
        ("結衣", "yui"),
        ("陽翔", "haruto"),
        ("さくら", "sakura"),
        ("健二", "kenji"),
        ("愛子", "aiko"),
        ("拓海", "takumi"),
        ("芽衣", "mei"),
    ],
    family: &[
        ("佐藤", "sato"),
        ("鈴木", "suzuki"),
        ("高橋", "takahashi"),
        ("田中", "tanaka"),
        ("伊藤", "ito"),
        ("渡辺", "watanabe"),
        ("山本", "yamamoto"),
        ("中村", "nakamura"),
    ],
    local_script: 0.5,
    numbers: &[
        ("+81345550101", "Sales JP", 0.6),
        ("+81345550102", "営業 東京", 0.4),
    ],
    contacts: &[
        ("+8190", 8, 0.4),
        ("+8180", 8, 0.25),
        ("+8170", 8, 0.1),
        ("+813", 8, 0.2),
        ("+852", 8, 0.05),
    ],
    holiday: tokyo_holiday,
};

/// Holidays and the quiet August of the Paris team.
fn paris_holiday(day: NaiveDate) -> f64 {
    match (day.month(), day.day()) {
        (1, 1) | (5, 1) | (5, 8) | (7, 14) | (8, 15) | (11, 1) | (11, 11) | (12, 25) => 0.1,
        (12, 24..=31) => 0.35,
        (8, _) => 0.55,
        _ => 1.0,
    }
}

/// Holidays of the New York team (Thanksgiving: fourth Thursday of November).
fn new_york_holiday(day: NaiveDate) -> f64 {
    match (day.month(), day.day(), day.weekday()) {
        (1, 1, _) | (7, 4, _) | (12, 25, _) | (11, 22..=28, Weekday::Thu) => 0.1,
        (12, 24..=31, _) => 0.35,
        _ => 1.0,
    }
}

/// New Year and Golden Week of the Tokyo team.
fn tokyo_holiday(day: NaiveDate) -> f64 {
    match (day.month(), day.day()) {
        (1, 1..=3) => 0.1,
        (4, 29..=30) | (5, 1..=5) => 0.2,
        (12, 28..=31) => 0.3,
        _ => 1.0,
    }
}

/// Activity of a day of the week, Monday first.
const WEEKDAY_ACTIVITY: [f64; 7] = [1.0, 1.05, 1.05, 1.0, 0.85, 0.06, 0.025];

/// Share of calls placed in each local hour.
const HOUR_ACTIVITY: [f64; 24] = [
    0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.05, 0.4, 3.0, 8.0, 10.0, 9.5, 5.0, 6.0, 9.5, 10.0, 9.0,
    6.5, 2.5, 0.8, 0.3, 0.1, 0.05, 0.02,
];

/// How each local hour moves the chance that the callee picks up.
const HOUR_CONNECT: [f64; 24] = [
    0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.7, 0.8, 1.15, 1.1, 1.0, 0.95, 0.85, 0.9, 1.0, 1.0, 1.1, 1.15,
    1.0, 0.85, 0.8, 0.7, 0.6, 0.6,
];

/// Chance that an outbound call of an average rep connects.
const BASE_CONNECT: f64 = 0.33;

/// Outcomes of calls that do not connect, with their shares.
const NOT_CONNECTED: [(Option<CallResult>, f64); 6] = [
    (Some(CallResult::Voicemail), 0.224),
    (Some(CallResult::NoAnswer), 0.45),
    (Some(CallResult::Busy), 0.11),
    (Some(CallResult::Failed), 0.07),
    (Some(CallResult::Canceled), 0.1),
    (None, 0.046),
];

/// The tag sets a call can carry; a call holds an index into this list.
const TAG_SETS: [&[&str]; 7] = [
    &[],
    &["demo_booked"],
    &["qualified"],
    &["follow_up"],
    &["not_interested"],
    &["qualified", "demo_booked"],
    &["qualified", "follow_up"],
];
const NO_TAGS: u8 = 0;
const DEMO_BOOKED: u8 = 1;
const QUALIFIED: u8 = 2;
const FOLLOW_UP: u8 = 3;
const NOT_INTERESTED: u8 = 4;
const QUALIFIED_DEMO_BOOKED: u8 = 5;
const QUALIFIED_FOLLOW_UP: u8 = 6;

/// Spreads chunk indexes over the seed space (the 64-bit golden ratio).
const CHUNK_SALT: u64 = 0x9E37_79B9_7F4A_7C15;

/// One generated call, compactly; the text comes from the [`World`].
struct Row {
    /// Dial instant, seconds since the epoch, UTC.
    date: i64,
    /// Index of the rep, `None` for a call without user.
    user: Option<u32>,
    /// Index of the Allo number.
    number: u16,
    /// Zone of the number called, and index of its plan in the zone.
    contact_zone: u8,
    contact_plan: u8,
    /// Digits after the plan's prefix.
    contact_digits: u32,
    inbound: bool,
    sms: bool,
    result: Option<CallResult>,
    duration: u32,
    ringing: Option<f64>,
    /// Index into [`TAG_SETS`].
    tags: u8,
}

/// The rows of one chunk.
struct Chunk {
    /// Number of the first call (ids count from 1).
    first: u64,
    rows: Vec<Row>,
}

/// A rep and how they work.
struct Rep {
    id: String,
    name: String,
    email: String,
    zone: usize,
    /// Their usual Allo number.
    number: u16,
    /// Hours their day starts early (negative) or late.
    hour_shift: i32,
    /// Multiplies the chance of connecting.
    connect: f64,
    /// Multiplies the chance of converting.
    convert: f64,
    /// Share of their connected calls that run long.
    long_calls: f64,
    /// `user_id,user_name,user_email` as CSV cells.
    csv: String,
    /// The same as JSON members.
    json: String,
}

/// An Allo number.
struct Number {
    e164: &'static str,
    label: &'static str,
    /// `allo_number,allo_number_label` as CSV cells.
    csv: String,
    /// The same as JSON members.
    json: String,
}

/// Everything fixed by the options: reps, numbers, calendar.
struct World {
    rows: u64,
    seed: u64,
    reps: Vec<Rep>,
    /// Cumulative activity of the reps.
    rep_activity: Vec<f64>,
    numbers: Vec<Number>,
    /// Per zone: indexes of its numbers and their cumulative shares.
    zone_numbers: Vec<(Vec<u16>, Vec<f64>)>,
    /// Per zone: cumulative shares of its contact plans.
    zone_contacts: Vec<Vec<f64>>,
    /// Days since the epoch of the first day.
    first_day: i64,
    /// Per zone: cumulative activity of each day.
    day_activity: Vec<Vec<f64>>,
    /// Per zone and day: UTC offset at local noon, in seconds.
    day_offset: Vec<Vec<i64>>,
    /// Per day: whether it is a Saturday or Sunday.
    weekend: Vec<bool>,
    /// Cumulative [`HOUR_ACTIVITY`].
    hour_activity: Vec<f64>,
    /// Cumulative shares of [`NOT_CONNECTED`].
    not_connected: Vec<f64>,
}

/// Running sums of `weights`.
fn cumulative(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut total = 0.0;
    weights
        .into_iter()
        .map(|weight| {
            total += weight;
            total
        })
        .collect()
}

/// Draws an index with probability proportional to its weight, given the
/// running sums of the weights.
fn pick(rng: &mut Pcg64Mcg, sums: &[f64]) -> usize {
    let total = sums.last().copied().unwrap_or(0.0);
    let target = rng.random::<f64>() * total;
    sums.partition_point(|&sum| sum <= target)
        .min(sums.len().saturating_sub(1))
}

/// A normal draw.
fn normal(rng: &mut Pcg64Mcg, mean: f64, deviation: f64) -> f64 {
    mean + deviation * rng.sample::<f64, _>(StandardNormal)
}

/// A log-normal draw with the given median.
fn log_normal(rng: &mut Pcg64Mcg, median: f64, sigma: f64) -> f64 {
    median * (sigma * rng.sample::<f64, _>(StandardNormal)).exp()
}

/// Seconds rounded to hundredths.
fn hundredths(seconds: f64) -> f64 {
    (seconds * 100.0).round() / 100.0
}

/// A string as a JSON string literal.
fn json_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// A string as a CSV cell, quoted when needed.
fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Days since 1970-01-01 of `day`.
fn epoch_days(day: NaiveDate) -> i64 {
    i64::from(day.num_days_from_ce()) - 719_163
}

impl World {
    fn new(options: &GenerateOptions) -> Result<World, GenerateError> {
        let in_range = |day: NaiveDate| (1..=9998).contains(&day.year());
        if options.from > options.to || !in_range(options.from) || !in_range(options.to) {
            return Err(GenerateError::DateRange {
                from: options.from,
                to: options.to,
            });
        }
        let mut rng = Pcg64Mcg::seed_from_u64(options.seed);

        let mut numbers = Vec::new();
        let mut zone_numbers = Vec::new();
        for zone in &ZONES {
            let mut indexes = Vec::new();
            for &(e164, label, _) in zone.numbers {
                indexes.push(numbers.len() as u16);
                numbers.push(Number {
                    e164,
                    label,
                    csv: format!("{},{}", csv_cell(e164), csv_cell(label)),
                    json: format!(
                        "\"allo_number\":{},\"allo_number_label\":{}",
                        json_string(e164),
                        json_string(label)
                    ),
                });
            }
            let shares = cumulative(zone.numbers.iter().map(|number| number.2));
            zone_numbers.push((indexes, shares));
        }
        let zone_contacts = ZONES
            .iter()
            .map(|zone| cumulative(zone.contacts.iter().map(|contact| contact.2)))
            .collect();

        let rep_count = (options.rows / 40_000).clamp(5, 1_000) as usize;
        let zone_shares = cumulative(ZONES.iter().map(|zone| zone.share));
        let mut reps = Vec::with_capacity(rep_count);
        let mut activity = Vec::with_capacity(rep_count);
        let mut emails = std::collections::HashSet::new();
        for index in 0..rep_count {
            let zone_index = pick(&mut rng, &zone_shares);
            let zone = &ZONES[zone_index];
            let given = zone.given[rng.random_range(0..zone.given.len())];
            let family = zone.family[rng.random_range(0..zone.family.len())];
            let name = if rng.random_bool(zone.local_script) {
                format!("{} {}", family.0, given.0)
            } else if zone.local_script > 0.0 {
                format!("{} {}", capitalized(given.1), capitalized(family.1))
            } else {
                format!("{} {}", given.0, family.0)
            };
            let mut email = format!("{}.{}@{}", given.1, family.1, zone.domain);
            if !emails.insert(email.clone()) {
                email = format!("{}.{}{}@{}", given.1, family.1, index + 1, zone.domain);
                emails.insert(email.clone());
            }
            let id = format!("usr-{:04}", index + 1);
            let connect = normal(&mut rng, 1.0, 0.18).clamp(0.5, 1.5);
            let convert = (0.5 * connect + 0.5 * normal(&mut rng, 1.0, 0.5)).clamp(0.3, 2.0);
            let (indexes, shares) = &zone_numbers[zone_index];
            let number = indexes[pick(&mut rng, shares)];
            activity.push(log_normal(&mut rng, 1.0, 0.5));
            reps.push(Rep {
                csv: format!("{},{},{}", csv_cell(&id), csv_cell(&name), csv_cell(&email)),
                json: format!(
                    "\"user_id\":{},\"user_name\":{},\"user_email\":{}",
                    json_string(&id),
                    json_string(&name),
                    json_string(&email)
                ),
                id,
                name,
                email,
                zone: zone_index,
                number,
                hour_shift: rng.random_range(-1..=1),
                connect,
                convert,
                long_calls: (0.45 * convert.sqrt()).clamp(0.25, 0.65),
            });
        }

        let first_day = epoch_days(options.from);
        let days: Vec<NaiveDate> = options
            .from
            .iter_days()
            .take_while(|day| *day <= options.to)
            .collect();
        let mut day_activity = Vec::with_capacity(ZONES.len());
        let mut day_offset = Vec::with_capacity(ZONES.len());
        let span = days.len().max(1) as f64;
        for zone in &ZONES {
            day_activity.push(cumulative(days.iter().enumerate().map(|(index, day)| {
                // The business grows over the period.
                let trend = 0.85 + 0.3 * index as f64 / span;
                WEEKDAY_ACTIVITY[day.weekday().num_days_from_monday() as usize]
                    * (zone.holiday)(*day)
                    * trend
            })));
            day_offset.push(
                days.iter()
                    .map(|day| {
                        let noon = day.and_hms_opt(12, 0, 0).expect("valid time");
                        zone.tz
                            .offset_from_local_datetime(&noon)
                            .earliest()
                            .map_or(0, |offset| i64::from(offset.fix().local_minus_utc()))
                    })
                    .collect(),
            );
        }
        let weekend = days
            .iter()
            .map(|day| matches!(day.weekday(), Weekday::Sat | Weekday::Sun))
            .collect();

        Ok(World {
            rows: options.rows,
            seed: options.seed,
            rep_activity: cumulative(activity),
            reps,
            numbers,
            zone_numbers,
            zone_contacts,
            first_day,
            day_activity,
            day_offset,
            weekend,
            hour_activity: cumulative(HOUR_ACTIVITY),
            not_connected: cumulative(NOT_CONNECTED.iter().map(|outcome| outcome.1)),
        })
    }

    /// The rows of chunk `index`, from its own random stream.
    fn chunk(&self, index: u64) -> Chunk {
        let first = index.saturating_mul(CHUNK_ROWS).min(self.rows);
        let end = first.saturating_add(CHUNK_ROWS).min(self.rows);
        let mut rng =
            Pcg64Mcg::seed_from_u64(self.seed ^ index.wrapping_add(1).wrapping_mul(CHUNK_SALT));
        let rows = (first..end).map(|_| self.call(&mut rng)).collect();
        Chunk {
            first: first + 1,
            rows,
        }
    }

    /// One call.
    fn call(&self, rng: &mut Pcg64Mcg) -> Row {
        let rep_index = pick(rng, &self.rep_activity);
        let rep = &self.reps[rep_index];
        let zone = rep.zone;

        let day = pick(rng, &self.day_activity[zone]);
        let hour = (pick(rng, &self.hour_activity) as i32 + rep.hour_shift).clamp(0, 23);
        let local = (self.first_day + day as i64) * 86_400
            + i64::from(hour) * 3_600
            + rng.random_range(0..3_600i64);
        let date = local - self.day_offset[zone][day];

        let user = (!rng.random_bool(0.003)).then_some(rep_index as u32);
        let number = if rng.random_bool(0.85) {
            rep.number
        } else {
            let (indexes, shares) = &self.zone_numbers[zone];
            indexes[pick(rng, shares)]
        };
        let contact_plan = pick(rng, &self.zone_contacts[zone]);
        let digits = ZONES[zone].contacts[contact_plan].1;
        let low = 2 * 10u32.pow(digits - 1);
        let contact_digits = rng.random_range(low..10u32.pow(digits));
        let inbound = rng.random_bool(0.02);
        let sms = rng.random_bool(0.01);

        let mut row = Row {
            date,
            user,
            number,
            contact_zone: zone as u8,
            contact_plan: contact_plan as u8,
            contact_digits,
            inbound,
            sms,
            result: None,
            duration: 0,
            ringing: None,
            tags: NO_TAGS,
        };
        if sms {
            return row;
        }

        let connect = if inbound {
            0.7
        } else {
            let weekend = if self.weekend[day] { 0.7 } else { 1.0 };
            (BASE_CONNECT * rep.connect * HOUR_CONNECT[hour as usize] * weekend).clamp(0.03, 0.9)
        };
        let result = if rng.random_bool(connect) {
            Some(if rng.random_bool(0.09) {
                CallResult::Transferred
            } else {
                CallResult::Answered
            })
        } else {
            NOT_CONNECTED[pick(rng, &self.not_connected)].0
        };
        row.result = result;
        row.duration = match result {
            Some(CallResult::Answered | CallResult::Transferred) => talk_time(rng, rep),
            Some(CallResult::Voicemail) if rng.random_bool(0.45) => rng.random_range(8..=35),
            _ => 0,
        };
        row.ringing = ringing_time(rng, result);
        row.tags = tags(rng, result, row.duration, rep);
        row
    }

    /// The canonical frame of a chunk.
    fn frame(&self, chunk: &Chunk) -> PolarsResult<DataFrame> {
        use column::*;
        let rows = &chunk.rows;
        let height = rows.len();
        let mut ids = StringChunkedBuilder::new(ID.into(), height);
        let mut contacts = StringChunkedBuilder::new(CONTACT_NUMBER.into(), height);
        let mut tags = ListStringChunkedBuilder::new(TAGS.into(), height, height);
        let mut text = Vec::with_capacity(32);
        for (offset, row) in rows.iter().enumerate() {
            text.clear();
            push_id(&mut text, chunk.first + offset as u64);
            ids.append_value(std::str::from_utf8(&text).expect("ASCII id"));
            text.clear();
            self.push_contact(&mut text, row);
            contacts.append_value(std::str::from_utf8(&text).expect("ASCII number"));
            tags.append_values_iter(TAG_SETS[usize::from(row.tags)].iter().copied());
        }
        let strings = |name: &str, values: &mut dyn Iterator<Item = Option<&str>>| {
            StringChunked::from_iter_options(name.into(), values).into_column()
        };
        let rep = |row: &Row| row.user.map(|user| &self.reps[user as usize]);
        let number = |row: &Row| &self.numbers[usize::from(row.number)];
        let dates = Int64Chunked::from_vec(
            DATE.into(),
            rows.iter().map(|row| row.date * 1_000_000).collect(),
        )
        .into_datetime(DATE_UNIT, Some(TimeZone::UTC))
        .into_column();
        let columns = vec![
            ids.finish().into_column(),
            dates,
            strings(DIRECTION, &mut rows.iter().map(|row| Some(direction(row)))),
            strings(TYPE, &mut rows.iter().map(|row| Some(call_type(row)))),
            strings(
                USER_ID,
                &mut rows.iter().map(|row| rep(row).map(|rep| rep.id.as_str())),
            ),
            strings(
                USER_NAME,
                &mut rows.iter().map(|row| rep(row).map(|rep| rep.name.as_str())),
            ),
            strings(
                USER_EMAIL,
                &mut rows
                    .iter()
                    .map(|row| rep(row).map(|rep| rep.email.as_str())),
            ),
            strings(
                ALLO_NUMBER,
                &mut rows.iter().map(|row| Some(number(row).e164)),
            ),
            strings(
                ALLO_NUMBER_LABEL,
                &mut rows.iter().map(|row| Some(number(row).label)),
            ),
            contacts.finish().into_column(),
            strings(
                RESULT,
                &mut rows.iter().map(|row| row.result.map(CallResult::as_str)),
            ),
            Int64Chunked::from_iter_values(
                DURATION.into(),
                rows.iter().map(|row| i64::from(row.duration)),
            )
            .into_column(),
            Float64Chunked::from_iter_options(
                RINGING_SECONDS.into(),
                rows.iter().map(|row| row.ringing),
            )
            .into_column(),
            tags.finish().into_column(),
        ];
        DataFrame::new(height, columns)
    }

    /// A chunk as CSV records (canonical column order, no header).
    fn csv(&self, chunk: &Chunk) -> Vec<u8> {
        let mut out = Vec::with_capacity(chunk.rows.len() * 200);
        let mut integers = itoa::Buffer::new();
        let mut floats = ryu::Buffer::new();
        for (offset, row) in chunk.rows.iter().enumerate() {
            push_id(&mut out, chunk.first + offset as u64);
            out.push(b',');
            push_timestamp(&mut out, row.date);
            out.push(b',');
            out.extend_from_slice(direction(row).as_bytes());
            out.push(b',');
            out.extend_from_slice(call_type(row).as_bytes());
            out.push(b',');
            match row.user {
                Some(user) => out.extend_from_slice(self.reps[user as usize].csv.as_bytes()),
                None => out.extend_from_slice(b",,"),
            }
            out.push(b',');
            out.extend_from_slice(self.numbers[usize::from(row.number)].csv.as_bytes());
            out.push(b',');
            self.push_contact(&mut out, row);
            out.push(b',');
            if let Some(result) = row.result {
                out.extend_from_slice(result.as_str().as_bytes());
            }
            out.push(b',');
            out.extend_from_slice(integers.format(row.duration).as_bytes());
            out.push(b',');
            if let Some(ringing) = row.ringing {
                out.extend_from_slice(floats.format(ringing).as_bytes());
            }
            out.push(b',');
            for (index, tag) in TAG_SETS[usize::from(row.tags)].iter().enumerate() {
                if index > 0 {
                    out.push(b';');
                }
                out.extend_from_slice(tag.as_bytes());
            }
            out.push(b'\n');
        }
        out
    }

    /// A chunk as NDJSON: one flat record per line, canonical key order.
    fn ndjson(&self, chunk: &Chunk) -> Vec<u8> {
        let mut out = Vec::with_capacity(chunk.rows.len() * 400);
        let mut integers = itoa::Buffer::new();
        let mut floats = ryu::Buffer::new();
        for (offset, row) in chunk.rows.iter().enumerate() {
            out.extend_from_slice(b"{\"id\":\"");
            push_id(&mut out, chunk.first + offset as u64);
            out.extend_from_slice(b"\",\"date\":\"");
            push_timestamp(&mut out, row.date);
            out.extend_from_slice(b"\",\"direction\":\"");
            out.extend_from_slice(direction(row).as_bytes());
            out.extend_from_slice(b"\",\"type\":\"");
            out.extend_from_slice(call_type(row).as_bytes());
            out.extend_from_slice(b"\",");
            match row.user {
                Some(user) => out.extend_from_slice(self.reps[user as usize].json.as_bytes()),
                None => out
                    .extend_from_slice(b"\"user_id\":null,\"user_name\":null,\"user_email\":null"),
            }
            out.push(b',');
            out.extend_from_slice(self.numbers[usize::from(row.number)].json.as_bytes());
            out.extend_from_slice(b",\"contact_number\":\"");
            self.push_contact(&mut out, row);
            out.extend_from_slice(b"\",\"result\":");
            match row.result {
                Some(result) => {
                    out.push(b'"');
                    out.extend_from_slice(result.as_str().as_bytes());
                    out.push(b'"');
                }
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"duration\":");
            out.extend_from_slice(integers.format(row.duration).as_bytes());
            out.extend_from_slice(b",\"ringing_seconds\":");
            match row.ringing {
                Some(ringing) => out.extend_from_slice(floats.format(ringing).as_bytes()),
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"tags\":[");
            for (index, tag) in TAG_SETS[usize::from(row.tags)].iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                out.push(b'"');
                out.extend_from_slice(tag.as_bytes());
                out.push(b'"');
            }
            out.extend_from_slice(b"]}\n");
        }
        out
    }

    /// Appends the number called, E.164.
    fn push_contact(&self, out: &mut Vec<u8>, row: &Row) {
        let (prefix, digits, _) =
            ZONES[usize::from(row.contact_zone)].contacts[usize::from(row.contact_plan)];
        out.extend_from_slice(prefix.as_bytes());
        push_padded(out, u64::from(row.contact_digits), digits as usize);
    }
}

/// The `direction` of a row.
fn direction(row: &Row) -> &'static str {
    if row.inbound {
        Direction::Inbound.as_str()
    } else {
        Direction::Outbound.as_str()
    }
}

/// The `type` of a row.
fn call_type(row: &Row) -> &'static str {
    if row.sms {
        CallType::Sms.as_str()
    } else {
        CallType::Call.as_str()
    }
}

/// Talk time of a connected call: a short hang-up, a lump around a minute,
/// or a long call.
fn talk_time(rng: &mut Pcg64Mcg, rep: &Rep) -> u32 {
    let draw = rng.random::<f64>();
    if draw < 0.22 {
        rng.random_range(1..=20)
    } else if draw < 1.0 - rep.long_calls {
        normal(rng, 60.0, 7.0).round().clamp(40.0, 85.0) as u32
    } else {
        75 + log_normal(rng, 110.0, 0.85).round().min(7_200.0) as u32
    }
}

/// Ringing time by outcome, in hundredths; unknown for some calls.
fn ringing_time(rng: &mut Pcg64Mcg, result: Option<CallResult>) -> Option<f64> {
    let unknown = if result == Some(CallResult::Failed) {
        0.5
    } else {
        0.04
    };
    if rng.random_bool(unknown) {
        return None;
    }
    let seconds = match result {
        Some(CallResult::Answered | CallResult::Transferred | CallResult::TransferredAi)
        | Some(CallResult::TransferredExternal) => 2.0 + log_normal(rng, 7.0, 0.5).min(58.0),
        Some(CallResult::Voicemail) => normal(rng, 24.0, 4.0).clamp(10.0, 45.0),
        Some(CallResult::NoAnswer | CallResult::Missed | CallResult::Closed) => {
            normal(rng, 38.0, 7.0).clamp(15.0, 60.0)
        }
        Some(CallResult::Busy) => rng.random_range(0.3..3.0),
        Some(
            CallResult::Failed
            | CallResult::FailedExternal
            | CallResult::Blocked
            | CallResult::Received,
        ) => rng.random_range(0.0..1.5),
        Some(CallResult::Canceled) => rng.random_range(1.0..25.0),
        None => rng.random_range(0.0..30.0),
    };
    Some(hundredths(seconds))
}

/// Tags of a call: conversions mostly on long connected calls of skilled
/// reps, follow-ups after voicemails.
fn tags(rng: &mut Pcg64Mcg, result: Option<CallResult>, duration: u32, rep: &Rep) -> u8 {
    let skill = rep.convert;
    let connected = result.is_some_and(CallResult::is_connected);
    let choices: &[(u8, f64)] = if connected && duration > 60 {
        &[
            (DEMO_BOOKED, 0.10 * skill),
            (QUALIFIED_DEMO_BOOKED, 0.06 * skill),
            (QUALIFIED, 0.12 * skill),
            (QUALIFIED_FOLLOW_UP, 0.05),
            (FOLLOW_UP, 0.15),
            (NOT_INTERESTED, 0.22),
        ]
    } else if connected {
        &[
            (NOT_INTERESTED, 0.25),
            (FOLLOW_UP, 0.10),
            (DEMO_BOOKED, 0.01 * skill),
        ]
    } else if result == Some(CallResult::Voicemail) {
        &[(FOLLOW_UP, 0.2)]
    } else {
        &[(FOLLOW_UP, 0.02), (DEMO_BOOKED, 0.001)]
    };
    let draw = rng.random::<f64>();
    let mut sum = 0.0;
    for &(tags, share) in choices {
        sum += share;
        if draw < sum {
            return tags;
        }
    }
    NO_TAGS
}

/// `ken` → `Ken`.
fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Appends `value` in decimal, zero-padded to `width` digits.
fn push_padded(out: &mut Vec<u8>, mut value: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut start = digits.len();
    while value > 0 {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
    }
    out.extend_from_slice(&digits[start.min(digits.len().saturating_sub(width))..]);
}

/// Appends the id of call number `number`: `cll-0000000042`.
fn push_id(out: &mut Vec<u8>, number: u64) {
    out.extend_from_slice(b"cll-");
    push_padded(out, number, 10);
}

/// Appends an instant as `YYYY-MM-DDTHH:MM:SSZ` (years 0 to 9999).
fn push_timestamp(out: &mut Vec<u8>, seconds: i64) {
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let second_of_day = seconds.rem_euclid(86_400) as u64;
    push_padded(out, year.max(0) as u64, 4);
    out.push(b'-');
    push_padded(out, u64::from(month), 2);
    out.push(b'-');
    push_padded(out, u64::from(day), 2);
    out.push(b'T');
    push_padded(out, second_of_day / 3_600, 2);
    out.push(b':');
    push_padded(out, second_of_day / 60 % 60, 2);
    out.push(b':');
    push_padded(out, second_of_day % 60, 2);
    out.push(b'Z');
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use chrono::{DateTime, Duration};

    use super::*;
    use callfunnel::ingest::{load, IngestOptions};
    use callfunnel::model::canonical_schema;

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
    fn reps_scale_with_rows_up_to_a_thousand_with_some_non_ascii_names() {
        let count = |rows| World::new(&options(rows, 1)).unwrap().reps.len();
        assert_eq!(count(10), 5);
        assert_eq!(count(4_000_000), 100);
        assert_eq!(count(10_000_000_000), 1_000);
        let world = World::new(&options(100_000_000, 1)).unwrap();
        assert!(world.reps.iter().any(|rep| !rep.name.is_ascii()));
        assert!(world.reps.iter().all(|rep| rep.email.is_ascii()));
        let emails: std::collections::HashSet<_> =
            world.reps.iter().map(|rep| &rep.email).collect();
        assert_eq!(emails.len(), world.reps.len());
        assert!(world.numbers.iter().any(|number| !number.label.is_ascii()));
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

    #[test]
    fn timestamps_and_padding_are_written_like_chrono() {
        for seconds in [
            0,
            -1,
            59,
            951_782_400,
            1_709_164_799,
            1_709_251_199,
            1_735_689_599,
            4_102_444_800,
            253_402_300_799,
            -62_135_596_800,
        ] {
            let mut out = Vec::new();
            push_timestamp(&mut out, seconds);
            let expected = DateTime::from_timestamp(seconds, 0)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
        let mut out = Vec::new();
        push_padded(&mut out, 0, 3);
        push_padded(&mut out, 42, 1);
        push_padded(&mut out, 7, 4);
        assert_eq!(out, b"000420007");
    }
}
