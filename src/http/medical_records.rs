//! Medical records (API.md §3.5 #24–#26) and a patient's records (§3.1 #9).
//!
//! Bodies and queries are parsed here; the use cases are in `crate::service::medical_records`.

use axum::extract::{Path, State};
use axum::response::Response;
use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{CreateBody, IfMatch, JsonBody, QueryParams, cursor};
use super::json::{Field, Json, Obj, Patch, Validator, object_array, rules, string_array};
use super::wire::{created, ok, tagged};
use crate::domain::CLOCK_SKEW_MS;
use crate::domain::formats::{Date, Timestamp};
use crate::domain::ids::{PatientId, RecordId};
use crate::domain::medical_record::{
    CreateMedicalRecordRequest, LabResult, MedicalRecord, Prescription, UpdateMedicalRecordRequest, VitalSigns,
};
use crate::error::{ApiError, ApiResult};
use crate::service::Ctx;
use crate::service::medical_records::record_location;
use crate::state::AppState;
use crate::store::DateRange;

const MAX_SYMPTOMS: usize = 50;
const MAX_PRESCRIPTIONS: usize = 50;
const MAX_LAB_RESULTS: usize = 100;

/// `GET /api/v1/patients/{patientId}/medical-records` response.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PatientRecordsResponse {
    pub patient_id: PatientId,
    pub records: Vec<MedicalRecord>,
    /// `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `GET /api/v1/medical-records/{recordId}/history` response.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordHistoryResponse {
    pub record_id: RecordId,
    /// Earlier versions, each as it was when current, newest first.
    pub versions: Vec<MedicalRecord>,
    /// `null` on the last page.
    pub next_cursor: Option<String>,
}

/// This module's `/api/v1` routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_record))
        .routes(routes!(get_record, amend_record))
        .routes(routes!(record_history))
        .routes(routes!(list_patient_records))
}

// ---- handlers ---------------------------------------------------------------------------------------

/// Creates a medical record (#24).
#[utoipa::path(
    post,
    path = "/api/v1/medical-records",
    tag = "medical-records",
    request_body = CreateMedicalRecordRequest,
    responses(
        (status = 201, description = "Record created", body = MedicalRecord,
            headers(("Location" = String, description = "Path of the new record"))),
    )
)]
async fn create_record(State(state): State<AppState>, ctx: Ctx, body: CreateBody) -> ApiResult<Response> {
    let req = parse_create(&body.json, ctx.now())?;
    let outcome = state.service.create_record(&ctx, req, body.once.as_ref()).await?;
    Ok(created(outcome, |r| record_location(&r.record_id)))
}

/// Reads one medical record (#25).
#[utoipa::path(
    get,
    path = "/api/v1/medical-records/{recordId}",
    tag = "medical-records",
    params(("recordId" = crate::domain::ids::RecordId, Path, description = "`REC-` + ULID")),
    responses(
        (status = 200, description = "The record", body = MedicalRecord),
    )
)]
async fn get_record(State(state): State<AppState>, ctx: Ctx, Path(raw_id): Path<String>) -> ApiResult<Response> {
    Ok(tagged(&state.service.record(&ctx, &raw_id).await?))
}

/// Amends a medical record in place (#26, [core]).
#[utoipa::path(
    put,
    path = "/api/v1/medical-records/{recordId}",
    tag = "medical-records",
    params(("recordId" = crate::domain::ids::RecordId, Path, description = "`REC-` + ULID")),
    request_body = UpdateMedicalRecordRequest,
    responses(
        (status = 200, description = "The amended (or unchanged) record", body = MedicalRecord),
    )
)]
async fn amend_record(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(raw_id): Path<String>,
    IfMatch(precondition): IfMatch,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let req = parse_update(&body)?;
    Ok(tagged(&state.service.amend_record(&ctx, &raw_id, &req, &precondition).await?))
}

/// Lists a record's earlier versions, newest first ([history], API.md §3.7).
#[utoipa::path(
    get,
    path = "/api/v1/medical-records/{recordId}/history",
    tag = "medical-records",
    params(
        ("recordId" = crate::domain::ids::RecordId, Path, description = "`REC-` + ULID"),
        ("limit" = Option<u32>, Query, description = "Page size, default 50, capped to 100"),
        ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "One page of earlier versions, by version descending", body = RecordHistoryResponse),
    )
)]
async fn record_history(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(raw_id): Path<String>,
    q: QueryParams,
) -> ApiResult<Response> {
    let mut v = q.validator();
    let limit = q.limit(&mut v, 50);
    let scope = format!("/api/v1/medical-records/{raw_id}/history");
    let after = cursor::from_query(&q, &mut v, &scope);
    v.finish()?;
    let (record_id, page) = state.service.record_history(&ctx, &raw_id, limit, after.as_ref()).await?;
    Ok(ok(&RecordHistoryResponse {
        record_id,
        versions: page.items,
        next_cursor: page.next.map(|k| cursor::encode(&scope, &k)),
    }))
}

/// Lists a patient's records, newest visit first (#9).
#[utoipa::path(
    get,
    path = "/api/v1/patients/{patientId}/medical-records",
    tag = "patients",
    params(
        ("patientId" = crate::domain::ids::PatientId, Path, description = "`PAT-` + ULID"),
        ("startDate" = Option<crate::domain::formats::Date>, Query, description = "Inclusive lower bound on the UTC date of visitDate (YYYY-MM-DD)"),
        ("endDate" = Option<crate::domain::formats::Date>, Query, description = "Inclusive upper bound (YYYY-MM-DD); ≥ startDate"),
        ("limit" = Option<u32>, Query, description = "Page size, default 50, capped to 100"),
        ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "One page of records", body = PatientRecordsResponse),
    )
)]
async fn list_patient_records(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(raw_id): Path<String>,
    q: QueryParams,
) -> ApiResult<Response> {
    let mut v = q.validator();
    let from = q.date(&mut v, "startDate");
    let to = q.date(&mut v, "endDate");
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        v.fail("endDate", "must not be before startDate");
    }
    let limit = q.limit(&mut v, 50);
    let scope = records_scope(&raw_id, from, to);
    let after = cursor::from_query(&q, &mut v, &scope);
    v.finish()?;
    let (patient_id, page) =
        state.service.patient_records(&ctx, &raw_id, DateRange { from, to }, limit, after.as_ref()).await?;
    Ok(ok(&PatientRecordsResponse {
        patient_id,
        records: page.items,
        next_cursor: page.next.map(|k| cursor::encode(&scope, &k)),
    }))
}

/// Cursor scope: the list's path plus its normalised filters, so a cursor only pages the list it came from.
fn records_scope(raw_patient: &str, from: Option<NaiveDate>, to: Option<NaiveDate>) -> String {
    let day = |d: Option<NaiveDate>| d.map(|d| Date(d).to_string()).unwrap_or_default();
    format!("/api/v1/patients/{raw_patient}/medical-records?startDate={}&endDate={}", day(from), day(to))
}

// ---- body parsing -------------------------------------------------------------------------------------

fn id_text(s: String) -> Result<String, String> {
    Ok(s)
}

/// `visitDate`: a timestamp from 1900-01-01 up to five minutes past `now`.
fn visit_date(now: Timestamp) -> impl Fn(String) -> Result<Timestamp, String> {
    move |s| {
        let t = rules::timestamp(s)?;
        let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
        if t.date() < earliest {
            Err("must not be before 1900-01-01".into())
        } else if t.millis() > now.millis() + CLOCK_SKEW_MS {
            Err("must not be in the future".into())
        } else {
            Ok(t)
        }
    }
}

/// `"SYS/DIA"` in whole mmHg: SYS 40–300, DIA 20–200, SYS > DIA. Stored in canonical form (`"120/80"`).
fn blood_pressure(s: String) -> Result<String, String> {
    const RULE: &str = "must be \"SYS/DIA\" with integers SYS 40-300, DIA 20-200 and SYS > DIA";
    let number = |p: &str| {
        let digits = !p.is_empty() && p.len() <= 6 && p.bytes().all(|b| b.is_ascii_digit());
        digits.then(|| p.parse::<u32>().ok()).flatten()
    };
    let Some((sys, dia)) = s.split_once('/') else {
        return Err(RULE.into());
    };
    match (number(sys), number(dia)) {
        (Some(sys), Some(dia)) if (40..=300).contains(&sys) && (20..=200).contains(&dia) && sys > dia => {
            Ok(format!("{sys}/{dia}"))
        }
        _ => Err(RULE.into()),
    }
}

/// Reads a `vitalSigns` object; `None` members are unset.
fn vital_signs(o: &Obj<'_>, v: &mut Validator) -> ApiResult<VitalSigns> {
    let bp = o.string("bloodPressure")?;
    let hr = o.number("heartRate")?;
    let temperature = o.number("temperature")?;
    let weight = o.number("weight")?;
    let height = o.number("height")?;
    Ok(VitalSigns {
        blood_pressure: v.optional(&o.path("bloodPressure"), bp, blood_pressure),
        heart_rate: v.optional(&o.path("heartRate"), hr, rules::int(20, 300)),
        temperature: v.optional(&o.path("temperature"), temperature, rules::number(25.0, 45.0)),
        weight: v.optional(&o.path("weight"), weight, rules::number(0.2, 700.0)),
        height: v.optional(&o.path("height"), height, rules::number(20.0, 300.0)),
    })
}

/// The `vitalSigns` member: `null`, `{}` or an object whose members are all unset means "no vital signs".
fn vital_signs_field(o: &Obj<'_>, v: &mut Validator) -> ApiResult<Field<VitalSigns>> {
    let path = o.path("vitalSigns");
    Ok(match o.object("vitalSigns", &path)? {
        Field::Absent => Field::Absent,
        Field::Null => Field::Null,
        Field::Value(obj) => {
            let vs = vital_signs(&obj, v)?;
            if vs.is_empty() { Field::Null } else { Field::Value(vs) }
        }
    })
}

fn prescription(o: &Obj<'_>, v: &mut Validator) -> ApiResult<Option<Prescription>> {
    let medication = o.string("medication")?;
    let dosage = o.string("dosage")?;
    let frequency = o.string("frequency")?;
    let duration = o.string("duration")?;
    let medication = v.required(&o.path("medication"), medication, rules::text(200));
    let dosage = v.required(&o.path("dosage"), dosage, rules::text(100));
    let frequency = v.required(&o.path("frequency"), frequency, rules::text(100));
    let duration = v.required(&o.path("duration"), duration, rules::text(100));
    Ok(match (medication, dosage, frequency, duration) {
        (Some(medication), Some(dosage), Some(frequency), Some(duration)) => {
            Some(Prescription { medication, dosage, frequency, duration })
        }
        _ => None,
    })
}

fn lab_result(o: &Obj<'_>, v: &mut Validator) -> ApiResult<Option<LabResult>> {
    let test_name = o.string("testName")?;
    let result = o.string("result")?;
    let normal_range = o.string("normalRange")?;
    let test_name = v.required(&o.path("testName"), test_name, rules::text(200));
    let result = v.required(&o.path("result"), result, rules::text(500));
    let normal_range = v.optional(&o.path("normalRange"), normal_range, rules::text(200));
    Ok(match (test_name, result) {
        (Some(test_name), Some(result)) => Some(LabResult { test_name, result, normal_range }),
        _ => None,
    })
}

/// The three replace-whole arrays of a record, shared by create and update.
struct RecordArrays {
    symptoms: Field<Vec<String>>,
    prescriptions: Field<Vec<Prescription>>,
    lab_results: Field<Vec<LabResult>>,
}

fn record_arrays(o: &Obj<'_>, v: &mut Validator) -> ApiResult<RecordArrays> {
    Ok(RecordArrays {
        symptoms: string_array(o, v, "symptoms", MAX_SYMPTOMS, 200)?,
        prescriptions: object_array(o, v, "prescriptions", MAX_PRESCRIPTIONS, prescription)?,
        lab_results: object_array(o, v, "labResults", MAX_LAB_RESULTS, lab_result)?,
    })
}

/// An array on create: absent or `null` is `[]`.
fn or_empty<T>(f: Field<Vec<T>>) -> Vec<T> {
    match f {
        Field::Value(items) => items,
        Field::Absent | Field::Null => Vec::new(),
    }
}

/// An array on update: absent keeps, `null` empties, a value replaces.
fn replacement<T>(f: Field<Vec<T>>) -> Option<Vec<T>> {
    match f {
        Field::Absent => None,
        Field::Null => Some(Vec::new()),
        Field::Value(items) => Some(items),
    }
}

/// Parses and validates a create body (API.md §3.5 #24 step 1).
fn parse_create(body: &Json, now: Timestamp) -> ApiResult<CreateMedicalRecordRequest> {
    let o = Obj::root(body)?;
    let mut v = Validator::new();
    let patient_id = o.string("patientId")?;
    let doctor_id = o.string("doctorId")?;
    let appointment_id = o.string("appointmentId")?;
    let visit = o.string("visitDate")?;
    let chief_complaint = o.string("chiefComplaint")?;
    let diagnosis = o.string("diagnosis")?;
    let treatment = o.string("treatment")?;
    let notes = o.string("notes")?;
    let follow_up = o.string("followUpDate")?;
    let arrays = record_arrays(&o, &mut v)?;
    let vitals = vital_signs_field(&o, &mut v)?;

    let patient_id = v.required("patientId", patient_id, id_text);
    let doctor_id = v.required("doctorId", doctor_id, id_text);
    let appointment_id = v.optional("appointmentId", appointment_id, id_text);
    let visit_date = v.required("visitDate", visit, visit_date(now));
    let chief_complaint = v.required("chiefComplaint", chief_complaint, rules::text(1000));
    let diagnosis = v.optional("diagnosis", diagnosis, rules::text(2000));
    let treatment = v.optional("treatment", treatment, rules::text(2000));
    let notes = v.optional("notes", notes, rules::text(10_000));
    let follow_up_date = v.optional("followUpDate", follow_up, rules::date);
    if let (Some(visit), Some(follow_up)) = (visit_date, follow_up_date)
        && follow_up < visit.date()
    {
        v.fail("followUpDate", "must not be before the date of visitDate");
    }
    v.finish()?;
    let (Some(patient_id), Some(doctor_id), Some(visit_date), Some(chief_complaint)) =
        (patient_id, doctor_id, visit_date, chief_complaint)
    else {
        return Err(ApiError::internal("validated create body lost a required field"));
    };
    Ok(CreateMedicalRecordRequest {
        patient_id,
        doctor_id,
        appointment_id,
        visit_date,
        chief_complaint,
        diagnosis,
        symptoms: or_empty(arrays.symptoms),
        treatment,
        prescriptions: or_empty(arrays.prescriptions),
        lab_results: or_empty(arrays.lab_results),
        vital_signs: match vitals {
            Field::Value(vs) => Some(vs),
            Field::Absent | Field::Null => None,
        },
        notes,
        follow_up_date: follow_up_date.map(Date),
    })
}

/// Parses and validates an amendment body (API.md §3.5 #26 step 1). Fields the Update column marks `—`
/// (patientId, doctorId, appointmentId, visitDate, chiefComplaint) are ignored.
fn parse_update(body: &Json) -> ApiResult<UpdateMedicalRecordRequest> {
    let o = Obj::root(body)?;
    let mut v = Validator::new();
    let diagnosis = o.string("diagnosis")?;
    let treatment = o.string("treatment")?;
    let notes = o.string("notes")?;
    let follow_up = o.string("followUpDate")?;
    let amendment_reason = o.string("amendmentReason")?;
    let arrays = record_arrays(&o, &mut v)?;
    let vitals = vital_signs_field(&o, &mut v)?;

    let req = UpdateMedicalRecordRequest {
        diagnosis: v.patch("diagnosis", diagnosis, true, rules::text(2000)),
        treatment: v.patch("treatment", treatment, true, rules::text(2000)),
        notes: v.patch("notes", notes, true, rules::text(10_000)),
        follow_up_date: v.patch("followUpDate", follow_up, true, |s| rules::date(s).map(Date)),
        vital_signs: match vitals {
            Field::Absent => Patch::Keep,
            Field::Null => Patch::Clear,
            Field::Value(vs) => Patch::Set(vs),
        },
        symptoms: replacement(arrays.symptoms),
        prescriptions: replacement(arrays.prescriptions),
        lab_results: replacement(arrays.lab_results),
        amendment_reason: v.optional("amendmentReason", amendment_reason, rules::text(500)),
    };
    v.finish()?;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{DoctorId, RecordId};
    use crate::error::ErrorCode;

    fn now() -> Timestamp {
        crate::domain::formats::parse_timestamp("2026-11-25T10:00:00Z").unwrap()
    }

    fn details(r: ApiResult<impl std::fmt::Debug>) -> Vec<String> {
        let e = r.expect_err("should fail");
        assert_eq!(e.code, ErrorCode::VALIDATION_ERROR);
        e.details
    }

    fn create(body: &str) -> ApiResult<CreateMedicalRecordRequest> {
        parse_create(&Json::parse(body.as_bytes()).unwrap(), now())
    }

    const MINIMAL: &str = r#"{"patientId": "PAT-x", "doctorId": "DOC-y", "visitDate": "2026-11-25T09:00:00+01:00",
        "chiefComplaint": " Chest pain "}"#;

    #[test]
    fn minimal_create_defaults_arrays_and_keeps_ids_raw() {
        let r = create(MINIMAL).unwrap();
        assert_eq!(r.patient_id, "PAT-x");
        assert_eq!(r.chief_complaint, "Chest pain");
        assert_eq!(r.visit_date.to_string(), "2026-11-25T08:00:00.000Z");
        assert!(r.symptoms.is_empty() && r.prescriptions.is_empty() && r.lab_results.is_empty());
        assert_eq!(r.vital_signs, None);
    }

    #[test]
    fn every_rule_failure_is_reported_together() {
        let d = details(create(
            r#"{"visitDate": "2026-11-25T10:06:00Z", "followUpDate": "2026-11-24",
                "vitalSigns": {"bloodPressure": "80/120", "heartRate": 301, "temperature": 24.9},
                "prescriptions": [{"medication": "A"}], "labResults": [{"testName": "x", "result": ""}],
                "symptoms": [" "]}"#,
        ));
        for prefix in [
            "patientId: ",
            "doctorId: ",
            "chiefComplaint: ",
            "visitDate: ",
            "vitalSigns.bloodPressure: ",
            "vitalSigns.heartRate: ",
            "vitalSigns.temperature: ",
            "prescriptions[0].dosage: ",
            "prescriptions[0].frequency: ",
            "prescriptions[0].duration: ",
            "labResults[0].result: ",
            "symptoms[0]: ",
        ] {
            assert!(d.iter().any(|x| x.starts_with(prefix)), "{prefix} missing in {d:?}");
        }
    }

    #[test]
    fn follow_up_is_compared_with_the_utc_date_of_the_visit() {
        // 00:30+01:00 is still the previous day in UTC, so that day is allowed.
        let ok = MINIMAL
            .replace("2026-11-25T09:00:00+01:00", "2026-11-25T00:30:00+01:00")
            .replace("}", r#", "followUpDate": "2026-11-24"}"#);
        assert!(create(&ok).is_ok());
        let bad = MINIMAL.replace("}", r#", "followUpDate": "2026-11-24"}"#);
        assert_eq!(details(create(&bad)), vec!["followUpDate: must not be before the date of visitDate"]);
    }

    #[test]
    fn visit_date_bounds() {
        assert!(create(&MINIMAL.replace("2026-11-25T09:00:00+01:00", "2026-11-25T10:05:00Z")).is_ok());
        assert!(create(&MINIMAL.replace("2026-11-25T09:00:00+01:00", "2026-11-25T10:05:00.001Z")).is_err());
        assert!(create(&MINIMAL.replace("2026-11-25T09:00:00+01:00", "1900-01-01T00:00:00Z")).is_ok());
        assert!(create(&MINIMAL.replace("2026-11-25T09:00:00+01:00", "1899-12-31T23:59:59Z")).is_err());
    }

    #[test]
    fn type_errors_stop_at_once() {
        let e = create(r#"{"patientId": 5, "doctorId": []}"#).unwrap_err();
        assert_eq!(e.details.len(), 1);
        assert!(e.details[0].starts_with("patientId: "));
        assert!(create(r#"{"prescriptions": ["x"]}"#).unwrap_err().details[0].starts_with("prescriptions[0]: "));
        assert!(
            create(r#"{"vitalSigns": {"heartRate": "80"}}"#).unwrap_err().details[0]
                .starts_with("vitalSigns.heartRate: ")
        );
    }

    #[test]
    fn blood_pressure_rule() {
        assert_eq!(blood_pressure("120/80".into()), Ok("120/80".into()));
        assert_eq!(blood_pressure("300/200".into()), Ok("300/200".into()));
        assert_eq!(blood_pressure("40/20".into()), Ok("40/20".into()));
        for bad in [
            "80/80",
            "39/20",
            "301/100",
            "120/19",
            "120/201",
            "120",
            "120/80/60",
            "12a/80",
            "120.5/80",
            "/80",
            "-120/80",
            "120 /80",
        ] {
            assert!(blood_pressure(bad.into()).is_err(), "{bad}");
        }
    }

    #[test]
    fn vital_sign_ranges() {
        let ok = r#"{"vitalSigns": {"heartRate": 20, "temperature": 45.0, "weight": 0.2, "height": 300}}"#;
        assert!(parse_update(&Json::parse(ok.as_bytes()).unwrap()).is_ok());
        for bad in [
            r#"{"heartRate": 19}"#,
            r#"{"heartRate": 80.5}"#,
            r#"{"weight": 0.1}"#,
            r#"{"height": 301}"#,
            r#"{"temperature": 45.1}"#,
        ] {
            let body = format!(r#"{{"vitalSigns": {bad}}}"#);
            assert!(parse_update(&Json::parse(body.as_bytes()).unwrap()).is_err(), "{bad}");
        }
    }

    fn stored() -> MedicalRecord {
        let r = create(
            r#"{"patientId": "PAT-x", "doctorId": "DOC-y", "visitDate": "2026-11-20T09:00:00Z",
                "chiefComplaint": "Cough", "diagnosis": "Cold", "symptoms": ["cough"],
                "vitalSigns": {"heartRate": 80, "temperature": 36.6}}"#,
        )
        .unwrap();
        MedicalRecord {
            record_id: RecordId::generate(),
            patient_id: PatientId::generate(),
            doctor_id: DoctorId::generate(),
            doctor_name: "Dr. A B".into(),
            appointment_id: None,
            visit_date: r.visit_date,
            chief_complaint: r.chief_complaint,
            diagnosis: r.diagnosis,
            symptoms: r.symptoms,
            treatment: None,
            prescriptions: vec![],
            lab_results: vec![],
            vital_signs: r.vital_signs,
            notes: None,
            follow_up_date: None,
            amendment_reason: None,
            version: 1,
            created_at: now(),
            updated_at: now(),
        }
    }

    fn amend(rec: &mut MedicalRecord, body: &str) -> bool {
        parse_update(&Json::parse(body.as_bytes()).unwrap()).unwrap().apply(rec)
    }

    #[test]
    fn sending_stored_values_is_no_change() {
        let mut rec = stored();
        let before = rec.clone();
        let body = r#"{"diagnosis": " Cold ", "symptoms": ["cough"], "vitalSigns": {"temperature": 36.6, "heartRate": 80},
            "chiefComplaint": "ignored", "visitDate": "2020-01-01T00:00:00Z", "treatment": null, "labResults": null}"#;
        assert!(!amend(&mut rec, body));
        assert!(!amend(&mut rec, "{}"));
        assert_eq!(rec, before);
    }

    #[test]
    fn nulls_clear_and_arrays_replace() {
        let mut rec = stored();
        assert!(amend(&mut rec, r#"{"diagnosis": null, "vitalSigns": {}, "symptoms": null}"#));
        assert_eq!((rec.diagnosis.clone(), rec.vital_signs.clone(), rec.symptoms.len()), (None, None, 0));
        assert!(amend(
            &mut rec,
            r#"{"prescriptions": [{"medication": "A", "dosage": "1", "frequency": "d", "duration": "5d"}]}"#
        ));
        assert_eq!(rec.prescriptions.len(), 1);
    }
}
