//! Benchmark baseline only: `gospital serve` with the store decorator (breaker, bulkhead, per-call timeout)
//! taken out, so `wrk` can measure what the decorator costs. Everything else (edge middleware, traffic classes,
//! CPU shedder, stores) is as in the real binary. Same flags and environment; never deploy it.
//!
//! `cargo run --release --example unguarded -- --addr 127.0.0.1:8081`

use std::sync::Arc;

use clap::Parser;
use gospital::clock::SystemClock;
use gospital::config::Cli;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Cli::parse().config;
    let auth = gospital::build_auth(&config)?;
    let mut state = gospital::build_state(&config, Arc::new(SystemClock), config.migrate, auth).await?;
    // Handlers reach the stores through these two fields; point them at the bare stores.
    state.clinic = state.resilience.clinic.inner().clone();
    state.records = state.resilience.records.inner().clone();
    let app = gospital::http::router(state);
    let listener = tokio::net::TcpListener::bind(config.listen_addr()).await?;
    eprintln!("unguarded baseline listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
