//! Appointments (API.md §3.3 #16–#20, §4.3, §4.5) and a doctor's availability (§3.2 #15, §4.6).
//!
//! Bodies and queries are parsed here; the use cases, with the state machine and the order of the checks, are in
//! `crate::service::appointments`.

use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{NaiveDate, NaiveTime};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{CreateBody, IfMatch, JsonBody, QueryParams};
use super::json::{Json, Obj, Validator, rules};
use super::wire::{PageResponse, created, ok, ok_tagged, tagged};
use crate::domain::appointment::{
    Appointment, AppointmentStatus, CreateAppointmentRequest, UpdateAppointmentRequest, interval_problems,
};
use crate::domain::availability::{self, TimeSlot};
use crate::domain::formats::Date;
use crate::domain::ids::{AppointmentId, DoctorId};
use crate::error::{ApiError, ApiResult};
use crate::service::Ctx;
use crate::service::appointments::appointment_location;
use crate::state::AppState;
use crate::store::AppointmentFilter;

// ---- wire types ----------------------------------------------------------------------------------------------

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

/// The interval rules of API.md §3.3 #16 step 1, reported into the validator. Parts that failed their own format
/// rule are `None` and skipped.
fn check_interval(
    v: &mut Validator,
    date: Option<NaiveDate>,
    start: Option<NaiveTime>,
    end: Option<NaiveTime>,
    today: NaiveDate,
) {
    for (field, problem) in interval_problems(date, start, end, today) {
        v.fail(field, problem);
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
}

// ---- handlers ------------------------------------------------------------------------------------------------

/// Book an appointment.
#[utoipa::path(
    post,
    path = "/api/v1/appointments",
    tag = "appointments",
    request_body = CreateAppointmentRequest,
    responses(
        (status = 201, description = "Booked", body = Appointment,
            headers(("Location" = String, description = "/api/v1/appointments/{appointmentId}"))),
    )
)]
async fn create_appointment(State(state): State<AppState>, ctx: Ctx, body: CreateBody) -> ApiResult<Response> {
    let req = CreateAppointmentRequest::from_json(&body.json, ctx.today())?;
    let outcome = state.service.book_appointment(&ctx, req, body.once.as_ref()).await?;
    Ok(created(outcome, |a| appointment_location(&a.appointment_id)))
}

/// List appointments.
#[utoipa::path(
    get,
    path = "/api/v1/appointments",
    tag = "appointments",
    params(
        ("patientId" = Option<String>, Query, description = "Exact patient ID (an unknown one gives an empty list)"),
        ("doctorId" = Option<String>, Query, description = "Exact doctor ID (an unknown one gives an empty list)"),
        ("date" = Option<crate::domain::formats::Date>, Query, description = "appointmentDate, YYYY-MM-DD"),
        ("status" = Option<AppointmentStatus>, Query, description = "Appointment status"),
        ("page" = Option<u32>, Query, description = "1-2147483647, default 1"),
        ("limit" = Option<u32>, Query, description = "At least 1, default 20, capped at 100"),
    ),
    responses(
        (status = 200, description = "appointmentDate desc, startTime desc, appointmentId desc", body = PageResponse<Appointment>),
    )
)]
async fn list_appointments(State(state): State<AppState>, ctx: Ctx, q: QueryParams) -> ApiResult<Response> {
    let mut v = q.validator();
    let filter = AppointmentFilter {
        patient_id: q.get("patientId").map(str::to_owned),
        doctor_id: q.get("doctorId").map(str::to_owned),
        date: q.date(&mut v, "date"),
        status: q.one_of(&mut v, "status", AppointmentStatus::parse, AppointmentStatus::VALUES),
    };
    let page = q.page(&mut v);
    v.finish()?;
    let found = state.service.list_appointments(&ctx, &filter, page).await?;
    Ok(ok(&PageResponse::new(found, page)))
}

/// Read one appointment.
#[utoipa::path(
    get,
    path = "/api/v1/appointments/{appointmentId}",
    tag = "appointments",
    params(("appointmentId" = crate::domain::ids::AppointmentId, Path, description = "APT- ID")),
    responses(
        (status = 200, description = "The appointment", body = Appointment),
    )
)]
async fn get_appointment(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(tagged(&state.service.appointment(&ctx, &id).await?))
}

/// Update, reschedule or change the status of an appointment.
#[utoipa::path(
    put,
    path = "/api/v1/appointments/{appointmentId}",
    tag = "appointments",
    params(("appointmentId" = crate::domain::ids::AppointmentId, Path, description = "APT- ID")),
    request_body = UpdateAppointmentRequest,
    responses(
        (status = 200, description = "The appointment after the update (unchanged for a no-op)", body = Appointment),
    )
)]
async fn update_appointment(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    IfMatch(precondition): IfMatch,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let req = UpdateAppointmentRequest::from_json(&body)?;
    Ok(tagged(&state.service.update_appointment(&ctx, &id, &req, &precondition).await?))
}

/// Cancel a scheduled appointment.
#[utoipa::path(
    delete,
    path = "/api/v1/appointments/{appointmentId}",
    tag = "appointments",
    params(("appointmentId" = crate::domain::ids::AppointmentId, Path, description = "APT- ID")),
    responses(
        (status = 200, description = "Cancelled; the slot is free at once", body = AppointmentCancelled),
    )
)]
async fn cancel_appointment(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    IfMatch(precondition): IfMatch,
) -> ApiResult<Response> {
    let cancelled = state.service.cancel_appointment(&ctx, &id, &precondition).await?;
    let version = cancelled.version;
    let body = AppointmentCancelled {
        message: "Appointment cancelled successfully".into(),
        appointment_id: cancelled.appointment_id,
    };
    Ok(ok_tagged(&body, version))
}

/// A doctor's bookable slots.
#[utoipa::path(
    get,
    path = "/api/v1/doctors/{doctorId}/availability",
    tag = "doctors",
    params(
        ("doctorId" = crate::domain::ids::DoctorId, Path, description = "DOC- ID"),
        ("startDate" = Option<crate::domain::formats::Date>, Query, description = "Default today"),
        ("endDate" = Option<crate::domain::formats::Date>, Query,
            description = "Default startDate; startDate ≤ endDate ≤ startDate + 30 days"),
    ),
    responses(
        (status = 200, description = "Working-hour slots (empty for a doctor who is not active)", body = Availability),
    )
)]
async fn doctor_availability(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    q: QueryParams,
) -> ApiResult<Response> {
    let mut v = q.validator();
    let start = q.date(&mut v, "startDate");
    let end = q.date(&mut v, "endDate");
    // A range rule on a date that failed its own format rule would only repeat the problem.
    let parsed = (q.get("startDate").is_none() || start.is_some()) && (q.get("endDate").is_none() || end.is_some());
    let range = if parsed {
        v.check("endDate", (start, end), |(s, e)| availability::resolve_range(s, e, ctx.today()))
    } else {
        None
    };
    v.finish()?;
    let (start, end) = range.ok_or_else(|| ApiError::internal("availability range missing after validation"))?;
    let found = state.service.doctor_availability(&ctx, &id, start, end).await?;
    Ok(ok(&Availability {
        doctor_id: found.doctor_id,
        start_date: Date(found.start),
        end_date: Date(found.end),
        availability: found.slots,
    }))
}

/// This module's `/api/v1` routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_appointments, create_appointment))
        .routes(routes!(get_appointment, update_appointment, cancel_appointment))
        .routes(routes!(doctor_availability))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::formats::Time;
    use crate::domain::formats::{parse_date, parse_time};
    use crate::domain::ids::DepartmentId;
    use crate::domain::ids::PatientId;
    use crate::domain::patch::Patch;
    use crate::error::ErrorCode;

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
