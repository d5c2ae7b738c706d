//! Contract suites: one per store port, stamped out for every adapter available here.

mod clinic;
mod dynamo_support;
mod mysql_specific;
mod records;
mod support;
