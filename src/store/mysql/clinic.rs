//! `ClinicStore` on MySQL/MariaDB: patients, doctors, departments and appointments.
//!
//! The SQL is the SQLite adapter's, statement for statement, plus row locks. Every write is one [`Tx`] run
//! through [`retry_on_lock_failure`]; before it checks anything, it locks the rows that competing writers of the
//! same entities also lock, always in this order:
//! - patient, then doctor, then appointment (booking, rescheduling, patient deactivation and its cancellations;
//!   a booking and a deactivation of the same patient thus queue on the patient row instead of deadlocking);
//! - doctor, then department (doctor moves and head-doctor changes).
//!
//! Checks read with `FOR UPDATE` / `LOCK IN SHARE MODE` or after those locks are held. Under REPEATABLE READ a
//! transaction's snapshot is taken at its first plain read, and every write transaction here locks before its
//! first plain read, so the overlap check sees every booking committed before the doctor's and patient's locks
//! were granted. List pages read their rows and total from one consistent snapshot.
//! `LIKE` escapes with `!` rather than `\`, so the SQL means the same with or without `NO_BACKSLASH_ESCAPES`.
//! SQL assembled at run time (`AssertSqlSafe`) joins only the `&'static str` fragments of this module; values
//! are always bound as `?` parameters.

use async_trait::async_trait;
use chrono::NaiveDate;
use sqlx::mysql::{MySqlArguments, MySqlQueryResult, MySqlRow};
use sqlx::{AssertSqlSafe, MySql, MySqlConnection};

use super::rows::{FromMySql, decode, text};
use super::{MySqlClinicStore, TxError, TxResult, idempotency, retry_on_lock_failure};
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

type Query<'q> = sqlx::query::Query<'q, MySql, MySqlArguments>;

/// Half-open overlap (`start < other end AND other start < end`) against non-cancelled appointments of the same
/// day, for the doctor and for the patient; `appointment_id <> ?` excludes the one being rescheduled.
const OVERLAPS: &str = "SELECT \
     EXISTS (SELECT 1 FROM appointments WHERE doctor_id = ? AND appointment_date = ? AND status <> 'cancelled' \
             AND start_time < ? AND end_time > ? AND appointment_id <> ?) AS doctor_busy, \
     EXISTS (SELECT 1 FROM appointments WHERE patient_id = ? AND appointment_date = ? AND status <> 'cancelled' \
             AND start_time < ? AND end_time > ? AND appointment_id <> ?) AS patient_busy";

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

/// A versioned UPDATE must hit exactly one row (sqlx asks for matched, not changed, rows); the version was
/// checked under a lock in the same transaction, so zero means another writer got there first.
fn one_row(result: MySqlQueryResult) -> TxResult<()> {
    if result.rows_affected() == 1 { Ok(()) } else { Err(StoreError::Stale.into()) }
}

/// Locks the row and checks its version: `NotFound` when it is missing, `Stale` when not at `expected`.
async fn lock_version(conn: &mut MySqlConnection, table: &str, key: &str, id: &str, expected: i64) -> TxResult<()> {
    let sql = format!("SELECT version FROM {table} WHERE {key} = ? FOR UPDATE");
    let version: Option<i64> = sqlx::query_scalar(AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await?;
    match version {
        None => Err(StoreError::NotFound.into()),
        Some(v) if v != expected => Err(StoreError::Stale.into()),
        Some(_) => Ok(()),
    }
}

/// One text column of at most one row.
async fn fetch_text(conn: &mut MySqlConnection, sql: &'static str, id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query(sql).bind(id).try_map(|row: MySqlRow| text(&row, "v")).fetch_optional(conn).await
}

/// The statuses of a booking's patient and doctor, read under exclusive locks, patient first.
struct Parties {
    patient: Option<String>,
    doctor: Option<String>,
}

async fn lock_parties(conn: &mut MySqlConnection, a: &Appointment) -> TxResult<Parties> {
    let patient =
        fetch_text(conn, "SELECT status AS v FROM patients WHERE patient_id = ? FOR UPDATE", a.patient_id.as_str())
            .await?;
    let doctor =
        fetch_text(conn, "SELECT status AS v FROM doctors WHERE doctor_id = ? FOR UPDATE", a.doctor_id.as_str())
            .await?;
    Ok(Parties { patient, doctor })
}

/// What booking and rescheduling check before writing, with the parties already locked: patient active, doctor
/// active, no overlap on either side.
async fn check_bookable(
    conn: &mut MySqlConnection,
    parties: Parties,
    a: &Appointment,
    exclude: Option<&AppointmentId>,
) -> TxResult<()> {
    match parties.patient.as_deref() {
        None => return Err(StoreError::NotFound.into()),
        Some("active") => {}
        Some(_) => return Err(StoreError::Rejected(Rule::PatientInactive).into()),
    }
    match parties.doctor.as_deref() {
        None => return Err(StoreError::NotFound.into()),
        Some("active") => {}
        Some(_) => return Err(StoreError::Rejected(Rule::DoctorUnavailable).into()),
    }
    let (date, start, end) =
        (format_date(a.appointment_date.0), format_time(a.start_time.0), format_time(a.end_time.0));
    // No stored ID is empty, so "" excludes nothing.
    let exclude = exclude.map_or("", AppointmentId::as_str);
    let (doctor, patient): (i64, i64) = sqlx::query_as(OVERLAPS)
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
        .fetch_one(conn)
        .await?;
    let (doctor, patient) = (doctor != 0, patient != 0);
    if doctor || patient {
        return Err(StoreError::Rejected(Rule::TimeSlot { doctor, patient }).into());
    }
    Ok(())
}

impl MySqlClinicStore {
    /// One page of `select` and the total count, read from one snapshot. `count_from` is the FROM part of the
    /// count, under the same aliases as `select` uses for the columns `filter` names.
    async fn page<R: FromMySql + Send + Unpin>(
        &self,
        select: &str,
        count_from: &str,
        filter: &Filter,
        order: &str,
        page: PageRequest,
    ) -> StoreResult<(Vec<R>, u64)> {
        let clause = filter.sql();
        let mut tx = self.db.begin_snapshot().await?;
        let outcome: TxResult<(Vec<R>, i64)> = async {
            let count_sql = format!("SELECT COUNT(*) FROM {count_from}{clause}");
            let mut count = sqlx::query_scalar::<_, i64>(AssertSqlSafe(count_sql));
            for arg in &filter.args {
                count = count.bind(arg);
            }
            let total = count.fetch_one(tx.conn()).await?;
            let rows_sql = format!("{select}{clause} ORDER BY {order} LIMIT ? OFFSET ?");
            let mut rows = sqlx::query(AssertSqlSafe(rows_sql));
            for arg in &filter.args {
                rows = rows.bind(arg);
            }
            let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
            let rows = rows.bind(i64::from(page.limit)).bind(offset).try_map(decode::<R>).fetch_all(tx.conn()).await?;
            Ok((rows, total))
        }
        .await;
        let (rows, total) = tx.finish(outcome).await?;
        let total = u64::try_from(total).map_err(|_| StoreError::Internal("negative row count".into()))?;
        Ok((rows, total))
    }

    async fn insert_patient_once(
        &self,
        row: &PatientRow,
        done: Option<&Completion>,
        event: &AuditEvent,
    ) -> TxResult<()> {
        let mut tx = self.db.begin().await?;
        let outcome: TxResult<()> = async {
            let conn = tx.conn();
            bind_patient_changes(sqlx::query(PATIENT_INSERT).bind(&row.patient_id).bind(row.created_at), row)
                .execute(&mut *conn)
                .await?;
            idempotency::complete(conn, done).await
        }
        .await;
        tx.finish_audited(outcome, Chain::R, event).await
    }

    async fn update_patient_once(
        &self,
        row: &PatientRow,
        expected_version: i64,
        cancel_from: Option<Timestamp>,
        event: &AuditEvent,
    ) -> TxResult<u64> {
        let mut tx = self.db.begin().await?;
        let outcome: TxResult<u64> = async {
            let conn = tx.conn();
            lock_version(conn, "patients", "patient_id", &row.patient_id, expected_version).await?;
            let result = bind_patient_changes(sqlx::query(PATIENT_UPDATE), row)
                .bind(&row.patient_id)
                .bind(expected_version)
                .execute(&mut *conn)
                .await?;
            one_row(result)?;
            let Some(now) = cancel_from else { return Ok(0) };
            let today = format_date(now.date());
            let cancelled = sqlx::query(CANCEL_FUTURE)
                .bind(row.updated_at)
                .bind(&row.patient_id)
                .bind(&today)
                .bind(&today)
                .bind(format_time(now.time_of_day()))
                .execute(conn)
                .await?
                .rows_affected();
            Ok(cancelled)
        }
        .await;
        tx.finish_audited(outcome, Chain::R, event).await
    }

    async fn insert_doctor_once(&self, row: &DoctorRow, done: Option<&Completion>, event: &AuditEvent) -> TxResult<()> {
        let mut tx = self.db.begin().await?;
        let outcome: TxResult<()> = async {
            let conn = tx.conn();
            bind_doctor_changes(sqlx::query(DOCTOR_INSERT).bind(&row.doctor_id).bind(row.created_at), row)
                .execute(&mut *conn)
                .await?;
            idempotency::complete(conn, done).await
        }
        .await;
        tx.finish_audited(outcome, Chain::R, event).await
    }

    async fn update_doctor_once(&self, row: &DoctorRow, expected_version: i64, event: &AuditEvent) -> TxResult<()> {
        let mut tx = self.db.begin().await?;
        let outcome: TxResult<()> = async {
            let conn = tx.conn();
            let stored = sqlx::query("SELECT department_id, version FROM doctors WHERE doctor_id = ? FOR UPDATE")
                .bind(&row.doctor_id)
                .try_map(|r: MySqlRow| Ok((text(&r, "department_id")?, sqlx::Row::try_get::<i64, _>(&r, "version")?)))
                .fetch_optional(&mut *conn)
                .await?;
            let current_department = match stored {
                None => return Err(StoreError::NotFound.into()),
                Some((_, version)) if version != expected_version => return Err(StoreError::Stale.into()),
                Some((department, _)) => department,
            };
            if current_department != row.department_id {
                // A shared lock, so a concurrent head-doctor change of that department either committed before
                // (and is seen here) or waits for this move (and then sees the doctor gone).
                let heads: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM departments WHERE department_id = ? AND head_doctor_id = ? \
                     LOCK IN SHARE MODE",
                )
                .bind(&current_department)
                .bind(&row.doctor_id)
                .fetch_one(&mut *conn)
                .await?;
                if heads > 0 {
                    return Err(StoreError::Rejected(Rule::HeadDoctorConflict).into());
                }
            }
            let result = bind_doctor_changes(sqlx::query(DOCTOR_UPDATE), row)
                .bind(&row.doctor_id)
                .bind(expected_version)
                .execute(conn)
                .await?;
            one_row(result)
        }
        .await;
        tx.finish_audited(outcome, Chain::R, event).await
    }

    async fn insert_department_once(
        &self,
        row: &DepartmentRow,
        done: Option<&Completion>,
        event: &AuditEvent,
    ) -> TxResult<()> {
        let mut tx = self.db.begin().await?;
        let outcome: TxResult<()> = async {
            let conn = tx.conn();
            bind_department_changes(sqlx::query(DEPARTMENT_INSERT).bind(&row.department_id).bind(row.created_at), row)
                .execute(&mut *conn)
                .await?;
            idempotency::complete(conn, done).await
        }
        .await;
        tx.finish_audited(outcome, Chain::R, event).await
    }

    async fn update_department_once(
        &self,
        row: &DepartmentRow,
        expected_version: i64,
        event: &AuditEvent,
    ) -> TxResult<()> {
        let mut tx = self.db.begin().await?;
        let outcome: TxResult<()> = async {
            let conn = tx.conn();
            // Doctor before department (the global lock order); the shared lock keeps the head from moving to
            // another department until this commits.
            let head_department = match &row.head_doctor_id {
                None => None,
                Some(head) => Some(
                    fetch_text(
                        &mut *conn,
                        "SELECT department_id AS v FROM doctors WHERE doctor_id = ? LOCK IN SHARE MODE",
                        head,
                    )
                    .await?,
                ),
            };
            lock_version(&mut *conn, "departments", "department_id", &row.department_id, expected_version).await?;
            // A head that vanished counts as one of another department: the caller already checked it exists.
            if let Some(head_department) = head_department
                && head_department.as_deref() != Some(row.department_id.as_str())
            {
                return Err(StoreError::Rejected(Rule::HeadDoctorConflict).into());
            }
            let result = bind_department_changes(sqlx::query(DEPARTMENT_UPDATE), row)
                .bind(&row.department_id)
                .bind(expected_version)
                .execute(conn)
                .await?;
            one_row(result)
        }
        .await;
        tx.finish_audited(outcome, Chain::R, event).await
    }

    async fn book_appointment_once(
        &self,
        appointment: &Appointment,
        row: &AppointmentRow,
        done: Option<&Completion>,
        event: &AuditEvent,
    ) -> TxResult<()> {
        let mut tx = self.db.begin().await?;
        let outcome: TxResult<()> = async {
            let conn = tx.conn();
            let parties = lock_parties(&mut *conn, appointment).await?;
            check_bookable(&mut *conn, parties, appointment, None).await?;
            bind_appointment_changes(
                sqlx::query(APPOINTMENT_INSERT)
                    .bind(&row.appointment_id)
                    .bind(&row.patient_id)
                    .bind(&row.doctor_id)
                    .bind(row.created_at),
                row,
            )
            .execute(&mut *conn)
            .await?;
            idempotency::complete(conn, done).await
        }
        .await;
        tx.finish_audited(outcome, Chain::R, event).await
    }

    async fn update_appointment_once(
        &self,
        appointment: &Appointment,
        row: &AppointmentRow,
        expected_version: i64,
        reschedule: bool,
        event: &AuditEvent,
    ) -> TxResult<()> {
        let mut tx = self.db.begin().await?;
        let outcome: TxResult<()> = async {
            let conn = tx.conn();
            // Patient and doctor before the appointment (the global lock order): a deactivation holds the
            // patient while it cancels this appointment.
            let parties = if reschedule { Some(lock_parties(&mut *conn, appointment).await?) } else { None };
            lock_version(&mut *conn, "appointments", "appointment_id", &row.appointment_id, expected_version).await?;
            if let Some(parties) = parties {
                check_bookable(&mut *conn, parties, appointment, Some(&appointment.appointment_id)).await?;
            }
            let result = bind_appointment_changes(sqlx::query(APPOINTMENT_UPDATE), row)
                .bind(&row.appointment_id)
                .bind(expected_version)
                .execute(conn)
                .await?;
            one_row(result)
        }
        .await;
        tx.finish_audited(outcome, Chain::R, event).await
    }
}

#[async_trait]
impl PatientStore for MySqlClinicStore {
    async fn insert_patient(
        &self,
        patient: &Patient,
        done: Option<&Completion>,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        let row = &PatientRow::from_domain(patient)?;
        retry_on_lock_failure(move || self.insert_patient_once(row, done, event)).await
    }

    async fn get_patient(&self, id: &PatientId) -> StoreResult<Option<Patient>> {
        let sql = format!("{PATIENT_SELECT} WHERE patient_id = ?");
        let row = self
            .db
            .run(async |c| {
                sqlx::query(AssertSqlSafe(sql)).bind(id.as_str()).try_map(decode::<PatientRow>).fetch_optional(c).await
            })
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
        let row = &PatientRow::from_domain(patient)?;
        retry_on_lock_failure(move || self.update_patient_once(row, expected_version, cancel_from, event)).await
    }
}

#[async_trait]
impl DoctorStore for MySqlClinicStore {
    async fn insert_doctor(&self, doctor: &Doctor, done: Option<&Completion>, event: &AuditEvent) -> StoreResult<()> {
        let row = &DoctorRow::from_domain(doctor)?;
        retry_on_lock_failure(move || self.insert_doctor_once(row, done, event)).await
    }

    async fn get_doctor(&self, id: &DoctorId) -> StoreResult<Option<Doctor>> {
        let sql = format!("{DOCTOR_SELECT} WHERE d.doctor_id = ?");
        let row = self
            .db
            .run(async |c| {
                sqlx::query(AssertSqlSafe(sql)).bind(id.as_str()).try_map(decode::<DoctorRow>).fetch_optional(c).await
            })
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
        let rows = self
            .db
            .run(async |c| {
                sqlx::query(AssertSqlSafe(sql))
                    .bind(department.as_str())
                    .try_map(decode::<DoctorRow>)
                    .fetch_all(c)
                    .await
            })
            .await?;
        rows.into_iter().map(DoctorRow::into_domain).collect()
    }

    async fn update_doctor(&self, doctor: &Doctor, expected_version: i64, event: &AuditEvent) -> StoreResult<()> {
        let row = &DoctorRow::from_domain(doctor)?;
        retry_on_lock_failure(move || self.update_doctor_once(row, expected_version, event)).await
    }
}

#[async_trait]
impl DepartmentStore for MySqlClinicStore {
    async fn list_departments(&self) -> StoreResult<Vec<Department>> {
        let sql = format!("{DEPARTMENT_SELECT} ORDER BY dep.name_lc, dep.department_id");
        let rows = self
            .db
            .run(async |c| sqlx::query(AssertSqlSafe(sql)).try_map(decode::<DepartmentRow>).fetch_all(c).await)
            .await?;
        rows.into_iter().map(DepartmentRow::into_domain).collect()
    }

    async fn get_department(&self, id: &DepartmentId) -> StoreResult<Option<Department>> {
        let sql = format!("{DEPARTMENT_SELECT} WHERE dep.department_id = ?");
        let row = self
            .db
            .run(async |c| {
                sqlx::query(AssertSqlSafe(sql))
                    .bind(id.as_str())
                    .try_map(decode::<DepartmentRow>)
                    .fetch_optional(c)
                    .await
            })
            .await?;
        row.map(DepartmentRow::into_domain).transpose()
    }

    async fn insert_department(
        &self,
        department: &Department,
        done: Option<&Completion>,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        let row = &DepartmentRow::from_domain(department);
        retry_on_lock_failure(move || self.insert_department_once(row, done, event)).await
    }

    async fn update_department(
        &self,
        department: &Department,
        expected_version: i64,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        let row = &DepartmentRow::from_domain(department);
        retry_on_lock_failure(move || self.update_department_once(row, expected_version, event)).await
    }
}

#[async_trait]
impl AppointmentStore for MySqlClinicStore {
    async fn book_appointment(
        &self,
        appointment: &Appointment,
        done: Option<&Completion>,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        let row = &AppointmentRow::from_domain(appointment);
        retry_on_lock_failure(move || self.book_appointment_once(appointment, row, done, event)).await
    }

    async fn get_appointment(&self, id: &AppointmentId) -> StoreResult<Option<Appointment>> {
        let sql = format!("{APPOINTMENT_SELECT} WHERE a.appointment_id = ?");
        let row = self
            .db
            .run(async |c| {
                sqlx::query(AssertSqlSafe(sql))
                    .bind(id.as_str())
                    .try_map(decode::<AppointmentRow>)
                    .fetch_optional(c)
                    .await
            })
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
        let row = &AppointmentRow::from_domain(appointment);
        retry_on_lock_failure(move || {
            self.update_appointment_once(appointment, row, expected_version, reschedule, event)
        })
        .await
    }

    async fn doctor_busy_intervals(
        &self,
        doctor: &DoctorId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<BusyInterval>> {
        let rows = self
            .db
            .run(async |c| {
                sqlx::query(
                    "SELECT appointment_date, start_time, end_time FROM appointments \
             WHERE doctor_id = ? AND appointment_date >= ? AND appointment_date <= ? AND status <> 'cancelled' \
             ORDER BY appointment_date, start_time",
                )
                .bind(doctor.as_str())
                .bind(format_date(from))
                .bind(format_date(to))
                .try_map(decode::<BusyRow>)
                .fetch_all(c)
                .await
            })
            .await?;
        rows.into_iter().map(BusyRow::into_domain).collect()
    }
}

#[async_trait]
impl IdempotencyStore for MySqlClinicStore {
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
impl RevocationStore for MySqlClinicStore {
    async fn insert_revocation(&self, r: &Revocation, event: &AuditEvent) -> StoreResult<()> {
        retry_on_lock_failure(move || async move {
            let mut tx = self.db.begin().await?;
            let outcome = sqlx::query(revocations::INSERT)
                .bind(&r.id)
                .bind(&r.sub)
                .bind(&r.reason)
                .bind(r.revoked_at.millis())
                .bind(&r.revoked_by)
                .execute(tx.conn())
                .await
                .map(|_| ())
                .map_err(TxError::from);
            tx.finish_audited(outcome, Chain::R, event).await
        })
        .await
    }

    async fn list_revocations(&self, limit: u32, after: Option<&CursorKey>) -> StoreResult<KeyPage<Revocation>> {
        let (at, id) = revocations::start(after);
        let rows: Vec<revocations::Row> = self
            .db
            .run(async |c| {
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
            self.db.run(async |c| sqlx::query_as(revocations::INDEX).fetch_all(c).await).await?;
        Ok(rows.into_iter().map(|r| (r.sub, r.revoked_at)).collect())
    }
}

#[async_trait]
impl ClinicStore for MySqlClinicStore {
    fn backend(&self) -> &'static str {
        "mysql"
    }

    fn pools(&self) -> Vec<PoolStats> {
        vec![self.db.pool_stats()]
    }

    async fn ping(&self) -> StoreResult<()> {
        self.db.run(async |c| sqlx::query("SELECT 1").execute(c).await).await?;
        Ok(())
    }

    async fn schema_version(&self) -> StoreResult<Option<i64>> {
        self.db.schema_version().await
    }
}
