//! Patient aggregate (API.md §2.1, §4.1).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::enums::wire_enum;
use super::formats::{Date, Timestamp};
use super::ids::PatientId;

wire_enum!(/// Patient lifecycle status.
    PatientStatus { Active = "active", Inactive = "inactive" });
wire_enum!(/// Administrative gender.
    Gender { Male = "male", Female = "female", Other = "other", Unknown = "unknown" });
wire_enum!(/// ABO/Rh blood group.
    BloodType { APos = "A+", ANeg = "A-", BPos = "B+", BNeg = "B-", AbPos = "AB+", AbNeg = "AB-", OPos = "O+", ONeg = "O-" });

/// Postal address; every member optional, unset members omitted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub street: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub zip_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub country: Option<String>,
}

/// Who to call; name and phone required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmergencyContact {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub relationship: Option<String>,
    pub phone: String,
}

/// A registered patient, exactly as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Patient {
    pub patient_id: PatientId,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: Date,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    pub email: String,
    pub phone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emergency_contact: Option<EmergencyContact>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blood_type: Option<BloodType>,
    pub allergies: Vec<String>,
    pub status: PatientStatus,
    /// Optimistic-concurrency counter; kept from the start, shown on the wire only with [safe-writes].
    #[serde(skip)]
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Patient {
    /// "First Last", as stored on appointments, records and invoices.
    pub fn full_name(&self) -> String {
        super::full_name(&self.first_name, &self.last_name)
    }
}
