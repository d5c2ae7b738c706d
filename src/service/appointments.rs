//! Appointment use cases (API.md §3.3 #16–#20) and a doctor's availability (§3.2 #15).
//!
//! Patient-active, doctor-active and overlap checks must be atomic with the write, so the store makes them inside
//! its transaction (`book_appointment`, `update_appointment(.., reschedule = true)`) and reports a failed one as
//! `Rejected`; this layer orders the other checks as the contract lists them and applies the state machine.

use async_trait::async_trait;
use chrono::NaiveDate;

use super::idempotency::{Created, IdempotentRequest};
use super::write::{Precondition, Update, update};
use super::{Ctx, Service, not_found, only_members};
use crate::domain::appointment::{Appointment, AppointmentStatus, CreateAppointmentRequest, UpdateAppointmentRequest};
use crate::domain::availability::{self, TimeSlot};
use crate::domain::doctor::DoctorStatus;
use crate::domain::formats::{Date, Time};
use crate::domain::ids::AppointmentId;
use crate::domain::patch::Patch;
use crate::error::{ApiError, ApiResult, Entity, ErrorCode, OnEntity};
use crate::store::{AppointmentFilter, AuditEvent, Page, PageRequest, StoreResult};

/// A doctor's slots over a date range.
#[derive(Debug, Clone, PartialEq)]
pub struct DoctorAvailability {
    pub doctor_id: crate::domain::ids::DoctorId,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub slots: Vec<TimeSlot>,
}

impl Service {
    /// #16 steps 2–7: patient, then doctor must exist; the store checks both are active and that nothing
    /// overlaps, atomically with the insert.
    pub async fn book_appointment(
        &self,
        ctx: &Ctx,
        req: CreateAppointmentRequest,
        once: Option<&IdempotentRequest>,
    ) -> ApiResult<Created<Appointment>> {
        self.create_once(self.clinic.clone(), ctx, APPOINTMENTS, once, Entity::Appointment, |claim| async move {
            let appointment = self.new_appointment(ctx, req).await?;
            let location = appointment_location(&appointment.appointment_id);
            let done = claim.map(|c| c.created(ctx, &location, appointment.version, &appointment)).transpose()?;
            // Patient and doctor were just read and are never deleted: a NotFound here would name the patient,
            // the first row the transaction reads.
            let event = ctx.write_event(appointment.appointment_id.as_str(), &[appointment.patient_id.as_str()]);
            self.clinic.book_appointment(&appointment, done.as_ref(), &event).await.on(Entity::Patient)?;
            ctx.audit.written();
            Ok(appointment)
        })
        .await
    }

    async fn new_appointment(&self, ctx: &Ctx, req: CreateAppointmentRequest) -> ApiResult<Appointment> {
        // A patient books only for itself: another patient's ID is not found (SECURITY.md §3 note 3).
        let patient = self.patient_named(ctx, &req.patient_id).await?;
        let doctor = self.doctor_named(&req.doctor_id).await?;
        let now = ctx.now();
        Ok(Appointment {
            appointment_id: AppointmentId::generate(),
            patient_name: patient.full_name(),
            patient_id: patient.patient_id,
            doctor_name: doctor.display_name(),
            doctor_id: doctor.doctor_id,
            department_id: doctor.department_id,
            appointment_date: Date(req.appointment_date),
            start_time: Time(req.start_time),
            end_time: Time(req.end_time),
            reason: req.reason,
            status: AppointmentStatus::Scheduled,
            notes: req.notes,
            version: 1,
            created_at: now,
            updated_at: now,
        })
    }

    /// #17.
    pub async fn list_appointments(
        &self,
        ctx: &Ctx,
        filter: &AppointmentFilter,
        page: PageRequest,
    ) -> ApiResult<Page<Appointment>> {
        // A patient's list is narrowed in the query to its own rows, on every page (note 2); naming another
        // patient matches nothing.
        let narrowed;
        let filter = match ctx.own_patient() {
            None => filter,
            Some(own) if filter.patient_id.as_deref().is_some_and(|p| p != own.as_str()) => {
                return Ok(Page { items: Vec::new(), total: 0 });
            }
            Some(own) => {
                narrowed = AppointmentFilter { patient_id: Some(own.to_string()), ..filter.clone() };
                &narrowed
            }
        };
        let page = self.clinic.list_appointments(filter, page).await.on(Entity::Appointment)?;
        ctx.audit.touch(None, page.items.iter().map(|a| a.patient_id.as_str()));
        Ok(page)
    }

    /// #18.
    pub async fn appointment(&self, ctx: &Ctx, raw_id: &str) -> ApiResult<Appointment> {
        let id = parse_id(raw_id)?;
        let found = self.clinic.get_appointment(&id).await.on(Entity::Appointment)?;
        let appointment = found.filter(|a| ctx.sees(&a.patient_id)).ok_or_else(|| not_found(Entity::Appointment))?;
        ctx.audit.touch(Some(id.as_str()), [appointment.patient_id.as_str()]);
        Ok(appointment)
    }

    /// #19: the state machine and the reschedule rules (`UpdateAppointmentRequest::plan`), then the store's
    /// atomic re-check of a reschedule.
    pub async fn update_appointment(
        &self,
        ctx: &Ctx,
        raw_id: &str,
        req: &UpdateAppointmentRequest,
        precondition: &Precondition,
    ) -> ApiResult<Appointment> {
        if ctx.own_patient().is_some() {
            // Note 3: a patient reschedules (date, times, reason) or cancels; nothing else.
            let mut sent = req.members();
            if req.status == Patch::Set(AppointmentStatus::Cancelled) {
                sent.retain(|m| *m != "status");
            }
            only_members(&sent, &["appointmentDate", "startTime", "endTime", "reason"])?;
        }
        let id = parse_id(raw_id)?;
        let u = AppointmentUpdate { service: self, id: &id, ctx, change: Change::Fields(req) };
        Ok(update(&u, ctx, &self.turns, precondition).await?.resource)
    }

    /// #20: only a `scheduled` appointment can be cancelled; the slot is free at once.
    pub async fn cancel_appointment(
        &self,
        ctx: &Ctx,
        raw_id: &str,
        precondition: &Precondition,
    ) -> ApiResult<Appointment> {
        let id = parse_id(raw_id)?;
        let u = AppointmentUpdate { service: self, id: &id, ctx, change: Change::Cancel };
        Ok(update(&u, ctx, &self.turns, precondition).await?.resource)
    }

    /// #15 steps 2–4, for a range already validated: a doctor who is not `active` has no slots.
    pub async fn doctor_availability(
        &self,
        ctx: &Ctx,
        raw_id: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> ApiResult<DoctorAvailability> {
        let doctor = self.doctor_named(raw_id).await?;
        let slots = if doctor.status == DoctorStatus::Active {
            let busy = self.clinic.doctor_busy_intervals(&doctor.doctor_id, start, end).await.on(Entity::Doctor)?;
            availability::generate(&self.settings.schedule, start, end, ctx.today(), &busy)
        } else {
            Vec::new()
        };
        Ok(DoctorAvailability { doctor_id: doctor.doctor_id, start, end, slots })
    }
}

/// The collection path, which is also the scope of its POSTs' idempotency keys.
pub const APPOINTMENTS: &str = "/api/v1/appointments";

/// Where an appointment lives (`Location` of its 201).
pub fn appointment_location(id: &AppointmentId) -> String {
    format!("{APPOINTMENTS}/{id}")
}

fn parse_id(raw: &str) -> ApiResult<AppointmentId> {
    AppointmentId::parse(raw).ok_or_else(|| not_found(Entity::Appointment))
}

enum Change<'a> {
    Fields(&'a UpdateAppointmentRequest),
    Cancel,
}

struct AppointmentUpdate<'a> {
    service: &'a Service,
    id: &'a AppointmentId,
    ctx: &'a Ctx,
    change: Change<'a>,
}

/// Whether `next` moves `current` in time, which the store must re-check like a booking.
fn is_reschedule(current: &Appointment, next: &Appointment) -> bool {
    (current.appointment_date, current.start_time, current.end_time)
        != (next.appointment_date, next.start_time, next.end_time)
}

#[async_trait]
impl Update for AppointmentUpdate<'_> {
    type Resource = Appointment;
    type Written = ();
    const ENTITY: Entity = Entity::Appointment;

    fn id(&self) -> &str {
        self.id.as_str()
    }

    /// Another patient's appointment is, to a patient, one that does not exist.
    async fn load(&self) -> ApiResult<Option<Appointment>> {
        let found = self.service.clinic.get_appointment(self.id).await.on(Entity::Appointment)?;
        Ok(found.filter(|a| self.ctx.sees(&a.patient_id)))
    }

    async fn plan(&self, current: &Appointment) -> ApiResult<Option<Appointment>> {
        match self.change {
            Change::Fields(req) => Ok(req.plan(current, self.ctx.today())?.map(|(next, _)| next)),
            Change::Cancel => {
                if current.status != AppointmentStatus::Scheduled {
                    return Err(ApiError::new(ErrorCode::INVALID_APPOINTMENT_DATA)
                        .with_message("Cannot cancel this appointment"));
                }
                let mut next = current.clone();
                next.status = AppointmentStatus::Cancelled;
                Ok(Some(next))
            }
        }
    }

    fn patient_of<'r>(&self, resource: &'r Appointment) -> Option<&'r str> {
        Some(resource.patient_id.as_str())
    }

    async fn write(&self, current: &Appointment, next: &Appointment, event: &AuditEvent) -> StoreResult<()> {
        self.service.clinic.update_appointment(next, current.version, is_reschedule(current, next), event).await
    }
}
