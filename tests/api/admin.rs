//! Administration of clients, users and employees, and one-time keys issued by staff.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const NO_SUCH_ID: &str = "0190a0a0-0000-7000-8000-000000000000";

/// The operations on a collection and on one of its items, for tables of who may do what.
struct Ops {
    list: Call,
    create: Call,
    read: Call,
    update: Call,
    /// Further writes on the item: its keys, its roles.
    more: Vec<Call>,
}

impl Ops {
    fn clients(provider_id: &str, client_id: &str) -> Self {
        let collection = format!("/api/v1/providers/{provider_id}/clients");
        let item = format!("/api/v1/clients/{client_id}");
        Self {
            list: Call::get(&collection),
            create: Call::post(&collection, json!({ "name": "x" })),
            read: Call::get(&item),
            update: Call::patch(&item, json!({ "name": "x" })),
            more: vec![],
        }
    }

    fn users(client_id: &str, user_id: &str) -> Self {
        let collection = format!("/api/v1/clients/{client_id}/users");
        let item = format!("/api/v1/users/{user_id}");
        Self {
            list: Call::get(&collection),
            create: Call::post(
                &collection,
                json!({ "email": "n@example.com", "name": "N" }),
            ),
            read: Call::get(&item),
            update: Call::patch(&item, json!({ "name": "N" })),
            more: vec![Call::post(format!("{item}/temporary-keys"), json!({}))],
        }
    }

    fn employees(employee_id: &str) -> Self {
        let item = format!("/api/v1/employees/{employee_id}");
        Self {
            list: Call::get("/api/v1/employees"),
            create: Call::post(
                "/api/v1/employees",
                json!({ "login": "new", "name": "New", "roles": ["billing"] }),
            ),
            read: Call::get(&item),
            update: Call::patch(&item, json!({ "name": "X" })),
            more: vec![
                Call::put(
                    format!("{item}/roles"),
                    json!({ "roles": ["admin"], "providers": null }),
                ),
                Call::post(format!("{item}/temporary-keys"), json!({})),
            ],
        }
    }

    fn reads(&self) -> Vec<&Call> {
        vec![&self.list, &self.read]
    }

    fn writes(&self) -> Vec<&Call> {
        [&self.create, &self.update]
            .into_iter()
            .chain(&self.more)
            .collect()
    }

    fn all(&self) -> Vec<&Call> {
        [self.reads(), self.writes()].concat()
    }

    /// Those that name the item.
    fn on_item(&self) -> Vec<&Call> {
        [&self.read, &self.update]
            .into_iter()
            .chain(&self.more)
            .collect()
    }
}

fn sizes(pages: &[Vec<Value>]) -> Vec<usize> {
    pages.iter().map(Vec::len).collect()
}

#[tokio::test]
async fn clients_are_created_listed_read_and_updated() {
    let (app, admin, [provider]) = TestApp::with_providers(["acme"]).await;
    let pid = provider.id.as_str();
    let first = app.create_client(&admin, pid, "  First Shop ").await;
    assert_eq!(first["name"], "First Shop");
    assert_eq!(first["status"], "active");
    assert_eq!(first["provider_id"], pid);
    app.create_client(&admin, pid, "Second").await;
    app.create_client(&admin, pid, "Third").await;

    let pages = app
        .pages(&admin, &format!("/api/v1/providers/{pid}/clients?limit=2"))
        .await;
    assert_eq!(sizes(&pages), [2, 1]);
    assert_eq!(pages[0][0], first.json);
    assert_eq!(pages[1][0]["name"], "Third");

    let item = format!("/api/v1/clients/{}", first.id);
    assert_eq!(
        json_ok(app.get(&item, Some(&admin)).await, 200).await,
        first.json
    );
    let updated = json_ok(
        app.patch(&item, Some(&admin), json!({ "name": "Renamed" }))
            .await,
        200,
    )
    .await;
    assert_eq!(updated["name"], "Renamed");
    assert_eq!(updated["status"], "active");
    let updated = app.set_status(&admin, &item, "disabled").await;
    assert_eq!(updated["status"], "disabled");
    assert_eq!(updated["name"], "Renamed");
    let read = json_ok(app.get(&item, Some(&admin)).await, 200).await;
    assert_eq!(read["status"], "disabled");
}

#[tokio::test]
async fn clients_refuse_bad_input() {
    let (app, admin, [provider]) = TestApp::with_providers(["acme"]).await;
    let collection = format!("/api/v1/providers/{}/clients", provider.id);
    let create = |body| Call::post(&collection, body);
    app.assert_invalid(
        Some(&admin),
        &[
            (create(json!({})), &["/name"]),
            (create(json!({ "name": 5 })), &["/name"]),
            (create(json!({ "name": "   " })), &["/name"]),
            (create(json!({ "name": "x", "extra": 1 })), &["/extra"]),
        ],
    )
    .await;
    app.assert_bad_bodies(Some(&admin), Method::POST, &collection)
        .await;
    app.assert_problems(
        Some(&admin),
        422,
        "validation_failed",
        &[
            Call::get(format!("{collection}?limit=0")),
            Call::get(format!("{collection}?cursor=zzz")),
        ],
    )
    .await;

    let client = app.create_client(&admin, &provider.id, "Shop").await;
    let item = format!("/api/v1/clients/{}", client.id);
    let update = |body| Call::patch(&item, body);
    app.assert_invalid(
        Some(&admin),
        &[
            (update(json!({ "status": "deleted" })), &["/status"]),
            (update(json!({ "name": "" })), &["/name"]),
            (update(json!({ "name": [] })), &["/name"]),
        ],
    )
    .await;
    app.assert_bad_bodies(Some(&admin), Method::PATCH, &item)
        .await;
    for (provider_id, client_id) in [(NO_SUCH_ID, NO_SUCH_ID), ("not-a-uuid", "nope")] {
        let missing = Ops::clients(provider_id, client_id);
        app.assert_problems(Some(&admin), 404, "not_found", missing.all())
            .await;
    }
}

#[tokio::test]
async fn clients_need_permissions_and_a_visible_provider() {
    let (app, admin, [acme, other]) = TestApp::with_providers(["acme", "other"]).await;
    let acme_client = app.create_client(&admin, &acme.id, "Acme shop").await;
    let other_client = app.create_client(&admin, &other.id, "Other shop").await;
    let on_acme = Ops::clients(&acme.id, &acme_client.id);
    let on_other = Ops::clients(&other.id, &other_client.id);

    for token in [None, Some("not-a-token")] {
        app.assert_problems(token, 401, "unauthenticated", on_acme.all())
            .await;
    }

    // The DPO reads but does not write.
    let dpo = app
        .create_employee(&admin, "dpo", &["dpo"], None)
        .await
        .token;
    app.assert_statuses(Some(&dpo), 200, on_acme.reads()).await;
    app.assert_problems(Some(&dpo), 403, "forbidden", on_acme.writes())
        .await;

    // Billing staff limited to acme: other's clients do not exist for them.
    let billing = app
        .create_employee(&admin, "billing", &["billing"], Some(&[acme.id.as_str()]))
        .await
        .token;
    app.create_client(&billing, &acme.id, "By billing").await;
    json_ok(
        app.patch(
            &on_acme.update.path,
            Some(&billing),
            json!({ "name": "Acme shop 2" }),
        )
        .await,
        200,
    )
    .await;
    let page = json_ok(app.get(&on_acme.list.path, Some(&billing)).await, 200).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    app.assert_problems(Some(&billing), 404, "not_found", on_other.all())
        .await;
    let unchanged = json_ok(app.get(&on_other.read.path, Some(&admin)).await, 200).await;
    assert_eq!(unchanged["name"], "Other shop");
}

#[tokio::test]
async fn users_are_created_listed_read_and_updated() {
    let (app, admin, [provider]) = TestApp::with_providers(["acme"]).await;
    let client = app.create_client(&admin, &provider.id, "Shop").await;
    let cid = client.id.as_str();
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
    assert_eq!(user["provider_id"], provider.id.as_str());
    assert_eq!(user["client_id"], cid);
    assert_eq!(user["status"], "active");
    assert_eq!(user["has_password"], false);
    for field in ["id", "name", "created_at", "updated_at"] {
        assert!(user[field].is_string(), "{field}: {user}");
    }
    let second = app.create_user(&admin, cid, "bob@example.com").await;
    assert!(second["phone"].is_null());

    let pages = app
        .pages(&admin, &format!("/api/v1/clients/{cid}/users?limit=1"))
        .await;
    assert_eq!(sizes(&pages), [1, 1]);
    assert_eq!(pages[0][0]["id"], user["id"]);
    assert_eq!(pages[1][0]["id"], second["id"]);

    let item = format!("/api/v1/users/{}", user["id"].as_str().unwrap());
    assert_eq!(json_ok(app.get(&item, Some(&admin)).await, 200).await, user);
    let update = async |body: Value| json_ok(app.patch(&item, Some(&admin), body).await, 200).await;
    let updated = update(json!({ "name": "Anna S.", "email": "anna.s@example.com" })).await;
    assert_eq!(updated["name"], "Anna S.");
    assert_eq!(updated["email"], "anna.s@example.com");
    assert_eq!(
        updated["phone"], "+493012345678",
        "a phone left out is kept"
    );
    let updated = update(json!({ "phone": null })).await;
    assert!(updated["phone"].is_null(), "null removes the phone");
    let updated = update(json!({ "phone": "+14155550100" })).await;
    assert_eq!(updated["phone"], "+14155550100");
    let updated = update(json!({ "status": "disabled" })).await;
    assert_eq!(updated["status"], "disabled");
    let updated = update(json!({ "status": "active" })).await;
    assert_eq!(updated["status"], "active");
}

#[tokio::test]
async fn users_refuse_bad_input_and_duplicate_emails() {
    let (app, admin, [acme, other]) = TestApp::with_providers(["acme", "other"]).await;
    let client = app.create_client(&admin, &acme.id, "Shop").await;
    let second_client = app.create_client(&admin, &acme.id, "Shop 2").await;
    let other_client = app.create_client(&admin, &other.id, "Other").await;
    let collection = format!("/api/v1/clients/{}/users", client.id);
    let anna = app
        .create_user(&admin, &client.id, "anna@example.com")
        .await;
    let bob = app.create_user(&admin, &client.id, "bob@example.com").await;

    // Unique per provider, whatever the case, across the provider's clients; another
    // provider may have the same address.
    app.create_user(&admin, &other_client.id, "anna@example.com")
        .await;
    app.assert_problems(
        Some(&admin),
        409,
        "conflict",
        &[
            Call::post(
                &collection,
                json!({ "email": "ANNA@example.com", "name": "A" }),
            ),
            Call::post(
                format!("/api/v1/clients/{}/users", second_client.id),
                json!({ "email": "anna@example.com", "name": "A" }),
            ),
            Call::patch(
                format!("/api/v1/users/{}", bob.id),
                json!({ "email": "anna@example.com" }),
            ),
        ],
    )
    .await;

    // Every bad field at once.
    let create = |body| Call::post(&collection, body);
    app.assert_invalid(
        Some(&admin),
        &[
            (
                create(json!({ "email": "not-an-email", "name": " ", "phone": "12" })),
                &["/email", "/name", "/phone"],
            ),
            (create(json!({ "name": "A" })), &["/email"]),
            (create(json!({ "email": 1, "name": "A" })), &["/email"]),
            (
                create(json!({ "email": "c@example.com", "name": "A", "phone": 49 })),
                &["/phone"],
            ),
        ],
    )
    .await;
    app.assert_bad_bodies(Some(&admin), Method::POST, &collection)
        .await;

    let anna_item = format!("/api/v1/users/{}", anna.id);
    let update = |body| Call::patch(&anna_item, body);
    app.assert_invalid(
        Some(&admin),
        &[
            (
                update(json!({ "email": "x", "phone": "nope" })),
                &["/email", "/phone"],
            ),
            (update(json!({ "status": "gone" })), &["/status"]),
        ],
    )
    .await;
    app.assert_bad_bodies(Some(&admin), Method::PATCH, &anna_item)
        .await;
    let unchanged = json_ok(app.get(&anna_item, Some(&admin)).await, 200).await;
    assert_eq!(unchanged, anna.json);

    for id in [NO_SUCH_ID, "x"] {
        let missing = Ops::users(id, id);
        app.assert_problems(Some(&admin), 404, "not_found", missing.all())
            .await;
    }

    // A disabled client takes no new users.
    app.set_status(
        &admin,
        &format!("/api/v1/clients/{}", client.id),
        "disabled",
    )
    .await;
    let new = create(json!({ "email": "new@example.com", "name": "N" }));
    app.assert_problems(Some(&admin), 409, "conflict", [&new])
        .await;
}

#[tokio::test]
async fn users_need_permissions_and_a_visible_provider() {
    let (app, admin, [acme, other]) = TestApp::with_providers(["acme", "other"]).await;
    let (acme_client, acme_user) = app
        .client_with_user(&admin, &acme.id, "a@example.com")
        .await;
    let (other_client, other_user) = app
        .client_with_user(&admin, &other.id, "o@example.com")
        .await;
    let on_acme = Ops::users(&acme_client.id, &acme_user.id);
    let on_other = Ops::users(&other_client.id, &other_user.id);

    app.assert_problems(None, 401, "unauthenticated", on_acme.all())
        .await;

    // The DPO reads users but neither writes them nor issues keys.
    let dpo = app
        .create_employee(&admin, "dpo", &["dpo"], None)
        .await
        .token;
    let reads = [on_acme.reads(), on_other.reads()].concat();
    app.assert_statuses(Some(&dpo), 200, reads).await;
    app.assert_problems(Some(&dpo), 403, "forbidden", on_acme.writes())
        .await;
    // Billing staff read users but neither write them nor issue keys.
    let billing = app
        .create_employee(&admin, "billing", &["billing"], None)
        .await
        .token;
    app.assert_problems(Some(&billing), 403, "forbidden", on_acme.writes())
        .await;

    // Support limited to acme: other's users and clients do not exist for them.
    let support = app
        .create_employee(&admin, "support", &["support"], Some(&[acme.id.as_str()]))
        .await
        .token;
    app.assert_statuses(Some(&support), 200, on_acme.reads())
        .await;
    app.assert_statuses(Some(&support), 201, [&on_acme.create])
        .await;
    app.assert_statuses(Some(&support), 200, [&on_acme.update])
        .await;
    app.assert_statuses(Some(&support), 201, &on_acme.more)
        .await;
    app.assert_problems(Some(&support), 404, "not_found", on_other.all())
        .await;
    // ... nor may support issue keys for employees.
    let colleague = app.create_employee(&admin, "dpo2", &["dpo"], None).await;
    let path = format!("/api/v1/employees/{}/temporary-keys", colleague.employee.id);
    assert_problem(
        app.post(&path, Some(&support), json!({})).await,
        403,
        "forbidden",
    )
    .await;

    // A user is no employee.
    let user = app.user_token(&admin, &acme_user.id).await;
    app.assert_problems(
        Some(&user),
        403,
        "forbidden",
        [&on_acme.read, &Call::get("/api/v1/employees")],
    )
    .await;
}

#[tokio::test]
async fn user_keys_redeem_once_and_disabling_revokes_at_once() {
    let (app, admin, [provider]) = TestApp::with_providers(["acme"]).await;
    let (client, user) = app
        .client_with_user(&admin, &provider.id, "anna@example.com")
        .await;
    let keys = format!("/api/v1/users/{}/temporary-keys", user.id);
    let minutes_left = |issued: &Value| {
        let expires =
            chrono::DateTime::parse_from_rfc3339(issued["expires_at"].as_str().unwrap()).unwrap();
        (expires.with_timezone(&chrono::Utc) - app.now()).num_minutes()
    };

    // No body at all, a custom lifetime, and the bounds of it.
    let response = app
        .request(&Call::new(Method::POST, &keys), Some(&admin))
        .await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    let issued = json_ok(response, 201).await;
    let key = issued["key"].as_str().unwrap().to_owned();
    let minutes = minutes_left(&issued);
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
    let minutes = minutes_left(&issued);
    assert!(
        (58..=60).contains(&minutes),
        "custom lifetime: {minutes} min"
    );
    let issue = |body| Call::post(&keys, body);
    app.assert_invalid(
        Some(&admin),
        &[
            (issue(json!({ "ttl_seconds": 59 })), &["/ttl_seconds"]),
            (issue(json!({ "ttl_seconds": 86_401 })), &["/ttl_seconds"]),
            (issue(json!({ "ttl_seconds": -5 })), &["/ttl_seconds"]),
            (issue(json!({ "ttl_seconds": "60" })), &["/ttl_seconds"]),
            (issue(json!({ "ttl": 60 })), &["/ttl"]),
        ],
    )
    .await;
    app.assert_bad_bodies(Some(&admin), Method::POST, &keys)
        .await;
    let null = Call::new(Method::POST, &keys).raw("application/json", "null");
    app.assert_statuses(Some(&admin), 201, [&null]).await;

    // The key signs the user in, once.
    let first = access(&app.redeem(&key).await).to_owned();
    let response = app
        .post("/api/v1/auth/temporary-key", None, json!({ "key": key }))
        .await;
    assert_eq!(response.status(), 401, "a key works once");
    let second = app.user_token(&admin, &user.id).await;
    let item = format!("/api/v1/users/{}", user.id);
    // Signed in (a user, so forbidden here rather than unauthenticated).
    assert_problem(app.get(&item, Some(&first)).await, 403, "forbidden").await;

    let logout = Call::new(Method::POST, "/api/v1/auth/logout");
    app.set_status(&admin, &item, "disabled").await;
    assert_problem(app.get(&item, Some(&first)).await, 401, "unauthenticated").await;
    app.assert_problems(Some(&second), 401, "unauthenticated", [&logout])
        .await;
    assert_problem(
        app.post(&keys, Some(&admin), json!({})).await,
        409,
        "conflict",
    )
    .await;

    // Enabled again, but a disabled client refuses keys and revokes its users' sessions.
    app.set_status(&admin, &item, "active").await;
    let third = app.user_token(&admin, &user.id).await;
    let client = format!("/api/v1/clients/{}", client.id);
    app.set_status(&admin, &client, "disabled").await;
    app.assert_problems(Some(&third), 401, "unauthenticated", [&logout])
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
    let (app, admin, [acme]) = TestApp::with_providers(["acme"]).await;
    let acme_id = acme.id.as_str();
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

    let pages = app.pages(&admin, "/api/v1/employees?limit=2").await;
    assert_eq!(sizes(&pages), [2, 1], "the bootstrap admin and j.doe; ops");
    assert_eq!(pages[0][1]["id"], created["id"]);
    assert_eq!(pages[1][0]["id"], all["id"]);

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

    let set_roles = async |body: Value| {
        json_ok(
            app.put(&format!("{item}/roles"), Some(&admin), body).await,
            200,
        )
        .await
    };
    let updated = set_roles(json!({ "roles": ["billing"], "providers": null })).await;
    assert_eq!(updated["roles"], json!(["billing"]));
    assert!(updated["providers"].is_null());
    let updated = set_roles(json!({ "roles": ["admin"], "providers": [acme_id, acme_id] })).await;
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
    let token = access(&app.redeem(key["key"].as_str().unwrap()).await).to_owned();
    app.enroll_totp(&token).await;
    let clients = format!("/api/v1/providers/{acme_id}/clients");
    json_ok(app.get(&clients, Some(&token)).await, 200).await;
    app.set_status(&admin, &item, "disabled").await;
    assert_problem(
        app.get(&clients, Some(&token)).await,
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
    let (app, admin, [acme]) = TestApp::with_providers(["acme"]).await;
    let employee = app
        .create_employee(&admin, "taken", &["support"], None)
        .await
        .employee;
    let item = format!("/api/v1/employees/{}", employee.id);

    let create = |body| Call::post("/api/v1/employees", body);
    let taken = create(json!({ "login": "Taken", "name": "T", "roles": ["dpo"] }));
    app.assert_problems(Some(&admin), 409, "conflict", [&taken])
        .await;
    app.assert_invalid(
        Some(&admin),
        &[
            (
                create(
                    json!({ "login": "a b", "name": "", "email": "x", "roles": [], "providers": [acme.id, NO_SUCH_ID] }),
                ),
                &["/email", "/login", "/name", "/providers/1", "/roles"],
            ),
            (create(json!({ "login": "x1", "name": "X" })), &["/roles"]),
            (
                create(json!({ "login": "x1", "name": "X", "roles": ["root"] })),
                &["/roles/0"],
            ),
            (
                create(json!({ "login": "x1", "name": "X", "roles": "admin" })),
                &["/roles"],
            ),
            (
                create(json!({ "login": "x1", "name": "X", "roles": ["dpo"], "providers": ["acme"] })),
                &["/providers/0"],
            ),
        ],
    )
    .await;
    app.assert_bad_bodies(Some(&admin), Method::POST, "/api/v1/employees")
        .await;

    let update = |body| Call::patch(&item, body);
    app.assert_invalid(
        Some(&admin),
        &[
            (update(json!({ "name": 3 })), &["/name"]),
            (update(json!({ "status": "asleep" })), &["/status"]),
            (update(json!({ "email": "nope" })), &["/email"]),
        ],
    )
    .await;
    app.assert_bad_bodies(Some(&admin), Method::PATCH, &item)
        .await;

    let roles = format!("{item}/roles");
    let set_roles = |body| Call::put(&roles, body);
    app.assert_invalid(
        Some(&admin),
        &[
            // The providers must be given: null for all.
            (set_roles(json!({ "roles": ["dpo"] })), &["/providers"]),
            (
                set_roles(json!({ "roles": [], "providers": [NO_SUCH_ID] })),
                &["/providers/0", "/roles"],
            ),
        ],
    )
    .await;
    app.assert_bad_bodies(Some(&admin), Method::PUT, &roles)
        .await;
    assert_eq!(
        json_ok(app.get(&item, Some(&admin)).await, 200).await,
        employee.json,
        "nothing changed"
    );

    for id in [NO_SUCH_ID, "bad"] {
        let missing = Ops::employees(id);
        app.assert_problems(Some(&admin), 404, "not_found", missing.on_item())
            .await;
    }
}

#[tokio::test]
async fn employees_need_permissions_and_cannot_lock_themselves_out() {
    let (app, admin, [acme]) = TestApp::with_providers(["acme"]).await;
    let support = app
        .create_employee(&admin, "support", &["support"], None)
        .await;
    let dpo = app
        .create_employee(&admin, "dpo", &["dpo"], None)
        .await
        .token;
    let limited_admin = app
        .create_employee(&admin, "local-admin", &["admin"], Some(&[acme.id.as_str()]))
        .await
        .token;
    let on_support = Ops::employees(&support.employee.id);

    app.assert_problems(None, 401, "unauthenticated", on_support.all())
        .await;
    // Support has no employee permission at all.
    app.assert_problems(Some(&support.token), 403, "forbidden", on_support.all())
        .await;
    // The DPO reads but does not write.
    app.assert_statuses(Some(&dpo), 200, on_support.reads())
        .await;
    app.assert_problems(Some(&dpo), 403, "forbidden", on_support.writes())
        .await;
    // An admin limited to some providers cannot hand out access.
    app.assert_statuses(Some(&limited_admin), 200, on_support.reads())
        .await;
    app.assert_problems(Some(&limited_admin), 403, "forbidden", on_support.writes())
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
    let my_roles = |body| Call::put(format!("{mine}/roles"), body);
    app.assert_invalid(
        Some(&admin),
        &[
            (
                Call::patch(&mine, json!({ "status": "disabled" })),
                &["/status"],
            ),
            (
                my_roles(json!({ "roles": ["support"], "providers": null })),
                &["/roles"],
            ),
            (
                my_roles(json!({ "roles": ["admin"], "providers": [acme.id] })),
                &["/providers"],
            ),
        ],
    )
    .await;
    app.assert_statuses(
        Some(&admin),
        200,
        &[
            my_roles(json!({ "roles": ["admin", "dpo"], "providers": null })),
            Call::patch(&mine, json!({ "name": "Still me" })),
            Call::get("/api/v1/employees"),
        ],
    )
    .await;

    // Roles given through the API take effect: support made admin can now list employees.
    let make_admin = json!({ "roles": ["admin"], "providers": null });
    let path = format!("/api/v1/employees/{}/roles", support.employee.id);
    json_ok(app.put(&path, Some(&admin), make_admin).await, 200).await;
    json_ok(
        app.get("/api/v1/employees", Some(&support.token)).await,
        200,
    )
    .await;
}

#[tokio::test]
async fn providers_are_created_listed_read_and_updated() {
    let (app, admin, [created]) = TestApp::with_providers(["acme"]).await;
    assert_eq!(created["slug"], "acme");
    assert_eq!(created["jurisdiction"], "DE");
    assert_eq!(created["status"], "active");
    let item = format!("/api/v1/providers/{}", created.id);
    assert_eq!(
        json_ok(app.get(&item, Some(&admin)).await, 200).await,
        created.json
    );

    let patched = json_ok(
        app.patch(
            &item,
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
    let pages = app.pages(&admin, "/api/v1/providers?limit=2").await;
    assert_eq!(sizes(&pages), [2, 1]);
    assert_eq!(pages[1][0]["slug"], "gamma");

    // Suspending hides the provider's public login options, with a code of its own: the
    // login page can say so instead of "no such provider".
    app.set_status(&admin, &item, "suspended").await;
    app.assert_problems(
        None,
        403,
        "provider_suspended",
        &[Call::get("/api/v1/providers/acme/login-options")],
    )
    .await;
    app.assert_problems(
        None,
        404,
        "not_found",
        &[Call::get("/api/v1/providers/nobody/login-options")],
    )
    .await;
    app.set_status(&admin, &item, "active").await;
    let options = Call::get("/api/v1/providers/acme/login-options");
    assert_eq!(app.request(&options, None).await.status(), 200);
}

#[tokio::test]
async fn providers_refuse_bad_input() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let create = |body| Call::post("/api/v1/providers", body);
    app.assert_invalid(
        Some(&admin),
        &[
            (
                create(json!({ "name": "A", "jurisdiction": "DE" })),
                &["/slug"],
            ),
            (
                create(json!({ "slug": "acme", "jurisdiction": "DE" })),
                &["/name"],
            ),
            (
                create(json!({ "slug": 5, "name": "A", "jurisdiction": "DE" })),
                &["/slug"],
            ),
            (
                create(json!({ "slug": "Acme!", "name": "", "jurisdiction": "XX" })),
                &["/jurisdiction", "/name", "/slug"],
            ),
            (
                create(json!({ "slug": "acme", "name": "A", "jurisdiction": "DE", "id": "x" })),
                &["/id"],
            ),
        ],
    )
    .await;
    app.assert_bad_bodies(Some(&admin), Method::POST, "/api/v1/providers")
        .await;
    let created = app.create_provider(&admin, "acme").await;
    let duplicate = create(json!({ "slug": "acme", "name": "Other", "jurisdiction": "FR" }));
    app.assert_problems(Some(&admin), 409, "conflict", [&duplicate])
        .await;

    let item = format!("/api/v1/providers/{}", created.id);
    let update = |body| Call::patch(&item, body);
    app.assert_invalid(
        Some(&admin),
        &[
            (
                update(json!({ "jurisdiction": "Germany" })),
                &["/jurisdiction"],
            ),
            (update(json!({ "status": "deleted" })), &["/status"]),
            (update(json!({ "slug": "new" })), &["/slug"]),
            (update(json!([null, null, "suspended"])), &[""]),
        ],
    )
    .await;
    app.assert_bad_bodies(Some(&admin), Method::PATCH, &item)
        .await;
    // A key's optional body is an object too.
    let (_, user) = app
        .client_with_user(&admin, &created.id, "k@example.com")
        .await;
    let keys = format!("/api/v1/users/{}/temporary-keys", user.id);
    app.assert_invalid(Some(&admin), &[(Call::post(&keys, json!([600])), &[""])])
        .await;
    json_ok(app.post(&keys, Some(&admin), Value::Null).await, 201).await;
    app.assert_problems(
        Some(&admin),
        404,
        "not_found",
        &[
            Call::get(format!("/api/v1/providers/{NO_SUCH_ID}")),
            Call::get("/api/v1/providers/not-a-uuid"),
            Call::patch(format!("/api/v1/providers/{NO_SUCH_ID}"), json!({})),
        ],
    )
    .await;
    app.assert_problems(
        Some(&admin),
        422,
        "validation_failed",
        &[
            Call::get("/api/v1/providers?limit=500"),
            Call::get("/api/v1/providers?cursor=nope"),
        ],
    )
    .await;
    // A value that does not parse is refused like one out of range, naming the parameter.
    app.assert_invalid(
        Some(&admin),
        &[
            (Call::get("/api/v1/providers?limit=x"), &["/query/limit"]),
            (Call::get("/api/v1/providers?limit=-1"), &["/query/limit"]),
            (
                Call::get("/api/v1/providers?limit=1&limit=2"),
                &["/query/limit"],
            ),
            (
                Call::get("/api/v1/providers?cursor=nope"),
                &["/query/cursor"],
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn providers_need_permissions_and_stay_within_scope() {
    let (app, admin, [mine, theirs]) = TestApp::with_providers(["mine", "theirs"]).await;
    let list = Call::get("/api/v1/providers");
    let create = Call::post(
        "/api/v1/providers",
        json!({ "slug": "x-prov", "name": "X", "jurisdiction": "DE" }),
    );
    let item = format!("/api/v1/providers/{}", theirs.id);
    let (methods, policies) = (format!("{item}/auth-methods"), format!("{item}/policies"));
    let reads = [Call::get(&item), Call::get(&methods), Call::get(&policies)];
    let writes = [
        Call::patch(&item, json!({ "name": "Y" })),
        Call::put(
            &methods,
            json_ok(app.get(&methods, Some(&admin)).await, 200).await,
        ),
        Call::put(
            &policies,
            json_ok(app.get(&policies, Some(&admin)).await, 200).await,
        ),
    ];

    for token in [None, Some("not-a-token")] {
        app.assert_problems(token, 401, "unauthenticated", [&list])
            .await;
    }

    // support may read providers but not change them or their methods and policies.
    let support = app
        .create_employee(&admin, "helpdesk", &["support"], None)
        .await
        .token;
    app.assert_statuses(Some(&support), 200, &reads[..2]).await;
    app.assert_problems(Some(&support), 403, "forbidden", [&create])
        .await;
    app.assert_problems(Some(&support), 403, "forbidden", &writes)
        .await;

    // An admin limited to one provider sees only it, and cannot create providers.
    let limited = app
        .create_employee(&admin, "local-admin", &["admin"], Some(&[mine.id.as_str()]))
        .await
        .token;
    let listed = json_ok(app.get("/api/v1/providers", Some(&limited)).await, 200).await;
    let slugs: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["mine"]);
    let mine_item = Call::get(format!("/api/v1/providers/{}", mine.id));
    app.assert_statuses(Some(&limited), 200, [&mine_item]).await;
    let their_log = Call::get(format!("/api/v1/auth-events?provider_id={}", theirs.id));
    app.assert_problems(
        Some(&limited),
        404,
        "not_found",
        reads.iter().chain(&writes).chain([&their_log]),
    )
    .await;
    app.assert_problems(Some(&limited), 403, "forbidden", [&create])
        .await;

    // A user is not staff at all.
    let (_, user) = app
        .client_with_user(&admin, &mine.id, "u@example.com")
        .await;
    let user_token = app.user_token(&admin, &user.id).await;
    app.assert_problems(Some(&user_token), 403, "forbidden", [&list])
        .await;
    // A logout needs a session, not an API token; a read-only token is refused any change
    // first (403, as the document says).
    for (scope, status, code) in [("full", 400, "bad_request"), ("read", 403, "forbidden")] {
        let token = app
            .create_api_token(&admin, json!({ "name": scope, "scope": scope }))
            .await;
        let secret = token["secret"].as_str().unwrap();
        let answer = app
            .post("/api/v1/auth/logout", Some(secret), json!({}))
            .await;
        assert_problem(answer, status, code).await;
    }
}
