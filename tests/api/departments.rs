//! API.md §1.6 (seeds), §2.3, §3.4: departments, their head doctor and their doctors.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;

fn dept_path(id: &str) -> String {
    format!("/api/v1/departments/{id}")
}

#[track_caller]
fn expect_400(res: &Res, prefix: &str) {
    res.assert_error(400, "VALIDATION_ERROR");
    expect_detail_prefix(res, prefix);
}

fn without_timestamps(v: &Value) -> Value {
    let mut v = v.clone();
    let obj = v.as_object_mut().unwrap();
    for k in ["createdAt", "updatedAt"] {
        let ts = obj.remove(k).unwrap_or_else(|| panic!("{k} missing"));
        assert!(check_timestamp_ms(ts.as_str().unwrap_or("")), "{k}: {ts}");
    }
    v
}

fn seed(id: &str, name: &str, description: &str, floor: i64, extension: &str) -> Value {
    json!({"departmentId": id, "name": name, "description": description, "floor": floor,
           "extension": extension, "numberOfDoctors": 0, "version": 1})
}

async fn named_doctor(app: &TestApp, license: &str, department: &str, first: &str, last: &str) -> Value {
    let mut body = doctor_body(license, department);
    body["firstName"] = json!(first);
    body["lastName"] = json!(last);
    let res = app.post("/api/v1/doctors", &body).await;
    res.assert(201);
    res.body
}

async fn new_department(app: &TestApp, body: Value) -> Value {
    let res = app.post("/api/v1/departments", &body).await;
    res.assert(201);
    res.body
}

// ---- list and get --------------------------------------------------------------------------------------

#[tokio::test]
async fn the_list_holds_the_six_seeds_ordered_by_name_with_their_fields() {
    let app = TestApp::spawn().await;

    let res = app.get("/api/v1/departments").await;

    res.assert(200);
    assert_eq!(res.body.as_object().unwrap().len(), 1, "only `data`: {}", res.text);
    let got: Vec<Value> = res.body["data"].as_array().unwrap().iter().map(without_timestamps).collect();
    assert_eq!(
        got,
        vec![
            seed("DEPT-001", "Cardiology", "Department specializing in heart and cardiovascular conditions", 3, "3001"),
            seed("DEPT-002", "Emergency", "Emergency medical services and urgent care", 1, "1001"),
            seed("DEPT-006", "Oncology", "Cancer treatment and care", 5, "5001"),
            seed("DEPT-004", "Orthopedics", "Treatment of musculoskeletal system disorders", 4, "4001"),
            seed("DEPT-003", "Pediatrics", "Medical care for infants, children, and adolescents", 2, "2001"),
            seed("DEPT-005", "Radiology", "Medical imaging and diagnostic services", 1, "1002"),
        ]
    );
}

#[tokio::test]
async fn get_returns_a_seeded_department() {
    let app = TestApp::spawn().await;

    let res = app.get(&dept_path("DEPT-004")).await;

    res.assert(200);
    assert_eq!(
        without_timestamps(&res.body),
        seed("DEPT-004", "Orthopedics", "Treatment of musculoskeletal system disorders", 4, "4001")
    );
}

#[tokio::test]
async fn get_of_an_unknown_department_is_404() {
    let app = TestApp::spawn().await;

    for id in ["DEPT-999", "DEPT-007", "dept-001", "DEPT-01M88ZSCERV37E3S3E28JT97KB"] {
        let res = app.get(&dept_path(id)).await;

        res.assert_error(404, "DEPARTMENT_NOT_FOUND");
        assert_eq!(res.body["error"]["message"], "Department not found");
    }
}

#[tokio::test]
async fn number_of_doctors_counts_only_active_doctors() {
    let app = TestApp::spawn().await;
    let a = app.create_doctor("LIC-N1", "DEPT-003").await;
    let b = app.create_doctor("LIC-N2", "DEPT-003").await;
    app.create_doctor("LIC-N3", "DEPT-003").await;
    app.create_doctor("LIC-N4", "DEPT-002").await;
    app.put(&format!("/api/v1/doctors/{}", s(&a, "doctorId")), &json!({"status": "on-leave"})).await.assert(200);
    app.put(&format!("/api/v1/doctors/{}", s(&b, "doctorId")), &json!({"status": "inactive"})).await.assert(200);

    let one = app.get(&dept_path("DEPT-003")).await;
    let list = app.get("/api/v1/departments").await;

    assert_eq!(one.body["numberOfDoctors"], 1);
    let peds = list.body["data"].as_array().unwrap().iter().find(|d| d["departmentId"] == "DEPT-003").unwrap().clone();
    assert_eq!(peds["numberOfDoctors"], 1);
    let emergency =
        list.body["data"].as_array().unwrap().iter().find(|d| d["departmentId"] == "DEPT-002").unwrap().clone();
    assert_eq!(emergency["numberOfDoctors"], 1);
}

#[tokio::test]
async fn the_head_doctor_name_is_dr_first_last_in_get_and_list() {
    let app = TestApp::spawn().await;
    let doc = named_doctor(&app, "LIC-HN", "DEPT-001", "Sofia", "Chen").await;
    let id = s(&doc, "doctorId");

    let put = app.put(&dept_path("DEPT-001"), &json!({"headDoctorId": id})).await;

    put.assert(200);
    assert_eq!(put.body["headDoctorId"], id);
    assert_eq!(put.body["headDoctorName"], "Dr. Sofia Chen");
    let get = app.get(&dept_path("DEPT-001")).await;
    assert_eq!(get.body["headDoctorName"], "Dr. Sofia Chen");
    let list = app.get("/api/v1/departments").await;
    assert_eq!(list.body["data"][0]["headDoctorName"], "Dr. Sofia Chen");
    assert_eq!(list.body["data"][0]["headDoctorId"], id);
}

// ---- create --------------------------------------------------------------------------------------------

#[tokio::test]
async fn creating_a_department_returns_201_with_a_ulid_id_and_location() {
    let app = TestApp::spawn().await;

    let res = app
        .post(
            "/api/v1/departments",
            &json!({"name": "Neurology", "description": "Brain and nerves", "floor": 0, "extension": "6001"}),
        )
        .await;

    res.assert(201);
    let id = s(&res.body, "departmentId").to_owned();
    assert!(id.starts_with("DEPT-") && check_ulid(&id[5..]), "{id}");
    assert_eq!(res.header("location"), Some(dept_path(&id).as_str()));
    assert_eq!(
        without_timestamps(&res.body),
        json!({"departmentId": id, "name": "Neurology", "description": "Brain and nerves", "floor": 0,
               "extension": "6001", "numberOfDoctors": 0, "version": 1})
    );
    assert_eq!(res.header("etag"), Some("\"1\""));
    assert_eq!(app.get(&dept_path(&id)).await.body, res.body);
}

#[tokio::test]
async fn a_created_department_with_only_a_name_omits_the_unset_fields() {
    let app = TestApp::spawn().await;

    let res =
        app.post("/api/v1/departments", &json!({"name": "  Dermatology ", "description": "", "floor": null})).await;

    res.assert(201);
    let body = without_timestamps(&res.body);
    assert_eq!(
        body,
        json!({"departmentId": s(&res.body, "departmentId"), "name": "Dermatology", "numberOfDoctors": 0, "version": 1})
    );
}

#[tokio::test]
async fn a_created_department_takes_its_place_in_the_name_order() {
    let app = TestApp::spawn().await;
    new_department(&app, json!({"name": "neurology"})).await;

    let res = app.get("/api/v1/departments").await;

    let names: Vec<&str> = res.body["data"].as_array().unwrap().iter().map(|d| s(d, "name")).collect();
    assert_eq!(names, ["Cardiology", "Emergency", "neurology", "Oncology", "Orthopedics", "Pediatrics", "Radiology"]);
}

#[tokio::test]
async fn a_duplicate_department_name_in_any_case_is_409() {
    let app = TestApp::spawn().await;

    for name in ["Cardiology", "CARDIOLOGY", "  cardiology "] {
        let res = app.post("/api/v1/departments", &json!({"name": name})).await;

        res.assert_error(409, "DEPARTMENT_ALREADY_EXISTS");
        assert_eq!(res.body["error"]["message"], "Department already exists");
    }
}

#[tokio::test]
async fn a_head_doctor_on_create_is_400() {
    let app = TestApp::spawn().await;
    let doc = app.create_doctor("LIC-HC", "DEPT-001").await;

    let res = app.post("/api/v1/departments", &json!({"name": "Neurology", "headDoctorId": s(&doc, "doctorId")})).await;

    expect_400(&res, "headDoctorId: ");
}

#[tokio::test]
async fn a_null_head_doctor_on_create_is_accepted() {
    let app = TestApp::spawn().await;

    let res = app.post("/api/v1/departments", &json!({"name": "Neurology", "headDoctorId": null})).await;

    res.assert(201);
    assert!(res.body.get("headDoctorId").is_none() && res.body.get("headDoctorName").is_none());
}

#[tokio::test]
async fn department_create_rules_are_checked() {
    let app = TestApp::spawn().await;

    let cases = [
        (json!({}), "name: "),
        (json!({"name": null}), "name: "),
        (json!({"name": "n".repeat(101)}), "name: "),
        (json!({"name": "X", "floor": 201}), "floor: "),
        (json!({"name": "X", "floor": -11}), "floor: "),
        (json!({"name": "X", "floor": 1.5}), "floor: "),
        (json!({"name": "X", "floor": "3"}), "floor: "),
        (json!({"name": "X", "extension": "1".repeat(21)}), "extension: "),
        (json!({"name": "X", "description": "d".repeat(1001)}), "description: "),
    ];
    for (body, prefix) in cases {
        let res = app.post("/api/v1/departments", &body).await;

        expect_400(&res, prefix);
    }
}

#[tokio::test]
async fn floors_at_the_bounds_are_accepted() {
    let app = TestApp::spawn().await;

    for (i, floor) in [-10, 200].into_iter().enumerate() {
        let res = app.post("/api/v1/departments", &json!({"name": format!("Wing {i}"), "floor": floor})).await;

        res.assert(201);
        assert_eq!(res.body["floor"], floor);
    }
}

// ---- update --------------------------------------------------------------------------------------------

#[tokio::test]
async fn put_renames_a_department() {
    let app = TestApp::spawn().await;
    let before = app.get(&dept_path("DEPT-005")).await.body;

    let res = app.put(&dept_path("DEPT-005"), &json!({"name": "Imaging"})).await;

    res.assert(200);
    assert_eq!(res.body["name"], "Imaging");
    assert_eq!(res.body["description"], before["description"]);
    assert_eq!(res.body["floor"], 1);
    assert_eq!(app.get(&dept_path("DEPT-005")).await.body["name"], "Imaging");
}

#[tokio::test]
async fn a_rename_shows_in_the_department_name_of_its_doctors() {
    let app = TestApp::spawn().await;
    let doc = app.create_doctor("LIC-REN", "DEPT-005").await;

    app.put(&dept_path("DEPT-005"), &json!({"name": "Imaging"})).await.assert(200);

    let got = app.get(&format!("/api/v1/doctors/{}", s(&doc, "doctorId"))).await;
    assert_eq!(got.body["departmentName"], "Imaging");
}

#[tokio::test]
async fn renaming_to_another_departments_name_is_409() {
    let app = TestApp::spawn().await;

    let res = app.put(&dept_path("DEPT-002"), &json!({"name": "cardiology"})).await;

    res.assert_error(409, "DEPARTMENT_ALREADY_EXISTS");
}

#[tokio::test]
async fn changing_the_case_of_its_own_name_is_allowed() {
    let app = TestApp::spawn().await;

    let res = app.put(&dept_path("DEPT-001"), &json!({"name": "CARDIOLOGY"})).await;

    res.assert(200);
    assert_eq!(res.body["name"], "CARDIOLOGY");
}

#[tokio::test]
async fn an_empty_put_is_a_no_op() {
    let app = TestApp::spawn().await;
    let before = app.get(&dept_path("DEPT-006")).await.body;
    tokio::time::sleep(Duration::from_millis(5)).await;

    let res = app.put(&dept_path("DEPT-006"), &json!({})).await;

    res.assert(200);
    assert_eq!(res.body, before);
}

#[tokio::test]
async fn put_of_an_unknown_department_is_404() {
    let app = TestApp::spawn().await;

    let res = app.put(&dept_path("DEPT-999"), &json!({"name": "Ghost"})).await;

    res.assert_error(404, "DEPARTMENT_NOT_FOUND");
}

#[tokio::test]
async fn an_unknown_head_doctor_is_404() {
    let app = TestApp::spawn().await;

    for id in ["DOC-01M88ZSCERV37E3S3E28JT97KB", "DOC-nope"] {
        let res = app.put(&dept_path("DEPT-001"), &json!({"headDoctorId": id})).await;

        res.assert_error(404, "DOCTOR_NOT_FOUND");
    }
}

#[tokio::test]
async fn a_head_doctor_from_another_department_is_409() {
    let app = TestApp::spawn().await;
    let doc = app.create_doctor("LIC-OTHER", "DEPT-002").await;

    let res = app.put(&dept_path("DEPT-001"), &json!({"headDoctorId": s(&doc, "doctorId")})).await;

    res.assert_error(409, "DEPARTMENT_HEAD_CONFLICT");
    assert_eq!(res.body["error"]["message"], "Department head conflict");
}

#[tokio::test]
async fn an_inactive_doctor_of_the_department_can_be_head() {
    let app = TestApp::spawn().await;
    let doc = named_doctor(&app, "LIC-INHEAD", "DEPT-004", "Ada", "Eze").await;
    let id = s(&doc, "doctorId");
    app.put(&format!("/api/v1/doctors/{id}"), &json!({"status": "inactive"})).await.assert(200);

    let res = app.put(&dept_path("DEPT-004"), &json!({"headDoctorId": id})).await;

    res.assert(200);
    assert_eq!(res.body["headDoctorName"], "Dr. Ada Eze");
    assert_eq!(res.body["numberOfDoctors"], 0);
}

#[tokio::test]
async fn null_clears_the_head_doctor() {
    let app = TestApp::spawn().await;
    let doc = app.create_doctor("LIC-CLR", "DEPT-001").await;
    let id = s(&doc, "doctorId");
    app.put(&dept_path("DEPT-001"), &json!({"headDoctorId": id})).await.assert(200);

    let res = app.put(&dept_path("DEPT-001"), &json!({"headDoctorId": null})).await;

    res.assert(200);
    assert!(res.body.get("headDoctorId").is_none() && res.body.get("headDoctorName").is_none(), "{}", res.text);
    app.put(&format!("/api/v1/doctors/{id}"), &json!({"departmentId": "DEPT-002"})).await.assert(200);
}

#[tokio::test]
async fn null_clears_description_floor_and_extension() {
    let app = TestApp::spawn().await;

    let res = app.put(&dept_path("DEPT-002"), &json!({"description": null, "floor": null, "extension": ""})).await;

    res.assert(200);
    for k in ["description", "floor", "extension"] {
        assert!(res.body.get(k).is_none(), "{k} should be cleared: {}", res.text);
    }
}

#[tokio::test]
async fn a_floor_of_0_is_shown() {
    let app = TestApp::spawn().await;

    let res = app.put(&dept_path("DEPT-002"), &json!({"floor": 0})).await;

    res.assert(200);
    assert_eq!(res.body["floor"], 0);
    assert_eq!(app.get(&dept_path("DEPT-002")).await.body["floor"], 0);
}

#[tokio::test]
async fn a_floor_of_201_on_update_is_400() {
    let app = TestApp::spawn().await;

    let res = app.put(&dept_path("DEPT-002"), &json!({"floor": 201})).await;

    expect_400(&res, "floor: ");
}

#[tokio::test]
async fn a_null_name_on_update_is_400() {
    let app = TestApp::spawn().await;

    let res = app.put(&dept_path("DEPT-002"), &json!({"name": null})).await;

    expect_400(&res, "name: ");
}

// ---- department doctors --------------------------------------------------------------------------------

#[tokio::test]
async fn department_doctors_are_ordered_by_last_then_first_name_with_any_status() {
    let app = TestApp::spawn().await;
    let zed = named_doctor(&app, "LIC-Z", "DEPT-003", "Ann", "Zed").await;
    let bob = named_doctor(&app, "LIC-AB", "DEPT-003", "Bob", "Adams").await;
    let amy = named_doctor(&app, "LIC-AA", "DEPT-003", "Amy", "Adams").await;
    named_doctor(&app, "LIC-ELSE", "DEPT-002", "Al", "Aaron").await;
    app.put(&format!("/api/v1/doctors/{}", s(&zed, "doctorId")), &json!({"status": "inactive"})).await.assert(200);

    let res = app.get("/api/v1/departments/DEPT-003/doctors").await;

    res.assert(200);
    assert_eq!(res.body["departmentId"], "DEPT-003");
    assert_eq!(res.body["departmentName"], "Pediatrics");
    let doctors = res.body["doctors"].as_array().unwrap();
    let got: Vec<&str> = doctors.iter().map(|d| s(d, "doctorId")).collect();
    assert_eq!(got, [s(&amy, "doctorId"), s(&bob, "doctorId"), s(&zed, "doctorId")]);
    assert!(doctors.iter().all(|d| d["departmentName"] == "Pediatrics"));
    assert_eq!(doctors[2]["status"], "inactive");
}

#[tokio::test]
async fn a_department_without_doctors_lists_none() {
    let app = TestApp::spawn().await;

    let res = app.get("/api/v1/departments/DEPT-006/doctors").await;

    res.assert(200);
    assert_eq!(res.body, json!({"departmentId": "DEPT-006", "departmentName": "Oncology", "doctors": []}));
}

#[tokio::test]
async fn doctors_of_an_unknown_department_is_404() {
    let app = TestApp::spawn().await;

    let res = app.get("/api/v1/departments/DEPT-999/doctors").await;

    res.assert_error(404, "DEPARTMENT_NOT_FOUND");
}

#[tokio::test]
async fn moving_a_doctor_moves_it_between_department_counts() {
    let app = TestApp::spawn().await;
    let doc = app.create_doctor("LIC-MOVE", "DEPT-001").await;

    app.put(&format!("/api/v1/doctors/{}", s(&doc, "doctorId")), &json!({"departmentId": "DEPT-005"}))
        .await
        .assert(200);

    assert_eq!(app.get(&dept_path("DEPT-001")).await.body["numberOfDoctors"], 0);
    assert_eq!(app.get(&dept_path("DEPT-005")).await.body["numberOfDoctors"], 1);
    let listed = app.get("/api/v1/departments/DEPT-005/doctors").await;
    assert_eq!(listed.body["doctors"][0]["doctorId"], doc["doctorId"]);
}

#[tokio::test]
async fn a_new_department_can_get_a_head_from_its_own_doctors() {
    let app = TestApp::spawn().await;
    let dept = new_department(&app, json!({"name": "Neurology"})).await;
    let dept_id = s(&dept, "departmentId");
    let doc = named_doctor(&app, "LIC-NEURO", dept_id, "Kemi", "Bello").await;
    assert_eq!(doc["departmentName"], "Neurology");

    let res = app.put(&dept_path(dept_id), &json!({"headDoctorId": s(&doc, "doctorId")})).await;

    res.assert(200);
    assert_eq!(res.body["headDoctorName"], "Dr. Kemi Bello");
    assert_eq!(res.body["numberOfDoctors"], 1);
}

#[tokio::test]
async fn an_empty_string_head_doctor_clears_the_head() {
    let app = TestApp::spawn().await;
    let doc = app.create_doctor("LIC-EMPTY", "DEPT-001").await;
    app.put(&dept_path("DEPT-001"), &json!({"headDoctorId": s(&doc, "doctorId")})).await.assert(200);

    let res = app.put(&dept_path("DEPT-001"), &json!({"headDoctorId": ""})).await;

    res.assert(200);
    assert!(res.body.get("headDoctorId").is_none() && res.body.get("headDoctorName").is_none(), "{}", res.text);
}

#[tokio::test]
async fn server_set_fields_sent_on_create_are_ignored() {
    let app = TestApp::spawn().await;

    let res = app
        .post(
            "/api/v1/departments",
            &json!({"name": "Neurology", "departmentId": "DEPT-777", "numberOfDoctors": 5, "headDoctorName": "Dr. X"}),
        )
        .await;

    res.assert(201);
    let id = s(&res.body, "departmentId");
    assert!(id.starts_with("DEPT-") && check_ulid(&id[5..]), "{id}");
    assert_eq!(res.body["numberOfDoctors"], 0);
    assert!(res.body.get("headDoctorName").is_none());
}

#[tokio::test]
async fn a_head_doctor_id_of_the_wrong_type_is_400() {
    let app = TestApp::spawn().await;

    let res = app.put(&dept_path("DEPT-001"), &json!({"headDoctorId": 42})).await;

    expect_400(&res, "headDoctorId: ");
}
