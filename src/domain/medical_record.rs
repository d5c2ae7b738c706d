//! Medical record document (API.md §2.6). Stored whole, as the records store's document.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::appointment::Appointment;
use super::formats::{Date, Timestamp};
use super::ids::{AppointmentId, DoctorId, PatientId, RecordId};
use super::patch::{Patch, replace};
use super::schema;
use crate::error::{ApiError, ApiResult};

/// One prescribed medication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Prescription {
    #[schema(schema_with = schema::text::<200>)]
    pub medication: String,
    #[schema(schema_with = schema::text::<100>)]
    pub dosage: String,
    #[schema(schema_with = schema::text::<100>)]
    pub frequency: String,
    #[schema(schema_with = schema::text::<100>)]
    pub duration: String,
}

/// One laboratory result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LabResult {
    #[schema(schema_with = schema::text::<200>)]
    pub test_name: String,
    #[schema(schema_with = schema::text::<500>)]
    pub result: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(schema_with = schema::optional_text::<200>)]
    pub normal_range: Option<String>,
}

/// Vital signs at the visit; unset members omitted.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VitalSigns {
    /// `"SYS/DIA"` in whole mmHg: SYS 40–300, DIA 20–200, and SYS above DIA.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(schema_with = blood_pressure_schema)]
    pub blood_pressure: Option<String>,
    /// Beats per minute, 20–300.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(schema_with = schema::optional_integer::<20, 300>)]
    pub heart_rate: Option<i64>,
    /// Degrees Celsius, 25.0–45.0.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(schema_with = temperature_schema)]
    pub temperature: Option<f64>,
    /// Kilograms, 0.2–700.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(schema_with = weight_schema)]
    pub weight: Option<f64>,
    /// Centimetres, 20–300.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(schema_with = height_schema)]
    pub height: Option<f64>,
}

/// SYS 40–300 and DIA 20–200, each at most 6 digits (leading zeros allowed), as `vital_signs`' parser reads them.
/// That SYS is above DIA is a rule between the two that a pattern does not state.
fn blood_pressure_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    let sys = "(0{0,4}(4[0-9]|[5-9][0-9])|0{0,3}(1[0-9]{2}|2[0-9]{2}|300))";
    let dia = "(0{0,4}[2-9][0-9]|0{0,3}(1[0-9]{2}|200))";
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .pattern(Some(format!("^{sys}/{dia}$")))
        .examples([serde_json::Value::from("120/80")])
        .into()
}

fn temperature_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    schema::optional_number(25.0, 45.0)
}

fn weight_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    schema::optional_number(0.2, 700.0)
}

fn height_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    schema::optional_number(20.0, 300.0)
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
#[schema(example = json!({
    "patientId": "PAT-01M88ZQHVRM9S346Q3D25VT4F5", "doctorId": "DOC-01M88ZSCERV37E3S3E28JT97KB",
    "visitDate": "2026-11-20T09:00:00Z", "chiefComplaint": "Chest pain", "diagnosis": "Stable angina",
    "symptoms": ["chest pain", "shortness of breath"], "treatment": "Nitroglycerin as needed",
    "prescriptions": [{"medication": "Nitroglycerin", "dosage": "0.4 mg", "frequency": "as needed",
                       "duration": "30 days"}],
    "labResults": [{"testName": "Troponin", "result": "0.01 ng/mL", "normalRange": "< 0.04 ng/mL"}],
    "vitalSigns": {"bloodPressure": "130/85", "heartRate": 78, "temperature": 36.8, "weight": 82.5,
                   "height": 178},
    "notes": "Refer to cardiology", "followUpDate": "2026-12-04"
}))]
pub struct CreateMedicalRecordRequest {
    /// An existing patient with status `active`.
    #[schema(schema_with = schema::reference_id)]
    pub patient_id: String,
    /// An existing doctor, any status.
    #[schema(schema_with = schema::reference_id)]
    pub doctor_id: String,
    /// An existing appointment of the same patient and doctor (else 400).
    #[schema(schema_with = schema::optional_reference_id)]
    pub appointment_id: Option<String>,
    /// ≥ 1900-01-01 and ≤ now + 5 minutes.
    pub visit_date: Timestamp,
    #[schema(schema_with = schema::text::<1000>)]
    pub chief_complaint: String,
    #[schema(schema_with = schema::optional_text::<2000>)]
    pub diagnosis: Option<String>,
    #[schema(schema_with = schema::text_list::<50, 200>, required = false)]
    pub symptoms: Vec<String>,
    #[schema(schema_with = schema::optional_text::<2000>)]
    pub treatment: Option<String>,
    #[schema(schema_with = schema::list_of::<Prescription, 50>, required = false)]
    pub prescriptions: Vec<Prescription>,
    #[schema(schema_with = schema::list_of::<LabResult, 100>, required = false)]
    pub lab_results: Vec<LabResult>,
    #[schema(schema_with = schema::optional_object::<VitalSigns>)]
    pub vital_signs: Option<VitalSigns>,
    #[schema(schema_with = schema::optional_text::<10000>)]
    pub notes: Option<String>,
    /// On or after the UTC date of `visitDate`.
    #[schema(schema_with = schema::optional::<Date>)]
    pub follow_up_date: Option<Date>,
}

/// Body of `PUT /api/v1/medical-records/{recordId}`: a partial amendment (API.md §2.6, Update column).
///
/// Absent fields stay unchanged; `null` clears `diagnosis`, `treatment`, `notes`, `followUpDate` and
/// `vitalSigns`; arrays are replaced whole and `null` empties them. Other fields are ignored.
#[derive(Debug, Clone, PartialEq, ToSchema)]
#[schema(rename_all = "camelCase")]
#[schema(example = json!({
    "diagnosis": "Unstable angina", "treatment": "Aspirin and nitroglycerin; cardiology review",
    "prescriptions": [{"medication": "Aspirin", "dosage": "75 mg", "frequency": "once daily", "duration": "90 days"}],
    "labResults": [{"testName": "Troponin (repeat)", "result": "0.09 ng/mL", "normalRange": "< 0.04 ng/mL"}],
    "vitalSigns": {"bloodPressure": "135/88", "heartRate": 84, "temperature": 36.9, "weight": 82.5, "height": 178},
    "amendmentReason": "Troponin repeat came back high"
}))]
pub struct UpdateMedicalRecordRequest {
    #[schema(schema_with = schema::optional_text::<2000>, required = false)]
    pub diagnosis: Patch<String>,
    #[schema(schema_with = schema::optional_text::<2000>, required = false)]
    pub treatment: Patch<String>,
    #[schema(schema_with = schema::optional_text::<10000>, required = false)]
    pub notes: Patch<String>,
    /// On or after the UTC date of the stored `visitDate`.
    #[schema(schema_with = schema::optional::<Date>, required = false)]
    pub follow_up_date: Patch<Date>,
    #[schema(schema_with = schema::optional_object::<VitalSigns>, required = false)]
    pub vital_signs: Patch<VitalSigns>,
    #[schema(schema_with = schema::text_list::<50, 200>, required = false)]
    pub symptoms: Option<Vec<String>>,
    #[schema(schema_with = schema::list_of::<Prescription, 50>, required = false)]
    pub prescriptions: Option<Vec<Prescription>>,
    #[schema(schema_with = schema::list_of::<LabResult, 100>, required = false)]
    pub lab_results: Option<Vec<LabResult>>,
    /// [history] Why the record is amended (1–500 characters); becomes the new version's `amendmentReason`.
    /// Sending it alone changes nothing.
    #[schema(schema_with = schema::optional_text::<500>)]
    pub amendment_reason: Option<String>,
}

impl UpdateMedicalRecordRequest {
    /// The members sent, by wire name (field-level rules, SECURITY.md §3).
    pub fn members(&self) -> Vec<&'static str> {
        crate::domain::patch::sent(&[
            ("diagnosis", self.diagnosis.is_sent()),
            ("treatment", self.treatment.is_sent()),
            ("notes", self.notes.is_sent()),
            ("followUpDate", self.follow_up_date.is_sent()),
            ("vitalSigns", self.vital_signs.is_sent()),
            ("symptoms", self.symptoms.is_some()),
            ("prescriptions", self.prescriptions.is_some()),
            ("labResults", self.lab_results.is_some()),
            ("amendmentReason", self.amendment_reason.is_some()),
        ])
    }

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
