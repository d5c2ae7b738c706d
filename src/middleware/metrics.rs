//! Prometheus metrics (API.md §5.2) labelled by route template, and the one-line JSON request log.
//! The log names the route template, never the raw URI: paths and queries can carry patient data.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::error::{ErrorCause, current_request_id};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Latency buckets in seconds: fine below 10 ms, where the fast routes live, up to past the deadline.
const BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// Installs the process-wide recorder once and returns its handle.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("duration_seconds".into()), BUCKETS)
            .and_then(|b| b.install_recorder())
            // Another recorder already installed (only possible in embedding tests): render an empty one.
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder().handle());
        ::metrics::describe_counter!("http_requests_total", "HTTP requests by method, route template and status");
        ::metrics::describe_histogram!(
            "http_request_duration_seconds",
            ::metrics::Unit::Seconds,
            "HTTP request latency by method, route template and status"
        );
        ::metrics::describe_gauge!("http_requests_in_flight", "HTTP requests being served");
        ::metrics::describe_counter!("timeout_rejections_total", "Requests answered 504 at the deadline");
        describe_resilience_metrics();
        ::metrics::gauge!("http_requests_in_flight").set(0.0);
        ::metrics::counter!("timeout_rejections_total").absolute(0);
        handle
    })
}

/// `# HELP` lines for the resilience metrics (DESIGN.md §4).
fn describe_resilience_metrics() {
    use ::metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_gauge!("cpu_usage_percent", Unit::Percent, "Process CPU use relative to the CPU it may use");
    describe_gauge!("cpu_circuit_breaker_state", "CPU load shedder: 0 accepting, 2 shedding");
    describe_counter!("cpu_circuit_breaker_rejections_total", "Requests answered 503 by the CPU load shedder");
    describe_gauge!("mysql_circuit_breaker_state", "Breaker of the relational store R: 0 closed, 1 half-open, 2 open");
    describe_gauge!("dynamodb_circuit_breaker_state", "Breaker of the records store D: 0 closed, 1 half-open, 2 open");
    describe_counter!("circuit_breaker_transitions_total", "Breaker state changes by store and new state");
    describe_gauge!("bulkhead_in_flight", "Calls or requests holding a bulkhead slot, by pool");
    describe_counter!("bulkhead_rejections_total", "Calls or requests refused by a full bulkhead, by pool");
    describe_counter!("store_calls_total", "Store calls by store, operation and outcome");
    describe_histogram!("store_call_duration_seconds", Unit::Seconds, "Store call latency by store and operation");
    describe_gauge!("db_pool_connections", "Database connections by pool and state (idle, in_use), read at scrape");
    describe_gauge!("db_pool_max_connections", "Largest size of each database connection pool");
    describe_histogram!(
        "sqlite_wal_checkpoint_duration_seconds",
        Unit::Seconds,
        "Background SQLite WAL checkpoints (PASSIVE), off the writer connection"
    );
}

/// Decrements the in-flight gauge even when the request future is dropped.
struct InFlight;

impl InFlight {
    fn start() -> Self {
        ::metrics::gauge!("http_requests_in_flight").increment(1.0);
        Self
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        ::metrics::gauge!("http_requests_in_flight").decrement(1.0);
    }
}

/// Records the request in the metrics and writes its log line.
pub async fn observe(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let guard = InFlight::start();
    let res = next.run(req).await;
    drop(guard);
    let elapsed = started.elapsed();
    let status = res.status().as_u16().to_string();
    let labels = [("method", method.clone()), ("path", route.clone()), ("status", status)];
    ::metrics::counter!("http_requests_total", &labels).increment(1);
    ::metrics::histogram!("http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    let request_id = current_request_id();
    let status = res.status().as_u16();
    match res.extensions().get::<ErrorCause>() {
        Some(ErrorCause(cause)) => {
            tracing::error!(request_id, method, route, status, latency_ms, cause, "request failed");
        }
        None => tracing::info!(request_id, method, route, status, latency_ms, "request"),
    }
    res
}
