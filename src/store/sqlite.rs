//! SQLite adapter of the relational store (R), and the connection setup both SQLite adapters share.
//!
//! Server tuning: WAL, foreign keys, a busy timeout, and a single writer connection so that writes
//! (bookings above all) serialise; reads use a separate pool. Every write transaction starts with
//! `BEGIN IMMEDIATE` on the writer, so check-then-write sequences are atomic.

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
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::StoreError;
use crate::schema::SchemaState;

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

    /// The embedded migrations compared with those this database has applied. Creates nothing: a new database
    /// without sqlx's migrations table has applied none.
    pub async fn schema_state(&self) -> Result<SchemaState, StoreError> {
        schema_state_of(&mut *self.read.acquire().await?).await
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
    &s.db.read
);
