//! Optimistic concurrency: reads answer an `ETag`, edits honour `If-Match` (412 when stale),
//! and edits without it never lose a concurrent change.

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, json_ok, spawn_app};

/// A PUT or PATCH with `If-Match`.
async fn send_if(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    if_match: &str,
    body: Value,
) -> Response {
    app.client
        .request(method, app.url(path))
        .bearer_auth(token)
        .header("if-match", if_match)
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn etag(response: &Response) -> String {
    response.headers()["etag"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_provider_edit_based_on_an_old_read_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let id = app.create_provider(&admin, "acme").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let provider = format!("/api/v1/providers/{id}");
    let read = app.get(&provider, Some(&admin)).await;
    let first = etag(&read);
    assert_eq!(first, "\"1\"");
    let policies = json_ok(
        app.get(&format!("{provider}/policies"), Some(&admin)).await,
        200,
    )
    .await;

    // Two editors read version 1; the first write wins, the second is told to read again.
    let mut changed = policies.clone();
    changed["auth_log_retention_days"] = json!(30);
    let response = send_if(
        &app,
        Method::PUT,
        &format!("{provider}/policies"),
        &admin,
        &first,
        changed,
    )
    .await;
    let second = etag(&response);
    assert_eq!(second, "\"2\"");
    json_ok(response, 200).await;

    let methods = json_ok(
        app.get(&format!("{provider}/auth-methods"), Some(&admin))
            .await,
        200,
    )
    .await;
    let mut other = methods.clone();
    other["authinfo"]["login"] = json!(true);
    for stale in [first.as_str(), "W/\"2\"", "\"junk\"", "\"99\""] {
        assert_problem(
            send_if(
                &app,
                Method::PUT,
                &format!("{provider}/auth-methods"),
                &admin,
                stale,
                other.clone(),
            )
            .await,
            412,
            "precondition_failed",
        )
        .await;
    }
    assert_problem(
        send_if(
            &app,
            Method::PATCH,
            &provider,
            &admin,
            &first,
            json!({ "name": "Late" }),
        )
        .await,
        412,
        "precondition_failed",
    )
    .await;
    // Based on the current version (or `*`), it goes through.
    let response = send_if(
        &app,
        Method::PUT,
        &format!("{provider}/auth-methods"),
        &admin,
        &second,
        other,
    )
    .await;
    assert_eq!(etag(&response), "\"3\"");
    json_ok(response, 200).await;
    let response = send_if(
        &app,
        Method::PATCH,
        &provider,
        &admin,
        "*",
        json!({ "name": "Acme" }),
    )
    .await;
    assert_eq!(etag(&response), "\"4\"");
    assert_eq!(json_ok(response, 200).await["name"], "Acme");

    let policies = json_ok(
        app.get(&format!("{provider}/policies"), Some(&admin)).await,
        200,
    )
    .await;
    let methods = json_ok(
        app.get(&format!("{provider}/auth-methods"), Some(&admin))
            .await,
        200,
    )
    .await;
    assert_eq!(policies["auth_log_retention_days"], 30);
    assert_eq!(methods["authinfo"]["login"], true);
}

#[tokio::test]
async fn parallel_edits_without_if_match_lose_nothing() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let id = app.create_provider(&admin, "acme").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let provider = format!("/api/v1/providers/{id}");
    let policies = json_ok(
        app.get(&format!("{provider}/policies"), Some(&admin)).await,
        200,
    )
    .await;
    let methods = json_ok(
        app.get(&format!("{provider}/auth-methods"), Some(&admin))
            .await,
        200,
    )
    .await;
    let mut new_policies = policies.clone();
    new_policies["auth_log_retention_days"] = json!(42);
    let mut new_methods = methods.clone();
    new_methods["authinfo"]["login"] = json!(true);
    // Each form writes the whole provider row; before versions, one overwrote the other.
    let policies_path = format!("{provider}/policies");
    let methods_path = format!("{provider}/auth-methods");
    let rename_path = provider.clone();
    let mut calls = Vec::new();
    for i in 0..6 {
        calls.push(app.send(
            Method::PUT,
            &policies_path,
            Some(&admin),
            Some(new_policies.clone()),
        ));
        calls.push(app.send(
            Method::PUT,
            &methods_path,
            Some(&admin),
            Some(new_methods.clone()),
        ));
        let rename = json!({ "name": format!("Acme {i}") });
        calls.push(app.send(Method::PATCH, &rename_path, Some(&admin), Some(rename)));
    }
    for response in futures_util::future::join_all(calls).await {
        assert_eq!(response.status(), 200);
    }
    let policies = json_ok(
        app.get(&format!("{provider}/policies"), Some(&admin)).await,
        200,
    )
    .await;
    let methods = json_ok(
        app.get(&format!("{provider}/auth-methods"), Some(&admin))
            .await,
        200,
    )
    .await;
    assert_eq!(policies["auth_log_retention_days"], 42);
    assert_eq!(methods["authinfo"]["login"], true);
    let read = app.get(&provider, Some(&admin)).await;
    assert_eq!(etag(&read), "\"19\"", "one version per write");
}

#[tokio::test]
async fn clients_users_and_employees_carry_versions() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let provider_id = app.create_provider(&admin, "acme").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let client = json_ok(
        app.post(
            &format!("/api/v1/providers/{provider_id}/clients"),
            Some(&admin),
            json!({ "name": "Client" }),
        )
        .await,
        201,
    )
    .await;
    let client_path = format!("/api/v1/clients/{}", client["id"].as_str().unwrap());
    let user = json_ok(
        app.post(
            &format!("{client_path}/users"),
            Some(&admin),
            json!({ "email": "anna@example.com", "name": "Anna" }),
        )
        .await,
        201,
    )
    .await;
    let user_path = format!("/api/v1/users/{}", user["id"].as_str().unwrap());
    let employee = json_ok(
        app.post(
            "/api/v1/employees",
            Some(&admin),
            json!({ "login": "bob", "name": "Bob", "roles": ["support"], "providers": null }),
        )
        .await,
        201,
    )
    .await;
    let employee_path = format!("/api/v1/employees/{}", employee["id"].as_str().unwrap());

    let cases: [(&str, Value); 3] = [
        (client_path.as_str(), json!({ "name": "Renamed" })),
        (user_path.as_str(), json!({ "name": "Anna S." })),
        (employee_path.as_str(), json!({ "name": "Robert" })),
    ];
    for (path, change) in cases {
        let read = app.get(path, Some(&admin)).await;
        let first = etag(&read);
        assert_eq!(first, "\"1\"", "{path}");
        let response = send_if(&app, Method::PATCH, path, &admin, &first, change.clone()).await;
        assert_eq!(etag(&response), "\"2\"", "{path}");
        json_ok(response, 200).await;
        assert_problem(
            send_if(&app, Method::PATCH, path, &admin, &first, change).await,
            412,
            "precondition_failed",
        )
        .await;
    }
    let roles = format!("{employee_path}/roles");
    let body = json!({ "roles": ["billing"], "providers": null });
    assert_problem(
        send_if(&app, Method::PUT, &roles, &admin, "\"1\"", body.clone()).await,
        412,
        "precondition_failed",
    )
    .await;
    let response = send_if(&app, Method::PUT, &roles, &admin, "\"2\"", body).await;
    assert_eq!(etag(&response), "\"3\"");
    assert_eq!(json_ok(response, 200).await["roles"], json!(["billing"]));
}
