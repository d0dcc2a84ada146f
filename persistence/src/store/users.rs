use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::dsl::exists;
use diesel::prelude::*;
use domain::consent::ConsentRecord;
use domain::model::{Client, Provider, Subject, User};
use domain::provider::{AccountStatus, SubjectKind};
use uuid::Uuid;

use super::EnrolledFactors;
use super::auth_events::KnownOriginKey;
use super::consents::insert_records;
use super::credentials::set_password_hash;
use super::revocation::revoke_everything;
use super::throttle::reset_on_status_change;
use super::{Page, PageRequest, Store, missing_or_stale};
use crate::StoreError;
use crate::rows::{ClientRow, ProviderRow, UserRow, naive};
use crate::schema::{clients, consent_documents, providers, recovery_codes, totp_factors, users};

/// A user with the stored password hash, for sign-in only.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: Option<String>,
    /// For `SignInWrites::origin_key`: the sign-in's events are sealed without reading it again.
    pub origin_key: KnownOriginKey,
    /// The second factors the user enrolled, read with the account: the sign-in decides on
    /// a second step without reading them again.
    pub factors: EnrolledFactors,
    /// Whether the user's provider has consent documents; without any, nothing can be due
    /// and the sign-in does not read the consent records.
    pub provider_has_consent_documents: bool,
}

/// The columns `provider_and_user` reads of a found user beside the row.
type CredentialFacts = (
    Option<String>,
    Option<NaiveDateTime>,
    (bool, Option<i64>),
    bool,
);

/// `CredentialFacts` of the user of the row read, as correlated subselects: valid wherever
/// `users` is in the query, also left-joined (no user: no factors, no documents).
macro_rules! user_credential_facts {
    () => {{
        let kind = SubjectKind::User.as_str();
        (
            users::origin_key.nullable(),
            users::phone_verified_at.nullable(),
            factor_columns!(kind, users::id.nullable()),
            exists(
                consent_documents::table.filter(
                    consent_documents::provider_id
                        .nullable()
                        .eq(users::provider_id.nullable()),
                ),
            ),
        )
    }};
}

impl UserCredentials {
    fn from_row(
        (row, (origin_key, phone_verified_at, (totp, codes), documents)): (
            UserRow,
            CredentialFacts,
        ),
    ) -> Result<Self, StoreError> {
        let password_hash = row.password_hash.clone();
        let sms = row.phone.is_some() && phone_verified_at.is_some();
        let user: User = row.try_into()?;
        Ok(Self {
            origin_key: KnownOriginKey::new(user.id, origin_key),
            user,
            password_hash,
            factors: EnrolledFactors {
                totp,
                sms,
                recovery_codes_left: codes.unwrap_or(0),
            },
            provider_has_consent_documents: documents,
        })
    }
}

impl Store {
    pub fn insert_user(
        &self,
        user: &User,
        password_hash: Option<String>,
    ) -> Result<(), StoreError> {
        diesel::insert_into(users::table)
            .values(UserRow::new(user, password_hash))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    /// A registration: the client and its first user, together or not at all.
    pub fn register(
        &self,
        client: &Client,
        user: &User,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        self.register_with(client, user, Some(password_hash), None)
    }

    /// A registration with a password, a number verified by a code at `phone_verified_at`,
    /// or both. A number verified by another user of the provider is a `Conflict` at
    /// `/phone`.
    pub fn register_with(
        &self,
        client: &Client,
        user: &User,
        password_hash: Option<&str>,
        phone_verified_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        self.register_with_consents(client, user, password_hash, phone_verified_at, &[])
    }

    /// A registration with the consents given on its form, in the same transaction.
    pub fn register_with_consents(
        &self,
        client: &Client,
        user: &User,
        password_hash: Option<&str>,
        phone_verified_at: Option<DateTime<Utc>>,
        consents: &[ConsentRecord],
    ) -> Result<(), StoreError> {
        self.write(|conn| {
            diesel::insert_into(clients::table)
                .values(ClientRow::from(client))
                .execute(conn)?;
            diesel::insert_into(users::table)
                .values(UserRow::new(user, password_hash.map(str::to_owned)))
                .execute(conn)?;
            if let Some(at) = phone_verified_at {
                diesel::update(users::table.find(user.id.to_string()))
                    .set(users::phone_verified_at.eq(naive(at)))
                    .execute(conn)?;
            }
            insert_records(conn, consents)?;
            Ok(())
        })
    }

    /// When the user's current number was verified (`None`: no number, or not verified).
    pub fn user_phone_verified_at(&self, id: Uuid) -> Result<Option<DateTime<Utc>>, StoreError> {
        let at: Option<chrono::NaiveDateTime> = users::table
            .find(id.to_string())
            .select(users::phone_verified_at)
            .first(&mut *self.conn()?)?;
        Ok(at.map(crate::rows::utc))
    }

    /// The user's number when it is verified: where SMS as a second factor goes. `None`
    /// for no number, an unverified one, or no such user.
    pub fn user_verified_phone(&self, id: Uuid) -> Result<Option<String>, StoreError> {
        let row: Option<(Option<String>, Option<chrono::NaiveDateTime>)> = users::table
            .find(id.to_string())
            .select((users::phone, users::phone_verified_at))
            .first(&mut *self.conn()?)
            .optional()?;
        Ok(row.and_then(|(phone, at)| at.and(phone)))
    }

    /// Sets the user's number, verified now. `Conflict` at `/phone` when another user of
    /// the provider has verified it.
    pub fn set_verified_phone(
        &self,
        id: Uuid,
        phone: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let changed = diesel::update(users::table.find(id.to_string()))
            .set((
                users::phone.eq(phone),
                users::phone_verified_at.eq(naive(now)),
                users::updated_at.eq(naive(now)),
                users::version.eq(users::version + 1),
            ))
            .execute(&mut *self.conn()?)?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// The user of the provider who verified this number, if any.
    pub fn user_by_verified_phone(
        &self,
        provider_id: Uuid,
        phone: &str,
    ) -> Result<Option<User>, StoreError> {
        users::table
            .filter(users::provider_id.eq(provider_id.to_string()))
            .filter(users::phone.eq(phone))
            .filter(users::phone_verified_at.is_not_null())
            .select(UserRow::as_select())
            .first(&mut *self.conn()?)
            .optional()?
            .map(User::try_from)
            .transpose()
    }

    pub fn user(&self, id: Uuid) -> Result<User, StoreError> {
        users::table
            .find(id.to_string())
            .select(UserRow::as_select())
            .first(&mut *self.conn()?)?
            .try_into()
    }

    /// The user with this e-mail at this provider, with the password hash.
    pub fn user_credentials(
        &self,
        provider_id: Uuid,
        email: &str,
    ) -> Result<Option<UserCredentials>, StoreError> {
        let row = natively!(&mut *self.conn()?, |c| users::table
            .filter(users::provider_id.eq(provider_id.to_string()))
            .filter(users::email.eq(email))
            .select((UserRow::as_select(), user_credential_facts!()))
            .first(c)
            .optional()?);
        row.map(UserCredentials::from_row).transpose()
    }

    /// The provider `slug` and, with `email`, its user of that e-mail, in one statement: a
    /// password login's first reading (`api::auth::password`), a round trip less on
    /// PostgreSQL than reading them one after the other. The user's second factors and
    /// whether the provider has consent documents come as correlated subselects of the
    /// same statement (`UserCredentials`), which the sign-in would otherwise read after the
    /// hash, one statement each.
    pub fn provider_and_user(
        &self,
        slug: &str,
        email: Option<&str>,
    ) -> Result<(Provider, Option<UserCredentials>), StoreError> {
        let Some(email) = email else {
            return Ok((self.provider_by_slug(slug)?, None));
        };
        let (provider, user, facts) = natively!(&mut *self.conn()?, |c| providers::table
            .left_join(
                users::table.on(users::provider_id
                    .eq(providers::id)
                    .and(users::email.eq(email))),
            )
            .filter(providers::slug.eq(slug))
            .select((
                ProviderRow::as_select(),
                Option::<UserRow>::as_select(),
                user_credential_facts!(),
            ))
            .first::<(ProviderRow, Option<UserRow>, CredentialFacts)>(c)?);
        let user = user
            .map(|row| UserCredentials::from_row((row, facts)))
            .transpose()?;
        Ok((provider.try_into()?, user))
    }

    pub fn user_password_hash(&self, id: Uuid) -> Result<Option<String>, StoreError> {
        Ok(users::table
            .find(id.to_string())
            .select(users::password_hash)
            .first(&mut *self.conn()?)?)
    }

    pub fn list_users(&self, client_id: Uuid, page: PageRequest) -> Result<Page<User>, StoreError> {
        let mut query = users::table
            .filter(users::client_id.eq(client_id.to_string()))
            .select(UserRow::as_select())
            .order(users::id.asc())
            .limit(i64::from(page.limit) + 1)
            .into_boxed();
        if let Some(after) = page.after {
            query = query.filter(users::id.gt(after.to_string()));
        }
        let items = query
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(User::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, page.limit, |u| u.id))
    }

    /// Writes the changeable fields if the stored row still has `user.version` (`Stale` if
    /// not), and bumps the version; disabling revokes everything the user holds, at once.
    pub fn update_user(&self, user: &User, now: DateTime<Utc>) -> Result<(), StoreError> {
        let row = UserRow::new(user, None);
        self.write(|conn| {
            let previous: Option<(String, Option<String>)> = users::table
                .find(&row.id)
                .select((users::status, users::phone))
                .first(conn)
                .optional()?;
            reset_on_status_change(
                conn,
                Subject::user(user.id),
                previous.as_ref().map(|p| p.0.as_str()),
                user.status,
            )?;
            // A number set by staff is not one the user proved to hold.
            if previous.is_some_and(|p| p.1 != row.phone) {
                diesel::update(users::table.find(&row.id))
                    .set(users::phone_verified_at.eq(None::<chrono::NaiveDateTime>))
                    .execute(conn)?;
            }
            let changed = diesel::update(
                users::table
                    .find(&row.id)
                    .filter(users::version.eq(row.version)),
            )
            .set((
                users::email.eq(&row.email),
                users::name.eq(&row.name),
                users::phone.eq(&row.phone),
                users::status.eq(&row.status),
                users::updated_at.eq(row.updated_at),
                users::version.eq(users::version + 1),
            ))
            .execute(conn)?;
            if changed == 0 {
                let exists = diesel::select(exists(users::table.find(&row.id))).get_result(conn)?;
                return Err(missing_or_stale(exists));
            }
            if user.status == AccountStatus::Disabled {
                revoke_everything(conn, Subject::user(user.id), naive(now))?;
            }
            Ok(())
        })
    }

    /// Replaces a user's password hash (a rehash at login keeps the sessions).
    pub fn set_user_password_hash(&self, id: Uuid, hash: &str) -> Result<(), StoreError> {
        self.write(|conn| set_password_hash(conn, Subject::user(id), hash))
    }
}
