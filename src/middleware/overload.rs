//! Overload control for routed `/api` requests (API.md §1.5 step 2, §1.9): an adaptive concurrency limit,
//! enforced only while the process is CPU-bound, that admits what the process can serve and answers the rest
//! 503 SERVICE_OVERLOADED at once.
//!
//! Why not refuse everything while the CPU is hot (what the first release did): answering 503s kept the CPU above
//! the close threshold, so a burst on one core became a total outage. Here the CPU reading only says *whether*
//! the process is the bottleneck; *how much* to admit is learnt from latency, as Envoy's adaptive concurrency
//! filter does (and Netflix's gradient limits, and the SRE book's "serve what you can, refuse the rest cheaply"):
//!
//! - **minRTT**: with the limit pinned to `min_limit` for [`PROBE_SAMPLES`] requests, the mean latency is the
//!   latency of this host at low concurrency. It is measured when the process turns hot and again every
//!   [`REPROBE_EVERY`] while hot, so a slower database or a heavier route mix moves the baseline (a running minimum
//!   could not learn that; a running mean under overload drifts up with the queue it is meant to detect).
//! - **gradient**: every [`WINDOW`], `limit = limit × clamp((minRTT × (1 + BUFFER)) / sampleRTT, 0.5, 1.5) + √limit`,
//!   bounded by `[min_limit, max_limit]`. More concurrency than the CPU can run only queues, which shows as
//!   latency, which lowers the limit.
//! - **priority**: `public` callers may hold the limit, `staff` callers [`STAFF_HEADROOM`] times it, so a public
//!   flood that fills the limit still leaves staff slots free, and without staff the public get all of it. The
//!   class is known here, before authentication (which runs after shedding), only for tokens the verifier cache
//!   has already verified (`TokenVerifier::known`), or from `X-User-Type` in auth mode `off`; anything else counts
//!   as public. A forged claim therefore never buys priority. It is asked only while a limit is enforced.
//!
//! A refusal costs no store call, no token check and no audit event, so refusing the excess leaves the CPU to the
//! admitted requests. Root routes are never shed (this is a route layer of `/api` only).

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// `Retry-After` of a shed request (API.md §1.9).
const SHED_RETRY_AFTER: u64 = 2;
/// Length of one latency sample window.
pub const WINDOW: Duration = Duration::from_millis(100);
/// Fewest completed requests a window needs before it moves the limit (a quiet window says nothing).
const MIN_WINDOW_SAMPLES: u32 = 10;
/// Requests measured at `min_limit` for one minRTT.
pub const PROBE_SAMPLES: u32 = 50;
/// How long a probe may last before it settles for what it has (at least one sample).
const PROBE_FOR_AT_MOST: Duration = Duration::from_millis(500);
/// How often minRTT is measured again while the process stays hot.
pub const REPROBE_EVERY: Duration = Duration::from_secs(10);
/// Latency above minRTT that is still "no queue": Envoy's default buffer is 25 %.
const BUFFER: f64 = 0.25;
/// How far past the limit staff requests are still admitted (public ones stop at the limit).
pub const STAFF_HEADROOM: f64 = 1.5;

/// Bounds of the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitBounds {
    pub min: u32,
    pub max: u32,
}

#[derive(Debug)]
enum Phase {
    /// Not hot: everything is admitted; the limit is not learnt (latency then is the database's, not ours).
    Cool,
    /// Measuring minRTT at `min` concurrency.
    Probing { started: Instant, sum: f64, n: u32 },
    /// Enforcing `limit`, learning from each window.
    Limiting { limit: f64, min_rtt: f64, probed_at: Instant, window_start: Instant, sum: f64, n: u32 },
}

/// The adaptive limit and the requests it admitted.
#[derive(Debug)]
pub struct ConcurrencyLimit {
    bounds: LimitBounds,
    in_flight: AtomicU32,
    /// The enforced limit (0 while cool: no limit), read without the lock by admission.
    enforced: AtomicU32,
    /// Whether the CPU signal said hot when last followed (so the lock is taken only when it changes).
    hot: AtomicBool,
    phase: Mutex<Phase>,
}

/// An admitted request; dropping it ends the request, and [`Admitted::done`] also reports its latency.
#[must_use]
pub struct Admitted<'a> {
    limit: &'a ConcurrencyLimit,
    started: Instant,
}

impl Admitted<'_> {
    /// The request completed (any status but a refusal): its latency feeds the limit.
    pub fn done(self, now: Instant) {
        self.limit.sample(now.duration_since(self.started).as_secs_f64(), now);
    }
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.limit.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl ConcurrencyLimit {
    pub fn new(bounds: LimitBounds) -> Self {
        let bounds = LimitBounds { min: bounds.min.max(1), max: bounds.max.max(bounds.min.max(1)) };
        ::metrics::gauge!("overload_concurrency_limit").set(0.0);
        for class in ["staff", "public"] {
            ::metrics::counter!("overload_rejections_total", "class" => class).absolute(0);
        }
        Self {
            bounds,
            in_flight: AtomicU32::new(0),
            enforced: AtomicU32::new(0),
            hot: AtomicBool::new(false),
            phase: Mutex::new(Phase::Cool),
        }
    }

    /// The limit being enforced, `None` while cool.
    pub fn enforced(&self) -> Option<u32> {
        Some(self.enforced.load(Ordering::Relaxed)).filter(|&l| l > 0)
    }

    /// Requests admitted and not finished.
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Admits a request, or refuses it (`Err` says whether it was staff) when its class is at its share of the
    /// limit. `staff` tells the caller's class; it is asked only while a limit is enforced.
    pub fn try_admit(&self, staff: impl FnOnce() -> bool, now: Instant) -> Result<Admitted<'_>, bool> {
        let total = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        let admitted = Admitted { limit: self, started: now };
        let Some(limit) = self.enforced() else { return Ok(admitted) };
        let staff = staff();
        let cap = if staff { staff_cap(limit) } else { limit };
        if total <= cap { Ok(admitted) } else { Err(staff) }
    }

    /// Follows the CPU signal: `hot` starts a probe (limiting), not hot stops limiting.
    pub fn set_hot(&self, hot: bool, now: Instant) {
        // A plain load first: every request asks, and the answer rarely changes.
        if self.hot.load(Ordering::Relaxed) == hot || self.hot.swap(hot, Ordering::Relaxed) == hot {
            return;
        }
        let mut phase = self.phase.lock().unwrap_or_else(PoisonError::into_inner);
        match (&*phase, hot) {
            (Phase::Cool, true) => {
                *phase = Phase::Probing { started: now, sum: 0.0, n: 0 };
                self.publish(f64::from(self.bounds.min));
            }
            (Phase::Probing { .. } | Phase::Limiting { .. }, false) => {
                *phase = Phase::Cool;
                self.enforced.store(0, Ordering::Relaxed);
                ::metrics::gauge!("overload_concurrency_limit").set(0.0);
            }
            _ => {}
        }
    }

    /// One completed request's latency, in seconds.
    fn sample(&self, secs: f64, now: Instant) {
        let mut phase = self.phase.lock().unwrap_or_else(PoisonError::into_inner);
        match &mut *phase {
            Phase::Cool => {}
            Phase::Probing { started, sum, n } => {
                *sum += secs;
                *n += 1;
                if *n >= PROBE_SAMPLES || now.duration_since(*started) >= PROBE_FOR_AT_MOST {
                    let min_rtt = *sum / f64::from(*n);
                    // Start from what the probe just sustained and let the gradient open it up.
                    let limit = f64::from(self.bounds.min);
                    *phase = Phase::Limiting { limit, min_rtt, probed_at: now, window_start: now, sum: 0.0, n: 0 };
                    self.publish(limit);
                }
            }
            Phase::Limiting { limit, min_rtt, probed_at, window_start, sum, n } => {
                *sum += secs;
                *n += 1;
                if now.duration_since(*window_start) < WINDOW || *n < MIN_WINDOW_SAMPLES {
                    return;
                }
                let sample_rtt = *sum / f64::from(*n);
                let gradient = (*min_rtt * (1.0 + BUFFER) / sample_rtt.max(f64::MIN_POSITIVE)).clamp(0.5, 1.5);
                let next =
                    (*limit * gradient + limit.sqrt()).clamp(f64::from(self.bounds.min), f64::from(self.bounds.max));
                if now.duration_since(*probed_at) >= REPROBE_EVERY {
                    *phase = Phase::Probing { started: now, sum: 0.0, n: 0 };
                    self.publish(f64::from(self.bounds.min));
                } else {
                    *limit = next;
                    *window_start = now;
                    *sum = 0.0;
                    *n = 0;
                    self.publish(next);
                }
            }
        }
    }

    fn publish(&self, limit: f64) {
        let whole = (limit.round() as u32).max(1);
        self.enforced.store(whole, Ordering::Relaxed);
        ::metrics::gauge!("overload_concurrency_limit").set(f64::from(whole));
    }
}

/// Staff callers' part of `limit`: the limit and the headroom above it.
fn staff_cap(limit: u32) -> u32 {
    (f64::from(limit) * STAFF_HEADROOM).ceil() as u32
}

/// Sheds the routed `/api` requests above the limit while the process is CPU-bound (see the module doc).
pub async fn shed(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = &state.resilience.overload;
    let now = Instant::now();
    limit.set_hot(state.resilience.cpu.is_shedding(), now);
    let admitted = limit.try_admit(|| crate::middleware::auth::known_staff(&state, req.headers()), now);
    let admitted = match admitted {
        Ok(admitted) => admitted,
        Err(staff) => {
            let class = if staff { "staff" } else { "public" };
            ::metrics::counter!("overload_rejections_total", "class" => class).increment(1);
            ::metrics::counter!("cpu_circuit_breaker_rejections_total").increment(1);
            return ApiError::new(ErrorCode::SERVICE_OVERLOADED)
                .with_detail(format!("Current CPU: {:.1}%", state.resilience.cpu.current()))
                .with_retry_after(SHED_RETRY_AFTER)
                .into_response();
        }
    };
    let response = next.run(req).await;
    admitted.done(Instant::now());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: LimitBounds = LimitBounds { min: 4, max: 100 };

    /// Feeds `n` samples of `secs` latency, `every` apart, starting at `at`; returns the time after.
    fn feed(l: &ConcurrencyLimit, at: Instant, n: u32, secs: f64, every: Duration) -> Instant {
        let mut now = at;
        for _ in 0..n {
            l.sample(secs, now);
            now += every;
        }
        now
    }

    #[test]
    fn cool_admits_everything_and_hot_probes_at_the_minimum_first() {
        let l = ConcurrencyLimit::new(BOUNDS);
        let now = Instant::now();
        let held: Vec<_> = (0..200).map(|_| l.try_admit(|| false, now).expect("cool admits")).collect();
        assert_eq!(l.in_flight(), 200);
        drop(held);
        assert_eq!(l.in_flight(), 0);
        l.set_hot(true, now);
        assert_eq!(l.enforced(), Some(4));
        let public: Vec<_> = (0..4).filter_map(|_| l.try_admit(|| false, now).ok()).collect();
        assert_eq!(public.len(), 4, "the whole limit");
        assert!(l.try_admit(|| false, now).is_err(), "the fifth is refused");
        assert_eq!(l.in_flight(), 4, "a refusal leaves nothing counted");
        drop(public);
        l.set_hot(false, now);
        assert_eq!(l.enforced(), None);
    }

    #[test]
    fn public_callers_fill_the_limit_and_staff_still_get_the_headroom_above_it() {
        let l = ConcurrencyLimit::new(BOUNDS);
        let now = Instant::now();
        l.set_hot(true, now);
        let public: Vec<_> = (0..10).filter_map(|_| l.try_admit(|| false, now).ok()).collect();
        assert_eq!(public.len(), 4, "public up to the limit of 4");
        let staff: Vec<_> = (0..10).filter_map(|_| l.try_admit(|| true, now).ok()).collect();
        assert_eq!(staff.len(), 2, "staff up to 1.5 × 4");
        assert!(l.try_admit(|| false, now).is_err());
    }

    #[test]
    fn latency_at_the_baseline_opens_the_limit_and_queueing_closes_it() {
        let l = ConcurrencyLimit::new(BOUNDS);
        let start = Instant::now();
        l.set_hot(true, start);
        let ms = Duration::from_millis(1);
        let now = feed(&l, start, PROBE_SAMPLES, 0.002, ms);
        assert_eq!(l.enforced(), Some(4), "the probe ends at the minimum");
        // Latency at minRTT: each window grows the limit.
        let mut now = now;
        let mut last = 4;
        for _ in 0..5 {
            now = feed(&l, now, 20, 0.002, Duration::from_millis(6));
            let limit = l.enforced().unwrap();
            assert!(limit > last, "{limit} after {last}");
            last = limit;
        }
        // Latency at ten times minRTT (a queue): the limit halves (plus headroom) each window down to the bound.
        for _ in 0..20 {
            now = feed(&l, now, 20, 0.02, Duration::from_millis(6));
        }
        assert_eq!(l.enforced(), Some(BOUNDS.min));
    }

    #[test]
    fn the_baseline_is_measured_again_while_hot() {
        let l = ConcurrencyLimit::new(BOUNDS);
        let start = Instant::now();
        l.set_hot(true, start);
        let now = feed(&l, start, PROBE_SAMPLES, 0.002, Duration::from_millis(1));
        let now = feed(&l, now, 400, 0.002, Duration::from_millis(6));
        assert!(l.enforced().unwrap() > BOUNDS.min);
        let later = feed(&l, now + REPROBE_EVERY, MIN_WINDOW_SAMPLES, 0.002, Duration::ZERO);
        assert_eq!(l.enforced(), Some(BOUNDS.min), "probing again at the minimum");
        feed(&l, later, PROBE_SAMPLES, 0.002, Duration::ZERO);
        assert_eq!(l.enforced(), Some(BOUNDS.min), "limiting again from the minimum");
    }

    #[test]
    fn a_slow_probe_settles_for_what_it_has() {
        let l = ConcurrencyLimit::new(BOUNDS);
        let start = Instant::now();
        l.set_hot(true, start);
        l.sample(0.3, start + PROBE_FOR_AT_MOST);
        let phase = l.phase.lock().unwrap();
        assert!(matches!(*phase, Phase::Limiting { min_rtt, .. } if (min_rtt - 0.3).abs() < 1e-9));
    }
}
