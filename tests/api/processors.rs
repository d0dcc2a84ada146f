//! The register of processors: CRUD with ETags, the transfer rule's verdict in every answer,
//! permissions, bad input, and the refusal to turn on a method (or phone through a gateway)
//! whose processor fails the rule, fixed by recording a mechanism.

use serde_json::{Value, json};

use crate::helpers::{Call, TestApp, assert_problem, json_ok, pointers};

const PATH: &str = "/api/v1/processors";

fn processor(name: &str, country: &str, mechanism: &str) -> Value {
    json!({
        "name": name,
        "purpose": "Sign-in with Google",
        "country": country,
        "transfer_mechanism": mechanism,
        "dpa_signed_on": "2025-01-31",
        "auth_methods": ["google"],
        "sms_gateway_ids": []
    })
}

async fn create(app: &TestApp, admin: &str, body: Value) -> Value {
    json_ok(app.post(PATH, Some(admin), body).await, 201).await
}

pub(crate) fn form_of(read: &Value) -> Value {
    let mut form = read.clone();
    let object = form.as_object_mut().unwrap();
    for read_only in [
        "id",
        "transfer_allowed",
        "reason",
        "created_at",
        "updated_at",
    ] {
        object.remove(read_only);
    }
    form
}

#[tokio::test]
async fn processors_are_created_read_listed_updated_and_deleted() {
    let (app, admin, _) = TestApp::with_providers(["acme"]).await;
    let created = create(&app, &admin, processor("Google", "us", "dpf")).await;
    assert_eq!(created["name"], "Google");
    assert_eq!(created["country"], "US");
    assert_eq!(created["transfer_mechanism"], "dpf");
    assert_eq!(created["dpa_signed_on"], "2025-01-31");
    assert_eq!(created["auth_methods"], json!(["google"]));
    assert_eq!(created["transfer_allowed"], true);
    assert!(created["reason"].as_str().unwrap().contains("DPF"));
    let location = format!("{PATH}/{}", created["id"].as_str().unwrap());

    let read = app.get(&location, Some(&admin)).await;
    assert_eq!(read.headers()["etag"], "\"1\"");
    let read = json_ok(read, 200).await;
    assert_eq!(read, created);

    create(&app, &admin, processor("Acme SMS", "DE", "eea")).await;
    let list = json_ok(app.get(PATH, Some(&admin)).await, 200).await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Acme SMS", "Google"]);

    // Without a mechanism the United States fail the rule, and the answer says why.
    let mut form = form_of(&read);
    form["transfer_mechanism"] = json!("none");
    form["dpa_signed_on"] = Value::Null;
    let updated = app
        .request(
            &Call::put(&location, form.clone()).header("if-match", "\"1\""),
            Some(&admin),
        )
        .await;
    assert_eq!(updated.headers()["etag"], "\"2\"");
    let updated = json_ok(updated, 200).await;
    assert_eq!(updated["transfer_allowed"], false);
    assert!(updated["dpa_signed_on"].is_null());
    assert!(
        updated["reason"]
            .as_str()
            .unwrap()
            .contains("no transfer mechanism"),
        "{updated}"
    );
    // A stale If-Match is refused, and nothing changes.
    form["transfer_mechanism"] = json!("scc");
    let stale = app
        .request(
            &Call::put(&location, form).header("if-match", "\"1\""),
            Some(&admin),
        )
        .await;
    assert_problem(stale, 412, "precondition_failed").await;
    let read = json_ok(app.get(&location, Some(&admin)).await, 200).await;
    assert_eq!(read["transfer_mechanism"], "none");

    let deleted = app.delete(&location, Some(&admin)).await;
    assert_eq!(deleted.status(), 204);
    assert_problem(app.get(&location, Some(&admin)).await, 404, "not_found").await;
    assert_problem(app.delete(&location, Some(&admin)).await, 404, "not_found").await;
}

#[tokio::test]
async fn the_dpo_reads_the_register_and_only_admins_change_it() {
    let (app, admin, [provider]) = TestApp::with_providers(["acme"]).await;
    let created = create(&app, &admin, processor("Google", "US", "dpf")).await;
    let path = format!("{PATH}/{}", created["id"].as_str().unwrap());
    let reads = [Call::get(PATH), Call::get(&path)];
    let writes = [
        Call::post(PATH, processor("x", "DE", "eea")),
        Call::put(&path, processor("x", "DE", "eea")),
        Call::delete(&path),
    ];
    app.assert_problems(None, 401, "unauthenticated", reads.iter().chain(&writes))
        .await;
    for role in ["support", "billing"] {
        let staff = app.create_employee(&admin, role, &[role], None).await;
        app.assert_problems(
            Some(&staff.token),
            403,
            "forbidden",
            reads.iter().chain(&writes),
        )
        .await;
    }
    let dpo = app.create_employee(&admin, "dpo", &["dpo"], None).await;
    app.assert_statuses(Some(&dpo.token), 200, &reads).await;
    app.assert_problems(Some(&dpo.token), 403, "forbidden", &writes)
        .await;
    // An admin limited to one provider does not change the installation's register.
    let limited = app
        .create_employee(&admin, "limited", &["admin"], Some(&[provider.id.as_str()]))
        .await;
    app.assert_problems(Some(&limited.token), 403, "forbidden", &writes)
        .await;
    let (_, user) = app
        .client_with_user(&admin, &provider.id, "anna@example.com")
        .await;
    let user = app.user_token(&admin, &user.id).await;
    app.assert_problems(Some(&user), 403, "forbidden", reads.iter().chain(&writes))
        .await;
    // Nothing changed.
    assert_eq!(
        json_ok(app.get(&path, Some(&admin)).await, 200).await,
        created
    );
}

#[tokio::test]
async fn bad_processors_are_refused_with_pointers() {
    let (app, admin, _) = TestApp::with_providers(["acme"]).await;
    let tomorrow = (app.now() + chrono::Duration::days(1))
        .date_naive()
        .to_string();
    let with = |change: &dyn Fn(&mut Value)| {
        let mut body = processor("Google", "US", "dpf");
        change(&mut body);
        Call::post(PATH, body)
    };
    let cases: Vec<(Call, &[&str])> = vec![
        (with(&|b| b["name"] = json!("  ")), &["/name"]),
        (with(&|b| b["name"] = json!("x".repeat(201))), &["/name"]),
        (with(&|b| b["purpose"] = json!("")), &["/purpose"]),
        (with(&|b| b["country"] = json!("XX")), &["/country"]),
        (with(&|b| b["country"] = json!("USA")), &["/country"]),
        (
            with(&|b| b["transfer_mechanism"] = json!("SCC")),
            &["/transfer_mechanism"],
        ),
        (
            with(&|b| b["transfer_mechanism"] = json!("privacy_shield")),
            &["/transfer_mechanism"],
        ),
        (
            with(&|b| b["dpa_signed_on"] = json!("31.01.2025")),
            &["/dpa_signed_on"],
        ),
        (
            with(&|b| b["dpa_signed_on"] = json!(tomorrow.clone())),
            &["/dpa_signed_on"],
        ),
        (
            with(&|b| b["auth_methods"] = json!(["google", "passkey"])),
            &["/auth_methods/1"],
        ),
        (
            with(&|b| b["sms_gateway_ids"] = json!([uuid::Uuid::now_v7()])),
            &["/sms_gateway_ids/0"],
        ),
        (
            with(&|b| {
                b["name"] = json!("");
                b["country"] = json!("");
            }),
            &["/country", "/name"],
        ),
    ];
    app.assert_invalid(Some(&admin), &cases).await;
    app.assert_bad_bodies(Some(&admin), reqwest::Method::POST, PATH)
        .await;
    let unknown_field = Call::post(PATH, {
        let mut body = processor("Google", "US", "dpf");
        body["dpa"] = json!(true);
        body
    });
    let response = app.request(&unknown_field, Some(&admin)).await;
    assert!(response.status().is_client_error());
    // Nothing was stored.
    let list = json_ok(app.get(PATH, Some(&admin)).await, 200).await;
    assert_eq!(list["items"], json!([]));
    assert_problem(
        app.get(&format!("{PATH}/not-a-uuid"), Some(&admin)).await,
        404,
        "not_found",
    )
    .await;
}

fn methods_path(provider_id: &str) -> String {
    format!("/api/v1/providers/{provider_id}/auth-methods")
}

#[tokio::test]
async fn a_method_whose_processor_fails_the_rule_is_not_turned_on_until_a_mechanism_is_recorded() {
    let (app, admin, [acme]) = TestApp::with_providers(["acme"]).await;
    let google = create(&app, &admin, processor("Google LLC", "US", "none")).await;
    assert_eq!(google["transfer_allowed"], false);
    let google_path = format!("{PATH}/{}", google["id"].as_str().unwrap());
    let methods = json_ok(app.get(&methods_path(&acme.id), Some(&admin)).await, 200).await;
    let mut on = methods.clone();
    on["google"]["login"] = json!(true);
    on["google"]["registration"] = json!(true);
    // Google cannot be on without its client (issue 8).
    on["google"]["settings"]["client_id"] = json!("client-id");
    on["google"]["settings"]["client_secret"] = json!("client-secret");
    on["google"]["settings"]["redirect_uris"] = json!(["https://app.example/cb"]);

    let refused = app
        .put(&methods_path(&acme.id), Some(&admin), on.clone())
        .await;
    let problem = assert_problem(refused, 422, "validation_failed").await;
    assert_eq!(
        pointers(&problem),
        ["/google/login", "/google/registration"]
    );
    let text = problem.to_string();
    assert!(text.contains("Google LLC"), "{text}");
    assert!(text.contains("no transfer mechanism"), "{text}");
    let unchanged = json_ok(app.get(&methods_path(&acme.id), Some(&admin)).await, 200).await;
    assert_eq!(unchanged, methods);

    // Recording standard contractual clauses makes the transfer lawful.
    let fixed = app
        .update(&admin, &google_path, |read| {
            *read = form_of(read);
            read["transfer_mechanism"] = json!("scc");
        })
        .await;
    assert_eq!(fixed["transfer_allowed"], true);
    let saved = json_ok(
        app.put(&methods_path(&acme.id), Some(&admin), on.clone())
            .await,
        200,
    )
    .await;
    assert_eq!(saved["google"]["login"], true);

    // A switch already on is not refused again by an unrelated change.
    app.update(&admin, &google_path, |read| {
        *read = form_of(read);
        read["transfer_mechanism"] = json!("none");
    })
    .await;
    let mut password_off = on;
    password_off["password"]["registration"] = json!(false);
    json_ok(
        app.put(&methods_path(&acme.id), Some(&admin), password_off)
            .await,
        200,
    )
    .await;
}

#[tokio::test]
async fn phone_is_refused_through_a_gateway_whose_processor_fails_the_rule() {
    let (app, admin, [acme, other]) = TestApp::with_providers(["acme", "other"]).await;
    let gateway_form = |providers: Value| {
        json!({
            "name": "far",
            "kind": "http",
            "provider_ids": providers,
            "priority": 1,
            "resend_timeout_seconds": 60,
            "code_validity_seconds": 300,
            "templates": { "en": "Code {code}" },
            "http": { "method": "GET", "url": "http://127.0.0.1:9/send?to={phone}&text={message}" }
        })
    };
    let gateway = json_ok(
        app.post(
            "/api/v1/sms-gateways",
            Some(&admin),
            gateway_form(json!([acme.id])),
        )
        .await,
        201,
    )
    .await;
    let gateway_path = format!("/api/v1/sms-gateways/{}", gateway["id"].as_str().unwrap());
    let mut far = processor("Far SMS", "IN", "none");
    far["auth_methods"] = json!([]);
    far["sms_gateway_ids"] = json!([gateway["id"]]);
    let far = create(&app, &admin, far).await;
    assert_eq!(far["sms_gateway_ids"], json!([gateway["id"]]));

    let phone_on = |methods: &Value| {
        let mut on = methods.clone();
        on["phone"]["login"] = json!(true);
        on
    };
    let methods = json_ok(app.get(&methods_path(&acme.id), Some(&admin)).await, 200).await;
    let problem = assert_problem(
        app.put(&methods_path(&acme.id), Some(&admin), phone_on(&methods))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(pointers(&problem), ["/phone/login"]);
    assert!(problem.to_string().contains("Far SMS"), "{problem}");
    // The gateway does not serve the other provider: nothing is sent there.
    let methods = json_ok(app.get(&methods_path(&other.id), Some(&admin)).await, 200).await;
    json_ok(
        app.put(&methods_path(&other.id), Some(&admin), phone_on(&methods))
            .await,
        200,
    )
    .await;
    // Nor may the gateway start serving it while its processor fails the rule.
    for providers in [json!([acme.id, other.id]), Value::Null] {
        let problem = assert_problem(
            app.put(&gateway_path, Some(&admin), gateway_form(providers))
                .await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(pointers(&problem), ["/provider_ids"]);
        assert!(problem.to_string().contains("Far SMS"), "{problem}");
    }
    // Binding corporate rules recorded: allowed.
    app.update(
        &admin,
        &format!("{PATH}/{}", far["id"].as_str().unwrap()),
        |read| {
            *read = form_of(read);
            read["transfer_mechanism"] = json!("bcr");
        },
    )
    .await;
    let methods = json_ok(app.get(&methods_path(&acme.id), Some(&admin)).await, 200).await;
    json_ok(
        app.put(&methods_path(&acme.id), Some(&admin), phone_on(&methods))
            .await,
        200,
    )
    .await;
    json_ok(
        app.put(&gateway_path, Some(&admin), gateway_form(Value::Null))
            .await,
        200,
    )
    .await;
    // Removing the gateway removes it from the processor's entry.
    assert_eq!(app.delete(&gateway_path, Some(&admin)).await.status(), 204);
    let far_path = format!("{PATH}/{}", far["id"].as_str().unwrap());
    let far = json_ok(app.get(&far_path, Some(&admin)).await, 200).await;
    assert_eq!(far["sms_gateway_ids"], json!([]));
}

/// Google sign-in is tied to a Google processor by default: turning it on with none in the
/// register enters Google LLC (United States, EU-US DPF, no DPA date yet), once.
#[tokio::test]
async fn google_gets_its_processor_in_the_register_by_default() {
    let (app, admin, [acme, other]) = TestApp::with_providers(["acme", "other"]).await;
    let google_on = |m: &mut Value| {
        m["google"]["login"] = json!(true);
        m["google"]["settings"]["client_id"] = json!("client-id");
        m["google"]["settings"]["client_secret"] = json!("client-secret");
        m["google"]["settings"]["redirect_uris"] = json!(["https://app.example/cb"]);
    };
    let before = json_ok(app.get(PATH, Some(&admin)).await, 200).await;
    assert_eq!(before["items"], json!([]));
    app.update(&admin, &methods_path(&acme.id), google_on).await;
    app.update(&admin, &methods_path(&other.id), google_on)
        .await;
    let register = json_ok(app.get(PATH, Some(&admin)).await, 200).await;
    let items = register["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "entered once: {register}");
    let google = &items[0];
    assert_eq!(google["name"], "Google LLC");
    assert_eq!(google["country"], "US");
    assert_eq!(google["transfer_mechanism"], "dpf");
    assert_eq!(google["auth_methods"], json!(["google"]));
    assert_eq!(google["dpa_signed_on"], Value::Null);
    assert_eq!(google["transfer_allowed"], true);
    let report = json_ok(
        app.get(
            &format!("/api/v1/providers/{}/compliance-report", acme.id),
            Some(&admin),
        )
        .await,
        200,
    )
    .await;
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "processor_without_dpa"),
        "{report}"
    );
}
