//! Request deadline (API.md §1.4, §1.9): 504 REQUEST_TIMEOUT with the configured budget in the details.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Method, Request};
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

/// An app whose `/api` requests get 1 ms. Store calls keep a timeout of their own well above it: it defaults to
/// the request's, and the audit writer's batches (which run outside any request) would then time out at 1 ms,
/// count against R's breaker and turn requests into 503s, which is the store-timeout path, not the deadline's.
async fn one_millisecond_app() -> TestApp {
    TestApp::spawn_with(|c| {
        c.request_timeout_ms = 1;
        c.store_call_timeout_ms = Some(5_000);
    })
    .await
}

/// A POST whose body arrives well after the deadline: the handler is still reading it when the deadline
/// expires, so the 504 is certain on every backend. (Timing store work against 1 ms was not: on a warm MariaDB
/// connection, reused without a ping, a clean-clone CI run saw every write and list finish inside it for 4 s.)
#[tokio::test]
async fn a_one_millisecond_deadline_answers_504_with_the_exact_envelope() {
    let app = one_millisecond_app().await;
    let body = serde_json::to_vec(&patient_body("late-body@example.org")).expect("json");
    let late = futures::stream::once(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok::<_, std::convert::Infallible>(Bytes::from(body))
    });
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/patients")
        .header("content-type", "application/json")
        .body(Body::from_stream(late))
        .expect("request");

    let res = app.send(req).await;

    assert_timeout_envelope(&res);
    let listed = app.get("/api/v1/patients?email=late-body@example.org").await;
    // The listing itself may hit the 1 ms deadline; when it answers, the cut POST wrote nothing.
    if listed.status == 200 {
        assert_eq!(listed.body["pagination"]["totalItems"], json!(0), "{}", listed.text);
    } else {
        assert_timeout_envelope(&listed);
    }
}

/// Real store work (writes and ever-growing list reads) under a 1 ms deadline: each answer is either the
/// success or the exact 504 envelope, never another status or a half-built body.
#[tokio::test]
async fn store_work_under_a_one_millisecond_deadline_completes_or_answers_the_exact_504() {
    let app = one_millisecond_app().await;
    for i in 0..200 {
        let res = app.post("/api/v1/patients", &patient_body(&format!("deadline{i}@example.org"))).await;
        assert_success_or_timeout(&res, 201);
        assert_success_or_timeout(&app.get("/api/v1/patients?limit=100&name=okafor").await, 200);
    }
}

#[track_caller]
fn assert_success_or_timeout(res: &Res, success: u16) {
    match res.status.as_u16() {
        504 => assert_timeout_envelope(res),
        status if status == success => {}
        other => panic!("unexpected status {other}: {}", res.text),
    }
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
