//! GDPR client data cleaning (Art. 17): the optional module that enables it, and the report
//! a clearing answers (counts only, never a value that was cleared).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::provider::text_enum;

text_enum!(
    /// An optional part of the service that an administrator installs before it can be used.
    Module { GdprCleanup = "gdpr_cleanup" }
);

impl Module {
    pub fn description(self) -> &'static str {
        match self {
            Module::GdprCleanup => "GDPR client data cleaning: clear a client and its users",
        }
    }
}

/// The domain that never routes mail (RFC 2606): anonymized e-mails end in it.
pub const ANONYMIZED_EMAIL_DOMAIN: &str = "anonymized.invalid";

/// A unique, non-routable e-mail made from `random` alone (nothing of the old address).
pub fn anonymized_email(random: Uuid) -> String {
    format!("{}@{ANONYMIZED_EMAIL_DOMAIN}", random.simple())
}

/// A random name made from `random` alone.
pub fn anonymized_name(random: Uuid) -> String {
    format!("anonymized {}", random.simple())
}

/// What a clearing did (or, in a dry run, would do), with counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearReport {
    pub client_id: Uuid,
    /// True when nothing was changed.
    pub dry_run: bool,
    /// When the clearing happened (`None` in a dry run).
    pub cleared_at: Option<DateTime<Utc>>,
    pub anonymized: Anonymized,
    pub deleted: Deleted,
    pub revoked: Revoked,
    pub kept: Kept,
}

/// Rows whose personal fields were replaced by random values or removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anonymized {
    /// The client's name.
    pub clients: u64,
    /// E-mail and name replaced; phone and password hash removed.
    pub users: u64,
    /// Names replaced.
    pub api_tokens: u64,
    /// IP address and user agent removed.
    pub sessions: u64,
    /// IP address and user agent removed; the events stay as evidence.
    pub auth_events: u64,
}

/// Rows or values that are gone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted {
    pub phones: u64,
    pub password_hashes: u64,
    /// Failure budgets of the users' accounts and of the addresses they used.
    pub throttle_budgets: u64,
    pub refresh_tokens: u64,
    /// One-time keys, used or not (the unused ones are also counted as revoked).
    pub temporary_keys: u64,
    /// TOTP secrets (reports stored before second factors existed read 0).
    #[serde(default)]
    pub totp_secrets: u64,
    /// Recovery codes, used or not.
    #[serde(default)]
    pub recovery_codes: u64,
    /// Sign-in challenges waiting for a second factor.
    #[serde(default)]
    pub mfa_challenges: u64,
}

/// Credentials that no longer work.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    pub sessions: u64,
    pub api_tokens: u64,
    pub temporary_keys: u64,
    /// Users (and the client) disabled.
    pub users_disabled: u64,
}

/// What stays.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    /// Auth events kept as evidence, now without address or user agent.
    pub auth_events: u64,
    /// Data kept under a legal hold (tax law). None yet: billing details are not stored.
    pub legal_hold: u64,
    pub legal_hold_until: Option<DateTime<Utc>>,
    pub note: String,
}

/// What the report says is kept under legal hold while the service stores no billing details.
pub const NO_LEGAL_HOLD: &str =
    "nothing is under legal hold: the service stores no billing details yet";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymized_values_hold_nothing_but_the_random() {
        let random = Uuid::from_u128(0xabc);
        let email = anonymized_email(random);
        assert!(email.ends_with("@anonymized.invalid"));
        assert!(crate::email::Email::parse(&email).is_ok(), "{email}");
        assert_ne!(anonymized_email(Uuid::from_u128(1)), email);
        assert_eq!(
            anonymized_name(random),
            format!("anonymized {}", random.simple())
        );
    }
}
