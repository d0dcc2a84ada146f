//! Authentication, permissions and the caller's network details are extractors, so that no
//! handler can forget them.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use domain::api_token::ApiTokenScope;
use domain::auth_method::AuthMethod;
use domain::model::{Employee, Subject, User};
use domain::permission::{Permission, ProviderScope, roles_grant};
use domain::provider::{AccountStatus, ProviderStatus, SubjectKind};
use domain::secret::{API_TOKEN_PREFIX, hash_secret, looks_like};
use uuid::Uuid;

use crate::authlog::{Attempt, Reason};
use crate::problem::ApiError;
use crate::state::{AppState, State};

/// Longest user agent kept in the auth log.
const MAX_USER_AGENT: usize = 512;

/// Where a request came from, for the auth log.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    pub fn from_request(req: &HttpRequest, trust_forwarded_for: bool) -> Self {
        let forwarded = trust_forwarded_for
            .then(|| req.headers().get("x-forwarded-for"))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .and_then(|v| v.parse::<std::net::IpAddr>().ok());
        let ip = forwarded.or_else(|| req.peer_addr().map(|a| a.ip()));
        let user_agent = req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(MAX_USER_AGENT).collect());
        Self {
            ip: ip.map(|ip| ip.to_string()),
            user_agent,
        }
    }

    pub fn ip_addr(&self) -> Option<std::net::IpAddr> {
        self.ip.as_deref().and_then(|ip| ip.parse().ok())
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

/// The person behind a request.
#[derive(Debug, Clone)]
pub enum Actor {
    User(User),
    Employee(Employee),
}

/// How they proved it.
#[derive(Debug, Clone, PartialEq)]
pub enum Credential {
    AccessToken { session: Uuid },
    ApiToken { id: Uuid, scope: ApiTokenScope },
    Authinfo,
}

#[derive(Debug, Clone)]
pub struct Principal {
    pub actor: Actor,
    pub credential: Credential,
}

impl Principal {
    pub fn subject(&self) -> Subject {
        match &self.actor {
            Actor::User(u) => Subject::user(u.id),
            Actor::Employee(e) => Subject::employee(e.id),
        }
    }

    pub fn provider_id(&self) -> Option<Uuid> {
        match &self.actor {
            Actor::User(u) => Some(u.provider_id),
            Actor::Employee(_) => None,
        }
    }

    pub fn session(&self) -> Option<Uuid> {
        match self.credential {
            Credential::AccessToken { session } => Some(session),
            _ => None,
        }
    }
}

pub fn subject_claim(subject: Subject) -> String {
    format!("{}:{}", subject.kind.as_str(), subject.id)
}

fn parse_subject_claim(value: &str) -> Option<Subject> {
    let (kind, id) = value.split_once(':')?;
    Some(Subject {
        kind: SubjectKind::parse(kind)?,
        id: Uuid::parse_str(id).ok()?,
    })
}

/// Loads the person behind `subject` if they may still act: active, and for a user, an
/// active provider whose `method` is on for login.
pub(crate) async fn load_actor(
    state: &AppState,
    subject: Subject,
    method: Option<AuthMethod>,
) -> Result<Actor, ApiError> {
    state
        .db(move |store| {
            let actor = match subject.kind {
                SubjectKind::User => {
                    let user = store
                        .user(subject.id)
                        .map_err(|_| ApiError::Unauthenticated)?;
                    let provider = store.provider(user.provider_id)?;
                    if provider.status != ProviderStatus::Active {
                        return Err(ApiError::Unauthenticated);
                    }
                    if let Some(method) = method
                        && !provider.auth_methods.login_enabled(method)
                    {
                        return Err(ApiError::MethodDisabled(method.as_str()));
                    }
                    Actor::User(user)
                }
                SubjectKind::Employee => Actor::Employee(
                    store
                        .employee(subject.id)
                        .map_err(|_| ApiError::Unauthenticated)?,
                ),
            };
            let status = match &actor {
                Actor::User(u) => u.status,
                Actor::Employee(e) => e.status,
            };
            if status != AccountStatus::Active {
                return Err(ApiError::Unauthenticated);
            }
            Ok(actor)
        })
        .await
}

async fn authenticate(req: HttpRequest) -> Result<Principal, ApiError> {
    let state = req
        .app_data::<State>()
        .cloned()
        .ok_or_else(|| ApiError::internal("state missing"))?;
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::Unauthenticated)?
        .to_str()
        .map_err(|_| ApiError::Unauthenticated)?
        .to_owned();
    let (scheme, credentials) = value.split_once(' ').ok_or(ApiError::Unauthenticated)?;
    let credentials = credentials.trim();
    let client = ClientInfo::from_request(&req, state.settings.trust_forwarded_for);
    if scheme.eq_ignore_ascii_case("basic") {
        return crate::auth_flow::authinfo(&state, credentials, &client).await;
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthenticated);
    }
    if credentials.starts_with(API_TOKEN_PREFIX) {
        return api_token(&state, &req, credentials, &client).await;
    }
    let claims = state
        .tokens
        .verify(credentials)
        .map_err(|_| ApiError::Unauthenticated)?;
    let subject = parse_subject_claim(&claims.sub).ok_or(ApiError::Unauthenticated)?;
    let session = Uuid::parse_str(&claims.sid).map_err(|_| ApiError::Unauthenticated)?;
    let now = state.now();
    let live = state
        .db(move |store| Ok(store.active_session(session, now)?))
        .await?
        .is_some_and(|s| s.subject == subject);
    if !live {
        return Err(ApiError::Unauthenticated);
    }
    let actor = load_actor(&state, subject, None).await?;
    Ok(Principal {
        actor,
        credential: Credential::AccessToken { session },
    })
}

async fn api_token(
    state: &AppState,
    req: &HttpRequest,
    secret: &str,
    client: &ClientInfo,
) -> Result<Principal, ApiError> {
    let now = state.now();
    let hash = hash_secret(secret);
    let record = if looks_like(API_TOKEN_PREFIX, secret) {
        state
            .db(move |store| Ok(store.use_api_token(&hash, now)?))
            .await?
    } else {
        None
    };
    let Some(record) = record else {
        state
            .record(
                Attempt::new(AuthMethod::ApiToken, Reason::InvalidToken),
                client,
            )
            .await;
        return Err(ApiError::Unauthenticated);
    };
    let attempt = |reason| {
        Attempt::new(AuthMethod::ApiToken, reason)
            .provider(record.provider_id)
            .subject(Some(record.subject))
    };
    let actor = match load_actor(state, record.subject, Some(AuthMethod::ApiToken)).await {
        Ok(actor) => actor,
        Err(e) => {
            let reason = match e {
                ApiError::MethodDisabled(_) => Reason::MethodDisabled,
                _ => Reason::AccountDisabled,
            };
            state.record(attempt(reason), client).await;
            return Err(e);
        }
    };
    state.record(attempt(Reason::Ok), client).await;
    let scope = ApiTokenScope::parse(&record.scope).unwrap_or(ApiTokenScope::Read);
    if !scope.allows(req.method().as_str()) {
        return Err(ApiError::Forbidden("this API token is read-only".into()));
    }
    Ok(Principal {
        actor,
        credential: Credential::ApiToken {
            id: record.id,
            scope,
        },
    })
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
        Box::pin(authenticate(req))
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
            let principal = authenticate(req).await?;
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

/// `?limit=&cursor=` of a collection.
#[derive(Debug, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (a UUID).
    #[param(value_type = Option<uuid::Uuid>)]
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn to_request(&self) -> Result<persistence::PageRequest, ApiError> {
        let limit = self.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(ApiError::validation(
                "/query/limit",
                "must be between 1 and 200",
            ));
        }
        let after = self
            .cursor
            .as_deref()
            .map(|c| {
                Uuid::parse_str(c).map_err(|_| {
                    ApiError::validation("/query/cursor", "is not a cursor from this API")
                })
            })
            .transpose()?;
        Ok(persistence::PageRequest { after, limit })
    }
}

/// A path id that is not a UUID is a 404 (there is no such object), as problem+json.
pub fn parse_id(value: &str, what: &'static str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(value).map_err(|_| ApiError::NotFound(what))
}
