//! The extractors: authentication, permissions, the caller's network details and JSON
//! bodies, so that no handler can forget them. The rules live in `crate::auth`.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::JsonPayloadError;
use actix_web::{FromRequest, HttpRequest};
use domain::api_token::api_token_may;
use domain::model::Employee;
use domain::permission::{Permission, ProviderScope, roles_grant};
use uuid::Uuid;

pub use crate::auth::client_info::ClientInfo;
use crate::auth::credentials::authenticate;
pub use crate::auth::principal::{Actor, Credential, Principal};
use crate::problem::{ApiError, redact_values};
use crate::state::State;

/// A query string read into `T`. A value that does not parse (`limit=abc`,
/// `from=yesterday`, a bad `cursor`) is a 422 pointing at `/query/<name>`, like a value out
/// of range, not a 400 with the parser's text.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// Reads a query string into `T`, naming the parameter a value is refused for.
pub fn from_query<T: serde::de::DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let pairs = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(pairs).map_err(|e| {
        let message = e.inner().to_string();
        let mut pointer = crate::problem::pointer_of(e.path());
        if pointer.is_empty() {
            // "duplicate field `limit`" names the parameter only in the message.
            if let Some(field) = message.split('`').nth(1) {
                pointer = format!("/{}", crate::problem::escape_pointer(field));
            }
        }
        let pointer = format!("/query{pointer}");
        let detail = crate::problem::redact_values(&message);
        ApiError::validation(&pointer, format!("is not valid: {detail}"))
    })
}

impl<T: serde::de::DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(from_query(req.query_string()).map(Query))
    }
}

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

/// A JSON value parsed with every object's keys checked: a key that comes twice is refused
/// (`{"role":"support","role":"admin"}` means different things to different parsers; serde
/// would silently keep the last).
struct UniqueKeys(serde_json::Value);

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(UniqueKeysVisitor)
            .map(UniqueKeys)
    }
}

struct UniqueKeysVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueKeysVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(UniqueKeys(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(items.into())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format_args!(
                    "duplicate key `{key}`"
                )));
            }
            let UniqueKeys(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(object.into())
    }
}

/// Turns a parsed body into `T`, refusing anything but an object.
pub fn from_object<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::validation("", "the body must be a JSON object"));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let pointer = crate::problem::pointer_of(e.path());
        ApiError::from_serde_at(&pointer, e.inner())
    })
}

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = json_body(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let UniqueKeys(value) = body.await.map_err(|e| json_error(e, &req))?;
            Ok(Json(from_object(value)?))
        })
    }
}

/// Largest JSON body accepted: forms are small; this keeps a flood of bytes out.
pub(crate) const JSON_LIMIT: usize = 64 * 1024;

/// The answers to a JSON body that cannot be read (also actix's `JsonConfig` handler, for
/// any other JSON extractor).
pub(crate) fn json_error(error: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    match error {
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType.into(),
        JsonPayloadError::Deserialize(e) => ApiError::from_serde(&e).into(),
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::BadRequest(format!("the body is larger than {JSON_LIMIT} bytes")).into()
        }
        other => ApiError::MalformedJson(redact_values(&other.to_string())).into(),
    }
}

/// A JSON body read as actix's `web::Json` reads it: the content type (`application/json`
/// or a `+json` type), the size limit (from `Content-Length` before reading, and while
/// reading), gzip, then the syntax; the errors go to the same handler. Only the buffer
/// differs: the body's own length instead of actix's 8 KiB, which mimalloc gave back to the
/// kernel after each request (`madvise`: 0.25 % of the CPU of a login flood).
fn json_body(
    req: &HttpRequest,
    payload: &mut Payload,
) -> impl Future<Output = Result<UniqueKeys, JsonPayloadError>> + use<> {
    use actix_web::HttpMessage;
    use actix_web::mime;
    use futures_util::StreamExt;

    let limit = JSON_LIMIT;
    let is_json = matches!(req.mime_type(), Ok(Some(m))
        if m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON));
    let length = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let mut payload = actix_web::dev::Decompress::from_headers(payload.take(), req.headers());
    async move {
        if !is_json {
            return Err(JsonPayloadError::ContentType);
        }
        if let Some(length) = length
            && length > limit
        {
            return Err(JsonPayloadError::OverflowKnownLength { length, limit });
        }
        let mut body = actix_web::web::BytesMut::with_capacity(length.unwrap_or(0).min(limit));
        while let Some(chunk) = payload.next().await {
            let chunk = chunk?;
            if body.len() + chunk.len() > limit {
                return Err(JsonPayloadError::Overflow { limit });
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(JsonPayloadError::Deserialize)
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
    ModulesRead => ModulesRead,
    ModulesWrite => ModulesWrite,
    ClientsClearData => ClientsClearData,
    ClientsExportData => ClientsExportData,
    ProcessorsRead => ProcessorsRead,
    JobsRead => JobsRead,
    AuditEventsRead => AuditEventsRead,
    ProcessorsWrite => ProcessorsWrite,
    IdentityProvidersRead => IdentityProvidersRead,
    IdentityProvidersWrite => IdentityProvidersWrite,
    ConsentsRead => ConsentsRead,
    ConsentsWrite => ConsentsWrite,
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
            if matches!(principal.credential, Credential::ApiToken { .. })
                && !api_token_may(P::PERMISSION)
            {
                return Err(ApiError::Forbidden(format!(
                    "an API token cannot use the permission {}: it creates credentials or \
                     employees; sign in",
                    P::PERMISSION
                )));
            }
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
