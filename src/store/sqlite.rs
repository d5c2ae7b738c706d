//! SQLite adapter of the relational store (R), and the connection setup both SQLite adapters share.
//!
//! Server tuning: WAL, foreign keys, a busy timeout, and a single writer connection so that writes
//! (bookings above all) serialise; reads use a separate pool. Every write transaction starts with
//! `BEGIN IMMEDIATE` on the writer, so check-then-write sequences are atomic.
//!
//! WAL checkpoints run on a connection of their own, off the request path ([`spawn_checkpointer`]): with
//! SQLite's automatic checkpoint, the commit that crosses 1,000 WAL pages copies them into the database and
//! fsyncs it while holding the one writer, and every write (audit events included) waits behind that fsync. On a
//! busy disk that wait passed a request's whole deadline (a 504 on a payment in CI). Those checkpoints are
//! `PASSIVE`, which cannot by themselves keep the WAL short under a steady load (see [`Checkpointing`]), so a WAL
//! grown past a bound is started over.

mod clinic;
pub(crate) mod idempotency;

/// Audit events inside a write's transaction (the statements are shared with MySQL).
pub(crate) mod audit {
    crate::store::audit::sql_insert_event!(insert, sqlx::SqliteConnection);
}

use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::migrate::{Migrate, MigrateError};
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::StoreError;
use super::recycle::{Lease, Recycler};
use crate::schema::SchemaState;

/// Embedded migrations for SQLite (same file names as the MySQL set).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How [`SqliteDb::spawn_checkpointer`] keeps the WAL short.
///
/// Every `every` it copies the WAL into the database with a `PASSIVE` checkpoint, which never waits for anyone.
/// That alone does not bound the WAL: SQLite starts the WAL over only when a writer finds every frame copied and
/// no reader on an older snapshot, and under a steady load of audited reads (each one commits its event) some
/// reader or writer always is (checkpoint starvation; 88 MB after 5 s of GETs was measured here). So once the WAL
/// holds more than `restart_above` bytes, a `RESTART` checkpoint waits for the writer and the readers, copies
/// what is left and makes the next write start the WAL over from the file's beginning. The file keeps its size and
/// is written over, which is cheaper for the commits after it than `TRUNCATE` (p99 of audited GETs 40–51 ms
/// against 135–172 ms, `bench/wal.sh`), so it stays near the bound plus a second's growth. It holds new writers
/// off while it waits, so its connection waits at most [`CHECKPOINT_BUSY_WAIT`] for each lock before giving up
/// until the next round.
#[derive(Debug, Clone, Copy)]
struct Checkpointing {
    every: Duration,
    restart_above: u64,
}

/// At the writer's rate here (a few thousand small commits a second) a second keeps a quiet WAL to a few MB, and
/// 64 MiB is a few seconds of the heaviest load this machine sustains: restarts happen only under it.
const CHECKPOINTING: Checkpointing = Checkpointing { every: Duration::from_secs(1), restart_above: 64 << 20 };

/// How long the restarting checkpoint waits for each lock (the writer's, then the readers'); writers wait behind
/// it meanwhile, so it is a small part of a request's deadline.
const CHECKPOINT_BUSY_WAIT: Duration = Duration::from_millis(100);

/// Connection settings for [`SqliteDb::open`].
#[derive(Debug, Clone, Copy)]
pub struct SqliteOptions {
    pub busy_timeout: Duration,
    pub read_connections: u32,
    pub acquire_timeout: Duration,
    /// `PRAGMA synchronous`: `Full` unless the operator chose speed over surviving a power cut.
    pub synchronous: SqliteSynchronous,
}

/// The two pools over one SQLite file: many readers, one writer.
#[derive(Debug, Clone)]
pub struct SqliteDb {
    /// Private: every reader is borrowed through `readers` (`reading`, `reader`). A caller taking one from the pool
    /// directly could wait forever while all of them sit on the reuse stack, which the pool counts as in use.
    read: SqlitePool,
    pub write: SqlitePool,
    /// Readers reused without the pool's ping on release (see `store::recycle`).
    readers: Recycler<Sqlite>,
}

impl SqliteDb {
    /// Opens (creating if missing) the database named by a `sqlite://PATH` URL.
    pub async fn open(url: &str, opts: SqliteOptions) -> Result<Self, StoreError> {
        Self::open_with(url, opts, CHECKPOINTING).await
    }

    async fn open_with(url: &str, opts: SqliteOptions, checkpointing: Checkpointing) -> Result<Self, StoreError> {
        let connect = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Internal(format!("bad SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(opts.synchronous)
            .foreign_keys(true)
            .busy_timeout(opts.busy_timeout)
            .pragma("wal_autocheckpoint", "0");
        // No ping before a checkout: a SQLite connection is a file handle on this host, never a network peer
        // that went away, and each ping is a hand-off to the connection's worker thread and back.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(opts.acquire_timeout)
            .after_release(|conn, _| Box::pin(end_abandoned_transaction(conn)))
            .connect_with(connect.clone())
            .await?;
        let read = SqlitePoolOptions::new()
            .max_connections(opts.read_connections.max(1))
            .test_before_acquire(false)
            .acquire_timeout(opts.acquire_timeout)
            .connect_with(connect.clone().read_only(false))
            .await?;
        let readers = Recycler::new(&read);
        let db = Self { read, write, readers };
        db.spawn_checkpointer(connect.busy_timeout(CHECKPOINT_BUSY_WAIT), checkpointing);
        Ok(db)
    }

    /// Checkpoints the WAL as [`Checkpointing`] says, on a connection of its own, for as long as the writer pool
    /// is open (see the module doc for why not on commit).
    ///
    /// Without a runtime (none of the CLI's paths open a database outside one) nothing is started and SQLite's WAL
    /// simply grows until the next server start.
    fn spawn_checkpointer(&self, connect: SqliteConnectOptions, checkpointing: Checkpointing) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let write = self.write.clone();
        runtime.spawn(async move {
            let mut conn: Option<(SqliteConnection, i64)> = None;
            let mut tick = tokio::time::interval(checkpointing.every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if write.is_closed() {
                    break;
                }
                if conn.is_none() {
                    conn = checkpoint_connection(&connect, checkpointing.restart_above).await.ok();
                }
                let Some((c, restart_above_frames)) = conn.as_mut() else { continue };
                let started = std::time::Instant::now();
                match checkpoint(c, *restart_above_frames).await {
                    Ok(round) => {
                        let took = started.elapsed();
                        ::metrics::histogram!("sqlite_wal_checkpoint_duration_seconds").record(took.as_secs_f64());
                        // Slow checkpoints are what once held the writer past a deadline; say when they happen.
                        if took > Duration::from_millis(500) {
                            tracing::info!(millis = took.as_millis() as u64, ?round, "slow SQLite WAL checkpoint");
                        } else if round != Round::Copied {
                            tracing::debug!(millis = took.as_millis() as u64, ?round, "SQLite WAL over its bound");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "SQLite WAL checkpoint failed");
                        conn = None;
                    }
                }
            }
        });
    }

    /// Runs `f` on a reader that goes back for reuse without a ping when `f` completes: each ping is a hand-off
    /// to the connection's worker thread and back, as dear as the read itself.
    pub async fn reading<T>(
        &self,
        f: impl AsyncFnOnce(&mut SqliteConnection) -> Result<T, sqlx::Error>,
    ) -> Result<T, sqlx::Error> {
        self.readers.run(|| self.read.acquire(), f).await
    }

    /// A reader for a caller off the hot path; it goes back through the pool (and its ping) when dropped.
    pub async fn reader(&self) -> Result<Lease<Sqlite>, sqlx::Error> {
        self.readers.lease(|| self.read.acquire()).await
    }

    /// The read pool's sizes, for `db_pool_connections`.
    pub fn read_pool_stats(&self) -> super::PoolStats {
        super::PoolStats::of("sqlite_read", &self.read).with_stacked(self.readers.idle())
    }

    /// Closes both pools; the read pool's own `close` would wait forever for readers on the reuse stack.
    pub async fn close(&self) {
        self.readers.drain();
        self.read.close().await;
        self.write.close().await;
    }

    /// Applies the embedded migrations (idempotent).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.write).await.map_err(|e| StoreError::Internal(format!("migration failed: {e}")))
    }

    /// The embedded migrations compared with those this database has applied. Creates nothing: a new database
    /// without sqlx's migrations table has applied none.
    pub async fn schema_state(&self) -> Result<SchemaState, StoreError> {
        schema_state_of(&mut *self.reader().await?).await
    }

    /// The schema version (highest migration applied successfully), as `/health` reports it.
    pub async fn schema_version(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.schema_state().await?.version())
    }
}

/// [`SqliteDb::schema_state`] on any connection (`gospital backup` checks its copy with it).
pub async fn schema_state_of(conn: &mut SqliteConnection) -> Result<SchemaState, StoreError> {
    let has_table: Option<i64> = sqlx::query_scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
        .bind(MIGRATOR.table_name.as_ref())
        .fetch_optional(&mut *conn)
        .await?;
    if has_table.is_none() {
        return Ok(SchemaState::compare(&MIGRATOR, &[], None));
    }
    let read = |e: MigrateError| StoreError::Unavailable(format!("cannot read the applied migrations: {e}"));
    let applied = conn.list_applied_migrations(&MIGRATOR.table_name).await.map_err(read)?;
    let dirty = conn.dirty_version(&MIGRATOR.table_name).await.map_err(read)?;
    Ok(SchemaState::compare(&MIGRATOR, &applied, dirty))
}

/// What one checkpoint round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Round {
    /// Copied what it could; the WAL is within its bound.
    Copied,
    /// The WAL was over its bound; the next write starts it over.
    Restarted,
    /// The WAL was over its bound, but a writer or reader held on past [`CHECKPOINT_BUSY_WAIT`]: next round.
    Busy,
}

/// The checkpointer's own connection, with [`Checkpointing::restart_above`] in WAL frames (one page each). The
/// page size is read once: it is fixed once the database has pages, and the server never runs the `VACUUM` that
/// could change it.
async fn checkpoint_connection(
    connect: &SqliteConnectOptions,
    restart_above: u64,
) -> Result<(SqliteConnection, i64), sqlx::Error> {
    let mut conn = SqliteConnection::connect_with(connect).await?;
    let page_size: i64 = sqlx::query_scalar("PRAGMA page_size").fetch_one(&mut conn).await?;
    let frames = restart_above / u64::try_from(page_size).unwrap_or(4096).max(1);
    Ok((conn, i64::try_from(frames).unwrap_or(i64::MAX)))
}

/// One round of [`SqliteDb::spawn_checkpointer`]: `PASSIVE`, then `RESTART` if the WAL still holds more than
/// `restart_above_frames`.
async fn checkpoint(conn: &mut SqliteConnection, restart_above_frames: i64) -> Result<Round, sqlx::Error> {
    // Columns: busy (1 when a lock could not be had), frames in the WAL, frames copied into the database.
    let (_, frames, _): (i64, i64, i64) =
        sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&mut *conn).await?;
    if frames <= restart_above_frames {
        return Ok(Round::Copied);
    }
    let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(RESTART)").fetch_one(&mut *conn).await?;
    Ok(if busy == 0 { Round::Restarted } else { Round::Busy })
}

/// Keeps a writer connection that a cancelled caller left inside a transaction out of the pool, so the next
/// `BEGIN IMMEDIATE` can start.
///
/// A dropped `Transaction` queues its own rollback, and since sqlx 0.9 the worker also rolls back a `BEGIN`
/// whose caller was cancelled before it saw the result (0.8 left that connection inside the transaction). The
/// ping flushes any queued rollback; a connection still in a transaction after it is closed, not reused.
async fn end_abandoned_transaction(conn: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    conn.ping().await?;
    Ok(!conn.is_in_transaction())
}

/// The relational store on SQLite.
#[derive(Debug, Clone)]
pub struct SqliteClinicStore {
    db: SqliteDb,
}

impl SqliteClinicStore {
    pub fn new(db: SqliteDb) -> Self {
        Self { db }
    }
}

crate::store::audit::sql_audit_store!(
    SqliteClinicStore,
    crate::audit::Chain::R,
    |s| s.db.write.begin_with("BEGIN IMMEDIATE"),
    &s.db.write,
    &mut *s.db.reader().await?
);

#[cfg(test)]
mod tests {
    use super::*;

    /// What the tests below open with, unless they say otherwise.
    fn options() -> SqliteOptions {
        SqliteOptions {
            busy_timeout: Duration::from_secs(1),
            read_connections: 2,
            acquire_timeout: Duration::from_secs(1),
            synchronous: SqliteSynchronous::Normal,
        }
    }

    async fn synchronous_of(pool: &SqlitePool) -> i64 {
        sqlx::query_scalar("PRAGMA synchronous").fetch_one(pool).await.expect("read PRAGMA synchronous")
    }

    /// Once every reader sits on the reuse stack (the pool counts them as in use), a caller off the hot path still
    /// gets one at once: it borrows through the stack too. Taken from the pool directly it waited out the acquire
    /// timeout (what a clean-clone CI run caught: the audit sequencer's count timed out behind stacked readers).
    #[tokio::test]
    async fn every_reader_on_the_stack_still_serves_the_other_readers() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("stack.db").display());
        let opts = SqliteOptions { acquire_timeout: Duration::from_millis(300), ..options() };
        let db = SqliteDb::open(&url, opts).await.expect("open SQLite");
        let (a, b) = (db.reader().await.expect("a reader"), db.reader().await.expect("another reader"));
        a.recycle();
        b.recycle();
        assert_eq!(db.readers.idle(), 2, "both readers are on the stack");
        let started = std::time::Instant::now();
        db.schema_state().await.expect("a reader for the schema check");
        assert!(started.elapsed() < Duration::from_millis(250), "waited {:?} for a reader", started.elapsed());
        db.close().await;
    }

    /// Readers whose snapshots always overlap and a writer that never pauses (what a steady load of audited reads
    /// is) keep the WAL near its bound. `PASSIVE` checkpoints alone let it grow with every byte written: with the
    /// restart turned off (`restart_above: u64::MAX`) this test fails: the WAL grew past 30 MiB for 12 MB of
    /// rows (72 MiB for twice as many), staying under 2 MiB with it on.
    #[tokio::test]
    async fn a_steady_load_of_overlapping_reads_and_writes_keeps_the_wal_near_its_bound() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};

        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("wal.db").display());
        let opts = SqliteOptions { read_connections: 3, ..options() };
        let checkpointing = Checkpointing { every: Duration::from_millis(20), restart_above: 1 << 20 };
        let db = SqliteDb::open_with(&url, opts, checkpointing).await.expect("open SQLite");
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
            .execute(&db.write)
            .await
            .expect("create table");
        let wal = dir.path().join("wal.db-wal");
        let stop = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..3u64)
            .map(|n| {
                let (db, stop) = (db.clone(), stop.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(2 * n)).await;
                    while !stop.load(Ordering::Relaxed) {
                        db.reading(async |c| {
                            let mut tx = c.begin().await?;
                            sqlx::query("SELECT count(*) FROM t").execute(&mut *tx).await?;
                            tokio::time::sleep(Duration::from_millis(6)).await;
                            tx.commit().await
                        })
                        .await
                        .expect("a read");
                    }
                })
            })
            .collect();

        let mut largest = 0;
        for _ in 0..3_000 {
            sqlx::query("INSERT INTO t (body) VALUES (randomblob(4000))").execute(&db.write).await.expect("a write");
            largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
        }
        stop.store(true, Ordering::Relaxed);
        for r in readers {
            r.await.expect("reader ran");
        }

        assert!(largest < 8 << 20, "the WAL reached {} KiB with a 1 MiB bound", largest >> 10);
        db.close().await;
    }

    /// Every connection, reader or writer, runs with the durability asked for (`PRAGMA synchronous` is per
    /// connection, not stored in the file, so a pool opened without it would silently use the default).
    #[tokio::test]
    async fn every_connection_gets_the_durability_asked_for() {
        let dir = tempfile::tempdir().expect("temp dir");
        for (asked, expected) in [(SqliteSynchronous::Full, 2), (SqliteSynchronous::Normal, 1)] {
            let url = format!("sqlite://{}", dir.path().join(format!("{expected}.db")).display());
            let opts = SqliteOptions { synchronous: asked, ..options() };
            let db = SqliteDb::open(&url, opts).await.expect("open SQLite");
            assert_eq!(synchronous_of(&db.write).await, expected, "writer, {asked:?}");
            assert_eq!(synchronous_of(&db.read).await, expected, "reader, {asked:?}");
            db.close().await;
        }
    }
}
