//! What the SQL adapters share for the audit trail (SECURITY.md §5): the statements (the same text on SQLite and
//! MySQL), the decoding of rows, and one macro that implements [`AuditStore`](super::AuditStore) for a SQL store
//! given its pools and its chain. R and D each keep their own chain in the same tables (`chain` column), also
//! when both live in one database. No statement here updates an event except to give it its one seq and hash,
//! and none deletes.

use super::{CursorKey, KeyPage, StoreError, StoreResult};
use crate::audit::{AuditEvent, AuditFilter, Chain, ChainHead, Checkpoint, event_key};
use crate::domain::formats::Timestamp;

pub(crate) const INSERT_EVENT: &str = "INSERT INTO audit_events \
     (event_id, chain, recorded_at, actor_sub, resource_type, action, body) VALUES (?, ?, ?, ?, ?, ?, ?)";
pub(crate) const INSERT_PATIENT: &str =
    "INSERT INTO audit_event_patients (chain, patient_id, recorded_at, event_id) VALUES (?, ?, ?, ?)";

/// Binds: chain, then the cursor (at, at, id), then the filters (each value twice), then limit + 1.
pub(crate) const PAGE: &str = "SELECT e.body, e.seq, e.hash FROM audit_events e \
     WHERE e.chain = ? AND (e.recorded_at < ? OR (e.recorded_at = ? AND e.event_id < ?)) \
     AND (? IS NULL OR e.actor_sub = ?) AND (? IS NULL OR e.resource_type = ?) AND (? IS NULL OR e.action = ?) \
     AND (? IS NULL OR e.recorded_at >= ?) AND (? IS NULL OR e.recorded_at <= ?) \
     ORDER BY e.recorded_at DESC, e.event_id DESC LIMIT ?";

/// As [`PAGE`], driven by one patient's index rows. Binds: chain, patient, then as [`PAGE`] after its chain.
pub(crate) const PATIENT_PAGE: &str = "SELECT e.body, e.seq, e.hash FROM audit_event_patients p \
     JOIN audit_events e ON e.event_id = p.event_id \
     WHERE p.chain = ? AND p.patient_id = ? AND (p.recorded_at < ? OR (p.recorded_at = ? AND p.event_id < ?)) \
     AND (? IS NULL OR e.actor_sub = ?) AND (? IS NULL OR e.resource_type = ?) AND (? IS NULL OR e.action = ?) \
     AND (? IS NULL OR p.recorded_at >= ?) AND (? IS NULL OR p.recorded_at <= ?) \
     ORDER BY p.recorded_at DESC, p.event_id DESC LIMIT ?";

/// Free, expired or ours. `beats` changes on every renewal so that MySQL counts the row as changed.
pub(crate) const TAKE_LEASE: &str = "UPDATE audit_leases SET holder = ?, expires_at = ?, beats = beats + 1 \
     WHERE chain = ? AND (holder = ? OR expires_at <= ?)";
pub(crate) const LEASE_HOLDER: &str = "SELECT holder FROM audit_leases WHERE chain = ?";
pub(crate) const RENEW_LEASE: &str = "UPDATE audit_leases SET expires_at = ?, beats = beats + 1 \
     WHERE chain = ? AND holder = ? AND expires_at > ?";
pub(crate) const HEAD: &str = "SELECT seq, hash FROM audit_events WHERE chain = ? AND seq IS NOT NULL \
     ORDER BY seq DESC LIMIT 1";
pub(crate) const PENDING: &str = "SELECT body, seq, hash FROM audit_events WHERE chain = ? AND seq IS NULL \
     ORDER BY recorded_at, event_id LIMIT ?";
pub(crate) const COUNT_PENDING: &str = "SELECT COUNT(*) FROM audit_events WHERE chain = ? AND seq IS NULL";
/// Events placed per UPDATE statement (5 binds each, within every engine's limit).
pub(crate) const PLACE_CHUNK: usize = 250;
pub(crate) const INSERT_CHECKPOINT: &str = "INSERT INTO audit_checkpoints \
     (chain, seq, hash, signed_at, key_id, signature) VALUES (?, ?, ?, ?, ?, ?)";
pub(crate) const LAST_CHECKPOINT: &str = "SELECT seq, hash, signed_at, key_id, signature FROM audit_checkpoints \
     WHERE chain = ? ORDER BY seq DESC LIMIT 1";
pub(crate) const CHECKPOINTS: &str = "SELECT seq, hash, signed_at, key_id, signature FROM audit_checkpoints \
     WHERE chain = ? ORDER BY seq";
pub(crate) const CHAIN: &str = "SELECT body, seq, hash FROM audit_events WHERE chain = ? AND seq > ? \
     ORDER BY seq LIMIT ?";

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    pub body: String,
    pub seq: Option<i64>,
    pub hash: Option<String>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct HeadRow {
    pub seq: i64,
    pub hash: String,
}

#[derive(sqlx::FromRow)]
pub(crate) struct CheckpointRow {
    pub seq: i64,
    pub hash: String,
    pub signed_at: i64,
    pub key_id: String,
    pub signature: String,
}

pub(crate) fn event(chain: Chain, row: EventRow) -> StoreResult<AuditEvent> {
    AuditEvent::stored(row.body, chain, row.seq, row.hash).map_err(StoreError::Internal)
}

pub(crate) fn events(chain: Chain, rows: Vec<EventRow>) -> StoreResult<Vec<AuditEvent>> {
    rows.into_iter().map(|r| event(chain, r)).collect()
}

pub(crate) fn checkpoint(chain: Chain, r: CheckpointRow) -> Checkpoint {
    Checkpoint {
        store: chain,
        seq: r.seq,
        hash: r.hash,
        signed_at: Timestamp::from_millis(r.signed_at),
        key_id: r.key_id,
        signature: r.signature,
    }
}

pub(crate) fn head(row: HeadRow) -> ChainHead {
    ChainHead { seq: row.seq, hash: row.hash }
}

/// Where a page starts: `(recorded_at, event_id)` to continue below; the first page starts above all rows.
pub(crate) fn start(after: Option<&CursorKey>) -> (i64, String) {
    match after.and_then(|k| Some((k.sort.parse::<i64>().ok()?, k.id.clone()))) {
        Some(at) => at,
        None => (i64::MAX, String::new()),
    }
}

/// The filter values in bind order, each bound twice (`? IS NULL OR col = ?`).
pub(crate) struct Binds {
    pub actor: Option<String>,
    pub resource_type: Option<String>,
    pub action: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

pub(crate) fn binds(f: &AuditFilter) -> Binds {
    Binds {
        actor: f.actor_sub.clone(),
        resource_type: f.resource_type.map(|r| r.as_str().to_owned()),
        action: f.action.map(|a| a.as_str().to_owned()),
        from: f.from_ms,
        to: f.to_ms,
    }
}

/// One page from rows fetched `limit + 1` at a time.
pub(crate) fn page(chain: Chain, rows: Vec<EventRow>, limit: u32) -> StoreResult<KeyPage<AuditEvent>> {
    let page_len = limit.max(1) as usize;
    let more = rows.len() > page_len;
    let mut items = events(chain, rows)?;
    items.truncate(page_len);
    let next = if more { items.last().map(event_key) } else { None };
    Ok(KeyPage { items, next })
}

/// Implements `AuditStore` for a SQL store `$ty` keeping chain `$chain` (`self` bound as `$s`): `$begin` starts
/// a write transaction (dereferencing to the connection, ended by `commit`, rolled back when dropped), `$write`
/// and `$read` name its pools.
macro_rules! sql_audit_store {
    ($ty:ty, $chain:expr, |$s:ident| $begin:expr, $write:expr, $read:expr) => {
        #[async_trait::async_trait]
        impl $crate::store::AuditStore for $ty {
            async fn insert_audit_events(
                &self,
                events: &[$crate::audit::AuditEvent],
            ) -> $crate::store::StoreResult<()> {
                let $s = self;
                if events.is_empty() {
                    return Ok(());
                }
                let mut tx = $begin.await?;
                // Two multi-row statements per batch, whatever its size: a batch is many requests waiting.
                let mut rows = sqlx::QueryBuilder::new(
                    "INSERT INTO audit_events (event_id, chain, recorded_at, actor_sub, resource_type, action, body) ",
                );
                rows.push_values(events, |mut row, e| {
                    let r = &e.record;
                    row.push_bind(r.event_id.as_str())
                        .push_bind($chain.as_str())
                        .push_bind(r.recorded_at.millis())
                        .push_bind(r.actor.sub.as_str())
                        .push_bind(r.resource_type.map(|t| t.as_str()))
                        .push_bind(r.action.as_str())
                        .push_bind(e.canonical.as_str());
                });
                rows.build().execute(&mut *tx).await?;
                let named: Vec<(&str, &$crate::audit::AuditEvent)> =
                    events.iter().flat_map(|e| e.record.patient_ids.iter().map(move |p| (p.as_str(), e))).collect();
                if !named.is_empty() {
                    let mut index = sqlx::QueryBuilder::new(
                        "INSERT INTO audit_event_patients (chain, patient_id, recorded_at, event_id) ",
                    );
                    index.push_values(named, |mut row, (p, e)| {
                        row.push_bind($chain.as_str())
                            .push_bind(p)
                            .push_bind(e.record.recorded_at.millis())
                            .push_bind(e.record.event_id.as_str());
                    });
                    index.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn list_audit_events(
                &self,
                filter: &$crate::audit::AuditFilter,
                limit: u32,
                after: Option<&$crate::store::CursorKey>,
            ) -> $crate::store::StoreResult<$crate::store::KeyPage<$crate::audit::AuditEvent>> {
                use $crate::store::audit as a;
                let $s = self;
                let (at, id) = a::start(after);
                let b = a::binds(filter);
                let mut q = match &filter.patient_id {
                    Some(p) => sqlx::query_as::<_, a::EventRow>(a::PATIENT_PAGE).bind($chain.as_str()).bind(p.clone()),
                    None => sqlx::query_as::<_, a::EventRow>(a::PAGE).bind($chain.as_str()),
                };
                q = q.bind(at).bind(at).bind(id);
                q = q.bind(b.actor.clone()).bind(b.actor);
                q = q.bind(b.resource_type.clone()).bind(b.resource_type);
                q = q.bind(b.action.clone()).bind(b.action);
                q = q.bind(b.from).bind(b.from).bind(b.to).bind(b.to);
                let rows = q.bind(i64::from(limit.max(1)) + 1).fetch_all($read).await?;
                a::page($chain, rows, limit)
            }

            async fn acquire_audit_lease(
                &self,
                holder: &str,
                now: $crate::domain::formats::Timestamp,
                until: $crate::domain::formats::Timestamp,
            ) -> $crate::store::StoreResult<bool> {
                use $crate::store::audit as a;
                let $s = self;
                sqlx::query(a::TAKE_LEASE)
                    .bind(holder)
                    .bind(until.millis())
                    .bind($chain.as_str())
                    .bind(holder)
                    .bind(now.millis())
                    .execute($write)
                    .await?;
                let current: Option<String> =
                    sqlx::query_scalar(a::LEASE_HOLDER).bind($chain.as_str()).fetch_optional($write).await?;
                Ok(current.as_deref() == Some(holder))
            }

            async fn audit_head(&self) -> $crate::store::StoreResult<Option<$crate::audit::ChainHead>> {
                use $crate::store::audit as a;
                let $s = self;
                let row: Option<a::HeadRow> =
                    sqlx::query_as(a::HEAD).bind($chain.as_str()).fetch_optional($read).await?;
                Ok(row.map(a::head))
            }

            async fn unsequenced_audit_events(
                &self,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::audit::AuditEvent>> {
                use $crate::store::audit as a;
                let $s = self;
                let rows = sqlx::query_as::<_, a::EventRow>(a::PENDING)
                    .bind($chain.as_str())
                    .bind(i64::from(limit))
                    .fetch_all($read)
                    .await?;
                a::events($chain, rows)
            }

            async fn count_unsequenced_audit_events(&self) -> $crate::store::StoreResult<u64> {
                use $crate::store::audit as a;
                let $s = self;
                let n: i64 = sqlx::query_scalar(a::COUNT_PENDING).bind($chain.as_str()).fetch_one($read).await?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn sequence_audit_events(
                &self,
                holder: &str,
                now: $crate::domain::formats::Timestamp,
                until: $crate::domain::formats::Timestamp,
                placed: &[(String, i64, String)],
            ) -> $crate::store::StoreResult<()> {
                use $crate::store::audit as a;
                let $s = self;
                let mut tx = $begin.await?;
                let renewed = sqlx::query(a::RENEW_LEASE)
                    .bind(until.millis())
                    .bind($chain.as_str())
                    .bind(holder)
                    .bind(now.millis())
                    .execute(&mut *tx)
                    .await?;
                if renewed.rows_affected() != 1 {
                    return Err($crate::store::StoreError::ClaimLost);
                }
                // One statement per chunk, not one per event: the write lock (SQLite's single writer) is held for
                // as short a time as the placement allows.
                for chunk in placed.chunks(a::PLACE_CHUNK) {
                    let mut q = sqlx::QueryBuilder::new("UPDATE audit_events SET seq = CASE event_id");
                    for (id, seq, _) in chunk {
                        q.push(" WHEN ").push_bind(id.as_str()).push(" THEN ").push_bind(*seq);
                    }
                    q.push(" END, hash = CASE event_id");
                    for (id, _, hash) in chunk {
                        q.push(" WHEN ").push_bind(id.as_str()).push(" THEN ").push_bind(hash.as_str());
                    }
                    q.push(" END WHERE chain = ").push_bind($chain.as_str()).push(" AND seq IS NULL AND event_id IN (");
                    let mut ids = q.separated(", ");
                    for (id, _, _) in chunk {
                        ids.push_bind(id.as_str());
                    }
                    q.push(")");
                    let done = q.build().execute(&mut *tx).await?;
                    if done.rows_affected() != chunk.len() as u64 {
                        return Err($crate::store::StoreError::Conflict);
                    }
                }
                tx.commit().await?;
                Ok(())
            }

            async fn insert_audit_checkpoint(&self, cp: &$crate::audit::Checkpoint) -> $crate::store::StoreResult<()> {
                use $crate::store::audit as a;
                let $s = self;
                sqlx::query(a::INSERT_CHECKPOINT)
                    .bind($chain.as_str())
                    .bind(cp.seq)
                    .bind(cp.hash.as_str())
                    .bind(cp.signed_at.millis())
                    .bind(cp.key_id.as_str())
                    .bind(cp.signature.as_str())
                    .execute($write)
                    .await?;
                Ok(())
            }

            async fn last_audit_checkpoint(&self) -> $crate::store::StoreResult<Option<$crate::audit::Checkpoint>> {
                use $crate::store::audit as a;
                let $s = self;
                let row: Option<a::CheckpointRow> =
                    sqlx::query_as(a::LAST_CHECKPOINT).bind($chain.as_str()).fetch_optional($read).await?;
                Ok(row.map(|r| a::checkpoint($chain, r)))
            }

            async fn audit_chain(
                &self,
                after: i64,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::audit::AuditEvent>> {
                use $crate::store::audit as a;
                let $s = self;
                let rows = sqlx::query_as::<_, a::EventRow>(a::CHAIN)
                    .bind($chain.as_str())
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all($read)
                    .await?;
                a::events($chain, rows)
            }

            async fn audit_checkpoints(&self) -> $crate::store::StoreResult<Vec<$crate::audit::Checkpoint>> {
                use $crate::store::audit as a;
                let $s = self;
                let rows: Vec<a::CheckpointRow> =
                    sqlx::query_as(a::CHECKPOINTS).bind($chain.as_str()).fetch_all($read).await?;
                Ok(rows.into_iter().map(|r| a::checkpoint($chain, r)).collect())
            }
        }
    };
}
pub(crate) use sql_audit_store;

/// Defines `$name(conn, chain, event)`: stores one event and its patient index rows on a `$conn` connection (inside
/// the caller's transaction).
macro_rules! sql_insert_event {
    ($name:ident, $conn:ty) => {
        pub(crate) async fn $name(
            conn: &mut $conn,
            chain: $crate::audit::Chain,
            e: &$crate::audit::AuditEvent,
        ) -> $crate::store::StoreResult<()> {
            use $crate::store::audit as a;
            let r = &e.record;
            let at = r.recorded_at.millis();
            sqlx::query(a::INSERT_EVENT)
                .bind(r.event_id.as_str())
                .bind(chain.as_str())
                .bind(at)
                .bind(r.actor.sub.as_str())
                .bind(r.resource_type.map(|t| t.as_str()))
                .bind(r.action.as_str())
                .bind(e.canonical.as_str())
                .execute(&mut *conn)
                .await?;
            for p in &r.patient_ids {
                sqlx::query(a::INSERT_PATIENT)
                    .bind(chain.as_str())
                    .bind(p.as_str())
                    .bind(at)
                    .bind(r.event_id.as_str())
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(())
        }
    };
}
pub(crate) use sql_insert_event;
