//! `ClinicStore` on SQLite: patients, doctors, departments and appointments.
//!
//! Reads use the read pool; list pages read their rows and their total inside one deferred transaction so
//! both come from the same WAL snapshot. Every write runs in a `BEGIN IMMEDIATE` transaction on the single
//! writer connection, so the checks before a write (versions, overlaps, head-doctor membership) see exactly
//! the state the write commits on; a dropped future drops its `Transaction`, which rolls back.
//! Statuses are stored as their wire text, which the literals below (`'active'`, `'cancelled'`, ...) match.
//! Dialect-only syntax: `BEGIN IMMEDIATE` (the `LIKE ... ESCAPE '!'` of the name search is shared with MySQL, in
//! `statements.rs`).
//! SQL assembled at run time (`AssertSqlSafe`) joins only the `&'static str` fragments of this module; values
//! are always bound as `?` parameters.

use async_trait::async_trait;
use chrono::NaiveDate;
use sqlx::sqlite::{SqliteArguments, SqliteQueryResult};
use sqlx::{AssertSqlSafe, Sqlite, Transaction};

use super::{SqliteClinicStore, idempotency};
use crate::audit::Chain;
use crate::domain::appointment::Appointment;
use crate::domain::department::Department;
use crate::domain::doctor::Doctor;
use crate::domain::formats::{Timestamp, format_date, format_time};
use crate::domain::ids::{AppointmentId, DepartmentId, DoctorId, PatientId};
use crate::domain::patient::Patient;
use crate::domain::revocation::Revocation;
use crate::store::revocations;
use crate::store::rows::{AppointmentRow, BusyRow, DepartmentRow, DoctorRow, PatientRow};
use crate::store::statements::{
    APPOINTMENT_INSERT, APPOINTMENT_SELECT, APPOINTMENT_UPDATE, CANCEL_FUTURE, DEPARTMENT_INSERT, DEPARTMENT_SELECT,
    DEPARTMENT_UPDATE, DOCTOR_INSERT, DOCTOR_SELECT, DOCTOR_UPDATE, Filter, PATIENT_INSERT, PATIENT_SELECT,
    PATIENT_UPDATE, appointment_filter, doctor_filter, patient_filter,
};
use crate::store::{
    AppointmentFilter, AppointmentStore, BusyInterval, ClaimOutcome, ClinicStore, Completion, DepartmentStore,
    DoctorFilter, DoctorStore, IdempotencyClaim, IdempotencyStore, Page, PageRequest, PatientFilter, PatientStore,
    PoolStats, Rule, StoreError, StoreResult,
};
use crate::store::{AuditEvent, CursorKey, KeyPage, RevocationStore};

type Tx = Transaction<'static, Sqlite>;
type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments>;

/// Half-open overlap (`start < other end AND other start < end`) against non-cancelled appointments of the same
/// day, for the doctor and for the patient; `appointment_id <> ?` excludes the one being rescheduled.
const OVERLAPS: &str = "SELECT \
     EXISTS (SELECT 1 FROM appointments WHERE doctor_id = ? AND appointment_date = ? AND status <> 'cancelled' \
             AND start_time < ? AND end_time > ? AND appointment_id <> ?), \
     EXISTS (SELECT 1 FROM appointments WHERE patient_id = ? AND appointment_date = ? AND status <> 'cancelled' \
             AND start_time < ? AND end_time > ? AND appointment_id <> ?)";

fn bind_patient_changes<'q>(q: Query<'q>, r: &'q PatientRow) -> Query<'q> {
    q.bind(&r.first_name)
        .bind(&r.last_name)
        .bind(&r.last_name_lc)
        .bind(&r.full_name_lc)
        .bind(&r.date_of_birth)
        .bind(&r.gender)
        .bind(&r.email)
        .bind(&r.email_lc)
        .bind(&r.phone)
        .bind(&r.address)
        .bind(&r.emergency_contact)
        .bind(&r.blood_type)
        .bind(&r.allergies)
        .bind(&r.status)
        .bind(r.version)
        .bind(r.updated_at)
}

fn bind_doctor_changes<'q>(q: Query<'q>, r: &'q DoctorRow) -> Query<'q> {
    q.bind(&r.first_name)
        .bind(&r.last_name)
        .bind(&r.email)
        .bind(&r.phone)
        .bind(&r.specialty)
        .bind(&r.specialty_lc)
        .bind(&r.license_number)
        .bind(&r.license_lc)
        .bind(&r.department_id)
        .bind(r.years_of_experience)
        .bind(&r.qualifications)
        .bind(&r.status)
        .bind(r.version)
        .bind(r.updated_at)
}

fn bind_department_changes<'q>(q: Query<'q>, r: &'q DepartmentRow) -> Query<'q> {
    q.bind(&r.name)
        .bind(&r.name_lc)
        .bind(&r.description)
        .bind(r.floor)
        .bind(&r.extension)
        .bind(&r.head_doctor_id)
        .bind(r.version)
        .bind(r.updated_at)
}

fn bind_appointment_changes<'q>(q: Query<'q>, r: &'q AppointmentRow) -> Query<'q> {
    q.bind(&r.appointment_date)
        .bind(&r.start_time)
        .bind(&r.end_time)
        .bind(&r.reason)
        .bind(&r.status)
        .bind(&r.notes)
        .bind(r.version)
        .bind(r.updated_at)
}

/// A versioned UPDATE must hit exactly one row; the version was checked in the same transaction, so zero
/// means another writer got there first.
fn one_row(result: SqliteQueryResult) -> StoreResult<()> {
    if result.rows_affected() == 1 { Ok(()) } else { Err(StoreError::Stale) }
}

/// `NotFound` when the row is missing, `Stale` when its version is not `expected`.
async fn check_version(tx: &mut Tx, table: &str, key: &str, id: &str, expected: i64) -> StoreResult<()> {
    let sql = format!("SELECT version FROM {table} WHERE {key} = ?");
    let version: Option<i64> = sqlx::query_scalar(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut **tx).await?;
    match version {
        None => Err(StoreError::NotFound),
        Some(v) if v != expected => Err(StoreError::Stale),
        Some(_) => Ok(()),
    }
}

/// What booking and rescheduling check before writing: patient active, doctor active, no overlap on either side.
async fn check_bookable(tx: &mut Tx, a: &Appointment, exclude: Option<&AppointmentId>) -> StoreResult<()> {
    let patient: Option<String> = sqlx::query_scalar("SELECT status FROM patients WHERE patient_id = ?")
        .bind(a.patient_id.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    match patient.as_deref() {
        None => return Err(StoreError::NotFound),
        Some("active") => {}
        Some(_) => return Err(StoreError::Rejected(Rule::PatientInactive)),
    }
    let doctor: Option<String> = sqlx::query_scalar("SELECT status FROM doctors WHERE doctor_id = ?")
        .bind(a.doctor_id.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    match doctor.as_deref() {
        None => return Err(StoreError::NotFound),
        Some("active") => {}
        Some(_) => return Err(StoreError::Rejected(Rule::DoctorUnavailable)),
    }
    let (date, start, end) =
        (format_date(a.appointment_date.0), format_time(a.start_time.0), format_time(a.end_time.0));
    // No stored ID is empty, so "" excludes nothing.
    let exclude = exclude.map_or("", AppointmentId::as_str);
    let (doctor, patient): (bool, bool) = sqlx::query_as(OVERLAPS)
        .bind(a.doctor_id.as_str())
        .bind(&date)
        .bind(&end)
        .bind(&start)
        .bind(exclude)
        .bind(a.patient_id.as_str())
        .bind(&date)
        .bind(&end)
        .bind(&start)
        .bind(exclude)
        .fetch_one(&mut **tx)
        .await?;
    if doctor || patient {
        return Err(StoreError::Rejected(Rule::TimeSlot { doctor, patient }));
    }
    Ok(())
}

impl SqliteClinicStore {
    /// Takes the write lock up front, so nothing changes between a write's checks and its commit.
    async fn begin(&self) -> StoreResult<Tx> {
        Ok(self.db.write.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// One page of `select` and the total count, read from one snapshot. `count_from` is the FROM part of the
    /// count, under the same aliases as `select` uses for the columns `filter` names.
    async fn page<R>(
        &self,
        select: &str,
        count_from: &str,
        filter: &Filter,
        order: &str,
        page: PageRequest,
    ) -> StoreResult<(Vec<R>, u64)>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
    {
        let clause = filter.sql();
        // One snapshot for the count and the page, so the total matches the rows.
        let (rows, total) = self
            .db
            .reading(async |c| {
                let mut tx = sqlx::Connection::begin(&mut *c).await?;
                let count_sql = format!("SELECT COUNT(*) FROM {count_from}{clause}");
                let mut count = sqlx::query_scalar::<_, i64>(AssertSqlSafe(count_sql));
                for arg in &filter.args {
                    count = count.bind(arg);
                }
                let total = count.fetch_one(&mut *tx).await?;
                let rows_sql = format!("{select}{clause} ORDER BY {order} LIMIT ? OFFSET ?");
                let mut rows = sqlx::query_as::<_, R>(AssertSqlSafe(rows_sql));
                for arg in &filter.args {
                    rows = rows.bind(arg);
                }
                let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
                let rows = rows.bind(i64::from(page.limit)).bind(offset).fetch_all(&mut *tx).await?;
                tx.commit().await?;
                Ok((rows, total))
            })
            .await?;
        let total = u64::try_from(total).map_err(|_| StoreError::Internal("negative row count".into()))?;
        Ok((rows, total))
    }
}

#[async_trait]
impl PatientStore for SqliteClinicStore {
    async fn insert_patient(
        &self,
        patient: &Patient,
        done: Option<&Completion>,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        let row = PatientRow::from_domain(patient)?;
        let mut tx = self.begin().await?;
        bind_patient_changes(sqlx::query(PATIENT_INSERT).bind(&row.patient_id).bind(row.created_at), &row)
            .execute(&mut *tx)
            .await?;
        idempotency::complete(&mut tx, done).await?;
        super::audit::insert(&mut tx, Chain::R, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_patient(&self, id: &PatientId) -> StoreResult<Option<Patient>> {
        let sql = format!("{PATIENT_SELECT} WHERE patient_id = ?");
        let row: Option<PatientRow> = self
            .db
            .reading(async |c| sqlx::query_as(AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(c).await)
            .await?;
        row.map(PatientRow::into_domain).transpose()
    }

    async fn list_patients(&self, filter: &PatientFilter, page: PageRequest) -> StoreResult<Page<Patient>> {
        let f = patient_filter(filter);
        let (rows, total) =
            self.page::<PatientRow>(PATIENT_SELECT, "patients", &f, "created_at DESC, patient_id DESC", page).await?;
        let items = rows.into_iter().map(PatientRow::into_domain).collect::<StoreResult<_>>()?;
        Ok(Page { items, total })
    }

    async fn update_patient(
        &self,
        patient: &Patient,
        expected_version: i64,
        cancel_from: Option<Timestamp>,
        event: &AuditEvent,
    ) -> StoreResult<u64> {
        let row = PatientRow::from_domain(patient)?;
        let mut tx = self.begin().await?;
        check_version(&mut tx, "patients", "patient_id", &row.patient_id, expected_version).await?;
        let result = bind_patient_changes(sqlx::query(PATIENT_UPDATE), &row)
            .bind(&row.patient_id)
            .bind(expected_version)
            .execute(&mut *tx)
            .await?;
        one_row(result)?;
        let cancelled = match cancel_from {
            None => 0,
            Some(now) => {
                let today = format_date(now.date());
                sqlx::query(CANCEL_FUTURE)
                    .bind(row.updated_at)
                    .bind(&row.patient_id)
                    .bind(&today)
                    .bind(&today)
                    .bind(format_time(now.time_of_day()))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
            }
        };
        super::audit::insert(&mut tx, Chain::R, event).await?;
        tx.commit().await?;
        Ok(cancelled)
    }
}

#[async_trait]
impl DoctorStore for SqliteClinicStore {
    async fn insert_doctor(&self, doctor: &Doctor, done: Option<&Completion>, event: &AuditEvent) -> StoreResult<()> {
        let row = DoctorRow::from_domain(doctor)?;
        let mut tx = self.begin().await?;
        bind_doctor_changes(sqlx::query(DOCTOR_INSERT).bind(&row.doctor_id).bind(row.created_at), &row)
            .execute(&mut *tx)
            .await?;
        idempotency::complete(&mut tx, done).await?;
        super::audit::insert(&mut tx, Chain::R, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_doctor(&self, id: &DoctorId) -> StoreResult<Option<Doctor>> {
        let sql = format!("{DOCTOR_SELECT} WHERE d.doctor_id = ?");
        let row: Option<DoctorRow> = self
            .db
            .reading(async |c| sqlx::query_as(AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(c).await)
            .await?;
        row.map(DoctorRow::into_domain).transpose()
    }

    async fn list_doctors(&self, filter: &DoctorFilter, page: PageRequest) -> StoreResult<Page<Doctor>> {
        let f = doctor_filter(filter);
        let (rows, total) =
            self.page::<DoctorRow>(DOCTOR_SELECT, "doctors d", &f, "d.created_at DESC, d.doctor_id DESC", page).await?;
        let items = rows.into_iter().map(DoctorRow::into_domain).collect::<StoreResult<_>>()?;
        Ok(Page { items, total })
    }

    async fn list_department_doctors(&self, department: &DepartmentId) -> StoreResult<Vec<Doctor>> {
        let sql = format!("{DOCTOR_SELECT} WHERE d.department_id = ? ORDER BY d.last_name, d.first_name, d.doctor_id");
        let rows: Vec<DoctorRow> = self
            .db
            .reading(async |c| sqlx::query_as(AssertSqlSafe(sql)).bind(department.as_str()).fetch_all(c).await)
            .await?;
        rows.into_iter().map(DoctorRow::into_domain).collect()
    }

    async fn update_doctor(&self, doctor: &Doctor, expected_version: i64, event: &AuditEvent) -> StoreResult<()> {
        let row = DoctorRow::from_domain(doctor)?;
        let mut tx = self.begin().await?;
        let stored: Option<(String, i64)> =
            sqlx::query_as("SELECT department_id, version FROM doctors WHERE doctor_id = ?")
                .bind(&row.doctor_id)
                .fetch_optional(&mut *tx)
                .await?;
        let current_department = match stored {
            None => return Err(StoreError::NotFound),
            Some((_, version)) if version != expected_version => return Err(StoreError::Stale),
            Some((department, _)) => department,
        };
        if current_department != row.department_id {
            let heads: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM departments WHERE department_id = ? AND head_doctor_id = ?)",
            )
            .bind(&current_department)
            .bind(&row.doctor_id)
            .fetch_one(&mut *tx)
            .await?;
            if heads {
                return Err(StoreError::Rejected(Rule::HeadDoctorConflict));
            }
        }
        let result = bind_doctor_changes(sqlx::query(DOCTOR_UPDATE), &row)
            .bind(&row.doctor_id)
            .bind(expected_version)
            .execute(&mut *tx)
            .await?;
        one_row(result)?;
        super::audit::insert(&mut tx, Chain::R, event).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl DepartmentStore for SqliteClinicStore {
    async fn list_departments(&self) -> StoreResult<Vec<Department>> {
        let sql = format!("{DEPARTMENT_SELECT} ORDER BY dep.name_lc, dep.department_id");
        let rows: Vec<DepartmentRow> =
            self.db.reading(async |c| sqlx::query_as(AssertSqlSafe(sql)).fetch_all(c).await).await?;
        rows.into_iter().map(DepartmentRow::into_domain).collect()
    }

    async fn get_department(&self, id: &DepartmentId) -> StoreResult<Option<Department>> {
        let sql = format!("{DEPARTMENT_SELECT} WHERE dep.department_id = ?");
        let row: Option<DepartmentRow> = self
            .db
            .reading(async |c| sqlx::query_as(AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(c).await)
            .await?;
        row.map(DepartmentRow::into_domain).transpose()
    }

    async fn insert_department(
        &self,
        department: &Department,
        done: Option<&Completion>,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        let row = DepartmentRow::from_domain(department);
        let mut tx = self.begin().await?;
        bind_department_changes(sqlx::query(DEPARTMENT_INSERT).bind(&row.department_id).bind(row.created_at), &row)
            .execute(&mut *tx)
            .await?;
        idempotency::complete(&mut tx, done).await?;
        super::audit::insert(&mut tx, Chain::R, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_department(
        &self,
        department: &Department,
        expected_version: i64,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        let row = DepartmentRow::from_domain(department);
        let mut tx = self.begin().await?;
        check_version(&mut tx, "departments", "department_id", &row.department_id, expected_version).await?;
        if let Some(head) = &row.head_doctor_id {
            let head_department: Option<String> =
                sqlx::query_scalar("SELECT department_id FROM doctors WHERE doctor_id = ?")
                    .bind(head)
                    .fetch_optional(&mut *tx)
                    .await?;
            // A head that vanished counts as one of another department: the caller already checked it exists.
            if head_department.as_deref() != Some(row.department_id.as_str()) {
                return Err(StoreError::Rejected(Rule::HeadDoctorConflict));
            }
        }
        let result = bind_department_changes(sqlx::query(DEPARTMENT_UPDATE), &row)
            .bind(&row.department_id)
            .bind(expected_version)
            .execute(&mut *tx)
            .await?;
        one_row(result)?;
        super::audit::insert(&mut tx, Chain::R, event).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl AppointmentStore for SqliteClinicStore {
    async fn book_appointment(
        &self,
        appointment: &Appointment,
        done: Option<&Completion>,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        let row = AppointmentRow::from_domain(appointment);
        let mut tx = self.begin().await?;
        check_bookable(&mut tx, appointment, None).await?;
        bind_appointment_changes(
            sqlx::query(APPOINTMENT_INSERT)
                .bind(&row.appointment_id)
                .bind(&row.patient_id)
                .bind(&row.doctor_id)
                .bind(row.created_at),
            &row,
        )
        .execute(&mut *tx)
        .await?;
        idempotency::complete(&mut tx, done).await?;
        super::audit::insert(&mut tx, Chain::R, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_appointment(&self, id: &AppointmentId) -> StoreResult<Option<Appointment>> {
        let sql = format!("{APPOINTMENT_SELECT} WHERE a.appointment_id = ?");
        let row: Option<AppointmentRow> = self
            .db
            .reading(async |c| sqlx::query_as(AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(c).await)
            .await?;
        row.map(AppointmentRow::into_domain).transpose()
    }

    async fn list_appointments(&self, filter: &AppointmentFilter, page: PageRequest) -> StoreResult<Page<Appointment>> {
        let f = appointment_filter(filter);
        let order = "a.appointment_date DESC, a.start_time DESC, a.appointment_id DESC";
        let (rows, total) = self.page::<AppointmentRow>(APPOINTMENT_SELECT, "appointments a", &f, order, page).await?;
        let items = rows.into_iter().map(AppointmentRow::into_domain).collect::<StoreResult<_>>()?;
        Ok(Page { items, total })
    }

    async fn update_appointment(
        &self,
        appointment: &Appointment,
        expected_version: i64,
        reschedule: bool,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        let row = AppointmentRow::from_domain(appointment);
        let mut tx = self.begin().await?;
        check_version(&mut tx, "appointments", "appointment_id", &row.appointment_id, expected_version).await?;
        if reschedule {
            check_bookable(&mut tx, appointment, Some(&appointment.appointment_id)).await?;
        }
        let result = bind_appointment_changes(sqlx::query(APPOINTMENT_UPDATE), &row)
            .bind(&row.appointment_id)
            .bind(expected_version)
            .execute(&mut *tx)
            .await?;
        one_row(result)?;
        super::audit::insert(&mut tx, Chain::R, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn doctor_busy_intervals(
        &self,
        doctor: &DoctorId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<BusyInterval>> {
        let rows: Vec<BusyRow> = self
            .db
            .reading(async |c| {
                sqlx::query_as(
                    "SELECT appointment_date, start_time, end_time FROM appointments \
             WHERE doctor_id = ? AND appointment_date >= ? AND appointment_date <= ? AND status <> 'cancelled' \
             ORDER BY appointment_date, start_time",
                )
                .bind(doctor.as_str())
                .bind(format_date(from))
                .bind(format_date(to))
                .fetch_all(c)
                .await
            })
            .await?;
        rows.into_iter().map(BusyRow::into_domain).collect()
    }
}

#[async_trait]
impl IdempotencyStore for SqliteClinicStore {
    async fn claim_idempotency(&self, claim: &IdempotencyClaim) -> StoreResult<ClaimOutcome> {
        idempotency::claim(&self.db, claim).await
    }

    async fn release_idempotency(&self, scope: &str, token: &str) -> StoreResult<()> {
        idempotency::release(&self.db, scope, token).await
    }

    async fn purge_idempotency(&self, now: Timestamp, limit: u32) -> StoreResult<u64> {
        idempotency::purge(&self.db, now, limit).await
    }
}

#[async_trait]
impl RevocationStore for SqliteClinicStore {
    async fn insert_revocation(&self, r: &Revocation, event: &AuditEvent) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(revocations::INSERT)
            .bind(&r.id)
            .bind(&r.sub)
            .bind(&r.reason)
            .bind(r.revoked_at.millis())
            .bind(&r.revoked_by)
            .execute(&mut *tx)
            .await?;
        super::audit::insert(&mut tx, Chain::R, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_revocations(&self, limit: u32, after: Option<&CursorKey>) -> StoreResult<KeyPage<Revocation>> {
        let (at, id) = revocations::start(after);
        let rows: Vec<revocations::Row> = self
            .db
            .reading(async |c| {
                sqlx::query_as(revocations::PAGE)
                    .bind(at)
                    .bind(at)
                    .bind(id)
                    .bind(i64::from(limit.max(1)) + 1)
                    .fetch_all(c)
                    .await
            })
            .await?;
        Ok(revocations::page(rows, limit))
    }

    async fn revocation_index(&self) -> StoreResult<Vec<(String, i64)>> {
        let rows: Vec<revocations::IndexRow> =
            self.db.reading(async |c| sqlx::query_as(revocations::INDEX).fetch_all(c).await).await?;
        Ok(rows.into_iter().map(|r| (r.sub, r.revoked_at)).collect())
    }
}

#[async_trait]
impl ClinicStore for SqliteClinicStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn pools(&self) -> Vec<PoolStats> {
        vec![self.db.read_pool_stats(), PoolStats::of("sqlite_write", &self.db.write)]
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&mut *self.db.reader().await?).await?;
        Ok(())
    }

    async fn schema_version(&self) -> StoreResult<Option<i64>> {
        self.db.schema_version().await
    }
}
