//! The end of legal holds: a cleared client's billing details, kept for tax law, are
//! anonymized once their `legal_hold_until` has passed (and at once if they have none, which
//! only a write racing a clearing can leave behind).

use chrono::{DateTime, Utc};
use persistence::{Store, StoreError};

use super::Job;

/// The name of the legal-hold job's lease.
pub const LEGAL_HOLD_RELEASE: &str = "legal_hold_release";
/// Clients released per transaction.
pub const RELEASE_BATCH: i64 = 500;

pub struct LegalHoldRelease {
    pub interval: std::time::Duration,
}

impl Default for LegalHoldRelease {
    fn default() -> Self {
        Self {
            interval: std::time::Duration::from_secs(3600),
        }
    }
}

impl Job for LegalHoldRelease {
    fn name(&self) -> &'static str {
        LEGAL_HOLD_RELEASE
    }

    fn description(&self) -> &'static str {
        "anonymizes cleared clients' billing details once their legal hold has ended"
    }

    fn interval(&self) -> std::time::Duration {
        self.interval
    }

    fn run(&self, store: &Store, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut released = 0;
        loop {
            let n = store.release_legal_holds(now, RELEASE_BATCH)?;
            released += n;
            if (n as i64) < RELEASE_BATCH {
                return Ok(released);
            }
        }
    }
}
