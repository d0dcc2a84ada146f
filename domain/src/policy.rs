//! A provider's policies: what the law or the provider asks beyond which methods are on.

use serde::{Deserialize, Serialize};

use crate::ValidationErrors;

/// Shortest auth-log retention: a day, so that a misclick cannot wipe the evidence at once.
pub const MIN_AUTH_LOG_RETENTION_DAYS: u32 = 1;
/// Longest auth-log retention: ten years. GDPR Art. 5(1)(e) wants "no longer than necessary".
pub const MAX_AUTH_LOG_RETENTION_DAYS: u32 = 3650;
/// Shortest and longest inactivity after which the schedule clears a client: a month, ten
/// years.
pub const MIN_INACTIVE_CLIENT_RETENTION_MONTHS: u32 = 1;
pub const MAX_INACTIVE_CLIENT_RETENTION_MONTHS: u32 = 120;
/// Entries an `authinfo` allowlist may hold.
pub const MAX_ALLOWLIST_ENTRIES: usize = 100;

/// Caps on the codes sent in any hour (SMS pumping: an attacker who makes us text premium
/// numbers). Stored in the provider's policies; a field missing from stored JSON takes its
/// default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SmsSendLimits {
    /// Codes to one number.
    pub per_number_per_hour: u32,
    /// Codes for one account (whatever the number).
    pub per_account_per_hour: u32,
    /// Codes asked for from one IP address.
    pub per_ip_per_hour: u32,
}

impl Default for SmsSendLimits {
    fn default() -> Self {
        Self {
            per_number_per_hour: 5,
            per_account_per_hour: 10,
            per_ip_per_hour: 20,
        }
    }
}

/// Largest value of a cap.
pub const MAX_SEND_LIMIT: u32 = 10_000;

/// Stored as JSON in the providers row: a field missing from a row written before it existed
/// takes the value a new provider gets, and a field unknown here (written by a newer
/// version) is ignored. The API's request body is a type of its own that refuses typos.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProviderPolicies {
    /// Employees acting on this provider must use a second factor (NIST AAL2).
    pub admin_mfa_required: bool,
    /// Every user must use a second factor; passwords may then be as short as 8 characters.
    pub mfa_required_for_everyone: bool,
    /// Days an auth event is kept before the purge job deletes it.
    pub auth_log_retention_days: u32,
    /// Addresses and networks (CIDR) that may use `authinfo`; empty means any.
    pub authinfo_ip_allowlist: Vec<String>,
    /// Months without any activity after which the scheduled cleaning clears a client (GDPR
    /// Art. 5(1)(e)); `None`: never (the default).
    pub inactive_client_retention_months: Option<u32>,
    /// Caps on the SMS codes sent per hour (per number, per account, per IP address).
    pub sms_send_limits: SmsSendLimits,
    /// A Google sign-in whose ID token shows a second factor (`amr`, or `acr` in
    /// `idp_mfa_acr_values`) counts as one here: no challenge, and admin enforcement accepts
    /// the session (`mfa::idp_proves_second_factor`). Off: Google is a first factor.
    pub accept_idp_mfa: bool,
    /// `acr` values that count as a second factor when `accept_idp_mfa` is on.
    pub idp_mfa_acr_values: Vec<String>,
}

impl Default for ProviderPolicies {
    fn default() -> Self {
        Self {
            admin_mfa_required: true,
            mfa_required_for_everyone: false,
            auth_log_retention_days: 180,
            authinfo_ip_allowlist: Vec::new(),
            inactive_client_retention_months: None,
            sms_send_limits: SmsSendLimits::default(),
            accept_idp_mfa: false,
            idp_mfa_acr_values: Vec::new(),
        }
    }
}

impl ProviderPolicies {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let days = MIN_AUTH_LOG_RETENTION_DAYS..=MAX_AUTH_LOG_RETENTION_DAYS;
        if !days.contains(&self.auth_log_retention_days) {
            errors.add(
                "/auth_log_retention_days",
                format!("must be between {} and {}", days.start(), days.end()),
            );
        }
        let months = MIN_INACTIVE_CLIENT_RETENTION_MONTHS..=MAX_INACTIVE_CLIENT_RETENTION_MONTHS;
        if let Some(m) = self.inactive_client_retention_months
            && !months.contains(&m)
        {
            errors.add(
                "/inactive_client_retention_months",
                format!(
                    "must be between {} and {}, or null",
                    months.start(),
                    months.end()
                ),
            );
        }
        if self.authinfo_ip_allowlist.len() > MAX_ALLOWLIST_ENTRIES {
            errors.add(
                "/authinfo_ip_allowlist",
                format!("must hold at most {MAX_ALLOWLIST_ENTRIES} entries"),
            );
        }
        for (i, entry) in self.authinfo_ip_allowlist.iter().enumerate() {
            if parse_network(entry).is_none() {
                errors.add(
                    &format!("/authinfo_ip_allowlist/{i}"),
                    "must be an IP address or a network in CIDR form",
                );
            }
        }
        let limits = &self.sms_send_limits;
        for (field, value) in [
            ("per_number_per_hour", limits.per_number_per_hour),
            ("per_account_per_hour", limits.per_account_per_hour),
            ("per_ip_per_hour", limits.per_ip_per_hour),
        ] {
            if !(1..=MAX_SEND_LIMIT).contains(&value) {
                errors.add(
                    &format!("/sms_send_limits/{field}"),
                    format!("must be between 1 and {MAX_SEND_LIMIT}"),
                );
            }
        }
        check_acr_values(&self.idp_mfa_acr_values, "/idp_mfa_acr_values", &mut errors);
        errors.into_result()
    }

    /// Whether `ip` may use `authinfo`. An entry that does not parse allows nothing.
    pub fn authinfo_allows(&self, ip: std::net::IpAddr) -> bool {
        self.authinfo_ip_allowlist.is_empty()
            || self
                .authinfo_ip_allowlist
                .iter()
                .filter_map(|entry| parse_network(entry))
                .any(|net| net.contains(&ip))
    }
}

/// Most `acr` values a policy may accept, and their longest length.
pub const MAX_ACR_VALUES: usize = 20;
const MAX_ACR_LEN: usize = 255;

/// Checks the `acr` values a policy accepts as a second factor, at `pointer`.
pub fn check_acr_values(values: &[String], pointer: &str, errors: &mut ValidationErrors) {
    if values.len() > MAX_ACR_VALUES {
        errors.add(pointer, format!("at most {MAX_ACR_VALUES}"));
    }
    for (i, v) in values.iter().enumerate() {
        if v.trim().is_empty() || v.len() > MAX_ACR_LEN {
            errors.add(
                &format!("{pointer}/{i}"),
                format!("must be 1 to {MAX_ACR_LEN} characters"),
            );
        }
    }
}

fn parse_network(entry: &str) -> Option<ipnet::IpNet> {
    entry.parse::<ipnet::IpNet>().ok().or_else(|| {
        entry
            .parse::<std::net::IpAddr>()
            .ok()
            .map(ipnet::IpNet::from)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_allowlist(entries: &[&str]) -> ProviderPolicies {
        ProviderPolicies {
            authinfo_ip_allowlist: entries.iter().map(|s| s.to_string()).collect(),
            ..ProviderPolicies::default()
        }
    }

    #[test]
    fn allowlist_table() {
        let cases: &[(&[&str], &str, bool)] = &[
            (&[], "203.0.113.9", true),
            (&["203.0.113.0/24"], "203.0.113.9", true),
            (&["203.0.113.0/24"], "198.51.100.1", false),
            (&["198.51.100.1"], "198.51.100.1", true),
            (&["2001:db8::/32"], "2001:db8::1", true),
            (&["2001:db8::/32"], "127.0.0.1", false),
        ];
        for (entries, ip, expected) in cases {
            let policies = with_allowlist(entries);
            assert_eq!(
                policies.authinfo_allows(ip.parse().unwrap()),
                *expected,
                "{entries:?} {ip}"
            );
        }
    }

    #[test]
    fn stored_json_of_other_versions_reads() {
        // Older: no allowlist yet. Newer: a field this version does not know.
        let older = r#"{"admin_mfa_required": false, "mfa_required_for_everyone": true,
                        "auth_log_retention_days": 30}"#;
        let policies: ProviderPolicies = serde_json::from_str(older).unwrap();
        assert_eq!(
            policies,
            ProviderPolicies {
                admin_mfa_required: false,
                mfa_required_for_everyone: true,
                auth_log_retention_days: 30,
                authinfo_ip_allowlist: Vec::new(),
                inactive_client_retention_months: None,
                sms_send_limits: SmsSendLimits::default(),
                accept_idp_mfa: false,
                idp_mfa_acr_values: Vec::new(),
            }
        );
        let newer = r#"{"admin_mfa_required": true, "webauthn_only": true}"#;
        let policies: ProviderPolicies = serde_json::from_str(newer).unwrap();
        assert_eq!(policies, ProviderPolicies::default());
    }

    #[test]
    fn validation() {
        assert!(ProviderPolicies::default().validate().is_ok());
        let bad = ProviderPolicies {
            auth_log_retention_days: 0,
            sms_send_limits: SmsSendLimits {
                per_ip_per_hour: 0,
                ..SmsSendLimits::default()
            },
            ..with_allowlist(&["10.0.0.0/8", "not-an-ip", "10.0.0.0/33"])
        };
        let pointers: Vec<String> = bad
            .validate()
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.pointer)
            .collect();
        assert_eq!(
            pointers,
            [
                "/auth_log_retention_days",
                "/authinfo_ip_allowlist/1",
                "/authinfo_ip_allowlist/2",
                "/sms_send_limits/per_ip_per_hour"
            ]
        );
    }

    #[test]
    fn acr_values_are_checked() {
        let mut errors = ValidationErrors::new();
        let values = vec!["gold".to_owned(), " ".to_owned(), "x".repeat(256)];
        check_acr_values(&values, "/acr", &mut errors);
        let pointers: Vec<String> = errors.0.into_iter().map(|e| e.pointer).collect();
        assert_eq!(pointers, ["/acr/1", "/acr/2"]);
        let mut errors = ValidationErrors::new();
        check_acr_values(&vec!["a".to_owned(); 21], "/acr", &mut errors);
        assert_eq!(errors.0.len(), 1);
    }

    #[test]
    fn inactive_client_retention_bounds() {
        let table = [
            (None, true),
            (Some(0), false),
            (Some(1), true),
            (Some(24), true),
            (Some(120), true),
            (Some(121), false),
        ];
        for (months, ok) in table {
            let policies = ProviderPolicies {
                inactive_client_retention_months: months,
                ..ProviderPolicies::default()
            };
            assert_eq!(policies.validate().is_ok(), ok, "{months:?}");
        }
    }
}
