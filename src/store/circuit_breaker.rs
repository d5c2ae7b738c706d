//! The circuit breaker of one store (DESIGN.md §3): a small state machine with an injected clock.
//!
//! Closed: calls pass and their outcomes fill a sliding window (`window`, kept as ten buckets so memory stays
//! bounded at any call rate). When the window holds at least `min_calls` outcomes and the failure share reaches
//! `failure_rate`, the breaker opens; it also opens after `consecutive_failures` *fast* failures in a row, whatever
//! the window holds, so a store that just died (refused or reset connections, answered at once) is noticed in a
//! few calls rather than once its failures outweigh the successes of the last ten seconds (at 50 calls/s that took
//! ~15 s; Envoy's outlier detection has the same `consecutive_5xx` rule beside its success-rate one). Slow failures
//! (timeouts, lock waits) do not extend the streak: under contention they come in runs from a healthy store, and
//! the rate rule judges them (a first version counted them, and a booking burst on MariaDB opened the breaker for
//! 30 s). Open: calls are refused at once for `open_for`, with the time left as
//! `Retry-After`. Then half-open: at most `half_open_probes` calls are let through; if all of them succeed the
//! breaker closes with an empty window, and any failure opens it again.
//!
//! Why our own and not a crate: `failsafe` (the best-kept Rust breaker) keeps its state private (observable only
//! through callbacks), cannot say how long until it half-opens (our `Retry-After`), and its half-open state closes
//! on the first success instead of after N probes. The others we looked at count consecutive failures only, with no
//! failure rate over a minimum call count. The machine below is ~150 lines and every transition is tested.
//!
//! Invariants: the caller decides what a failure is (the `Guarded` decorator counts only infrastructure failures);
//! a [`Permit`] dropped without an outcome (a cancelled call) counts as nothing but frees its probe slot; an outcome
//! that arrives after the breaker changed state (a call begun before it opened) is ignored.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Least time an open breaker stays open even when a readiness probe finds the store answering
/// ([`CircuitBreaker::store_answered`]): a store that answers pings but fails real calls (a stall behind a
/// healthy connection) then gets its three half-open probes every 5 s at most, not on every readiness check.
pub const MIN_OPEN: Duration = Duration::from_secs(5);

/// Breaker settings (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerConfig {
    /// Length of the sliding window of outcomes.
    pub window: Duration,
    /// Failure share (0–1] at which the breaker opens.
    pub failure_rate: f64,
    /// Fewest outcomes in the window before the rate is judged.
    pub min_calls: u32,
    /// Fast failures in a row that open the breaker on their own; `0` turns the rule off.
    pub consecutive_failures: u32,
    /// How long the breaker stays open before half-opening.
    pub open_for: Duration,
    /// Calls let through while half-open; all must succeed to close.
    pub half_open_probes: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(10),
            failure_rate: 0.6,
            min_calls: 3,
            consecutive_failures: 5,
            open_for: Duration::from_secs(30),
            half_open_probes: 3,
        }
    }
}

/// Observable state; the numbers are the values of the `*_circuit_breaker_state` gauges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed = 0,
    HalfOpen = 1,
    Open = 2,
}

impl BreakerState {
    /// `closed`, `half-open` or `open`, as `/health` reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::HalfOpen => "half-open",
            Self::Open => "open",
        }
    }

    /// The metric label (`half_open` rather than `half-open`, Prometheus style).
    fn label(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::HalfOpen => "half_open",
            Self::Open => "open",
        }
    }
}

/// Source of monotonic time, injected so tests move time without sleeping.
pub trait Ticker: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Instant;
}

/// The real monotonic clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemTicker;

impl Ticker for SystemTicker {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A shared clock (tests keep one `Arc` to move time and hand the breaker another).
impl<T: Ticker + ?Sized> Ticker for std::sync::Arc<T> {
    fn now(&self) -> Instant {
        (**self).now()
    }
}

/// A clock that moves only when told to, for tests.
#[derive(Debug)]
pub struct ManualTicker {
    start: Instant,
    offset: Mutex<Duration>,
}

impl Default for ManualTicker {
    fn default() -> Self {
        Self { start: Instant::now(), offset: Mutex::new(Duration::ZERO) }
    }
}

impl ManualTicker {
    pub fn advance(&self, by: Duration) {
        *self.offset.lock().unwrap_or_else(PoisonError::into_inner) += by;
    }
}

impl Ticker for ManualTicker {
    fn now(&self) -> Instant {
        self.start + *self.offset.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A refused call: the breaker is open (or half-open with every probe slot taken).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// Whole seconds until the breaker half-opens, rounded up, at least 1.
    pub retry_after_secs: u64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    start: Instant,
    calls: u32,
    failures: u32,
}

#[derive(Debug)]
enum Phase {
    Closed,
    Open { until: Instant },
    HalfOpen { in_flight: u32, successes: u32 },
}

#[derive(Debug)]
struct Inner {
    phase: Phase,
    /// Bumped on every transition, so late outcomes from an earlier phase are recognised and ignored.
    generation: u64,
    buckets: VecDeque<Bucket>,
    /// Failures since the last success (closed phase only).
    streak: u32,
}

/// One store's breaker. `store` and `gauge` name it in the metrics.
#[derive(Debug)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    ticker: Box<dyn Ticker>,
    store: &'static str,
    gauge: &'static str,
    inner: Mutex<Inner>,
}

/// Leave to make one call; report its outcome with [`Permit::record`]. Dropping it records nothing.
#[derive(Debug)]
#[must_use = "a permit reports the call's outcome"]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    generation: u64,
    probe: bool,
    done: bool,
}

impl Permit<'_> {
    /// Reports the call's outcome.
    pub fn record(mut self, outcome: Outcome) {
        self.done = true;
        self.breaker.on_outcome(self.generation, self.probe, Some(outcome));
    }
}

/// How a call ended, as the breaker counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// An infrastructure failure that came back at once (a refused or reset connection).
    FastFailure,
    /// An infrastructure failure after a long wait (a timeout): counts for the rate, not for the streak.
    SlowFailure,
}

impl Outcome {
    fn failed(self) -> bool {
        self != Self::Success
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.breaker.on_outcome(self.generation, self.probe, None);
        }
    }
}

impl CircuitBreaker {
    /// A closed breaker; `store` labels `circuit_breaker_transitions_total`, `gauge` is the state gauge's name.
    pub fn new(config: BreakerConfig, ticker: Box<dyn Ticker>, store: &'static str, gauge: &'static str) -> Self {
        ::metrics::gauge!(gauge).set(f64::from(BreakerState::Closed as u8));
        // Exported from the start at 0, so `increase()` sees the first trip after a restart.
        for to in [BreakerState::Open, BreakerState::HalfOpen, BreakerState::Closed] {
            ::metrics::counter!("circuit_breaker_transitions_total", "store" => store, "to" => to.label()).absolute(0);
        }
        let inner = Inner { phase: Phase::Closed, generation: 0, buckets: VecDeque::new(), streak: 0 };
        Self { config, ticker, store, gauge, inner: Mutex::new(inner) }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The critical sections cannot panic half-way; a poisoned lock still holds consistent data.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current state, half-opening first if the open interval has passed. Never counts as a call.
    pub fn state(&self) -> BreakerState {
        let mut inner = self.lock();
        self.half_open_if_due(&mut inner, self.ticker.now());
        match inner.phase {
            Phase::Closed => BreakerState::Closed,
            Phase::Open { .. } => BreakerState::Open,
            Phase::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// A check outside the breaker (a readiness probe of the bare store) found the store answering: an open
    /// breaker that has been open for at least [`MIN_OPEN`] half-opens now instead of waiting out its interval,
    /// so the next calls probe the store. Without it a store back after a restart stays refused for the whole
    /// open interval (22.6 s of the default 30 s in the cluster suite's scenario 5). The half-open probes still
    /// decide: a store that only answers pings opens the breaker again.
    pub fn store_answered(&self) {
        let now = self.ticker.now();
        let mut inner = self.lock();
        if let Phase::Open { until } = inner.phase
            && now + self.config.open_for >= until + MIN_OPEN
        {
            self.transition(&mut inner, Phase::HalfOpen { in_flight: 0, successes: 0 });
        }
    }

    /// Asks to make a call.
    pub fn acquire(&self) -> Result<Permit<'_>, Refused> {
        let now = self.ticker.now();
        let mut inner = self.lock();
        self.half_open_if_due(&mut inner, now);
        let generation = inner.generation;
        let probe = match &mut inner.phase {
            Phase::Closed => false,
            Phase::Open { until } => return Err(Refused { retry_after_secs: secs_until(*until, now) }),
            Phase::HalfOpen { in_flight, successes } => {
                if *in_flight + *successes >= self.config.half_open_probes {
                    // Every probe slot is taken; the verdict is at most one call away.
                    return Err(Refused { retry_after_secs: 1 });
                }
                *in_flight += 1;
                true
            }
        };
        Ok(Permit { breaker: self, generation, probe, done: false })
    }

    fn on_outcome(&self, generation: u64, probe: bool, outcome: Option<Outcome>) {
        let failed = outcome.map(Outcome::failed);
        let now = self.ticker.now();
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        let reopen = Phase::Open { until: now + self.config.open_for };
        if probe {
            // Same generation: still the half-open phase the probe was let through in.
            let Phase::HalfOpen { in_flight, successes } = &mut inner.phase else { return };
            *in_flight = in_flight.saturating_sub(1);
            let next = match failed {
                Some(true) => Some(reopen),
                Some(false) => {
                    *successes += 1;
                    (*successes >= self.config.half_open_probes).then_some(Phase::Closed)
                }
                None => None,
            };
            if let Some(next) = next {
                self.transition(&mut inner, next);
            }
        } else if let Some(failed) = failed
            && matches!(inner.phase, Phase::Closed)
        {
            self.count(&mut inner, now, failed);
            inner.streak = match outcome {
                Some(Outcome::Success) => 0,
                Some(Outcome::FastFailure) => inner.streak + 1,
                _ => inner.streak,
            };
            let streak = self.config.consecutive_failures > 0 && inner.streak >= self.config.consecutive_failures;
            if streak || self.should_trip(&inner.buckets) {
                self.transition(&mut inner, reopen);
            }
        }
    }

    fn count(&self, inner: &mut Inner, now: Instant, failed: bool) {
        let width = self.config.window / 10;
        while inner.buckets.front().is_some_and(|b| now.duration_since(b.start) >= self.config.window) {
            inner.buckets.pop_front();
        }
        match inner.buckets.back_mut() {
            Some(b) if now.duration_since(b.start) < width => {
                b.calls += 1;
                b.failures += u32::from(failed);
            }
            _ => inner.buckets.push_back(Bucket { start: now, calls: 1, failures: u32::from(failed) }),
        }
    }

    fn should_trip(&self, buckets: &VecDeque<Bucket>) -> bool {
        let (calls, failures) = buckets.iter().fold((0u32, 0u32), |(c, f), b| (c + b.calls, f + b.failures));
        calls >= self.config.min_calls.max(1) && f64::from(failures) >= self.config.failure_rate * f64::from(calls)
    }

    fn half_open_if_due(&self, inner: &mut Inner, now: Instant) {
        if let Phase::Open { until } = inner.phase
            && now >= until
        {
            self.transition(inner, Phase::HalfOpen { in_flight: 0, successes: 0 });
        }
    }

    fn transition(&self, inner: &mut Inner, to: Phase) {
        let state = match to {
            Phase::Closed => BreakerState::Closed,
            Phase::Open { .. } => BreakerState::Open,
            Phase::HalfOpen { .. } => BreakerState::HalfOpen,
        };
        inner.phase = to;
        inner.generation += 1;
        inner.buckets.clear();
        inner.streak = 0;
        ::metrics::gauge!(self.gauge).set(f64::from(state as u8));
        ::metrics::counter!("circuit_breaker_transitions_total", "store" => self.store, "to" => state.label())
            .increment(1);
        tracing::warn!(store = self.store, to = state.as_str(), "circuit breaker transition");
    }
}

/// Whole seconds from `now` to `until`, rounded up, at least 1.
fn secs_until(until: Instant, now: Instant) -> u64 {
    let left = until.saturating_duration_since(now);
    let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn breaker() -> (CircuitBreaker, Arc<ManualTicker>) {
        let clock = Arc::new(ManualTicker::default());
        (CircuitBreaker::new(BreakerConfig::default(), Box::new(clock.clone()), "test", "test_breaker_state"), clock)
    }

    /// An outcome as `Guarded` reports a quick call: `true` is a (fast) infrastructure failure.
    fn outcome(failed: bool) -> Outcome {
        if failed { Outcome::FastFailure } else { Outcome::Success }
    }

    fn call(b: &CircuitBreaker, failed: bool) {
        b.acquire().expect("call permitted").record(outcome(failed));
    }

    fn open(b: &CircuitBreaker) {
        for _ in 0..3 {
            call(b, true);
        }
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn failures_in_a_row_open_it_whatever_the_window_holds() {
        let (b, _) = breaker();
        for _ in 0..100 {
            call(&b, false);
        }
        for _ in 0..4 {
            call(&b, true);
        }
        call(&b, false);
        for _ in 0..4 {
            call(&b, true);
        }
        assert_eq!(b.state(), BreakerState::Closed, "a success ends the streak; 8 of 109 is under the rate");
        call(&b, true);
        assert_eq!(b.state(), BreakerState::Open, "the fifth failure in a row");
    }

    #[test]
    fn slow_failures_in_a_row_leave_it_to_the_rate() {
        let (b, _) = breaker();
        for _ in 0..100 {
            call(&b, false);
        }
        for _ in 0..20 {
            b.acquire().expect("call permitted").record(Outcome::SlowFailure);
        }
        assert_eq!(b.state(), BreakerState::Closed, "20 of 120 is under the rate, and timeouts make no streak");
        for _ in 0..5 {
            call(&b, true);
        }
        assert_eq!(b.state(), BreakerState::Open, "fast failures do");
    }

    #[test]
    fn fewer_calls_than_the_minimum_never_trip_it() {
        let (b, _) = breaker();
        call(&b, true);
        call(&b, true);
        assert_eq!(b.state(), BreakerState::Closed);
        call(&b, true);
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn it_trips_at_sixty_percent_and_not_below() {
        let (b, _) = breaker();
        // 2 failures of 4 calls = 50 %: stays closed.
        for failed in [false, true, false, true] {
            call(&b, failed);
        }
        assert_eq!(b.state(), BreakerState::Closed);
        // 3 of 5 = 60 %: opens.
        call(&b, true);
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn a_store_found_answering_half_opens_an_open_breaker_after_the_least_open_time() {
        let (b, clock) = breaker();
        b.store_answered();
        assert_eq!(b.state(), BreakerState::Closed, "a closed breaker is left alone");
        open(&b);
        clock.advance(MIN_OPEN - Duration::from_millis(1));
        b.store_answered();
        assert_eq!(b.state(), BreakerState::Open, "too soon after opening");
        clock.advance(Duration::from_millis(1));
        b.store_answered();
        assert_eq!(b.state(), BreakerState::HalfOpen);
        // The probes still decide: one failure opens it again, for the whole interval.
        call(&b, true);
        assert_eq!(b.state(), BreakerState::Open);
        clock.advance(MIN_OPEN);
        b.store_answered();
        call(&b, false);
        call(&b, false);
        call(&b, false);
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn successes_alone_never_trip_it() {
        let (b, _) = breaker();
        for _ in 0..1000 {
            call(&b, false);
        }
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn outcomes_leave_the_window_after_ten_seconds() {
        let (b, clock) = breaker();
        call(&b, true);
        call(&b, true);
        clock.advance(Duration::from_secs(10));
        // The two old failures have expired: one new failure is 1 of 1 call, under the minimum.
        call(&b, true);
        assert_eq!(b.state(), BreakerState::Closed);
        call(&b, true);
        call(&b, true);
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn outcomes_within_the_window_add_up_across_buckets() {
        let (b, clock) = breaker();
        call(&b, true);
        clock.advance(Duration::from_secs(4));
        call(&b, true);
        clock.advance(Duration::from_secs(4));
        call(&b, true);
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn an_open_breaker_refuses_with_the_seconds_until_half_open_rounded_up() {
        let (b, clock) = breaker();
        open(&b);
        assert_eq!(b.acquire().unwrap_err(), Refused { retry_after_secs: 30 });
        clock.advance(Duration::from_millis(12_500));
        assert_eq!(b.acquire().unwrap_err(), Refused { retry_after_secs: 18 });
        clock.advance(Duration::from_millis(17_400));
        assert_eq!(b.acquire().unwrap_err(), Refused { retry_after_secs: 1 });
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn it_half_opens_after_the_open_interval_and_closes_after_three_good_probes() {
        let (b, clock) = breaker();
        open(&b);
        clock.advance(Duration::from_secs(30));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        let probes: Vec<_> = (0..3).map(|_| b.acquire().expect("probe slot")).collect();
        // Three probes in flight: a fourth call is refused.
        assert_eq!(b.acquire().unwrap_err(), Refused { retry_after_secs: 1 });
        for (i, p) in probes.into_iter().enumerate() {
            assert_eq!(b.state(), BreakerState::HalfOpen, "after {i} successes");
            p.record(Outcome::Success);
        }
        assert_eq!(b.state(), BreakerState::Closed);
        // Closed with an empty window: one failure is under the minimum.
        call(&b, true);
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn a_failed_probe_opens_it_again_for_a_full_interval() {
        let (b, clock) = breaker();
        open(&b);
        clock.advance(Duration::from_secs(31));
        call(&b, false);
        call(&b, true);
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.acquire().unwrap_err(), Refused { retry_after_secs: 30 });
    }

    #[test]
    fn a_dropped_probe_counts_as_nothing_and_frees_its_slot() {
        let (b, clock) = breaker();
        open(&b);
        clock.advance(Duration::from_secs(30));
        let held: Vec<_> = (0..3).map(|_| b.acquire().expect("probe slot")).collect();
        drop(held);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        for _ in 0..3 {
            call(&b, false);
        }
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn a_dropped_call_counts_as_nothing_while_closed() {
        let (b, _) = breaker();
        for _ in 0..10 {
            drop(b.acquire().expect("closed"));
        }
        call(&b, true);
        call(&b, true);
        assert_eq!(b.state(), BreakerState::Closed, "dropped calls must not count as successes or failures");
    }

    #[test]
    fn late_outcomes_from_before_a_transition_are_ignored() {
        let (b, clock) = breaker();
        let slow = b.acquire().expect("closed");
        open(&b);
        clock.advance(Duration::from_secs(30));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        // A call begun while closed fails now: it is no probe and must not reopen the breaker.
        slow.record(Outcome::FastFailure);
        assert_eq!(b.state(), BreakerState::HalfOpen);
    }

    #[test]
    fn every_setting_is_honoured() {
        let config = BreakerConfig {
            window: Duration::from_secs(1),
            failure_rate: 1.0,
            min_calls: 5,
            consecutive_failures: 0,
            open_for: Duration::from_millis(200),
            half_open_probes: 1,
        };
        let clock = Arc::new(ManualTicker::default());
        let b = CircuitBreaker::new(config, Box::new(clock.clone()), "test", "test_breaker_state");
        for _ in 0..4 {
            call(&b, true);
        }
        call(&b, false);
        assert_eq!(b.state(), BreakerState::Closed, "4 of 5 is under a 100 % rate");
        clock.advance(Duration::from_secs(1));
        for _ in 0..5 {
            call(&b, true);
        }
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.acquire().unwrap_err().retry_after_secs, 1);
        clock.advance(Duration::from_millis(200));
        call(&b, false);
        assert_eq!(b.state(), BreakerState::Closed, "one probe is enough");
    }
}
