//! Sessions and their refresh tokens (one token family per session).

use std::marker::PhantomData;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::backend::Backend;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Text, Timestamp};
use domain::model::Subject;
use domain::refresh::{Reuse, judge_reuse};
use uuid::Uuid;

use super::Store;
use super::auth_events::{KnownOriginKey, insert_auth_event, sealed_event_row};
use super::credentials::set_password_hash;
use super::principals::{Person, person_and_origin_key};
use super::throttle::reset_attempts;
use crate::records::{AuthEventRecord, NewSession, SessionRecord};
use crate::rows::{RefreshTokenRow, SessionRow, naive, utc};
use crate::schema::{auth_events, auth_throttle, refresh_tokens, sessions};
use crate::{DbConnection, StoreError};

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq)]
pub enum RefreshOutcome {
    /// The old token is spent, the new one stored.
    Rotated(SessionRecord),
    /// The token had already been used: the whole session (the token family) is revoked.
    Reused(SessionRecord),
    /// The token was rotated a moment ago (within the grace): refused, nothing revoked.
    JustRotated(SessionRecord),
    /// Unknown, expired, idle too long, or of a revoked session.
    Invalid,
}

fn new_refresh_token(hash: &str, session_id: &str, now: NaiveDateTime) -> RefreshTokenRow {
    RefreshTokenRow {
        token_hash: hash.to_owned(),
        session_id: session_id.to_owned(),
        created_at: now,
        used_at: None,
    }
}

/// The rows of a new session and of its first refresh token.
fn session_rows(session: &NewSession, refresh_hash: &str) -> (SessionRow, RefreshTokenRow) {
    let row = SessionRow::from(session);
    let token = new_refresh_token(refresh_hash, &row.id, row.created_at);
    (row, token)
}

fn insert_session(
    conn: &mut DbConnection,
    session: &NewSession,
    refresh_hash: &str,
) -> Result<(), StoreError> {
    let (row, token) = session_rows(session, refresh_hash);
    natively!(conn, |c| {
        diesel::insert_into(sessions::table)
            .values(&row)
            .execute(c)?;
        diesel::insert_into(refresh_tokens::table)
            .values(&token)
            .execute(c)?;
    });
    Ok(())
}

/// An UPDATE that sets one timestamp column of the row with a text key, written out so that
/// diesel keeps it prepared. Diesel prepares its own `update()` again at every execution (a
/// changeset's text may change with its values): the two of a refresh, parsed each time,
/// were a tenth of its work under SQLite's write lock.
struct Stamp<'a, S> {
    key: &'a str,
    now: NaiveDateTime,
    statement: PhantomData<S>,
}

/// The text of a `Stamp`: `UPDATE {SET} ? WHERE {KEY} ? {AND}`.
trait StampStatement: 'static {
    const SET: &'static str;
    const KEY: &'static str;
    const AND: &'static str;
}

/// Spends a refresh token, unless it was spent already.
enum SpendRefreshToken {}

impl StampStatement for SpendRefreshToken {
    const SET: &'static str = "refresh_tokens SET used_at =";
    const KEY: &'static str = "token_hash =";
    const AND: &'static str = "AND used_at IS NULL";
}

/// Marks a session as used now.
enum TouchSession {}

impl StampStatement for TouchSession {
    const SET: &'static str = "sessions SET last_seen_at =";
    const KEY: &'static str = "id =";
    const AND: &'static str = "";
}

impl<'a, S: StampStatement> Stamp<'a, S> {
    fn new(key: &'a str, now: NaiveDateTime) -> Self {
        Self {
            key,
            now,
            statement: PhantomData,
        }
    }
}

impl<DB, S> QueryFragment<DB> for Stamp<'_, S>
where
    DB: Backend,
    S: StampStatement,
    NaiveDateTime: ToSql<Timestamp, DB>,
    str: ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE ");
        out.push_sql(S::SET);
        out.push_sql(" ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(" WHERE ");
        out.push_sql(S::KEY);
        out.push_sql(" ");
        out.push_bind_param::<Text, _>(self.key)?;
        out.push_sql(" ");
        out.push_sql(S::AND);
        Ok(())
    }
}

impl<S: StampStatement> QueryId for Stamp<'_, S> {
    type QueryId = S;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<C: Connection, S> RunQueryDsl<C> for Stamp<'_, S> {}

/// PostgreSQL: the writes of a sign-in in one statement, each a data-modifying `WITH` part
/// (one statement is one transaction), instead of a transaction of one round trip per row
/// with its `BEGIN` and `COMMIT`: a password login's writes went from seven round trips to
/// two (README "Load"). What comes before is the events' sealing, which reads each user's
/// origin key (and writes it at the user's first event, a commit of its own that any later
/// event reuses). A renewed password hash is written in a transaction instead (`write`):
/// its update is conditional, and it is rare.
fn write_sign_in_at_once(conn: &mut DbConnection, writes: &SignInWrites) -> Result<(), StoreError> {
    let events = writes
        .events
        .iter()
        .map(|event| sealed_event_row(conn, event, writes.origin_key.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    let session = writes
        .session
        .as_ref()
        .map(|(session, refresh_hash)| session_rows(session, refresh_hash));
    let mut parts: Vec<Box<dyn QueryFragment<Pg> + '_>> = Vec::new();
    if let Some(key) = &writes.reset_budget {
        parts.push(Box::new(diesel::delete(
            auth_throttle::table.find(key.as_str()),
        )));
    }
    for row in &events {
        parts.push(Box::new(
            diesel::insert_into(auth_events::table).values(row),
        ));
    }
    if let Some((row, token)) = &session {
        parts.push(Box::new(diesel::insert_into(sessions::table).values(row)));
        parts.push(Box::new(
            diesel::insert_into(refresh_tokens::table).values(token),
        ));
    }
    let DbConnection::Pg(pg) = conn else {
        return Err(StoreError::Other("a PostgreSQL statement on SQLite".into()));
    };
    AllAtOnce { parts }.execute(pg)?;
    Ok(())
}

/// `WITH w0 AS (statement), w1 AS (statement), … SELECT 1`: PostgreSQL runs every part,
/// referenced or not, in one statement. Its text depends only on which parts there are,
/// so diesel keeps it prepared by that text. A refresh token names its session: the
/// foreign key is checked at the end of the statement, when the session is written.
struct AllAtOnce<'a> {
    parts: Vec<Box<dyn QueryFragment<Pg> + 'a>>,
}

impl QueryFragment<Pg> for AllAtOnce<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        for (n, part) in self.parts.iter().enumerate() {
            out.push_sql(if n == 0 { "WITH " } else { ", " });
            out.push_sql(&format!("w{n} AS ("));
            part.walk_ast(out.reborrow())?;
            out.push_sql(")");
        }
        out.push_sql(" SELECT 1");
        Ok(())
    }
}

impl QueryId for AllAtOnce<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl RunQueryDsl<diesel::PgConnection> for AllAtOnce<'_> {}

/// The rotation of `Store::rotate_refresh_token`, in the caller's transaction.
fn rotate(
    conn: &mut DbConnection,
    old_hash: &str,
    new_hash: &str,
    now: DateTime<Utc>,
    now_naive: NaiveDateTime,
    idle: impl Fn(domain::provider::SubjectKind) -> Duration,
    grace: Duration,
) -> Result<RefreshOutcome, StoreError> {
    natively!(conn, |conn| {
        // Spend the token first, with a conditional UPDATE: of concurrent refreshes with the
        // same token exactly one wins. Spending a token of a dead session changes nothing:
        // that session answers Invalid either way.
        let spent = Stamp::<SpendRefreshToken>::new(old_hash, now_naive).execute(conn)?;
        // The token and its session in one query.
        let found: Option<(RefreshTokenRow, SessionRow)> = refresh_tokens::table
            .inner_join(sessions::table)
            .filter(refresh_tokens::token_hash.eq(old_hash))
            .select((RefreshTokenRow::as_select(), SessionRow::as_select()))
            .first(conn)
            .optional()?;
        let Some((token, row)) = found else {
            return Ok(RefreshOutcome::Invalid);
        };
        let revoked = row.revoked_at.is_some();
        let session = SessionRecord::try_from(row)?;
        if revoked
            || session.expires_at <= now
            || session.last_seen_at + idle(session.subject.kind) <= now
        {
            return Ok(RefreshOutcome::Invalid);
        }
        if spent != 1 {
            let used_at = token.used_at.map(utc);
            if judge_reuse(used_at, now, grace) == Reuse::WithinGrace {
                return Ok(RefreshOutcome::JustRotated(session));
            }
            diesel::update(sessions::table.find(&token.session_id))
                .set(sessions::revoked_at.eq(now_naive))
                .execute(conn)?;
            return Ok(RefreshOutcome::Reused(session));
        }
        diesel::insert_into(refresh_tokens::table)
            .values(new_refresh_token(new_hash, &token.session_id, now_naive))
            .execute(conn)?;
        Stamp::<TouchSession>::new(&token.session_id, now_naive).execute(conn)?;
        Ok(RefreshOutcome::Rotated(SessionRecord {
            last_seen_at: now,
            ..session
        }))
    })
}

/// What a first factor that succeeded leaves behind, written in one transaction with the
/// session it starts (if one starts): a sign-in then costs one write instead of one per item.
#[derive(Debug, Default)]
pub struct SignInWrites {
    /// The failure budget a correct secret empties (`domain::throttle`).
    pub reset_budget: Option<String>,
    /// A password hash renewed to the parameters in force.
    pub password_hash: Option<(Subject, String)>,
    pub events: Vec<AuthEventRecord>,
    /// The session and the hash of its first refresh token.
    pub session: Option<(NewSession, String)>,
    /// The user's origin key, read with the account: the events are sealed with it.
    pub origin_key: Option<KnownOriginKey>,
}

impl SignInWrites {
    pub fn is_empty(&self) -> bool {
        self.reset_budget.is_none()
            && self.password_hash.is_none()
            && self.events.is_empty()
            && self.session.is_none()
    }
}

impl Store {
    pub fn create_session(
        &self,
        session: &NewSession,
        refresh_hash: &str,
    ) -> Result<(), StoreError> {
        self.write(|conn| insert_session(conn, session, refresh_hash))
    }

    /// Writes `writes` in one transaction (nothing when there is nothing to write).
    pub fn write_sign_in(&self, writes: &SignInWrites) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        if writes.password_hash.is_none() && self.is_postgres() {
            return write_sign_in_at_once(&mut *self.conn()?, writes);
        }
        self.write(|conn| {
            if let Some(key) = &writes.reset_budget {
                reset_attempts(conn, key)?;
            }
            if let Some((subject, hash)) = &writes.password_hash {
                set_password_hash(conn, *subject, hash)?;
            }
            for event in &writes.events {
                insert_auth_event(conn, event, writes.origin_key.as_ref())?;
            }
            if let Some((session, refresh_hash)) = &writes.session {
                insert_session(conn, session, refresh_hash)?;
            }
            Ok(())
        })
    }

    /// The session if it is neither revoked nor expired.
    pub fn active_session(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRecord>, StoreError> {
        sessions::table
            .find(id.to_string())
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(naive(now)))
            .select(SessionRow::as_select())
            .first(&mut *self.conn()?)
            .optional()?
            .map(SessionRecord::try_from)
            .transpose()
    }

    /// Spends `old_hash` and stores `new_hash` in its place. `idle` says how long a session
    /// of each kind of subject may go without a refresh before it dies; a used token that
    /// comes back within `grace` of its rotation is refused without revoking
    /// (`domain::refresh::judge_reuse`). In the same transaction, `conclude` gets the
    /// outcome and, for a rotation, the person the session names (`None`: gone) and answers
    /// the caller's verdict and the auth event, which is written before the commit: a
    /// rotation is never without its line in the auth log, and costs one transaction.
    pub fn rotate_refresh_token<T>(
        &self,
        old_hash: &str,
        new_hash: &str,
        now: DateTime<Utc>,
        idle: impl Fn(domain::provider::SubjectKind) -> Duration,
        grace: Duration,
        conclude: impl FnOnce(&RefreshOutcome, Option<Person>) -> (T, AuthEventRecord),
    ) -> Result<(RefreshOutcome, T), StoreError> {
        let now_naive = naive(now);
        self.write(|conn| {
            let outcome = rotate(conn, old_hash, new_hash, now, now_naive, idle, grace)?;
            let (person, origin_key) = match &outcome {
                RefreshOutcome::Rotated(session) => person_and_origin_key(conn, session.subject)?,
                _ => (None, None),
            };
            let (verdict, event) = conclude(&outcome, person);
            insert_auth_event(conn, &event, origin_key.as_ref())?;
            Ok((outcome, verdict))
        })
    }

    /// Records a second factor proven in session `id` (enrolling one proves it too).
    pub fn set_session_amr(&self, id: Uuid, amr: &[String]) -> Result<(), StoreError> {
        diesel::update(sessions::table.find(id.to_string()))
            .set(sessions::amr.eq(domain::mfa::amr_to_text(amr)))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

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
        .execute(&mut *self.conn()?)?)
    }

    /// Revokes one session of `subject`; false when it has no such live session.
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
        .execute(&mut *self.conn()?)?;
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
            .select(SessionRow::as_select())
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(SessionRecord::try_from)
            .collect()
    }
}
