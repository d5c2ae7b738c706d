//! HTTP behaviour of the whole API on SQLite, driven in process through `tower::ServiceExt::oneshot`.

mod appointments;
mod audit;
mod auth;
mod availability;
mod backend;
mod concurrency;
mod conventions;
mod deadline;
mod departments;
mod doctors;
mod health;
mod healthcheck;
mod helpers;
mod history;
mod invoices;
mod medical_records;
mod openapi;
mod patients;
mod resilience;
mod safe_writes;
