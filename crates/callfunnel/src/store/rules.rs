//! The rules every call of a store keeps (SPEC §1's, from
//! [`crate::model::rules`]): checked before a call is written, and when a
//! store without a checksum is read (a damaged file may decode to any
//! value). One table for both.

use polars::prelude::*;

use crate::model::{rules, Field};
use crate::reason::Reason;

/// A store rule: the reason a row breaks it, the column it reads, and per
/// row whether it is broken (null counts as kept).
pub(crate) struct StoreRule {
    /// Why a row breaking the rule is refused.
    pub reason: Reason,
    /// The column the rule reads.
    pub column: &'static str,
    /// True for a row that breaks the rule.
    pub broken: Expr,
}

impl StoreRule {
    /// What a break says, e.g. ``column `duration`: negative duration``.
    pub fn message(&self) -> String {
        format!("column `{}`: {}", self.column, self.reason)
    }
}

/// The fields whose SPEC §1 rules a store's calls keep, in the order breaks
/// are reported.
pub(super) const CHECKED: [Field; 7] = [
    Field::Direction,
    Field::Type,
    Field::Result,
    Field::Id,
    Field::Date,
    Field::Duration,
    Field::RingingSeconds,
];

/// Every store rule, in the order breaks are reported: the refusals of
/// [`rules::refusals`] of each [`CHECKED`] field's canonical column.
pub(crate) fn store_rules() -> Vec<StoreRule> {
    CHECKED
        .into_iter()
        .flat_map(|field| {
            rules::refusals(field, col(field.name()))
                .into_iter()
                .map(move |(reason, broken)| StoreRule {
                    reason,
                    column: field.name(),
                    broken,
                })
        })
        .collect()
}

/// Whether a row breaks one of `rules`.
pub(crate) fn any_broken<'a>(rules: impl IntoIterator<Item = &'a StoreRule>) -> Expr {
    rules
        .into_iter()
        .map(|rule| rule.broken.clone().fill_null(lit(false)))
        .reduce(Expr::or)
        .unwrap_or_else(|| lit(false))
}
