//! The command's integration tests, one binary (one binary keeps link times
//! low). The library's own tests are in `crates/callfunnel/tests/it/`.

mod analysis;
mod browser;
mod check;
mod cli;
mod csv_tables;
mod hardening;
mod hardening_pull;
mod hardening_serve;
mod hardening_store;
mod harness;
mod help;
mod one_home;
mod periods;
mod pull;
mod report;
mod serve;
mod snapshots;
mod store;
mod table;
