//! Patient aggregate (API.md §2.1, §4.1).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::enums::wire_enum;
use super::formats::{Date, Timestamp};
use super::ids::PatientId;
use super::patch::Patch;
use super::schema;

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
    #[schema(schema_with = schema::optional_text::<200>)]
    pub street: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(schema_with = schema::optional_text::<100>)]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(schema_with = schema::optional_text::<100>)]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(schema_with = schema::optional_text::<20>)]
    pub zip_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(schema_with = schema::optional_text::<100>)]
    pub country: Option<String>,
}

/// Who to call; name and phone required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmergencyContact {
    #[schema(schema_with = schema::text::<100>)]
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(schema_with = schema::optional_text::<50>)]
    pub relationship: Option<String>,
    #[schema(schema_with = schema::phone)]
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
    /// Optimistic-concurrency counter (API.md §1.10): 1 at creation, +1 per change.
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

/// Body of `POST /api/v1/patients` (API.md §2.1), validated. Unknown fields are ignored; an optional field that
/// is absent, `null` or blank is unset.
#[derive(Debug, Clone, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "firstName": "Amara", "lastName": "Okafor", "dateOfBirth": "1985-03-15", "gender": "female",
    "email": "amara.okafor@example.org", "phone": "+1 (555) 010-2233",
    "address": {"street": "12 Elm Street", "city": "Springfield", "state": "IL", "zipCode": "62701",
                "country": "USA"},
    "emergencyContact": {"name": "Chidi Okafor", "relationship": "brother", "phone": "+1 555 010 4455"},
    "bloodType": "O+", "allergies": ["penicillin"]
}))]
pub struct CreatePatientRequest {
    #[schema(schema_with = schema::text::<100>)]
    pub first_name: String,
    #[schema(schema_with = schema::text::<100>)]
    pub last_name: String,
    /// 1900-01-01 ≤ dateOfBirth ≤ today (the server's UTC date).
    pub date_of_birth: Date,
    #[schema(schema_with = schema::optional::<Gender>)]
    pub gender: Option<Gender>,
    #[schema(schema_with = schema::email)]
    pub email: String,
    #[schema(schema_with = schema::phone)]
    pub phone: String,
    #[schema(schema_with = schema::optional_object::<Address>)]
    pub address: Option<Address>,
    #[schema(schema_with = schema::optional_object::<EmergencyContact>)]
    pub emergency_contact: Option<EmergencyContact>,
    #[schema(schema_with = schema::optional::<BloodType>)]
    pub blood_type: Option<BloodType>,
    /// At most 50 items of 1–100 characters; `[]` when absent or `null`.
    #[schema(schema_with = schema::text_list::<50, 100>, required = false)]
    pub allergies: Vec<String>,
}

/// Body of `PUT /api/v1/patients/{patientId}`: a partial update. Absent fields stay unchanged; `null` clears
/// `gender`, `address`, `emergencyContact` and `bloodType`; `allergies: null` becomes `[]`.
#[derive(Debug, Clone, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "phone": "+1 555 010 7777", "address": {"city": "Chicago"}, "bloodType": null,
    "emergencyContact": {"name": "Ngozi Okafor", "relationship": "sister", "phone": "+1 555 010 8899"}
}))]
pub struct UpdatePatientRequest {
    #[schema(schema_with = schema::text::<100>, required = false)]
    pub first_name: Patch<String>,
    #[schema(schema_with = schema::text::<100>, required = false)]
    pub last_name: Patch<String>,
    #[schema(value_type = Date, required = false)]
    pub date_of_birth: Patch<Date>,
    #[schema(schema_with = schema::optional::<Gender>, required = false)]
    pub gender: Patch<Gender>,
    #[schema(schema_with = schema::email, required = false)]
    pub email: Patch<String>,
    #[schema(schema_with = schema::phone, required = false)]
    pub phone: Patch<String>,
    #[schema(schema_with = schema::optional_object::<Address>, required = false)]
    pub address: Patch<Address>,
    #[schema(schema_with = schema::optional_object::<EmergencyContact>, required = false)]
    pub emergency_contact: Patch<EmergencyContact>,
    #[schema(schema_with = schema::optional::<BloodType>, required = false)]
    pub blood_type: Patch<BloodType>,
    /// Replaces the list; `null` empties it.
    #[schema(schema_with = schema::text_list::<50, 100>, required = false)]
    pub allergies: Patch<Vec<String>>,
    /// `inactive` deactivates (cancelling future scheduled appointments); `active` reactivates.
    #[schema(value_type = PatientStatus, required = false)]
    pub status: Patch<PatientStatus>,
}

impl CreatePatientRequest {
    /// The new patient: `active`, version 1.
    pub fn into_patient(self, now: Timestamp) -> Patient {
        Patient {
            patient_id: PatientId::generate(),
            first_name: self.first_name,
            last_name: self.last_name,
            date_of_birth: self.date_of_birth,
            gender: self.gender,
            email: self.email,
            phone: self.phone,
            address: self.address,
            emergency_contact: self.emergency_contact,
            blood_type: self.blood_type,
            allergies: self.allergies,
            status: PatientStatus::Active,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }
}

impl UpdatePatientRequest {
    /// The members sent, by wire name (field-level rules, SECURITY.md §3).
    pub fn members(&self) -> Vec<&'static str> {
        crate::domain::patch::sent(&[
            ("firstName", self.first_name.is_sent()),
            ("lastName", self.last_name.is_sent()),
            ("dateOfBirth", self.date_of_birth.is_sent()),
            ("gender", self.gender.is_sent()),
            ("email", self.email.is_sent()),
            ("phone", self.phone.is_sent()),
            ("address", self.address.is_sent()),
            ("emergencyContact", self.emergency_contact.is_sent()),
            ("bloodType", self.blood_type.is_sent()),
            ("allergies", self.allergies.is_sent()),
            ("status", self.status.is_sent()),
        ])
    }

    /// Applies the update to `p`; returns whether anything changed.
    pub fn apply(&self, p: &mut Patient) -> bool {
        let mut changed = false;
        changed |= self.first_name.clone().apply(&mut p.first_name);
        changed |= self.last_name.clone().apply(&mut p.last_name);
        changed |= self.date_of_birth.clone().apply(&mut p.date_of_birth);
        changed |= self.gender.clone().apply_opt(&mut p.gender);
        changed |= self.email.clone().apply(&mut p.email);
        changed |= self.phone.clone().apply(&mut p.phone);
        changed |= self.address.clone().apply_opt(&mut p.address);
        changed |= self.emergency_contact.clone().apply_opt(&mut p.emergency_contact);
        changed |= self.blood_type.clone().apply_opt(&mut p.blood_type);
        changed |= self.allergies.clone().apply(&mut p.allergies);
        changed |= self.status.clone().apply(&mut p.status);
        changed
    }
}

/// Whether going from `current` to `next` deactivates the patient (the cascade of API.md §3.1 #8 then runs in
/// the same transaction).
pub fn deactivates(current: &Patient, next: &Patient) -> bool {
    current.status == PatientStatus::Active && next.status == PatientStatus::Inactive
}
