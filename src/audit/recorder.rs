//! Stores the events of requests that wrote nothing (reads, refusals, failures), batching concurrent ones into
//! one commit per store: a read waits for its event to be durable (SECURITY.md §5 guarantee 3), and under load
//! many reads share a commit instead of each paying its own. One writer task per store; a request hands its event
//! over a channel and waits for the commit that carried it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::{AuditEvent, Chain};
use crate::store::{AuditStore, StoreError, StoreResult};

/// Events per commit at most: bounds a transaction's size and how long its first waiter waits.
const MAX_BATCH: usize = 256;
/// Events waiting for a writer at most; beyond it a request is refused at once (503) rather than queued.
const QUEUE: usize = 4096;

type Waiter = oneshot::Sender<StoreResult<()>>;

/// The two writers, one per chain.
#[derive(Debug, Clone)]
pub struct Recorder {
    r: mpsc::Sender<(AuditEvent, Waiter)>,
    d: mpsc::Sender<(AuditEvent, Waiter)>,
}

impl Recorder {
    /// Starts one writer per store. Must run inside the Tokio runtime.
    pub fn start(r: Arc<dyn AuditStore>, d: Arc<dyn AuditStore>, limit: Duration) -> Self {
        Self { r: spawn_writer(Chain::R, r, limit), d: spawn_writer(Chain::D, d, limit) }
    }

    /// Stores `event` in its chain's store; resolves once it is committed (or could not be).
    pub async fn record(&self, event: AuditEvent) -> StoreResult<()> {
        let rx = self.enqueue(event)?;
        rx.await.unwrap_or_else(|_| Err(StoreError::Unavailable("audit writer stopped".into())))
    }

    /// Hands `event` to its chain's writer without waiting for the commit: the event of a refused or failed
    /// request (best effort), whose answer must not wait on a store that may be the very reason it failed.
    pub fn record_later(&self, event: AuditEvent) {
        if let Err(e) = self.enqueue(event) {
            tracing::warn!(error = %e, "audit event of a failed request dropped");
        }
    }

    fn enqueue(&self, event: AuditEvent) -> StoreResult<oneshot::Receiver<StoreResult<()>>> {
        let chain = event.store;
        let queue = match chain {
            Chain::R => &self.r,
            Chain::D => &self.d,
        };
        let (tx, rx) = oneshot::channel();
        queue
            .try_send((event, tx))
            .map_err(|_| StoreError::Unavailable(format!("audit queue of store {chain} is full")))?;
        Ok(rx)
    }
}

/// A writer commits one batch at a time, each within `limit` (a stalled store fails the batch, not the writer).
fn spawn_writer(chain: Chain, store: Arc<dyn AuditStore>, limit: Duration) -> mpsc::Sender<(AuditEvent, Waiter)> {
    let (tx, mut rx) = mpsc::channel::<(AuditEvent, Waiter)>(QUEUE);
    tokio::spawn(async move {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let (events, waiters): (Vec<AuditEvent>, Vec<Waiter>) = batch.drain(..).unzip();
            let result = match tokio::time::timeout(limit, store.insert_audit_events(&events)).await {
                Ok(result) => result,
                Err(_) => Err(StoreError::Unavailable(format!("no answer within {} ms", limit.as_millis()))),
            };
            let label = chain.as_str();
            match &result {
                Ok(()) => {
                    for e in &events {
                        count(label, e.record.outcome);
                    }
                }
                Err(e) => {
                    tracing::warn!(store = label, events = events.len(), error = %e, "audit events not stored");
                    ::metrics::counter!("audit_write_failures_total", "store" => label).increment(events.len() as u64);
                }
            }
            for w in waiters {
                let _ = w.send(match &result {
                    Ok(()) => Ok(()),
                    Err(e) => Err(StoreError::Unavailable(format!("audit store {label}: {e}"))),
                });
            }
        }
    });
    tx
}

/// `audit_events_total{store,outcome}`: events stored, by the HTTP status they record.
pub fn count(store: &'static str, outcome: u16) {
    ::metrics::counter!("audit_events_total", "store" => store, "outcome" => outcome.to_string()).increment(1);
}
