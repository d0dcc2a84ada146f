//! The auth log, for employees allowed to read it.

use actix_web::web;
use chrono::{DateTime, Utc};
use domain::auth_method::AuthMethod;
use persistence::{AuthEventFilter, AuthEventRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use super::params::PageQuery;
use super::resource;
use super::responses::{BadQuery, NeedsPermission, PROBLEM_JSON};
use super::schemas::{AuthEventMethodName, AuthEventReason, AuthOutcomeName, SubjectKind};
use crate::extract::{Staff, need};
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::State;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuthEventQuery {
    pub provider_id: Option<Uuid>,
    /// A user's or an employee's id.
    pub subject_id: Option<Uuid>,
    /// A sign-in method, or `refresh`, `session` (logout) or `consent` (the acceptance step
    /// of a `consent_required` sign-in).
    #[param(value_type = Option<AuthEventMethodName>)]
    pub method: Option<String>,
    /// `success` or `failure`.
    #[param(value_type = Option<AuthOutcomeName>)]
    pub outcome: Option<String>,
    /// From this time on (inclusive, RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Before this time (exclusive, RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(value_type = Option<super::schemas::CursorName>)]
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthEventResponse {
    pub id: Uuid,
    pub provider_id: Option<Uuid>,
    /// Set when the attempt could be tied to someone.
    #[schema(value_type = Option<SubjectKind>)]
    pub subject_kind: Option<String>,
    pub subject_id: Option<Uuid>,
    #[schema(value_type = AuthEventMethodName)]
    pub method: String,
    #[schema(value_type = AuthOutcomeName)]
    pub outcome: String,
    #[schema(value_type = AuthEventReason)]
    pub reason: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<AuthEventRecord> for AuthEventResponse {
    fn from(e: AuthEventRecord) -> Self {
        Self {
            id: e.id,
            provider_id: e.provider_id,
            subject_kind: e.subject.map(|s| s.kind.as_str().to_owned()),
            subject_id: e.subject.map(|s| s.id),
            method: e.method,
            outcome: e.outcome,
            reason: e.reason,
            ip: e.ip,
            user_agent: e.user_agent,
            created_at: e.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthEventPage {
    pub items: Vec<AuthEventResponse>,
    #[schema(value_type = Option<super::schemas::CursorName>)]
    pub next_cursor: Option<String>,
}

const METHODS_BEYOND_PROVIDERS: [&str; 7] = [
    crate::auth::log::REFRESH,
    crate::auth::log::SESSION,
    crate::auth::log::MFA,
    crate::auth::log::CONSENT,
    "totp",
    "recovery_code",
    "sms",
];

/// The auth log, newest first. An employee limited to some providers sees only theirs.
#[utoipa::path(get, path = "/api/v1/auth-events", tag = "auth-events", operation_id = "list_auth_events",
    params(AuthEventQuery), security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, body = AuthEventPage),
        NeedsPermission, BadQuery,
        (status = 404, description = "A provider outside the employee's scope", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn list_auth_events(
    state: State,
    staff: Staff<need::AuthEventsRead>,
    query: crate::extract::Query<AuthEventQuery>,
) -> ApiResult<web::Json<AuthEventPage>> {
    let q = query.into_inner();
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .to_request()?;
    if let Some(provider) = q.provider_id {
        staff.check_provider(provider, "provider")?;
    }
    if let Some(method) = q.method.as_deref()
        && AuthMethod::parse(method).is_none()
        && !METHODS_BEYOND_PROVIDERS.contains(&method)
    {
        return Err(ApiError::validation("/query/method", "is not a method"));
    }
    if let Some(outcome) = q.outcome.as_deref()
        && !matches!(outcome, "success" | "failure")
    {
        return Err(ApiError::validation(
            "/query/outcome",
            "must be success or failure",
        ));
    }
    let filter = AuthEventFilter {
        provider_id: q.provider_id,
        subject_id: q.subject_id,
        method: q.method,
        outcome: q.outcome,
        from: q.from,
        to: q.to,
    };
    let scope = staff.scope().clone();
    let page = state
        .db(move |store| Ok(store.list_auth_events(&filter, &scope, page)?))
        .await?;
    Ok(web::Json(AuthEventPage {
        next_cursor: page.next_cursor.map(|c| c.to_string()),
        items: page
            .items
            .into_iter()
            .map(AuthEventResponse::from)
            .collect(),
    }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/auth-events").get(list_auth_events));
}

#[derive(OpenApi)]
#[openapi(paths(list_auth_events))]
struct Doc;

pub fn document() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
