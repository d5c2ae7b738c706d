//! Wire shapes and response builders shared by every resource module: the page-list wrapper (API.md §1.8, §2.8),
//! `201 Created` with `Location`, `200 OK`, and the strong `ETag` of a versioned resource (§1.10).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::{Page, PageRequest};

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
