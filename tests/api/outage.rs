//! A database that is gone is an outage (503 with `Retry-After`), never "not signed in".
//! (Readiness on both backends: `system::readiness_fails_when_the_database_is_gone`.)

use serde_json::json;

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn a_postgres_outage_is_503_on_every_path_not_401() {
    let app = spawn_app().await;
    if !app.db.is_postgres() {
        // An SQLite file removed under the app is still read through its open connections:
        // there is no outage to see on SQLite beyond readiness.
        return;
    }
    let admin = app.admin_token().await;
    app.create_provider(&admin, "acme").await;
    assert_eq!(app.get("/readyz", None).await.status(), 200);
    app.db.drop_now();

    let login = json!({ "provider": "acme", "login": "anna@example.com", "password": "x" });
    let refresh = json!({
        "refresh_token": api::secrets::new_secret(domain::secret::REFRESH_TOKEN_PREFIX)
    });
    // At once: each waits for the pool's connection timeout.
    let (ready, providers, me, login, refresh) = tokio::join!(
        app.get("/readyz", None),
        // Authentication reads the session: an outage, not an unknown token.
        app.get("/api/v1/providers", Some(&admin)),
        app.get("/api/v1/me", Some(&admin)),
        app.post("/api/v1/auth/login", None, login),
        app.post("/api/v1/auth/refresh", None, refresh),
    );
    let calls = [ready, providers, me, login, refresh];
    for response in calls {
        assert_eq!(
            response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned()),
            Some("5".to_owned()),
            "{}",
            response.url()
        );
        assert_problem(response, 503, "unavailable").await;
    }
    assert_eq!(app.get("/healthz", None).await.status(), 200, "alive");
}
