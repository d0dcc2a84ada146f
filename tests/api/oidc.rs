//! Signing in through OpenID Connect against a real provider: npm `oidc-provider`
//! (tests/oidc/provider.mjs) on loopback, driven without a browser. The ID-token checks that
//! need a token no real provider would issue use a wiremock provider with hand-made tokens.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{Created, TestApp, access, assert_problem, json_ok, spawn_app};

/// The redirect URI the test provider's clients allow (its default) and ours is set to.
const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// The test provider's process; killed when the test ends (and it exits by itself when its
/// standard input closes, should the test process die first).
struct TestProvider {
    child: Child,
    _stdin: ChildStdin,
    port: u16,
    http: reqwest::Client,
}

impl TestProvider {
    fn start() -> Self {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/oidc");
        assert!(
            std::path::Path::new(dir)
                .join("node_modules/oidc-provider")
                .exists(),
            "the test OpenID Provider is not installed: run `npm ci` in tests/oidc (.ci/run does)"
        );
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .arg(REDIRECT)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs");
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("the provider prints its port");
        let port = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Self {
            child,
            _stdin: stdin,
            port,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.issuer()));
        if let Some(body) = body {
            request = request.json(&body);
        }
        assert_eq!(request.send().await.unwrap().status(), 204, "{path}");
    }

    async fn set_account(&self, id: &str, claims: Value) {
        self.control(
            reqwest::Method::PUT,
            &format!("/__test/accounts/{id}"),
            Some(claims),
        )
        .await;
    }

    async fn rotate_keys(&self) {
        self.control(reqwest::Method::POST, "/__test/rotate-keys", None)
            .await;
    }

    async fn delay(&self, ms: u64) {
        self.control(reqwest::Method::POST, &format!("/__test/delay/{ms}"), None)
            .await;
    }

    /// Plays the browser: follows the authorization URL as `login` up to the redirect back
    /// to us, keeping the provider's cookies; answers the redirect's query.
    async fn browse(&self, authorization_url: &str, login: &str) -> HashMap<String, String> {
        let mut url = format!("{authorization_url}&login_hint={login}");
        let mut cookies: HashMap<String, String> = HashMap::new();
        for _ in 0..10 {
            let cookie = cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            let response = self
                .http
                .get(&url)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            for value in response.headers().get_all("set-cookie") {
                let pair = value.to_str().unwrap().split(';').next().unwrap();
                if let Some((k, v)) = pair.split_once('=') {
                    cookies.insert(k.to_owned(), v.to_owned());
                }
            }
            let location = response
                .headers()
                .get("location")
                .unwrap_or_else(|| panic!("a redirect from {url}: {}", response.status()))
                .to_str()
                .unwrap()
                .to_owned();
            let location = if location.starts_with('/') {
                format!("{}{location}", self.issuer())
            } else {
                location
            };
            if let Some(query) = location.strip_prefix(&format!("{REDIRECT}?")) {
                return query_pairs(query);
            }
            url = location;
        }
        panic!("no redirect back to {REDIRECT}");
    }
}

impl Drop for TestProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn query_pairs(query: &str) -> HashMap<String, String> {
    reqwest::Url::parse(&format!("http://x/?{query}"))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Turns Google on at `provider` with the test provider's `google-client`.
async fn google_on(
    app: &TestApp,
    admin: &str,
    provider: &Created,
    issuer: &str,
    registration: bool,
) {
    let path = format!("/api/v1/providers/{}/auth-methods", provider.id);
    let mut form = json_ok(app.get(&path, Some(admin)).await, 200).await;
    form["google"] = json!({
        "registration": registration,
        "login": true,
        "settings": {
            "issuer": issuer,
            "client_id": "google-client",
            "client_secret": "google-secret",
            "redirect_uris": [REDIRECT],
        },
    });
    json_ok(app.put(&path, Some(admin), form).await, 200).await;
}

/// A test provider, the app, an admin's token, and the provider `acme` with Google on.
async fn google_ready(registration: bool) -> (TestProvider, TestApp, String, Created) {
    let op = TestProvider::start();
    let (app, admin, [acme]) = TestApp::with_providers(["acme"]).await;
    google_on(&app, &admin, &acme, &op.issuer(), registration).await;
    (op, app, admin, acme)
}

/// Starts a Google sign-in at `slug`: the authorization URL.
async fn start_google(app: &TestApp, slug: &str) -> String {
    let body = json!({ "provider": slug, "redirect_uri": REDIRECT });
    let answer = json_ok(
        app.post("/api/v1/auth/oidc/google/start", None, body).await,
        200,
    )
    .await;
    answer["authorization_url"].as_str().unwrap().to_owned()
}

async fn callback(
    app: &TestApp,
    method: &str,
    query: &HashMap<String, String>,
) -> reqwest::Response {
    let body = json!({ "state": query["state"], "code": query["code"], "iss": query.get("iss") });
    app.post(&format!("/api/v1/auth/oidc/{method}/callback"), None, body)
        .await
}

/// A whole Google sign-in of `login` at `slug`.
async fn google_sign_in(
    app: &TestApp,
    op: &TestProvider,
    slug: &str,
    login: &str,
) -> reqwest::Response {
    let url = start_google(app, slug).await;
    let query = op.browse(&url, login).await;
    callback(app, "google", &query).await
}

async fn me(app: &TestApp, token: &str) -> Value {
    json_ok(app.get("/api/v1/me", Some(token)).await, 200).await
}

/// The reasons of the auth log's events of `method`, oldest first.
async fn reasons(app: &TestApp, admin: &str, method: &str) -> Vec<String> {
    app.auth_reasons(admin, &format!("method={method}")).await
}

async fn user_count(app: &TestApp, admin: &str, provider: &Created) -> usize {
    let clients = json_ok(
        app.get(
            &format!("/api/v1/providers/{}/clients?limit=100", provider.id),
            Some(admin),
        )
        .await,
        200,
    )
    .await;
    clients["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn google_registers_then_signs_in_the_same_user_by_issuer_and_subject() {
    let (op, app, admin, acme) = google_ready(true).await;

    let options = json_ok(
        app.get("/api/v1/providers/acme/login-options", None).await,
        200,
    )
    .await;
    assert!(
        options["login"]
            .as_array()
            .unwrap()
            .contains(&json!("google")),
        "{options}"
    );

    let first = json_ok(google_sign_in(&app, &op, "acme", "anna").await, 200).await;
    let who = me(&app, access(&first)).await;
    assert_eq!(who["email"], "anna@example.com");
    assert_eq!(who["has_password"], false);

    // The e-mail changes at Google: still the same person, found by (issuer, sub).
    op.set_account(
        "anna",
        json!({ "email": "anna.new@example.com", "email_verified": true, "hd": "example.com" }),
    )
    .await;
    let second = json_ok(google_sign_in(&app, &op, "acme", "anna").await, 200).await;
    assert_eq!(me(&app, access(&second)).await["id"], who["id"]);
    assert_eq!(user_count(&app, &admin, &acme).await, 1);
    assert_eq!(reasons(&app, &admin, "google").await, ["registered", "ok"]);

    // The state was used: the same callback again is refused, and so is an unknown one.
    let url = start_google(&app, "acme").await;
    let query = op.browse(&url, "anna").await;
    json_ok(callback(&app, "google", &query).await, 200).await;
    assert_problem(callback(&app, "google", &query).await, 400, "bad_request").await;
    let mut forged = query.clone();
    forged.insert("state".into(), "not-a-state".into());
    assert_problem(callback(&app, "google", &forged).await, 400, "bad_request").await;
    // A Google state does not finish a Keycloak sign-in.
    let url = start_google(&app, "acme").await;
    let query = op.browse(&url, "anna").await;
    assert_problem(callback(&app, "keycloak", &query).await, 400, "bad_request").await;
    // An `iss` of another issuer is a mix-up (RFC 9207).
    let url = start_google(&app, "acme").await;
    let mut query = op.browse(&url, "anna").await;
    assert_eq!(query["iss"], op.issuer());
    query.insert("iss".into(), "https://accounts.google.com".into());
    assert_problem(callback(&app, "google", &query).await, 400, "bad_request").await;
    // The provider announces `iss` (RFC 9207): a response without it is refused.
    let url = start_google(&app, "acme").await;
    let mut query = op.browse(&url, "anna").await;
    query.remove("iss");
    assert_problem(callback(&app, "google", &query).await, 400, "bad_request").await;
    // A state expires.
    let url = start_google(&app, "acme").await;
    let query = op.browse(&url, "anna").await;
    app.advance(chrono::Duration::minutes(11));
    assert_problem(callback(&app, "google", &query).await, 400, "bad_request").await;
    let logged = reasons(&app, &admin, "google").await;
    assert_eq!(
        logged[3..],
        // The Keycloak path's attempt is logged under `keycloak`; it used the state up too.
        [
            "invalid_state",
            "invalid_state",
            "issuer_mismatch",
            "issuer_mismatch",
            "invalid_state"
        ]
    );
}

#[tokio::test]
async fn registration_off_unverified_email_and_an_existing_account_create_nothing() {
    let op = TestProvider::start();
    let (app, admin, [acme, beta]) = TestApp::with_providers(["acme", "beta"]).await;
    google_on(&app, &admin, &acme, &op.issuer(), false).await;
    google_on(&app, &admin, &beta, &op.issuer(), true).await;

    assert_problem(
        google_sign_in(&app, &op, "acme", "anna").await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        google_sign_in(&app, &op, "beta", "mallory").await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(user_count(&app, &admin, &acme).await, 0);
    assert_eq!(user_count(&app, &admin, &beta).await, 0);

    // Anna has an account at beta already: Google's same e-mail never takes it over.
    let (_, anna) = app
        .client_with_user(&admin, &beta.id, "anna@example.com")
        .await;
    let taken = google_sign_in(&app, &op, "beta", "anna").await;
    assert_problem(taken, 409, "conflict").await;
    assert_eq!(user_count(&app, &admin, &beta).await, 1);
    assert_eq!(
        reasons(&app, &admin, "google").await,
        ["not_registered", "email_not_verified", "email_taken"]
    );

    // Signed in, Anna links her Google account; from then on it signs her in.
    let token = app.user_token(&admin, &anna.id).await;
    let body = json!({ "redirect_uri": REDIRECT });
    let started = json_ok(
        app.post("/api/v1/me/links/google/start", Some(&token), body)
            .await,
        200,
    )
    .await;
    let query = op
        .browse(started["authorization_url"].as_str().unwrap(), "anna")
        .await;
    let body = json!({ "state": query["state"], "code": query["code"], "iss": query["iss"] });
    let link = json_ok(
        app.post("/api/v1/me/links/google/callback", Some(&token), body)
            .await,
        201,
    )
    .await;
    assert_eq!(link["subject"], "anna");
    let signed_in = json_ok(google_sign_in(&app, &op, "beta", "anna").await, 200).await;
    assert_eq!(me(&app, access(&signed_in)).await["id"], anna.id.as_str());

    let links = json_ok(app.get("/api/v1/me/links", Some(&token)).await, 200).await;
    assert_eq!(links["items"].as_array().unwrap().len(), 1);
    let path = format!("/api/v1/me/links/{}", link["id"].as_str().unwrap());
    assert_eq!(app.delete(&path, Some(&token)).await.status(), 204);
    assert_eq!(app.delete(&path, Some(&token)).await.status(), 404);
    assert_problem(
        google_sign_in(&app, &op, "beta", "anna").await,
        409,
        "conflict",
    )
    .await;
}

/// Configures a staff identity provider for the test provider's `billing-staff` client.
async fn staff_idp(app: &TestApp, admin: &str, issuer: &str, mappings: Value) -> Value {
    let body = json!({
        "name": "Staff SSO",
        "issuer": issuer,
        "client_id": "billing-staff",
        "client_secret": "keycloak-secret",
        "redirect_uris": [REDIRECT],
        "role_mappings": mappings,
    });
    json_ok(
        app.post("/api/v1/staff-identity-providers", Some(admin), body)
            .await,
        201,
    )
    .await
}

async fn keycloak_sign_in(app: &TestApp, op: &TestProvider, login: &str) -> reqwest::Response {
    let body = json!({ "redirect_uri": REDIRECT });
    let answer = json_ok(
        app.post("/api/v1/auth/oidc/keycloak/start", None, body)
            .await,
        200,
    )
    .await;
    let query = op
        .browse(answer["authorization_url"].as_str().unwrap(), login)
        .await;
    callback(app, "keycloak", &query).await
}

#[tokio::test]
async fn keycloak_provisions_employees_by_mapped_roles_and_replaces_them_at_each_login() {
    let op = TestProvider::start();
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let acme = app.create_provider(&admin, "acme").await;
    let options = json_ok(app.get("/api/v1/auth/staff-login-options", None).await, 200).await;
    assert_eq!(options["keycloak"], false);
    assert_eq!(options["methods"], json!(["password", "temporary_key"]));
    let mappings = json!([
        { "claim": "billing-support", "role": "support" },
        { "claim": "billing-staff:dpo", "role": "dpo", "providers": [acme.id] },
        // Another client's role is not ours to map.
        { "claim": "other-client:admin", "role": "admin" },
    ]);
    let idp = staff_idp(&app, &admin, &op.issuer(), mappings).await;
    assert_eq!(idp["client_secret_set"], true);
    assert!(idp.get("client_secret").is_none(), "write-only: {idp}");
    let options = json_ok(app.get("/api/v1/auth/staff-login-options", None).await, 200).await;
    assert_eq!(options["keycloak"], true);
    assert_eq!(
        options["methods"],
        json!(["password", "temporary_key", "keycloak"])
    );
    assert_eq!(options["identity_providers"][0]["id"], idp["id"]);
    assert!(!options.to_string().contains("secret"), "{options}");

    // No mapped role: refused, nobody created.
    assert_problem(
        keycloak_sign_in(&app, &op, "nobody").await,
        403,
        "forbidden",
    )
    .await;

    let first = json_ok(keycloak_sign_in(&app, &op, "jdoe").await, 200).await;
    let who = me(&app, access(&first)).await;
    assert_eq!(who["kind"], "employee");
    assert_eq!(who["roles"], json!(["dpo", "support"]));
    assert_eq!(who["login"], "j.doe@staff.example");

    // The realm role goes at the provider: gone here at the next login.
    let mut claims = json!({
        "email": "j.doe@staff.example", "email_verified": true, "name": "Jane Doe",
        "realm_access": { "roles": ["offline_access"] },
        "resource_access": { "billing-staff": { "roles": ["dpo"] } },
    });
    op.set_account("jdoe", claims.clone()).await;
    let second = json_ok(keycloak_sign_in(&app, &op, "jdoe").await, 200).await;
    assert_eq!(me(&app, access(&second)).await["id"], who["id"]);
    assert_eq!(me(&app, access(&second)).await["roles"], json!(["dpo"]));
    // The only mapping left is limited to acme, and so is the employee now.
    assert_eq!(
        me(&app, access(&second)).await["providers"],
        json!([acme.id])
    );

    // A role added comes in the same way.
    claims["realm_access"]["roles"] = json!(["billing-support"]);
    op.set_account("jdoe", claims.clone()).await;
    let third = json_ok(keycloak_sign_in(&app, &op, "jdoe").await, 200).await;
    assert_eq!(
        me(&app, access(&third)).await["roles"],
        json!(["dpo", "support"])
    );
    assert_eq!(me(&app, access(&third)).await["providers"], Value::Null);

    // An employee disabled here stays out, whatever Keycloak says.
    let path = format!("/api/v1/employees/{}", who["id"].as_str().unwrap());
    app.set_status(&admin, &path, "disabled").await;
    assert_eq!(keycloak_sign_in(&app, &op, "jdoe").await.status(), 401);
    app.set_status(&admin, &path, "active").await;
    let third = json_ok(keycloak_sign_in(&app, &op, "jdoe").await, 200).await;

    // No mapped role left: refused, and the sessions already held end.
    claims["realm_access"]["roles"] = json!([]);
    claims["resource_access"] = json!({});
    op.set_account("jdoe", claims).await;
    assert_problem(keycloak_sign_in(&app, &op, "jdoe").await, 403, "forbidden").await;
    assert_eq!(
        app.get("/api/v1/me", Some(access(&third))).await.status(),
        401
    );
    assert_eq!(
        reasons(&app, &admin, "keycloak").await,
        [
            "no_mapped_role",
            "ok",
            "ok",
            "ok",
            "account_disabled",
            "ok",
            "no_mapped_role"
        ]
    );
}

#[tokio::test]
async fn a_signing_key_rotation_is_picked_up_between_two_logins() {
    let (op, app, _admin, _acme) = google_ready(true).await;
    json_ok(google_sign_in(&app, &op, "acme", "anna").await, 200).await;
    op.rotate_keys().await;
    json_ok(google_sign_in(&app, &op, "acme", "anna").await, 200).await;
}

#[tokio::test]
async fn a_provider_down_slow_or_with_another_issuer_is_a_clear_gateway_problem() {
    let op = TestProvider::start();
    let app = TestApp::builder()
        .settings(|s| s.oidc_timeout = std::time::Duration::from_millis(700))
        .spawn()
        .await;
    let admin = app.admin_token().await;
    let acme = app.create_provider(&admin, "acme").await;
    let down = app.create_provider(&admin, "down").await;
    let other = app.create_provider(&admin, "other").await;
    google_on(&app, &admin, &acme, &op.issuer(), true).await;
    // Nothing listens on port 9 of the loopback.
    google_on(&app, &admin, &down, "http://127.0.0.1:9", true).await;
    // Discovery answers for `http://127.0.0.1:<port>`, not with the trailing slash.
    google_on(&app, &admin, &other, &format!("{}/", op.issuer()), true).await;

    let start = |slug: &'static str| {
        let app = &app;
        async move {
            let body = json!({ "provider": slug, "redirect_uri": REDIRECT });
            app.post("/api/v1/auth/oidc/google/start", None, body).await
        }
    };
    assert_problem(start("down").await, 502, "identity_provider_failed").await;
    assert_problem(start("other").await, 502, "identity_provider_failed").await;

    // Slow at the code exchange: 504 within the timeout, and no user half-made.
    let url = start_google(&app, "acme").await;
    let query = op.browse(&url, "anna").await;
    op.delay(3000).await;
    let began = std::time::Instant::now();
    assert_problem(
        callback(&app, "google", &query).await,
        504,
        "identity_provider_timeout",
    )
    .await;
    assert!(began.elapsed() < std::time::Duration::from_millis(2500));
    assert_eq!(user_count(&app, &admin, &acme).await, 0);
    assert_eq!(
        reasons(&app, &admin, "google").await,
        [
            "identity_provider_unavailable",
            "issuer_mismatch",
            "identity_provider_timeout"
        ]
    );
}

#[tokio::test]
async fn start_refuses_unknown_redirects_and_methods_that_are_off() {
    let op = TestProvider::start();
    let (app, admin, [acme, _off]) = TestApp::with_providers(["acme", "off"]).await;
    google_on(&app, &admin, &acme, &op.issuer(), true).await;
    let cases = [
        (
            json!({ "provider": "acme", "redirect_uri": "http://127.0.0.1:9/callback/x" }),
            422,
            "validation_failed",
        ),
        (
            json!({ "provider": "acme", "redirect_uri": "https://evil.example/cb" }),
            422,
            "validation_failed",
        ),
        (
            json!({ "redirect_uri": REDIRECT }),
            422,
            "validation_failed",
        ),
        (
            json!({ "provider": "off", "redirect_uri": REDIRECT }),
            403,
            "method_disabled",
        ),
        (
            json!({ "provider": "nope", "redirect_uri": REDIRECT }),
            404,
            "not_found",
        ),
    ];
    for (body, status, code) in cases {
        assert_problem(
            app.post("/api/v1/auth/oidc/google/start", None, body).await,
            status,
            code,
        )
        .await;
    }
    // Keycloak with no staff identity provider configured.
    let body = json!({ "redirect_uri": REDIRECT });
    assert_problem(
        app.post("/api/v1/auth/oidc/keycloak/start", None, body.clone())
            .await,
        403,
        "method_disabled",
    )
    .await;
    assert_problem(
        app.post("/api/v1/auth/oidc/github/start", None, body).await,
        404,
        "no_route",
    )
    .await;
}

#[tokio::test]
async fn google_needs_its_settings_and_keeps_its_secret_write_only() {
    let (app, admin, [acme]) = TestApp::with_providers(["acme"]).await;
    let path = format!("/api/v1/providers/{}/auth-methods", acme.id);
    let mut form = json_ok(app.get(&path, Some(&admin)).await, 200).await;
    assert_eq!(
        form["google"]["settings"]["issuer"],
        "https://accounts.google.com"
    );
    form["google"]["login"] = json!(true);
    let problem = assert_problem(
        app.put(&path, Some(&admin), form.clone()).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        crate::helpers::pointers(&problem),
        [
            "/google/settings/client_id",
            "/google/settings/client_secret",
            "/google/settings/redirect_uris"
        ]
    );
    form["google"]["settings"]["client_id"] = json!("id");
    form["google"]["settings"]["client_secret"] = json!("s3cret-value");
    form["google"]["settings"]["redirect_uris"] = json!([REDIRECT]);
    let saved = json_ok(app.put(&path, Some(&admin), form).await, 200).await;
    assert!(!saved.to_string().contains("s3cret-value"), "{saved}");
    assert_eq!(saved["google"]["settings"]["client_secret_set"], true);
    // The form read back and sent again keeps the secret.
    let again = json_ok(app.put(&path, Some(&admin), saved).await, 200).await;
    assert_eq!(again["google"]["settings"]["client_secret_set"], true);
    // Login options show Google now that it is on and configured.
    let options = json_ok(
        app.get("/api/v1/providers/acme/login-options", None).await,
        200,
    )
    .await;
    assert!(
        options["login"]
            .as_array()
            .unwrap()
            .contains(&json!("google"))
    );
}

#[tokio::test]
async fn staff_identity_providers_are_for_admins_of_every_provider() {
    let (app, admin, [acme]) = TestApp::with_providers(["acme"]).await;
    let support = app.create_employee(&admin, "sup", &["support"], None).await;
    let limited = app
        .create_employee(&admin, "lim", &["admin"], Some(&[acme.id.as_str()]))
        .await;
    let list = "/api/v1/staff-identity-providers";
    for token in [&support.token, &limited.token] {
        assert_problem(app.get(list, Some(token)).await, 403, "forbidden").await;
    }
    assert_problem(app.get(list, None).await, 401, "unauthenticated").await;
    let bad = json!({
        "name": "x", "issuer": "http://sso.example", "client_id": "c",
        "redirect_uris": ["ftp://x"], "role_mappings": [{ "claim": "r", "role": "boss" }],
    });
    let problem = assert_problem(
        app.post(list, Some(&admin), bad).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        crate::helpers::pointers(&problem),
        ["/client_secret", "/role_mappings/0/role"]
    );
    let idp = staff_idp(&app, &admin, "https://sso.example/realms/staff", json!([])).await;
    let one = format!("{list}/{}", idp["id"].as_str().unwrap());
    let mut body = json!({
        "name": "Renamed", "issuer": "https://sso.example/realms/staff", "client_id": "billing-staff",
        "redirect_uris": [REDIRECT], "role_mappings": [{ "claim": "ops", "role": "support", "providers": [acme.id] }],
    });
    let replaced = json_ok(app.put(&one, Some(&admin), body.clone()).await, 200).await;
    assert_eq!(replaced["client_secret_set"], true, "kept");
    assert_eq!(replaced["role_mappings"][0]["providers"], json!([acme.id]));
    body["role_mappings"][0]["providers"] =
        json!([acme.id, "0190a3c4-0000-7000-8000-000000000000"]);
    let problem = assert_problem(
        app.put(&one, Some(&admin), body.clone()).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        crate::helpers::pointers(&problem),
        ["/role_mappings/0/providers/1"]
    );
    body["issuer"] = json!("not a url");
    assert_problem(
        app.put(&one, Some(&admin), body).await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.post(list, Some(&admin), json!({
            "name": "dup", "issuer": "https://sso.example/realms/staff", "client_id": "billing-staff",
            "client_secret": "x", "redirect_uris": [REDIRECT],
        })).await,
        409,
        "conflict",
    )
    .await;
    assert_eq!(
        json_ok(app.get(list, Some(&admin)).await, 200).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(app.delete(&one, Some(&admin)).await.status(), 204);
    assert_problem(app.get(&one, Some(&admin)).await, 404, "not_found").await;
    assert_problem(
        app.get(&format!("{list}/nope"), Some(&admin)).await,
        404,
        "not_found",
    )
    .await;
}

// --- hand-made ID tokens (OIDC Core 3.1.3.7) from a wiremock provider ---

const CRAFTED_KEY: &str = include_str!("../oidc/crafted-rs256.pem");
const CRAFTED_PUBLIC: &str = include_str!("../oidc/crafted-rs256.pub.pem");
const CRAFTED_N: &str = include_str!("../oidc/crafted-rs256.n");

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// What a token is signed with.
enum Signed {
    Rs256(&'static str),
    None,
    Hs256(&'static [u8]),
}

fn token(claims: &Value, signed: Signed) -> String {
    match signed {
        Signed::Rs256(kid) => {
            let mut header = Header::new(Algorithm::RS256);
            header.kid = Some(kid.into());
            let key = EncodingKey::from_rsa_pem(CRAFTED_KEY.as_bytes()).unwrap();
            jsonwebtoken::encode(&header, claims, &key).unwrap()
        }
        Signed::None => format!(
            "{}.{}.",
            b64(&json!({ "alg": "none", "typ": "JWT" })),
            b64(claims)
        ),
        Signed::Hs256(secret) => {
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some("k1".into());
            jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
        }
    }
}

#[tokio::test]
async fn every_id_token_check_of_oidc_core_refuses_a_token_that_fails_it() {
    let server = MockServer::start().await;
    let issuer = server.uri();
    mount_crafted(&server, &issuer, String::new()).await;
    let (app, admin, [acme]) = TestApp::with_providers(["acme"]).await;
    google_on(&app, &admin, &acme, &issuer, true).await;
    let now = chrono::Utc::now().timestamp();
    type Change = fn(&mut Value, i64);
    let cases: Vec<(&str, Change, Signed, u16)> = vec![
        ("valid", |_, _| {}, Signed::Rs256("k1"), 200),
        (
            "wrong nonce",
            |c, _| c["nonce"] = json!("another"),
            Signed::Rs256("k1"),
            401,
        ),
        (
            "missing nonce",
            |c, _| {
                c.as_object_mut().unwrap().remove("nonce");
            },
            Signed::Rs256("k1"),
            401,
        ),
        (
            "wrong aud",
            |c, _| c["aud"] = json!("someone-else"),
            Signed::Rs256("k1"),
            401,
        ),
        (
            "an untrusted extra aud",
            |c, _| {
                c["aud"] = json!(["google-client", "someone-else"]);
                c["azp"] = json!("google-client");
            },
            Signed::Rs256("k1"),
            401,
        ),
        (
            "azp of another client",
            |c, _| c["azp"] = json!("someone-else"),
            Signed::Rs256("k1"),
            401,
        ),
        (
            "wrong iss",
            |c, _| c["iss"] = json!("https://accounts.google.com"),
            Signed::Rs256("k1"),
            401,
        ),
        (
            "expired",
            |c, now| c["exp"] = json!(now - 60),
            Signed::Rs256("k1"),
            401,
        ),
        (
            "issued in the future",
            |c, now| c["iat"] = json!(now + 3600),
            Signed::Rs256("k1"),
            401,
        ),
        ("alg none", |_, _| {}, Signed::None, 401),
        (
            "HS256 keyed with the public key",
            |_, _| {},
            Signed::Hs256(CRAFTED_PUBLIC.as_bytes()),
            401,
        ),
        (
            "HS256 keyed with the client secret",
            |_, _| {},
            Signed::Hs256(b"google-secret"),
            401,
        ),
        ("an unknown key", |_, _| {}, Signed::Rs256("k2"), 401),
    ];
    for (i, (name, change, signed, status)) in cases.into_iter().enumerate() {
        // More starts than the rate limit lets one address make: not what this test is about.
        app.store()
            .reset_attempts("rate:ip:127.0.0.1:oidc_start")
            .unwrap();
        let url = start_google(&app, "acme").await;
        let query = query_pairs(url.split_once('?').unwrap().1);
        assert_eq!(query["code_challenge_method"], "S256", "PKCE");
        let mut claims = json!({
            "iss": issuer, "sub": format!("crafted-{i}"), "aud": "google-client",
            "exp": now + 300, "iat": now, "nonce": query["nonce"],
            "email": format!("crafted{i}@example.com"), "email_verified": true,
        });
        change(&mut claims, now);
        server.reset().await;
        mount_crafted(&server, &issuer, token(&claims, signed)).await;
        let body = json!({ "state": query["state"], "code": "any" });
        let response = app
            .post("/api/v1/auth/oidc/google/callback", None, body)
            .await;
        assert_eq!(
            response.status().as_u16(),
            status,
            "{name}: {}",
            response.text().await.unwrap()
        );
    }
    assert_eq!(
        user_count(&app, &admin, &acme).await,
        1,
        "only the valid token registered"
    );
    let logged = reasons(&app, &admin, "google").await;
    assert_eq!(logged[0], "registered");
    assert!(
        logged[1..].iter().all(|r| r == "invalid_id_token"),
        "{logged:?}"
    );
}

/// A provider whose discovery, keys and token endpoint are wiremock's, its token endpoint
/// answering `id_token`.
async fn mount_crafted(server: &MockServer, issuer: &str, id_token: String) {
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/auth"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "keys": [{ "kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256", "n": CRAFTED_N.trim(), "e": "AQAB" }],
        })))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "at", "token_type": "Bearer", "expires_in": 60, "id_token": id_token,
        })))
        .mount(server)
        .await;
}

#[tokio::test]
async fn only_the_allowed_hosted_domains_sign_in() {
    let (op, app, admin, acme) = google_ready(true).await;
    let path = format!("/api/v1/providers/{}/auth-methods", acme.id);
    let mut form = json_ok(app.get(&path, Some(&admin)).await, 200).await;
    form["google"]["settings"]["hosted_domains"] = json!(["corp.example"]);
    json_ok(app.put(&path, Some(&admin), form.clone()).await, 200).await;
    assert_problem(
        google_sign_in(&app, &op, "acme", "anna").await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(user_count(&app, &admin, &acme).await, 0);
    form["google"]["settings"]["hosted_domains"] = json!(["example.com"]);
    json_ok(app.put(&path, Some(&admin), form).await, 200).await;
    json_ok(google_sign_in(&app, &op, "acme", "anna").await, 200).await;
    assert_eq!(
        reasons(&app, &admin, "google").await,
        ["hosted_domain_not_allowed", "registered"]
    );
}

#[tokio::test]
async fn linking_is_finished_by_the_user_who_started_it_once_per_google_account() {
    let (op, app, admin, acme) = google_ready(false).await;
    let (_, anna) = app
        .client_with_user(&admin, &acme.id, "anna@example.com")
        .await;
    let (_, bob) = app
        .client_with_user(&admin, &acme.id, "bob@example.com")
        .await;
    let anna_token = app.user_token(&admin, &anna.id).await;
    let bob_token = app.user_token(&admin, &bob.id).await;
    let start = |token: String| {
        let app = &app;
        async move {
            let body = json!({ "redirect_uri": REDIRECT });
            app.post("/api/v1/me/links/google/start", Some(&token), body)
                .await
        }
    };
    let finish = |token: String, query: HashMap<String, String>| {
        let app = &app;
        async move {
            let body =
                json!({ "state": query["state"], "code": query["code"], "iss": query["iss"] });
            app.post("/api/v1/me/links/google/callback", Some(&token), body)
                .await
        }
    };
    // Bob's flow cannot plant a Google account in Anna's account (nor back: it is used up).
    let started = json_ok(start(bob_token.clone()).await, 200).await;
    let query = op
        .browse(started["authorization_url"].as_str().unwrap(), "anna")
        .await;
    assert_problem(
        finish(anna_token.clone(), query.clone()).await,
        400,
        "bad_request",
    )
    .await;
    assert_problem(finish(bob_token.clone(), query).await, 400, "bad_request").await;

    let started = json_ok(start(bob_token.clone()).await, 200).await;
    let query = op
        .browse(started["authorization_url"].as_str().unwrap(), "anna")
        .await;
    json_ok(finish(bob_token.clone(), query).await, 201).await;
    // One Google account, one user of the provider.
    let started = json_ok(start(anna_token.clone()).await, 200).await;
    let query = op
        .browse(started["authorization_url"].as_str().unwrap(), "anna")
        .await;
    assert_problem(finish(anna_token.clone(), query).await, 409, "conflict").await;

    // Not with an API token, not for an employee, not with an unknown redirect.
    let api = app
        .create_api_token(&anna_token, json!({ "name": "script", "scope": "full" }))
        .await;
    assert_problem(
        start(api["secret"].as_str().unwrap().to_owned()).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(start(admin.clone()).await, 403, "forbidden").await;
    let body = json!({ "redirect_uri": "https://evil.example/cb" });
    assert_problem(
        app.post("/api/v1/me/links/google/start", Some(&anna_token), body)
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        json_ok(app.get("/api/v1/me/links", Some(&anna_token)).await, 200).await["items"],
        json!([])
    );
}

#[tokio::test]
async fn a_google_sign_in_of_someone_with_a_second_factor_answers_a_challenge() {
    let (op, app, _admin, _acme) = google_ready(true).await;
    let first = json_ok(google_sign_in(&app, &op, "acme", "anna").await, 200).await;
    app.enroll_totp(access(&first)).await;
    let second = json_ok(google_sign_in(&app, &op, "acme", "anna").await, 200).await;
    assert_eq!(second["mfa_required"], true, "{second}");
    assert_eq!(second["methods"], json!(["totp"]));
    assert!(second.get("access_token").is_none(), "{second}");
}

/// Sets `jdoe`'s next logins at the test provider: an admin role, and `amr`/`acr` as given.
async fn jdoe_logs_in_with(op: &TestProvider, amr: Option<Value>, acr: Option<&str>) {
    let mut claims = json!({
        "email": "j.doe@staff.example", "email_verified": true, "name": "Jane Doe",
        "realm_access": { "roles": ["billing-admin"] },
    });
    if let Some(amr) = amr {
        claims["amr"] = amr;
    }
    if let Some(acr) = acr {
        claims["acr"] = json!(acr);
    }
    op.set_account("jdoe", claims).await;
}

/// Whether a session passes admin second-factor enforcement: 200, or 403 with its type.
async fn admin_access(app: &TestApp, token: &str) -> Result<(), String> {
    let answer = app.get("/api/v1/providers", Some(token)).await;
    if answer.status() == 200 {
        return Ok(());
    }
    let status = answer.status().as_u16();
    let problem: Value = answer.json().await.unwrap();
    Err(format!("{status} {}", problem["type"]))
}

#[tokio::test]
async fn a_staff_realm_second_factor_counts_only_where_its_policy_accepts_it() {
    let op = TestProvider::start();
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_provider(&admin, "acme").await;
    let mappings = json!([{ "claim": "billing-admin", "role": "admin" }]);
    let idp = staff_idp(&app, &admin, &op.issuer(), mappings.clone()).await;
    assert_eq!(idp["accept_idp_mfa"], false, "off by default");

    // Off: even an `amr` that shows two factors is only a first factor.
    jdoe_logs_in_with(&op, Some(json!(["pwd", "otp"])), None).await;
    let tokens = json_ok(keycloak_sign_in(&app, &op, "jdoe").await, 200).await;
    assert_eq!(me(&app, access(&tokens)).await["amr"], json!(["fed"]));
    let refused = admin_access(&app, access(&tokens)).await.unwrap_err();
    assert!(refused.contains("mfa_enrollment_required"), "{refused}");

    // On: that `amr` proves the second factor, and enforcement lets the admin in.
    let path = format!(
        "/api/v1/staff-identity-providers/{}",
        idp["id"].as_str().unwrap()
    );
    let mut body = json!({
        "name": "Staff SSO", "issuer": op.issuer(), "client_id": "billing-staff",
        "redirect_uris": [REDIRECT], "role_mappings": mappings,
        "accept_idp_mfa": true, "idp_mfa_acr_values": ["gold"],
    });
    let stored = json_ok(app.put(&path, Some(&admin), body.clone()).await, 200).await;
    assert_eq!(stored["accept_idp_mfa"], true);
    let tokens = json_ok(keycloak_sign_in(&app, &op, "jdoe").await, 200).await;
    assert_eq!(
        me(&app, access(&tokens)).await["amr"],
        json!(["fed", "mfa"])
    );
    admin_access(&app, access(&tokens)).await.unwrap();

    // A single factor is not enough; an accepted `acr` is, another one is not.
    jdoe_logs_in_with(&op, Some(json!(["pwd"])), None).await;
    let tokens = json_ok(keycloak_sign_in(&app, &op, "jdoe").await, 200).await;
    assert!(admin_access(&app, access(&tokens)).await.is_err());
    jdoe_logs_in_with(&op, Some(json!(["pwd"])), Some("gold")).await;
    let tokens = json_ok(keycloak_sign_in(&app, &op, "jdoe").await, 200).await;
    admin_access(&app, access(&tokens)).await.unwrap();
    jdoe_logs_in_with(&op, None, Some("silver")).await;
    let tokens = json_ok(keycloak_sign_in(&app, &op, "jdoe").await, 200).await;
    assert!(admin_access(&app, access(&tokens)).await.is_err());

    // Bad input is a 422 naming the field.
    body["idp_mfa_acr_values"] = json!([""]);
    assert_problem(
        app.put(&path, Some(&admin), body).await,
        422,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn a_google_second_factor_skips_the_challenge_only_where_the_policy_accepts_it() {
    let (op, app, admin, acme) = google_ready(true).await;
    let first = json_ok(google_sign_in(&app, &op, "acme", "anna").await, 200).await;
    app.enroll_totp(access(&first)).await;
    let mut anna = json!({
        "email": "anna@example.com", "email_verified": true, "name": "Anna Example",
        "hd": "example.com", "amr": ["mfa"],
    });
    op.set_account("anna", anna.clone()).await;

    // Off (the default): Google is a first factor; the enrolled TOTP is asked for.
    let answer = json_ok(google_sign_in(&app, &op, "acme", "anna").await, 200).await;
    assert_eq!(answer["mfa_required"], true, "{answer}");
    assert!(answer.get("access_token").is_none());

    let path = format!("/api/v1/providers/{}/policies", acme.id);
    let mut policies = json_ok(app.get(&path, Some(&admin)).await, 200).await;
    assert_eq!(policies["accept_idp_mfa"], false);
    policies["accept_idp_mfa"] = json!(true);
    json_ok(app.put(&path, Some(&admin), policies.clone()).await, 200).await;
    let tokens = json_ok(google_sign_in(&app, &op, "acme", "anna").await, 200).await;
    assert_eq!(
        me(&app, access(&tokens)).await["amr"],
        json!(["fed", "mfa"])
    );

    // On, but the token shows one factor: the challenge again.
    anna["amr"] = json!(["pwd"]);
    op.set_account("anna", anna).await;
    let answer = json_ok(google_sign_in(&app, &op, "acme", "anna").await, 200).await;
    assert_eq!(answer["mfa_required"], true, "{answer}");
    assert!(
        reasons(&app, &admin, "mfa")
            .await
            .contains(&"idp_second_factor".to_owned())
    );

    policies["idp_mfa_acr_values"] = json!(["x".repeat(300)]);
    assert_problem(
        app.put(&path, Some(&admin), policies).await,
        422,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn starting_sign_ins_is_rate_limited_per_address() {
    let (_op, app, _admin, _acme) = google_ready(true).await;
    for _ in 0..10 {
        start_google(&app, "acme").await;
    }
    let body = json!({ "provider": "acme", "redirect_uri": REDIRECT });
    let answer = app
        .post("/api/v1/auth/oidc/google/start", None, body.clone())
        .await;
    assert!(answer.headers().get("retry-after").is_some());
    assert_problem(answer, 429, "too_many_attempts").await;
    // Keycloak's start and a method that is off count against the same budget.
    let staff = json!({ "redirect_uri": REDIRECT });
    let answer = app
        .post("/api/v1/auth/oidc/keycloak/start", None, staff)
        .await;
    assert_eq!(answer.status(), 429);
    app.advance(chrono::Duration::minutes(5));
    start_google(&app, "acme").await;
}

/// Sets which staff realms give roles for `provider` (its `keycloak` settings), with
/// Keycloak on: the answer.
async fn allow_realms(
    app: &TestApp,
    admin: &str,
    provider: &Created,
    ids: Value,
) -> reqwest::Response {
    let path = format!("/api/v1/providers/{}/auth-methods", provider.id);
    let mut form = json_ok(app.get(&path, Some(admin)).await, 200).await;
    form["keycloak"]["login"] = json!(true);
    form["keycloak"]["settings"] = json!({ "staff_identity_provider_ids": ids });
    app.put(&path, Some(admin), form).await
}

#[tokio::test]
async fn a_provider_can_restrict_which_staff_realms_give_roles_for_it() {
    let op = TestProvider::start();
    let (app, admin, [acme, beta]) = TestApp::with_providers(["acme", "beta"]).await;
    let mappings = json!([{ "claim": "billing-support", "role": "support" }]);
    let realm = staff_idp(&app, &admin, &op.issuer(), mappings).await;
    // Another realm (another client of the same issuer), off for sign-ins.
    let body = json!({
        "name": "Other SSO", "issuer": op.issuer(), "client_id": "google-client",
        "client_secret": "google-secret", "redirect_uris": [REDIRECT], "enabled": false,
    });
    let other = json_ok(
        app.post("/api/v1/staff-identity-providers", Some(&admin), body)
            .await,
        201,
    )
    .await;
    let (realm, other) = (realm["id"].clone(), other["id"].clone());

    // Keycloak on without settings: every realm, nothing restricted.
    let form = json_ok(allow_realms(&app, &admin, &beta, json!([])).await, 200).await;
    assert_eq!(
        form["keycloak"]["settings"]["staff_identity_provider_ids"],
        json!([])
    );
    let tokens = json_ok(keycloak_sign_in(&app, &op, "jdoe").await, 200).await;
    assert_eq!(me(&app, access(&tokens)).await["providers"], Value::Null);

    // acme takes only the other realm: this realm's employee no longer reaches it.
    json_ok(allow_realms(&app, &admin, &acme, json!([other])).await, 200).await;
    let tokens = json_ok(keycloak_sign_in(&app, &op, "jdoe").await, 200).await;
    assert_eq!(
        me(&app, access(&tokens)).await["providers"],
        json!([beta.id])
    );

    // Both realms allowed at acme: every provider again.
    json_ok(
        allow_realms(&app, &admin, &acme, json!([other, realm])).await,
        200,
    )
    .await;
    let tokens = json_ok(keycloak_sign_in(&app, &op, "jdoe").await, 200).await;
    assert_eq!(me(&app, access(&tokens)).await["providers"], Value::Null);

    // No provider left for this realm: refused like a login without a mapped role, and
    // the sessions held end.
    json_ok(allow_realms(&app, &admin, &acme, json!([other])).await, 200).await;
    json_ok(allow_realms(&app, &admin, &beta, json!([other])).await, 200).await;
    assert_problem(keycloak_sign_in(&app, &op, "jdoe").await, 403, "forbidden").await;
    assert_eq!(
        app.get("/api/v1/me", Some(access(&tokens))).await.status(),
        401
    );

    // An unknown realm is a 422 naming it.
    let unknown = json!([other, "0190b6f0-0000-7000-8000-000000000000"]);
    let problem = assert_problem(
        allow_realms(&app, &admin, &acme, unknown).await,
        422,
        "validation_failed",
    )
    .await;
    assert!(
        problem
            .to_string()
            .contains("/keycloak/settings/staff_identity_provider_ids/1"),
        "{problem}"
    );
}

/// A Google registration at a provider with a must-agree document: the account is made,
/// and the consent gate asks for the document before any session starts; accepted, the
/// sign-in finishes and the consent is on record.
#[tokio::test]
async fn a_google_registration_asks_for_the_must_agree_documents() {
    let (op, app, admin, acme) = google_ready(true).await;
    let document = json_ok(
        app.post(
            &format!("/api/v1/providers/{}/consent-documents", acme.id),
            Some(&admin),
            json!({
                "kind": "privacy_policy",
                "titles": { "en": "Privacy policy" },
                "must_agree": true,
                "show_on_registration": true,
                "url": "https://acme.example/privacy",
                "text": "We process your data to run your hosting account.",
            }),
        )
        .await,
        201,
    )
    .await;
    let version = document["versions"][0]["id"].as_str().unwrap().to_owned();
    let gated = google_sign_in(&app, &op, "acme", "anna").await;
    let problem = assert_problem(gated, 403, "consent_required").await;
    assert_eq!(problem["documents"][0]["version_id"], version.as_str());
    let tokens = json_ok(
        app.post(
            "/api/v1/auth/consent",
            None,
            json!({ "consent_token": problem["consent_token"], "accept": [version] }),
        )
        .await,
        200,
    )
    .await;
    let consents = json_ok(
        app.get("/api/v1/me/consents", Some(access(&tokens))).await,
        200,
    )
    .await;
    let text = consents.to_string();
    assert!(text.contains(&version), "{text}");
    assert!(text.contains("after_login"), "{text}");
}
