//! Per-key, per-second rate limits, as Allo applies them: reads (GET) and
//! writes (POST and the rest) are counted apart, in windows of one second.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Allo's documented limits: 20 reads and 5 writes per second and per key.
pub const ALLO_PRESET: Limits = Limits {
    read_per_second: 20,
    write_per_second: 5,
};

/// Requests allowed per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// GET requests per second.
    pub read_per_second: u32,
    /// POST (and other) requests per second.
    pub write_per_second: u32,
}

/// Whether a request reads or writes, for its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// GET and HEAD.
    Read,
    /// Everything else.
    Write,
}

/// The outcome of counting one request: what the `X-RateLimit-*` headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// Requests allowed in a window (`u32::MAX` when unlimited).
    pub limit: u32,
    /// Requests left in the current window.
    pub remaining: u32,
    /// Unix time (seconds) at which the window resets.
    pub reset: u64,
}

/// Counts requests per (key, class) in one-second windows. Only admitted
/// clients are counted (see [`super::auth::Access::admit`]), so the table
/// holds at most two windows per configured key.
#[derive(Debug)]
pub struct RateLimiter {
    limits: Option<Limits>,
    windows: Mutex<HashMap<(String, Class), Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    second: u64,
    count: u32,
}

impl RateLimiter {
    /// A limiter enforcing `limits`, or only counting (for the headers) with `None`.
    pub fn new(limits: Option<Limits>) -> Self {
        RateLimiter {
            limits,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// The limits enforced, if any.
    pub fn limits(&self) -> Option<Limits> {
        self.limits
    }

    /// Counts one request of `key` now.
    pub fn take(&self, key: &str, class: Class) -> Quota {
        self.take_at(key, class, unix_seconds())
    }

    /// Counts one request of `key` in the window of `second`.
    fn take_at(&self, key: &str, class: Class, second: u64) -> Quota {
        let limit = match (self.limits, class) {
            (None, _) => u32::MAX,
            (Some(limits), Class::Read) => limits.read_per_second,
            (Some(limits), Class::Write) => limits.write_per_second,
        };
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let window = windows
            .entry((key.to_string(), class))
            .or_insert(Window { second, count: 0 });
        if window.second != second {
            *window = Window { second, count: 0 };
        }
        let allowed = window.count < limit;
        if allowed {
            window.count += 1;
        }
        Quota {
            allowed,
            limit,
            remaining: limit - window.count,
            reset: second + 1,
        }
    }
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preset_allows_five_writes_and_twenty_reads_a_second() {
        let limiter = RateLimiter::new(Some(ALLO_PRESET));
        let writes: Vec<bool> = (0..6)
            .map(|_| limiter.take_at("key", Class::Write, 100).allowed)
            .collect();
        assert_eq!(writes, [true, true, true, true, true, false]);
        let reads = (0..21)
            .filter(|_| limiter.take_at("key", Class::Read, 100).allowed)
            .count();
        assert_eq!(reads, 20);
        assert!(limiter.take_at("other", Class::Write, 100).allowed);
        let next_second = limiter.take_at("key", Class::Write, 101);
        assert_eq!(
            next_second,
            Quota {
                allowed: true,
                limit: 5,
                remaining: 4,
                reset: 102
            }
        );
    }

    #[test]
    fn without_limits_every_request_passes() {
        let limiter = RateLimiter::new(None);
        let quota = (0..1000)
            .map(|_| limiter.take_at("key", Class::Write, 7))
            .last()
            .unwrap();
        assert!(quota.allowed);
        assert_eq!(quota.remaining, u32::MAX - 1000);
    }
}
