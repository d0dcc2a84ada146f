//! What an operator runs: metrics, the health check of the container, a graceful stop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::*;

const METRICS_TOKEN: &str = "metrics-token-0123456789";

/// The sum of the samples of `name` whose labels contain every one of `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| labels.iter().all(|label| l.contains(label)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn scrape(app: &TestApp) -> String {
    let response = app.get("/metrics", Some(METRICS_TOKEN)).await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

#[tokio::test]
async fn metrics_move_with_sign_ins_requests_and_jobs() {
    let app = TestApp::builder()
        .settings(|s| s.metrics_token = Some(api::settings::MetricsToken(METRICS_TOKEN.into())))
        .spawn()
        .await;
    assert_problem(app.get("/metrics", None).await, 401, "unauthenticated").await;
    assert_problem(
        app.get("/metrics", Some("metrics-token-wrong-guess")).await,
        401,
        "unauthenticated",
    )
    .await;

    let before = scrape(&app).await;
    // The key's redemption; enrolling the admin's second factor is counted under `totp`.
    let sign_ins = r#"outcome="success""#;
    let redeem_route = r#"route="/api/v1/auth/temporary-key""#;
    let admin = app.admin_token().await;
    app.get("/api/v1/me", Some(&admin)).await;
    let bad = serde_json::json!({ "key": "bitk_nope" });
    app.post("/api/v1/auth/temporary-key", None, bad).await;
    // A path with an id counts under its template; a path no route knows, as unmatched.
    let session = format!("/api/v1/me/sessions/{}", uuid::Uuid::new_v4());
    app.delete(&session, Some(&admin)).await;
    app.get("/api/v1/no-such-thing", Some(&admin)).await;
    app.run_job(api::jobs::AUTH_LOG_PURGE).await;
    let after = scrape(&app).await;

    let moved =
        |name: &str, labels: &[&str]| sample(&after, name, labels) - sample(&before, name, labels);
    assert_eq!(
        moved(
            "billing_identity_auth_attempts_total",
            &[sign_ins, r#"method="temporary_key""#]
        ),
        1.0,
        "{after}"
    );
    assert!(
        moved(
            "billing_identity_auth_attempts_total",
            &[r#"outcome="failure""#]
        ) >= 1.0
    );
    assert_eq!(
        moved(
            "billing_identity_http_requests_total",
            &[redeem_route, r#"status="200""#]
        ),
        1.0,
        "{after}"
    );
    assert_eq!(
        moved(
            "billing_identity_http_requests_total",
            &[
                r#"route="/api/v1/me""#,
                r#"method="GET""#,
                r#"status="200""#
            ]
        ),
        1.0,
        "by template and status: {after}"
    );
    assert_eq!(
        moved(
            "billing_identity_http_requests_total",
            &[r#"route="/api/v1/me/sessions/{id}""#, r#"method="DELETE""#]
        ),
        1.0,
        "{after}"
    );
    assert_eq!(
        moved(
            "billing_identity_http_requests_total",
            &[r#"route="unmatched""#, r#"status="404""#]
        ),
        1.0,
        "{after}"
    );
    assert!(
        moved(
            "billing_identity_http_request_duration_seconds_count",
            &[redeem_route]
        ) >= 2.0
    );
    assert!(!after.contains("bitk_"), "no secret in the metrics");
    assert_eq!(
        moved(
            "billing_identity_job_runs_total",
            &[r#"job="auth_log_purge""#, r#"result="done""#]
        ),
        1.0,
        "{after}"
    );
    assert!(after.contains("billing_identity_job_run_duration_seconds_bucket"));
    assert!(after.contains(r#"billing_identity_db_pool_connections{state="idle"}"#));
    assert!(after.contains(r#"billing_identity_db_pool_connections{state="in_use"}"#));
    assert!(after.contains("billing_identity_password_hashes_waiting"));
}

#[tokio::test]
async fn without_a_metrics_token_there_are_no_metrics() {
    let app = spawn_app().await;
    assert_problem(
        app.get("/metrics", Some(METRICS_TOKEN)).await,
        404,
        "no_route",
    )
    .await;
}

/// The real binary, serving on a port of its own; its log on stderr is read for the port.
struct Server {
    child: Child,
    port: u16,
    _db: TestDb,
}

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_billing-identity"))
}

impl Server {
    fn start() -> Self {
        let db = TestDb::new();
        let mut child = binary()
            .env("DATABASE_URL", &db.url)
            .env("BIND", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            .env("SHUTDOWN_TIMEOUT", "5s")
            .env("LOG_FORMAT", "json")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let port = loop {
            let line = lines
                .next()
                .expect("the server logs that it listens")
                .unwrap();
            let value: serde_json::Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
            let message = value["message"].as_str().unwrap();
            if let Some(address) = message.strip_prefix("listening on ") {
                break address.rsplit(':').next().unwrap().parse().unwrap();
            }
        };
        // Keep reading, so that the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self {
            child,
            port,
            _db: db,
        }
    }

    fn healthcheck(&self) -> bool {
        binary()
            .arg("healthcheck")
            .env("BIND", format!("0.0.0.0:{}", self.port))
            .status()
            .unwrap()
            .success()
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn wait(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the server did not stop within {within:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn sigterm_drains_the_request_in_flight_and_exits_0() {
    let mut server = Server::start();
    assert!(
        server.healthcheck(),
        "ready, through the healthcheck command"
    );

    // A request in flight: its head sent, its body not yet.
    let body = r#"{"key":"bitk_nope"}"#;
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST /api/v1/auth/temporary-key HTTP/1.1\r\nHost: localhost\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));

    server.terminate();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        TcpStream::connect(("127.0.0.1", server.port)).is_err(),
        "no longer accepting"
    );
    assert!(!server.healthcheck(), "not ready once stopping");

    stream.write_all(body.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "drained: {answer}");

    let status = server.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn the_healthcheck_fails_when_nothing_answers() {
    // A port just freed: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let status = binary()
        .arg("healthcheck")
        .env("BIND", format!("127.0.0.1:{port}"))
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
}
