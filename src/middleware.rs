//! Edge middleware and its order, in one place (outermost first):
//!
//! 1. `edge` (outer router, before routing): request ID scope and header, one trailing `/` stripped from
//!    `/api` paths, `Cache-Control: no-store` on `/api`, 405 turned into the JSON envelope.
//! 2. routing (inner router)
//! 3. `observe`: Prometheus metrics by route template and one JSON log line per request.
//! 4. `catch_panic`: a panicking handler answers 500 INTERNAL_ERROR.
//! 5. `deadline` (only `/api` routes): the handler future is dropped at the deadline (its transaction
//!    rolls back) and 504 REQUEST_TIMEOUT is returned.

pub mod edge;
pub mod metrics;
pub mod timeout;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};

use crate::state::AppState;

/// Wraps the `/api` routes and the root routes in the edge middleware.
pub fn stack(api: Router<AppState>, root: Router<AppState>, state: AppState) -> Router {
    metrics::install();
    let api = api.layer(from_fn_with_state(state.settings.request_timeout, timeout::deadline));
    let inner = Router::new()
        .merge(api)
        .merge(root)
        .fallback(crate::http::not_found)
        .layer(from_fn(edge::catch_panic))
        .layer(from_fn(metrics::observe))
        .with_state(state);
    // Layers of a router run after it has routed; the trailing-slash rewrite must run before, so the
    // routed app sits inside an outer router as its fallback service.
    Router::new()
        .route("/swagger-ui", axum::routing::get(crate::http::docs::to_swagger_ui))
        .fallback_service(inner)
        .layer(from_fn(edge::edge))
}
