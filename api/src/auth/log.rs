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

/// Declares the reasons with their wire spelling in one place, and `ALL`, so that the
/// document's enum of `reason` is every value the log can hold.
macro_rules! reasons {
    ($($(#[$doc:meta])* $variant:ident = $text:literal,)+) => {
        /// Why an attempt ended as it did: a closed set, so that no free text reaches the log.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Reason { $($(#[$doc])* $variant,)+ }

        impl Reason {
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self { $(Reason::$variant => $text,)+ }
            }
        }
    };
}

reasons! {
    Ok = "ok",
    UnknownOrWrongPassword = "unknown_login_or_wrong_password",
    InvalidKey = "invalid_or_used_key",
    InvalidToken = "invalid_token",
    TokenReused = "refresh_token_reused",
    /// A used refresh token came back within the reuse grace: refused, nothing revoked.
    TokenJustRotated = "refresh_token_just_rotated",
    MethodDisabled = "method_disabled",
    AccountDisabled = "account_disabled",
    ProviderSuspended = "provider_suspended",
    /// The account a key, token or session named no longer exists.
    UnknownAccount = "unknown_account",
    Throttled = "throttled",
    Locked = "locked",
    IpNotAllowed = "ip_not_allowed",
    Registered = "registered",
    PasswordChanged = "password_changed",
    Logout = "logout",
    /// An SMS code went out (or, for a number nobody verified, was pretended to).
    CodeSent = "code_sent",
    /// No code was sent: the last one is too recent, or a cap of the hour is reached.
    ResendCooldown = "resend_cooldown",
    NumberCap = "number_cap",
    AccountCap = "account_cap",
    IpCap = "ip_cap",
    /// Every gateway failed, or none serves the provider.
    SmsFailed = "sms_failed",
    WrongCode = "wrong_code",
    CodeExpired = "code_expired",
    /// The code was used already (a replay, or a parallel use that lost).
    CodeUsed = "code_used",
    /// The code died after its wrong tries.
    CodeTooManyTries = "code_too_many_tries",
    /// No code was sent for this purpose to this account or number.
    NoCode = "no_code",
    /// A phone sign-in for a number no user of the provider verified.
    UnknownNumber = "unknown_number",
    PhoneVerified = "phone_verified",
    /// A sensitive change (a verified number replaced) without a fresh first factor.
    ReauthenticationRequired = "reauthentication_required",
    /// OpenID Connect: the `state` is unknown, used, expired or of another flow.
    InvalidState = "invalid_state",
    /// OpenID Connect: the redirect URI is not one the method allows.
    RedirectUriNotAllowed = "redirect_uri_not_allowed",
    /// OpenID Connect: `iss` of the response is not the flow's issuer (mix-up).
    IssuerMismatch = "issuer_mismatch",
    /// OpenID Connect: the identity provider could not be reached or failed.
    IdpUnavailable = "identity_provider_unavailable",
    IdpTimeout = "identity_provider_timeout",
    /// OpenID Connect: the identity provider refused the code.
    CodeRefused = "code_refused",
    /// OpenID Connect: the ID token failed validation.
    InvalidIdToken = "invalid_id_token",
    /// OpenID Connect: the e-mail is not verified, and one is needed.
    EmailNotVerified = "email_not_verified",
    /// OpenID Connect: Google's hosted domain is not allowed.
    HostedDomainNotAllowed = "hosted_domain_not_allowed",
    /// OpenID Connect: no account is linked, and registration is off.
    NotRegistered = "not_registered",
    /// OpenID Connect: the e-mail belongs to an existing account, which is never taken over.
    EmailTaken = "email_taken",
    /// Keycloak: no role of the person maps to an employee role.
    NoMappedRole = "no_mapped_role",
    /// An identity-provider account was linked to a signed-in user.
    Linked = "linked",
    /// Second factors (`method` is `mfa`, `totp`, `recovery_code` or `sms`).
    ChallengeIssued = "challenge_issued",
    ChallengeUnknown = "challenge_unknown",
    ChallengeExpired = "challenge_expired",
    ChallengeUsed = "challenge_used",
    FactorNotAvailable = "method_not_available",
    CodeReplayed = "code_replayed",
    Enrolled = "enrolled",
    Confirmed = "confirmed",
    Removed = "removed",
    Renewed = "renewed",
    /// A session refused by the second-factor enforcement.
    EnrollmentRequired = "mfa_enrollment_required",
    SecondFactorMissing = "mfa_required",
    /// A first factor succeeded, but new versions of must-agree documents await acceptance.
    ConsentRequired = "consent_required",
    /// The documents due were accepted after a sign-in: the session starts.
    ConsentGiven = "consent_given",
    /// The identity provider's `amr`/`acr` was accepted as the second factor (policy).
    IdpSecondFactor = "idp_second_factor",
}

impl Reason {
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
