//! Contract cases of the idempotency port (API.md §1.11), shared by both store suites: each suite stamps thin
//! wrappers that pass its own store, plus its own cases for completing a claim in the same write as a resource.

use gospital::domain::formats::Timestamp;
use gospital::store::{ClaimOutcome, Completion, IdempotencyClaim, IdempotencyStore, StoredResponse};

/// A fixed "now" for the claims below.
pub const NOW: i64 = 1_795_600_000_000;

/// A claim of `scope` by `token` at `now_ms`, held for `lease_ms`.
pub fn claim(scope: &str, token: &str, now_ms: i64, lease_ms: i64) -> IdempotencyClaim {
    IdempotencyClaim {
        scope: scope.to_owned(),
        // 64 hex characters like a real SHA-256, and not the scope's.
        fingerprint: scope.chars().rev().collect(),
        token: token.to_owned(),
        now: Timestamp::from_millis(now_ms),
        lease_until: Timestamp::from_millis(now_ms + lease_ms),
    }
}

/// A unique scope per call (stores may be shared by several cases of one run).
pub fn scope() -> String {
    format!("{:064x}", u128::from_be_bytes(ulid::Ulid::new().to_bytes()))
}

/// The completion of `c` storing a 201 with `body`, kept until `expires_ms`.
pub fn completion(c: &IdempotencyClaim, body: &str, expires_ms: i64) -> Completion {
    Completion {
        scope: c.scope.clone(),
        token: c.token.clone(),
        response: StoredResponse {
            status: 201,
            location: Some("/api/v1/things/1".into()),
            etag: Some("\"1\"".into()),
            body: body.to_owned(),
        },
        expires_at: Timestamp::from_millis(expires_ms),
    }
}

pub async fn a_free_key_is_claimed_once_and_then_reported_in_progress(store: &dyn IdempotencyStore) {
    let scope = scope();
    let first = claim(&scope, "A", NOW, 2_000);
    assert_eq!(store.claim_idempotency(&first).await.expect("claim"), ClaimOutcome::Claimed);
    let second = IdempotencyClaim { fingerprint: "another body".into(), ..claim(&scope, "B", NOW + 500, 2_000) };
    assert_eq!(
        store.claim_idempotency(&second).await.expect("claim"),
        ClaimOutcome::InProgress { fingerprint: first.fingerprint.clone() },
        "the running attempt's fingerprint, so a different body can be told apart"
    );
}

pub async fn a_released_claim_frees_the_key_but_only_for_its_own_token(store: &dyn IdempotencyStore) {
    let scope = scope();
    store.claim_idempotency(&claim(&scope, "A", NOW, 2_000)).await.expect("claim");
    store.release_idempotency(&scope, "not-A").await.expect("a foreign release is a no-op");
    assert!(matches!(
        store.claim_idempotency(&claim(&scope, "B", NOW, 2_000)).await.expect("claim"),
        ClaimOutcome::InProgress { .. }
    ));
    store.release_idempotency(&scope, "A").await.expect("release");
    assert_eq!(store.claim_idempotency(&claim(&scope, "B", NOW, 2_000)).await.expect("claim"), ClaimOutcome::Claimed);
}

pub async fn a_claim_whose_lease_ran_out_is_taken_over(store: &dyn IdempotencyStore) {
    let scope = scope();
    store.claim_idempotency(&claim(&scope, "dead", NOW, 1_000)).await.expect("claim");
    let before = claim(&scope, "B", NOW + 999, 1_000);
    assert!(matches!(store.claim_idempotency(&before).await.expect("claim"), ClaimOutcome::InProgress { .. }));
    let after = claim(&scope, "B", NOW + 1_000, 1_000);
    assert_eq!(store.claim_idempotency(&after).await.expect("claim"), ClaimOutcome::Claimed);
    // The dead attempt can no longer give the key back.
    store.release_idempotency(&scope, "dead").await.expect("no-op");
    assert!(matches!(
        store.claim_idempotency(&claim(&scope, "C", NOW + 1_500, 1_000)).await.expect("claim"),
        ClaimOutcome::InProgress { .. }
    ));
}

pub async fn purging_keeps_live_records_and_an_expired_key_is_free_again(store: &dyn IdempotencyStore) {
    let scope = scope();
    store.claim_idempotency(&claim(&scope, "A", NOW, 1_000)).await.expect("claim");
    store.purge_idempotency(Timestamp::from_millis(NOW + 500), 1000).await.expect("purge");
    assert!(matches!(
        store.claim_idempotency(&claim(&scope, "B", NOW + 600, 1_000)).await.expect("claim"),
        ClaimOutcome::InProgress { .. }
    ));
    let removed = store.purge_idempotency(Timestamp::from_millis(NOW + 10_000), 1000).await.expect("purge");
    assert!(removed <= 1, "{removed}");
    assert_eq!(
        store.claim_idempotency(&claim(&scope, "C", NOW + 10_000, 1_000)).await.expect("claim"),
        ClaimOutcome::Claimed
    );
}
