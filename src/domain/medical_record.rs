//! Medical record document (API.md §2.6). Stored whole, as the records store's document.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::appointment::Appointment;
use super::formats::{Date, Timestamp};
use super::ids::{AppointmentId, DoctorId, PatientId, RecordId};
use super::patch::{Patch, replace};
use crate::error::{ApiError, ApiResult};

/// One prescribed medication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Prescription {
    pub medication: String,
    pub dosage: String,
    pub frequency: String,
    pub duration: String,
}

/// One laboratory result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LabResult {
    pub test_name: String,
    pub result: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub normal_range: Option<String>,
}

/// Vital signs at the visit; unset members omitted.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VitalSigns {
    /// `"SYS/DIA"` in mmHg.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub blood_pressure: Option<String>,
    /// Beats per minute.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub heart_rate: Option<i64>,
    /// Degrees Celsius.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub temperature: Option<f64>,
    /// Kilograms.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub weight: Option<f64>,
    /// Centimetres.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub height: Option<f64>,
}

impl VitalSigns {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A medical record as the API returns it; `doctorName` is the snapshot taken at creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MedicalRecord {
    pub record_id: RecordId,
    pub patient_id: PatientId,
    pub doctor_id: DoctorId,
    pub doctor_name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub appointment_id: Option<AppointmentId>,
    pub visit_date: Timestamp,
    pub chief_complaint: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub diagnosis: Option<String>,
    pub symptoms: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub treatment: Option<String>,
    pub prescriptions: Vec<Prescription>,
    pub lab_results: Vec<LabResult>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub vital_signs: Option<VitalSigns>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub notes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub follow_up_date: Option<Date>,
    /// [history] Why this version was written (unset for the first version and for amendments without one).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub amendment_reason: Option<String>,
    /// Optimistic-concurrency counter (API.md §1.10). Stores keep it beside the document, so reading a
    /// document without it is fine.
    #[serde(default)]
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl MedicalRecord {
    /// The key a patient's records are ordered by (newest first), as sortable text.
    pub fn sort_key(&self) -> String {
        self.visit_date.to_string()
    }
}
/// Body of `POST /api/v1/medical-records` (API.md §2.6, Create column).
#[derive(Debug, Clone, PartialEq, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct CreateMedicalRecordRequest {
    /// An existing patient with status `active`.
    #[schema(example = "PAT-01M88ZQHVRM9S346Q3D25VT4F5")]
    pub patient_id: String,
    /// An existing doctor, any status.
    #[schema(example = "DOC-01M88ZSCERV37E3S3E28JT97KB")]
    pub doctor_id: String,
    /// An existing appointment of the same patient and doctor.
    #[schema(example = "APT-01M88ZX1MRF5KZNWJ47TAN9ZT2")]
    pub appointment_id: Option<String>,
    /// ≥ 1900-01-01 and ≤ now + 5 minutes.
    pub visit_date: Timestamp,
    /// 1–1000 characters.
    pub chief_complaint: String,
    /// 1–2000 characters.
    pub diagnosis: Option<String>,
    /// At most 50 items, each 1–200 characters.
    #[schema(required = false)]
    pub symptoms: Vec<String>,
    /// 1–2000 characters.
    pub treatment: Option<String>,
    /// At most 50 items.
    #[schema(required = false)]
    pub prescriptions: Vec<Prescription>,
    /// At most 100 items.
    #[schema(required = false)]
    pub lab_results: Vec<LabResult>,
    pub vital_signs: Option<VitalSigns>,
    /// 1–10000 characters.
    pub notes: Option<String>,
    /// On or after the UTC date of `visitDate`.
    pub follow_up_date: Option<Date>,
}

/// Body of `PUT /api/v1/medical-records/{recordId}`: a partial amendment (API.md §2.6, Update column).
///
/// Absent fields stay unchanged; `null` clears `diagnosis`, `treatment`, `notes`, `followUpDate` and
/// `vitalSigns`; arrays are replaced whole and `null` empties them. Other fields are ignored.
#[derive(Debug, Clone, PartialEq, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct UpdateMedicalRecordRequest {
    #[schema(value_type = Option<String>)]
    pub diagnosis: Patch<String>,
    #[schema(value_type = Option<String>)]
    pub treatment: Patch<String>,
    #[schema(value_type = Option<String>)]
    pub notes: Patch<String>,
    #[schema(value_type = Option<Date>)]
    pub follow_up_date: Patch<Date>,
    #[schema(value_type = Option<VitalSigns>)]
    pub vital_signs: Patch<VitalSigns>,
    pub symptoms: Option<Vec<String>>,
    pub prescriptions: Option<Vec<Prescription>>,
    pub lab_results: Option<Vec<LabResult>>,
    /// [history] Why the record is amended (1–500 characters); becomes the new version's `amendmentReason`.
    /// Sending it alone changes nothing.
    #[schema(min_length = 1, max_length = 500)]
    pub amendment_reason: Option<String>,
}

impl UpdateMedicalRecordRequest {
    /// Applies the amendment; `true` when anything actually changed (a value equal to the stored one is no change).
    pub fn apply(&self, rec: &mut MedicalRecord) -> bool {
        let mut changed = false;
        changed |= self.diagnosis.clone().apply_opt(&mut rec.diagnosis);
        changed |= self.treatment.clone().apply_opt(&mut rec.treatment);
        changed |= self.notes.clone().apply_opt(&mut rec.notes);
        changed |= self.follow_up_date.clone().apply_opt(&mut rec.follow_up_date);
        changed |= self.vital_signs.clone().apply_opt(&mut rec.vital_signs);
        changed |= replace(&mut rec.symptoms, self.symptoms.as_ref());
        changed |= replace(&mut rec.prescriptions, self.prescriptions.as_ref());
        changed |= replace(&mut rec.lab_results, self.lab_results.as_ref());
        changed
    }

    /// Steps 4–5 of #26 against the stored record: `None` when nothing changes, else the amended record (version
    /// and `updatedAt` still to be stamped). Only a newly sent follow-up date is checked against the visit: a
    /// stored one was valid when written (or predates the rule).
    pub fn plan(&self, current: &MedicalRecord) -> ApiResult<Option<MedicalRecord>> {
        let mut next = current.clone();
        if !self.apply(&mut next) {
            return Ok(None);
        }
        // The reason belongs to the version being written: the previous version keeps its own in the history.
        next.amendment_reason.clone_from(&self.amendment_reason);
        if let Patch::Set(follow_up) = self.follow_up_date
            && follow_up.0 < current.visit_date.date()
        {
            return Err(ApiError::invalid("followUpDate", "must not be before the date of visitDate"));
        }
        Ok(Some(next))
    }
}

/// Step 4 of #24: an appointment named by a new record must be of the same patient and doctor.
pub fn check_appointment(appointment: &Appointment, patient: &PatientId, doctor: &DoctorId) -> ApiResult<()> {
    if appointment.patient_id != *patient || appointment.doctor_id != *doctor {
        return Err(ApiError::invalid("appointmentId", "belongs to another patient or doctor"));
    }
    Ok(())
}
