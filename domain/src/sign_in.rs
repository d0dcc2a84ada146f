//! A sign-in is a small state machine: a first factor (password, one-time key, phone code,
//! Google, Keycloak) proves who someone is; then either a session starts or a second factor
//! is due. The decision is made here, once, for every method.

use serde::{Deserialize, Serialize};

use crate::provider::text_enum;

text_enum!(
    /// A second factor a person can have enrolled.
    SecondFactor { Totp = "totp", Sms = "sms", RecoveryCode = "recovery_code" }
);

/// What a first factor leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInStep {
    /// Nothing more to prove: start the session.
    Session,
    /// Prove one of these before a session starts.
    SecondFactor(Vec<SecondFactor>),
}

/// What the rule needs to know about the policy in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SecondFactorPolicy {
    /// The first factor already was a second factor's proof: a staff-issued one-time key is
    /// the recovery path for a lost factor, so it does not ask for the factor it replaces.
    /// Its session's `amr` shows no second factor, so where one is required
    /// (`mfa::session_access`) it may only replace the factor before doing anything else.
    pub first_factor_is_recovery: bool,
    /// The first factor was a code texted to the verified number (phone sign-in): another
    /// text to the same phone proves nothing new, so SMS is not offered as the second one.
    pub first_factor_is_sms: bool,
}

/// After a successful first factor: a person with an enrolled second factor must prove one
/// (whatever the policy: an enrolled factor is never optional); recovery codes alone are
/// not a way in, they stand in for another factor. A factor the first one already proved
/// (SMS after a phone sign-in) is not offered; without another, the session starts, and
/// its `amr` shows no second factor (`mfa::session_access` decides what it may do).
pub fn after_first_factor(enrolled: &[SecondFactor], policy: SecondFactorPolicy) -> SignInStep {
    let offered: Vec<SecondFactor> = enrolled
        .iter()
        .copied()
        .filter(|f| !(policy.first_factor_is_sms && *f == SecondFactor::Sms))
        .collect();
    let has_factor = offered.iter().any(|f| *f != SecondFactor::RecoveryCode);
    if policy.first_factor_is_recovery || !has_factor {
        return SignInStep::Session;
    }
    let mut factors = offered;
    factors.sort();
    factors.dedup();
    SignInStep::SecondFactor(factors)
}

#[cfg(test)]
mod tests {
    use super::SecondFactor::*;
    use super::*;

    #[test]
    fn what_a_first_factor_leads_to() {
        let normal = SecondFactorPolicy::default();
        let recovery = SecondFactorPolicy {
            first_factor_is_recovery: true,
            ..normal
        };
        let by_phone = SecondFactorPolicy {
            first_factor_is_sms: true,
            ..normal
        };
        let table: Vec<(&[SecondFactor], SecondFactorPolicy, SignInStep)> = vec![
            (&[], normal, SignInStep::Session),
            (&[Totp], normal, SignInStep::SecondFactor(vec![Totp])),
            (
                &[Sms, Totp],
                normal,
                SignInStep::SecondFactor(vec![Totp, Sms]),
            ),
            (
                &[RecoveryCode, Totp],
                normal,
                SignInStep::SecondFactor(vec![Totp, RecoveryCode]),
            ),
            (&[RecoveryCode], normal, SignInStep::Session),
            (&[Totp, Totp], normal, SignInStep::SecondFactor(vec![Totp])),
            (&[Totp], recovery, SignInStep::Session),
            (&[Sms], normal, SignInStep::SecondFactor(vec![Sms])),
            (
                &[Sms, RecoveryCode],
                normal,
                SignInStep::SecondFactor(vec![Sms, RecoveryCode]),
            ),
            (&[Sms], by_phone, SignInStep::Session),
            (&[Sms, RecoveryCode], by_phone, SignInStep::Session),
            (
                &[Sms, Totp, RecoveryCode],
                by_phone,
                SignInStep::SecondFactor(vec![Totp, RecoveryCode]),
            ),
            (&[Sms, Totp], recovery, SignInStep::Session),
        ];
        for (i, (enrolled, policy, expected)) in table.into_iter().enumerate() {
            assert_eq!(after_first_factor(enrolled, policy), expected, "row {i}");
        }
    }
}
