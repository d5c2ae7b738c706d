//! SQL shared word for word by the SQLite and MySQL relational adapters: both engines store the same columns with
//! the same values (rows.rs), so the statements and the list filters are written once here and only
//! dialect-specific statements (locking, overlap aliases) stay in the adapters.

use crate::domain::formats::format_date;
use crate::store::{AppointmentFilter, DoctorFilter, PatientFilter};

pub(crate) const PATIENT_SELECT: &str = "SELECT patient_id, first_name, last_name, last_name_lc, full_name_lc, date_of_birth, \
     gender, email, email_lc, phone, address, emergency_contact, blood_type, allergies, status, version, \
     created_at, updated_at FROM patients";

pub(crate) const PATIENT_INSERT: &str = "INSERT INTO patients (patient_id, created_at, first_name, last_name, last_name_lc, \
     full_name_lc, date_of_birth, gender, email, email_lc, phone, address, emergency_contact, blood_type, \
     allergies, status, version, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

pub(crate) const PATIENT_UPDATE: &str = "UPDATE patients SET first_name = ?, last_name = ?, last_name_lc = ?, \
     full_name_lc = ?, date_of_birth = ?, gender = ?, email = ?, email_lc = ?, phone = ?, address = ?, \
     emergency_contact = ?, blood_type = ?, allergies = ?, status = ?, version = ?, updated_at = ? \
     WHERE patient_id = ? AND version = ?";

pub(crate) const DOCTOR_SELECT: &str = "SELECT d.doctor_id, d.first_name, d.last_name, d.email, d.phone, d.specialty, \
     d.specialty_lc, d.license_number, d.license_lc, d.department_id, dep.name AS department_name, \
     d.years_of_experience, d.qualifications, d.status, d.version, d.created_at, d.updated_at \
     FROM doctors d JOIN departments dep ON dep.department_id = d.department_id";

pub(crate) const DOCTOR_INSERT: &str = "INSERT INTO doctors (doctor_id, created_at, first_name, last_name, email, phone, \
     specialty, specialty_lc, license_number, license_lc, department_id, years_of_experience, qualifications, \
     status, version, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

pub(crate) const DOCTOR_UPDATE: &str = "UPDATE doctors SET first_name = ?, last_name = ?, email = ?, phone = ?, \
     specialty = ?, specialty_lc = ?, license_number = ?, license_lc = ?, department_id = ?, \
     years_of_experience = ?, qualifications = ?, status = ?, version = ?, updated_at = ? \
     WHERE doctor_id = ? AND version = ?";

pub(crate) const DEPARTMENT_SELECT: &str = "SELECT dep.department_id, dep.name, dep.name_lc, dep.description, dep.floor, \
     dep.extension, dep.head_doctor_id, h.first_name AS head_first_name, h.last_name AS head_last_name, \
     (SELECT COUNT(*) FROM doctors x WHERE x.department_id = dep.department_id AND x.status = 'active') \
     AS number_of_doctors, dep.version, dep.created_at, dep.updated_at \
     FROM departments dep LEFT JOIN doctors h ON h.doctor_id = dep.head_doctor_id";

pub(crate) const DEPARTMENT_INSERT: &str = "INSERT INTO departments (department_id, created_at, name, name_lc, description, \
     floor, extension, head_doctor_id, version, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

pub(crate) const DEPARTMENT_UPDATE: &str = "UPDATE departments SET name = ?, name_lc = ?, description = ?, floor = ?, \
     extension = ?, head_doctor_id = ?, version = ?, updated_at = ? WHERE department_id = ? AND version = ?";

pub(crate) const APPOINTMENT_SELECT: &str = "SELECT a.appointment_id, a.patient_id, p.first_name AS patient_first_name, \
     p.last_name AS patient_last_name, a.doctor_id, d.first_name AS doctor_first_name, \
     d.last_name AS doctor_last_name, d.department_id, a.appointment_date, a.start_time, a.end_time, a.reason, \
     a.status, a.notes, a.version, a.created_at, a.updated_at FROM appointments a \
     JOIN patients p ON p.patient_id = a.patient_id JOIN doctors d ON d.doctor_id = a.doctor_id";

pub(crate) const APPOINTMENT_INSERT: &str = "INSERT INTO appointments (appointment_id, patient_id, doctor_id, created_at, \
     appointment_date, start_time, end_time, reason, status, notes, version, updated_at) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

pub(crate) const APPOINTMENT_UPDATE: &str = "UPDATE appointments SET appointment_date = ?, start_time = ?, end_time = ?, \
     reason = ?, status = ?, notes = ?, version = ?, updated_at = ? WHERE appointment_id = ? AND version = ?";

/// Scheduled appointments of a patient that start strictly after `(today, now)`.
pub(crate) const CANCEL_FUTURE: &str = "UPDATE appointments SET status = 'cancelled', version = version + 1, updated_at = ? \
     WHERE patient_id = ? AND status = 'scheduled' \
     AND (appointment_date > ? OR (appointment_date = ? AND start_time > ?))";

/// A WHERE clause under construction: conditions joined by AND, each with one text argument, in order.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    pub(crate) conditions: Vec<&'static str>,
    pub(crate) args: Vec<String>,
}

impl Filter {
    fn add(&mut self, condition: &'static str, arg: Option<String>) {
        if let Some(arg) = arg {
            self.conditions.push(condition);
            self.args.push(arg);
        }
    }

    fn add_fixed(&mut self, condition: &'static str) {
        self.conditions.push(condition);
    }

    /// ` WHERE …`, or nothing when no condition applies.
    pub(crate) fn sql(&self) -> String {
        if self.conditions.is_empty() { String::new() } else { format!(" WHERE {}", self.conditions.join(" AND ")) }
    }
}

/// Escapes `%`, `_` and the escape character `!` so user text matches literally inside `LIKE ... ESCAPE '!'`.
/// `!` rather than a backslash: it means the same on SQLite and on MySQL whatever `NO_BACKSLASH_ESCAPES` says.
fn like_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(c);
    }
    out
}

/// `GET /patients` filters over `patients`.
pub(crate) fn patient_filter(filter: &PatientFilter) -> Filter {
    let mut f = Filter::default();
    f.add("full_name_lc LIKE ? ESCAPE '!'", filter.name.as_ref().map(|n| format!("%{}%", like_literal(n))));
    f.add("email_lc = ?", filter.email.clone());
    f.add("phone = ?", filter.phone.clone());
    f.add("date_of_birth = ?", filter.date_of_birth.map(format_date));
    f.add("status = ?", filter.status.map(|s| s.as_str().to_owned()));
    f
}

/// `GET /doctors` filters over `doctors d`.
pub(crate) fn doctor_filter(filter: &DoctorFilter) -> Filter {
    let mut f = Filter::default();
    f.add("d.department_id = ?", filter.department_id.clone());
    f.add("d.specialty_lc = ?", filter.specialty.clone());
    f.add("d.status = ?", filter.status.map(|s| s.as_str().to_owned()));
    match filter.available {
        Some(true) => f.add_fixed("d.status = 'active'"),
        Some(false) => f.add_fixed("d.status <> 'active'"),
        None => {}
    }
    f
}

/// `GET /appointments` filters over `appointments a`.
pub(crate) fn appointment_filter(filter: &AppointmentFilter) -> Filter {
    let mut f = Filter::default();
    f.add("a.patient_id = ?", filter.patient_id.clone());
    f.add("a.doctor_id = ?", filter.doctor_id.clone());
    f.add("a.appointment_date = ?", filter.date.map(format_date));
    f.add("a.status = ?", filter.status.map(|s| s.as_str().to_owned()));
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_and_the_escape_character_are_escaped() {
        assert_eq!(like_literal(r"50%_a!b\c"), r"50!%!_a!!b\c");
    }
}
