//! Use cases: one function per API operation, between the handlers (which only parse, call and map) and the
//! store ports (DESIGN.md §1, STYLE.md §1).
//!
//! Every use case takes a [`Ctx`] (who acts, which request, what time it is) and returns domain values or an
//! [`ApiError`]. Pure rules live in `crate::domain`; rules that must be atomic with a write live in the store
//! adapters' transactions; this layer orders the checks as API.md lists them, runs the read–plan–conditional
//! write–re-read protocol once ([`write::update`]) and maps every store error through [`ApiError::from_store`].
//!
//! Where a new rule goes: a rule that needs only the values at hand is a pure function in `domain/`, called from
//! the use case's plan; a rule that must hold against concurrent writers goes into the adapter's transaction and
//! comes back as `StoreError::Rejected`.

pub mod appointments;
pub mod departments;
pub mod doctors;
pub mod idempotency;
pub mod invoices;
pub mod medical_records;
pub mod patients;
pub mod write;

use std::sync::Arc;

use chrono::NaiveDate;

use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::formats::Timestamp;
use crate::error::{ApiError, ApiResult, Entity, OnEntity};
use crate::store::{ClinicStore, RecordStore};

/// Who is acting. Until authentication exists every caller is the anonymous principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub sub: String,
}

impl Actor {
    /// The principal of an unauthenticated request.
    pub fn anonymous() -> Self {
        Self { sub: "anonymous".to_owned() }
    }
}

/// The context every use case runs in: the actor, the request it serves and the clock.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub actor: Actor,
    /// `X-Request-Id` of the request (empty outside one).
    pub request_id: String,
    clock: Arc<dyn Clock>,
}

impl Ctx {
    pub fn new(actor: Actor, request_id: String, clock: Arc<dyn Clock>) -> Self {
        Self { actor, request_id, clock }
    }

    /// Now, at the millisecond precision every store keeps.
    pub fn now(&self) -> Timestamp {
        self.clock.timestamp()
    }

    /// Today: the server clock's UTC date (API.md §0).
    pub fn today(&self) -> NaiveDate {
        self.clock.now().date_naive()
    }
}

/// The use cases over both stores. Cheap to clone: every member is shared.
#[derive(Clone)]
pub struct Service {
    /// R, behind its guard.
    pub(crate) clinic: Arc<dyn ClinicStore>,
    /// D, behind its guard.
    pub(crate) records: Arc<dyn RecordStore>,
    pub(crate) settings: Arc<Settings>,
    /// Turns of concurrent writers of one resource (see `write`).
    pub(crate) turns: Arc<write::WriterTurns>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service").finish_non_exhaustive()
    }
}

impl Service {
    pub fn new(clinic: Arc<dyn ClinicStore>, records: Arc<dyn RecordStore>, settings: Arc<Settings>) -> Self {
        Self { clinic, records, settings, turns: Arc::new(write::WriterTurns::new()) }
    }

    /// The patient a path or body names, any status; a malformed ID is simply not found.
    pub(crate) async fn patient_named(&self, raw: &str) -> ApiResult<crate::domain::patient::Patient> {
        let id = crate::domain::ids::PatientId::parse(raw).ok_or_else(|| not_found(Entity::Patient))?;
        self.clinic.get_patient(&id).await.on(Entity::Patient)?.ok_or_else(|| not_found(Entity::Patient))
    }

    /// The doctor a path or body names, any status; a malformed ID is simply not found.
    pub(crate) async fn doctor_named(&self, raw: &str) -> ApiResult<crate::domain::doctor::Doctor> {
        let id = crate::domain::ids::DoctorId::parse(raw).ok_or_else(|| not_found(Entity::Doctor))?;
        self.clinic.get_doctor(&id).await.on(Entity::Doctor)?.ok_or_else(|| not_found(Entity::Doctor))
    }

    /// The department a path or body names; a malformed ID is simply not found.
    pub(crate) async fn department_named(&self, raw: &str) -> ApiResult<crate::domain::department::Department> {
        let id = crate::domain::ids::DepartmentId::parse(raw).ok_or_else(|| not_found(Entity::Department))?;
        self.clinic.get_department(&id).await.on(Entity::Department)?.ok_or_else(|| not_found(Entity::Department))
    }

    /// The appointment a body's `appointmentId` names; missing or malformed → 400 `appointmentId: not found`
    /// (a body reference that does not fit is a validation failure, API.md §3.5 step 4, §3.6 step 3).
    pub(crate) async fn appointment_reference(&self, raw: &str) -> ApiResult<crate::domain::appointment::Appointment> {
        let found = match crate::domain::ids::AppointmentId::parse(raw) {
            Some(id) => self.clinic.get_appointment(&id).await.on(Entity::Appointment)?,
            None => None,
        };
        found.ok_or_else(|| ApiError::invalid("appointmentId", "not found"))
    }
}

/// The 404 of `entity`.
pub(crate) fn not_found(entity: Entity) -> ApiError {
    ApiError::new(entity.not_found())
}
