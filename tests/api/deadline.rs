//! Request deadline (API.md §1.4, §1.9): 504 REQUEST_TIMEOUT with the configured budget in the details.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{Res, TestApp, patient_body};

#[track_caller]
fn assert_timeout_envelope(res: &Res) {
    assert_eq!(res.status.as_u16(), 504, "{}", res.text);
    assert_eq!(res.code(), "REQUEST_TIMEOUT", "{}", res.text);
    assert_eq!(res.body["error"]["message"], json!("Request took too long to process"));
    assert_eq!(res.details(), vec!["Timeout: 1ms".to_owned()], "{}", res.text);
    let request_id = res.body["error"]["requestId"].as_str().unwrap_or("");
    assert!(!request_id.is_empty(), "requestId missing: {}", res.text);
    assert_eq!(res.header("x-request-id"), Some(request_id));
    assert!(res.header("content-type").unwrap_or("").starts_with("application/json"), "{:?}", res.headers);
    assert_eq!(res.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn a_one_millisecond_deadline_eventually_answers_504_with_the_exact_envelope() {
    let app = TestApp::spawn_with(|c| c.request_timeout_ms = 1).await;
    let started = Instant::now();
    let mut timeouts = 0;
    let mut i = 0;
    // Writes (fsync) and ever-growing list reads; any of them may exceed 1 ms.
    while started.elapsed() < Duration::from_secs(4) && timeouts < 3 {
        i += 1;
        let res = app.post("/api/v1/patients", &patient_body(&format!("deadline{i}@example.org"))).await;
        match res.status.as_u16() {
            504 => {
                timeouts += 1;
                assert_timeout_envelope(&res);
            }
            201 => {}
            other => panic!("unexpected status {other}: {}", res.text),
        }
        let res = app.get("/api/v1/patients?limit=100&name=okafor").await;
        match res.status.as_u16() {
            504 => {
                timeouts += 1;
                assert_timeout_envelope(&res);
            }
            200 => {}
            other => panic!("unexpected status {other}: {}", res.text),
        }
    }
    assert!(timeouts > 0, "no 504 in {i} rounds with a 1 ms deadline");
}

#[tokio::test]
async fn root_routes_never_time_out() {
    let app = TestApp::spawn_with(|c| c.request_timeout_ms = 1).await;
    for _ in 0..20 {
        let res = app.get("/health/live").await;
        res.assert(200);
        assert_eq!(res.body["status"], json!("alive"));
    }
}

#[tokio::test]
async fn the_default_deadline_lets_ordinary_requests_through() {
    let app = TestApp::spawn().await;
    for i in 0..10 {
        app.post("/api/v1/patients", &patient_body(&format!("ordinary{i}@example.org"))).await.assert(201);
    }
    let res = app.get("/api/v1/patients?limit=100").await;
    res.assert(200);
    assert_eq!(res.body["pagination"]["totalItems"], json!(10));
}
