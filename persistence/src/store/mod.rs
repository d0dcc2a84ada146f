use diesel::r2d2::PooledConnection;
use uuid::Uuid;

use crate::DbConnection;
use crate::StoreError;
use crate::connection::{self, DatabaseUrl, Manager, Pool};

/// Runs `$body` with `$c` bound to the backend's own connection (`&mut SqliteConnection` or
/// `&mut PgConnection`) instead of `DbConnection`. Through diesel's MultiConnection each
/// execution renders the query's SQL text again and walks the query twice more (its
/// `SerializedQuery`): on a refresh that cost more instructions than SQLite's own work, all
/// of it under SQLite's write lock. On the backend's connection a prepared statement is
/// found by the query's type. The body is compiled once per backend, so only the paths every
/// sign-in, refresh or API-token request takes use it.
macro_rules! natively {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            crate::DbConnection::Sqlite($c) => $body,
            crate::DbConnection::Pg($c) => $body,
        }
    };
}

/// `EXISTS` a confirmed TOTP factor of the subject, and the count of their unused recovery
/// codes: subselects, so they ride along in another query. `$id` is a bound value, or a
/// column of the outer query (a correlated subselect: `users::id`, also left-joined).
/// The caller imports `exists` and the two tables.
macro_rules! factor_columns {
    ($kind:expr, $id:expr) => {
        (
            exists(
                totp_factors::table
                    .filter(totp_factors::subject_kind.eq($kind))
                    .filter(totp_factors::subject_id.nullable().eq($id))
                    .filter(totp_factors::confirmed_at.is_not_null()),
            ),
            recovery_codes::table
                .filter(recovery_codes::subject_kind.eq($kind))
                .filter(recovery_codes::subject_id.nullable().eq($id))
                .filter(recovery_codes::used_at.is_null())
                .count()
                .single_value(),
        )
    };
}

mod api_tokens;
mod audit_events;
mod auth_events;
mod billing;
mod clearing;
mod clients;
mod consents;
mod credentials;
mod employees;
mod export;
mod inactivity;
mod jobs;
pub use jobs::{JOB_DONE, JOB_ERROR};
mod keys;
mod live_cache;
pub use live_cache::{LIVE_CACHE_CAPACITY, LIVE_SESSIONS_CHANNEL, NOT_WATCHED};
mod oidc;
mod phone_codes;
mod principals;
mod processors;
mod providers;
mod revocation;
mod second_factors;
mod sessions;
mod sms_gateways;
mod throttle;
mod users;

pub use crate::records::{
    ApiTokenRecord, AuditEventRecord, AuthEventRecord, ClientExport, ExportedApiToken,
    ExportedLink, ExportedSecondFactors, ExportedSession, ExportedTemporaryKey, JobRunRecord,
    NewApiToken, NewSession, SessionRecord, UserExport,
};
pub use auth_events::{AuthEventFilter, KnownOriginKey};
pub use clearing::{CLEARED_COLUMNS, NOT_A_CLIENTS_DATA};
pub use consents::ConsentTicket;
pub use employees::EmployeeCredentials;
pub use keys::*;
pub use oidc::{EmployeeLink, OidcTransactionRecord, UserLink};
pub use phone_codes::{NewPhoneCode, PhoneCodeRecord};
pub use principals::{EnrolledFactors, FactorFacts, LiveSession, Person};
pub use second_factors::{ChallengeRecord, TotpFactor, VerifyChallenge};
pub use sessions::{RefreshOutcome, SignInWrites};
pub use users::UserCredentials;

/// A page of a collection, ordered by id (UUID v7, so by creation).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The id to pass as `after` for the next page; `None` on the last one.
    pub next_cursor: Option<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub after: Option<Uuid>,
    pub limit: u32,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched items: the extra one only says there is more.
    pub(crate) fn from_overfetch(mut items: Vec<T>, limit: u32, id: impl Fn(&T) -> Uuid) -> Self {
        let limit = limit as usize;
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(id)
        } else {
            None
        };
        Page { items, next_cursor }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// What an update guarded by `id = ? AND version = ?` that changed no row means: the id is
/// unknown, or another update came first.
pub(crate) fn missing_or_stale(exists: bool) -> StoreError {
    if exists {
        StoreError::Stale
    } else {
        StoreError::NotFound
    }
}

/// The database behind the service. Cheap to clone: it is a handle on a pool.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    /// The SQLite file, which `ping` checks is still there.
    sqlite_file: Option<std::path::PathBuf>,
    /// Live sessions until the next change (`live_cache`).
    live: Option<std::sync::Arc<live_cache::LiveCache>>,
}

/// A pooled connection. Giving it back empties the live-session cache: what was done with
/// it is committed by then, and may have changed what the cache holds (`live_cache`: a
/// revocation through this instance counts on its next request).
pub(crate) struct Conn {
    pooled: PooledConnection<Manager>,
    forget: Option<std::sync::Arc<live_cache::LiveCache>>,
}

impl std::ops::Deref for Conn {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.pooled
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.pooled
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(cache) = &self.forget {
            cache.forget_all();
        }
    }
}

impl Store {
    pub fn open(url: &DatabaseUrl, max_connections: u32) -> Result<Self, StoreError> {
        let pool = connection::build_pool(url, max_connections)?;
        let sqlite = url.backend == connection::Backend::Sqlite;
        let sqlite_file = sqlite.then(|| std::path::PathBuf::from(&url.target));
        let live = Some(if sqlite {
            std::sync::Arc::new(live_cache::LiveCache::sqlite(
                url.target.clone(),
                LIVE_CACHE_CAPACITY,
                live_cache::SQLITE_RECHECK,
            ))
        } else {
            live_cache::LiveCache::postgres(&url.target, LIVE_CACHE_CAPACITY)
        });
        Ok(Self {
            pool,
            sqlite_file,
            live,
        })
    }

    /// The pool's connections now: (in use, idle).
    pub fn pool_usage(&self) -> (u32, u32) {
        let state = self.pool.state();
        (
            state.connections.saturating_sub(state.idle_connections),
            state.idle_connections,
        )
    }

    /// Whether the database is PostgreSQL (else SQLite), known without a connection.
    pub(crate) fn is_postgres(&self) -> bool {
        self.sqlite_file.is_none()
    }

    pub(crate) fn conn(&self) -> Result<Conn, StoreError> {
        let forget = self.live.clone();
        Ok(Conn {
            pooled: self.pool.get()?,
            forget,
        })
    }

    /// A connection for a read that changes nothing the live-session cache holds (the
    /// cache's own reads, readiness): giving it back keeps the cache.
    pub(crate) fn read_conn(&self) -> Result<PooledConnection<Manager>, StoreError> {
        Ok(self.pool.get()?)
    }

    /// Runs `work` in a write transaction. On SQLite it begins with the write lock (`BEGIN
    /// IMMEDIATE`, waiting under the busy handler): a deferred transaction that reads, then
    /// writes after another connection committed, fails at once with "database is locked",
    /// which no timeout can help (its snapshot is stale). PostgreSQL needs nothing of the
    /// kind.
    pub(crate) fn write<T>(
        &self,
        work: impl FnOnce(&mut DbConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        use diesel::Connection;
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        use diesel::result::Error;
        let mut pooled = self.conn()?;
        let conn: &mut DbConnection = &mut pooled;
        let DbConnection::Sqlite(sqlite) = conn else {
            return conn.transaction(work);
        };
        // `BEGIN IMMEDIATE`, which diesel's MultiConnection cannot ask for: the begin,
        // commit and rollback of diesel's `transaction`, with that statement.
        AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
        // DbConnection's own commit and rollback are the SQLite connection's.
        match work(conn) {
            Ok(value) => {
                DbConnection::commit_transaction(conn)?;
                Ok(value)
            }
            Err(error) => match DbConnection::rollback_transaction(conn) {
                Ok(()) | Err(Error::BrokenTransactionManager) => Err(error),
                Err(rollback) => Err(rollback.into()),
            },
        }
    }

    /// Applies pending migrations; returns how many ran.
    pub fn migrate(&self) -> Result<usize, StoreError> {
        let mut conn = self.conn()?;
        connection::run_migrations(&mut conn).map_err(|e| StoreError::Other(e.to_string()))
    }

    /// Answers when the database does and holds our schema (for `/readyz`). A plain
    /// `SELECT 1` would not even read an SQLite file. An SQLite file removed
    /// under the running service still answers through the open connections, but what is
    /// written from then on is lost at the next start: that is not ready either.
    pub fn ping(&self) -> Result<(), StoreError> {
        if let Some(file) = &self.sqlite_file
            && !file.is_file()
        {
            return Err(StoreError::Unavailable(
                "the SQLite file is no longer at its path".into(),
            ));
        }
        use diesel::connection::SimpleConnection;
        self.read_conn()?
            .batch_execute("SELECT version FROM __diesel_schema_migrations LIMIT 1")?;
        Ok(())
    }
}
