//! `Guarded<S>`: the resilience decorator every store call goes through (DESIGN.md §3, STYLE.md §3).
//!
//! It implements the same ports as the store it wraps and adds, in this order:
//! 1. the store's circuit breaker: when open, the call is refused at once with [`StoreError::CircuitOpen`];
//! 2. a bulkhead (a semaphore capping in-flight calls; a full one is waited on for at most `max_wait`, then the
//!    call is refused with `Unavailable`, so requests never pile up behind a slow store);
//! 3. a per-call timeout: the time the request has left (`crate::deadline`), or the configured call timeout
//!    when that is tighter. A call that runs out of it is abandoned (its transaction rolls back) and reported as
//!    `DeadlineExceeded` (504) or `Unavailable` (503) respectively.
//!
//! Only infrastructure failures (`Unavailable` from the store, and both timeouts) count as breaker failures: a
//! store that stalls must trip its breaker. A call cut by the request deadline after less than
//! [`MIN_BUDGET_TO_BLAME`] counts as nothing (the request, not the store, used the time up). Every other answer, `NotFound`, `Conflict`, `Stale`, `Rejected` and
//! `Internal` included, proves the store reachable and counts as a success; a call dropped half-way from outside
//! (a client gone) counts as nothing. Refusals by the breaker or the bulkhead are not outcomes either: they never
//! reached the store.
//! `ping` bypasses all three, so readiness checks see the store itself and never trip the breaker; a probe that
//! finds the store answering may only half-open an open one early (`CircuitBreaker::store_answered`).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::NaiveDate;
use tokio::sync::{Semaphore, SemaphorePermit};

use super::circuit_breaker::{BreakerConfig, BreakerState, CircuitBreaker, Outcome, SystemTicker, Ticker};
use super::{
    AppointmentFilter, AppointmentStore, AuditStore, BusyInterval, ClaimOutcome, ClinicStore, Completion, CursorKey,
    DateRange, DepartmentStore, DoctorFilter, DoctorStore, IdempotencyClaim, IdempotencyStore, InvoiceStore, KeyPage,
    MedicalRecordStore, Page, PageRequest, PatientFilter, PatientStore, RecordStore, RevocationStore, StoreError,
    StoreResult,
};
use crate::audit::{AuditEvent, AuditFilter, ChainHead, Checkpoint};
use crate::config::ResilienceSettings;
use crate::domain::appointment::Appointment;
use crate::domain::department::Department;
use crate::domain::doctor::Doctor;
use crate::domain::formats::Timestamp;
use crate::domain::ids::{AppointmentId, DepartmentId, DoctorId, InvoiceId, PatientId, RecordId};
use crate::domain::invoice::{Invoice, PaymentStatus};
use crate::domain::medical_record::MedicalRecord;
use crate::domain::patient::Patient;
use crate::domain::revocation::Revocation;

/// A named cap on in-flight work, reported as `bulkhead_in_flight{pool}` and `bulkhead_rejections_total{pool}`.
/// Used by the store decorator (pools `clinic`, `records`) and by the edge traffic classes (`staff`, `public`).
#[derive(Debug)]
pub struct Bulkhead {
    pool: &'static str,
    slots: Semaphore,
    max_wait: Duration,
}

/// A held bulkhead slot; released (and the gauge lowered) on drop.
#[derive(Debug)]
pub struct Slot<'a> {
    pool: &'static str,
    _permit: SemaphorePermit<'a>,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        ::metrics::gauge!("bulkhead_in_flight", "pool" => self.pool).decrement(1.0);
    }
}

impl Bulkhead {
    /// `size` slots (at least 1); a full bulkhead is waited on for at most `max_wait`.
    pub fn new(pool: &'static str, size: u32, max_wait: Duration) -> Self {
        ::metrics::gauge!("bulkhead_in_flight", "pool" => pool).set(0.0);
        ::metrics::counter!("bulkhead_rejections_total", "pool" => pool).absolute(0);
        let size = usize::try_from(size.max(1)).unwrap_or(1);
        Self { pool, slots: Semaphore::new(size), max_wait }
    }

    fn admitted<'a>(&'a self, permit: SemaphorePermit<'a>) -> Slot<'a> {
        ::metrics::gauge!("bulkhead_in_flight", "pool" => self.pool).increment(1.0);
        Slot { pool: self.pool, _permit: permit }
    }

    fn rejected(&self) {
        ::metrics::counter!("bulkhead_rejections_total", "pool" => self.pool).increment(1);
    }

    /// A slot, waiting at most `max_wait` (and never past `deadline`) for one; `None` (and a rejection
    /// counted) when none freed up.
    pub async fn enter(&self, deadline: Option<Duration>) -> Option<Slot<'_>> {
        let wait = deadline.map_or(self.max_wait, |left| left.min(self.max_wait));
        let permit = match self.slots.try_acquire() {
            Ok(p) => Some(p),
            Err(_) => tokio::time::timeout(wait, self.slots.acquire()).await.ok().and_then(Result::ok),
        };
        match permit {
            Some(p) => Some(self.admitted(p)),
            None => {
                self.rejected();
                None
            }
        }
    }

    /// A slot now or `None` (and a rejection counted): the edge never queues.
    pub fn try_enter(&self) -> Option<Slot<'_>> {
        if let Ok(p) = self.slots.try_acquire() {
            Some(self.admitted(p))
        } else {
            self.rejected();
            None
        }
    }

    /// Slots free right now.
    pub fn available(&self) -> usize {
        self.slots.available_permits()
    }
}

/// Settings of one store's guard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GuardConfig {
    pub breaker: BreakerConfig,
    /// Bulkhead size: calls in flight at once.
    pub bulkhead: u32,
    /// Longest wait for a bulkhead slot.
    pub max_wait: Duration,
    /// Upper bound of one call.
    pub call_timeout: Duration,
}

/// A store wrapped in its breaker, bulkhead and timeout. See the module documentation.
pub struct Guarded<S> {
    inner: S,
    store: &'static str,
    breaker: CircuitBreaker,
    bulkhead: Bulkhead,
    call_timeout: Duration,
}

impl<S> std::fmt::Debug for Guarded<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guarded")
            .field("store", &self.store)
            .field("breaker", &self.breaker.state())
            .field("bulkhead", &self.bulkhead)
            .field("call_timeout", &self.call_timeout)
            .finish_non_exhaustive()
    }
}

/// Marks a call abandoned half-way (future dropped) in `store_calls_total` as `cancelled`.
struct InFlightCall {
    store: &'static str,
    op: &'static str,
    finished: bool,
}

impl Drop for InFlightCall {
    fn drop(&mut self) {
        if !self.finished {
            calls_total(self.store, self.op, "cancelled");
        }
    }
}

/// Guarded operations of each store: their `store_calls_total` series are exported at 0 from the start (for
/// [`RESILIENCE_OUTCOMES`]), so a dashboard shows 0, not "No data", until the first such call.
const IDEMPOTENCY_OPS: &[&str] = &["claim_idempotency", "release_idempotency", "purge_idempotency"];
const AUDIT_OPS: &[&str] = &[
    "insert_audit_events",
    "list_audit_events",
    "acquire_audit_lease",
    "audit_head",
    "unsequenced_audit_events",
    "count_unsequenced_audit_events",
    "sequence_audit_events",
    "insert_audit_checkpoint",
    "last_audit_checkpoint",
    "audit_chain",
    "audit_checkpoints",
];
const CLINIC_OPS: &[&str] = &[
    "insert_patient",
    "get_patient",
    "list_patients",
    "update_patient",
    "insert_doctor",
    "get_doctor",
    "list_doctors",
    "list_department_doctors",
    "update_doctor",
    "list_departments",
    "get_department",
    "insert_department",
    "update_department",
    "book_appointment",
    "get_appointment",
    "list_appointments",
    "update_appointment",
    "doctor_busy_intervals",
    "insert_revocation",
    "list_revocations",
    "revocation_index",
];
const RECORDS_OPS: &[&str] = &[
    "insert_record",
    "get_record",
    "amend_record",
    "list_record_history",
    "list_patient_records",
    "insert_invoice",
    "get_invoice",
    "update_invoice",
    "list_patient_invoices",
];
/// The outcomes a dashboard watches for trouble (and `ok`, the denominator of its rates).
const RESILIENCE_OUTCOMES: &[&str] = &["ok", "unavailable", "timeout", "circuit_open", "bulkhead_full", "cancelled"];

/// The guarded operations of `store` (`clinic` or `records`); empty for any other label (tests).
fn ops_of(store: &str) -> impl Iterator<Item = &'static str> {
    let own: &[&str] = match store {
        "clinic" => CLINIC_OPS,
        "records" => RECORDS_OPS,
        _ => &[],
    };
    let shared: &[&[&str]] = if own.is_empty() { &[] } else { &[IDEMPOTENCY_OPS, AUDIT_OPS] };
    own.iter().chain(shared.iter().flat_map(|ops| ops.iter())).copied()
}

fn calls_total(store: &'static str, op: &'static str, outcome: &'static str) {
    debug_assert!(
        !matches!(store, "clinic" | "records") || ops_of(store).any(|o| o == op),
        "{store} op {op} is missing from its list of operations"
    );
    ::metrics::counter!("store_calls_total", "store" => store, "op" => op, "outcome" => outcome).increment(1);
}

/// The `outcome` label of a store error, and whether the breaker counts it as a failure.
fn classify(err: &StoreError) -> (&'static str, bool) {
    match err {
        StoreError::NotFound => ("not_found", false),
        StoreError::Conflict => ("conflict", false),
        StoreError::Stale => ("stale", false),
        StoreError::Rejected(_) => ("rejected", false),
        StoreError::ClaimLost => ("claim_lost", false),
        StoreError::Internal(_) => ("internal", false),
        StoreError::Unavailable(_) => ("unavailable", true),
        // Only a nested guard could answer these; it is that guard's verdict, not this store's failure.
        StoreError::CircuitOpen { .. } => ("circuit_open", false),
        StoreError::DeadlineExceeded { .. } => ("timeout", false),
    }
}

impl<S> Guarded<S> {
    /// Wraps `inner`. `store` labels the metrics (`clinic` or `records`); `gauge` is the breaker's state gauge
    /// (`mysql_circuit_breaker_state` for R, `dynamodb_circuit_breaker_state` for D, whatever the backend).
    pub fn new(inner: S, store: &'static str, gauge: &'static str, config: GuardConfig) -> Self {
        Self::with_ticker(inner, store, gauge, config, Box::new(SystemTicker))
    }

    /// As [`Guarded::new`], with the breaker's clock injected (tests).
    pub fn with_ticker(
        inner: S,
        store: &'static str,
        gauge: &'static str,
        config: GuardConfig,
        ticker: Box<dyn Ticker>,
    ) -> Self {
        for op in ops_of(store) {
            for outcome in RESILIENCE_OUTCOMES {
                ::metrics::counter!("store_calls_total", "store" => store, "op" => op, "outcome" => *outcome)
                    .absolute(0);
            }
        }
        Self {
            inner,
            store,
            breaker: CircuitBreaker::new(config.breaker, ticker, store, gauge),
            bulkhead: Bulkhead::new(store, config.bulkhead, config.max_wait),
            call_timeout: config.call_timeout,
        }
    }

    /// The wrapped store, for calls that must bypass the guard (readiness checks).
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The breaker's state, for `/health`; never counts as a call.
    pub fn state(&self) -> BreakerState {
        self.breaker.state()
    }

    /// The breaker itself.
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// The bulkhead itself.
    pub fn bulkhead(&self) -> &Bulkhead {
        &self.bulkhead
    }

    /// Runs one store call through breaker, bulkhead and timeout.
    async fn call<T>(&self, op: &'static str, fut: impl Future<Output = StoreResult<T>> + Send) -> StoreResult<T> {
        self.call_with(op, fut, true).await
    }

    /// As [`Self::call`] without the bulkhead: for the audit writer, one task per store and so its own bulkhead of
    /// one. Taking request slots would let a busy store starve it (and every read waits for it), and holding one
    /// through a stall would take it from requests.
    async fn call_unbounded<T>(
        &self,
        op: &'static str,
        fut: impl Future<Output = StoreResult<T>> + Send,
    ) -> StoreResult<T> {
        self.call_with(op, fut, false).await
    }

    async fn call_with<T>(
        &self,
        op: &'static str,
        fut: impl Future<Output = StoreResult<T>> + Send,
        bulkhead: bool,
    ) -> StoreResult<T> {
        let permit = match self.breaker.acquire() {
            Ok(p) => p,
            Err(refused) => {
                calls_total(self.store, op, "circuit_open");
                return Err(StoreError::CircuitOpen { retry_after_secs: refused.retry_after_secs });
            }
        };
        let deadline = crate::deadline::current();
        let _slot = if bulkhead {
            let Some(slot) = self.bulkhead.enter(deadline.map(|d| d.remaining())).await else {
                // Dropping the permit frees a half-open probe slot without an outcome: the store was never asked.
                drop(permit);
                calls_total(self.store, op, "bulkhead_full");
                return Err(StoreError::Unavailable(format!("{} bulkhead full", self.store)));
            };
            Some(slot)
        } else {
            None
        };
        let mut tracker = InFlightCall { store: self.store, op, finished: false };
        let started = Instant::now();
        // The request's time left bounds the call when it is the tighter limit; running out of it is the
        // request's 504, and still a failure of a store that did not answer in the time it had.
        let left = deadline.map(|d| (d, d.remaining()));
        let (limit, bound_by_request) = match left {
            Some((d, left)) if left <= self.call_timeout => (left, Some(d)),
            _ => (self.call_timeout, None),
        };
        let result = tokio::time::timeout(limit, fut).await;
        ::metrics::histogram!("store_call_duration_seconds", "store" => self.store, "op" => op)
            .record(started.elapsed().as_secs_f64());
        // `verdict`: the breaker's outcome, `None` when the call proves nothing either way.
        let took = started.elapsed();
        let (result, outcome, verdict) = match result {
            Ok(Ok(value)) => (Ok(value), "ok", Some(Outcome::Success)),
            Ok(Err(err)) => {
                let (outcome, failed) = classify(&err);
                let verdict = match (failed, took < FAST_FAILURE) {
                    (false, _) => Outcome::Success,
                    (true, true) => Outcome::FastFailure,
                    (true, false) => Outcome::SlowFailure,
                };
                (Err(err), outcome, Some(verdict))
            }
            Err(_) => match bound_by_request {
                // A call left with only a sliver of the request's budget (earlier work used it up) says nothing
                // about the store; blaming it would let one slow request trip a healthy store's breaker.
                Some(d) => {
                    let verdict = (limit >= MIN_BUDGET_TO_BLAME).then_some(Outcome::SlowFailure);
                    (Err(StoreError::DeadlineExceeded { budget_ms: d.budget_ms() }), "timeout", verdict)
                }
                None => {
                    let ms = self.call_timeout.as_millis();
                    let cause = format!("{} {op} timed out after {ms} ms", self.store);
                    (Err(StoreError::Unavailable(cause)), "timeout", Some(Outcome::SlowFailure))
                }
            },
        };
        match verdict {
            Some(verdict) => permit.record(verdict),
            None => drop(permit),
        }
        tracker.finished = true;
        calls_total(self.store, op, outcome);
        result
    }
}

/// A failure faster than this is a dead peer (refused, reset, an error answered at once): it extends the
/// breaker's streak of failures in a row. Slower ones (lock waits, pool waits) count only for its rate.
const FAST_FAILURE: Duration = Duration::from_millis(250);

/// A call cut by the request deadline counts against the store only if it was given at least this long.
pub const MIN_BUDGET_TO_BLAME: Duration = Duration::from_millis(100);

/// Gauge of the R breaker (named after the Go original's MySQL, whatever the backend).
pub const CLINIC_GAUGE: &str = "mysql_circuit_breaker_state";
/// Gauge of the D breaker (named after the Go original's DynamoDB, whatever the backend).
pub const RECORDS_GAUGE: &str = "dynamodb_circuit_breaker_state";

fn guard_config(settings: &ResilienceSettings, bulkhead: u32) -> GuardConfig {
    GuardConfig {
        breaker: settings.breaker,
        bulkhead,
        max_wait: settings.bulkhead_wait,
        call_timeout: settings.store_call_timeout,
    }
}

/// R behind its guard (metrics label `clinic`).
pub fn guard_clinic(inner: Arc<dyn ClinicStore>, settings: &ResilienceSettings) -> Arc<Guarded<Arc<dyn ClinicStore>>> {
    Arc::new(Guarded::new(inner, "clinic", CLINIC_GAUGE, guard_config(settings, settings.clinic_bulkhead)))
}

/// D behind its guard (metrics label `records`).
pub fn guard_records(inner: Arc<dyn RecordStore>, settings: &ResilienceSettings) -> Arc<Guarded<Arc<dyn RecordStore>>> {
    Arc::new(Guarded::new(inner, "records", RECORDS_GAUGE, guard_config(settings, settings.records_bulkhead)))
}

#[async_trait]
impl PatientStore for Guarded<Arc<dyn ClinicStore>> {
    async fn insert_patient(
        &self,
        patient: &Patient,
        done: Option<&Completion>,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        self.call("insert_patient", self.inner.insert_patient(patient, done, event)).await
    }
    async fn get_patient(&self, id: &PatientId) -> StoreResult<Option<Patient>> {
        self.call("get_patient", self.inner.get_patient(id)).await
    }
    async fn list_patients(&self, filter: &PatientFilter, page: PageRequest) -> StoreResult<Page<Patient>> {
        self.call("list_patients", self.inner.list_patients(filter, page)).await
    }
    async fn update_patient(
        &self,
        patient: &Patient,
        expected_version: i64,
        cancel_from: Option<Timestamp>,
        event: &AuditEvent,
    ) -> StoreResult<u64> {
        self.call("update_patient", self.inner.update_patient(patient, expected_version, cancel_from, event)).await
    }
}

#[async_trait]
impl DoctorStore for Guarded<Arc<dyn ClinicStore>> {
    async fn insert_doctor(&self, doctor: &Doctor, done: Option<&Completion>, event: &AuditEvent) -> StoreResult<()> {
        self.call("insert_doctor", self.inner.insert_doctor(doctor, done, event)).await
    }
    async fn get_doctor(&self, id: &DoctorId) -> StoreResult<Option<Doctor>> {
        self.call("get_doctor", self.inner.get_doctor(id)).await
    }
    async fn list_doctors(&self, filter: &DoctorFilter, page: PageRequest) -> StoreResult<Page<Doctor>> {
        self.call("list_doctors", self.inner.list_doctors(filter, page)).await
    }
    async fn list_department_doctors(&self, department: &DepartmentId) -> StoreResult<Vec<Doctor>> {
        self.call("list_department_doctors", self.inner.list_department_doctors(department)).await
    }
    async fn update_doctor(&self, doctor: &Doctor, expected_version: i64, event: &AuditEvent) -> StoreResult<()> {
        self.call("update_doctor", self.inner.update_doctor(doctor, expected_version, event)).await
    }
}

#[async_trait]
impl DepartmentStore for Guarded<Arc<dyn ClinicStore>> {
    async fn list_departments(&self) -> StoreResult<Vec<Department>> {
        self.call("list_departments", self.inner.list_departments()).await
    }
    async fn get_department(&self, id: &DepartmentId) -> StoreResult<Option<Department>> {
        self.call("get_department", self.inner.get_department(id)).await
    }
    async fn insert_department(
        &self,
        department: &Department,
        done: Option<&Completion>,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        self.call("insert_department", self.inner.insert_department(department, done, event)).await
    }
    async fn update_department(
        &self,
        department: &Department,
        expected_version: i64,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        self.call("update_department", self.inner.update_department(department, expected_version, event)).await
    }
}

#[async_trait]
impl AppointmentStore for Guarded<Arc<dyn ClinicStore>> {
    async fn book_appointment(
        &self,
        appointment: &Appointment,
        done: Option<&Completion>,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        self.call("book_appointment", self.inner.book_appointment(appointment, done, event)).await
    }
    async fn get_appointment(&self, id: &AppointmentId) -> StoreResult<Option<Appointment>> {
        self.call("get_appointment", self.inner.get_appointment(id)).await
    }
    async fn list_appointments(&self, filter: &AppointmentFilter, page: PageRequest) -> StoreResult<Page<Appointment>> {
        self.call("list_appointments", self.inner.list_appointments(filter, page)).await
    }
    async fn update_appointment(
        &self,
        appointment: &Appointment,
        expected_version: i64,
        reschedule: bool,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        self.call("update_appointment", self.inner.update_appointment(appointment, expected_version, reschedule, event))
            .await
    }
    async fn doctor_busy_intervals(
        &self,
        doctor: &DoctorId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<BusyInterval>> {
        self.call("doctor_busy_intervals", self.inner.doctor_busy_intervals(doctor, from, to)).await
    }
}

/// The idempotency port of either store, guarded like every other call.
macro_rules! guarded_idempotency {
    ($($store:ty),+) => {$(
        #[async_trait]
        impl IdempotencyStore for Guarded<Arc<$store>> {
            async fn claim_idempotency(&self, claim: &IdempotencyClaim) -> StoreResult<ClaimOutcome> {
                self.call("claim_idempotency", self.inner.claim_idempotency(claim)).await
            }
            async fn release_idempotency(&self, scope: &str, token: &str) -> StoreResult<()> {
                self.call("release_idempotency", self.inner.release_idempotency(scope, token)).await
            }
            async fn purge_idempotency(&self, now: Timestamp, limit: u32) -> StoreResult<u64> {
                self.call("purge_idempotency", self.inner.purge_idempotency(now, limit)).await
            }
        }
    )+};
}

guarded_idempotency!(dyn ClinicStore, dyn RecordStore);

/// The audit port of either store, guarded like every other call: a store that fails its audit writes trips its
/// breaker like any other failure.
macro_rules! guarded_audit {
    ($($store:ty),+) => {$(
        #[async_trait]
        impl AuditStore for Guarded<Arc<$store>> {
            async fn insert_audit_events(&self, events: &[AuditEvent]) -> StoreResult<()> {
                self.call_unbounded("insert_audit_events", self.inner.insert_audit_events(events)).await
            }
            async fn list_audit_events(
                &self,
                filter: &AuditFilter,
                limit: u32,
                after: Option<&CursorKey>,
            ) -> StoreResult<KeyPage<AuditEvent>> {
                self.call("list_audit_events", self.inner.list_audit_events(filter, limit, after)).await
            }
            async fn acquire_audit_lease(&self, holder: &str, now: Timestamp, until: Timestamp) -> StoreResult<bool> {
                self.call("acquire_audit_lease", self.inner.acquire_audit_lease(holder, now, until)).await
            }
            async fn audit_head(&self) -> StoreResult<Option<ChainHead>> {
                self.call("audit_head", self.inner.audit_head()).await
            }
            async fn unsequenced_audit_events(&self, limit: u32) -> StoreResult<Vec<AuditEvent>> {
                self.call("unsequenced_audit_events", self.inner.unsequenced_audit_events(limit)).await
            }
            async fn count_unsequenced_audit_events(&self) -> StoreResult<u64> {
                self.call("count_unsequenced_audit_events", self.inner.count_unsequenced_audit_events()).await
            }
            async fn sequence_audit_events(
                &self,
                holder: &str,
                now: Timestamp,
                until: Timestamp,
                placed: &[(String, i64, String)],
            ) -> StoreResult<()> {
                self.call("sequence_audit_events", self.inner.sequence_audit_events(holder, now, until, placed)).await
            }
            async fn insert_audit_checkpoint(&self, checkpoint: &Checkpoint) -> StoreResult<()> {
                self.call("insert_audit_checkpoint", self.inner.insert_audit_checkpoint(checkpoint)).await
            }
            async fn last_audit_checkpoint(&self) -> StoreResult<Option<Checkpoint>> {
                self.call("last_audit_checkpoint", self.inner.last_audit_checkpoint()).await
            }
            async fn audit_chain(&self, after: i64, limit: u32) -> StoreResult<Vec<AuditEvent>> {
                self.call("audit_chain", self.inner.audit_chain(after, limit)).await
            }
            async fn audit_checkpoints(&self) -> StoreResult<Vec<Checkpoint>> {
                self.call("audit_checkpoints", self.inner.audit_checkpoints()).await
            }
        }
    )+};
}

guarded_audit!(dyn ClinicStore, dyn RecordStore);

#[async_trait]
impl RevocationStore for Guarded<Arc<dyn ClinicStore>> {
    async fn insert_revocation(&self, revocation: &Revocation, event: &AuditEvent) -> StoreResult<()> {
        self.call("insert_revocation", self.inner.insert_revocation(revocation, event)).await
    }
    async fn list_revocations(&self, limit: u32, after: Option<&CursorKey>) -> StoreResult<KeyPage<Revocation>> {
        self.call("list_revocations", self.inner.list_revocations(limit, after)).await
    }
    async fn revocation_index(&self) -> StoreResult<Vec<(String, i64)>> {
        self.call("revocation_index", self.inner.revocation_index()).await
    }
}

#[async_trait]
impl ClinicStore for Guarded<Arc<dyn ClinicStore>> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    fn pools(&self) -> Vec<super::PoolStats> {
        self.inner.pools()
    }
    /// Straight to the store: readiness checks bypass the breaker and never change it.
    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }
    /// Straight to the store, like `ping`.
    async fn schema_version(&self) -> StoreResult<Option<i64>> {
        self.inner.schema_version().await
    }
}

#[async_trait]
impl MedicalRecordStore for Guarded<Arc<dyn RecordStore>> {
    async fn insert_record(
        &self,
        record: &MedicalRecord,
        done: Option<&Completion>,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        self.call("insert_record", self.inner.insert_record(record, done, event)).await
    }
    async fn get_record(&self, id: &RecordId) -> StoreResult<Option<MedicalRecord>> {
        self.call("get_record", self.inner.get_record(id)).await
    }
    async fn amend_record(
        &self,
        previous: &MedicalRecord,
        next: &MedicalRecord,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        self.call("amend_record", self.inner.amend_record(previous, next, event)).await
    }
    async fn list_record_history(
        &self,
        id: &RecordId,
        limit: u32,
        after: Option<&CursorKey>,
    ) -> StoreResult<KeyPage<MedicalRecord>> {
        self.call("list_record_history", self.inner.list_record_history(id, limit, after)).await
    }
    async fn list_patient_records(
        &self,
        patient: &PatientId,
        range: DateRange,
        limit: u32,
        after: Option<&CursorKey>,
    ) -> StoreResult<KeyPage<MedicalRecord>> {
        self.call("list_patient_records", self.inner.list_patient_records(patient, range, limit, after)).await
    }
}

#[async_trait]
impl InvoiceStore for Guarded<Arc<dyn RecordStore>> {
    async fn insert_invoice(
        &self,
        invoice: &Invoice,
        done: Option<&Completion>,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        self.call("insert_invoice", self.inner.insert_invoice(invoice, done, event)).await
    }
    async fn get_invoice(&self, id: &InvoiceId) -> StoreResult<Option<Invoice>> {
        self.call("get_invoice", self.inner.get_invoice(id)).await
    }
    async fn update_invoice(&self, invoice: &Invoice, expected_version: i64, event: &AuditEvent) -> StoreResult<()> {
        self.call("update_invoice", self.inner.update_invoice(invoice, expected_version, event)).await
    }
    async fn list_patient_invoices(
        &self,
        patient: &PatientId,
        status: Option<PaymentStatus>,
        limit: u32,
        after: Option<&CursorKey>,
    ) -> StoreResult<KeyPage<Invoice>> {
        self.call("list_patient_invoices", self.inner.list_patient_invoices(patient, status, limit, after)).await
    }
}

#[async_trait]
impl RecordStore for Guarded<Arc<dyn RecordStore>> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    /// Straight to the store: readiness checks bypass the breaker and never change it.
    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;
    use crate::store::circuit_breaker::ManualTicker;

    /// Exercises the generic `call` path with a scripted "store".
    fn guarded(bulkhead: u32, call_timeout: Duration) -> Guarded<()> {
        let config = GuardConfig {
            breaker: BreakerConfig::default(),
            bulkhead,
            max_wait: Duration::from_millis(20),
            call_timeout,
        };
        Guarded::new((), "test", "test_guard_state", config)
    }

    async fn fail(g: &Guarded<()>, err: StoreError) -> StoreResult<()> {
        g.call("op", async { Err(err) }).await
    }

    #[tokio::test]
    async fn only_unavailable_trips_the_breaker() {
        let clock = Arc::new(ManualTicker::default());
        let config = GuardConfig {
            breaker: BreakerConfig::default(),
            bulkhead: 4,
            max_wait: Duration::from_millis(20),
            call_timeout: Duration::from_secs(1),
        };
        let g = Guarded::with_ticker((), "test", "test_guard_state", config, Box::new(clock.clone()));
        for _ in 0..20 {
            let _ = fail(&g, StoreError::NotFound).await;
            let _ = fail(&g, StoreError::Conflict).await;
            let _ = fail(&g, StoreError::Stale).await;
            let _ = fail(&g, StoreError::Rejected(crate::store::Rule::PatientInactive)).await;
            let _ = fail(&g, StoreError::Internal("bug".into())).await;
        }
        assert_eq!(g.state(), BreakerState::Closed);
        // Those answers count as successes (the store was reached): let them leave the window first.
        clock.advance(Duration::from_secs(10));
        for _ in 0..3 {
            let _ = fail(&g, StoreError::Unavailable("refused".into())).await;
        }
        assert_eq!(g.state(), BreakerState::Open);
        let refused = g.call("op", async { Ok(()) }).await;
        assert!(matches!(refused, Err(StoreError::CircuitOpen { retry_after_secs: 30 })), "{refused:?}");
    }

    #[tokio::test]
    async fn a_call_over_its_timeout_is_unavailable_and_counts_as_a_failure() {
        let g = guarded(4, Duration::from_millis(10));
        for _ in 0..3 {
            let res = g.call("op", std::future::pending::<StoreResult<()>>()).await;
            assert!(matches!(res, Err(StoreError::Unavailable(ref m)) if m.contains("timed out")), "{res:?}");
        }
        assert_eq!(g.state(), BreakerState::Open);
    }

    #[tokio::test]
    async fn a_call_outlasting_its_request_deadline_is_a_504_and_counts_as_a_failure() {
        let g = guarded(4, Duration::from_secs(5));
        for _ in 0..3 {
            let started = tokio::time::Instant::now();
            let res = crate::deadline::scope(
                Duration::from_millis(120),
                g.call("op", std::future::pending::<StoreResult<()>>()),
            )
            .await;
            assert!(matches!(res, Err(StoreError::DeadlineExceeded { budget_ms: 120 })), "{res:?}");
            assert!(started.elapsed() < Duration::from_secs(1), "bounded by the deadline, not the 5 s call timeout");
        }
        assert_eq!(g.state(), BreakerState::Open);
        assert_eq!(g.bulkhead().available(), 4);
    }

    #[tokio::test]
    async fn a_call_left_with_a_sliver_of_the_deadline_is_a_504_but_never_blamed_on_the_store() {
        let g = guarded(4, Duration::from_secs(5));
        for _ in 0..10 {
            let res = crate::deadline::scope(
                Duration::from_millis(20),
                g.call("op", std::future::pending::<StoreResult<()>>()),
            )
            .await;
            assert!(matches!(res, Err(StoreError::DeadlineExceeded { budget_ms: 20 })), "{res:?}");
        }
        assert_eq!(g.state(), BreakerState::Closed, "20 ms out of a budget is below MIN_BUDGET_TO_BLAME");
        for _ in 0..2 {
            let _ = fail(&g, StoreError::Unavailable("refused".into())).await;
        }
        assert_eq!(g.state(), BreakerState::Closed, "the 10 cut calls counted as nothing: 2 outcomes in the window");
    }

    #[tokio::test]
    async fn a_cancelled_call_counts_as_nothing_and_frees_its_slot() {
        let g = guarded(1, Duration::from_secs(5));
        for _ in 0..5 {
            let cut =
                tokio::time::timeout(Duration::from_millis(5), g.call("op", std::future::pending::<StoreResult<()>>()));
            assert!(cut.await.is_err());
        }
        assert_eq!(g.bulkhead().available(), 1);
        for _ in 0..2 {
            let _ = fail(&g, StoreError::Unavailable("refused".into())).await;
        }
        assert_eq!(g.state(), BreakerState::Closed, "5 cancelled + 2 failed calls: only 2 outcomes counted");
    }

    #[tokio::test]
    async fn a_full_bulkhead_waits_briefly_then_refuses_without_tripping_the_breaker() {
        let g = Arc::new(guarded(2, Duration::from_secs(5)));
        let release = Arc::new(tokio::sync::Notify::new());
        let started = Arc::new(AtomicUsize::new(0));
        let mut held = Vec::new();
        for _ in 0..2 {
            let (g, release, started) = (g.clone(), release.clone(), started.clone());
            held.push(tokio::spawn(async move {
                g.call("op", async {
                    started.fetch_add(1, Ordering::SeqCst);
                    release.notified().await;
                    Ok(())
                })
                .await
            }));
        }
        while started.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
        let asked = AtomicBool::new(false);
        let t0 = Instant::now();
        for _ in 0..5 {
            let res = g
                .call("op", async {
                    asked.store(true, Ordering::SeqCst);
                    Ok(())
                })
                .await;
            assert!(matches!(res, Err(StoreError::Unavailable(ref m)) if m.contains("bulkhead")), "{res:?}");
        }
        assert!(t0.elapsed() < Duration::from_millis(500), "each refusal waits about max_wait (20 ms)");
        assert!(!asked.load(Ordering::SeqCst), "a refused call never reaches the store");
        assert_eq!(g.state(), BreakerState::Closed);
        release.notify_waiters();
        for h in held {
            assert!(h.await.expect("no panic").is_ok());
        }
        assert_eq!(g.bulkhead().available(), 2);
        g.call("op", async { Ok(()) }).await.expect("slots are free again");
    }

    #[tokio::test]
    async fn a_waiting_call_gets_a_slot_freed_within_max_wait() {
        let g = Arc::new(guarded(1, Duration::from_secs(5)));
        let holder = {
            let g = g.clone();
            tokio::spawn(async move {
                g.call("op", async {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    Ok(())
                })
                .await
            })
        };
        tokio::task::yield_now().await;
        g.call("op", async { Ok(()) }).await.expect("waited for the slot");
        assert!(holder.await.expect("no panic").is_ok());
    }

    #[test]
    fn edge_bulkheads_never_queue() {
        let b = Bulkhead::new("test_edge", 2, Duration::from_secs(1));
        let a = b.try_enter().expect("first");
        let c = b.try_enter().expect("second");
        assert!(b.try_enter().is_none());
        drop(a);
        assert!(b.try_enter().is_some());
        drop(c);
    }
}
