//! Appointments (API.md §3.3, §4.3, §4.5, §7.2): booking, validation, overlap, listing, state machine, cancel.

use serde_json::json;

use crate::helpers::{TODAY, TestApp, s};

const APTS: &str = "/api/v1/appointments";
const DAY: &str = "2026-12-01"; // a Tuesday, in the future

/// A patient, a doctor, and their IDs.
async fn pair(app: &TestApp, tag: &str) -> (String, String) {
    let p = app.create_patient(&format!("{tag}.patient@example.org")).await;
    let d = app.create_doctor(&format!("LIC-{tag}"), "DEPT-001").await;
    (s(&p, "patientId").to_owned(), s(&d, "doctorId").to_owned())
}

async fn patient(app: &TestApp, tag: &str) -> String {
    s(&app.create_patient(&format!("{tag}@example.org")).await, "patientId").to_owned()
}

async fn doctor(app: &TestApp, lic: &str) -> String {
    s(&app.create_doctor(lic, "DEPT-001").await, "doctorId").to_owned()
}

/// Books and asserts 201; returns the appointment ID.
async fn booked(app: &TestApp, p: &str, d: &str, date: &str, start: &str, end: &str) -> String {
    let res = app.book(p, d, date, start, end).await;
    res.assert(201);
    s(&res.body, "appointmentId").to_owned()
}

fn apt(id: &str) -> String {
    format!("{APTS}/{id}")
}

async fn set_doctor_status(app: &TestApp, d: &str, status: &str) {
    app.put(&format!("/api/v1/doctors/{d}"), &json!({"status": status})).await.assert(200);
}

async fn deactivate(app: &TestApp, p: &str) {
    app.delete(&format!("/api/v1/patients/{p}")).await.assert(200);
}

async fn set_status(app: &TestApp, id: &str, status: &str) {
    app.put(&apt(id), &json!({"status": status})).await.assert(200);
}

#[track_caller]
fn assert_detail_prefixes(res: &crate::helpers::Res, prefixes: &[&str]) {
    let details = res.details();
    assert_eq!(details.len(), prefixes.len(), "details: {details:?}; body: {}", res.text);
    for p in prefixes {
        assert!(details.iter().any(|d| d.starts_with(p)), "no detail starting with {p:?}: {details:?}");
    }
}

#[track_caller]
fn assert_has_detail(res: &crate::helpers::Res, prefix: &str) {
    let details = res.details();
    assert!(details.iter().any(|d| d.starts_with(prefix)), "no detail starting with {prefix:?}: {}", res.text);
}

// ---- booking ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn booking_returns_201_with_joined_names_normalised_times_and_location() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "book").await;
    let res = app
        .post(
            APTS,
            &json!({"patientId": p, "doctorId": d, "appointmentDate": DAY, "startTime": "10:00",
                            "endTime": "10:30", "reason": "Chest pain follow-up"}),
        )
        .await;
    res.assert(201);
    let b = &res.body;
    let id = s(b, "appointmentId");
    assert!(id.starts_with("APT-") && id.len() == 30, "bad id {id}");
    assert_eq!(res.header("location"), Some(format!("/api/v1/appointments/{id}").as_str()));
    assert_eq!(b["patientId"], json!(p));
    assert_eq!(b["patientName"], json!("Amara Okafor"));
    assert_eq!(b["doctorId"], json!(d));
    assert_eq!(b["doctorName"], json!("Dr. Sofia Chen"));
    assert_eq!(b["departmentId"], json!("DEPT-001"));
    assert_eq!(b["appointmentDate"], json!(DAY));
    assert_eq!(b["startTime"], json!("10:00:00"));
    assert_eq!(b["endTime"], json!("10:30:00"));
    assert_eq!(b["reason"], json!("Chest pain follow-up"));
    assert_eq!(b["status"], json!("scheduled"));
    assert!(b.get("notes").is_none(), "unset notes must be omitted: {b}");
    assert_eq!(b["version"], json!(1), "[safe-writes] version 1 at creation: {b}");
    assert_eq!(res.header("etag"), Some("\"1\""));
    assert!(b["createdAt"].is_string() && b["updatedAt"].is_string());
}

#[tokio::test]
async fn a_booked_appointment_can_be_read_back_by_id() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "read").await;
    let id = booked(&app, &p, &d, DAY, "10:00:00", "10:30:00").await;
    let res = app.get(&apt(&id)).await;
    res.assert(200);
    assert_eq!(res.body["appointmentId"], json!(id));
    assert_eq!(res.body["startTime"], json!("10:00:00"));
    assert_eq!(res.body["doctorName"], json!("Dr. Sofia Chen"));
}

#[tokio::test]
async fn end_time_equal_to_start_time_is_rejected() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "eq").await;
    let res = app.book(&p, &d, DAY, "10:00", "10:00").await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "endTime: ");
}

#[tokio::test]
async fn end_time_before_start_time_is_rejected() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "before").await;
    let res = app.book(&p, &d, DAY, "10:00", "09:30").await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "endTime: ");
}

#[tokio::test]
async fn a_four_minute_appointment_is_too_short() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "four").await;
    let res = app.book(&p, &d, DAY, "10:00", "10:04").await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "endTime: ");
}

#[tokio::test]
async fn a_five_minute_appointment_is_accepted() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "five").await;
    app.book(&p, &d, DAY, "10:00", "10:05").await.assert(201);
}

#[tokio::test]
async fn a_480_minute_appointment_is_accepted() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "long").await;
    let res = app.book(&p, &d, DAY, "08:00", "16:00").await;
    res.assert(201);
    assert_eq!(res.body["endTime"], json!("16:00:00"));
}

#[tokio::test]
async fn a_481_minute_appointment_is_too_long() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "toolong").await;
    let res = app.book(&p, &d, DAY, "08:00", "16:01").await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "endTime: ");
}

#[tokio::test]
async fn a_date_before_today_is_rejected() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "past").await;
    let res = app.book(&p, &d, "2026-11-24", "10:00", "10:30").await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "appointmentDate: ");
}

#[tokio::test]
async fn today_is_a_valid_appointment_date_even_for_hours_already_past() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "today").await;
    let res = app.book(&p, &d, TODAY, "08:00", "08:30").await;
    res.assert(201);
    assert_eq!(res.body["appointmentDate"], json!(TODAY));
}

#[tokio::test]
async fn bookings_need_not_follow_working_hours() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "night").await;
    app.book(&p, &d, "2026-11-28", "22:10", "23:50").await.assert(201); // a Saturday night
}

#[tokio::test]
async fn an_out_of_range_hour_is_rejected() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "hour").await;
    let res = app.book(&p, &d, DAY, "25:00", "25:30").await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "startTime: ");
}

#[tokio::test]
async fn a_malformed_date_is_rejected() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "baddate").await;
    let res = app.book(&p, &d, "2026-02-30", "10:00", "10:30").await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "appointmentDate: ");
}

#[tokio::test]
async fn a_missing_reason_is_rejected() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "noreason").await;
    let res = app
        .post(
            APTS,
            &json!({"patientId": p, "doctorId": d, "appointmentDate": DAY, "startTime": "10:00",
                            "endTime": "10:30"}),
        )
        .await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "reason: ");
}

#[tokio::test]
async fn validation_runs_before_existence_checks() {
    let app = TestApp::spawn().await;
    let res = app.book("PAT-01M88ZQHVRM9S346Q3D25VT4F5", "DOC-01M88ZSCERV37E3S3E28JT97KB", DAY, "10:00", "09:00").await;
    res.assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn an_unknown_patient_is_reported_before_an_unknown_doctor() {
    let app = TestApp::spawn().await;
    let res = app.book("PAT-01M88ZQHVRM9S346Q3D25VT4F5", "DOC-01M88ZSCERV37E3S3E28JT97KB", DAY, "10:00", "10:30").await;
    res.assert_error(404, "PATIENT_NOT_FOUND");
}

#[tokio::test]
async fn a_malformed_patient_id_counts_as_an_unknown_patient() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-MAL").await;
    let res = app.book("not-an-id", &d, DAY, "10:00", "10:30").await;
    res.assert_error(404, "PATIENT_NOT_FOUND");
}

#[tokio::test]
async fn an_unknown_doctor_gives_doctor_not_found() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "nodoc").await;
    let res = app.book(&p, "DOC-01M88ZSCERV37E3S3E28JT97KB", DAY, "10:00", "10:30").await;
    res.assert_error(404, "DOCTOR_NOT_FOUND");
}

#[tokio::test]
async fn an_inactive_patient_cannot_book() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "inactive").await;
    deactivate(&app, &p).await;
    app.book(&p, &d, DAY, "10:00", "10:30").await.assert_error(409, "PATIENT_INACTIVE");
}

#[tokio::test]
async fn patient_inactive_is_checked_before_doctor_unavailable() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "both").await;
    deactivate(&app, &p).await;
    set_doctor_status(&app, &d, "on-leave").await;
    app.book(&p, &d, DAY, "10:00", "10:30").await.assert_error(409, "PATIENT_INACTIVE");
}

#[tokio::test]
async fn a_doctor_on_leave_cannot_be_booked() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "leave").await;
    set_doctor_status(&app, &d, "on-leave").await;
    app.book(&p, &d, DAY, "10:00", "10:30").await.assert_error(409, "DOCTOR_UNAVAILABLE");
}

#[tokio::test]
async fn an_inactive_doctor_cannot_be_booked() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "docinactive").await;
    set_doctor_status(&app, &d, "inactive").await;
    app.book(&p, &d, DAY, "10:00", "10:30").await.assert_error(409, "DOCTOR_UNAVAILABLE");
}

// ---- overlap (§4.5) --------------------------------------------------------------------------------------

#[tokio::test]
async fn back_to_back_appointments_do_not_overlap() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-B2B").await;
    let p1 = patient(&app, "b2b1").await;
    let p2 = patient(&app, "b2b2").await;
    booked(&app, &p1, &d, DAY, "10:00", "10:30").await;
    app.book(&p2, &d, DAY, "10:30", "11:00").await.assert(201);
    app.book(&p2, &d, DAY, "09:30", "10:00").await.assert(201);
}

#[tokio::test]
async fn an_overlapping_booking_for_the_same_doctor_is_a_conflict_on_doctor_id() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-OVL").await;
    let p1 = patient(&app, "ovl1").await;
    let p2 = patient(&app, "ovl2").await;
    booked(&app, &p1, &d, DAY, "10:00", "10:30").await;
    let res = app.book(&p2, &d, DAY, "10:15:00", "10:45:00").await;
    res.assert_error(409, "TIME_SLOT_NOT_AVAILABLE");
    assert_eq!(res.body["error"]["message"], json!("Time slot is not available"));
    assert_detail_prefixes(&res, &["doctorId: "]);
}

#[tokio::test]
async fn an_appointment_enclosing_another_overlaps_it() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-ENC").await;
    let p1 = patient(&app, "enc1").await;
    let p2 = patient(&app, "enc2").await;
    booked(&app, &p1, &d, DAY, "10:10", "10:20").await;
    let res = app.book(&p2, &d, DAY, "10:00", "11:00").await;
    res.assert_error(409, "TIME_SLOT_NOT_AVAILABLE");
    assert_detail_prefixes(&res, &["doctorId: "]);
}

#[tokio::test]
async fn the_same_slot_on_another_date_is_free() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-DATE").await;
    let p1 = patient(&app, "date1").await;
    let p2 = patient(&app, "date2").await;
    booked(&app, &p1, &d, DAY, "10:00", "10:30").await;
    app.book(&p2, &d, "2026-12-02", "10:00", "10:30").await.assert(201);
}

#[tokio::test]
async fn the_same_patient_with_another_doctor_overlapping_is_a_conflict_on_patient_id() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "twodocs").await;
    let d1 = doctor(&app, "LIC-TD1").await;
    let d2 = doctor(&app, "LIC-TD2").await;
    booked(&app, &p, &d1, DAY, "10:00", "10:30").await;
    let res = app.book(&p, &d2, DAY, "10:15", "10:45").await;
    res.assert_error(409, "TIME_SLOT_NOT_AVAILABLE");
    assert_detail_prefixes(&res, &["patientId: "]);
}

#[tokio::test]
async fn a_clash_on_both_doctor_and_patient_gives_two_details() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "bothsides").await;
    booked(&app, &p, &d, DAY, "10:00", "10:30").await;
    let res = app.book(&p, &d, DAY, "10:15", "10:45").await;
    res.assert_error(409, "TIME_SLOT_NOT_AVAILABLE");
    assert_detail_prefixes(&res, &["doctorId: ", "patientId: "]);
}

#[tokio::test]
async fn a_cancelled_appointment_frees_its_slot() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-FREE").await;
    let p1 = patient(&app, "free1").await;
    let p2 = patient(&app, "free2").await;
    let id = booked(&app, &p1, &d, DAY, "10:00", "10:30").await;
    app.delete(&apt(&id)).await.assert(200);
    app.book(&p2, &d, DAY, "10:00", "10:30").await.assert(201);
}

#[tokio::test]
async fn an_appointment_cancelled_through_put_frees_its_slot() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-FREEPUT").await;
    let p1 = patient(&app, "freeput1").await;
    let p2 = patient(&app, "freeput2").await;
    let id = booked(&app, &p1, &d, DAY, "10:00", "10:30").await;
    set_status(&app, &id, "cancelled").await;
    app.book(&p2, &d, DAY, "10:10", "10:20").await.assert(201);
}

#[tokio::test]
async fn a_completed_appointment_still_blocks_its_slot() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-COMPL").await;
    let p1 = patient(&app, "compl1").await;
    let p2 = patient(&app, "compl2").await;
    let id = booked(&app, &p1, &d, DAY, "10:00", "10:30").await;
    set_status(&app, &id, "completed").await;
    let res = app.book(&p2, &d, DAY, "10:00", "10:30").await;
    res.assert_error(409, "TIME_SLOT_NOT_AVAILABLE");
    assert_detail_prefixes(&res, &["doctorId: "]);
}

#[tokio::test]
async fn a_no_show_appointment_still_blocks_its_slot() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-NOSHOW").await;
    let p1 = patient(&app, "noshow1").await;
    let id = booked(&app, &p1, &d, DAY, "10:00", "10:30").await;
    set_status(&app, &id, "no-show").await;
    let d2 = doctor(&app, "LIC-NOSHOW2").await;
    // the same patient with another doctor clashes on the patient side
    let res = app.book(&p1, &d2, DAY, "10:20", "10:40").await;
    res.assert_error(409, "TIME_SLOT_NOT_AVAILABLE");
    assert_detail_prefixes(&res, &["patientId: "]);
}

// ---- listing ---------------------------------------------------------------------------------------------

fn ids(res: &crate::helpers::Res) -> Vec<String> {
    res.body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data array: {}", res.text))
        .iter()
        .map(|a| s(a, "appointmentId").to_owned())
        .collect()
}

#[tokio::test]
async fn the_list_is_ordered_by_date_desc_then_start_time_desc() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "order").await;
    let a = booked(&app, &p, &d, "2026-12-01", "09:00", "09:30").await;
    let b = booked(&app, &p, &d, "2026-12-03", "08:00", "08:30").await;
    let c = booked(&app, &p, &d, "2026-12-01", "14:00", "14:30").await;
    let e = booked(&app, &p, &d, "2026-12-02", "11:00", "11:30").await;
    let res = app.get(APTS).await;
    res.assert(200);
    assert_eq!(ids(&res), vec![b, e, c, a]);
    assert_eq!(res.body["pagination"], json!({"page": 1, "limit": 20, "totalPages": 1, "totalItems": 4}));
}

#[tokio::test]
async fn the_list_filters_by_patient_doctor_date_and_status() {
    let app = TestApp::spawn().await;
    let p1 = patient(&app, "flt1").await;
    let p2 = patient(&app, "flt2").await;
    let d1 = doctor(&app, "LIC-FLT1").await;
    let d2 = doctor(&app, "LIC-FLT2").await;
    let a = booked(&app, &p1, &d1, "2026-12-01", "09:00", "09:30").await;
    let b = booked(&app, &p2, &d1, "2026-12-02", "09:00", "09:30").await;
    let c = booked(&app, &p1, &d2, "2026-12-02", "10:00", "10:30").await;
    set_status(&app, &c, "completed").await;

    let res = app.get(&format!("{APTS}?patientId={p1}")).await;
    res.assert(200);
    assert_eq!(ids(&res), vec![c.clone(), a.clone()]);

    let res = app.get(&format!("{APTS}?doctorId={d1}")).await;
    assert_eq!(ids(&res), vec![b.clone(), a.clone()]);

    let res = app.get(&format!("{APTS}?date=2026-12-02")).await;
    assert_eq!(ids(&res), vec![c.clone(), b.clone()]);

    let res = app.get(&format!("{APTS}?status=completed")).await;
    assert_eq!(ids(&res), vec![c.clone()]);

    let res = app.get(&format!("{APTS}?status=scheduled&doctorId={d1}&date=2026-12-01")).await;
    assert_eq!(ids(&res), vec![a.clone()]);
    assert_eq!(res.body["pagination"]["totalItems"], json!(1));

    let res = app.get(&format!("{APTS}?patientId=PAT-01M88ZQHVRM9S346Q3D25VT4F5")).await;
    res.assert(200);
    assert!(ids(&res).is_empty());
}

#[tokio::test]
async fn an_unknown_status_filter_is_rejected() {
    let app = TestApp::spawn().await;
    let res = app.get(&format!("{APTS}?status=done")).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "status: ");
}

#[tokio::test]
async fn a_malformed_date_filter_is_rejected() {
    let app = TestApp::spawn().await;
    let res = app.get(&format!("{APTS}?date=2026-13-01")).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "date: ");
}

// ---- GET / PUT / DELETE by id ------------------------------------------------------------------------------

#[tokio::test]
async fn an_unknown_appointment_is_not_found_on_get_put_and_delete() {
    let app = TestApp::spawn().await;
    let path = apt("APT-01M88ZX1MRF5KZNWJ47TAN9ZT2");
    app.get(&path).await.assert_error(404, "APPOINTMENT_NOT_FOUND");
    app.put(&path, &json!({"notes": "x"})).await.assert_error(404, "APPOINTMENT_NOT_FOUND");
    app.delete(&path).await.assert_error(404, "APPOINTMENT_NOT_FOUND");
    app.get(&apt("nonsense")).await.assert_error(404, "APPOINTMENT_NOT_FOUND");
}

#[tokio::test]
async fn put_validates_the_body_before_looking_up_the_appointment() {
    let app = TestApp::spawn().await;
    let res = app.put(&apt("APT-01M88ZX1MRF5KZNWJ47TAN9ZT2"), &json!({"status": "finished"})).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "status: ");
}

async fn scheduled(app: &TestApp, tag: &str) -> String {
    let (p, d) = pair(app, tag).await;
    booked(app, &p, &d, DAY, "10:00", "10:30").await
}

#[tokio::test]
async fn every_transition_out_of_scheduled_is_allowed() {
    let app = TestApp::spawn().await;
    for (i, to) in ["completed", "cancelled", "no-show"].into_iter().enumerate() {
        let id = scheduled(&app, &format!("out{i}")).await;
        let res = app.put(&apt(&id), &json!({"status": to})).await;
        res.assert(200);
        assert_eq!(res.body["status"], json!(to));
        assert_eq!(app.get(&apt(&id)).await.body["status"], json!(to));
    }
}

#[tokio::test]
async fn scheduled_to_scheduled_with_a_new_reason_is_allowed() {
    let app = TestApp::spawn().await;
    let id = scheduled(&app, "sched").await;
    let res = app.put(&apt(&id), &json!({"status": "scheduled", "reason": "Follow-up"})).await;
    res.assert(200);
    assert_eq!(res.body["status"], json!("scheduled"));
    assert_eq!(res.body["reason"], json!("Follow-up"));
}

#[tokio::test]
async fn every_transition_out_of_a_final_status_is_rejected() {
    let app = TestApp::spawn().await;
    let all = ["scheduled", "completed", "cancelled", "no-show"];
    for (i, from) in ["completed", "cancelled", "no-show"].into_iter().enumerate() {
        let id = scheduled(&app, &format!("final{i}")).await;
        set_status(&app, &id, from).await;
        for to in all.into_iter().filter(|t| *t != from) {
            let res = app.put(&apt(&id), &json!({"status": to})).await;
            assert_eq!(res.status.as_u16(), 409, "{from} -> {to}: {}", res.text);
            assert_eq!(res.code(), "INVALID_APPOINTMENT_DATA", "{from} -> {to}: {}", res.text);
            assert_eq!(res.body["error"]["message"], json!("Invalid appointment data"));
        }
        assert_eq!(app.get(&apt(&id)).await.body["status"], json!(from), "status must be unchanged");
    }
}

#[tokio::test]
async fn setting_a_final_status_again_is_a_no_op() {
    let app = TestApp::spawn().await;
    let id = scheduled(&app, "again").await;
    set_status(&app, &id, "completed").await;
    let before = app.get(&apt(&id)).await.body;
    let res = app.put(&apt(&id), &json!({"status": "completed"})).await;
    res.assert(200);
    assert_eq!(res.body["updatedAt"], before["updatedAt"]);
}

#[tokio::test]
async fn notes_of_a_final_appointment_can_change() {
    let app = TestApp::spawn().await;
    let id = scheduled(&app, "finalnotes").await;
    set_status(&app, &id, "completed").await;
    let res = app.put(&apt(&id), &json!({"notes": "Patient recovered well"})).await;
    res.assert(200);
    assert_eq!(res.body["notes"], json!("Patient recovered well"));
    assert_eq!(res.body["status"], json!("completed"));
}

#[tokio::test]
async fn the_reason_of_a_final_appointment_cannot_change() {
    let app = TestApp::spawn().await;
    let id = scheduled(&app, "finalreason").await;
    set_status(&app, &id, "no-show").await;
    app.put(&apt(&id), &json!({"reason": "Something else"})).await.assert_error(409, "INVALID_APPOINTMENT_DATA");
    app.put(&apt(&id), &json!({"notes": "n", "reason": "Something else"}))
        .await
        .assert_error(409, "INVALID_APPOINTMENT_DATA");
}

#[tokio::test]
async fn a_final_appointment_cannot_be_rescheduled() {
    let app = TestApp::spawn().await;
    let id = scheduled(&app, "finalresched").await;
    set_status(&app, &id, "cancelled").await;
    app.put(&apt(&id), &json!({"appointmentDate": "2026-12-05"})).await.assert_error(409, "INVALID_APPOINTMENT_DATA");
}

#[tokio::test]
async fn a_reschedule_that_also_changes_status_is_rejected() {
    let app = TestApp::spawn().await;
    let id = scheduled(&app, "reschstatus").await;
    let res = app.put(&apt(&id), &json!({"startTime": "11:00", "endTime": "11:30", "status": "completed"})).await;
    res.assert_error(409, "INVALID_APPOINTMENT_DATA");
    let now = app.get(&apt(&id)).await.body;
    assert_eq!(now["status"], json!("scheduled"));
    assert_eq!(now["startTime"], json!("10:00:00"));
}

#[tokio::test]
async fn a_reschedule_succeeds_and_normalises_times() {
    let app = TestApp::spawn().await;
    let id = scheduled(&app, "resched").await;
    let res =
        app.put(&apt(&id), &json!({"appointmentDate": "2026-12-04", "startTime": "14:00", "endTime": "14:45"})).await;
    res.assert(200);
    assert_eq!(res.body["appointmentDate"], json!("2026-12-04"));
    assert_eq!(res.body["startTime"], json!("14:00:00"));
    assert_eq!(res.body["endTime"], json!("14:45:00"));
    assert_eq!(res.body["status"], json!("scheduled"));
}

#[tokio::test]
async fn a_reschedule_into_an_overlap_is_a_conflict() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-RO").await;
    let p1 = patient(&app, "ro1").await;
    let p2 = patient(&app, "ro2").await;
    booked(&app, &p1, &d, DAY, "10:00", "10:30").await;
    let b = booked(&app, &p2, &d, DAY, "11:00", "11:30").await;
    let res = app.put(&apt(&b), &json!({"startTime": "10:15", "endTime": "10:45"})).await;
    res.assert_error(409, "TIME_SLOT_NOT_AVAILABLE");
    assert_detail_prefixes(&res, &["doctorId: "]);
    assert_eq!(app.get(&apt(&b)).await.body["startTime"], json!("11:00:00"));
}

#[tokio::test]
async fn a_reschedule_overlapping_only_itself_is_allowed() {
    let app = TestApp::spawn().await;
    let id = scheduled(&app, "self").await;
    let res = app.put(&apt(&id), &json!({"startTime": "10:15", "endTime": "10:45"})).await;
    res.assert(200);
    assert_eq!(res.body["startTime"], json!("10:15:00"));
    assert_eq!(res.body["endTime"], json!("10:45:00"));
}

#[tokio::test]
async fn changing_only_the_end_time_to_before_the_stored_start_is_rejected() {
    let app = TestApp::spawn().await;
    let id = scheduled(&app, "onlyend").await;
    let res = app.put(&apt(&id), &json!({"endTime": "09:30"})).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "endTime: ");
    assert_eq!(app.get(&apt(&id)).await.body["endTime"], json!("10:30:00"));
}

#[tokio::test]
async fn changing_only_the_start_time_to_make_the_appointment_too_long_is_rejected() {
    let app = TestApp::spawn().await;
    let id = scheduled(&app, "onlystart").await; // 10:00-10:30
    let res = app.put(&apt(&id), &json!({"startTime": "02:29"})).await; // 481 minutes
    res.assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn a_reschedule_into_the_past_is_rejected() {
    let app = TestApp::spawn().await;
    let id = scheduled(&app, "reschpast").await;
    let res = app.put(&apt(&id), &json!({"appointmentDate": "2026-11-20"})).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "appointmentDate: ");
}

#[tokio::test]
async fn a_reschedule_with_a_doctor_now_on_leave_is_unavailable() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "reschleave").await;
    let id = booked(&app, &p, &d, DAY, "10:00", "10:30").await;
    set_doctor_status(&app, &d, "on-leave").await;
    app.put(&apt(&id), &json!({"startTime": "11:00", "endTime": "11:30"}))
        .await
        .assert_error(409, "DOCTOR_UNAVAILABLE");
    // a change that is not a reschedule does not look at the doctor
    app.put(&apt(&id), &json!({"notes": "Doctor away"})).await.assert(200);
}

#[tokio::test]
async fn a_reschedule_for_an_inactive_patient_is_rejected() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "reschinactive").await;
    // today 08:00 already started (now is 10:00), so deactivation does not cancel it
    let id = booked(&app, &p, &d, TODAY, "08:00", "08:30").await;
    let res = app.delete(&format!("/api/v1/patients/{p}")).await;
    res.assert(200);
    assert_eq!(res.body["cancelledAppointments"], json!(0));
    assert_eq!(app.get(&apt(&id)).await.body["status"], json!("scheduled"));
    app.put(&apt(&id), &json!({"startTime": "08:30", "endTime": "09:00"})).await.assert_error(409, "PATIENT_INACTIVE");
    // status changes of past appointments still work
    app.put(&apt(&id), &json!({"status": "completed"})).await.assert(200);
}

#[tokio::test]
async fn an_empty_put_is_a_no_op_that_keeps_updated_at() {
    let app = TestApp::spawn().await;
    let id = scheduled(&app, "noop").await;
    let before = app.get(&apt(&id)).await.body;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let res = app.put(&apt(&id), &json!({})).await;
    res.assert(200);
    assert_eq!(res.body, before);
}

#[tokio::test]
async fn a_put_with_the_stored_values_is_a_no_op() {
    let app = TestApp::spawn().await;
    let id = scheduled(&app, "samevals").await;
    let before = app.get(&apt(&id)).await.body;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let res = app
        .put(
            &apt(&id),
            &json!({"appointmentDate": DAY, "startTime": "10:00", "endTime": "10:30:00",
                                 "reason": "Check-up", "status": "scheduled"}),
        )
        .await;
    res.assert(200);
    assert_eq!(res.body["updatedAt"], before["updatedAt"]);
}

#[tokio::test]
async fn a_real_change_moves_updated_at() {
    let app = TestApp::spawn().await;
    let id = scheduled(&app, "moves").await;
    let before = app.get(&apt(&id)).await.body;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let res = app.put(&apt(&id), &json!({"reason": "Another reason"})).await;
    res.assert(200);
    assert_ne!(res.body["updatedAt"], before["updatedAt"]);
    assert_eq!(res.body["createdAt"], before["createdAt"]);
}

#[tokio::test]
async fn null_notes_clears_them() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "nullnotes").await;
    let res = app
        .post(
            APTS,
            &json!({"patientId": p, "doctorId": d, "appointmentDate": DAY, "startTime": "10:00",
                            "endTime": "10:30", "reason": "Check-up", "notes": "Bring results"}),
        )
        .await;
    res.assert(201);
    assert_eq!(res.body["notes"], json!("Bring results"));
    let id = s(&res.body, "appointmentId").to_owned();
    let res = app.put(&apt(&id), &json!({"notes": null})).await;
    res.assert(200);
    assert!(res.body.get("notes").is_none(), "notes must be omitted once cleared: {}", res.text);
    assert!(app.get(&apt(&id)).await.body.get("notes").is_none());
}

#[tokio::test]
async fn a_null_reason_is_rejected() {
    let app = TestApp::spawn().await;
    let id = scheduled(&app, "nullreason").await;
    let res = app.put(&apt(&id), &json!({"reason": null})).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "reason: ");
}

#[tokio::test]
async fn delete_cancels_a_scheduled_appointment() {
    let app = TestApp::spawn().await;
    let id = scheduled(&app, "del").await;
    let res = app.delete(&apt(&id)).await;
    res.assert(200);
    assert_eq!(res.body, json!({"message": "Appointment cancelled successfully", "appointmentId": id}));
    assert_eq!(app.get(&apt(&id)).await.body["status"], json!("cancelled"));
}

#[tokio::test]
async fn deleting_a_cancelled_appointment_again_is_rejected() {
    let app = TestApp::spawn().await;
    let id = scheduled(&app, "deltwice").await;
    app.delete(&apt(&id)).await.assert(200);
    let res = app.delete(&apt(&id)).await;
    res.assert_error(409, "INVALID_APPOINTMENT_DATA");
    assert_eq!(res.body["error"]["message"], json!("Cannot cancel this appointment"));
}

#[tokio::test]
async fn deleting_a_completed_or_no_show_appointment_is_rejected() {
    let app = TestApp::spawn().await;
    for (i, st) in ["completed", "no-show"].into_iter().enumerate() {
        let id = scheduled(&app, &format!("delfinal{i}")).await;
        set_status(&app, &id, st).await;
        let res = app.delete(&apt(&id)).await;
        res.assert_error(409, "INVALID_APPOINTMENT_DATA");
        assert_eq!(res.body["error"]["message"], json!("Cannot cancel this appointment"));
        assert_eq!(app.get(&apt(&id)).await.body["status"], json!(st));
    }
}

#[tokio::test]
async fn joined_names_and_department_are_live() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "live").await;
    let id = booked(&app, &p, &d, DAY, "10:00", "10:30").await;
    app.put(&format!("/api/v1/patients/{p}"), &json!({"firstName": "Ada"})).await.assert(200);
    app.put(&format!("/api/v1/doctors/{d}"), &json!({"departmentId": "DEPT-002"})).await.assert(200);
    let res = app.get(&apt(&id)).await;
    res.assert(200);
    assert_eq!(res.body["patientName"], json!("Ada Okafor"));
    assert_eq!(res.body["departmentId"], json!("DEPT-002"));
}

#[tokio::test]
async fn deactivating_a_patient_cancels_future_scheduled_appointments_and_frees_the_slot() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "deact").await;
    let id = booked(&app, &p, &d, DAY, "10:00", "10:30").await;
    let res = app.delete(&format!("/api/v1/patients/{p}")).await;
    res.assert(200);
    assert_eq!(res.body["cancelledAppointments"], json!(1));
    assert_eq!(app.get(&apt(&id)).await.body["status"], json!("cancelled"));
    let p2 = patient(&app, "deact2").await;
    app.book(&p2, &d, DAY, "10:00", "10:30").await.assert(201);
}

// ---- further edges ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn seconds_in_times_are_kept() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "secs").await;
    let res = app.book(&p, &d, DAY, "10:00:30", "10:05:30").await;
    res.assert(201);
    assert_eq!(res.body["startTime"], json!("10:00:30"));
    assert_eq!(res.body["endTime"], json!("10:05:30"));
}

#[tokio::test]
async fn an_end_time_of_24_00_is_rejected() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "midnight").await;
    let res = app.book(&p, &d, DAY, "23:00", "24:00").await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "endTime: ");
}

#[tokio::test]
async fn a_time_sent_as_a_number_is_rejected() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "numtime").await;
    let res = app
        .post(
            APTS,
            &json!({"patientId": p, "doctorId": d, "appointmentDate": DAY, "startTime": 1000,
                            "endTime": "10:30", "reason": "Check-up"}),
        )
        .await;
    res.assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn every_failing_booking_field_is_reported_together() {
    let app = TestApp::spawn().await;
    let res = app
        .post(
            APTS,
            &json!({"patientId": "PAT-01M88ZQHVRM9S346Q3D25VT4F5", "doctorId": "DOC-01M88ZSCERV37E3S3E28JT97KB",
                            "appointmentDate": "2026-11-01", "startTime": "25:00", "endTime": "10:30", "reason": ""}),
        )
        .await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "appointmentDate: ");
    assert_has_detail(&res, "startTime: ");
    assert_has_detail(&res, "reason: ");
}

#[tokio::test]
async fn rescheduling_onto_the_patients_other_appointment_is_a_conflict_on_patient_id() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "reschpat").await;
    let d1 = doctor(&app, "LIC-RP1").await;
    let d2 = doctor(&app, "LIC-RP2").await;
    booked(&app, &p, &d1, DAY, "10:00", "10:30").await;
    let b = booked(&app, &p, &d2, "2026-12-02", "10:00", "10:30").await;
    let res = app.put(&apt(&b), &json!({"appointmentDate": DAY})).await;
    res.assert_error(409, "TIME_SLOT_NOT_AVAILABLE");
    assert_detail_prefixes(&res, &["patientId: "]);
}

#[tokio::test]
async fn a_reschedule_that_restates_the_scheduled_status_is_allowed() {
    let app = TestApp::spawn().await;
    let id = scheduled(&app, "restate").await;
    let res = app.put(&apt(&id), &json!({"startTime": "12:00", "endTime": "12:30", "status": "scheduled"})).await;
    res.assert(200);
    assert_eq!(res.body["startTime"], json!("12:00:00"));
}

#[tokio::test]
async fn a_reschedule_frees_the_old_slot() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-OLD").await;
    let p1 = patient(&app, "old1").await;
    let p2 = patient(&app, "old2").await;
    let id = booked(&app, &p1, &d, DAY, "10:00", "10:30").await;
    app.put(&apt(&id), &json!({"startTime": "15:00", "endTime": "15:30"})).await.assert(200);
    app.book(&p2, &d, DAY, "10:00", "10:30").await.assert(201);
    app.book(&p2, &d, DAY, "15:15", "15:45").await.assert_error(409, "TIME_SLOT_NOT_AVAILABLE");
}

#[tokio::test]
async fn cancelling_through_put_with_notes_is_allowed() {
    let app = TestApp::spawn().await;
    let id = scheduled(&app, "cancelnotes").await;
    let res = app.put(&apt(&id), &json!({"status": "cancelled", "notes": "Patient called"})).await;
    res.assert(200);
    assert_eq!(res.body["status"], json!("cancelled"));
    assert_eq!(res.body["notes"], json!("Patient called"));
}

#[tokio::test]
async fn notes_of_a_final_appointment_can_be_cleared() {
    let app = TestApp::spawn().await;
    let id = scheduled(&app, "clearfinal").await;
    app.put(&apt(&id), &json!({"status": "completed", "notes": "Done"})).await.assert(200);
    let res = app.put(&apt(&id), &json!({"notes": null})).await;
    res.assert(200);
    assert!(res.body.get("notes").is_none(), "{}", res.text);
}

#[tokio::test]
async fn the_list_is_paged_and_caps_the_limit_at_100() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "paged").await;
    for i in 0..5 {
        booked(&app, &p, &d, DAY, &format!("{:02}:00", 9 + i), &format!("{:02}:30", 9 + i)).await;
    }
    let res = app.get(&format!("{APTS}?limit=2&page=3")).await;
    res.assert(200);
    assert_eq!(ids(&res).len(), 1);
    assert_eq!(res.body["pagination"], json!({"page": 3, "limit": 2, "totalPages": 3, "totalItems": 5}));
    let res = app.get(&format!("{APTS}?limit=500")).await;
    res.assert(200);
    assert_eq!(res.body["pagination"]["limit"], json!(100));
    let res = app.get(&format!("{APTS}?page=9")).await;
    res.assert(200);
    assert!(ids(&res).is_empty());
    for q in ["?page=0", "?limit=0", "?page=x", "?status=scheduled&status=completed"] {
        app.get(&format!("{APTS}{q}")).await.assert_error(400, "VALIDATION_ERROR");
    }
}

#[tokio::test]
async fn an_inactive_patient_can_still_update_notes_of_a_scheduled_appointment() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "inactnotes").await;
    let id = booked(&app, &p, &d, TODAY, "08:00", "08:30").await;
    deactivate(&app, &p).await;
    app.put(&apt(&id), &json!({"notes": "Called"})).await.assert(200);
}
