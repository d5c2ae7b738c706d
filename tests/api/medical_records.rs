//! Medical records (API.md §2.6, §3.1 #9, §3.5): create, read, amend, and a patient's records with cursors.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::helpers::{Res, TestApp, s};

const RECORDS: &str = "/api/v1/medical-records";

async fn pair(app: &TestApp, tag: &str) -> (String, String) {
    let p = app.create_patient(&format!("{tag}.rec@example.org")).await;
    let d = app.create_doctor(&format!("LIC-R-{tag}"), "DEPT-001").await;
    (s(&p, "patientId").to_owned(), s(&d, "doctorId").to_owned())
}

fn record_body(p: &str, d: &str, visit: &str) -> Value {
    json!({"patientId": p, "doctorId": d, "visitDate": visit, "chiefComplaint": "Chest pain"})
}

/// Creates a record and returns its JSON.
async fn create(app: &TestApp, p: &str, d: &str, visit: &str) -> Value {
    let res = app.post(RECORDS, &record_body(p, d, visit)).await;
    res.assert(201);
    res.body
}

/// Percent-encodes a query value (cursors are opaque and may hold `+`, `/` or `=`).
pub(crate) fn enc(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn rec(id: &str) -> String {
    format!("{RECORDS}/{id}")
}

#[track_caller]
fn assert_has_detail(res: &Res, prefix: &str) {
    assert!(res.details().iter().any(|d| d.starts_with(prefix)), "no detail starting with {prefix:?}: {}", res.text);
}

// ---- create ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn create_returns_201_with_doctor_name_normalised_visit_date_and_empty_arrays() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "create").await;
    let res = app.post(RECORDS, &record_body(&p, &d, "2026-11-20T09:30:00+02:00")).await;
    res.assert(201);
    let b = &res.body;
    let id = s(b, "recordId");
    assert!(id.starts_with("REC-") && id.len() == 30, "bad id {id}");
    assert_eq!(res.header("location"), Some(format!("/api/v1/medical-records/{id}").as_str()));
    assert_eq!(b["patientId"], json!(p));
    assert_eq!(b["doctorId"], json!(d));
    assert_eq!(b["doctorName"], json!("Dr. Sofia Chen"));
    assert_eq!(b["visitDate"], json!("2026-11-20T07:30:00.000Z"));
    assert_eq!(b["chiefComplaint"], json!("Chest pain"));
    assert_eq!(b["symptoms"], json!([]));
    assert_eq!(b["prescriptions"], json!([]));
    assert_eq!(b["labResults"], json!([]));
    assert_eq!(b["version"], json!(1));
    for absent in ["diagnosis", "treatment", "vitalSigns", "notes", "followUpDate", "appointmentId", "amendmentReason"]
    {
        assert!(b.get(absent).is_none(), "{absent} must be omitted: {b}");
    }
    let got = app.get(&rec(id)).await;
    got.assert(200);
    assert_eq!(&got.body, b);
}

#[tokio::test]
async fn visit_date_fractions_are_truncated_to_milliseconds() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "frac").await;
    let b = create(&app, &p, &d, "2026-11-20T07:30:00.123987Z").await;
    assert_eq!(b["visitDate"], json!("2026-11-20T07:30:00.123Z"));
}

#[tokio::test]
async fn a_full_record_round_trips() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "full").await;
    let res = app
        .post(RECORDS, &json!({
            "patientId": p, "doctorId": d, "visitDate": "2026-11-24T15:00:00Z", "chiefComplaint": "Cough",
            "diagnosis": "Bronchitis", "symptoms": ["cough", "fever"], "treatment": "Rest",
            "prescriptions": [{"medication": "Amoxicillin", "dosage": "500 mg", "frequency": "3x daily", "duration": "7 days"}],
            "labResults": [{"testName": "CBC", "result": "normal"}],
            "vitalSigns": {"bloodPressure": "120/80", "heartRate": 72, "temperature": 37.5, "weight": 70.5, "height": 175},
            "notes": "Review in a week", "followUpDate": "2026-12-01"
        }))
        .await;
    res.assert(201);
    let b = &res.body;
    assert_eq!(b["diagnosis"], json!("Bronchitis"));
    assert_eq!(b["symptoms"], json!(["cough", "fever"]));
    assert_eq!(b["prescriptions"][0]["medication"], json!("Amoxicillin"));
    assert_eq!(b["labResults"], json!([{"testName": "CBC", "result": "normal"}]));
    assert_eq!(b["vitalSigns"]["bloodPressure"], json!("120/80"));
    assert_eq!(b["vitalSigns"]["heartRate"], json!(72));
    assert_eq!(b["vitalSigns"]["temperature"].as_f64(), Some(37.5));
    assert_eq!(b["followUpDate"], json!("2026-12-01"));
    assert_eq!(b["notes"], json!("Review in a week"));
}

async fn post_vitals(app: &TestApp, p: &str, d: &str, vitals: Value) -> Res {
    let mut body = record_body(p, d, "2026-11-24T15:00:00Z");
    body["vitalSigns"] = vitals;
    app.post(RECORDS, &body).await
}

#[tokio::test]
async fn vital_signs_at_their_range_limits_are_accepted() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "vitalsok").await;
    post_vitals(&app, &p, &d, json!({"bloodPressure": "300/200", "heartRate": 300, "temperature": 45.0}))
        .await
        .assert(201);
    post_vitals(&app, &p, &d, json!({"bloodPressure": "40/20", "heartRate": 20, "temperature": 25.0}))
        .await
        .assert(201);
}

#[tokio::test]
async fn a_diastolic_above_systolic_blood_pressure_is_rejected() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "bp").await;
    let res = post_vitals(&app, &p, &d, json!({"bloodPressure": "80/120"})).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "vitalSigns.bloodPressure: ");
}

#[tokio::test]
async fn a_malformed_blood_pressure_is_rejected() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "bpbad").await;
    let res = post_vitals(&app, &p, &d, json!({"bloodPressure": "high"})).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "vitalSigns.bloodPressure: ");
}

#[tokio::test]
async fn a_heart_rate_of_301_is_rejected() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "hr").await;
    let res = post_vitals(&app, &p, &d, json!({"heartRate": 301})).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "vitalSigns.heartRate: ");
}

#[tokio::test]
async fn a_temperature_of_24_9_is_rejected() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "temp").await;
    let res = post_vitals(&app, &p, &d, json!({"temperature": 24.9})).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "vitalSigns.temperature: ");
}

#[tokio::test]
async fn every_failing_vital_sign_is_reported_together() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "allvitals").await;
    let res =
        post_vitals(&app, &p, &d, json!({"bloodPressure": "80/120", "heartRate": 301, "temperature": 24.9})).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(res.details().len(), 3, "{}", res.text);
    assert_has_detail(&res, "vitalSigns.bloodPressure: ");
    assert_has_detail(&res, "vitalSigns.heartRate: ");
    assert_has_detail(&res, "vitalSigns.temperature: ");
}

#[tokio::test]
async fn a_visit_date_more_than_five_minutes_ahead_is_rejected() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "future").await;
    let res = app.post(RECORDS, &record_body(&p, &d, "2026-11-25T10:10:00Z")).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "visitDate: ");
}

#[tokio::test]
async fn a_visit_date_a_few_minutes_ahead_is_tolerated() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "nearfuture").await;
    app.post(RECORDS, &record_body(&p, &d, "2026-11-25T10:03:00Z")).await.assert(201);
}

#[tokio::test]
async fn a_visit_date_that_is_not_a_timestamp_is_rejected() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "badvisit").await;
    let res = app.post(RECORDS, &record_body(&p, &d, "2026-11-20")).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "visitDate: ");
}

#[tokio::test]
async fn a_follow_up_before_the_visit_date_is_rejected() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "followup").await;
    let mut body = record_body(&p, &d, "2026-11-20T09:00:00Z");
    body["followUpDate"] = json!("2026-11-19");
    let res = app.post(RECORDS, &body).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "followUpDate: ");
    body["followUpDate"] = json!("2026-11-20");
    app.post(RECORDS, &body).await.assert(201);
}

#[tokio::test]
async fn the_follow_up_is_compared_with_the_utc_date_of_the_visit() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "followutc").await;
    // 23:30 in New York on the 20th is the 21st in UTC
    let mut body = record_body(&p, &d, "2026-11-20T23:30:00-05:00");
    body["followUpDate"] = json!("2026-11-20");
    let res = app.post(RECORDS, &body).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "followUpDate: ");
}

#[tokio::test]
async fn a_prescription_without_medication_is_reported_with_its_index() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "rx").await;
    let mut body = record_body(&p, &d, "2026-11-20T09:00:00Z");
    body["prescriptions"] = json!([{"dosage": "500 mg", "frequency": "daily", "duration": "7 days"}]);
    let res = app.post(RECORDS, &body).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "prescriptions[0].medication: ");
}

#[tokio::test]
async fn a_missing_chief_complaint_is_rejected() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "nocc").await;
    let res = app
        .post(
            RECORDS,
            &json!({"patientId": p, "doctorId": d, "visitDate": "2026-11-20T09:00:00Z", "chiefComplaint": "  "}),
        )
        .await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "chiefComplaint: ");
}

#[tokio::test]
async fn an_unknown_patient_is_reported_before_an_unknown_doctor() {
    let app = TestApp::spawn().await;
    let res = app
        .post(
            RECORDS,
            &record_body("PAT-01M88ZQHVRM9S346Q3D25VT4F5", "DOC-01M88ZSCERV37E3S3E28JT97KB", "2026-11-20T09:00:00Z"),
        )
        .await;
    res.assert_error(404, "PATIENT_NOT_FOUND");
}

#[tokio::test]
async fn an_unknown_doctor_gives_doctor_not_found() {
    let app = TestApp::spawn().await;
    let (p, _) = pair(&app, "nodoc").await;
    let res = app.post(RECORDS, &record_body(&p, "DOC-01M88ZSCERV37E3S3E28JT97KB", "2026-11-20T09:00:00Z")).await;
    res.assert_error(404, "DOCTOR_NOT_FOUND");
}

#[tokio::test]
async fn a_doctor_on_leave_can_still_write_a_record() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "leave").await;
    app.put(&format!("/api/v1/doctors/{d}"), &json!({"status": "on-leave"})).await.assert(200);
    app.post(RECORDS, &record_body(&p, &d, "2026-11-20T09:00:00Z")).await.assert(201);
}

#[tokio::test]
async fn an_unknown_appointment_id_is_a_validation_error() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "noapt").await;
    let mut body = record_body(&p, &d, "2026-11-20T09:00:00Z");
    body["appointmentId"] = json!("APT-01M88ZX1MRF5KZNWJ47TAN9ZT2");
    let res = app.post(RECORDS, &body).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "appointmentId: ");
    body["appointmentId"] = json!("garbage");
    let res = app.post(RECORDS, &body).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "appointmentId: ");
}

#[tokio::test]
async fn an_appointment_of_another_patient_is_a_validation_error() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "aptother").await;
    let other = s(&app.create_patient("other.rec@example.org").await, "patientId").to_owned();
    let res = app.book(&other, &d, "2026-12-01", "10:00", "10:30").await;
    res.assert(201);
    let apt = s(&res.body, "appointmentId").to_owned();
    let mut body = record_body(&p, &d, "2026-11-20T09:00:00Z");
    body["appointmentId"] = json!(apt);
    let res = app.post(RECORDS, &body).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "appointmentId: ");
}

#[tokio::test]
async fn an_appointment_with_another_doctor_is_a_validation_error() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "aptdoc").await;
    let d2 = s(&app.create_doctor("LIC-R-aptdoc2", "DEPT-002").await, "doctorId").to_owned();
    let res = app.book(&p, &d2, "2026-12-01", "10:00", "10:30").await;
    let apt = s(&res.body, "appointmentId").to_owned();
    let mut body = record_body(&p, &d, "2026-11-20T09:00:00Z");
    body["appointmentId"] = json!(apt);
    let res = app.post(RECORDS, &body).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "appointmentId: ");
}

#[tokio::test]
async fn a_matching_appointment_is_linked() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "aptok").await;
    let res = app.book(&p, &d, "2026-11-25", "08:00", "08:30").await;
    let apt = s(&res.body, "appointmentId").to_owned();
    let mut body = record_body(&p, &d, "2026-11-25T08:10:00Z");
    body["appointmentId"] = json!(apt);
    let res = app.post(RECORDS, &body).await;
    res.assert(201);
    assert_eq!(res.body["appointmentId"], json!(apt));
}

#[tokio::test]
async fn an_inactive_patient_cannot_get_a_new_record() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "inactive").await;
    app.delete(&format!("/api/v1/patients/{p}")).await.assert(200);
    app.post(RECORDS, &record_body(&p, &d, "2026-11-20T09:00:00Z")).await.assert_error(409, "PATIENT_INACTIVE");
}

#[tokio::test]
async fn an_unknown_record_is_not_found() {
    let app = TestApp::spawn().await;
    app.get(&rec("REC-01M8900PTRP1XPA7Z3DJ8FSSZ5")).await.assert_error(404, "MEDICAL_RECORD_NOT_FOUND");
    app.get(&rec("REC-bogus")).await.assert_error(404, "MEDICAL_RECORD_NOT_FOUND");
}

// ---- amend ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn amending_sets_clears_and_replaces_fields() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "amend").await;
    let mut body = record_body(&p, &d, "2026-11-20T09:00:00Z");
    body["symptoms"] = json!(["cough"]);
    body["treatment"] = json!("Rest");
    let res = app.post(RECORDS, &body).await;
    res.assert(201);
    let id = s(&res.body, "recordId").to_owned();

    let res = app.put(&rec(&id), &json!({"diagnosis": "Flu", "symptoms": ["fever", "chills"]})).await;
    res.assert(200);
    assert_eq!(res.body["diagnosis"], json!("Flu"));
    assert_eq!(res.body["symptoms"], json!(["fever", "chills"]));
    assert_eq!(res.body["treatment"], json!("Rest"));

    let res = app.put(&rec(&id), &json!({"diagnosis": null, "treatment": ""})).await;
    res.assert(200);
    assert!(res.body.get("diagnosis").is_none(), "{}", res.text);
    assert!(res.body.get("treatment").is_none(), "{}", res.text);
    assert_eq!(res.body["symptoms"], json!(["fever", "chills"]));

    let res = app.put(&rec(&id), &json!({"symptoms": null})).await;
    res.assert(200);
    assert_eq!(res.body["symptoms"], json!([]));

    let got = app.get(&rec(&id)).await.body;
    assert_eq!(got, res.body, "GET reflects the write");
}

#[tokio::test]
async fn amending_vital_signs_replaces_them_whole() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "amendvitals").await;
    let res = post_vitals(&app, &p, &d, json!({"heartRate": 80, "temperature": 37.0})).await;
    let id = s(&res.body, "recordId").to_owned();
    let res = app.put(&rec(&id), &json!({"vitalSigns": {"heartRate": 90}})).await;
    res.assert(200);
    assert_eq!(res.body["vitalSigns"], json!({"heartRate": 90}));
    let res = app.put(&rec(&id), &json!({"vitalSigns": {}})).await;
    res.assert(200);
    assert!(res.body.get("vitalSigns").is_none(), "{}", res.text);
}

#[tokio::test]
async fn amending_validates_vital_sign_ranges() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "amendbad").await;
    let id = s(&create(&app, &p, &d, "2026-11-20T09:00:00Z").await, "recordId").to_owned();
    let res = app.put(&rec(&id), &json!({"vitalSigns": {"heartRate": 19}})).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "vitalSigns.heartRate: ");
}

#[tokio::test]
async fn a_follow_up_before_the_stored_visit_date_is_rejected_on_amend() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "amendfollow").await;
    let id = s(&create(&app, &p, &d, "2026-11-20T09:00:00Z").await, "recordId").to_owned();
    let res = app.put(&rec(&id), &json!({"followUpDate": "2026-11-19"})).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "followUpDate: ");
    let res = app.put(&rec(&id), &json!({"followUpDate": "2026-11-20"})).await;
    res.assert(200);
    assert_eq!(res.body["followUpDate"], json!("2026-11-20"));
}

#[tokio::test]
async fn amending_an_unknown_record_is_not_found() {
    let app = TestApp::spawn().await;
    app.put(&rec("REC-01M8900PTRP1XPA7Z3DJ8FSSZ5"), &json!({"diagnosis": "x"}))
        .await
        .assert_error(404, "MEDICAL_RECORD_NOT_FOUND");
}

#[tokio::test]
async fn amend_validation_comes_before_the_record_lookup() {
    let app = TestApp::spawn().await;
    let res = app.put(&rec("REC-01M8900PTRP1XPA7Z3DJ8FSSZ5"), &json!({"vitalSigns": {"temperature": 50}})).await;
    res.assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn an_empty_amend_is_a_no_op_that_keeps_updated_at() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "amendnoop").await;
    let created = create(&app, &p, &d, "2026-11-20T09:00:00Z").await;
    let id = s(&created, "recordId").to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let res = app.put(&rec(&id), &json!({})).await;
    res.assert(200);
    assert_eq!(res.body, created);
    let res = app.put(&rec(&id), &json!({"chiefComplaint": "ignored", "symptoms": []})).await;
    res.assert(200);
    assert_eq!(res.body["updatedAt"], created["updatedAt"]);
}

#[tokio::test]
async fn a_real_amend_moves_updated_at_but_not_created_at() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "amendmoves").await;
    let created = create(&app, &p, &d, "2026-11-20T09:00:00Z").await;
    let id = s(&created, "recordId").to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let res = app.put(&rec(&id), &json!({"notes": "Amended"})).await;
    res.assert(200);
    assert_ne!(res.body["updatedAt"], created["updatedAt"]);
    assert_eq!(res.body["createdAt"], created["createdAt"]);
}

#[tokio::test]
async fn patient_visit_date_and_doctor_in_an_amend_are_ignored() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "amendignored").await;
    let (p2, d2) = pair(&app, "amendignored2").await;
    let id = s(&create(&app, &p, &d, "2026-11-20T09:00:00Z").await, "recordId").to_owned();
    let res = app
        .put(
            &rec(&id),
            &json!({"patientId": p2, "doctorId": d2, "visitDate": "2020-01-01T00:00:00Z",
                                 "chiefComplaint": "Other", "diagnosis": "Angina"}),
        )
        .await;
    res.assert(200);
    assert_eq!(res.body["patientId"], json!(p));
    assert_eq!(res.body["doctorId"], json!(d));
    assert_eq!(res.body["visitDate"], json!("2026-11-20T09:00:00.000Z"));
    assert_eq!(res.body["chiefComplaint"], json!("Chest pain"));
    assert_eq!(res.body["diagnosis"], json!("Angina"));
}

#[tokio::test]
async fn a_record_of_an_inactive_patient_can_still_be_amended() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "amendinactive").await;
    let id = s(&create(&app, &p, &d, "2026-11-20T09:00:00Z").await, "recordId").to_owned();
    app.delete(&format!("/api/v1/patients/{p}")).await.assert(200);
    let res = app.put(&rec(&id), &json!({"diagnosis": "Corrected"})).await;
    res.assert(200);
    assert_eq!(res.body["diagnosis"], json!("Corrected"));
}

// ---- a patient's records ---------------------------------------------------------------------------------------

fn list_path(p: &str, query: &str) -> String {
    format!("/api/v1/patients/{p}/medical-records{query}")
}

fn record_ids(res: &Res) -> Vec<String> {
    res.body["records"]
        .as_array()
        .unwrap_or_else(|| panic!("no records array: {}", res.text))
        .iter()
        .map(|r| s(r, "recordId").to_owned())
        .collect()
}

/// Creates one record per visit and returns their IDs in creation order.
async fn seed(app: &TestApp, p: &str, d: &str, visits: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for v in visits {
        ids.push(s(&create(app, p, d, v).await, "recordId").to_owned());
    }
    ids
}

const FIVE: [&str; 5] = [
    "2026-11-03T09:00:00Z",
    "2026-11-01T09:00:00Z",
    "2026-11-05T09:00:00Z",
    "2026-11-02T09:00:00Z",
    "2026-11-04T09:00:00Z",
];

#[tokio::test]
async fn a_patients_records_are_listed_newest_visit_first() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "list").await;
    let ids = seed(&app, &p, &d, &FIVE).await;
    let res = app.get(&list_path(&p, "")).await;
    res.assert(200);
    assert_eq!(res.body["patientId"], json!(p));
    assert_eq!(res.body["nextCursor"], Value::Null);
    assert!(res.body.as_object().unwrap().contains_key("nextCursor"), "nextCursor must be present as null");
    let expected = vec![ids[2].clone(), ids[4].clone(), ids[0].clone(), ids[3].clone(), ids[1].clone()];
    assert_eq!(record_ids(&res), expected);
}

#[tokio::test]
async fn records_of_other_patients_are_not_listed() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "mine").await;
    let (p2, _) = pair(&app, "theirs").await;
    let mine = seed(&app, &p, &d, &FIVE[..2]).await;
    seed(&app, &p2, &d, &FIVE[2..]).await;
    let res = app.get(&list_path(&p, "")).await;
    let mut got = record_ids(&res);
    got.sort();
    let mut want = mine;
    want.sort();
    assert_eq!(got, want);
}

/// Follows nextCursor from `first` (a query string starting with `?`), returning every page.
async fn all_pages(app: &TestApp, p: &str, first: &str) -> Vec<Res> {
    let mut pages = Vec::new();
    let mut query = first.to_owned();
    for _ in 0..20 {
        let res = app.get(&list_path(p, &query)).await;
        res.assert(200);
        let next = res.body["nextCursor"].clone();
        pages.push(res);
        match next {
            Value::Null => return pages,
            Value::String(c) => query = format!("{first}&cursor={}", enc(&c)),
            other => panic!("nextCursor must be a string or null, got {other}"),
        }
    }
    panic!("paging did not end");
}

#[tokio::test]
async fn cursor_paging_walks_every_record_once_in_order() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "paging").await;
    let ids = seed(&app, &p, &d, &FIVE).await;
    let pages = all_pages(&app, &p, "?limit=2").await;
    let sizes: Vec<usize> = pages.iter().map(|r| record_ids(r).len()).collect();
    assert!(sizes.iter().all(|n| *n <= 2), "page sizes {sizes:?}");
    assert_eq!(&sizes[..3], &[2, 2, 1], "page sizes {sizes:?}");
    assert!(pages[0].body["nextCursor"].is_string());
    assert!(pages[1].body["nextCursor"].is_string());
    let all: Vec<String> = pages.iter().flat_map(record_ids).collect();
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "duplicates: {all:?}");
    let expected = vec![ids[2].clone(), ids[4].clone(), ids[0].clone(), ids[3].clone(), ids[1].clone()];
    assert_eq!(all, expected);
}

#[tokio::test]
async fn records_with_the_same_visit_date_page_without_loss_or_duplicates() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "samevisit").await;
    let ids = seed(&app, &p, &d, &["2026-11-10T09:00:00Z"; 5]).await;
    let pages = all_pages(&app, &p, "?limit=2").await;
    let all: Vec<String> = pages.iter().flat_map(record_ids).collect();
    // ties are ordered by recordId desc
    let mut expected = ids.clone();
    expected.sort();
    expected.reverse();
    assert_eq!(all, expected);
}

#[tokio::test]
async fn limit_defaults_to_50_and_is_capped_at_100() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "limits").await;
    for i in 0..101 {
        let visit = format!("2026-10-{:02}T{:02}:{:02}:00Z", 1 + i % 28, 8 + i / 28, i % 60);
        create(&app, &p, &d, &visit).await;
    }
    let res = app.get(&list_path(&p, "")).await;
    res.assert(200);
    assert_eq!(record_ids(&res).len(), 50);
    assert!(res.body["nextCursor"].is_string());

    let res = app.get(&list_path(&p, "?limit=500")).await;
    res.assert(200);
    assert_eq!(record_ids(&res).len(), 100);
    assert!(res.body["nextCursor"].is_string(), "one record is left");

    let pages = all_pages(&app, &p, "?limit=100").await;
    let all: Vec<String> = pages.iter().flat_map(record_ids).collect();
    assert_eq!(all.len(), 101);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 101);
}

#[tokio::test]
async fn limit_below_one_or_not_a_number_is_rejected() {
    let app = TestApp::spawn().await;
    let (p, _) = pair(&app, "badlimit").await;
    for q in ["?limit=0", "?limit=-1", "?limit=abc"] {
        let res = app.get(&list_path(&p, q)).await;
        res.assert_error(400, "VALIDATION_ERROR");
        assert_has_detail(&res, "limit: ");
    }
}

#[tokio::test]
async fn the_date_range_is_inclusive_on_the_utc_date_of_the_visit() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "range").await;
    let ids = seed(
        &app,
        &p,
        &d,
        &[
            "2026-11-01T10:00:00Z",
            "2026-11-02T23:30:00-05:00", // 2026-11-03T04:30Z
            "2026-11-03T23:59:59.999Z",
            "2026-11-04T00:00:00Z",
        ],
    )
    .await;
    let res = app.get(&list_path(&p, "?startDate=2026-11-03&endDate=2026-11-03")).await;
    res.assert(200);
    assert_eq!(record_ids(&res), vec![ids[2].clone(), ids[1].clone()]);

    let res = app.get(&list_path(&p, "?startDate=2026-11-02")).await;
    assert_eq!(record_ids(&res), vec![ids[3].clone(), ids[2].clone(), ids[1].clone()]);

    let res = app.get(&list_path(&p, "?endDate=2026-11-01")).await;
    assert_eq!(record_ids(&res), vec![ids[0].clone()]);
}

#[tokio::test]
async fn an_end_date_before_the_start_date_is_rejected() {
    let app = TestApp::spawn().await;
    let (p, _) = pair(&app, "badrange").await;
    let res = app.get(&list_path(&p, "?startDate=2026-11-05&endDate=2026-11-04")).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert!(!res.details().is_empty());
}

#[tokio::test]
async fn listing_records_of_an_unknown_patient_is_not_found() {
    let app = TestApp::spawn().await;
    app.get(&list_path("PAT-01M88ZQHVRM9S346Q3D25VT4F5", "")).await.assert_error(404, "PATIENT_NOT_FOUND");
}

#[tokio::test]
async fn an_inactive_patients_records_are_still_listed() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "listinactive").await;
    let ids = seed(&app, &p, &d, &FIVE[..1]).await;
    app.delete(&format!("/api/v1/patients/{p}")).await.assert(200);
    let res = app.get(&list_path(&p, "")).await;
    res.assert(200);
    assert_eq!(record_ids(&res), ids);
}

async fn first_cursor(app: &TestApp, p: &str, query: &str) -> String {
    let res = app.get(&list_path(p, query)).await;
    res.assert(200);
    res.body["nextCursor"].as_str().unwrap_or_else(|| panic!("expected a cursor: {}", res.text)).to_owned()
}

#[tokio::test]
async fn a_garbage_cursor_is_rejected() {
    let app = TestApp::spawn().await;
    let (p, _) = pair(&app, "garbage").await;
    let res = app.get(&list_path(&p, "?cursor=not-a-real-cursor")).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "cursor: ");
}

#[tokio::test]
async fn a_tampered_cursor_is_rejected() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "tamper").await;
    seed(&app, &p, &d, &FIVE).await;
    let cursor = first_cursor(&app, &p, "?limit=2").await;
    // change one character in the middle
    let mut chars: Vec<char> = cursor.chars().collect();
    let mid = chars.len() / 2;
    chars[mid] = if chars[mid] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    let res = app.get(&list_path(&p, &format!("?limit=2&cursor={}", enc(&tampered)))).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "cursor: ");
    // and a truncated one
    let truncated = &cursor[..cursor.len() / 2];
    let res = app.get(&list_path(&p, &format!("?limit=2&cursor={}", enc(truncated)))).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "cursor: ");
}

#[tokio::test]
async fn a_cursor_reused_with_a_different_filter_is_rejected() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "refilter").await;
    seed(&app, &p, &d, &FIVE).await;
    let cursor = first_cursor(&app, &p, "?limit=2").await;
    let res = app.get(&list_path(&p, &format!("?limit=2&startDate=2026-11-02&cursor={}", enc(&cursor)))).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "cursor: ");
}

#[tokio::test]
async fn a_cursor_reused_for_another_patient_is_rejected() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "repatient").await;
    let (p2, _) = pair(&app, "repatient2").await;
    seed(&app, &p, &d, &FIVE).await;
    seed(&app, &p2, &d, &FIVE).await;
    let cursor = first_cursor(&app, &p, "?limit=2").await;
    let res = app.get(&list_path(&p2, &format!("?limit=2&cursor={}", enc(&cursor)))).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "cursor: ");
}

// ---- further edges ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_appointment_check_comes_before_the_inactive_patient_check() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "order45").await;
    app.delete(&format!("/api/v1/patients/{p}")).await.assert(200);
    let mut body = record_body(&p, &d, "2026-11-20T09:00:00Z");
    body["appointmentId"] = json!("APT-01M88ZX1MRF5KZNWJ47TAN9ZT2");
    let res = app.post(RECORDS, &body).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "appointmentId: ");
}

#[tokio::test]
async fn a_visit_before_1900_is_rejected() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "old").await;
    let res = app.post(RECORDS, &record_body(&p, &d, "1899-12-31T23:59:59Z")).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "visitDate: ");
    app.post(RECORDS, &record_body(&p, &d, "1900-01-01T00:00:00Z")).await.assert(201);
}

#[tokio::test]
async fn an_empty_symptom_is_reported_with_its_index() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "emptysym").await;
    let mut body = record_body(&p, &d, "2026-11-20T09:00:00Z");
    body["symptoms"] = json!(["cough", "  "]);
    let res = app.post(RECORDS, &body).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "symptoms[1]: ");
}

#[tokio::test]
async fn more_than_fifty_prescriptions_are_rejected() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "manyrx").await;
    let rx = json!({"medication": "M", "dosage": "1", "frequency": "daily", "duration": "1 day"});
    let mut body = record_body(&p, &d, "2026-11-20T09:00:00Z");
    body["prescriptions"] = Value::Array(vec![rx.clone(); 51]);
    let res = app.post(RECORDS, &body).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "prescriptions: ");
    body["prescriptions"] = Value::Array(vec![rx; 50]);
    app.post(RECORDS, &body).await.assert(201);
}

#[tokio::test]
async fn a_lab_result_without_normal_range_omits_it() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "lab").await;
    let mut body = record_body(&p, &d, "2026-11-20T09:00:00Z");
    body["labResults"] = json!([{"testName": "CBC", "result": "ok", "normalRange": null},
                                {"testName": "LDL", "result": "2.1"}]);
    let res = app.post(RECORDS, &body).await;
    res.assert(201);
    assert_eq!(
        res.body["labResults"],
        json!([{"testName": "CBC", "result": "ok"}, {"testName": "LDL", "result": "2.1"}])
    );
    body["labResults"] = json!([{"testName": "CBC"}]);
    let res = app.post(RECORDS, &body).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "labResults[0].result: ");
}

#[tokio::test]
async fn a_follow_up_date_can_be_cleared_with_null() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "clearfollow").await;
    let mut body = record_body(&p, &d, "2026-11-20T09:00:00Z");
    body["followUpDate"] = json!("2026-12-01");
    let id = s(&app.post(RECORDS, &body).await.body, "recordId").to_owned();
    let res = app.put(&rec(&id), &json!({"followUpDate": null})).await;
    res.assert(200);
    assert!(res.body.get("followUpDate").is_none(), "{}", res.text);
}

#[tokio::test]
async fn a_non_integer_heart_rate_is_rejected() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "hrfloat").await;
    post_vitals(&app, &p, &d, json!({"heartRate": 72.5})).await.assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn an_empty_vital_signs_object_counts_as_unset_on_create() {
    let app = TestApp::spawn().await;
    let (p, d) = pair(&app, "emptyvitals").await;
    let res = post_vitals(&app, &p, &d, json!({})).await;
    res.assert(201);
    assert!(res.body.get("vitalSigns").is_none(), "{}", res.text);
}
