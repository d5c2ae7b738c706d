//! OpenAPI 3.1 document (generated from the handlers' annotations and the wire types) and Swagger UI.

use axum::Router;
use serde::Serialize;
use utoipa::ToSchema;

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

/// Root routes for the document and the UI.
pub fn routes() -> Router<AppState> {
    Router::new()
}
