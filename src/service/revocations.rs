//! Revocation use cases (SECURITY.md §4): an admin revokes a `sub`; the list pages newest first.

use super::{Ctx, Service};
use crate::domain::formats::Timestamp;
use crate::domain::revocation::{CreateRevocationRequest, Revocation};
use crate::error::{ApiError, ApiResult};
use crate::store::{CursorKey, KeyPage};

impl Service {
    /// Stores the revocation, then applies it on this instance at once (the others read it within 5 s).
    pub async fn revoke(
        &self,
        ctx: &Ctx,
        req: CreateRevocationRequest,
        list: &crate::auth::revocations::Revocations,
    ) -> ApiResult<Revocation> {
        let revocation = Revocation {
            id: ulid::Ulid::new().to_string(),
            sub: req.sub,
            reason: req.reason,
            // Compared with tokens' `iat`, which the signer's wall clock set: the real clock, not the service's
            // (which tests move), is the one that orders them.
            revoked_at: Timestamp::from_utc(chrono::Utc::now()),
            revoked_by: ctx.actor.sub.clone(),
        };
        let event = ctx.write_event(&revocation.sub, &[]);
        self.clinic
            .insert_revocation(&revocation, &event)
            .await
            .map_err(|e| ApiError::from_store_call(e, "revocation"))?;
        ctx.audit.written();
        list.note(&revocation.sub, revocation.revoked_at.millis());
        Ok(revocation)
    }

    /// One page of revocations, newest first.
    pub async fn revocations(
        &self,
        _ctx: &Ctx,
        limit: u32,
        after: Option<&CursorKey>,
    ) -> ApiResult<KeyPage<Revocation>> {
        self.clinic.list_revocations(limit, after).await.map_err(|e| ApiError::from_store_call(e, "revocation"))
    }
}
