//! The generated calls, drawn from the [`World`]: who dials, when (in the
//! rep's local working hours), from which number to which, the outcome, talk
//! and ringing time, and tags; made in chunks, each from its own random
//! stream.

use callfunnel::model::CallResult;
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;

use super::world::{log_normal, normal, pick, Rep, World};
use super::zones::{HOUR_CONNECT, ZONES};
use super::CHUNK_ROWS;

/// Chance that an outbound call of an average rep connects.
const BASE_CONNECT: f64 = 0.33;

/// Outcomes of calls that do not connect, with their shares.
pub(super) const NOT_CONNECTED: [(Option<CallResult>, f64); 6] = [
    (Some(CallResult::Voicemail), 0.224),
    (Some(CallResult::NoAnswer), 0.45),
    (Some(CallResult::Busy), 0.11),
    (Some(CallResult::Failed), 0.07),
    (Some(CallResult::Canceled), 0.1),
    (None, 0.046),
];

/// The tag sets a call can carry; a call holds an index into this list.
pub(super) const TAG_SETS: [&[&str]; 7] = [
    &[],
    &["demo_booked"],
    &["qualified"],
    &["follow_up"],
    &["not_interested"],
    &["qualified", "demo_booked"],
    &["qualified", "follow_up"],
];
const NO_TAGS: u8 = 0;
const DEMO_BOOKED: u8 = 1;
const QUALIFIED: u8 = 2;
const FOLLOW_UP: u8 = 3;
const NOT_INTERESTED: u8 = 4;
const QUALIFIED_DEMO_BOOKED: u8 = 5;
const QUALIFIED_FOLLOW_UP: u8 = 6;

/// Spreads chunk indexes over the seed space (the 64-bit golden ratio).
const CHUNK_SALT: u64 = 0x9E37_79B9_7F4A_7C15;

/// One generated call, compactly; the text comes from the [`World`].
pub(super) struct Row {
    /// Dial instant, seconds since the epoch, UTC.
    pub(super) date: i64,
    /// Index of the rep, `None` for a call without user.
    pub(super) user: Option<u32>,
    /// Index of the Allo number.
    pub(super) number: u16,
    /// Zone of the number called, and index of its plan in the zone.
    pub(super) contact_zone: u8,
    pub(super) contact_plan: u8,
    /// Digits after the plan's prefix.
    pub(super) contact_digits: u32,
    pub(super) inbound: bool,
    pub(super) sms: bool,
    pub(super) result: Option<CallResult>,
    pub(super) duration: u32,
    pub(super) ringing: Option<f64>,
    /// Index into [`TAG_SETS`].
    pub(super) tags: u8,
}

/// The rows of one chunk.
pub(super) struct Chunk {
    /// Number of the first call (ids count from 1).
    pub(super) first: u64,
    pub(super) rows: Vec<Row>,
}

/// Seconds rounded to hundredths.
fn hundredths(seconds: f64) -> f64 {
    (seconds * 100.0).round() / 100.0
}

impl World {
    /// The rows of chunk `index`, from its own random stream.
    pub(super) fn chunk(&self, index: u64) -> Chunk {
        let first = index.saturating_mul(CHUNK_ROWS).min(self.rows);
        let end = first.saturating_add(CHUNK_ROWS).min(self.rows);
        let mut rng =
            Pcg64Mcg::seed_from_u64(self.seed ^ index.wrapping_add(1).wrapping_mul(CHUNK_SALT));
        let rows = (first..end).map(|_| self.call(&mut rng)).collect();
        Chunk {
            first: first + 1,
            rows,
        }
    }

    /// One call.
    fn call(&self, rng: &mut Pcg64Mcg) -> Row {
        let rep_index = pick(rng, &self.rep_activity);
        let rep = &self.reps[rep_index];
        let zone = rep.zone;

        let day = pick(rng, &self.day_activity[zone]);
        let hour = (pick(rng, &self.hour_activity) as i32 + rep.hour_shift).clamp(0, 23);
        let local = (self.first_day + day as i64) * 86_400
            + i64::from(hour) * 3_600
            + rng.random_range(0..3_600i64);
        let date = local - self.day_offset[zone][day];

        let user = (!rng.random_bool(0.003)).then_some(rep_index as u32);
        let number = if rng.random_bool(0.85) {
            rep.number
        } else {
            let (indexes, shares) = &self.zone_numbers[zone];
            indexes[pick(rng, shares)]
        };
        let contact_plan = pick(rng, &self.zone_contacts[zone]);
        let digits = ZONES[zone].contacts[contact_plan].1;
        let low = 2 * 10u32.pow(digits - 1);
        let contact_digits = rng.random_range(low..10u32.pow(digits));
        let inbound = rng.random_bool(0.02);
        let sms = rng.random_bool(0.01);

        let mut row = Row {
            date,
            user,
            number,
            contact_zone: zone as u8,
            contact_plan: contact_plan as u8,
            contact_digits,
            inbound,
            sms,
            result: None,
            duration: 0,
            ringing: None,
            tags: NO_TAGS,
        };
        if sms {
            return row;
        }

        let connect = if inbound {
            0.7
        } else {
            let weekend = if self.weekend[day] { 0.7 } else { 1.0 };
            (BASE_CONNECT * rep.connect * HOUR_CONNECT[hour as usize] * weekend).clamp(0.03, 0.9)
        };
        let result = if rng.random_bool(connect) {
            Some(if rng.random_bool(0.09) {
                CallResult::Transferred
            } else {
                CallResult::Answered
            })
        } else {
            NOT_CONNECTED[pick(rng, &self.not_connected)].0
        };
        row.result = result;
        row.duration = match result {
            Some(CallResult::Answered | CallResult::Transferred) => talk_time(rng, rep),
            Some(CallResult::Voicemail) if rng.random_bool(0.45) => rng.random_range(8..=35),
            _ => 0,
        };
        row.ringing = ringing_time(rng, result);
        row.tags = tags(rng, result, row.duration, rep);
        row
    }
}

/// Talk time of a connected call: a short hang-up, a lump around a minute,
/// or a long call.
fn talk_time(rng: &mut Pcg64Mcg, rep: &Rep) -> u32 {
    let draw = rng.random::<f64>();
    if draw < 0.22 {
        rng.random_range(1..=20)
    } else if draw < 1.0 - rep.long_calls {
        normal(rng, 60.0, 7.0).round().clamp(40.0, 85.0) as u32
    } else {
        75 + log_normal(rng, 110.0, 0.85).round().min(7_200.0) as u32
    }
}

/// Ringing time by outcome, in hundredths; unknown for some calls.
fn ringing_time(rng: &mut Pcg64Mcg, result: Option<CallResult>) -> Option<f64> {
    let unknown = if result == Some(CallResult::Failed) {
        0.5
    } else {
        0.04
    };
    if rng.random_bool(unknown) {
        return None;
    }
    let seconds = match result {
        Some(CallResult::Answered | CallResult::Transferred | CallResult::TransferredAi)
        | Some(CallResult::TransferredExternal) => 2.0 + log_normal(rng, 7.0, 0.5).min(58.0),
        Some(CallResult::Voicemail) => normal(rng, 24.0, 4.0).clamp(10.0, 45.0),
        Some(CallResult::NoAnswer | CallResult::Missed | CallResult::Closed) => {
            normal(rng, 38.0, 7.0).clamp(15.0, 60.0)
        }
        Some(CallResult::Busy) => rng.random_range(0.3..3.0),
        Some(
            CallResult::Failed
            | CallResult::FailedExternal
            | CallResult::Blocked
            | CallResult::Received,
        ) => rng.random_range(0.0..1.5),
        Some(CallResult::Canceled) => rng.random_range(1.0..25.0),
        None => rng.random_range(0.0..30.0),
    };
    Some(hundredths(seconds))
}

/// Tags of a call: conversions mostly on long connected calls of skilled
/// reps, follow-ups after voicemails.
fn tags(rng: &mut Pcg64Mcg, result: Option<CallResult>, duration: u32, rep: &Rep) -> u8 {
    let skill = rep.convert;
    let connected = result.is_some_and(CallResult::is_connected);
    let choices: &[(u8, f64)] = if connected && duration > 60 {
        &[
            (DEMO_BOOKED, 0.10 * skill),
            (QUALIFIED_DEMO_BOOKED, 0.06 * skill),
            (QUALIFIED, 0.12 * skill),
            (QUALIFIED_FOLLOW_UP, 0.05),
            (FOLLOW_UP, 0.15),
            (NOT_INTERESTED, 0.22),
        ]
    } else if connected {
        &[
            (NOT_INTERESTED, 0.25),
            (FOLLOW_UP, 0.10),
            (DEMO_BOOKED, 0.01 * skill),
        ]
    } else if result == Some(CallResult::Voicemail) {
        &[(FOLLOW_UP, 0.2)]
    } else {
        &[(FOLLOW_UP, 0.02), (DEMO_BOOKED, 0.001)]
    };
    let draw = rng.random::<f64>();
    let mut sum = 0.0;
    for &(tags, share) in choices {
        sum += share;
        if draw < sum {
            return tags;
        }
    }
    NO_TAGS
}
