//! Public sign-in: password, one-time key, refresh, logout; registration.

use actix_web::{HttpResponse, web};
use domain::ValidationErrors;
use domain::auth_method::AuthMethod;
use domain::consent::{
    ConsentDocument, ConsentMethod, Decision, DocumentVersion, version_in_force,
};
use domain::email::Email;
use domain::error::parse_name;
use domain::model::{Client, Subject, User};
use domain::password;
use domain::phone::PhoneNumber;
use domain::phone_code::{CodeHolder, CodePurpose, looks_like_code};
use domain::provider::{AccountStatus, ProviderStatus};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use super::resource;
use super::responses::{Invalid, NeedsCredentials, NeedsSession, NotJson, PROBLEM_JSON, Throttled};
use super::schemas;
use crate::auth::consent::new_record;
use crate::auth::log::{Attempt, Reason, SESSION, record};
use crate::auth::outcome::{
    FirstFactor, LoginResponse, finish_sign_in_with, session_after_registration,
};
use crate::auth::password::{PasswordTarget, check_password};
use crate::auth::phone_code::check_code;
use crate::auth::session::{self, TokenResponse};
use crate::auth::temporary_key;
use crate::auth::throttle::rate_limit;
use crate::extract::{ClientInfo, Json, Principal};
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
        Invalid, NotJson,
        (status = 401, description = "Unknown, used or expired key", body = Problem, content_type = PROBLEM_JSON),
        (status = 403, description = "The provider turned one-time keys off (`method_disabled`), or (`consent_required`, body `ConsentRequiredProblem`) a must-agree consent document awaits acceptance: send its `consent_token` with the accepted `version_id`s to `POST /api/v1/auth/consent`", body = Problem, content_type = PROBLEM_JSON),
        Throttled,
    ))]
pub async fn redeem_temporary_key(
    state: State,
    client: ClientInfo,
    body: Json<RedeemKey>,
) -> ApiResult<web::Json<TokenResponse>> {
    let key = body.into_inner().key;
    let outcome = temporary_key::redeem_temporary_key(&state, key, &client).await?;
    Ok(web::Json(outcome.into_tokens()?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "provider": "acme",
    "login": "anna@example.com",
    "password": "correct horse battery staple"
}))]
pub struct LoginRequest {
    /// The provider's slug for a user; leave it out for an employee.
    #[schema(example = "acme")]
    pub provider: Option<String>,
    /// A user's e-mail, or an employee's login.
    #[schema(example = "anna@example.com")]
    pub login: String,
    pub password: String,
}

/// Password login of a user (with `provider`) or an employee (without). A person with a
/// second factor gets no tokens yet: the answer is a challenge
/// (`{mfa_required: true, challenge_id, methods, expires_at}`) to finish at
/// `POST /api/v1/auth/mfa/verify`. Tell the two answers apart by `mfa_required`.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", operation_id = "login",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Tokens, or a challenge for a second factor", body = LoginResponse),
        Invalid, NotJson,
        (status = 401, description = "Unknown login or wrong password (the same answer for both)", body = Problem, content_type = PROBLEM_JSON),
        (status = 403, description = "Password login is off for this provider (`method_disabled`), or (`consent_required`, body `ConsentRequiredProblem`) a must-agree consent document awaits acceptance: send its `consent_token` with the accepted `version_id`s to `POST /api/v1/auth/consent`", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No such provider", body = Problem, content_type = PROBLEM_JSON),
        Throttled,
    ))]
pub async fn login(
    state: State,
    client: ClientInfo,
    body: Json<LoginRequest>,
) -> ApiResult<web::Json<LoginResponse>> {
    let body = body.into_inner();
    let target = match body.provider {
        Some(provider_slug) => PasswordTarget::User {
            provider_slug,
            email: body.login,
        },
        None => PasswordTarget::Employee { login: body.login },
    };
    let checked =
        check_password(&state, target, body.password, AuthMethod::Password, &client).await?;
    let outcome = finish_sign_in_with(
        &state,
        checked.first,
        checked.writes,
        checked.read_before,
        &client,
    )
    .await?;
    Ok(web::Json(outcome.into_response()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Exchanges a refresh token for new tokens. Each refresh token works once; presenting a
/// used one again revokes the whole session. Within a short grace after a token's rotation
/// (`REFRESH_REUSE_GRACE`, 5 seconds by default), a repeat of it (a second tab, a retried
/// request) answers 409 `refresh_token_rotated` and revokes nothing: the client should use
/// the refresh token the other request received.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", operation_id = "refresh",
    request_body = RefreshRequest,
    responses(
        (status = 200, body = TokenResponse),
        NeedsCredentials, Invalid, NotJson,
        (status = 409, description = "`refresh_token_rotated`: the token was exchanged a moment ago (within the reuse grace) by another request; nothing was revoked, retry with the new refresh token", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn refresh(
    state: State,
    client: ClientInfo,
    body: Json<RefreshRequest>,
) -> ApiResult<web::Json<TokenResponse>> {
    Ok(web::Json(
        session::refresh(&state, body.into_inner().refresh_token, &client).await?,
    ))
}

/// Ends the session of the access token used.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", operation_id = "logout",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The session is revoked"),
        NeedsSession,
        (status = 400, description = "The credential is not a session (an API token or authinfo)", body = Problem, content_type = PROBLEM_JSON),
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
    record(
        &state,
        Attempt::named(SESSION, Reason::Logout)
            .provider(principal.provider_id())
            .subject(Some(subject)),
        &client,
    )
    .await;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationRequest {
    #[schema(schema_with = schemas::client_name_or_null)]
    pub client_name: Option<String>,
    #[schema(schema_with = schemas::login_email)]
    pub email: String,
    #[schema(schema_with = schemas::name)]
    pub name: String,
    /// Required, with `phone_code`, where the provider turned phone registration on.
    #[schema(schema_with = schemas::phone_or_null)]
    pub phone: Option<String>,
    /// The code sent to `phone` by `POST /api/v1/auth/phone/start` with
    /// `purpose: registration`: the number is registered verified.
    #[schema(example = "123456", pattern = "^[0-9]{6}$")]
    pub phone_code: Option<String>,
    /// Required where password registration is on, unless the registration is phone-first
    /// (phone registration on, no password: the user signs in by phone). At least 15
    /// characters (code points), or 8 where the provider requires a second factor of
    /// everyone (see `password_min_length` of the login options); at most 1024 bytes
    /// (UTF-8). Not a common password, and not containing the provider's name or slug or
    /// the e-mail address.
    #[schema(min_length = 8)]
    pub password: Option<String>,
    /// The consent documents agreed to on the form: document ids (their version in force)
    /// or version ids (see `consent_documents` of the login options). Every must-agree
    /// document shown on registration is required.
    #[serde(default)]
    pub consents: Vec<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegistrationResponse {
    pub client_id: Uuid,
    pub user_id: Uuid,
    pub tokens: TokenResponse,
}

/// Registers a client and its first user, and signs the user in: with a password, or
/// phone-first. Where the provider turned phone registration on, every registration proves
/// its number with `phone` and the `phone_code` sent by `POST /api/v1/auth/phone/start`
/// (`purpose: registration`), and the number is stored verified; a registration without
/// `password` is then phone-first. Valid requests are rate-limited per address (10, then one more every 30 seconds) and per
/// provider (100, then one a second), whatever their answer: a 409 says that an e-mail is
/// registered, so probing it is slowed down, not prevented.
#[utoipa::path(post, path = "/api/v1/providers/{provider}/registrations", tag = "auth", operation_id = "register",
    params(("provider" = String, Path, description = "The provider's slug")),
    request_body = RegistrationRequest,
    responses(
        (status = 201, body = RegistrationResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "`validation_failed`: a field breaks a rule, or a must-agree document shown on registration is not among `consents` (pointer `/consents`, the detail names it)", body = Problem, content_type = PROBLEM_JSON),
        NotJson,
        (status = 403, description = "Password (or, without a password, phone) registration is off for this provider (`method_disabled`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No such provider", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "The e-mail is registered at this provider, or another user of it verified the number", body = Problem, content_type = PROBLEM_JSON),
        (status = 429, description = "`too_many_attempts`: too many registrations from this address or at this provider; `Retry-After` says when to try again", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn register(
    state: State,
    client: ClientInfo,
    slug: web::Path<String>,
    body: Json<RegistrationRequest>,
) -> ApiResult<HttpResponse> {
    let slug = slug.into_inner();
    let provider = state
        .db(move |store| {
            store
                .provider_by_slug(&slug)
                .map_err(ApiError::from_store("provider"))
        })
        .await?;
    let body = body.into_inner();
    let methods = &provider.auth_methods;
    // Where phone registration is on, every registration proves a number; without a
    // password it is phone-first.
    let phone_required = methods.registration_enabled(AuthMethod::Phone);
    let method = if body.password.is_none() && phone_required {
        AuthMethod::Phone
    } else {
        AuthMethod::Password
    };
    if provider.status != ProviderStatus::Active || !methods.registration_enabled(method) {
        record(
            &state,
            Attempt::new(method, Reason::MethodDisabled).provider(Some(provider.id)),
            &client,
        )
        .await;
        return Err(ApiError::MethodDisabled(method.as_str()));
    }
    let mut errors = ValidationErrors::new();
    let email = errors.check("/email", Email::parse(&body.email));
    let name = errors.check("/name", parse_name(&body.name, 200));
    let client_name = match body.client_name.as_deref() {
        Some(n) => errors.check("/client_name", parse_name(n, 200)),
        None => name.clone(),
    };
    let phone = match body.phone.as_deref() {
        Some(p) => errors.check("/phone", PhoneNumber::parse(p).map(Some)),
        None if phone_required => {
            errors.add(
                "/phone",
                "is required: this provider verifies a number at registration",
            );
            None
        }
        None => Some(None),
    };
    let phone_code = match (phone_required, body.phone_code.as_deref()) {
        (false, None) => None,
        (false, Some(_)) => {
            errors.add(
                "/phone_code",
                "is only taken where phone registration is on",
            );
            None
        }
        (true, Some(code)) if looks_like_code(code) => Some(code.to_owned()),
        (true, _) => {
            errors.add(
                "/phone_code",
                "must be the 6 digits sent by SMS to the number",
            );
            None
        }
    };
    let min = password::min_chars(provider.policies.mfa_required_for_everyone);
    let context = [
        provider.name.as_str(),
        provider.slug.as_str(),
        body.email.as_str(),
    ];
    match body.password.as_deref() {
        Some(p) => {
            errors.check("/password", password::check_new(p, min, &context));
        }
        None if method == AuthMethod::Password => errors.add("/password", "is required"),
        None => {}
    }
    let provider_id = provider.id;
    let documents = state
        .db(move |store| Ok(store.consent_documents(provider_id)?))
        .await?;
    let agreed = registration_consents(&documents, &body.consents, state.now(), &mut errors);
    let (Some(email), Some(name), Some(client_name), Some(phone)) =
        (email, name, client_name, phone)
    else {
        return Err(errors.into());
    };
    errors.into_result()?;
    // Rate-limited before the e-mail is looked up: a 409 says that an address is taken, so
    // probing is slowed to a few a minute per address and per provider.
    let provider_id = provider.id;
    rate_limit(
        &state,
        "registration",
        || Attempt::new(method, Reason::Ok).provider(Some(provider_id)),
        Some(provider.id),
        &client,
    )
    .await?;
    // The number is proved after the rate limit and before anything is written: a wrong
    // code spends the number's failure budget and the code's tries.
    let phone_verified_at = match (&phone, &phone_code) {
        (Some(number), Some(code)) => {
            let holder = CodeHolder::Number {
                provider_id: provider.id,
                phone: number.clone(),
            };
            check_code(&state, CodePurpose::Registration, &holder, code, &client)
                .await?
                .ok_or_else(|| ApiError::validation("/phone_code", "is wrong, expired or used"))?;
            Some(state.now())
        }
        _ => None,
    };
    let hash = match body.password {
        Some(p) => Some(state.passwords.hash(p).await?),
        None => None,
    };
    let now = state.now();
    let new_client = Client {
        id: Uuid::now_v7(),
        provider_id: provider.id,
        name: client_name,
        status: AccountStatus::Active,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let user = User {
        id: Uuid::now_v7(),
        provider_id: provider.id,
        client_id: new_client.id,
        email,
        name,
        phone,
        status: AccountStatus::Active,
        has_password: hash.is_some(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let consents: Vec<_> = agreed
        .iter()
        .map(|(d, v)| {
            new_record(
                user.id,
                d,
                v,
                Decision::Agree,
                ConsentMethod::Registration,
                &client,
                now,
            )
        })
        .collect();
    let (c, u) = (new_client.clone(), user.clone());
    state
        .db(move |store| {
            store
                .register_with_consents(&c, &u, hash.as_deref(), phone_verified_at, &consents)
                .map_err(|e| match e {
                    persistence::StoreError::Conflict(c) if c.field == Some("/email") => {
                        ApiError::conflict_on(
                            "/email",
                            "this e-mail is registered at this provider",
                        )
                    }
                    persistence::StoreError::Conflict(c) if c.field == Some("/phone") => {
                        ApiError::conflict_on(
                            "/phone",
                            "another account of this provider has verified this number",
                        )
                    }
                    other => other.into(),
                })
        })
        .await?;
    let subject = Subject::user(user.id);
    record(
        &state,
        Attempt::new(method, Reason::Registered)
            .provider(Some(provider.id))
            .subject(Some(subject)),
        &client,
    )
    .await;
    let tokens = session_after_registration(
        &state,
        FirstFactor {
            subject,
            provider_id: Some(provider.id),
            method,
        },
        &client,
    )
    .await?;
    Ok(HttpResponse::Created().json(RegistrationResponse {
        client_id: new_client.id,
        user_id: user.id,
        tokens,
    }))
}

/// The versions a registration agrees to (`consents`: document ids, for their version in
/// force, or version ids); a must-agree document shown on registration that is missing, or
/// an id that is neither, is a problem at `/consents`.
pub(crate) fn registration_consents(
    documents: &[(ConsentDocument, Vec<DocumentVersion>)],
    ids: &[Uuid],
    now: chrono::DateTime<chrono::Utc>,
    errors: &mut ValidationErrors,
) -> Vec<(ConsentDocument, DocumentVersion)> {
    let mut agreed: Vec<(ConsentDocument, DocumentVersion)> = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let found = documents.iter().find_map(|(d, versions)| {
            if d.id == *id {
                version_in_force(versions, now).map(|v| (d, v))
            } else {
                versions.iter().find(|v| v.id == *id).map(|v| (d, v))
            }
        });
        match found {
            Some((d, v)) if !agreed.iter().any(|(a, _)| a.id == d.id) => {
                agreed.push((d.clone(), v.clone()));
            }
            Some(_) => {}
            None => errors.add(
                &format!("/consents/{i}"),
                "is not a consent document (with a version in force) or a version of this provider",
            ),
        }
    }
    for (document, versions) in documents {
        if !(document.must_agree && document.show_on_registration) {
            continue;
        }
        let Some(in_force) = version_in_force(versions, now) else {
            continue;
        };
        let ok = agreed
            .iter()
            .any(|(d, v)| d.id == document.id && v.number >= in_force.number);
        if !ok {
            let title = document
                .titles
                .get("en")
                .or_else(|| document.titles.values().next())
                .cloned()
                .unwrap_or_default();
            errors.add(
                "/consents",
                format!(
                    "must include the document {} ({}, \"{}\"), version {}: agreeing to it is required",
                    document.id,
                    document.kind.as_string(),
                    title,
                    in_force.number
                ),
            );
        }
    }
    agreed
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Static paths before the one with a `{segment}`: see `routes::configure`.
    cfg.service(resource("/api/v1/auth/temporary-key").post(redeem_temporary_key))
        .service(resource("/api/v1/auth/login").post(login))
        .service(resource("/api/v1/auth/refresh").post(refresh))
        .service(resource("/api/v1/auth/logout").post(logout))
        .service(resource("/api/v1/providers/{provider}/registrations").post(register));
}

#[derive(OpenApi)]
#[openapi(paths(redeem_temporary_key, login, refresh, logout, register))]
struct Doc;

pub fn document() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
