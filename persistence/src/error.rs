use std::fmt;

use diesel::result::{
    ConnectionError, DatabaseErrorInformation, DatabaseErrorKind, Error as DieselError,
};

/// Database failures, classified so that nothing above this crate matches on diesel.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness or reference rule refused the change.
    #[error("conflict: {0}")]
    Conflict(Conflict),
    /// A conditional update found that the object changed since the caller read it.
    #[error("changed since it was read")]
    Stale,
    /// The database cannot be reached or cannot take the request now (down, closed the
    /// connection, locked past the busy timeout, read-only, out of disk).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Stored data that does not parse into the domain type.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Other(String),
}

/// What a refused change collided with, named as a field of the object written, never as
/// a database constraint (those names are internal and must not reach a response body).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conflict {
    /// A JSON pointer such as `/email` when another object holds the same value there;
    /// `None` when the change refers to an object that does not exist (or removes one that
    /// is still referred to).
    pub field: Option<&'static str>,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field {
            Some(field) => write!(f, "another object already has this value at {field}"),
            None => f.write_str("the change refers to an object that does not exist or is in use"),
        }
    }
}

/// One UNIQUE constraint or primary key of the migrations.
struct UniqueRule {
    /// PostgreSQL's name for it (the default names: `<table>_<columns>_key`, `<table>_pkey`).
    constraint: &'static str,
    /// SQLite names the table and columns instead: "UNIQUE constraint failed: t.a, t.b".
    table: &'static str,
    columns: &'static [&'static str],
    field: &'static str,
}

const fn rule(
    constraint: &'static str,
    table: &'static str,
    columns: &'static [&'static str],
    field: &'static str,
) -> UniqueRule {
    UniqueRule {
        constraint,
        table,
        columns,
        field,
    }
}

/// Every unique rule in migrations/{sqlite,postgres}; a test checks the list against the
/// migrated schema.
const UNIQUE_RULES: &[UniqueRule] = &[
    rule("providers_pkey", "providers", &["id"], "/id"),
    rule("providers_slug_key", "providers", &["slug"], "/slug"),
    rule("clients_pkey", "clients", &["id"], "/id"),
    rule("users_pkey", "users", &["id"], "/id"),
    rule(
        "users_provider_id_email_key",
        "users",
        &["provider_id", "email"],
        "/email",
    ),
    rule("employees_pkey", "employees", &["id"], "/id"),
    rule("employees_login_key", "employees", &["login"], "/login"),
    rule(
        "employee_roles_pkey",
        "employee_roles",
        &["employee_id", "role"],
        "/roles",
    ),
    rule(
        "employee_providers_pkey",
        "employee_providers",
        &["employee_id", "provider_id"],
        "/providers",
    ),
    rule("signing_keys_pkey", "signing_keys", &["kid"], "/kid"),
    rule("temporary_keys_pkey", "temporary_keys", &["id"], "/id"),
    rule(
        "temporary_keys_key_hash_key",
        "temporary_keys",
        &["key_hash"],
        "/key_hash",
    ),
    rule("sessions_pkey", "sessions", &["id"], "/id"),
    rule(
        "refresh_tokens_pkey",
        "refresh_tokens",
        &["token_hash"],
        "/token_hash",
    ),
    rule("api_tokens_pkey", "api_tokens", &["id"], "/id"),
    rule(
        "api_tokens_token_hash_key",
        "api_tokens",
        &["token_hash"],
        "/token_hash",
    ),
    rule(
        "auth_throttle_pkey",
        "auth_throttle",
        &["throttle_key"],
        "/throttle_key",
    ),
    rule("auth_events_pkey", "auth_events", &["id"], "/id"),
    rule("job_leases_pkey", "job_leases", &["name"], "/name"),
    rule("audit_events_pkey", "audit_events", &["id"], "/id"),
    rule("job_runs_pkey", "job_runs", &["name"], "/name"),
    rule("sms_gateways_pkey", "sms_gateways", &["id"], "/id"),
    rule("modules_pkey", "modules", &["name"], "/name"),
    rule(
        "client_clearings_pkey",
        "client_clearings",
        &["client_id"],
        "/client_id",
    ),
    rule("processors_pkey", "processors", &["id"], "/id"),
    rule(
        "users_verified_phone_key",
        "users",
        &["provider_id", "phone"],
        "/phone",
    ),
    rule("phone_codes_pkey", "phone_codes", &["id"], "/id"),
    rule(
        "staff_identity_providers_pkey",
        "staff_identity_providers",
        &["id"],
        "/id",
    ),
    rule(
        "staff_identity_providers_issuer_client_id_key",
        "staff_identity_providers",
        &["issuer", "client_id"],
        "/client_id",
    ),
    rule(
        "oidc_transactions_pkey",
        "oidc_transactions",
        &["id"],
        "/id",
    ),
    rule(
        "oidc_transactions_state_hash_key",
        "oidc_transactions",
        &["state_hash"],
        "/state",
    ),
    rule(
        "user_identity_links_pkey",
        "user_identity_links",
        &["id"],
        "/id",
    ),
    rule(
        "user_identity_links_provider_id_issuer_subject_key",
        "user_identity_links",
        &["provider_id", "issuer", "subject"],
        "/subject",
    ),
    rule(
        "employee_identity_links_pkey",
        "employee_identity_links",
        &["id"],
        "/id",
    ),
    rule(
        "employee_identity_links_issuer_subject_key",
        "employee_identity_links",
        &["issuer", "subject"],
        "/subject",
    ),
    rule(
        "totp_factors_pkey",
        "totp_factors",
        &["subject_kind", "subject_id"],
        "/totp",
    ),
    rule(
        "recovery_codes_pkey",
        "recovery_codes",
        &["code_hash"],
        "/code_hash",
    ),
    rule("mfa_challenges_pkey", "mfa_challenges", &["id"], "/id"),
    rule(
        "consent_documents_pkey",
        "consent_documents",
        &["id"],
        "/id",
    ),
    rule(
        "consent_document_versions_pkey",
        "consent_document_versions",
        &["id"],
        "/id",
    ),
    rule(
        "consent_document_versions_document_id_number_key",
        "consent_document_versions",
        &["document_id", "number"],
        "/version",
    ),
    rule("consent_records_pkey", "consent_records", &["id"], "/id"),
    rule("consent_tickets_pkey", "consent_tickets", &["id"], "/id"),
    rule(
        "consent_tickets_ticket_hash_key",
        "consent_tickets",
        &["ticket_hash"],
        "/consent_token",
    ),
];

const SQLITE_UNIQUE_PREFIX: &str = "UNIQUE constraint failed: ";

/// The field a unique violation is about: by constraint name on PostgreSQL, by the
/// "table.column" list of the message on SQLite.
fn unique_field(constraint: Option<&str>, message: &str) -> Option<&'static str> {
    let found = match constraint {
        Some(name) => UNIQUE_RULES.iter().find(|r| r.constraint == name),
        None => message.strip_prefix(SQLITE_UNIQUE_PREFIX).and_then(|list| {
            let pairs: Vec<(&str, &str)> = list
                .split(',')
                .filter_map(|pair| pair.trim().split_once('.'))
                .collect();
            UNIQUE_RULES.iter().find(|r| {
                pairs.len() == r.columns.len()
                    && pairs
                        .iter()
                        .all(|(t, c)| *t == r.table && r.columns.contains(c))
            })
        }),
    };
    if found.is_none() {
        // The operator learns which rule it was; the caller only learns "a conflict".
        log::warn!("unique violation of an unlisted rule: {constraint:?} {message}");
    }
    found.map(|r| r.field)
}

/// Messages that say the database is out of reach rather than that the request was wrong.
/// SQLite: SQLITE_CANTOPEN, SQLITE_IOERR, SQLITE_READONLY, SQLITE_BUSY / SQLITE_LOCKED
/// after the busy timeout, SQLITE_FULL. PostgreSQL: a server that went away or is going.
const OUTAGE_MESSAGES: &[&str] = &[
    "unable to open database file",
    "disk i/o error",
    "attempt to write a readonly database",
    "database is locked",
    "database table is locked",
    "database or disk is full",
    "terminating connection",
    "server closed the connection",
    "no connection to the server",
    "could not receive data from server",
    "could not send data to server",
    "connection to server",
    "the database system is",
    "too many clients",
];

fn is_outage(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    OUTAGE_MESSAGES.iter().any(|m| message.contains(m))
}

fn classify(kind: DatabaseErrorKind, info: &dyn DatabaseErrorInformation) -> StoreError {
    let message = info.message();
    match kind {
        DatabaseErrorKind::UniqueViolation => StoreError::Conflict(Conflict {
            field: unique_field(info.constraint_name(), message),
        }),
        DatabaseErrorKind::ForeignKeyViolation => StoreError::Conflict(Conflict { field: None }),
        DatabaseErrorKind::ClosedConnection
        | DatabaseErrorKind::UnableToSendCommand
        | DatabaseErrorKind::ReadOnlyTransaction => StoreError::Unavailable(message.to_owned()),
        _ if is_outage(message) => StoreError::Unavailable(message.to_owned()),
        _ => StoreError::Other(message.to_owned()),
    }
}

impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> Self {
        match error {
            DieselError::NotFound => StoreError::NotFound,
            DieselError::DatabaseError(kind, info) => classify(kind, info.as_ref()),
            // The transaction manager gives up on a connection whose state it lost, which on
            // PostgreSQL means the server side went away; the pool then drops it.
            DieselError::BrokenTransactionManager => {
                StoreError::Unavailable(DieselError::BrokenTransactionManager.to_string())
            }
            DieselError::RollbackErrorOnCommit { commit_error, .. } => (*commit_error).into(),
            other => StoreError::Other(other.to_string()),
        }
    }
}

/// Opening a connection: a server that does not answer (or an SQLite file that cannot be
/// opened) is an outage; a malformed URL is not.
impl From<ConnectionError> for StoreError {
    fn from(error: ConnectionError) -> Self {
        match error {
            ConnectionError::BadConnection(message) => StoreError::Unavailable(message),
            ConnectionError::CouldntSetupConfiguration(e) => e.into(),
            other => StoreError::Other(other.to_string()),
        }
    }
}

impl From<diesel::r2d2::PoolError> for StoreError {
    /// r2d2 reports every failure to hand out a connection as a timeout.
    fn from(error: diesel::r2d2::PoolError) -> Self {
        StoreError::Unavailable(error.to_string())
    }
}

/// The value itself stays out of the message: it may be personal data.
pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database error as PostgreSQL reports it: a message and a constraint name.
    struct PgInfo {
        message: &'static str,
        constraint: Option<&'static str>,
    }

    impl DatabaseErrorInformation for PgInfo {
        fn message(&self) -> &str {
            self.message
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            self.constraint
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn pg(kind: DatabaseErrorKind, message: &'static str, constraint: &'static str) -> DieselError {
        let constraint = Some(constraint).filter(|c| !c.is_empty());
        DieselError::DatabaseError(
            kind,
            Box::new(PgInfo {
                message,
                constraint,
            }),
        )
    }

    /// SQLite has no constraint names: diesel hands over the message only.
    fn sqlite(kind: DatabaseErrorKind, message: &str) -> DieselError {
        DieselError::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[derive(Debug, PartialEq)]
    enum Class {
        Conflict(Option<&'static str>),
        Unavailable,
        NotFound,
        Other,
    }

    fn class(error: &StoreError) -> Class {
        match error {
            StoreError::Conflict(c) => Class::Conflict(c.field),
            StoreError::Unavailable(_) => Class::Unavailable,
            StoreError::NotFound => Class::NotFound,
            _ => Class::Other,
        }
    }

    #[test]
    fn conflicts_name_a_field() {
        use DatabaseErrorKind::{ForeignKeyViolation as Fk, UniqueViolation as Unique};
        let dup = "duplicate key value violates unique constraint";
        let cases: Vec<(DieselError, Class)> = vec![
            (
                sqlite(
                    Unique,
                    "UNIQUE constraint failed: users.provider_id, users.email",
                ),
                Class::Conflict(Some("/email")),
            ),
            (
                pg(Unique, dup, "users_provider_id_email_key"),
                Class::Conflict(Some("/email")),
            ),
            (
                sqlite(Unique, "UNIQUE constraint failed: providers.slug"),
                Class::Conflict(Some("/slug")),
            ),
            (
                pg(Unique, dup, "providers_slug_key"),
                Class::Conflict(Some("/slug")),
            ),
            (
                sqlite(Unique, "UNIQUE constraint failed: employees.login"),
                Class::Conflict(Some("/login")),
            ),
            (
                pg(Unique, dup, "employees_login_key"),
                Class::Conflict(Some("/login")),
            ),
            (
                sqlite(Unique, "UNIQUE constraint failed: providers.id"),
                Class::Conflict(Some("/id")),
            ),
            (pg(Unique, dup, "users_pkey"), Class::Conflict(Some("/id"))),
            (
                sqlite(
                    Unique,
                    "UNIQUE constraint failed: employee_roles.employee_id, employee_roles.role",
                ),
                Class::Conflict(Some("/roles")),
            ),
            (
                pg(Unique, dup, "employee_providers_pkey"),
                Class::Conflict(Some("/providers")),
            ),
            (
                sqlite(Unique, "UNIQUE constraint failed: api_tokens.token_hash"),
                Class::Conflict(Some("/token_hash")),
            ),
            // The same column in another table is another rule.
            (
                sqlite(Unique, "UNIQUE constraint failed: users.email"),
                Class::Conflict(None),
            ),
            (pg(Unique, dup, "some_future_index"), Class::Conflict(None)),
            (
                sqlite(Fk, "FOREIGN KEY constraint failed"),
                Class::Conflict(None),
            ),
            (
                pg(
                    Fk,
                    "insert or update on table \"clients\" violates foreign key constraint",
                    "clients_provider_id_fkey",
                ),
                Class::Conflict(None),
            ),
        ];
        for (error, expected) in cases {
            let shown = format!("{error}");
            let store = StoreError::from(error);
            assert_eq!(class(&store), expected, "{shown}");
            let text = store.to_string();
            for internal in ["constraint", "_key", "_pkey", "_fkey", "users.", "UNIQUE"] {
                assert!(!text.contains(internal), "{text:?} shows {internal:?}");
            }
        }
    }

    #[test]
    fn outages_are_unavailable() {
        use DatabaseErrorKind::{ClosedConnection, ReadOnlyTransaction, Unknown};
        let cases: Vec<(DieselError, Class)> = vec![
            (
                sqlite(Unknown, "unable to open database file"),
                Class::Unavailable,
            ),
            (sqlite(Unknown, "disk I/O error"), Class::Unavailable),
            (
                sqlite(Unknown, "attempt to write a readonly database"),
                Class::Unavailable,
            ),
            (sqlite(Unknown, "database is locked"), Class::Unavailable),
            (
                sqlite(Unknown, "database or disk is full"),
                Class::Unavailable,
            ),
            (
                pg(
                    ClosedConnection,
                    "server closed the connection unexpectedly",
                    "",
                ),
                Class::Unavailable,
            ),
            (
                pg(
                    Unknown,
                    "terminating connection due to administrator command",
                    "",
                ),
                Class::Unavailable,
            ),
            (
                pg(Unknown, "the database system is shutting down", ""),
                Class::Unavailable,
            ),
            (
                pg(
                    ReadOnlyTransaction,
                    "cannot execute UPDATE in a read-only transaction",
                    "",
                ),
                Class::Unavailable,
            ),
            (DieselError::BrokenTransactionManager, Class::Unavailable),
            (
                DieselError::RollbackErrorOnCommit {
                    rollback_error: Box::new(DieselError::BrokenTransactionManager),
                    commit_error: Box::new(sqlite(Unknown, "disk I/O error")),
                },
                Class::Unavailable,
            ),
            // Not outages.
            (DieselError::NotFound, Class::NotFound),
            (sqlite(Unknown, "no such table: users"), Class::Other),
            (
                sqlite(
                    DatabaseErrorKind::CheckViolation,
                    "CHECK constraint failed: status IN ('active', 'disabled')",
                ),
                Class::Other,
            ),
            (
                pg(Unknown, "relation \"users\" does not exist", ""),
                Class::Other,
            ),
        ];
        for (error, expected) in cases {
            let shown = format!("{error}");
            assert_eq!(class(&StoreError::from(error)), expected, "{shown}");
        }
    }

    #[test]
    fn connection_errors() {
        let cases: Vec<(ConnectionError, Class)> = vec![
            (
                ConnectionError::BadConnection(
                    "connection to server at \"127.0.0.1\", port 5432 failed: Connection refused"
                        .into(),
                ),
                Class::Unavailable,
            ),
            (
                ConnectionError::BadConnection("unable to open database file".into()),
                Class::Unavailable,
            ),
            (
                ConnectionError::CouldntSetupConfiguration(sqlite(
                    DatabaseErrorKind::Unknown,
                    "database is locked",
                )),
                Class::Unavailable,
            ),
            (
                ConnectionError::InvalidConnectionUrl("missing host".into()),
                Class::Other,
            ),
        ];
        for (error, expected) in cases {
            let shown = format!("{error}");
            assert_eq!(class(&StoreError::from(error)), expected, "{shown}");
        }
    }

    /// Every unique index and primary key of the migrated schema maps to a field: on SQLite
    /// by the message it would raise, on PostgreSQL (when `TEST_DATABASE_URL` is set) by
    /// index name, table and columns.
    #[test]
    fn every_unique_rule_of_the_schema_is_listed() {
        use diesel::prelude::*;
        use diesel::sql_types::{Integer, Text};

        use crate::test_support::TestDb;

        #[derive(QueryableByName)]
        struct Name {
            #[diesel(sql_type = Text)]
            name: String,
        }
        #[derive(QueryableByName)]
        struct Index {
            #[diesel(sql_type = Text)]
            name: String,
            #[diesel(sql_type = Integer)]
            unique: i32,
        }
        #[derive(QueryableByName)]
        struct PgIndexColumn {
            #[diesel(sql_type = Text)]
            name: String,
            #[diesel(sql_type = Text)]
            tbl: String,
            #[diesel(sql_type = Text)]
            col: String,
        }

        fn migrated(db: &TestDb) -> crate::DbConnection {
            let url = crate::DatabaseUrl::parse(&db.url).unwrap();
            let mut conn = crate::connection::connect(&url).unwrap();
            crate::connection::run_migrations(&mut conn).unwrap();
            conn
        }

        let db = TestDb::sqlite();
        let crate::DbConnection::Sqlite(mut conn) = migrated(&db) else {
            unreachable!()
        };
        let tables: Vec<Name> = diesel::sql_query(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations'",
        )
        .load(&mut conn)
        .unwrap();
        let mut checked = 0;
        for table in tables {
            let indexes: Vec<Index> =
                diesel::sql_query(format!("PRAGMA index_list('{}')", table.name))
                    .load(&mut conn)
                    .unwrap();
            for index in indexes.into_iter().filter(|i| i.unique == 1) {
                let columns: Vec<Name> =
                    diesel::sql_query(format!("PRAGMA index_info('{}')", index.name))
                        .load(&mut conn)
                        .unwrap();
                let message = format!(
                    "{SQLITE_UNIQUE_PREFIX}{}",
                    columns
                        .iter()
                        .map(|c| format!("{}.{}", table.name, c.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                assert!(unique_field(None, &message).is_some(), "{message}");
                checked += 1;
            }
        }
        assert_eq!(checked, UNIQUE_RULES.len(), "sqlite");

        let Some(db) = TestDb::postgres() else { return };
        let crate::DbConnection::Pg(mut conn) = migrated(&db) else {
            unreachable!()
        };
        let columns: Vec<PgIndexColumn> = diesel::sql_query(
            "SELECT ic.relname::text AS name, t.relname::text AS tbl, a.attname::text AS col \
             FROM pg_index i \
             JOIN pg_class ic ON ic.oid = i.indexrelid \
             JOIN pg_class t ON t.oid = i.indrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(i.indkey) \
             WHERE i.indisunique AND n.nspname = 'public' \
             AND t.relname <> '__diesel_schema_migrations'",
        )
        .load(&mut conn)
        .unwrap();
        let mut names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        for name in &names {
            let rule = UNIQUE_RULES
                .iter()
                .find(|r| r.constraint == *name)
                .unwrap_or_else(|| panic!("{name} is not listed"));
            let mut found: Vec<&str> = columns
                .iter()
                .filter(|c| c.name == *name)
                .inspect(|c| assert_eq!(c.tbl, rule.table, "{name}"))
                .map(|c| c.col.as_str())
                .collect();
            let mut expected = rule.columns.to_vec();
            found.sort_unstable();
            expected.sort_unstable();
            assert_eq!(found, expected, "{name}");
        }
        assert_eq!(names.len(), UNIQUE_RULES.len(), "postgres");
    }
}
