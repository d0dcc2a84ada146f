//! The auth log: who signed in (or failed to) how, and when.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::permission::ProviderScope;
use uuid::Uuid;

use super::{Page, PageRequest, Store};
use crate::records::AuthEventRecord;
use crate::rows::{AuthEventRow, naive};
use crate::schema::auth_events;
use crate::{DbConnection, StoreError};

#[derive(Debug, Clone, Default)]
pub struct AuthEventFilter {
    pub provider_id: Option<Uuid>,
    pub subject_id: Option<Uuid>,
    pub method: Option<String>,
    pub outcome: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Writes one auth event on the caller's connection (in its transaction, if any).
pub(super) fn insert_auth_event(
    conn: &mut DbConnection,
    event: &AuthEventRecord,
) -> Result<(), StoreError> {
    diesel::insert_into(auth_events::table)
        .values(AuthEventRow::from(event))
        .execute(conn)?;
    Ok(())
}

impl Store {
    pub fn insert_auth_event(&self, event: &AuthEventRecord) -> Result<(), StoreError> {
        insert_auth_event(&mut *self.conn()?, event)
    }

    /// The auth log, newest first. A provider-limited reader sees only its providers' events.
    pub fn list_auth_events(
        &self,
        filter: &AuthEventFilter,
        scope: &ProviderScope<Uuid>,
        page: PageRequest,
    ) -> Result<Page<AuthEventRecord>, StoreError> {
        let mut query = auth_events::table
            .select(AuthEventRow::as_select())
            .order(auth_events::id.desc())
            .limit(i64::from(page.limit) + 1)
            .into_boxed();
        if let Some(before) = page.after {
            query = query.filter(auth_events::id.lt(before.to_string()));
        }
        if let ProviderScope::Only(ids) = scope {
            query = query.filter(
                auth_events::provider_id
                    .eq_any(ids.iter().map(Uuid::to_string).collect::<Vec<_>>()),
            );
        }
        if let Some(p) = filter.provider_id {
            query = query.filter(auth_events::provider_id.eq(p.to_string()));
        }
        if let Some(s) = filter.subject_id {
            query = query.filter(auth_events::subject_id.eq(s.to_string()));
        }
        if let Some(m) = &filter.method {
            query = query.filter(auth_events::method.eq(m.clone()));
        }
        if let Some(o) = &filter.outcome {
            query = query.filter(auth_events::outcome.eq(o.clone()));
        }
        if let Some(from) = filter.from {
            query = query.filter(auth_events::created_at.ge(naive(from)));
        }
        if let Some(to) = filter.to {
            query = query.filter(auth_events::created_at.lt(naive(to)));
        }
        let items = query
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(AuthEventRecord::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, page.limit, |e| e.id))
    }
}
