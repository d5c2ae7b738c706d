//! The `gospital` binary as an operator meets it (issue 17): configuration errors, start-up schema checks, `backup`,
//! and root routes as served. Each test runs the real binary (`CARGO_BIN_EXE_gospital`) with a clean environment.
//! The MySQL cases are built ignored without `GOSPITAL_TEST_MYSQL_URL` (see `../contract/support.rs`).

mod audit;
mod auth;
mod backup;
mod config_errors;
#[path = "../contract/dynamo_support.rs"]
#[allow(dead_code)]
mod dynamo_support;
mod process;
mod root_routes;
mod schema;
mod shutdown;
#[path = "../contract/support.rs"]
#[allow(dead_code)]
mod support;

#[cfg(not(gospital_mysql_tests))]
#[test]
fn mysql_cases_may_be_skipped_only_without_gospital_require_all_backends() {
    support::assert_mysql_skip_allowed("tests/cli");
}
