//! The auth log: who signed in (or failed to) how, and when.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::permission::ProviderScope;
use domain::provider::SubjectKind;
use uuid::Uuid;

use super::{Page, PageRequest, Store};
use crate::error::corrupt;
use crate::origin::{DESTROYED, OriginKey};
use crate::records::AuthEventRecord;
use crate::rows::{AuthEventRow, naive};
use crate::schema::{auth_events, users};
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

/// A user's origin key as it was read with the account (`Store::provider_and_user`), so that
/// the sign-in's events are sealed without reading it again: a statement (a round trip on
/// PostgreSQL) less per login. A key destroyed since (a clearing meanwhile) only seals the
/// event under a key nobody holds any more, which keeps its origin as unreadable as the
/// clearing wants it; a user who had no key yet gets one made as before.
#[derive(Clone)]
pub struct KnownOriginKey {
    user_id: Uuid,
    /// The stored column: `None` before the user's first event.
    stored: Option<String>,
}

impl KnownOriginKey {
    pub(super) fn new(user_id: Uuid, stored: Option<String>) -> Self {
        Self { user_id, stored }
    }
}

/// Never the key itself: a `Debug` print may reach a log.
impl std::fmt::Debug for KnownOriginKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnownOriginKey")
            .field("user_id", &self.user_id)
            .field("stored", &self.stored.as_ref().map(|_| "…"))
            .finish()
    }
}

/// Writes one auth event on the caller's connection (in its transaction, if any). A user's
/// address and user agent are sealed under the user's origin key (`crate::origin`), or not
/// kept at all once a clearing destroyed it.
pub(super) fn insert_auth_event(
    conn: &mut DbConnection,
    event: &AuthEventRecord,
    known: Option<&KnownOriginKey>,
) -> Result<(), StoreError> {
    let row = sealed_event_row(conn, event, known)?;
    natively!(conn, |conn| {
        diesel::insert_into(auth_events::table)
            .values(row)
            .execute(conn)?
    });
    Ok(())
}

/// The row of `event` as it is stored: a user's origin sealed (`insert_auth_event`). Reads
/// the user's origin key, unless `known` holds it, and at the user's first event writes it.
pub(super) fn sealed_event_row(
    conn: &mut DbConnection,
    event: &AuthEventRecord,
    known: Option<&KnownOriginKey>,
) -> Result<AuthEventRow, StoreError> {
    let mut row = AuthEventRow::from(event);
    if let Some(subject) = event.subject
        && subject.kind == SubjectKind::User
        && (row.ip.is_some() || row.user_agent.is_some())
    {
        let known = known
            .filter(|k| k.user_id == subject.id)
            .and_then(|k| k.stored.as_deref());
        let key = match known {
            Some(stored) => origin_key_of(stored)?,
            None => user_origin_key(conn, &subject.id.to_string())?,
        };
        match key {
            UserOriginKey::Key(key) => {
                row.sealed_origin =
                    Some(key.seal(&row.id, row.ip.as_deref(), row.user_agent.as_deref()));
                row.ip = None;
                row.user_agent = None;
            }
            UserOriginKey::Destroyed => {
                row.ip = None;
                row.user_agent = None;
            }
            // An event may name a user id that does not exist (a stale token): nothing
            // to clear it with, it stays as written.
            UserOriginKey::NoSuchUser => {}
        }
    }
    Ok(row)
}

enum UserOriginKey {
    Key(OriginKey),
    Destroyed,
    NoSuchUser,
}

/// The user's origin key, made on first use.
fn user_origin_key(conn: &mut DbConnection, user_id: &str) -> Result<UserOriginKey, StoreError> {
    let stored = || users::table.find(user_id).select(users::origin_key);
    let key = natively!(
        conn,
        |conn| match stored().first::<Option<String>>(conn).optional()? {
            None => return Ok(UserOriginKey::NoSuchUser),
            Some(Some(key)) => key,
            Some(None) => {
                // Only where none is set yet: of two first events written at once, both use
                // the key the first one set.
                diesel::update(
                    users::table
                        .find(user_id)
                        .filter(users::origin_key.is_null()),
                )
                .set(users::origin_key.eq(OriginKey::generate()))
                .execute(conn)?;
                stored().first::<Option<String>>(conn)?.unwrap_or_default()
            }
        }
    );
    origin_key_of(&key)
}

/// What a stored origin key column holds: a key, or the mark of a destroyed one.
fn origin_key_of(stored: &str) -> Result<UserOriginKey, StoreError> {
    if stored == DESTROYED {
        return Ok(UserOriginKey::Destroyed);
    }
    OriginKey::parse(stored)
        .map(UserOriginKey::Key)
        .ok_or_else(|| corrupt("a user's origin key"))
}

/// Opens the sealed origins of `rows` (users' events) with their users' keys. An origin
/// under a destroyed key stays unknown.
pub(super) fn open_origins(
    conn: &mut DbConnection,
    rows: &mut [AuthEventRow],
) -> Result<(), StoreError> {
    let users_of: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.sealed_origin.is_some())
        .filter_map(|r| r.subject_id.as_deref())
        .collect();
    if users_of.is_empty() {
        return Ok(());
    }
    let keys: BTreeMap<String, OriginKey> = users::table
        .filter(users::id.eq_any(users_of))
        .filter(users::origin_key.is_not_null())
        .select((users::id, users::origin_key.assume_not_null()))
        .load::<(String, String)>(conn)?
        .into_iter()
        .filter_map(|(id, key)| Some((id, OriginKey::parse(&key)?)))
        .collect();
    for row in rows {
        let (Some(sealed), Some(user)) = (row.sealed_origin.take(), row.subject_id.as_deref())
        else {
            continue;
        };
        let Some(key) = keys.get(user) else { continue };
        match key.open(&row.id, &sealed) {
            Some((ip, user_agent)) => (row.ip, row.user_agent) = (ip, user_agent),
            None => log::warn!("the sealed origin of auth event {} does not open", row.id),
        }
    }
    Ok(())
}

impl Store {
    pub fn insert_auth_event(&self, event: &AuthEventRecord) -> Result<(), StoreError> {
        insert_auth_event(&mut *self.conn()?, event, None)
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
        let mut conn = self.conn()?;
        let mut rows: Vec<AuthEventRow> = query.load(&mut *conn)?;
        open_origins(&mut conn, &mut rows)?;
        let items = rows
            .into_iter()
            .map(AuthEventRecord::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, page.limit, |e| e.id))
    }
}
