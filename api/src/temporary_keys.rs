//! Issuing one-time keys, shared by the operator's CLI and the admin API.

use chrono::{DateTime, Utc};
use domain::model::Subject;
use domain::secret::{TEMPORARY_KEY_PREFIX, hash_secret};
use persistence::{NewTemporaryKey, Store, StoreError};
use uuid::Uuid;

use crate::secrets::new_secret;

/// Stores a new key and returns it: the only time it exists in clear.
pub fn issue(
    store: &Store,
    subject: Subject,
    provider_id: Option<Uuid>,
    issued_by: Option<Uuid>,
    ttl: std::time::Duration,
    now: DateTime<Utc>,
) -> Result<(String, DateTime<Utc>), StoreError> {
    let key = new_secret(TEMPORARY_KEY_PREFIX);
    let expires_at = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::minutes(15));
    store.insert_temporary_key(&NewTemporaryKey {
        id: Uuid::now_v7(),
        key_hash: hash_secret(&key),
        subject,
        provider_id,
        issued_by,
        created_at: now,
        expires_at,
    })?;
    Ok((key, expires_at))
}
