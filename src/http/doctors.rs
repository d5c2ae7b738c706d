//! Doctor handlers (API.md §3.2 #11–#14): add, list, read and update doctors. Availability (#15) lives with
//! the appointments. Use cases: `crate::service::doctors`.

use axum::extract::{Path, State};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{CreateBody, IfMatch, JsonBody, QueryParams};
use super::json::{Field, Json, Obj, Patch, Validator, rules, string_array};
use super::wire::{PageResponse, created, ok, tagged};
use crate::domain::doctor::{CreateDoctorRequest, Doctor, DoctorStatus, UpdateDoctorRequest};
use crate::error::{ApiError, ApiResult};
use crate::service::Ctx;
use crate::service::doctors::doctor_location;
use crate::state::AppState;
use crate::store::{DoctorFilter, PageRequest};

/// Keeps the raw text of an ID: whether it exists is decided after validation (API.md §1.5 step 10).
fn raw_id(s: String) -> Result<String, String> {
    Ok(s)
}

impl CreateDoctorRequest {
    /// Validates a doctor body; every field-rule failure is reported at once.
    pub fn parse(body: &Json) -> ApiResult<Self> {
        let o = Obj::root(body)?;
        let mut v = Validator::new();
        let first_name = v.required("firstName", o.string("firstName")?, rules::text(100));
        let last_name = v.required("lastName", o.string("lastName")?, rules::text(100));
        let email = v.required("email", o.string("email")?, rules::email);
        let phone = v.required("phone", o.string("phone")?, rules::phone);
        let specialty = v.required("specialty", o.string("specialty")?, rules::text(100));
        let license_number = v.required("licenseNumber", o.string("licenseNumber")?, rules::text(50));
        let department_id = v.required("departmentId", o.string("departmentId")?, raw_id);
        let years_of_experience =
            v.optional("yearsOfExperience", o.number("yearsOfExperience")?, rules::int(0, 80)).unwrap_or(0);
        let qualifications = match string_array(&o, &mut v, "qualifications", 20, 200)? {
            Field::Value(items) => items,
            Field::Absent | Field::Null => Vec::new(),
        };
        v.finish()?;
        let (
            Some(first_name),
            Some(last_name),
            Some(email),
            Some(phone),
            Some(specialty),
            Some(license_number),
            Some(department_id),
        ) = (first_name, last_name, email, phone, specialty, license_number, department_id)
        else {
            return Err(ApiError::internal("doctor validator passed a missing required field"));
        };
        Ok(Self {
            first_name,
            last_name,
            email,
            phone,
            specialty,
            license_number,
            department_id,
            years_of_experience,
            qualifications,
        })
    }
}

impl UpdateDoctorRequest {
    /// Validates the present fields of an update body.
    pub fn parse(body: &Json) -> ApiResult<Self> {
        let o = Obj::root(body)?;
        let mut v = Validator::new();
        let email = v.patch("email", o.string("email")?, false, rules::email);
        let phone = v.patch("phone", o.string("phone")?, false, rules::phone);
        let specialty = v.patch("specialty", o.string("specialty")?, false, rules::text(100));
        let department_id = v.patch("departmentId", o.string("departmentId")?, false, raw_id);
        let years_of_experience =
            v.patch("yearsOfExperience", o.number("yearsOfExperience")?, false, rules::int(0, 80));
        let qualifications = match string_array(&o, &mut v, "qualifications", 20, 200)? {
            Field::Absent => Patch::Keep,
            Field::Null => Patch::Set(Vec::new()),
            Field::Value(items) => Patch::Set(items),
        };
        let status =
            v.patch("status", o.string("status")?, false, rules::one_of(DoctorStatus::parse, DoctorStatus::VALUES));
        v.finish()?;
        Ok(Self { email, phone, specialty, department_id, years_of_experience, qualifications, status })
    }
}

/// Add a doctor.
#[utoipa::path(
    post,
    path = "/api/v1/doctors",
    tag = "doctors",
    request_body = CreateDoctorRequest,
    responses(
        (status = 201, description = "Doctor added", body = Doctor,
         headers(("Location" = String, description = "Path of the new doctor"))),
    )
)]
pub async fn create_doctor(State(state): State<AppState>, ctx: Ctx, body: CreateBody) -> ApiResult<Response> {
    let req = CreateDoctorRequest::parse(&body.json)?;
    let outcome = state.service.add_doctor(&ctx, req, body.once.as_ref()).await?;
    Ok(created(outcome, |d| doctor_location(&d.doctor_id)))
}

/// Reads the filters of `GET /api/v1/doctors`.
fn doctor_filter(q: &QueryParams) -> ApiResult<(DoctorFilter, PageRequest)> {
    let mut v = q.validator();
    let filter = DoctorFilter {
        department_id: q.get("departmentId").map(str::to_owned),
        specialty: q.get("specialty").map(str::to_lowercase),
        status: q.one_of(&mut v, "status", DoctorStatus::parse, DoctorStatus::VALUES),
        available: q.boolean(&mut v, "available"),
    };
    let page = q.page(&mut v);
    v.finish()?;
    Ok((filter, page))
}

/// List doctors.
#[utoipa::path(
    get,
    path = "/api/v1/doctors",
    tag = "doctors",
    params(
        ("departmentId" = Option<String>, Query, description = "Exact; an unknown ID gives an empty list"),
        ("specialty" = Option<String>, Query, description = "Exact, case-insensitive"),
        ("status" = Option<DoctorStatus>, Query, description = "active | on-leave | inactive"),
        ("available" = Option<bool>, Query, description = "true: status active; false: any other status"),
        ("page" = Option<u32>, Query, description = "1-based page, default 1"),
        ("limit" = Option<u32>, Query, description = "Page size, default 20, capped at 100"),
    ),
    responses(
        (status = 200, description = "One page of doctors, newest first", body = PageResponse<Doctor>),
    )
)]
pub async fn list_doctors(State(state): State<AppState>, ctx: Ctx, q: QueryParams) -> ApiResult<Response> {
    let (filter, page) = doctor_filter(&q)?;
    let found = state.service.list_doctors(&ctx, &filter, page).await?;
    Ok(ok(&PageResponse::new(found, page)))
}

/// Read one doctor.
#[utoipa::path(
    get,
    path = "/api/v1/doctors/{doctorId}",
    tag = "doctors",
    params(("doctorId" = crate::domain::ids::DoctorId, Path, description = "DOC- + ULID")),
    responses(
        (status = 200, description = "The doctor", body = Doctor),
    )
)]
pub async fn get_doctor(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(tagged(&state.service.doctor(&ctx, &id).await?))
}

/// Update a doctor (partial update; any status may follow any other).
#[utoipa::path(
    put,
    path = "/api/v1/doctors/{doctorId}",
    tag = "doctors",
    params(("doctorId" = crate::domain::ids::DoctorId, Path, description = "DOC- + ULID")),
    request_body = UpdateDoctorRequest,
    responses(
        (status = 200, description = "The doctor after the update", body = Doctor),
    )
)]
pub async fn update_doctor(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    IfMatch(precondition): IfMatch,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let req = UpdateDoctorRequest::parse(&body)?;
    Ok(tagged(&state.service.update_doctor(&ctx, &id, &req, &precondition).await?))
}

/// This module's `/api/v1` routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_doctors, create_doctor)).routes(routes!(get_doctor, update_doctor))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Json {
        Json::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn create_defaults_and_keeps_raw_department() {
        let req = CreateDoctorRequest::parse(&json(
            r#"{"firstName": "Sofia", "lastName": "Chen", "email": "s@c.org", "phone": "+1 555 010 9988",
                "specialty": "Cardiology", "licenseNumber": "L-1", "departmentId": "nope"}"#,
        ))
        .unwrap();
        assert_eq!(req.years_of_experience, 0);
        assert!(req.qualifications.is_empty());
        assert_eq!(req.department_id, "nope");
    }

    #[test]
    fn create_reports_every_rule_failure() {
        let err = CreateDoctorRequest::parse(&json(
            r#"{"firstName": "Sofia", "email": "bad", "phone": "+1 555 010 9988", "specialty": "C",
                "licenseNumber": "L-1", "departmentId": "DEPT-001", "yearsOfExperience": 81,
                "qualifications": ["MD", ""]}"#,
        ))
        .unwrap_err();
        for prefix in ["lastName: ", "email: ", "yearsOfExperience: ", "qualifications[1]: "] {
            assert!(err.details.iter().any(|d| d.starts_with(prefix)), "{prefix} in {:?}", err.details);
        }
        let err = CreateDoctorRequest::parse(&json(r#"{"yearsOfExperience": 1.5}"#)).unwrap_err();
        assert!(err.details.iter().any(|d| d.starts_with("yearsOfExperience: ")));
    }

    #[test]
    fn update_ignores_identity_fields_and_refuses_nulls() {
        let req = UpdateDoctorRequest::parse(&json(r#"{"firstName": 5, "licenseNumber": "x"}"#)).unwrap();
        assert_eq!(req.email, Patch::Keep);
        let err = UpdateDoctorRequest::parse(&json(r#"{"specialty": null, "yearsOfExperience": null}"#)).unwrap_err();
        assert_eq!(err.details.len(), 2);
        let req = UpdateDoctorRequest::parse(&json(r#"{"qualifications": null}"#)).unwrap();
        assert_eq!(req.qualifications, Patch::Set(Vec::new()));
    }
}
