//! `metrics --format table`: the response as text for people.
//!
//! The expected text holds the figures of `sample_data/expected_response.json`
//! (from `sample_data/expected.py`): dials 930 against 858 (+8%), connected
//! 350, conversations 193, conversions 58, and so on.

use callfunnel::ingest::{load, IngestOptions};
use callfunnel::{compute, Request, Rounding};
use callfunnel_cli::table::TableInput;

use crate::harness::{assert_status, command, repo_root, sample_path, stdout_of};

/// The plain (not a terminal) table of the sample and `request.json`.
const EXPECTED: &str = r"Outbound calls 2024-03-04 to 2024-03-17, compared with 2024-02-19 to 2024-03-03
Last call loaded: 2024-03-31T21:42:17Z · definitions version 2.1

Funnel
╭───────────────┬─────────┬──────────┬────────┬────────┬───────────────┬─────────────╮
│ Stage         ┆ Current ┆ Previous ┆ Change ┆   Rate ┆ Previous rate ┆ Rate change │
╞═══════════════╪═════════╪══════════╪════════╪════════╪═══════════════╪═════════════╡
│ Dials         ┆     930 ┆      858 ┆    +8% ┆ 100.0% ┆        100.0% ┆      0.0 pp │
│ Connected     ┆     350 ┆      350 ┆     0% ┆  37.6% ┆         40.8% ┆     -3.2 pp │
│ Conversations ┆     193 ┆      200 ┆    -4% ┆  20.8% ┆         23.3% ┆     -2.5 pp │
│ Conversions   ┆      58 ┆       58 ┆     0% ┆   6.2% ┆          6.8% ┆     -0.6 pp │
╰───────────────┴─────────┴──────────┴────────┴────────┴───────────────┴─────────────╯

Time spent
╭───────────────────────────┬─────────────┬─────────────┬────────╮
│ Time                      ┆     Current ┆    Previous ┆ Change │
╞═══════════════════════════╪═════════════╪═════════════╪════════╡
│ Average ringing time      ┆      20.0 s ┆      20.1 s ┆    -1% │
│ Average conversation time ┆     204.0 s ┆     176.5 s ┆   +16% │
│ Total conversation time   ┆ 19h 50m 08s ┆ 17h 09m 39s ┆   +16% │
╰───────────────────────────┴─────────────┴─────────────┴────────╯

Leaderboard: connected calls, top 6 of 6 reps
╭───┬───────────────┬────────────┬───────────╮
│ # ┆ Rep           ┆ User id    ┆ Connected │
╞═══╪═══════════════╪════════════╪═══════════╡
│ 1 ┆ Zoë Müller    ┆ usr-7b1x3d ┆        75 │
│ 2 ┆ Alice Martin  ┆ usr-4k2m9q ┆        66 │
│ 3 ┆ Samuel Carter ┆ usr-2c5v7n ┆        64 │
│ 4 ┆ Priya Shah    ┆ usr-6h3j8p ┆        59 │
│ 5 ┆ Łukasz Nowak  ┆ usr-9f8e2a ┆        45 │
│ 6 ┆ Mathéo Girard ┆ usr-1a9z4w ┆        37 │
╰───┴───────────────┴────────────┴───────────╯

Dials by weekday and hour: · none, ░▒▓█ up to 36
    0     6     12    18
Mon ░······░░▒▒▓▒░▒▓█▓▓·░░··
Tue ·······░░▒█▓░·▓▓▒▓▒░░···
Wed ·······░▒▒▓▓░░▓▓█░▓··░··
Thu ········░▒▓▓░·▒▓▓▒▒··░··
Fri ·······░░▒▒▒▒░▒██▓▓·░···
Sat ·······░··░··░·····░░···
Sun ·······░··░··········░·░
";

/// Runs `callfunnel metrics --format table` on the sample with `request`.
fn table_of(request: &str) -> String {
    let output = command(&["metrics", "--input"])
        .arg(sample_path("calls.csv"))
        .arg("--request")
        .arg(sample_path(request))
        .args(["--format", "table"])
        .output()
        .expect("running callfunnel");
    assert_status(&output, 0);
    stdout_of(&output)
}

/// The sample's request `name` and its response, from the library.
fn sample_response(name: &str) -> (Request, callfunnel::Response) {
    let body = std::fs::read_to_string(sample_path(name)).expect("reading the request");
    let request = Request::from_json_str(&body).expect("a valid request");
    let loaded = load(&[sample_path("calls.csv")], &IngestOptions::default()).expect("loading");
    let response = compute(loaded.frame, &request).expect("computing");
    (request, response)
}

#[test]
fn table_prints_the_sample_as_plain_text() {
    let text = table_of("request.json");
    assert_eq!(text, EXPECTED);
    assert!(!text.contains('\u{1b}'), "no escape codes off a terminal");
}

/// The escape codes that start green and red text.
const GREEN: &str = "\u{1b}[38;5;10m";
const RED: &str = "\u{1b}[38;5;9m";

/// The escape code that starts the cell holding `needle` (padding aside).
fn colour_of<'a>(text: &'a str, needle: &str) -> &'a str {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` in {text}"));
    let before = text[..at].trim_end_matches(' ');
    let start = before.rfind('\u{1b}').expect("an escape code");
    &before[start..]
}

#[test]
fn table_with_color_has_arrows_and_colours() {
    let (request, response) = sample_response("request.json");
    let input = TableInput {
        response: &response,
        request: &request,
        rounding: Rounding::Api,
        all_calls: None,
    };
    let text = callfunnel_cli::table::render(&input, true);
    assert!(text.contains('\u{1b}'), "escape codes");
    // Dials up (good: green), conversations down (bad: red), ringing time
    // down (good: green), connected unchanged.
    assert_eq!(colour_of(&text, "▲ +8%"), GREEN);
    assert_eq!(colour_of(&text, "▼ -4%"), RED);
    assert_eq!(colour_of(&text, "▼ -1%"), GREEN);
    assert!(text.contains("= 0%"), "{text}");
    assert_eq!(
        callfunnel_cli::table::render(&input, false),
        EXPECTED,
        "the library's plain text is the command's"
    );
}

#[test]
fn table_lists_the_drilldown_page() {
    let text = table_of("request_drilldown.json");
    assert!(text.starts_with(&EXPECTED[..EXPECTED.find("Dials by").expect("a heatmap")]));
    let calls = text
        .split_once("Calls: page 1 of 20, 10 per page, 193 in all\n")
        .expect("the drilldown section")
        .1;
    assert_eq!(
        calls.lines().filter(|line| line.contains("cll-")).count(),
        10
    );
    // Dated in the request's zone: 22:45 UTC is 23:45 in Paris.
    assert!(calls.starts_with("╭"), "{calls}");
    assert!(calls.contains("│ Date (Europe/Paris) ┆ Call "), "{calls}");
    assert!(calls.contains("│ 2024-03-17 23:45:00 ┆ cll-zl7tz2yf4w ┆ Alice Martin  ┆ +13125557093 ┆ CONVERSION   ┆   1m 35s │"));
}

#[test]
fn the_readme_shows_the_current_table() {
    let readme =
        std::fs::read_to_string(repo_root().join("README.md")).expect("reading the README");
    assert!(
        readme.contains(EXPECTED),
        "README.md's table example differs from the command's output"
    );
}
