//! The request deadline (API.md §1.9): the handler future is dropped when it expires, which rolls back
//! any open transaction, and the client gets 504 REQUEST_TIMEOUT. The deadline is also handed to the store calls
//! (`crate::deadline`), which bound themselves by the time left instead of running on unobserved.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Bounds a `/api` request by `timeout`.
pub async fn deadline(State(timeout): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(timeout, crate::deadline::scope(timeout, next.run(req))).await {
        Ok(res) => res,
        Err(_) => {
            ::metrics::counter!("timeout_rejections_total").increment(1);
            let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
            ApiError::timeout(ms).into_response()
        }
    }
}
