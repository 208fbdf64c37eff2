//! A response as aligned text tables, for people (`metrics --format table`).
//!
//! The funnel with counts, change, rates and the previous rates, time
//! spent, the top of the leaderboard, a compact weekday × hour heatmap of
//! dials, and the drilldown page when the response has one (or every call
//! of the stage, `--all-pages`), its times in the request's zone, and the
//! analysis of SPEC §8 when asked for (in [`analysis`]). With
//! `color`, changes carry arrows and colours (for a terminal); without, the
//! text is plain.

mod analysis;

use comfy_table::modifiers::UTF8_ROUND_CORNERS;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Attribute, Cell, CellAlignment, Color, Table};

use crate::display::{self, Trend};
use callfunnel::analysis::StageInterval;
use callfunnel::definitions::DEFINITIONS_VERSION;
use callfunnel::response::{DrilldownItem, HeatmapCell, MetricValue, Response};
use callfunnel::{Request, Rounding};

/// How many leaderboard rows the text shows.
pub const LEADERBOARD_ROWS: usize = 10;

/// Shades of the text heatmap, from the lowest non-zero count to the highest.
const SHADES: [char; 4] = ['░', '▒', '▓', '█'];

/// What the tables show.
#[derive(Debug, Clone, Copy)]
pub struct TableInput<'a> {
    /// The metrics.
    pub response: &'a Response,
    /// The request they answer (its zone dates the calls).
    pub request: &'a Request,
    /// How the response was rounded: changes print at the precision they hold.
    pub rounding: Rounding,
    /// Every call of the drilldown's stage (`--all-pages`), listed instead
    /// of the response's page.
    pub all_calls: Option<&'a [DrilldownItem]>,
}

/// The response as text tables, ending with a newline.
pub fn render(input: &TableInput, color: bool) -> String {
    let data = &input.response.data;
    let mut sections = vec![format!(
        "Outbound calls {} to {}, {}\nLast call loaded: {} · definitions version {DEFINITIONS_VERSION}",
        data.date.from,
        data.date.to,
        display::comparison(data.compare_date, " to "),
        data.last_updated.as_deref().unwrap_or(display::NOT_AVAILABLE),
    )];
    sections.push(format!("Funnel\n{}", funnel_table(input, color)));
    sections.push(format!("Time spent\n{}", time_spent_table(input, color)));
    let shown = data.leaderboard.len().min(LEADERBOARD_ROWS);
    sections.push(format!(
        "Leaderboard: connected calls, top {shown} of {} reps\n{}",
        data.leaderboard.len(),
        leaderboard_table(input.response, color)
    ));
    sections.push(heatmap_text(&data.heatmap.dials));
    match (input.all_calls, &data.items) {
        (Some(calls), _) => sections.push(format!(
            "Calls: all {} of the stage\n{}",
            display::count(calls.len() as u64),
            calls_table(calls, input.request, color)
        )),
        (None, Some(items)) => {
            let pagination = &items.pagination;
            sections.push(format!(
                "Calls: page {} of {}, {} per page, {} in all\n{}",
                pagination.page,
                pagination.total_pages,
                pagination.size,
                display::count(pagination.total_count),
                calls_table(&items.data, input.request, color)
            ));
        }
        (None, None) => {}
    }
    if let Some(found) = &input.response.analysis {
        sections.extend(analysis::sections(
            found,
            data.compare_date.is_some(),
            color,
        ));
    }
    sections.join("\n\n") + "\n"
}

/// A cell holding text read from an input, its control characters escaped.
pub(crate) fn text_cell(text: &str) -> Cell {
    Cell::new(display::printable(text))
}

/// A table with the house style; styled only when `color`.
pub(crate) fn new_table(header: &[&str], color: bool) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .apply_modifier(UTF8_ROUND_CORNERS);
    if color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table.set_header(header.iter().map(|title| {
        let cell = Cell::new(title);
        if color {
            cell.add_attribute(Attribute::Bold)
        } else {
            cell
        }
    }));
    table
}

/// Aligns the given columns to the right (the numbers).
pub(crate) fn align_right(table: &mut Table, columns: &[usize]) {
    for &index in columns {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// A change cell: the percentage, with an arrow and a colour when `color`.
fn change_cell(
    change: Option<f64>,
    rounding: Rounding,
    higher_is_better: bool,
    color: bool,
) -> Cell {
    let text = display::change(change, rounding);
    if !color {
        return Cell::new(text);
    }
    let cell = Cell::new(format!("{} {text}", display::arrow(change)));
    match Trend::of(change, higher_is_better) {
        Trend::Better => cell.fg(Color::Green),
        Trend::Worse => cell.fg(Color::Red),
        Trend::Flat => cell,
    }
}

/// A text table of the columns shown by [`display::Columns`]; every column
/// but the first holds figures.
struct Comparing<'a> {
    table: Table,
    columns: display::Columns<'a>,
}

impl<'a> Comparing<'a> {
    fn new(columns: &[(&'a str, bool)], compared: bool, color: bool) -> Comparing<'a> {
        let columns = display::Columns::new(columns, compared);
        Comparing {
            table: new_table(&columns.header(), color),
            columns,
        }
    }

    fn add_row(&mut self, cells: Vec<Cell>) {
        self.table.add_row(self.columns.keep(cells));
    }

    fn finish(mut self) -> Table {
        let figures: Vec<usize> = (1..self.columns.header().len()).collect();
        align_right(&mut self.table, &figures);
        self.table
    }
}

fn funnel_table(input: &TableInput, color: bool) -> Table {
    let funnel = &input.response.data.funnel;
    let mut table = Comparing::new(
        &[
            ("Stage", false),
            ("Current", false),
            ("Previous", true),
            ("Change", true),
            ("Rate", false),
            ("Previous rate", true),
            ("Rate change", true),
        ],
        input.response.data.compare_date.is_some(),
        color,
    );
    let intervals = input
        .response
        .analysis
        .as_ref()
        .and_then(|analysis| analysis.intervals.as_ref())
        .map(|intervals| &intervals.funnel);
    let stage_intervals: [Option<&StageInterval>; 4] = [
        intervals.map(|i| &i.dials),
        intervals.map(|i| &i.connected),
        intervals.map(|i| &i.conversations),
        intervals.map(|i| &i.conversions),
    ];
    for ((name, stage), interval) in display::funnel_stages(funnel)
        .into_iter()
        .zip(stage_intervals)
    {
        let previous_rate = stage.previous_rate(funnel.dials.count.previous, input.rounding);
        table.add_row(vec![
            Cell::new(name),
            Cell::new(display::count(stage.count.value)),
            Cell::new(display::compared(stage.count.previous, display::count)),
            change_cell(stage.count.change, input.rounding, true, color),
            Cell::new(display::rate_within(stage.rate, interval.map(|i| &i.rate))),
            Cell::new(display::percent(previous_rate)),
            Cell::new(display::points(stage.rate, previous_rate)),
        ]);
    }
    table.finish()
}

fn time_spent_table(input: &TableInput, color: bool) -> Table {
    let spent = &input.response.data.time_spent;
    let mut table = Comparing::new(
        &[
            ("Time", false),
            ("Current", false),
            ("Previous", true),
            ("Change", true),
        ],
        input.response.data.compare_date.is_some(),
        color,
    );
    let averages: [(&str, &MetricValue<Option<f64>>, bool); 2] = [
        (
            "Average ringing time",
            &spent.avg_ringing_time_seconds,
            false,
        ),
        (
            "Average conversation time",
            &spent.avg_conversation_time_seconds,
            true,
        ),
    ];
    for (name, metric, higher_is_better) in averages {
        table.add_row(vec![
            Cell::new(name),
            Cell::new(display::seconds(metric.value)),
            Cell::new(display::compared(metric.previous, display::seconds)),
            change_cell(metric.change, input.rounding, higher_is_better, color),
        ]);
    }
    let total = &spent.total_conversation_time_seconds;
    table.add_row(vec![
        Cell::new("Total conversation time"),
        Cell::new(display::duration(total.value)),
        Cell::new(display::compared(total.previous, display::duration)),
        change_cell(total.change, input.rounding, true, color),
    ]);
    table.finish()
}

fn leaderboard_table(response: &Response, color: bool) -> Table {
    let mut table = new_table(&["#", "Rep", "User id", "Connected"], color);
    for (rank, entry) in response
        .data
        .leaderboard
        .iter()
        .take(LEADERBOARD_ROWS)
        .enumerate()
    {
        table.add_row(vec![
            Cell::new(rank + 1),
            text_cell(display::user_name(&entry.user)),
            text_cell(entry.user.id.as_deref().unwrap_or_default()),
            Cell::new(display::count(entry.connected)),
        ]);
    }
    align_right(&mut table, &[0, 3]);
    table
}

/// Dials by weekday (rows) and hour (columns), one character per cell: `·`
/// for none, then four shades up to the busiest cell.
fn heatmap_text(cells: &[HeatmapCell<u64>]) -> String {
    let max = cells.iter().map(|cell| cell.value).max().unwrap_or(0);
    let mut text = format!(
        "Dials by weekday and hour: · none, {} up to {}\n    ",
        SHADES.iter().collect::<String>(),
        display::count(max)
    );
    let hours: String = (0..24)
        .step_by(6)
        .map(|hour| format!("{hour:<6}"))
        .collect();
    text.push_str(hours.trim_end());
    for day in cells.chunks(24) {
        let name: String = display::weekday(day[0].day).chars().take(3).collect();
        text.push_str(&format!("\n{name} "));
        text.extend(day.iter().map(|cell| shade(cell.value, max)));
    }
    text
}

/// The character of a count: `·` for 0, else one of [`SHADES`] by its share of `max`.
fn shade(value: u64, max: u64) -> char {
    if value == 0 || max == 0 {
        return '·';
    }
    let level = (value * SHADES.len() as u64).div_ceil(max);
    SHADES[(level as usize).clamp(1, SHADES.len()) - 1]
}

/// Drilldown calls, their times in the request's zone.
fn calls_table(calls: &[DrilldownItem], request: &Request, color: bool) -> Table {
    let zone = request.timezone;
    let mut table = new_table(
        &[
            &format!("Date ({})", zone.name()),
            "Call",
            "Rep",
            "Contact",
            "Stage",
            "Duration",
        ],
        color,
    );
    for item in calls {
        table.add_row(vec![
            text_cell(&display::local_time(&item.date, zone)),
            text_cell(&item.id),
            text_cell(item.user.as_ref().map_or("", display::user_name)),
            text_cell(item.contact_number.as_deref().unwrap_or_default()),
            Cell::new(format!(
                "{}{}",
                item.stage.as_str(),
                if item.voicemail { " (voicemail)" } else { "" }
            )),
            Cell::new(display::duration(item.duration.max(0) as u64)),
        ]);
    }
    align_right(&mut table, &[5]);
    table
}

#[cfg(test)]
mod tests {
    use super::shade;

    #[test]
    fn shades_cover_the_range() {
        assert_eq!(shade(0, 36), '·');
        assert_eq!(shade(1, 36), '░');
        assert_eq!(shade(9, 36), '░');
        assert_eq!(shade(10, 36), '▒');
        assert_eq!(shade(27, 36), '▓');
        assert_eq!(shade(28, 36), '█');
        assert_eq!(shade(36, 36), '█');
    }
}
