//! Appointment aggregate, its state machine (API.md §4.3) and the half-open overlap rule (§4.5).

use chrono::{NaiveDate, NaiveTime};
use serde::Serialize;
use utoipa::ToSchema;

use super::enums::wire_enum;
use super::formats::{Date, Time, Timestamp};
use super::ids::{AppointmentId, DepartmentId, DoctorId, PatientId};
use super::patch::Patch;
use super::schema;
use crate::error::{ApiError, ApiResult, ErrorCode};

wire_enum!(/// Appointment status; all but `scheduled` are final.
    AppointmentStatus { Scheduled = "scheduled", Completed = "completed", Cancelled = "cancelled", NoShow = "no-show" });

impl AppointmentStatus {
    /// `completed`, `cancelled` and `no-show` accept no change but to `notes`.
    pub fn is_final(self) -> bool {
        self != Self::Scheduled
    }

    /// Whether `self → to` is allowed by §4.3 (a non-change is always allowed).
    pub fn can_become(self, to: Self) -> bool {
        self == to || self == Self::Scheduled
    }
}

/// An appointment, exactly as the API returns it (names and department are live joins).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Appointment {
    pub appointment_id: AppointmentId,
    pub patient_id: PatientId,
    pub patient_name: String,
    pub doctor_id: DoctorId,
    pub doctor_name: String,
    pub department_id: DepartmentId,
    pub appointment_date: Date,
    pub start_time: Time,
    pub end_time: Time,
    pub reason: String,
    pub status: AppointmentStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Optimistic-concurrency counter (API.md §1.10): 1 at creation, +1 per change.
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Half-open intervals `[a_start, a_end)` and `[b_start, b_end)` on the same day overlap.
pub fn overlaps(a_start: NaiveTime, a_end: NaiveTime, b_start: NaiveTime, b_end: NaiveTime) -> bool {
    a_start < b_end && b_start < a_end
}

/// Shortest and longest allowed appointment, in minutes.
/// A non-cancelled appointment's interval, as availability needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusyInterval {
    pub date: Date,
    pub start: Time,
    pub end: Time,
}

pub const MIN_MINUTES: i64 = 5;
pub const MAX_MINUTES: i64 = 480;

/// Body of `POST /api/v1/appointments`.
#[derive(Debug, Clone, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "patientId": "PAT-01M88ZQHVRM9S346Q3D25VT4F5", "doctorId": "DOC-01M88ZSCERV37E3S3E28JT97KB",
    "appointmentDate": "2099-06-01", "startTime": "10:00", "endTime": "10:30", "reason": "Chest pain follow-up"
}))]
pub struct CreateAppointmentRequest {
    /// An existing, active patient (a malformed ID is reported as not found).
    #[schema(schema_with = schema::reference_id)]
    pub patient_id: String,
    /// An existing, active doctor (a malformed ID is reported as not found).
    #[schema(schema_with = schema::reference_id)]
    pub doctor_id: String,
    /// Today (the server's UTC date) or later.
    #[schema(value_type = Date)]
    pub appointment_date: NaiveDate,
    #[schema(value_type = Time)]
    pub start_time: NaiveTime,
    /// After `startTime`, 5–480 minutes later, the same day.
    #[schema(value_type = Time)]
    pub end_time: NaiveTime,
    #[schema(schema_with = schema::text::<500>)]
    pub reason: String,
    #[schema(schema_with = schema::optional_text::<2000>)]
    pub notes: Option<String>,
}

/// Body of `PUT /api/v1/appointments/{appointmentId}`: a partial update. Absent fields stay as they are; `notes`
/// is cleared by `null` or `""`. Changing the date or a time is a reschedule and is fully re-checked.
#[derive(Debug, Clone, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"reason": "Follow-up on test results", "notes": "Bring the ECG"}))]
pub struct UpdateAppointmentRequest {
    #[schema(value_type = Date, required = false)]
    pub appointment_date: Patch<NaiveDate>,
    #[schema(value_type = Time, required = false)]
    pub start_time: Patch<NaiveTime>,
    #[schema(value_type = Time, required = false)]
    pub end_time: Patch<NaiveTime>,
    #[schema(schema_with = schema::text::<500>, required = false)]
    pub reason: Patch<String>,
    #[schema(schema_with = schema::optional_text::<2000>, required = false)]
    pub notes: Patch<String>,
    /// `scheduled` → `completed` | `cancelled` | `no-show`; final statuses never change.
    #[schema(value_type = AppointmentStatus, required = false)]
    pub status: Patch<AppointmentStatus>,
}

/// The rules on an appointment's interval (API.md §3.3 #16 step 1, #19 step 7b): date not in the past, end after
/// start, 5–480 minutes. Parts that failed their own format rule are `None` and skipped. Each problem is
/// `(field, text)`.
pub fn interval_problems(
    date: Option<NaiveDate>,
    start: Option<NaiveTime>,
    end: Option<NaiveTime>,
    today: NaiveDate,
) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    if date.is_some_and(|d| d < today) {
        problems.push(("appointmentDate", "must not be in the past".to_owned()));
    }
    if let (Some(start), Some(end)) = (start, end) {
        if end <= start {
            problems.push(("endTime", "must be after startTime".to_owned()));
        } else if !(MIN_MINUTES * 60..=MAX_MINUTES * 60).contains(&(end - start).num_seconds()) {
            problems.push(("endTime", format!("duration must be between {MIN_MINUTES} and {MAX_MINUTES} minutes")));
        }
    }
    problems
}

impl UpdateAppointmentRequest {
    /// The members sent, by wire name (field-level rules, SECURITY.md §3).
    pub fn members(&self) -> Vec<&'static str> {
        crate::domain::patch::sent(&[
            ("appointmentDate", self.appointment_date.is_sent()),
            ("startTime", self.start_time.is_sent()),
            ("endTime", self.end_time.is_sent()),
            ("reason", self.reason.is_sent()),
            ("notes", self.notes.is_sent()),
            ("status", self.status.is_sent()),
        ])
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
            let problems =
                interval_problems(Some(next.appointment_date.0), Some(next.start_time.0), Some(next.end_time.0), today);
            if !problems.is_empty() {
                return Err(ApiError::validation(
                    problems.into_iter().map(|(field, problem)| format!("{field}: {problem}")).collect(),
                ));
            }
        }
        Ok(Some((next, reschedule)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveTime {
        crate::domain::formats::parse_time(s).unwrap()
    }

    #[test]
    fn touching_intervals_do_not_overlap() {
        assert!(!overlaps(t("10:00"), t("10:30"), t("10:30"), t("11:00")));
        assert!(!overlaps(t("10:30"), t("11:00"), t("10:00"), t("10:30")));
        assert!(overlaps(t("10:00"), t("10:30"), t("10:15"), t("10:45")));
        assert!(overlaps(t("10:00"), t("11:00"), t("10:15"), t("10:45")));
        assert!(overlaps(t("10:00"), t("10:30"), t("10:00"), t("10:30")));
    }

    #[test]
    fn only_scheduled_appointments_change_status() {
        use AppointmentStatus::*;
        for to in [Scheduled, Completed, Cancelled, NoShow] {
            assert!(Scheduled.can_become(to));
        }
        for from in [Completed, Cancelled, NoShow] {
            assert!(from.can_become(from));
            for to in [Scheduled, Completed, Cancelled, NoShow].into_iter().filter(|t| *t != from) {
                assert!(!from.can_become(to), "{from} -> {to}");
            }
        }
    }
}
