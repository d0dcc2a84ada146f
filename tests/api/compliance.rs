//! Issue 9: a provider's compliance report, driven from many findings to none.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::processors::form_of;

fn codes(report: &Value) -> Vec<String> {
    let mut codes: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect();
    codes.sort();
    codes
}

#[tokio::test]
async fn a_provider_goes_from_many_findings_to_compliant() {
    let (app, admin, [acme]) = TestApp::with_providers(["acme"]).await;
    let report_path = format!("/api/v1/providers/{}/compliance-report", acme.id);
    let policies_path = format!("/api/v1/providers/{}/policies", acme.id);
    let methods_path = format!("/api/v1/providers/{}/auth-methods", acme.id);

    // Many things wrong at once.
    app.update(&admin, &policies_path, |p| {
        p["admin_mfa_required"] = json!(false);
        p["auth_log_retention_days"] = json!(800);
    })
    .await;
    let google = json_ok(
        app.post(
            "/api/v1/processors",
            Some(&admin),
            json!({
                "name": "Google LLC", "purpose": "Sign-in with Google", "country": "US",
                "transfer_mechanism": "dpf", "dpa_signed_on": null,
                "auth_methods": ["google"], "sms_gateway_ids": []
            }),
        )
        .await,
        201,
    )
    .await;
    let google_path = format!("/api/v1/processors/{}", google["id"].as_str().unwrap());
    app.update(&admin, &methods_path, |m| {
        m["authinfo"]["login"] = json!(true);
        m["google"]["login"] = json!(true);
        m["google"]["settings"]["client_id"] = json!("client-id");
        m["google"]["settings"]["client_secret"] = json!("client-secret");
        m["google"]["settings"]["redirect_uris"] = json!(["https://app.example/cb"]);
    })
    .await;
    // The processor loses its mechanism after the switch was turned on.
    app.update(&admin, &google_path, |read| {
        *read = form_of(read);
        read["transfer_mechanism"] = json!("none");
    })
    .await;

    let report = json_ok(app.get(&report_path, Some(&admin)).await, 200).await;
    assert_eq!(report["compliant"], false);
    assert_eq!(report["provider_id"], acme.id.as_str());
    assert_eq!(
        codes(&report),
        [
            "admin_mfa_not_enforced",
            "auth_log_retention_long",
            "authinfo_without_allowlist",
            "consent_documents_missing",
            "gdpr_cleanup_not_installed",
            "no_inactive_client_retention",
            "processor_transfer_refused",
            "processor_without_dpa",
        ]
    );
    let severities: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["severity"].as_str().unwrap())
        .collect();
    let mut sorted = severities.clone();
    sorted.sort_by_key(|s| ["high", "medium", "low"].iter().position(|x| x == s));
    assert_eq!(severities, sorted, "most severe first");
    let transfer = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "processor_transfer_refused")
        .unwrap();
    assert!(transfer["detail"].as_str().unwrap().contains("Google LLC"));
    assert!(transfer["rule"].as_str().unwrap().contains("Art. 44"));

    // Fixed one by one, down to none.
    app.update(&admin, &google_path, |read| {
        *read = form_of(read);
        read["transfer_mechanism"] = json!("dpf");
        read["dpa_signed_on"] = json!("2026-01-15");
    })
    .await;
    app.update(&admin, &policies_path, |p| {
        p["admin_mfa_required"] = json!(true);
        p["auth_log_retention_days"] = json!(180);
        p["authinfo_ip_allowlist"] = json!(["203.0.113.0/24"]);
        p["inactive_client_retention_months"] = json!(36);
    })
    .await;
    let report = json_ok(app.get(&report_path, Some(&admin)).await, 200).await;
    assert_eq!(
        codes(&report),
        ["consent_documents_missing", "gdpr_cleanup_not_installed"]
    );
    let document = app
        .post(
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
        .await;
    assert_eq!(document.status(), 201);
    let report = json_ok(app.get(&report_path, Some(&admin)).await, 200).await;
    assert_eq!(codes(&report), ["gdpr_cleanup_not_installed"]);
    let installed = app
        .put(
            "/api/v1/modules/gdpr_cleanup",
            Some(&admin),
            json!({ "installed": true }),
        )
        .await;
    assert_eq!(installed.status(), 200);
    let report = json_ok(app.get(&report_path, Some(&admin)).await, 200).await;
    assert_eq!(report["findings"], json!([]));
    assert_eq!(report["compliant"], true);
}

#[tokio::test]
async fn the_report_is_for_staff_who_see_the_provider() {
    let (app, admin, [acme, other]) = TestApp::with_providers(["acme", "other"]).await;
    let report = Call::get(format!("/api/v1/providers/{}/compliance-report", acme.id));
    app.assert_problems(None, 401, "unauthenticated", [&report])
        .await;
    let dpo = app.create_employee(&admin, "dora", &["dpo"], None).await;
    assert_eq!(app.request(&report, Some(&dpo.token)).await.status(), 200);
    let elsewhere = app
        .create_employee(&admin, "olga", &["dpo"], Some(&[other.id.as_str()]))
        .await;
    app.assert_problems(Some(&elsewhere.token), 404, "not_found", [&report])
        .await;
    let user = app.register("acme", "anna@example.org").await;
    app.assert_problems(Some(user.access()), 403, "forbidden", [&report])
        .await;
    let missing =
        Call::get("/api/v1/providers/00000000-0000-4000-8000-000000000000/compliance-report");
    app.assert_problems(Some(&admin), 404, "not_found", [&missing])
        .await;
}
