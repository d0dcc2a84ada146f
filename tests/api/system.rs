use crate::helpers::*;

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let response = app.get("/healthz", None).await;
    assert_eq!(response.status(), 200);
    let response = app.get("/readyz", None).await;
    assert_eq!(response.status(), 200);
    let id = response
        .headers()
        .get("x-request-id")
        .expect("request id")
        .to_str()
        .unwrap();
    assert!(!id.is_empty());
}

#[tokio::test]
async fn request_id_is_echoed_when_sane() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "abc-123");
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    assert_ne!(response.headers()["x-request-id"], "bad id with spaces");
}

#[tokio::test]
async fn unknown_route_and_wrong_method_are_problems() {
    let app = spawn_app().await;
    assert_problem(app.get("/nope", None).await, 404, "no_route").await;
    assert_problem(
        app.delete("/healthz", None).await,
        405,
        "method_not_allowed",
    )
    .await;
}

#[tokio::test]
async fn jwks_publishes_an_ed25519_key() {
    let app = spawn_app().await;
    let body = json_ok(app.get("/.well-known/jwks.json", None).await, 200).await;
    let key = &body["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert!(key.get("d").is_none(), "no private part");
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary() {
    let app = spawn_app().await;
    let response = app.get("/docs", None).await;
    assert_eq!(response.status(), 308);
    let response = app.get("/docs/", None).await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("swagger"), "{html}");
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = spawn_app().await;
    assert_eq!(app.get("/readyz", None).await.status(), 200);
    app.db.drop_now();
    let response = app.get("/readyz", None).await;
    assert_eq!(response.headers()["retry-after"], "5");
    assert_problem(response, 503, "unavailable").await;
    assert_eq!(
        app.get("/healthz", None).await.status(),
        200,
        "alive all the same"
    );
}

#[test]
fn an_unknown_database_scheme_is_a_clear_error_at_start() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_billing-identity"))
        .arg("migrate")
        .env("DATABASE_URL", "postgress://127.0.0.1/x")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("DATABASE_URL must start with sqlite:// or postgres://"),
        "{stderr}"
    );
}

#[test]
fn issue_key_prints_the_key_last() {
    let db = TestDb::new();
    let binary = env!("CARGO_BIN_EXE_billing-identity");
    let run = |args: &[&str]| {
        std::process::Command::new(binary)
            .args(args)
            .env("DATABASE_URL", &db.url)
            .output()
            .unwrap()
    };
    assert!(run(&["bootstrap-admin", "--login", "ops"]).status.success());
    let output = run(&["issue-key", "--employee", "ops", "--ttl", "5m"]);
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.lines().last().unwrap().starts_with("bitk_"),
        "{stdout}"
    );
    let unknown = run(&["issue-key", "--employee", "nobody"]);
    assert!(!unknown.status.success());
    let neither = run(&["issue-key"]);
    assert!(!neither.status.success());
    let stderr = String::from_utf8_lossy(&neither.stderr);
    assert!(
        stderr.contains("--employee LOGIN") && stderr.contains("--user EMAIL with --provider SLUG"),
        "names both forms: {stderr}"
    );
    let long = run(&["issue-key", "--employee", "ops", "--ttl", "400d"]);
    assert!(
        !long.status.success(),
        "a one-time key is not valid for 400 days"
    );
    let stderr = String::from_utf8_lossy(&long.stderr);
    assert!(stderr.contains("at most 1d"), "{stderr}");
    let output = std::process::Command::new(binary)
        .args(["issue-key", "--employee", "ops", "--ttl", "3d"])
        .env("DATABASE_URL", &db.url)
        .env("TEMPORARY_KEY_MAX_TTL", "7d")
        .output()
        .unwrap();
    assert!(output.status.success(), "a setting allows more");
}

#[test]
fn an_out_of_range_setting_stops_the_start_with_the_range() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_billing-identity"))
        .arg("migrate")
        .env("DB_POOL_SIZE", "0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("DB_POOL_SIZE must be between 1 and 1000 (got 0)"),
        "{stderr}"
    );
}

#[tokio::test]
async fn instances_sharing_a_database_share_their_signing_keys() {
    let first = spawn_app().await;
    let token = first.admin_token().await;
    let second = api::startup::Application::build(first.settings.clone())
        .await
        .unwrap();
    let second_url = format!("http://127.0.0.1:{}", second.port());
    tokio::spawn(second.run_until_stopped());
    let response = first
        .client
        .get(format!("{second_url}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let a = json_ok(first.get("/.well-known/jwks.json", None).await, 200).await;
    let b: serde_json::Value = first
        .client
        .get(format!("{second_url}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(a, b);
}
