use std::fmt;

use serde::{Deserialize, Serialize};

/// The short name of a provider in public URLs (`/providers/{slug}/login-options`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProviderSlug(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 2 to 63 characters of a-z, 0-9 and '-', starting with a letter")]
pub struct SlugError;

impl ProviderSlug {
    pub fn parse(value: &str) -> Result<Self, SlugError> {
        let ok = (2..=63).contains(&value.len())
            && value.starts_with(|c: char| c.is_ascii_lowercase())
            && !value.ends_with('-')
            && value
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(SlugError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProviderSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Declares a closed set stored as TEXT, with its wire spelling in one place.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(value: &str) -> Option<Self> {
                match value { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

text_enum!(
    /// A provider that is suspended keeps its data but nobody of it can sign in.
    ProviderStatus { Active = "active", Suspended = "suspended" }
);

text_enum!(
    /// The status of a client, a user or an employee. Disabling revokes everything held.
    AccountStatus { Active = "active", Disabled = "disabled" }
);

text_enum!(
    /// Who a credential or a session belongs to.
    SubjectKind { User = "user", Employee = "employee" }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        let cases: &[(&str, bool)] = &[
            ("acme", true),
            ("acme-hosting-2", true),
            ("a", false),
            ("Acme", false),
            ("2acme", false),
            ("acme-", false),
            ("acme_hosting", false),
            ("acmé", false),
            ("", false),
        ];
        for (input, ok) in cases {
            assert_eq!(ProviderSlug::parse(input).is_ok(), *ok, "{input:?}");
        }
        assert!(ProviderSlug::parse(&"a".repeat(63)).is_ok());
        assert!(ProviderSlug::parse(&"a".repeat(64)).is_err());
    }

    #[test]
    fn text_enums_round_trip() {
        for status in AccountStatus::ALL {
            assert_eq!(AccountStatus::parse(status.as_str()), Some(*status));
        }
        assert_eq!(ProviderStatus::parse("deleted"), None);
    }
}
