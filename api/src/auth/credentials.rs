//! The `Authorization` header of a request, turned into a principal: an access token, an
//! API token (both `Bearer`), or authinfo (`Basic`).

use actix_web::HttpRequest;
use actix_web::http::header;
use domain::api_token::ApiTokenScope;
use domain::auth_method::AuthMethod;
use domain::secret::{API_TOKEN_PREFIX, hash_secret, looks_like};
use uuid::Uuid;

use super::client_info::{ClientInfo, header_text};
use super::log::{Attempt, Reason, event, record};
use super::password::authinfo;
use super::principal::{Credential, Factors, Principal, judge, judge_found, parse_subject_claim};
use super::second_factor::{enforce, mfa_required};
use crate::problem::ApiError;
use crate::state::AppState;
use crate::tokens::{Claims, TokenError};

/// Who sent `req`, or 401. A store that is down answers 503, not 401.
pub async fn authenticate(state: &AppState, req: &HttpRequest) -> Result<Principal, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(header_text)
        .ok_or(ApiError::Unauthenticated)?
        .to_owned();
    let (scheme, credentials) = value.split_once(' ').ok_or(ApiError::Unauthenticated)?;
    let credentials = credentials.trim();
    let client = ClientInfo::from_request(req, state.settings.trust_forwarded_for);
    if scheme.eq_ignore_ascii_case("basic") {
        return authinfo(state, credentials, &client).await;
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthenticated);
    }
    if credentials.starts_with(API_TOKEN_PREFIX) {
        return api_token(state, req, credentials, &client).await;
    }
    let claims = verify_access_token(state, credentials).await?;
    let subject = parse_subject_claim(&claims.sub).ok_or(ApiError::Unauthenticated)?;
    let session = Uuid::parse_str(&claims.sid).map_err(|_| ApiError::Unauthenticated)?;
    let now = state.now();
    // Liveness (session, person, provider, factors) is read from the database, or on SQLite
    // from a cache that any commit empties (`Store::cached_live_session`), so a revocation
    // anywhere counts on the very next request. The signature check is cached apart
    // (`tokens::VerifiedCache`).
    let live = match state.store.cached_live_session(session, subject, now) {
        Some(live) => live,
        None => state
            .db(move |store| Ok(store.live_session(session, subject, now)?))
            .await?
            .ok_or(ApiError::Unauthenticated)?,
    };
    let factors = Factors {
        totp: live.factors.totp,
        sms: live.factors.sms,
        recovery_codes_left: live.factors.recovery_codes_left,
        required: mfa_required(&live.person, &live.factors),
    };
    let actor = judge(live.person, None).map_err(|_| ApiError::Unauthenticated)?;
    let principal = Principal {
        actor,
        credential: Credential::AccessToken {
            session,
            amr: live.session.amr,
            started_at: live.session.created_at,
            factors,
        },
    };
    enforce(state, &principal, req.method(), req.path(), &client).await?;
    Ok(principal)
}

/// Verifies an access token; a key another instance made is fetched on the blocking pool.
async fn verify_access_token(state: &AppState, token: &str) -> Result<Claims, ApiError> {
    let now = state.now();
    match state.tokens.verify(token, now) {
        Ok(claims) => return Ok(claims),
        Err(TokenError::UnknownKey) => {}
        Err(_) => return Err(ApiError::Unauthenticated),
    }
    let tokens = state.tokens.clone();
    let reloaded = state
        .db(move |_| match tokens.reload_if_due(now) {
            Ok(reloaded) => Ok(reloaded),
            Err(TokenError::Store(e)) => Err(e.into()),
            Err(_) => Ok(false),
        })
        .await?;
    if !reloaded {
        return Err(ApiError::Unauthenticated);
    }
    state
        .tokens
        .verify(token, now)
        .map_err(|_| ApiError::Unauthenticated)
}

async fn api_token(
    state: &AppState,
    req: &HttpRequest,
    secret: &str,
    client: &ClientInfo,
) -> Result<Principal, ApiError> {
    let now = state.now();
    if !looks_like(API_TOKEN_PREFIX, secret) {
        let attempt = Attempt::new(AuthMethod::ApiToken, Reason::InvalidToken);
        record(state, attempt, client).await;
        return Err(ApiError::Unauthenticated);
    }
    let hash = hash_secret(secret);
    let client = client.clone();
    // One transaction: the token, its use, its person and the auth event. Every API-token
    // request is an attempt with a credential, and the auth log holds every attempt
    // (PRODUCT.md, "auth log"): the event stays, written in the same commit.
    let (token, actor) = state
        .db(move |store| {
            Ok(store.use_api_token(&hash, now, |token, person| {
                let Some(token) = token else {
                    let attempt = Attempt::new(AuthMethod::ApiToken, Reason::InvalidToken);
                    return (Err(ApiError::Unauthenticated), event(attempt, &client, now));
                };
                let attempt = Attempt::new(AuthMethod::ApiToken, Reason::Ok)
                    .provider(token.provider_id)
                    .subject(Some(token.subject));
                match judge_found(person, Some(AuthMethod::ApiToken)) {
                    Ok(actor) => (Ok(actor), event(attempt, &client, now)),
                    Err(refused) => (
                        Err(refused.into_error()),
                        event(attempt.because(refused.reason()), &client, now),
                    ),
                }
            })?)
        })
        .await?;
    let (token, actor) = (token.ok_or(ApiError::Unauthenticated)?, actor?);
    let scope = ApiTokenScope::parse(&token.scope).unwrap_or(ApiTokenScope::Read);
    if !scope.allows(req.method().as_str()) {
        return Err(ApiError::Forbidden("this API token is read-only".into()));
    }
    Ok(Principal {
        actor,
        credential: Credential::ApiToken {
            id: token.id,
            scope,
        },
    })
}
