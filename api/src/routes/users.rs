use std::time::Duration;

use actix_web::http::header;
use actix_web::mime;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use domain::ValidationErrors;
use domain::access::client_allows_active_users;
use domain::email::Email;
use domain::error::parse_name;
use domain::model::{Subject, User};
use domain::phone::PhoneNumber;
use domain::provider::AccountStatus;
use persistence::StoreError;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use super::clients::visible_client;
use super::params::{PageQuery, parse_id};
use super::precondition::{IfMatch, Stale, edit, tagged};
use super::resource;
use super::responses::{BadQuery, Invalid, NeedsPermission, NotFound, NotJson, PROBLEM_JSON};
use super::schemas::{self, AccountStatusName};
use crate::extract::{Json, Staff, need};
use crate::problem::{ApiError, ApiResult, Problem};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schema(schema_with = schemas::login_email)]
    pub email: String,
    #[schema(schema_with = schemas::name)]
    pub name: String,
    #[schema(schema_with = schemas::phone_or_null)]
    pub phone: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[schema(schema_with = schemas::login_email_or_null)]
    pub email: Option<String>,
    #[schema(schema_with = schemas::name_or_null)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = schemas::phone_change)]
    pub phone: Option<Option<String>>,
    /// `active` or `disabled`. Disabling revokes every session, API token and one-time key
    /// of the user at once. Left out or `null` keeps it.
    #[schema(value_type = Option<AccountStatusName>, example = "disabled")]
    pub status: Option<AccountStatus>,
}

/// Tells a field sent as `null` (`Some(None)`) from one left out (`None`, by `default`).
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    pub id: Uuid,
    pub provider_id: Uuid,
    pub client_id: Uuid,
    pub email: String,
    pub name: String,
    /// E.164.
    pub phone: Option<String>,
    #[schema(value_type = AccountStatusName)]
    pub status: String,
    /// False until the user sets a password (staff never set one).
    pub has_password: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<User> for UserResponse {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            provider_id: u.provider_id,
            client_id: u.client_id,
            email: u.email.to_string(),
            name: u.name,
            phone: u.phone.map(|p| p.to_string()),
            status: u.status.as_str().into(),
            has_password: u.has_password,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<UserResponse>,
    #[schema(value_type = Option<super::schemas::CursorName>)]
    pub next_cursor: Option<String>,
}

/// The optional body of the key-issuing operations.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueTemporaryKey {
    /// Lifetime of the key in seconds, 60 to 86400; the server's default (15 minutes unless
    /// configured) when left out.
    #[schema(example = 900, minimum = 60, maximum = 86400)]
    pub ttl_seconds: Option<u64>,
}

/// A new one-time key. It is shown this once and stored only hashed.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemporaryKeyResponse {
    /// Redeem at POST /api/v1/auth/temporary-key; single use.
    pub key: String,
    pub expires_at: DateTime<Utc>,
}

/// Reads the optional JSON body of the key-issuing operations: no body at all means the
/// defaults, and so does `null`; a body must be JSON like any other.
pub(crate) fn key_ttl(
    state: &crate::state::AppState,
    req: &HttpRequest,
    body: &[u8],
) -> ApiResult<Duration> {
    let options = if body.iter().all(u8::is_ascii_whitespace) {
        IssueTemporaryKey::default()
    } else {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| {
                m.type_() == mime::APPLICATION
                    && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| ApiError::from_serde(&e))?;
        if value.is_null() {
            IssueTemporaryKey::default()
        } else {
            crate::extract::from_object(value)?
        }
    };
    match options.ttl_seconds {
        None => Ok(state.settings.temporary_key_ttl),
        Some(s) if (60..=86_400).contains(&s) => Ok(Duration::from_secs(s)),
        Some(_) => Err(ApiError::validation(
            "/ttl_seconds",
            "must be between 60 and 86400",
        )),
    }
}

/// Loads a user the employee may see; users of other providers are "not found".
async fn visible_user<P>(
    state: &crate::state::AppState,
    staff: &Staff<P>,
    id: &str,
) -> ApiResult<User> {
    let id = parse_id(id, "user")?;
    let user = state
        .db(move |store| store.user(id).map_err(ApiError::from_store("user")))
        .await?;
    staff.check_provider(user.provider_id, "user")?;
    Ok(user)
}

fn email_taken(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(c) if c.field == Some("/email") => {
            ApiError::conflict_on("/email", "a user with this e-mail exists at this provider")
        }
        StoreError::NotFound => ApiError::NotFound("user"),
        other => other.into(),
    }
}

/// Lists the users of a client, oldest first.
#[utoipa::path(get, path = "/api/v1/clients/{id}/users", tag = "users", operation_id = "list_users",
    params(("id" = Uuid, Path, description = "The client's id"), PageQuery),
    security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "A page of users", body = UserPage),
        NeedsPermission, NotFound, BadQuery,
    ))]
pub async fn list_users(
    state: crate::state::State,
    staff: Staff<need::UsersRead>,
    id: web::Path<String>,
    query: crate::extract::Query<PageQuery>,
) -> ApiResult<web::Json<UserPage>> {
    let client = visible_client(&state, &staff, &id).await?;
    let page = query.to_request()?;
    let page = state
        .db(move |store| Ok(store.list_users(client.id, page)?))
        .await?;
    Ok(web::Json(UserPage {
        next_cursor: page.next_cursor.map(|c| c.to_string()),
        items: page.items.into_iter().map(Into::into).collect(),
    }))
}

/// Adds a user to a client. No password is set: the user sets one later, for example after
/// signing in with a one-time key.
#[utoipa::path(post, path = "/api/v1/clients/{id}/users", tag = "users", operation_id = "create_user",
    params(("id" = Uuid, Path, description = "The client's id")), request_body = CreateUser,
    security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 201, description = "The new user", body = UserResponse),
        NeedsPermission, NotFound, Invalid, NotJson,
        (status = 409, description = "The e-mail is taken at this provider, or the client is disabled", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn create_user(
    state: crate::state::State,
    staff: Staff<need::UsersWrite>,
    id: web::Path<String>,
    body: Json<CreateUser>,
) -> ApiResult<HttpResponse> {
    let client = visible_client(&state, &staff, &id).await?;
    let body = body.into_inner();
    let mut errors = ValidationErrors::new();
    let email = errors.check("/email", Email::parse(&body.email));
    let name = errors.check("/name", parse_name(&body.name, 200));
    let phone = match body.phone.as_deref() {
        None => Some(None),
        Some(p) => errors.check("/phone", PhoneNumber::parse(p)).map(Some),
    };
    let (Some(email), Some(name), Some(phone)) = (email, name, phone) else {
        return Err(errors.into());
    };
    client_allows_active_users(client.status).map_err(|e| ApiError::conflict(e.to_string()))?;
    let now = state.now();
    let user = User {
        id: Uuid::now_v7(),
        provider_id: client.provider_id,
        client_id: client.id,
        email,
        name,
        phone,
        status: AccountStatus::Active,
        has_password: false,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let saved = user.clone();
    state
        .db(move |store| store.insert_user(&saved, None).map_err(email_taken))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/users/{}", user.id)))
        .json(UserResponse::from(user)))
}

/// Reads one user.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", operation_id = "get_user",
    params(("id" = Uuid, Path)), security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The user", body = UserResponse, headers(("ETag" = String, description = "The version, for `If-Match`"))),
        NeedsPermission, NotFound,
    ))]
pub async fn get_user(
    state: crate::state::State,
    staff: Staff<need::UsersRead>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let user = visible_user(&state, &staff, &id).await?;
    Ok(tagged(user.version, UserResponse::from(user)))
}

/// Changes a user's e-mail, name, phone or status. `phone: null` removes the number.
/// Disabling revokes everything the user holds at once.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", operation_id = "update_user",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "The `ETag` of the read this change is based on; 412 if the object changed since")), request_body = UpdateUser, security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The user after the change", body = UserResponse, headers(("ETag" = String, description = "The version, for `If-Match`"))),
        NeedsPermission, NotFound, Invalid, NotJson, Stale,
        (status = 409, description = "The e-mail is taken at this provider, or the user's client is disabled (on activation)", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn update_user(
    state: crate::state::State,
    staff: Staff<need::UsersWrite>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Json<UpdateUser>,
) -> ApiResult<HttpResponse> {
    let user = visible_user(&state, &staff, &id).await?;
    let body = body.into_inner();
    let mut errors = ValidationErrors::new();
    let email = body
        .email
        .as_deref()
        .and_then(|email| errors.check("/email", Email::parse(email)));
    let name = body
        .name
        .as_deref()
        .and_then(|name| errors.check("/name", parse_name(name, 200)));
    // `Some(None)` removes the number.
    let phone = match body.phone {
        None => None,
        Some(None) => Some(None),
        Some(Some(phone)) => errors.check("/phone", PhoneNumber::parse(&phone)).map(Some),
    };
    errors.into_result()?;
    let status = body.status;
    if status == Some(AccountStatus::Active) && user.status != AccountStatus::Active {
        let client_id = user.client_id;
        let client = state
            .db(move |store| {
                store
                    .client(client_id)
                    .map_err(ApiError::from_store("client"))
            })
            .await?;
        client_allows_active_users(client.status).map_err(|e| ApiError::conflict(e.to_string()))?;
    }
    let now = state.now();
    let user = edit(
        &state,
        if_match,
        move |store| store.user(user.id).map_err(ApiError::from_store("user")),
        move |user| {
            if let Some(email) = &email {
                user.email = email.clone();
            }
            if let Some(name) = &name {
                user.name = name.clone();
            }
            if let Some(phone) = &phone {
                user.phone = phone.clone();
            }
            if let Some(status) = status {
                user.status = status;
            }
            user.updated_at = now;
            Ok(())
        },
        move |store, user| store.update_user(user, now).map_err(email_taken),
    )
    .await?;
    Ok(tagged(user.version, UserResponse::from(user)))
}

/// Issues a one-time login key for a user, to hand over out of band (the user then signs in
/// with POST /api/v1/auth/temporary-key). The body is optional. The key is in this answer
/// only; it is never logged.
/// Not with an API token (403): API tokens create no credentials, employees or roles.
#[utoipa::path(post, path = "/api/v1/users/{id}/temporary-keys", tag = "users", operation_id = "issue_user_temporary_key",
    params(("id" = Uuid, Path)),
    request_body(content = Option<IssueTemporaryKey>, description = "Optional; `{}` or no body uses the default lifetime"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The new key, shown this once", body = TemporaryKeyResponse),
        NeedsPermission, NotFound, Invalid, NotJson,
        (status = 409, description = "The user or their client is disabled", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn issue_user_temporary_key(
    state: crate::state::State,
    staff: Staff<need::TemporaryKeysIssue>,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let user = visible_user(&state, &staff, &id).await?;
    let ttl = key_ttl(&state, &req, &body)?;
    if user.status != AccountStatus::Active {
        return Err(ApiError::conflict("the user is disabled"));
    }
    let now = state.now();
    let issued_by = staff.employee.id;
    let (key, expires_at) = state
        .db(move |store| {
            let client = store
                .client(user.client_id)
                .map_err(ApiError::from_store("client"))?;
            client_allows_active_users(client.status)
                .map_err(|e| ApiError::conflict(e.to_string()))?;
            Ok(crate::temporary_keys::issue(
                store,
                Subject::user(user.id),
                Some(user.provider_id),
                Some(issued_by),
                ttl,
                now,
            )?)
        })
        .await?;
    Ok(key_response(key, expires_at))
}

/// 201 with the key, kept out of caches.
pub(crate) fn key_response(key: String, expires_at: DateTime<Utc>) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(TemporaryKeyResponse { key, expires_at })
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/api/v1/clients/{id}/users")
            .get(list_users)
            .post(create_user),
    )
    .service(
        resource("/api/v1/users/{id}")
            .get(get_user)
            .patch(update_user),
    )
    .service(resource("/api/v1/users/{id}/temporary-keys").post(issue_user_temporary_key));
}

#[derive(OpenApi)]
#[openapi(paths(
    list_users,
    create_user,
    get_user,
    update_user,
    issue_user_temporary_key,
))]
struct Doc;

pub fn document() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
