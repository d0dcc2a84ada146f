//! Issue 9, consent: documents and their versions, registration with consents, the
//! re-consent gate at every sign-in method, `/me/consents` (give, withdraw, history), the
//! data-protection officer's views, permissions and bad input.

use std::sync::Arc;

use api::outside::sms::RecordingSmsGateway;
use chrono::Duration;
use domain::secret::hash_secret;
use serde_json::{Value, json};

use crate::gdpr::dump;
use crate::helpers::{Call, PASSWORD, TestApp, access, assert_problem, json_ok, pointers};

const PRIVACY_V1: &str = "We keep your data safe. Version 1.";
const PRIVACY_V2: &str = "We keep your data safe. Version 2.";

struct Consents {
    app: TestApp,
    admin: String,
    provider_id: String,
}

async fn spawn() -> Consents {
    let (app, admin, [provider]) = TestApp::with_providers(["acme"]).await;
    Consents {
        app,
        admin,
        provider_id: provider.id,
    }
}

impl Consents {
    fn documents_path(&self) -> String {
        format!("/api/v1/providers/{}/consent-documents", self.provider_id)
    }

    async fn create_document(&self, body: Value) -> Value {
        json_ok(
            self.app
                .post(&self.documents_path(), Some(&self.admin), body)
                .await,
            201,
        )
        .await
    }

    /// A must-agree privacy policy shown on registration, version 1 in force.
    async fn privacy_policy(&self) -> Value {
        self.create_document(json!({
            "kind": "privacy_policy",
            "titles": { "en": "Privacy policy", "de": "Datenschutzerklärung" },
            "must_agree": true,
            "show_on_registration": true,
            "url": "https://acme.example/privacy",
            "text": PRIVACY_V1,
        }))
        .await
    }

    async fn publish(&self, document_id: &str, text: &str) -> Value {
        json_ok(
            self.app
                .post(
                    &format!("/api/v1/consent-documents/{document_id}/versions"),
                    Some(&self.admin),
                    json!({ "text": text }),
                )
                .await,
            201,
        )
        .await
    }

    async fn register(&self, email: &str, consents: Value) -> reqwest::Response {
        self.app
            .post(
                "/api/v1/providers/acme/registrations",
                None,
                json!({ "email": email, "name": "Anna Schmidt", "password": PASSWORD, "consents": consents }),
            )
            .await
    }

    async fn login(&self, email: &str) -> reqwest::Response {
        self.app
            .post(
                "/api/v1/auth/login",
                None,
                json!({ "provider": "acme", "login": email, "password": PASSWORD }),
            )
            .await
    }

    async fn accept(&self, token: &str, versions: &[&str]) -> reqwest::Response {
        self.app
            .post(
                "/api/v1/auth/consent",
                None,
                json!({ "consent_token": token, "accept": versions }),
            )
            .await
    }
}

/// Asserts a `consent_required` answer naming exactly `versions`; its ticket.
async fn consent_required(response: reqwest::Response, versions: &[&str]) -> String {
    let problem = assert_problem(response, 403, "consent_required").await;
    let named: Vec<&str> = problem["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["version_id"].as_str().unwrap())
        .collect();
    assert_eq!(named, versions, "{problem}");
    assert_eq!(problem["expires_in"], 600);
    problem["consent_token"].as_str().unwrap().to_owned()
}

fn version_id(document: &Value, index: usize) -> String {
    document["versions"][index]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn documents_are_created_read_listed_updated_and_versioned() {
    let c = spawn().await;
    let created = c.privacy_policy().await;
    assert_eq!(created["kind"], "privacy_policy");
    assert_eq!(created["titles"]["de"], "Datenschutzerklärung");
    assert_eq!(created["must_agree"], true);
    assert_eq!(created["version_in_force"], 1);
    assert_eq!(created["versions"][0]["version"], 1);
    assert_eq!(created["versions"][0]["text_hash"], hash_secret(PRIVACY_V1));
    assert_eq!(
        created["versions"][0]["url"],
        "https://acme.example/privacy"
    );
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/consent-documents/{id}");

    let read = c.app.get(&path, Some(&c.admin)).await;
    assert_eq!(read.headers()["etag"], "\"1\"");
    assert_eq!(json_ok(read, 200).await, created);

    c.create_document(json!({
        "kind": "custom:newsletter-partners",
        "titles": { "en": "Partner offers" },
        "url": "https://acme.example/partners",
    }))
    .await;
    let list = json_ok(c.app.get(&c.documents_path(), Some(&c.admin)).await, 200).await;
    let kinds: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["privacy_policy", "custom:newsletter-partners"]);
    // A URL-only version hashes its URL.
    assert_eq!(
        list["items"][1]["versions"][0]["text_hash"],
        hash_secret("https://acme.example/partners")
    );

    let updated = c
        .app
        .request(
            &Call::patch(
                &path,
                json!({ "show_on_registration": false, "titles": { "en": "Privacy" } }),
            )
            .header("if-match", "\"1\""),
            Some(&c.admin),
        )
        .await;
    assert_eq!(updated.headers()["etag"], "\"2\"");
    let updated = json_ok(updated, 200).await;
    assert_eq!(updated["show_on_registration"], false);
    assert_eq!(updated["titles"], json!({ "en": "Privacy" }));
    assert_eq!(updated["must_agree"], true);
    let stale = c
        .app
        .request(
            &Call::patch(&path, json!({ "must_agree": false })).header("if-match", "\"1\""),
            Some(&c.admin),
        )
        .await;
    assert_problem(stale, 412, "precondition_failed").await;

    let v2 = c.publish(id, PRIVACY_V2).await;
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["text_hash"], hash_secret(PRIVACY_V2));
    // A version published for later is listed, but not in force until its time.
    let later = (c.app.now() + Duration::days(7)).to_rfc3339();
    let v3 = json_ok(
        c.app
            .post(
                &format!("{path}/versions"),
                Some(&c.admin),
                json!({ "text": "Version 3", "effective_at": later }),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(v3["version"], 3);
    let read = json_ok(c.app.get(&path, Some(&c.admin)).await, 200).await;
    assert_eq!(read["versions"].as_array().unwrap().len(), 3);
    assert_eq!(read["version_in_force"], 2);
    let lasting = c.app.lasting_token(&c.admin).await;
    c.app.advance(Duration::days(8));
    let read = json_ok(c.app.get(&path, Some(&lasting)).await, 200).await;
    assert_eq!(read["version_in_force"], 3);
}

#[tokio::test]
async fn bad_documents_and_versions_are_refused_by_pointer() {
    let c = spawn().await;
    let path = c.documents_path();
    let doc = c.privacy_policy().await;
    let id = doc["id"].as_str().unwrap();
    let versions = format!("/api/v1/consent-documents/{id}/versions");
    let past = (c.app.now() - Duration::days(1)).to_rfc3339();
    let cases: Vec<(Call, &[&str])> = vec![
        (
            Call::post(
                &path,
                json!({ "kind": "cookies", "titles": { "en": "x" }, "text": "t" }),
            ),
            &["/kind"],
        ),
        (
            Call::post(
                &path,
                json!({ "kind": "custom:", "titles": {}, "text": "t" }),
            ),
            &["/kind", "/titles"],
        ),
        (
            Call::post(
                &path,
                json!({ "kind": "privacy_policy", "titles": { "e n": "x" }, "text": "t" }),
            ),
            &["/titles"],
        ),
        (
            Call::post(
                &path,
                json!({ "kind": "privacy_policy", "titles": { "en": "x" } }),
            ),
            &["/text"],
        ),
        (
            Call::post(
                &path,
                json!({ "kind": "privacy_policy", "titles": { "en": "x" }, "url": "javascript:alert(1)" }),
            ),
            &["/url"],
        ),
        (
            Call::post(&versions, json!({ "text": "t", "effective_at": past })),
            &["/effective_at"],
        ),
        (Call::post(&versions, json!({})), &["/text"]),
        (
            Call::post(&versions, json!({ "text": "t", "colour": "red" })),
            &["/colour"],
        ),
        (
            Call::post(
                &path,
                json!({ "kind": "privacy_policy", "titles": { "en": "x" }, "text": "t", "colour": "red" }),
            ),
            &["/colour"],
        ),
        (
            Call::patch(
                format!("/api/v1/consent-documents/{id}"),
                json!({ "titles": {} }),
            ),
            &["/titles"],
        ),
    ];
    for (call, expected) in &cases {
        let problem = assert_problem(
            c.app.request(call, Some(&c.admin)).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(pointers(&problem), *expected, "{call:?}");
    }
    c.app
        .assert_bad_bodies(Some(&c.admin), reqwest::Method::POST, &path)
        .await;
    for unknown in [
        Call::get("/api/v1/consent-documents/00000000-0000-0000-0000-000000000000"),
        Call::get("/api/v1/consent-documents/nope"),
        Call::post(
            "/api/v1/consent-documents/00000000-0000-0000-0000-000000000000/versions",
            json!({ "text": "t" }),
        ),
        Call::get("/api/v1/consent-documents/00000000-0000-0000-0000-000000000000/records"),
        Call::get("/api/v1/providers/00000000-0000-0000-0000-000000000000/consent-documents"),
        Call::get("/api/v1/users/00000000-0000-0000-0000-000000000000/consents"),
    ] {
        assert_problem(
            c.app.request(&unknown, Some(&c.admin)).await,
            404,
            "not_found",
        )
        .await;
    }
}

#[tokio::test]
async fn permissions_admin_writes_the_dpo_reads_support_neither() {
    let c = spawn().await;
    let doc = c.privacy_policy().await;
    let id = doc["id"].as_str().unwrap();
    let dpo = c.app.create_employee(&c.admin, "dpo", &["dpo"], None).await;
    let support = c
        .app
        .create_employee(&c.admin, "support", &["support"], None)
        .await;
    let other = c.app.create_provider(&c.admin, "other").await;
    let limited = c
        .app
        .create_employee(&c.admin, "limited", &["admin"], Some(&[other.id.as_str()]))
        .await;
    let user = c.register("anna@example.com", json!([id])).await;
    let user = json_ok(user, 201).await;
    let user_id = user["user_id"].as_str().unwrap();
    let reads = [
        Call::get(c.documents_path()),
        Call::get(format!("/api/v1/consent-documents/{id}")),
        Call::get(format!("/api/v1/consent-documents/{id}/records")),
        Call::get(format!("/api/v1/users/{user_id}/consents")),
    ];
    let writes = [
        Call::post(
            c.documents_path(),
            json!({ "kind": "marketing_email", "titles": { "en": "News" }, "text": "t" }),
        ),
        Call::patch(
            format!("/api/v1/consent-documents/{id}"),
            json!({ "must_agree": false }),
        ),
        Call::post(
            format!("/api/v1/consent-documents/{id}/versions"),
            json!({ "text": "t" }),
        ),
    ];
    for call in &reads {
        assert_eq!(
            c.app.request(call, Some(&dpo.token)).await.status(),
            200,
            "{call:?}"
        );
        assert_problem(
            c.app.request(call, Some(&support.token)).await,
            403,
            "forbidden",
        )
        .await;
        assert_problem(c.app.request(call, None).await, 401, "unauthenticated").await;
        // Another provider's employee sees nothing of it.
        assert_problem(
            c.app.request(call, Some(&limited.token)).await,
            404,
            "not_found",
        )
        .await;
    }
    for call in &writes {
        assert_problem(
            c.app.request(call, Some(&dpo.token)).await,
            403,
            "forbidden",
        )
        .await;
        assert_problem(
            c.app.request(call, Some(&limited.token)).await,
            404,
            "not_found",
        )
        .await;
    }
    // Users see only their own consents; employees have none.
    let token = access(&user["tokens"]);
    assert_problem(
        c.app.request(&reads[0], Some(token)).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        c.app.get("/api/v1/me/consents", Some(&c.admin)).await,
        403,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn registration_needs_the_must_agree_documents_and_records_them() {
    let c = spawn().await;
    let privacy = c.privacy_policy().await;
    let privacy_id = privacy["id"].as_str().unwrap();
    let marketing = c
        .create_document(json!({
            "kind": "marketing_email",
            "titles": { "en": "News by e-mail" },
            "show_on_registration": true,
            "text": "We write now and then.",
        }))
        .await;
    // Not shown on registration: asked for at the first sign-in instead.
    let terms = c
        .create_document(json!({
            "kind": "user_agreement",
            "titles": { "en": "Terms" },
            "must_agree": true,
            "text": "Terms v1",
        }))
        .await;

    let options = json_ok(
        c.app
            .get("/api/v1/providers/acme/login-options", None)
            .await,
        200,
    )
    .await;
    let shown: Vec<(&str, bool)> = options["consent_documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap(),
                d["must_agree"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [("privacy_policy", true), ("marketing_email", false)]
    );
    assert_eq!(options["consent_documents"][0]["version"], 1);
    assert_eq!(
        options["consent_documents"][0]["url"],
        "https://acme.example/privacy"
    );
    assert_eq!(
        options["consent_documents"][0]["titles"]["en"],
        "Privacy policy"
    );

    let refused = c
        .register("anna@example.com", json!([marketing["id"]]))
        .await;
    let problem = assert_problem(refused, 422, "validation_failed").await;
    assert_eq!(pointers(&problem), ["/consents"]);
    let detail = problem["errors"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains(privacy_id) && detail.contains("Privacy policy"),
        "{detail}"
    );
    let unknown = c
        .register(
            "anna@example.com",
            json!([privacy_id, "00000000-0000-0000-0000-000000000000"]),
        )
        .await;
    let problem = assert_problem(unknown, 422, "validation_failed").await;
    assert_eq!(pointers(&problem), ["/consents/1"]);

    // By version id and by document id.
    let ok = c
        .register(
            "anna@example.com",
            json!([version_id(&privacy, 0), marketing["id"]]),
        )
        .await;
    let ok = json_ok(ok, 201).await;
    let token = access(&ok["tokens"]);
    let mine = json_ok(c.app.get("/api/v1/me/consents", Some(token)).await, 200).await;
    let history = mine["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    for record in history {
        assert_eq!(record["decision"], "agree");
        assert_eq!(record["how"], "registration");
        assert_eq!(record["user_id"], ok["user_id"]);
        assert!(record.get("user_agent").is_some());
        assert!(record["ip"].is_string());
    }
    assert_eq!(history[0]["text_hash"], hash_secret(PRIVACY_V1));
    let states: Vec<(&str, bool)> = mine["current"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["document"]["kind"].as_str().unwrap(),
                s["agreed_to_version_in_force"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("privacy_policy", true),
            ("marketing_email", true),
            ("user_agreement", false)
        ]
    );
    // The user agreement was not on the form: the first sign-in asks for it.
    consent_required(c.login("anna@example.com").await, &[&version_id(&terms, 0)]).await;
}

#[tokio::test]
async fn a_new_version_gates_password_sign_in_until_accepted() {
    let c = spawn().await;
    let privacy = c.privacy_policy().await;
    let id = privacy["id"].as_str().unwrap();
    json_ok(c.register("anna@example.com", json!([id])).await, 201).await;
    json_ok(c.login("anna@example.com").await, 200).await;

    let v2 = c.publish(id, PRIVACY_V2).await;
    let v2_id = v2["id"].as_str().unwrap();
    let answer = c.login("anna@example.com").await;
    let problem = assert_problem(answer, 403, "consent_required").await;
    assert_eq!(problem["documents"][0]["version"], 2);
    assert_eq!(problem["documents"][0]["text"], PRIVACY_V2);
    assert_eq!(problem["documents"][0]["kind"], "privacy_policy");
    let token = problem["consent_token"].as_str().unwrap();
    assert!(token.starts_with("bict_"));

    // Not accepting what is due, or something else, is refused; the ticket survives.
    let problem = assert_problem(c.accept(token, &[]).await, 422, "validation_failed").await;
    assert_eq!(pointers(&problem), ["/accept"]);
    assert!(problem["detail"].as_str().unwrap().contains(id));
    let v1_id = version_id(&privacy, 0);
    assert_problem(c.accept(token, &[&v1_id]).await, 422, "validation_failed").await;

    let tokens = json_ok(c.accept(token, &[v2_id]).await, 200).await;
    let me = json_ok(c.app.get("/api/v1/me", Some(access(&tokens))).await, 200).await;
    assert_eq!(me["email"], "anna@example.com");
    // Single use.
    assert_problem(c.accept(token, &[v2_id]).await, 401, "invalid_credentials").await;
    assert_problem(
        c.accept("bict_nope", &[v2_id]).await,
        401,
        "invalid_credentials",
    )
    .await;
    // Accepted: the next sign-in goes through, and the record says how.
    json_ok(c.login("anna@example.com").await, 200).await;
    let mine = json_ok(
        c.app
            .get("/api/v1/me/consents", Some(access(&tokens)))
            .await,
        200,
    )
    .await;
    let last = mine["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["how"], "after_login");
    assert_eq!(last["version"], 2);
    assert_eq!(last["text_hash"], hash_secret(PRIVACY_V2));

    // The log has the step.
    let events = json_ok(
        c.app
            .get(
                &format!(
                    "/api/v1/auth-events?provider_id={}&limit=200",
                    c.provider_id
                ),
                Some(&c.admin),
            )
            .await,
        200,
    )
    .await;
    let reasons: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.contains(&"consent_required") && reasons.contains(&"consent_given"),
        "{reasons:?}"
    );
    // The acceptance steps, newest first, filtered by their method.
    let steps = json_ok(
        c.app
            .get(
                "/api/v1/auth-events?method=consent&limit=200",
                Some(&c.admin),
            )
            .await,
        200,
    )
    .await;
    let steps: Vec<&str> = steps["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["invalid_token", "invalid_token", "consent_given"]);
}

#[tokio::test]
async fn a_consent_ticket_expires_in_minutes() {
    let c = spawn().await;
    let privacy = c.privacy_policy().await;
    let id = privacy["id"].as_str().unwrap();
    json_ok(c.register("anna@example.com", json!([id])).await, 201).await;
    let v2 = c.publish(id, PRIVACY_V2).await;
    let v2_id = v2["id"].as_str().unwrap();
    let token = consent_required(c.login("anna@example.com").await, &[v2_id]).await;
    c.app.advance(Duration::minutes(11));
    assert_problem(c.accept(&token, &[v2_id]).await, 401, "invalid_credentials").await;
    // The purge removes expired tickets an hour later.
    let tickets = |app: &TestApp| dump(app)[&("consent_tickets".into(), "id".into())].len();
    c.app.run_job("throttle_purge").await;
    assert_eq!(tickets(&c.app), 1);
    c.app.advance(Duration::hours(1));
    c.app.run_job("throttle_purge").await;
    assert_eq!(tickets(&c.app), 0);
    let problem = assert_problem(
        c.app
            .post(
                "/api/v1/auth/consent",
                None,
                json!({ "consent_token": token }),
            )
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(pointers(&problem), ["/accept"]);
}

#[tokio::test]
async fn a_one_time_key_sign_in_is_gated_too() {
    let c = spawn().await;
    let (_, user) = c
        .app
        .client_with_user(&c.admin, &c.provider_id, "anna@example.com")
        .await;
    let privacy = c.privacy_policy().await;
    let v1_id = version_id(&privacy, 0);
    let issued = json_ok(
        c.app
            .post(
                &format!("/api/v1/users/{}/temporary-keys", user.id),
                Some(&c.admin),
                json!({}),
            )
            .await,
        201,
    )
    .await;
    let answer = c
        .app
        .post(
            "/api/v1/auth/temporary-key",
            None,
            json!({ "key": issued["key"] }),
        )
        .await;
    let token = consent_required(answer, &[&v1_id]).await;
    let tokens = json_ok(c.accept(&token, &[&v1_id]).await, 200).await;
    let me = json_ok(c.app.get("/api/v1/me", Some(access(&tokens))).await, 200).await;
    assert_eq!(me["id"], user.id.as_str());
    // Employees are never gated.
    c.app.admin_token().await;
}

#[tokio::test]
async fn a_phone_code_sign_in_is_gated_too() {
    let sms = Arc::new(RecordingSmsGateway::default());
    let app = TestApp::builder().sms(sms.clone()).spawn().await;
    let admin = app.admin_token().await;
    let provider = app.create_provider(&admin, "acme").await;
    app.update(
        &admin,
        &format!("/api/v1/providers/{}/auth-methods", provider.id),
        |m| m["phone"]["login"] = json!(true),
    )
    .await;
    let c = Consents {
        app,
        admin,
        provider_id: provider.id,
    };
    let phone = "+4915112345678";
    let user = json_ok(c.register("anna@example.com", json!([])).await, 201).await;
    let token = access(&user["tokens"]).to_owned();
    json_ok(
        c.app
            .post("/api/v1/me/phone", Some(&token), json!({ "phone": phone }))
            .await,
        202,
    )
    .await;
    let code = sms.last_to(phone).and_then(|m| m.code).unwrap();
    json_ok(
        c.app
            .post(
                "/api/v1/me/phone/verify",
                Some(&token),
                json!({ "code": code }),
            )
            .await,
        200,
    )
    .await;
    let privacy = c.privacy_policy().await;
    let v1_id = version_id(&privacy, 0);
    c.app.advance(Duration::seconds(61));
    json_ok(
        c.app
            .post(
                "/api/v1/auth/phone/start",
                None,
                json!({ "provider": "acme", "phone": phone }),
            )
            .await,
        202,
    )
    .await;
    let code = sms.last_to(phone).and_then(|m| m.code).unwrap();
    let answer = c
        .app
        .post(
            "/api/v1/auth/phone/verify",
            None,
            json!({ "provider": "acme", "phone": phone, "code": code }),
        )
        .await;
    let ticket = consent_required(answer, &[&v1_id]).await;
    json_ok(c.accept(&ticket, &[&v1_id]).await, 200).await;
}

#[tokio::test]
async fn withdrawal_is_one_call_and_the_history_shows_it() {
    let c = spawn().await;
    let privacy = c.privacy_policy().await;
    let id = privacy["id"].as_str().unwrap();
    let marketing = c
        .create_document(json!({
            "kind": "marketing_sms",
            "titles": { "en": "Offers by SMS" },
            "text": "Offers now and then.",
        }))
        .await;
    let marketing_id = marketing["id"].as_str().unwrap();
    let user = json_ok(c.register("anna@example.com", json!([id])).await, 201).await;
    let user_id = user["user_id"].as_str().unwrap();
    let token = access(&user["tokens"]).to_owned();

    // Give an optional consent by document, withdraw it by version.
    let given = json_ok(
        c.app
            .post(
                "/api/v1/me/consents",
                Some(&token),
                json!({ "document_id": marketing_id, "decision": "agree" }),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(given["how"], "api");
    assert_eq!(given["version"], 1);
    json_ok(
        c.app
            .post(
                "/api/v1/me/consents",
                Some(&token),
                json!({ "document_version_id": given["document_version_id"], "decision": "withdraw" }),
            )
            .await,
        201,
    )
    .await;
    // Withdrawing the must-agree policy is allowed; the next sign-in asks again.
    json_ok(
        c.app
            .post(
                "/api/v1/me/consents",
                Some(&token),
                json!({ "document_id": id, "version": 1, "decision": "withdraw" }),
            )
            .await,
        201,
    )
    .await;
    let v1_id = version_id(&privacy, 0);
    consent_required(c.login("anna@example.com").await, &[&v1_id]).await;

    let mine = json_ok(c.app.get("/api/v1/me/consents", Some(&token)).await, 200).await;
    let history: Vec<(&str, &str)> = mine["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["decision"].as_str().unwrap(), r["how"].as_str().unwrap()))
        .collect();
    assert_eq!(
        history,
        [
            ("agree", "registration"),
            ("agree", "api"),
            ("withdraw", "api"),
            ("withdraw", "api")
        ]
    );
    let current: Vec<(&str, Value)> = mine["current"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["document"]["kind"].as_str().unwrap(),
                s["decision"].clone(),
            )
        })
        .collect();
    assert_eq!(
        current,
        [
            ("privacy_policy", json!("withdraw")),
            ("marketing_sms", json!("withdraw"))
        ]
    );

    // The data export holds the same history.
    let export = json_ok(c.app.get("/api/v1/me/data-export", Some(&token)).await, 200).await;
    assert_eq!(export["users"][0]["consents"], mine["history"]);

    // The DPO sees the same per user, and per document (paged).
    let dpo = c.app.create_employee(&c.admin, "dpo", &["dpo"], None).await;
    let theirs = json_ok(
        c.app
            .get(
                &format!("/api/v1/users/{user_id}/consents"),
                Some(&dpo.token),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(theirs["history"], mine["history"]);
    json_ok(c.register("ben@example.com", json!([id])).await, 201).await;
    let pages = c
        .app
        .pages(
            &dpo.token,
            &format!("/api/v1/consent-documents/{id}/records?limit=1"),
        )
        .await;
    assert_eq!(pages.len(), 3, "{pages:?}");
    let decisions: Vec<&str> = pages
        .iter()
        .flatten()
        .map(|r| r["decision"].as_str().unwrap())
        .collect();
    assert_eq!(decisions, ["agree", "withdraw", "agree"]);

    // Bad input.
    let bad: Vec<(Value, &[&str])> = vec![
        (
            json!({ "document_id": id, "decision": "maybe" }),
            &["/decision"],
        ),
        (json!({ "decision": "agree" }), &[""]),
        (
            json!({ "document_id": id, "document_version_id": v1_id, "decision": "agree" }),
            &[""],
        ),
        (
            json!({ "document_id": "00000000-0000-0000-0000-000000000000", "decision": "agree" }),
            &["/document_id"],
        ),
        (
            json!({ "document_id": id, "version": 9, "decision": "agree" }),
            &["/version"],
        ),
        (
            json!({ "document_version_id": "00000000-0000-0000-0000-000000000000", "decision": "agree" }),
            &["/document_version_id"],
        ),
    ];
    for (body, expected) in bad {
        let problem = assert_problem(
            c.app
                .post("/api/v1/me/consents", Some(&token), body.clone())
                .await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(pointers(&problem), expected, "{body}");
    }
    c.app
        .assert_bad_bodies(Some(&token), reqwest::Method::POST, "/api/v1/me/consents")
        .await;
    assert_problem(
        c.app.get("/api/v1/me/consents", None).await,
        401,
        "unauthenticated",
    )
    .await;
}
