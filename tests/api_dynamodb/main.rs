//! The HTTP tests of `tests/api` that touch the records store (medical records and their history, invoices, a
//! patient's lists, health, safe writes, the invoice races of the concurrency tests), with D on DynamoDB: every test gets its own in-process
//! DynamoDB emulator (`dynoxide`), reached through the real AWS SDK. R stays on SQLite.

#[path = "../api/audit.rs"]
mod audit;
mod backend;
#[path = "../api/concurrency.rs"]
mod concurrency;
#[path = "../contract/dynamo_support.rs"]
#[allow(dead_code)]
mod dynamo_support;
#[path = "../api/health.rs"]
mod health;
#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../api/history.rs"]
mod history;
#[path = "../api/invoices.rs"]
mod invoices;
#[path = "../api/medical_records.rs"]
mod medical_records;
#[path = "../api/safe_writes.rs"]
mod safe_writes;
