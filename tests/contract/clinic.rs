//! Contract suite of the relational store port (R).
//!
//! Every case is an `async fn` over `&dyn ClinicStore`; `backend_tests!` stamps them out once per adapter, each
//! run on a fresh store holding only the seeded departments: SQLite always, MySQL when `GOSPITAL_TEST_MYSQL_URL`
//! is set (see `support.rs`).

use crate::support::ev;
use std::time::Duration;

use futures::future::join_all;

use gospital::domain::appointment::{Appointment, AppointmentStatus};
use gospital::domain::department::Department;
use gospital::domain::doctor::{Doctor, DoctorStatus};
use gospital::domain::formats::{Date, Time, Timestamp, parse_date, parse_time, parse_timestamp};
use gospital::domain::ids::{AppointmentId, DepartmentId, DoctorId, PatientId};
use gospital::domain::patient::{Address, BloodType, EmergencyContact, Gender, Patient, PatientStatus};
use gospital::store::mysql::MySqlClinicStore;
use gospital::store::sqlite::{SqliteClinicStore, SqliteDb, SqliteOptions};
use gospital::store::{
    AppointmentFilter, BusyInterval, ClinicStore, DoctorFilter, PageRequest, PatientFilter, Rule, StoreError,
};

/// Stamps one `#[tokio::test]` per case into `mod $backend`, each over a store from `$open`.
macro_rules! backend_tests {
    ($backend:ident, $open:path; $($case:ident),+ $(,)?) => {
        mod $backend {
            $(
                #[tokio::test]
                async fn $case() {
                    let backend = $open().await;
                    super::$case(backend.store()).await;
                }
            )+
        }
    };
    // MySQL, which this machine may not offer: without `GOSPITAL_TEST_MYSQL_URL` at build time every case is
    // built ignored (see support.rs), so `cargo test` reports it as such rather than as passed.
    (optional $backend:ident, $open:path; $($case:ident),+ $(,)?) => {
        mod $backend {
            $(
                #[tokio::test]
                #[cfg_attr(not(gospital_mysql_tests), ignore = "GOSPITAL_TEST_MYSQL_URL unset at build time")]
                async fn $case() {
                    let backend = $open(stringify!($case)).await;
                    super::$case(backend.store()).await;
                    backend.close().await;
                }
            )+
        }
    };
}

/// Every case of this suite, once: each backend below runs all of them, so no adapter can quietly miss one.
/// `$stamp` is called with `$args` and the case list.
macro_rules! clinic_cases {
    ($stamp:ident!($($args:tt)*)) => {
        $stamp!($($args)*;
            the_backend_names_itself_and_answers_pings,
            writes_cancelled_at_any_point_leave_the_store_usable,
            the_six_seeded_departments_are_listed_by_name,
            a_seeded_department_carries_the_contract_values,
            an_inserted_patient_reads_back_unchanged,
            reading_unknown_ids_returns_none,
            a_duplicate_patient_key_conflicts_whatever_the_case,
            the_patient_name_filter_matches_substrings_of_first_last_literally,
            the_patient_filters_combine_with_and,
            patients_are_newest_first_with_ties_broken_by_id_descending,
            a_patient_page_past_the_end_is_empty_but_keeps_the_total,
            a_patient_update_at_the_expected_version_replaces_it,
            a_patient_update_with_a_wrong_version_is_stale_and_a_missing_one_not_found,
            a_patient_update_onto_a_taken_duplicate_key_conflicts,
            deactivation_cancels_only_future_scheduled_appointments_and_counts_them,
            a_duplicate_licence_conflicts_whatever_the_case,
            a_doctor_reads_back_with_its_department_name_joined_live,
            the_doctor_filters_combine_with_and,
            doctors_are_newest_first_with_ties_broken_by_id_descending,
            department_doctors_are_ordered_by_last_then_first_name_in_any_status,
            a_doctor_update_with_a_wrong_version_is_stale,
            a_duplicate_department_name_conflicts_whatever_the_case,
            a_department_counts_only_active_doctors_and_names_its_head,
            a_head_doctor_from_another_department_is_rejected,
            a_head_doctor_cannot_move_to_another_department,
            a_department_update_with_a_wrong_version_is_stale,
            touching_appointments_of_one_doctor_do_not_clash,
            an_overlapping_appointment_of_the_same_doctor_clashes_on_the_doctor_side,
            the_same_patient_with_another_doctor_clashes_on_the_patient_side,
            a_clash_on_both_sides_reports_both,
            cancelled_appointments_do_not_block_their_slot,
            concurrent_bookings_of_one_slot_have_exactly_one_winner,
            booking_needs_an_existing_active_patient_and_an_active_doctor,
            rescheduling_ignores_the_appointment_itself_but_not_the_others,
            a_plain_appointment_update_skips_the_booking_checks_but_not_the_version,
            an_appointment_reads_back_with_names_and_the_doctors_current_department,
            appointments_filter_by_patient_doctor_date_and_status_newest_first,
            busy_intervals_are_the_non_cancelled_appointments_of_the_inclusive_range,
            fifty_parallel_bookings_of_one_slot_have_one_winner_twenty_times_over,
            one_patient_booking_two_doctors_at_once_gets_one_appointment,
            a_booking_racing_the_patients_deactivation_is_refused_or_cancelled,
            a_free_key_is_claimed_once_and_then_reported_in_progress,
            a_released_claim_frees_the_key_but_only_for_its_own_token,
            a_claim_whose_lease_ran_out_is_taken_over,
            purging_keeps_live_records_and_an_expired_key_is_free_again,
            a_claim_completed_with_the_patient_it_created_reports_that_answer,
            a_write_completing_a_lost_claim_writes_nothing,
            every_create_of_r_completes_its_claim_atomically,
            purging_removes_expired_records_a_bounded_batch_at_a_time,
            revocations_page_newest_first_and_the_index_keeps_each_subs_latest,
        );
    };
}

clinic_cases!(backend_tests!(sqlite, super::open_sqlite));
clinic_cases!(backend_tests!(optional mysql, super::open_mysql));

/// A SQLite store on its own temporary file, deleted when dropped.
struct SqliteBackend {
    store: SqliteClinicStore,
    _dir: tempfile::TempDir,
}

impl SqliteBackend {
    fn store(&self) -> &dyn ClinicStore {
        &self.store
    }
}

async fn open_sqlite() -> SqliteBackend {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("clinic.db").display());
    let opts = SqliteOptions {
        busy_timeout: Duration::from_secs(5),
        read_connections: 4,
        acquire_timeout: Duration::from_secs(5),
        synchronous: sqlx::sqlite::SqliteSynchronous::Full,
    };
    let db = SqliteDb::open(&url, opts).await.expect("open SQLite");
    db.migrate().await.expect("migrate SQLite");
    SqliteBackend { store: SqliteClinicStore::new(db), _dir: dir }
}

/// A MySQL store on a database of its own, dropped with it.
async fn open_mysql(test: &str) -> MySqlBackend {
    let test_db = crate::support::mysql_test_db(test).await;
    MySqlBackend { store: MySqlClinicStore::new(test_db.db.clone()), test_db }
}

struct MySqlBackend {
    store: MySqlClinicStore,
    test_db: crate::support::MySqlTestDb,
}

impl MySqlBackend {
    fn store(&self) -> &dyn ClinicStore {
        &self.store
    }

    async fn close(&self) {
        self.test_db.close().await;
    }
}

// ---- fixtures ----

const ALL: PageRequest = PageRequest { page: 1, limit: 100 };
const CARDIOLOGY: &str = "DEPT-001";
const EMERGENCY: &str = "DEPT-002";

fn ts(s: &str) -> Timestamp {
    parse_timestamp(s).expect("valid timestamp")
}

fn date(s: &str) -> Date {
    Date(parse_date(s).expect("valid date"))
}

fn time(s: &str) -> Time {
    Time(parse_time(s).expect("valid time"))
}

fn dept(id: &str) -> DepartmentId {
    DepartmentId::parse(id).expect("valid department ID")
}

fn patient(first: &str, last: &str, email: &str) -> Patient {
    Patient {
        patient_id: PatientId::generate(),
        first_name: first.into(),
        last_name: last.into(),
        date_of_birth: date("1985-03-15"),
        gender: None,
        email: email.into(),
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

/// A doctor of Cardiology; `department_name` is what a read should join.
fn doctor(first: &str, last: &str, licence: &str) -> Doctor {
    Doctor {
        doctor_id: DoctorId::generate(),
        first_name: first.into(),
        last_name: last.into(),
        email: "doc@example.org".into(),
        phone: "+1 555 0200".into(),
        specialty: "Cardiology".into(),
        license_number: licence.into(),
        department_id: dept(CARDIOLOGY),
        department_name: "Cardiology".into(),
        years_of_experience: 10,
        qualifications: vec!["MD".into(), "FACC".into()],
        status: DoctorStatus::Active,
        version: 1,
        created_at: ts("2026-11-20T09:00:00.000Z"),
        updated_at: ts("2026-11-20T09:00:00.000Z"),
    }
}

/// A scheduled appointment; the joined fields hold what a read should return.
fn appointment(p: &Patient, d: &Doctor, day: &str, start: &str, end: &str) -> Appointment {
    Appointment {
        appointment_id: AppointmentId::generate(),
        patient_id: p.patient_id.clone(),
        patient_name: p.full_name(),
        doctor_id: d.doctor_id.clone(),
        doctor_name: d.display_name(),
        department_id: d.department_id.clone(),
        appointment_date: date(day),
        start_time: time(start),
        end_time: time(end),
        reason: "Check-up".into(),
        status: AppointmentStatus::Scheduled,
        notes: None,
        version: 1,
        created_at: ts("2026-11-20T09:00:00.000Z"),
        updated_at: ts("2026-11-20T09:00:00.000Z"),
    }
}

fn new_department(name: &str) -> Department {
    Department {
        department_id: DepartmentId::generate(),
        name: name.into(),
        description: None,
        floor: Some(0),
        extension: None,
        head_doctor_id: None,
        head_doctor_name: None,
        number_of_doctors: 0,
        version: 1,
        created_at: ts("2026-11-20T09:00:00.000Z"),
        updated_at: ts("2026-11-20T09:00:00.000Z"),
    }
}

async fn add_patient(store: &dyn ClinicStore, first: &str, last: &str, email: &str) -> Patient {
    let p = patient(first, last, email);
    store.insert_patient(&p, None, ev()).await.expect("insert patient");
    p
}

async fn add_doctor(store: &dyn ClinicStore, first: &str, last: &str) -> Doctor {
    let d = doctor(first, last, &format!("LIC-{first}-{last}"));
    store.insert_doctor(&d, None, ev()).await.expect("insert doctor");
    d
}

async fn book(store: &dyn ClinicStore, p: &Patient, d: &Doctor, day: &str, start: &str, end: &str) -> Appointment {
    let a = appointment(p, d, day, start, end);
    store.book_appointment(&a, None, ev()).await.expect("book appointment");
    a
}

async fn department(store: &dyn ClinicStore, id: &str) -> Department {
    store.get_department(&dept(id)).await.expect("get department").expect("department exists")
}

/// When the `next_*` versions below were written.
const LATER: &str = "2026-11-25T10:00:00.000Z";

fn next_patient(p: &Patient) -> Patient {
    Patient { version: p.version + 1, updated_at: ts(LATER), ..p.clone() }
}

fn next_doctor(d: &Doctor) -> Doctor {
    Doctor { version: d.version + 1, updated_at: ts(LATER), ..d.clone() }
}

fn next_department(d: &Department) -> Department {
    Department { version: d.version + 1, updated_at: ts(LATER), ..d.clone() }
}

fn next_appointment(a: &Appointment) -> Appointment {
    Appointment { version: a.version + 1, updated_at: ts(LATER), ..a.clone() }
}

fn ids<T, I: ToString>(items: &[T], id: impl Fn(&T) -> &I) -> Vec<String> {
    items.iter().map(|item| id(item).to_string()).collect()
}

fn clash(doctor: bool, patient: bool) -> Rule {
    Rule::TimeSlot { doctor, patient }
}

// ---- store ----

async fn the_backend_names_itself_and_answers_pings(store: &dyn ClinicStore) {
    assert!(["sqlite", "mysql"].contains(&store.backend()));
    store.ping().await.expect("ping");
}

/// A request deadline drops the store future wherever it is; whatever it had done must roll back cleanly.
async fn writes_cancelled_at_any_point_leave_the_store_usable(store: &dyn ClinicStore) {
    for n in 0..300u64 {
        let dropped = patient("Cut", "Off", &format!("cut{n}@example.org"));
        let _ = tokio::time::timeout(Duration::from_micros(n * 7), store.insert_patient(&dropped, None, ev())).await;
        let kept = patient("Kept", "On", &format!("kept{n}@example.org"));
        store.insert_patient(&kept, None, ev()).await.unwrap_or_else(|e| panic!("after a cut at {n}: {e:?}"));
    }
}

// ---- departments ----

async fn the_six_seeded_departments_are_listed_by_name(store: &dyn ClinicStore) {
    let departments = store.list_departments().await.expect("list");

    let listed: Vec<(String, String)> =
        departments.iter().map(|d| (d.department_id.to_string(), d.name.clone())).collect();
    let expected = [
        ("DEPT-001", "Cardiology"),
        ("DEPT-002", "Emergency"),
        ("DEPT-006", "Oncology"),
        ("DEPT-004", "Orthopedics"),
        ("DEPT-003", "Pediatrics"),
        ("DEPT-005", "Radiology"),
    ];
    assert_eq!(listed, expected.map(|(id, name)| (id.to_owned(), name.to_owned())));
}

async fn a_seeded_department_carries_the_contract_values(store: &dyn ClinicStore) {
    let pediatrics = department(store, "DEPT-003").await;

    assert_eq!(pediatrics.description.as_deref(), Some("Medical care for infants, children, and adolescents"));
    assert_eq!((pediatrics.floor, pediatrics.extension.as_deref()), (Some(2), Some("2001")));
    assert_eq!((pediatrics.head_doctor_id, pediatrics.head_doctor_name), (None, None));
    assert_eq!((pediatrics.number_of_doctors, pediatrics.version), (0, 1));
    assert!(pediatrics.created_at > ts("2024-01-01T00:00:00Z"));
    assert_eq!(pediatrics.created_at, pediatrics.updated_at);
}

async fn a_duplicate_department_name_conflicts_whatever_the_case(store: &dyn ClinicStore) {
    let taken = store.insert_department(&new_department("cARDIOLOGY"), None, ev()).await;
    let renamed = store
        .update_department(
            &Department { name: "ONCOLOGY".into(), ..next_department(&department(store, EMERGENCY).await) },
            1,
            ev(),
        )
        .await;
    let fresh = new_department("Neurology");
    store.insert_department(&fresh, None, ev()).await.expect("insert new name");

    assert!(matches!(taken, Err(StoreError::Conflict)), "{taken:?}");
    assert!(matches!(renamed, Err(StoreError::Conflict)), "{renamed:?}");
    let read = store.get_department(&fresh.department_id).await.expect("get").expect("exists");
    assert_eq!(read, fresh);
}

async fn a_department_counts_only_active_doctors_and_names_its_head(store: &dyn ClinicStore) {
    let head = add_doctor(store, "Meredith", "Grey").await;
    add_doctor(store, "Derek", "Shepherd").await;
    let away = add_doctor(store, "Cristina", "Yang").await;
    store.update_doctor(&Doctor { status: DoctorStatus::OnLeave, ..next_doctor(&away) }, 1, ev()).await.expect("leave");
    let cardiology = department(store, CARDIOLOGY).await;

    store
        .update_department(
            &Department { head_doctor_id: Some(head.doctor_id.clone()), ..next_department(&cardiology) },
            1,
            ev(),
        )
        .await
        .expect("set head");

    let cardiology = department(store, CARDIOLOGY).await;
    assert_eq!(cardiology.number_of_doctors, 2);
    assert_eq!(cardiology.head_doctor_id, Some(head.doctor_id));
    assert_eq!(cardiology.head_doctor_name.as_deref(), Some("Dr. Meredith Grey"));
    assert_eq!(cardiology.version, 2);
    assert_eq!(department(store, EMERGENCY).await.number_of_doctors, 0);
}

async fn a_head_doctor_from_another_department_is_rejected(store: &dyn ClinicStore) {
    let cardiologist = add_doctor(store, "Meredith", "Grey").await;
    let emergency = department(store, EMERGENCY).await;

    let foreign = store
        .update_department(
            &Department { head_doctor_id: Some(cardiologist.doctor_id), ..next_department(&emergency) },
            1,
            ev(),
        )
        .await;
    let unknown = store
        .update_department(
            &Department { head_doctor_id: Some(DoctorId::generate()), ..next_department(&emergency) },
            1,
            ev(),
        )
        .await;

    assert!(matches!(foreign, Err(StoreError::Rejected(Rule::HeadDoctorConflict))), "{foreign:?}");
    assert!(matches!(unknown, Err(StoreError::Rejected(Rule::HeadDoctorConflict))), "{unknown:?}");
    assert_eq!(department(store, EMERGENCY).await, emergency);
}

async fn a_head_doctor_cannot_move_to_another_department(store: &dyn ClinicStore) {
    let head = add_doctor(store, "Meredith", "Grey").await;
    let other = add_doctor(store, "Derek", "Shepherd").await;
    let cardiology = department(store, CARDIOLOGY).await;
    let headed = Department { head_doctor_id: Some(head.doctor_id.clone()), ..next_department(&cardiology) };
    store.update_department(&headed, 1, ev()).await.expect("set head");
    let to_emergency = |d: &Doctor| Doctor { department_id: dept(EMERGENCY), ..next_doctor(d) };

    let head_moves = store.update_doctor(&to_emergency(&head), 1, ev()).await;
    store.update_doctor(&to_emergency(&other), 1, ev()).await.expect("a non-head moves");
    store
        .update_department(&Department { head_doctor_id: None, ..next_department(&headed) }, 2, ev())
        .await
        .expect("clear head");
    store.update_doctor(&to_emergency(&head), 1, ev()).await.expect("a former head moves");

    assert!(matches!(head_moves, Err(StoreError::Rejected(Rule::HeadDoctorConflict))), "{head_moves:?}");
    let moved = store.get_doctor(&head.doctor_id).await.expect("get").expect("exists");
    assert_eq!((moved.department_id.as_str(), moved.department_name.as_str()), (EMERGENCY, "Emergency"));
}

async fn a_department_update_with_a_wrong_version_is_stale(store: &dyn ClinicStore) {
    let oncology = department(store, "DEPT-006").await;
    let renamed = Department { name: "Cancer Centre".into(), ..next_department(&oncology) };

    let stale = store.update_department(&renamed, 7, ev()).await;
    let missing = store
        .update_department(&Department { department_id: DepartmentId::generate(), ..renamed.clone() }, 1, ev())
        .await;

    assert!(matches!(stale, Err(StoreError::Stale)), "{stale:?}");
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    assert_eq!(department(store, "DEPT-006").await, oncology);
}

// ---- patients ----

async fn an_inserted_patient_reads_back_unchanged(store: &dyn ClinicStore) {
    let p = Patient {
        gender: Some(Gender::Female),
        address: Some(Address {
            street: Some("1 Main St".into()),
            zip_code: Some("12345".into()),
            ..Address::default()
        }),
        emergency_contact: Some(EmergencyContact {
            name: "Jo March".into(),
            relationship: None,
            phone: "+1 555 0199".into(),
        }),
        blood_type: Some(BloodType::AbNeg),
        allergies: vec!["penicillin".into(), "ünïcödé \"nuts\"".into()],
        created_at: ts("2026-11-20T09:00:00.123Z"),
        ..patient("Amy", "March", "Amy.March@Example.org")
    };

    store.insert_patient(&p, None, ev()).await.expect("insert");

    assert_eq!(store.get_patient(&p.patient_id).await.expect("get"), Some(p));
}

async fn reading_unknown_ids_returns_none(store: &dyn ClinicStore) {
    assert_eq!(store.get_patient(&PatientId::generate()).await.expect("patient"), None);
    assert_eq!(store.get_doctor(&DoctorId::generate()).await.expect("doctor"), None);
    assert_eq!(store.get_department(&DepartmentId::generate()).await.expect("department"), None);
    assert_eq!(store.get_appointment(&AppointmentId::generate()).await.expect("appointment"), None);
}

async fn a_duplicate_patient_key_conflicts_whatever_the_case(store: &dyn ClinicStore) {
    add_patient(store, "Amy", "March", "amy@example.org").await;

    let twin = store.insert_patient(&patient("Amelia", "MARCH", "AMY@Example.ORG"), None, ev()).await;
    let other_birthday = Patient { date_of_birth: date("1990-01-01"), ..patient("Amy", "March", "amy@example.org") };
    store.insert_patient(&other_birthday, None, ev()).await.expect("another birth date is another key");

    assert!(matches!(twin, Err(StoreError::Conflict)), "{twin:?}");
    assert_eq!(store.list_patients(&PatientFilter::default(), ALL).await.expect("list").total, 2);
}

async fn the_patient_name_filter_matches_substrings_of_first_last_literally(store: &dyn ClinicStore) {
    let ann = add_patient(store, "Ann", "Lee", "a@example.org").await;
    let annabel = add_patient(store, "Annabel", "Smith", "b@example.org").await;
    let percent = add_patient(store, "Zed", "Fifty%Off", "c@example.org").await;
    let underscore = add_patient(store, "Una", "Snake_Case", "d@example.org").await;
    let names = |name: &str| PatientFilter { name: Some(name.into()), ..PatientFilter::default() };
    let found = async |name: &str| {
        let mut found = ids(&store.list_patients(&names(name), ALL).await.expect("list").items, |p| &p.patient_id);
        found.sort();
        found
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };

    assert_eq!(found("ann").await, sorted(vec![ann.patient_id.to_string(), annabel.patient_id.to_string()]));
    assert_eq!(found("n l").await, vec![ann.patient_id.to_string()]);
    assert_eq!(found("smith").await, vec![annabel.patient_id.to_string()]);
    assert_eq!(found("%").await, vec![percent.patient_id.to_string()]);
    assert_eq!(found("e_c").await, vec![underscore.patient_id.to_string()]);
    assert_eq!(found("s_ith").await, Vec::<String>::new());
}

async fn the_patient_filters_combine_with_and(store: &dyn ClinicStore) {
    let amy = add_patient(store, "Amy", "March", "amy@example.org").await;
    let jo = Patient {
        phone: "+1 555 0111".into(),
        date_of_birth: date("1990-06-01"),
        ..patient("Jo", "March", "jo@example.org")
    };
    store.insert_patient(&jo, None, ev()).await.expect("insert");
    let gone = Patient { status: PatientStatus::Inactive, ..patient("Beth", "March", "beth@example.org") };
    store.insert_patient(&gone, None, ev()).await.expect("insert");
    let found = async |filter: PatientFilter| {
        let mut found = ids(&store.list_patients(&filter, ALL).await.expect("list").items, |p| &p.patient_id);
        found.sort();
        found
    };
    let none = PatientFilter::default();

    assert_eq!(
        found(PatientFilter { email: Some("amy@example.org".into()), ..none.clone() }).await,
        vec![amy.patient_id.to_string()]
    );
    assert_eq!(
        found(PatientFilter { phone: Some("+1 555 0111".into()), ..none.clone() }).await,
        vec![jo.patient_id.to_string()]
    );
    assert_eq!(
        found(PatientFilter { date_of_birth: Some(date("1990-06-01").0), ..none.clone() }).await,
        vec![jo.patient_id.to_string()]
    );
    assert_eq!(
        found(PatientFilter { status: Some(PatientStatus::Inactive), ..none.clone() }).await,
        vec![gone.patient_id.to_string()]
    );
    let both = PatientFilter { email: Some("amy@example.org".into()), status: Some(PatientStatus::Inactive), ..none };
    assert_eq!(found(both).await, Vec::<String>::new());
}

async fn patients_are_newest_first_with_ties_broken_by_id_descending(store: &dyn ClinicStore) {
    let older = add_patient(store, "A", "One", "1@example.org").await;
    let tie_a = add_patient(store, "B", "Two", "2@example.org").await;
    let tie_b = add_patient(store, "C", "Three", "3@example.org").await;
    let newest = Patient { created_at: ts("2026-11-21T09:00:00.000Z"), ..patient("D", "Four", "4@example.org") };
    store.insert_patient(&newest, None, ev()).await.expect("insert");
    let mut ties = [tie_a.patient_id.to_string(), tie_b.patient_id.to_string(), older.patient_id.to_string()];
    ties.sort();
    ties.reverse();

    let first =
        store.list_patients(&PatientFilter::default(), PageRequest { page: 1, limit: 2 }).await.expect("page 1");
    let second =
        store.list_patients(&PatientFilter::default(), PageRequest { page: 2, limit: 2 }).await.expect("page 2");

    assert_eq!((first.total, second.total), (4, 4));
    let order: Vec<String> = [first.items, second.items].concat().iter().map(|p| p.patient_id.to_string()).collect();
    assert_eq!(order, [vec![newest.patient_id.to_string()], ties.to_vec()].concat());
}

async fn a_patient_page_past_the_end_is_empty_but_keeps_the_total(store: &dyn ClinicStore) {
    add_patient(store, "Amy", "March", "amy@example.org").await;

    let page = store.list_patients(&PatientFilter::default(), PageRequest { page: 3, limit: 1 }).await.expect("list");

    assert_eq!((page.items.len(), page.total), (0, 1));
}

async fn a_patient_update_at_the_expected_version_replaces_it(store: &dyn ClinicStore) {
    let amy = add_patient(store, "Amy", "March", "amy@example.org").await;
    let changed = Patient { phone: "+1 555 0999".into(), allergies: vec!["latex".into()], ..next_patient(&amy) };

    let cancelled = store.update_patient(&changed, 1, None, ev()).await.expect("update");

    assert_eq!(cancelled, 0);
    assert_eq!(store.get_patient(&amy.patient_id).await.expect("get"), Some(changed));
}

async fn a_patient_update_with_a_wrong_version_is_stale_and_a_missing_one_not_found(store: &dyn ClinicStore) {
    let amy = add_patient(store, "Amy", "March", "amy@example.org").await;
    let changed = Patient { first_name: "Amelia".into(), ..next_patient(&amy) };

    let stale = store.update_patient(&changed, 2, None, ev()).await;
    let missing = store.update_patient(&Patient { patient_id: PatientId::generate(), ..changed }, 1, None, ev()).await;

    assert!(matches!(stale, Err(StoreError::Stale)), "{stale:?}");
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    assert_eq!(store.get_patient(&amy.patient_id).await.expect("get"), Some(amy));
}

async fn a_patient_update_onto_a_taken_duplicate_key_conflicts(store: &dyn ClinicStore) {
    add_patient(store, "Amy", "March", "amy@example.org").await;
    let jo = add_patient(store, "Jo", "March", "jo@example.org").await;

    let taken =
        store.update_patient(&Patient { email: "AMY@example.org".into(), ..next_patient(&jo) }, 1, None, ev()).await;

    assert!(matches!(taken, Err(StoreError::Conflict)), "{taken:?}");
    assert_eq!(store.get_patient(&jo.patient_id).await.expect("get"), Some(jo));
}

async fn deactivation_cancels_only_future_scheduled_appointments_and_counts_them(store: &dyn ClinicStore) {
    let amy = add_patient(store, "Amy", "March", "amy@example.org").await;
    let other = add_patient(store, "Jo", "March", "jo@example.org").await;
    let doc = add_doctor(store, "Meredith", "Grey").await;
    let yesterday = book(store, &amy, &doc, "2026-11-24", "10:00", "10:30").await;
    let earlier_today = book(store, &amy, &doc, "2026-11-25", "09:00", "09:30").await;
    let starting_now = book(store, &amy, &doc, "2026-11-25", "10:00", "10:15").await;
    let later_today = book(store, &amy, &doc, "2026-11-25", "10:30", "11:00").await;
    let tomorrow = book(store, &amy, &doc, "2026-11-26", "10:00", "10:30").await;
    let completed = book(store, &amy, &doc, "2026-11-27", "10:00", "10:30").await;
    let completed_done = Appointment { status: AppointmentStatus::Completed, ..next_appointment(&completed) };
    store.update_appointment(&completed_done, 1, false, ev()).await.expect("complete");
    let someone_elses = book(store, &other, &doc, "2026-11-28", "10:00", "10:30").await;
    let inactive = Patient { status: PatientStatus::Inactive, ..next_patient(&amy) };

    let count =
        store.update_patient(&inactive, 1, Some(ts("2026-11-25T10:00:00.400Z")), ev()).await.expect("deactivate");

    assert_eq!(count, 2);
    for (a, status, version) in [
        (&yesterday, AppointmentStatus::Scheduled, 1),
        (&earlier_today, AppointmentStatus::Scheduled, 1),
        (&starting_now, AppointmentStatus::Scheduled, 1),
        (&later_today, AppointmentStatus::Cancelled, 2),
        (&tomorrow, AppointmentStatus::Cancelled, 2),
        (&completed, AppointmentStatus::Completed, 2),
        (&someone_elses, AppointmentStatus::Scheduled, 1),
    ] {
        let read = store.get_appointment(&a.appointment_id).await.expect("get").expect("exists");
        assert_eq!((read.status, read.version), (status, version), "{} {}", a.appointment_date, a.start_time);
        if status == AppointmentStatus::Cancelled {
            assert_eq!(read.updated_at, inactive.updated_at);
        }
    }
    let read = store.get_patient(&amy.patient_id).await.expect("get").expect("exists");
    assert_eq!((read.status, read.version), (PatientStatus::Inactive, 2));
}

// ---- doctors ----

async fn a_duplicate_licence_conflicts_whatever_the_case(store: &dyn ClinicStore) {
    store.insert_doctor(&doctor("Meredith", "Grey", "md-123"), None, ev()).await.expect("insert");

    let twin = store.insert_doctor(&doctor("Derek", "Shepherd", "MD-123"), None, ev()).await;

    assert!(matches!(twin, Err(StoreError::Conflict)), "{twin:?}");
}

async fn a_doctor_reads_back_with_its_department_name_joined_live(store: &dyn ClinicStore) {
    let doc = add_doctor(store, "Meredith", "Grey").await;
    assert_eq!(store.get_doctor(&doc.doctor_id).await.expect("get"), Some(doc.clone()));
    let cardiology = department(store, CARDIOLOGY).await;

    store
        .update_department(&Department { name: "Heart Centre".into(), ..next_department(&cardiology) }, 1, ev())
        .await
        .expect("rename");

    let read = store.get_doctor(&doc.doctor_id).await.expect("get").expect("exists");
    assert_eq!((read.department_name.as_str(), read.version), ("Heart Centre", 1));
}

async fn the_doctor_filters_combine_with_and(store: &dyn ClinicStore) {
    let grey = add_doctor(store, "Meredith", "Grey").await;
    let yang = Doctor { specialty: "Cardiothoracic Surgery".into(), ..doctor("Cristina", "Yang", "L-2") };
    store.insert_doctor(&yang, None, ev()).await.expect("insert");
    let bailey = Doctor {
        department_id: dept(EMERGENCY),
        department_name: "Emergency".into(),
        ..doctor("Miranda", "Bailey", "L-3")
    };
    store.insert_doctor(&bailey, None, ev()).await.expect("insert");
    store
        .update_doctor(&Doctor { status: DoctorStatus::Inactive, ..next_doctor(&bailey) }, 1, ev())
        .await
        .expect("deactivate");
    let found = async |filter: DoctorFilter| {
        let mut found = ids(&store.list_doctors(&filter, ALL).await.expect("list").items, |d| &d.doctor_id);
        found.sort();
        found
    };
    let none = DoctorFilter::default();
    let cardiology_ids = {
        let mut v = vec![grey.doctor_id.to_string(), yang.doctor_id.to_string()];
        v.sort();
        v
    };

    assert_eq!(found(DoctorFilter { department_id: Some(CARDIOLOGY.into()), ..none.clone() }).await, cardiology_ids);
    assert_eq!(
        found(DoctorFilter { specialty: Some("cardiothoracic surgery".into()), ..none.clone() }).await,
        vec![yang.doctor_id.to_string()]
    );
    assert_eq!(
        found(DoctorFilter { status: Some(DoctorStatus::Inactive), ..none.clone() }).await,
        vec![bailey.doctor_id.to_string()]
    );
    assert_eq!(found(DoctorFilter { available: Some(true), ..none.clone() }).await, cardiology_ids);
    assert_eq!(
        found(DoctorFilter { available: Some(false), ..none.clone() }).await,
        vec![bailey.doctor_id.to_string()]
    );
    let both = DoctorFilter { department_id: Some(EMERGENCY.into()), available: Some(true), ..none.clone() };
    assert_eq!(found(both).await, Vec::<String>::new());
    assert_eq!(found(DoctorFilter { department_id: Some("DEPT-nope".into()), ..none }).await, Vec::<String>::new());
}

async fn doctors_are_newest_first_with_ties_broken_by_id_descending(store: &dyn ClinicStore) {
    let tie_a = add_doctor(store, "A", "One").await;
    let tie_b = add_doctor(store, "B", "Two").await;
    let newest = Doctor { created_at: ts("2026-11-21T09:00:00.000Z"), ..doctor("C", "Three", "L-3") };
    store.insert_doctor(&newest, None, ev()).await.expect("insert");
    let mut ties = vec![tie_a.doctor_id.to_string(), tie_b.doctor_id.to_string()];
    ties.sort();
    ties.reverse();

    let page = store.list_doctors(&DoctorFilter::default(), ALL).await.expect("list");

    assert_eq!(page.total, 3);
    assert_eq!(ids(&page.items, |d| &d.doctor_id), [vec![newest.doctor_id.to_string()], ties].concat());
}

async fn department_doctors_are_ordered_by_last_then_first_name_in_any_status(store: &dyn ClinicStore) {
    let zoe = add_doctor(store, "Zoe", "Adams").await;
    let amy = add_doctor(store, "Amy", "Baker").await;
    let abe = add_doctor(store, "Abe", "Baker").await;
    let abe_again = add_doctor(store, "Abe", "Baker2").await;
    store
        .update_doctor(&Doctor { status: DoctorStatus::Inactive, ..next_doctor(&amy) }, 1, ev())
        .await
        .expect("deactivate");
    let elsewhere =
        Doctor { department_id: dept(EMERGENCY), department_name: "Emergency".into(), ..doctor("Al", "Aaron", "L-9") };
    store.insert_doctor(&elsewhere, None, ev()).await.expect("insert");

    let doctors = store.list_department_doctors(&dept(CARDIOLOGY)).await.expect("list");

    let expected = [&zoe, &abe, &amy, &abe_again].map(|d| d.doctor_id.to_string());
    assert_eq!(ids(&doctors, |d| &d.doctor_id), expected);
}

async fn a_doctor_update_with_a_wrong_version_is_stale(store: &dyn ClinicStore) {
    let doc = add_doctor(store, "Meredith", "Grey").await;

    let stale = store.update_doctor(&Doctor { phone: "+1 555 0777".into(), ..next_doctor(&doc) }, 3, ev()).await;
    let missing = store.update_doctor(&doctor("No", "Body", "L-0"), 1, ev()).await;

    assert!(matches!(stale, Err(StoreError::Stale)), "{stale:?}");
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    assert_eq!(store.get_doctor(&doc.doctor_id).await.expect("get"), Some(doc));
}

// ---- appointments ----

async fn touching_appointments_of_one_doctor_do_not_clash(store: &dyn ClinicStore) {
    let amy = add_patient(store, "Amy", "March", "amy@example.org").await;
    let jo = add_patient(store, "Jo", "March", "jo@example.org").await;
    let doc = add_doctor(store, "Meredith", "Grey").await;
    book(store, &amy, &doc, "2026-12-01", "10:00", "10:30").await;

    store.book_appointment(&appointment(&jo, &doc, "2026-12-01", "10:30", "11:00"), None, ev()).await.expect("after");
    store.book_appointment(&appointment(&jo, &doc, "2026-12-01", "09:30", "10:00"), None, ev()).await.expect("before");
    store
        .book_appointment(&appointment(&jo, &doc, "2026-12-02", "10:00", "10:30"), None, ev())
        .await
        .expect("next day");
}

async fn an_overlapping_appointment_of_the_same_doctor_clashes_on_the_doctor_side(store: &dyn ClinicStore) {
    let amy = add_patient(store, "Amy", "March", "amy@example.org").await;
    let jo = add_patient(store, "Jo", "March", "jo@example.org").await;
    let doc = add_doctor(store, "Meredith", "Grey").await;
    book(store, &amy, &doc, "2026-12-01", "10:00", "10:30").await;

    for (start, end) in [("10:15", "10:45"), ("09:45", "10:15"), ("10:05", "10:10"), ("09:00", "12:00")] {
        let result = store.book_appointment(&appointment(&jo, &doc, "2026-12-01", start, end), None, ev()).await;
        assert!(matches!(result, Err(StoreError::Rejected(r)) if r == clash(true, false)), "{start}-{end}: {result:?}");
    }
    let page = store.list_appointments(&AppointmentFilter::default(), ALL).await.expect("list");
    assert_eq!(page.total, 1);
}

async fn the_same_patient_with_another_doctor_clashes_on_the_patient_side(store: &dyn ClinicStore) {
    let amy = add_patient(store, "Amy", "March", "amy@example.org").await;
    let grey = add_doctor(store, "Meredith", "Grey").await;
    let yang = add_doctor(store, "Cristina", "Yang").await;
    book(store, &amy, &grey, "2026-12-01", "10:00", "10:30").await;

    let result = store.book_appointment(&appointment(&amy, &yang, "2026-12-01", "10:15", "10:45"), None, ev()).await;

    assert!(matches!(result, Err(StoreError::Rejected(r)) if r == clash(false, true)), "{result:?}");
}

async fn a_clash_on_both_sides_reports_both(store: &dyn ClinicStore) {
    let amy = add_patient(store, "Amy", "March", "amy@example.org").await;
    let doc = add_doctor(store, "Meredith", "Grey").await;
    book(store, &amy, &doc, "2026-12-01", "10:00", "10:30").await;

    let result = store.book_appointment(&appointment(&amy, &doc, "2026-12-01", "10:00", "10:30"), None, ev()).await;

    assert!(matches!(result, Err(StoreError::Rejected(r)) if r == clash(true, true)), "{result:?}");
}

async fn cancelled_appointments_do_not_block_their_slot(store: &dyn ClinicStore) {
    let amy = add_patient(store, "Amy", "March", "amy@example.org").await;
    let doc = add_doctor(store, "Meredith", "Grey").await;
    let first = book(store, &amy, &doc, "2026-12-01", "10:00", "10:30").await;
    let cancelled = Appointment { status: AppointmentStatus::Cancelled, ..next_appointment(&first) };
    store.update_appointment(&cancelled, 1, false, ev()).await.expect("cancel");

    store.book_appointment(&appointment(&amy, &doc, "2026-12-01", "10:00", "10:30"), None, ev()).await.expect("rebook");
}

async fn concurrent_bookings_of_one_slot_have_exactly_one_winner(store: &dyn ClinicStore) {
    let doc = add_doctor(store, "Meredith", "Grey").await;
    let mut patients = Vec::new();
    for n in 0..8 {
        patients.push(add_patient(store, "Amy", "March", &format!("amy{n}@example.org")).await);
    }
    let bookings: Vec<Appointment> =
        patients.iter().map(|p| appointment(p, &doc, "2026-12-01", "10:00", "10:30")).collect();

    let results = join_all(bookings.iter().map(|a| store.book_appointment(a, None, ev()))).await;

    let winners = results.iter().filter(|r| r.is_ok()).count();
    let clashes =
        results.iter().filter(|r| matches!(r, Err(StoreError::Rejected(c)) if *c == clash(true, false))).count();
    assert_eq!((winners, clashes), (1, 7), "{results:?}");
}

/// The race must be impossible, not merely unlikely: 20 rounds of 50 bookings of mutually overlapping slots.
async fn fifty_parallel_bookings_of_one_slot_have_one_winner_twenty_times_over(store: &dyn ClinicStore) {
    let doc = add_doctor(store, "Meredith", "Grey").await;
    let mut patients = Vec::new();
    for n in 0..50 {
        patients.push(add_patient(store, "Amy", "March", &format!("amy{n}@example.org")).await);
    }
    for round in 1..=20 {
        let day = format!("2026-12-{round:02}");
        // Two shapes of slot, every one overlapping every other.
        let bookings: Vec<Appointment> = patients
            .iter()
            .enumerate()
            .map(|(n, p)| {
                let (start, end) = if n % 2 == 0 { ("10:00", "10:30") } else { ("10:10", "10:40") };
                appointment(p, &doc, &day, start, end)
            })
            .collect();

        let results = join_all(bookings.iter().map(|a| store.book_appointment(a, None, ev()))).await;

        let winners = results.iter().filter(|r| r.is_ok()).count();
        let clashes =
            results.iter().filter(|r| matches!(r, Err(StoreError::Rejected(c)) if *c == clash(true, false))).count();
        assert_eq!((winners, clashes), (1, 49), "round {round}: {results:?}");
        let booked = AppointmentFilter { date: Some(date(&day).0), ..AppointmentFilter::default() };
        assert_eq!(store.list_appointments(&booked, ALL).await.expect("list").total, 1, "round {round}");
    }
}

async fn one_patient_booking_two_doctors_at_once_gets_one_appointment(store: &dyn ClinicStore) {
    let amy = add_patient(store, "Amy", "March", "amy@example.org").await;
    let grey = add_doctor(store, "Meredith", "Grey").await;
    let yang = add_doctor(store, "Cristina", "Yang").await;
    for round in 1..=20 {
        let day = format!("2026-12-{round:02}");
        let (with_grey, with_yang) =
            (appointment(&amy, &grey, &day, "10:00", "10:30"), appointment(&amy, &yang, &day, "10:15", "10:45"));

        let (a, b) = tokio::join!(
            store.book_appointment(&with_grey, None, ev()),
            store.book_appointment(&with_yang, None, ev())
        );

        let outcomes = [&a, &b];
        assert_eq!(outcomes.iter().filter(|r| r.is_ok()).count(), 1, "round {round}: {a:?} / {b:?}");
        assert!(
            outcomes.iter().any(|r| matches!(r, Err(StoreError::Rejected(c)) if *c == clash(false, true))),
            "round {round}: {a:?} / {b:?}"
        );
    }
}

/// Booking locks the patient before the doctor and deactivation locks the patient first too, so the two queue
/// instead of deadlocking: either the booking lands first and the deactivation cancels it, or it is refused.
async fn a_booking_racing_the_patients_deactivation_is_refused_or_cancelled(store: &dyn ClinicStore) {
    let doc = add_doctor(store, "Meredith", "Grey").await;
    for round in 1..=20 {
        let amy = add_patient(store, "Amy", "March", &format!("amy{round}@example.org")).await;
        let visit = appointment(&amy, &doc, &format!("2026-12-{round:02}"), "10:00", "10:30");
        let gone = Patient { status: PatientStatus::Inactive, ..next_patient(&amy) };

        let (booked, cancelled) = tokio::join!(
            store.book_appointment(&visit, None, ev()),
            store.update_patient(&gone, 1, Some(ts("2026-11-25T10:00:00.000Z")), ev())
        );

        let cancelled = cancelled.unwrap_or_else(|e| panic!("round {round}: deactivation failed: {e:?}"));
        let stored = store.get_appointment(&visit.appointment_id).await.expect("get");
        match booked {
            Ok(()) => {
                assert_eq!(cancelled, 1, "round {round}");
                assert_eq!(stored.map(|a| a.status), Some(AppointmentStatus::Cancelled), "round {round}");
            }
            Err(StoreError::Rejected(Rule::PatientInactive)) => {
                assert_eq!((cancelled, stored), (0, None), "round {round}");
            }
            Err(e) => panic!("round {round}: booking failed: {e:?}"),
        }
    }
}

async fn booking_needs_an_existing_active_patient_and_an_active_doctor(store: &dyn ClinicStore) {
    let amy = add_patient(store, "Amy", "March", "amy@example.org").await;
    let gone = add_patient(store, "Beth", "March", "beth@example.org").await;
    store
        .update_patient(&Patient { status: PatientStatus::Inactive, ..next_patient(&gone) }, 1, None, ev())
        .await
        .expect("deactivate");
    let doc = add_doctor(store, "Meredith", "Grey").await;
    let away = add_doctor(store, "Cristina", "Yang").await;
    store.update_doctor(&Doctor { status: DoctorStatus::OnLeave, ..next_doctor(&away) }, 1, ev()).await.expect("leave");
    let try_book = async |p: &Patient, d: &Doctor| {
        store.book_appointment(&appointment(p, d, "2026-12-01", "10:00", "10:30"), None, ev()).await
    };

    let inactive = try_book(&gone, &doc).await;
    let on_leave = try_book(&amy, &away).await;
    let no_patient = try_book(&patient("No", "Body", "nobody@example.org"), &doc).await;
    let no_doctor = try_book(&amy, &doctor("No", "Body", "L-0")).await;

    assert!(matches!(inactive, Err(StoreError::Rejected(Rule::PatientInactive))), "{inactive:?}");
    assert!(matches!(on_leave, Err(StoreError::Rejected(Rule::DoctorUnavailable))), "{on_leave:?}");
    assert!(matches!(no_patient, Err(StoreError::NotFound)), "{no_patient:?}");
    assert!(matches!(no_doctor, Err(StoreError::NotFound)), "{no_doctor:?}");
}

async fn rescheduling_ignores_the_appointment_itself_but_not_the_others(store: &dyn ClinicStore) {
    let amy = add_patient(store, "Amy", "March", "amy@example.org").await;
    let jo = add_patient(store, "Jo", "March", "jo@example.org").await;
    let doc = add_doctor(store, "Meredith", "Grey").await;
    let mine = book(store, &amy, &doc, "2026-12-01", "10:00", "10:30").await;
    book(store, &jo, &doc, "2026-12-01", "11:00", "11:30").await;

    let later = Appointment { start_time: time("10:15"), end_time: time("10:45"), ..next_appointment(&mine) };
    store.update_appointment(&later, 1, true, ev()).await.expect("shift onto its own slot");
    let onto_jo = Appointment { start_time: time("10:45"), end_time: time("11:15"), ..next_appointment(&later) };
    let clashing = store.update_appointment(&onto_jo, 2, true, ev()).await;

    assert!(matches!(clashing, Err(StoreError::Rejected(r)) if r == clash(true, false)), "{clashing:?}");
    assert_eq!(store.get_appointment(&mine.appointment_id).await.expect("get"), Some(later));
}

async fn a_plain_appointment_update_skips_the_booking_checks_but_not_the_version(store: &dyn ClinicStore) {
    let amy = add_patient(store, "Amy", "March", "amy@example.org").await;
    let doc = add_doctor(store, "Meredith", "Grey").await;
    let visit = book(store, &amy, &doc, "2026-12-01", "10:00", "10:30").await;
    store
        .update_patient(&Patient { status: PatientStatus::Inactive, ..next_patient(&amy) }, 1, None, ev())
        .await
        .expect("deactivate");
    let done =
        Appointment { status: AppointmentStatus::Completed, notes: Some("Fine".into()), ..next_appointment(&visit) };

    let stale = store.update_appointment(&done, 5, false, ev()).await;
    store.update_appointment(&done, 1, false, ev()).await.expect("complete");
    let missing = store
        .update_appointment(&Appointment { appointment_id: AppointmentId::generate(), ..done.clone() }, 1, false, ev())
        .await;

    assert!(matches!(stale, Err(StoreError::Stale)), "{stale:?}");
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    assert_eq!(store.get_appointment(&visit.appointment_id).await.expect("get"), Some(done));
}

async fn an_appointment_reads_back_with_names_and_the_doctors_current_department(store: &dyn ClinicStore) {
    let amy = add_patient(store, "Amy", "March", "amy@example.org").await;
    let doc = add_doctor(store, "Meredith", "Grey").await;
    let visit =
        Appointment { notes: Some("Bring ECG".into()), ..appointment(&amy, &doc, "2026-12-01", "10:00", "10:30") };
    store.book_appointment(&visit, None, ev()).await.expect("book");
    assert_eq!(store.get_appointment(&visit.appointment_id).await.expect("get"), Some(visit.clone()));

    store.update_doctor(&Doctor { department_id: dept(EMERGENCY), ..next_doctor(&doc) }, 1, ev()).await.expect("move");
    store
        .update_patient(&Patient { last_name: "Laurence".into(), ..next_patient(&amy) }, 1, None, ev())
        .await
        .expect("rename");

    let read = store.get_appointment(&visit.appointment_id).await.expect("get").expect("exists");
    assert_eq!(read.department_id.as_str(), EMERGENCY);
    assert_eq!((read.patient_name.as_str(), read.doctor_name.as_str()), ("Amy Laurence", "Dr. Meredith Grey"));
    assert_eq!(read.version, 1);
}

async fn appointments_filter_by_patient_doctor_date_and_status_newest_first(store: &dyn ClinicStore) {
    let amy = add_patient(store, "Amy", "March", "amy@example.org").await;
    let jo = add_patient(store, "Jo", "March", "jo@example.org").await;
    let grey = add_doctor(store, "Meredith", "Grey").await;
    let yang = add_doctor(store, "Cristina", "Yang").await;
    let a1 = book(store, &amy, &grey, "2026-12-01", "09:00", "09:30").await;
    let a2 = book(store, &amy, &grey, "2026-12-01", "14:00", "14:30").await;
    let a3 = book(store, &amy, &yang, "2026-12-02", "09:00", "09:30").await;
    let j1 = book(store, &jo, &grey, "2026-12-03", "09:00", "09:30").await;
    store
        .update_appointment(&Appointment { status: AppointmentStatus::NoShow, ..next_appointment(&j1) }, 1, false, ev())
        .await
        .expect("no-show");
    let listed = async |filter: AppointmentFilter| {
        ids(&store.list_appointments(&filter, ALL).await.expect("list").items, |a| &a.appointment_id)
    };
    let id = |a: &Appointment| a.appointment_id.to_string();
    let none = AppointmentFilter::default();

    assert_eq!(listed(none.clone()).await, [&j1, &a3, &a2, &a1].map(id));
    assert_eq!(
        listed(AppointmentFilter { patient_id: Some(amy.patient_id.to_string()), ..none.clone() }).await,
        [&a3, &a2, &a1].map(id)
    );
    assert_eq!(
        listed(AppointmentFilter { doctor_id: Some(grey.doctor_id.to_string()), ..none.clone() }).await,
        [&j1, &a2, &a1].map(id)
    );
    assert_eq!(
        listed(AppointmentFilter { date: Some(date("2026-12-01").0), ..none.clone() }).await,
        [&a2, &a1].map(id)
    );
    assert_eq!(
        listed(AppointmentFilter { status: Some(AppointmentStatus::NoShow), ..none.clone() }).await,
        [&j1].map(id)
    );
    let page = store.list_appointments(&none, PageRequest { page: 2, limit: 3 }).await.expect("page 2");
    assert_eq!((ids(&page.items, |a| &a.appointment_id), page.total), (vec![id(&a1)], 4));
}

async fn busy_intervals_are_the_non_cancelled_appointments_of_the_inclusive_range(store: &dyn ClinicStore) {
    let amy = add_patient(store, "Amy", "March", "amy@example.org").await;
    let grey = add_doctor(store, "Meredith", "Grey").await;
    let yang = add_doctor(store, "Cristina", "Yang").await;
    book(store, &amy, &grey, "2026-11-30", "09:00", "09:30").await;
    book(store, &amy, &grey, "2026-12-01", "14:00", "14:30").await;
    let cancelled = book(store, &amy, &grey, "2026-12-01", "15:00", "15:30").await;
    store
        .update_appointment(
            &Appointment { status: AppointmentStatus::Cancelled, ..next_appointment(&cancelled) },
            1,
            false,
            ev(),
        )
        .await
        .expect("cancel");
    book(store, &amy, &grey, "2026-12-02", "09:00", "09:45").await;
    book(store, &amy, &grey, "2026-12-03", "09:00", "09:30").await;
    book(store, &amy, &yang, "2026-12-02", "11:00", "11:30").await;

    let mut busy =
        store.doctor_busy_intervals(&grey.doctor_id, date("2026-12-01").0, date("2026-12-02").0).await.expect("busy");

    let expected = [("2026-12-01", "14:00", "14:30"), ("2026-12-02", "09:00", "09:45")].map(|(d, s, e)| BusyInterval {
        date: date(d),
        start: time(s),
        end: time(e),
    });
    busy.sort_by_key(|b| (b.date, b.start));
    assert_eq!(busy, expected);
}

// ---- idempotency records (API.md §1.11) ----

use crate::idempotency::{self as idem, NOW, claim, completion};
use gospital::store::ClaimOutcome;

async fn a_free_key_is_claimed_once_and_then_reported_in_progress(store: &dyn ClinicStore) {
    idem::a_free_key_is_claimed_once_and_then_reported_in_progress(store).await;
}

async fn a_released_claim_frees_the_key_but_only_for_its_own_token(store: &dyn ClinicStore) {
    idem::a_released_claim_frees_the_key_but_only_for_its_own_token(store).await;
}

async fn a_claim_whose_lease_ran_out_is_taken_over(store: &dyn ClinicStore) {
    idem::a_claim_whose_lease_ran_out_is_taken_over(store).await;
}

async fn purging_keeps_live_records_and_an_expired_key_is_free_again(store: &dyn ClinicStore) {
    idem::purging_keeps_live_records_and_an_expired_key_is_free_again(store).await;
}

async fn a_claim_completed_with_the_patient_it_created_reports_that_answer(store: &dyn ClinicStore) {
    let scope = idem::scope();
    let c = claim(&scope, "A", NOW, 2_000);
    store.claim_idempotency(&c).await.expect("claim");
    let p = patient("Ada", "Lovelace", "ada.idem@example.org");
    let done = completion(&c, r#"{"patientId":"x"}"#, NOW + 86_400_000);

    store.insert_patient(&p, Some(&done), ev()).await.expect("insert with its completion");

    assert!(store.get_patient(&p.patient_id).await.expect("get").is_some());
    let again = store.claim_idempotency(&claim(&scope, "B", NOW + 5_000, 2_000)).await.expect("claim");
    assert_eq!(again, ClaimOutcome::Done { fingerprint: c.fingerprint.clone(), response: done.response.clone() });
    // A completed record is no longer a claim: releasing it does nothing.
    store.release_idempotency(&scope, "A").await.expect("no-op");
    assert!(matches!(
        store.claim_idempotency(&claim(&scope, "C", NOW + 6_000, 2_000)).await.expect("claim"),
        ClaimOutcome::Done { .. }
    ));
}

async fn a_write_completing_a_lost_claim_writes_nothing(store: &dyn ClinicStore) {
    let scope = idem::scope();
    let mine = claim(&scope, "mine", NOW, 1_000);
    store.claim_idempotency(&mine).await.expect("claim");
    // The lease ran out and another attempt took the key.
    store.claim_idempotency(&claim(&scope, "theirs", NOW + 2_000, 1_000)).await.expect("take over");
    let d = doctor("Gregory", "House", "LIC-LOST");
    let done = completion(&mine, "{}", NOW + 86_400_000);

    let result = store.insert_doctor(&d, Some(&done), ev()).await;

    assert!(matches!(result, Err(StoreError::ClaimLost)), "{result:?}");
    assert!(store.get_doctor(&d.doctor_id).await.expect("get").is_none(), "nothing of the write may land");
}

async fn every_create_of_r_completes_its_claim_atomically(store: &dyn ClinicStore) {
    let p = add_patient(store, "Grace", "Hopper", "grace.idem@example.org").await;
    let d = add_doctor(store, "Sofia", "Chen").await;
    let (department, booking) = (idem::scope(), idem::scope());
    let (c1, c2) = (claim(&department, "A", NOW, 2_000), claim(&booking, "A", NOW, 2_000));
    store.claim_idempotency(&c1).await.expect("claim");
    store.claim_idempotency(&c2).await.expect("claim");

    let done = completion(&c1, "department", NOW + 86_400_000);
    store.insert_department(&new_department("Idem"), Some(&done), ev()).await.expect("department");
    let done = completion(&c2, "appointment", NOW + 86_400_000);
    store
        .book_appointment(&appointment(&p, &d, "2026-12-01", "10:00", "10:30"), Some(&done), ev())
        .await
        .expect("booking");

    for (scope, what) in [(department, "department"), (booking, "appointment")] {
        let again = store.claim_idempotency(&claim(&scope, "B", NOW, 2_000)).await.expect("claim");
        assert!(matches!(again, ClaimOutcome::Done { ref response, .. } if response.body == what), "{what}: {again:?}");
    }
}

async fn purging_removes_expired_records_a_bounded_batch_at_a_time(store: &dyn ClinicStore) {
    for _ in 0..3 {
        store.claim_idempotency(&claim(&idem::scope(), "A", NOW, 1_000)).await.expect("claim");
    }
    let live = idem::scope();
    store.claim_idempotency(&claim(&live, "A", NOW, 60_000)).await.expect("claim");
    let at = gospital::domain::formats::Timestamp::from_millis(NOW + 5_000);
    assert_eq!(store.purge_idempotency(at, 2).await.expect("purge"), 2);
    assert_eq!(store.purge_idempotency(at, 2).await.expect("purge"), 1);
    assert_eq!(store.purge_idempotency(at, 2).await.expect("purge"), 0);
    assert!(matches!(
        store.claim_idempotency(&claim(&live, "B", NOW + 5_000, 1_000)).await.expect("claim"),
        ClaimOutcome::InProgress { .. }
    ));
}

/// [auth] SECURITY.md §4: revocations are kept as written, paged newest first (ties by ID), and the index holds
/// the latest time per `sub`.
async fn revocations_page_newest_first_and_the_index_keeps_each_subs_latest(store: &dyn ClinicStore) {
    use gospital::domain::revocation::Revocation;
    let at = |ms: i64, id: &str, sub: &str| Revocation {
        id: id.to_owned(),
        sub: sub.to_owned(),
        reason: format!("reason {id}"),
        revoked_at: Timestamp::from_millis(ms),
        revoked_by: "admin".to_owned(),
    };
    assert!(store.revocation_index().await.expect("index").is_empty());
    let written =
        [at(1_000, "01A", "dr-a"), at(3_000, "01C", "dr-a"), at(2_000, "01B", "nurse-ü"), at(3_000, "01D", "dr-b")];
    for r in &written {
        store.insert_revocation(r, ev()).await.expect("insert");
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_revocations(3, after.as_ref()).await.expect("page");
        assert!(page.items.len() <= 3);
        seen.extend(page.items);
        match page.next {
            Some(k) => after = Some(k),
            None => break,
        }
    }
    let ids: Vec<&str> = seen.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["01D", "01C", "01B", "01A"], "newest first, ties by ID descending");
    assert_eq!(seen[2], written[2], "read back as written");
    let mut index = store.revocation_index().await.expect("index");
    index.sort();
    assert_eq!(
        index,
        [("dr-a".to_owned(), 3_000), ("dr-b".to_owned(), 3_000), ("nurse-ü".to_owned(), 2_000)],
        "the latest revocation of each sub"
    );
}
