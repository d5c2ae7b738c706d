//! [safe-writes] through HTTP (API.md §1.10, §1.11): versions and ETags on every resource, `If-Match` on every PUT
//! and DELETE, `Idempotency-Key` on every POST, and the races both must survive.

use axum::http::Method;
use futures::future::join_all;
use gospital::service::idempotency::{IdempotencyKey, IdempotentRequest, scope};
use gospital::store::IdempotencyClaim;
use serde_json::{Value, json};

use crate::helpers::{Res, TestApp, invoice_body, patient_body, s};

const DAY: &str = "2026-12-01";

fn patient(id: &str) -> String {
    format!("/api/v1/patients/{id}")
}

fn etag(res: &Res) -> &str {
    res.header("etag").unwrap_or_else(|| panic!("no ETag: {} {}", res.status, res.text))
}

async fn put_if(app: &TestApp, path: &str, if_match: &str, body: &Value) -> Res {
    app.send_with_headers(Method::PUT, path, &[("if-match", if_match)], Some(body)).await
}

async fn delete_if(app: &TestApp, path: &str, if_match: &str) -> Res {
    app.send_with_headers(Method::DELETE, path, &[("if-match", if_match)], None).await
}

async fn post_key(app: &TestApp, path: &str, key: &str, body: &Value) -> Res {
    app.send_with_headers(Method::POST, path, &[("idempotency-key", key)], Some(body)).await
}

#[track_caller]
fn assert_precondition_failed(res: &Res, current: i64) {
    res.assert_error(412, "PRECONDITION_FAILED");
    assert_eq!(res.body["error"]["message"], json!("Resource has been modified"));
    assert_eq!(res.details(), vec![format!("If-Match: current version is {current}")]);
    assert_eq!(res.header("etag"), Some(format!("\"{current}\"").as_str()));
}

// ---- §1.10 versions and ETags ---------------------------------------------------------------------------

#[tokio::test]
async fn every_single_resource_get_carries_its_version_and_a_strong_etag() {
    let app = TestApp::spawn().await;
    let w = app.world("etag").await;
    for path in [
        patient(&w.patient),
        format!("/api/v1/doctors/{}", w.doctor),
        "/api/v1/departments/DEPT-001".to_owned(),
        format!("/api/v1/appointments/{}", w.appointment),
        format!("/api/v1/medical-records/{}", w.record),
        format!("/api/v1/billing/invoices/{}", w.invoice),
    ] {
        let res = app.get(&path).await;
        res.assert(200);
        assert_eq!(res.body["version"], json!(1), "{path}: {}", res.text);
        assert_eq!(etag(&res), "\"1\"", "{path}");
    }
    // Lists carry versions in their items but no ETag of their own.
    let list = app.get("/api/v1/patients").await;
    assert_eq!(list.body["data"][0]["version"], json!(1));
    assert!(list.header("etag").is_none());
}

#[tokio::test]
async fn every_write_moves_the_version_by_one_and_answers_its_etag() {
    let app = TestApp::spawn().await;
    let w = app.world("bump").await;
    let writes = [
        (Method::PUT, patient(&w.patient), Some(json!({"phone": "+1 555 010 0000"}))),
        (Method::PUT, format!("/api/v1/doctors/{}", w.doctor), Some(json!({"specialty": "Oncology"}))),
        (Method::PUT, "/api/v1/departments/DEPT-002".to_owned(), Some(json!({"floor": 7}))),
        (Method::PUT, format!("/api/v1/appointments/{}", w.appointment), Some(json!({"reason": "Other"}))),
        (Method::PUT, format!("/api/v1/medical-records/{}", w.record), Some(json!({"diagnosis": "Cold"}))),
        (
            Method::PUT,
            format!("/api/v1/billing/invoices/{}/payment", w.invoice),
            Some(json!({"paymentStatus": "paid", "paymentMethod": "cash"})),
        ),
    ];
    for (method, path, body) in writes {
        let res = app.request(method, &path, body.as_ref()).await;
        res.assert(200);
        assert_eq!(res.body["version"], json!(2), "{path}: {}", res.text);
        assert_eq!(etag(&res), "\"2\"", "{path}");
    }
    // The payment route answers the invoice's ETag.
    let invoice = app.get(&format!("/api/v1/billing/invoices/{}", w.invoice)).await;
    assert_eq!(etag(&invoice), "\"2\"");
    // A DELETE answers the version it left behind.
    let res = app.delete(&format!("/api/v1/appointments/{}", w.appointment)).await;
    res.assert(200);
    assert_eq!(etag(&res), "\"3\"");
    let res = app.delete(&patient(&w.patient)).await;
    res.assert(200);
    assert_eq!(etag(&res), "\"3\"");
}

#[tokio::test]
async fn a_change_that_changes_nothing_keeps_the_version() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("noop@example.org").await;
    let res = app.put(&patient(s(&p, "patientId")), &json!({"firstName": "Amara"})).await;
    res.assert(200);
    assert_eq!((res.body["version"].clone(), etag(&res)), (json!(1), "\"1\""));
    assert_eq!(res.body["updatedAt"], p["updatedAt"]);
}

#[tokio::test]
async fn a_deactivation_bumps_the_appointments_it_cancels() {
    let app = TestApp::spawn().await;
    let w = app.world("cascade").await;
    app.delete(&patient(&w.patient)).await.assert(200);
    let apt = app.get(&format!("/api/v1/appointments/{}", w.appointment)).await;
    assert_eq!((apt.body["status"].clone(), apt.body["version"].clone()), (json!("cancelled"), json!(2)));
    assert_eq!(etag(&apt), "\"2\"");
}

#[tokio::test]
async fn joined_names_are_not_part_of_the_version() {
    let app = TestApp::spawn().await;
    let dept = app.post("/api/v1/departments", &json!({"name": "Neurology"})).await;
    let dept_id = s(&dept.body, "departmentId").to_owned();
    let doctor = app.create_doctor("LIC-JOIN", &dept_id).await;
    app.put(&format!("/api/v1/departments/{dept_id}"), &json!({"name": "Neuroscience"})).await.assert(200);
    let res = app.get(&format!("/api/v1/doctors/{}", s(&doctor, "doctorId"))).await;
    assert_eq!((res.body["departmentName"].clone(), res.body["version"].clone()), (json!("Neuroscience"), json!(1)));
}

// ---- §1.10 If-Match -------------------------------------------------------------------------------------

#[tokio::test]
async fn if_match_with_the_current_etag_a_list_or_a_star_lets_the_write_through() {
    let app = TestApp::spawn().await;
    let p = s(&app.create_patient("match@example.org").await, "patientId").to_owned();
    let path = patient(&p);
    put_if(&app, &path, "\"1\"", &json!({"phone": "+1 555 010 0001"})).await.assert(200);
    put_if(&app, &path, "\"7\", \"2\"", &json!({"phone": "+1 555 010 0002"})).await.assert(200);
    put_if(&app, &path, "*", &json!({"phone": "+1 555 010 0003"})).await.assert(200);
    let res = app.get(&path).await;
    assert_eq!((res.body["version"].clone(), res.body["phone"].clone()), (json!(4), json!("+1 555 010 0003")));
}

#[tokio::test]
async fn a_stale_weak_or_unparsable_if_match_is_412_with_the_current_etag_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let p = s(&app.create_patient("stale@example.org").await, "patientId").to_owned();
    let path = patient(&p);
    app.put(&path, &json!({"phone": "+1 555 010 0001"})).await.assert(200);
    for bad in ["\"1\"", "W/\"2\"", "2", "\"two\"", "\"1\", W/\"2\"", ""] {
        let res = put_if(&app, &path, bad, &json!({"phone": "+1 555 010 0009"})).await;
        assert_precondition_failed(&res, 2);
    }
    // The precondition is checked before the no-change rule: a stale tag on a no-op is still 412.
    assert_precondition_failed(&put_if(&app, &path, "\"1\"", &json!({})).await, 2);
    assert_eq!(app.get(&path).await.body["phone"], json!("+1 555 010 0001"));
}

#[tokio::test]
async fn if_match_is_checked_on_every_put_and_delete() {
    let app = TestApp::spawn().await;
    let w = app.world("every").await;
    let cases = [
        (Method::PUT, patient(&w.patient), Some(json!({"phone": "+1 555 010 0000"}))),
        (Method::PUT, format!("/api/v1/doctors/{}", w.doctor), Some(json!({"specialty": "X"}))),
        (Method::PUT, "/api/v1/departments/DEPT-003".to_owned(), Some(json!({"floor": 9}))),
        (Method::PUT, format!("/api/v1/appointments/{}", w.appointment), Some(json!({"reason": "X"}))),
        (Method::DELETE, format!("/api/v1/appointments/{}", w.appointment), None),
        (Method::PUT, format!("/api/v1/medical-records/{}", w.record), Some(json!({"diagnosis": "X"}))),
        (
            Method::PUT,
            format!("/api/v1/billing/invoices/{}/payment", w.invoice),
            Some(json!({"paymentStatus": "paid"})),
        ),
        // Last: a deactivation cancels the appointment above.
        (Method::DELETE, patient(&w.patient), None),
    ];
    for (method, path, body) in cases {
        let read = path.trim_end_matches("/payment");
        let current = app.get(read).await.body["version"].as_i64().expect("a version");
        let res = app.send_with_headers(method.clone(), &path, &[("if-match", "\"99\"")], body.as_ref()).await;
        assert_precondition_failed(&res, current);
        let tag = format!("\"{current}\"");
        let res = app.send_with_headers(method, &path, &[("if-match", tag.as_str())], body.as_ref()).await;
        res.assert(200);
        assert_eq!(etag(&res), format!("\"{}\"", current + 1), "{path}");
    }
}

#[tokio::test]
async fn validation_comes_before_the_404_which_comes_before_if_match() {
    let app = TestApp::spawn().await;
    let ghost = patient("PAT-01M88ZQHVRM9S346Q3D25VT4F5");
    put_if(&app, &ghost, "\"1\"", &json!({"email": "nope"})).await.assert_error(400, "VALIDATION_ERROR");
    put_if(&app, &ghost, "\"1\"", &json!({})).await.assert_error(404, "PATIENT_NOT_FOUND");
    put_if(&app, &ghost, "*", &json!({})).await.assert_error(404, "PATIENT_NOT_FOUND");
    delete_if(&app, &ghost, "*").await.assert_error(404, "PATIENT_NOT_FOUND");
}

#[tokio::test]
async fn if_match_comes_before_the_state_rules() {
    let app = TestApp::spawn().await;
    let w = app.world("order").await;
    let apt = format!("/api/v1/appointments/{}", w.appointment);
    app.delete(&apt).await.assert(200);
    // Cancelled already (409 without If-Match), but a stale tag is the first failure.
    assert_precondition_failed(&delete_if(&app, &apt, "\"1\"").await, 2);
    delete_if(&app, &apt, "\"2\"").await.assert_error(409, "INVALID_APPOINTMENT_DATA");
    // The payment status value is judged after If-Match too (API.md §3.6 #29 steps 3–4).
    let pay = format!("/api/v1/billing/invoices/{}/payment", w.invoice);
    assert_precondition_failed(&put_if(&app, &pay, "\"9\"", &json!({"paymentStatus": "bogus"})).await, 1);
}

#[tokio::test]
async fn if_none_match_and_if_match_on_a_post_are_ignored() {
    let app = TestApp::spawn().await;
    let res = app
        .send_with_headers(
            Method::POST,
            "/api/v1/patients",
            &[("if-match", "\"9\""), ("if-none-match", "*")],
            Some(&patient_body("ignored@example.org")),
        )
        .await;
    res.assert(201);
    let res = app
        .send_with_headers(Method::GET, &patient(s(&res.body, "patientId")), &[("if-none-match", "\"1\"")], None)
        .await;
    res.assert(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_puts_with_one_if_match_give_one_200_and_nineteen_412() {
    let app = TestApp::spawn().await;
    let other = app.second_instance();
    let w = app.world("race").await;
    for path in [patient(&w.patient), format!("/api/v1/medical-records/{}", w.record)] {
        let field = if path.contains("patients") { "phone" } else { "notes" };
        let results = join_all((0..20).map(|i| {
            let (app, path) = (if i % 2 == 0 { &app } else { &other }, path.clone());
            let value = if field == "phone" { format!("+1 555 020 {i:04}") } else { format!("note {i}") };
            async move { put_if(app, &path, "\"1\"", &json!({ field: value })).await }
        }))
        .await;
        let ok = results.iter().filter(|r| r.status == 200).count();
        assert_eq!(ok, 1, "{path}: exactly one winner");
        for r in results.iter().filter(|r| r.status != 200) {
            assert_precondition_failed(r, 2);
        }
        assert_eq!(app.get(&path).await.body["version"], json!(2), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_puts_without_if_match_all_land() {
    let app = TestApp::spawn().await;
    let other = app.second_instance();
    let w = app.world("land").await;
    let path = format!("/api/v1/billing/invoices/{}/payment", w.invoice);
    let results = join_all((0..20).map(|i| {
        let (app, path) = (if i % 2 == 0 { &app } else { &other }, path.clone());
        async move { app.put(&path, &json!({"paymentStatus": "pending", "notes": format!("call {i}")})).await }
    }))
    .await;
    for r in &results {
        r.assert(200);
    }
    let invoice = app.get(&format!("/api/v1/billing/invoices/{}", w.invoice)).await;
    assert_eq!(invoice.body["version"], json!(21), "every update applied on top of the previous one");
}

// ---- §1.11 Idempotency-Key ------------------------------------------------------------------------------

#[tokio::test]
async fn a_retried_post_replays_the_first_answer_and_creates_nothing_more() {
    let app = TestApp::spawn().await;
    let body = patient_body("replay@example.org");
    let first = post_key(&app, "/api/v1/patients", "reg-2026-11-25-0001", &body).await;
    first.assert(201);
    // Same JSON with other key order and spacing is the same request.
    let reordered: Value = serde_json::from_str(&serde_json::to_string_pretty(&body).unwrap()).unwrap();
    let again = post_key(&app, "/api/v1/patients", "reg-2026-11-25-0001", &reordered).await;

    again.assert(201);
    assert_eq!(again.text, first.text, "the same body, byte for byte");
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.header("etag"), Some("\"1\""));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert!(first.header("idempotent-replayed").is_none());
    assert_eq!(again.header("content-type"), Some("application/json"));
    assert_ne!(again.header("x-request-id"), first.header("x-request-id"), "a fresh request ID");
    let found = app.get("/api/v1/patients?email=replay@example.org").await;
    assert_eq!(found.body["pagination"]["totalItems"], json!(1));
}

#[tokio::test]
async fn every_post_replays_including_records_and_invoices() {
    let app = TestApp::spawn().await;
    let p = s(&app.create_patient("every-post@example.org").await, "patientId").to_owned();
    let d = s(&app.create_doctor("LIC-EVERY", "DEPT-001").await, "doctorId").to_owned();
    let posts = [
        ("/api/v1/patients", patient_body("every-post-2@example.org")),
        ("/api/v1/doctors", crate::helpers::doctor_body("LIC-EVERY-2", "DEPT-001")),
        ("/api/v1/departments", json!({"name": "Idempotent Care"})),
        (
            "/api/v1/appointments",
            json!({"patientId": p, "doctorId": d, "appointmentDate": DAY, "startTime": "11:00",
                    "endTime": "11:30", "reason": "Check-up"}),
        ),
        (
            "/api/v1/medical-records",
            json!({"patientId": p, "doctorId": d, "visitDate": "2026-11-20T09:00:00Z", "chiefComplaint": "Cough"}),
        ),
        ("/api/v1/billing/invoices", invoice_body(&p)),
    ];
    for (path, body) in posts {
        let first = post_key(&app, path, "k-1", &body).await;
        first.assert(201);
        let again = post_key(&app, path, "k-1", &body).await;
        again.assert(201);
        assert_eq!((again.text.as_str(), again.header("idempotent-replayed")), (first.text.as_str(), Some("true")));
        let location = first.header("location").expect("location");
        let stored = app.get(location).await;
        stored.assert(200);
        assert_eq!(stored.body, first.body, "{path}: the replayed resource is the one stored");
    }
}

#[tokio::test]
async fn the_same_key_with_another_body_is_422_and_on_another_path_is_another_key() {
    let app = TestApp::spawn().await;
    post_key(&app, "/api/v1/patients", "shared", &patient_body("a@example.org")).await.assert(201);
    let res = post_key(&app, "/api/v1/patients", "shared", &patient_body("b@example.org")).await;
    res.assert_error(422, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(res.body["error"]["message"], json!("Idempotency key reused with a different request"));
    post_key(&app, "/api/v1/doctors", "shared", &crate::helpers::doctor_body("LIC-SHARED", "DEPT-001"))
        .await
        .assert(201);
}

#[tokio::test]
async fn a_key_held_by_a_running_attempt_is_409_with_retry_after_1() {
    let app = TestApp::spawn().await;
    let body = patient_body("running@example.org");
    let key = IdempotencyKey::parse(b"in-flight").unwrap();
    let canonical = gospital::http::json::Json::parse(&serde_json::to_vec(&body).unwrap()).unwrap().canonical();
    let request = IdempotentRequest::new(key.clone(), &canonical);
    let now = app.state.clock.timestamp();
    // Another instance's attempt holds the key right now.
    let claim = IdempotencyClaim {
        scope: scope("anonymous", "POST", "/api/v1/patients", &key),
        fingerprint: request.fingerprint.clone(),
        token: "another-attempt".into(),
        now,
        lease_until: gospital::domain::formats::Timestamp::from_millis(now.millis() + 60_000),
    };
    app.state.clinic.claim_idempotency(&claim).await.expect("claim");

    let res = post_key(&app, "/api/v1/patients", "in-flight", &body).await;
    res.assert_error(409, "IDEMPOTENCY_KEY_IN_USE");
    assert_eq!(res.header("retry-after"), Some("1"));
    let other = post_key(&app, "/api/v1/patients", "in-flight", &patient_body("other@example.org")).await;
    other.assert_error(422, "IDEMPOTENCY_KEY_REUSED");

    // The attempt fails and gives its claim back: the retry runs.
    app.state.clinic.release_idempotency(&claim.scope, &claim.token).await.expect("release");
    post_key(&app, "/api/v1/patients", "in-flight", &body).await.assert(201);
}

#[tokio::test]
async fn errors_are_not_stored_so_a_retry_after_one_runs_again() {
    let app = TestApp::spawn().await;
    let p = s(&app.create_patient("retry@example.org").await, "patientId").to_owned();
    let doctor = app.create_doctor("LIC-RETRY", "DEPT-001").await;
    let d = s(&doctor, "doctorId").to_owned();
    app.put(&format!("/api/v1/doctors/{d}"), &json!({"status": "on-leave"})).await.assert(200);
    let booking = json!({"patientId": p, "doctorId": d, "appointmentDate": DAY, "startTime": "09:00",
                         "endTime": "09:30", "reason": "Check-up"});
    post_key(&app, "/api/v1/appointments", "book-1", &booking).await.assert_error(409, "DOCTOR_UNAVAILABLE");
    app.put(&format!("/api/v1/doctors/{d}"), &json!({"status": "active"})).await.assert(200);
    let res = post_key(&app, "/api/v1/appointments", "book-1", &booking).await;
    res.assert(201);
    assert!(res.header("idempotent-replayed").is_none());
    // A body that fails validation is not stored either.
    let mut bad = patient_body("fixed@example.org");
    bad["email"] = json!("nope");
    post_key(&app, "/api/v1/patients", "fix-1", &bad).await.assert_error(400, "VALIDATION_ERROR");
    post_key(&app, "/api/v1/patients", "fix-1", &patient_body("fixed@example.org")).await.assert(201);
}

#[tokio::test]
async fn a_malformed_key_is_400_after_the_media_type_and_before_the_body() {
    let app = TestApp::spawn().await;
    let too_long = "k".repeat(129);
    for bad in ["", "has space", too_long.as_str()] {
        let res = post_key(&app, "/api/v1/patients", bad, &patient_body("badkey@example.org")).await;
        res.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(res.details(), vec!["Idempotency-Key: invalid"], "{bad:?}");
    }
    let longest = "k".repeat(128);
    post_key(&app, "/api/v1/patients", &longest, &patient_body("badkey@example.org")).await.assert(201);
    // Step 4 before step 5: no JSON content type is 415 whatever the key.
    let req = axum::http::Request::post("/api/v1/patients")
        .header("content-type", "text/plain")
        .header("idempotency-key", "has space")
        .body(axum::body::Body::from("{}"))
        .unwrap();
    app.send(req).await.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    // Step 5 before step 6: a bad key wins over a malformed body.
    let req = axum::http::Request::post("/api/v1/patients")
        .header("content-type", "application/json")
        .header("idempotency-key", "has space")
        .body(axum::body::Body::from("{"))
        .unwrap();
    let res = app.send(req).await;
    assert_eq!(res.details(), vec!["Idempotency-Key: invalid"]);
    // Ignored on other methods.
    let p = s(&app.create_patient("putkey@example.org").await, "patientId").to_owned();
    app.send_with_headers(Method::PUT, &patient(&p), &[("idempotency-key", "has space")], Some(&json!({})))
        .await
        .assert(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_posts_with_one_key_create_one_resource() {
    let app = TestApp::spawn().await;
    let p = s(&app.create_patient("burst@example.org").await, "patientId").to_owned();
    let d = s(&app.create_doctor("LIC-BURST", "DEPT-001").await, "doctorId").to_owned();
    let posts = [
        ("/api/v1/patients", patient_body("burst-new@example.org")),
        (
            "/api/v1/medical-records",
            json!({"patientId": p, "doctorId": d, "visitDate": "2026-11-20T09:00:00Z", "chiefComplaint": "Cough"}),
        ),
        ("/api/v1/billing/invoices", invoice_body(&p)),
    ];
    let other = app.second_instance();
    for (path, body) in posts {
        let results =
            join_all((0..20).map(|i| post_key(if i % 2 == 0 { &app } else { &other }, path, "burst-key", &body))).await;
        let created: Vec<&Res> =
            results.iter().filter(|r| r.status == 201 && r.header("idempotent-replayed").is_none()).collect();
        assert_eq!(created.len(), 1, "{path}: one resource created");
        let location = created[0].header("location").unwrap();
        for r in &results {
            match r.status.as_u16() {
                201 => assert_eq!(r.header("location"), Some(location), "{path}: a replay of the one resource"),
                409 => {
                    assert_eq!(r.code(), "IDEMPOTENCY_KEY_IN_USE", "{path}");
                    assert_eq!(r.header("retry-after"), Some("1"));
                }
                other => panic!("{path}: unexpected {other}: {}", r.text),
            }
        }
    }
    assert_eq!(
        app.get("/api/v1/patients?email=burst-new@example.org").await.body["pagination"]["totalItems"],
        json!(1)
    );
    let records = app.get(&format!("/api/v1/patients/{p}/medical-records")).await;
    assert_eq!(records.body["records"].as_array().unwrap().len(), 1);
    let invoices = app.get(&format!("/api/v1/patients/{p}/invoices")).await;
    assert_eq!(invoices.body["invoices"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn expired_idempotency_records_are_purged_and_the_key_runs_again() {
    let app = TestApp::spawn().await;
    let body = patient_body("expired@example.org");
    post_key(&app, "/api/v1/patients", "old-key", &body).await.assert(201);
    let now = app.state.clock.timestamp();
    let within = gospital::domain::formats::Timestamp::from_millis(now.millis() + 23 * 3_600_000);
    assert_eq!(app.state.service.purge_idempotency(within).await, 0, "kept at least 24 h");
    post_key(&app, "/api/v1/patients", "old-key", &body).await.assert(201).header("idempotent-replayed").unwrap();

    let later = gospital::domain::formats::Timestamp::from_millis(now.millis() + 25 * 3_600_000);
    assert_eq!(app.state.service.purge_idempotency(later).await, 1, "patients live in R, which is SQL here");
    // Gone: the same request runs again, and now meets the patient it created the first time.
    post_key(&app, "/api/v1/patients", "old-key", &body).await.assert_error(409, "PATIENT_ALREADY_EXISTS");
}
