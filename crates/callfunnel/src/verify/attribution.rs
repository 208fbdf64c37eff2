//! The calls behind a figure: each call of either period with the flags the
//! figures read (its period, stages, bucket, heatmap cell and user), from the
//! engine's own scoped calls, so the stage rules are the engine's
//! ([`crate::stages`]).

use chrono::NaiveDate;
use polars::prelude::*;

use super::compare::Scope;
use super::MAX_LISTED_CALLS;
use crate::engine::{bucket_start, derived, scoped_calls};
use crate::model::column;
use crate::request::{Request, Stage};

/// One call of either period, as the figures see it.
pub(super) struct ScopedCall {
    id: String,
    current: bool,
    previous: bool,
    connected: bool,
    conversation: bool,
    conversion: bool,
    weekday: u32,
    hour: u32,
    bucket: NaiveDate,
    user_id: Option<String>,
}

impl ScopedCall {
    fn reached(&self, stage: Stage) -> bool {
        match stage {
            Stage::Dial => true,
            Stage::Connected => self.connected,
            Stage::Conversation => self.conversation,
            Stage::Conversion => self.conversion,
        }
    }

    fn within(&self, scope: &Scope) -> bool {
        match scope {
            Scope::None => false,
            Scope::Stage { stage, previous } => {
                (if *previous {
                    self.previous
                } else {
                    self.current
                }) && self.reached(*stage)
            }
            Scope::Bucket { start, stage } => {
                self.current && self.bucket == *start && self.reached(*stage)
            }
            Scope::Cell {
                weekday,
                hour,
                stage,
            } => {
                self.current
                    && self.weekday == *weekday
                    && self.hour == *hour
                    && self.reached(*stage)
            }
            Scope::User(id) => {
                self.current && self.connected && self.user_id.as_deref() == Some(id.as_str())
            }
        }
    }
}

/// The first ids (newest first) and the number of calls behind a figure.
pub(super) fn involved(rows: &[ScopedCall], scope: &Scope) -> (Vec<String>, usize) {
    let mut listed = Vec::new();
    let mut total = 0;
    for row in rows.iter().filter(|row| row.within(scope)) {
        if listed.len() < MAX_LISTED_CALLS {
            listed.push(row.id.clone());
        }
        total += 1;
    }
    (listed, total)
}

/// The counted calls of both periods, newest first (ties: id ascending).
pub(super) fn scoped_rows(calls: LazyFrame, request: &Request) -> PolarsResult<Vec<ScopedCall>> {
    let local = || col(derived::LOCAL).dt();
    let frame = scoped_calls(calls, request)
        .sort_by_exprs(
            [col(column::DATE), col(column::ID)],
            SortMultipleOptions::default().with_order_descending_multi([true, false]),
        )
        .select([
            col(column::ID),
            col(column::USER_ID),
            col(derived::DAY),
            local()
                .weekday()
                .cast(DataType::Int32)
                .alias(derived::WEEKDAY),
            local().hour().cast(DataType::Int32).alias(derived::HOUR),
            col(derived::IN_CURRENT),
            col(derived::IN_PREVIOUS),
            col(derived::CONNECTED),
            col(derived::CONVERSATION),
            col(derived::CONVERSION),
        ])
        .collect()?;

    let text = |name: &str| frame.column(name).and_then(|c| c.str().cloned());
    let flag = |name: &str| frame.column(name).and_then(|c| c.bool().cloned());
    let int = |name: &str| frame.column(name).and_then(|c| c.i32().cloned());
    let (ids, users) = (text(column::ID)?, text(column::USER_ID)?);
    let (days, weekdays, hours) = (
        int(derived::DAY)?,
        int(derived::WEEKDAY)?,
        int(derived::HOUR)?,
    );
    let (current, previous) = (flag(derived::IN_CURRENT)?, flag(derived::IN_PREVIOUS)?);
    let (connected, conversation, conversion) = (
        flag(derived::CONNECTED)?,
        flag(derived::CONVERSATION)?,
        flag(derived::CONVERSION)?,
    );
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    Ok((0..frame.height())
        .map(|row| {
            let day = epoch + chrono::Duration::days(i64::from(days.get(row).unwrap_or(0)));
            ScopedCall {
                id: ids.get(row).unwrap_or_default().to_string(),
                current: current.get(row).unwrap_or(false),
                previous: previous.get(row).unwrap_or(false),
                connected: connected.get(row).unwrap_or(false),
                conversation: conversation.get(row).unwrap_or(false),
                conversion: conversion.get(row).unwrap_or(false),
                weekday: weekdays.get(row).unwrap_or(0) as u32,
                hour: hours.get(row).unwrap_or(0) as u32,
                bucket: bucket_start(day, request.granularity),
                user_id: users.get(row).map(str::to_string),
            }
        })
        .collect())
}
