//! One-time SMS codes: sending one (the cooldown and the caps checked and the code stored
//! in one transaction), reading a holder's latest, and spending it (a conditional update:
//! of two parallel uses, exactly one wins).

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;
use domain::model::Subject;
use domain::phone_code::{
    CAP_WINDOW_SECONDS, CodePurpose, MAX_WRONG_TRIES, SendHistory, SendRefusal, SmsSendLimits,
    StoredCode, may_send,
};
use uuid::Uuid;

use super::Store;
use crate::error::corrupt;
use crate::rows::{naive, subject_kind, utc, uuid};
use crate::schema::phone_codes;
use crate::{DbConnection, StoreError};

/// Rows older than this are purged (`purge_phone_codes`): they count for no cap any more.
pub const KEEP_PHONE_CODES_HOURS: i64 = 24;

/// A code to store (its hash only).
#[derive(Debug, Clone)]
pub struct NewPhoneCode {
    pub id: Uuid,
    pub purpose: CodePurpose,
    /// `domain::phone_code::CodeHolder::binding`.
    pub binding: String,
    pub provider_id: Option<Uuid>,
    pub subject: Option<Subject>,
    /// E.164.
    pub phone: String,
    pub ip: Option<String>,
    pub code_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A stored code and what it was sent for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneCodeRecord {
    pub code: StoredCode,
    pub purpose: CodePurpose,
    pub provider_id: Option<Uuid>,
    pub subject: Option<Subject>,
    pub phone: String,
}

type Row = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    i32,
    chrono::NaiveDateTime,
    Option<chrono::NaiveDateTime>,
);

fn record(row: Row) -> Result<PhoneCodeRecord, StoreError> {
    let (id, purpose, provider_id, kind, subject_id, phone, code_hash, tries, expires, used) = row;
    let subject = match (kind, subject_id) {
        (Some(kind), Some(id)) => Some(Subject {
            kind: subject_kind(&kind)?,
            id: uuid(&id)?,
        }),
        _ => None,
    };
    Ok(PhoneCodeRecord {
        code: StoredCode {
            id: uuid(&id)?,
            code_hash,
            wrong_tries: u32::try_from(tries).map_err(|_| corrupt("wrong_tries"))?,
            expires_at: utc(expires),
            used: used.is_some(),
        },
        purpose: CodePurpose::parse(&purpose).ok_or_else(|| corrupt("purpose"))?,
        provider_id: provider_id.as_deref().map(uuid).transpose()?,
        subject,
        phone,
    })
}

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn history(
    conn: &mut DbConnection,
    new: &NewPhoneCode,
    now: DateTime<Utc>,
) -> Result<SendHistory, StoreError> {
    let since = naive(now - Duration::seconds(CAP_WINDOW_SECONDS));
    let recent = || phone_codes::table.filter(phone_codes::created_at.gt(since));
    let to_number: i64 = recent()
        .filter(phone_codes::phone.eq(&new.phone))
        .count()
        .get_result(conn)?;
    let for_account: i64 = match new.subject {
        Some(s) => recent()
            .filter(phone_codes::subject_kind.eq(s.kind.as_str()))
            .filter(phone_codes::subject_id.eq(s.id.to_string()))
            .count()
            .get_result(conn)?,
        None => 0,
    };
    let from_ip: i64 = match &new.ip {
        Some(ip) => recent()
            .filter(phone_codes::ip.eq(ip))
            .count()
            .get_result(conn)?,
        None => 0,
    };
    let last: Option<chrono::NaiveDateTime> = phone_codes::table
        .filter(phone_codes::binding.eq(&new.binding))
        .select(phone_codes::created_at)
        .order(phone_codes::created_at.desc())
        .first(conn)
        .optional()?;
    Ok(SendHistory {
        to_number: count(to_number),
        for_account: count(for_account),
        from_ip: count(from_ip),
        last_for_binding: last.map(utc),
    })
}

impl Store {
    /// Stores `new` unless the binding's cooldown (`resend_seconds`) or a cap of `limits`
    /// refuses it. The binding's live code, if any, dies, and the new one inherits its wrong
    /// tries: a resend does not reset them.
    pub fn send_phone_code(
        &self,
        new: &NewPhoneCode,
        limits: SmsSendLimits,
        resend_seconds: u32,
    ) -> Result<Result<(), SendRefusal>, StoreError> {
        let now = new.created_at;
        let now_naive = naive(now);
        self.write(|conn| {
            if matches!(conn, DbConnection::Pg(_)) {
                // Sends to one number queue here, so parallel requests cannot both pass
                // the cooldown or the number's cap (SQLite's write lock does this already).
                diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
                    .bind::<Text, _>(&new.phone)
                    .execute(conn)?;
            }
            if let Err(refused) = may_send(history(conn, new, now)?, limits, resend_seconds, now) {
                return Ok(Err(refused));
            }
            let live = || {
                phone_codes::table
                    .filter(phone_codes::binding.eq(&new.binding))
                    .filter(phone_codes::used_at.is_null())
                    .filter(phone_codes::expires_at.gt(now_naive))
            };
            let inherited: Option<i32> = live()
                .select(diesel::dsl::max(phone_codes::wrong_tries))
                .first(conn)?;
            diesel::update(live())
                .set(phone_codes::expires_at.eq(now_naive))
                .execute(conn)?;
            diesel::insert_into(phone_codes::table)
                .values((
                    phone_codes::id.eq(new.id.to_string()),
                    phone_codes::purpose.eq(new.purpose.as_str()),
                    phone_codes::binding.eq(&new.binding),
                    phone_codes::provider_id.eq(new.provider_id.map(|p| p.to_string())),
                    phone_codes::subject_kind.eq(new.subject.map(|s| s.kind.as_str())),
                    phone_codes::subject_id.eq(new.subject.map(|s| s.id.to_string())),
                    phone_codes::phone.eq(&new.phone),
                    phone_codes::ip.eq(&new.ip),
                    phone_codes::code_hash.eq(&new.code_hash),
                    phone_codes::wrong_tries.eq(inherited.unwrap_or(0)),
                    phone_codes::created_at.eq(now_naive),
                    phone_codes::expires_at.eq(naive(new.expires_at)),
                ))
                .execute(conn)?;
            Ok(Ok(()))
        })
    }

    /// The latest code of `binding`: the only one that can still be right.
    pub fn latest_phone_code(&self, binding: &str) -> Result<Option<PhoneCodeRecord>, StoreError> {
        let row: Option<Row> = phone_codes::table
            .filter(phone_codes::binding.eq(binding))
            .order((phone_codes::created_at.desc(), phone_codes::id.desc()))
            .select((
                phone_codes::id,
                phone_codes::purpose,
                phone_codes::provider_id,
                phone_codes::subject_kind,
                phone_codes::subject_id,
                phone_codes::phone,
                phone_codes::code_hash,
                phone_codes::wrong_tries,
                phone_codes::expires_at,
                phone_codes::used_at,
            ))
            .first(&mut *self.conn()?)
            .optional()?;
        row.map(record).transpose()
    }

    /// Spends the code `id` if it is still unused, unexpired, alive and has `code_hash`:
    /// true for the one caller that did.
    pub fn use_phone_code(
        &self,
        id: Uuid,
        code_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let now = naive(now);
        let changed = diesel::update(
            phone_codes::table
                .find(id.to_string())
                .filter(phone_codes::used_at.is_null())
                .filter(phone_codes::expires_at.gt(now))
                .filter(phone_codes::wrong_tries.lt(MAX_WRONG_TRIES as i32))
                .filter(phone_codes::code_hash.eq(code_hash)),
        )
        .set(phone_codes::used_at.eq(now))
        .execute(&mut *self.conn()?)?;
        Ok(changed == 1)
    }

    /// Counts a wrong try against the code `id` (up to the limit).
    pub fn wrong_phone_code(&self, id: Uuid) -> Result<(), StoreError> {
        diesel::update(
            phone_codes::table
                .find(id.to_string())
                .filter(phone_codes::wrong_tries.lt(MAX_WRONG_TRIES as i32)),
        )
        .set(phone_codes::wrong_tries.eq(phone_codes::wrong_tries + 1))
        .execute(&mut *self.conn()?)?;
        Ok(())
    }

    /// Deletes up to `batch` codes older than `KEEP_PHONE_CODES_HOURS`; how many went.
    pub fn purge_phone_codes(&self, batch: i64, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let before = naive(now - Duration::hours(KEEP_PHONE_CODES_HOURS));
        let mut conn = self.conn()?;
        let ids: Vec<String> = phone_codes::table
            .filter(phone_codes::created_at.lt(before))
            .select(phone_codes::id)
            .limit(batch)
            .load(&mut *conn)?;
        Ok(
            diesel::delete(phone_codes::table.filter(phone_codes::id.eq_any(&ids)))
                .execute(&mut *conn)?,
        )
    }
}
