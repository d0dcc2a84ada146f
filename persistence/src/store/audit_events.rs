//! The audit trail of settings changes: append-only, newest first.

use diesel::prelude::*;
use domain::permission::ProviderScope;
use uuid::Uuid;

use super::{Page, PageRequest, Store};
use crate::StoreError;
use crate::records::AuditEventRecord;
use crate::rows::{naive, utc, uuid};
use crate::schema::audit_events;

type Row = (
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    chrono::NaiveDateTime,
);

impl Store {
    pub fn insert_audit_event(&self, e: &AuditEventRecord) -> Result<(), StoreError> {
        diesel::insert_into(audit_events::table)
            .values((
                audit_events::id.eq(e.id.to_string()),
                audit_events::actor_kind.eq(&e.actor_kind),
                audit_events::actor_id.eq(e.actor_id.map(|id| id.to_string())),
                audit_events::action.eq(&e.action),
                audit_events::target_kind.eq(&e.target_kind),
                audit_events::target_id.eq(&e.target_id),
                audit_events::provider_id.eq(e.provider_id.map(|id| id.to_string())),
                audit_events::before_value.eq(&e.before),
                audit_events::after_value.eq(&e.after),
                audit_events::created_at.eq(naive(e.created_at)),
            ))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    /// The audit trail, newest first. A provider-limited reader sees only its providers'
    /// settings, not the service's own.
    pub fn list_audit_events(
        &self,
        provider_id: Option<Uuid>,
        target_kind: Option<&str>,
        scope: &ProviderScope<Uuid>,
        page: PageRequest,
    ) -> Result<Page<AuditEventRecord>, StoreError> {
        let mut query = audit_events::table
            .order(audit_events::id.desc())
            .limit(i64::from(page.limit) + 1)
            .into_boxed();
        if let Some(before) = page.after {
            query = query.filter(audit_events::id.lt(before.to_string()));
        }
        if let ProviderScope::Only(ids) = scope {
            query = query.filter(
                audit_events::provider_id
                    .eq_any(ids.iter().map(Uuid::to_string).collect::<Vec<_>>()),
            );
        }
        if let Some(p) = provider_id {
            query = query.filter(audit_events::provider_id.eq(p.to_string()));
        }
        if let Some(kind) = target_kind {
            query = query.filter(audit_events::target_kind.eq(kind.to_owned()));
        }
        let rows: Vec<Row> = query
            .select((
                audit_events::id,
                audit_events::actor_kind,
                audit_events::actor_id,
                audit_events::action,
                audit_events::target_kind,
                audit_events::target_id,
                audit_events::provider_id,
                audit_events::before_value,
                audit_events::after_value,
                audit_events::created_at,
            ))
            .load(&mut *self.conn()?)?;
        let items = rows
            .into_iter()
            .map(|r| {
                Ok(AuditEventRecord {
                    id: uuid(&r.0)?,
                    actor_kind: r.1,
                    actor_id: r.2.as_deref().map(uuid).transpose()?,
                    action: r.3,
                    target_kind: r.4,
                    target_id: r.5,
                    provider_id: r.6.as_deref().map(uuid).transpose()?,
                    before: r.7,
                    after: r.8,
                    created_at: utc(r.9),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Page::from_overfetch(items, page.limit, |e| e.id))
    }
}
