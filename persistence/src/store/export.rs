//! A person's data export (GDPR Art. 15 and 20): everything held about a client and its
//! users, or about one user, read in one transaction so that the parts agree.

use diesel::prelude::*;
use domain::model::{Client, User};
use domain::provider::SubjectKind;
use uuid::Uuid;

use super::Store;
use super::billing::load_billing;
use super::consents::load_records;
use crate::records::{
    ApiTokenRecord, AuthEventRecord, ClientExport, ExportedApiToken, ExportedLink,
    ExportedSecondFactors, ExportedSession, ExportedTemporaryKey, SessionRecord, UserExport,
};
use crate::rows::{
    ApiTokenRow, AuthEventRow, ClientRow, SessionRow, UserRow, utc, uuid as parse_uuid,
};
use crate::schema::{
    api_tokens, auth_events, client_clearings, clients, recovery_codes, sessions, temporary_keys,
    totp_factors, user_identity_links, users,
};
use crate::{DbConnection, StoreError};

impl Store {
    /// Everything held about the client `client_id` and all its users.
    pub fn export_client(&self, client_id: Uuid) -> Result<ClientExport, StoreError> {
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            let id = client_id.to_string();
            let client: Client = clients::table
                .find(&id)
                .select(ClientRow::as_select())
                .first(conn)
                .optional()?
                .ok_or(StoreError::NotFound)?
                .try_into()?;
            let cleared_at = client_clearings::table
                .find(&id)
                .select(client_clearings::created_at)
                .first(conn)
                .optional()?
                .map(utc);
            let rows: Vec<UserRow> = users::table
                .filter(users::client_id.eq(&id))
                .order(users::id)
                .select(UserRow::as_select())
                .load(conn)?;
            let users = rows
                .into_iter()
                .map(|row| user_export(conn, row.try_into()?))
                .collect::<Result<_, StoreError>>()?;
            Ok(ClientExport {
                billing: load_billing(conn, client.id)?,
                client,
                users,
                cleared_at,
            })
        })
    }

    /// Everything held about one user, with their client's profile.
    pub fn export_user(&self, user_id: Uuid) -> Result<ClientExport, StoreError> {
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            let user: User = users::table
                .find(user_id.to_string())
                .select(UserRow::as_select())
                .first(conn)
                .optional()?
                .ok_or(StoreError::NotFound)?
                .try_into()?;
            let client: Client = clients::table
                .find(user.client_id.to_string())
                .select(ClientRow::as_select())
                .first(conn)?
                .try_into()?;
            let cleared_at = client_clearings::table
                .find(client.id.to_string())
                .select(client_clearings::created_at)
                .first(conn)
                .optional()?
                .map(utc);
            Ok(ClientExport {
                billing: load_billing(conn, client.id)?,
                client,
                users: vec![user_export(conn, user)?],
                cleared_at,
            })
        })
    }
}

/// The sessions, API tokens, one-time keys and auth events of `user`, oldest first.
fn user_export(conn: &mut DbConnection, user: User) -> Result<UserExport, StoreError> {
    let kind = SubjectKind::User.as_str();
    let id = user.id.to_string();
    let sessions = sessions::table
        .filter(sessions::subject_kind.eq(kind))
        .filter(sessions::subject_id.eq(&id))
        .order(sessions::created_at)
        .select(SessionRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|row| {
            let revoked_at = row.revoked_at.map(utc);
            Ok(ExportedSession {
                session: SessionRecord::try_from(row)?,
                revoked_at,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    let api_tokens = api_tokens::table
        .filter(api_tokens::subject_kind.eq(kind))
        .filter(api_tokens::subject_id.eq(&id))
        .order(api_tokens::created_at)
        .select(ApiTokenRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|row| {
            let revoked_at = row.revoked_at.map(utc);
            Ok(ExportedApiToken {
                token: ApiTokenRecord::try_from(row)?,
                revoked_at,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    let temporary_keys = temporary_keys::table
        .filter(temporary_keys::subject_kind.eq(kind))
        .filter(temporary_keys::subject_id.eq(&id))
        .order(temporary_keys::created_at)
        .select((
            temporary_keys::id,
            temporary_keys::issued_by,
            temporary_keys::created_at,
            temporary_keys::expires_at,
            temporary_keys::used_at,
        ))
        .load::<(String, Option<String>, _, _, Option<_>)>(conn)?
        .into_iter()
        .map(|(key_id, issued_by, created_at, expires_at, used_at)| {
            Ok(ExportedTemporaryKey {
                id: parse_uuid(&key_id)?,
                issued_by: issued_by.as_deref().map(parse_uuid).transpose()?,
                created_at: utc(created_at),
                expires_at: utc(expires_at),
                used_at: used_at.map(utc),
            })
        })
        .collect::<Result<_, StoreError>>()?;
    let mut auth_events: Vec<AuthEventRow> = auth_events::table
        .filter(auth_events::subject_kind.eq(kind))
        .filter(auth_events::subject_id.eq(&id))
        .order(auth_events::id)
        .select(AuthEventRow::as_select())
        .load(conn)?;
    super::auth_events::open_origins(conn, &mut auth_events)?;
    let auth_events = auth_events
        .into_iter()
        .map(AuthEventRecord::try_from)
        .collect::<Result<_, _>>()?;
    let links = user_identity_links::table
        .filter(user_identity_links::user_id.eq(&id))
        .order(user_identity_links::created_at)
        .select((
            user_identity_links::issuer,
            user_identity_links::subject,
            user_identity_links::email,
            user_identity_links::created_at,
            user_identity_links::last_used_at,
        ))
        .load::<(
            String,
            String,
            Option<String>,
            chrono::NaiveDateTime,
            Option<chrono::NaiveDateTime>,
        )>(conn)?
        .into_iter()
        .map(
            |(issuer, subject, email, created_at, last_used_at)| ExportedLink {
                issuer,
                subject,
                email,
                created_at: utc(created_at),
                last_used_at: last_used_at.map(utc),
            },
        )
        .collect();
    let totp: Option<(chrono::NaiveDateTime, Option<chrono::NaiveDateTime>)> = totp_factors::table
        .filter(totp_factors::subject_kind.eq(kind))
        .filter(totp_factors::subject_id.eq(&id))
        .select((totp_factors::created_at, totp_factors::confirmed_at))
        .first(conn)
        .optional()?;
    let recovery_codes_left: i64 = recovery_codes::table
        .filter(recovery_codes::subject_kind.eq(kind))
        .filter(recovery_codes::subject_id.eq(&id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)?;
    let second_factors = ExportedSecondFactors {
        totp_enrolled_at: totp.map(|(created, _)| utc(created)),
        totp_confirmed_at: totp.and_then(|(_, confirmed)| confirmed.map(utc)),
        recovery_codes_left,
    };
    Ok(UserExport {
        links,
        second_factors,
        sessions,
        api_tokens,
        temporary_keys,
        auth_events,
        consents: load_records(conn, user.id)?,
        user,
    })
}
