//! GDPR client data cleaning: the optional module (installed by an administrator) and
//! clearing a client and all its users (Art. 17), in one store transaction.

use actix_web::web;
use chrono::{DateTime, Utc};
use domain::gdpr::{self, ClearReport, ClearedBy, Module};
use serde::{Deserialize, Serialize};
use utoipa::{IntoResponses, OpenApi, ToSchema};
use uuid::Uuid;

use super::audit_events as audit;
use super::clients::visible_client;
use super::resource;
use super::responses::{Invalid, NeedsPermission, NotFound, NotJson, PROBLEM_JSON};
use crate::extract::{Json, Staff, need};
use crate::jobs::SWEEP_BATCH;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::State;

#[derive(Debug, Serialize, ToSchema)]
pub struct ModuleResponse {
    #[schema(example = "gdpr_cleanup")]
    pub name: String,
    pub description: String,
    pub installed: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ModuleList {
    pub items: Vec<ModuleResponse>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetModule {
    pub installed: bool,
}

fn module_response(module: Module, installed: bool) -> ModuleResponse {
    ModuleResponse {
        name: module.as_str().into(),
        description: module.description().into(),
        installed,
    }
}

/// Lists the optional modules and whether each is installed.
#[utoipa::path(get, path = "/api/v1/modules", tag = "modules", operation_id = "list_modules",
    security(("bearer" = []), ("api_token" = [])),
    responses((status = 200, description = "Every module", body = ModuleList), NeedsPermission))]
pub async fn list_modules(
    state: State,
    _staff: Staff<need::ModulesRead>,
) -> ApiResult<web::Json<ModuleList>> {
    let modules = state.db(|store| Ok(store.modules()?)).await?;
    Ok(web::Json(ModuleList {
        items: modules
            .into_iter()
            .map(|(m, on)| module_response(m, on))
            .collect(),
    }))
}

/// Installs or uninstalls a module (`gdpr_cleanup`).
#[utoipa::path(put, path = "/api/v1/modules/{name}", tag = "modules", operation_id = "set_module",
    params(("name" = String, Path, description = "The module's name", example = "gdpr_cleanup")),
    request_body = SetModule, security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The module after the change", body = ModuleResponse),
        NeedsPermission, NotFound, Invalid, NotJson,
    ))]
pub async fn set_module(
    state: State,
    staff: Staff<need::ModulesWrite>,
    name: web::Path<String>,
    body: Json<SetModule>,
) -> ApiResult<web::Json<ModuleResponse>> {
    let module = Module::parse(&name).ok_or(ApiError::NotFound("module"))?;
    let installed = body.installed;
    let now = state.now();
    let was = state
        .db(move |store| {
            let was = store.module_installed(module)?;
            store.set_module(module, installed, now)?;
            Ok(was)
        })
        .await?;
    let after = module_response(module, installed);
    audit::record(
        &state,
        &staff,
        audit::updated(
            "module.update",
            "module",
            module.as_str().into(),
            None,
            &module_response(module, was),
            &after,
        ),
    )
    .await;
    Ok(web::Json(after))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClearData {
    /// Answer the report of what would be done, and change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Why the data is cleared (such as "erasure request of 2026-11-20, ticket 4711"); kept
    /// in the audit trail. Write no personal data here.
    #[schema(example = "erasure request, ticket 4711")]
    pub reason: String,
}

/// Rows whose personal fields were replaced by random values or removed.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnonymizedCounts {
    /// The client's name (1).
    pub clients: u64,
    /// E-mail and name replaced by random values; phone and password removed.
    pub users: u64,
    /// Names replaced.
    pub api_tokens: u64,
    /// Address and user agent removed.
    pub sessions: u64,
    /// Address and user agent removed; the events stay as evidence.
    pub auth_events: u64,
    /// Address and user agent removed; the consent records stay as evidence.
    pub consent_records: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeletedCounts {
    pub phones: u64,
    pub password_hashes: u64,
    /// Failure budgets of the users' accounts and of the addresses they used.
    pub throttle_budgets: u64,
    pub refresh_tokens: u64,
    pub temporary_keys: u64,
    /// The client's billing details, when no legal hold runs (1), or 0.
    pub billing_details: u64,
    /// One-time SMS codes sent to the users or their numbers, used or not.
    pub phone_codes: u64,
    /// TOTP factors (their secrets).
    pub totp_secrets: u64,
    /// Recovery codes, used or not.
    pub recovery_codes: u64,
    /// Sign-ins that waited for a second factor.
    pub mfa_challenges: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedCounts {
    /// Live sessions ended.
    pub sessions: u64,
    pub api_tokens: u64,
    /// Unused, unexpired one-time keys.
    pub temporary_keys: u64,
    /// Active users disabled (the client is disabled too).
    pub users_disabled: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeptCounts {
    /// Auth events kept, without address or user agent.
    pub auth_events: u64,
    /// Consent records kept as evidence (GDPR Art. 7(1)), without address or user agent.
    pub consent_records: u64,
    /// Records kept under a legal hold (tax law): the client's billing details (1), or 0.
    /// They are anonymized the day the hold ends.
    pub legal_hold: u64,
    pub legal_hold_until: Option<DateTime<Utc>>,
    pub note: String,
}

/// What clearing did (or, in a dry run, would do). A client cleared before answers the
/// report of that clearing.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClearReportResponse {
    pub client_id: Uuid,
    pub dry_run: bool,
    /// When the client was cleared; `null` in a dry run.
    pub cleared_at: Option<DateTime<Utc>>,
    pub anonymized: AnonymizedCounts,
    pub deleted: DeletedCounts,
    pub revoked: RevokedCounts,
    pub kept: KeptCounts,
}

impl From<ClearReport> for ClearReportResponse {
    fn from(r: ClearReport) -> Self {
        let gdpr::Anonymized {
            clients,
            users,
            api_tokens,
            sessions,
            auth_events,
            consent_records,
        } = r.anonymized;
        Self {
            client_id: r.client_id,
            dry_run: r.dry_run,
            cleared_at: r.cleared_at,
            anonymized: AnonymizedCounts {
                clients,
                users,
                api_tokens,
                sessions,
                auth_events,
                consent_records,
            },
            deleted: DeletedCounts {
                phones: r.deleted.phones,
                password_hashes: r.deleted.password_hashes,
                throttle_budgets: r.deleted.throttle_budgets,
                refresh_tokens: r.deleted.refresh_tokens,
                temporary_keys: r.deleted.temporary_keys,
                billing_details: r.deleted.billing_details,
                phone_codes: r.deleted.phone_codes,
                totp_secrets: r.deleted.totp_secrets,
                recovery_codes: r.deleted.recovery_codes,
                mfa_challenges: r.deleted.mfa_challenges,
            },
            revoked: RevokedCounts {
                sessions: r.revoked.sessions,
                api_tokens: r.revoked.api_tokens,
                temporary_keys: r.revoked.temporary_keys,
                users_disabled: r.revoked.users_disabled,
            },
            kept: KeptCounts {
                auth_events: r.kept.auth_events,
                consent_records: r.kept.consent_records,
                legal_hold: r.kept.legal_hold,
                legal_hold_until: r.kept.legal_hold_until,
                note: r.kept.note,
            },
        }
    }
}

/// 409: the module is not installed.
#[derive(IntoResponses)]
#[response(
    status = 409,
    description = "`module_not_installed`: the gdpr_cleanup module is not installed",
    content_type = PROBLEM_JSON
)]
pub struct NotInstalled(pub Problem);

/// Clears a client and all its users in one transaction: disables them, revokes every
/// session, refresh token, API token and one-time key, replaces names and e-mails by random
/// values (e-mails end in `@anonymized.invalid`), removes phones and passwords, strips
/// addresses and user agents from their sessions and auth events, deletes their failure
/// budgets, and records who cleared it, when and why. `dry_run` answers the same report and
/// changes nothing; a client cleared before answers its stored report.
#[utoipa::path(post, path = "/api/v1/clients/{id}/clear-data", tag = "clients", operation_id = "clear_client_data",
    params(("id" = Uuid, Path)), request_body = ClearData, security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The report", body = ClearReportResponse),
        NeedsPermission, NotFound, Invalid, NotJson, NotInstalled,
    ))]
pub async fn clear_data(
    state: State,
    staff: Staff<need::ClientsClearData>,
    id: web::Path<String>,
    body: Json<ClearData>,
) -> ApiResult<web::Json<ClearReportResponse>> {
    let client = visible_client(&state, &staff, &id).await?;
    let installed = state
        .db(|store| Ok(store.module_installed(Module::GdprCleanup)?))
        .await?;
    if !installed {
        return Err(ApiError::ModuleNotInstalled(Module::GdprCleanup.as_str()));
    }
    let body = body.into_inner();
    let reason = body.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::validation(
            "/reason",
            "must be 1 to 500 characters",
        ));
    }
    let employee = staff.employee.id;
    let now = state.now();
    let report = state
        .db(move |store| {
            store
                .clear_client(
                    client.id,
                    ClearedBy::Employee(employee),
                    &reason,
                    body.dry_run,
                    now,
                )
                .map_err(ApiError::from_store("client"))
        })
        .await?;
    if !report.dry_run {
        log::info!(
            "client {} cleared by employee {employee} ({} users)",
            client.id,
            report.anonymized.users
        );
        // The clearing made its events' sealed origins unreadable; they go now, in small
        // transactions, after the answer (a large client's take seconds). A failure leaves
        // them to the job `cleared_origin_sweep`.
        let store = state.store.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = store.sweep_cleared_origins(SWEEP_BATCH, now) {
                log::warn!("sweeping the origins of cleared client {}: {e}", client.id);
            }
        });
    }
    Ok(web::Json(report.into()))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/modules").get(list_modules))
        .service(resource("/api/v1/modules/{name}").put(set_module))
        .service(resource("/api/v1/clients/{id}/clear-data").post(clear_data));
}

#[derive(OpenApi)]
#[openapi(paths(list_modules, set_module, clear_data))]
struct Doc;

pub fn document() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
