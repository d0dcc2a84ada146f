//! Issue 3: methods per provider, registration, password login, sessions, API tokens,
//! authinfo, the failure budget and the auth log.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

async fn login(
    app: &TestApp,
    provider: Option<&str>,
    login: &str,
    password: &str,
) -> reqwest::Response {
    app.request(&login_call(provider, login, password), None)
        .await
}

/// Anna (registered with acme) signs in with `password`, which must work: her tokens.
async fn sign_in(app: &TestApp, password: &str) -> Value {
    json_ok(
        login(app, Some("acme"), "anna@example.com", password).await,
        200,
    )
    .await
}

fn login_call(provider: Option<&str>, login: &str, password: &str) -> Call {
    let mut body = json!({ "login": login, "password": password });
    if let Some(p) = provider {
        body["provider"] = p.into();
    }
    Call::post("/api/v1/auth/login", body)
}

fn refresh_call(refresh_token: &Value) -> Call {
    Call::post(
        "/api/v1/auth/refresh",
        json!({ "refresh_token": refresh_token }),
    )
}

fn methods_path(provider: &Created) -> String {
    format!("/api/v1/providers/{}/auth-methods", provider.id)
}

fn policies_path(provider: &Created) -> String {
    format!("/api/v1/providers/{}/policies", provider.id)
}

/// `GET /api/v1/me` with HTTP basic credentials.
async fn basic(app: &TestApp, user: &str, password: &str) -> reqwest::Response {
    app.client
        .get(app.url("/api/v1/me"))
        .basic_auth(user, Some(password))
        .send()
        .await
        .unwrap()
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
    let (app, admin, _) = TestApp::with_providers(["acme"]).await;
    let registered = app.register("acme", "Anna@Example.com").await;
    let me = json_ok(app.get("/api/v1/me", Some(registered.access())).await, 200).await;
    assert_eq!(me["email"], "anna@example.com");
    assert_eq!(me["kind"], "user");
    // The registration made a client of its own for the user.
    let user = format!("/api/v1/users/{}", registered.user_id);
    let user = json_ok(app.get(&user, Some(&admin)).await, 200).await;
    assert_eq!(user["client_id"], registered.client_id.as_str());

    let tokens = sign_in(&app, PASSWORD).await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    let options = json_ok(
        app.get("/api/v1/providers/acme/login-options", None).await,
        200,
    )
    .await;
    // API tokens are on, but a login form has no use for them.
    assert_eq!(options["login"], json!(["password", "temporary_key"]));
    assert_eq!(options["registration"], json!(["password"]));
    assert_eq!(options["password_min_length"], 15);
    assert!(!options.to_string().contains("secret"));
}

#[tokio::test]
async fn registration_refuses_bad_input() {
    let (app, _, _) = TestApp::with_providers(["acme"]).await;
    let path = "/api/v1/providers/acme/registrations";
    let register = |body| Call::post(path, body);
    app.assert_invalid(
        None,
        &[
            (
                register(json!({ "name": "A", "password": PASSWORD })),
                &["/email"],
            ),
            (
                register(json!({ "email": "not-an-email", "name": "A", "password": PASSWORD })),
                &["/email"],
            ),
            (
                register(json!({ "email": "a@example.com", "name": "A", "password": "too short" })),
                &["/password"],
            ),
            (
                register(
                    json!({ "email": "a@example.com", "name": "A", "password": "1234567890QWERTY" }),
                ),
                &["/password"],
            ),
            (
                register(
                    json!({ "email": "a@example.com", "name": "A", "password": "my acme hosting password" }),
                ),
                &["/password"],
            ),
            (
                register(json!({ "email": "a@example.com", "name": "", "password": PASSWORD })),
                &["/name"],
            ),
            (
                register(
                    json!({ "email": "a@example.com", "name": "A", "password": PASSWORD, "phone": "12" }),
                ),
                &["/phone"],
            ),
            (
                register(json!({ "email": "a@example.com", "name": "A", "password": 12 })),
                &["/password"],
            ),
            (
                register(
                    json!({ "email": "a@example.com", "name": "A", "password": PASSWORD, "admin": true }),
                ),
                &["/admin"],
            ),
            // A form is an object: serde's positional form of a struct is refused.
            (
                register(json!(["a@example.com", "A", null, null, PASSWORD])),
                &[""],
            ),
            (register(json!("a string")), &[""]),
            // 8 characters are enough only where everyone must use a second factor.
            (
                register(json!({ "email": "s@example.com", "name": "S", "password": "violet-88" })),
                &["/password"],
            ),
        ],
    )
    .await;

    app.register("acme", "dup@example.com").await;
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
    app.assert_bad_bodies(None, Method::POST, path).await;
    // No content type at all is not JSON either.
    let undeclared = app
        .client
        .post(app.url(path))
        .body("email=x")
        .send()
        .await
        .unwrap();
    assert_problem(undeclared, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn short_passwords_where_everyone_uses_a_second_factor() {
    let (app, admin, [provider]) = TestApp::with_providers(["strict"]).await;
    app.update(&admin, &policies_path(&provider), |p| {
        p["mfa_required_for_everyone"] = true.into()
    })
    .await;
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
    let (app, admin, [provider]) = TestApp::with_providers(["acme"]).await;
    let registered = app.register("acme", "anna@example.com").await;
    let api_token = app
        .create_api_token(registered.access(), json!({ "name": "s", "scope": "full" }))
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

    app.update(&admin, &methods_path(&provider), |m| {
        for method in ["password", "temporary_key", "api_token"] {
            m[method]["login"] = false.into();
        }
        m["password"]["registration"] = false.into();
    })
    .await;

    app.assert_problems(
        None,
        403,
        "method_disabled",
        &[
            login_call(Some("acme"), "anna@example.com", PASSWORD),
            Call::post(
                "/api/v1/providers/acme/registrations",
                json!({ "email": "new@example.com", "name": "N", "password": PASSWORD }),
            ),
            Call::post("/api/v1/auth/temporary-key", json!({ "key": key })),
        ],
    )
    .await;
    app.assert_problems(
        Some(&api_token),
        403,
        "method_disabled",
        [&Call::get("/api/v1/me")],
    )
    .await;
    // authinfo is off by default.
    let response = basic(&app, "acme/anna@example.com", PASSWORD).await;
    assert_problem(response, 403, "method_disabled").await;

    let options = json_ok(
        app.get("/api/v1/providers/acme/login-options", None).await,
        200,
    )
    .await;
    assert_eq!(options["login"], json!([]));
    let query = format!("subject_id={}&outcome=failure", registered.user_id);
    let logged = events(&app, &admin, &query).await;
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
    let (app, admin, [provider]) = TestApp::with_providers(["acme"]).await;
    let path = methods_path(&provider);
    let mut methods = json_ok(app.get(&path, Some(&admin)).await, 200).await;
    methods["authinfo"]["registration"] = true.into();
    let registration_on = Call::put(&path, methods.clone());
    methods["authinfo"] = json!({ "registration": false });
    app.assert_invalid(
        Some(&admin),
        &[(registration_on, &["/authinfo/registration"])],
    )
    .await;
    // Its pointer is not checked: the app answers `/login`, not `/authinfo/login`.
    let login_missing = Call::put(&path, methods);
    app.assert_problems(Some(&admin), 422, "validation_failed", [&login_missing])
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
    let (app, _, _) = TestApp::with_providers(["acme"]).await;
    app.register("acme", "anna@example.com").await;
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
    let (app, _, _) = TestApp::with_providers(["acme"]).await;
    app.register("acme", "anna@example.com").await;
    let wrong = login_call(Some("acme"), "anna@example.com", "wrong wrong wrong");
    let free = vec![&wrong; domain::throttle::FREE_ATTEMPTS as usize];
    app.assert_problems(None, 401, "invalid_credentials", free)
        .await;
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
    sign_in(&app, PASSWORD).await;
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
    let (app, _, _) = TestApp::with_providers(["acme"]).await;
    app.register("acme", "anna@example.com").await;
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
    let (app, _, _) = TestApp::with_providers(["acme"]).await;
    let registered = app.register("acme", "anna@example.com").await;
    // 100 failures spread over days, as a patient attacker would make them.
    let key = format!("user:{}", registered.user_id);
    let mut now = app.now() - chrono::Duration::days(30);
    for _ in 0..domain::throttle::MAX_CONSECUTIVE_FAILURES {
        assert_eq!(
            app.store().reserve_attempt(&key, now).unwrap(),
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
    sign_in(&app, PASSWORD).await;
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let (app, _, _) = TestApp::with_providers(["acme"]).await;
    app.register("acme", "anna@example.com").await;
    let first = sign_in(&app, PASSWORD).await;
    let old = &first["refresh_token"];
    let second = json_ok(app.request(&refresh_call(old), None).await, 200).await;
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(second["session_id"], first["session_id"]);
    json_ok(app.get("/api/v1/me", Some(access(&second))).await, 200).await;

    // The old one comes back after the reuse grace: a thief or a replay. The whole session
    // dies, the newest refresh token with it.
    let grace = chrono::Duration::from_std(app.settings.refresh_reuse_grace).unwrap();
    app.advance(grace);
    app.assert_problems(
        None,
        401,
        "invalid_credentials",
        &[
            refresh_call(old),
            refresh_call(&second["refresh_token"]),
            refresh_call(&json!("birt_nonsense")),
        ],
    )
    .await;
    assert_problem(
        app.get("/api/v1/me", Some(access(&second))).await,
        401,
        "unauthenticated",
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
    let (app, _, _) = TestApp::with_providers(["acme"]).await;
    app.register("acme", "anna@example.com").await;
    let me = Call::get("/api/v1/me");
    let laptop = sign_in(&app, PASSWORD).await;
    let phone = sign_in(&app, PASSWORD).await;
    let sessions = json_ok(
        app.get("/api/v1/me/sessions", Some(access(&laptop))).await,
        200,
    )
    .await;
    let items = sessions["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "registration, laptop, phone");
    assert_eq!(items.iter().filter(|s| s["current"] == true).count(), 1);

    // End the phone's session from the laptop.
    let phone_session = format!(
        "/api/v1/me/sessions/{}",
        phone["session_id"].as_str().unwrap()
    );
    let response = app.delete(&phone_session, Some(access(&laptop))).await;
    assert_eq!(response.status(), 204);
    app.assert_problems(Some(access(&phone)), 401, "unauthenticated", [&me])
        .await;
    assert_problem(
        app.delete(&phone_session, Some(access(&laptop))).await,
        404,
        "not_found",
    )
    .await;

    // A password change needs the current password and ends every other session.
    let other = sign_in(&app, PASSWORD).await;
    let new_password = "a new and long passphrase";
    let change = |current: &str, new: &str| {
        Call::post(
            "/api/v1/me/password",
            json!({ "current_password": current, "new_password": new }),
        )
    };
    app.assert_problems(
        Some(access(&laptop)),
        401,
        "invalid_credentials",
        [&change("not it at all", new_password)],
    )
    .await;
    app.assert_problems(
        Some(access(&laptop)),
        422,
        "validation_failed",
        [&change(PASSWORD, "short")],
    )
    .await;
    app.assert_statuses(
        Some(access(&laptop)),
        204,
        [&change(PASSWORD, new_password)],
    )
    .await;
    app.assert_problems(Some(access(&other)), 401, "unauthenticated", [&me])
        .await;
    app.assert_statuses(Some(access(&laptop)), 200, [&me]).await;
    assert_problem(
        login(&app, Some("acme"), "anna@example.com", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    sign_in(&app, new_password).await;

    // Signing out everywhere else keeps only the laptop.
    let tablet = sign_in(&app, new_password).await;
    let revoked = json_ok(
        app.delete("/api/v1/me/sessions", Some(access(&laptop)))
            .await,
        200,
    )
    .await;
    assert!(revoked["revoked"].as_u64().unwrap() >= 1, "{revoked}");
    app.assert_problems(Some(access(&tablet)), 401, "unauthenticated", [&me])
        .await;
    app.assert_statuses(Some(access(&laptop)), 200, [&me]).await;

    // Logout ends the laptop's session.
    assert_eq!(
        app.post("/api/v1/auth/logout", Some(access(&laptop)), json!({}))
            .await
            .status(),
        204
    );
    app.assert_problems(Some(access(&laptop)), 401, "unauthenticated", [&me])
        .await;
}

#[tokio::test]
async fn api_tokens_scopes_expiry_and_revocation() {
    let (app, _, _) = TestApp::with_providers(["acme"]).await;
    let session = app
        .register("acme", "anna@example.com")
        .await
        .access()
        .to_owned();
    let mint = async |body: Value| app.create_api_token(&session, body).await;
    let me = Call::get("/api/v1/me");
    let another = Call::post(
        "/api/v1/me/api-tokens",
        json!({ "name": "x", "scope": "full" }),
    );
    let created = mint(json!({ "name": "backup", "scope": "read", "expires_in_days": 30 })).await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("biat_") && secret.len() == 69,
        "{secret}"
    );
    assert!(secret.starts_with(created["token_prefix"].as_str().unwrap()));

    let me_by_token = json_ok(app.get("/api/v1/me", Some(&secret)).await, 200).await;
    assert_eq!(me_by_token["credential"], "api_token");
    // read-only: no POST, and no minting of further tokens.
    app.assert_problems(Some(&secret), 403, "forbidden", [&another])
        .await;
    let listed = json_ok(app.get("/api/v1/me/api-tokens", Some(&session)).await, 200).await;
    assert_eq!(listed["items"][0]["name"], "backup");
    assert!(listed["items"][0]["last_used_at"].is_string());
    assert!(listed["items"][0].get("secret").is_none());

    // A full token cannot mint more tokens either: that needs a session.
    let full = mint(json!({ "name": "deploy", "scope": "full" })).await;
    let full_secret = full["secret"].as_str().unwrap();
    app.assert_problems(Some(full_secret), 403, "forbidden", [&another])
        .await;

    let id = created["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/api/v1/me/api-tokens/{id}"), Some(&session))
            .await
            .status(),
        204
    );
    for revoked_or_unknown in [secret.as_str(), "biat_0000"] {
        app.assert_problems(Some(revoked_or_unknown), 401, "unauthenticated", [&me])
            .await;
    }

    let mint_with = |body| Call::post("/api/v1/me/api-tokens", body);
    app.assert_invalid(
        Some(&session),
        &[
            (
                mint_with(json!({ "name": "", "scope": "read" })),
                &["/name"],
            ),
            (
                mint_with(json!({ "name": "x", "scope": "admin" })),
                &["/scope"],
            ),
            (
                mint_with(json!({ "name": "x", "scope": "read", "expires_in_days": 0 })),
                &["/expires_in_days"],
            ),
            (
                mint_with(json!({ "name": "x", "scope": "read", "expires_in_days": 5000 })),
                &["/expires_in_days"],
            ),
        ],
    )
    .await;

    // A token runs out on its day.
    let daily = mint(json!({ "name": "daily", "scope": "read", "expires_in_days": 1 })).await;
    let daily = daily["secret"].as_str().unwrap();
    app.assert_statuses(Some(daily), 200, [&me]).await;
    app.advance(chrono::Duration::days(1) + chrono::Duration::minutes(1));
    app.assert_problems(Some(daily), 401, "unauthenticated", [&me])
        .await;
}

#[tokio::test]
async fn authinfo_only_as_basic_and_only_where_allowed() {
    let (app, admin, [provider]) = TestApp::with_providers(["acme"]).await;
    app.register("acme", "anna@example.com").await;
    app.update(&admin, &methods_path(&provider), |m| {
        m["authinfo"]["login"] = true.into()
    })
    .await;
    let me = json_ok(basic(&app, "acme/anna@example.com", PASSWORD).await, 200).await;
    assert_eq!(me["credential"], "authinfo");
    assert_problem(
        basic(&app, "acme/anna@example.com", "wrong wrong").await,
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
    let path = policies_path(&provider);
    let allow = async |networks: Value| {
        app.update(&admin, &path, |p| p["authinfo_ip_allowlist"] = networks)
            .await
    };
    allow(json!(["203.0.113.0/24"])).await;
    assert_problem(
        basic(&app, "acme/anna@example.com", PASSWORD).await,
        403,
        "forbidden",
    )
    .await;
    let policies = allow(json!(["127.0.0.0/8"])).await;
    json_ok(basic(&app, "acme/anna@example.com", PASSWORD).await, 200).await;
    let mut bad = policies;
    bad["authinfo_ip_allowlist"] = json!(["not a network"]);
    app.assert_invalid(
        Some(&admin),
        &[(Call::put(&path, bad), &["/authinfo_ip_allowlist/0"])],
    )
    .await;
}

#[tokio::test]
async fn disabling_a_user_revokes_everything_at_once() {
    let (app, admin, _) = TestApp::with_providers(["acme"]).await;
    let registered = app.register("acme", "anna@example.com").await;
    let token = app
        .create_api_token(registered.access(), json!({ "name": "s", "scope": "full" }))
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

    let user = format!("/api/v1/users/{}", registered.user_id);
    app.set_status(&admin, &user, "disabled").await;

    for credential in [registered.access(), secret] {
        app.assert_problems(
            Some(credential),
            401,
            "unauthenticated",
            [&Call::get("/api/v1/me")],
        )
        .await;
    }
    app.assert_problems(
        None,
        401,
        "invalid_credentials",
        &[
            refresh_call(&registered.tokens["refresh_token"]),
            Call::post("/api/v1/auth/temporary-key", json!({ "key": key })),
            login_call(Some("acme"), "anna@example.com", PASSWORD),
        ],
    )
    .await;
}

#[tokio::test]
async fn access_tokens_are_checked_strictly() {
    let (app, admin, _) = TestApp::with_providers(["acme"]).await;
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
    let me = Call::get("/api/v1/me");
    for token in forged {
        app.assert_problems(Some(&token), 401, "unauthenticated", [&me])
            .await;
    }
    app.assert_statuses(Some(&admin), 200, [&me]).await;
}

#[tokio::test]
async fn auth_log_lists_attempts_with_filters_and_permissions() {
    let (app, admin, [provider]) = TestApp::with_providers(["acme"]).await;
    let registered = app.register("acme", "anna@example.com").await;
    login(&app, Some("acme"), "anna@example.com", "wrong wrong wrong").await;
    sign_in(&app, PASSWORD).await;
    let all = events(&app, &admin, &format!("provider_id={}", provider.id)).await;
    let reasons: Vec<&str> = all.iter().map(|e| e["reason"].as_str().unwrap()).collect();
    assert_eq!(
        reasons,
        ["ok", "unknown_login_or_wrong_password", "registered"],
        "newest first"
    );
    assert!(
        all.iter()
            .all(|e| e["ip"] == "127.0.0.1" && e["subject_id"] == registered.user_id.as_str())
    );
    let failures = events(
        &app,
        &admin,
        &format!("provider_id={}&outcome=failure", provider.id),
    )
    .await;
    assert_eq!(failures.len(), 1);
    let pages = app
        .pages(
            &admin,
            &format!("/api/v1/auth-events?provider_id={}&limit=2", provider.id),
        )
        .await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [2, 1]);

    app.assert_problems(
        Some(&admin),
        422,
        "validation_failed",
        &[
            Call::get("/api/v1/auth-events?outcome=maybe"),
            Call::get("/api/v1/auth-events?limit=0"),
        ],
    )
    .await;
    let log = Call::get("/api/v1/auth-events");
    app.assert_invalid(
        Some(&admin),
        &[
            (
                Call::get("/api/v1/auth-events?from=yesterday"),
                &["/query/from"],
            ),
            (
                Call::get("/api/v1/auth-events?to=2026-13-01"),
                &["/query/to"],
            ),
            (
                Call::get("/api/v1/auth-events?limit=abc"),
                &["/query/limit"],
            ),
            (
                Call::get("/api/v1/auth-events?subject_id=x"),
                &["/query/subject_id"],
            ),
            (
                Call::get("/api/v1/auth-events?cursor=x"),
                &["/query/cursor"],
            ),
        ],
    )
    .await;
    app.assert_problems(None, 401, "unauthenticated", [&log])
        .await;
    // A user is not staff.
    app.assert_problems(Some(registered.access()), 403, "forbidden", [&log])
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
        .env(
            "TOTP_SECRET_KEY",
            "c2VhbHMgdG90cCBzZWNyZXRzIGluIHRoZSB0ZXN0cyE=",
        )
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
    // Admins enroll a second factor first. Its secret is sealed with TOTP_SECRET_KEY.
    let enrolled = call(Method::POST, "/api/v1/me/totp", Some(&admin_token), None).await;
    let totp_secret = enrolled["secret"].as_str().unwrap().to_owned();
    secrets.push(totp_secret.clone());
    let code = crate::helpers::totp_code_at(&totp_secret, chrono::Utc::now().timestamp());
    call(
        Method::POST,
        "/api/v1/me/totp/confirm",
        Some(&admin_token),
        Some(json!({ "code": code })),
    )
    .await;
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
    let (app, _, _) = TestApp::with_providers(["acme"]).await;
    app.register("acme", "anna@example.com").await;
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
    let (app, admin, [provider]) = TestApp::with_providers(["acme"]).await;
    let item = format!("/api/v1/providers/{}", provider.id);
    let calls = [
        (Method::PATCH, item.clone()),
        (Method::PUT, methods_path(&provider)),
        (Method::PUT, policies_path(&provider)),
        (Method::POST, "/api/v1/me/password".to_owned()),
        (Method::POST, "/api/v1/me/api-tokens".to_owned()),
    ]
    .map(|(method, path)| Call::new(method, path).raw("text/plain", "{}"));
    app.assert_problems(Some(&admin), 415, "unsupported_media_type", &calls)
        .await;
}

/// A JSON body is read as actix's own extractor read it (`api::extract`): `+json` types are
/// JSON, gzip is undone, and the size limit holds whether the body declares its length or
/// streams it in chunks; each refusal with its own answer.
#[tokio::test]
async fn json_bodies_are_read_whatever_their_type_encoding_or_length() {
    use std::io::Write;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = spawn_app().await;
    let path = "/api/v1/auth/login";
    let login = json!({ "login": "nobody", "password": "not the password" }).to_string();
    let send = |content_type: &'static str, encoding: Option<&'static str>, body: Vec<u8>| {
        let mut request = app
            .client
            .post(app.url(path))
            .header("content-type", content_type);
        if let Some(encoding) = encoding {
            request = request.header("content-encoding", encoding);
        }
        request.body(body).send()
    };
    // Read and judged: the answer of unknown credentials, not of the body.
    let vendor = send(
        "application/vnd.example+json",
        None,
        login.clone().into_bytes(),
    );
    assert_problem(vendor.await.unwrap(), 401, "invalid_credentials").await;
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(login.as_bytes()).unwrap();
    let gzipped = send("application/json", Some("gzip"), gzip.finish().unwrap());
    assert_problem(gzipped.await.unwrap(), 401, "invalid_credentials").await;
    // Not gzip although it says so: the body cannot be read.
    let broken = send(
        "application/json",
        Some("gzip"),
        b"not gzip at all".to_vec(),
    );
    assert_problem(broken.await.unwrap(), 400, "malformed_json").await;
    // Over 64 KiB, declared in Content-Length.
    let big = json!({ "login": "a".repeat(70_000), "password": "x" }).to_string();
    let declared = send("application/json", None, big.clone().into_bytes());
    assert_problem(declared.await.unwrap(), 400, "bad_request").await;
    // Over 64 KiB in chunks, with no length declared: refused while reading.
    let address = app
        .url("")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for chunk in big.as_bytes().chunks(8192) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    // The server may answer and close before it has read everything: a failed write is fine.
    let _ = stream.write_all(&request).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("\"bad_request\""), "{answer}");
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
    let passphrase = "a long and winding passphrase";
    let set = json!({ "new_password": passphrase });
    assert_eq!(
        app.post("/api/v1/me/password", Some(access(&first)), set)
            .await
            .status(),
        204
    );
    let tokens = json_ok(login(&app, None, "BOSS", passphrase).await, 200).await;
    let me = json_ok(app.get("/api/v1/me", Some(access(&tokens))).await, 200).await;
    assert_eq!(me["kind"], "employee");
    assert_eq!(me["has_password"], true);
    // From now on the current one is needed; and a password made of the login is refused.
    let change = |body| Call::post("/api/v1/me/password", body);
    app.assert_invalid(
        Some(access(&tokens)),
        &[
            (
                change(json!({ "new_password": "another long passphrase here" })),
                &["/current_password"],
            ),
            (
                change(
                    json!({ "current_password": passphrase, "new_password": "boss boss boss boss boss" }),
                ),
                &["/new_password"],
            ),
        ],
    )
    .await;
    assert_problem(
        login(&app, None, "boss", "not the passphrase").await,
        401,
        "invalid_credentials",
    )
    .await;
    // Authinfo is for providers' scripts; employees use API tokens.
    assert_problem(
        basic(&app, "boss", passphrase).await,
        403,
        "method_disabled",
    )
    .await;
}

#[tokio::test]
async fn policies_have_defaults_and_refuse_bad_values() {
    let (app, admin, [provider]) = TestApp::with_providers(["acme"]).await;
    let path = policies_path(&provider);
    let policies = json_ok(app.get(&path, Some(&admin)).await, 200).await;
    assert_eq!(
        policies,
        json!({
            "admin_mfa_required": true,
            "mfa_required_for_everyone": false,
            "auth_log_retention_days": 180,
            "authinfo_ip_allowlist": [],
            "inactive_client_retention_months": null,
            "sms_send_limits": {
                "per_number_per_hour": 5,
                "per_account_per_hour": 10,
                "per_ip_per_hour": 20,
            },
            "accept_idp_mfa": false,
            "idp_mfa_acr_values": [],
        })
    );
    let with = |field: &str, value: Option<Value>| {
        let mut body = policies.clone();
        match value {
            Some(value) => body[field] = value,
            None => {
                body.as_object_mut().unwrap().remove(field);
            }
        }
        Call::put(&path, body)
    };
    let days = "auth_log_retention_days";
    app.assert_invalid(
        Some(&admin),
        &[
            (with(days, Some(json!(0))), &["/auth_log_retention_days"]),
            (with(days, Some(json!(4000))), &["/auth_log_retention_days"]),
            (with(days, Some(json!(-1))), &["/auth_log_retention_days"]),
            (with(days, None), &["/auth_log_retention_days"]),
            (
                with("authinfo_ip_allowlist", Some(json!("10.0.0.0/8"))),
                &["/authinfo_ip_allowlist"],
            ),
            (
                with("admin_mfa_required", Some(json!("yes"))),
                &["/admin_mfa_required"],
            ),
            (
                with(
                    "sms_send_limits",
                    Some(json!({"per_number_per_hour": 0, "per_ip_per_hour": 10001})),
                ),
                &[
                    "/sms_send_limits/per_ip_per_hour",
                    "/sms_send_limits/per_number_per_hour",
                ],
            ),
        ],
    )
    .await;
    assert_eq!(
        json_ok(app.get(&path, Some(&admin)).await, 200).await,
        policies,
        "nothing changed"
    );
}

#[tokio::test]
async fn idle_sessions_die_by_the_kind_of_their_subject() {
    let (app, _, _) = TestApp::with_providers(["acme"]).await;
    let user = app.register("acme", "anna@example.com").await;
    let employee_key = api::cli::bootstrap_admin(&app.settings, "sleepy", "Sleepy").unwrap();
    let employee = app.redeem(&employee_key).await;
    // Past an employee's idle limit, well within a user's.
    let idle = app.settings.employee_session_idle;
    assert!(idle < app.settings.user_session_idle);
    app.advance(chrono::Duration::from_std(idle).unwrap() + chrono::Duration::minutes(1));
    assert_problem(
        app.request(&refresh_call(&employee["refresh_token"]), None)
            .await,
        401,
        "invalid_credentials",
    )
    .await;
    json_ok(
        app.request(&refresh_call(&user.tokens["refresh_token"]), None)
            .await,
        200,
    )
    .await;
}

/// A hash made with weaker parameters than those in force is renewed by the login that
/// proves it (in the transaction that starts the session), and the new one still works.
#[tokio::test]
async fn a_login_renews_a_weaker_hash() {
    use argon2::password_hash::{PasswordHasher, SaltString};
    use argon2::{Algorithm, Argon2, Params, Version};
    let (app, _, _) = TestApp::with_providers(["acme"]).await;
    let user = app.register("acme", "anna@example.com").await;
    let id = user.user_id.parse().unwrap();
    let salt = SaltString::encode_b64(b"sixteen byte salt").unwrap();
    let weak = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(1024, 1, 1, None).unwrap(),
    )
    .hash_password(PASSWORD.as_bytes(), &salt)
    .unwrap()
    .to_string();
    app.store().set_user_password_hash(id, &weak).unwrap();

    sign_in(&app, PASSWORD).await;
    let renewed = app.store().user_password_hash(id).unwrap().unwrap();
    assert_ne!(renewed, weak);
    assert!(renewed.starts_with("$argon2id$v=19$"), "{renewed}");
    assert!(!renewed.contains("m=1024,t=1,"), "{renewed}");
    sign_in(&app, PASSWORD).await;
}
