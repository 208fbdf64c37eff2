//! The wall-clock time of UTC instants in a zone, by a table of the zone's
//! offsets over the instants' range instead of a zone lookup per instant.
//!
//! Every section reads the calls' local time, so converting each call's
//! instant is a large share of a request's work when few calls are read
//! (an answer of `serve`). A zone changes its offset a few times a year:
//! the offsets in force over the instants' range are found once (sampled
//! every [`SAMPLE_SECONDS`], each change pinned to its second by
//! bisection), then each instant's local time is one addition. Over a range
//! longer than [`MOST_SECONDS_TABLED`], the zone is asked instant by
//! instant, as Polars' own conversion does.

use chrono::{DateTime, Offset, TimeZone as _};
use chrono_tz::Tz;
use polars::prelude::*;

use crate::model::DATE_UNIT;

// The instants are the column's integers: microseconds.
const _: () = assert!(matches!(DATE_UNIT, TimeUnit::Microseconds));
const MICROS: i64 = 1_000_000;

/// Seconds between two samples of a zone's offset: no zone of the time
/// zone database changes its offset twice within 15 minutes.
const SAMPLE_SECONDS: i64 = 15 * 60;

/// The longest range of instants converted through a table (about ten
/// years: 350,000 samples).
const MOST_SECONDS_TABLED: i64 = 10 * 366 * 86_400;

/// `date` (UTC instants, as the canonical date column holds them) as the
/// wall-clock time in `zone`, a datetime without zone.
pub(super) fn wall_clock(date: Expr, zone: Tz) -> Expr {
    date.map(
        move |column| {
            let instants = column.datetime()?.physical();
            let local = match instants.min().zip(instants.max()) {
                Some((first, last)) => match Offsets::over(zone, first, last) {
                    Some(offsets) => instants.apply_values(|micros| offsets.local(micros)),
                    None => instants.apply_values(|micros| local_by_lookup(zone, micros)),
                },
                None => instants.clone(),
            };
            Ok(local.into_datetime(DATE_UNIT, None).into_column())
        },
        |_, input| {
            Ok(Field::new(
                input.name().clone(),
                DataType::Datetime(DATE_UNIT, None),
            ))
        },
    )
}

/// The offsets of a zone over a range of instants: from each start (in
/// microseconds, the first `i64::MIN`), the offset in force.
#[derive(Debug, PartialEq)]
struct Offsets {
    starts: Vec<i64>,
    offsets_micros: Vec<i64>,
}

impl Offsets {
    /// The offsets of `zone` from instant `first` to `last` (microseconds);
    /// `None` when the range is longer than [`MOST_SECONDS_TABLED`].
    fn over(zone: Tz, first: i64, last: i64) -> Option<Self> {
        let (from, to) = (first.div_euclid(MICROS), last.div_euclid(MICROS) + 1);
        if to - from > MOST_SECONDS_TABLED {
            return None;
        }
        let mut offset = offset_seconds(zone, from);
        let mut table = Offsets {
            starts: vec![i64::MIN],
            offsets_micros: vec![offset * MICROS],
        };
        let mut at = from;
        while at < to {
            let next = (at + SAMPLE_SECONDS).min(to);
            if offset_seconds(zone, next) == offset {
                at = next;
                continue;
            }
            // The first second of the new offset, between `at` and `next`.
            let (mut before, mut after) = (at, next);
            while after - before > 1 {
                let middle = before + (after - before) / 2;
                if offset_seconds(zone, middle) == offset {
                    before = middle;
                } else {
                    after = middle;
                }
            }
            offset = offset_seconds(zone, after);
            table.starts.push(after * MICROS);
            table.offsets_micros.push(offset * MICROS);
            at = after;
        }
        Some(table)
    }

    /// The wall-clock time of `micros` (within the range of the table).
    fn local(&self, micros: i64) -> i64 {
        let index = self.starts.partition_point(|start| *start <= micros) - 1;
        micros + self.offsets_micros[index]
    }
}

/// The offset of `zone` from UTC at the instant `seconds`, in seconds.
fn offset_seconds(zone: Tz, seconds: i64) -> i64 {
    let instant = DateTime::from_timestamp(seconds, 0).unwrap_or_default();
    i64::from(
        zone.offset_from_utc_datetime(&instant.naive_utc())
            .fix()
            .local_minus_utc(),
    )
}

/// The wall-clock time of `micros` in `zone`, the zone asked directly.
fn local_by_lookup(zone: Tz, micros: i64) -> i64 {
    micros + offset_seconds(zone, micros.div_euclid(MICROS)) * MICROS
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn micros(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_micros()
    }

    #[test]
    fn a_year_of_new_york_has_two_changes_to_the_second() {
        let zone: Tz = "America/New_York".parse().unwrap();
        let offsets = Offsets::over(
            zone,
            micros("2024-01-01T00:00:00Z"),
            micros("2024-12-31T23:59:59Z"),
        )
        .unwrap();
        let hours = |hours: i64| hours * 3_600 * MICROS;
        assert_eq!(
            offsets,
            Offsets {
                starts: vec![
                    i64::MIN,
                    micros("2024-03-10T07:00:00Z"),
                    micros("2024-11-03T06:00:00Z")
                ],
                offsets_micros: vec![hours(-5), hours(-4), hours(-5)],
            }
        );
        // The last microsecond before a change keeps the old offset.
        let before = micros("2024-03-10T07:00:00Z") - 1;
        assert_eq!(offsets.local(before), before - hours(5));
    }

    #[test]
    fn a_range_too_long_for_a_table_is_converted_instant_by_instant() {
        let zone: Tz = "Europe/Paris".parse().unwrap();
        let (first, last) = (
            micros("1990-01-01T00:00:00Z"),
            micros("2024-01-01T00:00:00Z"),
        );
        assert!(Offsets::over(zone, first, last).is_none());
        let frame = df!("date" => [first, last]).unwrap();
        let local = frame
            .lazy()
            .select([wall_clock(
                col("date").cast(crate::model::date_dtype()),
                zone,
            )])
            .collect()
            .unwrap();
        let local = local
            .column("date")
            .unwrap()
            .datetime()
            .unwrap()
            .physical()
            .clone();
        let hour = 3_600 * MICROS;
        assert_eq!(
            local.into_no_null_iter().collect::<Vec<_>>(),
            [first + hour, last + hour]
        );
    }

    proptest! {
        /// The table gives, for any instant of its range, the wall-clock
        /// time the zone gives, in every zone of the database.
        #[test]
        fn the_table_gives_the_zones_own_wall_clock_time(
            zone in proptest::sample::select(chrono_tz::TZ_VARIANTS.to_vec()),
            first in -2_000_000_000i64..4_000_000_000,
            span in 0i64..(3 * 366 * 86_400),
            picks in proptest::collection::vec(0.0f64..=1.0, 1..40),
        ) {
            let (first, last) = (first * MICROS, (first + span) * MICROS + 999_999);
            let offsets = Offsets::over(zone, first, last).unwrap();
            for pick in picks {
                let instant = first + ((last - first) as f64 * pick) as i64;
                prop_assert_eq!(offsets.local(instant), local_by_lookup(zone, instant));
            }
        }
    }
}
