//! Doctor use cases (API.md §3.2 #11–#14): add, list, read and update. Availability (#15) is with the
//! appointments, whose intervals it reads.

use async_trait::async_trait;

use super::idempotency::{Created, IdempotentRequest};
use super::write::{Precondition, Update, update};
use super::{Ctx, Service, not_found};
use crate::domain::doctor::{CreateDoctorRequest, Doctor, DoctorStatus, UpdateDoctorRequest};
use crate::domain::ids::DoctorId;
use crate::error::{ApiResult, Entity, OnEntity};
use crate::store::{AuditEvent, DoctorFilter, Page, PageRequest, StoreResult};

impl Service {
    /// #11: the department must exist (404) before the licence's uniqueness (409, a unique index) is tried.
    pub async fn add_doctor(
        &self,
        ctx: &Ctx,
        req: CreateDoctorRequest,
        once: Option<&IdempotentRequest>,
    ) -> ApiResult<Created<Doctor>> {
        self.create_once(self.clinic.clone(), ctx, DOCTORS, once, Entity::Doctor, |claim| async move {
            let doctor = self.new_doctor(ctx, req).await?;
            let location = doctor_location(&doctor.doctor_id);
            let done = claim.map(|c| c.created(ctx, &location, doctor.version, &doctor)).transpose()?;
            let event = ctx.write_event(doctor.doctor_id.as_str(), &[]);
            self.clinic.insert_doctor(&doctor, done.as_ref(), &event).await.on(Entity::Doctor)?;
            ctx.audit.written();
            Ok(doctor)
        })
        .await
    }

    async fn new_doctor(&self, ctx: &Ctx, req: CreateDoctorRequest) -> ApiResult<Doctor> {
        let department = self.department_named(&req.department_id).await?;
        let now = ctx.now();
        let doctor = Doctor {
            doctor_id: DoctorId::generate(),
            first_name: req.first_name,
            last_name: req.last_name,
            email: req.email,
            phone: req.phone,
            specialty: req.specialty,
            license_number: req.license_number,
            department_id: department.department_id,
            department_name: department.name,
            years_of_experience: req.years_of_experience,
            qualifications: req.qualifications,
            status: DoctorStatus::Active,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        Ok(doctor)
    }

    /// #12.
    pub async fn list_doctors(&self, _ctx: &Ctx, filter: &DoctorFilter, page: PageRequest) -> ApiResult<Page<Doctor>> {
        self.clinic.list_doctors(filter, page).await.on(Entity::Doctor)
    }

    /// #13.
    pub async fn doctor(&self, _ctx: &Ctx, raw_id: &str) -> ApiResult<Doctor> {
        self.doctor_named(raw_id).await
    }

    /// #14: a new department must exist; a department head cannot move (checked in the store's transaction).
    pub async fn update_doctor(
        &self,
        ctx: &Ctx,
        raw_id: &str,
        req: &UpdateDoctorRequest,
        precondition: &Precondition,
    ) -> ApiResult<Doctor> {
        let id = DoctorId::parse(raw_id).ok_or_else(|| not_found(Entity::Doctor))?;
        Ok(update(&DoctorUpdate { service: self, id: &id, req }, ctx, &self.turns, precondition).await?.resource)
    }
}

/// The collection path, which is also the scope of its POSTs' idempotency keys.
pub const DOCTORS: &str = "/api/v1/doctors";

/// Where a doctor lives (`Location` of its 201).
pub fn doctor_location(id: &DoctorId) -> String {
    format!("{DOCTORS}/{id}")
}

struct DoctorUpdate<'a> {
    service: &'a Service,
    id: &'a DoctorId,
    req: &'a UpdateDoctorRequest,
}

#[async_trait]
impl Update for DoctorUpdate<'_> {
    type Resource = Doctor;
    type Written = ();
    const ENTITY: Entity = Entity::Doctor;

    fn id(&self) -> &str {
        self.id.as_str()
    }

    async fn load(&self) -> ApiResult<Option<Doctor>> {
        self.service.clinic.get_doctor(self.id).await.on(Entity::Doctor)
    }

    async fn plan(&self, current: &Doctor) -> ApiResult<Option<Doctor>> {
        let mut next = current.clone();
        let fields_changed = self.req.apply_fields(&mut next);
        let new_department = self.req.department_change(&current.department_id);
        if !fields_changed && new_department.is_none() {
            return Ok(None);
        }
        if let Some(raw) = new_department {
            let department = self.service.department_named(raw).await?;
            next.department_id = department.department_id;
            next.department_name = department.name;
        }
        Ok(Some(next))
    }

    async fn write(&self, current: &Doctor, next: &Doctor, event: &AuditEvent) -> StoreResult<()> {
        self.service.clinic.update_doctor(next, current.version, event).await
    }
}
