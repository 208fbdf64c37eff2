//! `POST /v2/api/conversations/items/search`: the body's filters, sort and
//! page, read as leniently as the real API reads them (unknown fields are
//! ignored; a filter may be one value or a list), and run over the items.

use std::collections::HashSet;

use callfunnel::model::rules::match_spelling;
use callfunnel::model::{CallResult, CallType, Direction};
use callfunnel::pagination::{
    items_before, page_number, page_size, PageOutOfRange, PageSizeOutOfRange, Pagination, MAX_PAGE,
    MAX_PAGE_SIZE,
};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use serde::Serialize;
use serde_json::{Map, Value};

use super::errors::ApiFailure;
use super::items::{ConversationItem, ItemStore, Shared};
use super::routes::Cancellation;

/// The most distinct values one filter may list (400 beyond): each is
/// looked up in a hash set, but the body still has to be read and hashed.
pub const MAX_FILTER_VALUES: usize = 1_000;
/// The most distinct `search` keywords (400 beyond): every item is searched
/// for every keyword, so they bound the work of a search.
pub const MAX_KEYWORDS: usize = 20;
/// Items scanned between two looks at whether the client is still there.
const ITEMS_BETWEEN_CHECKS: usize = 4096;

/// The order of the results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Newest first (the default, and what any other value falls back to).
    DateDesc,
    /// Oldest first.
    DateAsc,
}

/// A validated search body: each filter a set of distinct values (empty: no
/// filter).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchQuery {
    allo_numbers: HashSet<String>,
    contact_numbers: HashSet<String>,
    user_ids: HashSet<String>,
    directions: HashSet<String>,
    /// `None`: both calls and SMS (`ALL`).
    item_type: Option<String>,
    results: HashSet<String>,
    /// Lower case.
    tags: HashSet<String>,
    /// The distinct `search` keywords, lower case, in order: every one must
    /// be found.
    keywords: Vec<String>,
    /// Inclusive bounds in microseconds since the epoch.
    from_micros: Option<i64>,
    to_micros: Option<i64>,
    sort: Option<Sort>,
    page: u32,
    size: u32,
}

/// `{"data": [...], "pagination": {...}}`: the shape `ingest` reads back.
#[derive(Debug, Serialize)]
pub struct SearchPage<'a> {
    /// The page's items.
    pub data: Vec<&'a ConversationItem>,
    /// Where the page lies among the items matching the filters.
    pub pagination: Pagination,
}

impl SearchQuery {
    /// Reads a search body (`{}` or empty: everything, newest first, page 1).
    pub fn from_body(body: &Value) -> Result<SearchQuery, ApiFailure> {
        let empty = Map::new();
        let fields = match body {
            Value::Object(fields) => fields,
            Value::Null => &empty,
            _ => return Err(body_error("body", "The body must be a JSON object.")),
        };
        let (from_micros, to_micros) = read_date_range(fields.get("date"))?;
        Ok(SearchQuery {
            allo_numbers: text_set(fields, "allo_number")?,
            contact_numbers: text_set(fields, "contact_number")?,
            user_ids: text_set(fields, "user_id")?,
            directions: enum_values(fields, "direction", Direction::SPELLINGS)?,
            item_type: read_type(fields)?,
            results: enum_values(fields, "result", CallResult::SPELLINGS)?,
            tags: capped(
                "tags",
                texts(fields, "tags")?
                    .iter()
                    .map(|tag| tag.trim().to_lowercase()),
            )?,
            keywords: read_keywords(fields)?,
            from_micros,
            to_micros,
            sort: read_sort(fields)?,
            page: read_page(fields)?,
            size: read_size(fields)?,
        })
    }

    /// Whether `item` passes every filter.
    fn matches(&self, item: &ConversationItem) -> bool {
        let one_of = |wanted: &HashSet<String>, value: Option<&str>| {
            wanted.is_empty() || value.is_some_and(|value| wanted.contains(value))
        };
        one_of(
            &self.allo_numbers,
            item.allo_number.as_ref().map(|n| n.as_str()),
        ) && one_of(&self.contact_numbers, item.contact_number.as_deref())
            && one_of(&self.user_ids, item.user_id())
            && one_of(&self.directions, Some(item.direction.as_str()))
            && one_of(&self.results, item.result.as_ref().map(|r| r.as_str()))
            && self
                .item_type
                .iter()
                .all(|wanted| wanted == item.item_type.as_str())
            && (self.tags.is_empty()
                || item.tags.iter().any(|tag| self.tags.contains(tag.as_str())))
            && self.from_micros.iter().all(|&from| item.date >= from)
            && self.to_micros.iter().all(|&to| item.date <= to)
            && self.keywords_match(item)
    }

    /// Whether every keyword is found, case-insensitively, inside one of the
    /// item's texts: contact number, Allo number, user name, user email, tags.
    fn keywords_match(&self, item: &ConversationItem) -> bool {
        if self.keywords.is_empty() {
            return true;
        }
        let user = item.user.as_ref();
        let texts: Vec<String> = [
            item.contact_number.as_deref(),
            item.allo_number.as_ref().map(Shared::as_str),
            user.and_then(|user| user.name.as_ref()).map(Shared::as_str),
            user.and_then(|user| user.email.as_ref())
                .map(Shared::as_str),
        ]
        .into_iter()
        .flatten()
        .chain(item.tags.iter().map(Shared::as_str))
        .map(str::to_lowercase)
        .collect();
        self.keywords
            .iter()
            .all(|keyword| texts.iter().any(|text| text.contains(keyword.as_str())))
    }

    /// The requested page of the matching items, in the requested order;
    /// `None` when `cancellation` says the client is gone (looked at every
    /// few thousand items).
    pub fn run<'a>(
        &self,
        store: &'a ItemStore,
        cancellation: &Cancellation,
    ) -> Option<SearchPage<'a>> {
        let skip = items_before(self.page, self.size);
        let mut total_count = 0u64;
        let mut data = Vec::new();
        let in_order: Box<dyn Iterator<Item = &'a ConversationItem> + 'a> =
            match self.sort.unwrap_or(Sort::DateDesc) {
                Sort::DateDesc => Box::new(store.newest_first.iter()),
                Sort::DateAsc => Box::new(
                    store
                        .oldest_first
                        .iter()
                        .map(|&position| &store.newest_first[position as usize]),
                ),
            };
        for (visited, item) in in_order.enumerate() {
            if visited % ITEMS_BETWEEN_CHECKS == 0 && cancellation.is_cancelled() {
                return None;
            }
            if self.matches(item) {
                if total_count >= skip && data.len() < self.size as usize {
                    data.push(item);
                }
                total_count += 1;
            }
        }
        Some(SearchPage {
            data,
            pagination: Pagination::new(self.page, self.size, total_count),
        })
    }
}

fn body_error(param: &str, message: impl Into<String>) -> ApiFailure {
    ApiFailure::validation("INVALID_REQUEST_BODY", param, message)
}

/// The field's value, unless absent or `null`.
fn present<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    fields.get(name).filter(|value| !value.is_null())
}

/// The distinct `values` of the filter `name`: at most [`MAX_FILTER_VALUES`].
fn capped(name: &str, values: impl Iterator<Item = String>) -> Result<HashSet<String>, ApiFailure> {
    let distinct: HashSet<String> = values.collect();
    if distinct.len() > MAX_FILTER_VALUES {
        return Err(body_error(
            name,
            format!(
                "`{name}` lists {} distinct values; a filter takes at most {MAX_FILTER_VALUES}.",
                distinct.len()
            ),
        ));
    }
    Ok(distinct)
}

/// A text filter's distinct values (see [`texts`]).
fn text_set(fields: &Map<String, Value>, name: &str) -> Result<HashSet<String>, ApiFailure> {
    capped(name, texts(fields, name)?.into_iter())
}

/// A filter given as one string or a list of strings (absent: no filter).
fn texts(fields: &Map<String, Value>, name: &str) -> Result<Vec<String>, ApiFailure> {
    let wrong = || {
        body_error(
            name,
            format!("`{name}` must be a string or a list of strings."),
        )
    };
    match present(fields, name) {
        None => Ok(Vec::new()),
        Some(Value::String(text)) => Ok(vec![text.clone()]),
        Some(Value::Array(values)) => values
            .iter()
            .map(|value| value.as_str().map(str::to_string).ok_or_else(wrong))
            .collect(),
        Some(_) => Err(wrong()),
    }
}

/// `search`: keywords separated by spaces, each to be found in the item
/// (absent, `null` or blank: no keyword filter); each distinct keyword once,
/// at most [`MAX_KEYWORDS`] of them.
fn read_keywords(fields: &Map<String, Value>) -> Result<Vec<String>, ApiFailure> {
    let text = match present(fields, "search") {
        None => return Ok(Vec::new()),
        Some(Value::String(text)) => text,
        Some(_) => {
            return Err(body_error(
                "search",
                "`search` must be a string of keywords.",
            ))
        }
    };
    let mut seen = HashSet::new();
    let keywords: Vec<String> = text
        .split_whitespace()
        .map(str::to_lowercase)
        .filter(|keyword| seen.insert(keyword.clone()))
        .collect();
    if keywords.len() > MAX_KEYWORDS {
        return Err(body_error(
            "search",
            format!(
                "`search` holds {} distinct keywords; at most {MAX_KEYWORDS}.",
                keywords.len()
            ),
        ));
    }
    Ok(keywords)
}

/// An enum filter (one value or a list), matched as the API's values are
/// ([`match_spelling`]) and returned in the API's spelling.
fn enum_values(
    fields: &Map<String, Value>,
    name: &str,
    spellings: &[&'static str],
) -> Result<HashSet<String>, ApiFailure> {
    texts(fields, name)?
        .iter()
        .map(|text| {
            match_spelling(spellings, text)
                .map(|index| spellings[index].to_string())
                .ok_or_else(|| {
                    body_error(
                        name,
                        format!("Unknown {name} '{text}' (one of {}).", spellings.join(", ")),
                    )
                })
        })
        .collect()
}

/// `type`: `CALL`, `SMS` or `ALL` (absent or `ALL`: both).
fn read_type(fields: &Map<String, Value>) -> Result<Option<String>, ApiFailure> {
    let Some(value) = present(fields, "type") else {
        return Ok(None);
    };
    let text = value
        .as_str()
        .ok_or_else(|| body_error("type", "`type` must be CALL, SMS or ALL."))?;
    if match_spelling(&["ALL"], text).is_some() {
        return Ok(None);
    }
    match_spelling(CallType::SPELLINGS, text)
        .map(|index| Some(CallType::SPELLINGS[index].to_string()))
        .ok_or_else(|| body_error("type", format!("Unknown type '{text}' (CALL, SMS or ALL).")))
}

/// `sort`: `DATE_ASC` is oldest first; any other text falls back to newest first.
fn read_sort(fields: &Map<String, Value>) -> Result<Option<Sort>, ApiFailure> {
    match present(fields, "sort") {
        None => Ok(None),
        Some(Value::String(text)) if match_spelling(&["DATE_ASC"], text).is_some() => {
            Ok(Some(Sort::DateAsc))
        }
        Some(Value::String(_)) => Ok(Some(Sort::DateDesc)),
        Some(_) => Err(body_error(
            "sort",
            "`sort` must be a string such as DATE_DESC.",
        )),
    }
}

/// An integer field, when present.
/// Exactly as sent, beyond 64 bits too, so that a range check names the
/// value given.
fn integer(fields: &Map<String, Value>, name: &str) -> Result<Option<i128>, ApiFailure> {
    match present(fields, name) {
        None => Ok(None),
        Some(value) => value
            .as_i64()
            .map(i128::from)
            .or_else(|| value.as_u64().map(i128::from))
            .map(Some)
            .ok_or_else(|| body_error(name, format!("`{name}` must be an integer."))),
    }
}

/// `page`, by the API's page-number rule (from 1, default 1).
fn read_page(fields: &Map<String, Value>) -> Result<u32, ApiFailure> {
    page_number(integer(fields, "page")?).map_err(|error| {
        let message = match error {
            PageOutOfRange::BeforeFirst(page) => format!("`page` must be at least 1, not {page}."),
            PageOutOfRange::BeyondLast(page) => {
                format!("`page` must be at most {MAX_PAGE}, not {page}.")
            }
        };
        body_error("page", message)
    })
}

/// `size`, by the API's page-size rule (1..=100, default 20).
fn read_size(fields: &Map<String, Value>) -> Result<u32, ApiFailure> {
    page_size(integer(fields, "size")?).map_err(|PageSizeOutOfRange(size)| {
        ApiFailure::validation(
            "INVALID_PAGE_SIZE",
            "size",
            format!("`size` must be between 1 and {MAX_PAGE_SIZE}, not {size}."),
        )
    })
}

/// Which end of a range a bound is.
#[derive(Clone, Copy)]
enum End {
    From,
    To,
}

/// `date`: `{from?, to?}`, each a date (the whole day, UTC) or a date-time
/// (an offset, `Z`, or none for UTC); both inclusive.
fn read_date_range(value: Option<&Value>) -> Result<(Option<i64>, Option<i64>), ApiFailure> {
    let range = match value {
        None | Some(Value::Null) => return Ok((None, None)),
        Some(Value::Object(range)) => range,
        Some(_) => return Err(body_error("date", "`date` must be an object {from, to}.")),
    };
    let from = read_bound(range, "from", End::From)?;
    let to = read_bound(range, "to", End::To)?;
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            return Err(date_error("`date.from` is after `date.to`."));
        }
    }
    Ok((from, to))
}

fn date_error(message: impl Into<String>) -> ApiFailure {
    ApiFailure::validation("INVALID_DATE_RANGE", "date", message)
}

/// One bound in microseconds, when given.
fn read_bound(range: &Map<String, Value>, name: &str, end: End) -> Result<Option<i64>, ApiFailure> {
    let Some(value) = present(range, name) else {
        return Ok(None);
    };
    let text = value
        .as_str()
        .ok_or_else(|| date_error(format!("`date.{name}` must be a date or a date-time.")))?;
    parse_bound(text.trim(), end).map(Some).ok_or_else(|| {
        date_error(format!(
            "`date.{name}` '{text}' is neither a date (YYYY-MM-DD) nor a date-time (RFC 3339)."
        ))
    })
}

/// A date (its first or last microsecond, UTC) or a date-time, in microseconds.
fn parse_bound(text: &str, end: End) -> Option<i64> {
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let time = match end {
            End::From => NaiveTime::MIN,
            End::To => NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999)?,
        };
        return Some(day.and_time(time).and_utc().timestamp_micros());
    }
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Some(instant.timestamp_micros());
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|local| local.and_utc().timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn query(body: Value) -> SearchQuery {
        SearchQuery::from_body(&body).expect("a valid body")
    }

    fn code(body: Value) -> (String, Option<String>) {
        let failure = SearchQuery::from_body(&body).expect_err("an invalid body");
        (failure.code, failure.param)
    }

    #[test]
    fn defaults_are_page_one_of_twenty_newest_first() {
        let parsed = query(json!({"unknown": 1, "extend": "transcript"}));
        assert_eq!((parsed.page, parsed.size, parsed.sort), (1, 20, None));
    }

    #[test]
    fn dates_and_date_times_bound_the_range() {
        let day = query(json!({"date": {"from": "2024-03-04", "to": "2024-03-04"}}));
        assert_eq!(day.from_micros, Some(1_709_510_400_000_000));
        assert_eq!(
            day.to_micros,
            Some(1_709_510_400_000_000 + 86_400_000_000 - 1)
        );
        let from_only = query(json!({"date": {"from": "2026-09-18T23:01:00Z"}}));
        assert_eq!(from_only.from_micros, Some(1_789_772_460_000_000));
        assert_eq!(from_only.to_micros, None);
        let offset = query(json!({"date": {"from": "2026-09-19T01:01:00+02:00"}}));
        assert_eq!(offset.from_micros, from_only.from_micros);
        assert_eq!(
            code(json!({"date": {"from": "2024-03-05", "to": "2024-03-04"}})),
            ("INVALID_DATE_RANGE".into(), Some("date".into()))
        );
        assert_eq!(
            code(json!({"date": {"from": "yesterday"}})),
            ("INVALID_DATE_RANGE".into(), Some("date".into()))
        );
    }

    #[test]
    fn sort_falls_back_to_newest_first() {
        assert_eq!(query(json!({"sort": "DATE_ASC"})).sort, Some(Sort::DateAsc));
        assert_eq!(
            query(json!({"sort": "RELEVANCE"})).sort,
            Some(Sort::DateDesc)
        );
        assert_eq!(query(json!({"sort": "DATE"})).sort, Some(Sort::DateDesc));
    }

    #[test]
    fn pages_and_sizes_are_bounded() {
        assert_eq!(
            code(json!({"page": 0})),
            ("INVALID_REQUEST_BODY".into(), Some("page".into()))
        );
        assert_eq!(
            code(json!({"size": 0})),
            ("INVALID_PAGE_SIZE".into(), Some("size".into()))
        );
        assert_eq!(
            code(json!({"size": 101})),
            ("INVALID_PAGE_SIZE".into(), Some("size".into()))
        );
        assert_eq!(
            code(json!({"size": "ten"})),
            ("INVALID_REQUEST_BODY".into(), Some("size".into()))
        );
        assert_eq!(query(json!({"size": 100})).size, 100);
    }

    #[test]
    fn pages_and_sizes_out_of_range_are_refused_with_the_value_sent() {
        let message = |body: Value| {
            SearchQuery::from_body(&body)
                .expect_err("an invalid body")
                .message
        };
        assert_eq!(query(json!({"page": 4_294_967_295u64})).page, u32::MAX);
        assert_eq!(
            message(json!({"page": 4_294_967_296u64})),
            "`page` must be at most 4294967295, not 4294967296."
        );
        assert_eq!(
            message(json!({"page": -3})),
            "`page` must be at least 1, not -3."
        );
        assert_eq!(
            message(json!({"size": u64::MAX})),
            "`size` must be between 1 and 100, not 18446744073709551615."
        );
    }

    #[test]
    fn filters_and_keywords_hold_distinct_values_up_to_their_cap() {
        let parsed = query(json!({"user_id": ["u1", "u1", "u2"], "search": "a A b a"}));
        assert_eq!(
            parsed.user_ids,
            HashSet::from(["u1".to_string(), "u2".to_string()])
        );
        assert_eq!(parsed.keywords, ["a", "b"]);
        assert_eq!(
            query(json!({"user_id": vec!["u1"; 50_000]})).user_ids.len(),
            1
        );
        assert_eq!(
            query(json!({"search": "x ".repeat(100_000)})).keywords,
            ["x"]
        );

        let distinct: Vec<String> = (0..=MAX_FILTER_VALUES).map(|i| format!("u{i}")).collect();
        assert_eq!(
            query(json!({ "tags": distinct[..MAX_FILTER_VALUES] }))
                .tags
                .len(),
            MAX_FILTER_VALUES
        );
        for filter in ["user_id", "contact_number", "allo_number", "tags"] {
            assert_eq!(
                code(json!({ filter: distinct })),
                ("INVALID_REQUEST_BODY".into(), Some(filter.into()))
            );
        }
        let keywords: Vec<String> = (0..=MAX_KEYWORDS).map(|i| format!("k{i}")).collect();
        assert_eq!(
            query(json!({"search": keywords[..MAX_KEYWORDS].join(" ")}))
                .keywords
                .len(),
            MAX_KEYWORDS
        );
        assert_eq!(
            code(json!({"search": keywords.join(" ")})),
            ("INVALID_REQUEST_BODY".into(), Some("search".into()))
        );
    }

    #[test]
    fn a_search_stops_when_its_client_is_gone() {
        let day = DateTime::from_timestamp(1_709_510_400, 0).unwrap();
        let calls = (0..10).map(|i| callfunnel::model::Call::new(format!("cll-{i}"), day));
        let frame = callfunnel::model::calls_to_frame(calls).unwrap();
        let store = ItemStore::from_frame(&frame).unwrap();
        let search = query(json!({}));
        let cancellation = Cancellation::default();
        let page = search.run(&store, &cancellation).expect("a page");
        assert_eq!(page.pagination.total_count, 10);
        cancellation.cancel();
        assert!(search.run(&store, &cancellation).is_none());
    }

    #[test]
    fn enums_are_read_case_insensitively() {
        let parsed = query(json!({"direction": "outbound", "type": "ALL", "result": ["answered"]}));
        assert_eq!(parsed.directions, HashSet::from(["OUTBOUND".to_string()]));
        assert_eq!(parsed.item_type, None);
        assert_eq!(parsed.results, HashSet::from(["ANSWERED".to_string()]));
        assert_eq!(
            code(json!({"direction": "SIDEWAYS"})),
            ("INVALID_REQUEST_BODY".into(), Some("direction".into()))
        );
    }
}
