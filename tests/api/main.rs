//! HTTP behaviour of the whole API on SQLite, driven in process through `tower::ServiceExt::oneshot`.

mod helpers;
mod appointments;
mod availability;
mod concurrency;
mod deadline;
mod invoices;
mod medical_records;
mod conventions;
mod departments;
mod doctors;
mod health;
mod patients;
