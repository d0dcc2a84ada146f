//! The failure budget: one per account (or per login that matches no account), spent by
//! every path that checks a secret.

use domain::model::Subject;
use domain::secret::hash_secret;
use domain::throttle::Decision;

use super::client_info::ClientInfo;
use super::log::{Attempt, Reason, record};
use crate::problem::ApiError;
use crate::state::AppState;

/// The budget's key. Unknown logins get one of their own, so both look alike from outside;
/// the login is hashed: it may hold a mistyped password.
pub fn throttle_key(subject: Option<Subject>, scope: &str, login: &str) -> String {
    match subject {
        Some(s) => format!("{}:{}", s.kind.as_str(), s.id),
        None => format!("unknown:{scope}:{}", hash_secret(login)),
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

/// A correct secret empties the budget.
pub async fn reset(state: &AppState, key: String) -> Result<(), ApiError> {
    state.db(move |store| Ok(store.reset_attempts(&key)?)).await
}
