//! The OpenAPI 3.1 document, Swagger UI served from the binary, and the Go original's `/swagger/*` paths
//! redirected to them.
//!
//! The document has one source per concern. Paths, operations and body schemas come from the routers themselves
//! (`utoipa_axum::routes!` registers a handler and its `#[utoipa::path]` together, so no route can go
//! undocumented) and from the very types that are serialised (responses) or parsed into (requests; their parsers
//! are checked against these schemas by `tests/api/openapi.rs`). What every operation shares is added here, once,
//! from the contract's rules: the error answers of each operation ([`OPERATION_ERRORS`] plus the common ones of
//! API.md §1.5), the `ETag`, `Location`, `Retry-After` and `X-Request-Id` headers, the `If-Match` and
//! `Idempotency-Key` request headers, and the links from each create to what it created.

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::openapi::OpenApi as Document;
use utoipa::{OpenApi, ToSchema};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::domain::formats::Date;
use crate::error::ErrorCode;
use crate::state::AppState;

/// The error envelope of every non-2xx `/api` response.
#[derive(Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

/// Body of the error envelope.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Stable code; clients branch on this only. Each response below lists the codes it can carry.
    #[schema(schema_with = error_code_schema)]
    pub code: String,
    /// A fixed text per code.
    #[schema(example = "Invalid input data")]
    pub message: String,
    /// One `path: problem` entry per problem; omitted when empty.
    #[schema(required = false)]
    pub details: Vec<String>,
    /// Equals the `X-Request-Id` response header.
    pub request_id: String,
}

fn error_code_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    let names: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    crate::domain::schema::wire_enum("The error code (API.md §1.4)", &names, &names)
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gospital",
        description = "Hospital-management HTTP API: patients, doctors, departments, appointments, medical records and billing."
    ),
    components(schemas(ErrorEnvelope, ErrorBody))
)]
struct Base;

/// The base the routers' operations are added to.
pub fn base() -> Document {
    let mut doc = Base::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    // `Date` is reached only through `domain::schema::optional::<Date>`, a `$ref` that a hand-built schema cannot
    // register; every other component is registered by the routes that use it.
    if let Some(components) = doc.components.as_mut() {
        components
            .schemas
            .insert(<Date as utoipa::ToSchema>::name().into_owned(), <Date as utoipa::PartialSchema>::schema());
    }
    doc
}

/// One operation's own error answers: `(method, path, [(status, [codes])])`.
pub type OperationErrors = (&'static str, &'static str, &'static [(u16, &'static [&'static str])]);

/// The error answers of each `/api` operation beyond the common ones (API.md §3, each endpoint's "Errors").
/// The common ones ([`common_errors`]) are added to every operation.
pub const OPERATION_ERRORS: &[OperationErrors] = &[
    ("post", "/api/v1/patients", &[(409, &["PATIENT_ALREADY_EXISTS"])]),
    ("get", "/api/v1/patients/{patientId}", &[(404, &["PATIENT_NOT_FOUND"])]),
    ("put", "/api/v1/patients/{patientId}", &[(404, &["PATIENT_NOT_FOUND"]), (409, &["PATIENT_ALREADY_EXISTS"])]),
    ("delete", "/api/v1/patients/{patientId}", &[(404, &["PATIENT_NOT_FOUND"])]),
    ("get", "/api/v1/patients/{patientId}/medical-records", &[(404, &["PATIENT_NOT_FOUND"])]),
    ("get", "/api/v1/patients/{patientId}/invoices", &[(404, &["PATIENT_NOT_FOUND"])]),
    ("post", "/api/v1/doctors", &[(404, &["DEPARTMENT_NOT_FOUND"]), (409, &["DOCTOR_ALREADY_EXISTS"])]),
    ("get", "/api/v1/doctors/{doctorId}", &[(404, &["DOCTOR_NOT_FOUND"])]),
    (
        "put",
        "/api/v1/doctors/{doctorId}",
        &[(404, &["DOCTOR_NOT_FOUND", "DEPARTMENT_NOT_FOUND"]), (409, &["DEPARTMENT_HEAD_CONFLICT"])],
    ),
    ("get", "/api/v1/doctors/{doctorId}/availability", &[(404, &["DOCTOR_NOT_FOUND"])]),
    (
        "post",
        "/api/v1/appointments",
        &[
            (404, &["PATIENT_NOT_FOUND", "DOCTOR_NOT_FOUND"]),
            (409, &["PATIENT_INACTIVE", "DOCTOR_UNAVAILABLE", "TIME_SLOT_NOT_AVAILABLE"]),
        ],
    ),
    ("get", "/api/v1/appointments/{appointmentId}", &[(404, &["APPOINTMENT_NOT_FOUND"])]),
    (
        "put",
        "/api/v1/appointments/{appointmentId}",
        &[
            (404, &["APPOINTMENT_NOT_FOUND"]),
            (409, &["INVALID_APPOINTMENT_DATA", "PATIENT_INACTIVE", "DOCTOR_UNAVAILABLE", "TIME_SLOT_NOT_AVAILABLE"]),
        ],
    ),
    (
        "delete",
        "/api/v1/appointments/{appointmentId}",
        &[(404, &["APPOINTMENT_NOT_FOUND"]), (409, &["INVALID_APPOINTMENT_DATA"])],
    ),
    ("post", "/api/v1/departments", &[(409, &["DEPARTMENT_ALREADY_EXISTS"])]),
    ("get", "/api/v1/departments/{departmentId}", &[(404, &["DEPARTMENT_NOT_FOUND"])]),
    (
        "put",
        "/api/v1/departments/{departmentId}",
        &[
            (404, &["DEPARTMENT_NOT_FOUND", "DOCTOR_NOT_FOUND"]),
            (409, &["DEPARTMENT_ALREADY_EXISTS", "DEPARTMENT_HEAD_CONFLICT"]),
        ],
    ),
    ("get", "/api/v1/departments/{departmentId}/doctors", &[(404, &["DEPARTMENT_NOT_FOUND"])]),
    (
        "post",
        "/api/v1/medical-records",
        &[(404, &["PATIENT_NOT_FOUND", "DOCTOR_NOT_FOUND"]), (409, &["PATIENT_INACTIVE"])],
    ),
    ("get", "/api/v1/medical-records/{recordId}", &[(404, &["MEDICAL_RECORD_NOT_FOUND"])]),
    ("put", "/api/v1/medical-records/{recordId}", &[(404, &["MEDICAL_RECORD_NOT_FOUND"])]),
    ("get", "/api/v1/medical-records/{recordId}/history", &[(404, &["MEDICAL_RECORD_NOT_FOUND"])]),
    ("post", "/api/v1/billing/invoices", &[(404, &["PATIENT_NOT_FOUND"])]),
    ("get", "/api/v1/billing/invoices/{invoiceId}", &[(404, &["INVOICE_NOT_FOUND"])]),
    (
        "put",
        "/api/v1/billing/invoices/{invoiceId}/payment",
        &[
            (400, &["VALIDATION_ERROR", "INVALID_PAYMENT_DATA"]),
            (404, &["INVOICE_NOT_FOUND"]),
            (409, &["INVALID_PAYMENT_TRANSITION"]),
        ],
    ),
];

/// The error answers API.md §1.5 gives every operation of its kind: every `/api` operation may answer 500, 503
/// and 504; every body 400, 413 and 415; every list with query parameters 400; every POST the idempotency
/// answers; every PUT and DELETE 412.
fn common_errors(method: &str, path: &str, has_query: bool) -> Vec<(u16, &'static [&'static str])> {
    let mut errors: Vec<(u16, &'static [&'static str])> = vec![
        (401, &["UNAUTHENTICATED"]),
        (403, &["FORBIDDEN"]),
        (429, &["TOO_MANY_REQUESTS"]),
        (500, &["INTERNAL_ERROR"]),
        (503, &["SERVICE_UNAVAILABLE", "SERVICE_OVERLOADED"]),
        (504, &["REQUEST_TIMEOUT"]),
    ];
    if matches!(method, "post" | "put") {
        errors.extend([
            (400, &["VALIDATION_ERROR"][..]),
            (413, &["PAYLOAD_TOO_LARGE"][..]),
            (415, &["UNSUPPORTED_MEDIA_TYPE"][..]),
        ]);
    }
    if has_query {
        errors.push((400, &["VALIDATION_ERROR"]));
    }
    match method {
        "post" if takes_idempotency_key(path) => {
            errors.extend([(409, &["IDEMPOTENCY_KEY_IN_USE"][..]), (422, &["IDEMPOTENCY_KEY_REUSED"][..])]);
        }
        "put" | "delete" => errors.push((412, &["PRECONDITION_FAILED"])),
        _ => {}
    }
    errors
}

/// Whether a POST honours `Idempotency-Key` (API.md §1.11): every create of a resource. A revocation is not a
/// resource with an ID to replay, and revoking twice is harmless, so it takes no key.
fn takes_idempotency_key(path: &str) -> bool {
    path != "/api/v1/admin/revocations"
}

/// Every `(status, codes)` an operation may answer with an error, codes merged per status.
pub fn error_answers(method: &str, path: &str, has_query: bool) -> Vec<(u16, Vec<&'static str>)> {
    let own = OPERATION_ERRORS.iter().filter(|(m, p, _)| *m == method && *p == path).flat_map(|(_, _, e)| e.iter());
    let mut merged: Vec<(u16, Vec<&'static str>)> = Vec::new();
    for (status, codes) in common_errors(method, path, has_query).iter().chain(own) {
        match merged.iter_mut().find(|(s, _)| s == status) {
            Some((_, all)) => all.extend(codes.iter().filter(|c| !all.contains(c)).collect::<Vec<_>>()),
            None => merged.push((*status, codes.to_vec())),
        }
    }
    merged.sort_by_key(|(s, _)| *s);
    merged
}

fn header(description: &str, schema: Value) -> Value {
    json!({"description": description, "schema": schema})
}

fn etag_header() -> Value {
    header(
        "The resource's version as a strong ETag (`\"3\"`); send it back in `If-Match`",
        json!({"type": "string", "pattern": "^\"[0-9]+\"$"}),
    )
}

fn retry_after_header() -> Value {
    header("Seconds to wait before retrying", json!({"type": "string", "pattern": "^[0-9]+$"}))
}

/// A single resource's path: it ends in a path parameter (`/patients/{patientId}`), or is the payment route.
fn is_single_resource(path: &str) -> bool {
    path.ends_with('}') || path.ends_with("/payment")
}

/// The document served at `/openapi.json`: the routers' operations, completed as the module documentation
/// describes. `api` holds the `/api` operations, `root` the health and metrics routes.
pub fn document(api: Document, root: Document) -> Value {
    let mut doc = base();
    doc.merge(api);
    doc.merge(root);
    let mut doc = serde_json::to_value(&doc).unwrap_or_default();
    add_root_routes(&mut doc);
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else { continue };
            for (method, op) in item.iter_mut() {
                if path.starts_with("/api/") {
                    complete_api_operation(method, path, op);
                }
                for response in
                    op.get_mut("responses").and_then(Value::as_object_mut).into_iter().flat_map(|r| r.values_mut())
                {
                    response["headers"]["X-Request-Id"] =
                        header("The request's ID (echoed when the client sent a valid one)", json!({"type": "string"}));
                }
            }
        }
    }
    add_links(&mut doc);
    doc["components"]["securitySchemes"]["bearerAuth"] = json!({
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token: `gospital token --role ROLE` in mode local, the identity provider's in mode \
                        oidc (SECURITY.md §1). Every /api route needs one except in mode off.",
    });
    doc
}

/// The schemas of the query parameters every list shares, as `QueryParams` reads them (API.md §1.8): `page`
/// 1–2147483647; `limit` at least 1 with larger values capped at 100, so any larger integer is valid; `cursor`
/// opaque.
fn shared_query_schema(name: &str) -> Option<Value> {
    match name {
        "page" => Some(json!({"type": "integer", "minimum": 1, "maximum": 2_147_483_647})),
        "limit" => Some(json!({"type": "integer", "minimum": 1})),
        "cursor" => Some(json!({"type": "string"})),
        _ => None,
    }
}

/// Error answers, headers and request headers of one `/api` operation.
fn complete_api_operation(method: &str, path: &str, op: &mut Value) {
    let mut params = op["parameters"].as_array().cloned().unwrap_or_default();
    for p in params.iter_mut().filter(|p| p["in"] == "query") {
        if let Some(schema) = p["name"].as_str().and_then(shared_query_schema) {
            p["schema"] = schema;
        }
        // An empty value counts as absent (API.md §1.7).
        p["allowEmptyValue"] = Value::Bool(true);
    }
    let has_query = params.iter().any(|p| p["in"] == "query");
    let responses = op["responses"].as_object_mut().map(std::mem::take).unwrap_or_default();
    let mut responses: Map<String, Value> = responses;
    for (status, code) in responses.iter_mut() {
        if status.starts_with('2') && is_single_resource(path) || status == "201" {
            code["headers"]["ETag"] = etag_header();
        }
        if status == "201" {
            code["headers"]["Location"] = header("Path of the new resource", json!({"type": "string"}));
            code["headers"]["Idempotent-Replayed"] = header(
                "`true` when this is the stored answer of an earlier request with the same Idempotency-Key",
                json!({"type": "string", "enum": ["true"]}),
            );
        }
    }
    for (status, codes) in error_answers(method, path, has_query) {
        let list = codes.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
        let mut answer = json!({
            "description": format!("error.code: {list}"),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
        });
        if status == 401 || status == 403 {
            answer["headers"]["WWW-Authenticate"] = header(
                "The bearer challenge: `Bearer realm=\"gospital\"`, with `error=\"invalid_token\"` for a token that \
                 did not verify, `error=\"insufficient_scope\"` for roles that do not allow this",
                json!({"type": "string"}),
            );
        }
        if status == 503 || status == 429 || (status == 409 && codes.contains(&"IDEMPOTENCY_KEY_IN_USE")) {
            answer["headers"]["Retry-After"] = retry_after_header();
        }
        if status == 412 {
            answer["headers"]["ETag"] = etag_header();
        }
        responses.insert(status.to_string(), answer);
    }
    op["responses"] = Value::Object(responses);
    if let Some(grant) = crate::auth::matrix::grant_for(method, path) {
        // SECURITY.md §3, from the very table the middleware decides with.
        op["security"] = json!([{"bearerAuth": []}]);
        op["x-gospital-roles"] = json!({
            "full": grant.full.names(),
            "restricted": match grant.restricted {
                crate::auth::matrix::Restricted::Own => json!({"patient": "own rows only"}),
                crate::auth::matrix::Restricted::Vitals => json!({"nurse": "vitalSigns and amendmentReason only"}),
                crate::auth::matrix::Restricted::None => json!({}),
            },
        });
        let roles = format!("Roles: {}.", grant.describe());
        op["description"] = Value::String(match op["description"].as_str() {
            Some(d) if !d.is_empty() => format!("{d}\n\n{roles}"),
            _ => roles,
        });
    }
    match method {
        "post" if takes_idempotency_key(path) => params.push(json!({
            "name": "Idempotency-Key",
            "in": "header",
            "required": false,
            "description": "Makes the POST safe to retry (API.md §1.11): 1–128 visible ASCII characters",
            "schema": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[!-~]+$"},
        })),
        "put" | "delete" => params.push(json!({
            "name": "If-Match",
            "in": "header",
            "required": false,
            "description": "Apply only to this version: `*` or a list of strong ETags (`\"3\"`); otherwise 412",
            "schema": {"type": "string"},
        })),
        _ => {}
    }
    if !params.is_empty() {
        op["parameters"] = Value::Array(params);
    }
}

/// From each create to the operations on what it created: `POST /api/v1/patients` → every operation whose path
/// starts with `/api/v1/patients/{patientId}`, the ID taken from the 201 body. Stateful tests follow these.
fn add_links(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object().cloned() else { return };
    for (collection, item) in &paths {
        if item.get("post").is_none() {
            continue;
        }
        let mut links = Map::new();
        for (path, other) in &paths {
            let Some(rest) = path.strip_prefix(&format!("{collection}/{{")) else { continue };
            let Some((param, _)) = rest.split_once('}') else { continue };
            for (method, op) in other.as_object().into_iter().flatten() {
                let Some(id) = op["operationId"].as_str() else { continue };
                let name = format!("{}{}", method.to_uppercase(), id);
                links.insert(
                    name,
                    json!({"operationId": id, "parameters": {param: format!("$response.body#/{param}")}}),
                );
            }
        }
        if let Some(created) = doc["paths"][collection]["post"]["responses"].get_mut("201") {
            created["links"] = Value::Object(links);
        }
    }
}

/// The document, Swagger UI and the Go original's redirects are routes too (API.md §3.0 #1–3).
fn add_root_routes(doc: &mut Value) {
    let paths = &mut doc["paths"];
    paths["/openapi.json"] = json!({"get": {
        "tags": ["docs"], "operationId": "openapi", "summary": "This document",
        "responses": {"200": {"description": "The OpenAPI 3.1 document",
            "content": {"application/json": {"schema": {"type": "object"}}}}},
    }});
    paths["/swagger-ui/"] = json!({"get": {
        "tags": ["docs"], "operationId": "swagger_ui", "summary": "Swagger UI, served from the binary",
        "responses": {"200": {"description": "The Swagger UI page", "content": {"text/html": {"schema": {"type": "string"}}}}},
    }});
    paths["/swagger/doc.json"] = json!({"get": {
        "tags": ["docs"], "operationId": "swagger_doc", "summary": "The Go original's document path",
        "responses": {"301": {"description": "Redirect to /openapi.json",
            "headers": {"Location": header("`/openapi.json`", json!({"type": "string", "enum": ["/openapi.json"]}))}}},
    }});
}

/// `GET /swagger-ui` → 301 `/swagger-ui/`. Routed by the outer router, because the Swagger UI router
/// claims the path itself with a 303.
pub async fn to_swagger_ui() -> Response {
    moved("/swagger-ui/")
}

fn moved(to: &'static str) -> Response {
    (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, to)]).into_response()
}

/// `/openapi.json` (the document `doc`), `/swagger-ui/` and the redirects.
pub fn routes(doc: Value) -> Router<AppState> {
    // validatorUrl none: by default Swagger UI sends the document's URL to validator.swagger.io whenever it is
    // served under a name other than localhost, which would tell an outside service where the API lives.
    let ui = SwaggerUi::new("/swagger-ui")
        .external_url_unchecked("/openapi.json", doc)
        .config(Config::default().validator_url("none"));
    Router::new()
        .merge(ui)
        .route("/swagger/doc.json", get(|| async { moved("/openapi.json") }))
        .route("/swagger", get(|| async { moved("/swagger-ui/") }))
        // The catch-all below needs at least one character after the slash, so `/swagger/` has its own route.
        .route("/swagger/", get(|| async { moved("/swagger-ui/") }))
        .route("/swagger/{*rest}", get(|| async { moved("/swagger-ui/") }))
}
