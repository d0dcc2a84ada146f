//! Access tokens: JWTs signed with Ed25519 keys kept in the database, so that every instance
//! signs and verifies with the same keys; the public halves are published as a JWKS.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use ed25519_dalek::Signer;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use persistence::{SigningKeyRecord, Store};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::secrets::random_bytes;

const ALGORITHM_NAME: &str = "EdDSA";

/// The public keys that verify access tokens (RFC 7517 JWK Set).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

/// One Ed25519 public key (RFC 8037).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Jwk {
    pub kty: KeyType,
    pub crv: Curve,
    /// The public key, base64url without padding.
    pub x: String,
    /// Named in the `kid` header of the tokens it verifies.
    pub kid: String,
    pub alg: JwsAlgorithm,
    #[serde(rename = "use")]
    pub key_use: KeyUse,
}

#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub enum KeyType {
    #[serde(rename = "OKP")]
    Okp,
}

#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub enum Curve {
    Ed25519,
}

#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub enum JwsAlgorithm {
    #[serde(rename = "EdDSA")]
    EdDsa,
}

#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub enum KeyUse {
    #[serde(rename = "sig")]
    Sig,
}

/// What our access tokens say.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub iss: String,
    /// `user:<uuid>` or `employee:<uuid>`.
    pub sub: String,
    /// The session the token belongs to: revoking it kills the token at once.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// How the session was authenticated (RFC 8176 values such as `pwd`, `otp`, `mfa`).
    /// Tokens issued before it existed have none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

struct Keys {
    signing_kid: String,
    /// Parsed once: `jsonwebtoken::encode` would parse the PKCS#8 document and derive the
    /// public key again for every token.
    signing: SigningKey,
    verifying: HashMap<String, DecodingKey>,
    public: Vec<(String, String)>,
}

pub struct TokenService {
    store: Store,
    issuer: String,
    keys: RwLock<Keys>,
    /// Tokens whose signature and header were checked, until their `exp`.
    verified: VerifiedCache,
    /// When the keys were last read again for an unknown `kid`.
    last_reload: Mutex<Option<DateTime<Utc>>>,
}

/// Most verified tokens kept (`VerifiedCache`): about 0.5 KiB each, so a few MiB at most.
pub const VERIFIED_CACHE_CAPACITY: usize = 8192;

/// Access tokens whose signature, algorithm, `kid` and issuer were checked, keyed by the
/// SHA-256 of the whole token (a changed byte anywhere is another key), kept until the
/// token's `exp`, as API gateways do: the Ed25519 check runs once per token, not once per
/// request. Only the token's own validity is cached; whether its session and person may
/// still act is read from the database on every request. An entry is used only while the
/// key that signed it is still loaded, so a key dropped at a reload takes its tokens with
/// it. Bounded: when full, expired entries go first, then an arbitrary eighth.
pub struct VerifiedCache {
    capacity: usize,
    entries: Mutex<HashMap<[u8; 32], Verified>>,
}

struct Verified {
    kid: String,
    claims: Claims,
}

impl VerifiedCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn key(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }

    /// The claims of `token` if it was verified, has not expired at `now`, and `kid_loaded`
    /// says its key is still loaded.
    pub fn get(
        &self,
        token: &str,
        now: DateTime<Utc>,
        kid_loaded: impl Fn(&str) -> bool,
    ) -> Option<Claims> {
        let key = Self::key(token);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(&key)?;
        if entry.claims.exp <= now.timestamp() || !kid_loaded(&entry.kid) {
            entries.remove(&key);
            return None;
        }
        Some(entry.claims.clone())
    }

    pub fn insert(&self, token: &str, kid: String, claims: Claims, now: DateTime<Utc>) {
        let key = Self::key(token);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            let now = now.timestamp();
            entries.retain(|_, v| v.claims.exp > now);
            if entries.len() >= self.capacity {
                // Evicting a batch keeps the sweep above rare when nothing has expired.
                let keep = self.capacity - self.capacity / 8 - 1;
                let drop: Vec<[u8; 32]> = entries.keys().skip(keep).copied().collect();
                for k in drop {
                    entries.remove(&k);
                }
            }
        }
        entries.insert(key, Verified { kid, claims });
    }

    /// Drops the entries whose key is no longer loaded (after a reload).
    pub fn retain_kids(&self, kid_loaded: impl Fn(&str) -> bool) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, v| kid_loaded(&v.kid));
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Reading the keys again for an unknown `kid` happens at most this often, so tokens with
/// made-up kids cannot turn every request into a database read.
const RELOAD_EVERY_SECONDS: i64 = 5;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not valid")]
    Invalid,
    /// Signed with a key of our shape that is not loaded: maybe another instance's new key.
    #[error("the token's key is not loaded")]
    UnknownKey,
    #[error("{0}")]
    Store(#[from] persistence::StoreError),
}

fn load_keys(records: &[SigningKeyRecord]) -> anyhow::Result<Keys> {
    let first = records
        .first()
        .ok_or_else(|| anyhow::anyhow!("no signing key"))?;
    let der = STANDARD.decode(&first.private_key)?;
    let mut verifying = HashMap::new();
    let mut public = Vec::new();
    for r in records.iter().filter(|r| r.algorithm == ALGORITHM_NAME) {
        verifying.insert(
            r.kid.clone(),
            DecodingKey::from_ed_components(&r.public_key)?,
        );
        public.push((r.kid.clone(), r.public_key.clone()));
    }
    Ok(Keys {
        signing_kid: first.kid.clone(),
        signing: SigningKey::from_pkcs8_der(&der).map_err(|e| anyhow::anyhow!("{e}"))?,
        verifying,
        public,
    })
}

fn new_key_record(now: DateTime<Utc>) -> anyhow::Result<SigningKeyRecord> {
    let key = SigningKey::from_bytes(&random_bytes::<32>());
    let der = key.to_pkcs8_der().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(SigningKeyRecord {
        kid: Uuid::now_v7().simple().to_string(),
        algorithm: ALGORITHM_NAME.into(),
        private_key: STANDARD.encode(der.as_bytes()),
        public_key: URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
        created_at: now.naive_utc(),
    })
}

impl TokenService {
    /// Loads the keys, making the first one if the database has none.
    pub fn load(store: Store, issuer: String, now: DateTime<Utc>) -> anyhow::Result<Self> {
        let mut records = store.signing_keys()?;
        if records.is_empty() {
            store.insert_signing_key(&new_key_record(now)?)?;
            // Another instance may have made one at the same moment: everybody signs with
            // the oldest, and verifies with all.
            records = store.signing_keys()?;
        }
        let keys = load_keys(&records)?;
        Ok(Self {
            store,
            issuer,
            keys: RwLock::new(keys),
            verified: VerifiedCache::new(VERIFIED_CACHE_CAPACITY),
            last_reload: Mutex::new(None),
        })
    }

    pub fn issue(
        &self,
        subject: &str,
        session: Uuid,
        amr: &[String],
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> String {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(keys.signing_kid.clone());
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: subject.to_owned(),
            sid: session.to_string(),
            iat: now.timestamp(),
            exp: (now + ttl).timestamp(),
            jti: Uuid::now_v7().to_string(),
            amr: amr.to_vec(),
        };
        // What `jsonwebtoken::encode` writes (JWS compact form, RFC 7515), with the key
        // parsed at load.
        let header = serde_json::to_vec(&header).expect("a JWT header serializes");
        let claims = serde_json::to_vec(&claims).expect("claims serialize");
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let signature = keys.signing.sign(message.as_bytes());
        format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }

    /// Checks a token: only EdDSA (RFC 8725: an allowlist, so `none` and HMAC confusion are
    /// out), a known `kid`, no key-carrying headers, our issuer, not expired at `now` (the
    /// service's clock). Never reads the database: a `kid` of our shape that is not loaded
    /// answers `UnknownKey`, and the caller may `reload_if_due` off the async workers.
    /// A token verified before is answered from `VerifiedCache` (still checked for expiry
    /// and for its key being loaded).
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, TokenError> {
        {
            let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
            if let Some(claims) = self
                .verified
                .get(token, now, |kid| keys.verifying.contains_key(kid))
            {
                return Ok(claims);
            }
        }
        let (kid, claims) = self.verify_signature(token, now)?;
        self.verified.insert(token, kid, claims.clone(), now);
        Ok(claims)
    }

    /// `verify` without the cache: the signature and every claim checked each time (what
    /// the cache saves; `examples/raw_rates.rs` measures it). Answers the key's id too.
    pub fn verify_signature(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<(String, Claims), TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != Algorithm::EdDSA
            || header.jku.is_some()
            || header.jwk.is_some()
            || header.x5u.is_some()
            || header.x5c.is_some()
        {
            return Err(TokenError::Invalid);
        }
        let kid = header.kid.ok_or(TokenError::Invalid)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        // Expiry is checked below against the service's clock, not the system's.
        validation.validate_exp = false;
        validation.leeway = 0;
        let key = {
            let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
            keys.verifying.get(&kid).cloned()
        };
        let key = match key {
            Some(key) => key,
            None if kid.len() == 32 && kid.bytes().all(|b| b.is_ascii_hexdigit()) => {
                return Err(TokenError::UnknownKey);
            }
            None => return Err(TokenError::Invalid),
        };
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|_| TokenError::Invalid)?;
        if claims.exp <= now.timestamp() {
            return Err(TokenError::Invalid);
        }
        Ok((kid, claims))
    }

    /// Reads the keys again (a key another instance made after we started), unless that was
    /// done less than a few seconds ago. Synchronous: run it on the blocking pool.
    pub fn reload_if_due(&self, now: DateTime<Utc>) -> Result<bool, TokenError> {
        {
            let mut last = self.last_reload.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|at| (now - at).num_seconds().abs() < RELOAD_EVERY_SECONDS) {
                return Ok(false);
            }
            *last = Some(now);
        }
        let records = self.store.signing_keys()?;
        let keys = load_keys(&records).map_err(|_| TokenError::Invalid)?;
        let mut loaded = self.keys.write().unwrap_or_else(|e| e.into_inner());
        *loaded = keys;
        // A token signed by a key that is gone must not live on in the cache.
        self.verified
            .retain_kids(|kid| loaded.verifying.contains_key(kid));
        Ok(true)
    }

    /// The public keys as a JWK Set (RFC 7517).
    pub fn jwks(&self) -> JwkSet {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        JwkSet {
            keys: keys
                .public
                .iter()
                .map(|(kid, x)| Jwk {
                    kty: KeyType::Okp,
                    crv: Curve::Ed25519,
                    alg: JwsAlgorithm::EdDsa,
                    key_use: KeyUse::Sig,
                    kid: kid.clone(),
                    x: x.clone(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            iss: "test".into(),
            sub: "user:1".into(),
            sid: "s".into(),
            iat: 0,
            exp,
            jti: "j".into(),
            amr: Vec::new(),
        }
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    #[test]
    fn a_cached_token_is_answered_until_its_exp_and_not_after() {
        let cache = VerifiedCache::new(10);
        cache.insert("t", "k".into(), claims(100), at(0));
        assert_eq!(cache.get("t", at(99), |_| true), Some(claims(100)));
        assert_eq!(cache.get("t", at(100), |_| true), None);
        // The expired entry is gone, not just hidden.
        assert!(cache.is_empty());
        assert_eq!(cache.get("other", at(0), |_| true), None);
    }

    #[test]
    fn a_cached_token_dies_with_its_key() {
        let cache = VerifiedCache::new(10);
        cache.insert("t", "old".into(), claims(100), at(0));
        cache.insert("u", "new".into(), claims(100), at(0));
        assert_eq!(cache.get("t", at(1), |kid| kid == "new"), None);
        assert!(cache.get("u", at(1), |kid| kid == "new").is_some());
        cache.retain_kids(|kid| kid == "old");
        assert!(cache.is_empty());
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = VerifiedCache::new(64);
        for i in 0..1000 {
            cache.insert(&format!("token{i}"), "k".into(), claims(100), at(0));
            assert!(cache.len() <= 64, "{} entries after {i}", cache.len());
        }
        // The newest is always kept.
        assert!(cache.get("token999", at(1), |_| true).is_some());
        // Expired entries make room before live ones are evicted.
        let cache = VerifiedCache::new(4);
        for i in 0..3 {
            cache.insert(&format!("old{i}"), "k".into(), claims(10), at(0));
        }
        cache.insert("live", "k".into(), claims(100), at(0));
        cache.insert("new", "k".into(), claims(100), at(20));
        assert_eq!(cache.len(), 2);
        assert!(cache.get("live", at(20), |_| true).is_some());
    }

    #[test]
    fn verify_answers_from_the_cache_only_while_the_key_is_loaded() {
        let path = std::env::temp_dir().join(format!("tokens-{}.db", Uuid::now_v7()));
        let url = persistence::DatabaseUrl::parse(&format!("sqlite://{}", path.display()));
        let store = Store::open(&url.unwrap(), 1).unwrap();
        let now = at(1_000_000);
        let service = TokenService {
            store,
            issuer: "test".into(),
            keys: RwLock::new(load_keys(&[new_key_record(now).unwrap()]).unwrap()),
            verified: VerifiedCache::new(8),
            last_reload: Mutex::new(None),
        };
        let ttl = chrono::Duration::minutes(15);
        let token = service.issue("user:x", Uuid::now_v7(), &[], now, ttl);
        let claims = service.verify(&token, now).unwrap();
        assert_eq!(service.verified.len(), 1);
        assert_eq!(service.verify(&token, now).unwrap(), claims);
        // Past its exp the cached token is refused.
        assert!(service.verify(&token, now + ttl).is_err());
        assert!(service.verified.is_empty());
        service.verify(&token, now).unwrap();
        // Its key is gone (another key set loaded): the cached entry does not stand in.
        *service.keys.write().unwrap() = load_keys(&[new_key_record(now).unwrap()]).unwrap();
        assert!(matches!(
            service.verify(&token, now),
            Err(TokenError::UnknownKey)
        ));
        // A byte changed in the signature is another cache key, and fails verification.
        let mut forged = service.issue("user:x", Uuid::now_v7(), &[], now, ttl);
        service.verify(&forged, now).unwrap();
        let last = forged.pop().unwrap();
        forged.push(if last == 'A' { 'B' } else { 'A' });
        assert!(service.verify(&forged, now).is_err());
        drop(service);
        let _ = std::fs::remove_file(&path);
    }
}
