//! Issue 9: the background jobs as the data-protection officer sees them, with their last
//! run across instances: when, how long, how much removed, the last error.

use api::jobs::{
    AUTH_LOG_PURGE, CLEARED_ORIGIN_SWEEP, INACTIVE_CLIENT_CLEANING, LEGAL_HOLD_RELEASE,
    THROTTLE_PURGE,
};
use chrono::Duration;
use domain::model::Subject;
use persistence::AuthEventRecord;
use serde_json::Value;
use uuid::Uuid;

use crate::gdpr::execute;
use crate::helpers::*;

fn job<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not listed: {list}"))
}

fn old_event(app: &TestApp, provider: Uuid) {
    app.store()
        .insert_auth_event(&AuthEventRecord {
            id: Uuid::now_v7(),
            provider_id: Some(provider),
            subject: Some(Subject::user(Uuid::now_v7())),
            method: "password".into(),
            outcome: "failure".into(),
            reason: "unknown_login_or_wrong_password".into(),
            ip: None,
            user_agent: None,
            created_at: app.now() - Duration::days(400),
        })
        .unwrap();
}

/// Runs `name` once, as the scheduler would, whatever its outcome.
async fn run(app: &TestApp, name: &'static str) {
    let jobs = app.state.jobs.clone();
    let _ = tokio::task::spawn_blocking(move || jobs.run_once(name))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_officer_sees_each_jobs_last_run_and_last_error() {
    let (app, admin, [acme]) = TestApp::with_providers(["acme"]).await;
    let dpo = app.create_employee(&admin, "dora", &["dpo"], None).await;
    // The test skips hours, which access tokens do not outlive.
    let dpo = app.lasting_token(&dpo.token).await;
    let list = json_ok(app.get("/api/v1/jobs", Some(&dpo)).await, 200).await;
    for name in [
        AUTH_LOG_PURGE,
        THROTTLE_PURGE,
        INACTIVE_CLIENT_CLEANING,
        LEGAL_HOLD_RELEASE,
        CLEARED_ORIGIN_SWEEP,
    ] {
        let entry = job(&list, name);
        assert_eq!(entry["last_run"], Value::Null, "{name}");
        assert!(entry["interval_seconds"].as_u64().unwrap() > 0);
        assert!(!entry["description"].as_str().unwrap().is_empty());
    }

    let provider: Uuid = acme.id.parse().unwrap();
    for _ in 0..3 {
        old_event(&app, provider);
    }
    let started = app.now();
    assert_eq!(app.run_job(AUTH_LOG_PURGE).await, Some(3));
    let list = json_ok(app.get("/api/v1/jobs", Some(&dpo)).await, 200).await;
    let run1 = &job(&list, AUTH_LOG_PURGE)["last_run"];
    assert_eq!(run1["outcome"], "done");
    assert_eq!(run1["removed"], 3);
    assert_eq!(run1["runs"], 1);
    assert_eq!(run1["last_error"], Value::Null);
    assert!(run1["duration_ms"].as_i64().unwrap() >= 0);
    let at: chrono::DateTime<chrono::Utc> = run1["started_at"].as_str().unwrap().parse().unwrap();
    assert!((at - started).num_seconds().abs() < 5);
    assert_eq!(job(&list, THROTTLE_PURGE)["last_run"], Value::Null);

    // A provider row the purge cannot read makes the run fail: the error is shown.
    execute(
        &app,
        &format!("UPDATE providers SET policies = 'not json' WHERE id = '{provider}'"),
    );
    app.advance(Duration::hours(1));
    run(&app, AUTH_LOG_PURGE).await;
    let list = json_ok(app.get("/api/v1/jobs", Some(&dpo)).await, 200).await;
    let failed = &job(&list, AUTH_LOG_PURGE)["last_run"];
    assert_eq!(failed["outcome"], "error");
    assert_eq!(failed["removed"], 0);
    assert_eq!(failed["runs"], 2);
    assert!(
        failed["last_error"].as_str().unwrap().contains("policies"),
        "{failed}"
    );
    assert_eq!(failed["last_success_at"], run1["started_at"]);

    // Repaired, the next run succeeds; the last error stays on record.
    execute(
        &app,
        &format!("UPDATE providers SET policies = '{{}}' WHERE id = '{provider}'"),
    );
    app.advance(Duration::hours(1));
    assert_eq!(app.run_job(AUTH_LOG_PURGE).await, Some(0));
    let list = json_ok(app.get("/api/v1/jobs", Some(&dpo)).await, 200).await;
    let again = &job(&list, AUTH_LOG_PURGE)["last_run"];
    assert_eq!(again["outcome"], "done");
    assert_eq!(again["runs"], 3);
    assert_eq!(again["last_error"], failed["last_error"]);
    assert_eq!(again["last_error_at"], failed["started_at"]);
    assert_eq!(again["last_success_at"], again["started_at"]);
}

#[tokio::test]
async fn only_admins_and_the_officer_see_the_jobs() {
    let (app, admin, _) = TestApp::with_providers(["acme"]).await;
    let jobs = Call::get("/api/v1/jobs");
    app.assert_problems(None, 401, "unauthenticated", [&jobs])
        .await;
    for role in ["support", "billing"] {
        let staff = app.create_employee(&admin, role, &[role], None).await;
        app.assert_problems(Some(&staff.token), 403, "forbidden", [&jobs])
            .await;
    }
    let user = app.register("acme", "anna@example.org").await;
    app.assert_problems(Some(user.access()), 403, "forbidden", [&jobs])
        .await;
    assert_eq!(app.request(&jobs, Some(&admin)).await.status(), 200);
}
