//! Extractors that turn every rejection into the contract's errors: JSON bodies (415, 413, 400) and
//! query strings (duplicates and bad values → 400), plus page and cursor parameters (API.md §1.8).

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts};
use base64::Engine as _;
use chrono::NaiveDate;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use sha2::{Digest, Sha256};

use super::json::{Json, Validator, rules};
use crate::audit::note::AuditNote;
use crate::error::{ApiError, ErrorCode};
use crate::middleware::auth::Caller;
use crate::service::Ctx;
use crate::service::idempotency::{IdempotencyKey, IdempotentRequest};
use crate::service::write::Precondition;
use crate::state::AppState;
use crate::store::{CursorKey, PageRequest};

/// The use-case context of a request: the caller the auth middleware identified (with what the matrix grants it
/// here), the request ID the edge assigned, and the application clock. A route the auth middleware did not run
/// on is refused rather than served as anyone.
impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = parts
            .extensions
            .get::<Caller>()
            .ok_or_else(|| ApiError::internal("a handler ran without the auth middleware"))?;
        // The note of an audited route (the audit middleware opened it); a detached one elsewhere.
        let note = parts.extensions.get::<AuditNote>().cloned().unwrap_or_default();
        note.reached();
        Ok(Ctx::new(
            caller.principal.clone(),
            caller.access.clone(),
            crate::error::current_request_id(),
            state.clock.clone(),
        )
        .with_audit(note))
    }
}

/// Largest accepted request body (1 MiB).
pub const BODY_LIMIT: usize = 1_048_576;

/// A JSON request body, checked for media type and size before it is parsed.
#[derive(Debug)]
pub struct JsonBody(pub Json);

fn is_json_content_type(value: Option<&header::HeaderValue>) -> bool {
    let Some(v) = value.and_then(|v| v.to_str().ok()) else { return false };
    let essence = v.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (_, bytes) = read_json_body(req).await?;
        Json::parse(&bytes).map(JsonBody)
    }
}

/// The body of a POST that creates a resource, with its `Idempotency-Key` (API.md §1.11) when one was sent. The
/// checks run in the order of API.md §1.5: media type and size (steps 4), the key's syntax (5), then the JSON (6).
#[derive(Debug)]
pub struct CreateBody {
    pub json: Json,
    pub once: Option<IdempotentRequest>,
}

impl<S: Send + Sync> FromRequest<S> for CreateBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (headers, bytes) = read_json_body(req).await?;
        let key = match headers.get(IDEMPOTENCY_KEY) {
            None => None,
            Some(value) => Some(
                IdempotencyKey::parse(value.as_bytes())
                    .ok_or_else(|| ApiError::invalid("Idempotency-Key", "invalid"))?,
            ),
        };
        let json = Json::parse(&bytes)?;
        let once = key.map(|key| IdempotentRequest::new(key, &json.canonical()));
        Ok(Self { json, once })
    }
}

/// The request header naming an idempotency key.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Checks the media type and the size of a body and reads it (API.md §1.1: 415, 413).
async fn read_json_body(req: Request) -> Result<(axum::http::HeaderMap, axum::body::Bytes), ApiError> {
    if !is_json_content_type(req.headers().get(header::CONTENT_TYPE)) {
        return Err(ApiError::new(ErrorCode::UNSUPPORTED_MEDIA_TYPE));
    }
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        return Err(ApiError::new(ErrorCode::PAYLOAD_TOO_LARGE));
    }
    let (parts, body) = req.into_parts();
    // Chunked bodies have no length up front: the limit is enforced while reading.
    let bytes = match Limited::new(body, BODY_LIMIT).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => return Err(ApiError::new(ErrorCode::PAYLOAD_TOO_LARGE)),
        Err(e) => {
            let too_big = std::error::Error::source(&*e).is_some_and(|s| s.is::<LengthLimitError>());
            if too_big {
                return Err(ApiError::new(ErrorCode::PAYLOAD_TOO_LARGE));
            }
            return Err(ApiError::invalid("body", "could not be read"));
        }
    };
    Ok((parts.headers, bytes))
}

/// The `If-Match` precondition of a PUT or DELETE (API.md §1.10). Several `If-Match` headers count as one list;
/// a value that is not text matches nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfMatch(pub Precondition);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let values: Vec<&header::HeaderValue> = parts.headers.get_all(header::IF_MATCH).iter().collect();
        if values.is_empty() {
            return Ok(Self(Precondition::Absent));
        }
        let texts: Option<Vec<&str>> = values.iter().map(|v| v.to_str().ok()).collect();
        Ok(Self(match texts {
            Some(texts) => Precondition::parse(Some(&texts.join(","))),
            None => Precondition::Unmatchable,
        }))
    }
}

/// Query parameters: unknown ones ignored, empty values absent, a repeated name refused.
#[derive(Debug, Default, Clone)]
pub struct QueryParams {
    map: HashMap<String, String>,
    /// Names given more than once, reported when the handler validates.
    repeated: Vec<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::parse(parts.uri.query().unwrap_or("")))
    }
}

impl QueryParams {
    pub fn parse(query: &str) -> Self {
        let mut seen: HashMap<String, Option<String>> = HashMap::new();
        let mut repeated = Vec::new();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            let k = k.into_owned();
            let v = v.trim().to_owned();
            if seen.contains_key(&k) {
                if !repeated.contains(&k) {
                    repeated.push(k.clone());
                }
                continue;
            }
            seen.insert(k, (!v.is_empty()).then_some(v));
        }
        let map = seen.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect();
        Self { map, repeated }
    }

    /// Starts validation: a repeated parameter is a failure.
    pub fn validator(&self) -> Validator {
        let mut v = Validator::new();
        for name in &self.repeated {
            v.fail(name, "must be given at most once");
        }
        v
    }

    /// A raw value (non-empty).
    pub fn get(&self, name: &str) -> Option<&str> {
        super::json::reads::note(|| format!("?{name}"));
        self.map.get(name).map(String::as_str)
    }

    /// A string of 1..=max characters.
    pub fn text(&self, v: &mut Validator, name: &str, max: usize) -> Option<String> {
        self.get(name).and_then(|s| v.check(name, s.to_owned(), rules::text(max)))
    }

    /// A `YYYY-MM-DD` date.
    pub fn date(&self, v: &mut Validator, name: &str) -> Option<NaiveDate> {
        self.get(name).and_then(|s| v.check(name, s.to_owned(), rules::date))
    }

    /// One of an enum's wire values.
    pub fn one_of<T>(
        &self,
        v: &mut Validator,
        name: &str,
        parse: fn(&str) -> Option<T>,
        values: &'static [&'static str],
    ) -> Option<T> {
        self.get(name).and_then(|s| v.check(name, s.to_owned(), rules::one_of(parse, values)))
    }

    /// `true` or `false`.
    pub fn boolean(&self, v: &mut Validator, name: &str) -> Option<bool> {
        self.get(name).and_then(|s| match s {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                v.fail(name, "must be true or false");
                None
            }
        })
    }

    /// A decimal integer ≥ 1 (and ≤ `max` when given). Huge values saturate, so an enormous `limit` is capped.
    fn positive(&self, v: &mut Validator, name: &str, max: Option<u64>) -> Option<u64> {
        let s = self.get(name)?;
        let n = (s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<u64>().unwrap_or(u64::MAX));
        match (n, max) {
            (Some(n), Some(max)) if (1..=max).contains(&n) => Some(n),
            (Some(n), None) if n >= 1 => Some(n),
            (_, Some(max)) => {
                v.fail(name, format!("must be an integer between 1 and {max}"));
                None
            }
            (_, None) => {
                v.fail(name, "must be an integer of at least 1");
                None
            }
        }
    }

    /// `limit`: ≥ 1, capped at 100.
    pub fn limit(&self, v: &mut Validator, default: u32) -> u32 {
        self.positive(v, "limit", None).map_or(default, |n| u32::try_from(n.min(100)).unwrap_or(100))
    }

    /// `page` and `limit` of page-style lists.
    pub fn page(&self, v: &mut Validator) -> PageRequest {
        let page = self.positive(v, "page", Some(2_147_483_647)).map_or(1, |n| u32::try_from(n).unwrap_or(1));
        PageRequest { page, limit: self.limit(v, 20) }
    }
}

/// Opaque cursors: a key position bound to the list it came from (path and filters), with a checksum so an
/// edited or foreign cursor is refused (`cursor: invalid`) instead of silently paging something else.
pub mod cursor {
    use super::*;

    fn checksum(scope: &str, key: &CursorKey) -> String {
        let mut h = Sha256::new();
        for part in ["gospital-cursor-v1", scope, &key.sort, &key.id] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        let digest = h.finalize();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..12])
    }

    /// Encodes `key` for the list identified by `scope` (path plus normalised filters).
    pub fn encode(scope: &str, key: &CursorKey) -> String {
        let payload = serde_json::json!([key.sort, key.id, checksum(scope, key)]).to_string();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload)
    }

    /// Decodes a cursor for `scope`; `None` when it is malformed, tampered with or from another list.
    pub fn decode(scope: &str, text: &str) -> Option<CursorKey> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).ok()?;
        let (sort, id, sum): (String, String, String) = serde_json::from_slice(&bytes).ok()?;
        let key = CursorKey { sort, id };
        (checksum(scope, &key) == sum).then_some(key)
    }

    /// Reads the `cursor` parameter, recording `cursor: invalid` on failure.
    pub fn from_query(q: &QueryParams, v: &mut Validator, scope: &str) -> Option<CursorKey> {
        let text = q.get("cursor")?;
        let key = decode(scope, text);
        if key.is_none() {
            v.fail("cursor", "invalid");
        }
        key
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn cursors_round_trip_only_within_their_scope() {
            let key = CursorKey { sort: "2026-11-25".into(), id: "INV-1".into() };
            let c = encode("a", &key);
            assert_eq!(decode("a", &c), Some(key));
            assert_eq!(decode("b", &c), None);
            let mut tampered = c.clone();
            tampered.replace_range(0..1, if c.starts_with('W') { "X" } else { "W" });
            assert_eq!(decode("a", &tampered), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_capped_and_garbage_is_refused() {
        let q = QueryParams::parse("limit=500&page=2");
        let mut v = q.validator();
        assert_eq!(q.page(&mut v), PageRequest { page: 2, limit: 100 });
        assert!(v.is_ok());
        for bad in ["limit=0", "page=0", "page=abc", "limit=1.5", "page=2147483648", "limit=1&limit=2"] {
            let q = QueryParams::parse(bad);
            let mut v = q.validator();
            let _ = q.page(&mut v);
            assert!(!v.is_ok(), "{bad}");
        }
        let q = QueryParams::parse("status=&limit=");
        let mut v = q.validator();
        assert_eq!(q.page(&mut v), PageRequest { page: 1, limit: 20 });
        assert!(q.get("status").is_none());
    }
}
