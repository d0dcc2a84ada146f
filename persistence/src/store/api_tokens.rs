//! Long-lived API tokens for scripts; only a hash of each is kept.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use domain::model::Subject;
use uuid::Uuid;

use super::Store;
use super::auth_events::insert_auth_event;
use super::principals::{Person, person_and_origin_key};
use crate::StoreError;
use crate::records::{ApiTokenRecord, AuthEventRecord, NewApiToken};
use crate::rows::{ApiTokenRow, naive};
use crate::schema::api_tokens;

/// How often `last_used_at` of an API token is written: once a minute is precise enough and
/// keeps a busy script from turning every read into a write.
const LAST_USED_GRANULARITY_SECONDS: i64 = 60;

impl Store {
    pub fn insert_api_token(&self, token: &NewApiToken) -> Result<(), StoreError> {
        diesel::insert_into(api_tokens::table)
            .values(ApiTokenRow::from(token))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    /// Live tokens of a subject (revoked ones are gone from the list; expired ones stay, so
    /// that their owner sees why a script stopped).
    pub fn list_api_tokens(&self, subject: Subject) -> Result<Vec<ApiTokenRecord>, StoreError> {
        api_tokens::table
            .filter(api_tokens::subject_kind.eq(subject.kind.as_str()))
            .filter(api_tokens::subject_id.eq(subject.id.to_string()))
            .filter(api_tokens::revoked_at.is_null())
            .order(api_tokens::id.asc())
            .select(ApiTokenRow::as_select())
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(ApiTokenRecord::try_from)
            .collect()
    }

    pub fn revoke_api_token(
        &self,
        subject: Subject,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let changed = diesel::update(
            api_tokens::table
                .find(id.to_string())
                .filter(api_tokens::subject_kind.eq(subject.kind.as_str()))
                .filter(api_tokens::subject_id.eq(subject.id.to_string()))
                .filter(api_tokens::revoked_at.is_null()),
        )
        .set(api_tokens::revoked_at.eq(naive(now)))
        .execute(&mut *self.conn()?)?;
        Ok(changed == 1)
    }

    /// The live token with this hash, its use recorded, and the person it names (`None`:
    /// gone); `conclude` answers the caller's verdict and the auth event of the request.
    /// One call on one connection; the reads take no lock, and the only write of most
    /// requests is the event's single INSERT (`last_used_at`, once a minute at most, joins it
    /// in a transaction): holding SQLite's write lock over the reads made concurrent
    /// requests queue behind each other.
    pub fn use_api_token<T>(
        &self,
        hash: &str,
        now: DateTime<Utc>,
        conclude: impl FnOnce(Option<&ApiTokenRecord>, Option<Person>) -> (T, AuthEventRecord),
    ) -> Result<(Option<ApiTokenRecord>, T), StoreError> {
        let now_naive = naive(now);
        let mut conn = self.conn()?;
        let row = natively!(&mut *conn, |c| api_tokens::table
            .filter(api_tokens::token_hash.eq(hash))
            .filter(api_tokens::revoked_at.is_null())
            .filter(
                api_tokens::expires_at
                    .is_null()
                    .or(api_tokens::expires_at.gt(now_naive)),
            )
            .select(ApiTokenRow::as_select())
            .first(c)
            .optional()?);
        let record = row.map(ApiTokenRecord::try_from).transpose()?;
        // With the person, a user's origin key: the event is sealed without reading it again.
        let (subject, origin_key) = match &record {
            Some(record) => person_and_origin_key(&mut conn, record.subject)?,
            None => (None, None),
        };
        let (verdict, event) = conclude(record.as_ref(), subject);
        let granularity = Duration::seconds(LAST_USED_GRANULARITY_SECONDS);
        let stale = record
            .as_ref()
            .filter(|r| r.last_used_at.is_none_or(|at| at < now - granularity));
        match stale {
            None => insert_auth_event(&mut conn, &event, origin_key.as_ref())?,
            Some(record) => {
                let id = record.id.to_string();
                drop(conn);
                self.write(|conn| {
                    // Conditional: of parallel requests, one writes the minute's use.
                    diesel::update(
                        api_tokens::table.find(id).filter(
                            api_tokens::last_used_at
                                .is_null()
                                .or(api_tokens::last_used_at.lt(now_naive - granularity)),
                        ),
                    )
                    .set(api_tokens::last_used_at.eq(now_naive))
                    .execute(conn)?;
                    insert_auth_event(conn, &event, origin_key.as_ref())
                })?
            }
        }
        Ok((record, verdict))
    }
}
