//! Row structs of the relational store, shared by the SQL adapters: the one place where domain values become
//! stored columns and back.
//!
//! Each row holds every stored column (including the lower-cased `*_lc` keys, computed here so every engine
//! stores the same bytes) plus the live-joined columns a read adds. `from_domain` encodes for writes and
//! ignores nothing the table keeps; `into_domain` decodes and turns bad stored data into
//! `StoreError::Internal` naming only the table and column, never the value (it may be personal data).

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{BusyInterval, StoreError, StoreResult};
use crate::domain::appointment::{Appointment, AppointmentStatus};
use crate::domain::department::Department;
use crate::domain::doctor::{Doctor, DoctorStatus};
use crate::domain::formats::{Date, Time, Timestamp, format_date, format_time, parse_date, parse_time};
use crate::domain::ids::{AppointmentId, DepartmentId, DoctorId, PatientId};
use crate::domain::patient::{BloodType, Gender, Patient, PatientStatus};
use crate::domain::{doctor_name, full_name};

/// The case folding of every `*_lc` column and of the lower-cased filters callers pass in.
pub fn lower(s: &str) -> String {
    s.to_lowercase()
}

fn corrupt(column: &str) -> StoreError {
    StoreError::Internal(format!("corrupt stored value in {column}"))
}

fn date(s: &str, column: &str) -> StoreResult<Date> {
    parse_date(s).map(Date).ok_or_else(|| corrupt(column))
}

fn time(s: &str, column: &str) -> StoreResult<Time> {
    parse_time(s).map(Time).ok_or_else(|| corrupt(column))
}

fn json_in<T: DeserializeOwned>(s: &str, column: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|_| corrupt(column))
}

fn json_out<T: Serialize>(value: &T, column: &str) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Internal(format!("cannot encode {column}: {e}")))
}

/// `patients`, all columns.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PatientRow {
    pub patient_id: String,
    pub first_name: String,
    pub last_name: String,
    pub last_name_lc: String,
    pub full_name_lc: String,
    pub date_of_birth: String,
    pub gender: Option<String>,
    pub email: String,
    pub email_lc: String,
    pub phone: String,
    pub address: Option<String>,
    pub emergency_contact: Option<String>,
    pub blood_type: Option<String>,
    pub allergies: String,
    pub status: String,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl PatientRow {
    pub fn from_domain(p: &Patient) -> StoreResult<Self> {
        Ok(Self {
            patient_id: p.patient_id.as_str().to_owned(),
            first_name: p.first_name.clone(),
            last_name: p.last_name.clone(),
            last_name_lc: lower(&p.last_name),
            full_name_lc: lower(&p.full_name()),
            date_of_birth: format_date(p.date_of_birth.0),
            gender: p.gender.map(|g| g.as_str().to_owned()),
            email: p.email.clone(),
            email_lc: lower(&p.email),
            phone: p.phone.clone(),
            address: p.address.as_ref().map(|a| json_out(a, "patients.address")).transpose()?,
            emergency_contact: p
                .emergency_contact
                .as_ref()
                .map(|c| json_out(c, "patients.emergency_contact"))
                .transpose()?,
            blood_type: p.blood_type.map(|b| b.as_str().to_owned()),
            allergies: json_out(&p.allergies, "patients.allergies")?,
            status: p.status.as_str().to_owned(),
            version: p.version,
            created_at: p.created_at.millis(),
            updated_at: p.updated_at.millis(),
        })
    }

    pub fn into_domain(self) -> StoreResult<Patient> {
        Ok(Patient {
            date_of_birth: date(&self.date_of_birth, "patients.date_of_birth")?,
            gender: self
                .gender
                .as_deref()
                .map(|g| Gender::parse(g).ok_or_else(|| corrupt("patients.gender")))
                .transpose()?,
            address: self.address.as_deref().map(|a| json_in(a, "patients.address")).transpose()?,
            emergency_contact: self
                .emergency_contact
                .as_deref()
                .map(|c| json_in(c, "patients.emergency_contact"))
                .transpose()?,
            blood_type: self
                .blood_type
                .as_deref()
                .map(|b| BloodType::parse(b).ok_or_else(|| corrupt("patients.blood_type")))
                .transpose()?,
            allergies: json_in(&self.allergies, "patients.allergies")?,
            status: PatientStatus::parse(&self.status).ok_or_else(|| corrupt("patients.status"))?,
            patient_id: PatientId::from_trusted(self.patient_id),
            first_name: self.first_name,
            last_name: self.last_name,
            email: self.email,
            phone: self.phone,
            version: self.version,
            created_at: Timestamp::from_millis(self.created_at),
            updated_at: Timestamp::from_millis(self.updated_at),
        })
    }
}

/// `doctors`, all columns, plus the joined `department_name`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DoctorRow {
    pub doctor_id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub specialty: String,
    pub specialty_lc: String,
    pub license_number: String,
    pub license_lc: String,
    pub department_id: String,
    pub department_name: String,
    pub years_of_experience: i64,
    pub qualifications: String,
    pub status: String,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl DoctorRow {
    pub fn from_domain(d: &Doctor) -> StoreResult<Self> {
        Ok(Self {
            doctor_id: d.doctor_id.as_str().to_owned(),
            first_name: d.first_name.clone(),
            last_name: d.last_name.clone(),
            email: d.email.clone(),
            phone: d.phone.clone(),
            specialty: d.specialty.clone(),
            specialty_lc: lower(&d.specialty),
            license_number: d.license_number.clone(),
            license_lc: lower(&d.license_number),
            department_id: d.department_id.as_str().to_owned(),
            department_name: d.department_name.clone(),
            years_of_experience: d.years_of_experience,
            qualifications: json_out(&d.qualifications, "doctors.qualifications")?,
            status: d.status.as_str().to_owned(),
            version: d.version,
            created_at: d.created_at.millis(),
            updated_at: d.updated_at.millis(),
        })
    }

    pub fn into_domain(self) -> StoreResult<Doctor> {
        Ok(Doctor {
            qualifications: json_in(&self.qualifications, "doctors.qualifications")?,
            status: DoctorStatus::parse(&self.status).ok_or_else(|| corrupt("doctors.status"))?,
            doctor_id: DoctorId::from_trusted(self.doctor_id),
            first_name: self.first_name,
            last_name: self.last_name,
            email: self.email,
            phone: self.phone,
            specialty: self.specialty,
            license_number: self.license_number,
            department_id: DepartmentId::from_trusted(self.department_id),
            department_name: self.department_name,
            years_of_experience: self.years_of_experience,
            version: self.version,
            created_at: Timestamp::from_millis(self.created_at),
            updated_at: Timestamp::from_millis(self.updated_at),
        })
    }
}

/// `departments`, all columns, plus the joined head doctor's names and active-doctor count.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DepartmentRow {
    pub department_id: String,
    pub name: String,
    pub name_lc: String,
    pub description: Option<String>,
    pub floor: Option<i64>,
    pub extension: Option<String>,
    pub head_doctor_id: Option<String>,
    pub head_first_name: Option<String>,
    pub head_last_name: Option<String>,
    pub number_of_doctors: i64,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl DepartmentRow {
    /// The joined columns are left empty: writes never store them.
    pub fn from_domain(d: &Department) -> Self {
        Self {
            department_id: d.department_id.as_str().to_owned(),
            name: d.name.clone(),
            name_lc: lower(&d.name),
            description: d.description.clone(),
            floor: d.floor,
            extension: d.extension.clone(),
            head_doctor_id: d.head_doctor_id.as_ref().map(|h| h.as_str().to_owned()),
            head_first_name: None,
            head_last_name: None,
            number_of_doctors: d.number_of_doctors,
            version: d.version,
            created_at: d.created_at.millis(),
            updated_at: d.updated_at.millis(),
        }
    }

    pub fn into_domain(self) -> StoreResult<Department> {
        // A head that no longer resolves would be a broken foreign key; show neither half rather than one.
        let head = match (self.head_doctor_id, self.head_first_name, self.head_last_name) {
            (Some(id), Some(first), Some(last)) => Some((DoctorId::from_trusted(id), doctor_name(&first, &last))),
            (None, _, _) => None,
            _ => return Err(corrupt("departments.head_doctor_id")),
        };
        let (head_doctor_id, head_doctor_name) = head.unzip();
        Ok(Department {
            department_id: DepartmentId::from_trusted(self.department_id),
            name: self.name,
            description: self.description,
            floor: self.floor,
            extension: self.extension,
            head_doctor_id,
            head_doctor_name,
            number_of_doctors: self.number_of_doctors,
            version: self.version,
            created_at: Timestamp::from_millis(self.created_at),
            updated_at: Timestamp::from_millis(self.updated_at),
        })
    }
}

/// `appointments`, all columns, plus the joined patient and doctor names and the doctor's current department.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AppointmentRow {
    pub appointment_id: String,
    pub patient_id: String,
    pub patient_first_name: String,
    pub patient_last_name: String,
    pub doctor_id: String,
    pub doctor_first_name: String,
    pub doctor_last_name: String,
    pub department_id: String,
    pub appointment_date: String,
    pub start_time: String,
    pub end_time: String,
    pub reason: String,
    pub status: String,
    pub notes: Option<String>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl AppointmentRow {
    /// The joined columns are left empty: writes never store them.
    pub fn from_domain(a: &Appointment) -> Self {
        Self {
            appointment_id: a.appointment_id.as_str().to_owned(),
            patient_id: a.patient_id.as_str().to_owned(),
            patient_first_name: String::new(),
            patient_last_name: String::new(),
            doctor_id: a.doctor_id.as_str().to_owned(),
            doctor_first_name: String::new(),
            doctor_last_name: String::new(),
            department_id: a.department_id.as_str().to_owned(),
            appointment_date: format_date(a.appointment_date.0),
            start_time: format_time(a.start_time.0),
            end_time: format_time(a.end_time.0),
            reason: a.reason.clone(),
            status: a.status.as_str().to_owned(),
            notes: a.notes.clone(),
            version: a.version,
            created_at: a.created_at.millis(),
            updated_at: a.updated_at.millis(),
        }
    }

    pub fn into_domain(self) -> StoreResult<Appointment> {
        Ok(Appointment {
            appointment_date: date(&self.appointment_date, "appointments.appointment_date")?,
            start_time: time(&self.start_time, "appointments.start_time")?,
            end_time: time(&self.end_time, "appointments.end_time")?,
            status: AppointmentStatus::parse(&self.status).ok_or_else(|| corrupt("appointments.status"))?,
            patient_name: full_name(&self.patient_first_name, &self.patient_last_name),
            doctor_name: doctor_name(&self.doctor_first_name, &self.doctor_last_name),
            appointment_id: AppointmentId::from_trusted(self.appointment_id),
            patient_id: PatientId::from_trusted(self.patient_id),
            doctor_id: DoctorId::from_trusted(self.doctor_id),
            department_id: DepartmentId::from_trusted(self.department_id),
            reason: self.reason,
            notes: self.notes,
            version: self.version,
            created_at: Timestamp::from_millis(self.created_at),
            updated_at: Timestamp::from_millis(self.updated_at),
        })
    }
}

/// The interval columns of a non-cancelled appointment.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BusyRow {
    pub appointment_date: String,
    pub start_time: String,
    pub end_time: String,
}

impl BusyRow {
    pub fn into_domain(self) -> StoreResult<BusyInterval> {
        Ok(BusyInterval {
            date: date(&self.appointment_date, "appointments.appointment_date")?,
            start: time(&self.start_time, "appointments.start_time")?,
            end: time(&self.end_time, "appointments.end_time")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_stored_dates_are_internal_errors_not_panics() {
        let row =
            BusyRow { appointment_date: "2026-13-01".into(), start_time: "10:00:00".into(), end_time: "x".into() };
        assert!(matches!(row.into_domain(), Err(StoreError::Internal(_))));
    }
}
