//! Patient use cases (API.md §3.1 #4–#8): register, search, read, update and deactivate.

use async_trait::async_trait;

use super::idempotency::{Created, IdempotentRequest};
use super::write::{Precondition, Update, Updated, update};
use super::{Ctx, Service, not_found, only_members};
use crate::domain::ids::PatientId;
use crate::domain::patient::{self, CreatePatientRequest, Patient, PatientStatus, UpdatePatientRequest};
use crate::error::{ApiResult, Entity, OnEntity};
use crate::store::{AuditEvent, Page, PageRequest, PatientFilter, StoreResult};

/// A deactivation's outcome: the patient as stored afterwards and how many appointments it cancelled.
#[derive(Debug, Clone, PartialEq)]
pub struct Deactivated {
    pub patient: Patient,
    pub cancelled_appointments: u64,
}

impl Service {
    /// #4: the duplicate key is enforced by the store's unique index, so concurrent registrations give one winner.
    pub async fn register_patient(
        &self,
        ctx: &Ctx,
        req: CreatePatientRequest,
        once: Option<&IdempotentRequest>,
    ) -> ApiResult<Created<Patient>> {
        self.create_once(self.clinic.clone(), ctx, PATIENTS, once, Entity::Patient, |claim| async move {
            let patient = req.into_patient(ctx.now());
            let location = patient_location(&patient.patient_id);
            let done = claim.map(|c| c.created(ctx, &location, patient.version, &patient)).transpose()?;
            let id = patient.patient_id.as_str();
            let event = ctx.write_event(id, &[id]);
            self.clinic.insert_patient(&patient, done.as_ref(), &event).await.on(Entity::Patient)?;
            ctx.audit.written();
            Ok(patient)
        })
        .await
    }

    /// #5.
    pub async fn search_patients(
        &self,
        ctx: &Ctx,
        filter: &PatientFilter,
        page: PageRequest,
    ) -> ApiResult<Page<Patient>> {
        let page = self.clinic.list_patients(filter, page).await.on(Entity::Patient)?;
        ctx.audit.touch(None, page.items.iter().map(|p| p.patient_id.as_str()));
        Ok(page)
    }

    /// #6.
    pub async fn patient(&self, ctx: &Ctx, raw_id: &str) -> ApiResult<Patient> {
        let patient = self.patient_named(ctx, raw_id).await?;
        ctx.audit.touch(Some(patient.patient_id.as_str()), [patient.patient_id.as_str()]);
        Ok(patient)
    }

    /// #7: a change of `status` to `inactive` cancels future appointments in the same transaction.
    pub async fn update_patient(
        &self,
        ctx: &Ctx,
        raw_id: &str,
        req: &UpdatePatientRequest,
        precondition: &Precondition,
    ) -> ApiResult<Patient> {
        if ctx.own_patient().is_some() {
            only_members(&req.members(), CONTACT_MEMBERS)?;
        }
        let id =
            parse_id(raw_id).and_then(|id| if ctx.sees(&id) { Ok(id) } else { Err(not_found(Entity::Patient)) })?;
        let u = PatientUpdate { service: self, id: &id, change: Change::Fields(req) };
        Ok(update(&u, ctx, &self.turns, precondition).await?.resource)
    }

    /// #8: deactivates (soft delete); an inactive patient is left as is and reports 0 cancellations.
    pub async fn deactivate_patient(
        &self,
        ctx: &Ctx,
        raw_id: &str,
        precondition: &Precondition,
    ) -> ApiResult<Deactivated> {
        let id = parse_id(raw_id)?;
        let u = PatientUpdate { service: self, id: &id, change: Change::Deactivate };
        let Updated { resource, written } = update(&u, ctx, &self.turns, precondition).await?;
        Ok(Deactivated { patient: resource, cancelled_appointments: written.unwrap_or(0) })
    }
}

/// What a patient may change of its own registration (SECURITY.md §3 note 1).
const CONTACT_MEMBERS: &[&str] = &["email", "phone", "address", "emergencyContact"];

/// The collection path, which is also the scope of its POSTs' idempotency keys.
pub const PATIENTS: &str = "/api/v1/patients";

/// Where a patient lives (`Location` of its 201).
pub fn patient_location(id: &PatientId) -> String {
    format!("{PATIENTS}/{id}")
}

fn parse_id(raw: &str) -> ApiResult<PatientId> {
    PatientId::parse(raw).ok_or_else(|| not_found(Entity::Patient))
}

enum Change<'a> {
    Fields(&'a UpdatePatientRequest),
    Deactivate,
}

struct PatientUpdate<'a> {
    service: &'a Service,
    id: &'a PatientId,
    change: Change<'a>,
}

#[async_trait]
impl Update for PatientUpdate<'_> {
    type Resource = Patient;
    /// Appointments cancelled by a deactivation.
    type Written = u64;
    const ENTITY: Entity = Entity::Patient;

    fn id(&self) -> &str {
        self.id.as_str()
    }

    async fn load(&self) -> ApiResult<Option<Patient>> {
        self.service.clinic.get_patient(self.id).await.on(Entity::Patient)
    }

    async fn plan(&self, current: &Patient) -> ApiResult<Option<Patient>> {
        let mut next = current.clone();
        let changed = match self.change {
            Change::Fields(req) => req.apply(&mut next),
            Change::Deactivate => {
                next.status = PatientStatus::Inactive;
                current.status != PatientStatus::Inactive
            }
        };
        Ok(changed.then_some(next))
    }

    fn patient_of<'r>(&self, resource: &'r Patient) -> Option<&'r str> {
        Some(resource.patient_id.as_str())
    }

    async fn write(&self, current: &Patient, next: &Patient, event: &AuditEvent) -> StoreResult<u64> {
        let cancel_from = patient::deactivates(current, next).then_some(next.updated_at);
        self.service.clinic.update_patient(next, current.version, cancel_from, event).await
    }
}
