//! GDPR: the optional modules, and clearing a client and its users (Art. 17) in one
//! transaction. What is cleared follows `personal_data::COLUMNS`; a test below fails when a
//! personal column of a client's data is listed there but not handled here.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use domain::billing::hold_runs;
use domain::gdpr::{
    ANONYMIZED_EMAIL_DOMAIN, ANONYMIZED_NAME_PREFIX, ClearReport, ClearedBy, Kept, Module,
    anonymized_name, legal_hold_note,
};
use domain::model::Subject;
use domain::provider::{AccountStatus, SubjectKind};
use domain::throttle;
use uuid::Uuid;

use super::Store;
use super::billing::{load_billing, remove_billing};
use super::revocation::revoke_everything_of;
use crate::error::corrupt;
use crate::origin::DESTROYED;
use crate::rows::{AuthEventRow, naive, uuid};
use crate::schema::{
    api_tokens, auth_events, auth_throttle, client_clearings, clients, consent_records,
    consent_tickets, mfa_challenges, modules, oidc_transactions, phone_codes, recovery_codes,
    refresh_tokens, sessions, temporary_keys, totp_factors, user_identity_links, users,
};
use crate::{DbConnection, StoreError};

/// The client's users' events whose address or user agent is stored in the open (written
/// before origins were sealed). The conditions are written out as the partial index
/// `auth_events_open_user_origin` states them, so that both databases use it.
macro_rules! open_user_origins {
    ($client_id:expr) => {
        auth_events::table
            .filter(sql::<Bool>(
                "subject_kind = 'user' AND (ip IS NOT NULL OR user_agent IS NOT NULL)",
            ))
            .filter(
                auth_events::subject_id.eq_any(
                    users::table
                        .filter(users::client_id.eq($client_id.to_string()))
                        .select(users::id.nullable()),
                ),
            )
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
        self.write(|conn| {
            let id = client_id.to_string();
            // Take the client's row first: concurrent clearings queue here, and SQLite takes
            // its write lock at once.
            let touched = diesel::update(clients::table.find(&id))
                .set(clients::id.eq(&id))
                .execute(conn)?;
            if touched == 0 {
                return Err(StoreError::NotFound);
            }
            let stored: Option<String> = client_clearings::table
                .find(&id)
                .select(client_clearings::report)
                .first(conn)
                .optional()?;
            if let Some(stored) = stored {
                return serde_json::from_str(&stored).map_err(|_| corrupt("a clearing report"));
            }
            // What the clearing touches is read once, in its transaction, for both steps.
            let s = scope(conn, client_id, now)?;
            let report = count_clearing(conn, &s, client_id, dry_run, now)?;
            if !dry_run {
                apply_clearing(conn, &s, client_id, now)?;
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
            }
            Ok(report)
        })
    }
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

struct Scope {
    user_ids: Vec<String>,
    session_ids: Vec<String>,
    throttle_keys: Vec<String>,
    /// SMS codes sent to the users, or to their numbers (a registration's or a sign-in's,
    /// made before anyone was known).
    phone_code_ids: Vec<String>,
}

const USER: &str = SubjectKind::User.as_str();

fn scope(
    conn: &mut DbConnection,
    client_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Scope, StoreError> {
    let user_ids: Vec<String> = users::table
        .filter(users::client_id.eq(client_id.to_string()))
        .select(users::id)
        .load(conn)?;
    let session_ids: Vec<String> = sessions::table
        .filter(sessions::subject_kind.eq(USER))
        .filter(sessions::subject_id.eq_any(&user_ids))
        .select(sessions::id)
        .load(conn)?;
    let mut throttle_keys: Vec<String> = user_ids
        .iter()
        .map(|id| Ok(throttle::subject_key(Subject::user(uuid(id)?))))
        .collect::<Result<_, StoreError>>()?;
    throttle_keys.extend(address_budgets_of(conn, client_id, &user_ids, now)?);
    let throttle_keys: Vec<String> = auth_throttle::table
        .filter(auth_throttle::throttle_key.eq_any(throttle_keys))
        .select(auth_throttle::throttle_key)
        .load(conn)?;
    let phones: Vec<String> = users::table
        .filter(users::id.eq_any(&user_ids))
        .filter(users::phone.is_not_null())
        .select(users::phone.assume_not_null())
        .load(conn)?;
    let phone_code_ids: Vec<String> = phone_codes::table
        .filter(
            phone_codes::subject_id
                .eq_any(&user_ids)
                .and(phone_codes::subject_kind.eq(USER))
                .or(phone_codes::phone.eq_any(&phones)),
        )
        .select(phone_codes::id)
        .load(conn)?;
    Ok(Scope {
        user_ids,
        session_ids,
        throttle_keys,
        phone_code_ids,
    })
}

/// The budgets named by an address the users used (their keys hold the address). Such
/// budgets are few and short-lived; only when there are any are the users' addresses read:
/// from their sessions, from events written before origins were sealed, and from their
/// sealed events as far back as the oldest of those budgets' current runs.
fn address_budgets_of(
    conn: &mut DbConnection,
    client_id: Uuid,
    user_ids: &[String],
    now: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    let budgets: Vec<(String, Option<NaiveDateTime>)> =
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
            .load(conn)?;
    if budgets.is_empty() {
        return Ok(Vec::new());
    }
    let mut ips: BTreeSet<String> = sessions::table
        .filter(sessions::subject_kind.eq(USER))
        .filter(sessions::subject_id.eq_any(user_ids))
        .filter(sessions::ip.is_not_null())
        .select(sessions::ip.assume_not_null())
        .load::<String>(conn)?
        .into_iter()
        .collect();
    ips.extend(
        open_user_origins!(client_id)
            .filter(auth_events::ip.is_not_null())
            .select(auth_events::ip.assume_not_null())
            .load::<String>(conn)?,
    );
    // A budget whose run began before origins were sealed has no start: all of them.
    let since = budgets
        .iter()
        .map(|(_, started)| started.unwrap_or_default())
        .min()
        .unwrap_or_default();
    // Event ids are UUIDv7 of the system's clock, ordered by time: the index on
    // (subject_id, id) skips older events without reading them. Budgets and events carry
    // the service's clock (a test's may run ahead): the floor is moved by the difference,
    // and a minute more for an id made just before its event's time was read.
    let skew = now - Utc::now();
    let id_floor = since
        .checked_sub_signed(skew + chrono::Duration::minutes(1))
        .unwrap_or_default();
    let mut sealed: Vec<AuthEventRow> = auth_events::table
        .filter(auth_events::subject_kind.eq(USER))
        .filter(auth_events::subject_id.eq_any(user_ids))
        .filter(auth_events::id.ge(v7_floor(id_floor)))
        .filter(auth_events::created_at.ge(since))
        .filter(auth_events::sealed_origin.is_not_null())
        .select(AuthEventRow::as_select())
        .load(conn)?;
    super::auth_events::open_origins(conn, &mut sealed)?;
    ips.extend(sealed.into_iter().filter_map(|e| e.ip));
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

fn count_clearing(
    conn: &mut DbConnection,
    s: &Scope,
    client_id: Uuid,
    dry_run: bool,
    now: DateTime<Utc>,
) -> Result<ClearReport, StoreError> {
    let ids = &s.user_ids;
    let users_of_client = || users::table.filter(users::id.eq_any(ids));
    let sessions_of = || {
        sessions::table
            .filter(sessions::subject_kind.eq(USER))
            .filter(sessions::subject_id.eq_any(ids))
    };
    let tokens_of = || {
        api_tokens::table
            .filter(api_tokens::subject_kind.eq(USER))
            .filter(api_tokens::subject_id.eq_any(ids))
    };
    let keys_of = || {
        temporary_keys::table
            .filter(temporary_keys::subject_kind.eq(USER))
            .filter(temporary_keys::subject_id.eq_any(ids))
    };
    // Subject ids are UUIDs, unique across kinds: counted in the index on (subject_id, id)
    // alone, without reading 100,000 rows.
    let events: i64 = auth_events::table
        .filter(
            auth_events::subject_id.eq_any(
                users::table
                    .filter(users::client_id.eq(client_id.to_string()))
                    .select(users::id.nullable()),
            ),
        )
        .count()
        .get_result(conn)?;
    let consents: i64 = consent_records::table
        .filter(consent_records::user_id.eq_any(ids))
        .count()
        .get_result(conn)?;
    let mut report = ClearReport {
        client_id,
        dry_run,
        cleared_at: (!dry_run).then_some(now),
        ..ClearReport::default()
    };
    report.anonymized.clients = 1;
    report.anonymized.users = count(users_of_client().count().get_result(conn)?);
    report.anonymized.api_tokens = count(tokens_of().count().get_result(conn)?);
    report.anonymized.sessions = count(sessions_of().count().get_result(conn)?);
    report.anonymized.auth_events = count(events);
    report.anonymized.consent_records = count(consents);
    report.deleted.phones = count(
        users_of_client()
            .filter(users::phone.is_not_null())
            .count()
            .get_result(conn)?,
    );
    report.deleted.password_hashes = count(
        users_of_client()
            .filter(users::password_hash.is_not_null())
            .count()
            .get_result(conn)?,
    );
    report.deleted.throttle_budgets = s.throttle_keys.len() as u64;
    report.deleted.refresh_tokens = count(
        refresh_tokens::table
            .filter(refresh_tokens::session_id.eq_any(&s.session_ids))
            .count()
            .get_result(conn)?,
    );
    report.deleted.temporary_keys = count(keys_of().count().get_result(conn)?);
    report.deleted.phone_codes = s.phone_code_ids.len() as u64;
    report.deleted.totp_secrets = count(
        totp_factors::table
            .filter(totp_factors::subject_kind.eq(USER))
            .filter(totp_factors::subject_id.eq_any(ids))
            .count()
            .get_result(conn)?,
    );
    report.deleted.recovery_codes = count(
        recovery_codes::table
            .filter(recovery_codes::subject_kind.eq(USER))
            .filter(recovery_codes::subject_id.eq_any(ids))
            .count()
            .get_result(conn)?,
    );
    report.deleted.mfa_challenges = count(
        mfa_challenges::table
            .filter(mfa_challenges::subject_kind.eq(USER))
            .filter(mfa_challenges::subject_id.eq_any(ids))
            .count()
            .get_result(conn)?,
    );
    report.revoked.sessions = count(
        sessions_of()
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(naive(now)))
            .count()
            .get_result(conn)?,
    );
    report.revoked.api_tokens = count(
        tokens_of()
            .filter(api_tokens::revoked_at.is_null())
            .count()
            .get_result(conn)?,
    );
    report.revoked.temporary_keys = count(
        keys_of()
            .filter(temporary_keys::used_at.is_null())
            .filter(temporary_keys::expires_at.gt(naive(now)))
            .count()
            .get_result(conn)?,
    );
    report.revoked.users_disabled = count(
        users_of_client()
            .filter(users::status.eq(AccountStatus::Active.as_str()))
            .count()
            .get_result(conn)?,
    );
    let held_until = match load_billing(conn, client_id)? {
        Some(billing) if hold_runs(billing.legal_hold_until, now) => billing.legal_hold_until,
        Some(_) => {
            report.deleted.billing_details = 1;
            None
        }
        None => None,
    };
    report.kept = Kept {
        auth_events: count(events),
        consent_records: count(consents),
        legal_hold: u64::from(held_until.is_some()),
        legal_hold_until: held_until,
        note: legal_hold_note(held_until),
    };
    Ok(report)
}

fn apply_clearing(
    conn: &mut DbConnection,
    s: &Scope,
    client_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let now_naive = naive(now);
    // Billing details stay while their legal hold runs; the legal-hold job removes them
    // the day it ends.
    let held = load_billing(conn, client_id)?
        .is_some_and(|billing| hold_runs(billing.legal_hold_until, now));
    if !held {
        remove_billing(conn, client_id)?;
    }
    let disabled = AccountStatus::Disabled.as_str();
    diesel::update(clients::table.find(client_id.to_string()))
        .set((
            clients::name.eq(anonymized_name(Uuid::new_v4())),
            clients::status.eq(disabled),
            clients::updated_at.eq(now_naive),
            clients::version.eq(clients::version + 1),
        ))
        .execute(conn)?;
    revoke_everything_of(conn, USER, &s.user_ids, now_naive)?;
    // Random values of the database's own generator (no kept mapping), one statement for
    // all users; their origin keys are destroyed, which makes every sealed address and user
    // agent of their events unreadable at once.
    let random = random_hex_sql(conn);
    diesel::update(users::table.filter(users::client_id.eq(client_id.to_string())))
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
    diesel::update(
        api_tokens::table
            .filter(api_tokens::subject_kind.eq(USER))
            .filter(api_tokens::subject_id.eq_any(&s.user_ids)),
    )
    .set((
        api_tokens::name.eq(ANONYMIZED_NAME_PREFIX
            .into_sql::<Text>()
            .concat(sql::<Text>(random))),
        api_tokens::token_prefix.eq("biat_cleared"),
        api_tokens::token_hash.eq(sql::<Text>(random).concat(sql::<Text>(random))),
    ))
    .execute(conn)?;
    diesel::update(
        sessions::table
            .filter(sessions::subject_kind.eq(USER))
            .filter(sessions::subject_id.eq_any(&s.user_ids)),
    )
    .set((
        sessions::ip.eq(None::<String>),
        sessions::user_agent.eq(None::<String>),
    ))
    .execute(conn)?;
    diesel::delete(refresh_tokens::table.filter(refresh_tokens::session_id.eq_any(&s.session_ids)))
        .execute(conn)?;
    diesel::delete(
        temporary_keys::table
            .filter(temporary_keys::subject_kind.eq(USER))
            .filter(temporary_keys::subject_id.eq_any(&s.user_ids)),
    )
    .execute(conn)?;
    super::second_factors::delete_second_factors(conn, USER, &s.user_ids)?;
    // Events sealed under the destroyed keys need no statement here; events written before
    // sealing hold their origin in the open.
    diesel::update(open_user_origins!(client_id))
        .set((
            auth_events::ip.eq(None::<String>),
            auth_events::user_agent.eq(None::<String>),
        ))
        .execute(conn)?;
    diesel::delete(
        auth_throttle::table.filter(auth_throttle::throttle_key.eq_any(&s.throttle_keys)),
    )
    .execute(conn)?;
    diesel::delete(phone_codes::table.filter(phone_codes::id.eq_any(&s.phone_code_ids)))
        .execute(conn)?;
    // Identity-provider accounts and links being made: the person can no longer sign in
    // through them.
    diesel::delete(
        user_identity_links::table.filter(user_identity_links::user_id.eq_any(&s.user_ids)),
    )
    .execute(conn)?;
    diesel::delete(oidc_transactions::table.filter(oidc_transactions::user_id.eq_any(&s.user_ids)))
        .execute(conn)?;
    // Consent records stay as the provider's evidence (Art. 7(1)) without where they came
    // from; pending re-consent steps of a sign-in go.
    diesel::update(consent_records::table.filter(consent_records::user_id.eq_any(&s.user_ids)))
        .set((
            consent_records::ip.eq(None::<String>),
            consent_records::user_agent.eq(None::<String>),
        ))
        .execute(conn)?;
    diesel::delete(consent_tickets::table.filter(consent_tickets::user_id.eq_any(&s.user_ids)))
        .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::personal_data::personal_columns;

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
