//! Second factors: TOTP secrets and codes (RFC 6238 via `totp-rs`), recovery codes, which
//! factors a person has, and the enforcement that keeps a session without a required
//! second factor to the enrollment routes (`domain::mfa::session_access`).

use actix_web::http::Method;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use domain::mfa::{
    RECOVERY_CODE_CHARS, RECOVERY_CODES, SessionAccess, TOTP_DIGITS, TOTP_SECRET_BYTES, TOTP_SKEW,
    TOTP_STEP_SECONDS, employee_needs_mfa, proves_second_factor, session_access,
    totp_candidate_steps,
};
use domain::model::Subject;
use domain::sign_in::SecondFactor;
use persistence::{EnrolledFactors, FactorFacts, Person, Store};
use totp_rs::{Algorithm, Secret, TOTP};

use super::client_info::ClientInfo;
use super::log::{Attempt, Reason, record};
use super::principal::{Credential, Principal, subject_claim};
use crate::problem::ApiError;
use crate::secrets::random_bytes;
use crate::settings::TotpSecretKey;
use crate::state::AppState;

/// A new TOTP secret, base32 without padding (what authenticator apps take).
pub fn new_totp_secret() -> String {
    base32_lower(&random_bytes::<TOTP_SECRET_BYTES>()).to_ascii_uppercase()
}

fn base32_lower(bytes: &[u8]) -> String {
    match Secret::Raw(bytes.to_vec()).to_encoded() {
        Secret::Encoded(text) => text.to_ascii_lowercase(),
        Secret::Raw(_) => unreachable!("to_encoded answers an encoded secret"),
    }
}

/// Marks a secret sealed with `TOTP_SECRET_KEY` (XChaCha20-Poly1305, base64 of nonce and
/// ciphertext); a stored secret without it is plain base32 (no key was configured).
const SEALED: &str = "sealed1:";

/// The stored form of `secret`: sealed when a key is configured, bound to `subject` (a
/// sealed secret copied onto another person's row does not open).
pub fn seal_secret(
    secret: &str,
    subject: Subject,
    key: Option<&TotpSecretKey>,
) -> Result<String, ApiError> {
    let Some(key) = key else {
        return Ok(secret.to_owned());
    };
    let nonce = random_bytes::<24>();
    let aad = subject_claim(subject);
    let sealed = XChaCha20Poly1305::new(&key.0.into())
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: secret.as_bytes(),
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| ApiError::internal("sealing a TOTP secret failed"))?;
    let mut bytes = nonce.to_vec();
    bytes.extend(sealed);
    Ok(format!("{SEALED}{}", STANDARD.encode(bytes)))
}

/// The secret of a stored form (`seal_secret`).
pub fn open_secret(
    stored: &str,
    subject: Subject,
    key: Option<&TotpSecretKey>,
) -> Result<String, ApiError> {
    let Some(sealed) = stored.strip_prefix(SEALED) else {
        return Ok(stored.to_owned());
    };
    let key = key.ok_or_else(|| {
        ApiError::internal("a TOTP secret is sealed, but TOTP_SECRET_KEY is not set")
    })?;
    let bytes = STANDARD
        .decode(sealed)
        .ok()
        .filter(|b| b.len() > 24)
        .ok_or_else(|| ApiError::internal("a sealed TOTP secret is malformed"))?;
    let (nonce, sealed) = bytes.split_at(24);
    let nonce = <[u8; 24]>::try_from(nonce).map_err(ApiError::internal)?;
    let aad = subject_claim(subject);
    let plain = XChaCha20Poly1305::new(&key.0.into())
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: sealed,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| ApiError::internal("a TOTP secret does not open with TOTP_SECRET_KEY"))?;
    String::from_utf8(plain).map_err(|_| ApiError::internal("a TOTP secret is not text"))
}

fn totp(secret: &str) -> Result<TOTP, ApiError> {
    let bytes = Secret::Encoded(secret.to_owned())
        .to_bytes()
        .map_err(|_| ApiError::internal("a stored TOTP secret is not base32"))?;
    Ok(TOTP::new_unchecked(
        Algorithm::SHA1,
        TOTP_DIGITS,
        TOTP_SKEW as u8,
        TOTP_STEP_SECONDS,
        bytes,
    ))
}

/// The time step whose code `code` is, within ±1 step of `now`; `None` when it matches
/// none (or is not six digits).
pub fn matching_step(
    secret: &str,
    code: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<u64>, ApiError> {
    if code.len() != TOTP_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let totp = totp(secret)?;
    let unix = u64::try_from(now.timestamp()).unwrap_or(0);
    Ok(totp_candidate_steps(unix).into_iter().rev().find(|step| {
        let expected = totp.generate(step * TOTP_STEP_SECONDS);
        constant_time_eq(expected.as_bytes(), code.as_bytes())
    }))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The `otpauth://` URI an authenticator app reads (Key Uri Format).
pub fn otpauth_uri(secret: &str, issuer: &str, account: &str) -> String {
    let (issuer, account) = (percent_encode(issuer), percent_encode(account));
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP_SECONDS}"
    )
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The URI as a QR code, an SVG document.
pub fn qr_svg(uri: &str) -> Result<String, ApiError> {
    let code = qrcode::QrCode::new(uri.as_bytes()).map_err(ApiError::internal)?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .build())
}

/// Ten new recovery codes, as the person sees them (`abcd-efgh-ijkl-mnop`).
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let code = base32_lower(&random_bytes::<10>());
            debug_assert_eq!(code.len(), RECOVERY_CODE_CHARS);
            domain::mfa::format_recovery_code(&code)
        })
        .collect()
}

/// The second factors `subject` has, on the caller's trip to the store: TOTP once
/// confirmed, SMS while a user's number is verified (verifying a number enrolls it;
/// employees have no number), recovery codes while some are unused.
pub fn enrolled_in(store: &Store, subject: Subject) -> Result<Vec<SecondFactor>, ApiError> {
    Ok(enrolled_list(store.enrolled_factors(subject)?))
}

/// `factor_list` of what the store read (`Store::enrolled_factors`, or with the account).
pub fn enrolled_list(enrolled: EnrolledFactors) -> Vec<SecondFactor> {
    factor_list(enrolled.totp, enrolled.sms, enrolled.recovery_codes_left)
}

/// The second factors of `enrolled_in`, from what is known of them.
pub fn factor_list(totp: bool, sms: bool, recovery_codes_left: i64) -> Vec<SecondFactor> {
    let mut factors = Vec::new();
    if totp {
        factors.push(SecondFactor::Totp);
    }
    if sms {
        factors.push(SecondFactor::Sms);
    }
    if recovery_codes_left > 0 {
        factors.push(SecondFactor::RecoveryCode);
    }
    factors
}

/// Whether policy requires a second factor of `person`: an employee with an admin
/// permission under some provider's `admin_mfa_required`; a user under their provider's
/// `mfa_required_for_everyone`.
pub fn mfa_required(person: &Person, facts: &FactorFacts) -> bool {
    match person {
        Person::User { provider, .. } => provider.policies.mfa_required_for_everyone,
        Person::Employee(e) => employee_needs_mfa(&e.roles, &facts.admin_mfa_policies),
    }
}

/// Routes a session that owes a second factor may still use: who am I, enrolling or
/// removing TOTP, recovery codes, setting a password (a new admin's first factor, or the
/// recovery with a one-time key), logout.
fn open_while_owing(method: &Method, path: &str) -> bool {
    let path = path.trim_end_matches('/');
    matches!(
        (method.as_str(), path),
        ("GET", "/api/v1/me")
            | ("POST", "/api/v1/me/password")
            | ("POST" | "DELETE", "/api/v1/me/totp")
            | ("POST", "/api/v1/me/totp/confirm")
            | ("POST", "/api/v1/me/recovery-codes")
            | ("POST", "/api/v1/auth/logout")
    )
}

/// What the second-factor rules allow a session: required by policy (an employee with an
/// admin permission under `admin_mfa_required`; a user under `mfa_required_for_everyone`),
/// a factor enrolled, and the session's `amr` showing one.
pub fn access_of(principal: &Principal) -> SessionAccess {
    let Credential::AccessToken { amr, factors, .. } = &principal.credential else {
        // API tokens are minted only from sessions the rules let through; authinfo is a
        // user's legacy path outside them.
        return SessionAccess::Full;
    };
    if proves_second_factor(amr) {
        return SessionAccess::Full;
    }
    session_access(factors.required, factors.totp || factors.sms, false)
}

/// Routes that enroll SMS as a second factor (verifying a number). Open only to a session
/// that has no factor yet: one that has a factor but did not prove it must not swap the
/// number a code would go to.
fn enrolls_sms(method: &Method, path: &str) -> bool {
    let path = path.trim_end_matches('/');
    method == Method::POST && matches!(path, "/api/v1/me/phone" | "/api/v1/me/phone/verify")
}

/// Refuses (and logs) a request of a session that owes a second factor, unless it goes to
/// a route that lets it pay.
pub async fn enforce(
    state: &AppState,
    principal: &Principal,
    method: &Method,
    path: &str,
    client: &ClientInfo,
) -> Result<(), ApiError> {
    let access = access_of(principal);
    if access == SessionAccess::Full
        || open_while_owing(method, path)
        || (access == SessionAccess::EnrollmentOnly && enrolls_sms(method, path))
    {
        return Ok(());
    }
    let (reason, error) = match access {
        SessionAccess::EnrollmentOnly => {
            (Reason::EnrollmentRequired, ApiError::MfaEnrollmentRequired)
        }
        _ => (Reason::SecondFactorMissing, ApiError::MfaRequired),
    };
    let attempt = Attempt::named(super::log::MFA, reason)
        .provider(principal.provider_id())
        .subject(Some(principal.subject()));
    record(state, attempt, client).await;
    Err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_of_the_rfc_test_vector() {
        // RFC 6238 appendix B, SHA-1, secret "12345678901234567890", T = 59 s: 94287082.
        let secret = base32_lower(b"12345678901234567890").to_ascii_uppercase();
        let totp = totp(&secret).unwrap();
        assert_eq!(totp.generate(59), "287082");
        let at = |s| chrono::DateTime::from_timestamp(s, 0).unwrap();
        assert_eq!(matching_step(&secret, "287082", at(59)).unwrap(), Some(1));
        assert_eq!(matching_step(&secret, "287082", at(89)).unwrap(), Some(1));
        assert_eq!(matching_step(&secret, "287082", at(90)).unwrap(), None);
        assert_eq!(matching_step(&secret, "28708", at(59)).unwrap(), None);
        assert_eq!(matching_step(&secret, "abcdef", at(59)).unwrap(), None);
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_subject() {
        let key = TotpSecretKey([7; 32]);
        let anna = Subject::user(uuid::Uuid::now_v7());
        let sealed = seal_secret("ABCDEF", anna, Some(&key)).unwrap();
        assert!(sealed.starts_with(SEALED) && !sealed.contains("ABCDEF"));
        assert_eq!(open_secret(&sealed, anna, Some(&key)).unwrap(), "ABCDEF");
        let other = Subject::user(uuid::Uuid::now_v7());
        assert!(open_secret(&sealed, other, Some(&key)).is_err());
        assert!(open_secret(&sealed, anna, Some(&TotpSecretKey([8; 32]))).is_err());
        assert!(open_secret(&sealed, anna, None).is_err());
        // Without a key, secrets are stored (and read) as they are.
        assert_eq!(seal_secret("ABCDEF", anna, None).unwrap(), "ABCDEF");
        assert_eq!(open_secret("ABCDEF", anna, Some(&key)).unwrap(), "ABCDEF");
    }

    #[test]
    fn recovery_codes_are_well_formed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        for code in &codes {
            assert!(
                domain::mfa::normalize_recovery_code(code).is_some(),
                "{code}"
            );
        }
    }

    #[test]
    fn uri_is_encoded() {
        let uri = otpauth_uri("ABC", "billing identity", "anna@example.com");
        assert_eq!(
            uri,
            "otpauth://totp/billing%20identity:anna%40example.com?secret=ABC&issuer=billing%20identity&algorithm=SHA1&digits=6&period=30"
        );
    }
}
