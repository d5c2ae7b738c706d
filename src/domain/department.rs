//! Department aggregate (API.md §2.3).

use serde::Serialize;
use utoipa::ToSchema;

use super::formats::Timestamp;
use super::ids::{DepartmentId, DoctorId};

/// A department, exactly as the API returns it (`headDoctorName` and `numberOfDoctors` are live joins).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Department {
    pub department_id: DepartmentId,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub floor: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_doctor_id: Option<DoctorId>,
    /// "Dr. First Last" of the head; present iff `headDoctorId` is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_doctor_name: Option<String>,
    /// Doctors of this department whose status is `active`.
    pub number_of_doctors: i64,
    #[serde(skip)]
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}
