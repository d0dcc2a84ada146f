//! Issue 9: every change of a setting goes into the audit trail with who, what, before,
//! after and when; write-only secrets never do.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::processors::form_of;

async fn trail(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let page = json_ok(
        app.get(&format!("/api/v1/audit-events{query}"), Some(token))
            .await,
        200,
    )
    .await;
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn each_settings_change_is_in_the_trail_with_before_and_after() {
    let (app, admin, [acme]) = TestApp::with_providers(["acme"]).await;
    let me = json_ok(app.get("/api/v1/me", Some(&admin)).await, 200).await;
    let policies = format!("/api/v1/providers/{}/policies", acme.id);
    let methods = format!("/api/v1/providers/{}/auth-methods", acme.id);
    app.update(&admin, &policies, |p| {
        p["auth_log_retention_days"] = json!(90)
    })
    .await;
    let processor = json_ok(
        app.post(
            "/api/v1/processors",
            Some(&admin),
            json!({
                "name": "Google LLC", "purpose": "Sign-in with Google", "country": "US",
                "transfer_mechanism": "dpf", "dpa_signed_on": "2026-01-15",
                "auth_methods": ["google"], "sms_gateway_ids": []
            }),
        )
        .await,
        201,
    )
    .await;
    let processor_path = format!("/api/v1/processors/{}", processor["id"].as_str().unwrap());
    app.update(&admin, &processor_path, |read| {
        *read = form_of(read);
        read["transfer_mechanism"] = json!("scc");
    })
    .await;
    app.update(&admin, &methods, |m| {
        m["google"]["login"] = json!(true);
        m["google"]["settings"]["client_id"] = json!("client-id");
        m["google"]["settings"]["client_secret"] = json!("write-only-secret-4711");
        m["google"]["settings"]["redirect_uris"] = json!(["https://app.example/cb"]);
    })
    .await;
    assert_eq!(
        app.delete(&processor_path, Some(&admin)).await.status(),
        204
    );
    let module = app
        .put(
            "/api/v1/modules/gdpr_cleanup",
            Some(&admin),
            json!({ "installed": true }),
        )
        .await;
    assert_eq!(module.status(), 200);

    let dpo = app.create_employee(&admin, "dora", &["dpo"], None).await;
    let events = trail(&app, &dpo.token, "").await;
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // Newest first; the provider's creation by `with_providers` is the oldest.
    assert_eq!(
        actions,
        [
            "module.update",
            "processor.delete",
            "provider.auth_methods.update",
            "processor.update",
            "processor.create",
            "provider.policies.update",
            "provider.create",
        ]
    );
    for e in &events {
        assert_eq!(e["actor_kind"], "employee");
        assert_eq!(e["actor_id"], me["id"]);
        assert!(e["created_at"].is_string());
    }
    let policy_change = &events[5];
    assert_eq!(policy_change["provider_id"], acme.id.as_str());
    assert_eq!(policy_change["before"]["auth_log_retention_days"], 180);
    assert_eq!(policy_change["after"]["auth_log_retention_days"], 90);
    let processor_change = &events[3];
    assert_eq!(processor_change["before"]["transfer_mechanism"], "dpf");
    assert_eq!(processor_change["after"]["transfer_mechanism"], "scc");
    assert_eq!(events[4]["before"], Value::Null);
    assert_eq!(events[1]["after"], Value::Null);
    assert_eq!(events[1]["before"]["name"], "Google LLC");
    assert_eq!(events[0]["before"]["installed"], false);
    assert_eq!(events[0]["after"]["installed"], true);
    let methods_change = &events[2];
    assert_eq!(methods_change["before"]["google"]["login"], false);
    assert_eq!(methods_change["after"]["google"]["login"], true);
    let text = serde_json::to_string(&events).unwrap();
    assert!(
        !text.contains("write-only-secret-4711"),
        "a secret reached the trail"
    );

    // Filters and pages.
    let only = trail(&app, &dpo.token, "?target_kind=processor").await;
    assert_eq!(only.len(), 3);
    let scoped = trail(&app, &dpo.token, &format!("?provider_id={}", acme.id)).await;
    assert_eq!(scoped.len(), 3);
    let pages = app.pages(&dpo.token, "/api/v1/audit-events?limit=2").await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 2, 1]);
}

#[tokio::test]
async fn the_trail_is_for_admins_and_the_officer_within_their_providers() {
    let (app, admin, [acme, other]) = TestApp::with_providers(["acme", "other"]).await;
    let list = Call::get("/api/v1/audit-events");
    app.assert_problems(None, 401, "unauthenticated", [&list])
        .await;
    for role in ["support", "billing"] {
        let staff = app.create_employee(&admin, role, &[role], None).await;
        app.assert_problems(Some(&staff.token), 403, "forbidden", [&list])
            .await;
    }
    let limited = app
        .create_employee(&admin, "olga", &["dpo"], Some(&[other.id.as_str()]))
        .await;
    let seen = trail(&app, &limited.token, "").await;
    assert!(
        seen.iter().all(|e| e["provider_id"] == other.id.as_str()),
        "{seen:?}"
    );
    assert_eq!(seen.len(), 1);
    let elsewhere = Call::get(format!("/api/v1/audit-events?provider_id={}", acme.id));
    app.assert_problems(Some(&limited.token), 404, "not_found", [&elsewhere])
        .await;
    let bad = app
        .get("/api/v1/audit-events?target_kind=user", Some(&admin))
        .await;
    assert_problem(bad, 422, "validation_failed").await;
}

/// Consent documents: creating, changing and publishing a version are in the trail.
#[tokio::test]
async fn consent_document_changes_are_in_the_trail() {
    let (app, admin, [acme]) = TestApp::with_providers(["acme"]).await;
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
                "text": "Version one.",
            }),
        )
        .await,
        201,
    )
    .await;
    let path = format!(
        "/api/v1/consent-documents/{}",
        document["id"].as_str().unwrap()
    );
    let changed = app
        .patch(&path, Some(&admin), json!({ "must_agree": false }))
        .await;
    assert_eq!(changed.status(), 200);
    let published = app
        .post(
            &format!("{path}/versions"),
            Some(&admin),
            json!({ "text": "Version two." }),
        )
        .await;
    assert_eq!(published.status(), 201);
    let events = trail(&app, &admin, "?target_kind=consent_document").await;
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "consent_document.publish",
            "consent_document.update",
            "consent_document.create"
        ]
    );
    assert_eq!(events[1]["before"]["must_agree"], true);
    assert_eq!(events[1]["after"]["must_agree"], false);
    assert_eq!(events[0]["provider_id"], acme.id.as_str());
}

/// SMS gateways and provider edits: before and after, and never a gateway's credentials.
#[tokio::test]
async fn gateway_and_provider_changes_are_in_the_trail_without_credentials() {
    let (app, admin, [acme]) = TestApp::with_providers(["acme"]).await;
    let gateway = json_ok(
        app.post(
            "/api/v1/sms-gateways",
            Some(&admin),
            json!({
                "name": "main",
                "kind": "http",
                "priority": 1,
                "resend_timeout_seconds": 60,
                "code_validity_seconds": 300,
                "sender": "Hosting",
                "templates": { "en": "Your code is {code}" },
                "http": {
                    "method": "POST",
                    "url": "http://127.0.0.1:9/send?to={phone}&pw={password}",
                    "body": "{\"to\":\"{phone}\",\"text\":\"{message}\"}",
                    "content_type": "application/json",
                    "success_statuses": [200]
                },
                "credentials": { "password": "gateway-password-8812" }
            }),
        )
        .await,
        201,
    )
    .await;
    let gateway_path = format!("/api/v1/sms-gateways/{}", gateway["id"].as_str().unwrap());
    app.update(&admin, &gateway_path, |g| {
        for read_only in [
            "id",
            "health",
            "created_at",
            "updated_at",
            "credentials_set",
            "version",
        ] {
            g.as_object_mut().unwrap().remove(read_only);
        }
        g["priority"] = json!(5);
    })
    .await;
    assert_eq!(app.delete(&gateway_path, Some(&admin)).await.status(), 204);
    let provider_path = format!("/api/v1/providers/{}", acme.id);
    let renamed = app
        .patch(
            &provider_path,
            Some(&admin),
            json!({ "name": "ACME Hosting GmbH" }),
        )
        .await;
    assert_eq!(renamed.status(), 200);

    let gateways = trail(&app, &admin, "?target_kind=sms_gateway").await;
    let actions: Vec<&str> = gateways
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "sms_gateway.delete",
            "sms_gateway.update",
            "sms_gateway.create"
        ]
    );
    assert_eq!(gateways[1]["before"]["priority"], 1);
    assert_eq!(gateways[1]["after"]["priority"], 5);
    assert_eq!(gateways[0]["after"], Value::Null);
    let text = serde_json::to_string(&gateways).unwrap();
    assert!(
        !text.contains("gateway-password-8812"),
        "a credential reached the trail"
    );

    let providers = trail(&app, &admin, &format!("?provider_id={}", acme.id)).await;
    assert_eq!(providers[0]["action"], "provider.update");
    assert_eq!(providers[0]["before"]["name"], "acme hosting");
    assert_eq!(providers[0]["after"]["name"], "ACME Hosting GmbH");
}
