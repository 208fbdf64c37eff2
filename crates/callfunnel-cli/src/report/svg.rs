//! The charts, each a standalone SVG document: inlined in the HTML report as
//! they are, and rendered to PNG by [`super::png`]. Hand-made, so they need
//! no script and no font of their own; every text in them is escaped.

use std::fmt::Write;

use super::escape::escape;
use crate::display;
use callfunnel::response::{Funnel, HeatmapCell};
use callfunnel::Rounding;

/// Font stack of every chart (DejaVu Sans is what Debian ships and what the PNG renderer finds).
const FONT: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";
/// Colour of the current period.
const CURRENT: &str = "#2563eb";
/// Colour of the comparison period.
const PREVIOUS: &str = "#9ca3af";
/// Colour of axis labels and titles.
const INK: &str = "#334155";
/// Colour of grid lines.
const GRID: &str = "#e2e8f0";
/// Colour of an empty heatmap cell.
const EMPTY: &str = "#f1f5f9";
/// Heatmap colours of the smallest and the largest count.
const LOW: (u8, u8, u8) = (0xdb, 0xea, 0xfe);
const HIGH: (u8, u8, u8) = (0x1e, 0x3a, 0x8a);

/// How a chart's values read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Whole numbers of calls.
    Count,
    /// Fractions shown as percentages.
    Rate,
}

impl Scale {
    fn format(self, value: f64) -> String {
        match self {
            Scale::Count => display::count(value.round().max(0.0) as u64),
            Scale::Rate => display::percent(Some(value)),
        }
    }

    fn format_axis(self, value: f64) -> String {
        match self {
            Scale::Count => display::count(value.round().max(0.0) as u64),
            Scale::Rate => format!("{:.0}%", value * 100.0),
        }
    }
}

/// One line of a chart: its legend and its points, `(bucket date, value)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Series<'a> {
    /// Legend text, e.g. `2024-03-04 – 2024-03-17`.
    pub legend: String,
    /// One point per bucket, in order; `None` for a bucket without a value
    /// (a rate without dials), where the line breaks.
    pub points: Vec<(&'a str, Option<f64>)>,
}

/// A time-series chart: the current period against the previous one, bucket
/// by bucket (the n-th bucket of each period share an x position).
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart<'a> {
    /// Title above the chart.
    pub title: &'a str,
    /// How the values read.
    pub scale: Scale,
    /// The current period (solid line).
    pub current: Series<'a>,
    /// The comparison period (dashed line), when known.
    pub previous: Option<Series<'a>>,
}

/// The opening tag of a standalone SVG document with a white background.
fn open(width: u32, height: u32, label: &str) -> String {
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{label}" font-family="{FONT}" font-size="12"><rect width="{width}" height="{height}" fill="#ffffff"/>"##,
        label = escape(label)
    )
}

/// A text element; `anchor` is `start`, `middle` or `end`.
fn text(svg: &mut String, x: f64, y: f64, anchor: &str, content: &str) {
    let _ = write!(
        svg,
        r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" fill="{INK}">{}</text>"#,
        escape(content)
    );
}

/// The top of the value axis and its step: a round step (1, 2, 2.5 or 5 ×
/// 10ⁿ, and a whole number of units) giving about five grid lines over `max`.
fn axis(max: f64, scale: Scale) -> (f64, f64) {
    let smallest = match scale {
        Scale::Count => 1.0,
        Scale::Rate => 0.01,
    };
    let rough = (max / 5.0).max(smallest);
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .filter(|factor| *factor != 2.5 || magnitude >= 10.0 * smallest * (1.0 - 1e-9))
        .map(|factor| factor * magnitude)
        .find(|step| *step >= rough * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude);
    let top = ((max / step).ceil() * step).max(step);
    (top, step)
}

/// A time-series chart as SVG.
pub fn line_chart(chart: &LineChart) -> String {
    const WIDTH: f64 = 560.0;
    const HEIGHT: f64 = 250.0;
    const LEFT: f64 = 52.0;
    const RIGHT: f64 = 16.0;
    const TOP: f64 = 48.0;
    const BOTTOM: f64 = 30.0;
    let lines: Vec<(&Series, &str, bool)> = std::iter::once((&chart.current, CURRENT, false))
        .chain(chart.previous.iter().map(|series| (series, PREVIOUS, true)))
        .collect();
    let buckets = lines
        .iter()
        .map(|(series, ..)| series.points.len())
        .max()
        .unwrap_or(0);
    let max = lines
        .iter()
        .flat_map(|(series, ..)| series.points.iter().filter_map(|(_, value)| *value))
        .fold(0.0, f64::max);
    let (top, step) = axis(max, chart.scale);
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let x = |index: usize| {
        if buckets <= 1 {
            LEFT + plot_width / 2.0
        } else {
            LEFT + plot_width * index as f64 / (buckets - 1) as f64
        }
    };
    let y = |value: f64| TOP + plot_height * (1.0 - value / top);

    let mut svg = open(WIDTH as u32, HEIGHT as u32, chart.title);
    let _ = write!(
        svg,
        r#"<text x="{LEFT}" y="18" font-size="14" font-weight="bold" fill="{INK}">{}</text>"#,
        escape(chart.title)
    );
    legend(&mut svg, LEFT, 36.0, &lines);
    let ticks = (top / step).round() as usize;
    for tick in 0..=ticks {
        let value = step * tick as f64;
        let at = y(value);
        let _ = write!(
            svg,
            r#"<line x1="{LEFT}" y1="{at:.1}" x2="{:.1}" y2="{at:.1}" stroke="{GRID}"/>"#,
            WIDTH - RIGHT
        );
        text(
            &mut svg,
            LEFT - 6.0,
            at + 4.0,
            "end",
            &chart.scale.format_axis(value),
        );
    }
    let every = buckets.div_ceil(8).max(1);
    for (index, (date, _)) in chart.current.points.iter().enumerate() {
        if index % every == 0 {
            text(
                &mut svg,
                x(index),
                HEIGHT - 10.0,
                "middle",
                short_date(date),
            );
        }
    }
    for (series, colour, dashed) in lines.iter().rev() {
        let dash = if *dashed {
            r#" stroke-dasharray="5 4""#
        } else {
            ""
        };
        let path = path_with_gaps(&series.points, |index, value| (x(index), y(value)));
        if !path.is_empty() {
            let _ = write!(
                svg,
                r#"<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>"#
            );
        }
        let known = series
            .points
            .iter()
            .enumerate()
            .filter_map(|(index, (date, value))| Some((index, date, (*value)?)));
        for (index, date, value) in known {
            let _ = write!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"><title>{}: {}</title></circle>"#,
                x(index),
                y(value),
                escape(date),
                chart.scale.format(value)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// The `d` of an SVG path through the points that have a value, placed by
/// `at(index, value)`: a new subpath (`M`) after each gap, so the line
/// breaks where a bucket has no value; empty when no point has one.
fn path_with_gaps(points: &[(&str, Option<f64>)], at: impl Fn(usize, f64) -> (f64, f64)) -> String {
    let mut path = String::new();
    let mut drawing = false;
    for (index, (_, value)) in points.iter().enumerate() {
        match value {
            Some(value) => {
                let (x, y) = at(index, *value);
                let command = if drawing { 'L' } else { 'M' };
                if !path.is_empty() {
                    path.push(' ');
                }
                let _ = write!(path, "{command}{x:.1},{y:.1}");
                drawing = true;
            }
            None => drawing = false,
        }
    }
    path
}

/// The legend of a line chart: a line sample and the series' legend text each.
fn legend(svg: &mut String, mut at: f64, baseline: f64, lines: &[(&Series, &str, bool)]) {
    for (series, colour, dashed) in lines {
        let dash = if *dashed {
            r#" stroke-dasharray="5 4""#
        } else {
            ""
        };
        let _ = write!(
            svg,
            r#"<line x1="{at:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="2"{dash}/>"#,
            baseline - 4.0,
            at + 22.0,
            baseline - 4.0
        );
        text(svg, at + 28.0, baseline, "start", &series.legend);
        at += 40.0 + 7.0 * series.legend.chars().count() as f64;
    }
}

/// `2024-03-04` → `03-04`; other text is kept.
fn short_date(date: &str) -> &str {
    date.get(5..).filter(|_| date.len() == 10).unwrap_or(date)
}

/// The colour of a heatmap cell: [`EMPTY`] for 0, else from [`LOW`] to [`HIGH`] by share of `max`.
fn heat(value: u64, max: u64) -> String {
    if value == 0 || max == 0 {
        return EMPTY.to_string();
    }
    shade(value as f64 / max as f64)
}

/// The colour at `share` (0 to 1) of the way from [`LOW`] to [`HIGH`].
fn shade(share: f64) -> String {
    let share = share.clamp(0.0, 1.0);
    let mix = |low: u8, high: u8| (low as f64 + (high as f64 - low as f64) * share).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(LOW.0, HIGH.0),
        mix(LOW.1, HIGH.1),
        mix(LOW.2, HIGH.2)
    )
}

/// How one cell of a weekday × hour grid is drawn.
struct GridCell {
    /// Its colour.
    fill: String,
    /// Drawn pale (a figure on too few calls to read).
    pale: bool,
    /// Its hover text.
    hover: String,
    /// A text written in it.
    label: Option<String>,
}

/// Geometry of the weekday × hour grids.
const GRID_LEFT: f64 = 44.0;
const GRID_TOP: f64 = 46.0;
const CELL_WIDTH: f64 = 26.0;
const CELL_HEIGHT: f64 = 22.0;
const GRID_WIDTH: f64 = GRID_LEFT + 24.0 * CELL_WIDTH + 12.0;
const GRID_HEIGHT: f64 = GRID_TOP + 7.0 * CELL_HEIGHT + 44.0;
/// Where a grid's legend starts.
const LEGEND_Y: f64 = GRID_TOP + 7.0 * CELL_HEIGHT + 16.0;

/// A weekday × hour grid titled `title`: one cell per cell of `cells` (the
/// response's 168, in its order, which give each its weekday and hour),
/// drawn as `paint` says; `legend` draws below it.
fn grid(
    title: &str,
    cells: &[HeatmapCell<u64>],
    paint: impl Fn(usize, &HeatmapCell<u64>) -> GridCell,
    legend: impl FnOnce(&mut String),
) -> String {
    let mut svg = open(GRID_WIDTH as u32, GRID_HEIGHT as u32, title);
    let _ = write!(
        svg,
        r#"<text x="{GRID_LEFT}" y="18" font-size="14" font-weight="bold" fill="{INK}">{}</text>"#,
        escape(title)
    );
    for hour in 0..24 {
        let x = GRID_LEFT + (hour as f64 + 0.5) * CELL_WIDTH;
        text(&mut svg, x, GRID_TOP - 8.0, "middle", &hour.to_string());
    }
    for (index, cell) in cells.iter().enumerate() {
        let row = (index / 24) as f64;
        let x = GRID_LEFT + cell.hour as f64 * CELL_WIDTH;
        let y = GRID_TOP + row * CELL_HEIGHT;
        if cell.hour == 0 {
            let name: String = display::weekday(cell.day).chars().take(3).collect();
            text(&mut svg, GRID_LEFT - 8.0, y + 15.0, "end", &name);
        }
        let drawn = paint(index, cell);
        let opacity = if drawn.pale {
            r#" fill-opacity="0.3""#
        } else {
            ""
        };
        let _ = write!(
            svg,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="2" fill="{}"{opacity}><title>{}</title></rect>"#,
            x + 1.0,
            y + 1.0,
            CELL_WIDTH - 2.0,
            CELL_HEIGHT - 2.0,
            drawn.fill,
            escape(&drawn.hover)
        );
        if let Some(label) = drawn.label {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" font-size="9" text-anchor="middle" fill="{INK}">{}</text>"#,
                x + CELL_WIDTH / 2.0,
                y + 14.0,
                escape(&label)
            );
        }
    }
    legend(&mut svg);
    svg.push_str("</svg>");
    svg
}

/// `Friday 16:00–16:59`.
fn cell_name(cell: &HeatmapCell<u64>) -> String {
    format!(
        "{} {:02}:00–{:02}:59",
        display::weekday(cell.day),
        cell.hour,
        cell.hour
    )
}

/// The weekday × hour grid of dials, coloured by count; each cell's hover
/// text (`<title>`) gives its weekday, hour, dials, connected calls and rate.
/// The three slices are the response's 168-cell heatmaps, in its order.
pub fn heatmap(
    dials: &[HeatmapCell<u64>],
    connected: &[HeatmapCell<u64>],
    rates: &[HeatmapCell<f64>],
) -> String {
    let max = dials.iter().map(|cell| cell.value).max().unwrap_or(0);
    let paint = |index: usize, cell: &HeatmapCell<u64>| GridCell {
        fill: heat(cell.value, max),
        pale: false,
        hover: format!(
            "{}: {} {}, {} connected ({})",
            cell_name(cell),
            display::count(cell.value),
            if cell.value == 1 { "dial" } else { "dials" },
            display::count(connected.get(index).map_or(0, |cell| cell.value)),
            display::percent(rates.get(index).map(|cell| cell.value))
        ),
        label: None,
    };
    let legend = |svg: &mut String| {
        text(svg, GRID_LEFT, LEGEND_Y + 12.0, "start", "0");
        for step in 0..=4u64 {
            let value = if step == 0 { 0 } else { max * step / 4 };
            let _ = write!(
                svg,
                r#"<rect x="{:.1}" y="{LEGEND_Y:.1}" width="{CELL_WIDTH}" height="14" rx="2" fill="{}"/>"#,
                GRID_LEFT + 14.0 + step as f64 * CELL_WIDTH,
                heat(value.max(u64::from(step > 0)), max)
            );
        }
        text(
            svg,
            GRID_LEFT + 20.0 + 5.0 * CELL_WIDTH,
            LEGEND_Y + 12.0,
            "start",
            &format!("{} dials in the busiest hour", display::count(max)),
        );
    };
    grid("Dials by weekday and hour", dials, paint, legend)
}

/// The weekday × hour grid of the connect rate ("when to call"): each cell
/// coloured by its rate of connected calls over dials, from the lowest to
/// the highest rate among the cells with at least
/// [`callfunnel::analysis::SMALL_SAMPLE`] dials; a cell on fewer dials is
/// drawn pale with its number of dials written in it, and a cell without
/// dials is empty. Each cell's hover text gives its rate, dials and 95 %
/// Wilson interval.
pub fn connect_rate_heatmap(
    dials: &[HeatmapCell<u64>],
    connected: &[HeatmapCell<u64>],
    rounding: Rounding,
) -> String {
    let small = callfunnel::analysis::SMALL_SAMPLE;
    let rate = |index: usize, cell: &HeatmapCell<u64>| {
        let connected = connected.get(index).map_or(0, |cell| cell.value);
        (cell.value > 0).then(|| connected as f64 / cell.value as f64)
    };
    let read: Vec<f64> = dials
        .iter()
        .enumerate()
        .filter(|(_, cell)| cell.value >= small)
        .filter_map(|(index, cell)| rate(index, cell))
        .collect();
    let low = read.iter().copied().fold(f64::INFINITY, f64::min);
    let high = read.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let share = |rate: f64| {
        if high > low {
            (rate - low) / (high - low)
        } else {
            1.0
        }
    };
    let paint = |index: usize, cell: &HeatmapCell<u64>| {
        let connected = connected.get(index).map_or(0, |cell| cell.value);
        let interval = callfunnel::analysis::wilson(connected, cell.value, rounding);
        let Some(rate) = rate(index, cell) else {
            return GridCell {
                fill: EMPTY.to_string(),
                pale: false,
                hover: format!("{}: no dials", cell_name(cell)),
                label: None,
            };
        };
        let pale = cell.value < small;
        GridCell {
            fill: shade(share(rate)),
            pale,
            hover: format!(
                "{}: {} connected of {} {}{}",
                cell_name(cell),
                display::rate_within(Some(rate), Some(&interval)),
                display::count(cell.value),
                if cell.value == 1 { "dial" } else { "dials" },
                if pale { ", too few to read" } else { "" }
            ),
            label: pale.then(|| cell.value.to_string()),
        }
    };
    let legend = |svg: &mut String| {
        let described = if read.is_empty() {
            format!("no hour with {small} dials or more")
        } else {
            format!(
                "{} to {} connected, among hours with {small} dials or more",
                display::percent(Some(low)),
                display::percent(Some(high))
            )
        };
        for step in 0..=4u32 {
            let _ = write!(
                svg,
                r#"<rect x="{:.1}" y="{LEGEND_Y:.1}" width="{CELL_WIDTH}" height="14" rx="2" fill="{}"/>"#,
                GRID_LEFT + step as f64 * CELL_WIDTH,
                shade(f64::from(step) / 4.0)
            );
        }
        text(
            svg,
            GRID_LEFT + 6.0 + 5.0 * CELL_WIDTH,
            LEGEND_Y + 12.0,
            "start",
            &format!("{described}; pale, with its dials written: fewer than {small} dials"),
        );
    };
    grid("Connect rate by weekday and hour", dials, paint, legend)
}

/// The funnel as horizontal bars: the current period's count (blue, with
/// its rate) above the previous period's (grey), on one scale; changes at
/// the precision `rounding` leaves them.
pub fn funnel(funnel: &Funnel, rounding: Rounding) -> String {
    const WIDTH: f64 = 600.0;
    const LEFT: f64 = 110.0;
    const TOP: f64 = 30.0;
    const ROW: f64 = 44.0;
    const BAR_SPACE: f64 = 250.0;
    let stages = display::funnel_stages(funnel);
    let height = TOP + ROW * stages.len() as f64 + 4.0;
    let most = funnel
        .dials
        .count
        .value
        .max(funnel.dials.count.previous.unwrap_or(0))
        .max(1) as f64;
    let mut svg = open(WIDTH as u32, height as u32, "Funnel");
    let _ = write!(
        svg,
        r#"<text x="8" y="18" font-size="14" font-weight="bold" fill="{INK}">Funnel</text>"#
    );
    for (index, (name, stage)) in stages.iter().enumerate() {
        let y = TOP + ROW * index as f64;
        let current = BAR_SPACE * stage.count.value as f64 / most;
        let previous = BAR_SPACE * stage.count.previous.unwrap_or(0) as f64 / most;
        text(&mut svg, LEFT - 10.0, y + 15.0, "end", name);
        let _ = write!(
            svg,
            r#"<rect x="{LEFT}" y="{y:.1}" width="{current:.1}" height="20" rx="2" fill="{CURRENT}"><title>{name}: {} ({} of dials)</title></rect>"#,
            display::count(stage.count.value),
            display::percent(stage.rate),
        );
        if let Some(previous_count) = stage.count.previous {
            let _ = write!(
                svg,
                r#"<rect x="{LEFT}" y="{:.1}" width="{previous:.1}" height="8" rx="2" fill="{PREVIOUS}"><title>{name}, previous period: {}</title></rect>"#,
                y + 24.0,
                display::count(previous_count)
            );
        }
        text(
            &mut svg,
            LEFT + current.max(previous) + 8.0,
            y + 15.0,
            "start",
            &match stage.count.previous {
                Some(previous) => format!(
                    "{} ({}) · was {}, {}",
                    display::count(stage.count.value),
                    display::percent(stage.rate),
                    display::count(previous),
                    display::change(stage.count.change, rounding)
                ),
                None => format!(
                    "{} ({})",
                    display::count(stage.count.value),
                    display::percent(stage.rate)
                ),
            },
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_are_round() {
        assert_eq!(axis(93.0, Scale::Count), (100.0, 20.0));
        assert_eq!(axis(930.0, Scale::Count), (1000.0, 200.0));
        assert_eq!(axis(101.0, Scale::Count), (125.0, 25.0));
        assert_eq!(axis(12.0, Scale::Count), (15.0, 5.0));
        assert_eq!(axis(0.0, Scale::Count), (1.0, 1.0));
        assert_eq!(axis(3.0, Scale::Count), (3.0, 1.0));
        let (top, step) = axis(0.47, Scale::Rate);
        assert!((top - 0.5).abs() < 1e-9 && (step - 0.1).abs() < 1e-9);
    }

    #[test]
    fn heat_runs_from_low_to_high() {
        assert_eq!(heat(0, 10), EMPTY);
        assert_eq!(heat(10, 10), "#1e3a8a");
        assert_eq!(heat(1, 1), "#1e3a8a");
    }

    #[test]
    fn gaps_break_the_path() {
        let at = |index: usize, value: f64| (index as f64 * 10.0, value);
        let points = [
            ("a", Some(1.0)),
            ("b", Some(2.0)),
            ("c", None),
            ("d", None),
            ("e", Some(3.0)),
            ("f", None),
            ("g", Some(4.0)),
            ("h", Some(5.0)),
        ];
        assert_eq!(
            path_with_gaps(&points, at),
            "M0.0,1.0 L10.0,2.0 M40.0,3.0 M60.0,4.0 L70.0,5.0"
        );
        assert_eq!(path_with_gaps(&[("a", None)], at), "");
    }

    #[test]
    fn short_dates() {
        assert_eq!(short_date("2024-03-04"), "03-04");
        assert_eq!(short_date("March"), "March");
    }
}
