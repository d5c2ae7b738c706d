//! Medical-record use cases (API.md §3.5 #24–#26) and a patient's records (§3.1 #9).
//!
//! References (patient, doctor, appointment) are checked against R; the record lives in D. There is no
//! cross-store transaction: R rows are never deleted, so a reference checked once stays valid (DESIGN.md §1).

use async_trait::async_trait;

use super::idempotency::{Created, IdempotentRequest};
use super::write::{Precondition, Update, update};
use super::{Ctx, Service, not_found, only_members};
use crate::auth::Access;
use crate::domain::ids::{PatientId, RecordId};
use crate::domain::medical_record::{
    CreateMedicalRecordRequest, MedicalRecord, UpdateMedicalRecordRequest, check_appointment,
};
use crate::domain::patient::PatientStatus;
use crate::error::{ApiError, ApiResult, Entity, ErrorCode, OnEntity};
use crate::store::{AuditEvent, CursorKey, DateRange, KeyPage, StoreResult};

impl Service {
    /// #24 steps 2–6, in the contract's order: patient, doctor, appointment reference, patient active, write.
    pub async fn create_record(
        &self,
        ctx: &Ctx,
        req: CreateMedicalRecordRequest,
        once: Option<&IdempotentRequest>,
    ) -> ApiResult<Created<MedicalRecord>> {
        self.create_once(self.records.clone(), ctx, RECORDS, once, Entity::MedicalRecord, |claim| async move {
            let record = self.new_record(ctx, req).await?;
            let location = record_location(&record.record_id);
            let done = claim.map(|c| c.created(ctx, &location, record.version, &record)).transpose()?;
            let event = ctx.write_event(record.record_id.as_str(), &[record.patient_id.as_str()]);
            self.records.insert_record(&record, done.as_ref(), &event).await.on(Entity::MedicalRecord)?;
            ctx.audit.written();
            Ok(record)
        })
        .await
    }

    async fn new_record(&self, ctx: &Ctx, req: CreateMedicalRecordRequest) -> ApiResult<MedicalRecord> {
        let patient = self.patient_named(ctx, &req.patient_id).await?;
        let doctor = self.doctor_named(&req.doctor_id).await?;
        let appointment_id = match &req.appointment_id {
            Some(raw) => {
                let appointment = self.appointment_reference(raw).await?;
                check_appointment(&appointment, &patient.patient_id, &doctor.doctor_id)?;
                Some(appointment.appointment_id)
            }
            None => None,
        };
        if patient.status != PatientStatus::Active {
            return Err(ApiError::new(ErrorCode::PATIENT_INACTIVE));
        }
        let now = ctx.now();
        Ok(MedicalRecord {
            record_id: RecordId::generate(),
            patient_id: patient.patient_id,
            doctor_name: doctor.display_name(),
            doctor_id: doctor.doctor_id,
            appointment_id,
            visit_date: req.visit_date,
            chief_complaint: req.chief_complaint,
            diagnosis: req.diagnosis,
            symptoms: req.symptoms,
            treatment: req.treatment,
            prescriptions: req.prescriptions,
            lab_results: req.lab_results,
            vital_signs: req.vital_signs,
            notes: req.notes,
            follow_up_date: req.follow_up_date,
            amendment_reason: None,
            version: 1,
            created_at: now,
            updated_at: now,
        })
    }

    /// #25: a strongly consistent read.
    pub async fn record(&self, ctx: &Ctx, raw_id: &str) -> ApiResult<MedicalRecord> {
        let id = parse_id(raw_id)?;
        let found = self.records.get_record(&id).await.on(Entity::MedicalRecord)?;
        let record = found.filter(|r| ctx.sees(&r.patient_id)).ok_or_else(|| not_found(Entity::MedicalRecord))?;
        ctx.audit.touch(Some(id.as_str()), [record.patient_id.as_str()]);
        Ok(record)
    }

    /// #26: an amendment, conditional on the version read; the version it replaces goes into the history in the
    /// same atomic write.
    pub async fn amend_record(
        &self,
        ctx: &Ctx,
        raw_id: &str,
        req: &UpdateMedicalRecordRequest,
        precondition: &Precondition,
    ) -> ApiResult<MedicalRecord> {
        if ctx.access == Access::VitalsOnly {
            // Note 4: a nurse records vital signs, nothing else of the record.
            only_members(&req.members(), &["vitalSigns", "amendmentReason"])?;
        }
        let id = parse_id(raw_id)?;
        Ok(update(&RecordAmendment { service: self, id: &id, req }, ctx, &self.turns, precondition).await?.resource)
    }

    /// [history] §3.7: the record must exist; then one page of its earlier versions, newest first.
    pub async fn record_history(
        &self,
        ctx: &Ctx,
        raw_id: &str,
        limit: u32,
        after: Option<&CursorKey>,
    ) -> ApiResult<(RecordId, KeyPage<MedicalRecord>)> {
        let record = self.record(ctx, raw_id).await?;
        let page = self.records.list_record_history(&record.record_id, limit, after).await.on(Entity::MedicalRecord)?;
        Ok((record.record_id, page))
    }

    /// #9 steps 2–3: the patient must exist (any status); then one page of D's index.
    pub async fn patient_records(
        &self,
        ctx: &Ctx,
        raw_patient: &str,
        range: DateRange,
        limit: u32,
        after: Option<&CursorKey>,
    ) -> ApiResult<(PatientId, KeyPage<MedicalRecord>)> {
        let patient = self.patient_named(ctx, raw_patient).await?;
        let page = self
            .records
            .list_patient_records(&patient.patient_id, range, limit, after)
            .await
            .on(Entity::MedicalRecord)?;
        ctx.audit.touch(Some(patient.patient_id.as_str()), [patient.patient_id.as_str()]);
        Ok((patient.patient_id, page))
    }
}

/// The collection path, which is also the scope of its POSTs' idempotency keys.
pub const RECORDS: &str = "/api/v1/medical-records";

/// Where a medical record lives (`Location` of its 201).
pub fn record_location(id: &RecordId) -> String {
    format!("{RECORDS}/{id}")
}

fn parse_id(raw: &str) -> ApiResult<RecordId> {
    RecordId::parse(raw).ok_or_else(|| not_found(Entity::MedicalRecord))
}

struct RecordAmendment<'a> {
    service: &'a Service,
    id: &'a RecordId,
    req: &'a UpdateMedicalRecordRequest,
}

#[async_trait]
impl Update for RecordAmendment<'_> {
    type Resource = MedicalRecord;
    type Written = ();
    const ENTITY: Entity = Entity::MedicalRecord;

    fn id(&self) -> &str {
        self.id.as_str()
    }

    async fn load(&self) -> ApiResult<Option<MedicalRecord>> {
        self.service.records.get_record(self.id).await.on(Entity::MedicalRecord)
    }

    async fn plan(&self, current: &MedicalRecord) -> ApiResult<Option<MedicalRecord>> {
        self.req.plan(current)
    }

    fn patient_of<'r>(&self, resource: &'r MedicalRecord) -> Option<&'r str> {
        Some(resource.patient_id.as_str())
    }

    async fn write(&self, current: &MedicalRecord, next: &MedicalRecord, event: &AuditEvent) -> StoreResult<()> {
        self.service.records.amend_record(current, next, event).await
    }
}
