//! The audit trail of settings changes (issue 9): who changed which setting, the API's view
//! of it before and after, and when. Written by `record` after each change of a provider,
//! its methods or policies, a processor, an SMS gateway or a module.

use actix_web::web;
use chrono::{DateTime, Utc};
use persistence::AuditEventRecord;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use super::params::PageQuery;
use super::resource;
use super::responses::{BadQuery, NeedsPermission};
use crate::extract::{Staff, need};
use crate::problem::{ApiError, ApiResult};
use crate::state::{AppState, State};

/// One change to record: what, on which object, its view before and after.
pub struct Change<'a, B: Serialize, A: Serialize> {
    /// `provider.create`, `provider.policies.update`, `processor.delete`, …
    pub action: &'static str,
    pub target_kind: &'static str,
    pub target_id: String,
    pub provider_id: Option<Uuid>,
    pub before: Option<&'a B>,
    pub after: Option<&'a A>,
}

/// A creation: no `before`.
pub fn created<'a, A: Serialize>(
    action: &'static str,
    target_kind: &'static str,
    target_id: String,
    provider_id: Option<Uuid>,
    after: &'a A,
) -> Change<'a, (), A> {
    Change {
        action,
        target_kind,
        target_id,
        provider_id,
        before: None,
        after: Some(after),
    }
}

/// A change: the object's view before and after.
pub fn updated<'a, T: Serialize>(
    action: &'static str,
    target_kind: &'static str,
    target_id: String,
    provider_id: Option<Uuid>,
    before: &'a T,
    after: &'a T,
) -> Change<'a, T, T> {
    Change {
        action,
        target_kind,
        target_id,
        provider_id,
        before: Some(before),
        after: Some(after),
    }
}

/// A deletion: no `after`.
pub fn deleted<'a, B: Serialize>(
    action: &'static str,
    target_kind: &'static str,
    target_id: String,
    provider_id: Option<Uuid>,
    before: &'a B,
) -> Change<'a, B, ()> {
    Change {
        action,
        target_kind,
        target_id,
        provider_id,
        before: Some(before),
        after: None,
    }
}

/// Records a change made by `staff`. The change is already stored: a failure here is
/// logged, not answered (the caller's change stands).
pub async fn record<P, B: Serialize, A: Serialize>(
    state: &AppState,
    staff: &Staff<P>,
    change: Change<'_, B, A>,
) {
    let event = AuditEventRecord {
        id: Uuid::now_v7(),
        actor_kind: "employee".into(),
        actor_id: Some(staff.employee.id),
        action: change.action.into(),
        target_kind: change.target_kind.into(),
        target_id: Some(change.target_id),
        provider_id: change.provider_id,
        before: change.before.and_then(|b| serde_json::to_string(b).ok()),
        after: change.after.and_then(|a| serde_json::to_string(a).ok()),
        created_at: state.now(),
    };
    let action = change.action;
    if let Err(e) = state
        .db(move |store| Ok(store.insert_audit_event(&event)?))
        .await
    {
        log::error!("audit trail: {action} could not be recorded: {e:?}");
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditEventQuery {
    pub provider_id: Option<Uuid>,
    /// `provider`, `processor`, `sms_gateway`, `module`, `consent_document` or
    /// `staff_identity_provider`.
    pub target_kind: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(value_type = Option<super::schemas::CursorName>)]
    pub cursor: Option<String>,
}

const TARGET_KINDS: &[&str] = &[
    "provider",
    "processor",
    "sms_gateway",
    "module",
    "consent_document",
    "staff_identity_provider",
];

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventResponse {
    pub id: Uuid,
    /// Who made the change: an employee (the only actors so far).
    #[schema(value_type = super::schemas::SubjectKind)]
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    #[schema(example = "provider.policies.update")]
    pub action: String,
    #[schema(example = "provider")]
    pub target_kind: String,
    pub target_id: Option<String>,
    pub provider_id: Option<Uuid>,
    /// The object as the API showed it before the change (`null` for a creation).
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// The object as the API shows it after the change (`null` for a deletion).
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventPage {
    pub items: Vec<AuditEventResponse>,
    /// Pass as `cursor` for the next page; `null` on the last.
    #[schema(value_type = Option<super::schemas::CursorName>)]
    pub next_cursor: Option<String>,
}

fn parsed(text: Option<String>) -> Option<serde_json::Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

/// The audit trail of settings changes, newest first. An employee limited to some
/// providers sees only theirs.
#[utoipa::path(get, path = "/api/v1/audit-events", tag = "audit-events", operation_id = "list_audit_events",
    params(AuditEventQuery), security(("bearer" = []), ("api_token" = [])),
    responses((status = 200, body = AuditEventPage), NeedsPermission, BadQuery))]
pub async fn list_audit_events(
    state: State,
    staff: Staff<need::AuditEventsRead>,
    query: crate::extract::Query<AuditEventQuery>,
) -> ApiResult<web::Json<AuditEventPage>> {
    let q = query.into_inner();
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .to_request()?;
    if let Some(provider) = q.provider_id {
        staff.check_provider(provider, "provider")?;
    }
    if let Some(kind) = q.target_kind.as_deref()
        && !TARGET_KINDS.contains(&kind)
    {
        return Err(ApiError::validation(
            "/query/target_kind",
            format!("must be one of {}", TARGET_KINDS.join(", ")),
        ));
    }
    let scope = staff.scope().clone();
    let (provider, kind) = (q.provider_id, q.target_kind);
    let page = state
        .db(move |store| Ok(store.list_audit_events(provider, kind.as_deref(), &scope, page)?))
        .await?;
    Ok(web::Json(AuditEventPage {
        next_cursor: page.next_cursor.map(|c| c.to_string()),
        items: page
            .items
            .into_iter()
            .map(|e| AuditEventResponse {
                id: e.id,
                actor_kind: e.actor_kind,
                actor_id: e.actor_id,
                action: e.action,
                target_kind: e.target_kind,
                target_id: e.target_id,
                provider_id: e.provider_id,
                before: parsed(e.before),
                after: parsed(e.after),
                created_at: e.created_at,
            })
            .collect(),
    }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/audit-events").get(list_audit_events));
}

#[derive(OpenApi)]
#[openapi(paths(list_audit_events))]
struct Doc;

pub fn document() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
