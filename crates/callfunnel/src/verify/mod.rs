//! Checks an API answer against the calls behind it (`callfunnel verify`, SPEC §6).
//!
//! [`verify`] recomputes the response for the request from the calls, with
//! [`Rounding::Exact`], and compares every figure of the API's answer with it:
//!
//! - `date` and `compare_date` (the echoed periods; a mismatch means the wrong
//!   request was given);
//! - the funnel: each stage's `value`, `previous`, `change` and `rate`;
//! - every time-series point, matched by its `date`;
//! - every heatmap cell, matched by `day` and `hour`; a cell absent from the
//!   API's list counts as 0;
//! - the leaderboard's `connected`, matched by `user.id`; a user on one side
//!   only is a difference;
//! - `time_spent`;
//! - with `extend=items`, the pagination and every field of every drilldown
//!   item, by position.
//!
//! The API has no `analysis` (SPEC §8): an answer's `analysis` is not read,
//! and a request's analysis fields are not computed.
//!
//! `last_updated` is not a figure of the metrics (it dates the data) and
//! leaderboard names and emails are labels; neither is compared.
//!
//! **Tolerance.** A number agrees when it lies within half a unit of the last
//! decimal the API printed: a change of `0.15` allows ±0.005, a count of `12`
//! ±0.5. The decimals are those of the number's shortest decimal form, and
//! never fewer than SPEC §4 rounds that kind of figure to (rates 3, changes 2,
//! averages 1): a JSON writer drops trailing zeros, so a rate printed `0.15`
//! or `1.0` stands for `0.150` or `1.000`, and a tampered `0.2` cannot pass
//! for `0.155`. `null` agrees only
//! with `null`; other values agree when equal (objects key by key, an absent
//! key reading as `null`).
//!
//! **Not checkable.** When no call given has a known ringing time (calls read
//! from API pages), the ringing figures are listed as not checkable instead of
//! being compared. (The command line gives the calls of the request's window.)
//!
//! **Explanations.** When figures differ, the computation is repeated under
//! each [`Reading`] the public documentation leaves open (and under version 1
//! of the definitions, for an answer computed by its rules), and each difference
//! names the readings under which the API's figure is reproduced; the reading
//! that explains the most differences is the likely reason.
//!
//! Pure: no file is read and nothing is printed; [`VerifyReport::render_table`]
//! and [`VerifyReport::to_json`] give the text and JSON the CLI prints.

mod attribution;
mod compare;
mod readings;
mod render;

use std::collections::BTreeMap;

use polars::prelude::*;
use serde_json::Value;

use crate::analysis::AnalysisRequest;
use crate::engine::{compute_with, EngineError};
use crate::request::Request;
use crate::rounding::Rounding;
use attribution::{involved, scoped_rows};
use compare::{compare, response_data, Figure, Scope};
use readings::{alternative, any_ringing_known};

pub use readings::Reading;

/// How many call ids a difference lists (the rest are counted).
pub const MAX_LISTED_CALLS: usize = 10;

/// How a figure differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DifferenceKind {
    /// Both sides have the figure; the values disagree (including `null` against a number).
    Value,
    /// The API's answer lacks the key (or the list entry).
    Missing,
    /// A heatmap cell absent from the API's list, read as 0, where the recomputed value is not 0.
    AbsentCell,
    /// The API's answer has an entry the recomputation does not (e.g. a leaderboard user).
    Extra,
}

impl DifferenceKind {
    /// A stable machine name: `value`, `missing`, `absent` or `extra`.
    pub fn as_str(self) -> &'static str {
        match self {
            DifferenceKind::Value => "value",
            DifferenceKind::Missing => "missing",
            DifferenceKind::AbsentCell => "absent",
            DifferenceKind::Extra => "extra",
        }
    }
}

/// One figure on which the API's answer and the recomputation disagree.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// Where the figure sits, e.g. `data.funnel.connected.count.value` or
    /// `data.heatmap.dials[day=MONDAY,hour=9].value`.
    pub path: String,
    /// How it differs.
    pub kind: DifferenceKind,
    /// The API's figure (`null` when [`DifferenceKind::Missing`], `0` when
    /// [`DifferenceKind::AbsentCell`]).
    pub api: Value,
    /// The recomputed figure, exact (`null` when [`DifferenceKind::Extra`]).
    pub recomputed: Value,
    /// Ids of the calls behind the recomputed figure, newest first, at most
    /// [`MAX_LISTED_CALLS`] (empty when the figure has no calls of its own,
    /// e.g. a change or pagination).
    pub calls: Vec<String>,
    /// How many calls are behind the recomputed figure (`calls` lists the first ones).
    pub calls_total: usize,
    /// The readings under which the API's figure is reproduced.
    pub explained_by: Vec<Reading>,
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyReport {
    /// How many figures were compared (extra entries of the API's answer included).
    pub figures_checked: usize,
    /// Every figure that disagrees, in response order.
    pub differences: Vec<Difference>,
    /// Paths of figures the inputs cannot support (ringing time from API pages).
    pub not_checkable: Vec<String>,
    /// The reading that explains the most differences (ties: first in
    /// [`Reading::ALL`]), if any explains one.
    pub likely_reason: Option<Reading>,
}

/// Why [`verify`] could not compare.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The recomputation failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Listing the calls behind a difference failed.
    #[error("listing the calls behind a difference failed: {0}")]
    Polars(#[from] PolarsError),
    /// The given answer is not an outbound metrics response.
    #[error("not an outbound metrics response: {0}")]
    NotAResponse(String),
}

/// Recomputes the response to `request` from `calls` (the canonical frame)
/// and compares every figure of `api_response` (`{"data": {...}}`) with it.
///
/// When a figure differs, the response is also recomputed under each
/// [`Reading`] (up to four more runs of the engine) and the calls of both
/// periods are listed once, to name the calls behind each difference.
pub fn verify(
    calls: LazyFrame,
    request: &Request,
    api_response: &Value,
) -> Result<VerifyReport, VerifyError> {
    let api = response_data(api_response)?;
    // The API has no analysis (SPEC §8): only `data` is recomputed and compared.
    let request = &Request {
        analysis: AnalysisRequest::default(),
        ..request.clone()
    };
    let ringing_checkable = any_ringing_known(calls.clone())?;
    let baseline = compute_with(calls.clone(), request, Rounding::Exact)?;
    let comparison = compare(api, &baseline, ringing_checkable);

    let differing: Vec<&Figure> = comparison
        .figures
        .iter()
        .filter(|figure| figure.kind.is_some())
        .collect();
    let mut explanations: Vec<(Reading, BTreeMap<String, bool>)> = Vec::new();
    if !differing.is_empty() {
        for reading in Reading::ALL {
            if let Some(alternative) = alternative(reading, &calls, request, &baseline)? {
                let agreeing = compare(api, &alternative, ringing_checkable)
                    .figures
                    .into_iter()
                    .map(|figure| (figure.path, figure.kind.is_none()))
                    .collect();
                explanations.push((reading, agreeing));
            }
        }
    }
    let rows = if differing.iter().any(|figure| figure.scope != Scope::None) {
        scoped_rows(calls, request)?
    } else {
        Vec::new()
    };

    let differences: Vec<Difference> = differing
        .into_iter()
        .map(|figure| {
            let (calls, calls_total) = involved(&rows, &figure.scope);
            Difference {
                path: figure.path.clone(),
                kind: figure.kind.unwrap_or(DifferenceKind::Value),
                api: figure.api.clone(),
                recomputed: figure.recomputed.clone(),
                calls,
                calls_total,
                explained_by: explanations
                    .iter()
                    .filter(|(_, agreeing)| agreeing.get(&figure.path) == Some(&true))
                    .map(|(reading, _)| *reading)
                    .collect(),
            }
        })
        .collect();
    let mut likely_reason = None;
    let mut most = 0;
    for reading in Reading::ALL {
        let count = explained_count(&differences, reading);
        if count > most {
            (likely_reason, most) = (Some(reading), count);
        }
    }
    Ok(VerifyReport {
        figures_checked: comparison.figures.len(),
        differences,
        not_checkable: comparison.not_checkable,
        likely_reason,
    })
}

/// How many differences `reading` explains.
fn explained_count(differences: &[Difference], reading: Reading) -> usize {
    differences
        .iter()
        .filter(|difference| difference.explained_by.contains(&reading))
        .count()
}
