//! The failure budget of each account: how many wrong secrets before it has to wait.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::throttle::{self, Decision};

use domain::model::Subject;
use domain::provider::AccountStatus;

use super::Store;
use crate::rows::{ThrottleRow, naive, utc};
use crate::schema::auth_throttle;
use crate::{DbConnection, StoreError};

impl Store {
    /// Counts an attempt against `key`'s failure budget before the secret is checked. The
    /// compare-and-set on `failures` makes parallel attempts queue for the budget instead of
    /// all reading the same count.
    pub fn reserve_attempt(&self, key: &str, now: DateTime<Utc>) -> Result<Decision, StoreError> {
        let mut conn = self.conn()?;
        let now_naive = naive(now);
        for _ in 0..20 {
            let row = auth_throttle::table
                .find(key)
                .select(ThrottleRow::as_select())
                .first(&mut *conn)
                .optional()?;
            let (failures, last) = match &row {
                Some(r) => (
                    u32::try_from(r.failures).unwrap_or(0),
                    Some(utc(r.last_attempt_at)),
                ),
                None => (0, None),
            };
            let decision = throttle::decide(failures, last, now);
            if decision != Decision::Allow {
                return Ok(decision);
            }
            let won = match row {
                None => match diesel::insert_into(auth_throttle::table)
                    .values(ThrottleRow {
                        throttle_key: key.to_owned(),
                        failures: 1,
                        last_attempt_at: now_naive,
                    })
                    .execute(&mut *conn)
                {
                    Ok(_) => true,
                    Err(diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::UniqueViolation,
                        _,
                    )) => false,
                    Err(e) => return Err(e.into()),
                },
                Some(r) => {
                    diesel::update(
                        auth_throttle::table
                            .find(key)
                            .filter(auth_throttle::failures.eq(r.failures)),
                    )
                    .set((
                        auth_throttle::failures.eq(r.failures + 1),
                        auth_throttle::last_attempt_at.eq(now_naive),
                    ))
                    .execute(&mut *conn)?
                        == 1
                }
            };
            if won {
                return Ok(Decision::Allow);
            }
        }
        // Heavy contention on one account: ask the caller to come back rather than spin.
        Ok(Decision::RetryAfter(1))
    }

    /// A correct secret (or a recovery) empties the budget.
    pub fn reset_attempts(&self, key: &str) -> Result<(), StoreError> {
        diesel::delete(auth_throttle::table.find(key)).execute(&mut self.conn()?)?;
        Ok(())
    }
}

/// In the caller's transaction, before an account's status is written: empties the budget
/// when the change re-enables the account (`domain::throttle::status_change_resets`).
pub(crate) fn reset_on_status_change(
    conn: &mut DbConnection,
    subject: Subject,
    previous: Option<&str>,
    next: AccountStatus,
) -> Result<(), StoreError> {
    let Some(previous) = previous.and_then(AccountStatus::parse) else {
        return Ok(());
    };
    if throttle::status_change_resets(previous, next) {
        diesel::delete(auth_throttle::table.find(throttle::subject_key(subject))).execute(conn)?;
    }
    Ok(())
}
