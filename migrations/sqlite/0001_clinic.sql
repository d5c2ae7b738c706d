-- Relational store (R): departments, doctors, patients, appointments, and the six seeded departments.
--
-- Kept portable: the MySQL migration of the same name has the same tables, columns and indexes.
-- IDs are prefixed ULIDs made in Rust; dates are TEXT 'YYYY-MM-DD' and times TEXT 'HH:MM:SS', so text
-- order is chronological order; timestamps are INTEGER unix milliseconds (UTC). The *_lc columns are
-- lower-cased in Rust, so case-insensitive uniqueness and search do not depend on engine collations.
-- JSON sub-objects are TEXT holding JSON.

CREATE TABLE departments (
    department_id   TEXT    NOT NULL PRIMARY KEY,
    name            TEXT    NOT NULL,
    name_lc         TEXT    NOT NULL,
    description     TEXT,
    floor           INTEGER,
    extension       TEXT,
    -- Points at a doctor of this same department; checked by the adapter inside the write transaction.
    head_doctor_id  TEXT    REFERENCES doctors (doctor_id),
    version         INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE UNIQUE INDEX departments_name_lc ON departments (name_lc);
CREATE INDEX departments_order ON departments (name_lc, department_id);

CREATE TABLE doctors (
    doctor_id            TEXT    NOT NULL PRIMARY KEY,
    first_name           TEXT    NOT NULL,
    last_name            TEXT    NOT NULL,
    email                TEXT    NOT NULL,
    phone                TEXT    NOT NULL,
    specialty            TEXT    NOT NULL,
    specialty_lc         TEXT    NOT NULL,
    license_number       TEXT    NOT NULL,
    license_lc           TEXT    NOT NULL,
    department_id        TEXT    NOT NULL REFERENCES departments (department_id),
    years_of_experience  INTEGER NOT NULL,
    qualifications       TEXT    NOT NULL,
    status               TEXT    NOT NULL,
    version              INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);

CREATE UNIQUE INDEX doctors_license_lc ON doctors (license_lc);
-- Serves the department filter, the department's doctor list and the active-doctor count.
CREATE INDEX doctors_department ON doctors (department_id, status, last_name, first_name, doctor_id);
CREATE INDEX doctors_status ON doctors (status, created_at, doctor_id);
CREATE INDEX doctors_specialty ON doctors (specialty_lc, created_at, doctor_id);
CREATE INDEX doctors_order ON doctors (created_at, doctor_id);

CREATE TABLE patients (
    patient_id         TEXT    NOT NULL PRIMARY KEY,
    first_name         TEXT    NOT NULL,
    last_name          TEXT    NOT NULL,
    last_name_lc       TEXT    NOT NULL,
    -- Lower-cased "first last": one substring search covers first name, last name and the full name.
    full_name_lc       TEXT    NOT NULL,
    date_of_birth      TEXT    NOT NULL,
    gender             TEXT,
    email              TEXT    NOT NULL,
    email_lc           TEXT    NOT NULL,
    phone              TEXT    NOT NULL,
    address            TEXT,
    emergency_contact  TEXT,
    blood_type         TEXT,
    allergies          TEXT    NOT NULL,
    status             TEXT    NOT NULL,
    version            INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

-- The duplicate key of API.md §2.1; also serves the email filter.
CREATE UNIQUE INDEX patients_duplicate_key ON patients (email_lc, date_of_birth, last_name_lc);
CREATE INDEX patients_phone ON patients (phone);
CREATE INDEX patients_date_of_birth ON patients (date_of_birth);
CREATE INDEX patients_status ON patients (status, created_at, patient_id);
CREATE INDEX patients_order ON patients (created_at, patient_id);

CREATE TABLE appointments (
    appointment_id    TEXT    NOT NULL PRIMARY KEY,
    patient_id        TEXT    NOT NULL REFERENCES patients (patient_id),
    doctor_id         TEXT    NOT NULL REFERENCES doctors (doctor_id),
    appointment_date  TEXT    NOT NULL,
    start_time        TEXT    NOT NULL,
    end_time          TEXT    NOT NULL,
    reason            TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    notes             TEXT,
    version           INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);

-- Overlap checks, busy intervals and the patient/doctor filters all start from one of these two.
CREATE INDEX appointments_doctor_date ON appointments (doctor_id, appointment_date, start_time);
CREATE INDEX appointments_patient_date ON appointments (patient_id, appointment_date, start_time);
CREATE INDEX appointments_status ON appointments (status, appointment_date, start_time, appointment_id);
CREATE INDEX appointments_order ON appointments (appointment_date, start_time, appointment_id);

-- Seeds of API.md §1.6, stamped with the migration time in milliseconds (julianday keeps the fraction).
INSERT INTO departments
    (department_id, name, name_lc, description, floor, extension, head_doctor_id, version, created_at, updated_at)
SELECT seed.department_id, seed.name, lower(seed.name), seed.description, seed.floor, seed.extension, NULL, 1,
       stamp.ms, stamp.ms
FROM (
    SELECT 'DEPT-001' AS department_id, 'Cardiology' AS name,
           'Department specializing in heart and cardiovascular conditions' AS description, 3 AS floor,
           '3001' AS extension
    UNION ALL SELECT 'DEPT-002', 'Emergency', 'Emergency medical services and urgent care', 1, '1001'
    UNION ALL SELECT 'DEPT-003', 'Pediatrics', 'Medical care for infants, children, and adolescents', 2, '2001'
    UNION ALL SELECT 'DEPT-004', 'Orthopedics', 'Treatment of musculoskeletal system disorders', 4, '4001'
    UNION ALL SELECT 'DEPT-005', 'Radiology', 'Medical imaging and diagnostic services', 1, '1002'
    UNION ALL SELECT 'DEPT-006', 'Oncology', 'Cancer treatment and care', 5, '5001'
) AS seed
CROSS JOIN (
    SELECT CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER) AS ms
) AS stamp;
