//! The process's Prometheus metrics, served at `/metrics` (see the README's "Metrics").
//!
//! One registry per process: the counters are statics, so the code that counts needs no
//! handle. Labels take values from closed sets only (route templates, not raw paths).

use std::sync::OnceLock;
use std::time::Duration;

use prometheus::{
    HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The content type of the Prometheus text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    auth_attempts: IntCounterVec,
    lockouts: IntCounterVec,
    password_hashes_waiting: IntGauge,
    db_pool: IntGaugeVec,
    job_runs: IntCounterVec,
    job_duration: HistogramVec,
    job_errors: IntCounterVec,
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let metric = IntCounterVec::new(Opts::new(name, help), labels).expect("a valid metric");
    registry
        .register(Box::new(metric.clone()))
        .expect("registered once");
    metric
}

fn histogram(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    let metric = HistogramVec::new(HistogramOpts::new(name, help), labels).expect("a valid metric");
    registry
        .register(Box::new(metric.clone()))
        .expect("registered once");
    metric
}

impl Metrics {
    fn new() -> Self {
        let registry =
            Registry::new_custom(Some("billing_identity".into()), None).expect("a valid prefix");
        let password_hashes_waiting = IntGauge::new(
            "password_hashes_waiting",
            "argon2id hashes waiting for a slot of PASSWORD_HASH_CONCURRENCY",
        )
        .expect("a valid metric");
        registry
            .register(Box::new(password_hashes_waiting.clone()))
            .expect("registered once");
        let db_pool = IntGaugeVec::new(
            Opts::new("db_pool_connections", "database connections by state"),
            &["state"],
        )
        .expect("a valid metric");
        registry
            .register(Box::new(db_pool.clone()))
            .expect("registered once");
        Self {
            http_requests: counter(
                &registry,
                "http_requests_total",
                "HTTP requests answered, by method, route template and status",
                &["method", "route", "status"],
            ),
            http_duration: histogram(
                &registry,
                "http_request_duration_seconds",
                "time to answer an HTTP request, by method, route template and status",
                &["method", "route", "status"],
            ),
            auth_attempts: counter(
                &registry,
                "auth_attempts_total",
                "sign-in attempts and other auth events, by method, outcome and reason",
                &["method", "outcome", "reason"],
            ),
            lockouts: counter(
                &registry,
                "failure_budget_refusals_total",
                "attempts refused because the failure budget was spent (throttled) or the account locked",
                &["decision"],
            ),
            password_hashes_waiting,
            db_pool,
            job_runs: counter(
                &registry,
                "job_runs_total",
                "background job runs, by job and result (done, skipped: another instance held the lease, error)",
                &["job", "result"],
            ),
            job_duration: histogram(
                &registry,
                "job_run_duration_seconds",
                "time a background job run took",
                &["job"],
            ),
            job_errors: counter(
                &registry,
                "job_errors_total",
                "background job runs that failed",
                &["job"],
            ),
            registry,
        }
    }

    /// One HTTP request answered. `route` is the matched template (`/api/v1/users/{id}`).
    pub fn request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.http_requests.with_label_values(&labels).inc();
        self.http_duration
            .with_label_values(&labels)
            .observe(took.as_secs_f64());
    }

    pub fn auth_attempt(&self, method: &str, outcome: &str, reason: &str) {
        self.auth_attempts
            .with_label_values(&[method, outcome, reason])
            .inc();
    }

    /// `decision`: `throttled` or `locked`.
    pub fn failure_budget_refusal(&self, decision: &str) {
        self.lockouts.with_label_values(&[decision]).inc();
    }

    /// Counts a hash waiting for its slot until the guard is dropped.
    pub fn password_hash_waiting(&'static self) -> Waiting {
        self.password_hashes_waiting.inc();
        Waiting(&self.password_hashes_waiting)
    }

    /// `result`: `done`, `skipped` or `error`.
    pub fn job_run(&self, job: &str, result: &str, took: Duration) {
        self.job_runs.with_label_values(&[job, result]).inc();
        self.job_duration
            .with_label_values(&[job])
            .observe(took.as_secs_f64());
        if result == "error" {
            self.job_errors.with_label_values(&[job]).inc();
        }
    }

    /// The text exposition, with the pool's state as read now.
    pub fn render(&self, pool_in_use: u32, pool_idle: u32) -> String {
        self.db_pool
            .with_label_values(&["in_use"])
            .set(i64::from(pool_in_use));
        self.db_pool
            .with_label_values(&["idle"])
            .set(i64::from(pool_idle));
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_default()
    }
}

/// A hash waiting for its slot (dropped when it has one, or when the request is gone).
pub struct Waiting(&'static IntGauge);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// This process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

/// The method as a label: the standard ones, anything else as `other`.
pub fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_with_their_labels() {
        let m = Metrics::new();
        m.request("GET", "/api/v1/users/{id}", 200, Duration::from_millis(3));
        m.auth_attempt("password", "failure", "locked");
        m.job_run("auth_log_purge", "error", Duration::from_millis(1));
        let text = m.render(2, 3);
        for line in [
            r#"billing_identity_http_requests_total{method="GET",route="/api/v1/users/{id}",status="200"} 1"#,
            r#"billing_identity_auth_attempts_total{method="password",outcome="failure",reason="locked"} 1"#,
            r#"billing_identity_job_errors_total{job="auth_log_purge"} 1"#,
            r#"billing_identity_db_pool_connections{state="idle"} 3"#,
            r#"billing_identity_db_pool_connections{state="in_use"} 2"#,
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        assert_eq!(method_label("BREW"), "other");
    }
}
