//! The revocation of everything a subject holds: a leaf that the stores of accounts,
//! credentials, sessions and clearing all call, in their own transactions.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::model::Subject;

use crate::schema::{api_tokens, sessions, temporary_keys};
use crate::{DbConnection, StoreError};

/// Kills every session, API token and unused temporary key of `subject`, in the caller's
/// transaction (disabling an account, changing a password, clearing a client).
pub(crate) fn revoke_everything(
    conn: &mut DbConnection,
    subject: Subject,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    revoke_everything_of(conn, subject.kind.as_str(), &[subject.id.to_string()], now)
}

/// `revoke_everything` for many people of one kind at once: a few set-based statements
/// (in chunks, under SQLite's limit of bound values) instead of three per person.
pub(crate) fn revoke_everything_of(
    conn: &mut DbConnection,
    kind: &str,
    ids: &[String],
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    for ids in ids.chunks(500) {
        diesel::update(
            sessions::table
                .filter(sessions::subject_kind.eq(kind))
                .filter(sessions::subject_id.eq_any(ids))
                .filter(sessions::revoked_at.is_null()),
        )
        .set(sessions::revoked_at.eq(now))
        .execute(conn)?;
        diesel::update(
            api_tokens::table
                .filter(api_tokens::subject_kind.eq(kind))
                .filter(api_tokens::subject_id.eq_any(ids))
                .filter(api_tokens::revoked_at.is_null()),
        )
        .set(api_tokens::revoked_at.eq(now))
        .execute(conn)?;
        diesel::update(
            temporary_keys::table
                .filter(temporary_keys::subject_kind.eq(kind))
                .filter(temporary_keys::subject_id.eq_any(ids))
                .filter(temporary_keys::used_at.is_null()),
        )
        .set(temporary_keys::used_at.eq(now))
        .execute(conn)?;
    }
    Ok(())
}
