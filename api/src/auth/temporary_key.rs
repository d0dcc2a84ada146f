//! The one-time key first factor: keys the operator's CLI or staff hand out.

use domain::auth_method::AuthMethod;
use domain::secret::{TEMPORARY_KEY_PREFIX, hash_secret, looks_like};
use domain::throttle;

use super::client_info::ClientInfo;
use super::log::{Attempt, Reason, record};
use super::outcome::{FirstFactor, LoginOutcome, finish_sign_in};
use super::principal::load_actor;
use super::throttle::{reserve, reset, throttle_key};
use crate::problem::ApiError;
use crate::state::AppState;

/// Redeems a one-time key. The key is looked up by its hash first: a valid key always
/// works (it is 256 random bits; guessing one is hopeless), whatever its address did
/// before. A key that matches nothing spends the address's budget
/// (`domain::throttle::Budget::ADDRESS`): a delay that decays, never a stop. A right key
/// resets the account's budget (it is the recovery path staff and the operator hand out).
pub async fn redeem_temporary_key(
    state: &AppState,
    key: String,
    client: &ClientInfo,
) -> Result<LoginOutcome, ApiError> {
    let method = AuthMethod::TemporaryKey;
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
        let ip_key = format!(
            "{}{}:temporary_key",
            throttle::ADDRESS_PREFIX,
            client.ip.as_deref().unwrap_or("unknown")
        );
        reserve(
            state,
            ip_key,
            Attempt::new(method, Reason::InvalidKey),
            client,
        )
        .await?;
        record(state, Attempt::new(method, Reason::InvalidKey), client).await;
        return Err(ApiError::InvalidCredentials);
    };
    let attempt = Attempt::new(method, Reason::Ok)
        .provider(redeemed.provider_id)
        .subject(Some(redeemed.subject));
    if let Err(refused) = load_actor(state, redeemed.subject, Some(method)).await? {
        record(state, attempt.because(refused.reason()), client).await;
        return Err(match refused.into_error() {
            e @ ApiError::MethodDisabled(_) => e,
            _ => ApiError::InvalidCredentials,
        });
    }
    reset(state, throttle_key(Some(redeemed.subject), "", "")).await?;
    record(state, attempt, client).await;
    let first = FirstFactor {
        subject: redeemed.subject,
        provider_id: redeemed.provider_id,
        method,
    };
    finish_sign_in(state, first, client).await
}
