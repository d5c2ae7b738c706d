//! Contract suite of the records store port (D).
//!
//! Every case is an `async fn` over `&dyn RecordStore`; `backend_tests!` stamps them out once per adapter, each
//! run on a fresh, empty store: SQLite always, DynamoDB (see `dynamo_support.rs`), and MySQL when
//! `GOSPITAL_TEST_MYSQL_URL` is set (see `support.rs`).

use crate::support::ev;
use std::collections::HashSet;
use std::time::Duration;

use gospital::domain::formats::{Date, Timestamp, parse_date, parse_timestamp};
use gospital::domain::ids::{AppointmentId, DoctorId, InvoiceId, PatientId, RecordId};
use gospital::domain::invoice::{Invoice, InvoiceItem, PaymentMethod, PaymentStatus};
use gospital::domain::medical_record::{LabResult, MedicalRecord, Prescription, VitalSigns};
use gospital::domain::money::{Money, TaxRate};
use gospital::store::mysql::MySqlRecordStore;
use gospital::store::sqlite::{SqliteDb, SqliteOptions};
use gospital::store::sqlite_records::SqliteRecordStore;
use gospital::store::{CursorKey, DateRange, KeyPage, RecordStore, StoreError};

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
macro_rules! record_cases {
    ($stamp:ident!($($args:tt)*)) => {
        $stamp!($($args)*;
            the_backend_names_itself_and_answers_pings,
            an_inserted_record_reads_back_unchanged,
            an_inserted_invoice_reads_back_with_exact_money,
            reading_an_unknown_id_returns_none,
            inserting_a_duplicate_record_conflicts_and_keeps_the_original,
            inserting_a_duplicate_invoice_conflicts_and_keeps_the_original,
            updating_a_record_at_the_expected_version_replaces_it,
            updating_a_record_with_a_wrong_version_is_stale_and_changes_nothing,
            updating_a_missing_record_is_not_found,
            updating_an_invoice_at_the_expected_version_replaces_it,
            updating_an_invoice_with_a_wrong_version_is_stale,
            updating_a_missing_invoice_is_not_found,
            paging_250_records_by_100_gives_100_100_50_without_duplicates,
            records_are_newest_first_with_ties_broken_by_id_descending,
            the_date_range_is_inclusive_on_the_utc_visit_day,
            another_patients_records_and_invoices_never_appear,
            the_invoice_status_filter_pages_through_only_that_status,
            invoices_are_newest_first_with_ties_broken_by_id_descending,
            concurrent_payments_at_one_version_have_one_winner_and_lose_nothing,
            a_free_key_is_claimed_once_and_then_reported_in_progress,
            a_released_claim_frees_the_key_but_only_for_its_own_token,
            a_claim_whose_lease_ran_out_is_taken_over,
            purging_keeps_live_records_and_an_expired_key_is_free_again,
            records_and_invoices_complete_their_claims_in_the_same_write,
            a_write_completing_a_lost_claim_writes_nothing,
            an_amendment_keeps_the_version_it_replaces_in_the_history,
            a_record_never_amended_has_no_history_and_others_histories_never_appear,
            history_pages_newest_first_without_gaps_or_repeats,
            two_amendments_from_one_version_have_one_winner_and_one_history_entry,
            amending_a_missing_record_is_not_found_and_keeps_no_history,
        );
    };
}

record_cases!(backend_tests!(sqlite, super::open_sqlite));
record_cases!(backend_tests!(dynamodb, crate::dynamo_support::open_dynamodb));
record_cases!(backend_tests!(optional mysql, super::open_mysql));

/// A SQLite store on its own temporary file, deleted when dropped.
struct SqliteBackend {
    store: SqliteRecordStore,
    _dir: tempfile::TempDir,
}

impl SqliteBackend {
    fn store(&self) -> &dyn RecordStore {
        &self.store
    }
}

async fn open_sqlite() -> SqliteBackend {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("records.db").display());
    let opts = SqliteOptions {
        busy_timeout: Duration::from_secs(5),
        read_connections: 4,
        acquire_timeout: Duration::from_secs(5),
        synchronous: sqlx::sqlite::SqliteSynchronous::Full,
    };
    let db = SqliteDb::open(&url, opts).await.expect("open SQLite");
    db.migrate().await.expect("migrate SQLite");
    SqliteBackend { store: SqliteRecordStore::new(db), _dir: dir }
}

/// A MySQL store on a database of its own, dropped with it.
async fn open_mysql(test: &str) -> MySqlBackend {
    let test_db = crate::support::mysql_test_db(test).await;
    MySqlBackend { store: MySqlRecordStore::new(test_db.db.clone()), test_db }
}

struct MySqlBackend {
    store: MySqlRecordStore,
    test_db: crate::support::MySqlTestDb,
}

impl MySqlBackend {
    fn store(&self) -> &dyn RecordStore {
        &self.store
    }

    async fn close(&self) {
        self.test_db.close().await;
    }
}

// ---- fixtures ----

fn ts(s: &str) -> Timestamp {
    parse_timestamp(s).expect("valid timestamp")
}

fn date(s: &str) -> Date {
    Date(parse_date(s).expect("valid date"))
}

fn money(s: &str) -> Money {
    Money::parse(s).expect("valid money")
}

/// A minimal record of `patient` seen at `visit`.
fn record(patient: &PatientId, visit: &str) -> MedicalRecord {
    MedicalRecord {
        record_id: RecordId::generate(),
        patient_id: patient.clone(),
        doctor_id: DoctorId::generate(),
        doctor_name: "Dr. Gregory House".into(),
        appointment_id: None,
        visit_date: ts(visit),
        chief_complaint: "Headache".into(),
        diagnosis: None,
        symptoms: vec![],
        treatment: None,
        prescriptions: vec![],
        lab_results: vec![],
        vital_signs: None,
        notes: None,
        follow_up_date: None,
        amendment_reason: None,
        version: 1,
        created_at: ts("2026-03-10T08:00:00.000Z"),
        updated_at: ts("2026-03-10T08:00:00.000Z"),
    }
}

/// A record with every optional member set.
fn full_record(patient: &PatientId) -> MedicalRecord {
    MedicalRecord {
        appointment_id: Some(AppointmentId::generate()),
        diagnosis: Some("Tension headache".into()),
        symptoms: vec!["headache".into(), "fatigue".into()],
        treatment: Some("Rest".into()),
        prescriptions: vec![Prescription {
            medication: "Ibuprofen".into(),
            dosage: "400 mg".into(),
            frequency: "every 8 hours".into(),
            duration: "3 days".into(),
        }],
        lab_results: vec![
            LabResult { test_name: "CBC".into(), result: "normal".into(), normal_range: Some("n/a".into()) },
            LabResult { test_name: "CRP".into(), result: "2 mg/L".into(), normal_range: None },
        ],
        vital_signs: Some(VitalSigns {
            blood_pressure: Some("120/80".into()),
            heart_rate: Some(72),
            temperature: Some(37.2),
            weight: Some(70.5),
            height: None,
        }),
        notes: Some("Ünïcödé \"quoted\" notes".into()),
        follow_up_date: Some(date("2026-03-24")),
        ..record(patient, "2026-03-10T09:15:30.123Z")
    }
}

/// An invoice of `patient` dated `day`, with amounts that floating point would not keep exact.
fn invoice(patient: &PatientId, day: &str, status: PaymentStatus) -> Invoice {
    Invoice {
        invoice_id: InvoiceId::generate(),
        patient_id: patient.clone(),
        patient_name: "Ada Lovelace".into(),
        appointment_id: None,
        invoice_date: date(day),
        due_date: date("2026-12-31"),
        items: vec![
            InvoiceItem {
                description: "Consultation".into(),
                quantity: 1,
                unit_price: money("19.89"),
                amount: money("19.89"),
            },
            InvoiceItem {
                description: "Plaster".into(),
                quantity: 1,
                unit_price: money("0.10"),
                amount: money("0.10"),
            },
        ],
        subtotal: money("19.99"),
        tax_rate: TaxRate::parse("0.08").expect("valid rate"),
        tax: money("1.60"),
        total: money("21.59"),
        amount_paid: money("0.10"),
        amount_due: money("21.49"),
        payment_status: status,
        payment_method: None,
        payment_date: None,
        notes: None,
        version: 1,
        created_at: ts("2026-03-10T08:00:00.000Z"),
        updated_at: ts("2026-03-10T08:00:00.000Z"),
    }
}

async fn insert_records(store: &dyn RecordStore, records: &[MedicalRecord]) {
    for r in records {
        store.insert_record(r, None, ev()).await.expect("insert record");
    }
}

async fn insert_invoices(store: &dyn RecordStore, invoices: &[Invoice]) {
    for i in invoices {
        store.insert_invoice(i, None, ev()).await.expect("insert invoice");
    }
}

/// Follows `next` to the end; returns every item and the size of each page.
async fn all_record_pages(
    store: &dyn RecordStore,
    patient: &PatientId,
    range: DateRange,
    limit: u32,
) -> (Vec<MedicalRecord>, Vec<usize>) {
    let (mut items, mut sizes, mut after): (Vec<MedicalRecord>, Vec<usize>, Option<CursorKey>) = (vec![], vec![], None);
    loop {
        let page = store.list_patient_records(patient, range, limit, after.as_ref()).await.expect("list records");
        sizes.push(page.items.len());
        items.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return (items, sizes),
        }
        assert!(sizes.len() <= 1000, "paging does not terminate");
    }
}

async fn all_invoice_pages(
    store: &dyn RecordStore,
    patient: &PatientId,
    status: Option<PaymentStatus>,
    limit: u32,
) -> (Vec<Invoice>, Vec<usize>) {
    let (mut items, mut sizes, mut after): (Vec<Invoice>, Vec<usize>, Option<CursorKey>) = (vec![], vec![], None);
    loop {
        let page = store.list_patient_invoices(patient, status, limit, after.as_ref()).await.expect("list invoices");
        sizes.push(page.items.len());
        items.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return (items, sizes),
        }
        assert!(sizes.len() <= 1000, "paging does not terminate");
    }
}

/// The contract order: sort key descending, then ID descending.
fn expected_record_ids(records: &[MedicalRecord]) -> Vec<RecordId> {
    let mut sorted: Vec<&MedicalRecord> = records.iter().collect();
    sorted.sort_by(|a, b| (b.sort_key(), &b.record_id).cmp(&(a.sort_key(), &a.record_id)));
    sorted.into_iter().map(|r| r.record_id.clone()).collect()
}

fn expected_invoice_ids<'a>(invoices: impl IntoIterator<Item = &'a Invoice>) -> Vec<InvoiceId> {
    let mut sorted: Vec<&Invoice> = invoices.into_iter().collect();
    sorted.sort_by(|a, b| (b.sort_key(), &b.invoice_id).cmp(&(a.sort_key(), &a.invoice_id)));
    sorted.into_iter().map(|i| i.invoice_id.clone()).collect()
}

fn record_ids(records: &[MedicalRecord]) -> Vec<RecordId> {
    records.iter().map(|r| r.record_id.clone()).collect()
}

fn invoice_ids(invoices: &[Invoice]) -> Vec<InvoiceId> {
    invoices.iter().map(|i| i.invoice_id.clone()).collect()
}

// ---- cases ----

async fn the_backend_names_itself_and_answers_pings(store: &dyn RecordStore) {
    assert!(["sqlite", "mysql", "dynamodb"].contains(&store.backend()));
    store.ping().await.expect("ping");
}

async fn an_inserted_record_reads_back_unchanged(store: &dyn RecordStore) {
    let original = full_record(&PatientId::generate());

    store.insert_record(&original, None, ev()).await.expect("insert");
    let read = store.get_record(&original.record_id).await.expect("get");

    assert_eq!(read, Some(original));
}

async fn an_inserted_invoice_reads_back_with_exact_money(store: &dyn RecordStore) {
    let original = Invoice {
        payment_method: Some(PaymentMethod::CreditCard),
        payment_date: Some(ts("2026-03-11T10:00:00.001Z")),
        notes: Some("partial".into()),
        appointment_id: Some(AppointmentId::generate()),
        ..invoice(&PatientId::generate(), "2026-03-10", PaymentStatus::Pending)
    };

    store.insert_invoice(&original, None, ev()).await.expect("insert");
    let read = store.get_invoice(&original.invoice_id).await.expect("get").expect("present");

    assert_eq!(read, original);
    let amounts = [read.subtotal, read.tax, read.total, read.amount_paid, read.amount_due, read.items[1].amount];
    let texts: Vec<String> = amounts.iter().map(Money::to_string).collect();
    assert_eq!(texts, ["19.99", "1.60", "21.59", "0.10", "21.49", "0.10"]);
    assert_eq!(read.tax_rate.to_string(), "0.08");
}

async fn reading_an_unknown_id_returns_none(store: &dyn RecordStore) {
    assert_eq!(store.get_record(&RecordId::generate()).await.expect("get record"), None);
    assert_eq!(store.get_invoice(&InvoiceId::generate()).await.expect("get invoice"), None);
}

async fn inserting_a_duplicate_record_conflicts_and_keeps_the_original(store: &dyn RecordStore) {
    let original = record(&PatientId::generate(), "2026-03-10T09:00:00.000Z");
    store.insert_record(&original, None, ev()).await.expect("insert");
    let intruder = MedicalRecord {
        chief_complaint: "Overwritten".into(),
        ..record(&PatientId::generate(), "2026-04-01T00:00:00.000Z")
    };
    let intruder = MedicalRecord { record_id: original.record_id.clone(), ..intruder };

    let result = store.insert_record(&intruder, None, ev()).await;

    assert!(matches!(result, Err(StoreError::Conflict)), "{result:?}");
    assert_eq!(store.get_record(&original.record_id).await.expect("get"), Some(original.clone()));
    let listed = store.list_patient_records(&intruder.patient_id, DateRange::default(), 10, None).await.expect("list");
    assert!(listed.items.is_empty(), "the refused insert left a trace in the intruder's list");
}

async fn inserting_a_duplicate_invoice_conflicts_and_keeps_the_original(store: &dyn RecordStore) {
    let original = invoice(&PatientId::generate(), "2026-03-10", PaymentStatus::Pending);
    store.insert_invoice(&original, None, ev()).await.expect("insert");
    let intruder = Invoice {
        invoice_id: original.invoice_id.clone(),
        total: money("999.99"),
        ..invoice(&PatientId::generate(), "2026-04-01", PaymentStatus::Paid)
    };

    let result = store.insert_invoice(&intruder, None, ev()).await;

    assert!(matches!(result, Err(StoreError::Conflict)), "{result:?}");
    assert_eq!(store.get_invoice(&original.invoice_id).await.expect("get"), Some(original.clone()));
    let paid =
        store.list_patient_invoices(&original.patient_id, Some(PaymentStatus::Paid), 10, None).await.expect("list");
    assert!(paid.items.is_empty());
}

async fn updating_a_record_at_the_expected_version_replaces_it(store: &dyn RecordStore) {
    let patient = PatientId::generate();
    let older = record(&patient, "2026-03-05T12:00:00.000Z");
    let moved = record(&patient, "2026-03-01T12:00:00.000Z");
    insert_records(store, &[older.clone(), moved.clone()]).await;
    let changed = MedicalRecord {
        visit_date: ts("2026-03-09T12:00:00.000Z"),
        diagnosis: Some("Migraine".into()),
        version: 2,
        updated_at: ts("2026-03-11T08:00:00.000Z"),
        ..moved.clone()
    };

    store.amend_record(&moved, &changed, ev()).await.expect("update");

    assert_eq!(store.get_record(&moved.record_id).await.expect("get"), Some(changed.clone()));
    // The new visit date must move the record in the list and in the date filter, not just in the document.
    let all = store.list_patient_records(&patient, DateRange::default(), 10, None).await.expect("list");
    assert_eq!(record_ids(&all.items), [changed.record_id.clone(), older.record_id.clone()]);
    let day = parse_date("2026-03-09").expect("valid date");
    let range = DateRange { from: Some(day), to: Some(day) };
    let on_day = store.list_patient_records(&patient, range, 10, None).await.expect("list");
    assert_eq!(on_day.items, [changed]);
}

async fn updating_a_record_with_a_wrong_version_is_stale_and_changes_nothing(store: &dyn RecordStore) {
    let original = record(&PatientId::generate(), "2026-03-10T09:00:00.000Z");
    store.insert_record(&original, None, ev()).await.expect("insert");
    let first = MedicalRecord { notes: Some("first".into()), version: 2, ..original.clone() };
    store.amend_record(&original, &first, ev()).await.expect("first update");
    let late = MedicalRecord { notes: Some("late".into()), version: 2, ..original.clone() };

    let result = store.amend_record(&original, &late, ev()).await;

    assert!(matches!(result, Err(StoreError::Stale)), "{result:?}");
    assert_eq!(store.get_record(&original.record_id).await.expect("get"), Some(first));
}

async fn updating_a_missing_record_is_not_found(store: &dyn RecordStore) {
    let never_stored = record(&PatientId::generate(), "2026-03-10T09:00:00.000Z");
    let ghost = MedicalRecord { version: 2, ..never_stored.clone() };

    let result = store.amend_record(&never_stored, &ghost, ev()).await;

    assert!(matches!(result, Err(StoreError::NotFound)), "{result:?}");
    assert_eq!(store.get_record(&ghost.record_id).await.expect("get"), None, "an update must never create");
}

async fn updating_an_invoice_at_the_expected_version_replaces_it(store: &dyn RecordStore) {
    let original = invoice(&PatientId::generate(), "2026-03-10", PaymentStatus::Pending);
    store.insert_invoice(&original, None, ev()).await.expect("insert");
    let paid = Invoice {
        payment_status: PaymentStatus::Paid,
        payment_method: Some(PaymentMethod::Cash),
        payment_date: Some(ts("2026-03-12T10:00:00.000Z")),
        amount_paid: money("21.59"),
        amount_due: money("0.00"),
        version: 2,
        ..original.clone()
    };

    store.update_invoice(&paid, 1, ev()).await.expect("update");

    assert_eq!(store.get_invoice(&original.invoice_id).await.expect("get"), Some(paid.clone()));
    // The status filter must follow the new status.
    let pending =
        store.list_patient_invoices(&original.patient_id, Some(PaymentStatus::Pending), 10, None).await.expect("list");
    assert!(pending.items.is_empty());
    let now_paid =
        store.list_patient_invoices(&original.patient_id, Some(PaymentStatus::Paid), 10, None).await.expect("list");
    assert_eq!(now_paid.items, [paid]);
}

async fn updating_an_invoice_with_a_wrong_version_is_stale(store: &dyn RecordStore) {
    let original = invoice(&PatientId::generate(), "2026-03-10", PaymentStatus::Pending);
    store.insert_invoice(&original, None, ev()).await.expect("insert");
    let changed = Invoice { payment_status: PaymentStatus::Cancelled, version: 6, ..original.clone() };

    let result = store.update_invoice(&changed, 5, ev()).await;

    assert!(matches!(result, Err(StoreError::Stale)), "{result:?}");
    assert_eq!(store.get_invoice(&original.invoice_id).await.expect("get"), Some(original));
}

async fn updating_a_missing_invoice_is_not_found(store: &dyn RecordStore) {
    let ghost = Invoice { version: 2, ..invoice(&PatientId::generate(), "2026-03-10", PaymentStatus::Pending) };

    let result = store.update_invoice(&ghost, 1, ev()).await;

    assert!(matches!(result, Err(StoreError::NotFound)), "{result:?}");
    assert_eq!(store.get_invoice(&ghost.invoice_id).await.expect("get"), None, "an update must never create");
}

async fn paging_250_records_by_100_gives_100_100_50_without_duplicates(store: &dyn RecordStore) {
    let patient = PatientId::generate();
    // Three records per visit time, so page boundaries also fall inside runs of equal sort keys.
    let records: Vec<MedicalRecord> = (0..250_i64)
        .map(|i| {
            let visit = Timestamp::from_millis(ts("2026-01-01T00:00:00.000Z").millis() + (i / 3) * 3_600_000);
            MedicalRecord { visit_date: visit, ..record(&patient, "2026-01-01T00:00:00.000Z") }
        })
        .collect();
    insert_records(store, &records).await;

    let (items, sizes) = all_record_pages(store, &patient, DateRange::default(), 100).await;

    assert_eq!(sizes, [100, 100, 50]);
    let unique: HashSet<&RecordId> = items.iter().map(|r| &r.record_id).collect();
    assert_eq!(unique.len(), 250, "a record appeared twice");
    assert_eq!(record_ids(&items), expected_record_ids(&records));
}

async fn records_are_newest_first_with_ties_broken_by_id_descending(store: &dyn RecordStore) {
    let patient = PatientId::generate();
    let same_time = "2026-03-10T09:00:00.000Z";
    let records = vec![
        record(&patient, same_time),
        record(&patient, "2026-03-10T08:59:59.999Z"),
        record(&patient, same_time),
        record(&patient, "2026-03-10T09:00:00.001Z"),
        record(&patient, same_time),
    ];
    insert_records(store, &records).await;

    let page = store.list_patient_records(&patient, DateRange::default(), 10, None).await.expect("list");
    let (paged, sizes) = all_record_pages(store, &patient, DateRange::default(), 2).await;

    let expected = vec![
        records[3].record_id.clone(),
        records[4].record_id.clone(),
        records[2].record_id.clone(),
        records[0].record_id.clone(),
        records[1].record_id.clone(),
    ];
    assert_eq!(record_ids(&page.items), expected);
    assert_eq!(page.next, None);
    assert_eq!(record_ids(&paged), expected);
    assert_eq!(sizes, [2, 2, 1]);
}

async fn the_date_range_is_inclusive_on_the_utc_visit_day(store: &dyn RecordStore) {
    let patient = PatientId::generate();
    let records = vec![
        record(&patient, "2026-02-28T23:59:59.999Z"),
        record(&patient, "2026-03-01T00:00:00.000Z"),
        // 23:30 on 1 March at UTC-2 is 01:30 on 2 March in UTC: the UTC day counts.
        record(&patient, "2026-03-01T23:30:00.000-02:00"),
        record(&patient, "2026-03-02T23:59:59.999Z"),
        record(&patient, "2026-03-03T00:00:00.000Z"),
    ];
    insert_records(store, &records).await;
    let day = |s: &str| Some(parse_date(s).expect("valid date"));
    let ids = |idx: &[usize]| expected_record_ids(&idx.iter().map(|&i| records[i].clone()).collect::<Vec<_>>());

    let both = DateRange { from: day("2026-03-01"), to: day("2026-03-02") };
    let (in_both, _) = all_record_pages(store, &patient, both, 2).await;
    let from_only = DateRange { from: day("2026-03-02"), to: None };
    let (in_from, _) = all_record_pages(store, &patient, from_only, 100).await;
    let to_only = DateRange { from: None, to: day("2026-03-01") };
    let (in_to, _) = all_record_pages(store, &patient, to_only, 100).await;
    let single = DateRange { from: day("2026-03-03"), to: day("2026-03-03") };
    let (in_single, _) = all_record_pages(store, &patient, single, 100).await;
    let empty = DateRange { from: day("2026-03-04"), to: None };
    let none: KeyPage<MedicalRecord> = store.list_patient_records(&patient, empty, 100, None).await.expect("list");

    assert_eq!(record_ids(&in_both), ids(&[1, 2, 3]));
    assert_eq!(record_ids(&in_from), ids(&[2, 3, 4]));
    assert_eq!(record_ids(&in_to), ids(&[0, 1]));
    assert_eq!(record_ids(&in_single), ids(&[4]));
    assert!(none.items.is_empty() && none.next.is_none());
}

async fn another_patients_records_and_invoices_never_appear(store: &dyn RecordStore) {
    let (mine, theirs) = (PatientId::generate(), PatientId::generate());
    let my_records: Vec<MedicalRecord> =
        (0..5).map(|d| record(&mine, &format!("2026-03-0{}T09:00:00.000Z", d + 1))).collect();
    let their_records: Vec<MedicalRecord> =
        (0..5).map(|d| record(&theirs, &format!("2026-03-0{}T09:00:00.000Z", d + 1))).collect();
    insert_records(store, &their_records).await;
    insert_records(store, &my_records).await;
    let my_invoices = vec![invoice(&mine, "2026-03-01", PaymentStatus::Paid)];
    insert_invoices(store, &[invoice(&theirs, "2026-03-02", PaymentStatus::Paid)]).await;
    insert_invoices(store, &my_invoices).await;

    let (records, _) = all_record_pages(store, &mine, DateRange::default(), 2).await;
    let (invoices, _) = all_invoice_pages(store, &mine, None, 1).await;
    let (paid, _) = all_invoice_pages(store, &mine, Some(PaymentStatus::Paid), 1).await;
    let nobody =
        store.list_patient_records(&PatientId::generate(), DateRange::default(), 10, None).await.expect("list");

    assert_eq!(record_ids(&records), expected_record_ids(&my_records));
    assert_eq!(invoice_ids(&invoices), invoice_ids(&my_invoices));
    assert_eq!(invoice_ids(&paid), invoice_ids(&my_invoices));
    assert!(nobody.items.is_empty() && nobody.next.is_none());
}

async fn the_invoice_status_filter_pages_through_only_that_status(store: &dyn RecordStore) {
    let patient = PatientId::generate();
    let statuses = [PaymentStatus::Pending, PaymentStatus::Paid, PaymentStatus::Overdue];
    let invoices: Vec<Invoice> = (0..30)
        .map(|i| invoice(&patient, &format!("2026-03-{:02}", i % 10 + 1), statuses[i % statuses.len()]))
        .collect();
    insert_invoices(store, &invoices).await;
    insert_invoices(store, &[invoice(&PatientId::generate(), "2026-03-05", PaymentStatus::Paid)]).await;

    let (paid, sizes) = all_invoice_pages(store, &patient, Some(PaymentStatus::Paid), 4).await;
    let (cancelled, _) = all_invoice_pages(store, &patient, Some(PaymentStatus::Cancelled), 4).await;
    let (everything, all_sizes) = all_invoice_pages(store, &patient, None, 100).await;

    let expected_paid = expected_invoice_ids(invoices.iter().filter(|i| i.payment_status == PaymentStatus::Paid));
    assert_eq!(invoice_ids(&paid), expected_paid);
    assert_eq!(sizes, [4, 4, 2]);
    assert!(paid.iter().all(|i| i.payment_status == PaymentStatus::Paid));
    assert!(cancelled.is_empty());
    assert_eq!(invoice_ids(&everything), expected_invoice_ids(&invoices));
    assert_eq!(all_sizes, [30]);
}

async fn invoices_are_newest_first_with_ties_broken_by_id_descending(store: &dyn RecordStore) {
    let patient = PatientId::generate();
    let invoices = vec![
        invoice(&patient, "2026-03-10", PaymentStatus::Pending),
        invoice(&patient, "2026-03-09", PaymentStatus::Pending),
        invoice(&patient, "2026-03-10", PaymentStatus::Pending),
        invoice(&patient, "2026-03-11", PaymentStatus::Pending),
    ];
    insert_invoices(store, &invoices).await;

    let (listed, sizes) = all_invoice_pages(store, &patient, None, 3).await;

    let expected: Vec<InvoiceId> = [3, 2, 0, 1].iter().map(|&i| invoices[i].invoice_id.clone()).collect();
    assert_eq!(invoice_ids(&listed), expected);
    assert_eq!(sizes, [3, 1]);
}

async fn concurrent_payments_at_one_version_have_one_winner_and_lose_nothing(store: &dyn RecordStore) {
    let original = invoice(&PatientId::generate(), "2026-03-10", PaymentStatus::Pending);
    store.insert_invoice(&original, None, ev()).await.expect("insert");
    let pay = |base: &Invoice, amount: &str| Invoice {
        amount_paid: base.amount_paid.plus(money(amount)),
        amount_due: base.amount_due.minus(money(amount)),
        version: base.version + 1,
        ..base.clone()
    };
    let (five, seven) = (pay(&original, "5.00"), pay(&original, "7.00"));

    let (a, b) = tokio::join!(store.update_invoice(&five, 1, ev()), store.update_invoice(&seven, 1, ev()));

    let outcomes = [&a, &b];
    assert_eq!(outcomes.iter().filter(|r| r.is_ok()).count(), 1, "{a:?} / {b:?}");
    assert!(outcomes.iter().any(|r| matches!(r, Err(StoreError::Stale))), "{a:?} / {b:?}");
    let (winner, loser_amount) = if a.is_ok() { (&five, "7.00") } else { (&seven, "5.00") };
    let stored = store.get_invoice(&original.invoice_id).await.expect("get").expect("present");
    assert_eq!(&stored, winner);
    // The loser re-reads and re-applies on top of the winner: neither payment is lost.
    store.update_invoice(&pay(&stored, loser_amount), stored.version, ev()).await.expect("re-applied payment");
    let last = store.get_invoice(&original.invoice_id).await.expect("get").expect("present");
    assert_eq!(
        (last.amount_paid.to_string(), last.amount_due.to_string(), last.version),
        ("12.10".into(), "9.49".into(), 3)
    );
}

// ---- idempotency records (API.md §1.11) ----

use crate::idempotency::{self as idem, NOW, claim, completion};
use gospital::store::ClaimOutcome;

async fn a_free_key_is_claimed_once_and_then_reported_in_progress(store: &dyn RecordStore) {
    idem::a_free_key_is_claimed_once_and_then_reported_in_progress(store).await;
}

async fn a_released_claim_frees_the_key_but_only_for_its_own_token(store: &dyn RecordStore) {
    idem::a_released_claim_frees_the_key_but_only_for_its_own_token(store).await;
}

async fn a_claim_whose_lease_ran_out_is_taken_over(store: &dyn RecordStore) {
    idem::a_claim_whose_lease_ran_out_is_taken_over(store).await;
}

async fn purging_keeps_live_records_and_an_expired_key_is_free_again(store: &dyn RecordStore) {
    idem::purging_keeps_live_records_and_an_expired_key_is_free_again(store).await;
}

async fn records_and_invoices_complete_their_claims_in_the_same_write(store: &dyn RecordStore) {
    let patient = PatientId::generate();
    let (for_record, for_invoice) = (idem::scope(), idem::scope());
    let (c1, c2) = (claim(&for_record, "A", NOW, 2_000), claim(&for_invoice, "A", NOW, 2_000));
    store.claim_idempotency(&c1).await.expect("claim");
    store.claim_idempotency(&c2).await.expect("claim");
    let r = record(&patient, "2026-03-10T09:00:00.000Z");
    let i = invoice(&patient, "2026-03-10", PaymentStatus::Pending);

    store.insert_record(&r, Some(&completion(&c1, "record", NOW + 86_400_000)), ev()).await.expect("record");
    store.insert_invoice(&i, Some(&completion(&c2, "invoice", NOW + 86_400_000)), ev()).await.expect("invoice");

    assert!(store.get_record(&r.record_id).await.expect("get").is_some());
    assert!(store.get_invoice(&i.invoice_id).await.expect("get").is_some());
    for (scope, what, c) in [(for_record, "record", &c1), (for_invoice, "invoice", &c2)] {
        let again = store.claim_idempotency(&claim(&scope, "B", NOW + 1_000, 2_000)).await.expect("claim");
        let want = completion(c, what, NOW + 86_400_000).response;
        assert_eq!(again, ClaimOutcome::Done { fingerprint: c.fingerprint.clone(), response: want }, "{what}");
    }
}

async fn a_write_completing_a_lost_claim_writes_nothing(store: &dyn RecordStore) {
    let scope = idem::scope();
    let mine = claim(&scope, "mine", NOW, 1_000);
    store.claim_idempotency(&mine).await.expect("claim");
    store.claim_idempotency(&claim(&scope, "theirs", NOW + 2_000, 1_000)).await.expect("take over");
    let r = record(&PatientId::generate(), "2026-03-10T09:00:00.000Z");
    let i = invoice(&PatientId::generate(), "2026-03-10", PaymentStatus::Pending);
    let done = completion(&mine, "{}", NOW + 86_400_000);

    let record_result = store.insert_record(&r, Some(&done), ev()).await;
    let invoice_result = store.insert_invoice(&i, Some(&done), ev()).await;

    assert!(matches!(record_result, Err(StoreError::ClaimLost)), "{record_result:?}");
    assert!(matches!(invoice_result, Err(StoreError::ClaimLost)), "{invoice_result:?}");
    assert!(store.get_record(&r.record_id).await.expect("get").is_none(), "nothing of the write may land");
    assert!(store.get_invoice(&i.invoice_id).await.expect("get").is_none(), "nothing of the write may land");
}

// ---- record history ([history], API.md §3.7) ----

fn amended(previous: &MedicalRecord, notes: &str) -> MedicalRecord {
    MedicalRecord {
        notes: Some(notes.to_owned()),
        amendment_reason: Some(format!("because {notes}")),
        version: previous.version + 1,
        updated_at: Timestamp::from_millis(previous.updated_at.millis() + 1_000),
        ..previous.clone()
    }
}

async fn an_amendment_keeps_the_version_it_replaces_in_the_history(store: &dyn RecordStore) {
    let v1 = record(&PatientId::generate(), "2026-03-10T09:00:00.000Z");
    store.insert_record(&v1, None, ev()).await.expect("insert");
    let v2 = amended(&v1, "second");
    let v3 = amended(&v2, "third");

    store.amend_record(&v1, &v2, ev()).await.expect("amend to 2");
    store.amend_record(&v2, &v3, ev()).await.expect("amend to 3");

    assert_eq!(store.get_record(&v1.record_id).await.expect("get"), Some(v3));
    let page = store.list_record_history(&v1.record_id, 10, None).await.expect("history");
    assert_eq!(page.items, [v2, v1], "each earlier version exactly as it was, newest first");
    assert!(page.next.is_none());
}

async fn a_record_never_amended_has_no_history_and_others_histories_never_appear(store: &dyn RecordStore) {
    let lone = record(&PatientId::generate(), "2026-03-10T09:00:00.000Z");
    let busy = record(&PatientId::generate(), "2026-03-10T09:00:00.000Z");
    insert_records(store, &[lone.clone(), busy.clone()]).await;
    store.amend_record(&busy, &amended(&busy, "x"), ev()).await.expect("amend");

    let page = store.list_record_history(&lone.record_id, 10, None).await.expect("history");
    assert!(page.items.is_empty() && page.next.is_none(), "{page:?}");
    assert_eq!(store.list_record_history(&busy.record_id, 10, None).await.expect("history").items.len(), 1);
}

async fn history_pages_newest_first_without_gaps_or_repeats(store: &dyn RecordStore) {
    let mut current = record(&PatientId::generate(), "2026-03-10T09:00:00.000Z");
    store.insert_record(&current, None, ev()).await.expect("insert");
    for i in 0..5 {
        let next = amended(&current, &format!("n{i}"));
        store.amend_record(&current, &next, ev()).await.expect("amend");
        current = next;
    }
    let mut versions = Vec::new();
    let mut sizes = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_record_history(&current.record_id, 2, after.as_ref()).await.expect("history");
        sizes.push(page.items.len());
        versions.extend(page.items.iter().map(|r| r.version));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(versions, [5, 4, 3, 2, 1]);
    assert_eq!(sizes, [2, 2, 1]);
}

async fn two_amendments_from_one_version_have_one_winner_and_one_history_entry(store: &dyn RecordStore) {
    let v1 = record(&PatientId::generate(), "2026-03-10T09:00:00.000Z");
    store.insert_record(&v1, None, ev()).await.expect("insert");
    let (a, b) = (amended(&v1, "a"), amended(&v1, "b"));

    let (ra, rb) = tokio::join!(store.amend_record(&v1, &a, ev()), store.amend_record(&v1, &b, ev()));

    let wins = [&ra, &rb].iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "{ra:?} {rb:?}");
    for r in [&ra, &rb] {
        assert!(matches!(r, Ok(()) | Err(StoreError::Stale)), "{r:?}");
    }
    let page = store.list_record_history(&v1.record_id, 10, None).await.expect("history");
    assert_eq!(page.items, std::slice::from_ref(&v1), "the history holds version 1 once");
    // A late writer that read version 1 can never overwrite that entry or the record.
    let late = store.amend_record(&v1, &amended(&v1, "late"), ev()).await;
    assert!(matches!(late, Err(StoreError::Stale)), "{late:?}");
    let stored = store.get_record(&v1.record_id).await.expect("get").expect("record");
    assert!(stored == a || stored == b);
}

async fn amending_a_missing_record_is_not_found_and_keeps_no_history(store: &dyn RecordStore) {
    let never = record(&PatientId::generate(), "2026-03-10T09:00:00.000Z");
    let result = store.amend_record(&never, &amended(&never, "x"), ev()).await;
    assert!(matches!(result, Err(StoreError::NotFound)), "{result:?}");
    assert!(store.list_record_history(&never.record_id, 10, None).await.expect("history").items.is_empty());
}
