//! Where and when the generated teams work: the three time zones reps work
//! in (Paris, New York, Tokyo), each with its names, Allo numbers, numbers
//! called and holidays, and the weekday and hour patterns of activity and of
//! callees picking up.

use chrono::{Datelike, NaiveDate, Weekday};
use chrono_tz::Tz;

/// The zones reps work in.
pub(super) const ZONES: [ZoneSpec; 3] = [PARIS, NEW_YORK, TOKYO];

/// A team's zone: where its reps work and whom they call.
pub(super) struct ZoneSpec {
    pub(super) tz: Tz,
    /// Share of the reps.
    pub(super) share: f64,
    /// E-mail domain.
    pub(super) domain: &'static str,
    /// Given names: as shown, and in ASCII for e-mails.
    pub(super) given: &'static [(&'static str, &'static str)],
    /// Family names: as shown, and in ASCII for e-mails.
    pub(super) family: &'static [(&'static str, &'static str)],
    /// Share of reps whose names are shown family name first, in the local
    /// script (the others: ASCII, given name first).
    pub(super) local_script: f64,
    /// The team's Allo numbers: E.164, label, share of calls.
    pub(super) numbers: &'static [(&'static str, &'static str, f64)],
    /// Numbers called: E.164 prefix, digits after it, share of calls.
    pub(super) contacts: &'static [(&'static str, u32, f64)],
    /// Activity factor of a day (holidays), besides weekends.
    pub(super) holiday: fn(NaiveDate) -> f64,
}

const PARIS: ZoneSpec = ZoneSpec {
    tz: chrono_tz::Europe::Paris,
    share: 0.45,
    domain: "acme.fr",
    given: &[
        ("Camille", "camille"),
        ("Léa", "lea"),
        ("Chloé", "chloe"),
        ("Hugo", "hugo"),
        ("Théo", "theo"),
        ("Noémie", "noemie"),
        ("Zoé", "zoe"),
        ("Jérôme", "jerome"),
        ("François", "francois"),
        ("Amélie", "amelie"),
        ("Maël", "mael"),
        ("Inès", "ines"),
        ("Lucas", "lucas"),
        ("Manon", "manon"),
        ("Gaël", "gael"),
        ("Clément", "clement"),
        ("Sophie", "sophie"),
        ("Antoine", "antoine"),
    ],
    family: &[
        ("Martin", "martin"),
        ("Dubois", "dubois"),
        ("Lefèvre", "lefevre"),
        ("Müller", "muller"),
        ("Garnier", "garnier"),
        ("Roussel", "roussel"),
        ("Chevalier", "chevalier"),
        ("Bérard", "berard"),
        ("Nguyễn", "nguyen"),
        ("Østergaard", "ostergaard"),
        ("Moreau", "moreau"),
        ("Fournier", "fournier"),
        ("Da Costa", "dacosta"),
        ("Benali", "benali"),
    ],
    local_script: 0.0,
    numbers: &[
        ("+33184881001", "Sales FR", 0.5),
        ("+33184881002", "SDR Paris", 0.3),
        ("+33184881003", "Partenariats", 0.2),
    ],
    contacts: &[
        ("+336", 8, 0.55),
        ("+337", 8, 0.15),
        ("+331", 8, 0.15),
        ("+334", 8, 0.05),
        ("+447", 9, 0.04),
        ("+4915", 9, 0.03),
        ("+3247", 7, 0.03),
    ],
    holiday: paris_holiday,
};

const NEW_YORK: ZoneSpec = ZoneSpec {
    tz: chrono_tz::America::New_York,
    share: 0.35,
    domain: "acme.com",
    given: &[
        ("James", "james"),
        ("Olivia", "olivia"),
        ("Sofía", "sofia"),
        ("Liam", "liam"),
        ("Ava", "ava"),
        ("Mateo", "mateo"),
        ("Chloe", "chloe"),
        ("Ethan", "ethan"),
        ("Zoë", "zoe"),
        ("Noah", "noah"),
        ("Isabella", "isabella"),
        ("Aiden", "aiden"),
        ("Björn", "bjorn"),
        ("Priya", "priya"),
        ("Marcus", "marcus"),
        ("Hannah", "hannah"),
    ],
    family: &[
        ("Smith", "smith"),
        ("Johnson", "johnson"),
        ("García", "garcia"),
        ("O'Brien", "obrien"),
        ("Nguyen", "nguyen"),
        ("Kowalski", "kowalski"),
        ("Rodríguez", "rodriguez"),
        ("Williams", "williams"),
        ("Brown", "brown"),
        ("Davis", "davis"),
        ("Łukasiewicz", "lukasiewicz"),
        ("Patel", "patel"),
        ("Cohen", "cohen"),
        ("Kim", "kim"),
    ],
    local_script: 0.0,
    numbers: &[
        ("+12125550101", "Sales US", 0.5),
        ("+16465550102", "SDR US East", 0.3),
        ("+13125550103", "Sales US Central", 0.2),
    ],
    contacts: &[
        ("+1212", 7, 0.2),
        ("+1646", 7, 0.15),
        ("+1718", 7, 0.1),
        ("+1917", 7, 0.15),
        ("+1415", 7, 0.1),
        ("+1312", 7, 0.1),
        ("+1617", 7, 0.08),
        ("+1305", 7, 0.07),
        ("+1416", 7, 0.05),
    ],
    holiday: new_york_holiday,
};

const TOKYO: ZoneSpec = ZoneSpec {
    tz: chrono_tz::Asia::Tokyo,
    share: 0.2,
    domain: "acme.co.jp",
    given: &[
        ("健", "ken"),
        ("花子", "hanako"),
        ("蓮", "ren"),
        ("結衣", "yui"),
        ("陽翔", "haruto"),
        ("さくら", "sakura"),
        ("健二", "kenji"),
        ("愛子", "aiko"),
        ("拓海", "takumi"),
        ("芽衣", "mei"),
    ],
    family: &[
        ("佐藤", "sato"),
        ("鈴木", "suzuki"),
        ("高橋", "takahashi"),
        ("田中", "tanaka"),
        ("伊藤", "ito"),
        ("渡辺", "watanabe"),
        ("山本", "yamamoto"),
        ("中村", "nakamura"),
    ],
    local_script: 0.5,
    numbers: &[
        ("+81345550101", "Sales JP", 0.6),
        ("+81345550102", "営業 東京", 0.4),
    ],
    contacts: &[
        ("+8190", 8, 0.4),
        ("+8180", 8, 0.25),
        ("+8170", 8, 0.1),
        ("+813", 8, 0.2),
        ("+852", 8, 0.05),
    ],
    holiday: tokyo_holiday,
};

/// Holidays and the quiet August of the Paris team.
fn paris_holiday(day: NaiveDate) -> f64 {
    match (day.month(), day.day()) {
        (1, 1) | (5, 1) | (5, 8) | (7, 14) | (8, 15) | (11, 1) | (11, 11) | (12, 25) => 0.1,
        (12, 24..=31) => 0.35,
        (8, _) => 0.55,
        _ => 1.0,
    }
}

/// Holidays of the New York team (Thanksgiving: fourth Thursday of November).
fn new_york_holiday(day: NaiveDate) -> f64 {
    match (day.month(), day.day(), day.weekday()) {
        (1, 1, _) | (7, 4, _) | (12, 25, _) | (11, 22..=28, Weekday::Thu) => 0.1,
        (12, 24..=31, _) => 0.35,
        _ => 1.0,
    }
}

/// New Year and Golden Week of the Tokyo team.
fn tokyo_holiday(day: NaiveDate) -> f64 {
    match (day.month(), day.day()) {
        (1, 1..=3) => 0.1,
        (4, 29..=30) | (5, 1..=5) => 0.2,
        (12, 28..=31) => 0.3,
        _ => 1.0,
    }
}

/// Activity of a day of the week, Monday first.
pub(super) const WEEKDAY_ACTIVITY: [f64; 7] = [1.0, 1.05, 1.05, 1.0, 0.85, 0.06, 0.025];

/// Share of calls placed in each local hour.
pub(super) const HOUR_ACTIVITY: [f64; 24] = [
    0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.05, 0.4, 3.0, 8.0, 10.0, 9.5, 5.0, 6.0, 9.5, 10.0, 9.0,
    6.5, 2.5, 0.8, 0.3, 0.1, 0.05, 0.02,
];

/// How each local hour moves the chance that the callee picks up.
pub(super) const HOUR_CONNECT: [f64; 24] = [
    0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.7, 0.8, 1.15, 1.1, 1.0, 0.95, 0.85, 0.9, 1.0, 1.0, 1.1, 1.15,
    1.0, 0.85, 0.8, 0.7, 0.6, 0.6,
];
