//! Issue 7, phone numbers and verification: numbers parsed by libphonenumber, one-time SMS
//! codes (expiry, single use, wrong tries, the shared failure budget, resend cooldown, the
//! hourly caps), `/me/phone`, phone sign-in and phone registration.

use std::sync::Arc;

use api::outside::sms::RecordingSmsGateway;
use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::{
    Call, PASSWORD, SignedUp, TestApp, access, assert_problem, captured_log, json_ok,
};

const PHONE: &str = "+4915112345678";
const PHONE2: &str = "+4915198765432";
const PHONE3: &str = "+33612345678";
const UNKNOWN: &str = "+4915155500011";

struct Phones {
    app: TestApp,
    admin: String,
    provider_id: String,
    sms: Arc<RecordingSmsGateway>,
}

/// The app with a recording SMS double, an admin, and the provider `acme` with phone
/// sign-in and registration as `login` and `registration` say.
async fn spawn(login: bool, registration: bool) -> Phones {
    let sms = Arc::new(RecordingSmsGateway::default());
    let app = TestApp::builder().sms(sms.clone()).spawn().await;
    let admin = app.admin_token().await;
    let provider = app.create_provider(&admin, "acme").await;
    let path = format!("/api/v1/providers/{}/auth-methods", provider.id);
    app.update(&admin, &path, |m| {
        m["phone"]["login"] = json!(login);
        m["phone"]["registration"] = json!(registration);
    })
    .await;
    Phones {
        app,
        admin,
        provider_id: provider.id,
        sms,
    }
}

impl Phones {
    /// The code last texted to `phone`.
    fn code(&self, phone: &str) -> String {
        self.sms
            .last_to(phone)
            .and_then(|m| m.code)
            .unwrap_or_else(|| panic!("no code was sent to {phone}"))
    }

    fn texts_to(&self, phone: &str) -> usize {
        self.sms
            .sent()
            .iter()
            .filter(|m| m.to.as_str() == phone)
            .count()
    }

    /// The reasons of the phone auth events, oldest first.
    async fn reasons(&self) -> Vec<String> {
        let query = format!("method=phone&provider_id={}", self.provider_id);
        self.app.auth_reasons(&self.admin, &query).await
    }

    async fn set_policies(&self, change: impl FnOnce(&mut Value)) {
        let path = format!("/api/v1/providers/{}/policies", self.provider_id);
        self.app.update(&self.admin, &path, change).await;
    }

    async fn ask(&self, token: &str, phone: &str) -> reqwest::Response {
        self.app
            .post("/api/v1/me/phone", Some(token), json!({ "phone": phone }))
            .await
    }

    async fn verify(&self, token: &str, code: &str) -> reqwest::Response {
        self.app
            .post(
                "/api/v1/me/phone/verify",
                Some(token),
                json!({ "code": code }),
            )
            .await
    }

    /// A registered user (password) whose number `phone` is verified.
    async fn user_with_phone(&self, email: &str, phone: &str) -> SignedUp {
        let user = self.app.register("acme", email).await;
        json_ok(self.ask(user.access(), phone).await, 202).await;
        let code = self.code(phone);
        json_ok(self.verify(user.access(), &code).await, 200).await;
        user
    }

    async fn start(&self, phone: &str) -> reqwest::Response {
        self.app
            .post(
                "/api/v1/auth/phone/start",
                None,
                json!({ "provider": "acme", "phone": phone }),
            )
            .await
    }

    async fn sign_in(&self, phone: &str, code: &str) -> reqwest::Response {
        self.app
            .post(
                "/api/v1/auth/phone/verify",
                None,
                json!({ "provider": "acme", "phone": phone, "code": code }),
            )
            .await
    }
}

/// A code that is not `code`.
fn other_than(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

#[tokio::test]
async fn a_user_adds_and_verifies_a_number() {
    let p = spawn(false, false).await;
    let user = p.app.register("acme", "anna@example.com").await;
    let me = json_ok(p.app.get("/api/v1/me", Some(user.access())).await, 200).await;
    assert_eq!(
        (me["phone"].clone(), me["phone_verified"].clone()),
        (json!(null), json!(false))
    );

    let sent = json_ok(p.ask(user.access(), "+49 151 1234-5678").await, 202).await;
    assert_eq!(sent, json!({ "expires_in": 600, "resend_after": 60 }));
    let message = p.sms.last_to(PHONE).expect("a text to the E.164 number");
    let code = message.code.clone().unwrap();
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );
    assert_eq!(
        message.provider_id.map(|id| id.to_string()),
        Some(p.provider_id.clone())
    );
    // The number is not mine until it is verified.
    let me = json_ok(p.app.get("/api/v1/me", Some(user.access())).await, 200).await;
    assert_eq!(me["phone"], json!(null));

    let wrong = p.verify(user.access(), &other_than(&code)).await;
    let problem = assert_problem(wrong, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["pointer"], "/code");
    let verified = json_ok(p.verify(user.access(), &code).await, 200).await;
    assert_eq!(
        verified,
        json!({ "phone": PHONE, "country": "DE", "verified": true })
    );
    let me = json_ok(p.app.get("/api/v1/me", Some(user.access())).await, 200).await;
    assert_eq!(
        (me["phone"].clone(), me["phone_verified"].clone()),
        (json!(PHONE), json!(true))
    );

    assert_eq!(
        p.reasons().await,
        ["code_sent", "wrong_code", "ok", "phone_verified"]
    );
    assert!(!captured_log().contains(&code), "the code reached the log");
    let events = json_ok(
        p.app
            .get("/api/v1/auth-events?limit=200", Some(&p.admin))
            .await,
        200,
    )
    .await;
    assert!(
        !events.to_string().contains(&code),
        "the code reached the auth log"
    );
}

#[tokio::test]
async fn a_staff_change_of_the_number_drops_its_verification() {
    let p = spawn(false, false).await;
    let user = p.user_with_phone("anna@example.com", PHONE).await;
    let path = format!("/api/v1/users/{}", user.user_id);
    json_ok(
        p.app
            .patch(&path, Some(&p.admin), json!({ "phone": PHONE2 }))
            .await,
        200,
    )
    .await;
    let me = json_ok(p.app.get("/api/v1/me", Some(user.access())).await, 200).await;
    assert_eq!(
        (me["phone"].clone(), me["phone_verified"].clone()),
        (json!(PHONE2), json!(false))
    );
}

#[tokio::test]
async fn replacing_a_verified_number_needs_a_fresh_first_factor() {
    let p = spawn(false, false).await;
    let user = p.user_with_phone("anna@example.com", PHONE).await;
    p.app.advance(Duration::seconds(61));
    let path = "/api/v1/me/phone";
    p.app
        .assert_invalid(
            Some(user.access()),
            &[(Call::post(path, json!({ "phone": PHONE2 })), &["/password"])],
        )
        .await;
    let wrong = json!({ "phone": PHONE2, "password": "not the password at all" });
    assert_problem(
        p.app.post(path, Some(user.access()), wrong).await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_eq!(p.texts_to(PHONE2), 0);
    let right = json!({ "phone": PHONE2, "password": PASSWORD });
    json_ok(p.app.post(path, Some(user.access()), right).await, 202).await;
    // The old number stays until the new one is verified.
    let me = json_ok(p.app.get("/api/v1/me", Some(user.access())).await, 200).await;
    assert_eq!(me["phone"], PHONE);
    json_ok(p.verify(user.access(), &p.code(PHONE2)).await, 200).await;
    let me = json_ok(p.app.get("/api/v1/me", Some(user.access())).await, 200).await;
    assert_eq!(
        (me["phone"].clone(), me["phone_verified"].clone()),
        (json!(PHONE2), json!(true))
    );

    // Without a password, a recent sign-in is the fresh first factor.
    let (_, staff_made) = p
        .app
        .client_with_user(&p.admin, &p.provider_id, "bert@example.com")
        .await;
    let token = p.app.user_token(&p.admin, &staff_made.id).await;
    json_ok(p.ask(&token, PHONE3).await, 202).await;
    json_ok(p.verify(&token, &p.code(PHONE3)).await, 200).await;
    p.app.advance(Duration::minutes(11));
    let refused = p.ask(&token, UNKNOWN).await;
    assert_problem(refused, 403, "forbidden").await;
    let fresh = p.app.user_token(&p.admin, &staff_made.id).await;
    json_ok(p.ask(&fresh, UNKNOWN).await, 202).await;
}

#[tokio::test]
async fn codes_expire_and_work_once() {
    let p = spawn(false, false).await;
    let user = p.app.register("acme", "anna@example.com").await;
    json_ok(p.ask(user.access(), PHONE).await, 202).await;
    let code = p.code(PHONE);
    p.app.advance(Duration::seconds(601));
    let expired = assert_problem(
        p.verify(user.access(), &code).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(expired["errors"][0]["pointer"], "/code");

    json_ok(p.ask(user.access(), PHONE).await, 202).await;
    let code = p.code(PHONE);
    json_ok(p.verify(user.access(), &code).await, 200).await;
    assert_problem(
        p.verify(user.access(), &code).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        p.reasons().await,
        [
            "code_sent",
            "code_expired",
            "code_sent",
            "ok",
            "phone_verified",
            "code_used"
        ]
    );
}

#[tokio::test]
async fn fifty_parallel_uses_of_one_code_let_exactly_one_sign_in() {
    let p = spawn(true, false).await;
    p.user_with_phone("anna@example.com", PHONE).await;
    p.app.advance(Duration::seconds(61));
    json_ok(p.start(PHONE).await, 202).await;
    let code = p.code(PHONE);
    let attempts = (0..50).map(|_| p.sign_in(PHONE, &code));
    let answers = futures_util::future::join_all(attempts).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    crate::helpers::assert_one_won(&statuses);
}

#[tokio::test]
async fn five_wrong_tries_kill_a_code_a_resend_resets_nothing_and_the_budget_is_shared() {
    let p = spawn(false, false).await;
    let user = p.app.register("acme", "anna@example.com").await;
    json_ok(p.ask(user.access(), PHONE).await, 202).await;
    let code = p.code(PHONE);
    for _ in 0..5 {
        assert_problem(
            p.verify(user.access(), &other_than(&code)).await,
            422,
            "validation_failed",
        )
        .await;
    }
    // The wrong codes are the account's failures: the password is slowed down too.
    let login = json!({ "provider": "acme", "login": "anna@example.com", "password": PASSWORD });
    assert_problem(
        p.app.post("/api/v1/auth/login", None, login.clone()).await,
        429,
        "too_many_attempts",
    )
    .await;
    p.app.advance(Duration::seconds(5));
    assert_problem(
        p.verify(user.access(), &code).await,
        422,
        "validation_failed",
    )
    .await;
    // A resend inherits the tries: its code is dead as well.
    p.app.advance(Duration::seconds(61));
    json_ok(p.ask(user.access(), PHONE).await, 202).await;
    let resent = p.code(PHONE);
    assert_ne!(resent, code);
    p.app.advance(Duration::seconds(10));
    assert_problem(
        p.verify(user.access(), &resent).await,
        422,
        "validation_failed",
    )
    .await;
    let reasons = p.reasons().await;
    assert_eq!(
        reasons.iter().filter(|r| *r == "wrong_code").count(),
        5,
        "{reasons:?}"
    );
    assert_eq!(
        reasons
            .iter()
            .filter(|r| *r == "code_too_many_tries")
            .count(),
        2,
        "{reasons:?}"
    );
    // Once the dead code's time is over, a new code starts afresh.
    p.app.advance(Duration::minutes(11));
    json_ok(p.ask(user.access(), PHONE).await, 202).await;
    json_ok(p.verify(user.access(), &p.code(PHONE)).await, 200).await;
    json_ok(p.app.post("/api/v1/auth/login", None, login).await, 200).await;
}

#[tokio::test]
async fn a_resend_waits_for_the_cooldown_and_replaces_the_code() {
    let p = spawn(false, false).await;
    let user = p.app.register("acme", "anna@example.com").await;
    json_ok(p.ask(user.access(), PHONE).await, 202).await;
    let first = p.code(PHONE);
    p.app.advance(Duration::seconds(30));
    let early = p.ask(user.access(), PHONE).await;
    assert_eq!(early.headers()["retry-after"], "30");
    assert_problem(early, 429, "sms_rate_limited").await;
    assert_eq!(p.texts_to(PHONE), 1);
    p.app.advance(Duration::seconds(31));
    json_ok(p.ask(user.access(), PHONE).await, 202).await;
    let second = p.code(PHONE);
    if first != second {
        assert_problem(
            p.verify(user.access(), &first).await,
            422,
            "validation_failed",
        )
        .await;
    }
    json_ok(p.verify(user.access(), &second).await, 200).await;
    assert!(p.reasons().await.contains(&"resend_cooldown".to_owned()));
}

#[tokio::test]
async fn the_hourly_caps_per_number_account_and_address_hold() {
    let p = spawn(true, false).await;
    // Per account, overridden by the provider's policies.
    p.set_policies(|b| b["sms_send_limits"]["per_account_per_hour"] = json!(2))
        .await;
    let user = p.app.register("acme", "anna@example.com").await;
    for phone in [PHONE, PHONE2] {
        json_ok(p.ask(user.access(), phone).await, 202).await;
        p.app.advance(Duration::seconds(61));
    }
    assert_problem(p.ask(user.access(), PHONE3).await, 429, "sms_rate_limited").await;
    assert_eq!(p.texts_to(PHONE3), 0);
    assert!(p.reasons().await.contains(&"account_cap".to_owned()));

    // The default cap per number: 5 an hour, for unknown numbers as for known ones.
    for _ in 0..5 {
        json_ok(p.start(UNKNOWN).await, 202).await;
        p.app.advance(Duration::seconds(61));
    }
    let capped = p.start(UNKNOWN).await;
    assert_eq!(capped.headers()["retry-after"], "3600");
    assert_problem(capped, 429, "sms_rate_limited").await;
    assert!(p.reasons().await.contains(&"number_cap".to_owned()));

    // Per address: every number from one address counts (7 sent so far this hour).
    p.set_policies(|b| b["sms_send_limits"]["per_ip_per_hour"] = json!(9))
        .await;
    json_ok(p.start("+4915155500012").await, 202).await;
    json_ok(p.start("+4915155500013").await, 202).await;
    assert_problem(p.start("+4915155500014").await, 429, "sms_rate_limited").await;
    assert!(p.reasons().await.contains(&"ip_cap".to_owned()));

    // An hour later every cap starts afresh.
    p.app.advance(Duration::minutes(60));
    json_ok(p.start(UNKNOWN).await, 202).await;

    // A day later the purge job deletes the codes (10 sent in this test).
    p.app.run_job("throttle_purge").await;
    p.app.advance(Duration::hours(25));
    let purged = p.app.run_job("throttle_purge").await.unwrap();
    assert!(purged >= 10, "{purged}");
    assert_eq!(p.app.run_job("throttle_purge").await, Some(0));
}

#[tokio::test]
async fn phone_sign_in_with_a_verified_number() {
    let p = spawn(true, false).await;
    let user = p.user_with_phone("anna@example.com", PHONE).await;
    p.app.advance(Duration::seconds(61));
    let sent = json_ok(p.start("+49 151 12345678").await, 202).await;
    assert_eq!(sent, json!({ "expires_in": 600, "resend_after": 60 }));
    let code = p.code(PHONE);
    let wrong = p.sign_in(PHONE, &other_than(&code)).await;
    assert_problem(wrong, 401, "invalid_credentials").await;
    let tokens = json_ok(p.sign_in(PHONE, &code).await, 200).await;
    let me = json_ok(p.app.get("/api/v1/me", Some(access(&tokens))).await, 200).await;
    assert_eq!(me["id"], user.user_id.as_str());
    assert_problem(p.sign_in(PHONE, &code).await, 401, "invalid_credentials").await;
    let reasons = p.reasons().await;
    assert_eq!(
        reasons[reasons.len() - 4..],
        ["code_sent", "wrong_code", "ok", "code_used"]
    );

    // A code for the number's verification does not sign in, nor the other way round.
    let change = json!({ "phone": PHONE2, "password": PASSWORD });
    json_ok(
        p.app
            .post("/api/v1/me/phone", Some(user.access()), change)
            .await,
        202,
    )
    .await;
    assert_problem(
        p.sign_in(PHONE2, &p.code(PHONE2)).await,
        401,
        "invalid_credentials",
    )
    .await;

    // A disabled user gets no code and cannot sign in.
    let path = format!("/api/v1/users/{}", user.user_id);
    p.app.set_status(&p.admin, &path, "disabled").await;
    p.app.advance(Duration::seconds(61));
    let texts = p.texts_to(PHONE);
    json_ok(p.start(PHONE).await, 202).await;
    assert_eq!(p.texts_to(PHONE), texts);
}

#[tokio::test]
async fn an_unknown_number_answers_like_a_known_one_and_gets_no_text() {
    let p = spawn(true, false).await;
    p.user_with_phone("anna@example.com", PHONE).await;
    p.app.advance(Duration::seconds(61));
    let texts = p.sms.sent().len();
    let mut answers = Vec::new();
    for phone in [PHONE, UNKNOWN] {
        let first = p.start(phone).await;
        let status = first.status().as_u16();
        let body = first.text().await.unwrap();
        let again = p.start(phone).await;
        let again_status = again.status().as_u16();
        let again_body = again.text().await.unwrap();
        let wrong = p.sign_in(phone, "000000").await;
        let wrong_status = wrong.status().as_u16();
        let wrong_body = wrong.text().await.unwrap();
        answers.push((
            status,
            body,
            again_status,
            again_body,
            wrong_status,
            wrong_body,
        ));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].0, 202);
    assert_eq!(answers[0].2, 429);
    assert_eq!(answers[0].4, 401);
    assert_eq!(
        p.sms.sent().len(),
        texts + 1,
        "only the known number got a text"
    );
    assert_eq!(p.texts_to(UNKNOWN), 0);
    assert!(p.reasons().await.contains(&"unknown_number".to_owned()));
}

#[tokio::test]
async fn phone_sign_in_and_registration_are_refused_where_off() {
    let p = spawn(false, false).await;
    p.user_with_phone("anna@example.com", PHONE).await;
    let start = |purpose: &str| {
        Call::post(
            "/api/v1/auth/phone/start",
            json!({ "provider": "acme", "phone": PHONE, "purpose": purpose }),
        )
    };
    let verify = Call::post(
        "/api/v1/auth/phone/verify",
        json!({ "provider": "acme", "phone": PHONE, "code": "123456" }),
    );
    p.app
        .assert_problems(
            None,
            403,
            "method_disabled",
            [&start("login"), &start("registration"), &verify],
        )
        .await;
    let unknown = Call::post(
        "/api/v1/auth/phone/start",
        json!({ "provider": "nope", "phone": PHONE }),
    );
    p.app
        .assert_problems(None, 404, "not_found", [&unknown])
        .await;
    assert!(p.reasons().await.contains(&"method_disabled".to_owned()));
}

#[tokio::test]
async fn registration_requires_a_verified_number_where_phone_registration_is_on() {
    let p = spawn(true, true).await;
    let path = "/api/v1/providers/acme/registrations";
    let body = |extra: Value| {
        let mut body = json!({ "email": "anna@example.com", "name": "Anna Schmidt" });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        Call::post(path, body)
    };
    p.app
        .assert_invalid(
            None,
            &[
                (
                    body(json!({ "password": PASSWORD })),
                    &["/phone", "/phone_code"],
                ),
                (
                    body(json!({ "password": PASSWORD, "phone": PHONE, "phone_code": "12" })),
                    &["/phone_code"],
                ),
                (
                    body(json!({ "phone": "+49 1", "phone_code": "123456" })),
                    &["/phone"],
                ),
            ],
        )
        .await;
    // A code never sent, or the wrong one: refused at /phone_code.
    p.app
        .assert_invalid(
            None,
            &[(
                body(json!({ "password": PASSWORD, "phone": PHONE, "phone_code": "123456" })),
                &["/phone_code"],
            )],
        )
        .await;

    let start = json!({ "provider": "acme", "phone": PHONE, "purpose": "registration" });
    json_ok(
        p.app.post("/api/v1/auth/phone/start", None, start).await,
        202,
    )
    .await;
    let code = p.code(PHONE);
    // A registration's code does not sign anyone in.
    assert_problem(p.sign_in(PHONE, &code).await, 401, "invalid_credentials").await;
    let registered = json_ok(
        p.app
            .request(
                &body(json!({ "password": PASSWORD, "phone": PHONE, "phone_code": code })),
                None,
            )
            .await,
        201,
    )
    .await;
    let me = json_ok(
        p.app
            .get("/api/v1/me", Some(access(&registered["tokens"])))
            .await,
        200,
    )
    .await;
    assert_eq!(
        (me["phone"].clone(), me["phone_verified"].clone()),
        (json!(PHONE), json!(true))
    );
    assert_eq!(me["has_password"], true);

    // Phone-first: no password; the user signs in by phone.
    let start = json!({ "provider": "acme", "phone": PHONE2, "purpose": "registration" });
    json_ok(
        p.app.post("/api/v1/auth/phone/start", None, start).await,
        202,
    )
    .await;
    let mut phone_first = json!({
        "email": "bert@example.com", "name": "Bert", "phone": PHONE2, "phone_code": p.code(PHONE2)
    });
    let bert = json_ok(p.app.post(path, None, phone_first.clone()).await, 201).await;
    let me = json_ok(
        p.app.get("/api/v1/me", Some(access(&bert["tokens"]))).await,
        200,
    )
    .await;
    assert_eq!(me["has_password"], false);
    p.app.advance(Duration::seconds(61));
    json_ok(p.start(PHONE2).await, 202).await;
    let tokens = json_ok(p.sign_in(PHONE2, &p.code(PHONE2)).await, 200).await;
    let me = json_ok(p.app.get("/api/v1/me", Some(access(&tokens))).await, 200).await;
    assert_eq!(me["id"], bert["user_id"]);

    // A number another user verified cannot be registered again.
    p.app.advance(Duration::seconds(61));
    let start = json!({ "provider": "acme", "phone": PHONE2, "purpose": "registration" });
    json_ok(
        p.app.post("/api/v1/auth/phone/start", None, start).await,
        202,
    )
    .await;
    phone_first["email"] = json!("carla@example.com");
    phone_first["phone_code"] = json!(p.code(PHONE2));
    let taken = assert_problem(p.app.post(path, None, phone_first).await, 409, "conflict").await;
    assert_eq!(taken["errors"][0]["pointer"], "/phone");
}

#[tokio::test]
async fn bad_numbers_and_codes_are_422_with_pointers() {
    let p = spawn(true, false).await;
    let user = p.app.register("acme", "anna@example.com").await;
    let me_phone = |phone: &str| Call::post("/api/v1/me/phone", json!({ "phone": phone }));
    let start = |phone: &str| {
        Call::post(
            "/api/v1/auth/phone/start",
            json!({ "provider": "acme", "phone": phone }),
        )
    };
    let mut cases: Vec<(Call, &[&str])> = Vec::new();
    for bad in [
        "+49 1",
        "+1234567890123456",
        "004915112345678",
        "+999 1234567",
        "15112345678",
        "+49 151 CALLME",
    ] {
        cases.push((me_phone(bad), &["/phone"]));
        cases.push((start(bad), &["/phone"]));
    }
    cases.push((Call::post("/api/v1/me/phone", json!({})), &["/phone"]));
    cases.push((
        Call::post("/api/v1/me/phone/verify", json!({ "code": "12a456" })),
        &["/code"],
    ));
    cases.push((
        Call::post("/api/v1/me/phone/verify", json!({ "code": "1234567" })),
        &["/code"],
    ));
    cases.push((
        Call::post(
            "/api/v1/auth/phone/verify",
            json!({ "provider": "acme", "phone": PHONE, "code": "12345" }),
        ),
        &["/code"],
    ));
    cases.push((
        Call::post(
            "/api/v1/auth/phone/start",
            json!({ "provider": "acme", "phone": PHONE, "purpose": "second_factor" }),
        ),
        &["/purpose"],
    ));
    p.app.assert_invalid(Some(user.access()), &cases).await;
    assert!(p.sms.sent().is_empty());
    for path in [
        "/api/v1/me/phone",
        "/api/v1/me/phone/verify",
        "/api/v1/auth/phone/start",
        "/api/v1/auth/phone/verify",
    ] {
        p.app
            .assert_bad_bodies(Some(user.access()), reqwest::Method::POST, path)
            .await;
    }
}

#[tokio::test]
async fn only_a_signed_in_user_sets_a_number() {
    let p = spawn(false, false).await;
    let user = p.app.register("acme", "anna@example.com").await;
    let calls = [
        Call::post("/api/v1/me/phone", json!({ "phone": PHONE })),
        Call::post("/api/v1/me/phone/verify", json!({ "code": "123456" })),
    ];
    p.app
        .assert_problems(None, 401, "unauthenticated", &calls)
        .await;
    // Employees have no number here; API tokens cannot make sensitive changes.
    p.app
        .assert_problems(Some(&p.admin), 403, "forbidden", &calls)
        .await;
    let token = p
        .app
        .create_api_token(user.access(), json!({ "name": "script", "scope": "full" }))
        .await;
    let secret = token["secret"].as_str().unwrap();
    p.app
        .assert_problems(Some(secret), 403, "forbidden", &calls)
        .await;
    assert!(p.sms.sent().is_empty());
}
