//! Typed configuration: every flag has an environment variable (DESIGN.md §2), validated once at start-up.

use std::net::SocketAddr;
use std::time::Duration;

use chrono::Weekday;
use clap::{Parser, Subcommand, ValueEnum};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
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
}

/// Where medical records and invoices live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RecordsBackend {
    /// In the relational database named by `--database-url`.
    Sql,
    /// In the two DynamoDB tables named by `--medical-records-table` and `--invoices-table`.
    Dynamodb,
}

/// Every setting of the service. Flags win over environment variables, which win over defaults.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Listen address. `SERVER_PORT=P` (Go original) means 0.0.0.0:P when this is not set.
    #[arg(long, env = "GOSPITAL_ADDR", global = true)]
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

    /// DynamoDB table for the idempotency records of the POSTs that create records and invoices.
    #[arg(long, env = "IDEMPOTENCY_TABLE", default_value = "gospital-idempotency", global = true)]
    pub idempotency_table: String,

    /// Deadline of every `/api` request, in milliseconds.
    #[arg(long, env = "GOSPITAL_REQUEST_TIMEOUT_MS", default_value_t = 1000, global = true)]
    pub request_timeout_ms: u64,

    /// Process CPU percent (of the cgroup quota, else of all cores) at which `/api` load shedding opens;
    /// `0` disables the shedder.
    #[arg(long, env = "GOSPITAL_CPU_SHED_OPEN", default_value_t = 95.0, global = true)]
    pub cpu_shed_open: f64,

    /// Process CPU percent below which load shedding closes again (hysteresis; at most the open threshold).
    #[arg(long, env = "GOSPITAL_CPU_SHED_CLOSE", default_value_t = 85.0, global = true)]
    pub cpu_shed_close: f64,

    /// Circuit breakers: length of the sliding window of call outcomes, in milliseconds.
    #[arg(long, env = "GOSPITAL_BREAKER_WINDOW_MS", default_value_t = 10_000, global = true)]
    pub breaker_window_ms: u64,

    /// Circuit breakers: failure percent of the window's calls at which a breaker opens.
    #[arg(long, env = "GOSPITAL_BREAKER_FAILURE_RATE", default_value_t = 60.0, global = true)]
    pub breaker_failure_rate: f64,

    /// Circuit breakers: fewest calls in the window before the failure rate is judged.
    #[arg(long, env = "GOSPITAL_BREAKER_MIN_CALLS", default_value_t = 3, global = true)]
    pub breaker_min_calls: u32,

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

    /// Apply migrations on `serve` (SQLite always migrates).
    #[arg(long, env = "GOSPITAL_MIGRATE", global = true)]
    pub migrate: bool,

    /// How long the answer of a POST sent with an `Idempotency-Key` is kept for replays, in hours (at least 24).
    #[arg(long, env = "GOSPITAL_IDEMPOTENCY_RETENTION_HOURS", default_value_t = 24, global = true)]
    pub idempotency_retention_hours: u64,

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

    /// Read connections for SQLite (writes always use one connection, so bookings serialise).
    #[arg(long, env = "GOSPITAL_DB_POOL_SIZE", default_value_t = 8, global = true)]
    pub db_pool_size: u32,

    /// How long a request waits for a database connection before answering 503.
    #[arg(long, env = "GOSPITAL_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 2000, global = true)]
    pub db_acquire_timeout_ms: u64,

    /// MySQL: longest a single statement may run on the server (`max_statement_time`).
    #[arg(long, env = "GOSPITAL_DB_STATEMENT_TIMEOUT_MS", default_value_t = 5000, global = true)]
    pub db_statement_timeout_ms: u64,
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
        // The tests share one process on few cores: real CPU readings would shed at random. Shedder tests
        // inject their own probe and thresholds.
        config.cpu_shed_open = 0.0;
        config
    }

    /// The relational database URL: `DATABASE_URL`, else the Go original's `MYSQL_DSN` converted, else
    /// `sqlite://gospital.db`.
    pub fn resolved_database_url(&self) -> Result<String, String> {
        if let Some(url) = self.database_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            return Ok(url.to_owned());
        }
        match self.mysql_dsn.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            Some(dsn) => dsn_to_url(dsn).ok_or_else(|| "MYSQL_DSN: expected user:pass@tcp(host:port)/db".to_owned()),
            None => Ok("sqlite://gospital.db".to_owned()),
        }
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

    /// Validates the behaviour settings; the error names the variable at fault.
    pub fn settings(&self) -> Result<Settings, String> {
        if self.request_timeout_ms == 0 {
            return Err("GOSPITAL_REQUEST_TIMEOUT_MS must be at least 1".into());
        }
        let tax_rate = TaxRate::parse(&self.tax_rate).map_err(|e| format!("GOSPITAL_TAX_RATE: {e}"))?;
        let parse_hm = |name: &str, v: &str| {
            crate::domain::formats::parse_time(v).ok_or_else(|| format!("{name}: {v:?} is not HH:MM"))
        };
        let start = parse_hm("GOSPITAL_WORK_START", &self.work_start)?;
        let end = parse_hm("GOSPITAL_WORK_END", &self.work_end)?;
        if end <= start {
            return Err("GOSPITAL_WORK_END must be after GOSPITAL_WORK_START".into());
        }
        if !(5..=480).contains(&self.slot_minutes) {
            return Err("GOSPITAL_SLOT_MINUTES must be between 5 and 480".into());
        }
        let mut work_days = Vec::new();
        for day in self.work_days.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            let wd: Weekday = day.parse().map_err(|_| format!("GOSPITAL_WORK_DAYS: {day:?} is not a weekday"))?;
            if !work_days.contains(&wd) {
                work_days.push(wd);
            }
        }
        if !(0.0..=100.0).contains(&self.cpu_shed_open) || !(0.0..=100.0).contains(&self.cpu_shed_close) {
            return Err("GOSPITAL_CPU_SHED_OPEN and GOSPITAL_CPU_SHED_CLOSE must be percentages (0-100)".into());
        }
        if self.cpu_shed_open > 0.0 && self.cpu_shed_close > self.cpu_shed_open {
            return Err("GOSPITAL_CPU_SHED_CLOSE must not exceed GOSPITAL_CPU_SHED_OPEN".into());
        }
        if self.idempotency_retention_hours < 24 {
            return Err("GOSPITAL_IDEMPOTENCY_RETENTION_HOURS must be at least 24 (API.md §1.11)".into());
        }
        Ok(Settings {
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            idempotency_retention: Duration::from_secs(self.idempotency_retention_hours.saturating_mul(3600)),
            tax_rate,
            schedule: Schedule { work_days, start, end, slot_minutes: self.slot_minutes },
            resilience: self.resilience()?,
        })
    }

    fn resilience(&self) -> Result<ResilienceSettings, String> {
        if !(self.breaker_failure_rate > 0.0 && self.breaker_failure_rate <= 100.0) {
            return Err("GOSPITAL_BREAKER_FAILURE_RATE must be a percentage above 0 and at most 100".into());
        }
        let at_least_one = [
            ("GOSPITAL_BREAKER_WINDOW_MS", self.breaker_window_ms),
            ("GOSPITAL_BREAKER_MIN_CALLS", u64::from(self.breaker_min_calls)),
            ("GOSPITAL_BREAKER_OPEN_MS", self.breaker_open_ms),
            ("GOSPITAL_BREAKER_HALF_OPEN_PROBES", u64::from(self.breaker_half_open_probes)),
            ("GOSPITAL_CLINIC_BULKHEAD", u64::from(self.clinic_bulkhead.unwrap_or(self.db_pool_size))),
            ("GOSPITAL_RECORDS_BULKHEAD", u64::from(self.records_bulkhead.unwrap_or(self.db_pool_size))),
            ("GOSPITAL_STORE_CALL_TIMEOUT_MS", self.store_call_timeout_ms.unwrap_or(self.request_timeout_ms)),
            ("GOSPITAL_STAFF_MAX_IN_FLIGHT", u64::from(self.staff_max_in_flight)),
            ("GOSPITAL_PUBLIC_MAX_IN_FLIGHT", u64::from(self.public_max_in_flight)),
        ];
        if let Some((name, _)) = at_least_one.iter().find(|(_, v)| *v == 0) {
            return Err(format!("{name} must be at least 1"));
        }
        Ok(ResilienceSettings {
            breaker: BreakerConfig {
                window: Duration::from_millis(self.breaker_window_ms),
                failure_rate: self.breaker_failure_rate / 100.0,
                min_calls: self.breaker_min_calls,
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
        })
    }
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
    fn database_url_wins_over_the_dsn_and_sqlite_is_the_default() {
        let mut c = Config::for_tests("sqlite://x.db");
        c.mysql_dsn = Some("u:p@tcp(h:1)/d".into());
        assert_eq!(c.resolved_database_url().unwrap(), "sqlite://x.db");
        c.database_url = None;
        assert_eq!(c.resolved_database_url().unwrap(), "mysql://u:p@h:1/d");
        c.mysql_dsn = None;
        assert_eq!(c.resolved_database_url().unwrap(), "sqlite://gospital.db");
    }
}
