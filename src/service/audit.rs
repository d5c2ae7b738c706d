//! Reading the audit trail (SECURITY.md §5 routes): an auditor's search over both stores' events, and a
//! patient's access log. Both stores are asked at once and their pages merged newest first; a store that is down
//! makes the answer 503 rather than a silently partial trail.

use super::{Ctx, Service};
use crate::audit::{AuditEvent, AuditFilter, event_key};
use crate::domain::ids::PatientId;
use crate::error::{ApiError, ApiResult};
use crate::store::{CursorKey, KeyPage};

impl Service {
    /// One page of events matching `filter`, newest first, from both stores.
    pub async fn audit_events(
        &self,
        ctx: &Ctx,
        filter: &AuditFilter,
        limit: u32,
        after: Option<&CursorKey>,
    ) -> ApiResult<KeyPage<AuditEvent>> {
        let (r, d) = tokio::join!(
            self.clinic.list_audit_events(filter, limit, after),
            self.records.list_audit_events(filter, limit, after)
        );
        let r = r.map_err(|e| ApiError::from_store_call(e, "audit event"))?;
        let d = d.map_err(|e| ApiError::from_store_call(e, "audit event"))?;
        let page = merge(r, d, limit);
        ctx.audit.touch(None, page.items.iter().flat_map(|e| e.record.patient_ids.iter()));
        Ok(page)
    }

    /// The events naming patient `raw_patient` (who must exist, and be the caller for a patient), newest first.
    pub async fn access_log(
        &self,
        ctx: &Ctx,
        raw_patient: &str,
        filter: AuditFilter,
        limit: u32,
        after: Option<&CursorKey>,
    ) -> ApiResult<(PatientId, KeyPage<AuditEvent>)> {
        let patient = self.patient_named(ctx, raw_patient).await?;
        let filter = AuditFilter { patient_id: Some(patient.patient_id.to_string()), ..filter };
        let page = self.audit_events(ctx, &filter, limit, after).await?;
        ctx.audit.touch(Some(patient.patient_id.as_str()), [patient.patient_id.as_str()]);
        Ok((patient.patient_id, page))
    }
}

/// The first `limit` of two newest-first pages, with a cursor when either store has more.
fn merge(r: KeyPage<AuditEvent>, d: KeyPage<AuditEvent>, limit: u32) -> KeyPage<AuditEvent> {
    let more_in_stores = r.next.is_some() || d.next.is_some();
    let mut items: Vec<AuditEvent> = r.items.into_iter().chain(d.items).collect();
    items.sort_by(|a, b| {
        event_key(b).sort.cmp(&event_key(a).sort).then_with(|| b.record.event_id.cmp(&a.record.event_id))
    });
    let page_len = limit.max(1) as usize;
    let more = more_in_stores || items.len() > page_len;
    items.truncate(page_len);
    let next = if more { items.last().map(event_key) } else { None };
    KeyPage { items, next }
}
