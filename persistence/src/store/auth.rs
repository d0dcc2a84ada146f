//! Sessions, refresh tokens, API tokens, the failure budget and the auth log.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::model::Subject;
use domain::permission::ProviderScope;
use domain::throttle::{self, Decision};
use uuid::Uuid;

use super::{Page, PageRequest, Store};
use crate::rows::{naive, subject_kind, utc, uuid};
use crate::schema::{
    api_tokens, auth_events, auth_throttle, refresh_tokens, sessions, temporary_keys,
};
use crate::{DbConnection, StoreError};

/// Kills every session, API token and unused temporary key of `subject`, in the caller's
/// transaction (disabling an account, changing a password, clearing a client).
pub(crate) fn revoke_everything(
    conn: &mut DbConnection,
    subject: Subject,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let kind = subject.kind.as_str();
    let id = subject.id.to_string();
    diesel::update(
        sessions::table
            .filter(sessions::subject_kind.eq(kind))
            .filter(sessions::subject_id.eq(&id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now))
    .execute(conn)?;
    diesel::update(
        api_tokens::table
            .filter(api_tokens::subject_kind.eq(kind))
            .filter(api_tokens::subject_id.eq(&id))
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(now))
    .execute(conn)?;
    diesel::update(
        temporary_keys::table
            .filter(temporary_keys::subject_kind.eq(kind))
            .filter(temporary_keys::subject_id.eq(&id))
            .filter(temporary_keys::used_at.is_null()),
    )
    .set(temporary_keys::used_at.eq(now))
    .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: Uuid,
    pub subject: Subject,
    pub provider_id: Option<Uuid>,
    pub method: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    pub id: Uuid,
    pub subject: Subject,
    pub provider_id: Option<Uuid>,
    pub method: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

type SessionTuple = (
    String,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    NaiveDateTime,
    NaiveDateTime,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

const SESSION_COLUMNS: (
    sessions::id,
    sessions::subject_kind,
    sessions::subject_id,
    sessions::provider_id,
    sessions::method,
    sessions::ip,
    sessions::user_agent,
    sessions::created_at,
    sessions::last_seen_at,
    sessions::expires_at,
    sessions::revoked_at,
) = (
    sessions::id,
    sessions::subject_kind,
    sessions::subject_id,
    sessions::provider_id,
    sessions::method,
    sessions::ip,
    sessions::user_agent,
    sessions::created_at,
    sessions::last_seen_at,
    sessions::expires_at,
    sessions::revoked_at,
);

fn session_record(t: SessionTuple) -> Result<(SessionRecord, bool), StoreError> {
    let record = SessionRecord {
        id: uuid(&t.0)?,
        subject: Subject {
            kind: subject_kind(&t.1)?,
            id: uuid(&t.2)?,
        },
        provider_id: t.3.as_deref().map(uuid).transpose()?,
        method: t.4,
        ip: t.5,
        user_agent: t.6,
        created_at: utc(t.7),
        last_seen_at: utc(t.8),
        expires_at: utc(t.9),
    };
    Ok((record, t.10.is_some()))
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq)]
pub enum RefreshOutcome {
    /// The old token is spent, the new one stored.
    Rotated(SessionRecord),
    /// The token had already been used: the whole session (the token family) is revoked.
    Reused(SessionRecord),
    /// Unknown, expired, idle too long, or of a revoked session.
    Invalid,
}

#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub id: Uuid,
    pub subject: Subject,
    pub provider_id: Option<Uuid>,
    pub name: String,
    pub token_prefix: String,
    pub token_hash: String,
    pub scope: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiTokenRecord {
    pub id: Uuid,
    pub subject: Subject,
    pub provider_id: Option<Uuid>,
    pub name: String,
    pub token_prefix: String,
    pub scope: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

type ApiTokenTuple = (
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

const API_TOKEN_COLUMNS: (
    api_tokens::id,
    api_tokens::subject_kind,
    api_tokens::subject_id,
    api_tokens::provider_id,
    api_tokens::name,
    api_tokens::token_prefix,
    api_tokens::scope,
    api_tokens::created_at,
    api_tokens::expires_at,
    api_tokens::last_used_at,
) = (
    api_tokens::id,
    api_tokens::subject_kind,
    api_tokens::subject_id,
    api_tokens::provider_id,
    api_tokens::name,
    api_tokens::token_prefix,
    api_tokens::scope,
    api_tokens::created_at,
    api_tokens::expires_at,
    api_tokens::last_used_at,
);

fn api_token_record(t: ApiTokenTuple) -> Result<ApiTokenRecord, StoreError> {
    Ok(ApiTokenRecord {
        id: uuid(&t.0)?,
        subject: Subject {
            kind: subject_kind(&t.1)?,
            id: uuid(&t.2)?,
        },
        provider_id: t.3.as_deref().map(uuid).transpose()?,
        name: t.4,
        token_prefix: t.5,
        scope: t.6,
        created_at: utc(t.7),
        expires_at: t.8.map(utc),
        last_used_at: t.9.map(utc),
    })
}

/// One line of the auth log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthEventRecord {
    pub id: Uuid,
    pub provider_id: Option<Uuid>,
    pub subject: Option<Subject>,
    pub method: String,
    pub outcome: String,
    pub reason: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct AuthEventFilter {
    pub provider_id: Option<Uuid>,
    pub subject_id: Option<Uuid>,
    pub method: Option<String>,
    pub outcome: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// How often `last_used_at` of an API token is written: once a minute is precise enough and
/// keeps a busy script from turning every read into a write.
const LAST_USED_GRANULARITY_SECONDS: i64 = 60;

impl Store {
    pub fn create_session(
        &self,
        session: &NewSession,
        refresh_hash: &str,
    ) -> Result<(), StoreError> {
        self.conn()?.transaction(|conn| {
            diesel::insert_into(sessions::table)
                .values((
                    sessions::id.eq(session.id.to_string()),
                    sessions::subject_kind.eq(session.subject.kind.as_str()),
                    sessions::subject_id.eq(session.subject.id.to_string()),
                    sessions::provider_id.eq(session.provider_id.map(|p| p.to_string())),
                    sessions::method.eq(&session.method),
                    sessions::ip.eq(&session.ip),
                    sessions::user_agent.eq(&session.user_agent),
                    sessions::created_at.eq(naive(session.created_at)),
                    sessions::last_seen_at.eq(naive(session.created_at)),
                    sessions::expires_at.eq(naive(session.expires_at)),
                ))
                .execute(conn)?;
            diesel::insert_into(refresh_tokens::table)
                .values((
                    refresh_tokens::token_hash.eq(refresh_hash),
                    refresh_tokens::session_id.eq(session.id.to_string()),
                    refresh_tokens::created_at.eq(naive(session.created_at)),
                ))
                .execute(conn)?;
            Ok(())
        })
    }

    /// The session if it is neither revoked nor expired.
    pub fn active_session(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row = sessions::table
            .find(id.to_string())
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(naive(now)))
            .select(SESSION_COLUMNS)
            .first::<SessionTuple>(&mut self.conn()?)
            .optional()?;
        row.map(|t| session_record(t).map(|(s, _)| s)).transpose()
    }

    /// Spends `old_hash` and stores `new_hash` in its place. `idle` says how long a session
    /// of each kind of subject may go without a refresh before it dies.
    pub fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        now: DateTime<Utc>,
        idle: impl Fn(domain::provider::SubjectKind) -> Duration,
    ) -> Result<RefreshOutcome, StoreError> {
        let now_naive = naive(now);
        self.conn()?.transaction(|conn| {
            let token: Option<(String, Option<NaiveDateTime>)> = refresh_tokens::table
                .find(old_hash)
                .select((refresh_tokens::session_id, refresh_tokens::used_at))
                .first(conn)
                .optional()?;
            let Some((session_id, used_at)) = token else {
                return Ok(RefreshOutcome::Invalid);
            };
            let (session, revoked) = session_record(
                sessions::table
                    .find(&session_id)
                    .select(SESSION_COLUMNS)
                    .first::<SessionTuple>(conn)?,
            )?;
            if revoked
                || session.expires_at <= now
                || session.last_seen_at + idle(session.subject.kind) <= now
            {
                return Ok(RefreshOutcome::Invalid);
            }
            // Spend the token with a conditional UPDATE: of two concurrent refreshes with the
            // same token one wins, the other is a reuse.
            let spent = if used_at.is_some() {
                0
            } else {
                diesel::update(
                    refresh_tokens::table
                        .find(old_hash)
                        .filter(refresh_tokens::used_at.is_null()),
                )
                .set(refresh_tokens::used_at.eq(now_naive))
                .execute(conn)?
            };
            if spent != 1 {
                diesel::update(sessions::table.find(&session_id))
                    .set(sessions::revoked_at.eq(now_naive))
                    .execute(conn)?;
                return Ok(RefreshOutcome::Reused(session));
            }
            diesel::insert_into(refresh_tokens::table)
                .values((
                    refresh_tokens::token_hash.eq(new_hash),
                    refresh_tokens::session_id.eq(&session_id),
                    refresh_tokens::created_at.eq(now_naive),
                ))
                .execute(conn)?;
            diesel::update(sessions::table.find(&session_id))
                .set(sessions::last_seen_at.eq(now_naive))
                .execute(conn)?;
            Ok(RefreshOutcome::Rotated(SessionRecord {
                last_seen_at: now,
                ..session
            }))
        })
    }

    /// Revokes one session of `subject`; false when it has no such live session.
    /// Revokes every live session of `subject` but `keep`; returns how many ended.
    pub fn revoke_other_sessions(
        &self,
        subject: Subject,
        keep: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let keep = keep.map(|k| k.to_string()).unwrap_or_default();
        Ok(diesel::update(
            sessions::table
                .filter(sessions::subject_kind.eq(subject.kind.as_str()))
                .filter(sessions::subject_id.eq(subject.id.to_string()))
                .filter(sessions::revoked_at.is_null())
                .filter(sessions::id.ne(keep)),
        )
        .set(sessions::revoked_at.eq(naive(now)))
        .execute(&mut self.conn()?)?)
    }

    pub fn revoke_session(
        &self,
        subject: Subject,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let changed = diesel::update(
            sessions::table
                .find(id.to_string())
                .filter(sessions::subject_kind.eq(subject.kind.as_str()))
                .filter(sessions::subject_id.eq(subject.id.to_string()))
                .filter(sessions::revoked_at.is_null()),
        )
        .set(sessions::revoked_at.eq(naive(now)))
        .execute(&mut self.conn()?)?;
        Ok(changed == 1)
    }

    pub fn list_sessions(
        &self,
        subject: Subject,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        sessions::table
            .filter(sessions::subject_kind.eq(subject.kind.as_str()))
            .filter(sessions::subject_id.eq(subject.id.to_string()))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(naive(now)))
            .order(sessions::id.desc())
            .select(SESSION_COLUMNS)
            .load::<SessionTuple>(&mut self.conn()?)?
            .into_iter()
            .map(|t| session_record(t).map(|(s, _)| s))
            .collect()
    }

    /// A password change: the new hash, and every other session, token and key dies.
    pub fn change_password(
        &self,
        subject: Subject,
        hash: &str,
        keep_session: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        use crate::schema::{employees, users};
        let now = naive(now);
        self.conn()?.transaction(|conn| {
            let id = subject.id.to_string();
            match subject.kind {
                domain::provider::SubjectKind::User => diesel::update(users::table.find(&id))
                    .set(users::password_hash.eq(hash))
                    .execute(conn)?,
                domain::provider::SubjectKind::Employee => {
                    diesel::update(employees::table.find(&id))
                        .set(employees::password_hash.eq(hash))
                        .execute(conn)?
                }
            };
            revoke_everything(conn, subject, now)?;
            if let Some(keep) = keep_session {
                diesel::update(sessions::table.find(keep.to_string()))
                    .set(sessions::revoked_at.eq(None::<NaiveDateTime>))
                    .execute(conn)?;
            }
            Ok(())
        })
    }

    pub fn insert_api_token(&self, token: &NewApiToken) -> Result<(), StoreError> {
        diesel::insert_into(api_tokens::table)
            .values((
                api_tokens::id.eq(token.id.to_string()),
                api_tokens::subject_kind.eq(token.subject.kind.as_str()),
                api_tokens::subject_id.eq(token.subject.id.to_string()),
                api_tokens::provider_id.eq(token.provider_id.map(|p| p.to_string())),
                api_tokens::name.eq(&token.name),
                api_tokens::token_prefix.eq(&token.token_prefix),
                api_tokens::token_hash.eq(&token.token_hash),
                api_tokens::scope.eq(&token.scope),
                api_tokens::created_at.eq(naive(token.created_at)),
                api_tokens::expires_at.eq(token.expires_at.map(naive)),
            ))
            .execute(&mut self.conn()?)?;
        Ok(())
    }

    /// Live tokens of a subject (revoked ones are gone from the list; expired ones stay, so
    /// that their owner sees why a script stopped).
    pub fn list_api_tokens(&self, subject: Subject) -> Result<Vec<ApiTokenRecord>, StoreError> {
        api_tokens::table
            .filter(api_tokens::subject_kind.eq(subject.kind.as_str()))
            .filter(api_tokens::subject_id.eq(subject.id.to_string()))
            .filter(api_tokens::revoked_at.is_null())
            .order(api_tokens::id.asc())
            .select(API_TOKEN_COLUMNS)
            .load::<ApiTokenTuple>(&mut self.conn()?)?
            .into_iter()
            .map(api_token_record)
            .collect()
    }

    pub fn revoke_api_token(
        &self,
        subject: Subject,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let changed = diesel::update(
            api_tokens::table
                .find(id.to_string())
                .filter(api_tokens::subject_kind.eq(subject.kind.as_str()))
                .filter(api_tokens::subject_id.eq(subject.id.to_string()))
                .filter(api_tokens::revoked_at.is_null()),
        )
        .set(api_tokens::revoked_at.eq(naive(now)))
        .execute(&mut self.conn()?)?;
        Ok(changed == 1)
    }

    /// The live token with this hash, its use recorded.
    pub fn use_api_token(
        &self,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ApiTokenRecord>, StoreError> {
        let mut conn = self.conn()?;
        let now_naive = naive(now);
        let row = api_tokens::table
            .filter(api_tokens::token_hash.eq(hash))
            .filter(api_tokens::revoked_at.is_null())
            .filter(
                api_tokens::expires_at
                    .is_null()
                    .or(api_tokens::expires_at.gt(now_naive)),
            )
            .select(API_TOKEN_COLUMNS)
            .first::<ApiTokenTuple>(&mut *conn)
            .optional()?;
        let Some(row) = row else { return Ok(None) };
        let record = api_token_record(row)?;
        let stale = now_naive - Duration::seconds(LAST_USED_GRANULARITY_SECONDS);
        diesel::update(
            api_tokens::table.find(record.id.to_string()).filter(
                api_tokens::last_used_at
                    .is_null()
                    .or(api_tokens::last_used_at.lt(stale)),
            ),
        )
        .set(api_tokens::last_used_at.eq(now_naive))
        .execute(&mut *conn)?;
        Ok(Some(record))
    }

    /// Counts an attempt against `key`'s failure budget before the secret is checked. The
    /// compare-and-set on `failures` makes parallel attempts queue for the budget instead of
    /// all reading the same count.
    pub fn reserve_attempt(&self, key: &str, now: DateTime<Utc>) -> Result<Decision, StoreError> {
        let mut conn = self.conn()?;
        let now_naive = naive(now);
        for _ in 0..20 {
            let row: Option<(i32, NaiveDateTime)> = auth_throttle::table
                .find(key)
                .select((auth_throttle::failures, auth_throttle::last_attempt_at))
                .first(&mut *conn)
                .optional()?;
            let (failures, last) = match row {
                Some((f, last)) => (u32::try_from(f).unwrap_or(0), Some(utc(last))),
                None => (0, None),
            };
            let decision = throttle::decide(failures, last, now);
            if decision != Decision::Allow {
                return Ok(decision);
            }
            let won = match row {
                None => match diesel::insert_into(auth_throttle::table)
                    .values((
                        auth_throttle::throttle_key.eq(key),
                        auth_throttle::failures.eq(1),
                        auth_throttle::last_attempt_at.eq(now_naive),
                    ))
                    .execute(&mut *conn)
                {
                    Ok(_) => true,
                    Err(diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::UniqueViolation,
                        _,
                    )) => false,
                    Err(e) => return Err(e.into()),
                },
                Some((f, _)) => {
                    diesel::update(
                        auth_throttle::table
                            .find(key)
                            .filter(auth_throttle::failures.eq(f)),
                    )
                    .set((
                        auth_throttle::failures.eq(f + 1),
                        auth_throttle::last_attempt_at.eq(now_naive),
                    ))
                    .execute(&mut *conn)?
                        == 1
                }
            };
            if won {
                return Ok(Decision::Allow);
            }
        }
        // Heavy contention on one account: ask the caller to come back rather than spin.
        Ok(Decision::RetryAfter(1))
    }

    /// A correct secret (or a recovery) empties the budget.
    pub fn reset_attempts(&self, key: &str) -> Result<(), StoreError> {
        diesel::delete(auth_throttle::table.find(key)).execute(&mut self.conn()?)?;
        Ok(())
    }

    pub fn insert_auth_event(&self, event: &AuthEventRecord) -> Result<(), StoreError> {
        diesel::insert_into(auth_events::table)
            .values((
                auth_events::id.eq(event.id.to_string()),
                auth_events::provider_id.eq(event.provider_id.map(|p| p.to_string())),
                auth_events::subject_kind.eq(event.subject.map(|s| s.kind.as_str())),
                auth_events::subject_id.eq(event.subject.map(|s| s.id.to_string())),
                auth_events::method.eq(&event.method),
                auth_events::outcome.eq(&event.outcome),
                auth_events::reason.eq(&event.reason),
                auth_events::ip.eq(&event.ip),
                auth_events::user_agent.eq(&event.user_agent),
                auth_events::created_at.eq(naive(event.created_at)),
            ))
            .execute(&mut self.conn()?)?;
        Ok(())
    }

    /// The auth log, newest first. A provider-limited reader sees only its providers' events.
    pub fn list_auth_events(
        &self,
        filter: &AuthEventFilter,
        scope: &ProviderScope<Uuid>,
        page: PageRequest,
    ) -> Result<Page<AuthEventRecord>, StoreError> {
        let mut query = auth_events::table
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
        type Row = (
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            NaiveDateTime,
        );
        let rows: Vec<Row> = query
            .select((
                auth_events::id,
                auth_events::provider_id,
                auth_events::subject_kind,
                auth_events::subject_id,
                auth_events::method,
                auth_events::outcome,
                auth_events::reason,
                auth_events::ip,
                auth_events::user_agent,
                auth_events::created_at,
            ))
            .load(&mut self.conn()?)?;
        let items = rows
            .into_iter()
            .map(|r| {
                let subject = match (r.2, r.3) {
                    (Some(kind), Some(id)) => Some(Subject {
                        kind: subject_kind(&kind)?,
                        id: uuid(&id)?,
                    }),
                    _ => None,
                };
                Ok(AuthEventRecord {
                    id: uuid(&r.0)?,
                    provider_id: r.1.as_deref().map(uuid).transpose()?,
                    subject,
                    method: r.4,
                    outcome: r.5,
                    reason: r.6,
                    ip: r.7,
                    user_agent: r.8,
                    created_at: utc(r.9),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Page::from_overfetch(items, page.limit, |e| e.id))
    }
}

impl Store {
    /// A registration: the client and its first user, together or not at all.
    pub fn register(
        &self,
        client: &domain::model::Client,
        user: &domain::model::User,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        use crate::rows::ClientRow;
        use crate::schema::{clients, users};
        self.conn()?.transaction(|conn| {
            diesel::insert_into(clients::table)
                .values(ClientRow::from(client))
                .execute(conn)?;
            diesel::insert_into(users::table)
                .values((
                    users::id.eq(user.id.to_string()),
                    users::provider_id.eq(user.provider_id.to_string()),
                    users::client_id.eq(user.client_id.to_string()),
                    users::email.eq(user.email.as_str()),
                    users::name.eq(&user.name),
                    users::phone.eq(user.phone.as_ref().map(|p| p.as_str().to_owned())),
                    users::status.eq(user.status.as_str()),
                    users::password_hash.eq(password_hash),
                    users::created_at.eq(naive(user.created_at)),
                    users::updated_at.eq(naive(user.updated_at)),
                ))
                .execute(conn)?;
            Ok(())
        })
    }
}
