//! `gospital` binary: parse configuration, set up JSON logs, then serve (default) or migrate.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use gospital::clock::SystemClock;
use gospital::config::{Cli, Command};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

// mimalloc: the request path allocates many small, short-lived buffers across threads; measured with bench/run.sh
// against glibc malloc (see the README benchmark section).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// JSON logs to stdout through a writer thread, so request threads format their line and move on instead of
/// taking the stdout lock for a write(2) each. Not lossy: when the buffer is full, callers wait. The returned
/// guard flushes what is buffered when dropped at exit.
fn init_logging() -> tracing_appender::non_blocking::WorkerGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("gospital-log")
        .finish(std::io::stdout());
    tracing_subscriber::fmt().json().with_env_filter(filter).with_current_span(false).with_writer(writer).init();
    guard
}

/// Resolves on SIGTERM or Ctrl-C; the server then stops accepting and drains in-flight requests.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received, draining in-flight requests");
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Healthcheck { timeout_ms } => {
            let addr = gospital::healthcheck::target(config.listen_addr());
            gospital::healthcheck::probe(addr, std::time::Duration::from_millis(timeout_ms))
                .await
                .map_err(anyhow::Error::msg)
        }
        Command::Migrate => {
            gospital::build_state(&config, Arc::new(SystemClock), true).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Serve => {
            let (app, state) = gospital::build_app(&config, Arc::new(SystemClock)).await?;
            let janitor = gospital::service::idempotency::spawn_janitor(state.service.clone(), state.clock.clone());
            let addr = config.listen_addr();
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|e| anyhow::anyhow!("GOSPITAL_ADDR: cannot listen on {addr}: {e}"))?;
            let upkeep = tokio::spawn(async {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
                loop {
                    tick.tick().await;
                    gospital::middleware::metrics::install().run_upkeep();
                }
            });
            tracing::info!(addr = %listener.local_addr()?, "gospital listening");
            axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
            upkeep.abort();
            janitor.abort();
            tracing::info!("stopped");
            Ok(())
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let _flush_logs = init_logging();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line naming the setting and the problem (DESIGN.md §2).
            eprintln!("gospital: {e:#}");
            ExitCode::FAILURE
        }
    }
}
