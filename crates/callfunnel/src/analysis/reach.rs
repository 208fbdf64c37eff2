//! Contact reach (SPEC §8.3 `reach`): over the current period's dials with
//! a `contact_number`, how many contacts were dialled, reached and
//! converted, how many dials a contact took, and which were dialled most.
//!
//! One plan: each contact's counts in a group-by over the current calls,
//! then its dials up to its first connected call (by date, then id) from
//! the calls joined with that first call. Memory grows with the contacts,
//! not the calls.

use polars::prelude::*;
use serde::Serialize;

use super::date_id_order;
use crate::engine::{count_where, derived, format_utc, EngineError};
use crate::model::column;
use crate::rounding::{Rounding, AVERAGE_DECIMALS, RATE_DECIMALS};

/// How many contacts `most_dialled` lists.
pub const MOST_DIALLED: usize = 10;
/// A contact with at least this many dials and no connected call is
/// counted in `unreached_after_5_dials`.
pub const UNREACHED_AFTER_DIALS: i64 = 5;

/// `analysis.reach`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reach {
    /// Current-period dials without a `contact_number` (left out of the rest).
    pub dials_without_contact: u64,
    /// Distinct contact numbers dialled.
    pub contacts_dialled: u64,
    /// Contacts with at least one connected call.
    pub contacts_reached: u64,
    /// Contacts with at least one conversion.
    pub contacts_converted: u64,
    /// Reached ÷ dialled, a rate; `null` when none was dialled.
    pub reach_rate: Option<f64>,
    /// Dials with a contact ÷ contacts dialled, an average.
    pub dials_per_contact: Option<f64>,
    /// Over the reached contacts, the dials up to and including the first
    /// connected call.
    pub dials_to_first_connect: DialsToFirstConnect,
    /// Contacts with at least 5 dials and no connected call.
    pub unreached_after_5_dials: u64,
    /// The contacts with the most dials, most first (ties: number ascending).
    pub most_dialled: Vec<MostDialled>,
}

/// The dials a reached contact took up to its first connected call.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DialsToFirstConnect {
    /// Their mean, an average; `null` when no contact was reached.
    pub mean: Option<f64>,
    /// Their median (of an even count, the mean of the two middle values).
    pub median: Option<f64>,
}

/// One of the most-dialled contacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MostDialled {
    /// The number.
    pub contact_number: String,
    /// Its dials in the current period.
    pub dials: u64,
    /// Its connected calls.
    pub connected: u64,
    /// Its latest dial, UTC `YYYY-MM-DDTHH:MM:SSZ`.
    pub last_dialled: String,
}

/// Names of the per-contact columns.
const DIALS: &str = "dials";
const CONNECTED: &str = "connected";
const CONVERSIONS: &str = "conversions";
const LAST_DIALLED: &str = "last_dialled";
const ORDER: &str = "order";
const FIRST_CONNECT: &str = "first_connect";
const TO_FIRST_CONNECT: &str = "to_first_connect";

/// One row per contact number of the current period (and one for the
/// calls without, its number `null`): dials, connected calls, conversions,
/// latest dial (UTC microseconds) and, when reached, the dials up to its
/// first connected call.
pub(super) fn reach_plan(scoped: LazyFrame) -> LazyFrame {
    let calls = scoped.filter(col(derived::IN_CURRENT)).select([
        col(column::CONTACT_NUMBER),
        col(column::DATE),
        col(derived::CONNECTED),
        col(derived::CONVERSION),
        date_id_order().alias(ORDER),
    ]);
    let contacts = calls.clone().group_by([col(column::CONTACT_NUMBER)]).agg([
        len().cast(DataType::Int64).alias(DIALS),
        count_where(col(derived::CONNECTED)).alias(CONNECTED),
        count_where(col(derived::CONVERSION)).alias(CONVERSIONS),
        col(column::DATE)
            .max()
            .cast(DataType::Int64)
            .alias(LAST_DIALLED),
        when(col(derived::CONNECTED))
            .then(col(ORDER))
            .otherwise(lit(NULL))
            .min()
            .alias(FIRST_CONNECT),
    ]);
    let first_connects = contacts
        .clone()
        .filter(col(FIRST_CONNECT).is_not_null())
        .select([col(column::CONTACT_NUMBER), col(FIRST_CONNECT)]);
    let to_first_connect = calls
        .join(
            first_connects,
            [col(column::CONTACT_NUMBER)],
            [col(column::CONTACT_NUMBER)],
            JoinArgs::new(JoinType::Inner),
        )
        .filter(col(ORDER).lt_eq(col(FIRST_CONNECT)))
        .group_by([col(column::CONTACT_NUMBER)])
        .agg([len().cast(DataType::Int64).alias(TO_FIRST_CONNECT)]);
    contacts
        .join(
            to_first_connect,
            [col(column::CONTACT_NUMBER)],
            [col(column::CONTACT_NUMBER)],
            JoinArgs::new(JoinType::Left),
        )
        .select([
            col(column::CONTACT_NUMBER),
            col(DIALS),
            col(CONNECTED),
            col(CONVERSIONS),
            col(LAST_DIALLED),
            col(TO_FIRST_CONNECT),
        ])
}

/// One contact's row of [`reach_plan`].
struct Contact<'a> {
    number: &'a str,
    dials: i64,
    connected: i64,
    conversions: i64,
    last_dialled: i64,
}

/// The reach figures from [`reach_plan`]'s frame.
pub(super) fn read_reach(frame: &DataFrame, rounding: Rounding) -> Result<Reach, EngineError> {
    let int = |name: &str| -> PolarsResult<Int64Chunked> {
        Ok(frame.column(name)?.cast(&DataType::Int64)?.i64()?.clone())
    };
    let numbers = frame.column(column::CONTACT_NUMBER)?.str()?.clone();
    let (dials, connected, conversions) = (int(DIALS)?, int(CONNECTED)?, int(CONVERSIONS)?);
    let (last_dialled, to_first_connect) = (int(LAST_DIALLED)?, int(TO_FIRST_CONNECT)?);

    let mut without_contact = 0;
    let mut contacts = Vec::with_capacity(frame.height());
    let mut to_first: Vec<i64> = Vec::new();
    for row in 0..frame.height() {
        let dials = dials.get(row).unwrap_or(0);
        let Some(number) = numbers.get(row) else {
            without_contact += dials;
            continue;
        };
        if let Some(count) = to_first_connect.get(row) {
            to_first.push(count);
        }
        contacts.push(Contact {
            number,
            dials,
            connected: connected.get(row).unwrap_or(0),
            conversions: conversions.get(row).unwrap_or(0),
            last_dialled: last_dialled.get(row).unwrap_or(0),
        });
    }

    let dialled = contacts.len() as i128;
    let reached = contacts.iter().filter(|c| c.connected > 0).count() as i128;
    let dials_with_contact: i128 = contacts.iter().map(|c| i128::from(c.dials)).sum();
    Ok(Reach {
        dials_without_contact: without_contact as u64,
        contacts_dialled: dialled as u64,
        contacts_reached: reached as u64,
        contacts_converted: contacts.iter().filter(|c| c.conversions > 0).count() as u64,
        reach_rate: rounding.ratio(reached, dialled, RATE_DECIMALS),
        dials_per_contact: rounding.ratio(dials_with_contact, dialled, AVERAGE_DECIMALS),
        dials_to_first_connect: DialsToFirstConnect {
            mean: rounding.ratio(
                to_first.iter().map(|&count| i128::from(count)).sum(),
                to_first.len() as i128,
                AVERAGE_DECIMALS,
            ),
            median: median(&mut to_first, rounding),
        },
        unreached_after_5_dials: contacts
            .iter()
            .filter(|c| c.connected == 0 && c.dials >= UNREACHED_AFTER_DIALS)
            .count() as u64,
        most_dialled: most_dialled(&mut contacts),
    })
}

/// The median of `values` (reordered), rounded as an average: of an even
/// count, the mean of the two middle values; `None` when empty.
fn median(values: &mut [i64], rounding: Rounding) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let even = values.len() % 2 == 0;
    let middle = values.len() / 2;
    let (lower_half, upper, _) = values.select_nth_unstable(middle);
    let upper = i128::from(*upper);
    let lower = match even {
        true => i128::from(*lower_half.iter().max()?),
        false => upper,
    };
    rounding.ratio(lower + upper, 2, AVERAGE_DECIMALS)
}

/// The [`MOST_DIALLED`] contacts with the most dials (ties: number
/// ascending), most first.
fn most_dialled(contacts: &mut [Contact]) -> Vec<MostDialled> {
    let order =
        |a: &Contact, b: &Contact| b.dials.cmp(&a.dials).then_with(|| a.number.cmp(b.number));
    let shown = contacts.len().min(MOST_DIALLED);
    if contacts.len() > shown {
        contacts.select_nth_unstable_by(shown, order);
    }
    let top = &mut contacts[..shown];
    top.sort_by(order);
    top.iter()
        .map(|contact| MostDialled {
            contact_number: contact.number.to_string(),
            dials: contact.dials as u64,
            connected: contact.connected as u64,
            last_dialled: format_utc(contact.last_dialled),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        let median = |values: &[i64]| median(&mut values.to_vec(), Rounding::Api);
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[4]), Some(4.0));
        assert_eq!(median(&[5, 1, 3]), Some(3.0));
        assert_eq!(median(&[4, 1, 2, 9]), Some(3.0));
        assert_eq!(median(&[1, 2]), Some(1.5));
        assert_eq!(median(&[7, 7, 1, 1]), Some(4.0));
    }
}
