use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use domain::ValidationErrors;
use domain::access::{EmployeeChange, self_lockout};
use domain::email::Email;
use domain::error::parse_name;
use domain::model::{Employee, Subject, parse_login};
use domain::permission::{Permission, ProviderScope, Role};
use domain::provider::AccountStatus;
use persistence::StoreError;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use super::params::{PageQuery, parse_id};
use super::precondition::{IfMatch, Stale, edit, tagged};
use super::resource;
use super::responses::{BadQuery, Invalid, NeedsPermission, NotFound, NotJson, PROBLEM_JSON};
use super::schemas::{self, AccountStatusName};
use super::users::{IssueTemporaryKey, TemporaryKeyResponse, key_response, key_ttl, present};
use crate::extract::{Json, Staff, need};
use crate::problem::{ApiError, ApiResult, Problem};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEmployee {
    /// What the employee signs in with: 2 to 64 of letters, digits and `. _ - @`; stored
    /// lower-cased, unique.
    #[schema(
        example = "j.doe",
        min_length = 2,
        max_length = 64,
        pattern = "^[A-Za-z0-9._@-]{2,64}$"
    )]
    pub login: String,
    #[schema(schema_with = schemas::name)]
    pub name: String,
    #[schema(schema_with = schemas::email_or_null)]
    pub email: Option<String>,
    /// At least one of `admin`, `support`, `billing`, `dpo` (repeats are dropped).
    #[schema(value_type = Vec<RoleName>, example = json!(["support"]), min_items = 1)]
    pub roles: Vec<Role>,
    /// The providers the employee may see; left out or `null` means all of them.
    #[serde(default)]
    #[schema(nullable = true)]
    pub providers: Option<Vec<Uuid>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateEmployee {
    #[schema(schema_with = schemas::name_or_null)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = schemas::email_change)]
    pub email: Option<Option<String>>,
    /// `active` or `disabled`. Disabling revokes everything the employee holds at once. Nobody
    /// can disable themselves. Left out or `null` keeps it.
    #[schema(value_type = Option<AccountStatusName>, example = "disabled")]
    pub status: Option<AccountStatus>,
}

/// Replaces an employee's roles and provider scope, both at once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmployeeRolesBody {
    /// At least one of `admin`, `support`, `billing`, `dpo` (repeats are dropped).
    #[schema(value_type = Vec<RoleName>, example = json!(["support", "dpo"]), min_items = 1)]
    pub roles: Vec<Role>,
    /// Required: `null` for all providers, or the ids of the providers the employee may see.
    #[serde(deserialize_with = "nullable")]
    #[schema(nullable = true, required = true)]
    pub providers: Option<Vec<Uuid>>,
}

/// A nullable field that must be present (serde would otherwise default it to `None`).
fn nullable<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)
}

/// An employee role; each is a fixed set of permissions.
#[derive(ToSchema)]
#[schema(as = Role, rename_all = "snake_case")]
#[allow(dead_code)]
pub enum RoleName {
    /// Everything, including employees and their roles.
    Admin,
    /// Clients and users, one-time keys for users, the auth log.
    Support,
    /// Clients and users, without keys or logs.
    Billing,
    /// Read access for the data-protection officer, the auth log.
    Dpo,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmployeeResponse {
    pub id: Uuid,
    pub login: String,
    pub name: String,
    pub email: Option<String>,
    #[schema(value_type = AccountStatusName)]
    pub status: String,
    #[schema(value_type = Vec<RoleName>, example = json!(["admin"]))]
    pub roles: Vec<String>,
    /// `null`: every provider; otherwise the providers the employee may see.
    pub providers: Option<Vec<Uuid>>,
    /// False until the employee sets a password.
    pub has_password: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Employee> for EmployeeResponse {
    fn from(e: Employee) -> Self {
        Self {
            id: e.id,
            login: e.login,
            name: e.name,
            email: e.email.map(|m| m.to_string()),
            status: e.status.as_str().into(),
            roles: e.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            providers: match e.providers {
                ProviderScope::All => None,
                ProviderScope::Only(ids) => Some(ids),
            },
            has_password: e.has_password,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmployeePage {
    pub items: Vec<EmployeeResponse>,
    #[schema(value_type = Option<super::schemas::CursorName>)]
    pub next_cursor: Option<String>,
}

/// Only employees who see every provider may change employees: anyone else could hand out
/// a wider scope than their own.
fn require_all_providers<P>(staff: &Staff<P>) -> ApiResult<()> {
    if matches!(staff.scope(), ProviderScope::All) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "an employee limited to some providers cannot change employees".into(),
        ))
    }
}

/// Changes an employee (see `precondition::edit`); disabling revokes everything they hold.
async fn edit_employee(
    state: &crate::state::AppState,
    id: Uuid,
    if_match: IfMatch,
    apply: impl Fn(&mut Employee) + Send + 'static,
) -> ApiResult<Employee> {
    let now = state.now();
    edit(
        state,
        if_match,
        move |store| store.employee(id).map_err(ApiError::from_store("employee")),
        move |employee| {
            apply(employee);
            employee.updated_at = now;
            Ok(())
        },
        move |store, employee| {
            store
                .update_employee(employee, now)
                .map_err(ApiError::from_store("employee"))
        },
    )
    .await
}

async fn load_employee(state: &crate::state::AppState, id: &str) -> ApiResult<Employee> {
    let id = parse_id(id, "employee")?;
    state
        .db(move |store| store.employee(id).map_err(ApiError::from_store("employee")))
        .await
}

/// Checks the roles, then the provider ids (each must exist); duplicates are dropped.
async fn parse_grants(
    state: &crate::state::AppState,
    mut roles: Vec<Role>,
    providers: Option<Vec<Uuid>>,
    errors: &mut ValidationErrors,
) -> ApiResult<(Vec<Role>, ProviderScope<Uuid>)> {
    // The store reads roles back in the order of their names; answer in that order too.
    roles.sort_by_key(|r| r.as_str());
    roles.dedup();
    if roles.is_empty() {
        errors.add("/roles", "must name at least one role");
    }
    let scope = match providers {
        None => ProviderScope::All,
        Some(ids) => {
            let checked = ids.clone();
            let missing = state
                .db(move |store| {
                    let mut missing = Vec::new();
                    for (i, id) in checked.iter().enumerate() {
                        match store.provider(*id) {
                            Ok(_) => {}
                            Err(StoreError::NotFound) => missing.push(i),
                            Err(e) => return Err(e.into()),
                        }
                    }
                    Ok(missing)
                })
                .await?;
            for i in missing {
                errors.add(&format!("/providers/{i}"), "no such provider");
            }
            let mut ids = ids;
            ids.sort();
            ids.dedup();
            ProviderScope::Only(ids)
        }
    };
    Ok((roles, scope))
}

fn login_taken(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(c) if c.field == Some("/login") => {
            ApiError::conflict_on("/login", "an employee with this login exists")
        }
        StoreError::NotFound => ApiError::NotFound("employee"),
        other => other.into(),
    }
}

/// Lists employees, oldest first. An employee limited to some providers sees only the
/// employees who can reach one of them: those who see every provider, and those limited to
/// at least one of the same providers.
#[utoipa::path(get, path = "/api/v1/employees", tag = "employees", operation_id = "list_employees",
    params(PageQuery), security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "A page of employees", body = EmployeePage),
        NeedsPermission, BadQuery,
    ))]
pub async fn list_employees(
    state: crate::state::State,
    staff: Staff<need::EmployeesRead>,
    query: crate::extract::Query<PageQuery>,
) -> ApiResult<web::Json<EmployeePage>> {
    let page = query.to_request()?;
    let scope = staff.scope().clone();
    let page = state
        .db(move |store| Ok(store.list_employees(&scope, page)?))
        .await?;
    Ok(web::Json(EmployeePage {
        next_cursor: page.next_cursor.map(|c| c.to_string()),
        items: page.items.into_iter().map(Into::into).collect(),
    }))
}

/// Creates an active employee without a password; hand them a one-time key
/// (POST /api/v1/employees/{id}/temporary-keys) to sign in for the first time. Only employees
/// who see every provider may create employees.
/// Not with an API token (403): API tokens create no credentials, employees or roles.
#[utoipa::path(post, path = "/api/v1/employees", tag = "employees", operation_id = "create_employee",
    request_body = CreateEmployee, security(("bearer" = [])),
    responses(
        (status = 201, description = "The new employee", body = EmployeeResponse),
        NeedsPermission, Invalid, NotJson,
        (status = 409, description = "The login is taken", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "A bad field, no role, or an unknown provider", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn create_employee(
    state: crate::state::State,
    staff: Staff<need::EmployeesWrite>,
    body: Json<CreateEmployee>,
) -> ApiResult<HttpResponse> {
    require_all_providers(&staff)?;
    let body = body.into_inner();
    let mut errors = ValidationErrors::new();
    let login = errors.check("/login", parse_login(&body.login));
    let name = errors.check("/name", parse_name(&body.name, 200));
    let email = match body.email.as_deref() {
        None => Some(None),
        Some(e) => errors.check("/email", Email::parse(e)).map(Some),
    };
    let (roles, providers) = parse_grants(&state, body.roles, body.providers, &mut errors).await?;
    let (Some(login), Some(name), Some(email), true) = (login, name, email, errors.is_empty())
    else {
        return Err(errors.into());
    };
    let now = state.now();
    let employee = Employee {
        id: Uuid::now_v7(),
        login,
        name,
        email,
        status: AccountStatus::Active,
        roles,
        providers,
        has_password: false,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let saved = employee.clone();
    state
        .db(move |store| store.insert_employee(&saved, None).map_err(login_taken))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/employees/{}", employee.id)))
        .json(EmployeeResponse::from(employee)))
}

/// Reads one employee; one outside the caller's view (see the list) is not found.
#[utoipa::path(get, path = "/api/v1/employees/{id}", tag = "employees", operation_id = "get_employee",
    params(("id" = Uuid, Path)), security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The employee", body = EmployeeResponse, headers(("ETag" = String, description = "The version, for `If-Match`"))),
        NeedsPermission, NotFound,
    ))]
pub async fn get_employee(
    state: crate::state::State,
    staff: Staff<need::EmployeesRead>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let employee = load_employee(&state, &id).await?;
    if !staff.scope().sees_employee(&employee.providers) {
        return Err(ApiError::NotFound("employee"));
    }
    Ok(tagged(employee.version, EmployeeResponse::from(employee)))
}

/// Changes an employee's name, e-mail (`null` removes it) or status. Disabling revokes
/// everything the employee holds at once; nobody can disable themselves (422), so the
/// installation cannot lose its last administrator by accident.
/// Not with an API token (403): API tokens create no credentials, employees or roles.
#[utoipa::path(patch, path = "/api/v1/employees/{id}", tag = "employees", operation_id = "update_employee",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "The `ETag` of the read this change is based on; 412 if the object changed since")), request_body = UpdateEmployee, security(("bearer" = [])),
    responses(
        (status = 200, description = "The employee after the change", body = EmployeeResponse, headers(("ETag" = String, description = "The version, for `If-Match`"))),
        NeedsPermission, NotFound, Invalid, NotJson, Stale,
        (status = 422, description = "A bad field, or disabling oneself", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn update_employee(
    state: crate::state::State,
    staff: Staff<need::EmployeesWrite>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Json<UpdateEmployee>,
) -> ApiResult<HttpResponse> {
    require_all_providers(&staff)?;
    let employee = load_employee(&state, &id).await?;
    let body = body.into_inner();
    let mut errors = ValidationErrors::new();
    let name = body
        .name
        .as_deref()
        .and_then(|name| errors.check("/name", parse_name(name, 200)));
    // `Some(None)` removes the e-mail.
    let email = match body.email {
        None => None,
        Some(None) => Some(None),
        Some(Some(email)) => errors.check("/email", Email::parse(&email)).map(Some),
    };
    let change = EmployeeChange {
        status: body.status,
        roles: None,
        providers: None,
    };
    for (field, message) in self_lockout(employee.id == staff.employee.id, change) {
        errors.add(field, message);
    }
    errors.into_result()?;
    let status = body.status;
    let employee = edit_employee(&state, employee.id, if_match, move |employee| {
        if let Some(name) = &name {
            employee.name = name.clone();
        }
        if let Some(email) = &email {
            employee.email = email.clone();
        }
        if let Some(status) = status {
            employee.status = status;
        }
    })
    .await?;
    Ok(tagged(employee.version, EmployeeResponse::from(employee)))
}

/// Replaces an employee's roles and providers. Employees cannot take away their own `admin`
/// role or limit their own providers (422), so the installation keeps an administrator.
/// Not with an API token (403): API tokens create no credentials, employees or roles.
#[utoipa::path(put, path = "/api/v1/employees/{id}/roles", tag = "employees", operation_id = "put_employee_roles",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "The `ETag` of the read this change is based on; 412 if the object changed since")), request_body = EmployeeRolesBody, security(("bearer" = [])),
    responses(
        (status = 200, description = "The employee after the change", body = EmployeeResponse, headers(("ETag" = String, description = "The version, for `If-Match`"))),
        NeedsPermission, NotFound, Invalid, NotJson, Stale,
        (status = 422, description = "No role, an unknown provider, or narrowing one's own access", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn put_employee_roles(
    state: crate::state::State,
    staff: Staff<need::EmployeesWrite>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Json<EmployeeRolesBody>,
) -> ApiResult<HttpResponse> {
    require_all_providers(&staff)?;
    let employee = load_employee(&state, &id).await?;
    let body = body.into_inner();
    let mut errors = ValidationErrors::new();
    let (roles, providers) = parse_grants(&state, body.roles, body.providers, &mut errors).await?;
    let change = EmployeeChange {
        status: None,
        roles: Some(&roles),
        providers: Some(&providers),
    };
    for (field, message) in self_lockout(employee.id == staff.employee.id, change) {
        errors.add(field, message);
    }
    errors.into_result()?;
    let employee = edit_employee(&state, employee.id, if_match, move |employee| {
        employee.roles = roles.clone();
        employee.providers = providers.clone();
    })
    .await?;
    Ok(tagged(employee.version, EmployeeResponse::from(employee)))
}

/// Issues a one-time login key for an employee, for example a new one's first sign-in. Only
/// employees who see every provider and may change employees can do this. The body is
/// optional. The key is in this answer only; it is never logged.
/// Not with an API token (403): API tokens create no credentials, employees or roles.
#[utoipa::path(post, path = "/api/v1/employees/{id}/temporary-keys", tag = "employees", operation_id = "issue_employee_temporary_key",
    params(("id" = Uuid, Path)),
    request_body(content = Option<IssueTemporaryKey>, description = "Optional; `{}` or no body uses the default lifetime"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The new key, shown this once", body = TemporaryKeyResponse),
        NeedsPermission, NotFound, Invalid, NotJson,
        (status = 409, description = "The employee is disabled", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn issue_employee_temporary_key(
    state: crate::state::State,
    staff: Staff<need::TemporaryKeysIssue>,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    require_all_providers(&staff)?;
    if !staff.has(Permission::EmployeesWrite) {
        return Err(ApiError::Forbidden(format!(
            "keys for employees need the permission {}",
            Permission::EmployeesWrite
        )));
    }
    let employee = load_employee(&state, &id).await?;
    let ttl = key_ttl(&state, &req, &body)?;
    if employee.status != AccountStatus::Active {
        return Err(ApiError::conflict("the employee is disabled"));
    }
    let now = state.now();
    let issued_by = staff.employee.id;
    let (key, expires_at) = state
        .db(move |store| {
            Ok(crate::temporary_keys::issue(
                store,
                Subject::employee(employee.id),
                None,
                Some(issued_by),
                ttl,
                now,
            )?)
        })
        .await?;
    Ok(key_response(key, expires_at))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/api/v1/employees")
            .get(list_employees)
            .post(create_employee),
    )
    .service(
        resource("/api/v1/employees/{id}")
            .get(get_employee)
            .patch(update_employee),
    )
    .service(resource("/api/v1/employees/{id}/roles").put(put_employee_roles))
    .service(resource("/api/v1/employees/{id}/temporary-keys").post(issue_employee_temporary_key));
}

#[derive(OpenApi)]
#[openapi(paths(
    list_employees,
    create_employee,
    get_employee,
    update_employee,
    put_employee_roles,
    issue_employee_temporary_key,
))]
struct Doc;

pub fn document() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
