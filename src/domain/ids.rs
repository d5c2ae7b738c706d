//! Prefixed ULID identifiers (API.md §1.6). A malformed ID never reaches a store: it parses to `None`.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Monotonic within this process, so IDs made in the same millisecond still sort by creation order.
static GENERATOR: Mutex<Option<ulid::Generator>> = Mutex::new(None);

fn next_ulid() -> String {
    let mut guard = GENERATOR.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let generator = guard.get_or_insert_with(ulid::Generator::new);
    // Overflow needs 2^80 IDs in one millisecond; fall back to a fresh random ULID rather than fail.
    generator.generate().unwrap_or_else(|_| ulid::Ulid::new()).to_string()
}

/// True when `s` is a 26-character upper-case Crockford ULID whose first character is 0–7.
pub fn is_ulid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 26
        && (b'0'..=b'7').contains(&b[0])
        && b.iter()
            .all(|c| matches!(c, b'0'..=b'9' | b'A'..=b'H' | b'J' | b'K' | b'M' | b'N' | b'P'..=b'T' | b'V'..=b'Z'))
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::domain::schema::string(
                    concat!("`", $prefix, "` + ULID"),
                    Some(format!("^{}{}$", $prefix, $crate::domain::schema::ULID_PATTERN)),
                    None,
                    concat!($prefix, "01M88ZQHVRM9S346Q3D25VT4F5"),
                )
            }
        }

        impl utoipa::ToSchema for $name {}

        impl $name {
            /// The ID prefix, including the dash.
            pub const PREFIX: &'static str = $prefix;

            /// A new, unique ID.
            pub fn generate() -> Self {
                Self(format!("{}{}", $prefix, next_ulid()))
            }

            /// Parses a client-supplied ID; `None` when it is malformed (which callers treat as "does not exist").
            pub fn parse(s: &str) -> Option<Self> {
                s.strip_prefix($prefix).filter(|rest| is_ulid(rest)).map(|_| Self(s.to_owned()))
            }

            /// Wraps an ID read back from a store, which was validated when it was written.
            pub fn from_trusted(s: String) -> Self {
                Self(s)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

prefixed_id!(/// `PAT-` + ULID.
    PatientId, "PAT-");
prefixed_id!(/// `DOC-` + ULID.
    DoctorId, "DOC-");
prefixed_id!(/// `APT-` + ULID.
    AppointmentId, "APT-");
prefixed_id!(/// `REC-` + ULID.
    RecordId, "REC-");
prefixed_id!(/// `INV-` + ULID.
    InvoiceId, "INV-");

/// `DEPT-` + ULID, or one of the seeded `DEPT-001` … `DEPT-006`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DepartmentId(String);

impl utoipa::PartialSchema for DepartmentId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::domain::schema::string(
            "`DEPT-` + ULID, or a seeded `DEPT-` + three digits",
            Some(format!("^DEPT-([0-9]{{3}}|{})$", crate::domain::schema::ULID_PATTERN)),
            None,
            "DEPT-001",
        )
    }
}

impl utoipa::ToSchema for DepartmentId {}

impl DepartmentId {
    pub const PREFIX: &'static str = "DEPT-";

    pub fn generate() -> Self {
        Self(format!("DEPT-{}", next_ulid()))
    }

    /// Accepts `DEPT-` + ULID and the seeded `DEPT-001` … `DEPT-006` (any three digits, so later seeds fit).
    pub fn parse(s: &str) -> Option<Self> {
        let rest = s.strip_prefix("DEPT-")?;
        let seeded = rest.len() == 3 && rest.bytes().all(|c| c.is_ascii_digit());
        (seeded || is_ulid(rest)).then(|| Self(s.to_owned()))
    }

    pub fn from_trusted(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for DepartmentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back_and_sort_by_creation() {
        let a = PatientId::generate();
        let b = PatientId::generate();
        assert_eq!(PatientId::parse(a.as_str()), Some(a.clone()));
        assert!(a < b);
    }

    #[test]
    fn malformed_ids_are_rejected() {
        for bad in [
            "PAT-01M88ZQHVRM9S346Q3D25VT4F",  // 25 chars
            "PAT-81M88ZQHVRM9S346Q3D25VT4F5", // first char above 7
            "PAT-01m88zqhvrm9s346q3d25vt4f5", // lower case
            "PAT-01M88ZQHVRM9S346Q3D25VT4FU", // U is not Crockford
            "DOC-01M88ZQHVRM9S346Q3D25VT4F5", // wrong prefix
            "",
        ] {
            assert_eq!(PatientId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn department_ids_accept_seeds_and_ulids() {
        assert!(DepartmentId::parse("DEPT-001").is_some());
        assert!(DepartmentId::parse(DepartmentId::generate().as_str()).is_some());
        assert!(DepartmentId::parse("DEPT-1").is_none());
        assert!(DepartmentId::parse("DEPT-ABC").is_none());
    }
}
