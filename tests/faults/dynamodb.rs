//! The DynamoDB emulator cut and reset behind the fault proxy, with R on MariaDB (production's pairing).

use std::time::Duration;

use gospital::store::circuit_breaker::BreakerState;
use serde_json::json;

use crate::harness::*;
use crate::helpers::{assert_every_transition_counted, assert_unavailable, transitions};
use crate::proxy::Mode;

async fn cut_and_recover(mode: Mode) {
    let _metrics = BREAKER_METRICS.lock().await;
    let mysql = ProxiedMySql::open("dynamodb cut").await;
    let dynamo = ProxiedDynamo::open().await;
    let app = app(&config(|c| c.breaker_open_ms = 1000), mysql.clinic(), dynamo.records());
    let seed = seed(&app, &format!("dcut-{mode:?}")).await;
    let record_path = format!("/api/v1/medical-records/{}", seed.record);
    let before = transitions(&app, "records").await;

    dynamo.proxy.set(mode).await;
    let records = app.state.resilience.records.clone();
    fail_until_open(&app, &record_path, || records.state() == BreakerState::Open).await;

    for path in [record_path.clone(), format!("/api/v1/billing/invoices/{}", seed.invoice)] {
        let (res, took) = timed_get(&app, &path).await;
        assert_eq!(assert_unavailable(&res), 1, "seconds until half-open (1 s open interval)");
        assert!(took < Duration::from_millis(50), "{path}: refused at once, took {took:?}");
    }

    // R is untouched: reads, writes and bookings go on.
    app.get(&format!("/api/v1/patients/{}", seed.patient)).await.assert(200);
    app.create_patient(&format!("dcut-new-{mode:?}@example.org")).await;
    app.book(&seed.patient, &seed.doctor, "2026-11-26", "11:00", "11:30").await.assert(201);
    assert_eq!(app.state.resilience.clinic.state(), BreakerState::Closed);

    let health = app.get("/health").await;
    health.assert(503);
    assert_eq!(check(&health, "records")["status"], json!("down"));
    assert_eq!(check(&health, "records")["backend"], json!("dynamodb"));
    assert_eq!(check(&health, "records")["circuit"], json!("open"));
    assert_eq!(check(&health, "database")["status"], json!("up"));

    dynamo.proxy.set(Mode::Pass).await;
    let recovered = until_ok(&app, &record_path, Duration::from_secs(10)).await;
    eprintln!("DynamoDB {mode:?}: first 200 {} ms after the proxy passed again", recovered.as_millis());
    assert!(recovered < Duration::from_secs(3), "recovered within the open interval plus slack: {recovered:?}");
    for _ in 0..3 {
        app.get(&record_path).await.assert(200);
    }
    assert_eq!(records.state(), BreakerState::Closed);
    app.get("/health").await.assert(200);

    assert_every_transition_counted(&app, "records", before).await;
}

async fn noticed_fast(mode: Mode) {
    let _metrics = BREAKER_METRICS.lock().await;
    let mysql = ProxiedMySql::open("dynamodb fast").await;
    let dynamo = ProxiedDynamo::open().await;
    let app = app(&config(|_| {}), mysql.clinic(), dynamo.records());
    let seed = seed(&app, &format!("dfast-{mode:?}")).await;
    let records = app.state.resilience.records.clone();
    let path = format!("/api/v1/medical-records/{}", seed.record);
    let cut =
        cut_under_steady_load(&app, &path, dynamo.proxy.set(mode), || records.state() == BreakerState::Open).await;
    assert_noticed_fast(&format!("DynamoDB {mode:?}"), &cut);
}

#[tokio::test]
#[cfg_attr(not(gospital_mysql_tests), ignore = "GOSPITAL_TEST_MYSQL_URL unset at build time")]
async fn a_refusing_dynamodb_is_a_503_within_50_ms_and_opens_the_breaker_within_a_second_at_50_requests_a_second() {
    noticed_fast(Mode::Refuse).await;
}

#[tokio::test]
#[cfg_attr(not(gospital_mysql_tests), ignore = "GOSPITAL_TEST_MYSQL_URL unset at build time")]
async fn a_resetting_dynamodb_is_a_503_within_50_ms_and_opens_the_breaker_within_a_second_at_50_requests_a_second() {
    noticed_fast(Mode::Reset).await;
}

#[tokio::test]
#[cfg_attr(not(gospital_mysql_tests), ignore = "GOSPITAL_TEST_MYSQL_URL unset at build time")]
async fn a_refused_dynamodb_opens_the_d_breaker_while_relational_routes_answer_and_it_recovers_by_itself() {
    cut_and_recover(Mode::Refuse).await;
}

#[tokio::test]
#[cfg_attr(not(gospital_mysql_tests), ignore = "GOSPITAL_TEST_MYSQL_URL unset at build time")]
async fn a_dynamodb_that_resets_connections_opens_the_d_breaker_and_recovers_by_itself() {
    cut_and_recover(Mode::Reset).await;
}

#[tokio::test]
#[cfg_attr(not(gospital_mysql_tests), ignore = "GOSPITAL_TEST_MYSQL_URL unset at build time")]
async fn a_stalled_dynamodb_ends_records_requests_with_504_or_503_within_the_deadline() {
    let mysql = ProxiedMySql::open("dynamodb stall").await;
    let dynamo = ProxiedDynamo::open().await;
    let app = app(&config(|_| {}), mysql.clinic(), dynamo.records());
    let seed = seed(&app, "dstall").await;

    dynamo.proxy.set(Mode::Stall).await;
    let (res, took) = timed_get(&app, &format!("/api/v1/medical-records/{}", seed.record)).await;
    // The SDK's own 600 ms operation timeout may answer first (503); otherwise the deadline does (504).
    match res.status.as_u16() {
        503 => {
            assert_unavailable(&res);
        }
        504 => assert_timeout(&res, 1000),
        _ => panic!("a stalled DynamoDB answers 503/504, got {} {}", res.status, res.text),
    }
    assert!(took <= Duration::from_millis(1100), "never past the deadline: {took:?}");
    app.get(&format!("/api/v1/patients/{}", seed.patient)).await.assert(200);
}
