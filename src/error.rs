//! The error envelope of API.md §1.3–§1.4: one code per status, fixed messages, `field: problem` details.
//! A 5xx never carries its cause; the cause rides in a response extension for the request log.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::store::{Rule, StoreError};

tokio::task_local! {
    /// The request ID of the request being handled, set by the request-ID middleware.
    pub static REQUEST_ID: String;
}

/// The current request's ID, or an empty string outside a request.
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

macro_rules! codes {
    ($($variant:ident => ($status:ident, $message:literal)),+ $(,)?) => {
        /// Every error code of the catalogue (API.md §1.4).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        pub enum ErrorCode { $($variant),+ }

        impl ErrorCode {
            /// Every code, in catalogue order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => stringify!($variant)),+ }
            }
            pub fn status(self) -> StatusCode {
                match self { $(Self::$variant => StatusCode::$status),+ }
            }
            pub fn message(self) -> &'static str {
                match self { $(Self::$variant => $message),+ }
            }
        }
    };
}

codes! {
    VALIDATION_ERROR => (BAD_REQUEST, "Invalid input data"),
    INVALID_PAYMENT_DATA => (BAD_REQUEST, "Invalid payment data"),
    NOT_FOUND => (NOT_FOUND, "Resource not found"),
    PATIENT_NOT_FOUND => (NOT_FOUND, "Patient not found"),
    DOCTOR_NOT_FOUND => (NOT_FOUND, "Doctor not found"),
    DEPARTMENT_NOT_FOUND => (NOT_FOUND, "Department not found"),
    APPOINTMENT_NOT_FOUND => (NOT_FOUND, "Appointment not found"),
    MEDICAL_RECORD_NOT_FOUND => (NOT_FOUND, "Medical record not found"),
    INVOICE_NOT_FOUND => (NOT_FOUND, "Invoice not found"),
    UNAUTHENTICATED => (UNAUTHORIZED, "Authentication required"),
    FORBIDDEN => (FORBIDDEN, "Access denied"),
    METHOD_NOT_ALLOWED => (METHOD_NOT_ALLOWED, "Method not allowed"),
    PATIENT_ALREADY_EXISTS => (CONFLICT, "Patient already exists"),
    DOCTOR_ALREADY_EXISTS => (CONFLICT, "Doctor already exists"),
    DEPARTMENT_ALREADY_EXISTS => (CONFLICT, "Department already exists"),
    TIME_SLOT_NOT_AVAILABLE => (CONFLICT, "Time slot is not available"),
    INVALID_APPOINTMENT_DATA => (CONFLICT, "Invalid appointment data"),
    PATIENT_INACTIVE => (CONFLICT, "Patient is inactive"),
    DOCTOR_UNAVAILABLE => (CONFLICT, "Doctor is not available"),
    DEPARTMENT_HEAD_CONFLICT => (CONFLICT, "Department head conflict"),
    INVALID_PAYMENT_TRANSITION => (CONFLICT, "Invalid payment status transition"),
    IDEMPOTENCY_KEY_IN_USE => (CONFLICT, "Request with this idempotency key is in progress"),
    PRECONDITION_FAILED => (PRECONDITION_FAILED, "Resource has been modified"),
    PAYLOAD_TOO_LARGE => (PAYLOAD_TOO_LARGE, "Request body too large"),
    UNSUPPORTED_MEDIA_TYPE => (UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json"),
    IDEMPOTENCY_KEY_REUSED => (UNPROCESSABLE_ENTITY, "Idempotency key reused with a different request"),
    TOO_MANY_REQUESTS => (TOO_MANY_REQUESTS, "Too many requests, please retry later"),
    INTERNAL_ERROR => (INTERNAL_SERVER_ERROR, "An unexpected error occurred"),
    SERVICE_UNAVAILABLE => (SERVICE_UNAVAILABLE, "Service temporarily unavailable, please retry later"),
    SERVICE_OVERLOADED => (SERVICE_UNAVAILABLE, "Service temporarily overloaded due to high CPU usage, please retry later"),
    REQUEST_TIMEOUT => (GATEWAY_TIMEOUT, "Request took too long to process"),
}

/// An API error: code, details and, for 503, the `Retry-After` seconds.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: Option<&'static str>,
    pub details: Vec<String>,
    pub retry_after: Option<u32>,
    /// Allowed methods, for 405.
    pub allow: Option<Box<str>>,
    /// The resource's current version, sent as `ETag` with a 412.
    pub etag: Option<i64>,
    /// Internal cause, logged and never sent.
    pub cause: Option<Box<str>>,
    /// `WWW-Authenticate` of a 401 or 403 (SECURITY.md §2).
    pub challenge: Option<&'static str>,
}

/// `Retry-After` seconds: at least 1, and a value too large for the header's field saturates.
fn seconds(secs: u64) -> u32 {
    u32::try_from(secs.max(1)).unwrap_or(u32::MAX)
}

/// Result of a handler or service.
pub type ApiResult<T> = Result<T, ApiError>;

/// The internal cause of a 5xx, carried to the request log as a response extension.
#[derive(Debug, Clone)]
pub struct ErrorCause(pub String);

impl ApiError {
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            message: None,
            details: Vec::new(),
            retry_after: None,
            allow: None,
            etag: None,
            cause: None,
            challenge: None,
        }
    }

    /// 400 VALIDATION_ERROR with the given `field: problem` details.
    pub fn validation(details: Vec<String>) -> Self {
        Self::new(ErrorCode::VALIDATION_ERROR).with_details(details)
    }

    /// 400 VALIDATION_ERROR with one detail.
    pub fn invalid(field: &str, problem: &str) -> Self {
        Self::validation(vec![format!("{field}: {problem}")])
    }

    /// 503 SERVICE_UNAVAILABLE with `Retry-After`.
    pub fn unavailable(retry_after_secs: u64, cause: impl Into<String>) -> Self {
        let mut e = Self::new(ErrorCode::SERVICE_UNAVAILABLE);
        e.retry_after = Some(seconds(retry_after_secs));
        e.cause = Some(cause.into().into_boxed_str());
        e
    }

    /// 504 REQUEST_TIMEOUT with the deadline in the details.
    pub fn timeout(ms: u64) -> Self {
        Self::new(ErrorCode::REQUEST_TIMEOUT).with_detail(format!("Timeout: {ms}ms"))
    }

    /// 500 INTERNAL_ERROR; the cause is logged only.
    pub fn internal(cause: impl Into<String>) -> Self {
        let mut e = Self::new(ErrorCode::INTERNAL_ERROR);
        e.cause = Some(cause.into().into_boxed_str());
        e
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.details.push(detail.into());
        self
    }

    pub fn with_details(mut self, details: Vec<String>) -> Self {
        self.details.extend(details);
        self
    }

    /// An internal cause for the request log (never sent).
    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.cause = Some(cause.into().into_boxed_str());
        self
    }

    pub fn with_etag(mut self, version: i64) -> Self {
        self.etag = Some(version);
        self
    }

    /// `Retry-After` in whole seconds (at least 1).
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(seconds(secs));
        self
    }

    /// The `WWW-Authenticate` challenge to send.
    pub fn with_challenge(mut self, challenge: &'static str) -> Self {
        self.challenge = Some(challenge);
        self
    }

    pub fn with_message(mut self, message: &'static str) -> Self {
        self.message = Some(message);
        self
    }

    /// The one mapping from a store error to the API's (STYLE.md §2): `entity` is what the failing call was
    /// about, so a missing row is that entity's 404 and a uniqueness refusal its 409. A `Conflict` on an entity
    /// that has no uniqueness rule (a generated ID that collided) is a 500 that says so in the log, never a
    /// silent one.
    pub fn from_store(err: StoreError, entity: Entity) -> Self {
        match err {
            StoreError::NotFound => Self::new(entity.not_found()),
            StoreError::Conflict => match entity.already_exists() {
                Some(code) => Self::new(code),
                None => Self::internal(format!("uniqueness conflict writing a new {}", entity.name())),
            },
            StoreError::Rejected(rule) => rule.into(),
            StoreError::Unavailable(cause) => Self::unavailable(2, cause),
            StoreError::CircuitOpen { retry_after_secs } => Self::unavailable(retry_after_secs, "circuit breaker open"),
            StoreError::DeadlineExceeded { budget_ms } => Self::timeout(budget_ms),
            // A version race that retries could not settle; the client may simply retry.
            StoreError::Stale => Self::unavailable(1, "write lost a version race after retries"),
            StoreError::ClaimLost => {
                Self::new(ErrorCode::IDEMPOTENCY_KEY_IN_USE).with_retry_after(1).with_cause("idempotency claim lost")
            }
            StoreError::Internal(cause) => Self::internal(cause),
        }
    }
}

impl ApiError {
    /// A store error of a call about something without its own 404 or 409 (a revocation): availability and
    /// deadlines map as in [`ApiError::from_store`]; anything else is a 500 naming `what` in the log.
    pub fn from_store_call(err: StoreError, what: &str) -> Self {
        match err {
            StoreError::NotFound | StoreError::Conflict | StoreError::Rejected(_) | StoreError::ClaimLost => {
                Self::internal(format!("unexpected store answer writing a {what}: {err}"))
            }
            other => Self::from_store(other, Entity::Patient),
        }
    }
}

/// What a store call was about, for [`ApiError::from_store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Patient,
    Doctor,
    Department,
    Appointment,
    MedicalRecord,
    Invoice,
}

impl Entity {
    /// The 404 code when this entity does not exist.
    pub fn not_found(self) -> ErrorCode {
        match self {
            Self::Patient => ErrorCode::PATIENT_NOT_FOUND,
            Self::Doctor => ErrorCode::DOCTOR_NOT_FOUND,
            Self::Department => ErrorCode::DEPARTMENT_NOT_FOUND,
            Self::Appointment => ErrorCode::APPOINTMENT_NOT_FOUND,
            Self::MedicalRecord => ErrorCode::MEDICAL_RECORD_NOT_FOUND,
            Self::Invoice => ErrorCode::INVOICE_NOT_FOUND,
        }
    }

    /// The 409 code of the entity's uniqueness rule, if it has one (API.md §1.4).
    pub fn already_exists(self) -> Option<ErrorCode> {
        match self {
            Self::Patient => Some(ErrorCode::PATIENT_ALREADY_EXISTS),
            Self::Doctor => Some(ErrorCode::DOCTOR_ALREADY_EXISTS),
            Self::Department => Some(ErrorCode::DEPARTMENT_ALREADY_EXISTS),
            Self::Appointment | Self::MedicalRecord | Self::Invoice => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Patient => "patient",
            Self::Doctor => "doctor",
            Self::Department => "department",
            Self::Appointment => "appointment",
            Self::MedicalRecord => "medical record",
            Self::Invoice => "invoice",
        }
    }
}

/// Maps a store result through [`ApiError::from_store`]: `store.get_patient(&id).await.on(Entity::Patient)?`.
pub trait OnEntity<T> {
    fn on(self, entity: Entity) -> ApiResult<T>;
}

impl<T> OnEntity<T> for Result<T, StoreError> {
    fn on(self, entity: Entity) -> ApiResult<T> {
        self.map_err(|e| ApiError::from_store(e, entity))
    }
}

impl From<Rule> for ApiError {
    fn from(rule: Rule) -> Self {
        match rule {
            Rule::PatientInactive => Self::new(ErrorCode::PATIENT_INACTIVE),
            Rule::DoctorUnavailable => Self::new(ErrorCode::DOCTOR_UNAVAILABLE),
            Rule::HeadDoctorConflict => Self::new(ErrorCode::DEPARTMENT_HEAD_CONFLICT),
            Rule::TimeSlot { doctor, patient } => {
                let mut e = Self::new(ErrorCode::TIME_SLOT_NOT_AVAILABLE);
                if doctor {
                    e.details.push("doctorId: overlaps an existing appointment of this doctor".into());
                }
                if patient {
                    e.details.push("patientId: overlaps an existing appointment of this patient".into());
                }
                e
            }
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    code: &'static str,
    message: &'static str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    details: &'a [String],
    request_id: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        // 5xx bodies carry no details except the contract's fixed ones (timeout, CPU).
        let details: &[String] = if status == StatusCode::INTERNAL_SERVER_ERROR { &[] } else { &self.details };
        let body = Envelope {
            error: Body {
                code: self.code.as_str(),
                message: self.message.unwrap_or_else(|| self.code.message()),
                details,
                request_id: current_request_id(),
            },
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let mut res = (status, bytes).into_response();
        let headers = res.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        } else if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        }
        if let Some(version) = self.etag {
            headers.insert(header::ETAG, crate::http::wire::etag(version));
        }
        if let Some(allow) = self.allow.as_deref().and_then(|a| HeaderValue::from_str(a).ok()) {
            headers.insert(header::ALLOW, allow);
        }
        if let Some(challenge) = self.challenge {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        if let Some(cause) = self.cause {
            res.extensions_mut().insert(ErrorCause(cause.into()));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_has_its_contract_status() {
        use ErrorCode::*;
        let table = [
            (VALIDATION_ERROR, 400),
            (INVALID_PAYMENT_DATA, 400),
            (NOT_FOUND, 404),
            (PATIENT_NOT_FOUND, 404),
            (UNAUTHENTICATED, 401),
            (FORBIDDEN, 403),
            (METHOD_NOT_ALLOWED, 405),
            (TOO_MANY_REQUESTS, 429),
            (PATIENT_ALREADY_EXISTS, 409),
            (TIME_SLOT_NOT_AVAILABLE, 409),
            (INVALID_PAYMENT_TRANSITION, 409),
            (IDEMPOTENCY_KEY_IN_USE, 409),
            (PRECONDITION_FAILED, 412),
            (PAYLOAD_TOO_LARGE, 413),
            (IDEMPOTENCY_KEY_REUSED, 422),
            (UNSUPPORTED_MEDIA_TYPE, 415),
            (INTERNAL_ERROR, 500),
            (SERVICE_UNAVAILABLE, 503),
            (SERVICE_OVERLOADED, 503),
            (REQUEST_TIMEOUT, 504),
        ];
        for (code, status) in table {
            assert_eq!(code.status().as_u16(), status, "{}", code.as_str());
        }
    }

    #[test]
    fn store_failures_become_503_with_retry_after_and_no_cause_in_the_body() {
        let res =
            ApiError::from_store(StoreError::Unavailable("secret sql text".into()), Entity::Patient).into_response();
        assert_eq!(res.status(), 503);
        assert_eq!(res.headers()[header::RETRY_AFTER], "2");
        assert!(res.extensions().get::<ErrorCause>().is_some());
    }

    #[test]
    fn an_open_circuit_becomes_503_with_the_seconds_until_half_open() {
        let res =
            ApiError::from_store(StoreError::CircuitOpen { retry_after_secs: 17 }, Entity::Patient).into_response();
        assert_eq!(res.status(), 503);
        assert_eq!(res.headers()[header::RETRY_AFTER], "17");
        let res =
            ApiError::from_store(StoreError::CircuitOpen { retry_after_secs: 0 }, Entity::Invoice).into_response();
        assert_eq!(res.headers()[header::RETRY_AFTER], "1", "Retry-After is at least 1");
    }

    #[test]
    fn missing_rows_and_uniqueness_conflicts_map_to_their_entity_never_to_500() {
        use ErrorCode::*;
        let cases = [
            (Entity::Patient, PATIENT_NOT_FOUND, PATIENT_ALREADY_EXISTS),
            (Entity::Doctor, DOCTOR_NOT_FOUND, DOCTOR_ALREADY_EXISTS),
            (Entity::Department, DEPARTMENT_NOT_FOUND, DEPARTMENT_ALREADY_EXISTS),
            (Entity::Appointment, APPOINTMENT_NOT_FOUND, INTERNAL_ERROR),
            (Entity::MedicalRecord, MEDICAL_RECORD_NOT_FOUND, INTERNAL_ERROR),
            (Entity::Invoice, INVOICE_NOT_FOUND, INTERNAL_ERROR),
        ];
        for (entity, missing, conflict) in cases {
            assert_eq!(ApiError::from_store(StoreError::NotFound, entity).code, missing);
            let e = ApiError::from_store(StoreError::Conflict, entity);
            assert_eq!(e.code, conflict);
            if conflict == INTERNAL_ERROR {
                assert!(e.cause.is_some_and(|c| c.contains(entity.name())), "a 500 says why in the log");
            }
        }
        assert_eq!(ApiError::from_store(StoreError::Stale, Entity::Patient).code, SERVICE_UNAVAILABLE);
    }

    #[test]
    fn internal_errors_hide_details() {
        let res = ApiError::internal("boom").with_detail("x: y").into_response();
        assert_eq!(res.status(), 500);
    }
}
