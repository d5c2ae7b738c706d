//! Contract suites: one per store port, stamped out for every adapter available here.

mod clinic;
mod dynamo_support;
mod idempotency;
mod mysql_specific;
mod records;
// Also the MySQL helpers of the HTTP and fault suites, so not all of it is used here.
#[allow(dead_code)]
mod support;
