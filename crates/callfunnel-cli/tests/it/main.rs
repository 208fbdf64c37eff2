//! The single integration-test binary (one binary keeps link times low).

mod browser;
mod cli;
mod help;
mod properties;
mod reference;
mod report;
mod sample;
mod table;
mod verify;
