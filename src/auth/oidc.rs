//! Mode `oidc` (SECURITY.md §1): tokens of the hospital's OpenID Connect provider, checked against its JSON Web
//! Key Set. The keys are found through discovery (or `GOSPITAL_OIDC_JWKS_URL`), cached, refetched every 10
//! minutes, and refetched at once when a token names an unknown `kid` — at most once per 30 s, one fetch for all
//! the requests waiting on it. A failed fetch keeps the keys already known. Until the first set has loaded the
//! verifier is down: `/api` answers 503 and `/health` says so.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::Jwk;
use serde_json::Value;

use super::jwt::{self, Rules};
use super::{Invalid, Principal, Readiness, TokenVerifier};

/// Timed refresh of a loaded key set.
pub const REFRESH_EVERY: Duration = Duration::from_secs(600);
/// Fewest seconds between two fetches caused by unknown `kid`s.
pub const UNKNOWN_KID_EVERY: Duration = Duration::from_secs(30);
/// Bound of one discovery or JWKS request.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// The provider's settings, validated by `Config`.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    pub rules: Rules,
    /// `None`: from discovery.
    pub jwks_url: Option<String>,
}

/// The provider's keys by `kid`; keys without one are tried in turn.
#[derive(Default)]
struct KeySet {
    by_kid: HashMap<String, DecodingKey>,
    unnamed: Vec<DecodingKey>,
}

impl KeySet {
    fn len(&self) -> usize {
        self.by_kid.len() + self.unnamed.len()
    }
}

/// Verifies the provider's tokens; see the module documentation.
pub struct OidcVerifier {
    settings: OidcSettings,
    http: reqwest::Client,
    keys: RwLock<Arc<KeySet>>,
    loaded: AtomicBool,
    /// Held while a fetch for an unknown `kid` runs (so concurrent requests wait for that one fetch); holds when
    /// the last such fetch started.
    refetch: tokio::sync::Mutex<Option<Instant>>,
}

impl std::fmt::Debug for OidcVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcVerifier")
            .field("issuer", &self.settings.rules.issuer)
            .field("loaded", &self.loaded.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl OidcVerifier {
    /// The verifier, with its background task loading and refreshing the keys. Returns at once: the provider
    /// being down at start makes the service answer 503 until it is back, instead of refusing to start.
    pub fn start(settings: OidcSettings) -> anyhow::Result<Arc<Self>> {
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .user_agent(concat!("gospital/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let me = Arc::new(Self {
            settings,
            http,
            keys: RwLock::new(Arc::default()),
            loaded: AtomicBool::new(false),
            refetch: tokio::sync::Mutex::new(None),
        });
        let weak = Arc::downgrade(&me);
        tokio::spawn(async move {
            let mut backoff = Duration::from_secs(1);
            loop {
                let Some(me) = weak.upgrade() else { return };
                let wait = match me.fetch().await {
                    Ok(()) => {
                        backoff = Duration::from_secs(1);
                        REFRESH_EVERY
                    }
                    Err(e) => {
                        tracing::warn!(issuer = %me.settings.rules.issuer, error = %e,
                            "cannot load the identity provider's signing keys; keeping the ones known");
                        let wait = if me.loaded.load(Ordering::Acquire) { UNKNOWN_KID_EVERY } else { backoff };
                        backoff = (backoff * 2).min(Duration::from_secs(30));
                        wait
                    }
                };
                drop(me);
                tokio::time::sleep(wait).await;
            }
        });
        Ok(me)
    }

    /// Fetches the key set (through discovery when no JWKS URL is set) and replaces the cached one.
    async fn fetch(&self) -> anyhow::Result<()> {
        let url = match &self.settings.jwks_url {
            Some(url) => url.clone(),
            None => self.discover().await?,
        };
        let doc: Value = self.http.get(&url).send().await?.error_for_status()?.json().await?;
        let mut set = KeySet::default();
        for raw in doc["keys"].as_array().into_iter().flatten() {
            // One key the crate cannot read (a new key type, an encryption key) must not hide the others.
            if raw["use"].as_str().is_some_and(|u| u != "sig") || raw["kty"] == "oct" {
                continue;
            }
            let Ok(jwk) = serde_json::from_value::<Jwk>(raw.clone()) else { continue };
            let Ok(key) = DecodingKey::from_jwk(&jwk) else { continue };
            match jwk.common.key_id {
                Some(kid) => {
                    set.by_kid.insert(kid, key);
                }
                None => set.unnamed.push(key),
            }
        }
        if set.len() == 0 {
            anyhow::bail!("{url} holds no usable signing key");
        }
        tracing::info!(keys = set.len(), "identity provider signing keys loaded");
        *self.keys.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(set);
        self.loaded.store(true, Ordering::Release);
        Ok(())
    }

    /// `jwks_uri` from `{issuer}/.well-known/openid-configuration`, whose `issuer` must be ours exactly.
    async fn discover(&self) -> anyhow::Result<String> {
        let issuer = &self.settings.rules.issuer;
        let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let doc: Value = self.http.get(&url).send().await?.error_for_status()?.json().await?;
        if doc["issuer"].as_str() != Some(issuer.as_str()) {
            anyhow::bail!("{url} names issuer {} instead of {issuer}", doc["issuer"]);
        }
        doc["jwks_uri"].as_str().map(str::to_owned).ok_or_else(|| anyhow::anyhow!("{url} has no jwks_uri"))
    }

    fn current(&self) -> Arc<KeySet> {
        self.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The keys after one more fetch for an unknown `kid`, unless one ran less than 30 s ago. Requests arriving
    /// while it runs wait for it and then look again, so a rotation costs one fetch.
    async fn refetch_for(&self, kid: &str) -> Arc<KeySet> {
        let mut last = self.refetch.lock().await;
        let keys = self.current();
        if keys.by_kid.contains_key(kid) || last.is_some_and(|t| t.elapsed() < UNKNOWN_KID_EVERY) {
            return keys;
        }
        *last = Some(Instant::now());
        if let Err(e) = self.fetch().await {
            tracing::warn!(error = %e, "refetching signing keys for an unknown kid failed; keeping the ones known");
        }
        self.current()
    }
}

#[async_trait]
impl TokenVerifier for OidcVerifier {
    async fn verify(&self, token: &str) -> Result<Arc<Principal>, Invalid> {
        let rules = &self.settings.rules;
        let header = jwt::header(token, rules)?;
        if !self.loaded.load(Ordering::Acquire) {
            return Err(Invalid::KeysUnavailable);
        }
        let mut keys = self.current();
        match header.kid.as_deref() {
            Some(kid) => {
                if !keys.by_kid.contains_key(kid) {
                    keys = self.refetch_for(kid).await;
                }
                let key = keys.by_kid.get(kid).ok_or(Invalid::UnknownKey)?;
                jwt::verify(token, header.alg, key, rules).map(Arc::new)
            }
            None => {
                let mut last = Err(Invalid::UnknownKey);
                for key in keys.unnamed.iter().chain(keys.by_kid.values()) {
                    last = jwt::verify(token, header.alg, key, rules);
                    if !matches!(last, Err(Invalid::Signature | Invalid::Malformed | Invalid::Algorithm)) {
                        break;
                    }
                }
                last.map(Arc::new)
            }
        }
    }

    fn readiness(&self) -> Readiness {
        if self.loaded.load(Ordering::Acquire) { Readiness::Up } else { Readiness::Down }
    }
}

/// Whether a URL may be plain `http`: only when its host is a loopback address or `localhost`.
pub fn is_loopback_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else { return false };
    let host_port = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.rsplit_once(':').map_or(host_port, |(h, _)| h),
    };
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_only_for_loopback() {
        assert!(is_loopback_url("http://127.0.0.1:9000"));
        assert!(is_loopback_url("http://localhost/realms/x"));
        assert!(is_loopback_url("http://[::1]:8080/x"));
        assert!(!is_loopback_url("http://idp.example.org"));
        assert!(!is_loopback_url("http://10.0.0.1:80"));
        assert!(!is_loopback_url("https://127.0.0.1"), "https is not this function's business");
    }
}
