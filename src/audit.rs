//! The audit trail ([audit], SECURITY.md §5): the event every audited request leaves, the hash chain each store
//! keeps of its events, and the signed checkpoints that pin that chain outside the database.
//!
//! An event's stored form is its *canonical JSON* ([`EventRecord::canonical`]: keys sorted, no whitespace, without
//! `store`, `seq` and `hash`). The chain hashes exactly those stored bytes, so a verifier never re-serialises:
//! `hash(n) = hex(SHA-256(hash(n-1) ‖ canonical(n)))`, with `hash(0)` = 64 `0` characters. The columns a store
//! keeps beside the body (time, actor, patients) only serve its filters; the body is what counts.

pub mod note;
pub mod recorder;
pub mod routes;
pub mod sequencer;
pub mod verify;

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::auth::local::{KeyFileError, SigningKey};
use crate::domain::formats::Timestamp;

/// Which chain an event belongs to: the store holding the data it describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum Chain {
    /// The relational store: patients, doctors, departments, appointments, revocations.
    R,
    /// The records store: medical records, invoices.
    D,
}

impl Chain {
    pub const ALL: [Chain; 2] = [Chain::R, Chain::D];

    pub fn as_str(self) -> &'static str {
        match self {
            Chain::R => "R",
            Chain::D => "D",
        }
    }

    pub fn parse(s: &str) -> Option<Chain> {
        Chain::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Read,
    Update,
    Delete,
    Search,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Read => "read",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Search => "search",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        [Action::Create, Action::Read, Action::Update, Action::Delete, Action::Search]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// What kind of resource the request was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ResourceType {
    Patient,
    Doctor,
    Department,
    Appointment,
    MedicalRecord,
    Invoice,
    AuditEvent,
    Revocation,
}

impl ResourceType {
    pub const ALL: [ResourceType; 8] = [
        ResourceType::Patient,
        ResourceType::Doctor,
        ResourceType::Department,
        ResourceType::Appointment,
        ResourceType::MedicalRecord,
        ResourceType::Invoice,
        ResourceType::AuditEvent,
        ResourceType::Revocation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Patient => "patient",
            ResourceType::Doctor => "doctor",
            ResourceType::Department => "department",
            ResourceType::Appointment => "appointment",
            ResourceType::MedicalRecord => "medicalRecord",
            ResourceType::Invoice => "invoice",
            ResourceType::AuditEvent => "auditEvent",
            ResourceType::Revocation => "revocation",
        }
    }

    pub fn parse(s: &str) -> Option<ResourceType> {
        ResourceType::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Who acted, from the token. `name` is kept for staff only: a patient's token names the patient, and an event
/// never holds a patient's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActorRecord {
    #[schema(example = "dr-grey")]
    pub sub: String,
    #[schema(example = json!(["doctor"]))]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient_id: Option<String>,
}

impl ActorRecord {
    /// The actor of a request refused before (or without) authentication.
    pub fn anonymous() -> Self {
        Self { sub: "anonymous".to_owned(), roles: Vec::new(), name: None, patient_id: None }
    }

    pub fn of(p: &crate::auth::Principal) -> Self {
        let patient = p.roles.contains(crate::auth::Role::Patient);
        Self {
            sub: p.sub.clone(),
            roles: p.roles.names().into_iter().map(str::to_owned).collect(),
            name: if patient { None } else { p.name.clone() },
            patient_id: p.patient_id.as_ref().map(|id| id.to_string()),
        }
    }
}

/// The hashed part of an event: everything but its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventRecord {
    /// `AUD-` + ULID.
    #[schema(example = "AUD-01M88ZQHVRM9S346Q3D25VT4F5")]
    pub event_id: String,
    #[schema(value_type = crate::domain::formats::Timestamp)]
    pub recorded_at: Timestamp,
    pub actor: ActorRecord,
    pub action: Action,
    /// The HTTP status answered.
    #[schema(example = 200)]
    pub outcome: u16,
    #[schema(example = "GET")]
    pub method: String,
    /// The route template.
    #[schema(example = "/api/v1/patients/{patientId}")]
    pub route: String,
    /// `null` only for `/api/v1/me`, which is recorded when refused.
    pub resource_type: Option<ResourceType>,
    pub resource_id: Option<String>,
    pub patient_ids: Vec<String>,
    /// Names of the query parameters sent, never their values.
    pub query: Vec<String>,
    pub request_id: String,
    pub source_ip: String,
}

impl EventRecord {
    /// The canonical JSON the chain hashes: keys sorted (serde_json's map is ordered), no whitespace.
    pub fn canonical(&self) -> String {
        // A struct of strings, numbers and lists cannot fail to serialise.
        serde_json::to_value(self).map(|v| v.to_string()).unwrap_or_default()
    }
}

/// One audit event: its record (stored as canonical JSON) and its place in a chain once sequenced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    #[serde(flatten)]
    pub record: EventRecord,
    /// The stored canonical JSON of `record`, exactly as hashed.
    #[serde(skip)]
    #[schema(ignore)]
    pub canonical: String,
    pub store: Chain,
    /// `null` until sequenced (within 2 s).
    pub seq: Option<i64>,
    pub hash: Option<String>,
}

impl AuditEvent {
    /// A new, unsequenced event of `store`.
    pub fn new(record: EventRecord, store: Chain) -> Self {
        let canonical = record.canonical();
        Self { record, canonical, store, seq: None, hash: None }
    }

    /// An event read back from a store: the record is parsed from the stored body, which stays as it was.
    pub fn stored(canonical: String, store: Chain, seq: Option<i64>, hash: Option<String>) -> Result<Self, String> {
        let record: EventRecord =
            serde_json::from_str(&canonical).map_err(|e| format!("unreadable audit event: {e}"))?;
        Ok(Self { record, canonical, store, seq, hash })
    }
}

/// The hash before the first event of every chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// `hex(SHA-256(previous ‖ canonical))`.
pub fn chain_hash(previous: &str, canonical: &str) -> String {
    let mut h = Sha256::new();
    h.update(previous.as_bytes());
    h.update(canonical.as_bytes());
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The last sequenced event of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

/// A signed statement that chain `store` had `hash` at `seq` (SECURITY.md §5 guarantee 4). Stored in the chain's
/// store and logged as an `audit checkpoint` line, so a copy exists outside the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    pub store: Chain,
    pub seq: i64,
    pub hash: String,
    #[serde(with = "millis_text")]
    pub signed_at: Timestamp,
    pub key_id: String,
    /// Ed25519 over [`Checkpoint::signed_bytes`], base64url without padding.
    pub signature: String,
}

mod millis_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::domain::formats::Timestamp;

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(t)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        Timestamp::deserialize(d)
    }
}

impl Checkpoint {
    /// What the signature covers: the canonical JSON of every other field.
    pub fn signed_bytes(&self) -> Vec<u8> {
        serde_json::json!({
            "store": self.store.as_str(),
            "seq": self.seq,
            "hash": self.hash,
            "signedAt": self.signed_at.to_string(),
            "keyId": self.key_id,
        })
        .to_string()
        .into_bytes()
    }
}

/// The variable that may hold the checkpoint key's PEM text instead of `GOSPITAL_AUDIT_KEY_FILE`.
pub const KEY_ENV: &str = "GOSPITAL_AUDIT_KEY";

/// The checkpoint signer: the Ed25519 key of `GOSPITAL_AUDIT_KEY_FILE` (the auth key file's rules: created 0600
/// when missing, refused when others may read it).
#[derive(Debug)]
pub struct CheckpointKey {
    key: SigningKey,
    key_id: String,
}

impl CheckpointKey {
    pub fn load_or_create(path: &Path) -> Result<Self, KeyFileError> {
        Ok(Self::of(SigningKey::load_or_create(path)?))
    }

    /// The key from PEM text handed over by a secret store ([`KEY_ENV`]) instead of a file.
    pub fn from_pem(text: &str) -> Result<Self, KeyFileError> {
        Ok(Self::of(SigningKey::from_pem(text, KEY_ENV)?))
    }

    /// The key of `GOSPITAL_AUDIT_KEY` when set (every instance of a cluster must sign with one key, and a container
    /// platform hands secrets over as variables), else of the key file. The variable is read here, never kept in
    /// the configuration, so it cannot reach a log line.
    pub fn configured(path: &Path) -> Result<Self, KeyFileError> {
        match std::env::var(KEY_ENV) {
            Ok(text) if !text.trim().is_empty() => Self::from_pem(&text),
            _ => Self::load_or_create(path),
        }
    }

    fn of(key: SigningKey) -> Self {
        let key_id = key_id(key.public_key());
        Self { key, key_id }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// A checkpoint of `head` in `store`, signed now.
    pub fn sign(&self, store: Chain, head: &ChainHead, now: Timestamp) -> Checkpoint {
        let mut cp = Checkpoint {
            store,
            seq: head.seq,
            hash: head.hash.clone(),
            signed_at: now,
            key_id: self.key_id.clone(),
            signature: String::new(),
        };
        let sig = self.key.sign(&cp.signed_bytes());
        cp.signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig);
        cp
    }

    /// Whether `cp` was signed by this key and is unchanged.
    pub fn verifies(&self, cp: &Checkpoint) -> bool {
        use aws_lc_rs::signature::{ED25519, UnparsedPublicKey};
        let Ok(sig) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&cp.signature) else { return false };
        cp.key_id == self.key_id
            && UnparsedPublicKey::new(&ED25519, self.key.public_key()).verify(&cp.signed_bytes(), &sig).is_ok()
    }
}

/// A key's ID: the first 16 hex digits of SHA-256 of its raw public key.
fn key_id(public: &[u8]) -> String {
    hex(&Sha256::digest(public))[..16].to_owned()
}

/// Filters of `GET /api/v1/audit-events` (and, with `patient_id` only, of an access log), combined with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub patient_id: Option<String>,
    pub actor_sub: Option<String>,
    pub resource_type: Option<ResourceType>,
    pub action: Option<Action>,
    /// Inclusive bounds on `recordedAt`, in Unix ms.
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

/// The cursor key of an event: its time as fixed-width milliseconds (text order is time order), then its ID.
pub fn event_key(e: &AuditEvent) -> crate::store::CursorKey {
    crate::store::CursorKey { sort: format!("{:020}", e.record.recorded_at.millis()), id: e.record.event_id.clone() }
}

/// A new event ID.
pub fn new_event_id() -> String {
    format!("AUD-{}", ulid::Ulid::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> EventRecord {
        EventRecord {
            event_id: "AUD-01M88ZQHVRM9S346Q3D25VT4F5".into(),
            recorded_at: Timestamp::from_millis(1_700_000_000_123),
            actor: ActorRecord::anonymous(),
            action: Action::Read,
            outcome: 200,
            method: "GET".into(),
            route: "/api/v1/patients/{patientId}".into(),
            resource_type: Some(ResourceType::Patient),
            resource_id: Some("PAT-01M88ZQHVRM9S346Q3D25VT4F5".into()),
            patient_ids: vec!["PAT-01M88ZQHVRM9S346Q3D25VT4F5".into()],
            query: vec![],
            request_id: "r1".into(),
            source_ip: "127.0.0.1".into(),
        }
    }

    #[test]
    fn canonical_json_is_sorted_compact_and_round_trips() {
        let c = record().canonical();
        assert!(c.starts_with(r#"{"action":"read","actor":{"roles":[],"sub":"anonymous"},"eventId":"#), "{c}");
        assert!(!c.contains(' ') || c.contains("{patientId}"));
        let back = AuditEvent::stored(c.clone(), Chain::R, None, None).unwrap();
        assert_eq!(back.record, record());
        assert_eq!(back.record.canonical(), c);
    }

    #[test]
    fn the_chain_hash_depends_on_the_previous_hash_and_every_byte() {
        let c = record().canonical();
        let h1 = chain_hash(GENESIS, &c);
        assert_eq!(h1.len(), 64);
        assert_ne!(chain_hash(&h1, &c), h1);
        assert_ne!(chain_hash(GENESIS, &c.replace("200", "201")), h1);
    }

    #[test]
    fn checkpoints_verify_until_a_field_changes() {
        let dir = tempfile::tempdir().unwrap();
        let key = CheckpointKey::load_or_create(&dir.path().join("audit.key")).unwrap();
        let head = ChainHead { seq: 7, hash: chain_hash(GENESIS, "x") };
        let cp = key.sign(Chain::D, &head, Timestamp::from_millis(5));
        assert!(key.verifies(&cp));
        let json = serde_json::to_string(&cp).unwrap();
        assert_eq!(serde_json::from_str::<Checkpoint>(&json).unwrap(), cp);
        for forged in [
            Checkpoint { seq: 8, ..cp.clone() },
            Checkpoint { hash: GENESIS.into(), ..cp.clone() },
            Checkpoint { store: Chain::R, ..cp.clone() },
        ] {
            assert!(!key.verifies(&forged));
        }
        let other = CheckpointKey::load_or_create(&dir.path().join("other.key")).unwrap();
        assert!(!other.verifies(&cp));
    }
}
