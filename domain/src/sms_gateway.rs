//! SMS gateways: their configuration, the rules that check it, the filling of their
//! templates, and the small circuit breaker that skips a gateway that keeps failing.
//! Sending is I/O and lives in the api crate.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ValidationErrors;
use crate::permission::ProviderScope;

/// Longest a code may stay valid (SECURITY.md: SMS codes valid ≤ 10 minutes).
pub const MAX_CODE_VALIDITY_SECONDS: u32 = 600;
pub const MIN_CODE_VALIDITY_SECONDS: u32 = 60;
pub const MIN_RESEND_TIMEOUT_SECONDS: u32 = 10;
pub const MAX_RESEND_TIMEOUT_SECONDS: u32 = 3600;
pub const MAX_PRIORITY: i32 = 1000;
/// A text longer than this would be split into many SMS parts.
pub const MAX_TEMPLATE_CHARS: usize = 480;
/// Consecutive failures after which the breaker opens.
pub const BREAKER_THRESHOLD: u32 = 3;
/// How long an open breaker skips its gateway.
pub const BREAKER_OPEN_SECONDS: i64 = 60;

/// One configured gateway.
#[derive(Debug, Clone, PartialEq)]
pub struct SmsGateway {
    pub id: Uuid,
    pub name: String,
    /// The providers whose messages it carries.
    pub providers: ProviderScope<Uuid>,
    /// Lower goes first; failover walks up.
    pub priority: i32,
    pub resend_timeout_seconds: u32,
    pub code_validity_seconds: u32,
    /// The sender name (alphanumeric sender id or number), if any.
    pub sender: Option<String>,
    /// Message templates by language (`en`, `de`, `pt-BR`), each with `{code}`.
    pub templates: BTreeMap<String, String>,
    pub kind: GatewayKind,
    /// Write-only: never in a response, a log line or an error body.
    pub credentials: Credentials,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl SmsGateway {
    pub fn serves(&self, provider: Option<Uuid>) -> bool {
        match (provider, &self.providers) {
            (_, ProviderScope::All) => true,
            (Some(id), scope) => scope.allows(&id),
            (None, ProviderScope::Only(_)) => false,
        }
    }

    /// The template for `language` (exact, then its primary subtag, then `en`, then the
    /// first one).
    pub fn template(&self, language: Option<&str>) -> Option<&str> {
        let wanted = language.unwrap_or("en");
        let primary = wanted.split('-').next().unwrap_or(wanted);
        self.templates
            .get(wanted)
            .or_else(|| self.templates.get(primary))
            .or_else(|| self.templates.get("en"))
            .or_else(|| self.templates.values().next())
            .map(String::as_str)
    }
}

/// How a gateway is spoken to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GatewayKind {
    Http(HttpGateway),
    Twilio(TwilioGateway),
}

impl GatewayKind {
    pub fn name(&self) -> &'static str {
        match self {
            GatewayKind::Http(_) => "http",
            GatewayKind::Twilio(_) => "twilio",
        }
    }
}

/// A generic HTTP gateway: a templated request, and what answer means success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpGateway {
    /// `GET` or `POST` (or `PUT`).
    pub method: String,
    /// With `{phone}`, `{message}`, `{sender}` (and the credentials' `{username}`,
    /// `{password}`), URL-encoded when filled in.
    pub url: String,
    /// The body template, filled in by its content type: JSON-escaped for JSON,
    /// URL-encoded for a form, as is otherwise.
    pub body: Option<String>,
    pub content_type: Option<String>,
    /// Headers that are not secret (secret ones go in the credentials).
    pub headers: BTreeMap<String, String>,
    /// Statuses that mean success; empty: any 2xx.
    pub success_statuses: Vec<u16>,
    /// Text the response body must contain to mean success, if any.
    pub success_body_contains: Option<String>,
}

/// A Twilio-compatible Messages API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwilioGateway {
    /// `https://api.twilio.com` unless it is a compatible service elsewhere.
    pub base_url: String,
    pub account_sid: String,
    /// Sent as `MessagingServiceSid` instead of `From` when set.
    pub messaging_service_sid: Option<String>,
}

/// The secrets of a gateway. `Debug` shows only which are set.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// For `{username}` in an HTTP gateway's templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// For `{password}` in an HTTP gateway's templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Twilio's auth token (HTTP Basic with the account SID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_token: Option<String>,
    /// Secret headers of an HTTP gateway (`Authorization`, an API key).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

impl Credentials {
    pub fn is_empty(&self) -> bool {
        self == &Credentials::default()
    }

    /// Every secret value, so that a caller can make sure none leaks.
    pub fn values(&self) -> Vec<&str> {
        [&self.username, &self.password, &self.auth_token]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .chain(self.headers.values().map(String::as_str))
            .filter(|v| !v.is_empty())
            .collect()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username.is_some())
            .field("password", &self.password.is_some())
            .field("auth_token", &self.auth_token.is_some())
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// How a value is written into a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Percent-encoded (URLs, form bodies).
    Url,
    /// Escaped for the inside of a JSON string.
    Json,
    Plain,
}

impl Encoding {
    /// The encoding a body of `content_type` needs.
    pub fn for_content_type(content_type: Option<&str>) -> Self {
        let ct = content_type.unwrap_or_default().to_ascii_lowercase();
        if ct.contains("json") {
            Encoding::Json
        } else if ct.contains("x-www-form-urlencoded") {
            Encoding::Url
        } else {
            Encoding::Plain
        }
    }

    pub fn encode(self, value: &str) -> String {
        match self {
            Encoding::Url => percent_encode(value),
            Encoding::Json => {
                let quoted = serde_json::to_string(value).unwrap_or_default();
                quoted[1..quoted.len() - 1].to_owned()
            }
            Encoding::Plain => value.to_owned(),
        }
    }
}

/// RFC 3986 percent-encoding of everything but the unreserved characters.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Placeholders a request template may use.
pub const REQUEST_PLACEHOLDERS: [&str; 5] = ["phone", "message", "sender", "username", "password"];

/// Fills `{name}` placeholders in one pass (a value that itself holds `{x}` stays as it is).
/// Unknown `{…}` are left alone.
pub fn fill(template: &str, values: &[(&str, &str)], encoding: Encoding) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let found = after.find('}').and_then(|end| {
            let name = &after[..end];
            values
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (end, *v))
        });
        match found {
            Some((end, value)) => {
                out.push_str(&encoding.encode(value));
                rest = &after[end + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `{name}` placeholders of a template.
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end)
                if !after[..end].is_empty()
                    && after[..end]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                names.push(&after[..end]);
                rest = &after[end + 1..];
            }
            _ => rest = after,
        }
    }
    names
}

/// A message template: has `{code}` once, no other placeholder, and fits a few SMS parts.
pub fn check_message_template(template: &str) -> Result<(), &'static str> {
    let names = placeholders(template);
    if template.trim().is_empty() {
        return Err("must not be empty");
    }
    if template.chars().count() > MAX_TEMPLATE_CHARS {
        return Err("is too long (at most 480 characters)");
    }
    if !names.contains(&"code") {
        return Err("must contain the {code} placeholder");
    }
    if names.iter().any(|n| *n != "code") {
        return Err("may only use the {code} placeholder");
    }
    Ok(())
}

/// A request template may use only the known placeholders.
pub fn check_request_template(template: &str) -> Result<(), String> {
    match placeholders(template)
        .into_iter()
        .find(|n| !REQUEST_PLACEHOLDERS.contains(n))
    {
        Some(unknown) => Err(format!(
            "unknown placeholder {{{unknown}}}; use {{phone}}, {{message}}, {{sender}}, {{username}} or {{password}}"
        )),
        None => Ok(()),
    }
}

/// A language tag as templates are keyed: `en`, `de`, `pt-BR`.
pub fn check_language(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or_default();
    let primary_ok =
        (2..=3).contains(&primary.len()) && primary.chars().all(|c| c.is_ascii_lowercase());
    let region = parts.next();
    let region_ok = region
        .is_none_or(|r| (2..=3).contains(&r.len()) && r.chars().all(|c| c.is_ascii_alphanumeric()));
    primary_ok && region_ok && parts.next().is_none()
}

/// Checks the numbers and templates every gateway has; pointers are the API's.
pub fn check_common(
    priority: i32,
    resend_timeout_seconds: u32,
    code_validity_seconds: u32,
    templates: &BTreeMap<String, String>,
    errors: &mut ValidationErrors,
) {
    if !(0..=MAX_PRIORITY).contains(&priority) {
        errors.add("/priority", format!("must be between 0 and {MAX_PRIORITY}"));
    }
    if !(MIN_RESEND_TIMEOUT_SECONDS..=MAX_RESEND_TIMEOUT_SECONDS).contains(&resend_timeout_seconds)
    {
        errors.add(
            "/resend_timeout_seconds",
            format!(
                "must be between {MIN_RESEND_TIMEOUT_SECONDS} and {MAX_RESEND_TIMEOUT_SECONDS}"
            ),
        );
    }
    if !(MIN_CODE_VALIDITY_SECONDS..=MAX_CODE_VALIDITY_SECONDS).contains(&code_validity_seconds) {
        errors.add(
            "/code_validity_seconds",
            format!(
                "must be between {MIN_CODE_VALIDITY_SECONDS} and {MAX_CODE_VALIDITY_SECONDS} (10 minutes)"
            ),
        );
    }
    if templates.is_empty() {
        errors.add("/templates", "needs at least one language");
    }
    for (language, template) in templates {
        let pointer = format!("/templates/{language}");
        if !check_language(language) {
            errors.add(&pointer, "is not a language tag such as en or pt-BR");
        } else if let Err(e) = check_message_template(template) {
            errors.add(&pointer, e);
        }
    }
}

/// What the last attempts through a gateway did; the breaker reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayHealth {
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    /// While set and in the future, the gateway is skipped.
    pub open_until: Option<DateTime<Utc>>,
}

impl GatewayHealth {
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        self.open_until.is_some_and(|until| now < until)
    }

    pub fn succeeded(&mut self, now: DateTime<Utc>) {
        self.last_success_at = Some(now);
        self.consecutive_failures = 0;
        self.open_until = None;
    }

    /// Counts a failure; the threshold'th in a row opens the breaker, and a failed try after
    /// it closed again (half-open) opens it at once.
    pub fn failed(&mut self, now: DateTime<Utc>) {
        self.last_failure_at = Some(now);
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        if self.consecutive_failures >= BREAKER_THRESHOLD {
            self.open_until = Some(now + Duration::seconds(BREAKER_OPEN_SECONDS));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_table() {
        let values = [("phone", "+49 151"), ("message", "Code: 1 & \"2\"")];
        let cases = [
            (
                "https://g/send?to={phone}&text={message}",
                Encoding::Url,
                "https://g/send?to=%2B49%20151&text=Code%3A%201%20%26%20%222%22",
            ),
            (
                r#"{"to":"{phone}","text":"{message}"}"#,
                Encoding::Json,
                r#"{"to":"+49 151","text":"Code: 1 & \"2\""}"#,
            ),
            ("{unknown} {phone}", Encoding::Plain, "{unknown} +49 151"),
            ("{{phone}}", Encoding::Plain, "{+49 151}"),
        ];
        for (template, encoding, expected) in cases {
            assert_eq!(fill(template, &values, encoding), expected, "{template}");
        }
        // A value holding a placeholder is not filled again.
        assert_eq!(
            fill(
                "{message}",
                &[("message", "{phone}"), ("phone", "x")],
                Encoding::Plain
            ),
            "{phone}"
        );
    }

    #[test]
    fn message_templates() {
        let cases: &[(&str, bool)] = &[
            ("Your code is {code}", true),
            ("{code}", true),
            ("Your code", false),
            ("Code {code} for {phone}", false),
            ("   ", false),
        ];
        for (template, ok) in cases {
            assert_eq!(check_message_template(template).is_ok(), *ok, "{template}");
        }
        assert!(check_message_template(&format!("{{code}}{}", "x".repeat(480))).is_err());
    }

    #[test]
    fn languages() {
        for (tag, ok) in [
            ("en", true),
            ("pt-BR", true),
            ("deu", true),
            ("EN", false),
            ("e", false),
            ("en-US-x", false),
            ("", false),
        ] {
            assert_eq!(check_language(tag), ok, "{tag}");
        }
    }

    #[test]
    fn request_templates() {
        assert!(check_request_template("https://x/?u={username}&to={phone}").is_ok());
        assert!(check_request_template("https://x/?c={code}").is_err());
    }

    #[test]
    fn breaker() {
        let t0 = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        let mut h = GatewayHealth::default();
        for i in 1..BREAKER_THRESHOLD {
            h.failed(t0);
            assert!(!h.is_open(t0), "after {i}");
        }
        h.failed(t0);
        assert!(h.is_open(t0));
        let later = t0 + Duration::seconds(BREAKER_OPEN_SECONDS);
        assert!(!h.is_open(later));
        h.failed(later);
        assert!(
            h.is_open(later),
            "a failed try after the pause opens it again"
        );
        h.succeeded(later);
        assert!(!h.is_open(later));
        assert_eq!(h.consecutive_failures, 0);
    }

    #[test]
    fn templates_by_language() {
        let mut templates = BTreeMap::new();
        templates.insert("de".to_owned(), "Code {code}".to_owned());
        templates.insert("en".to_owned(), "Your code {code}".to_owned());
        let g = SmsGateway {
            id: Uuid::nil(),
            name: "g".into(),
            providers: ProviderScope::All,
            priority: 0,
            resend_timeout_seconds: 60,
            code_validity_seconds: 300,
            sender: None,
            templates,
            kind: GatewayKind::Twilio(TwilioGateway {
                base_url: "https://api.twilio.com".into(),
                account_sid: "AC1".into(),
                messaging_service_sid: None,
            }),
            credentials: Credentials::default(),
            created_at: DateTime::<Utc>::MIN_UTC,
            updated_at: DateTime::<Utc>::MIN_UTC,
            version: 1,
        };
        assert_eq!(g.template(Some("de-AT")), Some("Code {code}"));
        assert_eq!(g.template(Some("fr")), Some("Your code {code}"));
        assert_eq!(g.template(None), Some("Your code {code}"));
        assert!(g.serves(None));
    }
}
