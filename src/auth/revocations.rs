//! Revoked principals (SECURITY.md §4), as each instance sees them: the latest revocation time per `sub`, read
//! from R every [`REFRESH_EVERY`] so a revocation made on any instance is enforced everywhere within 5 s. Checking
//! a token reads only this cache, never the store; while R is down the last list is kept.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::Principal;
use crate::store::ClinicStore;

/// How often the list is re-read: well inside the 5 s the contract allows, so one missed refresh still meets it.
pub const REFRESH_EVERY: Duration = Duration::from_secs(2);

/// The latest revocation time (Unix ms) of every revoked `sub`.
#[derive(Debug, Default)]
pub struct Revocations {
    latest: RwLock<HashMap<String, i64>>,
}

impl Revocations {
    /// Whether the token behind `principal` was issued at or before its `sub`'s latest revocation. A token
    /// without `iat` of a revoked `sub` is refused: it cannot show that it is newer.
    pub fn is_revoked(&self, principal: &Principal) -> bool {
        let latest = self.latest.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        latest.get(&principal.sub).is_some_and(|&at| principal.issued_at_ms.is_none_or(|iat| iat <= at))
    }

    /// Replaces the list with what R holds.
    pub fn replace(&self, entries: impl IntoIterator<Item = (String, i64)>) {
        let fresh: HashMap<String, i64> = entries.into_iter().collect();
        *self.latest.write().unwrap_or_else(std::sync::PoisonError::into_inner) = fresh;
    }

    /// Records a revocation this instance just stored, so it applies here at once.
    pub fn note(&self, sub: &str, at_ms: i64) {
        let mut latest = self.latest.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = latest.entry(sub.to_owned()).or_insert(at_ms);
        *entry = (*entry).max(at_ms);
    }

    /// Re-reads the list from `clinic` now and every [`REFRESH_EVERY`]; a failed read keeps the last list.
    pub fn spawn_refresh(self: &Arc<Self>, clinic: Arc<dyn ClinicStore>) -> tokio::task::JoinHandle<()> {
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(REFRESH_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(list) = me.upgrade() else { return };
                match clinic.revocation_index().await {
                    Ok(entries) => list.replace(entries),
                    Err(e) => tracing::warn!(error = %e, "cannot refresh the revocation list; keeping the last one"),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_issued_at_or_before_the_revocation_are_refused_and_newer_ones_pass() {
        let list = Revocations::default();
        let mut p = Principal::anonymous();
        p.sub = "dr-x".into();
        p.issued_at_ms = Some(1_000);
        assert!(!list.is_revoked(&p));
        list.note("dr-x", 1_000);
        assert!(list.is_revoked(&p), "issued at the revocation instant");
        p.issued_at_ms = Some(1_001);
        assert!(!list.is_revoked(&p), "issued after it");
        p.issued_at_ms = None;
        assert!(list.is_revoked(&p), "no iat cannot prove it is newer");
        list.replace([]);
        assert!(!list.is_revoked(&p));
    }
}
