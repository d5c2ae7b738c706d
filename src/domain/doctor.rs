//! Doctor aggregate (API.md §2.2, §4.2).

use serde::Serialize;
use utoipa::ToSchema;

use super::enums::wire_enum;
use super::formats::Timestamp;
use super::ids::{DepartmentId, DoctorId};
use super::patch::Patch;
use super::schema;

wire_enum!(/// Doctor status; PUT may move any status to any other.
    DoctorStatus { Active = "active", OnLeave = "on-leave", Inactive = "inactive" });

/// A doctor, exactly as the API returns it (`departmentName` is a live join).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Doctor {
    pub doctor_id: DoctorId,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub specialty: String,
    pub license_number: String,
    pub department_id: DepartmentId,
    pub department_name: String,
    pub years_of_experience: i64,
    pub qualifications: Vec<String>,
    pub status: DoctorStatus,
    /// Optimistic-concurrency counter (API.md §1.10): 1 at creation, +1 per change.
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Doctor {
    /// "Dr. First Last".
    pub fn display_name(&self) -> String {
        super::doctor_name(&self.first_name, &self.last_name)
    }
}

/// Body of `POST /api/v1/doctors` (API.md §2.2). Unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "firstName": "Sofia", "lastName": "Chen", "email": "sofia.chen@example.org", "phone": "+1 555 010 9988",
    "specialty": "Cardiology", "licenseNumber": "MD-10001", "departmentId": "DEPT-001",
    "yearsOfExperience": 12, "qualifications": ["MD", "FACC"]
}))]
pub struct CreateDoctorRequest {
    #[schema(schema_with = schema::text::<100>)]
    pub first_name: String,
    #[schema(schema_with = schema::text::<100>)]
    pub last_name: String,
    #[schema(schema_with = schema::email)]
    pub email: String,
    #[schema(schema_with = schema::phone)]
    pub phone: String,
    #[schema(schema_with = schema::text::<100>)]
    pub specialty: String,
    /// Unique, compared case-insensitively.
    #[schema(schema_with = schema::text::<50>)]
    pub license_number: String,
    /// Must name an existing department (a malformed ID counts as missing: 404).
    #[schema(schema_with = schema::reference_id)]
    pub department_id: String,
    /// 0–80, default 0.
    #[schema(schema_with = schema::optional_integer::<0, 80>, required = false)]
    pub years_of_experience: i64,
    /// At most 20 items of 1–200 characters; `[]` when absent or `null`.
    #[schema(schema_with = schema::text_list::<20, 200>, required = false)]
    pub qualifications: Vec<String>,
}

/// Body of `PUT /api/v1/doctors/{doctorId}`: a partial update. Only these fields are accepted; firstName,
/// lastName and licenseNumber are ignored. `qualifications: null` becomes `[]`.
#[derive(Debug, Clone, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"specialty": "Interventional cardiology", "yearsOfExperience": 13, "status": "on-leave"}))]
pub struct UpdateDoctorRequest {
    #[schema(schema_with = schema::email, required = false)]
    pub email: Patch<String>,
    #[schema(schema_with = schema::phone, required = false)]
    pub phone: Patch<String>,
    #[schema(schema_with = schema::text::<100>, required = false)]
    pub specialty: Patch<String>,
    /// A new department, which must exist; a department head cannot move.
    #[schema(schema_with = schema::reference_id, required = false)]
    pub department_id: Patch<String>,
    #[schema(schema_with = schema::integer::<0, 80>, required = false)]
    pub years_of_experience: Patch<i64>,
    /// Replaces the list; `null` empties it.
    #[schema(schema_with = schema::text_list::<20, 200>, required = false)]
    pub qualifications: Patch<Vec<String>>,
    #[schema(value_type = DoctorStatus, required = false)]
    pub status: Patch<DoctorStatus>,
}

impl UpdateDoctorRequest {
    /// Applies every field except the department; returns whether anything changed.
    pub fn apply_fields(&self, d: &mut Doctor) -> bool {
        let mut changed = false;
        changed |= self.email.clone().apply(&mut d.email);
        changed |= self.phone.clone().apply(&mut d.phone);
        changed |= self.specialty.clone().apply(&mut d.specialty);
        changed |= self.years_of_experience.clone().apply(&mut d.years_of_experience);
        changed |= self.qualifications.clone().apply(&mut d.qualifications);
        changed |= self.status.clone().apply(&mut d.status);
        changed
    }

    /// The requested department when it differs from `current` (raw text, possibly malformed).
    pub fn department_change(&self, current: &DepartmentId) -> Option<&str> {
        match &self.department_id {
            Patch::Set(raw) if raw != current.as_str() => Some(raw),
            _ => None,
        }
    }
}
