//! Passwords of users and employees alike: the subject's kind picks the table.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::model::Subject;
use domain::provider::SubjectKind;
use uuid::Uuid;

use super::Store;
use super::revocation::revoke_everything;
use crate::rows::naive;
use crate::schema::{employees, sessions, users};
use crate::{DbConnection, StoreError};

/// Writes `hash` as the subject's password hash, in the caller's transaction. The API shows
/// whether someone has a password (`has_password`), not the hash, so the version moves
/// only when the first password is set: replacing one (a rehash at login, a change) leaves
/// a concurrent edit of the account valid.
pub(crate) fn set_password_hash(
    conn: &mut DbConnection,
    subject: Subject,
    hash: &str,
) -> Result<(), StoreError> {
    let id = subject.id.to_string();
    match subject.kind {
        SubjectKind::User => {
            let first = diesel::update(
                users::table
                    .find(&id)
                    .filter(users::password_hash.is_null()),
            )
            .set((
                users::password_hash.eq(hash),
                users::version.eq(users::version + 1),
            ))
            .execute(conn)?;
            if first == 0 {
                diesel::update(users::table.find(&id))
                    .set(users::password_hash.eq(hash))
                    .execute(conn)?;
            }
        }
        SubjectKind::Employee => {
            let first = diesel::update(
                employees::table
                    .find(&id)
                    .filter(employees::password_hash.is_null()),
            )
            .set((
                employees::password_hash.eq(hash),
                employees::version.eq(employees::version + 1),
            ))
            .execute(conn)?;
            if first == 0 {
                diesel::update(employees::table.find(&id))
                    .set(employees::password_hash.eq(hash))
                    .execute(conn)?;
            }
        }
    }
    Ok(())
}

impl Store {
    /// A password change: the new hash, and every other session, token and key dies.
    pub fn change_password(
        &self,
        subject: Subject,
        hash: &str,
        keep_session: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let now = naive(now);
        self.write(|conn| {
            set_password_hash(conn, subject, hash)?;
            revoke_everything(conn, subject, now)?;
            if let Some(keep) = keep_session {
                diesel::update(sessions::table.find(keep.to_string()))
                    .set(sessions::revoked_at.eq(None::<NaiveDateTime>))
                    .execute(conn)?;
            }
            Ok(())
        })
    }
}
