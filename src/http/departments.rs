//! Department handlers (API.md §3.4): list, create, read, update (including the head doctor) and the
//! department's doctors.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{CreateBody, IfMatch, JsonBody};
use super::json::{Field, Json, Obj, Validator, rules};
use super::wire::{created, ok, tagged};
use crate::domain::department::{CreateDepartmentRequest, Department, UpdateDepartmentRequest};
use crate::domain::doctor::Doctor;
use crate::domain::ids::DepartmentId;
use crate::error::{ApiError, ApiResult};
use crate::service::Ctx;
use crate::service::departments::department_location;
use crate::state::AppState;

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
        Ok(Self { name, description, floor, extension, head_doctor_id: () })
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
}

/// List every department.
#[utoipa::path(
    get,
    path = "/api/v1/departments",
    tag = "departments",
    responses(
        (status = 200, description = "Every department, by name (case-insensitive) then departmentId", body = DepartmentList),
    )
)]
pub async fn list_departments(State(state): State<AppState>, ctx: Ctx) -> ApiResult<Response> {
    Ok(ok(&DepartmentList { data: state.service.list_departments(&ctx).await? }))
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
    )
)]
pub async fn create_department(State(state): State<AppState>, ctx: Ctx, body: CreateBody) -> ApiResult<Response> {
    let req = CreateDepartmentRequest::parse(&body.json)?;
    let outcome = state.service.create_department(&ctx, req, body.once.as_ref()).await?;
    Ok(created(outcome, |d| department_location(&d.department_id)))
}

/// Read one department.
#[utoipa::path(
    get,
    path = "/api/v1/departments/{departmentId}",
    tag = "departments",
    params(("departmentId" = crate::domain::ids::DepartmentId, Path, description = "DEPT-001…DEPT-006 or DEPT- + ULID")),
    responses(
        (status = 200, description = "The department", body = Department),
    )
)]
pub async fn get_department(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(tagged(&state.service.department(&ctx, &id).await?))
}

/// Update a department, appointing or clearing its head doctor (partial update).
#[utoipa::path(
    put,
    path = "/api/v1/departments/{departmentId}",
    tag = "departments",
    params(("departmentId" = crate::domain::ids::DepartmentId, Path, description = "DEPT-001…DEPT-006 or DEPT- + ULID")),
    request_body = UpdateDepartmentRequest,
    responses(
        (status = 200, description = "The department after the update", body = Department),
    )
)]
pub async fn update_department(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    IfMatch(precondition): IfMatch,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let req = UpdateDepartmentRequest::parse(&body)?;
    Ok(tagged(&state.service.update_department(&ctx, &id, &req, &precondition).await?))
}

/// The doctors of one department.
#[utoipa::path(
    get,
    path = "/api/v1/departments/{departmentId}/doctors",
    tag = "departments",
    params(("departmentId" = crate::domain::ids::DepartmentId, Path, description = "DEPT-001…DEPT-006 or DEPT- + ULID")),
    responses(
        (status = 200, description = "The department's doctors, any status", body = DepartmentDoctors),
    )
)]
pub async fn department_doctors(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let staff = state.service.department_staff(&ctx, &id).await?;
    Ok(ok(&DepartmentDoctors {
        department_id: staff.department.department_id,
        department_name: staff.department.name,
        doctors: staff.doctors,
    }))
}

/// This module's `/api/v1` routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_departments, create_department))
        .routes(routes!(get_department, update_department))
        .routes(routes!(department_doctors))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::DoctorId;

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
