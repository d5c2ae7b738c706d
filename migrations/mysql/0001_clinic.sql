-- Relational store (R) on MySQL/MariaDB: departments, doctors, patients, appointments, and the six seeded
-- departments. Same tables, columns, indexes and stored values as migrations/sqlite/0001_clinic.sql.
--
-- Every column that is compared, filtered, ordered or unique-indexed (IDs, the Rust-lower-cased *_lc keys, names,
-- dates, times, statuses, phone) is VARBINARY holding the UTF-8 bytes Rust wrote. That gives exactly SQLite's
-- BINARY collation on both MySQL and MariaDB: memcmp order (= code point order), no case folding and no
-- PAD SPACE (utf8mb4_bin would treat 'a' and 'a ' as equal and sort trailing control characters differently;
-- a NO PAD binary collation exists on each engine but under different names). A raw ID from a list filter that
-- is not ASCII also compares cleanly instead of raising a collation or conversion error.
-- Free text and JSON that is only stored and returned is utf8mb4 text. Dates are 'YYYY-MM-DD', times
-- 'HH:MM:SS' (text order is chronological order), timestamps BIGINT unix milliseconds (UTC).
-- Byte widths allow the longest valid value (API.md §2 lengths in characters, 4 bytes each, with headroom
-- for lower-casing that grows a string) while keeping the duplicate key under InnoDB's 3072-byte index limit.

CREATE TABLE departments (
    department_id   VARBINARY(40)  NOT NULL PRIMARY KEY,
    name            VARCHAR(100)   NOT NULL,
    name_lc         VARBINARY(600) NOT NULL,
    description     TEXT,
    floor           BIGINT,
    extension       VARCHAR(20),
    -- Points at a doctor of this same department; checked by the adapter inside the write transaction. The
    -- foreign key is added below, once `doctors` exists.
    head_doctor_id  VARBINARY(40),
    version         BIGINT         NOT NULL,
    created_at      BIGINT         NOT NULL,
    updated_at      BIGINT         NOT NULL,
    UNIQUE KEY departments_name_lc (name_lc),
    KEY departments_order (name_lc, department_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE doctors (
    doctor_id            VARBINARY(40)  NOT NULL PRIMARY KEY,
    first_name           VARBINARY(600) NOT NULL,
    last_name            VARBINARY(600) NOT NULL,
    email                VARCHAR(255)   NOT NULL,
    phone                VARCHAR(20)    NOT NULL,
    specialty            VARCHAR(100)   NOT NULL,
    specialty_lc         VARBINARY(600) NOT NULL,
    license_number       VARCHAR(50)    NOT NULL,
    license_lc           VARBINARY(300) NOT NULL,
    department_id        VARBINARY(40)  NOT NULL,
    years_of_experience  BIGINT         NOT NULL,
    qualifications       MEDIUMTEXT     NOT NULL,
    status               VARBINARY(20)  NOT NULL,
    version              BIGINT         NOT NULL,
    created_at           BIGINT         NOT NULL,
    updated_at           BIGINT         NOT NULL,
    UNIQUE KEY doctors_license_lc (license_lc),
    -- Serves the department filter, the department's doctor list and the active-doctor count.
    KEY doctors_department (department_id, status, last_name, first_name, doctor_id),
    -- The department's doctor list in any status, in its own order.
    KEY doctors_department_names (department_id, last_name, first_name, doctor_id),
    KEY doctors_status (status, created_at, doctor_id),
    KEY doctors_specialty (specialty_lc, created_at, doctor_id),
    KEY doctors_order (created_at, doctor_id),
    CONSTRAINT doctors_department_fk FOREIGN KEY (department_id) REFERENCES departments (department_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

ALTER TABLE departments
    ADD CONSTRAINT departments_head_doctor_fk FOREIGN KEY (head_doctor_id) REFERENCES doctors (doctor_id);

CREATE TABLE patients (
    patient_id         VARBINARY(40)   NOT NULL PRIMARY KEY,
    first_name         VARCHAR(100)    NOT NULL,
    last_name          VARCHAR(100)    NOT NULL,
    last_name_lc       VARBINARY(600)  NOT NULL,
    -- Lower-cased "first last": one substring search covers first name, last name and the full name.
    full_name_lc       VARBINARY(1200) NOT NULL,
    date_of_birth      VARBINARY(10)   NOT NULL,
    gender             VARBINARY(20),
    email              VARCHAR(255)    NOT NULL,
    email_lc           VARBINARY(1500) NOT NULL,
    phone              VARBINARY(80)   NOT NULL,
    address            TEXT,
    emergency_contact  TEXT,
    blood_type         VARBINARY(10),
    allergies          MEDIUMTEXT      NOT NULL,
    status             VARBINARY(20)   NOT NULL,
    version            BIGINT          NOT NULL,
    created_at         BIGINT          NOT NULL,
    updated_at         BIGINT          NOT NULL,
    -- The duplicate key of API.md §2.1 (1500 + 10 + 600 bytes); also serves the email filter.
    UNIQUE KEY patients_duplicate_key (email_lc, date_of_birth, last_name_lc),
    KEY patients_phone (phone),
    KEY patients_date_of_birth (date_of_birth),
    KEY patients_status (status, created_at, patient_id),
    KEY patients_order (created_at, patient_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE appointments (
    appointment_id    VARBINARY(40) NOT NULL PRIMARY KEY,
    patient_id        VARBINARY(40) NOT NULL,
    doctor_id         VARBINARY(40) NOT NULL,
    appointment_date  VARBINARY(10) NOT NULL,
    start_time        VARBINARY(8)  NOT NULL,
    end_time          VARBINARY(8)  NOT NULL,
    reason            TEXT          NOT NULL,
    status            VARBINARY(20) NOT NULL,
    notes             TEXT,
    version           BIGINT        NOT NULL,
    created_at        BIGINT        NOT NULL,
    updated_at        BIGINT        NOT NULL,
    -- Overlap checks, busy intervals and the patient/doctor filters all start from one of these two.
    KEY appointments_doctor_date (doctor_id, appointment_date, start_time),
    KEY appointments_patient_date (patient_id, appointment_date, start_time),
    KEY appointments_status (status, appointment_date, start_time, appointment_id),
    KEY appointments_date (appointment_date, start_time, appointment_id),
    CONSTRAINT appointments_patient_fk FOREIGN KEY (patient_id) REFERENCES patients (patient_id),
    CONSTRAINT appointments_doctor_fk FOREIGN KEY (doctor_id) REFERENCES doctors (doctor_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Seeds of API.md §1.6, stamped with the migration time in milliseconds. `name_lc` is spelled out as Rust's
-- `to_lowercase` would write it, rather than LOWER(), so the stored bytes do not depend on server collations.
INSERT INTO departments
    (department_id, name, name_lc, description, floor, extension, head_doctor_id, version, created_at, updated_at)
SELECT seed.department_id, seed.name, seed.name_lc, seed.description, seed.floor, seed.extension, NULL, 1,
       stamp.ms, stamp.ms
FROM (
    SELECT 'DEPT-001' AS department_id, 'Cardiology' AS name, 'cardiology' AS name_lc,
           'Department specializing in heart and cardiovascular conditions' AS description, 3 AS floor,
           '3001' AS extension
    UNION ALL SELECT 'DEPT-002', 'Emergency', 'emergency', 'Emergency medical services and urgent care', 1, '1001'
    UNION ALL SELECT 'DEPT-003', 'Pediatrics', 'pediatrics', 'Medical care for infants, children, and adolescents',
                     2, '2001'
    UNION ALL SELECT 'DEPT-004', 'Orthopedics', 'orthopedics', 'Treatment of musculoskeletal system disorders', 4,
                     '4001'
    UNION ALL SELECT 'DEPT-005', 'Radiology', 'radiology', 'Medical imaging and diagnostic services', 1, '1002'
    UNION ALL SELECT 'DEPT-006', 'Oncology', 'oncology', 'Cancer treatment and care', 5, '5001'
) AS seed
CROSS JOIN (SELECT CAST(ROUND(UNIX_TIMESTAMP(NOW(3)) * 1000) AS SIGNED) AS ms) AS stamp;
