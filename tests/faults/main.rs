//! Fault injection against the real stores: a TCP proxy (`proxy`) sits between the service and MariaDB (the
//! server of `GOSPITAL_TEST_MYSQL_URL`) or an in-process DynamoDB emulator, and refuses, resets, stalls or slows
//! their connections on command while the tests drive the HTTP API (issue 5, DESIGN.md §3).
//!
//! Every case needs MariaDB (R is MySQL even where D is the one cut). Without `GOSPITAL_TEST_MYSQL_URL` at build
//! time they are built ignored, and the one always-run test below fails when `GOSPITAL_REQUIRE_ALL_BACKENDS=1`
//! (as in CI) finds them so (see `../contract/support.rs`).

// The helpers' default stores; these tests open their own, behind proxies.
#[path = "../api/backend.rs"]
#[allow(dead_code)]
mod backend;
#[path = "../contract/dynamo_support.rs"]
#[allow(dead_code)]
mod dynamo_support;
mod dynamodb;
mod harness;
#[path = "../api/helpers.rs"]
mod helpers;
mod mysql;
mod proxy;
#[path = "../contract/support.rs"]
#[allow(dead_code)]
mod support;

#[cfg(not(gospital_mysql_tests))]
#[test]
fn mysql_cases_may_be_skipped_only_without_gospital_require_all_backends() {
    support::assert_mysql_skip_allowed("tests/faults");
}
