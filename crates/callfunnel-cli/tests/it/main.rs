//! The single integration-test binary (one binary keeps link times low).

mod analysis;
mod browser;
mod cli;
mod hardening;
mod help;
mod one_home;
mod properties;
mod pull;
mod reference;
mod report;
mod sample;
mod serve;
mod snapshots;
mod store;
mod table;
mod verify;

/// The repository's root, where `sample_data/` and the README live.
pub(crate) fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
