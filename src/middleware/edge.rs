//! Outermost middleware: request IDs (API.md §1.2), trailing slash, `Cache-Control`, JSON 405, panics.

use std::panic::AssertUnwindSafe;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::FutureExt as _;

use crate::error::{ApiError, ErrorCode, REQUEST_ID};

/// Header carrying the request ID both ways.
pub const X_REQUEST_ID: &str = "x-request-id";

/// The client's `X-Request-Id` when it is 1–128 characters of `A–Z a–z 0–9 . _ : -`.
fn client_request_id(req: &Request) -> Option<String> {
    let v = req.headers().get(X_REQUEST_ID)?.to_str().ok()?;
    let ok = (1..=128).contains(&v.len())
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    ok.then(|| v.to_owned())
}

/// `/api/v1/patients/` → `/api/v1/patients` (one slash, no redirect).
fn strip_trailing_slash(uri: &Uri) -> Option<Uri> {
    let path = uri.path();
    if !(path.starts_with("/api/") && path.len() > 5 && path.ends_with('/')) || path.ends_with("//") {
        return None;
    }
    let trimmed = &path[..path.len() - 1];
    let pq = match uri.query() {
        Some(q) => format!("{trimmed}?{q}"),
        None => trimmed.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = pq.parse().ok();
    Uri::from_parts(parts).ok()
}

/// See the module documentation.
pub async fn edge(mut req: Request, next: Next) -> Response {
    let request_id = client_request_id(&req).unwrap_or_else(|| ulid::Ulid::new().to_string());
    let is_api = req.uri().path() == "/api" || req.uri().path().starts_with("/api/");
    if let Some(uri) = strip_trailing_slash(req.uri()) {
        *req.uri_mut() = uri;
    }
    REQUEST_ID
        .scope(request_id.clone(), async move {
            let mut res = next.run(req).await;
            if res.status() == StatusCode::METHOD_NOT_ALLOWED && !res.headers().contains_key(header::CONTENT_TYPE) {
                let mut err = ApiError::new(ErrorCode::METHOD_NOT_ALLOWED);
                err.allow = res.headers().get(header::ALLOW).and_then(|v| v.to_str().ok()).map(Box::from);
                res = err.into_response();
            }
            if is_api {
                res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            }
            if let Ok(v) = HeaderValue::from_str(&request_id) {
                res.headers_mut().insert(X_REQUEST_ID, v);
            }
            res
        })
        .await
}

/// Turns a panic in a handler into 500 INTERNAL_ERROR instead of a dropped connection.
pub async fn catch_panic(req: Request, next: Next) -> Response {
    match AssertUnwindSafe(next.run(req)).catch_unwind().await {
        Ok(res) => res,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_owned());
            ApiError::internal(format!("handler panicked: {msg}")).into_response()
        }
    }
}

/// While the instance drains, every answer closes its connection: the client's (or balancer's) next request opens
/// a new one, which the balancer sends to an instance that is not leaving.
pub async fn close_when_draining(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    req: Request,
    next: Next,
) -> Response {
    let mut res = next.run(req).await;
    if state.draining() {
        res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_trailing_slash_is_stripped_from_api_paths_only() {
        let u = |s: &str| s.parse::<Uri>().unwrap();
        assert_eq!(strip_trailing_slash(&u("/api/v1/patients/?page=2")).unwrap(), u("/api/v1/patients?page=2"));
        assert_eq!(strip_trailing_slash(&u("/swagger-ui/")), None);
        assert_eq!(strip_trailing_slash(&u("/api/v1/patients")), None);
        assert_eq!(strip_trailing_slash(&u("/api/v1/patients//")), None);
    }
}
