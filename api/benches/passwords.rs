//! Password hashing cost, raw and through the service: argon2id with the policy's parameters
//! (m = 19 MiB, t = 2, p = 1) next to password logins over HTTP on the same machine.
//!
//! Run: `cargo bench -p billing-identity --bench passwords` (figures in the README).
//! Each benchmark reports elements per second: hashes, verifications or logins.

use std::hint::black_box;
use std::time::Duration;

use api::passwords::{Argon2Implementation, PasswordHasherPool, Verified};
use api::settings::Settings;
use api::startup::Application;
use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use domain::model::Employee;
use domain::permission::{ProviderScope, Role};
use domain::provider::AccountStatus;
use persistence::DatabaseUrl;
use serde_json::json;
use uuid::Uuid;

const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const PASSWORD: &str = "correct horse battery staple, twice";

fn argon2id() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, 1, None).expect("valid parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn raw_hash(argon2: &Argon2<'_>, salt: &SaltString) -> String {
    argon2
        .hash_password(black_box(PASSWORD.as_bytes()), salt)
        .expect("hash")
        .to_string()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// argon2id alone: one thread, then both cores (the machine's ceiling).
fn raw(c: &mut Criterion) {
    let argon2 = argon2id();
    let salt = SaltString::encode_b64(b"a fixed salt 16B").expect("salt");
    let mut group = c.benchmark_group("argon2id m=19456 t=2 p=1");
    group.throughput(Throughput::Elements(1));
    group.bench_function("raw hash, 1 thread", |b| {
        b.iter(|| raw_hash(&argon2, &salt))
    });
    group.throughput(Throughput::Elements(2));
    group.bench_function("raw hash, 2 threads", |b| {
        b.iter(|| {
            std::thread::scope(|s| {
                let one = s.spawn(|| raw_hash(&argon2, &salt));
                let two = s.spawn(|| raw_hash(&argon2, &salt));
                (one.join().unwrap(), two.join().unwrap())
            })
        })
    });

    // The service's bounded pool (PASSWORD_HASH_CONCURRENCY = 2): what a login pays for
    // checking a password, with the blocking-thread hand-off.
    let rt = runtime();
    let pool = PasswordHasherPool::new(MEMORY_KIB, ITERATIONS, 2, Argon2Implementation::Auto)
        .expect("pool");
    let stored = rt
        .block_on(pool.hash(PASSWORD.to_owned()))
        .expect("hash for the pool");
    group.bench_function("pool verify, 2 at once", |b| {
        b.iter(|| {
            rt.block_on(async {
                let (one, two) = tokio::join!(
                    pool.verify(PASSWORD.to_owned(), Some(stored.clone())),
                    pool.verify(PASSWORD.to_owned(), Some(stored.clone())),
                );
                assert_eq!(one.expect("verify"), Verified::Yes);
                assert_eq!(two.expect("verify"), Verified::Yes);
            })
        })
    });
    group.finish();
}

/// Full password logins (`POST /api/v1/auth/login`) against the real app on SQLite: JSON,
/// throttle bookkeeping, argon2id verification, session and refresh token, the auth log,
/// the signed access token.
fn login(c: &mut Criterion) {
    let rt = runtime();
    let db_path = std::env::temp_dir().join(format!("bi-bench-{}.db", Uuid::new_v4().simple()));
    let settings = Settings {
        database_url: DatabaseUrl::parse(&format!("sqlite://{}", db_path.display()))
            .expect("database url"),
        bind: "127.0.0.1:0".parse().unwrap(),
        workers: 2,
        ..Settings::default()
    };
    // Two employees with a password, written straight to the store. Concurrent logins use
    // different accounts: attempts on one account are serialised by its failure budget.
    let logins = ["bench-a", "bench-b"];
    let address = rt.block_on(async {
        let app = Application::build(settings).await.expect("app starts");
        let address = format!("http://127.0.0.1:{}/api/v1/auth/login", app.port());
        let state = app.state();
        tokio::spawn(app.run_until_stopped());
        for login in logins {
            let hash = state.passwords.hash(PASSWORD.to_owned()).await.unwrap();
            let now = chrono::Utc::now();
            let employee = Employee {
                id: Uuid::now_v7(),
                login: login.to_owned(),
                name: "Bench".into(),
                email: None,
                status: AccountStatus::Active,
                roles: vec![Role::Admin],
                providers: ProviderScope::All,
                has_password: true,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            state
                .store
                .insert_employee(&employee, Some(hash))
                .expect("insert employee");
        }
        address
    });
    let client = reqwest::Client::new();
    let once = |login: &'static str| {
        let request = client
            .post(&address)
            .json(&json!({ "login": login, "password": PASSWORD }));
        async move {
            let response = request.send().await.expect("request");
            assert_eq!(response.status(), 200, "login succeeds");
            response.bytes().await.expect("body")
        }
    };
    rt.block_on(once(logins[0]));

    let mut group = c.benchmark_group("password login over HTTP");
    group.throughput(Throughput::Elements(1));
    group.bench_function("1 at a time", |b| b.iter(|| rt.block_on(once(logins[0]))));
    group.throughput(Throughput::Elements(2));
    group.bench_function("2 at once", |b| {
        b.iter(|| rt.block_on(async { tokio::join!(once(logins[0]), once(logins[1])) }))
    });
    group.finish();

    drop(rt);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db_path.display()));
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10));
    targets = raw, login
}
criterion_main!(benches);
