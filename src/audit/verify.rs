//! `gospital audit verify` (SECURITY.md §5 "Verification"): recomputes a store's chain from its stored events and
//! checks it against the stored checkpoints and, optionally, against copies taken from the logs. The first
//! problem found is reported with the seq where it shows and what it is:
//! - `missing`: a seq is absent (a deleted event);
//! - `reordered`: an event is intact but not where it was placed (events swapped or moved);
//! - `modified`: an event's content (or a checkpointed hash) no longer matches;
//! - `bad signature`: a checkpoint was not signed by the audit key, or was changed;
//! - `truncated`: a checkpoint names a seq past the chain's end (its tail was cut).
//!
//! Events not yet sequenced are counted, not judged.

use std::collections::HashSet;
use std::fmt;

use super::{AuditEvent, Chain, Checkpoint, CheckpointKey, GENESIS, chain_hash};
use crate::store::{AuditStore, StoreResult};

/// Events read per call while walking a chain.
const PAGE: u32 = 1_000;

/// What is wrong at the first bad place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Modified,
    Missing,
    Reordered,
    BadSignature,
    Truncated,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Modified => "modified",
            Kind::Missing => "missing",
            Kind::Reordered => "reordered",
            Kind::BadSignature => "bad signature",
            Kind::Truncated => "truncated",
        })
    }
}

/// The first problem of a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Problem {
    pub store: Chain,
    pub seq: i64,
    pub kind: Kind,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "store {}: seq {}: {}", self.store, self.seq, self.kind)
    }
}

/// A chain that verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Report {
    pub events: u64,
    pub checkpoints: u64,
    pub pending: u64,
}

/// Verifies `store`'s chain `chain`: its events, its stored checkpoints, and the `external` checkpoints of this
/// chain. The outer error is a store that could not be read.
pub async fn verify(
    store: &dyn AuditStore,
    chain: Chain,
    key: &CheckpointKey,
    external: &[Checkpoint],
) -> StoreResult<Result<Report, Problem>> {
    let mut events: Vec<AuditEvent> = Vec::new();
    let mut after = 0;
    loop {
        let page = store.audit_chain(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq.unwrap_or(after);
        let full = page.len() == PAGE as usize;
        events.extend(page);
        if !full {
            break;
        }
    }
    let stored = store.audit_checkpoints().await?;
    let pending = store.count_unsequenced_audit_events().await?;
    let problem = |seq, kind| Problem { store: chain, seq, kind };
    if let Err(p) = walk(&events) {
        return Ok(Err(problem(p.0, p.1)));
    }
    let mine: Vec<&Checkpoint> = external.iter().filter(|c| c.store == chain).collect();
    for cp in stored.iter().chain(mine.iter().copied()) {
        if cp.store != chain || !key.verifies(cp) {
            return Ok(Err(problem(cp.seq, Kind::BadSignature)));
        }
        let end = events.len() as i64;
        if cp.seq > end {
            return Ok(Err(problem(end + 1, Kind::Truncated)));
        }
        let at = usize::try_from(cp.seq - 1).ok().and_then(|i| events.get(i));
        if at.and_then(|e| e.hash.as_deref()) != Some(cp.hash.as_str()) {
            return Ok(Err(problem(cp.seq, Kind::Modified)));
        }
    }
    Ok(Ok(Report { events: events.len() as u64, checkpoints: stored.len() as u64, pending }))
}

/// Walks events in seq order: contiguous from 1, each hash chained on the one before. The first failure as
/// `(seq, kind)`.
fn walk(events: &[AuditEvent]) -> Result<(), (i64, Kind)> {
    let mut previous = GENESIS.to_owned();
    for (i, e) in events.iter().enumerate() {
        let expected = i as i64 + 1;
        let seq = e.seq.unwrap_or(0);
        if seq != expected {
            return Err((expected, if seq > expected { Kind::Missing } else { Kind::Reordered }));
        }
        let hash = chain_hash(&previous, &e.canonical);
        if e.hash.as_deref() != Some(hash.as_str()) {
            return Err((seq, if misplaced(events, i) { Kind::Reordered } else { Kind::Modified }));
        }
        previous = hash;
    }
    Ok(())
}

/// Whether the event at `i`, which does not chain where it stands, is intact elsewhere: its stored hash chains
/// from some other stored hash (the row moved with its hash), or its content chains into another position (the
/// content moved between rows).
fn misplaced(events: &[AuditEvent], i: usize) -> bool {
    let e = &events[i];
    let hashes: HashSet<&str> =
        events.iter().filter_map(|x| x.hash.as_deref()).chain(std::iter::once(GENESIS)).collect();
    if e.hash.as_deref().is_some_and(|own| hashes.iter().any(|p| chain_hash(p, &e.canonical) == own)) {
        return true;
    }
    (0..events.len()).filter(|k| *k != i).any(|k| {
        let before = if k == 0 { Some(GENESIS) } else { events[k - 1].hash.as_deref() };
        before.is_some_and(|b| events[k].hash.as_deref() == Some(chain_hash(b, &e.canonical).as_str()))
    })
}

/// What `gospital audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Both chains verified: `(R, D)`.
    Verified(Report, Report),
    Failed(Problem),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Verified(r, d) => {
                write!(
                    f,
                    "verified {} events (R: {}, D: {}), {} checkpoints",
                    r.events + d.events,
                    r.events,
                    d.events,
                    r.checkpoints + d.checkpoints
                )?;
                let pending = r.pending + d.pending;
                if pending > 0 {
                    write!(f, ", {pending} pending")?;
                }
                Ok(())
            }
            Verdict::Failed(p) => write!(f, "{p}"),
        }
    }
}

/// Verifies both stores of `config`, with the checkpoint copies of `checkpoints` (a file of JSON lines) if given.
/// Errors: a setting or file that is not usable, a store that cannot be read.
pub async fn run(config: &crate::config::Config, checkpoints: Option<&std::path::Path>) -> anyhow::Result<Verdict> {
    let from_env = std::env::var(super::KEY_ENV).is_ok_and(|v| !v.trim().is_empty());
    let setting = crate::config::setting("audit_key_file");
    if !from_env && !config.audit_key_file.exists() {
        // Creating a key here would only make every signature look forged.
        return Err(crate::config::ConfigError::of(
            "audit_key_file",
            format!("{} does not exist (the key the server signs checkpoints with)", config.audit_key_file.display()),
        )
        .into());
    }
    let key = CheckpointKey::configured(&config.audit_key_file).map_err(|e| anyhow::anyhow!("{setting}: {e}"))?;
    let external = match checkpoints {
        None => Vec::new(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("--checkpoints: cannot read {}: {e}", path.display()))?;
            read_checkpoints(&text).map_err(|e| anyhow::anyhow!("--checkpoints: {}: {e}", path.display()))?
        }
    };
    let (clinic, records) = crate::open_stores(config, false).await?;
    let read = |chain: Chain| {
        move |e: crate::store::StoreError| anyhow::anyhow!("store {chain}: cannot read the audit trail: {e}")
    };
    let r = match verify(clinic.as_ref(), Chain::R, &key, &external).await.map_err(read(Chain::R))? {
        Ok(report) => report,
        Err(p) => return Ok(Verdict::Failed(p)),
    };
    let d = match verify(records.as_ref(), Chain::D, &key, &external).await.map_err(read(Chain::D))? {
        Ok(report) => report,
        Err(p) => return Ok(Verdict::Failed(p)),
    };
    Ok(Verdict::Verified(r, d))
}

/// Checkpoints from JSON lines: bare checkpoints, or the server's JSON log lines whose message is
/// `audit checkpoint` (their fields are the checkpoint). Other lines are skipped; a checkpoint line that does not
/// parse is an error naming its line.
pub fn read_checkpoints(text: &str) -> Result<Vec<Checkpoint>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line.trim()) else { continue };
        let fields = match value.get("fields") {
            Some(f) if f.get("message").and_then(|m| m.as_str()) == Some("audit checkpoint") => f.clone(),
            Some(_) => continue,
            None if value.get("signature").is_some() => value,
            None => continue,
        };
        let cp: Checkpoint =
            serde_json::from_value(fields).map_err(|e| format!("line {}: not an audit checkpoint: {e}", n + 1))?;
        out.push(cp);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::sequencer::place;
    use crate::audit::{Action, ActorRecord, EventRecord};
    use crate::domain::formats::Timestamp;

    fn chain(n: usize) -> Vec<AuditEvent> {
        let events: Vec<AuditEvent> = (0..n)
            .map(|i| {
                AuditEvent::new(
                    EventRecord {
                        event_id: format!("AUD-{i:026}"),
                        recorded_at: Timestamp::from_millis(1_000 + i as i64),
                        actor: ActorRecord::anonymous(),
                        action: Action::Read,
                        outcome: 200,
                        method: "GET".into(),
                        route: "/api/v1/patients/{patientId}".into(),
                        resource_type: None,
                        resource_id: None,
                        patient_ids: vec![],
                        query: vec![],
                        request_id: format!("r{i}"),
                        source_ip: "127.0.0.1".into(),
                    },
                    Chain::R,
                )
            })
            .collect();
        let (placed, _) = place(None, &events);
        events
            .into_iter()
            .zip(placed)
            .map(|(mut e, (_, seq, hash))| {
                e.seq = Some(seq);
                e.hash = Some(hash);
                e
            })
            .collect()
    }

    #[test]
    fn an_untouched_chain_walks() {
        assert_eq!(walk(&chain(5)), Ok(()));
        assert_eq!(walk(&[]), Ok(()));
    }

    #[test]
    fn each_kind_of_tampering_is_named_at_its_seq() {
        let mut modified = chain(5);
        modified[2].canonical = modified[2].canonical.replace("200", "404");
        assert_eq!(walk(&modified), Err((3, Kind::Modified)));

        let mut missing = chain(5);
        missing.remove(1);
        assert_eq!(walk(&missing), Err((2, Kind::Missing)));

        // Rows swapped with their hashes (their seqs exchanged) …
        let mut swapped = chain(5);
        swapped.swap(1, 2);
        swapped[1].seq = Some(2);
        swapped[2].seq = Some(3);
        assert_eq!(walk(&swapped), Err((2, Kind::Reordered)));
        // … or contents exchanged under fixed seqs and hashes.
        let mut moved = chain(5);
        let c1 = moved[1].canonical.clone();
        moved[1].canonical = moved[2].canonical.clone();
        moved[2].canonical = c1;
        assert_eq!(walk(&moved), Err((2, Kind::Reordered)));
    }

    #[test]
    fn checkpoints_are_read_from_log_lines_or_bare() {
        let line = r#"{"timestamp":"t","level":"INFO","fields":{"message":"audit checkpoint","store":"R","seq":3,"hash":"ab","signedAt":"2026-12-03T08:00:00.000Z","keyId":"k","signature":"s"},"target":"gospital::audit::sequencer"}"#;
        let other = r#"{"fields":{"message":"request"}}"#;
        let bare =
            r#"{"store":"D","seq":1,"hash":"cd","signedAt":"2026-12-03T08:00:00.000Z","keyId":"k","signature":"s"}"#;
        let cps = read_checkpoints(&format!("{line}\n{other}\nnot json\n{bare}\n")).unwrap();
        assert_eq!(cps.len(), 2);
        assert_eq!((cps[0].store, cps[0].seq), (Chain::R, 3));
        assert_eq!((cps[1].store, cps[1].seq), (Chain::D, 1));
        assert!(read_checkpoints(r#"{"signature":"s"}"#).unwrap_err().starts_with("line 1"));
    }
}
