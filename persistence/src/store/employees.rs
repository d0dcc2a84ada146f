use chrono::{DateTime, Utc};
use diesel::dsl::exists;
use diesel::prelude::*;
use domain::email::Email;
use domain::model::{Employee, Subject};
use domain::permission::{ProviderScope, Role};
use domain::provider::AccountStatus;
use uuid::Uuid;

use super::credentials::set_password_hash;
use super::revocation::revoke_everything;
use super::throttle::reset_on_status_change;
use super::{Page, PageRequest, Store, missing_or_stale};
use crate::error::corrupt;
use crate::rows::{EmployeeRow, naive, status, utc, uuid};
use crate::schema::{employee_providers, employee_roles, employees};
use crate::{DbConnection, StoreError};

/// An employee with the stored password hash, for sign-in only.
#[derive(Debug, Clone)]
pub struct EmployeeCredentials {
    pub employee: Employee,
    pub password_hash: Option<String>,
}

/// Reads an employee's roles and providers beside the row.
pub(super) fn complete(
    conn: &mut DbConnection,
    row: EmployeeRow,
) -> Result<EmployeeCredentials, StoreError> {
    let roles = employee_roles::table
        .filter(employee_roles::employee_id.eq(&row.id))
        .select(employee_roles::role)
        .order(employee_roles::role.asc())
        .load::<String>(conn)?
        .iter()
        .map(|r| Role::parse(r).ok_or_else(|| corrupt("role")))
        .collect::<Result<Vec<_>, _>>()?;
    let providers = if row.all_providers {
        ProviderScope::All
    } else {
        ProviderScope::Only(
            employee_providers::table
                .filter(employee_providers::employee_id.eq(&row.id))
                .select(employee_providers::provider_id)
                .order(employee_providers::provider_id.asc())
                .load::<String>(conn)?
                .iter()
                .map(|id| uuid(id))
                .collect::<Result<Vec<_>, _>>()?,
        )
    };
    let employee = Employee {
        id: uuid(&row.id)?,
        login: row.login,
        name: row.name,
        email: row
            .email
            .as_deref()
            .map(Email::parse)
            .transpose()
            .map_err(|_| corrupt("email"))?,
        status: status(&row.status)?,
        roles,
        providers,
        has_password: row.password_hash.is_some(),
        created_at: utc(row.created_at),
        updated_at: utc(row.updated_at),
        version: row.version,
    };
    Ok(EmployeeCredentials {
        employee,
        password_hash: row.password_hash,
    })
}

pub(super) fn write_grants(conn: &mut DbConnection, employee: &Employee) -> Result<(), StoreError> {
    let id = employee.id.to_string();
    diesel::delete(employee_roles::table.filter(employee_roles::employee_id.eq(&id)))
        .execute(conn)?;
    diesel::delete(employee_providers::table.filter(employee_providers::employee_id.eq(&id)))
        .execute(conn)?;
    for role in &employee.roles {
        diesel::insert_into(employee_roles::table)
            .values((
                employee_roles::employee_id.eq(&id),
                employee_roles::role.eq(role.as_str()),
            ))
            .execute(conn)?;
    }
    if let ProviderScope::Only(providers) = &employee.providers {
        for provider in providers {
            diesel::insert_into(employee_providers::table)
                .values((
                    employee_providers::employee_id.eq(&id),
                    employee_providers::provider_id.eq(provider.to_string()),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

impl Store {
    pub fn insert_employee(
        &self,
        employee: &Employee,
        password_hash: Option<String>,
    ) -> Result<(), StoreError> {
        self.write(|conn| {
            diesel::insert_into(employees::table)
                .values(EmployeeRow::new(employee, password_hash))
                .execute(conn)?;
            write_grants(conn, employee)
        })
    }

    pub fn employee(&self, id: Uuid) -> Result<Employee, StoreError> {
        let mut conn = self.conn()?;
        let row = employees::table
            .find(id.to_string())
            .select(EmployeeRow::as_select())
            .first(&mut *conn)?;
        complete(&mut conn, row).map(|c| c.employee)
    }

    pub fn employee_credentials(
        &self,
        login: &str,
    ) -> Result<Option<EmployeeCredentials>, StoreError> {
        let mut conn = self.conn()?;
        let row = employees::table
            .filter(employees::login.eq(login))
            .select(EmployeeRow::as_select())
            .first(&mut *conn)
            .optional()?;
        row.map(|row| complete(&mut conn, row)).transpose()
    }

    pub fn employee_password_hash(&self, id: Uuid) -> Result<Option<String>, StoreError> {
        Ok(employees::table
            .find(id.to_string())
            .select(employees::password_hash)
            .first(&mut *self.conn()?)?)
    }

    /// A page of the employees someone with `scope` sees
    /// (`domain::permission::ProviderScope::sees_employee`), oldest first.
    pub fn list_employees(
        &self,
        scope: &ProviderScope<Uuid>,
        page: PageRequest,
    ) -> Result<Page<Employee>, StoreError> {
        let mut conn = self.conn()?;
        let mut query = employees::table
            .select(EmployeeRow::as_select())
            .order(employees::id.asc())
            .limit(i64::from(page.limit) + 1)
            .into_boxed();
        if let Some(after) = page.after {
            query = query.filter(employees::id.gt(after.to_string()));
        }
        if let ProviderScope::Only(ids) = scope {
            let sharing = employee_providers::table
                .filter(employee_providers::provider_id.eq_any(ids.iter().map(Uuid::to_string)))
                .select(employee_providers::employee_id);
            query = query.filter(
                employees::all_providers
                    .eq(true)
                    .or(employees::id.eq_any(sharing)),
            );
        }
        let rows = query.load(&mut *conn)?;
        let items = rows
            .into_iter()
            .map(|row| complete(&mut conn, row).map(|c| c.employee))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, page.limit, |e| e.id))
    }

    /// Writes name, e-mail, status, roles and providers if the stored row still has
    /// `employee.version` (`Stale` if not), and bumps the version. Disabling revokes
    /// everything held.
    pub fn update_employee(
        &self,
        employee: &Employee,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let row = EmployeeRow::new(employee, None);
        self.write(|conn| {
            let previous: Option<String> = employees::table
                .find(&row.id)
                .select(employees::status)
                .first(conn)
                .optional()?;
            reset_on_status_change(
                conn,
                Subject::employee(employee.id),
                previous.as_deref(),
                employee.status,
            )?;
            let changed = diesel::update(
                employees::table
                    .find(&row.id)
                    .filter(employees::version.eq(row.version)),
            )
            .set((
                employees::name.eq(&row.name),
                employees::email.eq(&row.email),
                employees::status.eq(&row.status),
                employees::all_providers.eq(row.all_providers),
                employees::updated_at.eq(row.updated_at),
                employees::version.eq(employees::version + 1),
            ))
            .execute(conn)?;
            if changed == 0 {
                let exists =
                    diesel::select(exists(employees::table.find(&row.id))).get_result(conn)?;
                return Err(missing_or_stale(exists));
            }
            write_grants(conn, employee)?;
            if employee.status == AccountStatus::Disabled {
                revoke_everything(conn, Subject::employee(employee.id), naive(now))?;
            }
            Ok(())
        })
    }

    /// Replaces an employee's password hash (a rehash at login keeps the sessions).
    pub fn set_employee_password_hash(&self, id: Uuid, hash: &str) -> Result<(), StoreError> {
        self.write(|conn| set_password_hash(conn, Subject::employee(id), hash))
    }
}
