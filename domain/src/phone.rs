use std::fmt;

/// A phone number in E.164 form (`+` and 8 to 15 digits); spaces, dashes, dots and
/// brackets that people type are dropped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be an international number in E.164 form, such as +4930123456")]
pub struct PhoneError;

impl PhoneNumber {
    pub fn parse(value: &str) -> Result<Self, PhoneError> {
        let compact: String = value
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        let digits = compact.strip_prefix('+').ok_or(PhoneError)?;
        let ok = (8..=15).contains(&digits.len())
            && digits.chars().all(|c| c.is_ascii_digit())
            && !digits.starts_with('0');
        if ok {
            Ok(Self(compact))
        } else {
            Err(PhoneError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneNumber {
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
            ("+49 30 1234-5678", Some("+493012345678")),
            ("+1 (415) 555.0100", Some("+14155550100")),
            ("004930123456", None),
            ("+0301234567", None),
            ("+12", None),
            ("+1234567890123456", None),
            ("+49abc12345678", None),
            ("", None),
        ];
        for (input, expected) in cases {
            assert_eq!(
                PhoneNumber::parse(input)
                    .ok()
                    .as_ref()
                    .map(PhoneNumber::as_str),
                *expected,
                "{input:?}"
            );
        }
    }
}
