//! The failure budget of each account: how many wrong secrets before it has to wait.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Integer, Nullable, Text, Timestamp};
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
        let budget = throttle::budget_of(key);
        // A budget that does not exist is created with this attempt counted, which starts its
        // run; with no failures counted every budget allows (`decide_in`). Most budgets do not
        // exist (a success empties its own), so the insert comes first: it is the whole
        // reservation then, where reading first cost a statement more (a round trip on
        // PostgreSQL).
        let created = |conn: &mut DbConnection| -> Result<bool, StoreError> {
            let row = ThrottleRow {
                throttle_key: key.to_owned(),
                failures: 1,
                last_attempt_at: now_naive,
                streak_started_at: Some(now_naive),
            };
            let inserted = match conn {
                DbConnection::Sqlite(c) => diesel::insert_into(auth_throttle::table)
                    .values(row)
                    .on_conflict_do_nothing()
                    .execute(c)?,
                DbConnection::Pg(c) => CreateBudgetUnflushed { row: &row }.execute(c)?,
            };
            Ok(inserted == 1)
        };
        for _ in 0..20 {
            if created(&mut conn)? {
                return Ok(Decision::Allow);
            }
            let row = natively!(&mut *conn, |c| auth_throttle::table
                .find(key)
                .select(ThrottleRow::as_select())
                .first(c)
                .optional()?);
            // Emptied since the insert: try again.
            let Some(r) = row else { continue };
            let failures = u32::try_from(r.failures).unwrap_or(0);
            let last = Some(utc(r.last_attempt_at));
            let counted = throttle::still_counted(budget, failures, last, now);
            let decision = throttle::decide_in(budget, counted, last, now);
            if decision != Decision::Allow {
                return Ok(decision);
            }
            let won = natively!(&mut *conn, |c| diesel::update(
                auth_throttle::table
                    .find(key)
                    .filter(auth_throttle::failures.eq(r.failures)),
            )
            .set((
                auth_throttle::failures.eq(i32::try_from(counted).unwrap_or(i32::MAX - 1) + 1),
                auth_throttle::last_attempt_at.eq(now_naive),
                // A budget that counted nothing any more starts a new run.
                auth_throttle::streak_started_at.eq(if counted == 0 {
                    Some(now_naive)
                } else {
                    r.streak_started_at
                }),
            ))
            .execute(c)?)
                == 1;
            if won {
                return Ok(Decision::Allow);
            }
        }
        // Heavy contention on one account: ask the caller to come back rather than spin.
        Ok(Decision::RetryAfter(1))
    }

    /// Deletes up to `batch` budgets that count nothing any more (`domain::throttle::expired`),
    /// looking at the keys after `after`; returns how many went and the last key looked at
    /// (`None` when there are no more). Accounts' budgets never expire and are not read.
    pub fn purge_throttle(
        &self,
        after: &str,
        batch: i64,
        now: DateTime<Utc>,
    ) -> Result<(usize, Option<String>), StoreError> {
        let mut conn = self.conn()?;
        let rows: Vec<ThrottleRow> = auth_throttle::table
            .filter(auth_throttle::throttle_key.gt(after))
            .filter(
                auth_throttle::throttle_key
                    .like(format!("{}%", throttle::UNKNOWN_PREFIX))
                    .or(auth_throttle::throttle_key.like(format!("{}%", throttle::ADDRESS_PREFIX)))
                    .or(auth_throttle::throttle_key.like("rate:%")),
            )
            .order(auth_throttle::throttle_key)
            .limit(batch)
            .select(ThrottleRow::as_select())
            .load(&mut *conn)?;
        let last = rows.last().map(|r| r.throttle_key.clone());
        let mut deleted = 0;
        for row in rows {
            let failures = u32::try_from(row.failures).unwrap_or(0);
            let budget = throttle::budget_of(&row.throttle_key);
            if throttle::expired(budget, failures, utc(row.last_attempt_at), now) {
                // Only if no attempt came in between.
                deleted += diesel::delete(
                    auth_throttle::table
                        .find(&row.throttle_key)
                        .filter(auth_throttle::failures.eq(row.failures))
                        .filter(auth_throttle::last_attempt_at.eq(row.last_attempt_at)),
                )
                .execute(&mut *conn)?;
            }
        }
        Ok((deleted, last))
    }

    /// A correct secret (or a recovery) empties the budget.
    pub fn reset_attempts(&self, key: &str) -> Result<(), StoreError> {
        reset_attempts(&mut *self.conn()?, key)
    }
}

/// PostgreSQL: a budget created with one attempt counted, in a commit that does not wait
/// for its WAL flush (`synchronous_commit` off for this statement's transaction only). The
/// row is visible to every other attempt at once, as with any commit, so parallel guesses
/// still queue; only its durability waits. A password attempt ends in a commit that waits
/// (the sign-in's writes, or the failure's auth event), whose flush takes all the WAL
/// before it, this row too; otherwise PostgreSQL's WAL writer flushes it within a few
/// hundred milliseconds. A crash so loses at most the reservations of its last moments. A
/// login waits for one flush instead of two (README "Load"). SQLite in WAL mode with
/// `synchronous = NORMAL` does not flush at a commit anyway.
struct CreateBudgetUnflushed<'a> {
    row: &'a ThrottleRow,
}

impl QueryFragment<Pg> for CreateBudgetUnflushed<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // A `WITH` part that only reads runs only when referenced: the insert selects from it.
        out.push_sql(
            "WITH unflushed AS (SELECT set_config('synchronous_commit', 'off', true)) \
             INSERT INTO auth_throttle \
             (throttle_key, failures, last_attempt_at, streak_started_at) SELECT ",
        );
        out.push_bind_param::<Text, _>(&self.row.throttle_key)?;
        out.push_sql(", ");
        out.push_bind_param::<Integer, _>(&self.row.failures)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.row.last_attempt_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Timestamp>, _>(&self.row.streak_started_at)?;
        out.push_sql(" FROM unflushed ON CONFLICT DO NOTHING");
        Ok(())
    }
}

impl QueryId for CreateBudgetUnflushed<'_> {
    type QueryId = CreateBudgetUnflushed<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl RunQueryDsl<diesel::PgConnection> for CreateBudgetUnflushed<'_> {}

/// `Store::reset_attempts` in the caller's transaction.
pub(crate) fn reset_attempts(conn: &mut DbConnection, key: &str) -> Result<(), StoreError> {
    natively!(conn, |c| diesel::delete(auth_throttle::table.find(key))
        .execute(c)?);
    Ok(())
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

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use diesel::connection::SimpleConnection;
    use diesel::dsl::sql;

    use super::*;
    use crate::test_support::TestDb;
    use crate::{DatabaseUrl, connection};

    fn synchronous_commit(pg: &mut diesel::PgConnection) -> String {
        diesel::select(sql::<Text>("current_setting('synchronous_commit')"))
            .get_result(pg)
            .unwrap()
    }

    /// PostgreSQL: the statement that creates a budget turns synchronous commit off for its
    /// own transaction, and only for it; a budget that exists is left as it is.
    #[test]
    fn a_budget_is_created_in_a_commit_that_does_not_wait_for_its_flush() {
        for db in TestDb::all().into_iter().filter(|db| db.is_postgres()) {
            let url = DatabaseUrl::parse(&db.url).unwrap();
            Store::open(&url, 1).unwrap().migrate().unwrap();
            let mut conn = connection::connect(&url).unwrap();
            let DbConnection::Pg(pg) = &mut conn else {
                unreachable!("a PostgreSQL URL")
            };
            // Whole seconds: PostgreSQL keeps microseconds.
            let at = naive(Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap());
            let row = ThrottleRow {
                throttle_key: "user:budget".into(),
                failures: 1,
                last_attempt_at: at,
                streak_started_at: Some(at),
            };
            assert_eq!(synchronous_commit(pg), "on");
            pg.batch_execute("BEGIN").unwrap();
            assert_eq!(CreateBudgetUnflushed { row: &row }.execute(pg).unwrap(), 1);
            assert_eq!(synchronous_commit(pg), "off", "in its transaction");
            let again = ThrottleRow {
                failures: 7,
                ..row.clone()
            };
            assert_eq!(
                CreateBudgetUnflushed { row: &again }.execute(pg).unwrap(),
                0
            );
            pg.batch_execute("COMMIT").unwrap();
            assert_eq!(synchronous_commit(pg), "on", "after its transaction");
            let stored: ThrottleRow = auth_throttle::table
                .find("user:budget")
                .select(ThrottleRow::as_select())
                .first(pg)
                .unwrap();
            assert_eq!(
                (
                    stored.failures,
                    stored.last_attempt_at,
                    stored.streak_started_at
                ),
                (1, at, Some(at))
            );
        }
    }
}
