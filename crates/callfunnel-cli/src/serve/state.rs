//! What the server holds: the loaded calls (sorted by date for the engine,
//! and as items for the conversation routes), swapped whole on a reload so
//! that answers in flight keep the data they started with, and the
//! analytics answers computed from them.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use callfunnel::ingest::{self, IngestOptions};
use polars::prelude::{DataFrame, PolarsResult};

use super::auth::Access;
use super::by_date::CallsByDate;
use super::cache::{AnswerCache, CacheLimits};
use super::connections::ConnectionLimits;
use super::faults::FaultInjector;
use super::items::ItemStore;
use super::rate_limit::RateLimiter;
use crate::messages::say;

/// One load of the inputs.
pub struct Dataset {
    /// The canonical calls by date, for the engine.
    pub calls: CallsByDate,
    /// The same calls as conversation items.
    pub items: ItemStore,
}

impl Dataset {
    /// The calls of `frame`, for the engine and as items.
    pub fn new(frame: DataFrame) -> PolarsResult<Self> {
        let items = ItemStore::from_frame(&frame)?;
        Ok(Dataset {
            calls: CallsByDate::new(frame)?,
            items,
        })
    }
}

/// The inputs and how to read them.
#[derive(Debug, Clone)]
pub struct Source {
    /// Files, folders or globs, as `--input` takes them.
    pub inputs: Vec<PathBuf>,
    /// How to read them.
    pub options: IngestOptions,
}

impl Source {
    /// Reads every input and builds the items; prints the ingest summary and
    /// the reading's warnings.
    pub fn load(&self) -> anyhow::Result<Dataset> {
        let loaded = ingest::load(&self.inputs, &self.options)?;
        for line in loaded.report.summary_lines() {
            say(line);
        }
        crate::cli::warnings::reading(&loaded.report, self.options.input_tz, None)
            .for_each(crate::messages::warn);
        let frame = loaded.frame.collect().context("reading the calls")?;
        Dataset::new(frame).context("indexing the calls")
    }

    /// What identifies the inputs' current content: each file with its size
    /// and modification time (an error when a path is gone).
    fn fingerprint(&self) -> Fingerprint {
        let files = ingest::expand_inputs(&self.inputs).map_err(|err| err.to_string())?;
        files
            .into_iter()
            .map(|file| {
                let metadata =
                    std::fs::metadata(&file).map_err(|err| format!("{}: {err}", file.display()))?;
                Ok((file, metadata.len(), metadata.modified().ok()))
            })
            .collect()
    }
}

/// Everything a request may read.
pub struct AppState {
    current: RwLock<Versioned>,
    /// The analytics answers computed, by request and data version.
    pub answers: AnswerCache,
    /// Who may call.
    pub access: Access,
    /// Requests per key and second.
    pub limiter: RateLimiter,
    /// The faults injected on the data routes (none by default).
    pub faults: FaultInjector,
    /// How long a request's body may take to arrive.
    pub body_timeout: Duration,
}

impl AppState {
    /// A state serving `dataset`.
    pub fn new(dataset: Dataset, access: Access, limiter: RateLimiter) -> Self {
        AppState {
            current: RwLock::new(Versioned {
                version: 0,
                dataset: Arc::new(dataset),
            }),
            answers: AnswerCache::new(CacheLimits::default()),
            access,
            limiter,
            faults: FaultInjector::default(),
            body_timeout: ConnectionLimits::default().body_timeout,
        }
    }

    /// The same state, injecting `faults`.
    pub fn with_faults(mut self, faults: FaultInjector) -> Self {
        self.faults = faults;
        self
    }

    /// The same state, keeping analytics answers within `limits`.
    pub fn with_cache(mut self, limits: CacheLimits) -> Self {
        self.answers = AnswerCache::new(limits);
        self
    }

    /// The same state, giving bodies `timeout` to arrive.
    pub fn with_body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// The current data; it stays valid for the caller across a reload.
    pub fn dataset(&self) -> Arc<Dataset> {
        self.versioned().1
    }

    /// The current data and its version, which every reload increments.
    pub fn versioned(&self) -> (u64, Arc<Dataset>) {
        let current = self
            .current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (current.version, Arc::clone(&current.dataset))
    }

    /// Serves `dataset` from now on, as a new version (so that no answer
    /// computed from the previous data is found again), and drops the
    /// answers kept.
    fn replace(&self, dataset: Dataset) {
        let mut current = self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        current.version += 1;
        current.dataset = Arc::new(dataset);
        self.answers.keep_from(current.version);
    }
}

/// The data served and its version.
struct Versioned {
    version: u64,
    dataset: Arc<Dataset>,
}

/// How often `--watch` looks at the inputs (at most).
pub const WATCH_INTERVAL: Duration = Duration::from_millis(500);

/// What identifies the inputs' content: each file with its size and
/// modification time, or why they cannot be listed.
type Fingerprint = Result<Vec<(PathBuf, u64, Option<SystemTime>)>, String>;

/// Watches the inputs on a thread of its own and reloads them when a file
/// changes, appears or goes, once every input has been unchanged for
/// `quiet` (a file being written is not read half way). A reload is refused,
/// the old calls kept and the reason logged, when an input is empty (cut to
/// nothing), when an input changed while it was read, or when the inputs do
/// not load (a header lost, a row cut short); it is tried again at the next
/// change.
pub fn watch(source: Source, state: Arc<AppState>, quiet: Duration) {
    let interval = WATCH_INTERVAL.min(quiet);
    std::thread::spawn(move || {
        let mut seen = source.fingerprint();
        loop {
            std::thread::sleep(interval);
            if source.fingerprint() == seen {
                continue;
            }
            say("inputs changed, reloading once they are quiet");
            seen = settled(&source, quiet, interval);
            match reload(&source, &seen) {
                Ok(dataset) => {
                    let calls = dataset.items.newest_first.len();
                    state.replace(dataset);
                    say(format_args!("reloaded, serving {calls} calls"));
                }
                Err(why) => say(format_args!(
                    "reload failed, still serving the previous calls: {why}"
                )),
            }
        }
    });
}

/// The inputs' fingerprint once it has not changed for `quiet`.
fn settled(source: &Source, quiet: Duration, interval: Duration) -> Fingerprint {
    let mut last = source.fingerprint();
    let mut unchanged_since = Instant::now();
    while unchanged_since.elapsed() < quiet {
        std::thread::sleep(interval);
        let now = source.fingerprint();
        if now != last {
            last = now;
            unchanged_since = Instant::now();
        }
    }
    last
}

/// The inputs read again, when they are whole: none empty, none changed
/// since `settled` nor while read.
fn reload(source: &Source, settled: &Fingerprint) -> Result<Dataset, String> {
    let files = settled.as_ref().map_err(String::clone)?;
    if let Some((empty, ..)) = files.iter().find(|(_, size, _)| *size == 0) {
        return Err(format!(
            "{} is empty (cut to nothing, or being rewritten?)",
            empty.display()
        ));
    }
    let dataset = source.load().map_err(|err| format!("{err:#}"))?;
    if source.fingerprint() != *settled {
        return Err(
            "the inputs changed while they were read; reloading once they are quiet".into(),
        );
    }
    Ok(dataset)
}
