//! Step 3 of API.md §1.5 ([auth], SECURITY.md §2): after routing and load shedding, before any body is read.
//! Verifies the bearer token (never calling a store), refuses revoked principals, applies the per-principal rate
//! limit, then decides the route from the matrix. What it decides rides to the handler as a [`Caller`]
//! extension; a request refused here never reaches a handler or a store.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::audit::note::AuditNote;
use crate::auth::{Access, AuthMode, Invalid, Principal, matrix};
use crate::error::{ApiError, ErrorCode};
use crate::middleware::traffic::staff_by_header;
use crate::state::AppState;

/// `WWW-Authenticate` of a request without a bearer token.
pub const CHALLENGE: &str = "Bearer realm=\"gospital\"";
/// … of a token that did not verify.
pub const INVALID_TOKEN: &str = "Bearer realm=\"gospital\", error=\"invalid_token\"";
/// … of a token whose roles do not allow the route.
pub const INSUFFICIENT_SCOPE: &str = "Bearer realm=\"gospital\", error=\"insufficient_scope\"";

/// Who is calling and what the matrix grants them on this route.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Arc<Principal>,
    pub access: Access,
    /// The `staff` traffic class (else `public`).
    pub staff: bool,
    pub mode: AuthMode,
}

/// See the module documentation.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let auth = &state.auth;
    let (principal, staff) = match auth.mode {
        AuthMode::Off => {
            // SECURITY.md §1: mode `off` keeps the Go original's class header.
            (Arc::new(Principal::anonymous()), staff_by_header(req.headers()))
        }
        AuthMode::Local | AuthMode::Oidc => {
            let principal = match identify(&state, req.headers()).await {
                Ok(p) => p,
                Err(refusal) => return refusal.into_response(),
            };
            if let Some(note) = req.extensions().get::<AuditNote>() {
                note.set_actor(&principal);
            }
            if let Some(limiter) = &auth.limiter
                && let Err(wait) = limiter.check(&principal.sub)
            {
                failure("rate_limited");
                return ApiError::new(ErrorCode::TOO_MANY_REQUESTS).with_retry_after(wait).into_response();
            }
            // The class follows the role; `X-User-Type` is ignored (it was spoofable).
            let staff = principal.roles.has_staff_role();
            (principal, staff)
        }
    };
    // HEAD is served by the GET route, so it is granted as GET.
    let method = if req.method() == Method::HEAD { &Method::GET } else { req.method() };
    let grant = req.extensions().get::<MatchedPath>().and_then(|p| matrix::grant_for(method.as_str(), p.as_str()));
    let Some(access) = grant.and_then(|g| g.access(&principal)) else {
        failure("forbidden");
        return ApiError::new(ErrorCode::FORBIDDEN).with_challenge(INSUFFICIENT_SCOPE).into_response();
    };
    req.extensions_mut().insert(Caller { principal, access, staff, mode: auth.mode });
    next.run(req).await
}

/// The principal of a request's bearer token, or the answer refusing it.
async fn identify(state: &AppState, headers: &HeaderMap) -> Result<Arc<Principal>, ApiError> {
    let Some(token) = bearer(headers) else {
        failure("missing");
        return Err(ApiError::new(ErrorCode::UNAUTHENTICATED).with_challenge(CHALLENGE));
    };
    let Some(verifier) = &state.auth.verifier else {
        return Err(ApiError::internal("authentication mode without a verifier"));
    };
    let result = match verifier.verify(token).await {
        Ok(p) if state.auth.revocations.is_revoked(&p) => Err(Invalid::Revoked),
        other => other,
    };
    result.map_err(|why| {
        if why == Invalid::KeysUnavailable {
            return ApiError::unavailable(2, "identity provider keys not loaded yet");
        }
        failure("invalid");
        tracing::debug!(reason = %why, "token refused");
        ApiError::new(ErrorCode::UNAUTHENTICATED).with_challenge(INVALID_TOKEN)
    })
}

/// Whether the caller is known to be staff before authentication runs, for overload priority only: a token the
/// verifier has already verified (its cache), or `X-User-Type` in mode `off`. Unknown callers count as public, so
/// a forged token never buys priority; authentication still checks every request afterwards.
pub fn known_staff(state: &AppState, headers: &HeaderMap) -> bool {
    match state.auth.mode {
        AuthMode::Off => staff_by_header(headers),
        AuthMode::Local | AuthMode::Oidc => bearer(headers)
            .and_then(|token| state.auth.verifier.as_ref()?.known(token))
            .is_some_and(|p| p.roles.has_staff_role()),
    }
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive, RFC 7235 §2.1); `None` when the header
/// is missing, not valid text, another scheme, or empty.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The `reason` label values of `auth_failures_total` (SECURITY.md §5 "Metrics").
pub const FAILURE_REASONS: &[&str] = &["missing", "invalid", "forbidden", "rate_limited"];

fn failure(reason: &'static str) {
    metrics::counter!("auth_failures_total", "reason" => reason).increment(1);
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn only_a_non_empty_bearer_credential_is_a_token() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
            h
        };
        assert_eq!(bearer(&with("Bearer abc")), Some("abc"));
        assert_eq!(bearer(&with("bearer abc")), Some("abc"));
        assert_eq!(bearer(&with("Basic abc")), None);
        assert_eq!(bearer(&with("Bearer ")), None);
        assert_eq!(bearer(&with("Bearer")), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }
}
