//! The analysis of SPEC §8 as text tables: the breakdown with each row's
//! n, the connect rules side by side, and contact reach. With intervals,
//! each rate reads `41.9% (38.1–45.8)`, marked ` *` when fewer than 30
//! calls are behind it.

use callfunnel::analysis::{
    Analysis, Breakdown, ConnectRateIntervals, ConnectRuleFigures, GroupBy, GroupRateIntervals,
    Interval, Reach,
};

use super::{align_right, new_table, text_cell};
use crate::display::{self, SMALL_SAMPLE_MARK};
use comfy_table::Cell;

/// The analysis' sections, in response order, and a footnote when a rate
/// is marked as a small sample; without a comparison period (`compared`
/// false), no column of the previous period or of change.
pub(super) fn sections(analysis: &Analysis, compared: bool, color: bool) -> Vec<String> {
    let intervals = analysis.intervals.as_ref();
    let mut sections = Vec::new();
    if let Some(breakdown) = &analysis.breakdown {
        let rows = intervals.and_then(|intervals| intervals.breakdown.as_ref());
        let rates = |index: usize| {
            rows.and_then(|rows| rows.rows.get(index))
                .map(|row| &row.current)
        };
        sections.push(breakdown_section(breakdown, &rates, compared, color));
    }
    if let Some(rules) = &analysis.connect_rules {
        let rates = intervals.and_then(|intervals| intervals.connect_rules.as_ref());
        sections.push(connect_rules_section(
            [Some(&rules.current), rules.previous.as_ref()],
            [
                rates.map(|rates| &rates.current),
                rates.and_then(|rates| rates.previous.as_ref()),
            ],
            compared,
            color,
        ));
    }
    if let Some(reach) = &analysis.reach {
        let rate = intervals
            .and_then(|intervals| intervals.reach.as_ref())
            .map(|reach| &reach.reach_rate);
        sections.push(reach_section(reach, rate, color));
    }
    if sections
        .iter()
        .any(|section| section.contains(SMALL_SAMPLE_MARK))
    {
        sections.push(format!(
            "{} fewer than 30 calls behind the rate: too few to read as a signal",
            SMALL_SAMPLE_MARK.trim()
        ));
    }
    sections
}

/// The page of rows, with the n (dials) of each and its change of connect
/// rate in points.
fn breakdown_section<'a>(
    breakdown: &Breakdown,
    rates: &dyn Fn(usize) -> Option<&'a GroupRateIntervals>,
    compared: bool,
    color: bool,
) -> String {
    let labelled = matches!(breakdown.group_by, GroupBy::User | GroupBy::AlloNumber);
    let mut header = vec![breakdown.group_by.as_str()];
    if labelled {
        header.push("Label");
    }
    header.extend([
        "n",
        "Connected",
        "Connect rate",
        "Conversations",
        "Conversions",
        "Conversion rate",
        "Voicemails",
        "Excl. voicemail",
    ]);
    if compared {
        header.push("Δ connect rate");
    }
    let mut table = new_table(&header, color);
    for (index, row) in breakdown.rows.iter().enumerate() {
        let figures = &row.current;
        let rates = rates(index);
        let mut cells = vec![text_cell(&display::group_key(
            row.key.as_ref(),
            breakdown.group_by,
        ))];
        if labelled {
            cells.push(text_cell(row.label.as_deref().unwrap_or_default()));
        }
        cells.extend([
            Cell::new(display::count(figures.dials)),
            Cell::new(display::count(figures.connected)),
            Cell::new(display::rate_within(
                figures.connect_rate,
                rates.map(|r| &r.connect_rate),
            )),
            Cell::new(display::count(figures.conversations)),
            Cell::new(display::count(figures.conversions)),
            Cell::new(display::rate_within(
                figures.conversion_rate,
                rates.map(|r| &r.conversion_rate),
            )),
            Cell::new(display::count(figures.voicemails)),
            Cell::new(display::rate_within(
                figures.connect_rate_excl_voicemail,
                rates.map(|r| &r.connect_rate_excl_voicemail),
            )),
        ]);
        if compared {
            cells.push(Cell::new(display::point_difference(
                row.change.as_ref().and_then(|change| change.connect_rate),
            )));
        }
        table.add_row(cells);
    }
    let first_number = usize::from(labelled) + 1;
    align_right(
        &mut table,
        &(first_number..header.len()).collect::<Vec<_>>(),
    );
    let pagination = &breakdown.pagination;
    let first = u64::from(pagination.page - 1) * u64::from(pagination.size);
    let shown = match breakdown.rows.len() as u64 {
        0 => "no rows on this page".to_string(),
        count => format!("rows {}–{}", first + 1, first + count),
    };
    format!(
        "Breakdown by {}: {shown} of {} (page {} of {}), n = dials\n{table}",
        breakdown.group_by.as_str().to_lowercase().replace('_', " "),
        display::count(pagination.total_count),
        pagination.page,
        pagination.total_pages.max(1),
    )
}

/// The connect rate under each rule, the current and the comparison period
/// side by side.
fn connect_rules_section(
    periods: [Option<&ConnectRuleFigures>; 2],
    rates: [Option<&ConnectRateIntervals>; 2],
    compared: bool,
    color: bool,
) -> String {
    let header: &[&str] = if compared {
        &["", "Current", "Previous"]
    } else {
        &["", "Current"]
    };
    let mut table = new_table(header, color);
    let lines = display::connect_rule_lines(periods, rates);
    for (name, [current, previous]) in lines {
        let mut cells = vec![Cell::new(name), Cell::new(current)];
        if compared {
            cells.push(Cell::new(previous));
        }
        table.add_row(cells);
    }
    align_right(&mut table, &[1, 2]);
    format!("Connect rules\n{table}")
}

/// Contact reach and the most-dialled contacts.
fn reach_section(reach: &Reach, rate: Option<&Interval>, color: bool) -> String {
    let mut table = new_table(&["Reach", "Current"], color);
    let lines = display::reach_lines(reach, rate);
    for (name, value) in lines {
        table.add_row(vec![Cell::new(name), Cell::new(value)]);
    }
    align_right(&mut table, &[1]);
    let mut most = new_table(
        &["Contact", "Dials", "Connected", "Last dialled (UTC)"],
        color,
    );
    for contact in &reach.most_dialled {
        most.add_row(vec![
            text_cell(&contact.contact_number),
            Cell::new(display::count(contact.dials)),
            Cell::new(display::count(contact.connected)),
            text_cell(&contact.last_dialled),
        ]);
    }
    align_right(&mut most, &[1, 2]);
    format!(
        "Contact reach\n{table}\n\nMost-dialled contacts, top {}\n{most}",
        reach.most_dialled.len()
    )
}
