#![allow(dead_code)]

use std::sync::{Arc, OnceLock};

use actix_web::web;
use api::outside::clock::{Clock, ShiftedClock};
use api::settings::Settings;
use api::startup::Application;
use api::state::{AppState, Outside};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use persistence::{DatabaseUrl, Store};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

/// A database of its own for one test, removed when the test ends.
pub struct TestDb {
    pub url: String,
    admin_url: Option<String>,
    name: String,
}

impl TestDb {
    pub fn new() -> Self {
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(admin_url) => {
                let name = format!("bi_test_{}", Uuid::new_v4().simple());
                let mut conn = PgConnection::establish(&admin_url)
                    .expect("TEST_DATABASE_URL must reach a PostgreSQL server");
                conn.batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(base, _)| base.to_owned())
                    .expect("TEST_DATABASE_URL ends with /database");
                Self {
                    url: format!("{base}/{name}"),
                    admin_url: Some(admin_url),
                    name,
                }
            }
            None => {
                let path =
                    std::env::temp_dir().join(format!("bi-test-{}.db", Uuid::new_v4().simple()));
                Self {
                    url: format!("sqlite://{}", path.display()),
                    admin_url: None,
                    name: path.display().to_string(),
                }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.admin_url.is_some()
    }
}

impl TestDb {
    /// Takes the database away under a running app (PostgreSQL only).
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
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.admin_url {
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

/// The app on port 0 with a fresh database and a clock the test moves.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub settings: Settings,
    /// The running app's state: its store, its jobs.
    pub state: web::Data<AppState>,
    /// The app's clock: the system's time plus what the test advanced it by.
    pub clock: Arc<ShiftedClock>,
    /// Last, so that it is dropped after everything that uses it.
    pub db: TestDb,
}

/// A change to the settings a test app starts with.
type SettingsChange = Box<dyn FnOnce(&mut Settings)>;

/// How a test app starts; `TestApp::builder()`.
#[derive(Default)]
pub struct TestAppBuilder {
    changes: Vec<SettingsChange>,
}

impl TestAppBuilder {
    /// Changes the settings the app starts with (after the test defaults).
    pub fn settings(mut self, change: impl FnOnce(&mut Settings) + 'static) -> Self {
        self.changes.push(Box::new(change));
        self
    }

    pub async fn spawn(self) -> TestApp {
        init_logging();
        let db = TestDb::new();
        let mut settings = Settings {
            database_url: DatabaseUrl::parse(&db.url).expect("test database url"),
            bind: "127.0.0.1:0".parse().unwrap(),
            db_pool_size: 8,
            workers: 2,
            ..Settings::default()
        };
        for change in self.changes {
            change(&mut settings);
        }
        let clock = Arc::new(ShiftedClock::default());
        let outside = Outside {
            clock: clock.clone(),
            ..Outside::default()
        };
        let app = Application::build_with(settings.clone(), outside)
            .await
            .expect("app starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        let state = app.state();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            settings,
            state,
            clock,
            db,
        }
    }
}

fn init_logging() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = env_logger::builder().is_test(true).try_init();
    });
}

/// The app with the test defaults: `TestApp::builder().spawn()`.
pub async fn spawn_app() -> TestApp {
    TestApp::builder().spawn().await
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder::default()
    }

    /// Moves the app's clock ahead: expiries, delays and retention see the time `by` later.
    /// Keys made by `api::cli` read the system's clock: make them before moving far.
    pub fn advance(&self, by: chrono::Duration) {
        self.clock.advance(by);
    }

    /// The app's time.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// The app's own store, for arranging what the API cannot (old events, a held lease).
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// Runs the background job `name` once, now, as the app's scheduler would.
    pub async fn run_job(&self, name: &'static str) -> Option<usize> {
        let jobs = self.state.jobs.clone();
        tokio::task::spawn_blocking(move || jobs.run_once(name))
            .await
            .expect("the job ran")
            .expect("the job did its work")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Sends `body` as JSON (or nothing) with an optional bearer token.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request sent")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.send(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.send(Method::POST, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.send(Method::PUT, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.send(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        self.send(Method::DELETE, path, token, None).await
    }

    /// The operator's `bootstrap-admin`, then the key redeemed: an admin's access token.
    pub async fn admin_token(&self) -> String {
        let login = format!("admin{}", &Uuid::new_v4().simple().to_string()[..8]);
        let key =
            api::cli::bootstrap_admin(&self.settings, &login, "Admin").expect("bootstrap-admin");
        self.redeem(&key).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Redeems a one-time key; panics unless it works.
    pub async fn redeem(&self, key: &str) -> Value {
        let response = self
            .post("/api/v1/auth/temporary-key", None, json!({ "key": key }))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "redeeming a key");
        response.json().await.unwrap()
    }

    /// Creates a provider through the API and returns its JSON.
    pub async fn create_provider(&self, token: &str, slug: &str) -> Value {
        let response = self
            .post(
                "/api/v1/providers",
                Some(token),
                json!({ "slug": slug, "name": format!("{slug} hosting"), "jurisdiction": "DE" }),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "creating provider {slug}"
        );
        response.json().await.unwrap()
    }
}

/// Asserts a problem+json answer with `status` and `code`; returns the body.
pub async fn assert_problem(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json", "content type");
    let body: Value = response.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["title"].is_string() && body["detail"].is_string() && body["type"].is_string(),
        "{body}"
    );
    body
}

pub async fn json_ok(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "body: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}
