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

/// Who cleared a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClearedBy {
    /// An employee, on request (an erasure request, the end of a contract).
    Employee(Uuid),
    /// The scheduled cleaning of clients inactive for longer than their provider's
    /// `inactive_client_retention_months`.
    Schedule,
}

impl ClearedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            ClearedBy::Employee(_) => "employee",
            ClearedBy::Schedule => "schedule",
        }
    }

    pub fn employee(self) -> Option<Uuid> {
        match self {
            ClearedBy::Employee(id) => Some(id),
            ClearedBy::Schedule => None,
        }
    }
}

/// The last moment of activity that still keeps a client under a retention of `months`:
/// a client whose last activity is before it is inactive. Calendar months: the retention
/// of one month on 31 March ends on 28 (or 29) February.
pub fn inactivity_cutoff(now: DateTime<Utc>, months: u32) -> DateTime<Utc> {
    now.checked_sub_months(chrono::Months::new(months))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Whether a client last active at `last_activity` is inactive under `months`.
pub fn is_inactive(last_activity: DateTime<Utc>, now: DateTime<Utc>, months: u32) -> bool {
    last_activity < inactivity_cutoff(now, months)
}

/// The domain that never routes mail (RFC 2606): anonymized e-mails end in it.
pub const ANONYMIZED_EMAIL_DOMAIN: &str = "anonymized.invalid";

/// What an anonymized name starts with; the rest is random.
pub const ANONYMIZED_NAME_PREFIX: &str = "anonymized ";

/// A random name made from `random` alone.
pub fn anonymized_name(random: Uuid) -> String {
    format!("{ANONYMIZED_NAME_PREFIX}{}", random.simple())
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
    /// IP address and user agent removed; the records stay as evidence of consent (a
    /// report stored before they existed reads 0).
    #[serde(default)]
    pub consent_records: u64,
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
    /// The client's billing details, when no legal hold runs (reports stored before they
    /// existed read 0).
    #[serde(default)]
    pub billing_details: u64,
    /// One-time SMS codes, used or not (a report stored before they existed reads 0).
    #[serde(default)]
    pub phone_codes: u64,
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
    /// Consent records kept as evidence (Art. 7(1)), without address or user agent.
    #[serde(default)]
    pub consent_records: u64,
    /// Records kept under a legal hold (tax law): the client's billing details (1), or 0.
    pub legal_hold: u64,
    pub legal_hold_until: Option<DateTime<Utc>>,
    pub note: String,
}

/// What the report says about the legal hold: billing details kept until `until`, or
/// nothing kept.
pub fn legal_hold_note(until: Option<DateTime<Utc>>) -> String {
    match until {
        Some(until) => format!(
            "the billing details (legal name, tax id, billing address) are kept under a legal \
             hold (tax law) until {}, then anonymized",
            until.format("%Y-%m-%d")
        ),
        None => "nothing is kept under a legal hold".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymized_values_hold_nothing_but_the_random() {
        let random = Uuid::from_u128(0xabc);
        // The store makes anonymized e-mails as 32 random hex digits at this domain.
        let email = format!("{}@{ANONYMIZED_EMAIL_DOMAIN}", random.simple());
        assert!(email.ends_with("@anonymized.invalid"));
        assert!(crate::email::Email::parse(&email).is_ok(), "{email}");
        assert_eq!(
            anonymized_name(random),
            format!("anonymized {}", random.simple())
        );
    }

    #[test]
    fn inactivity_table() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let now = at("2026-03-31T12:00:00Z");
        let table = [
            // (last activity, months, inactive)
            ("2026-02-28T12:00:00Z", 1, false),
            ("2026-02-28T11:59:59Z", 1, true),
            ("2025-03-31T12:00:00Z", 12, false),
            ("2025-03-31T11:59:59Z", 12, true),
            ("2026-03-31T11:00:00Z", 1, false),
            ("2016-03-30T00:00:00Z", 120, true),
            ("2016-04-01T00:00:00Z", 120, false),
        ];
        for (last, months, inactive) in table {
            assert_eq!(
                is_inactive(at(last), now, months),
                inactive,
                "{last} {months}"
            );
        }
    }

    #[test]
    fn who_cleared() {
        let id = Uuid::from_u128(7);
        assert_eq!(ClearedBy::Employee(id).as_str(), "employee");
        assert_eq!(ClearedBy::Employee(id).employee(), Some(id));
        assert_eq!(ClearedBy::Schedule.as_str(), "schedule");
        assert_eq!(ClearedBy::Schedule.employee(), None);
    }
}
