//! Test harness: a fresh app over fresh stores (which ones is the test binary's `backend` module), a clock
//! fixed to 2026-11-25 10:00 UTC (a Wednesday) that keeps ticking, and typed request helpers.

#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use chrono::{TimeZone, Utc};
use gospital::clock::OffsetClock;
use gospital::config::Config;
use gospital::store::{ClinicStore, RecordStore};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

/// "Today" for every test.
pub const TODAY: &str = "2026-11-25";

/// A response: status, headers and the body parsed as JSON (`Value::Null` when empty or not JSON).
#[derive(Debug)]
pub struct Res {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Res {
    /// `error.code` of an error envelope.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// `error.details` as strings.
    pub fn details(&self) -> Vec<String> {
        self.body["error"]["details"]
            .as_array()
            .map(|a| a.iter().filter_map(|d| d.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    #[track_caller]
    pub fn assert(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.text);
        self
    }

    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> &Self {
        self.assert(status);
        assert_eq!(self.code(), code, "unexpected code; body: {}", self.text);
        self
    }
}

/// One application over its own, freshly created stores (which ones is the test binary's `crate::backend`).
pub struct TestApp {
    pub router: Router,
    pub state: gospital::state::AppState,
    /// The configuration it was built with (a second instance gets the same).
    pub config: Config,
    /// Sent as `Authorization: Bearer …` by [`Self::request`] (so by `get`, `post`, `put`, `delete` and the
    /// fixtures): a token with every staff role in mode `local`, none in mode `off`. `send`, `raw` and
    /// `send_with_headers` send only what they are given.
    pub bearer: Option<String>,
    /// Keeps the stores alive (temp directory, test database, emulator) until the test ends.
    _stores: Box<dyn std::any::Any + Send + Sync>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns with a configuration tweak (e.g. a short request timeout).
    pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> Self {
        Self::spawn_wrapped(tweak, |clinic| clinic).await
    }

    /// Spawns with the bare R store wrapped by `wrap` before it is guarded (fault injection).
    pub async fn spawn_wrapped(
        tweak: impl FnOnce(&mut Config),
        wrap: impl FnOnce(Arc<dyn ClinicStore>) -> Arc<dyn ClinicStore>,
    ) -> Self {
        let mut config = Config::for_tests("sqlite://unused.db");
        tweak(&mut config);
        let (clinic, records, guard) = crate::backend::open(&config).await;
        Self::over(&config, wrap(clinic), records, guard)
    }

    /// An application over stores the test opened itself (e.g. through a fault proxy); `keep` lives as long.
    pub fn over(
        config: &Config,
        clinic: Arc<dyn ClinicStore>,
        records: Arc<dyn RecordStore>,
        keep: Box<dyn std::any::Any + Send + Sync>,
    ) -> Self {
        let settings = config.settings().expect("valid test settings");
        let auth = gospital::build_auth(config).expect("test authentication");
        let start = Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap();
        let state = gospital::state::AppState::new(
            clinic,
            records,
            Arc::new(OffsetClock::starting_at(start)),
            Arc::new(settings),
            auth,
            gospital::audit_key(config).expect("test audit key"),
        );
        Self {
            router: gospital::http::router(state.clone()),
            state,
            config: config.clone(),
            bearer: None,
            _stores: keep,
        }
    }

    /// Another instance of the service over this one's stores (its own guards, writer turns and clock offset),
    /// as a second server behind a load balancer would be.
    pub fn second_instance(&self) -> TestApp {
        let clinic = self.state.resilience.clinic.inner().clone();
        let records = self.state.resilience.records.inner().clone();
        let mut other = Self::over(&self.config.clone(), clinic, records, Box::new(()));
        other.bearer = self.bearer.clone();
        other
    }

    /// An application in mode `local` (SECURITY.md §1), signing with [`test_key_file`]; `tweak` adjusts the rest.
    pub async fn spawn_local_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let mut app = Self::spawn_with(|c| {
            c.auth = Some(gospital::auth::AuthMode::Local);
            c.auth_key_file = test_key_file();
            tweak(c);
        })
        .await;
        app.bearer = Some(token("admin,doctor,nurse,receptionist,billing,auditor", Some("test-staff"), None));
        app
    }

    pub async fn spawn_local() -> Self {
        Self::spawn_local_with(|_| {}).await
    }

    /// Sends `method path` with `Authorization: Bearer <token>` and an optional JSON body.
    pub async fn as_token(&self, token: &str, method: Method, path: &str, body: Option<&Value>) -> Res {
        self.send_with_headers(method, path, &[("authorization", &format!("Bearer {token}"))], body).await
    }

    /// Sends a raw request.
    pub async fn send(&self, req: Request<Body>) -> Res {
        let res = self.router.clone().oneshot(req).await.expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Res { status, headers, body, text }
    }

    /// Sends `method path` with an optional JSON body (Content-Type: application/json).
    pub async fn request(&self, method: Method, path: &str, body: Option<&Value>) -> Res {
        match &self.bearer {
            Some(token) => self.as_token(token, method, path, body).await,
            None => self.send_with_headers(method, path, &[], body).await,
        }
    }

    /// Sends a raw body text with the given content type (None = no Content-Type header).
    pub async fn raw(&self, method: Method, path: &str, content_type: Option<&str>, body: impl Into<Body>) -> Res {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        self.send(b.body(body.into()).unwrap()).await
    }

    pub async fn get(&self, path: &str) -> Res {
        self.request(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Res {
        self.request(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Res {
        self.request(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Res {
        self.request(Method::DELETE, path, None).await
    }

    // ---- fixtures -------------------------------------------------------------------------------------

    /// Registers a patient with the given email (unique per call site) and returns its JSON.
    pub async fn create_patient(&self, email: &str) -> Value {
        let res = self.post("/api/v1/patients", &patient_body(email)).await;
        res.assert(201);
        res.body
    }

    /// Adds an active doctor in the given department and returns its JSON.
    pub async fn create_doctor(&self, license: &str, department: &str) -> Value {
        let res = self.post("/api/v1/doctors", &doctor_body(license, department)).await;
        res.assert(201);
        res.body
    }

    /// Books `date start-end` for a patient and doctor; returns the raw response.
    pub async fn book(&self, patient: &str, doctor: &str, date: &str, start: &str, end: &str) -> Res {
        self.post(
            "/api/v1/appointments",
            &json!({"patientId": patient, "doctorId": doctor, "appointmentDate": date,
                    "startTime": start, "endTime": end, "reason": "Check-up"}),
        )
        .await
    }
}

/// The key file of every in-process test app in mode `local`: one per test process, created once.
pub fn test_key_file() -> std::path::PathBuf {
    static KEY: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("gospital-test-{}-{}.key", std::process::id(), ulid::Ulid::new()));
        gospital::auth::local::SigningKey::load_or_create(&path).expect("test key file");
        path
    })
    .clone()
}

/// A local access token for `roles` (comma-separated), as `gospital token` would print it, with `sub` and the
/// patient claim when given.
pub fn token(roles: &str, sub: Option<&str>, patient: Option<&str>) -> String {
    let key = gospital::auth::local::SigningKey::load_or_create(&test_key_file()).expect("test key");
    let req =
        gospital::auth::local::TokenRequest::new(roles, sub.map(str::to_owned), None, patient.map(str::to_owned), "1h")
            .expect("token request");
    key.mint(&req, chrono::Utc::now().timestamp_millis()).expect("mint")
}

/// One of every resource, made through the API: a patient, an active doctor (DEPT-001), an appointment on
/// [`WORLD_DAY`] 10:00–10:30, a medical record and an invoice.
pub struct World {
    pub patient: String,
    pub doctor: String,
    pub appointment: String,
    pub record: String,
    pub invoice: String,
}

/// The day of [`World`]'s appointment: a working day after [`TODAY`].
pub const WORLD_DAY: &str = "2026-12-01";

impl TestApp {
    /// A [`World`]; `tag` keeps the patient's email and the doctor's licence apart from other worlds.
    pub async fn world(&self, tag: &str) -> World {
        let patient = s(&self.create_patient(&format!("{tag}@example.org")).await, "patientId").to_owned();
        let doctor = s(&self.create_doctor(&format!("LIC-{tag}"), "DEPT-001").await, "doctorId").to_owned();
        let res = self.book(&patient, &doctor, WORLD_DAY, "10:00", "10:30").await;
        res.assert(201);
        let appointment = s(&res.body, "appointmentId").to_owned();
        let res = self
            .post(
                "/api/v1/medical-records",
                &json!({"patientId": patient, "doctorId": doctor, "visitDate": "2026-11-20T09:00:00Z",
                        "chiefComplaint": "Cough"}),
            )
            .await;
        res.assert(201);
        let record = s(&res.body, "recordId").to_owned();
        let res = self.post("/api/v1/billing/invoices", &invoice_body(&patient)).await;
        res.assert(201);
        let invoice = s(&res.body, "invoiceId").to_owned();
        World { patient, doctor, appointment, record, invoice }
    }
}

/// A valid invoice body for `patient` (one line of 150).
pub fn invoice_body(patient: &str) -> Value {
    json!({"patientId": patient, "invoiceDate": "2026-11-25", "dueDate": "2026-12-25",
           "items": [{"description": "Consultation", "quantity": 1, "unitPrice": 150}]})
}

/// A valid patient registration body.
pub fn patient_body(email: &str) -> Value {
    json!({
        "firstName": "Amara", "lastName": "Okafor", "dateOfBirth": "1985-03-15", "gender": "female",
        "email": email, "phone": "+1 (555) 010-2233",
        "address": {"street": "12 Elm Street", "city": "Springfield", "state": "IL", "zipCode": "62701", "country": "USA"},
        "emergencyContact": {"name": "Chidi Okafor", "relationship": "brother", "phone": "+1 555 010 4455"},
        "bloodType": "O+", "allergies": ["penicillin"]
    })
}

/// A valid doctor body.
pub fn doctor_body(license: &str, department: &str) -> Value {
    json!({
        "firstName": "Sofia", "lastName": "Chen", "email": "sofia.chen@example.org", "phone": "+1 555 010 9988",
        "specialty": "Cardiology", "licenseNumber": license, "departmentId": department,
        "yearsOfExperience": 12, "qualifications": ["MD", "FACC"]
    })
}

/// A string field of a JSON object.
pub fn s<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or_else(|| panic!("missing string field {field} in {v}"))
}

// ---- helpers for conventions / patients / doctors / departments / health tests ----------------------

impl TestApp {
    /// Sends `method path` with extra headers and an optional JSON body.
    pub async fn send_with_headers(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Res {
        let mut b = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            b = b.header(*name, *value);
        }
        let body = match body {
            Some(v) => {
                b = b.header("content-type", "application/json");
                Body::from(serde_json::to_vec(v).unwrap())
            }
            None => Body::empty(),
        };
        self.send(b.body(body).unwrap()).await
    }
}

/// True for a 26-character upper-case Crockford ULID whose first character is 0–7.
pub fn check_ulid(s: &str) -> bool {
    const ALPHABET: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    s.len() == 26 && s.chars().all(|c| ALPHABET.contains(c)) && matches!(s.as_bytes()[0], b'0'..=b'7')
}

/// True for `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, exactly 3 fraction digits) that is a real instant.
pub fn check_timestamp_ms(s: &str) -> bool {
    let b = s.as_bytes();
    let shape = b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    shape && chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

/// Percent-encodes a query-string value.
pub fn qs_encode(s: &str) -> String {
    s.bytes()
        .map(|c| match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (c as char).to_string(),
            _ => format!("%{c:02X}"),
        })
        .collect()
}

/// Asserts that one `error.details` entry starts with `prefix` (e.g. `"address.zipCode: "`).
#[track_caller]
pub fn expect_detail_prefix(res: &Res, prefix: &str) {
    assert!(
        res.details().iter().any(|d| d.starts_with(prefix)),
        "no detail starting with {prefix:?}; body: {}",
        res.text
    );
}

// ---- helpers for the resilience and fault-injection tests -------------------------------------------

/// A 503 SERVICE_UNAVAILABLE with the fixed message and no details; returns `Retry-After`.
#[track_caller]
pub fn assert_unavailable(res: &Res) -> u64 {
    res.assert_error(503, "SERVICE_UNAVAILABLE");
    assert_eq!(res.body["error"]["message"], json!("Service temporarily unavailable, please retry later"));
    assert!(res.body["error"].get("details").is_none(), "{}", res.text);
    res.header("retry-after").and_then(|v| v.parse().ok()).expect("Retry-After in whole seconds")
}

/// The Prometheus text of `/metrics`.
pub async fn metrics_text(app: &TestApp) -> String {
    let res = app.get("/metrics").await;
    res.assert(200);
    res.text
}

/// The value of one sample line of the Prometheus text, 0 when absent.
pub fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// The breaker states a transition can lead to, in the order [`transitions`] reports them.
pub const BREAKER_STATES: [&str; 3] = ["open", "half_open", "closed"];

/// `circuit_breaker_transitions_total` of `store` (`clinic` or `records`) to each of [`BREAKER_STATES`].
pub async fn transitions(app: &TestApp, store: &str) -> [f64; 3] {
    let text = metrics_text(app).await;
    BREAKER_STATES
        .map(|to| sample(&text, &format!(r#"circuit_breaker_transitions_total{{store="{store}",to="{to}"}}"#)))
}

/// Every transition counter of `store` grew since `before` (a reading of [`transitions`]).
pub async fn assert_every_transition_counted(app: &TestApp, store: &str, before: [f64; 3]) {
    let after = transitions(app, store).await;
    for ((to, before), after) in BREAKER_STATES.iter().zip(before).zip(after) {
        assert!(after > before, "transition of {store} to {to} missing from /metrics ({before} → {after})");
    }
}
