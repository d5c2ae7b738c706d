//! SQLite adapter of the relational store (R), and the connection setup both SQLite adapters share.
//!
//! Server tuning: WAL, foreign keys, a busy timeout, and a single writer connection so that writes
//! (bookings above all) serialise; reads use a separate pool. Every write transaction starts with
//! `BEGIN IMMEDIATE` on the writer, so check-then-write sequences are atomic.

mod clinic;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
    SqliteTransactionManager,
};
use sqlx::{Connection, TransactionManager};

use super::StoreError;

/// Embedded migrations for SQLite (same file names as the MySQL set).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Connection settings for [`SqliteDb::open`].
#[derive(Debug, Clone, Copy)]
pub struct SqliteOptions {
    pub busy_timeout: Duration,
    pub read_connections: u32,
    pub acquire_timeout: Duration,
}

/// The two pools over one SQLite file: many readers, one writer.
#[derive(Debug, Clone)]
pub struct SqliteDb {
    pub read: SqlitePool,
    pub write: SqlitePool,
}

impl SqliteDb {
    /// Opens (creating if missing) the database named by a `sqlite://PATH` URL.
    pub async fn open(url: &str, opts: SqliteOptions) -> Result<Self, StoreError> {
        let connect = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Internal(format!("bad SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(opts.busy_timeout);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(opts.acquire_timeout)
            .after_release(|conn, _| Box::pin(end_abandoned_transaction(conn)))
            .connect_with(connect.clone())
            .await?;
        let read = SqlitePoolOptions::new()
            .max_connections(opts.read_connections.max(1))
            .acquire_timeout(opts.acquire_timeout)
            .connect_with(connect.read_only(false))
            .await?;
        Ok(Self { read, write })
    }

    /// Applies the embedded migrations (idempotent).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.write).await.map_err(|e| StoreError::Internal(format!("migration failed: {e}")))
    }
}

/// Rolls back a transaction that a cancelled caller left open, so the next `BEGIN IMMEDIATE` can start.
///
/// A dropped `Transaction` queues its own rollback, but sqlx's `begin_with` has a gap: cancelled after the
/// worker ran `BEGIN` and before the `Transaction` exists, it returns the connection to the pool still inside
/// that transaction, and every later `begin_with` on it fails. The ping first flushes any queued rollback.
async fn end_abandoned_transaction(conn: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    conn.ping().await?;
    if conn.is_in_transaction() {
        SqliteTransactionManager::rollback(conn).await?;
    }
    Ok(true)
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
