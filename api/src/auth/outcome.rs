//! How every first factor ends: a session, or a second factor due. Decided in one place
//! (`domain::sign_in::after_first_factor`) from the person's enrolled factors, so a new
//! factor or a new first factor changes nothing else. A second factor due answers a
//! challenge (kept server side, short-lived, single use); `verify_challenge` ends it.

use chrono::Duration;
use domain::auth_method::AuthMethod;
use domain::mfa::{
    CHALLENGE_TTL_SECONDS, first_factor_amr, idp_second_factor_amr, normalize_recovery_code,
    totp_step_is_fresh, with_second_factor,
};
use domain::model::Subject;
use domain::phone::PhoneNumber;
use domain::phone_code::{CodeHolder, CodePurpose};
use domain::provider::SubjectKind;
use domain::secret::hash_secret;
use domain::sign_in::{SecondFactor, SecondFactorPolicy, SignInStep, after_first_factor};
use persistence::{ChallengeRecord, EnrolledFactors, SignInWrites, StoreError, VerifyChallenge};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::client_info::ClientInfo;
use super::consent::{consent_gate, consent_required, due_in};
use super::log::{Attempt, MFA, Reason, SMS, record};
use super::phone_code::{CodeRequest, SentCode, check_code, send_code};
use super::principal::load_actor;
use super::second_factor::{enrolled_in, enrolled_list, matching_step, open_secret};
use super::session::{TokenResponse, new_session, start_session, tokens_for};
use super::throttle::{reserve, reset, throttle_key};
use crate::problem::ApiError;
use crate::state::AppState;

/// A first factor that succeeded: who, at which provider, by which method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstFactor {
    pub subject: Subject,
    pub provider_id: Option<Uuid>,
    pub method: AuthMethod,
}

/// The answer of a first factor when a second one is due: no tokens yet.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaChallenge {
    /// Always `true`: tell this answer from tokens by it.
    pub mfa_required: bool,
    /// Send it to `POST /api/v1/auth/mfa/verify` with a code of one of `methods`.
    pub challenge_id: Uuid,
    /// The second factors this person can use, e.g. `totp`, `sms`, `recovery_code`.
    #[schema(value_type = Vec<crate::routes::schemas::SecondFactorName>, example = json!(["totp", "recovery_code"]))]
    pub methods: Vec<SecondFactor>,
    /// The challenge dies then (5 minutes after the first factor).
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// A sign-in's answer: tokens, or a second factor due.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginResponse {
    Tokens(TokenResponse),
    MfaChallenge(MfaChallenge),
}

/// Where a sign-in stands after its first factor.
#[derive(Debug)]
pub enum LoginOutcome {
    Session(TokenResponse),
    SecondFactorDue(MfaChallenge),
}

/// The re-consent gate (`auth::consent`) for the person a first factor proved.
async fn consent_first(
    state: &AppState,
    first: &FirstFactor,
    client: &ClientInfo,
) -> Result<(), ApiError> {
    consent_gate(
        state,
        first.subject,
        first.provider_id,
        first.method,
        client,
    )
    .await
}

/// Ends a first factor: starts the session, or issues a challenge for a second factor.
///
/// A one-time key is the recovery path (staff or the operator hand it out when a factor is
/// lost), so it starts a session without asking for the factor; that session's `amr` shows
/// no second factor, so where one is required (admins) it may only replace the factor
/// (`second_factor::enforce`) before it can do anything else.
pub async fn finish_sign_in(
    state: &AppState,
    first: FirstFactor,
    client: &ClientInfo,
) -> Result<LoginOutcome, ApiError> {
    finish_sign_in_with(state, first, SignInWrites::default(), None, client).await
}

/// What a first factor's own reading found of the person (`password::check_password` reads
/// it with the account, before the hash), so that the sign-in does not read it again. Read
/// a hash's time (tens of milliseconds) earlier than otherwise: a second factor enrolled
/// or a consent document published in that moment counts from the next sign-in, as it
/// would had this one come that much sooner.
#[derive(Debug, Clone, Copy)]
pub struct ReadBefore {
    pub factors: EnrolledFactors,
    /// Whether the user's provider has consent documents: without any, nothing is due.
    pub consent_documents: bool,
}

/// `finish_sign_in` for a first factor whose success is still to be written (`writes`, from
/// `password::check_password`). What is due is read and `writes` written in one trip to the
/// store; when the session starts, it is written in the same transaction as `writes`.
pub async fn finish_sign_in_with(
    state: &AppState,
    first: FirstFactor,
    mut writes: SignInWrites,
    read_before: Option<ReadBefore>,
    client: &ClientInfo,
) -> Result<LoginOutcome, ApiError> {
    let now = state.now();
    let subject = first.subject;
    let policy = SecondFactorPolicy {
        first_factor_is_recovery: first.method == AuthMethod::TemporaryKey,
        first_factor_is_sms: first.method == AuthMethod::Phone,
    };
    let amr = first_factor_amr(first.method);
    let (session, refresh_token) = new_session(
        state,
        subject,
        first.provider_id,
        first.method,
        amr.clone(),
        client,
    );
    let session_id = session.0.id;
    // Hook: the re-consent gate (auth::consent) before anything else is due; its acceptance
    // step (auth::consent_step) comes back here, so a second factor is still asked after it.
    let consent_at = match (subject.kind, first.provider_id) {
        (SubjectKind::User, Some(provider_id)) => Some(provider_id),
        _ => None,
    };
    let (due, step) = state
        .db(move |store| {
            let due = match consent_at {
                Some(provider_id) if read_before.is_none_or(|r| r.consent_documents) => {
                    due_in(store, provider_id, subject.id, now)?
                }
                _ => Vec::new(),
            };
            let step = if due.is_empty() {
                let enrolled = match read_before {
                    Some(read) => enrolled_list(read.factors),
                    None => enrolled_in(store, subject)?,
                };
                Some(after_first_factor(&enrolled, policy))
            } else {
                None
            };
            if step == Some(SignInStep::Session) {
                writes.session = Some(session);
            }
            store.write_sign_in(&writes)?;
            Ok((due, step))
        })
        .await?;
    let Some(step) = step else {
        let provider_id =
            consent_at.ok_or_else(|| ApiError::internal("consent without a provider"))?;
        return Err(consent_required(state, subject, provider_id, first.method, due, client).await);
    };
    match step {
        SignInStep::Session => Ok(LoginOutcome::Session(tokens_for(
            state,
            subject,
            session_id,
            &amr,
            refresh_token,
        ))),
        SignInStep::SecondFactor(methods) => {
            let now = state.now();
            let challenge = ChallengeRecord {
                // Random (122 bits), not time-ordered: the id stands for a proven first
                // factor, so it must not be guessable.
                id: Uuid::new_v4(),
                subject,
                provider_id: first.provider_id,
                method: first.method.as_str().to_owned(),
                methods: methods.iter().map(|m| m.as_str().to_owned()).collect(),
                created_at: now,
                expires_at: now + Duration::seconds(CHALLENGE_TTL_SECONDS),
                used_at: None,
            };
            let answer = MfaChallenge {
                mfa_required: true,
                challenge_id: challenge.id,
                methods,
                expires_at: challenge.expires_at,
            };
            state
                .db(move |store| Ok(store.create_challenge(&challenge)?))
                .await?;
            let attempt = Attempt::named(MFA, Reason::ChallengeIssued)
                .provider(first.provider_id)
                .subject(Some(subject));
            record(state, attempt, client).await;
            Ok(LoginOutcome::SecondFactorDue(answer))
        }
    }
}

/// Ends a federated first factor (Google, a staff identity provider). When the policy
/// accepted the identity provider's `amr`/`acr` as a second factor (`idp_second_factor`),
/// the session starts proven (`fed mfa`) without a challenge; else as any first factor.
pub async fn finish_federated_sign_in(
    state: &AppState,
    first: FirstFactor,
    idp_second_factor: bool,
    client: &ClientInfo,
) -> Result<LoginOutcome, ApiError> {
    if !idp_second_factor {
        return finish_sign_in(state, first, client).await;
    }
    // Consent first, as in `finish_sign_in`. Its acceptance step signs in through
    // `finish_sign_in`, which asks for our own second factor: the safe side.
    consent_first(state, &first, client).await?;
    let attempt = Attempt::named(MFA, Reason::IdpSecondFactor)
        .provider(first.provider_id)
        .subject(Some(first.subject));
    record(state, attempt, client).await;
    let tokens = start_session(
        state,
        first.subject,
        first.provider_id,
        first.method,
        idp_second_factor_amr(),
        client,
    )
    .await?;
    Ok(LoginOutcome::Session(tokens))
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
        first_factor_amr(first.method),
        client,
    )
    .await
}

impl LoginOutcome {
    /// The answer of a sign-in endpoint that serves the challenge step.
    pub fn into_response(self) -> LoginResponse {
        match self {
            LoginOutcome::Session(tokens) => LoginResponse::Tokens(tokens),
            LoginOutcome::SecondFactorDue(challenge) => LoginResponse::MfaChallenge(challenge),
        }
    }

    /// The tokens of a first factor that never asks for a second one (a one-time key).
    pub fn into_tokens(self) -> Result<TokenResponse, ApiError> {
        match self {
            LoginOutcome::Session(tokens) => Ok(tokens),
            LoginOutcome::SecondFactorDue(_) => Err(ApiError::internal(
                "a second factor is due on a path that serves no challenge",
            )),
        }
    }
}

/// The challenge `challenge_id` when it is alive and offers `factor`; logged and refused
/// otherwise (401 `mfa_challenge_invalid`, 400 `method_not_available`).
async fn open_challenge(
    state: &AppState,
    challenge_id: Uuid,
    factor: SecondFactor,
    client: &ClientInfo,
) -> Result<ChallengeRecord, ApiError> {
    let now = state.now();
    let challenge = state
        .db(move |store| Ok(store.challenge(challenge_id)?))
        .await?;
    let Some(challenge) = challenge else {
        record(state, Attempt::named(MFA, Reason::ChallengeUnknown), client).await;
        return Err(ApiError::ChallengeInvalid);
    };
    let refused = if challenge.used_at.is_some() {
        Some(Reason::ChallengeUsed)
    } else if challenge.expires_at <= now {
        Some(Reason::ChallengeExpired)
    } else if !challenge.methods.iter().any(|m| m == factor.as_str()) {
        Some(Reason::FactorNotAvailable)
    } else {
        None
    };
    if let Some(reason) = refused {
        let attempt = Attempt::named(factor.as_str(), reason)
            .provider(challenge.provider_id)
            .subject(Some(challenge.subject));
        record(state, attempt, client).await;
        return Err(match reason {
            Reason::FactorNotAvailable => ApiError::MethodNotAvailable(factor.as_str()),
            _ => ApiError::ChallengeInvalid,
        });
    }
    Ok(challenge)
}

/// The number SMS as a second factor goes to: the user's verified number now (it may have
/// been replaced or dropped since the challenge was issued); `None` for employees.
async fn sms_number(state: &AppState, subject: Subject) -> Result<Option<PhoneNumber>, ApiError> {
    if subject.kind != SubjectKind::User {
        return Ok(None);
    }
    let phone = state
        .db(move |store| Ok(store.user_verified_phone(subject.id)?))
        .await?;
    phone
        .map(|p| {
            PhoneNumber::parse(&p).map_err(|_| ApiError::internal("a stored number is not valid"))
        })
        .transpose()
}

/// Texts a code for the challenge's SMS factor to the user's verified number (an explicit
/// step, so that someone who answers with TOTP is not texted for nothing). The code
/// module's cooldown and hourly caps apply (429 `sms_rate_limited`).
pub async fn send_challenge_code(
    state: &AppState,
    challenge_id: Uuid,
    language: Option<String>,
    client: &ClientInfo,
) -> Result<SentCode, ApiError> {
    let factor = SecondFactor::Sms;
    let challenge = open_challenge(state, challenge_id, factor, client).await?;
    let subject = challenge.subject;
    let Some(phone) = sms_number(state, subject).await? else {
        let attempt = Attempt::named(SMS, Reason::FactorNotAvailable)
            .provider(challenge.provider_id)
            .subject(Some(subject));
        record(state, attempt, client).await;
        return Err(ApiError::MethodNotAvailable(factor.as_str()));
    };
    let request = CodeRequest {
        purpose: CodePurpose::SecondFactor,
        holder: CodeHolder::Account(subject),
        account: Some(subject),
        provider_id: challenge.provider_id,
        phone,
        language,
    };
    send_code(state, request, client).await
}

/// Finishes a sign-in with a second factor. The challenge and the code are spent together,
/// so that of parallel verifies exactly one wins and a replayed code spends nothing; every
/// wrong code spends the account's failure budget. An SMS code is spent by its own
/// conditional update first (`phone_code::check_code`, which also spends the budget).
pub async fn verify_challenge(
    state: &AppState,
    challenge_id: Uuid,
    factor: SecondFactor,
    code: String,
    client: &ClientInfo,
) -> Result<TokenResponse, ApiError> {
    let now = state.now();
    let challenge = open_challenge(state, challenge_id, factor, client).await?;
    let subject = challenge.subject;
    let attempt = || {
        Attempt::named(factor.as_str(), Reason::Ok)
            .provider(challenge.provider_id)
            .subject(Some(subject))
    };
    let key = throttle_key(Some(subject), "", "");
    if factor != SecondFactor::Sms {
        reserve(state, key.clone(), attempt(), client).await?;
    }
    let proof = match factor {
        SecondFactor::Totp => {
            let factor_row = state
                .db(move |store| Ok(store.totp_factor(subject)?))
                .await?
                .filter(|f| f.confirmed);
            let Some(totp) = factor_row else {
                record(state, attempt().because(Reason::FactorNotAvailable), client).await;
                return Err(ApiError::MethodNotAvailable(factor.as_str()));
            };
            let key = state.settings.totp_secret_key.as_ref();
            let secret = open_secret(&totp.secret, subject, key)?;
            let Some(step) = matching_step(&secret, code.trim(), now)? else {
                record(state, attempt().because(Reason::WrongCode), client).await;
                return Err(ApiError::InvalidCredentials);
            };
            if !totp_step_is_fresh(step, totp.last_used_step) {
                record(state, attempt().because(Reason::CodeReplayed), client).await;
                return Err(ApiError::InvalidCredentials);
            }
            VerifyChallenge::TotpStep(step)
        }
        SecondFactor::RecoveryCode => match normalize_recovery_code(&code) {
            Some(code) => VerifyChallenge::RecoveryCode(hash_secret(&code)),
            None => {
                record(state, attempt().because(Reason::WrongCode), client).await;
                return Err(ApiError::InvalidCredentials);
            }
        },
        SecondFactor::Sms => {
            let Some(phone) = sms_number(state, subject).await? else {
                record(state, attempt().because(Reason::FactorNotAvailable), client).await;
                return Err(ApiError::MethodNotAvailable(factor.as_str()));
            };
            let holder = CodeHolder::Account(subject);
            let purpose = CodePurpose::SecondFactor;
            match check_code(state, purpose, &holder, code.trim(), client).await? {
                Some(checked) if checked.phone == phone => VerifyChallenge::SmsCode,
                Some(_) => {
                    // Sent to the number the user had before replacing it.
                    record(state, attempt().because(Reason::FactorNotAvailable), client).await;
                    return Err(ApiError::InvalidCredentials);
                }
                // check_code logged why.
                None => return Err(ApiError::InvalidCredentials),
            }
        }
    };
    let finished = state
        .db(move |store| {
            match store.finish_challenge(challenge_id, subject, &proof, now) {
                Ok(true) => Ok(Ok(())),
                Ok(false) => Ok(Err(Reason::ChallengeUsed)),
                // The code was spent by another request (or a recovery code is unknown).
                Err(StoreError::Stale) => Ok(Err(match proof {
                    VerifyChallenge::TotpStep(_) => Reason::CodeReplayed,
                    VerifyChallenge::RecoveryCode(_) => Reason::WrongCode,
                    VerifyChallenge::SmsCode => Reason::CodeUsed,
                })),
                Err(e) => Err(e.into()),
            }
        })
        .await?;
    if let Err(reason) = finished {
        record(state, attempt().because(reason), client).await;
        return Err(match reason {
            Reason::ChallengeUsed => ApiError::ChallengeInvalid,
            _ => ApiError::InvalidCredentials,
        });
    }
    reset(state, key).await?;
    if let Err(refused) = load_actor(state, subject, None).await? {
        record(state, attempt().because(refused.reason()), client).await;
        return Err(ApiError::InvalidCredentials);
    }
    let method = AuthMethod::parse(&challenge.method)
        .ok_or_else(|| ApiError::internal("a challenge names an unknown first factor"))?;
    record(state, attempt(), client).await;
    start_session(
        state,
        subject,
        challenge.provider_id,
        method,
        with_second_factor(&first_factor_amr(method), factor),
        client,
    )
    .await
}
