//! Idempotency records on SQLite (the port `IdempotencyStore`, for R and for the SQL records store, which share
//! the file). Claims run on the single writer inside `BEGIN IMMEDIATE`, so reading the row and inserting or taking
//! it over cannot interleave with another claim; completion runs inside the caller's write transaction.

use sqlx::SqliteConnection;

use super::SqliteDb;
use crate::domain::formats::Timestamp;
use crate::store::idempotency::{COMPLETE, Decision, INSERT, RELEASE, Row, SELECT, TAKE_OVER, decide};
use crate::store::{ClaimOutcome, Completion, IdempotencyClaim, StoreError, StoreResult};

#[derive(sqlx::FromRow)]
struct SqliteRow {
    fingerprint: String,
    state: String,
    token: String,
    lease_until: i64,
    expires_at: i64,
    status: Option<i64>,
    location: Option<String>,
    etag: Option<String>,
    body: Option<String>,
}

impl From<SqliteRow> for Row {
    fn from(r: SqliteRow) -> Self {
        Row {
            fingerprint: r.fingerprint,
            state: r.state,
            token: r.token,
            lease_until: r.lease_until,
            expires_at: r.expires_at,
            status: r.status,
            location: r.location,
            etag: r.etag,
            body: r.body,
        }
    }
}

pub(crate) async fn claim(db: &SqliteDb, c: &IdempotencyClaim) -> StoreResult<ClaimOutcome> {
    let mut tx = db.write.begin_with("BEGIN IMMEDIATE").await?;
    let found: Option<SqliteRow> = sqlx::query_as(SELECT).bind(&c.scope).fetch_optional(&mut *tx).await?;
    let (lease, now) = (c.lease_until.millis(), c.now.millis());
    let outcome = match found.map(Row::from).map(|row| decide(row, now)).transpose()? {
        None => {
            sqlx::query(INSERT)
                .bind(&c.scope)
                .bind(&c.fingerprint)
                .bind(&c.token)
                .bind(lease)
                .bind(lease)
                .execute(&mut *tx)
                .await?;
            ClaimOutcome::Claimed
        }
        Some(Decision::Report(outcome)) => outcome,
        Some(Decision::TakeOver { old_token }) => {
            let taken = sqlx::query(TAKE_OVER)
                .bind(&c.fingerprint)
                .bind(&c.token)
                .bind(lease)
                .bind(lease)
                .bind(&c.scope)
                .bind(&old_token)
                .execute(&mut *tx)
                .await?;
            // The writer lock is held since the read, so the row cannot have moved.
            if taken.rows_affected() != 1 {
                return Err(StoreError::Internal("idempotency row changed under the write lock".into()));
            }
            ClaimOutcome::Claimed
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

pub(crate) async fn release(db: &SqliteDb, scope: &str, token: &str) -> StoreResult<()> {
    sqlx::query(RELEASE).bind(scope).bind(token).execute(&db.write).await?;
    Ok(())
}

pub(crate) async fn purge(db: &SqliteDb, now: Timestamp, limit: u32) -> StoreResult<u64> {
    // SQLite's DELETE takes no LIMIT unless compiled with it; the keyed subquery bounds the batch instead.
    let done = sqlx::query(
        "DELETE FROM idempotency_keys WHERE scope IN \
         (SELECT scope FROM idempotency_keys WHERE expires_at <= ? LIMIT ?)",
    )
    .bind(now.millis())
    .bind(i64::from(limit))
    .execute(&db.write)
    .await?;
    Ok(done.rows_affected())
}

/// Completes `done` inside the caller's transaction; `ClaimLost` when the claim is no longer this attempt's.
pub(crate) async fn complete(conn: &mut SqliteConnection, done: Option<&Completion>) -> StoreResult<()> {
    let Some(done) = done else { return Ok(()) };
    let r = &done.response;
    let result = sqlx::query(COMPLETE)
        .bind(i64::from(r.status))
        .bind(r.location.as_deref())
        .bind(r.etag.as_deref())
        .bind(&r.body)
        .bind(done.expires_at.millis())
        .bind(&done.scope)
        .bind(&done.token)
        .execute(conn)
        .await?;
    if result.rows_affected() == 1 { Ok(()) } else { Err(StoreError::ClaimLost) }
}
