//! A decorator of any [`TokenVerifier`] that remembers tokens it has verified, for a minute at most, so a client
//! sending the same token on every request pays the signature check once (measured with `bench/auth.sh`: an
//! Ed25519 or ECDSA check costs more than the rest of a cached-row GET). Only successes are kept, keyed by the
//! token's SHA-256; an entry ends at the token's `exp` (plus the leeway) or after [`KEEP_FOR`], whichever is
//! first, so a key withdrawn from the provider stops being honoured within a minute. Revocation is not cached
//! here: the middleware checks it on every request.
//!
//! Why not a cache crate: the map is tiny and bounded, and entries need a per-entry deadline taken from the
//! token; a `Mutex<HashMap>` that is emptied when full is enough and adds no dependency.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sha2::{Digest as _, Sha256};

use super::jwt::LEEWAY_SECS;
use super::{Invalid, Principal, Readiness, TokenVerifier};

/// Longest a verified token is trusted without checking its signature again.
pub const KEEP_FOR: Duration = Duration::from_secs(60);
/// Most tokens remembered; when full, the cache starts over (an attacker's many valid tokens cost a re-check).
const CAPACITY: usize = 10_000;

/// Verified tokens by SHA-256: the principal, and until when it is trusted.
type Entries = HashMap<[u8; 32], (Arc<Principal>, Instant)>;

#[derive(Debug)]
pub struct CachingVerifier {
    inner: Arc<dyn TokenVerifier>,
    entries: Mutex<Entries>,
}

impl CachingVerifier {
    pub fn new(inner: Arc<dyn TokenVerifier>) -> Self {
        Self { inner, entries: Mutex::new(HashMap::new()) }
    }
}

#[async_trait]
impl TokenVerifier for CachingVerifier {
    fn known(&self, token: &str) -> Option<Arc<Principal>> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.get(&key).filter(|(_, until)| *until > Instant::now()).map(|(p, _)| p.clone())
    }

    async fn verify(&self, token: &str) -> Result<Arc<Principal>, Invalid> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = Instant::now();
        {
            let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match entries.get(&key) {
                Some((p, until)) if *until > now => return Ok(p.clone()),
                Some(_) => {
                    entries.remove(&key);
                }
                None => {}
            }
        }
        let principal = self.inner.verify(token).await?;
        let left = principal
            .expires_at
            .map(|exp| exp + i64::try_from(LEEWAY_SECS).unwrap_or(0) - chrono::Utc::now().timestamp())
            .map_or(KEEP_FOR, |secs| Duration::from_secs(u64::try_from(secs).unwrap_or(0)));
        let until = now + left.min(KEEP_FOR);
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(key, (principal.clone(), until));
        Ok(principal)
    }

    fn readiness(&self) -> Readiness {
        self.inner.readiness()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[derive(Debug, Default)]
    struct Counting(AtomicUsize);

    #[async_trait]
    impl TokenVerifier for Counting {
        async fn verify(&self, token: &str) -> Result<Arc<Principal>, Invalid> {
            self.0.fetch_add(1, Ordering::SeqCst);
            if token == "bad" {
                return Err(Invalid::Signature);
            }
            let mut p = Principal::anonymous();
            p.sub = token.to_owned();
            p.expires_at = Some(chrono::Utc::now().timestamp() + 600);
            Ok(Arc::new(p))
        }
    }

    #[tokio::test]
    async fn a_verified_token_is_checked_once_and_failures_every_time() {
        let inner = Arc::new(Counting::default());
        let cache = CachingVerifier::new(inner.clone());
        assert_eq!(cache.verify("a").await.unwrap().sub, "a");
        assert_eq!(cache.verify("a").await.unwrap().sub, "a");
        assert_eq!(inner.0.load(Ordering::SeqCst), 1);
        assert_eq!(cache.verify("b").await.unwrap().sub, "b", "tokens are told apart");
        assert!(cache.verify("bad").await.is_err());
        assert!(cache.verify("bad").await.is_err());
        assert_eq!(inner.0.load(Ordering::SeqCst), 4, "refusals are never remembered");
    }

    #[tokio::test]
    async fn only_verified_tokens_are_known_and_knowing_checks_nothing() {
        let inner = Arc::new(Counting::default());
        let cache = CachingVerifier::new(inner.clone());
        assert!(cache.known("a").is_none(), "not verified yet");
        cache.verify("a").await.unwrap();
        assert!(cache.verify("bad").await.is_err());
        assert_eq!(cache.known("a").map(|p| p.sub.clone()).as_deref(), Some("a"));
        assert!(cache.known("bad").is_none(), "a refused token is never known");
        assert_eq!(inner.0.load(Ordering::SeqCst), 2, "known() verifies nothing");
    }
}
