//! The test app, ready-made objects made through the API, and tables of expected problems.

use std::fmt;
use std::ops::Index;
use std::sync::{Arc, Mutex, OnceLock};

use actix_web::web;
use api::outside::clock::{Clock, ShiftedClock};
use api::outside::sms::SmsGateway;
use api::settings::Settings;
use api::startup::Application;
use api::state::{AppState, Outside};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use persistence::{DatabaseUrl, Store};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

/// The PostgreSQL URL rules the store's own tests use (no TLS on loopback).
#[path = "../../persistence/src/test_support.rs"]
mod test_support;
use test_support::test_database_urls;

/// A database of its own for one test, removed when the test ends.
pub struct TestDb {
    pub url: String,
    admin_url: Option<String>,
    name: String,
    /// Removed when dropped (not for a second instance's view of another test's database).
    owned: bool,
}

impl TestDb {
    pub fn new() -> Self {
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(admin_url) => {
                let name = format!("bi_test_{}", Uuid::new_v4().simple());
                let (admin_url, url) = test_database_urls(&admin_url, &name);
                let mut conn = PgConnection::establish(&admin_url)
                    .expect("TEST_DATABASE_URL must reach a PostgreSQL server");
                conn.batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                Self {
                    url,
                    admin_url: Some(admin_url),
                    name,
                    owned: true,
                }
            }
            None => {
                let path =
                    std::env::temp_dir().join(format!("bi-test-{}.db", Uuid::new_v4().simple()));
                Self {
                    url: format!("sqlite://{}", path.display()),
                    admin_url: None,
                    name: path.display().to_string(),
                    owned: true,
                }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.admin_url.is_some()
    }

    /// Takes the database away under a running app: PostgreSQL's is dropped; SQLite's file
    /// is removed (the open connections still read the unlinked file, but nothing written
    /// from then on survives a restart).
    pub fn drop_now(&self) {
        match &self.admin_url {
            Some(admin_url) => {
                let mut conn = PgConnection::establish(admin_url).expect("admin connection");
                conn.batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ))
                .expect("drop test database");
            }
            None => std::fs::remove_file(&self.name).expect("remove the SQLite file"),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
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
    sms: Option<Arc<dyn SmsGateway>>,
}

impl TestAppBuilder {
    /// Changes the settings the app starts with (after the test defaults).
    pub fn settings(mut self, change: impl FnOnce(&mut Settings) + 'static) -> Self {
        self.changes.push(Box::new(change));
        self
    }

    /// Sends text messages through `sms` (a double) instead of the configured gateways.
    pub fn sms(mut self, sms: Arc<dyn SmsGateway>) -> Self {
        self.sms = Some(sms);
        self
    }

    pub async fn spawn(self) -> TestApp {
        self.spawn_on(TestDb::new()).await
    }

    async fn spawn_on(self, db: TestDb) -> TestApp {
        init_logging();
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
            sms: self.sms,
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

/// Every log line the app wrote in this test process (nextest runs each test in a process
/// of its own), so that a test can look for what must never be logged.
static CAPTURED: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct CapturingLogger;

impl log::Log for CapturingLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            let line = format!("{} {} {}", record.level(), record.target(), record.args());
            eprintln!("{line}");
            CAPTURED
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(line);
        }
    }

    fn flush(&self) {}
}

fn init_logging() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        if log::set_logger(&CapturingLogger).is_ok() {
            log::set_max_level(log::LevelFilter::Info);
        }
    });
}

/// The log lines captured so far, one string.
pub fn captured_log() -> String {
    CAPTURED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .join("\n")
}

/// The app with the test defaults: `TestApp::builder().spawn()`.
pub async fn spawn_app() -> TestApp {
    TestApp::builder().spawn().await
}

/// The access token of a token pair (a login's, a registration's, a redeemed key's).
pub fn access(tokens: &Value) -> &str {
    tokens["access_token"].as_str().expect("an access token")
}

/// An object the API created: its id and the JSON it answered with.
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    pub id: String,
    pub json: Value,
}

impl Created {
    fn new(json: Value) -> Self {
        let id = json["id"].as_str().expect("an id").to_owned();
        Self { id, json }
    }
}

impl Index<&str> for Created {
    type Output = Value;

    fn index(&self, field: &str) -> &Value {
        &self.json[field]
    }
}

/// An employee created through the API and signed in with a key staff issued for them.
pub struct Staff {
    pub employee: Created,
    pub token: String,
}

/// A user who signed up through the API: a client of their own, and signed in.
pub struct SignedUp {
    pub user_id: String,
    pub client_id: String,
    pub tokens: Value,
}

impl SignedUp {
    pub fn access(&self) -> &str {
        access(&self.tokens)
    }
}

/// The password `register` signs users up with.
pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder::default()
    }

    /// The app started, an admin's token, and a provider per slug: ready for clients and users.
    pub async fn with_providers<const N: usize>(
        slugs: [&str; N],
    ) -> (TestApp, String, [Created; N]) {
        let app = spawn_app().await;
        let admin = app.admin_token().await;
        let mut providers = Vec::with_capacity(N);
        for slug in slugs {
            providers.push(app.create_provider(&admin, slug).await);
        }
        let providers = providers.try_into().expect("one provider per slug");
        (app, admin, providers)
    }

    /// Moves the app's clock ahead: expiries, delays and retention see the time `by` later.
    /// Keys made by `api::cli` read the system's clock: make them before moving far.
    /// Another instance of the app on this app's database, as a second container would be:
    /// a store, caches and a clock of its own (the clock set to this app's).
    pub async fn second_instance(&self) -> TestApp {
        let db = TestDb {
            url: self.db.url.clone(),
            admin_url: self.db.admin_url.clone(),
            name: self.db.name.clone(),
            owned: false,
        };
        let other = TestApp::builder().spawn_on(db).await;
        other.advance(self.now() - other.now());
        other
    }

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

    /// Sends `call` with an optional bearer token.
    pub async fn request(&self, call: &Call, token: Option<&str>) -> Response {
        let mut request = self
            .client
            .request(call.method.clone(), self.url(&call.path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        request = match &call.body {
            Body::None => request,
            Body::Json(body) => request.json(body),
            Body::Raw { content_type, text } => request
                .header("content-type", *content_type)
                .body(text.clone()),
        };
        request.send().await.expect("request sent")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(&Call::get(path), token).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.request(&Call::post(path, body), token).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.request(&Call::put(path, body), token).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.request(&Call::patch(path, body), token).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        self.request(&Call::delete(path), token).await
    }

    /// Every page of the list at `path` (which sets its `limit`), following `next_cursor`
    /// until it is null.
    pub async fn pages(&self, token: &str, path: &str) -> Vec<Vec<Value>> {
        let mut pages = Vec::new();
        let mut next = path.to_owned();
        loop {
            let page = json_ok(self.get(&next, Some(token)).await, 200).await;
            pages.push(page["items"].as_array().expect("items").clone());
            if page["next_cursor"].is_null() {
                return pages;
            }
            let cursor = page["next_cursor"].as_str().expect("a cursor");
            assert!(pages.len() < 100, "{path}: no end to the pages");
            next = format!("{path}&cursor={cursor}");
        }
    }

    /// Sets the status of the client, user, employee or provider at `path`; the answer.
    pub async fn set_status(&self, token: &str, path: &str, status: &str) -> Value {
        let body = json!({ "status": status });
        json_ok(self.patch(path, Some(token), body).await, 200).await
    }

    /// Reads the form at `path`, changes it with `change` and puts it back; the answer.
    pub async fn update(&self, token: &str, path: &str, change: impl FnOnce(&mut Value)) -> Value {
        let mut form = json_ok(self.get(path, Some(token)).await, 200).await;
        change(&mut form);
        json_ok(self.put(path, Some(token), form).await, 200).await
    }

    /// The reasons of the auth log's events that `query` selects (`method=…&…`), oldest
    /// first, as `token` (staff who may read the log) sees them.
    pub async fn auth_reasons(&self, token: &str, query: &str) -> Vec<String> {
        let path = format!("/api/v1/auth-events?limit=200&{query}");
        let page = json_ok(self.get(&path, Some(token)).await, 200).await;
        let mut reasons: Vec<String> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["reason"].as_str().unwrap().to_owned())
            .collect();
        reasons.reverse();
        reasons
    }

    /// The operator's `bootstrap-admin`, then the key redeemed and TOTP enrolled (admins
    /// must have a second factor): an admin's access token whose session proved it.
    pub async fn admin_token(&self) -> String {
        let login = format!("admin{}", &Uuid::new_v4().simple().to_string()[..8]);
        let key =
            api::cli::bootstrap_admin(&self.settings, &login, "Admin").expect("bootstrap-admin");
        let token = access(&self.redeem(&key).await).to_owned();
        self.enroll_totp(&token).await;
        token
    }

    /// Enrolls and confirms TOTP for whoever `token` signs in, with a code computed from
    /// the returned secret; confirming also proves the factor for that session. The secret.
    pub async fn enroll_totp(&self, token: &str) -> String {
        let enroll = Call::new(Method::POST, "/api/v1/me/totp");
        let enrolled = json_ok(self.request(&enroll, Some(token)).await, 201).await;
        let secret = enrolled["secret"].as_str().expect("a secret").to_owned();
        let code = self.totp_code(&secret, 0);
        let body = json!({ "code": code });
        json_ok(
            self.post("/api/v1/me/totp/confirm", Some(token), body)
                .await,
            200,
        )
        .await;
        secret
    }

    /// The TOTP code of `secret` for the app's time `steps` 30-second steps from now.
    pub fn totp_code(&self, secret: &str, steps: i64) -> String {
        totp_code_at(secret, self.now().timestamp() + steps * 30)
    }

    /// Redeems a one-time key; panics unless it works.
    pub async fn redeem(&self, key: &str) -> Value {
        let response = self
            .post("/api/v1/auth/temporary-key", None, json!({ "key": key }))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "redeeming a key");
        response.json().await.unwrap()
    }

    /// Issues a key through the API (`subject` is `users/{id}` or `employees/{id}`) and
    /// redeems it: the subject's access token.
    pub async fn sign_in_by_key(&self, admin: &str, subject: &str) -> String {
        let issued = json_ok(
            self.post(
                &format!("/api/v1/{subject}/temporary-keys"),
                Some(admin),
                json!({}),
            )
            .await,
            201,
        )
        .await;
        let tokens = self.redeem(issued["key"].as_str().unwrap()).await;
        access(&tokens).to_owned()
    }

    /// A user's access token, from a key staff issued through the API.
    pub async fn user_token(&self, admin: &str, user_id: &str) -> String {
        self.sign_in_by_key(admin, &format!("users/{user_id}"))
            .await
    }

    /// Creates a provider `slug` through the API.
    pub async fn create_provider(&self, token: &str, slug: &str) -> Created {
        let body = json!({ "slug": slug, "name": format!("{slug} hosting"), "jurisdiction": "DE" });
        Created::new(json_ok(self.post("/api/v1/providers", Some(token), body).await, 201).await)
    }

    /// Creates a client of the provider through the API.
    pub async fn create_client(&self, token: &str, provider_id: &str, name: &str) -> Created {
        let path = format!("/api/v1/providers/{provider_id}/clients");
        let body = json!({ "name": name });
        Created::new(json_ok(self.post(&path, Some(token), body).await, 201).await)
    }

    /// Creates a user of the client through the API.
    pub async fn create_user(&self, token: &str, client_id: &str, email: &str) -> Created {
        let path = format!("/api/v1/clients/{client_id}/users");
        let body = json!({ "email": email, "name": "Anna Schmidt" });
        Created::new(json_ok(self.post(&path, Some(token), body).await, 201).await)
    }

    /// A client of the provider with one user, both created by staff: (client, user).
    pub async fn client_with_user(
        &self,
        token: &str,
        provider_id: &str,
        email: &str,
    ) -> (Created, Created) {
        let client = self
            .create_client(token, provider_id, &format!("{email}'s shop"))
            .await;
        let user = self.create_user(token, &client.id, email).await;
        (client, user)
    }

    /// Signs up with the provider `slug` through its public registration, with `PASSWORD`.
    pub async fn register(&self, slug: &str, email: &str) -> SignedUp {
        let path = format!("/api/v1/providers/{slug}/registrations");
        let body = json!({ "email": email, "name": "Anna Schmidt", "password": PASSWORD });
        let mut answer = json_ok(self.post(&path, None, body).await, 201).await;
        SignedUp {
            user_id: answer["user_id"].as_str().unwrap().to_owned(),
            client_id: answer["client_id"].as_str().unwrap().to_owned(),
            tokens: answer["tokens"].take(),
        }
    }

    /// A full-scope API token that never expires, for whoever `token` signs in: for tests
    /// that skip years, which access tokens do not outlive.
    pub async fn lasting_token(&self, token: &str) -> String {
        self.create_api_token(token, json!({ "name": "lasting", "scope": "full" }))
            .await["secret"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Mints an API token for whoever `token` signs in: the answer, with its `secret`.
    pub async fn create_api_token(&self, token: &str, body: Value) -> Value {
        json_ok(
            self.post("/api/v1/me/api-tokens", Some(token), body).await,
            201,
        )
        .await
    }

    /// Creates an employee through the API with `roles`, limited to `providers` (`None`: all),
    /// and signs them in with a key issued through the API.
    pub async fn create_employee(
        &self,
        admin: &str,
        login: &str,
        roles: &[&str],
        providers: Option<&[&str]>,
    ) -> Staff {
        let body = json!({
            "login": login,
            "name": format!("{login} staff"),
            "roles": roles,
            "providers": providers,
        });
        let employee = Created::new(
            json_ok(self.post("/api/v1/employees", Some(admin), body).await, 201).await,
        );
        let token = self
            .sign_in_by_key(admin, &format!("employees/{}", employee.id))
            .await;
        // Staff with an admin permission must have a second factor; every helper-made
        // employee has one, so tests see the enforcement pass.
        self.enroll_totp(&token).await;
        Staff { employee, token }
    }

    /// Asserts that each call, made with `token`, answers the problem `status` and `code`.
    pub async fn assert_problems<'c>(
        &self,
        token: Option<&str>,
        status: u16,
        code: &str,
        calls: impl IntoIterator<Item = &'c Call>,
    ) {
        for call in calls {
            check_problem(self.request(call, token).await, status, code, call).await;
        }
    }

    /// Asserts that each call, made with `token`, answers `status`.
    pub async fn assert_statuses<'c>(
        &self,
        token: Option<&str>,
        status: u16,
        calls: impl IntoIterator<Item = &'c Call>,
    ) {
        for call in calls {
            let response = self.request(call, token).await;
            let actual = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            assert_eq!(actual, status, "{call} answered {text}");
        }
    }

    /// Asserts that each call, made with `token`, is refused as invalid with exactly the
    /// given JSON pointers (sorted) in its `errors`.
    pub async fn assert_invalid(&self, token: Option<&str>, cases: &[(Call, &[&str])]) {
        for (call, expected) in cases {
            let response = self.request(call, token).await;
            let problem = check_problem(response, 422, "validation_failed", call).await;
            assert_eq!(pointers(&problem), *expected, "{call} → {problem}");
        }
    }

    /// Asserts the body checks every JSON operation shares: malformed JSON is a 400, a body
    /// that is not declared JSON a 415.
    pub async fn assert_bad_bodies(&self, token: Option<&str>, method: Method, path: &str) {
        let malformed = Call::new(method.clone(), path).raw("application/json", "{");
        let not_json = Call::new(method, path).raw("text/plain", "{}");
        self.assert_problems(token, 400, "malformed_json", [&malformed])
            .await;
        self.assert_problems(token, 415, "unsupported_media_type", [&not_json])
            .await;
    }
}

/// Asserts that of parallel uses of one secret exactly one won (200) and the others were
/// refused (401) or throttled (429).
pub fn assert_one_won(statuses: &[u16]) {
    let won = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(won, 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [200, 401, 429].contains(s)),
        "{statuses:?}"
    );
}

/// The TOTP code (RFC 6238: SHA-1, 6 digits, 30 s) of the base32 `secret` at `unix` seconds.
pub fn totp_code_at(secret: &str, unix: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .expect("a base32 secret");
    let totp = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes).unwrap();
    totp.generate(u64::try_from(unix).unwrap())
}

/// A request of a table: method, path and body; the token goes with the table.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    pub path: String,
    body: Body,
    headers: Vec<(&'static str, String)>,
}

#[derive(Debug, Clone)]
enum Body {
    None,
    Json(Value),
    Raw {
        content_type: &'static str,
        text: String,
    },
}

impl Call {
    /// No body.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            body: Body::None,
            headers: Vec::new(),
        }
    }

    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    pub fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path)
    }

    pub fn post(path: impl Into<String>, body: Value) -> Self {
        Self::new(Method::POST, path).json(body)
    }

    pub fn put(path: impl Into<String>, body: Value) -> Self {
        Self::new(Method::PUT, path).json(body)
    }

    pub fn patch(path: impl Into<String>, body: Value) -> Self {
        Self::new(Method::PATCH, path).json(body)
    }

    /// With `body` as JSON.
    pub fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }

    /// With one more request header.
    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    /// With `text` as the body, declared as `content_type`.
    pub fn raw(mut self, content_type: &'static str, text: &str) -> Self {
        self.body = Body::Raw {
            content_type,
            text: text.to_owned(),
        };
        self
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        match &self.body {
            Body::None => Ok(()),
            Body::Json(body) => write!(f, " {body}"),
            Body::Raw { content_type, text } => write!(f, " ({content_type}) {text}"),
        }
    }
}

/// The sorted JSON pointers of a validation problem's `errors`.
pub fn pointers(problem: &Value) -> Vec<String> {
    let mut found: Vec<String> = problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["pointer"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// Asserts a problem+json answer with `status` and `code`; returns the body.
pub async fn assert_problem(response: Response, status: u16, code: &str) -> Value {
    check_problem(response, status, code, "the request").await
}

async fn check_problem(
    response: Response,
    status: u16,
    code: &str,
    what: impl fmt::Display,
) -> Value {
    let actual = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(actual, status, "{what}: status; body {text}");
    assert_eq!(
        content_type, "application/problem+json",
        "{what}: content type; body {text}"
    );
    let body: Value = serde_json::from_str(&text).expect("problem body is JSON");
    assert_eq!(body["status"], status, "{what}: {body}");
    assert_eq!(body["code"], code, "{what}: {body}");
    assert!(
        body["title"].is_string() && body["detail"].is_string() && body["type"].is_string(),
        "{what}: {body}"
    );
    body
}

pub async fn json_ok(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "body: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}
