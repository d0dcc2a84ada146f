//! The sign-in paths that share rules: the failure budget, the auth log, sessions.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Duration;
use domain::auth_method::AuthMethod;
use domain::email::Email;
use domain::model::{Subject, parse_login};
use domain::provider::{AccountStatus, ProviderStatus, SubjectKind};
use domain::secret::{REFRESH_TOKEN_PREFIX, TEMPORARY_KEY_PREFIX, hash_secret, looks_like};
use domain::throttle::Decision;
use persistence::NewSession;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::authlog::{Attempt, Reason};
use crate::extract::{Actor, ClientInfo, Credential, Principal, load_actor, subject_claim};
use crate::passwords::Verified;
use crate::problem::ApiError;
use crate::secrets::new_secret;
use crate::state::AppState;

/// Tokens of a new or refreshed session.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Signed JWT (EdDSA) for `Authorization: Bearer`; short-lived.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: i64,
    /// Opaque; exchange it at `/auth/refresh` for new tokens. Each one works once.
    pub refresh_token: String,
    pub session_id: Uuid,
}

fn to_chrono(d: std::time::Duration) -> Duration {
    Duration::from_std(d).unwrap_or(Duration::MAX)
}

/// Starts a session and answers its first tokens.
pub async fn start_session(
    state: &AppState,
    subject: Subject,
    provider_id: Option<Uuid>,
    method: AuthMethod,
    client: &ClientInfo,
) -> Result<TokenResponse, ApiError> {
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
    };
    let refresh_token = new_secret(REFRESH_TOKEN_PREFIX);
    let refresh_hash = hash_secret(&refresh_token);
    let id = session.id;
    state
        .db(move |store| Ok(store.create_session(&session, &refresh_hash)?))
        .await?;
    Ok(tokens_for(state, subject, id, refresh_token))
}

fn tokens_for(
    state: &AppState,
    subject: Subject,
    session: Uuid,
    refresh_token: String,
) -> TokenResponse {
    let ttl = to_chrono(state.settings.access_token_ttl);
    TokenResponse {
        access_token: state
            .tokens
            .issue(&subject_claim(subject), session, state.now(), ttl),
        token_type: "Bearer",
        expires_in: ttl.num_seconds(),
        refresh_token,
        session_id: session,
    }
}

/// The failure budget of an account, or of a login that matches no account (so both look
/// alike from outside). The login is hashed: it may hold a mistyped password.
pub fn throttle_key(subject: Option<Subject>, scope: &str, login: &str) -> String {
    match subject {
        Some(s) => format!("{}:{}", s.kind.as_str(), s.id),
        None => format!("unknown:{scope}:{}", hash_secret(login)),
    }
}

/// Spends one attempt of `key`'s budget, or answers (and logs) why not.
pub(crate) async fn reserve(
    state: &AppState,
    key: String,
    attempt: Attempt<'_>,
    client: &ClientInfo,
) -> Result<(), ApiError> {
    let now = state.now();
    let decision = state
        .db(move |store| Ok(store.reserve_attempt(&key, now)?))
        .await?;
    let error = match decision {
        Decision::Allow => return Ok(()),
        Decision::RetryAfter(seconds) => (Reason::Throttled, ApiError::Throttled(seconds)),
        Decision::Locked => (Reason::Locked, ApiError::Locked),
    };
    state
        .record(
            Attempt {
                reason: error.0,
                ..attempt
            },
            client,
        )
        .await;
    Err(error.1)
}

/// A correct secret empties the budget.
pub(crate) async fn reset(state: &AppState, key: String) -> Result<(), ApiError> {
    state.db(move |store| Ok(store.reset_attempts(&key)?)).await
}

/// Who a password is being checked for.
pub enum PasswordTarget {
    /// A user of a provider, by e-mail.
    User {
        provider_slug: String,
        email: String,
    },
    Employee {
        login: String,
    },
}

/// A checked password: who it belongs to, and at which provider.
pub struct PasswordOk {
    pub subject: Subject,
    pub provider_id: Option<Uuid>,
}

/// Checks a password on the `password` or `authinfo` path: the method must be on, the
/// budget must allow it, and unknown logins cost the same time as wrong passwords.
pub async fn check_password(
    state: &AppState,
    target: PasswordTarget,
    password: String,
    method: AuthMethod,
    client: &ClientInfo,
) -> Result<PasswordOk, ApiError> {
    // Over-long passwords are refused before hashing (CPU exhaustion), with the same
    // answer as a wrong one.
    let too_long = password.len() > domain::password::MAX_BYTES;
    let (found, provider_id, scope, login) = match target {
        PasswordTarget::User {
            provider_slug,
            email,
        } => {
            let provider = state
                .db(move |store| {
                    store
                        .provider_by_slug(&provider_slug)
                        .map_err(ApiError::from_store("provider"))
                })
                .await?;
            let attempt = Attempt::new(method, Reason::MethodDisabled).provider(Some(provider.id));
            if provider.status != ProviderStatus::Active
                || !provider.auth_methods.login_enabled(method)
            {
                state.record(attempt, client).await;
                return Err(ApiError::MethodDisabled(method.as_str()));
            }
            if method == AuthMethod::Authinfo {
                let allowed = client
                    .ip_addr()
                    .is_some_and(|ip| provider.policies.authinfo_allows(ip));
                if !allowed {
                    state
                        .record(
                            Attempt {
                                reason: Reason::IpNotAllowed,
                                ..attempt
                            },
                            client,
                        )
                        .await;
                    return Err(ApiError::Forbidden(
                        "authinfo is not allowed from this address".into(),
                    ));
                }
            }
            let login = email.trim().to_lowercase();
            let found = match Email::parse(&email) {
                Ok(email) => {
                    let provider_id = provider.id;
                    state
                        .db(move |store| Ok(store.user_credentials(provider_id, email.as_str())?))
                        .await?
                        .map(|c| (Subject::user(c.user.id), c.password_hash, c.user.status))
                }
                Err(_) => None,
            };
            (found, Some(provider.id), provider.id.to_string(), login)
        }
        PasswordTarget::Employee { login } => {
            if method == AuthMethod::Authinfo {
                // Scripts of employees use API tokens; authinfo is a per-provider legacy.
                state
                    .record(Attempt::new(method, Reason::MethodDisabled), client)
                    .await;
                return Err(ApiError::MethodDisabled(method.as_str()));
            }
            let found = match parse_login(&login) {
                Ok(login) => state
                    .db(move |store| Ok(store.employee_credentials(&login)?))
                    .await?
                    .map(|c| {
                        (
                            Subject::employee(c.employee.id),
                            c.password_hash,
                            c.employee.status,
                        )
                    }),
                Err(_) => None,
            };
            (found, None, "employees".to_owned(), login.to_lowercase())
        }
    };
    let subject = found.as_ref().map(|f| f.0);
    let key = throttle_key(subject, &scope, &login);
    let attempt = || {
        Attempt::new(method, Reason::Ok)
            .provider(provider_id)
            .subject(subject)
    };
    reserve(state, key.clone(), attempt(), client).await?;

    let (stored, status) = match found {
        Some((_, hash, status)) if !too_long => (hash, Some(status)),
        _ => (None, None),
    };
    let password = if too_long { String::new() } else { password };
    let verified = state.passwords.verify(password, stored).await?;
    let Some(subject) = subject.filter(|_| verified != Verified::No) else {
        state
            .record(
                Attempt {
                    reason: Reason::UnknownOrWrongPassword,
                    ..attempt()
                },
                client,
            )
            .await;
        return Err(ApiError::InvalidCredentials);
    };
    if status != Some(AccountStatus::Active) {
        // Same answer as a wrong password: a disabled account is not confirmed to exist.
        state
            .record(
                Attempt {
                    reason: Reason::AccountDisabled,
                    ..attempt()
                },
                client,
            )
            .await;
        return Err(ApiError::InvalidCredentials);
    }
    reset(state, key).await?;
    if let Verified::YesRehashed(hash) = verified {
        state
            .db(move |store| {
                match subject.kind {
                    SubjectKind::User => store.set_user_password_hash(subject.id, &hash)?,
                    SubjectKind::Employee => store.set_employee_password_hash(subject.id, &hash)?,
                }
                Ok(())
            })
            .await?;
    }
    state.record(attempt(), client).await;
    Ok(PasswordOk {
        subject,
        provider_id,
    })
}

/// `Authorization: Basic` with `provider-slug/e-mail:password` (BILLmanager's authinfo).
pub async fn authinfo(
    state: &AppState,
    encoded: &str,
    client: &ClientInfo,
) -> Result<Principal, ApiError> {
    let decoded = STANDARD
        .decode(encoded)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or(ApiError::Unauthenticated)?;
    let (login, password) = decoded.split_once(':').ok_or(ApiError::Unauthenticated)?;
    let target = match login.split_once('/') {
        Some((slug, email)) => PasswordTarget::User {
            provider_slug: slug.to_owned(),
            email: email.to_owned(),
        },
        None => PasswordTarget::Employee {
            login: login.to_owned(),
        },
    };
    let ok = check_password(
        state,
        target,
        password.to_owned(),
        AuthMethod::Authinfo,
        client,
    )
    .await?;
    let actor = load_actor(state, ok.subject, Some(AuthMethod::Authinfo)).await?;
    Ok(Principal {
        actor,
        credential: Credential::Authinfo,
    })
}

/// Redeems a one-time key. Wrong keys cannot be tied to an account, so they spend a budget
/// of the caller's address; a right one resets the account's budget (it is the recovery
/// path staff and the operator hand out).
pub async fn redeem_temporary_key(
    state: &AppState,
    key: String,
    client: &ClientInfo,
) -> Result<TokenResponse, ApiError> {
    let method = AuthMethod::TemporaryKey;
    let ip_key = format!(
        "ip:{}:temporary_key",
        client.ip.as_deref().unwrap_or("unknown")
    );
    reserve(
        state,
        ip_key.clone(),
        Attempt::new(method, Reason::Ok),
        client,
    )
    .await?;
    let now = state.now();
    let redeemed = if looks_like(TEMPORARY_KEY_PREFIX, &key) {
        let hash = hash_secret(&key);
        state
            .db(move |store| Ok(store.redeem_temporary_key(&hash, now)?))
            .await?
    } else {
        None
    };
    let Some(redeemed) = redeemed else {
        state
            .record(Attempt::new(method, Reason::InvalidKey), client)
            .await;
        return Err(ApiError::InvalidCredentials);
    };
    reset(state, ip_key).await?;
    let attempt = |reason| {
        Attempt::new(method, reason)
            .provider(redeemed.provider_id)
            .subject(Some(redeemed.subject))
    };
    if let Err(e) = load_actor(state, redeemed.subject, Some(method)).await {
        let reason = match e {
            ApiError::MethodDisabled(_) => Reason::MethodDisabled,
            _ => Reason::AccountDisabled,
        };
        state.record(attempt(reason), client).await;
        return Err(match e {
            ApiError::MethodDisabled(_) => e,
            _ => ApiError::InvalidCredentials,
        });
    }
    reset(state, throttle_key(Some(redeemed.subject), "", "")).await?;
    state.record(attempt(Reason::Ok), client).await;
    start_session(
        state,
        redeemed.subject,
        redeemed.provider_id,
        method,
        client,
    )
    .await
}

/// Exchanges a refresh token for new tokens; a reused one revokes its whole session.
pub async fn refresh(
    state: &AppState,
    token: String,
    client: &ClientInfo,
) -> Result<TokenResponse, ApiError> {
    use crate::authlog::REFRESH;
    use persistence::RefreshOutcome;
    if !looks_like(REFRESH_TOKEN_PREFIX, &token) {
        state
            .record(Attempt::named(REFRESH, Reason::InvalidToken), client)
            .await;
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
    let outcome = state
        .db(move |store| {
            Ok(
                store.rotate_refresh_token(&old_hash, &new_hash, now, |kind| match kind {
                    SubjectKind::User => user_idle,
                    SubjectKind::Employee => employee_idle,
                })?,
            )
        })
        .await?;
    match outcome {
        RefreshOutcome::Invalid => {
            state
                .record(Attempt::named(REFRESH, Reason::InvalidToken), client)
                .await;
            Err(ApiError::InvalidCredentials)
        }
        RefreshOutcome::Reused(session) => {
            state
                .record(
                    Attempt::named(REFRESH, Reason::TokenReused)
                        .provider(session.provider_id)
                        .subject(Some(session.subject)),
                    client,
                )
                .await;
            Err(ApiError::InvalidCredentials)
        }
        RefreshOutcome::Rotated(session) => {
            let attempt = |reason| {
                Attempt::named(REFRESH, reason)
                    .provider(session.provider_id)
                    .subject(Some(session.subject))
            };
            if load_actor(state, session.subject, None).await.is_err() {
                state.record(attempt(Reason::AccountDisabled), client).await;
                return Err(ApiError::InvalidCredentials);
            }
            state.record(attempt(Reason::Ok), client).await;
            Ok(tokens_for(state, session.subject, session.id, new_token))
        }
    }
}

impl Actor {
    pub fn status(&self) -> AccountStatus {
        match self {
            Actor::User(u) => u.status,
            Actor::Employee(e) => e.status,
        }
    }
}
