//! D's audit trail on DynamoDB (SECURITY.md §5): one table, `gospital-audit-events`, keyed like the document
//! tables (partition key `pk`, GSI `PatientIdIndex` on `patientId` + `sortKey`, projection ALL), so `migrate` and
//! the key check are the documents' own. The GSI's partition attribute names a list here rather than only a
//! patient:
//!
//! | item | `pk` | `patientId` (GSI partition) | `sortKey` |
//! |---|---|---|---|
//! | event (body, filter attributes; `seq`, `hash` once placed) | `<eventId>` | `all#D` | `<recordedAt ms, 20 digits>#<eventId>` |
//! | waiting for its seq (deleted when placed) | `pending#<eventId>` | `pending#D` | as the event |
//! | one per patient the event names | `patient#<patientId>#<eventId>` | `<patientId>` | as the event |
//! | one per placed seq | `seq#<seq, 20 digits>` | `seq#D` | `<seq, 20 digits>` |
//! | checkpoint | `checkpoint#<seq, 20 digits>` | `checkpoints#D` | `<seq, 20 digits>` |
//! | the sequencer's lease; the chain's head | `lease`; `head` | — | — |
//!
//! An event's items are written in the same `TransactWriteItems` as the write it describes (or, for a request that
//! wrote nothing, in one of their own). Placing events is one transaction per 32 events that also renews the lease
//! (conditional on still holding it) and moves the head (conditional on it being where the placement started),
//! so two sequencers can never both place. Listing reads the events' own items (the `all#D` list) or, for one
//! patient, that patient's items and then the events themselves, so `seq` and `hash` are always the event's.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, KeysAndAttributes, Put, TransactWriteItem, Update};

use super::{DynamoRecordStore, PATIENT_ATTR, PATIENT_INDEX, Transacted, build_error, map_sdk_error, s};
use crate::audit::{AuditEvent, AuditFilter, Chain, ChainHead, Checkpoint, event_key};
use crate::domain::formats::Timestamp;
use crate::store::{AuditStore, CursorKey, KeyPage, StoreError, StoreResult};

/// Partition key of the audit table.
pub const KEY_ATTR: &str = "pk";
/// Sort key of its `PatientIdIndex`.
pub const SORT_ATTR: &str = "sortKey";

const ALL: &str = "all#D";
const PENDING: &str = "pending#D";
const SEQS: &str = "seq#D";
const CHECKPOINTS: &str = "checkpoints#D";
const LEASE: &str = "lease";
const HEAD: &str = "head";
/// Events placed per transaction: 3 items each, plus the lease and the head, within DynamoDB's 100.
const PLACE_BATCH: usize = 32;

type Item = HashMap<String, AttributeValue>;
/// A FilterExpression with its attribute names and values.
type Filter = (String, HashMap<String, String>, HashMap<String, AttributeValue>);

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn time_key(e: &AuditEvent) -> String {
    format!("{:020}#{}", e.record.recorded_at.millis(), e.record.event_id)
}

fn seq_key(seq: i64) -> String {
    format!("{seq:020}")
}

fn text(item: &Item, attr: &str) -> Option<String> {
    match item.get(attr) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

fn number(item: &Item, attr: &str) -> Option<i64> {
    match item.get(attr) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

/// The event an `all#D` event item holds.
fn event_of(item: &Item) -> StoreResult<AuditEvent> {
    let body = text(item, "body").ok_or_else(|| StoreError::Internal("audit item without a body".into()))?;
    AuditEvent::stored(body, Chain::D, number(item, "seq"), text(item, "hash")).map_err(StoreError::Internal)
}

fn checkpoint_of(item: &Item) -> StoreResult<Checkpoint> {
    let corrupt = || StoreError::Internal("corrupt audit checkpoint item".into());
    Ok(Checkpoint {
        store: Chain::D,
        seq: number(item, "seq").ok_or_else(corrupt)?,
        hash: text(item, "hash").ok_or_else(corrupt)?,
        signed_at: Timestamp::from_millis(number(item, "signedAt").ok_or_else(corrupt)?),
        key_id: text(item, "keyId").ok_or_else(corrupt)?,
        signature: text(item, "signature").ok_or_else(corrupt)?,
    })
}

/// The attributes the filters read, on event and patient items alike.
fn filter_attrs(e: &AuditEvent, item: &mut Item) {
    let r = &e.record;
    item.insert("eventId".into(), s(r.event_id.as_str()));
    item.insert("recordedAt".into(), n(r.recorded_at.millis()));
    item.insert("actorSub".into(), s(r.actor.sub.as_str()));
    item.insert("action".into(), s(r.action.as_str()));
    if let Some(t) = r.resource_type {
        item.insert("resourceType".into(), s(t.as_str()));
    }
}

impl DynamoRecordStore {
    fn put_new_item(&self, item: Item) -> StoreResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.audit_table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", KEY_ATTR)
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The items of one new event (event, pending marker, one per patient), for a `TransactWriteItems`.
    pub(super) fn event_items(&self, e: &AuditEvent) -> StoreResult<Vec<TransactWriteItem>> {
        let key = time_key(e);
        let id = e.record.event_id.as_str();
        let mut event: Item = HashMap::from([
            (KEY_ATTR.to_owned(), s(id)),
            (PATIENT_ATTR.to_owned(), s(ALL)),
            (SORT_ATTR.to_owned(), s(key.as_str())),
            ("body".to_owned(), s(e.canonical.as_str())),
        ]);
        filter_attrs(e, &mut event);
        let pending: Item = HashMap::from([
            (KEY_ATTR.to_owned(), s(format!("pending#{id}"))),
            (PATIENT_ATTR.to_owned(), s(PENDING)),
            (SORT_ATTR.to_owned(), s(key.as_str())),
            ("eventId".to_owned(), s(id)),
            ("body".to_owned(), s(e.canonical.as_str())),
        ]);
        let mut items = vec![self.put_new_item(event)?, self.put_new_item(pending)?];
        for p in &e.record.patient_ids {
            let mut item: Item = HashMap::from([
                (KEY_ATTR.to_owned(), s(format!("patient#{p}#{id}"))),
                (PATIENT_ATTR.to_owned(), s(p.as_str())),
                (SORT_ATTR.to_owned(), s(key.as_str())),
            ]);
            filter_attrs(e, &mut item);
            items.push(self.put_new_item(item)?);
        }
        Ok(items)
    }

    /// The event items of `ids`, strongly consistent, in the order of `ids`; IDs without an item are left out.
    async fn events_by_id(&self, ids: &[String]) -> StoreResult<Vec<AuditEvent>> {
        let mut found: HashMap<String, AuditEvent> = HashMap::new();
        for chunk in ids.chunks(100) {
            let keys: Vec<Item> =
                chunk.iter().map(|id| HashMap::from([(KEY_ATTR.to_owned(), s(id.as_str()))])).collect();
            let mut request = Some(
                KeysAndAttributes::builder().set_keys(Some(keys)).consistent_read(true).build().map_err(build_error)?,
            );
            while let Some(keys) = request.take() {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.audit_table, keys)
                    .send()
                    .await
                    .map_err(|e| map_sdk_error("BatchGetItem", &self.audit_table, e))?;
                for item in out.responses.and_then(|mut r| r.remove(&self.audit_table)).unwrap_or_default() {
                    let e = event_of(&item)?;
                    found.insert(e.record.event_id.clone(), e);
                }
                request =
                    out.unprocessed_keys.and_then(|mut u| u.remove(&self.audit_table)).filter(|k| !k.keys().is_empty());
            }
        }
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// Items of one GSI list, in key order (`forward`) or reverse, with `sortKey` BETWEEN `low` and `high`, passing
    /// `filter`, until `want` are collected or the list ends; the item keyed `skip` (a cursor's own) is left out.
    #[allow(clippy::too_many_arguments)]
    async fn query_list(
        &self,
        list: &str,
        low: &str,
        high: &str,
        forward: bool,
        filter: Option<Filter>,
        want: usize,
        skip: Option<&str>,
    ) -> StoreResult<Vec<Item>> {
        let mut names =
            HashMap::from([("#p".to_owned(), PATIENT_ATTR.to_owned()), ("#s".to_owned(), SORT_ATTR.to_owned())]);
        let mut values =
            HashMap::from([(":p".to_owned(), s(list)), (":low".to_owned(), s(low)), (":high".to_owned(), s(high))]);
        let expression = filter.map(|(expr, fnames, fvalues)| {
            names.extend(fnames);
            values.extend(fvalues);
            expr
        });
        let mut rows = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.audit_table)
                .index_name(PATIENT_INDEX)
                .key_condition_expression("#p = :p AND #s BETWEEN :low AND :high")
                .set_filter_expression(expression.clone())
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(forward)
                .limit(i32::try_from(want.clamp(1, 1000)).unwrap_or(1000).max(100))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| map_sdk_error("Query", &self.audit_table, e))?;
            for item in out.items.unwrap_or_default() {
                if rows.len() >= want {
                    break;
                }
                if skip.is_some() && text(&item, SORT_ATTR).as_deref() == skip {
                    continue;
                }
                rows.push(item);
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() && rows.len() < want => start = Some(key),
                _ => break,
            }
        }
        Ok(rows)
    }
}

/// The FilterExpression of an event filter's non-key members.
fn filter_expression(f: &AuditFilter) -> Option<Filter> {
    let mut parts = Vec::new();
    let mut names = HashMap::new();
    let mut values = HashMap::new();
    let mut add = |attr: &str, value: &str| {
        let i = parts.len();
        parts.push(format!("#f{i} = :f{i}"));
        names.insert(format!("#f{i}"), attr.to_owned());
        values.insert(format!(":f{i}"), s(value));
    };
    if let Some(a) = &f.actor_sub {
        add("actorSub", a);
    }
    if let Some(t) = f.resource_type {
        add("resourceType", t.as_str());
    }
    if let Some(a) = f.action {
        add("action", a.as_str());
    }
    (!parts.is_empty()).then(|| (parts.join(" AND "), names, values))
}

#[async_trait]
impl AuditStore for DynamoRecordStore {
    async fn insert_audit_events(&self, events: &[AuditEvent]) -> StoreResult<()> {
        let mut batch: Vec<TransactWriteItem> = Vec::new();
        for e in events {
            let items = self.event_items(e)?;
            if batch.len() + items.len() > 100 {
                self.commit_events(std::mem::take(&mut batch)).await?;
            }
            batch.extend(items);
        }
        if !batch.is_empty() {
            self.commit_events(batch).await?;
        }
        Ok(())
    }

    async fn list_audit_events(
        &self,
        filter: &AuditFilter,
        limit: u32,
        after: Option<&CursorKey>,
    ) -> StoreResult<KeyPage<AuditEvent>> {
        let page_len = limit.max(1) as usize;
        let low = filter.from_ms.map_or_else(|| "0".to_owned(), |f| format!("{:020}", f.max(0)));
        let mut high = filter.to_ms.map_or_else(|| "~".to_owned(), |t| format!("{:020}#~", t.max(0)));
        let cursor = after.map(|k| format!("{}#{}", k.sort, k.id));
        if let Some(c) = &cursor
            && c < &high
        {
            high = c.clone();
        }
        // A cursor below `from` (or `from` after `to`) leaves nothing, and DynamoDB refuses a BETWEEN whose bounds
        // are the wrong way round.
        if low > high {
            return Ok(KeyPage { items: Vec::new(), next: None });
        }
        let list = filter.patient_id.as_deref().unwrap_or(ALL);
        let rows = self
            .query_list(list, &low, &high, false, filter_expression(filter), page_len + 1, cursor.as_deref())
            .await?;
        let mut items = if filter.patient_id.is_some() {
            let ids: Vec<String> = rows.iter().filter_map(|i| text(i, "eventId")).collect();
            self.events_by_id(&ids).await?
        } else {
            rows.iter().map(event_of).collect::<StoreResult<Vec<_>>>()?
        };
        let more = items.len() > page_len;
        items.truncate(page_len);
        let next = if more { items.last().map(event_key) } else { None };
        Ok(KeyPage { items, next })
    }

    async fn acquire_audit_lease(&self, holder: &str, now: Timestamp, until: Timestamp) -> StoreResult<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.audit_table)
            .key(KEY_ATTR, s(LEASE))
            .update_expression("SET holder = :h, expiresAt = :u")
            .condition_expression("attribute_not_exists(#k) OR holder = :h OR expiresAt <= :now")
            .expression_attribute_names("#k", KEY_ATTR)
            .expression_attribute_values(":h", s(holder))
            .expression_attribute_values(":u", n(until.millis()))
            .expression_attribute_values(":now", n(now.millis()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(map_sdk_error("UpdateItem", &self.audit_table, e)),
        }
    }

    async fn audit_head(&self) -> StoreResult<Option<ChainHead>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.audit_table)
            .key(KEY_ATTR, s(HEAD))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| map_sdk_error("GetItem", &self.audit_table, e))?;
        Ok(out.item.and_then(|i| Some(ChainHead { seq: number(&i, "seq")?, hash: text(&i, "hash")? })))
    }

    async fn unsequenced_audit_events(&self, limit: u32) -> StoreResult<Vec<AuditEvent>> {
        let rows = self.query_list(PENDING, "0", "~", true, None, limit as usize, None).await?;
        rows.iter()
            .map(|i| {
                let body =
                    text(i, "body").ok_or_else(|| StoreError::Internal("pending audit item without a body".into()))?;
                AuditEvent::stored(body, Chain::D, None, None).map_err(StoreError::Internal)
            })
            .collect()
    }

    async fn count_unsequenced_audit_events(&self) -> StoreResult<u64> {
        let mut count = 0u64;
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.audit_table)
                .index_name(PATIENT_INDEX)
                .key_condition_expression("#p = :p")
                .expression_attribute_names("#p", PATIENT_ATTR)
                .expression_attribute_values(":p", s(PENDING))
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| map_sdk_error("Query", &self.audit_table, e))?;
            count += u64::try_from(out.count).unwrap_or(0);
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(count),
            }
        }
    }

    async fn sequence_audit_events(
        &self,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
        placed: &[(String, i64, String)],
    ) -> StoreResult<()> {
        for chunk in placed.chunks(PLACE_BATCH) {
            let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else { continue };
            let lease = Update::builder()
                .table_name(&self.audit_table)
                .key(KEY_ATTR, s(LEASE))
                .update_expression("SET expiresAt = :u")
                .condition_expression("holder = :h AND expiresAt > :now")
                .expression_attribute_values(":h", s(holder))
                .expression_attribute_values(":u", n(until.millis()))
                .expression_attribute_values(":now", n(now.millis()))
                .build()
                .map_err(build_error)?;
            let mut head = Put::builder()
                .table_name(&self.audit_table)
                .item(KEY_ATTR, s(HEAD))
                .item("seq", n(last.1))
                .item("hash", s(last.2.as_str()));
            head = if first.1 == 1 {
                head.condition_expression("attribute_not_exists(#k)").expression_attribute_names("#k", KEY_ATTR)
            } else {
                head.condition_expression("seq = :prev").expression_attribute_values(":prev", n(first.1 - 1))
            };
            let mut items = vec![
                TransactWriteItem::builder().update(lease).build(),
                TransactWriteItem::builder().put(head.build().map_err(build_error)?).build(),
            ];
            for (id, seq, hash) in chunk {
                let place = Update::builder()
                    .table_name(&self.audit_table)
                    .key(KEY_ATTR, s(id.as_str()))
                    .update_expression("SET seq = :s, #h = :h")
                    .condition_expression("attribute_exists(#k) AND attribute_not_exists(seq)")
                    .expression_attribute_names("#k", KEY_ATTR)
                    .expression_attribute_names("#h", "hash")
                    .expression_attribute_values(":s", n(*seq))
                    .expression_attribute_values(":h", s(hash.as_str()))
                    .build()
                    .map_err(build_error)?;
                let unmark = Delete::builder()
                    .table_name(&self.audit_table)
                    .key(KEY_ATTR, s(format!("pending#{id}")))
                    .build()
                    .map_err(build_error)?;
                let index: Item = HashMap::from([
                    (KEY_ATTR.to_owned(), s(format!("seq#{}", seq_key(*seq)))),
                    (PATIENT_ATTR.to_owned(), s(SEQS)),
                    (SORT_ATTR.to_owned(), s(seq_key(*seq))),
                    ("eventId".to_owned(), s(id.as_str())),
                ]);
                items.push(TransactWriteItem::builder().update(place).build());
                items.push(TransactWriteItem::builder().delete(unmark).build());
                items.push(self.put_new_item(index)?);
            }
            match self.transact(&[&self.audit_table], items).await? {
                Transacted::Committed => {}
                Transacted::ConditionFailed(0) => return Err(StoreError::ClaimLost),
                Transacted::ConditionFailed(_) | Transacted::Conflicted => return Err(StoreError::Conflict),
            }
        }
        Ok(())
    }

    async fn insert_audit_checkpoint(&self, cp: &Checkpoint) -> StoreResult<()> {
        let key = seq_key(cp.seq);
        let item: Item = HashMap::from([
            (KEY_ATTR.to_owned(), s(format!("checkpoint#{key}"))),
            (PATIENT_ATTR.to_owned(), s(CHECKPOINTS)),
            (SORT_ATTR.to_owned(), s(key)),
            ("seq".to_owned(), n(cp.seq)),
            ("hash".to_owned(), s(cp.hash.as_str())),
            ("signedAt".to_owned(), n(cp.signed_at.millis())),
            ("keyId".to_owned(), s(cp.key_id.as_str())),
            ("signature".to_owned(), s(cp.signature.as_str())),
        ]);
        self.client
            .put_item()
            .table_name(&self.audit_table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| map_sdk_error("PutItem", &self.audit_table, e))?;
        Ok(())
    }

    async fn last_audit_checkpoint(&self) -> StoreResult<Option<Checkpoint>> {
        let rows = self.query_list(CHECKPOINTS, "0", "~", false, None, 1, None).await?;
        rows.first().map(checkpoint_of).transpose()
    }

    async fn audit_chain(&self, after: i64, limit: u32) -> StoreResult<Vec<AuditEvent>> {
        let low = seq_key(after.saturating_add(1));
        let rows = self.query_list(SEQS, &low, "~", true, None, limit as usize, None).await?;
        let ids: Vec<String> = rows.iter().filter_map(|i| text(i, "eventId")).collect();
        self.events_by_id(&ids).await
    }

    async fn audit_checkpoints(&self) -> StoreResult<Vec<Checkpoint>> {
        let rows = self.query_list(CHECKPOINTS, "0", "~", true, None, usize::MAX, None).await?;
        rows.iter().map(checkpoint_of).collect()
    }
}

impl DynamoRecordStore {
    async fn commit_events(&self, items: Vec<TransactWriteItem>) -> StoreResult<()> {
        match self.transact(&[&self.audit_table], items).await? {
            Transacted::Committed => Ok(()),
            Transacted::ConditionFailed(_) => Err(StoreError::Internal("audit event ID already stored".into())),
            Transacted::Conflicted => Err(StoreError::Unavailable("transaction conflict storing audit events".into())),
        }
    }
}
