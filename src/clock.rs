//! The service's notion of "now" (API.md: today/now = server clock in UTC). Tests inject a shifted clock.

use chrono::{DateTime, TimeDelta, Utc};

use crate::domain::formats::Timestamp;

/// Source of the current instant.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;

    /// Now, at the millisecond precision every store keeps.
    fn timestamp(&self) -> Timestamp {
        Timestamp::from_utc(self.now())
    }
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The system clock shifted so that it read `start` when it was made; time still advances, so
/// creation order stays observable while "today" is fixed for a test run.
#[derive(Debug, Clone, Copy)]
pub struct OffsetClock {
    offset: TimeDelta,
}

impl OffsetClock {
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        Self { offset: start - Utc::now() }
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }
}
