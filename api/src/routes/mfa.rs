//! Second factors: enrolling, confirming and removing TOTP, recovery codes, and the
//! second step of a sign-in (`/auth/mfa/verify`).

use actix_web::{HttpResponse, web};
use domain::mfa::{FRESH_SESSION_SECONDS, with_second_factor};
use domain::secret::hash_secret;
use domain::sign_in::SecondFactor;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use super::resource;
use super::responses::{Invalid, NeedsPermission, NotJson, PROBLEM_JSON, Throttled};
use crate::auth::log::{Attempt, Reason, record};
use crate::auth::outcome::verify_challenge;
use crate::auth::second_factor::{
    matching_step, new_recovery_codes, new_totp_secret, open_secret, otpauth_uri, qr_svg,
    seal_secret,
};
use crate::auth::session::TokenResponse;
use crate::auth::throttle::{reserve, reset, throttle_key};
use crate::extract::{Actor, ClientInfo, Credential, Json, Principal};
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::State;

const TOTP: &str = "totp";
const RECOVERY_CODE: &str = "recovery_code";

/// The session of the request with its `amr` and start, or 403 for API tokens and authinfo:
/// second factors are managed from a signed-in session.
fn session_of(
    principal: &Principal,
) -> ApiResult<(Uuid, Vec<String>, chrono::DateTime<chrono::Utc>)> {
    match &principal.credential {
        Credential::AccessToken {
            session,
            amr,
            started_at,
            ..
        } => Ok((*session, amr.clone(), *started_at)),
        _ => Err(ApiError::Forbidden(
            "this needs a signed-in session, not an API token or authinfo".into(),
        )),
    }
}

fn attempt(principal: &Principal, method: &'static str, reason: Reason) -> Attempt<'static> {
    Attempt::named(method, reason)
        .provider(principal.provider_id())
        .subject(Some(principal.subject()))
}

/// What an authenticator app needs, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrollment {
    /// Base32 (RFC 4648, no padding); never shown again.
    pub secret: String,
    /// `otpauth://totp/…` for authenticator apps.
    pub otpauth_uri: String,
    /// The URI as a QR code, an SVG document.
    pub qr_svg: String,
    #[schema(example = 6)]
    pub digits: u32,
    #[schema(example = 30)]
    pub period: u32,
    pub algorithm: TotpAlgorithm,
}

/// The HMAC of the codes: SHA-1, what authenticator apps expect (RFC 6238's default).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum TotpAlgorithm {
    #[serde(rename = "SHA1")]
    Sha1,
}

/// Starts a TOTP enrollment: a new secret, not active until confirmed with a code. A
/// pending enrollment is replaced; an active factor must be removed first (409).
#[utoipa::path(post, path = "/api/v1/me/totp", tag = "me", operation_id = "enroll_totp",
    security(("bearer" = [])),
    responses(
        (status = 201, body = TotpEnrollment),
        NeedsPermission,
        (status = 409, description = "TOTP is active already; remove it first", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn enroll_totp(
    state: State,
    client: ClientInfo,
    principal: Principal,
) -> ApiResult<HttpResponse> {
    session_of(&principal)?;
    let subject = principal.subject();
    let account = match &principal.actor {
        Actor::User(u) => u.email.to_string(),
        Actor::Employee(e) => e.login.clone(),
    };
    let secret = new_totp_secret();
    let stored = seal_secret(&secret, subject, state.settings.totp_secret_key.as_ref())?;
    let now = state.now();
    let enrolled = state
        .db(move |store| Ok(store.enroll_totp(subject, &stored, now)?))
        .await?;
    if !enrolled {
        return Err(ApiError::conflict(
            "TOTP is active already; remove it before enrolling a new one",
        ));
    }
    record(&state, attempt(&principal, TOTP, Reason::Enrolled), &client).await;
    let otpauth_uri = otpauth_uri(&secret, &state.settings.issuer, &account);
    Ok(HttpResponse::Created().json(TotpEnrollment {
        qr_svg: qr_svg(&otpauth_uri)?,
        otpauth_uri,
        secret,
        digits: domain::mfa::TOTP_DIGITS as u32,
        period: domain::mfa::TOTP_STEP_SECONDS as u32,
        algorithm: TotpAlgorithm::Sha1,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    /// The 6 digits the authenticator app shows now.
    #[schema(example = "123456")]
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SecondFactorProven {
    /// How this session is authenticated now (RFC 8176), e.g. `["otk", "otp", "mfa"]`.
    pub amr: Vec<String>,
}

/// Activates the pending TOTP enrollment with a current code. The code also proves the
/// factor for this session: its `amr` gains `otp` and `mfa` (a session that had to enroll
/// may then do everything; refresh for an access token that says so).
#[utoipa::path(post, path = "/api/v1/me/totp/confirm", tag = "me", operation_id = "confirm_totp",
    request_body = TotpCode, security(("bearer" = [])),
    responses(
        (status = 200, body = SecondFactorProven),
        NeedsPermission, Invalid, NotJson,
        (status = 409, description = "No TOTP enrollment is waiting for confirmation", body = Problem, content_type = PROBLEM_JSON),
        Throttled,
    ))]
pub async fn confirm_totp(
    state: State,
    client: ClientInfo,
    principal: Principal,
    body: Json<TotpCode>,
) -> ApiResult<web::Json<SecondFactorProven>> {
    let (session, amr, _) = session_of(&principal)?;
    let subject = principal.subject();
    let pending = state
        .db(move |store| Ok(store.totp_factor(subject)?))
        .await?
        .filter(|f| !f.confirmed)
        .ok_or_else(|| ApiError::conflict("no TOTP enrollment is waiting for confirmation"))?;
    let key = throttle_key(Some(subject), "", "");
    let attempt = |reason| attempt(&principal, TOTP, reason);
    reserve(&state, key.clone(), attempt(Reason::Ok), &client).await?;
    let now = state.now();
    let secret = open_secret(
        &pending.secret,
        subject,
        state.settings.totp_secret_key.as_ref(),
    )?;
    let step = matching_step(&secret, body.code.trim(), now)?;
    let confirmed = match step {
        Some(step) => {
            state
                .db(move |store| Ok(store.confirm_totp(subject, step, now)?))
                .await?
        }
        None => false,
    };
    if !confirmed {
        record(&state, attempt(Reason::WrongCode), &client).await;
        return Err(ApiError::validation(
            "/code",
            "is not the current code of the enrolled secret",
        ));
    }
    reset(&state, key).await?;
    let amr = with_second_factor(&amr, SecondFactor::Totp);
    let stored = amr.clone();
    state
        .db(move |store| Ok(store.set_session_amr(session, &stored)?))
        .await?;
    record(&state, attempt(Reason::Confirmed), &client).await;
    Ok(web::Json(SecondFactorProven { amr }))
}

/// Removes TOTP. Needs a fresh first factor: a session started within the last 10 minutes
/// (sign in again first), so that a stolen session cannot drop the factor. The session
/// loses `otp`/`mfa` from its `amr`.
#[utoipa::path(delete, path = "/api/v1/me/totp", tag = "me", operation_id = "remove_totp",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        NeedsPermission,
        (status = 403, description = "`reauthentication_required`: the session is older than 10 minutes; or not a session", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No TOTP enrolled", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn remove_totp(
    state: State,
    client: ClientInfo,
    principal: Principal,
) -> ApiResult<HttpResponse> {
    let (session, amr, started_at) = session_of(&principal)?;
    if state.now() - started_at > chrono::Duration::seconds(FRESH_SESSION_SECONDS) {
        let refused = attempt(&principal, TOTP, Reason::ReauthenticationRequired);
        record(&state, refused, &client).await;
        return Err(ApiError::ReauthenticationRequired);
    }
    let subject = principal.subject();
    let amr: Vec<String> = amr
        .into_iter()
        .filter(|v| v != domain::mfa::AMR_OTP && v != domain::mfa::AMR_MFA)
        .collect();
    let removed = state
        .db(move |store| {
            let removed = store.delete_totp(subject)?;
            if removed {
                store.set_session_amr(session, &amr)?;
            }
            Ok(removed)
        })
        .await?;
    if !removed {
        return Err(ApiError::NotFound("TOTP factor"));
    }
    record(&state, attempt(&principal, TOTP, Reason::Removed), &client).await;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes, shown once: each stands in for the second factor once.
    pub codes: Vec<String>,
}

/// New recovery codes; the old ones stop working.
#[utoipa::path(post, path = "/api/v1/me/recovery-codes", tag = "me", operation_id = "renew_recovery_codes",
    security(("bearer" = [])),
    responses(
        (status = 201, body = RecoveryCodes),
        NeedsPermission,
    ))]
pub async fn renew_recovery_codes(
    state: State,
    client: ClientInfo,
    principal: Principal,
) -> ApiResult<HttpResponse> {
    session_of(&principal)?;
    let subject = principal.subject();
    let codes = new_recovery_codes();
    let hashes: Vec<String> = codes
        .iter()
        .filter_map(|c| domain::mfa::normalize_recovery_code(c))
        .map(|c| hash_secret(&c))
        .collect();
    let now = state.now();
    state
        .db(move |store| Ok(store.replace_recovery_codes(subject, &hashes, now)?))
        .await?;
    record(
        &state,
        attempt(&principal, RECOVERY_CODE, Reason::Renewed),
        &client,
    )
    .await;
    Ok(HttpResponse::Created().json(RecoveryCodes { codes }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaVerifyRequest {
    /// From the sign-in's answer.
    #[schema(value_type = Uuid)]
    pub challenge_id: String,
    /// One of the challenge's `methods`.
    #[schema(value_type = super::schemas::SecondFactorName)]
    pub method: String,
    /// The TOTP code (6 digits), the SMS code (6 digits, after `POST /api/v1/auth/mfa/sms`)
    /// or a recovery code (`abcd-efgh-ijkl-mnop`).
    pub code: String,
}

/// The second step of a sign-in: a code of one of the challenge's methods. The challenge
/// works once and dies 5 minutes after the first factor; each wrong code spends the
/// account's failure budget.
#[utoipa::path(post, path = "/api/v1/auth/mfa/verify", tag = "auth", operation_id = "verify_mfa",
    request_body = MfaVerifyRequest,
    responses(
        (status = 200, body = TokenResponse),
        Invalid, NotJson,
        (status = 400, description = "`method_not_available`: this sign-in offers no such second factor (or the body is malformed)", body = Problem, content_type = PROBLEM_JSON),
        (status = 401, description = "`invalid_credentials`: a wrong or replayed code; `mfa_challenge_invalid`: the challenge is unknown, used or expired", body = Problem, content_type = PROBLEM_JSON),
        Throttled,
    ))]
pub async fn verify_mfa(
    state: State,
    client: ClientInfo,
    body: Json<MfaVerifyRequest>,
) -> ApiResult<web::Json<TokenResponse>> {
    let body = body.into_inner();
    let challenge_id = parse_challenge_id(&body.challenge_id)?;
    let method = SecondFactor::parse(&body.method)
        .ok_or_else(|| ApiError::validation("/method", "must be totp, sms or recovery_code"))?;
    Ok(web::Json(
        verify_challenge(&state, challenge_id, method, body.code, &client).await?,
    ))
}

pub(super) fn parse_challenge_id(value: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(value).map_err(|_| ApiError::validation("/challenge_id", "must be a UUID"))
}

/// How the request's session was authenticated; empty for API tokens and authinfo.
pub fn session_amr(principal: &Principal) -> Vec<String> {
    match &principal.credential {
        Credential::AccessToken { amr, .. } => amr.clone(),
        _ => Vec::new(),
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/api/v1/me/totp")
            .post(enroll_totp)
            .delete(remove_totp),
    )
    .service(resource("/api/v1/me/totp/confirm").post(confirm_totp))
    .service(resource("/api/v1/me/recovery-codes").post(renew_recovery_codes))
    .service(resource("/api/v1/auth/mfa/verify").post(verify_mfa));
}

#[derive(OpenApi)]
#[openapi(paths(
    enroll_totp,
    confirm_totp,
    remove_totp,
    renew_recovery_codes,
    verify_mfa
))]
struct Doc;

pub fn document() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
