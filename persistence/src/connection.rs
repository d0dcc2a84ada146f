//! One diesel codebase on SQLite and PostgreSQL. The backend is chosen from the URL scheme
//! here, not by trying each one: SQLite accepts any string as a file name, so a mistyped
//! PostgreSQL URL would otherwise silently become a file.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, ConnectionError};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

mod multi {
    use diesel::pg::PgConnection;
    use diesel::sqlite::SqliteConnection;

    #[derive(diesel::MultiConnection)]
    pub enum DbConnection {
        Sqlite(SqliteConnection),
        Pg(PgConnection),
    }
}
pub use multi::DbConnection;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database location taken apart: which backend and what to hand it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    pub backend: Backend,
    /// For SQLite the file path; for PostgreSQL the whole URL.
    pub target: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UrlError {
    #[error("DATABASE_URL must start with sqlite:// or postgres:// (got scheme {0:?})")]
    UnknownScheme(String),
    #[error("DATABASE_URL has no file path after sqlite://")]
    EmptyPath,
    #[error("in-memory SQLite cannot be shared by a connection pool; use a file")]
    InMemory,
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let (scheme, rest) = url
            .split_once("://")
            .or_else(|| url.split_once(':'))
            .ok_or_else(|| UrlError::UnknownScheme(String::new()))?;
        match scheme {
            "sqlite" => {
                if rest.is_empty() {
                    Err(UrlError::EmptyPath)
                } else if rest.starts_with(":memory:") || rest.contains("mode=memory") {
                    Err(UrlError::InMemory)
                } else {
                    Ok(Self {
                        backend: Backend::Sqlite,
                        target: rest.to_owned(),
                    })
                }
            }
            "postgres" | "postgresql" => Ok(Self {
                backend: Backend::Postgres,
                target: loopback_without_tls(url),
            }),
            other => Err(UrlError::UnknownScheme(other.to_owned())),
        }
    }
}

/// `url`, with `sslmode=disable` when its host is the loopback and it names no `sslmode`.
///
/// libpq's default (`prefer`) runs TLS whenever the server offers it, loopback included,
/// where it protects nothing (the traffic never leaves the host, and whoever can read it can
/// read the processes too) and costs every connection its TLS state (4 MiB of the service's
/// peak under a login flood, README "Memory") and every query its encryption. Any other URL,
/// one with `host`/`hostaddr` parameters, or one that sets `sslmode`, is left as it is.
fn loopback_without_tls(url: &str) -> String {
    if ["sslmode", "host", "hostaddr"]
        .iter()
        .any(|key| names_parameter(url, key))
    {
        return url.to_owned();
    }
    let address = url.split_once('?').map_or(url, |(a, _)| a);
    let authority = address
        .split_once("://")
        .map_or("", |(_, rest)| rest.split('/').next().unwrap_or(""));
    let hosts = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let loopback = |hp: &str| {
        let h = match hp.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => hp.split(':').next().unwrap_or(""),
        };
        h.eq_ignore_ascii_case("localhost")
            || h.parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    };
    if hosts.is_empty() || !hosts.split(',').all(loopback) {
        return url.to_owned();
    }
    with_parameter(url, "sslmode", "disable")
}

/// Whether PostgreSQL URL `url` names query parameter `key`.
fn names_parameter(url: &str, key: &str) -> bool {
    url.split_once('?')
        .is_some_and(|(_, q)| q.split('&').any(|p| p.split('=').next() == Some(key)))
}

/// `url` with query parameter `key=value`, unless it names `key` already (the operator's
/// choice stands).
pub(crate) fn with_parameter(url: &str, key: &str, value: &str) -> String {
    if names_parameter(url, key) {
        return url.to_owned();
    }
    let joint = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joint}{key}={value}")
}

/// r2d2 manager that opens the right backend and sets SQLite up for a pool.
#[derive(Debug, Clone)]
pub struct Manager {
    url: DatabaseUrl,
}

impl Manager {
    pub fn new(url: DatabaseUrl) -> Self {
        Self { url }
    }
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match self.url.backend {
            Backend::Sqlite => {
                // Writers queue for the lock instead of failing at once (`busy`), from
                // the connection's first statement: switching to WAL takes a lock too.
                crate::busy::install();
                let mut conn = SqliteConnection::establish(&self.url.target)
                    .map_err(r2d2::Error::ConnectionError)?;
                // Foreign keys are off by default in SQLite; WAL lets readers run beside
                // the writer. Memory: each connection keeps its own page cache, so it is
                // kept small (the OS caches the file for all of them), and the file is
                // read, not mapped.
                conn.batch_execute(
                    "PRAGMA foreign_keys = ON; \
                     PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA cache_size = -1024; PRAGMA mmap_size = 0;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
            Backend::Postgres => PgConnection::establish(&self.url.target)
                .map(DbConnection::Pg)
                .map_err(r2d2::Error::ConnectionError),
        }
    }

    /// Not run at checkout (see `build_pool`); r2d2 requires it.
    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    /// Asked when a connection goes back to the pool: one whose transaction manager is in
    /// error (on PostgreSQL that includes a connection the server closed) or still holds an
    /// open transaction is dropped instead of being handed out again. This is what diesel's
    /// own `ConnectionManager` does; `DbConnection` gets `is_broken` from the derive.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

pub type Pool = r2d2::Pool<Manager>;

pub fn build_pool(url: &DatabaseUrl, max_size: u32) -> Result<Pool, r2d2::PoolError> {
    r2d2::Pool::builder()
        .max_size(max_size)
        // Start even when the database is down, so that /readyz can say so.
        .min_idle(Some(0))
        // No validity query before every checkout: it was a round trip per request. A
        // connection that failed (on PostgreSQL one the server closed) is dropped when it
        // comes back (`has_broken`), so the next request gets a fresh one; the request that
        // met the dead connection answers 503 as any outage does.
        .test_on_check_out(false)
        .connection_timeout(Duration::from_secs(5))
        .build(Manager::new(url.clone()))
}

/// Applies every pending migration of the backend in use; returns how many ran.
pub fn run_migrations(conn: &mut DbConnection) -> Result<usize, MigrationError> {
    let applied = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
        DbConnection::Pg(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
    };
    applied
        .map(|versions| versions.len())
        .map_err(|e| MigrationError(e.to_string()))
}

#[derive(Debug, thiserror::Error)]
#[error("migration failed: {0}")]
pub struct MigrationError(String);

/// Opens one connection outside a pool (for `migrate` and test set-up).
pub fn connect(url: &DatabaseUrl) -> Result<DbConnection, ConnectionError> {
    Manager::new(url.clone()).connect().map_err(|e| match e {
        r2d2::Error::ConnectionError(c) => c,
        r2d2::Error::QueryError(q) => ConnectionError::CouldntSetupConfiguration(q),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::connection::TransactionManager;

    #[test]
    fn a_connection_left_in_a_transaction_is_broken() {
        let path = std::env::temp_dir().join(format!("bi-conn-{}.db", uuid::Uuid::new_v4()));
        let manager = Manager::new(DatabaseUrl {
            backend: Backend::Sqlite,
            target: path.display().to_string(),
        });
        let mut conn = manager.connect().unwrap();
        assert!(!manager.has_broken(&mut conn));
        type Tm = <DbConnection as Connection>::TransactionManager;
        Tm::begin_transaction(&mut conn).unwrap();
        assert!(manager.has_broken(&mut conn), "open transaction");
        Tm::rollback_transaction(&mut conn).unwrap();
        assert!(!manager.has_broken(&mut conn));
        drop(conn);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    /// TLS is dropped only where it protects nothing: loopback hosts, no `sslmode` named.
    #[test]
    fn loopback_urls_go_without_tls_unless_they_say_otherwise() {
        for (url, target) in [
            (
                "postgres://u@127.0.0.1:5432/db",
                "postgres://u@127.0.0.1:5432/db?sslmode=disable",
            ),
            (
                "postgresql://u:p@localhost/db?connect_timeout=5",
                "postgresql://u:p@localhost/db?connect_timeout=5&sslmode=disable",
            ),
            (
                "postgres://[::1]:5433/db",
                "postgres://[::1]:5433/db?sslmode=disable",
            ),
            (
                "postgres://127.0.0.2,localhost:5433/db",
                "postgres://127.0.0.2,localhost:5433/db?sslmode=disable",
            ),
            // An explicit choice, another host, a socket or parameters that name the host.
            (
                "postgres://u@127.0.0.1/db?sslmode=require",
                "postgres://u@127.0.0.1/db?sslmode=require",
            ),
            (
                "postgres://u@postgres:5432/db",
                "postgres://u@postgres:5432/db",
            ),
            ("postgres://u@10.0.0.5/db", "postgres://u@10.0.0.5/db"),
            (
                "postgres://127.0.0.1,db.example.com/db",
                "postgres://127.0.0.1,db.example.com/db",
            ),
            ("postgres://[2001:db8::1]/db", "postgres://[2001:db8::1]/db"),
            ("postgres:///db", "postgres:///db"),
            (
                "postgres://localhost/db?host=/run/postgresql",
                "postgres://localhost/db?host=/run/postgresql",
            ),
            (
                "postgres://localhost/db?hostaddr=10.0.0.5",
                "postgres://localhost/db?hostaddr=10.0.0.5",
            ),
        ] {
            assert_eq!(DatabaseUrl::parse(url).unwrap().target, target, "{url}");
        }
    }

    #[test]
    fn urls() {
        let sqlite = DatabaseUrl::parse("sqlite://data/identity.db").unwrap();
        assert_eq!(sqlite.backend, Backend::Sqlite);
        assert_eq!(sqlite.target, "data/identity.db");
        assert_eq!(
            DatabaseUrl::parse("sqlite:///abs/x.db").unwrap().target,
            "/abs/x.db"
        );
        let pg = DatabaseUrl::parse("postgres://u@db.internal/db").unwrap();
        assert_eq!(pg.backend, Backend::Postgres);
        assert_eq!(pg.target, "postgres://u@db.internal/db");
        assert_eq!(
            DatabaseUrl::parse("postgresql://x/y").unwrap().backend,
            Backend::Postgres
        );
        assert_eq!(
            DatabaseUrl::parse("postgress://x/y"),
            Err(UrlError::UnknownScheme("postgress".into()))
        );
        assert_eq!(
            DatabaseUrl::parse("mysql://x"),
            Err(UrlError::UnknownScheme("mysql".into()))
        );
        assert!(DatabaseUrl::parse("identity.db").is_err());
        assert_eq!(DatabaseUrl::parse("sqlite://"), Err(UrlError::EmptyPath));
        assert_eq!(
            DatabaseUrl::parse("sqlite://:memory:"),
            Err(UrlError::InMemory)
        );
    }
}
