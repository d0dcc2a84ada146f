//! Background jobs. Each runs on every instance but does its work only while it holds the
//! job's lease in the database, so many instances sharing one PostgreSQL run it once.

use chrono::{DateTime, Duration, Utc};
use persistence::{Store, StoreError};

/// The name of the auth-log purge's lease.
pub const AUTH_LOG_PURGE: &str = "auth_log_purge";
/// Events deleted per statement.
pub const PURGE_BATCH: i64 = 500;
/// How long a lease lasts: longer than a purge takes, short enough that a crashed holder's
/// lease is taken over soon.
const LEASE: i64 = 10 * 60;

/// Deletes auth events older than their provider's retention (GDPR Art. 5(1)(e)), and
/// events tied to no provider (employees' sign-ins) older than `default_days`. Returns how
/// many went, or `None` when another instance holds the lease.
pub fn purge_auth_log(
    store: &Store,
    holder: &str,
    default_days: u32,
    batch: i64,
    now: DateTime<Utc>,
) -> Result<Option<usize>, StoreError> {
    if !store.try_lease(AUTH_LOG_PURGE, holder, now, Duration::seconds(LEASE))? {
        return Ok(None);
    }
    let mut scopes: Vec<(Option<uuid::Uuid>, u32)> = store
        .auth_log_retentions()?
        .into_iter()
        .map(|(id, days)| (Some(id), days))
        .collect();
    scopes.push((None, default_days));
    let mut deleted = 0;
    for (provider, days) in scopes {
        let before = now - Duration::days(i64::from(days));
        loop {
            let n = store.purge_auth_events(provider, before, batch)?;
            deleted += n;
            if (n as i64) < batch {
                break;
            }
        }
    }
    store.release_lease(AUTH_LOG_PURGE, holder)?;
    Ok(Some(deleted))
}

/// Runs the purge every `interval` for as long as the server runs.
pub fn spawn_auth_log_purge(store: Store, default_days: u32, interval: std::time::Duration) {
    let holder = uuid::Uuid::new_v4().to_string();
    tokio::spawn(async move {
        // The first run waits a little, so that a starting instance serves first.
        let first = tokio::time::Instant::now() + interval.min(std::time::Duration::from_secs(60));
        let mut ticks = tokio::time::interval_at(first, interval);
        loop {
            ticks.tick().await;
            let (store, holder) = (store.clone(), holder.clone());
            let result = actix_web::web::block(move || {
                purge_auth_log(&store, &holder, default_days, PURGE_BATCH, Utc::now())
            })
            .await;
            match result {
                Ok(Ok(Some(n))) if n > 0 => log::info!("auth-log purge deleted {n} event(s)"),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => log::error!("auth-log purge failed: {e}"),
                Err(e) => log::error!("auth-log purge did not run: {e}"),
            }
        }
    });
}
