//! A person's data export (GDPR Art. 15 access, Art. 20 portability): everything held about
//! a client and its users, or about the signed-in user, as one JSON document. Secrets are
//! never part of it: no password hash, token or key, only their metadata.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use persistence::{ClientExport, UserExport};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use super::auth_events::AuthEventResponse;
use super::billing::{BillingDetailsResponse, billing_response};
use super::clients::{ClientResponse, visible_client};
use super::consents::ConsentRecordResponse;
use super::resource;
use super::responses::{NeedsPermission, NotFound};
use super::schemas::ApiTokenScopeName;
use super::users::UserResponse;
use crate::extract::{Actor, Principal, Staff, need};
use crate::problem::{ApiError, ApiResult};
use crate::state::State;

/// A session, ended ones too.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedSessionResponse {
    pub id: Uuid,
    /// The method that started it.
    #[schema(value_type = super::schemas::AuthMethodName)]
    pub method: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An API token's metadata; never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedApiTokenResponse {
    pub id: Uuid,
    pub name: String,
    #[schema(value_type = ApiTokenScopeName)]
    pub scope: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A one-time key issued by staff; never the key.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedTemporaryKeyResponse {
    pub id: Uuid,
    /// The employee who issued it.
    pub issued_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// An account at an identity provider (Google) linked to the user.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedLinkResponse {
    pub issuer: String,
    /// The user's id at the identity provider.
    pub subject: String,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// The user's second factors; never a secret or a code.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedSecondFactorsResponse {
    pub totp_enrolled_at: Option<DateTime<Utc>>,
    pub totp_confirmed_at: Option<DateTime<Utc>>,
    /// Recovery codes issued and not used yet.
    pub recovery_codes_left: i64,
}

/// One user and everything held about them.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedUser {
    pub profile: UserResponse,
    pub sessions: Vec<ExportedSessionResponse>,
    pub api_tokens: Vec<ExportedApiTokenResponse>,
    pub temporary_keys: Vec<ExportedTemporaryKeyResponse>,
    /// Their auth log, oldest first, with addresses and user agents.
    pub auth_events: Vec<AuthEventResponse>,
    /// Consent decisions, oldest first.
    pub consents: Vec<ConsentRecordResponse>,
    /// Accounts at identity providers (Google) linked to them.
    pub links: Vec<ExportedLinkResponse>,
    pub second_factors: ExportedSecondFactorsResponse,
}

/// Everything held about a client and its users (or, from `/me/data-export`, about the
/// signed-in user and their client's profile).
#[derive(Debug, Serialize, ToSchema)]
pub struct DataExport {
    /// `1`: the layout of this document; a new layout gets a new number.
    pub format_version: u32,
    pub exported_at: DateTime<Utc>,
    pub client: ClientResponse,
    /// The client's billing details, if stored (kept under a legal hold after clearing).
    pub billing_details: Option<BillingDetailsResponse>,
    /// When the client's data was cleared (then the profile holds random values).
    pub cleared_at: Option<DateTime<Utc>>,
    pub users: Vec<ExportedUser>,
}

fn exported_user(u: UserExport) -> ExportedUser {
    ExportedUser {
        profile: u.user.into(),
        sessions: u
            .sessions
            .into_iter()
            .map(|s| ExportedSessionResponse {
                id: s.session.id,
                method: s.session.method,
                ip: s.session.ip,
                user_agent: s.session.user_agent,
                created_at: s.session.created_at,
                last_seen_at: s.session.last_seen_at,
                expires_at: s.session.expires_at,
                revoked_at: s.revoked_at,
            })
            .collect(),
        api_tokens: u
            .api_tokens
            .into_iter()
            .map(|t| ExportedApiTokenResponse {
                id: t.token.id,
                name: t.token.name,
                scope: t.token.scope,
                created_at: t.token.created_at,
                expires_at: t.token.expires_at,
                last_used_at: t.token.last_used_at,
                revoked_at: t.revoked_at,
            })
            .collect(),
        temporary_keys: u
            .temporary_keys
            .into_iter()
            .map(|k| ExportedTemporaryKeyResponse {
                id: k.id,
                issued_by: k.issued_by,
                created_at: k.created_at,
                expires_at: k.expires_at,
                used_at: k.used_at,
            })
            .collect(),
        auth_events: u.auth_events.into_iter().map(Into::into).collect(),
        consents: u.consents.into_iter().map(Into::into).collect(),
        links: u
            .links
            .into_iter()
            .map(|l| ExportedLinkResponse {
                issuer: l.issuer,
                subject: l.subject,
                email: l.email,
                created_at: l.created_at,
                last_used_at: l.last_used_at,
            })
            .collect(),
        second_factors: ExportedSecondFactorsResponse {
            totp_enrolled_at: u.second_factors.totp_enrolled_at,
            totp_confirmed_at: u.second_factors.totp_confirmed_at,
            recovery_codes_left: u.second_factors.recovery_codes_left,
        },
    }
}

/// The document as a download: browsers save it under a telling name.
fn download(export: ClientExport, now: DateTime<Utc>, name: String) -> HttpResponse {
    let document = DataExport {
        format_version: 1,
        exported_at: now,
        billing_details: export
            .billing
            .map(|b| billing_response(export.client.id, b, export.cleared_at.is_some())),
        client: export.client.into(),
        cleared_at: export.cleared_at,
        users: export.users.into_iter().map(exported_user).collect(),
    };
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(document)
}

/// Everything held about a client and all its users, as one JSON document (GDPR Art. 15
/// and 20), for the data-protection officer. Secrets are left out.
#[utoipa::path(get, path = "/api/v1/clients/{id}/data-export", tag = "clients", operation_id = "export_client_data",
    params(("id" = Uuid, Path)), security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The export", body = DataExport,
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"data-export-client-<id>.json\"`"))),
        NeedsPermission, NotFound,
    ))]
pub async fn export_client_data(
    state: State,
    staff: Staff<need::ClientsExportData>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let client = visible_client(&state, &staff, &id).await?;
    let export = state
        .db(move |store| {
            store
                .export_client(client.id)
                .map_err(ApiError::from_store("client"))
        })
        .await?;
    log::info!(
        "data of client {} exported by employee {}",
        client.id,
        staff.employee.id
    );
    Ok(download(
        export,
        state.now(),
        format!("data-export-client-{}.json", client.id),
    ))
}

/// Everything held about me, as one JSON document (GDPR Art. 15 and 20). Users only:
/// staff ask the data-protection officer.
#[utoipa::path(get, path = "/api/v1/me/data-export", tag = "me", operation_id = "export_my_data",
    security(("bearer" = []), ("api_token" = []), ("authinfo" = [])),
    responses(
        (status = 200, description = "The export", body = DataExport,
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"data-export-<id>.json\"`"))),
        NeedsPermission,
    ))]
pub async fn export_my_data(state: State, principal: Principal) -> ApiResult<HttpResponse> {
    let Actor::User(user) = principal.actor else {
        return Err(ApiError::Forbidden(
            "the data export is for users; employees ask the data-protection officer".into(),
        ));
    };
    let id = user.id;
    let export = state
        .db(move |store| store.export_user(id).map_err(ApiError::from_store("user")))
        .await?;
    Ok(download(
        export,
        state.now(),
        format!("data-export-{id}.json"),
    ))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/clients/{id}/data-export").get(export_client_data))
        .service(resource("/api/v1/me/data-export").get(export_my_data));
}

#[derive(OpenApi)]
#[openapi(paths(export_client_data, export_my_data))]
struct Doc;

pub fn document() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
