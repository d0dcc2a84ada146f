//! Issue 10: the scheduled cleaning of clients inactive for longer than their provider's
//! `inactive_client_retention_months`.

use api::jobs::INACTIVE_CLIENT_CLEANING;
use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::*;

async fn login(app: &TestApp, email: &str) -> reqwest::Response {
    app.post(
        "/api/v1/auth/login",
        None,
        json!({ "provider": "acme", "login": email, "password": PASSWORD }),
    )
    .await
}

async fn set_retention(app: &TestApp, admin: &str, provider_id: &str, months: Value) {
    let path = format!("/api/v1/providers/{provider_id}/policies");
    let form = app
        .update(admin, &path, |form| {
            form["inactive_client_retention_months"] = months.clone();
        })
        .await;
    assert_eq!(form["inactive_client_retention_months"], months);
}

async fn cleared_at(app: &TestApp, admin: &str, client_id: &str) -> Value {
    let path = format!("/api/v1/clients/{client_id}/data-export");
    json_ok(app.get(&path, Some(admin)).await, 200).await["cleared_at"].take()
}

/// Only clients without any activity for the provider's retention are cleared, only with
/// the module installed, only where the policy is set, once.
#[tokio::test]
async fn clients_inactive_for_longer_than_the_policy_are_cleared() {
    let app = TestApp::builder().spawn().await;
    let admin = app.admin_token().await;
    // Access tokens do not outlive the years this test skips; an API token does.
    let admin = app.lasting_token(&admin).await;
    let acme = app.create_provider(&admin, "acme").await;
    app.create_provider(&admin, "other").await;
    set_retention(&app, &admin, &acme.id, json!(12)).await;

    let dormant = app.register("acme", "dormant@example.org").await;
    let returning = app.register("acme", "returning@example.org").await;
    let scripted = app.register("acme", "scripted@example.org").await;
    let script = app
        .create_api_token(
            scripted.access(),
            json!({ "name": "cron", "scope": "full" }),
        )
        .await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let almost = app.register("acme", "almost@example.org").await;
    let elsewhere = app.register("other", "elsewhere@example.org").await;

    app.advance(Duration::days(200));
    // Active 200 days in: 165 days short of the year when the job runs.
    assert_eq!(login(&app, "almost@example.org").await.status(), 200);
    app.advance(Duration::days(170));
    assert_eq!(login(&app, "returning@example.org").await.status(), 200);
    assert_eq!(app.get("/api/v1/me", Some(&script)).await.status(), 200);
    let fresh = app.register("acme", "fresh@example.org").await;

    // Without the module, nothing happens.
    assert_eq!(app.run_job(INACTIVE_CLIENT_CLEANING).await, Some(0));
    assert_eq!(
        cleared_at(&app, &admin, &dormant.client_id).await,
        Value::Null
    );

    let installed = app
        .put(
            "/api/v1/modules/gdpr_cleanup",
            Some(&admin),
            json!({ "installed": true }),
        )
        .await;
    assert_eq!(installed.status(), 200);
    assert_eq!(app.run_job(INACTIVE_CLIENT_CLEANING).await, Some(1));
    assert!(
        cleared_at(&app, &admin, &dormant.client_id)
            .await
            .is_string()
    );
    for kept in [&returning, &scripted, &almost, &fresh, &elsewhere] {
        assert_eq!(cleared_at(&app, &admin, &kept.client_id).await, Value::Null);
    }
    assert_eq!(login(&app, "dormant@example.org").await.status(), 401);
    // The audit record says who: the schedule; clear-data answers the stored report.
    let again = json_ok(
        app.post(
            &format!("/api/v1/clients/{}/clear-data", dormant.client_id),
            Some(&admin),
            json!({ "reason": "again" }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(again["dry_run"], false);
    assert_eq!(
        again["cleared_at"],
        cleared_at(&app, &admin, &dormant.client_id).await
    );
    assert_eq!(app.run_job(INACTIVE_CLIENT_CLEANING).await, Some(0));

    // 200 days later the one active at day 200 has been idle for 370 days.
    app.advance(Duration::days(200));
    assert_eq!(app.run_job(INACTIVE_CLIENT_CLEANING).await, Some(1));
    assert!(
        cleared_at(&app, &admin, &almost.client_id)
            .await
            .is_string()
    );
    assert_eq!(
        cleared_at(&app, &admin, &elsewhere.client_id).await,
        Value::Null,
        "a provider without the policy keeps its clients"
    );

    // Turned off, nothing more is cleared, however long the silence.
    set_retention(&app, &admin, &acme.id, Value::Null).await;
    app.advance(Duration::days(800));
    assert_eq!(app.run_job(INACTIVE_CLIENT_CLEANING).await, Some(0));
}

/// The policy is 1 to 120 months or null; left out of a PUT, it is null.
#[tokio::test]
async fn the_retention_policy_is_validated() {
    let app = TestApp::builder().spawn().await;
    let admin = app.admin_token().await;
    let acme = app.create_provider(&admin, "acme").await;
    let path = format!("/api/v1/providers/{}/policies", acme.id);
    let form = json_ok(app.get(&path, Some(&admin)).await, 200).await;
    assert_eq!(form["inactive_client_retention_months"], Value::Null);
    for bad in [json!(0), json!(121), json!(-1), json!("12"), json!(1.5)] {
        let mut body = form.clone();
        body["inactive_client_retention_months"] = bad.clone();
        let response = app.put(&path, Some(&admin), body).await;
        assert_eq!(response.status(), 422, "{bad}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(
            problem["errors"][0]["pointer"], "/inactive_client_retention_months",
            "{bad}: {problem}"
        );
    }
    set_retention(&app, &admin, &acme.id, json!(120)).await;
    let mut without = form.clone();
    without
        .as_object_mut()
        .unwrap()
        .remove("inactive_client_retention_months");
    let put = json_ok(app.put(&path, Some(&admin), without).await, 200).await;
    assert_eq!(put["inactive_client_retention_months"], Value::Null);
}
