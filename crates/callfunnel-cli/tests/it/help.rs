//! Help text and shell completions: every subcommand and flag is documented,
//! every subcommand has an example.

use crate::harness::{callfunnel, run, stdout_of};

/// Every subcommand of `callfunnel`.
const SUBCOMMANDS: &[&str] = &[
    "metrics",
    "report",
    "verify",
    "definitions",
    "generate",
    "convert",
    "pull",
    "completions",
    "serve",
];

/// What a successful `callfunnel ARGS…` prints on standard output.
fn printed(args: &[&str]) -> String {
    let output = run(args, None);
    assert!(output.status.success(), "callfunnel {args:?} failed");
    stdout_of(&output)
}

/// The flags of a help text that have no description: a flag line whose
/// text after the flag is empty and whose next line is not its description.
fn undocumented_flags(help: &str) -> Vec<String> {
    let lines: Vec<&str> = help.lines().collect();
    let mut missing = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        // Flags and positional arguments; not the `- value: …` lines of possible values.
        let is_flag =
            (trimmed.starts_with('-') && !trimmed.starts_with("- ")) || trimmed.starts_with('<');
        if !is_flag || line.len() == trimmed.len() {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let same_line = trimmed.split_once("  ").map(|(_, rest)| rest.trim());
        let next_line = lines.get(index + 1).filter(|next| {
            let next_trimmed = next.trim_start();
            !next_trimmed.is_empty()
                && next.len() - next_trimmed.len() > indent
                && !next_trimmed.starts_with('-')
        });
        if same_line.map_or(true, str::is_empty) && next_line.is_none() {
            missing.push(trimmed.to_string());
        }
    }
    missing
}

#[test]
fn every_subcommand_is_listed_with_examples() {
    let help = printed(&["--help"]);
    for name in SUBCOMMANDS {
        assert!(help.contains(&format!("  {name} ")), "{name} in:\n{help}");
    }
    assert!(help.contains("Examples:"), "{help}");
    assert!(undocumented_flags(&help).is_empty(), "{help}");
}

#[test]
fn every_subcommand_and_flag_is_documented_with_an_example() {
    for name in SUBCOMMANDS {
        let help = printed(&[name, "--help"]);
        assert!(
            help.contains("Example: callfunnel "),
            "no example for {name}:\n{help}"
        );
        let missing = undocumented_flags(&help);
        assert!(missing.is_empty(), "{name}: undocumented {missing:?}");
    }
}

#[test]
fn completions_cover_subcommands_and_flags() {
    let bash = printed(&["completions", "bash"]);
    for word in ["metrics", "report", "--request", "--format", "--png"] {
        assert!(bash.contains(word), "`{word}` in the bash completions");
    }
    assert!(bash.contains("complete -F _callfunnel"), "a bash script");
    let zsh = printed(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef callfunnel"), "a zsh script");
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    callfunnel()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stdout("");
}

#[test]
fn the_command_line_definition_is_consistent() {
    use clap::CommandFactory;
    callfunnel_cli::cli::Cli::command().debug_assert();
}
