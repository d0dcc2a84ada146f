//! Background jobs. A job is a name, an interval and a unit of work; the runner runs each
//! on every instance, but a run does its work only while it holds the job's lease in the
//! database, so many instances sharing one PostgreSQL run it once. Adding a job is a struct
//! and a line in `startup`.

mod auth_log_purge;
mod inactive_clients;
mod legal_hold;
mod origin_sweep;
mod throttle_purge;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use persistence::{Store, StoreError};
use tokio::sync::watch;

pub use auth_log_purge::{AUTH_LOG_PURGE, AuthLogPurge, PURGE_BATCH, purge_auth_log};
pub use inactive_clients::{CLIENTS_PER_RUN, INACTIVE_CLIENT_CLEANING, InactiveClientCleaning};
pub use legal_hold::{LEGAL_HOLD_RELEASE, LegalHoldRelease, RELEASE_BATCH};
pub use origin_sweep::{CLEARED_ORIGIN_SWEEP, ClearedOriginSweep, SWEEP_BATCH};
pub use throttle_purge::{THROTTLE_PURGE, THROTTLE_PURGE_BATCH, ThrottlePurge};

use crate::outside::clock::Clock;

/// How long a lease lasts: longer than a run takes, short enough that a crashed holder's
/// lease is taken over soon.
const LEASE_SECONDS: i64 = 10 * 60;

pub trait Job: Send + Sync {
    /// The lease's name; also how the job is named in logs.
    fn name(&self) -> &'static str;
    /// What it does, for the officer reading `GET /api/v1/jobs`.
    fn description(&self) -> &'static str;
    /// Time between two runs.
    fn interval(&self) -> std::time::Duration;
    /// One run's work, with the lease held. Answers how many things it removed or changed.
    fn run(&self, store: &Store, now: DateTime<Utc>) -> Result<usize, StoreError>;
}

/// Runs `work` while holding the lease `name`; `None` when another instance holds it.
pub fn with_lease(
    store: &Store,
    name: &str,
    holder: &str,
    now: DateTime<Utc>,
    work: impl FnOnce(&Store) -> Result<usize, StoreError>,
) -> Result<Option<usize>, StoreError> {
    if !store.try_lease(name, holder, now, Duration::seconds(LEASE_SECONDS))? {
        return Ok(None);
    }
    let result = work(store);
    // A failed run gives the lease back too, so the next tick (here or elsewhere) retries.
    store.release_lease(name, holder)?;
    result.map(Some)
}

/// The jobs of this instance.
pub struct JobRunner {
    store: Store,
    clock: Arc<dyn Clock>,
    /// This instance's name in the leases.
    holder: String,
    jobs: Vec<Arc<dyn Job>>,
    /// Counts finished runs (with or without the lease), so tests can wait for one.
    runs: watch::Sender<u64>,
}

impl JobRunner {
    pub fn new(store: Store, clock: Arc<dyn Clock>, jobs: Vec<Arc<dyn Job>>) -> Self {
        Self {
            store,
            clock,
            holder: uuid::Uuid::new_v4().to_string(),
            jobs,
            runs: watch::channel(0).0,
        }
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.jobs.iter().map(|j| j.name()).collect()
    }

    /// Each job of this instance: its name, what it does and its interval.
    pub fn schedule(&self) -> Vec<(&'static str, &'static str, std::time::Duration)> {
        self.jobs
            .iter()
            .map(|j| (j.name(), j.description(), j.interval()))
            .collect()
    }

    /// Runs the job `name` once, now, under its lease (synchronous: call it off the async
    /// workers). `Ok(None)`: unknown job, or another instance holds the lease.
    pub fn run_once(&self, name: &str) -> Result<Option<usize>, StoreError> {
        let Some(job) = self.jobs.iter().find(|j| j.name() == name) else {
            return Ok(None);
        };
        let now = self.clock.now();
        let started = std::time::Instant::now();
        let result = with_lease(&self.store, job.name(), &self.holder, now, |store| {
            job.run(store, now)
        });
        let outcome = match &result {
            Ok(Some(_)) => "done",
            Ok(None) => "skipped",
            Err(_) => "error",
        };
        let took = started.elapsed();
        crate::metrics::metrics().job_run(job.name(), outcome, took);
        // What the officer sees at GET /api/v1/jobs: runs that held the lease, and failures.
        let error = result.as_ref().err().map(ToString::to_string);
        let recorded = match (&result, &error) {
            (Ok(Some(n)), _) => Some(Ok(*n)),
            (Err(_), Some(e)) => Some(Err(e.as_str())),
            _ => None,
        };
        if let Some(recorded) = recorded {
            let ms = i64::try_from(took.as_millis()).unwrap_or(i64::MAX);
            if let Err(e) = self.store.record_job_run(job.name(), now, ms, recorded) {
                log::warn!("job {}: its run could not be recorded: {e}", job.name());
            }
        }
        self.runs.send_modify(|n| *n += 1);
        result
    }

    /// A receiver that changes after every finished run.
    pub fn finished_runs(&self) -> watch::Receiver<u64> {
        self.runs.subscribe()
    }

    /// Runs every job at its interval for as long as the server runs.
    pub fn spawn(self: &Arc<Self>) {
        for job in &self.jobs {
            let (runner, name, interval) = (self.clone(), job.name(), job.interval());
            tokio::spawn(async move {
                // The first run waits a little, so that a starting instance serves first.
                let first =
                    tokio::time::Instant::now() + interval.min(std::time::Duration::from_secs(60));
                let mut ticks = tokio::time::interval_at(first, interval);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticks.tick().await;
                    let worker = runner.clone();
                    let result = actix_web::web::block(move || worker.run_once(name)).await;
                    match result {
                        Ok(Ok(Some(n))) if n > 0 => log::info!("job {name}: {n} item(s)"),
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => log::error!("job {name} failed: {e}"),
                        Err(e) => log::error!("job {name} did not run: {e}"),
                    }
                }
            });
        }
    }
}
