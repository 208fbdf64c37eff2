//! The heatmap (SPEC §4 `heatmap`): dials and connected calls per weekday and
//! wall-clock hour in the request's zone, all 168 cells.

use polars::prelude::*;

use super::{count_where, derived, keyed_counts};
use crate::response::{Heatmap, HeatmapCell};
use crate::rounding::{Rounding, RATE_DECIMALS};

/// Weekday names in heatmap order.
pub const WEEKDAYS: [&str; 7] = [
    "MONDAY",
    "TUESDAY",
    "WEDNESDAY",
    "THURSDAY",
    "FRIDAY",
    "SATURDAY",
    "SUNDAY",
];

/// Dials and connected calls per local weekday and hour of the current period.
pub(super) fn heatmap_plan(scoped: LazyFrame) -> LazyFrame {
    scoped
        .filter(col(derived::IN_CURRENT))
        .group_by([
            col(derived::LOCAL).dt().weekday().alias(derived::WEEKDAY),
            col(derived::LOCAL).dt().hour().alias(derived::HOUR),
        ])
        .agg([
            len().cast(DataType::Int64).alias(derived::DIALS),
            count_where(col(derived::CONNECTED)).alias(derived::CONNECTED),
        ])
}

/// The 168 cells, Monday 0h to Sunday 23h, from [`heatmap_plan`]'s counts
/// (a cell without calls holds 0).
pub(super) fn read_heatmap(frame: &DataFrame, rounding: Rounding) -> PolarsResult<Heatmap> {
    let counts = keyed_counts(
        frame,
        &[derived::WEEKDAY, derived::HOUR],
        [derived::DIALS, derived::CONNECTED],
    )?;
    let mut heatmap = Heatmap {
        dials: Vec::with_capacity(168),
        connected: Vec::with_capacity(168),
        connection_rate: Vec::with_capacity(168),
    };
    for (weekday, day) in (1i64..).zip(WEEKDAYS) {
        for hour in 0..24u32 {
            let [dials, connected] = counts
                .get(&vec![weekday, i64::from(hour)])
                .copied()
                .unwrap_or_default();
            let cell = |value| HeatmapCell { day, hour, value };
            heatmap.dials.push(cell(dials as u64));
            heatmap.connected.push(cell(connected as u64));
            heatmap.connection_rate.push(HeatmapCell {
                day,
                hour,
                value: rounding
                    .ratio(connected.into(), dials.into(), RATE_DECIMALS)
                    .unwrap_or(0.0),
            });
        }
    }
    Ok(heatmap)
}
