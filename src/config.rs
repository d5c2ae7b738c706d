//! Typed configuration: every flag has an environment variable (DESIGN.md §2), validated once at start-up.
//!
//! Every configuration error is one line naming the variable, its flag and the problem ([`ConfigError`]; the
//! binary exits 2). Parse errors of clap are rewritten into that form by [`describe_parse_error`]; a rule
//! between two settings names first the one the operator set, and marks the other's value as its default.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt::Display;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono::Weekday;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::domain::money::TaxRate;
use crate::store::circuit_breaker::BreakerConfig;

/// Gospital: hospital-management HTTP API.
#[derive(Debug, Clone, Parser)]
#[command(name = "gospital", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Run the API (the default).
    Serve,
    /// Apply migrations and seed departments, then exit.
    Migrate,
    /// Exit 0 when the server at the configured address answers 200 on `/health/live`, 1 otherwise
    /// (container health checks; the image has no curl).
    Healthcheck {
        /// How long to wait for the answer, in milliseconds.
        #[arg(long, default_value_t = 2000)]
        timeout_ms: u64,
    },
    /// Copy the SQLite database to a new file while the server may be serving (a consistent snapshot, checked
    /// with `PRAGMA integrity_check`). MySQL and DynamoDB have their own tools (see the README).
    Backup {
        /// The copy to write; an existing file is never overwritten.
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Check the audit trail: recompute both stores' hash chains and check their checkpoints (SECURITY.md §5).
    /// Exit 0 when everything verifies, 1 naming the store, the first bad seq and what is wrong.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Print one access token signed with the local key (`GOSPITAL_AUTH_KEY_FILE`, created when missing) on
    /// stdout and nothing else: `TOKEN=$(gospital token --role receptionist)`.
    Token {
        /// Comma-separated roles: admin, doctor, nurse, receptionist, billing, auditor, patient.
        #[arg(long, value_name = "ROLE[,ROLE…]")]
        role: String,
        /// The token's subject [default: the first role].
        #[arg(long)]
        sub: Option<String>,
        /// Display name carried in the `name` claim.
        #[arg(long)]
        name: Option<String>,
        /// The patient a `patient`-role token belongs to (`PAT-…`); required with that role.
        #[arg(long, value_name = "PAT-…")]
        patient: Option<String>,
        /// Lifetime, 1 min–24 h: `90s`, `30m`, `1h`.
        #[arg(long, default_value = "1h")]
        ttl: String,
    },
}

/// `gospital audit …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum AuditCommand {
    /// Verify both chains and every stored checkpoint, and with `--checkpoints` the copies taken from the logs.
    Verify {
        /// JSON lines copied from the server's logs (its `audit checkpoint` lines; other lines are skipped).
        #[arg(long, value_name = "FILE")]
        checkpoints: Option<PathBuf>,
    },
}

/// Where medical records and invoices live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RecordsBackend {
    /// In the relational database named by `--database-url`.
    Sql,
    /// In the two DynamoDB tables named by `--medical-records-table` and `--invoices-table`.
    Dynamodb,
}

/// How SQLite makes a commit durable (`PRAGMA synchronous`, in WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SqliteDurability {
    /// Every commit is fsynced before it is acknowledged: an acknowledged write survives a power cut.
    Full,
    /// The WAL is fsynced only at checkpoints: survives a process kill, but a power cut or a kernel crash may
    /// lose the last commits before the next checkpoint. Faster for writes; an explicit choice.
    Normal,
}

/// Every setting of the service. Flags win over environment variables, which win over defaults.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Listen address (`IP:PORT`). `SERVER_PORT=P` (Go original) means 0.0.0.0:P when this is not set.
    #[arg(long, env = "GOSPITAL_ADDR", global = true, value_parser = parse_listen_addr)]
    pub addr: Option<SocketAddr>,

    /// Go original's port setting, honoured when `--addr` is absent.
    #[arg(long, env = "SERVER_PORT", global = true, hide = true)]
    pub server_port: Option<u16>,

    /// `sqlite://PATH` (created if missing) or `mysql://user:pass@host:port/db` [default: sqlite://gospital.db,
    /// or the Go original's MYSQL_DSN when that is set].
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Go original's DSN (`user:pass@tcp(host:port)/db?parseTime=true`); used when DATABASE_URL is unset.
    #[arg(long, env = "MYSQL_DSN", global = true, hide = true)]
    pub mysql_dsn: Option<String>,

    /// Records store: `sql` or `dynamodb`.
    #[arg(long, env = "GOSPITAL_RECORDS_STORE", value_enum, default_value = "sql", global = true)]
    pub records_store: RecordsBackend,

    /// DynamoDB endpoint override, e.g. `http://127.0.0.1:8000` for a local emulator.
    #[arg(long, env = "DYNAMODB_ENDPOINT", global = true)]
    pub dynamodb_endpoint: Option<String>,

    /// AWS region of the DynamoDB tables [default: us-east-1] (`DYNAMODB_REGION` also accepted).
    #[arg(long, env = "AWS_REGION", global = true)]
    pub aws_region: Option<String>,

    #[arg(long, env = "DYNAMODB_REGION", global = true, hide = true)]
    pub dynamodb_region: Option<String>,

    /// DynamoDB table for medical records.
    #[arg(long, env = "MEDICAL_RECORDS_TABLE", default_value = "gospital-medical-records", global = true)]
    pub medical_records_table: String,

    /// DynamoDB table for invoices.
    #[arg(long, env = "INVOICES_TABLE", default_value = "gospital-invoices", global = true)]
    pub invoices_table: String,

    /// DynamoDB table for the earlier versions of medical records.
    #[arg(
        long,
        env = "MEDICAL_RECORD_HISTORY_TABLE",
        default_value = "gospital-medical-record-history",
        global = true
    )]
    pub medical_record_history_table: String,

    /// DynamoDB table for the audit events of D (SECURITY.md §5), with its chain's lease and checkpoints.
    #[arg(long, env = "AUDIT_EVENTS_TABLE", default_value = "gospital-audit-events", global = true)]
    pub audit_events_table: String,

    /// The Ed25519 key that signs audit checkpoints (PKCS#8 PEM), created with mode 0600 when missing; refused when
    /// group or others may read it. `gospital audit verify` checks signatures with it.
    #[arg(long, env = "GOSPITAL_AUDIT_KEY_FILE", default_value = "gospital-audit.key", global = true)]
    pub audit_key_file: PathBuf,

    /// Comma-separated CIDRs of the load balancers in front: only from those peers is the first
    /// `X-Forwarded-For` hop taken as an audit event's `sourceIp`.
    #[arg(long, env = "GOSPITAL_TRUSTED_PROXIES", default_value = "", global = true)]
    pub trusted_proxies: String,

    /// DynamoDB table for the idempotency records of the POSTs that create records and invoices.
    #[arg(long, env = "IDEMPOTENCY_TABLE", default_value = "gospital-idempotency", global = true)]
    pub idempotency_table: String,

    /// After SIGTERM, how long to keep serving while `/health/ready` answers 503 and every answer says
    /// `Connection: close`, before the listener closes: a load balancer's health checks take the instance out
    /// before it stops accepting. 0 closes at once (one instance, or a balancer that deregisters first).
    #[arg(long, env = "GOSPITAL_SHUTDOWN_DELAY_MS", default_value_t = 0, global = true)]
    pub shutdown_delay_ms: u64,

    /// Deadline of every `/api` request, in milliseconds.
    #[arg(long, env = "GOSPITAL_REQUEST_TIMEOUT_MS", default_value_t = 1000, global = true)]
    pub request_timeout_ms: u64,

    /// Process CPU percent (of the cgroup quota, else of all cores) at which the process counts as CPU-bound and
    /// the adaptive concurrency limit of `/api` requests is enforced; `0` disables load shedding.
    #[arg(long, env = "GOSPITAL_CPU_SHED_OPEN", default_value_t = 95.0, global = true)]
    pub cpu_shed_open: f64,

    /// Process CPU percent below which the concurrency limit is lifted again (hysteresis; at most the open
    /// threshold).
    #[arg(long, env = "GOSPITAL_CPU_SHED_CLOSE", default_value_t = 85.0, global = true)]
    pub cpu_shed_close: f64,

    /// Overload control: fewest `/api` requests in flight the adaptive limit keeps admitting while CPU-bound
    /// (also the concurrency at which it measures the latency baseline).
    #[arg(long, env = "GOSPITAL_OVERLOAD_MIN_LIMIT", default_value_t = 8, global = true)]
    pub overload_min_limit: u32,

    /// Overload control: most `/api` requests in flight the adaptive limit admits while CPU-bound.
    #[arg(long, env = "GOSPITAL_OVERLOAD_MAX_LIMIT", default_value_t = 1000, global = true)]
    pub overload_max_limit: u32,

    /// Circuit breakers: length of the sliding window of call outcomes, in milliseconds.
    #[arg(long, env = "GOSPITAL_BREAKER_WINDOW_MS", default_value_t = 10_000, global = true)]
    pub breaker_window_ms: u64,

    /// Circuit breakers: failure percent of the window's calls at which a breaker opens.
    #[arg(long, env = "GOSPITAL_BREAKER_FAILURE_RATE", default_value_t = 60.0, global = true)]
    pub breaker_failure_rate: f64,

    /// Circuit breakers: fewest calls in the window before the failure rate is judged.
    #[arg(long, env = "GOSPITAL_BREAKER_MIN_CALLS", default_value_t = 3, global = true)]
    pub breaker_min_calls: u32,

    /// Circuit breakers: fast (under 250 ms) infrastructure failures in a row that open a breaker whatever its
    /// window holds; slow ones (timeouts) count only for the failure rate; `0` turns this rule off.
    #[arg(long, env = "GOSPITAL_BREAKER_CONSECUTIVE_FAILURES", default_value_t = 5, global = true)]
    pub breaker_consecutive_failures: u32,

    /// Circuit breakers: how long an open breaker refuses calls before half-opening, in milliseconds.
    #[arg(long, env = "GOSPITAL_BREAKER_OPEN_MS", default_value_t = 30_000, global = true)]
    pub breaker_open_ms: u64,

    /// Circuit breakers: probe calls let through while half-open; all must succeed to close.
    #[arg(long, env = "GOSPITAL_BREAKER_HALF_OPEN_PROBES", default_value_t = 3, global = true)]
    pub breaker_half_open_probes: u32,

    /// Bulkhead of R: store calls in flight at once [default: GOSPITAL_DB_POOL_SIZE].
    #[arg(long, env = "GOSPITAL_CLINIC_BULKHEAD", global = true)]
    pub clinic_bulkhead: Option<u32>,

    /// Bulkhead of D: store calls in flight at once [default: GOSPITAL_DB_POOL_SIZE].
    #[arg(long, env = "GOSPITAL_RECORDS_BULKHEAD", global = true)]
    pub records_bulkhead: Option<u32>,

    /// Longest a store call waits for a bulkhead slot before answering 503, in milliseconds.
    #[arg(long, env = "GOSPITAL_BULKHEAD_WAIT_MS", default_value_t = 500, global = true)]
    pub bulkhead_wait_ms: u64,

    /// Upper bound of one store call, in milliseconds (default: the request timeout). Inside a request a call
    /// is also bounded by the time the request has left: running out of that answers 504, overrunning this
    /// bound first answers 503; both count as breaker failures.
    #[arg(long, env = "GOSPITAL_STORE_CALL_TIMEOUT_MS", global = true)]
    pub store_call_timeout_ms: Option<u64>,

    /// `/api` requests in flight at once from staff (`X-User-Type: staff`); more answer 503 at once.
    #[arg(long, env = "GOSPITAL_STAFF_MAX_IN_FLIGHT", default_value_t = 128, global = true)]
    pub staff_max_in_flight: u32,

    /// `/api` requests in flight at once from the public (any other `X-User-Type`, or none); more answer 503.
    #[arg(long, env = "GOSPITAL_PUBLIC_MAX_IN_FLIGHT", default_value_t = 256, global = true)]
    pub public_max_in_flight: u32,

    /// Apply migrations on `serve` (SQLite always migrates). The variable takes true/false, 1/0, yes/no or on/off.
    #[arg(long, env = "GOSPITAL_MIGRATE", global = true, action = ArgAction::SetTrue, value_parser = parse_bool)]
    pub migrate: bool,

    /// How long the answer of a POST sent with an `Idempotency-Key` is kept for replays, in hours (at least 24).
    #[arg(long, env = "GOSPITAL_IDEMPOTENCY_RETENTION_HOURS", default_value_t = 24, global = true)]
    pub idempotency_retention_hours: u64,

    /// Serve although the database has migrations this binary does not know (a rollback, or older tasks during a
    /// rolling upgrade, when the newer release's migrations are backward compatible). Without it such a
    /// database stops `serve`. The variable takes true/false, 1/0, yes/no or on/off.
    #[arg(long, env = "GOSPITAL_ALLOW_NEWER_SCHEMA", global = true, action = ArgAction::SetTrue,
          value_parser = parse_bool)]
    pub allow_newer_schema: bool,

    /// Tax rate stored on each new invoice (0 ≤ rate < 1, at most 4 decimals).
    #[arg(long, env = "GOSPITAL_TAX_RATE", default_value = "0.08", global = true)]
    pub tax_rate: String,

    /// Working days for availability, comma-separated (`mon,tue,...`).
    #[arg(long, env = "GOSPITAL_WORK_DAYS", default_value = "mon,tue,wed,thu,fri", global = true)]
    pub work_days: String,

    /// Start of the working day (`HH:MM`).
    #[arg(long, env = "GOSPITAL_WORK_START", default_value = "09:00", global = true)]
    pub work_start: String,

    /// End of the working day (`HH:MM`).
    #[arg(long, env = "GOSPITAL_WORK_END", default_value = "17:00", global = true)]
    pub work_end: String,

    /// Availability slot length in minutes.
    #[arg(long, env = "GOSPITAL_SLOT_MINUTES", default_value_t = 30, global = true)]
    pub slot_minutes: u32,

    /// SQLite busy timeout: how long a write waits for the database lock before answering 503.
    #[arg(long, env = "GOSPITAL_SQLITE_BUSY_TIMEOUT_MS", default_value_t = 5000, global = true)]
    pub sqlite_busy_timeout_ms: u64,

    /// SQLite commit durability: `full` (fsync per commit; survives a power cut) or `normal` (survives a
    /// process kill only).
    #[arg(long, env = "GOSPITAL_SQLITE_SYNCHRONOUS", value_enum, default_value = "full", global = true)]
    pub sqlite_synchronous: SqliteDurability,

    /// Read connections for SQLite (writes always use one connection, so bookings serialise).
    #[arg(long, env = "GOSPITAL_DB_POOL_SIZE", default_value_t = 8, global = true)]
    pub db_pool_size: u32,

    /// How long a request waits for a database connection before answering 503.
    #[arg(long, env = "GOSPITAL_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 2000, global = true)]
    pub db_acquire_timeout_ms: u64,

    /// MySQL: longest a single statement may run on the server (`max_statement_time`).
    #[arg(long, env = "GOSPITAL_DB_STATEMENT_TIMEOUT_MS", default_value_t = 5000, global = true)]
    pub db_statement_timeout_ms: u64,

    /// How callers are identified: `local` (tokens signed by this server's key), `oidc` (the hospital's identity
    /// provider) or `off` (no authentication; loopback listen addresses only) [default: oidc when
    /// GOSPITAL_OIDC_ISSUER is set, else local].
    #[arg(long, env = "GOSPITAL_AUTH", value_enum, global = true)]
    pub auth: Option<crate::auth::AuthMode>,

    /// Mode local: the Ed25519 key file (PKCS#8 PEM), created with mode 0600 when missing; refused when group or
    /// others may read it. Instances sharing it accept each other's tokens.
    #[arg(long, env = "GOSPITAL_AUTH_KEY_FILE", default_value = "gospital.key", global = true)]
    pub auth_key_file: PathBuf,

    /// Mode oidc: the issuer; a token's `iss` must equal it exactly. `https://` unless the host is loopback.
    #[arg(long, env = "GOSPITAL_OIDC_ISSUER", global = true)]
    pub oidc_issuer: Option<String>,

    /// Mode oidc: the API's audience; one of a token's `aud` values must equal it (required with oidc).
    #[arg(long, env = "GOSPITAL_OIDC_AUDIENCE", global = true)]
    pub oidc_audience: Option<String>,

    /// Mode oidc: the signing keys' URL [default: `jwks_uri` of {issuer}/.well-known/openid-configuration].
    #[arg(long, env = "GOSPITAL_OIDC_JWKS_URL", global = true)]
    pub oidc_jwks_url: Option<String>,

    /// Mode oidc: dotted path to the roles claim, an array of strings or a space-separated string
    /// (`realm_access.roles` for Keycloak, `cognito:groups` for Cognito). Unknown role names are ignored.
    #[arg(long, env = "GOSPITAL_OIDC_ROLES_CLAIM", default_value = "roles", global = true)]
    pub oidc_roles_claim: String,

    /// Mode oidc: the claim naming the patient a `patient`-role token belongs to.
    #[arg(long, env = "GOSPITAL_OIDC_PATIENT_CLAIM", default_value = "patient_id", global = true)]
    pub oidc_patient_claim: String,

    /// Mode oidc: accepted signature algorithms, comma-separated (asymmetric only; `none` and HMAC never).
    #[arg(long, env = "GOSPITAL_OIDC_ALGORITHMS", default_value = "ES256,RS256,EdDSA", global = true)]
    pub oidc_algorithms: String,

    /// Requests per second per principal (`sub`), per instance; `0` disables the limit. Not applied in mode off.
    #[arg(long, env = "GOSPITAL_RATE_LIMIT_PER_SECOND", default_value_t = 50, global = true)]
    pub rate_limit_per_second: u32,

    /// Burst of the per-principal token bucket.
    #[arg(long, env = "GOSPITAL_RATE_LIMIT_BURST", default_value_t = 200, global = true)]
    pub rate_limit_burst: u32,

    /// Ids of the settings the operator gave (flag or variable), so an error between two settings can name the
    /// one actually set. Filled by [`Cli::from_env_and_args`]; empty (all defaults) otherwise.
    #[arg(skip)]
    pub given: BTreeSet<String>,
}

/// A configuration error: one line naming the setting (variable and flag) and the problem. `gospital` exits 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl ConfigError {
    /// `<setting>: <problem>` for the setting with clap id `id`.
    pub fn of(id: &str, problem: impl Display) -> Self {
        Self(format!("{}: {problem}", setting(id)))
    }
}

impl Cli {
    /// Parses `args` (and the environment), recording which settings the operator gave. Help and version
    /// requests come back as the `Err` clap uses for them ([`clap::Error::exit`] prints them).
    pub fn from_env_and_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches = Self::command().try_get_matches_from(args)?;
        let mut cli = Self::from_arg_matches(&matches)?;
        let mut given = BTreeSet::new();
        record_given(&matches, &mut given);
        // Global flags written after the subcommand are recorded in the subcommand's matches.
        if let Some((_, sub)) = matches.subcommand() {
            record_given(sub, &mut given);
        }
        cli.config.given = given;
        Ok(cli)
    }
}

fn record_given(matches: &ArgMatches, given: &mut BTreeSet<String>) {
    for id in matches.ids() {
        if matches!(matches.value_source(id.as_str()), Some(ValueSource::CommandLine | ValueSource::EnvVariable)) {
            given.insert(id.as_str().to_owned());
        }
    }
}

/// `VARIABLE (--flag)` for the setting with clap id `id` (`--flag` alone for flags without a variable).
pub fn setting(id: &str) -> String {
    let cmd = Cli::command();
    let found = cmd
        .get_arguments()
        .chain(cmd.get_subcommands().flat_map(clap::Command::get_arguments))
        .find(|a| a.get_id() == id)
        .map(|a| (a.get_env().map(|e| e.to_string_lossy().into_owned()), a.get_long().map(|l| format!("--{l}"))));
    match found {
        Some((Some(env), Some(long))) => format!("{env} ({long})"),
        Some((None, Some(long))) => long,
        Some((Some(env), None)) => env,
        _ => id.to_owned(),
    }
}

/// The listen address: an IP address and a port; host names are refused rather than resolved, so the address
/// bound is the one written.
fn parse_listen_addr(value: &str) -> Result<SocketAddr, String> {
    value.trim().parse().map_err(|_| {
        "is not an IP address and port (e.g. 127.0.0.1:8080, 0.0.0.0:8080 or [::]:8080; host names are not resolved)"
            .to_owned()
    })
}

/// A boolean setting: true/false, 1/0, yes/no or on/off, in any case.
fn parse_bool(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        _ => Err("is not a boolean (true/false, 1/0, yes/no, on/off)".to_owned()),
    }
}

/// One line for a clap parse error: the variable and flag at fault, the value and the problem, e.g.
/// `GOSPITAL_REQUEST_TIMEOUT_MS (--request-timeout-ms): "abc" is not a whole number`. The flag comes first when
/// `args` (the command line) used it, the variable otherwise.
pub fn describe_parse_error(err: &clap::Error, args: &[OsString]) -> String {
    let text = |kind| match err.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        _ => None,
    };
    let bad_value = matches!(err.kind(), ErrorKind::InvalidValue | ErrorKind::ValueValidation);
    let (Some(arg), Some(value), true) = (text(ContextKind::InvalidArg), text(ContextKind::InvalidValue), bad_value)
    else {
        return first_line(err);
    };
    // `--request-timeout-ms <REQUEST_TIMEOUT_MS>` → `--request-timeout-ms`
    let long = arg.split([' ', '=']).next().unwrap_or(&arg).to_owned();
    let cmd = Cli::command();
    let env = cmd
        .get_arguments()
        .chain(cmd.get_subcommands().flat_map(clap::Command::get_arguments))
        .find(|a| a.get_long().is_some_and(|l| long == format!("--{l}")))
        .and_then(|a| a.get_env().map(|e| e.to_string_lossy().into_owned()));
    let on_command_line =
        args.iter().filter_map(|a| a.to_str()).any(|a| a == long || a.starts_with(&format!("{long}=")));
    let who = match env {
        Some(env) if on_command_line => format!("{long} ({env})"),
        Some(env) => format!("{env} ({long})"),
        None => long,
    };
    let problem = match err.get(ContextKind::ValidValue) {
        Some(ContextValue::Strings(valid)) => format!("is not one of {}", valid.join(", ")),
        _ => problem_of(err, &value),
    };
    // Debug quoting keeps a value with a line break on one line; long values are cut.
    let shown: String = value.chars().take(80).collect();
    format!("{who}: {shown:?} {problem}")
}

/// What the value parser said, phrased to follow the value.
fn problem_of(err: &clap::Error, value: &str) -> String {
    use std::error::Error as _;
    use std::num::IntErrorKind;
    let Some(source) = err.source() else { return "is not valid".to_owned() };
    if let Some(e) = source.downcast_ref::<std::num::ParseIntError>() {
        return match e.kind() {
            IntErrorKind::Empty => "is empty; expected a whole number",
            IntErrorKind::PosOverflow => "is too large",
            IntErrorKind::NegOverflow => "is too small",
            _ => "is not a whole number",
        }
        .to_owned();
    }
    if source.downcast_ref::<std::num::ParseFloatError>().is_some() {
        return "is not a number".to_owned();
    }
    // clap's range check repeats the value first: `99999999999 is not in 0..=4294967295`.
    let text = source.to_string();
    text.strip_prefix(value).map_or_else(|| text.clone(), |rest| rest.trim_start().to_owned())
}

/// Clap's own message, first line only (`unexpected argument '--bogus' found`), pointing at `--help`.
fn first_line(err: &clap::Error) -> String {
    let rendered = err.render().to_string();
    let line = rendered.lines().find(|l| !l.trim().is_empty()).unwrap_or("invalid command line");
    format!("{}; see gospital --help", line.trim().trim_start_matches("error: "))
}

/// Converts the Go original's `MYSQL_DSN` (`user:pass@tcp(host:port)/db?parseTime=true`) to a `mysql://` URL.
///
/// Accepts `tcp(host[:port])`, `unix(/path/to/socket)`, and no address at all (the Go driver's default,
/// `127.0.0.1:3306`). User and password are percent-encoded; the Go driver's own parameters (`parseTime`,
/// `charset`, `loc`, ...) are dropped, as the adapter sets what it needs. `None` when `dsn` is not a DSN.
pub fn dsn_to_url(dsn: &str) -> Option<String> {
    if dsn.contains("://") {
        return None;
    }
    // As in the Go driver: the database follows the last '/', the credentials end at the last '@' before it.
    let (head, db_and_params) = dsn.rsplit_once('/')?;
    let database = db_and_params.split_once('?').map_or(db_and_params, |(db, _)| db);
    let (credentials, address) = match head.rsplit_once('@') {
        Some((credentials, address)) => (Some(credentials), address),
        None => (None, head),
    };
    let userinfo = match credentials {
        None | Some("") => String::new(),
        Some(credentials) => match credentials.split_once(':') {
            Some((user, pass)) => format!("{}:{}@", percent_encode(user), percent_encode(pass)),
            None => format!("{}@", percent_encode(credentials)),
        },
    };
    let database = percent_encode(database);
    if address.is_empty() {
        return Some(format!("mysql://{userinfo}127.0.0.1:3306/{database}"));
    }
    let (protocol, rest) = address.split_once('(')?;
    let target = rest.strip_suffix(')')?;
    match protocol {
        "tcp" if !target.is_empty() => Some(format!("mysql://{userinfo}{target}/{database}")),
        "unix" if !target.is_empty() => {
            Some(format!("mysql://{userinfo}localhost/{database}?socket={}", percent_encode(target)))
        }
        _ => None,
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub use crate::domain::availability::Schedule;

/// Settings that change observable behaviour, validated once and shared with handlers.
#[derive(Debug, Clone)]
pub struct Settings {
    pub request_timeout: Duration,
    /// How long a POST's idempotency record outlives its success (API.md §1.11: at least 24 h).
    pub idempotency_retention: Duration,
    pub tax_rate: TaxRate,
    pub schedule: Schedule,
    pub resilience: ResilienceSettings,
    /// Peers whose `X-Forwarded-For` is believed for audit events' `sourceIp`.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// Breakers, bulkheads, store-call timeout, traffic classes and CPU shedding (DESIGN.md §3), validated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResilienceSettings {
    /// Shared by the R and D breakers (each keeps its own state).
    pub breaker: BreakerConfig,
    pub clinic_bulkhead: u32,
    pub records_bulkhead: u32,
    pub bulkhead_wait: Duration,
    pub store_call_timeout: Duration,
    pub staff_max_in_flight: u32,
    pub public_max_in_flight: u32,
    /// Percent; `0` disables the shedder.
    pub cpu_shed_open: f64,
    pub cpu_shed_close: f64,
    pub overload_limits: crate::middleware::overload::LimitBounds,
}

impl Config {
    /// Defaults plus a given database URL, for tests.
    pub fn for_tests(database_url: &str) -> Self {
        let mut config = Cli::parse_from(["gospital"]).config;
        config.addr = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        config.server_port = None;
        config.database_url = Some(database_url.to_owned());
        config.mysql_dsn = None;
        config.records_store = RecordsBackend::Sql;
        // Hundreds of in-process apps share one disk: with an fsync per commit, a 50-way write burst of one test
        // queued behind the others' fsyncs past the 500 ms bulkhead wait (a 503 in CI). These suites test the API,
        // not power cuts; the durable default is checked on its own (`every_connection_gets_the_durability_asked_for`)
        // and runs in every test of the real binary (`tests/cli`).
        config.sqlite_synchronous = SqliteDurability::Normal;
        // The tests share one process on few cores: real CPU readings would shed at random. Shedder tests
        // inject their own probe and thresholds.
        config.cpu_shed_open = 0.0;
        // In-process tests drive the API as the Go original's clients did; the auth tests switch it on.
        config.auth = Some(crate::auth::AuthMode::Off);
        config.oidc_issuer = None;
        // One checkpoint key per test process, outside the working tree.
        config.audit_key_file = std::env::temp_dir().join(format!("gospital-test-audit-{}.key", std::process::id()));
        config
    }

    /// The authentication mode: `--auth`, else `oidc` when an issuer is set, else `local`.
    pub fn auth_mode(&self) -> crate::auth::AuthMode {
        use crate::auth::AuthMode;
        self.auth.unwrap_or(if self.oidc_issuer.is_some() { AuthMode::Oidc } else { AuthMode::Local })
    }

    /// Mode oidc's settings, checked: issuer and audience present, `https` unless loopback, algorithms
    /// asymmetric.
    pub fn oidc_settings(&self) -> Result<crate::auth::oidc::OidcSettings, ConfigError> {
        use std::str::FromStr as _;

        use jsonwebtoken::Algorithm;
        let issuer = self
            .oidc_issuer
            .clone()
            .filter(|i| !i.trim().is_empty())
            .ok_or_else(|| ConfigError::of("oidc_issuer", "required with GOSPITAL_AUTH=oidc"))?;
        let secure = |id: &str, url: &str| {
            if url.starts_with("https://") || crate::auth::oidc::is_loopback_url(url) {
                Ok(())
            } else {
                Err(ConfigError::of(id, format!("{url:?} must be https:// (plain http only on a loopback host)")))
            }
        };
        secure("oidc_issuer", &issuer)?;
        if let Some(url) = &self.oidc_jwks_url {
            secure("oidc_jwks_url", url)?;
        }
        let audience = self
            .oidc_audience
            .clone()
            .filter(|a| !a.trim().is_empty())
            .ok_or_else(|| ConfigError::of("oidc_audience", "required with GOSPITAL_AUTH=oidc"))?;
        let mut algorithms = Vec::new();
        for name in self.oidc_algorithms.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let alg = Algorithm::from_str(name).map_err(|_| {
                ConfigError::of(
                    "oidc_algorithms",
                    format!("{name:?} is not a JWS algorithm (e.g. ES256, RS256, EdDSA)"),
                )
            })?;
            if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
                return Err(ConfigError::of("oidc_algorithms", format!("{name} is symmetric and never accepted")));
            }
            algorithms.push(alg);
        }
        if algorithms.is_empty() {
            return Err(ConfigError::of("oidc_algorithms", "names no algorithm"));
        }
        Ok(crate::auth::oidc::OidcSettings {
            rules: crate::auth::jwt::Rules {
                issuer,
                audience,
                algorithms,
                roles_claim: self.oidc_roles_claim.clone(),
                patient_claim: self.oidc_patient_claim.clone(),
            },
            jwks_url: self.oidc_jwks_url.clone(),
        })
    }

    /// The relational database URL: `DATABASE_URL`, else the Go original's `MYSQL_DSN` converted, else
    /// `sqlite://gospital.db`.
    pub fn resolved_database_url(&self) -> Result<String, ConfigError> {
        if let Some(url) = self.database_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            return Ok(url.to_owned());
        }
        match self.mysql_dsn.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            Some(dsn) => {
                dsn_to_url(dsn).ok_or_else(|| ConfigError::of("mysql_dsn", "expected user:pass@tcp(host:port)/db"))
            }
            None => Ok("sqlite://gospital.db".to_owned()),
        }
    }

    /// The setting the database URL came from, for messages: `DATABASE_URL (--database-url)`, or `MYSQL_DSN` when
    /// the URL was converted from it.
    pub fn database_url_setting(&self) -> String {
        let from_dsn = self.database_url.as_deref().is_none_or(|u| u.trim().is_empty())
            && self.mysql_dsn.as_deref().is_some_and(|d| !d.trim().is_empty());
        if from_dsn { "MYSQL_DSN".to_owned() } else { setting("database_url") }
    }

    /// AWS region: `AWS_REGION`, else `DYNAMODB_REGION`, else `us-east-1`.
    pub fn resolved_region(&self) -> String {
        self.aws_region.clone().or_else(|| self.dynamodb_region.clone()).unwrap_or_else(|| "us-east-1".to_owned())
    }

    /// The listen address: `--addr`, else `SERVER_PORT` on all interfaces, else 127.0.0.1:8080.
    pub fn listen_addr(&self) -> SocketAddr {
        match (self.addr, self.server_port) {
            (Some(addr), _) => addr,
            (None, Some(port)) => SocketAddr::from(([0, 0, 0, 0], port)),
            (None, None) => SocketAddr::from(([127, 0, 0, 1], 8080)),
        }
    }

    /// `VARIABLE (--flag) = value`, marked when the operator did not set it, for rules between two settings.
    fn shown(&self, id: &str, value: impl Display) -> String {
        let default = if self.given.contains(id) { "" } else { " (the default)" };
        format!("{} = {value}{default}", setting(id))
    }

    /// A rule between two settings broken: `first` (say) must be `relation` `second`. Blames whichever the
    /// operator set: when only `second` was set, the message is turned round with `inverse`.
    fn cross(&self, first: (&str, String), relation: &str, second: (&str, String), inverse: &str) -> ConfigError {
        let ((a, va), rel, (b, vb)) = if self.given.contains(second.0) && !self.given.contains(first.0) {
            (second, inverse, first)
        } else {
            (first, relation, second)
        };
        ConfigError(format!("{} must be {rel} {}", self.shown(a, va), self.shown(b, vb)))
    }

    /// Validates the behaviour settings; the error names the setting at fault.
    pub fn settings(&self) -> Result<Settings, ConfigError> {
        at_least_one("request_timeout_ms", self.request_timeout_ms)?;
        let tax_rate = TaxRate::parse(&self.tax_rate).map_err(|e| ConfigError::of("tax_rate", e))?;
        let parse_hm = |id: &str, v: &str| {
            crate::domain::formats::parse_time(v).ok_or_else(|| ConfigError::of(id, format!("{v:?} is not HH:MM")))
        };
        let start = parse_hm("work_start", &self.work_start)?;
        let end = parse_hm("work_end", &self.work_end)?;
        if end <= start {
            return Err(self.cross(
                ("work_end", self.work_end.clone()),
                "after",
                ("work_start", self.work_start.clone()),
                "before",
            ));
        }
        if !(5..=480).contains(&self.slot_minutes) {
            return Err(ConfigError::of(
                "slot_minutes",
                format!("must be between 5 and 480, got {}", self.slot_minutes),
            ));
        }
        let mut work_days = Vec::new();
        for day in self.work_days.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            let wd: Weekday = day
                .parse()
                .map_err(|_| ConfigError::of("work_days", format!("{day:?} is not a weekday (mon..sun)")))?;
            if !work_days.contains(&wd) {
                work_days.push(wd);
            }
        }
        if self.shutdown_delay_ms > MAX_SHUTDOWN_DELAY_MS {
            return Err(ConfigError::of(
                "shutdown_delay_ms",
                format!("must be at most {MAX_SHUTDOWN_DELAY_MS} (2 minutes), got {}", self.shutdown_delay_ms),
            ));
        }
        for (id, value) in [("cpu_shed_open", self.cpu_shed_open), ("cpu_shed_close", self.cpu_shed_close)] {
            if !(0.0..=100.0).contains(&value) {
                return Err(ConfigError::of(id, format!("must be a percentage (0-100), got {value}")));
            }
        }
        if self.cpu_shed_open > 0.0 && self.cpu_shed_close > self.cpu_shed_open {
            return Err(self.cross(
                ("cpu_shed_close", self.cpu_shed_close.to_string()),
                "at most",
                ("cpu_shed_open", self.cpu_shed_open.to_string()),
                "at least",
            ));
        }
        if self.overload_min_limit == 0 {
            return Err(ConfigError::of("overload_min_limit", "must be at least 1"));
        }
        if self.overload_max_limit < self.overload_min_limit {
            return Err(self.cross(
                ("overload_max_limit", self.overload_max_limit.to_string()),
                "at least",
                ("overload_min_limit", self.overload_min_limit.to_string()),
                "at most",
            ));
        }
        if self.idempotency_retention_hours < 24 {
            return Err(ConfigError::of("idempotency_retention_hours", "must be at least 24 (API.md §1.11)"));
        }
        Ok(Settings {
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            idempotency_retention: Duration::from_secs(self.idempotency_retention_hours.saturating_mul(3600)),
            tax_rate,
            schedule: Schedule { work_days, start, end, slot_minutes: self.slot_minutes },
            resilience: self.resilience()?,
            trusted_proxies: self.trusted_proxies()?,
        })
    }

    fn trusted_proxies(&self) -> Result<Vec<ipnet::IpNet>, ConfigError> {
        let mut nets = Vec::new();
        for part in self.trusted_proxies.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            // A bare address is a one-address network.
            let net = part
                .parse::<ipnet::IpNet>()
                .or_else(|_| part.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| ConfigError::of("trusted_proxies", format!("{part:?} is not an IP address or CIDR")))?;
            nets.push(net);
        }
        Ok(nets)
    }

    fn resilience(&self) -> Result<ResilienceSettings, ConfigError> {
        if !(self.breaker_failure_rate > 0.0 && self.breaker_failure_rate <= 100.0) {
            return Err(ConfigError::of(
                "breaker_failure_rate",
                format!("must be a percentage above 0 and at most 100, got {}", self.breaker_failure_rate),
            ));
        }
        // The pool size is checked before the bulkheads it is the default of, so a zero pool size is blamed on
        // GOSPITAL_DB_POOL_SIZE, not on a bulkhead variable nobody set.
        at_least_one("db_pool_size", u64::from(self.db_pool_size))?;
        at_least_one("breaker_window_ms", self.breaker_window_ms)?;
        at_least_one("breaker_min_calls", u64::from(self.breaker_min_calls))?;
        at_least_one("breaker_open_ms", self.breaker_open_ms)?;
        at_least_one("breaker_half_open_probes", u64::from(self.breaker_half_open_probes))?;
        for (id, value) in [("clinic_bulkhead", self.clinic_bulkhead), ("records_bulkhead", self.records_bulkhead)] {
            if let Some(value) = value {
                at_least_one(id, u64::from(value))?;
            }
        }
        if let Some(value) = self.store_call_timeout_ms {
            at_least_one("store_call_timeout_ms", value)?;
        }
        at_least_one("staff_max_in_flight", u64::from(self.staff_max_in_flight))?;
        at_least_one("public_max_in_flight", u64::from(self.public_max_in_flight))?;
        Ok(ResilienceSettings {
            breaker: BreakerConfig {
                window: Duration::from_millis(self.breaker_window_ms),
                failure_rate: self.breaker_failure_rate / 100.0,
                min_calls: self.breaker_min_calls,
                consecutive_failures: self.breaker_consecutive_failures,
                open_for: Duration::from_millis(self.breaker_open_ms),
                half_open_probes: self.breaker_half_open_probes,
            },
            clinic_bulkhead: self.clinic_bulkhead.unwrap_or(self.db_pool_size),
            records_bulkhead: self.records_bulkhead.unwrap_or(self.db_pool_size),
            bulkhead_wait: Duration::from_millis(self.bulkhead_wait_ms),
            store_call_timeout: Duration::from_millis(self.store_call_timeout_ms.unwrap_or(self.request_timeout_ms)),
            staff_max_in_flight: self.staff_max_in_flight,
            public_max_in_flight: self.public_max_in_flight,
            cpu_shed_open: self.cpu_shed_open,
            cpu_shed_close: self.cpu_shed_close,
            overload_limits: crate::middleware::overload::LimitBounds {
                min: self.overload_min_limit,
                max: self.overload_max_limit,
            },
        })
    }
}

/// Longer than any balancer's health-check interval × threshold; an orchestrator kills a task that lingers
/// past its stop timeout (ECS: 30 s by default, at most 120 s) anyway.
const MAX_SHUTDOWN_DELAY_MS: u64 = 120_000;

fn at_least_one(id: &str, value: u64) -> Result<(), ConfigError> {
    if value == 0 { Err(ConfigError::of(id, "must be at least 1, got 0")) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_go_dsn_becomes_a_url() {
        assert_eq!(
            dsn_to_url("gospital:s3cret@tcp(db.internal:3306)/gospital?parseTime=true").as_deref(),
            Some("mysql://gospital:s3cret@db.internal:3306/gospital")
        );
        assert_eq!(dsn_to_url("root@tcp(127.0.0.1)/app").as_deref(), Some("mysql://root@127.0.0.1/app"));
        assert_eq!(dsn_to_url("root:@tcp(localhost:3307)/app").as_deref(), Some("mysql://root:@localhost:3307/app"));
    }

    #[test]
    fn special_characters_in_credentials_are_percent_encoded() {
        assert_eq!(
            dsn_to_url("us@r:p@ss:w/rd?@tcp(h:1)/db?parseTime=true&loc=UTC").as_deref(),
            Some("mysql://us%40r:p%40ss%3Aw%2Frd%3F@h:1/db")
        );
    }

    #[test]
    fn a_dsn_without_address_uses_the_go_default_and_unix_sockets_are_kept() {
        assert_eq!(dsn_to_url("user:pw@/app").as_deref(), Some("mysql://user:pw@127.0.0.1:3306/app"));
        assert_eq!(dsn_to_url("/app").as_deref(), Some("mysql://127.0.0.1:3306/app"));
        assert_eq!(
            dsn_to_url("user@unix(/run/mysqld/mysqld.sock)/app").as_deref(),
            Some("mysql://user@localhost/app?socket=%2Frun%2Fmysqld%2Fmysqld.sock")
        );
    }

    #[test]
    fn urls_and_malformed_dsns_are_not_converted() {
        for not_a_dsn in
            ["mysql://root@localhost/app", "sqlite://gospital.db", "no-slash", "u@tcp(h:1/app", "u@udp(h)/d"]
        {
            assert_eq!(dsn_to_url(not_a_dsn), None, "{not_a_dsn}");
        }
    }

    #[test]
    fn sqlite_commits_are_durable_unless_asked_otherwise() {
        assert_eq!(Cli::parse_from(["gospital"]).config.sqlite_synchronous, SqliteDurability::Full);
        let fast = Cli::parse_from(["gospital", "--sqlite-synchronous", "normal"]).config;
        assert_eq!(fast.sqlite_synchronous, SqliteDurability::Normal);
    }

    #[test]
    fn database_url_wins_over_the_dsn_and_sqlite_is_the_default() {
        let mut c = Config::for_tests("sqlite://x.db");
        c.mysql_dsn = Some("u:p@tcp(h:1)/d".into());
        assert_eq!(c.resolved_database_url().unwrap(), "sqlite://x.db");
        c.database_url = None;
        assert_eq!(c.resolved_database_url().unwrap(), "mysql://u:p@h:1/d");
        c.mysql_dsn = None;
        assert_eq!(c.resolved_database_url().unwrap(), "sqlite://gospital.db");
    }

    /// The one-line message for a command line, or `None` when it parses.
    fn parse_error(args: &[&str]) -> Option<String> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        Cli::from_env_and_args(&args).err().map(|e| describe_parse_error(&e, &args))
    }

    #[test]
    fn a_bad_flag_value_is_one_line_naming_the_flag_then_its_variable() {
        assert_eq!(
            parse_error(&["gospital", "--request-timeout-ms", "abc"]).as_deref(),
            Some(r#"--request-timeout-ms (GOSPITAL_REQUEST_TIMEOUT_MS): "abc" is not a whole number"#)
        );
        assert_eq!(
            parse_error(&["gospital", "serve", "--db-pool-size=99999999999"]).as_deref(),
            Some(r#"--db-pool-size (GOSPITAL_DB_POOL_SIZE): "99999999999" is not in 0..=4294967295"#)
        );
        let addr = parse_error(&["gospital", "--addr", "localhost:8080"]).unwrap();
        assert!(
            addr.starts_with(r#"--addr (GOSPITAL_ADDR): "localhost:8080" is not an IP address and port"#),
            "{addr}"
        );
        assert_eq!(
            parse_error(&["gospital", "--records-store", "nosql"]).as_deref(),
            Some(r#"--records-store (GOSPITAL_RECORDS_STORE): "nosql" is not one of sql, dynamodb"#)
        );
        assert_eq!(
            parse_error(&["gospital", "--cpu-shed-open", "lots"]).as_deref(),
            Some(r#"--cpu-shed-open (GOSPITAL_CPU_SHED_OPEN): "lots" is not a number"#)
        );
        let unknown = parse_error(&["gospital", "--bogus"]).unwrap();
        assert_eq!(unknown, "unexpected argument '--bogus' found; see gospital --help");
        for message in [addr, unknown] {
            assert!(!message.contains('\n'), "{message}");
        }
    }

    #[test]
    fn the_settings_the_operator_gave_are_recorded_wherever_the_flag_stands() {
        let cli = Cli::from_env_and_args(["gospital", "--db-pool-size", "3", "serve", "--migrate"]).unwrap();
        assert!(cli.config.migrate);
        assert!(cli.config.given.contains("db_pool_size") && cli.config.given.contains("migrate"));
        assert!(!cli.config.given.contains("request_timeout_ms"), "a default is not given");
    }

    #[test]
    fn booleans_take_the_usual_spellings_and_nothing_else() {
        for (text, value) in [("1", true), ("TRUE", true), ("yes", true), ("on", true), ("0", false), ("off", false)] {
            assert_eq!(parse_bool(text), Ok(value), "{text}");
        }
        assert!(parse_bool("maybe").is_err());
    }

    #[test]
    fn a_zero_pool_size_is_blamed_on_the_pool_size_not_on_the_bulkheads_it_defaults() {
        let mut c = Config::for_tests("sqlite://x.db");
        c.db_pool_size = 0;
        c.given.insert("db_pool_size".into());
        assert_eq!(c.settings().unwrap_err().0, "GOSPITAL_DB_POOL_SIZE (--db-pool-size): must be at least 1, got 0");
        c.db_pool_size = 4;
        c.clinic_bulkhead = Some(0);
        assert_eq!(
            c.settings().unwrap_err().0,
            "GOSPITAL_CLINIC_BULKHEAD (--clinic-bulkhead): must be at least 1, got 0"
        );
    }

    #[test]
    fn a_rule_between_two_settings_names_first_the_one_the_operator_set() {
        let mut c = Config::for_tests("sqlite://x.db");
        c.cpu_shed_open = 50.0;
        c.given.insert("cpu_shed_open".into());
        assert_eq!(
            c.settings().unwrap_err().0,
            "GOSPITAL_CPU_SHED_OPEN (--cpu-shed-open) = 50 must be at least \
             GOSPITAL_CPU_SHED_CLOSE (--cpu-shed-close) = 85 (the default)"
        );
        let mut c = Config::for_tests("sqlite://x.db");
        c.work_start = "18:00".into();
        c.given.insert("work_start".into());
        assert_eq!(
            c.settings().unwrap_err().0,
            "GOSPITAL_WORK_START (--work-start) = 18:00 must be before \
             GOSPITAL_WORK_END (--work-end) = 17:00 (the default)"
        );
        c.work_end = "08:00".into();
        c.given.insert("work_end".into());
        assert_eq!(
            c.settings().unwrap_err().0,
            "GOSPITAL_WORK_END (--work-end) = 08:00 must be after GOSPITAL_WORK_START (--work-start) = 18:00"
        );
    }
}
