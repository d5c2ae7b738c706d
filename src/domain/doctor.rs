//! Doctor aggregate (API.md §2.2, §4.2).

use serde::Serialize;
use utoipa::ToSchema;

use super::enums::wire_enum;
use super::formats::Timestamp;
use super::ids::{DepartmentId, DoctorId};

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
    #[serde(skip)]
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
