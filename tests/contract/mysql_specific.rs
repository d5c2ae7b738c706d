//! What only the MySQL adapter has to show: server-side timeouts and lock waits end as `Unavailable` (503), in
//! bounded time, instead of hanging or surfacing as internal errors.

use crate::support::ev;
use std::time::{Duration, Instant};

use gospital::domain::appointment::{Appointment, AppointmentStatus};
use gospital::domain::doctor::{Doctor, DoctorStatus};
use gospital::domain::formats::{Date, Time, Timestamp, parse_date, parse_time, parse_timestamp};
use gospital::domain::ids::{AppointmentId, DepartmentId, DoctorId, PatientId};
use gospital::domain::patient::{Patient, PatientStatus};
use gospital::store::mysql::{MySqlClinicStore, MySqlOptions};
use gospital::store::{AppointmentStore, DoctorStore, PatientStore, StoreError};
use sqlx::Executor;

use crate::support::{TEST_OPTIONS, mysql_test_db, mysql_test_db_with};

fn ts(s: &str) -> Timestamp {
    parse_timestamp(s).expect("valid timestamp")
}

fn patient() -> Patient {
    Patient {
        patient_id: PatientId::generate(),
        first_name: "Amy".into(),
        last_name: "March".into(),
        date_of_birth: Date(parse_date("1985-03-15").expect("valid date")),
        gender: None,
        email: "amy@example.org".into(),
        phone: "+1 555 0100".into(),
        address: None,
        emergency_contact: None,
        blood_type: None,
        allergies: vec![],
        status: PatientStatus::Active,
        version: 1,
        created_at: ts("2026-11-20T09:00:00.000Z"),
        updated_at: ts("2026-11-20T09:00:00.000Z"),
    }
}

fn doctor() -> Doctor {
    Doctor {
        doctor_id: DoctorId::generate(),
        first_name: "Meredith".into(),
        last_name: "Grey".into(),
        email: "doc@example.org".into(),
        phone: "+1 555 0200".into(),
        specialty: "Cardiology".into(),
        license_number: "LIC-1".into(),
        department_id: DepartmentId::parse("DEPT-001").expect("valid department ID"),
        department_name: "Cardiology".into(),
        years_of_experience: 10,
        qualifications: vec![],
        status: DoctorStatus::Active,
        version: 1,
        created_at: ts("2026-11-20T09:00:00.000Z"),
        updated_at: ts("2026-11-20T09:00:00.000Z"),
    }
}

#[tokio::test]
#[cfg_attr(not(gospital_mysql_tests), ignore = "GOSPITAL_TEST_MYSQL_URL unset at build time")]
async fn a_statement_over_the_timeout_is_unavailable() {
    let opts = MySqlOptions { statement_timeout: Duration::from_secs(1), ..TEST_OPTIONS };
    let test_db = mysql_test_db_with("a_statement_over_the_timeout_is_unavailable", opts).await;

    let started = Instant::now();
    // A self-join big enough to run for many seconds without the timeout.
    let slow = sqlx::query(
        "SELECT COUNT(*) FROM information_schema.COLUMNS a, information_schema.COLUMNS b, \
         information_schema.COLUMNS c",
    )
    .execute(&test_db.db.pool)
    .await
    .map_err(StoreError::from);

    assert!(matches!(slow, Err(StoreError::Unavailable(_))), "{slow:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    test_db.close().await;
}

#[tokio::test]
#[cfg_attr(not(gospital_mysql_tests), ignore = "GOSPITAL_TEST_MYSQL_URL unset at build time")]
async fn a_booking_behind_a_lock_held_elsewhere_is_unavailable_after_one_retry() {
    let test_db = mysql_test_db("a_booking_behind_a_lock_held_elsewhere_is_unavailable_after_one_retry").await;
    let store = MySqlClinicStore::new(test_db.db.clone());
    let (amy, doc) = (patient(), doctor());
    store.insert_patient(&amy, None, ev()).await.expect("insert patient");
    store.insert_doctor(&doc, None, ev()).await.expect("insert doctor");
    let mut holder = test_db.db.pool.acquire().await.expect("acquire");
    holder.execute("START TRANSACTION").await.expect("begin");
    sqlx::query("SELECT 1 FROM patients WHERE patient_id = ? FOR UPDATE")
        .bind(amy.patient_id.as_str())
        .execute(&mut *holder)
        .await
        .expect("lock the patient");
    let visit = Appointment {
        appointment_id: AppointmentId::generate(),
        patient_id: amy.patient_id.clone(),
        patient_name: amy.full_name(),
        doctor_id: doc.doctor_id.clone(),
        doctor_name: doc.display_name(),
        department_id: doc.department_id.clone(),
        appointment_date: Date(parse_date("2026-12-01").expect("valid date")),
        start_time: Time(parse_time("10:00").expect("valid time")),
        end_time: Time(parse_time("10:30").expect("valid time")),
        reason: "Check-up".into(),
        status: AppointmentStatus::Scheduled,
        notes: None,
        version: 1,
        created_at: ts("2026-11-20T09:00:00.000Z"),
        updated_at: ts("2026-11-20T09:00:00.000Z"),
    };

    let started = Instant::now();
    let blocked = store.book_appointment(&visit, None, ev()).await;
    let waited = started.elapsed();
    holder.execute("ROLLBACK").await.expect("release");
    store.book_appointment(&visit, None, ev()).await.expect("books once the lock is gone");

    assert!(matches!(blocked, Err(StoreError::Unavailable(_))), "{blocked:?}");
    // Two lock waits of about 5 s each: the first attempt and its one retry.
    assert!(waited >= Duration::from_secs(9) && waited < Duration::from_secs(20), "{waited:?}");
    drop(holder);
    test_db.close().await;
}

/// The session's own count of `COM_PING`s (MariaDB and MySQL count them as admin commands).
async fn pings_of(conn: &mut sqlx::MySqlConnection) -> i64 {
    let (_, n): (String, String) = sqlx::query_as("SHOW SESSION STATUS LIKE 'Com_admin_commands'")
        .fetch_one(conn)
        .await
        .expect("read the session's status");
    n.parse().expect("a count")
}

/// A use that completes hands its connection to the next with no ping in between (sqlx's pool alone pings every
/// connection it takes back: a round trip per request); one that goes back through the pool is pinged.
#[tokio::test]
#[cfg_attr(not(gospital_mysql_tests), ignore = "GOSPITAL_TEST_MYSQL_URL unset at build time")]
async fn reused_connections_are_not_pinged_between_uses() {
    let opts = MySqlOptions { max_connections: 1, ..TEST_OPTIONS };
    let test_db = mysql_test_db_with("reused_connections_are_not_pinged_between_uses", opts).await;
    let db = &test_db.db;
    let before = db.run(async |c| Ok(pings_of(c).await)).await.expect("first use");
    for _ in 0..5 {
        let one: i32 = db.run(async |c| sqlx::query_scalar("SELECT 1").fetch_one(c).await).await.expect("a use");
        assert_eq!(one, 1);
    }
    let after = db.run(async |c| Ok(pings_of(c).await)).await.expect("last use");
    assert_eq!(after, before, "pings between uses of one reused connection");

    // The control: a lease dropped without being recycled goes back through the pool, which pings it.
    drop(db.acquire().await.expect("a lease"));
    let through_pool = db.run(async |c| Ok(pings_of(c).await)).await.expect("use after the pool took it back");
    assert!(through_pool > after, "the pool's release ping is not counted ({through_pool} vs {after})");
    test_db.close().await;
}
