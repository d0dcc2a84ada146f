use crate::helpers::*;
#[allow(unused_imports)]
use serde_json::json;

#[tokio::test]
async fn bootstrap_admin_key_gives_a_token_once() {
    let app = spawn_app().await;
    let key = api::cli::bootstrap_admin(&app.settings, "root-admin", "Root").unwrap();
    assert!(key.starts_with("bitk_"));
    let tokens = app.redeem(&key).await;
    assert!(tokens["access_token"].as_str().unwrap().starts_with("eyJ"));
    assert!(
        tokens["refresh_token"]
            .as_str()
            .unwrap()
            .starts_with("birt_")
    );
    // Single use.
    let again = app
        .post("/api/v1/auth/temporary-key", None, json!({ "key": key }))
        .await;
    assert_problem(again, 401, "invalid_credentials").await;
}
