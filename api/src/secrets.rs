//! Random secrets from the operating system's CSPRNG.

use domain::secret::{SECRET_BYTES, format_secret};

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The OS generator failing is not something a request can recover from.
    getrandom::fill(&mut bytes).expect("the operating system's random generator failed");
    bytes
}

/// A new secret with `prefix` and 256 random bits.
pub fn new_secret(prefix: &str) -> String {
    format_secret(prefix, &random_bytes::<SECRET_BYTES>())
}
