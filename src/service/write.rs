//! The read–plan–conditional-write–re-read protocol of every update (API.md §1.10), written once.
//!
//! An update reads the current version, checks `If-Match` against it, plans the next state with the pure rules
//! (`None`: nothing changes, so nothing is written and the version stays), writes it conditionally on the version
//! read, and reads the result back so the answer reflects the store (live joins included). A write that loses
//! the race to another writer (`StoreError::Stale`) starts over from the read and re-applies every rule, so
//! concurrent writers never lose an update; with an `If-Match` the re-read version no longer matches and the
//! answer is 412. Only when the request's deadline is nearly spent does a lost race become 503.
//!
//! Writers of one resource on one instance also take turns ([`WriterTurns`]): instead of all reading the same
//! version and all but one losing, each reads the version its predecessor wrote. That turns twenty concurrent
//! amendments of a hot record into twenty writes instead of a few hundred failed attempts. Correctness never rests
//! on it: other instances are not in the turn, and the conditional write still decides.

use std::hash::{Hash, Hasher};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Mutex;

use super::{Ctx, not_found};
use crate::domain::Versioned;
use crate::error::{ApiError, ApiResult, Entity, ErrorCode};
use crate::store::{AuditEvent, StoreError, StoreResult};

/// Attempts before a writer that keeps losing races gives up with 503. Each lost race means another writer
/// succeeded, so N concurrent writers of one resource all finish within N attempts.
const MAX_ATTEMPTS: u32 = 64;

/// A lost race is not retried with less than this left of the request's deadline: the answer would be a 504
/// anyway, and a prompt 503 with `Retry-After` tells the client more.
const MIN_TIME_LEFT: Duration = Duration::from_millis(20);

/// An `If-Match` header as parsed (API.md §1.10).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Precondition {
    /// No `If-Match`: the write applies to the latest version.
    #[default]
    Absent,
    /// `If-Match: *`: any existing version.
    Any,
    /// A list of strong ETags (`"3", "4"`), as versions.
    Versions(Vec<i64>),
    /// Weak tags only, or an unparsable value: matches nothing.
    Unmatchable,
}

impl Precondition {
    /// Parses the header value; `None` (no header) is [`Precondition::Absent`].
    pub fn parse(header: Option<&str>) -> Self {
        let Some(value) = header else { return Self::Absent };
        let value = value.trim();
        if value == "*" {
            return Self::Any;
        }
        let mut versions = Vec::new();
        for tag in value.split(',').map(str::trim) {
            // A weak tag (`W/"3"`) never matches under strong comparison, so it only counts if a strong one follows.
            if tag.starts_with("W/") {
                continue;
            }
            let Some(inner) = tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else {
                return Self::Unmatchable;
            };
            match inner.parse::<i64>() {
                Ok(v) if inner.bytes().all(|b| b.is_ascii_digit()) => versions.push(v),
                _ => return Self::Unmatchable,
            }
        }
        if versions.is_empty() { Self::Unmatchable } else { Self::Versions(versions) }
    }

    /// 412 PRECONDITION_FAILED (with the current ETag) unless the current version satisfies the header.
    pub fn check(&self, current: i64) -> ApiResult<()> {
        let allowed = match self {
            Self::Absent | Self::Any => true,
            Self::Versions(versions) => versions.contains(&current),
            Self::Unmatchable => false,
        };
        if allowed { Ok(()) } else { Err(precondition_failed(current)) }
    }
}

/// 412 naming the version the client should have sent.
fn precondition_failed(current: i64) -> ApiError {
    ApiError::new(ErrorCode::PRECONDITION_FAILED)
        .with_detail(format!("If-Match: current version is {current}"))
        .with_etag(current)
}

/// Turns of the writers of one resource within this instance: a fixed set of locks, a resource hashed to one.
/// Two resources sharing a lock only wait for each other's few statements.
#[derive(Debug)]
pub struct WriterTurns {
    stripes: Vec<Mutex<()>>,
}

impl WriterTurns {
    const STRIPES: usize = 256;

    pub fn new() -> Self {
        Self { stripes: (0..Self::STRIPES).map(|_| Mutex::new(())).collect() }
    }

    async fn take(&self, entity: Entity, id: &str) -> tokio::sync::MutexGuard<'_, ()> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (entity.name(), id).hash(&mut h);
        let stripe = usize::try_from(h.finish() % Self::STRIPES as u64).unwrap_or(0);
        self.stripes[stripe].lock().await
    }
}

impl Default for WriterTurns {
    fn default() -> Self {
        Self::new()
    }
}

/// One update use case: how to read the resource, plan its next state and write it.
#[async_trait]
pub trait Update: Send + Sync {
    type Resource: Versioned;
    /// What the conditional write reports (e.g. how many appointments a deactivation cancelled).
    type Written: Send;
    /// The entity named in the path, for 404 and the store-error mapping.
    const ENTITY: Entity;

    /// The resource's ID, which names its writers' turn.
    fn id(&self) -> &str;

    /// The current state; `None` when it does not exist.
    async fn load(&self) -> ApiResult<Option<Self::Resource>>;

    /// The next state from the current one, or `None` when the request changes nothing. Version and
    /// `updatedAt` are stamped by [`update`].
    async fn plan(&self, current: &Self::Resource) -> ApiResult<Option<Self::Resource>>;

    /// The patient whose data the resource is (its audit event names it); `None` for directory resources.
    fn patient_of<'r>(&self, _resource: &'r Self::Resource) -> Option<&'r str> {
        None
    }

    /// Writes `next` only if the stored version is still `current`'s (else `StoreError::Stale`), with `event` in
    /// the same transaction.
    async fn write(
        &self,
        current: &Self::Resource,
        next: &Self::Resource,
        event: &AuditEvent,
    ) -> StoreResult<Self::Written>;
}

/// The outcome of an update: the resource as stored afterwards, and what the write reported (`None` for a no-op).
#[derive(Debug, Clone, PartialEq)]
pub struct Updated<R, W> {
    pub resource: R,
    pub written: Option<W>,
}

/// Runs `u` under `precondition`. See the module documentation.
pub async fn update<U: Update>(
    u: &U,
    ctx: &Ctx,
    turns: &WriterTurns,
    precondition: &Precondition,
) -> ApiResult<Updated<U::Resource, U::Written>> {
    let turn = turns.take(U::ENTITY, u.id()).await;
    for attempt in 0..MAX_ATTEMPTS {
        let current = u.load().await?.ok_or_else(|| not_found(U::ENTITY))?;
        precondition.check(current.version())?;
        let Some(mut next) = u.plan(&current).await? else {
            ctx.audit.touch(Some(u.id()), u.patient_of(&current));
            return Ok(Updated { resource: current, written: None });
        };
        next.stamp(current.version() + 1, ctx.now());
        let event = ctx.audit.write_event(u.id(), &u.patient_of(&next).into_iter().collect::<Vec<_>>(), ctx.now());
        match u.write(&current, &next, &event).await {
            Ok(written) => {
                ctx.audit.written();
                drop(turn);
                let stored = u
                    .load()
                    .await?
                    .ok_or_else(|| ApiError::internal(format!("{} vanished after its write", U::ENTITY.name())))?;
                return Ok(Updated { resource: stored, written: Some(written) });
            }
            Err(StoreError::Stale) if time_left() => back_off(attempt).await,
            Err(e) => return Err(ApiError::from_store(e, U::ENTITY)),
        }
    }
    Err(ApiError::from_store(StoreError::Stale, U::ENTITY))
}

fn time_left() -> bool {
    crate::deadline::current().is_none_or(|d| d.remaining() > MIN_TIME_LEFT)
}

/// A random pause before re-reading ("full jitter": uniform below a ceiling that doubles per lost race, from 1 ms up
/// to 32 ms), so writers that lost together spread out instead of colliding again in lock step.
async fn back_off(attempt: u32) {
    let ceiling = 1_000u64 << attempt.min(5);
    tokio::time::sleep(Duration::from_micros(rand::random_range(0..ceiling))).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_matches_strong_tags_and_star_only() {
        use Precondition::*;
        assert_eq!(Precondition::parse(None), Absent);
        assert_eq!(Precondition::parse(Some("*")), Any);
        assert_eq!(Precondition::parse(Some(r#""3""#)), Versions(vec![3]));
        assert_eq!(Precondition::parse(Some(r#""3", "4""#)), Versions(vec![3, 4]));
        assert_eq!(Precondition::parse(Some(r#"W/"3""#)), Unmatchable);
        assert_eq!(Precondition::parse(Some(r#"W/"3", "4""#)), Versions(vec![4]));
        for bad in ["3", r#""abc""#, r#""-1""#, r#""3"#, "", r#""3" "4""#] {
            assert_eq!(Precondition::parse(Some(bad)), Unmatchable, "{bad}");
        }
        assert!(Versions(vec![3, 4]).check(4).is_ok());
        let err = Versions(vec![3]).check(4).unwrap_err();
        assert_eq!(err.code, ErrorCode::PRECONDITION_FAILED);
        assert_eq!(err.details, vec!["If-Match: current version is 4"]);
        assert_eq!(err.etag, Some(4));
        assert!(Unmatchable.check(1).is_err());
        assert!(Any.check(9).is_ok() && Absent.check(9).is_ok());
    }
}
