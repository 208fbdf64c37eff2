//! Connect rules side by side (SPEC §8.2 `connect_rules`): the connect rate
//! as SPEC §3 defines it, with voicemail counted as a connection, and with
//! voicemail left out of the dials (the rate managers compute by hand).

use polars::prelude::*;
use serde::Serialize;

use super::breakdown::{period_aggregations, PeriodColumns, PeriodCounts};
use crate::engine::EngineError;
use crate::rounding::{Rounding, RATE_DECIMALS};

/// `analysis.connect_rules`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ConnectRules {
    /// The current period.
    pub current: ConnectRuleFigures,
    /// The comparison period; `null` without a comparison.
    pub previous: Option<ConnectRuleFigures>,
}

/// One period's connect rates under each rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ConnectRuleFigures {
    /// Dials.
    pub dials: u64,
    /// Dials with result `VOICEMAIL`.
    pub voicemails: u64,
    /// Connected calls (SPEC §3: voicemail is not connected).
    pub connected: u64,
    /// Connected ÷ dials (the funnel's rate); `null` without dials.
    pub connect_rate: Option<f64>,
    /// (Connected + voicemails) ÷ dials.
    pub connect_rate_with_voicemail: Option<f64>,
    /// Connected ÷ (dials − voicemails): voicemail is neither an attempt
    /// nor a connection; `null` when every dial went to voicemail.
    pub connect_rate_excl_voicemail: Option<f64>,
    /// `connect_rate_with_voicemail − connect_rate`, that is voicemails ÷
    /// dials, rounded once as a rate.
    pub voicemail_inflation: Option<f64>,
}

/// The counts of both periods over all the scoped calls: one row.
pub(super) fn connect_rules_plan(scoped: LazyFrame) -> LazyFrame {
    scoped.select(period_aggregations())
}

/// The connect rules from [`connect_rules_plan`]'s row; `previous` only when
/// `compared`.
pub(super) fn read_connect_rules(
    frame: &DataFrame,
    compared: bool,
    rounding: Rounding,
) -> Result<ConnectRules, EngineError> {
    let period = |prefix| -> PolarsResult<ConnectRuleFigures> {
        Ok(figures(&PeriodColumns::new(frame, prefix)?.at(0), rounding))
    };
    Ok(ConnectRules {
        current: period("current")?,
        previous: compared.then(|| period("previous")).transpose()?,
    })
}

/// One period's figures.
fn figures(counts: &PeriodCounts, rounding: Rounding) -> ConnectRuleFigures {
    let rate = |(count, over): (i128, i128)| rounding.ratio(count, over, RATE_DECIMALS);
    let dials = i128::from(counts.dials);
    let (connected, voicemails) = (i128::from(counts.connected), i128::from(counts.voicemails));
    ConnectRuleFigures {
        dials: counts.dials as u64,
        voicemails: counts.voicemails as u64,
        connected: counts.connected as u64,
        connect_rate: rate((connected, dials)),
        connect_rate_with_voicemail: rate((connected + voicemails, dials)),
        connect_rate_excl_voicemail: rate(counts.excluding_voicemail()),
        voicemail_inflation: rate((voicemails, dials)),
    }
}
