//! The single integration-test binary (one binary keeps link times low).

mod cli;
mod properties;
mod reference;
mod sample;
mod verify;
