//! Concurrency (API.md §3.1 #4, §4.5): competing writers get exactly one success and clean conflicts.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures::future::join_all;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::helpers::{TestApp, patient_body, s};

/// POSTs `body` to `path` on its own task; returns status and parsed body.
fn spawn_post(router: &Router, path: &'static str, body: Value) -> tokio::task::JoinHandle<(StatusCode, Value)> {
    let router = router.clone();
    tokio::spawn(async move {
        let req = Request::post(path)
            .header("content-type", "application/json")
            .body(Body::from(serde_json::to_vec(&body).unwrap()))
            .unwrap();
        let res = router.oneshot(req).await.expect("infallible");
        let status = res.status();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    })
}

async fn run_all(handles: Vec<tokio::task::JoinHandle<(StatusCode, Value)>>) -> Vec<(StatusCode, Value)> {
    join_all(handles).await.into_iter().map(|r| r.expect("task did not panic")).collect()
}

#[track_caller]
fn assert_one_winner(results: &[(StatusCode, Value)], loser_code: &str) {
    for (status, body) in results {
        assert!(!status.is_server_error(), "never a 5xx: {status} {body}");
    }
    let created = results.iter().filter(|(st, _)| *st == StatusCode::CREATED).count();
    assert_eq!(created, 1, "exactly one 201: {results:?}");
    for (status, body) in results.iter().filter(|(st, _)| *st != StatusCode::CREATED) {
        assert_eq!(*status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["error"]["code"], json!(loser_code), "{body}");
    }
}

fn booking(p: &str, d: &str, start: &str, end: &str) -> Value {
    json!({"patientId": p, "doctorId": d, "appointmentDate": "2026-12-01", "startTime": start, "endTime": end,
           "reason": "Check-up"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_overlapping_bookings_for_one_doctor_give_exactly_one_201() {
    let app = TestApp::spawn().await;
    let d = s(&app.create_doctor("LIC-CC-1", "DEPT-001").await, "doctorId").to_owned();
    let mut patients = Vec::new();
    for i in 0..20 {
        patients.push(s(&app.create_patient(&format!("cc{i}@example.org")).await, "patientId").to_owned());
    }
    // every interval contains 10:19-10:25, so all of them overlap pairwise
    let handles: Vec<_> = patients
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let start = format!("10:{:02}", i % 20);
            let end = format!("10:{:02}", 25 + i % 20);
            spawn_post(&app.router, "/api/v1/appointments", booking(p, &d, &start, &end))
        })
        .collect();
    let results = run_all(handles).await;
    assert_one_winner(&results, "TIME_SLOT_NOT_AVAILABLE");
    for (status, body) in &results {
        if *status == StatusCode::CONFLICT {
            let details = body["error"]["details"].as_array().cloned().unwrap_or_default();
            assert_eq!(details.len(), 1, "{body}");
            assert!(details[0].as_str().unwrap_or("").starts_with("doctorId: "), "{body}");
        }
    }
    let list = app.get(&format!("/api/v1/appointments?doctorId={d}")).await;
    list.assert(200);
    assert_eq!(list.body["pagination"]["totalItems"], json!(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_parallel_identical_registrations_give_exactly_one_201() {
    let app = TestApp::spawn().await;
    let body = patient_body("twin@example.org");
    let handles: Vec<_> = (0..10).map(|_| spawn_post(&app.router, "/api/v1/patients", body.clone())).collect();
    let results = run_all(handles).await;
    assert_one_winner(&results, "PATIENT_ALREADY_EXISTS");
    let list = app.get("/api/v1/patients?email=twin@example.org").await;
    list.assert(200);
    assert_eq!(list.body["pagination"]["totalItems"], json!(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_patient_booking_two_doctors_at_once_gets_one_201_and_one_conflict() {
    let app = TestApp::spawn().await;
    let p = s(&app.create_patient("busy@example.org").await, "patientId").to_owned();
    let d1 = s(&app.create_doctor("LIC-CC-A", "DEPT-001").await, "doctorId").to_owned();
    let d2 = s(&app.create_doctor("LIC-CC-B", "DEPT-002").await, "doctorId").to_owned();
    for round in 0..5 {
        let hour = 9 + round;
        let start = format!("{hour:02}:00");
        let end = format!("{hour:02}:30");
        let results = run_all(vec![
            spawn_post(&app.router, "/api/v1/appointments", booking(&p, &d1, &start, &end)),
            spawn_post(&app.router, "/api/v1/appointments", booking(&p, &d2, &start, &end)),
        ])
        .await;
        assert_one_winner(&results, "TIME_SLOT_NOT_AVAILABLE");
        let loser = results.iter().find(|(st, _)| *st == StatusCode::CONFLICT).unwrap();
        assert_eq!(loser.1["error"]["details"].as_array().map(Vec::len), Some(1), "{}", loser.1);
        assert!(loser.1["error"]["details"][0].as_str().unwrap_or("").starts_with("patientId: "), "{}", loser.1);
    }
    let list = app.get(&format!("/api/v1/appointments?patientId={p}")).await;
    assert_eq!(list.body["pagination"]["totalItems"], json!(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_non_overlapping_bookings_all_succeed() {
    let app = TestApp::spawn().await;
    let d = s(&app.create_doctor("LIC-CC-OK", "DEPT-001").await, "doctorId").to_owned();
    let mut handles = Vec::new();
    for i in 0..8 {
        let p = s(&app.create_patient(&format!("ok{i}@example.org")).await, "patientId").to_owned();
        let start = format!("{:02}:00", 9 + i);
        let end = format!("{:02}:30", 9 + i);
        handles.push(spawn_post(&app.router, "/api/v1/appointments", booking(&p, &d, &start, &end)));
    }
    let results = run_all(handles).await;
    for (status, body) in &results {
        assert_eq!(*status, StatusCode::CREATED, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_reschedules_into_the_same_free_slot_give_one_success() {
    let app = TestApp::spawn().await;
    let d = s(&app.create_doctor("LIC-CC-RS", "DEPT-001").await, "doctorId").to_owned();
    let mut ids = Vec::new();
    for i in 0..6 {
        let p = s(&app.create_patient(&format!("rs{i}@example.org")).await, "patientId").to_owned();
        let res = app.book(&p, &d, "2026-12-01", &format!("{:02}:00", 9 + i), &format!("{:02}:30", 9 + i)).await;
        res.assert(201);
        ids.push(s(&res.body, "appointmentId").to_owned());
    }
    let handles: Vec<_> = ids
        .iter()
        .map(|id| {
            let router = app.router.clone();
            let path = format!("/api/v1/appointments/{id}");
            tokio::spawn(async move {
                let req = Request::put(path)
                    .header("content-type", "application/json")
                    .body(Body::from(r#"{"startTime":"16:00","endTime":"16:30"}"#))
                    .unwrap();
                let res = router.oneshot(req).await.expect("infallible");
                let status = res.status();
                let bytes = res.into_body().collect().await.expect("body").to_bytes();
                (status, serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null))
            })
        })
        .collect();
    let results = run_all(handles).await;
    for (status, body) in &results {
        assert!(!status.is_server_error(), "{status} {body}");
    }
    assert_eq!(results.iter().filter(|(st, _)| *st == StatusCode::OK).count(), 1, "{results:?}");
    for (status, body) in results.iter().filter(|(st, _)| *st != StatusCode::OK) {
        assert_eq!(*status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["error"]["code"], json!("TIME_SLOT_NOT_AVAILABLE"), "{body}");
    }
}

async fn spawn_send(
    router: &Router,
    method: &'static str,
    path: String,
    body: Option<&'static str>,
) -> (StatusCode, Value) {
    let router = router.clone();
    tokio::spawn(async move {
        let mut b = Request::builder().method(method).uri(path);
        let body = match body {
            Some(text) => {
                b = b.header("content-type", "application/json");
                Body::from(text)
            }
            None => Body::empty(),
        };
        let res = router.oneshot(b.body(body).unwrap()).await.expect("infallible");
        let status = res.status();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    })
    .await
    .expect("task did not panic")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_cancellations_of_one_appointment_give_one_200() {
    let app = TestApp::spawn().await;
    let p = s(&app.create_patient("cancel@example.org").await, "patientId").to_owned();
    let d = s(&app.create_doctor("LIC-CC-DEL", "DEPT-001").await, "doctorId").to_owned();
    let res = app.book(&p, &d, "2026-12-01", "10:00", "10:30").await;
    let id = s(&res.body, "appointmentId").to_owned();
    let results =
        join_all((0..8).map(|_| spawn_send(&app.router, "DELETE", format!("/api/v1/appointments/{id}"), None))).await;
    assert_eq!(results.iter().filter(|(st, _)| *st == StatusCode::OK).count(), 1, "{results:?}");
    for (status, body) in results.iter().filter(|(st, _)| *st != StatusCode::OK) {
        assert_eq!(*status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["error"]["code"], json!("INVALID_APPOINTMENT_DATA"), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn paying_and_cancelling_an_invoice_at_once_lets_exactly_one_win() {
    let app = TestApp::spawn().await;
    let p = s(&app.create_patient("race@example.org").await, "patientId").to_owned();
    for round in 0..5 {
        let res = app
            .post(
                "/api/v1/billing/invoices",
                &json!({"patientId": p, "invoiceDate": "2026-11-25", "dueDate": "2026-12-25",
                   "items": [{"description": format!("Visit {round}"), "quantity": 1, "unitPrice": 50}]}),
            )
            .await;
        res.assert(201);
        let id = s(&res.body, "invoiceId").to_owned();
        let path = format!("/api/v1/billing/invoices/{id}/payment");
        let results = join_all([
            spawn_send(&app.router, "PUT", path.clone(), Some(r#"{"paymentStatus":"paid"}"#)),
            spawn_send(&app.router, "PUT", path.clone(), Some(r#"{"paymentStatus":"cancelled"}"#)),
        ])
        .await;
        let ok = results.iter().filter(|(st, _)| *st == StatusCode::OK).count();
        assert_eq!(ok, 1, "round {round}: {results:?}");
        let loser = results.iter().find(|(st, _)| *st != StatusCode::OK).unwrap();
        assert_eq!(loser.0, StatusCode::CONFLICT, "{}", loser.1);
        assert_eq!(loser.1["error"]["code"], json!("INVALID_PAYMENT_TRANSITION"));
        let winner = results.iter().find(|(st, _)| *st == StatusCode::OK).unwrap();
        let stored = app.get(&format!("/api/v1/billing/invoices/{id}")).await;
        assert_eq!(stored.body["paymentStatus"], winner.1["paymentStatus"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_bookings_of_one_slot_give_one_201_in_each_of_twenty_rounds() {
    // Issue 3's proof: the race must not be merely unlikely, so it is run many times over.
    let app = TestApp::spawn().await;
    let d = s(&app.create_doctor("LIC-CC-50", "DEPT-001").await, "doctorId").to_owned();
    let mut patients = Vec::new();
    for i in 0..50 {
        patients.push(s(&app.create_patient(&format!("round{i}@example.org")).await, "patientId").to_owned());
    }
    for round in 0..20 {
        // Each round books its own hour, so a winner of an earlier round never blocks a later one.
        let (start, end) = (format!("{:02}:00", round), format!("{:02}:30", round));
        let handles: Vec<_> = patients
            .iter()
            .map(|p| spawn_post(&app.router, "/api/v1/appointments", booking(p, &d, &start, &end)))
            .collect();
        let results = run_all(handles).await;
        assert_one_winner(&results, "TIME_SLOT_NOT_AVAILABLE");
    }
    let list = app.get(&format!("/api/v1/appointments?doctorId={d}&limit=100")).await;
    assert_eq!(list.body["pagination"]["totalItems"], json!(20));
}
