//! Second factors: TOTP enrollment and windows, replays, sign-in challenges, recovery
//! codes, the shared failure budget, admin enforcement and `amr`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Call, PASSWORD, TestApp, access, assert_problem, json_ok, spawn_app};

const TOTP: &str = "/api/v1/me/totp";
const CONFIRM: &str = "/api/v1/me/totp/confirm";
const RECOVERY: &str = "/api/v1/me/recovery-codes";
const VERIFY: &str = "/api/v1/auth/mfa/verify";
const LOGIN: &str = "/api/v1/auth/login";

/// Moves the app's clock to 5 seconds into a TOTP step, so that a test's few requests
/// stay inside the steps it computed codes for.
fn align_to_step(app: &TestApp) {
    let into = app.now().timestamp().rem_euclid(30);
    app.advance(Duration::seconds((35 - into).rem_euclid(30)));
}

fn login_call(slug: &str, email: &str) -> Call {
    Call::post(
        LOGIN,
        json!({ "provider": slug, "login": email, "password": PASSWORD }),
    )
}

/// A password login that must answer a challenge: its id.
async fn challenge(app: &TestApp, call: &Call) -> Value {
    let answer = json_ok(app.request(call, None).await, 200).await;
    assert_eq!(answer["mfa_required"], true, "{answer}");
    assert!(answer.get("access_token").is_none(), "{answer}");
    answer
}

async fn verify(app: &TestApp, challenge: &Value, method: &str, code: &str) -> reqwest::Response {
    let body = json!({ "challenge_id": challenge["challenge_id"], "method": method, "code": code });
    app.post(VERIFY, None, body).await
}

/// The claims of an access token (read, not verified: the server verified it).
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Creates an employee from `body` and signs them in with a key, without a second factor:
/// (id, token).
async fn employee_by_key(app: &TestApp, admin: &str, body: Value) -> (String, String) {
    let created = json_ok(app.post("/api/v1/employees", Some(admin), body).await, 201).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let token = app.sign_in_by_key(admin, &format!("employees/{id}")).await;
    (id, token)
}

/// New recovery codes for whoever `token` signs in.
async fn renew_codes(app: &TestApp, token: &str) -> Vec<String> {
    let renewed = json_ok(
        app.request(&Call::new(Method::POST, RECOVERY), Some(token))
            .await,
        201,
    )
    .await;
    serde_json::from_value(renewed["codes"].clone()).unwrap()
}

/// An app with provider `acme`, a registered user with TOTP: (app, admin, user token, secret).
async fn user_with_totp() -> (TestApp, String, String, String) {
    let (app, admin, _) = TestApp::with_providers(["acme"]).await;
    let user = app.register("acme", "anna@example.com").await;
    align_to_step(&app);
    let secret = app.enroll_totp(user.access()).await;
    (app, admin, user.access().to_owned(), secret)
}

#[tokio::test]
async fn totp_enrollment_windows_replays_and_amr() {
    let (app, _admin, _) = TestApp::with_providers(["acme"]).await;
    let user = app.register("acme", "anna@example.com").await;
    let token = user.access();
    let me = json_ok(app.get("/api/v1/me", Some(token)).await, 200).await;
    assert_eq!(me["amr"], json!(["pwd"]));
    assert_eq!(me["second_factors"], json!([]));

    let enroll = Call::new(Method::POST, TOTP);
    let enrolled = json_ok(app.request(&enroll, Some(token)).await, 201).await;
    let secret = enrolled["secret"].as_str().unwrap().to_owned();
    let uri = enrolled["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(enrolled["qr_svg"].as_str().unwrap().contains("<svg"));
    // Not active until confirmed: a login still answers tokens.
    let tokens = json_ok(
        app.request(&login_call("acme", "anna@example.com"), None)
            .await,
        200,
    )
    .await;
    assert!(tokens["access_token"].is_string());

    align_to_step(&app);
    let wrong = json!({ "code": app.totp_code(&secret, -2) });
    let answer = app.post(CONFIRM, Some(token), wrong).await;
    assert_problem(answer, 422, "validation_failed").await;
    let right = json!({ "code": app.totp_code(&secret, 0) });
    let proven = json_ok(app.post(CONFIRM, Some(token), right.clone()).await, 200).await;
    assert_eq!(proven["amr"], json!(["pwd", "otp", "mfa"]));
    // Confirmed once; a second enrollment needs the first removed.
    assert_problem(app.post(CONFIRM, Some(token), right).await, 409, "conflict").await;
    assert_problem(app.request(&enroll, Some(token)).await, 409, "conflict").await;
    let me = json_ok(app.get("/api/v1/me", Some(token)).await, 200).await;
    assert_eq!(me["second_factors"], json!(["totp"]));
    assert!(
        !me.to_string().contains(&secret),
        "the secret is never shown again"
    );

    // Sign-in: a challenge, then the code. The step confirmed with is spent: its code is
    // a replay; the next step's code (+1) is inside the window.
    let login = login_call("acme", "anna@example.com");
    let c = challenge(&app, &login).await;
    assert_eq!(c["methods"], json!(["totp"]));
    let replay = verify(&app, &c, "totp", &app.totp_code(&secret, 0)).await;
    assert_problem(replay, 401, "invalid_credentials").await;
    let tokens = json_ok(
        verify(&app, &c, "totp", &app.totp_code(&secret, 1)).await,
        200,
    )
    .await;
    assert_eq!(claims(access(&tokens))["amr"], json!(["pwd", "otp", "mfa"]));
    let me = json_ok(app.get("/api/v1/me", Some(access(&tokens))).await, 200).await;
    assert_eq!(me["amr"], json!(["pwd", "otp", "mfa"]));
    // Refresh keeps it.
    let refreshed = json_ok(
        app.post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": tokens["refresh_token"] }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        claims(access(&refreshed))["amr"],
        json!(["pwd", "otp", "mfa"])
    );

    // Exactly two steps later (still 5 s into a step): two steps back is outside the
    // window, one step back was used, two ahead is outside; now's works.
    app.advance(Duration::seconds(60));
    let c = challenge(&app, &login).await;
    for steps in [-2, -1, 2] {
        let code = app.totp_code(&secret, steps);
        let answer = verify(&app, &c, "totp", &code).await;
        assert_problem(answer, 401, "invalid_credentials").await;
    }
    json_ok(
        verify(&app, &c, "totp", &app.totp_code(&secret, 0)).await,
        200,
    )
    .await;
}

#[tokio::test]
async fn totp_one_step_back_is_accepted() {
    let (app, _admin, _token, secret) = user_with_totp().await;
    app.advance(Duration::seconds(90));
    align_to_step(&app);
    let c = challenge(&app, &login_call("acme", "anna@example.com")).await;
    json_ok(
        verify(&app, &c, "totp", &app.totp_code(&secret, -1)).await,
        200,
    )
    .await;
}

#[tokio::test]
async fn challenges_expire_and_work_once() {
    let (app, _admin, _token, secret) = user_with_totp().await;
    let login = login_call("acme", "anna@example.com");
    app.advance(Duration::seconds(30));
    let c = challenge(&app, &login).await;
    app.advance(Duration::minutes(5) + Duration::seconds(1));
    align_to_step(&app);
    let late = verify(&app, &c, "totp", &app.totp_code(&secret, 0)).await;
    assert_problem(late, 401, "mfa_challenge_invalid").await;

    let c = challenge(&app, &login).await;
    json_ok(
        verify(&app, &c, "totp", &app.totp_code(&secret, 0)).await,
        200,
    )
    .await;
    let again = verify(&app, &c, "totp", &app.totp_code(&secret, 1)).await;
    assert_problem(again, 401, "mfa_challenge_invalid").await;

    let unknown =
        json!({ "challenge_id": uuid::Uuid::now_v7(), "method": "totp", "code": "123456" });
    assert_problem(
        app.post(VERIFY, None, unknown).await,
        401,
        "mfa_challenge_invalid",
    )
    .await;
}

#[tokio::test]
async fn fifty_parallel_verifies_of_one_challenge_one_wins() {
    let (app, _admin, _token, secret) = user_with_totp().await;
    app.advance(Duration::seconds(30));
    align_to_step(&app);
    let c = challenge(&app, &login_call("acme", "anna@example.com")).await;
    let code = app.totp_code(&secret, 0);
    let body = json!({ "challenge_id": c["challenge_id"], "method": "totp", "code": code });
    let calls = (0..50).map(|_| {
        let request = app.client.post(app.url(VERIFY)).json(&body);
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let statuses = futures_util::future::join_all(calls).await;
    let won = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(won, 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [200, 401, 429].contains(s)),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn recovery_codes_work_once_and_die_when_renewed() {
    let (app, _admin, token, _secret) = user_with_totp().await;
    let codes = renew_codes(&app, &token).await;
    assert_eq!(codes.len(), 10);
    let me = json_ok(app.get("/api/v1/me", Some(&token)).await, 200).await;
    assert_eq!(me["recovery_codes_left"], 10);
    assert_eq!(me["second_factors"], json!(["totp", "recovery_code"]));

    let login = login_call("acme", "anna@example.com");
    let c = challenge(&app, &login).await;
    assert_eq!(c["methods"], json!(["totp", "recovery_code"]));
    // Typed in capitals and without dashes, it still counts.
    let typed = codes[0].replace('-', "").to_uppercase();
    let tokens = json_ok(verify(&app, &c, "recovery_code", &typed).await, 200).await;
    assert_eq!(claims(access(&tokens))["amr"], json!(["pwd", "rcc", "mfa"]));
    let c = challenge(&app, &login).await;
    let reused = verify(&app, &c, "recovery_code", &codes[0]).await;
    assert_problem(reused, 401, "invalid_credentials").await;
    let not_a_code = verify(&app, &c, "recovery_code", "hello").await;
    assert_problem(not_a_code, 401, "invalid_credentials").await;

    let new_codes = renew_codes(&app, &token).await;
    assert!(new_codes.iter().all(|c| !codes.contains(c)));
    let old = verify(&app, &c, "recovery_code", &codes[1]).await;
    assert_problem(old, 401, "invalid_credentials").await;
    json_ok(verify(&app, &c, "recovery_code", &new_codes[0]).await, 200).await;
}

#[tokio::test]
async fn wrong_codes_spend_the_shared_failure_budget() {
    let (app, _admin, token, _secret) = user_with_totp().await;
    let me = json_ok(app.get("/api/v1/me", Some(&token)).await, 200).await;
    let login = login_call("acme", "anna@example.com");
    let c = challenge(&app, &login).await;
    for _ in 0..domain::throttle::FREE_ATTEMPTS {
        let answer = verify(&app, &c, "totp", "000000").await;
        assert_problem(answer, 401, "invalid_credentials").await;
    }
    // The budget is the account's: the next code and the password both wait.
    assert_problem(
        verify(&app, &c, "totp", "000000").await,
        429,
        "too_many_attempts",
    )
    .await;
    assert_problem(app.request(&login, None).await, 429, "too_many_attempts").await;

    // The hard stop: a budget spent to the end refuses the code too.
    let subject = domain::model::Subject::user(me["id"].as_str().unwrap().parse().unwrap());
    let key = domain::throttle::subject_key(subject);
    app.store().reset_attempts(&key).unwrap();
    let c = challenge(&app, &login).await;
    let mut at = app.now() - Duration::days(30);
    for _ in 0..domain::throttle::MAX_CONSECUTIVE_FAILURES {
        app.store().reserve_attempt(&key, at).unwrap();
        at += Duration::hours(1);
    }
    assert_problem(
        verify(&app, &c, "totp", "000000").await,
        429,
        "account_locked",
    )
    .await;
}

#[tokio::test]
async fn totp_secrets_are_sealed_at_rest_with_a_key() {
    let key = api::settings::TotpSecretKey([9; 32]);
    let app = TestApp::builder()
        .settings(move |s| s.totp_secret_key = Some(key))
        .spawn()
        .await;
    let admin = app.admin_token().await;
    app.create_provider(&admin, "acme").await;
    let user = app.register("acme", "anna@example.com").await;
    align_to_step(&app);
    let secret = app.enroll_totp(user.access()).await;
    let subject = domain::model::Subject::user(user.user_id.parse().unwrap());
    let stored = app.store().totp_factor(subject).unwrap().unwrap().secret;
    assert!(stored.starts_with("sealed1:"), "{stored}");
    assert!(!stored.contains(&secret));
    app.advance(Duration::seconds(30));
    let c = challenge(&app, &login_call("acme", "anna@example.com")).await;
    json_ok(
        verify(&app, &c, "totp", &app.totp_code(&secret, 0)).await,
        200,
    )
    .await;
}

#[tokio::test]
async fn authinfo_does_not_bypass_an_enrolled_factor() {
    let (app, admin, _token, _secret) = user_with_totp().await;
    let providers = json_ok(app.get("/api/v1/providers", Some(&admin)).await, 200).await;
    let acme = providers["items"][0]["id"].as_str().unwrap().to_owned();
    let methods = format!("/api/v1/providers/{acme}/auth-methods");
    app.update(&admin, &methods, |m| m["authinfo"]["login"] = json!(true))
        .await;
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("acme/anna@example.com:{PASSWORD}"));
    let answer = app
        .client
        .get(app.url("/api/v1/me"))
        .header("authorization", format!("Basic {basic}"))
        .send()
        .await
        .unwrap();
    assert_problem(answer, 403, "mfa_required").await;
}

#[tokio::test]
async fn removing_totp_needs_a_fresh_session() {
    let (app, admin, token, _secret) = user_with_totp().await;
    app.advance(Duration::minutes(11));
    assert_problem(
        app.delete(TOTP, Some(&token)).await,
        403,
        "reauthentication_required",
    )
    .await;
    let tokens = json_ok(
        app.request(&login_call("acme", "anna@example.com"), None)
            .await,
        200,
    )
    .await;
    assert_eq!(tokens["mfa_required"], true, "the factor is still there");
    // A fresh session (a one-time key staff issued a moment ago) may remove it.
    let user_id = json_ok(app.get("/api/v1/me", Some(&token)).await, 200).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let fresh = app.user_token(&admin, &user_id).await;
    let removed = app.delete(TOTP, Some(&fresh)).await;
    assert_eq!(removed.status(), 204);
    assert_problem(app.delete(TOTP, Some(&fresh)).await, 404, "not_found").await;
    let tokens = json_ok(
        app.request(&login_call("acme", "anna@example.com"), None)
            .await,
        200,
    )
    .await;
    assert!(tokens["access_token"].is_string(), "{tokens}");
}

#[tokio::test]
async fn admins_without_a_second_factor_may_only_enroll_one() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let body = json!({ "login": "ops", "name": "Ops", "roles": ["admin"] });
    let (ops_id, ops) = employee_by_key(&app, &admin, body).await;
    let ops_path = format!("employees/{ops_id}");
    let closed = [
        Call::get("/api/v1/providers"),
        Call::get("/api/v1/employees"),
        Call::post(
            "/api/v1/me/api-tokens",
            json!({ "name": "x", "scope": "read" }),
        ),
        Call::get("/api/v1/me/sessions"),
    ];
    app.assert_problems(Some(&ops), 403, "mfa_enrollment_required", &closed)
        .await;
    let me = json_ok(app.get("/api/v1/me", Some(&ops)).await, 200).await;
    assert_eq!(me["amr"], json!(["otk"]));
    assert_eq!(me["session_access"], "mfa_enrollment_required");

    // Enrolling proves the factor for this session: everything opens.
    let secret = app.enroll_totp(&ops).await;
    json_ok(app.get("/api/v1/providers", Some(&ops)).await, 200).await;

    // A one-time key starts a session without the factor: admin routes refuse it.
    let recovered = app.sign_in_by_key(&admin, &ops_path).await;
    app.assert_problems(Some(&recovered), 403, "mfa_required", &closed)
        .await;
    let me = json_ok(app.get("/api/v1/me", Some(&recovered)).await, 200).await;
    assert_eq!(me["session_access"], "mfa_required");

    // A password sign-in goes through the challenge and gets a full session.
    // Give ops a password from the full session, then sign in with it.
    let body = json!({ "new_password": PASSWORD });
    let answer = app.post("/api/v1/me/password", Some(&ops), body).await;
    assert_eq!(answer.status(), 204);
    app.advance(Duration::seconds(30));
    align_to_step(&app);
    let login = Call::post(LOGIN, json!({ "login": "ops", "password": PASSWORD }));
    let c = challenge(&app, &login).await;
    let tokens = json_ok(
        verify(&app, &c, "totp", &app.totp_code(&secret, 0)).await,
        200,
    )
    .await;
    json_ok(
        app.get("/api/v1/employees", Some(access(&tokens))).await,
        200,
    )
    .await;
    let me = json_ok(app.get("/api/v1/me", Some(access(&tokens))).await, 200).await;
    assert_eq!(me["session_access"], "full");
}

#[tokio::test]
async fn the_policy_decides_who_needs_a_second_factor() {
    let (app, admin, [acme]) = TestApp::with_providers(["acme"]).await;
    let policies = format!("/api/v1/providers/{}/policies", acme.id);
    // Billing holds no admin permission: never asked.
    let (_, billing) = employee_by_key(
        &app,
        &admin,
        json!({ "login": "bill", "name": "Bill", "roles": ["billing"] }),
    )
    .await;
    json_ok(app.get("/api/v1/providers", Some(&billing)).await, 200).await;
    // An admin limited to acme follows acme's policy: on by default, then off.
    let limited =
        json!({ "login": "lim", "name": "Lim", "roles": ["admin"], "providers": [acme.id] });
    let (_, lim) = employee_by_key(&app, &admin, limited).await;
    let call = Call::get(&policies);
    app.assert_problems(Some(&lim), 403, "mfa_enrollment_required", [&call])
        .await;
    app.update(&admin, &policies, |p| {
        p["admin_mfa_required"] = json!(false)
    })
    .await;
    json_ok(app.get(&policies, Some(&lim)).await, 200).await;

    // Users: `mfa_required_for_everyone` keeps a user without a factor to enrolling one.
    app.update(&admin, &policies, |p| {
        p["mfa_required_for_everyone"] = json!(true)
    })
    .await;
    let user = app.register("acme", "anna@example.com").await;
    let call = Call::get("/api/v1/me/sessions");
    app.assert_problems(Some(user.access()), 403, "mfa_enrollment_required", [&call])
        .await;
    let options = json_ok(
        app.get("/api/v1/providers/acme/login-options", None).await,
        200,
    )
    .await;
    assert_eq!(options["mfa_required"], true);
    assert_eq!(
        options["second_factors"],
        json!(["totp", "sms", "recovery_code"])
    );
    app.enroll_totp(user.access()).await;
    json_ok(
        app.get("/api/v1/me/sessions", Some(user.access())).await,
        200,
    )
    .await;
}

#[tokio::test]
async fn bad_inputs_are_problems() {
    let (app, admin, token, _secret) = user_with_totp().await;
    app.assert_bad_bodies(None, Method::POST, VERIFY).await;
    app.assert_bad_bodies(Some(&token), Method::POST, CONFIRM)
        .await;
    let c = challenge(&app, &login_call("acme", "anna@example.com")).await;
    let id = c["challenge_id"].clone();
    app.assert_invalid(
        None,
        &[
            (
                Call::post(VERIFY, json!({ "challenge_id": id, "method": "totp" })),
                &["/code"],
            ),
            (
                Call::post(
                    VERIFY,
                    json!({ "challenge_id": id, "method": "pigeon", "code": "1" }),
                ),
                &["/method"],
            ),
            (
                Call::post(
                    VERIFY,
                    json!({ "challenge_id": "nope", "method": "totp", "code": "1" }),
                ),
                &["/challenge_id"],
            ),
        ],
    )
    .await;
    let sms = verify(&app, &c, "sms", "123456").await;
    assert_problem(sms, 400, "method_not_available").await;
    let recovery = verify(&app, &c, "recovery_code", "abcd-efgh-ijkl-mnop").await;
    assert_problem(recovery, 400, "method_not_available").await;
    let nothing_pending = app
        .post(CONFIRM, Some(&token), json!({ "code": "123456" }))
        .await;
    assert_problem(nothing_pending, 409, "conflict").await;
    // Not signed in; an API token is not a session.
    let enroll = Call::new(Method::POST, TOTP);
    app.assert_problems(None, 401, "unauthenticated", [&enroll])
        .await;
    let api_token = app
        .create_api_token(&token, json!({ "name": "script", "scope": "full" }))
        .await;
    let secret = api_token["secret"].as_str().unwrap();
    app.assert_problems(
        Some(secret),
        403,
        "forbidden",
        [&enroll, &Call::new(Method::POST, RECOVERY)],
    )
    .await;
    let _ = admin;
}

/// A right password whose sign-in goes on to a challenge is a success of its own: it
/// empties the failure budget and is in the auth log before the challenge (the login writes
/// them with what comes next, in one trip to the store).
#[tokio::test]
async fn a_right_password_before_a_challenge_empties_the_budget_and_is_logged() {
    let (app, admin, token, _secret) = user_with_totp().await;
    let wrong = Call::post(
        LOGIN,
        json!({ "provider": "acme", "login": "anna@example.com", "password": "wrong wrong" }),
    );
    let below_the_limit = domain::throttle::FREE_ATTEMPTS - 1;
    for _ in 0..below_the_limit {
        assert_eq!(app.request(&wrong, None).await.status(), 401);
    }
    challenge(&app, &login_call("acme", "anna@example.com")).await;
    // The budget is full again: as many wrong ones pass without a 429.
    for _ in 0..below_the_limit {
        assert_eq!(app.request(&wrong, None).await.status(), 401);
    }
    challenge(&app, &login_call("acme", "anna@example.com")).await;

    let me = json_ok(app.get("/api/v1/me", Some(&token)).await, 200).await;
    let path = format!(
        "/api/v1/auth-events?subject_id={}&limit=100",
        me["id"].as_str().unwrap()
    );
    let events = json_ok(app.get(&path, Some(&admin)).await, 200).await;
    // Newest first.
    let seen: Vec<String> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["method"].as_str().unwrap(),
                e["reason"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(seen[0], "mfa challenge_issued", "{seen:?}");
    assert_eq!(seen[1], "password ok", "{seen:?}");
}

#[tokio::test]
async fn every_step_is_in_the_auth_log() {
    let (app, admin, token, _secret) = user_with_totp().await;
    renew_codes(&app, &token).await;
    let login = login_call("acme", "anna@example.com");
    let c = challenge(&app, &login).await;
    assert_eq!(verify(&app, &c, "totp", "000000").await.status(), 401);
    assert_eq!(verify(&app, &c, "sms", "000000").await.status(), 400);
    let me = json_ok(app.get("/api/v1/me", Some(&token)).await, 200).await;
    let path = format!(
        "/api/v1/auth-events?subject_id={}&limit=100",
        me["id"].as_str().unwrap()
    );
    let events = json_ok(app.get(&path, Some(&admin)).await, 200).await;
    let seen: Vec<(String, String)> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["method"].as_str().unwrap().to_owned(),
                e["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (method, reason) in [
        ("totp", "enrolled"),
        ("totp", "confirmed"),
        ("recovery_code", "renewed"),
        ("mfa", "challenge_issued"),
        ("totp", "wrong_code"),
        ("sms", "method_not_available"),
    ] {
        assert!(
            seen.contains(&(method.to_owned(), reason.to_owned())),
            "{method} {reason} in {seen:?}"
        );
    }
    assert!(!events.to_string().contains("000000"));
}
