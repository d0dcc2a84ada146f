//! Databases for tests, shared by the unit tests (`crate::test_support`) and the integration
//! tests (`#[path]`-included), so it names nothing of this crate: only diesel and std.
#![allow(dead_code)]

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

/// A database of its own for one test, removed when the test ends.
pub struct TestDb {
    /// `sqlite://…` or `postgres://…`, as `DatabaseUrl::parse` takes it.
    pub url: String,
    admin_url: Option<String>,
    name: String,
}

impl TestDb {
    /// A fresh SQLite file in the temporary directory.
    pub fn sqlite() -> Self {
        let path = std::env::temp_dir().join(format!("bi-store-{}.db", uuid::Uuid::new_v4()));
        Self {
            url: format!("sqlite://{}", path.display()),
            admin_url: None,
            name: path.display().to_string(),
        }
    }

    /// A fresh PostgreSQL database when `TEST_DATABASE_URL` names a server.
    pub fn postgres() -> Option<Self> {
        let admin_url = std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())?;
        let name = format!("bi_test_{}", uuid::Uuid::new_v4().simple());
        let (admin_url, url) = test_database_urls(&admin_url, &name);
        let mut conn = PgConnection::establish(&admin_url)
            .expect("TEST_DATABASE_URL must reach a PostgreSQL server");
        conn.batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create test database");
        Some(Self {
            url,
            admin_url: Some(admin_url),
            name,
        })
    }

    /// SQLite always, PostgreSQL too when `TEST_DATABASE_URL` is set: the same test body
    /// runs on each.
    pub fn all() -> Vec<Self> {
        std::iter::once(Self::sqlite())
            .chain(Self::postgres())
            .collect()
    }

    pub fn is_postgres(&self) -> bool {
        self.admin_url.is_some()
    }

    /// "sqlite" or "postgres", for assertion messages.
    pub fn backend(&self) -> &'static str {
        if self.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// Takes the database away (PostgreSQL only; an open SQLite file cannot be).
    pub fn drop_now(&self) {
        if let Some(admin_url) = &self.admin_url {
            let mut conn = PgConnection::establish(admin_url).expect("admin connection");
            conn.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .expect("drop test database");
        }
    }

    /// Ends every server process of this database (PostgreSQL only), as a restart would.
    pub fn kill_connections(&self) {
        if let Some(admin_url) = &self.admin_url {
            let mut conn = PgConnection::establish(admin_url).expect("admin connection");
            conn.batch_execute(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{}' AND pid <> pg_backend_pid()",
                self.name
            ))
            .expect("terminate backends");
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.admin_url {
            // No panic in drop: a test that failed already says why.
            Some(admin_url) => {
                if let Ok(mut conn) = PgConnection::establish(admin_url) {
                    let _ = conn.batch_execute(&format!(
                        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                        self.name
                    ));
                }
            }
            None => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", self.name));
                }
            }
        }
    }
}

/// `TEST_DATABASE_URL` with `sslmode=disable` unless it says otherwise, and the URL of the
/// database `name` on the same server. Tests talk to loopback, which needs no TLS; and with
/// TLS, libpq's OpenSSL clean-up at process exit races the pool's threads that still hold
/// connections (a test process that passed then died of SIGSEGV).
pub fn test_database_urls(admin_url: &str, name: &str) -> (String, String) {
    let (url, query) = admin_url.split_once('?').unwrap_or((admin_url, ""));
    let mut query = query.to_owned();
    if !query.contains("sslmode=") {
        query = if query.is_empty() {
            "sslmode=disable".to_owned()
        } else {
            format!("{query}&sslmode=disable")
        };
    }
    let base = url
        .rsplit_once('/')
        .map(|(base, _)| base)
        .expect("TEST_DATABASE_URL ends with /database");
    (format!("{url}?{query}"), format!("{base}/{name}?{query}"))
}
