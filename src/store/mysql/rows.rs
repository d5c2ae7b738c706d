//! Decoding MySQL result rows into the shared row structs of `store::rows`, column by name.
//!
//! The derived `sqlx::FromRow` cannot be used: MySQL flags VARBINARY columns (every compared column here) as
//! binary, and sqlx's type check then refuses `String`. Text columns are therefore read unchecked, which still
//! validates UTF-8; integers keep the checked path. A decoding failure is a `sqlx::Error::ColumnDecode`, which
//! the port reports as `Internal`.

use sqlx::Row;
use sqlx::mysql::MySqlRow;

use crate::store::rows::{AppointmentRow, BusyRow, DepartmentRow, DoctorRow, PatientRow};

/// A row struct built from one MySQL result row.
pub(super) trait FromMySql: Sized {
    fn from_mysql(row: &MySqlRow) -> Result<Self, sqlx::Error>;
}

/// `FromMySql::from_mysql` by value, the shape `Query::try_map` takes.
pub(super) fn decode<R: FromMySql>(row: MySqlRow) -> Result<R, sqlx::Error> {
    R::from_mysql(&row)
}

/// A text or VARBINARY column holding UTF-8.
pub(super) fn text(row: &MySqlRow, column: &str) -> Result<String, sqlx::Error> {
    row.try_get_unchecked(column)
}

fn opt_text(row: &MySqlRow, column: &str) -> Result<Option<String>, sqlx::Error> {
    row.try_get_unchecked(column)
}

fn int(row: &MySqlRow, column: &str) -> Result<i64, sqlx::Error> {
    row.try_get(column)
}

impl FromMySql for PatientRow {
    fn from_mysql(row: &MySqlRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            patient_id: text(row, "patient_id")?,
            first_name: text(row, "first_name")?,
            last_name: text(row, "last_name")?,
            last_name_lc: text(row, "last_name_lc")?,
            full_name_lc: text(row, "full_name_lc")?,
            date_of_birth: text(row, "date_of_birth")?,
            gender: opt_text(row, "gender")?,
            email: text(row, "email")?,
            email_lc: text(row, "email_lc")?,
            phone: text(row, "phone")?,
            address: opt_text(row, "address")?,
            emergency_contact: opt_text(row, "emergency_contact")?,
            blood_type: opt_text(row, "blood_type")?,
            allergies: text(row, "allergies")?,
            status: text(row, "status")?,
            version: int(row, "version")?,
            created_at: int(row, "created_at")?,
            updated_at: int(row, "updated_at")?,
        })
    }
}

impl FromMySql for DoctorRow {
    fn from_mysql(row: &MySqlRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            doctor_id: text(row, "doctor_id")?,
            first_name: text(row, "first_name")?,
            last_name: text(row, "last_name")?,
            email: text(row, "email")?,
            phone: text(row, "phone")?,
            specialty: text(row, "specialty")?,
            specialty_lc: text(row, "specialty_lc")?,
            license_number: text(row, "license_number")?,
            license_lc: text(row, "license_lc")?,
            department_id: text(row, "department_id")?,
            department_name: text(row, "department_name")?,
            years_of_experience: int(row, "years_of_experience")?,
            qualifications: text(row, "qualifications")?,
            status: text(row, "status")?,
            version: int(row, "version")?,
            created_at: int(row, "created_at")?,
            updated_at: int(row, "updated_at")?,
        })
    }
}

impl FromMySql for DepartmentRow {
    fn from_mysql(row: &MySqlRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            department_id: text(row, "department_id")?,
            name: text(row, "name")?,
            name_lc: text(row, "name_lc")?,
            description: opt_text(row, "description")?,
            floor: row.try_get("floor")?,
            extension: opt_text(row, "extension")?,
            head_doctor_id: opt_text(row, "head_doctor_id")?,
            head_first_name: opt_text(row, "head_first_name")?,
            head_last_name: opt_text(row, "head_last_name")?,
            number_of_doctors: int(row, "number_of_doctors")?,
            version: int(row, "version")?,
            created_at: int(row, "created_at")?,
            updated_at: int(row, "updated_at")?,
        })
    }
}

impl FromMySql for AppointmentRow {
    fn from_mysql(row: &MySqlRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            appointment_id: text(row, "appointment_id")?,
            patient_id: text(row, "patient_id")?,
            patient_first_name: text(row, "patient_first_name")?,
            patient_last_name: text(row, "patient_last_name")?,
            doctor_id: text(row, "doctor_id")?,
            doctor_first_name: text(row, "doctor_first_name")?,
            doctor_last_name: text(row, "doctor_last_name")?,
            department_id: text(row, "department_id")?,
            appointment_date: text(row, "appointment_date")?,
            start_time: text(row, "start_time")?,
            end_time: text(row, "end_time")?,
            reason: text(row, "reason")?,
            status: text(row, "status")?,
            notes: opt_text(row, "notes")?,
            version: int(row, "version")?,
            created_at: int(row, "created_at")?,
            updated_at: int(row, "updated_at")?,
        })
    }
}

impl FromMySql for BusyRow {
    fn from_mysql(row: &MySqlRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            appointment_date: text(row, "appointment_date")?,
            start_time: text(row, "start_time")?,
            end_time: text(row, "end_time")?,
        })
    }
}
