//! SMS gateways: the installation's generic HTTP and Twilio-compatible gateways, which
//! providers each serves, in which order they are tried, and their recent health.
//! Credentials are write-only: no answer, log line or error body holds them.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use domain::ValidationErrors;
use domain::error::parse_name;
use domain::permission::ProviderScope;
use domain::phone::PhoneNumber;
use domain::sms_gateway::{
    Credentials, Encoding, GatewayHealth, GatewayKind, HttpGateway, REQUEST_PLACEHOLDERS,
    SmsGateway, TwilioGateway, check_common, check_request_template, fill,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoResponses, OpenApi, ToSchema};
use uuid::Uuid;

use super::audit_events as audit;
use super::params::parse_id;
use super::precondition::{IfMatch, Stale, edit, tagged};
use super::resource;
use super::responses::{Invalid, NeedsPermission, NotFound, NotJson, PROBLEM_JSON};
use crate::extract::{Json, Staff, need};
use crate::outside::sms::SmsMessage;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::{AppState, State};

/// How a gateway is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SmsGatewayKind {
    /// A templated HTTP request (`http`).
    Http,
    /// Twilio's Messages API or a compatible one (`twilio`).
    Twilio,
}

/// A generic HTTP gateway.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// `GET`, `POST` or `PUT`.
    #[schema(example = "POST")]
    pub method: String,
    /// An http(s) URL; `{phone}`, `{message}`, `{sender}`, `{username}`, `{password}` are
    /// filled in URL-encoded.
    #[schema(example = "https://sms.example.com/send?to={phone}")]
    pub url: String,
    /// The body template (not with `GET`), filled in as `content_type` needs: JSON-escaped
    /// for JSON, URL-encoded for a form, as is otherwise.
    #[schema(example = "{\"to\":\"{phone}\",\"text\":\"{message}\",\"from\":\"{sender}\"}")]
    #[serde(default)]
    pub body: Option<String>,
    #[schema(example = "application/json")]
    #[serde(default)]
    pub content_type: Option<String>,
    /// Headers that are not secret; secret ones go in `credentials.headers`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Statuses that mean the gateway took the message; empty: any 2xx.
    #[serde(default)]
    pub success_statuses: Vec<u16>,
    /// Text the answer must contain to mean success.
    #[serde(default)]
    pub success_body_contains: Option<String>,
}

/// A Twilio-compatible gateway: `POST {base_url}/2010-04-01/Accounts/{account_sid}/Messages.json`
/// with `To`, `From` (the sender) or `MessagingServiceSid`, and `Body`, form-encoded, and
/// HTTP Basic with the account SID and `credentials.auth_token`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TwilioSettings {
    #[schema(example = "https://api.twilio.com")]
    #[serde(default)]
    pub base_url: Option<String>,
    #[schema(example = "AC0123456789abcdef0123456789abcdef")]
    pub account_sid: String,
    /// When set, sent instead of `From`.
    #[serde(default)]
    pub messaging_service_sid: Option<String>,
}

/// The secrets of a gateway: write-only. On an update, leaving them out keeps the stored
/// ones; sending them replaces all of them.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialsForm {
    /// For `{username}` in an HTTP gateway's templates.
    #[serde(default)]
    pub username: Option<String>,
    /// For `{password}` in an HTTP gateway's templates.
    #[serde(default)]
    pub password: Option<String>,
    /// A Twilio-compatible gateway's auth token.
    #[serde(default)]
    pub auth_token: Option<String>,
    /// Secret headers of an HTTP gateway, such as `Authorization`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// A gateway as written by a create or an update (a full replacement).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsGatewayForm {
    #[schema(example = "Main gateway")]
    pub name: String,
    pub kind: SmsGatewayKind,
    /// The providers whose messages it carries; `null` or left out: all of them.
    #[serde(default)]
    pub provider_ids: Option<Vec<Uuid>>,
    /// Lower goes first (0–1000); failover goes up.
    #[schema(example = 10)]
    pub priority: i32,
    /// Seconds before a code may be sent again (10–3600).
    #[schema(example = 60)]
    pub resend_timeout_seconds: u32,
    /// Seconds a code sent through it stays valid (60–600: at most 10 minutes).
    #[schema(example = 300)]
    pub code_validity_seconds: u32,
    /// The sender name or number (`{sender}`, Twilio's `From`).
    #[serde(default)]
    #[schema(example = "Hosting")]
    pub sender: Option<String>,
    /// Message templates by language, each with `{code}` and no other placeholder.
    #[schema(example = json!({"en": "Your code is {code}", "de": "Ihr Code lautet {code}"}))]
    pub templates: BTreeMap<String, String>,
    /// For `kind: http`.
    #[serde(default)]
    pub http: Option<HttpSettings>,
    /// For `kind: twilio`.
    #[serde(default)]
    pub twilio: Option<TwilioSettings>,
    #[serde(default)]
    pub credentials: Option<CredentialsForm>,
}

/// The circuit breaker of a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Circuit {
    /// Skipped until `open_until`, after failing too often in a row.
    Open,
    /// Used.
    Closed,
}

/// The recent health of a gateway, as seen by this instance since it started.
#[derive(Debug, Serialize, ToSchema)]
pub struct SmsGatewayHealth {
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub circuit: Circuit,
    pub open_until: Option<DateTime<Utc>>,
}

impl SmsGatewayHealth {
    fn new(health: GatewayHealth, now: DateTime<Utc>) -> Self {
        let open = health.is_open(now);
        Self {
            last_success_at: health.last_success_at,
            last_failure_at: health.last_failure_at,
            consecutive_failures: health.consecutive_failures,
            circuit: if open { Circuit::Open } else { Circuit::Closed },
            open_until: health.open_until.filter(|_| open),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SmsGatewayResponse {
    pub id: Uuid,
    pub name: String,
    pub kind: SmsGatewayKind,
    /// `null`: every provider.
    pub provider_ids: Option<Vec<Uuid>>,
    pub priority: i32,
    pub resend_timeout_seconds: u32,
    pub code_validity_seconds: u32,
    pub sender: Option<String>,
    pub templates: BTreeMap<String, String>,
    pub http: Option<HttpSettings>,
    pub twilio: Option<TwilioSettings>,
    /// Which credentials are set (`username`, `password`, `auth_token`, `headers.<name>`);
    /// never their values.
    pub credentials_set: Vec<String>,
    pub health: SmsGatewayHealth,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl SmsGatewayResponse {
    fn new(g: SmsGateway, health: GatewayHealth, now: DateTime<Utc>) -> Self {
        let c = &g.credentials;
        let mut credentials_set: Vec<String> = [
            ("username", c.username.is_some()),
            ("password", c.password.is_some()),
            ("auth_token", c.auth_token.is_some()),
        ]
        .into_iter()
        .filter(|(_, set)| *set)
        .map(|(name, _)| name.to_owned())
        .collect();
        credentials_set.extend(c.headers.keys().map(|h| format!("headers.{h}")));
        let (kind, http, twilio) = match g.kind {
            GatewayKind::Http(h) => (
                SmsGatewayKind::Http,
                Some(HttpSettings {
                    method: h.method,
                    url: h.url,
                    body: h.body,
                    content_type: h.content_type,
                    headers: h.headers,
                    success_statuses: h.success_statuses,
                    success_body_contains: h.success_body_contains,
                }),
                None,
            ),
            GatewayKind::Twilio(t) => (
                SmsGatewayKind::Twilio,
                None,
                Some(TwilioSettings {
                    base_url: Some(t.base_url),
                    account_sid: t.account_sid,
                    messaging_service_sid: t.messaging_service_sid,
                }),
            ),
        };
        Self {
            id: g.id,
            name: g.name,
            kind,
            provider_ids: match g.providers {
                ProviderScope::All => None,
                ProviderScope::Only(ids) => Some(ids),
            },
            priority: g.priority,
            resend_timeout_seconds: g.resend_timeout_seconds,
            code_validity_seconds: g.code_validity_seconds,
            sender: g.sender,
            templates: g.templates,
            http,
            twilio,
            credentials_set,
            health: SmsGatewayHealth::new(health, now),
            created_at: g.created_at,
            updated_at: g.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SmsGatewayList {
    /// By priority, lowest (tried first) first.
    pub items: Vec<SmsGatewayResponse>,
}

/// A test text to one number.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsGatewayTest {
    /// E.164.
    #[schema(example = "+4915112345678")]
    pub phone: String,
    /// The template's language; `en` (or the first template) when left out.
    #[serde(default)]
    pub language: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SmsGatewayTestResult {
    /// The gateway took the message.
    pub sent: bool,
    /// The gateway's id of the message, when it gives one.
    pub message_id: Option<String>,
}

/// 502: the gateway did not take the test text.
#[derive(IntoResponses)]
#[response(
    status = 502,
    description = "The gateway failed (`sms_gateway_failed`): its status or a timeout, never its answer",
    content_type = PROBLEM_JSON
)]
pub struct GatewayFailed(pub Problem);

const BASE_TWILIO: &str = "https://api.twilio.com";

fn is_sid(value: &str) -> bool {
    (2..=64).contains(&value.len()) && value.chars().all(|c| c.is_ascii_alphanumeric())
}

/// An http(s) URL once the placeholders are filled with sample values.
fn check_url(template: &str) -> Result<(), String> {
    check_request_template(template)?;
    let sample: Vec<(&str, &str)> = REQUEST_PLACEHOLDERS.iter().map(|n| (*n, "x")).collect();
    let url = reqwest::Url::parse(&fill(template, &sample, Encoding::Url))
        .map_err(|_| "is not a URL".to_owned())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an http or https URL".into());
    }
    Ok(())
}

/// Headers that carry credentials by their nature; they belong in the write-only part.
fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "x-api-key" | "api-key"
    )
}

fn check_headers(headers: &BTreeMap<String, String>, pointer: &str, errors: &mut ValidationErrors) {
    use reqwest::header::{HeaderName, HeaderValue};
    for (name, value) in headers {
        if HeaderName::from_bytes(name.as_bytes()).is_err() || HeaderValue::from_str(value).is_err()
        {
            errors.add(
                &format!("{pointer}/{name}"),
                "is not a valid header name or value",
            );
        }
    }
}

/// Checks a form into a gateway; `stored` is the gateway being replaced (its credentials
/// stay when the form has none).
fn parse_form(
    form: SmsGatewayForm,
    stored: Option<&Credentials>,
) -> Result<(String, ProviderScopeForm, GatewayParts), ApiError> {
    let mut errors = ValidationErrors::new();
    let name = errors.check("/name", parse_name(&form.name, 200));
    check_common(
        form.priority,
        form.resend_timeout_seconds,
        form.code_validity_seconds,
        &form.templates,
        &mut errors,
    );
    let sender = form.sender.map(|s| s.trim().to_owned());
    if let Some(sender) = &sender
        && (sender.is_empty()
            || sender.chars().count() > 20
            || sender.chars().any(char::is_control))
    {
        errors.add("/sender", "must be 1 to 20 characters");
    }
    let credentials = match form.credentials {
        Some(c) => Credentials {
            username: c.username,
            password: c.password,
            auth_token: c.auth_token,
            headers: c.headers,
        },
        None => stored.cloned().unwrap_or_default(),
    };
    let kind = match form.kind {
        SmsGatewayKind::Http => {
            if form.twilio.is_some() {
                errors.add("/twilio", "is only for kind twilio");
            }
            if credentials.auth_token.is_some() {
                errors.add("/credentials/auth_token", "is only for kind twilio");
            }
            check_headers(&credentials.headers, "/credentials/headers", &mut errors);
            match form.http {
                None => {
                    errors.add("/http", "is required for kind http");
                    None
                }
                Some(h) => {
                    let method = h.method.to_ascii_uppercase();
                    if !matches!(method.as_str(), "GET" | "POST" | "PUT") {
                        errors.add("/http/method", "must be GET, POST or PUT");
                    }
                    if let Err(e) = check_url(&h.url) {
                        errors.add("/http/url", e);
                    }
                    if let Some(body) = &h.body {
                        if method == "GET" {
                            errors.add("/http/body", "a GET request has no body");
                        } else if let Err(e) = check_request_template(body) {
                            errors.add("/http/body", e);
                        }
                    }
                    if let Some(ct) = &h.content_type
                        && reqwest::header::HeaderValue::from_str(ct).is_err()
                    {
                        errors.add("/http/content_type", "is not a valid header value");
                    }
                    check_headers(&h.headers, "/http/headers", &mut errors);
                    for name in h.headers.keys().filter(|n| is_secret_header(n)) {
                        errors.add(
                            &format!("/http/headers/{name}"),
                            "is secret: put it in credentials.headers, which are never shown",
                        );
                    }
                    for (i, status) in h.success_statuses.iter().enumerate() {
                        if !(100..=599).contains(status) {
                            errors.add(
                                &format!("/http/success_statuses/{i}"),
                                "must be an HTTP status (100–599)",
                            );
                        }
                    }
                    if h.success_body_contains.as_deref() == Some("") {
                        errors.add("/http/success_body_contains", "must not be empty");
                    }
                    Some(GatewayKind::Http(HttpGateway {
                        method,
                        url: h.url,
                        body: h.body,
                        content_type: h.content_type,
                        headers: h.headers,
                        success_statuses: h.success_statuses,
                        success_body_contains: h.success_body_contains,
                    }))
                }
            }
        }
        SmsGatewayKind::Twilio => {
            if form.http.is_some() {
                errors.add("/http", "is only for kind http");
            }
            for (set, field) in [
                (credentials.username.is_some(), "username"),
                (credentials.password.is_some(), "password"),
                (!credentials.headers.is_empty(), "headers"),
            ] {
                if set {
                    errors.add(&format!("/credentials/{field}"), "is only for kind http");
                }
            }
            if credentials.auth_token.as_deref().is_none_or(str::is_empty) {
                errors.add("/credentials/auth_token", "is required for kind twilio");
            }
            match form.twilio {
                None => {
                    errors.add("/twilio", "is required for kind twilio");
                    None
                }
                Some(t) => {
                    let base_url = t
                        .base_url
                        .map(|u| u.trim_end_matches('/').to_owned())
                        .unwrap_or_else(|| BASE_TWILIO.to_owned());
                    if base_url.contains('{') || check_url(&base_url).is_err() {
                        errors.add("/twilio/base_url", "must be an http or https URL");
                    }
                    if !is_sid(&t.account_sid) {
                        errors.add("/twilio/account_sid", "must be letters and digits");
                    }
                    if let Some(sid) = &t.messaging_service_sid
                        && !is_sid(sid)
                    {
                        errors.add(
                            "/twilio/messaging_service_sid",
                            "must be letters and digits",
                        );
                    }
                    if t.messaging_service_sid.is_none() && sender.is_none() {
                        errors.add(
                            "/sender",
                            "is required (as From) unless twilio.messaging_service_sid is set",
                        );
                    }
                    Some(GatewayKind::Twilio(TwilioGateway {
                        base_url,
                        account_sid: t.account_sid,
                        messaging_service_sid: t.messaging_service_sid,
                    }))
                }
            }
        }
    };
    errors.into_result()?;
    let (Some(name), Some(kind)) = (name, kind) else {
        return Err(ApiError::internal("validated form without name or kind"));
    };
    Ok((
        name,
        form.provider_ids,
        GatewayParts {
            priority: form.priority,
            resend_timeout_seconds: form.resend_timeout_seconds,
            code_validity_seconds: form.code_validity_seconds,
            sender,
            templates: form.templates,
            kind,
            credentials,
        },
    ))
}

type ProviderScopeForm = Option<Vec<Uuid>>;

#[derive(Clone)]
struct GatewayParts {
    priority: i32,
    resend_timeout_seconds: u32,
    code_validity_seconds: u32,
    sender: Option<String>,
    templates: BTreeMap<String, String>,
    kind: GatewayKind,
    credentials: Credentials,
}

impl GatewayParts {
    fn apply(&self, g: &mut SmsGateway) {
        let parts = self.clone();
        g.priority = parts.priority;
        g.resend_timeout_seconds = parts.resend_timeout_seconds;
        g.code_validity_seconds = parts.code_validity_seconds;
        g.sender = parts.sender;
        g.templates = parts.templates;
        g.kind = parts.kind;
        g.credentials = parts.credentials;
    }
}

/// The providers named must exist; each unknown one is a field error.
async fn provider_scope(
    state: &AppState,
    ids: ProviderScopeForm,
) -> ApiResult<ProviderScope<Uuid>> {
    let Some(mut ids) = ids else {
        return Ok(ProviderScope::All);
    };
    if ids.is_empty() {
        return Err(ApiError::validation(
            "/provider_ids",
            "must name at least one provider, or be null for all",
        ));
    }
    let given = ids.clone();
    let missing = state
        .db(move |store| {
            let mut missing = Vec::new();
            for (i, id) in given.iter().enumerate() {
                match store.provider(*id) {
                    Ok(_) => {}
                    Err(persistence::StoreError::NotFound) => missing.push(i),
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(missing)
        })
        .await?;
    let mut errors = ValidationErrors::new();
    for i in missing {
        errors.add(&format!("/provider_ids/{i}"), "no such provider");
    }
    errors.into_result()?;
    ids.sort();
    ids.dedup();
    Ok(ProviderScope::Only(ids))
}

/// Serving more providers sends their people's numbers to this gateway's processors: a
/// provider newly served whose phone sign-in is on is refused (422 at `/provider_ids`) when a
/// processor linked to the gateway fails the transfer rule for its jurisdiction.
async fn check_transfers(
    state: &AppState,
    gateway: Uuid,
    before: ProviderScope<Uuid>,
    after: ProviderScope<Uuid>,
) -> ApiResult<()> {
    use domain::auth_method::AuthMethod;
    let errors = state
        .db(move |store| {
            let mut errors = ValidationErrors::new();
            let processors: Vec<_> = store
                .list_processors()?
                .into_iter()
                .filter(|p| p.sms_gateway_ids.contains(&gateway))
                .collect();
            if processors.is_empty() {
                return Ok(errors);
            }
            let mut cursor = None;
            loop {
                let page = store.list_providers(
                    &after,
                    persistence::PageRequest {
                        after: cursor,
                        limit: 100,
                    },
                )?;
                for provider in &page.items {
                    let phone = provider.auth_methods.login_enabled(AuthMethod::Phone)
                        || provider
                            .auth_methods
                            .registration_enabled(AuthMethod::Phone);
                    if before.allows(&provider.id) || !phone {
                        continue;
                    }
                    for p in &processors {
                        let verdict = p.verdict(Some(provider.jurisdiction));
                        if !verdict.allowed {
                            errors.add(
                                "/provider_ids",
                                format!(
                                    "provider {} ({}) signs in by phone; processor {} ({}) fails \
                                     the transfer rule: {}",
                                    provider.name, provider.id, p.name, p.id, verdict.reason
                                ),
                            );
                        }
                    }
                }
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => return Ok(errors),
                }
            }
        })
        .await?;
    Ok(errors.into_result()?)
}

/// Gateways serve the whole installation: an employee limited to some providers may not
/// see or route the others' messages.
fn installation_wide<P>(staff: &Staff<P>) -> ApiResult<()> {
    match staff.scope() {
        ProviderScope::All => Ok(()),
        ProviderScope::Only(_) => Err(ApiError::Forbidden(
            "SMS gateways serve the whole installation: this needs an employee of all providers"
                .into(),
        )),
    }
}

fn respond(state: &AppState, gateway: SmsGateway) -> SmsGatewayResponse {
    let health = state.sms_gateways.health.get(gateway.id);
    SmsGatewayResponse::new(gateway, health, state.now())
}

async fn load(state: &AppState, id: &str) -> ApiResult<SmsGateway> {
    let id = parse_id(id, "SMS gateway")?;
    state
        .db(move |store| {
            store
                .sms_gateway(id)
                .map_err(ApiError::from_store("SMS gateway"))
        })
        .await
}

/// Lists the gateways in the order they are tried (lowest priority first), with their health.
#[utoipa::path(get, path = "/api/v1/sms-gateways", tag = "sms-gateways", operation_id = "list_sms_gateways",
    security(("bearer" = []), ("api_token" = [])),
    responses((status = 200, description = "Every gateway", body = SmsGatewayList), NeedsPermission))]
pub async fn list_sms_gateways(
    state: State,
    staff: Staff<need::SmsGatewaysRead>,
) -> ApiResult<web::Json<SmsGatewayList>> {
    installation_wide(&staff)?;
    let gateways = state.db(|store| Ok(store.list_sms_gateways()?)).await?;
    Ok(web::Json(SmsGatewayList {
        items: gateways.into_iter().map(|g| respond(&state, g)).collect(),
    }))
}

/// Adds a gateway.
#[utoipa::path(post, path = "/api/v1/sms-gateways", tag = "sms-gateways", operation_id = "create_sms_gateway",
    request_body = SmsGatewayForm, security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 201, description = "The new gateway", body = SmsGatewayResponse),
        NeedsPermission, Invalid, NotJson,
    ))]
pub async fn create_sms_gateway(
    state: State,
    staff: Staff<need::SmsGatewaysWrite>,
    body: Json<SmsGatewayForm>,
) -> ApiResult<HttpResponse> {
    installation_wide(&staff)?;
    let (name, ids, parts) = parse_form(body.into_inner(), None)?;
    let providers = provider_scope(&state, ids).await?;
    let now = state.now();
    let mut gateway = SmsGateway {
        id: Uuid::now_v7(),
        name,
        providers,
        priority: 0,
        resend_timeout_seconds: 0,
        code_validity_seconds: 0,
        sender: None,
        templates: BTreeMap::new(),
        kind: GatewayKind::Http(HttpGateway {
            method: String::new(),
            url: String::new(),
            body: None,
            content_type: None,
            headers: BTreeMap::new(),
            success_statuses: Vec::new(),
            success_body_contains: None,
        }),
        credentials: Credentials::default(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    parts.apply(&mut gateway);
    let saved = gateway.clone();
    state
        .db(move |store| Ok(store.insert_sms_gateway(&saved)?))
        .await?;
    log::info!("sms gateway {} created", gateway.id);
    let id = gateway.id;
    let created = respond(&state, gateway);
    audit::record(
        &state,
        &staff,
        audit::created(
            "sms_gateway.create",
            "sms_gateway",
            id.to_string(),
            None,
            &created,
        ),
    )
    .await;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/sms-gateways/{id}")))
        .json(created))
}

/// Reads a gateway with its recent health (this instance's view).
#[utoipa::path(get, path = "/api/v1/sms-gateways/{id}", tag = "sms-gateways", operation_id = "get_sms_gateway",
    params(("id" = Uuid, Path)), security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The gateway", body = SmsGatewayResponse, headers(("ETag" = String, description = "The version, for `If-Match`"))),
        NeedsPermission, NotFound,
    ))]
pub async fn get_sms_gateway(
    state: State,
    staff: Staff<need::SmsGatewaysRead>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    installation_wide(&staff)?;
    let gateway = load(&state, &id).await?;
    Ok(tagged(gateway.version, respond(&state, gateway)))
}

/// Replaces a gateway's settings. Credentials left out stay as they are; sent, they replace
/// the stored ones. Serving another provider whose phone sign-in is on is refused (422 at
/// `/provider_ids`) when a processor linked to the gateway fails the transfer rule for it.
#[utoipa::path(put, path = "/api/v1/sms-gateways/{id}", tag = "sms-gateways", operation_id = "update_sms_gateway",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "The `ETag` of the read this change is based on; 412 if the object changed since")),
    request_body = SmsGatewayForm, security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The gateway after the change", body = SmsGatewayResponse, headers(("ETag" = String, description = "The version, for `If-Match`"))),
        NeedsPermission, NotFound, Invalid, NotJson, Stale,
    ))]
pub async fn update_sms_gateway(
    state: State,
    staff: Staff<need::SmsGatewaysWrite>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Json<SmsGatewayForm>,
) -> ApiResult<HttpResponse> {
    installation_wide(&staff)?;
    let current = load(&state, &id).await?;
    let before = respond(&state, current.clone());
    let (name, ids, parts) = parse_form(body.into_inner(), Some(&current.credentials))?;
    let providers = provider_scope(&state, ids).await?;
    check_transfers(
        &state,
        current.id,
        current.providers.clone(),
        providers.clone(),
    )
    .await?;
    let now = state.now();
    let id = current.id;
    let gateway = edit(
        &state,
        if_match,
        move |store| {
            store
                .sms_gateway(id)
                .map_err(ApiError::from_store("SMS gateway"))
        },
        move |g| {
            g.name = name.clone();
            g.providers = providers.clone();
            parts.apply(g);
            g.updated_at = now;
            Ok(())
        },
        move |store, g| {
            store
                .update_sms_gateway(g)
                .map_err(ApiError::from_store("SMS gateway"))
        },
    )
    .await?;
    log::info!("sms gateway {} updated", gateway.id);
    let version = gateway.version;
    let after = respond(&state, gateway);
    audit::record(
        &state,
        &staff,
        audit::updated(
            "sms_gateway.update",
            "sms_gateway",
            id.to_string(),
            None,
            &before,
            &after,
        ),
    )
    .await;
    Ok(tagged(version, after))
}

/// Removes a gateway; messages go through the others.
#[utoipa::path(delete, path = "/api/v1/sms-gateways/{id}", tag = "sms-gateways", operation_id = "delete_sms_gateway",
    params(("id" = Uuid, Path)), security(("bearer" = []), ("api_token" = [])),
    responses((status = 204, description = "Removed"), NeedsPermission, NotFound))]
pub async fn delete_sms_gateway(
    state: State,
    staff: Staff<need::SmsGatewaysWrite>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    installation_wide(&staff)?;
    let current = load(&state, &id).await?;
    let id = current.id;
    let before = respond(&state, current);
    state
        .db(move |store| {
            store
                .delete_sms_gateway(id)
                .map_err(ApiError::from_store("SMS gateway"))
        })
        .await?;
    state.sms_gateways.health.forget(id);
    log::info!("sms gateway {id} deleted");
    audit::record(
        &state,
        &staff,
        audit::deleted(
            "sms_gateway.delete",
            "sms_gateway",
            id.to_string(),
            None,
            &before,
        ),
    )
    .await;
    Ok(HttpResponse::NoContent().finish())
}

/// Sends a test text through this gateway only (no failover): its template with the code
/// `000000`. The attempt counts in the gateway's health.
#[utoipa::path(post, path = "/api/v1/sms-gateways/{id}/test", tag = "sms-gateways", operation_id = "test_sms_gateway",
    params(("id" = Uuid, Path)), request_body = SmsGatewayTest, security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The gateway took the message", body = SmsGatewayTestResult),
        NeedsPermission, NotFound, Invalid, NotJson, GatewayFailed,
    ))]
pub async fn test_sms_gateway(
    state: State,
    staff: Staff<need::SmsGatewaysWrite>,
    id: web::Path<String>,
    body: Json<SmsGatewayTest>,
) -> ApiResult<web::Json<SmsGatewayTestResult>> {
    installation_wide(&staff)?;
    let gateway = load(&state, &id).await?;
    let body = body.into_inner();
    let mut errors = ValidationErrors::new();
    let to = errors.check("/phone", PhoneNumber::parse(&body.phone));
    if let Some(language) = &body.language
        && !domain::sms_gateway::check_language(language)
    {
        errors.add("/language", "is not a language tag such as en or pt-BR");
    }
    errors.into_result()?;
    let Some(to) = to else {
        return Err(ApiError::internal("validated phone missing"));
    };
    let message = SmsMessage {
        to,
        text: String::new(),
        sender: None,
        provider_id: None,
        language: body.language,
        code: Some("000000".into()),
    };
    let receipt = state
        .sms_gateways
        .send_via(&gateway, &message)
        .await
        .map_err(|e| ApiError::GatewayFailed(e.to_string()))?;
    Ok(web::Json(SmsGatewayTestResult {
        sent: true,
        message_id: receipt.message_id,
    }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/api/v1/sms-gateways")
            .get(list_sms_gateways)
            .post(create_sms_gateway),
    )
    .service(
        resource("/api/v1/sms-gateways/{id}")
            .get(get_sms_gateway)
            .put(update_sms_gateway)
            .delete(delete_sms_gateway),
    )
    .service(resource("/api/v1/sms-gateways/{id}/test").post(test_sms_gateway));
}

#[derive(OpenApi)]
#[openapi(paths(
    list_sms_gateways,
    create_sms_gateway,
    get_sms_gateway,
    update_sms_gateway,
    delete_sms_gateway,
    test_sms_gateway
))]
struct Doc;

pub fn document() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
