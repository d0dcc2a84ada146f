//! Transfers of personal data to processors (GDPR chapter V, Art. 44–49) and the register
//! of processors (Art. 28, 30): where each processor is, on which ground data may go there.
//!
//! The rule, for a provider (the exporter) in the EEA: data may go to a processor in the
//! EEA, or in a country with an EU adequacy decision, or under a recorded transfer
//! mechanism (standard contractual clauses, binding corporate rules, an Art. 49
//! derogation; the EU-US Data Privacy Framework only for the United States). A provider
//! outside the EEA is not bound by this EU rule, and the verdict says so.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ValidationErrors;
use crate::auth_method::{AuthMethod, AuthMethods};
use crate::country::CountryCode;
use crate::provider::text_enum;

/// Countries and territories with an EU adequacy decision (Art. 45), as of 2026-11-26: the
/// list of issue 9, which follows the European Commission's page "Adequacy decisions: how the
/// EU determines if a non-EU country has an adequate level of data protection"
/// (<https://commission.europa.eu/law/law-topic/data-protection/international-dimension-data-protection/adequacy-decisions_en>).
/// Written without network access on that date: compare it with that page before relying on
/// it, and move `ADEQUACY_CHECKED_ON` when you do.
/// Notes from the same page: Canada's covers commercial organisations (PIPEDA); the United
/// States' (decision 2023/1795) covers only organisations certified under the EU-US Data
/// Privacy Framework, so the United States is not here: it needs the mechanism `dpf`
/// (or SCCs, BCRs, Art. 49). The EEA members (EU 27, Iceland, Liechtenstein, Norway) are in
/// `country::EEA`. Review this table when the Commission adds or withdraws a decision.
pub const ADEQUACY_CHECKED_ON: &str = "2026-11-26";
const ADEQUACY: [&str; 14] = [
    "AD", // Andorra
    "AR", // Argentina
    "CA", // Canada (commercial organisations)
    "CH", // Switzerland
    "FO", // Faroe Islands
    "GB", // United Kingdom
    "GG", // Guernsey
    "IL", // Israel
    "IM", // Isle of Man
    "JE", // Jersey
    "JP", // Japan
    "KR", // Republic of Korea
    "NZ", // New Zealand
    "UY", // Uruguay
];

/// The one country whose adequacy decision depends on the organisation's certification.
const DPF_COUNTRY: &str = "US";

/// Whether `country` has an EU adequacy decision for every organisation in it.
pub fn has_adequacy(country: CountryCode) -> bool {
    ADEQUACY.contains(&country.as_str())
}

text_enum!(
    /// The ground on which personal data goes to a processor.
    TransferMechanism {
        Eea = "eea",
        Adequacy = "adequacy",
        Dpf = "dpf",
        Scc = "scc",
        Bcr = "bcr",
        Art49Derogation = "art49_derogation",
        None = "none",
    }
);

/// What the rule says about one processor for one provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    /// Why, in a sentence, whichever way it went.
    pub reason: String,
}

fn allowed(reason: String) -> Verdict {
    Verdict {
        allowed: true,
        reason,
    }
}

fn refused(reason: String) -> Verdict {
    Verdict {
        allowed: false,
        reason,
    }
}

/// May a provider in `jurisdiction` send personal data to a processor in `country` with
/// `mechanism` recorded? `None` as the jurisdiction asks the EU rule itself (an exporter
/// in the EEA): what the register shows for a processor on its own.
pub fn verdict(
    jurisdiction: Option<CountryCode>,
    country: CountryCode,
    mechanism: TransferMechanism,
) -> Verdict {
    use TransferMechanism as M;
    if let Some(j) = jurisdiction
        && !j.is_eea()
    {
        return allowed(format!(
            "the EU transfer rule binds providers in the EEA; {j} is not in the EEA"
        ));
    }
    if country.is_eea() {
        return allowed(format!("{country} is in the EEA"));
    }
    if has_adequacy(country) {
        return allowed(format!("{country} has an EU adequacy decision"));
    }
    let us = country.as_str() == DPF_COUNTRY;
    match mechanism {
        M::Scc => allowed("standard contractual clauses are recorded".into()),
        M::Bcr => allowed("binding corporate rules are recorded".into()),
        M::Art49Derogation => allowed("an Art. 49 derogation is recorded".into()),
        M::Dpf if us => allowed("the processor is certified under the EU-US DPF".into()),
        M::Dpf => refused(format!(
            "the EU-US Data Privacy Framework covers only the United States, not {country}"
        )),
        M::Eea => refused(format!("{country} is not in the EEA")),
        M::Adequacy if us => refused(
            "the United States' adequacy decision covers only DPF-certified organisations: \
             record dpf, scc, bcr or art49_derogation"
                .into(),
        ),
        M::Adequacy => refused(format!("{country} has no EU adequacy decision")),
        M::None => refused(format!(
            "{country} is outside the EEA without an EU adequacy decision and no transfer \
             mechanism is recorded"
        )),
    }
}

/// A processor in the register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processor {
    pub id: Uuid,
    pub name: String,
    pub purpose: String,
    pub country: CountryCode,
    pub mechanism: TransferMechanism,
    /// When the data processing agreement (Art. 28(3)) was signed; `None`: not yet.
    pub dpa_signed_on: Option<chrono::NaiveDate>,
    /// The sign-in methods that send data to it, sorted.
    pub auth_methods: Vec<AuthMethod>,
    /// The SMS gateways that send data to it, sorted.
    pub sms_gateway_ids: Vec<Uuid>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub version: i64,
}

impl Processor {
    pub fn verdict(&self, jurisdiction: Option<CountryCode>) -> Verdict {
        verdict(jurisdiction, self.country, self.mechanism)
    }
}

/// The processor a provider's Google sign-in sends data to, entered in the register when
/// Google is turned on and no processor is linked to it yet (GDPR Art. 30): Google LLC in the
/// United States under the EU-US Data Privacy Framework. Its DPA date is left empty for the
/// officer to record (the compliance report asks for it).
pub fn default_google_processor(id: Uuid, now: chrono::DateTime<chrono::Utc>) -> Processor {
    Processor {
        id,
        name: "Google LLC".into(),
        purpose: "Sign-in with Google (OpenID Connect)".into(),
        country: CountryCode::parse(DPF_COUNTRY).expect("a valid country code"),
        mechanism: TransferMechanism::Dpf,
        dpa_signed_on: None,
        auth_methods: vec![AuthMethod::Google],
        sms_gateway_ids: Vec::new(),
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

/// The switches that `after` turns on and `before` had off, each with the processors behind
/// its method that fail the rule for a provider in `jurisdiction`: one error per switch and
/// processor, at `/<method>/login` or `/<method>/registration`. A method's processors are
/// those linked to it, and for `phone` also those linked to a gateway in `phone_gateways`
/// (the gateways serving the provider). Switches already on are left to the compliance
/// report: an unrelated change must not be blocked by them.
pub fn refusals(
    jurisdiction: CountryCode,
    before: &AuthMethods,
    after: &AuthMethods,
    processors: &[Processor],
    phone_gateways: &[Uuid],
) -> ValidationErrors {
    let mut errors = ValidationErrors::new();
    for method in AuthMethod::ALL {
        let switches = [
            (
                "registration",
                !before.registration_enabled(*method) && after.registration_enabled(*method),
            ),
            (
                "login",
                !before.login_enabled(*method) && after.login_enabled(*method),
            ),
        ];
        for (switch, turned_on) in switches {
            if !turned_on {
                continue;
            }
            for p in processors.iter().filter(|p| {
                p.auth_methods.contains(method)
                    || (*method == AuthMethod::Phone
                        && p.sms_gateway_ids.iter().any(|g| phone_gateways.contains(g)))
            }) {
                let v = p.verdict(Some(jurisdiction));
                if !v.allowed {
                    errors.add(
                        &format!("/{method}/{switch}"),
                        format!(
                            "processor {} ({}) fails the transfer rule: {}",
                            p.name, p.id, v.reason
                        ),
                    );
                }
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cc(code: &str) -> CountryCode {
        CountryCode::parse(code).unwrap()
    }

    #[test]
    fn adequacy_table_holds_assigned_codes_outside_the_eea() {
        for code in ADEQUACY {
            let country = CountryCode::parse(code).unwrap();
            assert!(!country.is_eea(), "{code}");
        }
        assert!(!has_adequacy(cc(DPF_COUNTRY)));
    }

    #[test]
    fn jurisdiction_country_mechanism() {
        use TransferMechanism as M;
        // (jurisdiction, processor country, mechanism, allowed, a word of the reason)
        let cases: &[(Option<&str>, &str, TransferMechanism, bool, &str)] = &[
            // In the EEA: any mechanism, even none.
            (Some("DE"), "IE", M::None, true, "EEA"),
            (Some("DE"), "NO", M::Eea, true, "EEA"),
            (Some("FR"), "LI", M::Scc, true, "EEA"),
            (None, "IS", M::None, true, "EEA"),
            // Adequacy.
            (Some("DE"), "CH", M::None, true, "adequacy"),
            (Some("DE"), "GB", M::Adequacy, true, "adequacy"),
            (Some("DE"), "JP", M::Scc, true, "adequacy"),
            (Some("DE"), "KR", M::None, true, "adequacy"),
            (Some("DE"), "CA", M::Adequacy, true, "adequacy"),
            (Some("DE"), "UY", M::None, true, "adequacy"),
            (None, "NZ", M::None, true, "adequacy"),
            // The United States: DPF or another mechanism.
            (Some("DE"), "US", M::None, false, "no transfer mechanism"),
            (Some("DE"), "US", M::Dpf, true, "DPF"),
            (Some("DE"), "US", M::Scc, true, "contractual"),
            (Some("DE"), "US", M::Bcr, true, "corporate"),
            (Some("DE"), "US", M::Art49Derogation, true, "Art. 49"),
            (Some("DE"), "US", M::Adequacy, false, "DPF-certified"),
            (Some("DE"), "US", M::Eea, false, "not in the EEA"),
            (None, "US", M::None, false, "no transfer mechanism"),
            // Elsewhere: a recorded mechanism, never DPF.
            (Some("AT"), "IN", M::None, false, "no transfer mechanism"),
            (Some("AT"), "IN", M::Dpf, false, "only the United States"),
            (Some("AT"), "IN", M::Adequacy, false, "no EU adequacy"),
            (Some("AT"), "IN", M::Eea, false, "not in the EEA"),
            (Some("AT"), "IN", M::Scc, true, "contractual"),
            (Some("AT"), "RU", M::Bcr, true, "corporate"),
            (Some("NL"), "BR", M::Art49Derogation, true, "Art. 49"),
            (None, "CN", M::None, false, "no transfer mechanism"),
            // A provider outside the EEA is not bound by the EU rule.
            (
                Some("US"),
                "US",
                M::None,
                true,
                "binds providers in the EEA",
            ),
            (
                Some("CH"),
                "IN",
                M::None,
                true,
                "binds providers in the EEA",
            ),
            (Some("GB"), "CN", M::Dpf, true, "binds providers in the EEA"),
        ];
        for (jurisdiction, country, mechanism, expected, word) in cases {
            let v = verdict(jurisdiction.map(cc), cc(country), *mechanism);
            assert_eq!(
                v.allowed, *expected,
                "{jurisdiction:?} {country} {mechanism}: {}",
                v.reason
            );
            assert!(
                v.reason.contains(word),
                "{jurisdiction:?} {country} {mechanism}: {}",
                v.reason
            );
        }
    }

    fn processor(name: &str, country: &str, mechanism: TransferMechanism) -> Processor {
        Processor {
            id: Uuid::nil(),
            name: name.into(),
            purpose: String::new(),
            country: cc(country),
            mechanism,
            dpa_signed_on: None,
            auth_methods: Vec::new(),
            sms_gateway_ids: Vec::new(),
            created_at: chrono::DateTime::UNIX_EPOCH,
            updated_at: chrono::DateTime::UNIX_EPOCH,
            version: 1,
        }
    }

    #[test]
    fn refusals_name_the_switch_turned_on_and_the_processor() {
        use TransferMechanism as M;
        let gateway = Uuid::from_u128(7);
        let google = Processor {
            auth_methods: vec![AuthMethod::Google],
            ..processor("Google", "US", M::None)
        };
        let sms = Processor {
            sms_gateway_ids: vec![gateway],
            ..processor("Far SMS", "IN", M::None)
        };
        let swiss = Processor {
            auth_methods: vec![AuthMethod::Keycloak],
            ..processor("Swiss IdP", "CH", M::None)
        };
        let all = [google.clone(), sms.clone(), swiss];
        let off = AuthMethods::default();
        let mut on = AuthMethods::default();
        on.google.login = true;
        on.google.registration = true;
        on.phone.login = true;
        on.keycloak.login = true;
        let pointers = |j: &str, before: &AuthMethods, gateways: &[Uuid], ps: &[Processor]| {
            refusals(cc(j), before, &on, ps, gateways)
                .0
                .into_iter()
                .map(|e| e.pointer)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            pointers("DE", &off, &[gateway], &all),
            ["/phone/login", "/google/registration", "/google/login"]
        );
        // The gateway does not serve this provider.
        assert_eq!(
            pointers("DE", &off, &[], &all),
            ["/google/registration", "/google/login"]
        );
        // Already on: not a refusal here.
        assert!(pointers("DE", &on, &[gateway], &all).is_empty());
        // Outside the EEA the EU rule does not bind.
        assert!(pointers("US", &off, &[gateway], &all).is_empty());
        // Recorded mechanisms fix it.
        let fixed = [
            Processor {
                mechanism: M::Dpf,
                ..google
            },
            Processor {
                mechanism: M::Scc,
                ..sms
            },
        ];
        assert!(pointers("DE", &off, &[gateway], &fixed).is_empty());
        let detail = &refusals(cc("DE"), &off, &on, &all, &[gateway]).0[0].detail;
        assert!(
            detail.contains("Far SMS") && detail.contains("no transfer mechanism"),
            "{detail}"
        );
    }

    #[test]
    fn mechanisms_round_trip() {
        for m in TransferMechanism::ALL {
            assert_eq!(TransferMechanism::parse(m.as_str()), Some(*m));
        }
        assert_eq!(TransferMechanism::parse("SCC"), None);
    }
}
