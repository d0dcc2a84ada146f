//! The objects every feature works on, with their fields already parsed.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth_method::AuthMethods;
use crate::country::CountryCode;
use crate::email::Email;
use crate::permission::{ProviderScope, Role};
use crate::phone::PhoneNumber;
use crate::policy::ProviderPolicies;
use crate::provider::{AccountStatus, ProviderSlug, ProviderStatus, SubjectKind};

#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    pub id: Uuid,
    pub slug: ProviderSlug,
    pub name: String,
    pub jurisdiction: CountryCode,
    pub status: ProviderStatus,
    pub auth_methods: AuthMethods,
    pub policies: ProviderPolicies,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Counts the stored changes, from 1 for a new object; an update names the version it
    /// read and fails if another update came first (optimistic concurrency).
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    pub id: Uuid,
    pub provider_id: Uuid,
    pub name: String,
    pub status: AccountStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Counts the stored changes, from 1 for a new object; an update names the version it
    /// read and fails if another update came first (optimistic concurrency).
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: Uuid,
    pub provider_id: Uuid,
    pub client_id: Uuid,
    pub email: Email,
    pub name: String,
    pub phone: Option<PhoneNumber>,
    pub status: AccountStatus,
    pub has_password: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Counts the stored changes, from 1 for a new object; an update names the version it
    /// read and fails if another update came first (optimistic concurrency).
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Employee {
    pub id: Uuid,
    pub login: String,
    pub name: String,
    pub email: Option<Email>,
    pub status: AccountStatus,
    pub roles: Vec<Role>,
    pub providers: ProviderScope<Uuid>,
    pub has_password: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Counts the stored changes, from 1 for a new object; an update names the version it
    /// read and fails if another update came first (optimistic concurrency).
    pub version: i64,
}

/// Who a token, key or session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Subject {
    pub kind: SubjectKind,
    pub id: Uuid,
}

impl Subject {
    pub fn user(id: Uuid) -> Self {
        Self {
            kind: SubjectKind::User,
            id,
        }
    }

    pub fn employee(id: Uuid) -> Self {
        Self {
            kind: SubjectKind::Employee,
            id,
        }
    }
}

/// An employee's login: what they type, so kept readable.
pub fn parse_login(value: &str) -> Result<String, LoginError> {
    let value = crate::identifier::normalize(value);
    let ok = (2..=64).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok { Ok(value) } else { Err(LoginError) }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 2 to 64 characters of letters, digits and . _ - @")]
pub struct LoginError;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins() {
        let cases: &[(&str, Option<&str>)] = &[
            ("Admin", Some("admin")),
            ("first.last@corp", Some("first.last@corp")),
            ("a", None),
            ("with space", None),
            ("ünï", None),
            (" Kim ", Some("kim")),
            ("\u{212A}im", None),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_login(input).ok().as_deref(), *expected, "{input:?}");
        }
    }
}
