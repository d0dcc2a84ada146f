//! Issue 10: the data export (GDPR Art. 15 and 20) for the data-protection officer and for
//! the user themself.

use serde_json::{Value, json};

use crate::gdpr::{
    EMAIL, EMAIL2, GOOGLE_SUBJECT, IP, IP2, NAME, NAME2, PHONE, TOKEN_NAME, UA, UA2, clear_call,
    fill, install, link_google, spawn,
};
use crate::helpers::{Call, PASSWORD, access, json_ok};

fn user<'a>(export: &'a Value, email: &str) -> &'a Value {
    export["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["profile"]["email"] == email)
        .unwrap_or_else(|| panic!("{email} is not in {export:#}"))
}

/// The officer's export holds the client, both users with their profiles, sessions (with
/// addresses), API tokens, one-time keys and auth events, and no secret at all.
#[tokio::test]
async fn the_client_export_holds_everything_and_no_secret() {
    let (app, admin, sms) = spawn().await;
    let filled = fill(&app, &admin, &sms).await;
    let dpo = app.create_employee(&admin, "dora", &["dpo"], None).await;
    let (state_hash, nonce, verifier) = link_google(&app, &filled.anna_id);
    let path = format!("/api/v1/clients/{}/data-export", filled.client_id);
    let response = app.get(&path, Some(&dpo.token)).await;
    assert_eq!(response.status(), 200);
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        disposition,
        format!(
            "attachment; filename=\"data-export-client-{}.json\"",
            filled.client_id
        )
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    let text = response.text().await.unwrap();
    let export: Value = serde_json::from_str(&text).unwrap();

    assert_eq!(export["format_version"], 1);
    assert_eq!(export["client"]["id"], filled.client_id.as_str());
    assert_eq!(export["client"]["name"], NAME);
    assert_eq!(export["cleared_at"], Value::Null);
    assert_eq!(export["users"].as_array().unwrap().len(), 2);

    let anna = user(&export, EMAIL);
    assert_eq!(anna["profile"]["name"], NAME);
    assert_eq!(anna["profile"]["id"], filled.anna_id.as_str());
    let session = &anna["sessions"][0];
    assert_eq!(
        (&session["ip"], &session["user_agent"]),
        (&json!(IP), &json!(UA))
    );
    assert_eq!(anna["api_tokens"][0]["name"], TOKEN_NAME);
    assert!(anna["api_tokens"][0]["last_used_at"].is_string());
    let reasons: Vec<&str> = anna["auth_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert!(
        reasons.contains(&"failure") && reasons.contains(&"success"),
        "{reasons:?}"
    );
    assert!(
        anna["auth_events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["subject_id"] == filled.anna_id.as_str())
    );

    // Second factors: what there is, never the secret or a code.
    assert!(
        anna["second_factors"]["totp_confirmed_at"].is_string(),
        "{anna}"
    );
    assert_eq!(anna["second_factors"]["recovery_codes_left"], 10);
    for secret in &filled.second_factors {
        assert!(
            !text.contains(secret.as_str()),
            "the export holds a second factor's secret"
        );
    }
    assert_eq!(anna["links"][0]["subject"], GOOGLE_SUBJECT);
    assert_eq!(anna["links"][0]["issuer"], "https://accounts.google.com");
    for secret in [&state_hash, &nonce, &verifier] {
        assert!(
            !text.contains(secret.as_str()),
            "the export holds a sign-in flow's secret"
        );
    }

    let oswald = user(&export, EMAIL2);
    assert_eq!(oswald["profile"]["name"], NAME2);
    assert_eq!(oswald["profile"]["phone"], PHONE);
    assert_eq!(oswald["temporary_keys"].as_array().unwrap().len(), 2);
    let used: Vec<bool> = oswald["temporary_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["used_at"].is_string())
        .collect();
    assert_eq!(used, [true, false]);
    assert_eq!(oswald["sessions"][0]["ip"], IP2);
    assert_eq!(oswald["sessions"][0]["user_agent"], UA2);

    // No secret: not the API token, not its prefix, not the one-time key, not a hash.
    let prefix: String = filled.api_token.chars().take(12).collect();
    for secret in [
        filled.api_token.as_str(),
        prefix.as_str(),
        filled.unused_key.as_str(),
        access(&filled.anna_tokens),
        filled.anna_tokens["refresh_token"].as_str().unwrap(),
        "$argon2",
        PASSWORD,
    ] {
        assert!(
            !text.contains(secret),
            "the export holds a secret: {secret}"
        );
    }
}

/// Only the data-protection officer and admins export; a provider-limited officer sees only
/// their providers' clients; ids that are no client answer 404.
#[tokio::test]
async fn the_client_export_needs_the_permission() {
    let (app, admin, sms) = spawn().await;
    let filled = fill(&app, &admin, &sms).await;
    let path = format!("/api/v1/clients/{}/data-export", filled.client_id);
    let export = Call::get(&path);
    app.assert_problems(None, 401, "unauthenticated", [&export])
        .await;
    for role in ["support", "billing"] {
        let staff = app.create_employee(&admin, role, &[role], None).await;
        app.assert_problems(Some(&staff.token), 403, "forbidden", [&export])
            .await;
    }
    app.assert_problems(
        Some(access(&filled.anna_tokens)),
        403,
        "forbidden",
        [&export],
    )
    .await;
    let other = app.create_provider(&admin, "other").await;
    let elsewhere = app
        .create_employee(&admin, "olga", &["dpo"], Some(&[other.id.as_str()]))
        .await;
    app.assert_problems(Some(&elsewhere.token), 404, "not_found", [&export])
        .await;
    let missing = Call::get("/api/v1/clients/00000000-0000-4000-8000-000000000000/data-export");
    let malformed = Call::get("/api/v1/clients/not-an-id/data-export");
    app.assert_problems(Some(&admin), 404, "not_found", [&missing])
        .await;
    let bad = app.request(&malformed, Some(&admin)).await;
    assert!(bad.status().is_client_error(), "{}", bad.status());
    assert_eq!(app.request(&export, Some(&admin)).await.status(), 200);
}

/// A user exports their own data, and only theirs; staff have no personal export.
#[tokio::test]
async fn a_user_exports_their_own_data() {
    let (app, admin, sms) = spawn().await;
    let filled = fill(&app, &admin, &sms).await;
    let mine = Call::get("/api/v1/me/data-export");
    for token in [access(&filled.anna_tokens), filled.api_token.as_str()] {
        let export = json_ok(app.request(&mine, Some(token)).await, 200).await;
        assert_eq!(export["client"]["id"], filled.client_id.as_str());
        let users = export["users"].as_array().unwrap();
        assert_eq!(users.len(), 1, "only the caller: {export:#}");
        assert_eq!(users[0]["profile"]["email"], EMAIL);
        assert!(!export.to_string().contains(EMAIL2));
    }
    let oswald = json_ok(app.request(&mine, Some(&filled.oswald_access)).await, 200).await;
    assert_eq!(oswald["users"][0]["profile"]["email"], EMAIL2);
    assert_eq!(oswald["users"][0]["api_tokens"], json!([]));
    app.assert_problems(None, 401, "unauthenticated", [&mine])
        .await;
    app.assert_problems(Some(&admin), 403, "forbidden", [&mine])
        .await;
}

/// After clearing, the export says so and holds none of the old values.
#[tokio::test]
async fn a_cleared_client_exports_no_old_value() {
    let (app, admin, sms) = spawn().await;
    let filled = fill(&app, &admin, &sms).await;
    install(&app, &admin).await;
    json_ok(
        app.request(&clear_call(&filled.client_id, false), Some(&admin))
            .await,
        200,
    )
    .await;
    let path = format!("/api/v1/clients/{}/data-export", filled.client_id);
    let export = json_ok(app.get(&path, Some(&admin)).await, 200).await;
    assert!(export["cleared_at"].is_string());
    let text = export.to_string().to_lowercase();
    for old in [
        EMAIL, EMAIL2, NAME, NAME2, PHONE, IP, IP2, UA, UA2, TOKEN_NAME,
    ] {
        assert!(
            !text.contains(&old.to_lowercase()),
            "{old} is still exported"
        );
    }
    assert_eq!(export["users"].as_array().unwrap().len(), 2);
}
