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
    PAYLOAD_TOO_LARGE => (PAYLOAD_TOO_LARGE, "Request body too large"),
    UNSUPPORTED_MEDIA_TYPE => (UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json"),
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
    pub retry_after: Option<u64>,
    /// Allowed methods, for 405.
    pub allow: Option<String>,
    /// Internal cause, logged and never sent.
    pub cause: Option<String>,
}

/// Result of a handler or service.
pub type ApiResult<T> = Result<T, ApiError>;

/// The internal cause of a 5xx, carried to the request log as a response extension.
#[derive(Debug, Clone)]
pub struct ErrorCause(pub String);

impl ApiError {
    pub fn new(code: ErrorCode) -> Self {
        Self { code, message: None, details: Vec::new(), retry_after: None, allow: None, cause: None }
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
        e.retry_after = Some(retry_after_secs.max(1));
        e.cause = Some(cause.into());
        e
    }

    /// 504 REQUEST_TIMEOUT with the deadline in the details.
    pub fn timeout(ms: u64) -> Self {
        Self::new(ErrorCode::REQUEST_TIMEOUT).with_detail(format!("Timeout: {ms}ms"))
    }

    /// 500 INTERNAL_ERROR; the cause is logged only.
    pub fn internal(cause: impl Into<String>) -> Self {
        let mut e = Self::new(ErrorCode::INTERNAL_ERROR);
        e.cause = Some(cause.into());
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

    pub fn with_message(mut self, message: &'static str) -> Self {
        self.message = Some(message);
        self
    }

    /// Maps a store error for an operation whose missing entity is `not_found` and whose uniqueness
    /// conflict is `conflict`.
    pub fn from_store(err: StoreError, not_found: ErrorCode, conflict: ErrorCode) -> Self {
        match err {
            StoreError::NotFound => Self::new(not_found),
            StoreError::Conflict => Self::new(conflict),
            other => other.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    /// The context-free mapping; callers with a specific NotFound/Conflict meaning use [`ApiError::from_store`].
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Rejected(rule) => rule.into(),
            StoreError::Unavailable(cause) => Self::unavailable(2, cause),
            StoreError::CircuitOpen { retry_after_secs } => Self::unavailable(retry_after_secs, "circuit breaker open"),
            StoreError::DeadlineExceeded { budget_ms } => Self::timeout(budget_ms),
            // A version race that retries could not settle; the client may simply retry.
            StoreError::Stale => Self::unavailable(1, "write lost a version race after retries"),
            StoreError::NotFound => Self::internal("unexpected not-found from store"),
            StoreError::Conflict => Self::internal("unexpected conflict from store"),
            StoreError::Internal(cause) => Self::internal(cause),
        }
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
        if let Some(allow) = self.allow.as_deref().and_then(|a| HeaderValue::from_str(a).ok()) {
            headers.insert(header::ALLOW, allow);
        }
        if let Some(cause) = self.cause {
            res.extensions_mut().insert(ErrorCause(cause));
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
            (METHOD_NOT_ALLOWED, 405),
            (PATIENT_ALREADY_EXISTS, 409),
            (TIME_SLOT_NOT_AVAILABLE, 409),
            (INVALID_PAYMENT_TRANSITION, 409),
            (PAYLOAD_TOO_LARGE, 413),
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
        let res = ApiError::from(StoreError::Unavailable("secret sql text".into())).into_response();
        assert_eq!(res.status(), 503);
        assert_eq!(res.headers()[header::RETRY_AFTER], "2");
        assert!(res.extensions().get::<ErrorCause>().is_some());
    }

    #[test]
    fn an_open_circuit_becomes_503_with_the_seconds_until_half_open() {
        let res = ApiError::from(StoreError::CircuitOpen { retry_after_secs: 17 }).into_response();
        assert_eq!(res.status(), 503);
        assert_eq!(res.headers()[header::RETRY_AFTER], "17");
        let res = ApiError::from(StoreError::CircuitOpen { retry_after_secs: 0 }).into_response();
        assert_eq!(res.headers()[header::RETRY_AFTER], "1", "Retry-After is at least 1");
    }

    #[test]
    fn internal_errors_hide_details() {
        let res = ApiError::internal("boom").with_detail("x: y").into_response();
        assert_eq!(res.status(), 500);
    }
}
