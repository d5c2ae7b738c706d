//! [auth] through HTTP in mode `local` (SECURITY.md §1–4): the role × route matrix from a table written here,
//! independently of the server's; every 401 of §2 with its exact challenge; field rules; patient rows; revocation
//! across instances; rate limits; the traffic class; `/me`.

use std::time::{Duration, Instant};

use axum::http::Method;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{Res, TODAY, TestApp, World, patient_body, test_key_file, token};

const CHALLENGE: &str = "Bearer realm=\"gospital\"";
const INVALID: &str = "Bearer realm=\"gospital\", error=\"invalid_token\"";
const SCOPE: &str = "Bearer realm=\"gospital\", error=\"insufficient_scope\"";

const ROLES: [&str; 7] = ["admin", "doctor", "nurse", "receptionist", "billing", "auditor", "patient"];

/// A fresh app in mode local with one of every row, made with the app's staff token: the patient's own rows.
async fn world() -> (TestApp, World) {
    let app = TestApp::spawn_local().await;
    let w = app.world("own").await;
    (app, w)
}

/// SECURITY.md §3 as this test reads it: each operation, the roles allowed (fully or restricted), and a request
/// a restricted role may make (so "allowed" is never mistaken for a field-rule 403).
fn matrix() -> Vec<(&'static str, &'static str, &'static [&'static str], Option<Value>)> {
    const EVERYONE: &[&str] = &ROLES;
    let vitals = json!({"vitalSigns": {"heartRate": 72}});
    vec![
        ("GET", "/api/v1/doctors", EVERYONE, None),
        ("GET", "/api/v1/doctors/{doctorId}", EVERYONE, None),
        ("GET", "/api/v1/doctors/{doctorId}/availability", EVERYONE, None),
        ("GET", "/api/v1/departments", EVERYONE, None),
        ("GET", "/api/v1/departments/DEPT-001", EVERYONE, None),
        ("GET", "/api/v1/departments/DEPT-001/doctors", EVERYONE, None),
        ("POST", "/api/v1/doctors", &["admin"], Some(crate::helpers::doctor_body("LIC-AUTH-{n}", "DEPT-001"))),
        ("PUT", "/api/v1/doctors/{doctorId}", &["admin"], Some(json!({"yearsOfExperience": 9}))),
        ("POST", "/api/v1/departments", &["admin"], Some(json!({"name": "Dept {n}"}))),
        ("PUT", "/api/v1/departments/DEPT-001", &["admin"], Some(json!({"extension": "1234"}))),
        ("GET", "/api/v1/patients", &["admin", "doctor", "nurse", "receptionist", "billing"], None),
        (
            "GET",
            "/api/v1/patients/{patientId}",
            &["admin", "doctor", "nurse", "receptionist", "billing", "patient"],
            None,
        ),
        ("POST", "/api/v1/patients", &["admin", "doctor", "receptionist"], Some(patient_body("new{n}@example.org"))),
        (
            "PUT",
            "/api/v1/patients/{patientId}",
            &["admin", "doctor", "nurse", "receptionist", "patient"],
            Some(json!({"phone": "+1 555 010 9999"})),
        ),
        ("GET", "/api/v1/appointments", &["admin", "doctor", "nurse", "receptionist", "billing", "patient"], None),
        (
            "GET",
            "/api/v1/appointments/{appointmentId}",
            &["admin", "doctor", "nurse", "receptionist", "billing", "patient"],
            None,
        ),
        (
            "POST",
            "/api/v1/appointments",
            &["admin", "doctor", "nurse", "receptionist", "patient"],
            Some(json!({"patientId": "{patientId}", "doctorId": "{doctorId}", "appointmentDate": "2026-12-0{d}",
                        "startTime": "14:00", "endTime": "14:30", "reason": "Visit"})),
        ),
        (
            "PUT",
            "/api/v1/appointments/{appointmentId}",
            &["admin", "doctor", "nurse", "receptionist", "patient"],
            Some(json!({"reason": "Changed"})),
        ),
        ("GET", "/api/v1/medical-records/{recordId}", &["doctor", "nurse", "patient"], None),
        ("GET", "/api/v1/patients/{patientId}/medical-records", &["doctor", "nurse", "patient"], None),
        ("GET", "/api/v1/medical-records/{recordId}/history", &["doctor", "nurse", "patient"], None),
        (
            "POST",
            "/api/v1/medical-records",
            &["doctor", "nurse"],
            Some(json!({"patientId": "{patientId}", "doctorId": "{doctorId}", "visitDate": "2026-11-25T09:00:00Z",
                        "chiefComplaint": "Cough"})),
        ),
        ("PUT", "/api/v1/medical-records/{recordId}", &["doctor", "nurse"], Some(vitals)),
        ("GET", "/api/v1/billing/invoices/{invoiceId}", &["admin", "receptionist", "billing", "patient"], None),
        ("GET", "/api/v1/patients/{patientId}/invoices", &["admin", "receptionist", "billing", "patient"], None),
        (
            "POST",
            "/api/v1/billing/invoices",
            &["billing"],
            Some(
                json!({"patientId": "{patientId}", "invoiceDate": "2026-11-25", "dueDate": "2026-12-25", "items": [{"description": "X", "quantity": 1, "unitPrice": 1.00}]}),
            ),
        ),
        (
            "PUT",
            "/api/v1/billing/invoices/{invoiceId}/payment",
            &["billing"],
            Some(json!({"paymentMethod": "cash", "amount": 1.00})),
        ),
        ("POST", "/api/v1/admin/revocations", &["admin"], Some(json!({"sub": "nobody-{n}", "reason": "test"}))),
        ("GET", "/api/v1/admin/revocations", &["admin"], None),
        ("GET", "/api/v1/me", EVERYONE, None),
        ("GET", "/api/v1/audit-events", &["auditor"], None),
        ("GET", "/api/v1/patients/{patientId}/access-log", &["auditor", "patient"], None),
        // Last: they change the rows the others use.
        (
            "DELETE",
            "/api/v1/appointments/{appointmentId}",
            &["admin", "doctor", "nurse", "receptionist", "patient"],
            None,
        ),
        ("DELETE", "/api/v1/patients/{patientId}", &["admin", "receptionist"], None),
    ]
}

fn fill(text: &str, w: &World, n: usize) -> String {
    text.replace("{patientId}", &w.patient)
        .replace("{doctorId}", &w.doctor)
        .replace("{appointmentId}", &w.appointment)
        .replace("{recordId}", &w.record)
        .replace("{invoiceId}", &w.invoice)
        .replace("{n}", &n.to_string())
        .replace("{d}", &(1 + n % 8).to_string())
}

fn method(m: &str) -> Method {
    Method::from_bytes(m.as_bytes()).unwrap()
}

#[tokio::test]
async fn every_cell_of_the_matrix_for_every_role_and_for_no_known_role() {
    let mut cells = 0;
    for role in ROLES.iter().copied().chain(["none"]) {
        let (app, w) = world().await;
        let t = match role {
            "patient" => token("patient", Some("pat-sub"), Some(&w.patient)),
            // A token whose only role is unknown to Gospital.
            "none" => mint(json!({"roles": ["superuser"]})),
            r => token(r, None, None),
        };
        for (n, (m, path, allowed, body)) in matrix().into_iter().enumerate() {
            let path = fill(path, &w, n);
            let body = body.map(|b| serde_json::from_str::<Value>(&fill(&b.to_string(), &w, n)).unwrap());
            let res = app.as_token(&t, method(m), &path, body.as_ref()).await;
            cells += 1;
            if allowed.contains(&role) {
                assert!(
                    !matches!(res.status.as_u16(), 401 | 403),
                    "{role} must be allowed {m} {path}, got {}: {}",
                    res.status,
                    res.text
                );
            } else {
                res.assert_error(403, "FORBIDDEN");
                assert_eq!(res.header("www-authenticate"), Some(SCOPE), "{role} {m} {path}");
                assert!(res.details().is_empty(), "a role denial names nothing: {}", res.text);
            }
        }
    }
    assert_eq!(cells, 8 * matrix().len());
}

#[tokio::test]
async fn the_matrix_covers_every_documented_operation() {
    let doc = gospital::http::openapi();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/") {
            continue;
        }
        for m in item.as_object().unwrap().keys() {
            documented.push((m.to_uppercase(), path.clone()));
            assert_eq!(item[m]["security"], json!([{"bearerAuth": []}]), "{m} {path} declares the bearer scheme");
            for status in ["401", "403", "429"] {
                assert!(item[m]["responses"].get(status).is_some(), "{m} {path} documents {status}");
            }
        }
    }
    let template = |p: &str| p.replace("DEPT-001", "{departmentId}");
    let mut tested: Vec<(String, String)> =
        matrix().iter().map(|(m, p, _, _)| ((*m).to_owned(), template(p))).collect();
    documented.sort();
    tested.sort();
    assert_eq!(documented, tested, "this test's matrix and the routed operations differ");
    assert!(doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer");
}

// ---- 401 (SECURITY.md §2) ----------------------------------------------------------------------------

/// The test key as a PEM, to sign tokens no `gospital token` would make.
fn key() -> EncodingKey {
    EncodingKey::from_ed_pem(&std::fs::read(test_key_file()).unwrap()).unwrap()
}

fn kid() -> String {
    gospital::auth::local::SigningKey::load_or_create(&test_key_file()).unwrap().kid
}

/// Claims of a valid doctor token, with `patch` merged over them (a `null` removes a claim).
fn claims(patch: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut c = json!({"iss": "gospital-local", "aud": "gospital", "sub": "dr-test", "roles": ["doctor"],
                       "iat": now, "exp": now + 600});
    for (k, v) in patch.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

fn mint(patch: Value) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid());
    header.typ = Some("at+jwt".into());
    jsonwebtoken::encode(&header, &claims(patch), &key()).unwrap()
}

async fn get_with(app: &TestApp, authorization: Option<&str>) -> Res {
    let headers: Vec<(&str, &str)> = authorization.map(|a| vec![("authorization", a)]).unwrap_or_default();
    app.send_with_headers(Method::GET, "/api/v1/doctors", &headers, None).await
}

#[track_caller]
fn assert_401(res: &Res, challenge: &str, case: &str) {
    assert_eq!(res.status.as_u16(), 401, "{case}: {}", res.text);
    assert_eq!(res.code(), "UNAUTHENTICATED", "{case}");
    assert_eq!(res.header("www-authenticate"), Some(challenge), "{case}");
    assert!(res.details().is_empty(), "{case}: the body never says which check failed: {}", res.text);
}

#[tokio::test]
async fn every_401_case_has_its_exact_challenge_and_says_nothing_more() {
    let app = TestApp::spawn_local().await;
    let now = chrono::Utc::now().timestamp();
    assert_401(&get_with(&app, None).await, CHALLENGE, "no header");
    assert_401(&get_with(&app, Some("Basic ZG9jdG9yOnNlY3JldA==")).await, CHALLENGE, "not Bearer");
    assert_401(&get_with(&app, Some("Bearer")).await, CHALLENGE, "no credential");

    let good = mint(json!({}));
    let mut bad_signature = good.clone();
    let last = bad_signature.pop().unwrap();
    bad_signature.push(if last == 'A' { 'B' } else { 'A' });
    let header = |alg: &str, kid: &str| base64url(&json!({"alg": alg, "typ": "JWT", "kid": kid}).to_string());
    let payload = base64url(&claims(json!({})).to_string());
    let alg_none = format!("{}.{payload}.", header("none", &kid()));
    // HS256 keyed with something public (the algorithm-confusion attack): refused for its algorithm.
    let hs256 = jsonwebtoken::encode(
        &{
            let mut h = Header::new(Algorithm::HS256);
            h.kid = Some(kid());
            h
        },
        &claims(json!({})),
        &EncodingKey::from_secret(kid().as_bytes()).unwrap(),
    )
    .unwrap();
    let unknown_kid = {
        let mut h = Header::new(Algorithm::EdDSA);
        h.kid = Some("no-such-key".into());
        jsonwebtoken::encode(&h, &claims(json!({})), &key()).unwrap()
    };
    let cases = [
        ("malformed", "not.a.jwt".to_owned()),
        ("bad signature", bad_signature),
        ("expired beyond the leeway", mint(json!({"exp": now - 31 - 5}))),
        ("nbf in the future", mint(json!({"nbf": now + 120}))),
        ("wrong iss", mint(json!({"iss": "someone-else"}))),
        ("wrong aud", mint(json!({"aud": "another-api"}))),
        ("alg none", alg_none),
        ("HS256", hs256),
        ("unknown kid", unknown_kid),
        ("no sub", mint(json!({"sub": null}))),
        ("no exp", mint(json!({"exp": null}))),
        ("wrong typ", {
            let mut h = Header::new(Algorithm::EdDSA);
            h.kid = Some(kid());
            h.typ = Some("id+jwt".into());
            jsonwebtoken::encode(&h, &claims(json!({})), &key()).unwrap()
        }),
    ];
    for (case, t) in &cases {
        assert_401(&get_with(&app, Some(&format!("Bearer {t}"))).await, INVALID, case);
    }
    // Within the 30 s leeway a just-expired token still works.
    get_with(&app, Some(&format!("Bearer {}", mint(json!({"exp": now - 10}))))).await.assert(200);
    get_with(&app, Some(&format!("Bearer {good}"))).await.assert(200);
    let text = crate::helpers::metrics_text(&app).await;
    assert!(text.contains("auth_failures_total{reason=\"invalid\"}"), "auth failures are counted");
    assert!(text.contains("auth_failures_total{reason=\"missing\"}"));
}

fn base64url(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test]
async fn a_64_kib_header_and_a_token_with_10000_roles_are_refused_and_the_server_goes_on() {
    let app = TestApp::spawn_local().await;
    let huge = format!("Bearer {}", "a".repeat(64 * 1024));
    assert_401(&get_with(&app, Some(&huge)).await, INVALID, "64 KiB");
    let roles: Vec<String> = (0..10_000).map(|i| format!("role-{i}")).collect();
    let many = mint(json!({"roles": roles}));
    // Over 16 KiB: refused by its length before anything is decoded.
    assert_401(&get_with(&app, Some(&format!("Bearer {many}"))).await, INVALID, "10,000 roles");
    // 1,000 unknown roles fit: verified, then refused for having no known role.
    let roles: Vec<String> = (0..1_000).map(|i| format!("r{i}")).collect();
    let res = get_with(&app, Some(&format!("Bearer {}", mint(json!({"roles": roles}))))).await;
    res.assert_error(403, "FORBIDDEN");
    get_with(&app, Some(&format!("Bearer {}", token("nurse", None, None)))).await.assert(200);
}

// ---- field rules and patient rows (SECURITY.md §3 notes 1–4) ------------------------------------------

#[tokio::test]
async fn field_rules_refuse_each_member_a_role_may_not_send_before_any_write() {
    let (app, w) = world().await;
    let me = token("patient", Some("pat-1"), Some(&w.patient));
    let path = format!("/api/v1/patients/{}", w.patient);
    let res = app
        .as_token(
            &me,
            Method::PUT,
            &path,
            Some(&json!({"firstName": "Eve", "phone": "+1 555 010 1234",
        "status": "inactive"})),
        )
        .await;
    res.assert_error(403, "FORBIDDEN");
    assert_eq!(res.details(), ["firstName: not allowed for this role", "status: not allowed for this role"]);
    let admin = token("admin", None, None);
    let stored = app.as_token(&admin, Method::GET, &path, None).await;
    assert_eq!(stored.body["firstName"], "Amara", "nothing was written");
    assert_eq!(stored.body["version"], 1);
    // Validation first: a bad value is a 400 even for a member the role may not send.
    app.as_token(&me, Method::PUT, &path, Some(&json!({"firstName": ""}))).await.assert_error(400, "VALIDATION_ERROR");
    app.as_token(&me, Method::PUT, &path, Some(&json!({"email": "new@example.org"}))).await.assert(200);

    let appt = format!("/api/v1/appointments/{}", w.appointment);
    let res = app.as_token(&me, Method::PUT, &appt, Some(&json!({"notes": "x", "status": "completed"}))).await;
    res.assert_error(403, "FORBIDDEN");
    assert_eq!(res.details(), ["notes: not allowed for this role", "status: not allowed for this role"]);
    let res = app.as_token(&me, Method::PUT, &appt, Some(&json!({"status": "cancelled"}))).await;
    res.assert(200);
    assert_eq!(res.body["status"], "cancelled");

    let nurse = token("nurse", None, None);
    let rec = format!("/api/v1/medical-records/{}", w.record);
    let res = app
        .as_token(&nurse, Method::PUT, &rec, Some(&json!({"diagnosis": "Flu", "vitalSigns": {"heartRate": 80}})))
        .await;
    res.assert_error(403, "FORBIDDEN");
    assert_eq!(res.details(), ["diagnosis: not allowed for this role"]);
    let res = app
        .as_token(
            &nurse,
            Method::PUT,
            &rec,
            Some(&json!({"vitalSigns": {"heartRate": 80},
        "amendmentReason": "Recheck"})),
        )
        .await;
    res.assert(200);
    assert_eq!(res.body["vitalSigns"]["heartRate"], 80);
    // A nurse who is also a doctor gets the union.
    let both = token("nurse,doctor", None, None);
    app.as_token(&both, Method::PUT, &rec, Some(&json!({"diagnosis": "Flu"}))).await.assert(200);
}

#[tokio::test]
async fn a_patient_sees_only_its_own_rows_and_others_are_404() {
    let (app, w) = world().await;
    let admin = token("admin", None, None);
    let other = app.as_token(&admin, Method::POST, "/api/v1/patients", Some(&patient_body("other@example.org"))).await;
    let other_id = other.body["patientId"].as_str().unwrap().to_owned();
    let booking = json!({"patientId": other_id, "doctorId": w.doctor, "appointmentDate": "2026-12-02",
                         "startTime": "11:00", "endTime": "11:30", "reason": "Other"});
    let other_appt = app.as_token(&admin, Method::POST, "/api/v1/appointments", Some(&booking)).await;
    let other_appt = other_appt.body["appointmentId"].as_str().unwrap().to_owned();
    let record_body = json!({"patientId": other_id, "doctorId": w.doctor, "visitDate": format!("{TODAY}T08:00:00Z"),
                             "chiefComplaint": "Other"});
    let other_rec =
        app.as_token(&token("doctor", None, None), Method::POST, "/api/v1/medical-records", Some(&record_body)).await;
    let other_rec = other_rec.body["recordId"].as_str().unwrap().to_owned();
    let invoice_body = json!({"patientId": other_id, "invoiceDate": TODAY, "dueDate": "2026-12-25", "items": [{"description": "V", "quantity": 1, "unitPrice": 5.00}]});
    let other_inv = app
        .as_token(&token("billing", None, None), Method::POST, "/api/v1/billing/invoices", Some(&invoice_body))
        .await;
    let other_inv = other_inv.body["invoiceId"].as_str().unwrap().to_owned();

    let me = token("patient", Some("pat-1"), Some(&w.patient));
    let get = |path: String| {
        let (app, me) = (&app, &me);
        async move { app.as_token(me, Method::GET, &path, None).await }
    };
    get(format!("/api/v1/patients/{other_id}")).await.assert_error(404, "PATIENT_NOT_FOUND");
    get(format!("/api/v1/patients/{other_id}/medical-records")).await.assert_error(404, "PATIENT_NOT_FOUND");
    get(format!("/api/v1/patients/{other_id}/invoices")).await.assert_error(404, "PATIENT_NOT_FOUND");
    get(format!("/api/v1/appointments/{other_appt}")).await.assert_error(404, "APPOINTMENT_NOT_FOUND");
    get(format!("/api/v1/medical-records/{other_rec}")).await.assert_error(404, "MEDICAL_RECORD_NOT_FOUND");
    get(format!("/api/v1/medical-records/{other_rec}/history")).await.assert_error(404, "MEDICAL_RECORD_NOT_FOUND");
    get(format!("/api/v1/billing/invoices/{other_inv}")).await.assert_error(404, "INVOICE_NOT_FOUND");
    let res = app
        .as_token(&me, Method::PUT, &format!("/api/v1/appointments/{other_appt}"), Some(&json!({"reason": "Mine"})))
        .await;
    res.assert_error(404, "APPOINTMENT_NOT_FOUND");
    app.as_token(&me, Method::DELETE, &format!("/api/v1/appointments/{other_appt}"), None)
        .await
        .assert_error(404, "APPOINTMENT_NOT_FOUND");
    let mut for_other = booking.clone();
    for_other["startTime"] = json!("15:00");
    for_other["endTime"] = json!("15:30");
    app.as_token(&me, Method::POST, "/api/v1/appointments", Some(&for_other))
        .await
        .assert_error(404, "PATIENT_NOT_FOUND");

    // Lists are narrowed to the own rows, on every page.
    let res = get("/api/v1/appointments?limit=1".to_owned()).await;
    res.assert(200);
    let ids: Vec<&str> =
        res.body["data"].as_array().unwrap().iter().map(|a| a["patientId"].as_str().unwrap()).collect();
    assert_eq!(ids, [w.patient.as_str()]);
    assert_eq!(res.body["pagination"]["totalItems"], 1, "the other patient's appointment is not counted");
    let res = get(format!("/api/v1/appointments?patientId={other_id}")).await;
    res.assert(200);
    assert_eq!(res.body["data"], json!([]));
    assert_eq!(res.body["pagination"]["totalItems"], 0);
    // A staff member sees both.
    let all = app.as_token(&admin, Method::GET, "/api/v1/appointments", None).await;
    assert_eq!(all.body["pagination"]["totalItems"], 2);
    // Its own rows are there.
    get(format!("/api/v1/medical-records/{}", w.record)).await.assert(200);
    get(format!("/api/v1/patients/{}/invoices", w.patient)).await.assert(200);
}

// ---- revocation, rate limits, traffic class, /me -----------------------------------------------------

#[tokio::test]
async fn a_revoked_sub_is_refused_by_another_instance_within_5_s_and_a_newer_token_works() {
    let app = TestApp::spawn_local().await;
    let other = app.second_instance();
    let old = token("doctor", Some("dr-revoked"), None);
    get_with(&other, Some(&format!("Bearer {old}"))).await.assert(200);
    let admin = token("admin", Some("admin-1"), None);
    let res = app
        .as_token(
            &admin,
            Method::POST,
            "/api/v1/admin/revocations",
            Some(&json!({"sub": "dr-revoked", "reason": "Laptop stolen"})),
        )
        .await;
    res.assert(201);
    assert_eq!((res.body["sub"].as_str(), res.body["revokedBy"].as_str()), (Some("dr-revoked"), Some("admin-1")));
    // At once on the instance that recorded it.
    assert_401(&get_with(&app, Some(&format!("Bearer {old}"))).await, INVALID, "revoked here");
    let started = Instant::now();
    loop {
        let res = get_with(&other, Some(&format!("Bearer {old}"))).await;
        if res.status == 401 {
            assert_401(&res, INVALID, "revoked there");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "the other instance still accepts a revoked token");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let newer = token("doctor", Some("dr-revoked"), None);
    get_with(&app, Some(&format!("Bearer {newer}"))).await.assert(200);
    get_with(&other, Some(&format!("Bearer {newer}"))).await.assert(200);
    let list = app.as_token(&admin, Method::GET, "/api/v1/admin/revocations", None).await;
    list.assert(200);
    assert_eq!(list.body["revocations"][0]["reason"], "Laptop stolen");
    assert_eq!(list.body["nextCursor"], Value::Null);
    let res =
        app.as_token(&admin, Method::POST, "/api/v1/admin/revocations", Some(&json!({"sub": "", "reason": "x"}))).await;
    res.assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn revocations_page_newest_first_with_a_cursor() {
    let app = TestApp::spawn_local().await;
    let admin = token("admin", None, None);
    for i in 0..3 {
        let body = json!({"sub": format!("s{i}"), "reason": "r"});
        app.as_token(&admin, Method::POST, "/api/v1/admin/revocations", Some(&body)).await.assert(201);
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/admin/revocations?limit=2".to_owned();
    loop {
        let res = app.as_token(&admin, Method::GET, &path, None).await;
        res.assert(200);
        seen.extend(res.body["revocations"].as_array().unwrap().iter().map(|r| r["sub"].as_str().unwrap().to_owned()));
        match res.body["nextCursor"].as_str() {
            Some(c) => path = format!("/api/v1/admin/revocations?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["s2", "s1", "s0"]);
}

#[tokio::test]
async fn a_principal_over_its_rate_gets_429_with_retry_after_and_others_go_on() {
    let app = TestApp::spawn_local_with(|c| {
        c.rate_limit_per_second = 1;
        c.rate_limit_burst = 3;
    })
    .await;
    let busy = format!("Bearer {}", token("doctor", Some("busy"), None));
    for _ in 0..3 {
        get_with(&app, Some(&busy)).await.assert(200);
    }
    let res = get_with(&app, Some(&busy)).await;
    res.assert_error(429, "TOO_MANY_REQUESTS");
    let secs: u64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!(secs >= 1);
    get_with(&app, Some(&format!("Bearer {}", token("doctor", Some("calm"), None)))).await.assert(200);
}

#[tokio::test]
async fn the_traffic_class_follows_the_role_and_ignores_x_user_type() {
    let app = TestApp::spawn_local_with(|c| {
        c.public_max_in_flight = 1;
        c.staff_max_in_flight = 1;
    })
    .await;
    let w_patient = "PAT-01J9Z8Q5X7W6V5T4S3R2Q1P0NM";
    let patient = token("patient", Some("p"), Some(w_patient));
    let _public_full = app.state.resilience.traffic.public.try_enter().expect("the one public slot");
    let spoofed = [("authorization", format!("Bearer {patient}")), ("x-user-type", "staff".to_owned())];
    let headers: Vec<(&str, &str)> = spoofed.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = app.send_with_headers(Method::GET, "/api/v1/doctors", &headers, None).await;
    res.assert_error(503, "SERVICE_UNAVAILABLE");
    let doctor = format!("Bearer {}", token("doctor", None, None));
    let headers = [("authorization", doctor.as_str()), ("x-user-type", "public")];
    app.send_with_headers(Method::GET, "/api/v1/doctors", &headers, None).await.assert(200);
}

#[tokio::test]
async fn me_says_who_the_token_names() {
    let app = TestApp::spawn_local().await;
    let w_patient = "PAT-01J9Z8Q5X7W6V5T4S3R2Q1P0NM";
    let res = app.as_token(&token("patient", Some("p-7"), Some(w_patient)), Method::GET, "/api/v1/me", None).await;
    res.assert(200);
    assert_eq!(res.body["sub"], "p-7");
    assert_eq!(res.body["roles"], json!(["patient"]));
    assert_eq!(res.body["patientId"], w_patient);
    assert_eq!(res.body["authMode"], "local");
    assert!(res.body["expiresAt"].as_str().is_some_and(|t| t.ends_with('Z')));
    let off = TestApp::spawn().await;
    let res = off.get("/api/v1/me").await;
    res.assert(200);
    assert_eq!(res.body["sub"], "anonymous");
    assert_eq!(res.body["authMode"], "off");
    assert_eq!(res.body["roles"].as_array().unwrap().len(), 6, "every role but patient");
    let health = app.get("/health").await;
    assert_eq!(health.body["checks"]["auth"], json!({"status": "up", "mode": "local"}));
}

#[tokio::test]
async fn refused_requests_never_reach_a_store_and_root_routes_stay_open() {
    let app = TestApp::spawn_local().await;
    // A write that would create a patient: refused before the body is even read.
    let res = app.raw(Method::POST, "/api/v1/patients", Some("text/plain"), "not json").await;
    assert_401(&res, CHALLENGE, "no token beats 415");
    let nurse = format!("Bearer {}", token("billing", None, None));
    let res = app
        .send_with_headers(Method::POST, "/api/v1/medical-records", &[("authorization", nurse.as_str())], None)
        .await;
    res.assert_error(403, "FORBIDDEN");
    app.get("/health/live").await.assert(200);
    app.get("/openapi.json").await.assert(200);
    app.get("/api/v1/nothing-here").await.assert_error(404, "NOT_FOUND");
    let admin = token("admin", None, None);
    let list = app.as_token(&admin, Method::GET, "/api/v1/patients", None).await;
    assert_eq!(list.body["pagination"]["totalItems"], 0);
}
