//! The loaded calls as the API's `ConversationItem`s (SPEC §1 field names),
//! built once per load from the canonical frame, with the indexes the
//! conversation routes need.
//!
//! What serve writes reads back through `ingest` as the same calls: dates are
//! UTC RFC 3339 with the fraction only when there is one, absent values are
//! `null`, tags keep their (lower) case.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use callfunnel::model::column;
use callfunnel::model::rules::{DEFAULT_DIRECTION, DEFAULT_TYPE};
use chrono::{DateTime, SecondsFormat};
use polars::prelude::*;
use serde::{Serialize, Serializer};

/// A text shared by every item that holds it (user names, numbers, enums, tags
/// repeat across calls).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shared(Arc<str>);

impl Shared {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for Shared {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Hands out one [`Shared`] per distinct text.
#[derive(Default)]
struct Interner {
    texts: HashMap<String, Shared>,
}

impl Interner {
    fn get(&mut self, text: &str) -> Shared {
        if let Some(shared) = self.texts.get(text) {
            return shared.clone();
        }
        let shared = Shared(Arc::from(text));
        self.texts.insert(text.to_string(), shared.clone());
        shared
    }

    fn optional(&mut self, text: &Option<String>) -> Option<Shared> {
        text.as_deref().map(|text| self.get(text))
    }
}

/// `UserRef`: `{"id", "name", "email"}`, each `null` when unknown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserRef {
    /// Rep id.
    pub id: Option<Shared>,
    /// Rep name.
    pub name: Option<Shared>,
    /// Rep email.
    pub email: Option<Shared>,
}

/// One call as the conversations routes answer it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversationItem {
    /// Call id.
    pub id: String,
    /// Dial instant, microseconds since the epoch (UTC RFC 3339 in JSON).
    #[serde(serialize_with = "serialize_instant")]
    pub date: i64,
    /// `OUTBOUND` or `INBOUND`.
    pub direction: Shared,
    /// `CALL` or `SMS`.
    #[serde(rename = "type")]
    pub item_type: Shared,
    /// The rep; `null` when the call has no user field at all.
    pub user: Option<UserRef>,
    /// Allo number used.
    pub allo_number: Option<Shared>,
    /// Its label.
    pub allo_number_label: Option<Shared>,
    /// Number dialled.
    pub contact_number: Option<String>,
    /// Telephony outcome; `null` when unknown.
    pub result: Option<Shared>,
    /// Talk time in seconds.
    pub duration: i64,
    /// Ringing time in seconds; `null` when unknown.
    pub ringing_seconds: Option<f64>,
    /// Tag keys, lower case.
    pub tags: Vec<Shared>,
}

/// An instant in microseconds as `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`.
pub fn format_instant(micros: i64) -> String {
    DateTime::from_timestamp_micros(micros)
        .map(|date| date.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}

fn serialize_instant<S: Serializer>(micros: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_instant(*micros))
}

impl ConversationItem {
    /// The rep's id, when known.
    pub fn user_id(&self) -> Option<&str> {
        self.user.as_ref()?.id.as_ref().map(Shared::as_str)
    }
}

/// The items of a load and their indexes.
#[derive(Debug, Default)]
pub struct ItemStore {
    /// Newest first; ties by `id` ascending.
    pub newest_first: Vec<ConversationItem>,
    /// Positions in `newest_first`, oldest first; ties by `id` ascending.
    pub oldest_first: Vec<u32>,
    /// Position in `newest_first` of each id.
    pub by_id: HashMap<String, u32>,
    /// The reference routes' data, gathered once per load.
    reference: Reference,
}

/// Users, numbers and tags of the calls (see [`ItemStore::users`] and the
/// others), gathered once, as every answer of the reference routes reads
/// them.
#[derive(Debug, Default)]
struct Reference {
    users: Vec<UserRef>,
    numbers: Vec<(Shared, Option<Shared>)>,
    tags: Vec<(String, u64)>,
}

impl ItemStore {
    /// Builds the items from the canonical call frame.
    pub fn from_frame(frame: &DataFrame) -> PolarsResult<ItemStore> {
        let mut items = items_from_frame(frame)?;
        items.sort_by(|a, b| b.date.cmp(&a.date).then_with(|| a.id.cmp(&b.id)));
        let mut oldest_first: Vec<u32> = (0..items.len() as u32).collect();
        oldest_first.sort_by(|&a, &b| {
            let (a, b) = (&items[a as usize], &items[b as usize]);
            a.date.cmp(&b.date).then_with(|| a.id.cmp(&b.id))
        });
        let by_id = items
            .iter()
            .enumerate()
            .map(|(position, item)| (item.id.clone(), position as u32))
            .collect();
        let mut store = ItemStore {
            newest_first: items,
            oldest_first,
            by_id,
            reference: Reference::default(),
        };
        store.reference = Reference {
            users: store.gather_users(),
            numbers: store.gather_numbers(),
            tags: store
                .gather_tags()
                .into_iter()
                .map(|(tag, count)| (tag.to_string(), count))
                .collect(),
        };
        Ok(store)
    }

    /// The item with this id.
    pub fn get(&self, id: &str) -> Option<&ConversationItem> {
        self.by_id
            .get(id)
            .map(|&position| &self.newest_first[position as usize])
    }

    /// Every user seen, by id, with the name and email of their latest call
    /// (ties: the greatest call id), as the leaderboard names them (SPEC §4).
    pub fn users(&self) -> &[UserRef] {
        &self.reference.users
    }

    /// Every Allo number seen, with the label of its latest call.
    pub fn numbers(&self) -> &[(Shared, Option<Shared>)] {
        &self.reference.numbers
    }

    /// Every tag seen, with how many calls carry it, by tag.
    pub fn tags(&self) -> &[(String, u64)] {
        &self.reference.tags
    }

    fn gather_users(&self) -> Vec<UserRef> {
        let mut latest: BTreeMap<&str, &ConversationItem> = BTreeMap::new();
        for item in &self.newest_first {
            let Some(id) = item.user_id() else { continue };
            let entry = latest.entry(id).or_insert(item);
            if (item.date, &item.id) > (entry.date, &entry.id) {
                *entry = item;
            }
        }
        latest
            .into_values()
            .filter_map(|item| item.user.clone())
            .collect()
    }

    fn gather_numbers(&self) -> Vec<(Shared, Option<Shared>)> {
        let mut latest: BTreeMap<&Shared, &ConversationItem> = BTreeMap::new();
        for item in &self.newest_first {
            let Some(number) = &item.allo_number else {
                continue;
            };
            let entry = latest.entry(number).or_insert(item);
            if (item.date, &item.id) > (entry.date, &entry.id) {
                *entry = item;
            }
        }
        latest
            .into_iter()
            .map(|(number, item)| (number.clone(), item.allo_number_label.clone()))
            .collect()
    }

    fn gather_tags(&self) -> BTreeMap<&str, u64> {
        let mut counts = BTreeMap::new();
        for tag in self.newest_first.iter().flat_map(|item| &item.tags) {
            *counts.entry(tag.as_str()).or_insert(0) += 1;
        }
        counts
    }
}

/// Reads every row of the canonical frame as an item.
fn items_from_frame(frame: &DataFrame) -> PolarsResult<Vec<ConversationItem>> {
    let text = |name: &str| -> PolarsResult<Vec<Option<String>>> {
        Ok(frame
            .column(name)?
            .str()?
            .iter()
            .map(|value| value.map(str::to_string))
            .collect())
    };
    let micros = frame.column(column::DATE)?.cast(&DataType::Int64)?;
    let micros = micros.i64()?;
    let durations = frame.column(column::DURATION)?.i64()?;
    let ringing = frame.column(column::RINGING_SECONDS)?.f64()?;
    let tags = frame.column(column::TAGS)?.list()?;
    let ids = text(column::ID)?;
    let directions = text(column::DIRECTION)?;
    let types = text(column::TYPE)?;
    let user_ids = text(column::USER_ID)?;
    let user_names = text(column::USER_NAME)?;
    let user_emails = text(column::USER_EMAIL)?;
    let numbers = text(column::ALLO_NUMBER)?;
    let labels = text(column::ALLO_NUMBER_LABEL)?;
    let contacts = text(column::CONTACT_NUMBER)?;
    let results = text(column::RESULT)?;

    let mut interner = Interner::default();
    let mut items = Vec::with_capacity(frame.height());
    let rows = ids
        .into_iter()
        .zip(micros.iter())
        .zip(durations.iter().zip(ringing.iter()))
        .zip(tags.series_iter())
        .enumerate();
    for (row, (((id, date), (duration, ringing_seconds)), row_tags)) in rows {
        let user = UserRef {
            id: interner.optional(&user_ids[row]),
            name: interner.optional(&user_names[row]),
            email: interner.optional(&user_emails[row]),
        };
        let has_user = user.id.is_some() || user.name.is_some() || user.email.is_some();
        let direction = interner
            .optional(&directions[row])
            .unwrap_or_else(|| interner.get(DEFAULT_DIRECTION.as_str()));
        let item_type = interner
            .optional(&types[row])
            .unwrap_or_else(|| interner.get(DEFAULT_TYPE.as_str()));
        let allo_number = interner.optional(&numbers[row]);
        let allo_number_label = interner.optional(&labels[row]);
        let result = interner.optional(&results[row]);
        let tag_list = match row_tags {
            Some(series) => series
                .str()?
                .iter()
                .flatten()
                .map(|tag| interner.get(tag))
                .collect(),
            None => Vec::new(),
        };
        items.push(ConversationItem {
            id: id.unwrap_or_default(),
            date: date.unwrap_or_default(),
            direction,
            item_type,
            user: has_user.then_some(user),
            allo_number,
            allo_number_label,
            contact_number: contacts[row].clone(),
            result,
            duration: duration.unwrap_or_default(),
            ringing_seconds,
            tags: tag_list,
        });
    }
    Ok(items)
}
