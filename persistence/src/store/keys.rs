use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::model::Subject;
use uuid::Uuid;

use super::Store;
use crate::StoreError;
use crate::rows::{naive, subject_kind, uuid};
use crate::schema::{signing_keys, temporary_keys};

/// A key that signs access tokens. The private half is PKCS#8 DER in base64.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub algorithm: String,
    pub private_key: String,
    pub public_key: String,
    pub created_at: chrono::NaiveDateTime,
}

/// A one-time key to be stored; only its hash is kept.
#[derive(Debug, Clone)]
pub struct NewTemporaryKey {
    pub id: Uuid,
    pub key_hash: String,
    pub subject: Subject,
    pub provider_id: Option<Uuid>,
    /// The employee who issued it; `None` for the operator's CLI.
    pub issued_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What a redeemed key grants.
#[derive(Debug, Clone, PartialEq)]
pub struct RedeemedKey {
    pub id: Uuid,
    pub subject: Subject,
    pub provider_id: Option<Uuid>,
}

impl Store {
    /// Keys, oldest first: every instance signs with the first one, so two instances that
    /// started at once and each made a key still agree.
    pub fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        Ok(signing_keys::table
            .select(SigningKeyRecord::as_select())
            .order((signing_keys::created_at.asc(), signing_keys::kid.asc()))
            .load(&mut *self.conn()?)?)
    }

    pub fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError> {
        diesel::insert_into(signing_keys::table)
            .values(key)
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    pub fn insert_temporary_key(&self, key: &NewTemporaryKey) -> Result<(), StoreError> {
        diesel::insert_into(temporary_keys::table)
            .values((
                temporary_keys::id.eq(key.id.to_string()),
                temporary_keys::key_hash.eq(&key.key_hash),
                temporary_keys::subject_kind.eq(key.subject.kind.as_str()),
                temporary_keys::subject_id.eq(key.subject.id.to_string()),
                temporary_keys::provider_id.eq(key.provider_id.map(|p| p.to_string())),
                temporary_keys::issued_by.eq(key.issued_by.map(|p| p.to_string())),
                temporary_keys::created_at.eq(naive(key.created_at)),
                temporary_keys::expires_at.eq(naive(key.expires_at)),
            ))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    /// Spends a key. The conditional UPDATE is the lock: of two concurrent redemptions
    /// exactly one changes the row, on either backend. `None` for an unknown, used or
    /// expired key, without saying which.
    pub fn redeem_temporary_key(
        &self,
        key_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<RedeemedKey>, StoreError> {
        let mut conn = self.conn()?;
        let now = naive(now);
        let spent = diesel::update(
            temporary_keys::table
                .filter(temporary_keys::key_hash.eq(key_hash))
                .filter(temporary_keys::used_at.is_null())
                .filter(temporary_keys::expires_at.gt(now)),
        )
        .set(temporary_keys::used_at.eq(now))
        .execute(&mut *conn)?;
        if spent != 1 {
            return Ok(None);
        }
        let (id, kind, subject_id, provider_id): (String, String, String, Option<String>) =
            temporary_keys::table
                .filter(temporary_keys::key_hash.eq(key_hash))
                .select((
                    temporary_keys::id,
                    temporary_keys::subject_kind,
                    temporary_keys::subject_id,
                    temporary_keys::provider_id,
                ))
                .first(&mut *conn)?;
        Ok(Some(RedeemedKey {
            id: uuid(&id)?,
            subject: Subject {
                kind: subject_kind(&kind)?,
                id: uuid(&subject_id)?,
            },
            provider_id: provider_id.as_deref().map(uuid).transpose()?,
        }))
    }
}
