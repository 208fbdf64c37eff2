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
}

impl TableName {
    /// Every table, in the order `report --csv` writes them.
    pub const ALL: [TableName; 6] = [
        TableName::Funnel,
        TableName::TimeSpent,
        TableName::Series,
        TableName::Heatmap,
        TableName::Leaderboard,
        TableName::Items,
    ];

    /// The table's name on the command line and as a file stem, e.g. `time_spent`.
    pub fn name(self) -> &'static str {
        match self {
            TableName::Funnel => "funnel",
            TableName::TimeSpent => "time_spent",
            TableName::Series => "series",
            TableName::Heatmap => "heatmap",
            TableName::Leaderboard => "leaderboard",
            TableName::Items => "items",
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
        }
        csv.flush().map_err(csv::Error::from)?;
        Ok(())
    }

    /// `Date (ZONE)`-style header: `what` and the request's zone.
    fn zoned(&self, what: &str) -> String {
        format!("{what} ({})", self.request.timezone.name())
    }

    fn funnel<W: Write>(&self, csv: &mut csv::Writer<W>) -> csv::Result<()> {
        let funnel = &self.response.data.funnel;
        csv.write_record([
            "Stage",
            "Current",
            "Previous",
            "Change",
            "Rate",
            "Previous rate",
            "Rate difference",
        ])?;
        for (name, stage) in display::funnel_stages(funnel) {
            let previous_rate = stage.previous_rate(funnel.dials.count.previous, self.rounding);
            let difference = stage.rate.zip(previous_rate).map(|(now, then)| now - then);
            csv.write_record([
                name.to_string(),
                stage.count.value.to_string(),
                optional_count(stage.count.previous),
                fraction(stage.count.change),
                fraction(stage.rate),
                fraction(previous_rate),
                fraction(difference),
            ])?;
        }
        Ok(())
    }

    fn time_spent<W: Write>(&self, csv: &mut csv::Writer<W>) -> csv::Result<()> {
        let spent = &self.response.data.time_spent;
        csv.write_record(["Measure", "Current", "Previous", "Change"])?;
        let averages: [(&str, &MetricValue<Option<f64>>); 2] = [
            ("Average ringing time (s)", &spent.avg_ringing_time_seconds),
            (
                "Average conversation time (s)",
                &spent.avg_conversation_time_seconds,
            ),
        ];
        for (name, metric) in averages {
            csv.write_record([
                name.to_string(),
                fraction(metric.value),
                fraction(metric.previous.flatten()),
                fraction(metric.change),
            ])?;
        }
        let total = &spent.total_conversation_time_seconds;
        csv.write_record([
            "Total conversation time (s)".to_string(),
            total.value.to_string(),
            optional_count(total.previous),
            fraction(total.change),
        ])
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

/// A fraction (rate, change) or an average with four decimals; empty when
/// there is none.
/// A count, or nothing when there is none (no comparison period).
fn optional_count(value: Option<u64>) -> String {
    value.map_or_else(String::new, |value| value.to_string())
}

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
