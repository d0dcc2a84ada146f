//! Every setting is an environment variable, read once in `main` (see the README's table).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, anyhow};
use persistence::DatabaseUrl;

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
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: DatabaseUrl::parse("sqlite://billing-identity.db")
                .expect("valid default"),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            db_pool_size: 10,
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
            trust_forwarded_for: false,
            workers: 0,
            refresh_reuse_grace: Duration::from_secs(domain::refresh::DEFAULT_REUSE_GRACE_SECONDS),
            auth_log_purge_interval: Duration::from_secs(3600),
            employee_auth_log_retention_days: 180,
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
        let number = |name: &str| -> anyhow::Result<Option<u64>> {
            get(name)
                .map(|v| {
                    v.parse::<u64>()
                        .with_context(|| format!("{name} must be a number"))
                })
                .transpose()
        };
        let duration = |name: &str| -> anyhow::Result<Option<Duration>> {
            get(name)
                .map(|v| parse_duration(&v).with_context(|| format!("in {name}")))
                .transpose()
        };
        if let Some(n) = number("DB_POOL_SIZE")? {
            s.db_pool_size = u32::try_from(n.clamp(1, 1000))?;
        }
        if let Some(issuer) = get("TOKEN_ISSUER") {
            s.issuer = issuer;
        }
        if let Some(d) = duration("ACCESS_TOKEN_TTL")? {
            s.access_token_ttl = d;
        }
        if let Some(d) = duration("TEMPORARY_KEY_TTL")? {
            s.temporary_key_ttl = d;
        }
        if let Some(d) = duration("USER_SESSION_MAX_AGE")? {
            s.user_session_max_age = d;
        }
        if let Some(d) = duration("USER_SESSION_IDLE")? {
            s.user_session_idle = d;
        }
        if let Some(d) = duration("EMPLOYEE_SESSION_MAX_AGE")? {
            s.employee_session_max_age = d.min(Duration::from_secs(24 * 3600));
        }
        if let Some(d) = duration("EMPLOYEE_SESSION_IDLE")? {
            s.employee_session_idle = d.min(Duration::from_secs(3600));
        }
        if let Some(n) = number("PASSWORD_HASH_CONCURRENCY")? {
            s.password_hash_concurrency = usize::try_from(n.clamp(1, 64))?;
        }
        if let Some(n) = number("ARGON2_MEMORY_KIB")? {
            // OWASP's floor for argon2id with t=2 is 19 MiB.
            s.argon2_memory_kib = u32::try_from(n.max(19 * 1024))?;
        }
        if let Some(n) = number("ARGON2_ITERATIONS")? {
            s.argon2_iterations = u32::try_from(n.max(2))?;
        }
        if let Some(v) = get("TRUST_FORWARDED_FOR") {
            s.trust_forwarded_for = matches!(v.as_str(), "1" | "true" | "yes");
        }
        if let Some(d) = duration("REFRESH_REUSE_GRACE")? {
            // A grace is a few seconds; longer would let a stolen token's replay pass unseen.
            s.refresh_reuse_grace = d.min(Duration::from_secs(60));
        }
        if let Some(d) = duration("AUTH_LOG_PURGE_INTERVAL")? {
            s.auth_log_purge_interval = d;
        }
        if let Some(n) = number("EMPLOYEE_AUTH_LOG_RETENTION_DAYS")? {
            let days = domain::policy::MIN_AUTH_LOG_RETENTION_DAYS as u64
                ..=domain::policy::MAX_AUTH_LOG_RETENTION_DAYS as u64;
            if !days.contains(&n) {
                return Err(anyhow!(
                    "EMPLOYEE_AUTH_LOG_RETENTION_DAYS must be between {} and {}",
                    days.start(),
                    days.end()
                ));
            }
            s.employee_auth_log_retention_days = u32::try_from(n)?;
        }
        if let Some(n) = number("WORKERS")? {
            s.workers = usize::try_from(n)?;
        }
        Ok(s)
    }

    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let s = Settings::from_lookup(env(&[
            ("BIND", "0.0.0.0:9000"),
            ("ARGON2_MEMORY_KIB", "1024"),
            ("EMPLOYEE_SESSION_IDLE", "8h"),
        ]))
        .unwrap();
        assert_eq!(s.bind.port(), 9000);
        assert_eq!(
            s.argon2_memory_kib,
            19 * 1024,
            "cannot go below the OWASP floor"
        );
        assert_eq!(s.employee_session_idle.as_secs(), 3600, "capped at 1 h");
        assert!(Settings::from_lookup(env(&[("DATABASE_URL", "postgress://x")])).is_err());
        assert!(Settings::from_lookup(env(&[("BIND", "nope")])).is_err());
        assert!(Settings::from_lookup(env(&[("EMPLOYEE_AUTH_LOG_RETENTION_DAYS", "0")])).is_err());
        let s = Settings::from_lookup(env(&[("EMPLOYEE_AUTH_LOG_RETENTION_DAYS", "30")])).unwrap();
        assert_eq!(s.employee_auth_log_retention_days, 30);
    }
}
