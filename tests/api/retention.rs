//! The auth log is kept only as long as each provider's retention says (GDPR Art. 5(1)(e)),
//! purged in small batches by a job that runs once across instances.

use api::jobs::AUTH_LOG_PURGE;
use chrono::Duration;
use domain::model::Subject;
use persistence::{AuthEventFilter, AuthEventRecord, PageRequest};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::*;

/// The address the events made here come from, so they are told apart from real ones.
const IP: &str = "198.51.100.7";

/// Stores a failed sign-in made `age_days` (and a minute) ago, by the app's clock.
fn insert_event(app: &TestApp, provider: Option<Uuid>, age_days: i64) {
    let event = AuthEventRecord {
        id: Uuid::now_v7(),
        provider_id: provider,
        subject: Some(Subject::user(Uuid::now_v7())),
        method: "password".into(),
        outcome: "failure".into(),
        reason: "unknown_login_or_wrong_password".into(),
        ip: Some(IP.into()),
        user_agent: Some("test".into()),
        created_at: app.now() - Duration::days(age_days) - Duration::minutes(1),
    };
    app.store().insert_auth_event(&event).unwrap();
}

/// The ages in days of the events `insert_event` stored for `provider` that are left.
fn ages(app: &TestApp, provider: Option<Uuid>) -> Vec<i64> {
    let page = app
        .store()
        .list_auth_events(
            &AuthEventFilter::default(),
            &domain::permission::ProviderScope::All,
            PageRequest {
                after: None,
                limit: 200,
            },
        )
        .unwrap();
    let now = app.now();
    let mut ages: Vec<i64> = page
        .items
        .iter()
        .filter(|e| e.provider_id == provider && e.ip.as_deref() == Some(IP))
        .map(|e| (now - e.created_at).num_days())
        .collect();
    ages.sort();
    ages
}

#[tokio::test]
async fn each_provider_keeps_its_log_only_as_long_as_its_policy_says() {
    let app = TestApp::builder()
        .settings(|s| s.employee_auth_log_retention_days = 30)
        .spawn()
        .await;
    let admin = app.admin_token().await;
    let short = app.create_provider(&admin, "short").await;
    let long = app.create_provider(&admin, "long").await;
    let path = format!("/api/v1/providers/{}/policies", short.id);
    app.update(&admin, &path, |p| p["auth_log_retention_days"] = json!(10))
        .await;
    let short_id = Uuid::parse_str(&short.id).unwrap();
    let long_id = Uuid::parse_str(&long.id).unwrap();

    for provider in [Some(short_id), Some(long_id), None] {
        for age in [5, 20, 200] {
            insert_event(&app, provider, age);
        }
    }
    assert_eq!(
        app.run_job(AUTH_LOG_PURGE).await,
        Some(4),
        "short: 20 and 200 days; long (180): 200; none (30): 200"
    );
    assert_eq!(ages(&app, Some(short_id)), [5]);
    assert_eq!(ages(&app, Some(long_id)), [5, 20]);
    assert_eq!(ages(&app, None), [5, 20]);
    // Nothing more to do.
    assert_eq!(app.run_job(AUTH_LOG_PURGE).await, Some(0));
}

#[tokio::test]
async fn the_purge_runs_in_batches_until_done() {
    let app = spawn_app().await;
    for _ in 0..25 {
        insert_event(&app, None, 400);
    }
    assert_eq!(
        app.store().purge_auth_events(None, app.now(), 10).unwrap(),
        10,
        "one batch"
    );
    let deleted = api::jobs::purge_auth_log(app.store(), "test", 180, 4, app.now()).unwrap();
    assert_eq!(deleted, Some(15));
    assert!(ages(&app, None).is_empty());
}

#[tokio::test]
async fn only_one_instance_holds_the_purge_lease() {
    let app = spawn_app().await;
    let store = app.store();
    let now = app.now();
    let ten = Duration::minutes(10);
    assert!(store.try_lease("job", "a", now, ten).unwrap());
    assert!(
        !store.try_lease("job", "b", now, ten).unwrap(),
        "a holds it"
    );
    assert!(store.try_lease("job", "a", now, ten).unwrap(), "a renews");
    // a crashed: its lease runs out and b takes over.
    assert!(
        store
            .try_lease("job", "b", now + Duration::minutes(11), ten)
            .unwrap()
    );
    assert!(
        !store
            .try_lease("job", "a", now + Duration::minutes(12), ten)
            .unwrap()
    );
    store.release_lease("job", "b").unwrap();
    assert!(
        store
            .try_lease("job", "a", now + Duration::minutes(12), ten)
            .unwrap()
    );

    // While another instance holds the purge's lease, this one does nothing ...
    assert!(
        store
            .try_lease(AUTH_LOG_PURGE, "other", app.now(), ten)
            .unwrap()
    );
    insert_event(&app, None, 400);
    assert_eq!(app.run_job(AUTH_LOG_PURGE).await, None);
    assert_eq!(ages(&app, None).len(), 1);
    // ... until the other's lease runs out.
    app.advance(ten + Duration::minutes(1));
    assert_eq!(app.run_job(AUTH_LOG_PURGE).await, Some(1));
    assert!(ages(&app, None).is_empty());
}

#[tokio::test]
async fn the_server_runs_the_purge_on_its_own() {
    let app = TestApp::builder()
        .settings(|s| {
            s.auth_log_purge_interval = std::time::Duration::from_millis(200);
            s.employee_auth_log_retention_days = 30;
        })
        .spawn()
        .await;
    let mut runs = app.state.jobs.finished_runs();
    insert_event(&app, None, 40);
    insert_event(&app, None, 1);
    // A run that began before the events were stored may have missed them: the first run
    // that saw them is the one that counts. The timeout only stops a hang.
    let purged = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            runs.changed().await.expect("the scheduler is running");
            if ages(&app, None) == [1] {
                return;
            }
        }
    })
    .await;
    assert!(
        purged.is_ok(),
        "no scheduled run purged the old event: {:?}",
        ages(&app, None)
    );
}
