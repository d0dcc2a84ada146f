//! The extractors: authentication, permissions, the caller's network details and JSON
//! bodies, so that no handler can forget them. The rules live in `crate::auth`.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use domain::model::Employee;
use domain::permission::{Permission, ProviderScope, roles_grant};
use uuid::Uuid;

pub use crate::auth::client_info::ClientInfo;
use crate::auth::credentials::authenticate;
pub use crate::auth::principal::{Actor, Credential, Principal};
use crate::problem::ApiError;
use crate::state::State;

impl FromRequest for ClientInfo {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let trust = req
            .app_data::<State>()
            .is_some_and(|s| s.settings.trust_forwarded_for);
        std::future::ready(Ok(ClientInfo::from_request(req, trust)))
    }
}

/// The caller, from the request's `Authorization` header.
async fn principal(req: HttpRequest) -> Result<Principal, ApiError> {
    let state = req
        .app_data::<State>()
        .cloned()
        .ok_or_else(|| ApiError::internal("state missing"))?;
    authenticate(&state, &req).await
}

type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// A JSON request body that must be a JSON object. serde would also build a struct from an
/// array of its fields in order (`[null, null]`); a form is an object, so nothing else is
/// taken.
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// Turns a parsed body into `T`, refusing anything but an object.
pub fn from_object<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::validation("", "the body must be a JSON object"));
    }
    serde_json::from_value(value).map_err(|e| ApiError::from_serde(&e))
}

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // actix's extractor does the content type, the size limit and the syntax (with the
        // app's error handler); the shape is checked here.
        let body = actix_web::web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let value = body.await?.into_inner();
            Ok(Json(from_object(value)?))
        })
    }
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = LocalBoxFuture<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(principal(req))
    }
}

/// A permission a route needs, as a type.
pub trait Need {
    const PERMISSION: Permission;
}

macro_rules! needs {
    ($($name:ident => $permission:ident),+ $(,)?) => {
        /// Marker types for `Staff<...>`, one per permission.
        pub mod need {
            use super::*;
            $(
                pub struct $name;
                impl Need for $name {
                    const PERMISSION: Permission = Permission::$permission;
                }
            )+
        }
    };
}

needs!(
    ProvidersRead => ProvidersRead,
    ProvidersWrite => ProvidersWrite,
    ClientsRead => ClientsRead,
    ClientsWrite => ClientsWrite,
    UsersRead => UsersRead,
    UsersWrite => UsersWrite,
    EmployeesRead => EmployeesRead,
    EmployeesWrite => EmployeesWrite,
    TemporaryKeysIssue => TemporaryKeysIssue,
    AuthEventsRead => AuthEventsRead,
    SmsGatewaysRead => SmsGatewaysRead,
    SmsGatewaysWrite => SmsGatewaysWrite,
);

/// An employee holding permission `P`. Anyone else gets 401 (no credentials) or 403.
pub struct Staff<P> {
    pub employee: Employee,
    pub principal: Principal,
    _need: PhantomData<P>,
}

impl<P> Staff<P> {
    pub fn scope(&self) -> &ProviderScope<Uuid> {
        &self.employee.providers
    }

    /// Objects of providers outside the employee's scope are "not found", exactly like ids
    /// that do not exist.
    pub fn check_provider(&self, provider_id: Uuid, what: &'static str) -> Result<(), ApiError> {
        if self.employee.providers.allows(&provider_id) {
            Ok(())
        } else {
            Err(ApiError::NotFound(what))
        }
    }

    pub fn has(&self, permission: Permission) -> bool {
        roles_grant(&self.employee.roles, permission)
    }
}

impl<P: Need + 'static> FromRequest for Staff<P> {
    type Error = ApiError;
    type Future = LocalBoxFuture<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let principal = principal(req).await?;
            let Actor::Employee(employee) = &principal.actor else {
                return Err(ApiError::Forbidden("this needs an employee".into()));
            };
            if !roles_grant(&employee.roles, P::PERMISSION) {
                return Err(ApiError::Forbidden(format!(
                    "this needs the permission {}",
                    P::PERMISSION
                )));
            }
            Ok(Staff {
                employee: employee.clone(),
                principal,
                _need: PhantomData,
            })
        })
    }
}
