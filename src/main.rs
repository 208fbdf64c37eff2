//! The `callfunnel` command: a thin shell over the library (see `cli`).

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    cli::run(cli::Cli::parse())
}
