//! Billing (API.md §2.7, §3.1 #10, §3.6, §4.4, §4.7, §7.3): invoices, exact money, the payment state machine.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::helpers::{Res, TestApp, s};
use crate::medical_records::enc;

const INVOICES: &str = "/api/v1/billing/invoices";

async fn patient(app: &TestApp, tag: &str) -> String {
    s(&app.create_patient(&format!("{tag}.inv@example.org")).await, "patientId").to_owned()
}

/// The §7.3 body for a patient.
fn example_body(p: &str) -> Value {
    json!({"patientId": p, "invoiceDate": "2026-11-25", "dueDate": "2026-12-25",
           "items": [{"description": "Cardiology consultation", "quantity": 1, "unitPrice": 150.00},
                     {"description": "ECG", "quantity": 2, "unitPrice": 100, "amount": 999}]})
}

fn one_item(p: &str, item: Value) -> Value {
    json!({"patientId": p, "invoiceDate": "2026-11-25", "dueDate": "2026-12-25", "items": [item]})
}

/// Creates the §7.3 invoice (total 378.00) and returns its ID.
async fn example_invoice(app: &TestApp, p: &str) -> String {
    let res = app.post(INVOICES, &example_body(p)).await;
    res.assert(201);
    s(&res.body, "invoiceId").to_owned()
}

/// An invoice of 378.00 whose dueDate is already past.
async fn past_due_invoice(app: &TestApp, p: &str) -> String {
    let mut body = example_body(p);
    body["invoiceDate"] = json!("2026-10-01");
    body["dueDate"] = json!("2026-11-01");
    let res = app.post(INVOICES, &body).await;
    res.assert(201);
    s(&res.body, "invoiceId").to_owned()
}

fn inv(id: &str) -> String {
    format!("{INVOICES}/{id}")
}

async fn pay(app: &TestApp, id: &str, body: Value) -> Res {
    app.put(&format!("{INVOICES}/{id}/payment"), &body).await
}

/// The response text without whitespace, to check money literals like `"total":378.00`.
fn compact(res: &Res) -> String {
    res.text.chars().filter(|c| !c.is_whitespace()).collect()
}

#[track_caller]
fn assert_text_has(res: &Res, needle: &str) {
    assert!(compact(res).contains(needle), "response text lacks {needle}: {}", res.text);
}

#[track_caller]
fn assert_has_detail(res: &Res, prefix: &str) {
    assert!(res.details().iter().any(|d| d.starts_with(prefix)), "no detail starting with {prefix:?}: {}", res.text);
}

// ---- create ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn creating_the_worked_example_gives_exact_two_decimal_money() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "example").await;
    let res = app.post(INVOICES, &example_body(&p)).await;
    res.assert(201);
    let b = &res.body;
    let id = s(b, "invoiceId");
    assert!(id.starts_with("INV-") && id.len() == 30, "bad id {id}");
    assert_eq!(res.header("location"), Some(format!("/api/v1/billing/invoices/{id}").as_str()));
    assert_eq!(b["patientId"], json!(p));
    assert_eq!(b["patientName"], json!("Amara Okafor"));
    assert_eq!(b["invoiceDate"], json!("2026-11-25"));
    assert_eq!(b["dueDate"], json!("2026-12-25"));
    assert_eq!(b["paymentStatus"], json!("pending"));
    assert_eq!(b["version"], json!(1));
    assert_eq!(res.header("etag"), Some("\"1\""));
    for absent in ["paymentMethod", "paymentDate", "notes", "appointmentId"] {
        assert!(b.get(absent).is_none(), "{absent} must be omitted: {}", res.text);
    }
    for needle in [
        r#""subtotal":350.00"#,
        r#""taxRate":0.08"#,
        r#""tax":28.00"#,
        r#""total":378.00"#,
        r#""amountPaid":0.00"#,
        r#""amountDue":378.00"#,
        r#""unitPrice":150.00"#,
        r#""amount":150.00"#,
        r#""unitPrice":100.00"#,
        r#""amount":200.00"#,
    ] {
        assert_text_has(&res, needle);
    }
    assert!(!compact(&res).contains("999"), "client amount must be ignored: {}", res.text);
    assert_eq!(b["items"][1]["description"], json!("ECG"));
    assert_eq!(b["items"][1]["quantity"], json!(2));
}

#[tokio::test]
async fn reading_an_invoice_returns_the_same_money_text() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "read").await;
    let id = example_invoice(&app, &p).await;
    let res = app.get(&inv(&id)).await;
    res.assert(200);
    assert_eq!(res.body["invoiceId"], json!(id));
    assert_text_has(&res, r#""total":378.00"#);
    assert_text_has(&res, r#""amountDue":378.00"#);
    assert_text_has(&res, r#""amountPaid":0.00"#);
}

#[tokio::test]
async fn tax_is_rounded_half_up_to_cents() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "tax").await;
    let res = app.raw(
        axum::http::Method::POST,
        INVOICES,
        Some("application/json"),
        format!(r#"{{"patientId":"{p}","invoiceDate":"2026-11-25","dueDate":"2026-11-25","items":[{{"description":"Aspirin","quantity":1,"unitPrice":19.99}}]}}"#),
    )
    .await;
    res.assert(201);
    assert_text_has(&res, r#""subtotal":19.99"#);
    assert_text_has(&res, r#""tax":1.60"#);
    assert_text_has(&res, r#""total":21.59"#);
    assert_text_has(&res, r#""amountDue":21.59"#);
}

#[tokio::test]
async fn money_is_exact_decimal_not_floating_point() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "exact").await;
    // 3 x 0.10 + 0.20 = 0.50 exactly; tax 0.04; total 0.54
    let res = app
        .raw(
            axum::http::Method::POST,
            INVOICES,
            Some("application/json"),
            format!(r#"{{"patientId":"{p}","invoiceDate":"2026-11-25","dueDate":"2026-11-30","items":[{{"description":"Swab","quantity":3,"unitPrice":0.1}},{{"description":"Tape","quantity":1,"unitPrice":0.2}}]}}"#),
        )
        .await;
    res.assert(201);
    assert_text_has(&res, r#""amount":0.30"#);
    assert_text_has(&res, r#""subtotal":0.50"#);
    assert_text_has(&res, r#""tax":0.04"#);
    assert_text_has(&res, r#""total":0.54"#);
}

#[tokio::test]
async fn a_unit_price_with_three_decimals_is_rejected() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "threedp").await;
    let res = app
        .raw(
            axum::http::Method::POST,
            INVOICES,
            Some("application/json"),
            format!(r#"{{"patientId":"{p}","invoiceDate":"2026-11-25","dueDate":"2026-12-25","items":[{{"description":"X","quantity":1,"unitPrice":150.505}}]}}"#),
        )
        .await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "items[0].unitPrice: ");
}

#[tokio::test]
async fn a_unit_price_sent_as_a_string_is_rejected() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "strprice").await;
    let res = app.post(INVOICES, &one_item(&p, json!({"description": "X", "quantity": 1, "unitPrice": "150"}))).await;
    res.assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn a_negative_unit_price_is_rejected() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "negprice").await;
    let res = app.post(INVOICES, &one_item(&p, json!({"description": "X", "quantity": 1, "unitPrice": -5}))).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "items[0].unitPrice: ");
}

#[tokio::test]
async fn a_zero_unit_price_is_accepted() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "zeroprice").await;
    let res =
        app.post(INVOICES, &one_item(&p, json!({"description": "Free check", "quantity": 1, "unitPrice": 0}))).await;
    res.assert(201);
    assert_text_has(&res, r#""total":0.00"#);
    assert_text_has(&res, r#""tax":0.00"#);
}

#[tokio::test]
async fn quantities_outside_one_to_ten_thousand_are_rejected() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "qty").await;
    for q in [0, 10001] {
        let res = app.post(INVOICES, &one_item(&p, json!({"description": "X", "quantity": q, "unitPrice": 1}))).await;
        res.assert_error(400, "VALIDATION_ERROR");
        assert_has_detail(&res, "items[0].quantity: ");
    }
    app.post(INVOICES, &one_item(&p, json!({"description": "X", "quantity": 10000, "unitPrice": 1}))).await.assert(201);
}

#[tokio::test]
async fn the_second_items_error_carries_its_index() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "idx").await;
    let mut body = example_body(&p);
    body["items"][1]["quantity"] = json!(0);
    let res = app.post(INVOICES, &body).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "items[1].quantity: ");
}

#[tokio::test]
async fn an_empty_item_list_is_rejected() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "noitems").await;
    let mut body = example_body(&p);
    body["items"] = json!([]);
    let res = app.post(INVOICES, &body).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "items: ");
}

#[tokio::test]
async fn one_hundred_items_are_accepted_and_one_hundred_and_one_rejected() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "manyitems").await;
    let item = json!({"description": "Line", "quantity": 1, "unitPrice": 1});
    let mut body = example_body(&p);
    body["items"] = Value::Array(vec![item.clone(); 100]);
    let res = app.post(INVOICES, &body).await;
    res.assert(201);
    assert_text_has(&res, r#""subtotal":100.00"#);
    body["items"] = Value::Array(vec![item; 101]);
    let res = app.post(INVOICES, &body).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "items: ");
}

#[tokio::test]
async fn a_due_date_before_the_invoice_date_is_rejected() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "due").await;
    let mut body = example_body(&p);
    body["dueDate"] = json!("2026-11-24");
    let res = app.post(INVOICES, &body).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "dueDate: ");
}

#[tokio::test]
async fn past_invoice_and_due_dates_are_allowed() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "pastdates").await;
    let id = past_due_invoice(&app, &p).await;
    let res = app.get(&inv(&id)).await;
    assert_eq!(res.body["dueDate"], json!("2026-11-01"));
    assert_eq!(res.body["paymentStatus"], json!("pending"), "overdue is never derived by the server");
}

#[tokio::test]
async fn an_unknown_patient_is_not_found() {
    let app = TestApp::spawn().await;
    let res = app.post(INVOICES, &example_body("PAT-01M88ZQHVRM9S346Q3D25VT4F5")).await;
    res.assert_error(404, "PATIENT_NOT_FOUND");
}

#[tokio::test]
async fn an_inactive_patient_can_be_billed() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "inactive").await;
    app.delete(&format!("/api/v1/patients/{p}")).await.assert(200);
    app.post(INVOICES, &example_body(&p)).await.assert(201);
}

#[tokio::test]
async fn an_appointment_of_another_patient_is_a_validation_error() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "aptmine").await;
    let other = patient(&app, "aptother").await;
    let d = s(&app.create_doctor("LIC-INV-1", "DEPT-001").await, "doctorId").to_owned();
    let res = app.book(&other, &d, "2026-12-01", "10:00", "10:30").await;
    res.assert(201);
    let apt = s(&res.body, "appointmentId").to_owned();
    let mut body = example_body(&p);
    body["appointmentId"] = json!(apt);
    let res = app.post(INVOICES, &body).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "appointmentId: ");

    body["appointmentId"] = json!("APT-01M88ZX1MRF5KZNWJ47TAN9ZT2");
    let res = app.post(INVOICES, &body).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "appointmentId: ");

    body["patientId"] = json!(other);
    body["appointmentId"] = json!(apt);
    let res = app.post(INVOICES, &body).await;
    res.assert(201);
    assert_eq!(res.body["appointmentId"], json!(apt));
}

#[tokio::test]
async fn an_unknown_invoice_is_not_found() {
    let app = TestApp::spawn().await;
    app.get(&inv("INV-01M88ZYW7R4MNPZX45HY43KWJR")).await.assert_error(404, "INVOICE_NOT_FOUND");
    app.get(&inv("INV-nope")).await.assert_error(404, "INVOICE_NOT_FOUND");
}

// ---- payment -------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_payment_without_payment_status_is_a_validation_error() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "nostatus").await;
    let id = example_invoice(&app, &p).await;
    let res = pay(&app, &id, json!({"paymentMethod": "cash"})).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "paymentStatus: ");
    let res = pay(&app, &id, json!({})).await;
    res.assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn an_unknown_payment_status_is_invalid_payment_data() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "refunded").await;
    let id = example_invoice(&app, &p).await;
    let res = pay(&app, &id, json!({"paymentStatus": "refunded"})).await;
    res.assert_error(400, "INVALID_PAYMENT_DATA");
    assert_eq!(res.body["error"]["message"], json!("Invalid payment data"));
}

#[tokio::test]
async fn an_unknown_invoice_with_an_unknown_status_is_not_found_first() {
    let app = TestApp::spawn().await;
    let res = pay(&app, "INV-01M88ZYW7R4MNPZX45HY43KWJR", json!({"paymentStatus": "refunded"})).await;
    res.assert_error(404, "INVOICE_NOT_FOUND");
    let res = pay(&app, "INV-01M88ZYW7R4MNPZX45HY43KWJR", json!({"paymentStatus": "paid"})).await;
    res.assert_error(404, "INVOICE_NOT_FOUND");
}

#[tokio::test]
async fn an_unknown_payment_method_is_rejected() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "bitcoin").await;
    let id = example_invoice(&app, &p).await;
    let res = pay(&app, &id, json!({"paymentStatus": "paid", "paymentMethod": "bitcoin"})).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "paymentMethod: ");
    assert_eq!(app.get(&inv(&id)).await.body["paymentStatus"], json!("pending"));
}

#[tokio::test]
async fn paying_in_full_fills_amount_paid_and_payment_date() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "paid").await;
    let id = example_invoice(&app, &p).await;
    let res = pay(&app, &id, json!({"paymentStatus": "paid", "paymentMethod": "credit_card"})).await;
    res.assert(200);
    assert_eq!(res.body["paymentStatus"], json!("paid"));
    assert_eq!(res.body["paymentMethod"], json!("credit_card"));
    assert_text_has(&res, r#""amountPaid":378.00"#);
    assert_text_has(&res, r#""amountDue":0.00"#);
    assert_text_has(&res, r#""total":378.00"#);
    let date = s(&res.body, "paymentDate");
    assert!(date.starts_with("2026-11-25T") && date.ends_with('Z') && date.len() == 24, "paymentDate {date}");
    let got = app.get(&inv(&id)).await;
    assert_eq!(got.body, res.body, "GET reflects the write");
}

#[tokio::test]
async fn repeating_a_full_payment_is_a_no_op() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "repeat").await;
    let id = example_invoice(&app, &p).await;
    let first = pay(&app, &id, json!({"paymentStatus": "paid", "paymentMethod": "credit_card"})).await;
    first.assert(200);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let again = pay(&app, &id, json!({"paymentStatus": "paid", "paymentMethod": "credit_card"})).await;
    again.assert(200);
    assert_eq!(again.body, first.body);
    let again = pay(&app, &id, json!({"paymentStatus": "paid"})).await;
    again.assert(200);
    assert_eq!(again.body["updatedAt"], first.body["updatedAt"]);
}

#[tokio::test]
async fn a_paid_invoice_cannot_go_back_to_pending() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "paidpending").await;
    let id = example_invoice(&app, &p).await;
    pay(&app, &id, json!({"paymentStatus": "paid"})).await.assert(200);
    for to in ["pending", "overdue", "cancelled"] {
        let res = pay(&app, &id, json!({"paymentStatus": to})).await;
        assert_eq!(res.status.as_u16(), 409, "paid -> {to}: {}", res.text);
        assert_eq!(res.code(), "INVALID_PAYMENT_TRANSITION", "paid -> {to}");
    }
    assert_eq!(app.get(&inv(&id)).await.body["paymentStatus"], json!("paid"));
}

#[tokio::test]
async fn a_paid_invoice_cannot_change_its_payment_method() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "paidmethod").await;
    let id = example_invoice(&app, &p).await;
    pay(&app, &id, json!({"paymentStatus": "paid", "paymentMethod": "credit_card"})).await.assert(200);
    pay(&app, &id, json!({"paymentStatus": "paid", "paymentMethod": "cash"}))
        .await
        .assert_error(409, "INVALID_PAYMENT_TRANSITION");
}

#[tokio::test]
async fn overdue_requires_a_due_date_before_today() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "overduefuture").await;
    let id = example_invoice(&app, &p).await; // due 2026-12-25
    pay(&app, &id, json!({"paymentStatus": "overdue"})).await.assert_error(400, "INVALID_PAYMENT_DATA");
    // due today is not before today either
    let mut body = example_body(&p);
    body["invoiceDate"] = json!("2026-11-01");
    body["dueDate"] = json!("2026-11-25");
    let res = app.post(INVOICES, &body).await;
    res.assert(201);
    let today_due = s(&res.body, "invoiceId").to_owned();
    pay(&app, &today_due, json!({"paymentStatus": "overdue"})).await.assert_error(400, "INVALID_PAYMENT_DATA");
}

#[tokio::test]
async fn a_past_due_invoice_can_become_overdue_but_not_pending_again() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "overdue").await;
    let id = past_due_invoice(&app, &p).await;
    let res = pay(&app, &id, json!({"paymentStatus": "overdue"})).await;
    res.assert(200);
    assert_eq!(res.body["paymentStatus"], json!("overdue"));
    pay(&app, &id, json!({"paymentStatus": "pending"})).await.assert_error(409, "INVALID_PAYMENT_TRANSITION");
    // overdue -> overdue with an update is allowed
    let res = pay(&app, &id, json!({"paymentStatus": "overdue", "amountPaid": 100, "notes": "Reminder sent"})).await;
    res.assert(200);
    assert_text_has(&res, r#""amountDue":278.00"#);
    assert_eq!(res.body["notes"], json!("Reminder sent"));
    // overdue -> paid is allowed and completes the amount
    let res = pay(&app, &id, json!({"paymentStatus": "paid", "paymentMethod": "bank_transfer"})).await;
    res.assert(200);
    assert_text_has(&res, r#""amountPaid":378.00"#);
    assert_text_has(&res, r#""amountDue":0.00"#);
}

#[tokio::test]
async fn paid_with_less_than_the_total_is_invalid_payment_data() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "underpaid").await;
    let id = example_invoice(&app, &p).await;
    pay(&app, &id, json!({"paymentStatus": "paid", "amountPaid": 377.99}))
        .await
        .assert_error(400, "INVALID_PAYMENT_DATA");
    let res = pay(&app, &id, json!({"paymentStatus": "paid", "amountPaid": 378})).await;
    res.assert(200);
    assert_text_has(&res, r#""amountPaid":378.00"#);
}

#[tokio::test]
async fn an_amount_paid_above_the_total_is_invalid_payment_data() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "overpaid").await;
    let id = example_invoice(&app, &p).await;
    pay(&app, &id, json!({"paymentStatus": "paid", "amountPaid": 378.01}))
        .await
        .assert_error(400, "INVALID_PAYMENT_DATA");
    pay(&app, &id, json!({"paymentStatus": "pending", "amountPaid": 500}))
        .await
        .assert_error(400, "INVALID_PAYMENT_DATA");
}

#[tokio::test]
async fn pending_with_the_full_amount_is_invalid_payment_data() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "pendingfull").await;
    let id = example_invoice(&app, &p).await;
    pay(&app, &id, json!({"paymentStatus": "pending", "amountPaid": 378}))
        .await
        .assert_error(400, "INVALID_PAYMENT_DATA");
}

#[tokio::test]
async fn an_amount_paid_with_three_decimals_is_a_validation_error() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "paid3dp").await;
    let id = example_invoice(&app, &p).await;
    let res = app
        .raw(
            axum::http::Method::PUT,
            &format!("{INVOICES}/{id}/payment"),
            Some("application/json"),
            r#"{"paymentStatus":"pending","amountPaid":10.005}"#,
        )
        .await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "amountPaid: ");
}

#[tokio::test]
async fn a_partial_payment_stays_pending_with_the_remainder_due() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "partial").await;
    let id = example_invoice(&app, &p).await;
    let res = pay(&app, &id, json!({"paymentStatus": "pending", "amountPaid": 100.5, "paymentMethod": "cash"})).await;
    res.assert(200);
    assert_eq!(res.body["paymentStatus"], json!("pending"));
    assert_text_has(&res, r#""amountPaid":100.50"#);
    assert_text_has(&res, r#""amountDue":277.50"#);
    assert_eq!(res.body["paymentMethod"], json!("cash"));
    // amountPaid replaces, it does not add
    let res = pay(&app, &id, json!({"paymentStatus": "pending", "amountPaid": 200})).await;
    res.assert(200);
    assert_text_has(&res, r#""amountPaid":200.00"#);
    assert_text_has(&res, r#""amountDue":178.00"#);
    assert_eq!(res.body["paymentMethod"], json!("cash"), "an absent method stays");
    // null clears the method
    let res = pay(&app, &id, json!({"paymentStatus": "pending", "paymentMethod": null})).await;
    res.assert(200);
    assert!(res.body.get("paymentMethod").is_none(), "{}", res.text);
    // paying the rest with a stored partial amount: amountPaid absent means the total
    let res = pay(&app, &id, json!({"paymentStatus": "paid"})).await;
    res.assert(200);
    assert_text_has(&res, r#""amountPaid":378.00"#);
    assert_text_has(&res, r#""amountDue":0.00"#);
}

#[tokio::test]
async fn a_sent_payment_date_is_kept_in_utc_milliseconds() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "paydate").await;
    let id = example_invoice(&app, &p).await;
    let res = pay(&app, &id, json!({"paymentStatus": "paid", "paymentDate": "2026-11-24T18:30:00.5+01:00"})).await;
    res.assert(200);
    assert_eq!(res.body["paymentDate"], json!("2026-11-24T17:30:00.500Z"));
}

#[tokio::test]
async fn a_payment_date_in_the_future_is_rejected() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "paydatefuture").await;
    let id = example_invoice(&app, &p).await;
    let res = pay(&app, &id, json!({"paymentStatus": "paid", "paymentDate": "2026-11-26T10:00:00Z"})).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "paymentDate: ");
}

#[tokio::test]
async fn a_cancelled_invoice_accepts_nothing_but_a_no_op() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "cancelled").await;
    let id = example_invoice(&app, &p).await;
    let cancelled = pay(&app, &id, json!({"paymentStatus": "cancelled"})).await;
    cancelled.assert(200);
    assert_eq!(cancelled.body["paymentStatus"], json!("cancelled"));
    for to in ["pending", "paid", "overdue"] {
        let res = pay(&app, &id, json!({"paymentStatus": to})).await;
        assert_eq!(res.status.as_u16(), 409, "cancelled -> {to}: {}", res.text);
        assert_eq!(res.code(), "INVALID_PAYMENT_TRANSITION", "cancelled -> {to}");
    }
    let res = pay(&app, &id, json!({"paymentStatus": "cancelled"})).await;
    res.assert(200);
    assert_eq!(res.body["updatedAt"], cancelled.body["updatedAt"]);
    pay(&app, &id, json!({"paymentStatus": "cancelled", "notes": "changed"}))
        .await
        .assert_error(409, "INVALID_PAYMENT_TRANSITION");
}

#[tokio::test]
async fn an_overdue_invoice_can_be_cancelled() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "overduecancel").await;
    let id = past_due_invoice(&app, &p).await;
    pay(&app, &id, json!({"paymentStatus": "overdue"})).await.assert(200);
    let res = pay(&app, &id, json!({"paymentStatus": "cancelled"})).await;
    res.assert(200);
    assert_eq!(res.body["paymentStatus"], json!("cancelled"));
}

#[tokio::test]
async fn an_inactive_patients_invoice_can_be_paid() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "inactivepay").await;
    let id = example_invoice(&app, &p).await;
    app.delete(&format!("/api/v1/patients/{p}")).await.assert(200);
    pay(&app, &id, json!({"paymentStatus": "paid"})).await.assert(200);
}

// ---- a patient's invoices ------------------------------------------------------------------------------------

fn list_path(p: &str, query: &str) -> String {
    format!("/api/v1/patients/{p}/invoices{query}")
}

fn invoice_ids(res: &Res) -> Vec<String> {
    res.body["invoices"]
        .as_array()
        .unwrap_or_else(|| panic!("no invoices array: {}", res.text))
        .iter()
        .map(|i| s(i, "invoiceId").to_owned())
        .collect()
}

async fn invoice_on(app: &TestApp, p: &str, date: &str) -> String {
    let mut body = example_body(p);
    body["invoiceDate"] = json!(date);
    body["dueDate"] = json!("2026-12-31");
    let res = app.post(INVOICES, &body).await;
    res.assert(201);
    s(&res.body, "invoiceId").to_owned()
}

#[tokio::test]
async fn a_patients_invoices_are_listed_newest_invoice_date_first() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "list").await;
    let other = patient(&app, "listother").await;
    let a = invoice_on(&app, &p, "2026-11-10").await;
    let b = invoice_on(&app, &p, "2026-11-20").await;
    let c = invoice_on(&app, &p, "2026-11-15").await;
    invoice_on(&app, &other, "2026-11-21").await;
    let res = app.get(&list_path(&p, "")).await;
    res.assert(200);
    assert_eq!(res.body["patientId"], json!(p));
    assert_eq!(res.body["nextCursor"], Value::Null);
    assert_eq!(invoice_ids(&res), vec![b, c, a]);
    assert_text_has(&res, r#""total":378.00"#);
}

#[tokio::test]
async fn a_patients_invoices_filter_by_status() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "liststatus").await;
    let a = invoice_on(&app, &p, "2026-11-10").await;
    let b = invoice_on(&app, &p, "2026-11-11").await;
    let c = invoice_on(&app, &p, "2026-11-12").await;
    pay(&app, &b, json!({"paymentStatus": "paid"})).await.assert(200);
    pay(&app, &c, json!({"paymentStatus": "cancelled"})).await.assert(200);
    assert_eq!(invoice_ids(&app.get(&list_path(&p, "?status=pending")).await), vec![a]);
    assert_eq!(invoice_ids(&app.get(&list_path(&p, "?status=paid")).await), vec![b]);
    assert_eq!(invoice_ids(&app.get(&list_path(&p, "?status=cancelled")).await), vec![c]);
    assert!(invoice_ids(&app.get(&list_path(&p, "?status=overdue")).await).is_empty());
    let res = app.get(&list_path(&p, "?status=refunded")).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "status: ");
}

#[tokio::test]
async fn a_patients_invoices_page_with_cursors() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "listpage").await;
    let mut ids = Vec::new();
    for day in ["2026-11-05", "2026-11-01", "2026-11-04", "2026-11-02", "2026-11-03"] {
        ids.push(invoice_on(&app, &p, day).await);
    }
    let expected = vec![ids[0].clone(), ids[2].clone(), ids[4].clone(), ids[3].clone(), ids[1].clone()];
    let mut all = Vec::new();
    let mut query = "?limit=2".to_owned();
    let mut sizes = Vec::new();
    for _ in 0..10 {
        let res = app.get(&list_path(&p, &query)).await;
        res.assert(200);
        let page = invoice_ids(&res);
        sizes.push(page.len());
        all.extend(page);
        match &res.body["nextCursor"] {
            Value::Null => break,
            Value::String(c) => query = format!("?limit=2&cursor={}", enc(c)),
            other => panic!("bad nextCursor {other}"),
        }
    }
    assert!(sizes.iter().all(|n| *n <= 2), "page sizes {sizes:?}");
    assert_eq!(&sizes[..2], &[2, 2]);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), all.len(), "duplicates {all:?}");
    assert_eq!(all, expected);
}

#[tokio::test]
async fn an_invoice_cursor_does_not_work_with_another_status_filter() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "listcursor").await;
    for day in ["2026-11-05", "2026-11-01", "2026-11-04"] {
        invoice_on(&app, &p, day).await;
    }
    let res = app.get(&list_path(&p, "?limit=1")).await;
    let cursor = res.body["nextCursor"].as_str().unwrap_or_else(|| panic!("cursor expected: {}", res.text)).to_owned();
    let res = app.get(&list_path(&p, &format!("?limit=1&status=paid&cursor={}", enc(&cursor)))).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "cursor: ");
    let res = app.get(&list_path(&p, "?cursor=garbage")).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "cursor: ");
}

#[tokio::test]
async fn listing_invoices_of_an_unknown_patient_is_not_found() {
    let app = TestApp::spawn().await;
    app.get(&list_path("PAT-01M88ZQHVRM9S346Q3D25VT4F5", "")).await.assert_error(404, "PATIENT_NOT_FOUND");
}

// ---- further edges ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_configured_tax_rate_is_stored_and_rounded_half_up() {
    let app = TestApp::spawn_with(|c| c.tax_rate = "0.05".into()).await;
    let p = patient(&app, "rate").await;
    let res = app
        .raw(
            axum::http::Method::POST,
            INVOICES,
            Some("application/json"),
            format!(r#"{{"patientId":"{p}","invoiceDate":"2026-11-25","dueDate":"2026-11-25","items":[{{"description":"Swab","quantity":3,"unitPrice":0.10}}]}}"#),
        )
        .await;
    res.assert(201);
    assert_text_has(&res, r#""subtotal":0.30"#);
    assert_text_has(&res, r#""taxRate":0.05"#);
    assert_text_has(&res, r#""tax":0.02"#);
    assert_text_has(&res, r#""total":0.32"#);
}

#[tokio::test]
async fn unit_prices_up_to_one_million_are_accepted() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "million").await;
    let res =
        app.post(INVOICES, &one_item(&p, json!({"description": "Surgery", "quantity": 2, "unitPrice": 1000000}))).await;
    res.assert(201);
    assert_text_has(&res, r#""subtotal":2000000.00"#);
    assert_text_has(&res, r#""tax":160000.00"#);
    assert_text_has(&res, r#""total":2160000.00"#);
    let res = app
        .post(INVOICES, &one_item(&p, json!({"description": "Surgery", "quantity": 1, "unitPrice": 1000000.01})))
        .await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "items[0].unitPrice: ");
}

#[tokio::test]
async fn a_fractional_quantity_is_rejected() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "fracqty").await;
    let res = app.post(INVOICES, &one_item(&p, json!({"description": "X", "quantity": 1.5, "unitPrice": 1}))).await;
    res.assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn a_missing_item_description_is_reported_with_its_index() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "nodesc").await;
    let res = app.post(INVOICES, &one_item(&p, json!({"quantity": 1, "unitPrice": 1}))).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "items[0].description: ");
}

#[tokio::test]
async fn a_due_date_equal_to_the_invoice_date_is_accepted_and_notes_are_kept() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "samedue").await;
    let mut body = example_body(&p);
    body["dueDate"] = json!("2026-11-25");
    body["notes"] = json!("  Net 0  ");
    let res = app.post(INVOICES, &body).await;
    res.assert(201);
    assert_eq!(res.body["notes"], json!("Net 0"));
}

#[tokio::test]
async fn a_malformed_invoice_date_is_rejected() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "baddate").await;
    let mut body = example_body(&p);
    body["invoiceDate"] = json!("25/11/2026");
    let res = app.post(INVOICES, &body).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "invoiceDate: ");
}

#[tokio::test]
async fn a_zero_total_invoice_can_stay_pending_and_be_paid() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "zerototal").await;
    let res = app.post(INVOICES, &one_item(&p, json!({"description": "Free", "quantity": 1, "unitPrice": 0}))).await;
    res.assert(201);
    let id = s(&res.body, "invoiceId").to_owned();
    let res = pay(&app, &id, json!({"paymentStatus": "pending", "amountPaid": 0, "notes": "waived"})).await;
    res.assert(200);
    let res = pay(&app, &id, json!({"paymentStatus": "paid"})).await;
    res.assert(200);
    assert_text_has(&res, r#""amountPaid":0.00"#);
    assert_text_has(&res, r#""amountDue":0.00"#);
}

#[tokio::test]
async fn a_negative_amount_paid_is_a_validation_error() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "negpaid").await;
    let id = example_invoice(&app, &p).await;
    let res = pay(&app, &id, json!({"paymentStatus": "pending", "amountPaid": -1})).await;
    res.assert_error(400, "VALIDATION_ERROR");
    assert_has_detail(&res, "amountPaid: ");
}

#[tokio::test]
async fn a_payment_status_that_is_not_a_string_is_a_validation_error() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "numstatus").await;
    let id = example_invoice(&app, &p).await;
    pay(&app, &id, json!({"paymentStatus": 1})).await.assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn the_patient_name_on_an_invoice_is_a_snapshot() {
    let app = TestApp::spawn().await;
    let p = patient(&app, "snapshot").await;
    let id = example_invoice(&app, &p).await;
    app.put(&format!("/api/v1/patients/{p}"), &json!({"firstName": "Ada"})).await.assert(200);
    assert_eq!(app.get(&inv(&id)).await.body["patientName"], json!("Amara Okafor"));
}
