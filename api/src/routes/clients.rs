use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use domain::ValidationErrors;
use domain::error::parse_name;
use domain::model::Client;
use domain::provider::AccountStatus;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use super::params::{PageQuery, parse_id};
use super::precondition::{IfMatch, Stale, edit, tagged};
use super::providers::visible_provider;
use super::resource;
use super::responses::{BadQuery, Invalid, NeedsPermission, NotFound, NotJson, PROBLEM_JSON};
use super::schemas::{self, AccountStatusName};
use crate::extract::{Json, Staff, need};
use crate::problem::{ApiError, ApiResult, Problem};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClient {
    #[schema(schema_with = schemas::name)]
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateClient {
    #[schema(schema_with = schemas::name_or_null)]
    pub name: Option<String>,
    /// `active` or `disabled`. Disabling revokes every session, API token and one-time key
    /// of the client's users at once. Left out or `null` keeps it.
    #[schema(value_type = Option<AccountStatusName>, example = "disabled")]
    pub status: Option<AccountStatus>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientResponse {
    pub id: Uuid,
    pub provider_id: Uuid,
    pub name: String,
    #[schema(value_type = AccountStatusName)]
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Client> for ClientResponse {
    fn from(c: Client) -> Self {
        Self {
            id: c.id,
            provider_id: c.provider_id,
            name: c.name,
            status: c.status.as_str().into(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientPage {
    pub items: Vec<ClientResponse>,
    #[schema(value_type = Option<super::schemas::CursorName>)]
    pub next_cursor: Option<String>,
}

/// Loads a client the employee may see; clients of other providers are "not found".
pub(crate) async fn visible_client<P>(
    state: &crate::state::AppState,
    staff: &Staff<P>,
    id: &str,
) -> ApiResult<Client> {
    let id = parse_id(id, "client")?;
    let client = state
        .db(move |store| store.client(id).map_err(ApiError::from_store("client")))
        .await?;
    staff.check_provider(client.provider_id, "client")?;
    Ok(client)
}

/// Lists the clients of a provider, oldest first.
#[utoipa::path(get, path = "/api/v1/providers/{id}/clients", tag = "clients", operation_id = "list_clients",
    params(("id" = Uuid, Path, description = "The provider's id"), PageQuery),
    security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "A page of clients", body = ClientPage),
        NeedsPermission, NotFound, BadQuery,
    ))]
pub async fn list_clients(
    state: crate::state::State,
    staff: Staff<need::ClientsRead>,
    id: web::Path<String>,
    query: crate::extract::Query<PageQuery>,
) -> ApiResult<web::Json<ClientPage>> {
    let provider = visible_provider(&state, &staff, &id).await?;
    let page = query.to_request()?;
    let page = state
        .db(move |store| Ok(store.list_clients(provider.id, page)?))
        .await?;
    Ok(web::Json(ClientPage {
        next_cursor: page.next_cursor.map(|c| c.to_string()),
        items: page.items.into_iter().map(Into::into).collect(),
    }))
}

/// Creates an active client of a provider. Users are added to it separately.
#[utoipa::path(post, path = "/api/v1/providers/{id}/clients", tag = "clients", operation_id = "create_client",
    params(("id" = Uuid, Path, description = "The provider's id")), request_body = CreateClient,
    security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 201, description = "The new client", body = ClientResponse),
        NeedsPermission, NotFound, Invalid, NotJson,
    ))]
pub async fn create_client(
    state: crate::state::State,
    staff: Staff<need::ClientsWrite>,
    id: web::Path<String>,
    body: Json<CreateClient>,
) -> ApiResult<HttpResponse> {
    let provider = visible_provider(&state, &staff, &id).await?;
    let name =
        parse_name(&body.name, 200).map_err(|e| ApiError::validation("/name", e.to_string()))?;
    let now = state.now();
    let client = Client {
        id: Uuid::now_v7(),
        provider_id: provider.id,
        name,
        status: AccountStatus::Active,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let saved = client.clone();
    state
        .db(move |store| Ok(store.insert_client(&saved)?))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/clients/{}", client.id)))
        .json(ClientResponse::from(client)))
}

/// Reads one client.
#[utoipa::path(get, path = "/api/v1/clients/{id}", tag = "clients", operation_id = "get_client",
    params(("id" = Uuid, Path)), security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The client", body = ClientResponse, headers(("ETag" = String, description = "The version, for `If-Match`"))),
        NeedsPermission, NotFound,
    ))]
pub async fn get_client(
    state: crate::state::State,
    staff: Staff<need::ClientsRead>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let client = visible_client(&state, &staff, &id).await?;
    Ok(tagged(client.version, ClientResponse::from(client)))
}

/// Renames a client or changes its status. Disabling a client revokes every session, API
/// token and one-time key of its users in the same transaction.
#[utoipa::path(patch, path = "/api/v1/clients/{id}", tag = "clients", operation_id = "update_client",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "The `ETag` of the read this change is based on; 412 if the object changed since")), request_body = UpdateClient, security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The client after the change", body = ClientResponse, headers(("ETag" = String, description = "The version, for `If-Match`"))),
        NeedsPermission, NotFound, Invalid, NotJson, Stale,
        (status = 409, description = "The client's data was cleared (GDPR): it cannot be active again", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn update_client(
    state: crate::state::State,
    staff: Staff<need::ClientsWrite>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Json<UpdateClient>,
) -> ApiResult<HttpResponse> {
    let client = visible_client(&state, &staff, &id).await?;
    let body = body.into_inner();
    let mut errors = ValidationErrors::new();
    let name = body
        .name
        .as_deref()
        .and_then(|name| errors.check("/name", parse_name(name, 200)));
    errors.into_result()?;
    let status = body.status;
    let now = state.now();
    let client = edit(
        &state,
        if_match,
        move |store| {
            store
                .client(client.id)
                .map_err(ApiError::from_store("client"))
        },
        move |client| {
            if let Some(name) = &name {
                client.name = name.clone();
            }
            if let Some(status) = status {
                client.status = status;
            }
            client.updated_at = now;
            Ok(())
        },
        move |store, client| {
            // Erasure is irreversible (GDPR Art. 17): an anonymized client stays disabled.
            if client.status == AccountStatus::Active && store.client_cleared(client.id)? {
                return Err(ApiError::conflict_on(
                    "/status",
                    "this client's data was cleared; it cannot be active again",
                ));
            }
            store
                .update_client(client, now)
                .map_err(ApiError::from_store("client"))
        },
    )
    .await?;
    Ok(tagged(client.version, ClientResponse::from(client)))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/api/v1/providers/{id}/clients")
            .get(list_clients)
            .post(create_client),
    )
    .service(
        resource("/api/v1/clients/{id}")
            .get(get_client)
            .patch(update_client),
    );
}

#[derive(OpenApi)]
#[openapi(paths(list_clients, create_client, get_client, update_client))]
struct Doc;

pub fn document() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
