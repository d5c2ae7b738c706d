//! The audit edge ([audit], SECURITY.md §5): after routing and load shedding, before authentication, so that
//! 401, 403 and 429 are recorded too. It opens the request's [`AuditNote`], lets the request run, then records the
//! one event the note describes, unless the request's write already committed it. A 2xx carrying patient data
//! is sent only once its event is durable; when the event cannot be stored the answer is 503 instead (fail
//! closed). Events of refused or failed requests are best effort: handed to the writer, not waited for.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::audit::note::AuditNote;
use crate::audit::routes;
use crate::error::ApiError;
use crate::state::AppState;

/// See the module documentation.
pub async fn record(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let spec = req.extensions().get::<MatchedPath>().and_then(|p| routes::audited(req.method().as_str(), p.as_str()));
    let Some(spec) = spec else { return next.run(req).await };
    let note = AuditNote::begin(
        spec,
        req.method().as_str(),
        req.uri().path(),
        req.uri().query(),
        crate::error::current_request_id(),
        source_ip(&req, &state.settings.trusted_proxies),
    );
    req.extensions_mut().insert(note.clone());
    let response = next.run(req).await;
    let location = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok());
    let Some(finished) = note.finish(response.status().as_u16(), location, state.clock.timestamp()) else {
        return response;
    };
    if !finished.fail_closed {
        state.recorder.record_later(finished.event);
        return response;
    }
    match state.recorder.record(finished.event).await {
        Ok(()) => response,
        Err(e) => {
            tracing::warn!(error = %e, "audit event not stored: answer withheld");
            ApiError::unavailable(1, "audit trail unavailable").into_response()
        }
    }
}

/// The peer's address; the first `X-Forwarded-For` hop instead when the peer is a trusted proxy. `unknown` when
/// the server was not started with peer addresses (in-process tests).
fn source_ip(req: &Request, trusted: &[ipnet::IpNet]) -> String {
    let Some(peer) = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()) else {
        return "unknown".to_owned();
    };
    let peer = canonical(peer);
    if trusted.iter().any(|net| net.contains(&peer))
        && let Some(first) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|hop| hop.trim().parse::<IpAddr>().ok())
    {
        return canonical(first).to_string();
    }
    peer.to_string()
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`, a dual-stack listener's view of IPv4) as plain IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(peer: &str, forwarded: Option<&str>) -> Request {
        let mut req = Request::builder().uri("/");
        if let Some(f) = forwarded {
            req = req.header("x-forwarded-for", f);
        }
        let mut req = req.body(axum::body::Body::empty()).unwrap();
        req.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        req
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(source_ip(&request("10.1.2.3:5000", Some("203.0.113.9, 10.1.2.3")), &trusted), "203.0.113.9");
        assert_eq!(source_ip(&request("192.0.2.1:5000", Some("203.0.113.9")), &trusted), "192.0.2.1");
        assert_eq!(source_ip(&request("10.1.2.3:5000", Some("not an ip")), &trusted), "10.1.2.3");
        assert_eq!(source_ip(&request("[::ffff:10.1.2.3]:5000", None), &[]), "10.1.2.3");
        let bare = Request::builder().uri("/").body(axum::body::Body::empty()).unwrap();
        assert_eq!(source_ip(&bare, &trusted), "unknown");
    }
}
