//! Issue 10: billing details and their legal hold. Clearing keeps them while the hold
//! runs (tax law) and the legal-hold job anonymizes them when it ends.

use api::jobs::LEGAL_HOLD_RELEASE;
use chrono::Duration;
use serde_json::{Value, json};

use crate::gdpr::{clear_call, dump, found, install, spawn};
use crate::helpers::*;

const LEGAL_NAME: &str = "Vance Webdesign Einzelunternehmen";
const TAX_ID: &str = "DE987654321";
const ADDRESS: &str = "Lindenallee 77\n10115 Berlin";

fn billing_path(client_id: &str) -> String {
    format!("/api/v1/clients/{client_id}/billing-details")
}

fn details(until: Value) -> Value {
    json!({
        "legal_name": LEGAL_NAME,
        "tax_id": TAX_ID,
        "billing_address": ADDRESS,
        "legal_hold_until": until,
    })
}

/// Billing staff write the details, support reads them, the officer may not write them;
/// bad input is refused with pointers.
#[tokio::test]
async fn billing_details_are_written_by_billing_staff() {
    let (app, admin, _sms) = spawn().await;
    let acme_id = json_ok(app.get("/api/v1/providers", Some(&admin)).await, 200).await["items"][0]
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (client, _) = app
        .client_with_user(&admin, &acme_id, "kim@example.org")
        .await;
    let path = billing_path(&client.id);
    let billing = app
        .create_employee(&admin, "bill", &["billing"], None)
        .await;
    let support = app.create_employee(&admin, "sue", &["support"], None).await;
    let dpo = app.create_employee(&admin, "dora", &["dpo"], None).await;

    app.assert_problems(Some(&support.token), 404, "not_found", [&Call::get(&path)])
        .await;
    let until = (app.now() + Duration::days(8 * 365)).to_rfc3339();
    let stored = json_ok(
        app.put(&path, Some(&billing.token), details(json!(until)))
            .await,
        200,
    )
    .await;
    assert_eq!(stored["legal_name"], LEGAL_NAME);
    assert_eq!(stored["held_after_clearing"], false);
    let read = json_ok(app.get(&path, Some(&support.token)).await, 200).await;
    assert_eq!(read, stored);

    let put = Call::put(&path, details(Value::Null));
    app.assert_problems(None, 401, "unauthenticated", [&put])
        .await;
    app.assert_problems(Some(&dpo.token), 403, "forbidden", [&put])
        .await;
    let other = app.create_provider(&admin, "other").await;
    let elsewhere = app
        .create_employee(&admin, "olga", &["billing"], Some(&[other.id.as_str()]))
        .await;
    app.assert_problems(
        Some(&elsewhere.token),
        404,
        "not_found",
        [&put, &Call::get(&path)],
    )
    .await;
    let far = (app.now() + Duration::days(31 * 366)).to_rfc3339();
    app.assert_invalid(
        Some(&billing.token),
        &[
            (
                Call::put(&path, json!({ "billing_address": "x" })),
                &["/legal_name"],
            ),
            (
                Call::put(
                    &path,
                    json!({ "legal_name": " ", "billing_address": "\u{7}" }),
                ),
                &["/billing_address", "/legal_name"],
            ),
            (
                Call::put(&path, details(json!(far))),
                &["/legal_hold_until"],
            ),
            (
                Call::put(&path, details(json!("next year"))),
                &["/legal_hold_until"],
            ),
            (
                Call::put(
                    &path,
                    json!({ "legal_name": "A", "billing_address": "B", "iban": "x" }),
                ),
                &["/iban"],
            ),
        ],
    )
    .await;
    assert_eq!(
        json_ok(app.get(&path, Some(&admin)).await, 200).await,
        stored
    );
}

/// While the hold runs, clearing keeps the billing details and says until when; the day
/// it ends, the job anonymizes them and no trace is left.
#[tokio::test]
async fn clearing_keeps_billing_details_until_the_hold_ends() {
    let (app, admin, _sms) = spawn().await;
    // An API token: the test skips years, which access tokens do not outlive.
    let admin = app.lasting_token(&admin).await;
    let signed_up = app.register("acme", "kim@example.org").await;
    let path = billing_path(&signed_up.client_id);
    let until = app.now() + Duration::days(8 * 365);
    json_ok(
        app.put(&path, Some(&admin), details(json!(until.to_rfc3339())))
            .await,
        200,
    )
    .await;
    install(&app, &admin).await;

    let report = json_ok(
        app.request(&clear_call(&signed_up.client_id, false), Some(&admin))
            .await,
        200,
    )
    .await;
    assert_eq!(report["kept"]["legal_hold"], 1);
    assert_eq!(report["deleted"]["billing_details"], 0);
    let kept_until: chrono::DateTime<chrono::Utc> = report["kept"]["legal_hold_until"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(kept_until.timestamp(), until.timestamp());
    assert!(
        report["kept"]["note"]
            .as_str()
            .unwrap()
            .contains(&until.format("%Y-%m-%d").to_string())
    );

    let held = json_ok(app.get(&path, Some(&admin)).await, 200).await;
    assert_eq!(held["legal_name"], LEGAL_NAME);
    assert_eq!(held["held_after_clearing"], true);
    let frozen = app.put(&path, Some(&admin), details(Value::Null)).await;
    assert_problem(frozen, 409, "conflict").await;
    let export_path = format!("/api/v1/clients/{}/data-export", signed_up.client_id);
    let export = json_ok(app.get(&export_path, Some(&admin)).await, 200).await;
    assert_eq!(export["billing_details"]["tax_id"], TAX_ID);
    // Only the held details remain; the person's e-mail is gone.
    let before = dump(&app);
    assert!(found(&before, "kim@example.org").is_empty());
    assert_eq!(found(&before, TAX_ID).len(), 1);

    // The day before the hold ends, nothing happens; after it, they go.
    app.advance(Duration::days(8 * 365) - Duration::days(1));
    assert_eq!(app.run_job(LEGAL_HOLD_RELEASE).await, Some(0));
    app.advance(Duration::days(2));
    assert_eq!(app.run_job(LEGAL_HOLD_RELEASE).await, Some(1));
    assert_eq!(app.run_job(LEGAL_HOLD_RELEASE).await, Some(0));
    app.assert_problems(Some(&admin), 404, "not_found", [&Call::get(&path)])
        .await;
    let after = dump(&app);
    for old in [LEGAL_NAME, TAX_ID, "Lindenallee"] {
        assert!(found(&after, old).is_empty(), "{old} is still stored");
    }
}

/// Without a running hold, clearing removes the billing details at once; a client not
/// cleared keeps its details whatever their date.
#[tokio::test]
async fn without_a_hold_clearing_removes_billing_details() {
    let (app, admin, _sms) = spawn().await;
    let gone = app.register("acme", "kim@example.org").await;
    let past = app.register("acme", "pat@example.org").await;
    let kept = app.register("acme", "kept@example.org").await;
    json_ok(
        app.put(
            &billing_path(&gone.client_id),
            Some(&admin),
            details(Value::Null),
        )
        .await,
        200,
    )
    .await;
    let yesterday = (app.now() - Duration::days(1)).to_rfc3339();
    json_ok(
        app.put(
            &billing_path(&past.client_id),
            Some(&admin),
            details(json!(yesterday)),
        )
        .await,
        200,
    )
    .await;
    let mut other = details(json!(yesterday));
    other["tax_id"] = json!("ATU12345678");
    json_ok(
        app.put(&billing_path(&kept.client_id), Some(&admin), other)
            .await,
        200,
    )
    .await;
    install(&app, &admin).await;

    let dry = json_ok(
        app.request(&clear_call(&gone.client_id, true), Some(&admin))
            .await,
        200,
    )
    .await;
    assert_eq!(dry["deleted"]["billing_details"], 1);
    assert_eq!(
        json_ok(
            app.get(&billing_path(&gone.client_id), Some(&admin)).await,
            200
        )
        .await["tax_id"],
        TAX_ID
    );
    for client in [&gone, &past] {
        let report = json_ok(
            app.request(&clear_call(&client.client_id, false), Some(&admin))
                .await,
            200,
        )
        .await;
        assert_eq!(report["deleted"]["billing_details"], 1);
        assert_eq!(report["kept"]["legal_hold"], 0);
        assert_eq!(report["kept"]["legal_hold_until"], Value::Null);
        app.assert_problems(
            Some(&admin),
            404,
            "not_found",
            [&Call::get(billing_path(&client.client_id))],
        )
        .await;
    }
    assert_eq!(app.run_job(LEGAL_HOLD_RELEASE).await, Some(0));
    let left = dump(&app);
    assert!(found(&left, TAX_ID).is_empty());
    assert_eq!(
        found(&left, "ATU12345678").len(),
        1,
        "the other client keeps its details"
    );
}
