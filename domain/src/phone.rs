use std::fmt;

/// A phone number, validated against Google's libphonenumber metadata (the `phonenumber`
/// crate) and kept in E.164 form, with the country it belongs to. Spaces, dashes, dots and
/// brackets that people type are accepted; the number must be international (`+` and the
/// country code), because nothing tells us which country a national number is from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    e164: String,
    /// ISO 3166-1 alpha-2 (`DE`), or `001` for non-geographic numbers.
    country: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be a valid international phone number, such as +4930123456")]
pub struct PhoneError;

/// Longer input is not a phone number; refused before the parser sees it.
const MAX_INPUT_CHARS: usize = 40;

impl PhoneNumber {
    pub fn parse(value: &str) -> Result<Self, PhoneError> {
        let value = value.trim();
        // The parser also takes national numbers, letters (vanity numbers) and extensions;
        // we store plain international numbers only.
        let allowed =
            |c: char| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '.' | '(' | ')');
        if !value.starts_with('+')
            || value.chars().count() > MAX_INPUT_CHARS
            || !value.chars().all(allowed)
        {
            return Err(PhoneError);
        }
        let parsed = phonenumber::parse(None, value).map_err(|_| PhoneError)?;
        if !parsed.is_valid() || parsed.extension().is_some() {
            return Err(PhoneError);
        }
        let country = parsed
            .country()
            .id()
            .map(|id| id.as_ref().to_owned())
            .unwrap_or_else(|| "001".to_owned());
        let e164 = parsed.format().mode(phonenumber::Mode::E164).to_string();
        Ok(Self { e164, country })
    }

    /// E.164: `+` and the digits.
    pub fn as_str(&self) -> &str {
        &self.e164
    }

    /// The number's country (ISO 3166-1 alpha-2), `001` for non-geographic numbers.
    pub fn country(&self) -> &str {
        &self.country
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            ("+49 30 1234-5678", Some(("+493012345678", "DE"))),
            ("+4915112345678", Some(("+4915112345678", "DE"))),
            (" +44 20 7946 0958 ", Some(("+442079460958", "GB"))),
            ("+1 (415) 555.2671", Some(("+14155552671", "US"))),
            ("+33 6 12 34 56 78", Some(("+33612345678", "FR"))),
            ("004930123456", None),
            ("030 1234567", None),
            ("+0301234567", None),
            ("+12", None),
            ("+1234567890123456", None),
            ("+49 1", None),
            ("+49abc12345678", None),
            ("+49 30 1234 5678 ext. 12", None),
            ("+1 800 FLOWERS", None),
            ("+999 1234567", None),
            ("", None),
        ];
        for (input, expected) in cases {
            let parsed = PhoneNumber::parse(input).ok();
            assert_eq!(
                parsed.as_ref().map(|p| (p.as_str(), p.country())),
                *expected,
                "{input:?}"
            );
        }
    }
}
