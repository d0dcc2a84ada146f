//! Administration of clients, users and employees, and one-time keys issued by staff.

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::*;

const NO_SUCH_ID: &str = "0190a0a0-0000-7000-8000-000000000000";

async fn create_client(app: &TestApp, token: &str, provider_id: &str, name: &str) -> Value {
    json_ok(
        app.post(
            &format!("/api/v1/providers/{provider_id}/clients"),
            Some(token),
            json!({ "name": name }),
        )
        .await,
        201,
    )
    .await
}

async fn create_user(app: &TestApp, token: &str, client_id: &str, email: &str) -> Value {
    json_ok(
        app.post(
            &format!("/api/v1/clients/{client_id}/users"),
            Some(token),
            json!({ "email": email, "name": "Anna Schmidt" }),
        )
        .await,
        201,
    )
    .await
}

/// Creates an employee through the API, gives them a key through the API and redeems it.
/// Returns the employee's JSON and an access token.
async fn staff(
    app: &TestApp,
    admin: &str,
    login: &str,
    roles: Value,
    providers: Value,
) -> (Value, String) {
    let employee = json_ok(
        app.post(
            "/api/v1/employees",
            Some(admin),
            json!({ "login": login, "name": format!("{login} staff"), "roles": roles, "providers": providers }),
        )
        .await,
        201,
    )
    .await;
    let id = employee["id"].as_str().unwrap();
    let key = json_ok(
        app.post(
            &format!("/api/v1/employees/{id}/temporary-keys"),
            Some(admin),
            json!({}),
        )
        .await,
        201,
    )
    .await;
    let token = app.redeem(key["key"].as_str().unwrap()).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    (employee, token)
}

/// Issues a key for a user through the API and redeems it: the user's access token.
async fn user_token(app: &TestApp, admin: &str, user_id: &str) -> String {
    let key = json_ok(
        app.post(
            &format!("/api/v1/users/{user_id}/temporary-keys"),
            Some(admin),
            json!({}),
        )
        .await,
        201,
    )
    .await;
    app.redeem(key["key"].as_str().unwrap()).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn send_raw(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    content_type: &str,
    body: &str,
) -> Response {
    app.client
        .request(method, app.url(path))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

/// The shared bad-body checks of a JSON operation: malformed JSON, a wrong content type.
async fn assert_body_problems(app: &TestApp, method: Method, path: &str, token: &str) {
    assert_problem(
        send_raw(app, method.clone(), path, token, "application/json", "{").await,
        400,
        "malformed_json",
    )
    .await;
    assert_problem(
        send_raw(app, method, path, token, "text/plain", "{\"name\": \"x\"}").await,
        415,
        "unsupported_media_type",
    )
    .await;
}

fn pointers(problem: &Value) -> Vec<String> {
    let mut p: Vec<String> = problem["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["pointer"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    p.sort();
    p
}

#[tokio::test]
async fn clients_are_created_listed_read_and_updated() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let provider = app.create_provider(&admin, "acme").await;
    let pid = provider["id"].as_str().unwrap();
    let first = create_client(&app, &admin, pid, "  First Shop ").await;
    assert_eq!(first["name"], "First Shop");
    assert_eq!(first["status"], "active");
    assert_eq!(first["provider_id"], pid);
    create_client(&app, &admin, pid, "Second").await;
    create_client(&app, &admin, pid, "Third").await;

    let page = json_ok(
        app.get(
            &format!("/api/v1/providers/{pid}/clients?limit=2"),
            Some(&admin),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["items"][0]["id"], first["id"]);
    let cursor = page["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let page = json_ok(
        app.get(
            &format!("/api/v1/providers/{pid}/clients?limit=2&cursor={cursor}"),
            Some(&admin),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["name"], "Third");
    assert!(page["next_cursor"].is_null());

    let id = first["id"].as_str().unwrap();
    let read = json_ok(
        app.get(&format!("/api/v1/clients/{id}"), Some(&admin))
            .await,
        200,
    )
    .await;
    assert_eq!(read, first);
    let updated = json_ok(
        app.patch(
            &format!("/api/v1/clients/{id}"),
            Some(&admin),
            json!({ "name": "Renamed" }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(updated["name"], "Renamed");
    assert_eq!(updated["status"], "active");
    let updated = json_ok(
        app.patch(
            &format!("/api/v1/clients/{id}"),
            Some(&admin),
            json!({ "status": "disabled" }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(updated["status"], "disabled");
    assert_eq!(updated["name"], "Renamed");
    let read = json_ok(
        app.get(&format!("/api/v1/clients/{id}"), Some(&admin))
            .await,
        200,
    )
    .await;
    assert_eq!(read["status"], "disabled");
}

#[tokio::test]
async fn clients_refuse_bad_input() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let provider = app.create_provider(&admin, "acme").await;
    let pid = provider["id"].as_str().unwrap();
    let collection = format!("/api/v1/providers/{pid}/clients");
    let body = assert_problem(
        app.post(&collection, Some(&admin), json!({})).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(pointers(&body), ["/name"]);
    assert_problem(
        app.post(&collection, Some(&admin), json!({ "name": 5 }))
            .await,
        422,
        "validation_failed",
    )
    .await;
    let body = assert_problem(
        app.post(&collection, Some(&admin), json!({ "name": "   " }))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(pointers(&body), ["/name"]);
    assert_problem(
        app.post(
            &collection,
            Some(&admin),
            json!({ "name": "x", "extra": 1 }),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_body_problems(&app, Method::POST, &collection, &admin).await;
    for path in [
        format!("/api/v1/providers/{NO_SUCH_ID}/clients"),
        "/api/v1/providers/not-a-uuid/clients".to_owned(),
    ] {
        assert_problem(app.get(&path, Some(&admin)).await, 404, "not_found").await;
        assert_problem(
            app.post(&path, Some(&admin), json!({ "name": "x" })).await,
            404,
            "not_found",
        )
        .await;
    }
    assert_problem(
        app.get(&format!("{collection}?limit=0"), Some(&admin))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.get(&format!("{collection}?cursor=zzz"), Some(&admin))
            .await,
        422,
        "validation_failed",
    )
    .await;

    let client = create_client(&app, &admin, pid, "Shop").await;
    let item = format!("/api/v1/clients/{}", client["id"].as_str().unwrap());
    assert_problem(
        app.patch(&item, Some(&admin), json!({ "status": "deleted" }))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.patch(&item, Some(&admin), json!({ "name": "" })).await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.patch(&item, Some(&admin), json!({ "name": [] })).await,
        422,
        "validation_failed",
    )
    .await;
    assert_body_problems(&app, Method::PATCH, &item, &admin).await;
    for path in [
        format!("/api/v1/clients/{NO_SUCH_ID}"),
        "/api/v1/clients/nope".to_owned(),
    ] {
        assert_problem(app.get(&path, Some(&admin)).await, 404, "not_found").await;
        assert_problem(
            app.patch(&path, Some(&admin), json!({ "name": "x" })).await,
            404,
            "not_found",
        )
        .await;
    }
}

#[tokio::test]
async fn clients_need_permissions_and_a_visible_provider() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let acme = app.create_provider(&admin, "acme").await;
    let other = app.create_provider(&admin, "other").await;
    let acme_id = acme["id"].as_str().unwrap();
    let other_id = other["id"].as_str().unwrap();
    let acme_client = create_client(&app, &admin, acme_id, "Acme shop").await;
    let other_client = create_client(&app, &admin, other_id, "Other shop").await;
    let acme_item = format!("/api/v1/clients/{}", acme_client["id"].as_str().unwrap());
    let other_item = format!("/api/v1/clients/{}", other_client["id"].as_str().unwrap());

    assert_problem(
        app.get(&format!("/api/v1/providers/{acme_id}/clients"), None)
            .await,
        401,
        "unauthenticated",
    )
    .await;
    assert_problem(
        app.post(
            &format!("/api/v1/providers/{acme_id}/clients"),
            None,
            json!({ "name": "x" }),
        )
        .await,
        401,
        "unauthenticated",
    )
    .await;
    assert_problem(app.get(&acme_item, None).await, 401, "unauthenticated").await;
    assert_problem(
        app.patch(&acme_item, None, json!({ "name": "x" })).await,
        401,
        "unauthenticated",
    )
    .await;
    assert_problem(
        app.get(&acme_item, Some("not-a-token")).await,
        401,
        "unauthenticated",
    )
    .await;

    // The DPO reads but does not write.
    let (_, dpo) = staff(&app, &admin, "dpo", json!(["dpo"]), Value::Null).await;
    json_ok(app.get(&acme_item, Some(&dpo)).await, 200).await;
    json_ok(
        app.get(&format!("/api/v1/providers/{acme_id}/clients"), Some(&dpo))
            .await,
        200,
    )
    .await;
    assert_problem(
        app.post(
            &format!("/api/v1/providers/{acme_id}/clients"),
            Some(&dpo),
            json!({ "name": "x" }),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.patch(&acme_item, Some(&dpo), json!({ "name": "x" }))
            .await,
        403,
        "forbidden",
    )
    .await;

    // Billing staff limited to acme: other's clients do not exist for them.
    let (_, billing) = staff(
        &app,
        &admin,
        "billing",
        json!(["billing"]),
        json!([acme_id]),
    )
    .await;
    create_client(&app, &billing, acme_id, "By billing").await;
    json_ok(
        app.patch(&acme_item, Some(&billing), json!({ "name": "Acme shop 2" }))
            .await,
        200,
    )
    .await;
    let page = json_ok(
        app.get(
            &format!("/api/v1/providers/{acme_id}/clients"),
            Some(&billing),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_problem(app.get(&other_item, Some(&billing)).await, 404, "not_found").await;
    assert_problem(
        app.patch(&other_item, Some(&billing), json!({ "name": "x" }))
            .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.get(
            &format!("/api/v1/providers/{other_id}/clients"),
            Some(&billing),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.post(
            &format!("/api/v1/providers/{other_id}/clients"),
            Some(&billing),
            json!({ "name": "x" }),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let unchanged = json_ok(app.get(&other_item, Some(&admin)).await, 200).await;
    assert_eq!(unchanged["name"], "Other shop");
}

#[tokio::test]
async fn users_are_created_listed_read_and_updated() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let provider = app.create_provider(&admin, "acme").await;
    let pid = provider["id"].as_str().unwrap();
    let client = create_client(&app, &admin, pid, "Shop").await;
    let cid = client["id"].as_str().unwrap();
    let user = json_ok(
        app.post(
            &format!("/api/v1/clients/{cid}/users"),
            Some(&admin),
            json!({ "email": " Anna@Example.COM", "name": "Anna", "phone": "+49 30 1234-5678" }),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(user["email"], "anna@example.com");
    assert_eq!(user["phone"], "+493012345678");
    assert_eq!(user["provider_id"], pid);
    assert_eq!(user["client_id"], cid);
    assert_eq!(user["status"], "active");
    assert_eq!(user["has_password"], false);
    for field in ["id", "name", "created_at", "updated_at"] {
        assert!(user[field].is_string(), "{field}: {user}");
    }
    let second = create_user(&app, &admin, cid, "bob@example.com").await;
    assert!(second["phone"].is_null());

    let page = json_ok(
        app.get(
            &format!("/api/v1/clients/{cid}/users?limit=1"),
            Some(&admin),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["id"], user["id"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let page = json_ok(
        app.get(
            &format!("/api/v1/clients/{cid}/users?limit=1&cursor={cursor}"),
            Some(&admin),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(page["items"][0]["id"], second["id"]);
    assert!(page["next_cursor"].is_null());

    let item = format!("/api/v1/users/{}", user["id"].as_str().unwrap());
    assert_eq!(json_ok(app.get(&item, Some(&admin)).await, 200).await, user);
    let updated = json_ok(
        app.patch(
            &item,
            Some(&admin),
            json!({ "name": "Anna S.", "email": "anna.s@example.com" }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(updated["name"], "Anna S.");
    assert_eq!(updated["email"], "anna.s@example.com");
    assert_eq!(
        updated["phone"], "+493012345678",
        "a phone left out is kept"
    );
    let updated = json_ok(
        app.patch(&item, Some(&admin), json!({ "phone": null }))
            .await,
        200,
    )
    .await;
    assert!(updated["phone"].is_null(), "null removes the phone");
    let updated = json_ok(
        app.patch(&item, Some(&admin), json!({ "phone": "+14155550100" }))
            .await,
        200,
    )
    .await;
    assert_eq!(updated["phone"], "+14155550100");
    let updated = json_ok(
        app.patch(&item, Some(&admin), json!({ "status": "disabled" }))
            .await,
        200,
    )
    .await;
    assert_eq!(updated["status"], "disabled");
    let updated = json_ok(
        app.patch(&item, Some(&admin), json!({ "status": "active" }))
            .await,
        200,
    )
    .await;
    assert_eq!(updated["status"], "active");
}

#[tokio::test]
async fn users_refuse_bad_input_and_duplicate_emails() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let acme = app.create_provider(&admin, "acme").await;
    let other = app.create_provider(&admin, "other").await;
    let client = create_client(&app, &admin, acme["id"].as_str().unwrap(), "Shop").await;
    let second_client = create_client(&app, &admin, acme["id"].as_str().unwrap(), "Shop 2").await;
    let other_client = create_client(&app, &admin, other["id"].as_str().unwrap(), "Other").await;
    let cid = client["id"].as_str().unwrap();
    let collection = format!("/api/v1/clients/{cid}/users");
    let anna = create_user(&app, &admin, cid, "anna@example.com").await;
    let bob = create_user(&app, &admin, cid, "bob@example.com").await;

    // Unique per provider, whatever the case; also across clients of the provider.
    assert_problem(
        app.post(
            &collection,
            Some(&admin),
            json!({ "email": "ANNA@example.com", "name": "A" }),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    assert_problem(
        app.post(
            &format!(
                "/api/v1/clients/{}/users",
                second_client["id"].as_str().unwrap()
            ),
            Some(&admin),
            json!({ "email": "anna@example.com", "name": "A" }),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    create_user(
        &app,
        &admin,
        other_client["id"].as_str().unwrap(),
        "anna@example.com",
    )
    .await;
    let bob_item = format!("/api/v1/users/{}", bob["id"].as_str().unwrap());
    assert_problem(
        app.patch(
            &bob_item,
            Some(&admin),
            json!({ "email": "anna@example.com" }),
        )
        .await,
        409,
        "conflict",
    )
    .await;

    // Every bad field at once.
    let body = assert_problem(
        app.post(
            &collection,
            Some(&admin),
            json!({ "email": "not-an-email", "name": " ", "phone": "12" }),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(pointers(&body), ["/email", "/name", "/phone"]);
    let body = assert_problem(
        app.post(&collection, Some(&admin), json!({ "name": "A" }))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(pointers(&body), ["/email"]);
    assert_problem(
        app.post(
            &collection,
            Some(&admin),
            json!({ "email": 1, "name": "A" }),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.post(
            &collection,
            Some(&admin),
            json!({ "email": "c@example.com", "name": "A", "phone": 49 }),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_body_problems(&app, Method::POST, &collection, &admin).await;

    let anna_item = format!("/api/v1/users/{}", anna["id"].as_str().unwrap());
    let body = assert_problem(
        app.patch(
            &anna_item,
            Some(&admin),
            json!({ "email": "x", "phone": "nope" }),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(pointers(&body), ["/email", "/phone"]);
    assert_problem(
        app.patch(&anna_item, Some(&admin), json!({ "status": "gone" }))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_body_problems(&app, Method::PATCH, &anna_item, &admin).await;
    let unchanged = json_ok(app.get(&anna_item, Some(&admin)).await, 200).await;
    assert_eq!(unchanged, anna);

    for path in [
        format!("/api/v1/clients/{NO_SUCH_ID}/users"),
        "/api/v1/clients/x/users".to_owned(),
    ] {
        assert_problem(app.get(&path, Some(&admin)).await, 404, "not_found").await;
        assert_problem(
            app.post(
                &path,
                Some(&admin),
                json!({ "email": "z@example.com", "name": "Z" }),
            )
            .await,
            404,
            "not_found",
        )
        .await;
    }
    for path in [
        format!("/api/v1/users/{NO_SUCH_ID}"),
        "/api/v1/users/x".to_owned(),
    ] {
        assert_problem(app.get(&path, Some(&admin)).await, 404, "not_found").await;
        assert_problem(
            app.patch(&path, Some(&admin), json!({ "name": "Z" })).await,
            404,
            "not_found",
        )
        .await;
        assert_problem(
            app.post(&format!("{path}/temporary-keys"), Some(&admin), json!({}))
                .await,
            404,
            "not_found",
        )
        .await;
    }

    // A disabled client takes no new users.
    json_ok(
        app.patch(
            &format!("/api/v1/clients/{cid}"),
            Some(&admin),
            json!({ "status": "disabled" }),
        )
        .await,
        200,
    )
    .await;
    assert_problem(
        app.post(
            &collection,
            Some(&admin),
            json!({ "email": "new@example.com", "name": "N" }),
        )
        .await,
        409,
        "conflict",
    )
    .await;
}

#[tokio::test]
async fn users_need_permissions_and_a_visible_provider() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let acme = app.create_provider(&admin, "acme").await;
    let other = app.create_provider(&admin, "other").await;
    let acme_id = acme["id"].as_str().unwrap();
    let acme_client = create_client(&app, &admin, acme_id, "Acme shop").await;
    let other_client =
        create_client(&app, &admin, other["id"].as_str().unwrap(), "Other shop").await;
    let acme_user = create_user(
        &app,
        &admin,
        acme_client["id"].as_str().unwrap(),
        "a@example.com",
    )
    .await;
    let other_user = create_user(
        &app,
        &admin,
        other_client["id"].as_str().unwrap(),
        "o@example.com",
    )
    .await;
    let acme_users = format!(
        "/api/v1/clients/{}/users",
        acme_client["id"].as_str().unwrap()
    );
    let other_users = format!(
        "/api/v1/clients/{}/users",
        other_client["id"].as_str().unwrap()
    );
    let acme_item = format!("/api/v1/users/{}", acme_user["id"].as_str().unwrap());
    let other_item = format!("/api/v1/users/{}", other_user["id"].as_str().unwrap());

    assert_problem(app.get(&acme_users, None).await, 401, "unauthenticated").await;
    assert_problem(
        app.post(
            &acme_users,
            None,
            json!({ "email": "n@example.com", "name": "N" }),
        )
        .await,
        401,
        "unauthenticated",
    )
    .await;
    assert_problem(app.get(&acme_item, None).await, 401, "unauthenticated").await;
    assert_problem(
        app.patch(&acme_item, None, json!({ "name": "N" })).await,
        401,
        "unauthenticated",
    )
    .await;
    assert_problem(
        app.post(&format!("{acme_item}/temporary-keys"), None, json!({}))
            .await,
        401,
        "unauthenticated",
    )
    .await;

    // The DPO reads users but neither writes them nor issues keys.
    let (_, dpo) = staff(&app, &admin, "dpo", json!(["dpo"]), Value::Null).await;
    json_ok(app.get(&acme_item, Some(&dpo)).await, 200).await;
    json_ok(app.get(&other_users, Some(&dpo)).await, 200).await;
    assert_problem(
        app.post(
            &acme_users,
            Some(&dpo),
            json!({ "email": "n@example.com", "name": "N" }),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.patch(&acme_item, Some(&dpo), json!({ "name": "N" }))
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.post(
            &format!("{acme_item}/temporary-keys"),
            Some(&dpo),
            json!({}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    // Billing staff write users but issue no keys.
    let (_, billing) = staff(&app, &admin, "billing", json!(["billing"]), Value::Null).await;
    assert_problem(
        app.post(
            &acme_users,
            Some(&billing),
            json!({ "email": "n@example.com", "name": "N" }),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.post(
            &format!("{acme_item}/temporary-keys"),
            Some(&billing),
            json!({}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;

    // Support limited to acme: other's users and clients do not exist for them.
    let (_, support) = staff(
        &app,
        &admin,
        "support",
        json!(["support"]),
        json!([acme_id]),
    )
    .await;
    json_ok(app.get(&acme_users, Some(&support)).await, 200).await;
    json_ok(
        app.post(
            &acme_users,
            Some(&support),
            json!({ "email": "n@example.com", "name": "N" }),
        )
        .await,
        201,
    )
    .await;
    json_ok(
        app.patch(&acme_item, Some(&support), json!({ "name": "Renamed" }))
            .await,
        200,
    )
    .await;
    json_ok(
        app.post(
            &format!("{acme_item}/temporary-keys"),
            Some(&support),
            json!({}),
        )
        .await,
        201,
    )
    .await;
    assert_problem(
        app.get(&other_users, Some(&support)).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.post(
            &other_users,
            Some(&support),
            json!({ "email": "n@example.com", "name": "N" }),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(app.get(&other_item, Some(&support)).await, 404, "not_found").await;
    assert_problem(
        app.patch(&other_item, Some(&support), json!({ "name": "N" }))
            .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.post(
            &format!("{other_item}/temporary-keys"),
            Some(&support),
            json!({}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    // ... nor may support issue keys for employees.
    let (dpo_employee, _) = staff(&app, &admin, "dpo2", json!(["dpo"]), Value::Null).await;
    assert_problem(
        app.post(
            &format!(
                "/api/v1/employees/{}/temporary-keys",
                dpo_employee["id"].as_str().unwrap()
            ),
            Some(&support),
            json!({}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;

    // A user is no employee.
    let user = user_token(&app, &admin, acme_user["id"].as_str().unwrap()).await;
    assert_problem(app.get(&acme_item, Some(&user)).await, 403, "forbidden").await;
    assert_problem(
        app.get("/api/v1/employees", Some(&user)).await,
        403,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn user_keys_redeem_once_and_disabling_revokes_at_once() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let provider = app.create_provider(&admin, "acme").await;
    let client = create_client(&app, &admin, provider["id"].as_str().unwrap(), "Shop").await;
    let user = create_user(
        &app,
        &admin,
        client["id"].as_str().unwrap(),
        "anna@example.com",
    )
    .await;
    let uid = user["id"].as_str().unwrap();
    let keys = format!("/api/v1/users/{uid}/temporary-keys");

    // No body at all, a custom lifetime, and the bounds of it.
    let response = app.send(Method::POST, &keys, Some(&admin), None).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    let issued = json_ok(response, 201).await;
    let key = issued["key"].as_str().unwrap().to_owned();
    let expires =
        chrono::DateTime::parse_from_rfc3339(issued["expires_at"].as_str().unwrap()).unwrap();
    let minutes = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes();
    assert!(
        (13..=15).contains(&minutes),
        "default lifetime: {minutes} min"
    );
    let issued = json_ok(
        app.post(&keys, Some(&admin), json!({ "ttl_seconds": 3600 }))
            .await,
        201,
    )
    .await;
    let expires =
        chrono::DateTime::parse_from_rfc3339(issued["expires_at"].as_str().unwrap()).unwrap();
    let minutes = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes();
    assert!(
        (58..=60).contains(&minutes),
        "custom lifetime: {minutes} min"
    );
    for ttl in [json!(59), json!(86_401), json!(-5)] {
        assert_problem(
            app.post(&keys, Some(&admin), json!({ "ttl_seconds": ttl }))
                .await,
            422,
            "validation_failed",
        )
        .await;
    }
    assert_problem(
        app.post(&keys, Some(&admin), json!({ "ttl_seconds": "60" }))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.post(&keys, Some(&admin), json!({ "ttl": 60 })).await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        send_raw(&app, Method::POST, &keys, &admin, "application/json", "{").await,
        400,
        "malformed_json",
    )
    .await;
    assert_problem(
        send_raw(&app, Method::POST, &keys, &admin, "text/plain", "{}").await,
        415,
        "unsupported_media_type",
    )
    .await;
    json_ok(
        send_raw(
            &app,
            Method::POST,
            &keys,
            &admin,
            "application/json",
            "null",
        )
        .await,
        201,
    )
    .await;

    // The key signs the user in, once.
    let tokens = app.redeem(&key).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let response = app
        .post("/api/v1/auth/temporary-key", None, json!({ "key": key }))
        .await;
    assert_eq!(response.status(), 401, "a key works once");
    let second = user_token(&app, &admin, uid).await;
    // Signed in (a user, so forbidden here rather than unauthenticated).
    assert_problem(
        app.get(&format!("/api/v1/users/{uid}"), Some(&access))
            .await,
        403,
        "forbidden",
    )
    .await;

    json_ok(
        app.patch(
            &format!("/api/v1/users/{uid}"),
            Some(&admin),
            json!({ "status": "disabled" }),
        )
        .await,
        200,
    )
    .await;
    assert_problem(
        app.get(&format!("/api/v1/users/{uid}"), Some(&access))
            .await,
        401,
        "unauthenticated",
    )
    .await;
    assert_problem(
        app.send(Method::POST, "/api/v1/auth/logout", Some(&second), None)
            .await,
        401,
        "unauthenticated",
    )
    .await;
    assert_problem(
        app.post(&keys, Some(&admin), json!({})).await,
        409,
        "conflict",
    )
    .await;

    // Enabled again, but a disabled client refuses keys and revokes its users' sessions.
    json_ok(
        app.patch(
            &format!("/api/v1/users/{uid}"),
            Some(&admin),
            json!({ "status": "active" }),
        )
        .await,
        200,
    )
    .await;
    let third = user_token(&app, &admin, uid).await;
    let cid = client["id"].as_str().unwrap();
    json_ok(
        app.patch(
            &format!("/api/v1/clients/{cid}"),
            Some(&admin),
            json!({ "status": "disabled" }),
        )
        .await,
        200,
    )
    .await;
    assert_problem(
        app.send(Method::POST, "/api/v1/auth/logout", Some(&third), None)
            .await,
        401,
        "unauthenticated",
    )
    .await;
    assert_problem(
        app.post(&keys, Some(&admin), json!({})).await,
        409,
        "conflict",
    )
    .await;
}

#[tokio::test]
async fn employees_are_created_listed_read_and_updated() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let acme = app.create_provider(&admin, "acme").await;
    let acme_id = acme["id"].as_str().unwrap();
    let created = json_ok(
        app.post(
            "/api/v1/employees",
            Some(&admin),
            json!({ "login": "J.Doe", "name": "Jane Doe", "email": "Jane@Example.com", "roles": ["support", "dpo", "support"], "providers": [acme_id] }),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(created["login"], "j.doe");
    assert_eq!(created["email"], "jane@example.com");
    assert_eq!(created["roles"], json!(["dpo", "support"]));
    assert_eq!(created["providers"], json!([acme_id]));
    assert_eq!(created["status"], "active");
    assert_eq!(created["has_password"], false);
    let all = json_ok(
        app.post(
            "/api/v1/employees",
            Some(&admin),
            json!({ "login": "ops", "name": "Ops", "roles": ["admin"] }),
        )
        .await,
        201,
    )
    .await;
    assert!(all["providers"].is_null(), "left out means all providers");
    assert!(all["email"].is_null());

    let page = json_ok(
        app.get("/api/v1/employees?limit=2", Some(&admin)).await,
        200,
    )
    .await;
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        2,
        "the bootstrap admin and j.doe"
    );
    assert_eq!(page["items"][1]["id"], created["id"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let page = json_ok(
        app.get(
            &format!("/api/v1/employees?limit=2&cursor={cursor}"),
            Some(&admin),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(page["items"][0]["id"], all["id"]);
    assert!(page["next_cursor"].is_null());

    let item = format!("/api/v1/employees/{}", created["id"].as_str().unwrap());
    assert_eq!(
        json_ok(app.get(&item, Some(&admin)).await, 200).await,
        created
    );
    let updated = json_ok(
        app.patch(
            &item,
            Some(&admin),
            json!({ "name": "Jane D.", "email": null }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(updated["name"], "Jane D.");
    assert!(updated["email"].is_null());
    assert_eq!(updated["roles"], created["roles"]);

    let updated = json_ok(
        app.put(
            &format!("{item}/roles"),
            Some(&admin),
            json!({ "roles": ["billing"], "providers": null }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(updated["roles"], json!(["billing"]));
    assert!(updated["providers"].is_null());
    let updated = json_ok(
        app.put(
            &format!("{item}/roles"),
            Some(&admin),
            json!({ "roles": ["admin"], "providers": [acme_id, acme_id] }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(updated["providers"], json!([acme_id]));
    assert_eq!(
        json_ok(app.get(&item, Some(&admin)).await, 200).await,
        updated
    );

    // A key for the employee signs them in; disabling them ends it at once.
    let key = json_ok(
        app.post(
            &format!("{item}/temporary-keys"),
            Some(&admin),
            json!({ "ttl_seconds": 600 }),
        )
        .await,
        201,
    )
    .await;
    let token = app.redeem(key["key"].as_str().unwrap()).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    json_ok(
        app.get(
            &format!("/api/v1/providers/{acme_id}/clients"),
            Some(&token),
        )
        .await,
        200,
    )
    .await;
    json_ok(
        app.patch(&item, Some(&admin), json!({ "status": "disabled" }))
            .await,
        200,
    )
    .await;
    assert_problem(
        app.get(
            &format!("/api/v1/providers/{acme_id}/clients"),
            Some(&token),
        )
        .await,
        401,
        "unauthenticated",
    )
    .await;
    assert_problem(
        app.post(&format!("{item}/temporary-keys"), Some(&admin), json!({}))
            .await,
        409,
        "conflict",
    )
    .await;
}

#[tokio::test]
async fn employees_refuse_bad_input() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let acme = app.create_provider(&admin, "acme").await;
    let acme_id = acme["id"].as_str().unwrap();
    let (employee, _) = staff(&app, &admin, "taken", json!(["support"]), Value::Null).await;
    let item = format!("/api/v1/employees/{}", employee["id"].as_str().unwrap());

    assert_problem(
        app.post(
            "/api/v1/employees",
            Some(&admin),
            json!({ "login": "Taken", "name": "T", "roles": ["dpo"] }),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    let body = assert_problem(
        app.post("/api/v1/employees", Some(&admin), json!({ "login": "a b", "name": "", "email": "x", "roles": [], "providers": [acme_id, NO_SUCH_ID] }))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        pointers(&body),
        ["/email", "/login", "/name", "/providers/1", "/roles"]
    );
    let body = assert_problem(
        app.post(
            "/api/v1/employees",
            Some(&admin),
            json!({ "login": "x1", "name": "X" }),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(pointers(&body), ["/roles"]);
    assert_problem(
        app.post(
            "/api/v1/employees",
            Some(&admin),
            json!({ "login": "x1", "name": "X", "roles": ["root"] }),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.post(
            "/api/v1/employees",
            Some(&admin),
            json!({ "login": "x1", "name": "X", "roles": "admin" }),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.post(
            "/api/v1/employees",
            Some(&admin),
            json!({ "login": "x1", "name": "X", "roles": ["dpo"], "providers": ["acme"] }),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_body_problems(&app, Method::POST, "/api/v1/employees", &admin).await;

    assert_problem(
        app.patch(&item, Some(&admin), json!({ "name": 3 })).await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.patch(&item, Some(&admin), json!({ "status": "asleep" }))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.patch(&item, Some(&admin), json!({ "email": "nope" }))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_body_problems(&app, Method::PATCH, &item, &admin).await;

    let roles = format!("{item}/roles");
    let body = assert_problem(
        app.put(&roles, Some(&admin), json!({ "roles": ["dpo"] }))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        pointers(&body),
        ["/providers"],
        "providers must be given, null for all"
    );
    let body = assert_problem(
        app.put(
            &roles,
            Some(&admin),
            json!({ "roles": [], "providers": [NO_SUCH_ID] }),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(pointers(&body), ["/providers/0", "/roles"]);
    assert_body_problems(&app, Method::PUT, &roles, &admin).await;
    assert_eq!(
        json_ok(app.get(&item, Some(&admin)).await, 200).await,
        employee,
        "nothing changed"
    );

    for path in [
        format!("/api/v1/employees/{NO_SUCH_ID}"),
        "/api/v1/employees/bad".to_owned(),
    ] {
        assert_problem(app.get(&path, Some(&admin)).await, 404, "not_found").await;
        assert_problem(
            app.patch(&path, Some(&admin), json!({ "name": "X" })).await,
            404,
            "not_found",
        )
        .await;
        assert_problem(
            app.put(
                &format!("{path}/roles"),
                Some(&admin),
                json!({ "roles": ["dpo"], "providers": null }),
            )
            .await,
            404,
            "not_found",
        )
        .await;
        assert_problem(
            app.post(&format!("{path}/temporary-keys"), Some(&admin), json!({}))
                .await,
            404,
            "not_found",
        )
        .await;
    }
}

#[tokio::test]
async fn employees_need_permissions_and_cannot_lock_themselves_out() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let acme = app.create_provider(&admin, "acme").await;
    let acme_id = acme["id"].as_str().unwrap();
    let (support_employee, support) =
        staff(&app, &admin, "support", json!(["support"]), Value::Null).await;
    let (_, dpo) = staff(&app, &admin, "dpo", json!(["dpo"]), Value::Null).await;
    let (_, limited_admin) = staff(
        &app,
        &admin,
        "local-admin",
        json!(["admin"]),
        json!([acme_id]),
    )
    .await;
    let item = format!(
        "/api/v1/employees/{}",
        support_employee["id"].as_str().unwrap()
    );
    let new = json!({ "login": "new", "name": "New", "roles": ["billing"] });

    assert_problem(
        app.get("/api/v1/employees", None).await,
        401,
        "unauthenticated",
    )
    .await;
    assert_problem(
        app.post("/api/v1/employees", None, new.clone()).await,
        401,
        "unauthenticated",
    )
    .await;
    assert_problem(app.get(&item, None).await, 401, "unauthenticated").await;
    assert_problem(
        app.patch(&item, None, json!({ "name": "X" })).await,
        401,
        "unauthenticated",
    )
    .await;
    assert_problem(
        app.put(
            &format!("{item}/roles"),
            None,
            json!({ "roles": ["dpo"], "providers": null }),
        )
        .await,
        401,
        "unauthenticated",
    )
    .await;
    assert_problem(
        app.post(&format!("{item}/temporary-keys"), None, json!({}))
            .await,
        401,
        "unauthenticated",
    )
    .await;

    // Support has no employee permission at all.
    assert_problem(
        app.get("/api/v1/employees", Some(&support)).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(app.get(&item, Some(&support)).await, 403, "forbidden").await;
    assert_problem(
        app.post("/api/v1/employees", Some(&support), new.clone())
            .await,
        403,
        "forbidden",
    )
    .await;
    // The DPO reads but does not write.
    json_ok(app.get("/api/v1/employees", Some(&dpo)).await, 200).await;
    json_ok(app.get(&item, Some(&dpo)).await, 200).await;
    assert_problem(
        app.post("/api/v1/employees", Some(&dpo), new.clone()).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.patch(&item, Some(&dpo), json!({ "name": "X" })).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.put(
            &format!("{item}/roles"),
            Some(&dpo),
            json!({ "roles": ["admin"], "providers": null }),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.post(&format!("{item}/temporary-keys"), Some(&dpo), json!({}))
            .await,
        403,
        "forbidden",
    )
    .await;
    // An admin limited to some providers cannot hand out access.
    json_ok(app.get(&item, Some(&limited_admin)).await, 200).await;
    assert_problem(
        app.post("/api/v1/employees", Some(&limited_admin), new.clone())
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.patch(&item, Some(&limited_admin), json!({ "name": "X" }))
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.put(
            &format!("{item}/roles"),
            Some(&limited_admin),
            json!({ "roles": ["admin"], "providers": null }),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.post(
            &format!("{item}/temporary-keys"),
            Some(&limited_admin),
            json!({}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;

    // Nobody disables themselves or takes away their own admin role or providers.
    let me = json_ok(
        app.get("/api/v1/employees?limit=1", Some(&admin)).await,
        200,
    )
    .await["items"][0]
        .clone();
    assert_eq!(me["roles"], json!(["admin"]));
    let mine = format!("/api/v1/employees/{}", me["id"].as_str().unwrap());
    let body = assert_problem(
        app.patch(&mine, Some(&admin), json!({ "status": "disabled" }))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(pointers(&body), ["/status"]);
    let body = assert_problem(
        app.put(
            &format!("{mine}/roles"),
            Some(&admin),
            json!({ "roles": ["support"], "providers": null }),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(pointers(&body), ["/roles"]);
    let body = assert_problem(
        app.put(
            &format!("{mine}/roles"),
            Some(&admin),
            json!({ "roles": ["admin"], "providers": [acme_id] }),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(pointers(&body), ["/providers"]);
    json_ok(
        app.put(
            &format!("{mine}/roles"),
            Some(&admin),
            json!({ "roles": ["admin", "dpo"], "providers": null }),
        )
        .await,
        200,
    )
    .await;
    json_ok(
        app.patch(&mine, Some(&admin), json!({ "name": "Still me" }))
            .await,
        200,
    )
    .await;
    json_ok(app.get("/api/v1/employees", Some(&admin)).await, 200).await;

    // Roles given through the API take effect: support made admin can now list employees.
    json_ok(
        app.put(
            &format!("{item}/roles"),
            Some(&admin),
            json!({ "roles": ["admin"], "providers": null }),
        )
        .await,
        200,
    )
    .await;
    json_ok(app.get("/api/v1/employees", Some(&support)).await, 200).await;
}

#[tokio::test]
async fn providers_are_created_listed_read_and_updated() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let created = app.create_provider(&admin, "acme").await;
    assert_eq!(created["slug"], "acme");
    assert_eq!(created["jurisdiction"], "DE");
    assert_eq!(created["status"], "active");
    let id = created["id"].as_str().unwrap();
    let read = json_ok(
        app.get(&format!("/api/v1/providers/{id}"), Some(&admin))
            .await,
        200,
    )
    .await;
    assert_eq!(read, created);

    let patched = json_ok(
        app.patch(
            &format!("/api/v1/providers/{id}"),
            Some(&admin),
            json!({ "name": "Acme Europe", "jurisdiction": "at" }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(patched["name"], "Acme Europe");
    assert_eq!(patched["jurisdiction"], "AT");
    assert_eq!(patched["slug"], "acme", "the slug stays");

    for slug in ["beta", "gamma"] {
        app.create_provider(&admin, slug).await;
    }
    let first = json_ok(
        app.get("/api/v1/providers?limit=2", Some(&admin)).await,
        200,
    )
    .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = json_ok(
        app.get(
            &format!("/api/v1/providers?limit=2&cursor={cursor}"),
            Some(&admin),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(rest["items"][0]["slug"], "gamma");
    assert!(rest["next_cursor"].is_null());

    // Suspending hides the provider's public login options.
    json_ok(
        app.patch(
            &format!("/api/v1/providers/{id}"),
            Some(&admin),
            json!({ "status": "suspended" }),
        )
        .await,
        200,
    )
    .await;
    assert_problem(
        app.get("/api/v1/providers/acme/login-options", None).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.get("/api/v1/providers/nobody/login-options", None)
            .await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn providers_refuse_bad_input() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let cases = [
        (json!({ "name": "A", "jurisdiction": "DE" }), vec!["/slug"]),
        (
            json!({ "slug": "acme", "jurisdiction": "DE" }),
            vec!["/name"],
        ),
        (
            json!({ "slug": 5, "name": "A", "jurisdiction": "DE" }),
            vec![""],
        ),
        (
            json!({ "slug": "Acme!", "name": "", "jurisdiction": "XX" }),
            vec!["/jurisdiction", "/name", "/slug"],
        ),
        (
            json!({ "slug": "acme", "name": "A", "jurisdiction": "DE", "id": "x" }),
            vec!["/id"],
        ),
    ];
    for (body, expected) in cases {
        let problem = assert_problem(
            app.post("/api/v1/providers", Some(&admin), body.clone())
                .await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(pointers(&problem), expected, "{body}");
    }
    assert_body_problems(&app, Method::POST, "/api/v1/providers", &admin).await;
    let created = app.create_provider(&admin, "acme").await;
    let duplicate = json!({ "slug": "acme", "name": "Other", "jurisdiction": "FR" });
    assert_problem(
        app.post("/api/v1/providers", Some(&admin), duplicate).await,
        409,
        "conflict",
    )
    .await;

    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/providers/{id}");
    assert_problem(
        app.patch(&path, Some(&admin), json!({ "jurisdiction": "Germany" }))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.patch(&path, Some(&admin), json!({ "status": "deleted" }))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.patch(&path, Some(&admin), json!({ "slug": "new" }))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_body_problems(&app, Method::PATCH, &path, &admin).await;
    assert_problem(
        app.patch(&path, Some(&admin), json!([null, null, "suspended"]))
            .await,
        422,
        "validation_failed",
    )
    .await;
    // A key's optional body is an object too.
    let client = create_client(&app, &admin, id, "Shop").await;
    let user = create_user(
        &app,
        &admin,
        client["id"].as_str().unwrap(),
        "k@example.com",
    )
    .await;
    let keys = format!(
        "/api/v1/users/{}/temporary-keys",
        user["id"].as_str().unwrap()
    );
    assert_problem(
        app.post(&keys, Some(&admin), json!([600])).await,
        422,
        "validation_failed",
    )
    .await;
    json_ok(app.post(&keys, Some(&admin), Value::Null).await, 201).await;
    assert_problem(
        app.get(&format!("/api/v1/providers/{NO_SUCH_ID}"), Some(&admin))
            .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.get("/api/v1/providers/not-a-uuid", Some(&admin)).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.patch(
            &format!("/api/v1/providers/{NO_SUCH_ID}"),
            Some(&admin),
            json!({}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.get("/api/v1/providers?limit=500", Some(&admin)).await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.get("/api/v1/providers?cursor=nope", Some(&admin)).await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.get("/api/v1/providers?limit=x", Some(&admin)).await,
        400,
        "bad_request",
    )
    .await;
}

#[tokio::test]
async fn providers_need_permissions_and_stay_within_scope() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let mine = app.create_provider(&admin, "mine").await;
    let theirs = app.create_provider(&admin, "theirs").await;
    let (mine_id, theirs_id) = (mine["id"].as_str().unwrap(), theirs["id"].as_str().unwrap());

    assert_problem(
        app.get("/api/v1/providers", None).await,
        401,
        "unauthenticated",
    )
    .await;
    assert_problem(
        app.get("/api/v1/providers", Some("not-a-token")).await,
        401,
        "unauthenticated",
    )
    .await;

    // support may read providers but not change them or their methods and policies.
    let (_, support) = staff(&app, &admin, "helpdesk", json!(["support"]), Value::Null).await;
    json_ok(
        app.get(&format!("/api/v1/providers/{theirs_id}"), Some(&support))
            .await,
        200,
    )
    .await;
    json_ok(
        app.get(
            &format!("/api/v1/providers/{theirs_id}/auth-methods"),
            Some(&support),
        )
        .await,
        200,
    )
    .await;
    let body = json!({ "slug": "x-prov", "name": "X", "jurisdiction": "DE" });
    assert_problem(
        app.post("/api/v1/providers", Some(&support), body.clone())
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.patch(
            &format!("/api/v1/providers/{theirs_id}"),
            Some(&support),
            json!({ "name": "Y" }),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let methods = json_ok(
        app.get(
            &format!("/api/v1/providers/{theirs_id}/auth-methods"),
            Some(&admin),
        )
        .await,
        200,
    )
    .await;
    assert_problem(
        app.put(
            &format!("/api/v1/providers/{theirs_id}/auth-methods"),
            Some(&support),
            methods.clone(),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let policies = json_ok(
        app.get(
            &format!("/api/v1/providers/{theirs_id}/policies"),
            Some(&admin),
        )
        .await,
        200,
    )
    .await;
    assert_problem(
        app.put(
            &format!("/api/v1/providers/{theirs_id}/policies"),
            Some(&support),
            policies.clone(),
        )
        .await,
        403,
        "forbidden",
    )
    .await;

    // An admin limited to one provider sees only it, and cannot create providers.
    let (_, limited) = staff(
        &app,
        &admin,
        "local-admin",
        json!(["admin"]),
        json!([mine_id]),
    )
    .await;
    let listed = json_ok(app.get("/api/v1/providers", Some(&limited)).await, 200).await;
    let slugs: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["mine"]);
    json_ok(
        app.get(&format!("/api/v1/providers/{mine_id}"), Some(&limited))
            .await,
        200,
    )
    .await;
    for path in [
        format!("/api/v1/providers/{theirs_id}"),
        format!("/api/v1/providers/{theirs_id}/auth-methods"),
        format!("/api/v1/providers/{theirs_id}/policies"),
    ] {
        assert_problem(app.get(&path, Some(&limited)).await, 404, "not_found").await;
    }
    assert_problem(
        app.put(
            &format!("/api/v1/providers/{theirs_id}/auth-methods"),
            Some(&limited),
            methods,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.put(
            &format!("/api/v1/providers/{theirs_id}/policies"),
            Some(&limited),
            policies,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.patch(
            &format!("/api/v1/providers/{theirs_id}"),
            Some(&limited),
            json!({ "name": "Y" }),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.post("/api/v1/providers", Some(&limited), body).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.get(
            &format!("/api/v1/auth-events?provider_id={theirs_id}"),
            Some(&limited),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    // A user is not staff at all.
    let client = create_client(&app, &admin, mine_id, "Example").await;
    let user = create_user(
        &app,
        &admin,
        client["id"].as_str().unwrap(),
        "u@example.com",
    )
    .await;
    let user_token = user_token(&app, &admin, user["id"].as_str().unwrap()).await;
    assert_problem(
        app.get("/api/v1/providers", Some(&user_token)).await,
        403,
        "forbidden",
    )
    .await;
    // A logout needs a session, not an API token.
    let token = json_ok(
        app.post(
            "/api/v1/me/api-tokens",
            Some(&admin),
            json!({ "name": "t", "scope": "full" }),
        )
        .await,
        201,
    )
    .await;
    assert_problem(
        app.post(
            "/api/v1/auth/logout",
            Some(token["secret"].as_str().unwrap()),
            json!({}),
        )
        .await,
        400,
        "bad_request",
    )
    .await;
}
