//! Schemas that exist only for the OpenAPI document: closed sets the server stores as text,
//! and the patterns of the fields whose parsers live in `domain`. Each one describes exactly
//! what the server accepts, so that a request valid by the document is not refused for its
//! shape (only for what a schema cannot know: existence, uniqueness, assigned codes, common
//! passwords).

#![allow(dead_code)]

use serde::Deserialize;
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};

/// A provider's status.
#[derive(ToSchema)]
#[schema(as = ProviderStatus, rename_all = "snake_case")]
pub enum ProviderStatusName {
    /// Its users and staff can sign in.
    Active,
    /// It keeps its data, but nobody of it can sign in.
    Suspended,
}

/// The status of a client, a user or an employee.
#[derive(ToSchema)]
#[schema(as = AccountStatus, rename_all = "snake_case")]
pub enum AccountStatusName {
    /// Can sign in.
    Active,
    /// Cannot sign in; disabling revoked everything held.
    Disabled,
}

/// What an API token may do.
#[derive(ToSchema)]
#[schema(as = ApiTokenScope, rename_all = "snake_case")]
pub enum ApiTokenScopeName {
    /// Safe methods only (GET and HEAD).
    Read,
    /// Everything its owner may do.
    Full,
}

/// How an authentication attempt ended.
#[derive(ToSchema)]
#[schema(as = AuthOutcome, rename_all = "snake_case")]
pub enum AuthOutcomeName {
    Success,
    Failure,
}

/// A method of registration and sign-in a provider can switch on.
#[derive(ToSchema)]
#[schema(as = AuthMethod, rename_all = "snake_case")]
pub enum AuthMethodName {
    Password,
    TemporaryKey,
    Phone,
    Google,
    Keycloak,
    ApiToken,
    Authinfo,
}

/// The method of an auth event: a sign-in method, or `refresh` and `session` (logout).
#[derive(ToSchema)]
#[schema(as = AuthEventMethod, rename_all = "snake_case")]
pub enum AuthEventMethodName {
    Password,
    TemporaryKey,
    Phone,
    Google,
    Keycloak,
    ApiToken,
    Authinfo,
    Refresh,
    Session,
}

/// `registration` of a method that cannot register clients: always `false`.
pub fn always_false() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .enum_values(Some([false]))
        .description(Some("Always `false`: this method cannot register clients."))
}

/// Settings of a method: none of them has any yet, so an empty object.
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptySettings {}

/// The switches of a method that signs people in but cannot register clients.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginOnlySwitches {
    #[schema(schema_with = always_false)]
    pub registration: bool,
    /// May people sign in with it?
    pub login: bool,
    #[serde(default)]
    pub settings: EmptySettings,
}

/// A pattern of the ISO 3166-1 alpha-2 codes `CountryCode::parse` accepts, in either case,
/// built from the parser itself so that it cannot drift from it.
fn country_pattern() -> String {
    let mut branches = Vec::new();
    for first in 'A'..='Z' {
        let seconds: String = ('A'..='Z')
            .filter(|second| {
                domain::country::CountryCode::parse(&format!("{first}{second}")).is_ok()
            })
            .map(|second| format!("{second}{}", second.to_ascii_lowercase()))
            .collect();
        if !seconds.is_empty() {
            branches.push(format!(
                "[{first}{}][{seconds}]",
                first.to_ascii_lowercase()
            ));
        }
    }
    format!("^(?:{})$", branches.join("|"))
}

const JURISDICTION: &str = "An officially assigned ISO 3166-1 alpha-2 country code whose law \
     applies, such as `DE`, in either case (stored upper-case).";

/// A jurisdiction in a request.
pub fn jurisdiction() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(2))
        .max_length(Some(2))
        .pattern(Some(country_pattern()))
        .description(Some(JURISDICTION))
        .examples(["DE"])
}

/// A jurisdiction to change, or `null` (and left out) to keep it.
pub fn jurisdiction_or_null() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .min_length(Some(2))
        .max_length(Some(2))
        .pattern(Some(country_pattern()))
        .description(Some(format!("{JURISDICTION} Left out or `null` keeps it.")))
        .examples(["DE"])
}
