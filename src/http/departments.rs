//! Department handlers (API.md §3.4): list, create, read, update (including the head doctor) and the
//! department's doctors.

use crate::http::retry_stale;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;

use super::extract::JsonBody;
use super::json::{Field, Json, Obj, Patch, Validator, rules};
use super::{created, ok};
use crate::domain::department::Department;
use crate::domain::doctor::Doctor;
use crate::domain::ids::{DepartmentId, DoctorId};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::docs::ErrorEnvelope;
use crate::state::AppState;
use crate::store::StoreError;

/// `GET /api/v1/departments`: every department, not paginated.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DepartmentList {
    pub data: Vec<Department>,
}

/// `GET /api/v1/departments/{departmentId}/doctors`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DepartmentDoctors {
    pub department_id: DepartmentId,
    pub department_name: String,
    /// Every doctor of the department, any status, by lastName, firstName, doctorId.
    pub doctors: Vec<Doctor>,
}

/// Body of `POST /api/v1/departments` (API.md §2.3). `headDoctorId` may only be `null` or absent: a head is
/// appointed later with PUT, once the department has doctors.
#[derive(Debug, Clone, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateDepartmentRequest {
    /// Unique, compared case-insensitively.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[schema(min_length = 1, max_length = 1000)]
    pub description: Option<String>,
    #[schema(minimum = -10, maximum = 200)]
    pub floor: Option<i64>,
    #[schema(min_length = 1, max_length = 20)]
    pub extension: Option<String>,
}

/// Body of `PUT /api/v1/departments/{departmentId}`: a partial update. `null` clears description, floor,
/// extension and headDoctorId.
#[derive(Debug, Clone, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateDepartmentRequest {
    #[schema(value_type = String, required = false, min_length = 1, max_length = 100)]
    pub name: Patch<String>,
    #[schema(value_type = Option<String>, required = false, min_length = 1, max_length = 1000)]
    pub description: Patch<String>,
    #[schema(value_type = Option<i64>, required = false, minimum = -10, maximum = 200)]
    pub floor: Patch<i64>,
    #[schema(value_type = Option<String>, required = false, min_length = 1, max_length = 20)]
    pub extension: Patch<String>,
    /// A doctor of this department (any status); a malformed or unknown ID is 404 DOCTOR_NOT_FOUND.
    #[schema(value_type = Option<String>, required = false, example = "DOC-01M88ZSCERV37E3S3E28JT97KB")]
    pub head_doctor_id: Patch<String>,
}

impl CreateDepartmentRequest {
    /// Validates a department body; every field-rule failure is reported at once.
    pub fn parse(body: &Json) -> ApiResult<Self> {
        let o = Obj::root(body)?;
        let mut v = Validator::new();
        let name = v.required("name", o.string("name")?, rules::text(100));
        let description = v.optional("description", o.string("description")?, rules::text(1000));
        let floor = v.optional("floor", o.number("floor")?, rules::int(-10, 200));
        let extension = v.optional("extension", o.string("extension")?, rules::text(20));
        if let Field::Value(_) = o.string("headDoctorId")? {
            v.fail("headDoctorId", "cannot be set on create");
        }
        v.finish()?;
        let Some(name) = name else {
            return Err(ApiError::internal("department validator passed a missing name"));
        };
        Ok(Self { name, description, floor, extension })
    }
}

impl UpdateDepartmentRequest {
    /// Validates the present fields of an update body.
    pub fn parse(body: &Json) -> ApiResult<Self> {
        let o = Obj::root(body)?;
        let mut v = Validator::new();
        let name = v.patch("name", o.string("name")?, false, rules::text(100));
        let description = v.patch("description", o.string("description")?, true, rules::text(1000));
        let floor = v.patch("floor", o.number("floor")?, true, rules::int(-10, 200));
        let extension = v.patch("extension", o.string("extension")?, true, rules::text(20));
        // Existence is decided after the department's own 404 (API.md §1.5 step 10), so keep the raw text.
        let head_doctor_id = v.patch("headDoctorId", o.string("headDoctorId")?, true, Ok::<String, String>);
        v.finish()?;
        Ok(Self { name, description, floor, extension, head_doctor_id })
    }

    /// Applies every field except the head; returns whether anything changed.
    fn apply_fields(&self, d: &mut Department) -> bool {
        let mut changed = false;
        changed |= self.name.clone().apply(&mut d.name);
        changed |= self.description.clone().apply_opt(&mut d.description);
        changed |= self.floor.clone().apply_opt(&mut d.floor);
        changed |= self.extension.clone().apply_opt(&mut d.extension);
        changed
    }

    /// The head change against `current`: `None` = unchanged, `Some(None)` = clear, `Some(Some(raw))` = appoint.
    fn head_change(&self, current: Option<&DoctorId>) -> Option<Option<&str>> {
        match &self.head_doctor_id {
            Patch::Keep => None,
            Patch::Clear => current.map(|_| None),
            Patch::Set(raw) if current.is_some_and(|c| c.as_str() == raw) => None,
            Patch::Set(raw) => Some(Some(raw.as_str())),
        }
    }
}

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::DEPARTMENT_NOT_FOUND)
}

fn store_error(err: StoreError) -> ApiError {
    ApiError::from_store(err, ErrorCode::DEPARTMENT_NOT_FOUND, ErrorCode::DEPARTMENT_ALREADY_EXISTS)
}

/// Reads a department back after a write, so the joins (head name, doctor count) reflect it.
async fn reread(state: &AppState, id: &DepartmentId) -> ApiResult<Department> {
    state.clinic.get_department(id).await?.ok_or_else(|| ApiError::internal("department vanished after its write"))
}

/// List every department.
#[utoipa::path(
    get,
    path = "/api/v1/departments",
    tag = "departments",
    responses(
        (status = 200, description = "Every department, by name (case-insensitive) then departmentId", body = DepartmentList),
        (status = 503, description = "Store unavailable", body = ErrorEnvelope),
    )
)]
pub async fn list_departments(State(state): State<AppState>) -> ApiResult<Response> {
    let data = state.clinic.list_departments().await?;
    Ok(ok(&DepartmentList { data }))
}

/// Create a department.
#[utoipa::path(
    post,
    path = "/api/v1/departments",
    tag = "departments",
    request_body = CreateDepartmentRequest,
    responses(
        (status = 201, description = "Department created", body = Department,
         headers(("Location" = String, description = "Path of the new department"))),
        (status = 400, description = "Validation failed", body = ErrorEnvelope),
        (status = 409, description = "DEPARTMENT_ALREADY_EXISTS", body = ErrorEnvelope),
        (status = 413, description = "Body too large", body = ErrorEnvelope),
        (status = 415, description = "Not JSON", body = ErrorEnvelope),
        (status = 503, description = "Store unavailable", body = ErrorEnvelope),
    )
)]
pub async fn create_department(State(state): State<AppState>, JsonBody(body): JsonBody) -> ApiResult<Response> {
    let req = CreateDepartmentRequest::parse(&body)?;
    let now = state.clock.timestamp();
    let department = Department {
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
    };
    state.clinic.insert_department(&department).await.map_err(store_error)?;
    let fresh = reread(&state, &department.department_id).await?;
    Ok(created(&format!("/api/v1/departments/{}", fresh.department_id), &fresh))
}

/// Read one department.
#[utoipa::path(
    get,
    path = "/api/v1/departments/{departmentId}",
    tag = "departments",
    params(("departmentId" = String, Path, description = "DEPT-001…DEPT-006 or DEPT- + ULID")),
    responses(
        (status = 200, description = "The department", body = Department),
        (status = 404, description = "DEPARTMENT_NOT_FOUND", body = ErrorEnvelope),
        (status = 503, description = "Store unavailable", body = ErrorEnvelope),
    )
)]
pub async fn get_department(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let id = DepartmentId::parse(&id).ok_or_else(not_found)?;
    let department = state.clinic.get_department(&id).await?.ok_or_else(not_found)?;
    Ok(ok(&department))
}

/// Update a department, appointing or clearing its head doctor (partial update).
#[utoipa::path(
    put,
    path = "/api/v1/departments/{departmentId}",
    tag = "departments",
    params(("departmentId" = String, Path, description = "DEPT-001…DEPT-006 or DEPT- + ULID")),
    request_body = UpdateDepartmentRequest,
    responses(
        (status = 200, description = "The department after the update", body = Department),
        (status = 400, description = "Validation failed", body = ErrorEnvelope),
        (status = 404, description = "DEPARTMENT_NOT_FOUND or DOCTOR_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "DEPARTMENT_ALREADY_EXISTS or DEPARTMENT_HEAD_CONFLICT", body = ErrorEnvelope),
        (status = 413, description = "Body too large", body = ErrorEnvelope),
        (status = 415, description = "Not JSON", body = ErrorEnvelope),
        (status = 503, description = "Store unavailable", body = ErrorEnvelope),
    )
)]
pub async fn update_department(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let req = UpdateDepartmentRequest::parse(&body)?;
    let id = DepartmentId::parse(&id).ok_or_else(not_found)?;
    retry_stale(|| async {
        let current = state.clinic.get_department(&id).await?.ok_or_else(not_found)?;
        let mut next = current.clone();
        let fields_changed = req.apply_fields(&mut next);
        let head = req.head_change(current.head_doctor_id.as_ref());
        if !fields_changed && head.is_none() {
            return Ok(Some(ok(&current)));
        }
        match head {
            Some(Some(raw)) => {
                // The name rule comes before the head checks (API.md §3.4 step 5); the unique index is the
                // real guard, this only orders the errors when both would fail.
                if next.name != current.name {
                    name_unused(&state, &id, &next.name).await?;
                }
                let doctor = head_doctor(&state, raw).await?;
                if doctor.department_id != id {
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
        next.version = current.version + 1;
        next.updated_at = state.clock.timestamp();
        match state.clinic.update_department(&next, current.version).await {
            Ok(()) => return Ok(Some(ok(&reread(&state, &id).await?))),
            Err(StoreError::Stale) => Ok(None),
            Err(e) => Err(store_error(e)),
        }
    })
    .await
}

/// 409 DEPARTMENT_ALREADY_EXISTS when another department already uses `name` (case-insensitive, lower-cased
/// the same way the store's unique index is).
async fn name_unused(state: &AppState, id: &DepartmentId, name: &str) -> ApiResult<()> {
    let wanted = name.to_lowercase();
    let taken = state
        .clinic
        .list_departments()
        .await?
        .iter()
        .any(|d| d.department_id != *id && d.name.to_lowercase() == wanted);
    if taken { Err(ApiError::new(ErrorCode::DEPARTMENT_ALREADY_EXISTS)) } else { Ok(()) }
}

/// The doctor named as head; a malformed or unknown ID is 404 DOCTOR_NOT_FOUND.
async fn head_doctor(state: &AppState, raw: &str) -> ApiResult<Doctor> {
    let missing = || ApiError::new(ErrorCode::DOCTOR_NOT_FOUND);
    let id = DoctorId::parse(raw).ok_or_else(missing)?;
    state.clinic.get_doctor(&id).await?.ok_or_else(missing)
}

/// The doctors of one department.
#[utoipa::path(
    get,
    path = "/api/v1/departments/{departmentId}/doctors",
    tag = "departments",
    params(("departmentId" = String, Path, description = "DEPT-001…DEPT-006 or DEPT- + ULID")),
    responses(
        (status = 200, description = "The department's doctors, any status", body = DepartmentDoctors),
        (status = 404, description = "DEPARTMENT_NOT_FOUND", body = ErrorEnvelope),
        (status = 503, description = "Store unavailable", body = ErrorEnvelope),
    )
)]
pub async fn department_doctors(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let id = DepartmentId::parse(&id).ok_or_else(not_found)?;
    let department = state.clinic.get_department(&id).await?.ok_or_else(not_found)?;
    let doctors = state.clinic.list_department_doctors(&id).await?;
    Ok(ok(&DepartmentDoctors { department_id: department.department_id, department_name: department.name, doctors }))
}

/// OpenAPI fragment of this module.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list_departments, create_department, get_department, update_department, department_doctors),
    components(schemas(
        Department,
        DepartmentList,
        DepartmentDoctors,
        CreateDepartmentRequest,
        UpdateDepartmentRequest
    ))
)]
pub struct Api;

/// This module's `/api/v1` routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/departments", get(list_departments).post(create_department))
        .route("/api/v1/departments/{departmentId}", get(get_department).put(update_department))
        .route("/api/v1/departments/{departmentId}/doctors", get(department_doctors))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Json {
        Json::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn create_refuses_a_head_and_bad_fields_together() {
        let err = CreateDepartmentRequest::parse(&json(
            r#"{"name": "", "floor": 201, "extension": "123456789012345678901", "headDoctorId": "DOC-1"}"#,
        ))
        .unwrap_err();
        for prefix in ["name: ", "floor: ", "extension: ", "headDoctorId: cannot be set on create"] {
            assert!(err.details.iter().any(|d| d.starts_with(prefix)), "{prefix} in {:?}", err.details);
        }
        let ok = CreateDepartmentRequest::parse(&json(r#"{"name": " Neurology ", "floor": 0, "headDoctorId": null}"#))
            .unwrap();
        assert_eq!(ok.name, "Neurology");
        assert_eq!(ok.floor, Some(0));
    }

    #[test]
    fn floor_must_be_an_integer_literal() {
        for bad in [r#"{"floor": 1.5}"#, r#"{"floor": -11}"#] {
            assert!(UpdateDepartmentRequest::parse(&json(bad)).is_err(), "{bad}");
        }
        assert!(UpdateDepartmentRequest::parse(&json(r#"{"floor": "3"}"#)).is_err());
    }

    #[test]
    fn head_changes_are_relative_to_the_current_head() {
        let current = DoctorId::generate();
        let same = UpdateDepartmentRequest::parse(&json(&format!(r#"{{"headDoctorId": "{current}"}}"#))).unwrap();
        assert_eq!(same.head_change(Some(&current)), None);
        let clear = UpdateDepartmentRequest::parse(&json(r#"{"headDoctorId": null}"#)).unwrap();
        assert_eq!(clear.head_change(Some(&current)), Some(None));
        assert_eq!(clear.head_change(None), None);
        let other = UpdateDepartmentRequest::parse(&json(r#"{"headDoctorId": "DOC-x"}"#)).unwrap();
        assert_eq!(other.head_change(Some(&current)), Some(Some("DOC-x")));
    }
}
