//! Every setting is an environment variable, read once in `main` (see the README's table).

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::time::Duration;

use anyhow::{Context, anyhow};
use base64::Engine;
use persistence::{Backend, DatabaseUrl};

pub use crate::passwords::Argon2Implementation;

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: DatabaseUrl,
    pub bind: SocketAddr,
    pub db_pool_size: u32,
    /// `iss` of our access tokens.
    pub issuer: String,
    pub access_token_ttl: Duration,
    pub temporary_key_ttl: Duration,
    /// Sessions of users: absolute lifetime and idle timeout.
    pub user_session_max_age: Duration,
    pub user_session_idle: Duration,
    /// Sessions of employees (NIST AAL2: re-authentication at most every 24 h, idle ≤ 1 h).
    pub employee_session_max_age: Duration,
    pub employee_session_idle: Duration,
    /// Password hashes computed at the same time; each takes `argon2_memory_kib`.
    pub password_hash_concurrency: usize,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    /// Which argon2 implementation hashes (`ARGON2_IMPLEMENTATION`).
    pub argon2_implementation: Argon2Implementation,
    /// Use the last `X-Forwarded-For` hop as the client IP (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    pub workers: usize,
    /// How long after a refresh token's rotation a repeat of it is refused (409) instead of
    /// revoking its session: parallel refreshes of two tabs.
    pub refresh_reuse_grace: Duration,
    /// How often the auth-log purge runs.
    pub auth_log_purge_interval: Duration,
    /// Retention of auth events tied to no provider (employees' sign-ins), in days.
    pub employee_auth_log_retention_days: u32,
    /// Connecting to an SMS gateway may take this long before the next one is tried.
    pub sms_connect_timeout: Duration,
    /// A whole request to an SMS gateway may take this long before the next one is tried.
    pub sms_timeout: Duration,
    /// Connecting to an OpenID Connect provider may take this long (502 after it).
    pub oidc_connect_timeout: Duration,
    /// A whole request to an OpenID Connect provider may take this long (504 after it).
    pub oidc_timeout: Duration,
    /// The longest a one-time login key may be valid (`TEMPORARY_KEY_TTL`, `issue-key --ttl`).
    pub temporary_key_max_ttl: Duration,
    /// Browser origins (`https://app.example.com`) allowed to call the API; empty: no CORS.
    pub cors_allowed_origins: Vec<String>,
    /// `/metrics` is served only when set, and only to `Authorization: Bearer <token>`.
    pub metrics_token: Option<MetricsToken>,
    /// Encrypts TOTP secrets at rest when set (`TOTP_SECRET_KEY`).
    pub totp_secret_key: Option<TotpSecretKey>,
    pub log_format: LogFormat,
    /// How long a stopping server waits for requests in flight (SIGTERM, SIGINT).
    pub shutdown_timeout: Duration,
}

/// The bearer token of `/metrics`; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsToken(pub String);

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(…)")
    }
}

/// The key (32 bytes) that seals TOTP secrets in the database; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecretKey(pub [u8; 32]);

impl std::fmt::Debug for TotpSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecretKey(…)")
    }
}

/// Log lines as text (the default) or one JSON object per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The shortest `METRICS_TOKEN` accepted: a guessable token would publish the metrics.
pub const MIN_METRICS_TOKEN_LEN: usize = 16;
/// A grace is a few seconds; longer would let a stolen token's replay pass unseen.
pub const REFRESH_REUSE_GRACES: RangeInclusive<Duration> =
    Duration::from_secs(0)..=Duration::from_secs(60);
/// A gateway that takes longer than a minute to answer is down for a sign-in's purposes.
pub const SMS_TIMEOUTS: RangeInclusive<Duration> = Duration::from_secs(1)..=Duration::from_secs(60);
/// The same bounds for an OpenID Connect provider: a sign-in waits for it.
pub const OIDC_TIMEOUTS: RangeInclusive<Duration> = SMS_TIMEOUTS;
pub const SHUTDOWN_TIMEOUTS: RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(3600);

/// `https://app.example.com, http://localhost:5173` → the origins; `*`, paths and other
/// schemes are refused (an origin is scheme, host and port only).
pub fn parse_origins(value: &str) -> anyhow::Result<Vec<String>> {
    let mut origins = Vec::new();
    for origin in value.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        if origin == "*" {
            return Err(anyhow!(
                "CORS_ALLOWED_ORIGINS: `*` is not allowed; list the origins"
            ));
        }
        let rest = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"))
            .ok_or_else(|| {
                anyhow!("CORS_ALLOWED_ORIGINS: {origin:?} must start with https:// or http://")
            })?;
        let host_ok = !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        if !host_ok {
            return Err(anyhow!(
                "CORS_ALLOWED_ORIGINS: {origin:?} is not an origin (scheme://host[:port], no path)"
            ));
        }
        origins.push(origin.to_owned());
    }
    Ok(origins)
}

/// Allowed values of the numeric settings; outside them a setting is refused at start.
pub const DB_POOL_SIZES: RangeInclusive<u64> = 1..=1000;
pub const PASSWORD_HASH_CONCURRENCIES: RangeInclusive<u64> = 1..=64;
/// OWASP's floor for argon2id with t=2 is 19 MiB; 4 GiB is far past any sane setting.
pub const ARGON2_MEMORIES_KIB: RangeInclusive<u64> = 19 * 1024..=4 * 1024 * 1024;
pub const ARGON2_ITERATION_COUNTS: RangeInclusive<u64> = 2..=100;
pub const WORKER_COUNTS: RangeInclusive<u64> = 0..=512;
/// NIST AAL2: re-authentication at most every 24 h, idle at most 1 h.
pub const EMPLOYEE_SESSION_MAX_AGES: RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(24 * 3600);
pub const EMPLOYEE_SESSION_IDLES: RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(3600);
/// A one-time key is short-lived: 24 h at most unless `TEMPORARY_KEY_MAX_TTL` allows more,
/// and never more than 30 days.
pub const DEFAULT_TEMPORARY_KEY_MAX_TTL: Duration = Duration::from_secs(24 * 3600);
pub const TEMPORARY_KEY_MAX_TTLS: RangeInclusive<Duration> =
    Duration::from_secs(60)..=Duration::from_secs(30 * 24 * 3600);

/// `90s` → `90s`, `3600` → `1h`: a duration as the settings write it.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0s".into(),
        s if s % 86400 == 0 => format!("{}d", s / 86400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: DatabaseUrl::parse("sqlite://billing-identity.db")
                .expect("valid default"),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            db_pool_size: default_db_pool_size(Backend::Sqlite),
            issuer: "billing-identity".into(),
            access_token_ttl: Duration::from_secs(15 * 60),
            temporary_key_ttl: Duration::from_secs(15 * 60),
            user_session_max_age: Duration::from_secs(30 * 24 * 3600),
            user_session_idle: Duration::from_secs(7 * 24 * 3600),
            employee_session_max_age: Duration::from_secs(24 * 3600),
            employee_session_idle: Duration::from_secs(3600),
            password_hash_concurrency: 2,
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
            argon2_implementation: Argon2Implementation::Auto,
            trust_forwarded_for: false,
            workers: 0,
            refresh_reuse_grace: Duration::from_secs(domain::refresh::DEFAULT_REUSE_GRACE_SECONDS),
            auth_log_purge_interval: Duration::from_secs(3600),
            employee_auth_log_retention_days: 180,
            sms_connect_timeout: Duration::from_secs(3),
            sms_timeout: Duration::from_secs(10),
            oidc_connect_timeout: Duration::from_secs(3),
            oidc_timeout: Duration::from_secs(10),
            temporary_key_max_ttl: DEFAULT_TEMPORARY_KEY_MAX_TTL,
            cors_allowed_origins: Vec::new(),
            metrics_token: None,
            totp_secret_key: None,
            log_format: LogFormat::Text,
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

/// `15m`, `1h`, `30s`, `7d`, or plain seconds.
pub fn parse_duration(value: &str) -> anyhow::Result<Duration> {
    let value = value.trim();
    let (number, unit) = value
        .find(|c: char| !c.is_ascii_digit())
        .map(|i| value.split_at(i))
        .unwrap_or((value, "s"));
    let n: u64 = number
        .parse()
        .with_context(|| format!("not a duration: {value:?}"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => return Err(anyhow!("not a duration: {value:?} (use s, m, h or d)")),
    };
    if seconds == 0 {
        return Err(anyhow!("duration must be positive: {value:?}"));
    }
    Ok(Duration::from_secs(seconds))
}

fn within(name: &str, d: Duration, range: &RangeInclusive<Duration>) -> anyhow::Result<Duration> {
    if range.contains(&d) {
        Ok(d)
    } else {
        Err(anyhow!(
            "{name} must be between {} and {} (got {})",
            format_duration(*range.start()),
            format_duration(*range.end()),
            format_duration(d)
        ))
    }
}

/// Connections when `DB_POOL_SIZE` is not set. SQLite has one writer at a time and its reads
/// are CPU work, so more connections than a few only add page caches, threads and malloc
/// arenas (README "Memory"); PostgreSQL's requests wait on round trips, so more of them help.
pub fn default_db_pool_size(backend: Backend) -> u32 {
    match backend {
        Backend::Sqlite => 4,
        Backend::Postgres => 10,
    }
}

impl Settings {
    /// Reads the environment through `get` (so tests need not touch the process's).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mut s = Settings::default();
        if let Some(url) = get("DATABASE_URL") {
            s.database_url = DatabaseUrl::parse(&url).map_err(|e| anyhow!("{e}"))?;
        }
        if let Some(bind) = get("BIND") {
            s.bind = bind
                .parse()
                .with_context(|| format!("BIND is not host:port: {bind:?}"))?;
        }
        let number = |name: &str, range: RangeInclusive<u64>| -> anyhow::Result<Option<u64>> {
            let Some(v) = get(name) else { return Ok(None) };
            let n = v
                .trim()
                .parse::<u64>()
                .with_context(|| format!("{name} must be a number"))?;
            if !range.contains(&n) {
                return Err(anyhow!(
                    "{name} must be between {} and {} (got {n})",
                    range.start(),
                    range.end()
                ));
            }
            Ok(Some(n))
        };
        let duration = |name: &str| -> anyhow::Result<Option<Duration>> {
            get(name)
                .map(|v| parse_duration(&v).with_context(|| format!("in {name}")))
                .transpose()
        };
        let bounded = |name: &str, range: RangeInclusive<Duration>| {
            duration(name)?.map(|d| within(name, d, &range)).transpose()
        };
        s.db_pool_size = match number("DB_POOL_SIZE", DB_POOL_SIZES)? {
            Some(n) => u32::try_from(n)?,
            None => default_db_pool_size(s.database_url.backend),
        };
        if let Some(issuer) = get("TOKEN_ISSUER") {
            s.issuer = issuer;
        }
        if let Some(d) = duration("ACCESS_TOKEN_TTL")? {
            s.access_token_ttl = d;
        }
        if let Some(d) = bounded("TEMPORARY_KEY_MAX_TTL", TEMPORARY_KEY_MAX_TTLS)? {
            s.temporary_key_max_ttl = d;
        }
        if let Some(d) = duration("TEMPORARY_KEY_TTL")? {
            s.temporary_key_ttl = d;
        }
        s.check_temporary_key_ttl(s.temporary_key_ttl)
            .context("in TEMPORARY_KEY_TTL")?;
        if let Some(d) = duration("USER_SESSION_MAX_AGE")? {
            s.user_session_max_age = d;
        }
        if let Some(d) = duration("USER_SESSION_IDLE")? {
            s.user_session_idle = d;
        }
        if let Some(d) = bounded("EMPLOYEE_SESSION_MAX_AGE", EMPLOYEE_SESSION_MAX_AGES)? {
            s.employee_session_max_age = d;
        }
        if let Some(d) = bounded("EMPLOYEE_SESSION_IDLE", EMPLOYEE_SESSION_IDLES)? {
            s.employee_session_idle = d;
        }
        if let Some(n) = number("PASSWORD_HASH_CONCURRENCY", PASSWORD_HASH_CONCURRENCIES)? {
            s.password_hash_concurrency = usize::try_from(n)?;
        }
        if let Some(n) = number("ARGON2_MEMORY_KIB", ARGON2_MEMORIES_KIB)? {
            s.argon2_memory_kib = u32::try_from(n)?;
        }
        if let Some(n) = number("ARGON2_ITERATIONS", ARGON2_ITERATION_COUNTS)? {
            s.argon2_iterations = u32::try_from(n)?;
        }
        if let Some(v) = get("ARGON2_IMPLEMENTATION") {
            s.argon2_implementation = match v.as_str() {
                "auto" => Argon2Implementation::Auto,
                "crate" => Argon2Implementation::Crate,
                other => {
                    return Err(anyhow!(
                        "ARGON2_IMPLEMENTATION must be auto or crate (got {other:?})"
                    ));
                }
            };
        }
        if let Some(v) = get("TRUST_FORWARDED_FOR") {
            s.trust_forwarded_for = matches!(v.as_str(), "1" | "true" | "yes");
        }
        if let Some(d) = bounded("REFRESH_REUSE_GRACE", REFRESH_REUSE_GRACES)? {
            s.refresh_reuse_grace = d;
        }
        if let Some(d) = duration("AUTH_LOG_PURGE_INTERVAL")? {
            s.auth_log_purge_interval = d;
        }
        let days = domain::policy::MIN_AUTH_LOG_RETENTION_DAYS as u64
            ..=domain::policy::MAX_AUTH_LOG_RETENTION_DAYS as u64;
        if let Some(n) = number("EMPLOYEE_AUTH_LOG_RETENTION_DAYS", days)? {
            s.employee_auth_log_retention_days = u32::try_from(n)?;
        }
        if let Some(d) = bounded("SMS_CONNECT_TIMEOUT", SMS_TIMEOUTS)? {
            s.sms_connect_timeout = d;
        }
        if let Some(d) = bounded("SMS_TIMEOUT", SMS_TIMEOUTS)? {
            s.sms_timeout = d;
        }
        if let Some(d) = bounded("OIDC_CONNECT_TIMEOUT", OIDC_TIMEOUTS)? {
            s.oidc_connect_timeout = d;
        }
        if let Some(d) = bounded("OIDC_TIMEOUT", OIDC_TIMEOUTS)? {
            s.oidc_timeout = d;
        }
        if let Some(n) = number("WORKERS", WORKER_COUNTS)? {
            s.workers = usize::try_from(n)?;
        }
        if let Some(v) = get("CORS_ALLOWED_ORIGINS") {
            s.cors_allowed_origins = parse_origins(&v)?;
        }
        if let Some(token) = get("METRICS_TOKEN") {
            if token.len() < MIN_METRICS_TOKEN_LEN || token.chars().any(|c| !c.is_ascii_graphic()) {
                return Err(anyhow!(
                    "METRICS_TOKEN must be at least {MIN_METRICS_TOKEN_LEN} printable characters without spaces"
                ));
            }
            s.metrics_token = Some(MetricsToken(token));
        }
        if let Some(v) = get("TOTP_SECRET_KEY") {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| anyhow!("TOTP_SECRET_KEY must be 32 bytes in base64"))?;
            s.totp_secret_key = Some(TotpSecretKey(bytes));
        }
        if let Some(v) = get("LOG_FORMAT") {
            s.log_format = match v.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => return Err(anyhow!("LOG_FORMAT must be text or json (got {other:?})")),
            };
        }
        if let Some(d) = bounded("SHUTDOWN_TIMEOUT", SHUTDOWN_TIMEOUTS)? {
            s.shutdown_timeout = d;
        }
        Ok(s)
    }

    /// A one-time key's lifetime is refused above `temporary_key_max_ttl`.
    pub fn check_temporary_key_ttl(&self, ttl: Duration) -> anyhow::Result<()> {
        if ttl > self.temporary_key_max_ttl {
            return Err(anyhow!(
                "a one-time key may be valid for at most {} (TEMPORARY_KEY_MAX_TTL), not {}",
                format_duration(self.temporary_key_max_ttl),
                format_duration(ttl)
            ));
        }
        Ok(())
    }

    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An environment of these pairs only, for `Settings::from_lookup`.
    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn durations() {
        let cases: &[(&str, Option<u64>)] = &[
            ("15m", Some(900)),
            ("1h", Some(3600)),
            ("30", Some(30)),
            ("2d", Some(172_800)),
            ("0s", None),
            ("5w", None),
            ("m", None),
            ("", None),
        ];
        for (input, expected) in cases {
            assert_eq!(
                parse_duration(input).ok().map(|d| d.as_secs()),
                *expected,
                "{input:?}"
            );
        }
    }

    #[test]
    fn env_overrides_and_errors() {
        let s = Settings::from_lookup(env(&[
            ("BIND", "0.0.0.0:9000"),
            ("ARGON2_MEMORY_KIB", "65536"),
            ("EMPLOYEE_SESSION_IDLE", "30m"),
        ]))
        .unwrap();
        assert_eq!(s.bind.port(), 9000);
        assert_eq!(s.argon2_memory_kib, 65536);
        assert_eq!(s.employee_session_idle.as_secs(), 1800);
        assert!(Settings::from_lookup(env(&[("DATABASE_URL", "postgress://x")])).is_err());
        assert!(Settings::from_lookup(env(&[("BIND", "nope")])).is_err());
        assert!(Settings::from_lookup(env(&[("EMPLOYEE_AUTH_LOG_RETENTION_DAYS", "0")])).is_err());
        let s = Settings::from_lookup(env(&[("EMPLOYEE_AUTH_LOG_RETENTION_DAYS", "30")])).unwrap();
        assert_eq!(s.employee_auth_log_retention_days, 30);
        let s = Settings::from_lookup(env(&[("SMS_TIMEOUT", "5s"), ("SMS_CONNECT_TIMEOUT", "1")]))
            .unwrap();
        assert_eq!(
            (s.sms_timeout.as_secs(), s.sms_connect_timeout.as_secs()),
            (5, 1)
        );
        assert!(Settings::from_lookup(env(&[("SMS_TIMEOUT", "0s")])).is_err());
    }

    #[test]
    fn the_pool_size_defaults_by_backend_and_is_kept_when_set() {
        let cases: &[(&[(&str, &str)], u32)] = &[
            (&[], 4),
            (&[("DATABASE_URL", "sqlite://x.db")], 4),
            (&[("DATABASE_URL", "postgres://h/db")], 10),
            (
                &[("DATABASE_URL", "postgres://h/db"), ("DB_POOL_SIZE", "3")],
                3,
            ),
            (
                &[("DATABASE_URL", "sqlite://x.db"), ("DB_POOL_SIZE", "12")],
                12,
            ),
        ];
        for (pairs, expected) in cases {
            let s = Settings::from_lookup(env(pairs)).unwrap();
            assert_eq!(s.db_pool_size, *expected, "{pairs:?}");
        }
    }

    /// Out of range is refused with the allowed range in the message, never clamped.
    #[test]
    fn out_of_range_settings_are_refused_with_the_range() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            (
                "DB_POOL_SIZE",
                "0",
                Some("DB_POOL_SIZE must be between 1 and 1000 (got 0)"),
            ),
            ("DB_POOL_SIZE", "1001", Some("between 1 and 1000")),
            ("DB_POOL_SIZE", "1", None),
            ("DB_POOL_SIZE", "ten", Some("DB_POOL_SIZE must be a number")),
            ("PASSWORD_HASH_CONCURRENCY", "0", Some("between 1 and 64")),
            ("PASSWORD_HASH_CONCURRENCY", "64", None),
            (
                "ARGON2_MEMORY_KIB",
                "1024",
                Some("between 19456 and 4194304"),
            ),
            ("ARGON2_MEMORY_KIB", "19456", None),
            ("ARGON2_ITERATIONS", "1", Some("between 2 and 100")),
            ("WORKERS", "100000", Some("between 0 and 512")),
            (
                "EMPLOYEE_SESSION_IDLE",
                "8h",
                Some("between 1s and 1h (got 8h)"),
            ),
            ("EMPLOYEE_SESSION_IDLE", "1h", None),
            (
                "EMPLOYEE_SESSION_MAX_AGE",
                "2d",
                Some("between 1s and 1d (got 2d)"),
            ),
            (
                "EMPLOYEE_AUTH_LOG_RETENTION_DAYS",
                "0",
                Some("between 1 and 3650"),
            ),
            (
                "TEMPORARY_KEY_TTL",
                "2d",
                Some("at most 1d (TEMPORARY_KEY_MAX_TTL), not 2d"),
            ),
            ("TEMPORARY_KEY_TTL", "24h", None),
            ("TEMPORARY_KEY_MAX_TTL", "31d", Some("between 1m and 30d")),
            ("TEMPORARY_KEY_MAX_TTL", "30s", Some("between 1m and 30d")),
            ("SHUTDOWN_TIMEOUT", "2h", Some("between 1s and 1h")),
            ("SHUTDOWN_TIMEOUT", "10s", None),
            ("LOG_FORMAT", "xml", Some("text or json")),
            ("ARGON2_IMPLEMENTATION", "reference", Some("auto or crate")),
            ("ARGON2_IMPLEMENTATION", "crate", None),
            ("ARGON2_IMPLEMENTATION", "auto", None),
            ("LOG_FORMAT", "json", None),
            ("TOTP_SECRET_KEY", "c2hvcnQ=", Some("32 bytes in base64")),
            (
                "TOTP_SECRET_KEY",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                None,
            ),
            ("METRICS_TOKEN", "short", Some("at least 16")),
            ("METRICS_TOKEN", "0123456789abcdef", None),
            ("CORS_ALLOWED_ORIGINS", "*", Some("`*` is not allowed")),
            (
                "CORS_ALLOWED_ORIGINS",
                "app.example.com",
                Some("must start with https://"),
            ),
            (
                "CORS_ALLOWED_ORIGINS",
                "https://app.example.com/",
                Some("not an origin"),
            ),
            (
                "CORS_ALLOWED_ORIGINS",
                "https://a.example, http://localhost:5173",
                None,
            ),
        ];
        for (name, value, expected) in cases {
            let result = Settings::from_lookup(|n| (n == *name).then(|| value.to_string()));
            match (result, expected) {
                (Ok(_), None) => {}
                (Err(e), Some(text)) => {
                    let message = format!("{e:#}");
                    assert!(message.contains(text), "{name}={value}: {message}");
                }
                (Ok(_), Some(text)) => panic!("{name}={value} accepted; expected {text:?}"),
                (Err(e), None) => panic!("{name}={value} refused: {e:#}"),
            }
        }
        assert_eq!(
            parse_origins(" https://a.example ,,http://localhost:5173").unwrap(),
            ["https://a.example", "http://localhost:5173"]
        );
        let more = Settings::from_lookup(|n| match n {
            "TEMPORARY_KEY_MAX_TTL" => Some("7d".into()),
            "TEMPORARY_KEY_TTL" => Some("2d".into()),
            _ => None,
        })
        .expect("a larger maximum allows a longer key");
        assert_eq!(more.temporary_key_ttl.as_secs(), 2 * 86400);
        assert!(
            more.check_temporary_key_ttl(Duration::from_secs(8 * 86400))
                .is_err()
        );
    }
}
