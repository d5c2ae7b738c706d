//! [history] through HTTP (API.md §3.7, §2.6): an amendment keeps the version it replaces, unchanged, and
//! `GET /api/v1/medical-records/{recordId}/history` pages those versions newest first.

use futures::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{TestApp, s};

fn rec(id: &str) -> String {
    format!("/api/v1/medical-records/{id}")
}

fn history(id: &str) -> String {
    format!("/api/v1/medical-records/{id}/history")
}

/// A record of a fresh patient and doctor; returns its JSON.
async fn new_record(app: &TestApp, tag: &str) -> Value {
    let p = s(&app.create_patient(&format!("{tag}@example.org")).await, "patientId").to_owned();
    let d = s(&app.create_doctor(&format!("LIC-{tag}"), "DEPT-001").await, "doctorId").to_owned();
    let res = app
        .post(
            "/api/v1/medical-records",
            &json!({"patientId": p, "doctorId": d, "visitDate": "2026-11-20T09:00:00Z",
                    "chiefComplaint": "Cough", "diagnosis": "Cold"}),
        )
        .await;
    res.assert(201);
    res.body
}

fn versions(page: &Value) -> Vec<i64> {
    page["versions"].as_array().expect("versions").iter().map(|v| v["version"].as_i64().expect("version")).collect()
}

#[tokio::test]
async fn an_amendment_keeps_the_previous_version_exactly_as_it_was() {
    let app = TestApp::spawn().await;
    let original = new_record(&app, "keep").await;
    let id = s(&original, "recordId").to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;

    let res = app.put(&rec(&id), &json!({"diagnosis": "Influenza", "amendmentReason": "Lab result came back"})).await;

    res.assert(200);
    assert_eq!(res.body["diagnosis"], json!("Influenza"));
    assert_eq!(res.body["amendmentReason"], json!("Lab result came back"));
    assert_eq!(res.body["version"], json!(2));
    assert_ne!(res.body["updatedAt"], original["updatedAt"], "updatedAt = when the current version was written");
    assert_eq!(app.get(&rec(&id)).await.body, res.body);
    let page = app.get(&history(&id)).await;
    page.assert(200);
    assert_eq!(page.body["recordId"], json!(id));
    assert_eq!(page.body["versions"], json!([original]), "the previous version, unchanged");
    assert_eq!(page.body["nextCursor"], Value::Null);
}

#[tokio::test]
async fn a_record_never_amended_has_an_empty_history() {
    let app = TestApp::spawn().await;
    let id = s(&new_record(&app, "never").await, "recordId").to_owned();
    let page = app.get(&history(&id)).await;
    page.assert(200);
    assert_eq!(page.body, json!({"recordId": id, "versions": [], "nextCursor": null}));
}

#[tokio::test]
async fn each_version_keeps_its_own_reason_and_the_next_one_starts_without() {
    let app = TestApp::spawn().await;
    let id = s(&new_record(&app, "reasons").await, "recordId").to_owned();
    app.put(&rec(&id), &json!({"treatment": "Rest", "amendmentReason": "first"})).await.assert(200);
    let res = app.put(&rec(&id), &json!({"notes": "Better"})).await;
    res.assert(200);
    assert!(res.body.get("amendmentReason").is_none(), "an amendment without a reason leaves it unset: {}", res.text);
    let page = app.get(&history(&id)).await;
    assert_eq!(versions(&page.body), [2, 1]);
    assert_eq!(page.body["versions"][0]["amendmentReason"], json!("first"));
    assert_eq!(page.body["versions"][0]["treatment"], json!("Rest"));
    assert!(page.body["versions"][1].get("amendmentReason").is_none());
}

#[tokio::test]
async fn a_reason_alone_or_a_no_op_changes_nothing_and_adds_no_history() {
    let app = TestApp::spawn().await;
    let original = new_record(&app, "noop").await;
    let id = s(&original, "recordId").to_owned();
    for body in [json!({"amendmentReason": "just because"}), json!({"diagnosis": "Cold"}), json!({})] {
        let res = app.put(&rec(&id), &body).await;
        res.assert(200);
        assert_eq!(res.body, original, "{body}");
    }
    assert_eq!(versions(&app.get(&history(&id)).await.body), Vec::<i64>::new());
}

#[tokio::test]
async fn a_reason_is_one_to_500_characters() {
    let app = TestApp::spawn().await;
    let id = s(&new_record(&app, "long").await, "recordId").to_owned();
    let res = app.put(&rec(&id), &json!({"diagnosis": "Flu", "amendmentReason": "x".repeat(501)})).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert!(res.details()[0].starts_with("amendmentReason: "), "{}", res.text);
    app.put(&rec(&id), &json!({"diagnosis": "Flu", "amendmentReason": "x".repeat(500)})).await.assert(200);
    app.put(&rec(&id), &json!({"amendmentReason": 5})).await.assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn history_pages_newest_first_with_a_cursor_bound_to_its_record() {
    let app = TestApp::spawn().await;
    let id = s(&new_record(&app, "pages").await, "recordId").to_owned();
    for i in 0..5 {
        app.put(&rec(&id), &json!({"notes": format!("visit note {i}")})).await.assert(200);
    }
    let mut seen = Vec::new();
    let mut next = None::<String>;
    let mut sizes = Vec::new();
    loop {
        let url = match &next {
            None => format!("{}?limit=2", history(&id)),
            Some(c) => format!("{}?limit=2&cursor={c}", history(&id)),
        };
        let page = app.get(&url).await;
        page.assert(200);
        let got = versions(&page.body);
        sizes.push(got.len());
        seen.extend(got);
        match page.body["nextCursor"].as_str() {
            Some(c) => next = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, [5, 4, 3, 2, 1]);
    assert_eq!(sizes, [2, 2, 1]);

    let other = s(&new_record(&app, "pages2").await, "recordId").to_owned();
    let first = app.get(&format!("{}?limit=2", history(&id))).await;
    let cursor = first.body["nextCursor"].as_str().expect("a cursor").to_owned();
    let res = app.get(&format!("{}?cursor={cursor}", history(&other))).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(res.details(), vec!["cursor: invalid"]);
    app.get(&format!("{}?limit=0", history(&id))).await.assert_error(400, "VALIDATION_ERROR");
    let capped = app.get(&format!("{}?limit=1000", history(&id))).await;
    assert_eq!(versions(&capped.body), [5, 4, 3, 2, 1]);
}

#[tokio::test]
async fn the_history_of_an_unknown_record_is_404_and_cannot_be_written() {
    let app = TestApp::spawn().await;
    for id in ["REC-01M8900PTRP1XPA7Z3DJ8FSSZ5", "not-an-id"] {
        app.get(&history(id)).await.assert_error(404, "MEDICAL_RECORD_NOT_FOUND");
    }
    let id = s(&new_record(&app, "readonly").await, "recordId").to_owned();
    for method in [axum::http::Method::PUT, axum::http::Method::DELETE, axum::http::Method::POST] {
        let res = app.request(method, &history(&id), Some(&json!({}))).await;
        res.assert_error(405, "METHOD_NOT_ALLOWED");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_amendments_keep_twenty_contiguous_versions() {
    let app = TestApp::spawn().await;
    // Two instances over the same stores: writers of one instance take turns, but the two race for real.
    let other = app.second_instance();
    let id = s(&new_record(&app, "race").await, "recordId").to_owned();
    let results = join_all((0..20).map(|i| {
        let (app, path) = (if i % 2 == 0 { &app } else { &other }, rec(&id));
        async move { app.put(&path, &json!({"notes": format!("writer {i}")})).await }
    }))
    .await;
    for r in &results {
        r.assert(200);
    }
    let current = app.get(&rec(&id)).await;
    assert_eq!(current.body["version"], json!(21));
    let page = app.get(&format!("{}?limit=100", history(&id))).await;
    assert_eq!(versions(&page.body), (1..=20).rev().collect::<Vec<i64>>(), "nothing lost, nothing repeated");
    // Every writer's note is either in the history or current: each wrote exactly one version.
    let mut notes: Vec<String> = page.body["versions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["notes"].as_str().map(str::to_owned))
        .collect();
    notes.push(s(&current.body, "notes").to_owned());
    notes.sort();
    let mut expected: Vec<String> = (0..20).map(|i| format!("writer {i}")).collect();
    expected.sort();
    assert_eq!(notes, expected);
}
