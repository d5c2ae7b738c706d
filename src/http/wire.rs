//! Wire shapes and response builders shared by every resource module: the page-list wrapper (API.md §1.8, §2.8),
//! `201 Created` with `Location`, `200 OK`, and the strong `ETag` of a versioned resource (§1.10).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::Versioned;
use crate::service::idempotency::Created;
use crate::store::{Page, PageRequest, StoredResponse};

/// Pagination block of a page-style list (API.md §1.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    pub page: u32,
    /// The effective limit (after capping at 100).
    pub limit: u32,
    pub total_pages: u64,
    pub total_items: u64,
}

/// A page-style list: `{"data": [...], "pagination": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PageResponse<T> {
    pub data: Vec<T>,
    pub pagination: Pagination,
}

impl<T> PageResponse<T> {
    /// Wraps one store page answered for `request`.
    pub fn new(page: Page<T>, request: PageRequest) -> Self {
        let limit = request.limit.max(1);
        Self {
            data: page.items,
            pagination: Pagination {
                page: request.page,
                limit,
                total_pages: page.total.div_ceil(u64::from(limit)),
                total_items: page.total,
            },
        }
    }
}

/// The strong ETag of a version: `"3"`.
pub fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

/// The header that marks a replayed answer (API.md §1.11).
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// The answer of an idempotent create: `201 Created` with `Location`, `ETag` and the resource, or the stored answer
/// of the attempt that created it, replayed.
pub fn created<T: Serialize + Versioned>(outcome: Created<T>, location: impl FnOnce(&T) -> String) -> Response {
    match outcome {
        Created::New(resource) => {
            let mut res = (StatusCode::CREATED, axum::Json(&resource)).into_response();
            let headers = res.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&location(&resource)) {
                headers.insert(header::LOCATION, v);
            }
            headers.insert(header::ETAG, etag(resource.version()));
            res
        }
        Created::Replayed(stored) => replay(stored),
    }
}

/// A stored answer as it was first sent (status, body, `Location`, `ETag`), plus `Idempotent-Replayed: true`.
pub fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::CREATED);
    let mut res = (status, stored.body).into_response();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let stored_header = |value: Option<String>| value.and_then(|v| HeaderValue::from_str(&v).ok());
    if let Some(v) = stored_header(stored.location) {
        headers.insert(header::LOCATION, v);
    }
    if let Some(v) = stored_header(stored.etag) {
        headers.insert(header::ETAG, v);
    }
    headers.insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    res
}

/// 200 OK with the JSON representation of something that is not one versioned resource (lists, messages).
pub fn ok<T: Serialize>(body: &T) -> Response {
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// 200 OK with the representation of a single resource and its `ETag`.
pub fn tagged<T: Serialize + Versioned>(resource: &T) -> Response {
    with_etag(ok(resource), resource.version())
}

/// 200 OK with a body that is not the resource (a deactivation or cancellation message) and the resource's `ETag`.
pub fn ok_tagged<T: Serialize>(body: &T, version: i64) -> Response {
    with_etag(ok(body), version)
}

fn with_etag(mut res: Response, version: i64) -> Response {
    res.headers_mut().insert(header::ETAG, etag(version));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_counts_pages() {
        let page = Page { items: vec![1, 2], total: 41 };
        let r = PageResponse::new(page, PageRequest { page: 3, limit: 20 });
        assert_eq!(r.pagination.total_pages, 3);
        let empty: PageResponse<i32> =
            PageResponse::new(Page { items: vec![], total: 0 }, PageRequest { page: 1, limit: 20 });
        assert_eq!(empty.pagination.total_pages, 0);
    }

    #[test]
    fn etags_are_strong_and_quoted() {
        assert_eq!(etag(3), "\"3\"");
    }
}
