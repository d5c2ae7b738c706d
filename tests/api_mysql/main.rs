//! The whole HTTP suite of `tests/api` again, with R and D on MySQL/MariaDB: every test gets a database of its
//! own on the server of `GOSPITAL_TEST_MYSQL_URL`. That variable must be set when the tests are built (see
//! build.rs); otherwise this binary holds one test that reports the skip, and fails it when
//! `GOSPITAL_REQUIRE_ALL_BACKENDS=1`.

#[cfg(gospital_mysql_http_tests)]
#[path = "../api/appointments.rs"]
mod appointments;
#[cfg(gospital_mysql_http_tests)]
#[path = "../api/audit.rs"]
mod audit;
#[cfg(gospital_mysql_http_tests)]
#[path = "../api/availability.rs"]
mod availability;
#[cfg(gospital_mysql_http_tests)]
mod backend;
#[cfg(gospital_mysql_http_tests)]
#[path = "../api/concurrency.rs"]
mod concurrency;
#[cfg(gospital_mysql_http_tests)]
#[path = "../api/conventions.rs"]
mod conventions;
#[cfg(gospital_mysql_http_tests)]
#[path = "../api/deadline.rs"]
mod deadline;
#[cfg(gospital_mysql_http_tests)]
#[path = "../api/departments.rs"]
mod departments;
#[cfg(gospital_mysql_http_tests)]
#[path = "../api/doctors.rs"]
mod doctors;
#[cfg(gospital_mysql_http_tests)]
#[path = "../api/health.rs"]
mod health;
#[cfg(gospital_mysql_http_tests)]
#[path = "../api/helpers.rs"]
mod helpers;
#[cfg(gospital_mysql_http_tests)]
#[path = "../api/history.rs"]
mod history;
#[cfg(gospital_mysql_http_tests)]
#[path = "../api/invoices.rs"]
mod invoices;
#[cfg(gospital_mysql_http_tests)]
#[path = "../api/medical_records.rs"]
mod medical_records;
#[cfg(gospital_mysql_http_tests)]
#[path = "../api/patients.rs"]
mod patients;
#[cfg(gospital_mysql_http_tests)]
#[path = "../api/safe_writes.rs"]
mod safe_writes;
#[cfg(gospital_mysql_http_tests)]
#[path = "../contract/support.rs"]
#[allow(dead_code)]
mod support;

/// Stands for the whole suite, which is not even compiled without the variable, so that `cargo test` lists it as
/// ignored with the reason instead of leaving no trace of it.
#[cfg(not(gospital_mysql_http_tests))]
#[test]
#[ignore = "GOSPITAL_TEST_MYSQL_URL unset at build time: the MySQL run of every tests/api test was not built"]
fn mysql_http_suite() {
    panic!("the MySQL HTTP suite was not built: set GOSPITAL_TEST_MYSQL_URL and build the tests again");
}

#[cfg(not(gospital_mysql_http_tests))]
#[test]
fn mysql_http_suite_needs_gospital_test_mysql_url_at_build_time() {
    if std::env::var("GOSPITAL_REQUIRE_ALL_BACKENDS").as_deref() == Ok("1") {
        panic!("the MySQL HTTP suite is required but GOSPITAL_TEST_MYSQL_URL was unset when the tests were built");
    }
    eprintln!("skipped the MySQL HTTP suite: GOSPITAL_TEST_MYSQL_URL was unset when the tests were built");
}
