//! What a browser app on another origin meets: CORS, caching and content-type headers, and
//! the Swagger UI under its own Content-Security-Policy.

use reqwest::Method;

use crate::helpers::*;

const ALLOWED: &str = "https://app.example.com";
const REFUSED: &str = "https://evil.example.net";

async fn cors_app() -> TestApp {
    TestApp::builder()
        .settings(|s| {
            s.cors_allowed_origins = vec![ALLOWED.into(), "http://localhost:5173".into()];
        })
        .spawn()
        .await
}

async fn preflight(app: &TestApp, origin: &str, method: &str, headers: &str) -> reqwest::Response {
    app.client
        .request(Method::OPTIONS, app.url("/api/v1/auth/login"))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", headers)
        .send()
        .await
        .unwrap()
}

fn header<'r>(response: &'r reqwest::Response, name: &str) -> Option<&'r str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn a_preflight_from_an_allowed_origin_is_answered_and_cached() {
    let app = cors_app().await;
    let response = preflight(
        &app,
        ALLOWED,
        "POST",
        "authorization, content-type, if-match, x-request-id",
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some(ALLOWED)
    );
    let methods = header(&response, "access-control-allow-methods").unwrap();
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        assert!(methods.contains(method), "{methods}");
    }
    let headers = header(&response, "access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    for name in ["authorization", "content-type", "if-match", "x-request-id"] {
        assert!(headers.contains(name), "{headers}");
    }
    assert_eq!(header(&response, "access-control-max-age"), Some("3600"));
    assert_eq!(
        header(&response, "access-control-allow-credentials"),
        None,
        "bearer tokens, no cookies: no credentials"
    );
    assert!(
        header(&response, "vary")
            .unwrap()
            .to_ascii_lowercase()
            .contains("origin")
    );
}

#[tokio::test]
async fn a_preflight_from_another_origin_is_refused() {
    let app = cors_app().await;
    let response = preflight(&app, REFUSED, "POST", "content-type").await;
    assert!(response.status().is_client_error(), "{}", response.status());
    assert_eq!(header(&response, "access-control-allow-origin"), None);
    // A header the API does not take is refused for an allowed origin too.
    let response = preflight(&app, ALLOWED, "POST", "x-forwarded-for").await;
    assert!(response.status().is_client_error(), "{}", response.status());
}

#[tokio::test]
async fn a_request_from_an_allowed_origin_may_read_the_answer_and_its_headers() {
    let app = cors_app().await;
    let response = app
        .client
        .get(app.url("/api/v1/me"))
        .header("origin", ALLOWED)
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some(ALLOWED)
    );
    let exposed = header(&response, "access-control-expose-headers")
        .unwrap()
        .to_ascii_lowercase();
    for name in ["etag", "retry-after", "x-request-id", "location"] {
        assert!(exposed.contains(name), "{exposed}");
    }
    assert_problem(response, 401, "unauthenticated").await;
}

#[tokio::test]
async fn a_request_from_another_origin_gets_no_cors_headers() {
    let app = cors_app().await;
    let response = app
        .client
        .get(app.url("/api/v1/me"))
        .header("origin", REFUSED)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "access-control-allow-origin"), None);
    // Answered as to any client without an origin (the browser keeps it from the page).
    assert_problem(response, 401, "unauthenticated").await;
}

#[tokio::test]
async fn without_allowed_origins_there_is_no_cors() {
    let app = spawn_app().await;
    let response = preflight(&app, ALLOWED, "POST", "content-type").await;
    assert_eq!(header(&response, "access-control-allow-origin"), None);
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("origin", ALLOWED)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "access-control-allow-origin"), None);
}

#[tokio::test]
async fn api_answers_are_not_stored_and_nothing_is_sniffed() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for (path, token) in [
        ("/api/v1/me", Some(admin.as_str())),
        ("/api/v1/me", None),
        ("/api/v1/nope", None),
    ] {
        let response = app.get(path, token).await;
        assert_eq!(
            header(&response, "cache-control"),
            Some("no-store"),
            "{path}"
        );
        assert_eq!(
            header(&response, "x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }
    let response = app
        .post(
            "/api/v1/auth/temporary-key",
            None,
            serde_json::json!({ "key": "bitk_nope" }),
        )
        .await;
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    for path in [
        "/healthz",
        "/readyz",
        "/openapi.json",
        "/.well-known/jwks.json",
        "/nope",
    ] {
        let response = app.get(path, None).await;
        assert_eq!(
            header(&response, "x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        let csp = header(&response, "content-security-policy").unwrap();
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
    }
    let jwks = app.get("/.well-known/jwks.json", None).await;
    assert_eq!(
        header(&jwks, "cache-control"),
        Some("public, max-age=300"),
        "public keys may be cached"
    );
}

#[tokio::test]
async fn swagger_ui_works_under_its_own_content_security_policy() {
    let app = spawn_app().await;
    let page = app.get("/docs/", None).await;
    assert_eq!(page.status(), 200);
    let csp = header(&page, "content-security-policy").unwrap().to_owned();
    assert_eq!(header(&page, "x-content-type-options"), Some("nosniff"));
    let html = page.text().await.unwrap();
    // No inline script in the page: everything it loads is a file of this origin.
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert!(csp.contains("connect-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    for file in [
        "swagger-ui.css",
        "index.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "swagger-initializer.js",
    ] {
        assert!(html.contains(file), "the page loads {file}");
        let response = app.get(&format!("/docs/{file}"), None).await;
        assert_eq!(response.status(), 200, "{file}");
    }
    let initializer = app.get("/docs/swagger-initializer.js", None).await;
    assert!(initializer.text().await.unwrap().contains("/openapi.json"));
}
