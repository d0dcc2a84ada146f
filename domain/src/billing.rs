//! A client's billing details: what tax law makes the provider keep after the client's
//! data is cleared, for as long as the legal hold runs (8 years in Germany since 2025,
//! §147 AO; 10 in some member states). The billing platform writes them and the hold date
//! (from the client's last invoice); clearing keeps them while the hold runs, and the
//! legal-hold job anonymizes them the day it ends.

use chrono::{DateTime, Utc};

use crate::ValidationErrors;
use crate::error::{is_bidi_control, parse_name};

/// Longest legal name, tax id and address, in characters.
pub const MAX_LEGAL_NAME: usize = 200;
pub const MAX_TAX_ID: usize = 50;
pub const MAX_ADDRESS: usize = 1000;
/// Longest legal hold a billing platform may set from now: 30 years (no tax law asks more).
pub const MAX_HOLD_YEARS: u32 = 30;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingDetails {
    pub legal_name: String,
    pub tax_id: Option<String>,
    /// Lines separated by `\n`.
    pub billing_address: String,
    /// Until when tax law makes the provider keep them; `None`: no hold.
    pub legal_hold_until: Option<DateTime<Utc>>,
}

impl BillingDetails {
    /// Checks and tidies what a billing platform sent (trimmed; an empty tax id is none).
    pub fn parse(
        legal_name: &str,
        tax_id: Option<&str>,
        billing_address: &str,
        legal_hold_until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let legal_name = errors.check("/legal_name", parse_name(legal_name, MAX_LEGAL_NAME));
        let tax_id = match tax_id.map(str::trim).filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => errors.check("/tax_id", parse_name(t, MAX_TAX_ID)),
        };
        let address = billing_address.trim();
        if address.is_empty() || address.chars().count() > MAX_ADDRESS {
            errors.add(
                "/billing_address",
                format!("must be 1 to {MAX_ADDRESS} characters"),
            );
        } else if address
            .chars()
            .any(|c| (c.is_control() && c != '\n') || is_bidi_control(c))
        {
            errors.add(
                "/billing_address",
                "must not hold control characters other than line breaks",
            );
        }
        if let Some(until) = legal_hold_until {
            let latest = now
                .checked_add_months(chrono::Months::new(12 * MAX_HOLD_YEARS))
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            if until > latest {
                errors.add(
                    "/legal_hold_until",
                    format!("must be at most {MAX_HOLD_YEARS} years from now"),
                );
            }
        }
        errors.into_result()?;
        Ok(Self {
            legal_name: legal_name.unwrap_or_default(),
            tax_id,
            billing_address: address.to_owned(),
            legal_hold_until,
        })
    }
}

/// Whether a legal hold ending at `until` still runs at `now`.
pub fn hold_runs(until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    until.is_some_and(|until| now < until)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn hold_table() {
        let now = at("2026-11-26T00:00:00Z");
        let table = [
            (None, false),
            (Some("2034-12-31T00:00:00Z"), true),
            (Some("2026-11-26T00:00:01Z"), true),
            (Some("2026-11-26T00:00:00Z"), false),
            (Some("2020-01-01T00:00:00Z"), false),
        ];
        for (until, runs) in table {
            assert_eq!(hold_runs(until.map(at), now), runs, "{until:?}");
        }
    }

    #[test]
    fn parse_table() {
        let now = at("2026-11-26T00:00:00Z");
        let long = "x".repeat(1001);
        let long_tax = "1".repeat(51);
        // (legal name, tax id, address, hold until, pointers refused)
        type Case<'a> = (
            &'a str,
            Option<&'a str>,
            &'a str,
            Option<&'a str>,
            &'a [&'a str],
        );
        let table: Vec<Case> = vec![
            (
                "Vance GmbH",
                Some("DE123456789"),
                "Hauptstr. 1\n10115 Berlin",
                Some("2034-12-31T00:00:00Z"),
                &[],
            ),
            ("Vance GmbH", None, "Hauptstr. 1", None, &[]),
            ("Vance GmbH", Some("  "), "Hauptstr. 1", None, &[]),
            ("", None, "Hauptstr. 1", None, &["/legal_name"]),
            ("Vance\u{202e}GmbH", None, "a", None, &["/legal_name"]),
            (
                "Vance GmbH",
                Some(long_tax.as_str()),
                "a",
                None,
                &["/tax_id"],
            ),
            ("Vance GmbH", None, " ", None, &["/billing_address"]),
            ("Vance GmbH", None, &long, None, &["/billing_address"]),
            ("Vance GmbH", None, "a\u{7}b", None, &["/billing_address"]),
            ("Vance GmbH", None, "a", Some("2056-11-26T00:00:00Z"), &[]),
            (
                "Vance GmbH",
                None,
                "a",
                Some("2056-11-26T00:00:01Z"),
                &["/legal_hold_until"],
            ),
        ];
        for (name, tax, address, until, pointers) in table {
            let parsed = BillingDetails::parse(name, tax, address, until.map(at), now);
            let got: Vec<String> = match parsed {
                Ok(_) => Vec::new(),
                Err(e) => e.0.into_iter().map(|e| e.pointer).collect(),
            };
            assert_eq!(got, pointers, "{name} {tax:?} {address} {until:?}");
        }
        let tidy = BillingDetails::parse(" Vance GmbH ", Some(" "), " a\nb ", None, now).unwrap();
        assert_eq!(
            (
                tidy.legal_name.as_str(),
                tidy.tax_id,
                tidy.billing_address.as_str()
            ),
            ("Vance GmbH", None, "a\nb")
        );
    }
}
