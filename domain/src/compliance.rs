//! The compliance report of a provider: one finding per broken or risky rule, each with a
//! severity and the rule it comes from. An empty report means compliant. Pure: the route
//! gathers the facts, this decides.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth_method::{AuthMethod, AuthMethods};
use crate::country::CountryCode;
use crate::policy::ProviderPolicies;
use crate::provider::text_enum;
use crate::transfer::Processor;

text_enum!(
    /// How much a finding matters: `high` breaks a rule, `medium` is a gap a supervisor
    /// would ask about, `low` is a missing safeguard.
    Severity { High = "high", Medium = "medium", Low = "low" }
);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Stable, for frontends and scripts (`admin_mfa_not_enforced`, …).
    pub code: &'static str,
    pub severity: Severity,
    /// The rule it comes from.
    pub rule: &'static str,
    /// What is wrong here, in a sentence.
    pub detail: String,
}

/// What the report is made from.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub jurisdiction: CountryCode,
    pub methods: &'a AuthMethods,
    pub policies: &'a ProviderPolicies,
    /// The whole register.
    pub processors: &'a [Processor],
    /// The SMS gateways serving the provider.
    pub phone_gateways: &'a [Uuid],
    pub gdpr_module_installed: bool,
    /// Must-agree consent documents shown on registration; `None` where the service does not
    /// know (no consent documents feature).
    pub registration_consent_documents: Option<usize>,
}

/// Every code a finding can have (the contract's enum); `finding` checks it in debug builds,
/// so a rule added with a new code and not listed here fails the table test.
pub const FINDING_CODES: [&str; 10] = [
    "admin_mfa_not_enforced",
    "authinfo_without_allowlist",
    "consent_documents_missing",
    "processor_transfer_refused",
    "processor_without_dpa",
    "processor_not_registered",
    "sms_only_second_factor_possible",
    "auth_log_retention_long",
    "no_inactive_client_retention",
    "gdpr_cleanup_not_installed",
];

fn finding(code: &'static str, severity: Severity, rule: &'static str, detail: String) -> Finding {
    debug_assert!(
        FINDING_CODES.contains(&code),
        "{code} is missing from FINDING_CODES"
    );
    Finding {
        code,
        severity,
        rule,
        detail,
    }
}

fn method_on(methods: &AuthMethods, method: AuthMethod) -> bool {
    methods.login_enabled(method) || methods.registration_enabled(method)
}

/// The processors that receive data when `method` is used at this provider.
fn processors_of<'p>(facts: &Facts<'p>, method: AuthMethod) -> Vec<&'p Processor> {
    facts
        .processors
        .iter()
        .filter(|p| {
            p.auth_methods.contains(&method)
                || (method == AuthMethod::Phone
                    && p.sms_gateway_ids
                        .iter()
                        .any(|g| facts.phone_gateways.contains(g)))
        })
        .collect()
}

/// Every finding for one provider, most severe first.
pub fn findings(facts: &Facts<'_>) -> Vec<Finding> {
    use Severity::*;
    let p = facts.policies;
    let mut out = Vec::new();
    if !p.admin_mfa_required {
        out.push(finding(
            "admin_mfa_not_enforced",
            High,
            "NIST SP 800-63B AAL2 for administrators; GDPR Art. 32",
            "employees acting on this provider may sign in without a second factor".into(),
        ));
    }
    if method_on(facts.methods, AuthMethod::Authinfo) && p.authinfo_ip_allowlist.is_empty() {
        out.push(finding(
            "authinfo_without_allowlist",
            High,
            "OWASP ASVS 5.0 6.3; GDPR Art. 32",
            "authinfo (login and password on every request) is on without an IP allowlist".into(),
        ));
    }
    let any_registration = AuthMethod::ALL
        .iter()
        .any(|m| facts.methods.registration_enabled(*m));
    if any_registration && facts.registration_consent_documents == Some(0) {
        out.push(finding(
            "consent_documents_missing",
            High,
            "GDPR Art. 7(1), Art. 13",
            "registration is on, but no must-agree document (privacy policy, user agreement) is shown on it".into(),
        ));
    }
    for method in AuthMethod::ALL.iter().copied() {
        if !method_on(facts.methods, method) {
            continue;
        }
        for processor in processors_of(facts, method) {
            let verdict = processor.verdict(Some(facts.jurisdiction));
            if !verdict.allowed {
                out.push(finding(
                    "processor_transfer_refused",
                    High,
                    "GDPR Art. 44-46 (transfers to third countries)",
                    format!(
                        "{method} sends data to processor {} ({}): {}",
                        processor.name, processor.id, verdict.reason
                    ),
                ));
            }
            if processor.dpa_signed_on.is_none() {
                out.push(finding(
                    "processor_without_dpa",
                    Medium,
                    "GDPR Art. 28(3)",
                    format!(
                        "{method} sends data to processor {} ({}), which has no signed data processing agreement on record",
                        processor.name, processor.id
                    ),
                ));
            }
        }
    }
    for method in [AuthMethod::Google, AuthMethod::Phone] {
        if method_on(facts.methods, method) && processors_of(facts, method).is_empty() {
            out.push(finding(
                "processor_not_registered",
                Medium,
                "GDPR Art. 30 (records of processing)",
                format!("{method} is on, but no processor in the register is linked to it"),
            ));
        }
    }
    if method_on(facts.methods, AuthMethod::Phone) && !p.mfa_required_for_everyone {
        out.push(finding(
            "sms_only_second_factor_possible",
            Low,
            "NIST SP 800-63B 3.1.3.3 (SMS is a restricted authenticator)",
            "phone sign-in is on: users may rely on SMS alone; offer TOTP and require it where risk is high".into(),
        ));
    }
    if p.auth_log_retention_days > 365 {
        out.push(finding(
            "auth_log_retention_long",
            Low,
            "GDPR Art. 5(1)(e) (storage limitation)",
            format!(
                "auth events are kept {} days; a year is usually enough to investigate an incident",
                p.auth_log_retention_days
            ),
        ));
    }
    if p.inactive_client_retention_months.is_none() {
        out.push(finding(
            "no_inactive_client_retention",
            Low,
            "GDPR Art. 5(1)(e) (storage limitation)",
            "inactive clients are kept forever: set inactive_client_retention_months".into(),
        ));
    }
    if !facts.gdpr_module_installed {
        out.push(finding(
            "gdpr_cleanup_not_installed",
            Low,
            "GDPR Art. 17 (erasure)",
            "the GDPR client data cleaning module is not installed: erasure requests cannot be carried out through the API".into(),
        ));
    }
    out.sort_by_key(|f| match f.severity {
        High => 0,
        Medium => 1,
        Low => 2,
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::TransferMechanism;

    fn processor(
        country: &str,
        mechanism: TransferMechanism,
        dpa: bool,
        methods: &[AuthMethod],
    ) -> Processor {
        let now = chrono::Utc::now();
        Processor {
            id: Uuid::from_u128(1),
            name: "SMS Corp".into(),
            purpose: "sending codes".into(),
            country: CountryCode::parse(country).unwrap(),
            mechanism,
            dpa_signed_on: dpa.then(|| chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()),
            auth_methods: methods.to_vec(),
            sms_gateway_ids: Vec::new(),
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    fn codes(facts: &Facts<'_>) -> Vec<&'static str> {
        findings(facts).into_iter().map(|f| f.code).collect()
    }

    #[test]
    fn findings_table() {
        let de = CountryCode::parse("DE").unwrap();
        let compliant = ProviderPolicies {
            inactive_client_retention_months: Some(36),
            ..ProviderPolicies::default()
        };
        let default_methods = AuthMethods::default();
        let mut google_on = AuthMethods::default();
        google_on.google.login = true;
        let mut authinfo_on = AuthMethods::default();
        authinfo_on.authinfo.login = true;
        let mut phone_on = AuthMethods::default();
        phone_on.phone.login = true;
        let us_none = [processor(
            "US",
            TransferMechanism::None,
            true,
            &[AuthMethod::Google],
        )];
        let us_dpf_no_dpa = [processor(
            "US",
            TransferMechanism::Dpf,
            false,
            &[AuthMethod::Google],
        )];
        let lax = ProviderPolicies {
            admin_mfa_required: false,
            auth_log_retention_days: 800,
            ..ProviderPolicies::default()
        };
        let none: &[Processor] = &[];
        let defaults = ProviderPolicies::default();
        let base = |methods, policies, processors, module, docs| Facts {
            jurisdiction: de,
            methods,
            policies,
            processors,
            phone_gateways: &[],
            gdpr_module_installed: module,
            registration_consent_documents: docs,
        };
        let table: Vec<(Facts<'_>, Vec<&str>)> = vec![
            (
                base(&default_methods, &compliant, none, true, Some(1)),
                vec![],
            ),
            (base(&default_methods, &compliant, none, true, None), vec![]),
            (
                base(&default_methods, &compliant, none, true, Some(0)),
                vec!["consent_documents_missing"],
            ),
            (
                base(&default_methods, &defaults, none, false, Some(1)),
                vec!["no_inactive_client_retention", "gdpr_cleanup_not_installed"],
            ),
            (
                base(&default_methods, &lax, none, true, Some(1)),
                vec![
                    "admin_mfa_not_enforced",
                    "auth_log_retention_long",
                    "no_inactive_client_retention",
                ],
            ),
            (
                base(&authinfo_on, &compliant, none, true, Some(1)),
                vec!["authinfo_without_allowlist"],
            ),
            (
                base(&google_on, &compliant, &us_none, true, Some(1)),
                vec!["processor_transfer_refused"],
            ),
            (
                base(&google_on, &compliant, &us_dpf_no_dpa, true, Some(1)),
                vec!["processor_without_dpa"],
            ),
            (
                base(&google_on, &compliant, none, true, Some(1)),
                vec!["processor_not_registered"],
            ),
            (
                base(&phone_on, &compliant, none, true, Some(1)),
                vec![
                    "processor_not_registered",
                    "sms_only_second_factor_possible",
                ],
            ),
        ];
        for (facts, expected) in table {
            assert_eq!(codes(&facts), expected, "{facts:?}");
        }
    }
}
