//! Which `/api` operations are audited and how (SECURITY.md §5 "What is recorded"), written once as data: the
//! action, the resource type, the chain the event belongs to, and whether a served request is recorded at all
//! (directory reads are recorded only when refused). A test checks every routed operation has exactly one row.

use super::{Action, Chain, ResourceType};

/// How one operation is audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Audited {
    pub method: &'static str,
    pub path: &'static str,
    pub action: Action,
    pub resource_type: Option<ResourceType>,
    /// Where its events live: with the data the request is about.
    pub chain: Chain,
    /// Recorded whatever the answer; `false` for directory reads, recorded only when refused (401/403/429).
    pub always: bool,
    /// A 2xx answer carries patient data (or audit data): it is sent only once its event is durable.
    pub fail_closed: bool,
}

const fn row(
    method: &'static str,
    path: &'static str,
    action: Action,
    resource_type: Option<ResourceType>,
    chain: Chain,
    always: bool,
    fail_closed: bool,
) -> Audited {
    Audited { method, path, action, resource_type, chain, always, fail_closed }
}

use Action::{Create, Delete, Read, Search, Update};
use Chain::{D, R};
use ResourceType as T;

/// Every `/api` operation.
pub const ROUTES: &[Audited] = &[
    // Directory reads: recorded only when refused.
    row("get", "/api/v1/doctors", Search, Some(T::Doctor), R, false, false),
    row("get", "/api/v1/doctors/{doctorId}", Read, Some(T::Doctor), R, false, false),
    row("get", "/api/v1/doctors/{doctorId}/availability", Read, Some(T::Doctor), R, false, false),
    row("get", "/api/v1/departments", Search, Some(T::Department), R, false, false),
    row("get", "/api/v1/departments/{departmentId}", Read, Some(T::Department), R, false, false),
    row("get", "/api/v1/departments/{departmentId}/doctors", Search, Some(T::Doctor), R, false, false),
    row("get", "/api/v1/me", Read, None, R, false, false),
    // Directory writes.
    row("post", "/api/v1/doctors", Create, Some(T::Doctor), R, true, false),
    row("put", "/api/v1/doctors/{doctorId}", Update, Some(T::Doctor), R, true, false),
    row("post", "/api/v1/departments", Create, Some(T::Department), R, true, false),
    row("put", "/api/v1/departments/{departmentId}", Update, Some(T::Department), R, true, false),
    // Patients.
    row("get", "/api/v1/patients", Search, Some(T::Patient), R, true, true),
    row("get", "/api/v1/patients/{patientId}", Read, Some(T::Patient), R, true, true),
    row("post", "/api/v1/patients", Create, Some(T::Patient), R, true, true),
    row("put", "/api/v1/patients/{patientId}", Update, Some(T::Patient), R, true, true),
    row("delete", "/api/v1/patients/{patientId}", Delete, Some(T::Patient), R, true, true),
    // Appointments.
    row("get", "/api/v1/appointments", Search, Some(T::Appointment), R, true, true),
    row("get", "/api/v1/appointments/{appointmentId}", Read, Some(T::Appointment), R, true, true),
    row("post", "/api/v1/appointments", Create, Some(T::Appointment), R, true, true),
    row("put", "/api/v1/appointments/{appointmentId}", Update, Some(T::Appointment), R, true, true),
    row("delete", "/api/v1/appointments/{appointmentId}", Delete, Some(T::Appointment), R, true, true),
    // Medical records (D; a new record reads R and writes D: its event is in D).
    row("get", "/api/v1/medical-records/{recordId}", Read, Some(T::MedicalRecord), D, true, true),
    row("get", "/api/v1/patients/{patientId}/medical-records", Search, Some(T::MedicalRecord), D, true, true),
    row("get", "/api/v1/medical-records/{recordId}/history", Read, Some(T::MedicalRecord), D, true, true),
    row("post", "/api/v1/medical-records", Create, Some(T::MedicalRecord), D, true, true),
    row("put", "/api/v1/medical-records/{recordId}", Update, Some(T::MedicalRecord), D, true, true),
    // Billing (D).
    row("get", "/api/v1/billing/invoices/{invoiceId}", Read, Some(T::Invoice), D, true, true),
    row("get", "/api/v1/patients/{patientId}/invoices", Search, Some(T::Invoice), D, true, true),
    row("post", "/api/v1/billing/invoices", Create, Some(T::Invoice), D, true, true),
    row("put", "/api/v1/billing/invoices/{invoiceId}/payment", Update, Some(T::Invoice), D, true, true),
    // The audit trail itself (read from both stores; its own events in R).
    row("get", "/api/v1/audit-events", Search, Some(T::AuditEvent), R, true, true),
    row("get", "/api/v1/patients/{patientId}/access-log", Search, Some(T::AuditEvent), R, true, true),
    // Revocations: the write is recorded; the list is neither patient data nor the audit trail.
    row("post", "/api/v1/admin/revocations", Create, Some(T::Revocation), R, true, false),
    row("get", "/api/v1/admin/revocations", Search, Some(T::Revocation), R, false, false),
];

/// The row of an operation (`method` lower- or upper-case; HEAD counts as GET).
pub fn audited(method: &str, path: &str) -> Option<&'static Audited> {
    let method = if method.eq_ignore_ascii_case("head") { "get" } else { method };
    ROUTES.iter().find(|r| r.path == path && r.method.eq_ignore_ascii_case(method))
}

/// Every query parameter name the API reads. A name outside this list is not recorded: a client may put anything
/// in a name, a patient's name included.
const QUERY_NAMES: &[&str] = &[
    "page",
    "limit",
    "cursor",
    "name",
    "email",
    "phone",
    "dateOfBirth",
    "status",
    "patientId",
    "doctorId",
    "departmentId",
    "specialty",
    "available",
    "date",
    "startDate",
    "endDate",
    "from",
    "to",
    "actorSub",
    "resourceType",
    "action",
];

/// The names of the query parameters sent that the API knows, each once, in the order sent.
pub fn query_names(query: Option<&str>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (k, _) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if QUERY_NAMES.contains(&k.as_ref()) && !names.iter().any(|n| n == k.as_ref()) {
            names.push(k.into_owned());
        }
    }
    names
}

/// The ID a concrete path carries where the template has its last `{…Id}` segment, if it is a well-formed
/// gospital ID (a malformed one may be any text a client typed, so it is not recorded).
pub fn path_id(template: &str, path: &str) -> Option<String> {
    param(template, path, |name| name.ends_with("Id"), true)
}

/// The patient a path names (`/patients/{patientId}…`), if well-formed.
pub fn path_patient(template: &str, path: &str) -> Option<String> {
    param(template, path, |name| name == "patientId", false)
        .filter(|id| crate::domain::ids::PatientId::parse(id).is_some())
}

fn param(template: &str, path: &str, wanted: impl Fn(&str) -> bool, last: bool) -> Option<String> {
    let mut found = None;
    for (t, p) in template.split('/').zip(path.split('/')) {
        if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}'))
            && wanted(name)
        {
            found = Some(p.to_owned());
            if !last {
                break;
            }
        }
    }
    found.filter(|id| well_formed(id))
}

/// `XXX-` + ULID, the shape of every gospital ID.
fn well_formed(id: &str) -> bool {
    id.split_once('-').is_some_and(|(prefix, rest)| {
        (3..=4).contains(&prefix.len())
            && prefix.bytes().all(|b| b.is_ascii_uppercase())
            && crate::domain::ids::is_ulid(rest)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_matrix_operation_has_exactly_one_audit_row() {
        for g in crate::auth::matrix::MATRIX {
            let n = ROUTES.iter().filter(|r| r.path == g.path && r.method == g.method).count();
            assert_eq!(n, 1, "{} {}", g.method, g.path);
        }
        assert_eq!(ROUTES.len(), crate::auth::matrix::MATRIX.len());
    }

    #[test]
    fn query_names_keep_known_names_only() {
        assert_eq!(query_names(Some("name=Ann&limit=2&name=Bo&Smith=1")), vec!["name", "limit"]);
        assert!(query_names(None).is_empty());
    }

    #[test]
    fn path_ids_are_recorded_only_when_well_formed() {
        let id = "PAT-01M88ZQHVRM9S346Q3D25VT4F5";
        let t = "/api/v1/patients/{patientId}/medical-records";
        assert_eq!(path_id(t, &format!("/api/v1/patients/{id}/medical-records")).as_deref(), Some(id));
        assert_eq!(path_patient(t, &format!("/api/v1/patients/{id}/medical-records")).as_deref(), Some(id));
        assert_eq!(path_id(t, "/api/v1/patients/John%20Smith/medical-records"), None);
        assert_eq!(path_id("/api/v1/patients", "/api/v1/patients"), None);
        let rec = "REC-01M88ZQHVRM9S346Q3D25VT4F5";
        assert_eq!(path_patient("/api/v1/medical-records/{recordId}", &format!("/api/v1/medical-records/{rec}")), None);
    }
}
