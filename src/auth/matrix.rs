//! The role × route matrix of SECURITY.md §3, written once as data: each `/api` operation, the roles with full
//! access, and the restricted grants (`own` rows for `patient`, vital signs only for `nurse`). The middleware
//! decides every request from this table; `/openapi.json` documents each operation's roles from it; a test
//! checks that every routed operation has exactly one row. Deny by default: an operation without a row is 403.

use super::{Access, Principal, Role, Roles};

use Role::{Admin, Auditor, Billing, Doctor, Nurse, Patient, Receptionist};

/// A restricted grant beyond the full-access roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restricted {
    None,
    /// `patient`: only its own rows; the use case applies the route's field rules (notes 1–3).
    Own,
    /// `nurse`: vital signs (and the amendment reason) only (note 4).
    Vitals,
}

/// One operation's grants.
#[derive(Debug, Clone, Copy)]
pub struct Grant {
    pub method: &'static str,
    /// The route template as routed (`/api/v1/patients/{patientId}`).
    pub path: &'static str,
    pub full: Roles,
    pub restricted: Restricted,
}

const ALL: Roles = Roles::of(&[Admin, Doctor, Nurse, Receptionist, Billing, Auditor, Patient]);
const ADMIN: Roles = Roles::of(&[Admin]);
const SEARCH: Roles = Roles::of(&[Admin, Doctor, Nurse, Receptionist, Billing]);
const CLINICAL: Roles = Roles::of(&[Doctor, Nurse]);
const INVOICE_READERS: Roles = Roles::of(&[Admin, Receptionist, Billing]);
const BOOKING: Roles = Roles::of(&[Admin, Doctor, Nurse, Receptionist]);

const fn grant(method: &'static str, path: &'static str, full: Roles, restricted: Restricted) -> Grant {
    Grant { method, path, full, restricted }
}

use Restricted::{None as Full, Own, Vitals};

/// SECURITY.md §3, row by row.
pub const MATRIX: &[Grant] = &[
    // Directory: everyone.
    grant("get", "/api/v1/doctors", ALL, Full),
    grant("get", "/api/v1/doctors/{doctorId}", ALL, Full),
    grant("get", "/api/v1/doctors/{doctorId}/availability", ALL, Full),
    grant("get", "/api/v1/departments", ALL, Full),
    grant("get", "/api/v1/departments/{departmentId}", ALL, Full),
    grant("get", "/api/v1/departments/{departmentId}/doctors", ALL, Full),
    // Directory changes: admin.
    grant("post", "/api/v1/doctors", ADMIN, Full),
    grant("put", "/api/v1/doctors/{doctorId}", ADMIN, Full),
    grant("post", "/api/v1/departments", ADMIN, Full),
    grant("put", "/api/v1/departments/{departmentId}", ADMIN, Full),
    // Patients.
    grant("get", "/api/v1/patients", SEARCH, Full),
    grant("get", "/api/v1/patients/{patientId}", SEARCH, Own),
    grant("post", "/api/v1/patients", Roles::of(&[Admin, Doctor, Receptionist]), Full),
    grant("put", "/api/v1/patients/{patientId}", BOOKING, Own),
    grant("delete", "/api/v1/patients/{patientId}", Roles::of(&[Admin, Receptionist]), Full),
    // Appointments.
    grant("get", "/api/v1/appointments", SEARCH, Own),
    grant("get", "/api/v1/appointments/{appointmentId}", SEARCH, Own),
    grant("post", "/api/v1/appointments", BOOKING, Own),
    grant("put", "/api/v1/appointments/{appointmentId}", BOOKING, Own),
    grant("delete", "/api/v1/appointments/{appointmentId}", BOOKING, Own),
    // Medical records: clinicians only (admin, billing and reception never read them).
    grant("get", "/api/v1/medical-records/{recordId}", CLINICAL, Own),
    grant("get", "/api/v1/patients/{patientId}/medical-records", CLINICAL, Own),
    grant("get", "/api/v1/medical-records/{recordId}/history", CLINICAL, Own),
    grant("post", "/api/v1/medical-records", CLINICAL, Full),
    grant("put", "/api/v1/medical-records/{recordId}", Roles::of(&[Doctor]), Vitals),
    // Billing.
    grant("get", "/api/v1/billing/invoices/{invoiceId}", INVOICE_READERS, Own),
    grant("get", "/api/v1/patients/{patientId}/invoices", INVOICE_READERS, Own),
    grant("post", "/api/v1/billing/invoices", Roles::of(&[Billing]), Full),
    grant("put", "/api/v1/billing/invoices/{invoiceId}/payment", Roles::of(&[Billing]), Full),
    // Revocations.
    grant("post", "/api/v1/admin/revocations", ADMIN, Full),
    grant("get", "/api/v1/admin/revocations", ADMIN, Full),
    // Who am I.
    grant("get", "/api/v1/me", ALL, Full),
    // The audit trail (SECURITY.md §5): auditors; a patient reads its own access log.
    grant("get", "/api/v1/audit-events", Roles::of(&[Auditor]), Full),
    grant("get", "/api/v1/patients/{patientId}/access-log", Roles::of(&[Auditor]), Own),
];

/// The row of an operation (`method` in any case: `GET` from a request, `get` from the document), if the matrix
/// has one.
pub fn grant_for(method: &str, path: &str) -> Option<&'static Grant> {
    MATRIX.iter().find(|g| g.path == path && g.method.eq_ignore_ascii_case(method))
}

impl Grant {
    /// What `principal` may do here; `None` is 403.
    pub fn access(&self, principal: &Principal) -> Option<Access> {
        if principal.roles.intersects(self.full) {
            return Some(Access::Full);
        }
        match self.restricted {
            Restricted::Own if principal.roles.contains(Patient) => {
                principal.patient_id.clone().map(Access::OwnPatient)
            }
            Restricted::Vitals if principal.roles.contains(Nurse) => Some(Access::VitalsOnly),
            _ => None,
        }
    }

    /// The roles allowed at all, for the document: full ones, then the restricted one with its limit.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self.full.names().into_iter().map(str::to_owned).collect();
        match self.restricted {
            Restricted::Own => parts.push("patient (own rows only)".to_owned()),
            Restricted::Vitals => parts.push("nurse (vitalSigns and amendmentReason only)".to_owned()),
            Restricted::None => {}
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(roles: &[Role], patient: bool) -> Principal {
        let mut p = Principal::anonymous();
        p.roles = Roles::of(roles);
        p.patient_id = patient.then(crate::domain::ids::PatientId::generate);
        p
    }

    #[test]
    fn each_operation_has_one_row() {
        for (i, g) in MATRIX.iter().enumerate() {
            assert!(
                MATRIX[i + 1..].iter().all(|o| (o.method, o.path) != (g.method, g.path)),
                "{} {} twice",
                g.method,
                g.path
            );
        }
    }

    #[test]
    fn several_roles_get_the_union_and_no_role_gets_nothing() {
        let put_record = grant_for("put", "/api/v1/medical-records/{recordId}").unwrap();
        assert_eq!(put_record.access(&with(&[Nurse], false)), Some(Access::VitalsOnly));
        assert_eq!(put_record.access(&with(&[Nurse, Doctor], false)), Some(Access::Full));
        assert_eq!(put_record.access(&with(&[], false)), None);
        let me = grant_for("get", "/api/v1/me").unwrap();
        assert_eq!(me.access(&with(&[], false)), None, "no known role is refused everywhere, /me included");
        let record = grant_for("get", "/api/v1/medical-records/{recordId}").unwrap();
        assert!(matches!(record.access(&with(&[Patient], true)), Some(Access::OwnPatient(_))));
        assert_eq!(record.access(&with(&[Admin, Billing, Receptionist, Auditor], false)), None);
    }
}
