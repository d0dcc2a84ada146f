//! A client's billing details, written by the billing platform with the date its legal
//! hold ends (see `domain::billing`). After the client's data is cleared they are frozen:
//! kept while the hold runs, anonymized by the `legal_hold_release` job when it ends.

use actix_web::web;
use chrono::{DateTime, Utc};
use domain::billing::BillingDetails;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use super::clients::visible_client;
use super::resource;
use super::responses::{Invalid, NeedsPermission, NotFound, NotJson, PROBLEM_JSON};
use crate::extract::{Json, Staff, need};
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::State;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BillingDetailsBody {
    /// The name invoices are made out to (1 to 200 characters).
    #[schema(example = "Vance Webdesign GmbH")]
    pub legal_name: String,
    /// VAT or tax number (up to 50 characters); empty or left out: none.
    #[serde(default)]
    #[schema(example = "DE123456789")]
    pub tax_id: Option<String>,
    /// Lines separated by `\n` (1 to 1000 characters).
    #[schema(example = "Hauptstr. 1\n10115 Berlin\nDE")]
    pub billing_address: String,
    /// Until when tax law makes the provider keep these details, from the client's last
    /// invoice (8 years in Germany since 2025, §147 AO; 10 in some member states); at most
    /// 30 years from now. Left out or `null`: no hold, clearing removes them at once.
    #[serde(default)]
    pub legal_hold_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BillingDetailsResponse {
    pub client_id: Uuid,
    pub legal_name: String,
    pub tax_id: Option<String>,
    pub billing_address: String,
    pub legal_hold_until: Option<DateTime<Utc>>,
    /// The client's data was cleared: these details are kept only for the legal hold.
    pub held_after_clearing: bool,
}

pub(crate) fn billing_response(
    client_id: Uuid,
    b: BillingDetails,
    cleared: bool,
) -> BillingDetailsResponse {
    BillingDetailsResponse {
        client_id,
        legal_name: b.legal_name,
        tax_id: b.tax_id,
        billing_address: b.billing_address,
        legal_hold_until: b.legal_hold_until,
        held_after_clearing: cleared,
    }
}

/// A client's billing details; 404 when none are stored (or they were anonymized).
#[utoipa::path(get, path = "/api/v1/clients/{id}/billing-details", tag = "clients", operation_id = "get_billing_details",
    params(("id" = Uuid, Path)), security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, body = BillingDetailsResponse),
        NeedsPermission, NotFound,
    ))]
pub async fn get_billing_details(
    state: State,
    staff: Staff<need::ClientsRead>,
    id: web::Path<String>,
) -> ApiResult<web::Json<BillingDetailsResponse>> {
    let client = visible_client(&state, &staff, &id).await?;
    let (billing, cleared) = state
        .db(move |store| {
            let billing = store
                .billing_details(client.id)
                .map_err(ApiError::from_store("client"))?;
            Ok((billing, store.client_cleared(client.id)?))
        })
        .await?;
    let billing = billing.ok_or(ApiError::NotFound("billing details"))?;
    Ok(web::Json(billing_response(client.id, billing, cleared)))
}

/// Sets a client's billing details and legal hold (the billing platform does, from the
/// client's invoices). A cleared client's details are frozen: 409.
#[utoipa::path(put, path = "/api/v1/clients/{id}/billing-details", tag = "clients", operation_id = "set_billing_details",
    params(("id" = Uuid, Path)), request_body = BillingDetailsBody,
    security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The details as stored", body = BillingDetailsResponse),
        NeedsPermission, NotFound, Invalid, NotJson,
        (status = 409, description = "The client's data was cleared: its billing details are frozen under their legal hold", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn set_billing_details(
    state: State,
    staff: Staff<need::ClientsWrite>,
    id: web::Path<String>,
    body: Json<BillingDetailsBody>,
) -> ApiResult<web::Json<BillingDetailsResponse>> {
    let client = visible_client(&state, &staff, &id).await?;
    let body = body.into_inner();
    let now = state.now();
    let details = BillingDetails::parse(
        &body.legal_name,
        body.tax_id.as_deref(),
        &body.billing_address,
        body.legal_hold_until,
        now,
    )?;
    let stored = details.clone();
    let changed = state
        .db(move |store| {
            store
                .set_billing_details(client.id, &stored, now)
                .map_err(ApiError::from_store("client"))
        })
        .await?;
    if !changed {
        return Err(ApiError::conflict(
            "this client's data was cleared; its billing details are frozen under their legal hold",
        ));
    }
    Ok(web::Json(billing_response(client.id, details, false)))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/api/v1/clients/{id}/billing-details")
            .get(get_billing_details)
            .put(set_billing_details),
    );
}

#[derive(OpenApi)]
#[openapi(paths(get_billing_details, set_billing_details))]
struct Doc;

pub fn document() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
