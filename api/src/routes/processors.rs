//! The register of processors (GDPR Art. 28, 30): who receives personal data from the
//! installation, where, on which transfer ground, since which DPA, and through which
//! sign-in methods and SMS gateways. Every answer carries the transfer rule's verdict for
//! a provider in the EEA (`domain::transfer`); turning on a method whose processor fails
//! it for the provider's jurisdiction is refused (`providers::put_auth_methods`).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use domain::ValidationErrors;
use domain::auth_method::AuthMethod;
use domain::country::CountryCode;
use domain::error::parse_name;
use domain::permission::ProviderScope;
use domain::transfer::{Processor, TransferMechanism};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use super::audit_events as audit;
use super::params::parse_id;
use super::precondition::{IfMatch, Stale, edit, tagged};
use super::resource;
use super::responses::{Invalid, NeedsPermission, NotFound, NotJson};
use crate::extract::{Json, Staff, need};
use crate::problem::{ApiError, ApiResult};
use crate::state::{AppState, State};

/// A processor as written by a create or an update (a full replacement).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessorForm {
    #[schema(example = "Google Ireland Limited")]
    pub name: String,
    /// What it does with the data.
    #[schema(example = "Sign-in with Google")]
    pub purpose: String,
    /// Where it processes the data: ISO 3166-1 alpha-2.
    #[schema(example = "IE")]
    pub country: String,
    /// The ground of the transfer: `eea`, `adequacy`, `dpf` (EU-US Data Privacy Framework,
    /// the United States only), `scc`, `bcr`, `art49_derogation` or `none`.
    #[schema(example = "eea")]
    pub transfer_mechanism: String,
    /// When the data processing agreement was signed (`YYYY-MM-DD`, not in the future);
    /// `null`: not signed.
    #[serde(default)]
    #[schema(example = "2025-01-31")]
    pub dpa_signed_on: Option<String>,
    /// The sign-in methods that send data to it, such as `google`, `keycloak`, `phone`.
    #[serde(default)]
    #[schema(example = json!(["google"]))]
    pub auth_methods: Vec<String>,
    /// The SMS gateways that send data to it.
    #[serde(default)]
    pub sms_gateway_ids: Vec<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProcessorResponse {
    pub id: Uuid,
    pub name: String,
    pub purpose: String,
    #[schema(example = "US")]
    pub country: String,
    #[schema(value_type = super::schemas::TransferMechanism)]
    pub transfer_mechanism: String,
    pub dpa_signed_on: Option<NaiveDate>,
    #[schema(value_type = Vec<super::schemas::AuthMethodName>, example = json!(["google"]))]
    pub auth_methods: Vec<String>,
    pub sms_gateway_ids: Vec<Uuid>,
    /// The transfer rule's verdict for a provider in the EEA.
    pub transfer_allowed: bool,
    /// Why, whichever way it went.
    #[schema(example = "the processor is certified under the EU-US DPF")]
    pub reason: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Processor> for ProcessorResponse {
    fn from(p: Processor) -> Self {
        let verdict = p.verdict(None);
        Self {
            id: p.id,
            name: p.name,
            purpose: p.purpose,
            country: p.country.to_string(),
            transfer_mechanism: p.mechanism.as_str().to_owned(),
            dpa_signed_on: p.dpa_signed_on,
            auth_methods: p
                .auth_methods
                .iter()
                .map(|m| m.as_str().to_owned())
                .collect(),
            sms_gateway_ids: p.sms_gateway_ids,
            transfer_allowed: verdict.allowed,
            reason: verdict.reason,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProcessorList {
    /// By name.
    pub items: Vec<ProcessorResponse>,
}

/// The checked fields of a form.
#[derive(Clone)]
struct Parts {
    name: String,
    purpose: String,
    country: CountryCode,
    mechanism: TransferMechanism,
    dpa_signed_on: Option<NaiveDate>,
    auth_methods: Vec<AuthMethod>,
    sms_gateway_ids: Vec<Uuid>,
}

impl Parts {
    fn apply(&self, p: &mut Processor) {
        let parts = self.clone();
        p.name = parts.name;
        p.purpose = parts.purpose;
        p.country = parts.country;
        p.mechanism = parts.mechanism;
        p.dpa_signed_on = parts.dpa_signed_on;
        p.auth_methods = parts.auth_methods;
        p.sms_gateway_ids = parts.sms_gateway_ids;
    }
}

/// Checks a form; the gateways named must exist.
async fn parse_form(state: &AppState, form: ProcessorForm) -> ApiResult<Parts> {
    let mut errors = ValidationErrors::new();
    let name = errors.check("/name", parse_name(&form.name, 200));
    let purpose = errors.check("/purpose", parse_name(&form.purpose, 1000));
    let country = errors.check("/country", CountryCode::parse(&form.country));
    let mechanism = TransferMechanism::parse(&form.transfer_mechanism);
    if mechanism.is_none() {
        errors.add(
            "/transfer_mechanism",
            "must be one of eea, adequacy, dpf, scc, bcr, art49_derogation, none",
        );
    }
    let today = state.now().date_naive();
    let dpa_signed_on = match form.dpa_signed_on.as_deref() {
        None => None,
        Some(text) => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(date) if date > today => {
                errors.add("/dpa_signed_on", "must not be in the future");
                None
            }
            Ok(date) => Some(date),
            Err(_) => {
                errors.add("/dpa_signed_on", "must be a date such as 2025-01-31");
                None
            }
        },
    };
    let mut auth_methods = Vec::new();
    for (i, text) in form.auth_methods.iter().enumerate() {
        match AuthMethod::parse(text) {
            Some(m) => auth_methods.push(m),
            None => errors.add(&format!("/auth_methods/{i}"), "is not a sign-in method"),
        }
    }
    auth_methods.sort();
    auth_methods.dedup();
    let ids = form.sms_gateway_ids.clone();
    let missing = state
        .db(move |store| {
            let mut missing = Vec::new();
            for (i, id) in ids.iter().enumerate() {
                match store.sms_gateway(*id) {
                    Ok(_) => {}
                    Err(persistence::StoreError::NotFound) => missing.push(i),
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(missing)
        })
        .await?;
    for i in missing {
        errors.add(&format!("/sms_gateway_ids/{i}"), "no such SMS gateway");
    }
    errors.into_result()?;
    let (Some(name), Some(purpose), Some(country), Some(mechanism)) =
        (name, purpose, country, mechanism)
    else {
        return Err(ApiError::internal("validated processor form incomplete"));
    };
    let mut sms_gateway_ids = form.sms_gateway_ids;
    sms_gateway_ids.sort();
    sms_gateway_ids.dedup();
    Ok(Parts {
        name,
        purpose,
        country,
        mechanism,
        dpa_signed_on,
        auth_methods,
        sms_gateway_ids,
    })
}

/// The register serves the whole installation: only an employee of every provider changes it.
fn installation_wide<P>(staff: &Staff<P>) -> ApiResult<()> {
    match staff.scope() {
        ProviderScope::All => Ok(()),
        ProviderScope::Only(_) => Err(ApiError::Forbidden(
            "the processor register serves the whole installation: this needs an employee of all providers"
                .into(),
        )),
    }
}

async fn load(state: &AppState, id: &str) -> ApiResult<Processor> {
    let id = parse_id(id, "processor")?;
    state
        .db(move |store| {
            store
                .processor(id)
                .map_err(ApiError::from_store("processor"))
        })
        .await
}

/// Lists the register, by name, each with the transfer rule's verdict.
#[utoipa::path(get, path = "/api/v1/processors", tag = "processors", operation_id = "list_processors",
    security(("bearer" = []), ("api_token" = [])),
    responses((status = 200, description = "Every processor", body = ProcessorList), NeedsPermission))]
pub async fn list_processors(
    state: State,
    _staff: Staff<need::ProcessorsRead>,
) -> ApiResult<web::Json<ProcessorList>> {
    let processors = state.db(|store| Ok(store.list_processors()?)).await?;
    Ok(web::Json(ProcessorList {
        items: processors.into_iter().map(Into::into).collect(),
    }))
}

/// Adds a processor to the register.
#[utoipa::path(post, path = "/api/v1/processors", tag = "processors", operation_id = "create_processor",
    request_body = ProcessorForm, security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 201, description = "The new processor", body = ProcessorResponse),
        NeedsPermission, Invalid, NotJson,
    ))]
pub async fn create_processor(
    state: State,
    staff: Staff<need::ProcessorsWrite>,
    body: Json<ProcessorForm>,
) -> ApiResult<HttpResponse> {
    installation_wide(&staff)?;
    let parts = parse_form(&state, body.into_inner()).await?;
    let now = state.now();
    let mut processor = Processor {
        id: Uuid::now_v7(),
        name: String::new(),
        purpose: String::new(),
        country: parts.country,
        mechanism: parts.mechanism,
        dpa_signed_on: None,
        auth_methods: Vec::new(),
        sms_gateway_ids: Vec::new(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    parts.apply(&mut processor);
    let saved = processor.clone();
    state
        .db(move |store| Ok(store.insert_processor(&saved)?))
        .await?;
    log::info!("processor {} created", processor.id);
    let (id, version) = (processor.id, processor.version);
    let created = ProcessorResponse::from(processor);
    audit::record(
        &state,
        &staff,
        audit::created(
            "processor.create",
            "processor",
            id.to_string(),
            None,
            &created,
        ),
    )
    .await;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/processors/{id}")))
        .insert_header(("ETag", super::precondition::etag(version)))
        .json(created))
}

/// Reads a processor with the transfer rule's verdict.
#[utoipa::path(get, path = "/api/v1/processors/{id}", tag = "processors", operation_id = "get_processor",
    params(("id" = Uuid, Path)), security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The processor", body = ProcessorResponse, headers(("ETag" = String, description = "The version, for `If-Match`"))),
        NeedsPermission, NotFound,
    ))]
pub async fn get_processor(
    state: State,
    _staff: Staff<need::ProcessorsRead>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let processor = load(&state, &id).await?;
    Ok(tagged(
        processor.version,
        ProcessorResponse::from(processor),
    ))
}

/// Replaces a processor's entry.
#[utoipa::path(put, path = "/api/v1/processors/{id}", tag = "processors", operation_id = "update_processor",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "The `ETag` of the read this change is based on; 412 if the object changed since")),
    request_body = ProcessorForm, security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The processor after the change", body = ProcessorResponse, headers(("ETag" = String, description = "The version, for `If-Match`"))),
        NeedsPermission, NotFound, Invalid, NotJson, Stale,
    ))]
pub async fn update_processor(
    state: State,
    staff: Staff<need::ProcessorsWrite>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Json<ProcessorForm>,
) -> ApiResult<HttpResponse> {
    installation_wide(&staff)?;
    let current = load(&state, &id).await?;
    let before = ProcessorResponse::from(current.clone());
    let parts = parse_form(&state, body.into_inner()).await?;
    let now = state.now();
    let id = current.id;
    let processor = edit(
        &state,
        if_match,
        move |store| {
            store
                .processor(id)
                .map_err(ApiError::from_store("processor"))
        },
        move |p| {
            parts.apply(p);
            p.updated_at = now;
            Ok(())
        },
        move |store, p| {
            store
                .update_processor(p)
                .map_err(ApiError::from_store("processor"))
        },
    )
    .await?;
    log::info!("processor {} updated", processor.id);
    let version = processor.version;
    let after = ProcessorResponse::from(processor);
    audit::record(
        &state,
        &staff,
        audit::updated(
            "processor.update",
            "processor",
            id.to_string(),
            None,
            &before,
            &after,
        ),
    )
    .await;
    Ok(tagged(version, after))
}

/// Removes a processor from the register.
#[utoipa::path(delete, path = "/api/v1/processors/{id}", tag = "processors", operation_id = "delete_processor",
    params(("id" = Uuid, Path)), security(("bearer" = []), ("api_token" = [])),
    responses((status = 204, description = "Removed"), NeedsPermission, NotFound))]
pub async fn delete_processor(
    state: State,
    staff: Staff<need::ProcessorsWrite>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    installation_wide(&staff)?;
    let current = load(&state, &id).await?;
    let before = ProcessorResponse::from(current.clone());
    let id = current.id;
    state
        .db(move |store| {
            store
                .delete_processor(id)
                .map_err(ApiError::from_store("processor"))
        })
        .await?;
    log::info!("processor {id} deleted");
    audit::record(
        &state,
        &staff,
        audit::deleted(
            "processor.delete",
            "processor",
            id.to_string(),
            None,
            &before,
        ),
    )
    .await;
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/api/v1/processors")
            .get(list_processors)
            .post(create_processor),
    )
    .service(
        resource("/api/v1/processors/{id}")
            .get(get_processor)
            .put(update_processor)
            .delete(delete_processor),
    );
}

#[derive(OpenApi)]
#[openapi(paths(
    list_processors,
    create_processor,
    get_processor,
    update_processor,
    delete_processor
))]
struct Doc;

pub fn document() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
