//! Every error leaves as `application/problem+json` (RFC 9457) with a stable `code`.
//! 5xx bodies are generic; the cause goes to the log only.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use domain::ValidationErrors;
use persistence::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[schema(example = "urn:billing-identity:problem:validation_failed")]
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(example = "Validation failed")]
    pub title: String,
    #[schema(example = 422)]
    pub status: u16,
    #[schema(example = "email: is not an e-mail address")]
    pub detail: String,
    /// Stable, machine-readable; see the table in the README.
    #[schema(schema_with = problem_code_schema)]
    pub code: String,
    /// Per-field problems: for `validation_failed`, and the field of a `conflict`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

/// Every `code` a problem can have: the enum of `Problem.code` in the document, so that
/// frontends can switch on it exhaustively. A test keeps it equal to `ApiError::code`.
pub const PROBLEM_CODES: &[&str] = &[
    "bad_request",
    "malformed_json",
    "unsupported_media_type",
    "validation_failed",
    "unauthenticated",
    "invalid_credentials",
    "forbidden",
    "method_disabled",
    "mfa_enrollment_required",
    "mfa_required",
    "method_not_available",
    "mfa_challenge_invalid",
    "reauthentication_required",
    "too_many_attempts",
    "account_locked",
    "sms_rate_limited",
    "refresh_token_rotated",
    "not_found",
    "provider_suspended",
    "no_route",
    "method_not_allowed",
    "conflict",
    "module_not_installed",
    "precondition_failed",
    "unavailable",
    "consent_required",
    "sms_gateway_failed",
    "identity_provider_failed",
    "identity_provider_timeout",
    "internal",
];

fn problem_code_schema() -> utoipa::openapi::schema::ObjectBuilder {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(PROBLEM_CODES.iter().copied()))
        .description(Some(
            "Stable, machine-readable; see the table in the README.",
        ))
        .examples(["validation_failed"])
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    /// JSON pointer into the request body (or `/query/...` for a query parameter).
    #[schema(example = "/email")]
    pub pointer: String,
    pub detail: String,
}

/// A consent document to show (on the registration form) or to accept (`consent_required`):
/// its version in force.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentToShow {
    pub document_id: uuid::Uuid,
    /// Send this in `consents` (registration) or `accept` (`/auth/consent`).
    pub version_id: uuid::Uuid,
    /// `privacy_policy`, `user_agreement`, `marketing_email`, `marketing_sms` or `custom:<slug>`.
    #[schema(example = "privacy_policy")]
    pub kind: String,
    /// By language tag.
    #[schema(example = json!({"en": "Privacy policy", "de": "Datenschutzerklärung"}))]
    pub titles: std::collections::BTreeMap<String, String>,
    pub url: Option<String>,
    pub text: Option<String>,
    /// SHA-256 (hex) of the text (of the URL where there is no text).
    pub text_hash: String,
    #[schema(example = 2)]
    pub version: i64,
    pub effective_at: chrono::DateTime<chrono::Utc>,
    pub must_agree: bool,
}

/// The extension members of a `consent_required` problem: the documents to accept, and
/// the ticket to send with the acceptance to `POST /api/v1/auth/consent`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentRequired {
    /// Single use; expires after `expires_in` seconds.
    pub consent_token: String,
    #[schema(example = 600)]
    pub expires_in: i64,
    pub documents: Vec<DocumentToShow>,
}

/// The body of a 403 `consent_required`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentRequiredProblem {
    #[serde(flatten)]
    pub problem: Problem,
    #[serde(flatten)]
    pub consent: ConsentRequired,
}

/// What `ConsentRequiredProblem` documents, serialized from a borrowed ticket.
#[derive(Serialize)]
struct ConsentBody<'a> {
    #[serde(flatten)]
    problem: Problem,
    #[serde(flatten)]
    consent: &'a ConsentRequired,
}

/// Seconds a client should wait when the database is unavailable.
pub const UNAVAILABLE_RETRY_AFTER: u32 = 5;

/// The one error type of the API. Each variant has one status and one code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("the request body is not valid JSON for this operation: {0}")]
    MalformedJson(String),
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    #[error("{0}")]
    Validation(ValidationErrors),
    #[error("authentication is required")]
    Unauthenticated,
    #[error("the credentials are not valid")]
    InvalidCredentials,
    #[error("{0}")]
    Forbidden(String),
    #[error("the {0} method is disabled for this provider")]
    MethodDisabled(&'static str),
    /// A second factor is required and none is enrolled: only enrolling one is allowed.
    #[error(
        "a second factor is required: enroll one at /api/v1/me/totp first; only /api/v1/me, /api/v1/me/totp, /api/v1/me/recovery-codes, /api/v1/me/password and logout are open until then"
    )]
    MfaEnrollmentRequired,
    /// A second factor is required and enrolled, but this session did not prove it.
    #[error("this needs a session signed in with a second factor; sign in again with it")]
    MfaRequired,
    /// The second factor named is not one the person has.
    #[error("the second factor {0} is not available for this sign-in")]
    MethodNotAvailable(&'static str),
    /// Removing a factor needs a fresh sign-in.
    #[error("this needs a session signed in within the last 10 minutes; sign in again, then retry")]
    ReauthenticationRequired,
    /// The sign-in challenge is unknown, used or expired.
    #[error("the sign-in challenge is unknown, used or expired; sign in again")]
    ChallengeInvalid,
    #[error("too many failed attempts; try again in {0} seconds")]
    Throttled(i64),
    #[error("too many failed attempts; the account needs a recovery by staff")]
    Locked,
    /// An SMS code was sent too recently, or a send cap of the hour is reached.
    #[error("no more codes can be sent now; try again in {0} seconds")]
    SmsLimited(i64),
    /// A refresh token presented again within the reuse grace: a parallel refresh won.
    #[error(
        "this refresh token was exchanged a moment ago by another request; retry with the new refresh token"
    )]
    RefreshTokenRotated,
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The provider exists but is suspended: nobody of it can sign in or register.
    #[error("this provider is suspended: nobody of it can sign in or register now")]
    ProviderSuspended,
    #[error("no such route")]
    NoRoute,
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// The change clashes with another object; `pointer` names the field when one does.
    #[error("{detail}")]
    Conflict {
        detail: String,
        pointer: Option<&'static str>,
    },
    /// The operation belongs to an optional module that is not installed.
    #[error("the module {0} is not installed; an administrator installs it under /api/v1/modules")]
    ModuleNotInstalled(&'static str),
    /// `If-Match` named a version that is no longer the current one.
    #[error("the object has changed since it was read; read it again and retry")]
    PreconditionFailed,
    #[error("the database is unavailable")]
    Unavailable,
    /// A sign-in whose user must first accept new versions of must-agree documents.
    #[error(
        "new versions of documents you must agree to are in force: accept them at /api/v1/auth/consent to finish signing in"
    )]
    ConsentRequired(Box<ConsentRequired>),
    /// An SMS gateway did not take a message; the detail is safe (a status, a timeout).
    #[error("the SMS gateway failed: {0}")]
    GatewayFailed(String),
    /// An OpenID Connect provider failed or answered something unusable (502).
    #[error("the identity provider failed: {0}")]
    IdentityProviderFailed(&'static str),
    /// An OpenID Connect provider did not answer within the configured timeout (504).
    #[error("the identity provider did not answer in time")]
    IdentityProviderTimeout,
    /// Anything unexpected; the cause is logged, never shown.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::Validation(_) => "validation_failed",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::MethodDisabled(_) => "method_disabled",
            ApiError::MfaEnrollmentRequired => "mfa_enrollment_required",
            ApiError::MfaRequired => "mfa_required",
            ApiError::MethodNotAvailable(_) => "method_not_available",
            ApiError::ChallengeInvalid => "mfa_challenge_invalid",
            ApiError::ReauthenticationRequired => "reauthentication_required",
            ApiError::Throttled(_) => "too_many_attempts",
            ApiError::Locked => "account_locked",
            ApiError::SmsLimited(_) => "sms_rate_limited",
            ApiError::RefreshTokenRotated => "refresh_token_rotated",
            ApiError::NotFound(_) => "not_found",
            ApiError::ProviderSuspended => "provider_suspended",
            ApiError::NoRoute => "no_route",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict { .. } => "conflict",
            ApiError::ModuleNotInstalled(_) => "module_not_installed",
            ApiError::PreconditionFailed => "precondition_failed",
            ApiError::Unavailable => "unavailable",
            ApiError::ConsentRequired(_) => "consent_required",
            ApiError::GatewayFailed(_) => "sms_gateway_failed",
            ApiError::IdentityProviderFailed(_) => "identity_provider_failed",
            ApiError::IdentityProviderTimeout => "identity_provider_timeout",
            ApiError::Internal(_) => "internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "Bad request",
            ApiError::MalformedJson(_) => "Malformed JSON",
            ApiError::UnsupportedMediaType => "Unsupported media type",
            ApiError::Validation(_) => "Validation failed",
            ApiError::Unauthenticated => "Authentication required",
            ApiError::InvalidCredentials => "Invalid credentials",
            ApiError::Forbidden(_) => "Forbidden",
            ApiError::MethodDisabled(_) => "Method disabled",
            ApiError::MfaEnrollmentRequired => "Second factor enrollment required",
            ApiError::MfaRequired => "Second factor required",
            ApiError::MethodNotAvailable(_) => "Second factor not available",
            ApiError::ChallengeInvalid => "Sign-in challenge invalid",
            ApiError::ReauthenticationRequired => "Reauthentication required",
            ApiError::Throttled(_) => "Too many attempts",
            ApiError::Locked => "Account locked",
            ApiError::SmsLimited(_) => "Too many codes",
            ApiError::RefreshTokenRotated => "Refresh token already rotated",
            ApiError::NotFound(_) => "Not found",
            ApiError::ProviderSuspended => "Provider suspended",
            ApiError::NoRoute => "Not found",
            ApiError::MethodNotAllowed => "Method not allowed",
            ApiError::Conflict { .. } => "Conflict",
            ApiError::ModuleNotInstalled(_) => "Module not installed",
            ApiError::PreconditionFailed => "Precondition failed",
            ApiError::Unavailable => "Service unavailable",
            ApiError::ConsentRequired(_) => "Consent required",
            ApiError::GatewayFailed(_) => "SMS gateway failed",
            ApiError::IdentityProviderFailed(_) => "Identity provider failed",
            ApiError::IdentityProviderTimeout => "Identity provider timed out",
            ApiError::Internal(_) => "Internal error",
        }
    }

    pub fn validation(pointer: &str, detail: impl Into<String>) -> Self {
        ApiError::Validation(ValidationErrors::single(pointer, detail))
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        ApiError::Conflict {
            detail: detail.into(),
            pointer: None,
        }
    }

    /// A clash on one field (an e-mail, a slug, a login that is taken).
    pub fn conflict_on(pointer: &'static str, detail: impl Into<String>) -> Self {
        ApiError::Conflict {
            detail: detail.into(),
            pointer: Some(pointer),
        }
    }

    pub fn internal(error: impl std::fmt::Display) -> Self {
        ApiError::Internal(error.to_string())
    }

    pub fn problem(&self) -> Problem {
        let detail = match self {
            ApiError::Internal(_) => "an unexpected error occurred; it has been logged".into(),
            ApiError::Validation(errors) if errors.0.len() == 1 => errors.to_string(),
            ApiError::Validation(_) => "several fields are not valid; see errors".into(),
            other => other.to_string(),
        };
        let errors = match self {
            ApiError::Validation(errors) => errors
                .0
                .iter()
                .map(|e| FieldProblem {
                    pointer: e.pointer.clone(),
                    detail: e.detail.clone(),
                })
                .collect(),
            ApiError::Conflict {
                detail,
                pointer: Some(pointer),
            } => vec![FieldProblem {
                pointer: (*pointer).to_owned(),
                detail: detail.clone(),
            }],
            _ => Vec::new(),
        };
        Problem {
            kind: format!("urn:billing-identity:problem:{}", self.code()),
            title: self.title().into(),
            status: self.status_code().as_u16(),
            detail,
            code: self.code().into(),
            errors,
        }
    }

    /// A "not found" for an object the caller may not see either: cross-tenant reads look
    /// exactly like reads of ids that do not exist.
    pub fn from_store(what: &'static str) -> impl Fn(StoreError) -> ApiError {
        move |e| match e {
            StoreError::NotFound => ApiError::NotFound(what),
            other => other.into(),
        }
    }
}

impl ApiError {
    /// One error of every code, as an answer would carry it: the examples of the document.
    pub fn samples() -> Vec<ApiError> {
        vec![
            ApiError::BadRequest(format!("the body is larger than {} bytes", 64 * 1024)),
            ApiError::MalformedJson("EOF while parsing an object at line 1 column 1".into()),
            ApiError::UnsupportedMediaType,
            ApiError::validation("/email", "is not an e-mail address"),
            ApiError::Unauthenticated,
            ApiError::InvalidCredentials,
            ApiError::Forbidden("this needs the permission providers:write".into()),
            ApiError::MethodDisabled("password"),
            ApiError::MfaEnrollmentRequired,
            ApiError::MfaRequired,
            ApiError::MethodNotAvailable("sms"),
            ApiError::ChallengeInvalid,
            ApiError::ReauthenticationRequired,
            ApiError::Throttled(30),
            ApiError::Locked,
            ApiError::SmsLimited(60),
            ApiError::RefreshTokenRotated,
            ApiError::NotFound("provider"),
            ApiError::ProviderSuspended,
            ApiError::NoRoute,
            ApiError::MethodNotAllowed,
            ApiError::conflict_on("/slug", "this slug is taken"),
            ApiError::ModuleNotInstalled("gdpr_cleanup"),
            ApiError::PreconditionFailed,
            ApiError::Unavailable,
            ApiError::ConsentRequired(Box::new(ConsentRequired {
                consent_token: "bict_…".into(),
                expires_in: 600,
                documents: Vec::new(),
            })),
            ApiError::GatewayFailed("status 503".into()),
            ApiError::IdentityProviderFailed("the token endpoint answered 500"),
            ApiError::IdentityProviderTimeout,
            ApiError::Internal("example".into()),
        ]
    }

    /// A body that is JSON but not of the operation's shape is a 422 pointing at the field
    /// when serde names it; anything else is malformed JSON (400).
    pub fn from_serde(error: &serde_json::Error) -> Self {
        Self::from_serde_at("", error)
    }

    /// Like `from_serde`, for an error met at `pointer` (a JSON pointer, from
    /// `serde_path_to_error`): the field a type error is about, or the object a missing
    /// or unknown field belongs to.
    pub fn from_serde_at(pointer: &str, error: &serde_json::Error) -> Self {
        let message = error.to_string();
        if !error.is_data() {
            return ApiError::MalformedJson(redact_values(&message));
        }
        // "missing field `name`" and "unknown field `x`" name the field: point at it.
        let field = message.split('`').nth(1).filter(|_| {
            message.starts_with("missing field") || message.starts_with("unknown field")
        });
        let pointer = match field {
            Some(field) if !pointer.ends_with(&format!("/{}", escape_pointer(field))) => {
                format!("{pointer}/{}", escape_pointer(field))
            }
            _ => pointer.to_owned(),
        };
        ApiError::validation(&pointer, redact_values(&message))
    }
}

/// A JSON pointer's reference token (RFC 6901): `~` and `/` escaped.
pub fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The JSON pointer of a `serde_path_to_error` path.
pub fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|segment| match segment {
            Segment::Seq { index } => Some(format!("/{index}")),
            Segment::Map { key } => Some(format!("/{}", escape_pointer(key))),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .collect()
}

/// serde messages quote the string values they choke on in double quotes (field names go in
/// backticks); a value may be a secret sent in the wrong field, so it is cut out before it
/// reaches an error body.
pub fn redact_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quote: Option<char> = None;
    for c in message.chars() {
        match quote {
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                quote = None;
            }
            Some(_) => {}
            None if c == '"' => {
                out.push(c);
                quote = Some(c);
            }
            None => out.push(c),
        }
    }
    if quote.is_some() {
        out.push('…');
    }
    out
}

/// Fields of request bodies that a uniqueness rule can refuse; other unique columns (hashes,
/// ids) are internal and not named.
const FIELDS_IN_BODIES: [&str; 3] = ["/email", "/slug", "/login"];

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => ApiError::NotFound("object"),
            StoreError::Conflict(conflict) => {
                match conflict.field.filter(|f| FIELDS_IN_BODIES.contains(f)) {
                    Some(field) => ApiError::conflict_on(
                        field,
                        format!("this {} is taken", field.trim_start_matches('/')),
                    ),
                    None => ApiError::conflict("the change conflicts with data already stored"),
                }
            }
            // Edits go through routes::precondition::edit, which answers this itself.
            StoreError::Stale => ApiError::PreconditionFailed,
            StoreError::Unavailable(cause) => {
                log::error!("database unavailable: {cause}");
                ApiError::Unavailable
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        ApiError::Validation(errors)
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(error.to_string())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::MalformedJson(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthenticated | ApiError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ApiError::Throttled(_) | ApiError::Locked | ApiError::SmsLimited(_) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Forbidden(_)
            | ApiError::MethodDisabled(_)
            | ApiError::MfaEnrollmentRequired
            | ApiError::MfaRequired
            | ApiError::ConsentRequired(_)
            | ApiError::ProviderSuspended
            | ApiError::ReauthenticationRequired => StatusCode::FORBIDDEN,
            ApiError::MethodNotAvailable(_) => StatusCode::BAD_REQUEST,
            ApiError::ChallengeInvalid => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) | ApiError::NoRoute => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. }
            | ApiError::RefreshTokenRotated
            | ApiError::ModuleNotInstalled(_) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::GatewayFailed(_) | ApiError::IdentityProviderFailed(_) => {
                StatusCode::BAD_GATEWAY
            }
            ApiError::IdentityProviderTimeout => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            log::error!("internal error: {cause}");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        match self {
            ApiError::Unauthenticated | ApiError::InvalidCredentials => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            ApiError::Throttled(seconds) | ApiError::SmsLimited(seconds) => {
                response.insert_header((header::RETRY_AFTER, seconds.to_string()));
            }
            ApiError::Unavailable => {
                response.insert_header((header::RETRY_AFTER, UNAVAILABLE_RETRY_AFTER.to_string()));
            }
            ApiError::ConsentRequired(consent) => {
                return response.json(ConsentBody {
                    problem: self.problem(),
                    consent,
                });
            }
            _ => {}
        }
        response.json(self.problem())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_details_stay_in_the_log() {
        let problem = ApiError::internal("connection to 10.0.0.5 refused").problem();
        assert_eq!(problem.status, 500);
        assert!(!problem.detail.contains("10.0.0.5"));
    }

    /// The document's enum of codes is exactly what `ApiError::code` answers.
    #[test]
    fn the_documented_codes_are_the_codes() {
        let source = include_str!("problem.rs");
        let start = source
            .find("pub fn code(&self) -> &'static str {")
            .expect("ApiError::code");
        let end = start + source[start..].find("\n    }\n").expect("its end");
        let mut answered: Vec<&str> = source[start..end].split('"').skip(1).step_by(2).collect();
        answered.sort();
        answered.dedup();
        let mut documented = PROBLEM_CODES.to_vec();
        documented.sort();
        assert_eq!(answered, documented);
    }

    #[test]
    fn codes_are_unique() {
        let all = ApiError::samples();
        let mut codes: Vec<&str> = all.iter().map(ApiError::code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        let mut documented = PROBLEM_CODES.to_vec();
        documented.sort();
        assert_eq!(
            codes, documented,
            "a sample of every code, for the examples"
        );
    }

    #[test]
    fn quoted_values_are_cut() {
        let cases = [
            (
                r#"invalid type: string "hunter2", expected u32"#,
                r#"invalid type: string "…", expected u32"#,
            ),
            (
                "unknown field `passwrd`, expected `a`",
                "unknown field `passwrd`, expected `a`",
            ),
            ("EOF while parsing", "EOF while parsing"),
            (r#"open "quote"#, r#"open "…"#),
        ];
        for (input, expected) in cases {
            assert_eq!(redact_values(input), expected);
        }
    }
}
