//! MariaDB cut, reset, stalled and slowed behind the fault proxy, with D on the DynamoDB emulator.

use gospital::audit::Chain;
use std::time::{Duration, Instant};

use gospital::store::circuit_breaker::BreakerState;
use serde_json::json;

use crate::harness::*;
use crate::helpers::TestApp;
use crate::helpers::{assert_every_transition_counted, assert_unavailable, metrics_text, sample, transitions};
use crate::proxy::Mode;

/// An app with R on a proxied MariaDB test database and D on a DynamoDB emulator.
async fn rig(test: &str, tweak: impl FnOnce(&mut gospital::config::Config)) -> (ProxiedMySql, ProxiedDynamo, TestApp) {
    let mysql = ProxiedMySql::open(test).await;
    let dynamo = ProxiedDynamo::open().await;
    let app = app(&config(tweak), mysql.clinic(), dynamo.records());
    (mysql, dynamo, app)
}

async fn cut_and_recover(mode: Mode) {
    let _metrics = BREAKER_METRICS.lock().await;
    let (mysql, _dynamo, app) = rig("mysql cut", |c| c.breaker_open_ms = 1000).await;
    let seed = seed(&app, &format!("cut-{mode:?}")).await;
    let patient_path = format!("/api/v1/patients/{}", seed.patient);
    let before = transitions(&app, "clinic").await;

    mysql.proxy.set(mode).await;
    let clinic = app.state.resilience.clinic.clone();
    fail_until_open(&app, &patient_path, || clinic.state() == BreakerState::Open).await;

    // Open: every relational route is refused at once, without waiting on the dead database.
    for path in [patient_path.as_str(), "/api/v1/doctors", "/api/v1/appointments"] {
        let (res, took) = timed_get(&app, path).await;
        assert_eq!(assert_unavailable(&res), 1, "seconds until half-open (1 s open interval)");
        assert!(took < Duration::from_millis(50), "{path}: refused at once, took {took:?}");
    }
    let started = Instant::now();
    let booking = app.book(&seed.patient, &seed.doctor, "2026-11-26", "10:00", "10:30").await;
    assert_unavailable(&booking);
    assert!(started.elapsed() < Duration::from_millis(50), "booking refused at once");

    // D is another store with its own breaker: records and invoices keep answering.
    let rec = app.get(&format!("/api/v1/medical-records/{}", seed.record)).await;
    rec.assert(200);
    assert_eq!(rec.body["recordId"], json!(seed.record));
    app.get(&format!("/api/v1/billing/invoices/{}", seed.invoice)).await.assert(200);
    assert_eq!(app.state.resilience.records.state(), BreakerState::Closed);
    // Their audit events are stored in D, which needs nothing of R (SECURITY.md §5 guarantee 1).
    let reads = gospital::audit::AuditFilter { action: Some(gospital::audit::Action::Read), ..Default::default() };
    let trail = gospital::store::AuditStore::list_audit_events(app.state.records.as_ref(), &reads, 100, None)
        .await
        .expect("D's trail");
    for id in [&seed.record, &seed.invoice] {
        let served = trail.items.iter().any(|e| {
            e.record.resource_id.as_deref() == Some(id.as_str()) && e.record.outcome == 200 && e.store == Chain::D
        });
        assert!(served, "the read of {id} is in D's trail with R down");
    }

    let health = app.get("/health").await;
    health.assert(503);
    assert!(health.header("retry-after").is_some());
    assert_eq!(check(&health, "database")["status"], json!("down"));
    assert_eq!(check(&health, "database")["backend"], json!("mysql"));
    assert_eq!(check(&health, "database")["circuit"], json!("open"));
    assert_eq!(check(&health, "records")["status"], json!("up"));
    assert_eq!(check(&health, "records")["backend"], json!("dynamodb"));
    app.get("/health/live").await.assert(200);

    // The database comes back; nobody touches the service.
    mysql.proxy.set(Mode::Pass).await;
    let recovered = until_ok(&app, &patient_path, Duration::from_secs(10)).await;
    eprintln!("MySQL {mode:?}: first 200 {} ms after the proxy passed again", recovered.as_millis());
    assert!(recovered < Duration::from_secs(3), "recovered within the open interval plus slack: {recovered:?}");
    for _ in 0..3 {
        app.get(&patient_path).await.assert(200);
    }
    assert_eq!(clinic.state(), BreakerState::Closed, "three good probes close it");
    app.book(&seed.patient, &seed.doctor, "2026-11-26", "10:00", "10:30").await.assert(201);
    app.get("/health").await.assert(200);

    assert_every_transition_counted(&app, "clinic", before).await;
    let text = metrics_text(&app).await;
    assert_eq!(sample(&text, "mysql_circuit_breaker_state"), 0.0, "closed again");
}

#[tokio::test]
#[cfg_attr(not(gospital_mysql_tests), ignore = "GOSPITAL_TEST_MYSQL_URL unset at build time")]
async fn a_refused_mysql_opens_the_r_breaker_fails_fast_keeps_dynamodb_routes_up_and_recovers_by_itself() {
    cut_and_recover(Mode::Refuse).await;
}

#[tokio::test]
#[cfg_attr(not(gospital_mysql_tests), ignore = "GOSPITAL_TEST_MYSQL_URL unset at build time")]
async fn a_mysql_that_resets_connections_opens_the_r_breaker_and_recovers_by_itself() {
    cut_and_recover(Mode::Reset).await;
}

async fn noticed_fast(mode: Mode) {
    let _metrics = BREAKER_METRICS.lock().await;
    let (mysql, _dynamo, app) = rig("mysql fast", |_| {}).await;
    let seed = seed(&app, &format!("fast-{mode:?}")).await;
    let clinic = app.state.resilience.clinic.clone();
    let path = format!("/api/v1/patients/{}", seed.patient);
    let cut = cut_under_steady_load(&app, &path, mysql.proxy.set(mode), || clinic.state() == BreakerState::Open).await;
    assert_noticed_fast(&format!("MariaDB {mode:?}"), &cut);
}

#[tokio::test]
#[cfg_attr(not(gospital_mysql_tests), ignore = "GOSPITAL_TEST_MYSQL_URL unset at build time")]
async fn a_refusing_mysql_is_a_503_within_50_ms_and_opens_the_breaker_within_a_second_at_50_requests_a_second() {
    noticed_fast(Mode::Refuse).await;
}

#[tokio::test]
#[cfg_attr(not(gospital_mysql_tests), ignore = "GOSPITAL_TEST_MYSQL_URL unset at build time")]
async fn a_resetting_mysql_is_a_503_within_50_ms_and_opens_the_breaker_within_a_second_at_50_requests_a_second() {
    noticed_fast(Mode::Reset).await;
}

#[tokio::test]
#[cfg_attr(not(gospital_mysql_tests), ignore = "GOSPITAL_TEST_MYSQL_URL unset at build time")]
async fn a_stalled_mysql_ends_requests_with_504_at_the_deadline_and_the_bulkhead_stops_the_pile_up() {
    let tweak = |c: &mut gospital::config::Config| {
        c.clinic_bulkhead = Some(4);
        c.bulkhead_wait_ms = 100;
        c.breaker_open_ms = 1000;
    };
    let (mysql, _dynamo, app) = rig("mysql stall", tweak).await;
    let seed = seed(&app, "stall").await;
    let app = std::sync::Arc::new(app);

    mysql.proxy.set(Mode::Stall).await;
    let started = Instant::now();
    let bookings: Vec<_> = (0..8)
        .map(|i| {
            let (app, patient, doctor) = (app.clone(), seed.patient.clone(), seed.doctor.clone());
            tokio::spawn(async move {
                let start = format!("{:02}:00", 9 + i);
                let end = format!("{:02}:30", 9 + i);
                let res = app.book(&patient, &doctor, "2026-11-27", &start, &end).await;
                (res, started.elapsed())
            })
        })
        .collect();
    let (mut timed_out, mut refused) = (0, 0);
    for booking in bookings {
        let (res, at) = booking.await.expect("booking task");
        match res.status.as_u16() {
            504 => {
                assert_timeout(&res, 1000);
                assert!(
                    (Duration::from_millis(900)..=Duration::from_millis(1100)).contains(&at),
                    "504 at the 1 s deadline ±100 ms, got {at:?}"
                );
                timed_out += 1;
            }
            503 => {
                assert_unavailable(&res);
                assert!(at < Duration::from_millis(300), "turned away by the full bulkhead, not queued: {at:?}");
                refused += 1;
            }
            _ => panic!("a stalled store answers 504 or 503, got {} {}", res.status, res.text),
        }
    }
    assert_eq!((timed_out, refused), (4, 4), "4 calls fill the bulkhead and hit the deadline; 4 are turned away");
    assert_eq!(app.state.resilience.clinic.bulkhead().available(), 4, "every slot freed");

    // Nothing was written: the stalled transactions never committed.
    mysql.proxy.set(Mode::Pass).await;
    assert_eq!(mysql.count("appointments").await, 0, "a booking that timed out left no appointment behind");
    // The pool is healthy again once the breaker lets calls through.
    until_ok(&app, &format!("/api/v1/patients/{}", seed.patient), Duration::from_secs(5)).await;
    app.book(&seed.patient, &seed.doctor, "2026-11-27", "09:00", "09:30").await.assert(201);
}

#[tokio::test]
#[cfg_attr(not(gospital_mysql_tests), ignore = "GOSPITAL_TEST_MYSQL_URL unset at build time")]
async fn a_booking_cut_by_the_deadline_in_the_middle_of_its_transaction_leaves_nothing_behind() {
    let (mysql, _dynamo, app) = rig("mysql slow", |_| {}).await;
    let seed = seed(&app, "slow").await;
    // Warm the pool, so the booking's statements (not a connection handshake) are what the delay slows.
    for _ in 0..3 {
        app.get(&format!("/api/v1/patients/{}", seed.patient)).await.assert(200);
    }

    // 150 ms each way per packet: a booking's half-dozen round trips cannot finish inside the 1 s deadline,
    // but its first statements (transaction start, row locks) reach the server before the deadline cuts it.
    mysql.proxy.set(Mode::Delay(Duration::from_millis(150))).await;
    let res = app.book(&seed.patient, &seed.doctor, "2026-11-30", "10:00", "10:30").await;
    assert_timeout(&res, 1000);

    mysql.proxy.set(Mode::Pass).await;
    // Give the server time to see the abandoned connection close and roll it back.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mysql.count("appointments").await, 0, "the cut transaction was rolled back");
    // No row lock was left behind on the patient or doctor: the same slot books at once.
    let started = Instant::now();
    app.book(&seed.patient, &seed.doctor, "2026-11-30", "10:00", "10:30").await.assert(201);
    assert!(started.elapsed() < Duration::from_secs(1), "no lock wait: {:?}", started.elapsed());
    assert_eq!(mysql.count("appointments").await, 1);
}

#[tokio::test]
#[cfg_attr(not(gospital_mysql_tests), ignore = "GOSPITAL_TEST_MYSQL_URL unset at build time")]
async fn with_the_r_bulkhead_full_of_stalled_calls_the_next_relational_request_is_refused_at_once_while_d_answers() {
    let tweak = |c: &mut gospital::config::Config| {
        c.clinic_bulkhead = Some(4);
        c.bulkhead_wait_ms = 0;
        c.request_timeout_ms = 5000;
    };
    let (mysql, _dynamo, app) = rig("mysql bulkhead", tweak).await;
    let seed = seed(&app, "bulkhead").await;
    let app = std::sync::Arc::new(app);
    let patient_path = format!("/api/v1/patients/{}", seed.patient);

    mysql.proxy.set(Mode::Stall).await;
    let stalled: Vec<_> = (0..4)
        .map(|_| {
            let (app, path) = (app.clone(), patient_path.clone());
            tokio::spawn(async move { app.get(&path).await })
        })
        .collect();
    let clinic = app.state.resilience.clinic.clone();
    let filled = Instant::now();
    while clinic.bulkhead().available() > 0 {
        assert!(filled.elapsed() < Duration::from_secs(2), "4 stalled calls never filled the bulkhead");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let (res, took) = timed_get(&app, &patient_path).await;
    assert_unavailable(&res);
    assert!(took < Duration::from_millis(50), "the fifth is refused at once, took {took:?}");
    let (rec, took) = timed_get(&app, &format!("/api/v1/medical-records/{}", seed.record)).await;
    rec.assert(200);
    assert!(took < Duration::from_millis(500), "D is not held up by R's bulkhead: {took:?}");
    assert_eq!(clinic.state(), BreakerState::Closed, "bulkhead refusals never count against the store");

    // The store answers again: the held calls complete normally.
    mysql.proxy.set(Mode::Pass).await;
    for call in stalled {
        call.await.expect("stalled call").assert(200);
    }
    assert_eq!(clinic.bulkhead().available(), 4);
}

#[tokio::test]
#[cfg_attr(not(gospital_mysql_tests), ignore = "GOSPITAL_TEST_MYSQL_URL unset at build time")]
async fn a_hundred_requests_for_unknown_patients_on_mysql_never_open_the_breaker() {
    let (_mysql, _dynamo, app) = rig("mysql not found", |_| {}).await;
    for i in 0..100 {
        let res = app.get(&format!("/api/v1/patients/PAT-01M88ZQHVRM9S346Q3D25V{i:04}")).await;
        res.assert_error(404, "PATIENT_NOT_FOUND");
    }
    assert_eq!(app.state.resilience.clinic.state(), BreakerState::Closed);
    app.get("/api/v1/patients").await.assert(200);
}
