//! Access tokens are verified once and then answered from a cache until their `exp`; the
//! session, the person and their provider are kept until the database changes
//! (`persistence::store::live_cache`). Each test uses a token (so both are cached) before
//! the change that must refuse it on the very next request.

use serde_json::{Value, json};

use crate::helpers::*;

async fn me(app: &TestApp, token: &str) -> Value {
    json_ok(app.get("/api/v1/me", Some(token)).await, 200).await
}

async fn refused(app: &TestApp, token: &str) {
    assert_problem(
        app.get("/api/v1/me", Some(token)).await,
        401,
        "unauthenticated",
    )
    .await;
}

#[tokio::test]
async fn a_cached_token_dies_with_its_session() {
    let (app, admin, [provider]) = TestApp::with_providers(["acme"]).await;
    let (_, user) = app
        .client_with_user(&admin, &provider.id, "anna@example.com")
        .await;
    let (phone, laptop) = (
        app.user_token(&admin, &user.id).await,
        app.user_token(&admin, &user.id).await,
    );
    let phone_session = me(&app, &phone).await;
    me(&app, &phone).await;
    assert_eq!(phone_session["credential"], "access_token");

    // Ended from another session: the next request of the cached token is refused.
    let sessions = json_ok(app.get("/api/v1/me/sessions", Some(&phone)).await, 200).await;
    let current = sessions["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = app
        .delete(&format!("/api/v1/me/sessions/{current}"), Some(&laptop))
        .await;
    assert_eq!(response.status(), 204);
    refused(&app, &phone).await;

    // Logging out ends it as well.
    me(&app, &laptop).await;
    let response = app
        .post("/api/v1/auth/logout", Some(&laptop), json!({}))
        .await;
    assert_eq!(response.status(), 204);
    refused(&app, &laptop).await;
}

#[tokio::test]
async fn a_cached_token_is_refused_once_its_user_or_provider_may_not_act() {
    let (app, admin, [provider]) = TestApp::with_providers(["acme"]).await;
    let (_, user) = app
        .client_with_user(&admin, &provider.id, "anna@example.com")
        .await;
    let token = app.user_token(&admin, &user.id).await;
    me(&app, &token).await;

    // A suspended provider revokes nothing: the check on each request refuses, and lets
    // the same token through again once the provider is back.
    let provider_item = format!("/api/v1/providers/{}", provider.id);
    app.set_status(&admin, &provider_item, "suspended").await;
    refused(&app, &token).await;
    app.set_status(&admin, &provider_item, "active").await;
    me(&app, &token).await;

    let user_item = format!("/api/v1/users/{}", user.id);
    app.set_status(&admin, &user_item, "disabled").await;
    refused(&app, &token).await;
}

#[tokio::test]
async fn a_cached_token_sees_an_employees_new_roles_at_once() {
    let (app, admin, _) = TestApp::with_providers::<0>([]).await;
    let staff = app
        .create_employee(&admin, "j.doe", &["support"], None)
        .await;
    assert_eq!(me(&app, &staff.token).await["roles"], json!(["support"]));
    let roles = format!("/api/v1/employees/{}/roles", staff.employee.id);
    let body = json!({ "roles": ["billing", "support"], "providers": null });
    json_ok(app.put(&roles, Some(&admin), body).await, 200).await;
    assert_eq!(
        me(&app, &staff.token).await["roles"],
        json!(["billing", "support"])
    );
    let item = format!("/api/v1/employees/{}", staff.employee.id);
    app.set_status(&admin, &item, "disabled").await;
    refused(&app, &staff.token).await;
}

#[tokio::test]
async fn a_cached_token_is_refused_after_its_exp() {
    let (app, _, _) = TestApp::with_providers(["acme"]).await;
    let signed_up = app.register("acme", "anna@example.com").await;
    let token = signed_up.access().to_owned();
    me(&app, &token).await;
    me(&app, &token).await;
    let ttl = chrono::Duration::from_std(app.settings.access_token_ttl).unwrap();
    app.advance(ttl - chrono::Duration::seconds(1));
    me(&app, &token).await;
    app.advance(chrono::Duration::seconds(1));
    refused(&app, &token).await;
    // The session itself lives on: its refresh token gets a new access token that works.
    let refresh = signed_up.tokens["refresh_token"].as_str().unwrap();
    let tokens = json_ok(
        app.post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": refresh }),
        )
        .await,
        200,
    )
    .await;
    me(&app, access(&tokens)).await;
}

/// Two instances on one database: a logout through one is refused by the other, whose
/// cache held the session. On SQLite at once (`data_version`); on PostgreSQL once the
/// notification arrived, which the test allows 2 s for (in practice the next request).
#[tokio::test]
async fn a_logout_through_another_instance_counts_there() {
    let (app, _, _) = TestApp::with_providers(["acme"]).await;
    let user = app.register("acme", "anna@example.com").await;
    let other = app.second_instance().await;
    // Twice: the second answer comes from the other instance's caches.
    me(&other, user.access()).await;
    me(&other, user.access()).await;

    let response = app
        .post("/api/v1/auth/logout", Some(user.access()), json!({}))
        .await;
    assert_eq!(response.status(), 204);
    let started = std::time::Instant::now();
    loop {
        let response = other.get("/api/v1/me", Some(user.access())).await;
        if response.status() == 401 {
            break;
        }
        assert_eq!(response.status(), 200);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "the other instance still accepts the ended session"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    refused(&other, user.access()).await;
}
