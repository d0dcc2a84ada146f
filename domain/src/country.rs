use std::fmt;

/// The officially assigned ISO 3166-1 alpha-2 codes (249), sorted for binary search.
const ASSIGNED: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// EU member states plus Iceland, Liechtenstein and Norway: the European Economic Area, where
/// personal data moves without a transfer mechanism (GDPR chapter V does not apply).
const EEA: [&str; 30] = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
];

/// A jurisdiction: an ISO 3166-1 alpha-2 country code, upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CountryCode([u8; 2]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be an ISO 3166-1 alpha-2 country code, such as DE")]
pub struct CountryCodeError;

impl CountryCode {
    pub fn parse(value: &str) -> Result<Self, CountryCodeError> {
        let upper = value.trim().to_ascii_uppercase();
        if upper.len() == 2 && ASSIGNED.binary_search(&upper.as_str()).is_ok() {
            let bytes = upper.as_bytes();
            Ok(Self([bytes[0], bytes[1]]))
        } else {
            Err(CountryCodeError)
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII letters from ASSIGNED get in.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    pub fn is_eea(&self) -> bool {
        EEA.contains(&self.as_str())
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assigned_is_sorted() {
        assert!(ASSIGNED.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn parse_table() {
        let cases: &[(&str, Option<&str>, bool)] = &[
            ("DE", Some("DE"), true),
            ("de", Some("DE"), true),
            (" no ", Some("NO"), true),
            ("US", Some("US"), false),
            ("CH", Some("CH"), false),
            ("XX", None, false),
            ("EU", None, false),
            ("DEU", None, false),
            ("", None, false),
        ];
        for (input, expected, eea) in cases {
            let parsed = CountryCode::parse(input).ok();
            assert_eq!(
                parsed.as_ref().map(CountryCode::as_str),
                *expected,
                "{input:?}"
            );
            assert_eq!(parsed.is_some_and(|c| c.is_eea()), *eea, "{input:?}");
        }
    }
}
