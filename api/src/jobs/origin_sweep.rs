//! After a clearing: its users' events keep their sealed origins (addresses, user agents),
//! which nobody can open once the clearing destroyed the keys. This job sets them to NULL
//! in small transactions. `clear-data` starts the same right after answering; the job
//! finishes what a crash or the scheduled cleaning left.

use chrono::{DateTime, Utc};
use persistence::{Store, StoreError};

use super::Job;

/// The name of the sweep's lease.
pub const CLEARED_ORIGIN_SWEEP: &str = "cleared_origin_sweep";
/// Events changed per transaction: about a millisecond of SQLite's writer. In the bench,
/// other PostgreSQL commits waited up to 10-12 ms during a sweep with batches of 1,000, and
/// 5-12 ms with 250 (5 ms on a quiet database; README "Benchmarks").
pub const SWEEP_BATCH: usize = 250;

pub struct ClearedOriginSweep {
    pub interval: std::time::Duration,
}

impl Default for ClearedOriginSweep {
    fn default() -> Self {
        Self {
            interval: std::time::Duration::from_secs(3600),
        }
    }
}

impl Job for ClearedOriginSweep {
    fn name(&self) -> &'static str {
        CLEARED_ORIGIN_SWEEP
    }

    fn description(&self) -> &'static str {
        "removes the sealed addresses and user agents of cleared clients' auth events"
    }

    fn interval(&self) -> std::time::Duration {
        self.interval
    }

    fn run(&self, store: &Store, now: DateTime<Utc>) -> Result<usize, StoreError> {
        store.sweep_cleared_origins(SWEEP_BATCH, now)
    }
}
