//! A revocation (SECURITY.md §4): every token of `sub` issued at or before `revokedAt` is refused from then on.

use serde::Serialize;
use utoipa::ToSchema;

use super::formats::Timestamp;

/// One revocation, as stored (never changed or removed) and as `/api/v1/admin/revocations` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Revocation {
    /// Orders revocations made in the same millisecond; not part of the API.
    #[serde(skip)]
    pub id: String,
    #[schema(example = "dr-grey")]
    pub sub: String,
    #[schema(example = "Laptop stolen")]
    pub reason: String,
    #[schema(value_type = Timestamp)]
    pub revoked_at: Timestamp,
    /// The `sub` of the admin who revoked.
    #[schema(example = "admin")]
    pub revoked_by: String,
}

/// Body of `POST /api/v1/admin/revocations`.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"sub": "dr-grey", "reason": "Laptop stolen"}))]
pub struct CreateRevocationRequest {
    /// The token subject to revoke: every token of it issued until now is refused.
    #[schema(schema_with = super::schema::text::<255>)]
    pub sub: String,
    #[schema(schema_with = super::schema::text::<500>)]
    pub reason: String,
}
