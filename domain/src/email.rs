use std::fmt;

/// An e-mail address as a login: trimmed and lower-cased so that uniqueness per provider
/// does not depend on how a user typed it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("is not an e-mail address")]
    Invalid,
    #[error("must be at most 254 characters")]
    TooLong,
}

impl Email {
    pub fn parse(value: &str) -> Result<Self, EmailError> {
        let value = value.trim().to_lowercase();
        if value.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = value.rsplit_once('@').ok_or(EmailError::Invalid)?;
        let local_ok = !local.is_empty() && local.len() <= 64 && !local.contains('@');
        let domain_ok = domain.len() >= 3
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        let no_space = !value.chars().any(|c| c.is_whitespace() || c.is_control());
        if local_ok && domain_ok && no_space {
            Ok(Self(value))
        } else {
            Err(EmailError::Invalid)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let cases: &[(&str, Option<&str>)] = &[
            ("Anna@Example.COM ", Some("anna@example.com")),
            ("a.b+tag@sub.example.de", Some("a.b+tag@sub.example.de")),
            ("", None),
            ("no-at.example.com", None),
            ("@example.com", None),
            ("anna@", None),
            ("anna@localhost", None),
            ("an na@example.com", None),
            ("anna@exa..mple.com", None),
            ("anna@.example.com", None),
            ("a@b@example.com", None),
        ];
        for (input, expected) in cases {
            assert_eq!(
                Email::parse(input).ok().as_ref().map(Email::as_str),
                *expected,
                "{input:?}"
            );
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }
}
