//! Public sign-in: password, one-time key, refresh, logout; registration.

use actix_web::{HttpResponse, web};
use domain::auth_method::AuthMethod;
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use super::resource;
use crate::auth_flow::{self, PasswordTarget, TokenResponse};
use crate::authlog::{Attempt, Reason, SESSION};
use crate::extract::{ClientInfo, Principal};
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::State;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemKey {
    /// The one-time key (`bitk_…`) printed by the CLI or issued by staff.
    pub key: String,
}

/// Redeems a one-time key for a session. Each key works once and expires (15 minutes by
/// default).
#[utoipa::path(post, path = "/api/v1/auth/temporary-key", tag = "auth", operation_id = "redeem_temporary_key",
    request_body = RedeemKey,
    responses(
        (status = 200, body = TokenResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unknown, used or expired key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The provider turned one-time keys off (`method_disabled`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn redeem_temporary_key(
    state: State,
    client: ClientInfo,
    body: web::Json<RedeemKey>,
) -> ApiResult<web::Json<TokenResponse>> {
    let key = body.into_inner().key;
    Ok(web::Json(
        auth_flow::redeem_temporary_key(&state, key, &client).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The provider's slug for a user; leave it out for an employee.
    #[schema(example = "acme")]
    pub provider: Option<String>,
    /// A user's e-mail, or an employee's login.
    #[schema(example = "anna@example.com")]
    pub login: String,
    pub password: String,
}

/// Password login of a user (with `provider`) or an employee (without).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", operation_id = "login",
    request_body = LoginRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unknown login or wrong password (the same answer for both)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Password login is off for this provider (`method_disabled`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such provider", body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failures: wait `Retry-After` seconds, or the account needs recovery", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    state: State,
    client: ClientInfo,
    body: web::Json<LoginRequest>,
) -> ApiResult<web::Json<TokenResponse>> {
    let body = body.into_inner();
    let target = match body.provider {
        Some(provider_slug) => PasswordTarget::User {
            provider_slug,
            email: body.login,
        },
        None => PasswordTarget::Employee { login: body.login },
    };
    let ok =
        auth_flow::check_password(&state, target, body.password, AuthMethod::Password, &client)
            .await?;
    Ok(web::Json(
        auth_flow::start_session(
            &state,
            ok.subject,
            ok.provider_id,
            AuthMethod::Password,
            &client,
        )
        .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Exchanges a refresh token for new tokens. Each refresh token works once; presenting a
/// used one again revokes the whole session.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", operation_id = "refresh",
    request_body = RefreshRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn refresh(
    state: State,
    client: ClientInfo,
    body: web::Json<RefreshRequest>,
) -> ApiResult<web::Json<TokenResponse>> {
    Ok(web::Json(
        auth_flow::refresh(&state, body.into_inner().refresh_token, &client).await?,
    ))
}

/// Ends the session of the access token used.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", operation_id = "logout",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The session is revoked"),
        (status = 400, description = "The credential is not a session (an API token or authinfo)", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn logout(
    state: State,
    client: ClientInfo,
    principal: Principal,
) -> ApiResult<HttpResponse> {
    let session = principal.session().ok_or_else(|| {
        ApiError::BadRequest("only a session can log out; revoke API tokens instead".into())
    })?;
    let subject = principal.subject();
    let now = state.now();
    state
        .db(move |store| Ok(store.revoke_session(subject, session, now)?))
        .await?;
    state
        .record(
            Attempt::named(SESSION, Reason::Logout)
                .provider(principal.provider_id())
                .subject(Some(subject)),
            &client,
        )
        .await;
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/auth/temporary-key").post(redeem_temporary_key))
        .service(resource("/api/v1/auth/login").post(login))
        .service(resource("/api/v1/auth/refresh").post(refresh))
        .service(resource("/api/v1/auth/logout").post(logout));
}

#[derive(OpenApi)]
#[openapi(paths(redeem_temporary_key, login, refresh, logout))]
struct Doc;

pub fn document() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
