//! Fault injection (`serve --inject-faults SPEC`), off by default: a share of
//! the data routes' requests is answered as a struggling API would answer it,
//! so that clients (`pull` first) can be tested against rate limiting, server
//! errors, dropped connections and slow pages.
//!
//! The faults are drawn from a seeded sequence, one draw per data request in
//! the order the requests arrive: the same seed and the same requests give the
//! same faults.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::response::Response;

/// What `--inject-faults` asks for: the share of data requests given each
/// fault, and the fault's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultPlan {
    /// Share answered 429 `RATE_LIMIT_EXCEEDED` with `Retry-After`.
    pub rate_limited: f64,
    /// Share answered 500 `INTERNAL_ERROR` (`retryable: true`).
    pub server_error: f64,
    /// Share whose connection is closed without an answer.
    pub dropped: f64,
    /// Share answered normally after [`FaultPlan::delay`].
    pub slow: f64,
    /// The `Retry-After` (and `retry_after_seconds`) of an injected 429.
    pub retry_after_seconds: u64,
    /// How long a slow answer is held back.
    pub delay: Duration,
    /// The seed of the draws.
    pub seed: u64,
    /// Data requests answered normally before the faults begin.
    pub after: u64,
    /// Most faults injected in all (`None`: no limit).
    pub limit: Option<u64>,
}

impl Default for FaultPlan {
    fn default() -> Self {
        FaultPlan {
            rate_limited: 0.0,
            server_error: 0.0,
            dropped: 0.0,
            slow: 0.0,
            retry_after_seconds: 1,
            delay: Duration::from_millis(1000),
            seed: 0,
            after: 0,
            limit: None,
        }
    }
}

/// The syntax, for error messages and `--help`.
pub const PLAN_SYNTAX: &str = "comma-separated KEY=VALUE: 429=SHARE, 500=SHARE, drop=SHARE, \
slow=SHARE (shares from 0 to 1, at most 1 in all), retry-after=SECONDS (default 1), \
delay-ms=MS (default 1000), seed=N (default 0), after=N (default 0), limit=N (default none)";

impl FromStr for FaultPlan {
    type Err = String;

    /// Reads e.g. `429=0.1,500=0.1,drop=0.05,slow=0.1,delay-ms=300,seed=7`.
    fn from_str(text: &str) -> Result<FaultPlan, String> {
        let mut plan = FaultPlan::default();
        for part in text
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
        {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("'{part}' is not KEY=VALUE ({PLAN_SYNTAX})"))?;
            plan.set(key.trim(), value.trim())?;
        }
        let total = plan.rate_limited + plan.server_error + plan.dropped + plan.slow;
        if total > 1.0 + 1e-9 {
            return Err(format!(
                "the shares add up to {total}, more than 1 ({PLAN_SYNTAX})"
            ));
        }
        Ok(plan)
    }
}

impl FaultPlan {
    /// Sets one `KEY=VALUE`.
    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        match key {
            "429" => self.rate_limited = share(key, value)?,
            "500" => self.server_error = share(key, value)?,
            "drop" => self.dropped = share(key, value)?,
            "slow" => self.slow = share(key, value)?,
            "retry-after" => self.retry_after_seconds = count(key, value)?,
            "delay-ms" => self.delay = Duration::from_millis(count(key, value)?),
            "seed" => self.seed = count(key, value)?,
            "after" => self.after = count(key, value)?,
            "limit" => self.limit = Some(count(key, value)?),
            _ => return Err(format!("unknown fault '{key}' ({PLAN_SYNTAX})")),
        }
        Ok(())
    }

    /// The fault (if any) of the data request numbered `sequence` (from 0).
    pub fn fault_of(&self, sequence: u64) -> Option<Fault> {
        if sequence < self.after {
            return None;
        }
        let draw = unit_draw(self.seed, sequence);
        let mut bound = 0.0;
        for (share, fault) in [
            (
                self.rate_limited,
                Fault::RateLimited {
                    retry_after_seconds: self.retry_after_seconds,
                },
            ),
            (self.server_error, Fault::ServerError),
            (self.dropped, Fault::Dropped),
            (self.slow, Fault::Slow(self.delay)),
        ] {
            bound += share;
            if draw < bound {
                return Some(fault);
            }
        }
        None
    }
}

impl fmt::Display for FaultPlan {
    /// `429 10%, 500 10%, drop 5%, slow 10% (300 ms); Retry-After 1 s; seed 7; after 0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let percent = |share: f64| share * 100.0;
        write!(
            f,
            "429 {}%, 500 {}%, drop {}%, slow {}% ({} ms); Retry-After {} s; seed {}; from data request {}; {}",
            percent(self.rate_limited),
            percent(self.server_error),
            percent(self.dropped),
            percent(self.slow),
            self.delay.as_millis(),
            self.retry_after_seconds,
            self.seed,
            self.after + 1,
            self.limit
                .map_or("no limit".to_string(), |limit| format!("at most {limit} faults")),
        )
    }
}

fn share(key: &str, value: &str) -> Result<f64, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|share| (0.0..=1.0).contains(share))
        .ok_or_else(|| format!("{key}={value}: give a share from 0 to 1"))
}

fn count(key: &str, value: &str) -> Result<u64, String> {
    value
        .parse::<u64>()
        .map_err(|_| format!("{key}={value}: give a whole number ≥ 0"))
}

/// A number in [0, 1) drawn from `seed` and `sequence` (SplitMix64).
fn unit_draw(seed: u64, sequence: u64) -> f64 {
    let bits = super::pipeline::mix(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ sequence);
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// One injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 429 `RATE_LIMIT_EXCEEDED` with this `Retry-After`.
    RateLimited {
        /// Seconds to wait.
        retry_after_seconds: u64,
    },
    /// 500 `INTERNAL_ERROR`, retryable.
    ServerError,
    /// The connection closed without an answer.
    Dropped,
    /// The normal answer, this much later.
    Slow(Duration),
}

impl Fault {
    /// The fault's name on the request's log line (`fault=NAME`).
    pub fn name(&self) -> &'static str {
        match self {
            Fault::RateLimited { .. } => "429",
            Fault::ServerError => "500",
            Fault::Dropped => "drop",
            Fault::Slow(_) => "slow",
        }
    }
}

/// Counts the data requests and hands out their faults.
#[derive(Debug, Default)]
pub struct FaultInjector {
    plan: Option<FaultPlan>,
    seen: AtomicU64,
    injected: AtomicU64,
}

impl FaultInjector {
    /// An injector following `plan` (`None`: never a fault).
    pub fn new(plan: Option<FaultPlan>) -> Self {
        FaultInjector {
            plan,
            seen: AtomicU64::new(0),
            injected: AtomicU64::new(0),
        }
    }

    /// The fault of the next data request, if any (none once the plan's
    /// limit is reached).
    pub fn next(&self) -> Option<Fault> {
        let plan = self.plan.as_ref()?;
        let fault = plan.fault_of(self.seen.fetch_add(1, Ordering::Relaxed))?;
        let limit = plan.limit.unwrap_or(u64::MAX);
        self.injected
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |injected| {
                (injected < limit).then_some(injected + 1)
            })
            .ok()
            .map(|_| fault)
    }
}

/// A response whose body fails before its first byte: hyper then closes the
/// connection without writing anything, so the client sees a network error
/// (the connection closed before an answer), not an HTTP status.
pub fn dropped_connection() -> Response {
    Response::new(Body::new(FailingBody))
}

/// A body that fails when first read.
struct FailingBody;

impl axum::body::HttpBody for FailingBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "a dropped connection injected by --inject-faults",
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_reads_every_key_and_refuses_what_it_does_not_know() {
        let plan: FaultPlan =
            "429=0.1, 500=0.2,drop=0.05,slow=0.1,retry-after=2,delay-ms=300,seed=7,after=3,limit=4"
                .parse()
                .unwrap();
        assert_eq!(
            plan,
            FaultPlan {
                rate_limited: 0.1,
                server_error: 0.2,
                dropped: 0.05,
                slow: 0.1,
                retry_after_seconds: 2,
                delay: Duration::from_millis(300),
                seed: 7,
                after: 3,
                limit: Some(4),
            }
        );
        assert!("404=0.1"
            .parse::<FaultPlan>()
            .unwrap_err()
            .contains("unknown fault '404'"));
        assert!("429=1.5"
            .parse::<FaultPlan>()
            .unwrap_err()
            .contains("from 0 to 1"));
        assert!("429=0.6,500=0.6"
            .parse::<FaultPlan>()
            .unwrap_err()
            .contains("more than 1"));
        assert!("slow"
            .parse::<FaultPlan>()
            .unwrap_err()
            .contains("KEY=VALUE"));
        assert!("seed=-1"
            .parse::<FaultPlan>()
            .unwrap_err()
            .contains("whole number"));
    }

    #[test]
    fn the_draws_are_reproducible_and_follow_the_shares() {
        let plan: FaultPlan = "429=0.1,500=0.2,drop=0.1,slow=0.1,seed=3".parse().unwrap();
        let faults: Vec<Option<Fault>> = (0..10_000).map(|n| plan.fault_of(n)).collect();
        let again: Vec<Option<Fault>> = (0..10_000).map(|n| plan.fault_of(n)).collect();
        assert_eq!(faults, again);
        let share = |name: &str| {
            faults.iter().flatten().filter(|f| f.name() == name).count() as f64 / 10_000.0
        };
        for (name, expected) in [("429", 0.1), ("500", 0.2), ("drop", 0.1), ("slow", 0.1)] {
            assert!(
                (share(name) - expected).abs() < 0.02,
                "{name}: {}",
                share(name)
            );
        }
        let other_seed: FaultPlan = "429=0.1,500=0.2,drop=0.1,slow=0.1,seed=4".parse().unwrap();
        assert_ne!(
            faults,
            (0..10_000)
                .map(|n| other_seed.fault_of(n))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn faults_begin_after_the_requests_spared() {
        let injector = FaultInjector::new(Some("500=1,after=2".parse().unwrap()));
        let faults: Vec<Option<Fault>> = (0..4).map(|_| injector.next()).collect();
        assert_eq!(
            faults,
            [
                None,
                None,
                Some(Fault::ServerError),
                Some(Fault::ServerError)
            ]
        );
        assert_eq!(FaultInjector::new(None).next(), None);
        let limited = FaultInjector::new(Some("429=1,limit=2,retry-after=3".parse().unwrap()));
        let faults: Vec<Option<Fault>> = (0..4).map(|_| limited.next()).collect();
        let throttled = Some(Fault::RateLimited {
            retry_after_seconds: 3,
        });
        assert_eq!(faults, [throttled, throttled, None, None]);
    }
}
