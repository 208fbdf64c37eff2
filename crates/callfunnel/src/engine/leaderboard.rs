//! The leaderboard (SPEC §4 `leaderboard`): connected calls per user of the
//! current period, best first, named after each user's latest call.

use polars::prelude::*;

use super::{count_where, derived};
use crate::model::column;
use crate::response::{LeaderboardEntry, UserRef};

/// Connected calls per user with a dial in the current period; name and email
/// of the user's latest call (ties: greatest id).
pub(super) fn leaderboard_plan(scoped: LazyFrame) -> LazyFrame {
    // Streaming aggregations only (memory grows with the users, not the
    // calls): the counts and each user's latest date, then the name and email
    // of the call with the greatest id among the calls of that date.
    let current = scoped.filter(col(derived::IN_CURRENT).and(col(column::USER_ID).is_not_null()));
    let counts = current.clone().group_by([col(column::USER_ID)]).agg([
        count_where(col(derived::CONNECTED)).alias(derived::CONNECTED),
        col(column::DATE).max().alias(LATEST_DATE),
    ]);
    let latest = |name: &str| col(name).max_by(col(column::ID));
    let latest_calls = current
        .join(
            counts
                .clone()
                .select([col(column::USER_ID), col(LATEST_DATE)]),
            [col(column::USER_ID), col(column::DATE)],
            [col(column::USER_ID), col(LATEST_DATE)],
            JoinArgs::new(JoinType::Inner),
        )
        .group_by([col(column::USER_ID)])
        .agg([latest(column::USER_NAME), latest(column::USER_EMAIL)]);
    counts
        .join(
            latest_calls,
            [col(column::USER_ID)],
            [col(column::USER_ID)],
            JoinArgs::new(JoinType::Left),
        )
        .select([
            col(column::USER_ID),
            col(derived::CONNECTED),
            col(column::USER_NAME),
            col(column::USER_EMAIL),
        ])
        .sort_by_exprs(
            [col(derived::CONNECTED), col(column::USER_ID)],
            SortMultipleOptions::default().with_order_descending_multi([true, false]),
        )
}

/// Name of each user's latest call date while the leaderboard is computed.
const LATEST_DATE: &str = "__latest_date";

/// The leaderboard's entries, in [`leaderboard_plan`]'s order.
pub(super) fn read_leaderboard(frame: &DataFrame) -> PolarsResult<Vec<LeaderboardEntry>> {
    let ids = frame.column(column::USER_ID)?.str()?;
    let names = frame.column(column::USER_NAME)?.str()?;
    let emails = frame.column(column::USER_EMAIL)?.str()?;
    let connected = frame.column(derived::CONNECTED)?.cast(&DataType::Int64)?;
    let connected = connected.i64()?;
    Ok((0..frame.height())
        .map(|row| LeaderboardEntry {
            user: UserRef {
                id: ids.get(row).map(str::to_string),
                name: names.get(row).map(str::to_string),
                email: emails.get(row).map(str::to_string),
            },
            connected: connected.get(row).unwrap_or(0) as u64,
        })
        .collect())
}
