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

    /// The bulkhead of a request with this `X-User-Type` value.
    pub fn class_of(&self, user_type: Option<&[u8]>) -> &Bulkhead {
        match user_type {
            Some(v) if v.eq_ignore_ascii_case(b"staff") => &self.staff,
            _ => &self.public,
        }
    }
}

/// Admits a routed `/api` request into its class, or answers 503 when the class is full. The class is the one the
/// auth middleware (which runs first) chose: from the role, or from `X-User-Type` in mode `off`.
pub async fn admit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let traffic = &state.resilience.traffic;
    let class = match req.extensions().get::<Caller>() {
        Some(caller) if caller.staff => &traffic.staff,
        Some(_) => &traffic.public,
        None => traffic.class_of(req.headers().get(X_USER_TYPE).map(axum::http::HeaderValue::as_bytes)),
    };
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
        let t = TrafficClasses::new(1, 1);
        assert!(std::ptr::eq(t.class_of(Some(b"staff")), &t.staff));
        assert!(std::ptr::eq(t.class_of(Some(b"Staff")), &t.staff));
        assert!(std::ptr::eq(t.class_of(Some(b"public")), &t.public));
        assert!(std::ptr::eq(t.class_of(Some(b"admin")), &t.public));
        assert!(std::ptr::eq(t.class_of(None), &t.public));
    }

    #[test]
    fn a_full_public_class_leaves_staff_slots_free() {
        let t = TrafficClasses::new(1, 1);
        let _public = t.public.try_enter().expect("public slot");
        assert!(t.public.try_enter().is_none());
        assert!(t.staff.try_enter().is_some());
    }
}
