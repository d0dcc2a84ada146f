//! Clearing a large client (issue 10): 1,000 users and 100,000 auth events (with addresses
//! and user agents, sealed under each user's origin key as the service writes them), 1,000
//! sessions with refresh tokens, on SQLite and (when `TEST_DATABASE_URL` names a server)
//! PostgreSQL. Beside it, the raw UPDATE/DELETE statements that do the same core work on
//! the same data, the raw statements of rewriting every event instead (what clearing did
//! before origins were sealed), how long a sign-in of another client (an auth-event insert)
//! waits while a clearing runs, and how long the sweep of the unreadable sealed origins
//! takes after it.
//!
//! Run: `cargo bench -p billing-identity --bench clearing`
//! (with PostgreSQL: `TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo bench …`).
//! Figures in the README.

use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use diesel::connection::SimpleConnection;
use domain::gdpr::ClearedBy;
use domain::model::Subject;
use persistence::connection::connect;
use persistence::origin::OriginKey;
use persistence::{AuthEventRecord, DatabaseUrl, DbConnection, Store};
use uuid::Uuid;

#[path = "../../persistence/src/test_support.rs"]
mod test_support;
use test_support::TestDb;

const USERS: usize = 1_000;
const EVENTS_PER_USER: usize = 100;
const ROWS_PER_INSERT: usize = 500;
const AT: &str = "2026-11-20 10:00:00";
const AT_UNIX_SECONDS: u64 = 1_795_168_800;

fn execute(conn: &mut DbConnection, sql: &str) {
    match conn {
        DbConnection::Sqlite(c) => c.batch_execute(sql),
        DbConnection::Pg(c) => c.batch_execute(sql),
    }
    .unwrap_or_else(|e| panic!("{e}: {}", &sql[..sql.len().min(200)]));
}

/// Inserts `rows` (each a parenthesised value list) into `table (columns)` in statements
/// of `ROWS_PER_INSERT` rows.
fn insert(conn: &mut DbConnection, table: &str, columns: &str, rows: &[String]) {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        execute(
            conn,
            &format!("INSERT INTO {table} ({columns}) VALUES {}", chunk.join(",")),
        );
    }
}

/// A provider's client with `USERS` users, each with a session, a refresh token and
/// `EVENTS_PER_USER` auth events; its id.
fn seed_client(conn: &mut DbConnection, provider: Uuid) -> Uuid {
    let client = Uuid::now_v7();
    execute(conn, "BEGIN");
    execute(
        conn,
        &format!(
            "INSERT INTO clients (id, provider_id, name, status, created_at, updated_at, version)
             VALUES ('{client}', '{provider}', 'Large Client GmbH', 'active', '{AT}', '{AT}', 1)"
        ),
    );
    let users: Vec<(Uuid, String)> = (0..USERS)
        .map(|_| (Uuid::now_v7(), OriginKey::generate()))
        .collect();
    let rows: Vec<String> = users
        .iter()
        .enumerate()
        .map(|(i, (u, key))| {
            format!(
                "('{u}', '{provider}', '{client}', 'user{i}.{}@example.org', 'User {i}', '+4930{i:07}', 'active', NULL, '{AT}', '{AT}', 1, '{key}')",
                client.simple()
            )
        })
        .collect();
    insert(
        conn,
        "users",
        "id, provider_id, client_id, email, name, phone, status, password_hash, created_at, updated_at, version, origin_key",
        &rows,
    );
    let sessions: Vec<(Uuid, Uuid)> = users.iter().map(|(u, _)| (Uuid::now_v7(), *u)).collect();
    let rows: Vec<String> = sessions
        .iter()
        .map(|(s, u)| {
            format!("('{s}', 'user', '{u}', '{provider}', 'password', '198.51.100.9', 'Bench/1.0', '{AT}', '{AT}', '2027-11-20 10:00:00', NULL)")
        })
        .collect();
    insert(
        conn,
        "sessions",
        "id, subject_kind, subject_id, provider_id, method, ip, user_agent, created_at, last_seen_at, expires_at, revoked_at",
        &rows,
    );
    let rows: Vec<String> = sessions
        .iter()
        .map(|(s, _)| format!("('{}', '{s}', '{AT}', NULL)", Uuid::new_v4().simple()))
        .collect();
    insert(
        conn,
        "refresh_tokens",
        "token_hash, session_id, created_at, used_at",
        &rows,
    );
    let rows: Vec<String> = users
        .iter()
        .flat_map(|(u, key)| {
            let key = OriginKey::parse(key).unwrap();
            (0..EVENTS_PER_USER).map(move |i| {
                // As the service makes them: UUIDv7 of the event's time.
                let id = Uuid::new_v7(uuid::Timestamp::from_unix(
                    uuid::NoContext,
                    AT_UNIX_SECONDS,
                    0,
                ))
                .to_string();
                let ip = format!("203.0.113.{}", i % 250);
                let sealed = key.seal(&id, Some(&ip), Some("Bench/1.0"));
                format!(
                    "('{id}', '{provider}', 'user', '{u}', 'password', 'success', 'ok', NULL, NULL, '{sealed}', '{AT}')"
                )
            })
        })
        .collect();
    insert(
        conn,
        "auth_events",
        "id, provider_id, subject_kind, subject_id, method, outcome, reason, ip, user_agent, sealed_origin, created_at",
        &rows,
    );
    execute(conn, "COMMIT");
    client
}

struct Bench {
    _db: TestDb,
    url: DatabaseUrl,
    store: Store,
    conn: DbConnection,
    provider: Uuid,
}

fn bench_db(db: TestDb) -> Bench {
    let at = chrono::NaiveDateTime::parse_from_str(AT, "%Y-%m-%d %H:%M:%S").unwrap();
    assert_eq!(at.and_utc().timestamp(), AT_UNIX_SECONDS as i64);
    let url = DatabaseUrl::parse(&db.url).unwrap();
    let store = Store::open(&url, 4).unwrap();
    store.migrate().unwrap();
    let mut conn = connect(&url).unwrap();
    let provider = Uuid::now_v7();
    execute(
        &mut conn,
        &format!(
            "INSERT INTO providers (id, slug, name, jurisdiction, status, auth_methods, policies, created_at, updated_at, version)
             VALUES ('{provider}', 'bench', 'Bench', 'DE', 'active', '{{}}', '{{}}', '{AT}', '{AT}', 1)"
        ),
    );
    // Budgets named by addresses, as recent logins from anywhere leave them: a clearing
    // looks for its users' addresses among their events of these budgets' current runs.
    let streak = (Utc::now() - chrono::Duration::minutes(5)).format("%Y-%m-%d %H:%M:%S");
    let last = Utc::now().format("%Y-%m-%d %H:%M:%S");
    let rows: Vec<String> = (1..=20)
        .map(|i| format!("('rate:ip:203.0.113.{i}:login', 3, '{last}', '{streak}')"))
        .collect();
    insert(
        &mut conn,
        "auth_throttle",
        "throttle_key, failures, last_attempt_at, streak_started_at",
        &rows,
    );
    Bench {
        _db: db,
        url,
        store,
        conn,
        provider,
    }
}

/// The core of clearing as hand-written statements, in one transaction: the users'
/// origin keys are destroyed; with `rewrite_events`, every event's origin is set to NULL
/// as well (what clearing had to do before origins were sealed).
fn raw_clearing(conn: &mut DbConnection, client: Uuid, rewrite_events: bool) {
    let users = format!("SELECT id FROM users WHERE client_id = '{client}'");
    let events = if rewrite_events {
        format!(
            "UPDATE auth_events SET ip = NULL, user_agent = NULL, sealed_origin = NULL
                 WHERE subject_kind = 'user' AND subject_id IN ({users});"
        )
    } else {
        String::new()
    };
    execute(
        conn,
        &format!(
            "BEGIN;
             UPDATE clients SET name = 'anonymized', status = 'disabled' WHERE id = '{client}';
             UPDATE users SET email = id || '@anonymized.invalid', name = 'anonymized', phone = NULL,
                 password_hash = NULL, status = 'disabled', origin_key = '' WHERE client_id = '{client}';
             DELETE FROM refresh_tokens WHERE session_id IN
                 (SELECT id FROM sessions WHERE subject_kind = 'user' AND subject_id IN ({users}));
             UPDATE sessions SET ip = NULL, user_agent = NULL, revoked_at = '{AT}'
                 WHERE subject_kind = 'user' AND subject_id IN ({users});
             {events}
             COMMIT;"
        ),
    );
}

/// A backend's name and how to make a database of it (`None`: not configured).
type Backend = (&'static str, fn() -> Option<TestDb>);

fn backends() -> Vec<Backend> {
    vec![
        ("sqlite", || Some(TestDb::sqlite())),
        ("postgres", TestDb::postgres),
    ]
}

fn clearing(c: &mut Criterion) {
    for (name, make) in backends() {
        let Some(db) = make() else {
            eprintln!("{name}: skipped (set TEST_DATABASE_URL to a PostgreSQL server)");
            continue;
        };
        let mut b = bench_db(db);
        // First, on the fresh database: after the runs below, the millions of rows they
        // wrote keep PostgreSQL busy (checkpoints, autovacuum) and the waits measure that.
        other_clients_wait(name, &mut b);
        let mut group = c.benchmark_group(format!("clear_1000_users_100000_events/{name}"));
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(1))
            .measurement_time(Duration::from_secs(1));
        group.bench_function("clear_client", |bench| {
            bench.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let client = seed_client(&mut b.conn, b.provider);
                    let started = Instant::now();
                    b.store
                        .clear_client(client, ClearedBy::Schedule, "bench", false, Utc::now())
                        .unwrap();
                    total += started.elapsed();
                }
                total
            })
        });
        for (raw, rewrite_events) in [
            ("raw_statements", false),
            ("raw_statements_rewriting_every_event", true),
        ] {
            group.bench_function(raw, |bench| {
                bench.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let client = seed_client(&mut b.conn, b.provider);
                        let started = Instant::now();
                        raw_clearing(&mut b.conn, client, rewrite_events);
                        total += started.elapsed();
                    }
                    total
                })
            });
        }
        group.finish();
    }
}

/// While a clearing and then the sweep after it run, another client's sign-ins (auth-event
/// inserts, one per transaction, back to back) go on: the longest wait of one in each
/// phase, beside the longest with nothing else running.
fn other_clients_wait(name: &str, b: &mut Bench) {
    let client = seed_client(&mut b.conn, b.provider);
    let store = Store::open(&b.url, 2).unwrap();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let signer = {
        let done = done.clone();
        let provider = b.provider;
        std::thread::spawn(move || {
            // When each sign-in started and how long it took.
            let mut waits: Vec<(Instant, Duration)> = Vec::new();
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let started = Instant::now();
                store
                    .insert_auth_event(&AuthEventRecord {
                        id: Uuid::now_v7(),
                        provider_id: Some(provider),
                        subject: Some(Subject::user(Uuid::now_v7())),
                        method: "password".into(),
                        outcome: "success".into(),
                        reason: "ok".into(),
                        ip: Some("192.0.2.1".into()),
                        user_agent: None,
                        created_at: Utc::now(),
                    })
                    .unwrap();
                waits.push((started, started.elapsed()));
            }
            waits
        })
    };
    let quiet_from = Instant::now();
    std::thread::sleep(Duration::from_millis(300));
    let clearing_from = Instant::now();
    b.store
        .clear_client(client, ClearedBy::Schedule, "bench", false, Utc::now())
        .unwrap();
    let clearing_to = Instant::now();
    std::thread::sleep(Duration::from_millis(50));
    let sweep_from = Instant::now();
    let swept = b
        .store
        .sweep_cleared_origins(api::jobs::SWEEP_BATCH, Utc::now())
        .unwrap();
    let sweep_to = Instant::now();
    std::thread::sleep(Duration::from_millis(50));
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let waits = signer.join().unwrap();
    // The longest wait of a sign-in that overlapped [from, to), and how many there were.
    let longest = |from: Instant, to: Instant| {
        let during: Vec<Duration> = waits
            .iter()
            .filter(|(start, took)| *start < to && *start + *took > from)
            .map(|(_, took)| *took)
            .collect();
        (
            during.iter().max().copied().unwrap_or_default(),
            during.len(),
        )
    };
    let (quiet, quiet_n) = longest(quiet_from, clearing_from);
    let (clearing, clearing_n) = longest(clearing_from, clearing_to);
    let (sweep, sweep_n) = longest(sweep_from, sweep_to);
    println!(
        "{name}: another client's sign-ins, the longest wait: {quiet:.2?} with nothing else running ({quiet_n} in 300 ms); \
         {clearing:.2?} while a clearing ran ({clearing_n} in {:.2?}); \
         {sweep:.2?} while the sweep of its {swept} sealed origins ran ({sweep_n} in {:.2?})",
        clearing_to - clearing_from,
        sweep_to - sweep_from,
    );
}

criterion_group!(benches, clearing);
criterion_main!(benches);
