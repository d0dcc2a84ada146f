//! One-time secrets (temporary keys, refresh tokens, API tokens) are random strings with a
//! recognisable prefix, kept only as SHA-256: a leaked table does not let anyone sign in.

use sha2::{Digest, Sha256};

/// Prefix of a one-time temporary key.
pub const TEMPORARY_KEY_PREFIX: &str = "bitk_";
/// Prefix of a refresh token.
pub const REFRESH_TOKEN_PREFIX: &str = "birt_";
/// Prefix of an API token; lets `Authorization: Bearer` tell it from an access token (a JWT).
pub const API_TOKEN_PREFIX: &str = "biat_";
/// A re-consent ticket of a sign-in (`consent_required`).
pub const CONSENT_TOKEN_PREFIX: &str = "bict_";

/// Random bytes in each secret: 256 bits, above the 128 the rules ask for.
pub const SECRET_BYTES: usize = 32;

/// The stored form of a secret.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Builds a secret from random bytes the caller drew from a CSPRNG.
pub fn format_secret(prefix: &str, random: &[u8; SECRET_BYTES]) -> String {
    format!("{prefix}{}", hex::encode(random))
}

/// True when `value` has the shape of a secret with `prefix`: cheap to check before any
/// database work, and keeps arbitrary input out of queries.
pub fn looks_like(prefix: &str, value: &str) -> bool {
    value.strip_prefix(prefix).is_some_and(|rest| {
        rest.len() == SECRET_BYTES * 2 && rest.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_and_shape() {
        let secret = format_secret(API_TOKEN_PREFIX, &[0xab; SECRET_BYTES]);
        assert!(secret.starts_with("biat_abab"));
        assert!(looks_like(API_TOKEN_PREFIX, &secret));
        assert!(!looks_like(REFRESH_TOKEN_PREFIX, &secret));
        assert!(!looks_like(API_TOKEN_PREFIX, "biat_short"));
        assert!(!looks_like(API_TOKEN_PREFIX, &format!("{secret}0")));
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
