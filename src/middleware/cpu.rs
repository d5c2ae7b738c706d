//! The CPU signal of overload control (DESIGN.md §3, API.md §1.9): whether this process is using the CPU it may
//! use. While it does ("shedding" below, the name the metrics keep), `overload::shed` enforces its adaptive
//! concurrency limit and answers the excess 503 SERVICE_OVERLOADED; the shedder itself refuses nothing.
//!
//! A background task samples a [`CpuProbe`] about every 250 ms. The real probe reads this process's CPU time from
//! `/proc/self/stat` (utime + stime, all threads) and divides its growth by the CPU the process may use: the cgroup
//! v2 quota (`/sys/fs/cgroup/cpu.max`) when one is set, else the core count. So it works on any Linux host, in or
//! out of a container. Hysteresis: shedding opens at ≥ `open`% and closes only below `close`%, so the state does
//! not flap around one threshold. `open = 0` disables the shedder (and so all load shedding).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How often the background task samples the probe.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// Source of CPU readings: percent of the CPU this process may use, or `None` when no reading is available yet.
pub trait CpuProbe: Send {
    fn sample(&mut self) -> Option<f64>;
}

/// Clock ticks per second of `/proc/<pid>/stat` times. `USER_HZ` is fixed at 100 in the Linux user ABI on every
/// architecture Rust targets, whatever the kernel's internal HZ, so no `sysconf` (and no libc) is needed.
const USER_HZ: f64 = 100.0;

/// This process's CPU use from `/proc`, relative to its cgroup quota or the core count.
#[derive(Debug)]
pub struct ProcProbe {
    cores: f64,
    last: Option<(Instant, f64)>,
}

impl Default for ProcProbe {
    fn default() -> Self {
        Self::new()
    }
}

impl ProcProbe {
    pub fn new() -> Self {
        Self { cores: cpu_capacity(), last: None }
    }
}

impl CpuProbe for ProcProbe {
    fn sample(&mut self) -> Option<f64> {
        let now = Instant::now();
        let used = std::fs::read_to_string("/proc/self/stat").ok().as_deref().and_then(parse_cpu_seconds)?;
        let (then, used_then) = self.last.replace((now, used))?;
        let wall = now.duration_since(then).as_secs_f64();
        (wall > 0.0).then(|| ((used - used_then) / (wall * self.cores) * 100.0).max(0.0))
    }
}

/// utime + stime in seconds from the text of `/proc/<pid>/stat`. The command name (field 2) is in parentheses
/// and may contain spaces, so fields are counted after the last `)`: state is field 3, utime 14, stime 15.
fn parse_cpu_seconds(stat: &str) -> Option<f64> {
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // Tick counts stay far below 2^52, so the conversion is exact.
    Some((utime + stime) as f64 / USER_HZ)
}

/// Cores this process may use: the cgroup v2 quota when set, else the available parallelism.
fn cpu_capacity() -> f64 {
    let quota = std::fs::read_to_string("/sys/fs/cgroup/cpu.max").ok().as_deref().and_then(parse_cpu_max);
    quota.unwrap_or_else(|| {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        f64::from(u32::try_from(cores).unwrap_or(u32::MAX))
    })
}

/// `"<quota> <period>"` → quota / period cores; `"max …"` (no limit) → `None`.
fn parse_cpu_max(text: &str) -> Option<f64> {
    let mut parts = text.split_whitespace();
    let quota: f64 = parts.next()?.parse().ok()?;
    let period: f64 = parts.next()?.parse().ok()?;
    (quota > 0.0 && period > 0.0).then(|| quota / period)
}

/// The shedder's state, shared by the sampler task and the middleware.
pub struct CpuShedder {
    open_at: f64,
    close_below: f64,
    shedding: AtomicBool,
    /// Last reading, as `f64` bits (atomics have no float type).
    percent: AtomicU64,
    probe: Mutex<Box<dyn CpuProbe>>,
}

impl std::fmt::Debug for CpuShedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpuShedder")
            .field("open_at", &self.open_at)
            .field("close_below", &self.close_below)
            .field("shedding", &self.is_shedding())
            .finish_non_exhaustive()
    }
}

impl CpuShedder {
    /// Opens at ≥ `open_at`%, closes below `close_below`%; `open_at = 0` disables it. Reads `/proc` until
    /// another probe is set.
    pub fn new(open_at: f64, close_below: f64) -> Self {
        ::metrics::gauge!("cpu_circuit_breaker_state").set(0.0);
        ::metrics::counter!("cpu_circuit_breaker_rejections_total").absolute(0);
        Self {
            open_at,
            close_below,
            shedding: AtomicBool::new(false),
            percent: AtomicU64::new(0f64.to_bits()),
            probe: Mutex::new(Box::new(ProcProbe::new())),
        }
    }

    pub fn enabled(&self) -> bool {
        self.open_at > 0.0
    }

    /// Replaces the probe (tests inject readings this way).
    pub fn set_probe(&self, probe: Box<dyn CpuProbe>) {
        *self.probe.lock().unwrap_or_else(PoisonError::into_inner) = probe;
    }

    /// Takes one reading from the probe and applies it (a disabled shedder still reports `cpu_usage_percent`).
    pub fn tick(&self) {
        let reading = self.probe.lock().unwrap_or_else(PoisonError::into_inner).sample();
        if let Some(percent) = reading {
            self.observe(percent);
        }
    }

    /// Applies one reading with hysteresis.
    pub fn observe(&self, percent: f64) {
        self.percent.store(percent.to_bits(), Ordering::Relaxed);
        ::metrics::gauge!("cpu_usage_percent").set(percent);
        let shedding = self.shedding.load(Ordering::Relaxed);
        let next = if shedding { percent >= self.close_below } else { self.enabled() && percent >= self.open_at };
        if next != shedding {
            self.shedding.store(next, Ordering::Relaxed);
            ::metrics::gauge!("cpu_circuit_breaker_state").set(if next { 2.0 } else { 0.0 });
            tracing::warn!(cpu_percent = percent, shedding = next, "CPU load shedder changed state");
        }
    }

    pub fn is_shedding(&self) -> bool {
        self.shedding.load(Ordering::Relaxed)
    }

    /// The last reading, in percent.
    pub fn current(&self) -> f64 {
        f64::from_bits(self.percent.load(Ordering::Relaxed))
    }

    /// Starts the sampler (inside a runtime), also when shedding is disabled: `cpu_usage_percent` is worth
    /// graphing either way. It holds only a weak reference and ends when the shedder is dropped, so test apps
    /// leave no task behind.
    pub fn spawn_sampler(self: &Arc<Self>, every: Duration) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let weak = Arc::downgrade(self);
        runtime.spawn(async move {
            let mut interval = tokio::time::interval(every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                let Some(shedder) = weak.upgrade() else { break };
                shedder.tick();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_seconds_are_read_after_the_command_name() {
        let stat = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 130 0 0 20 0 9 0 1 2 3";
        assert_eq!(parse_cpu_seconds(stat), Some(3.8));
        assert_eq!(parse_cpu_seconds("garbage"), None);
        let own = std::fs::read_to_string("/proc/self/stat").expect("Linux /proc");
        assert!(parse_cpu_seconds(&own).is_some(), "{own}");
    }

    #[test]
    fn a_cgroup_quota_is_a_fraction_of_cores_and_max_means_none() {
        assert_eq!(parse_cpu_max("150000 100000\n"), Some(1.5));
        assert_eq!(parse_cpu_max("max 100000\n"), None);
        assert_eq!(parse_cpu_max(""), None);
    }

    #[test]
    fn the_real_probe_gives_a_reading_from_its_second_sample() {
        let mut probe = ProcProbe::new();
        assert_eq!(probe.sample(), None);
        std::thread::sleep(Duration::from_millis(20));
        let percent = probe.sample().expect("second sample");
        assert!(percent >= 0.0, "{percent}");
    }

    #[test]
    fn hysteresis_opens_at_the_open_threshold_and_closes_only_below_the_close_one() {
        let s = CpuShedder::new(95.0, 85.0);
        for (reading, shedding) in
            [(94.9, false), (95.0, true), (90.0, true), (85.0, true), (84.9, false), (90.0, false), (99.0, true)]
        {
            s.observe(reading);
            assert_eq!(s.is_shedding(), shedding, "after {reading}%");
        }
        assert!((s.current() - 99.0).abs() < f64::EPSILON);
    }

    #[test]
    fn zero_disables_it() {
        let s = CpuShedder::new(0.0, 0.0);
        s.observe(100.0);
        assert!(!s.is_shedding());
    }

    struct Scripted(Vec<f64>);

    impl CpuProbe for Scripted {
        fn sample(&mut self) -> Option<f64> {
            self.0.pop()
        }
    }

    #[test]
    fn ticks_apply_the_injected_probe() {
        let s = CpuShedder::new(95.0, 85.0);
        s.set_probe(Box::new(Scripted(vec![50.0, 97.0])));
        s.tick();
        assert!(s.is_shedding());
        s.tick();
        assert!(!s.is_shedding());
        s.tick(); // no reading: no change
        assert!(!s.is_shedding());
    }
}
