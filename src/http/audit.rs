//! The audit trail's routes (SECURITY.md §5): `GET /api/v1/audit-events` (auditor) and
//! `GET /api/v1/patients/{patientId}/access-log` (auditor; a patient, its own).

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{QueryParams, cursor};
use super::json::Validator;
use super::wire::ok;
use crate::audit::{Action, AuditEvent, AuditFilter, ResourceType};
use crate::domain::formats::{Timestamp, parse_timestamp};
use crate::domain::ids::PatientId;
use crate::error::ApiResult;
use crate::service::Ctx;
use crate::state::AppState;

/// Body of `GET /api/v1/audit-events`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventList {
    /// Newest first, from both stores.
    pub events: Vec<AuditEvent>,
    /// `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Who touched a patient's data, as the access log shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessActor {
    pub sub: String,
    pub roles: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One entry of an access log.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessEntry {
    #[schema(value_type = Timestamp)]
    pub recorded_at: Timestamp,
    pub actor: AccessActor,
    pub action: Action,
    pub resource_type: Option<ResourceType>,
    pub resource_id: Option<String>,
    /// The HTTP status answered.
    pub outcome: u16,
}

/// Body of `GET /api/v1/patients/{patientId}/access-log`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessLog {
    pub patient_id: PatientId,
    /// Newest first.
    pub entries: Vec<AccessEntry>,
    /// `null` on the last page.
    pub next_cursor: Option<String>,
}

/// This module's `/api/v1` routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit_events)).routes(routes!(access_log))
}

/// Searches the audit trail of both stores, newest first (auditor).
#[utoipa::path(get, path = "/api/v1/audit-events", tag = "audit",
    params(
        ("patientId" = Option<String>, Query, description = "Events naming this patient"),
        ("actorSub" = Option<String>, Query, description = "Events of this actor (`sub`)"),
        ("resourceType" = Option<ResourceType>, Query, description = "Events about this kind of resource"),
        ("action" = Option<Action>, Query, description = "Events of this action"),
        ("from" = Option<Timestamp>, Query, description = "Recorded at or after (RFC 3339)"),
        ("to" = Option<Timestamp>, Query, description = "Recorded at or before (RFC 3339)"),
        ("limit" = Option<u32>, Query, description = "Page size, default 50, capped to 100"),
        ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page"),
    ),
    responses((status = 200, description = "One page of events", body = AuditEventList)))]
async fn audit_events(State(state): State<AppState>, ctx: Ctx, q: QueryParams) -> ApiResult<Response> {
    let mut v = q.validator();
    let mut filter = time_filter(&q, &mut v);
    filter.patient_id = q.text(&mut v, "patientId", 40);
    filter.actor_sub = q.text(&mut v, "actorSub", 255);
    filter.resource_type = q.one_of(&mut v, "resourceType", ResourceType::parse, RESOURCE_TYPES);
    filter.action = q.one_of(&mut v, "action", Action::parse, ACTIONS);
    let limit = q.limit(&mut v, 50);
    let scope = format!("/api/v1/audit-events?{filter:?}");
    let after = cursor::from_query(&q, &mut v, &scope);
    v.finish()?;
    let page = state.service.audit_events(&ctx, &filter, limit, after.as_ref()).await?;
    Ok(ok(&AuditEventList { events: page.items, next_cursor: page.next.map(|k| cursor::encode(&scope, &k)) }))
}

/// Who touched this patient's data, newest first (auditor; a patient, its own).
#[utoipa::path(get, path = "/api/v1/patients/{patientId}/access-log", tag = "audit",
    params(
        ("patientId" = String, Path, description = "The patient"),
        ("from" = Option<Timestamp>, Query, description = "Recorded at or after (RFC 3339)"),
        ("to" = Option<Timestamp>, Query, description = "Recorded at or before (RFC 3339)"),
        ("limit" = Option<u32>, Query, description = "Page size, default 50, capped to 100"),
        ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "One page of the access log", body = AccessLog),
        (status = 404, description = "No such patient (or another patient's, for a patient)"),
    ))]
async fn access_log(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(raw_id): Path<String>,
    q: QueryParams,
) -> ApiResult<Response> {
    let mut v = q.validator();
    let filter = time_filter(&q, &mut v);
    let limit = q.limit(&mut v, 50);
    let scope = format!("/api/v1/patients/{raw_id}/access-log?{filter:?}");
    let after = cursor::from_query(&q, &mut v, &scope);
    v.finish()?;
    let (patient_id, page) = state.service.access_log(&ctx, &raw_id, filter, limit, after.as_ref()).await?;
    let entries = page
        .items
        .into_iter()
        .map(|e| {
            let r = e.record;
            AccessEntry {
                recorded_at: r.recorded_at,
                actor: AccessActor { sub: r.actor.sub, roles: r.actor.roles, name: r.actor.name },
                action: r.action,
                resource_type: r.resource_type,
                resource_id: r.resource_id,
                outcome: r.outcome,
            }
        })
        .collect();
    Ok(ok(&AccessLog { patient_id, entries, next_cursor: page.next.map(|k| cursor::encode(&scope, &k)) }))
}

const RESOURCE_TYPES: &[&str] =
    &["patient", "doctor", "department", "appointment", "medicalRecord", "invoice", "auditEvent", "revocation"];
const ACTIONS: &[&str] = &["create", "read", "update", "delete", "search"];

/// `from` and `to` (RFC 3339 timestamps, inclusive); `from` after `to` is refused.
fn time_filter(q: &QueryParams, v: &mut Validator) -> AuditFilter {
    let mut at = |name: &str| {
        let raw = q.get(name)?;
        let t = parse_timestamp(raw);
        if t.is_none() {
            v.fail(name, "must be an RFC 3339 timestamp");
        }
        t.map(Timestamp::millis)
    };
    let (from_ms, to_ms) = (at("from"), at("to"));
    if let (Some(f), Some(t)) = (from_ms, to_ms)
        && f > t
    {
        v.fail("from", "must not be after to");
    }
    AuditFilter { from_ms, to_ms, ..AuditFilter::default() }
}
