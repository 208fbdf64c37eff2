//! `callfunnel completions`: shell completion scripts, from the command's own definition.

use std::process::ExitCode;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{write_stdout, Cli, Failure};

/// Arguments of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, ignore_case = true, value_name = "SHELL")]
    shell: Shell,
}

/// Prints the completion script of `callfunnel` for the shell.
pub fn run(args: CompletionsArgs) -> Result<ExitCode, Failure> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "callfunnel", &mut script);
    write_stdout(&String::from_utf8_lossy(&script))
}
