//! Issue 3: methods per provider, registration, password login, sessions, API tokens,
//! authinfo, the failure budget and the auth log.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const PASSWORD: &str = "correct horse battery staple";

/// A provider with an admin token, ready for users.
async fn setup(slug: &str) -> (TestApp, String, Created) {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let provider = app.create_provider(&admin, slug).await;
    (app, admin, provider)
}

async fn register(app: &TestApp, slug: &str, email: &str) -> Value {
    let response = app
        .post(
            &format!("/api/v1/providers/{slug}/registrations"),
            None,
            json!({ "email": email, "name": "Anna Schmidt", "password": PASSWORD }),
        )
        .await;
    json_ok(response, 201).await
}

async fn login(
    app: &TestApp,
    provider: Option<&str>,
    login: &str,
    password: &str,
) -> reqwest::Response {
    let mut body = json!({ "login": login, "password": password });
    if let Some(p) = provider {
        body["provider"] = p.into();
    }
    app.post("/api/v1/auth/login", None, body).await
}

/// Changes the provider's methods with `change`.
async fn set_methods(
    app: &TestApp,
    admin: &str,
    provider: &Created,
    change: impl FnOnce(&mut Value),
) {
    let path = format!(
        "/api/v1/providers/{}/auth-methods",
        provider["id"].as_str().unwrap()
    );
    let mut methods = json_ok(app.get(&path, Some(admin)).await, 200).await;
    change(&mut methods);
    json_ok(app.put(&path, Some(admin), methods).await, 200).await;
}

fn access(tokens: &Value) -> &str {
    tokens["access_token"].as_str().unwrap()
}

async fn events(app: &TestApp, admin: &str, query: &str) -> Vec<Value> {
    let body = json_ok(
        app.get(&format!("/api/v1/auth-events?{query}"), Some(admin))
            .await,
        200,
    )
    .await;
    body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn bootstrap_admin_key_gives_a_token_once() {
    let app = spawn_app().await;
    let key = api::cli::bootstrap_admin(&app.settings, "root-admin", "Root").unwrap();
    assert!(key.starts_with("bitk_"));
    let tokens = app.redeem(&key).await;
    assert!(access(&tokens).starts_with("eyJ"));
    assert!(
        tokens["refresh_token"]
            .as_str()
            .unwrap()
            .starts_with("birt_")
    );
    let again = app
        .post("/api/v1/auth/temporary-key", None, json!({ "key": key }))
        .await;
    assert_problem(again, 401, "invalid_credentials").await;
}

#[tokio::test]
async fn concurrent_redemptions_of_one_key_let_exactly_one_in() {
    let app = spawn_app().await;
    let key = api::cli::bootstrap_admin(&app.settings, "racer", "Racer").unwrap();
    let attempts =
        (0..8).map(|_| app.post("/api/v1/auth/temporary-key", None, json!({ "key": key })));
    let statuses: Vec<u16> = join_all(attempts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    // The others are refused, or throttled as wrong keys from one address.
    assert!(
        statuses.iter().all(|s| matches!(s, 200 | 401 | 429)),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn registration_then_password_login() {
    let (app, _admin, _) = setup("acme").await;
    let registered = register(&app, "acme", "Anna@Example.com").await;
    assert!(registered["client_id"].is_string() && registered["user_id"].is_string());
    let me = json_ok(
        app.get("/api/v1/me", Some(access(&registered["tokens"])))
            .await,
        200,
    )
    .await;
    assert_eq!(me["email"], "anna@example.com");
    assert_eq!(me["kind"], "user");

    let tokens = json_ok(
        login(&app, Some("acme"), "anna@example.com", PASSWORD).await,
        200,
    )
    .await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    let options = json_ok(
        app.get("/api/v1/providers/acme/login-options", None).await,
        200,
    )
    .await;
    assert_eq!(
        options["login"],
        json!(["password", "temporary_key", "api_token"])
    );
    assert_eq!(options["registration"], json!(["password"]));
    assert_eq!(options["password_min_length"], 15);
    assert!(!options.to_string().contains("secret"));
}

#[tokio::test]
async fn registration_refuses_bad_input() {
    let (app, _admin, _) = setup("acme").await;
    let path = "/api/v1/providers/acme/registrations";
    let cases = [
        (json!({ "name": "A", "password": PASSWORD }), "/email"),
        (
            json!({ "email": "not-an-email", "name": "A", "password": PASSWORD }),
            "/email",
        ),
        (
            json!({ "email": "a@example.com", "name": "A", "password": "too short" }),
            "/password",
        ),
        (
            json!({ "email": "a@example.com", "name": "A", "password": "1234567890QWERTY" }),
            "/password",
        ),
        (
            json!({ "email": "a@example.com", "name": "A", "password": "my acme hosting password" }),
            "/password",
        ),
        (
            json!({ "email": "a@example.com", "name": "", "password": PASSWORD }),
            "/name",
        ),
        (
            json!({ "email": "a@example.com", "name": "A", "password": PASSWORD, "phone": "12" }),
            "/phone",
        ),
        (
            json!({ "email": "a@example.com", "name": "A", "password": 12 }),
            "",
        ),
        (
            json!({ "email": "a@example.com", "name": "A", "password": PASSWORD, "admin": true }),
            "/admin",
        ),
    ];
    for (body, pointer) in cases {
        let problem = assert_problem(
            app.post(path, None, body.clone()).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(
            problem["errors"][0]["pointer"], pointer,
            "{body} → {problem}"
        );
    }
    // A form is an object: serde's positional form of a struct is refused.
    let positional = json!(["a@example.com", "A", null, null, PASSWORD]);
    let problem = assert_problem(
        app.post(path, None, positional).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["pointer"], "");
    assert_problem(
        app.post(path, None, json!("a string")).await,
        422,
        "validation_failed",
    )
    .await;
    // 8 characters are enough where everyone must use a second factor.
    let short = json!({ "email": "s@example.com", "name": "S", "password": "violet-88" });
    assert_problem(
        app.post(path, None, short.clone()).await,
        422,
        "validation_failed",
    )
    .await;

    register(&app, "acme", "dup@example.com").await;
    let duplicate = json!({ "email": "DUP@example.com", "name": "B", "password": PASSWORD });
    assert_problem(app.post(path, None, duplicate).await, 409, "conflict").await;
    assert_problem(
        app.post(
            "/api/v1/providers/nobody/registrations",
            None,
            json!({ "email": "x@example.com", "name": "X", "password": PASSWORD }),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let raw = app
        .client
        .post(app.url(path))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    assert_problem(raw, 400, "malformed_json").await;
    let text = app
        .client
        .post(app.url(path))
        .body("email=x")
        .send()
        .await
        .unwrap();
    assert_problem(text, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn short_passwords_where_everyone_uses_a_second_factor() {
    let (app, admin, provider) = setup("strict").await;
    let path = format!(
        "/api/v1/providers/{}/policies",
        provider["id"].as_str().unwrap()
    );
    let mut policies = json_ok(app.get(&path, Some(&admin)).await, 200).await;
    policies["mfa_required_for_everyone"] = true.into();
    json_ok(app.put(&path, Some(&admin), policies).await, 200).await;
    let body = json!({ "email": "s@example.com", "name": "S", "password": "violet-88" });
    json_ok(
        app.post("/api/v1/providers/strict/registrations", None, body)
            .await,
        201,
    )
    .await;
}

#[tokio::test]
async fn disabled_methods_answer_method_disabled_on_every_path() {
    let (app, admin, provider) = setup("acme").await;
    let registered = register(&app, "acme", "anna@example.com").await;
    let user_id = registered["user_id"].as_str().unwrap().to_owned();
    let api_token = json_ok(
        app.post(
            "/api/v1/me/api-tokens",
            Some(access(&registered["tokens"])),
            json!({ "name": "s", "scope": "full" }),
        )
        .await,
        201,
    )
    .await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = api::cli::issue_key(
        &app.settings,
        None,
        Some("anna@example.com"),
        Some("acme"),
        None,
    )
    .unwrap();

    set_methods(&app, &admin, &provider, |m| {
        for method in ["password", "temporary_key", "api_token"] {
            m[method]["login"] = false.into();
        }
        m["password"]["registration"] = false.into();
    })
    .await;

    assert_problem(
        login(&app, Some("acme"), "anna@example.com", PASSWORD).await,
        403,
        "method_disabled",
    )
    .await;
    let body = json!({ "email": "new@example.com", "name": "N", "password": PASSWORD });
    assert_problem(
        app.post("/api/v1/providers/acme/registrations", None, body)
            .await,
        403,
        "method_disabled",
    )
    .await;
    assert_problem(
        app.post("/api/v1/auth/temporary-key", None, json!({ "key": key }))
            .await,
        403,
        "method_disabled",
    )
    .await;
    assert_problem(
        app.get("/api/v1/me", Some(&api_token)).await,
        403,
        "method_disabled",
    )
    .await;
    // authinfo is off by default.
    let basic = app
        .client
        .get(app.url("/api/v1/me"))
        .basic_auth("acme/anna@example.com", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_problem(basic, 403, "method_disabled").await;

    let options = json_ok(
        app.get("/api/v1/providers/acme/login-options", None).await,
        200,
    )
    .await;
    assert_eq!(options["login"], json!([]));
    let logged = events(
        &app,
        &admin,
        &format!("subject_id={user_id}&outcome=failure"),
    )
    .await;
    assert!(
        logged
            .iter()
            .any(|e| e["reason"] == "method_disabled" && e["method"] == "api_token"),
        "{logged:?}"
    );
    let logged = events(&app, &admin, "method=password&outcome=failure").await;
    assert!(
        logged.iter().any(|e| e["reason"] == "method_disabled"),
        "{logged:?}"
    );
}

#[tokio::test]
async fn auth_methods_form_refuses_bad_input() {
    let (app, admin, provider) = setup("acme").await;
    let path = format!(
        "/api/v1/providers/{}/auth-methods",
        provider["id"].as_str().unwrap()
    );
    let mut methods = json_ok(app.get(&path, Some(&admin)).await, 200).await;
    methods["authinfo"]["registration"] = true.into();
    let problem = assert_problem(
        app.put(&path, Some(&admin), methods.clone()).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["pointer"], "/authinfo/registration");
    methods["authinfo"] = json!({ "registration": false });
    assert_problem(
        app.put(&path, Some(&admin), methods).await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(app.get(&path, None).await, 401, "unauthenticated").await;
    assert_problem(
        app.get("/api/v1/providers/not-a-uuid/auth-methods", Some(&admin))
            .await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn unknown_login_and_wrong_password_look_the_same() {
    let (app, _admin, _) = setup("acme").await;
    register(&app, "acme", "anna@example.com").await;
    let wrong = login(
        &app,
        Some("acme"),
        "anna@example.com",
        "wrong password entirely",
    )
    .await;
    let unknown = login(
        &app,
        Some("acme"),
        "nobody@example.com",
        "wrong password entirely",
    )
    .await;
    let (a, b) = (wrong.status(), unknown.status());
    let (a_body, b_body): (Value, Value) =
        (wrong.json().await.unwrap(), unknown.json().await.unwrap());
    assert_eq!(a, 401);
    assert_eq!(a, b);
    assert_eq!(a_body, b_body);
    let employee_unknown = login(&app, None, "ghost", "wrong password entirely").await;
    let body: Value = employee_unknown.json().await.unwrap();
    assert_eq!(body, a_body);
}

#[tokio::test]
async fn failures_are_throttled_and_a_success_resets() {
    let (app, _admin, _) = setup("acme").await;
    register(&app, "acme", "anna@example.com").await;
    for _ in 0..domain::throttle::FREE_ATTEMPTS {
        assert_problem(
            login(&app, Some("acme"), "anna@example.com", "wrong wrong wrong").await,
            401,
            "invalid_credentials",
        )
        .await;
    }
    let throttled = login(&app, Some("acme"), "anna@example.com", PASSWORD).await;
    let retry_after: i64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_problem(throttled, 429, "too_many_attempts").await;
    // Unknown logins are throttled the same way, so the throttle does not reveal accounts.
    for _ in 0..domain::throttle::FREE_ATTEMPTS {
        login(&app, Some("acme"), "ghost@example.com", "wrong wrong wrong").await;
    }
    assert_problem(
        login(&app, Some("acme"), "ghost@example.com", "x").await,
        429,
        "too_many_attempts",
    )
    .await;

    // Waiting as long as the answer said lets the right password in.
    app.advance(chrono::Duration::seconds(retry_after));
    json_ok(
        login(&app, Some("acme"), "anna@example.com", PASSWORD).await,
        200,
    )
    .await;
    // The budget is full again.
    assert_problem(
        login(&app, Some("acme"), "anna@example.com", "nope nope").await,
        401,
        "invalid_credentials",
    )
    .await;
}

#[tokio::test]
async fn parallel_attempts_cannot_bypass_the_budget() {
    let (app, _admin, _) = setup("acme").await;
    register(&app, "acme", "anna@example.com").await;
    let attempts = (0..30).map(|i| {
        let app = &app;
        async move {
            login(
                app,
                Some("acme"),
                "anna@example.com",
                &format!("guess number {i}"),
            )
            .await
            .status()
            .as_u16()
        }
    });
    let statuses = join_all(attempts).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        checked <= domain::throttle::FREE_ATTEMPTS as usize,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn the_hundredth_failure_locks_until_staff_recover_the_account() {
    let (app, _admin, _) = setup("acme").await;
    let registered = register(&app, "acme", "anna@example.com").await;
    let user_id = registered["user_id"].as_str().unwrap();
    // 100 failures spread over days, as a patient attacker would make them.
    let store = persistence::Store::open(&app.settings.database_url, 1).unwrap();
    let key = format!("user:{user_id}");
    let mut now = chrono::Utc::now() - chrono::Duration::days(30);
    for _ in 0..domain::throttle::MAX_CONSECUTIVE_FAILURES {
        assert_eq!(
            store.reserve_attempt(&key, now).unwrap(),
            domain::throttle::Decision::Allow
        );
        now += chrono::Duration::hours(1);
    }
    assert_problem(
        login(&app, Some("acme"), "anna@example.com", PASSWORD).await,
        429,
        "account_locked",
    )
    .await;
    // Recovery: the operator (or staff) hands out a one-time key; redeeming it resets.
    let recovery = api::cli::issue_key(
        &app.settings,
        None,
        Some("anna@example.com"),
        Some("acme"),
        None,
    )
    .unwrap();
    app.redeem(&recovery).await;
    json_ok(
        login(&app, Some("acme"), "anna@example.com", PASSWORD).await,
        200,
    )
    .await;
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let (app, _admin, _) = setup("acme").await;
    register(&app, "acme", "anna@example.com").await;
    let first = json_ok(
        login(&app, Some("acme"), "anna@example.com", PASSWORD).await,
        200,
    )
    .await;
    let old = first["refresh_token"].as_str().unwrap();
    let second = json_ok(
        app.post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": old }),
        )
        .await,
        200,
    )
    .await;
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(second["session_id"], first["session_id"]);
    json_ok(app.get("/api/v1/me", Some(access(&second))).await, 200).await;

    // The old one comes back: a thief or a replay. The whole session dies.
    assert_problem(
        app.post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": old }),
        )
        .await,
        401,
        "invalid_credentials",
    )
    .await;
    let newest = second["refresh_token"].as_str().unwrap();
    assert_problem(
        app.post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": newest }),
        )
        .await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_problem(
        app.get("/api/v1/me", Some(access(&second))).await,
        401,
        "unauthenticated",
    )
    .await;
    assert_problem(
        app.post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": "birt_nonsense" }),
        )
        .await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_problem(
        app.post("/api/v1/auth/refresh", None, json!({})).await,
        422,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn logout_sessions_and_password_change() {
    let (app, _admin, _) = setup("acme").await;
    register(&app, "acme", "anna@example.com").await;
    let laptop = json_ok(
        login(&app, Some("acme"), "anna@example.com", PASSWORD).await,
        200,
    )
    .await;
    let phone = json_ok(
        login(&app, Some("acme"), "anna@example.com", PASSWORD).await,
        200,
    )
    .await;
    let sessions = json_ok(
        app.get("/api/v1/me/sessions", Some(access(&laptop))).await,
        200,
    )
    .await;
    let items = sessions["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "registration, laptop, phone");
    assert_eq!(items.iter().filter(|s| s["current"] == true).count(), 1);

    // End the phone's session from the laptop.
    let phone_session = phone["session_id"].as_str().unwrap();
    let response = app
        .delete(
            &format!("/api/v1/me/sessions/{phone_session}"),
            Some(access(&laptop)),
        )
        .await;
    assert_eq!(response.status(), 204);
    assert_problem(
        app.get("/api/v1/me", Some(access(&phone))).await,
        401,
        "unauthenticated",
    )
    .await;
    assert_problem(
        app.delete(
            &format!("/api/v1/me/sessions/{phone_session}"),
            Some(access(&laptop)),
        )
        .await,
        404,
        "not_found",
    )
    .await;

    // A password change needs the current password and ends every other session.
    let other = json_ok(
        login(&app, Some("acme"), "anna@example.com", PASSWORD).await,
        200,
    )
    .await;
    let change =
        json!({ "current_password": "not it at all", "new_password": "a new and long passphrase" });
    assert_problem(
        app.post("/api/v1/me/password", Some(access(&laptop)), change)
            .await,
        401,
        "invalid_credentials",
    )
    .await;
    let change = json!({ "current_password": PASSWORD, "new_password": "short" });
    assert_problem(
        app.post("/api/v1/me/password", Some(access(&laptop)), change)
            .await,
        422,
        "validation_failed",
    )
    .await;
    let change =
        json!({ "current_password": PASSWORD, "new_password": "a new and long passphrase" });
    assert_eq!(
        app.post("/api/v1/me/password", Some(access(&laptop)), change)
            .await
            .status(),
        204
    );
    assert_problem(
        app.get("/api/v1/me", Some(access(&other))).await,
        401,
        "unauthenticated",
    )
    .await;
    json_ok(app.get("/api/v1/me", Some(access(&laptop))).await, 200).await;
    assert_problem(
        login(&app, Some("acme"), "anna@example.com", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    json_ok(
        login(
            &app,
            Some("acme"),
            "anna@example.com",
            "a new and long passphrase",
        )
        .await,
        200,
    )
    .await;

    // Signing out everywhere else keeps only the laptop.
    let tablet = json_ok(
        login(
            &app,
            Some("acme"),
            "anna@example.com",
            "a new and long passphrase",
        )
        .await,
        200,
    )
    .await;
    let revoked = json_ok(
        app.delete("/api/v1/me/sessions", Some(access(&laptop)))
            .await,
        200,
    )
    .await;
    assert!(revoked["revoked"].as_u64().unwrap() >= 1, "{revoked}");
    assert_problem(
        app.get("/api/v1/me", Some(access(&tablet))).await,
        401,
        "unauthenticated",
    )
    .await;
    json_ok(app.get("/api/v1/me", Some(access(&laptop))).await, 200).await;

    // Logout ends the laptop's session.
    assert_eq!(
        app.post("/api/v1/auth/logout", Some(access(&laptop)), json!({}))
            .await
            .status(),
        204
    );
    assert_problem(
        app.get("/api/v1/me", Some(access(&laptop))).await,
        401,
        "unauthenticated",
    )
    .await;
}

#[tokio::test]
async fn api_tokens_scopes_expiry_and_revocation() {
    let (app, _admin, _) = setup("acme").await;
    let registered = register(&app, "acme", "anna@example.com").await;
    let session = access(&registered["tokens"]).to_owned();
    let created = json_ok(
        app.post(
            "/api/v1/me/api-tokens",
            Some(&session),
            json!({ "name": "backup", "scope": "read", "expires_in_days": 30 }),
        )
        .await,
        201,
    )
    .await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("biat_") && secret.len() == 69,
        "{secret}"
    );
    assert!(secret.starts_with(created["token_prefix"].as_str().unwrap()));

    let me = json_ok(app.get("/api/v1/me", Some(&secret)).await, 200).await;
    assert_eq!(me["credential"], "api_token");
    // read-only: no POST, and no minting of further tokens.
    assert_problem(
        app.post(
            "/api/v1/me/api-tokens",
            Some(&secret),
            json!({ "name": "x", "scope": "full" }),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let listed = json_ok(app.get("/api/v1/me/api-tokens", Some(&session)).await, 200).await;
    assert_eq!(listed["items"][0]["name"], "backup");
    assert!(listed["items"][0]["last_used_at"].is_string());
    assert!(listed["items"][0].get("secret").is_none());

    // A full token cannot mint more tokens either: that needs a session.
    let full = json_ok(
        app.post(
            "/api/v1/me/api-tokens",
            Some(&session),
            json!({ "name": "deploy", "scope": "full" }),
        )
        .await,
        201,
    )
    .await;
    let full_secret = full["secret"].as_str().unwrap();
    assert_problem(
        app.post(
            "/api/v1/me/api-tokens",
            Some(full_secret),
            json!({ "name": "x", "scope": "full" }),
        )
        .await,
        403,
        "forbidden",
    )
    .await;

    let id = created["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/api/v1/me/api-tokens/{id}"), Some(&session))
            .await
            .status(),
        204
    );
    assert_problem(
        app.get("/api/v1/me", Some(&secret)).await,
        401,
        "unauthenticated",
    )
    .await;
    assert_problem(
        app.get("/api/v1/me", Some("biat_0000")).await,
        401,
        "unauthenticated",
    )
    .await;

    for bad in [
        json!({ "name": "", "scope": "read" }),
        json!({ "name": "x", "scope": "admin" }),
        json!({ "name": "x", "scope": "read", "expires_in_days": 0 }),
        json!({ "name": "x", "scope": "read", "expires_in_days": 5000 }),
    ] {
        assert_problem(
            app.post("/api/v1/me/api-tokens", Some(&session), bad).await,
            422,
            "validation_failed",
        )
        .await;
    }

    // A token runs out on its day.
    let daily = json_ok(
        app.post(
            "/api/v1/me/api-tokens",
            Some(&session),
            json!({ "name": "daily", "scope": "read", "expires_in_days": 1 }),
        )
        .await,
        201,
    )
    .await;
    let daily = daily["secret"].as_str().unwrap();
    json_ok(app.get("/api/v1/me", Some(daily)).await, 200).await;
    app.advance(chrono::Duration::days(1) + chrono::Duration::minutes(1));
    assert_problem(
        app.get("/api/v1/me", Some(daily)).await,
        401,
        "unauthenticated",
    )
    .await;
}

#[tokio::test]
async fn authinfo_only_as_basic_and_only_where_allowed() {
    let (app, admin, provider) = setup("acme").await;
    register(&app, "acme", "anna@example.com").await;
    set_methods(&app, &admin, &provider, |m| {
        m["authinfo"]["login"] = true.into()
    })
    .await;
    let basic = |user: &str, password: &str| {
        app.client
            .get(app.url("/api/v1/me"))
            .basic_auth(user, Some(password))
            .send()
    };
    let me = json_ok(basic("acme/anna@example.com", PASSWORD).await.unwrap(), 200).await;
    assert_eq!(me["credential"], "authinfo");
    assert_problem(
        basic("acme/anna@example.com", "wrong wrong").await.unwrap(),
        401,
        "invalid_credentials",
    )
    .await;
    // Never in a URL.
    let in_url = app
        .get(
            &format!(
                "/api/v1/me?authinfo=anna@example.com:{}",
                PASSWORD.replace(' ', "%20")
            ),
            None,
        )
        .await;
    assert_problem(in_url, 401, "unauthenticated").await;
    // An allowlist without the caller's address refuses it.
    let path = format!(
        "/api/v1/providers/{}/policies",
        provider["id"].as_str().unwrap()
    );
    let mut policies = json_ok(app.get(&path, Some(&admin)).await, 200).await;
    policies["authinfo_ip_allowlist"] = json!(["203.0.113.0/24"]);
    json_ok(app.put(&path, Some(&admin), policies.clone()).await, 200).await;
    assert_problem(
        basic("acme/anna@example.com", PASSWORD).await.unwrap(),
        403,
        "forbidden",
    )
    .await;
    policies["authinfo_ip_allowlist"] = json!(["127.0.0.0/8"]);
    json_ok(app.put(&path, Some(&admin), policies.clone()).await, 200).await;
    json_ok(basic("acme/anna@example.com", PASSWORD).await.unwrap(), 200).await;
    policies["authinfo_ip_allowlist"] = json!(["not a network"]);
    assert_problem(
        app.put(&path, Some(&admin), policies).await,
        422,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn disabling_a_user_revokes_everything_at_once() {
    let (app, admin, _) = setup("acme").await;
    let registered = register(&app, "acme", "anna@example.com").await;
    let session = access(&registered["tokens"]).to_owned();
    let refresh = registered["tokens"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = json_ok(
        app.post(
            "/api/v1/me/api-tokens",
            Some(&session),
            json!({ "name": "s", "scope": "full" }),
        )
        .await,
        201,
    )
    .await;
    let secret = token["secret"].as_str().unwrap();
    let key = api::cli::issue_key(
        &app.settings,
        None,
        Some("anna@example.com"),
        Some("acme"),
        None,
    )
    .unwrap();

    let user_id = registered["user_id"].as_str().unwrap();
    json_ok(
        app.patch(
            &format!("/api/v1/users/{user_id}"),
            Some(&admin),
            json!({ "status": "disabled" }),
        )
        .await,
        200,
    )
    .await;

    assert_problem(
        app.get("/api/v1/me", Some(&session)).await,
        401,
        "unauthenticated",
    )
    .await;
    assert_problem(
        app.get("/api/v1/me", Some(secret)).await,
        401,
        "unauthenticated",
    )
    .await;
    assert_problem(
        app.post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": refresh }),
        )
        .await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_problem(
        app.post("/api/v1/auth/temporary-key", None, json!({ "key": key }))
            .await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_problem(
        login(&app, Some("acme"), "anna@example.com", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
}

#[tokio::test]
async fn access_tokens_are_checked_strictly() {
    let (app, admin, _) = setup("acme").await;
    let parts: Vec<&str> = admin.split('.').collect();
    let claims = parts[1];
    let forge = |header: Value, signature: &str| {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            claims,
            signature
        )
    };
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let kid = header["kid"].as_str().unwrap();
    let forged = [
        forge(json!({ "alg": "none", "typ": "JWT" }), ""),
        forge(json!({ "alg": "NONE", "typ": "JWT" }), ""),
        forge(
            json!({ "alg": "HS256", "typ": "JWT", "kid": kid }),
            parts[2],
        ),
        forge(json!({ "alg": "EdDSA", "kid": "unknown" }), parts[2]),
        forge(
            json!({ "alg": "EdDSA", "kid": kid, "jku": "http://127.0.0.1:1/jwks" }),
            parts[2],
        ),
        format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(b"{\"sub\":\"employee:x\"}"),
            parts[2]
        ),
        format!("{}.{}.{}x", parts[0], parts[1], parts[2]),
    ];
    for token in forged {
        assert_problem(
            app.get("/api/v1/me", Some(&token)).await,
            401,
            "unauthenticated",
        )
        .await;
    }
    json_ok(app.get("/api/v1/me", Some(&admin)).await, 200).await;
}

#[tokio::test]
async fn auth_log_lists_attempts_with_filters_and_permissions() {
    let (app, admin, provider) = setup("acme").await;
    let registered = register(&app, "acme", "anna@example.com").await;
    login(&app, Some("acme"), "anna@example.com", "wrong wrong wrong").await;
    json_ok(
        login(&app, Some("acme"), "anna@example.com", PASSWORD).await,
        200,
    )
    .await;
    let provider_id = provider["id"].as_str().unwrap();
    let user_id = registered["user_id"].as_str().unwrap();
    let all = events(&app, &admin, &format!("provider_id={provider_id}")).await;
    let reasons: Vec<&str> = all.iter().map(|e| e["reason"].as_str().unwrap()).collect();
    assert_eq!(
        reasons,
        ["ok", "unknown_login_or_wrong_password", "registered"],
        "newest first"
    );
    assert!(
        all.iter()
            .all(|e| e["ip"] == "127.0.0.1" && e["subject_id"] == user_id)
    );
    let failures = events(
        &app,
        &admin,
        &format!("provider_id={provider_id}&outcome=failure"),
    )
    .await;
    assert_eq!(failures.len(), 1);
    let page = json_ok(
        app.get(
            &format!("/api/v1/auth-events?provider_id={provider_id}&limit=2"),
            Some(&admin),
        )
        .await,
        200,
    )
    .await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = json_ok(
        app.get(
            &format!("/api/v1/auth-events?provider_id={provider_id}&limit=2&cursor={cursor}"),
            Some(&admin),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());

    assert_problem(
        app.get("/api/v1/auth-events?outcome=maybe", Some(&admin))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.get("/api/v1/auth-events?limit=0", Some(&admin)).await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.get("/api/v1/auth-events?from=yesterday", Some(&admin))
            .await,
        400,
        "bad_request",
    )
    .await;
    assert_problem(
        app.get("/api/v1/auth-events", None).await,
        401,
        "unauthenticated",
    )
    .await;
    // A user is not staff.
    assert_problem(
        app.get("/api/v1/auth-events", Some(access(&registered["tokens"])))
            .await,
        403,
        "forbidden",
    )
    .await;
}

/// Runs the real binary, drives every secret-bearing path, then looks for each secret in
/// the process log, the auth log, the database file and every error body.
#[tokio::test]
async fn no_secret_in_any_log_or_error_body() {
    let db = TestDb::new();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let binary = env!("CARGO_BIN_EXE_billing-identity");
    let log_path =
        std::env::temp_dir().join(format!("bi-scan-{}.log", uuid::Uuid::new_v4().simple()));
    let log_file = std::fs::File::create(&log_path).unwrap();
    let bootstrap = std::process::Command::new(binary)
        .args(["bootstrap-admin", "--login", "scanner"])
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert!(bootstrap.status.success());
    let stdout = String::from_utf8(bootstrap.stdout).unwrap();
    let key = stdout.lines().last().unwrap().trim().to_owned();
    let server = std::process::Command::new(binary)
        .env("DATABASE_URL", &db.url)
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "trace")
        // A file, not a pipe: a full pipe would block the server's logging.
        .stderr(log_file.try_clone().unwrap())
        .stdout(log_file)
        .spawn()
        .unwrap();
    // Killed even when an assertion fails, so no server outlives the test.
    struct Kill(Option<std::process::Child>);
    impl Drop for Kill {
        fn drop(&mut self) {
            if let Some(child) = self.0.as_mut() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
    let mut server = Kill(Some(server));
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    // A child process, not the app in this test: polled until it listens, within a bound.
    let listening = tokio::time::timeout(Duration::from_secs(30), async {
        while client.get(format!("{base}/healthz")).send().await.is_err() {
            let child = server.0.as_mut().unwrap();
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the server exited before it listened: {status}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(listening.is_ok(), "the server did not listen within 30 s");
    let mut secrets = vec![key.clone()];
    let bodies = std::cell::RefCell::new(Vec::new());
    let call =
        async |method: Method, path: &str, token: Option<&str>, body: Option<Value>| -> Value {
            let mut request = client.request(method, format!("{base}{path}"));
            if let Some(t) = token {
                request = request.bearer_auth(t);
            }
            if let Some(b) = body {
                request = request.json(&b);
            }
            let response = request.send().await.unwrap();
            let text = response.text().await.unwrap();
            bodies.borrow_mut().push(text.clone());
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
    let admin = call(
        Method::POST,
        "/api/v1/auth/temporary-key",
        None,
        Some(json!({ "key": key })),
    )
    .await;
    let admin_token = admin["access_token"].as_str().unwrap().to_owned();
    secrets.push(admin_token.clone());
    secrets.push(admin["refresh_token"].as_str().unwrap().to_owned());
    let provider = call(
        Method::POST,
        "/api/v1/providers",
        Some(&admin_token),
        Some(json!({ "slug": "scan", "name": "Scan", "jurisdiction": "DE" })),
    )
    .await;
    let provider_id = provider["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{admin} {provider}"))
        .to_owned();
    let mut methods = call(
        Method::GET,
        &format!("/api/v1/providers/{provider_id}/auth-methods"),
        Some(&admin_token),
        None,
    )
    .await;
    methods["authinfo"]["login"] = true.into();
    call(
        Method::PUT,
        &format!("/api/v1/providers/{provider_id}/auth-methods"),
        Some(&admin_token),
        Some(methods),
    )
    .await;
    let password = "unguessable passphrase for tests 42";
    secrets.push(password.to_owned());
    let registered = call(
        Method::POST,
        "/api/v1/providers/scan/registrations",
        None,
        Some(json!({ "email": "scan@example.com", "name": "S", "password": password })),
    )
    .await;
    secrets.push(
        registered["tokens"]["access_token"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let wrong = "wrong-password-that-must-not-leak";
    secrets.push(wrong.to_owned());
    call(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({ "provider": "scan", "login": "scan@example.com", "password": wrong })),
    )
    .await;
    // A password typed into the login field, and one sent with the wrong type.
    call(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({ "provider": "scan", "login": wrong, "password": wrong })),
    )
    .await;
    call(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({ "provider": wrong, "login": 5, "password": wrong })),
    )
    .await;
    call(
        Method::POST,
        "/api/v1/providers/scan/registrations",
        None,
        Some(json!({ "email": "x@example.com", "name": "S", "password": 7, "phone": wrong })),
    )
    .await;
    let logged_in = call(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({ "provider": "scan", "login": "scan@example.com", "password": password })),
    )
    .await;
    let user_token = logged_in["access_token"].as_str().unwrap().to_owned();
    let refresh = logged_in["refresh_token"].as_str().unwrap().to_owned();
    secrets.push(user_token.clone());
    secrets.push(refresh.clone());
    let rotated = call(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({ "refresh_token": refresh })),
    )
    .await;
    secrets.push(rotated["refresh_token"].as_str().unwrap().to_owned());
    let token = call(
        Method::POST,
        "/api/v1/me/api-tokens",
        Some(rotated["access_token"].as_str().unwrap()),
        Some(json!({ "name": "s", "scope": "read" })),
    )
    .await;
    let api_secret = token["secret"].as_str().unwrap().to_owned();
    secrets.push(api_secret.clone());
    // Reuse of a rotated refresh token.
    call(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({ "refresh_token": refresh })),
    )
    .await;
    call(Method::GET, "/api/v1/me", Some(&api_secret), None).await;
    call(
        Method::POST,
        "/api/v1/me/api-tokens",
        Some(&api_secret),
        Some(json!({ "name": "x", "scope": "full" })),
    )
    .await;
    call(
        Method::GET,
        "/api/v1/me",
        Some(&format!("{api_secret}0")),
        None,
    )
    .await;
    call(
        Method::POST,
        "/api/v1/auth/temporary-key",
        None,
        Some(json!({ "key": format!("{key}0") })),
    )
    .await;
    let basic = client
        .get(format!("{base}/api/v1/me"))
        .header(
            "authorization",
            format!(
                "Basic {}",
                STANDARD.encode(format!("scan/scan@example.com:{wrong}"))
            ),
        )
        .send()
        .await
        .unwrap();
    let text = basic.text().await.unwrap();
    bodies.borrow_mut().push(text);
    let events = call(
        Method::GET,
        "/api/v1/auth-events?limit=200",
        Some(&admin_token),
        None,
    )
    .await;
    assert!(events["items"].as_array().unwrap().len() >= 10, "{events}");
    let events_text = events.to_string();

    drop(server);
    let process_log = std::fs::read_to_string(&log_path).unwrap();
    let _ = std::fs::remove_file(&log_path);
    assert!(
        process_log.contains("POST /api/v1/auth/login"),
        "the access log is there: {process_log}"
    );
    // Lines written while a request is handled carry its id.
    assert!(
        process_log.lines().any(|l| l.contains("request_id=")
            && l.contains("auth attempt method=password outcome=failure")),
        "auth attempts are logged with the request id: {process_log}"
    );
    let database = if db.is_postgres() {
        String::new()
    } else {
        let path = db.url.trim_start_matches("sqlite://");
        let mut bytes = std::fs::read(path).unwrap_or_default();
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        String::from_utf8_lossy(&bytes).into_owned()
    };
    for secret in &secrets {
        assert!(
            !process_log.contains(secret.as_str()),
            "secret in the process log"
        );
        assert!(
            !events_text.contains(secret.as_str()),
            "secret in the auth log"
        );
        assert!(
            !database.contains(secret.as_str()),
            "secret stored in clear"
        );
        for body in &bodies.borrow()[1..] {
            // The bodies that hand out tokens are the only place they may appear.
            if body.contains("\"access_token\"") || body.contains("\"secret\"") {
                continue;
            }
            assert!(
                !body.contains(secret.as_str()),
                "secret in an error body: {body}"
            );
        }
    }
}

#[tokio::test]
async fn concurrent_correct_logins_are_not_throttled() {
    let (app, _admin, _) = setup("acme").await;
    register(&app, "acme", "anna@example.com").await;
    for _ in 0..10 {
        let attempts = (0..3).map(|_| login(&app, Some("acme"), "anna@example.com", PASSWORD));
        let statuses: Vec<u16> = join_all(attempts)
            .await
            .iter()
            .map(|r| r.status().as_u16())
            .collect();
        assert_eq!(statuses, [200, 200, 200]);
    }
}

#[tokio::test]
async fn json_bodies_need_the_json_content_type() {
    let (app, admin, provider) = setup("acme").await;
    let id = provider["id"].as_str().unwrap();
    for (method, path) in [
        (Method::PATCH, format!("/api/v1/providers/{id}")),
        (Method::PUT, format!("/api/v1/providers/{id}/auth-methods")),
        (Method::PUT, format!("/api/v1/providers/{id}/policies")),
        (Method::POST, "/api/v1/me/password".to_owned()),
        (Method::POST, "/api/v1/me/api-tokens".to_owned()),
    ] {
        let response = app
            .client
            .request(method, app.url(&path))
            .bearer_auth(&admin)
            .header("content-type", "text/plain")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_problem(response, 415, "unsupported_media_type").await;
    }
}

#[tokio::test]
async fn employees_set_a_password_and_log_in_with_it() {
    let app = spawn_app().await;
    let key = api::cli::bootstrap_admin(&app.settings, "boss", "Boss").unwrap();
    let first = app.redeem(&key).await;
    let me = json_ok(app.get("/api/v1/me", Some(access(&first))).await, 200).await;
    assert_eq!(me["has_password"], false);
    assert_eq!(me["roles"], json!(["admin"]));
    // No password yet: none to confirm.
    let set = json!({ "new_password": "a long and winding passphrase" });
    assert_eq!(
        app.post("/api/v1/me/password", Some(access(&first)), set)
            .await
            .status(),
        204
    );
    let tokens = json_ok(
        login(&app, None, "BOSS", "a long and winding passphrase").await,
        200,
    )
    .await;
    let me = json_ok(app.get("/api/v1/me", Some(access(&tokens))).await, 200).await;
    assert_eq!(me["kind"], "employee");
    assert_eq!(me["has_password"], true);
    // From now on the current one is needed.
    let change = json!({ "new_password": "another long passphrase here" });
    assert_problem(
        app.post("/api/v1/me/password", Some(access(&tokens)), change)
            .await,
        422,
        "validation_failed",
    )
    .await;
    let with_login = json!({ "current_password": "a long and winding passphrase", "new_password": "boss boss boss boss boss" });
    assert_problem(
        app.post("/api/v1/me/password", Some(access(&tokens)), with_login)
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        login(&app, None, "boss", "not the passphrase").await,
        401,
        "invalid_credentials",
    )
    .await;
    // Authinfo is for providers' scripts; employees use API tokens.
    let basic = app
        .client
        .get(app.url("/api/v1/me"))
        .basic_auth("boss", Some("a long and winding passphrase"))
        .send()
        .await
        .unwrap();
    assert_problem(basic, 403, "method_disabled").await;
}

#[tokio::test]
async fn policies_have_defaults_and_refuse_bad_values() {
    let (app, admin, provider) = setup("acme").await;
    let path = format!(
        "/api/v1/providers/{}/policies",
        provider["id"].as_str().unwrap()
    );
    let policies = json_ok(app.get(&path, Some(&admin)).await, 200).await;
    assert_eq!(
        policies,
        json!({
            "admin_mfa_required": true,
            "mfa_required_for_everyone": false,
            "auth_log_retention_days": 180,
            "authinfo_ip_allowlist": [],
        })
    );
    for (field, value) in [
        ("auth_log_retention_days", json!(0)),
        ("auth_log_retention_days", json!(4000)),
        ("auth_log_retention_days", json!(-1)),
        ("authinfo_ip_allowlist", json!("10.0.0.0/8")),
        ("admin_mfa_required", json!("yes")),
    ] {
        let mut body = policies.clone();
        body[field] = value;
        assert_problem(
            app.put(&path, Some(&admin), body).await,
            422,
            "validation_failed",
        )
        .await;
    }
    let mut missing = policies.clone();
    missing
        .as_object_mut()
        .unwrap()
        .remove("auth_log_retention_days");
    let problem = assert_problem(
        app.put(&path, Some(&admin), missing).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["pointer"], "/auth_log_retention_days");
    assert_eq!(
        json_ok(app.get(&path, Some(&admin)).await, 200).await,
        policies,
        "nothing changed"
    );
}

#[tokio::test]
async fn idle_sessions_die_by_the_kind_of_their_subject() {
    let (app, _admin, _) = setup("acme").await;
    let user = register(&app, "acme", "anna@example.com").await;
    let employee_key = api::cli::bootstrap_admin(&app.settings, "sleepy", "Sleepy").unwrap();
    let employee = app.redeem(&employee_key).await;
    // Past an employee's idle limit, well within a user's.
    let idle = app.settings.employee_session_idle;
    assert!(idle < app.settings.user_session_idle);
    app.advance(chrono::Duration::from_std(idle).unwrap() + chrono::Duration::minutes(1));
    let refresh = |tokens: &Value| json!({ "refresh_token": tokens["refresh_token"] });
    assert_problem(
        app.post("/api/v1/auth/refresh", None, refresh(&employee))
            .await,
        401,
        "invalid_credentials",
    )
    .await;
    json_ok(
        app.post("/api/v1/auth/refresh", None, refresh(&user["tokens"]))
            .await,
        200,
    )
    .await;
}
