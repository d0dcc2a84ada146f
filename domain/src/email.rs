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
    /// Accepts exactly what the API documents: a local part of 1 to 64 printable ASCII
    /// characters other than `@`, then `@` and at least two dot-separated labels of ASCII
    /// letters, digits and `-`. An internationalized domain is accepted in its punycode form
    /// (`xn--…`) only, so look-alikes (Cyrillic `а`, fullwidth `ａ`, U+200D) are refused.
    pub fn parse(value: &str) -> Result<Self, EmailError> {
        let value = crate::identifier::normalize(value);
        if value.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = value.split_once('@').ok_or(EmailError::Invalid)?;
        let local_ok = (1..=64).contains(&local.len())
            && local
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && b != b'@');
        let mut labels = 0;
        let domain_ok = domain.split('.').all(|label| {
            labels += 1;
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
        if local_ok && domain_ok && labels >= 2 {
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
            ("anna@xn--mnchen-3ya.de", Some("anna@xn--mnchen-3ya.de")),
            ("o'brien+x@example.com", Some("o'brien+x@example.com")),
            // Look-alikes: Cyrillic а, fullwidth ａ, a zero-width joiner, an umlaut domain.
            ("\u{430}nna@example.com", None),
            ("anna@ex\u{430}mple.com", None),
            ("\u{FF41}nna@example.com", None),
            ("an\u{200D}na@example.com", None),
            ("anna@example\u{200D}.com", None),
            ("anna@münchen.de", None),
            ("anna@exam_ple.com", None),
            // The Kelvin sign is not folded to `k`: refused, not matched to `kim@…`.
            ("\u{212A}im@example.com", None),
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
