//! The auth-log purge: events older than their provider's retention go (GDPR Art. 5(1)(e)).

use chrono::{DateTime, Duration, Utc};
use persistence::{Store, StoreError};

use super::{Job, with_lease};

/// The name of the auth-log purge's lease.
pub const AUTH_LOG_PURGE: &str = "auth_log_purge";
/// Events deleted per statement.
pub const PURGE_BATCH: i64 = 500;

pub struct AuthLogPurge {
    /// Retention of events tied to no provider (employees' sign-ins).
    pub default_days: u32,
    pub batch: i64,
    pub interval: std::time::Duration,
}

impl Job for AuthLogPurge {
    fn name(&self) -> &'static str {
        AUTH_LOG_PURGE
    }

    fn description(&self) -> &'static str {
        "deletes auth events older than their provider's auth_log_retention_days (GDPR Art. 5(1)(e))"
    }

    fn interval(&self) -> std::time::Duration {
        self.interval
    }

    fn run(&self, store: &Store, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut scopes: Vec<(Option<uuid::Uuid>, u32)> = store
            .auth_log_retentions()?
            .into_iter()
            .map(|(id, days)| (Some(id), days))
            .collect();
        scopes.push((None, self.default_days));
        let mut deleted = 0;
        for (provider, days) in scopes {
            let before = now - Duration::days(i64::from(days));
            loop {
                let n = store.purge_auth_events(provider, before, self.batch)?;
                deleted += n;
                if (n as i64) < self.batch {
                    break;
                }
            }
        }
        Ok(deleted)
    }
}

/// One purge under the lease, as `holder`: how many events went, or `None` when another
/// instance holds the lease.
pub fn purge_auth_log(
    store: &Store,
    holder: &str,
    default_days: u32,
    batch: i64,
    now: DateTime<Utc>,
) -> Result<Option<usize>, StoreError> {
    let job = AuthLogPurge {
        default_days,
        batch,
        interval: std::time::Duration::from_secs(3600),
    };
    with_lease(store, AUTH_LOG_PURGE, holder, now, |store| {
        job.run(store, now)
    })
}
