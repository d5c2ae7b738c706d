//! Doctor availability (API.md §3.2 #15, §4.6): generated working-hour slots.

use serde_json::{Value, json};

use crate::helpers::{Res, TODAY, TestApp, s};

async fn doctor(app: &TestApp, lic: &str) -> String {
    s(&app.create_doctor(lic, "DEPT-001").await, "doctorId").to_owned()
}

async fn patient(app: &TestApp, tag: &str) -> String {
    s(&app.create_patient(&format!("{tag}@example.org")).await, "patientId").to_owned()
}

async fn availability(app: &TestApp, d: &str, query: &str) -> Res {
    app.get(&format!("/api/v1/doctors/{d}/availability{query}")).await
}

fn slots(res: &Res) -> &Vec<Value> {
    res.body["availability"].as_array().unwrap_or_else(|| panic!("no availability array: {}", res.text))
}

/// The 16 default slot start times.
fn day_starts() -> Vec<String> {
    (0..16).map(|i| format!("{:02}:{:02}:00", 9 + i / 2, (i % 2) * 30)).collect()
}

#[track_caller]
fn assert_day(slots: &[Value], date: &str) {
    assert_eq!(slots.len(), 16, "slots for {date}: {slots:?}");
    let starts = day_starts();
    for (i, slot) in slots.iter().enumerate() {
        assert_eq!(slot["date"], json!(date));
        assert_eq!(slot["startTime"], json!(starts[i]), "slot {i} of {date}");
        let end = if i == 15 { "17:00:00".to_owned() } else { starts[i + 1].clone() };
        assert_eq!(slot["endTime"], json!(end), "slot {i} of {date}");
        assert!(slot["available"].is_boolean(), "available must be boolean: {slot}");
    }
}

#[tokio::test]
async fn a_weekday_has_sixteen_free_half_hour_slots_from_nine_to_five() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-AV1").await;
    let res = availability(&app, &d, "?startDate=2026-12-01&endDate=2026-12-01").await;
    res.assert(200);
    assert_eq!(res.body["doctorId"], json!(d));
    assert_eq!(res.body["startDate"], json!("2026-12-01"));
    assert_eq!(res.body["endDate"], json!("2026-12-01"));
    let slots = slots(&res);
    assert_day(slots, "2026-12-01");
    assert!(slots.iter().all(|s| s["available"] == json!(true)), "{}", res.text);
    assert_eq!(
        slots[0],
        json!({"date": "2026-12-01", "startTime": "09:00:00", "endTime": "09:30:00", "available": true})
    );
}

#[tokio::test]
async fn an_appointment_makes_exactly_the_overlapping_slots_unavailable() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-AV2").await;
    let p = patient(&app, "av2").await;
    app.book(&p, &d, "2026-12-01", "10:15", "10:45").await.assert(201);
    let res = availability(&app, &d, "?startDate=2026-12-01&endDate=2026-12-01").await;
    res.assert(200);
    let slots = slots(&res);
    assert_day(slots, "2026-12-01");
    for slot in slots {
        let start = slot["startTime"].as_str().unwrap();
        let expected = !(start == "10:00:00" || start == "10:30:00");
        assert_eq!(slot["available"], json!(expected), "slot {start}: {}", res.text);
    }
}

#[tokio::test]
async fn an_appointment_on_a_slot_boundary_blocks_only_its_own_slot() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-AV3").await;
    let p = patient(&app, "av3").await;
    app.book(&p, &d, "2026-12-01", "16:30", "17:00").await.assert(201);
    app.book(&p, &d, "2026-12-01", "08:00", "09:00").await.assert(201); // ends exactly at 09:00
    let res = availability(&app, &d, "?startDate=2026-12-01").await;
    res.assert(200);
    let unavailable: Vec<&str> = slots(&res)
        .iter()
        .filter(|s| s["available"] == json!(false))
        .map(|s| s["startTime"].as_str().unwrap())
        .collect();
    assert_eq!(unavailable, vec!["16:30:00"]);
}

#[tokio::test]
async fn another_doctors_appointment_does_not_block() {
    let app = TestApp::spawn().await;
    let d1 = doctor(&app, "LIC-AV4A").await;
    let d2 = doctor(&app, "LIC-AV4B").await;
    let p = patient(&app, "av4").await;
    app.book(&p, &d2, "2026-12-01", "10:00", "12:00").await.assert(201);
    let res = availability(&app, &d1, "?startDate=2026-12-01").await;
    assert!(slots(&res).iter().all(|s| s["available"] == json!(true)), "{}", res.text);
}

#[tokio::test]
async fn a_cancelled_appointment_does_not_block_a_slot() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-AV5").await;
    let p = patient(&app, "av5").await;
    let res = app.book(&p, &d, "2026-12-01", "10:00", "10:30").await;
    res.assert(201);
    let id = s(&res.body, "appointmentId").to_owned();
    app.delete(&format!("/api/v1/appointments/{id}")).await.assert(200);
    let res = availability(&app, &d, "?startDate=2026-12-01").await;
    res.assert(200);
    assert!(slots(&res).iter().all(|s| s["available"] == json!(true)), "{}", res.text);
}

#[tokio::test]
async fn a_completed_appointment_still_blocks_a_slot() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-AV6").await;
    let p = patient(&app, "av6").await;
    let res = app.book(&p, &d, "2026-12-01", "13:00", "13:30").await;
    let id = s(&res.body, "appointmentId").to_owned();
    app.put(&format!("/api/v1/appointments/{id}"), &json!({"status": "completed"})).await.assert(200);
    let res = availability(&app, &d, "?startDate=2026-12-01").await;
    let unavailable: Vec<&str> = slots(&res)
        .iter()
        .filter(|s| s["available"] == json!(false))
        .map(|s| s["startTime"].as_str().unwrap())
        .collect();
    assert_eq!(unavailable, vec!["13:00:00"]);
}

#[tokio::test]
async fn weekend_dates_give_no_slots() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-AV7").await;
    let res = availability(&app, &d, "?startDate=2026-11-28&endDate=2026-11-29").await;
    res.assert(200);
    assert_eq!(res.body["availability"], json!([]));
    assert_eq!(res.body["startDate"], json!("2026-11-28"));
    assert_eq!(res.body["endDate"], json!("2026-11-29"));
}

#[tokio::test]
async fn a_range_over_a_weekend_lists_weekday_slots_ordered_by_date_then_time() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-AV8").await;
    let res = availability(&app, &d, "?startDate=2026-11-27&endDate=2026-11-30").await;
    res.assert(200);
    let slots = slots(&res);
    assert_eq!(slots.len(), 32, "{}", res.text);
    assert_day(&slots[..16], "2026-11-27");
    assert_day(&slots[16..], "2026-11-30");
    assert!(slots.iter().all(|s| s["available"] == json!(true)));
}

#[tokio::test]
async fn dates_default_to_today() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-AV9").await;
    let res = availability(&app, &d, "").await;
    res.assert(200);
    assert_eq!(res.body["startDate"], json!(TODAY));
    assert_eq!(res.body["endDate"], json!(TODAY));
    assert_day(slots(&res), TODAY);
}

#[tokio::test]
async fn end_date_defaults_to_start_date() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-AV10").await;
    let res = availability(&app, &d, "?startDate=2026-12-02").await;
    res.assert(200);
    assert_eq!(res.body["endDate"], json!("2026-12-02"));
    assert_day(slots(&res), "2026-12-02");
}

#[tokio::test]
async fn only_an_end_date_starts_the_range_today() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-AV11").await;
    let res = availability(&app, &d, "?endDate=2026-11-27").await;
    res.assert(200);
    assert_eq!(res.body["startDate"], json!(TODAY));
    assert_eq!(slots(&res).len(), 48, "Wed, Thu, Fri: {}", res.text);
}

#[tokio::test]
async fn slots_of_today_are_available_even_for_hours_already_past() {
    // §4.6 rule 3: available = d >= today and no overlap; the time of day is not compared with now.
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-AV12").await;
    let res = availability(&app, &d, &format!("?startDate={TODAY}")).await;
    res.assert(200);
    let slots = slots(&res);
    assert_day(slots, TODAY);
    assert_eq!(slots[0]["startTime"], json!("09:00:00"));
    assert!(slots.iter().all(|s| s["available"] == json!(true)), "{}", res.text);
}

#[tokio::test]
async fn slots_of_past_days_are_listed_but_unavailable() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-AV13").await;
    let res = availability(&app, &d, "?startDate=2026-11-23&endDate=2026-11-25").await; // Mon..Wed
    res.assert(200);
    let slots = slots(&res);
    assert_eq!(slots.len(), 48, "{}", res.text);
    assert_day(&slots[..16], "2026-11-23");
    assert_day(&slots[16..32], "2026-11-24");
    assert_day(&slots[32..], TODAY);
    assert!(slots[..32].iter().all(|s| s["available"] == json!(false)), "{}", res.text);
    assert!(slots[32..].iter().all(|s| s["available"] == json!(true)), "{}", res.text);
}

#[tokio::test]
async fn a_range_of_thirty_one_days_is_accepted() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-AV14").await;
    let res = availability(&app, &d, "?startDate=2026-12-01&endDate=2026-12-31").await;
    res.assert(200);
    // December 2026: 23 weekdays (Dec 1 is a Tuesday)
    assert_eq!(slots(&res).len(), 23 * 16);
}

#[tokio::test]
async fn a_range_of_thirty_two_days_is_rejected() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-AV15").await;
    let res = availability(&app, &d, "?startDate=2026-12-01&endDate=2027-01-01").await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert!(res.details().iter().any(|x| x.starts_with("endDate: ")), "{}", res.text);
}

#[tokio::test]
async fn an_end_date_before_the_start_date_is_rejected() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-AV16").await;
    let res = availability(&app, &d, "?startDate=2026-12-02&endDate=2026-12-01").await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert!(res.details().iter().any(|x| x.starts_with("endDate: ")), "{}", res.text);
}

#[tokio::test]
async fn a_malformed_start_date_is_rejected() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-AV17").await;
    let res = availability(&app, &d, "?startDate=2026-12-1").await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert!(res.details().iter().any(|x| x.starts_with("startDate: ")), "{}", res.text);
}

#[tokio::test]
async fn an_unknown_doctor_is_not_found() {
    let app = TestApp::spawn().await;
    availability(&app, "DOC-01M88ZSCERV37E3S3E28JT97KB", "").await.assert_error(404, "DOCTOR_NOT_FOUND");
}

#[tokio::test]
async fn query_validation_comes_before_the_doctor_lookup() {
    let app = TestApp::spawn().await;
    availability(&app, "DOC-01M88ZSCERV37E3S3E28JT97KB", "?startDate=tomorrow")
        .await
        .assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn a_doctor_who_is_not_active_has_no_slots() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-AV18").await;
    for status in ["on-leave", "inactive"] {
        app.put(&format!("/api/v1/doctors/{d}"), &json!({"status": status})).await.assert(200);
        let res = availability(&app, &d, "?startDate=2026-12-01&endDate=2026-12-04").await;
        res.assert(200);
        assert_eq!(res.body["availability"], json!([]), "{status}");
        assert_eq!(res.body["doctorId"], json!(d));
    }
}

#[tokio::test]
async fn a_repeated_query_parameter_is_rejected() {
    let app = TestApp::spawn().await;
    let d = doctor(&app, "LIC-AV19").await;
    availability(&app, &d, "?startDate=2026-12-01&startDate=2026-12-02").await.assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn the_schedule_settings_shape_the_slots() {
    let app = TestApp::spawn_with(|c| {
        c.work_days = "Sat,Sun".into();
        c.work_start = "08:00".into();
        c.work_end = "12:00".into();
        c.slot_minutes = 60;
    })
    .await;
    let d = doctor(&app, "LIC-AV20").await;
    let res = availability(&app, &d, "?startDate=2026-11-27&endDate=2026-11-30").await;
    res.assert(200);
    let starts: Vec<(String, String)> = slots(&res)
        .iter()
        .map(|s| (s["date"].as_str().unwrap().to_owned(), s["startTime"].as_str().unwrap().to_owned()))
        .collect();
    let mut expected = Vec::new();
    for date in ["2026-11-28", "2026-11-29"] {
        for h in 8..12 {
            expected.push((date.to_owned(), format!("{h:02}:00:00")));
        }
    }
    assert_eq!(starts, expected);
}

#[tokio::test]
async fn a_slot_that_does_not_fit_before_the_end_of_day_is_not_produced() {
    let app = TestApp::spawn_with(|c| c.slot_minutes = 45).await;
    let d = doctor(&app, "LIC-AV21").await;
    let res = availability(&app, &d, "?startDate=2026-12-01").await;
    res.assert(200);
    let slots = slots(&res);
    // 09:00 + 10 x 45 min = 16:30; the next would end at 17:15
    assert_eq!(slots.len(), 10, "{}", res.text);
    assert_eq!(slots[9]["startTime"], json!("15:45:00"));
    assert_eq!(slots[9]["endTime"], json!("16:30:00"));
}
