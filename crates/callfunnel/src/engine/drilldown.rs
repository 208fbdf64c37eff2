//! The drilldown (SPEC §4 `items`): one page of the requested stage's calls
//! of the current period, newest first, with its pagination; and, beyond
//! the API, the same calls with the fields its item leaves out
//! ([`drilldown_rows`]), one page or every page at once.

use polars::prelude::*;

use super::last_updated::format_utc;
use super::{derived, scoped_calls, EngineError};
use crate::exprs::{collect_streaming, fold_batches, with_own_strings};
use crate::model::{column, CallResult};
use crate::pagination::{items_before, Pagination};
use crate::request::{ItemsRequest, Request, Stage};
use crate::response::{DrilldownItem, Items, UserRef};

/// Whether a call is in `stage` (SPEC §3).
fn in_stage(stage: Stage) -> Expr {
    match stage {
        Stage::Dial => lit(true),
        Stage::Connected => col(derived::CONNECTED),
        Stage::Conversation => col(derived::CONVERSATION),
        Stage::Conversion => col(derived::CONVERSION),
    }
}

/// One page of the stage's current-period calls, newest first (ties: id
/// ascending).
///
/// The calls stream through a top-k of our own that keeps only the calls up
/// to the page's end, batch by batch: memory grows with the page number, not
/// with the calls. (Polars 0.55's streaming top-k keeps every batch whose rows
/// come in ascending date order, as a store's and an export's do.)
pub(super) fn drilldown_page(scoped: LazyFrame, items: &ItemsRequest) -> PolarsResult<DataFrame> {
    newest_page(
        stage_calls(scoped, items.stage, drilldown_columns().to_vec()),
        items,
    )
}

/// The current period's calls of `stage`, as `columns`.
fn stage_calls(scoped: LazyFrame, stage: Stage, columns: Vec<Expr>) -> LazyFrame {
    scoped
        .filter(col(derived::IN_CURRENT).and(in_stage(stage)))
        .select(columns)
}

/// The page `items` asks for of the `candidates` (see [`drilldown_page`]).
fn newest_page(mut candidates: LazyFrame, items: &ItemsRequest) -> PolarsResult<DataFrame> {
    let offset = items_before(items.page, items.size);
    let keep = usize::try_from(offset + u64::from(items.size)).unwrap_or(usize::MAX);
    let schema = candidates.collect_schema()?;
    let kept = fold_batches(
        candidates,
        false,
        None,
        move |best: &mut Option<DataFrame>, batch| {
            let merged = match best.take() {
                Some(mut kept) => {
                    kept.vstack_mut(&batch)?;
                    kept
                }
                None => batch,
            };
            // Copied out: a slice would hold every batch's text buffers.
            *best = Some(with_own_strings(latest_first(&merged)?.slice(0, keep))?);
            Ok(false)
        },
    )?;
    let sorted = match kept {
        Some(kept) => latest_first(&kept)?,
        None => DataFrame::empty_with_schema(&schema),
    };
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    Ok(sorted.slice(offset, items.size as usize))
}

/// The columns a drilldown item is read from.
fn drilldown_columns() -> [Expr; 13] {
    [
        col(column::ID),
        col(column::USER_ID),
        col(column::USER_NAME),
        col(column::USER_EMAIL),
        col(column::ALLO_NUMBER),
        col(column::ALLO_NUMBER_LABEL),
        col(column::CONTACT_NUMBER),
        col(column::RESULT),
        col(column::DURATION).cast(DataType::Int64),
        col(column::DATE)
            .cast(DataType::Int64)
            .alias(derived::DATE_MICROS),
        col(derived::CONNECTED),
        col(derived::CONVERSATION),
        col(derived::CONVERSION),
    ]
}

/// `calls` newest first (ties: id ascending).
fn latest_first(calls: &DataFrame) -> PolarsResult<DataFrame> {
    calls.sort(
        [derived::DATE_MICROS, column::ID],
        SortMultipleOptions::default().with_order_descending_multi([true, false]),
    )
}

/// The drilldown items of the page `frame` holds (from [`drilldown_page`]),
/// with the pagination of the stage's `total` calls.
pub(super) fn read_items(
    frame: &DataFrame,
    request: &ItemsRequest,
    total: i64,
) -> PolarsResult<Items> {
    let columns = ItemColumns::new(frame)?;
    Ok(Items {
        data: (0..frame.height()).map(|row| columns.item(row)).collect(),
        pagination: Pagination::new(request.page, request.size, total.max(0) as u64),
    })
}

/// The columns of a frame of drilldown calls ([`drilldown_columns`]), read
/// row by row into items.
struct ItemColumns {
    ids: StringChunked,
    user_ids: StringChunked,
    names: StringChunked,
    emails: StringChunked,
    numbers: StringChunked,
    labels: StringChunked,
    contacts: StringChunked,
    results: StringChunked,
    connected: BooleanChunked,
    conversation: BooleanChunked,
    conversion: BooleanChunked,
    durations: Int64Chunked,
    dates: Int64Chunked,
}

impl ItemColumns {
    fn new(frame: &DataFrame) -> PolarsResult<ItemColumns> {
        let text = |name: &str| frame.column(name).and_then(|c| c.str().cloned());
        let flag = |name: &str| frame.column(name).and_then(|c| c.bool().cloned());
        let whole = |name: &str| frame.column(name).and_then(|c| c.i64().cloned());
        Ok(ItemColumns {
            ids: text(column::ID)?,
            user_ids: text(column::USER_ID)?,
            names: text(column::USER_NAME)?,
            emails: text(column::USER_EMAIL)?,
            numbers: text(column::ALLO_NUMBER)?,
            labels: text(column::ALLO_NUMBER_LABEL)?,
            contacts: text(column::CONTACT_NUMBER)?,
            results: text(column::RESULT)?,
            connected: flag(derived::CONNECTED)?,
            conversation: flag(derived::CONVERSATION)?,
            conversion: flag(derived::CONVERSION)?,
            durations: whole(column::DURATION)?,
            dates: whole(derived::DATE_MICROS)?,
        })
    }

    /// The item of `row`: its stage is the furthest the call reached.
    fn item(&self, row: usize) -> DrilldownItem {
        let owned = |value: Option<&str>| value.map(str::to_string);
        let user = UserRef {
            id: owned(self.user_ids.get(row)),
            name: owned(self.names.get(row)),
            email: owned(self.emails.get(row)),
        };
        let has_user = user.id.is_some() || user.name.is_some() || user.email.is_some();
        let reached = |flags: &BooleanChunked| flags.get(row).unwrap_or(false);
        let stage = if reached(&self.conversion) {
            Stage::Conversion
        } else if reached(&self.conversation) {
            Stage::Conversation
        } else if reached(&self.connected) {
            Stage::Connected
        } else {
            Stage::Dial
        };
        DrilldownItem {
            id: self.ids.get(row).unwrap_or_default().to_string(),
            user: has_user.then_some(user),
            allo_number: owned(self.numbers.get(row)),
            allo_number_label: owned(self.labels.get(row)),
            contact_number: owned(self.contacts.get(row)),
            stage,
            voicemail: self.results.get(row) == Some(CallResult::Voicemail.as_str()),
            duration: self.durations.get(row).unwrap_or(0),
            date: self.dates.get(row).map(format_utc).unwrap_or_default(),
        }
    }
}

/// Which of the stage's calls [`drilldown_rows`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pages {
    /// One page: the calls of `items.stage` that page `items.page` of
    /// `items.size` holds.
    One(ItemsRequest),
    /// Every call of the stage, in one list.
    All(Stage),
}

/// A drilldown item with the fields of its call that the API's item
/// (`OutboundDrilldownItem`) leaves out.
#[derive(Debug, Clone, PartialEq)]
pub struct DrilldownRow {
    /// The item, exactly as the response's `items.data` holds it.
    pub item: DrilldownItem,
    /// The call's telephony outcome; `None` when unknown.
    pub result: Option<CallResult>,
    /// The call's tags, lower case, as read.
    pub tags: Vec<String>,
}

/// Drilldown calls in the drilldown's order (newest first, ties: id
/// ascending), from [`drilldown_rows`].
#[derive(Debug, Clone)]
pub struct DrilldownRows {
    frame: DataFrame,
}

impl DrilldownRows {
    /// How many calls there are.
    pub fn len(&self) -> usize {
        self.frame.height()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows, in order, each read when asked for (a long list is never
    /// held as rows all at once).
    pub fn iter(&self) -> Result<impl Iterator<Item = DrilldownRow> + '_, EngineError> {
        let items = ItemColumns::new(&self.frame)?;
        let tags = self.frame.column(column::TAGS)?.list()?.clone();
        Ok((0..self.len()).map(move |row| DrilldownRow {
            item: items.item(row),
            result: items.results.get(row).and_then(|text| text.parse().ok()),
            tags: tags_of(&tags, row),
        }))
    }
}

/// The tags of `row` of a tags column (none for a null list).
fn tags_of(tags: &ListChunked, row: usize) -> Vec<String> {
    let Some(list) = tags.get_as_series(row) else {
        return Vec::new();
    };
    list.str()
        .map(|keys| {
            (0..keys.len())
                .filter_map(|index| keys.get(index).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The drilldown of `request` with each call's result and tags (for people:
/// a CSV, a table), the current period's calls of the stage, newest first:
/// one page ([`Pages::One`], as the response's `items`) or every call of
/// the stage in one pass ([`Pages::All`]; memory then grows with the
/// stage's calls of the period, as they are sorted together).
pub fn drilldown_rows(
    calls: LazyFrame,
    request: &Request,
    pages: Pages,
) -> Result<DrilldownRows, EngineError> {
    let mut columns = drilldown_columns().to_vec();
    columns.push(col(column::TAGS));
    let stage = match pages {
        Pages::One(items) => items.stage,
        Pages::All(stage) => stage,
    };
    let candidates = stage_calls(scoped_calls(calls, request), stage, columns);
    let frame = match pages {
        Pages::One(items) => newest_page(candidates, &items)?,
        Pages::All(_) => latest_first(&collect_streaming(candidates)?)?,
    };
    Ok(DrilldownRows { frame })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::engine::compute;
    use crate::model::{calls_to_frame, Call, Direction};

    /// Four calls on 2024-03-04 (one inbound, so never listed), and a
    /// request for their dials, two a page.
    fn calls_and_request() -> (LazyFrame, Request) {
        let at = |hour| Utc.with_ymd_and_hms(2024, 3, 4, hour, 0, 0).unwrap();
        let mut answered = Call::new("cll-a", at(9));
        answered.result = Some(CallResult::Answered);
        answered.duration = 95;
        answered.tags = vec!["demo_booked".into(), "vip".into()];
        answered.user_id = Some("usr-1".into());
        answered.user_name = Some("Ann Lee".into());
        answered.allo_number_label = Some("Sales FR".into());
        let mut voicemail = Call::new("cll-b", at(11));
        voicemail.result = Some(CallResult::Voicemail);
        let unknown = Call::new("cll-c", at(11));
        let mut inbound = Call::new("cll-d", at(12));
        inbound.direction = Direction::Inbound;
        let frame = calls_to_frame([answered, voicemail, unknown, inbound])
            .unwrap()
            .lazy();
        let request = Request::from_json_str(
            r#"{"date": {"from": "2024-03-04", "to": "2024-03-04"}, "extend": "items", "stage": "DIAL", "size": 2}"#,
        )
        .unwrap();
        (frame, request)
    }

    fn rows(frame: LazyFrame, request: &Request, pages: Pages) -> Vec<DrilldownRow> {
        drilldown_rows(frame, request, pages)
            .unwrap()
            .iter()
            .unwrap()
            .collect()
    }

    #[test]
    fn a_page_of_rows_holds_the_response_items_with_result_and_tags() {
        let (frame, request) = calls_and_request();
        let items = request.items.unwrap();
        for page in [1, 2, 3] {
            let items = ItemsRequest { page, ..items };
            let paged = Request {
                items: Some(items),
                ..request.clone()
            };
            let response = compute(frame.clone(), &paged).unwrap();
            let rows = rows(frame.clone(), &paged, Pages::One(items));
            let listed: Vec<DrilldownItem> = rows.iter().map(|row| row.item.clone()).collect();
            assert_eq!(listed, response.data.items.unwrap().data, "page {page}");
        }
        let first = rows(frame, &request, Pages::One(items));
        // Newest first, ties by id: cll-b and cll-c at 11:00.
        let ids: Vec<&str> = first.iter().map(|row| row.item.id.as_str()).collect();
        assert_eq!(ids, ["cll-b", "cll-c"]);
        assert_eq!(first[0].result, Some(CallResult::Voicemail));
        assert!(first[0].item.voicemail);
        assert_eq!(first[1].result, None);
        assert!(first[1].tags.is_empty());
    }

    #[test]
    fn every_page_at_once_is_the_pages_in_order() {
        let (frame, request) = calls_and_request();
        let all = rows(frame.clone(), &request, Pages::All(Stage::Dial));
        let ids: Vec<&str> = all.iter().map(|row| row.item.id.as_str()).collect();
        assert_eq!(ids, ["cll-b", "cll-c", "cll-a"]);
        let answered = &all[2];
        assert_eq!(answered.result, Some(CallResult::Answered));
        assert_eq!(answered.tags, ["demo_booked", "vip"]);
        assert_eq!(answered.item.stage, Stage::Conversion);
        assert_eq!(answered.item.allo_number_label.as_deref(), Some("Sales FR"));
        assert_eq!(
            answered
                .item
                .user
                .as_ref()
                .and_then(|user| user.name.as_deref()),
            Some("Ann Lee")
        );
        let connected = rows(frame, &request, Pages::All(Stage::Connected));
        assert_eq!(connected.len(), 1);
        assert_eq!(connected[0].item.id, "cll-a");
    }
}
