//! The clock. Every expiry, delay and retention decision reads it, so tests move time
//! instead of sleeping.

use std::sync::Mutex;

use chrono::{DateTime, Duration, SubsecRound, Utc};

pub trait Clock: Send + Sync {
    /// The time, in whole microseconds: what PostgreSQL keeps, so that an object read back
    /// equals the one a create answered.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }
}

/// A clock that stands still until it is moved: the test double.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// Starts at `start`.
    pub fn at(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(start.trunc_subsecs(6)),
        }
    }

    /// Starts at the system's time, so that tokens and keys made outside the app (the CLI)
    /// fit in.
    pub fn starting_now() -> Self {
        Self::at(Utc::now())
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = to.trunc_subsecs(6);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The system's time moved by an offset that only grows: the double for black-box tests,
/// where time must still flow between requests but a test can jump ahead (an idle session,
/// a throttle delay, a retention period) without sleeping.
#[derive(Debug, Default)]
pub struct ShiftedClock {
    offset: Mutex<Duration>,
}

impl ShiftedClock {
    pub fn advance(&self, by: Duration) {
        *self.offset.lock().unwrap_or_else(|e| e.into_inner()) += by;
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        let offset = *self.offset.lock().unwrap_or_else(|e| e.into_inner());
        SystemClock.now() + offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00.1234567Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = ManualClock::at(start);
        assert_eq!(clock.now(), start.trunc_subsecs(6));
        assert_eq!(clock.now(), clock.now());
        clock.advance(Duration::seconds(90));
        assert_eq!(clock.now() - start.trunc_subsecs(6), Duration::seconds(90));
    }

    #[test]
    fn a_shifted_clock_jumps_ahead() {
        let clock = ShiftedClock::default();
        let before = SystemClock.now();
        clock.advance(Duration::hours(2));
        let after = clock.now();
        assert!(after - before >= Duration::hours(2));
        assert!(after - before < Duration::hours(2) + Duration::minutes(1));
    }

    #[test]
    fn the_system_clock_keeps_microseconds() {
        assert_eq!(SystemClock.now().timestamp_subsec_nanos() % 1000, 0);
    }
}
