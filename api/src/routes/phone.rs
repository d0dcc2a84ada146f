//! Phone numbers: adding or changing mine with a code (`/me/phone`), and phone sign-in and
//! the code of a phone registration (`/auth/phone/…`). The codes are `auth::phone_code`'s.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Duration;
use domain::access::{ProviderGate, may_act};
use domain::auth_method::AuthMethod;
use domain::model::Provider;
use domain::phone::PhoneNumber;
use domain::phone_code::{CodeHolder, CodePurpose};
use domain::provider::AccountStatus;
use domain::sms_gateway::check_language;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::resource;
use super::responses::{Invalid, NeedsPermission, NotJson, PROBLEM_JSON, Throttled};
use super::schemas;
use crate::auth::log::{Attempt, Reason, record};
use crate::auth::outcome::{FirstFactor, LoginResponse, finish_sign_in, send_challenge_code};
use crate::auth::phone_code::{
    CodeRequest, SentCode, check_code, code_settings, pretend_send_code, send_code,
};
use crate::auth::principal::load_actor;
use crate::auth::throttle::{reserve, reset, throttle_key};
use crate::extract::{Actor, ClientInfo, Json, Principal};
use crate::passwords::Verified;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::State;

/// How recent a sign-in must be to change a verified number without a password (an
/// account that has none signs in by phone or by a one-time key).
pub const REAUTHENTICATION_WINDOW_MINUTES: i64 = 10;

/// A code went out (or, for a number nobody verified at a sign-in, seems to have).
#[derive(Debug, Serialize, ToSchema)]
pub struct CodeSent {
    /// Seconds the code stays valid.
    #[schema(example = 600)]
    pub expires_in: i64,
    /// Seconds before another code can be asked for.
    #[schema(example = 60)]
    pub resend_after: i64,
}

impl From<SentCode> for CodeSent {
    fn from(s: SentCode) -> Self {
        Self {
            expires_in: s.expires_in_seconds,
            resend_after: s.resend_after_seconds,
        }
    }
}

/// The first language of `Accept-Language`, for the gateway's template.
pub fn language(req: &HttpRequest) -> Option<String> {
    let header = req
        .headers()
        .get(actix_web::http::header::ACCEPT_LANGUAGE)?;
    let first = header.to_str().ok()?.split(',').next()?;
    let tag = first.split(';').next()?.trim();
    check_language(tag).then(|| tag.to_owned())
}

fn parse_phone(pointer: &str, value: &str) -> ApiResult<PhoneNumber> {
    PhoneNumber::parse(value).map_err(|e| ApiError::validation(pointer, e.to_string()))
}

fn parse_code(value: &str) -> ApiResult<()> {
    if domain::phone_code::looks_like_code(value) {
        Ok(())
    } else {
        Err(ApiError::validation(
            "/code",
            "must be the 6 digits sent by SMS",
        ))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPhone {
    #[schema(schema_with = schemas::phone)]
    pub phone: String,
    /// The current password: required to replace a verified number when a password is
    /// set (without one, the session must have signed in within the last 10 minutes).
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyPhone {
    /// The 6 digits sent by SMS.
    #[schema(example = "123456", pattern = "^[0-9]{6}$")]
    pub code: String,
}

/// My number and whether it is verified.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneStatus {
    /// E.164.
    pub phone: Option<String>,
    /// The number's country (ISO 3166-1 alpha-2; `001` for non-geographic numbers).
    pub country: Option<String>,
    pub verified: bool,
}

/// The user behind a session, or why not: numbers are users' (employees have none here),
/// and a new number is a sensitive change, so API tokens and authinfo cannot make it.
fn signed_in_user(principal: &Principal) -> ApiResult<(&domain::model::User, uuid::Uuid)> {
    let session = super::me::require_session(principal)?;
    match &principal.actor {
        Actor::User(user) => Ok((user, session)),
        Actor::Employee(_) => Err(ApiError::Forbidden("only users have a phone number".into())),
    }
}

/// Adds or changes my number: sends a code to it; `POST /api/v1/me/phone/verify` with the
/// code makes it my (verified) number. Until then the current number stays. Replacing a
/// verified number needs a fresh first factor: `password` when a password is set, else a
/// sign-in within the last 10 minutes (403 `forbidden` otherwise).
#[utoipa::path(post, path = "/api/v1/me/phone", tag = "me", operation_id = "set_my_phone",
    request_body = SetPhone, security(("bearer" = [])),
    responses(
        (status = 202, body = CodeSent),
        NeedsPermission, Invalid, NotJson,
        (status = 429, description = "`sms_rate_limited`: a code was sent moments ago (the resend cooldown) or the hour's caps per number, account or address are reached; `too_many_attempts`: the password failed too often. `Retry-After` says when", body = Problem, content_type = PROBLEM_JSON),
        (status = 502, description = "`sms_gateway_failed`: no gateway took the message", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn set_my_phone(
    state: State,
    req: HttpRequest,
    client: ClientInfo,
    principal: Principal,
    body: Json<SetPhone>,
) -> ApiResult<HttpResponse> {
    let (user, session) = signed_in_user(&principal)?;
    let body = body.into_inner();
    let phone = parse_phone("/phone", &body.phone)?;
    let subject = principal.subject();
    let provider_id = Some(user.provider_id);
    let user_id = user.id;
    let now = state.now();
    let (verified_at, stored_hash, session) = state
        .db(move |store| {
            Ok((
                store.user_phone_verified_at(user_id)?,
                store.user_password_hash(user_id)?,
                store.active_session(session, now)?,
            ))
        })
        .await?;
    if verified_at.is_some() && user.phone.as_ref() != Some(&phone) {
        let attempt = |reason| {
            Attempt::new(AuthMethod::Password, reason)
                .provider(provider_id)
                .subject(Some(subject))
        };
        if stored_hash.is_some() {
            let password = body.password.ok_or_else(|| {
                ApiError::validation("/password", "is required to replace a verified number")
            })?;
            let key = throttle_key(Some(subject), "", "");
            reserve(&state, key.clone(), attempt(Reason::Ok), &client).await?;
            if state.passwords.verify(password, stored_hash).await? == Verified::No {
                record(&state, attempt(Reason::UnknownOrWrongPassword), &client).await;
                return Err(ApiError::InvalidCredentials);
            }
            reset(&state, key).await?;
        } else {
            let window = Duration::minutes(REAUTHENTICATION_WINDOW_MINUTES);
            let fresh = session.is_some_and(|s| s.created_at + window > now);
            if !fresh {
                record(&state, attempt(Reason::ReauthenticationRequired), &client).await;
                return Err(ApiError::Forbidden(format!(
                    "replacing a verified number needs a sign-in within the last \
                     {REAUTHENTICATION_WINDOW_MINUTES} minutes"
                )));
            }
        }
    }
    let request = CodeRequest {
        purpose: CodePurpose::VerifyPhone,
        holder: CodeHolder::Account(subject),
        account: Some(subject),
        provider_id,
        phone,
        language: language(&req),
    };
    let sent = send_code(&state, request, &client).await?;
    Ok(HttpResponse::Accepted().json(CodeSent::from(sent)))
}

/// Verifies my number with the code sent to it: the number the code went to becomes my
/// number, verified. A wrong, expired or used code is a 422 at `/code`; each wrong code
/// counts against the code's 5 tries and the account's failure budget.
#[utoipa::path(post, path = "/api/v1/me/phone/verify", tag = "me", operation_id = "verify_my_phone",
    request_body = VerifyPhone, security(("bearer" = [])),
    responses(
        (status = 200, body = PhoneStatus),
        NeedsPermission, Invalid, NotJson,
        (status = 409, description = "Another user of the provider has verified this number", body = Problem, content_type = PROBLEM_JSON),
        (status = 429, description = "`too_many_attempts`: too many failures; `Retry-After` says when", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn verify_my_phone(
    state: State,
    client: ClientInfo,
    principal: Principal,
    body: Json<VerifyPhone>,
) -> ApiResult<web::Json<PhoneStatus>> {
    let (user, _) = signed_in_user(&principal)?;
    let code = body.into_inner().code;
    parse_code(&code)?;
    let subject = principal.subject();
    let holder = CodeHolder::Account(subject);
    let checked = check_code(&state, CodePurpose::VerifyPhone, &holder, &code, &client)
        .await?
        .ok_or_else(|| ApiError::validation("/code", "is wrong, expired or used"))?;
    let (user_id, phone, now) = (user.id, checked.phone.to_string(), state.now());
    state
        .db(move |store| {
            store
                .set_verified_phone(user_id, &phone, now)
                .map_err(|e| match e {
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
    record(
        &state,
        Attempt::new(AuthMethod::Phone, Reason::PhoneVerified)
            .provider(Some(user.provider_id))
            .subject(Some(subject)),
        &client,
    )
    .await;
    Ok(web::Json(PhoneStatus {
        phone: Some(checked.phone.to_string()),
        country: Some(checked.phone.country().to_owned()),
        verified: true,
    }))
}

/// What a phone code is asked for at `/auth/phone/start`.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StartPurpose {
    /// Signing in with a verified number.
    #[default]
    Login,
    /// Proving a number before a registration that needs one.
    Registration,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartPhone {
    /// The provider's slug.
    #[schema(example = "acme")]
    pub provider: String,
    #[schema(schema_with = schemas::phone)]
    pub phone: String,
    /// `login` (the default) or `registration`.
    #[serde(default)]
    pub purpose: StartPurpose,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyPhoneLogin {
    /// The provider's slug.
    #[schema(example = "acme")]
    pub provider: String,
    #[schema(schema_with = schemas::phone)]
    pub phone: String,
    /// The 6 digits sent by SMS.
    #[schema(example = "123456", pattern = "^[0-9]{6}$")]
    pub code: String,
}

/// The provider, if phone sign-in (or registration) is on for it; logged and refused
/// (403 `method_disabled`) otherwise.
async fn phone_provider(
    state: &State,
    slug: String,
    registration: bool,
    client: &ClientInfo,
) -> ApiResult<Provider> {
    let method = AuthMethod::Phone;
    let provider = state
        .db(move |store| {
            store
                .provider_by_slug(&slug)
                .map_err(ApiError::from_store("provider"))
        })
        .await?;
    let gate = ProviderGate {
        status: provider.status,
        auth_methods: &provider.auth_methods,
    };
    let on = if registration {
        provider.status == domain::provider::ProviderStatus::Active
            && provider.auth_methods.registration_enabled(method)
    } else {
        may_act(AccountStatus::Active, Some(gate), Some(method)).is_ok()
    };
    if !on {
        record(
            state,
            Attempt::new(method, Reason::MethodDisabled).provider(Some(provider.id)),
            client,
        )
        .await;
        return Err(ApiError::MethodDisabled(method.as_str()));
    }
    Ok(provider)
}

/// Sends a code to a number: for a phone sign-in (`purpose: login`, where the provider
/// turned phone sign-in on) or before a phone registration (`purpose: registration`).
/// A sign-in code goes only to a number a user of the provider has verified; any other
/// number gets the same answer (and the same cooldown and caps) and no text.
#[utoipa::path(post, path = "/api/v1/auth/phone/start", tag = "auth", operation_id = "start_phone_sign_in",
    request_body = StartPhone,
    responses(
        (status = 202, body = CodeSent),
        Invalid, NotJson,
        (status = 403, description = "Phone sign-in (or registration) is off for this provider (`method_disabled`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No such provider", body = Problem, content_type = PROBLEM_JSON),
        (status = 429, description = "`sms_rate_limited`: the resend cooldown, or the hour's caps per number or address; `Retry-After` says when", body = Problem, content_type = PROBLEM_JSON),
        (status = 502, description = "`sms_gateway_failed`: no gateway took a registration's code", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn start_phone(
    state: State,
    req: HttpRequest,
    client: ClientInfo,
    body: Json<StartPhone>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let phone = parse_phone("/phone", &body.phone)?;
    let registration = matches!(body.purpose, StartPurpose::Registration);
    let provider = phone_provider(&state, body.provider, registration, &client).await?;
    let holder = CodeHolder::Number {
        provider_id: provider.id,
        phone: phone.clone(),
    };
    let mut request = CodeRequest {
        purpose: if registration {
            CodePurpose::Registration
        } else {
            CodePurpose::Login
        },
        holder,
        account: None,
        provider_id: Some(provider.id),
        phone,
        language: language(&req),
    };
    let sent = if registration {
        send_code(&state, request, &client).await?
    } else {
        let (provider_id, number) = (provider.id, request.phone.to_string());
        let user = state
            .db(move |store| Ok(store.user_by_verified_phone(provider_id, &number)?))
            .await?
            .filter(|u| u.status == AccountStatus::Active);
        match user {
            Some(user) => {
                request.account = Some(domain::model::Subject::user(user.id));
                // A gateway failure must not tell a known number from an unknown one: it
                // is logged, and the answer is the same.
                match send_code(&state, request, &client).await {
                    Err(ApiError::GatewayFailed(_)) => {
                        code_settings(&state, Some(provider.id)).await?.answer()
                    }
                    other => other?,
                }
            }
            None => pretend_send_code(&state, request, &client).await?,
        }
    };
    Ok(HttpResponse::Accepted().json(CodeSent::from(sent)))
}

/// Signs in with the code sent to a verified number. Answers like the password login:
/// tokens, or a challenge when the user has TOTP (SMS is not asked for again: the code
/// just proved the phone), or 401 for a wrong, expired or used code and for a number
/// nobody verified.
#[utoipa::path(post, path = "/api/v1/auth/phone/verify", tag = "auth", operation_id = "verify_phone_sign_in",
    request_body = VerifyPhoneLogin,
    responses(
        (status = 200, description = "Tokens, or a challenge for a second factor", body = LoginResponse),
        Invalid, NotJson,
        (status = 401, description = "Wrong, expired or used code, or an unknown number (the same answer)", body = Problem, content_type = PROBLEM_JSON),
        (status = 403, description = "Phone sign-in is off for this provider (`method_disabled`), or (`consent_required`, body `ConsentRequiredProblem`) a must-agree consent document awaits acceptance: send its `consent_token` with the accepted `version_id`s to `POST /api/v1/auth/consent`", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No such provider", body = Problem, content_type = PROBLEM_JSON),
        Throttled,
    ))]
pub async fn verify_phone_sign_in(
    state: State,
    client: ClientInfo,
    body: Json<VerifyPhoneLogin>,
) -> ApiResult<web::Json<LoginResponse>> {
    let method = AuthMethod::Phone;
    let body = body.into_inner();
    let phone = parse_phone("/phone", &body.phone)?;
    parse_code(&body.code)?;
    let provider = phone_provider(&state, body.provider, false, &client).await?;
    let holder = CodeHolder::Number {
        provider_id: provider.id,
        phone,
    };
    let checked = check_code(&state, CodePurpose::Login, &holder, &body.code, &client).await?;
    let Some(subject) = checked.and_then(|c| c.account) else {
        return Err(ApiError::InvalidCredentials);
    };
    if let Err(refused) = load_actor(&state, subject, Some(method)).await? {
        let attempt = Attempt::new(method, refused.reason())
            .provider(Some(provider.id))
            .subject(Some(subject));
        record(&state, attempt, &client).await;
        // As the password login: a disabled account is not confirmed to exist.
        return Err(ApiError::InvalidCredentials);
    }
    let first = FirstFactor {
        subject,
        provider_id: Some(provider.id),
        method,
    };
    let outcome = finish_sign_in(&state, first, &client).await?;
    Ok(web::Json(outcome.into_response()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaSmsRequest {
    /// From the sign-in's answer; its `methods` must include `sms`.
    #[schema(value_type = Uuid)]
    pub challenge_id: String,
}

/// Texts a code to the verified number for a sign-in whose challenge offers `sms`; finish
/// with `POST /api/v1/auth/mfa/verify {challenge_id, method: "sms", code}`. Nothing is sent
/// until this is asked for, so a person who answers with TOTP gets no text. The phone
/// codes' resend cooldown and hourly caps apply; a new code replaces the last one (its
/// wrong tries carry over).
#[utoipa::path(post, path = "/api/v1/auth/mfa/sms", tag = "auth", operation_id = "send_mfa_sms",
    request_body = MfaSmsRequest,
    responses(
        (status = 202, body = CodeSent),
        Invalid, NotJson,
        (status = 400, description = "`method_not_available`: this sign-in offers no SMS, or the number is no longer verified", body = Problem, content_type = PROBLEM_JSON),
        (status = 401, description = "`mfa_challenge_invalid`: the challenge is unknown, used or expired", body = Problem, content_type = PROBLEM_JSON),
        (status = 429, description = "`sms_rate_limited`: the resend cooldown or the hour's caps; `Retry-After` says when", body = Problem, content_type = PROBLEM_JSON),
        (status = 502, description = "`sms_gateway_failed`: no gateway took the message", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn send_mfa_sms(
    state: State,
    req: HttpRequest,
    client: ClientInfo,
    body: Json<MfaSmsRequest>,
) -> ApiResult<HttpResponse> {
    let challenge_id = super::mfa::parse_challenge_id(&body.challenge_id)?;
    let language = language(&req);
    let sent = send_challenge_code(&state, challenge_id, language, &client).await?;
    Ok(HttpResponse::Accepted().json(CodeSent::from(sent)))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/me/phone").post(set_my_phone))
        .service(resource("/api/v1/me/phone/verify").post(verify_my_phone))
        .service(resource("/api/v1/auth/phone/start").post(start_phone))
        .service(resource("/api/v1/auth/phone/verify").post(verify_phone_sign_in))
        .service(resource("/api/v1/auth/mfa/sms").post(send_mfa_sms));
}

#[derive(OpenApi)]
#[openapi(paths(
    set_my_phone,
    verify_my_phone,
    start_phone,
    verify_phone_sign_in,
    send_mfa_sms
))]
struct Doc;

pub fn document() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
