//! Appointment aggregate, its state machine (API.md §4.3) and the half-open overlap rule (§4.5).

use chrono::NaiveTime;
use serde::Serialize;
use utoipa::ToSchema;

use super::enums::wire_enum;
use super::formats::{Date, Time, Timestamp};
use super::ids::{AppointmentId, DepartmentId, DoctorId, PatientId};

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
    #[serde(skip)]
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Half-open intervals `[a_start, a_end)` and `[b_start, b_end)` on the same day overlap.
pub fn overlaps(a_start: NaiveTime, a_end: NaiveTime, b_start: NaiveTime, b_end: NaiveTime) -> bool {
    a_start < b_end && b_start < a_end
}

/// Shortest and longest allowed appointment, in minutes.
pub const MIN_MINUTES: i64 = 5;
pub const MAX_MINUTES: i64 = 480;

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
