//! Shared application state handed to every handler.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Settings;
use crate::store::{ClinicStore, RecordStore};

/// Everything a handler needs: the two stores, the clock and the validated settings.
#[derive(Clone)]
pub struct AppState {
    /// R: patients, doctors, departments, appointments.
    pub clinic: Arc<dyn ClinicStore>,
    /// D: medical records and invoices.
    pub records: Arc<dyn RecordStore>,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<Settings>,
}
