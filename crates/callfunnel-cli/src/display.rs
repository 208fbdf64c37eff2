//! Numbers as people read them, shared by the text table ([`crate::table`])
//! and the HTML report ([`crate::report`]).
//!
//! ```
//! use callfunnel::Rounding;
//! use callfunnel_cli::display::{change, count, duration, percent, points, seconds};
//!
//! assert_eq!(count(71408), "71,408");
//! assert_eq!(percent(Some(0.376)), "37.6%");
//! assert_eq!(points(Some(0.376), Some(0.408)), "-3.2 pp");
//! assert_eq!(change(Some(-0.04), Rounding::Api), "-4%");
//! assert_eq!(change(Some(0.2763), Rounding::Exact), "+27.6%");
//! assert_eq!(seconds(Some(204.0)), "204.0 s");
//! assert_eq!(duration(71408), "19h 50m 08s");
//! ```

use callfunnel::analysis::{ConnectRateIntervals, ConnectRuleFigures, Interval, Reach};
use callfunnel::response::{Funnel, FunnelStage};
use callfunnel::rounding::CHANGE_DECIMALS;
use callfunnel::Rounding;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// What a missing figure (a rate without dials, a change against 0) prints as.
pub const NOT_AVAILABLE: &str = "n/a";

/// A figure of the comparison period, shown by `show`, or [`NOT_AVAILABLE`]
/// without a comparison (`compare: none`).
pub fn compared<T>(value: Option<T>, show: impl FnOnce(T) -> String) -> String {
    value.map_or_else(|| NOT_AVAILABLE.into(), show)
}

/// The comparison period in words, `compared with FROM to TO`, or `no
/// comparison`; `to` joins the two days.
pub fn comparison(range: Option<callfunnel::request::DateRange>, to: &str) -> String {
    range.map_or_else(
        || "no comparison".into(),
        |range| format!("compared with {}{to}{}", range.from, range.to),
    )
}

/// The columns a table shows, from its columns' titles, each marked `true`
/// when it compares with the previous period: all of them with a
/// comparison, only the unmarked ones without (`compare: none`).
#[derive(Debug, Clone)]
pub struct Columns<'a> {
    titles: Vec<&'a str>,
    shown: Vec<bool>,
}

impl<'a> Columns<'a> {
    /// The columns `columns` (title, whether it compares), shown as `compared` asks.
    pub fn new(columns: &[(&'a str, bool)], compared: bool) -> Columns<'a> {
        let shown: Vec<(&str, bool)> = columns
            .iter()
            .map(|(title, comparing)| (*title, compared || !comparing))
            .collect();
        Columns::showing(&shown)
    }

    /// The columns `columns` (title, whether it is shown).
    pub fn showing(columns: &[(&'a str, bool)]) -> Columns<'a> {
        Columns {
            titles: columns.iter().map(|(title, _)| *title).collect(),
            shown: columns.iter().map(|(_, shown)| *shown).collect(),
        }
    }

    /// The titles of the columns shown.
    pub fn header(&self) -> Vec<&'a str> {
        self.keep(self.titles.iter().copied())
    }

    /// Of a row's cells, one per column, those of the columns shown.
    pub fn keep<T>(&self, cells: impl IntoIterator<Item = T>) -> Vec<T> {
        cells
            .into_iter()
            .zip(&self.shown)
            .filter(|(_, shown)| **shown)
            .map(|(cell, _)| cell)
            .collect()
    }
}

/// A breakdown key as shown: the weekday's name, the hour (`9h`), the
/// text, or `(none)` for the calls without one.
pub fn group_key(
    key: Option<&callfunnel::analysis::GroupKey>,
    group_by: callfunnel::analysis::GroupBy,
) -> String {
    use callfunnel::analysis::{GroupBy, GroupKey};
    match key {
        None => "(none)".into(),
        Some(GroupKey::Hour(hour)) => format!("{hour}h"),
        Some(GroupKey::Text(day)) if group_by == GroupBy::Weekday => weekday(day),
        Some(GroupKey::Text(text)) => text.clone(),
    }
}

/// The connect rules as lines of a table, one measure each, the current
/// period's figure and the comparison period's (n/a without one); rates
/// with their intervals when given.
pub fn connect_rule_lines(
    periods: [Option<&ConnectRuleFigures>; 2],
    rates: [Option<&ConnectRateIntervals>; 2],
) -> [(&'static str, [String; 2]); 7] {
    let counts = |value: fn(&ConnectRuleFigures) -> u64| {
        periods.map(|figures| compared(figures.map(value), count))
    };
    let rate = |value: fn(&ConnectRuleFigures) -> Option<f64>,
                interval: fn(&ConnectRateIntervals) -> &Interval| {
        [0, 1].map(|period| match periods[period] {
            Some(figures) => rate_within(value(figures), rates[period].map(interval)),
            None => NOT_AVAILABLE.to_string(),
        })
    };
    [
        ("Dials", counts(|f| f.dials)),
        ("Voicemails", counts(|f| f.voicemails)),
        ("Connected", counts(|f| f.connected)),
        (
            "Connect rate (voicemail not connected)",
            rate(|f| f.connect_rate, |r| &r.connect_rate),
        ),
        (
            "Connect rate, voicemail counted as connected",
            rate(
                |f| f.connect_rate_with_voicemail,
                |r| &r.connect_rate_with_voicemail,
            ),
        ),
        (
            "Connect rate, voicemail left out of the dials",
            rate(
                |f| f.connect_rate_excl_voicemail,
                |r| &r.connect_rate_excl_voicemail,
            ),
        ),
        (
            "Voicemail inflation",
            rate(|f| f.voicemail_inflation, |r| &r.voicemail_inflation),
        ),
    ]
}

/// Contact reach as lines of a table, one figure each; the reach rate with
/// its interval when given.
pub fn reach_lines(reach: &Reach, rate: Option<&Interval>) -> [(&'static str, String); 9] {
    let average = |value: Option<f64>| {
        value.map_or_else(|| NOT_AVAILABLE.to_string(), |value| format!("{value:.1}"))
    };
    let first_connect = &reach.dials_to_first_connect;
    [
        ("Contacts dialled", count(reach.contacts_dialled)),
        ("Contacts reached", count(reach.contacts_reached)),
        ("Contacts converted", count(reach.contacts_converted)),
        ("Reach rate", rate_within(reach.reach_rate, rate)),
        ("Dials per contact", average(reach.dials_per_contact)),
        ("Dials to first connect, mean", average(first_connect.mean)),
        (
            "Dials to first connect, median",
            average(first_connect.median),
        ),
        (
            "Unreached after 5 dials",
            count(reach.unreached_after_5_dials),
        ),
        (
            "Dials without a contact number",
            count(reach.dials_without_contact),
        ),
    ]
}

/// A whole number with `,` between groups of three digits.
pub fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut text = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

/// A fraction as a percentage with one decimal, e.g. `0.376` → `37.6%`.
pub fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(
        || NOT_AVAILABLE.into(),
        |rate| format!("{:.1}%", rate * 100.0),
    )
}

/// A rate with its 95 % interval in percent, e.g. `41.9% (38.1–45.8)`, and
/// [`SMALL_SAMPLE_MARK`] after it when the interval rests on fewer than 30
/// calls; the rate alone without an interval (or without trials).
pub fn rate_within(rate: Option<f64>, interval: Option<&Interval>) -> String {
    let rate_text = percent(rate);
    let Some(interval) = interval else {
        return rate_text;
    };
    let mark = if interval.small_sample {
        SMALL_SAMPLE_MARK
    } else {
        ""
    };
    match (interval.low, interval.high) {
        (Some(low), Some(high)) => {
            format!("{rate_text} ({:.1}–{:.1}){mark}", low * 100.0, high * 100.0)
        }
        _ => format!("{rate_text}{mark}"),
    }
}

/// The mark of a rate resting on fewer than 30 calls.
pub const SMALL_SAMPLE_MARK: &str = " *";

/// A relative change as a signed percentage at the precision it holds: the
/// API rounds a change to 2 decimals of a fraction, so whole percents
/// (`0.28` → `+28%`, never `+28.0%`, which would claim a precision the
/// figure lacks); an exact change (`--exact`) gets one decimal (`0.2763` →
/// `+27.6%`). No sign for 0.
pub fn change(change: Option<f64>, rounding: Rounding) -> String {
    let decimals = match rounding {
        Rounding::Api => CHANGE_DECIMALS.saturating_sub(2) as usize,
        Rounding::Exact => 1,
    };
    match change {
        None => NOT_AVAILABLE.into(),
        Some(change) => format!("{}%", signed(change * 100.0, decimals)),
    }
}

/// `value` with `decimals` decimals and its sign, but none when it prints
/// as zero (`-0.0004` at one decimal is `0.0`, not `-0.0`).
fn signed(value: f64, decimals: usize) -> String {
    let magnitude = format!("{:.decimals$}", value.abs());
    if magnitude.bytes().all(|digit| matches!(digit, b'0' | b'.')) {
        magnitude
    } else {
        format!("{value:+.decimals$}")
    }
}

/// The difference of two rates in percentage points, signed, one decimal
/// (rates hold 3 decimals of a fraction): `0.376` against `0.408` →
/// `-3.2 pp`; n/a when either rate is missing.
pub fn points(rate: Option<f64>, previous: Option<f64>) -> String {
    point_difference(rate.zip(previous).map(|(rate, previous)| rate - previous))
}

/// A difference of two rates in percentage points, signed, one decimal:
/// `-0.032` → `-3.2 pp`; n/a when there is none.
pub fn point_difference(difference: Option<f64>) -> String {
    match difference {
        None => NOT_AVAILABLE.into(),
        Some(difference) => format!("{} pp", signed(difference * 100.0, 1)),
    }
}

/// An instant the API writes in UTC (`2024-03-17T22:45:00Z`) as the wall
/// clock of `zone` reads it, `2024-03-17 23:45:00`; text that is not such an
/// instant is kept as it is.
pub fn local_time(utc: &str, zone: Tz) -> String {
    DateTime::parse_from_rfc3339(utc).map_or_else(
        |_| utc.to_string(),
        |instant| {
            instant
                .with_timezone(&Utc)
                .with_timezone(&zone)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        },
    )
}

/// The funnel's stages in funnel order, each with the name people read.
pub fn funnel_stages(funnel: &Funnel) -> [(&'static str, &FunnelStage); 4] {
    [
        ("Dials", &funnel.dials),
        ("Connected", &funnel.connected),
        ("Conversations", &funnel.conversations),
        ("Conversions", &funnel.conversions),
    ]
}

/// A mean number of seconds, e.g. `20.04` → `20.0 s`.
pub fn seconds(value: Option<f64>) -> String {
    value.map_or_else(|| NOT_AVAILABLE.into(), |value| format!("{value:.1} s"))
}

/// A total of seconds in hours, minutes and seconds, e.g. `71408` → `19h 50m 08s`.
pub fn duration(total: u64) -> String {
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    if hours > 0 {
        format!("{hours}h {minutes:02}m {seconds:02}s")
    } else if minutes > 0 {
        format!("{minutes}m {seconds:02}s")
    } else {
        format!("{seconds}s")
    }
}

/// `MONDAY` → `Monday`.
pub fn weekday(day: &str) -> String {
    let mut letters = day.chars();
    letters.next().map_or_else(String::new, |first| {
        first
            .to_uppercase()
            .chain(letters.flat_map(char::to_lowercase))
            .collect()
    })
}

/// A rep's display name: the name, else the email, else the id, else `unknown`.
pub fn user_name(user: &callfunnel::response::UserRef) -> &str {
    [&user.name, &user.email, &user.id]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .find(|text| !text.trim().is_empty())
        .unwrap_or("unknown")
}

/// `text` with every control character (escape, carriage return, line feed,
/// tab, DEL, C1…) shown as an escape such as `\x1b` or `\u{9b}`, so that a
/// value read from an input cannot move the cursor or restyle a terminal.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for character in text.chars() {
        match character {
            '\t' => shown.push_str("\\t"),
            '\n' => shown.push_str("\\n"),
            '\r' => shown.push_str("\\r"),
            control if control.is_control() && u32::from(control) < 0x80 => {
                shown.push_str(&format!("\\x{:02x}", u32::from(control)));
            }
            control if control.is_control() => {
                shown.push_str(&format!("\\u{{{:x}}}", u32::from(control)));
            }
            other => shown.push(other),
        }
    }
    std::borrow::Cow::Owned(shown)
}

/// `text` with the control characters of each line escaped ([`printable`]),
/// its line breaks kept.
pub fn printable_lines(text: &str) -> String {
    text.split('\n')
        .map(printable)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether a change is better, worse or neither, given which way is good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trend {
    /// Moved the good way.
    Better,
    /// Moved the bad way.
    Worse,
    /// No change, or no change to speak of.
    Flat,
}

impl Trend {
    /// The trend of `change` for a figure where a rise is good when
    /// `higher_is_better` (counts, talk time), bad otherwise (ringing time).
    pub fn of(change: Option<f64>, higher_is_better: bool) -> Trend {
        match change {
            Some(change) if (change * 1000.0).round() != 0.0 => {
                if (change > 0.0) == higher_is_better {
                    Trend::Better
                } else {
                    Trend::Worse
                }
            }
            _ => Trend::Flat,
        }
    }
}

/// The arrow of a change: `▲` up, `▼` down, `=` none.
pub fn arrow(change: Option<f64>) -> &'static str {
    match change {
        Some(change) if (change * 1000.0).round() > 0.0 => "▲",
        Some(change) if (change * 1000.0).round() < 0.0 => "▼",
        Some(_) => "=",
        None => " ",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
    }

    #[test]
    fn changes_and_trends() {
        assert_eq!(change(Some(0.0), Rounding::Api), "0%");
        assert_eq!(change(Some(0.16), Rounding::Api), "+16%");
        assert_eq!(change(Some(0.28), Rounding::Api), "+28%");
        assert_eq!(change(Some(-0.04), Rounding::Api), "-4%");
        assert_eq!(change(None, Rounding::Api), "n/a");
        assert_eq!(change(Some(0.0), Rounding::Exact), "0.0%");
        assert_eq!(change(Some(0.27634), Rounding::Exact), "+27.6%");
        assert_eq!(change(Some(-0.0004), Rounding::Exact), "0.0%");
        assert_eq!(change(Some(-0.0006), Rounding::Exact), "-0.1%");
        assert_eq!(points(Some(0.376), Some(0.408)), "-3.2 pp");
        assert_eq!(points(Some(0.5), Some(0.5)), "0.0 pp");
        assert_eq!(points(Some(1.0), Some(0.25)), "+75.0 pp");
        assert_eq!(points(Some(0.5), None), "n/a");
        assert_eq!(Trend::of(Some(0.1), true), Trend::Better);
        assert_eq!(Trend::of(Some(0.1), false), Trend::Worse);
        assert_eq!(Trend::of(Some(-0.01), false), Trend::Better);
        assert_eq!(Trend::of(None, true), Trend::Flat);
        assert_eq!(arrow(Some(-0.04)), "▼");
    }

    #[test]
    fn rates_with_intervals_and_points() {
        use callfunnel::analysis::wilson;
        use callfunnel::Rounding;
        assert_eq!(
            rate_within(Some(0.308), Some(&wilson(81, 263, Rounding::Api))),
            "30.8% (25.5–36.6)"
        );
        assert_eq!(
            rate_within(Some(0.1), Some(&wilson(1, 10, Rounding::Api))),
            "10.0% (1.8–40.4) *"
        );
        assert_eq!(
            rate_within(None, Some(&wilson(0, 0, Rounding::Api))),
            "n/a *"
        );
        assert_eq!(rate_within(Some(0.5), None), "50.0%");
        assert_eq!(point_difference(Some(-0.07)), "-7.0 pp");
        assert_eq!(point_difference(Some(0.0)), "0.0 pp");
        assert_eq!(point_difference(Some(-0.0004)), "0.0 pp");
        assert_eq!(point_difference(None), "n/a");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("Ann Lee"), "Ann Lee");
        assert_eq!(printable("a\u{1b}[31mb\tc\nd"), "a\\x1b[31mb\\tc\\nd");
        assert_eq!(printable("x\u{9b}y\u{7f}"), "x\\u{9b}y\\x7f");
        assert_eq!(printable("é ü"), "é ü");
        assert_eq!(printable_lines("a\u{1b}\nb\n"), "a\\x1b\nb\n");
    }

    #[test]
    fn instants_in_a_zone() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        assert_eq!(
            local_time("2024-03-17T22:45:00Z", paris),
            "2024-03-17 23:45:00"
        );
        assert_eq!(
            local_time("2024-03-31T01:30:00Z", paris),
            "2024-03-31 03:30:00"
        );
        assert_eq!(
            local_time("2024-03-17T22:45:00Z", Tz::UTC),
            "2024-03-17 22:45:00"
        );
        assert_eq!(local_time("yesterday", paris), "yesterday");
    }

    #[test]
    fn durations_and_names() {
        assert_eq!(duration(59), "59s");
        assert_eq!(duration(61), "1m 01s");
        assert_eq!(weekday("WEDNESDAY"), "Wednesday");
        let user = callfunnel::response::UserRef {
            id: Some("usr-1".into()),
            name: None,
            email: Some(" ".into()),
        };
        assert_eq!(user_name(&user), "usr-1");
    }
}
