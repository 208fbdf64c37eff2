//! Every table of a response as CSV, for spreadsheets (`metrics --format
//! csv --table NAME`, `report --csv DIR`).
//!
//! Columns are named for people (`Stage,Current,Previous,Change,Rate,…`);
//! dates and hours are the request's zone's, named in the header (`Day
//! (Europe/Paris)`); rates, changes and averages are plain numbers with
//! four decimals (fractions: `0.3760` is 37.6 %, so a spreadsheet computes
//! on them); counts are whole numbers without separators. A figure that does
//! not exist (a change against 0, the rate of a bucket without dials) is an
//! empty cell: the JSON's 0 for an empty bucket's rate would read as a real
//! 0 % in a chart or a mean. Quoting is the `csv` crate's.

use std::io::Write;

use callfunnel::analysis::{
    Analysis, Breakdown, ConnectRuleFigures, ConnectRules, GroupBy, GroupFigures, GroupKey, Reach,
};
use callfunnel::engine::{DrilldownRow, DrilldownRows};
use callfunnel::request::Granularity;
use callfunnel::response::{MetricValue, Response, TimeSeries, TimeSeriesPoint};
use callfunnel::{EngineError, Request, Rounding};
use clap::ValueEnum;

use crate::display;

/// A table of the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableName {
    /// Stages: counts of both periods, change, rates and their difference.
    Funnel,
    /// Ringing and talk time of both periods.
    #[value(name = "time_spent")]
    TimeSpent,
    /// One row per bucket: dials, connected, connection rate, conversions,
    /// and the comparison period's bucket of the same rank.
    Series,
    /// One row per weekday and hour: dials, connected, connection rate.
    Heatmap,
    /// Connected calls per rep, best first.
    Leaderboard,
    /// The drilldown's calls with their result, tags, rep and number label.
    Items,
    /// The breakdown's page of groups (SPEC §8.1): counts, rates, talk
    /// time, the comparison's and, with intervals, the connect rate's bounds.
    Breakdown,
    /// The connect rate under each rule, both periods (SPEC §8.2).
    #[value(name = "connect_rules")]
    ConnectRules,
    /// Contact reach's figures (SPEC §8.3).
    Reach,
}

impl TableName {
    /// Every table, in the order `report --csv` writes them.
    pub const ALL: [TableName; 9] = [
        TableName::Funnel,
        TableName::TimeSpent,
        TableName::Series,
        TableName::Heatmap,
        TableName::Leaderboard,
        TableName::Items,
        TableName::Breakdown,
        TableName::ConnectRules,
        TableName::Reach,
    ];

    /// The tables a response to `request` has: those of the API, the
    /// drilldown's when it asks for one, and each analysis it asks for.
    pub fn of(request: &Request) -> Vec<TableName> {
        let analysis = &request.analysis;
        TableName::ALL
            .into_iter()
            .filter(|name| match name {
                TableName::Items => request.items.is_some(),
                TableName::Breakdown => analysis.breakdown.is_some(),
                TableName::ConnectRules => analysis.connect_rules,
                TableName::Reach => analysis.reach,
                _ => true,
            })
            .collect()
    }

    /// The table's name on the command line and as a file stem, e.g. `time_spent`.
    pub fn name(self) -> &'static str {
        match self {
            TableName::Funnel => "funnel",
            TableName::TimeSpent => "time_spent",
            TableName::Series => "series",
            TableName::Heatmap => "heatmap",
            TableName::Leaderboard => "leaderboard",
            TableName::Items => "items",
            TableName::Breakdown => "breakdown",
            TableName::ConnectRules => "connect_rules",
            TableName::Reach => "reach",
        }
    }
}

/// Why a table could not be written.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// Writing failed (the output, not the data).
    #[error(transparent)]
    Write(#[from] csv::Error),
    /// Reading the drilldown's calls failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// `items` of a request without a drilldown.
    #[error("the items table needs a drilldown: --extend items --stage STAGE")]
    NoDrilldown,
    /// An analysis table of a request that does not ask for it.
    #[error("the {table} table needs {flag}")]
    NotAsked {
        /// The table's name.
        table: &'static str,
        /// The flag that asks for it.
        flag: &'static str,
    },
}

/// What the tables are made of.
#[derive(Debug, Clone, Copy)]
pub struct Tables<'a> {
    /// The metrics.
    pub response: &'a Response,
    /// The request they answer: its zone and buckets name the date columns.
    pub request: &'a Request,
    /// How the response was rounded (previous rates are rounded alike).
    pub rounding: Rounding,
    /// The comparison period's time series, beside the current one in
    /// `series`.
    pub previous: Option<&'a TimeSeries>,
    /// The drilldown's calls, for `items`.
    pub calls: Option<&'a DrilldownRows>,
}

impl Tables<'_> {
    /// Writes the table `name` as CSV to `out`.
    pub fn write(&self, name: TableName, out: impl Write) -> Result<(), TableError> {
        let mut csv = csv::Writer::from_writer(out);
        match name {
            TableName::Funnel => self.funnel(&mut csv)?,
            TableName::TimeSpent => self.time_spent(&mut csv)?,
            TableName::Series => self.series(&mut csv)?,
            TableName::Heatmap => self.heatmap(&mut csv)?,
            TableName::Leaderboard => self.leaderboard(&mut csv)?,
            TableName::Items => {
                let calls = self.calls.ok_or(TableError::NoDrilldown)?;
                items_records(&mut csv, calls.iter()?, self.request)?;
            }
            TableName::Breakdown => {
                let breakdown =
                    self.analysis(name, "--by KEY", |found| found.breakdown.as_ref())?;
                self.breakdown(breakdown, &mut csv)?;
            }
            TableName::ConnectRules => {
                let rules = self.analysis(name, "--connect-rules", |found| {
                    found.connect_rules.as_ref()
                })?;
                connect_rules_records(rules, &mut csv)?;
            }
            TableName::Reach => {
                let reach = self.analysis(name, "--reach", |found| found.reach.as_ref())?;
                reach_records(reach, &mut csv)?;
            }
        }
        csv.flush().map_err(csv::Error::from)?;
        Ok(())
    }

    /// The part of the response's analysis that table `name` shows, or the
    /// error naming the `flag` that asks for it.
    fn analysis<T>(
        &self,
        name: TableName,
        flag: &'static str,
        part: impl FnOnce(&Analysis) -> Option<&T>,
    ) -> Result<&T, TableError> {
        self.response
            .analysis
            .as_ref()
            .and_then(part)
            .ok_or(TableError::NotAsked {
                table: name.name(),
                flag,
            })
    }

    /// `Date (ZONE)`-style header: `what` and the request's zone.
    fn zoned(&self, what: &str) -> String {
        format!("{what} ({})", self.request.timezone.name())
    }

    /// The columns shown of `columns`: without a comparison period, none
    /// that compares with it.
    fn columns<'a>(&self, columns: &[(&'a str, bool)]) -> display::Columns<'a> {
        display::Columns::new(columns, self.response.data.compare_date.is_some())
    }

    fn funnel<W: Write>(&self, csv: &mut csv::Writer<W>) -> csv::Result<()> {
        let funnel = &self.response.data.funnel;
        let columns = self.columns(&[
            ("Stage", false),
            ("Current", false),
            ("Previous", true),
            ("Change", true),
            ("Rate", false),
            ("Previous rate", true),
            ("Rate difference", true),
        ]);
        csv.write_record(columns.header())?;
        for (name, stage) in display::funnel_stages(funnel) {
            let previous_rate = stage.previous_rate(funnel.dials.count.previous, self.rounding);
            let difference = stage.rate.zip(previous_rate).map(|(now, then)| now - then);
            csv.write_record(columns.keep([
                name.to_string(),
                stage.count.value.to_string(),
                optional_count(stage.count.previous),
                fraction(stage.count.change),
                fraction(stage.rate),
                fraction(previous_rate),
                fraction(difference),
            ]))?;
        }
        Ok(())
    }

    fn time_spent<W: Write>(&self, csv: &mut csv::Writer<W>) -> csv::Result<()> {
        let spent = &self.response.data.time_spent;
        let columns = self.columns(&[
            ("Measure", false),
            ("Current", false),
            ("Previous", true),
            ("Change", true),
        ]);
        csv.write_record(columns.header())?;
        let averages: [(&str, &MetricValue<Option<f64>>); 2] = [
            ("Average ringing time (s)", &spent.avg_ringing_time_seconds),
            (
                "Average conversation time (s)",
                &spent.avg_conversation_time_seconds,
            ),
        ];
        for (name, metric) in averages {
            csv.write_record(columns.keep([
                name.to_string(),
                fraction(metric.value),
                fraction(metric.previous.flatten()),
                fraction(metric.change),
            ]))?;
        }
        let total = &spent.total_conversation_time_seconds;
        csv.write_record(columns.keep([
            "Total conversation time (s)".to_string(),
            total.value.to_string(),
            optional_count(total.previous),
            fraction(total.change),
        ]))
    }

    fn series<W: Write>(&self, csv: &mut csv::Writer<W>) -> csv::Result<()> {
        let bucket = match self.request.granularity {
            Granularity::Day => "Day",
            Granularity::Week => "Week from Monday",
            Granularity::Month => "Month",
        };
        let mut header = vec![
            self.zoned(bucket),
            "Dials".into(),
            "Connected".into(),
            "Connection rate".into(),
            "Conversions".into(),
        ];
        if self.previous.is_some() {
            header.extend([
                self.zoned(&format!("Previous {}", bucket.to_lowercase())),
                "Previous dials".into(),
                "Previous connected".into(),
                "Previous connection rate".into(),
                "Previous conversions".into(),
            ]);
        }
        csv.write_record(&header)?;
        let current = &self.response.data.time_series;
        for index in 0..current.dials.len() {
            let mut record = bucket_cells(current, index);
            if let Some(previous) = self.previous {
                record.extend(bucket_cells(previous, index));
            }
            csv.write_record(&record)?;
        }
        Ok(())
    }

    fn heatmap<W: Write>(&self, csv: &mut csv::Writer<W>) -> csv::Result<()> {
        let heatmap = &self.response.data.heatmap;
        csv.write_record([
            "Weekday".to_string(),
            self.zoned("Hour"),
            "Dials".into(),
            "Connected".into(),
            "Connection rate".into(),
        ])?;
        let cells = heatmap
            .dials
            .iter()
            .zip(&heatmap.connected)
            .zip(&heatmap.connection_rate);
        for ((dials, connected), rate) in cells {
            csv.write_record([
                display::weekday(dials.day),
                dials.hour.to_string(),
                dials.value.to_string(),
                connected.value.to_string(),
                fraction((dials.value > 0).then_some(rate.value)),
            ])?;
        }
        Ok(())
    }

    fn breakdown<W: Write>(
        &self,
        breakdown: &Breakdown,
        csv: &mut csv::Writer<W>,
    ) -> csv::Result<()> {
        // The bounds when the request asks for intervals (a report computes
        // them for its page whatever its request asks).
        let intervals = self
            .response
            .analysis
            .as_ref()
            .and_then(|found| found.intervals.as_ref())
            .and_then(|intervals| intervals.breakdown.as_ref())
            .filter(|_| self.request.analysis.intervals);
        let key = match breakdown.group_by {
            GroupBy::Weekday => "Weekday".to_string(),
            GroupBy::Hour => self.zoned("Hour"),
            other => other.as_str().to_string(),
        };
        let labelled = matches!(breakdown.group_by, GroupBy::User | GroupBy::AlloNumber);
        let (bounds, compared) = (
            intervals.is_some(),
            self.response.data.compare_date.is_some(),
        );
        let columns = display::Columns::showing(&[
            (&key, true),
            ("Label", labelled),
            ("Dials", true),
            ("Connected", true),
            ("Conversations", true),
            ("Conversions", true),
            ("Voicemails", true),
            ("Connect rate", true),
            ("Connect rate low (95%)", bounds),
            ("Connect rate high (95%)", bounds),
            ("Conversation rate", true),
            ("Conversion rate", true),
            ("Voicemail rate", true),
            ("Connect rate excluding voicemail", true),
            ("Average conversation time (s)", true),
            ("Total conversation time (s)", true),
            ("Previous dials", compared),
            ("Previous connected", compared),
            ("Previous connect rate", compared),
            ("Connect rate difference", compared),
        ]);
        csv.write_record(columns.header())?;
        for (index, row) in breakdown.rows.iter().enumerate() {
            let figures = &row.current;
            let connect = intervals
                .and_then(|intervals| intervals.rows.get(index))
                .map(|row| &row.current.connect_rate);
            let previous = row.previous.as_ref();
            let count = |value: u64| value.to_string();
            let previous_count =
                |value: fn(&GroupFigures) -> u64| optional_count(previous.map(value));
            csv.write_record(columns.keep([
                breakdown_key(row.key.as_ref()),
                row.label.clone().unwrap_or_default(),
                count(figures.dials),
                count(figures.connected),
                count(figures.conversations),
                count(figures.conversions),
                count(figures.voicemails),
                fraction(figures.connect_rate),
                fraction(connect.and_then(|interval| interval.low)),
                fraction(connect.and_then(|interval| interval.high)),
                fraction(figures.conversation_rate),
                fraction(figures.conversion_rate),
                fraction(figures.voicemail_rate),
                fraction(figures.connect_rate_excl_voicemail),
                fraction(figures.avg_conversation_time_seconds),
                count(figures.total_conversation_time_seconds),
                previous_count(|figures| figures.dials),
                previous_count(|figures| figures.connected),
                fraction(previous.and_then(|figures| figures.connect_rate)),
                fraction(row.change.as_ref().and_then(|change| change.connect_rate)),
            ]))?;
        }
        Ok(())
    }

    fn leaderboard<W: Write>(&self, csv: &mut csv::Writer<W>) -> csv::Result<()> {
        csv.write_record(["Rank", "Rep", "User id", "Email", "Connected"])?;
        for (rank, entry) in self.response.data.leaderboard.iter().enumerate() {
            let user = &entry.user;
            csv.write_record([
                (rank + 1).to_string(),
                user.name.clone().unwrap_or_default(),
                user.id.clone().unwrap_or_default(),
                user.email.clone().unwrap_or_default(),
                entry.connected.to_string(),
            ])?;
        }
        Ok(())
    }
}

/// A breakdown key as a cell: the text, the hour, or empty for the calls
/// without one.
fn breakdown_key(key: Option<&GroupKey>) -> String {
    match key {
        None => String::new(),
        Some(GroupKey::Hour(hour)) => hour.to_string(),
        Some(GroupKey::Text(text)) => text.clone(),
    }
}

/// The connect rules, one measure a row, the comparison period's beside
/// the current one's when there is one.
fn connect_rules_records<W: Write>(
    rules: &ConnectRules,
    csv: &mut csv::Writer<W>,
) -> csv::Result<()> {
    let periods: Vec<&ConnectRuleFigures> = std::iter::once(&rules.current)
        .chain(&rules.previous)
        .collect();
    let mut header = vec!["Measure", "Current"];
    if rules.previous.is_some() {
        header.push("Previous");
    }
    csv.write_record(&header)?;
    let cells = |value: &dyn Fn(&ConnectRuleFigures) -> String| -> Vec<String> {
        periods.iter().map(|figures| value(figures)).collect()
    };
    let rows = [
        ("Dials", cells(&|figures| figures.dials.to_string())),
        (
            "Voicemails",
            cells(&|figures| figures.voicemails.to_string()),
        ),
        ("Connected", cells(&|figures| figures.connected.to_string())),
        (
            "Connect rate (voicemail not connected)",
            cells(&|figures| fraction(figures.connect_rate)),
        ),
        (
            "Connect rate, voicemail counted as connected",
            cells(&|figures| fraction(figures.connect_rate_with_voicemail)),
        ),
        (
            "Connect rate, voicemail left out of the dials",
            cells(&|figures| fraction(figures.connect_rate_excl_voicemail)),
        ),
        (
            "Voicemail inflation",
            cells(&|figures| fraction(figures.voicemail_inflation)),
        ),
    ];
    for (name, values) in rows {
        let mut record = vec![name.to_string()];
        record.extend(values);
        csv.write_record(&record)?;
    }
    Ok(())
}

/// Contact reach's figures, one measure a row (the most-dialled contacts
/// are a list of their own, in the JSON and the text table).
fn reach_records<W: Write>(reach: &Reach, csv: &mut csv::Writer<W>) -> csv::Result<()> {
    csv.write_record(["Measure", "Value"])?;
    let first_connect = &reach.dials_to_first_connect;
    let rows = [
        ("Contacts dialled", reach.contacts_dialled.to_string()),
        ("Contacts reached", reach.contacts_reached.to_string()),
        ("Contacts converted", reach.contacts_converted.to_string()),
        ("Reach rate", fraction(reach.reach_rate)),
        ("Dials per contact", fraction(reach.dials_per_contact)),
        ("Dials to first connect, mean", fraction(first_connect.mean)),
        (
            "Dials to first connect, median",
            fraction(first_connect.median),
        ),
        (
            "Unreached after 5 dials",
            reach.unreached_after_5_dials.to_string(),
        ),
        (
            "Dials without a contact number",
            reach.dials_without_contact.to_string(),
        ),
    ];
    for (name, value) in rows {
        csv.write_record([name.to_string(), value])?;
    }
    Ok(())
}

/// The cells of the `index`-th bucket of `series`: date, dials, connected,
/// connection rate (empty without dials), conversions.
fn bucket_cells(series: &TimeSeries, index: usize) -> Vec<String> {
    let count = |points: &[TimeSeriesPoint<u64>]| {
        points
            .get(index)
            .map_or_else(String::new, |point| point.value.to_string())
    };
    let dials = series.dials.get(index).map_or(0, |point| point.value);
    let rate = series
        .connection_rate
        .get(index)
        .filter(|_| dials > 0)
        .map(|point| point.value);
    vec![
        series
            .dials
            .get(index)
            .map_or_else(String::new, |point| point.date.clone()),
        count(&series.dials),
        count(&series.connected),
        fraction(rate),
        count(&series.conversions),
    ]
}

/// Writes drilldown calls (from [`DrilldownRows::iter`]) as CSV to `out`,
/// one row each, in their order (newest first), each read when written:
/// every call of a stage streams through without being held as rows.
pub fn write_items(
    rows: impl Iterator<Item = DrilldownRow>,
    request: &Request,
    out: impl Write,
) -> csv::Result<()> {
    let mut csv = csv::Writer::from_writer(out);
    items_records(&mut csv, rows, request)?;
    csv.flush()?;
    Ok(())
}

/// The records of [`write_items`].
fn items_records<W: Write>(
    csv: &mut csv::Writer<W>,
    rows: impl Iterator<Item = DrilldownRow>,
    request: &Request,
) -> csv::Result<()> {
    let zone = request.timezone;
    csv.write_record([
        format!("Date ({})", zone.name()),
        "Call".into(),
        "Stage".into(),
        "Result".into(),
        "Duration (s)".into(),
        "Rep".into(),
        "User id".into(),
        "Email".into(),
        "Allo number".into(),
        "Number label".into(),
        "Contact".into(),
        "Tags".into(),
    ])?;
    for row in rows {
        let item = row.item;
        let (name, id, email) = item
            .user
            .map_or((None, None, None), |user| (user.name, user.id, user.email));
        csv.write_record([
            display::local_time(&item.date, zone),
            item.id,
            item.stage.as_str().to_string(),
            row.result
                .map_or_else(String::new, |result| result.as_str().to_string()),
            item.duration.to_string(),
            name.unwrap_or_default(),
            id.unwrap_or_default(),
            email.unwrap_or_default(),
            item.allo_number.unwrap_or_default(),
            item.allo_number_label.unwrap_or_default(),
            item.contact_number.unwrap_or_default(),
            row.tags.join(";"),
        ])?;
    }
    Ok(())
}

/// A count, or nothing when there is none (no comparison period).
fn optional_count(value: Option<u64>) -> String {
    value.map_or_else(String::new, |value| value.to_string())
}

/// A fraction (rate, change) or an average with four decimals; empty when
/// there is none.
fn fraction(value: Option<f64>) -> String {
    value.map_or_else(String::new, |value| {
        let text = format!("{value:.4}");
        // No `-0.0000`: a change that rounds to nothing has no sign.
        if text.bytes().all(|byte| matches!(byte, b'-' | b'0' | b'.')) {
            text.trim_start_matches('-').to_string()
        } else {
            text
        }
    })
}

#[cfg(test)]
mod tests {
    use super::{fraction, TableName};
    use clap::ValueEnum;

    #[test]
    fn a_table_is_named_alike_on_the_command_line_and_as_a_file() {
        for name in TableName::ALL {
            assert_eq!(TableName::from_str(name.name(), false), Ok(name));
        }
        assert_eq!(
            TableName::from_str("TIME_SPENT", true),
            Ok(TableName::TimeSpent)
        );
    }

    #[test]
    fn fractions_have_four_decimals() {
        assert_eq!(fraction(Some(0.376)), "0.3760");
        assert_eq!(fraction(Some(-0.04)), "-0.0400");
        assert_eq!(fraction(Some(1.0)), "1.0000");
        assert_eq!(fraction(Some(-0.00001)), "0.0000");
        assert_eq!(fraction(Some(204.0)), "204.0000");
        assert_eq!(fraction(None), "");
    }
}
