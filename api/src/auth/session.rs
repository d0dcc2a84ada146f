//! Sessions and their tokens: a short-lived access token and a rotating refresh token.

use chrono::Duration;
use domain::auth_method::AuthMethod;
use domain::model::Subject;
use domain::provider::SubjectKind;
use domain::secret::{REFRESH_TOKEN_PREFIX, hash_secret, looks_like};
use persistence::{NewSession, Person, RefreshOutcome};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::client_info::ClientInfo;
use super::log::{Attempt, REFRESH, Reason, event, record};
use super::principal::{judge_found, subject_claim};
use crate::problem::ApiError;
use crate::secrets::new_secret;
use crate::state::AppState;

/// How to send the access token (RFC 6750).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum TokenType {
    Bearer,
}

/// Tokens of a new or refreshed session.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCIsImtpZCI6IjAxOTM…",
    "token_type": "Bearer",
    "expires_in": 900,
    "refresh_token": "birt_Jx0v8bqH3kqN5QWmZJp3t2dCw9yXr4s1",
    "session_id": "0193a5f2-7c1e-7b3a-9d2f-4e8c1a6b5d70"
}))]
pub struct TokenResponse {
    /// Signed JWT (EdDSA) for `Authorization: Bearer`; short-lived.
    pub access_token: String,
    pub token_type: TokenType,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: i64,
    /// Opaque; exchange it at `/auth/refresh` for new tokens. Each one works once.
    pub refresh_token: String,
    pub session_id: Uuid,
}

pub fn to_chrono(d: std::time::Duration) -> Duration {
    Duration::from_std(d).unwrap_or(Duration::MAX)
}

/// Starts a session and answers its first tokens. Only `outcome` and registration call
/// this: a sign-in reaches a session through `outcome::finish_sign_in` (or, with a second
/// factor, `outcome::verify_challenge`). `amr` says how it was authenticated.
pub(super) async fn start_session(
    state: &AppState,
    subject: Subject,
    provider_id: Option<Uuid>,
    method: AuthMethod,
    amr: Vec<String>,
    client: &ClientInfo,
) -> Result<TokenResponse, ApiError> {
    let (session, refresh_token) = new_session(state, subject, provider_id, method, amr, client);
    let (id, amr) = (session.0.id, session.0.amr.clone());
    state
        .db(move |store| Ok(store.create_session(&session.0, &session.1)?))
        .await?;
    Ok(tokens_for(state, subject, id, &amr, refresh_token))
}

/// A session to store (with the hash of its first refresh token), and that refresh token.
pub(super) fn new_session(
    state: &AppState,
    subject: Subject,
    provider_id: Option<Uuid>,
    method: AuthMethod,
    amr: Vec<String>,
    client: &ClientInfo,
) -> ((NewSession, String), String) {
    let now = state.now();
    let max_age = match subject.kind {
        SubjectKind::User => state.settings.user_session_max_age,
        SubjectKind::Employee => state.settings.employee_session_max_age,
    };
    let session = NewSession {
        id: Uuid::now_v7(),
        subject,
        provider_id,
        method: method.as_str().to_owned(),
        ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
        created_at: now,
        expires_at: now + to_chrono(max_age),
        amr,
    };
    let refresh_token = new_secret(REFRESH_TOKEN_PREFIX);
    let refresh_hash = hash_secret(&refresh_token);
    ((session, refresh_hash), refresh_token)
}

/// The tokens of stored session `session`.
pub(super) fn tokens_for(
    state: &AppState,
    subject: Subject,
    session: Uuid,
    amr: &[String],
    refresh_token: String,
) -> TokenResponse {
    let ttl = to_chrono(state.settings.access_token_ttl);
    TokenResponse {
        access_token: state
            .tokens
            .issue(&subject_claim(subject), session, amr, state.now(), ttl),
        token_type: TokenType::Bearer,
        expires_in: ttl.num_seconds(),
        refresh_token,
        session_id: session,
    }
}

/// Exchanges a refresh token for new tokens; a reused one revokes its whole session, unless
/// it comes back within the reuse grace of its rotation (409 `refresh_token_rotated`).
pub async fn refresh(
    state: &AppState,
    token: String,
    client: &ClientInfo,
) -> Result<TokenResponse, ApiError> {
    if !looks_like(REFRESH_TOKEN_PREFIX, &token) {
        record(state, Attempt::named(REFRESH, Reason::InvalidToken), client).await;
        return Err(ApiError::InvalidCredentials);
    }
    let old_hash = hash_secret(&token);
    let new_token = new_secret(REFRESH_TOKEN_PREFIX);
    let new_hash = hash_secret(&new_token);
    let now = state.now();
    // Employees' sessions die after an hour without use; users' after the configured idle.
    let (user_idle, employee_idle) = (
        to_chrono(state.settings.user_session_idle),
        to_chrono(state.settings.employee_session_idle),
    );
    let grace = to_chrono(state.settings.refresh_reuse_grace);
    let client = client.clone();
    // One transaction: the rotation, the actor check and the auth event.
    let (outcome, verdict) = state
        .db(move |store| {
            Ok(store.rotate_refresh_token(
                &old_hash,
                &new_hash,
                now,
                |kind| match kind {
                    SubjectKind::User => user_idle,
                    SubjectKind::Employee => employee_idle,
                },
                grace,
                |outcome, person| {
                    let (attempt, verdict) = judge_refresh(outcome, person);
                    (verdict, event(attempt, &client, now))
                },
            )?)
        })
        .await?;
    verdict?;
    let RefreshOutcome::Rotated(session) = outcome else {
        return Err(ApiError::InvalidCredentials);
    };
    Ok(tokens_for(
        state,
        session.subject,
        session.id,
        &session.amr,
        new_token,
    ))
}

/// What a refresh's outcome means for the caller, and what the auth log says of it: a
/// rotated session still needs a person who may act.
fn judge_refresh(
    outcome: &RefreshOutcome,
    person: Option<Person>,
) -> (Attempt<'static>, Result<(), ApiError>) {
    let of = |reason, session: &persistence::SessionRecord| {
        Attempt::named(REFRESH, reason)
            .provider(session.provider_id)
            .subject(Some(session.subject))
    };
    match outcome {
        RefreshOutcome::Invalid => (
            Attempt::named(REFRESH, Reason::InvalidToken),
            Err(ApiError::InvalidCredentials),
        ),
        RefreshOutcome::Reused(session) => (
            of(Reason::TokenReused, session),
            Err(ApiError::InvalidCredentials),
        ),
        RefreshOutcome::JustRotated(session) => (
            of(Reason::TokenJustRotated, session),
            Err(ApiError::RefreshTokenRotated),
        ),
        RefreshOutcome::Rotated(session) => {
            let attempt = of(Reason::Ok, session);
            match judge_found(person, None) {
                Ok(_) => (attempt, Ok(())),
                Err(refused) => (
                    attempt.because(refused.reason()),
                    Err(ApiError::InvalidCredentials),
                ),
            }
        }
    }
}
