//! [audit] through HTTP (SECURITY.md §5): one event per audited request with the fields of the table written
//! here, none for served directory reads, refusals recorded, the auditor's search and a patient's access log,
//! sequencing into one contiguous chain per store that `audit verify`'s checks accept, and no patient data in any
//! stored event or checkpoint.

use std::time::{Duration, Instant};

use axum::http::Method;
use gospital::audit::Chain;
use serde_json::{Value, json};

use crate::helpers::{TestApp, World, token};

/// Every event, newest first, read through `GET /api/v1/audit-events` page by page (as an auditor).
async fn all_events(app: &TestApp) -> Vec<Value> {
    let auditor = token("auditor", Some("auditor-reader"), None);
    let mut events = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/audit-events?limit=100&cursor={c}"),
            None => "/api/v1/audit-events?limit=100".to_owned(),
        };
        let res = app.as_token(&auditor, Method::GET, &path, None).await;
        res.assert(200);
        events.extend(res.body["events"].as_array().unwrap().iter().cloned());
        match res.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return events,
        }
    }
}

/// [`all_events`] once an event of each of `ids` is stored: events of failed or refused requests are written
/// after their answer (best effort), so a test waits for them, boundedly.
async fn events_including(app: &TestApp, ids: &[&str]) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let events = all_events(app).await;
        let missing: Vec<&&str> = ids.iter().filter(|id| with_request_id(&events, id).is_empty()).collect();
        if missing.is_empty() {
            return events;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no event of {missing:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn with_request_id<'a>(events: &'a [Value], id: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["requestId"] == id).collect()
}

async fn send(
    app: &TestApp,
    tok: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
    rid: &str,
) -> crate::helpers::Res {
    let auth = format!("Bearer {tok}");
    app.send_with_headers(
        Method::from_bytes(method.as_bytes()).unwrap(),
        path,
        &[("authorization", &auth), ("x-request-id", rid)],
        body,
    )
    .await
}

/// What one request's event must say. `None` for `resource` / `patients` means "the ID created" (read from the
/// answer) for creates.
struct Expect {
    method: &'static str,
    path: String,
    body: Option<Value>,
    status: u16,
    /// `None`: no event at all (a served directory read).
    event: Option<(&'static str, Option<&'static str>, Chain)>,
    resource: Option<String>,
    patients: Vec<String>,
    route: &'static str,
}

fn cases(w: &World) -> Vec<Expect> {
    let p = || vec![w.patient.clone()];
    let e = |method,
             path: String,
             body: Option<Value>,
             status,
             action,
             rt: Option<&'static str>,
             chain,
             resource: Option<String>,
             patients: Vec<String>,
             route| Expect {
        method,
        path,
        body,
        status,
        event: Some((action, rt, chain)),
        resource,
        patients,
        route,
    };
    let none = |method, path: String, route| Expect {
        method,
        path,
        body: None,
        status: 200,
        event: None,
        resource: None,
        patients: vec![],
        route,
    };
    use Chain::{D, R};
    vec![
        none("GET", "/api/v1/doctors".into(), "/api/v1/doctors"),
        none("GET", format!("/api/v1/doctors/{}", w.doctor), "/api/v1/doctors/{doctorId}"),
        none("GET", format!("/api/v1/doctors/{}/availability", w.doctor), "/api/v1/doctors/{doctorId}/availability"),
        none("GET", "/api/v1/departments".into(), "/api/v1/departments"),
        none("GET", "/api/v1/departments/DEPT-001".into(), "/api/v1/departments/{departmentId}"),
        none("GET", "/api/v1/departments/DEPT-001/doctors".into(), "/api/v1/departments/{departmentId}/doctors"),
        none("GET", "/api/v1/me".into(), "/api/v1/me"),
        none("GET", "/api/v1/admin/revocations".into(), "/api/v1/admin/revocations"),
        e(
            "GET",
            "/api/v1/patients?limit=5&name=Zz".into(),
            None,
            200,
            "search",
            Some("patient"),
            R,
            None,
            vec![],
            "/api/v1/patients",
        ),
        e(
            "GET",
            format!("/api/v1/patients/{}", w.patient),
            None,
            200,
            "read",
            Some("patient"),
            R,
            Some(w.patient.clone()),
            p(),
            "/api/v1/patients/{patientId}",
        ),
        e(
            "PUT",
            format!("/api/v1/patients/{}", w.patient),
            Some(json!({"phone": "+1 555 010 7777"})),
            200,
            "update",
            Some("patient"),
            R,
            Some(w.patient.clone()),
            p(),
            "/api/v1/patients/{patientId}",
        ),
        e(
            "GET",
            format!("/api/v1/appointments?patientId={}", w.patient),
            None,
            200,
            "search",
            Some("appointment"),
            R,
            None,
            p(),
            "/api/v1/appointments",
        ),
        e(
            "GET",
            format!("/api/v1/appointments/{}", w.appointment),
            None,
            200,
            "read",
            Some("appointment"),
            R,
            Some(w.appointment.clone()),
            p(),
            "/api/v1/appointments/{appointmentId}",
        ),
        e(
            "PUT",
            format!("/api/v1/appointments/{}", w.appointment),
            Some(json!({"reason": "Changed"})),
            200,
            "update",
            Some("appointment"),
            R,
            Some(w.appointment.clone()),
            p(),
            "/api/v1/appointments/{appointmentId}",
        ),
        e(
            "GET",
            format!("/api/v1/medical-records/{}", w.record),
            None,
            200,
            "read",
            Some("medicalRecord"),
            D,
            Some(w.record.clone()),
            p(),
            "/api/v1/medical-records/{recordId}",
        ),
        e(
            "GET",
            format!("/api/v1/patients/{}/medical-records", w.patient),
            None,
            200,
            "search",
            Some("medicalRecord"),
            D,
            Some(w.patient.clone()),
            p(),
            "/api/v1/patients/{patientId}/medical-records",
        ),
        e(
            "PUT",
            format!("/api/v1/medical-records/{}", w.record),
            Some(json!({"diagnosis": "Flu", "amendmentReason": "Lab result"})),
            200,
            "update",
            Some("medicalRecord"),
            D,
            Some(w.record.clone()),
            p(),
            "/api/v1/medical-records/{recordId}",
        ),
        e(
            "GET",
            format!("/api/v1/medical-records/{}/history", w.record),
            None,
            200,
            "read",
            Some("medicalRecord"),
            D,
            Some(w.record.clone()),
            p(),
            "/api/v1/medical-records/{recordId}/history",
        ),
        e(
            "GET",
            format!("/api/v1/billing/invoices/{}", w.invoice),
            None,
            200,
            "read",
            Some("invoice"),
            D,
            Some(w.invoice.clone()),
            p(),
            "/api/v1/billing/invoices/{invoiceId}",
        ),
        e(
            "GET",
            format!("/api/v1/patients/{}/invoices", w.patient),
            None,
            200,
            "search",
            Some("invoice"),
            D,
            Some(w.patient.clone()),
            p(),
            "/api/v1/patients/{patientId}/invoices",
        ),
        e(
            "PUT",
            format!("/api/v1/billing/invoices/{}/payment", w.invoice),
            Some(json!({"paymentStatus": "paid", "paymentMethod": "cash"})),
            200,
            "update",
            Some("invoice"),
            D,
            Some(w.invoice.clone()),
            p(),
            "/api/v1/billing/invoices/{invoiceId}/payment",
        ),
        e(
            "POST",
            "/api/v1/patients".into(),
            Some(crate::helpers::patient_body("audit-new@example.org")),
            201,
            "create",
            Some("patient"),
            R,
            None,
            vec![],
            "/api/v1/patients",
        ),
        e(
            "POST",
            "/api/v1/doctors".into(),
            Some(crate::helpers::doctor_body("LIC-AUDIT-NEW", "DEPT-001")),
            201,
            "create",
            Some("doctor"),
            R,
            None,
            vec![],
            "/api/v1/doctors",
        ),
        e(
            "PUT",
            format!("/api/v1/doctors/{}", w.doctor),
            Some(json!({"yearsOfExperience": 11})),
            200,
            "update",
            Some("doctor"),
            R,
            Some(w.doctor.clone()),
            vec![],
            "/api/v1/doctors/{doctorId}",
        ),
        e(
            "POST",
            "/api/v1/departments".into(),
            Some(json!({"name": "Audit Dept"})),
            201,
            "create",
            Some("department"),
            R,
            None,
            vec![],
            "/api/v1/departments",
        ),
        e(
            "PUT",
            "/api/v1/departments/DEPT-001".into(),
            Some(json!({"extension": "4321"})),
            200,
            "update",
            Some("department"),
            R,
            Some("DEPT-001".into()),
            vec![],
            "/api/v1/departments/{departmentId}",
        ),
        e(
            "POST",
            "/api/v1/appointments".into(),
            Some(
                json!({"patientId": w.patient, "doctorId": w.doctor, "appointmentDate": "2026-12-02", "startTime": "14:00", "endTime": "14:30", "reason": "Visit"}),
            ),
            201,
            "create",
            Some("appointment"),
            R,
            None,
            p(),
            "/api/v1/appointments",
        ),
        e(
            "POST",
            "/api/v1/medical-records".into(),
            Some(
                json!({"patientId": w.patient, "doctorId": w.doctor, "visitDate": "2026-11-25T09:00:00Z", "chiefComplaint": "Cough"}),
            ),
            201,
            "create",
            Some("medicalRecord"),
            D,
            None,
            p(),
            "/api/v1/medical-records",
        ),
        e(
            "POST",
            "/api/v1/billing/invoices".into(),
            Some(crate::helpers::invoice_body(&w.patient)),
            201,
            "create",
            Some("invoice"),
            D,
            None,
            p(),
            "/api/v1/billing/invoices",
        ),
        e(
            "POST",
            "/api/v1/admin/revocations".into(),
            Some(json!({"sub": "someone-else", "reason": "left"})),
            201,
            "create",
            Some("revocation"),
            R,
            Some("someone-else".into()),
            vec![],
            "/api/v1/admin/revocations",
        ),
        e(
            "GET",
            format!("/api/v1/patients/{}/access-log", w.patient),
            None,
            200,
            "search",
            Some("auditEvent"),
            R,
            Some(w.patient.clone()),
            p(),
            "/api/v1/patients/{patientId}/access-log",
        ),
        e(
            "GET",
            "/api/v1/audit-events?actorSub=nobody&limit=5".into(),
            None,
            200,
            "search",
            Some("auditEvent"),
            R,
            None,
            vec![],
            "/api/v1/audit-events",
        ),
        // A failed write: recorded with its status, nothing it would have changed.
        e(
            "POST",
            "/api/v1/departments".into(),
            Some(json!({"name": "Audit Dept"})),
            409,
            "create",
            Some("department"),
            R,
            None,
            vec![],
            "/api/v1/departments",
        ),
        e(
            "GET",
            "/api/v1/patients/PAT-01M88ZQHVRM9S346Q3D25VT4F5".into(),
            None,
            404,
            "read",
            Some("patient"),
            R,
            Some("PAT-01M88ZQHVRM9S346Q3D25VT4F5".into()),
            vec!["PAT-01M88ZQHVRM9S346Q3D25VT4F5".into()],
            "/api/v1/patients/{patientId}",
        ),
        // Last: they change the rows the others use.
        e(
            "DELETE",
            format!("/api/v1/appointments/{}", w.appointment),
            None,
            200,
            "delete",
            Some("appointment"),
            R,
            Some(w.appointment.clone()),
            p(),
            "/api/v1/appointments/{appointmentId}",
        ),
        e(
            "DELETE",
            format!("/api/v1/patients/{}", w.patient),
            None,
            200,
            "delete",
            Some("patient"),
            R,
            Some(w.patient.clone()),
            p(),
            "/api/v1/patients/{patientId}",
        ),
    ]
}

#[tokio::test]
async fn every_audited_route_leaves_exactly_one_event_and_served_directory_reads_none() {
    let app = TestApp::spawn_local().await;
    let w = app.world("audit").await;
    let staff = token("admin,doctor,nurse,receptionist,billing,auditor", Some("dr-audit"), None);
    let cases = cases(&w);
    let mut answers = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let rid = format!("audit-case-{i}");
        let res = send(&app, &staff, c.method, &c.path, c.body.as_ref(), &rid).await;
        res.assert(c.status);
        answers.push((rid, res));
    }
    let recorded: Vec<&str> =
        cases.iter().zip(&answers).filter(|(c, _)| c.event.is_some()).map(|(_, (rid, _))| rid.as_str()).collect();
    let events = events_including(&app, &recorded).await;
    for (c, (rid, res)) in cases.iter().zip(&answers) {
        let found = with_request_id(&events, rid);
        let Some((action, rt, chain)) = c.event else {
            assert!(found.is_empty(), "{} {}: a served directory read left {found:?}", c.method, c.path);
            continue;
        };
        assert_eq!(found.len(), 1, "{} {}: {found:?}", c.method, c.path);
        let e = found[0];
        let what = format!("{} {} → {e}", c.method, c.path);
        assert_eq!(e["action"], action, "{what}");
        assert_eq!(e["resourceType"], json!(rt), "{what}");
        assert_eq!(e["store"], chain.as_str(), "{what}");
        assert_eq!(e["outcome"], c.status, "{what}");
        assert_eq!(e["method"], c.method, "{what}");
        assert_eq!(e["route"], c.route, "{what}");
        assert_eq!(e["actor"]["sub"], "dr-audit", "{what}");
        assert_eq!(e["actor"]["roles"], json!(["admin", "doctor", "nurse", "receptionist", "billing", "auditor"]));
        assert!(e["eventId"].as_str().unwrap().starts_with("AUD-"), "{what}");
        // A create names what it created, and the patient it is about.
        let created = res.body.as_object().and_then(|b| {
            ["patientId", "doctorId", "departmentId", "appointmentId", "recordId", "invoiceId"]
                .iter()
                .find_map(|k| b.get(*k).and_then(Value::as_str))
                .map(str::to_owned)
        });
        let resource = match (&c.resource, c.status) {
            (Some(r), _) => json!(r),
            (None, 201) if c.route == "/api/v1/appointments" => json!(res.body["appointmentId"]),
            (None, 201) if c.route == "/api/v1/medical-records" => json!(res.body["recordId"]),
            (None, 201) if c.route == "/api/v1/billing/invoices" => json!(res.body["invoiceId"]),
            (None, 201) => json!(created),
            (None, _) => Value::Null,
        };
        assert_eq!(e["resourceId"], resource, "{what}");
        let mut patients = c.patients.clone();
        if c.route == "/api/v1/patients" && c.status == 201 {
            patients = vec![res.body["patientId"].as_str().unwrap().to_owned()];
        }
        assert_eq!(e["patientIds"], json!(patients), "{what}");
        let query: Vec<&str> = c
            .path
            .split_once('?')
            .map_or(vec![], |(_, q)| q.split('&').map(|kv| kv.split('=').next().unwrap()).collect());
        assert_eq!(e["query"], json!(query), "{what}");
        assert_eq!(e["sourceIp"], "unknown", "{what}");
    }
}

#[tokio::test]
async fn a_search_lists_the_patients_on_its_page_and_query_values_are_never_kept() {
    let app = TestApp::spawn_local().await;
    let a = crate::helpers::s(&app.create_patient("page-a@example.org").await, "patientId").to_owned();
    let b = crate::helpers::s(&app.create_patient("page-b@example.org").await, "patientId").to_owned();
    let staff = token("receptionist", Some("desk"), None);
    send(
        &app,
        &staff,
        "GET",
        "/api/v1/patients?name=okafor&email=page-a%40example.org&Secret%20Name=1",
        None,
        "search-1",
    )
    .await
    .assert(200);
    send(&app, &staff, "GET", "/api/v1/patients?limit=100", None, "search-2").await.assert(200);
    let events = all_events(&app).await;
    let one = with_request_id(&events, "search-1");
    assert_eq!(one[0]["patientIds"], json!([a]));
    assert_eq!(one[0]["query"], json!(["name", "email"]), "unknown names are dropped, values never kept");
    let both = with_request_id(&events, "search-2");
    let mut ids: Vec<&str> = both[0]["patientIds"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    ids.sort_unstable();
    let mut want = vec![a.as_str(), b.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want);
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains("okafor") && !text.contains("page-a%40") && !text.contains("Secret"), "{text}");
}

#[tokio::test]
async fn refusals_are_recorded_with_the_patient_named_in_the_path() {
    let app = TestApp::spawn_local_with(|c| {
        c.rate_limit_per_second = 1;
        c.rate_limit_burst = 10;
    })
    .await;
    let w = app.world("refused").await;
    let path = format!("/api/v1/patients/{}/medical-records", w.patient);
    // 401: no token.
    app.send_with_headers(Method::GET, &path, &[("x-request-id", "refused-401")], None).await.assert(401);
    // 403: billing never reads medical records.
    let billing = token("billing", Some("biller"), None);
    send(&app, &billing, "GET", &path, None, "refused-403").await.assert(403);
    // 429: one `sub` past its burst.
    let hasty = token("doctor", Some("hasty"), None);
    send(&app, &hasty, "GET", "/api/v1/doctors", None, "first").await.assert(200);
    let mut refused = false;
    for _ in 0..20 {
        if send(&app, &hasty, "GET", "/api/v1/doctors", None, "refused-429").await.status == 429 {
            refused = true;
            break;
        }
    }
    assert!(refused, "the burst ran out");
    let events = events_including(&app, &["refused-401", "refused-403", "refused-429"]).await;
    let e401 = with_request_id(&events, "refused-401");
    assert_eq!(e401.len(), 1);
    assert_eq!(e401[0]["actor"], json!({"sub": "anonymous", "roles": []}));
    assert_eq!(e401[0]["outcome"], 401);
    assert_eq!(e401[0]["patientIds"], json!([w.patient]));
    assert_eq!(e401[0]["store"], "D");
    let e403 = with_request_id(&events, "refused-403");
    assert_eq!((e403[0]["actor"]["sub"].as_str(), e403[0]["outcome"].as_u64()), (Some("biller"), Some(403)));
    assert_eq!(e403[0]["patientIds"], json!([w.patient]));
    let e429 = with_request_id(&events, "refused-429");
    assert_eq!(e429.len(), 1, "a refused directory read is recorded, a served one is not");
    assert_eq!((e429[0]["actor"]["sub"].as_str(), e429[0]["outcome"].as_u64()), (Some("hasty"), Some(429)));
    assert!(with_request_id(&events, "first").is_empty(), "a served directory read is not");
    let counted = crate::helpers::metrics_text(&app).await;
    assert!(crate::helpers::sample(&counted, r#"audit_events_total{store="D",outcome="403"}"#) >= 1.0, "{counted}");
}

#[tokio::test]
async fn a_patient_reads_its_own_access_log_only_and_auditors_search_with_filters() {
    let app = TestApp::spawn_local().await;
    let w = app.world("log").await;
    let other = app.world("log-other").await;
    let doctor = token("doctor", Some("dr-house"), None);
    send(&app, &doctor, "GET", &format!("/api/v1/medical-records/{}", w.record), None, "doc-read").await.assert(200);
    let patient = token("patient", Some("pat-1"), Some(&w.patient));
    let res = app.as_token(&patient, Method::GET, &format!("/api/v1/patients/{}/access-log", w.patient), None).await;
    res.assert(200);
    assert_eq!(res.body["patientId"], w.patient.as_str());
    let entries = res.body["entries"].as_array().unwrap();
    let read = entries.iter().find(|e| e["actor"]["sub"] == "dr-house").expect("the doctor's read is listed");
    assert_eq!(read["action"], "read");
    assert_eq!(read["resourceType"], "medicalRecord");
    assert_eq!(read["resourceId"], w.record.as_str());
    assert_eq!(read["outcome"], 200);
    assert!(read.get("patientId").is_none() && read["actor"].get("patientId").is_none());
    assert!(!entries.iter().any(|e| e["resourceId"] == other.record.as_str()), "only this patient's entries");
    // Another patient's log is, to a patient, one that does not exist; a doctor may not read logs at all.
    app.as_token(&patient, Method::GET, &format!("/api/v1/patients/{}/access-log", other.patient), None)
        .await
        .assert_error(404, "PATIENT_NOT_FOUND");
    app.as_token(&doctor, Method::GET, &format!("/api/v1/patients/{}/access-log", w.patient), None).await.assert(403);
    app.as_token(&doctor, Method::GET, "/api/v1/audit-events", None).await.assert(403);
    // Filters combine; pages follow the cursor without repeats.
    let auditor = token("auditor", Some("aud"), None);
    let res = app
        .as_token(
            &auditor,
            Method::GET,
            "/api/v1/audit-events?actorSub=dr-house&resourceType=medicalRecord&action=read",
            None,
        )
        .await;
    res.assert(200);
    let found = res.body["events"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["requestId"], "doc-read");
    let mut seen = std::collections::HashSet::new();
    let mut path = "/api/v1/audit-events?limit=3".to_owned();
    let mut last = String::from("~");
    loop {
        let res = app.as_token(&auditor, Method::GET, &path, None).await;
        res.assert(200);
        for e in res.body["events"].as_array().unwrap() {
            assert!(seen.insert(e["eventId"].as_str().unwrap().to_owned()), "repeated {e}");
            let key = format!("{}{}", e["recordedAt"].as_str().unwrap(), e["eventId"].as_str().unwrap());
            assert!(key <= last, "newest first");
            last = key;
        }
        match res.body["nextCursor"].as_str() {
            Some(c) => path = format!("/api/v1/audit-events?limit=3&cursor={c}"),
            None => break,
        }
    }
    assert!(seen.len() > 10, "both stores' events were paged: {}", seen.len());
    for bad in
        ["from=yesterday", "action=peek", "resourceType=file", "from=2026-11-26T00:00:00Z&to=2026-11-25T00:00:00Z"]
    {
        app.as_token(&auditor, Method::GET, &format!("/api/v1/audit-events?{bad}"), None).await.assert(400);
    }
}

/// Waits (bounded) until every stored event of both stores has its seq.
async fn sequenced(app: &TestApp) {
    let started = Instant::now();
    loop {
        let r = app.state.clinic.count_unsequenced_audit_events().await.unwrap();
        let d = app.state.records.count_unsequenced_audit_events().await.unwrap();
        if r + d == 0 {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "{r} + {d} events still unsequenced");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn events_are_chained_contiguously_per_store_across_instances_and_verify() {
    let app = TestApp::spawn_local().await;
    let second = app.second_instance();
    let w = app.world("chain").await;
    let (patient, record) =
        (format!("/api/v1/patients/{}", w.patient), format!("/api/v1/medical-records/{}", w.record));
    let reads = (0..20).map(|_| async {
        let (x, y) = tokio::join!(app.get(&patient), second.get(&record));
        x.assert(200);
        y.assert(200);
    });
    futures::future::join_all(reads).await;
    sequenced(&app).await;
    let key = gospital::audit_key(&app.config).unwrap();
    for (chain, store) in [
        (Chain::R, app.state.clinic.clone() as std::sync::Arc<dyn gospital::store::AuditStore>),
        (Chain::D, app.state.records.clone()),
    ] {
        let events = store.audit_chain(0, 10_000).await.unwrap();
        assert!(events.len() >= 20, "{chain}: {}", events.len());
        for (i, e) in events.iter().enumerate() {
            assert_eq!(e.seq, Some(i as i64 + 1), "{chain}: contiguous from 1");
        }
        let verdict = gospital::audit::verify::verify(store.as_ref(), chain, &key, &[]).await.unwrap();
        assert!(verdict.is_ok(), "{chain}: {verdict:?}");
        assert!(verdict.unwrap().checkpoints >= 1, "a first checkpoint is signed at once");
    }
    // The API shows each event's place.
    let events = all_events(&app).await;
    assert!(events.iter().filter(|e| e["store"] == "R").all(|e| e["seq"].is_i64() || e["seq"].is_null()));
    assert!(events.iter().any(|e| e["hash"].as_str().is_some_and(|h| h.len() == 64)));
}

#[tokio::test]
async fn no_patient_data_reaches_an_event_or_a_checkpoint() {
    let app = TestApp::spawn_local().await;
    let mut body = crate::helpers::patient_body("quixotic.zebra@example.org");
    body["firstName"] = json!("Xanthippe");
    body["lastName"] = json!("Quarrington");
    body["phone"] = json!("+1 555 013 9876");
    let pid = crate::helpers::s(&app.post("/api/v1/patients", &body).await.assert(201).body, "patientId").to_owned();
    let doctor = crate::helpers::s(&app.create_doctor("LIC-PHI", "DEPT-001").await, "doctorId").to_owned();
    let record = json!({"patientId": pid, "doctorId": doctor, "visitDate": "2026-11-20T09:00:00Z",
                        "chiefComplaint": "Zygomatic ache", "diagnosis": "Hyperborean fever"});
    let rid =
        crate::helpers::s(&app.post("/api/v1/medical-records", &record).await.assert(201).body, "recordId").to_owned();
    app.put(
        &format!("/api/v1/medical-records/{rid}"),
        &json!({"diagnosis": "Hyperborean relapse", "amendmentReason": "Recheck"}),
    )
    .await
    .assert(200);
    app.get("/api/v1/patients?name=Xanthippe&email=quixotic.zebra%40example.org&phone=%2B1%20555%20013%209876")
        .await
        .assert(200);
    app.get(&format!("/api/v1/patients/{pid}/medical-records")).await.assert(200);
    // A refused request whose path carries text a client typed.
    app.get("/api/v1/patients/Xanthippe%20Quarrington").await.assert(404);
    let patient = token("patient", Some("pat-x"), Some(&pid));
    app.as_token(&patient, Method::GET, &format!("/api/v1/patients/{pid}/access-log"), None).await.assert(200);
    sequenced(&app).await;
    let mut stored = String::new();
    let r: std::sync::Arc<dyn gospital::store::AuditStore> = app.state.clinic.clone();
    let d: std::sync::Arc<dyn gospital::store::AuditStore> = app.state.records.clone();
    for store in [r, d] {
        for e in store.audit_chain(0, 10_000).await.unwrap() {
            stored.push_str(&e.canonical);
        }
        for c in store.audit_checkpoints().await.unwrap() {
            stored.push_str(&serde_json::to_string(&c).unwrap());
        }
    }
    assert!(stored.contains(&pid), "events name the patient by ID");
    for phi in ["Xanthippe", "Quarrington", "quixotic", "013 9876", "013%209876", "Zygomatic", "Hyperborean", "Recheck"]
    {
        assert!(!stored.contains(phi), "{phi} found in the audit trail: {stored}");
    }
}
