//! A provider's compliance report (issue 9): one finding per broken or risky rule, with its
//! severity and the rule it comes from (`domain::compliance`). Empty means compliant.

use actix_web::web;
use chrono::{DateTime, Utc};
use domain::compliance::{Facts, findings};
use domain::gdpr::Module;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use super::providers::visible_provider;
use super::resource;
use super::responses::{NeedsPermission, NotFound};
use crate::extract::{Staff, need};
use crate::problem::ApiResult;
use crate::state::State;

#[derive(Debug, Serialize, ToSchema)]
pub struct FindingResponse {
    /// Stable code: `admin_mfa_not_enforced`, `authinfo_without_allowlist`,
    /// `consent_documents_missing`, `processor_transfer_refused`, `processor_without_dpa`,
    /// `processor_not_registered`, `sms_only_second_factor_possible`,
    /// `auth_log_retention_long`, `no_inactive_client_retention`, `gdpr_cleanup_not_installed`.
    #[schema(value_type = super::schemas::FindingCode)]
    pub code: String,
    #[schema(value_type = super::schemas::Severity)]
    pub severity: String,
    /// The rule it comes from.
    #[schema(example = "NIST SP 800-63B AAL2 for administrators; GDPR Art. 32")]
    pub rule: String,
    pub detail: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComplianceReport {
    pub provider_id: Uuid,
    pub generated_at: DateTime<Utc>,
    /// No finding at all.
    pub compliant: bool,
    /// Most severe first.
    pub findings: Vec<FindingResponse>,
}

/// The provider's compliance report: every broken or risky rule, most severe first.
#[utoipa::path(get, path = "/api/v1/providers/{id}/compliance-report", tag = "providers", operation_id = "get_compliance_report",
    params(("id" = Uuid, Path)), security(("bearer" = []), ("api_token" = [])),
    responses((status = 200, body = ComplianceReport), NeedsPermission, NotFound))]
pub async fn compliance_report(
    state: State,
    staff: Staff<need::ProvidersRead>,
    id: web::Path<String>,
) -> ApiResult<web::Json<ComplianceReport>> {
    let provider = visible_provider(&state, &staff, &id).await?;
    let provider_id = provider.id;
    let now = state.now();
    let (processors, gateways, installed, consent_documents) = state
        .db(move |store| {
            let shown = store
                .consent_documents(provider_id)?
                .iter()
                .filter(|(d, versions)| {
                    d.must_agree
                        && d.show_on_registration
                        && domain::consent::version_in_force(versions, now).is_some()
                })
                .count();
            let gateways: Vec<Uuid> = store
                .sms_gateways_for(Some(provider_id))?
                .into_iter()
                .map(|g| g.id)
                .collect();
            Ok((
                store.list_processors()?,
                gateways,
                store.module_installed(Module::GdprCleanup)?,
                shown,
            ))
        })
        .await?;
    let facts = Facts {
        jurisdiction: provider.jurisdiction,
        methods: &provider.auth_methods,
        policies: &provider.policies,
        processors: &processors,
        phone_gateways: &gateways,
        gdpr_module_installed: installed,
        registration_consent_documents: Some(consent_documents),
    };
    let findings: Vec<FindingResponse> = findings(&facts)
        .into_iter()
        .map(|f| FindingResponse {
            code: f.code.into(),
            severity: f.severity.as_str().into(),
            rule: f.rule.into(),
            detail: f.detail,
        })
        .collect();
    Ok(web::Json(ComplianceReport {
        provider_id,
        generated_at: now,
        compliant: findings.is_empty(),
        findings,
    }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/providers/{id}/compliance-report").get(compliance_report));
}

#[derive(OpenApi)]
#[openapi(paths(compliance_report))]
struct Doc;

pub fn document() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
