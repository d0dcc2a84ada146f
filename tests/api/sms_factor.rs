//! Issue 7, SMS as a second factor: a verified number is one; the sign-in's challenge
//! offers `sms`, `POST /api/v1/auth/mfa/sms` texts the code, `/auth/mfa/verify` takes it.

use std::sync::Arc;

use api::outside::sms::RecordingSmsGateway;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::{Call, PASSWORD, SignedUp, TestApp, access, assert_problem, json_ok};

const PHONE: &str = "+4915112345678";
const PHONE2: &str = "+4915198765432";
const SEND: &str = "/api/v1/auth/mfa/sms";
const VERIFY: &str = "/api/v1/auth/mfa/verify";

struct Sms {
    app: TestApp,
    admin: String,
    provider_id: String,
    sms: Arc<RecordingSmsGateway>,
}

/// The app with a recording SMS double, an admin and the provider `acme`.
async fn spawn() -> Sms {
    let sms = Arc::new(RecordingSmsGateway::default());
    let app = TestApp::builder().sms(sms.clone()).spawn().await;
    let admin = app.admin_token().await;
    let provider = app.create_provider(&admin, "acme").await;
    // Tests move the clock past an access token's life.
    let admin = app.lasting_token(&admin).await;
    Sms {
        app,
        admin,
        provider_id: provider.id,
        sms,
    }
}

impl Sms {
    fn code(&self) -> String {
        self.sms
            .last_to(PHONE)
            .and_then(|m| m.code)
            .expect("a code was texted")
    }

    fn texts(&self) -> usize {
        self.sms.sent().len()
    }

    /// A registered user (password) whose number `PHONE` is verified.
    async fn user_with_phone(&self) -> SignedUp {
        let user = self.app.register("acme", "anna@example.com").await;
        self.verify_phone(user.access()).await;
        user
    }

    /// Verifies `PHONE` as the number of whoever `token` signs in.
    async fn verify_phone(&self, token: &str) {
        let ask = json!({ "phone": PHONE });
        let asked = self.app.post("/api/v1/me/phone", Some(token), ask).await;
        json_ok(asked, 202).await;
        let code = json!({ "code": self.code() });
        let verify = "/api/v1/me/phone/verify";
        json_ok(self.app.post(verify, Some(token), code).await, 200).await;
        // Past the cooldown of the number's verification code.
        self.app.advance(Duration::seconds(61));
    }

    /// A password login that answers a challenge.
    async fn challenge(&self) -> Value {
        let body = json!({ "provider": "acme", "login": "anna@example.com", "password": PASSWORD });
        let answer = json_ok(self.app.post("/api/v1/auth/login", None, body).await, 200).await;
        assert_eq!(answer["mfa_required"], true, "{answer}");
        answer
    }

    async fn send(&self, challenge: &Value) -> reqwest::Response {
        let body = json!({ "challenge_id": challenge["challenge_id"] });
        self.app.post(SEND, None, body).await
    }

    async fn verify(&self, challenge: &Value, method: &str, code: &str) -> reqwest::Response {
        let body =
            json!({ "challenge_id": challenge["challenge_id"], "method": method, "code": code });
        self.app.post(VERIFY, None, body).await
    }

    /// The reasons of the `sms` auth events, oldest first.
    async fn reasons(&self) -> Vec<String> {
        let query = format!("method=sms&provider_id={}", self.provider_id);
        self.app.auth_reasons(&self.admin, &query).await
    }
}

fn amr(tokens: &Value) -> Value {
    let payload = access(tokens).split('.').nth(1).expect("a JWT");
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["amr"].clone()
}

fn other_than(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

#[tokio::test]
async fn a_verified_number_is_a_second_factor_sent_on_request() {
    let s = spawn().await;
    let options = json_ok(
        s.app
            .get("/api/v1/providers/acme/login-options", None)
            .await,
        200,
    )
    .await;
    assert_eq!(
        options["second_factors"],
        json!(["totp", "sms", "recovery_code"])
    );
    let user = s.user_with_phone().await;
    let me = json_ok(s.app.get("/api/v1/me", Some(user.access())).await, 200).await;
    assert_eq!(me["second_factors"], json!(["sms"]));

    let texts = s.texts();
    let c = s.challenge().await;
    assert_eq!(c["methods"], json!(["sms"]));
    assert_eq!(s.texts(), texts, "nothing is texted before it is asked for");
    let sent = json_ok(s.send(&c).await, 202).await;
    assert_eq!(
        (sent["expires_in"].clone(), sent["resend_after"].clone()),
        (json!(600), json!(60))
    );
    assert_eq!(s.texts(), texts + 1);
    let code = s.code();
    let tokens = json_ok(s.verify(&c, "sms", &code).await, 200).await;
    assert_eq!(amr(&tokens), json!(["pwd", "sms", "mfa"]));
    let me = json_ok(s.app.get("/api/v1/me", Some(access(&tokens))).await, 200).await;
    assert_eq!(me["amr"], json!(["pwd", "sms", "mfa"]));

    // A used code is refused on the next sign-in.
    let c = s.challenge().await;
    assert_problem(s.verify(&c, "sms", &code).await, 401, "invalid_credentials").await;
    assert_eq!(
        s.reasons().await,
        ["code_sent", "ok", "ok", "code_used"],
        "the code's check, then the sign-in's step"
    );
}

#[tokio::test]
async fn wrong_codes_spend_the_budget_and_codes_expire() {
    let s = spawn().await;
    s.user_with_phone().await;
    let c = s.challenge().await;
    json_ok(s.send(&c).await, 202).await;
    let right = s.code();
    for _ in 0..domain::throttle::FREE_ATTEMPTS {
        let wrong = s.verify(&c, "sms", &other_than(&right)).await;
        assert_problem(wrong, 401, "invalid_credentials").await;
    }
    // The account's budget, shared with the password.
    assert_problem(s.verify(&c, "sms", &right).await, 429, "too_many_attempts").await;
    let body = json!({ "provider": "acme", "login": "anna@example.com", "password": PASSWORD });
    let login = s.app.post("/api/v1/auth/login", None, body).await;
    assert_problem(login, 429, "too_many_attempts").await;

    // A code dies after its validity (10 minutes), even for a new challenge.
    s.app.advance(Duration::minutes(20));
    let c = s.challenge().await;
    json_ok(s.send(&c).await, 202).await;
    let code = s.code();
    s.app.advance(Duration::minutes(10) + Duration::seconds(1));
    let c = s.challenge().await;
    assert_problem(s.verify(&c, "sms", &code).await, 401, "invalid_credentials").await;
    let wrong = ["wrong_code"; domain::throttle::FREE_ATTEMPTS as usize];
    let expected = [
        &["code_sent"],
        &wrong[..],
        &["throttled", "code_sent", "code_expired"],
    ];
    assert_eq!(s.reasons().await, expected.concat());
}

#[tokio::test]
async fn a_resend_waits_for_the_cooldown_and_replaces_the_code() {
    let s = spawn().await;
    s.user_with_phone().await;
    let c = s.challenge().await;
    json_ok(s.send(&c).await, 202).await;
    let first = s.code();
    assert_problem(s.send(&c).await, 429, "sms_rate_limited").await;
    s.app.advance(Duration::seconds(61));
    json_ok(s.send(&c).await, 202).await;
    let second = s.code();
    if first != second {
        let old = s.verify(&c, "sms", &first).await;
        assert_problem(old, 401, "invalid_credentials").await;
    }
    json_ok(s.verify(&c, "sms", &second).await, 200).await;
    let reasons = s.reasons().await;
    assert!(
        reasons.contains(&"resend_cooldown".to_owned()),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn a_user_with_totp_and_sms_chooses() {
    let s = spawn().await;
    let user = s.user_with_phone().await;
    let secret = s.app.enroll_totp(user.access()).await;
    let me = json_ok(s.app.get("/api/v1/me", Some(user.access())).await, 200).await;
    assert_eq!(me["second_factors"], json!(["totp", "sms"]));

    s.app.advance(Duration::seconds(30));
    let texts = s.texts();
    let c = s.challenge().await;
    assert_eq!(c["methods"], json!(["totp", "sms"]));
    let totp = s.app.totp_code(&secret, 0);
    let tokens = json_ok(s.verify(&c, "totp", &totp).await, 200).await;
    assert_eq!(amr(&tokens), json!(["pwd", "otp", "mfa"]));
    assert_eq!(s.texts(), texts, "TOTP sends no text");

    let c = s.challenge().await;
    json_ok(s.send(&c).await, 202).await;
    let tokens = json_ok(s.verify(&c, "sms", &s.code()).await, 200).await;
    assert_eq!(amr(&tokens), json!(["pwd", "sms", "mfa"]));
}

#[tokio::test]
async fn a_challenge_without_sms_refuses_it() {
    let s = spawn().await;
    let user = s.app.register("acme", "anna@example.com").await;
    s.app.enroll_totp(user.access()).await;
    let c = s.challenge().await;
    assert_eq!(c["methods"], json!(["totp"]));
    assert_problem(s.send(&c).await, 400, "method_not_available").await;
    let verify = s.verify(&c, "sms", "123456").await;
    assert_problem(verify, 400, "method_not_available").await;
    assert_eq!(s.texts(), 0);
}

#[tokio::test]
async fn a_dropped_number_is_no_longer_a_factor() {
    let s = spawn().await;
    let user = s.user_with_phone().await;
    let c = s.challenge().await;
    json_ok(s.send(&c).await, 202).await;
    let code = s.code();
    // Staff change the number: its verification goes, and SMS with it.
    let path = format!("/api/v1/users/{}", user.user_id);
    let change = json!({ "phone": PHONE2 });
    json_ok(s.app.patch(&path, Some(&s.admin), change).await, 200).await;
    s.app.advance(Duration::seconds(61));
    assert_problem(s.send(&c).await, 400, "method_not_available").await;
    let verify = s.verify(&c, "sms", &code).await;
    assert_problem(verify, 400, "method_not_available").await;
    // Without a factor, the password signs in.
    let body = json!({ "provider": "acme", "login": "anna@example.com", "password": PASSWORD });
    let tokens = json_ok(s.app.post("/api/v1/auth/login", None, body).await, 200).await;
    assert_eq!(amr(&tokens), json!(["pwd"]));
    let reasons = s.reasons().await;
    assert_eq!(
        reasons[reasons.len() - 2..],
        ["method_not_available", "method_not_available"]
    );
}

#[tokio::test]
async fn fifty_parallel_verifies_of_one_sms_code_one_wins() {
    let s = spawn().await;
    s.user_with_phone().await;
    let c = s.challenge().await;
    json_ok(s.send(&c).await, 202).await;
    let body = json!({ "challenge_id": c["challenge_id"], "method": "sms", "code": s.code() });
    let calls = (0..50).map(|_| {
        let request = s.app.client.post(s.app.url(VERIFY)).json(&body);
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let statuses = futures_util::future::join_all(calls).await;
    crate::helpers::assert_one_won(&statuses);
}

#[tokio::test]
async fn a_phone_sign_in_is_not_asked_for_sms_again() {
    let s = spawn().await;
    let path = format!("/api/v1/providers/{}/auth-methods", s.provider_id);
    s.app
        .update(&s.admin, &path, |m| m["phone"]["login"] = json!(true))
        .await;
    let user = s.user_with_phone().await;
    let start = json!({ "provider": "acme", "phone": PHONE });
    let sign_in = |code: String| json!({ "provider": "acme", "phone": PHONE, "code": code });
    json_ok(
        s.app
            .post("/api/v1/auth/phone/start", None, start.clone())
            .await,
        202,
    )
    .await;
    let verify = "/api/v1/auth/phone/verify";
    let tokens = json_ok(s.app.post(verify, None, sign_in(s.code())).await, 200).await;
    assert_eq!(amr(&tokens), json!(["sms"]));

    // With TOTP, a phone sign-in is asked for TOTP only.
    let secret = s.app.enroll_totp(user.access()).await;
    s.app.advance(Duration::seconds(61));
    json_ok(
        s.app.post("/api/v1/auth/phone/start", None, start).await,
        202,
    )
    .await;
    let c = json_ok(s.app.post(verify, None, sign_in(s.code())).await, 200).await;
    assert_eq!(c["methods"], json!(["totp"]), "{c}");
    let totp = s.app.totp_code(&secret, 0);
    let tokens = json_ok(s.verify(&c, "totp", &totp).await, 200).await;
    assert_eq!(amr(&tokens), json!(["sms", "otp", "mfa"]));
}

#[tokio::test]
async fn sms_satisfies_a_policy_that_requires_a_second_factor() {
    let s = spawn().await;
    let path = format!("/api/v1/providers/{}/policies", s.provider_id);
    s.app
        .update(&s.admin, &path, |p| {
            p["mfa_required_for_everyone"] = json!(true)
        })
        .await;
    // Without a factor, the session may enroll one: verifying a number does.
    let user = s.app.register("acme", "anna@example.com").await;
    let me = json_ok(s.app.get("/api/v1/me", Some(user.access())).await, 200).await;
    assert_eq!(me["session_access"], "mfa_enrollment_required");
    s.verify_phone(user.access()).await;
    let me = json_ok(s.app.get("/api/v1/me", Some(user.access())).await, 200).await;
    assert_eq!(me["session_access"], "mfa_required");
    // A session that owes the factor does not swap the number it goes to.
    let swap = json!({ "phone": PHONE2, "password": PASSWORD });
    let swap = s
        .app
        .post("/api/v1/me/phone", Some(user.access()), swap)
        .await;
    assert_problem(swap, 403, "mfa_required").await;

    let c = s.challenge().await;
    json_ok(s.send(&c).await, 202).await;
    let tokens = json_ok(s.verify(&c, "sms", &s.code()).await, 200).await;
    let me = json_ok(s.app.get("/api/v1/me", Some(access(&tokens))).await, 200).await;
    assert_eq!(me["session_access"], "full");
}

#[tokio::test]
async fn bad_inputs_are_problems() {
    let s = spawn().await;
    s.app
        .assert_invalid(
            None,
            &[(
                Call::post(SEND, json!({ "challenge_id": "nope" })),
                &["/challenge_id"],
            )],
        )
        .await;
    let unknown = json!({ "challenge_id": uuid::Uuid::new_v4() });
    let answer = s.app.post(SEND, None, unknown).await;
    assert_problem(answer, 401, "mfa_challenge_invalid").await;
    s.app
        .assert_bad_bodies(None, reqwest::Method::POST, SEND)
        .await;
}

#[tokio::test]
async fn a_code_sent_before_the_number_was_replaced_is_refused() {
    let s = spawn().await;
    let user = s.user_with_phone().await;
    let c = s.challenge().await;
    json_ok(s.send(&c).await, 202).await;
    let code = s.code();
    // The user replaces the number (with the password: a fresh first factor).
    let ask = json!({ "phone": PHONE2, "password": PASSWORD });
    let asked = s
        .app
        .post("/api/v1/me/phone", Some(user.access()), ask)
        .await;
    json_ok(asked, 202).await;
    let new_code = s.sms.last_to(PHONE2).and_then(|m| m.code).unwrap();
    let verify = json!({ "code": new_code });
    let verified = s
        .app
        .post("/api/v1/me/phone/verify", Some(user.access()), verify)
        .await;
    json_ok(verified, 200).await;
    let old = s.verify(&c, "sms", &code).await;
    assert_problem(old, 401, "invalid_credentials").await;
    assert_eq!(
        s.reasons().await.last().map(String::as_str),
        Some("method_not_available")
    );
}
