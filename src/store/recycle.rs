//! Connection reuse without a round trip per release: a stack of checked-out sqlx connections in front of a
//! sqlx pool, so the hot path borrows and returns a connection with no ping.
//!
//! Why not the pool alone: sqlx 0.9 pings every connection it takes back (`Floating::return_to_pool`, no option
//! turns it off), in a task spawned per release. On MySQL that is a `COM_PING` round trip per statement or
//! transaction; on SQLite a hand-off to the connection's worker thread and back. Why not another pool crate
//! (bb8, deadpool): they would need their own connect, session set-up, idle checks and fail-fast probe, all of
//! which the sqlx pool and [`super::mysql::MySqlDb`] already do; keeping the sqlx pool underneath keeps them.
//!
//! The rule that keeps it safe: a connection comes back to the stack only from [`Recycler::run`] after its
//! closure *completed* and left it usable (success, or an error the database itself answered). A cancelled
//! request drops its lease mid-statement, and an I/O or protocol error may leave a half-read stream: those go
//! back through sqlx's own release (ping, and close when broken), exactly as before. A connection idle on the
//! stack for [`PING_IF_IDLE_FOR`] or more is handed to sqlx for that check instead of being reused blindly.

use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sqlx::Database;
use sqlx::pool::PoolConnection;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Idle time on the stack after which a connection is not reused without sqlx's checks; under load none waits
/// this long.
pub const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// The stack, shared by every clone of a store.
#[derive(Debug)]
pub struct Recycler<DB: Database> {
    inner: Arc<Inner<DB>>,
}

impl<DB: Database> Clone for Recycler<DB> {
    fn clone(&self) -> Self {
        Self { inner: Arc::clone(&self.inner) }
    }
}

#[derive(Debug)]
struct Inner<DB: Database> {
    /// Most recently returned last, so the warmest connection is reused first.
    idle: Mutex<Vec<(PoolConnection<DB>, Instant)>>,
    /// One permit per connection the pool may open. A borrower waits here, not in the pool: a connection
    /// returned to the stack must reach the next waiter, which a wait inside the pool would never see.
    slots: Arc<Semaphore>,
    /// How long a borrower waits for a slot: the pool's acquire timeout, which a wait here would otherwise skip.
    wait: Duration,
}

/// A borrowed connection. Dropped without [`Lease::recycle`], it goes back through the sqlx pool.
#[derive(Debug)]
pub struct Lease<DB: Database> {
    conn: Option<PoolConnection<DB>>,
    home: Arc<Inner<DB>>,
    _slot: OwnedSemaphorePermit,
}

impl<DB: Database> Recycler<DB> {
    /// A stack for `pool`, sized and timed as it is.
    pub fn new(pool: &sqlx::Pool<DB>) -> Self {
        let options = pool.options();
        let slots = Arc::new(Semaphore::new(options.get_max_connections().max(1) as usize));
        let wait = options.get_acquire_timeout();
        Self { inner: Arc::new(Inner { idle: Mutex::new(Vec::new()), slots, wait }) }
    }

    /// A connection from the stack, else from `fresh` (the pool's checkout).
    pub async fn lease<F, Fut>(&self, fresh: F) -> Result<Lease<DB>, sqlx::Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<PoolConnection<DB>, sqlx::Error>>,
    {
        let slot = match tokio::time::timeout(self.inner.wait, Arc::clone(&self.inner.slots).acquire_owned()).await {
            Ok(Ok(slot)) => slot,
            Ok(Err(_)) => return Err(sqlx::Error::PoolClosed),
            Err(_) => return Err(sqlx::Error::PoolTimedOut),
        };
        let now = Instant::now();
        // Stale connections go back through the pool's release (a ping; kept only if it answers), dropped after
        // the lock: each drop spawns that release, and every borrower takes this lock.
        let mut stale = Vec::new();
        let reused = {
            let mut idle = self.inner.idle.lock().unwrap_or_else(PoisonError::into_inner);
            let mut found = None;
            while let Some((conn, since)) = idle.pop() {
                if now.duration_since(since) < PING_IF_IDLE_FOR {
                    found = Some(conn);
                    break;
                }
                stale.push(conn);
            }
            found
        };
        drop(stale);
        let conn = match reused {
            Some(conn) => conn,
            None => fresh().await?,
        };
        Ok(Lease { conn: Some(conn), home: Arc::clone(&self.inner), _slot: slot })
    }

    /// Runs `f` on a borrowed connection and keeps the connection for the next borrower when `f` completed and
    /// left it usable (see the module doc).
    pub async fn run<T, F, Fut>(
        &self,
        fresh: F,
        f: impl AsyncFnOnce(&mut DB::Connection) -> Result<T, sqlx::Error>,
    ) -> Result<T, sqlx::Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<PoolConnection<DB>, sqlx::Error>>,
    {
        let mut lease = self.lease(fresh).await?;
        let out = f(&mut lease).await;
        if leaves_connection_usable(&out) {
            lease.recycle();
        }
        out
    }

    /// Connections waiting on the stack (the pool counts them as in use).
    pub fn idle(&self) -> u32 {
        u32::try_from(self.inner.idle.lock().unwrap_or_else(PoisonError::into_inner).len()).unwrap_or(u32::MAX)
    }

    /// Hands every stacked connection back to the pool (before closing it, so the close waits for none).
    pub fn drain(&self) {
        self.inner.idle.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

impl<DB: Database> Lease<DB> {
    /// Puts the connection on the stack for the next borrower; only for a connection known to be usable.
    pub fn recycle(mut self) {
        if let Some(conn) = self.conn.take() {
            self.home.idle.lock().unwrap_or_else(PoisonError::into_inner).push((conn, Instant::now()));
        }
    }

    /// The pooled connection itself, for what only the pool's handle offers (closing instead of returning).
    pub fn pooled(&mut self) -> &mut PoolConnection<DB> {
        self.conn.as_mut().expect("a lease holds its connection until dropped or recycled")
    }
}

impl<DB: Database> Deref for Lease<DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &DB::Connection {
        self.conn.as_ref().expect("a lease holds its connection until dropped or recycled")
    }
}

impl<DB: Database> DerefMut for Lease<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        self.pooled()
    }
}

/// After `Ok`, or an error the server or the decoder reported on an intact stream, the connection is in a known
/// state; after anything else (I/O, protocol, TLS, a worker that died) it may not be.
fn leaves_connection_usable<T>(out: &Result<T, sqlx::Error>) -> bool {
    match out {
        Ok(_) => true,
        Err(e) => matches!(
            e,
            sqlx::Error::Database(_)
                | sqlx::Error::RowNotFound
                | sqlx::Error::ColumnDecode { .. }
                | sqlx::Error::ColumnNotFound(_)
                | sqlx::Error::Decode(_)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Sqlite;
    use sqlx::sqlite::SqlitePoolOptions;

    async fn pool(max: u32) -> sqlx::SqlitePool {
        SqlitePoolOptions::new().max_connections(max).connect("sqlite::memory:").await.expect("in-memory SQLite")
    }

    /// A completed call leaves its connection on the stack and the next call gets that same connection, without
    /// asking the pool.
    #[tokio::test]
    async fn a_completed_call_hands_its_connection_to_the_next() {
        let pool = pool(2).await;
        let recycler = Recycler::<Sqlite>::new(&pool);
        let fresh = || pool.acquire();
        let first: i64 =
            recycler.run(fresh, async |c| sqlx::query_scalar("SELECT 1").fetch_one(c).await).await.unwrap();
        assert_eq!(first, 1);
        assert_eq!(recycler.idle(), 1);
        // A temp table lives on its connection only: seeing it proves the reuse.
        recycler
            .run(|| pool.acquire(), async |c| sqlx::query("CREATE TEMP TABLE mark (x)").execute(c).await)
            .await
            .unwrap();
        let asked_pool = std::sync::atomic::AtomicBool::new(false);
        let seen: i64 = recycler
            .run(
                || {
                    asked_pool.store(true, std::sync::atomic::Ordering::SeqCst);
                    pool.acquire()
                },
                async |c| sqlx::query_scalar("SELECT COUNT(*) FROM temp.mark").fetch_one(c).await,
            )
            .await
            .unwrap();
        assert_eq!(seen, 0);
        assert!(!asked_pool.load(std::sync::atomic::Ordering::SeqCst), "the stacked connection was not reused");
    }

    /// A call whose database answered with an error keeps the connection; a cancelled call does not.
    #[tokio::test]
    async fn only_calls_that_finished_return_their_connection() {
        let pool = pool(2).await;
        let recycler = Recycler::<Sqlite>::new(&pool);
        let failed =
            recycler.run(|| pool.acquire(), async |c| sqlx::query("SELECT * FROM missing").execute(c).await).await;
        assert!(matches!(failed, Err(sqlx::Error::Database(_))));
        assert_eq!(recycler.idle(), 1, "a database error leaves the connection usable");
        recycler.drain();
        let cancelled = recycler.run(
            || pool.acquire(),
            async |_c| {
                std::future::pending::<()>().await;
                Ok(())
            },
        );
        assert!(tokio::time::timeout(Duration::from_millis(20), cancelled).await.is_err());
        assert_eq!(recycler.idle(), 0, "a cancelled call's connection went back through the pool");
        let io = recycler
            .run(|| pool.acquire(), async |_c| Err::<(), _>(sqlx::Error::Io(std::io::ErrorKind::BrokenPipe.into())))
            .await;
        assert!(io.is_err());
        assert_eq!(recycler.idle(), 0, "an I/O failure's connection went back through the pool");
    }

    /// A borrower waiting for a slot gets the connection a finishing borrower puts on the stack, even when the
    /// pool itself has none left to give.
    #[tokio::test]
    async fn a_waiting_borrower_gets_a_returned_connection() {
        let pool = pool(1).await;
        let recycler = Recycler::<Sqlite>::new(&pool);
        let held = recycler.lease(|| pool.acquire()).await.unwrap();
        let waiter = {
            let recycler = recycler.clone();
            let pool = pool.clone();
            tokio::spawn(async move {
                recycler
                    .run(
                        || async move { pool.acquire().await },
                        async |c| sqlx::query_scalar::<_, i64>("SELECT 7").fetch_one(c).await,
                    )
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "only one slot");
        held.recycle();
        let got = tokio::time::timeout(Duration::from_secs(2), waiter).await.expect("the waiter was served").unwrap();
        assert_eq!(got.unwrap(), 7);
    }

    /// A connection idle on the stack past the limit is not reused: it goes back through the pool's checks.
    #[tokio::test]
    async fn a_long_idle_connection_goes_back_to_the_pool() {
        let pool = pool(1).await;
        let recycler = Recycler::<Sqlite>::new(&pool);
        recycler
            .run(|| pool.acquire(), async |c| sqlx::query("CREATE TEMP TABLE mark (x)").execute(c).await)
            .await
            .unwrap();
        {
            let mut idle = recycler.inner.idle.lock().unwrap();
            idle[0].1 -= PING_IF_IDLE_FOR;
        }
        let asked_pool = std::sync::atomic::AtomicBool::new(false);
        recycler
            .run(
                || {
                    asked_pool.store(true, std::sync::atomic::Ordering::SeqCst);
                    pool.acquire()
                },
                async |c| sqlx::query("SELECT 1").execute(c).await,
            )
            .await
            .unwrap();
        assert!(asked_pool.load(std::sync::atomic::Ordering::SeqCst), "the stale connection was reused");
    }
}
