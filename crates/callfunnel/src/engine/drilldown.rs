//! The drilldown (SPEC §4 `items`): one page of the requested stage's calls
//! of the current period, newest first, with its pagination.

use polars::prelude::*;

use super::derived;
use super::last_updated::format_utc;
use crate::exprs::{fold_batches, with_own_strings};
use crate::model::{column, CallResult};
use crate::pagination::{items_before, Pagination};
use crate::request::{ItemsRequest, Stage};
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
    let offset = items_before(items.page, items.size);
    let keep = usize::try_from(offset + u64::from(items.size)).unwrap_or(usize::MAX);
    let mut candidates = scoped
        .filter(col(derived::IN_CURRENT).and(in_stage(items.stage)))
        .select(drilldown_columns());
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
    let text = |name: &str| frame.column(name).and_then(|c| c.str().cloned());
    let flag = |name: &str| frame.column(name).and_then(|c| c.bool().cloned());
    let (ids, user_ids, names, emails) = (
        text(column::ID)?,
        text(column::USER_ID)?,
        text(column::USER_NAME)?,
        text(column::USER_EMAIL)?,
    );
    let (numbers, labels, contacts, results) = (
        text(column::ALLO_NUMBER)?,
        text(column::ALLO_NUMBER_LABEL)?,
        text(column::CONTACT_NUMBER)?,
        text(column::RESULT)?,
    );
    let (connected, conversation, conversion) = (
        flag(derived::CONNECTED)?,
        flag(derived::CONVERSATION)?,
        flag(derived::CONVERSION)?,
    );
    let durations = frame.column(column::DURATION)?.i64()?.clone();
    let dates = frame.column(derived::DATE_MICROS)?.i64()?.clone();
    let owned = |value: Option<&str>| value.map(str::to_string);

    let data = (0..frame.height())
        .map(|row| {
            let user = UserRef {
                id: owned(user_ids.get(row)),
                name: owned(names.get(row)),
                email: owned(emails.get(row)),
            };
            let has_user = user.id.is_some() || user.name.is_some() || user.email.is_some();
            let reached = |flags: &BooleanChunked| flags.get(row).unwrap_or(false);
            let stage = if reached(&conversion) {
                Stage::Conversion
            } else if reached(&conversation) {
                Stage::Conversation
            } else if reached(&connected) {
                Stage::Connected
            } else {
                Stage::Dial
            };
            DrilldownItem {
                id: ids.get(row).unwrap_or_default().to_string(),
                user: has_user.then_some(user),
                allo_number: owned(numbers.get(row)),
                allo_number_label: owned(labels.get(row)),
                contact_number: owned(contacts.get(row)),
                stage,
                voicemail: results.get(row) == Some(CallResult::Voicemail.as_str()),
                duration: durations.get(row).unwrap_or(0),
                date: dates.get(row).map(format_utc).unwrap_or_default(),
            }
        })
        .collect();

    Ok(Items {
        data,
        pagination: Pagination::new(request.page, request.size, total.max(0) as u64),
    })
}
