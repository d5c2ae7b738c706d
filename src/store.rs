//! Store ports: the traits handlers and services call, and the errors every adapter maps into.
//!
//! R (`ClinicStore`) holds patients, doctors, departments and appointments; D (`RecordStore`) holds medical
//! records and invoices. Rules that must be atomic with a write (overlaps, deactivation cascade, head-doctor
//! membership) are checked by the adapter inside its transaction and reported as [`Rule`]. Every write takes the
//! request's [`AuditEvent`] and commits it in the same transaction, so a write can never land unaudited.

pub(crate) mod audit;
pub mod circuit_breaker;
mod documents;
pub mod dynamodb;
pub mod guarded;
pub mod idempotency;
pub mod mysql;
pub mod recycle;
mod revocations;
pub mod rows;
pub mod sql;
pub mod sqlite;
pub mod sqlite_records;
pub mod statements;

use async_trait::async_trait;
use chrono::NaiveDate;

pub use crate::audit::AuditEvent;
use crate::domain::appointment::{Appointment, AppointmentStatus};
use crate::domain::department::Department;
use crate::domain::doctor::{Doctor, DoctorStatus};
use crate::domain::formats::Timestamp;
use crate::domain::ids::{AppointmentId, DepartmentId, DoctorId, InvoiceId, PatientId, RecordId};
use crate::domain::invoice::{Invoice, PaymentStatus};
use crate::domain::medical_record::MedicalRecord;
use crate::domain::patient::{Patient, PatientStatus};
use crate::domain::revocation::Revocation;

/// A business rule that failed inside the write's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    PatientInactive,
    DoctorUnavailable,
    /// Which sides clash: the same doctor, the same patient, or both.
    TimeSlot {
        doctor: bool,
        patient: bool,
    },
    HeadDoctorConflict,
}

/// Every way a store call can fail. Only `Unavailable` is an infrastructure failure; `CircuitOpen` is the guard's
/// refusal to try.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row or item to change does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule (unique index or conditional create) refused the write.
    #[error("conflict")]
    Conflict,
    /// The stored version is no longer the one the caller read; re-read and re-apply.
    #[error("stale version")]
    Stale,
    /// A rule checked inside the transaction failed.
    #[error("rule failed: {0:?}")]
    Rejected(Rule),
    /// The store cannot be reached or did not answer in time (refused, reset, pool exhausted, busy, throttled).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The store's circuit breaker is open (or half-open with every probe slot taken): refused without asking
    /// the store. Answered 503 with `Retry-After` = `retry_after_secs` (time until half-open, at least 1).
    #[error("circuit open; retry after {retry_after_secs} s")]
    CircuitOpen { retry_after_secs: u64 },
    /// The request's deadline passed while the store call was still running (the call was abandoned, its
    /// transaction rolled back). Answered 504 REQUEST_TIMEOUT naming the request budget, `budget_ms`.
    #[error("request deadline of {budget_ms} ms passed during the store call")]
    DeadlineExceeded { budget_ms: u64 },
    /// The idempotency claim this write was to complete is no longer the caller's (its lease ran out and another
    /// attempt took it over, or it was released): nothing was written. Answered 409 IDEMPOTENCY_KEY_IN_USE; the
    /// client's retry then replays or runs once.
    #[error("idempotency claim lost")]
    ClaimLost,
    /// Anything else: a bug or corrupt data. The text is logged, never returned to clients.
    #[error("store internal error: {0}")]
    Internal(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// One connection pool's occupancy right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// `sqlite_read`, `sqlite_write` or `mysql`.
    pub pool: &'static str,
    /// Connections open (idle + in use).
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

impl PoolStats {
    /// The stats of a sqlx pool.
    pub fn of<DB: sqlx::Database>(pool: &'static str, p: &sqlx::Pool<DB>) -> Self {
        let open = p.size();
        let idle = u32::try_from(p.num_idle()).unwrap_or(u32::MAX).min(open);
        Self { pool, open, idle, max: p.options().get_max_connections() }
    }

    /// Counts connections idle on a reuse stack (`store::recycle`) as idle: the pool sees them as in use.
    pub fn with_stacked(mut self, stacked: u32) -> Self {
        self.idle = self.idle.saturating_add(stacked).min(self.open);
        self
    }
}

/// Page-style request (`page` ≥ 1, `limit` already capped to 1–100).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub limit: u32,
}

impl PageRequest {
    pub fn offset(self) -> u64 {
        u64::from(self.page.saturating_sub(1)) * u64::from(self.limit)
    }
}

/// One page of rows plus the total number of matching rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

/// The cursor key of a history entry: its version as fixed-width text (so text order is numeric order).
pub fn history_key(record: &MedicalRecord) -> CursorKey {
    CursorKey { sort: format!("{:020}", record.version), id: record.record_id.to_string() }
}

/// Position in a newest-first key-ordered list: continue strictly after (sort, id) in descending order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorKey {
    pub sort: String,
    pub id: String,
}

/// One page of a cursor-paged list; `next` is `None` on the last page.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyPage<T> {
    pub items: Vec<T>,
    pub next: Option<CursorKey>,
}

/// Filters of `GET /api/v1/patients`, combined with AND.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PatientFilter {
    /// Lower-cased; matched as a literal substring of "first last" (which covers first and last alone).
    pub name: Option<String>,
    /// Lower-cased; exact.
    pub email: Option<String>,
    pub phone: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub status: Option<PatientStatus>,
}

/// Filters of `GET /api/v1/doctors`, combined with AND.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DoctorFilter {
    pub department_id: Option<String>,
    /// Lower-cased; exact.
    pub specialty: Option<String>,
    pub status: Option<DoctorStatus>,
    /// `Some(true)`: status `active`; `Some(false)`: status not `active`.
    pub available: Option<bool>,
}

/// Filters of `GET /api/v1/appointments`, combined with AND. IDs are raw text: a malformed one matches nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppointmentFilter {
    pub patient_id: Option<String>,
    pub doctor_id: Option<String>,
    pub date: Option<NaiveDate>,
    pub status: Option<AppointmentStatus>,
}

/// Inclusive range on the UTC date of `visitDate`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DateRange {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

pub use crate::domain::appointment::BusyInterval;

/// A POST claiming its idempotency record before it runs (API.md §1.11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    /// SHA-256 (hex) of principal, method, path and key.
    pub scope: String,
    /// SHA-256 (hex) of the canonical JSON body.
    pub fingerprint: String,
    /// This attempt's own token; completing or releasing the claim needs it.
    pub token: String,
    pub now: Timestamp,
    /// Until when the claim holds while its attempt runs; after it, another attempt may take it over.
    pub lease_until: Timestamp,
}

/// The stored 2xx answer of a completed POST, replayed verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub location: Option<String>,
    /// The ETag header value, e.g. `"1"`.
    pub etag: Option<String>,
    /// The JSON body as sent.
    pub body: String,
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The key was free (or held by an attempt whose lease ran out): this attempt runs.
    Claimed,
    /// An earlier attempt succeeded, with this body fingerprint and answer.
    Done { fingerprint: String, response: StoredResponse },
    /// Another attempt is running now.
    InProgress { fingerprint: String },
}

/// Completes a claim in the same atomic write as the resource it created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub scope: String,
    pub token: String,
    pub response: StoredResponse,
    /// Kept at least until then (API.md §1.11: 24 h).
    pub expires_at: Timestamp,
}

/// Idempotency records, kept by each store for the resources it holds, so the record commits with the resource.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims `claim.scope` unless a live claim or an unexpired outcome holds it (then reports which).
    async fn claim_idempotency(&self, claim: &IdempotencyClaim) -> StoreResult<ClaimOutcome>;
    /// Gives up a pending claim held with `token` (after a failed attempt); a completed or foreign one stays.
    async fn release_idempotency(&self, scope: &str, token: &str) -> StoreResult<()>;
    /// Removes up to `limit` records expired at `now`; returns how many. A store whose records expire by
    /// themselves (DynamoDB TTL) removes none.
    async fn purge_idempotency(&self, now: Timestamp, limit: u32) -> StoreResult<u64>;
}

#[async_trait]
pub trait PatientStore: Send + Sync {
    /// Inserts a new patient, completing `done` in the same transaction (`ClaimLost` if it is no longer held).
    /// `Conflict` when the duplicate key (email, dateOfBirth, lastName; case-insensitive) is taken, enforced by a
    /// unique index so concurrent registrations give one winner.
    async fn insert_patient(&self, patient: &Patient, done: Option<&Completion>, event: &AuditEvent)
    -> StoreResult<()>;
    async fn get_patient(&self, id: &PatientId) -> StoreResult<Option<Patient>>;
    /// Ordered by createdAt desc, patientId desc.
    async fn list_patients(&self, filter: &PatientFilter, page: PageRequest) -> StoreResult<Page<Patient>>;
    /// Replaces the patient if its stored version is still `expected_version` (else `Stale`; `Conflict` on a
    /// duplicate key). With `cancel_from = Some(now)`, in the same transaction, cancels every `scheduled`
    /// appointment of the patient that starts after `now` (version +1, updatedAt = patient.updated_at) and
    /// returns how many were cancelled.
    async fn update_patient(
        &self,
        patient: &Patient,
        expected_version: i64,
        cancel_from: Option<Timestamp>,
        event: &AuditEvent,
    ) -> StoreResult<u64>;
}

#[async_trait]
pub trait DoctorStore: Send + Sync {
    /// `Conflict` when the licence number is taken (case-insensitive unique index). Completes `done` atomically.
    async fn insert_doctor(&self, doctor: &Doctor, done: Option<&Completion>, event: &AuditEvent) -> StoreResult<()>;
    /// With `departmentName` joined live.
    async fn get_doctor(&self, id: &DoctorId) -> StoreResult<Option<Doctor>>;
    /// Ordered by createdAt desc, doctorId desc.
    async fn list_doctors(&self, filter: &DoctorFilter, page: PageRequest) -> StoreResult<Page<Doctor>>;
    /// Every doctor of a department, any status, ordered by lastName, firstName, doctorId.
    async fn list_department_doctors(&self, department: &DepartmentId) -> StoreResult<Vec<Doctor>>;
    /// Replaces the doctor if still at `expected_version`. `Rejected(HeadDoctorConflict)` when the department
    /// changes while the doctor heads its current department (checked in the transaction).
    async fn update_doctor(&self, doctor: &Doctor, expected_version: i64, event: &AuditEvent) -> StoreResult<()>;
}

#[async_trait]
pub trait DepartmentStore: Send + Sync {
    /// Ordered by name (case-insensitive), then departmentId; with head name and active-doctor count.
    async fn list_departments(&self) -> StoreResult<Vec<Department>>;
    async fn get_department(&self, id: &DepartmentId) -> StoreResult<Option<Department>>;
    /// `Conflict` when the name is taken (case-insensitive unique index). Completes `done` atomically.
    async fn insert_department(
        &self,
        department: &Department,
        done: Option<&Completion>,
        event: &AuditEvent,
    ) -> StoreResult<()>;
    /// Replaces the department if still at `expected_version`; `Conflict` on a taken name;
    /// `Rejected(HeadDoctorConflict)` when `headDoctorId` names a doctor of another department (checked in the
    /// transaction; the caller has already checked that the doctor exists).
    async fn update_department(
        &self,
        department: &Department,
        expected_version: i64,
        event: &AuditEvent,
    ) -> StoreResult<()>;
}

#[async_trait]
pub trait AppointmentStore: Send + Sync {
    /// Books atomically: in one transaction that serialises writers for the same doctor and patient, checks
    /// patient `active` (`Rejected(PatientInactive)`), doctor `active` (`Rejected(DoctorUnavailable)`), no
    /// overlap with a non-cancelled appointment of either (`Rejected(TimeSlot{..})`), then inserts.
    /// The joined fields of `appointment` (names, department) are ignored. Completes `done` atomically.
    async fn book_appointment(
        &self,
        appointment: &Appointment,
        done: Option<&Completion>,
        event: &AuditEvent,
    ) -> StoreResult<()>;
    /// With patientName, doctorName and departmentId joined live.
    async fn get_appointment(&self, id: &AppointmentId) -> StoreResult<Option<Appointment>>;
    /// Ordered by appointmentDate desc, startTime desc, appointmentId desc.
    async fn list_appointments(&self, filter: &AppointmentFilter, page: PageRequest) -> StoreResult<Page<Appointment>>;
    /// Replaces the appointment if still at `expected_version`. With `reschedule`, first re-checks in the same
    /// transaction what `book_appointment` checks, excluding this appointment from the overlap test.
    async fn update_appointment(
        &self,
        appointment: &Appointment,
        expected_version: i64,
        reschedule: bool,
        event: &AuditEvent,
    ) -> StoreResult<()>;
    /// The doctor's non-cancelled appointments with dates in `[from, to]`.
    async fn doctor_busy_intervals(
        &self,
        doctor: &DoctorId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<BusyInterval>>;
}

/// Revocations of principals (SECURITY.md §4), kept in R.
#[async_trait]
pub trait RevocationStore: Send + Sync {
    /// Stores a revocation; nothing changes or removes it afterwards.
    async fn insert_revocation(&self, revocation: &Revocation, event: &AuditEvent) -> StoreResult<()>;
    /// Newest first (revokedAt desc, then id desc), strictly after `after`.
    async fn list_revocations(&self, limit: u32, after: Option<&CursorKey>) -> StoreResult<KeyPage<Revocation>>;
    /// The latest revocation time (Unix ms) of every revoked `sub`, for each instance's cache.
    async fn revocation_index(&self) -> StoreResult<Vec<(String, i64)>>;
}

/// The audit trail of one store (SECURITY.md §5): its events, its chain, the sequencer's lease and its
/// checkpoints. Events are only ever inserted and then sequenced once; nothing here changes or removes one.
/// Write methods of the other ports take the request's event and commit it in the same transaction; these
/// methods serve the events of requests that wrote nothing, the sequencer, the routes and the verifier.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Stores `events` (unsequenced) in one commit.
    async fn insert_audit_events(&self, events: &[crate::audit::AuditEvent]) -> StoreResult<()>;
    /// Newest first (recordedAt desc, eventId desc), filtered, at most `limit`, strictly after `after`.
    async fn list_audit_events(
        &self,
        filter: &crate::audit::AuditFilter,
        limit: u32,
        after: Option<&CursorKey>,
    ) -> StoreResult<KeyPage<crate::audit::AuditEvent>>;
    /// Takes the sequencer lease for `holder` until `until` when it is free, expired at `now`, or already
    /// `holder`'s (then renews it). `true` when `holder` holds it afterwards.
    async fn acquire_audit_lease(&self, holder: &str, now: Timestamp, until: Timestamp) -> StoreResult<bool>;
    /// The last sequenced event's seq and hash; `None` for an empty chain.
    async fn audit_head(&self) -> StoreResult<Option<crate::audit::ChainHead>>;
    /// Up to `limit` unsequenced events, oldest first (recordedAt, eventId).
    async fn unsequenced_audit_events(&self, limit: u32) -> StoreResult<Vec<crate::audit::AuditEvent>>;
    /// How many events wait for a seq.
    async fn count_unsequenced_audit_events(&self) -> StoreResult<u64>;
    /// Gives each `(eventId, seq, hash)` its place, in one commit that first renews `holder`'s lease (if it is no
    /// longer `holder`'s: `ClaimLost`, nothing written) and fails if any seq is taken or any event already
    /// sequenced (`Conflict`, nothing written).
    async fn sequence_audit_events(
        &self,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
        placed: &[(String, i64, String)],
    ) -> StoreResult<()>;
    async fn insert_audit_checkpoint(&self, checkpoint: &crate::audit::Checkpoint) -> StoreResult<()>;
    /// The checkpoint with the highest seq.
    async fn last_audit_checkpoint(&self) -> StoreResult<Option<crate::audit::Checkpoint>>;
    /// Sequenced events with `seq > after`, in seq order, at most `limit` (the verifier pages through the chain).
    async fn audit_chain(&self, after: i64, limit: u32) -> StoreResult<Vec<crate::audit::AuditEvent>>;
    /// Every stored checkpoint, in seq order.
    async fn audit_checkpoints(&self) -> StoreResult<Vec<crate::audit::Checkpoint>>;
}

/// The cursor key of a revocation: its time as fixed-width milliseconds (text order is time order), then its ID.
pub fn revocation_key(r: &Revocation) -> CursorKey {
    CursorKey { sort: format!("{:020}", r.revoked_at.millis()), id: r.id.clone() }
}

/// The relational store (R).
#[async_trait]
pub trait ClinicStore:
    PatientStore + DoctorStore + DepartmentStore + AppointmentStore + IdempotencyStore + RevocationStore + AuditStore
{
    /// `"sqlite"` or `"mysql"`, as `/health` reports it.
    fn backend(&self) -> &'static str;
    /// The database connection pools behind this store, for `db_pool_connections` (the SQL records store
    /// shares them, so only R reports them).
    fn pools(&self) -> Vec<PoolStats> {
        Vec::new()
    }
    /// A trivial query, for readiness checks.
    async fn ping(&self) -> StoreResult<()>;
    /// The schema version (highest migration applied successfully), for `/health`; `None` for a store without
    /// SQL migrations (test doubles).
    async fn schema_version(&self) -> StoreResult<Option<i64>> {
        Ok(None)
    }
}

#[async_trait]
pub trait MedicalRecordStore: Send + Sync {
    /// Conditional create: `Conflict` if the ID exists; never overwrites. Completes `done` atomically.
    async fn insert_record(
        &self,
        record: &MedicalRecord,
        done: Option<&Completion>,
        event: &AuditEvent,
    ) -> StoreResult<()>;
    /// Strongly consistent read.
    async fn get_record(&self, id: &RecordId) -> StoreResult<Option<MedicalRecord>>;
    /// Amends: in one atomic write, keeps `previous` (the version read) in the record's history, unchanged, and
    /// replaces the record with `next`, only if it exists (`NotFound`) still at `previous.version` (`Stale`).
    /// A history entry is never overwritten: a second amendment from the same version is `Stale`.
    async fn amend_record(&self, previous: &MedicalRecord, next: &MedicalRecord, event: &AuditEvent)
    -> StoreResult<()>;
    /// A record's earlier versions, newest first, at most `limit`, below the version of `after`
    /// (`CursorKey { sort: version as 20-digit text, id: record ID }`).
    async fn list_record_history(
        &self,
        id: &RecordId,
        limit: u32,
        after: Option<&CursorKey>,
    ) -> StoreResult<KeyPage<MedicalRecord>>;
    /// A patient's records, visitDate desc then recordId desc, within `range`, at most `limit`, after `after`.
    async fn list_patient_records(
        &self,
        patient: &PatientId,
        range: DateRange,
        limit: u32,
        after: Option<&CursorKey>,
    ) -> StoreResult<KeyPage<MedicalRecord>>;
}

#[async_trait]
pub trait InvoiceStore: Send + Sync {
    /// Conditional create: `Conflict` if the ID exists; never overwrites. Completes `done` atomically.
    async fn insert_invoice(&self, invoice: &Invoice, done: Option<&Completion>, event: &AuditEvent)
    -> StoreResult<()>;
    /// Strongly consistent read.
    async fn get_invoice(&self, id: &InvoiceId) -> StoreResult<Option<Invoice>>;
    /// Replaces the invoice only if it exists (`NotFound`) at `expected_version` (`Stale`).
    async fn update_invoice(&self, invoice: &Invoice, expected_version: i64, event: &AuditEvent) -> StoreResult<()>;
    /// A patient's invoices, invoiceDate desc then invoiceId desc, optionally of one status.
    async fn list_patient_invoices(
        &self,
        patient: &PatientId,
        status: Option<PaymentStatus>,
        limit: u32,
        after: Option<&CursorKey>,
    ) -> StoreResult<KeyPage<Invoice>>;
}

/// The records store (D).
#[async_trait]
pub trait RecordStore: MedicalRecordStore + InvoiceStore + IdempotencyStore + AuditStore {
    /// `"sqlite"`, `"mysql"` or `"dynamodb"`, as `/health` reports it.
    fn backend(&self) -> &'static str;
    /// A cheap read, for readiness checks.
    async fn ping(&self) -> StoreResult<()>;
}
