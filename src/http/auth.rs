//! `GET /api/v1/me` and the admin's revocations (SECURITY.md §2, §4).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{JsonBody, QueryParams, cursor};
use super::json::{Json, Obj, Validator, rules};
use super::wire::ok;
use crate::domain::formats::Timestamp;
use crate::domain::ids::PatientId;
use crate::domain::revocation::{CreateRevocationRequest, Revocation};
use crate::error::{ApiError, ApiResult};
use crate::service::Ctx;
use crate::state::AppState;

/// Body of `GET /api/v1/me`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    #[schema(example = "dr-grey")]
    pub sub: String,
    /// The known roles the token carries.
    #[schema(example = json!(["doctor"]))]
    pub roles: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The patient a `patient`-role token belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient_id: Option<PatientId>,
    /// `local`, `oidc` or `off`.
    #[schema(example = "local")]
    pub auth_mode: &'static str,
    /// When the token expires; `null` in mode `off`.
    #[schema(value_type = Option<Timestamp>)]
    pub expires_at: Option<Timestamp>,
}

/// Body of `GET /api/v1/admin/revocations`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevocationList {
    /// Newest first.
    pub revocations: Vec<Revocation>,
    /// `null` on the last page.
    pub next_cursor: Option<String>,
}

/// This module's `/api/v1` routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(me)).routes(routes!(list_revocations, revoke))
}

/// Who the token says is calling (any role).
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, description = "The caller", body = Me)))]
async fn me(State(state): State<AppState>, ctx: Ctx) -> ApiResult<Response> {
    let p = &ctx.actor;
    Ok(ok(&Me {
        sub: p.sub.clone(),
        roles: p.roles.names(),
        name: p.name.clone(),
        patient_id: p.patient_id.clone(),
        auth_mode: state.auth.mode.as_str(),
        expires_at: p.expires_at.map(|s| Timestamp::from_millis(s.saturating_mul(1000))),
    }))
}

/// Revokes every token of a `sub` issued until now, on every instance within 5 s (admin).
#[utoipa::path(post, path = "/api/v1/admin/revocations", tag = "auth",
    request_body = CreateRevocationRequest,
    responses((status = 201, description = "Revoked", body = Revocation)))]
async fn revoke(State(state): State<AppState>, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult<Response> {
    let req = parse_revocation(&body)?;
    let revocation = state.service.revoke(&ctx, req, &state.auth.revocations).await?;
    Ok((StatusCode::CREATED, [(header::CONTENT_TYPE, "application/json")], axum::Json(revocation)).into_response())
}

/// Lists revocations, newest first (admin).
#[utoipa::path(get, path = "/api/v1/admin/revocations", tag = "auth",
    params(
        ("limit" = Option<u32>, Query, description = "Page size, default 50, capped to 100"),
        ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page"),
    ),
    responses((status = 200, description = "One page of revocations", body = RevocationList)))]
async fn list_revocations(State(state): State<AppState>, ctx: Ctx, q: QueryParams) -> ApiResult<Response> {
    let mut v = q.validator();
    let limit = q.limit(&mut v, 50);
    let scope = "/api/v1/admin/revocations";
    let after = cursor::from_query(&q, &mut v, scope);
    v.finish()?;
    let page = state.service.revocations(&ctx, limit, after.as_ref()).await?;
    Ok(ok(&RevocationList { revocations: page.items, next_cursor: page.next.map(|k| cursor::encode(scope, &k)) }))
}

/// `{"sub": 1–255, "reason": 1–500}`.
fn parse_revocation(body: &Json) -> ApiResult<CreateRevocationRequest> {
    let o = Obj::root(body)?;
    let mut v = Validator::new();
    let sub = v.required("sub", o.string("sub")?, rules::text(255));
    let reason = v.required("reason", o.string("reason")?, rules::text(500));
    v.finish()?;
    match (sub, reason) {
        (Some(sub), Some(reason)) => Ok(CreateRevocationRequest { sub, reason }),
        _ => Err(ApiError::internal("revocation validator passed a missing member")),
    }
}
