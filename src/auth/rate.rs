//! Per-principal rate limit (SECURITY.md §4): a token bucket per `sub`, per instance, from the `governor` crate
//! (GCRA, lock-free). Idle principals are forgotten periodically, so memory follows the active ones.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// The limiter of one instance.
#[derive(Debug)]
pub struct PrincipalLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl PrincipalLimiter {
    /// `per_second` sustained with bursts of `burst`; `None` when `per_second` is 0 (disabled).
    pub fn new(per_second: u32, burst: u32) -> Option<Self> {
        let rate = NonZeroU32::new(per_second)?;
        let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_second(rate).allow_burst(burst);
        Some(Self { limiter: RateLimiter::keyed(quota), clock: DefaultClock::default() })
    }

    /// `Ok` when `sub` may make one more request now; otherwise the whole seconds to wait (at least 1).
    pub fn check(&self, sub: &str) -> Result<(), u64> {
        // Look-up by `&str` would need the key type to be borrowed; one short allocation per request is cheap
        // next to verifying the signature.
        match self.limiter.check_key(&sub.to_owned()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                Err((wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1))
            }
        }
    }

    /// Forgets principals whose buckets are full again (called every minute).
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// Spawns the minute task that calls [`Self::forget_idle`].
    pub fn spawn_janitor(self: &std::sync::Arc<Self>) -> tokio::task::JoinHandle<()> {
        let me = std::sync::Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            tick.tick().await;
            loop {
                tick.tick().await;
                match me.upgrade() {
                    Some(limiter) => limiter.forget_idle(),
                    None => return,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_principal_over_its_burst_waits_while_another_goes_on() {
        let l = PrincipalLimiter::new(1, 3).unwrap();
        for _ in 0..3 {
            assert!(l.check("a").is_ok());
        }
        assert_eq!(l.check("a"), Err(1));
        assert!(l.check("b").is_ok(), "buckets are per principal");
        assert!(PrincipalLimiter::new(0, 10).is_none(), "0 disables");
    }
}
