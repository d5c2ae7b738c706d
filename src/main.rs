//! `gospital` binary: parse configuration, set up JSON logs, then serve (default), migrate, back up or check health.
//!
//! Exit status: 0 done; 2 a configuration error (a bad, missing or inconsistent setting: nothing was contacted
//! or changed); 1 any other failure (a database unreachable or not migrated, a port taken). Either way stderr
//! holds exactly one line, `gospital: <setting>: <problem>` (DESIGN.md §2).

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::Arc;

use clap::error::ErrorKind;
use gospital::clock::SystemClock;
use gospital::config::{self, Cli, Command, ConfigError};
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
    tracing::info!("shutdown signal received");
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Backup { to } => {
            let report = gospital::backup::backup(&config, &to).await?;
            println!("gospital: {report}");
            Ok(())
        }
        Command::Healthcheck { timeout_ms } => {
            let addr = gospital::healthcheck::target(config.listen_addr());
            gospital::healthcheck::probe(addr, std::time::Duration::from_millis(timeout_ms))
                .await
                .map_err(anyhow::Error::msg)
        }
        Command::Token { .. } => unreachable!("handled before logging starts"),
        Command::Audit { command: config::AuditCommand::Verify { checkpoints } } => {
            match gospital::audit::verify::run(&config, checkpoints.as_deref()).await? {
                verdict @ gospital::audit::verify::Verdict::Verified(..) => {
                    println!("{verdict}");
                    Ok(())
                }
                verdict @ gospital::audit::verify::Verdict::Failed(_) => {
                    println!("{verdict}");
                    Err(AuditFailed(verdict.to_string()).into())
                }
            }
        }
        Command::Migrate => {
            gospital::build_state(&config, Arc::new(SystemClock), true, gospital::auth::Auth::off()).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Serve => {
            let (app, state) = gospital::build_app(&config, Arc::new(SystemClock)).await?;
            let janitor = gospital::service::idempotency::spawn_janitor(state.service.clone(), state.clock.clone());
            let addr = config.listen_addr();
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|e| anyhow::anyhow!("{}: cannot listen on {addr}: {e}", config::setting("addr")))?;
            let upkeep = tokio::spawn(async {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
                loop {
                    tick.tick().await;
                    gospital::middleware::metrics::install().run_upkeep();
                }
            });
            tracing::info!(addr = %listener.local_addr()?, "gospital listening");
            // Peer addresses ride with each request: audit events record them (`sourceIp`).
            let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
            let delay_ms = config.shutdown_delay_ms;
            let delay = std::time::Duration::from_millis(delay_ms);
            let drain = async move {
                shutdown_signal().await;
                state.start_draining();
                if !delay.is_zero() {
                    // Balancers see readiness fail and move their traffic; requests still arriving are served.
                    tracing::info!(millis = delay_ms, "not ready; serving until the delay ends");
                    tokio::time::sleep(delay).await;
                }
                tracing::info!("closing the listener, draining in-flight requests");
            };
            axum::serve(listener, app).with_graceful_shutdown(drain).await?;
            upkeep.abort();
            janitor.abort();
            tracing::info!("stopped");
            Ok(())
        }
    }
}

/// Exit status of a configuration error (as clap uses for usage errors).
const CONFIG_ERROR: u8 = 2;

/// `gospital audit verify` found the trail tampered with: exit 1 (SECURITY.md §5), like any other failure.
#[derive(Debug, thiserror::Error)]
#[error("audit verify: {0}")]
struct AuditFailed(String);

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let cli = match Cli::from_env_and_args(&args) {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => e.exit(),
        Err(e) => {
            eprintln!("gospital: {}", one_line(&config::describe_parse_error(&e, &args)));
            return ExitCode::from(CONFIG_ERROR);
        }
    };
    // `gospital token` prints the token and nothing else on stdout, so it runs before JSON logging starts.
    if let Some(Command::Token { role, sub, name, patient, ttl }) = &cli.command {
        return match mint(&cli.config, role, sub, name, patient, ttl) {
            Ok(token) => {
                println!("{token}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("gospital: {}", one_line(&e.to_string()));
                ExitCode::from(CONFIG_ERROR)
            }
        };
    }
    let _flush_logs = init_logging();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gospital: {}", one_line(&format!("{e:#}")));
            if e.chain().any(|cause| cause.is::<ConfigError>()) {
                ExitCode::from(CONFIG_ERROR)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// A local access token for `gospital token` (SECURITY.md §1); every error is a bad value (exit 2).
fn mint(
    config: &gospital::config::Config,
    role: &str,
    sub: &Option<String>,
    name: &Option<String>,
    patient: &Option<String>,
    ttl: &str,
) -> Result<String, ConfigError> {
    use gospital::auth::local::{SigningKey, TokenRequest};
    let request = TokenRequest::new(role, sub.clone(), name.clone(), patient.clone(), ttl).map_err(ConfigError)?;
    let key = SigningKey::load_or_create(&config.auth_key_file).map_err(|e| ConfigError::of("auth_key_file", e))?;
    key.mint(&request, chrono::Utc::now().timestamp_millis()).map_err(ConfigError)
}

/// The message on one line: a driver's or the SDK's text may carry line breaks of its own.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}
