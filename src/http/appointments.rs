//! Appointments (API.md §3.3 #16–#20, §4.3, §4.5) and a doctor's availability (§3.2 #15, §4.6).
//!
//! Overlap, patient-active and doctor-active checks that must be atomic with the write are done by the store
//! (`book_appointment`, `update_appointment(.., reschedule = true)`); this module validates, orders the checks as
//! the contract lists them and applies the state machine.

mod slots;

use crate::http::retry_stale;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use chrono::{NaiveDate, NaiveTime};
use serde::Serialize;
use utoipa::ToSchema;

use self::slots::TimeSlot;
use super::extract::{JsonBody, QueryParams};
use super::json::{Json, Obj, Patch, Validator, rules};
use super::patients::PageResponse;
use super::{created, ok};
use crate::domain::appointment::{Appointment, AppointmentStatus, MAX_MINUTES, MIN_MINUTES};
use crate::domain::doctor::DoctorStatus;
use crate::domain::formats::{Date, Time};
use crate::domain::ids::{AppointmentId, DoctorId, PatientId};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::docs::ErrorEnvelope;
use crate::state::AppState;
use crate::store::{AppointmentFilter, StoreError};

// ---- wire types ----------------------------------------------------------------------------------------------

/// Body of `POST /api/v1/appointments`.
#[derive(Debug, Clone, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateAppointmentRequest {
    /// An existing, active patient (a malformed ID is reported as not found).
    #[schema(example = "PAT-01M88ZQHVRM9S346Q3D25VT4F5")]
    pub patient_id: String,
    /// An existing, active doctor (a malformed ID is reported as not found).
    #[schema(example = "DOC-01M88ZSCERV37E3S3E28JT97KB")]
    pub doctor_id: String,
    /// Today or later.
    #[schema(value_type = String, format = Date, example = "2026-12-01")]
    pub appointment_date: NaiveDate,
    /// `HH:MM` or `HH:MM:SS`.
    #[schema(value_type = String, example = "10:00")]
    pub start_time: NaiveTime,
    /// After `startTime`, 5–480 minutes later, the same day.
    #[schema(value_type = String, example = "10:30")]
    pub end_time: NaiveTime,
    #[schema(min_length = 1, max_length = 500, example = "Chest pain follow-up")]
    pub reason: String,
    #[schema(min_length = 1, max_length = 2000)]
    pub notes: Option<String>,
}

/// Body of `PUT /api/v1/appointments/{appointmentId}`: a partial update. Absent fields stay as they are; `notes`
/// is cleared by `null` or `""`. Changing the date or a time is a reschedule and is fully re-checked.
#[derive(Debug, Clone, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateAppointmentRequest {
    #[schema(value_type = Option<String>, format = Date, example = "2026-12-04")]
    pub appointment_date: Patch<NaiveDate>,
    #[schema(value_type = Option<String>, example = "14:00")]
    pub start_time: Patch<NaiveTime>,
    #[schema(value_type = Option<String>, example = "14:45")]
    pub end_time: Patch<NaiveTime>,
    #[schema(value_type = Option<String>, min_length = 1, max_length = 500)]
    pub reason: Patch<String>,
    #[schema(value_type = Option<String>, min_length = 1, max_length = 2000)]
    pub notes: Patch<String>,
    /// `scheduled` → `completed` | `cancelled` | `no-show`; final statuses never change.
    #[schema(value_type = Option<AppointmentStatus>)]
    pub status: Patch<AppointmentStatus>,
}

/// Answer of `DELETE /api/v1/appointments/{appointmentId}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentCancelled {
    #[schema(example = "Appointment cancelled successfully")]
    pub message: String,
    pub appointment_id: AppointmentId,
}

/// Answer of `GET /api/v1/doctors/{doctorId}/availability`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Availability {
    pub doctor_id: DoctorId,
    pub start_date: Date,
    pub end_date: Date,
    /// Ordered by date, then startTime; empty when the doctor is not `active`.
    pub availability: Vec<TimeSlot>,
}

// ---- validation ----------------------------------------------------------------------------------------------

/// The rules on an appointment's interval: date not in the past, end after start, 5–480 minutes. Parts that
/// failed their own format rule are `None` and skipped.
fn check_interval(
    v: &mut Validator,
    date: Option<NaiveDate>,
    start: Option<NaiveTime>,
    end: Option<NaiveTime>,
    today: NaiveDate,
) {
    if date.is_some_and(|d| d < today) {
        v.fail("appointmentDate", "must not be in the past");
    }
    if let (Some(start), Some(end)) = (start, end) {
        if end <= start {
            v.fail("endTime", "must be after startTime");
        } else if !(MIN_MINUTES * 60..=MAX_MINUTES * 60).contains(&(end - start).num_seconds()) {
            v.fail("endTime", format!("duration must be between {MIN_MINUTES} and {MAX_MINUTES} minutes"));
        }
    }
}

fn any_text(s: String) -> Result<String, String> {
    Ok(s)
}

impl CreateAppointmentRequest {
    /// Step 1 of #16: every field rule, then the interval rules, reported together.
    pub fn from_json(body: &Json, today: NaiveDate) -> ApiResult<Self> {
        let o = Obj::root(body)?;
        let mut v = Validator::new();
        let patient_id = v.required("patientId", o.string("patientId")?, any_text);
        let doctor_id = v.required("doctorId", o.string("doctorId")?, any_text);
        let appointment_date = v.required("appointmentDate", o.string("appointmentDate")?, rules::date);
        let start_time = v.required("startTime", o.string("startTime")?, rules::time);
        let end_time = v.required("endTime", o.string("endTime")?, rules::time);
        let reason = v.required("reason", o.string("reason")?, rules::text(500));
        let notes = v.optional("notes", o.string("notes")?, rules::text(2000));
        check_interval(&mut v, appointment_date, start_time, end_time, today);
        v.finish()?;
        match (patient_id, doctor_id, appointment_date, start_time, end_time, reason) {
            (
                Some(patient_id),
                Some(doctor_id),
                Some(appointment_date),
                Some(start_time),
                Some(end_time),
                Some(reason),
            ) => Ok(Self { patient_id, doctor_id, appointment_date, start_time, end_time, reason, notes }),
            _ => Err(ApiError::internal("appointment validation passed with a missing field")),
        }
    }
}

impl UpdateAppointmentRequest {
    /// Step 1 of #19: the formats, lengths and enum of the fields present. Interval rules need the stored values
    /// and run at step 7b.
    pub fn from_json(body: &Json) -> ApiResult<Self> {
        let o = Obj::root(body)?;
        let mut v = Validator::new();
        let req = Self {
            appointment_date: v.patch("appointmentDate", o.string("appointmentDate")?, false, rules::date),
            start_time: v.patch("startTime", o.string("startTime")?, false, rules::time),
            end_time: v.patch("endTime", o.string("endTime")?, false, rules::time),
            reason: v.patch("reason", o.string("reason")?, false, rules::text(500)),
            notes: v.patch("notes", o.string("notes")?, true, rules::text(2000)),
            status: v.patch(
                "status",
                o.string("status")?,
                false,
                rules::one_of(AppointmentStatus::parse, AppointmentStatus::VALUES),
            ),
        };
        v.finish()?;
        Ok(req)
    }

    /// Steps 4–7b of #19 against the stored appointment: `None` when nothing changes, else the new state and
    /// whether it is a reschedule (which the store re-checks atomically: patient, doctor, overlap).
    pub fn plan(&self, current: &Appointment, today: NaiveDate) -> ApiResult<Option<(Appointment, bool)>> {
        let mut next = current.clone();
        let date_changed = self.appointment_date.clone().apply(&mut next.appointment_date.0);
        let start_changed = self.start_time.clone().apply(&mut next.start_time.0);
        let end_changed = self.end_time.clone().apply(&mut next.end_time.0);
        let reason_changed = self.reason.clone().apply(&mut next.reason);
        let notes_changed = self.notes.clone().apply_opt(&mut next.notes);
        let status_changed = self.status.clone().apply(&mut next.status);
        let reschedule = date_changed || start_changed || end_changed;

        if !(reschedule || reason_changed || notes_changed || status_changed) {
            return Ok(None);
        }
        let invalid = || ApiError::new(ErrorCode::INVALID_APPOINTMENT_DATA);
        if current.status.is_final() && (reschedule || reason_changed || status_changed) {
            return Err(invalid());
        }
        if status_changed && !current.status.can_become(next.status) {
            return Err(invalid());
        }
        if reschedule {
            if status_changed {
                return Err(invalid());
            }
            let mut v = Validator::new();
            check_interval(
                &mut v,
                Some(next.appointment_date.0),
                Some(next.start_time.0),
                Some(next.end_time.0),
                today,
            );
            v.finish()?;
        }
        Ok(Some((next, reschedule)))
    }
}

// ---- handlers ------------------------------------------------------------------------------------------------

/// Reads an appointment for a path ID; a malformed ID is simply not found.
async fn load(state: &AppState, raw_id: &str) -> ApiResult<Appointment> {
    let id = AppointmentId::parse(raw_id).ok_or_else(|| ApiError::new(ErrorCode::APPOINTMENT_NOT_FOUND))?;
    state.clinic.get_appointment(&id).await?.ok_or_else(|| ApiError::new(ErrorCode::APPOINTMENT_NOT_FOUND))
}

/// The representation after a write, so live joins and stored values are what the client sees.
async fn reread(state: &AppState, id: &AppointmentId) -> ApiResult<Appointment> {
    state.clinic.get_appointment(id).await?.ok_or_else(|| ApiError::internal("appointment missing after its write"))
}

/// Book an appointment.
#[utoipa::path(
    post,
    path = "/api/v1/appointments",
    tag = "appointments",
    request_body = CreateAppointmentRequest,
    responses(
        (status = 201, description = "Booked", body = Appointment,
            headers(("Location" = String, description = "/api/v1/appointments/{appointmentId}"))),
        (status = 400, description = "VALIDATION_ERROR", body = ErrorEnvelope),
        (status = 404, description = "PATIENT_NOT_FOUND, DOCTOR_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "PATIENT_INACTIVE, DOCTOR_UNAVAILABLE, TIME_SLOT_NOT_AVAILABLE", body = ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE", body = ErrorEnvelope),
        (status = 415, description = "UNSUPPORTED_MEDIA_TYPE", body = ErrorEnvelope),
        (status = 503, description = "SERVICE_UNAVAILABLE, SERVICE_OVERLOADED", body = ErrorEnvelope),
        (status = 504, description = "REQUEST_TIMEOUT", body = ErrorEnvelope),
    )
)]
async fn create_appointment(State(state): State<AppState>, JsonBody(body): JsonBody) -> ApiResult<Response> {
    let today = state.clock.now().date_naive();
    let req = CreateAppointmentRequest::from_json(&body, today)?;

    let patient_missing = || ApiError::new(ErrorCode::PATIENT_NOT_FOUND);
    let patient_id = PatientId::parse(&req.patient_id).ok_or_else(patient_missing)?;
    let patient = state.clinic.get_patient(&patient_id).await?.ok_or_else(patient_missing)?;
    let doctor_missing = || ApiError::new(ErrorCode::DOCTOR_NOT_FOUND);
    let doctor_id = DoctorId::parse(&req.doctor_id).ok_or_else(doctor_missing)?;
    let doctor = state.clinic.get_doctor(&doctor_id).await?.ok_or_else(doctor_missing)?;

    let now = state.clock.timestamp();
    let appointment = Appointment {
        appointment_id: AppointmentId::generate(),
        patient_id,
        patient_name: crate::domain::full_name(&patient.first_name, &patient.last_name),
        doctor_id,
        doctor_name: doctor.display_name(),
        department_id: doctor.department_id,
        appointment_date: Date(req.appointment_date),
        start_time: Time(req.start_time),
        end_time: Time(req.end_time),
        reason: req.reason,
        status: AppointmentStatus::Scheduled,
        notes: req.notes,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    // Patient and doctor were just read, so a NotFound here means a store inconsistency (From → 500).
    state.clinic.book_appointment(&appointment).await?;
    let stored = reread(&state, &appointment.appointment_id).await?;
    Ok(created(&format!("/api/v1/appointments/{}", stored.appointment_id), &stored))
}

/// List appointments.
#[utoipa::path(
    get,
    path = "/api/v1/appointments",
    tag = "appointments",
    params(
        ("patientId" = Option<String>, Query, description = "Exact patient ID (an unknown one gives an empty list)"),
        ("doctorId" = Option<String>, Query, description = "Exact doctor ID (an unknown one gives an empty list)"),
        ("date" = Option<String>, Query, format = Date, description = "appointmentDate, YYYY-MM-DD"),
        ("status" = Option<AppointmentStatus>, Query, description = "Appointment status"),
        ("page" = Option<u32>, Query, description = "1-2147483647, default 1"),
        ("limit" = Option<u32>, Query, description = "At least 1, default 20, capped at 100"),
    ),
    responses(
        (status = 200, description = "appointmentDate desc, startTime desc, appointmentId desc", body = PageResponse<Appointment>),
        (status = 400, description = "VALIDATION_ERROR", body = ErrorEnvelope),
        (status = 503, description = "SERVICE_UNAVAILABLE, SERVICE_OVERLOADED", body = ErrorEnvelope),
        (status = 504, description = "REQUEST_TIMEOUT", body = ErrorEnvelope),
    )
)]
async fn list_appointments(State(state): State<AppState>, q: QueryParams) -> ApiResult<Response> {
    let mut v = q.validator();
    let filter = AppointmentFilter {
        patient_id: q.get("patientId").map(str::to_owned),
        doctor_id: q.get("doctorId").map(str::to_owned),
        date: q.date(&mut v, "date"),
        status: q.one_of(&mut v, "status", AppointmentStatus::parse, AppointmentStatus::VALUES),
    };
    let page = q.page(&mut v);
    v.finish()?;
    let found = state.clinic.list_appointments(&filter, page).await?;
    Ok(ok(&PageResponse::new(found, page)))
}

/// Read one appointment.
#[utoipa::path(
    get,
    path = "/api/v1/appointments/{appointmentId}",
    tag = "appointments",
    params(("appointmentId" = String, Path, description = "APT- ID")),
    responses(
        (status = 200, description = "The appointment", body = Appointment),
        (status = 404, description = "APPOINTMENT_NOT_FOUND", body = ErrorEnvelope),
        (status = 503, description = "SERVICE_UNAVAILABLE, SERVICE_OVERLOADED", body = ErrorEnvelope),
        (status = 504, description = "REQUEST_TIMEOUT", body = ErrorEnvelope),
    )
)]
async fn get_appointment(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(ok(&load(&state, &id).await?))
}

/// Update, reschedule or change the status of an appointment.
#[utoipa::path(
    put,
    path = "/api/v1/appointments/{appointmentId}",
    tag = "appointments",
    params(("appointmentId" = String, Path, description = "APT- ID")),
    request_body = UpdateAppointmentRequest,
    responses(
        (status = 200, description = "The appointment after the update (unchanged for a no-op)", body = Appointment),
        (status = 400, description = "VALIDATION_ERROR", body = ErrorEnvelope),
        (status = 404, description = "APPOINTMENT_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "INVALID_APPOINTMENT_DATA, PATIENT_INACTIVE, DOCTOR_UNAVAILABLE, TIME_SLOT_NOT_AVAILABLE", body = ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE", body = ErrorEnvelope),
        (status = 415, description = "UNSUPPORTED_MEDIA_TYPE", body = ErrorEnvelope),
        (status = 503, description = "SERVICE_UNAVAILABLE, SERVICE_OVERLOADED", body = ErrorEnvelope),
        (status = 504, description = "REQUEST_TIMEOUT", body = ErrorEnvelope),
    )
)]
async fn update_appointment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let req = UpdateAppointmentRequest::from_json(&body)?;
    retry_stale(|| async {
        let current = load(&state, &id).await?;
        let today = state.clock.now().date_naive();
        let Some((mut next, reschedule)) = req.plan(&current, today)? else {
            return Ok(Some(ok(&current)));
        };
        next.version = current.version + 1;
        next.updated_at = state.clock.timestamp();
        match state.clinic.update_appointment(&next, current.version, reschedule).await {
            Ok(()) => return Ok(Some(ok(&reread(&state, &next.appointment_id).await?))),
            Err(StoreError::Stale) => Ok(None),
            Err(e) => Err(ApiError::from_store(e, ErrorCode::APPOINTMENT_NOT_FOUND, ErrorCode::INTERNAL_ERROR)),
        }
    })
    .await
}

/// Cancel a scheduled appointment.
#[utoipa::path(
    delete,
    path = "/api/v1/appointments/{appointmentId}",
    tag = "appointments",
    params(("appointmentId" = String, Path, description = "APT- ID")),
    responses(
        (status = 200, description = "Cancelled; the slot is free at once", body = AppointmentCancelled),
        (status = 404, description = "APPOINTMENT_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "INVALID_APPOINTMENT_DATA (not scheduled)", body = ErrorEnvelope),
        (status = 503, description = "SERVICE_UNAVAILABLE, SERVICE_OVERLOADED", body = ErrorEnvelope),
        (status = 504, description = "REQUEST_TIMEOUT", body = ErrorEnvelope),
    )
)]
async fn cancel_appointment(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    retry_stale(|| async {
        let current = load(&state, &id).await?;
        if current.status != AppointmentStatus::Scheduled {
            return Err(
                ApiError::new(ErrorCode::INVALID_APPOINTMENT_DATA).with_message("Cannot cancel this appointment")
            );
        }
        let mut next = current.clone();
        next.status = AppointmentStatus::Cancelled;
        next.version = current.version + 1;
        next.updated_at = state.clock.timestamp();
        match state.clinic.update_appointment(&next, current.version, false).await {
            Ok(()) => Ok(Some(ok(&AppointmentCancelled {
                message: "Appointment cancelled successfully".into(),
                appointment_id: next.appointment_id,
            }))),
            Err(StoreError::Stale) => Ok(None),
            Err(e) => Err(ApiError::from_store(e, ErrorCode::APPOINTMENT_NOT_FOUND, ErrorCode::INTERNAL_ERROR)),
        }
    })
    .await
}

/// A doctor's bookable slots.
#[utoipa::path(
    get,
    path = "/api/v1/doctors/{doctorId}/availability",
    tag = "doctors",
    params(
        ("doctorId" = String, Path, description = "DOC- ID"),
        ("startDate" = Option<String>, Query, format = Date, description = "Default today"),
        ("endDate" = Option<String>, Query, format = Date,
            description = "Default startDate; startDate ≤ endDate ≤ startDate + 30 days"),
    ),
    responses(
        (status = 200, description = "Working-hour slots (empty for a doctor who is not active)", body = Availability),
        (status = 400, description = "VALIDATION_ERROR", body = ErrorEnvelope),
        (status = 404, description = "DOCTOR_NOT_FOUND", body = ErrorEnvelope),
        (status = 503, description = "SERVICE_UNAVAILABLE, SERVICE_OVERLOADED", body = ErrorEnvelope),
        (status = 504, description = "REQUEST_TIMEOUT", body = ErrorEnvelope),
    )
)]
async fn doctor_availability(
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: QueryParams,
) -> ApiResult<Response> {
    let today = state.clock.now().date_naive();
    let mut v = q.validator();
    let start = q.date(&mut v, "startDate");
    let end = q.date(&mut v, "endDate");
    // A range rule on a date that failed its own format rule would only repeat the problem.
    let parsed = (q.get("startDate").is_none() || start.is_some()) && (q.get("endDate").is_none() || end.is_some());
    let range =
        if parsed { v.check("endDate", (start, end), |(s, e)| slots::resolve_range(s, e, today)) } else { None };
    v.finish()?;
    let (start, end) = range.ok_or_else(|| ApiError::internal("availability range missing after validation"))?;

    let doctor_missing = || ApiError::new(ErrorCode::DOCTOR_NOT_FOUND);
    let doctor_id = DoctorId::parse(&id).ok_or_else(doctor_missing)?;
    let doctor = state.clinic.get_doctor(&doctor_id).await?.ok_or_else(doctor_missing)?;
    let availability = if doctor.status == DoctorStatus::Active {
        let busy = state.clinic.doctor_busy_intervals(&doctor_id, start, end).await?;
        slots::generate(&state.settings.schedule, start, end, today, &busy)
    } else {
        Vec::new()
    };
    Ok(ok(&Availability { doctor_id, start_date: Date(start), end_date: Date(end), availability }))
}

/// OpenAPI fragment of this module.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        create_appointment,
        list_appointments,
        get_appointment,
        update_appointment,
        cancel_appointment,
        doctor_availability
    ),
    components(schemas(
        CreateAppointmentRequest,
        UpdateAppointmentRequest,
        Appointment,
        AppointmentStatus,
        PageResponse<Appointment>,
        AppointmentCancelled,
        Availability,
        TimeSlot
    ))
)]
pub struct Api;

/// This module's `/api/v1` routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/appointments", get(list_appointments).post(create_appointment))
        .route(
            "/api/v1/appointments/{appointmentId}",
            get(get_appointment).put(update_appointment).delete(cancel_appointment),
        )
        .route("/api/v1/doctors/{doctorId}/availability", get(doctor_availability))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::formats::{parse_date, parse_time};
    use crate::domain::ids::DepartmentId;

    const TODAY: &str = "2026-11-25";

    fn today() -> NaiveDate {
        parse_date(TODAY).unwrap()
    }

    fn details(err: ApiError) -> Vec<String> {
        assert_eq!(err.code, ErrorCode::VALIDATION_ERROR);
        err.details
    }

    fn create(body: &str) -> ApiResult<CreateAppointmentRequest> {
        CreateAppointmentRequest::from_json(&Json::parse(body.as_bytes()).unwrap(), today())
    }

    fn create_body(date: &str, start: &str, end: &str) -> String {
        format!(
            r#"{{"patientId": "PAT-X", "doctorId": "DOC-Y", "appointmentDate": "{date}", "startTime": "{start}",
                "endTime": "{end}", "reason": " Check-up "}}"#
        )
    }

    #[test]
    fn a_valid_create_body_is_parsed_and_trimmed() {
        let req = create(&create_body("2026-12-01", "10:00", "10:30:00")).unwrap();
        assert_eq!(req.patient_id, "PAT-X");
        assert_eq!(req.start_time, parse_time("10:00").unwrap());
        assert_eq!(req.end_time, parse_time("10:30").unwrap());
        assert_eq!(req.reason, "Check-up");
        assert_eq!(req.notes, None);
    }

    #[test]
    fn interval_rules_are_reported_on_end_time_and_date() {
        let cases = [
            ("2026-12-01", "10:00", "10:00", "endTime: must be after startTime"),
            ("2026-12-01", "10:00", "09:30", "endTime: must be after startTime"),
            ("2026-12-01", "10:00", "10:04:59", "endTime: duration must be between 5 and 480 minutes"),
            ("2026-12-01", "08:00", "16:01", "endTime: duration must be between 5 and 480 minutes"),
            ("2026-11-24", "10:00", "10:30", "appointmentDate: must not be in the past"),
        ];
        for (date, start, end, want) in cases {
            assert_eq!(details(create(&create_body(date, start, end)).unwrap_err()), vec![want.to_owned()]);
        }
        assert!(create(&create_body("2026-12-01", "10:00", "10:05")).is_ok());
        assert!(create(&create_body("2026-12-01", "08:00", "16:00")).is_ok());
        assert!(create(&create_body(TODAY, "00:00", "00:30")).is_ok());
    }

    #[test]
    fn every_field_failure_is_reported_together() {
        let body = r#"{"appointmentDate": "2026-02-30", "startTime": "25:00", "endTime": "10:30",
                       "reason": "", "notes": 5}"#;
        // A wrong JSON type stops at once.
        assert_eq!(details(create(body).unwrap_err()).len(), 1);
        let body = r#"{"appointmentDate": "2026-02-30", "startTime": "25:00", "endTime": "10:30", "reason": ""}"#;
        let d = details(create(body).unwrap_err());
        let prefixes: Vec<&str> = d.iter().map(|d| d.split(':').next().unwrap()).collect();
        assert_eq!(prefixes, vec!["patientId", "doctorId", "appointmentDate", "startTime", "reason"]);
    }

    fn stored(status: AppointmentStatus) -> Appointment {
        let t = crate::domain::formats::parse_timestamp("2026-11-25T09:00:00Z").unwrap();
        Appointment {
            appointment_id: AppointmentId::generate(),
            patient_id: PatientId::generate(),
            patient_name: "Amara Okafor".into(),
            doctor_id: DoctorId::generate(),
            doctor_name: "Dr. Sofia Chen".into(),
            department_id: DepartmentId::from_trusted("DEPT-001".into()),
            appointment_date: Date(parse_date("2026-12-01").unwrap()),
            start_time: Time(parse_time("10:00").unwrap()),
            end_time: Time(parse_time("10:30").unwrap()),
            reason: "Check-up".into(),
            status,
            notes: None,
            version: 1,
            created_at: t,
            updated_at: t,
        }
    }

    fn plan(current: &Appointment, body: &str) -> ApiResult<Option<(Appointment, bool)>> {
        UpdateAppointmentRequest::from_json(&Json::parse(body.as_bytes()).unwrap())?.plan(current, today())
    }

    fn code(r: ApiResult<Option<(Appointment, bool)>>) -> ErrorCode {
        r.unwrap_err().code
    }

    #[test]
    fn the_stored_values_are_not_a_change() {
        let a = stored(AppointmentStatus::Scheduled);
        assert!(plan(&a, "{}").unwrap().is_none());
        let same = r#"{"appointmentDate": "2026-12-01", "startTime": "10:00:00", "endTime": "10:30",
                       "reason": "Check-up", "status": "scheduled"}"#;
        assert!(plan(&a, same).unwrap().is_none());
        // Clearing notes that are unset is no change either.
        assert!(plan(&a, r#"{"notes": null}"#).unwrap().is_none());
        // A final appointment accepts a repeat of its own status as a no-op.
        assert!(plan(&stored(AppointmentStatus::Completed), r#"{"status": "completed"}"#).unwrap().is_none());
    }

    #[test]
    fn final_statuses_allow_only_notes() {
        use AppointmentStatus::*;
        for from in [Completed, Cancelled, NoShow] {
            let a = stored(from);
            let (next, reschedule) = plan(&a, r#"{"notes": "x"}"#).unwrap().unwrap();
            assert_eq!((next.notes.as_deref(), reschedule, next.status), (Some("x"), false, from));
            for body in [
                r#"{"reason": "y"}"#,
                r#"{"status": "scheduled"}"#,
                r#"{"startTime": "11:00"}"#,
                r#"{"notes": "x", "reason": "y"}"#,
            ] {
                assert_eq!(code(plan(&a, body)), ErrorCode::INVALID_APPOINTMENT_DATA, "{from} {body}");
            }
        }
    }

    #[test]
    fn scheduled_moves_to_any_status_but_not_while_rescheduling() {
        let a = stored(AppointmentStatus::Scheduled);
        for to in ["completed", "cancelled", "no-show"] {
            let (next, reschedule) = plan(&a, &format!(r#"{{"status": "{to}"}}"#)).unwrap().unwrap();
            assert_eq!((next.status.as_str(), reschedule), (to, false));
        }
        let body = r#"{"startTime": "11:00", "endTime": "11:30", "status": "completed"}"#;
        assert_eq!(code(plan(&a, body)), ErrorCode::INVALID_APPOINTMENT_DATA);
    }

    #[test]
    fn a_reschedule_is_checked_against_the_merged_values() {
        let a = stored(AppointmentStatus::Scheduled); // 2026-12-01 10:00-10:30
        let (next, reschedule) = plan(&a, r#"{"startTime": "10:15", "endTime": "10:45"}"#).unwrap().unwrap();
        assert!(reschedule);
        assert_eq!((next.start_time.to_string(), next.end_time.to_string()), ("10:15:00".into(), "10:45:00".into()));
        let bad = |body: &str| details(plan(&a, body).unwrap_err());
        assert_eq!(bad(r#"{"endTime": "09:30"}"#), vec!["endTime: must be after startTime"]);
        assert_eq!(bad(r#"{"startTime": "02:29"}"#), vec!["endTime: duration must be between 5 and 480 minutes"]);
        assert_eq!(bad(r#"{"appointmentDate": "2026-11-20"}"#), vec!["appointmentDate: must not be in the past"]);
        // Only reason changes: not a reschedule, no interval rule.
        let (_, reschedule) = plan(&a, r#"{"reason": "Follow-up"}"#).unwrap().unwrap();
        assert!(!reschedule);
    }

    #[test]
    fn update_fields_are_validated_before_anything_else() {
        let parse = |body: &str| UpdateAppointmentRequest::from_json(&Json::parse(body.as_bytes()).unwrap());
        let d = details(parse(r#"{"status": "finished", "reason": null, "startTime": "9:00"}"#).unwrap_err());
        let prefixes: Vec<&str> = d.iter().map(|d| d.split(':').next().unwrap()).collect();
        assert_eq!(prefixes, vec!["startTime", "reason", "status"]);
        assert!(parse(r#"{"reason": 5}"#).is_err());
        assert_eq!(parse(r#"{"notes": ""}"#).unwrap().notes, Patch::Clear);
    }
}
