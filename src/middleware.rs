//! Edge middleware and its order, in one place (outermost first):
//!
//! 1. `edge` (outer router, before routing): request ID scope and header, one trailing `/` stripped from
//!    `/api` paths, `Cache-Control: no-store` on `/api`, 405 turned into the JSON envelope.
//! 2. routing (inner router)
//! 3. `observe`: Prometheus metrics by route template and one JSON log line per request.
//! 4. `catch_panic`: a panicking handler answers 500 INTERNAL_ERROR.
//! 5. `deadline` (only `/api` routes): the handler future is dropped at the deadline (its transaction
//!    rolls back) and 504 REQUEST_TIMEOUT is returned.
//! 6. `overload::shed` (only matched `/api` routes, so 404 and 405 win, API.md §1.5 step 2): while the process
//!    is CPU-bound, 503 SERVICE_OVERLOADED for the requests above the adaptive concurrency limit.
//! 7. `audit::record` (only matched `/api` routes, SECURITY.md §5): opens the request's audit note and, once the
//!    answer is known, records its event (a 2xx with patient data waits until the event is durable, else 503).
//! 8. `auth::authenticate` (only matched `/api` routes, API.md §1.5 step 3): bearer token, revocation, rate
//!    limit, the role × route matrix; 401 / 403 / 429 before any body is read.
//! 9. `traffic::admit` (only matched `/api` routes): the `staff` / `public` in-flight caps by the caller's
//!    class, 503 when full.
//! 10. the handler, whose store calls each pass the store's `Guarded` decorator (breaker, bulkhead, timeout).

pub mod audit;
pub mod auth;
pub mod cpu;
pub mod edge;
pub mod metrics;
pub mod overload;
pub mod timeout;
pub mod traffic;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};

use crate::state::AppState;

/// Wraps the `/api` routes and the root routes in the edge middleware.
pub fn stack(api: Router<AppState>, root: Router<AppState>, state: AppState) -> Router {
    metrics::install();
    // `route_layer` skips unknown paths, but axum also wraps each route's 405 fallback in it. Setting the 405
    // fallback afterwards replaces that wrapped default with a bare one (axum still adds `Allow`; `edge` adds
    // the envelope), so 404 and 405 win over shedding as API.md §1.5 orders.
    let api = api
        .route_layer(from_fn_with_state(state.clone(), traffic::admit))
        .route_layer(from_fn_with_state(state.clone(), auth::authenticate))
        .route_layer(from_fn_with_state(state.clone(), audit::record))
        .route_layer(from_fn_with_state(state.clone(), overload::shed))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(state.settings.request_timeout, timeout::deadline));
    let inner = Router::new()
        .merge(api)
        .merge(root)
        .fallback(crate::http::not_found)
        .layer(from_fn(edge::catch_panic))
        .layer(from_fn(metrics::observe))
        .layer(from_fn_with_state(state.clone(), edge::close_when_draining))
        .with_state(state);
    // Layers of a router run after it has routed; the trailing-slash rewrite must run before, so the
    // routed app sits inside an outer router as its fallback service.
    Router::new()
        .route("/swagger-ui", axum::routing::get(crate::http::docs::to_swagger_ui))
        .fallback_service(inner)
        .layer(from_fn(edge::edge))
}

/// A route matched but not its method.
async fn method_not_allowed() -> axum::http::StatusCode {
    axum::http::StatusCode::METHOD_NOT_ALLOWED
}
