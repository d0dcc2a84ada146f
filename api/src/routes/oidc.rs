//! OpenID Connect: the sign-in flows (Google for users, staff identity providers such as
//! Keycloak for employees), a user's links to Google, and the staff identity providers'
//! configuration.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use domain::auth_method::AuthMethod;
use domain::oidc::{RoleMapping, StaffIdentityProvider};
use domain::permission::{ProviderScope, Role};
use persistence::UserLink;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use super::audit_events as audit;
use super::params::parse_id;
use super::resource;
use super::responses::{
    Invalid, NeedsCredentials, NeedsPermission, NotFound, NotJson, PROBLEM_JSON,
};
use crate::auth::oidc::{self, Callback, Target};
use crate::auth::outcome::LoginResponse;
use crate::extract::{Actor, ClientInfo, Json, Principal, Staff, need};
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::State;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OidcStartRequest {
    /// `google`: the provider's slug (required). `keycloak`: the id of a staff identity
    /// provider; may be left out when only one is on.
    #[schema(example = "acme")]
    pub provider: Option<String>,
    /// The frontend page the identity provider sends the browser back to; exactly one of
    /// the redirect URIs the method allows.
    #[schema(example = "https://app.example.com/oidc/callback")]
    pub redirect_uri: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OidcStartResponse {
    /// Send the browser here. It carries `state`, `nonce` and a PKCE S256 challenge, kept
    /// server side for ten minutes and good for one callback.
    pub authorization_url: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OidcCallbackRequest {
    /// `state` from the redirect's query.
    pub state: String,
    /// `code` from the redirect's query.
    pub code: String,
    /// `iss` from the redirect's query when the identity provider sends it (RFC 9207): it
    /// must be the issuer the sign-in was started with.
    pub iss: Option<String>,
}

impl From<OidcCallbackRequest> for Callback {
    fn from(b: OidcCallbackRequest) -> Self {
        Callback {
            state: b.state,
            code: b.code,
            iss: b.iss,
        }
    }
}

/// `google` or `keycloak` from the path; anything else is an unknown route.
fn method_of(path: &str) -> Result<&'static str, ApiError> {
    match path {
        "google" => Ok("google"),
        "keycloak" => Ok("keycloak"),
        _ => Err(ApiError::NoRoute),
    }
}

/// Starts a sign-in through Google (a provider's users) or a staff identity provider
/// (employees): answers the URL to send the browser to.
#[utoipa::path(post, path = "/api/v1/auth/oidc/{method}/start", tag = "auth", operation_id = "start_oidc",
    params(("method" = String, Path, description = "`google` or `keycloak`")),
    request_body = OidcStartRequest,
    responses(
        (status = 200, body = OidcStartResponse),
        Invalid, NotJson,
        (status = 403, description = "The method is off or not configured (`method_disabled`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No such provider or method", body = Problem, content_type = PROBLEM_JSON),
        (status = 502, description = "`identity_provider_failed`: the identity provider could not be reached, or its discovery names another issuer", body = Problem, content_type = PROBLEM_JSON),
        (status = 504, description = "`identity_provider_timeout`: the identity provider did not answer in time", body = Problem, content_type = PROBLEM_JSON),
        (status = 429, description = "`too_many_attempts`: too many sign-ins started from this address; `Retry-After` says when to try again", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn start_oidc(
    state: State,
    client: ClientInfo,
    method: web::Path<String>,
    body: Json<OidcStartRequest>,
) -> ApiResult<web::Json<OidcStartResponse>> {
    let body = body.into_inner();
    let target = match method_of(&method)? {
        "google" => Target::Google {
            provider_slug: body
                .provider
                .ok_or_else(|| ApiError::validation("/provider", "is required for google"))?,
        },
        _ => Target::Staff {
            idp_id: match body.provider.as_deref() {
                Some(id) => Some(parse_id(id, "staff identity provider")?),
                None => None,
            },
        },
    };
    let authorization_url = oidc::start(&state, target, body.redirect_uri, &client).await?;
    Ok(web::Json(OidcStartResponse { authorization_url }))
}

/// Finishes a sign-in: redeems the code and signs the person in (a Google registration where
/// the provider allows it).
#[utoipa::path(post, path = "/api/v1/auth/oidc/{method}/callback", tag = "auth", operation_id = "finish_oidc",
    params(("method" = String, Path, description = "`google` or `keycloak`")),
    request_body = OidcCallbackRequest,
    responses(
        (status = 200, description = "Tokens, or a challenge for a second factor (a person with TOTP, or a user with a verified number; none when the policy accepts the identity provider's `amr`/`acr` as one)", body = LoginResponse),
        Invalid, NotJson,
        (status = 400, description = "The state is unknown, used or expired, or `iss` names another issuer", body = Problem, content_type = PROBLEM_JSON),
        (status = 401, description = "The code was refused or the ID token is not valid", body = Problem, content_type = PROBLEM_JSON),
        (status = 403, description = "The method is off; no account is linked and registration is off; the e-mail is not verified; the domain is not allowed; no mapped role (Keycloak)", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No such method", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "An account with this e-mail exists: it is never taken over; sign in to it and link Google", body = Problem, content_type = PROBLEM_JSON),
        (status = 502, description = "`identity_provider_failed`", body = Problem, content_type = PROBLEM_JSON),
        (status = 504, description = "`identity_provider_timeout`", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn finish_oidc(
    state: State,
    client: ClientInfo,
    method: web::Path<String>,
    body: Json<OidcCallbackRequest>,
) -> ApiResult<web::Json<LoginResponse>> {
    let callback = Callback::from(body.into_inner());
    let outcome = match method_of(&method)? {
        "google" => oidc::google_callback(&state, callback, &client).await?,
        _ => oidc::staff_callback(&state, callback, &client).await?,
    };
    Ok(web::Json(outcome.into_response()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffLoginOptions {
    /// What the staff login page offers: `password` (`POST /api/v1/auth/login` without a
    /// provider), `temporary_key` (a one-time key from the CLI or an administrator) and
    /// `keycloak` while a staff identity provider is enabled.
    #[schema(value_type = Vec<super::schemas::AuthMethodName>, example = json!(["password", "temporary_key", "keycloak"]))]
    pub methods: Vec<&'static str>,
    /// Whether employees can sign in through a staff identity provider.
    pub keycloak: bool,
    /// The enabled staff identity providers (Keycloak realms), to start a sign-in with
    /// `POST /api/v1/auth/oidc/keycloak/start`.
    pub identity_providers: Vec<StaffLoginOption>,
}

/// The methods an employee can sign in with: Keycloak only while a realm is enabled.
pub fn staff_methods(keycloak: bool) -> Vec<&'static str> {
    [
        AuthMethod::Password,
        AuthMethod::TemporaryKey,
        AuthMethod::Keycloak,
    ]
    .into_iter()
    .filter(|m| keycloak || *m != AuthMethod::Keycloak)
    .map(AuthMethod::as_str)
    .collect()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffLoginOption {
    pub id: Uuid,
    pub name: String,
}

/// What the staff login page offers: the methods, and the Keycloak realms enabled.
/// Public; no secrets.
#[utoipa::path(get, path = "/api/v1/auth/staff-login-options", tag = "auth", operation_id = "get_staff_login_options",
    responses((status = 200, body = StaffLoginOptions)))]
pub async fn get_staff_login_options(state: State) -> ApiResult<web::Json<StaffLoginOptions>> {
    let idps = state.db(|store| Ok(store.list_staff_idps()?)).await?;
    let identity_providers: Vec<StaffLoginOption> = idps
        .into_iter()
        .filter(|p| p.enabled)
        .map(|p| StaffLoginOption {
            id: p.id,
            name: p.name,
        })
        .collect();
    let keycloak = !identity_providers.is_empty();
    Ok(web::Json(StaffLoginOptions {
        methods: staff_methods(keycloak),
        keycloak,
        identity_providers,
    }))
}

// --- a user's links ---

/// The method of a user's link: only Google links users (Keycloak signs employees in).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkMethod {
    Google,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LinkResponse {
    pub id: Uuid,
    pub method: LinkMethod,
    pub issuer: String,
    /// The account's id at the identity provider (`sub`).
    pub subject: String,
    /// The account's e-mail when the identity provider verified it.
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<UserLink> for LinkResponse {
    fn from(l: UserLink) -> Self {
        Self {
            id: l.id,
            method: LinkMethod::Google,
            issuer: l.issuer,
            subject: l.subject,
            email: l.email,
            created_at: l.created_at,
            last_used_at: l.last_used_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LinkList {
    pub items: Vec<LinkResponse>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkStartRequest {
    /// Exactly one of the redirect URIs the provider's `google` settings allow.
    pub redirect_uri: String,
}

/// The signed-in user (with a session, not an API token) behind a link operation.
fn session_user(principal: Principal) -> ApiResult<domain::model::User> {
    super::me::require_session(&principal)?;
    match principal.actor {
        Actor::User(user) => Ok(user),
        Actor::Employee(_) => Err(ApiError::Forbidden(
            "only users link identity-provider accounts".into(),
        )),
    }
}

/// Starts linking a Google account to my account (users, from a signed-in session). An
/// e-mail match never links accounts: only this does.
#[utoipa::path(post, path = "/api/v1/me/links/google/start", tag = "me", operation_id = "start_google_link",
    request_body = LinkStartRequest, security(("bearer" = [])),
    responses(
        (status = 200, body = OidcStartResponse),
        NeedsCredentials, Invalid, NotJson,
        (status = 403, description = "Not a user's session, or Google is off or not configured (`method_disabled`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 502, description = "`identity_provider_failed`", body = Problem, content_type = PROBLEM_JSON),
        (status = 504, description = "`identity_provider_timeout`", body = Problem, content_type = PROBLEM_JSON),
        (status = 429, description = "`too_many_attempts`: too many sign-ins started from this address; `Retry-After` says when to try again", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn start_google_link(
    state: State,
    client: ClientInfo,
    principal: Principal,
    body: Json<LinkStartRequest>,
) -> ApiResult<web::Json<OidcStartResponse>> {
    let user = session_user(principal)?;
    let authorization_url = oidc::start(
        &state,
        Target::LinkGoogle { user },
        body.into_inner().redirect_uri,
        &client,
    )
    .await?;
    Ok(web::Json(OidcStartResponse { authorization_url }))
}

/// Finishes linking: the Google account signs me in from now on.
#[utoipa::path(post, path = "/api/v1/me/links/google/callback", tag = "me", operation_id = "finish_google_link",
    request_body = OidcCallbackRequest, security(("bearer" = [])),
    responses(
        (status = 201, body = LinkResponse),
        NeedsCredentials, Invalid, NotJson,
        (status = 400, description = "The state is unknown, used, expired or not mine", body = Problem, content_type = PROBLEM_JSON),
        (status = 403, description = "Not a user's session", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "This Google account is linked to an account of this provider already", body = Problem, content_type = PROBLEM_JSON),
        (status = 502, description = "`identity_provider_failed`", body = Problem, content_type = PROBLEM_JSON),
        (status = 504, description = "`identity_provider_timeout`", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn finish_google_link(
    state: State,
    client: ClientInfo,
    principal: Principal,
    body: Json<OidcCallbackRequest>,
) -> ApiResult<HttpResponse> {
    let user = session_user(principal)?;
    let link = oidc::link_callback(&state, &user, body.into_inner().into(), &client).await?;
    Ok(HttpResponse::Created().json(LinkResponse::from(link)))
}

/// My links to identity-provider accounts.
#[utoipa::path(get, path = "/api/v1/me/links", tag = "me", operation_id = "list_my_links",
    security(("bearer" = []), ("api_token" = [])),
    responses((status = 200, body = LinkList), NeedsCredentials,
        (status = 403, description = "Not a user", body = Problem, content_type = PROBLEM_JSON)))]
pub async fn list_my_links(state: State, principal: Principal) -> ApiResult<web::Json<LinkList>> {
    let Actor::User(user) = principal.actor else {
        return Err(ApiError::Forbidden("only users have links".into()));
    };
    let links = state
        .db(move |store| Ok(store.user_links(user.id)?))
        .await?;
    Ok(web::Json(LinkList {
        items: links.into_iter().map(LinkResponse::from).collect(),
    }))
}

/// Removes one of my links: that account no longer signs me in.
#[utoipa::path(delete, path = "/api/v1/me/links/{id}", tag = "me", operation_id = "delete_my_link",
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204, description = "Removed"), NeedsCredentials, NotFound,
        (status = 403, description = "Not a user's session", body = Problem, content_type = PROBLEM_JSON)))]
pub async fn delete_my_link(
    state: State,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let user = session_user(principal)?;
    let id = parse_id(&id, "link")?;
    state
        .db(move |store| {
            store
                .delete_user_link(user.id, id)
                .map_err(ApiError::from_store("link"))
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// --- staff identity providers ---

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleMappingBody {
    /// A realm role (`billing-support`) or a role of this client (`<client_id>:<role>`).
    #[schema(example = "billing-support")]
    pub claim: String,
    /// The employee role it gives.
    #[schema(example = "support")]
    pub role: String,
    /// Only for these providers; left out or `null`: every provider.
    #[serde(default)]
    pub providers: Option<Vec<Uuid>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffIdpRequest {
    #[schema(example = "Staff SSO")]
    pub name: String,
    /// The realm's issuer exactly as its discovery document says it
    /// (`https://sso.example.com/realms/staff`).
    pub issuer: String,
    pub client_id: String,
    /// Write-only. Required on create; left out or `null` on a replace keeps it.
    pub client_secret: Option<String>,
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub role_mappings: Vec<RoleMappingBody>,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The realm's sign-in counts as a second factor when its ID token shows one: `amr`
    /// with `mfa` or factors of two kinds (such as `pwd` and `otp`), or `acr` in
    /// `idp_mfa_acr_values`. Then no challenge follows and admin enforcement accepts the
    /// session. Off (the default): the realm is a first factor like a password. It lives
    /// here, not in a provider's policies, because an employee signs in once for all the
    /// providers they reach.
    #[serde(default)]
    pub accept_idp_mfa: bool,
    /// At most 20 `acr` values that count as a second factor when `accept_idp_mfa` is on
    /// (for Keycloak, the levels of authentication its flows assign, such as `2`).
    #[serde(default)]
    #[schema(max_items = 20)]
    pub idp_mfa_acr_values: Vec<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffIdpResponse {
    pub id: Uuid,
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    /// The secret is never answered.
    pub client_secret_set: bool,
    pub redirect_uris: Vec<String>,
    pub role_mappings: Vec<RoleMappingBody>,
    pub enabled: bool,
    pub accept_idp_mfa: bool,
    pub idp_mfa_acr_values: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<StaffIdentityProvider> for StaffIdpResponse {
    fn from(p: StaffIdentityProvider) -> Self {
        Self {
            id: p.id,
            name: p.name,
            issuer: p.issuer,
            client_id: p.client_id,
            client_secret_set: !p.client_secret.is_empty(),
            redirect_uris: p.redirect_uris,
            role_mappings: p
                .role_mappings
                .into_iter()
                .map(|m| RoleMappingBody {
                    claim: m.claim,
                    role: m.role.as_str().to_owned(),
                    providers: m.providers,
                })
                .collect(),
            enabled: p.enabled,
            accept_idp_mfa: p.accept_idp_mfa,
            idp_mfa_acr_values: p.idp_mfa_acr_values,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffIdpList {
    pub items: Vec<StaffIdpResponse>,
}

/// Service-wide settings: only an employee who sees every provider changes them (a mapping
/// could otherwise give roles beyond the employee's own providers).
fn require_all_providers<P>(staff: &Staff<P>) -> ApiResult<()> {
    match staff.scope() {
        ProviderScope::All => Ok(()),
        ProviderScope::Only(_) => Err(ApiError::Forbidden(
            "staff identity providers are service-wide: this needs an employee of every provider"
                .into(),
        )),
    }
}

/// Builds the stored object from a request; `previous` supplies the id, times and a kept
/// secret.
fn to_idp(
    body: StaffIdpRequest,
    previous: Option<&StaffIdentityProvider>,
    now: DateTime<Utc>,
) -> ApiResult<StaffIdentityProvider> {
    let mut errors = domain::ValidationErrors::new();
    let mut mappings = Vec::new();
    for (i, m) in body.role_mappings.into_iter().enumerate() {
        match Role::parse(&m.role) {
            Some(role) => mappings.push(RoleMapping {
                claim: m.claim,
                role,
                providers: m.providers,
            }),
            None => errors.add(&format!("/role_mappings/{i}/role"), "is not a role"),
        }
    }
    let secret = match (body.client_secret, previous) {
        (Some(secret), _) => secret,
        (None, Some(p)) => p.client_secret.clone(),
        (None, None) => {
            errors.add("/client_secret", "is required");
            String::new()
        }
    };
    errors.into_result()?;
    let idp = StaffIdentityProvider {
        id: previous.map_or_else(Uuid::now_v7, |p| p.id),
        name: body.name.trim().to_owned(),
        issuer: body.issuer,
        client_id: body.client_id,
        client_secret: secret,
        redirect_uris: body.redirect_uris,
        role_mappings: mappings,
        enabled: body.enabled,
        created_at: previous.map_or(now, |p| p.created_at),
        updated_at: now,
        accept_idp_mfa: body.accept_idp_mfa,
        idp_mfa_acr_values: body.idp_mfa_acr_values,
    };
    idp.validate()?;
    Ok(idp)
}

/// Every provider a mapping names must exist: an employee cannot be limited to nothing.
async fn check_mapped_providers(state: &State, idp: &StaffIdentityProvider) -> ApiResult<()> {
    let mappings = idp.role_mappings.clone();
    state
        .db(move |store| {
            let mut errors = domain::ValidationErrors::new();
            for (i, m) in mappings.iter().enumerate() {
                for (j, id) in m.providers.iter().flatten().enumerate() {
                    match store.provider(*id) {
                        Ok(_) => {}
                        Err(persistence::StoreError::NotFound) => errors.add(
                            &format!("/role_mappings/{i}/providers/{j}"),
                            "no such provider",
                        ),
                        Err(other) => return Err(other.into()),
                    }
                }
            }
            Ok(errors.into_result()?)
        })
        .await
}

fn conflict(e: persistence::StoreError) -> ApiError {
    match e {
        persistence::StoreError::Conflict(_) => ApiError::conflict_on(
            "/client_id",
            "this issuer and client id are configured already",
        ),
        other => ApiError::from_store("staff identity provider")(other),
    }
}

/// The staff identity providers (Keycloak realms) that sign employees in.
#[utoipa::path(get, path = "/api/v1/staff-identity-providers", tag = "staff-identity-providers", operation_id = "list_staff_identity_providers",
    security(("bearer" = []), ("api_token" = [])),
    responses((status = 200, body = StaffIdpList), NeedsPermission))]
pub async fn list_staff_idps(
    state: State,
    staff: Staff<need::IdentityProvidersRead>,
) -> ApiResult<web::Json<StaffIdpList>> {
    require_all_providers(&staff)?;
    let items = state.db(|store| Ok(store.list_staff_idps()?)).await?;
    Ok(web::Json(StaffIdpList {
        items: items.into_iter().map(StaffIdpResponse::from).collect(),
    }))
}

/// Adds a staff identity provider.
#[utoipa::path(post, path = "/api/v1/staff-identity-providers", tag = "staff-identity-providers", operation_id = "create_staff_identity_provider",
    request_body = StaffIdpRequest, security(("bearer" = [])),
    responses((status = 201, body = StaffIdpResponse), NeedsPermission, Invalid, NotJson,
        (status = 409, description = "This issuer and client id are configured already", body = Problem, content_type = PROBLEM_JSON)))]
pub async fn create_staff_idp(
    state: State,
    staff: Staff<need::IdentityProvidersWrite>,
    body: Json<StaffIdpRequest>,
) -> ApiResult<HttpResponse> {
    require_all_providers(&staff)?;
    let idp = to_idp(body.into_inner(), None, state.now())?;
    check_mapped_providers(&state, &idp).await?;
    let stored = idp.clone();
    state
        .db(move |store| store.insert_staff_idp(&stored).map_err(conflict))
        .await?;
    let id = idp.id;
    let created = StaffIdpResponse::from(idp);
    audit::record(
        &state,
        &staff,
        audit::created(
            "staff_identity_provider.create",
            "staff_identity_provider",
            id.to_string(),
            None,
            &created,
        ),
    )
    .await;
    Ok(HttpResponse::Created().json(created))
}

/// One staff identity provider.
#[utoipa::path(get, path = "/api/v1/staff-identity-providers/{id}", tag = "staff-identity-providers", operation_id = "get_staff_identity_provider",
    params(("id" = Uuid, Path)), security(("bearer" = []), ("api_token" = [])),
    responses((status = 200, body = StaffIdpResponse), NeedsPermission, NotFound))]
pub async fn get_staff_idp(
    state: State,
    staff: Staff<need::IdentityProvidersRead>,
    id: web::Path<String>,
) -> ApiResult<web::Json<StaffIdpResponse>> {
    require_all_providers(&staff)?;
    let id = parse_id(&id, "staff identity provider")?;
    let idp = state
        .db(move |store| {
            store
                .staff_idp(id)
                .map_err(ApiError::from_store("staff identity provider"))
        })
        .await?;
    Ok(web::Json(idp.into()))
}

/// Replaces a staff identity provider (the secret is kept when left out). Role changes
/// apply at each employee's next login.
#[utoipa::path(put, path = "/api/v1/staff-identity-providers/{id}", tag = "staff-identity-providers", operation_id = "replace_staff_identity_provider",
    params(("id" = Uuid, Path)), request_body = StaffIdpRequest, security(("bearer" = [])),
    responses((status = 200, body = StaffIdpResponse), NeedsPermission, NotFound, Invalid, NotJson,
        (status = 409, description = "This issuer and client id are configured already", body = Problem, content_type = PROBLEM_JSON)))]
pub async fn replace_staff_idp(
    state: State,
    staff: Staff<need::IdentityProvidersWrite>,
    id: web::Path<String>,
    body: Json<StaffIdpRequest>,
) -> ApiResult<web::Json<StaffIdpResponse>> {
    require_all_providers(&staff)?;
    let id = parse_id(&id, "staff identity provider")?;
    let previous = state
        .db(move |store| {
            store
                .staff_idp(id)
                .map_err(ApiError::from_store("staff identity provider"))
        })
        .await?;
    let idp = to_idp(body.into_inner(), Some(&previous), state.now())?;
    check_mapped_providers(&state, &idp).await?;
    let stored = idp.clone();
    state
        .db(move |store| store.update_staff_idp(&stored).map_err(conflict))
        .await?;
    let before = StaffIdpResponse::from(previous);
    let after = StaffIdpResponse::from(idp);
    audit::record(
        &state,
        &staff,
        audit::updated(
            "staff_identity_provider.update",
            "staff_identity_provider",
            id.to_string(),
            None,
            &before,
            &after,
        ),
    )
    .await;
    Ok(web::Json(after))
}

/// Removes a staff identity provider and its employees' links (the employees stay).
#[utoipa::path(delete, path = "/api/v1/staff-identity-providers/{id}", tag = "staff-identity-providers", operation_id = "delete_staff_identity_provider",
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204, description = "Removed"), NeedsPermission, NotFound))]
pub async fn delete_staff_idp(
    state: State,
    staff: Staff<need::IdentityProvidersWrite>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    require_all_providers(&staff)?;
    let id = parse_id(&id, "staff identity provider")?;
    let previous = state
        .db(move |store| {
            let previous = store
                .staff_idp(id)
                .map_err(ApiError::from_store("staff identity provider"))?;
            store
                .delete_staff_idp(id)
                .map_err(ApiError::from_store("staff identity provider"))?;
            Ok(previous)
        })
        .await?;
    let before = StaffIdpResponse::from(previous);
    audit::record(
        &state,
        &staff,
        audit::deleted(
            "staff_identity_provider.delete",
            "staff_identity_provider",
            id.to_string(),
            None,
            &before,
        ),
    )
    .await;
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/auth/oidc/{method}/start").post(start_oidc))
        .service(resource("/api/v1/auth/oidc/{method}/callback").post(finish_oidc))
        .service(resource("/api/v1/auth/staff-login-options").get(get_staff_login_options))
        .service(resource("/api/v1/me/links").get(list_my_links))
        .service(resource("/api/v1/me/links/google/start").post(start_google_link))
        .service(resource("/api/v1/me/links/google/callback").post(finish_google_link))
        .service(resource("/api/v1/me/links/{id}").delete(delete_my_link))
        .service(
            resource("/api/v1/staff-identity-providers")
                .get(list_staff_idps)
                .post(create_staff_idp),
        )
        .service(
            resource("/api/v1/staff-identity-providers/{id}")
                .get(get_staff_idp)
                .put(replace_staff_idp)
                .delete(delete_staff_idp),
        );
}

#[derive(OpenApi)]
#[openapi(paths(
    start_oidc,
    finish_oidc,
    get_staff_login_options,
    start_google_link,
    finish_google_link,
    list_my_links,
    delete_my_link,
    list_staff_idps,
    create_staff_idp,
    get_staff_idp,
    replace_staff_idp,
    delete_staff_idp,
))]
struct Doc;

pub fn document() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
