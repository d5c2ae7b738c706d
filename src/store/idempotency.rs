//! What the SQL adapters share of idempotency records (API.md §1.11): the statements, the stored row, and the
//! one decision a claim makes when the key already has a row. DynamoDB makes the same decision from its item.
//!
//! A row is `pending` while an attempt holds it (until `lease_until`) and `done` once the resource it created has
//! committed with it (kept until `expires_at`). A pending row past its lease, or any row past its expiry, may be
//! taken over by a new attempt; everything else is reported to the caller, which replays, refuses a different
//! body (422) or answers 409 while the first attempt runs.

use super::{ClaimOutcome, StoreError, StoreResult, StoredResponse};

pub const SELECT: &str = "SELECT fingerprint, state, token, lease_until, expires_at, status, location, etag, body \
                          FROM idempotency_keys WHERE scope = ?";
pub const INSERT: &str = "INSERT INTO idempotency_keys (scope, fingerprint, state, token, lease_until, expires_at) \
                          VALUES (?, ?, 'pending', ?, ?, ?)";
/// Conditional on the token read, so two attempts that both found the same dead claim cannot both take it.
pub const TAKE_OVER: &str = "UPDATE idempotency_keys SET fingerprint = ?, state = 'pending', token = ?, \
                             lease_until = ?, expires_at = ?, status = NULL, location = NULL, etag = NULL, body = NULL \
                             WHERE scope = ? AND token = ?";
/// Conditional on the claim still being this attempt's and still pending: zero rows means it was lost.
pub const COMPLETE: &str = "UPDATE idempotency_keys SET state = 'done', status = ?, location = ?, etag = ?, body = ?, \
                            expires_at = ? WHERE scope = ? AND token = ? AND state = 'pending'";
pub const RELEASE: &str = "DELETE FROM idempotency_keys WHERE scope = ? AND token = ? AND state = 'pending'";

/// A stored idempotency row, as [`SELECT`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub fingerprint: String,
    pub state: String,
    pub token: String,
    pub lease_until: i64,
    pub expires_at: i64,
    pub status: Option<i64>,
    pub location: Option<String>,
    pub etag: Option<String>,
    pub body: Option<String>,
}

/// What a claim does about an existing row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Leave the row and tell the caller.
    Report(ClaimOutcome),
    /// The row is dead: replace it, conditional on `old_token`.
    TakeOver { old_token: String },
}

/// The decision for `row` at `now_ms`.
pub fn decide(row: Row, now_ms: i64) -> StoreResult<Decision> {
    if row.expires_at <= now_ms {
        return Ok(Decision::TakeOver { old_token: row.token });
    }
    match row.state.as_str() {
        "done" => {
            let (Some(status), Some(body)) = (row.status, row.body) else {
                return Err(StoreError::Internal("completed idempotency record without its response".into()));
            };
            let status = u16::try_from(status)
                .map_err(|_| StoreError::Internal("corrupt stored value in idempotency_keys.status".into()))?;
            let response = StoredResponse { status, location: row.location, etag: row.etag, body };
            Ok(Decision::Report(ClaimOutcome::Done { fingerprint: row.fingerprint, response }))
        }
        "pending" if row.lease_until > now_ms => {
            Ok(Decision::Report(ClaimOutcome::InProgress { fingerprint: row.fingerprint }))
        }
        "pending" => Ok(Decision::TakeOver { old_token: row.token }),
        _ => Err(StoreError::Internal("corrupt stored value in idempotency_keys.state".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(state: &str, lease_until: i64, expires_at: i64) -> Row {
        Row {
            fingerprint: "f".into(),
            state: state.into(),
            token: "t".into(),
            lease_until,
            expires_at,
            status: (state == "done").then_some(201),
            location: Some("/x".into()),
            etag: Some("\"1\"".into()),
            body: (state == "done").then(|| "{}".into()),
        }
    }

    #[test]
    fn live_claims_and_outcomes_are_reported_and_dead_ones_taken_over() {
        let now = 1_000;
        assert_eq!(
            decide(row("pending", 1_001, 1_001), now).unwrap(),
            Decision::Report(ClaimOutcome::InProgress { fingerprint: "f".into() })
        );
        assert!(matches!(
            decide(row("done", 0, 1_001), now).unwrap(),
            Decision::Report(ClaimOutcome::Done { response: StoredResponse { status: 201, .. }, .. })
        ));
        let dead = Decision::TakeOver { old_token: "t".into() };
        assert_eq!(decide(row("pending", 1_000, 1_001), now).unwrap(), dead, "a lease ends at its instant");
        assert_eq!(decide(row("done", 0, 1_000), now).unwrap(), dead, "an expired outcome is gone");
        assert!(decide(row("weird", 2_000, 2_000), now).is_err());
    }
}
