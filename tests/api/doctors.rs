//! API.md §2.2, §3.2, §4.2, §4.6: doctors, their search, updates and availability.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;

const UNKNOWN_DOCTOR_ID: &str = "DOC-01M88ZSCERV37E3S3E28JT97KB";

fn doctor_path(id: &str) -> String {
    format!("/api/v1/doctors/{id}")
}

fn availability_path(id: &str, query: &str) -> String {
    format!("/api/v1/doctors/{id}/availability{query}")
}

#[track_caller]
fn expect_400(res: &Res, prefix: &str) {
    res.assert_error(400, "VALIDATION_ERROR");
    expect_detail_prefix(res, prefix);
}

async fn post_with(app: &TestApp, field: &str, value: Value) -> Res {
    let mut body = doctor_body("LIC-RULE", "DEPT-001");
    body[field] = value;
    app.post("/api/v1/doctors", &body).await
}

fn ids(res: &Res) -> Vec<String> {
    let mut v: Vec<String> =
        res.body["data"].as_array().expect("data array").iter().map(|d| s(d, "doctorId").to_owned()).collect();
    v.sort();
    v
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

async fn doctor_id(app: &TestApp, license: &str, department: &str) -> String {
    s(&app.create_doctor(license, department).await, "doctorId").to_owned()
}

async fn set_status(app: &TestApp, id: &str, status: &str) {
    app.put(&doctor_path(id), &json!({"status": status})).await.assert(200);
}

fn slots(res: &Res) -> &Vec<Value> {
    res.body["availability"].as_array().unwrap_or_else(|| panic!("no availability array: {}", res.text))
}

// ---- create --------------------------------------------------------------------------------------------

#[tokio::test]
async fn adding_a_doctor_returns_201_with_the_department_name_joined() {
    let app = TestApp::spawn().await;

    let res = app.post("/api/v1/doctors", &doctor_body("MD-12345", "DEPT-001")).await;

    res.assert(201);
    let mut got = res.body.clone();
    let id = s(&got, "doctorId").to_owned();
    assert!(id.starts_with("DOC-") && check_ulid(&id[4..]), "{id}");
    assert_eq!(res.header("location"), Some(doctor_path(&id).as_str()));
    assert!(check_timestamp_ms(s(&got, "createdAt")));
    assert_eq!(got["createdAt"], got["updatedAt"]);
    for k in ["doctorId", "createdAt", "updatedAt"] {
        got.as_object_mut().unwrap().remove(k);
    }
    assert_eq!(
        got,
        json!({"firstName": "Sofia", "lastName": "Chen", "email": "sofia.chen@example.org", "phone": "+1 555 010 9988",
               "specialty": "Cardiology", "licenseNumber": "MD-12345", "departmentId": "DEPT-001",
               "departmentName": "Cardiology", "yearsOfExperience": 12, "qualifications": ["MD", "FACC"],
               "status": "active", "version": 1})
    );
    assert_eq!(res.header("etag"), Some("\"1\""));
}

#[tokio::test]
async fn years_of_experience_defaults_to_0_and_qualifications_to_empty() {
    let app = TestApp::spawn().await;
    let mut body = doctor_body("MD-DEFAULTS", "DEPT-005");
    body.as_object_mut().unwrap().remove("yearsOfExperience");
    body.as_object_mut().unwrap().remove("qualifications");

    let res = app.post("/api/v1/doctors", &body).await;

    res.assert(201);
    assert_eq!(res.body["yearsOfExperience"], 0);
    assert_eq!(res.body["qualifications"], json!([]));
    assert_eq!(res.body["departmentName"], "Radiology");
}

#[tokio::test]
async fn a_status_sent_on_create_is_ignored() {
    let app = TestApp::spawn().await;
    let mut body = doctor_body("MD-STATUS", "DEPT-001");
    body["status"] = json!("inactive");

    let res = app.post("/api/v1/doctors", &body).await;

    res.assert(201);
    assert_eq!(res.body["status"], "active");
}

#[tokio::test]
async fn an_unknown_department_is_404() {
    let app = TestApp::spawn().await;

    for dept in ["DEPT-999", "cardiology", "DEPT-01M88ZSCERV37E3S3E28JT97KB"] {
        let res = app.post("/api/v1/doctors", &doctor_body("MD-NODEPT", dept)).await;

        res.assert_error(404, "DEPARTMENT_NOT_FOUND");
    }
}

#[tokio::test]
async fn a_license_number_used_before_in_another_case_is_409() {
    let app = TestApp::spawn().await;
    app.create_doctor("lic-777", "DEPT-001").await;

    let res = app.post("/api/v1/doctors", &doctor_body("LIC-777", "DEPT-002")).await;

    res.assert_error(409, "DOCTOR_ALREADY_EXISTS");
    assert_eq!(res.body["error"]["message"], "Doctor already exists");
}

#[tokio::test]
async fn the_department_is_checked_before_the_license_number() {
    let app = TestApp::spawn().await;
    app.create_doctor("LIC-ORDER", "DEPT-001").await;

    let res = app.post("/api/v1/doctors", &doctor_body("LIC-ORDER", "DEPT-999")).await;

    res.assert_error(404, "DEPARTMENT_NOT_FOUND");
}

#[tokio::test]
async fn email_is_not_unique_among_doctors() {
    let app = TestApp::spawn().await;
    app.create_doctor("LIC-A", "DEPT-001").await;

    let res = app.post("/api/v1/doctors", &doctor_body("LIC-B", "DEPT-001")).await;

    res.assert(201);
}

#[tokio::test]
async fn each_required_doctor_field_missing_null_or_empty_is_400() {
    let app = TestApp::spawn().await;

    for field in ["firstName", "lastName", "email", "phone", "specialty", "licenseNumber", "departmentId"] {
        let mut absent = doctor_body("LIC-REQ", "DEPT-001");
        absent.as_object_mut().unwrap().remove(field);
        let responses = [
            app.post("/api/v1/doctors", &absent).await,
            post_with(&app, field, Value::Null).await,
            post_with(&app, field, json!(" ")).await,
        ];

        for res in &responses {
            expect_400(res, &format!("{field}: "));
        }
    }
}

#[tokio::test]
async fn years_of_experience_out_of_range_or_not_an_integer_is_400() {
    let app = TestApp::spawn().await;

    for bad in [json!(81), json!(-1), json!(1.5), json!(5.0), json!("5"), json!(true)] {
        let res = post_with(&app, "yearsOfExperience", bad.clone()).await;

        expect_400(&res, "yearsOfExperience: ");
    }
}

#[tokio::test]
async fn years_of_experience_at_the_bounds_is_accepted() {
    let app = TestApp::spawn().await;

    for (i, ok) in [0, 80].into_iter().enumerate() {
        let mut body = doctor_body(&format!("LIC-YOE-{i}"), "DEPT-001");
        body["yearsOfExperience"] = json!(ok);

        let res = app.post("/api/v1/doctors", &body).await;

        res.assert(201);
        assert_eq!(res.body["yearsOfExperience"], ok);
    }
}

#[tokio::test]
async fn doctor_field_rules_are_checked() {
    let app = TestApp::spawn().await;
    let quals: Vec<String> = (0..21).map(|i| format!("Q{i}")).collect();

    let cases = [
        ("licenseNumber", json!("L".repeat(51)), "licenseNumber: "),
        ("specialty", json!("s".repeat(101)), "specialty: "),
        ("email", json!("not-an-email"), "email: "),
        ("phone", json!("12"), "phone: "),
        ("qualifications", json!(quals), "qualifications: "),
        ("qualifications", json!(["MD", ""]), "qualifications[1]: "),
        ("firstName", json!("f".repeat(101)), "firstName: "),
    ];
    for (field, value, prefix) in cases {
        let res = post_with(&app, field, value).await;

        expect_400(&res, prefix);
    }
}

// ---- get -----------------------------------------------------------------------------------------------

#[tokio::test]
async fn get_returns_the_doctor() {
    let app = TestApp::spawn().await;
    let created = app.create_doctor("LIC-GET", "DEPT-003").await;

    let res = app.get(&doctor_path(s(&created, "doctorId"))).await;

    res.assert(200);
    assert_eq!(res.body, created);
}

#[tokio::test]
async fn get_of_an_unknown_or_malformed_doctor_is_404() {
    let app = TestApp::spawn().await;

    for id in [UNKNOWN_DOCTOR_ID, "DOC-1", "PAT-01M88ZSCERV37E3S3E28JT97KB"] {
        let res = app.get(&doctor_path(id)).await;

        res.assert_error(404, "DOCTOR_NOT_FOUND");
    }
}

// ---- list ----------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_list_is_ordered_by_creation_newest_first() {
    let app = TestApp::spawn().await;
    let mut created = Vec::new();
    for i in 0..3 {
        created.push(doctor_id(&app, &format!("LIC-ORD-{i}"), "DEPT-001").await);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let res = app.get("/api/v1/doctors").await;

    res.assert(200);
    let got: Vec<String> = res.body["data"].as_array().unwrap().iter().map(|d| s(d, "doctorId").to_owned()).collect();
    created.reverse();
    assert_eq!(got, created);
}

#[tokio::test]
async fn the_department_filter_selects_doctors_of_that_department() {
    let app = TestApp::spawn().await;
    let cardio = doctor_id(&app, "LIC-D1", "DEPT-001").await;
    doctor_id(&app, "LIC-D2", "DEPT-002").await;

    let res = app.get("/api/v1/doctors?departmentId=DEPT-001").await;
    let none = app.get("/api/v1/doctors?departmentId=DEPT-999").await;

    assert_eq!(ids(&res), vec![cardio]);
    none.assert(200);
    assert_eq!(ids(&none), Vec::<String>::new());
}

#[tokio::test]
async fn the_specialty_filter_is_exact_and_case_insensitive() {
    let app = TestApp::spawn().await;
    let cardio = doctor_id(&app, "LIC-S1", "DEPT-001").await;
    let mut body = doctor_body("LIC-S2", "DEPT-003");
    body["specialty"] = json!("Pediatric Cardiology");
    app.post("/api/v1/doctors", &body).await.assert(201);

    let hit = app.get("/api/v1/doctors?specialty=cARDIOLOGY").await;
    let partial = app.get("/api/v1/doctors?specialty=cardio").await;

    assert_eq!(ids(&hit), vec![cardio]);
    assert_eq!(ids(&partial), Vec::<String>::new());
}

#[tokio::test]
async fn the_status_filter_selects_by_status() {
    let app = TestApp::spawn().await;
    let active = doctor_id(&app, "LIC-ST1", "DEPT-001").await;
    let leave = doctor_id(&app, "LIC-ST2", "DEPT-001").await;
    let gone = doctor_id(&app, "LIC-ST3", "DEPT-001").await;
    set_status(&app, &leave, "on-leave").await;
    set_status(&app, &gone, "inactive").await;

    assert_eq!(ids(&app.get("/api/v1/doctors?status=active").await), vec![active]);
    assert_eq!(ids(&app.get("/api/v1/doctors?status=on-leave").await), vec![leave]);
    assert_eq!(ids(&app.get("/api/v1/doctors?status=inactive").await), vec![gone]);
}

#[tokio::test]
async fn available_true_selects_active_and_false_the_others() {
    let app = TestApp::spawn().await;
    let active = doctor_id(&app, "LIC-AV1", "DEPT-001").await;
    let leave = doctor_id(&app, "LIC-AV2", "DEPT-001").await;
    let gone = doctor_id(&app, "LIC-AV3", "DEPT-001").await;
    set_status(&app, &leave, "on-leave").await;
    set_status(&app, &gone, "inactive").await;

    let yes = app.get("/api/v1/doctors?available=true").await;
    let no = app.get("/api/v1/doctors?available=false").await;

    assert_eq!(ids(&yes), vec![active]);
    assert_eq!(ids(&no), sorted(vec![leave, gone]));
}

#[tokio::test]
async fn a_bad_available_or_status_filter_is_400() {
    let app = TestApp::spawn().await;

    let available = app.get("/api/v1/doctors?available=maybe").await;
    let status = app.get("/api/v1/doctors?status=retired").await;

    expect_400(&available, "available: ");
    expect_400(&status, "status: ");
}

#[tokio::test]
async fn doctor_filters_combine_with_and() {
    let app = TestApp::spawn().await;
    let target = doctor_id(&app, "LIC-AND1", "DEPT-001").await;
    let leave = doctor_id(&app, "LIC-AND2", "DEPT-001").await;
    doctor_id(&app, "LIC-AND3", "DEPT-002").await;
    set_status(&app, &leave, "on-leave").await;

    let res = app.get("/api/v1/doctors?departmentId=DEPT-001&available=true&specialty=cardiology").await;

    assert_eq!(ids(&res), vec![target]);
}

// ---- update --------------------------------------------------------------------------------------------

#[tokio::test]
async fn any_status_may_follow_any_other() {
    let app = TestApp::spawn().await;
    let id = doctor_id(&app, "LIC-SM", "DEPT-001").await;

    for status in ["on-leave", "inactive", "active", "inactive", "on-leave", "active"] {
        let res = app.put(&doctor_path(&id), &json!({"status": status})).await;

        res.assert(200);
        assert_eq!(res.body["status"], status);
    }
}

#[tokio::test]
async fn an_unknown_status_on_update_is_400() {
    let app = TestApp::spawn().await;
    let id = doctor_id(&app, "LIC-BADST", "DEPT-001").await;

    let res = app.put(&doctor_path(&id), &json!({"status": "retired"})).await;

    expect_400(&res, "status: ");
}

#[tokio::test]
async fn put_changes_the_updatable_fields() {
    let app = TestApp::spawn().await;
    let created = app.create_doctor("LIC-UPD", "DEPT-001").await;
    tokio::time::sleep(Duration::from_millis(5)).await;

    let res = app
        .put(
            &doctor_path(s(&created, "doctorId")),
            &json!({"email": "s.chen@example.org", "phone": "5550199", "specialty": "Oncology",
                    "departmentId": "DEPT-006", "yearsOfExperience": 13, "qualifications": ["MD"]}),
        )
        .await;

    res.assert(200);
    let mut expected = created.clone();
    for (k, v) in [
        ("email", json!("s.chen@example.org")),
        ("phone", json!("5550199")),
        ("specialty", json!("Oncology")),
        ("departmentId", json!("DEPT-006")),
        ("departmentName", json!("Oncology")),
        ("yearsOfExperience", json!(13)),
        ("qualifications", json!(["MD"])),
        ("version", json!(2)),
    ] {
        expected[k] = v;
    }
    expected["updatedAt"] = res.body["updatedAt"].clone();
    assert_eq!(res.body, expected);
    assert_eq!(res.header("etag"), Some("\"2\""));
    assert_ne!(res.body["updatedAt"], created["updatedAt"]);
}

#[tokio::test]
async fn first_name_and_license_number_are_not_accepted_on_update() {
    let app = TestApp::spawn().await;
    let created = app.create_doctor("LIC-FIXED", "DEPT-001").await;
    tokio::time::sleep(Duration::from_millis(5)).await;

    let res = app
        .put(
            &doctor_path(s(&created, "doctorId")),
            &json!({"firstName": "Other", "lastName": "Name", "licenseNumber": "LIC-NEW"}),
        )
        .await;

    res.assert(200);
    assert_eq!(res.body, created, "ignored fields must not change anything");
}

#[tokio::test]
async fn an_empty_put_is_a_no_op() {
    let app = TestApp::spawn().await;
    let created = app.create_doctor("LIC-NOOP", "DEPT-001").await;
    tokio::time::sleep(Duration::from_millis(5)).await;

    let res = app.put(&doctor_path(s(&created, "doctorId")), &json!({})).await;

    res.assert(200);
    assert_eq!(res.body, created);
}

#[tokio::test]
async fn put_rejects_bad_values_and_nulls_on_non_clearable_fields() {
    let app = TestApp::spawn().await;
    let id = doctor_id(&app, "LIC-PUTBAD", "DEPT-001").await;

    for (field, value) in [
        ("yearsOfExperience", json!(81)),
        ("email", Value::Null),
        ("specialty", json!("")),
        ("yearsOfExperience", json!(2.5)),
        ("departmentId", Value::Null),
    ] {
        let res = app.put(&doctor_path(&id), &json!({ field: value })).await;

        expect_400(&res, &format!("{field}: "));
    }
}

#[tokio::test]
async fn put_of_an_unknown_doctor_is_404() {
    let app = TestApp::spawn().await;

    let res = app.put(&doctor_path(UNKNOWN_DOCTOR_ID), &json!({"status": "active"})).await;

    res.assert_error(404, "DOCTOR_NOT_FOUND");
}

#[tokio::test]
async fn moving_a_doctor_to_an_unknown_department_is_404() {
    let app = TestApp::spawn().await;
    let id = doctor_id(&app, "LIC-MOVE404", "DEPT-001").await;

    let res = app.put(&doctor_path(&id), &json!({"departmentId": "DEPT-999"})).await;

    res.assert_error(404, "DEPARTMENT_NOT_FOUND");
}

#[tokio::test]
async fn a_department_head_cannot_move_to_another_department() {
    let app = TestApp::spawn().await;
    let id = doctor_id(&app, "LIC-HEAD", "DEPT-001").await;
    app.put("/api/v1/departments/DEPT-001", &json!({"headDoctorId": id})).await.assert(200);

    let res = app.put(&doctor_path(&id), &json!({"departmentId": "DEPT-002"})).await;

    res.assert_error(409, "DEPARTMENT_HEAD_CONFLICT");
    assert_eq!(app.get(&doctor_path(&id)).await.body["departmentId"], "DEPT-001");
}

#[tokio::test]
async fn a_department_head_may_resend_its_own_department() {
    let app = TestApp::spawn().await;
    let id = doctor_id(&app, "LIC-HEAD2", "DEPT-001").await;
    app.put("/api/v1/departments/DEPT-001", &json!({"headDoctorId": id})).await.assert(200);

    let res = app.put(&doctor_path(&id), &json!({"departmentId": "DEPT-001", "yearsOfExperience": 20})).await;

    res.assert(200);
    assert_eq!(res.body["yearsOfExperience"], 20);
}

#[tokio::test]
async fn a_status_change_leaves_existing_appointments_alone() {
    let app = TestApp::spawn().await;
    let id = doctor_id(&app, "LIC-APT", "DEPT-001").await;
    let p = app.create_patient("docapt@example.org").await;
    let apt = app.book(s(&p, "patientId"), &id, "2026-12-01", "10:00", "10:30").await;
    apt.assert(201);

    set_status(&app, &id, "inactive").await;

    let got = app.get(&format!("/api/v1/appointments/{}", s(&apt.body, "appointmentId"))).await;
    assert_eq!(got.body["status"], "scheduled");
}

// ---- availability --------------------------------------------------------------------------------------

#[tokio::test]
async fn a_weekday_has_16_half_hour_slots_from_9_to_17() {
    let app = TestApp::spawn().await;
    let id = doctor_id(&app, "LIC-AV", "DEPT-001").await;

    let res = app.get(&availability_path(&id, "?startDate=2026-12-01&endDate=2026-12-01")).await;

    res.assert(200);
    let slots = slots(&res);
    assert_eq!(slots.len(), 16);
    assert_eq!(
        slots[0],
        json!({"date": "2026-12-01", "startTime": "09:00:00", "endTime": "09:30:00", "available": true})
    );
    assert_eq!(
        slots[15],
        json!({"date": "2026-12-01", "startTime": "16:30:00", "endTime": "17:00:00", "available": true})
    );
    for (i, slot) in slots.iter().enumerate() {
        let minutes = 9 * 60 + 30 * i;
        assert_eq!(slot["startTime"], format!("{:02}:{:02}:00", minutes / 60, minutes % 60));
    }
}

#[tokio::test]
async fn the_response_echoes_the_doctor_and_the_dates() {
    let app = TestApp::spawn().await;
    let id = doctor_id(&app, "LIC-ECHO", "DEPT-001").await;

    let res = app.get(&availability_path(&id, "?startDate=2026-12-01&endDate=2026-12-03")).await;

    res.assert(200);
    assert_eq!(res.body["doctorId"], id.as_str());
    assert_eq!(res.body["startDate"], "2026-12-01");
    assert_eq!(res.body["endDate"], "2026-12-03");
    assert_eq!(slots(&res).len(), 48);
}

#[tokio::test]
async fn the_dates_default_to_today() {
    let app = TestApp::spawn().await;
    let id = doctor_id(&app, "LIC-TODAY", "DEPT-001").await;

    let res = app.get(&availability_path(&id, "")).await;

    res.assert(200);
    assert_eq!(res.body["startDate"], TODAY);
    assert_eq!(res.body["endDate"], TODAY);
    assert_eq!(slots(&res).len(), 16);
    assert!(slots(&res).iter().all(|sl| sl["date"] == TODAY));
}

#[tokio::test]
async fn the_end_date_defaults_to_the_start_date() {
    let app = TestApp::spawn().await;
    let id = doctor_id(&app, "LIC-ENDDEF", "DEPT-001").await;

    let res = app.get(&availability_path(&id, "?startDate=2026-12-02")).await;

    res.assert(200);
    assert_eq!(res.body["endDate"], "2026-12-02");
    assert_eq!(slots(&res).len(), 16);
}

#[tokio::test]
async fn a_saturday_has_no_slots() {
    let app = TestApp::spawn().await;
    let id = doctor_id(&app, "LIC-SAT", "DEPT-001").await;

    let res = app.get(&availability_path(&id, "?startDate=2026-11-28&endDate=2026-11-28")).await;

    res.assert(200);
    assert_eq!(res.body["availability"], json!([]));
}

#[tokio::test]
async fn a_range_over_a_weekend_is_ordered_by_date_then_time() {
    let app = TestApp::spawn().await;
    let id = doctor_id(&app, "LIC-WKND", "DEPT-001").await;

    let res = app.get(&availability_path(&id, "?startDate=2026-11-27&endDate=2026-11-30")).await;

    res.assert(200);
    let slots = slots(&res);
    assert_eq!(slots.len(), 32);
    assert!(slots[..16].iter().all(|sl| sl["date"] == "2026-11-27"));
    assert!(slots[16..].iter().all(|sl| sl["date"] == "2026-11-30"));
    assert_eq!(slots[16]["startTime"], "09:00:00");
}

#[tokio::test]
async fn booked_time_makes_the_overlapping_slots_unavailable() {
    let app = TestApp::spawn().await;
    let id = doctor_id(&app, "LIC-BOOKED", "DEPT-001").await;
    let p = app.create_patient("slot@example.org").await;
    app.book(s(&p, "patientId"), &id, "2026-12-01", "10:15", "10:45").await.assert(201);

    let res = app.get(&availability_path(&id, "?startDate=2026-12-01")).await;

    res.assert(200);
    for slot in slots(&res) {
        let busy = slot["startTime"] == "10:00:00" || slot["startTime"] == "10:30:00";
        assert_eq!(slot["available"], !busy, "{slot}");
    }
}

#[tokio::test]
async fn past_dates_show_slots_that_are_not_available() {
    let app = TestApp::spawn().await;
    let id = doctor_id(&app, "LIC-PAST", "DEPT-001").await;

    let res = app.get(&availability_path(&id, "?startDate=2026-11-24&endDate=2026-11-24")).await;

    res.assert(200);
    assert_eq!(slots(&res).len(), 16);
    assert!(slots(&res).iter().all(|sl| sl["available"] == false), "{}", res.text);
}

#[tokio::test]
async fn a_range_of_31_days_is_accepted() {
    let app = TestApp::spawn().await;
    let id = doctor_id(&app, "LIC-31", "DEPT-001").await;

    let res = app.get(&availability_path(&id, "?startDate=2026-12-01&endDate=2026-12-31")).await;

    res.assert(200);
    assert_eq!(slots(&res).len(), 23 * 16);
}

#[tokio::test]
async fn an_end_date_more_than_30_days_after_the_start_is_400() {
    let app = TestApp::spawn().await;
    let id = doctor_id(&app, "LIC-32", "DEPT-001").await;

    let res = app.get(&availability_path(&id, "?startDate=2026-12-01&endDate=2027-01-01")).await;

    expect_400(&res, "endDate: ");
}

#[tokio::test]
async fn an_end_date_before_the_start_is_400() {
    let app = TestApp::spawn().await;
    let id = doctor_id(&app, "LIC-BACK", "DEPT-001").await;

    let res = app.get(&availability_path(&id, "?startDate=2026-12-02&endDate=2026-12-01")).await;

    expect_400(&res, "endDate: ");
}

#[tokio::test]
async fn a_malformed_availability_date_is_400() {
    let app = TestApp::spawn().await;
    let id = doctor_id(&app, "LIC-BADDATE", "DEPT-001").await;

    let res = app.get(&availability_path(&id, "?startDate=2026-12-1")).await;

    expect_400(&res, "startDate: ");
}

#[tokio::test]
async fn a_non_active_doctor_has_no_slots() {
    let app = TestApp::spawn().await;
    let id = doctor_id(&app, "LIC-OFF", "DEPT-001").await;

    for status in ["inactive", "on-leave"] {
        set_status(&app, &id, status).await;

        let res = app.get(&availability_path(&id, "?startDate=2026-12-01")).await;

        res.assert(200);
        assert_eq!(res.body["availability"], json!([]));
        assert_eq!(res.body["doctorId"], id.as_str());
    }
}

#[tokio::test]
async fn availability_of_an_unknown_doctor_is_404() {
    let app = TestApp::spawn().await;

    let res = app.get(&availability_path(UNKNOWN_DOCTOR_ID, "?startDate=2026-12-01")).await;

    res.assert_error(404, "DOCTOR_NOT_FOUND");
}

#[tokio::test]
async fn the_availability_query_is_validated_before_the_doctor_is_looked_up() {
    let app = TestApp::spawn().await;

    let res = app.get(&availability_path(UNKNOWN_DOCTOR_ID, "?startDate=2026-12-02&endDate=2026-12-01")).await;

    res.assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn today_slots_are_available_unless_booked() {
    let app = TestApp::spawn().await;
    let id = doctor_id(&app, "LIC-TODAYAV", "DEPT-001").await;

    let res = app.get(&availability_path(&id, &format!("?startDate={TODAY}"))).await;

    res.assert(200);
    assert!(slots(&res).iter().all(|sl| sl["available"] == true), "§4.6: available = d ≥ today and free: {}", res.text);
}

#[tokio::test]
async fn a_cancelled_appointment_frees_its_slot() {
    let app = TestApp::spawn().await;
    let id = doctor_id(&app, "LIC-FREE", "DEPT-001").await;
    let p = app.create_patient("free@example.org").await;
    let apt = app.book(s(&p, "patientId"), &id, "2026-12-01", "09:00", "09:30").await;
    app.delete(&format!("/api/v1/appointments/{}", s(&apt.body, "appointmentId"))).await.assert(200);

    let res = app.get(&availability_path(&id, "?startDate=2026-12-01")).await;

    assert_eq!(slots(&res)[0]["available"], true);
}

#[tokio::test]
async fn another_doctors_appointment_does_not_block_a_slot() {
    let app = TestApp::spawn().await;
    let id = doctor_id(&app, "LIC-MINE", "DEPT-001").await;
    let other = doctor_id(&app, "LIC-THEIRS", "DEPT-001").await;
    let p = app.create_patient("theirs@example.org").await;
    app.book(s(&p, "patientId"), &other, "2026-12-01", "09:00", "09:30").await.assert(201);

    let res = app.get(&availability_path(&id, "?startDate=2026-12-01")).await;

    assert!(slots(&res).iter().all(|sl| sl["available"] == true), "{}", res.text);
}

#[tokio::test]
async fn an_end_date_alone_counts_from_today() {
    let app = TestApp::spawn().await;
    let id = doctor_id(&app, "LIC-ENDONLY", "DEPT-001").await;

    let res = app.get(&availability_path(&id, "?endDate=2026-11-26")).await;

    res.assert(200);
    assert_eq!(res.body["startDate"], TODAY);
    assert_eq!(slots(&res).len(), 32);
}

#[tokio::test]
async fn the_specialty_filter_treats_wildcards_literally() {
    let app = TestApp::spawn().await;
    doctor_id(&app, "LIC-WILD", "DEPT-001").await;

    let percent = app.get("/api/v1/doctors?specialty=%25").await;
    let underscore = app.get("/api/v1/doctors?specialty=_ardiology").await;

    percent.assert(200);
    assert_eq!(ids(&percent), Vec::<String>::new());
    assert_eq!(ids(&underscore), Vec::<String>::new());
}

#[tokio::test]
async fn a_malformed_department_id_filter_matches_nothing() {
    let app = TestApp::spawn().await;
    doctor_id(&app, "LIC-MALF", "DEPT-001").await;

    let res = app.get("/api/v1/doctors?departmentId=not-an-id").await;

    res.assert(200);
    assert_eq!(ids(&res), Vec::<String>::new());
}
