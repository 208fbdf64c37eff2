//! What the server holds: the loaded calls (as a frame for the engine and as
//! items for the conversation routes), swapped whole on a reload so that
//! answers in flight keep the data they started with.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use callfunnel::ingest::{self, IngestOptions};
use polars::prelude::DataFrame;

use super::auth::Access;
use super::faults::FaultInjector;
use super::items::ItemStore;
use super::rate_limit::RateLimiter;
use crate::messages::say;

/// One load of the inputs.
pub struct Dataset {
    /// The canonical call frame, for the engine.
    pub frame: DataFrame,
    /// The same calls as conversation items.
    pub items: ItemStore,
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
    /// Reads every input and builds the items; prints the ingest summary.
    pub fn load(&self) -> anyhow::Result<Dataset> {
        let loaded = ingest::load(&self.inputs, &self.options)?;
        for line in loaded.report.summary_lines() {
            say(line);
        }
        let frame = loaded.frame.collect().context("reading the calls")?;
        let items = ItemStore::from_frame(&frame).context("indexing the calls")?;
        Ok(Dataset { frame, items })
    }

    /// What identifies the inputs' current content: each file with its size
    /// and modification time (an error when a path is gone).
    fn fingerprint(&self) -> Result<Vec<(PathBuf, u64, Option<SystemTime>)>, String> {
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
    dataset: RwLock<Arc<Dataset>>,
    /// Who may call.
    pub access: Access,
    /// Requests per key and second.
    pub limiter: RateLimiter,
    /// The faults injected on the data routes (none by default).
    pub faults: FaultInjector,
}

impl AppState {
    /// A state serving `dataset`.
    pub fn new(dataset: Dataset, access: Access, limiter: RateLimiter) -> Self {
        AppState {
            dataset: RwLock::new(Arc::new(dataset)),
            access,
            limiter,
            faults: FaultInjector::default(),
        }
    }

    /// The same state, injecting `faults`.
    pub fn with_faults(mut self, faults: FaultInjector) -> Self {
        self.faults = faults;
        self
    }

    /// The current data; it stays valid for the caller across a reload.
    pub fn dataset(&self) -> Arc<Dataset> {
        self.dataset
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn replace(&self, dataset: Dataset) {
        *self
            .dataset
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(dataset);
    }
}

/// How often `--watch` looks at the inputs.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(500);

/// Watches the inputs on a thread of its own and reloads them when a file
/// changes, appears or goes; a failed reload keeps the old data and says why.
pub fn watch(source: Source, state: Arc<AppState>) {
    std::thread::spawn(move || {
        let mut seen = source.fingerprint();
        loop {
            std::thread::sleep(WATCH_INTERVAL);
            let now = source.fingerprint();
            if now == seen {
                continue;
            }
            seen = now;
            say("inputs changed, reloading");
            match source.load() {
                Ok(dataset) => {
                    let calls = dataset.items.newest_first.len();
                    state.replace(dataset);
                    say(format!("reloaded, serving {calls} calls"));
                }
                Err(err) => say(format!(
                    "reload failed, still serving the previous calls: {err:#}"
                )),
            }
        }
    });
}
