//! SMS gateways against real HTTP servers on loopback (wiremock) standing in for them:
//! the exact request of each kind, failover on failure and on timeout, the circuit breaker,
//! credentials that never come back, permissions and bad input.

use std::time::Duration;

use api::outside::sms::{SmsError, SmsMessage};
use base64::Engine;
use domain::phone::PhoneNumber;
use serde_json::{Value, json};
use uuid::Uuid;
use wiremock::matchers::{body_json, body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{Call, TestApp, assert_problem, captured_log, json_ok, spawn_app};

const PHONE: &str = "+4915112345678";
const HTTP_TOKEN: &str = "Bearer http-secret-7f3a9c";
const HTTP_PASSWORD: &str = "pw-secret-51d0e2";
const TWILIO_TOKEN: &str = "twilio-secret-b84e61";

fn http_gateway(name: &str, priority: i32, server: &str) -> Value {
    json!({
        "name": name,
        "kind": "http",
        "priority": priority,
        "resend_timeout_seconds": 60,
        "code_validity_seconds": 300,
        "sender": "Hosting",
        "templates": { "en": "Your code is {code}", "de": "Ihr Code lautet {code}" },
        "http": {
            "method": "POST",
            "url": format!("{server}/send?to={{phone}}&pw={{password}}"),
            "body": "{\"to\":\"{phone}\",\"text\":\"{message}\",\"from\":\"{sender}\"}",
            "content_type": "application/json",
            "headers": { "X-Client": "billing-identity" },
            "success_statuses": [200, 202],
            "success_body_contains": "OK"
        },
        "credentials": {
            "password": HTTP_PASSWORD,
            "headers": { "Authorization": HTTP_TOKEN }
        }
    })
}

fn twilio_gateway(name: &str, priority: i32, server: &str) -> Value {
    json!({
        "name": name,
        "kind": "twilio",
        "priority": priority,
        "resend_timeout_seconds": 60,
        "code_validity_seconds": 600,
        "sender": "+15005550006",
        "templates": { "en": "Your code is {code}" },
        "twilio": { "base_url": server, "account_sid": "AC0123456789" },
        "credentials": { "auth_token": TWILIO_TOKEN }
    })
}

async fn create(app: &TestApp, admin: &str, body: Value) -> Value {
    json_ok(
        app.post("/api/v1/sms-gateways", Some(admin), body).await,
        201,
    )
    .await
}

fn code_message(provider: Option<Uuid>, language: Option<&str>) -> SmsMessage {
    SmsMessage {
        to: PhoneNumber::parse(PHONE).unwrap(),
        text: String::new(),
        sender: None,
        provider_id: provider,
        language: language.map(str::to_owned),
        code: Some("123456".into()),
    }
}

/// A plain HTTP gateway that answers `status`, after `delay`.
fn simple_gateway(name: &str, priority: i32, server: &str) -> Value {
    json!({
        "name": name,
        "kind": "http",
        "priority": priority,
        "resend_timeout_seconds": 60,
        "code_validity_seconds": 300,
        "templates": { "en": "Code {code}" },
        "http": { "method": "GET", "url": format!("{server}/{name}?to={{phone}}&text={{message}}") }
    })
}

async fn mount(server: &MockServer, name: &str, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(format!("/{name}")))
        .respond_with(response)
        .mount(server)
        .await;
}

fn hits(requests: &[wiremock::Request], name: &str) -> usize {
    requests
        .iter()
        .filter(|r| r.url.path() == format!("/{name}"))
        .count()
}

#[tokio::test]
async fn an_http_gateway_sends_the_templated_request() {
    let (app, admin, [provider]) = TestApp::with_providers(["acme"]).await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/send"))
        .and(query_param("to", PHONE))
        .and(query_param("pw", HTTP_PASSWORD))
        .and(header("authorization", HTTP_TOKEN))
        .and(header("x-client", "billing-identity"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "to": PHONE, "text": "Ihr Code lautet 123456", "from": "Hosting"
        })))
        .respond_with(ResponseTemplate::new(202).set_body_string("OK queued"))
        .expect(1)
        .mount(&server)
        .await;
    let mut body = http_gateway("main", 10, &server.uri());
    body["provider_ids"] = json!([provider.id]);
    create(&app, &admin, body).await;

    let provider_id = Uuid::parse_str(&provider.id).unwrap();
    let receipt = app
        .state
        .sms
        .send(code_message(Some(provider_id), Some("de-AT")))
        .await
        .expect("sent");
    assert_eq!(receipt.gateway, "main");
    // A provider the gateway does not serve has none.
    assert_eq!(
        app.state
            .sms
            .send(code_message(Some(Uuid::now_v7()), None))
            .await,
        Err(SmsError::NotConfigured)
    );
}

#[tokio::test]
async fn a_json_body_escapes_and_a_url_encodes_what_is_filled_in() {
    let (app, admin, _) = TestApp::with_providers(["acme"]).await;
    let server = MockServer::start().await;
    let sender = "A&B \"x\"";
    Mock::given(method("POST"))
        .and(path("/send"))
        .and(query_param("to", PHONE))
        .and(query_param("from", sender))
        .and(body_json(json!({
            "to": PHONE, "text": "Say \"hi\" & 000000\nbye", "from": sender
        })))
        .respond_with(ResponseTemplate::new(200).set_body_string("OK"))
        .expect(1)
        .mount(&server)
        .await;
    let mut body = http_gateway("main", 10, &server.uri());
    body["sender"] = json!(sender);
    body["templates"] = json!({ "en": "Say \"hi\" & {code}\nbye" });
    body["http"]["url"] = json!(format!(
        "{}/send?to={{phone}}&from={{sender}}",
        server.uri()
    ));
    let gateway = create(&app, &admin, body).await;
    let path = format!(
        "/api/v1/sms-gateways/{}/test",
        gateway["id"].as_str().unwrap()
    );
    let sent = json_ok(
        app.post(&path, Some(&admin), json!({ "phone": PHONE }))
            .await,
        200,
    )
    .await;
    assert_eq!(sent, json!({ "sent": true, "message_id": null }));
}

#[tokio::test]
async fn a_twilio_gateway_speaks_the_messages_api() {
    let (app, admin, _) = TestApp::with_providers(["acme"]).await;
    let server = MockServer::start().await;
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("AC0123456789:{TWILIO_TOKEN}"));
    Mock::given(method("POST"))
        .and(path("/2010-04-01/Accounts/AC0123456789/Messages.json"))
        .and(header("authorization", format!("Basic {basic}").as_str()))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(
            "To=%2B4915112345678&Body=Your+code+is+000000&From=%2B15005550006",
        ))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({ "sid": "SM42", "status": "queued" })),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2010-04-01/Accounts/AC0123456789/Messages.json"))
        .and(body_string(
            "To=%2B4915112345678&Body=Your+code+is+123456&MessagingServiceSid=MG99",
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "sid": "SM43" })))
        .expect(1)
        .mount(&server)
        .await;
    let gateway = create(&app, &admin, twilio_gateway("twilio", 1, &server.uri())).await;
    let id = gateway["id"].as_str().unwrap();
    let sent = json_ok(
        app.post(
            &format!("/api/v1/sms-gateways/{id}/test"),
            Some(&admin),
            json!({ "phone": PHONE }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(sent, json!({ "sent": true, "message_id": "SM42" }));

    // With a messaging service instead of a From number; the token stays when not sent.
    let path = format!("/api/v1/sms-gateways/{id}");
    app.update(&admin, &path, |form| {
        let form = form.as_object_mut().unwrap();
        for read_only in [
            "id",
            "credentials_set",
            "health",
            "created_at",
            "updated_at",
            "http",
        ] {
            form.remove(read_only);
        }
        form["twilio"]["messaging_service_sid"] = json!("MG99");
    })
    .await;
    let receipt = app.state.sms.send(code_message(None, None)).await.unwrap();
    assert_eq!(receipt.message_id.as_deref(), Some("SM43"));
}

#[tokio::test]
async fn a_failing_and_a_timing_out_gateway_fail_over_to_the_next() {
    let app = TestApp::builder()
        .settings(|s| s.sms_timeout = Duration::from_millis(300))
        .spawn()
        .await;
    let admin = app.admin_token().await;
    let server = MockServer::start().await;
    mount(&server, "broken", ResponseTemplate::new(500)).await;
    mount(
        &server,
        "slow",
        ResponseTemplate::new(200).set_delay(Duration::from_secs(3)),
    )
    .await;
    mount(&server, "good", ResponseTemplate::new(200)).await;
    // A port nobody listens on: the connection is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_uri = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    create(&app, &admin, simple_gateway("refused", 5, &closed_uri)).await;
    // Made out of order: the priority decides.
    let good = create(&app, &admin, simple_gateway("good", 30, &server.uri())).await;
    let broken = create(&app, &admin, simple_gateway("broken", 10, &server.uri())).await;
    create(&app, &admin, simple_gateway("slow", 20, &server.uri())).await;

    let list = json_ok(app.get("/api/v1/sms-gateways", Some(&admin)).await, 200).await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["refused", "broken", "slow", "good"]);

    let receipt = app.state.sms.send(code_message(None, None)).await.unwrap();
    assert_eq!(receipt.gateway, "good");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        (
            hits(&requests, "broken"),
            hits(&requests, "slow"),
            hits(&requests, "good")
        ),
        (1, 1, 1)
    );
    let good_request = requests.iter().find(|r| r.url.path() == "/good").unwrap();
    let query: Vec<(String, String)> = good_request.url.query_pairs().into_owned().collect();
    assert_eq!(
        query,
        [
            ("to".into(), PHONE.into()),
            ("text".into(), "Code 123456".into())
        ]
    );

    let health = |g: &Value| format!("/api/v1/sms-gateways/{}", g["id"].as_str().unwrap());
    let broken = json_ok(app.get(&health(&broken), Some(&admin)).await, 200).await;
    assert_eq!(broken["health"]["consecutive_failures"], 1);
    assert!(broken["health"]["last_failure_at"].is_string());
    assert!(broken["health"]["last_success_at"].is_null());
    assert_eq!(broken["health"]["circuit"], "closed");
    let good = json_ok(app.get(&health(&good), Some(&admin)).await, 200).await;
    assert!(good["health"]["last_success_at"].is_string());
    assert_eq!(good["health"]["consecutive_failures"], 0);

    // Every gateway failing is an error of its own.
    server.reset().await;
    mount(&server, "good", ResponseTemplate::new(503)).await;
    mount(&server, "broken", ResponseTemplate::new(503)).await;
    mount(&server, "slow", ResponseTemplate::new(503)).await;
    assert_eq!(
        app.state.sms.send(code_message(None, None)).await,
        Err(SmsError::AllGatewaysFailed)
    );
}

#[tokio::test]
async fn a_gateway_that_keeps_failing_is_skipped_for_a_while() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let server = MockServer::start().await;
    mount(&server, "broken", ResponseTemplate::new(500)).await;
    mount(&server, "good", ResponseTemplate::new(200)).await;
    let broken = create(&app, &admin, simple_gateway("broken", 1, &server.uri())).await;
    create(&app, &admin, simple_gateway("good", 2, &server.uri())).await;
    let path = format!("/api/v1/sms-gateways/{}", broken["id"].as_str().unwrap());

    for _ in 0..3 {
        let receipt = app.state.sms.send(code_message(None, None)).await.unwrap();
        assert_eq!(receipt.gateway, "good");
    }
    let read = json_ok(app.get(&path, Some(&admin)).await, 200).await;
    assert_eq!(read["health"]["circuit"], "open");
    assert_eq!(read["health"]["consecutive_failures"], 3);
    assert!(read["health"]["open_until"].is_string());

    // Open: the broken one is not even asked.
    app.state.sms.send(code_message(None, None)).await.unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!((hits(&requests, "broken"), hits(&requests, "good")), (3, 4));

    // After the pause it is tried again; it has recovered, and the breaker closes.
    app.advance(chrono::Duration::seconds(61));
    let read = json_ok(app.get(&path, Some(&admin)).await, 200).await;
    assert_eq!(read["health"]["circuit"], "closed");
    server.reset().await;
    mount(&server, "broken", ResponseTemplate::new(200)).await;
    let receipt = app.state.sms.send(code_message(None, None)).await.unwrap();
    assert_eq!(receipt.gateway, "broken");
    let read = json_ok(app.get(&path, Some(&admin)).await, 200).await;
    assert_eq!(read["health"]["consecutive_failures"], 0);
    assert_eq!(read["health"]["circuit"], "closed");
}

#[tokio::test]
async fn gateways_are_created_read_replaced_and_deleted() {
    let (app, admin, [provider]) = TestApp::with_providers(["acme"]).await;
    let server = MockServer::start().await;
    let mut body = http_gateway("main", 10, &server.uri());
    body["provider_ids"] = json!([provider.id]);
    let created = app.post("/api/v1/sms-gateways", Some(&admin), body).await;
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = created.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/sms-gateways/{}", created["id"].as_str().unwrap())
    );
    assert_eq!(created["kind"], "http");
    assert_eq!(created["provider_ids"], json!([provider.id]));
    assert_eq!(created["http"]["method"], "POST");
    assert!(created["twilio"].is_null());
    assert_eq!(
        created["credentials_set"],
        json!(["password", "headers.Authorization"])
    );
    assert_eq!(created["health"]["circuit"], "closed");

    let read = app.get(&location, Some(&admin)).await;
    assert_eq!(read.headers()["etag"], "\"1\"");
    let replaced = app
        .update(&admin, &location, |form| {
            let form = form.as_object_mut().unwrap();
            for read_only in [
                "id",
                "credentials_set",
                "health",
                "created_at",
                "updated_at",
                "twilio",
            ] {
                form.remove(read_only);
            }
            form["priority"] = json!(5);
            form["provider_ids"] = Value::Null;
        })
        .await;
    assert_eq!(replaced["priority"], 5);
    assert!(replaced["provider_ids"].is_null());
    assert_eq!(
        replaced["credentials_set"],
        json!(["password", "headers.Authorization"]),
        "credentials left out are kept"
    );
    // A stale If-Match is refused.
    let mut form = http_gateway("main", 10, &server.uri());
    form.as_object_mut().unwrap().remove("credentials");
    let stale = app
        .request(
            &Call::put(&location, form).header("if-match", "\"1\""),
            Some(&admin),
        )
        .await;
    assert_problem(stale, 412, "precondition_failed").await;

    let deleted = app.delete(&location, Some(&admin)).await;
    assert_eq!(deleted.status(), 204);
    assert_problem(app.get(&location, Some(&admin)).await, 404, "not_found").await;
    assert_problem(app.delete(&location, Some(&admin)).await, 404, "not_found").await;
    let list = json_ok(app.get("/api/v1/sms-gateways", Some(&admin)).await, 200).await;
    assert_eq!(list["items"], json!([]));
}

#[tokio::test]
async fn credentials_never_come_back_nor_reach_the_log() {
    let app = TestApp::builder()
        .settings(|s| s.sms_timeout = Duration::from_millis(300))
        .spawn()
        .await;
    let admin = app.admin_token().await;
    let server = MockServer::start().await;
    // The gateway echoes what it got, secrets included, in a failing answer.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_string(format!(
            "bad token {HTTP_TOKEN} {HTTP_PASSWORD} {TWILIO_TOKEN}"
        )))
        .mount(&server)
        .await;
    let http = create(&app, &admin, http_gateway("http", 1, &server.uri())).await;
    let twilio = create(&app, &admin, twilio_gateway("twilio", 2, &server.uri())).await;
    let mut bodies = vec![http.to_string(), twilio.to_string()];
    for gateway in [&http, &twilio] {
        let path = format!("/api/v1/sms-gateways/{}", gateway["id"].as_str().unwrap());
        bodies.push(app.get(&path, Some(&admin)).await.text().await.unwrap());
        let failed = app
            .post(
                &format!("{path}/test"),
                Some(&admin),
                json!({ "phone": PHONE }),
            )
            .await;
        let problem = assert_problem(failed, 502, "sms_gateway_failed").await;
        assert_eq!(
            problem["detail"],
            "the SMS gateway failed: the gateway answered 401"
        );
        bodies.push(problem.to_string());
    }
    bodies.push(
        app.get("/api/v1/sms-gateways", Some(&admin))
            .await
            .text()
            .await
            .unwrap(),
    );
    // A refused form that carries secrets does not echo them either.
    let mut bad = http_gateway("", 1, "ftp://x");
    bad["credentials"]["auth_token"] = json!(TWILIO_TOKEN);
    let refused = app.post("/api/v1/sms-gateways", Some(&admin), bad).await;
    bodies.push(
        assert_problem(refused, 422, "validation_failed")
            .await
            .to_string(),
    );
    let wrong_type =
        json!({ "name": "x", "credentials": { "password": 42, "auth_token": [TWILIO_TOKEN] } });
    let refused = app
        .post("/api/v1/sms-gateways", Some(&admin), wrong_type)
        .await;
    bodies.push(refused.text().await.unwrap());
    assert_eq!(
        app.state.sms.send(code_message(None, None)).await,
        Err(SmsError::AllGatewaysFailed)
    );

    let log = captured_log();
    assert!(log.contains("sms attempt"), "each attempt is logged");
    assert!(log.contains("outcome=failed status=401"), "{log}");
    for secret in [
        HTTP_TOKEN,
        "http-secret-7f3a9c",
        HTTP_PASSWORD,
        TWILIO_TOKEN,
    ] {
        for body in &bodies {
            assert!(!body.contains(secret), "{secret} in {body}");
        }
        assert!(!log.contains(secret), "{secret} in the log");
    }
    assert!(!log.contains("123456"), "the code stays out of the log");
    assert!(
        !log.contains("15112345678"),
        "the number stays out of the log"
    );
}

#[tokio::test]
async fn only_admins_manage_gateways() {
    let (app, admin, [provider]) = TestApp::with_providers(["acme"]).await;
    let server = MockServer::start().await;
    let gateway = create(&app, &admin, http_gateway("main", 1, &server.uri())).await;
    let path = format!("/api/v1/sms-gateways/{}", gateway["id"].as_str().unwrap());
    let calls = [
        Call::get("/api/v1/sms-gateways"),
        Call::post("/api/v1/sms-gateways", http_gateway("x", 1, &server.uri())),
        Call::get(&path),
        Call::put(&path, http_gateway("x", 1, &server.uri())),
        Call::delete(&path),
        Call::post(format!("{path}/test"), json!({ "phone": PHONE })),
    ];
    app.assert_problems(None, 401, "unauthenticated", &calls)
        .await;
    for role in ["support", "billing", "dpo"] {
        let staff = app.create_employee(&admin, role, &[role], None).await;
        app.assert_problems(Some(&staff.token), 403, "forbidden", &calls)
            .await;
    }
    // An admin limited to one provider does not manage the installation's gateways.
    let limited = app
        .create_employee(&admin, "limited", &["admin"], Some(&[provider.id.as_str()]))
        .await;
    app.assert_problems(Some(&limited.token), 403, "forbidden", &calls)
        .await;
    let (_, user) = app
        .client_with_user(&admin, &provider.id, "anna@example.com")
        .await;
    let user = app.user_token(&admin, &user.id).await;
    app.assert_problems(Some(&user), 403, "forbidden", &calls)
        .await;
    // Nothing was changed or sent.
    json_ok(app.get(&path, Some(&admin)).await, 200).await;
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_gateways_are_refused_with_pointers() {
    let (app, admin, _) = TestApp::with_providers(["acme"]).await;
    let server = "http://127.0.0.1:9";
    let http = |change: fn(&mut Value)| {
        let mut body = http_gateway("main", 1, server);
        change(&mut body);
        Call::post("/api/v1/sms-gateways", body)
    };
    let twilio = |change: fn(&mut Value)| {
        let mut body = twilio_gateway("main", 1, server);
        change(&mut body);
        Call::post("/api/v1/sms-gateways", body)
    };
    let cases: Vec<(Call, &[&str])> = vec![
        (http(|b| b["name"] = json!("  ")), &["/name"]),
        (http(|b| b["priority"] = json!(-1)), &["/priority"]),
        (
            http(|b| b["resend_timeout_seconds"] = json!(5)),
            &["/resend_timeout_seconds"],
        ),
        (
            http(|b| b["code_validity_seconds"] = json!(601)),
            &["/code_validity_seconds"],
        ),
        (
            http(|b| b["code_validity_seconds"] = json!(30)),
            &["/code_validity_seconds"],
        ),
        (http(|b| b["templates"] = json!({})), &["/templates"]),
        (
            http(|b| b["templates"] = json!({ "en": "no code here" })),
            &["/templates/en"],
        ),
        (
            http(|b| b["templates"] = json!({ "en": "{code} to {phone}" })),
            &["/templates/en"],
        ),
        (
            http(|b| b["templates"] = json!({ "english": "{code}" })),
            &["/templates/english"],
        ),
        (http(|b| b["sender"] = json!("")), &["/sender"]),
        (http(|b| b["provider_ids"] = json!([])), &["/provider_ids"]),
        (
            http(|b| b["provider_ids"] = json!([Uuid::nil()])),
            &["/provider_ids/0"],
        ),
        (
            http(|b| {
                b.as_object_mut().unwrap().remove("http");
            }),
            &["/http"],
        ),
        (
            http(|b| b["http"]["method"] = json!("DELETE")),
            &["/http/method"],
        ),
        (
            http(|b| b["http"]["url"] = json!("ftp://x/{phone}")),
            &["/http/url"],
        ),
        (
            http(|b| b["http"]["url"] = json!("not a url")),
            &["/http/url"],
        ),
        (
            http(|b| b["http"]["url"] = json!("https://x/?c={code}")),
            &["/http/url"],
        ),
        (
            http(|b| b["http"]["body"] = json!("{secret}")),
            &["/http/body"],
        ),
        (
            http(|b| {
                b["http"]["method"] = json!("GET");
            }),
            &["/http/body"],
        ),
        (
            http(|b| b["http"]["headers"] = json!({ "Bad Header": "x" })),
            &["/http/headers/Bad Header"],
        ),
        (
            http(|b| b["http"]["headers"] = json!({ "authorization": "Bearer x" })),
            &["/http/headers/authorization"],
        ),
        (
            http(|b| b["http"]["success_statuses"] = json!([200, 99])),
            &["/http/success_statuses/1"],
        ),
        (
            http(|b| b["credentials"]["auth_token"] = json!("x")),
            &["/credentials/auth_token"],
        ),
        (
            http(|b| b["twilio"] = json!({ "account_sid": "AC1" })),
            &["/twilio"],
        ),
        (
            twilio(|b| {
                b.as_object_mut().unwrap().remove("twilio");
            }),
            &["/twilio"],
        ),
        (
            twilio(|b| {
                b.as_object_mut().unwrap().remove("credentials");
            }),
            &["/credentials/auth_token"],
        ),
        (
            twilio(|b| b["credentials"]["password"] = json!("x")),
            &["/credentials/password"],
        ),
        (
            twilio(|b| b["twilio"]["base_url"] = json!("file:///etc")),
            &["/twilio/base_url"],
        ),
        (
            twilio(|b| b["twilio"]["account_sid"] = json!("AC/../x")),
            &["/twilio/account_sid"],
        ),
        (
            twilio(|b| {
                b.as_object_mut().unwrap().remove("sender");
            }),
            &["/sender"],
        ),
        (
            twilio(|b| {
                b["priority"] = json!(1001);
                b["code_validity_seconds"] = json!(900);
            }),
            &["/code_validity_seconds", "/priority"],
        ),
        (twilio(|b| b["kind"] = json!("smpp")), &["/kind"]),
        (twilio(|b| b["extra"] = json!(1)), &["/extra"]),
        (
            twilio(|b| {
                b.as_object_mut().unwrap().remove("name");
            }),
            &["/name"],
        ),
    ];
    app.assert_invalid(Some(&admin), &cases).await;
    let list = json_ok(app.get("/api/v1/sms-gateways", Some(&admin)).await, 200).await;
    assert_eq!(list["items"], json!([]), "nothing was stored");

    let gateway = create(&app, &admin, twilio_gateway("main", 1, server)).await;
    let test = format!(
        "/api/v1/sms-gateways/{}/test",
        gateway["id"].as_str().unwrap()
    );
    app.assert_invalid(
        Some(&admin),
        &[
            (Call::post(&test, json!({ "phone": "12345" })), &["/phone"]),
            (
                Call::post(&test, json!({ "phone": PHONE, "language": "xx-yy-zz" })),
                &["/language"],
            ),
            (Call::post(&test, json!({})), &["/phone"]),
        ],
    )
    .await;
    app.assert_bad_bodies(Some(&admin), reqwest::Method::POST, "/api/v1/sms-gateways")
        .await;
    app.assert_problems(
        Some(&admin),
        404,
        "not_found",
        &[
            Call::get(format!("/api/v1/sms-gateways/{}", Uuid::now_v7())),
            Call::get("/api/v1/sms-gateways/not-an-id"),
            Call::post(
                format!("/api/v1/sms-gateways/{}/test", Uuid::now_v7()),
                json!({ "phone": PHONE }),
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_double_replaces_the_configured_gateways() {
    let double = std::sync::Arc::new(api::outside::sms::RecordingSmsGateway::default());
    let app = TestApp::builder().sms(double.clone()).spawn().await;
    let receipt = app.state.sms.send(code_message(None, None)).await.unwrap();
    assert_eq!(receipt.gateway, "recording");
    assert_eq!(
        double.last_to(PHONE).unwrap().code.as_deref(),
        Some("123456")
    );
}
