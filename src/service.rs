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
pub mod audit;
pub mod departments;
pub mod doctors;
pub mod idempotency;
pub mod invoices;
pub mod medical_records;
pub mod patients;
pub mod revocations;
pub mod write;

use std::sync::Arc;

use chrono::NaiveDate;

use crate::audit::note::AuditNote;
use crate::auth::Access;
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::formats::Timestamp;
use crate::domain::ids::PatientId;
use crate::error::{ApiError, ApiResult, Entity, OnEntity};
use crate::store::{ClinicStore, RecordStore};

/// Who is acting: the principal the request's token proved (`anonymous` in mode `off`), shared, not copied.
pub type Actor = std::sync::Arc<crate::auth::Principal>;

/// The context every use case runs in: the actor, what the matrix granted it on this route, the request it
/// serves and the clock.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub actor: Actor,
    /// Row and field limits of this route for this actor (SECURITY.md §3); `Full` for every staff grant.
    pub access: Access,
    /// `X-Request-Id` of the request (empty outside one).
    pub request_id: String,
    /// The request's audit note: reads name the patients they answer with, writes take their event from it.
    pub audit: AuditNote,
    clock: Arc<dyn Clock>,
}

impl Ctx {
    pub fn new(actor: Actor, access: Access, request_id: String, clock: Arc<dyn Clock>) -> Self {
        Self { actor, access, request_id, audit: AuditNote::default(), clock }
    }

    /// The same context, recording into `note`.
    pub fn with_audit(mut self, note: AuditNote) -> Self {
        self.audit = note;
        self
    }

    /// The event a write of `resource_id`, about `patients`, commits with itself.
    pub fn write_event(&self, resource_id: &str, patients: &[&str]) -> crate::audit::AuditEvent {
        self.audit.write_event(resource_id, patients, self.now())
    }

    /// The one patient whose rows this actor may touch here, when it is limited to its own (the `patient` role).
    pub fn own_patient(&self) -> Option<&PatientId> {
        match &self.access {
            Access::OwnPatient(id) => Some(id),
            _ => None,
        }
    }

    /// Whether a row of patient `id` is visible: always, unless the actor is limited to another patient's
    /// rows, which then answer 404 exactly as if they did not exist.
    pub fn sees(&self, id: &PatientId) -> bool {
        self.own_patient().is_none_or(|own| own == id)
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

    /// The patient a path or body names, any status; a malformed ID is simply not found, and so is another
    /// patient's ID for an actor limited to its own rows (checked before the store is asked).
    pub(crate) async fn patient_named(&self, ctx: &Ctx, raw: &str) -> ApiResult<crate::domain::patient::Patient> {
        let id = crate::domain::ids::PatientId::parse(raw)
            .filter(|id| ctx.sees(id))
            .ok_or_else(|| not_found(Entity::Patient))?;
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

/// A field-level denial (SECURITY.md §3 notes 1, 3, 4): 403 FORBIDDEN with one detail per member that this
/// role may not send; `Ok` when every member sent is allowed.
pub(crate) fn only_members(sent: &[&'static str], allowed: &[&str]) -> ApiResult<()> {
    let refused: Vec<String> =
        sent.iter().filter(|m| !allowed.contains(m)).map(|m| format!("{m}: not allowed for this role")).collect();
    if refused.is_empty() {
        Ok(())
    } else {
        Err(ApiError::new(crate::error::ErrorCode::FORBIDDEN)
            .with_challenge(crate::middleware::auth::INSUFFICIENT_SCOPE)
            .with_details(refused))
    }
}

/// The 404 of `entity`.
pub(crate) fn not_found(entity: Entity) -> ApiError {
    ApiError::new(entity.not_found())
}
