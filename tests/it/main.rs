//! The single integration-test binary (one binary keeps link times low).

mod cli;
mod help;
mod properties;
mod reference;
mod sample;
mod table;
mod verify;
