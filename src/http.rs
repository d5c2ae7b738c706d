//! HTTP layer: router, extractors, edge middleware and one module of handlers per resource.
//!
//! Each resource module exposes `routes()` (its `/api/v1` routes) and an `Api` OpenAPI fragment; its handlers
//! parse the request, call one use case of `crate::service` and map the result. No handler module imports another;
//! what they share lives in `wire`, `extract` and `json`.

pub mod appointments;
pub mod audit;
pub mod auth;
pub mod departments;
pub mod docs;
pub mod doctors;
pub mod extract;
pub mod health;
pub mod invoices;
pub mod json;
pub mod medical_records;
pub mod patients;
pub mod wire;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// Unknown route: the JSON 404 of API.md §1.1.
pub async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NOT_FOUND)
}

/// Every `/api/v1` route with its documentation, before edge middleware.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(patients::routes())
        .merge(doctors::routes())
        .merge(departments::routes())
        .merge(appointments::routes())
        .merge(medical_records::routes())
        .merge(invoices::routes())
        .merge(auth::routes())
        .merge(audit::routes())
}

/// The OpenAPI document of every route (what `/openapi.json` serves).
pub fn openapi() -> serde_json::Value {
    let (_, api) = api_routes().split_for_parts();
    let (_, root) = health::routes().split_for_parts();
    docs::document(api, root)
}

/// The full router: `/api/v1`, root routes, fallbacks and the edge middleware.
pub fn router(state: AppState) -> Router {
    let (api, api_doc) = api_routes().split_for_parts();
    let (root, root_doc) = health::routes().split_for_parts();
    let doc = docs::document(api_doc, root_doc);
    crate::middleware::stack(api, root.merge(docs::routes(doc)), state)
}
