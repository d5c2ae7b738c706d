//! Root routes for operators: liveness, readiness per dependency (API.md §5.1) and `/metrics`.

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;
use crate::store::StoreResult;
use crate::store::circuit_breaker::BreakerState;

/// Per-dependency timeout of a readiness check.
const CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// Body of `/health/live`.
#[derive(Serialize, ToSchema)]
pub struct Liveness {
    #[schema(example = "alive")]
    pub status: &'static str,
    #[schema(example = "0.1.0")]
    pub version: &'static str,
}

/// One dependency's readiness.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// `up` or `down`.
    pub status: &'static str,
    /// `sqlite`, `mysql` or `dynamodb`.
    pub backend: &'static str,
    /// Duration of the check (1000 on timeout).
    pub latency_ms: u64,
    /// The store's circuit-breaker state (`closed`, `open` or `half-open`), read without consulting it.
    pub circuit: &'static str,
    /// `checks.database` only: the highest migration applied to the database (`0001_clinic.sql` is 1); absent
    /// while the database is down.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 2)]
    pub schema_version: Option<i64>,
}

/// Whether tokens can be verified (SECURITY.md §1): `down` only in mode oidc before the provider's keys load.
#[derive(Serialize, ToSchema)]
pub struct AuthCheck {
    /// `up` or `down`.
    pub status: &'static str,
    /// `local`, `oidc` or `off`.
    pub mode: &'static str,
}

/// Both stores and authentication.
#[derive(Serialize, ToSchema)]
pub struct Checks {
    pub database: Check,
    pub records: Check,
    pub auth: AuthCheck,
}

/// Body of `/health` and `/health/ready`.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `healthy` (200) or `degraded` (503).
    pub status: &'static str,
    pub version: &'static str,
    pub checks: Checks,
    /// Go original's key, present only when R is MySQL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mysql: Option<&'static str>,
    /// Go original's key, present only when D is DynamoDB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamodb: Option<&'static str>,
}

/// One readiness check; `fut` answers the schema version where there is one to report.
async fn probe(
    backend: &'static str,
    circuit: BreakerState,
    fut: impl Future<Output = StoreResult<Option<i64>>>,
) -> Check {
    let started = Instant::now();
    let result = tokio::time::timeout(CHECK_TIMEOUT, fut).await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (status, latency_ms, schema_version) = match result {
        Ok(Ok(version)) => ("up", latency_ms, version),
        Ok(Err(e)) => {
            tracing::warn!(backend, error = %e, "readiness check failed");
            ("down", latency_ms, None)
        }
        Err(_) => ("down", 1000, None),
    };
    Check { status, backend, latency_ms, circuit: circuit.as_str(), schema_version }
}

/// Readiness: both stores probed concurrently, each bounded by 1 s. The probes go to the bare stores, past their
/// guards, so they see a store recover while its breaker is still open; they never trip a breaker, and a store
/// they find answering has its open breaker half-opened (at least 5 s after it opened) so real calls probe it.
#[utoipa::path(get, path = "/health", tag = "health",
    responses((status = 200, description = "Every dependency is up", body = Readiness),
              (status = 503, description = "A dependency is down", body = Readiness)))]
pub async fn health(State(state): State<AppState>) -> Response {
    let (clinic, records) = (&state.resilience.clinic, &state.resilience.records);
    // The schema version is read within R's check (its 1 s bound included): it is one more cheap query.
    let database_check = async {
        clinic.inner().ping().await?;
        clinic.inner().schema_version().await
    };
    let records_check = async { records.inner().ping().await.map(|()| None) };
    let (mut database, mut records) = tokio::join!(
        probe(clinic.inner().backend(), clinic.state(), database_check),
        probe(records.inner().backend(), records.state(), records_check),
    );
    // A store that answers its probe gets its open breaker half-opened (after a least open time), so requests
    // find a restarted database within a readiness interval rather than after the whole open period.
    // The body then reports the state after that.
    if database.status == "up" {
        clinic.breaker().store_answered();
        database.circuit = clinic.state().as_str();
    }
    if records.status == "up" {
        state.resilience.records.breaker().store_answered();
        records.circuit = state.resilience.records.state().as_str();
    }
    let auth_up = state.auth.readiness() == crate::auth::Readiness::Up;
    let auth = AuthCheck { status: if auth_up { "up" } else { "down" }, mode: state.auth.mode.as_str() };
    // A draining instance still serves, but says it is not ready, so a balancer moves its traffic elsewhere.
    let healthy = database.status == "up" && records.status == "up" && auth_up && !state.draining();
    let word = |c: &Check| if c.status == "up" { "healthy" } else { "unhealthy" };
    let body = Readiness {
        status: if healthy { "healthy" } else { "degraded" },
        version: env!("CARGO_PKG_VERSION"),
        mysql: (database.backend == "mysql").then(|| word(&database)),
        dynamodb: (records.backend == "dynamodb").then(|| word(&records)),
        checks: Checks { database, records, auth },
    };
    let mut res = axum::Json(body).into_response();
    if !healthy {
        *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    }
    res
}

/// Same as `/health`.
#[utoipa::path(get, path = "/health/ready", tag = "health",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn ready(state: State<AppState>) -> Response {
    health(state).await
}

/// Liveness: the process is serving; checks nothing.
#[utoipa::path(get, path = "/health/live", tag = "health", responses((status = 200, body = Liveness)))]
pub async fn live() -> axum::Json<Liveness> {
    axum::Json(Liveness { status: "alive", version: env!("CARGO_PKG_VERSION") })
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    // Pool occupancy is read at scrape time: it changes with every request, and nothing else needs it.
    for p in state.clinic.pools() {
        let in_use = p.open - p.idle;
        ::metrics::gauge!("db_pool_connections", "pool" => p.pool, "state" => "idle").set(f64::from(p.idle));
        ::metrics::gauge!("db_pool_connections", "pool" => p.pool, "state" => "in_use").set(f64::from(in_use));
        ::metrics::gauge!("db_pool_max_connections", "pool" => p.pool).set(f64::from(p.max));
    }
    let body = crate::middleware::metrics::install().render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// `/health`, `/health/ready`, `/health/live`, `/metrics`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health)).routes(routes!(ready)).routes(routes!(live)).routes(routes!(metrics))
}
