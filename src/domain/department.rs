//! Department aggregate (API.md §2.3).

use serde::Serialize;
use utoipa::ToSchema;

use super::formats::Timestamp;
use super::ids::{DepartmentId, DoctorId};
use super::patch::Patch;
use super::schema;

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
    /// Optimistic-concurrency counter (API.md §1.10): 1 at creation, +1 per change.
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Body of `POST /api/v1/departments` (API.md §2.3). `headDoctorId` may only be `null` or absent: a head is
/// appointed later with PUT, once the department has doctors.
#[derive(Debug, Clone, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"name": "Neurology", "description": "Brain and nerves", "floor": 6, "extension": "6001"}))]
pub struct CreateDepartmentRequest {
    /// Unique, compared case-insensitively.
    #[schema(schema_with = schema::text::<100>)]
    pub name: String,
    #[schema(schema_with = schema::optional_text::<1000>)]
    pub description: Option<String>,
    #[schema(schema_with = schema::optional_integer::<-10, 200>)]
    pub floor: Option<i64>,
    #[schema(schema_with = schema::optional_text::<20>)]
    pub extension: Option<String>,
    /// Only `null` (or absent): a head is appointed with PUT.
    #[schema(schema_with = schema::unset, required = false)]
    pub head_doctor_id: (),
}

/// Body of `PUT /api/v1/departments/{departmentId}`: a partial update. `null` clears description, floor,
/// extension and headDoctorId.
#[derive(Debug, Clone, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"description": "Brain, spine and nerves", "floor": null}))]
pub struct UpdateDepartmentRequest {
    #[schema(schema_with = schema::text::<100>, required = false)]
    pub name: Patch<String>,
    #[schema(schema_with = schema::optional_text::<1000>, required = false)]
    pub description: Patch<String>,
    #[schema(schema_with = schema::optional_integer::<-10, 200>, required = false)]
    pub floor: Patch<i64>,
    #[schema(schema_with = schema::optional_text::<20>, required = false)]
    pub extension: Patch<String>,
    /// A doctor of this department (any status); a malformed or unknown ID is 404 DOCTOR_NOT_FOUND.
    #[schema(schema_with = schema::optional_reference_id, required = false)]
    pub head_doctor_id: Patch<String>,
}

impl UpdateDepartmentRequest {
    /// Applies every field except the head; returns whether anything changed.
    pub fn apply_fields(&self, d: &mut Department) -> bool {
        let mut changed = false;
        changed |= self.name.clone().apply(&mut d.name);
        changed |= self.description.clone().apply_opt(&mut d.description);
        changed |= self.floor.clone().apply_opt(&mut d.floor);
        changed |= self.extension.clone().apply_opt(&mut d.extension);
        changed
    }

    /// The head change against `current`: `None` = unchanged, `Some(None)` = clear, `Some(Some(raw))` = appoint.
    pub fn head_change(&self, current: Option<&DoctorId>) -> Option<Option<&str>> {
        match &self.head_doctor_id {
            Patch::Keep => None,
            Patch::Clear => current.map(|_| None),
            Patch::Set(raw) if current.is_some_and(|c| c.as_str() == raw) => None,
            Patch::Set(raw) => Some(Some(raw.as_str())),
        }
    }
}
