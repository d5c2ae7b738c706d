//! SQL text shared word for word by the SQLite and MySQL relational adapters: both engines store the same columns
//! with the same values (rows.rs), so only dialect-specific statements (locking, overlap aliases, escapes) stay in
//! the adapters.

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
