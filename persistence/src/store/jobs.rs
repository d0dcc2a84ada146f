//! What background jobs need from the database: leases (one runner across instances) and
//! the auth-log purge in small batches.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::Store;
use crate::StoreError;
use crate::records::JobRunRecord;
use crate::rows::{naive, utc};
use crate::schema::{auth_events, job_leases, job_runs};

/// The outcomes a recorded job run can have (the contract's enum).
pub const JOB_DONE: &str = "done";
pub const JOB_ERROR: &str = "error";

impl Store {
    /// Takes or renews the lease of job `name` for `holder` until `now + ttl`. False when
    /// another holder has a lease that has not expired.
    pub fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let until = naive(now + ttl);
        let taken = diesel::update(
            job_leases::table.find(name).filter(
                job_leases::expires_at
                    .le(naive(now))
                    .or(job_leases::holder.eq(holder)),
            ),
        )
        .set((
            job_leases::holder.eq(holder),
            job_leases::expires_at.eq(until),
        ))
        .execute(&mut *conn)?;
        if taken == 1 {
            return Ok(true);
        }
        match diesel::insert_into(job_leases::table)
            .values((
                job_leases::name.eq(name),
                job_leases::holder.eq(holder),
                job_leases::expires_at.eq(until),
            ))
            .execute(&mut *conn)
        {
            Ok(_) => Ok(true),
            // Someone else holds it (or took it a moment ago).
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Gives a lease back early (only the holder can).
    pub fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        diesel::delete(
            job_leases::table
                .find(name)
                .filter(job_leases::holder.eq(holder)),
        )
        .execute(&mut *self.conn()?)?;
        Ok(())
    }

    /// Each provider's id and auth-log retention in days.
    pub fn auth_log_retentions(&self) -> Result<Vec<(Uuid, u32)>, StoreError> {
        Ok(self
            .provider_policies()?
            .into_iter()
            .map(|(id, policies)| (id, policies.auth_log_retention_days))
            .collect())
    }

    /// Deletes at most `batch` auth events of `provider` (`None`: events tied to no provider,
    /// such as employees' sign-ins) older than `before`; returns how many. Small batches keep
    /// each transaction short, so the log stays writable while it is purged.
    pub fn purge_auth_events(
        &self,
        provider: Option<Uuid>,
        before: DateTime<Utc>,
        batch: i64,
    ) -> Result<usize, StoreError> {
        let mut conn = self.conn()?;
        let mut query = auth_events::table
            .select(auth_events::id)
            .filter(auth_events::created_at.lt(naive(before)))
            .order(auth_events::created_at.asc())
            .limit(batch)
            .into_boxed();
        query = match provider {
            Some(p) => query.filter(auth_events::provider_id.eq(p.to_string())),
            None => query.filter(auth_events::provider_id.is_null()),
        };
        let ids: Vec<String> = query.load(&mut *conn)?;
        if ids.is_empty() {
            return Ok(0);
        }
        Ok(
            diesel::delete(auth_events::table.filter(auth_events::id.eq_any(&ids)))
                .execute(&mut *conn)?,
        )
    }
}

/// Longest error message kept for a job run.
const MAX_ERROR_CHARS: usize = 500;

impl Store {
    /// Records a run of job `name` that held the lease: when it started, how long it took,
    /// and how much it removed (`Ok`) or why it failed (`Err`).
    pub fn record_job_run(
        &self,
        name: &str,
        started_at: DateTime<Utc>,
        duration_ms: i64,
        result: Result<usize, &str>,
    ) -> Result<(), StoreError> {
        let started = naive(started_at);
        let (outcome, removed, error) = match result {
            Ok(n) => (JOB_DONE, i64::try_from(n).unwrap_or(i64::MAX), None),
            Err(e) => (
                JOB_ERROR,
                0,
                Some(e.chars().take(MAX_ERROR_CHARS).collect::<String>()),
            ),
        };
        let success_at = error.is_none().then_some(started);
        let error_at = error.is_some().then_some(started);
        self.write(|conn| {
            let changed = diesel::update(job_runs::table.find(name))
                .set((
                    job_runs::last_started_at.eq(started),
                    job_runs::last_duration_ms.eq(duration_ms),
                    job_runs::last_removed.eq(removed),
                    job_runs::last_outcome.eq(outcome),
                    job_runs::runs.eq(job_runs::runs + 1),
                ))
                .execute(conn)?;
            if changed == 0 {
                diesel::insert_into(job_runs::table)
                    .values((
                        job_runs::name.eq(name),
                        job_runs::last_started_at.eq(started),
                        job_runs::last_duration_ms.eq(duration_ms),
                        job_runs::last_removed.eq(removed),
                        job_runs::last_outcome.eq(outcome),
                        job_runs::runs.eq(1_i64),
                    ))
                    .execute(conn)?;
            }
            // The last success and the last error are kept apart: a failure does not hide
            // when the job last worked.
            if let Some(at) = success_at {
                diesel::update(job_runs::table.find(name))
                    .set(job_runs::last_success_at.eq(at))
                    .execute(conn)?;
            }
            if let Some(at) = error_at {
                diesel::update(job_runs::table.find(name))
                    .set((
                        job_runs::last_error.eq(&error),
                        job_runs::last_error_at.eq(at),
                    ))
                    .execute(conn)?;
            }
            Ok(())
        })
    }

    /// Every recorded job's last run.
    pub fn job_runs(&self) -> Result<Vec<JobRunRecord>, StoreError> {
        type Row = (
            String,
            chrono::NaiveDateTime,
            i64,
            i64,
            String,
            Option<chrono::NaiveDateTime>,
            Option<String>,
            Option<chrono::NaiveDateTime>,
            i64,
        );
        let rows: Vec<Row> = job_runs::table
            .order(job_runs::name)
            .select((
                job_runs::name,
                job_runs::last_started_at,
                job_runs::last_duration_ms,
                job_runs::last_removed,
                job_runs::last_outcome,
                job_runs::last_success_at,
                job_runs::last_error,
                job_runs::last_error_at,
                job_runs::runs,
            ))
            .load(&mut *self.conn()?)?;
        Ok(rows
            .into_iter()
            .map(|r| JobRunRecord {
                name: r.0,
                last_started_at: utc(r.1),
                last_duration_ms: r.2,
                last_removed: r.3,
                last_outcome: r.4,
                last_success_at: r.5.map(utc),
                last_error: r.6,
                last_error_at: r.7.map(utc),
                runs: r.8,
            })
            .collect())
    }
}
