//! OpenAPI 3.1 document (generated from the handlers' annotations and the wire types), Swagger UI served
//! from the binary, and the Go original's `/swagger/*` paths redirected to them.

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use utoipa::openapi::OpenApi as Document;
use utoipa::{OpenApi, ToSchema};
use utoipa_swagger_ui::{Config, SwaggerUi};

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
    /// Stable code; clients branch on this only.
    #[schema(example = "VALIDATION_ERROR")]
    pub code: String,
    #[schema(example = "Invalid input data")]
    pub message: String,
    /// One `path: problem` entry per problem; omitted when empty.
    pub details: Option<Vec<String>>,
    /// Equals the `X-Request-Id` response header.
    pub request_id: String,
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

/// The whole document: every resource module's fragment merged into the base.
pub fn openapi() -> Document {
    let mut doc = Base::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    for part in [
        crate::http::health::Api::openapi(),
        crate::http::patients::Api::openapi(),
        crate::http::doctors::Api::openapi(),
        crate::http::departments::Api::openapi(),
        crate::http::appointments::Api::openapi(),
        crate::http::medical_records::Api::openapi(),
        crate::http::invoices::Api::openapi(),
    ] {
        doc.merge(part);
    }
    doc
}

/// `GET /swagger-ui` → 301 `/swagger-ui/`. Routed by the outer router, because the Swagger UI router
/// claims the path itself with a 303.
pub async fn to_swagger_ui() -> Response {
    moved("/swagger-ui/")
}

fn moved(to: &'static str) -> Response {
    (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, to)]).into_response()
}

/// `/openapi.json`, `/swagger-ui/` and the redirects.
pub fn routes() -> Router<AppState> {
    // validatorUrl none: by default Swagger UI sends the document's URL to validator.swagger.io whenever it is
    // served under a name other than localhost, which would tell an outside service where the API lives.
    let ui =
        SwaggerUi::new("/swagger-ui").url("/openapi.json", openapi()).config(Config::default().validator_url("none"));
    Router::new()
        .merge(ui)
        .route("/swagger/doc.json", get(|| async { moved("/openapi.json") }))
        .route("/swagger", get(|| async { moved("/swagger-ui/") }))
        // The catch-all below needs at least one character after the slash, so `/swagger/` has its own route.
        .route("/swagger/", get(|| async { moved("/swagger-ui/") }))
        .route("/swagger/{*rest}", get(|| async { moved("/swagger-ui/") }))
}
