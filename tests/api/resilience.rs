//! Resilience over SQLite (DESIGN.md §3, API.md §1.9): the R breaker opening, isolation of D, recovery, CPU
//! shedding and traffic classes. Faults are injected by a wrapper around the real R store, below its guard, which
//! answers `StoreError::Unavailable` (or stalls) on command; the proxy-level cuts against MariaDB and the
//! DynamoDB emulator are a separate suite.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::http::Method;
use chrono::NaiveDate;
use gospital::audit::{AuditEvent, AuditFilter, ChainHead, Checkpoint};
use gospital::domain::appointment::Appointment;
use gospital::domain::department::Department;
use gospital::domain::doctor::Doctor;
use gospital::domain::formats::Timestamp;
use gospital::domain::ids::{AppointmentId, DepartmentId, DoctorId, PatientId};
use gospital::domain::patient::Patient;
use gospital::middleware::cpu::CpuProbe;
use gospital::store::circuit_breaker::BreakerState;
use gospital::store::*;
use serde_json::json;

use crate::helpers::{
    TestApp, assert_every_transition_counted, assert_unavailable, metrics_text, s, sample, transitions,
};

const PASS: u8 = 0;
const FAIL: u8 = 1;
const STALL: u8 = 2;
/// Creates (`insert_*`, `book_*`) stall before they reach the store; everything else passes.
const STALL_CREATE_BEFORE: u8 = 3;
/// Creates run, commit, and then stall before answering; everything else passes.
const STALL_CREATE_AFTER: u8 = 4;
/// Only the audit events of requests that wrote nothing fail to store (the audit table locked).
const FAIL_AUDIT: u8 = 5;

/// What the faulty store does next, shared with the test.
#[derive(Clone, Default)]
struct Fault {
    mode: Arc<AtomicU8>,
    /// Calls that reached the faulty store (refused calls never do).
    calls: Arc<AtomicUsize>,
    release: Arc<tokio::sync::Notify>,
}

impl Fault {
    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
        if !matches!(mode, STALL | STALL_CREATE_BEFORE | STALL_CREATE_AFTER) {
            self.release.notify_waiters();
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    async fn gate(&self, op: &str) -> StoreResult<()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match self.mode.load(Ordering::SeqCst) {
            FAIL => Err(StoreError::Unavailable("injected: connection refused".into())),
            FAIL_AUDIT if op == "insert_audit_events" => {
                Err(StoreError::Unavailable("injected: audit table locked".into()))
            }
            STALL => {
                self.release.notified().await;
                Ok(())
            }
            STALL_CREATE_BEFORE if is_create(op) => {
                self.release.notified().await;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// After the real call: a create that committed may stall before its answer gets back.
    async fn after(&self, op: &str) {
        if self.mode.load(Ordering::SeqCst) == STALL_CREATE_AFTER && is_create(op) {
            self.release.notified().await;
        }
    }
}

/// A resource create (its audit event rides inside it); the audit trail's own inserts are not creates.
fn is_create(op: &str) -> bool {
    (op.starts_with("insert_") && !op.starts_with("insert_audit_")) || op.starts_with("book_")
}

/// The real R store behind a [`Fault`].
struct Faulty {
    inner: Arc<dyn ClinicStore>,
    fault: Fault,
}

macro_rules! faulty {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {{
        $self.fault.gate(stringify!($method)).await?;
        let outcome = $self.inner.$method($($arg),*).await;
        $self.fault.after(stringify!($method)).await;
        outcome
    }};
}

#[async_trait]
impl PatientStore for Faulty {
    async fn insert_patient(&self, patient: &Patient, done: Option<&Completion>, e: &AuditEvent) -> StoreResult<()> {
        faulty!(self.insert_patient(patient, done, e))
    }
    async fn get_patient(&self, id: &PatientId) -> StoreResult<Option<Patient>> {
        faulty!(self.get_patient(id))
    }
    async fn list_patients(&self, filter: &PatientFilter, page: PageRequest) -> StoreResult<Page<Patient>> {
        faulty!(self.list_patients(filter, page))
    }
    async fn update_patient(
        &self,
        p: &Patient,
        version: i64,
        cancel_from: Option<Timestamp>,
        e: &AuditEvent,
    ) -> StoreResult<u64> {
        faulty!(self.update_patient(p, version, cancel_from, e))
    }
}

#[async_trait]
impl DoctorStore for Faulty {
    async fn insert_doctor(&self, doctor: &Doctor, done: Option<&Completion>, e: &AuditEvent) -> StoreResult<()> {
        faulty!(self.insert_doctor(doctor, done, e))
    }
    async fn get_doctor(&self, id: &DoctorId) -> StoreResult<Option<Doctor>> {
        faulty!(self.get_doctor(id))
    }
    async fn list_doctors(&self, filter: &DoctorFilter, page: PageRequest) -> StoreResult<Page<Doctor>> {
        faulty!(self.list_doctors(filter, page))
    }
    async fn list_department_doctors(&self, department: &DepartmentId) -> StoreResult<Vec<Doctor>> {
        faulty!(self.list_department_doctors(department))
    }
    async fn update_doctor(&self, doctor: &Doctor, version: i64, e: &AuditEvent) -> StoreResult<()> {
        faulty!(self.update_doctor(doctor, version, e))
    }
}

#[async_trait]
impl DepartmentStore for Faulty {
    async fn list_departments(&self) -> StoreResult<Vec<Department>> {
        faulty!(self.list_departments())
    }
    async fn get_department(&self, id: &DepartmentId) -> StoreResult<Option<Department>> {
        faulty!(self.get_department(id))
    }
    async fn insert_department(
        &self,
        department: &Department,
        done: Option<&Completion>,
        e: &AuditEvent,
    ) -> StoreResult<()> {
        faulty!(self.insert_department(department, done, e))
    }
    async fn update_department(&self, department: &Department, version: i64, e: &AuditEvent) -> StoreResult<()> {
        faulty!(self.update_department(department, version, e))
    }
}

#[async_trait]
impl AppointmentStore for Faulty {
    async fn book_appointment(
        &self,
        appointment: &Appointment,
        done: Option<&Completion>,
        e: &AuditEvent,
    ) -> StoreResult<()> {
        faulty!(self.book_appointment(appointment, done, e))
    }
    async fn get_appointment(&self, id: &AppointmentId) -> StoreResult<Option<Appointment>> {
        faulty!(self.get_appointment(id))
    }
    async fn list_appointments(&self, filter: &AppointmentFilter, page: PageRequest) -> StoreResult<Page<Appointment>> {
        faulty!(self.list_appointments(filter, page))
    }
    async fn update_appointment(
        &self,
        a: &Appointment,
        version: i64,
        reschedule: bool,
        e: &AuditEvent,
    ) -> StoreResult<()> {
        faulty!(self.update_appointment(a, version, reschedule, e))
    }
    async fn doctor_busy_intervals(
        &self,
        doctor: &DoctorId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<BusyInterval>> {
        faulty!(self.doctor_busy_intervals(doctor, from, to))
    }
}

#[async_trait]
impl IdempotencyStore for Faulty {
    async fn claim_idempotency(&self, claim: &IdempotencyClaim) -> StoreResult<ClaimOutcome> {
        faulty!(self.claim_idempotency(claim))
    }
    async fn release_idempotency(&self, scope: &str, token: &str) -> StoreResult<()> {
        faulty!(self.release_idempotency(scope, token))
    }
    async fn purge_idempotency(&self, now: Timestamp, limit: u32) -> StoreResult<u64> {
        faulty!(self.purge_idempotency(now, limit))
    }
}

#[async_trait]
impl AuditStore for Faulty {
    async fn insert_audit_events(&self, events: &[AuditEvent]) -> StoreResult<()> {
        faulty!(self.insert_audit_events(events))
    }
    async fn list_audit_events(
        &self,
        filter: &AuditFilter,
        limit: u32,
        after: Option<&CursorKey>,
    ) -> StoreResult<KeyPage<AuditEvent>> {
        faulty!(self.list_audit_events(filter, limit, after))
    }
    async fn acquire_audit_lease(&self, holder: &str, now: Timestamp, until: Timestamp) -> StoreResult<bool> {
        faulty!(self.acquire_audit_lease(holder, now, until))
    }
    async fn audit_head(&self) -> StoreResult<Option<ChainHead>> {
        faulty!(self.audit_head())
    }
    async fn unsequenced_audit_events(&self, limit: u32) -> StoreResult<Vec<AuditEvent>> {
        faulty!(self.unsequenced_audit_events(limit))
    }
    async fn count_unsequenced_audit_events(&self) -> StoreResult<u64> {
        faulty!(self.count_unsequenced_audit_events())
    }
    async fn sequence_audit_events(
        &self,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
        placed: &[(String, i64, String)],
    ) -> StoreResult<()> {
        faulty!(self.sequence_audit_events(holder, now, until, placed))
    }
    async fn insert_audit_checkpoint(&self, checkpoint: &Checkpoint) -> StoreResult<()> {
        faulty!(self.insert_audit_checkpoint(checkpoint))
    }
    async fn last_audit_checkpoint(&self) -> StoreResult<Option<Checkpoint>> {
        faulty!(self.last_audit_checkpoint())
    }
    async fn audit_chain(&self, after: i64, limit: u32) -> StoreResult<Vec<AuditEvent>> {
        faulty!(self.audit_chain(after, limit))
    }
    async fn audit_checkpoints(&self) -> StoreResult<Vec<Checkpoint>> {
        faulty!(self.audit_checkpoints())
    }
}

#[async_trait]
impl RevocationStore for Faulty {
    async fn insert_revocation(
        &self,
        revocation: &gospital::domain::revocation::Revocation,
        e: &AuditEvent,
    ) -> StoreResult<()> {
        faulty!(self.insert_revocation(revocation, e))
    }
    async fn list_revocations(
        &self,
        limit: u32,
        after: Option<&CursorKey>,
    ) -> StoreResult<KeyPage<gospital::domain::revocation::Revocation>> {
        faulty!(self.list_revocations(limit, after))
    }
    async fn revocation_index(&self) -> StoreResult<Vec<(String, i64)>> {
        faulty!(self.revocation_index())
    }
}

#[async_trait]
impl ClinicStore for Faulty {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    fn pools(&self) -> Vec<PoolStats> {
        self.inner.pools()
    }
    async fn ping(&self) -> StoreResult<()> {
        faulty!(self.ping())
    }
}

/// An app whose R store fails on command.
async fn faulty_app(tweak: impl FnOnce(&mut gospital::config::Config)) -> (TestApp, Fault) {
    let fault = Fault::default();
    let f = fault.clone();
    let app = TestApp::spawn_wrapped(tweak, move |inner| Arc::new(Faulty { inner, fault: f })).await;
    (app, fault)
}

/// A patient (R) and one of their medical records (D), created while everything is up.
async fn patient_with_record(app: &TestApp) -> (String, String) {
    let p = app.create_patient("cut@example.org").await;
    let d = app.create_doctor("LIC-CUT-1", "DEPT-001").await;
    let body = json!({"patientId": s(&p, "patientId"), "doctorId": s(&d, "doctorId"),
                      "visitDate": "2026-11-20T09:30:00Z", "chiefComplaint": "Cough"});
    let rec = app.post("/api/v1/medical-records", &body).await;
    rec.assert(201);
    (s(&p, "patientId").to_owned(), s(&rec.body, "recordId").to_owned())
}

/// Sends failing requests until the R breaker opens: the set-up's successful calls are still in the window, so
/// it opens once failures reach 60 % of it. Each failure before that is a plain 503 with `Retry-After: 2`.
async fn cut_until_open(app: &TestApp, path: &str) {
    for _ in 0..20 {
        if app.state.resilience.clinic.state() == BreakerState::Open {
            return;
        }
        let res = app.get(path).await;
        assert_eq!(assert_unavailable(&res), 2, "a plain store failure retries after 2 s");
    }
    panic!("the breaker did not open after 20 failures");
}

#[tokio::test]
async fn relational_routes_answer_503_once_the_r_breaker_opens_while_records_routes_keep_answering() {
    let (app, fault) = faulty_app(|_| {}).await;
    let (patient, record) = patient_with_record(&app).await;
    let patient_path = format!("/api/v1/patients/{patient}");

    fault.set(FAIL);
    cut_until_open(&app, &patient_path).await;

    let before = fault.calls();
    let started = Instant::now();
    let res = app.get(&patient_path).await;
    let elapsed = started.elapsed();
    let retry_after = assert_unavailable(&res);
    assert!((29..=30).contains(&retry_after), "seconds until half-open, rounded up: {retry_after}");
    assert_eq!(fault.calls(), before, "an open breaker never asks the store");
    assert!(elapsed < Duration::from_millis(50), "refused at once, took {elapsed:?}");
    assert_unavailable(&app.get("/api/v1/doctors").await);

    // Store isolation: D has its own breaker and answers.
    let res = app.get(&format!("/api/v1/medical-records/{record}")).await;
    res.assert(200);
    assert_eq!(res.body["recordId"], json!(record));
    assert_eq!(app.state.resilience.records.state(), BreakerState::Closed);

    // /health probes the store itself (down), reports the open breaker, and answers 503 with Retry-After 2.
    let health = app.get("/health").await;
    health.assert(503);
    assert_eq!(health.header("retry-after"), Some("2"));
    assert_eq!(health.body["status"], json!("degraded"));
    assert_eq!(health.body["checks"]["database"]["status"], json!("down"));
    assert_eq!(health.body["checks"]["database"]["circuit"], json!("open"));
    assert_eq!(health.body["checks"]["records"]["status"], json!("up"));
    assert_eq!(health.body["checks"]["records"]["circuit"], json!("closed"));
    app.get("/health/live").await.assert(200);
}

/// Behind a balancer polling readiness, a store back after an outage is found within seconds: a readiness check
/// that finds it answering half-opens the open breaker (not sooner than `MIN_OPEN` after it opened), and the
/// usual three good calls close it, long before the 30 s open interval ends.
#[tokio::test]
async fn a_readiness_check_finding_the_store_back_half_opens_its_breaker_after_the_least_open_time() {
    let (app, fault) = faulty_app(|_| {}).await;
    let (patient, _) = patient_with_record(&app).await;
    let patient_path = format!("/api/v1/patients/{patient}");
    fault.set(FAIL);
    cut_until_open(&app, &patient_path).await;
    let opened = Instant::now();

    fault.set(PASS);
    app.get("/health/ready").await.assert(200);
    assert_eq!(app.state.resilience.clinic.state(), BreakerState::Open, "too soon after opening");
    assert_unavailable(&app.get(&patient_path).await);

    tokio::time::sleep(gospital::store::circuit_breaker::MIN_OPEN.saturating_sub(opened.elapsed())).await;
    let health = app.get("/health").await;
    health.assert(200);
    assert_eq!(health.body["checks"]["database"]["circuit"], json!("half-open"));
    for _ in 0..3 {
        app.get(&patient_path).await.assert(200);
    }
    assert_eq!(app.state.resilience.clinic.state(), BreakerState::Closed);
    assert!(opened.elapsed() < Duration::from_secs(10), "well inside the 30 s open interval");
}

#[tokio::test]
async fn a_hundred_requests_for_unknown_patients_never_open_the_breaker() {
    let (app, _fault) = faulty_app(|_| {}).await;
    for i in 0..100 {
        let res = app.get(&format!("/api/v1/patients/PAT-01M88ZQHVRM9S346Q3D25V{i:04}")).await;
        res.assert_error(404, "PATIENT_NOT_FOUND");
    }
    assert_eq!(app.state.resilience.clinic.state(), BreakerState::Closed);
    app.get("/api/v1/patients").await.assert(200);
}

#[tokio::test]
async fn the_breaker_half_opens_after_its_open_interval_and_closes_on_good_probes_with_every_transition_in_metrics() {
    let (app, fault) = faulty_app(|c| c.breaker_open_ms = 200).await;
    let (patient, _) = patient_with_record(&app).await;
    let path = format!("/api/v1/patients/{patient}");
    let before = transitions(&app, "clinic").await;

    fault.set(FAIL);
    cut_until_open(&app, &path).await;
    let res = app.get(&path).await;
    assert_eq!(assert_unavailable(&res), 1, "200 ms until half-open rounds up to 1 s");
    assert_eq!(app.state.resilience.clinic.state(), BreakerState::Open);

    // The store comes back; nobody touches the breaker.
    fault.set(PASS);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(app.state.resilience.clinic.state(), BreakerState::HalfOpen);
    // Each read is two calls of R (the patient, then its audit event): the first read is probes 1 and 2, the
    // second read's patient is probe 3, which closes the breaker.
    for i in 0..2 {
        app.get(&path).await.assert(200);
        let expected = if i < 1 { BreakerState::HalfOpen } else { BreakerState::Closed };
        assert_eq!(app.state.resilience.clinic.state(), expected, "after read {}", i + 1);
    }
    app.get("/api/v1/patients").await.assert(200);

    assert_every_transition_counted(&app, "clinic", before).await;
    let text = metrics_text(&app).await;
    for name in [
        "mysql_circuit_breaker_state",
        "dynamodb_circuit_breaker_state",
        "bulkhead_in_flight{pool=\"clinic\"}",
        "bulkhead_rejections_total{pool=\"records\"}",
        "store_calls_total{",
        "store_call_duration_seconds_bucket{",
    ] {
        assert!(text.lines().any(|l| l.starts_with(name)), "{name} missing from /metrics");
    }
}

#[tokio::test]
async fn a_failed_probe_opens_the_breaker_again() {
    let (app, fault) = faulty_app(|c| c.breaker_open_ms = 100).await;
    fault.set(FAIL);
    for _ in 0..3 {
        assert_unavailable(&app.get("/api/v1/patients").await);
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(app.state.resilience.clinic.state(), BreakerState::HalfOpen);
    assert_eq!(assert_unavailable(&app.get("/api/v1/patients").await), 2, "the probe itself failed");
    assert_eq!(app.state.resilience.clinic.state(), BreakerState::Open);
}

/// A CPU reading the test sets.
#[derive(Clone, Default)]
struct Dial(Arc<Mutex<f64>>);

impl Dial {
    fn set(&self, percent: f64) {
        *self.0.lock().unwrap() = percent;
    }
}

impl CpuProbe for Dial {
    fn sample(&mut self) -> Option<f64> {
        Some(*self.0.lock().unwrap())
    }
}

#[tokio::test]
async fn while_cpu_bound_requests_above_the_concurrency_limit_are_shed_with_the_exact_envelope_and_staff_first() {
    // A limit of 1: public callers may hold it, staff one more (the headroom above the limit).
    let (app, fault) = faulty_app(|c| {
        c.cpu_shed_open = 95.0;
        c.cpu_shed_close = 85.0;
        c.overload_min_limit = 1;
        c.overload_max_limit = 1;
    })
    .await;
    let (_, record) = patient_with_record(&app).await;
    let record_path = format!("/api/v1/medical-records/{record}");
    let cpu = &app.state.resilience.cpu;
    let dial = Dial::default();
    cpu.set_probe(Box::new(dial.clone()));
    let rejections = || async { sample(&metrics_text(&app).await, "cpu_circuit_breaker_rejections_total") };

    // Hot, but nothing in flight: a request is served (the first release refused every request here).
    dial.set(97.3);
    cpu.tick();
    app.get("/api/v1/patients").await.assert(200);

    // One public request held inside the store fills the limit.
    fault.set(STALL);
    let calls = fault.calls();
    let router = app.router.clone();
    let held = tokio::spawn(async move {
        use tower::ServiceExt;
        let req = axum::http::Request::get("/api/v1/patients").body(axum::body::Body::empty()).unwrap();
        router.oneshot(req).await.expect("infallible").status()
    });
    while fault.calls() < calls + 1 {
        tokio::task::yield_now().await;
    }
    assert_eq!(app.state.resilience.overload.in_flight(), 1);

    let before = rejections().await;
    let started = Instant::now();
    let res = app.get(&record_path).await;
    res.assert_error(503, "SERVICE_OVERLOADED");
    assert!(started.elapsed() < Duration::from_millis(50), "a refusal is immediate");
    assert_eq!(
        res.body["error"]["message"],
        json!("Service temporarily overloaded due to high CPU usage, please retry later")
    );
    assert_eq!(res.details(), vec!["Current CPU: 97.3%".to_owned()]);
    assert_eq!(res.header("retry-after"), Some("2"));
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert!(res.header("x-request-id").is_some());
    assert!(rejections().await > before, "cpu_circuit_breaker_rejections_total did not grow");
    // Staff still get in, above the limit.
    let staff = [("x-user-type", "staff")];
    app.send_with_headers(Method::GET, &record_path, &staff, None).await.assert(200);
    // Routing wins over shedding (API.md §1.5), and root routes are never shed.
    app.get("/api/v1/nothing-here").await.assert_error(404, "NOT_FOUND");
    app.request(Method::DELETE, "/api/v1/patients", None).await.assert_error(405, "METHOD_NOT_ALLOWED");
    app.get("/health/live").await.assert(200);
    app.get("/metrics").await.assert(200);

    // Hysteresis: still limiting between the thresholds and at the close threshold itself.
    for reading in [90.0, 85.0] {
        dial.set(reading);
        cpu.tick();
        app.get(&record_path).await.assert_error(503, "SERVICE_OVERLOADED");
    }
    // Below it the limit is lifted, though the held request is still in flight.
    dial.set(84.9);
    cpu.tick();
    app.get(&record_path).await.assert(200);
    dial.set(94.0);
    cpu.tick();
    app.get(&record_path).await.assert(200);

    fault.set(PASS);
    assert_eq!(held.await.expect("no panic").as_u16(), 200);
    let text = metrics_text(&app).await;
    for name in ["cpu_usage_percent ", "cpu_circuit_breaker_state ", "overload_concurrency_limit "] {
        assert!(text.lines().any(|l| l.starts_with(name)), "{name}missing");
    }
    assert!(text.contains("overload_rejections_total{class=\"public\"}"), "per-class rejections missing");
}

#[tokio::test]
async fn a_public_flood_at_its_cap_gets_503_while_staff_and_the_other_store_are_served() {
    let (app, fault) = faulty_app(|c| {
        c.public_max_in_flight = 2;
        c.staff_max_in_flight = 2;
    })
    .await;
    let (_, record) = patient_with_record(&app).await;

    fault.set(STALL);
    let calls = fault.calls();
    let stalled: Vec<_> = (0..2)
        .map(|_| {
            let router = app.router.clone();
            tokio::spawn(async move {
                use tower::ServiceExt;
                let req = axum::http::Request::get("/api/v1/patients").body(axum::body::Body::empty()).unwrap();
                router.oneshot(req).await.expect("infallible").status()
            })
        })
        .collect();
    // Both requests hold their public slot and wait inside the store (the test runtime has one thread, so a
    // counted call has already registered for its release).
    while fault.calls() < calls + 2 {
        tokio::task::yield_now().await;
    }
    assert_eq!(app.state.resilience.traffic.public.available(), 0);

    let started = Instant::now();
    let res = app.get("/api/v1/patients").await;
    assert_eq!(assert_unavailable(&res), 2);
    assert!(started.elapsed() < Duration::from_millis(50), "a full class refuses at once");
    let res = app.send_with_headers(Method::GET, "/api/v1/patients", &[("x-user-type", "public")], None).await;
    assert_unavailable(&res);

    // Staff still get in; a D route answers while R calls are stalled.
    let staff = [("x-user-type", "staff")];
    let res = app.send_with_headers(Method::GET, &format!("/api/v1/medical-records/{record}"), &staff, None).await;
    res.assert(200);

    fault.set(PASS);
    for h in stalled {
        assert_eq!(h.await.expect("no panic").as_u16(), 200);
    }
    app.get("/api/v1/patients").await.assert(200);
}

// ---- a POST cut by its deadline, retried with its Idempotency-Key (API.md §1.9, §1.11) ----

async fn post_with_key(app: &TestApp, key: &str, body: &serde_json::Value) -> crate::helpers::Res {
    app.send_with_headers(Method::POST, "/api/v1/patients", &[("idempotency-key", key)], Some(body)).await
}

async fn patients_with_email(app: &TestApp, email: &str) -> serde_json::Value {
    app.get(&format!("/api/v1/patients?email={email}")).await.body["pagination"]["totalItems"].clone()
}

#[tokio::test]
async fn a_post_cut_by_its_deadline_after_its_write_committed_replays_the_201_when_retried() {
    let (app, fault) = faulty_app(|c| c.request_timeout_ms = 300).await;
    let body = crate::helpers::patient_body("committed@example.org");
    fault.set(STALL_CREATE_AFTER);

    let first = post_with_key(&app, "cut-after-commit", &body).await;

    first.assert_error(504, "REQUEST_TIMEOUT");
    fault.set(PASS);
    assert_eq!(patients_with_email(&app, "committed@example.org").await, json!(1), "the write committed");
    let retry = post_with_key(&app, "cut-after-commit", &body).await;
    retry.assert(201);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(patients_with_email(&app, "committed@example.org").await, json!(1), "and only once");
    let id = s(&retry.body, "patientId");
    app.get(&format!("/api/v1/patients/{id}")).await.assert(200);
}

#[tokio::test]
async fn a_post_cut_by_its_deadline_before_its_write_runs_once_when_retried() {
    let (app, fault) = faulty_app(|c| c.request_timeout_ms = 300).await;
    let body = crate::helpers::patient_body("never-written@example.org");
    fault.set(STALL_CREATE_BEFORE);

    post_with_key(&app, "cut-before-commit", &body).await.assert_error(504, "REQUEST_TIMEOUT");

    fault.set(PASS);
    assert_eq!(patients_with_email(&app, "never-written@example.org").await, json!(0), "rolled back");
    // The cancelled attempt gave its claim back (from a task of its own): the retry runs, at once or right after.
    let mut retry = post_with_key(&app, "cut-before-commit", &body).await;
    for _ in 0..20 {
        if retry.status != 409 {
            break;
        }
        assert_eq!(retry.code(), "IDEMPOTENCY_KEY_IN_USE", "{}", retry.text);
        tokio::time::sleep(Duration::from_millis(50)).await;
        retry = post_with_key(&app, "cut-before-commit", &body).await;
    }
    retry.assert(201);
    assert!(retry.header("idempotent-replayed").is_none(), "nothing to replay: it ran now");
    assert_eq!(patients_with_email(&app, "never-written@example.org").await, json!(1));
}

#[tokio::test]
async fn a_read_whose_audit_event_cannot_be_stored_answers_503_while_writes_still_commit_with_theirs() {
    let (app, fault) = faulty_app(|_| {}).await;
    let (patient, _) = patient_with_record(&app).await;
    fault.set(FAIL_AUDIT);
    // The read found the patient, but its event could not be stored: the answer is withheld (fail closed).
    let res = app.get(&format!("/api/v1/patients/{patient}")).await;
    assert_unavailable(&res);
    assert!(!res.text.contains("Okafor"), "no patient data in the refusal: {}", res.text);
    // A write's event rides in the write's own transaction, which the locked audit table of reads does not stop.
    app.post("/api/v1/patients", &crate::helpers::patient_body("audited-write@example.org")).await.assert(201);
    fault.set(PASS);
    app.get(&format!("/api/v1/patients/{patient}")).await.assert(200);
}

#[tokio::test]
async fn a_write_cut_by_its_deadline_leaves_neither_the_change_nor_a_success_event() {
    let (app, fault) = faulty_app(|c| c.request_timeout_ms = 300).await;
    fault.set(STALL_CREATE_BEFORE);
    let body = crate::helpers::patient_body("cut-by-deadline@example.org");
    let res =
        app.send_with_headers(Method::POST, "/api/v1/patients", &[("x-request-id", "cut-write")], Some(&body)).await;
    res.assert_error(504, "REQUEST_TIMEOUT");
    fault.set(PASS);
    assert_eq!(patients_with_email(&app, "cut-by-deadline@example.org").await, 0);
    let events = app.state.clinic.list_audit_events(&Default::default(), 100, None).await.expect("trail");
    assert!(
        !events.items.iter().any(|e| e.record.request_id == "cut-write" && e.record.outcome < 300),
        "no success event for a write that did not happen"
    );
}

#[tokio::test]
async fn resilience_counters_are_exported_at_zero_before_anything_happens() {
    let app = TestApp::spawn().await;
    let text = metrics_text(&app).await;
    // Series no test in this binary moves: present only because they are exported at start.
    for (name, labels) in [
        ("store_calls_total", ["store=\"clinic\"", "op=\"list_department_doctors\"", "outcome=\"bulkhead_full\""]),
        ("store_calls_total", ["store=\"records\"", "op=\"list_record_history\"", "outcome=\"circuit_open\""]),
        ("overload_rejections_total", ["class=\"staff\"", "", ""]),
    ] {
        let found = text.lines().any(|l| l.starts_with(&format!("{name}{{")) && labels.iter().all(|x| l.contains(x)));
        assert!(found, "{name} {labels:?} not exported:\n{text}");
    }
}
