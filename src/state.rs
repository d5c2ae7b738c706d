//! Shared application state handed to every handler.

use std::sync::Arc;

use crate::audit::recorder::Recorder;
use crate::audit::sequencer::Sequencer;
use crate::audit::{Chain, CheckpointKey};
use crate::auth::Auth;
use crate::clock::Clock;
use crate::config::{ResilienceSettings, Settings};
use crate::middleware::cpu::{self, CpuShedder};
use crate::middleware::overload::ConcurrencyLimit;
use crate::middleware::traffic::TrafficClasses;
use crate::service::Service;
use crate::store::guarded::{Guarded, guard_clinic, guard_records};
use crate::store::{AuditStore, ClinicStore, RecordStore};

/// Everything a handler needs, behind one `Arc`: axum clones the state for every middleware and extractor of
/// every request, and a clone of the parts themselves (some twenty `Arc`s) was 6 % of the CPU of a shed request.
#[derive(Clone)]
pub struct AppState(Arc<AppStateParts>);

impl std::ops::Deref for AppState {
    type Target = AppStateParts;

    fn deref(&self) -> &AppStateParts {
        &self.0
    }
}

/// The parts of [`AppState`]: the two stores (behind their guards), the clock and the validated settings.
pub struct AppStateParts {
    /// R: patients, doctors, departments, appointments. Every call goes through `resilience.clinic`.
    pub clinic: Arc<dyn ClinicStore>,
    /// D: medical records and invoices. Every call goes through `resilience.records`.
    pub records: Arc<dyn RecordStore>,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<Settings>,
    /// Breakers, bulkheads and the CPU shedder, for the edge middleware and `/health`.
    pub resilience: Arc<Resilience>,
    /// The use cases, over the guarded stores. Handlers call only these.
    pub service: Service,
    /// Token verification, revocations and rate limits (SECURITY.md §1–4).
    pub auth: Auth,
    /// Stores the audit events of requests that wrote nothing (SECURITY.md §5).
    pub recorder: Recorder,
    /// Set on SIGTERM: readiness answers 503 and connections are closed after each answer (`GOSPITAL_SHUTDOWN_DELAY_MS`).
    draining: std::sync::atomic::AtomicBool,
}

impl AppStateParts {
    /// Whether the instance is leaving: readiness fails so balancers stop sending it requests.
    pub fn draining(&self) -> bool {
        self.draining.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Starts the drain (see [`Self::draining`]); requests keep being served.
    pub fn start_draining(&self) {
        self.draining.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The resilience mechanisms of DESIGN.md §3 that outlive a request.
#[derive(Debug)]
pub struct Resilience {
    /// R behind its breaker, bulkhead and timeout; `inner()` is the bare store (readiness checks).
    pub clinic: Arc<Guarded<Arc<dyn ClinicStore>>>,
    /// D behind its breaker, bulkhead and timeout.
    pub records: Arc<Guarded<Arc<dyn RecordStore>>>,
    /// `staff` and `public` in-flight caps at the edge.
    pub traffic: TrafficClasses,
    /// Whether the process is CPU-bound (the signal that turns the concurrency limit on).
    pub cpu: Arc<CpuShedder>,
    /// The adaptive concurrency limit of routed `/api` requests.
    pub overload: ConcurrencyLimit,
}

impl Resilience {
    /// Guards both bare stores. Starts nothing: see [`AppState::new`] for the CPU sampler.
    pub fn new(clinic: Arc<dyn ClinicStore>, records: Arc<dyn RecordStore>, settings: &ResilienceSettings) -> Self {
        // The breakers, bulkheads and shedder export their starting values as they are built; the recorder must
        // exist by then, or those values go nowhere and the series appear only at the first event.
        crate::middleware::metrics::install();
        Self {
            clinic: guard_clinic(clinic, settings),
            records: guard_records(records, settings),
            traffic: TrafficClasses::new(settings.staff_max_in_flight, settings.public_max_in_flight),
            cpu: Arc::new(CpuShedder::new(settings.cpu_shed_open, settings.cpu_shed_close)),
            overload: ConcurrencyLimit::new(settings.overload_limits),
        }
    }
}

impl AppState {
    /// The state over two bare stores: wraps each in its guard and starts the CPU sampler (when enabled), the
    /// audit writers and sequencers (checkpoints signed with `audit_key`), the revocation refresh and the rate
    /// limiter's janitor (when authenticating). Must run inside the Tokio runtime.
    pub fn new(
        clinic: Arc<dyn ClinicStore>,
        records: Arc<dyn RecordStore>,
        clock: Arc<dyn Clock>,
        settings: Arc<Settings>,
        auth: Auth,
        audit_key: Arc<CheckpointKey>,
    ) -> Self {
        let resilience = Resilience::new(clinic, records, &settings.resilience);
        resilience.cpu.spawn_sampler(cpu::SAMPLE_EVERY);
        let clinic: Arc<dyn ClinicStore> = resilience.clinic.clone();
        let records: Arc<dyn RecordStore> = resilience.records.clone();
        if auth.verifier.is_some() {
            auth.revocations.spawn_refresh(clinic.clone());
        }
        if let Some(limiter) = &auth.limiter {
            limiter.spawn_janitor();
        }
        // The audit writers go through their store's breaker (a store that cannot keep its trail is failing, and an
        // open breaker refuses the reads waiting on it at once) but not its bulkhead (see `Guarded`). The
        // sequencers work in the background on the bare stores, as readiness checks do, each round with a time
        // limit of its own: they never move a breaker.
        let r: Arc<dyn AuditStore> = resilience.clinic.clone();
        let d: Arc<dyn AuditStore> = resilience.records.clone();
        let recorder = Recorder::start(r, d, settings.resilience.store_call_timeout);
        let bare_r: Arc<dyn AuditStore> = resilience.clinic.inner().clone();
        let bare_d: Arc<dyn AuditStore> = resilience.records.inner().clone();
        // One name for this instance in both leases, so its log lines tell which instance sequences what.
        let holder = ulid::Ulid::new().to_string();
        tracing::info!(holder = %holder, "audit sequencers started");
        Sequencer::new(Chain::R, bare_r, audit_key.clone(), holder.clone()).spawn();
        Sequencer::new(Chain::D, bare_d, audit_key, holder).spawn();
        Self(Arc::new(AppStateParts {
            service: Service::new(clinic.clone(), records.clone(), settings.clone()),
            clinic,
            records,
            clock,
            settings,
            resilience: Arc::new(resilience),
            auth,
            recorder,
            draining: std::sync::atomic::AtomicBool::new(false),
        }))
    }
}
