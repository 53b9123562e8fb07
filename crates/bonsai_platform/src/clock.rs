//! Time as the platform sees it. Codes, tokens and rate windows expire by a
//! [`Clock`] rather than by the database's `now()`, so a test can move time
//! forward (five minutes for a code, two hours for a token) without sleeping,
//! and every instance behind a load balancer judges expiry the same way as
//! long as their clocks agree.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub trait Clock: std::fmt::Debug + Send + Sync {
    fn now_millis(&self) -> i64;
}

/// The machine's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        // A clock before 1970 is a broken machine; treating it as the epoch
        // makes everything look expired, which fails safe.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to, for deterministic tests.
#[derive(Debug)]
pub struct VirtualClock {
    now: AtomicI64,
}

impl VirtualClock {
    pub fn new(start_millis: i64) -> Self {
        VirtualClock {
            now: AtomicI64::new(start_millis),
        }
    }

    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.now.fetch_add(by, Ordering::SeqCst);
    }

    pub fn set(&self, millis: i64) {
        self.now.store(millis, Ordering::SeqCst);
    }
}

impl Clock for VirtualClock {
    fn now_millis(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_clock_moves_only_when_advanced() {
        let clock = VirtualClock::new(1_000);
        assert_eq!(clock.now_millis(), 1_000);
        clock.advance(Duration::from_secs(300));
        assert_eq!(clock.now_millis(), 301_000);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now_millis() > 1_577_836_800_000);
    }
}
