//! What background jobs need from the database: leases (one runner across instances) and
//! the auth-log purge in small batches.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::Store;
use crate::StoreError;
use crate::rows::naive;
use crate::schema::{auth_events, job_leases};

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
        .execute(&mut self.conn()?)?;
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
