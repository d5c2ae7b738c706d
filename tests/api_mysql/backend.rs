//! Stores of this suite: R and D both in a fresh MySQL database of the test's own, dropped afterwards.

use std::sync::Arc;

use gospital::config::Config;
use gospital::store::mysql::{MySqlClinicStore, MySqlRecordStore};
use gospital::store::{ClinicStore, RecordStore};

/// Names `/health` reports for R and D.
pub const BACKENDS: (&str, &str) = ("mysql", "mysql");

/// Fresh stores for one test, plus the guard that drops the database.
pub async fn open(
    _config: &Config,
) -> (Arc<dyn ClinicStore>, Arc<dyn RecordStore>, Box<dyn std::any::Any + Send + Sync>) {
    let test_db = crate::support::mysql_test_db("http suite").await;
    let clinic = Arc::new(MySqlClinicStore::new(test_db.db.clone()));
    let records = Arc::new(MySqlRecordStore::new(test_db.db.clone()));
    (clinic, records, Box::new(test_db))
}
