//! API.md §1 conventions: error envelope, request IDs, caching, routing, media type, body limit,
//! malformed bodies, unknown fields, Location and page-style pagination.

use axum::body::{Body, Bytes};
use axum::http::{Method, Request};
use serde_json::{Value, json};

use crate::helpers::*;

const UNKNOWN_PATIENT: &str = "/api/v1/patients/PAT-01M88ZQHVRM9S346Q3D25VT4F5";
const ONE_MIB: usize = 1_048_576;

fn allow_methods(res: &Res) -> Vec<String> {
    res.header("allow")
        .unwrap_or_else(|| panic!("no Allow header; headers: {:?}", res.headers))
        .split(',')
        .map(|m| m.trim().to_ascii_uppercase())
        .collect()
}

async fn get_with_request_id(app: &TestApp, path: &str, id: &str) -> Res {
    app.send_with_headers(Method::GET, path, &[("x-request-id", id)], None).await
}

/// A valid patient body padded with an ignored field so that it serialises to exactly `len` bytes.
fn patient_body_of_len(email: &str, len: usize) -> Vec<u8> {
    let mut body = patient_body(email);
    body["padding"] = json!("");
    let base = serde_json::to_vec(&body).unwrap().len();
    assert!(len >= base);
    body["padding"] = json!("x".repeat(len - base));
    let bytes = serde_json::to_vec(&body).unwrap();
    assert_eq!(bytes.len(), len);
    bytes
}

// ---- error envelope ------------------------------------------------------------------------------------

#[tokio::test]
async fn an_error_body_is_an_envelope_with_code_message_and_the_request_id_of_the_header() {
    let app = TestApp::spawn().await;

    let res = app.get(UNKNOWN_PATIENT).await;

    res.assert_error(404, "PATIENT_NOT_FOUND");
    assert_eq!(res.body.as_object().unwrap().len(), 1, "only `error` at the top: {}", res.text);
    let err = &res.body["error"];
    assert_eq!(err["message"], "Patient not found");
    let rid = res.header("x-request-id").expect("X-Request-Id header");
    assert_eq!(err["requestId"], rid);
    assert!(err.get("details").is_none(), "details omitted when empty: {}", res.text);
    assert!(res.header("content-type").unwrap_or("").starts_with("application/json"));
}

#[tokio::test]
async fn a_validation_error_has_the_fixed_message_and_path_prefixed_details() {
    let app = TestApp::spawn().await;

    let res = app.post("/api/v1/patients", &json!({})).await;

    res.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(res.body["error"]["message"], "Invalid input data");
    let details = res.details();
    assert!(!details.is_empty());
    for prefix in ["firstName: ", "lastName: ", "dateOfBirth: ", "email: ", "phone: "] {
        expect_detail_prefix(&res, prefix);
    }
    assert_eq!(res.body["error"]["requestId"], res.header("x-request-id").unwrap());
}

// ---- request IDs ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_valid_request_id_is_echoed_on_a_success() {
    let app = TestApp::spawn().await;

    let res = get_with_request_id(&app, "/api/v1/departments", "trace-01.abc_DEF:9").await;

    res.assert(200);
    assert_eq!(res.header("x-request-id"), Some("trace-01.abc_DEF:9"));
}

#[tokio::test]
async fn a_valid_request_id_is_echoed_in_the_header_and_the_error_body() {
    let app = TestApp::spawn().await;

    let res = get_with_request_id(&app, UNKNOWN_PATIENT, "client-req:42").await;

    res.assert_error(404, "PATIENT_NOT_FOUND");
    assert_eq!(res.header("x-request-id"), Some("client-req:42"));
    assert_eq!(res.body["error"]["requestId"], "client-req:42");
}

#[tokio::test]
async fn a_request_id_of_one_character_is_echoed() {
    let app = TestApp::spawn().await;

    let res = get_with_request_id(&app, "/api/v1/departments", "x").await;

    assert_eq!(res.header("x-request-id"), Some("x"));
}

#[tokio::test]
async fn a_request_id_of_128_characters_is_echoed() {
    let app = TestApp::spawn().await;
    let id = "aB3.-_:".repeat(19)[..128].to_owned();

    let res = get_with_request_id(&app, "/api/v1/departments", &id).await;

    assert_eq!(res.header("x-request-id"), Some(id.as_str()));
}

#[tokio::test]
async fn a_request_id_of_129_characters_is_replaced_by_a_fresh_ulid() {
    let app = TestApp::spawn().await;
    let id = "a".repeat(129);

    let res = get_with_request_id(&app, UNKNOWN_PATIENT, &id).await;

    let rid = res.header("x-request-id").expect("X-Request-Id");
    assert!(check_ulid(rid), "not a ULID: {rid}");
    assert_eq!(res.body["error"]["requestId"], rid);
}

#[tokio::test]
async fn a_request_id_with_forbidden_characters_is_replaced_by_a_fresh_ulid() {
    let app = TestApp::spawn().await;

    for bad in ["has space", "slash/inside", "at@sign", "semi;colon", "plus+sign", "quote\"d"] {
        let res = get_with_request_id(&app, "/api/v1/departments", bad).await;

        let rid = res.header("x-request-id").expect("X-Request-Id");
        assert!(check_ulid(rid), "{bad:?} gave {rid:?}, expected a fresh ULID");
    }
}

#[tokio::test]
async fn a_request_id_with_non_ascii_bytes_is_replaced_by_a_fresh_ulid() {
    let app = TestApp::spawn().await;
    let req = Request::builder()
        .uri("/api/v1/departments")
        .header("x-request-id", axum::http::HeaderValue::from_bytes(b"caf\xe9-1").unwrap())
        .body(Body::empty())
        .unwrap();

    let res = app.send(req).await;

    let rid = res.header("x-request-id").expect("X-Request-Id");
    assert!(check_ulid(rid), "not a ULID: {rid:?}");
}

#[tokio::test]
async fn an_empty_request_id_is_replaced_by_a_fresh_ulid() {
    let app = TestApp::spawn().await;

    let res = get_with_request_id(&app, "/api/v1/departments", "").await;

    let rid = res.header("x-request-id").expect("X-Request-Id");
    assert!(check_ulid(rid), "not a ULID: {rid:?}");
}

#[tokio::test]
async fn without_a_request_id_each_response_gets_its_own_ulid() {
    let app = TestApp::spawn().await;

    let a = app.get("/api/v1/departments").await;
    let b = app.get("/api/v1/departments").await;

    let (ra, rb) = (a.header("x-request-id").unwrap(), b.header("x-request-id").unwrap());
    assert!(check_ulid(ra) && check_ulid(rb), "{ra} / {rb}");
    assert_ne!(ra, rb);
}

#[tokio::test]
async fn an_unknown_route_response_carries_a_request_id() {
    let app = TestApp::spawn().await;

    let res = app.get("/api/v1/unicorns").await;

    let rid = res.header("x-request-id").expect("X-Request-Id");
    assert_eq!(res.body["error"]["requestId"], rid);
}

// ---- caching and content type --------------------------------------------------------------------------

#[tokio::test]
async fn api_success_responses_carry_cache_control_no_store_and_json() {
    let app = TestApp::spawn().await;

    let list = app.get("/api/v1/departments").await;
    let created = app.post("/api/v1/patients", &patient_body("cache@example.org")).await;

    for res in [&list, &created] {
        assert_eq!(res.header("cache-control"), Some("no-store"), "{}", res.status);
        assert!(res.header("content-type").unwrap_or("").starts_with("application/json"));
    }
}

#[tokio::test]
async fn api_error_responses_carry_cache_control_no_store_and_json() {
    let app = TestApp::spawn().await;

    let responses = [
        app.get(UNKNOWN_PATIENT).await,
        app.post("/api/v1/patients", &json!({})).await,
        app.get("/api/v1/unicorns").await,
        app.request(Method::PATCH, UNKNOWN_PATIENT, None).await,
        app.raw(Method::POST, "/api/v1/patients", Some("text/plain"), "{}").await,
        app.raw(
            Method::POST,
            "/api/v1/patients",
            Some("application/json"),
            patient_body_of_len("c@example.org", ONE_MIB + 1),
        )
        .await,
    ];

    for res in &responses {
        assert_eq!(res.header("cache-control"), Some("no-store"), "status {}", res.status);
        assert!(res.header("content-type").unwrap_or("").starts_with("application/json"), "status {}", res.status);
        assert!(res.body["error"]["code"].is_string(), "status {}: {}", res.status, res.text);
        assert_eq!(res.body["error"]["requestId"], res.header("x-request-id").unwrap_or("-"), "status {}", res.status);
    }
}

#[tokio::test]
async fn the_x_user_type_header_is_accepted_and_ignored() {
    let app = TestApp::spawn().await;

    let res = app.send_with_headers(Method::GET, "/api/v1/departments", &[("x-user-type", "admin")], None).await;

    res.assert(200);
    assert_eq!(res.body["data"].as_array().unwrap().len(), 6);
}

// ---- routing -------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_unknown_api_path_is_404_not_found_as_json() {
    let app = TestApp::spawn().await;

    let res = app.get("/api/v1/unicorns").await;

    res.assert_error(404, "NOT_FOUND");
    assert_eq!(res.body["error"]["message"], "Resource not found");
}

#[tokio::test]
async fn an_unknown_sub_path_of_a_resource_is_404_not_found() {
    let app = TestApp::spawn().await;

    let res = app.get(&format!("{UNKNOWN_PATIENT}/appointments")).await;

    res.assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn a_post_to_an_unknown_api_path_is_404_not_found() {
    let app = TestApp::spawn().await;

    let res = app.post("/api/v1/unicorns", &json!({})).await;

    res.assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn an_unknown_root_path_is_404_not_found_as_json() {
    let app = TestApp::spawn().await;

    let res = app.get("/nowhere/at/all").await;

    res.assert_error(404, "NOT_FOUND");
    assert!(res.header("content-type").unwrap_or("").starts_with("application/json"));
    assert!(res.header("x-request-id").is_some());
}

#[tokio::test]
async fn patch_on_a_patient_is_405_with_an_allow_header() {
    let app = TestApp::spawn().await;

    let res = app.request(Method::PATCH, UNKNOWN_PATIENT, None).await;

    res.assert_error(405, "METHOD_NOT_ALLOWED");
    assert_eq!(res.body["error"]["message"], "Method not allowed");
    let allow = allow_methods(&res);
    for m in ["GET", "PUT", "DELETE"] {
        assert!(allow.contains(&m.to_owned()), "Allow {allow:?} lacks {m}");
    }
    assert!(!allow.contains(&"PATCH".to_owned()) && !allow.contains(&"POST".to_owned()), "{allow:?}");
}

#[tokio::test]
async fn delete_on_the_doctor_collection_is_405_with_allow_get_and_post() {
    let app = TestApp::spawn().await;

    let res = app.delete("/api/v1/doctors").await;

    res.assert_error(405, "METHOD_NOT_ALLOWED");
    let allow = allow_methods(&res);
    assert!(allow.contains(&"GET".to_owned()) && allow.contains(&"POST".to_owned()), "{allow:?}");
    assert!(!allow.contains(&"DELETE".to_owned()), "{allow:?}");
}

#[tokio::test]
async fn options_on_a_known_path_is_405() {
    let app = TestApp::spawn().await;

    let res = app.request(Method::OPTIONS, "/api/v1/patients", None).await;

    res.assert_error(405, "METHOD_NOT_ALLOWED");
    let allow = allow_methods(&res);
    assert!(allow.contains(&"GET".to_owned()) && allow.contains(&"POST".to_owned()), "{allow:?}");
}

#[tokio::test]
async fn put_on_the_patient_collection_is_405() {
    let app = TestApp::spawn().await;

    let res = app.put("/api/v1/patients", &json!({})).await;

    res.assert_error(405, "METHOD_NOT_ALLOWED");
    assert!(allow_methods(&res).contains(&"POST".to_owned()));
}

#[tokio::test]
async fn a_wrong_method_is_405_before_the_content_type_is_checked() {
    let app = TestApp::spawn().await;

    let res = app.raw(Method::PATCH, UNKNOWN_PATIENT, Some("text/plain"), "hello").await;

    res.assert_error(405, "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn one_trailing_slash_on_a_collection_path_is_ignored() {
    let app = TestApp::spawn().await;

    let res = app.get("/api/v1/departments/").await;

    res.assert(200);
    assert_eq!(res.body["data"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn one_trailing_slash_on_a_resource_path_is_ignored() {
    let app = TestApp::spawn().await;
    let patient = app.create_patient("slash@example.org").await;
    let id = s(&patient, "patientId");

    let res = app.get(&format!("/api/v1/patients/{id}/")).await;

    res.assert(200);
    assert_eq!(res.body["patientId"], id);
}

#[tokio::test]
async fn one_trailing_slash_on_a_post_path_is_ignored() {
    let app = TestApp::spawn().await;

    let res = app.post("/api/v1/patients/", &patient_body("slashpost@example.org")).await;

    res.assert(201);
}

#[tokio::test]
async fn head_on_a_get_route_gives_the_same_status_and_headers_without_a_body() {
    let app = TestApp::spawn().await;
    let get = app.get("/api/v1/departments").await;

    let head = app.request(Method::HEAD, "/api/v1/departments", None).await;

    head.assert(200);
    assert!(head.text.is_empty(), "HEAD body: {}", head.text);
    assert_eq!(head.header("content-type"), get.header("content-type"));
    assert_eq!(head.header("cache-control"), Some("no-store"));
    assert!(head.header("x-request-id").is_some());
}

#[tokio::test]
async fn head_on_a_missing_resource_is_404_without_a_body() {
    let app = TestApp::spawn().await;

    let head = app.request(Method::HEAD, UNKNOWN_PATIENT, None).await;

    head.assert(404);
    assert!(head.text.is_empty(), "HEAD body: {}", head.text);
    assert!(head.header("content-type").unwrap_or("").starts_with("application/json"));
}

// ---- media type ----------------------------------------------------------------------------------------

#[tokio::test]
async fn a_post_without_content_type_is_415() {
    let app = TestApp::spawn().await;
    let body = serde_json::to_vec(&patient_body("noct@example.org")).unwrap();

    let res = app.raw(Method::POST, "/api/v1/patients", None, body).await;

    res.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    assert_eq!(res.body["error"]["message"], "Content-Type must be application/json");
}

#[tokio::test]
async fn a_post_with_text_plain_is_415() {
    let app = TestApp::spawn().await;
    let body = serde_json::to_vec(&patient_body("plain@example.org")).unwrap();

    let res = app.raw(Method::POST, "/api/v1/patients", Some("text/plain"), body).await;

    res.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
}

#[tokio::test]
async fn a_put_with_text_plain_is_415_before_the_patient_is_looked_up() {
    let app = TestApp::spawn().await;

    let res = app.raw(Method::PUT, UNKNOWN_PATIENT, Some("text/plain"), "{}").await;

    res.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
}

#[tokio::test]
async fn json_like_media_types_other_than_application_json_are_415() {
    let app = TestApp::spawn().await;
    let body = serde_json::to_vec(&patient_body("jsonish@example.org")).unwrap();

    for ct in
        ["application/json-patch+json", "application/vnd.api+json", "text/json", "application/x-www-form-urlencoded"]
    {
        let res = app.raw(Method::POST, "/api/v1/patients", Some(ct), body.clone()).await;

        res.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    }
}

#[tokio::test]
async fn a_put_without_content_type_is_415() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("putnoct@example.org").await;

    let res = app.raw(Method::PUT, &format!("/api/v1/patients/{}", s(&p, "patientId")), None, "{}").await;

    res.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
}

#[tokio::test]
async fn content_type_and_accept_are_not_checked_on_a_get() {
    let app = TestApp::spawn().await;

    let res = app
        .send_with_headers(
            Method::GET,
            "/api/v1/departments",
            &[("content-type", "text/plain"), ("accept", "text/html")],
            None,
        )
        .await;

    res.assert(200);
    assert!(res.header("content-type").unwrap_or("").starts_with("application/json"));
}

#[tokio::test]
async fn content_type_json_with_a_charset_parameter_is_accepted() {
    let app = TestApp::spawn().await;
    let body = serde_json::to_vec(&patient_body("charset@example.org")).unwrap();

    let res = app.raw(Method::POST, "/api/v1/patients", Some("application/json; charset=utf-8"), body).await;

    res.assert(201);
}

// ---- body limit ----------------------------------------------------------------------------------------

#[tokio::test]
async fn a_body_over_one_mib_is_413() {
    let app = TestApp::spawn().await;
    let body = patient_body_of_len("big@example.org", ONE_MIB + 1);

    let res = app.raw(Method::POST, "/api/v1/patients", Some("application/json"), body).await;

    res.assert_error(413, "PAYLOAD_TOO_LARGE");
    assert_eq!(res.body["error"]["message"], "Request body too large");
}

#[tokio::test]
async fn a_body_over_one_mib_with_a_content_length_header_is_413() {
    let app = TestApp::spawn().await;
    let body = patient_body_of_len("biglen@example.org", 2 * ONE_MIB);
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/patients")
        .header("content-type", "application/json")
        .header("content-length", body.len().to_string())
        .body(Body::from(body))
        .unwrap();

    let res = app.send(req).await;

    res.assert_error(413, "PAYLOAD_TOO_LARGE");
}

#[tokio::test]
async fn a_chunked_body_over_one_mib_is_413() {
    let app = TestApp::spawn().await;
    let bytes = patient_body_of_len("chunked@example.org", ONE_MIB + 4096);
    let chunks: Vec<Result<Bytes, std::io::Error>> =
        bytes.chunks(64 * 1024).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/patients")
        .header("content-type", "application/json")
        .header("transfer-encoding", "chunked")
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .unwrap();

    let res = app.send(req).await;

    res.assert_error(413, "PAYLOAD_TOO_LARGE");
}

#[tokio::test]
async fn a_body_of_exactly_one_mib_is_accepted() {
    let app = TestApp::spawn().await;
    let body = patient_body_of_len("exact@example.org", ONE_MIB);

    let res = app.raw(Method::POST, "/api/v1/patients", Some("application/json"), body).await;

    res.assert(201);
}

#[tokio::test]
async fn an_oversized_body_is_413_before_the_patient_is_looked_up() {
    let app = TestApp::spawn().await;
    let body = patient_body_of_len("bigput@example.org", ONE_MIB + 10);

    let res = app.raw(Method::PUT, UNKNOWN_PATIENT, Some("application/json"), body).await;

    res.assert_error(413, "PAYLOAD_TOO_LARGE");
}

// ---- malformed bodies ----------------------------------------------------------------------------------

#[tokio::test]
async fn invalid_json_is_400_with_a_body_detail() {
    let app = TestApp::spawn().await;

    let res = app.raw(Method::POST, "/api/v1/patients", Some("application/json"), r#"{"firstName": "#).await;

    res.assert_error(400, "VALIDATION_ERROR");
    expect_detail_prefix(&res, "body: ");
    assert_eq!(res.details().len(), 1, "{}", res.text);
}

#[tokio::test]
async fn an_empty_json_body_is_400_with_a_body_detail() {
    let app = TestApp::spawn().await;

    let res = app.raw(Method::POST, "/api/v1/patients", Some("application/json"), "").await;

    res.assert_error(400, "VALIDATION_ERROR");
    expect_detail_prefix(&res, "body: ");
}

#[tokio::test]
async fn a_json_array_body_is_400_with_a_body_detail() {
    let app = TestApp::spawn().await;

    let res = app.raw(Method::POST, "/api/v1/patients", Some("application/json"), "[]").await;

    res.assert_error(400, "VALIDATION_ERROR");
    expect_detail_prefix(&res, "body: ");
}

#[tokio::test]
async fn a_json_array_holding_a_valid_patient_is_400() {
    let app = TestApp::spawn().await;
    let body = json!([patient_body("arr@example.org")]);

    let res = app.post("/api/v1/patients", &body).await;

    res.assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn json_scalars_and_null_as_body_are_400() {
    let app = TestApp::spawn().await;

    for body in ["null", "42", "\"text\"", "true"] {
        let res = app.raw(Method::POST, "/api/v1/patients", Some("application/json"), body).await;

        res.assert_error(400, "VALIDATION_ERROR");
        expect_detail_prefix(&res, "body: ");
    }
}

#[tokio::test]
async fn a_number_where_a_string_is_expected_is_400_naming_the_field() {
    let app = TestApp::spawn().await;
    let mut body = patient_body("type@example.org");
    body["firstName"] = json!(123);

    let res = app.post("/api/v1/patients", &body).await;

    res.assert_error(400, "VALIDATION_ERROR");
    expect_detail_prefix(&res, "firstName: ");
    assert_eq!(res.details().len(), 1, "type errors stop at the first one: {}", res.text);
}

#[tokio::test]
async fn a_wrong_type_in_a_nested_object_names_the_dotted_path() {
    let app = TestApp::spawn().await;
    let mut body = patient_body("nestedtype@example.org");
    body["address"]["zipCode"] = json!(62701);

    let res = app.post("/api/v1/patients", &body).await;

    res.assert_error(400, "VALIDATION_ERROR");
    expect_detail_prefix(&res, "address.zipCode: ");
}

#[tokio::test]
async fn an_object_where_an_array_is_expected_is_400() {
    let app = TestApp::spawn().await;
    let mut body = patient_body("objarr@example.org");
    body["allergies"] = json!({"a": "penicillin"});

    let res = app.post("/api/v1/patients", &body).await;

    res.assert_error(400, "VALIDATION_ERROR");
    expect_detail_prefix(&res, "allergies: ");
}

#[tokio::test]
async fn field_rule_failures_are_reported_together() {
    let app = TestApp::spawn().await;
    let mut body = patient_body("x@example.org");
    body["gender"] = json!("robot");
    body["email"] = json!("nope");

    let res = app.post("/api/v1/patients", &body).await;

    res.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(res.details().len(), 2, "{}", res.text);
    expect_detail_prefix(&res, "gender: ");
    expect_detail_prefix(&res, "email: ");
}

// ---- unknown fields, Location ---------------------------------------------------------------------------

#[tokio::test]
async fn unknown_fields_are_ignored() {
    let app = TestApp::spawn().await;
    let mut body = patient_body("unknown@example.org");
    body["favouriteColour"] = json!("green");
    body["nested"] = json!({"deep": [1, 2, 3]});

    let res = app.post("/api/v1/patients", &body).await;

    res.assert(201);
    assert!(res.body.get("favouriteColour").is_none() && res.body.get("nested").is_none(), "{}", res.text);
}

#[tokio::test]
async fn field_names_are_case_sensitive_so_a_miscased_required_field_is_missing() {
    let app = TestApp::spawn().await;
    let mut body = patient_body("case@example.org");
    let first = body.as_object_mut().unwrap().remove("firstName").unwrap();
    body["FirstName"] = first;

    let res = app.post("/api/v1/patients", &body).await;

    res.assert_error(400, "VALIDATION_ERROR");
    expect_detail_prefix(&res, "firstName: ");
}

#[tokio::test]
async fn a_201_carries_the_location_of_the_new_resource() {
    let app = TestApp::spawn().await;

    let res = app.post("/api/v1/patients", &patient_body("loc@example.org")).await;

    res.assert(201);
    let id = s(&res.body, "patientId");
    assert_eq!(res.header("location"), Some(format!("/api/v1/patients/{id}").as_str()));
}

// ---- page pagination -----------------------------------------------------------------------------------

async fn three_patients(app: &TestApp) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..3 {
        let p = app.create_patient(&format!("page{i}@example.org")).await;
        ids.push(s(&p, "patientId").to_owned());
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    ids
}

fn ids_of(res: &Res, key: &str) -> Vec<String> {
    res.body["data"].as_array().unwrap().iter().map(|v| s(v, key).to_owned()).collect()
}

#[tokio::test]
async fn an_empty_list_has_default_pagination_and_zero_pages() {
    let app = TestApp::spawn().await;

    let res = app.get("/api/v1/patients").await;

    res.assert(200);
    assert_eq!(res.body["data"], json!([]));
    assert_eq!(res.body["pagination"], json!({"page": 1, "limit": 20, "totalPages": 0, "totalItems": 0}));
}

#[tokio::test]
async fn pagination_defaults_to_page_1_and_limit_20() {
    let app = TestApp::spawn().await;
    three_patients(&app).await;

    let res = app.get("/api/v1/patients").await;

    res.assert(200);
    assert_eq!(res.body["data"].as_array().unwrap().len(), 3);
    assert_eq!(res.body["pagination"], json!({"page": 1, "limit": 20, "totalPages": 1, "totalItems": 3}));
}

#[tokio::test]
async fn pages_split_the_list_without_skipping_or_repeating_and_total_pages_is_computed() {
    let app = TestApp::spawn().await;
    let mut ids = three_patients(&app).await;

    let p1 = app.get("/api/v1/patients?limit=2&page=1").await;
    let p2 = app.get("/api/v1/patients?limit=2&page=2").await;

    p1.assert(200);
    p2.assert(200);
    assert_eq!(p1.body["pagination"], json!({"page": 1, "limit": 2, "totalPages": 2, "totalItems": 3}));
    assert_eq!(p2.body["pagination"], json!({"page": 2, "limit": 2, "totalPages": 2, "totalItems": 3}));
    let mut seen = ids_of(&p1, "patientId");
    seen.extend(ids_of(&p2, "patientId"));
    assert_eq!(seen.len(), 3);
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids);
}

#[tokio::test]
async fn a_page_past_the_end_is_an_empty_200() {
    let app = TestApp::spawn().await;
    three_patients(&app).await;

    let res = app.get("/api/v1/patients?limit=2&page=3").await;

    res.assert(200);
    assert_eq!(res.body["data"], json!([]));
    assert_eq!(res.body["pagination"], json!({"page": 3, "limit": 2, "totalPages": 2, "totalItems": 3}));
}

#[tokio::test]
async fn the_largest_page_number_is_accepted() {
    let app = TestApp::spawn().await;

    let res = app.get("/api/v1/patients?page=2147483647").await;

    res.assert(200);
    assert_eq!(res.body["data"], json!([]));
    assert_eq!(res.body["pagination"]["page"], 2147483647);
}

#[tokio::test]
async fn a_limit_above_100_is_capped_to_100() {
    let app = TestApp::spawn().await;

    let res = app.get("/api/v1/patients?limit=500").await;

    res.assert(200);
    assert_eq!(res.body["pagination"]["limit"], 100);
}

#[tokio::test]
async fn a_limit_of_100_is_kept() {
    let app = TestApp::spawn().await;

    let res = app.get("/api/v1/doctors?limit=100").await;

    res.assert(200);
    assert_eq!(res.body["pagination"]["limit"], 100);
}

#[tokio::test]
async fn a_huge_integer_limit_is_capped_to_100() {
    let app = TestApp::spawn().await;

    let res = app.get("/api/v1/patients?limit=99999999999999999999").await;

    res.assert(200);
    assert_eq!(res.body["pagination"]["limit"], 100);
}

#[tokio::test]
async fn a_bad_limit_is_400_naming_limit() {
    let app = TestApp::spawn().await;

    for bad in ["0", "-1", "abc", "1.5", "1e2"] {
        let res = app.get(&format!("/api/v1/patients?limit={bad}")).await;

        res.assert_error(400, "VALIDATION_ERROR");
        expect_detail_prefix(&res, "limit: ");
    }
}

#[tokio::test]
async fn a_bad_page_is_400_naming_page() {
    let app = TestApp::spawn().await;

    for bad in ["0", "-1", "abc", "2147483648", "1.0"] {
        let res = app.get(&format!("/api/v1/patients?page={bad}")).await;

        res.assert_error(400, "VALIDATION_ERROR");
        expect_detail_prefix(&res, "page: ");
    }
}

#[tokio::test]
async fn a_bad_limit_on_the_doctor_list_is_400() {
    let app = TestApp::spawn().await;

    let res = app.get("/api/v1/doctors?limit=0").await;

    res.assert_error(400, "VALIDATION_ERROR");
    expect_detail_prefix(&res, "limit: ");
}

#[tokio::test]
async fn a_query_parameter_given_twice_is_400() {
    let app = TestApp::spawn().await;

    let res = app.get("/api/v1/patients?limit=5&limit=5").await;

    res.assert_error(400, "VALIDATION_ERROR");
    expect_detail_prefix(&res, "limit: ");
}

#[tokio::test]
async fn a_filter_given_twice_is_400() {
    let app = TestApp::spawn().await;

    let res = app.get("/api/v1/patients?status=active&status=inactive").await;

    res.assert_error(400, "VALIDATION_ERROR");
    expect_detail_prefix(&res, "status: ");
}

#[tokio::test]
async fn empty_query_values_count_as_absent() {
    let app = TestApp::spawn().await;
    three_patients(&app).await;

    let res = app.get("/api/v1/patients?page=&limit=&status=&name=&email=").await;

    res.assert(200);
    assert_eq!(res.body["pagination"], json!({"page": 1, "limit": 20, "totalPages": 1, "totalItems": 3}));
}

#[tokio::test]
async fn unknown_query_parameters_are_ignored() {
    let app = TestApp::spawn().await;
    three_patients(&app).await;

    let res = app.get("/api/v1/patients?sort=desc&foo=bar").await;

    res.assert(200);
    assert_eq!(res.body["pagination"]["totalItems"], 3);
}

#[tokio::test]
async fn the_effective_limit_is_reported_and_total_pages_rounds_up() {
    let app = TestApp::spawn().await;
    for i in 0..3 {
        app.create_doctor(&format!("LIC-PG-{i}"), "DEPT-001").await;
    }

    let res = app.get("/api/v1/doctors?limit=1").await;

    res.assert(200);
    assert_eq!(res.body["pagination"], json!({"page": 1, "limit": 1, "totalPages": 3, "totalItems": 3}));
    let _: &Value = &res.body["data"][0];
    assert_eq!(res.body["data"].as_array().unwrap().len(), 1);
}
