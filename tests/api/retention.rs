//! The auth log is kept only as long as each provider's retention says (GDPR Art. 5(1)(e)),
//! purged in small batches by a job that runs once across instances.

use chrono::{Duration, Utc};
use domain::model::Subject;
use persistence::{AuthEventFilter, AuthEventRecord, PageRequest, Store};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::*;

fn event(provider: Option<Uuid>, age_days: i64) -> AuthEventRecord {
    AuthEventRecord {
        id: Uuid::now_v7(),
        provider_id: provider,
        subject: Some(Subject::user(Uuid::now_v7())),
        method: "password".into(),
        outcome: "failure".into(),
        reason: "unknown_login_or_wrong_password".into(),
        ip: Some("198.51.100.7".into()),
        user_agent: Some("test".into()),
        created_at: Utc::now() - Duration::days(age_days) - Duration::minutes(1),
    }
}

fn ages(store: &Store, provider: Option<Uuid>) -> Vec<i64> {
    let page = store
        .list_auth_events(
            &AuthEventFilter::default(),
            &domain::permission::ProviderScope::All,
            PageRequest {
                after: None,
                limit: 200,
            },
        )
        .unwrap();
    let mut ages: Vec<i64> = page
        .items
        .iter()
        .filter(|e| e.provider_id == provider && e.ip.as_deref() == Some("198.51.100.7"))
        .map(|e| (Utc::now() - e.created_at).num_days())
        .collect();
    ages.sort();
    ages
}

#[tokio::test]
async fn each_provider_keeps_its_log_only_as_long_as_its_policy_says() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let short = app.create_provider(&admin, "short").await;
    let long = app.create_provider(&admin, "long").await;
    let path = format!(
        "/api/v1/providers/{}/policies",
        short["id"].as_str().unwrap()
    );
    let mut policies = json_ok(app.get(&path, Some(&admin)).await, 200).await;
    policies["auth_log_retention_days"] = json!(10);
    json_ok(app.put(&path, Some(&admin), policies).await, 200).await;
    let short_id = Uuid::parse_str(short["id"].as_str().unwrap()).unwrap();
    let long_id = Uuid::parse_str(long["id"].as_str().unwrap()).unwrap();

    let store = Store::open(&app.settings.database_url, 2).unwrap();
    for provider in [Some(short_id), Some(long_id), None] {
        for age in [5, 20, 200] {
            store.insert_auth_event(&event(provider, age)).unwrap();
        }
    }
    let deleted = api::jobs::purge_auth_log(&store, "test", 30, 2, Utc::now()).unwrap();
    assert_eq!(
        deleted,
        Some(4),
        "short: 20 and 200 days; long (180): 200; none (30): 200"
    );
    assert_eq!(ages(&store, Some(short_id)), [5]);
    assert_eq!(ages(&store, Some(long_id)), [5, 20]);
    assert_eq!(ages(&store, None), [5, 20]);
    // Nothing more to do.
    assert_eq!(
        api::jobs::purge_auth_log(&store, "test", 30, 2, Utc::now()).unwrap(),
        Some(0)
    );
}

#[tokio::test]
async fn the_purge_runs_in_batches_until_done() {
    let app = spawn_app().await;
    let store = Store::open(&app.settings.database_url, 2).unwrap();
    for _ in 0..25 {
        store.insert_auth_event(&event(None, 400)).unwrap();
    }
    assert_eq!(
        store.purge_auth_events(None, Utc::now(), 10).unwrap(),
        10,
        "one batch"
    );
    let deleted = api::jobs::purge_auth_log(&store, "test", 180, 4, Utc::now()).unwrap();
    assert_eq!(deleted, Some(15));
    assert!(ages(&store, None).is_empty());
}

#[tokio::test]
async fn only_one_instance_holds_the_purge_lease() {
    let app = spawn_app().await;
    let store = Store::open(&app.settings.database_url, 2).unwrap();
    let now = Utc::now();
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

    // While another instance holds the purge's lease, this one does nothing.
    assert!(
        store
            .try_lease(api::jobs::AUTH_LOG_PURGE, "other", Utc::now(), ten)
            .unwrap()
    );
    store.insert_auth_event(&event(None, 400)).unwrap();
    assert_eq!(
        api::jobs::purge_auth_log(&store, "me", 180, 10, Utc::now()).unwrap(),
        None
    );
    assert_eq!(ages(&store, None).len(), 1);
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
    let store = Store::open(&app.settings.database_url, 2).unwrap();
    store.insert_auth_event(&event(None, 40)).unwrap();
    store.insert_auth_event(&event(None, 1)).unwrap();
    for _ in 0..50 {
        if ages(&store, None) == [1] {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the old event is still there: {:?}", ages(&store, None));
}
