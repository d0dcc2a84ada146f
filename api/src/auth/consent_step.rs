//! The acceptance step of a sign-in answered `consent_required` (`consent`): the ticket and
//! the accepted versions are checked, the consents recorded (`after_login`) together with
//! the ticket's use, and the sign-in goes on through `outcome::finish_sign_in` (so a second
//! factor, where one is due, is still asked for).

use domain::auth_method::AuthMethod;
use domain::consent::{ConsentMethod, ConsentRecord, Decision};
use domain::model::Subject;
use domain::secret::{CONSENT_TOKEN_PREFIX, hash_secret, looks_like};
use uuid::Uuid;

use super::client_info::ClientInfo;
use super::consent::{due_for, new_record};
use super::log::{Attempt, CONSENT, Reason, record};
use super::outcome::{FirstFactor, LoginOutcome, finish_sign_in};
use super::principal::load_actor;
use crate::problem::ApiError;
use crate::state::AppState;

/// Redeems a `consent_required` ticket: records the accepted versions (`after_login`) and
/// finishes the sign-in. Every document due must be among `accept` (422 at `/accept` naming
/// the first one missing); an unknown, used or expired ticket is 401.
pub async fn accept_and_sign_in(
    state: &AppState,
    token: String,
    accept: Vec<Uuid>,
    client: &ClientInfo,
) -> Result<LoginOutcome, ApiError> {
    let invalid = || Attempt::named(CONSENT, Reason::InvalidToken);
    if !looks_like(CONSENT_TOKEN_PREFIX, &token) {
        record(state, invalid(), client).await;
        return Err(ApiError::InvalidCredentials);
    }
    let hash = hash_secret(&token);
    let now = state.now();
    let ticket = state
        .db(move |store| Ok(store.consent_ticket(&hash, now)?))
        .await?;
    let Some(ticket) = ticket else {
        record(state, invalid(), client).await;
        return Err(ApiError::InvalidCredentials);
    };
    let subject = Subject::user(ticket.user_id);
    let method = AuthMethod::parse(&ticket.method)
        .ok_or_else(|| ApiError::internal("a consent ticket names an unknown method"))?;
    let attempt = Attempt::named(CONSENT, Reason::ConsentGiven)
        .provider(Some(ticket.provider_id))
        .subject(Some(subject));
    // The account may have been disabled, or the method turned off, since the first factor.
    if let Err(refused) = load_actor(state, subject, Some(method)).await? {
        record(state, attempt.because(refused.reason()), client).await;
        return Err(ApiError::InvalidCredentials);
    }
    let due = due_for(state, ticket.provider_id, ticket.user_id).await?;
    if let Some((document, version)) = due.iter().find(|(_, v)| !accept.contains(&v.id)) {
        return Err(ApiError::validation(
            "/accept",
            format!(
                "must include version {} ({}) of the document {} ({})",
                version.id,
                version.number,
                document.id,
                document.kind.as_string()
            ),
        ));
    }
    let records: Vec<ConsentRecord> = due
        .iter()
        .map(|(d, v)| {
            new_record(
                ticket.user_id,
                d,
                v,
                Decision::Agree,
                ConsentMethod::AfterLogin,
                client,
                now,
            )
        })
        .collect();
    let ticket_id = ticket.id;
    let redeemed = state
        .db(move |store| Ok(store.redeem_consent_ticket(ticket_id, &records, now)?))
        .await?;
    if !redeemed {
        record(state, invalid(), client).await;
        return Err(ApiError::InvalidCredentials);
    }
    record(state, attempt, client).await;
    let first = FirstFactor {
        subject,
        provider_id: Some(ticket.provider_id),
        method,
    };
    finish_sign_in(state, first, client).await
}
