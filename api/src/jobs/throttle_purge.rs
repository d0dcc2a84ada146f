//! The throttle purge: budgets that count nothing any more go (`domain::throttle::expired`):
//! unknown logins a day after their delay ran out, addresses and rate limits once their
//! delay has decayed. Accounts' budgets stay until a success or a recovery empties them.
//! SMS codes older than a day go too (they count for no send cap any more), and consent
//! tickets of sign-ins an hour after they expired.

use chrono::{DateTime, Utc};
use persistence::{Store, StoreError};

use super::Job;

/// The name of the throttle purge's lease.
pub const THROTTLE_PURGE: &str = "throttle_purge";
/// Budgets looked at per statement.
pub const THROTTLE_PURGE_BATCH: i64 = 500;

pub struct ThrottlePurge {
    pub batch: i64,
    pub interval: std::time::Duration,
}

impl Default for ThrottlePurge {
    fn default() -> Self {
        Self {
            batch: THROTTLE_PURGE_BATCH,
            interval: std::time::Duration::from_secs(15 * 60),
        }
    }
}

impl Job for ThrottlePurge {
    fn name(&self) -> &'static str {
        THROTTLE_PURGE
    }

    fn description(&self) -> &'static str {
        "deletes failure budgets that count nothing any more, and SMS codes older than a day"
    }

    fn interval(&self) -> std::time::Duration {
        self.interval
    }

    fn run(&self, store: &Store, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut deleted = 0;
        let mut after = String::new();
        loop {
            let (n, last) = store.purge_throttle(&after, self.batch, now)?;
            deleted += n;
            match last {
                Some(last) => after = last,
                None => break,
            }
        }
        let full = usize::try_from(self.batch).unwrap_or(0);
        loop {
            let n = store.purge_consent_tickets(self.batch, now)?;
            deleted += n;
            if n < full {
                break;
            }
        }
        loop {
            let n = store.purge_phone_codes(self.batch, now)?;
            deleted += n;
            if n < usize::try_from(self.batch).unwrap_or(0) {
                return Ok(deleted);
            }
        }
    }
}
