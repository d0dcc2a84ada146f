//! The operator's commands. `bootstrap-admin` and `issue-key` write straight to the
//! database: they are the "requires root privileges" path, for whoever can run the binary
//! with the database's credentials.

use anyhow::{Context, anyhow, bail};
use clap::{Parser, Subcommand};
use domain::email::Email;
use domain::model::{Employee, Subject, parse_login};
use domain::permission::{ProviderScope, Role};
use domain::provider::AccountStatus;
use persistence::Store;
use uuid::Uuid;

use crate::outside::clock::{Clock, SystemClock};
use crate::settings::{Settings, parse_duration};

#[derive(Debug, Parser)]
#[command(
    name = "billing-identity",
    version,
    about = "Identity and legal-compliance service for hosting billing platforms"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Ask the service at BIND for /readyz: exit 0 when ready, 1 otherwise (for container
    /// health checks).
    Healthcheck,
    /// Print the OpenAPI document as YAML.
    Openapi,
    /// Create the first administrator and print a one-time login key for them.
    BootstrapAdmin {
        #[arg(long)]
        login: String,
        #[arg(long, default_value = "Administrator")]
        name: String,
    },
    /// Print a one-time login key for an employee, or for a user of a provider.
    IssueKey {
        #[arg(long, conflicts_with_all = ["user", "provider"])]
        employee: Option<String>,
        #[arg(long, requires = "provider")]
        user: Option<String>,
        /// The provider's slug (with --user).
        #[arg(long)]
        provider: Option<String>,
        /// How long the key stays valid, e.g. 15m, 1h (default TEMPORARY_KEY_TTL or 15m); at
        /// most 24h unless TEMPORARY_KEY_MAX_TTL allows more.
        #[arg(long)]
        ttl: Option<String>,
    },
}

fn open(settings: &Settings) -> anyhow::Result<Store> {
    let store = Store::open(&settings.database_url, 2)?;
    store.migrate().context("applying migrations")?;
    Ok(store)
}

pub fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let store = Store::open(&settings.database_url, 1)?;
    let applied = store.migrate().context("applying migrations")?;
    println!("applied {applied} migration(s)");
    Ok(())
}

/// `GET /readyz` on the configured `BIND` (an unspecified address asks the loopback), with
/// short timeouts; `Ok` only for a 200.
pub fn healthcheck(settings: &Settings) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
    use std::time::Duration;
    let ip = match settings.bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let address = SocketAddr::new(ip, settings.bind.port());
    let timeout = Duration::from_secs(3);
    let mut stream = TcpStream::connect_timeout(&address, timeout)
        .with_context(|| format!("connecting to {address}"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET /readyz HTTP/1.0\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head)?;
    let status_line = String::from_utf8_lossy(&head[..n]);
    let status_line = status_line.lines().next().unwrap_or_default();
    if status_line.split(' ').nth(1) == Some("200") {
        Ok(())
    } else {
        bail!("{address}/readyz answered {status_line:?}")
    }
}

pub fn bootstrap_admin(settings: &Settings, login: &str, name: &str) -> anyhow::Result<String> {
    let login = parse_login(login).map_err(|e| anyhow!("--login {e}"))?;
    let name = domain::error::parse_name(name, 200).map_err(|e| anyhow!("--name {e}"))?;
    let store = open(settings)?;
    if store.employee_credentials(&login)?.is_some() {
        bail!(
            "an employee with login {login:?} exists; use `issue-key --employee {login}` for a new key"
        );
    }
    // The CLI runs outside the server: the system clock is its clock.
    let now = SystemClock.now();
    let employee = Employee {
        id: Uuid::now_v7(),
        login,
        name,
        email: None::<Email>,
        status: AccountStatus::Active,
        roles: vec![Role::Admin],
        providers: ProviderScope::All,
        has_password: false,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    store.insert_employee(&employee, None)?;
    let (key, _) = crate::temporary_keys::issue(
        &store,
        Subject::employee(employee.id),
        None,
        None,
        settings.temporary_key_ttl,
        now,
    )?;
    Ok(key)
}

pub fn issue_key(
    settings: &Settings,
    employee: Option<&str>,
    user: Option<&str>,
    provider: Option<&str>,
    ttl: Option<&str>,
) -> anyhow::Result<String> {
    const FORMS: &str = "give --employee LOGIN, or --user EMAIL with --provider SLUG";
    if !matches!(
        (employee, user, provider),
        (Some(_), None, None) | (None, Some(_), Some(_))
    ) {
        bail!(FORMS);
    }
    let ttl = ttl
        .map(parse_duration)
        .transpose()?
        .unwrap_or(settings.temporary_key_ttl);
    settings.check_temporary_key_ttl(ttl).context("in --ttl")?;
    let store = open(settings)?;
    // The CLI runs outside the server: the system clock is its clock.
    let now = SystemClock.now();
    let (subject, provider_id) = match (employee, user, provider) {
        (Some(login), None, None) => {
            let login = parse_login(login).map_err(|e| anyhow!("--employee {e}"))?;
            let found = store
                .employee_credentials(&login)?
                .ok_or_else(|| anyhow!("no employee with login {login:?}"))?;
            if found.employee.status != AccountStatus::Active {
                bail!("employee {login:?} is disabled");
            }
            (Subject::employee(found.employee.id), None)
        }
        (None, Some(email), Some(slug)) => {
            let provider = store
                .provider_by_slug(slug)
                .map_err(|_| anyhow!("no provider with slug {slug:?}"))?;
            let email = Email::parse(email).map_err(|e| anyhow!("--user {e}"))?;
            let found = store
                .user_credentials(provider.id, email.as_str())?
                .ok_or_else(|| anyhow!("no user {email} at provider {slug:?}"))?;
            if found.user.status != AccountStatus::Active {
                bail!("user {email} is disabled");
            }
            (Subject::user(found.user.id), Some(provider.id))
        }
        _ => bail!(FORMS),
    };
    let (key, _) = crate::temporary_keys::issue(&store, subject, provider_id, None, ttl, now)?;
    Ok(key)
}
