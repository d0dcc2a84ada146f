//! Access tokens: JWTs signed with Ed25519 keys kept in the database, so that every instance
//! signs and verifies with the same keys; the public halves are published as a JWKS.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use persistence::{SigningKeyRecord, Store};
use serde::{Deserialize, Serialize};
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
    signing: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
    public: Vec<(String, String)>,
}

pub struct TokenService {
    store: Store,
    issuer: String,
    keys: RwLock<Keys>,
    /// When the keys were last read again for an unknown `kid`.
    last_reload: Mutex<Option<DateTime<Utc>>>,
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
        signing: EncodingKey::from_ed_der(&der),
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
        jsonwebtoken::encode(&header, &claims, &keys.signing)
            .expect("signing with a loaded Ed25519 key does not fail")
    }

    /// Checks a token: only EdDSA (RFC 8725: an allowlist, so `none` and HMAC confusion are
    /// out), a known `kid`, no key-carrying headers, our issuer, not expired at `now` (the
    /// service's clock). Never reads the database: a `kid` of our shape that is not loaded
    /// answers `UnknownKey`, and the caller may `reload_if_due` off the async workers.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, TokenError> {
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
        Ok(claims)
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
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = keys;
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
