//! The auth log: one auth event for every attempt on every path. Never a secret in it: the
//! fields are typed, and the login someone typed is not kept (people type passwords into
//! login fields).

use chrono::{DateTime, Utc};
use domain::auth_method::AuthMethod;
use domain::model::Subject;
use persistence::AuthEventRecord;
use uuid::Uuid;

use super::client_info::ClientInfo;
use crate::state::AppState;

/// Why an attempt ended as it did: a closed set, so that no free text reaches the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Ok,
    UnknownOrWrongPassword,
    InvalidKey,
    InvalidToken,
    TokenReused,
    /// A used refresh token came back within the reuse grace: refused, nothing revoked.
    TokenJustRotated,
    MethodDisabled,
    AccountDisabled,
    ProviderSuspended,
    /// The account a key, token or session named no longer exists.
    UnknownAccount,
    Throttled,
    Locked,
    IpNotAllowed,
    Registered,
    PasswordChanged,
    Logout,
    /// An SMS code went out (or, for a number nobody verified, was pretended to).
    CodeSent,
    /// No code was sent: the last one is too recent, or a cap of the hour is reached.
    ResendCooldown,
    NumberCap,
    AccountCap,
    IpCap,
    /// Every gateway failed, or none serves the provider.
    SmsFailed,
    WrongCode,
    CodeExpired,
    /// The code was used already (a replay, or a parallel use that lost).
    CodeUsed,
    /// The code died after its wrong tries.
    CodeTooManyTries,
    /// No code was sent for this purpose to this account or number.
    NoCode,
    /// A phone sign-in for a number no user of the provider verified.
    UnknownNumber,
    PhoneVerified,
    /// A sensitive change (a verified number replaced) without a fresh first factor.
    ReauthenticationRequired,
    /// OpenID Connect: the `state` is unknown, used, expired or of another flow.
    InvalidState,
    /// OpenID Connect: the redirect URI is not one the method allows.
    RedirectUriNotAllowed,
    /// OpenID Connect: `iss` of the response is not the flow's issuer (mix-up).
    IssuerMismatch,
    /// OpenID Connect: the identity provider could not be reached or failed.
    IdpUnavailable,
    IdpTimeout,
    /// OpenID Connect: the identity provider refused the code.
    CodeRefused,
    /// OpenID Connect: the ID token failed validation.
    InvalidIdToken,
    /// OpenID Connect: the e-mail is not verified, and one is needed.
    EmailNotVerified,
    /// OpenID Connect: Google's hosted domain is not allowed.
    HostedDomainNotAllowed,
    /// OpenID Connect: no account is linked, and registration is off.
    NotRegistered,
    /// OpenID Connect: the e-mail belongs to an existing account, which is never taken over.
    EmailTaken,
    /// Keycloak: no role of the person maps to an employee role.
    NoMappedRole,
    /// An identity-provider account was linked to a signed-in user.
    Linked,
    /// Second factors (`method` is `mfa`, `totp`, `recovery_code` or `sms`).
    ChallengeIssued,
    ChallengeUnknown,
    ChallengeExpired,
    ChallengeUsed,
    FactorNotAvailable,
    CodeReplayed,
    Enrolled,
    Confirmed,
    Removed,
    Renewed,
    /// A session refused by the second-factor enforcement.
    EnrollmentRequired,
    SecondFactorMissing,
    /// A first factor succeeded, but new versions of must-agree documents await acceptance.
    ConsentRequired,
    /// The documents due were accepted after a sign-in: the session starts.
    ConsentGiven,
    /// The identity provider's `amr`/`acr` was accepted as the second factor (policy).
    IdpSecondFactor,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Ok => "ok",
            Reason::UnknownOrWrongPassword => "unknown_login_or_wrong_password",
            Reason::InvalidKey => "invalid_or_used_key",
            Reason::InvalidToken => "invalid_token",
            Reason::TokenReused => "refresh_token_reused",
            Reason::TokenJustRotated => "refresh_token_just_rotated",
            Reason::MethodDisabled => "method_disabled",
            Reason::AccountDisabled => "account_disabled",
            Reason::ProviderSuspended => "provider_suspended",
            Reason::UnknownAccount => "unknown_account",
            Reason::Throttled => "throttled",
            Reason::Locked => "locked",
            Reason::IpNotAllowed => "ip_not_allowed",
            Reason::Registered => "registered",
            Reason::PasswordChanged => "password_changed",
            Reason::Logout => "logout",
            Reason::CodeSent => "code_sent",
            Reason::ResendCooldown => "resend_cooldown",
            Reason::NumberCap => "number_cap",
            Reason::AccountCap => "account_cap",
            Reason::IpCap => "ip_cap",
            Reason::SmsFailed => "sms_failed",
            Reason::WrongCode => "wrong_code",
            Reason::CodeExpired => "code_expired",
            Reason::CodeUsed => "code_used",
            Reason::CodeTooManyTries => "code_too_many_tries",
            Reason::NoCode => "no_code",
            Reason::UnknownNumber => "unknown_number",
            Reason::PhoneVerified => "phone_verified",
            Reason::ReauthenticationRequired => "reauthentication_required",
            Reason::InvalidState => "invalid_state",
            Reason::RedirectUriNotAllowed => "redirect_uri_not_allowed",
            Reason::IssuerMismatch => "issuer_mismatch",
            Reason::IdpUnavailable => "identity_provider_unavailable",
            Reason::IdpTimeout => "identity_provider_timeout",
            Reason::CodeRefused => "code_refused",
            Reason::InvalidIdToken => "invalid_id_token",
            Reason::EmailNotVerified => "email_not_verified",
            Reason::HostedDomainNotAllowed => "hosted_domain_not_allowed",
            Reason::NotRegistered => "not_registered",
            Reason::EmailTaken => "email_taken",
            Reason::NoMappedRole => "no_mapped_role",
            Reason::Linked => "linked",
            Reason::ChallengeIssued => "challenge_issued",
            Reason::ChallengeUnknown => "challenge_unknown",
            Reason::ChallengeExpired => "challenge_expired",
            Reason::ChallengeUsed => "challenge_used",
            Reason::FactorNotAvailable => "method_not_available",
            Reason::CodeReplayed => "code_replayed",
            Reason::Enrolled => "enrolled",
            Reason::Confirmed => "confirmed",
            Reason::Removed => "removed",
            Reason::Renewed => "renewed",
            Reason::EnrollmentRequired => "mfa_enrollment_required",
            Reason::SecondFactorMissing => "mfa_required",
            Reason::ConsentRequired => "consent_required",
            Reason::ConsentGiven => "consent_given",
            Reason::IdpSecondFactor => "idp_second_factor",
        }
    }

    fn outcome(self) -> &'static str {
        match self {
            Reason::Ok
            | Reason::Registered
            | Reason::PasswordChanged
            | Reason::Logout
            | Reason::CodeSent
            | Reason::PhoneVerified
            | Reason::Linked
            | Reason::IdpSecondFactor => "success",
            Reason::ChallengeIssued
            | Reason::Enrolled
            | Reason::Confirmed
            | Reason::Removed
            | Reason::Renewed => "success",
            Reason::ConsentGiven => "success",
            _ => "failure",
        }
    }
}

/// Methods that are not login methods of a provider but still go in the log.
pub const REFRESH: &str = "refresh";
pub const SESSION: &str = "session";
/// A sign-in challenge, before the second factor is known.
pub const MFA: &str = "mfa";
/// The acceptance step of a sign-in answered `consent_required`.
pub const CONSENT: &str = "consent";
/// SMS as a second factor: sending and checking its codes.
pub const SMS: &str = "sms";

pub struct Attempt<'a> {
    pub method: &'a str,
    pub provider_id: Option<Uuid>,
    pub subject: Option<Subject>,
    pub reason: Reason,
}

impl<'a> Attempt<'a> {
    pub fn new(method: AuthMethod, reason: Reason) -> Self {
        Self::named(method.as_str(), reason)
    }

    pub fn named(method: &'a str, reason: Reason) -> Self {
        Self {
            method,
            provider_id: None,
            subject: None,
            reason,
        }
    }

    pub fn provider(mut self, provider_id: Option<Uuid>) -> Self {
        self.provider_id = provider_id;
        self
    }

    pub fn subject(mut self, subject: Option<Subject>) -> Self {
        self.subject = subject;
        self
    }

    pub fn because(self, reason: Reason) -> Self {
        Self { reason, ..self }
    }
}

/// Writes one auth event. A failure to write is logged and does not change the answer the
/// caller gets.
pub async fn record(state: &AppState, attempt: Attempt<'_>, client: &ClientInfo) {
    let event = event(attempt, client, state.now());
    let result = state
        .db(move |store| store.insert_auth_event(&event).map_err(Into::into))
        .await;
    if let Err(e) = result {
        log::error!("could not write an auth event: {e}");
    }
}

/// The auth event of an attempt, for a caller that writes it in a transaction of its own
/// (`record` writes it alone); the process log line and the metrics count it now.
pub fn event(attempt: Attempt<'_>, client: &ClientInfo, now: DateTime<Utc>) -> AuthEventRecord {
    // One line per attempt in the process log too: typed fields only, no secret.
    log::info!(
        "auth attempt method={} outcome={} reason={} subject={}",
        attempt.method,
        attempt.reason.outcome(),
        attempt.reason.as_str(),
        attempt
            .subject
            .map(|s| format!("{}:{}", s.kind.as_str(), s.id))
            .unwrap_or_else(|| "-".into())
    );
    crate::metrics::metrics().auth_attempt(
        attempt.method,
        attempt.reason.outcome(),
        attempt.reason.as_str(),
    );
    AuthEventRecord {
        id: Uuid::now_v7(),
        provider_id: attempt.provider_id,
        subject: attempt.subject,
        method: attempt.method.to_owned(),
        outcome: attempt.reason.outcome().to_owned(),
        reason: attempt.reason.as_str().to_owned(),
        ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
        created_at: now,
    }
}
