//! The background jobs as the data-protection officer sees them (GDPR Art. 5(2),
//! accountability): each job, what it does, how often, and its last run across all
//! instances: when, how long, how much it removed, and its last error.

use actix_web::web;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::resource;
use super::responses::NeedsPermission;
use crate::extract::{Staff, need};
use crate::problem::ApiResult;
use crate::state::State;

#[derive(Debug, Serialize, ToSchema)]
pub struct JobResponse {
    #[schema(example = "auth_log_purge")]
    pub name: String,
    pub description: String,
    /// Seconds between two runs on each instance (one of them does the work).
    pub interval_seconds: u64,
    /// The last run that did its work (on any instance); `null` before the first.
    pub last_run: Option<JobRunResponse>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobRunResponse {
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    #[schema(value_type = super::schemas::JobOutcome)]
    pub outcome: String,
    /// What the run removed or changed (events deleted, clients cleared…); 0 after an error.
    pub removed: i64,
    /// When a run last succeeded.
    pub last_success_at: Option<DateTime<Utc>>,
    /// The last error and when it happened, even if later runs succeeded.
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// Runs recorded so far.
    pub runs: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobList {
    pub items: Vec<JobResponse>,
}

/// The background jobs and their last runs.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", operation_id = "list_jobs",
    security(("bearer" = []), ("api_token" = [])),
    responses((status = 200, body = JobList), NeedsPermission))]
pub async fn list_jobs(
    state: State,
    _staff: Staff<need::JobsRead>,
) -> ApiResult<web::Json<JobList>> {
    let runs = state.db(|store| Ok(store.job_runs()?)).await?;
    let items = state
        .jobs
        .schedule()
        .into_iter()
        .map(|(name, description, interval)| JobResponse {
            name: name.to_owned(),
            description: description.to_owned(),
            interval_seconds: interval.as_secs(),
            last_run: runs
                .iter()
                .find(|r| r.name == name)
                .map(|r| JobRunResponse {
                    started_at: r.last_started_at,
                    duration_ms: r.last_duration_ms,
                    outcome: r.last_outcome.clone(),
                    removed: r.last_removed,
                    last_success_at: r.last_success_at,
                    last_error: r.last_error.clone(),
                    last_error_at: r.last_error_at,
                    runs: r.runs,
                }),
        })
        .collect();
    Ok(web::Json(JobList { items }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/jobs").get(list_jobs));
}

#[derive(OpenApi)]
#[openapi(paths(list_jobs))]
struct Doc;

pub fn document() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
