//! The `callfunnel` command: a thin shell over the library (see `cli`).

use callfunnel_cli::cli;
use clap::Parser;

/// Polars allocates and frees large buffers at a high rate; mimalloc serves
/// them faster than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::run(cli::Cli::parse())
}
