//! Stores of this suite: R and D both on a temp-file SQLite database, built as `serve` builds them.

use std::sync::Arc;

use gospital::config::Config;
use gospital::store::{ClinicStore, RecordStore};

/// Names `/health` reports for R and D.
pub const BACKENDS: (&str, &str) = ("sqlite", "sqlite");

/// Fresh stores for one test, plus what must live as long as they do.
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
    // The bare stores: the harness guards them itself (`AppState::new`), with its own clock.
    (state.resilience.clinic.inner().clone(), state.resilience.records.inner().clone(), Box::new(dir))
}
