//! Domain types: IDs, wire formats, money and the six entities. No I/O lives here.

pub mod appointment;
pub mod department;
pub mod doctor;
mod enums;
pub mod formats;
pub mod ids;
pub mod invoice;
pub mod medical_record;
pub mod money;
pub mod patient;

/// Upper-case "First Last" as shown for patients.
pub fn full_name(first: &str, last: &str) -> String {
    format!("{first} {last}")
}

/// "Dr. First Last" as shown for doctors everywhere a doctor is named.
pub fn doctor_name(first: &str, last: &str) -> String {
    format!("Dr. {first} {last}")
}
