//! HTTP layer: router, extractors, edge middleware and one module of handlers per resource.
//!
//! Each resource module exposes `routes()` (its `/api/v1` routes) and an `Api` OpenAPI fragment.

pub mod appointments;
pub mod departments;
pub mod docs;
pub mod doctors;
pub mod extract;
pub mod health;
pub mod invoices;
pub mod json;
pub mod medical_records;
pub mod patients;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::AppState;
use crate::store::StoreError;

/// 201 Created with `Location` and the JSON representation.
pub fn created<T: Serialize>(location: &str, body: &T) -> Response {
    let mut res = (StatusCode::CREATED, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// 200 OK with the JSON representation.
pub fn ok<T: Serialize>(body: &T) -> Response {
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// Attempts of a read–modify–write before a lost version race is answered 503 (the client may retry).
pub const WRITE_ATTEMPTS: usize = 3;

/// One read–modify–write attempt: `Some` when done, `None` when its conditional write lost a version race
/// (`StoreError::Stale`) and the whole attempt must re-read and re-apply its rules.
pub type Attempt<T> = ApiResult<Option<T>>;

/// Runs `attempt` until it is not beaten by a concurrent writer, at most [`WRITE_ATTEMPTS`] times.
/// (A plain closure returning a future, not an async closure: handlers' futures must be `Send`, which
/// async closures cannot yet promise for the references they borrow.)
pub async fn retry_stale<T, F>(mut attempt: impl FnMut() -> F) -> ApiResult<T>
where
    F: Future<Output = Attempt<T>>,
{
    for _ in 0..WRITE_ATTEMPTS {
        if let Some(done) = attempt().await? {
            return Ok(done);
        }
    }
    Err(StoreError::Stale.into())
}

/// Unknown route: the JSON 404 of API.md §1.1.
pub async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NOT_FOUND)
}

/// Every `/api/v1` route, before edge middleware.
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .merge(patients::routes())
        .merge(doctors::routes())
        .merge(departments::routes())
        .merge(appointments::routes())
        .merge(medical_records::routes())
        .merge(invoices::routes())
}

/// The full router: `/api/v1`, root routes, fallbacks and the edge middleware.
pub fn router(state: AppState) -> Router {
    crate::middleware::stack(api_routes(), health::routes().merge(docs::routes()), state)
}
