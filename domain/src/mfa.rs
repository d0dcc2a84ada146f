//! Second factors: how a session was authenticated (`amr`, RFC 8176), the TOTP time steps
//! a code may match, recovery codes, and who must use a second factor (admin enforcement).

use crate::auth_method::AuthMethod;
use crate::permission::{Permission, Role, roles_grant};
use crate::sign_in::SecondFactor;

/// TOTP (RFC 6238) as authenticator apps expect it: 6 digits, 30-second steps, SHA-1.
pub const TOTP_DIGITS: usize = 6;
pub const TOTP_STEP_SECONDS: u64 = 30;
/// Steps either side of now a code may come from (clock drift, typing time).
pub const TOTP_SKEW: u64 = 1;
/// Bytes of a TOTP secret: 160 bits, RFC 4226's recommendation for SHA-1.
pub const TOTP_SECRET_BYTES: usize = 20;

/// How long a sign-in challenge waits for its second factor.
pub const CHALLENGE_TTL_SECONDS: i64 = 5 * 60;
/// How recently a session must have been started for it to count as a fresh first factor
/// (removing a factor without retyping a password).
pub const FRESH_SESSION_SECONDS: i64 = 10 * 60;

/// Recovery codes handed out at once; renewing replaces them all.
pub const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code (base32, 5 bits each: 80 bits, so SHA-256 storage holds).
pub const RECOVERY_CODE_CHARS: usize = 16;

/// `amr` values (RFC 8176, and two of our own where it has none).
pub const AMR_PASSWORD: &str = "pwd";
pub const AMR_OTP: &str = "otp";
pub const AMR_SMS: &str = "sms";
pub const AMR_MFA: &str = "mfa";
/// A one-time login key (not registered in RFC 8176, which allows others).
pub const AMR_ONE_TIME_KEY: &str = "otk";
/// A recovery code standing in for a second factor (not registered in RFC 8176).
pub const AMR_RECOVERY_CODE: &str = "rcc";
/// A federated sign-in (Google, Keycloak); not registered in RFC 8176.
pub const AMR_FEDERATED: &str = "fed";

/// The `amr` of a session that only a first factor started.
pub fn first_factor_amr(method: AuthMethod) -> Vec<String> {
    let value = match method {
        AuthMethod::Password | AuthMethod::Authinfo | AuthMethod::ApiToken => AMR_PASSWORD,
        AuthMethod::TemporaryKey => AMR_ONE_TIME_KEY,
        AuthMethod::Phone => AMR_SMS,
        AuthMethod::Google | AuthMethod::Keycloak => AMR_FEDERATED,
    };
    vec![value.to_owned()]
}

/// The `amr` once `factor` was proven on top of `amr`: the factor's value and `mfa`, each
/// once.
pub fn with_second_factor(amr: &[String], factor: SecondFactor) -> Vec<String> {
    let value = match factor {
        SecondFactor::Totp => AMR_OTP,
        SecondFactor::Sms => AMR_SMS,
        SecondFactor::RecoveryCode => AMR_RECOVERY_CODE,
    };
    let mut out = amr.to_vec();
    for v in [value, AMR_MFA] {
        if !out.iter().any(|x| x == v) {
            out.push(v.to_owned());
        }
    }
    out
}

/// Whether a session's `amr` shows a second factor.
pub fn proves_second_factor(amr: &[String]) -> bool {
    amr.iter().any(|v| v == AMR_MFA)
}

/// `amr` as stored: space-separated, like OAuth scopes.
pub fn amr_to_text(amr: &[String]) -> String {
    amr.join(" ")
}

pub fn amr_from_text(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// Which kind of factor an RFC 8176 `amr` value proves: something known, held or inherent.
/// Values that prove no factor of their own (`user`, `geo`, `rba`, `wia`, `mca`, `mfa`,
/// our `fed`…) have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum FactorKind {
    Knowledge,
    Possession,
    Inherence,
}

fn factor_kind(amr: &str) -> Option<FactorKind> {
    match amr {
        "pwd" | "pin" | "kba" => Some(FactorKind::Knowledge),
        "otp" | "hwk" | "swk" | "sms" | "tel" | "sc" => Some(FactorKind::Possession),
        "fpt" | "face" | "iris" | "retina" | "vbm" => Some(FactorKind::Inherence),
        _ => None,
    }
}

/// Whether an identity provider's sign-in counts as a second factor here, for a policy that
/// accepts it (`accept`, off by default): the ID token's `amr` says `mfa`, or names factors
/// of two different kinds (RFC 8176: `pwd` + `otp`, `hwk` + `pin`, `swk` + `fpt`…; two of
/// one kind, such as `otp` + `sms`, are one factor), or its `acr` is one of `acr_values`.
/// A possession value alone (`otp`, `hwk`) is not enough: a one-time link is `otp` too.
pub fn idp_proves_second_factor(
    accept: bool,
    acr_values: &[String],
    amr: &[String],
    acr: Option<&str>,
) -> bool {
    if !accept {
        return false;
    }
    let kinds: std::collections::BTreeSet<FactorKind> =
        amr.iter().filter_map(|v| factor_kind(v)).collect();
    amr.iter().any(|v| v == AMR_MFA)
        || kinds.len() >= 2
        || acr.is_some_and(|acr| acr_values.iter().any(|v| v == acr))
}

/// The `amr` of a session an identity provider's sign-in started with a second factor that
/// the policy accepts: federated, multi-factor.
pub fn idp_second_factor_amr() -> Vec<String> {
    vec![AMR_FEDERATED.to_owned(), AMR_MFA.to_owned()]
}

/// The time steps a TOTP code typed at `unix_seconds` may come from, oldest first.
pub fn totp_candidate_steps(unix_seconds: u64) -> Vec<u64> {
    let now = unix_seconds / TOTP_STEP_SECONDS;
    (now.saturating_sub(TOTP_SKEW)..=now + TOTP_SKEW).collect()
}

/// A code of `step` counts only when it is newer than the last one used: a code cannot be
/// replayed inside its window, nor an older one after a newer.
pub fn totp_step_is_fresh(step: u64, last_used: Option<u64>) -> bool {
    last_used.is_none_or(|last| step > last)
}

/// A recovery code as typed, made comparable: lower case, without dashes and spaces.
/// `None` when it cannot be one of ours.
pub fn normalize_recovery_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let ok = code.len() == RECOVERY_CODE_CHARS
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b));
    ok.then_some(code)
}

/// A recovery code as shown: groups of four (`abcd-efgh-ijkl-mnop`).
pub fn format_recovery_code(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// Permissions that administer the installation or reach into others' accounts: whoever
/// holds one is an admin in the sense of the `admin_mfa_required` policy (NIST AAL2).
pub const ADMIN_PERMISSIONS: &[Permission] = &[
    Permission::ProvidersWrite,
    Permission::EmployeesWrite,
    Permission::TemporaryKeysIssue,
    Permission::SmsGatewaysWrite,
    Permission::ModulesWrite,
    Permission::ClientsClearData,
    Permission::ProcessorsWrite,
];

/// Whether an employee with `roles` must use a second factor. `admin_mfa_required` holds
/// each policy of the providers the employee can reach; none (no provider yet, or none in
/// scope) means a new provider's default, which requires it.
pub fn employee_needs_mfa(roles: &[Role], admin_mfa_required: &[bool]) -> bool {
    let admin = ADMIN_PERMISSIONS.iter().any(|p| roles_grant(roles, *p));
    admin && (admin_mfa_required.is_empty() || admin_mfa_required.iter().any(|r| *r))
}

/// What a signed-in session may do, given the second-factor rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionAccess {
    Full,
    /// A second factor is required and none is enrolled: only enrolling one is allowed.
    EnrollmentOnly,
    /// A second factor is required and enrolled, but this session did not prove it.
    SecondFactorMissing,
}

/// The decision for a session: `required` by policy, a factor `enrolled`, and the
/// session's `amr` showing one (`proven`).
pub fn session_access(required: bool, enrolled: bool, proven: bool) -> SessionAccess {
    match (required, enrolled, proven) {
        (false, _, _) | (true, _, true) => SessionAccess::Full,
        (true, false, false) => SessionAccess::EnrollmentOnly,
        (true, true, false) => SessionAccess::SecondFactorMissing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_must_use_a_second_factor() {
        use Role::*;
        let cases: &[(&[Role], &[bool], bool)] = &[
            (&[Admin], &[], true),
            (&[Admin], &[true], true),
            (&[Admin], &[false], false),
            (&[Admin], &[false, true], true),
            (&[Admin], &[false, false], false),
            (&[Support], &[true], true),
            (&[Dpo], &[true], true),
            (&[Billing], &[true], false),
            (&[Billing], &[], false),
            (&[], &[true], false),
            (&[Billing, Dpo], &[true], true),
        ];
        for (roles, policies, expected) in cases {
            assert_eq!(
                employee_needs_mfa(roles, policies),
                *expected,
                "{roles:?} {policies:?}"
            );
        }
    }

    #[test]
    fn session_access_table() {
        use SessionAccess::*;
        let cases = [
            ((false, false, false), Full),
            ((false, true, false), Full),
            ((false, true, true), Full),
            ((true, false, false), EnrollmentOnly),
            ((true, true, false), SecondFactorMissing),
            ((true, true, true), Full),
            ((true, false, true), Full),
        ];
        for ((required, enrolled, proven), expected) in cases {
            assert_eq!(
                session_access(required, enrolled, proven),
                expected,
                "{required} {enrolled} {proven}"
            );
        }
    }

    #[test]
    fn identity_provider_second_factor() {
        let acr = ["gold".to_owned()];
        let cases: &[(bool, &[&str], Option<&str>, bool)] = &[
            (false, &["mfa"], None, false),
            (false, &["pwd", "otp"], Some("gold"), false),
            (true, &[], None, false),
            (true, &["mfa"], None, true),
            (true, &["pwd"], None, false),
            (true, &["otp"], None, false),
            (true, &["hwk"], None, false),
            (true, &["pwd", "otp"], None, true),
            (true, &["pwd", "hwk"], None, true),
            (true, &["swk", "pin"], None, true),
            (true, &["hwk", "fpt"], None, true),
            (true, &["face", "pwd"], None, true),
            (true, &["otp", "sms"], None, false),
            (true, &["pwd", "kba"], None, false),
            (true, &["hwk", "user"], None, false),
            (true, &["pwd", "geo", "rba"], None, false),
            (true, &["fed", "pwd"], None, false),
            (true, &["pwd"], Some("gold"), true),
            (true, &[], Some("silver"), false),
            (true, &[], Some("GOLD"), false),
        ];
        for (accept, amr, given_acr, expected) in cases {
            let amr: Vec<String> = amr.iter().map(|s| (*s).to_owned()).collect();
            assert_eq!(
                idp_proves_second_factor(*accept, &acr, &amr, *given_acr),
                *expected,
                "{accept} {amr:?} {given_acr:?}"
            );
        }
        assert!(proves_second_factor(&idp_second_factor_amr()));
    }

    #[test]
    fn totp_steps() {
        assert_eq!(totp_candidate_steps(90), vec![2, 3, 4]);
        assert_eq!(totp_candidate_steps(10), vec![0, 1]);
        let cases = [
            (5, None, true),
            (5, Some(4), true),
            (5, Some(5), false),
            (4, Some(5), false),
        ];
        for (step, last, expected) in cases {
            assert_eq!(totp_step_is_fresh(step, last), expected, "{step} {last:?}");
        }
    }

    #[test]
    fn amr() {
        let first = first_factor_amr(AuthMethod::Password);
        assert_eq!(first, ["pwd"]);
        assert!(!proves_second_factor(&first));
        let both = with_second_factor(&first, SecondFactor::Totp);
        assert_eq!(both, ["pwd", "otp", "mfa"]);
        assert!(proves_second_factor(&both));
        assert_eq!(
            with_second_factor(&both, SecondFactor::Totp),
            ["pwd", "otp", "mfa"]
        );
        assert_eq!(amr_from_text(&amr_to_text(&both)), both);
        assert_eq!(first_factor_amr(AuthMethod::TemporaryKey), ["otk"]);
    }

    #[test]
    fn recovery_codes() {
        let cases = [
            ("abcd-efgh-ijkl-mn23", Some("abcdefghijklmn23")),
            ("ABCD EFGH IJKL MN23", Some("abcdefghijklmn23")),
            ("abcdefghijklmn23", Some("abcdefghijklmn23")),
            ("abcd-efgh-ijkl-mn2", None),
            ("abcd-efgh-ijkl-mn01", None),
            ("", None),
        ];
        for (typed, expected) in cases {
            assert_eq!(
                normalize_recovery_code(typed).as_deref(),
                expected,
                "{typed}"
            );
        }
        assert_eq!(
            format_recovery_code("abcdefghijklmn23"),
            "abcd-efgh-ijkl-mn23"
        );
    }
}
