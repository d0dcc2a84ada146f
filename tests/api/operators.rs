//! What an operator runs: metrics.

use crate::helpers::*;

const METRICS_TOKEN: &str = "metrics-token-0123456789";

/// The sum of the samples of `name` whose labels contain every one of `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| labels.iter().all(|label| l.contains(label)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn scrape(app: &TestApp) -> String {
    let response = app.get("/metrics", Some(METRICS_TOKEN)).await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

#[tokio::test]
async fn metrics_move_with_sign_ins_requests_and_jobs() {
    let app = TestApp::builder()
        .settings(|s| s.metrics_token = Some(api::settings::MetricsToken(METRICS_TOKEN.into())))
        .spawn()
        .await;
    assert_problem(app.get("/metrics", None).await, 401, "unauthenticated").await;
    assert_problem(
        app.get("/metrics", Some("metrics-token-wrong-guess")).await,
        401,
        "unauthenticated",
    )
    .await;

    let before = scrape(&app).await;
    let sign_ins = r#"outcome="success""#;
    let redeem_route = r#"route="/api/v1/auth/temporary-key""#;
    let admin = app.admin_token().await;
    app.get("/api/v1/me", Some(&admin)).await;
    let bad = serde_json::json!({ "key": "bitk_nope" });
    app.post("/api/v1/auth/temporary-key", None, bad).await;
    app.run_job(api::jobs::AUTH_LOG_PURGE).await;
    let after = scrape(&app).await;

    let moved =
        |name: &str, labels: &[&str]| sample(&after, name, labels) - sample(&before, name, labels);
    assert_eq!(
        moved("billing_identity_auth_attempts_total", &[sign_ins]),
        1.0,
        "{after}"
    );
    assert!(
        moved(
            "billing_identity_auth_attempts_total",
            &[r#"outcome="failure""#]
        ) >= 1.0
    );
    assert_eq!(
        moved(
            "billing_identity_http_requests_total",
            &[redeem_route, r#"status="200""#]
        ),
        1.0,
        "{after}"
    );
    assert_eq!(
        moved(
            "billing_identity_http_requests_total",
            &[
                r#"route="/api/v1/me""#,
                r#"method="GET""#,
                r#"status="200""#
            ]
        ),
        1.0,
        "by template and status: {after}"
    );
    assert!(
        moved(
            "billing_identity_http_request_duration_seconds_count",
            &[redeem_route]
        ) >= 2.0
    );
    assert!(!after.contains("bitk_"), "no secret in the metrics");
    assert_eq!(
        moved(
            "billing_identity_job_runs_total",
            &[r#"job="auth_log_purge""#, r#"result="done""#]
        ),
        1.0,
        "{after}"
    );
    assert!(after.contains("billing_identity_job_run_duration_seconds_bucket"));
    assert!(after.contains(r#"billing_identity_db_pool_connections{state="idle"}"#));
    assert!(after.contains(r#"billing_identity_db_pool_connections{state="in_use"}"#));
    assert!(after.contains("billing_identity_password_hashes_waiting"));
}

#[tokio::test]
async fn without_a_metrics_token_there_are_no_metrics() {
    let app = spawn_app().await;
    assert_problem(
        app.get("/metrics", Some(METRICS_TOKEN)).await,
        404,
        "no_route",
    )
    .await;
}
