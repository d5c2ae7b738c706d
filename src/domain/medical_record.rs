//! Medical record document (API.md §2.6). Stored whole, as the records store's document.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::formats::{Date, Timestamp};
use super::ids::{AppointmentId, DoctorId, PatientId, RecordId};

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
    /// Kept by the store beside the document; not on the wire in a [core] build.
    #[serde(skip)]
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
