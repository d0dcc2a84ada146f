//! Issue 10: the GDPR client data cleaning module and clearing a client's data.

use std::collections::BTreeMap;
use std::sync::Arc;

use api::outside::sms::RecordingSmsGateway;

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use persistence::connection::connect;
use persistence::personal_data::COLUMNS;
use persistence::{DatabaseUrl, DbConnection, OidcTransactionRecord, UserLink};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Call, PASSWORD, TestApp, access, assert_problem, json_ok};

pub(crate) const IP: &str = "198.51.100.23";
pub(crate) const IP2: &str = "203.0.113.77";
pub(crate) const UA: &str = "Mozilla/5.0 (Kimberly-Vance-Phone) ClearMeBrowser/7731";
pub(crate) const UA2: &str = "OswaldAgent/4242 (Finch desktop)";
pub(crate) const EMAIL: &str = "kimberly.vance@example.org";
pub(crate) const EMAIL2: &str = "oswald.finch@example.org";
pub(crate) const NAME: &str = "Kimberly Vance";
pub(crate) const NAME2: &str = "Oswald Finch";
pub(crate) const PHONE: &str = "+493055501234";
/// Kimberly's verified number, and a number a code was sent to and not verified yet.
pub(crate) const PHONE_K: &str = "+4915170001234";
pub(crate) const PHONE_P: &str = "+4917270005678";
pub(crate) const TOKEN_NAME: &str = "Vance laptop";

/// Every stored value, column by column (sorted), read with raw SQL from every table that
/// `personal_data::COLUMNS` lists: a column added later is read as well.
pub(crate) fn dump(app: &TestApp) -> BTreeMap<(String, String), Vec<Option<String>>> {
    #[derive(QueryableByName)]
    struct Cell {
        #[diesel(sql_type = Nullable<Text>)]
        v: Option<String>,
    }
    let mut conn = connect(&DatabaseUrl::parse(&app.db.url).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    for (table, column, _) in COLUMNS {
        let sql = format!("SELECT CAST({column} AS TEXT) AS v FROM {table}");
        let query = diesel::sql_query(sql);
        let cells: Vec<Cell> = match &mut conn {
            DbConnection::Sqlite(c) => query.load(c),
            DbConnection::Pg(c) => query.load(c),
        }
        .unwrap_or_else(|e| panic!("{table}.{column}: {e}"));
        let mut values: Vec<Option<String>> = cells.into_iter().map(|c| c.v).collect();
        values.sort();
        out.insert(((*table).to_owned(), (*column).to_owned()), values);
    }
    out
}

/// Where in the database `needle` still is (case-insensitive).
pub(crate) fn found(
    dump: &BTreeMap<(String, String), Vec<Option<String>>>,
    needle: &str,
) -> Vec<(String, String)> {
    let needle = needle.to_lowercase();
    dump.iter()
        .filter(|(_, values)| {
            values
                .iter()
                .flatten()
                .any(|v| v.to_lowercase().contains(&needle))
        })
        .map(|(key, _)| key.clone())
        .collect()
}

pub(crate) struct Filled {
    pub client_id: String,
    pub anna_id: String,
    pub anna_tokens: Value,
    pub api_token: String,
    pub oswald_access: String,
    pub unused_key: String,
    /// Anna's TOTP secret, the hash of one of her recovery codes, her pending challenge.
    pub second_factors: Vec<String>,
}

/// A client (registered by Kimberly) with a second user (Oswald, with a phone), sessions,
/// an API token, an unused one-time key, a failed login and auth events from two addresses.
pub(crate) async fn fill(app: &TestApp, admin: &str, sms: &RecordingSmsGateway) -> Filled {
    let registered = json_ok(
        app.request(
            &Call::post(
                "/api/v1/providers/acme/registrations",
                json!({ "email": EMAIL, "name": NAME, "password": PASSWORD }),
            )
            .header("x-forwarded-for", IP)
            .header("user-agent", UA),
            None,
        )
        .await,
        201,
    )
    .await;
    let client_id = registered["client_id"].as_str().unwrap().to_owned();
    let anna_id = registered["user_id"].as_str().unwrap().to_owned();
    let login = |password: &str| {
        Call::post(
            "/api/v1/auth/login",
            json!({ "provider": "acme", "login": EMAIL, "password": password }),
        )
        .header("x-forwarded-for", IP)
        .header("user-agent", UA)
    };
    let wrong = app.request(&login("not the password at all"), None).await;
    assert_eq!(wrong.status(), 401);
    let anna_tokens = json_ok(app.request(&login(PASSWORD), None).await, 200).await;
    // A verified number, then a code to another one, pending.
    let kim = access(&anna_tokens);
    let ask = |body| app.post("/api/v1/me/phone", Some(kim), body);
    json_ok(ask(json!({ "phone": PHONE_K })).await, 202).await;
    let code = sms.last_to(PHONE_K).and_then(|m| m.code).unwrap();
    let verify = json!({ "code": code });
    json_ok(
        app.post("/api/v1/me/phone/verify", Some(kim), verify).await,
        200,
    )
    .await;
    app.advance(chrono::Duration::seconds(61));
    json_ok(
        ask(json!({ "phone": PHONE_P, "password": PASSWORD })).await,
        202,
    )
    .await;
    let api_token = app
        .create_api_token(
            access(&anna_tokens),
            json!({ "name": TOKEN_NAME, "scope": "full" }),
        )
        .await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    // A consent given from her address: the record stays, its address and agent go.
    let me = json_ok(app.get("/api/v1/me", Some(kim)).await, 200).await;
    let document = json_ok(
        app.post(
            &format!(
                "/api/v1/providers/{}/consent-documents",
                me["provider_id"].as_str().unwrap()
            ),
            Some(admin),
            json!({ "kind": "marketing_email", "titles": { "en": "News" }, "text": "News now and then." }),
        )
        .await,
        201,
    )
    .await;
    json_ok(
        app.request(
            &Call::post(
                "/api/v1/me/consents",
                json!({ "document_id": document["id"], "decision": "agree" }),
            )
            .header("x-forwarded-for", IP)
            .header("user-agent", UA),
            Some(kim),
        )
        .await,
        201,
    )
    .await;
    // A request with the API token, so that it has been used.
    let me = app.get("/api/v1/me", Some(&api_token)).await;
    assert_eq!(me.status(), 200);
    // Second factors: TOTP, recovery codes, and a sign-in waiting for its challenge.
    let totp_secret = app.enroll_totp(access(&anna_tokens)).await;
    let codes = json_ok(
        app.post(
            "/api/v1/me/recovery-codes",
            Some(access(&anna_tokens)),
            json!({}),
        )
        .await,
        201,
    )
    .await;
    let recovery_code = codes["codes"][0].as_str().unwrap().replace('-', "");
    let challenge = json_ok(app.request(&login(PASSWORD), None).await, 200).await;
    assert_eq!(challenge["mfa_required"], true);
    let second_factors = vec![
        totp_secret,
        domain::secret::hash_secret(&recovery_code),
        challenge["challenge_id"].as_str().unwrap().to_owned(),
    ];

    let oswald = json_ok(
        app.post(
            &format!("/api/v1/clients/{client_id}/users"),
            Some(admin),
            json!({ "email": EMAIL2, "name": NAME2, "phone": PHONE }),
        )
        .await,
        201,
    )
    .await;
    let keys = format!(
        "/api/v1/users/{}/temporary-keys",
        oswald["id"].as_str().unwrap()
    );
    let key = json_ok(app.post(&keys, Some(admin), json!({})).await, 201).await;
    let redeemed = json_ok(
        app.request(
            &Call::post("/api/v1/auth/temporary-key", json!({ "key": key["key"] }))
                .header("x-forwarded-for", IP2)
                .header("user-agent", UA2),
            None,
        )
        .await,
        200,
    )
    .await;
    let unused = json_ok(app.post(&keys, Some(admin), json!({})).await, 201).await;
    Filled {
        client_id,
        anna_id,
        anna_tokens,
        api_token,
        oswald_access: access(&redeemed).to_owned(),
        unused_key: unused["key"].as_str().unwrap().to_owned(),
        second_factors,
    }
}

pub(crate) const GOOGLE_SUBJECT: &str = "google-subject-kimberly-4711";

/// Kimberly's Google account linked, and a link being made (issue 8): the link's subject
/// and the flow's state hash, nonce and verifier, which clearing must remove.
pub(crate) fn link_google(app: &TestApp, user_id: &str) -> (String, String, String) {
    let store = app.store();
    let user = store.user(user_id.parse().unwrap()).unwrap();
    let now = app.now();
    store
        .link_user(&UserLink {
            id: Uuid::now_v7(),
            provider_id: user.provider_id,
            user_id: user.id,
            issuer: "https://accounts.google.com".into(),
            subject: GOOGLE_SUBJECT.into(),
            email: Some(EMAIL.into()),
            created_at: now,
            last_used_at: None,
        })
        .unwrap();
    let secrets = (
        format!("statehash{}", Uuid::new_v4().simple()),
        format!("nonce{}", Uuid::new_v4().simple()),
        format!("verifier{}", Uuid::new_v4().simple()),
    );
    store
        .insert_oidc_transaction(
            &OidcTransactionRecord {
                id: Uuid::now_v7().to_string(),
                state_hash: secrets.0.clone(),
                kind: "link_google".into(),
                provider_id: Some(user.provider_id.to_string()),
                staff_idp_id: None,
                user_id: Some(user.id.to_string()),
                issuer: "https://accounts.google.com".into(),
                redirect_uri: "https://app.example/cb".into(),
                nonce: secrets.1.clone(),
                pkce_verifier: secrets.2.clone(),
                created_at: now.naive_utc(),
                expires_at: (now + chrono::Duration::minutes(10)).naive_utc(),
            },
            now,
        )
        .unwrap();
    secrets
}

pub(crate) async fn install(app: &TestApp, admin: &str) {
    let installed = json_ok(
        app.put(
            "/api/v1/modules/gdpr_cleanup",
            Some(admin),
            json!({ "installed": true }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(installed["installed"], true);
}

pub(crate) fn clear_call(client_id: &str, dry_run: bool) -> Call {
    Call::post(
        format!("/api/v1/clients/{client_id}/clear-data"),
        json!({ "dry_run": dry_run, "reason": "erasure request, ticket 4711" }),
    )
}

pub(crate) async fn spawn() -> (TestApp, String, Arc<RecordingSmsGateway>) {
    let sms = Arc::new(RecordingSmsGateway::default());
    let app = TestApp::builder()
        .settings(|s| s.trust_forwarded_for = true)
        .sms(sms.clone())
        .spawn()
        .await;
    let admin = app.admin_token().await;
    app.create_provider(&admin, "acme").await;
    (app, admin, sms)
}

/// The module must be installed; only the DPO and admins may clear or install.
#[tokio::test]
async fn the_module_gate_and_permissions() {
    let (app, admin, sms) = spawn().await;
    let filled = fill(&app, &admin, &sms).await;
    let support = app.create_employee(&admin, "sue", &["support"], None).await;
    let billing = app
        .create_employee(&admin, "bill", &["billing"], None)
        .await;
    let dpo = app.create_employee(&admin, "dora", &["dpo"], None).await;
    let clear = clear_call(&filled.client_id, false);
    let install_call = Call::put("/api/v1/modules/gdpr_cleanup", json!({ "installed": true }));

    let modules = json_ok(app.get("/api/v1/modules", Some(&dpo.token)).await, 200).await;
    assert_eq!(
        modules["items"],
        json!([{ "name": "gdpr_cleanup", "installed": false,
                 "description": modules["items"][0]["description"] }])
    );
    app.assert_problems(None, 401, "unauthenticated", [&clear, &install_call])
        .await;
    for token in [&support.token, &billing.token] {
        app.assert_problems(Some(token), 403, "forbidden", [&clear, &install_call])
            .await;
    }
    app.assert_problems(Some(&dpo.token), 403, "forbidden", [&install_call])
        .await;
    app.assert_problems(Some(&dpo.token), 409, "module_not_installed", [&clear])
        .await;
    let unknown = app
        .put(
            "/api/v1/modules/nope",
            Some(&admin),
            json!({ "installed": true }),
        )
        .await;
    assert_problem(unknown, 404, "not_found").await;

    install(&app, &admin).await;
    let modules = json_ok(app.get("/api/v1/modules", Some(&admin)).await, 200).await;
    assert_eq!(modules["items"][0]["installed"], true);
    let no_reason = app
        .post(
            &format!("/api/v1/clients/{}/clear-data", filled.client_id),
            Some(&dpo.token),
            json!({ "reason": "  " }),
        )
        .await;
    assert_problem(no_reason, 422, "validation_failed").await;
    // A DPO limited to another provider does not see the client.
    let other = app.create_provider(&admin, "other").await;
    let elsewhere = app
        .create_employee(&admin, "olga", &["dpo"], Some(&[other.id.as_str()]))
        .await;
    app.assert_problems(Some(&elsewhere.token), 404, "not_found", [&clear])
        .await;
    let report = json_ok(app.request(&clear, Some(&dpo.token)).await, 200).await;
    assert_eq!(report["dry_run"], false);
    // Uninstalled again, it answers 409 again.
    let off = app
        .put(
            "/api/v1/modules/gdpr_cleanup",
            Some(&admin),
            json!({ "installed": false }),
        )
        .await;
    assert_eq!(off.status(), 200);
    app.assert_problems(Some(&dpo.token), 409, "module_not_installed", [&clear])
        .await;
}

/// Clearing leaves no trace of the old values anywhere in the database, every credential
/// is refused, a dry run changes nothing, a second call answers the stored report, and the
/// other client is untouched.
#[tokio::test]
async fn clearing_a_client_leaves_no_personal_data_and_no_credential() {
    let (app, admin, sms) = spawn().await;
    install(&app, &admin).await;
    let filled = fill(&app, &admin, &sms).await;
    let dpo = app.create_employee(&admin, "dora", &["dpo"], None).await;
    // A second client, from another address, to be left intact.
    let other = json_ok(
        app.request(
            &Call::post(
                "/api/v1/providers/acme/registrations",
                json!({ "email": "bert@example.net", "name": "Bert Bystander", "password": PASSWORD }),
            )
            .header("x-forwarded-for", "192.0.2.200"),
            None,
        )
        .await,
        201,
    )
    .await;

    let oidc = link_google(&app, &filled.anna_id);

    let needles = [
        EMAIL,
        EMAIL2,
        NAME,
        NAME2,
        "Kimberly",
        "Oswald",
        PHONE,
        PHONE_K,
        PHONE_P,
        IP,
        IP2,
        UA,
        UA2,
        TOKEN_NAME,
        GOOGLE_SUBJECT,
        oidc.0.as_str(),
        oidc.1.as_str(),
        oidc.2.as_str(),
    ];
    let needles: Vec<&str> = needles
        .into_iter()
        .chain(filled.second_factors.iter().map(String::as_str))
        .collect();
    let before = dump(&app);
    for needle in &needles {
        assert!(!found(&before, needle).is_empty(), "{needle} was stored");
    }

    // A dry run answers the report and changes nothing.
    let dry = json_ok(
        app.request(&clear_call(&filled.client_id, true), Some(&dpo.token))
            .await,
        200,
    )
    .await;
    assert_eq!(dry["dry_run"], true);
    assert!(dry["cleared_at"].is_null());
    assert_eq!(dump(&app), before, "a dry run changed the database");

    let report = json_ok(
        app.request(&clear_call(&filled.client_id, false), Some(&dpo.token))
            .await,
        200,
    )
    .await;
    // The sweep of the sealed origins runs after the answer: the comparisons below need it
    // done.
    swept(&app).await;
    assert_eq!(report["dry_run"], false);
    for part in ["anonymized", "deleted", "revoked", "kept"] {
        assert_eq!(
            report[part], dry[part],
            "{part}: the dry run said otherwise"
        );
    }
    assert_eq!(report["anonymized"]["clients"], 1);
    assert_eq!(report["anonymized"]["users"], 2);
    assert_eq!(report["anonymized"]["api_tokens"], 1);
    assert_eq!(report["deleted"]["phones"], 2);
    assert_eq!(report["deleted"]["phone_codes"], 2);
    assert_eq!(report["deleted"]["password_hashes"], 1);
    assert_eq!(report["revoked"]["api_tokens"], 1);
    assert_eq!(report["revoked"]["temporary_keys"], 1);
    assert_eq!(report["revoked"]["users_disabled"], 2);
    assert!(
        report["revoked"]["sessions"].as_u64().unwrap() >= 3,
        "{report}"
    );
    assert!(
        report["deleted"]["throttle_budgets"].as_u64().unwrap() >= 1,
        "{report}"
    );
    assert!(
        report["kept"]["auth_events"].as_u64().unwrap() >= 4,
        "{report}"
    );
    assert_eq!(report["kept"]["legal_hold"], 0);
    assert_eq!(report["kept"]["consent_records"], 1);
    assert_eq!(report["anonymized"]["consent_records"], 1);
    assert!(
        report["kept"]["note"]
            .as_str()
            .unwrap()
            .contains("legal hold")
    );
    assert_eq!(
        report["anonymized"]["auth_events"],
        report["kept"]["auth_events"]
    );

    assert_eq!(report["deleted"]["totp_secrets"], 1);
    assert_eq!(report["deleted"]["recovery_codes"], 10);
    assert_eq!(report["deleted"]["mfa_challenges"], 1);

    // Nothing of the old values is left anywhere.
    let after = dump(&app);
    for needle in &needles {
        assert_eq!(
            found(&after, needle),
            Vec::<(String, String)>::new(),
            "{needle} is still stored"
        );
    }
    // The audit record: who and why, without personal data (it is part of the scan above).
    let audit = &after[&("client_clearings".to_owned(), "employee_id".to_owned())];
    assert_eq!(audit, &vec![Some(dpo.employee.id.clone())]);
    let reason = &after[&("client_clearings".to_owned(), "reason".to_owned())];
    assert_eq!(
        reason,
        &vec![Some("erasure request, ticket 4711".to_owned())]
    );

    // Every credential is refused.
    let refused = [
        app.get("/api/v1/me", Some(access(&filled.anna_tokens)))
            .await,
        app.get("/api/v1/me", Some(&filled.api_token)).await,
        app.get("/api/v1/me", Some(&filled.oswald_access)).await,
        app.post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": filled.anna_tokens["refresh_token"] }),
        )
        .await,
        app.post(
            "/api/v1/auth/login",
            None,
            json!({ "provider": "acme", "login": EMAIL, "password": PASSWORD }),
        )
        .await,
        app.post(
            "/api/v1/auth/temporary-key",
            None,
            json!({ "key": filled.unused_key }),
        )
        .await,
    ];
    for response in refused {
        assert_eq!(response.status(), 401, "{:?}", response.url().path());
    }
    // The client and its users are disabled, with anonymized names and e-mails.
    let client = json_ok(
        app.get(
            &format!("/api/v1/clients/{}", filled.client_id),
            Some(&admin),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(client["status"], "disabled");
    let user = json_ok(
        app.get(&format!("/api/v1/users/{}", filled.anna_id), Some(&admin))
            .await,
        200,
    )
    .await;
    assert_eq!(user["status"], "disabled");
    assert!(
        user["email"]
            .as_str()
            .unwrap()
            .ends_with("@anonymized.invalid"),
        "{user}"
    );

    // A second call (dry run or not) answers the stored report and changes nothing.
    let before_again = dump(&app);
    for dry_run in [false, true] {
        let again = json_ok(
            app.request(&clear_call(&filled.client_id, dry_run), Some(&admin))
                .await,
            200,
        )
        .await;
        assert_eq!(again, report);
    }
    assert_eq!(dump(&app), before_again);

    // Erasure is irreversible: the anonymized client cannot be made active again.
    let client = format!("/api/v1/clients/{}", filled.client_id);
    let refused = assert_problem(
        app.patch(&client, Some(&admin), json!({ "status": "active" }))
            .await,
        409,
        "conflict",
    )
    .await;
    assert_eq!(refused["errors"][0]["pointer"], "/status");
    assert_eq!(dump(&app), before_again);

    // The other client is untouched: its user signs in, its data is as it was.
    let bert = json_ok(
        app.post(
            "/api/v1/auth/login",
            None,
            json!({ "provider": "acme", "login": "bert@example.net", "password": PASSWORD }),
        )
        .await,
        200,
    )
    .await;
    let me = json_ok(app.get("/api/v1/me", Some(access(&bert))).await, 200).await;
    assert_eq!(me["email"], "bert@example.net");
    assert!(!found(&after, "Bert Bystander").is_empty());
    assert!(!found(&after, "192.0.2.200").is_empty());
    let _ = other;
}

/// Runs `sql` on the test's database with a connection of its own.
pub(crate) fn execute(app: &TestApp, sql: &str) {
    use diesel::connection::SimpleConnection;
    let mut conn = connect(&DatabaseUrl::parse(&app.db.url).unwrap()).unwrap();
    match &mut conn {
        DbConnection::Sqlite(c) => c.batch_execute(sql),
        DbConnection::Pg(c) => c.batch_execute(sql),
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A failure at the end of clearing (here: writing its record, after everything else was
/// changed) leaves everything as it was: one transaction.
#[tokio::test]
async fn a_crash_half_way_leaves_the_client_untouched() {
    let (app, admin, sms) = spawn().await;
    install(&app, &admin).await;
    let filled = fill(&app, &admin, &sms).await;
    if app.db.is_postgres() {
        execute(
            &app,
            "CREATE FUNCTION simulated_crash() RETURNS trigger AS $$
                 BEGIN RAISE EXCEPTION 'simulated crash'; END $$ LANGUAGE plpgsql;
             CREATE TRIGGER crash BEFORE INSERT ON client_clearings
                 FOR EACH ROW EXECUTE FUNCTION simulated_crash();",
        );
    } else {
        execute(
            &app,
            "CREATE TRIGGER crash BEFORE INSERT ON client_clearings
                 BEGIN SELECT RAISE(ABORT, 'simulated crash'); END;",
        );
    }
    let before = dump(&app);
    let failed = app
        .request(&clear_call(&filled.client_id, false), Some(&admin))
        .await;
    assert_eq!(failed.status(), 500, "the simulated crash surfaces");
    assert_eq!(dump(&app), before, "a failed clearing changed the database");
    // Every credential still works, and the client is not marked cleared.
    assert_eq!(
        app.get("/api/v1/me", Some(&filled.api_token))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.get("/api/v1/me", Some(access(&filled.anna_tokens)))
            .await
            .status(),
        200
    );

    execute(
        &app,
        if app.db.is_postgres() {
            "DROP TRIGGER crash ON client_clearings;"
        } else {
            "DROP TRIGGER crash;"
        },
    );
    let report = json_ok(
        app.request(&clear_call(&filled.client_id, false), Some(&admin))
            .await,
        200,
    )
    .await;
    assert_eq!(report["dry_run"], false);
    assert_eq!(
        app.get("/api/v1/me", Some(&filled.api_token))
            .await
            .status(),
        401
    );
}

/// How many auth events still hold a sealed origin.
fn sealed_origins(app: &TestApp) -> usize {
    dump(app)[&("auth_events".to_owned(), "sealed_origin".to_owned())]
        .iter()
        .flatten()
        .count()
}

/// Waits (up to 10 s) until every clearing's sweep of sealed origins is done, as
/// `client_clearings.origins_swept_at` says.
pub(crate) async fn swept(app: &TestApp) {
    for _ in 0..200 {
        let done = dump(app)[&("client_clearings".to_owned(), "origins_swept_at".to_owned())]
            .iter()
            .all(Option::is_some);
        if done {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the sweep after a clearing did not finish in 10 s");
}

/// The users' events hold their origins sealed; after `clear-data` has answered, the
/// unreadable sealed values go too, and the job finds nothing left.
#[tokio::test]
async fn clear_data_then_sweeps_the_sealed_origins_of_its_events() {
    let (app, admin, sms) = spawn().await;
    install(&app, &admin).await;
    let filled = fill(&app, &admin, &sms).await;
    assert!(sealed_origins(&app) > 0, "the users' events are sealed");
    json_ok(
        app.request(&clear_call(&filled.client_id, false), Some(&admin))
            .await,
        200,
    )
    .await;
    swept(&app).await;
    assert_eq!(
        sealed_origins(&app),
        0,
        "the sweep after clear-data left sealed origins"
    );
    assert_eq!(app.run_job(api::jobs::CLEARED_ORIGIN_SWEEP).await, Some(0));
}

/// A clearing that did not come through `clear-data` (as the scheduled cleaning's): the job
/// `cleared_origin_sweep` removes its events' sealed origins, once.
#[tokio::test]
async fn the_sweep_job_finishes_a_clearing_left_unswept() {
    let (app, admin, sms) = spawn().await;
    install(&app, &admin).await;
    let filled = fill(&app, &admin, &sms).await;
    let client_id = Uuid::parse_str(&filled.client_id).unwrap();
    app.store()
        .clear_client(
            client_id,
            domain::gdpr::ClearedBy::Schedule,
            "test",
            false,
            app.now(),
        )
        .unwrap();
    let sealed = sealed_origins(&app);
    assert!(sealed > 0, "a clearing destroys keys, it does not sweep");
    assert_eq!(
        app.run_job(api::jobs::CLEARED_ORIGIN_SWEEP).await,
        Some(sealed)
    );
    assert_eq!(sealed_origins(&app), 0);
    assert_eq!(app.run_job(api::jobs::CLEARED_ORIGIN_SWEEP).await, Some(0));
}
