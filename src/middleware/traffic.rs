//! Traffic classes at the edge (DESIGN.md §3): `staff` and `public` requests get separate in-flight caps, so a
//! public flood cannot starve staff. The class comes from the token's roles (`patient` only → `public`, any
//! staff role → `staff`), or in mode `off` from `X-User-Type: staff|public` (the Go original's header; missing or
//! anything else is `public`). A class at its cap answers 503
//! SERVICE_UNAVAILABLE with `Retry-After: 2` at once: queueing at the edge would only move the pile-up.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::middleware::auth::Caller;
use crate::state::AppState;
use crate::store::guarded::Bulkhead;

/// Header naming the caller's class.
pub const X_USER_TYPE: &str = "x-user-type";

/// One bulkhead per class (`bulkhead_in_flight{pool="staff"|"public"}`).
#[derive(Debug)]
pub struct TrafficClasses {
    pub staff: Bulkhead,
    pub public: Bulkhead,
}

impl TrafficClasses {
    pub fn new(staff: u32, public: u32) -> Self {
        // The edge never waits for a slot, so the wait bound is unused.
        Self {
            staff: Bulkhead::new("staff", staff, Duration::ZERO),
            public: Bulkhead::new("public", public, Duration::ZERO),
        }
    }

    /// The bulkhead of the `staff` class, or of `public`.
    pub fn class_of(&self, staff: bool) -> &Bulkhead {
        if staff { &self.staff } else { &self.public }
    }
}

/// Whether `X-User-Type` names the `staff` class (any case); missing or anything else is `public`. Decides the
/// class only in mode `off`: with tokens the role does.
pub fn staff_by_header(headers: &axum::http::HeaderMap) -> bool {
    headers.get(X_USER_TYPE).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"staff"))
}

/// Admits a routed `/api` request into its class, or answers 503 when the class is full. The class is the one the
/// auth middleware (which runs first) chose: from the role, or from `X-User-Type` in mode `off`.
pub async fn admit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let staff = req.extensions().get::<Caller>().map_or_else(|| staff_by_header(req.headers()), |c| c.staff);
    let class = state.resilience.traffic.class_of(staff);
    let Some(_slot) = class.try_enter() else {
        return ApiError::unavailable(2, "traffic class at its in-flight cap").into_response();
    };
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_is_named_explicitly_and_everything_else_is_public() {
        let with = |v: Option<&str>| {
            let mut h = axum::http::HeaderMap::new();
            if let Some(v) = v {
                h.insert(X_USER_TYPE, axum::http::HeaderValue::from_str(v).unwrap());
            }
            staff_by_header(&h)
        };
        assert!(with(Some("staff")) && with(Some("Staff")));
        assert!(!with(Some("public")) && !with(Some("admin")) && !with(None));
        let t = TrafficClasses::new(1, 1);
        assert!(std::ptr::eq(t.class_of(true), &t.staff));
        assert!(std::ptr::eq(t.class_of(false), &t.public));
    }

    #[test]
    fn a_full_public_class_leaves_staff_slots_free() {
        let t = TrafficClasses::new(1, 1);
        let _public = t.public.try_enter().expect("public slot");
        assert!(t.public.try_enter().is_none());
        assert!(t.staff.try_enter().is_some());
    }
}
