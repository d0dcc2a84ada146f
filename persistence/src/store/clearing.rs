//! GDPR: the optional modules, and clearing a client and its users (Art. 17) in one
//! transaction. What is cleared follows `personal_data::COLUMNS`; a test below fails when a
//! personal column of a client's data is listed there but not handled here.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::billing::hold_runs;
use domain::gdpr::{
    ClearReport, ClearedBy, Kept, Module, anonymized_email, anonymized_name, legal_hold_note,
};
use domain::model::Subject;
use domain::provider::{AccountStatus, SubjectKind};
use domain::throttle;
use uuid::Uuid;

use super::Store;
use super::billing::{load_billing, remove_billing};
use super::revocation::revoke_everything_of;
use crate::error::corrupt;
use crate::rows::{naive, uuid};
use crate::schema::{
    api_tokens, auth_events, auth_throttle, client_clearings, clients, consent_records,
    consent_tickets, mfa_challenges, modules, oidc_transactions, phone_codes, recovery_codes,
    refresh_tokens, sessions, temporary_keys, totp_factors, user_identity_links, users,
};
use crate::{DbConnection, StoreError};

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

/// Random bits shown as hex, for a credential column that must keep a unique value.
fn random_hex() -> String {
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
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
            let s = scope(conn, client_id)?;
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

struct Scope {
    user_ids: Vec<String>,
    session_ids: Vec<String>,
    throttle_keys: Vec<String>,
    /// SMS codes sent to the users, or to their numbers (a registration's or a sign-in's,
    /// made before anyone was known).
    phone_code_ids: Vec<String>,
}

const USER: &str = SubjectKind::User.as_str();

fn scope(conn: &mut DbConnection, client_id: Uuid) -> Result<Scope, StoreError> {
    let user_ids: Vec<String> = users::table
        .filter(users::client_id.eq(client_id.to_string()))
        .select(users::id)
        .load(conn)?;
    let session_ids: Vec<String> = sessions::table
        .filter(sessions::subject_kind.eq(USER))
        .filter(sessions::subject_id.eq_any(&user_ids))
        .select(sessions::id)
        .load(conn)?;
    // The addresses they used: the budgets kept per address name them.
    let mut ips: BTreeSet<String> = sessions::table
        .filter(sessions::subject_kind.eq(USER))
        .filter(sessions::subject_id.eq_any(&user_ids))
        .filter(sessions::ip.is_not_null())
        .select(sessions::ip.assume_not_null())
        .load::<String>(conn)?
        .into_iter()
        .collect();
    ips.extend(
        auth_events::table
            .filter(auth_events::subject_kind.eq(USER))
            .filter(auth_events::subject_id.eq_any(&user_ids))
            .filter(auth_events::ip.is_not_null())
            .select(auth_events::ip.assume_not_null())
            .load::<String>(conn)?,
    );
    let mut throttle_keys: BTreeSet<String> = BTreeSet::new();
    for id in &user_ids {
        throttle_keys.insert(throttle::subject_key(Subject::user(uuid(id)?)));
    }
    for ip in &ips {
        for prefix in [throttle::ADDRESS_PREFIX, throttle::RATE_ADDRESS_PREFIX] {
            let like = format!("{prefix}{ip}:%");
            let keys: Vec<String> = auth_throttle::table
                .filter(auth_throttle::throttle_key.like(like))
                .select(auth_throttle::throttle_key)
                .load(conn)?;
            throttle_keys.extend(keys);
        }
    }
    let throttle_keys: Vec<String> = auth_throttle::table
        .filter(auth_throttle::throttle_key.eq_any(throttle_keys.into_iter().collect::<Vec<_>>()))
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
    let events: i64 = auth_events::table
        .filter(auth_events::subject_kind.eq(USER))
        .filter(auth_events::subject_id.eq_any(ids))
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
    // One statement per user: each gets random values of its own (no kept mapping).
    for id in &s.user_ids {
        diesel::update(users::table.find(id))
            .set((
                users::email.eq(anonymized_email(Uuid::new_v4())),
                users::name.eq(anonymized_name(Uuid::new_v4())),
                users::phone.eq(None::<String>),
                users::phone_verified_at.eq(None::<chrono::NaiveDateTime>),
                users::password_hash.eq(None::<String>),
                users::status.eq(disabled),
                users::updated_at.eq(now_naive),
                users::version.eq(users::version + 1),
            ))
            .execute(conn)?;
    }
    let token_ids: Vec<String> = api_tokens::table
        .filter(api_tokens::subject_kind.eq(USER))
        .filter(api_tokens::subject_id.eq_any(&s.user_ids))
        .select(api_tokens::id)
        .load(conn)?;
    for id in token_ids {
        diesel::update(api_tokens::table.find(id))
            .set((
                api_tokens::name.eq(anonymized_name(Uuid::new_v4())),
                api_tokens::token_prefix.eq("biat_cleared"),
                api_tokens::token_hash.eq(random_hex()),
            ))
            .execute(conn)?;
    }
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
    diesel::update(
        auth_events::table
            .filter(auth_events::subject_kind.eq(USER))
            .filter(auth_events::subject_id.eq_any(&s.user_ids)),
    )
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
