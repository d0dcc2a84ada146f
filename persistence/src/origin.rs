//! Where a user's auth event came from (address and user agent), sealed under a key of that
//! user's own (`users.origin_key`). The key is stored beside the data, so sealing hides
//! nothing from whoever can read the database; what it buys is erasure in one row: a
//! clearing destroys the key (Art. 17) instead of rewriting each of the user's events while
//! every other writer waits. Events sealed under a destroyed key can never be opened again;
//! a sweep after the clearing sets them to NULL as well.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// Marks the stored form, so that a later scheme can be told apart.
const PREFIX: &str = "origin1:";
const NONCE_BYTES: usize = 24;
/// `users.origin_key` of a user whose key a clearing destroyed: nothing is sealed for them
/// again, and no origin is recorded for them any more.
pub const DESTROYED: &str = "";

/// A user's origin key.
#[derive(Clone)]
pub struct OriginKey([u8; 32]);

impl OriginKey {
    /// A new random key in its stored form (hex).
    pub fn generate() -> String {
        let mut key = [0u8; 32];
        // The OS generator failing is not something a request can recover from.
        getrandom::fill(&mut key).expect("the operating system's random generator failed");
        hex::encode(key)
    }

    /// The key of a stored `origin_key`; `None` for a destroyed or malformed one.
    pub fn parse(stored: &str) -> Option<OriginKey> {
        let bytes = hex::decode(stored).ok()?;
        Some(OriginKey(bytes.try_into().ok()?))
    }

    /// The sealed form of an event's origin. `event_id` is bound in, so a sealed origin
    /// copied onto another event does not open.
    pub fn seal(&self, event_id: &str, ip: Option<&str>, user_agent: Option<&str>) -> String {
        let plain = serde_json::to_vec(&(ip, user_agent)).expect("two strings serialize");
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).expect("the operating system's random generator failed");
        let sealed = XChaCha20Poly1305::new(&self.0.into())
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &plain,
                    aad: event_id.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 seals any length a request carries");
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        format!("{PREFIX}{}", STANDARD_NO_PAD.encode(bytes))
    }

    /// The address and user agent of a sealed origin; `None` when it does not open with
    /// this key for this event.
    pub fn open(&self, event_id: &str, stored: &str) -> Option<Origin> {
        let bytes = STANDARD_NO_PAD.decode(stored.strip_prefix(PREFIX)?).ok()?;
        if bytes.len() < NONCE_BYTES {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let nonce = <[u8; NONCE_BYTES]>::try_from(nonce).ok()?;
        let plain = XChaCha20Poly1305::new(&self.0.into())
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: event_id.as_bytes(),
                },
            )
            .ok()?;
        serde_json::from_slice(&plain).ok()
    }
}

/// An event's address and user agent.
pub type Origin = (Option<String>, Option<String>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_origin_opens_only_with_its_key_and_event() {
        let key = OriginKey::parse(&OriginKey::generate()).unwrap();
        let other = OriginKey::parse(&OriginKey::generate()).unwrap();
        let sealed = key.seal("event-1", Some("198.51.100.7"), Some("Agent/1"));
        assert!(!sealed.contains("198.51.100.7"));
        assert!(!sealed.contains("Agent/1"));
        let cases: [(&OriginKey, &str, Option<Origin>); 3] = [
            (
                &key,
                "event-1",
                Some((Some("198.51.100.7".into()), Some("Agent/1".into()))),
            ),
            (&other, "event-1", None),
            (&key, "event-2", None),
        ];
        for (k, event, expected) in cases {
            assert_eq!(k.open(event, &sealed), expected, "{event}");
        }
        // Two seals of the same origin differ (random nonce).
        assert_ne!(
            sealed,
            key.seal("event-1", Some("198.51.100.7"), Some("Agent/1"))
        );
        assert_eq!(
            key.open("e", &key.seal("e", None, Some("Agent/1"))),
            Some((None, Some("Agent/1".into())))
        );
    }

    #[test]
    fn destroyed_and_malformed_keys_and_origins_open_nothing() {
        assert!(OriginKey::parse(DESTROYED).is_none());
        assert!(OriginKey::parse("abcd").is_none());
        assert!(OriginKey::parse(&"zz".repeat(32)).is_none());
        let key = OriginKey::parse(&OriginKey::generate()).unwrap();
        for stored in [
            "",
            "origin1:",
            "origin1:!!!",
            "origin2:AAAA",
            "198.51.100.7",
        ] {
            assert_eq!(key.open("e", stored), None, "{stored}");
        }
    }
}
