//! The `callfunnel` command's own parts, on top of the `callfunnel` library:
//! the command line ([`cli`]) and its lines on standard error
//! ([`messages`]), numbers as people read them ([`display`]), the
//! text tables ([`table`]) and their CSV ([`csv_tables`]), the findings of
//! `check` as tables ([`check_table`]), the HTML/PNG report ([`report`]) and the
//! synthetic call generator ([`generate`]), the client of Allo's API behind
//! `pull` and `verify --live` ([`pull`]) and the local replica of Allo's API
//! ([`serve`]).

pub mod check_table;
pub mod cli;
pub mod csv_tables;
pub mod display;
pub mod generate;
pub mod messages;
pub mod pull;
pub mod report;
pub mod serve;
pub mod table;
