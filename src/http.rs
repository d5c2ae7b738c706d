//! HTTP layer: router, extractors and one module of handlers per resource.

use axum::Router;

use crate::state::AppState;

/// The full router: `/api/v1`, root routes, fallbacks and the edge middleware.
pub fn router(state: AppState) -> Router {
    Router::new().with_state(state)
}
