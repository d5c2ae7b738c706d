//! Idempotent POSTs (API.md §1.11): a create runs at most once per (principal, method, path, key), and a retry
//! with the same key and body gets the first answer again.
//!
//! Before the create runs, the key is claimed in the store that will hold the resource (a `pending` record with a
//! lease as long as the request may run). The create then writes the resource and completes the record with its
//! answer in the same atomic write, so an answer is stored exactly when the resource exists, and nothing else is
//! ever stored: an attempt that fails gives its claim back, and one that dies (a crash, a cancelled request whose
//! release could not run) leaves a claim that lapses with its lease. A claim held by a running attempt is answered
//! 409 IDEMPOTENCY_KEY_IN_USE; a different body under the same key, 422 IDEMPOTENCY_KEY_REUSED.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Ctx, Service};
use crate::domain::formats::Timestamp;
use crate::error::{ApiError, ApiResult, Entity, ErrorCode, OnEntity};
use crate::store::{ClaimOutcome, Completion, IdempotencyClaim, IdempotencyStore, StoredResponse};

/// How much longer than the request's deadline a claim is held: the attempt is cancelled at its deadline, and its
/// rollback (or commit) must have reached the store before another attempt may take the key over.
const LEASE_MARGIN: Duration = Duration::from_secs(1);

/// How many expired records one purge statement removes at most, so the janitor never holds a long lock.
const PURGE_BATCH: u32 = 1000;

/// How often the janitor looks for expired records.
const PURGE_EVERY: Duration = Duration::from_secs(600);

/// A valid `Idempotency-Key` header value: 1–128 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(value: &[u8]) -> Option<Self> {
        let ok = (1..=128).contains(&value.len()) && value.iter().all(|b| (0x21..=0x7e).contains(b));
        ok.then(|| Self(String::from_utf8_lossy(value).into_owned()))
    }
}

/// A POST that carries an `Idempotency-Key`: the key and the fingerprint of its parsed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentRequest {
    pub key: IdempotencyKey,
    /// SHA-256 (hex) of the body's canonical JSON (key order and whitespace do not matter).
    pub fingerprint: String,
}

impl IdempotentRequest {
    /// `canonical_body` is the body in a canonical form: equal for bodies that parse to the same JSON.
    pub fn new(key: IdempotencyKey, canonical_body: &str) -> Self {
        Self { key, fingerprint: hex(&Sha256::digest(canonical_body.as_bytes())) }
    }
}

/// The outcome of an idempotent create: the resource just created, or the answer of the attempt that created it.
#[derive(Debug, Clone, PartialEq)]
pub enum Created<T> {
    New(T),
    Replayed(StoredResponse),
}

/// A claim this attempt holds, from which the create builds the completion it writes with the resource.
#[derive(Debug, Clone)]
pub struct Claimed {
    scope: String,
    token: String,
    retention: Duration,
}

impl Claimed {
    /// The completion storing a `201 Created` with `location`, `ETag: "<version>"` and `body`.
    pub fn created<T: Serialize>(&self, ctx: &Ctx, location: &str, version: i64, body: &T) -> ApiResult<Completion> {
        let body = serde_json::to_string(body).map_err(|e| ApiError::internal(format!("cannot encode answer: {e}")))?;
        Ok(Completion {
            scope: self.scope.clone(),
            token: self.token.clone(),
            response: StoredResponse {
                status: 201,
                location: Some(location.to_owned()),
                etag: Some(format!("\"{version}\"")),
                body,
            },
            expires_at: later(ctx.now(), self.retention),
        })
    }
}

/// Gives a claim back when the attempt holding it ends without completing it; a drop (the request cancelled by its
/// deadline or its client) releases it from a task of its own.
struct Release {
    store: Option<Arc<dyn IdempotencyStore>>,
    scope: String,
    token: String,
}

impl Release {
    fn disarm(&mut self) {
        self.store = None;
    }

    async fn now(&mut self) {
        if let Some(store) = self.store.take()
            && let Err(e) = store.release_idempotency(&self.scope, &self.token).await
        {
            tracing::warn!(error = %e, "could not release an idempotency claim; it lapses with its lease");
        }
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        let Some(store) = self.store.take() else { return };
        let (scope, token) = (std::mem::take(&mut self.scope), std::mem::take(&mut self.token));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = store.release_idempotency(&scope, &token).await {
                    tracing::warn!(error = %e, "could not release an idempotency claim; it lapses with its lease");
                }
            });
        }
    }
}

impl Service {
    /// Runs the create `run` at most once for `request` under `path` (see the module documentation). `store` is
    /// the store that will hold the resource; `run` gets the claim (when there is a key) and must complete it in
    /// the same write as the resource (`Claimed::created`).
    pub(crate) async fn create_once<T, F, Fut>(
        &self,
        store: Arc<dyn IdempotencyStore>,
        ctx: &Ctx,
        path: &str,
        request: Option<&IdempotentRequest>,
        entity: Entity,
        run: F,
    ) -> ApiResult<Created<T>>
    where
        F: FnOnce(Option<Claimed>) -> Fut,
        Fut: Future<Output = ApiResult<T>>,
    {
        let Some(request) = request else { return run(None).await.map(Created::New) };
        let now = ctx.now();
        let claim = IdempotencyClaim {
            scope: scope(&ctx.actor.sub, "POST", path, &request.key),
            fingerprint: request.fingerprint.clone(),
            token: ulid::Ulid::new().to_string(),
            now,
            lease_until: later(now, self.settings.request_timeout + LEASE_MARGIN),
        };
        match store.claim_idempotency(&claim).await.on(entity)? {
            ClaimOutcome::Claimed => {}
            ClaimOutcome::Done { fingerprint, response } if fingerprint == claim.fingerprint => {
                return Ok(Created::Replayed(response));
            }
            ClaimOutcome::Done { .. } => return Err(reused()),
            ClaimOutcome::InProgress { fingerprint } if fingerprint != claim.fingerprint => return Err(reused()),
            ClaimOutcome::InProgress { .. } => return Err(in_use()),
        }
        let mut release = Release { store: Some(store), scope: claim.scope.clone(), token: claim.token.clone() };
        let claimed =
            Claimed { scope: claim.scope, token: claim.token, retention: self.settings.idempotency_retention };
        let outcome = run(Some(claimed)).await;
        match &outcome {
            Ok(_) => release.disarm(),
            // A stolen claim is not this attempt's to give back.
            Err(e) if e.code == ErrorCode::IDEMPOTENCY_KEY_IN_USE => release.disarm(),
            Err(_) => release.now().await,
        }
        outcome.map(Created::New)
    }

    /// Removes expired idempotency records from both stores, a bounded batch at a time; returns how many.
    pub async fn purge_idempotency(&self, now: Timestamp) -> u64 {
        let mut removed = 0;
        let stores: [Arc<dyn IdempotencyStore>; 2] = [self.clinic.clone(), self.records.clone()];
        for store in stores {
            loop {
                match store.purge_idempotency(now, PURGE_BATCH).await {
                    Ok(n) => {
                        removed += n;
                        if n < u64::from(PURGE_BATCH) {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "purging expired idempotency records failed; next round retries");
                        break;
                    }
                }
            }
        }
        removed
    }
}

/// Purges expired idempotency records every ten minutes, so no operator has to (DynamoDB's own TTL does the same
/// for its table).
pub fn spawn_janitor(service: Service, clock: Arc<dyn crate::clock::Clock>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PURGE_EVERY);
        loop {
            tick.tick().await;
            let removed = service.purge_idempotency(clock.timestamp()).await;
            if removed > 0 {
                tracing::info!(removed, "expired idempotency records purged");
            }
        }
    })
}

fn reused() -> ApiError {
    ApiError::new(ErrorCode::IDEMPOTENCY_KEY_REUSED)
}

fn in_use() -> ApiError {
    ApiError::new(ErrorCode::IDEMPOTENCY_KEY_IN_USE).with_retry_after(1)
}

/// The scope of a key: SHA-256 over principal, method, path and key, each ended by a NUL (none of them holds one),
/// so two scopes are equal only when all four are.
pub fn scope(principal: &str, method: &str, path: &str, key: &IdempotencyKey) -> String {
    let mut h = Sha256::new();
    for part in [principal, method, path, key.0.as_str()] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn later(t: Timestamp, by: Duration) -> Timestamp {
    Timestamp::from_millis(t.millis().saturating_add(i64::try_from(by.as_millis()).unwrap_or(i64::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_to_128_visible_ascii_characters() {
        assert!(IdempotencyKey::parse(b"reg-2026-11-25-0001").is_some());
        assert!(IdempotencyKey::parse(&[b'!'; 128]).is_some());
        for bad in [&b""[..], &[b'a'; 129], b"has space", b"tab\t", "caf\u{e9}".as_bytes(), b"\x7f"] {
            assert!(IdempotencyKey::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn scopes_differ_in_every_part() {
        let key = IdempotencyKey::parse(b"k").unwrap();
        let base = scope("alice", "POST", "/api/v1/patients", &key);
        assert_eq!(base.len(), 64);
        assert_ne!(base, scope("bob", "POST", "/api/v1/patients", &key));
        assert_ne!(base, scope("alice", "POST", "/api/v1/doctors", &key));
        assert_ne!(base, scope("alice", "POST", "/api/v1/patients", &IdempotencyKey::parse(b"k2").unwrap()));
        // The separator keeps parts from sliding into each other.
        assert_ne!(scope("a", "POST", "/b", &key), scope("a", "POST", "/", &IdempotencyKey::parse(b"bk").unwrap()));
    }
}
