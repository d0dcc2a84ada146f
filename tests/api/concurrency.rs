//! Optimistic concurrency: reads answer an `ETag`, edits honour `If-Match` (412 when stale),
//! and edits without it never lose a concurrent change.

use reqwest::Response;
use serde_json::{Value, json};

use crate::helpers::{Call, TestApp, assert_problem, json_ok};

/// A PUT or PATCH with `If-Match`.
async fn send_if(app: &TestApp, call: Call, token: &str, if_match: &str) -> Response {
    app.request(&call.header("if-match", if_match), Some(token))
        .await
}

fn etag(response: &Response) -> String {
    response.headers()["etag"].to_str().unwrap().to_owned()
}

async fn stale(app: &TestApp, call: Call, token: &str, if_match: &str) {
    assert_problem(
        send_if(app, call, token, if_match).await,
        412,
        "precondition_failed",
    )
    .await;
}

#[tokio::test]
async fn a_provider_edit_based_on_an_old_read_is_refused() {
    let (app, admin, [acme]) = TestApp::with_providers(["acme"]).await;
    let provider = format!("/api/v1/providers/{}", acme.id);
    let (policies, methods) = (
        format!("{provider}/policies"),
        format!("{provider}/auth-methods"),
    );
    let first = etag(&app.get(&provider, Some(&admin)).await);
    assert_eq!(first, "\"1\"");
    assert_eq!(etag(&app.get(&policies, Some(&admin)).await), first);

    // Two editors read version 1; the first write wins, the second is told to read again.
    let mut changed = json_ok(app.get(&policies, Some(&admin)).await, 200).await;
    changed["auth_log_retention_days"] = json!(30);
    let response = send_if(&app, Call::put(&policies, changed), &admin, &first).await;
    let second = etag(&response);
    assert_eq!(second, "\"2\"");
    json_ok(response, 200).await;

    let mut other = json_ok(app.get(&methods, Some(&admin)).await, 200).await;
    other["authinfo"]["login"] = json!(true);
    for old in [first.as_str(), "W/\"2\"", "\"junk\"", "\"99\"", "2"] {
        stale(&app, Call::put(&methods, other.clone()), &admin, old).await;
    }
    stale(
        &app,
        Call::patch(&provider, json!({ "name": "Late" })),
        &admin,
        &first,
    )
    .await;
    // Based on the current version (or `*`), it goes through.
    let response = send_if(&app, Call::put(&methods, other), &admin, &second).await;
    assert_eq!(etag(&response), "\"3\"");
    json_ok(response, 200).await;
    let rename = Call::patch(&provider, json!({ "name": "Acme" }));
    let response = send_if(&app, rename, &admin, "*").await;
    assert_eq!(etag(&response), "\"4\"");
    assert_eq!(json_ok(response, 200).await["name"], "Acme");

    let policies = json_ok(app.get(&policies, Some(&admin)).await, 200).await;
    let methods = json_ok(app.get(&methods, Some(&admin)).await, 200).await;
    assert_eq!(policies["auth_log_retention_days"], 30);
    assert_eq!(methods["authinfo"]["login"], true);
}

#[tokio::test]
async fn parallel_edits_without_if_match_lose_nothing() {
    let (app, admin, [acme]) = TestApp::with_providers(["acme"]).await;
    let provider = format!("/api/v1/providers/{}", acme.id);
    let (policies, methods) = (
        format!("{provider}/policies"),
        format!("{provider}/auth-methods"),
    );
    let mut new_policies = json_ok(app.get(&policies, Some(&admin)).await, 200).await;
    new_policies["auth_log_retention_days"] = json!(42);
    let mut new_methods = json_ok(app.get(&methods, Some(&admin)).await, 200).await;
    new_methods["authinfo"]["login"] = json!(true);
    // Each form writes the whole provider row; before versions, one overwrote the other.
    let mut calls = Vec::new();
    for i in 0..6 {
        calls.push(Call::put(&policies, new_policies.clone()));
        calls.push(Call::put(&methods, new_methods.clone()));
        calls.push(Call::patch(
            &provider,
            json!({ "name": format!("Acme {i}") }),
        ));
    }
    let responses =
        futures_util::future::join_all(calls.iter().map(|c| app.request(c, Some(&admin)))).await;
    for response in responses {
        assert_eq!(response.status(), 200);
    }
    let policies = json_ok(app.get(&policies, Some(&admin)).await, 200).await;
    let methods = json_ok(app.get(&methods, Some(&admin)).await, 200).await;
    assert_eq!(policies["auth_log_retention_days"], 42);
    assert_eq!(methods["authinfo"]["login"], true);
    let read = app.get(&provider, Some(&admin)).await;
    assert_eq!(etag(&read), "\"19\"", "one version per write");
}

#[tokio::test]
async fn clients_users_and_employees_carry_versions() {
    let (app, admin, [acme]) = TestApp::with_providers(["acme"]).await;
    let (client, user) = app
        .client_with_user(&admin, &acme.id, "anna@example.com")
        .await;
    let bob = app.create_employee(&admin, "bob", &["support"], None).await;
    let client = format!("/api/v1/clients/{}", client.id);
    let user = format!("/api/v1/users/{}", user.id);
    let employee = format!("/api/v1/employees/{}", bob.employee.id);

    let cases: [(&str, Value); 3] = [
        (&client, json!({ "name": "Renamed" })),
        (&user, json!({ "name": "Anna S." })),
        (&employee, json!({ "name": "Robert" })),
    ];
    for (path, change) in cases {
        let first = etag(&app.get(path, Some(&admin)).await);
        assert_eq!(first, "\"1\"", "{path}");
        let response = send_if(&app, Call::patch(path, change.clone()), &admin, &first).await;
        assert_eq!(etag(&response), "\"2\"", "{path}");
        json_ok(response, 200).await;
        stale(&app, Call::patch(path, change), &admin, &first).await;
    }
    let roles = format!("{employee}/roles");
    let body = json!({ "roles": ["billing"], "providers": null });
    stale(&app, Call::put(&roles, body.clone()), &admin, "\"1\"").await;
    let response = send_if(&app, Call::put(&roles, body), &admin, "\"2\"").await;
    assert_eq!(etag(&response), "\"3\"");
    assert_eq!(json_ok(response, 200).await["roles"], json!(["billing"]));
}

/// Edits that read before they write (an employee's status decides what else changes) must
/// wait their turn on SQLite, not fail with "database is locked" (a 503).
#[tokio::test]
async fn parallel_edits_that_read_first_do_not_fail() {
    let (app, admin, _) = TestApp::with_providers(["acme"]).await;
    let bob = app.create_employee(&admin, "bob", &["support"], None).await;
    let path = format!("/api/v1/employees/{}", bob.employee.id);
    let calls: Vec<Call> = (0..16)
        .map(|i| Call::patch(&path, json!({ "name": format!("Bob {i}") })))
        .collect();
    let responses =
        futures_util::future::join_all(calls.iter().map(|c| app.request(c, Some(&admin)))).await;
    for response in responses {
        assert_eq!(response.status(), 200);
    }
    assert_eq!(etag(&app.get(&path, Some(&admin)).await), "\"17\"");
}
