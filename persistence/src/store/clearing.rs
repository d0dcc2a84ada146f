//! GDPR: the optional modules, and clearing a client and its users (Art. 17) in one
//! transaction. What is cleared follows `personal_data::COLUMNS`; a test below fails when a
//! personal column of a client's data is listed there but not handled here.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamp};
use domain::billing::hold_runs;
use domain::gdpr::{
    ANONYMIZED_EMAIL_DOMAIN, ANONYMIZED_NAME_PREFIX, ClearReport, ClearedBy, Kept, Module,
    anonymized_name, legal_hold_note,
};
use domain::provider::{AccountStatus, SubjectKind};
use domain::throttle;
use uuid::Uuid;

use super::Store;
use super::billing::{load_billing, remove_billing};
use crate::error::corrupt;
use crate::origin::DESTROYED;
use crate::rows::{AuthEventRow, naive, uuid};
use crate::schema::{
    api_tokens, auth_events, auth_throttle, client_clearings, clients, consent_records,
    consent_tickets, mfa_challenges, modules, oidc_transactions, phone_codes, recovery_codes,
    refresh_tokens, sessions, temporary_keys, totp_factors, user_identity_links, users,
};
use crate::{DbConnection, StoreError};

/// The client's users' ids are bound as lists of at most this many: under SQLite's limit of
/// 32,766 bound values per statement.
const CHUNK: usize = 10_000;

/// Runs `$body` with the macros `$users!()`, `$nullable!()` (the same for a nullable
/// column) and `$keys!()` (their throttle budgets' keys) naming the client's users as each
/// database answers best inside the clearing's transaction. SQLite: the connection's
/// temporary list `clearing_users` (`list_users`), whose primary key each statement reads
/// as its `IN` list (a subquery on `users.client_id` built that list anew for each of
/// about 20 statements, 0.5 ms each for 1,000 users, of a lock that other writers wait for;
/// 1,000 bound ids took about 0.1 ms more to prepare). PostgreSQL: the ids bound as arrays
/// of at most `CHUNK` (with the subquery it planned the statements on sessions badly right
/// after a client's data was loaded: 100-150 ms each instead of about 4).
macro_rules! for_users {
    ($conn:ident, $user_ids:expr, $users:ident, $nullable:ident, $keys:ident, $body:block) => {
        if matches!($conn, DbConnection::Sqlite(_)) {
            macro_rules! $users {
                () => {
                    clearing_users::table.select(clearing_users::id)
                };
            }
            macro_rules! $nullable {
                () => {
                    clearing_users::table.select(clearing_users::id.nullable())
                };
            }
            macro_rules! $keys {
                () => {
                    clearing_users::table.select(
                        format!("{USER}:")
                            .into_sql::<Text>()
                            .concat(clearing_users::id),
                    )
                };
            }
            $body
        } else {
            for ids in $user_ids.chunks(CHUNK) {
                macro_rules! $users {
                    () => {
                        ids
                    };
                }
                macro_rules! $nullable {
                    () => {
                        ids
                    };
                }
                macro_rules! $keys {
                    () => {
                        subject_budget_keys(ids)
                    };
                }
                $body
            }
        }
    };
}

diesel::table! {
    /// SQLite: a connection's temporary list of the users being cleared (`list_users`).
    clearing_users (id) {
        id -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(clearing_users, sessions);
diesel::allow_tables_to_appear_in_same_query!(clearing_users, refresh_tokens);
diesel::allow_tables_to_appear_in_same_query!(clearing_users, api_tokens);
diesel::allow_tables_to_appear_in_same_query!(clearing_users, temporary_keys);
diesel::allow_tables_to_appear_in_same_query!(clearing_users, totp_factors);
diesel::allow_tables_to_appear_in_same_query!(clearing_users, recovery_codes);
diesel::allow_tables_to_appear_in_same_query!(clearing_users, mfa_challenges);
diesel::allow_tables_to_appear_in_same_query!(clearing_users, auth_events);
diesel::allow_tables_to_appear_in_same_query!(clearing_users, auth_throttle);
diesel::allow_tables_to_appear_in_same_query!(clearing_users, phone_codes);
diesel::allow_tables_to_appear_in_same_query!(clearing_users, user_identity_links);
diesel::allow_tables_to_appear_in_same_query!(clearing_users, oidc_transactions);
diesel::allow_tables_to_appear_in_same_query!(clearing_users, consent_records);
diesel::allow_tables_to_appear_in_same_query!(clearing_users, consent_tickets);
diesel::allow_tables_to_appear_in_same_query!(clearing_users, users);

/// SQLite: lists the client's users in the connection's temporary table `clearing_users`,
/// for the statements of this transaction (`for_users`). The list is made anew by each
/// clearing and emptied at its end (`unlist_users`): a statement that found an old list would
/// clear another client's users. Temporary tables are the connection's own and take no
/// lock on the database.
fn list_users(conn: &mut DbConnection, id: &str) -> Result<(), StoreError> {
    if let DbConnection::Sqlite(sqlite) = conn {
        use diesel::connection::SimpleConnection;
        sqlite.batch_execute(
            "CREATE TEMP TABLE IF NOT EXISTS clearing_users (id TEXT PRIMARY KEY) WITHOUT ROWID; \
             DELETE FROM temp.clearing_users;",
        )?;
        diesel::insert_into(clearing_users::table)
            .values(
                users::table
                    .filter(users::client_id.eq(id))
                    .select(users::id),
            )
            .into_columns(clearing_users::id)
            .execute(conn)?;
    }
    Ok(())
}

/// SQLite: empties the list `list_users` made, before its transaction ends.
fn unlist_users(conn: &mut DbConnection) -> Result<(), StoreError> {
    if matches!(conn, DbConnection::Sqlite(_)) {
        diesel::delete(clearing_users::table).execute(conn)?;
    }
    Ok(())
}

/// The ids of the client's users.
fn user_ids(conn: &mut DbConnection, id: &str) -> Result<Vec<String>, StoreError> {
    Ok(users::table
        .filter(users::client_id.eq(id))
        .select(users::id)
        .load(conn)?)
}

/// The client's users' events whose address or user agent is stored in the open (written
/// before origins were sealed). The conditions are written out as the partial index
/// `auth_events_open_user_origin` states them, so that both databases use it.
macro_rules! open_user_origins {
    ($user_ids:expr) => {
        auth_events::table
            .filter(sql::<Bool>(
                "subject_kind = 'user' AND (ip IS NOT NULL OR user_agent IS NOT NULL)",
            ))
            .filter(auth_events::subject_id.eq_any($user_ids))
    };
}

/// The personal columns (and credentials) of a client's data that `clear_client` handles.
/// Employees' tables are staff data, outside a client's clearing.
pub const CLEARED_COLUMNS: &[(&str, &str)] = &[
    ("clients", "name"),
    ("users", "email"),
    ("users", "name"),
    ("users", "phone"),
    ("users", "phone_verified_at"),
    ("phone_codes", "binding"),
    ("phone_codes", "phone"),
    ("phone_codes", "ip"),
    ("phone_codes", "code_hash"),
    ("users", "password_hash"),
    ("temporary_keys", "key_hash"),
    ("sessions", "ip"),
    ("sessions", "user_agent"),
    ("refresh_tokens", "token_hash"),
    ("api_tokens", "name"),
    ("api_tokens", "token_prefix"),
    ("api_tokens", "token_hash"),
    ("auth_throttle", "throttle_key"),
    ("auth_events", "ip"),
    ("auth_events", "user_agent"),
    ("auth_events", "sealed_origin"),
    ("users", "origin_key"),
    ("user_identity_links", "subject"),
    ("user_identity_links", "email"),
    ("oidc_transactions", "state_hash"),
    ("oidc_transactions", "nonce"),
    ("oidc_transactions", "pkce_verifier"),
    ("totp_factors", "secret"),
    ("recovery_codes", "code_hash"),
    ("mfa_challenges", "id"),
    ("consent_records", "ip"),
    ("consent_records", "user_agent"),
    ("consent_tickets", "ticket_hash"),
];

/// Tables that hold no client's data, only staff's.
pub const NOT_A_CLIENTS_DATA: &[&str] = &["employees", "employee_identity_links"];

/// 128 random bits as 32 lowercase hex digits, from the database's own generator (SQLite's
/// ChaCha20, seeded by the operating system; PostgreSQL's strong random), as the domain's
/// `anonymized_name` makes from a random UUID.
fn random_hex_sql(conn: &DbConnection) -> &'static str {
    match conn {
        DbConnection::Sqlite(_) => "lower(hex(randomblob(16)))",
        DbConnection::Pg(_) => "replace(gen_random_uuid()::text, '-', '')",
    }
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl Store {
    /// Every known module and whether it is installed.
    pub fn modules(&self) -> Result<Vec<(Module, bool)>, StoreError> {
        let installed: Vec<(String, bool)> = modules::table
            .select((modules::name, modules::installed))
            .load(&mut *self.conn()?)?;
        Ok(Module::ALL
            .iter()
            .map(|m| {
                let on = installed.iter().any(|(name, on)| name == m.as_str() && *on);
                (*m, on)
            })
            .collect())
    }

    pub fn module_installed(&self, module: Module) -> Result<bool, StoreError> {
        Ok(modules::table
            .find(module.as_str())
            .select(modules::installed)
            .first(&mut *self.conn()?)
            .optional()?
            .unwrap_or(false))
    }

    pub fn set_module(
        &self,
        module: Module,
        installed: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write(|conn| {
            let changed = diesel::update(modules::table.find(module.as_str()))
                .set((
                    modules::installed.eq(installed),
                    modules::updated_at.eq(naive(now)),
                ))
                .execute(conn)?;
            if changed == 0 {
                diesel::insert_into(modules::table)
                    .values((
                        modules::name.eq(module.as_str()),
                        modules::installed.eq(installed),
                        modules::updated_at.eq(naive(now)),
                    ))
                    .execute(conn)?;
            }
            Ok(())
        })
    }

    /// Whether the client's data was cleared (it has a clearing record).
    pub fn client_cleared(&self, client_id: Uuid) -> Result<bool, StoreError> {
        Ok(diesel::select(diesel::dsl::exists(
            client_clearings::table.find(client_id.to_string()),
        ))
        .get_result(&mut *self.conn()?)?)
    }

    /// Clears the client `client_id` and all its users in one transaction, or (`dry_run`)
    /// only counts what it would do. A client cleared before answers its stored report and
    /// nothing changes. `cleared_by` and `reason` go into the audit record.
    pub fn clear_client(
        &self,
        client_id: Uuid,
        cleared_by: ClearedBy,
        reason: &str,
        dry_run: bool,
        now: DateTime<Utc>,
    ) -> Result<ClearReport, StoreError> {
        self.clear_client_between(client_id, cleared_by, reason, dry_run, now, |_| {})
    }

    /// `clear_client`, with `between` run after what is read before the transaction (the
    /// tests write there what other requests may write in that moment).
    fn clear_client_between(
        &self,
        client_id: Uuid,
        cleared_by: ClearedBy,
        reason: &str,
        dry_run: bool,
        now: DateTime<Utc>,
        between: impl FnOnce(&Store),
    ) -> Result<ClearReport, StoreError> {
        let id = client_id.to_string();
        if let Some(stored) = stored_report(&mut *self.read_conn()?, &id)? {
            return Ok(stored);
        }
        // On SQLite every other writer waits while the transaction runs: what can be read
        // before it is (counting the index entries of 100,000 events took longer than the
        // writes for 1,000 users), and inside only what is newer.
        let before = read_before(&mut *self.read_conn()?, &id, now)?;
        between(self);
        if dry_run {
            // Reads only: no write lock.
            let mut conn = self.read_conn()?;
            return conn.transaction(|conn| {
                if !exists_client(conn, &id)? {
                    return Err(StoreError::NotFound);
                }
                if let Some(stored) = stored_report(conn, &id)? {
                    return Ok(stored);
                }
                let before = confirmed(conn, &before)?;
                // A dry run counts by the ids on both databases (`count_clearing`).
                let user_ids = user_ids(conn, &id)?;
                list_users(conn, &id)?;
                let address_budgets = address_budgets_of(conn, &id, &before, now)?;
                let billing = billing_outcome(conn, client_id, now)?;
                let counts = count_clearing(conn, &id, &user_ids, &before, &address_budgets, now)?;
                unlist_users(conn)?;
                Ok(report(client_id, &counts, billing, true, now))
            });
        }
        self.write(|conn| {
            // Take the client's row first: concurrent clearings queue here, and SQLite takes
            // its write lock at once.
            let touched = diesel::update(clients::table.find(&id))
                .set(clients::id.eq(&id))
                .execute(conn)?;
            if touched == 0 {
                return Err(StoreError::NotFound);
            }
            if let Some(stored) = stored_report(conn, &id)? {
                return Ok(stored);
            }
            // Only PostgreSQL's statements bind the ids (`for_users`).
            let user_ids = match conn {
                DbConnection::Pg(_) => user_ids(conn, &id)?,
                DbConnection::Sqlite(_) => Vec::new(),
            };
            list_users(conn, &id)?;
            let before = confirmed(conn, &before)?;
            let address_budgets = address_budgets_of(conn, &id, &before, now)?;
            let billing = billing_outcome(conn, client_id, now)?;
            let counts = apply_clearing(
                conn,
                &id,
                &user_ids,
                &before,
                &address_budgets,
                billing,
                now,
            )?;
            let report = report(client_id, &counts, billing, false, now);
            let text =
                serde_json::to_string(&report).map_err(|e| StoreError::Other(e.to_string()))?;
            diesel::insert_into(client_clearings::table)
                .values((
                    client_clearings::client_id.eq(&id),
                    client_clearings::cleared_by.eq(cleared_by.as_str()),
                    client_clearings::employee_id
                        .eq(cleared_by.employee().map(|id| id.to_string())),
                    client_clearings::reason.eq(reason),
                    client_clearings::report.eq(text),
                    client_clearings::created_at.eq(naive(now)),
                ))
                .execute(conn)?;
            unlist_users(conn)?;
            Ok(report)
        })
    }
}

fn exists_client(conn: &mut DbConnection, id: &str) -> Result<bool, StoreError> {
    Ok(diesel::select(diesel::dsl::exists(clients::table.find(id))).get_result(conn)?)
}

/// The report of a clearing done before, if there was one.
fn stored_report(conn: &mut DbConnection, id: &str) -> Result<Option<ClearReport>, StoreError> {
    let stored: Option<String> = client_clearings::table
        .find(id)
        .select(client_clearings::report)
        .first(conn)
        .optional()?;
    stored
        .map(|text| serde_json::from_str(&text).map_err(|_| corrupt("a clearing report")))
        .transpose()
}

impl Store {
    /// Sets to NULL the sealed origins (addresses, user agents) of cleared clients' users'
    /// events, which the clearing made unreadable by destroying their keys, at most `batch`
    /// events per transaction, pausing as long after each, so that no other writer waits
    /// long; then marks the clearing done. Answers how many events changed.
    pub fn sweep_cleared_origins(
        &self,
        batch: usize,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let pending: Vec<String> = client_clearings::table
            .filter(client_clearings::origins_swept_at.is_null())
            .order(client_clearings::created_at)
            .select(client_clearings::client_id)
            .load(&mut *self.read_conn()?)?;
        let mut swept = 0;
        for client in pending {
            swept += self.sweep_origins_of(&client, batch.max(1))?;
            self.write(|conn| {
                diesel::update(client_clearings::table.find(&client))
                    .set(client_clearings::origins_swept_at.eq(naive(now)))
                    .execute(conn)?;
                Ok(())
            })?;
        }
        Ok(swept)
    }

    fn sweep_origins_of(&self, client_id: &str, batch: usize) -> Result<usize, StoreError> {
        let user_ids: Vec<String> = users::table
            .filter(users::client_id.eq(client_id))
            .select(users::id)
            .load(&mut *self.read_conn()?)?;
        let mut swept = 0;
        let mut ids: Vec<String> = Vec::new();
        for (i, user) in user_ids.iter().enumerate() {
            // Read outside the write transactions, a user at a time: with one read of all
            // the client's events, other SQLite writers waited 79 ms during the sweep instead
            // of 6-54 (probably the long read holding back the WAL checkpoint).
            ids.extend(
                auth_events::table
                    .filter(auth_events::subject_kind.eq(USER))
                    .filter(auth_events::subject_id.eq(user))
                    .filter(auth_events::sealed_origin.is_not_null())
                    .select(auth_events::id)
                    .load::<String>(&mut *self.read_conn()?)?,
            );
            let last = i + 1 == user_ids.len();
            while ids.len() >= batch || (last && !ids.is_empty()) {
                let chunk: Vec<String> = ids.drain(..ids.len().min(batch)).collect();
                // Half the writer's time at most: on SQLite, writers that waited for a batch
                // get in before the next one.
                let started = std::time::Instant::now();
                swept += self.write(|conn| {
                    if matches!(conn, DbConnection::Pg(_)) {
                        // The batch's commit does not wait for its WAL to reach the disk, so
                        // the sweep's 400 commits of 100,000 events do not queue for the WAL
                        // flush with other clients' sign-ins. Safe to lose in a crash: the
                        // values are unreadable already, and the synchronous commit that marks
                        // the clearing swept (below) flushes every batch before it; without
                        // it, the hourly job sweeps again.
                        diesel::sql_query("SET LOCAL synchronous_commit = off").execute(conn)?;
                    }
                    Ok(
                        diesel::update(auth_events::table.filter(auth_events::id.eq_any(&chunk)))
                            .set(auth_events::sealed_origin.eq(None::<String>))
                            .execute(conn)?,
                    )
                })?;
                std::thread::sleep(started.elapsed());
            }
        }
        Ok(swept)
    }
}

const USER: &str = SubjectKind::User.as_str();

/// The rows of `$table` (with `subject_kind` and `subject_id`) of the users `$user_ids`.
macro_rules! rows_of_users {
    ($table:ident, $user_ids:expr) => {
        $table::table
            .filter($table::subject_kind.eq(USER))
            .filter($table::subject_id.eq_any($user_ids))
    };
}

/// The throttle budgets named by the users `user_ids` (`throttle::subject_key`).
fn subject_budget_keys(user_ids: &[String]) -> Vec<String> {
    user_ids.iter().map(|id| format!("{USER}:{id}")).collect()
}

/// The phone numbers of the client's users.
fn user_phones(conn: &mut DbConnection, id: &str) -> Result<Vec<String>, StoreError> {
    Ok(users::table
        .filter(users::client_id.eq(id))
        .filter(users::phone.is_not_null())
        .select(users::phone.assume_not_null())
        .load(conn)?)
}

/// What a clearing reads before its transaction: the users' events up to `since` are
/// counted, and when budgets named by addresses exist, the addresses the users used. The
/// transaction reads only what came after `since`.
#[derive(Clone)]
struct ReadBefore {
    since: Since,
    events: u64,
    /// The addresses, and the lowest id of the sealed events they were read from; `None`
    /// when no budget named by an address existed.
    addresses: Option<(String, BTreeSet<String>)>,
}

/// Where the rows a clearing's transaction reads again (sessions, events) begin.
#[derive(Clone)]
enum Since {
    /// PostgreSQL: ids from this UUIDv7 on (as stored), a minute before the system's time
    /// when the reading began: ids are UUIDv7 of the system's clock, and a row committed
    /// after the reading may carry an id made a little before it.
    Floor(String),
    /// SQLite: rows after the last row of each table in the reading's snapshot, by rowid.
    /// Writers are serialized and a new row takes the largest rowid plus one, so a row
    /// committed after the snapshot has a larger rowid, however old its id: the transaction
    /// reads the rows written in the milliseconds since, not a minute of every client's
    /// events (6,000 rows under a flood of sign-ins, 2-3 ms of a lock others wait for).
    Rows { events: Mark, sessions: Mark },
}

/// SQLite: the last row of a table in a snapshot (rowid 0 and no id: the table was empty).
#[derive(Clone)]
struct Mark {
    rowid: i64,
    id: Option<String>,
}

impl Since {
    /// The first id (PostgreSQL) or the rowid after which (SQLite) auth events are new.
    fn events(&self) -> After<'_> {
        match self {
            Since::Floor(floor) => After::Id(floor),
            Since::Rows { events, .. } => After::Rowid(events.rowid),
        }
    }

    /// The same for sessions.
    fn sessions(&self) -> After<'_> {
        match self {
            Since::Floor(floor) => After::Id(floor),
            Since::Rows { sessions, .. } => After::Rowid(sessions.rowid),
        }
    }
}

enum After<'a> {
    Id(&'a str),
    Rowid(i64),
}

/// SQLite: the last row of `$table` by rowid, in the current snapshot.
macro_rules! mark_of {
    ($conn:ident, $table:ident) => {{
        let last: Option<(i64, String)> = $table::table
            .select((sql::<BigInt>("rowid"), $table::id))
            .order(sql::<BigInt>("rowid DESC"))
            .first($conn)
            .optional()?;
        match last {
            Some((rowid, id)) => Mark {
                rowid,
                id: Some(id),
            },
            None => Mark { rowid: 0, id: None },
        }
    }};
}

/// SQLite: whether the row a mark names is still there with its id. A rowid below the
/// largest can be taken again only once the rows above it are gone (a purge of everything,
/// a VACUUM renumbering): then the mark proves nothing.
macro_rules! mark_holds {
    ($conn:ident, $table:ident, $mark:expr) => {{
        match &$mark.id {
            None => true,
            Some(id) => {
                $table::table
                    .filter(sql::<Bool>("rowid = ").bind::<BigInt, _>($mark.rowid))
                    .select($table::id)
                    .first::<String>($conn)
                    .optional()?
                    .as_ref()
                    == Some(id)
            }
        }
    }};
}

fn read_before(
    conn: &mut DbConnection,
    id: &str,
    now: DateTime<Utc>,
) -> Result<ReadBefore, StoreError> {
    if matches!(conn, DbConnection::Sqlite(_)) {
        // One snapshot for the marks and what is read up to them.
        return conn.transaction(|conn| {
            let since = Since::Rows {
                events: mark_of!(conn, auth_events),
                sessions: mark_of!(conn, sessions),
            };
            read_up_to(conn, id, now, since)
        });
    }
    let floor = v7_floor((Utc::now() - chrono::Duration::minutes(1)).naive_utc());
    read_up_to(conn, id, now, Since::Floor(floor))
}

fn read_up_to(
    conn: &mut DbConnection,
    id: &str,
    now: DateTime<Utc>,
    since: Since,
) -> Result<ReadBefore, StoreError> {
    // Users who join the client from here on have no event before `since`.
    let user_ids = user_ids(conn, id)?;
    let mut events = 0;
    for ids in user_ids.chunks(CHUNK) {
        let query = auth_events::table
            .filter(auth_events::subject_id.eq_any(ids))
            .into_boxed();
        let query = match &since {
            Since::Floor(floor) => query.filter(auth_events::id.lt(floor.clone())),
            // Every row of the snapshot is at or before the mark.
            Since::Rows { .. } => query,
        };
        let older: i64 = query.count().get_result(conn)?;
        events += older;
    }
    let addresses = match sealed_from(&address_budgets(conn)?, now) {
        Some(sealed_from) => {
            let ips = addresses_of(conn, &user_ids, &sealed_from)?;
            Some((sealed_from, ips))
        }
        None => None,
    };
    Ok(ReadBefore {
        since,
        events: count(events),
        addresses,
    })
}

/// Inside the transaction: `before`, or on SQLite, when a mark no longer names its row,
/// what makes the transaction read that whole table again (the events' count then starts
/// from nothing; addresses read before stay, a superset).
fn confirmed(conn: &mut DbConnection, before: &ReadBefore) -> Result<ReadBefore, StoreError> {
    let mut before = before.clone();
    if let Since::Rows { events, sessions } = &mut before.since {
        if !mark_holds!(conn, auth_events, events) {
            *events = Mark { rowid: 0, id: None };
            before.events = 0;
        }
        if !mark_holds!(conn, sessions, sessions) {
            *sessions = Mark { rowid: 0, id: None };
        }
    }
    Ok(before)
}

/// Every budget named by an address, with the start of its current run.
fn address_budgets(
    conn: &mut DbConnection,
) -> Result<Vec<(String, Option<NaiveDateTime>)>, StoreError> {
    Ok(
        auth_throttle::table
            .filter(
                auth_throttle::throttle_key
                    .like(format!("{}%", throttle::ADDRESS_PREFIX))
                    .or(auth_throttle::throttle_key
                        .like(format!("{}%", throttle::RATE_ADDRESS_PREFIX))),
            )
            .select((
                auth_throttle::throttle_key,
                auth_throttle::streak_started_at,
            ))
            .load(conn)?,
    )
}

/// The lowest id of a sealed event that can belong to one of `budgets`' current runs
/// (`None`: there are no budgets). Event ids are UUIDv7 of the system's clock, ordered by
/// time: the index on (subject_id, id) skips older events without reading them. Budgets
/// carry the service's clock (a test's may run ahead): the floor is moved by the
/// difference, and a minute more for an id made just before its event's time was read.
fn sealed_from(budgets: &[(String, Option<NaiveDateTime>)], now: DateTime<Utc>) -> Option<String> {
    // A budget whose run began before origins were sealed has no start: all of them.
    let since = budgets
        .iter()
        .map(|(_, started)| started.unwrap_or_default())
        .min()?;
    let skew = now - Utc::now();
    let at = since
        .checked_sub_signed(skew + chrono::Duration::minutes(1))
        .unwrap_or_default();
    Some(v7_floor(at))
}

/// Runs `$body` with `$q`, the rows of `$table` (sessions, auth events) of the client
/// `$client_id`'s users that came after `$after` (`Since::events`, `Since::sessions`): the range of ids or rowids is
/// read and each row's subject tested, which for the few rows of a range is quicker than
/// finding each user's rows by subject. SQLite: the subject is looked up in the list
/// `list_users` made (the `+` keeps SQLite from reading the index by subject for each
/// listed user instead, which took longer for 1,000 users than a minute of events of every
/// client). PostgreSQL: the subject's user is looked up by id and client.
macro_rules! of_client_since {
    ($conn:ident, $table:ident, $after:expr, $client_id:expr, |$q:ident| $body:expr) => {
        match $after {
            After::Rowid(rowid) => {
                let $q = $table::table
                    .filter(sql::<Bool>("rowid > ").bind::<BigInt, _>(rowid))
                    .filter(sql::<Bool>(concat!(
                        "+",
                        stringify!($table),
                        ".subject_id IN (SELECT id FROM temp.clearing_users)"
                    )));
                $body
            }
            After::Id(from) => {
                let $q = $table::table.filter($table::id.ge(from)).filter(
                    sql::<Bool>(concat!(
                        "EXISTS (SELECT 1 FROM users WHERE users.id = ",
                        stringify!($table),
                        ".subject_id AND users.client_id = "
                    ))
                    .bind::<Text, _>($client_id)
                    .sql(")"),
                );
                $body
            }
        }
    };
}

/// The addresses the client's users used: of their sessions and of their events written
/// before origins were sealed, and of their sealed events with an id from `sealed_from` on.
fn addresses_of(
    conn: &mut DbConnection,
    user_ids: &[String],
    sealed_from: &str,
) -> Result<BTreeSet<String>, StoreError> {
    let mut ips = BTreeSet::new();
    for ids in user_ids.chunks(CHUNK) {
        ips.extend(
            rows_of_users!(sessions, ids)
                .filter(sessions::ip.is_not_null())
                .select(sessions::ip.assume_not_null())
                .load::<String>(conn)?,
        );
        ips.extend(
            open_user_origins!(ids)
                .filter(auth_events::ip.is_not_null())
                .select(auth_events::ip.assume_not_null())
                .load::<String>(conn)?,
        );
        let sealed: Vec<AuthEventRow> = auth_events::table
            .filter(auth_events::subject_kind.eq(USER))
            .filter(auth_events::subject_id.eq_any(ids))
            .filter(auth_events::id.ge(sealed_from))
            .filter(auth_events::sealed_origin.is_not_null())
            .select(AuthEventRow::as_select())
            .load(conn)?;
        ips.extend(opened_addresses(conn, sealed)?);
    }
    Ok(ips)
}

/// The addresses of `events`, their sealed origins opened.
fn opened_addresses(
    conn: &mut DbConnection,
    mut events: Vec<AuthEventRow>,
) -> Result<impl Iterator<Item = String>, StoreError> {
    super::auth_events::open_origins(conn, &mut events)?;
    Ok(events.into_iter().filter_map(|e| e.ip))
}

/// The addresses of the client's users' sessions and events after `since` (those since
/// `read_before`).
fn addresses_since(
    conn: &mut DbConnection,
    id: &str,
    since: &Since,
) -> Result<BTreeSet<String>, StoreError> {
    // Subject ids are UUIDs, unique across kinds: no condition on the kind, which SQLite
    // would answer from the index by subject instead of the range of ids.
    let session_ips: Vec<String> = of_client_since!(conn, sessions, since.sessions(), id, |q| q
        .filter(sessions::ip.is_not_null())
        .select(sessions::ip.assume_not_null())
        .load(conn)?);
    let mut ips: BTreeSet<String> = session_ips.into_iter().collect();
    let events: Vec<AuthEventRow> = of_client_since!(conn, auth_events, since.events(), id, |q| q
        .filter(auth_events::subject_kind.eq(USER))
        .filter(
            auth_events::sealed_origin
                .is_not_null()
                .or(auth_events::ip.is_not_null()),
        )
        .select(AuthEventRow::as_select())
        .load(conn)?);
    ips.extend(opened_addresses(conn, events)?);
    Ok(ips)
}

/// The budgets named by an address the users used (their keys hold the address). Such
/// budgets are few and short-lived; only when there are any are the users' addresses read:
/// those read before the transaction, and those of sessions and events since.
fn address_budgets_of(
    conn: &mut DbConnection,
    id: &str,
    before: &ReadBefore,
    now: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    let budgets = address_budgets(conn)?;
    let Some(sealed_from_now) = sealed_from(&budgets, now) else {
        return Ok(Vec::new());
    };
    let ips = match &before.addresses {
        // A budget's run that began before those read covered: read again from there.
        Some((read_from, _)) if sealed_from_now < *read_from => {
            let user_ids = user_ids(conn, id)?;
            addresses_of(conn, &user_ids, &sealed_from_now)?
        }
        Some((_, read)) => {
            let mut ips = read.clone();
            ips.extend(addresses_since(conn, id, &before.since)?);
            ips
        }
        None => {
            let user_ids = user_ids(conn, id)?;
            addresses_of(conn, &user_ids, &sealed_from_now)?
        }
    };
    Ok(budgets
        .into_iter()
        .map(|(key, _)| key)
        .filter(|key| {
            [throttle::RATE_ADDRESS_PREFIX, throttle::ADDRESS_PREFIX]
                .iter()
                .find_map(|prefix| key.strip_prefix(prefix))
                .is_some_and(|rest| {
                    // `{prefix}{address}:{…}`; an IPv6 address holds colons itself.
                    rest.match_indices(':')
                        .any(|(at, _)| ips.contains(&rest[..at]))
                })
        })
        .collect())
}

/// The lowest UUIDv7 (as stored) of the millisecond `at`.
fn v7_floor(at: NaiveDateTime) -> String {
    let millis = u64::try_from(at.and_utc().timestamp_millis()).unwrap_or(0);
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    Uuid::from_bytes(bytes).to_string()
}

/// What a clearing finds (a dry run) or changes, by rows.
#[derive(Debug, Default)]
struct Counts {
    users: u64,
    phones: u64,
    password_hashes: u64,
    active_users: u64,
    sessions: u64,
    live_sessions: u64,
    api_tokens: u64,
    live_api_tokens: u64,
    temporary_keys: u64,
    unused_temporary_keys: u64,
    auth_events: u64,
    consent_records: u64,
    throttle_budgets: u64,
    refresh_tokens: u64,
    phone_codes: u64,
    totp_secrets: u64,
    recovery_codes: u64,
    mfa_challenges: u64,
}

fn rows(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// How many rows are not yet revoked or used (`$ended` is NULL) and not expired at `$at`.
macro_rules! count_live {
    ($ended:literal, $at:expr) => {
        sql::<BigInt>(concat!(
            "COUNT(CASE WHEN ",
            $ended,
            " IS NULL AND expires_at > "
        ))
        .bind::<Timestamp, _>($at)
        .sql(" THEN 1 END)")
    };
}

/// What both a dry run and a clearing count by query: the rows of which only some are
/// revoked or deleted, and the users' events since `before`.
fn counts_by_query(
    conn: &mut DbConnection,
    id: &str,
    user_ids: &[String],
    before: &ReadBefore,
    now: DateTime<Utc>,
) -> Result<Counts, StoreError> {
    let now_naive = naive(now);
    // Subject ids are UUIDs, unique across kinds.
    let newer_events: i64 = of_client_since!(conn, auth_events, before.since.events(), id, |q| q
        .count()
        .get_result(conn)?);
    // One pass over each table for all that is counted of it.
    let (users, phones, password_hashes, active_users): (i64, i64, i64, i64) = users::table
        .filter(users::client_id.eq(id))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::count(users::phone),
            diesel::dsl::count(users::password_hash),
            sql::<BigInt>("COUNT(CASE WHEN status = ")
                .bind::<Text, _>(AccountStatus::Active.as_str())
                .sql(" THEN 1 END)"),
        ))
        .get_result(conn)?;
    let mut c = Counts {
        users: count(users),
        phones: count(phones),
        password_hashes: count(password_hashes),
        active_users: count(active_users),
        auth_events: before.events + count(newer_events),
        ..Counts::default()
    };
    for_users!(conn, user_ids, users, _nullable, _keys, {
        let (sessions, live_sessions): (i64, i64) = rows_of_users!(sessions, users!())
            .select((
                diesel::dsl::count_star(),
                count_live!("revoked_at", now_naive),
            ))
            .get_result(conn)?;
        let (api_tokens, live_api_tokens): (i64, i64) = rows_of_users!(api_tokens, users!())
            .select((
                diesel::dsl::count_star(),
                diesel::dsl::count(api_tokens::id) - diesel::dsl::count(api_tokens::revoked_at),
            ))
            .get_result(conn)?;
        let (temporary_keys, unused_temporary_keys): (i64, i64) =
            rows_of_users!(temporary_keys, users!())
                .select((diesel::dsl::count_star(), count_live!("used_at", now_naive)))
                .get_result(conn)?;
        c.sessions += count(sessions);
        c.live_sessions += count(live_sessions);
        c.api_tokens += count(api_tokens);
        c.live_api_tokens += count(live_api_tokens);
        c.temporary_keys += count(temporary_keys);
        c.unused_temporary_keys += count(unused_temporary_keys);
    });
    Ok(c)
}

/// A dry run's counts: what `apply_clearing` would change, counted by query.
fn count_clearing(
    conn: &mut DbConnection,
    id: &str,
    user_ids: &[String],
    before: &ReadBefore,
    address_budgets: &[String],
    now: DateTime<Utc>,
) -> Result<Counts, StoreError> {
    let mut c = counts_by_query(conn, id, user_ids, before, now)?;
    let address_budgets: i64 = auth_throttle::table
        .filter(auth_throttle::throttle_key.eq_any(address_budgets))
        .count()
        .get_result(conn)?;
    c.throttle_budgets = count(address_budgets);
    // SMS codes sent to the users, or to their numbers (a registration's or a sign-in's,
    // made before anyone was known); a code may be both.
    let mut phone_codes: BTreeSet<String> = BTreeSet::new();
    for phones in user_phones(conn, id)?.chunks(CHUNK) {
        phone_codes.extend(
            phone_codes::table
                .filter(phone_codes::phone.eq_any(phones))
                .select(phone_codes::id)
                .load::<String>(conn)?,
        );
    }
    for ids in user_ids.chunks(CHUNK) {
        let consents: i64 = consent_records::table
            .filter(consent_records::user_id.eq_any(ids))
            .count()
            .get_result(conn)?;
        let budgets: i64 = auth_throttle::table
            .filter(auth_throttle::throttle_key.eq_any(subject_budget_keys(ids)))
            .count()
            .get_result(conn)?;
        let refresh: i64 = refresh_tokens::table
            .filter(
                refresh_tokens::session_id
                    .eq_any(rows_of_users!(sessions, ids).select(sessions::id)),
            )
            .count()
            .get_result(conn)?;
        phone_codes.extend(
            rows_of_users!(phone_codes, ids)
                .select(phone_codes::id)
                .load::<String>(conn)?,
        );
        let totp: i64 = rows_of_users!(totp_factors, ids).count().get_result(conn)?;
        let recovery: i64 = rows_of_users!(recovery_codes, ids)
            .count()
            .get_result(conn)?;
        let challenges: i64 = rows_of_users!(mfa_challenges, ids)
            .count()
            .get_result(conn)?;
        c.consent_records += count(consents);
        c.throttle_budgets += count(budgets);
        c.refresh_tokens += count(refresh);
        c.totp_secrets += count(totp);
        c.recovery_codes += count(recovery);
        c.mfa_challenges += count(challenges);
    }
    c.phone_codes = phone_codes.len() as u64;
    Ok(c)
}

/// The legal hold of the client's billing details: `Held(until)` while it runs, `Removed`
/// when there are details and no hold runs.
#[derive(Debug, Clone, Copy)]
enum Billing {
    None,
    Held(Option<DateTime<Utc>>),
    Removed,
}

fn billing_outcome(
    conn: &mut DbConnection,
    client_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Billing, StoreError> {
    Ok(match load_billing(conn, client_id)? {
        Some(billing) if hold_runs(billing.legal_hold_until, now) => {
            Billing::Held(billing.legal_hold_until)
        }
        Some(_) => Billing::Removed,
        None => Billing::None,
    })
}

fn report(
    client_id: Uuid,
    c: &Counts,
    billing: Billing,
    dry_run: bool,
    now: DateTime<Utc>,
) -> ClearReport {
    let mut report = ClearReport {
        client_id,
        dry_run,
        cleared_at: (!dry_run).then_some(now),
        ..ClearReport::default()
    };
    report.anonymized.clients = 1;
    report.anonymized.users = c.users;
    report.anonymized.api_tokens = c.api_tokens;
    report.anonymized.sessions = c.sessions;
    report.anonymized.auth_events = c.auth_events;
    report.anonymized.consent_records = c.consent_records;
    report.deleted.phones = c.phones;
    report.deleted.password_hashes = c.password_hashes;
    report.deleted.throttle_budgets = c.throttle_budgets;
    report.deleted.refresh_tokens = c.refresh_tokens;
    report.deleted.temporary_keys = c.temporary_keys;
    report.deleted.phone_codes = c.phone_codes;
    report.deleted.totp_secrets = c.totp_secrets;
    report.deleted.recovery_codes = c.recovery_codes;
    report.deleted.mfa_challenges = c.mfa_challenges;
    report.deleted.billing_details = u64::from(matches!(billing, Billing::Removed));
    report.revoked.sessions = c.live_sessions;
    report.revoked.api_tokens = c.live_api_tokens;
    report.revoked.temporary_keys = c.unused_temporary_keys;
    report.revoked.users_disabled = c.active_users;
    let held_until = match billing {
        Billing::Held(until) => until,
        Billing::None | Billing::Removed => None,
    };
    report.kept = Kept {
        auth_events: c.auth_events,
        consent_records: c.consent_records,
        legal_hold: u64::from(matches!(billing, Billing::Held(_))),
        legal_hold_until: held_until,
        note: legal_hold_note(held_until),
    };
    report
}

/// `revoked_at` as it is, or `$at` where it is NULL: a revocation keeps its first time.
macro_rules! revoked_at_or {
    ($at:expr) => {
        sql::<Nullable<Timestamp>>("COALESCE(revoked_at, ")
            .bind::<Timestamp, _>($at)
            .sql(")")
    };
}

/// The clearing's writes; answers what was counted before them and how many rows each
/// changed.
fn apply_clearing(
    conn: &mut DbConnection,
    id: &str,
    user_ids: &[String],
    before: &ReadBefore,
    address_budgets: &[String],
    billing: Billing,
    now: DateTime<Utc>,
) -> Result<Counts, StoreError> {
    let mut c = counts_by_query(conn, id, user_ids, before, now)?;
    let now_naive = naive(now);
    let client_id = uuid(id)?;
    // Billing details stay while their legal hold runs; the legal-hold job removes them
    // the day it ends.
    if matches!(billing, Billing::Removed) {
        remove_billing(conn, client_id)?;
    }
    let disabled = AccountStatus::Disabled.as_str();
    diesel::update(clients::table.find(id))
        .set((
            clients::name.eq(anonymized_name(Uuid::new_v4())),
            clients::status.eq(disabled),
            clients::updated_at.eq(now_naive),
            clients::version.eq(clients::version + 1),
        ))
        .execute(conn)?;
    // SMS codes sent to the users' numbers (a registration's or a sign-in's, made before
    // anyone was known), found before the numbers go; as `for_users` names the users.
    if matches!(conn, DbConnection::Sqlite(_)) {
        c.phone_codes += rows(
            diesel::delete(
                phone_codes::table.filter(
                    phone_codes::phone.eq_any(
                        users::table
                            .filter(users::client_id.eq(id))
                            .filter(users::phone.is_not_null())
                            .select(users::phone.assume_not_null()),
                    ),
                ),
            )
            .execute(conn)?,
        );
    } else {
        for phones in user_phones(conn, id)?.chunks(CHUNK) {
            c.phone_codes += rows(
                diesel::delete(phone_codes::table.filter(phone_codes::phone.eq_any(phones)))
                    .execute(conn)?,
            );
        }
    }
    // Random values of the database's own generator (no kept mapping), one statement for
    // all users; their origin keys are destroyed, which makes every sealed address and user
    // agent of their events unreadable at once.
    let random = random_hex_sql(conn);
    diesel::update(users::table.filter(users::client_id.eq(id)))
        .set((
            users::email.eq(sql::<Text>(random).concat(format!("@{ANONYMIZED_EMAIL_DOMAIN}"))),
            users::name.eq(ANONYMIZED_NAME_PREFIX
                .into_sql::<Text>()
                .concat(sql::<Text>(random))),
            users::phone.eq(None::<String>),
            users::phone_verified_at.eq(None::<chrono::NaiveDateTime>),
            users::password_hash.eq(None::<String>),
            users::status.eq(disabled),
            users::updated_at.eq(now_naive),
            users::version.eq(users::version + 1),
            users::origin_key.eq(DESTROYED),
        ))
        .execute(conn)?;
    c.throttle_budgets = rows(
        diesel::delete(
            auth_throttle::table.filter(auth_throttle::throttle_key.eq_any(address_budgets)),
        )
        .execute(conn)?,
    );
    for_users!(conn, user_ids, users, nullable, keys, {
        // Refresh tokens first: they are found through the sessions.
        c.refresh_tokens += rows(
            diesel::delete(
                refresh_tokens::table.filter(
                    refresh_tokens::session_id
                        .eq_any(rows_of_users!(sessions, users!()).select(sessions::id)),
                ),
            )
            .execute(conn)?,
        );
        // Sessions are revoked and lose their origin in one pass.
        diesel::update(rows_of_users!(sessions, users!()))
            .set((
                sessions::revoked_at.eq(revoked_at_or!(now_naive)),
                sessions::ip.eq(None::<String>),
                sessions::user_agent.eq(None::<String>),
            ))
            .execute(conn)?;
        diesel::update(rows_of_users!(api_tokens, users!()))
            .set((
                api_tokens::name.eq(ANONYMIZED_NAME_PREFIX
                    .into_sql::<Text>()
                    .concat(sql::<Text>(random))),
                api_tokens::token_prefix.eq("biat_cleared"),
                api_tokens::token_hash.eq(sql::<Text>(random).concat(sql::<Text>(random))),
                api_tokens::revoked_at.eq(revoked_at_or!(now_naive)),
            ))
            .execute(conn)?;
        diesel::delete(rows_of_users!(temporary_keys, users!())).execute(conn)?;
        c.totp_secrets +=
            rows(diesel::delete(rows_of_users!(totp_factors, users!())).execute(conn)?);
        c.recovery_codes +=
            rows(diesel::delete(rows_of_users!(recovery_codes, users!())).execute(conn)?);
        c.mfa_challenges +=
            rows(diesel::delete(rows_of_users!(mfa_challenges, users!())).execute(conn)?);
        // Events sealed under the destroyed keys need no statement here; events written
        // before sealing hold their origin in the open.
        diesel::update(open_user_origins!(nullable!()))
            .set((
                auth_events::ip.eq(None::<String>),
                auth_events::user_agent.eq(None::<String>),
            ))
            .execute(conn)?;
        c.throttle_budgets += rows(
            diesel::delete(
                auth_throttle::table.filter(auth_throttle::throttle_key.eq_any(keys!())),
            )
            .execute(conn)?,
        );
        c.phone_codes +=
            rows(diesel::delete(rows_of_users!(phone_codes, nullable!())).execute(conn)?);
        // Identity-provider accounts and links being made: the person can no longer sign in
        // through them.
        diesel::delete(
            user_identity_links::table.filter(user_identity_links::user_id.eq_any(users!())),
        )
        .execute(conn)?;
        diesel::delete(
            oidc_transactions::table.filter(oidc_transactions::user_id.eq_any(nullable!())),
        )
        .execute(conn)?;
        // Consent records stay as the provider's evidence (Art. 7(1)) without where they
        // came from; pending re-consent steps of a sign-in go.
        c.consent_records += rows(
            diesel::update(
                consent_records::table.filter(consent_records::user_id.eq_any(users!())),
            )
            .set((
                consent_records::ip.eq(None::<String>),
                consent_records::user_agent.eq(None::<String>),
            ))
            .execute(conn)?,
        );
        diesel::delete(consent_tickets::table.filter(consent_tickets::user_id.eq_any(users!())))
            .execute(conn)?;
    });
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::personal_data::personal_columns;
    use crate::test_support::TestDb;
    use crate::{AuthEventRecord, DatabaseUrl};
    use domain::auth_method::AuthMethods;
    use domain::country::CountryCode;
    use domain::email::Email;
    use domain::model::{Client, Provider, Subject, User};
    use domain::policy::ProviderPolicies;
    use domain::provider::{ProviderSlug, ProviderStatus};

    /// A provider `slug`, its client and the client's user, registered.
    fn registered(store: &Store, slug: &str) -> (Client, User) {
        let t = Utc::now();
        let provider = Provider {
            id: Uuid::now_v7(),
            slug: ProviderSlug::parse(slug).unwrap(),
            name: "Acme".into(),
            jurisdiction: CountryCode::parse("DE").unwrap(),
            status: ProviderStatus::Active,
            auth_methods: AuthMethods::default(),
            policies: ProviderPolicies::default(),
            created_at: t,
            updated_at: t,
            version: 1,
        };
        store.insert_provider(&provider).unwrap();
        let client = Client {
            id: Uuid::now_v7(),
            provider_id: provider.id,
            name: "Client".into(),
            status: AccountStatus::Active,
            created_at: t,
            updated_at: t,
            version: 1,
        };
        let user = User {
            id: Uuid::now_v7(),
            provider_id: provider.id,
            client_id: client.id,
            email: Email::parse(&format!("a@{slug}.example")).unwrap(),
            name: "User".into(),
            phone: None,
            status: AccountStatus::Active,
            has_password: false,
            created_at: t,
            updated_at: t,
            version: 1,
        };
        store.register(&client, &user, "hash").unwrap();
        (client, user)
    }

    fn event(user: &User, id: Uuid) -> AuthEventRecord {
        AuthEventRecord {
            id,
            provider_id: Some(user.provider_id),
            subject: Some(Subject::user(user.id)),
            method: "password".into(),
            outcome: "failure".into(),
            reason: "wrong_password".into(),
            ip: Some("198.51.100.7".into()),
            user_agent: None,
            created_at: Utc::now(),
        }
    }

    /// An event id of an hour ago, as a request that began then and was slow makes.
    fn hour_old_id() -> Uuid {
        let secs = (Utc::now() - chrono::Duration::hours(1)).timestamp();
        Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            u64::try_from(secs).unwrap(),
            0,
        ))
    }

    fn raw(url: &str, sql: &str) {
        use diesel::connection::SimpleConnection;
        let mut conn = crate::connection::connect(&DatabaseUrl::parse(url).unwrap()).unwrap();
        conn.batch_execute(sql).unwrap();
    }

    /// Events written between the reading before the transaction and the transaction are
    /// counted, whatever their ids: SQLite finds them by rowid, not by a floor of ids (an
    /// event with an id older than the floor, committed in that moment, was missed). And
    /// when the last event the reading saw is gone and its rowid taken again, the
    /// transaction counts the events anew instead of trusting the mark. A dry run counts
    /// the same.
    #[test]
    fn a_clearing_counts_the_events_written_while_it_read_before_its_transaction() {
        for db in TestDb::all() {
            let store = Store::open(&DatabaseUrl::parse(&db.url).unwrap(), 2).unwrap();
            store.migrate().unwrap();
            // A user with two events, cleared with `between` run between the reading and the
            // transaction: how many of the user's events the report counts.
            let events_counted = |slug: &str, dry_run: bool, between: &dyn Fn(&Store, &User)| {
                let (client, user) = registered(&store, slug);
                for _ in 0..2 {
                    store
                        .insert_auth_event(&event(&user, Uuid::now_v7()))
                        .unwrap();
                }
                let report = store
                    .clear_client_between(
                        client.id,
                        ClearedBy::Schedule,
                        "test",
                        dry_run,
                        Utc::now(),
                        |store| between(store, &user),
                    )
                    .unwrap();
                report.anonymized.auth_events
            };
            // PostgreSQL reads again a minute of ids (its documented margin).
            let late = |db: &TestDb| {
                if db.is_postgres() {
                    Uuid::now_v7()
                } else {
                    hour_old_id()
                }
            };
            for (n, dry_run) in [true, false].into_iter().enumerate() {
                let counted = events_counted(&format!("late-{n}"), dry_run, &|store, user| {
                    store.insert_auth_event(&event(user, late(&db))).unwrap();
                });
                assert_eq!(counted, 3, "{} {dry_run}", db.backend());
                // Every event goes, then one is written: on SQLite it takes the first
                // rowid again.
                let counted = events_counted(&format!("gone-{n}"), dry_run, &|store, user| {
                    raw(&db.url, "DELETE FROM auth_events");
                    store
                        .insert_auth_event(&event(user, Uuid::now_v7()))
                        .unwrap();
                });
                assert_eq!(counted, 1, "{} {dry_run}", db.backend());
            }
        }
    }

    /// A personal column added to `personal_data::COLUMNS` for a client's data fails here
    /// until `clear_client` handles it.
    #[test]
    fn clearing_handles_every_personal_column() {
        let listed: BTreeSet<(&str, &str)> = personal_columns()
            .filter(|(_, _, class)| *class != crate::personal_data::DataClass::LegalHold)
            .filter(|(table, _, _)| !NOT_A_CLIENTS_DATA.contains(table))
            .map(|(t, c, _)| (t, c))
            .collect();
        let handled: BTreeSet<(&str, &str)> = CLEARED_COLUMNS.iter().copied().collect();
        assert_eq!(listed, handled);
    }
}
