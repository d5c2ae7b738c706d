//! Contract suites: one per store port, stamped out for every adapter available here.

mod clinic;
mod records;
