//! The generator's population, fixed by the options before any call is
//! drawn: the reps (names, e-mails, skill, activity, usual number), the Allo
//! numbers, and per zone the calendar of the period (each day's activity and
//! UTC offset); with the random draws the calls use.

use chrono::{Datelike, NaiveDate, Offset, TimeZone as _, Weekday};
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use rand_pcg::Pcg64Mcg;

use super::calls::NOT_CONNECTED;
use super::encoders::{csv_cell, json_string};
use super::zones::{HOUR_ACTIVITY, WEEKDAY_ACTIVITY, ZONES};
use super::{GenerateError, GenerateOptions};

/// A rep and how they work.
pub(super) struct Rep {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) email: String,
    pub(super) zone: usize,
    /// Their usual Allo number.
    pub(super) number: u16,
    /// Hours their day starts early (negative) or late.
    pub(super) hour_shift: i32,
    /// Multiplies the chance of connecting.
    pub(super) connect: f64,
    /// Multiplies the chance of converting.
    pub(super) convert: f64,
    /// Share of their connected calls that run long.
    pub(super) long_calls: f64,
    /// `user_id,user_name,user_email` as CSV cells.
    pub(super) csv: String,
    /// The same as JSON members.
    pub(super) json: String,
}

/// An Allo number.
pub(super) struct Number {
    pub(super) e164: &'static str,
    pub(super) label: &'static str,
    /// `allo_number,allo_number_label` as CSV cells.
    pub(super) csv: String,
    /// The same as JSON members.
    pub(super) json: String,
}

/// Everything fixed by the options: reps, numbers, calendar.
pub(super) struct World {
    pub(super) rows: u64,
    pub(super) seed: u64,
    pub(super) reps: Vec<Rep>,
    /// Cumulative activity of the reps.
    pub(super) rep_activity: Vec<f64>,
    pub(super) numbers: Vec<Number>,
    /// Per zone: indexes of its numbers and their cumulative shares.
    pub(super) zone_numbers: Vec<(Vec<u16>, Vec<f64>)>,
    /// Per zone: cumulative shares of its contact plans.
    pub(super) zone_contacts: Vec<Vec<f64>>,
    /// Days since the epoch of the first day.
    pub(super) first_day: i64,
    /// Per zone: cumulative activity of each day.
    pub(super) day_activity: Vec<Vec<f64>>,
    /// Per zone and day: UTC offset at local noon, in seconds.
    pub(super) day_offset: Vec<Vec<i64>>,
    /// Per day: whether it is a Saturday or Sunday.
    pub(super) weekend: Vec<bool>,
    /// Cumulative [`HOUR_ACTIVITY`].
    pub(super) hour_activity: Vec<f64>,
    /// Cumulative shares of [`NOT_CONNECTED`].
    pub(super) not_connected: Vec<f64>,
}

/// Running sums of `weights`.
fn cumulative(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut total = 0.0;
    weights
        .into_iter()
        .map(|weight| {
            total += weight;
            total
        })
        .collect()
}

/// Draws an index with probability proportional to its weight, given the
/// running sums of the weights.
pub(super) fn pick(rng: &mut Pcg64Mcg, sums: &[f64]) -> usize {
    let total = sums.last().copied().unwrap_or(0.0);
    let target = rng.random::<f64>() * total;
    sums.partition_point(|&sum| sum <= target)
        .min(sums.len().saturating_sub(1))
}

/// A normal draw.
pub(super) fn normal(rng: &mut Pcg64Mcg, mean: f64, deviation: f64) -> f64 {
    mean + deviation * rng.sample::<f64, _>(StandardNormal)
}

/// A log-normal draw with the given median.
pub(super) fn log_normal(rng: &mut Pcg64Mcg, median: f64, sigma: f64) -> f64 {
    median * (sigma * rng.sample::<f64, _>(StandardNormal)).exp()
}

/// Days since 1970-01-01 of `day`.
fn epoch_days(day: NaiveDate) -> i64 {
    i64::from(day.num_days_from_ce()) - 719_163
}

impl World {
    pub(super) fn new(options: &GenerateOptions) -> Result<World, GenerateError> {
        let in_range = |day: NaiveDate| (1..=9998).contains(&day.year());
        if options.from > options.to || !in_range(options.from) || !in_range(options.to) {
            return Err(GenerateError::DateRange {
                from: options.from,
                to: options.to,
            });
        }
        let mut rng = Pcg64Mcg::seed_from_u64(options.seed);

        let mut numbers = Vec::new();
        let mut zone_numbers = Vec::new();
        for zone in &ZONES {
            let mut indexes = Vec::new();
            for &(e164, label, _) in zone.numbers {
                indexes.push(numbers.len() as u16);
                numbers.push(Number {
                    e164,
                    label,
                    csv: format!("{},{}", csv_cell(e164), csv_cell(label)),
                    json: format!(
                        "\"allo_number\":{},\"allo_number_label\":{}",
                        json_string(e164),
                        json_string(label)
                    ),
                });
            }
            let shares = cumulative(zone.numbers.iter().map(|number| number.2));
            zone_numbers.push((indexes, shares));
        }
        let zone_contacts = ZONES
            .iter()
            .map(|zone| cumulative(zone.contacts.iter().map(|contact| contact.2)))
            .collect();

        let rep_count = (options.rows / 40_000).clamp(5, 1_000) as usize;
        let zone_shares = cumulative(ZONES.iter().map(|zone| zone.share));
        let mut reps = Vec::with_capacity(rep_count);
        let mut activity = Vec::with_capacity(rep_count);
        let mut emails = std::collections::HashSet::new();
        for index in 0..rep_count {
            let zone_index = pick(&mut rng, &zone_shares);
            let zone = &ZONES[zone_index];
            let given = zone.given[rng.random_range(0..zone.given.len())];
            let family = zone.family[rng.random_range(0..zone.family.len())];
            let name = if rng.random_bool(zone.local_script) {
                format!("{} {}", family.0, given.0)
            } else if zone.local_script > 0.0 {
                format!("{} {}", capitalized(given.1), capitalized(family.1))
            } else {
                format!("{} {}", given.0, family.0)
            };
            let mut email = format!("{}.{}@{}", given.1, family.1, zone.domain);
            if !emails.insert(email.clone()) {
                email = format!("{}.{}{}@{}", given.1, family.1, index + 1, zone.domain);
                emails.insert(email.clone());
            }
            let id = format!("usr-{:04}", index + 1);
            let connect = normal(&mut rng, 1.0, 0.18).clamp(0.5, 1.5);
            let convert = (0.5 * connect + 0.5 * normal(&mut rng, 1.0, 0.5)).clamp(0.3, 2.0);
            let (indexes, shares) = &zone_numbers[zone_index];
            let number = indexes[pick(&mut rng, shares)];
            activity.push(log_normal(&mut rng, 1.0, 0.5));
            reps.push(Rep {
                csv: format!("{},{},{}", csv_cell(&id), csv_cell(&name), csv_cell(&email)),
                json: format!(
                    "\"user_id\":{},\"user_name\":{},\"user_email\":{}",
                    json_string(&id),
                    json_string(&name),
                    json_string(&email)
                ),
                id,
                name,
                email,
                zone: zone_index,
                number,
                hour_shift: rng.random_range(-1..=1),
                connect,
                convert,
                long_calls: (0.45 * convert.sqrt()).clamp(0.25, 0.65),
            });
        }

        let first_day = epoch_days(options.from);
        let days: Vec<NaiveDate> = options
            .from
            .iter_days()
            .take_while(|day| *day <= options.to)
            .collect();
        let mut day_activity = Vec::with_capacity(ZONES.len());
        let mut day_offset = Vec::with_capacity(ZONES.len());
        let span = days.len().max(1) as f64;
        for zone in &ZONES {
            day_activity.push(cumulative(days.iter().enumerate().map(|(index, day)| {
                // The business grows over the period.
                let trend = 0.85 + 0.3 * index as f64 / span;
                WEEKDAY_ACTIVITY[day.weekday().num_days_from_monday() as usize]
                    * (zone.holiday)(*day)
                    * trend
            })));
            day_offset.push(
                days.iter()
                    .map(|day| {
                        let noon = day.and_hms_opt(12, 0, 0).expect("valid time");
                        zone.tz
                            .offset_from_local_datetime(&noon)
                            .earliest()
                            .map_or(0, |offset| i64::from(offset.fix().local_minus_utc()))
                    })
                    .collect(),
            );
        }
        let weekend = days
            .iter()
            .map(|day| matches!(day.weekday(), Weekday::Sat | Weekday::Sun))
            .collect();

        Ok(World {
            rows: options.rows,
            seed: options.seed,
            rep_activity: cumulative(activity),
            reps,
            numbers,
            zone_numbers,
            zone_contacts,
            first_day,
            day_activity,
            day_offset,
            weekend,
            hour_activity: cumulative(HOUR_ACTIVITY),
            not_connected: cumulative(NOT_CONNECTED.iter().map(|outcome| outcome.1)),
        })
    }
}

/// `ken` → `Ken`.
fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `rows` calls over 2024, seed 1.
    fn options(rows: u64) -> GenerateOptions {
        GenerateOptions {
            rows,
            seed: 1,
            ..GenerateOptions::default()
        }
    }

    #[test]
    fn reps_scale_with_rows_up_to_a_thousand_with_some_non_ascii_names() {
        let count = |rows| World::new(&options(rows)).unwrap().reps.len();
        assert_eq!(count(10), 5);
        assert_eq!(count(4_000_000), 100);
        assert_eq!(count(10_000_000_000), 1_000);
        let world = World::new(&options(100_000_000)).unwrap();
        assert!(world.reps.iter().any(|rep| !rep.name.is_ascii()));
        assert!(world.reps.iter().all(|rep| rep.email.is_ascii()));
        let emails: std::collections::HashSet<_> =
            world.reps.iter().map(|rep| &rep.email).collect();
        assert_eq!(emails.len(), world.reps.len());
        assert!(world.numbers.iter().any(|number| !number.label.is_ascii()));
    }
}
