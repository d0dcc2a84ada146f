//! Schemas that exist only for the OpenAPI document: closed sets the server stores as text,
//! and the patterns of the fields whose parsers live in `domain`. Each one describes exactly
//! what the server accepts, so that a request valid by the document is not refused for its
//! shape (only for what a schema cannot know: existence, uniqueness, assigned codes, common
//! passwords).

#![allow(dead_code)]

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};

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

/// A second factor: `totp`, `sms` (a code to a verified phone) or `recovery_code`.
#[derive(ToSchema)]
#[schema(as = SecondFactor, rename_all = "snake_case")]
pub enum SecondFactorName {
    Totp,
    Sms,
    RecoveryCode,
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

/// The method of an auth event: a sign-in method, `refresh`, `session` (logout), `mfa`,
/// `consent`, or a second factor.
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
    /// A sign-in challenge and the second-factor enforcement.
    Mfa,
    /// The acceptance step of a sign-in answered `consent_required`.
    Consent,
    Totp,
    Sms,
    RecoveryCode,
}

/// Where a page of a collection ends: `next_cursor` of one page, sent as `cursor` for the
/// next.
#[derive(ToSchema)]
#[schema(as = Cursor)]
pub struct CursorName(uuid::Uuid);

/// Declares a named string schema whose enum is a closed set of the code (a domain enum's
/// `ALL`), so that the document lists exactly the values the server can send.
macro_rules! closed_set {
    ($($(#[doc = $doc:literal])+ $name:ident = $values:expr;)+) => {
        $(
            $(#[doc = $doc])+
            pub struct $name;

            impl utoipa::PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some($values))
                        .description(Some(concat!($($doc, "\n"),+).trim()))
                        .into()
                }
            }

            impl ToSchema for $name {}
        )+
    };
}

closed_set! {
    /// Who a credential, a session or an auth event belongs to.
    SubjectKind = domain::provider::SubjectKind::ALL.iter().map(|k| k.as_str());
    /// Why an auth event ended as it did (such as `unknown_login_or_wrong_password`).
    AuthEventReason = crate::auth::log::Reason::ALL.iter().map(|r| r.as_str());
    /// A decision on a version of a consent document.
    ConsentDecision = domain::consent::Decision::ALL.iter().map(|d| d.as_str());
    /// How a consent decision was given: the registration form, the API, a registration
    /// through Google, or the re-consent step of a sign-in.
    ConsentMethod = domain::consent::ConsentMethod::ALL.iter().map(|m| m.as_str());
    /// How much a compliance finding matters.
    Severity = domain::compliance::Severity::ALL.iter().map(|s| s.as_str());
    /// The ground on which personal data goes to a processor.
    TransferMechanism = domain::transfer::TransferMechanism::ALL.iter().map(|m| m.as_str());
    /// What a compliance finding is about (stable codes, one per rule).
    FindingCode = domain::compliance::FINDING_CODES;
    /// How a recorded run of a background job ended.
    JobOutcome = [persistence::JOB_DONE, persistence::JOB_ERROR];
}

/// `registration` of a method that cannot register clients: always `false`.
pub fn always_false() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .enum_values(Some([false]))
        .description(Some("Always `false`: this method cannot register clients."))
}

/// Settings of a method: none of them has any yet, so an empty object. Unknown keys are
/// refused here (the stored form tolerates them, for rollbacks).
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
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

/// A name after trimming: at least one visible character, no control characters and no
/// bidirectional formatting characters (`domain::error::is_bidi_control`).
const NAME_PATTERN: &str = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\s\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$";
const NAME_RULE: &str = "characters after leading and trailing white space is trimmed; no control \
     characters and no bidirectional formatting characters (U+061C, U+200E, U+200F, \
     U+202A to U+202E, U+2066 to U+2069).";
/// What `Email::parse` accepts: ASCII only (an internationalized domain in punycode).
const EMAIL_PATTERN: &str = r"^[\x21-\x3f\x41-\x7e]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$";
const EMAIL_RULE: &str = "An e-mail address of at most 254 characters: a local part of 1 to 64 \
     printable ASCII characters other than `@`, then `@` and a domain of dot-separated labels \
     of ASCII letters, digits and `-` (at least two labels); an internationalized domain only \
     in its punycode form (`xn--…`). Compared and stored lower-cased.";
/// The shape `PhoneNumber::parse` starts from: 8 to 15 digits after `+`, the first not 0,
/// with the separators people type; the parser then checks the number for its country.
const PHONE_PATTERN: &str = r"^[ ().-]*\+[ ().-]*[1-9]([ ().-]*[0-9]){7,14}[ ().-]*$";
const PHONE_RULE: &str = "An international number: `+`, the country code and the number, such \
     as `+4930123456`, valid for its country (libphonenumber's metadata); spaces, dashes, dots \
     and brackets are dropped, and it is stored in E.164 form.";

/// A string field described once, used by `schema_with` in the request bodies.
fn text(
    nullable: bool,
    pattern: &str,
    length: (Option<usize>, Option<usize>),
    description: String,
    example: &str,
) -> ObjectBuilder {
    let schema_type = if nullable {
        SchemaType::from_iter([Type::String, Type::Null])
    } else {
        SchemaType::Type(Type::String)
    };
    ObjectBuilder::new()
        .schema_type(schema_type)
        .min_length(length.0)
        .max_length(length.1)
        .pattern(Some(pattern))
        .description(Some(description))
        .examples([example])
}

macro_rules! text_fields {
    ($($name:ident: $nullable:expr, $pattern:expr, $length:expr, $example:literal, $description:expr;)+) => {
        $(
            pub fn $name() -> ObjectBuilder {
                text($nullable, $pattern, $length, $description, $example)
            }
        )+
    };
}

text_fields! {
    name: false, NAME_PATTERN, (Some(1), Some(200)), "Example Ltd",
        format!("1 to 200 {NAME_RULE}");
    name_or_null: true, NAME_PATTERN, (Some(1), Some(200)), "Example Ltd",
        format!("1 to 200 {NAME_RULE} Left out or `null` keeps the name.");
    client_name_or_null: true, NAME_PATTERN, (Some(1), Some(200)), "Example Ltd",
        format!("The client's name (a company or a person); the user's name when left out or `null`. 1 to 200 {NAME_RULE}");
    token_name: false, NAME_PATTERN, (Some(1), Some(100)), "backup script",
        format!("1 to 100 {NAME_RULE}");
    login_email: false, EMAIL_PATTERN, (None, Some(254)), "anna@example.com",
        format!("The user's login at this provider, unique per provider. {EMAIL_RULE}");
    login_email_or_null: true, EMAIL_PATTERN, (None, Some(254)), "anna@example.com",
        format!("A new login, unique per provider; left out or `null` keeps it. {EMAIL_RULE}");
    email_or_null: true, EMAIL_PATTERN, (None, Some(254)), "jane.doe@example.com",
        format!("Left out or `null`: none. {EMAIL_RULE}");
    email_change: true, EMAIL_PATTERN, (None, Some(254)), "jane.doe@example.com",
        format!("A new address; `null` removes it, leaving it out keeps it. {EMAIL_RULE}");
    phone_or_null: true, PHONE_PATTERN, (None, None), "+4930123456",
        format!("{PHONE_RULE} Left out or `null`: no number.");
    phone: false, PHONE_PATTERN, (None, None), "+4930123456",
        PHONE_RULE.to_owned();
    phone_change: true, PHONE_PATTERN, (None, None), "+4930123456",
        format!("A new number; `null` removes it, leaving it out keeps it. {PHONE_RULE}");
}
