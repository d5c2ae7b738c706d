//! Stores of this suite: R on a temp-file SQLite database, D on fresh tables of an in-process DynamoDB emulator.

use std::sync::Arc;

use gospital::config::Config;
use gospital::store::{ClinicStore, RecordStore};

/// Names `/health` reports for R and D.
pub const BACKENDS: (&str, &str) = ("sqlite", "dynamodb");

/// Fresh stores for one test, plus the temp directory and the emulator that must outlive them.
pub async fn open(
    config: &Config,
) -> (Arc<dyn ClinicStore>, Arc<dyn RecordStore>, Box<dyn std::any::Any + Send + Sync>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = config.clone();
    config.database_url = Some(format!("sqlite://{}", dir.path().join("gospital.db").display()));
    let state =
        gospital::build_state(&config, Arc::new(gospital::clock::SystemClock), true, gospital::auth::Auth::off())
            .await
            .expect("stores open");
    let dynamo = crate::dynamo_support::open_dynamodb().await;
    let records: Arc<dyn RecordStore> = Arc::new(dynamo.store.clone());
    (state.resilience.clinic.inner().clone(), records, Box::new((dir, dynamo)))
}
