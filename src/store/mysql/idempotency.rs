//! Idempotency records on MySQL/MariaDB (the port `IdempotencyStore`, for R and for the SQL records store, which
//! share the database).
//!
//! A claim first tries a plain INSERT on its own (autocommit), so two attempts on a new key meet at the primary
//! key and one of them simply gets a duplicate-key error, without the gap locks a `SELECT … FOR UPDATE` of a
//! missing row would take (and deadlock on). Only when the key exists does it lock that row and decide.
//! Completion runs inside the caller's write transaction, conditional on the claim's token.

use sqlx::mysql::{MySqlConnection, MySqlRow};
use sqlx::{AssertSqlSafe, Executor, Row as _};

use super::rows::text;
use super::{MySqlDb, TxError, TxResult};
use crate::domain::formats::Timestamp;
use crate::store::idempotency::{COMPLETE, Decision, INSERT, RELEASE, Row, SELECT, TAKE_OVER, decide};
use crate::store::{ClaimOutcome, Completion, IdempotencyClaim, StoreError, StoreResult};

fn row_from(r: MySqlRow) -> Result<Row, sqlx::Error> {
    Ok(Row {
        fingerprint: text(&r, "fingerprint")?,
        state: text(&r, "state")?,
        token: text(&r, "token")?,
        lease_until: r.try_get("lease_until")?,
        expires_at: r.try_get("expires_at")?,
        status: r.try_get::<Option<i16>, _>("status")?.map(i64::from),
        location: r.try_get_unchecked("location")?,
        etag: r.try_get_unchecked("etag")?,
        body: r.try_get_unchecked("body")?,
    })
}

pub(super) async fn claim(db: &MySqlDb, c: &IdempotencyClaim) -> StoreResult<ClaimOutcome> {
    // A row found by the failed INSERT can be gone by the time it is locked (released or purged in between);
    // the key is then free again, and the second round's INSERT takes it.
    for _ in 0..2 {
        if let Some(outcome) = claim_once(db, c).await? {
            return Ok(outcome);
        }
    }
    Err(StoreError::Unavailable("idempotency key kept changing during its claim".into()))
}

/// One round of [`claim`]: `None` when the key vanished between the INSERT and the lock.
async fn claim_once(db: &MySqlDb, c: &IdempotencyClaim) -> StoreResult<Option<ClaimOutcome>> {
    let (lease, now) = (c.lease_until.millis(), c.now.millis());
    let inserted = db
        .run(async |conn| {
            sqlx::query(INSERT)
                .bind(&c.scope)
                .bind(&c.fingerprint)
                .bind(&c.token)
                .bind(lease)
                .bind(lease)
                .execute(conn)
                .await
        })
        .await;
    match inserted.map_err(StoreError::from) {
        Ok(_) => return Ok(Some(ClaimOutcome::Claimed)),
        Err(StoreError::Conflict) => {}
        Err(e) => return Err(e),
    }
    let mut tx = db.begin().await?;
    let outcome: TxResult<Option<ClaimOutcome>> = async {
        let conn = tx.conn();
        let sql = format!("{SELECT} FOR UPDATE");
        let found = sqlx::query(AssertSqlSafe(sql)).bind(&c.scope).try_map(row_from).fetch_optional(&mut *conn).await?;
        let Some(row) = found else { return Ok(None) };
        match decide(row, now)? {
            Decision::Report(outcome) => Ok(Some(outcome)),
            Decision::TakeOver { old_token } => {
                sqlx::query(TAKE_OVER)
                    .bind(&c.fingerprint)
                    .bind(&c.token)
                    .bind(lease)
                    .bind(lease)
                    .bind(&c.scope)
                    .bind(&old_token)
                    .execute(conn)
                    .await?;
                Ok(Some(ClaimOutcome::Claimed))
            }
        }
    }
    .await;
    tx.finish(outcome).await.map_err(StoreError::from)
}

pub(super) async fn release(db: &MySqlDb, scope: &str, token: &str) -> StoreResult<()> {
    db.run(async |c| sqlx::query(RELEASE).bind(scope).bind(token).execute(c).await).await?;
    Ok(())
}

pub(super) async fn purge(db: &MySqlDb, now: Timestamp, limit: u32) -> StoreResult<u64> {
    let done = db
        .run(async |c| {
            sqlx::query("DELETE FROM idempotency_keys WHERE expires_at <= ? LIMIT ?")
                .bind(now.millis())
                .bind(i64::from(limit))
                .execute(c)
                .await
        })
        .await?;
    Ok(done.rows_affected())
}

/// Completes `done` inside the caller's transaction; `ClaimLost` when the claim is no longer this attempt's.
pub(super) async fn complete(conn: &mut MySqlConnection, done: Option<&Completion>) -> TxResult<()> {
    let Some(done) = done else { return Ok(()) };
    let r = &done.response;
    let result = conn
        .execute(
            sqlx::query(COMPLETE)
                .bind(i64::from(r.status))
                .bind(r.location.as_deref())
                .bind(r.etag.as_deref())
                .bind(&r.body)
                .bind(done.expires_at.millis())
                .bind(&done.scope)
                .bind(&done.token),
        )
        .await?;
    if result.rows_affected() == 1 { Ok(()) } else { Err(TxError::Store(StoreError::ClaimLost)) }
}
