//! Fault injection against the real stores: a TCP proxy (`proxy`) sits between the service and MariaDB (the
//! server of `GOSPITAL_TEST_MYSQL_URL`) or an in-process DynamoDB emulator, and refuses, resets, stalls or slows
//! their connections on command while the tests drive the HTTP API (issue 5, DESIGN.md §3).
//!
//! Without `GOSPITAL_TEST_MYSQL_URL` the MySQL cases print a skip notice and pass, unless
//! `GOSPITAL_REQUIRE_ALL_BACKENDS=1` makes the skip a failure (as in CI).

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
