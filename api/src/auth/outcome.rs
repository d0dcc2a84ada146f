//! How every first factor ends: a session, or a second factor due. Decided in one place
//! (`domain::sign_in::after_first_factor`) from the person's enrolled factors, so a new
//! factor or a new first factor changes nothing else.

use domain::auth_method::AuthMethod;
use domain::model::Subject;
use domain::sign_in::{SecondFactor, SecondFactorPolicy, SignInStep, after_first_factor};
use uuid::Uuid;

use super::client_info::ClientInfo;
use super::consent::consent_gate;
use super::session::{TokenResponse, start_session};
use crate::problem::ApiError;
use crate::state::AppState;

/// A first factor that succeeded: who, at which provider, by which method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstFactor {
    pub subject: Subject,
    pub provider_id: Option<Uuid>,
    pub method: AuthMethod,
}

/// Where a sign-in stands after its first factor.
#[derive(Debug)]
pub enum LoginOutcome {
    Session(TokenResponse),
    SecondFactorDue {
        first: FirstFactor,
        factors: Vec<SecondFactor>,
    },
}

/// The second factors `subject` has enrolled. None can be enrolled yet: TOTP, SMS and
/// recovery codes come with the second-factor feature, which reads them here.
async fn enrolled_factors(_: &AppState, _: Subject) -> Result<Vec<SecondFactor>, ApiError> {
    Ok(Vec::new())
}

/// Ends a first factor: starts the session, or says which second factor is due.
pub async fn finish_sign_in(
    state: &AppState,
    first: FirstFactor,
    client: &ClientInfo,
) -> Result<LoginOutcome, ApiError> {
    // Hook: the re-consent gate (auth::consent) before anything else is due; its acceptance
    // step (auth::consent_step) comes back here, so a second factor is still asked after it.
    consent_gate(
        state,
        first.subject,
        first.provider_id,
        first.method,
        client,
    )
    .await?;
    let enrolled = enrolled_factors(state, first.subject).await?;
    let policy = SecondFactorPolicy {
        first_factor_is_recovery: first.method == AuthMethod::TemporaryKey,
    };
    match after_first_factor(&enrolled, policy) {
        SignInStep::Session => Ok(LoginOutcome::Session(
            start_session(
                state,
                first.subject,
                first.provider_id,
                first.method,
                client,
            )
            .await?,
        )),
        SignInStep::SecondFactor(factors) => Ok(LoginOutcome::SecondFactorDue { first, factors }),
    }
}

/// A new registration has just set its password and has no second factor: it signs in.
pub async fn session_after_registration(
    state: &AppState,
    first: FirstFactor,
    client: &ClientInfo,
) -> Result<TokenResponse, ApiError> {
    start_session(
        state,
        first.subject,
        first.provider_id,
        first.method,
        client,
    )
    .await
}

impl LoginOutcome {
    /// The answer of a sign-in endpoint. The challenge answer (`mfa_required`,
    /// `challenge_id`, `methods`) comes with the second-factor feature; until a factor can
    /// be enrolled, no sign-in reaches it.
    pub fn into_tokens(self) -> Result<TokenResponse, ApiError> {
        match self {
            LoginOutcome::Session(tokens) => Ok(tokens),
            LoginOutcome::SecondFactorDue { .. } => Err(ApiError::internal(
                "a second factor is due, but no second-factor step is served",
            )),
        }
    }
}
