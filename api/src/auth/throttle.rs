//! The failure budget: one per account (or per login that matches no account), spent by
//! every path that checks a secret.

use domain::model::Subject;
use domain::throttle::{self, Decision};
use uuid::Uuid;

use super::client_info::ClientInfo;
use super::log::{Attempt, Reason, record};
use crate::problem::ApiError;
use crate::state::AppState;

/// The budget's key (`domain::throttle`): the account's, or the unknown login's.
pub fn throttle_key(subject: Option<Subject>, scope: &str, login: &str) -> String {
    match subject {
        Some(s) => throttle::subject_key(s),
        None => throttle::unknown_key(scope, login),
    }
}

/// Spends one attempt of `key`'s budget, or answers (and logs) why not.
pub async fn reserve(
    state: &AppState,
    key: String,
    attempt: Attempt<'_>,
    client: &ClientInfo,
) -> Result<(), ApiError> {
    let now = state.now();
    let decision = state
        .db(move |store| Ok(store.reserve_attempt(&key, now)?))
        .await?;
    judge_reservation(state, decision, attempt, client).await
}

/// Answers a reservation of the budget: nothing when it was allowed, else the refusal
/// (logged).
pub async fn judge_reservation(
    state: &AppState,
    decision: Decision,
    attempt: Attempt<'_>,
    client: &ClientInfo,
) -> Result<(), ApiError> {
    let (reason, error) = match decision {
        Decision::Allow => return Ok(()),
        Decision::RetryAfter(seconds) => (Reason::Throttled, ApiError::Throttled(seconds)),
        Decision::Locked => (Reason::Locked, ApiError::Locked),
    };
    crate::metrics::metrics().failure_budget_refusal(match reason {
        Reason::Locked => "locked",
        _ => "throttled",
    });
    record(state, attempt.because(reason), client).await;
    Err(error)
}

/// The rate limit of an unauthenticated request that touches an identifier (`action`, such
/// as a registration): one budget per address and one per provider
/// (`domain::throttle::Budget::RATE_PER_ADDRESS`, `RATE_PER_PROVIDER`), counted for every
/// request, whatever its answer, so the limit itself reveals nothing.
pub async fn rate_limit(
    state: &AppState,
    action: &str,
    attempt: impl Fn() -> Attempt<'static>,
    provider: Option<Uuid>,
    client: &ClientInfo,
) -> Result<(), ApiError> {
    let ip = client.ip.as_deref().unwrap_or("unknown");
    let by_address = format!("{}{ip}:{action}", throttle::RATE_ADDRESS_PREFIX);
    reserve(state, by_address, attempt(), client).await?;
    if let Some(provider) = provider {
        let by_provider = format!("{}{provider}:{action}", throttle::RATE_PROVIDER_PREFIX);
        reserve(state, by_provider, attempt(), client).await?;
    }
    Ok(())
}

/// A correct secret empties the budget.
pub async fn reset(state: &AppState, key: String) -> Result<(), ApiError> {
    state.db(move |store| Ok(store.reset_attempts(&key)?)).await
}
