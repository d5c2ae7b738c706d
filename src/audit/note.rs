//! The audit note of one request: what the edge knows (route, caller, request ID, peer) and what the use case
//! adds (the resource, the patients its answer carried, whether its write already committed the event). The
//! audit middleware opens it, the auth middleware names the actor, the use case fills it in, and the middleware
//! turns it into the request's one event.

use std::sync::{Arc, Mutex};

use super::routes::{self, Audited};
use super::{ActorRecord, AuditEvent, EventRecord};
use crate::auth::Principal;
use crate::domain::formats::Timestamp;

/// Shared by the middleware and the request's use case; cheap to clone. A detached note (outside a request)
/// still builds events for writes, naming no route.
#[derive(Debug, Clone, Default)]
pub struct AuditNote(Option<Arc<Mutex<Draft>>>);

#[derive(Debug)]
struct Draft {
    spec: &'static Audited,
    route: String,
    path: String,
    method: String,
    query: Vec<String>,
    request_id: String,
    source_ip: String,
    actor: Option<ActorRecord>,
    resource_id: Option<String>,
    patient_ids: Vec<String>,
    /// The use case ran (the request passed authentication, admission and extraction).
    reached: bool,
    /// The event was committed with the request's write.
    written: bool,
}

/// What the middleware records once the answer is known.
#[derive(Debug)]
pub struct Finished {
    pub event: AuditEvent,
    /// The answer may go out only once the event is durable.
    pub fail_closed: bool,
}

impl AuditNote {
    pub fn begin(
        spec: &'static Audited,
        method: &str,
        path: &str,
        query: Option<&str>,
        request_id: String,
        source_ip: String,
    ) -> Self {
        Self(Some(Arc::new(Mutex::new(Draft {
            spec,
            route: spec.path.to_owned(),
            path: path.to_owned(),
            method: method.to_ascii_uppercase(),
            query: routes::query_names(query),
            request_id,
            source_ip,
            actor: None,
            resource_id: None,
            patient_ids: Vec::new(),
            reached: false,
            written: false,
        }))))
    }

    fn with<T>(&self, f: impl FnOnce(&mut Draft) -> T) -> Option<T> {
        let cell = self.0.as_ref()?;
        let mut draft = cell.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Some(f(&mut draft))
    }

    pub fn set_actor(&self, principal: &Principal) {
        self.with(|d| d.actor = Some(ActorRecord::of(principal)));
    }

    /// The use case started.
    pub fn reached(&self) {
        self.with(|d| d.reached = true);
    }

    /// A read's answer: the resource and the patients whose data it carries.
    pub fn touch<I, S>(&self, resource_id: Option<&str>, patients: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.with(|d| {
            if let Some(id) = resource_id {
                d.resource_id = Some(id.to_owned());
            }
            for p in patients {
                if !d.patient_ids.iter().any(|q| q == p.as_ref()) {
                    d.patient_ids.push(p.as_ref().to_owned());
                }
            }
        });
    }

    /// The event a write commits with itself: this request's, as it answers on success (201 for a create, else
    /// 200), about `resource_id` and `patients`.
    pub fn write_event(&self, resource_id: &str, patients: &[&str], now: Timestamp) -> AuditEvent {
        let mut patient_ids: Vec<String> = Vec::new();
        for p in patients {
            if !patient_ids.iter().any(|q| q == p) {
                patient_ids.push((*p).to_owned());
            }
        }
        let built = self.with(|d| d.event(d.success_status(), Some(resource_id.to_owned()), patient_ids.clone(), now));
        built.unwrap_or_else(|| detached_event(resource_id, patient_ids, now))
    }

    /// The write committed its event: the middleware records no other.
    pub fn written(&self) {
        self.with(|d| {
            d.written = true;
            super::recorder::count(d.spec.chain.as_str(), d.success_status());
        });
    }

    /// The request's event, unless its write already committed one or the request is not recorded (a directory
    /// read that was served; a request refused before its use case by anything but authentication).
    pub fn finish(&self, status: u16, location: Option<&str>, now: Timestamp) -> Option<Finished> {
        self.with(|d| {
            let refused = matches!(status, 401 | 403 | 429);
            if d.written || !(refused || d.reached) || !(refused || d.spec.always) {
                return None;
            }
            let success = (200..300).contains(&status);
            let resource_id = d
                .resource_id
                .clone()
                .or_else(|| location.and_then(|l| l.rsplit('/').next()).map(str::to_owned))
                .or_else(|| routes::path_id(&d.route, &d.path));
            let patient_ids = if success {
                let mut ids = d.patient_ids.clone();
                if ids.is_empty()
                    && d.spec.resource_type == Some(super::ResourceType::Patient)
                    && let Some(id) = resource_id.as_ref().filter(|id| id.starts_with("PAT-"))
                {
                    ids.push(id.clone());
                }
                ids
            } else if refused || status == 404 {
                routes::path_patient(&d.route, &d.path).into_iter().collect()
            } else {
                Vec::new()
            };
            let event = d.event(status, resource_id, patient_ids, now);
            Some(Finished { event, fail_closed: success && d.spec.fail_closed })
        })
        .flatten()
    }
}

impl Draft {
    /// What a successful request of this route answers: 201 for a create, else 200.
    fn success_status(&self) -> u16 {
        if self.spec.action == super::Action::Create { 201 } else { 200 }
    }

    /// This request's event with its outcome and what it touched.
    fn event(&self, outcome: u16, resource_id: Option<String>, patient_ids: Vec<String>, now: Timestamp) -> AuditEvent {
        AuditEvent::new(
            EventRecord {
                event_id: super::new_event_id(),
                recorded_at: now,
                actor: self.actor.clone().unwrap_or_else(ActorRecord::anonymous),
                action: self.spec.action,
                outcome,
                method: self.method.clone(),
                route: self.route.clone(),
                resource_type: self.spec.resource_type,
                resource_id,
                patient_ids,
                query: self.query.clone(),
                request_id: self.request_id.clone(),
                source_ip: self.source_ip.clone(),
            },
            self.spec.chain,
        )
    }
}

/// A write outside any request (seeding, tests that call the use cases directly).
fn detached_event(resource_id: &str, patient_ids: Vec<String>, now: Timestamp) -> AuditEvent {
    AuditEvent::new(
        EventRecord {
            event_id: super::new_event_id(),
            recorded_at: now,
            actor: ActorRecord { sub: "system".to_owned(), roles: Vec::new(), name: None, patient_id: None },
            action: super::Action::Update,
            outcome: 200,
            method: String::new(),
            route: String::new(),
            resource_type: None,
            resource_id: Some(resource_id.to_owned()),
            patient_ids,
            query: Vec::new(),
            request_id: String::new(),
            source_ip: String::new(),
        },
        // Outside a request nothing says which store; the writing adapter files it under its own chain anyway.
        super::Chain::R,
    )
}
