//! The store against real databases: SQLite always, PostgreSQL too when `TEST_DATABASE_URL`
//! is set (each test makes its own database and drops it).

#[path = "../src/test_support.rs"]
mod test_support;

use chrono::{DateTime, TimeZone, Utc};
use diesel::connection::SimpleConnection;
use diesel::r2d2::ManageConnection;
use domain::auth_method::AuthMethods;
use domain::country::CountryCode;
use domain::email::Email;
use domain::model::{Client, Employee, Provider, Subject, User};
use domain::permission::{ProviderScope, Role};
use domain::policy::ProviderPolicies;
use domain::provider::{AccountStatus, ProviderSlug, ProviderStatus};
use persistence::connection::{self, Manager};
use persistence::{Conflict, DatabaseUrl, Store, StoreError};
use test_support::TestDb;
use uuid::Uuid;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

fn open(db: &TestDb) -> Store {
    let store = Store::open(&DatabaseUrl::parse(&db.url).unwrap(), 4).unwrap();
    store.migrate().unwrap();
    store
}

fn provider(slug: &str) -> Provider {
    Provider {
        id: Uuid::now_v7(),
        slug: ProviderSlug::parse(slug).unwrap(),
        name: format!("Provider {slug}"),
        jurisdiction: CountryCode::parse("DE").unwrap(),
        status: ProviderStatus::Active,
        auth_methods: AuthMethods::default(),
        policies: ProviderPolicies::default(),
        created_at: now(),
        updated_at: now(),
        version: 1,
    }
}

fn client(provider: &Provider) -> Client {
    Client {
        id: Uuid::now_v7(),
        provider_id: provider.id,
        name: "Client".into(),
        status: AccountStatus::Active,
        created_at: now(),
        updated_at: now(),
        version: 1,
    }
}

fn user(client: &Client, email: &str) -> User {
    User {
        id: Uuid::now_v7(),
        provider_id: client.provider_id,
        client_id: client.id,
        email: Email::parse(email).unwrap(),
        name: "User".into(),
        phone: None,
        status: AccountStatus::Active,
        has_password: false,
        created_at: now(),
        updated_at: now(),
        version: 1,
    }
}

fn employee(login: &str) -> Employee {
    Employee {
        id: Uuid::now_v7(),
        login: login.into(),
        name: "Employee".into(),
        email: None,
        status: AccountStatus::Active,
        roles: vec![Role::parse("support").unwrap()],
        providers: ProviderScope::All,
        has_password: false,
        created_at: now(),
        updated_at: now(),
        version: 1,
    }
}

/// The provider `acme` with one client and its user a@example.com, registered.
fn registered(store: &Store) -> (Provider, Client, User) {
    let p = provider("acme");
    store.insert_provider(&p).unwrap();
    let c = client(&p);
    let u = user(&c, "a@example.com");
    store.register(&c, &u, "hash").unwrap();
    (p, c, u)
}

/// A session of `subject` at `provider` created `now()`, live for an hour.
fn new_session(
    id: Uuid,
    subject: Subject,
    provider: &Provider,
    ip: Option<&str>,
) -> persistence::NewSession {
    persistence::NewSession {
        id,
        subject,
        provider_id: Some(provider.id),
        method: "password".into(),
        ip: ip.map(str::to_owned),
        user_agent: None,
        created_at: now(),
        expires_at: now() + chrono::Duration::hours(1),
        amr: vec!["pwd".into()],
    }
}

fn assert_stale<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    assert!(
        matches!(result, Err(StoreError::Stale)),
        "{what}: {result:?}"
    );
}

fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    assert!(
        matches!(result, Err(StoreError::NotFound)),
        "{what}: {result:?}"
    );
}

#[test]
fn two_updates_from_one_read_the_second_is_stale() {
    for db in TestDb::all() {
        let backend = db.backend();
        let store = open(&db);
        let p = provider("acme");
        store.insert_provider(&p).unwrap();
        let c = client(&p);
        store.insert_client(&c).unwrap();
        let u = user(&c, "a@example.com");
        store.insert_user(&u, None).unwrap();
        let e = employee("alice");
        store.insert_employee(&e, None).unwrap();

        // Provider.
        let read = store.provider(p.id).unwrap();
        assert_eq!(read.version, 1, "{backend}: new objects start at 1");
        let first = Provider {
            name: "First".into(),
            ..read.clone()
        };
        store.update_provider(&first).unwrap();
        let second = Provider {
            name: "Second".into(),
            ..read.clone()
        };
        assert_stale(store.update_provider(&second), backend);
        let now_stored = store.provider(p.id).unwrap();
        assert_eq!((now_stored.name.as_str(), now_stored.version), ("First", 2));
        store.update_provider(&now_stored).unwrap();
        assert_eq!(store.provider(p.id).unwrap().version, 3, "{backend}");
        assert_not_found(
            store.update_provider(&Provider {
                id: Uuid::now_v7(),
                ..read
            }),
            backend,
        );

        // Client.
        let read = store.client(c.id).unwrap();
        assert_eq!(read.version, 1);
        store
            .update_client(
                &Client {
                    name: "First".into(),
                    ..read.clone()
                },
                now(),
            )
            .unwrap();
        assert_stale(store.update_client(&read, now()), backend);
        assert_eq!(store.client(c.id).unwrap().version, 2, "{backend}");
        assert_not_found(
            store.update_client(
                &Client {
                    id: Uuid::now_v7(),
                    ..read
                },
                now(),
            ),
            backend,
        );

        // User.
        let read = store.user(u.id).unwrap();
        assert_eq!(read.version, 1);
        store
            .update_user(
                &User {
                    name: "First".into(),
                    ..read.clone()
                },
                now(),
            )
            .unwrap();
        assert_stale(store.update_user(&read, now()), backend);
        let now_stored = store.user(u.id).unwrap();
        assert_eq!((now_stored.name.as_str(), now_stored.version), ("First", 2));
        assert_not_found(
            store.update_user(
                &User {
                    id: Uuid::now_v7(),
                    ..read
                },
                now(),
            ),
            backend,
        );

        // Employee.
        let read = store.employee(e.id).unwrap();
        assert_eq!(read.version, 1);
        store
            .update_employee(
                &Employee {
                    roles: vec![Role::parse("admin").unwrap()],
                    ..read.clone()
                },
                now(),
            )
            .unwrap();
        assert_stale(store.update_employee(&read, now()), backend);
        let now_stored = store.employee(e.id).unwrap();
        assert_eq!(now_stored.version, 2, "{backend}");
        assert_eq!(now_stored.roles, vec![Role::parse("admin").unwrap()]);
        assert_not_found(
            store.update_employee(
                &Employee {
                    id: Uuid::now_v7(),
                    ..read
                },
                now(),
            ),
            backend,
        );
    }
}

#[test]
fn only_a_first_password_moves_the_version() {
    for db in TestDb::all() {
        let backend = db.backend();
        let store = open(&db);
        let p = provider("acme");
        store.insert_provider(&p).unwrap();
        let c = client(&p);
        store.insert_client(&c).unwrap();
        let u = user(&c, "a@example.com");
        store.insert_user(&u, None).unwrap();
        let e = employee("alice");
        store.insert_employee(&e, None).unwrap();

        // has_password goes from false to true: what the API shows changed.
        store.set_user_password_hash(u.id, "hash-1").unwrap();
        let read = store.user(u.id).unwrap();
        assert!(read.has_password);
        assert_eq!(read.version, 2, "{backend}");
        // A rehash and a change replace a secret the API does not show.
        store.set_user_password_hash(u.id, "hash-2").unwrap();
        store
            .change_password(Subject::user(u.id), "hash-3", None, now())
            .unwrap();
        assert_eq!(store.user(u.id).unwrap().version, 2, "{backend}");
        assert_eq!(
            store.user_password_hash(u.id).unwrap().as_deref(),
            Some("hash-3")
        );

        store
            .change_password(Subject::employee(e.id), "hash-1", None, now())
            .unwrap();
        store.set_employee_password_hash(e.id, "hash-2").unwrap();
        let read = store.employee(e.id).unwrap();
        assert!(read.has_password);
        assert_eq!(read.version, 2, "{backend}");
    }
}

#[test]
fn register_writes_the_client_and_its_first_user() {
    for db in TestDb::all() {
        let backend = db.backend();
        let store = open(&db);
        let (p, c, u) = registered(&store);
        assert_eq!(store.client(c.id).unwrap(), c, "{backend}");
        let stored = store.user(u.id).unwrap();
        assert_eq!(
            stored,
            User {
                has_password: true,
                ..u.clone()
            },
            "{backend}"
        );
        // Together or not at all: a second registration with the same e-mail leaves no
        // client behind.
        let c2 = client(&p);
        let u2 = user(&c2, "a@example.com");
        let result = store.register(&c2, &u2, "hash");
        assert!(
            matches!(
                result,
                Err(StoreError::Conflict(Conflict {
                    field: Some("/email")
                }))
            ),
            "{backend}: {result:?}"
        );
        assert_not_found(store.client(c2.id), backend);
    }
}

#[test]
fn conflicts_name_the_field() {
    for db in TestDb::all() {
        let backend = db.backend();
        let store = open(&db);
        let p = provider("acme");
        store.insert_provider(&p).unwrap();
        let field = |result: Result<(), StoreError>| match result {
            Err(StoreError::Conflict(c)) => c.field,
            other => panic!("{backend}: {other:?}"),
        };
        assert_eq!(
            field(store.insert_provider(&provider("acme"))),
            Some("/slug")
        );
        assert_eq!(
            field(store.insert_provider(&Provider {
                slug: ProviderSlug::parse("other").unwrap(),
                ..p.clone()
            })),
            Some("/id")
        );
        let c = client(&p);
        store.insert_client(&c).unwrap();
        store.insert_user(&user(&c, "a@example.com"), None).unwrap();
        assert_eq!(
            field(store.insert_user(&user(&c, "a@example.com"), None)),
            Some("/email")
        );
        store.insert_employee(&employee("alice"), None).unwrap();
        assert_eq!(
            field(store.insert_employee(&employee("alice"), None)),
            Some("/login")
        );
        // A reference to a provider that does not exist.
        let orphan = client(&provider("nowhere"));
        assert_eq!(field(store.insert_client(&orphan)), None);
        // The sentence shown to callers names the field, not the database's rule.
        let shown = store
            .insert_provider(&provider("acme"))
            .unwrap_err()
            .to_string();
        assert!(!shown.contains("providers"), "{backend}: {shown}");
    }
}

/// A provider row as the schema before `version` wrote it, with settings JSON as an
/// earlier version serialized it: no `authinfo` method and no `authinfo_ip_allowlist`
/// policy yet (both exist now), plus a field from a later version (after a rollback).
#[test]
fn provider_rows_written_by_other_versions_read() {
    for db in TestDb::all() {
        let backend = db.backend();
        let store = open(&db);
        let id = Uuid::now_v7();
        let mut conn = connection::connect(&DatabaseUrl::parse(&db.url).unwrap()).unwrap();
        conn.batch_execute(&format!(
            r#"INSERT INTO providers
                   (id, slug, name, jurisdiction, status, auth_methods, policies,
                    created_at, updated_at)
               VALUES ('{id}', 'legacy', 'Legacy', 'DE', 'active',
                   '{{"password":{{"registration":true,"login":true}},
                     "temporary_key":{{"registration":false,"login":true}},
                     "phone":{{"registration":false,"login":false}},
                     "google":{{"registration":false,"login":false}},
                     "keycloak":{{"registration":false,"login":false}},
                     "api_token":{{"registration":false,"login":false}}}}',
                   '{{"admin_mfa_required":false,"mfa_required_for_everyone":true,
                     "auth_log_retention_days":30,"webauthn_required":true}}',
                   '2026-01-01 00:00:00', '2026-01-01 00:00:00')"#
        ))
        .unwrap();
        let read = store.provider(id).unwrap();
        assert_eq!(read.version, 1, "{backend}");
        assert_eq!(read.auth_methods.authinfo, AuthMethods::default().authinfo);
        assert!(
            !read.auth_methods.api_token.login,
            "{backend}: stored value kept"
        );
        assert_eq!(
            read.policies,
            ProviderPolicies {
                admin_mfa_required: false,
                mfa_required_for_everyone: true,
                auth_log_retention_days: 30,
                authinfo_ip_allowlist: Vec::new(),
                // Fields added later read as a new provider's.
                ..ProviderPolicies::default()
            },
            "{backend}"
        );
        assert_eq!(store.auth_log_retentions().unwrap(), vec![(id, 30)]);
        // Written back, the row is complete in today's shape.
        store.update_provider(&read).unwrap();
        let again = store.provider(id).unwrap();
        assert_eq!(again.policies, read.policies, "{backend}");
        assert_eq!(again.version, 2, "{backend}");
    }
}

#[test]
fn a_file_that_cannot_be_opened_is_unavailable() {
    let url = DatabaseUrl::parse("sqlite:///nonexistent-directory/bi/identity.db").unwrap();
    let Err(error) = connection::connect(&url) else {
        panic!("opened a file in a directory that does not exist")
    };
    let error = StoreError::from(error);
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
}

/// A server that closed the connection (a restart, a failover) leaves a connection the
/// pool must drop, and the failure is an outage, not an internal error.
#[test]
fn a_connection_the_server_closed_is_broken_and_unavailable() {
    let Some(db) = TestDb::postgres() else { return };
    let manager = Manager::new(DatabaseUrl::parse(&db.url).unwrap());
    let mut conn = manager.connect().unwrap();
    assert!(!manager.has_broken(&mut conn));
    db.kill_connections();
    let error = StoreError::from(conn.batch_execute("SELECT 1").unwrap_err());
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    assert!(manager.has_broken(&mut conn));

    let store = open(&db);
    store.ping().unwrap();
    db.drop_now();
    let error = store.ping().unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
}

#[test]
fn sms_gateways_round_trip_in_priority_order_and_by_provider() {
    use std::collections::BTreeMap;

    use domain::sms_gateway::{Credentials, GatewayKind, SmsGateway, TwilioGateway};

    for db in TestDb::all() {
        let store = open(&db);
        let acme = provider("acme");
        store.insert_provider(&acme).unwrap();
        let gateway = |name: &str, priority: i32, providers: ProviderScope<Uuid>| SmsGateway {
            id: Uuid::now_v7(),
            name: name.into(),
            providers,
            priority,
            resend_timeout_seconds: 60,
            code_validity_seconds: 600,
            sender: Some("Hosting".into()),
            templates: BTreeMap::from([("en".to_owned(), "Code {code}".to_owned())]),
            kind: GatewayKind::Twilio(TwilioGateway {
                base_url: "https://api.twilio.com".into(),
                account_sid: "AC1".into(),
                messaging_service_sid: None,
            }),
            credentials: Credentials {
                auth_token: Some("token".into()),
                ..Credentials::default()
            },
            created_at: now(),
            updated_at: now(),
            version: 1,
        };
        let second = gateway("second", 20, ProviderScope::All);
        let first = gateway("first", 10, ProviderScope::Only(vec![acme.id]));
        store.insert_sms_gateway(&second).unwrap();
        store.insert_sms_gateway(&first).unwrap();

        assert_eq!(store.sms_gateway(first.id).unwrap(), first);
        let names = |list: Vec<SmsGateway>| list.into_iter().map(|g| g.name).collect::<Vec<_>>();
        assert_eq!(
            names(store.list_sms_gateways().unwrap()),
            ["first", "second"]
        );
        assert_eq!(
            names(store.sms_gateways_for(Some(acme.id)).unwrap()),
            ["first", "second"]
        );
        assert_eq!(
            names(store.sms_gateways_for(Some(Uuid::now_v7())).unwrap()),
            ["second"]
        );
        assert_eq!(names(store.sms_gateways_for(None).unwrap()), ["second"]);

        let mut changed = first.clone();
        changed.priority = 30;
        store.update_sms_gateway(&changed).unwrap();
        assert_eq!(store.sms_gateway(first.id).unwrap().version, 2);
        assert_stale(
            store.update_sms_gateway(&changed),
            "a second update from one read",
        );
        assert_eq!(
            names(store.list_sms_gateways().unwrap()),
            ["second", "first"]
        );

        store.delete_sms_gateway(first.id).unwrap();
        assert_not_found(store.sms_gateway(first.id), "a deleted gateway");
        assert_not_found(store.delete_sms_gateway(first.id), "deleting twice");
    }
}

#[test]
fn processors_round_trip_by_name_with_versions() {
    use domain::auth_method::AuthMethod;
    use domain::transfer::{Processor, TransferMechanism};

    for db in TestDb::all() {
        let store = open(&db);
        let google = Processor {
            id: Uuid::now_v7(),
            name: "Google".into(),
            purpose: "Sign-in with Google".into(),
            country: CountryCode::parse("US").unwrap(),
            mechanism: TransferMechanism::Dpf,
            dpa_signed_on: chrono::NaiveDate::from_ymd_opt(2025, 1, 31),
            auth_methods: vec![AuthMethod::Google],
            sms_gateway_ids: vec![Uuid::now_v7()],
            created_at: now(),
            updated_at: now(),
            version: 1,
        };
        let acme = Processor {
            id: Uuid::now_v7(),
            name: "Acme SMS".into(),
            country: CountryCode::parse("DE").unwrap(),
            mechanism: TransferMechanism::Eea,
            dpa_signed_on: None,
            auth_methods: vec![],
            ..google.clone()
        };
        store.insert_processor(&google).unwrap();
        store.insert_processor(&acme).unwrap();
        assert_eq!(store.processor(google.id).unwrap(), google);
        let names: Vec<String> = store
            .list_processors()
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["Acme SMS", "Google"]);

        let mut changed = google.clone();
        changed.mechanism = TransferMechanism::Scc;
        store.update_processor(&changed).unwrap();
        let read = store.processor(google.id).unwrap();
        assert_eq!((read.mechanism, read.version), (TransferMechanism::Scc, 2));
        assert!(matches!(
            store.update_processor(&changed),
            Err(StoreError::Stale)
        ));
        store.delete_processor(acme.id).unwrap();
        assert!(matches!(
            store.processor(acme.id),
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store.delete_processor(acme.id),
            Err(StoreError::NotFound)
        ));
    }
}

/// The live-session cache answers only until the next change by anyone: a write through
/// this store empties it at once, and so does one through a connection of its own (another
/// instance, the command line, `sqlite3` or `psql` by hand): on SQLite at once, on
/// PostgreSQL when its notification arrives. Revocation stays immediate.
#[test]
fn a_cached_live_session_lasts_until_any_commit() {
    for db in TestDb::all() {
        let backend = db.backend();
        let store = open(&db);
        let (p, _, u) = registered(&store);
        let subject = Subject::user(u.id);
        let session = |id: Uuid| new_session(id, subject, &p, None);
        let (first, second) = (Uuid::now_v7(), Uuid::now_v7());
        store.create_session(&session(first), "refresh-1").unwrap();
        store.create_session(&session(second), "refresh-2").unwrap();
        let cached = |id| store.cached_live_session(id, subject, now());
        // PostgreSQL: until the notification of a change by another connection arrived.
        let soon_none = |id, what: &str| {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while cached(id).is_some() {
                assert!(std::time::Instant::now() < deadline, "{backend}: {what}");
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        };
        // A read is kept once the notifications of earlier writes have arrived (PostgreSQL;
        // on SQLite at once): it is still there 200 ms later (a loaded machine is slower).
        let read_until_kept = |id, what: &str| {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            loop {
                assert!(store.live_session(id, subject, now()).unwrap().is_some());
                std::thread::sleep(std::time::Duration::from_millis(200));
                if cached(id).is_some() {
                    return;
                }
                assert!(std::time::Instant::now() < deadline, "{backend}: {what}");
            }
        };
        assert!(cached(first).is_none(), "{backend}: nothing read yet");
        read_until_kept(first, "read once, nothing committed since");
        let hit = cached(first).expect("read once, nothing committed since");
        assert_eq!(hit.session.id, first);
        // Another subject, or past expiry, is not answered from the cache.
        assert!(
            store
                .cached_live_session(first, Subject::user(Uuid::now_v7()), now())
                .is_none()
        );
        assert!(
            store
                .cached_live_session(first, subject, now() + chrono::Duration::hours(2))
                .is_none()
        );

        // A commit through the store empties it, on every backend before the call returns.
        assert!(store.revoke_session(subject, second, now()).unwrap());
        assert!(
            cached(first).is_none(),
            "{backend}: a commit through the store"
        );
        read_until_kept(first, "read again");

        let mut other = Manager::new(DatabaseUrl::parse(&db.url).unwrap())
            .connect()
            .unwrap();
        if db.is_postgres() {
            // What a refresh writes at every rotation changes nothing the cache holds.
            other
                .batch_execute(&format!(
                    "UPDATE sessions SET last_seen_at = created_at WHERE id = '{first}'"
                ))
                .unwrap();
            std::thread::sleep(std::time::Duration::from_millis(200));
            assert!(cached(first).is_some(), "{backend}: last_seen_at only");
            // A change of the person, by another connection.
            other
                .batch_execute(&format!(
                    "UPDATE users SET status = 'disabled' WHERE id = '{}'",
                    u.id
                ))
                .unwrap();
            soon_none(first, "a change of the user by another connection");
            read_until_kept(first, "read again");
        }

        // A revocation through a connection the store knows nothing of.
        other
            .batch_execute(&format!(
                "UPDATE sessions SET revoked_at = expires_at WHERE id = '{first}'"
            ))
            .unwrap();
        soon_none(first, "a revocation by another connection");
        assert!(store.live_session(first, subject, now()).unwrap().is_none());
        assert!(cached(first).is_none(), "a revoked session is not kept");
    }
}

/// PostgreSQL: every table either notifies the live-session cache of its changes or is one
/// of `NOT_WATCHED`, which are never read to authenticate an access token. A migration that
/// adds a table must put it in one group or the other.
#[test]
fn every_table_notifies_the_live_session_cache_or_is_named_as_not_watched() {
    use diesel::RunQueryDsl;
    use diesel::sql_types::Text;
    #[derive(diesel::QueryableByName)]
    struct Table {
        #[diesel(sql_type = Text)]
        relname: String,
    }
    for db in TestDb::all().into_iter().filter(|db| db.is_postgres()) {
        let store = open(&db);
        drop(store);
        let mut conn = Manager::new(DatabaseUrl::parse(&db.url).unwrap())
            .connect()
            .unwrap();
        let silent: Vec<String> = diesel::sql_query(
            "SELECT c.relname::text AS relname FROM pg_class c \
             WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace \
               AND c.relname <> '__diesel_schema_migrations' \
               AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid \
                                 AND t.tgname LIKE 'live_sessions_%') \
             ORDER BY c.relname",
        )
        .load::<Table>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|t| t.relname)
        .collect();
        let mut expected: Vec<String> = persistence::NOT_WATCHED
            .iter()
            .map(|t| (*t).to_owned())
            .collect();
        expected.sort();
        assert_eq!(silent, expected);
    }
}

/// PostgreSQL: the sessions' trigger fires for a statement that sets any column but
/// `last_seen_at` (which each refresh writes): a migration that adds a column to `sessions`
/// must add it to the trigger's list too.
#[test]
fn the_sessions_trigger_watches_every_column_but_last_seen_at() {
    for db in TestDb::all().into_iter().filter(|db| db.is_postgres()) {
        drop(open(&db));
        let columns = |sql: &str| -> Vec<Option<String>> {
            let mut all = column(&db, sql);
            all.sort();
            all
        };
        let watched = columns(
            "SELECT a.attname::text AS v FROM pg_trigger t \
             JOIN pg_attribute a ON a.attrelid = t.tgrelid AND a.attnum = ANY (t.tgattr::int2[]) \
             WHERE t.tgrelid = 'sessions'::regclass AND t.tgname = 'live_sessions_changed'",
        );
        let expected = columns(
            "SELECT column_name::text AS v FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = 'sessions' \
               AND column_name <> 'last_seen_at'",
        );
        assert!(!expected.is_empty());
        assert_eq!(watched, expected);
    }
}

/// A sign-in's writes (the budget emptied, its auth events, the session and its refresh
/// token) land together or not at all: on PostgreSQL they are one statement
/// (`write_sign_in_at_once`), on SQLite one transaction.
#[test]
fn a_sign_in_is_written_whole_or_not_at_all() {
    use persistence::SignInWrites;
    for db in TestDb::all() {
        let backend = db.backend();
        let store = open(&db);
        let (p, _, u) = registered(&store);
        let subject = Subject::user(u.id);
        let key = format!("user:{}", u.id);
        store.reserve_attempt(&key, now()).unwrap();
        let session = |id: Uuid| new_session(id, subject, &p, Some("203.0.113.5"));
        let taken = Uuid::now_v7();
        store
            .create_session(&session(taken), "refresh-taken")
            .unwrap();
        let writes = |id: Uuid, refresh: &str| SignInWrites {
            reset_budget: Some(key.clone()),
            password_hash: None,
            events: vec![
                user_event(&u, "203.0.113.5", now()),
                user_event(&u, "203.0.113.6", now()),
            ],
            session: Some((session(id), refresh.to_owned())),
            origin_key: None,
        };
        let budgets = || {
            column(
                &db,
                &format!(
                    "SELECT throttle_key AS v FROM auth_throttle WHERE throttle_key = '{key}'"
                ),
            )
        };
        let events = || column(&db, "SELECT id AS v FROM auth_events");

        // The session's id is taken: nothing of it is written.
        let failed = store.write_sign_in(&writes(taken, "refresh-new"));
        assert!(failed.is_err(), "{backend}: a session id taken");
        assert_eq!(budgets().len(), 1, "{backend}: the budget stays");
        assert!(
            events().is_empty(),
            "{backend}: no event without its sign-in"
        );

        let id = Uuid::now_v7();
        store.write_sign_in(&writes(id, "refresh-new")).unwrap();
        assert!(budgets().is_empty(), "{backend}: the budget emptied");
        assert_eq!(events().len(), 2, "{backend}: both events");
        assert_eq!(
            ips_of(&store, &u),
            [
                Some("203.0.113.5".to_owned()),
                Some("203.0.113.6".to_owned())
            ],
            "{backend}: the origins sealed and readable"
        );
        assert!(store.live_session(id, subject, now()).unwrap().is_some());
        assert_eq!(
            column(
                &db,
                "SELECT session_id AS v FROM refresh_tokens WHERE token_hash = 'refresh-new'",
            ),
            [Some(id.to_string())],
            "{backend}: the refresh token names its session"
        );
    }
}

/// A password login's first reading: the provider and its user of an e-mail in one
/// statement (the user with the origin key its sign-in seals with), and nobody for an
/// unknown e-mail or another provider's; an unknown provider is not found.
#[test]
fn a_provider_is_read_with_its_user_of_an_email() {
    for db in TestDb::all() {
        let backend = db.backend();
        let store = open(&db);
        let (p, c, u) = registered(&store);
        let other = provider("other");
        store.insert_provider(&other).unwrap();
        let email = u.email.as_str();

        let (found, user) = store.provider_and_user("acme", Some(email)).unwrap();
        assert_eq!(found.id, p.id, "{backend}");
        let user = user.unwrap_or_else(|| panic!("{backend}: the user"));
        assert_eq!(user.user.id, u.id, "{backend}");
        assert_eq!(user.user.client_id, c.id, "{backend}");
        assert_eq!(user.password_hash.as_deref(), Some("hash"), "{backend}");

        for (slug, email) in [
            ("acme", Some("nobody@example.com")),
            ("other", Some(email)),
            ("acme", None),
        ] {
            let (found, user) = store.provider_and_user(slug, email).unwrap();
            assert_eq!(found.slug.as_str(), slug, "{backend}");
            assert!(user.is_none(), "{backend}: {slug} {email:?}");
        }
        for email in [Some(email), None] {
            assert!(
                matches!(
                    store.provider_and_user("nope", email),
                    Err(StoreError::NotFound)
                ),
                "{backend}: an unknown provider"
            );
        }
    }
}

/// What a password login reads with the account before the hash (`UserCredentials`): the
/// same second factors as `enrolled_factors` in each state a user can be in, only the
/// user's own, and whether the user's provider has consent documents.
#[test]
fn the_account_is_read_with_its_factors_and_its_providers_documents() {
    use domain::consent::{ConsentDocument, ConsentKind, DocumentVersion, VersionContent};
    for db in TestDb::all() {
        let backend = db.backend();
        let store = open(&db);
        let (p, c, u) = registered(&store);
        // Another user's factors must not count for this one.
        let v = user(&c, "other@example.com");
        store.insert_user(&v, Some("hash".into())).unwrap();
        store
            .enroll_totp(Subject::user(v.id), "secret-v", now())
            .unwrap();
        store.confirm_totp(Subject::user(v.id), 1, now()).unwrap();
        let email = u.email.as_str().to_owned();
        let subject = Subject::user(u.id);
        let read = || {
            let (_, user) = store.provider_and_user("acme", Some(&email)).unwrap();
            let user = user.unwrap_or_else(|| panic!("{backend}: the user"));
            (user.factors, user.provider_has_consent_documents)
        };
        let check = |step: &str, totp: bool, sms: bool, codes: i64, documents: bool| {
            let (factors, has_documents) = read();
            assert_eq!(
                factors,
                store.enrolled_factors(subject).unwrap(),
                "{backend} {step}: as enrolled_factors reads them"
            );
            assert_eq!(
                (factors.totp, factors.sms, factors.recovery_codes_left),
                (totp, sms, codes),
                "{backend} {step}"
            );
            assert_eq!(has_documents, documents, "{backend} {step}");
        };
        check("nothing enrolled", false, false, 0, false);
        store.enroll_totp(subject, "secret-u", now()).unwrap();
        check("TOTP not confirmed", false, false, 0, false);
        store.confirm_totp(subject, 1, now()).unwrap();
        check("TOTP confirmed", true, false, 0, false);
        store
            .replace_recovery_codes(subject, &["a".into(), "b".into()], now())
            .unwrap();
        check("two recovery codes", true, false, 2, false);
        store
            .set_verified_phone(u.id, "+4915112345678", now())
            .unwrap();
        check("a verified number", true, true, 2, false);
        let document = ConsentDocument {
            id: Uuid::now_v7(),
            provider_id: p.id,
            kind: ConsentKind::PrivacyPolicy,
            titles: [("en".to_owned(), "Privacy".to_owned())].into(),
            must_agree: true,
            show_on_registration: true,
            created_at: now(),
            updated_at: now(),
            version: 1,
        };
        let first = DocumentVersion {
            id: Uuid::now_v7(),
            document_id: document.id,
            number: 1,
            content: VersionContent::parse(Some("https://example.com/privacy"), None).unwrap(),
            text_hash: "hash".into(),
            effective_at: now(),
            created_at: now(),
        };
        store.insert_consent_document(&document, &first).unwrap();
        check("a consent document", true, true, 2, true);
    }
}

/// A sign-in seals its events with the origin key read with the account
/// (`SignInWrites::origin_key`): readable as ever; made at the write when the user had none
/// yet; only for the user it was read for; and when a clearing destroyed the key meanwhile,
/// the origin stays unreadable.
#[test]
fn a_sign_in_seals_with_the_origin_key_read_with_the_account() {
    use persistence::SignInWrites;
    for db in TestDb::all() {
        let backend = db.backend();
        let store = open(&db);
        let (p, _, u) = registered(&store);
        let email = u.email.as_str().to_owned();
        let read_key = || {
            let (_, user) = store.provider_and_user("acme", Some(&email)).unwrap();
            user.unwrap().origin_key
        };
        let sign_in = |user: &User, ip: &str, known| {
            let writes = SignInWrites {
                events: vec![user_event(user, ip, now())],
                session: Some((
                    new_session(Uuid::now_v7(), Subject::user(user.id), &p, Some(ip)),
                    format!("refresh-{ip}"),
                )),
                origin_key: Some(known),
                ..Default::default()
            };
            store.write_sign_in(&writes).unwrap();
        };
        // Read before the user's first event: no key yet, the write makes one.
        sign_in(&u, "203.0.113.1", read_key());
        // Read with the key: sealed with it.
        sign_in(&u, "203.0.113.2", read_key());
        // Another user's sign-in, given this user's key: sealed with its own.
        let c2 = client(&p);
        let v = user(&c2, "b@example.com");
        store.register(&c2, &v, "hash").unwrap();
        sign_in(&v, "203.0.113.3", read_key());
        assert_eq!(
            ips_of(&store, &u),
            [
                Some("203.0.113.1".to_owned()),
                Some("203.0.113.2".to_owned())
            ],
            "{backend}: sealed with the user's key and readable"
        );
        assert_eq!(
            ips_of(&store, &v),
            [Some("203.0.113.3".to_owned())],
            "{backend}: sealed with the other user's own key"
        );
        // The key read, then destroyed (as a clearing does) before the write.
        let known = read_key();
        raw_execute(&db, "UPDATE users SET origin_key = ''");
        sign_in(&u, "203.0.113.4", known);
        assert_eq!(
            origins_of(&store, &u).last(),
            Some(&(None, None)),
            "{backend}: unreadable once the key is gone"
        );
    }
}

/// A refresh seals its auth event with the origin key read with the person (one statement
/// less in its write transaction): readable; made at the write when the user had none yet;
/// and none kept once the key is destroyed.
#[test]
fn a_refresh_seals_its_event_with_the_key_read_with_the_person() {
    for db in TestDb::all() {
        let backend = db.backend();
        let store = open(&db);
        let (p, _, u) = registered(&store);
        let subject = Subject::user(u.id);
        let refresh = |old: &str, new: &str, ip: &str| {
            let (outcome, person) = store
                .rotate_refresh_token(
                    old,
                    new,
                    now(),
                    |_| chrono::Duration::hours(1),
                    chrono::Duration::seconds(10),
                    |_, person| (person.is_some(), user_event(&u, ip, now())),
                )
                .unwrap();
            assert!(
                matches!(outcome, persistence::RefreshOutcome::Rotated(_)),
                "{backend}: {outcome:?}"
            );
            assert!(person, "{backend}: the person read");
        };
        store
            .create_session(&new_session(Uuid::now_v7(), subject, &p, None), "r-0")
            .unwrap();
        // No key yet: made at the write.
        refresh("r-0", "r-1", "203.0.113.7");
        // The key read with the person.
        refresh("r-1", "r-2", "203.0.113.8");
        assert_eq!(
            ips_of(&store, &u),
            [
                Some("203.0.113.7".to_owned()),
                Some("203.0.113.8".to_owned())
            ],
            "{backend}: sealed and readable"
        );
        raw_execute(&db, "UPDATE users SET origin_key = ''");
        refresh("r-2", "r-3", "203.0.113.9");
        assert_eq!(
            origins_of(&store, &u).last(),
            Some(&(None, None)),
            "{backend}: none kept once the key is destroyed"
        );
    }
}

/// An API-token request of a user seals its auth event with the origin key read with the
/// person, on both of its paths (the first use, which records `last_used_at` in a
/// transaction, and a use within the minute, a single insert); none kept once the key is
/// destroyed.
#[test]
fn an_api_token_request_seals_its_event_with_the_key_read_with_the_person() {
    for db in TestDb::all() {
        let backend = db.backend();
        let store = open(&db);
        let (p, _, u) = registered(&store);
        store
            .insert_api_token(&persistence::NewApiToken {
                id: Uuid::now_v7(),
                subject: Subject::user(u.id),
                provider_id: Some(p.id),
                name: "script".into(),
                token_prefix: "bi_at_x".into(),
                token_hash: "token-hash".into(),
                scope: "read".into(),
                created_at: now(),
                expires_at: None,
            })
            .unwrap();
        let request = |ip: &str| {
            let (record, person) = store
                .use_api_token("token-hash", now(), |_, person| {
                    (person.is_some(), user_event(&u, ip, now()))
                })
                .unwrap();
            assert!(
                record.is_some() && person,
                "{backend}: the token and its person"
            );
        };
        request("203.0.113.21");
        request("203.0.113.22");
        assert_eq!(
            ips_of(&store, &u),
            [
                Some("203.0.113.21".to_owned()),
                Some("203.0.113.22".to_owned())
            ],
            "{backend}: sealed and readable"
        );
        raw_execute(&db, "UPDATE users SET origin_key = ''");
        request("203.0.113.23");
        assert_eq!(
            origins_of(&store, &u).last(),
            Some(&(None, None)),
            "{backend}: none kept once the key is destroyed"
        );
    }
}

/// The values of one text column, read with raw SQL (`sql` selects it `AS v`).
fn column(db: &TestDb, sql: &str) -> Vec<Option<String>> {
    use diesel::RunQueryDsl;
    use diesel::sql_types::{Nullable, Text};
    #[derive(diesel::QueryableByName)]
    struct Cell {
        #[diesel(sql_type = Nullable<Text>)]
        v: Option<String>,
    }
    let mut conn = connection::connect(&DatabaseUrl::parse(&db.url).unwrap()).unwrap();
    let query = diesel::sql_query(sql);
    let cells: Vec<Cell> = match &mut conn {
        persistence::DbConnection::Sqlite(c) => query.load(c),
        persistence::DbConnection::Pg(c) => query.load(c),
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
    cells.into_iter().map(|c| c.v).collect()
}

fn raw_execute(db: &TestDb, sql: &str) {
    let mut conn = connection::connect(&DatabaseUrl::parse(&db.url).unwrap()).unwrap();
    conn.batch_execute(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn user_event(user: &User, ip: &str, at: DateTime<Utc>) -> persistence::AuthEventRecord {
    persistence::AuthEventRecord {
        id: Uuid::now_v7(),
        provider_id: Some(user.provider_id),
        subject: Some(Subject::user(user.id)),
        method: "password".into(),
        outcome: "failure".into(),
        reason: "wrong_password".into(),
        ip: Some(ip.into()),
        user_agent: Some(format!("SealedAgent/1 ({ip})")),
        created_at: at,
    }
}

/// The addresses of `user`'s events as the auth log shows them, in the order written.
fn ips_of(store: &Store, user: &User) -> Vec<Option<String>> {
    origins_of(store, user)
        .into_iter()
        .map(|(ip, _)| ip)
        .collect()
}

/// The origins of `user`'s events as the auth log shows them, in the order written.
fn origins_of(store: &Store, user: &User) -> Vec<(Option<String>, Option<String>)> {
    let filter = persistence::AuthEventFilter {
        subject_id: Some(user.id),
        ..Default::default()
    };
    let page = persistence::PageRequest {
        after: None,
        limit: 100,
    };
    let mut events = store
        .list_auth_events(&filter, &ProviderScope::All, page)
        .unwrap()
        .items;
    events.reverse();
    events.into_iter().map(|e| (e.ip, e.user_agent)).collect()
}

/// Issue 10: a user's addresses and user agents are stored sealed under the user's own key,
/// read back opened, and a clearing destroys the key: every origin of the user's events is
/// unreadable at once, events written before sealing lose theirs in the open, the budgets
/// named by the user's addresses go, later events keep no origin, and the sweep removes the
/// sealed values. Another client's events keep theirs.
#[test]
fn a_clearing_destroys_the_key_of_its_users_sealed_origins() {
    use domain::gdpr::ClearedBy;
    for db in TestDb::all() {
        let store = open(&db);
        let (p, c, u) = registered(&store);
        let other_client = client(&p);
        let other = user(&other_client, "b@example.com");
        store.register(&other_client, &other, "hash").unwrap();

        // The service's clock runs a year ahead of the system's (event ids are UUIDv7 of
        // the system's clock): the clearing still finds the addresses of recent events.
        let at = Utc::now() + chrono::Duration::days(400);
        let sealed_ip = "198.51.100.71";
        store
            .insert_auth_event(&user_event(&u, sealed_ip, at))
            .unwrap();
        store
            .insert_auth_event(&user_event(&other, "192.0.2.44", at))
            .unwrap();
        // An event written before origins were sealed.
        let open_ip = "203.0.113.72";
        raw_execute(
            &db,
            &format!(
                "INSERT INTO auth_events (id, provider_id, subject_kind, subject_id, method, outcome, reason, ip, user_agent, created_at)
                 VALUES ('{}', '{}', 'user', '{}', 'password', 'success', 'ok', '{open_ip}', 'OpenAgent/2', '2026-11-01 10:00:00')",
                Uuid::now_v7(),
                p.id,
                u.id
            ),
        );
        let stored = |what: &str| {
            column(
                &db,
                &format!(
                    "SELECT CAST({what} AS TEXT) AS v FROM auth_events WHERE subject_id = '{}' ORDER BY created_at DESC, id",
                    u.id
                ),
            )
        };
        assert_eq!(
            stored("ip"),
            [None, Some(open_ip.into())],
            "{}",
            db.backend()
        );
        let sealed = stored("sealed_origin")[0].clone().expect("sealed");
        assert!(!sealed.contains(sealed_ip) && !sealed.contains("SealedAgent"));
        let agent = |ip: &str| Some(format!("SealedAgent/1 ({ip})"));
        assert_eq!(
            origins_of(&store, &u),
            [
                (Some(sealed_ip.into()), agent(sealed_ip)),
                (Some(open_ip.into()), Some("OpenAgent/2".into())),
            ]
        );

        // Budgets of the address the user used (within the budget's run) and of another.
        for key in [
            format!("rate:ip:{sealed_ip}:login"),
            format!("ip:{sealed_ip}:temporary_key"),
            "rate:ip:192.0.2.99:login".to_owned(),
        ] {
            store.reserve_attempt(&key, at).unwrap();
        }

        store
            .clear_client(c.id, ClearedBy::Schedule, "test", false, at)
            .unwrap();
        let key_of = |user: &User| {
            column(
                &db,
                &format!("SELECT origin_key AS v FROM users WHERE id = '{}'", user.id),
            )
        };
        assert_eq!(key_of(&u), [Some(String::new())], "the key is destroyed");
        assert_eq!(origins_of(&store, &u), [(None, None), (None, None)]);
        assert_eq!(stored("ip"), [None, None]);
        assert_eq!(stored("user_agent"), [None, None]);
        assert_eq!(
            column(
                &db,
                "SELECT throttle_key AS v FROM auth_throttle ORDER BY 1"
            ),
            [Some("rate:ip:192.0.2.99:login".to_owned())],
            "only the budget of an address the user did not use is left"
        );
        // What happens to the user from now on keeps no origin.
        store
            .insert_auth_event(&user_event(&u, sealed_ip, at))
            .unwrap();
        assert_eq!(stored("ip").iter().flatten().count(), 0);

        // The sealed values, unreadable now, go in the sweep; once.
        assert_eq!(stored("sealed_origin").iter().flatten().count(), 1);
        assert_eq!(store.sweep_cleared_origins(1, now()).unwrap(), 1);
        assert_eq!(stored("sealed_origin").iter().flatten().count(), 0);
        assert_eq!(
            column(
                &db,
                "SELECT CAST(origins_swept_at AS TEXT) AS v FROM client_clearings"
            )
            .iter()
            .flatten()
            .count(),
            1
        );
        assert_eq!(store.sweep_cleared_origins(1, now()).unwrap(), 0);

        // The other client's user is untouched.
        assert!(key_of(&other)[0].as_deref().is_some_and(|k| k.len() == 64));
        assert_eq!(
            origins_of(&store, &other),
            [(Some("192.0.2.44".into()), agent("192.0.2.44"))]
        );
    }
}

/// On SQLite a clearing names its users through a list kept on its connection (a temporary
/// table): with one connection, a clearing after another client's dry run and clearing
/// touches only its own users' rows.
#[test]
fn clearings_on_one_connection_each_touch_only_their_own_users() {
    use domain::gdpr::ClearedBy;
    for db in TestDb::all() {
        let store = Store::open(&DatabaseUrl::parse(&db.url).unwrap(), 1).unwrap();
        store.migrate().unwrap();
        let (p, a, a_user) = registered(&store);
        let b = client(&p);
        let b_user = user(&b, "b@example.com");
        store.register(&b, &b_user, "hash").unwrap();
        let codes = |u: &User| store.recovery_codes_left(Subject::user(u.id)).unwrap();
        for u in [&a_user, &b_user] {
            store
                .replace_recovery_codes(Subject::user(u.id), &[format!("code-of-{}", u.id)], now())
                .unwrap();
        }
        let backend = db.backend();

        // B's dry run lists B's users; A's clearing then must not find them.
        let dry = store
            .clear_client(b.id, ClearedBy::Schedule, "test", true, now())
            .unwrap();
        assert_eq!(dry.deleted.recovery_codes, 1, "{backend}");
        let report = store
            .clear_client(a.id, ClearedBy::Schedule, "test", false, now())
            .unwrap();
        assert_eq!(report.deleted.recovery_codes, 1, "{backend}");
        assert_eq!(
            (codes(&a_user), codes(&b_user)),
            (0, 1),
            "{backend}: after A"
        );

        // And B's clearing, after A's on the same connection, none of A's.
        store
            .replace_recovery_codes(Subject::user(a_user.id), &["again".into()], now())
            .unwrap();
        let report = store
            .clear_client(b.id, ClearedBy::Schedule, "test", false, now())
            .unwrap();
        assert_eq!(report.deleted.recovery_codes, 1, "{backend}");
        assert_eq!(
            (codes(&a_user), codes(&b_user)),
            (1, 0),
            "{backend}: after B"
        );
    }
}

/// A clearing reads what it can before its transaction (the users' older events, the
/// addresses of their budgets' runs) and the rest inside it: the report counts both, as a
/// dry run does, and the budgets of addresses seen before and of those seen since go.
#[test]
fn a_clearing_counts_what_it_read_before_its_transaction_and_since() {
    use domain::gdpr::ClearedBy;
    for db in TestDb::all() {
        let store = open(&db);
        let (_, c, u) = registered(&store);
        let t = now();
        let hour_ago = t - chrono::Duration::hours(1);
        // An event of an hour ago (its id is a UUIDv7 of the system's clock then, as the
        // service makes them; the service's clock is the test's), and one of now.
        let mut old = user_event(&u, "198.51.100.81", hour_ago);
        old.id = Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            u64::try_from((Utc::now() - chrono::Duration::hours(1)).timestamp()).unwrap(),
            0,
        ));
        store.insert_auth_event(&old).unwrap();
        store
            .insert_auth_event(&user_event(&u, "198.51.100.82", t))
            .unwrap();
        // A budget whose run began before the old event, one of the new event's address,
        // and one of an address the user never used.
        store
            .reserve_attempt(
                "rate:ip:198.51.100.81:login",
                t - chrono::Duration::hours(2),
            )
            .unwrap();
        store
            .reserve_attempt("rate:ip:198.51.100.82:login", t)
            .unwrap();
        store
            .reserve_attempt("rate:ip:192.0.2.99:login", t)
            .unwrap();

        let dry = store
            .clear_client(c.id, ClearedBy::Schedule, "test", true, t)
            .unwrap();
        let report = store
            .clear_client(c.id, ClearedBy::Schedule, "test", false, t)
            .unwrap();
        assert_eq!(report.anonymized.auth_events, 2, "{}", db.backend());
        assert_eq!(report.kept.auth_events, 2);
        assert_eq!(report.deleted.throttle_budgets, 2);
        assert_eq!(
            (&dry.anonymized, &dry.deleted, &dry.revoked, &dry.kept),
            (
                &report.anonymized,
                &report.deleted,
                &report.revoked,
                &report.kept
            ),
            "the dry run said otherwise"
        );
        assert_eq!(
            column(
                &db,
                "SELECT throttle_key AS v FROM auth_throttle ORDER BY 1"
            ),
            [Some("rate:ip:192.0.2.99:login".to_owned())],
        );
    }
}

/// A budget remembers when its current run of counted attempts began: a budget that had
/// counted nothing any more (its delay decayed) begins a new run.
#[test]
fn a_budget_begins_a_new_run_once_it_counted_nothing() {
    for db in TestDb::all() {
        let store = open(&db);
        let key = "ip:192.0.2.5:temporary_key";
        let started = || {
            column(
                &db,
                "SELECT CAST(streak_started_at AS TEXT) AS v FROM auth_throttle",
            )
        };
        let t0 = now();
        store.reserve_attempt(key, t0).unwrap();
        let first = started();
        store
            .reserve_attempt(key, t0 + chrono::Duration::seconds(30))
            .unwrap();
        assert_eq!(started(), first, "{}: the run goes on", db.backend());
        // Two attempts counted, one forgiven a minute: quiet for three minutes counts none.
        store
            .reserve_attempt(key, t0 + chrono::Duration::minutes(4))
            .unwrap();
        assert_ne!(started(), first, "{}: a new run", db.backend());
        assert_eq!(started().len(), 1);
    }
}

/// A connection that finds SQLite's write lock taken waits with the service's busy
/// handler (`persistence::busy`), which tries again often, not with SQLite's own, which
/// sleeps up to 100 ms between tries; and gets in once the lock is free.
#[test]
fn sqlite_writers_wait_for_the_lock_with_the_services_busy_handler() {
    let db = TestDb::sqlite();
    let _store = open(&db);
    let url = DatabaseUrl::parse(&db.url).unwrap();
    let mut holder = connection::connect(&url).unwrap();
    let mut writer = connection::connect(&url).unwrap();
    holder.batch_execute("BEGIN IMMEDIATE").unwrap();
    let before = persistence::busy::waits();
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(200));
        holder.batch_execute("COMMIT").unwrap();
    });
    writer
        .batch_execute("UPDATE job_leases SET holder = holder WHERE 0 = 1")
        .expect("the writer waits for the lock, then gets it");
    release.join().unwrap();
    let tries = persistence::busy::waits() - before;
    assert!(tries >= 5, "the service's busy handler ran {tries} times");
}
