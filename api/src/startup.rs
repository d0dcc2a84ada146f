//! Building the app: the store, migrations, keys, routes, and the HTTP server.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::error::PathError;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{Condition, Logger, Next, from_fn};
use actix_web::{App, HttpRequest, HttpServer, web};
use anyhow::Context;
use persistence::Store;

use crate::extract::{JSON_LIMIT, json_error};
use crate::jobs::{
    AuthLogPurge, ClearedOriginSweep, InactiveClientCleaning, Job, JobRunner, LegalHoldRelease,
    PURGE_BATCH, ThrottlePurge,
};
use crate::middleware::{cors, request_metrics, security_headers};
use crate::outside::oidc_http::HttpIdentityProvider;
use crate::outside::sms::SmsGateway;
use crate::outside::sms_gateways::GatewaySms;
use crate::passwords::PasswordHasherPool;
use crate::problem::ApiError;
use crate::routes;
use crate::routes::system::ApiDocument;
use crate::settings::{LogFormat, Settings};
use crate::state::{AppState, Outside};
use crate::tokens::TokenService;

pub struct Application {
    server: Server,
    port: u16,
    state: web::Data<AppState>,
}

fn path_error(_: PathError, _: &HttpRequest) -> actix_web::Error {
    ApiError::NotFound("object").into()
}

async fn no_route() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NoRoute)
}

/// A made request id: a random-looking UUID (version 4 format), unique, but not secret (it
/// is sent back and logged), so it comes from a generator of the thread seeded once by the
/// OS instead of from the OS at every request: `Uuid::new_v4` costs a `getrandom` system
/// call each, 1.8 % of the CPU of a `/me` flood.
fn new_request_id() -> String {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new(u64::from_le_bytes(crate::secrets::random_bytes()));
    }
    // SplitMix64: each step a new 64-bit value, all distinct over 2^64 steps of a thread.
    let next = || {
        STATE.with(|state| {
            let x = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
            state.set(x);
            let x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            let x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            x ^ (x >> 31)
        })
    };
    let bytes = (u128::from(next()) << 64 | u128::from(next())).to_le_bytes();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// A request id for every request: taken from `X-Request-Id` when it is sane, made
/// otherwise; sent back and written in the access log line.
async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let given = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len()) && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map(str::to_owned);
    let id = given.unwrap_or_else(new_request_id);
    // Every log line written while the request is handled carries its id.
    let mut response = REQUEST_ID.scope(id.clone(), next.call(req)).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    Ok(response)
}

/// Where actix's `Logger` writes the access log.
const ACCESS_LOG_TARGET: &str = "actix_web::middleware::logger";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled on this task, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// env_logger with the request id on every line written while a request is handled; as
/// text, or as one JSON object per line.
pub fn init_logging(format: LogFormat) {
    use std::io::Write;
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format(move |buf, record| match format {
            LogFormat::Json => writeln!(
                buf,
                "{}",
                json_line(
                    chrono::Utc::now(),
                    record.level(),
                    record.target(),
                    &record.args().to_string(),
                    current_request_id().as_deref(),
                )
            ),
            LogFormat::Text => {
                let time = buf.timestamp_micros();
                match current_request_id() {
                    Some(id) => writeln!(
                        buf,
                        "[{time} {} {}] request_id={id} {}",
                        record.level(),
                        record.target(),
                        record.args()
                    ),
                    None => writeln!(
                        buf,
                        "[{time} {} {}] {}",
                        record.level(),
                        record.target(),
                        record.args()
                    ),
                }
            }
        })
        .init();
}

/// One log line as a JSON object: `timestamp`, `level`, `target`, `message`, and
/// `request_id` while a request is handled. Escaping is serde_json's, so a message with
/// quotes or newlines stays one line.
pub fn json_line(
    time: chrono::DateTime<chrono::Utc>,
    level: log::Level,
    target: &str,
    message: &str,
    request_id: Option<&str>,
) -> String {
    let mut line = serde_json::json!({
        "timestamp": time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "level": level.as_str(),
        "target": target,
        "message": message,
    });
    if let Some(id) = request_id {
        line["request_id"] = id.into();
    }
    line.to_string()
}

/// The shared state: open the database, apply migrations, load the signing keys.
pub async fn build_state(
    settings: Settings,
    outside: Outside,
) -> anyhow::Result<web::Data<AppState>> {
    let store_settings = settings.clone();
    let clock = outside.clock.clone();
    let (store, tokens) = web::block(move || -> anyhow::Result<_> {
        let store = Store::open(&store_settings.database_url, store_settings.db_pool_size)?;
        let applied = store.migrate().context("applying migrations")?;
        if applied > 0 {
            log::info!("applied {applied} migration(s)");
        }
        let tokens = TokenService::load(store.clone(), store_settings.issuer.clone(), clock.now())
            .context("loading signing keys")?;
        Ok((store, tokens))
    })
    .await??;
    let passwords = PasswordHasherPool::new(
        settings.argon2_memory_kib,
        settings.argon2_iterations,
        settings.password_hash_concurrency,
        settings.argon2_implementation,
    )?;
    log::info!(
        "argon2id (m = {} KiB, t = {}) on {} hashing thread(s), with {}",
        settings.argon2_memory_kib,
        settings.argon2_iterations,
        settings.password_hash_concurrency,
        if passwords.implementation().uses_reference() {
            "argon2's C reference implementation for AVX-512F"
        } else {
            "the argon2 crate"
        }
    );
    let jobs: Vec<Arc<dyn Job>> = vec![
        Arc::new(AuthLogPurge {
            default_days: settings.employee_auth_log_retention_days,
            batch: PURGE_BATCH,
            interval: settings.auth_log_purge_interval,
        }),
        Arc::new(ThrottlePurge::default()),
        Arc::new(InactiveClientCleaning::default()),
        Arc::new(LegalHoldRelease::default()),
        Arc::new(ClearedOriginSweep::default()),
    ];
    let jobs = Arc::new(JobRunner::new(store.clone(), outside.clock.clone(), jobs));
    let sms_gateways = Arc::new(
        GatewaySms::new(
            store.clone(),
            outside.clock.clone(),
            settings.sms_connect_timeout,
            settings.sms_timeout,
        )
        .context("building the SMS gateways' HTTP client")?,
    );
    let oidc = match outside.oidc {
        Some(oidc) => oidc,
        None => Arc::new(
            HttpIdentityProvider::new(
                settings.oidc_connect_timeout,
                settings.oidc_timeout,
                outside.clock.clone(),
            )
            .context("building the OpenID Connect HTTP client")?,
        ),
    };
    let sms = outside
        .sms
        .unwrap_or_else(|| sms_gateways.clone() as Arc<dyn SmsGateway>);
    Ok(web::Data::new(AppState {
        store,
        settings,
        tokens: Arc::new(tokens),
        passwords,
        clock: outside.clock,
        sms,
        sms_gateways,
        oidc,
        jobs,
    }))
}

/// Everything mounted on the app, shared by the server and the tests of the contract.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(JSON_LIMIT)
            .error_handler(json_error),
    )
    .app_data(web::PathConfig::default().error_handler(path_error));
    routes::configure(cfg);
}

/// Threads of each worker's blocking pool (where `AppState::db` runs store work): enough to
/// use every database connection, no more. actix-web's default is 512 / cores per worker:
/// under load they all start, each blocked on the pool, each with its stack and a malloc
/// arena of its own, which stay after the load. Work beyond them queues for a thread
/// instead of for a connection.
pub fn blocking_threads_per_worker(db_pool_size: u32, workers: usize) -> usize {
    let connections = usize::try_from(db_pool_size).unwrap_or(usize::MAX);
    connections.div_ceil(workers.max(1)).max(1)
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with(settings, Outside::default()).await
    }

    /// Builds the app with its outside world given (tests pass doubles).
    pub async fn build_with(settings: Settings, outside: Outside) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.bind)
            .with_context(|| format!("binding {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let workers = match settings.workers {
            0 => std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
            n => n,
        };
        let blocking_threads = blocking_threads_per_worker(settings.db_pool_size, workers);
        let shutdown_timeout = settings.shutdown_timeout.as_secs();
        let origins = settings.cors_allowed_origins.clone();
        // The access log's line is rendered for every answer before the logger filters it:
        // with `RUST_LOG` above info for it (as under load), the middleware is left out.
        let access_log = log::log_enabled!(target: ACCESS_LOG_TARGET, log::Level::Info);
        let state = build_state(settings, outside).await?;
        let app_state = state.clone();
        let document = web::Data::new(ApiDocument::new(|| {
            crate::openapi::document().to_json().unwrap_or_default()
        }));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .app_data(document.clone())
                // Innermost first: CORS answers preflights; every answer, a preflight's too,
                // is counted, gets the security headers and a request id, and is logged.
                .wrap(Condition::new(!origins.is_empty(), cors(&origins)))
                .wrap(from_fn(request_metrics))
                .wrap(from_fn(security_headers))
                .wrap(from_fn(request_id))
                // Outermost, so it sees the request id. The path without the query string:
                // a client that puts a secret in a URL does not get it into our logs.
                .wrap(Condition::new(
                    access_log,
                    Logger::new(r#"%{x-request-id}o %a "%{method}xi %U" %s %b %Dms"#)
                        .custom_request_replace("method", |req| req.method().to_string()),
                ))
                .configure(configure)
                .default_service(web::to(no_route))
        })
        .workers(workers)
        .worker_max_blocking_threads(blocking_threads)
        .listen(listener)?
        // SIGTERM or SIGINT: stop accepting, give the requests in flight this long.
        .shutdown_timeout(shutdown_timeout);
        state.jobs.spawn();
        Ok(Self {
            server: server.run(),
            port,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blocking_threads_share_the_database_connections() {
        assert_eq!(blocking_threads_per_worker(10, 2), 5);
        assert_eq!(blocking_threads_per_worker(10, 3), 4);
        assert_eq!(blocking_threads_per_worker(1, 4), 1);
        assert_eq!(blocking_threads_per_worker(1000, 1), 1000);
    }

    #[test]
    fn made_request_ids_are_version_4_uuids_and_do_not_repeat() {
        let ids: std::collections::HashSet<String> = (0..10_000)
            .map(|_| new_request_id())
            .chain(
                std::thread::spawn(|| (0..10_000).map(|_| new_request_id()).collect::<Vec<_>>())
                    .join()
                    .unwrap(),
            )
            .collect();
        assert_eq!(ids.len(), 20_000);
        for id in ids.iter().take(100) {
            let parsed = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(parsed.get_version_num(), 4, "{id}");
            assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122, "{id}");
        }
    }

    #[test]
    fn a_json_log_line_is_one_object_with_the_request_id() {
        let time = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05.123456Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let line = json_line(
            time,
            log::Level::Warn,
            "api::auth::log",
            "a \"quoted\"\nmessage",
            Some("abc-123"),
        );
        assert!(!line.contains('\n'), "one line: {line}");
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "timestamp": "2026-01-02T03:04:05.123456Z",
                "level": "WARN",
                "target": "api::auth::log",
                "message": "a \"quoted\"\nmessage",
                "request_id": "abc-123",
            })
        );
        let outside = json_line(time, log::Level::Info, "api", "started", None);
        let value: serde_json::Value = serde_json::from_str(&outside).unwrap();
        assert!(value.get("request_id").is_none(), "{outside}");
    }
}
