//! OpenID Connect: staff identity providers, flows in progress (single use), and the links
//! from an identity provider's (issuer, subject) to a user or an employee.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::model::{Client, Employee, Subject, User};
use domain::oidc::{MappedGrants, StaffIdentityProvider};
use domain::permission::{ProviderScope, Role};
use uuid::Uuid;

use super::Store;
use super::employees::write_grants;
use super::revocation::revoke_everything;
use crate::error::corrupt;
use crate::rows::{ClientRow, EmployeeRow, UserRow, naive, utc, uuid};
use crate::schema::{
    employee_identity_links, employees, oidc_transactions, staff_identity_providers,
    user_identity_links, users,
};
use crate::{DbConnection, StoreError};

/// One authorization-code flow in progress.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = oidc_transactions)]
pub struct OidcTransactionRecord {
    pub id: String,
    /// SHA-256 of `state`, hex: the state itself is not kept.
    pub state_hash: String,
    /// `google`, `keycloak` or `link_google`.
    pub kind: String,
    pub provider_id: Option<String>,
    pub staff_idp_id: Option<String>,
    pub user_id: Option<String>,
    pub issuer: String,
    pub redirect_uri: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

/// A user's account at an identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserLink {
    pub id: Uuid,
    pub provider_id: Uuid,
    pub user_id: Uuid,
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = user_identity_links)]
struct UserLinkRow {
    id: String,
    provider_id: String,
    user_id: String,
    issuer: String,
    subject: String,
    email: Option<String>,
    created_at: NaiveDateTime,
    last_used_at: Option<NaiveDateTime>,
}

impl From<&UserLink> for UserLinkRow {
    fn from(l: &UserLink) -> Self {
        Self {
            id: l.id.to_string(),
            provider_id: l.provider_id.to_string(),
            user_id: l.user_id.to_string(),
            issuer: l.issuer.clone(),
            subject: l.subject.clone(),
            email: l.email.clone(),
            created_at: naive(l.created_at),
            last_used_at: l.last_used_at.map(naive),
        }
    }
}

impl TryFrom<UserLinkRow> for UserLink {
    type Error = StoreError;

    fn try_from(r: UserLinkRow) -> Result<Self, StoreError> {
        Ok(UserLink {
            id: uuid(&r.id)?,
            provider_id: uuid(&r.provider_id)?,
            user_id: uuid(&r.user_id)?,
            issuer: r.issuer,
            subject: r.subject,
            email: r.email,
            created_at: utc(r.created_at),
            last_used_at: r.last_used_at.map(utc),
        })
    }
}

/// An employee's account at a staff identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmployeeLink {
    pub id: Uuid,
    pub employee_id: Uuid,
    pub staff_idp_id: Uuid,
    pub issuer: String,
    pub subject: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = staff_identity_providers)]
struct StaffIdpRow {
    id: String,
    name: String,
    issuer: String,
    client_id: String,
    client_secret: String,
    redirect_uris: String,
    role_mappings: String,
    enabled: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    accept_idp_mfa: bool,
    idp_mfa_acr_values: String,
}

impl From<&StaffIdentityProvider> for StaffIdpRow {
    fn from(p: &StaffIdentityProvider) -> Self {
        Self {
            id: p.id.to_string(),
            name: p.name.clone(),
            issuer: p.issuer.clone(),
            client_id: p.client_id.clone(),
            client_secret: p.client_secret.clone(),
            redirect_uris: serde_json::to_string(&p.redirect_uris).unwrap_or_default(),
            role_mappings: serde_json::to_string(&p.role_mappings).unwrap_or_default(),
            enabled: p.enabled,
            created_at: naive(p.created_at),
            updated_at: naive(p.updated_at),
            accept_idp_mfa: p.accept_idp_mfa,
            idp_mfa_acr_values: serde_json::to_string(&p.idp_mfa_acr_values).unwrap_or_default(),
        }
    }
}

impl TryFrom<StaffIdpRow> for StaffIdentityProvider {
    type Error = StoreError;

    fn try_from(r: StaffIdpRow) -> Result<Self, StoreError> {
        Ok(StaffIdentityProvider {
            id: uuid(&r.id)?,
            name: r.name,
            issuer: r.issuer,
            client_id: r.client_id,
            client_secret: r.client_secret,
            redirect_uris: serde_json::from_str(&r.redirect_uris)
                .map_err(|_| corrupt("redirect_uris"))?,
            role_mappings: serde_json::from_str(&r.role_mappings)
                .map_err(|_| corrupt("role_mappings"))?,
            enabled: r.enabled,
            created_at: utc(r.created_at),
            updated_at: utc(r.updated_at),
            accept_idp_mfa: r.accept_idp_mfa,
            idp_mfa_acr_values: serde_json::from_str(&r.idp_mfa_acr_values)
                .map_err(|_| corrupt("idp_mfa_acr_values"))?,
        })
    }
}

fn insert_user_link(conn: &mut DbConnection, link: &UserLink) -> Result<(), StoreError> {
    diesel::insert_into(user_identity_links::table)
        .values(UserLinkRow::from(link))
        .execute(conn)?;
    Ok(())
}

impl Store {
    // --- flows in progress ---

    /// Keeps a new flow; flows that expired before `now` go at the same time.
    pub fn insert_oidc_transaction(
        &self,
        transaction: &OidcTransactionRecord,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write(|conn| {
            diesel::delete(
                oidc_transactions::table.filter(oidc_transactions::expires_at.lt(naive(now))),
            )
            .execute(conn)?;
            diesel::insert_into(oidc_transactions::table)
                .values(transaction)
                .execute(conn)?;
            Ok(())
        })
    }

    /// Takes the flow of `state_hash` out: it works once, whatever happens next. `None`
    /// when there is none or it expired before `now`.
    pub fn take_oidc_transaction(
        &self,
        state_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<OidcTransactionRecord>, StoreError> {
        self.write(|conn| {
            let found: Option<OidcTransactionRecord> = oidc_transactions::table
                .filter(oidc_transactions::state_hash.eq(state_hash))
                .select(OidcTransactionRecord::as_select())
                .first(conn)
                .optional()?;
            let Some(found) = found else {
                return Ok(None);
            };
            diesel::delete(oidc_transactions::table.find(&found.id)).execute(conn)?;
            Ok(Some(found).filter(|t| t.expires_at > naive(now)))
        })
    }

    // --- users' links ---

    /// The user linked to (issuer, subject) at a provider.
    pub fn user_by_link(
        &self,
        provider_id: Uuid,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<UserLink>, StoreError> {
        user_identity_links::table
            .filter(user_identity_links::provider_id.eq(provider_id.to_string()))
            .filter(user_identity_links::issuer.eq(issuer))
            .filter(user_identity_links::subject.eq(subject))
            .select(UserLinkRow::as_select())
            .first(&mut *self.conn()?)
            .optional()?
            .map(UserLink::try_from)
            .transpose()
    }

    pub fn touch_user_link(&self, id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
        diesel::update(user_identity_links::table.find(id.to_string()))
            .set(user_identity_links::last_used_at.eq(Some(naive(now))))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    /// Links an identity to an existing user (from a signed-in session).
    pub fn link_user(&self, link: &UserLink) -> Result<(), StoreError> {
        self.write(|conn| insert_user_link(conn, link))
    }

    /// A registration through an identity provider: the client, its first user (no
    /// password) and the link, together or not at all.
    pub fn register_linked(
        &self,
        client: &Client,
        user: &User,
        link: &UserLink,
    ) -> Result<(), StoreError> {
        self.write(|conn| {
            diesel::insert_into(crate::schema::clients::table)
                .values(ClientRow::from(client))
                .execute(conn)?;
            diesel::insert_into(users::table)
                .values(UserRow::new(user, None))
                .execute(conn)?;
            insert_user_link(conn, link)
        })
    }

    pub fn user_links(&self, user_id: Uuid) -> Result<Vec<UserLink>, StoreError> {
        user_identity_links::table
            .filter(user_identity_links::user_id.eq(user_id.to_string()))
            .select(UserLinkRow::as_select())
            .order(user_identity_links::id.asc())
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(UserLink::try_from)
            .collect()
    }

    /// Removes one of a user's links (`NotFound` for another's).
    pub fn delete_user_link(&self, user_id: Uuid, id: Uuid) -> Result<(), StoreError> {
        let deleted = diesel::delete(
            user_identity_links::table
                .find(id.to_string())
                .filter(user_identity_links::user_id.eq(user_id.to_string())),
        )
        .execute(&mut *self.conn()?)?;
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    // --- employees' links ---

    pub fn employee_by_link(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<Uuid>, StoreError> {
        employee_identity_links::table
            .filter(employee_identity_links::issuer.eq(issuer))
            .filter(employee_identity_links::subject.eq(subject))
            .select(employee_identity_links::employee_id)
            .first::<String>(&mut *self.conn()?)
            .optional()?
            .map(|id| uuid(&id))
            .transpose()
    }

    /// A first login through a staff identity provider: the employee with their mapped
    /// roles, and the link.
    pub fn provision_employee(
        &self,
        employee: &Employee,
        link: &EmployeeLink,
    ) -> Result<(), StoreError> {
        self.write(|conn| {
            diesel::insert_into(employees::table)
                .values(EmployeeRow::new(employee, None))
                .execute(conn)?;
            write_grants(conn, employee)?;
            diesel::insert_into(employee_identity_links::table)
                .values((
                    employee_identity_links::id.eq(link.id.to_string()),
                    employee_identity_links::employee_id.eq(link.employee_id.to_string()),
                    employee_identity_links::staff_idp_id.eq(link.staff_idp_id.to_string()),
                    employee_identity_links::issuer.eq(&link.issuer),
                    employee_identity_links::subject.eq(&link.subject),
                    employee_identity_links::created_at.eq(naive(link.created_at)),
                    employee_identity_links::last_used_at.eq(Some(naive(link.created_at))),
                ))
                .execute(conn)?;
            Ok(())
        })
    }

    /// The roles an identity provider gives at a login replace the stored ones; with none,
    /// everything the employee holds is revoked. Returns the employee as now stored.
    pub fn replace_mapped_grants(
        &self,
        employee_id: Uuid,
        grants: Option<MappedGrants>,
        now: DateTime<Utc>,
    ) -> Result<Employee, StoreError> {
        let mut employee = self.employee(employee_id)?;
        self.write(|conn| {
            let (roles, scope) = grants.unwrap_or((Vec::new(), ProviderScope::Only(Vec::new())));
            let sorted = |roles: &[Role]| {
                let mut roles = roles.to_vec();
                roles.sort();
                roles
            };
            let changed = sorted(&employee.roles) != sorted(&roles) || employee.providers != scope;
            if changed {
                employee.roles = roles;
                employee.providers = scope;
                write_grants(conn, &employee)?;
                diesel::update(employees::table.find(employee_id.to_string()))
                    .set((
                        employees::all_providers
                            .eq(matches!(employee.providers, ProviderScope::All)),
                        employees::updated_at.eq(naive(now)),
                        employees::version.eq(employees::version + 1),
                    ))
                    .execute(conn)?;
            }
            if employee.roles.is_empty() {
                revoke_everything(conn, Subject::employee(employee_id), naive(now))?;
            }
            diesel::update(
                employee_identity_links::table
                    .filter(employee_identity_links::employee_id.eq(employee_id.to_string())),
            )
            .set(employee_identity_links::last_used_at.eq(Some(naive(now))))
            .execute(conn)?;
            Ok(())
        })?;
        Ok(employee)
    }

    // --- staff identity providers ---

    pub fn insert_staff_idp(&self, idp: &StaffIdentityProvider) -> Result<(), StoreError> {
        diesel::insert_into(staff_identity_providers::table)
            .values(StaffIdpRow::from(idp))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    pub fn staff_idp(&self, id: Uuid) -> Result<StaffIdentityProvider, StoreError> {
        staff_identity_providers::table
            .find(id.to_string())
            .select(StaffIdpRow::as_select())
            .first(&mut *self.conn()?)?
            .try_into()
    }

    /// All of them, oldest first: a handful, no paging.
    pub fn list_staff_idps(&self) -> Result<Vec<StaffIdentityProvider>, StoreError> {
        staff_identity_providers::table
            .select(StaffIdpRow::as_select())
            .order((
                staff_identity_providers::created_at.asc(),
                staff_identity_providers::id.asc(),
            ))
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(StaffIdentityProvider::try_from)
            .collect()
    }

    pub fn update_staff_idp(&self, idp: &StaffIdentityProvider) -> Result<(), StoreError> {
        let row = StaffIdpRow::from(idp);
        let changed = diesel::update(staff_identity_providers::table.find(&row.id))
            .set((
                staff_identity_providers::name.eq(&row.name),
                staff_identity_providers::issuer.eq(&row.issuer),
                staff_identity_providers::client_id.eq(&row.client_id),
                staff_identity_providers::client_secret.eq(&row.client_secret),
                staff_identity_providers::redirect_uris.eq(&row.redirect_uris),
                staff_identity_providers::role_mappings.eq(&row.role_mappings),
                staff_identity_providers::enabled.eq(row.enabled),
                staff_identity_providers::updated_at.eq(row.updated_at),
                staff_identity_providers::accept_idp_mfa.eq(row.accept_idp_mfa),
                staff_identity_providers::idp_mfa_acr_values.eq(&row.idp_mfa_acr_values),
            ))
            .execute(&mut *self.conn()?)?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Removes a staff identity provider with its links and flows; the employees stay.
    pub fn delete_staff_idp(&self, id: Uuid) -> Result<(), StoreError> {
        let id = id.to_string();
        self.write(|conn| {
            diesel::delete(
                employee_identity_links::table
                    .filter(employee_identity_links::staff_idp_id.eq(&id)),
            )
            .execute(conn)?;
            diesel::delete(
                oidc_transactions::table.filter(oidc_transactions::staff_idp_id.eq(&id)),
            )
            .execute(conn)?;
            let deleted =
                diesel::delete(staff_identity_providers::table.find(&id)).execute(conn)?;
            if deleted == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
    }
}
