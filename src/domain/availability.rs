//! Availability slot generation (API.md §4.6): working-hour slots per working day, each marked available unless
//! the day is past or a non-cancelled appointment of the doctor overlaps it. Pure: no clock, no store.

use chrono::{Datelike, Days, NaiveDate, NaiveTime, Timelike, Weekday};
use serde::Serialize;
use utoipa::ToSchema;

use super::appointment::{BusyInterval, overlaps};
use super::formats::{Date, Time};

/// Availability settings (API.md §4.6), validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub work_days: Vec<Weekday>,
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub slot_minutes: u32,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            work_days: vec![Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri],
            start: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
            end: NaiveTime::from_hms_opt(17, 0, 0).unwrap_or_default(),
            slot_minutes: 30,
        }
    }
}

/// The longest span after `startDate` an availability query may cover (31 days inclusive).
pub const MAX_SPAN_DAYS: u64 = 30;

/// One bookable slot `[startTime, endTime)` (API.md §2.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimeSlot {
    pub date: Date,
    pub start_time: Time,
    pub end_time: Time,
    pub available: bool,
}

/// Resolves the query's dates: `startDate` defaults to today, `endDate` to `startDate`, and the range must satisfy
/// `startDate ≤ endDate ≤ startDate + 30 days`. The error is the problem text for the `endDate` parameter.
pub fn resolve_range(
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), String> {
    let start = start.unwrap_or(today);
    let end = end.unwrap_or(start);
    if end < start {
        return Err("must not be before startDate".into());
    }
    // Near the end of the calendar the limit overflows; no representable endDate can exceed it then.
    if start.checked_add_days(Days::new(MAX_SPAN_DAYS)).is_some_and(|limit| end > limit) {
        return Err(format!("must be at most {MAX_SPAN_DAYS} days after startDate"));
    }
    Ok((start, end))
}

/// Every slot from `from` to `to` inclusive, ordered by date and then start time.
pub fn generate(
    schedule: &Schedule,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
    busy: &[BusyInterval],
) -> Vec<TimeSlot> {
    let day_start = schedule.start.num_seconds_from_midnight();
    let day_end = schedule.end.num_seconds_from_midnight();
    // Settings validation guarantees 5–480 minutes; a zero step would never terminate, so guard anyway.
    let step = schedule.slot_minutes.max(1) * 60;
    let mut slots = Vec::new();
    for date in from.iter_days().take_while(|d| *d <= to) {
        if !schedule.work_days.contains(&date.weekday()) {
            continue;
        }
        let day_busy: Vec<&BusyInterval> = busy.iter().filter(|b| b.date.0 == date).collect();
        let mut t = day_start;
        while t + step <= day_end {
            let (Some(start), Some(end)) = (secs_to_time(t), secs_to_time(t + step)) else {
                break;
            };
            let available = date >= today && !day_busy.iter().any(|b| overlaps(start, end, b.start.0, b.end.0));
            slots.push(TimeSlot { date: Date(date), start_time: Time(start), end_time: Time(end), available });
            t += step;
        }
    }
    slots
}

fn secs_to_time(secs: u32) -> Option<NaiveTime> {
    NaiveTime::from_num_seconds_from_midnight_opt(secs, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::formats::{parse_date, parse_time};

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    fn busy(date: &str, start: &str, end: &str) -> BusyInterval {
        BusyInterval {
            date: Date(d(date)),
            start: Time(parse_time(start).unwrap()),
            end: Time(parse_time(end).unwrap()),
        }
    }

    fn hm(slot: &TimeSlot) -> (String, String) {
        (slot.start_time.to_string(), slot.end_time.to_string())
    }

    const TODAY: &str = "2026-11-25"; // a Wednesday

    #[test]
    fn a_default_working_day_has_sixteen_half_hour_slots() {
        let slots = generate(&Schedule::default(), d("2026-12-01"), d("2026-12-01"), d(TODAY), &[]);
        assert_eq!(slots.len(), 16);
        assert_eq!(hm(&slots[0]), ("09:00:00".into(), "09:30:00".into()));
        assert_eq!(hm(&slots[15]), ("16:30:00".into(), "17:00:00".into()));
        assert!(slots.iter().all(|s| s.available && s.date.0 == d("2026-12-01")));
    }

    #[test]
    fn weekends_have_no_slots_and_days_are_ordered() {
        // Friday to Monday: only Friday and Monday produce slots.
        let slots = generate(&Schedule::default(), d("2026-11-27"), d("2026-11-30"), d(TODAY), &[]);
        assert_eq!(slots.len(), 32);
        assert!(slots[..16].iter().all(|s| s.date.0 == d("2026-11-27")));
        assert!(slots[16..].iter().all(|s| s.date.0 == d("2026-11-30")));
        assert!(generate(&Schedule::default(), d("2026-11-28"), d("2026-11-29"), d(TODAY), &[]).is_empty());
    }

    #[test]
    fn an_appointment_blocks_every_slot_it_overlaps_and_no_other() {
        let b = [busy("2026-12-01", "10:15", "10:45"), busy("2026-12-01", "12:00", "12:30")];
        let slots = generate(&Schedule::default(), d("2026-12-01"), d("2026-12-01"), d(TODAY), &b);
        let taken: Vec<_> = slots.iter().filter(|s| !s.available).map(hm).collect();
        assert_eq!(
            taken,
            vec![
                ("10:00:00".into(), "10:30:00".into()),
                ("10:30:00".into(), "11:00:00".into()),
                ("12:00:00".into(), "12:30:00".into()),
            ]
        );
    }

    #[test]
    fn appointments_on_other_days_do_not_block() {
        let b = [busy("2026-12-02", "09:00", "17:00")];
        let slots = generate(&Schedule::default(), d("2026-12-01"), d("2026-12-01"), d(TODAY), &b);
        assert!(slots.iter().all(|s| s.available));
    }

    #[test]
    fn past_days_are_unavailable_and_today_is_available() {
        let slots = generate(&Schedule::default(), d("2026-11-24"), d("2026-11-25"), d(TODAY), &[]);
        assert_eq!(slots.len(), 32);
        assert!(slots[..16].iter().all(|s| !s.available));
        assert!(slots[16..].iter().all(|s| s.available));
    }

    #[test]
    fn custom_schedules_drop_a_partial_last_slot() {
        let schedule = Schedule {
            work_days: vec![chrono::Weekday::Sat],
            start: parse_time("08:00").unwrap(),
            end: parse_time("09:50").unwrap(),
            slot_minutes: 45,
        };
        let slots = generate(&schedule, d("2026-11-28"), d("2026-11-28"), d(TODAY), &[]);
        assert_eq!(
            slots.iter().map(hm).collect::<Vec<_>>(),
            vec![("08:00:00".into(), "08:45:00".into()), ("08:45:00".into(), "09:30:00".into()),]
        );
        let late = Schedule {
            work_days: vec![chrono::Weekday::Sat],
            start: parse_time("23:00").unwrap(),
            end: parse_time("23:59:59").unwrap(),
            slot_minutes: 30,
        };
        assert_eq!(generate(&late, d("2026-11-28"), d("2026-11-28"), d(TODAY), &[]).len(), 1);
    }

    #[test]
    fn ranges_default_and_are_bounded() {
        let today = d(TODAY);
        assert_eq!(resolve_range(None, None, today), Ok((today, today)));
        assert_eq!(resolve_range(Some(d("2026-12-01")), None, today), Ok((d("2026-12-01"), d("2026-12-01"))));
        assert_eq!(resolve_range(None, Some(d("2026-12-25")), today), Ok((today, d("2026-12-25"))));
        assert!(resolve_range(None, Some(d("2026-12-26")), today).is_err());
        assert!(resolve_range(Some(d("2026-12-01")), Some(d("2026-11-30")), today).is_err());
        // A past startDate is allowed; its slots are simply unavailable.
        assert!(resolve_range(Some(d("2026-11-01")), Some(d("2026-11-02")), today).is_ok());
        // endDate before the default startDate (today).
        assert!(resolve_range(None, Some(d("2026-11-24")), today).is_err());
    }
}
