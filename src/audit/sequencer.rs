//! The sequencer of one store's chain (SECURITY.md §5 guarantee 4): every instance runs one per store, and the
//! one holding the store's lease gives the waiting events their contiguous `seq` and chained `hash`, then signs a
//! checkpoint every 1,000 events or 60 s. The lease expires [`LEASE`] after its last renewal, so when its holder
//! dies another instance takes over within seconds. Two holders can never interleave: each placement renews the
//! lease in the same commit (and refuses when it is no longer the holder's), and the store's unique `(chain,
//! seq)` rejects a taken seq anyway.
//!
//! The lease runs on the wall clock of each instance (not the application clock, which tests move); instances'
//! clocks are assumed to agree within a fraction of [`LEASE`].

use std::sync::Arc;
use std::time::Duration;

use super::{AuditEvent, Chain, ChainHead, CheckpointKey, GENESIS, chain_hash};
use crate::domain::formats::Timestamp;
use crate::store::{AuditStore, StoreError, StoreResult};

/// How often each instance tries: events are sequenced within this plus one placement of their being stored.
pub const TICK: Duration = Duration::from_millis(250);
/// How long a lease lasts without renewal.
pub const LEASE: Duration = Duration::from_secs(5);
/// A round that takes longer is abandoned (its open transaction rolls back) and the next one starts afresh: the
/// sequencer calls the bare store, without the guard's call timeout. Below [`LEASE`], so a stalled holder's lease
/// runs out after its round was given up.
const ROUND_LIMIT: Duration = Duration::from_secs(4);
/// Events placed per commit.
const BATCH: u32 = 500;
/// A checkpoint after this many new events…
pub const CHECKPOINT_EVERY_EVENTS: i64 = 1_000;
/// …or this long after the previous one, when there is something new.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(60);

/// One store's sequencer.
pub struct Sequencer {
    chain: Chain,
    store: Arc<dyn AuditStore>,
    key: Arc<CheckpointKey>,
    /// This instance, as the lease names it.
    holder: String,
}

impl std::fmt::Debug for Sequencer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequencer").field("chain", &self.chain).field("holder", &self.holder).finish()
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Round {
    pub held: bool,
    pub placed: u64,
    pub checkpoints: u64,
}

impl Sequencer {
    pub fn new(chain: Chain, store: Arc<dyn AuditStore>, key: Arc<CheckpointKey>, holder: String) -> Self {
        ::metrics::gauge!("audit_unsequenced_events", "store" => chain.as_str()).set(0.0);
        ::metrics::gauge!("audit_sequencing_lag_seconds", "store" => chain.as_str()).set(0.0);
        ::metrics::counter!("audit_checkpoints_total", "store" => chain.as_str()).absolute(0);
        Self { chain, store, key, holder }
    }

    /// Runs rounds every [`TICK`] for as long as the runtime lives.
    pub fn spawn(self) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match tokio::time::timeout(ROUND_LIMIT, self.round()).await {
                    Ok(Ok(_)) => {}
                    // A store that is down or slow is already reported by its breaker and readiness checks (and
                    // by `audit_unsequenced_events`); anything else is news.
                    Ok(Err(e @ (StoreError::Unavailable(_) | StoreError::CircuitOpen { .. }))) => {
                        tracing::debug!(store = self.chain.as_str(), error = %e, "audit sequencing round failed")
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(store = self.chain.as_str(), error = %e, "audit sequencing round failed")
                    }
                    Err(_) => tracing::debug!(store = self.chain.as_str(), "audit sequencing round timed out"),
                }
            }
        });
    }

    /// Takes (or renews) the lease; when held, places every waiting event and signs the checkpoints due.
    ///
    /// Nothing is written (the lease included) while there is nothing to place or sign: an idle round is three
    /// reads. That keeps the sequencers off the write path (SQLite's one writer above all) when there is no work,
    /// and while the store refuses writes.
    pub async fn round(&self) -> StoreResult<Round> {
        let label = self.chain.as_str();
        let waiting = self.store.count_unsequenced_audit_events().await?;
        ::metrics::gauge!("audit_unsequenced_events", "store" => label).set(waiting as f64);
        let head = self.store.audit_head().await?;
        let last_checkpoint = self.store.last_audit_checkpoint().await?;
        if waiting == 0 && !checkpoint_due(head.as_ref(), last_checkpoint.as_ref()) {
            ::metrics::gauge!("audit_sequencing_lag_seconds", "store" => label).set(0.0);
            return Ok(Round::default());
        }
        let now = wall_now();
        let mut round =
            Round { held: self.store.acquire_audit_lease(&self.holder, now, until(now)).await?, ..Round::default() };
        if !round.held {
            return Ok(round);
        }
        // Read again under the lease: the previous holder may have placed more since.
        let mut head = self.store.audit_head().await?;
        let mut last_checkpoint = self.store.last_audit_checkpoint().await?;
        loop {
            let pending = self.store.unsequenced_audit_events(BATCH).await?;
            let Some(oldest) = pending.first() else { break };
            let lag = (wall_now().millis() - oldest.record.recorded_at.millis()).max(0) as f64 / 1000.0;
            ::metrics::gauge!("audit_sequencing_lag_seconds", "store" => label).set(lag);
            let (placed, next_head) = place(head.as_ref(), &pending);
            let now = wall_now();
            match self.store.sequence_audit_events(&self.holder, now, until(now), &placed).await {
                Ok(()) => {}
                // Another instance took over, or placed these first: it carries on from the chain as stored.
                Err(StoreError::ClaimLost | StoreError::Conflict) => {
                    round.held = false;
                    return Ok(round);
                }
                Err(e) => return Err(e),
            }
            round.placed += placed.len() as u64;
            head = Some(next_head);
            if let Some(h) = &head
                && h.seq - last_checkpoint.as_ref().map_or(0, |c| c.seq) >= CHECKPOINT_EVERY_EVENTS
            {
                last_checkpoint = Some(self.checkpoint(h).await?);
                round.checkpoints += 1;
            }
            if pending.len() < BATCH as usize {
                break;
            }
        }
        ::metrics::gauge!("audit_sequencing_lag_seconds", "store" => label).set(0.0);
        if let Some(h) = &head
            && checkpoint_due(Some(h), last_checkpoint.as_ref())
        {
            self.checkpoint(h).await?;
            round.checkpoints += 1;
        }
        let waiting = self.store.count_unsequenced_audit_events().await?;
        ::metrics::gauge!("audit_unsequenced_events", "store" => label).set(waiting as f64);
        Ok(round)
    }

    /// Signs `head`, stores the checkpoint and logs it: the log line is the copy outside the database.
    async fn checkpoint(&self, head: &ChainHead) -> StoreResult<super::Checkpoint> {
        let cp = self.key.sign(self.chain, head, wall_now());
        self.store.insert_audit_checkpoint(&cp).await?;
        ::metrics::counter!("audit_checkpoints_total", "store" => self.chain.as_str()).increment(1);
        tracing::info!(
            store = cp.store.as_str(),
            seq = cp.seq,
            hash = %cp.hash,
            signedAt = %cp.signed_at,
            keyId = %cp.key_id,
            signature = %cp.signature,
            "audit checkpoint"
        );
        Ok(cp)
    }
}

/// A checkpoint of `head` is due: there is something newer than the last checkpoint, which is at least
/// [`CHECKPOINT_EVERY`] old (or there is none yet).
fn checkpoint_due(head: Option<&ChainHead>, last: Option<&super::Checkpoint>) -> bool {
    let Some(head) = head else { return false };
    last.is_none_or(|c| {
        c.seq < head.seq && wall_now().millis() - c.signed_at.millis() >= CHECKPOINT_EVERY.as_millis() as i64
    })
}

/// The places of `pending` after `head`: contiguous seqs and the chained hashes, and the new head.
pub fn place(head: Option<&ChainHead>, pending: &[AuditEvent]) -> (Vec<(String, i64, String)>, ChainHead) {
    let (mut seq, mut hash) = head.map_or((0, GENESIS.to_owned()), |h| (h.seq, h.hash.clone()));
    let mut placed = Vec::with_capacity(pending.len());
    for e in pending {
        seq += 1;
        hash = chain_hash(&hash, &e.canonical);
        placed.push((e.record.event_id.clone(), seq, hash.clone()));
    }
    (placed, ChainHead { seq, hash })
}

fn wall_now() -> Timestamp {
    Timestamp::from_utc(chrono::Utc::now())
}

fn until(now: Timestamp) -> Timestamp {
    Timestamp::from_millis(now.millis() + LEASE.as_millis() as i64)
}
