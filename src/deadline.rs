//! The request deadline, carried from the edge (`middleware::timeout`) to every store call, so no store call
//! outlives the request it serves and a store that stalls ends the request with 504 at its deadline.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// When the current request must be answered, and the budget it was given (named in the 504 details).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    pub at: Instant,
    pub budget: Duration,
}

impl Deadline {
    /// Time left, zero once passed.
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// The budget in whole milliseconds, as the 504 envelope shows it.
    pub fn budget_ms(&self) -> u64 {
        u64::try_from(self.budget.as_millis()).unwrap_or(u64::MAX)
    }
}

tokio::task_local! {
    static DEADLINE: Deadline;
}

/// Runs `fut` under a deadline `budget` from now.
pub async fn scope<F: Future>(budget: Duration, fut: F) -> F::Output {
    DEADLINE.scope(Deadline { at: Instant::now() + budget, budget }, fut).await
}

/// The deadline of the request this task serves; `None` outside a request (start-up, background work).
pub fn current() -> Option<Deadline> {
    DEADLINE.try_with(|d| *d).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_deadline_is_visible_inside_its_scope_only() {
        assert_eq!(current(), None);
        scope(Duration::from_millis(800), async {
            let d = current().expect("inside the scope");
            assert_eq!(d.budget_ms(), 800);
            assert!(d.remaining() <= Duration::from_millis(800));
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert!(d.remaining() <= Duration::from_millis(750));
            scope(Duration::from_millis(10), async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                assert_eq!(current().expect("nested scope").remaining(), Duration::ZERO);
            })
            .await;
        })
        .await;
        assert_eq!(current(), None);
    }
}
