//! Domain types: IDs, wire formats, money and the six entities. No I/O lives here.

pub mod appointment;
pub mod availability;
pub mod department;
pub mod doctor;
mod enums;
pub mod formats;
pub mod ids;
pub mod invoice;
pub mod medical_record;
pub mod money;
pub mod patch;
pub mod patient;
pub mod revocation;
pub mod schema;

/// How far in the future a client clock may run ahead of ours for `visitDate` and `paymentDate` (API.md §2.6, §2.7).
pub const CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;

/// Upper-case "First Last" as shown for patients.
pub fn full_name(first: &str, last: &str) -> String {
    format!("{first} {last}")
}

/// "Dr. First Last" as shown for doctors everywhere a doctor is named.
pub fn doctor_name(first: &str, last: &str) -> String {
    format!("Dr. {first} {last}")
}

/// A resource under optimistic concurrency (API.md §1.10): an integer `version`, 1 at creation and +1 for every
/// change that persists, and the time of its latest change.
pub trait Versioned: Clone + Send + Sync {
    fn version(&self) -> i64;
    /// Marks `self` as the next version, written at `at`.
    fn stamp(&mut self, version: i64, at: formats::Timestamp);
}

macro_rules! versioned {
    ($($t:ty),+) => {$(
        impl Versioned for $t {
            fn version(&self) -> i64 {
                self.version
            }
            fn stamp(&mut self, version: i64, at: formats::Timestamp) {
                self.version = version;
                self.updated_at = at;
            }
        }
    )+};
}

versioned!(
    patient::Patient,
    doctor::Doctor,
    department::Department,
    appointment::Appointment,
    medical_record::MedicalRecord,
    invoice::Invoice
);
