//! Handlers for invoices (placeholder until implemented).

use axum::Router;

use crate::state::AppState;

/// OpenAPI fragment of this module.
#[derive(utoipa::OpenApi)]
#[openapi()]
pub struct Api;

/// This module's `/api/v1` routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
