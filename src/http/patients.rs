//! Patient handlers (API.md §3.1 #4–#8): register, search, read, update and deactivate. Bodies are parsed here;
//! the use cases are in `crate::service::patients`.

use axum::extract::{Path, State};
use axum::response::Response;
use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{CreateBody, IfMatch, JsonBody, QueryParams};
use super::json::{Field, Json, Obj, Patch, Validator, rules, string_array};
use super::wire::{PageResponse, created, ok, ok_tagged, tagged};
use crate::domain::formats::Date;
use crate::domain::ids::PatientId;
use crate::domain::patient::{
    Address, BloodType, CreatePatientRequest, EmergencyContact, Gender, Patient, PatientStatus, UpdatePatientRequest,
};
use crate::error::{ApiError, ApiResult};
use crate::service::Ctx;
use crate::service::patients::patient_location;
use crate::state::AppState;
use crate::store::{PageRequest, PatientFilter};

/// Body of a successful deactivation (DELETE).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PatientDeactivated {
    #[schema(example = "Patient deactivated successfully")]
    pub message: String,
    pub patient_id: PatientId,
    /// Scheduled future appointments cancelled by this deactivation.
    pub cancelled_appointments: u64,
}

/// The date-of-birth rule: a real date in 1900-01-01 ..= today (newborns allowed).
fn birth_date(today: NaiveDate) -> impl Fn(String) -> Result<Date, String> {
    move |s| {
        let d = rules::date(s)?;
        let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
        if d < earliest || d > today { Err("must be between 1900-01-01 and today".to_owned()) } else { Ok(Date(d)) }
    }
}

/// Reads an Address object; every member optional. An address with no member set counts as unset.
fn parse_address(o: Obj<'_>, v: &mut Validator) -> ApiResult<Option<Address>> {
    let mut member = |field: &str, max: usize| -> ApiResult<Option<String>> {
        Ok(v.optional(&o.path(field), o.string(field)?, rules::text(max)))
    };
    let address = Address {
        street: member("street", 200)?,
        city: member("city", 100)?,
        state: member("state", 100)?,
        zip_code: member("zipCode", 20)?,
        country: member("country", 100)?,
    };
    Ok((address != Address::default()).then_some(address))
}

/// Reads an EmergencyContact object (name and phone required).
fn parse_contact(o: Obj<'_>, v: &mut Validator) -> ApiResult<Option<EmergencyContact>> {
    let name = v.required(&o.path("name"), o.string("name")?, rules::text(100));
    let relationship = v.optional(&o.path("relationship"), o.string("relationship")?, rules::text(50));
    let phone = v.required(&o.path("phone"), o.string("phone")?, rules::phone);
    Ok(match (name, phone) {
        (Some(name), Some(phone)) => Some(EmergencyContact { name, relationship, phone }),
        _ => None,
    })
}

/// The `address` member as sent; `{}` and an object with every member unset count as `null`.
fn address_field(o: &Obj<'_>, v: &mut Validator) -> ApiResult<Field<Address>> {
    let path = o.path("address");
    Ok(match o.object("address", &path)? {
        Field::Absent => Field::Absent,
        Field::Null => Field::Null,
        Field::Value(obj) => parse_address(obj, v)?.map_or(Field::Null, Field::Value),
    })
}

/// The `emergencyContact` member as sent. A contact with failing members is reported and read as absent.
fn contact_field(o: &Obj<'_>, v: &mut Validator) -> ApiResult<Field<EmergencyContact>> {
    let path = o.path("emergencyContact");
    Ok(match o.object("emergencyContact", &path)? {
        Field::Absent => Field::Absent,
        Field::Null => Field::Null,
        Field::Value(obj) => parse_contact(obj, v)?.map_or(Field::Absent, Field::Value),
    })
}

/// An object member outside the validator's patch helper: absent keeps, `null`/`{}` clears.
fn object_patch<T>(field: Field<T>) -> Patch<T> {
    match field {
        Field::Absent => Patch::Keep,
        Field::Null => Patch::Clear,
        Field::Value(x) => Patch::Set(x),
    }
}

impl CreatePatientRequest {
    /// Validates a registration body; every field-rule failure is reported at once.
    pub fn parse(body: &Json, today: NaiveDate) -> ApiResult<Self> {
        let o = Obj::root(body)?;
        let mut v = Validator::new();
        let first_name = v.required("firstName", o.string("firstName")?, rules::text(100));
        let last_name = v.required("lastName", o.string("lastName")?, rules::text(100));
        let date_of_birth = v.required("dateOfBirth", o.string("dateOfBirth")?, birth_date(today));
        let gender = v.optional("gender", o.string("gender")?, rules::one_of(Gender::parse, Gender::VALUES));
        let email = v.required("email", o.string("email")?, rules::email);
        let phone = v.required("phone", o.string("phone")?, rules::phone);
        let address = match address_field(&o, &mut v)? {
            Field::Value(a) => Some(a),
            _ => None,
        };
        let emergency_contact = match contact_field(&o, &mut v)? {
            Field::Value(c) => Some(c),
            _ => None,
        };
        let blood_type =
            v.optional("bloodType", o.string("bloodType")?, rules::one_of(BloodType::parse, BloodType::VALUES));
        let allergies = match string_array(&o, &mut v, "allergies", 50, 100)? {
            Field::Value(items) => items,
            Field::Absent | Field::Null => Vec::new(),
        };
        v.finish()?;
        let (Some(first_name), Some(last_name), Some(date_of_birth), Some(email), Some(phone)) =
            (first_name, last_name, date_of_birth, email, phone)
        else {
            return Err(ApiError::internal("patient validator passed a missing required field"));
        };
        Ok(Self {
            first_name,
            last_name,
            date_of_birth,
            gender,
            email,
            phone,
            address,
            emergency_contact,
            blood_type,
            allergies,
        })
    }
}

impl UpdatePatientRequest {
    /// Validates the present fields of an update body.
    pub fn parse(body: &Json, today: NaiveDate) -> ApiResult<Self> {
        let o = Obj::root(body)?;
        let mut v = Validator::new();
        let first_name = v.patch("firstName", o.string("firstName")?, false, rules::text(100));
        let last_name = v.patch("lastName", o.string("lastName")?, false, rules::text(100));
        let date_of_birth = v.patch("dateOfBirth", o.string("dateOfBirth")?, false, birth_date(today));
        let gender = v.patch("gender", o.string("gender")?, true, rules::one_of(Gender::parse, Gender::VALUES));
        let email = v.patch("email", o.string("email")?, false, rules::email);
        let phone = v.patch("phone", o.string("phone")?, false, rules::phone);
        let address = object_patch(address_field(&o, &mut v)?);
        let emergency_contact = object_patch(contact_field(&o, &mut v)?);
        let blood_type =
            v.patch("bloodType", o.string("bloodType")?, true, rules::one_of(BloodType::parse, BloodType::VALUES));
        let allergies = match string_array(&o, &mut v, "allergies", 50, 100)? {
            Field::Absent => Patch::Keep,
            Field::Null => Patch::Set(Vec::new()),
            Field::Value(items) => Patch::Set(items),
        };
        let status =
            v.patch("status", o.string("status")?, false, rules::one_of(PatientStatus::parse, PatientStatus::VALUES));
        v.finish()?;
        Ok(Self {
            first_name,
            last_name,
            date_of_birth,
            gender,
            email,
            phone,
            address,
            emergency_contact,
            blood_type,
            allergies,
            status,
        })
    }
}

/// Register a patient.
#[utoipa::path(
    post,
    path = "/api/v1/patients",
    tag = "patients",
    request_body = CreatePatientRequest,
    responses(
        (status = 201, description = "Patient registered", body = Patient,
         headers(("Location" = String, description = "Path of the new patient"))),
    )
)]
pub async fn create_patient(State(state): State<AppState>, ctx: Ctx, body: CreateBody) -> ApiResult<Response> {
    let req = CreatePatientRequest::parse(&body.json, ctx.today())?;
    let outcome = state.service.register_patient(&ctx, req, body.once.as_ref()).await?;
    Ok(created(outcome, |p| patient_location(&p.patient_id)))
}

/// Reads the search filters of `GET /api/v1/patients`.
fn patient_filter(q: &QueryParams) -> ApiResult<(PatientFilter, PageRequest)> {
    let mut v = q.validator();
    let filter = PatientFilter {
        name: q.text(&mut v, "name", 100).map(|s| s.to_lowercase()),
        email: q.get("email").map(str::to_lowercase),
        phone: q.get("phone").map(str::to_owned),
        date_of_birth: q.date(&mut v, "dateOfBirth"),
        status: q.one_of(&mut v, "status", PatientStatus::parse, PatientStatus::VALUES),
    };
    let page = q.page(&mut v);
    v.finish()?;
    Ok((filter, page))
}

/// Search patients.
#[utoipa::path(
    get,
    path = "/api/v1/patients",
    tag = "patients",
    params(
        ("name" = Option<String>, Query, description = "Case-insensitive substring of first, last or full name (1–100 chars)"),
        ("email" = Option<String>, Query, description = "Exact, case-insensitive"),
        ("phone" = Option<String>, Query, description = "Exact"),
        ("dateOfBirth" = Option<crate::domain::formats::Date>, Query, description = "YYYY-MM-DD, exact"),
        ("status" = Option<PatientStatus>, Query, description = "active | inactive"),
        ("page" = Option<u32>, Query, description = "1-based page, default 1"),
        ("limit" = Option<u32>, Query, description = "Page size, default 20, capped at 100"),
    ),
    responses(
        (status = 200, description = "One page of patients, newest first", body = PageResponse<Patient>),
    )
)]
pub async fn list_patients(State(state): State<AppState>, ctx: Ctx, q: QueryParams) -> ApiResult<Response> {
    let (filter, page) = patient_filter(&q)?;
    let found = state.service.search_patients(&ctx, &filter, page).await?;
    Ok(ok(&PageResponse::new(found, page)))
}

/// Read one patient.
#[utoipa::path(
    get,
    path = "/api/v1/patients/{patientId}",
    tag = "patients",
    params(("patientId" = crate::domain::ids::PatientId, Path, description = "PAT- + ULID")),
    responses(
        (status = 200, description = "The patient", body = Patient),
    )
)]
pub async fn get_patient(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(tagged(&state.service.patient(&ctx, &id).await?))
}

/// Update, deactivate or reactivate a patient (partial update).
#[utoipa::path(
    put,
    path = "/api/v1/patients/{patientId}",
    tag = "patients",
    params(("patientId" = crate::domain::ids::PatientId, Path, description = "PAT- + ULID")),
    request_body = UpdatePatientRequest,
    responses(
        (status = 200, description = "The patient after the update", body = Patient),
    )
)]
pub async fn update_patient(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    IfMatch(precondition): IfMatch,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let req = UpdatePatientRequest::parse(&body, ctx.today())?;
    Ok(tagged(&state.service.update_patient(&ctx, &id, &req, &precondition).await?))
}

/// Deactivate a patient (soft delete), cancelling their scheduled future appointments.
#[utoipa::path(
    delete,
    path = "/api/v1/patients/{patientId}",
    tag = "patients",
    params(("patientId" = crate::domain::ids::PatientId, Path, description = "PAT- + ULID")),
    responses(
        (status = 200, description = "Deactivated (or already inactive)", body = PatientDeactivated),
    )
)]
pub async fn deactivate_patient(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    IfMatch(precondition): IfMatch,
) -> ApiResult<Response> {
    let done = state.service.deactivate_patient(&ctx, &id, &precondition).await?;
    let version = done.patient.version;
    let body = PatientDeactivated {
        message: "Patient deactivated successfully".to_owned(),
        patient_id: done.patient.patient_id,
        cancelled_appointments: done.cancelled_appointments,
    };
    Ok(ok_tagged(&body, version))
}

/// This module's `/api/v1` routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_patients, create_patient)).routes(routes!(
        get_patient,
        update_patient,
        deactivate_patient
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::formats::Timestamp;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
    }

    fn json(text: &str) -> Json {
        Json::parse(text.as_bytes()).unwrap()
    }

    fn details(err: ApiError) -> Vec<String> {
        err.details
    }

    const VALID: &str = r#"{"firstName": " Amara ", "lastName": "Okafor", "dateOfBirth": "1985-03-15",
        "email": "a@b.co", "phone": "+1 (555) 010-2233", "address": {}, "favouriteColour": "green"}"#;

    #[test]
    fn create_trims_defaults_and_ignores_unknown_fields() {
        let req = CreatePatientRequest::parse(&json(VALID), today()).unwrap();
        assert_eq!(req.first_name, "Amara");
        assert_eq!(req.address, None);
        assert!(req.allergies.is_empty());
        assert_eq!(req.gender, None);
    }

    #[test]
    fn create_reports_every_rule_failure_with_paths() {
        let body = json(
            r#"{"firstName": "", "lastName": "Okafor", "dateOfBirth": "2026-11-26", "gender": "robot",
                "email": "nope", "phone": "+1 555 010 2233", "address": {"zipCode": "123456789012345678901"},
                "emergencyContact": {"name": "X"}, "allergies": ["ok", "  "]}"#,
        );
        let d = details(CreatePatientRequest::parse(&body, today()).unwrap_err());
        for prefix in [
            "firstName: ",
            "dateOfBirth: ",
            "gender: ",
            "email: ",
            "address.zipCode: ",
            "emergencyContact.phone: ",
            "allergies[1]: ",
        ] {
            assert!(d.iter().any(|x| x.starts_with(prefix)), "{prefix} missing in {d:?}");
        }
    }

    #[test]
    fn birth_dates_span_1900_to_today() {
        let rule = birth_date(today());
        assert!(rule("1900-01-01".into()).is_ok());
        assert!(rule("2026-11-25".into()).is_ok());
        assert!(rule("1899-12-31".into()).is_err());
        assert!(rule("2026-11-26".into()).is_err());
    }

    #[test]
    fn type_errors_stop_at_once() {
        let body = json(r#"{"firstName": 5}"#);
        let d = details(CreatePatientRequest::parse(&body, today()).unwrap_err());
        assert_eq!(d.len(), 1);
        assert!(d[0].starts_with("firstName: "));
    }

    fn sample() -> Patient {
        CreatePatientRequest::parse(&json(VALID), today()).unwrap().into_patient(Timestamp::from_millis(0))
    }

    #[test]
    fn update_detects_changes_and_clears() {
        let mut p = sample();
        let same = UpdatePatientRequest::parse(&json(r#"{"firstName": "Amara", "gender": null}"#), today()).unwrap();
        assert!(!same.apply(&mut p));
        let change = UpdatePatientRequest::parse(
            &json(r#"{"gender": "female", "allergies": null, "address": {"city": "X"}}"#),
            today(),
        )
        .unwrap();
        assert!(change.apply(&mut p));
        assert_eq!(p.gender, Some(Gender::Female));
        assert_eq!(p.address.as_ref().and_then(|a| a.city.as_deref()), Some("X"));
        let clear = UpdatePatientRequest::parse(&json(r#"{"gender": "", "address": {}}"#), today()).unwrap();
        assert!(clear.apply(&mut p));
        assert_eq!(p.gender, None);
        assert_eq!(p.address, None);
    }

    #[test]
    fn update_refuses_null_on_required_fields() {
        let d = details(
            UpdatePatientRequest::parse(&json(r#"{"lastName": null, "email": "", "status": "gone"}"#), today())
                .unwrap_err(),
        );
        assert_eq!(d.len(), 3, "{d:?}");
    }
}
