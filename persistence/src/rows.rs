//! Rows as the database holds them, and their conversion into domain types.
//!
//! The rows that requests insert all the time (sessions, refresh tokens, auth events,
//! failure budgets, API tokens) write a `None` as NULL (`treat_none_as_default_value =
//! false`), which is the default of every nullable column here: the INSERT's text then does
//! not depend on which fields are set, and diesel keeps it prepared instead of parsing it
//! at every insert.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::country::CountryCode;
use domain::email::Email;
use domain::model::{Client, Employee, Provider, Subject, User};
use domain::permission::ProviderScope;
use domain::phone::PhoneNumber;
use domain::provider::{AccountStatus, ProviderSlug, ProviderStatus, SubjectKind};
use domain::sms_gateway::{GatewayKind, SmsGateway};
use domain::transfer::{Processor, TransferMechanism};
use uuid::Uuid;

use crate::StoreError;
use crate::error::corrupt;
use crate::records::{ApiTokenRecord, AuthEventRecord, NewApiToken, NewSession, SessionRecord};
use crate::schema::*;

pub(crate) fn uuid(value: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(value).map_err(|_| corrupt("id"))
}

pub(crate) fn utc(value: NaiveDateTime) -> DateTime<Utc> {
    value.and_utc()
}

pub(crate) fn naive(value: DateTime<Utc>) -> NaiveDateTime {
    value.naive_utc()
}

pub(crate) fn status(value: &str) -> Result<AccountStatus, StoreError> {
    AccountStatus::parse(value).ok_or_else(|| corrupt("status"))
}

pub(crate) fn subject_kind(value: &str) -> Result<SubjectKind, StoreError> {
    SubjectKind::parse(value).ok_or_else(|| corrupt("subject_kind"))
}

fn subject(kind: &str, id: &str) -> Result<Subject, StoreError> {
    Ok(Subject {
        kind: subject_kind(kind)?,
        id: uuid(id)?,
    })
}

fn optional_uuid(value: Option<&str>) -> Result<Option<Uuid>, StoreError> {
    value.map(uuid).transpose()
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = providers)]
pub(crate) struct ProviderRow {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub jurisdiction: String,
    pub status: String,
    pub auth_methods: String,
    pub policies: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

impl TryFrom<ProviderRow> for Provider {
    type Error = StoreError;

    fn try_from(row: ProviderRow) -> Result<Self, StoreError> {
        Ok(Provider {
            id: uuid(&row.id)?,
            slug: ProviderSlug::parse(&row.slug).map_err(|_| corrupt("provider slug"))?,
            name: row.name,
            jurisdiction: CountryCode::parse(&row.jurisdiction)
                .map_err(|_| corrupt("jurisdiction"))?,
            status: ProviderStatus::parse(&row.status).ok_or_else(|| corrupt("provider status"))?,
            auth_methods: serde_json::from_str(&row.auth_methods)
                .map_err(|_| corrupt("auth_methods"))?,
            policies: serde_json::from_str(&row.policies).map_err(|_| corrupt("policies"))?,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            version: row.version,
        })
    }
}

impl From<&Provider> for ProviderRow {
    fn from(p: &Provider) -> Self {
        ProviderRow {
            id: p.id.to_string(),
            slug: p.slug.to_string(),
            name: p.name.clone(),
            jurisdiction: p.jurisdiction.to_string(),
            status: p.status.as_str().to_owned(),
            // Serializing plain structs of strings, bools and numbers cannot fail.
            auth_methods: serde_json::to_string(&p.auth_methods).unwrap_or_default(),
            policies: serde_json::to_string(&p.policies).unwrap_or_default(),
            created_at: naive(p.created_at),
            updated_at: naive(p.updated_at),
            version: p.version,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = clients)]
pub(crate) struct ClientRow {
    pub id: String,
    pub provider_id: String,
    pub name: String,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

impl TryFrom<ClientRow> for Client {
    type Error = StoreError;

    fn try_from(row: ClientRow) -> Result<Self, StoreError> {
        Ok(Client {
            id: uuid(&row.id)?,
            provider_id: uuid(&row.provider_id)?,
            name: row.name,
            status: status(&row.status)?,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            version: row.version,
        })
    }
}

impl From<&Client> for ClientRow {
    fn from(c: &Client) -> Self {
        ClientRow {
            id: c.id.to_string(),
            provider_id: c.provider_id.to_string(),
            name: c.name.clone(),
            status: c.status.as_str().to_owned(),
            created_at: naive(c.created_at),
            updated_at: naive(c.updated_at),
            version: c.version,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub(crate) struct UserRow {
    pub id: String,
    pub provider_id: String,
    pub client_id: String,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub status: String,
    pub password_hash: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<Self, StoreError> {
        Ok(User {
            id: uuid(&row.id)?,
            provider_id: uuid(&row.provider_id)?,
            client_id: uuid(&row.client_id)?,
            email: Email::parse(&row.email).map_err(|_| corrupt("email"))?,
            name: row.name,
            phone: row
                .phone
                .as_deref()
                .map(PhoneNumber::parse)
                .transpose()
                .map_err(|_| corrupt("phone"))?,
            status: status(&row.status)?,
            has_password: row.password_hash.is_some(),
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            version: row.version,
        })
    }
}

impl UserRow {
    /// The row of `user`; the hash is not part of the domain type, so it comes beside it.
    pub fn new(user: &User, password_hash: Option<String>) -> Self {
        UserRow {
            id: user.id.to_string(),
            provider_id: user.provider_id.to_string(),
            client_id: user.client_id.to_string(),
            email: user.email.to_string(),
            name: user.name.clone(),
            phone: user.phone.as_ref().map(ToString::to_string),
            status: user.status.as_str().to_owned(),
            password_hash,
            created_at: naive(user.created_at),
            updated_at: naive(user.updated_at),
            version: user.version,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = employees)]
pub(crate) struct EmployeeRow {
    pub id: String,
    pub login: String,
    pub name: String,
    pub email: Option<String>,
    pub status: String,
    pub all_providers: bool,
    pub password_hash: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

impl EmployeeRow {
    /// The employee's own row; roles and providers live in tables of their own.
    pub fn new(employee: &Employee, password_hash: Option<String>) -> Self {
        EmployeeRow {
            id: employee.id.to_string(),
            login: employee.login.clone(),
            name: employee.name.clone(),
            email: employee.email.as_ref().map(ToString::to_string),
            status: employee.status.as_str().to_owned(),
            all_providers: matches!(employee.providers, ProviderScope::All),
            password_hash,
            created_at: naive(employee.created_at),
            updated_at: naive(employee.updated_at),
            version: employee.version,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions, treat_none_as_default_value = false)]
pub(crate) struct SessionRow {
    pub id: String,
    pub subject_kind: String,
    pub subject_id: String,
    pub provider_id: Option<String>,
    pub method: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub amr: String,
}

impl From<&NewSession> for SessionRow {
    fn from(s: &NewSession) -> Self {
        SessionRow {
            id: s.id.to_string(),
            subject_kind: s.subject.kind.as_str().to_owned(),
            subject_id: s.subject.id.to_string(),
            provider_id: s.provider_id.map(|p| p.to_string()),
            method: s.method.clone(),
            ip: s.ip.clone(),
            user_agent: s.user_agent.clone(),
            created_at: naive(s.created_at),
            last_seen_at: naive(s.created_at),
            expires_at: naive(s.expires_at),
            revoked_at: None,
            amr: domain::mfa::amr_to_text(&s.amr),
        }
    }
}

/// Whether the session was revoked is not part of the record: callers filter on it.
impl TryFrom<SessionRow> for SessionRecord {
    type Error = StoreError;

    fn try_from(row: SessionRow) -> Result<Self, StoreError> {
        Ok(SessionRecord {
            id: uuid(&row.id)?,
            subject: subject(&row.subject_kind, &row.subject_id)?,
            provider_id: optional_uuid(row.provider_id.as_deref())?,
            method: row.method,
            ip: row.ip,
            user_agent: row.user_agent,
            created_at: utc(row.created_at),
            last_seen_at: utc(row.last_seen_at),
            expires_at: utc(row.expires_at),
            amr: domain::mfa::amr_from_text(&row.amr),
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens, treat_none_as_default_value = false)]
pub(crate) struct RefreshTokenRow {
    pub token_hash: String,
    pub session_id: String,
    pub created_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_tokens, treat_none_as_default_value = false)]
pub(crate) struct ApiTokenRow {
    pub id: String,
    pub subject_kind: String,
    pub subject_id: String,
    pub provider_id: Option<String>,
    pub name: String,
    pub token_prefix: String,
    pub token_hash: String,
    pub scope: String,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

impl From<&NewApiToken> for ApiTokenRow {
    fn from(t: &NewApiToken) -> Self {
        ApiTokenRow {
            id: t.id.to_string(),
            subject_kind: t.subject.kind.as_str().to_owned(),
            subject_id: t.subject.id.to_string(),
            provider_id: t.provider_id.map(|p| p.to_string()),
            name: t.name.clone(),
            token_prefix: t.token_prefix.clone(),
            token_hash: t.token_hash.clone(),
            scope: t.scope.clone(),
            created_at: naive(t.created_at),
            expires_at: t.expires_at.map(naive),
            last_used_at: None,
            revoked_at: None,
        }
    }
}

impl TryFrom<ApiTokenRow> for ApiTokenRecord {
    type Error = StoreError;

    fn try_from(row: ApiTokenRow) -> Result<Self, StoreError> {
        Ok(ApiTokenRecord {
            id: uuid(&row.id)?,
            subject: subject(&row.subject_kind, &row.subject_id)?,
            provider_id: optional_uuid(row.provider_id.as_deref())?,
            name: row.name,
            token_prefix: row.token_prefix,
            scope: row.scope,
            created_at: utc(row.created_at),
            expires_at: row.expires_at.map(utc),
            last_used_at: row.last_used_at.map(utc),
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = auth_throttle, treat_none_as_default_value = false)]
pub(crate) struct ThrottleRow {
    pub throttle_key: String,
    pub failures: i32,
    pub last_attempt_at: NaiveDateTime,
    pub streak_started_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = auth_events, treat_none_as_default_value = false)]
pub(crate) struct AuthEventRow {
    pub id: String,
    pub provider_id: Option<String>,
    pub subject_kind: Option<String>,
    pub subject_id: Option<String>,
    pub method: String,
    pub outcome: String,
    pub reason: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: NaiveDateTime,
    /// The origin (ip, user_agent) of a user's event, sealed (`crate::origin`); `ip` and
    /// `user_agent` are then NULL.
    pub sealed_origin: Option<String>,
}

impl From<&AuthEventRecord> for AuthEventRow {
    fn from(e: &AuthEventRecord) -> Self {
        AuthEventRow {
            id: e.id.to_string(),
            provider_id: e.provider_id.map(|p| p.to_string()),
            subject_kind: e.subject.map(|s| s.kind.as_str().to_owned()),
            subject_id: e.subject.map(|s| s.id.to_string()),
            method: e.method.clone(),
            outcome: e.outcome.clone(),
            reason: e.reason.clone(),
            ip: e.ip.clone(),
            user_agent: e.user_agent.clone(),
            created_at: naive(e.created_at),
            sealed_origin: None,
        }
    }
}

impl TryFrom<AuthEventRow> for AuthEventRecord {
    type Error = StoreError;

    fn try_from(row: AuthEventRow) -> Result<Self, StoreError> {
        // An event names both halves of its subject or neither.
        let subject = match (row.subject_kind, row.subject_id) {
            (Some(kind), Some(id)) => Some(subject(&kind, &id)?),
            _ => None,
        };
        Ok(AuthEventRecord {
            id: uuid(&row.id)?,
            provider_id: optional_uuid(row.provider_id.as_deref())?,
            subject,
            method: row.method,
            outcome: row.outcome,
            reason: row.reason,
            ip: row.ip,
            user_agent: row.user_agent,
            created_at: utc(row.created_at),
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sms_gateways)]
pub(crate) struct SmsGatewayRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub all_providers: bool,
    pub provider_ids: String,
    pub priority: i64,
    pub resend_timeout_seconds: i64,
    pub code_validity_seconds: i64,
    pub sender: Option<String>,
    pub templates: String,
    pub settings: String,
    pub credentials: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

impl From<&SmsGateway> for SmsGatewayRow {
    fn from(g: &SmsGateway) -> Self {
        let (all_providers, ids) = match &g.providers {
            ProviderScope::All => (true, Vec::new()),
            ProviderScope::Only(ids) => (false, ids.clone()),
        };
        Self {
            id: g.id.to_string(),
            name: g.name.clone(),
            kind: g.kind.name().to_owned(),
            all_providers,
            provider_ids: serde_json::to_string(&ids).unwrap_or_default(),
            priority: i64::from(g.priority),
            resend_timeout_seconds: i64::from(g.resend_timeout_seconds),
            code_validity_seconds: i64::from(g.code_validity_seconds),
            sender: g.sender.clone(),
            templates: serde_json::to_string(&g.templates).unwrap_or_default(),
            settings: serde_json::to_string(&g.kind).unwrap_or_default(),
            credentials: serde_json::to_string(&g.credentials).unwrap_or_default(),
            created_at: naive(g.created_at),
            updated_at: naive(g.updated_at),
            version: g.version,
        }
    }
}

impl TryFrom<SmsGatewayRow> for SmsGateway {
    type Error = StoreError;

    fn try_from(row: SmsGatewayRow) -> Result<Self, StoreError> {
        let providers = if row.all_providers {
            ProviderScope::All
        } else {
            ProviderScope::Only(
                serde_json::from_str(&row.provider_ids).map_err(|_| corrupt("provider_ids"))?,
            )
        };
        let kind: GatewayKind =
            serde_json::from_str(&row.settings).map_err(|_| corrupt("gateway settings"))?;
        if kind.name() != row.kind {
            return Err(corrupt("gateway kind"));
        }
        let number = |v: i64, what| u32::try_from(v).map_err(|_| corrupt(what));
        Ok(SmsGateway {
            id: uuid(&row.id)?,
            name: row.name,
            providers,
            priority: i32::try_from(row.priority).map_err(|_| corrupt("priority"))?,
            resend_timeout_seconds: number(row.resend_timeout_seconds, "resend_timeout")?,
            code_validity_seconds: number(row.code_validity_seconds, "code_validity")?,
            sender: row.sender,
            templates: serde_json::from_str(&row.templates).map_err(|_| corrupt("templates"))?,
            kind,
            credentials: serde_json::from_str(&row.credentials)
                .map_err(|_| corrupt("credentials"))?,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            version: row.version,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = processors)]
pub(crate) struct ProcessorRow {
    pub id: String,
    pub name: String,
    pub purpose: String,
    pub country: String,
    pub mechanism: String,
    pub dpa_signed_on: Option<String>,
    pub auth_methods: String,
    pub sms_gateway_ids: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

impl From<&Processor> for ProcessorRow {
    fn from(p: &Processor) -> Self {
        Self {
            id: p.id.to_string(),
            name: p.name.clone(),
            purpose: p.purpose.clone(),
            country: p.country.to_string(),
            mechanism: p.mechanism.as_str().to_owned(),
            dpa_signed_on: p.dpa_signed_on.map(|d| d.format("%Y-%m-%d").to_string()),
            auth_methods: serde_json::to_string(&p.auth_methods).unwrap_or_default(),
            sms_gateway_ids: serde_json::to_string(&p.sms_gateway_ids).unwrap_or_default(),
            created_at: naive(p.created_at),
            updated_at: naive(p.updated_at),
            version: p.version,
        }
    }
}

impl TryFrom<ProcessorRow> for Processor {
    type Error = StoreError;

    fn try_from(row: ProcessorRow) -> Result<Self, StoreError> {
        Ok(Processor {
            id: uuid(&row.id)?,
            name: row.name,
            purpose: row.purpose,
            country: CountryCode::parse(&row.country).map_err(|_| corrupt("country"))?,
            mechanism: TransferMechanism::parse(&row.mechanism)
                .ok_or_else(|| corrupt("mechanism"))?,
            dpa_signed_on: row
                .dpa_signed_on
                .map(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d"))
                .transpose()
                .map_err(|_| corrupt("dpa_signed_on"))?,
            auth_methods: serde_json::from_str(&row.auth_methods)
                .map_err(|_| corrupt("auth_methods"))?,
            sms_gateway_ids: serde_json::from_str(&row.sms_gateway_ids)
                .map_err(|_| corrupt("sms_gateway_ids"))?,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            version: row.version,
        })
    }
}
