//! Issue 11: the findings of the attack run, one test (or more) each.

use serde_json::{Value, json};

use crate::helpers::*;

fn login_call(provider: Option<&str>, login: &str, password: &str) -> Call {
    let mut body = json!({ "login": login, "password": password });
    if let Some(p) = provider {
        body["provider"] = p.into();
    }
    Call::post("/api/v1/auth/login", body)
}

/// The operator's `bootstrap-admin` for `login`, who then sets `password`: their tokens.
async fn employee_with_password(app: &TestApp, login: &str, password: &str) -> Value {
    let key = api::cli::bootstrap_admin(&app.settings, login, "Staff").unwrap();
    let tokens = app.redeem(&key).await;
    let set = json!({ "new_password": password });
    let response = app
        .post("/api/v1/me/password", Some(access(&tokens)), set)
        .await;
    assert_eq!(response.status(), 204);
    tokens
}

/// Finding 3: the Kelvin sign (U+212A) is one spelling of its own, for the lookup and the
/// budget alike; mixing spellings does not tell a known login from an unknown one.
#[tokio::test]
async fn one_normalisation_for_the_lookup_and_the_budget() {
    let app = spawn_app().await;
    employee_with_password(&app, "kim", "a long and winding passphrase").await;
    for login in ["kim", "kai"] {
        let kelvin = login.replacen('k', "\u{212A}", 1);
        for spelling in [login, &kelvin, login, &kelvin, login, &kelvin] {
            let call = login_call(None, spelling, "wrong wrong wrong");
            app.assert_problems(None, 401, "invalid_credentials", [&call])
                .await;
        }
    }
    // Users' e-mails too: the Kelvin spelling is no e-mail, so it matches no account.
    let (app, _, _) = TestApp::with_providers(["acme"]).await;
    app.register("acme", "kim@example.com").await;
    let kelvin = login_call(Some("acme"), "\u{212A}im@example.com", PASSWORD);
    app.assert_problems(None, 401, "invalid_credentials", [&kelvin])
        .await;
}

/// Finding 4: look-alike addresses are refused where e-mails come in.
#[tokio::test]
async fn look_alike_emails_are_refused() {
    let (app, admin, [acme]) = TestApp::with_providers(["acme"]).await;
    let client = app.create_client(&admin, &acme.id, "Shop").await;
    let registration = |email: &str| {
        Call::post(
            "/api/v1/providers/acme/registrations",
            json!({ "email": email, "name": "Anna", "password": PASSWORD }),
        )
    };
    let user = |email: &str| {
        Call::post(
            format!("/api/v1/clients/{}/users", client.id),
            json!({ "email": email, "name": "Anna" }),
        )
    };
    let look_alikes = [
        "\u{430}nna@example.com",
        "anna@ex\u{430}mple.com",
        "\u{FF41}nna@example.com",
        "an\u{200D}na@example.com",
        "anna@münchen.de",
    ];
    for email in look_alikes {
        app.assert_invalid(None, &[(registration(email), &["/email"])])
            .await;
        app.assert_invalid(Some(&admin), &[(user(email), &["/email"])])
            .await;
    }
    // The punycode form of an international domain is an address like any other.
    app.register("acme", "anna@xn--mnchen-3ya.de").await;
}

/// Spends `key`'s whole budget, spread over days as a patient attacker would.
fn exhaust_budget(app: &TestApp, key: &str) {
    let mut now = app.now() - chrono::Duration::days(30);
    for _ in 0..domain::throttle::MAX_CONSECUTIVE_FAILURES {
        assert_eq!(
            app.store().reserve_attempt(key, now).unwrap(),
            domain::throttle::Decision::Allow
        );
        now += chrono::Duration::hours(1);
    }
}

/// Finding 8: re-enabling a user or an employee lifts the hard stop, as `domain::throttle`
/// documents.
#[tokio::test]
async fn re_enabling_an_account_lifts_the_hard_stop() {
    let (app, admin, _) = TestApp::with_providers(["acme"]).await;
    let anna = app.register("acme", "anna@example.com").await;
    exhaust_budget(&app, &format!("user:{}", anna.user_id));
    let anna_login = login_call(Some("acme"), "anna@example.com", PASSWORD);
    app.assert_problems(None, 429, "account_locked", [&anna_login])
        .await;
    // Saving an active account as active is no recovery.
    let path = format!("/api/v1/users/{}", anna.user_id);
    app.set_status(&admin, &path, "active").await;
    app.assert_problems(None, 429, "account_locked", [&anna_login])
        .await;
    app.set_status(&admin, &path, "disabled").await;
    app.set_status(&admin, &path, "active").await;
    app.assert_statuses(None, 200, [&anna_login]).await;

    let passphrase = "a long and winding passphrase";
    let kim = employee_with_password(&app, "kim", passphrase).await;
    let me = json_ok(app.get("/api/v1/me", Some(access(&kim))).await, 200).await;
    let id = me["id"].as_str().unwrap();
    exhaust_budget(&app, &format!("employee:{id}"));
    let kim_login = login_call(None, "kim", passphrase);
    app.assert_problems(None, 429, "account_locked", [&kim_login])
        .await;
    let path = format!("/api/v1/employees/{id}");
    app.set_status(&admin, &path, "disabled").await;
    app.set_status(&admin, &path, "active").await;
    app.assert_statuses(None, 200, [&kim_login]).await;
}

fn redeem_call(key: &str) -> Call {
    Call::post("/api/v1/auth/temporary-key", json!({ "key": key }))
}

/// A well-formed key that matches nothing.
fn wrong_key(i: usize) -> String {
    format!("bitk_{i:064x}")
}

/// Finding 1: wrong keys from an address slow that address down, but a valid key from it
/// always works, and the delay decays.
#[tokio::test]
async fn a_valid_key_always_works_whatever_its_address_did() {
    let (app, admin, _) = TestApp::with_providers(["acme"]).await;
    let anna = app.register("acme", "anna@example.com").await;
    let issue = Call::post(
        format!("/api/v1/users/{}/temporary-keys", anna.user_id),
        json!({}),
    );
    let issued = json_ok(app.request(&issue, Some(&admin)).await, 201).await;
    let valid = issued["key"].as_str().unwrap();

    let free = domain::throttle::FREE_ATTEMPTS as usize;
    for i in 0..free {
        app.assert_problems(
            None,
            401,
            "invalid_credentials",
            [&redeem_call(&wrong_key(i))],
        )
        .await;
    }
    for i in free..free + 20 {
        app.assert_problems(
            None,
            429,
            "too_many_attempts",
            [&redeem_call(&wrong_key(i))],
        )
        .await;
    }
    app.assert_statuses(None, 200, [&redeem_call(valid)]).await;

    // A patient attacker spends far more than the hundred an account may: still no stop,
    // and the delay decays: a quarter of an hour later wrong keys are checked again.
    let key = "ip:127.0.0.1:temporary_key";
    let mut now = app.now() - chrono::Duration::days(10);
    for _ in 0..200 {
        app.store().reserve_attempt(key, now).unwrap();
        now += chrono::Duration::minutes(16);
    }
    let issued = json_ok(app.request(&issue, Some(&admin)).await, 201).await;
    app.assert_statuses(None, 200, [&redeem_call(issued["key"].as_str().unwrap())])
        .await;
    app.advance(chrono::Duration::minutes(30));
    app.assert_problems(
        None,
        401,
        "invalid_credentials",
        [&redeem_call(&wrong_key(99))],
    )
    .await;
}

/// Finding 9: budgets that count nothing any more are purged; accounts' stay.
#[tokio::test]
async fn decayed_budgets_are_purged() {
    let (app, _, _) = TestApp::with_providers(["acme"]).await;
    app.register("acme", "anna@example.com").await;
    let wrong = |login: &str| login_call(Some("acme"), login, "wrong wrong wrong");
    for login in [
        "ghost1@example.com",
        "ghost2@example.com",
        "anna@example.com",
    ] {
        app.assert_problems(None, 401, "invalid_credentials", [&wrong(login)])
            .await;
    }
    app.assert_problems(
        None,
        401,
        "invalid_credentials",
        [&redeem_call(&wrong_key(1))],
    )
    .await;
    assert_eq!(app.run_job("throttle_purge").await, Some(0));
    // The address's budget for keys has decayed after a minute, and so have the rate limits
    // of the registration (per address and per provider); unknown logins' after a day.
    app.advance(chrono::Duration::minutes(2));
    assert_eq!(app.run_job("throttle_purge").await, Some(3));
    app.advance(chrono::Duration::hours(24));
    assert_eq!(app.run_job("throttle_purge").await, Some(2));
    app.advance(chrono::Duration::days(365));
    assert_eq!(app.run_job("throttle_purge").await, Some(0));
}

fn refresh_call(refresh_token: &Value) -> Call {
    Call::post(
        "/api/v1/auth/refresh",
        json!({ "refresh_token": refresh_token }),
    )
}

/// Finding 7: 20 parallel refreshes with one token: one wins, the others answer 409
/// `refresh_token_rotated` and the session lives; after the grace a repeat is a replay and
/// revokes the family.
#[tokio::test]
async fn parallel_refreshes_keep_the_session_and_late_reuse_revokes_it() {
    let (app, _, _) = TestApp::with_providers(["acme"]).await;
    let anna = app.register("acme", "anna@example.com").await;
    let old = anna.tokens["refresh_token"].clone();
    let call = refresh_call(&old);
    let answers = futures_util::future::join_all((0..20).map(|_| app.request(&call, None))).await;
    let mut winners = Vec::new();
    for response in answers {
        match response.status().as_u16() {
            200 => winners.push(response.json::<Value>().await.unwrap()),
            _ => {
                assert_problem(response, 409, "refresh_token_rotated").await;
            }
        }
    }
    assert_eq!(winners.len(), 1, "exactly one refresh wins");
    let new = &winners[0];
    json_ok(app.get("/api/v1/me", Some(access(new))).await, 200).await;
    // Still within the grace, the old token is refused without harm; the new one works.
    app.assert_problems(None, 409, "refresh_token_rotated", [&call])
        .await;
    let newer = json_ok(
        app.request(&refresh_call(&new["refresh_token"]), None)
            .await,
        200,
    )
    .await;

    // After the grace the old token is a replay: the whole family dies.
    let grace = chrono::Duration::from_std(app.settings.refresh_reuse_grace).unwrap();
    app.advance(grace + chrono::Duration::seconds(1));
    app.assert_problems(
        None,
        401,
        "invalid_credentials",
        [&refresh_call(&new["refresh_token"])],
    )
    .await;
    app.assert_problems(
        None,
        401,
        "invalid_credentials",
        [&refresh_call(&newer["refresh_token"])],
    )
    .await;
    assert_problem(
        app.get("/api/v1/me", Some(access(&newer))).await,
        401,
        "unauthenticated",
    )
    .await;
}

/// Finding 10: HEAD answers as GET without a body; a key twice in a JSON body is refused;
/// names with bidirectional formatting characters are refused like control characters.
#[tokio::test]
async fn head_duplicate_keys_and_bidi_names() {
    let (app, admin, [acme]) = TestApp::with_providers(["acme"]).await;
    for path in [
        "/healthz".to_owned(),
        "/api/v1/me".to_owned(),
        format!("/api/v1/providers/{}", acme.id),
        "/api/v1/providers?limit=10".to_owned(),
    ] {
        let get = app.get(&path, Some(&admin)).await;
        let head = app
            .request(&Call::new(reqwest::Method::HEAD, &path), Some(&admin))
            .await;
        assert_eq!(head.status(), get.status(), "HEAD {path}");
        assert_eq!(head.status(), 200, "HEAD {path}");
        assert_eq!(
            head.headers().get("content-type"),
            get.headers().get("content-type"),
            "HEAD {path}"
        );
        assert!(
            head.bytes().await.unwrap().is_empty(),
            "HEAD {path}: no body"
        );
    }
    // A path without GET still answers 405, and says HEAD only where GET is.
    let post_only = app
        .request(
            &Call::new(reqwest::Method::HEAD, "/api/v1/auth/login"),
            None,
        )
        .await;
    assert_eq!(post_only.status(), 405);
    let allow = app
        .request(&Call::new(reqwest::Method::PUT, "/api/v1/me"), Some(&admin))
        .await;
    assert_eq!(allow.status(), 405);
    let allow = allow.headers()["allow"].to_str().unwrap().to_owned();
    assert!(allow.contains("GET") && allow.contains("HEAD"), "{allow}");

    // Duplicate keys, at the top and deeper down.
    let twice = r#"{"slug":"beta","name":"Beta","jurisdiction":"DE","slug":"gamma"}"#;
    let nested = r#"{"slug":"beta","name":"Beta","jurisdiction":"DE","x":{"a":1,"a":2}}"#;
    for body in [twice, nested] {
        let call = Call::post("/api/v1/providers", json!({})).raw("application/json", body);
        let response = app.request(&call, Some(&admin)).await;
        let status = response.status().as_u16();
        assert!(status == 400 || status == 422, "{call}: {status}");
        let problem = assert_problem(
            response,
            status,
            if status == 400 {
                "malformed_json"
            } else {
                "validation_failed"
            },
        )
        .await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("duplicate key"),
            "{problem}"
        );
    }
    assert_eq!(
        app.get("/api/v1/providers/beta", Some(&admin))
            .await
            .status(),
        404
    );

    // U+202E and the other bidi controls, in every kind of name.
    let client = app.create_client(&admin, &acme.id, "Shop").await;
    for name in ["Shop\u{202E}gnp.exe", "\u{2067}Shop", "Sh\u{200F}op"] {
        app.assert_invalid(
            Some(&admin),
            &[
                (
                    Call::post(
                        format!("/api/v1/providers/{}/clients", acme.id),
                        json!({ "name": name }),
                    ),
                    &["/name"],
                ),
                (
                    Call::post(
                        format!("/api/v1/clients/{}/users", client.id),
                        json!({ "email": "bidi@example.com", "name": name }),
                    ),
                    &["/name"],
                ),
                (
                    Call::post(
                        "/api/v1/providers",
                        json!({ "slug": "bidi", "name": name, "jurisdiction": "DE" }),
                    ),
                    &["/name"],
                ),
            ],
        )
        .await;
    }
}

/// Finding 5: an admin's full API token creates no credentials, employees or roles; what
/// else its owner may do it still does.
#[tokio::test]
async fn api_tokens_cannot_mint_credentials() {
    let (app, admin, [acme]) = TestApp::with_providers(["acme"]).await;
    let token = app
        .create_api_token(&admin, json!({ "name": "script", "scope": "full" }))
        .await;
    let token = token["secret"].as_str().unwrap();
    let me = json_ok(app.get("/api/v1/me", Some(&admin)).await, 200).await;
    let admin_id = me["id"].as_str().unwrap();
    let (_, user) = app
        .client_with_user(&admin, &acme.id, "anna@example.com")
        .await;
    let other = app
        .create_employee(&admin, "other", &["support"], None)
        .await;
    let refused = [
        Call::post(
            format!("/api/v1/employees/{admin_id}/temporary-keys"),
            json!({}),
        ),
        Call::post(
            format!("/api/v1/employees/{}/temporary-keys", other.employee.id),
            json!({}),
        ),
        Call::post(
            format!("/api/v1/users/{}/temporary-keys", user.id),
            json!({}),
        ),
        Call::post(
            "/api/v1/employees",
            json!({ "login": "mallory", "name": "Mallory", "roles": ["admin"] }),
        ),
        Call::patch(
            format!("/api/v1/employees/{}", other.employee.id),
            json!({ "name": "Renamed" }),
        ),
        Call::put(
            format!("/api/v1/employees/{}/roles", other.employee.id),
            json!({ "roles": ["admin"], "providers": null }),
        ),
        Call::post(
            "/api/v1/me/api-tokens",
            json!({ "name": "more", "scope": "full" }),
        ),
        Call::post(
            "/api/v1/me/password",
            json!({ "new_password": "a long and winding passphrase" }),
        ),
    ];
    app.assert_problems(Some(token), 403, "forbidden", &refused)
        .await;
    // Nothing was made: no employee `mallory`, the other one still support only.
    let listed = json_ok(
        app.get("/api/v1/employees?limit=100", Some(&admin)).await,
        200,
    )
    .await;
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["login"] != "mallory"),
        "{listed}"
    );
    // Everything else within its owner's roles still works.
    app.assert_statuses(
        Some(token),
        200,
        &[
            Call::get("/api/v1/employees?limit=10"),
            Call::patch(
                format!("/api/v1/users/{}", user.id),
                json!({ "name": "Anna S." }),
            ),
        ],
    )
    .await;
    app.assert_statuses(
        Some(token),
        201,
        &[Call::post(
            format!("/api/v1/providers/{}/clients", acme.id),
            json!({ "name": "Script's client" }),
        )],
    )
    .await;
}

/// The ids of every item of the list at `path` (which sets its `limit`).
async fn ids(app: &TestApp, token: &str, path: &str) -> Vec<String> {
    app.pages(token, path)
        .await
        .concat()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Finding 6: every list is scoped by the caller's providers, for a provider-limited
/// employee of each role.
#[tokio::test]
async fn every_list_is_scoped_by_the_callers_providers() {
    let (app, admin, [a, b]) = TestApp::with_providers(["alpha", "beta"]).await;
    let (client_a, _) = app
        .client_with_user(&admin, &a.id, "anna@example.com")
        .await;
    let (client_b, _) = app
        .client_with_user(&admin, &b.id, "bert@example.com")
        .await;
    // Auth events at both providers.
    for (slug, email) in [("alpha", "anna@example.com"), ("beta", "bert@example.com")] {
        let wrong = login_call(Some(slug), email, "wrong wrong wrong");
        app.assert_statuses(None, 401, [&wrong]).await;
    }
    let only_a = [a.id.as_str()];
    let only_b = [b.id.as_str()];
    let other_b = app
        .create_employee(&admin, "bee", &["support"], Some(&only_b))
        .await;
    let mut limited = Vec::new();
    for role in ["admin", "support", "billing", "dpo"] {
        let login = format!("{role}-a");
        limited.push((
            role,
            app.create_employee(&admin, &login, &[role], Some(&only_a))
                .await,
        ));
    }
    let me = json_ok(app.get("/api/v1/me", Some(&admin)).await, 200).await;
    let admin_id = me["id"].as_str().unwrap().to_owned();
    let limited_ids: Vec<String> = limited.iter().map(|(_, s)| s.employee.id.clone()).collect();
    for (role, staff) in &limited {
        let token = staff.token.as_str();
        assert_eq!(
            ids(&app, token, "/api/v1/providers?limit=1").await,
            std::slice::from_ref(&a.id),
            "{role}"
        );
        let clients = ids(
            &app,
            token,
            &format!("/api/v1/providers/{}/clients?limit=1", a.id),
        )
        .await;
        assert_eq!(clients, std::slice::from_ref(&client_a.id), "{role}");
        let users = app
            .pages(
                token,
                &format!("/api/v1/clients/{}/users?limit=1", client_a.id),
            )
            .await;
        assert_eq!(users.concat().len(), 1, "{role}");
        app.assert_problems(
            Some(token),
            404,
            "not_found",
            &[
                Call::get(format!("/api/v1/providers/{}/clients?limit=1", b.id)),
                Call::get(format!("/api/v1/clients/{}/users?limit=1", client_b.id)),
            ],
        )
        .await;
        if matches!(*role, "admin" | "dpo") {
            // Those limited to alpha, and the admin who sees every provider; not `bee`.
            let mut seen = ids(&app, token, "/api/v1/employees?limit=2").await;
            seen.sort();
            let mut expected = limited_ids.clone();
            expected.push(admin_id.clone());
            expected.sort();
            assert_eq!(seen, expected, "{role}");
            app.assert_problems(
                Some(token),
                404,
                "not_found",
                &[Call::get(format!(
                    "/api/v1/employees/{}",
                    other_b.employee.id
                ))],
            )
            .await;
            app.assert_statuses(
                Some(token),
                200,
                &[Call::get(format!("/api/v1/employees/{admin_id}"))],
            )
            .await;
        } else {
            app.assert_statuses(Some(token), 403, &[Call::get("/api/v1/employees?limit=2")])
                .await;
        }
        if matches!(*role, "admin" | "support" | "dpo") {
            let events = app
                .pages(token, "/api/v1/auth-events?limit=2")
                .await
                .concat();
            assert!(!events.is_empty(), "{role}");
            assert!(
                events.iter().all(|e| e["provider_id"] == a.id.as_str()),
                "{role}: {events:?}"
            );
        }
    }
    // Who sees every provider sees every employee.
    let everyone = ids(&app, &admin, "/api/v1/employees?limit=3").await;
    assert!(
        everyone.contains(&other_b.employee.id) && everyone.len() == 6,
        "{everyone:?}"
    );
}

/// Finding 2: registrations are rate-limited per address and per provider, whatever their
/// answer, so probing which e-mails are registered is slowed to a trickle.
#[tokio::test]
async fn registration_is_rate_limited_per_address_and_provider() {
    let app = TestApp::builder()
        .settings(|s| s.trust_forwarded_for = true)
        .spawn()
        .await;
    let admin = app.admin_token().await;
    let acme = app.create_provider(&admin, "acme").await;
    let registration = |email: &str, ip: &str| {
        Call::post(
            "/api/v1/providers/acme/registrations",
            json!({ "email": email, "name": "Anna", "password": PASSWORD }),
        )
        .header("x-forwarded-for", ip)
    };
    let free = domain::throttle::Budget::RATE_PER_ADDRESS.free as usize;
    app.assert_statuses(None, 201, [&registration("anna@example.com", "192.0.2.1")])
        .await;
    for i in 1..free {
        let (email, status) = if i % 2 == 0 {
            (format!("new{i}@example.com"), 201)
        } else {
            ("anna@example.com".to_owned(), 409)
        };
        app.assert_statuses(None, status, [&registration(&email, "192.0.2.1")])
            .await;
    }
    // The address's budget is spent: taken and free e-mails get the same answer.
    let taken = app
        .request(&registration("anna@example.com", "192.0.2.1"), None)
        .await;
    let unknown = app
        .request(&registration("ghost@example.com", "192.0.2.1"), None)
        .await;
    assert!(taken.headers().contains_key("retry-after"));
    let taken = assert_problem(taken, 429, "too_many_attempts").await;
    let unknown = assert_problem(unknown, 429, "too_many_attempts").await;
    assert_eq!(taken["title"], unknown["title"]);
    // Another address still may; a limit per provider holds across addresses.
    app.assert_statuses(None, 201, [&registration("bert@example.com", "192.0.2.2")])
        .await;
    let key = format!("rate:provider:{}:registration", acme.id);
    for _ in 0..domain::throttle::Budget::RATE_PER_PROVIDER.free {
        app.store().reserve_attempt(&key, app.now()).unwrap();
    }
    app.assert_problems(
        None,
        429,
        "too_many_attempts",
        [&registration("carl@example.com", "192.0.2.3")],
    )
    .await;
    // Both decay: a few minutes later registrations go through again.
    app.advance(chrono::Duration::minutes(10));
    app.assert_statuses(None, 201, [&registration("carl@example.com", "192.0.2.1")])
        .await;
}
