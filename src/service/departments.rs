//! Department use cases (API.md §3.4): list, create, read, update (including the head doctor) and the
//! department's doctors.

use async_trait::async_trait;

use super::idempotency::{Created, IdempotentRequest};
use super::write::{Precondition, Update, update};
use super::{Ctx, Service, not_found};
use crate::domain::department::{CreateDepartmentRequest, Department, UpdateDepartmentRequest};
use crate::domain::doctor::Doctor;
use crate::domain::ids::DepartmentId;
use crate::error::{ApiError, ApiResult, Entity, ErrorCode, OnEntity};
use crate::store::{AuditEvent, StoreResult};

/// A department with every doctor it has (any status).
#[derive(Debug, Clone, PartialEq)]
pub struct DepartmentStaff {
    pub department: Department,
    pub doctors: Vec<Doctor>,
}

impl Service {
    /// #21.
    pub async fn list_departments(&self, _ctx: &Ctx) -> ApiResult<Vec<Department>> {
        self.clinic.list_departments().await.on(Entity::Department)
    }

    /// POST: the name's uniqueness is the store's unique index (409).
    pub async fn create_department(
        &self,
        ctx: &Ctx,
        req: CreateDepartmentRequest,
        once: Option<&IdempotentRequest>,
    ) -> ApiResult<Created<Department>> {
        self.create_once(self.clinic.clone(), ctx, DEPARTMENTS, once, Entity::Department, |claim| async move {
            let department = new_department(ctx, req);
            let location = department_location(&department.department_id);
            let done = claim.map(|c| c.created(ctx, &location, department.version, &department)).transpose()?;
            let event = ctx.write_event(department.department_id.as_str(), &[]);
            self.clinic.insert_department(&department, done.as_ref(), &event).await.on(Entity::Department)?;
            ctx.audit.written();
            Ok(department)
        })
        .await
    }

    /// #22.
    pub async fn department(&self, _ctx: &Ctx, raw_id: &str) -> ApiResult<Department> {
        self.department_named(raw_id).await
    }

    /// PUT: a new head must exist (404) and belong to this department (409, re-checked in the transaction).
    pub async fn update_department(
        &self,
        ctx: &Ctx,
        raw_id: &str,
        req: &UpdateDepartmentRequest,
        precondition: &Precondition,
    ) -> ApiResult<Department> {
        let id = DepartmentId::parse(raw_id).ok_or_else(|| not_found(Entity::Department))?;
        Ok(update(&DepartmentUpdate { service: self, id: &id, req }, ctx, &self.turns, precondition).await?.resource)
    }

    /// #23.
    pub async fn department_staff(&self, _ctx: &Ctx, raw_id: &str) -> ApiResult<DepartmentStaff> {
        let department = self.department_named(raw_id).await?;
        let doctors = self.clinic.list_department_doctors(&department.department_id).await.on(Entity::Department)?;
        Ok(DepartmentStaff { department, doctors })
    }

    /// 409 DEPARTMENT_ALREADY_EXISTS when another department already uses `name` (case-insensitive, lower-cased
    /// the same way the store's unique index is).
    async fn name_unused(&self, id: &DepartmentId, name: &str) -> ApiResult<()> {
        let wanted = name.to_lowercase();
        let taken = self
            .clinic
            .list_departments()
            .await
            .on(Entity::Department)?
            .iter()
            .any(|d| d.department_id != *id && d.name.to_lowercase() == wanted);
        if taken { Err(ApiError::new(ErrorCode::DEPARTMENT_ALREADY_EXISTS)) } else { Ok(()) }
    }
}

/// The collection path, which is also the scope of its POSTs' idempotency keys.
pub const DEPARTMENTS: &str = "/api/v1/departments";

/// Where a department lives (`Location` of its 201).
pub fn department_location(id: &DepartmentId) -> String {
    format!("{DEPARTMENTS}/{id}")
}

/// A new department: no head yet (one is appointed with PUT), no doctors.
fn new_department(ctx: &Ctx, req: CreateDepartmentRequest) -> Department {
    let now = ctx.now();
    Department {
        department_id: DepartmentId::generate(),
        name: req.name,
        description: req.description,
        floor: req.floor,
        extension: req.extension,
        head_doctor_id: None,
        head_doctor_name: None,
        number_of_doctors: 0,
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

struct DepartmentUpdate<'a> {
    service: &'a Service,
    id: &'a DepartmentId,
    req: &'a UpdateDepartmentRequest,
}

#[async_trait]
impl Update for DepartmentUpdate<'_> {
    type Resource = Department;
    type Written = ();
    const ENTITY: Entity = Entity::Department;

    fn id(&self) -> &str {
        self.id.as_str()
    }

    async fn load(&self) -> ApiResult<Option<Department>> {
        self.service.clinic.get_department(self.id).await.on(Entity::Department)
    }

    async fn plan(&self, current: &Department) -> ApiResult<Option<Department>> {
        let mut next = current.clone();
        let fields_changed = self.req.apply_fields(&mut next);
        let head = self.req.head_change(current.head_doctor_id.as_ref());
        if !fields_changed && head.is_none() {
            return Ok(None);
        }
        match head {
            Some(Some(raw)) => {
                // The name rule comes before the head checks (API.md §3.4 step 5); the unique index is the
                // real guard, this only orders the errors when both would fail.
                if next.name != current.name {
                    self.service.name_unused(self.id, &next.name).await?;
                }
                let doctor = self.service.doctor_named(raw).await?;
                if doctor.department_id != *self.id {
                    return Err(ApiError::new(ErrorCode::DEPARTMENT_HEAD_CONFLICT));
                }
                next.head_doctor_name = Some(doctor.display_name());
                next.head_doctor_id = Some(doctor.doctor_id);
            }
            Some(None) => {
                next.head_doctor_id = None;
                next.head_doctor_name = None;
            }
            None => {}
        }
        Ok(Some(next))
    }

    async fn write(&self, current: &Department, next: &Department, event: &AuditEvent) -> StoreResult<()> {
        self.service.clinic.update_department(next, current.version, event).await
    }
}
