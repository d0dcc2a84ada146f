//! The signed-in user or employee: who I am, my password, sessions and API tokens.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use domain::ValidationErrors;
use domain::api_token::{ApiTokenScope, SHOWN_PREFIX_CHARS};
use domain::auth_method::AuthMethod;
use domain::error::parse_name;
use domain::password;
use domain::permission::ProviderScope;
use domain::secret::{API_TOKEN_PREFIX, hash_secret};
use domain::sign_in::SecondFactor;
use persistence::NewApiToken;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use super::params::parse_id;
use super::resource;
use super::responses::{Invalid, NeedsPermission, NotFound, NotJson, PROBLEM_JSON, Throttled};
use super::schemas::{self, ApiTokenScopeName};
use crate::auth::log::{Attempt, Reason, record};
use crate::auth::second_factor::{access_of, enrolled_list, factor_list};
use crate::auth::throttle::{reserve, reset, throttle_key};
use crate::extract::{Actor, ClientInfo, Credential, Json, Principal};
use crate::passwords::Verified;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::secrets::new_secret;
use crate::state::State;
use domain::mfa::SessionAccess;
use domain::provider::SubjectKind;

/// Most API tokens one person may hold.
const MAX_API_TOKENS: usize = 50;
/// Longest lifetime of an API token: a year.
const MAX_API_TOKEN_DAYS: u32 = 366;

/// How a request was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// A session's access token.
    AccessToken,
    /// An API token (`biat_…`).
    ApiToken,
    /// Legacy authinfo (HTTP Basic).
    Authinfo,
}

/// What the second-factor rules allow a session: `full`; `mfa_enrollment_required` (enroll
/// a factor at `/api/v1/me/totp` first); `mfa_required` (sign in again with the factor). The
/// last two are the codes other routes answer with 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = SessionAccess)]
pub enum SessionAccessName {
    Full,
    MfaEnrollmentRequired,
    MfaRequired,
}

impl From<SessionAccess> for SessionAccessName {
    fn from(access: SessionAccess) -> Self {
        match access {
            SessionAccess::Full => Self::Full,
            SessionAccess::EnrollmentOnly => Self::MfaEnrollmentRequired,
            SessionAccess::SecondFactorMissing => Self::MfaRequired,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    #[schema(value_type = schemas::SubjectKind)]
    pub kind: &'static str,
    pub id: Uuid,
    pub name: String,
    /// A user's e-mail, or an employee's e-mail if set.
    pub email: Option<String>,
    /// An employee's login.
    pub login: Option<String>,
    pub provider_id: Option<Uuid>,
    pub client_id: Option<Uuid>,
    /// An employee's roles.
    #[schema(value_type = Vec<super::employees::RoleName>)]
    pub roles: Vec<String>,
    /// Providers an employee may act on; `null` for all.
    pub providers: Option<Vec<Uuid>>,
    pub has_password: bool,
    /// A user's number (E.164); `POST /api/v1/me/phone` adds or changes it.
    pub phone: Option<String>,
    /// Whether the user proved `phone` with a code (only a verified number signs in).
    pub phone_verified: bool,
    /// How this request was authenticated.
    pub credential: CredentialKind,
    /// How the session was authenticated (RFC 8176: `pwd`, `otp`, `sms`, `mfa`; `otk` for a
    /// one-time key, `rcc` for a recovery code, `fed` for Google or Keycloak); empty for
    /// API tokens and authinfo.
    #[schema(example = json!(["pwd", "otp", "mfa"]))]
    pub amr: Vec<String>,
    /// The second factors enrolled: `totp`, `sms` (while the number is verified),
    /// `recovery_code` (while unused codes remain).
    #[schema(value_type = Vec<schemas::SecondFactorName>)]
    pub second_factors: Vec<String>,
    /// Unused recovery codes.
    pub recovery_codes_left: i64,
    pub session_access: SessionAccessName,
}

/// Who I am.
#[utoipa::path(get, path = "/api/v1/me", tag = "me", operation_id = "get_me",
    security(("bearer" = []), ("api_token" = []), ("authinfo" = [])),
    responses(
        (status = 200, body = MeResponse),
        NeedsPermission,
    ))]
pub async fn get_me(state: State, principal: Principal) -> ApiResult<web::Json<MeResponse>> {
    // An access token's request read these with its session; otherwise read them now.
    let (factors, recovery_codes_left, phone_verified) = match &principal.credential {
        Credential::AccessToken { factors: f, .. } => (
            factor_list(f.totp, f.sms, f.recovery_codes_left),
            f.recovery_codes_left,
            f.sms,
        ),
        _ => read_factors(&state, &principal).await?,
    };
    let second_factors: Vec<String> = factors.iter().map(|f| f.as_str().to_owned()).collect();
    let amr = super::mfa::session_amr(&principal);
    let session_access = access_of(&principal).into();
    let credential = match principal.credential {
        Credential::AccessToken { .. } => CredentialKind::AccessToken,
        Credential::ApiToken { .. } => CredentialKind::ApiToken,
        Credential::Authinfo => CredentialKind::Authinfo,
    };
    Ok(web::Json(match principal.actor {
        Actor::User(u) => MeResponse {
            kind: SubjectKind::User.as_str(),
            id: u.id,
            name: u.name,
            email: Some(u.email.to_string()),
            login: None,
            provider_id: Some(u.provider_id),
            client_id: Some(u.client_id),
            roles: Vec::new(),
            providers: None,
            has_password: u.has_password,
            phone: u.phone.map(|p| p.to_string()),
            phone_verified,
            credential,
            amr,
            second_factors,
            recovery_codes_left,
            session_access,
        },
        Actor::Employee(e) => MeResponse {
            kind: SubjectKind::Employee.as_str(),
            id: e.id,
            name: e.name,
            email: e.email.map(|m| m.to_string()),
            login: Some(e.login),
            provider_id: None,
            client_id: None,
            roles: e.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            providers: match e.providers {
                ProviderScope::All => None,
                ProviderScope::Only(ids) => Some(ids),
            },
            has_password: e.has_password,
            phone: None,
            phone_verified: false,
            credential,
            amr,
            second_factors,
            recovery_codes_left,
            session_access,
        },
    }))
}

/// `/me`'s second-factor fields for a principal that did not bring them: the factors, the
/// unused recovery codes, whether a user's number is verified.
async fn read_factors(
    state: &State,
    principal: &Principal,
) -> ApiResult<(Vec<SecondFactor>, i64, bool)> {
    let subject = principal.subject();
    // One query: the factors, the codes left, and (users) whether the number is verified.
    let enrolled = state
        .db(move |store| Ok(store.enrolled_factors(subject)?))
        .await?;
    let factors = enrolled_list(enrolled);
    let (recovery_codes_left, phone_verified) = (enrolled.recovery_codes_left, enrolled.sms);
    Ok((factors, recovery_codes_left, phone_verified))
}

/// Sensitive changes need a session: an API token or authinfo cannot mint more credentials.
pub(super) fn require_session(principal: &Principal) -> ApiResult<Uuid> {
    principal.session().ok_or_else(|| {
        ApiError::Forbidden("this needs a signed-in session, not an API token or authinfo".into())
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// Required when a password is set.
    pub current_password: Option<String>,
    /// At least 15 characters (code points), or 8 for a user whose provider requires a
    /// second factor of everyone; at most 1024 bytes (UTF-8). Not a common password, and
    /// not containing the provider's name or slug or the login.
    #[schema(min_length = 8)]
    pub new_password: String,
}

/// Sets or changes my password. Every other session, API token and one-time key dies.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "me", operation_id = "change_password",
    request_body = ChangePassword, security(("bearer" = [])),
    responses(
        (status = 204, description = "Changed"),
        NeedsPermission, Invalid, NotJson,
        (status = 401, description = "Not signed in, or the current password is wrong", body = Problem, content_type = PROBLEM_JSON),
        Throttled,
    ))]
pub async fn change_password(
    state: State,
    client: ClientInfo,
    principal: Principal,
    body: Json<ChangePassword>,
) -> ApiResult<HttpResponse> {
    let session = require_session(&principal)?;
    let subject = principal.subject();
    let body = body.into_inner();
    let (min, context, provider_id) = match &principal.actor {
        Actor::User(u) => {
            let provider_id = u.provider_id;
            let provider = state
                .db(move |store| Ok(store.provider(provider_id)?))
                .await?;
            (
                password::min_chars(provider.policies.mfa_required_for_everyone),
                vec![
                    provider.name,
                    provider.slug.to_string(),
                    u.email.to_string(),
                ],
                Some(provider_id),
            )
        }
        Actor::Employee(e) => (
            password::MIN_CHARS_SINGLE_FACTOR,
            vec![e.login.clone()],
            None,
        ),
    };
    let context: Vec<&str> = context.iter().map(String::as_str).collect();
    password::check_new(&body.new_password, min, &context)
        .map_err(|e| ApiError::validation("/new_password", e.to_string()))?;
    let stored = state
        .db(move |store| {
            Ok(match subject.kind {
                domain::provider::SubjectKind::User => store.user_password_hash(subject.id)?,
                domain::provider::SubjectKind::Employee => {
                    store.employee_password_hash(subject.id)?
                }
            })
        })
        .await?;
    if stored.is_some() {
        // The current password is a secret checked like any other: it spends the budget.
        let current = body.current_password.ok_or_else(|| {
            ApiError::validation("/current_password", "is required to change a password")
        })?;
        let key = throttle_key(Some(subject), "", "");
        let attempt = |reason| {
            Attempt::new(AuthMethod::Password, reason)
                .provider(provider_id)
                .subject(Some(subject))
        };
        reserve(&state, key.clone(), attempt(Reason::Ok), &client).await?;
        if state.passwords.verify(current, stored).await? == Verified::No {
            record(&state, attempt(Reason::UnknownOrWrongPassword), &client).await;
            return Err(ApiError::InvalidCredentials);
        }
        reset(&state, key).await?;
    }
    let hash = state.passwords.hash(body.new_password).await?;
    let now = state.now();
    state
        .db(move |store| Ok(store.change_password(subject, &hash, Some(session), now)?))
        .await?;
    record(
        &state,
        Attempt::new(AuthMethod::Password, Reason::PasswordChanged)
            .provider(provider_id)
            .subject(Some(subject)),
        &client,
    )
    .await;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    pub id: Uuid,
    /// The method that started it.
    #[schema(value_type = schemas::AuthMethodName)]
    pub method: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// This is the session of the request.
    pub current: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    pub items: Vec<SessionResponse>,
}

/// My live sessions.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "me", operation_id = "list_sessions",
    security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, body = SessionList),
        NeedsPermission,
    ))]
pub async fn list_sessions(
    state: State,
    principal: Principal,
) -> ApiResult<web::Json<SessionList>> {
    let subject = principal.subject();
    let current = principal.session();
    let now = state.now();
    let sessions = state
        .db(move |store| Ok(store.list_sessions(subject, now)?))
        .await?;
    Ok(web::Json(SessionList {
        items: sessions
            .into_iter()
            .map(|s| SessionResponse {
                current: Some(s.id) == current,
                id: s.id,
                method: s.method,
                ip: s.ip,
                user_agent: s.user_agent,
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
                expires_at: s.expires_at,
            })
            .collect(),
    }))
}

/// Ends one of my sessions (another device, or this one).
#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedSessions {
    /// How many sessions ended.
    pub revoked: usize,
}

/// Signs out everywhere else: every session but the one of this request ends.
#[utoipa::path(delete, path = "/api/v1/me/sessions", tag = "me", operation_id = "delete_other_sessions",
    security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, body = RevokedSessions),
        NeedsPermission,
    ))]
pub async fn delete_other_sessions(
    state: State,
    principal: Principal,
) -> ApiResult<web::Json<RevokedSessions>> {
    let subject = principal.subject();
    let keep = principal.session();
    let now = state.now();
    let revoked = state
        .db(move |store| Ok(store.revoke_other_sessions(subject, keep, now)?))
        .await?;
    Ok(web::Json(RevokedSessions { revoked }))
}

/// Ends one of my sessions (signs that device out).
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "me", operation_id = "delete_session",
    params(("id" = Uuid, Path)), security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 204, description = "Revoked"),
        NeedsPermission, NotFound,
    ))]
pub async fn delete_session(
    state: State,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_id(&id, "session")?;
    let subject = principal.subject();
    let now = state.now();
    let revoked = state
        .db(move |store| Ok(store.revoke_session(subject, id, now)?))
        .await?;
    if !revoked {
        return Err(ApiError::NotFound("session"));
    }
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiToken {
    #[schema(schema_with = schemas::token_name)]
    pub name: String,
    /// `read` (GET and HEAD only) or `full`.
    #[schema(value_type = ApiTokenScopeName, example = "read")]
    pub scope: ApiTokenScope,
    /// Days until it expires (1 to 366); never when left out or `null`.
    #[schema(minimum = 1, maximum = 366)]
    pub expires_in_days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiTokenResponse {
    pub id: Uuid,
    pub name: String,
    #[schema(value_type = ApiTokenScopeName)]
    pub scope: String,
    /// The first characters of the secret, to tell tokens apart.
    #[schema(example = "biat_3f9a0c1d")]
    pub token_prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiToken {
    #[serde(flatten)]
    pub token: ApiTokenResponse,
    /// The secret, shown this once. Send it as `Authorization: Bearer`.
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiTokenList {
    pub items: Vec<ApiTokenResponse>,
}

fn token_response(t: persistence::ApiTokenRecord) -> ApiTokenResponse {
    ApiTokenResponse {
        id: t.id,
        name: t.name,
        scope: t.scope,
        token_prefix: t.token_prefix,
        created_at: t.created_at,
        expires_at: t.expires_at,
        last_used_at: t.last_used_at,
    }
}

/// My API tokens (revoked ones are gone; expired ones stay until revoked).
#[utoipa::path(get, path = "/api/v1/me/api-tokens", tag = "me", operation_id = "list_api_tokens",
    security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, body = ApiTokenList),
        NeedsPermission,
    ))]
pub async fn list_api_tokens(
    state: State,
    principal: Principal,
) -> ApiResult<web::Json<ApiTokenList>> {
    let subject = principal.subject();
    let tokens = state
        .db(move |store| Ok(store.list_api_tokens(subject)?))
        .await?;
    Ok(web::Json(ApiTokenList {
        items: tokens.into_iter().map(token_response).collect(),
    }))
}

/// Creates an API token for scripts. Needs a signed-in session; for a user, the provider
/// must have API tokens on.
#[utoipa::path(post, path = "/api/v1/me/api-tokens", tag = "me", operation_id = "create_api_token",
    request_body = CreateApiToken, security(("bearer" = [])),
    responses(
        (status = 201, body = CreatedApiToken),
        NeedsPermission, Invalid, NotJson,
        (status = 409, description = "Too many tokens", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn create_api_token(
    state: State,
    principal: Principal,
    body: Json<CreateApiToken>,
) -> ApiResult<HttpResponse> {
    require_session(&principal)?;
    let subject = principal.subject();
    let provider_id = principal.provider_id();
    if let Some(provider_id) = provider_id {
        let provider = state
            .db(move |store| Ok(store.provider(provider_id)?))
            .await?;
        if !provider.auth_methods.login_enabled(AuthMethod::ApiToken) {
            return Err(ApiError::MethodDisabled(AuthMethod::ApiToken.as_str()));
        }
    }
    let body = body.into_inner();
    let mut errors = ValidationErrors::new();
    let name = errors.check("/name", parse_name(&body.name, 100));
    if let Some(days) = body.expires_in_days
        && !(1..=MAX_API_TOKEN_DAYS).contains(&days)
    {
        errors.add(
            "/expires_in_days",
            format!("must be between 1 and {MAX_API_TOKEN_DAYS}"),
        );
    }
    let Some(name) = name else {
        return Err(errors.into());
    };
    errors.into_result()?;
    let now = state.now();
    let secret = new_secret(API_TOKEN_PREFIX);
    let token = NewApiToken {
        id: Uuid::now_v7(),
        subject,
        provider_id,
        name,
        token_prefix: secret[..SHOWN_PREFIX_CHARS].to_owned(),
        token_hash: hash_secret(&secret),
        scope: body.scope.as_str().to_owned(),
        created_at: now,
        expires_at: body
            .expires_in_days
            .map(|d| now + chrono::Duration::days(i64::from(d))),
    };
    let saved = token.clone();
    state
        .db(move |store| {
            if store.list_api_tokens(saved.subject)?.len() >= MAX_API_TOKENS {
                return Err(ApiError::conflict(format!(
                    "at most {MAX_API_TOKENS} API tokens"
                )));
            }
            Ok(store.insert_api_token(&saved)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(CreatedApiToken {
        token: ApiTokenResponse {
            id: token.id,
            name: token.name,
            scope: token.scope,
            token_prefix: token.token_prefix,
            created_at: token.created_at,
            expires_at: token.expires_at,
            last_used_at: None,
        },
        secret,
    }))
}

/// Revokes one of my API tokens, at once.
#[utoipa::path(delete, path = "/api/v1/me/api-tokens/{id}", tag = "me", operation_id = "delete_api_token",
    params(("id" = Uuid, Path)), security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 204, description = "Revoked"),
        NeedsPermission, NotFound,
    ))]
pub async fn delete_api_token(
    state: State,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_id(&id, "API token")?;
    let subject = principal.subject();
    let now = state.now();
    let revoked = state
        .db(move |store| Ok(store.revoke_api_token(subject, id, now)?))
        .await?;
    if !revoked {
        return Err(ApiError::NotFound("API token"));
    }
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/me").get(get_me))
        .service(resource("/api/v1/me/password").post(change_password))
        .service(
            resource("/api/v1/me/sessions")
                .get(list_sessions)
                .delete(delete_other_sessions),
        )
        .service(resource("/api/v1/me/sessions/{id}").delete(delete_session))
        .service(
            resource("/api/v1/me/api-tokens")
                .get(list_api_tokens)
                .post(create_api_token),
        )
        .service(resource("/api/v1/me/api-tokens/{id}").delete(delete_api_token));
}

#[derive(OpenApi)]
#[openapi(paths(
    get_me,
    change_password,
    list_sessions,
    delete_other_sessions,
    delete_session,
    list_api_tokens,
    create_api_token,
    delete_api_token,
))]
struct Doc;

pub fn document() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `session_access` names the refusals with the codes the refusing routes answer.
    #[test]
    fn session_access_names_are_the_problem_codes() {
        let name = |a: SessionAccess| serde_json::to_value(SessionAccessName::from(a)).unwrap();
        assert_eq!(name(SessionAccess::Full), "full");
        assert_eq!(
            name(SessionAccess::EnrollmentOnly),
            ApiError::MfaEnrollmentRequired.code()
        );
        assert_eq!(
            name(SessionAccess::SecondFactorMissing),
            ApiError::MfaRequired.code()
        );
    }
}
