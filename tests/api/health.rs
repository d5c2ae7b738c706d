//! API.md §5: health, metrics, OpenAPI document, Swagger UI and the old Swagger redirects.

use axum::http::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const VERSION: &str = env!("CARGO_PKG_VERSION");

#[track_caller]
fn assert_check(check: &Value, backend: &str) {
    assert_eq!(check["status"], "up", "{check}");
    assert_eq!(check["backend"], backend, "{check}");
    assert!(check["latencyMs"].is_u64(), "latencyMs must be a non-negative integer: {check}");
    assert_eq!(check["circuit"], "closed", "{check}");
}

#[track_caller]
fn assert_healthy(res: &Res) {
    res.assert(200);
    assert!(res.header("content-type").unwrap_or("").starts_with("application/json"));
    assert_eq!(res.body["status"], "healthy", "{}", res.text);
    assert_eq!(res.body["version"], VERSION);
    assert_check(&res.body["checks"]["database"], crate::backend::BACKENDS.0);
    assert_check(&res.body["checks"]["records"], crate::backend::BACKENDS.1);
    // The Go original's keys appear only for the engines they name (API.md §5.1).
    let (r, d) = crate::backend::BACKENDS;
    assert_eq!(res.body.get("mysql").is_some(), r == "mysql", "mysql key: {}", res.text);
    assert_eq!(res.body.get("dynamodb").is_some(), d == "dynamodb", "dynamodb key: {}", res.text);
    if r == "mysql" {
        assert_eq!(res.body["mysql"], "healthy");
    }
    if d == "dynamodb" {
        assert_eq!(res.body["dynamodb"], "healthy");
    }
}

#[track_caller]
fn assert_redirect(res: &Res, to: &str) {
    res.assert(301);
    assert_eq!(res.header("location"), Some(to));
}

// ---- health --------------------------------------------------------------------------------------------

#[tokio::test]
async fn liveness_answers_alive_with_the_crate_version() {
    let app = TestApp::spawn().await;

    let res = app.get("/health/live").await;

    res.assert(200);
    assert_eq!(res.body, json!({"status": "alive", "version": VERSION}));
}

#[tokio::test]
async fn health_reports_both_stores_up() {
    let app = TestApp::spawn().await;

    let res = app.get("/health").await;

    assert_healthy(&res);
}

#[tokio::test]
async fn readiness_is_identical_to_health() {
    let app = TestApp::spawn().await;

    let res = app.get("/health/ready").await;

    assert_healthy(&res);
}

#[tokio::test]
async fn health_checks_do_not_leak_extra_top_level_fields() {
    let app = TestApp::spawn().await;

    let res = app.get("/health").await;

    let mut keys: Vec<&str> = res.body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    // The Go original's per-engine keys are there only for the engines they name.
    let (r, d) = crate::backend::BACKENDS;
    let mut expected = vec!["checks", "status", "version"];
    if d == "dynamodb" {
        expected.insert(1, "dynamodb");
    }
    if r == "mysql" {
        expected.insert(expected.len() - 2, "mysql");
    }
    expected.sort_unstable();
    assert_eq!(keys, expected);
}

#[tokio::test]
async fn head_on_liveness_is_200_without_a_body() {
    let app = TestApp::spawn().await;

    let res = app.request(Method::HEAD, "/health/live", None).await;

    res.assert(200);
    assert!(res.text.is_empty());
}

// ---- metrics -------------------------------------------------------------------------------------------

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let app = TestApp::spawn().await;
    app.get("/api/v1/departments").await.assert(200);

    let res = app.get("/metrics").await;

    res.assert(200);
    assert!(res.header("content-type").unwrap_or("").starts_with("text/plain"), "{:?}", res.header("content-type"));
    for name in ["http_requests_total", "http_request_duration_seconds_bucket", "http_requests_in_flight"] {
        assert!(res.text.contains(name), "{name} missing from /metrics:\n{}", res.text);
    }
}

#[tokio::test]
async fn metrics_report_the_database_connection_pools_of_the_relational_store() {
    let app = TestApp::spawn().await;
    app.get("/api/v1/departments").await.assert(200);

    let res = app.get("/metrics").await;

    let pools: &[&str] =
        if crate::backend::BACKENDS.0 == "sqlite" { &["sqlite_read", "sqlite_write"] } else { &["mysql"] };
    for pool in pools {
        for series in [
            format!(r#"db_pool_connections{{pool="{pool}",state="idle"}}"#),
            format!(r#"db_pool_connections{{pool="{pool}",state="in_use"}}"#),
            format!(r#"db_pool_max_connections{{pool="{pool}"}}"#),
        ] {
            assert!(res.text.lines().any(|l| l.starts_with(&format!("{series} "))), "{series} missing:\n{}", res.text);
        }
    }
    let max = sample(&res.text, &format!(r#"db_pool_max_connections{{pool="{}"}}"#, pools[0]));
    assert!(max >= 1.0, "a pool holds at least one connection: {max}");
}

#[tokio::test]
async fn metrics_label_requests_with_the_route_template_not_the_raw_id() {
    let app = TestApp::spawn().await;
    let patient = app.create_patient("metrics@example.org").await;
    let id = s(&patient, "patientId");
    app.get(&format!("/api/v1/patients/{id}")).await.assert(200);

    let res = app.get("/metrics").await;

    let counted = res.text.lines().any(|l| {
        l.starts_with("http_requests_total{")
            && l.contains(r#"path="/api/v1/patients/{patientId}""#)
            && l.contains(r#"method="GET""#)
            && l.contains(r#"status="200""#)
    });
    assert!(counted, "no http_requests_total for the template:\n{}", res.text);
    assert!(
        res.text.lines().any(|l| l.starts_with("http_request_duration_seconds_bucket{")
            && l.contains(r#"path="/api/v1/patients/{patientId}""#)),
        "no duration histogram for the template:\n{}",
        res.text
    );
    assert!(!res.text.contains(id), "raw id leaked into metrics labels");
}

#[tokio::test]
async fn metrics_label_unknown_routes_as_unmatched() {
    let app = TestApp::spawn().await;
    app.get("/api/v1/no-such-route-for-metrics").await.assert(404);

    let res = app.get("/metrics").await;

    assert!(
        res.text.lines().any(|l| l.starts_with("http_requests_total{") && l.contains(r#"path="unmatched""#)),
        "no unmatched series:\n{}",
        res.text
    );
    assert!(!res.text.contains("no-such-route-for-metrics"));
}

#[tokio::test]
async fn metrics_expose_the_timeout_breaker_and_cpu_series_of_the_contract() {
    let app = TestApp::spawn().await;

    let res = app.get("/metrics").await;

    for name in [
        "timeout_rejections_total",
        "mysql_circuit_breaker_state",
        "dynamodb_circuit_breaker_state",
        "cpu_circuit_breaker_state",
        "cpu_circuit_breaker_rejections_total",
    ] {
        assert!(res.text.contains(name), "{name} missing from /metrics:\n{}", res.text);
    }
}

// ---- OpenAPI and Swagger -------------------------------------------------------------------------------

#[tokio::test]
async fn the_openapi_document_is_version_3_1() {
    let app = TestApp::spawn().await;

    let res = app.get("/openapi.json").await;

    res.assert(200);
    assert!(res.header("content-type").unwrap_or("").starts_with("application/json"));
    assert!(s(&res.body, "openapi").starts_with("3.1"), "{}", res.body["openapi"]);
}

#[tokio::test]
async fn the_openapi_document_lists_every_core_api_route_and_method() {
    let app = TestApp::spawn().await;
    let routes: [(&str, &[&str]); 17] = [
        ("/api/v1/patients", &["get", "post"]),
        ("/api/v1/patients/{patientId}", &["get", "put", "delete"]),
        ("/api/v1/patients/{patientId}/medical-records", &["get"]),
        ("/api/v1/patients/{patientId}/invoices", &["get"]),
        ("/api/v1/doctors", &["get", "post"]),
        ("/api/v1/doctors/{doctorId}", &["get", "put"]),
        ("/api/v1/doctors/{doctorId}/availability", &["get"]),
        ("/api/v1/appointments", &["get", "post"]),
        ("/api/v1/appointments/{appointmentId}", &["get", "put", "delete"]),
        ("/api/v1/departments", &["get", "post"]),
        ("/api/v1/departments/{departmentId}", &["get", "put"]),
        ("/api/v1/departments/{departmentId}/doctors", &["get"]),
        ("/api/v1/medical-records", &["post"]),
        ("/api/v1/medical-records/{recordId}", &["get", "put"]),
        ("/api/v1/billing/invoices", &["post"]),
        ("/api/v1/billing/invoices/{invoiceId}", &["get"]),
        ("/api/v1/billing/invoices/{invoiceId}/payment", &["put"]),
    ];

    let res = app.get("/openapi.json").await;

    let paths = &res.body["paths"];
    for (path, methods) in routes {
        let entry = &paths[path];
        assert!(entry.is_object(), "openapi.json lacks {path}");
        for m in methods {
            assert!(entry[*m].is_object(), "openapi.json lacks {} {path}", m.to_uppercase());
        }
    }
}

#[tokio::test]
async fn swagger_ui_is_served_as_html() {
    let app = TestApp::spawn().await;

    let res = app.get("/swagger-ui/").await;

    res.assert(200);
    assert!(res.header("content-type").unwrap_or("").starts_with("text/html"), "{:?}", res.header("content-type"));
}

#[tokio::test]
async fn swagger_ui_without_a_slash_redirects_permanently() {
    let app = TestApp::spawn().await;

    let res = app.get("/swagger-ui").await;

    assert_redirect(&res, "/swagger-ui/");
}

#[tokio::test]
async fn the_old_swagger_doc_redirects_to_the_openapi_document() {
    let app = TestApp::spawn().await;

    let res = app.get("/swagger/doc.json").await;

    assert_redirect(&res, "/openapi.json");
}

#[tokio::test]
async fn the_old_swagger_pages_redirect_to_swagger_ui() {
    let app = TestApp::spawn().await;

    for path in ["/swagger/index.html", "/swagger/swagger-ui.css", "/swagger/anything/else"] {
        let res = app.get(path).await;

        assert_redirect(&res, "/swagger-ui/");
    }
}

// ---- request IDs on root routes ------------------------------------------------------------------------

#[tokio::test]
async fn root_routes_send_a_fresh_request_id() {
    let app = TestApp::spawn().await;

    for path in ["/health", "/health/live", "/health/ready", "/metrics", "/openapi.json", "/swagger-ui/", "/swagger-ui"]
    {
        let res = app.get(path).await;

        let rid = res.header("x-request-id").unwrap_or_else(|| panic!("{path}: no X-Request-Id"));
        assert!(check_ulid(rid), "{path}: {rid}");
    }
}

#[tokio::test]
async fn root_routes_echo_a_valid_request_id() {
    let app = TestApp::spawn().await;

    for path in ["/health/live", "/metrics", "/swagger/doc.json"] {
        let res = app.send_with_headers(Method::GET, path, &[("x-request-id", "probe-7")], None).await;

        assert_eq!(res.header("x-request-id"), Some("probe-7"), "{path}");
    }
}
