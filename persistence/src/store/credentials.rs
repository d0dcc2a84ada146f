//! Passwords of users and employees alike: the subject's kind picks the table.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::model::Subject;
use domain::provider::SubjectKind;
use uuid::Uuid;

use super::Store;
use super::sessions::revoke_everything;
use crate::StoreError;
use crate::rows::naive;
use crate::schema::{employees, sessions, users};

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
        self.conn()?.transaction(|conn| {
            let id = subject.id.to_string();
            match subject.kind {
                SubjectKind::User => diesel::update(users::table.find(&id))
                    .set(users::password_hash.eq(hash))
                    .execute(conn)?,
                SubjectKind::Employee => diesel::update(employees::table.find(&id))
                    .set(employees::password_hash.eq(hash))
                    .execute(conn)?,
            };
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
