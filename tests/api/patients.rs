//! API.md §2.1, §3.1, §4.1: patient registration, validation, duplicates, search, update, deactivation.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;

const UNKNOWN_PATIENT_ID: &str = "PAT-01M88ZQHVRM9S346Q3D25VT4F5";

async fn pause() {
    tokio::time::sleep(Duration::from_millis(5)).await;
}

fn minimal_patient(email: &str) -> Value {
    json!({"firstName": "Bola", "lastName": "Adeyemi", "dateOfBirth": "1990-07-01",
           "email": email, "phone": "5550102"})
}

fn named_patient(first: &str, last: &str, email: &str) -> Value {
    let mut b = patient_body(email);
    b["firstName"] = json!(first);
    b["lastName"] = json!(last);
    b
}

fn patient_path(id: &str) -> String {
    format!("/api/v1/patients/{id}")
}

async fn post_with(app: &TestApp, field: &str, value: Value) -> Res {
    let mut body = patient_body("rule@example.org");
    body[field] = value;
    app.post("/api/v1/patients", &body).await
}

#[track_caller]
fn expect_400(res: &Res, prefix: &str) {
    res.assert_error(400, "VALIDATION_ERROR");
    expect_detail_prefix(res, prefix);
}

async fn assert_required(field: &str) {
    let app = TestApp::spawn().await;
    let mut absent = patient_body("req@example.org");
    absent.as_object_mut().unwrap().remove(field);

    let responses = [
        app.post("/api/v1/patients", &absent).await,
        post_with(&app, field, Value::Null).await,
        post_with(&app, field, json!("")).await,
        post_with(&app, field, json!("   ")).await,
    ];

    for res in &responses {
        expect_400(res, &format!("{field}: "));
    }
}

fn ids(res: &Res) -> Vec<String> {
    res.body["data"].as_array().expect("data array").iter().map(|p| s(p, "patientId").to_owned()).collect()
}

async fn doctor(app: &TestApp) -> String {
    s(&app.create_doctor("LIC-PAT-1", "DEPT-001").await, "doctorId").to_owned()
}

// ---- create --------------------------------------------------------------------------------------------

#[tokio::test]
async fn registering_a_patient_returns_201_with_the_worked_example_body() {
    let app = TestApp::spawn().await;
    let mut body = patient_body("amara.okafor@example.org");
    body["favouriteColour"] = json!("green");

    let res = app.post("/api/v1/patients", &body).await;

    res.assert(201);
    let mut got = res.body.clone();
    let id = s(&got, "patientId").to_owned();
    assert!(id.starts_with("PAT-") && check_ulid(&id[4..]), "{id}");
    assert_eq!(res.header("location"), Some(patient_path(&id).as_str()));
    let created = s(&got, "createdAt").to_owned();
    assert!(check_timestamp_ms(&created), "{created}");
    assert!(created.starts_with("2026-11-25T"), "{created}");
    assert_eq!(got["updatedAt"], json!(created));
    for k in ["patientId", "createdAt", "updatedAt"] {
        got.as_object_mut().unwrap().remove(k);
    }
    assert_eq!(
        got,
        json!({"firstName": "Amara", "lastName": "Okafor", "dateOfBirth": "1985-03-15", "gender": "female",
               "email": "amara.okafor@example.org", "phone": "+1 (555) 010-2233",
               "address": {"street": "12 Elm Street", "city": "Springfield", "state": "IL", "zipCode": "62701", "country": "USA"},
               "emergencyContact": {"name": "Chidi Okafor", "relationship": "brother", "phone": "+1 555 010 4455"},
               "bloodType": "O+", "allergies": ["penicillin"], "status": "active", "version": 1})
    );
    assert_eq!(res.header("etag"), Some("\"1\""));
}

#[tokio::test]
async fn strings_are_trimmed_before_storage() {
    let app = TestApp::spawn().await;
    let mut body = patient_body("  trim@example.org ");
    body["firstName"] = json!("  Amara ");
    body["address"]["city"] = json!(" Springfield  ");
    body["allergies"] = json!(["  latex  "]);
    body["emergencyContact"]["name"] = json!(" Chidi Okafor ");

    let res = app.post("/api/v1/patients", &body).await;

    res.assert(201);
    assert_eq!(res.body["firstName"], "Amara");
    assert_eq!(res.body["email"], "trim@example.org");
    assert_eq!(res.body["address"]["city"], "Springfield");
    assert_eq!(res.body["allergies"], json!(["latex"]));
    assert_eq!(res.body["emergencyContact"]["name"], "Chidi Okafor");
}

#[tokio::test]
async fn unset_optional_fields_are_omitted_and_allergies_default_to_empty() {
    let app = TestApp::spawn().await;

    let res = app.post("/api/v1/patients", &minimal_patient("min@example.org")).await;

    res.assert(201);
    for k in ["gender", "address", "emergencyContact", "bloodType"] {
        assert!(res.body.get(k).is_none(), "{k} should be omitted: {}", res.text);
    }
    assert_eq!(res.body["allergies"], json!([]));
    assert_eq!(res.body["status"], "active");
}

#[tokio::test]
async fn optional_fields_sent_as_null_or_empty_are_unset() {
    let app = TestApp::spawn().await;
    let mut body = minimal_patient("nulls@example.org");
    body["gender"] = Value::Null;
    body["bloodType"] = json!("  ");
    body["address"] = Value::Null;
    body["emergencyContact"] = Value::Null;
    body["allergies"] = Value::Null;

    let res = app.post("/api/v1/patients", &body).await;

    res.assert(201);
    for k in ["gender", "address", "emergencyContact", "bloodType"] {
        assert!(res.body.get(k).is_none(), "{k} should be omitted: {}", res.text);
    }
    assert_eq!(res.body["allergies"], json!([]));
}

#[tokio::test]
async fn unset_address_members_are_omitted() {
    let app = TestApp::spawn().await;
    let mut body = minimal_patient("addr@example.org");
    body["address"] = json!({"city": "Springfield"});

    let res = app.post("/api/v1/patients", &body).await;

    res.assert(201);
    assert_eq!(res.body["address"], json!({"city": "Springfield"}));
}

#[tokio::test]
async fn a_status_sent_on_create_is_ignored() {
    let app = TestApp::spawn().await;
    let mut body = patient_body("status@example.org");
    body["status"] = json!("inactive");

    let res = app.post("/api/v1/patients", &body).await;

    res.assert(201);
    assert_eq!(res.body["status"], "active");
}

#[tokio::test]
async fn first_name_is_required() {
    assert_required("firstName").await;
}

#[tokio::test]
async fn last_name_is_required() {
    assert_required("lastName").await;
}

#[tokio::test]
async fn date_of_birth_is_required() {
    assert_required("dateOfBirth").await;
}

#[tokio::test]
async fn email_is_required() {
    assert_required("email").await;
}

#[tokio::test]
async fn phone_is_required() {
    assert_required("phone").await;
}

// ---- field rules ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_first_name_of_100_characters_is_accepted() {
    let app = TestApp::spawn().await;

    let res = post_with(&app, "firstName", json!("a".repeat(100))).await;

    res.assert(201);
}

#[tokio::test]
async fn a_first_name_of_101_characters_is_400() {
    let app = TestApp::spawn().await;

    let res = post_with(&app, "firstName", json!("a".repeat(101))).await;

    expect_400(&res, "firstName: ");
}

#[tokio::test]
async fn name_lengths_count_unicode_characters_after_trimming() {
    let app = TestApp::spawn().await;

    let res = post_with(&app, "lastName", json!(format!("  {}  ", "é".repeat(100)))).await;

    res.assert(201);
    assert_eq!(res.body["lastName"], json!("é".repeat(100)));
}

#[tokio::test]
async fn a_last_name_of_101_characters_is_400() {
    let app = TestApp::spawn().await;

    let res = post_with(&app, "lastName", json!("ü".repeat(101))).await;

    expect_400(&res, "lastName: ");
}

#[tokio::test]
async fn a_date_of_birth_in_the_future_is_400() {
    let app = TestApp::spawn().await;

    let res = post_with(&app, "dateOfBirth", json!("2026-11-26")).await;

    expect_400(&res, "dateOfBirth: ");
}

#[tokio::test]
async fn a_date_of_birth_before_1900_is_400() {
    let app = TestApp::spawn().await;

    let res = post_with(&app, "dateOfBirth", json!("1899-12-31")).await;

    expect_400(&res, "dateOfBirth: ");
}

#[tokio::test]
async fn a_date_of_birth_of_1900_01_01_is_accepted() {
    let app = TestApp::spawn().await;

    let res = post_with(&app, "dateOfBirth", json!("1900-01-01")).await;

    res.assert(201);
}

#[tokio::test]
async fn a_newborn_born_today_is_accepted() {
    let app = TestApp::spawn().await;

    let res = post_with(&app, "dateOfBirth", json!(TODAY)).await;

    res.assert(201);
    assert_eq!(res.body["dateOfBirth"], TODAY);
}

#[tokio::test]
async fn a_malformed_date_of_birth_is_400() {
    let app = TestApp::spawn().await;

    for bad in ["1985-3-15", "1985-02-30", "15/03/1985", "1985-03-15T00:00:00Z", "yesterday"] {
        let res = post_with(&app, "dateOfBirth", json!(bad)).await;

        expect_400(&res, "dateOfBirth: ");
    }
}

#[tokio::test]
async fn valid_emails_are_accepted_and_stored_as_sent() {
    let app = TestApp::spawn().await;

    let local64 = format!("{}@example.org", "l".repeat(64));
    for (i, email) in ["a@b.co", "First.Last+tag@Sub.Example-Host.org", local64.as_str()].into_iter().enumerate() {
        let mut body = patient_body(email);
        body["lastName"] = json!(format!("Valid{i}"));

        let res = app.post("/api/v1/patients", &body).await;

        res.assert(201);
        assert_eq!(res.body["email"], email);
    }
}

#[tokio::test]
async fn emails_breaking_the_email_rule_are_400() {
    let app = TestApp::spawn().await;
    let long = format!("{}@example.org", "l".repeat(65));
    let too_long = format!("a@{}.com", "d".repeat(252));

    for bad in [
        "nope",
        "a@b",
        "a@@b.com",
        "a@b@c.com",
        "a b@c.com",
        "@b.com",
        "a@b_c.com",
        "a@b..com",
        "a@.b.com",
        long.as_str(),
        too_long.as_str(),
    ] {
        let res = post_with(&app, "email", json!(bad)).await;

        expect_400(&res, "email: ");
    }
}

#[tokio::test]
async fn valid_phones_are_accepted() {
    let app = TestApp::spawn().await;

    for (i, phone) in
        ["5550102", "+1 (555) 010-2233", "+44.20.7946.0958", "12345678901234567890"].into_iter().enumerate()
    {
        let mut body = patient_body(&format!("phone{i}@example.org"));
        body["phone"] = json!(phone);

        let res = app.post("/api/v1/patients", &body).await;

        res.assert(201);
        assert_eq!(res.body["phone"], phone);
    }
}

#[tokio::test]
async fn phones_breaking_the_phone_rule_are_400() {
    let app = TestApp::spawn().await;

    for bad in ["555010", "123456789012345678901", "555-010-22a3", "+() -.-()+ 123456", "555#0102", "  123456  "] {
        let res = post_with(&app, "phone", json!(bad)).await;

        expect_400(&res, "phone: ");
    }
}

#[tokio::test]
async fn a_blood_type_outside_the_enum_is_400() {
    let app = TestApp::spawn().await;

    for bad in ["C+", "O", "o+", "AB"] {
        let res = post_with(&app, "bloodType", json!(bad)).await;

        expect_400(&res, "bloodType: ");
    }
}

#[tokio::test]
async fn every_blood_type_and_gender_of_the_enum_is_accepted() {
    let app = TestApp::spawn().await;
    let genders = ["male", "female", "other", "unknown", "male", "female", "other", "unknown"];

    for (i, bt) in ["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"].into_iter().enumerate() {
        let mut body = patient_body(&format!("bt{i}@example.org"));
        body["bloodType"] = json!(bt);
        body["gender"] = json!(genders[i]);

        let res = app.post("/api/v1/patients", &body).await;

        res.assert(201);
        assert_eq!(res.body["bloodType"], bt);
        assert_eq!(res.body["gender"], genders[i]);
    }
}

#[tokio::test]
async fn a_gender_outside_the_enum_is_400() {
    let app = TestApp::spawn().await;

    let res = post_with(&app, "gender", json!("robot")).await;

    expect_400(&res, "gender: ");
}

#[tokio::test]
async fn fifty_allergies_are_accepted() {
    let app = TestApp::spawn().await;
    let items: Vec<String> = (0..50).map(|i| format!("allergen {i}")).collect();

    let res = post_with(&app, "allergies", json!(items)).await;

    res.assert(201);
    assert_eq!(res.body["allergies"].as_array().unwrap().len(), 50);
}

#[tokio::test]
async fn more_than_fifty_allergies_is_400() {
    let app = TestApp::spawn().await;
    let items: Vec<String> = (0..51).map(|i| format!("allergen {i}")).collect();

    let res = post_with(&app, "allergies", json!(items)).await;

    expect_400(&res, "allergies: ");
}

#[tokio::test]
async fn an_empty_allergy_item_is_400_with_its_index() {
    let app = TestApp::spawn().await;

    let res = post_with(&app, "allergies", json!(["penicillin", ""])).await;

    expect_400(&res, "allergies[1]: ");
}

#[tokio::test]
async fn an_allergy_item_of_101_characters_is_400_with_its_index() {
    let app = TestApp::spawn().await;

    let res = post_with(&app, "allergies", json!(["x".repeat(101)])).await;

    expect_400(&res, "allergies[0]: ");
}

#[tokio::test]
async fn a_zip_code_of_21_characters_is_400_with_the_dotted_path() {
    let app = TestApp::spawn().await;
    let mut body = patient_body("zip@example.org");
    body["address"]["zipCode"] = json!("1".repeat(21));

    let res = app.post("/api/v1/patients", &body).await;

    expect_400(&res, "address.zipCode: ");
}

#[tokio::test]
async fn a_zip_code_of_20_characters_is_accepted() {
    let app = TestApp::spawn().await;
    let mut body = patient_body("zip20@example.org");
    body["address"]["zipCode"] = json!("1".repeat(20));

    let res = app.post("/api/v1/patients", &body).await;

    res.assert(201);
}

#[tokio::test]
async fn an_emergency_contact_without_a_name_is_400_with_the_dotted_path() {
    let app = TestApp::spawn().await;
    let mut body = patient_body("ec@example.org");
    body["emergencyContact"].as_object_mut().unwrap().remove("name");

    let res = app.post("/api/v1/patients", &body).await;

    expect_400(&res, "emergencyContact.name: ");
}

#[tokio::test]
async fn an_emergency_contact_with_a_bad_phone_is_400_with_the_dotted_path() {
    let app = TestApp::spawn().await;
    let mut body = patient_body("ecp@example.org");
    body["emergencyContact"]["phone"] = json!("12");

    let res = app.post("/api/v1/patients", &body).await;

    expect_400(&res, "emergencyContact.phone: ");
}

#[tokio::test]
async fn several_field_rule_failures_across_nesting_levels_are_all_reported() {
    let app = TestApp::spawn().await;
    let mut body = patient_body("multi@example.org");
    body["firstName"] = json!("a".repeat(101));
    body["address"]["zipCode"] = json!("1".repeat(21));
    body["allergies"] = json!(["ok", ""]);
    body["bloodType"] = json!("Z");

    let res = app.post("/api/v1/patients", &body).await;

    expect_400(&res, "firstName: ");
    for prefix in ["address.zipCode: ", "allergies[1]: ", "bloodType: "] {
        expect_detail_prefix(&res, prefix);
    }
}

// ---- duplicates ----------------------------------------------------------------------------------------

#[tokio::test]
async fn registering_the_same_patient_twice_is_409() {
    let app = TestApp::spawn().await;
    app.create_patient("dup@example.org").await;

    let res = app.post("/api/v1/patients", &patient_body("dup@example.org")).await;

    res.assert_error(409, "PATIENT_ALREADY_EXISTS");
    assert_eq!(res.body["error"]["message"], "Patient already exists");
}

#[tokio::test]
async fn the_duplicate_key_ignores_the_case_of_email_and_last_name() {
    let app = TestApp::spawn().await;
    app.create_patient("dup.case@example.org").await;
    let mut body = patient_body("DUP.CASE@EXAMPLE.ORG");
    body["lastName"] = json!("OKAFOR");
    body["firstName"] = json!("Someone");

    let res = app.post("/api/v1/patients", &body).await;

    res.assert_error(409, "PATIENT_ALREADY_EXISTS");
}

#[tokio::test]
async fn the_same_email_with_another_date_of_birth_is_a_different_patient() {
    let app = TestApp::spawn().await;
    app.create_patient("family@example.org").await;
    let mut body = patient_body("family@example.org");
    body["dateOfBirth"] = json!("2015-06-01");

    let res = app.post("/api/v1/patients", &body).await;

    res.assert(201);
}

#[tokio::test]
async fn the_same_email_and_birth_date_with_another_last_name_is_a_different_patient() {
    let app = TestApp::spawn().await;
    app.create_patient("twins@example.org").await;
    let mut body = patient_body("twins@example.org");
    body["lastName"] = json!("Eze");

    let res = app.post("/api/v1/patients", &body).await;

    res.assert(201);
}

#[tokio::test]
async fn an_inactive_patient_still_holds_its_duplicate_key() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("gone@example.org").await;
    app.delete(&patient_path(s(&p, "patientId"))).await.assert(200);

    let res = app.post("/api/v1/patients", &patient_body("gone@example.org")).await;

    res.assert_error(409, "PATIENT_ALREADY_EXISTS");
}

// ---- get -----------------------------------------------------------------------------------------------

#[tokio::test]
async fn get_returns_the_registered_patient() {
    let app = TestApp::spawn().await;
    let created = app.create_patient("get@example.org").await;

    let res = app.get(&patient_path(s(&created, "patientId"))).await;

    res.assert(200);
    assert_eq!(res.body, created);
}

#[tokio::test]
async fn get_of_an_unknown_patient_is_404() {
    let app = TestApp::spawn().await;

    let res = app.get(&patient_path(UNKNOWN_PATIENT_ID)).await;

    res.assert_error(404, "PATIENT_NOT_FOUND");
}

#[tokio::test]
async fn get_with_a_malformed_id_is_404_patient_not_found() {
    let app = TestApp::spawn().await;
    let created = app.create_patient("malformed@example.org").await;
    let lower = format!("PAT-{}", s(&created, "patientId")[4..].to_lowercase());
    let wrong_prefix = s(&created, "patientId").replacen("PAT-", "DOC-", 1);

    for bad in ["PAT-123", "not-an-id", "PAT-81M88ZQHVRM9S346Q3D25VT4F5", lower.as_str(), wrong_prefix.as_str()] {
        let res = app.get(&patient_path(bad)).await;

        res.assert_error(404, "PATIENT_NOT_FOUND");
    }
}

// ---- list ----------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_list_is_ordered_by_creation_newest_first() {
    let app = TestApp::spawn().await;
    let mut created = Vec::new();
    for i in 0..3 {
        created.push(s(&app.create_patient(&format!("order{i}@example.org")).await, "patientId").to_owned());
        pause().await;
    }

    let res = app.get("/api/v1/patients").await;

    res.assert(200);
    created.reverse();
    assert_eq!(ids(&res), created);
}

#[tokio::test]
async fn the_name_filter_is_a_case_insensitive_substring_of_first_or_last_name() {
    let app = TestApp::spawn().await;
    let amara = app.post("/api/v1/patients", &named_patient("Amara", "Okafor", "n1@example.org")).await.body;
    let bola = app.post("/api/v1/patients", &named_patient("Bola", "Adeyemi", "n2@example.org")).await.body;

    let by_first = app.get("/api/v1/patients?name=MAR").await;
    let by_last = app.get("/api/v1/patients?name=yem").await;

    assert_eq!(ids(&by_first), vec![s(&amara, "patientId").to_owned()]);
    assert_eq!(ids(&by_last), vec![s(&bola, "patientId").to_owned()]);
}

#[tokio::test]
async fn the_name_filter_matches_the_full_name() {
    let app = TestApp::spawn().await;
    let amara = app.post("/api/v1/patients", &named_patient("Amara", "Okafor", "f1@example.org")).await.body;
    app.post("/api/v1/patients", &named_patient("Okafor", "Amara", "f2@example.org")).await.assert(201);

    let res = app.get(&format!("/api/v1/patients?name={}", qs_encode("amara okafor"))).await;

    res.assert(200);
    assert_eq!(ids(&res), vec![s(&amara, "patientId").to_owned()]);
}

#[tokio::test]
async fn percent_in_the_name_filter_matches_literally() {
    let app = TestApp::spawn().await;
    let odd = app.post("/api/v1/patients", &named_patient("Per%cy", "Okafor", "pc1@example.org")).await.body;
    app.post("/api/v1/patients", &named_patient("Percy", "Okafor", "pc2@example.org")).await.assert(201);

    let res = app.get(&format!("/api/v1/patients?name={}", qs_encode("%"))).await;

    res.assert(200);
    assert_eq!(ids(&res), vec![s(&odd, "patientId").to_owned()]);
}

#[tokio::test]
async fn underscore_in_the_name_filter_matches_literally() {
    let app = TestApp::spawn().await;
    let odd = app.post("/api/v1/patients", &named_patient("Liam", "O_Neil", "u1@example.org")).await.body;
    app.post("/api/v1/patients", &named_patient("Liam", "OxNeil", "u2@example.org")).await.assert(201);

    let res = app.get("/api/v1/patients?name=O_N").await;

    res.assert(200);
    assert_eq!(ids(&res), vec![s(&odd, "patientId").to_owned()]);
}

#[tokio::test]
async fn a_name_filter_over_100_characters_is_400() {
    let app = TestApp::spawn().await;

    let res = app.get(&format!("/api/v1/patients?name={}", "a".repeat(101))).await;

    expect_400(&res, "name: ");
}

#[tokio::test]
async fn the_email_filter_is_exact_and_case_insensitive() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("exact@example.org").await;
    app.create_patient("exact@example.org.uk").await;

    let hit = app.get(&format!("/api/v1/patients?email={}", qs_encode("EXACT@Example.ORG"))).await;
    let partial = app.get(&format!("/api/v1/patients?email={}", qs_encode("exact@example"))).await;

    assert_eq!(ids(&hit), vec![s(&p, "patientId").to_owned()]);
    assert_eq!(ids(&partial), Vec::<String>::new());
}

#[tokio::test]
async fn the_phone_filter_is_exact() {
    let app = TestApp::spawn().await;
    let mut body = patient_body("ph1@example.org");
    body["phone"] = json!("+1 555 777 0001");
    let p = app.post("/api/v1/patients", &body).await.body;
    app.create_patient("ph2@example.org").await;

    let hit = app.get(&format!("/api/v1/patients?phone={}", qs_encode("+1 555 777 0001"))).await;
    let partial = app.get(&format!("/api/v1/patients?phone={}", qs_encode("555 777"))).await;

    assert_eq!(ids(&hit), vec![s(&p, "patientId").to_owned()]);
    assert_eq!(ids(&partial), Vec::<String>::new());
}

#[tokio::test]
async fn the_date_of_birth_filter_is_exact() {
    let app = TestApp::spawn().await;
    let mut body = patient_body("dob1@example.org");
    body["dateOfBirth"] = json!("2001-01-02");
    let p = app.post("/api/v1/patients", &body).await.body;
    app.create_patient("dob2@example.org").await;

    let res = app.get("/api/v1/patients?dateOfBirth=2001-01-02").await;

    assert_eq!(ids(&res), vec![s(&p, "patientId").to_owned()]);
}

#[tokio::test]
async fn a_malformed_date_of_birth_filter_is_400() {
    let app = TestApp::spawn().await;

    let res = app.get("/api/v1/patients?dateOfBirth=2001-13-02").await;

    expect_400(&res, "dateOfBirth: ");
}

#[tokio::test]
async fn the_status_filter_selects_active_or_inactive_patients() {
    let app = TestApp::spawn().await;
    let active = app.create_patient("st1@example.org").await;
    let inactive = app.create_patient("st2@example.org").await;
    app.delete(&patient_path(s(&inactive, "patientId"))).await.assert(200);

    let a = app.get("/api/v1/patients?status=active").await;
    let i = app.get("/api/v1/patients?status=inactive").await;

    assert_eq!(ids(&a), vec![s(&active, "patientId").to_owned()]);
    assert_eq!(ids(&i), vec![s(&inactive, "patientId").to_owned()]);
}

#[tokio::test]
async fn an_unknown_status_filter_is_400() {
    let app = TestApp::spawn().await;

    let res = app.get("/api/v1/patients?status=deleted").await;

    expect_400(&res, "status: ");
}

#[tokio::test]
async fn filters_are_combined_with_and() {
    let app = TestApp::spawn().await;
    let p = app.post("/api/v1/patients", &named_patient("Amara", "Okafor", "and1@example.org")).await.body;
    app.post("/api/v1/patients", &named_patient("Amara", "Eze", "and2@example.org")).await.assert(201);

    let res = app.get("/api/v1/patients?name=amara&email=and1%40example.org&status=active").await;

    assert_eq!(ids(&res), vec![s(&p, "patientId").to_owned()]);
    assert_eq!(res.body["pagination"]["totalItems"], 1);
}

// ---- update --------------------------------------------------------------------------------------------

#[tokio::test]
async fn put_changes_only_the_fields_sent() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("put@example.org").await;
    pause().await;

    let res = app.put(&patient_path(s(&p, "patientId")), &json!({"phone": "+1 555 999 0000"})).await;

    res.assert(200);
    assert_eq!(res.body["phone"], "+1 555 999 0000");
    let mut expected = p.clone();
    expected["phone"] = json!("+1 555 999 0000");
    expected["version"] = json!(2);
    expected["updatedAt"] = res.body["updatedAt"].clone();
    assert_eq!(res.body, expected);
    assert_ne!(res.body["updatedAt"], p["updatedAt"]);
    assert!(check_timestamp_ms(s(&res.body, "updatedAt")));
    assert_eq!(app.get(&patient_path(s(&p, "patientId"))).await.body, res.body);
}

#[tokio::test]
async fn put_can_change_date_of_birth_gender_and_blood_type() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("putdob@example.org").await;

    let res = app
        .put(
            &patient_path(s(&p, "patientId")),
            &json!({"dateOfBirth": "1986-04-16", "gender": "other", "bloodType": "A-"}),
        )
        .await;

    res.assert(200);
    assert_eq!(res.body["dateOfBirth"], "1986-04-16");
    assert_eq!(res.body["gender"], "other");
    assert_eq!(res.body["bloodType"], "A-");
}

#[tokio::test]
async fn put_null_clears_gender_address_and_blood_type() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("clear@example.org").await;

    let res = app
        .put(
            &patient_path(s(&p, "patientId")),
            &json!({"gender": null, "address": null, "bloodType": "", "emergencyContact": {}}),
        )
        .await;

    res.assert(200);
    for k in ["gender", "address", "bloodType", "emergencyContact"] {
        assert!(res.body.get(k).is_none(), "{k} should be cleared: {}", res.text);
    }
    let again = app.get(&patient_path(s(&p, "patientId"))).await;
    assert!(again.body.get("gender").is_none() && again.body.get("address").is_none());
}

#[tokio::test]
async fn put_replaces_address_and_allergies_whole() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("replace@example.org").await;

    let res = app
        .put(&patient_path(s(&p, "patientId")), &json!({"address": {"city": "Lagos"}, "allergies": ["latex", "nuts"]}))
        .await;

    res.assert(200);
    assert_eq!(res.body["address"], json!({"city": "Lagos"}));
    assert_eq!(res.body["allergies"], json!(["latex", "nuts"]));
}

#[tokio::test]
async fn put_null_allergies_becomes_an_empty_array() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("allergynull@example.org").await;

    let res = app.put(&patient_path(s(&p, "patientId")), &json!({"allergies": null})).await;

    res.assert(200);
    assert_eq!(res.body["allergies"], json!([]));
}

#[tokio::test]
async fn put_null_or_empty_on_a_required_field_is_400() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("putnull@example.org").await;
    let path = patient_path(s(&p, "patientId"));

    for (field, value) in
        [("firstName", Value::Null), ("firstName", json!("")), ("email", Value::Null), ("dateOfBirth", json!(" "))]
    {
        let res = app.put(&path, &json!({ field: value })).await;

        expect_400(&res, &format!("{field}: "));
    }
}

#[tokio::test]
async fn put_validates_the_fields_it_is_given() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("putrules@example.org").await;

    let res = app
        .put(&patient_path(s(&p, "patientId")), &json!({"email": "nope", "gender": "robot", "status": "deleted"}))
        .await;

    res.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(res.details().len(), 3, "{}", res.text);
    for prefix in ["email: ", "gender: ", "status: "] {
        expect_detail_prefix(&res, prefix);
    }
}

#[tokio::test]
async fn an_empty_put_is_a_no_op_that_keeps_updated_at() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("noop@example.org").await;
    pause().await;

    let res = app.put(&patient_path(s(&p, "patientId")), &json!({})).await;

    res.assert(200);
    assert_eq!(res.body, p);
}

#[tokio::test]
async fn a_put_with_the_stored_values_keeps_updated_at() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("same@example.org").await;
    pause().await;

    let res = app
        .put(
            &patient_path(s(&p, "patientId")),
            &json!({"firstName": "Amara", "phone": "+1 (555) 010-2233", "bloodType": "O+"}),
        )
        .await;

    res.assert(200);
    assert_eq!(res.body["updatedAt"], p["updatedAt"]);
}

#[tokio::test]
async fn put_of_an_unknown_patient_is_404() {
    let app = TestApp::spawn().await;

    let res = app.put(&patient_path(UNKNOWN_PATIENT_ID), &json!({"phone": "5550102"})).await;

    res.assert_error(404, "PATIENT_NOT_FOUND");
}

#[tokio::test]
async fn put_validates_before_looking_up_the_patient() {
    let app = TestApp::spawn().await;

    let res = app.put(&patient_path(UNKNOWN_PATIENT_ID), &json!({"email": "nope"})).await;

    expect_400(&res, "email: ");
}

#[tokio::test]
async fn put_onto_another_patients_duplicate_key_is_409() {
    let app = TestApp::spawn().await;
    app.create_patient("taken@example.org").await;
    let other = app.create_patient("free@example.org").await;

    let res = app.put(&patient_path(s(&other, "patientId")), &json!({"email": "TAKEN@example.org"})).await;

    res.assert_error(409, "PATIENT_ALREADY_EXISTS");
}

#[tokio::test]
async fn put_onto_a_duplicate_key_through_last_name_is_409() {
    let app = TestApp::spawn().await;
    app.post("/api/v1/patients", &named_patient("Amara", "Eze", "shared@example.org")).await.assert(201);
    let other = app.create_patient("shared@example.org").await;

    let res = app.put(&patient_path(s(&other, "patientId")), &json!({"lastName": "EZE"})).await;

    res.assert_error(409, "PATIENT_ALREADY_EXISTS");
}

#[tokio::test]
async fn changing_the_case_of_ones_own_email_is_not_a_duplicate() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("mine@example.org").await;

    let res = app.put(&patient_path(s(&p, "patientId")), &json!({"email": "MINE@example.org"})).await;

    res.assert(200);
    assert_eq!(res.body["email"], "MINE@example.org");
}

#[tokio::test]
async fn fields_not_accepted_on_update_are_ignored() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("ignored@example.org").await;

    let res = app
        .put(
            &patient_path(s(&p, "patientId")),
            &json!({"patientId": "PAT-01M88ZQHVRM9S346Q3D25VT4F5", "createdAt": "2000-01-01T00:00:00.000Z"}),
        )
        .await;

    res.assert(200);
    assert_eq!(res.body, p);
}

#[tokio::test]
async fn put_status_inactive_deactivates_and_cancels_future_appointments() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("putinactive@example.org").await;
    let pid = s(&p, "patientId");
    let did = doctor(&app).await;
    let apt = app.book(pid, &did, "2026-12-01", "10:00", "10:30").await;
    apt.assert(201);

    let res = app.put(&patient_path(pid), &json!({"status": "inactive"})).await;

    res.assert(200);
    assert_eq!(res.body["status"], "inactive");
    let a = app.get(&format!("/api/v1/appointments/{}", s(&apt.body, "appointmentId"))).await;
    assert_eq!(a.body["status"], "cancelled");
}

#[tokio::test]
async fn put_status_active_reactivates_without_restoring_appointments() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("reactivate@example.org").await;
    let pid = s(&p, "patientId");
    let did = doctor(&app).await;
    let apt = app.book(pid, &did, "2026-12-01", "10:00", "10:30").await;
    app.delete(&patient_path(pid)).await.assert(200);

    let res = app.put(&patient_path(pid), &json!({"status": "active"})).await;

    res.assert(200);
    assert_eq!(res.body["status"], "active");
    let a = app.get(&format!("/api/v1/appointments/{}", s(&apt.body, "appointmentId"))).await;
    assert_eq!(a.body["status"], "cancelled");
    app.book(pid, &did, "2026-12-02", "10:00", "10:30").await.assert(201);
}

#[tokio::test]
async fn an_inactive_patient_can_still_be_updated() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("inactiveupd@example.org").await;
    let pid = s(&p, "patientId");
    app.delete(&patient_path(pid)).await.assert(200);

    let res = app.put(&patient_path(pid), &json!({"phone": "5550103"})).await;

    res.assert(200);
    assert_eq!(res.body["phone"], "5550103");
    assert_eq!(res.body["status"], "inactive");
}

// ---- delete (deactivate) -------------------------------------------------------------------------------

#[tokio::test]
async fn delete_deactivates_and_counts_only_future_scheduled_appointments() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("del@example.org").await;
    let pid = s(&p, "patientId");
    let did = doctor(&app).await;
    let tomorrow = app.book(pid, &did, "2026-11-26", "09:00", "09:30").await;
    let later = app.book(pid, &did, "2026-12-01", "14:00", "15:00").await;
    let tonight = app.book(pid, &did, TODAY, "23:00", "23:30").await;
    let cancelled = app.book(pid, &did, "2026-12-02", "09:00", "09:30").await;
    for r in [&tomorrow, &later, &tonight, &cancelled] {
        r.assert(201);
    }
    app.delete(&format!("/api/v1/appointments/{}", s(&cancelled.body, "appointmentId"))).await.assert(200);

    let res = app.delete(&patient_path(pid)).await;

    res.assert(200);
    assert_eq!(
        res.body,
        json!({"message": "Patient deactivated successfully", "patientId": pid, "cancelledAppointments": 3})
    );
    for a in [&tomorrow, &later, &tonight, &cancelled] {
        let got = app.get(&format!("/api/v1/appointments/{}", s(&a.body, "appointmentId"))).await;
        assert_eq!(got.body["status"], "cancelled", "{}", got.text);
    }
    assert_eq!(app.get(&patient_path(pid)).await.body["status"], "inactive");
}

#[tokio::test]
async fn delete_leaves_an_appointment_that_started_earlier_today_scheduled() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("delpast@example.org").await;
    let pid = s(&p, "patientId");
    let did = doctor(&app).await;
    let morning = app.book(pid, &did, TODAY, "08:00", "08:30").await;
    morning.assert(201);

    let res = app.delete(&patient_path(pid)).await;

    res.assert(200);
    assert_eq!(res.body["cancelledAppointments"], 0);
    let got = app.get(&format!("/api/v1/appointments/{}", s(&morning.body, "appointmentId"))).await;
    assert_eq!(got.body["status"], "scheduled");
}

#[tokio::test]
async fn delete_does_not_count_completed_appointments() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("delcompleted@example.org").await;
    let pid = s(&p, "patientId");
    let did = doctor(&app).await;
    let done = app.book(pid, &did, "2026-12-03", "09:00", "09:30").await;
    let aid = s(&done.body, "appointmentId").to_owned();
    app.put(&format!("/api/v1/appointments/{aid}"), &json!({"status": "completed"})).await.assert(200);

    let res = app.delete(&patient_path(pid)).await;

    res.assert(200);
    assert_eq!(res.body["cancelledAppointments"], 0);
    assert_eq!(app.get(&format!("/api/v1/appointments/{aid}")).await.body["status"], "completed");
}

#[tokio::test]
async fn deleting_an_inactive_patient_again_is_200_with_zero_cancelled() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("again@example.org").await;
    let pid = s(&p, "patientId");
    app.delete(&patient_path(pid)).await.assert(200);

    let res = app.delete(&patient_path(pid)).await;

    res.assert(200);
    assert_eq!(
        res.body,
        json!({"message": "Patient deactivated successfully", "patientId": pid, "cancelledAppointments": 0})
    );
}

#[tokio::test]
async fn deleting_an_unknown_patient_is_404() {
    let app = TestApp::spawn().await;

    let res = app.delete(&patient_path(UNKNOWN_PATIENT_ID)).await;

    res.assert_error(404, "PATIENT_NOT_FOUND");
}

#[tokio::test]
async fn an_inactive_patient_cannot_book() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("nobook@example.org").await;
    let pid = s(&p, "patientId");
    let did = doctor(&app).await;
    app.delete(&patient_path(pid)).await.assert(200);

    let res = app.book(pid, &did, "2026-12-01", "10:00", "10:30").await;

    res.assert_error(409, "PATIENT_INACTIVE");
    assert_eq!(res.body["error"]["message"], "Patient is inactive");
}

// ---- sub-lists -----------------------------------------------------------------------------------------

#[tokio::test]
async fn medical_records_of_an_unknown_patient_is_404() {
    let app = TestApp::spawn().await;

    let res = app.get(&format!("/api/v1/patients/{UNKNOWN_PATIENT_ID}/medical-records")).await;

    res.assert_error(404, "PATIENT_NOT_FOUND");
}

#[tokio::test]
async fn invoices_of_an_unknown_patient_is_404() {
    let app = TestApp::spawn().await;

    let res = app.get(&format!("/api/v1/patients/{UNKNOWN_PATIENT_ID}/invoices")).await;

    res.assert_error(404, "PATIENT_NOT_FOUND");
}

#[tokio::test]
async fn a_patient_without_records_or_invoices_gets_empty_lists() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("empty@example.org").await;
    let pid = s(&p, "patientId");

    let records = app.get(&format!("/api/v1/patients/{pid}/medical-records")).await;
    let invoices = app.get(&format!("/api/v1/patients/{pid}/invoices")).await;

    records.assert(200);
    invoices.assert(200);
    assert_eq!(records.body, json!({"patientId": pid, "records": [], "nextCursor": null}));
    assert_eq!(invoices.body, json!({"patientId": pid, "invoices": [], "nextCursor": null}));
}

#[tokio::test]
async fn a_bad_limit_on_the_patient_sub_lists_is_400() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("sublimit@example.org").await;
    let pid = s(&p, "patientId");

    for path in [
        format!("/api/v1/patients/{pid}/medical-records?limit=0"),
        format!("/api/v1/patients/{pid}/invoices?limit=abc"),
    ] {
        let res = app.get(&path).await;

        expect_400(&res, "limit: ");
    }
}

#[tokio::test]
async fn the_sub_list_query_is_validated_before_the_patient_is_looked_up() {
    let app = TestApp::spawn().await;

    let res = app.get(&format!("/api/v1/patients/{UNKNOWN_PATIENT_ID}/medical-records?limit=0")).await;

    expect_400(&res, "limit: ");
}

#[tokio::test]
async fn an_unknown_invoice_status_filter_is_400() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("substatus@example.org").await;

    let res = app.get(&format!("/api/v1/patients/{}/invoices?status=unpaid", s(&p, "patientId"))).await;

    expect_400(&res, "status: ");
}

#[tokio::test]
async fn a_record_date_range_with_end_before_start_is_400() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("subrange@example.org").await;

    let res = app
        .get(&format!(
            "/api/v1/patients/{}/medical-records?startDate=2026-11-20&endDate=2026-11-10",
            s(&p, "patientId")
        ))
        .await;

    res.assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn the_name_filter_matches_a_substring_spanning_first_and_last_name() {
    let app = TestApp::spawn().await;
    let amara = app.post("/api/v1/patients", &named_patient("Amara", "Okafor", "span@example.org")).await.body;

    let res = app.get(&format!("/api/v1/patients?name={}", qs_encode("RA OKA"))).await;

    res.assert(200);
    assert_eq!(ids(&res), vec![s(&amara, "patientId").to_owned()]);
}

#[tokio::test]
async fn deactivation_leaves_other_patients_appointments_alone() {
    let app = TestApp::spawn().await;
    let leaving = app.create_patient("leaving@example.org").await;
    let staying = app.create_patient("staying@example.org").await;
    let did = doctor(&app).await;
    app.book(s(&leaving, "patientId"), &did, "2026-12-01", "09:00", "09:30").await.assert(201);
    let other = app.book(s(&staying, "patientId"), &did, "2026-12-01", "10:00", "10:30").await;
    other.assert(201);

    let res = app.delete(&patient_path(s(&leaving, "patientId"))).await;

    assert_eq!(res.body["cancelledAppointments"], 1);
    let got = app.get(&format!("/api/v1/appointments/{}", s(&other.body, "appointmentId"))).await;
    assert_eq!(got.body["status"], "scheduled");
}

#[tokio::test]
async fn put_status_inactive_on_an_inactive_patient_is_a_no_op() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("twice@example.org").await;
    let pid = s(&p, "patientId");
    let first = app.put(&patient_path(pid), &json!({"status": "inactive"})).await;
    pause().await;

    let res = app.put(&patient_path(pid), &json!({"status": "inactive"})).await;

    res.assert(200);
    assert_eq!(res.body, first.body);
}

#[tokio::test]
async fn put_with_more_than_fifty_allergies_is_400() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("putallergy@example.org").await;
    let items: Vec<String> = (0..51).map(|i| format!("a{i}")).collect();

    let res = app.put(&patient_path(s(&p, "patientId")), &json!({"allergies": items})).await;

    expect_400(&res, "allergies: ");
}

#[tokio::test]
async fn the_email_filter_treats_wildcards_literally() {
    let app = TestApp::spawn().await;
    app.create_patient("exact@example.org").await;

    let underscore = app.get("/api/v1/patients?email=_xact%40example.org").await;
    let percent = app.get("/api/v1/patients?email=%25%40example.org").await;

    underscore.assert(200);
    assert_eq!(ids(&underscore), Vec::<String>::new());
    assert_eq!(ids(&percent), Vec::<String>::new());
}

#[tokio::test]
async fn enum_and_date_strings_are_trimmed_before_validation() {
    let app = TestApp::spawn().await;
    let mut body = patient_body("trimenum@example.org");
    body["gender"] = json!(" female ");
    body["bloodType"] = json!(" AB- ");
    body["dateOfBirth"] = json!(" 1985-03-15 ");

    let res = app.post("/api/v1/patients", &body).await;

    res.assert(201);
    assert_eq!(res.body["gender"], "female");
    assert_eq!(res.body["bloodType"], "AB-");
    assert_eq!(res.body["dateOfBirth"], "1985-03-15");
}

#[tokio::test]
async fn put_empty_string_clears_gender() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("cleargender@example.org").await;

    let res = app.put(&patient_path(s(&p, "patientId")), &json!({"gender": ""})).await;

    res.assert(200);
    assert!(res.body.get("gender").is_none(), "{}", res.text);
}

#[tokio::test]
async fn a_put_whose_values_match_after_trimming_keeps_updated_at() {
    let app = TestApp::spawn().await;
    let p = app.create_patient("trimnoop@example.org").await;
    pause().await;

    let res =
        app.put(&patient_path(s(&p, "patientId")), &json!({"firstName": "  Amara  ", "lastName": "Okafor "})).await;

    res.assert(200);
    assert_eq!(res.body, p);
}
