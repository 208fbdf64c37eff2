//! Every line the command writes on standard error: results of a run,
//! warnings, errors and `serve`'s log. Each line starts with `callfunnel: `,
//! has its control characters escaped (a value read from an input or a
//! request can neither restyle a terminal nor forge a line of the log), and a
//! failed write (stderr closed or full) is ignored: a message never costs the
//! data on stdout, nor ends the run in a panic as `eprintln!` would.

use std::io::Write;

/// Prints `callfunnel: MESSAGE` on standard error, as one line.
pub fn say(message: impl std::fmt::Display) {
    let line = format!(
        "callfunnel: {}\n",
        crate::display::printable(&message.to_string())
    );
    let _ignored = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Prints `callfunnel: warning: MESSAGE` on standard error: something the
/// user should know that does not stop the run.
pub fn warn(message: impl std::fmt::Display) {
    say(format_args!("warning: {message}"));
}
