//! Rows as the database holds them, and their conversion into domain types.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::country::CountryCode;
use domain::email::Email;
use domain::model::{Client, Provider, User};
use domain::phone::PhoneNumber;
use domain::provider::{AccountStatus, ProviderSlug, ProviderStatus, SubjectKind};
use uuid::Uuid;

use crate::StoreError;
use crate::error::corrupt;
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
        })
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
}
